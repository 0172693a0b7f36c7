//! Deposits, replays, reconciliation and tier moves.

use super::*;

#[tokio::test]
async fn deposits_open_accounts_and_mirror_the_vault() {
    let (_dir, store) = funded().await;
    let ps = store.pool_providers().await.unwrap();
    assert_eq!(ps.len(), 4);
    assert_eq!(ps[0].address, who(1));
    assert_eq!(ps[0].tier, "balanced", "the default tier");
    assert_eq!(
        ps[0].balance(Token::Wbtc),
        TokenBalance::new(2 * WBTC, 0, 0)
    );
    assert_eq!(ps[0].deposit_count, 1);
    assert_eq!(ps[3].tier, "conservative", "registered first");
    let m = store.pool_metrics().await.unwrap();
    assert_eq!(
        (m[0].token, m[0].onchain_total, m[0].books_total),
        (Token::Eth, 10 * ETH, 10 * ETH)
    );
    assert_eq!(
        (m[1].token, m[1].onchain_total, m[1].books_total),
        (Token::Wbtc, 4 * WBTC, 4 * WBTC)
    );
    assert_eq!(m[1].last_block, Some(102));
    assert!(m.iter().all(|m| m.mismatch().is_none()));
    // A deposit into an unknown default tier is refused and writes nothing.
    let before = books(&store).await;
    let err = store
        .pool_apply_event(
            key(9, 0),
            deposit(who(9), Token::Eth, ETH),
            "gold".into(),
            T0,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown tier \"gold\""), "{err}");
    assert_eq!(books(&store).await, before);
}

#[tokio::test]
async fn replaying_every_event_twice_changes_nothing_the_second_time() {
    let (_dir, store) = store().await;
    store
        .pool_register_provider(who(4), "aggressive".into(), T0)
        .await
        .unwrap();
    let events = vec![
        (key(1, 0), deposit(who(1), Token::Wbtc, 3 * WBTC)),
        (key(1, 1), deposit(who(2), Token::Eth, 5 * ETH)),
        (key(2, 0), deposit(who(4), Token::Wbtc, WBTC)),
        (
            key(3, 0),
            VaultEvent::Withdrawn {
                provider: who(1),
                token: Token::Wbtc,
                amount: WBTC / 2,
            },
        ),
        (
            key(4, 0),
            VaultEvent::CollateralLocked {
                policy_ids: vec![],
                token: Token::Eth,
                amount: ETH,
            },
        ),
        (
            key(4, 1),
            VaultEvent::CollateralReleased {
                policy_ids: vec![],
                token: Token::Eth,
                amount: ETH / 2,
            },
        ),
    ];
    for (k, ev) in &events {
        assert_eq!(
            apply(&store, *k, ev.clone()).await,
            EventOutcome::Applied,
            "{ev:?}"
        );
    }
    let once = books(&store).await;
    for (k, ev) in &events {
        assert_eq!(
            apply(&store, *k, ev.clone()).await,
            EventOutcome::Duplicate,
            "{ev:?}"
        );
    }
    assert_eq!(books(&store).await, once);
    let m = store.pool_metrics().await.unwrap();
    assert_eq!(
        (m[0].onchain_total, m[0].onchain_locked),
        (5 * ETH, ETH / 2)
    );
    assert_eq!(
        (m[1].onchain_total, m[1].books_total),
        (7 * WBTC / 2, 7 * WBTC / 2)
    );
    let p1 = store.pool_provider(who(1)).await.unwrap().unwrap();
    assert_eq!(p1.balance(Token::Wbtc).total, 5 * WBTC / 2);
}

#[tokio::test]
async fn books_the_vault_disagrees_with_are_reported_not_corrected() {
    let (_dir, store) = funded().await;
    // A withdrawal above what the books allow (straight to the Vault): recorded as an
    // anomaly, mirrored, the books untouched.
    let EventOutcome::Anomaly(why) = apply(
        &store,
        key(30, 0),
        VaultEvent::Withdrawn {
            provider: who(2),
            token: Token::Wbtc,
            amount: 2 * WBTC,
        },
    )
    .await
    else {
        panic!("anomaly")
    };
    assert!(why.contains("exceeds their available 1 WBTC"), "{why}");
    assert_eq!(
        store
            .pool_provider(who(2))
            .await
            .unwrap()
            .unwrap()
            .balance(Token::Wbtc)
            .total,
        WBTC
    );
    assert_eq!(
        store.pool_metrics().await.unwrap()[1].mismatch(),
        Some(-2 * WBTC as i128)
    );
    // Someone edits the books behind the desk's back: the ETH totals disagree.
    store
        .call(|c| {
            c.execute(
                "UPDATE pool_balances SET total = '11000000000000000000' WHERE token = 'eth'",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let eth = &store.pool_metrics().await.unwrap()[0];
    assert_eq!((eth.onchain_total, eth.books_total), (10 * ETH, 11 * ETH));
    assert_eq!(eth.mismatch(), Some(-(ETH as i128)));
    // Reading the Vault again does not touch the books either.
    store
        .pool_set_onchain_totals(Token::Eth, 10 * ETH, 0, 500, T0)
        .await
        .unwrap();
    assert_eq!(
        store.pool_metrics().await.unwrap()[0].mismatch(),
        Some(-(ETH as i128))
    );
}

#[tokio::test]
async fn tiers_follow_the_config_and_providers_move_only_when_free() {
    let (_dir, store) = funded().await;
    store
        .pool_create_policy(
            put("buy-1", 5_400_000_000_000, 100_000_000),
            underwriting("standard"),
            T0,
        )
        .await
        .unwrap();
    let err = store
        .pool_register_provider(who(1), "aggressive".into(), T0)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("locked for policies"), "{err}");
    let moved = store
        .pool_register_provider(who(4), "aggressive".into(), T0)
        .await
        .unwrap();
    assert_eq!(moved.tier, "aggressive");
    assert!(
        store
            .pool_register_provider(who(5), "gold".into(), T0)
            .await
            .is_err()
    );
    // Dropping a tier from the config keeps its books; it backs nothing new.
    let journal = store.pool_journal(100).await.unwrap().len();
    store.pool_sync_tiers(params().tiers, T0 + 1).await.unwrap();
    assert_eq!(
        store.pool_journal(100).await.unwrap().len(),
        journal,
        "nothing changed"
    );
    store
        .pool_sync_tiers(params().tiers[..2].to_vec(), T0 + 2)
        .await
        .unwrap();
    let tiers = store.pool_tiers().await.unwrap();
    let aggressive = tiers.iter().find(|t| t.tier.name == "aggressive").unwrap();
    assert!(!aggressive.configured);
    assert_eq!(aggressive.providers, 1);
    let err = store
        .pool_create_policy(
            NewPolicy {
                buyer_tier: "flexible".into(),
                ..put("f-1", 100_000_000_000, 1_000)
            },
            Underwriting {
                backing_tiers: vec!["aggressive".into()],
                ..underwriting("flexible")
            },
            T0 + 3,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("tier aggressive is no longer configured"),
        "{err}"
    );
}
