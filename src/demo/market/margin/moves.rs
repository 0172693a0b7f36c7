//! The margin actor's moves on chain: funding its accounts, its lender's order, and a
//! borrower's loan, trade and close. Each account sends one transaction at a time (the
//! actor is one task), through a fresh provider.

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use anyhow::Context;

use super::plan::{Asset, BORROWERS, Borrow, LENDER, ORDER_LEVERAGE, loan_for};
use crate::chain::contracts::{MarginOracle, TestToken};
use crate::demo::market::MarketContext;
use crate::devnet::margin::{approve_all, margin_swap, open_order, take_loan};
use crate::devnet::receipt::mined;
use crate::liquidator::abi::{IMarginModule, OrderParams};

/// The seeded order (dev 1's, 5×).
pub const SEEDED_ORDER: u64 = 0;
/// What the lender keeps in its order, and tops it up to (USDC).
const ORDER_DEPOSIT_USDC: u64 = 500_000;
/// The order's liquidation reward, as the seeded order's (USDC).
const REWARD_USDC: u64 = 25;
const USDC: u64 = 1_000_000;

/// The deployments the actor uses.
#[derive(Debug, Clone, Copy)]
pub struct Margin {
    pub module: Address,
    pub oracle: Address,
    pub usdc: Address,
    pub weth: Address,
    pub wbtc: Address,
}

impl Margin {
    pub fn of(ctx: &MarketContext) -> anyhow::Result<Self> {
        Ok(Margin {
            module: ctx.deployed("margin.module")?,
            oracle: ctx.deployed("margin.oracle")?,
            usdc: ctx.deployed("token.usdc")?,
            weth: ctx.deployed("token.weth")?,
            wbtc: ctx.deployed("token.wbtc")?,
        })
    }

    pub fn token(&self, asset: Asset) -> Address {
        match asset {
            Asset::Weth => self.weth,
            Asset::Wbtc => self.wbtc,
        }
    }
}

/// Tops `who`'s balance of `token` up to `want` base units (minting the difference).
async fn top_up(ctx: &MarketContext, name: &str, who: Address, want: U256) -> anyhow::Result<()> {
    let token = TestToken::new(ctx.deployed(name)?, ctx.wallet(LENDER));
    let has = token.balanceOf(who).call().await.context("balanceOf")?;
    if has < want {
        ctx.mint(name, who, want - has).await?;
    }
    Ok(())
}

/// The borrowers' wallets: collateral for several loans and USDC for the rewards.
pub async fn fund_borrowers(ctx: &MarketContext) -> anyhow::Result<()> {
    for b in BORROWERS {
        let who = ctx.address_of(b);
        top_up(ctx, "token.weth", who, U256::from(30u64) * pow10(18)).await?;
        top_up(ctx, "token.wbtc", who, U256::from(150_000_000u64)).await?;
        top_up(ctx, "token.usdc", who, U256::from(2_000 * USDC)).await?;
    }
    Ok(())
}

/// The lender's order: USDC against WETH and WBTC at up to [`ORDER_LEVERAGE`], the seeded
/// order's terms otherwise. Returns its id.
pub async fn open_lender_order(ctx: &MarketContext, m: &Margin) -> anyhow::Result<U256> {
    let lender = ctx.wallet(LENDER);
    top_up(
        ctx,
        "token.usdc",
        ctx.address_of(LENDER),
        U256::from(ORDER_DEPOSIT_USDC * USDC),
    )
    .await?;
    let module = IMarginModule::new(m.module, &lender);
    let whitelist = vec![m.usdc, m.weth, m.wbtc];
    let list_id = module
        .addTokenlist(whitelist.clone(), false)
        .call()
        .await
        .context("addTokenlist")?;
    mined(module.addTokenlist(whitelist, false), "addTokenlist").await?;
    let now = lender
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .context("no latest block")?
        .header
        .timestamp;
    let params = OrderParams {
        whitelistId: list_id,
        interestRate: U256::from(300u64),
        duration: U256::from(30 * 86_400u64),
        minLoan: U256::from(100 * USDC),
        liquidationRewardAmount: U256::from(REWARD_USDC * USDC),
        liquidationRewardAsset: m.usdc,
        asset: m.usdc,
        deadline: u32::try_from(now + 365 * 86_400).unwrap_or(u32::MAX),
        currencyLimit: 4,
        leverage: ORDER_LEVERAGE,
        oracle: m.oracle,
        collateral: vec![m.weth, m.wbtc],
    };
    open_order(
        &lender,
        m.module,
        params,
        U256::from(ORDER_DEPOSIT_USDC * USDC),
    )
    .await
}

/// Takes `b`'s loan on `order` and trades its share into the collateral; returns the
/// position id and the loan.
pub async fn borrow(
    ctx: &MarketContext,
    m: &Margin,
    order: U256,
    b: &Borrow,
) -> anyhow::Result<(U256, U256)> {
    let who = ctx.address_of(b.borrower);
    let collateral = m.token(b.collateral);
    top_up(ctx, b.collateral.deployment(), who, b.collateral_amount).await?;
    top_up(ctx, "token.usdc", who, U256::from(REWARD_USDC * USDC)).await?;
    // Valued as takeLoan values it: the order's oracle, now.
    let value = MarginOracle::new(m.oracle, ctx.wallet(b.borrower))
        .getAmountOut(m.usdc, collateral, b.collateral_amount)
        .call()
        .await
        .context("getAmountOut")?;
    let loan = loan_for(value, b.leverage_tenths);
    anyhow::ensure!(
        loan >= U256::from(100 * USDC),
        "a loan of {loan} is below the minimum"
    );
    if order != U256::from(SEEDED_ORDER) {
        refill_order(ctx, m, order, loan).await?;
    }
    let wallet = ctx.wallet(b.borrower);
    let position = take_loan(
        &wallet,
        m.module,
        order,
        loan,
        b.collateral.collateral_idx(),
        b.collateral_amount,
    )
    .await?;
    let buy = loan * U256::from(b.buy_pct) / U256::from(100u8);
    if !buy.is_zero() {
        margin_swap(&wallet, m.module, position, m.usdc, buy, collateral).await?;
    }
    Ok((position, loan))
}

/// The lender deposits enough for `loan` if its order is short.
async fn refill_order(
    ctx: &MarketContext,
    m: &Margin,
    order: U256,
    loan: U256,
) -> anyhow::Result<()> {
    let lender = ctx.wallet(LENDER);
    let module = IMarginModule::new(m.module, &lender);
    let balance = module.orders(order).call().await.context("orders")?.balance;
    if balance >= loan {
        return Ok(());
    }
    let deposit = U256::from(ORDER_DEPOSIT_USDC * USDC);
    top_up(ctx, "token.usdc", ctx.address_of(LENDER), deposit).await?;
    approve_all(&lender, m.usdc, m.module).await?;
    mined(
        module.orderDepositToken(order, deposit),
        "orderDepositToken",
    )
    .await?;
    Ok(())
}

/// A position the actor may move: open, never frozen, not underwater.
#[derive(Debug, Clone)]
pub struct Live {
    pub owner: usize,
    pub assets: Vec<Address>,
    pub balances: Vec<U256>,
}

/// `None` when `id` is closed; `Some((false, ..))` when it is frozen or underwater (left to
/// the liquidator).
pub async fn look(
    ctx: &MarketContext,
    m: &Margin,
    id: U256,
    owner: usize,
) -> anyhow::Result<Option<(bool, Live)>> {
    let module = IMarginModule::new(m.module, ctx.wallet(owner));
    let check = module
        .subjectToLiquidationExtended(id)
        .call()
        .await
        .context("subjectToLiquidationExtended")?;
    if check.liquidated {
        return Ok(None);
    }
    let movable = !check._subjectToLiquidation && check.frozenTimestamp.is_zero();
    let assets = module.getPositionAssets(id).call().await?;
    let balances = module.getPositionBalances(id).call().await?;
    Ok(Some((
        movable,
        Live {
            owner,
            assets,
            balances,
        },
    )))
}

/// Sells `pct` percent of one of `live`'s holdings (chosen by `pick`): a collateral for
/// USDC when `to_base`, else for the other collateral; USDC for a collateral. Returns what
/// was sold for what.
pub async fn trade(
    ctx: &MarketContext,
    m: &Margin,
    id: U256,
    live: &Live,
    pick: u64,
    pct: u32,
    to_base: bool,
) -> anyhow::Result<(Address, U256, Address)> {
    let held: Vec<(Address, U256)> = live
        .assets
        .iter()
        .copied()
        .zip(live.balances.iter().copied())
        .filter(|(_, b)| !b.is_zero())
        .collect();
    anyhow::ensure!(!held.is_empty(), "position {id} holds nothing");
    // Other bits of `pick` than the ones that chose the position.
    let (sell, balance) = held[((pick >> 16) % held.len() as u64) as usize];
    let amount = balance * U256::from(pct) / U256::from(100u8);
    anyhow::ensure!(!amount.is_zero(), "position {id}: too little to trade");
    let other = |a: Address| if a == m.weth { m.wbtc } else { m.weth };
    let buy = if sell == m.usdc {
        if (pick >> 32).is_multiple_of(2) {
            m.weth
        } else {
            m.wbtc
        }
    } else if to_base {
        m.usdc
    } else {
        other(sell)
    };
    margin_swap(&ctx.wallet(live.owner), m.module, id, sell, amount, buy).await?;
    Ok((sell, amount, buy))
}

/// Repays `id` and takes what is left back to its owner.
pub async fn close(ctx: &MarketContext, m: &Margin, id: U256, owner: usize) -> anyhow::Result<()> {
    let wallet = ctx.wallet(owner);
    let module = IMarginModule::new(m.module, &wallet);
    mined(module.positionClose(id, true), "positionClose").await?;
    Ok(())
}

fn pow10(n: u8) -> U256 {
    U256::from(10u8).pow(U256::from(n))
}
