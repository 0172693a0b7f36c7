//! The perp desk's hedges and the paper venue's fills.
//!
//! A hedge row is written before its order is sent (state `opening`, with our client order
//! id), so a crash between sending and hearing back leaves a row to reconcile by that id
//! with the venue; the partial unique index allows one live hedge per trader position, so a
//! restart can neither forget nor double one.

use rusqlite::{OptionalExtension, Row, params};
use rust_decimal::Decimal;

use super::{Store, StoreError};
use crate::perp::venue::OrderSide;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HedgeState {
    /// Journaled; the opening order is being sent or its outcome is not known yet.
    Opening,
    Open,
    /// The closing order is being sent or its outcome is not known yet.
    Closing,
    Closed,
    /// The opening order was refused: nothing is held on the venue.
    Failed,
}

impl HedgeState {
    pub fn as_str(self) -> &'static str {
        match self {
            HedgeState::Opening => "opening",
            HedgeState::Open => "open",
            HedgeState::Closing => "closing",
            HedgeState::Closed => "closed",
            HedgeState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<HedgeState> {
        [
            HedgeState::Opening,
            HedgeState::Open,
            HedgeState::Closing,
            HedgeState::Closed,
            HedgeState::Failed,
        ]
        .into_iter()
        .find(|h| h.as_str() == s)
    }

    /// Whether the hedge holds (or may hold) a position on the venue.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            HedgeState::Opening | HedgeState::Open | HedgeState::Closing
        )
    }
}

/// A hedge as journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hedge {
    pub id: i64,
    pub position_key: String,
    pub venue: String,
    pub market: String,
    pub symbol: String,
    pub side: OrderSide,
    pub quantity: Decimal,
    pub state: HedgeState,
    pub open_client_id: String,
    pub open_action_id: Option<i64>,
    pub entry_price: Option<Decimal>,
    pub close_client_id: Option<String>,
    pub close_action_id: Option<i64>,
    pub close_reason: Option<String>,
    pub exit_price: Option<Decimal>,
    /// Why it was opened (the flags and their numbers).
    pub reason: String,
    /// The last thing that went wrong with it, for the pane.
    pub note: Option<String>,
    /// When a risk flag was last seen on its position (unix seconds).
    pub last_flag_at: i64,
    pub opened_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// When its current order (opening, then closing) was last sent (unix seconds): how
    /// long the venue may still take to hear of it is counted from here.
    pub sent_at: i64,
}

/// A hedge about to be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHedge {
    pub position_key: String,
    pub venue: String,
    pub market: String,
    pub symbol: String,
    pub side: OrderSide,
    pub quantity: Decimal,
    pub open_client_id: String,
    pub open_action_id: Option<i64>,
    pub reason: String,
    pub now: i64,
}

/// One paper fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperFill {
    pub client_order_id: String,
    pub symbol: String,
    pub side: OrderSide,
    pub quantity: Decimal,
    pub price: Decimal,
    pub fee: Decimal,
    pub reduce_only: bool,
    pub filled_at: i64,
}

fn decimal(row: &Row<'_>, idx: usize, name: &str) -> rusqlite::Result<Decimal> {
    let text: String = row.get(idx)?;
    text.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("{name}: not a decimal: {text:?}").into(),
        )
    })
}

fn opt_decimal(row: &Row<'_>, idx: usize, name: &str) -> rusqlite::Result<Option<Decimal>> {
    match row.get::<_, Option<String>>(idx)? {
        None => Ok(None),
        Some(_) => decimal(row, idx, name).map(Some),
    }
}

fn side(row: &Row<'_>, idx: usize) -> rusqlite::Result<OrderSide> {
    let text: String = row.get(idx)?;
    OrderSide::parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("side: {text:?}").into(),
        )
    })
}

const HEDGE_COLUMNS: &str = "id, position_key, venue, market, symbol, side, quantity, state, \
     open_client_id, open_action_id, entry_price, close_client_id, close_action_id, \
     close_reason, exit_price, reason, note, last_flag_at, opened_at, closed_at, created_at, \
     updated_at, sent_at";

fn hedge_row(r: &Row<'_>) -> rusqlite::Result<Hedge> {
    let state: String = r.get(7)?;
    Ok(Hedge {
        id: r.get(0)?,
        position_key: r.get(1)?,
        venue: r.get(2)?,
        market: r.get(3)?,
        symbol: r.get(4)?,
        side: side(r, 5)?,
        quantity: decimal(r, 6, "quantity")?,
        state: HedgeState::parse(&state).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                7,
                rusqlite::types::Type::Text,
                format!("state: {state:?}").into(),
            )
        })?,
        open_client_id: r.get(8)?,
        open_action_id: r.get(9)?,
        entry_price: opt_decimal(r, 10, "entry_price")?,
        close_client_id: r.get(11)?,
        close_action_id: r.get(12)?,
        close_reason: r.get(13)?,
        exit_price: opt_decimal(r, 14, "exit_price")?,
        reason: r.get(15)?,
        note: r.get(16)?,
        last_flag_at: r.get(17)?,
        opened_at: r.get(18)?,
        closed_at: r.get(19)?,
        created_at: r.get(20)?,
        updated_at: r.get(21)?,
        sent_at: r.get::<_, Option<i64>>(22)?.unwrap_or_default(),
    })
}

fn hedge_by_id(c: &rusqlite::Connection, id: i64) -> Result<Option<Hedge>, StoreError> {
    Ok(c.query_row(
        &format!("SELECT {HEDGE_COLUMNS} FROM perp_hedges WHERE id = ?1"),
        [id],
        hedge_row,
    )
    .optional()?)
}

/// Applies `sql` (with `?1` the hedge id) only when the hedge is in one of `from`; returns
/// the hedge as it is afterwards, or an `Invalid` error saying which state it was in.
fn transition(
    c: &mut rusqlite::Connection,
    id: i64,
    from: &[HedgeState],
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Hedge, StoreError> {
    let tx = c.transaction()?;
    let current =
        hedge_by_id(&tx, id)?.ok_or_else(|| StoreError::Invalid(format!("no perp hedge #{id}")))?;
    if !from.contains(&current.state) {
        return Err(StoreError::Invalid(format!(
            "perp hedge #{id} is {}, expected {}",
            current.state.as_str(),
            from.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    tx.execute(sql, args)?;
    let after = hedge_by_id(&tx, id)?.expect("the hedge exists");
    tx.commit()?;
    Ok(after)
}

impl Store {
    /// Journals a hedge before its opening order is sent. Refused (`Ok(None)`) when the
    /// position already has a live hedge.
    pub async fn perp_insert_hedge(&self, h: NewHedge) -> Result<Option<Hedge>, StoreError> {
        self.call(move |c| {
            let inserted = c.execute(
                "INSERT INTO perp_hedges(position_key, venue, market, symbol, side, quantity,
                     state, open_client_id, open_action_id, reason, last_flag_at, created_at,
                     updated_at, sent_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'opening', ?7, ?8, ?9, ?10, ?10, ?10, ?10)
                 ON CONFLICT DO NOTHING",
                params![
                    h.position_key,
                    h.venue,
                    h.market,
                    h.symbol,
                    h.side.as_str(),
                    h.quantity.to_string(),
                    h.open_client_id,
                    h.open_action_id,
                    h.reason,
                    h.now
                ],
            )?;
            if inserted == 0 {
                return Ok(None);
            }
            hedge_by_id(c, c.last_insert_rowid())
        })
        .await
    }

    /// Hedges that hold or may hold something on a venue.
    pub async fn perp_live_hedges(&self) -> Result<Vec<Hedge>, StoreError> {
        self.call(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {HEDGE_COLUMNS} FROM perp_hedges
                 WHERE state IN ('opening','open','closing') ORDER BY id"
            ))?;
            let rows = stmt.query_map([], hedge_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// The newest `limit` hedges of any state, newest first.
    pub async fn perp_recent_hedges(&self, limit: usize) -> Result<Vec<Hedge>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {HEDGE_COLUMNS} FROM perp_hedges ORDER BY id DESC LIMIT ?1"
            ))?;
            let rows = stmt.query_map([limit as i64], hedge_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn perp_hedge(&self, id: i64) -> Result<Option<Hedge>, StoreError> {
        self.call(move |c| hedge_by_id(c, id)).await
    }

    /// The hedge whose opening order carries `open_client_id`.
    pub async fn perp_hedge_by_open_client_id(
        &self,
        open_client_id: &str,
    ) -> Result<Option<Hedge>, StoreError> {
        let id = open_client_id.to_string();
        self.call(move |c| {
            Ok(c.query_row(
                &format!("SELECT {HEDGE_COLUMNS} FROM perp_hedges WHERE open_client_id = ?1"),
                [id],
                hedge_row,
            )
            .optional()?)
        })
        .await
    }

    /// The opening order filled (or was found filled).
    pub async fn perp_mark_open(
        &self,
        id: i64,
        quantity: Decimal,
        entry_price: Decimal,
        now: i64,
    ) -> Result<Hedge, StoreError> {
        self.call(move |c| {
            transition(
                c,
                id,
                &[HedgeState::Opening, HedgeState::Open],
                "UPDATE perp_hedges SET state = 'open', quantity = ?2, entry_price = ?3,
                     opened_at = COALESCE(opened_at, ?4), note = NULL, updated_at = ?4
                 WHERE id = ?1",
                &[&id, &quantity.to_string(), &entry_price.to_string(), &now],
            )
        })
        .await
    }

    /// The risk is still there: the hedge stays.
    pub async fn perp_refresh_hedge(&self, id: i64, now: i64) -> Result<Hedge, StoreError> {
        self.call(move |c| {
            transition(
                c,
                id,
                &[HedgeState::Opening, HedgeState::Open],
                "UPDATE perp_hedges SET last_flag_at = ?2 WHERE id = ?1",
                &[&id, &now],
            )
        })
        .await
    }

    /// Journals the closing order before it is sent.
    pub async fn perp_mark_closing(
        &self,
        id: i64,
        close_client_id: String,
        close_action_id: Option<i64>,
        close_reason: String,
        now: i64,
    ) -> Result<Hedge, StoreError> {
        self.call(move |c| {
            transition(
                c,
                id,
                &[HedgeState::Open],
                "UPDATE perp_hedges SET state = 'closing', close_client_id = ?2,
                     close_action_id = ?3, close_reason = ?4, updated_at = ?5, sent_at = ?5
                 WHERE id = ?1",
                &[&id, &close_client_id, &close_action_id, &close_reason, &now],
            )
        })
        .await
    }

    /// The closing order filled: nothing is held any more.
    pub async fn perp_mark_closed(
        &self,
        id: i64,
        exit_price: Option<Decimal>,
        now: i64,
    ) -> Result<Hedge, StoreError> {
        self.call(move |c| {
            transition(
                c,
                id,
                &[HedgeState::Closing],
                "UPDATE perp_hedges SET state = 'closed', exit_price = ?2, closed_at = ?3,
                     note = NULL, updated_at = ?3
                 WHERE id = ?1",
                &[&id, &exit_price.map(|p| p.to_string()), &now],
            )
        })
        .await
    }

    /// The opening order was refused or never reached the venue: nothing is held.
    pub async fn perp_mark_failed(
        &self,
        id: i64,
        note: String,
        now: i64,
    ) -> Result<Hedge, StoreError> {
        self.call(move |c| {
            transition(
                c,
                id,
                &[HedgeState::Opening],
                "UPDATE perp_hedges SET state = 'failed', note = ?2, closed_at = ?3,
                     updated_at = ?3
                 WHERE id = ?1",
                &[&id, &note, &now],
            )
        })
        .await
    }

    /// A closing order that was refused: the hedge is open again (and says why).
    pub async fn perp_reopen_after_failed_close(
        &self,
        id: i64,
        note: String,
        now: i64,
    ) -> Result<Hedge, StoreError> {
        self.call(move |c| {
            transition(
                c,
                id,
                &[HedgeState::Closing],
                "UPDATE perp_hedges SET state = 'open', close_client_id = NULL,
                     close_action_id = NULL, close_reason = NULL, note = ?2, updated_at = ?3
                 WHERE id = ?1",
                &[&id, &note, &now],
            )
        })
        .await
    }

    /// Something to say about a hedge on the pane (a retry pending, an unknown outcome).
    pub async fn perp_note_hedge(&self, id: i64, note: String, now: i64) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute(
                "UPDATE perp_hedges SET note = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, note, now],
            )?;
            Ok(())
        })
        .await
    }

    /// Its current order is being sent again (the venue never heard of the first send).
    pub async fn perp_mark_sent(&self, id: i64, now: i64) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute(
                "UPDATE perp_hedges SET sent_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            Ok(())
        })
        .await
    }

    /// Records a paper fill once: a second fill with the same client order id returns the
    /// first and records nothing.
    pub async fn paper_record_fill(&self, fill: PaperFill) -> Result<PaperFill, StoreError> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO paper_fills(client_order_id, symbol, side, quantity, price, fee,
                     reduce_only, filled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(client_order_id) DO NOTHING",
                params![
                    fill.client_order_id,
                    fill.symbol,
                    fill.side.as_str(),
                    fill.quantity.to_string(),
                    fill.price.to_string(),
                    fill.fee.to_string(),
                    fill.reduce_only,
                    fill.filled_at
                ],
            )?;
            Ok(paper_fill_by_id(c, &fill.client_order_id)?.expect("just recorded"))
        })
        .await
    }

    pub async fn paper_fill(&self, client_order_id: &str) -> Result<Option<PaperFill>, StoreError> {
        let id = client_order_id.to_string();
        self.call(move |c| paper_fill_by_id(c, &id)).await
    }

    /// Every paper fill, oldest first.
    pub async fn paper_fills(&self) -> Result<Vec<PaperFill>, StoreError> {
        self.call(|c| {
            let mut stmt = c.prepare(
                "SELECT client_order_id, symbol, side, quantity, price, fee, reduce_only,
                     filled_at
                 FROM paper_fills ORDER BY filled_at, rowid",
            )?;
            let rows = stmt.query_map([], paper_fill_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}

fn paper_fill_row(r: &Row<'_>) -> rusqlite::Result<PaperFill> {
    Ok(PaperFill {
        client_order_id: r.get(0)?,
        symbol: r.get(1)?,
        side: side(r, 2)?,
        quantity: decimal(r, 3, "quantity")?,
        price: decimal(r, 4, "price")?,
        fee: decimal(r, 5, "fee")?,
        reduce_only: r.get(6)?,
        filled_at: r.get(7)?,
    })
}

fn paper_fill_by_id(
    c: &rusqlite::Connection,
    client_order_id: &str,
) -> Result<Option<PaperFill>, StoreError> {
    Ok(c.query_row(
        "SELECT client_order_id, symbol, side, quantity, price, fee, reduce_only, filled_at
         FROM paper_fills WHERE client_order_id = ?1",
        [client_order_id],
        paper_fill_row,
    )
    .optional()?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite"), Duration::from_secs(5)).unwrap();
        (dir, store)
    }

    fn new_hedge(key: &str, client: &str) -> NewHedge {
        NewHedge {
            position_key: key.into(),
            venue: "paper".into(),
            market: "BTC-USD".into(),
            symbol: "BTCUSDT".into(),
            side: OrderSide::Buy,
            quantity: "0.125".parse().unwrap(),
            open_client_id: client.into(),
            open_action_id: Some(7),
            reason: "vault drawdown".into(),
            now: 100,
        }
    }

    #[tokio::test]
    async fn one_live_hedge_per_position_through_its_whole_life() {
        let (_dir, store) = store();
        let h = store
            .perp_insert_hedge(new_hedge("p1", "hd-1"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(h.state, HedgeState::Opening);
        assert_eq!(h.quantity.to_string(), "0.125");
        // A second live hedge of the same position is refused; another position is fine.
        assert!(
            store
                .perp_insert_hedge(new_hedge("p1", "hd-2"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .perp_insert_hedge(new_hedge("p2", "hd-3"))
                .await
                .unwrap()
                .is_some()
        );
        // Closing an opening hedge is refused with the state named.
        let err = store
            .perp_mark_closing(h.id, "hd-1c".into(), None, "risk cleared".into(), 101)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is opening"), "{err}");

        let open = store
            .perp_mark_open(
                h.id,
                "0.12".parse().unwrap(),
                "60000.5".parse().unwrap(),
                102,
            )
            .await
            .unwrap();
        assert_eq!(
            (open.state, open.opened_at, open.entry_price),
            (
                HedgeState::Open,
                Some(102),
                Some("60000.5".parse().unwrap())
            )
        );
        store.perp_refresh_hedge(h.id, 110).await.unwrap();
        let closing = store
            .perp_mark_closing(h.id, "hd-1c".into(), Some(9), "risk cleared".into(), 200)
            .await
            .unwrap();
        assert_eq!(closing.last_flag_at, 110);
        assert_eq!(closing.close_client_id.as_deref(), Some("hd-1c"));
        let closed = store
            .perp_mark_closed(h.id, Some("61000".parse().unwrap()), 201)
            .await
            .unwrap();
        assert_eq!(closed.state, HedgeState::Closed);
        // Once closed, the position may be hedged again.
        assert!(
            store
                .perp_insert_hedge(new_hedge("p1", "hd-4"))
                .await
                .unwrap()
                .is_some()
        );
        let live: Vec<String> = store
            .perp_live_hedges()
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.open_client_id)
            .collect();
        assert_eq!(live, vec!["hd-3", "hd-4"]);
        // A client order id is never reused.
        assert!(
            store
                .perp_insert_hedge(new_hedge("p9", "hd-1"))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_paper_fill_is_recorded_once() {
        let (_dir, store) = store();
        let fill = PaperFill {
            client_order_id: "hd-1".into(),
            symbol: "BTCUSDT".into(),
            side: OrderSide::Sell,
            quantity: "0.5".parse().unwrap(),
            price: "60000".parse().unwrap(),
            fee: "12".parse().unwrap(),
            reduce_only: false,
            filled_at: 5,
        };
        assert_eq!(store.paper_record_fill(fill.clone()).await.unwrap(), fill);
        let mut again = fill.clone();
        again.price = "1".parse().unwrap();
        assert_eq!(store.paper_record_fill(again).await.unwrap(), fill);
        assert_eq!(store.paper_fills().await.unwrap(), vec![fill]);
        assert_eq!(store.paper_fill("nope").await.unwrap(), None);
    }
}
