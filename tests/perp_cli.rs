//! `hedgedesk perp risk`, run as the real binary.

mod common;

use std::process::Output;

use common::{json_of, refused};
use serde_json::{Value, json};

fn risk(args: &[&str]) -> Output {
    // The what-if reads no config.
    common::run_unconfigured(&[&["perp", "risk"], args].concat())
}

/// 1,000,000 USDC vault, 50,000 USDC shield.
const VAULT: [&str; 4] = ["--vault", "1000000000000", "--shield", "50000000000"];

/// A 1,000,000 USDC BTC long from 60,000.
const BTC_LONG: &str = r#"{"market":"BTC-USD","is_long":true,"size":"1000000000000","price":"60000","funding_tracer":"100"}"#;

/// [`VAULT`] and `extra`.
fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    [&VAULT[..], extra].concat()
}

/// A vault and shield of one base unit each, and `extra`: for inputs refused before any
/// amount matters.
fn tiny<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    [&["--vault", "1", "--shield", "1"][..], extra].concat()
}

fn flags(v: &Value) -> Vec<(String, bool)> {
    v["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["flag"].as_str().unwrap().to_string(),
                f["set"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_profitable_long_sets_every_flag_with_its_numbers() {
    // +6 %: +60,000 price PnL; the tracer up 10 costs the long 1,000: PnL 59,000 USDC.
    let v = json_of(&risk(&with(&[
        "--position",
        BTC_LONG,
        "--price",
        "BTC-USD=63600",
        "--funding-tracer",
        "BTC-USD=110",
    ])));
    let p = &v["positions"][0];
    assert_eq!(p["status"], "evaluated");
    assert_eq!(p["side"], "long");
    assert_eq!(p["price"], "63600");
    assert_eq!(p["price_pnl"], "60000000000");
    assert_eq!(p["funding_fee"], "1000000000");
    assert_eq!(p["pnl"], "59000000000");
    assert_eq!(p["remaining"], "991000000000");
    assert_eq!(p["funding_tracer_now"], "110");
    assert_eq!(p["any_flag"], true);
    assert_eq!(
        p["flags"],
        json!([
            {
                "flag": "vault_drawdown",
                "set": true,
                "reason": "vault drawdown: vault 1,000,000.00 × 1 > remaining 991,000.00",
            },
            {
                "flag": "shield_pnl",
                "set": true,
                "reason": "shield PnL risk: shield 50,000.00 − pnl 59,000.00 = -9,000.00 ≤ 0",
            },
            {
                "flag": "profit_limit",
                "set": true,
                "reason": "profit limit: vault 1,000,000.00 × 1 × 0.4 > remaining 991,000.00 × 0.4",
            },
        ])
    );
    assert_eq!(v["asset"]["total_pnl"], "59000000000");
    assert_eq!(v["asset"]["positions"], 1);
    assert_eq!(v["asset"]["unevaluated"], 0);
    assert_eq!(
        v["factors"],
        json!({"vault_factor": "1", "vault_profit_limit_factor": "1", "profit_limit_interest": "0.4"})
    );
}

#[test]
fn positions_are_flagged_alone_and_the_asset_on_their_sum() {
    // Two longs of +30,000 each: neither reaches the 50,000 shield alone; together they do.
    let eth = r#"{"market":"ETH-USD","is_long":true,"size":"1000000000000","price":"3000"}"#;
    let short = r#"{"market":"SOL-USD","is_long":false,"size":"5000000","price":"100"}"#;
    let v = json_of(&risk(&with(&[
        "--position",
        BTC_LONG,
        eth,
        "--position",
        short,
        "--price",
        "BTC-USD=61800",
        "--price",
        "ETH-USD=3090",
    ])));
    let positions = v["positions"].as_array().unwrap();
    assert_eq!(positions.len(), 3);
    for p in &positions[..2] {
        assert_eq!(p["pnl"], "30000000000", "{p}");
        assert_eq!(p["any_flag"], false);
    }
    // No price: explicit, and not valued as safe.
    assert_eq!(positions[2]["status"], "no price");
    assert_eq!(positions[2]["any_flag"], Value::Null);
    assert!(positions[2].get("flags").is_none());
    assert_eq!(positions[2]["side"], "short");

    let asset = &v["asset"];
    assert_eq!(asset["total_pnl"], "60000000000");
    assert_eq!(asset["unevaluated"], 1);
    assert_eq!(
        flags(asset),
        [
            ("vault_drawdown".to_string(), true),
            ("shield_pnl".to_string(), true),
            ("profit_limit".to_string(), true),
        ]
    );
}

#[test]
fn factors_move_the_thresholds() {
    // PnL 59,000: remaining 991,000. Drawdown at 0.99 needs remaining < 990,000: not set.
    // Profit limit at 1.0095: 1,009,500 × 0.4 > 991,000 × 0.4: set.
    let v = json_of(&risk(&with(&[
        "--position",
        BTC_LONG,
        "--price",
        "BTC-USD=63600",
        "--funding-tracer",
        "BTC-USD=110",
        "--vault-factor",
        "0.99",
        "--vault-profit-limit-factor",
        "1.0095",
        "--profit-limit-interest",
        "0.25",
    ])));
    let p = &v["positions"][0];
    assert_eq!(
        flags(p),
        [
            ("vault_drawdown".to_string(), false),
            ("shield_pnl".to_string(), true),
            ("profit_limit".to_string(), true),
        ]
    );
    assert_eq!(
        p["flags"][0]["reason"],
        "vault drawdown: vault 1,000,000.00 × 0.99 ≤ remaining 991,000.00"
    );
    assert_eq!(
        p["flags"][2]["reason"],
        "profit limit: vault 1,000,000.00 × 1.0095 × 0.25 > remaining 991,000.00 × 0.25"
    );
}

#[test]
fn without_a_funding_tracer_there_is_no_funding_fee_and_decimals_change_the_reasons() {
    let v = json_of(&risk(&[
        "--vault",
        "1000000000000000000000",
        "--shield",
        "0",
        "--decimals",
        "18",
        "--position",
        r#"{"market":"BTC-USD","is_long":false,"size":1000,"price":2,"funding_tracer":-5}"#,
        "--price",
        "BTC-USD=1",
    ]));
    let p = &v["positions"][0];
    assert_eq!(p["funding_fee"], "0");
    assert_eq!(p["price_pnl"], "500");
    assert_eq!(
        p["flags"][1]["reason"],
        "shield PnL risk: shield 0.00 − pnl 0.0000000000000005 = -0.0000000000000005 ≤ 0"
    );
    assert_eq!(v["asset"]["decimals"], 18);
}

#[test]
fn bad_inputs_name_the_field_and_exit_2() {
    let cases: [(Vec<&str>, &str); 12] = [
        (
            vec!["--vault", "1.5", "--shield", "0", "--position", BTC_LONG],
            "error: vault: a whole number of base units (decimal digits), got '1.5'",
        ),
        (
            vec!["--vault", "1", "--shield", "-3", "--position", BTC_LONG],
            "error: shield: a whole number of base units (decimal digits), got '-3'",
        ),
        (
            tiny(&["--position", "{"]),
            "error: position[0]: not JSON: EOF while parsing an object at line 1 column 1",
        ),
        (
            tiny(&[
                "--position",
                r#"{"market":"BTC-USD","is_long":true,"price":"1"}"#,
            ]),
            "error: position[0].size: missing",
        ),
        (
            tiny(&[
                "--position",
                BTC_LONG,
                r#"{"market":"BTC-USD","is_long":"yes","size":"1","price":"1"}"#,
            ]),
            "error: position[1].is_long: true or false, got \"yes\"",
        ),
        (
            tiny(&[
                "--position",
                r#"{"market":"BTC-USD","is_long":true,"size":"1","price":"1","leverage":"10"}"#,
            ]),
            "error: position[0].leverage: unknown field; known are user, asset, market, is_long, size, collateral, funding_tracer, price, timestamp",
        ),
        (
            tiny(&[
                "--position",
                r#"{"market":"BTC-USD","is_long":true,"size":1.5,"price":"1"}"#,
            ]),
            "error: position[0].size: a whole number as a decimal string, got 1.5",
        ),
        (
            tiny(&[
                "--position",
                r#"{"market":"BTC-USD","is_long":true,"size":"1","price":"0"}"#,
                "--price",
                "BTC-USD=1",
            ]),
            "error: position[0].price: the entry price is zero",
        ),
        (
            tiny(&["--position", BTC_LONG, "--price", "BTC-USD"]),
            "error: price: MARKET=VALUE, got 'BTC-USD'",
        ),
        (
            tiny(&[
                "--position",
                BTC_LONG,
                "--price",
                "BTC-USD=1",
                "--price",
                "BTC-USD=2",
            ]),
            "error: price: BTC-USD given twice",
        ),
        (
            tiny(&["--position", BTC_LONG, "--profit-limit-interest", "-0.4"]),
            "error: profit_limit_interest: must not be negative, got -0.4",
        ),
        (
            tiny(&["--position", BTC_LONG, "--decimals", "x"]),
            "error: decimals: a whole number from 0 to 77, got 'x'",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(refused(&risk(&args)), expected, "{args:?}");
    }
}

#[test]
fn overflow_is_an_error_naming_the_field() {
    let huge = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    let line = refused(&risk(&[
        "--vault",
        huge,
        "--shield",
        "0",
        "--position",
        BTC_LONG,
    ]));
    assert_eq!(line, "error: vault: arithmetic overflow");

    let position = format!(
        r#"{{"market":"BTC-USD","is_long":true,"size":"{}","price":"1"}}"#,
        &huge[..76]
    );
    let line = refused(&risk(&[
        "--vault",
        "1",
        "--shield",
        "0",
        "--position",
        &position,
        "--price",
        "BTC-USD=100",
    ]));
    assert_eq!(line, "error: position[0].price_pnl: arithmetic overflow");

    let too_big = format!("{huge}0");
    let line = refused(&risk(&[
        "--vault",
        &too_big,
        "--shield",
        "0",
        "--position",
        BTC_LONG,
    ]));
    assert_eq!(line, format!("error: vault: {too_big} exceeds 2^256 − 1"));
}

#[test]
fn positions_on_different_assets_are_refused() {
    let a = r#"{"market":"BTC-USD","is_long":true,"size":"1","price":"1","asset":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"}"#;
    let b = r#"{"market":"BTC-USD","is_long":true,"size":"1","price":"1"}"#;
    let line = refused(&risk(&tiny(&["--position", a, b])));
    assert_eq!(
        line,
        "error: position[1].asset: every position trades against the one --vault; position[0] has 0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
    );
}

/// What the Binance key tests store; no test output or file may hold either.
const BINANCE_KEY: &str = "pcliKey64aZ09qRstUvWxYz0123456789abcdefABCDEF0123456789ghijklmn";
const BINANCE_SECRET: &str = "pcliSecret7Q2wE9rT4yU1iO6pA3sD8fG5hJ0kL2zX7cV4bN9mQwErTyUiOp3a";

#[test]
fn binance_credentials_are_kept_in_the_os_keyring_and_never_shown() {
    use hedgedesk::keys::KeyringCache;

    let desk = common::Desk::new("perp_binance_key");
    std::fs::write(&desk.config, "").unwrap();
    // Before any run, so this test and the binary name the entries by the same canonical path.
    std::fs::create_dir_all(&desk.data).unwrap();
    // `scripts/check-no-secrets` greps everything the suite wrote for these too.
    let extra = common::repo().join("target/test-data/.secrets");
    let listed = std::fs::read_to_string(&extra).unwrap_or_default();
    for value in [BINANCE_KEY, BINANCE_SECRET] {
        if !listed.lines().any(|l| l == value) {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&extra)
                .unwrap();
            std::io::Write::write_all(&mut file, format!("{value}\n").as_bytes()).unwrap();
        }
    }
    // The entries `AppContext::binance_credentials` reads (keyutils: no desktop session here).
    let entry = |name: &str| KeyringCache::new("keyutils", &desk.data.join(name)).unwrap();
    let stored = || {
        (
            entry("binance-api-key")
                .get()
                .unwrap()
                .map(|p| p.expose().to_string()),
            entry("binance-api-secret")
                .get()
                .unwrap()
                .map(|p| p.expose().to_string()),
        )
    };
    // The session keyring outlives the run: start from nothing.
    entry("binance-api-key").delete().unwrap();
    entry("binance-api-secret").delete().unwrap();

    let mut outputs = Vec::new();
    let mut run = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = desk.cmd();
        cmd.args(["--log-level", "trace"]).args(args);
        let out = match stdin {
            Some(text) => common::output_with_stdin(cmd, text),
            None => cmd.output().unwrap(),
        };
        outputs.push(out.clone());
        out
    };
    let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let both = format!("{BINANCE_KEY}\n{BINANCE_SECRET}\n");

    // Without --keyring there is nowhere to keep them; the error says what to do instead.
    let out = run(&["perp", "binance-key", "set"], Some(&both));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--keyring"), "{err}");
    assert!(err.contains("keys.keyring = true"), "{err}");
    assert!(err.contains("perp.binance.api_key_env"), "{err}");
    assert!(err.contains("HEDGEDESK_BINANCE_API_KEY"), "{err}");
    let out = run(&["perp", "binance-key", "clear"], None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--keyring"));
    assert_eq!(stored(), (None, None));

    // A missing secret line, an empty key, whitespace or a control character inside: each
    // refused naming the field, and nothing stored.
    let refusals: [(&str, &str); 5] = [
        (
            &format!("{BINANCE_KEY}\n"),
            "api_secret: empty; nothing stored",
        ),
        (BINANCE_KEY, "api_secret: empty; nothing stored"),
        (
            &format!("\n{BINANCE_SECRET}\n"),
            "api_key: empty; nothing stored",
        ),
        (
            &format!("{BINANCE_KEY}\nab cd{BINANCE_SECRET}\n"),
            "api_secret: ",
        ),
        (
            &format!("ab\u{7}{BINANCE_KEY}\n{BINANCE_SECRET}\n"),
            "api_key: ",
        ),
    ];
    for (stdin, want) in refusals {
        let out = run(&["--keyring", "perp", "binance-key", "set"], Some(stdin));
        assert!(!out.status.success(), "{stdin:?} was accepted");
        assert!(stderr(&out).contains(want), "{stdin:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("nothing stored"), "{}", stderr(&out));
        assert_eq!(stored(), (None, None), "{stdin:?} stored something");
    }

    // Both lines (surrounding whitespace and CRLF trimmed): stored, and the backend named.
    let out = run(
        &["--keyring", "perp", "binance-key", "set"],
        Some(&format!("  {BINANCE_KEY}\r\n{BINANCE_SECRET}  \r\n")),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("stored in the OS keyring (keyutils)"),
        "{said}"
    );
    assert_eq!(
        stored(),
        (
            Some(BINANCE_KEY.to_string()),
            Some(BINANCE_SECRET.to_string())
        )
    );

    // A refused set leaves the stored pair as it was.
    let out = run(
        &["--keyring", "perp", "binance-key", "set"],
        Some("other-key\n"),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("api_secret: empty; nothing stored"));
    assert_eq!(
        stored(),
        (
            Some(BINANCE_KEY.to_string()),
            Some(BINANCE_SECRET.to_string())
        )
    );

    // Clear removes both, and clearing nothing is fine.
    for _ in 0..2 {
        let out = run(&["--keyring", "perp", "binance-key", "clear"], None);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("removed from the OS keyring"));
        assert_eq!(stored(), (None, None));
    }

    // Neither value was printed, nor written anywhere under the desk (logs at trace level).
    for out in &outputs {
        for text in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(text);
            assert!(
                !text.contains(BINANCE_KEY),
                "the API key was printed: {text}"
            );
            assert!(
                !text.contains(BINANCE_SECRET),
                "the secret was printed: {text}"
            );
        }
    }
    let files = common::files_below(&desk.root);
    assert!(!files.is_empty());
    for path in files {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert!(
            !text.contains(BINANCE_KEY) && !text.contains(BINANCE_SECRET),
            "a Binance credential was written to {}",
            path.display()
        );
    }
}
