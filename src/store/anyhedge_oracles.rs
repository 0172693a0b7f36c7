//! The AnyHedge desk's oracles and their signed price messages (filters by pubkey and ranges).
//!
//! Only [`VerifiedMessage`]s can be inserted, so every stored message had a signature that
//! checked out against its oracle's key. Keys are stored as lower-case hex.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::writer::{StoreError, now_ms};
use crate::anyhedge::message::{
    OracleMessage, Scheme, VerifiedMessage, VerifyError, parse_pubkey, verify,
};

/// An oracle to follow, as the operator (or config) describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleSpec {
    /// Compressed secp256k1 public key, hex.
    pub pubkey: String,
    /// Base URL of a relay serving `/api/v1/oracleMessages`.
    pub relay_url: String,
    /// What is priced, e.g. `BCH`.
    pub asset_name: String,
    /// The unit of the price, e.g. `USD`.
    pub asset_currency: String,
    /// Decimal places of the price (2: the price is in cents).
    pub asset_decimals: u8,
    pub active: bool,
}

/// An oracle as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleRecord {
    pub id: i64,
    pub pubkey: String,
    pub relay_url: String,
    pub asset_name: String,
    pub asset_currency: String,
    pub asset_decimals: u8,
    pub active: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// A stored price message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceMessageRow {
    pub id: i64,
    pub pubkey: String,
    /// The 16 signed bytes, hex.
    pub message: String,
    /// The oracle's signature, hex (64 bytes BCH Schnorr or 65 bytes ECDSA).
    pub signature: String,
    pub message_timestamp: i32,
    pub message_sequence: i32,
    pub price_sequence: i32,
    pub price: i32,
    pub scheme: Scheme,
    /// Unix milliseconds at which the desk stored it.
    pub received_at: i64,
}

impl PriceMessageRow {
    pub fn oracle_message(&self) -> OracleMessage {
        OracleMessage {
            message_timestamp: self.message_timestamp,
            message_sequence: self.message_sequence,
            price_sequence: self.price_sequence,
            price: self.price,
        }
    }

    pub fn message_bytes(&self) -> Vec<u8> {
        hex::decode(&self.message).unwrap_or_default()
    }

    pub fn signature_bytes(&self) -> Vec<u8> {
        hex::decode(&self.signature).unwrap_or_default()
    }

    /// Checks the stored signature again (before it is sent to a contract, say).
    pub fn reverify(&self) -> Result<VerifiedMessage, VerifyError> {
        let pubkey = hex::decode(&self.pubkey).unwrap_or_default();
        verify(&pubkey, &self.message_bytes(), &self.signature_bytes())
    }
}

/// What became of one message offered to [`insert_price_messages`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    New,
    /// The same message (by oracle and message sequence) was already stored.
    Duplicate,
    /// The oracle signed a different message with the same message sequence; the stored
    /// one is kept.
    Conflict {
        stored_message: String,
    },
}

/// The outcome of an insert, one entry per offered message, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inserted {
    pub outcomes: Vec<(i32, InsertOutcome)>,
}

impl Inserted {
    /// How many messages were new.
    pub fn new_count(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, o)| *o == InsertOutcome::New)
            .count()
    }
}

/// Which price messages to list; every bound is inclusive and optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceMessageFilter {
    pub pubkey: Option<String>,
    pub min_timestamp: Option<i64>,
    pub max_timestamp: Option<i64>,
    pub min_price_sequence: Option<i64>,
    pub max_price_sequence: Option<i64>,
    pub min_message_sequence: Option<i64>,
    pub max_message_sequence: Option<i64>,
    /// At most this many rows (all when `None`).
    pub limit: Option<u32>,
    pub offset: u32,
}

/// One page of price messages, newest first, and how many match in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceMessagePage {
    pub rows: Vec<PriceMessageRow>,
    pub total: u64,
}

fn invalid(field: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("{field}: {reason}"))
}

/// Checks a hex public key and returns it in lower case.
fn normalize_pubkey(field: &str, pubkey: &str) -> Result<String, StoreError> {
    let bytes = hex::decode(pubkey.trim()).map_err(|e| invalid(field, format!("not hex: {e}")))?;
    parse_pubkey(&bytes).map_err(|e| invalid(field, e.reason()))?;
    Ok(hex::encode(bytes))
}

fn check_spec(spec: &OracleSpec) -> Result<OracleSpec, StoreError> {
    let pubkey = normalize_pubkey("pubkey", &spec.pubkey)?;
    let relay_url = spec.relay_url.trim().trim_end_matches('/').to_string();
    let host = relay_url
        .strip_prefix("http://")
        .or_else(|| relay_url.strip_prefix("https://"));
    if host.is_none_or(str::is_empty) {
        return Err(invalid(
            "relay_url",
            format!(
                "expected an http:// or https:// URL, got {:?}",
                spec.relay_url
            ),
        ));
    }
    for (field, value) in [
        ("asset_name", &spec.asset_name),
        ("asset_currency", &spec.asset_currency),
    ] {
        if value.trim().is_empty() {
            return Err(invalid(field, "must not be empty"));
        }
    }
    if spec.asset_decimals > 18 {
        return Err(invalid(
            "asset_decimals",
            format!("at most 18, got {}", spec.asset_decimals),
        ));
    }
    Ok(OracleSpec {
        pubkey,
        relay_url,
        asset_name: spec.asset_name.trim().to_string(),
        asset_currency: spec.asset_currency.trim().to_string(),
        ..spec.clone()
    })
}

const ORACLE_COLUMNS: &str = "id, pubkey, relay_url, asset_name, asset_currency, asset_decimals, \
     active, created_at, updated_at";

fn oracle_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OracleRecord> {
    Ok(OracleRecord {
        id: r.get(0)?,
        pubkey: r.get(1)?,
        relay_url: r.get(2)?,
        asset_name: r.get(3)?,
        asset_currency: r.get(4)?,
        asset_decimals: r.get(5)?,
        active: r.get::<_, i64>(6)? != 0,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

const MESSAGE_COLUMNS: &str = "id, pubkey, message, signature, message_timestamp, \
     message_sequence, price_sequence, price, scheme, received_at";

fn message_row(r: &rusqlite::Row<'_>) -> Result<PriceMessageRow, StoreError> {
    let scheme: String = r.get(8)?;
    Ok(PriceMessageRow {
        id: r.get(0)?,
        pubkey: r.get(1)?,
        message: r.get(2)?,
        signature: r.get(3)?,
        message_timestamp: r.get(4)?,
        message_sequence: r.get(5)?,
        price_sequence: r.get(6)?,
        price: r.get(7)?,
        scheme: Scheme::parse(&scheme)
            .ok_or_else(|| StoreError::Invalid(format!("unknown signature scheme {scheme:?}")))?,
        received_at: r.get(9)?,
    })
}

fn messages(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<PriceMessageRow>, StoreError> {
    let mut stmt = c.prepare(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(message_row(r)?);
    }
    Ok(out)
}

// ---- on a connection (for callers inside their own transaction) ----

/// Inserts or updates an oracle by public key; `created_at` survives an update.
pub fn upsert_oracle(c: &Connection, spec: &OracleSpec) -> Result<OracleRecord, StoreError> {
    let spec = check_spec(spec)?;
    let now = now_ms();
    c.execute(
        "INSERT INTO anyhedge_oracles(pubkey, relay_url, asset_name, asset_currency,
             asset_decimals, active, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
         ON CONFLICT(pubkey) DO UPDATE SET
             relay_url = excluded.relay_url, asset_name = excluded.asset_name,
             asset_currency = excluded.asset_currency, asset_decimals = excluded.asset_decimals,
             active = excluded.active, updated_at = excluded.updated_at",
        params![
            spec.pubkey,
            spec.relay_url,
            spec.asset_name,
            spec.asset_currency,
            spec.asset_decimals,
            spec.active as i64,
            now
        ],
    )?;
    oracle(c, &spec.pubkey)?
        .ok_or_else(|| StoreError::Invalid("the oracle vanished after its upsert".into()))
}

pub fn oracle(c: &Connection, pubkey: &str) -> Result<Option<OracleRecord>, StoreError> {
    let pubkey = normalize_pubkey("pubkey", pubkey)?;
    Ok(c.query_row(
        &format!("SELECT {ORACLE_COLUMNS} FROM anyhedge_oracles WHERE pubkey = ?1"),
        params![pubkey],
        oracle_row,
    )
    .optional()?)
}

/// Stores verified messages; a message already stored (same oracle and message sequence)
/// is left alone and reported as a duplicate, or as a conflict if its bytes differ.
pub fn insert_price_messages(
    c: &Connection,
    batch: &[VerifiedMessage],
) -> Result<Inserted, StoreError> {
    let now = now_ms();
    let mut insert = c.prepare_cached(
        "INSERT OR IGNORE INTO anyhedge_price_messages(pubkey, message, signature,
             message_timestamp, message_sequence, price_sequence, price, scheme, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let mut stored = c.prepare_cached(
        "SELECT message FROM anyhedge_price_messages WHERE pubkey = ?1 AND message_sequence = ?2",
    )?;
    let mut out = Inserted::default();
    for m in batch {
        let fields = m.message();
        let pubkey = m.pubkey_hex();
        let message = hex::encode(m.bytes());
        let changed = insert.execute(params![
            pubkey,
            message,
            hex::encode(m.signature()),
            fields.message_timestamp,
            fields.message_sequence,
            fields.price_sequence,
            fields.price,
            m.scheme().as_str(),
            now,
        ])?;
        let outcome = if changed == 1 {
            InsertOutcome::New
        } else {
            let existing: String =
                stored.query_row(params![pubkey, fields.message_sequence], |r| r.get(0))?;
            if existing == message {
                InsertOutcome::Duplicate
            } else {
                InsertOutcome::Conflict {
                    stored_message: existing,
                }
            }
        };
        out.outcomes.push((fields.message_sequence, outcome));
    }
    Ok(out)
}

/// Price messages matching `filter`, newest first (by timestamp, then message sequence),
/// and the number of matches without limit and offset.
pub fn price_messages(
    c: &Connection,
    filter: &PriceMessageFilter,
) -> Result<PriceMessagePage, StoreError> {
    let mut clauses: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(pubkey) = &filter.pubkey {
        clauses.push("pubkey = ?");
        values.push(Value::Text(normalize_pubkey("pubkey", pubkey)?));
    }
    let ranges = [
        (
            "message_timestamp",
            ("min_timestamp", filter.min_timestamp),
            ("max_timestamp", filter.max_timestamp),
        ),
        (
            "price_sequence",
            ("min_price_sequence", filter.min_price_sequence),
            ("max_price_sequence", filter.max_price_sequence),
        ),
        (
            "message_sequence",
            ("min_message_sequence", filter.min_message_sequence),
            ("max_message_sequence", filter.max_message_sequence),
        ),
    ];
    let mut clauses: Vec<String> = clauses.into_iter().map(String::from).collect();
    for (column, (min_field, min), (max_field, max)) in ranges {
        if let (Some(lo), Some(hi)) = (min, max)
            && lo > hi
        {
            return Err(invalid(
                min_field,
                format!("{lo} is greater than {max_field} {hi}"),
            ));
        }
        if let Some(lo) = min {
            clauses.push(format!("{column} >= ?"));
            values.push(Value::Integer(lo));
        }
        if let Some(hi) = max {
            clauses.push(format!("{column} <= ?"));
            values.push(Value::Integer(hi));
        }
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let total: i64 = c.query_row(
        &format!("SELECT COUNT(*) FROM anyhedge_price_messages {where_sql}"),
        params_from_iter(values.iter()),
        |r| r.get(0),
    )?;
    let mut page_values = values;
    page_values.push(Value::Integer(filter.limit.map_or(-1, i64::from)));
    page_values.push(Value::Integer(i64::from(filter.offset)));
    let rows = messages(
        c,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM anyhedge_price_messages {where_sql}
             ORDER BY message_timestamp DESC, message_sequence DESC LIMIT ? OFFSET ?"
        ),
        params_from_iter(page_values.iter()),
    )?;
    Ok(PriceMessagePage {
        rows,
        total: total as u64,
    })
}

/// The oracle's newest stored message (by timestamp, then message sequence).
pub fn latest_price_message(
    c: &Connection,
    pubkey: &str,
) -> Result<Option<PriceMessageRow>, StoreError> {
    let pubkey = normalize_pubkey("pubkey", pubkey)?;
    Ok(messages(
        c,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM anyhedge_price_messages WHERE pubkey = ?1
             ORDER BY message_timestamp DESC, message_sequence DESC LIMIT 1"
        ),
        params![pubkey],
    )?
    .pop())
}

/// The oracle's message with this price sequence. Settlement takes the message and the one
/// with `price_sequence - 1`.
pub fn price_message_by_price_sequence(
    c: &Connection,
    pubkey: &str,
    price_sequence: i32,
) -> Result<Option<PriceMessageRow>, StoreError> {
    let pubkey = normalize_pubkey("pubkey", pubkey)?;
    Ok(messages(
        c,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM anyhedge_price_messages
             WHERE pubkey = ?1 AND price_sequence = ?2
             ORDER BY message_sequence LIMIT 1"
        ),
        params![pubkey, price_sequence],
    )?
    .pop())
}

/// The oracle's messages timestamped strictly after `after` (unix seconds), oldest first,
/// at most `limit`.
pub fn price_messages_after(
    c: &Connection,
    pubkey: &str,
    after: i64,
    limit: u32,
) -> Result<Vec<PriceMessageRow>, StoreError> {
    let pubkey = normalize_pubkey("pubkey", pubkey)?;
    messages(
        c,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM anyhedge_price_messages
             WHERE pubkey = ?1 AND message_timestamp > ?2
             ORDER BY message_timestamp, message_sequence LIMIT ?3"
        ),
        params![pubkey, after, i64::from(limit)],
    )
}

// ---- through the store thread ----

impl crate::store::Store {
    /// Adds an oracle, or updates the one with this public key.
    pub async fn anyhedge_upsert_oracle(
        &self,
        spec: OracleSpec,
    ) -> Result<OracleRecord, StoreError> {
        self.call(move |c| upsert_oracle(c, &spec)).await
    }

    pub async fn anyhedge_oracle(&self, pubkey: &str) -> Result<Option<OracleRecord>, StoreError> {
        let pubkey = pubkey.to_string();
        self.call(move |c| oracle(c, &pubkey)).await
    }

    /// Every oracle (or only the active ones), by id.
    pub async fn anyhedge_oracles(
        &self,
        active_only: bool,
    ) -> Result<Vec<OracleRecord>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {ORACLE_COLUMNS} FROM anyhedge_oracles
                 WHERE active = 1 OR ?1 = 0 ORDER BY id"
            ))?;
            let rows = stmt
                .query_map(params![active_only as i64], oracle_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Stores verified messages in one transaction; see [`insert_price_messages`].
    pub async fn anyhedge_insert_price_messages(
        &self,
        batch: Vec<VerifiedMessage>,
    ) -> Result<Inserted, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let inserted = insert_price_messages(&tx, &batch)?;
            tx.commit()?;
            Ok(inserted)
        })
        .await
    }

    /// See [`price_messages`].
    pub async fn anyhedge_price_messages(
        &self,
        filter: PriceMessageFilter,
    ) -> Result<PriceMessagePage, StoreError> {
        self.call(move |c| price_messages(c, &filter)).await
    }

    /// See [`latest_price_message`].
    pub async fn anyhedge_latest_price_message(
        &self,
        pubkey: &str,
    ) -> Result<Option<PriceMessageRow>, StoreError> {
        let pubkey = pubkey.to_string();
        self.call(move |c| latest_price_message(c, &pubkey)).await
    }

    /// See [`price_message_by_price_sequence`].
    pub async fn anyhedge_price_message_by_price_sequence(
        &self,
        pubkey: &str,
        price_sequence: i32,
    ) -> Result<Option<PriceMessageRow>, StoreError> {
        let pubkey = pubkey.to_string();
        self.call(move |c| price_message_by_price_sequence(c, &pubkey, price_sequence))
            .await
    }

    /// See [`price_messages_after`].
    pub async fn anyhedge_price_messages_after(
        &self,
        pubkey: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<PriceMessageRow>, StoreError> {
        let pubkey = pubkey.to_string();
        self.call(move |c| price_messages_after(c, &pubkey, after, limit))
            .await
    }
}
