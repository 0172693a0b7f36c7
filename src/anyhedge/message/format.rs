//! The 16-byte oracle price message: four little-endian `int32`s, in this order:
//! `messageTimestamp`, `messageSequence`, `priceSequence`, `price`.
//!
//! General Protocols oracles also sign metadata messages (the asset name, the price unit,
//! ...). Those carry a non-positive number where a price message has its `priceSequence`
//! and are usually not 16 bytes long; [`is_metadata`] tells them apart so a relay batch
//! can skip them.

use serde::Serialize;

/// The length of a price message.
pub const MESSAGE_LEN: usize = 16;

/// One oracle price message, as signed by the oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct OracleMessage {
    /// Unix seconds at which the oracle produced the message.
    pub message_timestamp: i32,
    /// Position among all of this oracle's messages (price and metadata).
    pub message_sequence: i32,
    /// Position among this oracle's price messages only.
    pub price_sequence: i32,
    /// The price in the oracle's units (e.g. US cents per BCH); always positive.
    pub price: i32,
}

/// Why bytes are not a price message. The display names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("length: expected {MESSAGE_LEN} bytes, got {0}")]
    Length(usize),
    #[error("{field}: must be positive, got {value}")]
    NotPositive { field: &'static str, value: i32 },
}

impl MessageError {
    /// The field at fault: `length`, `message_sequence`, `price_sequence` or `price`.
    pub fn field(&self) -> &'static str {
        match self {
            MessageError::Length(_) => "length",
            MessageError::NotPositive { field, .. } => field,
        }
    }
}

impl OracleMessage {
    /// Decodes and checks a price message: exactly 16 bytes, positive sequences and price.
    pub fn parse(bytes: &[u8]) -> Result<OracleMessage, MessageError> {
        let bytes: &[u8; MESSAGE_LEN] = bytes
            .try_into()
            .map_err(|_| MessageError::Length(bytes.len()))?;
        let message = OracleMessage {
            message_timestamp: int32_at(bytes, 0),
            message_sequence: int32_at(bytes, 4),
            price_sequence: int32_at(bytes, 8),
            price: int32_at(bytes, 12),
        };
        message.check()?;
        Ok(message)
    }

    /// The message as the oracle signs it.
    pub fn to_bytes(&self) -> [u8; MESSAGE_LEN] {
        let mut out = [0u8; MESSAGE_LEN];
        out[0..4].copy_from_slice(&self.message_timestamp.to_le_bytes());
        out[4..8].copy_from_slice(&self.message_sequence.to_le_bytes());
        out[8..12].copy_from_slice(&self.price_sequence.to_le_bytes());
        out[12..16].copy_from_slice(&self.price.to_le_bytes());
        out
    }

    /// The checks [`OracleMessage::parse`] applies, for a message built from parts.
    pub fn check(&self) -> Result<(), MessageError> {
        for (field, value) in [
            ("message_sequence", self.message_sequence),
            ("price_sequence", self.price_sequence),
            ("price", self.price),
        ] {
            if value <= 0 {
                return Err(MessageError::NotPositive { field, value });
            }
        }
        Ok(())
    }
}

/// A signed oracle message that is not a price message: its third field (the price
/// sequence of a price message, a metadata type in General Protocols' format) is not
/// positive. Shorter than 12 bytes is not a metadata message either; it is malformed.
pub fn is_metadata(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && i32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) <= 0
}

fn int32_at(bytes: &[u8; MESSAGE_LEN], at: usize) -> i32 {
    i32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_real_message_and_round_trips() {
        // The starting message of the watchtower-cash test contract
        // (paytaca/watchtower-cash anyhedge/tests/data/anyhedge-test-data.json).
        let bytes = hex::decode("1e31db639e0daa019b0daa01c02a0000").unwrap();
        let m = OracleMessage::parse(&bytes).unwrap();
        assert_eq!(
            m,
            OracleMessage {
                message_timestamp: 1675309342,
                message_sequence: 27921822,
                price_sequence: 27921819,
                price: 10944,
            }
        );
        assert_eq!(m.to_bytes().as_slice(), bytes.as_slice());
    }

    #[test]
    fn wrong_length_and_non_positive_fields_name_the_field() {
        assert_eq!(
            OracleMessage::parse(&[0; 15]),
            Err(MessageError::Length(15))
        );
        assert_eq!(
            OracleMessage::parse(&[0; 17]).unwrap_err().field(),
            "length"
        );
        let mut m = OracleMessage {
            message_timestamp: 1,
            message_sequence: 2,
            price_sequence: 3,
            price: 0,
        };
        let err = OracleMessage::parse(&m.to_bytes()).unwrap_err();
        assert_eq!(err.field(), "price");
        assert_eq!(err.to_string(), "price: must be positive, got 0");
        m.price = 5;
        m.price_sequence = -1;
        assert_eq!(
            OracleMessage::parse(&m.to_bytes()).unwrap_err().field(),
            "price_sequence"
        );
        assert!(is_metadata(&m.to_bytes()));
    }

    #[test]
    fn metadata_is_told_apart_from_price_messages() {
        let price = hex::decode("1e31db639e0daa019b0daa01c02a0000").unwrap();
        assert!(!is_metadata(&price));
        // Metadata type -1 followed by a free-form payload, as GP oracles publish.
        let mut meta = Vec::new();
        meta.extend_from_slice(&1_700_000_000i32.to_le_bytes());
        meta.extend_from_slice(&7i32.to_le_bytes());
        meta.extend_from_slice(&(-1i32).to_le_bytes());
        meta.extend_from_slice(b"BCH");
        assert!(is_metadata(&meta));
        assert!(!is_metadata(&meta[..11]));
    }
}
