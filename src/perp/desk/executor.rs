//! Carries out approved `open_hedge` and `close_hedge` actions on the venue.
//!
//! The hedge is journaled (with our client order id) before its order is sent, and an
//! order whose outcome is unknown is looked up by that id before anything else is sent, so
//! the runner handing the same action over again (after a crash, a deferral or a 503
//! "unknown") never places a second order.

use std::sync::Arc;

use rust_decimal::Decimal;

use crate::actions::{Action, ActionKind, ActionPlan, ExecFuture, ExecOutcome, Executor};
use crate::perp::venue::{OrderReport, OrderRequest, OrderSide, OrderStatus, Venue, VenueError};
use crate::store::Store;
use crate::store::perp::{Hedge, HedgeState, NewHedge};

/// Action key prefixes: `open_hedge:<attempt>:<position key>`,
/// `close_hedge:<hedge id>:<attempt>`.
pub const OPEN_PREFIX: &str = "open_hedge:";
pub const CLOSE_PREFIX: &str = "close_hedge:";

/// The position an `open_hedge` action key is about.
pub fn position_of_open_key(key: &str) -> Option<&str> {
    key.strip_prefix(OPEN_PREFIX)?
        .split_once(':')
        .map(|(_, position)| position)
}

/// The hedge a `close_hedge` action key is about.
pub fn hedge_of_close_key(key: &str) -> Option<i64> {
    let rest = key.strip_prefix(CLOSE_PREFIX)?;
    rest.split_once(':').map_or(rest, |(id, _)| id).parse().ok()
}

pub struct HedgeExecutor {
    pub store: Store,
    pub venue: Arc<dyn Venue>,
    pub leverage: u32,
    /// Seconds after a send during which the venue may still not know an order it will
    /// yet accept (Binance: until the request's recvWindow has passed). Within them an
    /// order the venue does not know is waited for, not sent again.
    pub lost_order_grace_secs: i64,
}

struct Order {
    symbol: String,
    side: OrderSide,
    quantity: Decimal,
    reduce_only: bool,
    client_order_id: String,
    market: String,
}

fn order_of(action: &Action) -> Result<Order, String> {
    let ActionPlan::ExchangeOrder {
        symbol,
        side,
        quantity,
        reduce_only,
        client_order_id,
        market,
        ..
    } = &action.plan
    else {
        return Err(format!("action #{} is not an exchange order", action.id));
    };
    Ok(Order {
        symbol: symbol.clone(),
        side: OrderSide::parse(side).ok_or_else(|| format!("side: {side:?}"))?,
        quantity: quantity
            .parse()
            .map_err(|_| format!("quantity: not a decimal: {quantity:?}"))?,
        reduce_only: *reduce_only,
        client_order_id: client_order_id.clone(),
        market: market.clone(),
    })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl HedgeExecutor {
    fn request(order: &Order) -> OrderRequest {
        OrderRequest {
            symbol: order.symbol.clone(),
            side: order.side,
            quantity: order.quantity,
            reduce_only: order.reduce_only,
            client_order_id: order.client_order_id.clone(),
        }
    }

    /// Sends `order` for hedge `hedge_id`, or finds it when a previous attempt (last sent
    /// at `maybe_sent_at`, unix seconds) may have placed it. `Ok(None)`: still pending on
    /// the venue (or its fate unknown for now) — try again later.
    async fn send_once(
        &self,
        hedge_id: i64,
        order: &Order,
        maybe_sent_at: Option<i64>,
    ) -> Result<Option<OrderReport>, Sent> {
        if let Some(sent_at) = maybe_sent_at {
            match self
                .venue
                .order(&order.symbol, &order.client_order_id)
                .await
            {
                Ok(Some(report)) if report.status.is_final() => return Ok(Some(report)),
                Ok(Some(_)) => return Ok(None),
                // Unknown to the venue, but the request may still arrive: wait it out.
                Ok(None) if now() - sent_at < self.lost_order_grace_secs => return Ok(None),
                // Never reached the venue: send it now, same id, and count the grace
                // from this send.
                Ok(None) => self
                    .store
                    .perp_mark_sent(hedge_id, now())
                    .await
                    .map_err(|e| Sent::Retry(format!("the hedge journal: {e}")))?,
                Err(e) => return Err(Sent::Retry(format!("looking up the order: {e}"))),
            }
        }
        match self.venue.place_order(&Self::request(order)).await {
            Ok(report) if report.status.is_final() => Ok(Some(report)),
            Ok(_) => Ok(None),
            Err(VenueError::Refused { message, .. }) => Err(Sent::Refused(message)),
            Err(e @ VenueError::Unknown { .. }) => {
                // Ask at once; if the venue cannot say yet, the next attempt asks again.
                match self
                    .venue
                    .order(&order.symbol, &order.client_order_id)
                    .await
                {
                    Ok(Some(report)) if report.status.is_final() => Ok(Some(report)),
                    _ => Err(Sent::Retry(e.to_string())),
                }
            }
            Err(e @ (VenueError::RateLimited { .. } | VenueError::Unavailable { .. })) => {
                Err(Sent::Retry(e.to_string()))
            }
        }
    }

    async fn open(&self, action: &Action) -> Result<ExecOutcome, String> {
        let order = order_of(action)?;
        let position_key = position_of_open_key(&action.key)
            .ok_or_else(|| {
                format!(
                    "action #{}: not an open_hedge key: {}",
                    action.id, action.key
                )
            })?
            .to_string();
        let store_err = |e: crate::store::StoreError| format!("the hedge journal: {e}");
        let existing = self
            .store
            .perp_hedge_by_open_client_id(&order.client_order_id)
            .await
            .map_err(store_err)?;
        let hedge = match existing {
            Some(h) if h.state != HedgeState::Opening => {
                return Ok(ExecOutcome::Confirmed {
                    reference: format!("hedge #{} already {}", h.id, h.state.as_str()),
                });
            }
            Some(h) => h,
            None => {
                let new = NewHedge {
                    market: order.market.clone(),
                    position_key: position_key.clone(),
                    venue: self.venue.name().to_string(),
                    symbol: order.symbol.clone(),
                    side: order.side,
                    quantity: order.quantity,
                    open_client_id: order.client_order_id.clone(),
                    open_action_id: Some(action.id),
                    reason: action.summary.clone(),
                    now: now(),
                };
                let Some(h) = self.store.perp_insert_hedge(new).await.map_err(store_err)? else {
                    return Err(format!(
                        "{position_key} already has a live hedge; nothing sent"
                    ));
                };
                if let Err(e) = self
                    .venue
                    .prepare_symbol(&order.symbol, self.leverage)
                    .await
                {
                    let why = format!("setting leverage and isolated margin: {e}");
                    self.store
                        .perp_mark_failed(h.id, why.clone(), now())
                        .await
                        .map_err(store_err)?;
                    return Err(why);
                }
                return self.finish_open(&h, &order, None).await;
            }
        };
        self.finish_open(&hedge, &order, Some(hedge.sent_at)).await
    }

    async fn finish_open(
        &self,
        hedge: &Hedge,
        order: &Order,
        maybe_sent_at: Option<i64>,
    ) -> Result<ExecOutcome, String> {
        let store_err = |e: crate::store::StoreError| format!("the hedge journal: {e}");
        match self.send_once(hedge.id, order, maybe_sent_at).await {
            Ok(Some(report)) if report.status == OrderStatus::Filled => {
                self.store
                    .perp_mark_open(hedge.id, report.executed_qty, report.avg_price, now())
                    .await
                    .map_err(store_err)?;
                Ok(ExecOutcome::Confirmed {
                    reference: report.venue_order_id.unwrap_or(report.client_order_id),
                })
            }
            Ok(Some(report)) => {
                let why = format!("the opening order ended {:?}", report.status);
                self.store
                    .perp_mark_failed(hedge.id, why.clone(), now())
                    .await
                    .map_err(store_err)?;
                Err(why)
            }
            Ok(None) => {
                self.defer(hedge, "the opening order is not filled yet".into())
                    .await
            }
            Err(Sent::Refused(why)) => {
                self.store
                    .perp_mark_failed(hedge.id, why.clone(), now())
                    .await
                    .map_err(store_err)?;
                Err(why)
            }
            Err(Sent::Retry(why)) => self.defer(hedge, why).await,
        }
    }

    async fn defer(&self, hedge: &Hedge, why: String) -> Result<ExecOutcome, String> {
        let note = format!("{why}; asking the venue again by client order id");
        self.store
            .perp_note_hedge(hedge.id, note.clone(), now())
            .await
            .map_err(|e| format!("the hedge journal: {e}"))?;
        Ok(ExecOutcome::Deferred { reason: note })
    }

    async fn close(&self, action: &Action) -> Result<ExecOutcome, String> {
        let order = order_of(action)?;
        let id = hedge_of_close_key(&action.key).ok_or_else(|| {
            format!(
                "action #{}: not a close_hedge key: {}",
                action.id, action.key
            )
        })?;
        let store_err = |e: crate::store::StoreError| format!("the hedge journal: {e}");
        let hedge = self
            .store
            .perp_hedge(id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| format!("no hedge #{id}"))?;
        let maybe_sent_at = match hedge.state {
            HedgeState::Open => {
                self.store
                    .perp_mark_closing(
                        id,
                        order.client_order_id.clone(),
                        Some(action.id),
                        action.summary.clone(),
                        now(),
                    )
                    .await
                    .map_err(store_err)?;
                None
            }
            HedgeState::Closing
                if hedge.close_client_id.as_deref() == Some(&order.client_order_id) =>
            {
                Some(hedge.sent_at)
            }
            state => {
                return Err(format!(
                    "hedge #{id} is {}: nothing to close; nothing sent",
                    state.as_str()
                ));
            }
        };
        match self.send_once(id, &order, maybe_sent_at).await {
            Ok(Some(report)) if report.status == OrderStatus::Filled => {
                self.store
                    .perp_mark_closed(id, Some(report.avg_price), now())
                    .await
                    .map_err(store_err)?;
                Ok(ExecOutcome::Confirmed {
                    reference: report.venue_order_id.unwrap_or(report.client_order_id),
                })
            }
            Ok(Some(report)) => {
                let why = format!("the closing order ended {:?}", report.status);
                self.store
                    .perp_reopen_after_failed_close(id, why.clone(), now())
                    .await
                    .map_err(store_err)?;
                Err(why)
            }
            Ok(None) => {
                self.defer(&hedge, "the closing order is not filled yet".into())
                    .await
            }
            Err(Sent::Refused(why)) => {
                self.store
                    .perp_reopen_after_failed_close(id, why.clone(), now())
                    .await
                    .map_err(store_err)?;
                Err(why)
            }
            Err(Sent::Retry(why)) => self.defer(&hedge, why).await,
        }
    }
}

/// Why an order did not settle in this attempt.
enum Sent {
    /// Refused: nothing was placed.
    Refused(String),
    /// Not known yet, or not sent (rate limit, unreachable): ask again later.
    Retry(String),
}

impl Executor for HedgeExecutor {
    fn execute<'a>(&'a self, action: &'a Action) -> ExecFuture<'a> {
        Box::pin(async move {
            match action.kind {
                ActionKind::OpenHedge => self.open(action).await,
                ActionKind::CloseHedge => self.close(action).await,
                other => Err(format!("the hedge executor does not run {other}")),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::actions::{ActionState, Estimate};
    use crate::desks::Desk;
    use crate::perp::venue::paper::{PaperMarks, PaperVenue};
    use crate::perp::venue::{LotRule, VenueFuture, VenuePosition};

    /// The paper venue, except that the next order is answered "unknown": placed anyway
    /// (the answer was lost), or not (the request was lost) when `drop_next` is set.
    struct LosesAnswers {
        paper: PaperVenue,
        lose_next: AtomicBool,
        drop_next: AtomicBool,
    }

    impl Venue for LosesAnswers {
        fn name(&self) -> &str {
            "paper"
        }
        fn prepare_symbol<'a>(&'a self, s: &'a str, l: u32) -> VenueFuture<'a, ()> {
            self.paper.prepare_symbol(s, l)
        }
        fn lot_rule<'a>(&'a self, s: &'a str) -> VenueFuture<'a, Option<LotRule>> {
            self.paper.lot_rule(s)
        }
        fn place_order<'a>(&'a self, order: &'a OrderRequest) -> VenueFuture<'a, OrderReport> {
            Box::pin(async move {
                if self.drop_next.swap(false, Ordering::SeqCst) {
                    return Err(VenueError::Unknown {
                        venue: "paper".into(),
                        client_order_id: order.client_order_id.clone(),
                        message: "503".into(),
                    });
                }
                let placed = self.paper.place_order(order).await?;
                if self.lose_next.swap(false, Ordering::SeqCst) {
                    return Err(VenueError::Unknown {
                        venue: "paper".into(),
                        client_order_id: placed.client_order_id,
                        message: "503".into(),
                    });
                }
                Ok(placed)
            })
        }
        fn order<'a>(&'a self, s: &'a str, c: &'a str) -> VenueFuture<'a, Option<OrderReport>> {
            self.paper.order(s, c)
        }
        fn positions(&self) -> VenueFuture<'_, Vec<VenuePosition>> {
            self.paper.positions()
        }
        fn mark_price<'a>(&'a self, s: &'a str) -> VenueFuture<'a, Decimal> {
            self.paper.mark_price(s)
        }
    }

    fn action(id: i64, kind: ActionKind, key: &str, side: &str, reduce_only: bool) -> Action {
        Action {
            id,
            key: key.into(),
            desk: Desk::Perp,
            kind,
            state: ActionState::Approved,
            summary: "vault drawdown".into(),
            plan: ActionPlan::ExchangeOrder {
                venue: "paper".into(),
                symbol: "BTCUSDT".into(),
                side: side.into(),
                quantity: "0.5".into(),
                order_type: "MARKET".into(),
                reduce_only,
                client_order_id: format!("hd-{id}"),
                market: "BTC-USD".into(),
            },
            estimate: Estimate::default(),
            note: None,
            tx_hash: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[tokio::test]
    async fn an_order_is_placed_once_however_often_its_action_runs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("x.sqlite"), Duration::from_secs(5)).unwrap();
        let marks = PaperMarks::default();
        marks.set("BTCUSDT", "60000".parse().unwrap());
        let venue = Arc::new(LosesAnswers {
            paper: PaperVenue::new(store.clone(), marks, 4),
            lose_next: AtomicBool::new(true),
            drop_next: AtomicBool::new(false),
        });
        let exec = HedgeExecutor {
            store: store.clone(),
            venue: venue.clone(),
            leverage: 10,
            lost_order_grace_secs: 0,
        };
        let position = "0xAb:0xCd:BTC-USD:long:1700000000";
        let open = action(
            1,
            ActionKind::OpenHedge,
            &format!("open_hedge:1:{position}"),
            "BUY",
            false,
        );
        // Placed, but the answer is lost: the executor asks by client order id and finds it.
        let outcome = exec.execute(&open).await.unwrap();
        assert!(
            matches!(outcome, ExecOutcome::Confirmed { .. }),
            "{outcome:?}"
        );
        let hedge = store
            .perp_hedge_by_open_client_id("hd-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(hedge.state, HedgeState::Open);
        assert_eq!(
            (hedge.market.as_str(), hedge.side),
            ("BTC-USD", OrderSide::Buy)
        );
        // Handed over again (a restart): nothing new is sent.
        exec.execute(&open).await.unwrap();
        assert_eq!(store.paper_fills().await.unwrap().len(), 1);
        // A second open of the same position is refused before anything is sent.
        let again = action(
            2,
            ActionKind::OpenHedge,
            &format!("open_hedge:2:{position}"),
            "BUY",
            false,
        );
        assert!(
            exec.execute(&again)
                .await
                .unwrap_err()
                .contains("already has a live hedge")
        );
        assert_eq!(store.paper_fills().await.unwrap().len(), 1);

        let close = action(
            3,
            ActionKind::CloseHedge,
            &format!("close_hedge:{}", hedge.id),
            "SELL",
            true,
        );
        exec.execute(&close).await.unwrap();
        let closed = store.perp_hedge(hedge.id).await.unwrap().unwrap();
        assert_eq!(closed.state, HedgeState::Closed);
        assert!(
            exec.execute(&close)
                .await
                .unwrap_err()
                .contains("nothing to close")
        );
        assert_eq!(store.paper_fills().await.unwrap().len(), 2);
        assert!(venue.positions().await.unwrap().is_empty());
    }

    #[test]
    fn action_keys_name_their_position_and_hedge() {
        let position = "0xAb:0xCd:BTC-USD:long:1700000000";
        assert_eq!(
            position_of_open_key(&format!("open_hedge:2:{position}")),
            Some(position)
        );
        assert_eq!(position_of_open_key("close_hedge:4"), None);
        assert_eq!(hedge_of_close_key("close_hedge:4"), Some(4));
        assert_eq!(hedge_of_close_key("close_hedge:4:2"), Some(4));
        assert_eq!(hedge_of_close_key("close_hedge:x"), None);
    }

    #[tokio::test]
    async fn an_order_the_venue_does_not_know_yet_is_waited_for_then_sent_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("x.sqlite"), Duration::from_secs(5)).unwrap();
        let marks = PaperMarks::default();
        marks.set("BTCUSDT", "60000".parse().unwrap());
        let venue = Arc::new(LosesAnswers {
            paper: PaperVenue::new(store.clone(), marks, 4),
            lose_next: AtomicBool::new(false),
            drop_next: AtomicBool::new(true),
        });
        let position = "0xAb:0xCd:BTC-USD:short:1700000000";
        let open = action(
            1,
            ActionKind::OpenHedge,
            &format!("open_hedge:1:{position}"),
            "SELL",
            false,
        );
        let mut exec = HedgeExecutor {
            store: store.clone(),
            venue: venue.clone(),
            leverage: 10,
            lost_order_grace_secs: 3_600,
        };
        // The request was lost: unknown, and the venue does not know the order.
        let first = exec.execute(&open).await.unwrap();
        assert!(matches!(first, ExecOutcome::Deferred { .. }), "{first:?}");
        // Within the grace the venue might still accept it: wait, do not send again.
        let second = exec.execute(&open).await.unwrap();
        assert!(matches!(second, ExecOutcome::Deferred { .. }), "{second:?}");
        assert!(store.paper_fills().await.unwrap().is_empty());
        // Past it, the order can no longer arrive: sent once more, with the same id.
        exec.lost_order_grace_secs = 0;
        let third = exec.execute(&open).await.unwrap();
        assert!(matches!(third, ExecOutcome::Confirmed { .. }), "{third:?}");
        let fills = store.paper_fills().await.unwrap();
        assert_eq!(fills.len(), 1);
        assert_eq!(fills[0].client_order_id, "hd-1");
        let hedge = store
            .perp_hedge_by_open_client_id("hd-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(hedge.state, HedgeState::Open);
    }

    #[tokio::test]
    async fn the_grace_for_a_lost_order_counts_from_its_send_not_from_the_last_retry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("x.sqlite"), Duration::from_secs(5)).unwrap();
        let marks = PaperMarks::default();
        marks.set("BTCUSDT", "60000".parse().unwrap());
        let venue = Arc::new(LosesAnswers {
            paper: PaperVenue::new(store.clone(), marks, 4),
            lose_next: AtomicBool::new(false),
            drop_next: AtomicBool::new(true),
        });
        let open = action(
            1,
            ActionKind::OpenHedge,
            "open_hedge:1:0xAb:0xCd:BTC-USD:long:1700000000",
            "BUY",
            false,
        );
        let exec = HedgeExecutor {
            store: store.clone(),
            venue: venue.clone(),
            leverage: 10,
            lost_order_grace_secs: 3,
        };
        let first = exec.execute(&open).await.unwrap();
        assert!(matches!(first, ExecOutcome::Deferred { .. }), "{first:?}");
        // A retry inside the grace writes a note on the hedge; that is not a send.
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let second = exec.execute(&open).await.unwrap();
        assert!(matches!(second, ExecOutcome::Deferred { .. }), "{second:?}");
        tokio::time::sleep(Duration::from_millis(2_200)).await;
        let third = exec.execute(&open).await.unwrap();
        assert!(matches!(third, ExecOutcome::Confirmed { .. }), "{third:?}");
        assert_eq!(store.paper_fills().await.unwrap().len(), 1);
    }
}
