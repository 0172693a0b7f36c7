//! Approved on-chain actions go out through the journaled sender and come back confirmed
//! or failed from the tx journal: the whole runtime against a real anvil.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::U256;
use alloy::sol_types::SolCall;
use hedgedesk::actions::{Action, ActionKind, ActionPlan, ActionState, Estimate, NewAction};
use hedgedesk::app::Runtime;
use hedgedesk::chain::contracts::TestToken;
use hedgedesk::config::{Config, DEVNET_CHAIN};
use hedgedesk::devnet::{AnvilOptions, Devnet, Scenario};
use hedgedesk::store::Store;

fn transfer_action(
    key: &str,
    token: &str,
    to: alloy::primitives::Address,
    amount: u64,
) -> NewAction {
    let calldata = TestToken::transferCall {
        to,
        value: U256::from(amount),
    }
    .abi_encode();
    NewAction {
        key: key.into(),
        kind: ActionKind::SettlePolicy,
        summary: format!("pay {amount} to {to}"),
        plan: ActionPlan::ContractCall {
            chain: DEVNET_CHAIN.into(),
            contract: token.into(),
            contract_name: "TestToken".into(),
            function: "transfer(address,uint256)".into(),
            args: vec![
                ("to".into(), to.to_string()),
                ("value".into(), amount.to_string()),
            ],
            value_wei: "0".into(),
            gas_limit: 0,
            calldata: format!("0x{}", hex::encode(calldata)),
        },
        estimate: Estimate::default(),
    }
}

async fn wait_state(rt: &Runtime, id: i64, want: ActionState) -> Action {
    for _ in 0..200 {
        let snap = rt.queue.snapshot();
        if let Some(a) = snap.actions.iter().find(|a| a.id == id)
            && a.state == want
        {
            return a.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let snap = rt.queue.snapshot();
    panic!(
        "action {id} never reached {want:?}: {:?}",
        snap.actions.iter().find(|a| a.id == id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_calls_are_sent_once_and_confirmed_or_failed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
    let mut devnet = Devnet::start(AnvilOptions::default(), store.clone())
        .await
        .unwrap();
    devnet.seed(&Scenario::standard()).await.unwrap();
    let usdc = devnet.address("token.usdc").unwrap();

    let mut config = Config::default();
    let mut chain = devnet.chain_config();
    chain.confirmations = 1;
    chain.poll_interval_ms = 100;
    chain.health_interval_ms = 200;
    config.chains.insert(DEVNET_CHAIN.into(), chain);
    let rt = Runtime::start(Arc::new(config), store.clone(), devnet.node.signer(0))
        .await
        .unwrap();

    // A call the operator approves: sent once, confirmed once mined and deep enough.
    let to = devnet.node.address(7);
    let good = rt
        .queue
        .propose(transfer_action("pay-1", &usdc.to_string(), to, 1_234_567))
        .await
        .unwrap()
        .action()
        .clone();
    assert_eq!(
        good.state,
        ActionState::Proposed,
        "settle_policy waits for a keystroke"
    );
    rt.queue.approve(good.id).await.unwrap();
    wait_state(&rt, good.id, ActionState::Sent).await;
    let control = devnet.control();
    for _ in 0..3 {
        control.mine().await.unwrap();
    }
    let done = wait_state(&rt, good.id, ActionState::Confirmed).await;
    assert!(done.tx_hash.is_some());
    assert_eq!(
        devnet.token_balance("token.usdc", to).await.unwrap(),
        U256::from(1_234_567u64),
        "paid exactly once"
    );
    let record = store
        .tx_by_key(format!("action:{}", good.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.attempts.len(), 1);

    // A call that would revert is refused before anything is signed, with its reason.
    let too_much = rt
        .queue
        .propose(transfer_action("pay-2", &usdc.to_string(), to, u64::MAX))
        .await
        .unwrap()
        .action()
        .clone();
    rt.queue.approve(too_much.id).await.unwrap();
    let failed = wait_state(&rt, too_much.id, ActionState::Failed).await;
    assert!(
        failed
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("insufficient balance"),
        "{failed:?}"
    );
    assert!(
        store
            .tx_by_key(format!("action:{}", too_much.id))
            .await
            .unwrap()
            .is_none(),
        "nothing journaled for a refused call"
    );
    rt.shutdown().await;
}
