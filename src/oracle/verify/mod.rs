//! Verification of parsed updates: guardian signatures against a guardian set, the accepted
//! emitter, and each message's Merkle proof against the signed root.

pub mod guardians;
pub mod merkle;
pub mod signatures;
