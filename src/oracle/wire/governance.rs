//! Wormhole Core governance payloads; only the guardian set upgrade (action 2) is parsed.
//!
//! ```text
//! module 32 ("Core", left-padded with zeros) | action u8 (2) | chain u16 (0 = all chains)
//! | new_guardian_set_index u32 | key count u8 | count × key 20
//! ```
//!
//! Parsing never verifies: the VAA carrying this payload must be checked against the current
//! guardian set and the governance emitter (see `oracle::verify::guardians::derive_guardian_sets`).

use alloy::primitives::{Address, B256};

use super::reader::{Reader, WireError};

/// The module name "Core", left-padded to 32 bytes.
pub const CORE_MODULE: B256 = {
    let mut m = [0u8; 32];
    m[28] = b'C';
    m[29] = b'o';
    m[30] = b'r';
    m[31] = b'e';
    B256::new(m)
};
/// Core governance action: upgrade the guardian set.
pub const ACTION_GUARDIAN_SET_UPGRADE: u8 = 2;
/// Wormhole chain id of governance VAAs (Solana).
pub const GOVERNANCE_CHAIN: u16 = 1;
/// The governance emitter address, `0x00…04`.
pub const GOVERNANCE_EMITTER: B256 = {
    let mut a = [0u8; 32];
    a[31] = 4;
    B256::new(a)
};

/// A Core guardian set upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardianSetUpgrade {
    /// Target chain; 0 means every chain.
    pub chain: u16,
    pub new_guardian_set_index: u32,
    pub keys: Vec<Address>,
}

impl GuardianSetUpgrade {
    /// Parses the payload of a Core governance VAA; anything but module "Core", action 2 and
    /// at least one key is an error, as are trailing bytes.
    pub fn parse(payload: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(payload);
        let at = r.offset();
        let module = r.b256("governance.module")?;
        if module != CORE_MODULE {
            return Err(r.invalid(
                "governance.module",
                at,
                format!(
                    "expected \"Core\" (left-padded), got 0x{}",
                    hex::encode(module)
                ),
            ));
        }
        let at = r.offset();
        let action = r.u8("governance.action")?;
        if action != ACTION_GUARDIAN_SET_UPGRADE {
            return Err(r.invalid(
                "governance.action",
                at,
                format!(
                    "expected {ACTION_GUARDIAN_SET_UPGRADE} (guardian set upgrade), got {action}"
                ),
            ));
        }
        let chain = r.u16("governance.chain")?;
        let new_guardian_set_index = r.u32("governance.new_guardian_set_index")?;
        let at = r.offset();
        let count = r.u8("governance.key_count")? as usize;
        if count == 0 {
            return Err(r.invalid(
                "governance.key_count",
                at,
                "a guardian set needs at least one key",
            ));
        }
        let mut keys = Vec::with_capacity(count);
        for i in 0..count {
            keys.push(r.address(&format!("governance.keys[{i}] (of {count})"))?);
        }
        r.finish("governance payload")?;
        Ok(Self {
            chain,
            new_guardian_set_index,
            keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(action: u8, count: u8) -> Vec<u8> {
        let mut p = CORE_MODULE.to_vec();
        p.push(action);
        p.extend(0u16.to_be_bytes());
        p.extend(5u32.to_be_bytes());
        p.push(count);
        for i in 0..count {
            p.extend([i + 1; 20]);
        }
        p
    }

    #[test]
    fn parses_an_upgrade() {
        let up = GuardianSetUpgrade::parse(&payload(2, 3)).unwrap();
        assert_eq!(up.chain, 0);
        assert_eq!(up.new_guardian_set_index, 5);
        assert_eq!(
            up.keys,
            vec![
                Address::repeat_byte(1),
                Address::repeat_byte(2),
                Address::repeat_byte(3)
            ]
        );
    }

    #[test]
    fn rejects_other_actions_modules_truncation_and_trailing() {
        let err = GuardianSetUpgrade::parse(&payload(1, 3)).unwrap_err();
        assert!(err.to_string().starts_with("governance.action"), "{err}");
        let mut p = payload(2, 3);
        p[0] = 1;
        let err = GuardianSetUpgrade::parse(&p).unwrap_err();
        assert!(err.to_string().starts_with("governance.module"), "{err}");
        let p = payload(2, 3);
        let err = GuardianSetUpgrade::parse(&p[..p.len() - 1]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("governance.keys[2] (of 3): truncated"),
            "{err}"
        );
        let mut p = payload(2, 3);
        p.push(0);
        assert!(
            GuardianSetUpgrade::parse(&p)
                .unwrap_err()
                .to_string()
                .contains("trailing")
        );
        let err = GuardianSetUpgrade::parse(&payload(2, 0)).unwrap_err();
        assert!(err.to_string().starts_with("governance.key_count"), "{err}");
    }
}
