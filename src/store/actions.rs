//! The action journal: one row per action, one audit row per state change, written
//! in the same transaction so the trail can never disagree with the state.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::writer::{StoreError, now_ms};
use crate::actions::{
    Action, ActionEvent, ActionId, ActionKind, ActionPlan, ActionState, Actor, Estimate, NewAction,
};
use crate::desks::Desk;

/// What happened to a proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposeOutcome {
    /// A new row was journaled.
    Created(Action),
    /// The idempotency key was already journaled; nothing was written.
    Existing(Action),
}

impl ProposeOutcome {
    pub fn action(&self) -> &Action {
        match self {
            ProposeOutcome::Created(a) | ProposeOutcome::Existing(a) => a,
        }
    }
}

/// Which rows a listing returns, newest first.
#[derive(Debug, Clone, Default)]
pub struct ActionFilter {
    pub state: Option<ActionState>,
    pub desk: Option<Desk>,
    pub limit: u32,
}

const COLUMNS: &str = "id, idem_key, desk, kind, state, summary, plan_json, gas_cost_wei, \
                       profit_usd_cents, note, tx_hash, created_at, updated_at";

impl crate::store::Store {
    /// Journals a proposal in `state` (the policy's decision), or returns the existing
    /// action with the same idempotency key.
    pub async fn propose_action(
        &self,
        new: NewAction,
        state: ActionState,
        actor: Actor,
        note: Option<String>,
    ) -> Result<ProposeOutcome, StoreError> {
        self.call(move |c| propose(c, &new, state, actor, note.as_deref()))
            .await
    }

    /// Moves an action along its lifecycle, refusing moves the lifecycle forbids.
    pub async fn transition_action(
        &self,
        id: ActionId,
        to: ActionState,
        actor: Actor,
        note: Option<String>,
        tx_hash: Option<String>,
    ) -> Result<Action, StoreError> {
        self.call(move |c| transition(c, id, to, actor, note.as_deref(), tx_hash.as_deref()))
            .await
    }

    /// The action journaled under an idempotency key, if any.
    pub async fn action_by_key(&self, key: &str) -> Result<Option<Action>, StoreError> {
        let key = key.to_string();
        self.call(move |c| get_by_key(c, &key)).await
    }

    /// The attempts journaled under each of `prefixes` (keys `<prefix>:1`, `<prefix>:2`, …
    /// while consecutive), oldest first, in one query however many prefixes: a desk
    /// following a thousand contracts reads its actions once a cycle, not once per attempt.
    pub async fn action_attempts(
        &self,
        prefixes: Vec<String>,
    ) -> Result<BTreeMap<String, Vec<Action>>, StoreError> {
        self.call(move |c| attempts(c, &prefixes)).await
    }

    /// The attempts under one prefix (see [`Store::action_attempts`]).
    pub async fn action_attempts_of(&self, prefix: &str) -> Result<Vec<Action>, StoreError> {
        let prefix = prefix.to_string();
        self.call(move |c| {
            Ok(attempts(c, std::slice::from_ref(&prefix))?
                .remove(&prefix)
                .unwrap_or_default())
        })
        .await
    }

    /// Every action still in flight plus the `recent` newest finished ones.
    pub async fn live_actions(&self, recent: u32) -> Result<Vec<Action>, StoreError> {
        self.call(move |c| live(c, recent)).await
    }

    /// One action, if it exists.
    pub async fn action(&self, id: ActionId) -> Result<Option<Action>, StoreError> {
        self.call(move |c| get(c, id)).await
    }

    pub fn list_actions_blocking(&self, filter: ActionFilter) -> Result<Vec<Action>, StoreError> {
        self.call_blocking(move |c| list(c, &filter))
    }

    pub fn action_with_events_blocking(
        &self,
        id: ActionId,
    ) -> Result<Option<(Action, Vec<ActionEvent>)>, StoreError> {
        self.call_blocking(move |c| {
            let Some(action) = get(c, id)? else {
                return Ok(None);
            };
            Ok(Some((action, events(c, id)?)))
        })
    }
}

pub fn propose(
    conn: &mut Connection,
    new: &NewAction,
    state: ActionState,
    actor: Actor,
    note: Option<&str>,
) -> Result<ProposeOutcome, StoreError> {
    if new.key.trim().is_empty() {
        return Err(StoreError::Invalid("action key: must not be empty".into()));
    }
    if !matches!(
        state,
        ActionState::Proposed | ActionState::Approved | ActionState::Rejected
    ) {
        return Err(StoreError::Invalid(format!(
            "action state: a proposal starts as proposed, approved or rejected, not {state}"
        )));
    }
    let plan_json =
        serde_json::to_string(&new.plan).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let now = now_ms();
    let tx = conn.transaction()?;
    let inserted = tx.execute(
        "INSERT INTO actions (idem_key, desk, kind, state, summary, plan_json, gas_cost_wei,
                              profit_usd_cents, note, tx_hash, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10, ?10)
         ON CONFLICT(idem_key) DO NOTHING",
        params![
            new.key,
            new.kind.desk().as_str(),
            new.kind.as_str(),
            state.as_str(),
            new.summary,
            plan_json,
            new.estimate.gas_cost_wei.to_string(),
            new.estimate.profit_usd_cents,
            note,
            now
        ],
    )?;
    if inserted == 0 {
        let existing = get_by_key(&tx, &new.key)?
            .ok_or_else(|| StoreError::Invalid("action vanished during propose".into()))?;
        tx.commit()?;
        return Ok(ProposeOutcome::Existing(existing));
    }
    let id = tx.last_insert_rowid();
    record_event(&tx, id, None, ActionState::Proposed, Actor::Desk, None, now)?;
    if state != ActionState::Proposed {
        record_event(
            &tx,
            id,
            Some(ActionState::Proposed),
            state,
            actor,
            note,
            now,
        )?;
    }
    let action = get(&tx, id)?.ok_or_else(|| StoreError::Invalid("insert lost".into()))?;
    tx.commit()?;
    Ok(ProposeOutcome::Created(action))
}

pub fn transition(
    conn: &mut Connection,
    id: ActionId,
    to: ActionState,
    actor: Actor,
    note: Option<&str>,
    tx_hash: Option<&str>,
) -> Result<Action, StoreError> {
    let tx = conn.transaction()?;
    let current =
        get(&tx, id)?.ok_or_else(|| StoreError::Invalid(format!("action {id}: no such action")))?;
    if !current.state.can_move_to(to) {
        return Err(StoreError::Invalid(format!(
            "action {id}: cannot move from {} to {to}",
            current.state
        )));
    }
    let now = now_ms();
    tx.execute(
        "UPDATE actions SET state = ?2, note = COALESCE(?3, note), tx_hash = COALESCE(?4, tx_hash),
                            updated_at = ?5
         WHERE id = ?1",
        params![id, to.as_str(), note, tx_hash, now],
    )?;
    record_event(&tx, id, Some(current.state), to, actor, note, now)?;
    let action = get(&tx, id)?.ok_or_else(|| StoreError::Invalid("update lost".into()))?;
    tx.commit()?;
    Ok(action)
}

fn record_event(
    conn: &Connection,
    id: ActionId,
    from: Option<ActionState>,
    to: ActionState,
    actor: Actor,
    note: Option<&str>,
    at: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO action_events (action_id, from_state, to_state, actor, note, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            id,
            from.map(|s| s.as_str()),
            to.as_str(),
            actor.as_str(),
            note,
            at
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: ActionId) -> Result<Option<Action>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM actions WHERE id = ?1");
    let row = conn.query_row(&sql, [id], read_row).optional()?;
    row.transpose()
}

pub fn attempts(
    conn: &Connection,
    prefixes: &[String],
) -> Result<BTreeMap<String, Vec<Action>>, StoreError> {
    // Keys `<prefix>:<n>` sort between `<prefix>:` and `<prefix>;` (';' follows ':'), so
    // each prefix is one range of the unique index.
    let sql = format!(
        "SELECT j.value, {} FROM json_each(?1) j JOIN actions a
           ON a.idem_key > j.value || ':' AND a.idem_key < j.value || ';'",
        COLUMNS
            .split(", ")
            .map(|c| format!("a.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let list = serde_json::to_string(prefixes).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut stmt = conn.prepare(&sql)?;
    let mut numbered: BTreeMap<String, BTreeMap<u32, Action>> = prefixes
        .iter()
        .map(|p| (p.clone(), BTreeMap::new()))
        .collect();
    let mut rows = stmt.query([list])?;
    while let Some(row) = rows.next()? {
        let prefix: String = row.get(0)?;
        let key: String = row.get(2)?;
        let n = key
            .strip_prefix(prefix.as_str())
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|n| n.parse::<u32>().ok());
        if let Some(n) = n {
            let action = read_row_at(row, 1)??;
            numbered.entry(prefix).or_default().insert(n, action);
        }
    }
    Ok(numbered
        .into_iter()
        .map(|(prefix, by_n)| {
            let run = by_n
                .into_iter()
                .zip(1u32..)
                .take_while(|((n, _), expected)| n == expected)
                .map(|((_, action), _)| action)
                .collect();
            (prefix, run)
        })
        .collect())
}

fn get_by_key(conn: &Connection, key: &str) -> Result<Option<Action>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM actions WHERE idem_key = ?1");
    let row = conn.query_row(&sql, [key], read_row).optional()?;
    row.transpose()
}

pub fn list(conn: &Connection, filter: &ActionFilter) -> Result<Vec<Action>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM actions
         WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR desk = ?2)
         ORDER BY id DESC LIMIT ?3"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(
        params![
            filter.state.map(|s| s.as_str()),
            filter.desk.map(|d| d.as_str()),
            filter.limit.max(1)
        ],
        read_row,
    )?;
    rows.map(|r| r?).collect()
}

pub fn live(conn: &Connection, recent: u32) -> Result<Vec<Action>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM actions WHERE state IN ('proposed','approved','sent')
         UNION ALL
         SELECT * FROM (SELECT {COLUMNS} FROM actions
                        WHERE state IN ('rejected','confirmed','failed')
                        ORDER BY id DESC LIMIT ?1)
         ORDER BY id DESC"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([recent], read_row)?;
    rows.map(|r| r?).collect()
}

pub fn events(conn: &Connection, id: ActionId) -> Result<Vec<ActionEvent>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT action_id, from_state, to_state, actor, note, at FROM action_events
         WHERE action_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    rows.map(|r| {
        let (action_id, from, to, actor, note, at) = r?;
        Ok(ActionEvent {
            action_id,
            from: from.map(|s| parse_col("from_state", &s)).transpose()?,
            to: parse_col("to_state", &to)?,
            actor: serde_json::from_value(serde_json::Value::String(actor.clone()))
                .map_err(|_| StoreError::Invalid(format!("actor: unknown value `{actor}`")))?,
            note,
            at,
        })
    })
    .collect()
}

/// Rows are decoded in two steps so that a corrupt value becomes a `StoreError`
/// naming its column instead of a panic.
fn read_row(r: &Row<'_>) -> rusqlite::Result<Result<Action, StoreError>> {
    read_row_at(r, 0)
}

/// An action from `COLUMNS` starting at column `at`.
fn read_row_at(r: &Row<'_>, at: usize) -> rusqlite::Result<Result<Action, StoreError>> {
    let id: i64 = r.get(at)?;
    let key: String = r.get(at + 1)?;
    let kind: String = r.get(at + 3)?;
    let state: String = r.get(at + 4)?;
    let summary: String = r.get(at + 5)?;
    let plan_json: String = r.get(at + 6)?;
    let gas: String = r.get(at + 7)?;
    let profit: Option<i64> = r.get(at + 8)?;
    let note: Option<String> = r.get(at + 9)?;
    let tx_hash: Option<String> = r.get(at + 10)?;
    let created_at: i64 = r.get(at + 11)?;
    let updated_at: i64 = r.get(at + 12)?;
    Ok((|| {
        let kind: ActionKind = parse_col("kind", &kind)?;
        let plan: ActionPlan = serde_json::from_str(&plan_json)
            .map_err(|e| StoreError::Invalid(format!("action {id} plan_json: {e}")))?;
        let gas_cost_wei: u128 = gas
            .parse()
            .map_err(|_| StoreError::Invalid(format!("action {id} gas_cost_wei: `{gas}`")))?;
        Ok(Action {
            id,
            key,
            desk: kind.desk(),
            kind,
            state: parse_col("state", &state)?,
            summary,
            plan,
            estimate: Estimate {
                gas_cost_wei,
                profit_usd_cents: profit,
            },
            note,
            tx_hash,
            created_at,
            updated_at,
        })
    })())
}

fn parse_col<T: std::str::FromStr<Err = String>>(col: &str, v: &str) -> Result<T, StoreError> {
    v.parse()
        .map_err(|e| StoreError::Invalid(format!("{col}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::migrations::migrate;

    fn conn() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        c
    }

    pub(crate) fn sample(key: &str) -> NewAction {
        NewAction {
            key: key.into(),
            kind: ActionKind::Liquidate,
            summary: "liquidate position 42".into(),
            plan: ActionPlan::ContractCall {
                chain: "devnet".into(),
                contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
                contract_name: "MarginModule".into(),
                function: "liquidate(uint256,address)".into(),
                args: vec![("positionId".into(), "42".into())],
                value_wei: "0".into(),
                gas_limit: 250_000,
                calldata: String::new(),
            },
            estimate: Estimate {
                gas_cost_wei: 5_000_000_000_000_000u128 * 1_000,
                profit_usd_cents: Some(1_250),
            },
        }
    }

    #[test]
    fn attempts_are_the_consecutive_run_of_each_prefix_in_one_query() {
        let mut c = conn();
        for key in [
            "settle:0xab:1",
            "settle:0xab:2",
            "settle:0xab:4",  // after a gap: not an attempt of the run
            "settle:0xabc:1", // another contract whose address extends the prefix
            "settle:0xab:x",  // not numbered
            "settle:0xcd:2",  // no first attempt
            "other:0xab:1",
        ] {
            propose(
                &mut c,
                &sample(key),
                ActionState::Proposed,
                Actor::Desk,
                None,
            )
            .unwrap();
        }
        let prefixes = ["settle:0xab", "settle:0xcd", "settle:0xef"].map(String::from);
        let found = attempts(&c, &prefixes).unwrap();
        let keys = |p: &str| -> Vec<String> { found[p].iter().map(|a| a.key.clone()).collect() };
        assert_eq!(keys("settle:0xab"), ["settle:0xab:1", "settle:0xab:2"]);
        assert!(keys("settle:0xcd").is_empty());
        assert!(keys("settle:0xef").is_empty());
        assert_eq!(found.len(), 3);
        assert_eq!(found["settle:0xab"][1].summary, "liquidate position 42");
    }

    #[test]
    fn propose_is_idempotent_by_key() {
        let mut c = conn();
        let first = propose(
            &mut c,
            &sample("k1"),
            ActionState::Proposed,
            Actor::Desk,
            None,
        )
        .unwrap();
        assert!(matches!(first, ProposeOutcome::Created(_)));
        let again = propose(
            &mut c,
            &sample("k1"),
            ActionState::Approved,
            Actor::Policy,
            None,
        )
        .unwrap();
        assert_eq!(again, ProposeOutcome::Existing(first.action().clone()));
        assert_eq!(
            list(
                &c,
                &ActionFilter {
                    limit: 10,
                    ..Default::default()
                }
            )
            .unwrap()
            .len(),
            1
        );
    }

    #[test]
    fn big_wei_amounts_survive_the_round_trip() {
        let mut c = conn();
        let a = propose(
            &mut c,
            &sample("big"),
            ActionState::Proposed,
            Actor::Desk,
            None,
        )
        .unwrap();
        assert_eq!(
            a.action().estimate.gas_cost_wei,
            5_000_000_000_000_000_000u128
        );
    }

    #[test]
    fn transitions_follow_the_lifecycle_and_leave_an_audit_trail() {
        let mut c = conn();
        let id = propose(
            &mut c,
            &sample("k"),
            ActionState::Proposed,
            Actor::Desk,
            None,
        )
        .unwrap()
        .action()
        .id;
        let err =
            transition(&mut c, id, ActionState::Sent, Actor::Executor, None, None).unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot move from proposed to sent"),
            "{err}"
        );
        transition(
            &mut c,
            id,
            ActionState::Approved,
            Actor::Operator,
            None,
            None,
        )
        .unwrap();
        transition(
            &mut c,
            id,
            ActionState::Sent,
            Actor::Executor,
            None,
            Some("0xabc"),
        )
        .unwrap();
        let done = transition(
            &mut c,
            id,
            ActionState::Confirmed,
            Actor::Executor,
            None,
            None,
        )
        .unwrap();
        assert_eq!(done.tx_hash.as_deref(), Some("0xabc"));
        let trail: Vec<_> = events(&c, id)
            .unwrap()
            .iter()
            .map(|e| (e.from, e.to, e.actor))
            .collect();
        use ActionState::*;
        assert_eq!(
            trail,
            vec![
                (None, Proposed, Actor::Desk),
                (Some(Proposed), Approved, Actor::Operator),
                (Some(Approved), Sent, Actor::Executor),
                (Some(Sent), Confirmed, Actor::Executor),
            ]
        );
    }

    #[test]
    fn live_keeps_open_actions_and_only_recent_finished_ones() {
        let mut c = conn();
        for i in 0..5 {
            let id = propose(
                &mut c,
                &sample(&format!("r{i}")),
                ActionState::Proposed,
                Actor::Desk,
                None,
            )
            .unwrap()
            .action()
            .id;
            transition(
                &mut c,
                id,
                ActionState::Rejected,
                Actor::Operator,
                None,
                None,
            )
            .unwrap();
        }
        propose(
            &mut c,
            &sample("open"),
            ActionState::Proposed,
            Actor::Desk,
            None,
        )
        .unwrap();
        let rows = live(&c, 2).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].key, "open");
        assert_eq!(rows[1].key, "r4");
    }

    #[test]
    fn an_empty_key_is_refused_and_nothing_is_written() {
        let mut c = conn();
        let err = propose(
            &mut c,
            &sample(" "),
            ActionState::Proposed,
            Actor::Desk,
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("action key"));
        assert!(
            list(
                &c,
                &ActionFilter {
                    limit: 10,
                    ..Default::default()
                }
            )
            .unwrap()
            .is_empty()
        );
    }
}
