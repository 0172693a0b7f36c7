//! The actions the perp desk proposes: their idempotency keys (one per attempt, so a
//! restart finds the attempt it already proposed instead of proposing another), our client
//! order ids (derived from the key, so every re-run of an action sends the same id), and
//! what the confirm popup shows.

use alloy::primitives::keccak256;
use rust_decimal::Decimal;

use super::executor::{CLOSE_PREFIX, OPEN_PREFIX};
use crate::actions::{Action, ActionKind, ActionPlan, ActionState, Estimate, NewAction};
use crate::perp::venue::OrderSide;
use crate::store::Store;
use crate::store::perp::Hedge;

/// Ends the summary of an action the operator asked for (never withdrawn by the desk).
pub const OPERATOR_ASKED: &str = "asked by the operator";

pub fn open_key(attempt: u32, position_key: &str) -> String {
    format!("{OPEN_PREFIX}{attempt}:{position_key}")
}

pub fn close_key(hedge_id: i64, attempt: u32) -> String {
    format!("{CLOSE_PREFIX}{hedge_id}:{attempt}")
}

/// 16 hex digits of keccak256(`text`).
fn tag(text: &str) -> String {
    ::hex::encode(&keccak256(text.as_bytes())[..8])
}

/// `hd-o-<attempt>-<tag of the position>`: at most 36 characters of `[0-9a-z-]`, as
/// Binance's `newClientOrderId` allows, and different for every position and attempt.
pub fn open_client_id(attempt: u32, position_key: &str) -> String {
    format!("hd-o-{attempt}-{}", tag(position_key))
}

/// `hd-c-<hedge id>-<attempt>-<tag of the opening order>`: the opening order's id in the
/// tag keeps two stores that reuse hedge ids from sharing a closing id.
pub fn close_client_id(hedge: &Hedge, attempt: u32) -> String {
    format!(
        "hd-c-{}-{attempt}-{}",
        hedge.id,
        &tag(&hedge.open_client_id)[..8]
    )
}

/// Every attempt journaled so far (`key_of(1)`, `key_of(2)`, … until one is missing),
/// oldest first, and the number of the next.
pub async fn attempts(
    store: &Store,
    key_of: impl Fn(u32) -> String,
) -> anyhow::Result<(Vec<Action>, u32)> {
    let mut found = Vec::new();
    for n in 1.. {
        match store.action_by_key(&key_of(n)).await? {
            Some(action) => found.push(action),
            None => return Ok((found, n)),
        }
    }
    unreachable!("the attempts loop returns")
}

/// How long after the last of `failures` consecutive failed attempts the desk tries again
/// on its own: a minute, doubling, at most an hour.
pub fn retry_after_secs(failures: usize) -> i64 {
    let doublings = failures.saturating_sub(1).min(6) as u32;
    (60i64 << doublings).min(3_600)
}

/// Failed attempts at the end of `attempts`.
pub fn trailing_failures(attempts: &[Action]) -> usize {
    attempts
        .iter()
        .rev()
        .take_while(|a| a.state == ActionState::Failed)
        .count()
}

/// What one hedge order is about, for the plan and the popup. `quantity` is what will
/// trade: the desk rounds it to the venue's step before proposing.
#[derive(Debug, Clone, Copy)]
pub struct OrderSpec<'a> {
    pub venue: &'a str,
    pub market: &'a str,
    pub symbol: &'a str,
    pub side: OrderSide,
    pub quantity: Decimal,
}

fn plan(spec: &OrderSpec, reduce_only: bool, client_order_id: String) -> ActionPlan {
    ActionPlan::ExchangeOrder {
        venue: spec.venue.to_string(),
        symbol: spec.symbol.to_string(),
        side: spec.side.as_str().to_string(),
        quantity: spec.quantity.normalize().to_string(),
        order_type: "MARKET".into(),
        reduce_only,
        client_order_id,
        market: spec.market.to_string(),
    }
}

/// Opening a hedge of `position` (its short description) for `why`.
pub fn open_action(
    attempt: u32,
    position_key: &str,
    position: &str,
    spec: &OrderSpec,
    why: &str,
) -> NewAction {
    NewAction {
        key: open_key(attempt, position_key),
        kind: ActionKind::OpenHedge,
        summary: format!(
            "hedge {position}: {} {} {} on {} ({why})",
            spec.side.as_str(),
            spec.quantity.normalize(),
            spec.symbol,
            spec.venue
        ),
        plan: plan(spec, false, open_client_id(attempt, position_key)),
        estimate: Estimate::default(),
    }
}

/// Closing `hedge` with a reduce-only order of `quantity` (the hedge's, on the venue's
/// step) for `why`.
pub fn close_action(
    hedge: &Hedge,
    attempt: u32,
    venue: &str,
    quantity: Decimal,
    why: &str,
) -> NewAction {
    let spec = OrderSpec {
        venue,
        market: &hedge.market,
        symbol: &hedge.symbol,
        side: hedge.side.opposite(),
        quantity,
    };
    NewAction {
        key: close_key(hedge.id, attempt),
        kind: ActionKind::CloseHedge,
        summary: format!(
            "close hedge #{} ({why}): reduce-only {} {} {} on {venue}",
            hedge.id,
            spec.side.as_str(),
            spec.quantity.normalize(),
            spec.symbol
        ),
        plan: plan(&spec, true, close_client_id(hedge, attempt)),
        estimate: Estimate::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perp::desk::executor::{hedge_of_close_key, position_of_open_key};
    use crate::store::perp::HedgeState;

    const POSITION: &str = "0x5Dc939df0cf253873cf77B786A24d51BaA72cF75:0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913:BTC-USD:long:1700000000";

    fn hedge(id: i64) -> Hedge {
        Hedge {
            id,
            position_key: POSITION.into(),
            venue: "binance".into(),
            market: "BTC-USD".into(),
            symbol: "BTCUSDT".into(),
            side: OrderSide::Buy,
            quantity: "0.25".parse().unwrap(),
            state: HedgeState::Open,
            open_client_id: open_client_id(1, POSITION),
            open_action_id: Some(1),
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

    /// Binance: `^[\.A-Z\:/a-z0-9_-]{1,36}$`.
    fn binance_accepts(id: &str) -> bool {
        (1..=36).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".:/_-".contains(c))
    }

    #[test]
    fn keys_round_trip_and_client_ids_fit_binance() {
        let key = open_key(12, POSITION);
        assert_eq!(position_of_open_key(&key), Some(POSITION));
        assert_eq!(
            hedge_of_close_key(&close_key(4_000_000_000, 999)),
            Some(4_000_000_000)
        );
        let open = open_client_id(999, POSITION);
        let close = close_client_id(&hedge(4_000_000_000), 999);
        assert!(binance_accepts(&open), "{open}");
        assert!(binance_accepts(&close), "{close}");
        assert_eq!(open, open_client_id(999, POSITION), "derived, not random");
        assert_ne!(open, open_client_id(998, POSITION));
        assert_ne!(
            open,
            open_client_id(999, &POSITION.replace("long", "short"))
        );
    }

    #[test]
    fn a_close_is_the_opposite_side_reduce_only() {
        let h = hedge(7);
        let action = close_action(&h, 2, "paper", h.quantity, "risk cleared");
        assert_eq!(action.key, "close_hedge:7:2");
        assert_eq!(action.kind, ActionKind::CloseHedge);
        let ActionPlan::ExchangeOrder {
            side,
            reduce_only,
            quantity,
            market,
            ..
        } = &action.plan
        else {
            panic!("{:?}", action.plan)
        };
        assert_eq!(
            (
                side.as_str(),
                *reduce_only,
                quantity.as_str(),
                market.as_str()
            ),
            ("SELL", true, "0.25", "BTC-USD")
        );
        assert_eq!(
            action.summary,
            "close hedge #7 (risk cleared): reduce-only SELL 0.25 BTCUSDT on paper"
        );
    }

    #[test]
    fn retries_back_off_from_a_minute_to_an_hour() {
        assert_eq!(
            [1, 2, 3, 6, 7, 50].map(retry_after_secs),
            [60, 120, 240, 1_920, 3_600, 3_600]
        );
    }
}
