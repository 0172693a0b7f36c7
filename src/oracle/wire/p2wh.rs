//! Legacy Pyth-to-Wormhole batch price attestations (`P2WH`, v3.x), the payload of the VAAs
//! Pythnet emitted before the accumulator.
//!
//! Layout (big-endian): magic `P2WH`, major u16 (= 3), minor u16, header size u16 and a
//! header of that many bytes whose first byte is the payload id (2 = batch attestation; the
//! rest is skipped), number of attestations u16, attestation size u16, then the attestations,
//! each exactly `attestation size` bytes:
//!
//! | field | type | v3.0 | v3.1 |
//! |---|---|---|---|
//! | product_id, price_id | 32 + 32 | ✓ | ✓ |
//! | price, conf, expo | i64, u64, i32 | ✓ | ✓ |
//! | ema_price, ema_conf | i64, u64 | ✓ | ✓ |
//! | status, num_publishers, max_num_publishers | u8, u32, u32 | ✓ | ✓ |
//! | attestation_time, publish_time, prev_publish_time | i64 ×3 | ✓ | ✓ |
//! | prev_price, prev_conf | i64, u64 | ✓ | ✓ |
//! | last_attested_publish_time | i64 | | ✓ |
//!
//! That is 149 bytes in v3.0 and 157 in v3.1; bytes beyond the fields we know are skipped.

use alloy::primitives::B256;
use serde::Serialize;

use super::accumulator::name_item;
use super::reader::{Reader, WireError};

pub const P2WH_MAGIC: &[u8; 4] = b"P2WH";
pub const P2WH_MAJOR: u16 = 3;
/// Payload id of a batch price attestation.
pub const P2WH_PAYLOAD_BATCH: u8 = 2;
/// Attestation size in v3.0 (no `last_attested_publish_time`).
pub const ATTESTATION_SIZE_V3_0: usize = 149;
/// Attestation size in v3.1.
pub const ATTESTATION_SIZE_V3_1: usize = 157;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchPriceAttestation {
    pub major: u16,
    pub minor: u16,
    pub payload_id: u8,
    /// Declared size of each attestation (149 in v3.0, 157 in v3.1).
    pub attestation_size: u16,
    pub attestations: Vec<PriceAttestation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PriceAttestation {
    pub product_id: B256,
    pub price_id: B256,
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
    pub ema_price: i64,
    pub ema_conf: u64,
    /// Pyth price status: 0 unknown, 1 trading, 2 halted, 3 auction, 4 ignored.
    pub status: u8,
    pub num_publishers: u32,
    pub max_num_publishers: u32,
    pub attestation_time: i64,
    pub publish_time: i64,
    pub prev_publish_time: i64,
    pub prev_price: i64,
    pub prev_conf: u64,
    /// v3.1 and later (attestations of at least 157 bytes).
    pub last_attested_publish_time: Option<i64>,
}

impl BatchPriceAttestation {
    /// Parses a `P2WH` payload (the VAA body's payload bytes); trailing bytes are an error.
    pub fn parse(payload: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(payload);
        r.expect(P2WH_MAGIC, "p2wh.magic")?;
        let at = r.offset();
        let major = r.u16("p2wh.major_version")?;
        if major != P2WH_MAJOR {
            return Err(r.invalid(
                "p2wh.major_version",
                at,
                format!("unsupported major version {major} (expected {P2WH_MAJOR})"),
            ));
        }
        let minor = r.u16("p2wh.minor_version")?;
        let at = r.offset();
        let header_size = usize::from(r.u16("p2wh.header_size")?);
        if header_size == 0 {
            return Err(r.invalid(
                "p2wh.header_size",
                at,
                "header size 0 leaves no room for the payload id",
            ));
        }
        let at = r.offset();
        let payload_id = r.u8("p2wh.payload_id")?;
        if payload_id != P2WH_PAYLOAD_BATCH {
            return Err(r.invalid(
                "p2wh.payload_id",
                at,
                format!("unsupported payload id {payload_id} (expected 2 = batch attestation)"),
            ));
        }
        r.skip(header_size - 1, "p2wh.header")?;
        let count = r.u16("p2wh.num_attestations")?;
        let at = r.offset();
        let attestation_size = r.u16("p2wh.attestation_size")?;
        let size = usize::from(attestation_size);
        if size < ATTESTATION_SIZE_V3_0 {
            return Err(r.invalid(
                "p2wh.attestation_size",
                at,
                format!(
                    "attestation size {size} is below the v3.0 minimum of {ATTESTATION_SIZE_V3_0}"
                ),
            ));
        }
        let mut attestations = Vec::with_capacity(count.into());
        for i in 0..usize::from(count) {
            let bytes = r
                .bytes(size, "p2wh.attestation")
                .map_err(|e| name_item(e, "p2wh.attestation", i))?;
            let a = parse_attestation(bytes).map_err(|e| name_item(e, "p2wh.attestation", i))?;
            attestations.push(a);
        }
        r.finish("p2wh")?;
        Ok(Self {
            major,
            minor,
            payload_id,
            attestation_size,
            attestations,
        })
    }
}

fn parse_attestation(bytes: &[u8]) -> Result<PriceAttestation, WireError> {
    let mut r = Reader::new(bytes);
    let a = PriceAttestation {
        product_id: r.b256("p2wh.attestation.product_id")?,
        price_id: r.b256("p2wh.attestation.price_id")?,
        price: r.i64("p2wh.attestation.price")?,
        conf: r.u64("p2wh.attestation.conf")?,
        expo: r.i32("p2wh.attestation.expo")?,
        ema_price: r.i64("p2wh.attestation.ema_price")?,
        ema_conf: r.u64("p2wh.attestation.ema_conf")?,
        status: r.u8("p2wh.attestation.status")?,
        num_publishers: r.u32("p2wh.attestation.num_publishers")?,
        max_num_publishers: r.u32("p2wh.attestation.max_num_publishers")?,
        attestation_time: r.i64("p2wh.attestation.attestation_time")?,
        publish_time: r.i64("p2wh.attestation.publish_time")?,
        prev_publish_time: r.i64("p2wh.attestation.prev_publish_time")?,
        prev_price: r.i64("p2wh.attestation.prev_price")?,
        prev_conf: r.u64("p2wh.attestation.prev_conf")?,
        last_attested_publish_time: if r.remaining() >= 8 {
            Some(r.i64("p2wh.attestation.last_attested_publish_time")?)
        } else {
            None
        },
    };
    // Anything further belongs to a later minor version: skipped by design.
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(minor: u16, size: u16, n: u16) -> Vec<u8> {
        let mut b = b"P2WH".to_vec();
        b.extend(3_u16.to_be_bytes());
        b.extend(minor.to_be_bytes());
        b.extend(3_u16.to_be_bytes()); // header: payload id + 2 extra bytes
        b.extend([2, 0xee, 0xee]);
        b.extend(n.to_be_bytes());
        b.extend(size.to_be_bytes());
        for i in 0..n {
            let mut a = vec![0u8; size.into()];
            a[32..64].fill(i as u8 + 1); // price id
            a[64..72].copy_from_slice(&(-5_i64).to_be_bytes()); // price
            a[80..84].copy_from_slice(&(-8_i32).to_be_bytes()); // expo
            b.extend(a);
        }
        b
    }

    #[test]
    fn parses_v3_0_and_v3_1_and_skips_unknown_extra_bytes() {
        let v30 = BatchPriceAttestation::parse(&batch(0, 149, 2)).unwrap();
        assert_eq!(v30.attestations.len(), 2);
        assert_eq!(v30.attestations[1].price_id, B256::repeat_byte(2));
        assert_eq!(
            (v30.attestations[0].price, v30.attestations[0].expo),
            (-5, -8)
        );
        assert_eq!(v30.attestations[0].last_attested_publish_time, None);

        let v31 = BatchPriceAttestation::parse(&batch(1, 157, 1)).unwrap();
        assert_eq!(v31.attestations[0].last_attested_publish_time, Some(0));

        let later = BatchPriceAttestation::parse(&batch(2, 170, 3)).unwrap();
        assert_eq!(later.attestations.len(), 3);
        assert_eq!(later.attestations[2].price_id, B256::repeat_byte(3));
    }

    #[test]
    fn rejects_bad_headers_and_short_attestations() {
        let mut b = batch(1, 157, 1);
        b[5] = 2;
        let err = BatchPriceAttestation::parse(&b).unwrap_err();
        assert!(
            err.to_string().contains("unsupported major version 2"),
            "{err}"
        );

        let mut b = batch(1, 157, 1);
        b[10] = 1;
        let err = BatchPriceAttestation::parse(&b).unwrap_err();
        assert!(
            err.to_string().contains("unsupported payload id 1"),
            "{err}"
        );

        let err = BatchPriceAttestation::parse(&batch(1, 100, 1)).unwrap_err();
        assert!(err.to_string().contains("below the v3.0 minimum"), "{err}");

        let mut b = batch(1, 157, 2);
        b.truncate(b.len() - 1);
        let err = BatchPriceAttestation::parse(&b).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("p2wh.attestation[1]: truncated"),
            "{err}"
        );
    }
}
