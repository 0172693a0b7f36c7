//! Health transitions and withdrawals.

use super::*;

#[tokio::test]
async fn health_checks_record_each_transition_with_its_time() {
    let (_dir, store) = funded().await;
    store
        .pool_create_policy(
            put("buy-1", 5_400_000_000_000, 100_000_000),
            underwriting("standard"),
            T0,
        )
        .await
        .unwrap();
    let grace = params().margin_call_grace_ms;
    // At 60,000: provider 2 holds 1 WBTC = 60,000 USD against 13,500 USD of coverage
    // (a quarter of 54,000): 444%. Nothing changes, nothing is recorded.
    assert_eq!(
        store
            .pool_health_check(Some(prices()), grace, T0 + 1)
            .await
            .unwrap(),
        []
    );
    let p2 = store.pool_provider(who(2)).await.unwrap().unwrap();
    assert_eq!(p2.health_ratio_bps, Some(44_444));
    assert_eq!(
        (p2.required_usd, p2.value_usd),
        (Some(1_350_000_000_000), Some(6_000_000_000_000))
    );
    assert_eq!(p2.last_check_ms, Some(T0 + 1));

    // BTC at 17,000: 17,000 / 13,500 = 125.9% < 135%: Warning (the three backers).
    let at = |btc: UsdE8| {
        Some(Prices {
            btc_usd: btc,
            eth_usd: ETH_3K,
        })
    };
    let t = store
        .pool_health_check(at(1_700_000_000_000), grace, T0 + 10)
        .await
        .unwrap();
    assert_eq!(t.len(), 3);
    assert_eq!(
        t[1],
        StatusTransition {
            provider: who(2),
            from: ProviderStatus::Healthy,
            to: ProviderStatus::Warning,
            ratio_bps: Some(12_592),
            at_ms: T0 + 10
        }
    );
    // BTC at 15,000: 111% < 120%: MarginCall.
    let t = store
        .pool_health_check(at(1_500_000_000_000), grace, T0 + 20)
        .await
        .unwrap();
    assert!(
        t.iter().all(|t| t.to == ProviderStatus::MarginCall),
        "{t:?}"
    );
    // Still there a grace period later: Liquidating.
    store
        .pool_health_check(at(1_500_000_000_000), grace, T0 + 20 + grace - 1)
        .await
        .unwrap();
    assert_eq!(
        store.pool_provider(who(2)).await.unwrap().unwrap().status,
        ProviderStatus::MarginCall
    );
    let t = store
        .pool_health_check(at(1_500_000_000_000), grace, T0 + 20 + grace)
        .await
        .unwrap();
    assert!(
        t.iter().all(|t| t.to == ProviderStatus::Liquidating),
        "{t:?}"
    );
    // A provider in margin call backs nothing new.
    let err = store
        .pool_create_policy(
            put("buy-2", 100_000_000_000, 1_000),
            underwriting("standard"),
            T0 + 30,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("tier balanced has 0 WBTC available"),
        "{err}"
    );
    // No fresh prices: unknown, for everyone, not healthy.
    let t = store
        .pool_health_check(None, grace, T0 + 40 + grace)
        .await
        .unwrap();
    assert_eq!(t.len(), 4);
    assert!(
        t.iter()
            .all(|t| t.to == ProviderStatus::Unknown && t.ratio_bps.is_none())
    );
    let p4 = store.pool_provider(who(4)).await.unwrap().unwrap();
    assert_eq!(
        (p4.status, p4.status_since_ms),
        (ProviderStatus::Unknown, Some(T0 + 40 + grace))
    );
    // The history, newest first, with times.
    let history = store.pool_transitions(Some(who(2)), 10).await.unwrap();
    let path: Vec<(ProviderStatus, i64)> = history.iter().rev().map(|t| (t.to, t.at_ms)).collect();
    assert_eq!(
        path,
        [
            (ProviderStatus::Warning, T0 + 10),
            (ProviderStatus::MarginCall, T0 + 20),
            (ProviderStatus::Liquidating, T0 + 20 + grace),
            (ProviderStatus::Unknown, T0 + 40 + grace)
        ]
    );
}

#[tokio::test]
async fn withdrawals_above_the_maximum_are_refused_and_below_are_paid_once() {
    let (_dir, store) = funded().await;
    store
        .pool_create_policy(
            put("buy-1", 5_400_000_000_000, 100_000_000),
            underwriting("standard"),
            T0,
        )
        .await
        .unwrap();
    let buffer = params().withdrawal_buffer_bps;
    // Provider 2: 1 WBTC (60,000 USD), 0.30375 locked, backing 13,500 USD of coverage.
    // Kept: 13,500 × (135% + 5%) = 18,900 USD; free 41,100 USD = 0.685 WBTC, but only
    // 0.69625 is available: the maximum is 0.685.
    let check = store
        .pool_withdrawal_check(who(2), Token::Wbtc, Some(prices()), buffer)
        .await
        .unwrap();
    assert_eq!(
        (check.available, check.max_withdrawable),
        (69_625_000, 68_500_000)
    );
    assert_eq!(check.coverage_usd, 1_350_000_000_000);
    // Without prices it cannot be worked out; someone backing nothing needs none.
    assert!(
        store
            .pool_withdrawal_check(who(2), Token::Wbtc, None, buffer)
            .await
            .is_err()
    );
    let free = store
        .pool_withdrawal_check(who(4), Token::Eth, None, buffer)
        .await
        .unwrap();
    assert_eq!(free.max_withdrawable, 10 * ETH);

    let refused = store
        .pool_request_withdrawal(
            who(2),
            Token::Wbtc,
            68_500_001,
            Some(prices()),
            buffer,
            T0 + 1,
        )
        .await
        .unwrap();
    assert_eq!(refused.status, WithdrawalStatus::Refused);
    assert!(
        refused
            .refused
            .as_deref()
            .unwrap()
            .contains("at most 0.685 WBTC"),
        "{refused:?}"
    );
    let ok = store
        .pool_request_withdrawal(
            who(2),
            Token::Wbtc,
            68_500_000,
            Some(prices()),
            buffer,
            T0 + 2,
        )
        .await
        .unwrap();
    assert_eq!(
        (ok.status, ok.refused.as_ref()),
        (WithdrawalStatus::Requested, None)
    );
    store
        .pool_set_withdrawal_action(ok.id, 77, T0 + 3)
        .await
        .unwrap();
    assert!(
        store
            .pool_set_withdrawal_action(refused.id, 78, T0 + 3)
            .await
            .is_err()
    );
    assert_eq!(store.pool_withdrawals(true, 10).await.unwrap().len(), 1);

    // The Vault pays it: the books follow, the request is done; a replay changes nothing.
    let paid = VaultEvent::Withdrawn {
        provider: who(2),
        token: Token::Wbtc,
        amount: 68_500_000,
    };
    assert_eq!(
        apply(&store, key(20, 0), paid.clone()).await,
        EventOutcome::Applied
    );
    let before = books(&store).await;
    assert_eq!(
        apply(&store, key(20, 0), paid).await,
        EventOutcome::Duplicate
    );
    assert_eq!(books(&store).await, before);
    let p2 = store.pool_provider(who(2)).await.unwrap().unwrap();
    assert_eq!(
        p2.balance(Token::Wbtc),
        TokenBalance::new(WBTC - 68_500_000, 30_375_000, 0)
    );
    assert_eq!(p2.withdrawal_count, 1);
    let done = store.pool_withdrawals(false, 10).await.unwrap();
    assert_eq!(
        (done[0].id, done[0].status, done[0].action_id),
        (ok.id, WithdrawalStatus::Done, Some(77))
    );
    assert_eq!(store.pool_metrics().await.unwrap()[1].mismatch(), None);
    // Unknown provider or a zero amount: an error, nothing written.
    assert!(
        store
            .pool_request_withdrawal(who(9), Token::Eth, 1, None, buffer, T0)
            .await
            .is_err()
    );
    assert!(
        store
            .pool_request_withdrawal(who(2), Token::Eth, 0, None, buffer, T0)
            .await
            .is_err()
    );
    assert_eq!(books(&store).await, before);
}
