//! `hedgedesk devnet up` as the operator runs it: the real binary starts anvil, deploys
//! and seeds, prints the RPC URL and addresses, and `cast` reads a token, AnyHedge and
//! DePerp through it.
//! Ctrl-C stops anvil with it; so does SIGKILL (issue 4, Done-when 6).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{Desk, wait_until};

fn cast() -> std::path::PathBuf {
    common::repo().join(".tools/bin/cast")
}

/// Starts `devnet up` with `extra` args and returns it with the lines it printed up to
/// `until` (inclusive).
fn devnet_up(desk: &Desk, extra: &[&str], until: &str) -> (Child, Vec<String>) {
    let mut cmd = desk.cmd();
    cmd.args(["devnet", "up", "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn hedgedesk devnet up");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let done = line.contains(until);
                lines.push(line);
                if done {
                    return (child, lines);
                }
            }
            Err(_) => {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "devnet up did not print {until:?}; stdout so far:\n{}\nstderr:\n{}",
                    lines.join("\n"),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// The body of a plain HTTP/1.1 GET of `url` (`http://127.0.0.1:port/path`).
fn http_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response.split_once("\r\n\r\n").unwrap().1.to_string()
}

fn cast_call(rpc: &str, to: &str, sig: &str) -> String {
    cast_call_with(rpc, to, sig, &[])
}

fn cast_call_with(rpc: &str, to: &str, sig: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(cast())
        .args(["call", to, sig])
        .args(args)
        .args(["--rpc-url", rpc])
        .output()
        .expect("run cast");
    assert!(
        out.status.success(),
        "cast call failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn devnet_up_prints_addresses_cast_reads_them_and_ctrl_c_stops_anvil() {
    let desk = Desk::new("devnet_up_text");
    let (mut child, lines) = devnet_up(&desk, &[], "Ctrl-C stops the devnet.");
    let text = lines.join("\n");
    let rpc = lines
        .iter()
        .find_map(|l| l.strip_prefix("RPC"))
        .map(|r| r.trim().to_string())
        .unwrap_or_else(|| panic!("no RPC line in:\n{text}"));
    let usdc = lines
        .iter()
        .find(|l| l.trim_start().starts_with("token.usdc"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no token.usdc line in:\n{text}"))
        .to_string();
    assert!(
        text.contains("token.wbtc") && text.contains("token.weth"),
        "{text}"
    );
    assert!(text.contains(common::ANVIL_ADDR_0), "{text}");

    // 100,000,000 USDC at deployment + 1,000,000 minted to each of dev accounts 1..=4.
    let supply = cast_call(&rpc, &usdc, "totalSupply()(uint256)");
    assert!(
        supply.starts_with("104000000000000"),
        "totalSupply through {rpc}: {supply}"
    );
    assert_eq!(cast_call(&rpc, &usdc, "decimals()(uint8)"), "6");
    // The oracle desk's PriceCaster, empty, and the devnet guardian set written for the desk.
    let caster = lines
        .iter()
        .find(|l| l.trim_start().starts_with("oracle.price_caster"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no oracle.price_caster line in:\n{text}"))
        .to_string();
    assert_eq!(cast_call(&rpc, &caster, "slotCount()(uint8)"), "0");
    assert_eq!(cast_call(&rpc, &caster, "guardianSetIndex()(uint32)"), "0");
    assert!(desk.data.join("devnet-guardian-sets.json").is_file());

    // The AnyHedge factory and its 8-decimal collateral, and the devnet oracle's relay
    // already serving a signed BCH/USD price.
    let address_of = |name: &str| {
        lines
            .iter()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_else(|| panic!("no {name} line in:\n{text}"))
            .to_string()
    };
    let factory = address_of("anyhedge.factory");
    assert_eq!(cast_call(&rpc, &factory, "DUST()(uint64)"), "1332");
    let collateral = address_of("anyhedge.collateral");
    assert_eq!(cast_call(&rpc, &collateral, "decimals()(uint8)"), "8");
    let oracle_line = lines
        .iter()
        .find(|l| l.starts_with("anyhedge"))
        .unwrap_or_else(|| panic!("no anyhedge oracle line in:\n{text}"));
    let quoted = |key: &str| {
        oracle_line
            .split(&format!("{key} = \""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no {key} in {oracle_line}"))
            .to_string()
    };
    let (pubkey, relay) = (quoted("pubkey"), quoted("relay"));
    assert_eq!(pubkey.len(), 66, "{pubkey}");
    let body = http_get(&format!(
        "{relay}/api/v1/oracleMessages?publicKey={pubkey}&count=5"
    ));
    let served: serde_json::Value = serde_json::from_str(&body).expect("relay JSON");
    let first = served["oracleMessages"]
        .as_array()
        .and_then(|m| m.last())
        .unwrap_or_else(|| panic!("no message served: {served}"));
    let verified = hedgedesk::anyhedge::message::verify(
        &hex::decode(&pubkey).unwrap(),
        &hex::decode(first["message"].as_str().unwrap()).unwrap(),
        &hex::decode(first["signature"].as_str().unwrap()).unwrap(),
    )
    .expect("the served message verifies");
    assert_eq!(
        verified.message().price,
        30_000,
        "the feed starts at $300.00"
    );

    // The perp desk's DePerp: the registry points at the positions, which hold the
    // standard scenario's trader positions.
    let registry = address_of("deperp.registry");
    let positions = cast_call_with(
        &rpc,
        &registry,
        "getAddress(string)(address)",
        &["Positions"],
    );
    assert_ne!(
        positions.parse::<alloy::primitives::Address>().unwrap(),
        alloy::primitives::Address::ZERO,
        "the registry has no Positions"
    );
    assert_eq!(positions, address_of("deperp.positions"));
    let standard = hedgedesk::devnet::scenario::DePerpSpec::standard();
    assert_eq!(
        cast_call(&rpc, &positions, "getPositionCount()(uint256)"),
        standard.positions.len().to_string()
    );

    // The pool desk's vault: its WBTC is the standard wrapped BTC, the deployer its admin
    // and backend, nothing deposited.
    let vault = address_of("pool.vault");
    assert_eq!(
        cast_call(&rpc, &vault, "getWbtcToken()(address)"),
        address_of("token.wbtc")
    );
    assert_eq!(
        cast_call(&rpc, &vault, "getBackendPrincipal()(address)"),
        common::ANVIL_ADDR_0
    );
    assert_eq!(
        cast_call(&rpc, &vault, "admin()(address)"),
        common::ANVIL_ADDR_0
    );
    assert_eq!(
        cast_call(&rpc, &vault, "getTotalWbtcBalance()(uint256)"),
        "0"
    );

    // The addresses are in the store under the chain id.
    let db = rusqlite::Connection::open(desk.db()).unwrap();
    let stored: String = db
        .query_row(
            "SELECT address FROM deployments WHERE chain_id = 31337 AND name = 'token.usdc'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, usdc);

    let port = port_of(&rpc);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success(), "devnet up exited with {status}");
    wait_until("anvil stops with devnet up", Duration::from_secs(5), || {
        !listening(port)
    });
}

#[test]
fn a_killed_devnet_takes_anvil_with_it_and_json_output_parses() {
    let desk = Desk::new("devnet_up_json");
    let (mut child, lines) = devnet_up(&desk, &["--json", "--scenario", "empty"], "rpc_url");
    let json: serde_json::Value = serde_json::from_str(&lines[0]).expect("one JSON line");
    let rpc = json["rpc_url"].as_str().unwrap().to_string();
    assert_eq!(json["chain_id"], 31337);
    assert_eq!(json["contracts"], serde_json::json!({}));
    assert_eq!(json["anyhedge_oracle"], serde_json::Value::Null);
    assert_eq!(json["accounts"][0], common::ANVIL_ADDR_0);
    let port = port_of(&rpc);
    assert!(listening(port));

    child.kill().unwrap(); // SIGKILL: no cleanup code runs in hedgedesk
    child.wait().unwrap();
    wait_until("anvil dies with its parent", Duration::from_secs(5), || {
        !listening(port)
    });
}
