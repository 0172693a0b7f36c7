//! Pyth accumulator messages (the Merkle leaves of a `PNAU` update): a type byte, then the
//! body. Type 0 is a price feed, type 1 a TWAP (recognised, reported as skipped); any other
//! type parses as [`Message::Unknown`] so a decoder can report it instead of failing.

use alloy::primitives::B256;
use serde::Serialize;

use super::reader::{Reader, WireError};

pub const MESSAGE_TYPE_PRICE_FEED: u8 = 0;
pub const MESSAGE_TYPE_TWAP: u8 = 1;
/// Body length of a price feed message, after the type byte.
pub const PRICE_FEED_BODY_LEN: usize = 84;
/// Body length of a TWAP message, after the type byte.
pub const TWAP_BODY_LEN: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    PriceFeed(PriceFeedMessage),
    Twap(TwapMessage),
    /// A type this build does not know; `len` is the whole message length (type byte included).
    Unknown {
        kind: u8,
        len: usize,
    },
}

/// Type 0: a price and its EMA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PriceFeedMessage {
    pub feed_id: B256,
    pub price: i64,
    pub conf: u64,
    pub exponent: i32,
    pub publish_time: i64,
    pub prev_publish_time: i64,
    pub ema_price: i64,
    pub ema_conf: u64,
}

/// Type 1: cumulative sums for time-weighted averages (we do not publish these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TwapMessage {
    pub feed_id: B256,
    #[serde(serialize_with = "as_string")]
    pub cumulative_price: i128,
    #[serde(serialize_with = "as_string")]
    pub cumulative_conf: u128,
    pub num_down_slots: u64,
    pub exponent: i32,
    pub publish_time: i64,
    pub prev_publish_time: i64,
    pub publish_slot: u64,
}

fn as_string<T: ToString, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_string())
}

impl Message {
    /// Parses one message. A known type must have exactly its length; an unknown type is
    /// not an error here (see [`Message::Unknown`]).
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let kind = r.u8("message.type")?;
        match kind {
            MESSAGE_TYPE_PRICE_FEED => {
                check_len(&r, PRICE_FEED_BODY_LEN, "price_feed_message")?;
                let m = PriceFeedMessage {
                    feed_id: r.b256("price_feed_message.feed_id")?,
                    price: r.i64("price_feed_message.price")?,
                    conf: r.u64("price_feed_message.conf")?,
                    exponent: r.i32("price_feed_message.exponent")?,
                    publish_time: r.i64("price_feed_message.publish_time")?,
                    prev_publish_time: r.i64("price_feed_message.prev_publish_time")?,
                    ema_price: r.i64("price_feed_message.ema_price")?,
                    ema_conf: r.u64("price_feed_message.ema_conf")?,
                };
                r.finish("price_feed_message")?;
                Ok(Self::PriceFeed(m))
            }
            MESSAGE_TYPE_TWAP => {
                check_len(&r, TWAP_BODY_LEN, "twap_message")?;
                let m = TwapMessage {
                    feed_id: r.b256("twap_message.feed_id")?,
                    cumulative_price: i128::from_be_bytes(
                        r.array("twap_message.cumulative_price")?,
                    ),
                    cumulative_conf: u128::from_be_bytes(r.array("twap_message.cumulative_conf")?),
                    num_down_slots: r.u64("twap_message.num_down_slots")?,
                    exponent: r.i32("twap_message.exponent")?,
                    publish_time: r.i64("twap_message.publish_time")?,
                    prev_publish_time: r.i64("twap_message.prev_publish_time")?,
                    publish_slot: r.u64("twap_message.publish_slot")?,
                };
                r.finish("twap_message")?;
                Ok(Self::Twap(m))
            }
            kind => Ok(Self::Unknown {
                kind,
                len: bytes.len(),
            }),
        }
    }

    /// The message type byte.
    pub fn kind(&self) -> u8 {
        match self {
            Self::PriceFeed(_) => MESSAGE_TYPE_PRICE_FEED,
            Self::Twap(_) => MESSAGE_TYPE_TWAP,
            Self::Unknown { kind, .. } => *kind,
        }
    }

    /// A short name for the type, for reports.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::PriceFeed(_) => "price_feed",
            Self::Twap(_) => "twap",
            Self::Unknown { .. } => "unknown",
        }
    }

    pub fn feed_id(&self) -> Option<B256> {
        match self {
            Self::PriceFeed(m) => Some(m.feed_id),
            Self::Twap(m) => Some(m.feed_id),
            Self::Unknown { .. } => None,
        }
    }

    pub fn as_price_feed(&self) -> Option<&PriceFeedMessage> {
        match self {
            Self::PriceFeed(m) => Some(m),
            _ => None,
        }
    }

    /// Why a caller skips this message instead of publishing it (`None` for a price feed).
    pub fn skip_note(&self) -> Option<String> {
        match self {
            Self::PriceFeed(_) => None,
            Self::Twap(m) => Some(format!(
                "TWAP message (type 1) for feed {}: skipped, only price feed messages are published",
                m.feed_id
            )),
            Self::Unknown { kind, len } => Some(format!(
                "unknown message type {kind} ({len} bytes): skipped"
            )),
        }
    }
}

fn check_len(r: &Reader<'_>, expected: usize, what: &str) -> Result<(), WireError> {
    if r.remaining() == expected {
        Ok(())
    } else {
        Err(r.invalid(
            what,
            r.offset(),
            format!(
                "expected {expected} bytes after the type byte, got {}",
                r.remaining()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price_feed_bytes() -> Vec<u8> {
        let mut b = vec![0u8];
        b.extend([0xab; 32]);
        b.extend(123_i64.to_be_bytes());
        b.extend(4_u64.to_be_bytes());
        b.extend((-8_i32).to_be_bytes());
        b.extend(1_700_000_001_i64.to_be_bytes());
        b.extend(1_700_000_000_i64.to_be_bytes());
        b.extend(120_i64.to_be_bytes());
        b.extend(5_u64.to_be_bytes());
        b
    }

    #[test]
    fn parses_a_price_feed_message() {
        let m = Message::parse(&price_feed_bytes()).unwrap();
        let p = m.as_price_feed().unwrap();
        assert_eq!(p.feed_id, B256::repeat_byte(0xab));
        assert_eq!((p.price, p.conf, p.exponent), (123, 4, -8));
        assert_eq!(
            (p.publish_time, p.prev_publish_time),
            (1_700_000_001, 1_700_000_000)
        );
        assert_eq!((p.ema_price, p.ema_conf), (120, 5));
        assert_eq!(m.skip_note(), None);
    }

    #[test]
    fn a_price_feed_of_the_wrong_length_is_an_error() {
        let mut long = price_feed_bytes();
        long.push(0);
        let err = Message::parse(&long).unwrap_err();
        assert_eq!(
            err.to_string(),
            "price_feed_message: expected 84 bytes after the type byte, got 85 (at byte 1)"
        );
        let short = &price_feed_bytes()[..50];
        let err = Message::parse(short).unwrap_err();
        assert!(err.to_string().contains("got 49"), "{err}");
        let err = Message::parse(&[]).unwrap_err();
        assert!(
            err.to_string().starts_with("message.type: truncated"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_type_is_reported_not_rejected() {
        let m = Message::parse(&[7, 1, 2, 3]).unwrap();
        assert_eq!(m, Message::Unknown { kind: 7, len: 4 });
        assert_eq!(m.kind(), 7);
        assert!(m.skip_note().unwrap().contains("unknown message type 7"));
    }
}
