//! The contract pipeline: `scripts/compile-contracts` with the pinned solc-js, the
//! committed artifacts in `contracts/out/` (this is the test that fails when one is stale),
//! and the `sol!` bindings built from them, deployed on a real anvil.
//!
//! Needs `scripts/bootstrap` (solc-js and anvil in `.tools/`) and node on PATH.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::sol_types::Revert;
use hedgedesk::chain::contracts::{TestToken, artifact};
use hedgedesk::devnet::{AnvilNode, AnvilOptions};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `scripts/compile-contracts ARGS` from the repo and prints what it said (shown when
/// the test fails).
fn compile_contracts(args: &[&str]) -> Output {
    let mut cmd = Command::new(repo().join("scripts/compile-contracts"));
    cmd.args(args)
        .current_dir(repo())
        .env_remove("HEDGEDESK_TOOLS_DIR");
    run(cmd)
}

fn run(mut cmd: Command) -> Output {
    let out = cmd
        .output()
        .expect("run scripts/compile-contracts (is node on PATH?)");
    eprintln!(
        "$ {cmd:?}\nstatus {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn committed_artifacts_are_up_to_date() {
    let out = compile_contracts(&["--check"]);
    assert!(
        out.status.success(),
        "contracts/out/ is stale: run scripts/compile-contracts and commit the result\n{}",
        said(&out)
    );
    assert!(said(&out).contains("contracts/out is up to date"));
}

#[test]
fn check_names_a_stale_artifact_and_a_compile_regenerates_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("contracts");
    copy_dir(&repo().join("contracts"), &dir);
    let dir_arg = dir.to_str().unwrap();

    // The copy compiles to the same bytes as the repo: source names do not depend on --dir.
    let out = compile_contracts(&["--check", "--dir", dir_arg]);
    assert!(out.status.success(), "{}", said(&out));

    // A changed revert string changes TestToken's bytecode.
    let source = dir.join("TestToken.sol");
    let text = std::fs::read_to_string(&source).unwrap();
    assert!(text.contains("\"TestToken: insufficient balance\""));
    std::fs::write(
        &source,
        text.replace(
            "\"TestToken: insufficient balance\"",
            "\"TestToken: balance too low\"",
        ),
    )
    .unwrap();
    // And an artifact whose contract is gone is reported as extra.
    std::fs::write(dir.join("out/Gone.json"), "{}\n").unwrap();

    let out = compile_contracts(&["--check", "--dir", dir_arg]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let text = said(&out);
    assert!(text.contains("stale: TestToken"), "{text}");
    assert!(text.contains("extra: Gone"), "{text}");
    assert!(!text.contains("up to date ("), "{text}");

    // Without --check it regenerates (and removes the extra one); then --check passes.
    let out = compile_contracts(&["--dir", dir_arg]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(!dir.join("out/Gone.json").exists());
    let regenerated = std::fs::read_to_string(dir.join("out/TestToken.json")).unwrap();
    assert_ne!(
        regenerated,
        artifact("TestToken").unwrap().json,
        "the artifact changed with the source"
    );
    let out = compile_contracts(&["--check", "--dir", dir_arg]);
    assert!(out.status.success(), "{}", said(&out));

    // A missing artifact is named too.
    std::fs::remove_file(dir.join("out/TestToken.json")).unwrap();
    let out = compile_contracts(&["--check", "--dir", dir_arg]);
    assert_eq!(out.status.code(), Some(1));
    assert!(said(&out).contains("missing: TestToken"), "{}", said(&out));
}

#[test]
fn compile_errors_point_at_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("contracts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Broken.sol"),
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\n\ncontract Broken {\n    function f() external { uint256 x = ; }\n}\n",
    )
    .unwrap();
    let out = compile_contracts(&["--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = said(&out);
    assert!(text.contains("Broken.sol:5:"), "{text}");
    assert!(text.contains("compilation failed"), "{text}");
    assert!(!dir.join("out").exists(), "nothing is written on an error");
}

#[test]
fn missing_tools_say_run_bootstrap() {
    let mut cmd = Command::new(repo().join("scripts/compile-contracts"));
    cmd.arg("--check")
        .current_dir(repo())
        .env("HEDGEDESK_TOOLS_DIR", repo().join("target/no-such-tools"));
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        said(&out).contains("run scripts/bootstrap"),
        "{}",
        said(&out)
    );
}

#[tokio::test]
async fn test_token_deploys_and_behaves_on_anvil() -> anyhow::Result<()> {
    let node = AnvilNode::start(&AnvilOptions::default())?;
    let url: alloy::transports::http::reqwest::Url = node.http_url().parse()?;
    let owner = node.address(0);
    let other = node.address(1);
    let as_owner = ProviderBuilder::new()
        .wallet(EthereumWallet::from(node.signer(0)))
        .connect_http(url.clone());
    let as_other = ProviderBuilder::new()
        .wallet(EthereumWallet::from(node.signer(1)))
        .connect_http(url.clone());

    let supply = U256::from(1_000_000u64) * U256::from(10u64).pow(U256::from(6u64));
    let token = TestToken::deploy(&as_owner, "USD Coin".into(), "USDC".into(), 6, supply).await?;
    let address = *token.address();
    // What runs on chain is the artifact's runtime code (same length: only the immutables
    // `decimals` and `owner` are filled in at deploy time).
    assert_eq!(
        as_owner.get_code_at(address).await?.len(),
        TestToken::DEPLOYED_BYTECODE.len()
    );

    assert_eq!(token.name().call().await?, "USD Coin");
    assert_eq!(token.symbol().call().await?, "USDC");
    assert_eq!(token.decimals().call().await?, 6);
    assert_eq!(token.totalSupply().call().await?, supply);
    assert_eq!(token.owner().call().await?, owner);
    assert_eq!(token.balanceOf(owner).call().await?, supply);

    // A transfer moves the balance and emits Transfer(from, to, value).
    let amount = U256::from(250_000_000u64);
    let receipt = token
        .transfer(other, amount)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status());
    let transfer = receipt
        .decoded_log::<TestToken::Transfer>()
        .expect("a Transfer log");
    assert_eq!(transfer.address, address);
    assert_eq!(
        (transfer.data.from, transfer.data.to, transfer.data.value),
        (owner, other, amount)
    );
    assert_eq!(token.balanceOf(other).call().await?, amount);
    assert_eq!(token.balanceOf(owner).call().await?, supply - amount);

    // Mint by a non-owner reverts with the custom error NotOwner(caller) ...
    let token_other = TestToken::new(address, &as_other);
    let err = token_other
        .mint(other, U256::from(1u64))
        .call()
        .await
        .expect_err("a non-owner cannot mint");
    let not_owner = err
        .as_decoded_error::<TestToken::NotOwner>()
        .unwrap_or_else(|| panic!("NotOwner revert, got {err:?}"));
    assert_eq!(not_owner.caller, other);
    // Sending it fails at gas estimation. Through a throwaway provider: alloy's default
    // (cached) nonce manager has already reserved a nonce when the estimate fails and does
    // not give it back, so `as_other`'s next transaction would wait behind a gap forever.
    let throwaway = ProviderBuilder::new()
        .wallet(EthereumWallet::from(node.signer(1)))
        .connect_http(url);
    assert!(
        TestToken::new(address, &throwaway)
            .mint(other, U256::from(1u64))
            .send()
            .await
            .is_err(),
        "sending a non-owner mint fails"
    );
    assert_eq!(token.totalSupply().call().await?, supply);

    // ... while the owner mints, and a short balance or allowance reverts with a reason string.
    token
        .mint(other, U256::from(5u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    assert_eq!(token.totalSupply().call().await?, supply + U256::from(5u64));

    let err = token_other
        .transfer(owner, amount + U256::from(6u64))
        .call()
        .await
        .expect_err("more than the balance");
    assert_eq!(
        err.as_decoded_error::<Revert>()
            .map(|revert| revert.reason)
            .as_deref(),
        Some("TestToken: insufficient balance")
    );
    let err = token_other
        .transferFrom(owner, other, U256::from(1u64))
        .call()
        .await
        .expect_err("no allowance");
    assert_eq!(
        err.as_decoded_error::<Revert>()
            .map(|revert| revert.reason)
            .as_deref(),
        Some("TestToken: insufficient allowance")
    );

    // approve + transferFrom + burn round trip.
    token
        .approve(other, U256::from(7u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    assert_eq!(
        token.allowance(owner, other).call().await?,
        U256::from(7u64)
    );
    token_other
        .transferFrom(owner, Address::repeat_byte(0x42), U256::from(7u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    assert_eq!(token.allowance(owner, other).call().await?, U256::ZERO);
    assert_eq!(
        token.balanceOf(Address::repeat_byte(0x42)).call().await?,
        U256::from(7u64)
    );
    token_other
        .burn(U256::from(5u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    assert_eq!(token.totalSupply().call().await?, supply);
    Ok(())
}
