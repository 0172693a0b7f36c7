//! Our devnet copies of DePerp's contracts (`contracts/DePerp.sol`) on a real anvil: the
//! artifacts carry exactly DePerp's ABI (signatures with outputs, written out here from the
//! issue), every getter returns what the owner's setters set, positions page and are removed
//! by swap-and-pop, `FundingRefreshed` carries the running tracer, strangers get
//! `NotOwner(caller)`, and `hedgedesk::perp::reader` reads the whole state at one block,
//! including 2,503 positions in three pages.
//!
//! Needs anvil (`scripts/bootstrap` installs it in `.tools/bin`).

mod common;

use std::time::Duration;

use alloy::json_abi::JsonAbi;
use alloy::primitives::{Address, B256, I256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::SolEvent;
use hedgedesk::chain::contracts::{
    DataRegistry, FundingRate, Positions, TradingMarket, Vault, VaultUtils, artifact,
};
use hedgedesk::devnet::perp::{self as devnet_perp, DePerpContracts, deploy_deperp};
use hedgedesk::devnet::{AnvilNode, AnvilOptions, DevnetControl};
use hedgedesk::perp::model::{AssetVault, DePerpState, Market, TraderPosition};
use hedgedesk::perp::reader::{self, DePerpAddresses, DePerpReader, REFRESH_BLOCKS};
use hedgedesk::store::Store;

use common::wallet;

const OWNER: usize = 0;
const STRANGER: usize = 1;

const USDC: Address = Address::repeat_byte(0x0c);
const WETH: Address = Address::repeat_byte(0x0e);

struct Env {
    node: AnvilNode,
    _dir: tempfile::TempDir,
    store: Store,
    contracts: DePerpContracts,
}

impl Env {
    async fn start() -> Env {
        let node = AnvilNode::start(&AnvilOptions::default()).expect("anvil");
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
        let (contracts, deployments) =
            deploy_deperp(&wallet(&node, OWNER), node.address(OWNER), &store)
                .await
                .expect("deploy DePerp");
        assert_eq!(deployments.len(), 6);
        Env {
            node,
            _dir: dir,
            store,
            contracts,
        }
    }

    fn owner(&self) -> DynProvider {
        wallet(&self.node, OWNER)
    }

    fn reader_provider(&self) -> DynProvider {
        self.node.provider().erased()
    }

    fn positions(&self) -> Positions::PositionsInstance<DynProvider> {
        Positions::new(self.contracts.positions, self.reader_provider())
    }

    async fn head(&self) -> u64 {
        self.node.provider().get_block_number().await.unwrap()
    }

    async fn all_positions(&self) -> Vec<TraderPosition> {
        self.positions()
            .getPositions(U256::MAX, U256::ZERO)
            .call()
            .await
            .unwrap()
            .into_iter()
            .map(TraderPosition::from)
            .collect()
    }
}

fn position(user: u8, asset: Address, market: &str, is_long: bool, n: u64) -> TraderPosition {
    TraderPosition {
        user: Address::repeat_byte(user),
        asset,
        market: market.into(),
        is_long,
        size: U256::from(1_000_000_000 + n),
        collateral: U256::from(100_000_000 + n),
        funding_tracer: I256::try_from(n as i64 - 50).unwrap(),
        price: U256::from(60_000_000_000u64 + n),
        timestamp: U256::from(1_700_000_000 + n),
    }
}

fn market(name: &str, category: &str, n: u64) -> Market {
    Market {
        name: name.into(),
        category: category.into(),
        de_feed: Address::repeat_byte(0xfe - n as u8),
        max_leverage: U256::from(50 + n),
        max_price_shift: U256::from(100 + n),
        fee: U256::from(10 + n),
        liq_threshold: U256::from(9_000 + n),
        funding_factor: U256::from(3 + n),
        min_order_age: U256::from(5 + n),
        feed_max_age: U256::from(60 + n),
        pyth_feed: B256::repeat_byte(0xa0 + n as u8),
        market_live: n.is_multiple_of(2),
        is_reduce_only: !n.is_multiple_of(2),
    }
}

async fn mined<P, D>(call: alloy::contract::CallBuilder<P, D>) -> TransactionReceipt
where
    P: Provider,
    D: alloy::contract::CallDecoder,
{
    hedgedesk::devnet::receipt::mined(call, "test transaction")
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// The ABI

fn abi(name: &str) -> JsonAbi {
    artifact(name)
        .unwrap_or_else(|| panic!("{name} is registered"))
        .abi()
}

/// `name(inputs)(outputs)` of the only function `name` in `contract`'s artifact.
fn function_signature(contract: &str, name: &str) -> String {
    let abi = abi(contract);
    let functions = abi
        .function(name)
        .unwrap_or_else(|| panic!("{contract}.{name}"));
    assert_eq!(functions.len(), 1, "{contract}.{name} is not overloaded");
    functions[0].signature_with_outputs()
}

const POSITION_TUPLE: &str = "(address,address,string,bool,uint256,uint256,int256,uint256,uint256)";
const MARKET_TUPLE: &str = "(string,string,address,uint256,uint256,uint256,uint256,uint256,uint256,uint256,bytes32,bool,bool)";

#[test]
fn the_artifacts_speak_deperps_abi() {
    let expected = [
        (
            "DataRegistry",
            "getAddress",
            "getAddress(string)(address)".to_string(),
        ),
        (
            "DataRegistry",
            "setAddress",
            "setAddress(string,address)()".to_string(),
        ),
        (
            "Positions",
            "getPositionCount",
            "getPositionCount()(uint256)".to_string(),
        ),
        (
            "Positions",
            "getPositions",
            format!("getPositions(uint256,uint256)({POSITION_TUPLE}[])"),
        ),
        (
            "Positions",
            "addPosition",
            format!("addPosition({POSITION_TUPLE})()"),
        ),
        (
            "Positions",
            "addPositions",
            format!("addPositions({POSITION_TUPLE}[])()"),
        ),
        (
            "Positions",
            "removePosition",
            "removePosition(uint256)()".to_string(),
        ),
        (
            "Positions",
            "setPositionSize",
            "setPositionSize(uint256,uint256,uint256)()".to_string(),
        ),
        (
            "VaultUtils",
            "getVaultAvailable",
            "getVaultAvailable(address)(uint256)".to_string(),
        ),
        (
            "VaultUtils",
            "setVaultAvailable",
            "setVaultAvailable(address,uint256)()".to_string(),
        ),
        (
            "Vault",
            "getShieldBalance",
            "getShieldBalance(address)(uint256)".to_string(),
        ),
        (
            "Vault",
            "setShieldBalance",
            "setShieldBalance(address,uint256)()".to_string(),
        ),
        (
            "FundingRate",
            "getFundingTracers",
            "getFundingTracers(address[],string[])(int256[])".to_string(),
        ),
        (
            "FundingRate",
            "refreshFunding",
            "refreshFunding(address,string,int256)()".to_string(),
        ),
        (
            "TradingMarket",
            "getMarketList",
            "getMarketList()(string[])".to_string(),
        ),
        (
            "TradingMarket",
            "getMultipleMarkets",
            format!("getMultipleMarkets(string[])({MARKET_TUPLE}[])"),
        ),
        (
            "TradingMarket",
            "setMarket",
            format!("setMarket({MARKET_TUPLE})()"),
        ),
    ];
    for (contract, function, signature) in &expected {
        assert_eq!(
            &function_signature(contract, function),
            signature,
            "{contract}.{function}"
        );
    }

    // The struct fields by name, in order.
    let get_positions = abi("Positions").function("getPositions").unwrap()[0].clone();
    let fields: Vec<_> = get_positions.outputs[0]
        .components
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "user",
            "asset",
            "market",
            "isLong",
            "size",
            "collateral",
            "fundingTracer",
            "price",
            "timestamp"
        ]
    );
    let get_markets = abi("TradingMarket").function("getMultipleMarkets").unwrap()[0].clone();
    let fields: Vec<_> = get_markets.outputs[0]
        .components
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "name",
            "category",
            "deFeed",
            "maxLeverage",
            "maxPriceShift",
            "fee",
            "liqThreshold",
            "fundingFactor",
            "minOrderAge",
            "feedMaxAge",
            "pythFeed",
            "marketLive",
            "isReduceOnly"
        ]
    );

    let refreshed = abi("FundingRate").event("FundingRefreshed").unwrap()[0].clone();
    assert_eq!(
        refreshed.full_signature(),
        "event FundingRefreshed(address indexed asset, string market, int256 fundingTracer, int256 fundingIncrement)"
    );
    assert_eq!(
        FundingRate::FundingRefreshed::SIGNATURE,
        "FundingRefreshed(address,string,int256,int256)"
    );

    for contract in [
        "DataRegistry",
        "Positions",
        "Vault",
        "VaultUtils",
        "FundingRate",
        "TradingMarket",
    ] {
        let abi = abi(contract);
        assert_eq!(
            abi.error("NotOwner").unwrap()[0].signature(),
            "NotOwner(address)",
            "{contract}"
        );
        assert!(artifact(contract).unwrap().is_deployable(), "{contract}");
        assert_eq!(
            artifact(contract).unwrap().source_name(),
            "contracts/DePerp.sol"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Deployment and the registry

#[tokio::test]
async fn devnet_deploys_wires_and_records_the_six_contracts() {
    let env = Env::start().await;
    let chain_id = env.node.chain_id;
    let c = env.contracts;
    let expected = [
        ("deperp.registry", "DataRegistry", c.registry),
        ("deperp.positions", "Positions", c.positions),
        ("deperp.vault", "Vault", c.vault),
        ("deperp.vault_utils", "VaultUtils", c.vault_utils),
        ("deperp.funding_rate", "FundingRate", c.funding_rate),
        ("deperp.trading_market", "TradingMarket", c.trading_market),
    ];
    let provider = env.reader_provider();
    let mut distinct: Vec<Address> = expected.iter().map(|e| e.2).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 6);
    for (name, artifact_name, address) in expected {
        let d = env
            .store
            .deployment(chain_id, name)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name} recorded"));
        assert_eq!(d.address, address, "{name}");
        assert_eq!(d.artifact, artifact_name, "{name}");
        // The deployed code is the artifact's with the owner filled in (an immutable).
        let code = provider.get_code_at(address).await.unwrap();
        assert_eq!(
            code.len(),
            artifact(artifact_name).unwrap().deployed_bytecode().len(),
            "{name}'s code"
        );
    }
    assert_eq!(
        devnet_perp::recorded(&env.store, chain_id).await.unwrap(),
        Some(c)
    );
    assert_eq!(devnet_perp::recorded(&env.store, 1).await.unwrap(), None);

    let registry = DataRegistry::new(c.registry, provider.clone());
    for (key, address) in [
        ("Positions", c.positions),
        ("Vault", c.vault),
        ("VaultUtils", c.vault_utils),
        ("FundingRate", c.funding_rate),
        ("TradingMarket", c.trading_market),
    ] {
        assert_eq!(
            registry.getAddress(key.into()).call().await.unwrap(),
            address,
            "{key}"
        );
    }
    assert_eq!(
        registry
            .getAddress("positions".into())
            .call()
            .await
            .unwrap(),
        Address::ZERO,
        "keys are case-sensitive; an unknown key is the zero address"
    );
    assert_eq!(
        registry.owner().call().await.unwrap(),
        env.node.address(OWNER)
    );

    // The owner re-points a key.
    let other = Address::repeat_byte(0x77);
    let receipt =
        mined(DataRegistry::new(c.registry, env.owner()).setAddress("Vault".into(), other)).await;
    let set = devnet_perp::event::<DataRegistry::AddressSet>(&receipt, c.registry).unwrap();
    assert_eq!((set.key.as_str(), set.addr), ("Vault", other));
    assert_eq!(
        registry.getAddress("Vault".into()).call().await.unwrap(),
        other
    );
}

// ---------------------------------------------------------------------------------------
// Positions

#[tokio::test]
async fn positions_are_added_paged_resized_and_removed_by_swap_and_pop() {
    let env = Env::start().await;
    let c = &env.contracts;
    let opened: Vec<_> = (0..4)
        .map(|n| position(n as u8 + 1, USDC, "BTC-USD", n % 2 == 0, n))
        .collect();

    let positions = env.positions();
    assert_eq!(
        positions.getPositionCount().call().await.unwrap(),
        U256::ZERO
    );
    assert!(
        positions
            .getPositions(U256::from(1000), U256::ZERO)
            .call()
            .await
            .unwrap()
            .is_empty()
    );

    // One by one: the helper returns the index, the event carries the whole position.
    for (n, p) in opened.iter().enumerate() {
        let index = devnet_perp::open_position(&env.owner(), c, p)
            .await
            .unwrap();
        assert_eq!(index, U256::from(n));
    }
    let fifth = position(9, WETH, "ETH-USD", false, 9);
    let receipt =
        mined(Positions::new(c.positions, env.owner()).addPosition((&fifth).into())).await;
    let added = devnet_perp::event::<Positions::PositionAdded>(&receipt, c.positions).unwrap();
    assert_eq!(added.index, U256::from(4));
    assert_eq!(added.user, fifth.user);
    assert_eq!(TraderPosition::from(added.position), fifth);
    let mut expected = opened.clone();
    expected.push(fifth);

    assert_eq!(
        positions.getPositionCount().call().await.unwrap(),
        U256::from(5)
    );
    assert_eq!(env.all_positions().await, expected);
    // Pages: [offset, min(offset + length, count)).
    let page = |length: u64, offset: u64| {
        let positions = env.positions();
        async move {
            positions
                .getPositions(U256::from(length), U256::from(offset))
                .call()
                .await
                .unwrap()
                .into_iter()
                .map(TraderPosition::from)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(page(2, 1).await, expected[1..3]);
    assert_eq!(page(10, 3).await, expected[3..]);
    assert_eq!(page(2, 4).await, expected[4..]);
    assert!(page(2, 5).await.is_empty());
    assert!(page(2, 500).await.is_empty());
    assert!(page(0, 0).await.is_empty());
    let huge = positions
        .getPositions(U256::MAX, U256::from(3))
        .call()
        .await
        .unwrap();
    assert_eq!(huge.len(), 2, "length + offset does not overflow");
    let past = positions
        .getPositions(U256::MAX, U256::MAX)
        .call()
        .await
        .unwrap();
    assert!(past.is_empty());

    // Resize.
    let receipt = mined(Positions::new(c.positions, env.owner()).setPositionSize(
        U256::from(2),
        U256::from(7u64),
        U256::from(3u64),
    ))
    .await;
    let resized = devnet_perp::event::<Positions::PositionResized>(&receipt, c.positions).unwrap();
    assert_eq!(
        (
            resized.index,
            resized.user,
            resized.size,
            resized.collateral
        ),
        (
            U256::from(2),
            opened[2].user,
            U256::from(7u64),
            U256::from(3u64)
        )
    );
    expected[2].size = U256::from(7u64);
    expected[2].collateral = U256::from(3u64);
    devnet_perp::resize_position(
        &env.owner(),
        c,
        U256::from(1),
        U256::from(11u64),
        U256::from(5u64),
    )
    .await
    .unwrap();
    expected[1].size = U256::from(11u64);
    expected[1].collateral = U256::from(5u64);
    assert_eq!(env.all_positions().await, expected);

    // Remove from the middle: the last moves in.
    let receipt =
        mined(Positions::new(c.positions, env.owner()).removePosition(U256::from(1))).await;
    let removed = devnet_perp::event::<Positions::PositionRemoved>(&receipt, c.positions).unwrap();
    assert_eq!(removed.index, U256::from(1));
    assert_eq!(removed.movedFrom, U256::from(4));
    assert_eq!(removed.user, expected[1].user);
    assert_eq!(TraderPosition::from(removed.position), expected[1]);
    expected.swap_remove(1);
    assert_eq!(env.all_positions().await, expected);

    // Remove the last: nothing moves.
    let closed = devnet_perp::close_position(&env.owner(), c, U256::from(3))
        .await
        .unwrap();
    assert_eq!(closed, expected[3]);
    expected.pop();
    assert_eq!(env.all_positions().await, expected);

    // By key, wherever it moved.
    let key = expected[0].key();
    assert_eq!(
        devnet_perp::position_index(&env.owner(), c, &key)
            .await
            .unwrap(),
        Some(U256::ZERO)
    );
    let closed = devnet_perp::close_position_by_key(&env.owner(), c, &key)
        .await
        .unwrap();
    assert_eq!(closed, expected[0]);
    expected.swap_remove(0);
    assert_eq!(env.all_positions().await, expected);
    assert_eq!(
        devnet_perp::position_index(&env.owner(), c, &key)
            .await
            .unwrap(),
        None
    );
    assert!(
        devnet_perp::close_position_by_key(&env.owner(), c, &key)
            .await
            .is_err()
    );

    // Out of range.
    let count = expected.len();
    for (index, action) in [(count, "remove"), (count + 7, "resize")] {
        let instance = Positions::new(c.positions, env.owner());
        let err = if action == "remove" {
            instance
                .removePosition(U256::from(index))
                .call()
                .await
                .unwrap_err()
        } else {
            instance
                .setPositionSize(U256::from(index), U256::ONE, U256::ONE)
                .call()
                .await
                .unwrap_err()
        };
        match err.as_decoded_interface_error::<Positions::PositionsErrors>() {
            Some(Positions::PositionsErrors::IndexOutOfRange(e)) => {
                assert_eq!(
                    (e.index, e.count),
                    (U256::from(index), U256::from(count)),
                    "{action}"
                )
            }
            other => panic!("{action}: expected IndexOutOfRange, got {other:?} ({err})"),
        }
    }
}

#[tokio::test]
async fn reads_2503_positions_in_three_pages() {
    let env = Env::start().await;
    let markets = ["BTC-USD", "ETH-USD", "SOL-USD"];
    let opened: Vec<_> = (0..2_503u64)
        .map(|n| {
            position(
                (n % 200) as u8 + 1,
                USDC,
                markets[n as usize % 3],
                n % 2 == 1,
                n,
            )
        })
        .collect();
    devnet_perp::open_positions(&env.owner(), &env.contracts, &opened)
        .await
        .unwrap();
    let positions = env.positions();
    assert_eq!(
        positions.getPositionCount().call().await.unwrap(),
        U256::from(2_503)
    );

    assert_eq!(
        reader::pages(2_503).collect::<Vec<_>>(),
        [(0, 1_000), (1_000, 1_000), (2_000, 503)]
    );
    // A full page fits an eth_call under anvil's default gas cap.
    let request = positions
        .getPositions(U256::from(1_000), U256::from(1_000))
        .into_transaction_request();
    let gas = env.node.provider().estimate_gas(request).await.unwrap();
    eprintln!("getPositions(1000, 1000) costs {gas} gas");
    assert!(gas < 30_000_000, "{gas}");
    let last = positions
        .getPositions(U256::from(1_000), U256::from(2_000))
        .call()
        .await
        .unwrap();
    assert_eq!(last.len(), 503);
    assert_eq!(TraderPosition::from(last[502].clone()), opened[2_502]);

    let head = env.head().await;
    let state = reader::read_state(&env.reader_provider(), env.contracts.registry, &[])
        .await
        .unwrap();
    assert_eq!(state.block, head);
    assert_eq!(state.positions.len(), 2_503);
    assert_eq!(state.positions, opened);
    // Every (asset, market) with positions, sorted by asset then market; never refreshed.
    assert_eq!(
        state.funding_tracers,
        markets
            .iter()
            .map(|m| (USDC, m.to_string(), I256::ZERO))
            .collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------------------------------
// Vault, shield, funding, markets

#[tokio::test]
async fn vault_available_and_shield_balance_are_per_asset() {
    let env = Env::start().await;
    let c = &env.contracts;
    let vault_utils = VaultUtils::new(c.vault_utils, env.reader_provider());
    let vault = Vault::new(c.vault, env.reader_provider());
    assert_eq!(
        vault_utils.getVaultAvailable(USDC).call().await.unwrap(),
        U256::ZERO
    );
    assert_eq!(
        vault.getShieldBalance(USDC).call().await.unwrap(),
        U256::ZERO
    );

    let usdc_vault = U256::from(2_000_000_000_000u64); // 2M USDC
    let weth_vault = U256::from(10u64).pow(U256::from(21)); // 1000 WETH
    devnet_perp::set_vault_available(&env.owner(), c, USDC, usdc_vault)
        .await
        .unwrap();
    devnet_perp::set_vault_available(&env.owner(), c, WETH, weth_vault)
        .await
        .unwrap();
    devnet_perp::set_shield_balance(&env.owner(), c, USDC, U256::from(500_000_000_000u64))
        .await
        .unwrap();
    assert_eq!(
        vault_utils.getVaultAvailable(USDC).call().await.unwrap(),
        usdc_vault
    );
    assert_eq!(
        vault_utils.getVaultAvailable(WETH).call().await.unwrap(),
        weth_vault
    );
    assert_eq!(
        vault.getShieldBalance(USDC).call().await.unwrap(),
        U256::from(500_000_000_000u64)
    );
    assert_eq!(
        vault.getShieldBalance(WETH).call().await.unwrap(),
        U256::ZERO
    );
    // The vault and the shield are separate contracts.
    assert_eq!(
        vault.getShieldBalance(Address::ZERO).call().await.unwrap(),
        U256::ZERO
    );

    let receipt =
        mined(VaultUtils::new(c.vault_utils, env.owner()).setVaultAvailable(USDC, U256::ONE)).await;
    let set = devnet_perp::event::<VaultUtils::VaultAvailableSet>(&receipt, c.vault_utils).unwrap();
    assert_eq!((set.asset, set.amount), (USDC, U256::ONE));
    let receipt =
        mined(Vault::new(c.vault, env.owner()).setShieldBalance(WETH, U256::from(9u8))).await;
    let set = devnet_perp::event::<Vault::ShieldBalanceSet>(&receipt, c.vault).unwrap();
    assert_eq!((set.asset, set.amount), (WETH, U256::from(9u8)));
    assert_eq!(
        vault_utils.getVaultAvailable(USDC).call().await.unwrap(),
        U256::ONE
    );
    assert_eq!(
        vault.getShieldBalance(WETH).call().await.unwrap(),
        U256::from(9u8)
    );
}

#[tokio::test]
async fn funding_refreshes_add_up_and_emit_funding_refreshed() {
    let env = Env::start().await;
    let c = &env.contracts;
    let i = |v: i64| I256::try_from(v).unwrap();

    let tracer = devnet_perp::refresh_funding(&env.owner(), c, USDC, "BTC-USD", i(125))
        .await
        .unwrap();
    assert_eq!(tracer, i(125));
    let receipt = mined(
        FundingRate::new(c.funding_rate, env.owner()).refreshFunding(
            USDC,
            "BTC-USD".into(),
            i(-200),
        ),
    )
    .await;
    let log = receipt
        .logs()
        .iter()
        .find(|log| log.topic0() == Some(&FundingRate::FundingRefreshed::SIGNATURE_HASH))
        .expect("FundingRefreshed");
    assert_eq!(log.address(), c.funding_rate);
    // The asset is the one indexed topic.
    assert_eq!(log.topics().len(), 2);
    assert_eq!(log.topics()[1], USDC.into_word());
    let refreshed =
        devnet_perp::event::<FundingRate::FundingRefreshed>(&receipt, c.funding_rate).unwrap();
    assert_eq!(refreshed.asset, USDC);
    assert_eq!(refreshed.market, "BTC-USD");
    assert_eq!(refreshed.fundingTracer, i(-75));
    assert_eq!(refreshed.fundingIncrement, i(-200));

    devnet_perp::refresh_funding(&env.owner(), c, WETH, "BTC-USD", i(7))
        .await
        .unwrap();
    devnet_perp::refresh_funding(&env.owner(), c, USDC, "ETH-USD", i(i64::MIN / 2))
        .await
        .unwrap();

    let funding = FundingRate::new(c.funding_rate, env.reader_provider());
    let tracers = funding
        .getFundingTracers(
            vec![USDC, WETH, USDC, USDC, WETH],
            vec![
                "BTC-USD".into(),
                "BTC-USD".into(),
                "ETH-USD".into(),
                "SOL-USD".into(),
                "ETH-USD".into(),
            ],
        )
        .call()
        .await
        .unwrap();
    assert_eq!(
        tracers,
        [i(-75), i(7), i(i64::MIN / 2), I256::ZERO, I256::ZERO]
    );
    assert!(
        funding
            .getFundingTracers(vec![], vec![])
            .call()
            .await
            .unwrap()
            .is_empty()
    );

    let err = funding
        .getFundingTracers(vec![USDC, WETH], vec!["BTC-USD".into()])
        .call()
        .await
        .unwrap_err();
    match err.as_decoded_interface_error::<FundingRate::FundingRateErrors>() {
        Some(FundingRate::FundingRateErrors::LengthMismatch(e)) => {
            assert_eq!((e.assets, e.markets), (U256::from(2), U256::from(1)))
        }
        other => panic!("expected LengthMismatch, got {other:?} ({err})"),
    }

    // The tracer's arithmetic is checked.
    let fits = FundingRate::new(c.funding_rate, env.owner())
        .refreshFunding(USDC, "BTC-USD".into(), I256::MAX)
        .call()
        .await;
    assert!(fits.is_ok(), "-75 + MAX fits");
    let overflows = FundingRate::new(c.funding_rate, env.owner())
        .refreshFunding(WETH, "BTC-USD".into(), I256::MAX)
        .call()
        .await;
    assert!(overflows.is_err(), "7 + MAX overflows");
}

#[tokio::test]
async fn markets_are_listed_replaced_by_name_and_read_back() {
    let env = Env::start().await;
    let c = &env.contracts;
    let trading = TradingMarket::new(c.trading_market, env.reader_provider());
    assert!(trading.getMarketList().call().await.unwrap().is_empty());
    assert!(
        trading
            .getMultipleMarkets(vec![])
            .call()
            .await
            .unwrap()
            .is_empty()
    );

    let btc = market("BTC-USD", "crypto", 0);
    let eth = market("ETH-USD", "crypto", 1);
    let gold = market("XAU-USD", "commodity", 2);
    for m in [&btc, &eth, &gold] {
        devnet_perp::set_market(&env.owner(), c, m).await.unwrap();
    }
    // Replace ETH-USD: it keeps its place in the list.
    let eth2 = Market {
        max_leverage: U256::from(20u8),
        market_live: false,
        is_reduce_only: true,
        ..market("ETH-USD", "majors", 9)
    };
    let receipt =
        mined(TradingMarket::new(c.trading_market, env.owner()).setMarket((&eth2).into())).await;
    let set = devnet_perp::event::<TradingMarket::MarketSet>(&receipt, c.trading_market).unwrap();
    assert_eq!(set.name, "ETH-USD");
    assert_eq!(Market::from(set.market), eth2);

    assert_eq!(
        trading.getMarketList().call().await.unwrap(),
        ["BTC-USD", "ETH-USD", "XAU-USD"]
    );
    let read: Vec<Market> = trading
        .getMultipleMarkets(vec!["XAU-USD".into(), "BTC-USD".into(), "ETH-USD".into()])
        .call()
        .await
        .unwrap()
        .into_iter()
        .map(Market::from)
        .collect();
    assert_eq!(read, [gold.clone(), btc.clone(), eth2.clone()]);

    let err = trading
        .getMultipleMarkets(vec!["BTC-USD".into(), "DOGE-USD".into()])
        .call()
        .await
        .unwrap_err();
    match err.as_decoded_interface_error::<TradingMarket::TradingMarketErrors>() {
        Some(TradingMarket::TradingMarketErrors::UnknownMarket(e)) => {
            assert_eq!(e.name, "DOGE-USD")
        }
        other => panic!("expected UnknownMarket, got {other:?} ({err})"),
    }
    let err = TradingMarket::new(c.trading_market, env.owner())
        .setMarket((&market("", "crypto", 0)).into())
        .call()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_decoded_interface_error::<TradingMarket::TradingMarketErrors>(),
            Some(TradingMarket::TradingMarketErrors::EmptyMarketName(_))
        ),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// Ownership

#[tokio::test]
async fn every_setter_is_owner_only() {
    let env = Env::start().await;
    let c = &env.contracts;
    let stranger = env.node.address(STRANGER);
    let as_stranger = wallet(&env.node, STRANGER);
    let p = position(1, USDC, "BTC-USD", true, 0);
    devnet_perp::open_position(&env.owner(), c, &p)
        .await
        .unwrap();

    macro_rules! assert_not_owner {
        ($contract:ident, $address:expr, $call:ident ( $($arg:expr),* )) => {{
            let err = $contract::new($address, as_stranger.clone())
                .$call($($arg),*)
                .from(stranger)
                .call()
                .await
                .expect_err(concat!(stringify!($call), " by a stranger must revert"));
            let decoded = err.as_decoded_error::<$contract::NotOwner>();
            assert_eq!(
                decoded.map(|e| e.caller),
                Some(stranger),
                "{}: {err}",
                stringify!($call)
            );
        }};
    }
    assert_not_owner!(
        DataRegistry,
        c.registry,
        setAddress("Vault".into(), stranger)
    );
    assert_not_owner!(Positions, c.positions, addPosition((&p).into()));
    assert_not_owner!(Positions, c.positions, addPositions(vec![(&p).into()]));
    assert_not_owner!(Positions, c.positions, removePosition(U256::ZERO));
    assert_not_owner!(
        Positions,
        c.positions,
        setPositionSize(U256::ZERO, U256::ONE, U256::ONE)
    );
    assert_not_owner!(Vault, c.vault, setShieldBalance(USDC, U256::ONE));
    assert_not_owner!(
        VaultUtils,
        c.vault_utils,
        setVaultAvailable(USDC, U256::ONE)
    );
    assert_not_owner!(
        FundingRate,
        c.funding_rate,
        refreshFunding(USDC, "BTC-USD".into(), I256::ONE)
    );
    assert_not_owner!(
        TradingMarket,
        c.trading_market,
        setMarket((&market("BTC-USD", "crypto", 0)).into())
    );

    // A sent transaction is refused too, and changes nothing.
    let refused = devnet_perp::close_position(&as_stranger, c, U256::ZERO).await;
    assert!(refused.is_err());
    assert_eq!(env.all_positions().await, [p]);
}

// ---------------------------------------------------------------------------------------
// The reader

#[tokio::test]
async fn read_state_returns_everything_at_one_block() {
    let env = Env::start().await;
    let c = &env.contracts;
    let i = |v: i64| I256::try_from(v).unwrap();

    let markets = [
        market("BTC-USD", "crypto", 0),
        market("ETH-USD", "crypto", 1),
        market("SOL-USD", "crypto", 2),
    ];
    for m in &markets {
        devnet_perp::set_market(&env.owner(), c, m).await.unwrap();
    }
    let positions = vec![
        position(1, USDC, "ETH-USD", false, 1),
        position(2, USDC, "BTC-USD", true, 2),
        position(3, WETH, "BTC-USD", true, 3),
        position(4, USDC, "BTC-USD", false, 4),
    ];
    devnet_perp::open_positions(&env.owner(), c, &positions)
        .await
        .unwrap();
    devnet_perp::set_vault_available(&env.owner(), c, USDC, U256::from(1_000_000_000_000u64))
        .await
        .unwrap();
    devnet_perp::set_shield_balance(&env.owner(), c, USDC, U256::from(250_000_000_000u64))
        .await
        .unwrap();
    devnet_perp::set_vault_available(&env.owner(), c, WETH, U256::from(10u64).pow(U256::from(20)))
        .await
        .unwrap();
    devnet_perp::refresh_funding(&env.owner(), c, USDC, "BTC-USD", i(5))
        .await
        .unwrap();
    devnet_perp::refresh_funding(&env.owner(), c, USDC, "BTC-USD", i(-2))
        .await
        .unwrap();
    devnet_perp::refresh_funding(&env.owner(), c, USDC, "ETH-USD", i(-7))
        .await
        .unwrap();
    // A pair without positions is not read.
    devnet_perp::refresh_funding(&env.owner(), c, USDC, "SOL-USD", i(40))
        .await
        .unwrap();

    let assets = [(USDC, 6u8), (WETH, 18u8)];
    let provider = env.reader_provider();
    let mut reader = DePerpReader::new(c.registry);
    assert_eq!(reader.addresses(), None);
    let before = reader.read(&provider, &assets).await.unwrap();

    // Funding pairs sorted by (asset, market); USDC (0x0c..) sorts before WETH (0x0e..).
    let expected = DePerpState {
        block: env.head().await,
        positions: positions.clone(),
        vaults: vec![
            AssetVault {
                asset: USDC,
                decimals: 6,
                vault: U256::from(1_000_000_000_000u64),
                shield: U256::from(250_000_000_000u64),
            },
            AssetVault {
                asset: WETH,
                decimals: 18,
                vault: U256::from(10u64).pow(U256::from(20)),
                shield: U256::ZERO,
            },
        ],
        markets: markets.to_vec(),
        funding_tracers: vec![
            (USDC, "BTC-USD".into(), i(3)),
            (USDC, "ETH-USD".into(), i(-7)),
            (WETH, "BTC-USD".into(), I256::ZERO),
        ],
    };
    assert_eq!(before, expected);
    assert_eq!(
        reader.addresses(),
        Some(DePerpAddresses {
            positions: c.positions,
            vault: c.vault,
            vault_utils: c.vault_utils,
            funding_rate: c.funding_rate,
            trading_market: c.trading_market,
        })
    );
    assert_eq!(
        reader::read_state(&provider, c.registry, &assets)
            .await
            .unwrap(),
        expected
    );

    // Things change; a read at the old block still sees the old state, everywhere.
    devnet_perp::close_position(&env.owner(), c, U256::ZERO)
        .await
        .unwrap();
    devnet_perp::set_vault_available(&env.owner(), c, USDC, U256::from(3u8))
        .await
        .unwrap();
    devnet_perp::refresh_funding(&env.owner(), c, USDC, "BTC-USD", i(100))
        .await
        .unwrap();
    devnet_perp::set_market(&env.owner(), c, &market("DOGE-USD", "meme", 3))
        .await
        .unwrap();
    assert_eq!(
        reader
            .read_at(&provider, &assets, expected.block)
            .await
            .unwrap(),
        expected
    );
    let after = reader.read(&provider, &assets).await.unwrap();
    assert_eq!(after.block, env.head().await);
    assert_eq!(
        after.positions,
        [
            positions[3].clone(),
            positions[1].clone(),
            positions[2].clone()
        ]
    );
    assert_eq!(after.vaults[0].vault, U256::from(3u8));
    assert_eq!(
        after.funding_tracers,
        [
            (USDC, "BTC-USD".into(), i(103)),
            (WETH, "BTC-USD".into(), I256::ZERO),
        ],
        "ETH-USD has no positions left"
    );
    assert_eq!(after.markets.len(), 4);
    assert_eq!(after.markets[3].name, "DOGE-USD");
}

#[tokio::test]
async fn reader_names_a_registry_key_that_is_not_set() {
    let env = Env::start().await;
    let c = &env.contracts;
    let provider = env.reader_provider();
    let mut reader = DePerpReader::new(c.registry);
    reader.read(&provider, &[(USDC, 6)]).await.unwrap();
    assert!(reader.addresses().is_some());

    // FundingRate unset: the cached addresses still point at the old contract, so the
    // registry is only consulted again after a failure (or `REFRESH_BLOCKS` blocks); a
    // fresh reader sees the gap.
    mined(
        DataRegistry::new(c.registry, env.owner()).setAddress("FundingRate".into(), Address::ZERO),
    )
    .await;
    reader.read(&provider, &[(USDC, 6)]).await.unwrap();
    let err = reader::read_state(&provider, c.registry, &[(USDC, 6)])
        .await
        .unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("no address for \"FundingRate\""),
        "{message}"
    );

    // Pointing a key at something that is not the contract fails the read and drops the
    // cache; fixing the registry makes the next read succeed.
    mined(
        DataRegistry::new(c.registry, env.owner())
            .setAddress("FundingRate".into(), Address::repeat_byte(0x99)),
    )
    .await;
    devnet_perp::open_position(&env.owner(), c, &position(1, USDC, "BTC-USD", true, 0))
        .await
        .unwrap();
    let mut fresh = DePerpReader::new(c.registry);
    assert!(fresh.read(&provider, &[(USDC, 6)]).await.is_err());
    assert_eq!(fresh.addresses(), None);
    mined(
        DataRegistry::new(c.registry, env.owner()).setAddress("FundingRate".into(), c.funding_rate),
    )
    .await;
    let state = fresh.read(&provider, &[(USDC, 6)]).await.unwrap();
    assert_eq!(state.positions.len(), 1);
    assert_eq!(
        state.funding_tracers,
        [(USDC, "BTC-USD".to_string(), I256::ZERO)]
    );

    // A registry with nothing in it.
    let empty = DataRegistry::deploy(env.owner()).await.unwrap();
    let err = reader::read_state(&provider, *empty.address(), &[])
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("has no address for"), "{err:#}");
}

#[tokio::test]
async fn reader_picks_up_a_re_pointed_key_after_the_refresh_interval() {
    let env = Env::start().await;
    let c = &env.contracts;
    let provider = env.reader_provider();
    let assets = [(USDC, 6u8)];
    devnet_perp::set_shield_balance(&env.owner(), c, USDC, U256::from(5u8))
        .await
        .unwrap();
    let mut reader = DePerpReader::new(c.registry);
    let resolved_at = reader.read(&provider, &assets).await.unwrap().block;

    // A second Vault with another shield, and the registry's "Vault" re-pointed at it.
    let other = Vault::deploy(env.owner()).await.unwrap();
    mined(other.setShieldBalance(USDC, U256::from(7u8))).await;
    mined(DataRegistry::new(c.registry, env.owner()).setAddress("Vault".into(), *other.address()))
        .await;

    // Until the interval has passed, every read still goes to the cached Vault.
    let control = DevnetControl::new(env.node.provider());
    let last_cached = resolved_at + REFRESH_BLOCKS - 1;
    control
        .mine_blocks(last_cached - env.head().await)
        .await
        .unwrap();
    let state = reader.read(&provider, &assets).await.unwrap();
    assert_eq!(state.block, last_cached);
    assert_eq!(state.vaults[0].shield, U256::from(5u8));
    assert_eq!(reader.addresses().unwrap().vault, c.vault);

    // One block later the registry is asked again.
    control.mine().await.unwrap();
    let state = reader.read(&provider, &assets).await.unwrap();
    assert_eq!(state.block, resolved_at + REFRESH_BLOCKS);
    assert_eq!(state.vaults[0].shield, U256::from(7u8));
    assert_eq!(reader.addresses().unwrap().vault, *other.address());
    let fresh = reader::read_state(&provider, c.registry, &assets)
        .await
        .unwrap();
    assert_eq!(fresh.vaults, state.vaults);
}

// ---------------------------------------------------------------------------------------
// The devnet scenario

#[tokio::test]
async fn devnet_seed_deploys_and_seeds_the_standard_deperp() {
    use hedgedesk::devnet::Devnet;
    use hedgedesk::devnet::scenario::{DePerpSpec, Scenario, TokenSpec};
    use hedgedesk::perp::risk::{RiskFactors, evaluate};

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
    let mut devnet = Devnet::start(AnvilOptions::default(), store.clone())
        .await
        .unwrap();
    let spec = DePerpSpec::standard();
    let scenario = Scenario::empty()
        .token(TokenSpec::new("usdc", "USD Coin", "USDC", 6, 1_000))
        .deperp(spec.clone());
    devnet.seed(&scenario).await.unwrap();

    let chain_id = devnet.node.chain_id;
    let usdc = devnet.address("token.usdc").unwrap();
    let contracts = devnet_perp::recorded(&store, chain_id)
        .await
        .unwrap()
        .expect("the six deperp.* deployments are in the store");
    for (name, _, _) in devnet_perp::CONTRACTS {
        assert!(
            devnet.deployed.contains_key(name),
            "{name} in Devnet::deployed"
        );
    }
    assert_eq!(
        devnet.address("deperp.registry").unwrap(),
        contracts.registry
    );

    let provider = devnet.node.provider().erased();
    let mut reader = DePerpReader::new(contracts.registry);
    let state = reader.read(&provider, &[(usdc, 6)]).await.unwrap();
    let usdc_units =
        |whole: &str| U256::from(whole.parse::<u64>().unwrap()) * U256::from(1_000_000u64);

    assert_eq!(
        state.vaults,
        [AssetVault {
            asset: usdc,
            decimals: 6,
            vault: U256::from(1_000_000_000_000u64),
            shield: U256::from(100_000_000_000u64),
        }]
    );
    let markets: Vec<Market> = spec.markets.iter().map(|m| m.market.clone()).collect();
    assert_eq!(state.markets, markets);
    assert_eq!(
        state.funding_tracers.len(),
        2,
        "{:?}",
        state.funding_tracers
    );
    for m in &spec.markets {
        assert!(
            state
                .funding_tracers
                .contains(&(usdc, m.market.name.clone(), m.funding_tracer)),
            "{}: {:?}",
            m.market.name,
            state.funding_tracers
        );
    }

    assert_eq!(state.positions.len(), spec.positions.len());
    let mut keys = std::collections::BTreeSet::new();
    for (p, want) in state.positions.iter().zip(&spec.positions) {
        assert_eq!(p.user, devnet.node.address(want.trader));
        assert_eq!(p.asset, usdc);
        assert_eq!(p.market, want.market);
        assert_eq!(p.is_long, want.is_long);
        assert_eq!(p.size, usdc_units(&want.size));
        assert_eq!(p.collateral, usdc_units(&want.collateral));
        assert_eq!(p.price, want.price);
        let tracer = spec
            .markets
            .iter()
            .find(|m| m.market.name == want.market)
            .unwrap()
            .funding_tracer;
        assert_eq!(p.funding_tracer, tracer, "opened at the market's tracer");
        assert!(keys.insert(p.key()), "distinct keys");
    }
    assert!(
        state
            .positions
            .windows(2)
            .all(|w| w[0].timestamp < w[1].timestamp),
        "oldest first"
    );

    // At their entry prices nothing is at risk: no position and no asset is flagged.
    let report = evaluate(
        &state,
        &|market: &str| match market {
            "BTC-USD" => Some(U256::from(6_000_000_000_000u64)),
            "ETH-USD" => Some(U256::from(300_000_000_000u64)),
            _ => None,
        },
        &RiskFactors::default(),
    );
    for row in &report.positions {
        assert_eq!(row.any_flag(), Some(false), "{row:?}");
    }
    for asset in &report.assets {
        assert!(!asset.status.as_ref().unwrap().flags.any(), "{asset:?}");
    }
}
