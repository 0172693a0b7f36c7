//! The hedge journal against the venue.
//!
//! - An order in flight whose action will not run again (its action finished or is gone:
//!   the process died between journaling the hedge and hearing back, or an operator edited
//!   the journal) is looked up by its client order id and its hedge settled from what the
//!   venue says, so a restart neither forgets a filled hedge nor keeps waiting on one
//!   that was never placed. Hedges whose action is still approved are the executor's.
//! - The venue's net position per symbol is compared with what the open hedges add up to;
//!   a difference is reported, never corrected (someone else trades on the account, or an
//!   order was lost): the operator decides.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::perp::venue::{OrderReport, OrderStatus, Venue, VenuePosition};
use crate::store::Store;
use crate::store::perp::{Hedge, HedgeState};

/// What settling one orphan did, for the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Changed the hedge's state; the line says how.
    Done(String),
    /// Could not tell yet (the venue still works on it, or cannot be asked): try again.
    Pending(String),
}

/// Whether `hedge`'s current order belongs to no action that will run again.
pub async fn is_orphan(store: &Store, hedge: &Hedge) -> anyhow::Result<bool> {
    let action_id = match hedge.state {
        HedgeState::Opening => hedge.open_action_id,
        HedgeState::Closing => hedge.close_action_id,
        _ => return Ok(false),
    };
    let Some(id) = action_id else {
        return Ok(true);
    };
    Ok(store
        .action(id)
        .await?
        .is_none_or(|a| a.state.is_terminal()))
}

/// Settles an orphaned Opening or Closing hedge from the venue's answer about its order.
/// An order the venue has never heard of, `grace_secs` after it was sent, was never placed.
pub async fn settle_orphan(
    store: &Store,
    venue: &dyn Venue,
    hedge: &Hedge,
    grace_secs: i64,
    now: i64,
) -> anyhow::Result<Settled> {
    let (client_id, opening) = match (hedge.state, &hedge.close_client_id) {
        (HedgeState::Opening, _) => (hedge.open_client_id.as_str(), true),
        (HedgeState::Closing, Some(id)) => (id.as_str(), false),
        _ => {
            return Ok(Settled::Pending(format!(
                "hedge #{} has no order in flight",
                hedge.id
            )));
        }
    };
    let what = if opening { "opening" } else { "closing" };
    let found = match venue.order(&hedge.symbol, client_id).await {
        Ok(found) => found,
        Err(e) => {
            return Ok(Settled::Pending(format!(
                "hedge #{}: cannot ask {} about its {what} order {client_id}: {e}",
                hedge.id,
                venue.name()
            )));
        }
    };
    let id = hedge.id;
    match found {
        Some(OrderReport {
            status: OrderStatus::Filled,
            executed_qty,
            avg_price,
            ..
        }) => {
            if opening {
                store
                    .perp_mark_open(id, executed_qty, avg_price, now)
                    .await?;
            } else {
                store.perp_mark_closed(id, Some(avg_price), now).await?;
            }
            Ok(Settled::Done(format!(
                "hedge #{id}: its {what} order {client_id} was found filled on {} ({executed_qty} at {avg_price}); journaled",
                venue.name()
            )))
        }
        Some(report) if report.status.is_final() => {
            let why = format!("its {what} order {client_id} ended {:?}", report.status);
            unplaced(store, hedge, opening, why, now).await
        }
        Some(report) => Ok(Settled::Pending(format!(
            "hedge #{id}: its {what} order {client_id} is {:?} on {}",
            report.status,
            venue.name()
        ))),
        None if now - hedge.sent_at < grace_secs => Ok(Settled::Pending(format!(
            "hedge #{id}: {} does not know its {what} order {client_id} yet",
            venue.name()
        ))),
        None => {
            let why = format!(
                "its {what} order {client_id} never reached {}",
                venue.name()
            );
            unplaced(store, hedge, opening, why, now).await
        }
    }
}

async fn unplaced(
    store: &Store,
    hedge: &Hedge,
    opening: bool,
    why: String,
    now: i64,
) -> anyhow::Result<Settled> {
    if opening {
        store.perp_mark_failed(hedge.id, why.clone(), now).await?;
        Ok(Settled::Done(format!(
            "hedge #{}: {why}; nothing is held, marked failed",
            hedge.id
        )))
    } else {
        store
            .perp_reopen_after_failed_close(hedge.id, why.clone(), now)
            .await?;
        Ok(Settled::Done(format!(
            "hedge #{}: {why}; it is still held, open again",
            hedge.id
        )))
    }
}

/// A symbol where the venue and the hedge journal disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub symbol: String,
    /// Net signed quantity the venue holds.
    pub venue: Decimal,
    /// What the open hedges add up to.
    pub journal: Decimal,
}

impl Mismatch {
    pub fn describe(&self, venue: &str) -> String {
        format!(
            "{venue} holds {} {} but the hedge journal expects {}: not corrected (keep the desk's hedges on an account nothing else trades)",
            self.venue.normalize(),
            self.symbol,
            self.journal.normalize()
        )
    }
}

/// Symbols whose venue position differs from the sum of `hedges` (the live hedges on this
/// venue). Symbols with an order in flight are left out: they are between two states.
pub fn mismatches(hedges: &[Hedge], positions: &[VenuePosition]) -> Vec<Mismatch> {
    let mut expected: BTreeMap<&str, Decimal> = BTreeMap::new();
    let mut in_flight: Vec<&str> = Vec::new();
    for h in hedges {
        match h.state {
            HedgeState::Open => {
                *expected.entry(h.symbol.as_str()).or_default() += h.side.signed(h.quantity);
            }
            HedgeState::Opening | HedgeState::Closing => in_flight.push(h.symbol.as_str()),
            HedgeState::Closed | HedgeState::Failed => {}
        }
    }
    let mut held: BTreeMap<&str, Decimal> = BTreeMap::new();
    for p in positions {
        *held.entry(p.symbol.as_str()).or_default() += p.quantity;
    }
    let symbols: std::collections::BTreeSet<&str> =
        expected.keys().chain(held.keys()).copied().collect();
    symbols
        .into_iter()
        .filter(|s| !in_flight.contains(s))
        .filter_map(|symbol| {
            let venue = held.get(symbol).copied().unwrap_or_default();
            let journal = expected.get(symbol).copied().unwrap_or_default();
            (venue != journal).then(|| Mismatch {
                symbol: symbol.to_string(),
                venue,
                journal,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perp::venue::OrderSide;

    fn hedge(symbol: &str, side: OrderSide, quantity: &str, state: HedgeState) -> Hedge {
        Hedge {
            id: 1,
            position_key: "k".into(),
            venue: "paper".into(),
            market: "BTC-USD".into(),
            symbol: symbol.into(),
            side,
            quantity: quantity.parse().unwrap(),
            state,
            open_client_id: "o".into(),
            open_action_id: None,
            entry_price: None,
            close_client_id: None,
            close_action_id: None,
            close_reason: None,
            exit_price: None,
            reason: String::new(),
            note: None,
            last_flag_at: 0,
            opened_at: None,
            closed_at: None,
            created_at: 0,
            updated_at: 0,
            sent_at: 0,
        }
    }

    fn held(symbol: &str, quantity: &str) -> VenuePosition {
        VenuePosition {
            symbol: symbol.into(),
            quantity: quantity.parse().unwrap(),
            entry_price: Decimal::ONE,
            mark_price: Decimal::ONE,
            unrealized_pnl: Decimal::ZERO,
            leverage: 10,
        }
    }

    #[test]
    fn open_hedges_net_per_symbol_against_the_venue() {
        let hedges = [
            hedge("BTCUSDT", OrderSide::Buy, "0.5", HedgeState::Open),
            hedge("BTCUSDT", OrderSide::Sell, "0.2", HedgeState::Open),
            hedge("ETHUSDT", OrderSide::Sell, "3", HedgeState::Open),
            hedge("SOLUSDT", OrderSide::Buy, "10", HedgeState::Opening),
        ];
        // BTC nets to 0.3 as held; ETH is missing; SOL is in flight; XRP is nobody's.
        let positions = [
            held("BTCUSDT", "0.300"),
            held("SOLUSDT", "4"),
            held("XRPUSDT", "-7"),
        ];
        let found = mismatches(&hedges, &positions);
        assert_eq!(
            found,
            vec![
                Mismatch {
                    symbol: "ETHUSDT".into(),
                    venue: Decimal::ZERO,
                    journal: "-3".parse().unwrap()
                },
                Mismatch {
                    symbol: "XRPUSDT".into(),
                    venue: "-7".parse().unwrap(),
                    journal: Decimal::ZERO
                },
            ]
        );
        assert!(
            found[0]
                .describe("binance")
                .starts_with("binance holds 0 ETHUSDT but the hedge journal expects -3")
        );
        assert!(mismatches(&hedges[..2], &positions[..1]).is_empty());
    }
}
