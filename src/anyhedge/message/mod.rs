//! Oracle price messages: the 16-byte format and its signatures.
//!
//! - `format`: the message layout and its checks.
//! - `schnorr`: BCH Schnorr, as General Protocols oracles sign.
//! - `ecdsa`: recoverable ECDSA, as our EVM hedge contract checks (`ecrecover`).
//! - `verify`: one entry point picking the scheme by signature length.

pub mod ecdsa;
pub mod format;
pub mod schnorr;
pub mod verify;

pub use format::{MESSAGE_LEN, MessageError, OracleMessage, is_metadata};
pub use verify::{
    Scheme, VerifiedMessage, VerifyError, oracle_address, parse_pubkey, verify, verify_message_json,
};
