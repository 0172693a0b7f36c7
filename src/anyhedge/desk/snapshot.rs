//! The pane's rows, read from the store (and the action queue's snapshot) after a cycle.

use std::collections::BTreeMap;

use crate::actions::{ActionQueue, ActionState};
use crate::anyhedge::offers::lifecycle::parameters_of;
use crate::anyhedge::pane::{
    OfferRow, OracleRow, PositionRow, PositionState, RedemptionRow, SettlementRow,
};
use crate::store::Store;
use crate::store::anyhedge::{OfferFilter, OfferStatus, PositionFilter};
use crate::store::anyhedge_oracles::PriceMessageFilter;

/// Rows the pane keeps per table (the newest).
const ROWS: u64 = 500;

#[derive(Debug, Default)]
pub struct Built {
    pub offers: Vec<OfferRow>,
    pub positions: Vec<PositionRow>,
    pub settlements: Vec<SettlementRow>,
    pub oracles: Vec<OracleRow>,
}

pub async fn build(store: &Store, queue: &ActionQueue) -> anyhow::Result<Built> {
    let mut built = Built::default();
    for o in store.anyhedge_oracles(false).await? {
        let latest = store.anyhedge_latest_price_message(&o.pubkey).await?;
        let messages = store
            .anyhedge_price_messages(PriceMessageFilter {
                pubkey: Some(o.pubkey.clone()),
                limit: Some(1),
                ..Default::default()
            })
            .await?
            .total;
        built.oracles.push(OracleRow {
            pubkey: o.pubkey,
            asset_name: o.asset_name,
            price_decimals: o.asset_decimals,
            last_price: latest.map(|m| {
                (
                    u32::try_from(m.price).unwrap_or(0),
                    i64::from(m.message_timestamp) * 1000,
                )
            }),
            messages,
            last_poll: None,
        });
    }
    let oracle = |pubkey: &str| built.oracles.iter().find(|o| o.pubkey == pubkey).cloned();

    let (offers, _) = store
        .anyhedge_offers(OfferFilter {
            limit: Some(ROWS),
            ..Default::default()
        })
        .await?;
    built.offers = offers
        .into_iter()
        .map(|o| OfferRow {
            id: o.id,
            status: o.status.as_str().to_string(),
            side: o.position,
            wallet_hash: o.wallet_hash,
            satoshis: o.satoshis,
            duration_secs: o.duration_seconds,
            low_mult: o.low_liquidation_multiplier,
            high_mult: o.high_liquidation_multiplier,
            oracle_pubkey: o.oracle_pubkey,
            settlement_deadline_ms: match (o.status, &o.counter_party) {
                (OfferStatus::Accepted, Some(c)) => Some(c.settlement_deadline * 1000),
                _ => None,
            },
            created_at_ms: o.created_at * 1000,
        })
        .collect();

    // The newest action about each contract, by the address in its idempotency key.
    let actions = queue.snapshot();
    let mut newest: BTreeMap<String, (i64, ActionState)> = BTreeMap::new();
    for a in &actions.actions {
        let ours = ["fund_contract:", "settle_contract:", "mutual_redeem:"]
            .iter()
            .any(|prefix| a.key.starts_with(prefix));
        if let Some(address) = a.key.split(':').nth(2)
            && ours
        {
            let entry = newest
                .entry(address.to_ascii_lowercase())
                .or_insert((a.id, a.state));
            if a.id > entry.0 {
                *entry = (a.id, a.state);
            }
        }
    }

    let (positions, _) = store
        .anyhedge_positions(PositionFilter {
            limit: Some(ROWS),
            ..Default::default()
        })
        .await?;
    for p in positions {
        let address = p.address.to_checksum(None).to_ascii_lowercase();
        let action = newest.get(&address).copied();
        let in_flight = action.is_some_and(|(_, s)| {
            matches!(
                s,
                ActionState::Proposed | ActionState::Approved | ActionState::Sent
            )
        });
        let funded = p.funding_tx_hash.is_some();
        let redeeming = p
            .mutual_redemption
            .as_ref()
            .is_some_and(|r| r.tx_hash.is_some());
        let state = if p.settlement.is_some() {
            PositionState::Settled
        } else if funded && (in_flight || redeeming) {
            PositionState::Settling
        } else if funded {
            PositionState::Live
        } else if p.short_funding_proposal.is_some() && p.long_funding_proposal.is_some() {
            PositionState::Funding
        } else {
            PositionState::AwaitingFunding {
                short: p.short_funding_proposal.is_some(),
                long: p.long_funding_proposal.is_some(),
            }
        };
        let o = oracle(&p.oracle_pubkey);
        let last_price = o.as_ref().and_then(|o| o.last_price);
        let projected = last_price.map(|(price, _)| {
            let payout = parameters_of(&p.terms).settle(price);
            (payout.short_sats, payout.long_sats)
        });
        if let Some(s) = &p.settlement {
            built.settlements.push(SettlementRow {
                address: p.address,
                kind: s.settlement_type.as_str().to_string(),
                price: s.settlement_price,
                short_sats: s.short_satoshis,
                long_sats: s.long_satoshis,
                tx_hash: Some(s.spending_transaction.to_string()),
                at_ms: s.recorded_at * 1000,
            });
        }
        built.positions.push(PositionRow {
            address: p.address,
            short_wallet: p.short_wallet_hash.clone(),
            long_wallet: p.long_wallet_hash.clone(),
            oracle_pubkey: p.oracle_pubkey.clone(),
            price_decimals: o.as_ref().map(|o| o.price_decimals).unwrap_or(0),
            start_ms: p.terms.start_timestamp as i64 * 1000,
            maturity_ms: p.terms.maturity_timestamp as i64 * 1000,
            start_price: p.terms.start_price,
            low_price: p.terms.low_price,
            high_price: p.terms.high_price,
            last_price,
            payout_sats: p.terms.payout_sats,
            short_input_sats: p.terms.short_input_sats,
            long_input_sats: p.terms.long_input_sats,
            projected,
            state,
            redemption: p.mutual_redemption.as_ref().map(|r| RedemptionRow {
                kind: r.terms.redemption_type.as_str().to_string(),
                short_sats: r.terms.short_satoshis,
                long_sats: r.terms.long_satoshis,
                short_signed: r.short_signature.is_some(),
                long_signed: r.long_signature.is_some(),
            }),
            action,
        });
    }
    built
        .settlements
        .sort_by_key(|s| std::cmp::Reverse(s.at_ms));
    Ok(built)
}
