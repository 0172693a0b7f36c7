//! One entry point for a signed oracle message: the signature's length picks the scheme
//! (64 bytes: BCH Schnorr, as General Protocols oracles sign; 65 bytes: ECDSA with
//! recovery, as our EVM contract checks). A [`VerifiedMessage`] can only come from here,
//! so holding one means the signature checked out.

use std::fmt;

use alloy::primitives::Address;
use k256::PublicKey;
use serde::Serialize;
use serde_json::json;

use super::format::{MESSAGE_LEN, MessageError, OracleMessage};
use super::{ecdsa, schnorr};

/// The length of a compressed secp256k1 public key.
pub const PUBKEY_LEN: usize = 33;

/// The signature scheme of an oracle message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Scheme {
    #[serde(rename = "bch-schnorr")]
    BchSchnorr,
    #[serde(rename = "ecdsa")]
    Ecdsa,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::BchSchnorr => "bch-schnorr",
            Scheme::Ecdsa => "ecdsa",
        }
    }

    pub fn parse(s: &str) -> Option<Scheme> {
        match s {
            "bch-schnorr" => Some(Scheme::BchSchnorr),
            "ecdsa" => Some(Scheme::Ecdsa),
            _ => None,
        }
    }

    /// The scheme a signature of this length belongs to.
    pub fn for_signature_len(len: usize) -> Option<Scheme> {
        match len {
            schnorr::SIGNATURE_LEN => Some(Scheme::BchSchnorr),
            ecdsa::SIGNATURE_LEN => Some(Scheme::Ecdsa),
            _ => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A price message whose signature by `pubkey` verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedMessage {
    pubkey: [u8; PUBKEY_LEN],
    bytes: [u8; MESSAGE_LEN],
    message: OracleMessage,
    signature: Vec<u8>,
    scheme: Scheme,
}

impl VerifiedMessage {
    pub fn pubkey(&self) -> &[u8; PUBKEY_LEN] {
        &self.pubkey
    }

    pub fn pubkey_hex(&self) -> String {
        hex::encode(self.pubkey)
    }

    /// The 16 signed bytes.
    pub fn bytes(&self) -> &[u8; MESSAGE_LEN] {
        &self.bytes
    }

    pub fn message(&self) -> &OracleMessage {
        &self.message
    }

    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The oracle's Ethereum address (what the hedge contract stores).
    pub fn oracle_address(&self) -> Address {
        // The key was parsed when the message was verified.
        PublicKey::from_sec1_bytes(&self.pubkey)
            .map(|k| ecdsa::address(&k))
            .unwrap_or_default()
    }
}

/// Why a signed message was refused. [`VerifyError::field`] names the input at fault
/// (`pubkey`, `message` or `signature`); the display is `field: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    Hex {
        field: &'static str,
        reason: String,
    },
    PubkeyLength(usize),
    PubkeyEncoding(String),
    Message(MessageError),
    SignatureLength(usize),
    /// Malformed, e.g. an ECDSA `v` that is not 27 or 28.
    SignatureEncoding(String),
    /// Well-formed, but the signature does not verify against the key.
    Invalid {
        scheme: Scheme,
        reason: String,
    },
}

impl VerifyError {
    pub fn field(&self) -> &'static str {
        match self {
            VerifyError::Hex { field, .. } => field,
            VerifyError::PubkeyLength(_) | VerifyError::PubkeyEncoding(_) => "pubkey",
            VerifyError::Message(_) => "message",
            VerifyError::SignatureLength(_)
            | VerifyError::SignatureEncoding(_)
            | VerifyError::Invalid { .. } => "signature",
        }
    }

    pub fn reason(&self) -> String {
        match self {
            VerifyError::Hex { reason, .. } => format!("not hex: {reason}"),
            VerifyError::PubkeyLength(n) => {
                format!("expected {PUBKEY_LEN} bytes (a compressed secp256k1 key), got {n}")
            }
            VerifyError::PubkeyEncoding(reason) => reason.clone(),
            VerifyError::Message(MessageError::Length(n)) => {
                format!("expected {MESSAGE_LEN} bytes, got {n}")
            }
            VerifyError::Message(MessageError::NotPositive { field, value }) => {
                format!("{field} must be positive, got {value}")
            }
            VerifyError::SignatureLength(n) => format!(
                "expected {} bytes (BCH Schnorr) or {} bytes (ECDSA r||s||v), got {n}",
                schnorr::SIGNATURE_LEN,
                ecdsa::SIGNATURE_LEN
            ),
            VerifyError::SignatureEncoding(reason) => reason.clone(),
            VerifyError::Invalid { scheme, reason } => {
                format!("does not verify ({scheme}): {reason}")
            }
        }
    }

    /// The inputs were well-formed and only the signature check failed.
    pub fn is_invalid_signature(&self) -> bool {
        matches!(self, VerifyError::Invalid { .. })
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field(), self.reason())
    }
}

impl std::error::Error for VerifyError {}

/// Parses a 33-byte compressed secp256k1 public key.
pub fn parse_pubkey(pubkey: &[u8]) -> Result<PublicKey, VerifyError> {
    if pubkey.len() != PUBKEY_LEN {
        return Err(VerifyError::PubkeyLength(pubkey.len()));
    }
    if pubkey[0] != 0x02 && pubkey[0] != 0x03 {
        return Err(VerifyError::PubkeyEncoding(format!(
            "a compressed key starts with 02 or 03, got {:02x}",
            pubkey[0]
        )));
    }
    PublicKey::from_sec1_bytes(pubkey)
        .map_err(|_| VerifyError::PubkeyEncoding("not a point on secp256k1".into()))
}

/// The Ethereum address of a compressed oracle public key.
pub fn oracle_address(pubkey: &[u8]) -> Result<Address, VerifyError> {
    Ok(ecdsa::address(&parse_pubkey(pubkey)?))
}

/// Verifies a signed price message by `pubkey`; see the module docs for the schemes.
pub fn verify(
    pubkey: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<VerifiedMessage, VerifyError> {
    let (verified, outcome) = check(pubkey, message, signature)?;
    outcome.map(|()| verified)
}

/// The checks of [`verify`], split so a caller can still describe a well-formed message
/// whose signature is bad: structural errors come out as `Err`, the signature's verdict
/// as the inner result.
fn check(
    pubkey: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(VerifiedMessage, Result<(), VerifyError>), VerifyError> {
    let key = parse_pubkey(pubkey)?;
    let bytes: [u8; MESSAGE_LEN] = message
        .try_into()
        .map_err(|_| VerifyError::Message(MessageError::Length(message.len())))?;
    let parsed = OracleMessage::parse(&bytes).map_err(VerifyError::Message)?;
    let scheme = Scheme::for_signature_len(signature.len())
        .ok_or(VerifyError::SignatureLength(signature.len()))?;
    let invalid = |reason: String| VerifyError::Invalid { scheme, reason };
    let outcome = match scheme {
        Scheme::BchSchnorr => {
            let sig: &[u8; schnorr::SIGNATURE_LEN] = signature.try_into().expect("length checked");
            schnorr::verify(&key, &bytes, sig).map_err(|e| invalid(e.to_string()))
        }
        Scheme::Ecdsa => {
            let sig: &[u8; ecdsa::SIGNATURE_LEN] = signature.try_into().expect("length checked");
            match ecdsa::verify(&key, &bytes, sig) {
                Ok(()) => Ok(()),
                Err(e @ ecdsa::EcdsaError::BadV(_)) => {
                    return Err(VerifyError::SignatureEncoding(e.to_string()));
                }
                Err(e) => Err(invalid(e.to_string())),
            }
        }
    };
    let verified = VerifiedMessage {
        pubkey: pubkey.try_into().expect("length checked"),
        bytes,
        message: parsed,
        signature: signature.to_vec(),
        scheme,
    };
    Ok((verified, outcome))
}

/// Decodes hex (an optional `0x`, surrounding whitespace ignored) for the named field.
pub fn decode_hex(field: &'static str, s: &str) -> Result<Vec<u8>, VerifyError> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    hex::decode(s).map_err(|e| VerifyError::Hex {
        field,
        reason: e.to_string(),
    })
}

/// Verifies hex inputs and describes the outcome:
/// `{valid, scheme, pubkey, oracle_address, message: {message_timestamp, message_sequence,
/// price_sequence, price}}`, plus `reason` when `valid` is false. A well-formed message with
/// a bad signature is `Ok` with `"valid": false`; malformed input is an `Err`.
pub fn verify_message_json(
    pubkey_hex: &str,
    message_hex: &str,
    signature_hex: &str,
) -> Result<serde_json::Value, VerifyError> {
    let pubkey = decode_hex("pubkey", pubkey_hex)?;
    let message = decode_hex("message", message_hex)?;
    let signature = decode_hex("signature", signature_hex)?;
    let (verified, outcome) = check(&pubkey, &message, &signature)?;
    let mut out = json!({
        "valid": outcome.is_ok(),
        "scheme": verified.scheme,
        "pubkey": verified.pubkey_hex(),
        "oracle_address": verified.oracle_address().to_string(),
        "message": verified.message,
    });
    if let Err(e) = outcome {
        out["reason"] = json!(e.reason());
    }
    Ok(out)
}
