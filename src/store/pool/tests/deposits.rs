//! Preparing a deposit: the provider's tier settled, the tier's capacity checked, journaled.

use super::*;
use crate::store::pool::DepositPrepared;

async fn prepare(
    store: &Store,
    n: u8,
    tier: Option<&str>,
    token: Token,
    amount: Units,
) -> Result<DepositPrepared, crate::store::StoreError> {
    store
        .pool_prepare_deposit(
            who(n),
            tier.map(str::to_string),
            "balanced".into(),
            token,
            amount,
            T0,
        )
        .await
}

#[tokio::test]
async fn a_new_provider_joins_the_tier_asked_for_or_the_default_and_again_changes_nothing() {
    let (_dir, store) = store().await;
    let DepositPrepared::Ready(p) = prepare(&store, 1, Some("aggressive"), Token::Eth, ETH)
        .await
        .unwrap()
    else {
        panic!("refused")
    };
    assert_eq!(p.tier, "aggressive");
    assert_eq!(p.balance(Token::Eth).total, 0, "credited only by the event");
    let DepositPrepared::Ready(p) = prepare(&store, 2, None, Token::Wbtc, WBTC).await.unwrap()
    else {
        panic!("refused")
    };
    assert_eq!(p.tier, "balanced");
    // The same again: the account is as asked; one more journal line.
    let providers = store.pool_providers().await.unwrap();
    let journal = store.pool_journal(100).await.unwrap().len();
    let again = prepare(&store, 1, None, Token::Eth, ETH).await.unwrap();
    assert!(matches!(again, DepositPrepared::Ready(ref p) if p.tier == "aggressive"));
    assert_eq!(store.pool_providers().await.unwrap(), providers);
    let entries = store.pool_journal(100).await.unwrap();
    assert_eq!(entries.len(), journal + 1);
    assert_eq!(entries[0].flow, "deposit");
    assert_eq!(
        entries[0].detail,
        "prepared 1 ETH into tier aggressive for the provider to sign"
    );
}

#[tokio::test]
async fn over_the_tiers_capacity_or_into_an_unknown_tier_is_refused_and_writes_nothing() {
    let mut config = PoolConfig::default();
    config.tiers[0].capacity_wbtc = "2".into();
    let tiers = PoolParams::from_config(&config).unwrap().tiers;
    let conservative = tiers[0].name.clone();
    let (_dir, store) = store().await;
    store.pool_sync_tiers(tiers, T0).await.unwrap();
    store
        .pool_register_provider(who(1), conservative.clone(), T0)
        .await
        .unwrap();
    apply(
        &store,
        key(1, 0),
        deposit(who(1), Token::Wbtc, WBTC + WBTC / 2),
    )
    .await;
    let before = books(&store).await;

    let refused = prepare(&store, 2, Some(&conservative), Token::Wbtc, WBTC)
        .await
        .unwrap();
    let DepositPrepared::Refused(why) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(
        why.to_string(),
        "tier conservative holds 1.5 WBTC of its 2 WBTC capacity; a deposit of 1 WBTC would \
         exceed it"
    );
    let err = prepare(&store, 3, Some("gold"), Token::Wbtc, 1)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown tier \"gold\""), "{err}");
    assert_eq!(books(&store).await, before, "nothing written");
    // Within it: ready, in the same tier.
    assert!(matches!(
        prepare(&store, 2, Some(&conservative), Token::Wbtc, WBTC / 2)
            .await
            .unwrap(),
        DepositPrepared::Ready(_)
    ));
}

#[tokio::test]
async fn moving_tier_while_collateral_is_locked_is_refused() {
    let (_dir, store) = funded().await;
    let created = store
        .pool_create_policy(put("p1", BTC_60K, 10_000_000), underwriting("standard"), T0)
        .await
        .unwrap();
    assert!(matches!(created, Created::New(_)), "{created:?}");
    let before = books(&store).await;
    let err = prepare(&store, 1, Some("aggressive"), Token::Wbtc, WBTC)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("locked for policies"), "{err}");
    assert_eq!(books(&store).await, before);
}
