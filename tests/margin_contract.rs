//! `contracts/MarginModule.sol` and `contracts/MarginOracle.sol` on a real anvil, spoken to
//! through the desk's own hand-written ABI (`hedgedesk::liquidator::abi`), which is the real
//! Dex223 margin module's: the artifacts carry every selector and event of it, the getters
//! decode through it, and the valuation, debt, freeze-then-confirm liquidation and closing
//! behave as the desk models them. Expected values are computed here independently (U512
//! reference formulas, the debt formula in U256).
//!
//! Also prints the gas of a freeze and of a confirm with 1 and 3 non-base assets.
//!
//! Needs anvil (`scripts/bootstrap` installs it in `.tools/bin`).

use alloy::json_abi::JsonAbi;
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U160, U256, U512, utils::parse_ether};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{BlockId, BlockNumberOrTag, TransactionReceipt};
use alloy::sol_types::{Revert, SolCall, SolEvent, SolEventInterface, SolStruct, SolType};
use hedgedesk::chain::contracts::{self, MarginModule, MarginOracle, TestToken};
use hedgedesk::devnet::margin::{MarginContracts, deploy_margin, sqrt_price_x96};
use hedgedesk::devnet::{AnvilNode, AnvilOptions, DevnetControl};
use hedgedesk::liquidator::abi::{
    IMarginModule::{self, IMarginModuleEvents, IMarginModuleInstance},
    IMarginOracle::{self, IMarginOracleCalls, IMarginOracleEvents},
    OrderExpiration, OrderParams,
};

const LENDER: usize = 0; // also deploys everything and owns the oracle
const BORROWER: usize = 1;
const LIQUIDATOR_A: usize = 2;
const LIQUIDATOR_B: usize = 3;
const RECEIVER: usize = 4;

const DAY: u64 = 86_400;
const INTEREST_PERIOD: u64 = 2_592_000;

fn pow10(exp: u64) -> U256 {
    U256::from(10u8).pow(U256::from(exp))
}

fn units(amount: u64, decimals: u64) -> U256 {
    U256::from(amount) * pow10(decimals)
}

fn q(bits: usize) -> U512 {
    U512::ONE << bits
}

// ---------------------------------------------------------------------------------------
// Reference formulas, independent of the contracts

/// Dex223 main's exact quote (`pricePrecisionDecimals == 0`), in 512-bit integers.
fn exact_out(sqrt: U256, sell_is_token0: bool, amount: U256) -> U256 {
    let s = U512::from(sqrt);
    let a = U512::from(amount);
    let out = if sqrt <= U256::from(u128::MAX) {
        let ratio = s * s;
        if sell_is_token0 {
            ratio * a / q(192)
        } else {
            q(192) * a / ratio
        }
    } else {
        let ratio = s * s / q(64);
        if sell_is_token0 {
            ratio * a / q(128)
        } else {
            q(128) * a / ratio
        }
    };
    out.to::<U256>()
}

/// The legacy oracle's `digits`-digit quote; `None` where it reverts.
fn legacy_out(sqrt: U256, sell_is_token1: bool, amount: U256, digits: u64) -> Option<U256> {
    let price = sqrt.checked_mul(sqrt)?;
    let limit = pow10(digits);
    let q192 = U256::ONE << 192usize;
    let bought = if amount > limit {
        let (mut kept, mut slashed) = (amount, 0u64);
        while kept > limit {
            kept /= U256::from(10u8);
            slashed += 1;
        }
        (price.checked_mul(kept)? / q192).checked_mul(pow10(slashed))?
    } else {
        price.checked_mul(amount)? / q192
    };
    if sell_is_token1 {
        amount.checked_mul(amount)?.checked_div(bought)
    } else {
        Some(bought)
    }
}

/// The module's debt: loan plus simple interest, basis points per 30 days.
fn debt(initial: U256, interest: U256, elapsed: u64) -> U256 {
    initial
        + initial * interest * U256::from(elapsed)
            / U256::from(INTEREST_PERIOD)
            / U256::from(10_000u64)
}

/// The sqrtPriceX96 of a token worth `usd_num / usd_den` dollars against USDC (6 decimals).
fn usd_sqrt_price(
    token: Address,
    decimals: u64,
    usdc: Address,
    usd_num: u64,
    usd_den: u64,
) -> U256 {
    // Raw USDC units per raw token unit = usd * 1e6 / 10^decimals.
    let num = U256::from(usd_num) * pow10(6);
    let den = U256::from(usd_den) * pow10(decimals);
    if token < usdc {
        sqrt_price_x96(num, den)
    } else {
        sqrt_price_x96(den, num)
    }
}

// ---------------------------------------------------------------------------------------
// The chain

struct Env {
    node: AnvilNode,
    usdc: Address,
    weth: Address,
    wbtc: Address,
    link: Address,
    dai: Address,
    oracle: Address,
    module: Address,
    /// [USDC, WETH, WBTC, LINK, DAI]
    whitelist: B256,
}

impl Env {
    /// anvil, five tokens, the margin contracts, prices (WETH 3000, WBTC 60000, LINK 15,
    /// DAI 1 USDC), the borrower funded and approving the module, the oracle's USDC
    /// inventory, the lender's USDC approved, and the token whitelist registered.
    async fn start() -> Env {
        let node = AnvilNode::start(&AnvilOptions::default()).expect("anvil");
        let lender = wallet(&node, LENDER);
        let owner = node.address(LENDER);
        let supply = units(1, 30);
        let mut tokens = Vec::new();
        for (name, symbol, decimals) in [
            ("USD Coin", "USDC", 6u8),
            ("Wrapped Ether", "WETH", 18),
            ("Wrapped Bitcoin", "WBTC", 8),
            ("Chainlink", "LINK", 18),
            ("Dai", "DAI", 18),
        ] {
            let token = TestToken::deploy(&lender, name.into(), symbol.into(), decimals, supply)
                .await
                .expect("deploy TestToken");
            tokens.push(*token.address());
        }
        let [usdc, weth, wbtc, link, dai] = tokens[..] else {
            unreachable!()
        };
        let MarginContracts { oracle, module } =
            deploy_margin(&lender, owner).await.expect("deploy margin");
        let env = Env {
            node,
            usdc,
            weth,
            wbtc,
            link,
            dai,
            oracle,
            module,
            whitelist: B256::ZERO,
        };
        env.set_usd_price(weth, 18, 3000, 1).await;
        env.set_usd_price(wbtc, 8, 60_000, 1).await;
        env.set_usd_price(link, 18, 15, 1).await;
        env.set_usd_price(dai, 18, 1, 1).await;

        let borrower = env.node.address(BORROWER);
        for token in [usdc, weth, wbtc, link, dai] {
            let as_lender = TestToken::new(token, env.wallet(LENDER));
            mined(as_lender.transfer(borrower, units(1, 27))).await;
            let as_borrower = TestToken::new(token, env.wallet(BORROWER));
            mined(as_borrower.approve(module, U256::MAX)).await;
        }
        let usdc_lender = TestToken::new(usdc, env.wallet(LENDER));
        mined(usdc_lender.approve(module, U256::MAX)).await;
        mined(usdc_lender.mint(oracle, units(10_000_000, 6))).await;

        let list = vec![usdc, weth, wbtc, link, dai];
        let id = env
            .module(LENDER)
            .addTokenlist(list.clone(), false)
            .call()
            .await
            .unwrap();
        let receipt = mined(env.module(LENDER).addTokenlist(list.clone(), false)).await;
        let events = module_events(&receipt, module);
        assert!(events.is_empty(), "TokenlistAdded is not in the desk's ABI");
        let added = receipt
            .logs()
            .iter()
            .find_map(|log| MarginModule::TokenlistAdded::decode_log(&log.inner).ok())
            .expect("TokenlistAdded");
        assert_eq!(added.hash, id);
        assert!(!added.is_contract);
        assert_eq!(added.tokens, list);
        // Registering the same list again changes nothing.
        let again = mined(env.module(LENDER).addTokenlist(list.clone(), false)).await;
        assert!(again.logs().is_empty());
        let raw = MarginModule::new(module, env.wallet(LENDER));
        assert_eq!(raw.getTokenlist(id).call().await.unwrap(), list);
        let stored = raw.tokenlists(id).call().await.unwrap();
        assert!(stored.exists && !stored.isContract);
        assert!(
            revert_reason(raw.addTokenlist(list, true).call().await.unwrap_err())
                .contains("unsupported")
        );
        Env {
            whitelist: id,
            ..env
        }
    }

    /// A fresh signing provider for dev account `index` (fresh: alloy's nonce cache loses a
    /// nonce when a send fails during estimation).
    fn wallet(&self, index: usize) -> DynProvider {
        wallet(&self.node, index)
    }

    fn module(&self, index: usize) -> IMarginModuleInstance<DynProvider> {
        IMarginModule::new(self.module, self.wallet(index))
    }

    fn control(&self) -> DevnetControl {
        DevnetControl::new(self.node.provider())
    }

    async fn set_usd_price(&self, token: Address, decimals: u64, usd_num: u64, usd_den: u64) {
        let sqrt = usd_sqrt_price(token, decimals, self.usdc, usd_num, usd_den);
        let oracle = MarginOracle::new(self.oracle, self.wallet(LENDER));
        mined(oracle.setSqrtPriceX96(token, self.usdc, sqrt.to::<U160>())).await;
    }

    async fn quote(&self, buy: Address, sell: Address, amount: U256) -> U256 {
        IMarginOracle::new(self.oracle, self.node.provider())
            .getAmountOut(buy, sell, amount)
            .call()
            .await
            .unwrap()
    }

    /// The latest block's number and timestamp.
    async fn head(&self) -> (u64, u64) {
        let provider = self.node.provider();
        let block = provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .unwrap()
            .unwrap();
        (block.header.number, block.header.timestamp)
    }

    async fn timestamp_of(&self, number: u64) -> u64 {
        self.node
            .provider()
            .get_block_by_number(number.into())
            .await
            .unwrap()
            .unwrap()
            .header
            .timestamp
    }

    async fn eth(&self, who: Address) -> U256 {
        self.node.provider().get_balance(who).await.unwrap()
    }

    async fn token_balance(&self, token: Address, who: Address) -> U256 {
        TestToken::new(token, self.node.provider())
            .balanceOf(who)
            .call()
            .await
            .unwrap()
    }

    /// The lender's default order: lends USDC against WETH, 10% per 30 days, 30-day
    /// positions, 5x leverage, 4 currencies, 0.01 ETH liquidation reward.
    async fn order_params(&self) -> OrderParams {
        let (_, now) = self.head().await;
        OrderParams {
            whitelistId: self.whitelist,
            interestRate: U256::from(1000u64),
            duration: U256::from(30 * DAY),
            minLoan: units(100, 6),
            liquidationRewardAmount: parse_ether("0.01").unwrap(),
            liquidationRewardAsset: Address::ZERO,
            asset: self.usdc,
            deadline: (now + 365 * DAY) as u32,
            currencyLimit: 4,
            leverage: 5,
            oracle: self.oracle,
            collateral: vec![self.weth],
        }
    }

    /// Creates the order and funds it with `deposit` USDC; returns its id.
    async fn open_order(&self, params: OrderParams, deposit: U256) -> U256 {
        let module = self.module(LENDER);
        let id = module.createOrder(params.clone()).call().await.unwrap();
        mined(module.createOrder(params)).await;
        mined(module.orderDepositToken(id, deposit)).await;
        id
    }

    /// The borrower takes a loan, paying the ETH reward of `reward` wei; returns the
    /// position id and the receipt.
    async fn take_loan(
        &self,
        order: U256,
        amount: U256,
        collateral_amount: U256,
        reward: U256,
    ) -> (U256, TransactionReceipt) {
        let module = self.module(BORROWER);
        let id = module.positionIndex().call().await.unwrap();
        let receipt = mined(
            module
                .takeLoan(order, amount, U256::ZERO, collateral_amount)
                .value(reward),
        )
        .await;
        (id, receipt)
    }

    /// Sends `liquidate` from `who` (explicit gas, so a revert is mined) and returns the
    /// receipt, whatever its status.
    async fn liquidate_tx(&self, who: usize, position: U256) -> TransactionReceipt {
        self.module(who)
            .liquidate(position, self.node.address(RECEIVER))
            .gas(2_000_000)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap()
    }

    /// `liquidate` from `who` as an eth_call; its revert reason.
    async fn liquidate_reverts(&self, who: usize, position: U256) -> String {
        let err = self
            .module(who)
            .liquidate(position, self.node.address(RECEIVER))
            .from(self.node.address(who))
            .call()
            .await
            .expect_err("liquidate must revert");
        revert_reason(err)
    }
}

fn wallet(node: &AnvilNode, index: usize) -> DynProvider {
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(node.signer(index)))
        .connect_http(node.http_url().parse().unwrap())
        .erased()
}

/// Sends the call and waits for a successful receipt.
async fn mined<D: alloy::contract::CallDecoder>(
    call: alloy::contract::CallBuilder<&DynProvider, D>,
) -> TransactionReceipt {
    let receipt = call
        .send()
        .await
        .unwrap_or_else(|e| panic!("send: {e} ({:?})", e.as_decoded_error::<Revert>()))
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status(), "transaction reverted: {receipt:?}");
    receipt
}

fn revert_reason(err: alloy::contract::Error) -> String {
    err.as_decoded_error::<Revert>()
        .map(|r| r.reason)
        .unwrap_or_else(|| panic!("not a reason-string revert: {err}"))
}

/// The module's logs in the receipt, decoded through the desk's ABI (logs it does not
/// declare, e.g. `TokenlistAdded`, are skipped).
fn module_events(receipt: &TransactionReceipt, module: Address) -> Vec<IMarginModuleEvents> {
    receipt
        .logs()
        .iter()
        .filter(|log| log.address() == module)
        .filter_map(|log| IMarginModuleEvents::decode_log(&log.inner).ok())
        .map(|log| log.data)
        .collect()
}

// ---------------------------------------------------------------------------------------
// The ABI

/// `(outputs)` of a JSON ABI function in canonical form.
fn outputs_of(abi: &JsonAbi, selector: [u8; 4], signature: &str) -> String {
    let function = abi
        .functions()
        .find(|f| f.selector() == selector)
        .unwrap_or_else(|| panic!("the artifact has no {signature}"));
    let outputs: Vec<String> = function
        .outputs
        .iter()
        .map(|p| p.selector_type().into_owned())
        .collect();
    format!("({})", outputs.join(","))
}

/// `(type,type,...)` of a struct from its EIP-712 root type `Name(type a,type b,...)`.
fn tuple_of<S: SolStruct>() -> String {
    let root = S::eip712_root_type();
    let fields = &root[root.find('(').unwrap() + 1..root.len() - 1];
    let types: Vec<&str> = fields
        .split(',')
        .map(|field| field.split_whitespace().next().unwrap())
        .collect();
    format!("({})", types.join(","))
}

fn check_outputs<C: SolCall>(abi: &JsonAbi) -> usize {
    // The binding names a struct (`OrderExpiration`) where the ABI spells out its tuple.
    let expected = <C::ReturnTuple<'_> as SolType>::SOL_NAME
        .replace("OrderExpiration", &tuple_of::<OrderExpiration>());
    assert_eq!(
        outputs_of(abi, C::SELECTOR, C::SIGNATURE),
        expected,
        "return types of {}",
        C::SIGNATURE
    );
    1
}

#[test]
fn artifacts_implement_the_desk_abi() {
    let module = contracts::artifact("MarginModule")
        .expect("MarginModule is registered")
        .abi();
    for (selector, signature) in IMarginModuleCalls::SELECTORS
        .iter()
        .zip(IMarginModuleCalls::SIGNATURES)
    {
        assert!(
            module.functions().any(|f| f.selector() == *selector),
            "MarginModule lacks {signature}"
        );
    }
    for (topic, signature) in IMarginModuleEvents::SELECTORS
        .iter()
        .zip(IMarginModuleEvents::SIGNATURES)
    {
        assert!(
            module.events().any(|e| e.selector() == B256::from(*topic)),
            "MarginModule lacks event {signature}"
        );
    }
    // The return types too (the getters' struct layouts above all).
    use IMarginModule::*;
    let checked = check_outputs::<orderIndexCall>(&module)
        + check_outputs::<positionIndexCall>(&module)
        + check_outputs::<ordersCall>(&module)
        + check_outputs::<order_statusCall>(&module)
        + check_outputs::<getCollateralsCall>(&module)
        + check_outputs::<getOrderExpirationDataCall>(&module)
        + check_outputs::<positionsCall>(&module)
        + check_outputs::<getPositionAssetsCall>(&module)
        + check_outputs::<getPositionBalancesCall>(&module)
        + check_outputs::<getPositionStatusCall>(&module)
        + check_outputs::<subjectToLiquidationCall>(&module)
        + check_outputs::<subjectToLiquidationExtendedCall>(&module)
        + check_outputs::<addTokenlistCall>(&module)
        + check_outputs::<createOrderCall>(&module)
        + check_outputs::<orderDepositTokenCall>(&module)
        + check_outputs::<orderWithdrawCall>(&module)
        + check_outputs::<setOrderStatusCall>(&module)
        + check_outputs::<takeLoanCall>(&module)
        + check_outputs::<positionDepositCall>(&module)
        + check_outputs::<marginSwapCall>(&module)
        + check_outputs::<positionCloseCall>(&module)
        + check_outputs::<positionWithdrawCall>(&module)
        + check_outputs::<liquidateCall>(&module);
    assert_eq!(checked, IMarginModuleCalls::SELECTORS.len());
    let take_loan = module.function("takeLoan").unwrap();
    assert_eq!(
        take_loan[0].state_mutability,
        alloy::json_abi::StateMutability::Payable
    );
    // Same names for the indexed flags: decode_log in the tests below relies on them, but
    // check the counts here so a mismatch reads clearly.
    let indexed = |name: &str| -> usize {
        module.event(name).unwrap()[0]
            .inputs
            .iter()
            .filter(|p| p.indexed)
            .count()
    };
    assert_eq!(indexed("OrderCreated"), 3);
    assert_eq!(indexed("Liquidation"), 3);
    assert_eq!(indexed("NewAsset"), 0);
    assert_eq!(indexed("PositionFrozen"), 2);

    let oracle = contracts::artifact("MarginOracle")
        .expect("MarginOracle is registered")
        .abi();
    for (selector, signature) in IMarginOracleCalls::SELECTORS
        .iter()
        .zip(IMarginOracleCalls::SIGNATURES)
    {
        assert!(
            oracle.functions().any(|f| f.selector() == *selector),
            "MarginOracle lacks {signature}"
        );
    }
    for (topic, signature) in IMarginOracleEvents::SELECTORS
        .iter()
        .zip(IMarginOracleEvents::SIGNATURES)
    {
        assert!(
            oracle.events().any(|e| e.selector() == B256::from(*topic)),
            "MarginOracle lacks event {signature}"
        );
    }
    assert_eq!(
        oracle.event("PriceSet").unwrap()[0].selector(),
        IMarginOracle::PriceSet::SIGNATURE_HASH
    );
    check_outputs::<IMarginOracle::getAmountOutCall>(&oracle);
    check_outputs::<IMarginOracle::pricePrecisionDecimalsCall>(&oracle);
    check_outputs::<IMarginOracle::sqrtPriceX96OfCall>(&oracle);
    assert!(oracle.function("swap").is_some());
    assert!(oracle.function("setPricePrecisionDecimals").is_some());
}

#[test]
fn sqrt_price_examples() {
    let q96 = U256::ONE << 96usize;
    assert_eq!(sqrt_price_x96(U256::ONE, U256::ONE), q96);
    // 3000 USDC (6) per WETH (18), WETH as token0: sqrt(3000e6 / 1e18) = sqrt(3e-9).
    let p = sqrt_price_x96(units(3000, 6), units(1, 18));
    let x = U512::from(p);
    let target = U512::from(units(3000, 6)) * q(192);
    let den = U512::from(units(1, 18));
    assert!(x * x * den <= target && (x + U512::ONE) * (x + U512::ONE) * den > target);
}

// ---------------------------------------------------------------------------------------
// The oracle

#[tokio::test(flavor = "multi_thread")]
async fn oracle_prices_exactly_and_the_legacy_way() {
    let node = AnvilNode::start(&AnvilOptions::default()).expect("anvil");
    let owner = wallet(&node, 0);
    let MarginContracts { oracle, .. } = deploy_margin(&owner, node.address(0)).await.unwrap();
    let mut tokens = Vec::new();
    for (symbol, decimals) in [("USDC", 6u8), ("WETH", 18), ("ONE", 18), ("TWO", 18)] {
        let token = TestToken::deploy(&owner, symbol.into(), symbol.into(), decimals, units(1, 30))
            .await
            .unwrap();
        tokens.push(*token.address());
    }
    let [usdc, weth, one, two] = tokens[..] else {
        unreachable!()
    };
    let admin = MarginOracle::new(oracle, wallet(&node, 0));
    let reader = IMarginOracle::new(oracle, node.provider());
    let quote = |buy: Address, sell: Address, amount: U256| {
        let reader = reader.clone();
        async move { reader.getAmountOut(buy, sell, amount).call().await }
    };

    // Not set yet, and only the owner sets.
    assert!(revert_reason(quote(one, two, U256::ONE).await.unwrap_err()).contains("no price"));
    let q96 = U160::ONE << 96usize;
    let stranger = MarginOracle::new(oracle, wallet(&node, 1));
    let err = stranger
        .setSqrtPriceX96(one, two, q96)
        .from(node.address(1))
        .call()
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_decoded_interface_error::<MarginOracle::MarginOracleErrors>(),
        Some(MarginOracle::MarginOracleErrors::NotOwner(_))
    ));

    // Ratio 1: sqrtPriceX96 = 2^96. Given in the "wrong" order, stored sorted.
    let receipt = mined(admin.setSqrtPriceX96(one.max(two), one.min(two), q96)).await;
    let set = IMarginOracle::PriceSet::decode_log(&receipt.logs()[0].inner).unwrap();
    assert_eq!((set.token0, set.token1), (one.min(two), one.max(two)));
    assert_eq!(set.sqrtPriceX96, q96);
    assert_eq!(reader.sqrtPriceX96Of(one, two).call().await.unwrap(), q96);
    assert_eq!(reader.sqrtPriceX96Of(two, one).call().await.unwrap(), q96);
    let amount = U256::from(123_456_789u64);
    assert_eq!(quote(one, two, amount).await.unwrap(), amount);
    assert_eq!(quote(two, one, amount).await.unwrap(), amount);
    assert_eq!(quote(two, one, U256::ZERO).await.unwrap(), U256::ZERO);
    assert!(revert_reason(quote(one, one, amount).await.unwrap_err()).contains("same token"));
    assert!(
        revert_reason(quote(Address::ZERO, one, amount).await.unwrap_err())
            .contains("zero address")
    );

    // 3000 USDC per WETH, in raw units: 3000e6 per 1e18.
    let sqrt = usd_sqrt_price(weth, 18, usdc, 3000, 1);
    mined(admin.setSqrtPriceX96(usdc, weth, sqrt.to::<U160>())).await;
    assert_eq!(
        U256::from(reader.sqrtPriceX96Of(weth, usdc).call().await.unwrap()),
        sqrt
    );
    let weth_is_token0 = weth < usdc;
    let one_weth = units(1, 18);
    let usdc_for_weth = quote(usdc, weth, one_weth).await.unwrap();
    assert_eq!(usdc_for_weth, exact_out(sqrt, weth_is_token0, one_weth));
    // The square root's floor costs at most a unit or two.
    assert!(
        usdc_for_weth <= units(3000, 6) && usdc_for_weth >= units(3000, 6) - U256::from(2u8),
        "{usdc_for_weth}"
    );
    let weth_for_usdc = quote(weth, usdc, units(3000, 6)).await.unwrap();
    assert_eq!(
        weth_for_usdc,
        exact_out(sqrt, !weth_is_token0, units(3000, 6))
    );
    let tolerance = units(1, 9); // 1e-9 WETH
    assert!(
        weth_for_usdc.abs_diff(one_weth) < tolerance,
        "{weth_for_usdc}"
    );
    for amount in [
        U256::ONE,
        U256::from(999u64),
        units(7, 17),
        units(12_345, 18),
    ] {
        assert_eq!(
            quote(usdc, weth, amount).await.unwrap(),
            exact_out(sqrt, weth_is_token0, amount)
        );
        assert_eq!(
            quote(weth, usdc, amount).await.unwrap(),
            exact_out(sqrt, !weth_is_token0, amount)
        );
    }

    // A price whose square does not fit 256 bits (sqrt > 2^128): the ratioX128 branch.
    let big = (U256::ONE << 150usize) + U256::from(12_345u64);
    mined(admin.setSqrtPriceX96(one, two, big.to::<U160>())).await;
    let token0 = one.min(two);
    let token1 = one.max(two);
    assert_eq!(
        quote(token1, token0, U256::from(1_000u64)).await.unwrap(),
        exact_out(big, true, U256::from(1_000u64))
    );
    assert_eq!(
        quote(token0, token1, units(1, 30)).await.unwrap(),
        exact_out(big, false, units(1, 30))
    );
    // A result above 256 bits reverts.
    assert!(quote(token1, token0, U256::MAX).await.is_err());

    // The legacy oracle: keep 5 digits of the amount.
    assert_eq!(
        reader.pricePrecisionDecimals().call().await.unwrap(),
        U256::ZERO
    );
    let receipt = mined(admin.setPricePrecisionDecimals(U256::from(5u8))).await;
    let set = MarginOracle::PrecisionSet::decode_log(&receipt.logs()[0].inner).unwrap();
    assert_eq!(set.digits, U256::from(5u8));
    assert_eq!(
        reader.pricePrecisionDecimals().call().await.unwrap(),
        U256::from(5u8)
    );
    mined(admin.setSqrtPriceX96(one, two, q96)).await;
    // Hand-computed: 123456789 keeps 12345 and slashes 4 digits, so token0 -> token1 gives
    // 12345 * 10^4 = 123450000, and token1 -> token0 inverts it: 123456789^2 / 123450000.
    assert_eq!(
        quote(token1, token0, amount).await.unwrap(),
        U256::from(123_450_000u64)
    );
    assert_eq!(
        quote(token0, token1, amount).await.unwrap(),
        U256::from(123_456_789u64 * 123_456_789u64 / 123_450_000u64)
    );
    // At most 10^5 is kept whole.
    assert_eq!(
        quote(token1, token0, U256::from(100_000u64)).await.unwrap(),
        U256::from(100_000u64)
    );
    // Coarse: where the token0 side truncates to 0 the inversion divides by zero and the
    // quote reverts, as the legacy oracle did.
    let mut priced = 0;
    for amount in [
        U256::from(77u64),
        units(3, 6),
        units(3, 18),
        units(12_345, 18) + U256::from(999u64),
    ] {
        for (buy, sell) in [(usdc, weth), (weth, usdc)] {
            let expected = legacy_out(sqrt, sell > buy, amount, 5);
            assert_eq!(quote(buy, sell, amount).await.ok(), expected, "{amount}");
            priced += usize::from(expected.is_some_and(|q| !q.is_zero()));
        }
    }
    assert!(priced >= 3, "only {priced} nonzero legacy quotes");
    // One raw WETH unit is worth less than a raw USDC unit: the token0 side rounds to 0 and
    // the inversion divides by it.
    let (usdc_sell_is_token1, weth_sell_is_token1) = (usdc > weth, weth > usdc);
    let tiny = U256::ONE;
    let weth_one = legacy_out(sqrt, weth_sell_is_token1, tiny, 5);
    let weth_q = quote(usdc, weth, tiny).await;
    assert_eq!(weth_q.ok(), weth_one);
    let usdc_one = legacy_out(sqrt, usdc_sell_is_token1, tiny, 5);
    assert_eq!(quote(weth, usdc, tiny).await.ok(), usdc_one);
    // Overflow: the square of a sqrt above 2^128 does not fit.
    mined(admin.setSqrtPriceX96(one, two, big.to::<U160>())).await;
    assert!(quote(token1, token0, amount).await.is_err());
    mined(admin.setPricePrecisionDecimals(U256::ZERO)).await;

    // The market maker sells at the quote out of its inventory.
    let seller = node.address(1);
    let usdc_owner = TestToken::new(usdc, wallet(&node, 0));
    mined(usdc_owner.mint(oracle, units(1_000_000, 6))).await;
    mined(TestToken::new(weth, wallet(&node, 0)).transfer(seller, units(10, 18))).await;
    let weth_seller = TestToken::new(weth, wallet(&node, 1));
    mined(weth_seller.approve(oracle, U256::MAX)).await;
    let expected = exact_out(sqrt, weth_is_token0, units(2, 18));
    let trader = MarginOracle::new(oracle, wallet(&node, 1));
    let err = trader
        .swap(usdc, weth, units(2, 18), expected + U256::ONE, seller)
        .from(seller)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("slippage"));
    let receipt = mined(trader.swap(usdc, weth, units(2, 18), expected, seller)).await;
    let swapped = receipt
        .logs()
        .iter()
        .find_map(|log| MarginOracle::Swapped::decode_log(&log.inner).ok())
        .expect("Swapped");
    assert_eq!(
        (
            swapped.buy,
            swapped.sell,
            swapped.amountIn,
            swapped.amountOut,
            swapped.recipient
        ),
        (usdc, weth, units(2, 18), expected, seller)
    );
    let usdc_reader = TestToken::new(usdc, node.provider());
    assert_eq!(
        usdc_reader.balanceOf(seller).call().await.unwrap(),
        expected
    );
    let weth_reader = TestToken::new(weth, node.provider());
    assert_eq!(
        weth_reader.balanceOf(oracle).call().await.unwrap(),
        units(2, 18)
    );
}

// ---------------------------------------------------------------------------------------
// Orders, loans, valuation, deposits, closing

#[tokio::test(flavor = "multi_thread")]
async fn orders_loans_debt_deposits_and_close() {
    let env = Env::start().await;
    let lender = env.node.address(LENDER);
    let borrower = env.node.address(BORROWER);

    // createOrder's checks.
    let mut params = env.order_params().await;
    params.currencyLimit = 3;
    let module = env.module(LENDER);
    for (bad, reason) in [
        (
            OrderParams {
                leverage: 1,
                ..params.clone()
            },
            "Leverage",
        ),
        (
            OrderParams {
                deadline: 1,
                ..params.clone()
            },
            "Deadline",
        ),
        (
            OrderParams {
                collateral: vec![],
                ..params.clone()
            },
            "collateral",
        ),
    ] {
        let err = module.createOrder(bad).call().await.unwrap_err();
        assert!(revert_reason(err).contains(reason), "{reason}");
    }

    let receipt = mined(module.createOrder(params.clone())).await;
    let events = module_events(&receipt, env.module);
    let [
        IMarginModuleEvents::OrderCreated(created),
        IMarginModuleEvents::OrderCollateralsSet(collaterals),
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    let order = created.orderId;
    assert_eq!(order, U256::ZERO);
    assert_eq!(created.owner, lender);
    assert_eq!(created.baseAsset, env.usdc);
    assert_eq!(created.whitelistId, env.whitelist);
    assert_eq!(created.interestRate, params.interestRate);
    assert_eq!(created.duration, params.duration);
    assert_eq!(created.minLoan, params.minLoan);
    assert_eq!(created.leverage, 5);
    assert_eq!(created.oracle, env.oracle);
    assert_eq!(collaterals.orderId, order);
    assert_eq!(collaterals.collaterals, vec![env.weth]);
    assert_eq!(module.orderIndex().call().await.unwrap(), U256::ONE);

    let deposit = units(50_000, 6);
    let receipt = mined(module.orderDepositToken(order, deposit)).await;
    let events = module_events(&receipt, env.module);
    let [IMarginModuleEvents::OrderDeposit(d)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!((d.orderId, d.asset, d.amount), (order, env.usdc, deposit));
    assert_eq!(
        env.token_balance(env.usdc, env.module).await,
        deposit,
        "the module holds the deposit"
    );

    let o = module.orders(order).call().await.unwrap();
    assert_eq!(o.owner, lender);
    assert_eq!(o.id_, order);
    assert_eq!(o.whitelist, env.whitelist);
    assert_eq!(o.interestRate, U256::from(1000u64));
    assert_eq!(o.duration, U256::from(30 * DAY));
    assert_eq!(o.minLoan, units(100, 6));
    assert_eq!(o.baseAsset, env.usdc);
    assert_eq!(o.currencyLimit, 3);
    assert_eq!(o.leverage, 5);
    assert_eq!(o.oracle, env.oracle);
    assert_eq!(o.balance, deposit);
    assert_eq!(
        o.expirationData,
        OrderExpiration {
            liquidationRewardAmount: parse_ether("0.01").unwrap(),
            liquidationRewardAsset: Address::ZERO,
            deadline: params.deadline,
        }
    );
    let status = module.order_status(order).call().await.unwrap();
    assert!(status.alive);
    assert_eq!(status.positions, 0);
    assert_eq!(
        module.getCollaterals(order).call().await.unwrap(),
        vec![env.weth]
    );
    let expiration = module.getOrderExpirationData(order).call().await.unwrap();
    assert_eq!(
        (expiration._0, expiration._1, expiration._2),
        (parse_ether("0.01").unwrap(), Address::ZERO, params.deadline)
    );
    // Only the owner funds and withdraws.
    let stranger = env.module(BORROWER);
    let err = stranger
        .orderDepositToken(order, U256::ONE)
        .from(borrower)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("Not order owner"));

    // takeLoan's checks (all as the borrower).
    let reward = parse_ether("0.01").unwrap();
    let borrower_module = env.module(BORROWER);
    let loan_call = |amount: U256, collateral: U256, value: U256| {
        borrower_module
            .takeLoan(order, amount, U256::ZERO, collateral)
            .value(value)
            .from(borrower)
    };
    for (amount, collateral, value, reason) in [
        (units(13_000, 6), units(1, 18), reward, "Leverage error"),
        (units(99, 6), units(1, 18), reward, "Minloan error"),
        (units(60_000, 6), units(100, 18), reward, "Balance error"),
        (
            units(4_000, 6),
            units(1, 18),
            reward - U256::ONE,
            "ETH reward",
        ),
        (units(4_000, 6), U256::ZERO, reward, "Collateral error"),
    ] {
        let err = loan_call(amount, collateral, value)
            .call()
            .await
            .unwrap_err();
        assert!(revert_reason(err).contains(reason), "{reason}");
    }
    let err = borrower_module
        .takeLoan(order, units(4_000, 6), U256::ONE, units(1, 18))
        .value(reward)
        .from(borrower)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("Collaterals error"));
    // 12000 + 3000 is exactly 5x 3000 (less the price's rounding): just under the limit.
    let weth_value = env.quote(env.usdc, env.weth, units(1, 18)).await;
    let max_loan = weth_value * U256::from(4u8);
    loan_call(max_loan, units(1, 18), reward)
        .call()
        .await
        .unwrap();
    let err = loan_call(max_loan + U256::ONE, units(1, 18), reward)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("Leverage error"));

    // The loan: 4000 USDC against 1 WETH.
    let loan = units(4_000, 6);
    let module_eth_before = env.eth(env.module).await;
    let (position, receipt) = env.take_loan(order, loan, units(1, 18), reward).await;
    assert_eq!(position, U256::ZERO);
    let events = module_events(&receipt, env.module);
    let [
        IMarginModuleEvents::PositionOpened(opened),
        IMarginModuleEvents::InitialLeverage(leverage),
        IMarginModuleEvents::NewAsset(base),
        IMarginModuleEvents::NewAsset(collateral),
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(opened.positionId, position);
    assert_eq!(opened.owner, borrower);
    assert_eq!(opened.loanAmount, loan);
    assert_eq!(opened.baseAsset, env.usdc);
    assert_eq!(opened.collateral, env.weth);
    assert_eq!(opened.collateral_amount, units(1, 18));
    assert_eq!(leverage.positionId, position);
    assert_eq!(leverage.leverage, (weth_value + loan) / weth_value);
    assert_eq!((base.positionId, base.asset), (position, env.usdc));
    assert_eq!(
        (collateral.positionId, collateral.asset),
        (position, env.weth)
    );
    assert_eq!(env.eth(env.module).await - module_eth_before, reward);
    assert_eq!(module.positionIndex().call().await.unwrap(), U256::ONE);
    assert_eq!(
        module.order_status(order).call().await.unwrap().positions,
        1
    );
    assert_eq!(
        module.orders(order).call().await.unwrap().balance,
        deposit - loan
    );

    let opened_at = receipt.block_number.unwrap();
    let created_at = env.timestamp_of(opened_at).await;
    let p = module.positions(position).call().await.unwrap();
    assert_eq!(p.orderId, order);
    assert_eq!(p.owner, borrower);
    assert_eq!(p.deadline, U256::from(created_at + 30 * DAY));
    assert_eq!(p.createdAt, U256::from(created_at));
    assert_eq!(p.initialBalance, loan);
    assert_eq!(p.interest, U256::from(1000u64));
    assert!(p.open);
    assert_eq!(p.frozenTime, U256::ZERO);
    assert_eq!(p.liquidator, Address::ZERO);
    assert_eq!(
        module.getPositionAssets(position).call().await.unwrap(),
        vec![env.usdc, env.weth]
    );
    assert_eq!(
        module.getPositionBalances(position).call().await.unwrap(),
        vec![loan, units(1, 18)]
    );
    let raw = MarginModule::new(env.module, env.node.provider());
    assert_eq!(
        raw.positionInitialCollateral(position)
            .call()
            .await
            .unwrap(),
        env.weth
    );
    assert_eq!(
        raw.getAssetId(position, env.weth).call().await.unwrap(),
        U256::ONE
    );
    assert_eq!(
        raw.getAssetId(position, env.link).call().await.unwrap(),
        U256::from(2u8)
    );

    // Value and debt at the opening block; when interest alone would make it insolvent.
    let at_open = module
        .getPositionStatus(position)
        .block(BlockId::number(opened_at))
        .call()
        .await
        .unwrap();
    assert_eq!(at_open.expected_balance, loan);
    assert_eq!(at_open.actual_balance, loan + weth_value);
    let extended = module
        .subjectToLiquidationExtended(position)
        .block(BlockId::number(opened_at))
        .call()
        .await
        .unwrap();
    assert!(!extended._subjectToLiquidation);
    assert_eq!(extended.liquidator, Address::ZERO);
    assert_eq!(extended.frozenTimestamp, U256::ZERO);
    assert!(!extended.liquidated);
    let insolvency = weth_value * U256::from(10_000u64) * U256::from(INTEREST_PERIOD)
        / (U256::from(1000u64) * loan)
        + U256::from(created_at);
    assert_eq!(extended.insolvensy_expected_time, insolvency);
    // 3000 USDC of margin at 400 USDC a month: about 7.5 months.
    let months = (insolvency - U256::from(created_at)) / U256::from(INTEREST_PERIOD);
    assert_eq!(months, U256::from(7u8));

    // Ten days and a bit later: the debt formula, to the unit.
    env.control().advance(10 * DAY + 123).await.unwrap();
    let (head, now) = env.head().await;
    let status = module
        .getPositionStatus(position)
        .block(BlockId::number(head))
        .call()
        .await
        .unwrap();
    let expected = debt(loan, U256::from(1000u64), now - created_at);
    assert_eq!(status.expected_balance, expected);
    assert!(expected > loan + units(133, 6) && expected < loan + units(134, 6));
    assert_eq!(status.actual_balance, loan + weth_value);
    assert!(!module.subjectToLiquidation(position).call().await.unwrap());
    let extended = module
        .subjectToLiquidationExtended(position)
        .block(BlockId::number(head))
        .call()
        .await
        .unwrap();
    assert_eq!(
        extended.insolvensy_expected_time,
        (loan + weth_value - expected) * U256::from(10_000u64) * U256::from(INTEREST_PERIOD)
            / (U256::from(1000u64) * loan)
            + U256::from(now)
    );

    // Deposits: a whitelisted token at its index (a new asset), the collateral again (no
    // new asset), then the currency limit (3) stops a fourth asset.
    let err = borrower_module
        .positionDeposit(position, env.wbtc, U256::from(3u8), units(1, 6))
        .from(borrower)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("Asset not allowed"));
    let err = env
        .module(LENDER)
        .positionDeposit(position, env.wbtc, U256::from(2u8), units(1, 6))
        .from(lender)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("Not position owner"));
    let err = borrower_module
        .positionDeposit(position, env.wbtc, U256::from(2u8), U256::ZERO)
        .from(borrower)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("exceed zero"));
    let wbtc_amount = units(1, 6); // 0.01 WBTC, 600 USDC
    let receipt = mined(env.module(BORROWER).positionDeposit(
        position,
        env.wbtc,
        U256::from(2u8),
        wbtc_amount,
    ))
    .await;
    let events = module_events(&receipt, env.module);
    let [
        IMarginModuleEvents::NewAsset(new),
        IMarginModuleEvents::PositionDeposit(dep),
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!((new.positionId, new.asset), (position, env.wbtc));
    assert_eq!(
        (dep.positionId, dep.asset, dep.amount),
        (position, env.wbtc, wbtc_amount)
    );
    let receipt = mined(env.module(BORROWER).positionDeposit(
        position,
        env.weth,
        U256::from(99u8),
        units(1, 17),
    ))
    .await;
    let events = module_events(&receipt, env.module);
    assert!(
        matches!(&events[..], [IMarginModuleEvents::PositionDeposit(_)]),
        "{events:?}"
    );
    let err = borrower_module
        .positionDeposit(position, env.link, U256::from(3u8), units(1, 18))
        .from(borrower)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("Currency limit"));
    assert_eq!(
        module.getPositionAssets(position).call().await.unwrap(),
        vec![env.usdc, env.weth, env.wbtc]
    );
    assert_eq!(
        module.getPositionBalances(position).call().await.unwrap(),
        vec![loan, units(11, 17), wbtc_amount]
    );
    let status = module.getPositionStatus(position).call().await.unwrap();
    let value = loan
        + env.quote(env.usdc, env.weth, units(11, 17)).await
        + env.quote(env.usdc, env.wbtc, wbtc_amount).await;
    assert_eq!(status.actual_balance, value);

    // Closing: only the owner before the deadline; the WBTC (last) is sold to cover the
    // interest, the debt repaid to the order, the reward returned, the rest withdrawn.
    let err = env
        .module(LENDER)
        .positionClose(position, true)
        .from(lender)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("Not authorized to close"));
    let order_before = module.orders(order).call().await.unwrap().balance;
    let eth_before = env.eth(borrower).await;
    let usdc_before = env.token_balance(env.usdc, borrower).await;
    let weth_before = env.token_balance(env.weth, borrower).await;
    let wbtc_sale = env.quote(env.usdc, env.wbtc, wbtc_amount).await;
    let receipt = mined(env.module(BORROWER).positionClose(position, true)).await;
    let closed_at = env.timestamp_of(receipt.block_number.unwrap()).await;
    let owed = debt(loan, U256::from(1000u64), closed_at - created_at);
    let events = module_events(&receipt, env.module);
    let [
        IMarginModuleEvents::AssetRemoved(removed),
        IMarginModuleEvents::MarginSwap(swap),
        IMarginModuleEvents::PositionClosed(closed),
        IMarginModuleEvents::PositionWithdrawal(w_usdc),
        IMarginModuleEvents::AssetRemoved(removed_weth),
        IMarginModuleEvents::PositionWithdrawal(w_weth),
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(removed.asset, env.wbtc);
    assert_eq!(
        (
            swap.positionId,
            swap.assetIn,
            swap.assetOut,
            swap.amountIn,
            swap.amountOut
        ),
        (position, env.wbtc, env.usdc, wbtc_amount, wbtc_sale)
    );
    assert_eq!((closed.positionId, closed.closedBy), (position, borrower));
    assert_eq!(removed_weth.asset, env.weth);
    assert_eq!((w_weth.asset, w_weth.quantity), (env.weth, units(11, 17)));
    let left = loan + wbtc_sale - owed;
    assert_eq!((w_usdc.asset, w_usdc.quantity), (env.usdc, left));
    assert_eq!(
        module.orders(order).call().await.unwrap().balance,
        order_before + owed
    );
    let fee = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert_eq!(env.eth(borrower).await + fee - eth_before, reward);
    assert_eq!(
        env.token_balance(env.usdc, borrower).await - usdc_before,
        left
    );
    assert_eq!(
        env.token_balance(env.weth, borrower).await - weth_before,
        units(11, 17)
    );
    let p = module.positions(position).call().await.unwrap();
    assert!(!p.open);
    assert_eq!(
        module.order_status(order).call().await.unwrap().positions,
        0
    );
    assert_eq!(
        module.getPositionBalances(position).call().await.unwrap(),
        vec![U256::ZERO]
    );
    let err = borrower_module
        .positionClose(position, true)
        .from(borrower)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("Position is not open"));

    // A second position closed without auto-withdraw, then withdrawn asset by asset.
    let (second, _) = env.take_loan(order, loan, units(1, 18), reward).await;
    let err = borrower_module
        .positionWithdraw(second, env.weth)
        .from(borrower)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("Position still open"));
    env.control().advance(DAY).await.unwrap();
    // The interest in USDC, deposited up front (the base asset: no new asset), so closing
    // sells nothing.
    let receipt =
        mined(
            env.module(BORROWER)
                .positionDeposit(second, env.usdc, U256::ZERO, units(100, 6)),
        )
        .await;
    let events = module_events(&receipt, env.module);
    assert!(
        matches!(&events[..], [IMarginModuleEvents::PositionDeposit(_)]),
        "{events:?}"
    );
    let receipt = mined(env.module(BORROWER).positionClose(second, false)).await;
    let events = module_events(&receipt, env.module);
    assert!(
        matches!(&events[..], [IMarginModuleEvents::PositionClosed(_)]),
        "nothing sold: {events:?}"
    );
    let balances = module.getPositionBalances(second).call().await.unwrap();
    assert_eq!(balances[1], units(1, 18));
    let receipt = mined(env.module(BORROWER).positionWithdraw(second, env.weth)).await;
    let events = module_events(&receipt, env.module);
    let [
        IMarginModuleEvents::AssetRemoved(_),
        IMarginModuleEvents::PositionWithdrawal(w),
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        (w.positionId, w.asset, w.quantity),
        (second, env.weth, units(1, 18))
    );
    let receipt = mined(env.module(BORROWER).positionWithdraw(second, env.usdc)).await;
    let events = module_events(&receipt, env.module);
    let [IMarginModuleEvents::PositionWithdrawal(w)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(w.quantity, balances[0]);
    let err = borrower_module
        .positionWithdraw(second, env.usdc)
        .from(borrower)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("No balance to withdraw"));

    // The order's owner may close a position once its deadline has come.
    let (third, _) = env.take_loan(order, loan, units(1, 18), reward).await;
    let err = module
        .positionClose(third, true)
        .from(lender)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("Not authorized to close"));
    env.control().advance(30 * DAY).await.unwrap();
    let receipt = mined(env.module(LENDER).positionClose(third, true)).await;
    let events = module_events(&receipt, env.module);
    assert!(
        events.iter().any(|e| matches!(
            e,
            IMarginModuleEvents::PositionClosed(c) if c.closedBy == lender
        )),
        "{events:?}"
    );
    assert!(!module.positions(third).call().await.unwrap().open);

    // The lender takes unlent funds back and retires the order.
    let balance = module.orders(order).call().await.unwrap().balance;
    let err = module
        .orderWithdraw(order, balance + U256::ONE)
        .from(lender)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("Insufficient order balance"));
    let receipt = mined(env.module(LENDER).orderWithdraw(order, units(1_000, 6))).await;
    let events = module_events(&receipt, env.module);
    let [IMarginModuleEvents::OrderWithdraw(w)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (w.orderId, w.asset, w.amount),
        (order, env.usdc, units(1_000, 6))
    );
    let receipt = mined(env.module(LENDER).setOrderStatus(order, false)).await;
    let events = module_events(&receipt, env.module);
    let [IMarginModuleEvents::OrderAliveStatus(s)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!((s.orderId, s.alive), (order, false));
    let err = loan_call(loan, units(1, 18), reward)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("Order is expired"));

    // An order whose whitelist was never registered lends nothing.
    let unlisted = OrderParams {
        whitelistId: B256::repeat_byte(7),
        ..env.order_params().await
    };
    let other = env.open_order(unlisted, units(10_000, 6)).await;
    let err = borrower_module
        .takeLoan(other, loan, U256::ZERO, units(1, 18))
        .value(reward)
        .from(borrower)
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("whitelist is empty"));
}

// ---------------------------------------------------------------------------------------
// Liquidation

#[tokio::test(flavor = "multi_thread")]
async fn liquidation_freezes_then_confirms() {
    let env = Env::start().await;
    let liquidator_a = env.node.address(LIQUIDATOR_A);
    let liquidator_b = env.node.address(LIQUIDATOR_B);
    let receiver = env.node.address(RECEIVER);
    let reward = parse_ether("0.01").unwrap();
    let order = env
        .open_order(env.order_params().await, units(50_000, 6))
        .await;
    let loan = units(4_000, 6);
    let (position, receipt) = env.take_loan(order, loan, units(1, 18), reward).await;
    let created_at = env.timestamp_of(receipt.block_number.unwrap()).await;
    let module = env.module(LENDER);

    // Not liquidatable: nothing to freeze.
    assert_eq!(
        env.liquidate_reverts(LIQUIDATOR_A, position).await,
        "Not liquidatable"
    );

    // 30 days of 10% interest (400 USDC) and WETH down to 300: 4000 + 300 < 4400.
    env.control().advance(30 * DAY).await.unwrap();
    assert!(!module.subjectToLiquidation(position).call().await.unwrap());
    env.set_usd_price(env.weth, 18, 300, 1).await;
    assert!(module.subjectToLiquidation(position).call().await.unwrap());
    let status = module.getPositionStatus(position).call().await.unwrap();
    assert!(status.actual_balance < status.expected_balance);
    let extended = module
        .subjectToLiquidationExtended(position)
        .call()
        .await
        .unwrap();
    assert!(extended._subjectToLiquidation);
    assert_eq!(extended.insolvensy_expected_time, U256::ZERO);

    // Freeze and confirm in one block: the freeze lands, the confirm cannot.
    let a = env.module(LIQUIDATOR_A);
    let nonce = env
        .node
        .provider()
        .get_transaction_count(liquidator_a)
        .await
        .unwrap();
    env.control().set_automine(false).await.unwrap();
    let freeze = a
        .liquidate(position, receiver)
        .gas(1_000_000)
        .nonce(nonce)
        .send()
        .await
        .unwrap();
    let confirm = a
        .liquidate(position, receiver)
        .gas(2_000_000)
        .nonce(nonce + 1)
        .send()
        .await
        .unwrap();
    let (freeze, confirm) = (*freeze.tx_hash(), *confirm.tx_hash());
    env.control().mine().await.unwrap();
    env.control().set_automine(true).await.unwrap();
    let provider = env.node.provider();
    let freeze = provider
        .get_transaction_receipt(freeze)
        .await
        .unwrap()
        .unwrap();
    let confirm = provider
        .get_transaction_receipt(confirm)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(freeze.block_number, confirm.block_number);
    assert!(freeze.status());
    assert!(
        !confirm.status(),
        "a confirm in the freeze's block must revert"
    );
    eprintln!("gas: freeze {}", freeze.gas_used);
    let frozen_at = env.timestamp_of(freeze.block_number.unwrap()).await;
    let events = module_events(&freeze, env.module);
    let [IMarginModuleEvents::PositionFrozen(frozen)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (frozen.positionId, frozen.liquidator, frozen.timestamp),
        (position, liquidator_a, U256::from(frozen_at))
    );
    let p = module.positions(position).call().await.unwrap();
    assert!(p.open);
    assert_eq!(p.frozenTime, U256::from(frozen_at));
    assert_eq!(p.liquidator, liquidator_a);
    let extended = module
        .subjectToLiquidationExtended(position)
        .call()
        .await
        .unwrap();
    assert_eq!(
        (
            extended.liquidator,
            extended.frozenTimestamp,
            extended.liquidated
        ),
        (liquidator_a, U256::from(frozen_at), false)
    );

    // A later block: another liquidator cannot confirm A's freeze.
    env.control().advance(10).await.unwrap();
    assert_eq!(
        env.liquidate_reverts(LIQUIDATOR_B, position).await,
        "Frozen by another liquidator"
    );

    // The price recovers: the confirm is refused, and the owner may not close the position
    // (once frozen, never closed by its owner, as in the real module).
    env.set_usd_price(env.weth, 18, 3000, 1).await;
    assert_eq!(
        env.liquidate_reverts(LIQUIDATOR_A, position).await,
        "Not liquidatable"
    );
    let err = env
        .module(BORROWER)
        .positionClose(position, true)
        .from(env.node.address(BORROWER))
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("frozen"));
    env.set_usd_price(env.weth, 18, 300, 1).await;

    // Exactly one hour after the freeze B still cannot; one second more and B re-freezes.
    let anvil = env.node.provider();
    anvil
        .anvil_set_next_block_timestamp(frozen_at + 3600)
        .await
        .unwrap();
    let at_hour = env.liquidate_tx(LIQUIDATOR_B, position).await;
    assert!(!at_hour.status(), "the freeze is an hour old, not older");
    anvil
        .anvil_set_next_block_timestamp(frozen_at + 3601)
        .await
        .unwrap();
    let refreeze = env.liquidate_tx(LIQUIDATOR_B, position).await;
    assert!(refreeze.status());
    let events = module_events(&refreeze, env.module);
    let [IMarginModuleEvents::PositionFrozen(frozen)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (frozen.liquidator, frozen.timestamp),
        (liquidator_b, U256::from(frozen_at + 3601))
    );
    env.control().advance(5).await.unwrap();
    assert_eq!(
        env.liquidate_reverts(LIQUIDATOR_A, position).await,
        "Frozen by another liquidator"
    );

    // B confirms: the WETH is sold to the oracle, the order repaid, the reward paid.
    let order_before = module.orders(order).call().await.unwrap().balance;
    let receiver_before = env.eth(receiver).await;
    let module_eth = env.eth(env.module).await;
    let oracle_weth = env.token_balance(env.weth, env.oracle).await;
    let sale = env.quote(env.usdc, env.weth, units(1, 18)).await;
    let receipt = env.liquidate_tx(LIQUIDATOR_B, position).await;
    assert!(receipt.status());
    eprintln!("gas: confirm with 1 non-base asset {}", receipt.gas_used);
    let at = env.timestamp_of(receipt.block_number.unwrap()).await;
    let owed = debt(loan, U256::from(1000u64), at - created_at);
    let events = module_events(&receipt, env.module);
    let [
        IMarginModuleEvents::AssetRemoved(removed),
        IMarginModuleEvents::MarginSwap(swap),
        IMarginModuleEvents::Liquidation(liquidation),
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!((removed.positionId, removed.asset), (position, env.weth));
    assert_eq!(
        (
            swap.positionId,
            swap.assetIn,
            swap.assetOut,
            swap.amountIn,
            swap.amountOut
        ),
        (position, env.weth, env.usdc, units(1, 18), sale)
    );
    assert_eq!(
        (
            liquidation.positionId,
            liquidation.orderId,
            liquidation.liquidator,
            liquidation.feeReceiver
        ),
        (position, order, liquidator_b, receiver)
    );
    // Underwater: everything (4000 + 300) goes to the order, short of the debt.
    let repaid = (loan + sale).min(owed);
    assert_eq!(repaid, loan + sale);
    assert_eq!(
        module.orders(order).call().await.unwrap().balance,
        order_before + repaid
    );
    assert_eq!(env.eth(receiver).await - receiver_before, reward);
    assert_eq!(module_eth - env.eth(env.module).await, reward);
    assert_eq!(
        env.token_balance(env.weth, env.oracle).await - oracle_weth,
        units(1, 18)
    );
    let p = module.positions(position).call().await.unwrap();
    assert!(!p.open);
    assert_eq!(
        module.order_status(order).call().await.unwrap().positions,
        0
    );
    assert_eq!(
        module.getPositionAssets(position).call().await.unwrap(),
        vec![env.usdc]
    );
    assert_eq!(
        module.getPositionBalances(position).call().await.unwrap(),
        vec![U256::ZERO]
    );
    let extended = module
        .subjectToLiquidationExtended(position)
        .call()
        .await
        .unwrap();
    assert!(extended.liquidated);
    assert_eq!(
        env.liquidate_reverts(LIQUIDATOR_B, position).await,
        "Position is closed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn liquidation_sells_every_asset_and_pays_a_token_reward() {
    let env = Env::start().await;
    let receiver = env.node.address(RECEIVER);
    let reward = units(5, 6);
    let params = OrderParams {
        interestRate: U256::from(3000u64),
        liquidationRewardAmount: reward,
        liquidationRewardAsset: env.usdc,
        ..env.order_params().await
    };
    let order = env.open_order(params, units(50_000, 6)).await;
    let loan = units(1_000, 6);
    let (position, _) = env.take_loan(order, loan, units(1, 17), U256::ZERO).await;
    // WBTC (whitelist index 2) and LINK (3): four currencies, the limit. DAI is one too many.
    for (token, index, amount) in [(env.wbtc, 2u8, units(1, 5)), (env.link, 3, units(2, 18))] {
        mined(
            env.module(BORROWER)
                .positionDeposit(position, token, U256::from(index), amount),
        )
        .await;
    }
    let err = env
        .module(BORROWER)
        .positionDeposit(position, env.dai, U256::from(4u8), units(1, 18))
        .from(env.node.address(BORROWER))
        .call()
        .await
        .unwrap_err();
    assert!(revert_reason(err).contains("Currency limit"));
    let module = env.module(LENDER);
    assert_eq!(
        module.getPositionAssets(position).call().await.unwrap(),
        vec![env.usdc, env.weth, env.wbtc, env.link]
    );

    // 30% a month: 1300 owed after 30 days against 1000 + 300 + 60 + 30; WETH at 1000
    // brings the value to 1190.
    env.control().advance(30 * DAY).await.unwrap();
    assert!(!module.subjectToLiquidation(position).call().await.unwrap());
    env.set_usd_price(env.weth, 18, 1000, 1).await;
    assert!(module.subjectToLiquidation(position).call().await.unwrap());

    let freeze = env.liquidate_tx(LIQUIDATOR_A, position).await;
    assert!(freeze.status());
    eprintln!("gas: freeze (3 non-base assets) {}", freeze.gas_used);
    env.control().advance(12).await.unwrap();
    let sales = [
        (env.link, units(2, 18)),
        (env.wbtc, units(1, 5)),
        (env.weth, units(1, 17)),
    ];
    let mut quotes = Vec::new();
    for (token, amount) in sales {
        quotes.push(env.quote(env.usdc, token, amount).await);
    }
    let order_before = module.orders(order).call().await.unwrap().balance;
    let receiver_usdc = env.token_balance(env.usdc, receiver).await;
    let receipt = env.liquidate_tx(LIQUIDATOR_A, position).await;
    assert!(receipt.status());
    eprintln!("gas: confirm with 3 non-base assets {}", receipt.gas_used);
    let events = module_events(&receipt, env.module);
    assert_eq!(events.len(), 7, "{events:?}");
    for (i, (token, amount)) in sales.iter().enumerate() {
        let IMarginModuleEvents::AssetRemoved(removed) = &events[2 * i] else {
            panic!("{events:?}")
        };
        assert_eq!(removed.asset, *token);
        let IMarginModuleEvents::MarginSwap(swap) = &events[2 * i + 1] else {
            panic!("{events:?}")
        };
        assert_eq!(
            (swap.assetIn, swap.assetOut, swap.amountIn, swap.amountOut),
            (*token, env.usdc, *amount, quotes[i])
        );
    }
    assert!(matches!(
        &events[6],
        IMarginModuleEvents::Liquidation(l) if l.liquidator == env.node.address(LIQUIDATOR_A)
    ));
    let repaid = loan + quotes.iter().copied().sum::<U256>();
    assert_eq!(
        module.orders(order).call().await.unwrap().balance,
        order_before + repaid
    );
    assert_eq!(
        env.token_balance(env.usdc, receiver).await - receiver_usdc,
        reward
    );
    assert_eq!(
        module.getPositionAssets(position).call().await.unwrap(),
        vec![env.usdc]
    );
    assert!(!module.positions(position).call().await.unwrap().open);
}
