//! Selling, settling, expiring policies and the tiers' metrics.

use super::*;

#[tokio::test]
async fn a_policy_is_backed_pro_rata_to_available_capital() {
    let (_dir, store) = funded().await;
    // PUT 1 BTC at 54,000, standard buyer → balanced tier (135%): 72,900 USD = 1.215 WBTC.
    let created = store
        .pool_create_policy(
            put("buy-1", 5_400_000_000_000, 100_000_000),
            underwriting("standard"),
            T0,
        )
        .await
        .unwrap();
    let Created::New(book) = created else {
        panic!("new")
    };
    let p = &book.policy;
    assert_eq!(
        (p.id, p.tier.as_str(), p.status),
        (1, "balanced", PolicyStatus::Active)
    );
    assert_eq!(p.collateral_locked, 121_500_000);
    assert_eq!(p.collateral_ratio_bps, 13_500);
    // The premium model's pinned quote for these terms (balanced ×1.0).
    assert_eq!(p.premium, 2_170_064);
    let locks: Vec<(Address, Units, Units)> = book
        .allocations
        .iter()
        .map(|a| (a.provider, a.amount_locked, a.premium_share))
        .collect();
    assert_eq!(
        locks,
        [
            (who(1), 60_750_000, 1_085_032),
            (who(2), 30_375_000, 542_516),
            (who(3), 30_375_000, 542_516)
        ]
    );
    let a = store.pool_provider(who(1)).await.unwrap().unwrap();
    assert_eq!(
        a.balance(Token::Wbtc),
        TokenBalance::new(2 * WBTC, 60_750_000, 0)
    );

    // The same key again: the same policy, nothing new.
    let before = books(&store).await;
    let again = store
        .pool_create_policy(put("buy-1", 1, 1), underwriting("standard"), T0)
        .await
        .unwrap();
    assert_eq!(again, Created::Existing(book.clone()));
    assert_eq!(books(&store).await, before);

    // 3 BTC more cannot be backed by balanced (2.785 WBTC free) nor conservative (no
    // WBTC): refused with both reasons, nothing written.
    let err = store
        .pool_create_policy(
            put("buy-2", 5_400_000_000_000, 300_000_000),
            underwriting("standard"),
            T0,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tier balanced has 2.785 WBTC available, the policy needs 3.645 WBTC"),
        "{err}"
    );
    assert!(
        err.contains("tier conservative has 0 WBTC available"),
        "{err}"
    );
    assert_eq!(books(&store).await, before);

    // In ETH the standard buyer falls through to conservative (125%): 0.5 BTC at
    // 54,000 = 27,000 USD × 1.25 = 33,750 USD = 11.25 ETH > 10 ETH: refused; 0.4 BTC fits.
    let in_eth = |key: &str, sats: u64| NewPolicy {
        token: Token::Eth,
        ..put(key, 5_400_000_000_000, sats)
    };
    let err = store
        .pool_create_policy(in_eth("eth-1", 50_000_000), underwriting("standard"), T0)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("tier conservative has 10 ETH available, the policy needs 11.25 ETH"),
        "{err}"
    );
    let book = store
        .pool_create_policy(in_eth("eth-2", 40_000_000), underwriting("standard"), T0)
        .await
        .unwrap();
    let p = &book.book().policy;
    assert_eq!(
        (p.tier.as_str(), p.collateral_locked),
        ("conservative", 9 * ETH)
    );
    // A conservative policy's premium is 0.8 of the balanced one's.
    assert!(p.premium > 0);

    // Bad input is named and writes nothing.
    let before = books(&store).await;
    for (bad, field) in [
        (put("x1", 0, 1), "strike"),
        (put("x2", 1, 0), "amount"),
        (
            NewPolicy {
                expires_at_ms: T0,
                ..put("x3", 1, 1)
            },
            "expiry",
        ),
        (
            NewPolicy {
                premium: Some(0),
                ..put("x4", 1, 1)
            },
            "premium",
        ),
    ] {
        let err = store
            .pool_create_policy(bad, underwriting("standard"), T0)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    assert_eq!(books(&store).await, before);
}

#[tokio::test]
async fn settlement_debits_the_backers_pro_rata_and_releases_them() {
    let (_dir, store) = funded().await;
    let book = store
        .pool_create_policy(
            put("buy-1", 5_400_000_000_000, 100_000_000),
            underwriting("standard"),
            T0,
        )
        .await
        .unwrap();
    let id = book.book().policy.id;
    // The Vault's aggregate lock names the policy.
    let lock = VaultEvent::CollateralLocked {
        policy_ids: vec![id],
        token: Token::Wbtc,
        amount: 121_500_000,
    };
    assert_eq!(apply(&store, key(10, 0), lock).await, EventOutcome::Applied);
    assert!(
        store
            .pool_policy(id)
            .await
            .unwrap()
            .unwrap()
            .policy
            .onchain_locked
    );

    // BTC at 50,000 at expiry: 4,000 USD = 0.08 WBTC.
    let btc_50k = 5_000_000_000_000;
    let payout = payout_units(
        PolicyKind::Put,
        5_400_000_000_000,
        100_000_000,
        btc_50k,
        Token::Wbtc,
        btc_50k,
    )
    .unwrap();
    assert_eq!(payout, 8_000_000);
    let paid = VaultEvent::SettlementPaid {
        policy_id: id,
        buyer: who(0xb0),
        token: Token::Wbtc,
        amount: payout,
        settlement_price: Some(btc_50k),
    };
    assert_eq!(
        apply(&store, key(11, 3), paid.clone()).await,
        EventOutcome::Applied
    );
    let settled = store.pool_policy(id).await.unwrap().unwrap();
    assert_eq!(settled.policy.status, PolicyStatus::Settled);
    assert_eq!(settled.policy.payout, Some(8_000_000));
    assert_eq!(settled.policy.settlement_price_usd, Some(btc_50k));
    let debits: Vec<Units> = settled
        .allocations
        .iter()
        .map(|a| a.settlement_debit.unwrap())
        .collect();
    assert_eq!(debits, [4_000_000, 2_000_000, 2_000_000]);
    assert_eq!(debits.iter().sum::<Units>(), payout);
    assert!(
        settled
            .allocations
            .iter()
            .all(|a| a.released_at_ms == Some(T0))
    );
    let a = store.pool_provider(who(1)).await.unwrap().unwrap();
    assert_eq!(
        a.balance(Token::Wbtc),
        TokenBalance::new(2 * WBTC - 4_000_000, 0, 0)
    );
    // The Vault's total fell by the payout and the books followed: reconciled.
    let m = &store.pool_metrics().await.unwrap()[1];
    assert_eq!(
        (m.onchain_total, m.books_total, m.books_locked),
        (4 * WBTC - payout, 4 * WBTC - payout, 0)
    );
    assert_eq!(m.mismatch(), None);

    // Replaying it changes nothing; a second settlement of the same policy (another
    // log) is an anomaly the Vault's mirror shows and the books do not follow.
    let before = books(&store).await;
    assert_eq!(
        apply(&store, key(11, 3), paid.clone()).await,
        EventOutcome::Duplicate
    );
    assert_eq!(books(&store).await, before);
    let EventOutcome::Anomaly(why) = apply(&store, key(12, 0), paid).await else {
        panic!("anomaly")
    };
    assert!(why.contains("already settled"), "{why}");
    assert_eq!(
        store.pool_metrics().await.unwrap()[1].mismatch(),
        Some(-8_000_000)
    );
    // Expiring a settled policy is refused.
    assert!(store.pool_expire_policy(id, T0 + 31 * DAY).await.is_err());
}

#[tokio::test]
async fn a_settlement_a_backer_cannot_cover_changes_no_books() {
    let (_dir, store) = funded().await;
    let id = store
        .pool_create_policy(
            put("buy-1", 5_400_000_000_000, 100_000_000),
            underwriting("standard"),
            T0,
        )
        .await
        .unwrap()
        .book()
        .policy
        .id;
    let before = store.pool_providers().await.unwrap();
    // 3 WBTC paid: provider 2 would owe 0.75 with only 1 WBTC... fine, but provider 1
    // owes 1.5 of 2; 4.1 WBTC would break all of them.
    let paid = VaultEvent::SettlementPaid {
        policy_id: id,
        buyer: who(0xb0),
        token: Token::Wbtc,
        amount: 410_000_000,
        settlement_price: None,
    };
    let EventOutcome::Anomaly(why) = apply(&store, key(11, 0), paid).await else {
        panic!("anomaly")
    };
    assert!(why.contains("owes"), "{why}");
    assert_eq!(store.pool_providers().await.unwrap(), before);
    assert_eq!(
        store.pool_policy(id).await.unwrap().unwrap().policy.status,
        PolicyStatus::Active
    );
    let journal = store.pool_journal(1).await.unwrap();
    assert_eq!(journal[0].flow, "anomaly");
}

#[tokio::test]
async fn expiry_releases_once_and_yield_accrues_once() {
    let (_dir, store) = funded().await;
    let id = store
        .pool_create_policy(
            put("buy-1", 5_400_000_000_000, 100_000_000),
            underwriting("standard"),
            T0,
        )
        .await
        .unwrap()
        .book()
        .policy
        .id;
    let err = store
        .pool_expire_policy(id, T0 + 30 * DAY - 1)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not before"), "{err}");
    assert!(store.pool_accrue_yield(id, T0).await.unwrap());
    assert!(!store.pool_accrue_yield(id, T0 + 1).await.unwrap(), "once");
    let expired = store.pool_expire_policy(id, T0 + 30 * DAY).await.unwrap();
    assert_eq!(expired.status, PolicyStatus::Expired);
    let before = books(&store).await;
    assert_eq!(
        store.pool_expire_policy(id, T0 + 31 * DAY).await.unwrap(),
        expired
    );
    assert_eq!(
        books(&store).await,
        before,
        "expiring again changes nothing"
    );
    let ps = store.pool_providers().await.unwrap();
    let yields: Vec<TokenBalance> = ps[..3].iter().map(|p| p.balance(Token::Wbtc)).collect();
    assert_eq!(
        yields,
        [
            TokenBalance::new(2 * WBTC, 0, 1_085_032),
            TokenBalance::new(WBTC, 0, 542_516),
            TokenBalance::new(WBTC, 0, 542_516)
        ]
    );
    let tiers = store.pool_tiers().await.unwrap();
    let balanced_wbtc = tiers
        .iter()
        .find(|t| t.tier.name == "balanced" && t.token == Token::Wbtc)
        .unwrap();
    assert_eq!(
        (
            balanced_wbtc.capital,
            balanced_wbtc.locked,
            balanced_wbtc.providers,
            balanced_wbtc.yield_accrued
        ),
        (4 * WBTC, 0, 3, 2_170_064)
    );
}

#[tokio::test]
async fn tier_metrics_sum_the_books() {
    let (_dir, store) = funded().await;
    store
        .pool_create_policy(
            put("buy-1", 5_400_000_000_000, 100_000_000),
            underwriting("standard"),
            T0,
        )
        .await
        .unwrap();
    let tiers = store.pool_tiers().await.unwrap();
    let names: Vec<(&str, Token)> = tiers
        .iter()
        .map(|t| (t.tier.name.as_str(), t.token))
        .collect();
    assert_eq!(
        names,
        [
            ("conservative", Token::Eth),
            ("conservative", Token::Wbtc),
            ("balanced", Token::Eth),
            ("balanced", Token::Wbtc),
            ("aggressive", Token::Eth),
            ("aggressive", Token::Wbtc)
        ]
    );
    let b = &tiers[3];
    assert_eq!(
        (b.capital, b.locked, b.available),
        (4 * WBTC, 121_500_000, 278_500_000)
    );
    assert_eq!(b.utilisation_bps, Some(3_037));
    assert_eq!((b.providers, b.active_policies), (3, 1));
    assert_eq!(tiers[0].capital, 10 * ETH);
    assert_eq!(tiers[4].utilisation_bps, None);
    // Capacity limits stop deposits, per tier and token.
    let mut limited = params().tiers;
    limited[1].capacity_wbtc = Some(5 * WBTC);
    store.pool_sync_tiers(limited, T0 + 1).await.unwrap();
    assert_eq!(
        store
            .pool_deposit_check("balanced".into(), Token::Wbtc, WBTC)
            .await
            .unwrap(),
        None
    );
    let refused = store
        .pool_deposit_check("balanced".into(), Token::Wbtc, WBTC + 1)
        .await
        .unwrap()
        .unwrap();
    assert!(
        refused
            .to_string()
            .contains("holds 4 WBTC of its 5 WBTC capacity"),
        "{refused}"
    );
}
