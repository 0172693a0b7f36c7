//! `hedgedesk pool providers|tiers|policies|quote|reconcile`, run as the real binary: the
//! lists on a real SQLite file seeded through the store's own flows, the quote pinned to
//! the premium model's vector with every bad flag named, and reconcile against the Vault
//! `hedgedesk devnet up` deployed.

mod common;

use std::process::Output;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use common::{ANVIL_ADDR_0, ANVIL_KEY_0, Desk, json_of, refused};
use hedgedesk::config::PoolConfig;
use hedgedesk::pool::model::{PolicyKind, Prices, Token};
use hedgedesk::pool::params::PoolParams;
use hedgedesk::store::Store;
use hedgedesk::store::pool::{EventKey, EventOutcome, NewPolicy, Underwriting, VaultEvent};
use serde_json::{Value, json};

const WBTC: u128 = 100_000_000;
const ETH: u128 = 1_000_000_000_000_000_000;
const DAY: i64 = 86_400_000;
/// 2023-11-14 22:13:20 UTC.
const T0: i64 = 1_700_000_000_000;
const BTC_60K: u128 = 6_000_000_000_000;
const ETH_3K: u128 = 300_000_000_000;

/// The premium model's own pinned vector (src/pool/math/premium.rs): a PUT on 1 BTC at
/// 54,000 USD, BTC at 60,000, 30 days, the default model, the balanced tier (× 1.0).
const PINNED_PREMIUM_USD: u128 = 130_203_838_453;
const PINNED_PREMIUM_SATS: u128 = 2_170_064;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn addr(n: u8) -> Address {
    Address::with_last_byte(n)
}

fn key(n: u8, log_index: u64) -> EventKey {
    EventKey {
        tx_hash: B256::with_last_byte(n),
        log_index,
        block_number: 100 + u64::from(n),
    }
}

fn deposit(provider: Address, token: Token, amount: u128) -> VaultEvent {
    VaultEvent::Deposited {
        provider,
        token,
        amount,
    }
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

// ---------------------------------------------------------------------------------------
// Lists

/// Two balanced providers with 2 and 1 WBTC, a conservative one with 10 ETH; a standard
/// buyer's PUT on 1 BTC at 54,000 (backed by the balanced tier, its premium credited as
/// yield), a CALL that expired, and a health check at 60,000 / 3,000.
fn seed_books(desk: &Desk) {
    runtime().block_on(async {
        let store = Store::open(&desk.db(), Duration::from_secs(5)).unwrap();
        let params = PoolParams::from_config(&PoolConfig::default()).unwrap();
        store
            .pool_sync_tiers(params.tiers.clone(), T0)
            .await
            .unwrap();
        let apply = |k, ev| {
            let store = store.clone();
            async move {
                store
                    .pool_apply_event(k, ev, "balanced".into(), T0)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            apply(key(1, 0), deposit(addr(1), Token::Wbtc, 2 * WBTC)).await,
            EventOutcome::Applied
        );
        assert_eq!(
            apply(key(1, 1), deposit(addr(2), Token::Wbtc, WBTC)).await,
            EventOutcome::Applied
        );
        store
            .pool_register_provider(addr(3), "conservative".into(), T0)
            .await
            .unwrap();
        assert_eq!(
            apply(key(2, 0), deposit(addr(3), Token::Eth, 10 * ETH)).await,
            EventOutcome::Applied
        );
        let underwriting = Underwriting {
            backing_tiers: params.backing_tiers("standard").unwrap().to_vec(),
            prices: Prices {
                btc_usd: BTC_60K,
                eth_usd: ETH_3K,
            },
            premium: params.premium,
        };
        let policy = |idem: &str, kind, strike_usd, amount_sats, expires_at_ms| NewPolicy {
            idem_key: idem.into(),
            kind,
            buyer: addr(0xb0),
            buyer_tier: "standard".into(),
            token: Token::Wbtc,
            strike_usd,
            amount_sats,
            expires_at_ms,
            premium: None,
        };
        let put = store
            .pool_create_policy(
                policy(
                    "put-1",
                    PolicyKind::Put,
                    5_400_000_000_000,
                    100_000_000,
                    T0 + 30 * DAY,
                ),
                underwriting.clone(),
                T0,
            )
            .await
            .unwrap();
        let put_id = put.book().policy.id;
        let call = store
            .pool_create_policy(
                policy(
                    "call-1",
                    PolicyKind::Call,
                    6_600_000_000_000,
                    10_000_000,
                    T0 + DAY,
                ),
                underwriting,
                T0,
            )
            .await
            .unwrap();
        let call_id = call.book().policy.id;
        store.pool_expire_policy(call_id, T0 + DAY).await.unwrap();
        assert!(store.pool_accrue_yield(put_id, T0 + DAY).await.unwrap());
        store
            .pool_health_check(
                Some(Prices {
                    btc_usd: BTC_60K,
                    eth_usd: ETH_3K,
                }),
                DAY,
                T0 + DAY,
            )
            .await
            .unwrap();
    });
}

#[test]
fn providers_tiers_and_policies_from_the_books() {
    let desk = Desk::new("pool_cli_lists");
    // An empty store first: the lists say so.
    assert_eq!(
        stdout(&desk.run(&["pool", "providers"])),
        "no providers in the books\n"
    );
    assert_eq!(stdout(&desk.run(&["pool", "policies"])), "no policies\n");
    assert_eq!(
        json_of(&desk.run(&["pool", "providers", "--json"])),
        json!([])
    );
    // The configured tiers show before the desk synced them, with nothing in them.
    let tiers = json_of(&desk.run(&["pool", "tiers", "--json"]));
    assert_eq!(tiers.as_array().unwrap().len(), 6, "{tiers}");
    assert_eq!(tiers[0]["tier"], "conservative");
    assert_eq!(tiers[0]["capital"], "0");

    seed_books(&desk);

    // providers --json: exact base units.
    let providers = json_of(&desk.run(&["pool", "providers", "--json"]));
    let list = providers.as_array().unwrap();
    assert_eq!(list.len(), 3);
    let a = &list[0];
    assert_eq!(a["address"], addr(1).to_checksum(None));
    assert_eq!(a["tier"], "balanced");
    // 1.215 WBTC locked for the PUT (135% of 54,000 USD at 60,000), 2 : 1 by available
    // capital; the premium's shares credited as yield.
    assert_eq!(
        a["balances"]["wbtc"],
        json!({
            "decimals": 8,
            "total": "200000000",
            "available": "119000000",
            "locked": "81000000",
            "accrued_yield": "1446709",
        })
    );
    assert_eq!(a["balances"]["eth"]["total"], "0");
    assert_eq!(a["status"], "healthy");
    assert_eq!(a["status_since_ms"], T0, "healthy since the account opened");
    assert_eq!(a["last_check_ms"], T0 + DAY);
    let ratio = a["health_ratio_bps"].as_u64().unwrap();
    assert!(ratio >= 13_500, "{a}");
    let b = &list[1];
    assert_eq!(b["balances"]["wbtc"]["locked"], "40500000");
    assert_eq!(b["balances"]["wbtc"]["accrued_yield"], "723355");
    let c = &list[2];
    assert_eq!(c["tier"], "conservative");
    assert_eq!(c["balances"]["eth"]["total"], (10 * ETH).to_string());
    assert_eq!(c["health_ratio_bps"], json!(null), "backs nothing");

    // providers: whole tokens in a table.
    let text = stdout(&desk.run(&["pool", "providers"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    for header in [
        "ADDRESS",
        "TIER",
        "TOKEN",
        "TOTAL",
        "AVAILABLE",
        "LOCKED",
        "YIELD",
        "RATIO",
        "STATUS",
        "SINCE",
    ] {
        assert!(lines[0].contains(header), "{text}");
    }
    let words = |line: &str| {
        line.split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let row_a = words(lines[1]);
    assert_eq!(
        row_a[..7],
        [
            addr(1).to_checksum(None),
            "balanced".into(),
            "WBTC".into(),
            "2".into(),
            "1.19".into(),
            "0.81".into(),
            "0.01446709".into(),
        ]
    );
    assert!(row_a[7].ends_with('%') && row_a[8] == "healthy", "{text}");
    let row_c = words(lines[3]);
    assert_eq!(
        row_c,
        [
            addr(3).to_checksum(None),
            "conservative".into(),
            "ETH".into(),
            "10".into(),
            "10".into(),
            "0".into(),
            "0".into(),
            "-".into(),
            "healthy".into(),
            "2023-11-14".into(),
            "22:13".into(),
        ]
    );

    // tiers: per tier and token.
    let tiers = json_of(&desk.run(&["pool", "tiers", "--json"]));
    let balanced_wbtc = tiers
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tier"] == "balanced" && t["token"] == "wbtc")
        .unwrap();
    assert_eq!(
        *balanced_wbtc,
        json!({
            "tier": "balanced",
            "configured": true,
            "token": "wbtc",
            "decimals": 8,
            "collateral_ratio_bps": 13_500,
            "warning_ratio_bps": 13_500,
            "margin_call_ratio_bps": 12_000,
            "premium_multiplier": "1.0",
            "capital": "300000000",
            "locked": "121500000",
            "available": "178500000",
            "utilisation_bps": 4_050,
            "providers": 2,
            "active_policies": 1,
            "yield_accrued": "2170064",
            "capacity_limit": null,
        })
    );
    let text = stdout(&desk.run(&["pool", "tiers"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "{text}");
    assert_eq!(
        words(lines[0]),
        [
            "TIER",
            "TOKEN",
            "RATIO",
            "CAPITAL",
            "LOCKED",
            "UTILISATION",
            "PROVIDERS",
            "POLICIES",
            "YIELD",
            "CAPACITY"
        ]
    );
    let balanced = lines
        .iter()
        .find(|l| l.starts_with("balanced") && l.contains("WBTC"))
        .unwrap();
    assert_eq!(
        words(balanced),
        [
            "balanced",
            "WBTC",
            "135.00%",
            "3",
            "1.215",
            "40.50%",
            "2",
            "1",
            "0.02170064",
            "no",
            "limit"
        ]
    );
    let conservative_eth = lines
        .iter()
        .find(|l| l.starts_with("conservative") && l.contains("ETH"))
        .unwrap();
    assert_eq!(
        words(conservative_eth)[..8],
        [
            "conservative",
            "ETH",
            "125.00%",
            "10",
            "0",
            "0.00%",
            "1",
            "0"
        ]
    );

    // policies: newest first; --status; --limit.
    let policies = json_of(&desk.run(&["pool", "policies", "--json"]));
    let list = policies.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["kind"], "CALL");
    assert_eq!(list[0]["status"], "expired");
    let put = &list[1];
    assert_eq!(put["kind"], "PUT");
    assert_eq!(put["status"], "active");
    assert_eq!(put["strike_usd_e8"], "5400000000000");
    assert_eq!(put["amount_sats"], 100_000_000);
    assert_eq!(put["premium"], PINNED_PREMIUM_SATS.to_string());
    assert_eq!(put["token"], "wbtc");
    assert_eq!(put["tier"], "balanced");
    assert_eq!(put["buyer"], addr(0xb0).to_checksum(None));
    assert_eq!(put["expires_at_ms"], T0 + 30 * DAY);
    assert_eq!(put["collateral_locked"], "121500000");

    let active = json_of(&desk.run(&["pool", "policies", "--status", "active", "--json"]));
    assert_eq!(active.as_array().unwrap().len(), 1);
    assert_eq!(active[0]["kind"], "PUT");
    let one = json_of(&desk.run(&["pool", "policies", "--limit", "1", "--json"]));
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["kind"], "CALL");
    assert_eq!(
        stdout(&desk.run(&["pool", "policies", "--status", "settled"])),
        "no settled policies\n"
    );

    let text = stdout(&desk.run(&["pool", "policies", "--status", "active"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        words(lines[0]),
        [
            "ID", "KIND", "STRIKE", "USD", "AMOUNT", "BTC", "PREMIUM", "TOKEN", "EXPIRY", "BUYER",
            "TIER", "STATUS"
        ]
    );
    assert_eq!(
        words(lines[1]),
        [
            put["id"].to_string(),
            "PUT".into(),
            "54,000.00".into(),
            "1".into(),
            "0.02170064".into(),
            "WBTC".into(),
            "2023-12-14".into(),
            "22:13".into(),
            addr(0xb0).to_checksum(None),
            "balanced".into(),
            "active".into(),
        ]
    );

    // A bad --status is refused by the parser, naming the flag.
    let out = desk.run(&["pool", "policies", "--status", "open"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--status"));
}

// ---------------------------------------------------------------------------------------
// Quote

fn quote(args: &[&str]) -> Output {
    // The quote reads the config (defaults when there is none) and nothing else: no store.
    common::run_unconfigured(&[&["pool", "quote"], args].concat())
}

const PINNED_PUT: [&str; 10] = [
    "--kind", "put", "--strike", "54000", "--amount", "1", "--expiry", "30d", "--price", "60000",
];

/// [`PINNED_PUT`] with `flag` set to `value` (replaced, or added).
fn with(flag: &str, value: &str) -> Vec<String> {
    let mut args: Vec<String> = PINNED_PUT.iter().map(|s| s.to_string()).collect();
    match args.iter().position(|a| a == flag) {
        Some(i) => args[i + 1] = value.into(),
        None => args.extend([flag.to_string(), value.to_string()]),
    }
    args
}

fn quote_with(flag: &str, value: &str) -> Output {
    let args = with(flag, value);
    quote(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn quote_pins_the_premium_model_vector() {
    let v = json_of(&quote(&[&PINNED_PUT[..], &["--json"]].concat()));
    assert_eq!(v["premium_usd_e8"], PINNED_PREMIUM_USD.to_string());
    assert_eq!(v["premium"], PINNED_PREMIUM_SATS.to_string());
    assert_eq!(
        v["inputs"],
        json!({
            "kind": "PUT",
            "strike_usd_e8": "5400000000000",
            "amount_sats": 100_000_000,
            "expiry_secs": 2_592_000,
            "btc_usd_e8": "6000000000000",
            "eth_usd_e8": null,
            "tier": "balanced",
            "token": "wbtc",
        })
    );
    assert_eq!(
        v["model"],
        json!({
            "volatility": "0.5",
            "risk_free_rate": "0.02",
            "risk_loading": "0.01",
            "market_adjustment": "1.2",
            "tier_multiplier": "1.0",
        })
    );
    // fair ≈ 1074.29 USD per BTC (the closed form with an exact Φ: 1074.2893).
    let fair: f64 = v["fair_per_btc_usd"].as_str().unwrap().parse().unwrap();
    assert!((fair - 1074.2893).abs() < 0.01, "{fair}");
    // 54,000 USD × 135% = 72,900 USD = 1.215 WBTC at 60,000.
    assert_eq!(
        v["collateral"],
        json!({
            "tier": "balanced",
            "collateral_ratio_bps": 13_500,
            "coverage_usd_e8": "5400000000000",
            "locked": "121500000",
            "token": "wbtc",
        })
    );
    // The same in seconds.
    let secs = json_of(&quote(
        &[
            &with("--expiry", "2592000")
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()[..],
            &["--json"],
        ]
        .concat(),
    ));
    assert_eq!(secs["premium_usd_e8"], PINNED_PREMIUM_USD.to_string());

    // The table says the same for people.
    let out = quote(&PINNED_PUT);
    let text = stdout(&out);
    assert!(
        text.contains("PUT on 1 BTC at strike 54,000.00 USD, expiring in 30d (2,592,000 s)"),
        "{text}"
    );
    assert!(text.contains("fair value  1,074.29 USD per BTC"), "{text}");
    assert!(
        text.contains("premium     1,302.03838453 USD = 0.02170064 WBTC"),
        "{text}"
    );
    assert!(
        text.contains("collateral  1.215 WBTC locked by tier balanced"),
        "{text}"
    );

    // The aggressive tier (× 1.2, 155%) and a premium in ETH at 3,000 USD.
    let mut args = with("--tier", "aggressive");
    args.extend(["--token", "eth", "--eth-price", "3000", "--json"].map(String::from));
    let v = json_of(&quote(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    let usd = (PINNED_PREMIUM_USD * 12).div_ceil(10);
    assert_eq!(v["premium_usd_e8"], usd.to_string());
    assert_eq!(
        v["premium"],
        (usd * 10u128.pow(18)).div_ceil(ETH_3K).to_string()
    );
    assert_eq!(v["model"]["tier_multiplier"], "1.2");
    // 54,000 × 155% = 83,700 USD = 27.9 ETH.
    assert_eq!(v["collateral"]["locked"], (279 * ETH / 10).to_string());
    assert_eq!(v["inputs"]["eth_usd_e8"], ETH_3K.to_string());
}

#[test]
fn quote_names_every_bad_flag_and_exits_2() {
    let cases: &[(&str, &str, &str)] = &[
        ("--kind", "straddle", "kind"),
        ("--strike", "-54000", "strike"),
        ("--strike", "0", "strike"),
        ("--strike", "54000.123456789", "strike"),
        ("--strike", "lots", "strike"),
        ("--strike", "999999999999999999999", "strike"),
        ("--amount", "0", "amount"),
        ("--amount", "0.000000001", "amount"),
        ("--amount", "-1", "amount"),
        ("--amount", "200000000000", "amount"),
        ("--expiry", "0", "expiry"),
        ("--expiry", "30x", "expiry"),
        ("--expiry", "1.5d", "expiry"),
        ("--expiry", "40000d", "expiry"),
        ("--price", "0", "price"),
        ("--price", "sixty", "price"),
        ("--tier", "gold", "tier"),
        ("--token", "usdc", "token"),
        ("--token", "eth", "eth_price"),
        ("--eth-price", "0", "eth_price"),
    ];
    for (flag, value, field) in cases {
        let line = refused(&quote_with(flag, value));
        assert!(
            line.starts_with(&format!("error: {field}: ")),
            "{flag} {value}: {line}"
        );
    }
    assert_eq!(
        refused(&quote_with("--tier", "gold")),
        "error: tier: no provider tier 'gold' in [pool] (configured: conservative, balanced, aggressive)"
    );
    assert_eq!(
        refused(&quote_with("--strike", "0")),
        "error: strike: must be above zero"
    );
}

// ---------------------------------------------------------------------------------------
// Reconcile

/// A signing provider for anvil's account 0 (the Vault's deployer, admin and backend, and
/// the WBTC token's owner).
fn dev0(rpc: &str) -> alloy::providers::DynProvider {
    use alloy::providers::{Provider, ProviderBuilder};
    let signer: alloy::signers::local::PrivateKeySigner = ANVIL_KEY_0.parse().unwrap();
    ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(signer))
        .connect_http(rpc.parse().unwrap())
        .erased()
}

fn reconcile(desk: &Desk, json: bool) -> Output {
    let mut args = vec!["pool", "reconcile"];
    if json {
        args.push("--json");
    }
    let out = desk.run(&args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn reconcile_json(desk: &Desk) -> (i32, Value) {
    let out = reconcile(desk, true);
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).expect("JSON"),
    )
}

fn token<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["token"] == name)
        .unwrap()
}

#[test]
fn reconcile_compares_the_vault_with_the_books_and_never_corrects_them() {
    let desk = Desk::new("pool_cli_reconcile");
    let (_devnet, up) = common::devnet_up(&desk);
    let rpc = up["rpc_url"].as_str().unwrap().to_string();
    let vault: Address = up["contracts"]["pool.vault"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let wbtc: Address = up["contracts"]["token.wbtc"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    std::fs::write(
        &desk.config,
        format!(
            "[chains.devnet]\nchain_id = 31337\nconfirmations = 0\npoll_interval_ms = 100\n\
             [[chains.devnet.endpoints]]\nname = \"anvil\"\nurl = \"{rpc}\"\nws_url = \"\"\n"
        ),
    )
    .unwrap();

    // A fresh Vault and empty books agree.
    let (code, v) = reconcile_json(&desk);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["agrees"], true);
    assert_eq!(v["vault"], vault.to_checksum(None));
    assert_eq!(v["chain_id"], 31337);

    // Deposits the desk never saw: the Vault holds more than the books.
    let rt = runtime();
    let dev0_addr: Address = ANVIL_ADDR_0.parse().unwrap();
    rt.block_on(async {
        use hedgedesk::chain::contracts::TestToken;
        use hedgedesk::devnet::pool;
        let wallet = dev0(&rpc);
        pool::deposit_eth(&wallet, vault, U256::from(3 * ETH / 2))
            .await
            .unwrap();
        TestToken::new(wbtc, &wallet)
            .mint(dev0_addr, U256::from(WBTC / 2))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        pool::deposit_wbtc(&wallet, vault, wbtc, U256::from(WBTC / 2))
            .await
            .unwrap();
    });
    let (code, v) = reconcile_json(&desk);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["agrees"], false);
    assert_eq!(v["disagreeing"], json!(["eth", "wbtc"]));
    assert_eq!(
        *token(&v, "eth"),
        json!({
            "token": "eth",
            "decimals": 18,
            "onchain_total": (3 * ETH / 2).to_string(),
            "books_total": "0",
            "total_difference": (3 * ETH / 2).to_string(),
            "onchain_locked": "0",
            "books_locked_onchain": "0",
            "locked_difference": "0",
            "books_locked": "0",
            "agrees": false,
        })
    );
    assert_eq!(
        token(&v, "wbtc")["total_difference"],
        (WBTC / 2).to_string()
    );
    let block = v["block"].as_u64().unwrap();

    let out = reconcile(&desk, false);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "Vault {} on devnet (chain 31337)",
            vault.to_checksum(None)
        )),
        "{text}"
    );
    let eth_row = text.lines().find(|l| l.starts_with("ETH ")).unwrap();
    assert_eq!(
        eth_row.split_whitespace().collect::<Vec<_>>(),
        ["ETH", "1.5", "0", "+1.5", "0", "0", "0", "0", "MISMATCH"]
    );
    assert!(
        text.contains(
            "ETH: the Vault holds 1.5 ETH, the providers' books add up to 0 ETH (difference +1.5 ETH)"
        ),
        "{text}"
    );
    assert!(text.contains("WBTC: the Vault holds 0.5 WBTC"), "{text}");
    assert!(
        text.contains("ETH and WBTC disagree with the books; nothing was corrected"),
        "{text}"
    );

    // The Vault's totals were recorded as the store's mirror; the books are untouched.
    let store = Store::open(&desk.db(), Duration::from_secs(5)).unwrap();
    rt.block_on(async {
        let metrics = store.pool_metrics().await.unwrap();
        let eth = metrics.iter().find(|m| m.token == Token::Eth).unwrap();
        assert_eq!(
            (eth.onchain_total, eth.books_total, eth.last_block),
            (3 * ETH / 2, 0, Some(block))
        );
        assert!(store.pool_providers().await.unwrap().is_empty());
    });

    // The desk applies the ETH deposit: only WBTC disagrees.
    rt.block_on(async {
        let params = PoolParams::from_config(&PoolConfig::default()).unwrap();
        store.pool_sync_tiers(params.tiers, T0).await.unwrap();
        let applied = store
            .pool_apply_event(
                key(1, 0),
                deposit(dev0_addr, Token::Eth, 3 * ETH / 2),
                "balanced".into(),
                T0,
            )
            .await
            .unwrap();
        assert_eq!(applied, EventOutcome::Applied);
    });
    let (code, v) = reconcile_json(&desk);
    assert_eq!(code, 1);
    assert_eq!(v["disagreeing"], json!(["wbtc"]));
    assert_eq!(token(&v, "eth")["agrees"], true);
    let out = reconcile(&desk, false);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("WBTC disagrees with the books; nothing was corrected"),
        "{text}"
    );
    assert!(!text.contains("ETH: the Vault"), "{text}");

    // And the WBTC one: everything agrees.
    rt.block_on(async {
        store
            .pool_apply_event(
                key(2, 0),
                deposit(dev0_addr, Token::Wbtc, WBTC / 2),
                "balanced".into(),
                T0,
            )
            .await
            .unwrap();
    });
    let (code, v) = reconcile_json(&desk);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["disagreeing"], json!([]));
    let out = reconcile(&desk, false);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("every token agrees with the books")
    );

    // A lock the books know nothing of is a locked-total mismatch, until it is released.
    let lock = |locking: bool| {
        rt.block_on(async {
            let wallet = dev0(&rpc);
            let amount = U256::from(WBTC / 10);
            if locking {
                hedgedesk::devnet::pool::lock(&wallet, vault, &[7], amount, wbtc).await
            } else {
                hedgedesk::devnet::pool::release(&wallet, vault, &[7], amount, wbtc).await
            }
            .unwrap();
        })
    };
    lock(true);
    let (code, v) = reconcile_json(&desk);
    assert_eq!(code, 1);
    assert_eq!(v["disagreeing"], json!(["wbtc"]));
    let w = token(&v, "wbtc");
    assert_eq!(
        (
            &w["onchain_locked"],
            &w["books_locked_onchain"],
            &w["locked_difference"],
            &w["total_difference"]
        ),
        (
            &json!((WBTC / 10).to_string()),
            &json!("0"),
            &json!((WBTC / 10).to_string()),
            &json!("0")
        )
    );
    lock(false);
    assert_eq!(reconcile_json(&desk).0, 0);
}

#[test]
fn reconcile_without_a_vault_says_what_is_missing() {
    let desk = Desk::new("pool_cli_reconcile_no_vault");
    // No deployment recorded and no address configured: named, exit 1, nothing read.
    let out = desk.run(&["pool", "reconcile"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pool.vault: no deployment \"pool.vault\" recorded for chain 31337"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

// ---------------------------------------------------------------------------------------
// Deposit

/// `pool deposit` on a desk whose Vault and WBTC are configured addresses (no node: the
/// command only prepares).
fn deposit_desk(name: &str) -> Desk {
    let desk = Desk::new(name);
    std::fs::write(
        &desk.config,
        format!(
            "[pool]\nvault = \"{}\"\nwbtc = \"{}\"\n\n{}",
            Address::repeat_byte(0xaa),
            Address::repeat_byte(0xbb),
            // The conservative tier takes at most 2 WBTC.
            PoolConfig::default()
                .tiers
                .iter()
                .map(|t| format!(
                    "[[pool.tiers]]\nname = \"{}\"\ncollateral_ratio_bps = {}\nwarning_ratio_bps = \
                     {}\nmargin_call_ratio_bps = {}\npremium_multiplier = \"{}\"\ncapacity_eth = \
                     \"0\"\ncapacity_wbtc = \"{}\"\n\n",
                    t.name,
                    t.collateral_ratio_bps,
                    t.warning_ratio_bps,
                    t.margin_call_ratio_bps,
                    t.premium_multiplier,
                    if t.name == "conservative" { "2" } else { "0" }
                ))
                .collect::<String>()
        ),
    )
    .unwrap();
    desk
}

#[test]
fn deposit_prepares_the_transactions_to_sign_in_the_providers_tier() {
    let desk = deposit_desk("pool_cli_deposit");
    let who = addr(7).to_checksum(None);

    // Bad flags are named, exit 2, and not even the store is created.
    for (args, field) in [
        (
            vec!["--provider", "0x12", "--token", "eth", "--amount", "1"],
            "error: provider:",
        ),
        (
            vec!["--provider", &who, "--token", "doge", "--amount", "1"],
            "error: token:",
        ),
        (
            vec![
                "--provider",
                &who,
                "--token",
                "wbtc",
                "--amount",
                "0.000000001",
            ],
            "error: amount:",
        ),
        (
            vec!["--provider", &who, "--token", "eth", "--amount", "0"],
            "error: amount:",
        ),
        (
            vec![
                "--provider",
                &who,
                "--token",
                "eth",
                "--amount",
                "1",
                "--tier",
                "gold",
            ],
            "error: tier: no [[pool.tiers]] named 'gold' (configured: conservative, balanced, \
             aggressive)",
        ),
    ] {
        let mut all = vec!["pool", "deposit"];
        all.extend(args.iter().copied());
        let line = refused(&desk.run(&all));
        assert!(line.starts_with(field), "{args:?}: {line}");
    }
    assert!(!desk.db().exists());

    // WBTC: the approval, then the deposit; the provider joins the tier asked for.
    let out = desk.run(&[
        "pool",
        "deposit",
        "--provider",
        &who,
        "--token",
        "wbtc",
        "--amount",
        "1.5",
        "--tier",
        "conservative",
    ]);
    let text = stdout(&out);
    let amount = format!("{:064x}", 150_000_000u128);
    let vault = format!("{:0>64}", "aa".repeat(20));
    let wbtc = format!("{:0>64}", "bb".repeat(20));
    assert_eq!(
        text,
        format!(
            "deposit of 1.5 WBTC by {who} into tier conservative: sign and send, in order, from \
             that address on chain 31337:\n  \
             1. allow the vault to take 1.5 WBTC\n     to    {}\n     value 0\n     data  \
             0x095ea7b3{vault}{amount}\n  \
             2. deposit 1.5 WBTC into the vault\n     to    {}\n     value 0\n     data  \
             0xf785de23{amount}{wbtc}\n\
             The books credit it when the Vault's FundsDeposited event is confirmed.\n",
            Address::repeat_byte(0xbb).to_checksum(None),
            Address::repeat_byte(0xaa).to_checksum(None),
        )
    );
    let store = Store::open(&desk.db(), Duration::from_secs(5)).unwrap();
    let rt = runtime();
    let p = rt.block_on(store.pool_provider(addr(7))).unwrap().unwrap();
    assert_eq!(p.tier, "conservative");
    assert_eq!(
        p.balance(Token::Wbtc).total,
        0,
        "credited only by the event"
    );

    // Once the event credited it, the tier's capacity refuses more than it has left.
    rt.block_on(store.pool_apply_event(
        key(1, 0),
        deposit(addr(7), Token::Wbtc, 3 * WBTC / 2),
        "balanced".into(),
        T0,
    ))
    .unwrap();
    let out = desk.run(&[
        "pool",
        "deposit",
        "--provider",
        &who,
        "--token",
        "wbtc",
        "--amount",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "refused: tier conservative holds 1.5 WBTC of its 2 WBTC capacity; a deposit of 1 WBTC \
         would exceed it\n"
    );

    // ETH as JSON: one call carrying the amount as value; a new provider joins the default.
    let other = addr(8).to_checksum(None);
    let v = json_of(&desk.run(&[
        "pool",
        "deposit",
        "--provider",
        &other,
        "--token",
        "eth",
        "--amount",
        "2",
        "--json",
    ]));
    assert_eq!(v["tier"], "balanced");
    assert_eq!(v["amount"], (2 * ETH).to_string());
    assert_eq!(v["chainId"], 31337);
    let txs = v["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0]["from"], other);
    assert_eq!(txs[0]["to"], Address::repeat_byte(0xaa).to_checksum(None));
    assert_eq!(txs[0]["value"], (2 * ETH).to_string());
    assert_eq!(
        txs[0]["data"],
        format!("0xf785de23{:064x}{}", 2 * ETH, "0".repeat(64))
    );
    let journal = rt.block_on(store.pool_journal(10)).unwrap();
    assert_eq!(
        journal[0].detail,
        "prepared 2 ETH into tier balanced for the provider to sign"
    );
}
