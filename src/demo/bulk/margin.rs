//! Bulk margin positions: lenders' 10× USDC orders (one per [`LOANS_PER_ORDER`] loans)
//! and borrowers' loans on them against WETH or WBTC, some traded at once into longs.
//! Lenders send one after another (an order's id is the module's counter, so each lender's
//! ids follow from its nonces); borrowers send side by side.

use alloy::primitives::{Address, U256};
use alloy::providers::RootProvider;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use rand::RngExt;

use super::Bulk;
use super::accounts::{approve, derived_many, mint, send_gas};
use super::plan::{self, LOANS_PER_ORDER, Loan};
use super::send::{Sender, node};
use crate::chain::contracts::MarginModule;
use crate::devnet::perp::event;
use crate::liquidator::abi::{IMarginModule, OrderParams};

/// Loans per borrower, about; at most [`MAX_BORROWERS`] send side by side.
const LOANS_PER_BORROWER: usize = 250;
const MAX_BORROWERS: usize = 40;
const MAX_LENDERS: usize = 5;
const USDC: u64 = 1_000_000;
const REWARD_USDC: u64 = 5;
const TAKE_LOAN_GAS: u64 = 1_000_000;
const SWAP_GAS: u64 = 800_000;

#[derive(Clone, Copy)]
struct Tokens {
    module: Address,
    oracle: Address,
    usdc: Address,
    weth: Address,
    wbtc: Address,
}

impl Tokens {
    fn collateral(&self, loan: &Loan) -> Address {
        match loan.collateral {
            plan::Collateral::Weth => self.weth,
            plan::Collateral::Wbtc => self.wbtc,
        }
    }
}

/// Seeds `n` positions; returns what was made.
pub async fn seed(bulk: &Bulk<'_>, n: usize) -> anyhow::Result<String> {
    let t = Tokens {
        module: bulk.address("margin.module")?,
        oracle: bulk.address("margin.oracle")?,
        usdc: bulk.address("token.usdc")?,
        weth: bulk.address("token.weth")?,
        wbtc: bulk.address("token.wbtc")?,
    };
    let mut rng = bulk.rng("margin");
    let loans: Vec<Loan> = (0..n).map(|_| plan::loan(&mut rng)).collect();
    let orders = n.div_ceil(LOANS_PER_ORDER);
    let lenders = derived_many("lender", orders.min(MAX_LENDERS));
    let borrowers = derived_many(
        "borrower",
        n.div_ceil(LOANS_PER_BORROWER).min(MAX_BORROWERS),
    );
    // Loan i is on order i % orders, taken by borrower i % borrowers.
    let mut deposits = vec![0u64; orders];
    for (i, l) in loans.iter().enumerate() {
        deposits[i % orders] += l.loan();
    }
    let provider = node(&bulk.rpc_url)?;

    fund(bulk, &t, &loans, &lenders, &borrowers, &deposits).await?;
    let whitelist = vec![t.usdc, t.weth, t.wbtc];
    let module = IMarginModule::new(t.module, &provider);
    let list_id = module
        .addTokenlist(whitelist.clone(), false)
        .call()
        .await
        .context("addTokenlist")?;
    let mut first = Sender::new(&bulk.rpc_url, bulk.chain_id, lenders[0].clone()).await?;
    let input = module.addTokenlist(whitelist, false).calldata().clone();
    first.send(t.module, input, U256::ZERO, 500_000).await?;
    first.finish("addTokenlist").await?;

    let mut order_ids = Vec::with_capacity(orders);
    let now = chrono::Utc::now().timestamp() as u64;
    for (l, lender) in lenders.iter().enumerate() {
        let mut sender = Sender::new(&bulk.rpc_url, bulk.chain_id, lender.clone()).await?;
        approve(&mut sender, t.usdc, t.module, U256::MAX).await?;
        let next = module.orderIndex().call().await.context("orderIndex")?;
        let mine: Vec<usize> = (l..orders).step_by(lenders.len()).collect();
        for (k, &o) in mine.iter().enumerate() {
            let params = OrderParams {
                whitelistId: list_id,
                interestRate: U256::from(rng.random_range(100..=500u64)),
                duration: U256::from(30 * 86_400u64),
                minLoan: U256::from(100 * USDC),
                liquidationRewardAmount: U256::from(REWARD_USDC * USDC),
                liquidationRewardAsset: t.usdc,
                asset: t.usdc,
                deadline: u32::try_from(now + 365 * 86_400).unwrap_or(u32::MAX),
                currencyLimit: 4,
                leverage: 10,
                oracle: t.oracle,
                collateral: vec![t.weth, t.wbtc],
            };
            let input = module.createOrder(params).calldata().clone();
            sender.send(t.module, input, U256::ZERO, 1_000_000).await?;
            let id = next + U256::from(k);
            let input = module
                .orderDepositToken(id, U256::from(deposits[o]))
                .calldata()
                .clone();
            sender.send(t.module, input, U256::ZERO, 300_000).await?;
            order_ids.push((o, id));
        }
        sender.finish("the lenders' orders").await?;
    }
    order_ids.sort();
    let order_ids: Vec<U256> = order_ids.into_iter().map(|(_, id)| id).collect();

    let jobs = borrowers.iter().enumerate().map(|(b, signer)| {
        let mine: Vec<(U256, Loan)> = (b..n)
            .step_by(borrowers.len())
            .map(|i| (order_ids[i % orders], loans[i]))
            .collect();
        borrow(bulk, &provider, t, signer.clone(), mine)
    });
    let longs: usize = futures::future::try_join_all(jobs).await?.into_iter().sum();
    Ok(format!(
        "{n} positions on {orders} orders from {} lenders and {} borrowers ({longs} traded into longs)",
        lenders.len(),
        borrowers.len()
    ))
}

/// Gas money for every account, each lender's USDC and each borrower's collateral and
/// rewards, minted by the owner.
async fn fund(
    bulk: &Bulk<'_>,
    t: &Tokens,
    loans: &[Loan],
    lenders: &[PrivateKeySigner],
    borrowers: &[PrivateKeySigner],
    deposits: &[u64],
) -> anyhow::Result<()> {
    let mut owner = Sender::new(&bulk.rpc_url, bulk.chain_id, bulk.owner.clone()).await?;
    let everyone: Vec<Address> = lenders
        .iter()
        .chain(borrowers)
        .map(|s| s.address())
        .collect();
    send_gas(&mut owner, &everyone).await?;
    for (l, lender) in lenders.iter().enumerate() {
        let total: u64 = deposits.iter().skip(l).step_by(lenders.len()).sum();
        mint(&mut owner, t.usdc, lender.address(), U256::from(total)).await?;
    }
    for (b, borrower) in borrowers.iter().enumerate() {
        let (mut weth, mut wbtc, mut count) = (U256::ZERO, U256::ZERO, 0u64);
        for l in loans.iter().skip(b).step_by(borrowers.len()) {
            match l.collateral {
                plan::Collateral::Weth => weth += l.amount,
                plan::Collateral::Wbtc => wbtc += l.amount,
            }
            count += 1;
        }
        let who = borrower.address();
        mint(&mut owner, t.weth, who, weth).await?;
        mint(&mut owner, t.wbtc, who, wbtc).await?;
        let rewards = U256::from(count * REWARD_USDC * USDC);
        mint(&mut owner, t.usdc, who, rewards).await?;
    }
    owner.finish("funding the margin accounts").await?;
    Ok(())
}

/// One borrower's loans, then its trades into longs; returns how many it traded.
async fn borrow(
    bulk: &Bulk<'_>,
    provider: &RootProvider,
    t: Tokens,
    signer: PrivateKeySigner,
    loans: Vec<(U256, Loan)>,
) -> anyhow::Result<usize> {
    let mut sender = Sender::new(&bulk.rpc_url, bulk.chain_id, signer).await?;
    for token in [t.weth, t.wbtc, t.usdc] {
        approve(&mut sender, token, t.module, U256::MAX).await?;
    }
    sender.finish("a borrower's approvals").await?;
    let module = IMarginModule::new(t.module, provider);
    for (order, l) in &loans {
        let input = module
            .takeLoan(
                *order,
                U256::from(l.loan()),
                U256::from(l.collateral.index()),
                l.amount,
            )
            .calldata()
            .clone();
        sender
            .send(t.module, input, U256::ZERO, TAKE_LOAN_GAS)
            .await?;
    }
    let receipts = sender.finish("the loans").await?;

    let trading = MarginModule::new(t.module, provider);
    let mut swaps = 0;
    for ((_, l), receipt) in loans.iter().zip(&receipts) {
        if l.buy_pct == 0 {
            continue;
        }
        let id = event::<IMarginModule::PositionOpened>(receipt, t.module)?.positionId;
        let input = trading
            .marginSwap(
                id,
                U256::ZERO, // the loan, USDC, is the position's first asset
                U256::ZERO,
                U256::from(l.collateral.index() + 1), // [usdc, weth, wbtc]
                U256::from(l.loan() * l.buy_pct / 100),
                t.collateral(l),
                alloy::primitives::Uint::<24, 1>::from(3000u32),
                U256::ZERO,
                alloy::primitives::U160::ZERO,
            )
            .calldata()
            .clone();
        sender.send(t.module, input, U256::ZERO, SWAP_GAS).await?;
        swaps += 1;
    }
    sender.finish("the longs' trades").await?;
    Ok(swaps)
}
