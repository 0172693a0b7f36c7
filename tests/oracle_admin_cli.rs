//! `hedgedesk oracle bootstrap` and `oracle register` as the operator runs them, against
//! the PriceCaster `hedgedesk devnet up` deployed: nothing is sent without a typed YES, the
//! layout lands on chain and in the store, a second bootstrap changes nothing, and a bad
//! flag is named before anything is unlocked.

mod common;

use common::{ANVIL_KEY_0, Desk};

const BTC: &str = "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43";
const ETH: &str = "0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace";
const SOL: &str = "0xef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d";

fn slot_count(rpc: &str, caster: &str) -> String {
    let out = std::process::Command::new(common::repo().join(".tools/bin/cast"))
        .args(["call", caster, "slotCount()(uint8)", "--rpc-url", rpc])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn bootstrap_and_register_need_a_typed_yes_and_are_idempotent() {
    let desk = Desk::new("oracle_admin_cli");
    // The operator's key is anvil's account 0, which deployed (and owns) the PriceCaster.
    let out = common::output_with_stdin(
        {
            let mut c = desk.cmd();
            c.args(["keys", "import", "--private-key-stdin", "--passphrase-file"])
                .arg(&desk.pass_file);
            c
        },
        ANVIL_KEY_0,
    );
    assert!(out.status.success());
    let (_devnet, up) = common::devnet_up(&desk);
    let rpc = up["rpc_url"].as_str().unwrap().to_string();
    let caster = up["contracts"]["oracle.price_caster"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(
        &desk.config,
        format!(
            "[chains.devnet]\nchain_id = 31337\nconfirmations = 0\npoll_interval_ms = 100\n\
             [[chains.devnet.endpoints]]\nname = \"anvil\"\nurl = \"{rpc}\"\nws_url = \"\"\n\n\
             [[oracle.feeds]]\nsymbol = \"BTC/USD\"\nasset_id = 1\ndecimals = 8\nprice_id = \"{BTC}\"\n\n\
             [[oracle.feeds]]\nsymbol = \"ETH/USD\"\nasset_id = 2\ndecimals = 18\nprice_id = \"{ETH}\"\n"
        ),
    )
    .unwrap();
    let bootstrap = |answer: &str, extra: &[&str]| {
        let mut c = desk.cmd();
        c.args(["oracle", "bootstrap", "--passphrase-file"])
            .arg(&desk.pass_file)
            .args(extra);
        common::output_with_stdin(c, answer)
    };

    // Anything but YES sends nothing.
    let out = bootstrap("yes\n", &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("slot   0  BTC/USD") && stdout.contains("nothing sent"),
        "{stdout}"
    );
    assert_eq!(slot_count(&rpc, &caster), "0");

    let out = bootstrap("YES\n", &[]);
    assert!(out.status.success());
    assert_eq!(slot_count(&rpc, &caster), "2");
    let out = bootstrap("", &["--yes"]);
    assert!(out.status.success(), "a second bootstrap changes nothing");
    assert_eq!(slot_count(&rpc, &caster), "2");

    // register: a bad flag is named, nothing is sent; a good one appends slot 2.
    let mut c = desk.cmd();
    c.args([
        "oracle",
        "register",
        "--symbol",
        "SOL/USD",
        "--asset-id",
        "3",
        "--decimals",
        "9",
        "--price-id",
        "0x1234",
        "--yes",
    ]);
    let out = c.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--price-id"));
    let mut c = desk.cmd();
    c.args([
        "oracle",
        "register",
        "--symbol",
        "SOL/USD",
        "--asset-id",
        "3",
        "--decimals",
        "9",
        "--price-id",
        SOL,
        "--yes",
        "--passphrase-file",
    ])
    .arg(&desk.pass_file);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(slot_count(&rpc, &caster), "3");

    // The store holds the same layout.
    let db = rusqlite::Connection::open(desk.db()).unwrap();
    let symbols: Vec<String> = db
        .prepare("SELECT symbol FROM oracle_slots ORDER BY slot")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(symbols, ["BTC/USD", "ETH/USD", "SOL/USD"]);
}
