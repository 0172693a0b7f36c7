//! The devnet node itself: a real anvil started and killed by us, and its controls.

use alloy::providers::Provider;
use hedgedesk::devnet::{AnvilNode, AnvilOptions, DevnetControl};

#[tokio::test]
async fn anvil_starts_on_a_free_port_and_dies_with_its_handle() {
    let node = AnvilNode::start(&AnvilOptions {
        chain_id: 4242,
        ..AnvilOptions::default()
    })
    .expect("anvil starts");
    let provider = node.provider();
    assert_eq!(provider.get_chain_id().await.unwrap(), 4242);
    assert_eq!(node.keys.len(), 10);
    assert_eq!(
        node.address(0).to_string(),
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
    let port = node.port;
    drop(node);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "anvil still listens on {port} after its handle was dropped"
    );
}

#[tokio::test]
async fn controls_move_time_mine_and_reorg() {
    let node = AnvilNode::start(&AnvilOptions::default()).expect("anvil starts");
    let provider = node.provider();
    let control = DevnetControl::new(provider.clone());
    control.mine_blocks(5).await.unwrap();
    assert_eq!(control.head().await.unwrap(), 5);

    let before = provider
        .get_block_by_number(5.into())
        .await
        .unwrap()
        .unwrap();
    control.advance(3_600).await.unwrap();
    let after = provider
        .get_block_by_number(6.into())
        .await
        .unwrap()
        .unwrap();
    assert!(after.header.timestamp >= before.header.timestamp + 3_600);

    control.reorg(2).await.unwrap();
    assert_eq!(control.head().await.unwrap(), 6, "a reorg keeps the height");
    let replaced = provider
        .get_block_by_number(6.into())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        replaced.header.hash, after.header.hash,
        "block 6 was replaced"
    );
    let kept = provider
        .get_block_by_number(4.into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.header.number, 4);
}

/// Anvil persists older block states to disk: each node keeps them in its own cache under
/// the temp dir (not the shared ~/.foundry), and the cache goes with the node.
#[tokio::test]
async fn a_nodes_persisted_states_live_and_die_with_it() {
    let node = AnvilNode::start(&AnvilOptions::default()).unwrap();
    let cache = node.cache.clone();
    assert!(cache.starts_with(std::env::temp_dir()), "{cache:?}");
    let control = DevnetControl::new(node.provider());
    // Enough blocks that anvil moves the oldest states out of memory.
    for _ in 0..10 {
        control.mine_blocks(100).await.unwrap();
    }
    let written: u64 = walk(&cache)
        .iter()
        .map(|f| f.metadata().unwrap().len())
        .sum();
    assert!(written > 0, "no state persisted in {cache:?}");
    drop(node);
    assert!(!cache.exists(), "left behind: {cache:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
