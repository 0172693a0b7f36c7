//! `hedgedesk anyhedge quote`, run as the real binary.

mod common;

use std::process::Output;

use common::{json_of, refused};
use serde_json::json;

fn quote(args: &[&str]) -> Output {
    // The quote reads no config.
    common::run_unconfigured(&[&["anyhedge", "quote"], args].concat())
}

const EXAMPLE: [&str; 8] = [
    "--nominal-units",
    "33379.2",
    "--start-price",
    "10944",
    "--low-mult",
    "0.6345",
    "--high-mult",
    "4",
];

#[test]
fn example_vector() {
    let v = json_of(&quote(&EXAMPLE));
    assert_eq!(
        v["inputs"],
        json!({
            "nominal_units": 33379.2,
            "start_price": 10944,
            "low_mult": 0.6345,
            "high_mult": 4.0,
            "leveraged": false,
        })
    );
    assert_eq!(
        v["parameters"],
        json!({
            "low_price": 6944,
            "high_price": 43776,
            "nominal_units_x_sats_per_bch": 3_337_920_000_000u64,
            "sats_for_nominal_units_at_high": 0,
            "payout_sats": 480_691_244,
            "short_input_sats": 305_000_000,
            "long_input_sats": 175_691_244,
            "dust": 1332,
        })
    );
    assert_eq!(v["leverage"]["short"], json!(1.0));
    let long = v["leverage"]["long"].as_f64().unwrap();
    assert!((long - 1.0 / (1.0 - 0.6345)).abs() < 1e-12);
    assert!(v.get("settlement").is_none());
}

#[test]
fn settles_at_a_price() {
    let mut args = EXAMPLE.to_vec();
    args.extend(["--settle-price", "12000"]);
    let v = json_of(&quote(&args));
    assert_eq!(
        v["settlement"],
        json!({
            "price": 12000,
            "clamped_price": 12000,
            "short_sats": 278_160_000,
            "long_sats": 202_531_244,
        })
    );

    // Below low the price is clamped and the short takes the whole payout.
    let mut args = EXAMPLE.to_vec();
    args.extend(["--settle-price", "5000"]);
    let v = json_of(&quote(&args));
    assert_eq!(
        v["settlement"],
        json!({
            "price": 5000,
            "clamped_price": 6944,
            "short_sats": 480_691_244,
            "long_sats": 1332,
        })
    );
}

/// General Protocols' AnyHedge Python library contract tests: $100.00 nominal (US cents),
/// start 200_00, long leverage 4.5 and short leverage 2.2, settled at 220_00.
#[test]
fn leveraged_quote() {
    let low_mult = (1.0f64 - 1.0 / 4.5).to_string();
    let high_mult = (1.0f64 + 1.0 / (2.2 - 1.0)).to_string();
    let v = json_of(&quote(&[
        "--nominal-units",
        "10000",
        "--start-price",
        "20000",
        "--low-mult",
        &low_mult,
        "--high-mult",
        &high_mult,
        "--leveraged",
        "--settle-price",
        "22000",
    ]));
    assert_eq!(v["inputs"]["leveraged"], json!(true));
    assert_eq!(
        v["parameters"],
        json!({
            "low_price": 15_556,
            "high_price": 36_667,
            "nominal_units_x_sats_per_bch": 1_000_000_000_000u64,
            "sats_for_nominal_units_at_high": 27_272_479,
            "payout_sats": 37_011_398,
            "short_input_sats": 22_727_521,
            "long_input_sats": 14_283_877,
            "dust": 1332,
        })
    );
    assert_eq!(v["settlement"]["short_sats"], json!(18_182_066));
    assert_eq!(v["settlement"]["long_sats"], json!(18_829_332));
    let short = v["leverage"]["short"].as_f64().unwrap();
    let long = v["leverage"]["long"].as_f64().unwrap();
    assert!((short - 2.2).abs() < 1e-9, "{short}");
    assert!((long - 4.5).abs() < 1e-9, "{long}");
}

#[test]
fn low_price_above_start_is_refused() {
    let out = quote(&[
        "--nominal-units",
        "33379.2",
        "--start-price",
        "10944",
        "--low-mult",
        "1.00512",
        "--high-mult",
        "4",
    ]);
    assert_eq!(
        refused(&out),
        "error: low_mult: low liquidation price 11000 must be below the start price 10944"
    );
}

#[test]
fn nominal_too_small_is_refused() {
    let out = quote(&[
        "--nominal-units",
        "0.00005",
        "--start-price",
        "10944",
        "--low-mult",
        "0.6345",
        "--high-mult",
        "4",
        "--settle-price",
        "12000",
    ]);
    assert_eq!(
        refused(&out),
        "error: nominal_units: nominal units × 1e8 = 5000 must be at least 100000000"
    );
}

#[test]
fn malformed_and_non_finite_inputs_name_the_field() {
    let mut args = EXAMPLE.to_vec();
    args[5] = "NaN";
    let line = refused(&quote(&args));
    assert!(line.starts_with("error: low_mult: "), "{line}");

    let mut args = EXAMPLE.to_vec();
    args[3] = "ten";
    let line = refused(&quote(&args));
    assert!(line.starts_with("error: start_price: "), "{line}");

    let mut args = EXAMPLE.to_vec();
    args.extend(["--settle-price", "-5"]);
    let line = refused(&quote(&args));
    assert!(line.starts_with("error: settle_price: "), "{line}");

    let mut args = EXAMPLE.to_vec();
    args[7] = "inf";
    let line = refused(&quote(&args));
    assert_eq!(
        line,
        "error: high_mult: high_mult must be a finite number above 0, got inf"
    );
}
