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
