//! The 92-byte price slot PriceCaster stores, and the C3-normalised price it carries:
//! `p' = p·10^(12+e−d)`, picodollars per smallest unit of an asset with `d` decimals,
//! in exact integer arithmetic with overflow reported, never wrapped.

/// Bytes in one price slot.
pub const SLOT_BYTES: usize = 92;
/// Most decimals an asset may declare (the seed's range, 0 to 19).
pub const MAX_DECIMALS: u8 = 19;

/// One price slot, field by field, in the order it is encoded (big-endian):
/// asset id 8 · normalised price 8 · price 8 · confidence 8 · exponent 4 · EMA price 8 ·
/// EMA confidence 8 · publish time 8 · previous publish time 8 · reserved 24.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PriceSlot {
    pub asset_id: u64,
    pub normalized_price: u64,
    pub price: i64,
    pub confidence: u64,
    pub exponent: i32,
    pub ema_price: i64,
    pub ema_confidence: u64,
    pub publish_time: u64,
    pub prev_publish_time: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("price: {price} is not positive; only positive prices can be normalised")]
    NotPositive { price: i64 },
    #[error("decimals: {decimals} is above the maximum of {MAX_DECIMALS}")]
    Decimals { decimals: u8 },
    #[error(
        "normalised price: {price}·10^(12{exponent:+}−{decimals}) does not fit in 64 bits (overflow)"
    )]
    Overflow {
        price: i64,
        exponent: i32,
        decimals: u8,
    },
    #[error("slot: expected {SLOT_BYTES} bytes, got {len}")]
    Length { len: usize },
    #[error("slot: reserved bytes are not zero")]
    Reserved,
}

/// `price·10^(12+exponent−decimals)`, truncated toward zero when the power is negative.
pub fn normalize(price: i64, exponent: i32, decimals: u8) -> Result<u64, SlotError> {
    if price <= 0 {
        return Err(SlotError::NotPositive { price });
    }
    if decimals > MAX_DECIMALS {
        return Err(SlotError::Decimals { decimals });
    }
    let overflow = SlotError::Overflow {
        price,
        exponent,
        decimals,
    };
    let power = 12i64 + i64::from(exponent) - i64::from(decimals);
    let price = price as u128;
    let value = if power >= 0 {
        // 10^38 is the largest power of ten a u128 holds.
        let scale = u32::try_from(power)
            .ok()
            .and_then(|p| 10u128.checked_pow(p))
            .ok_or(overflow.clone())?;
        price.checked_mul(scale).ok_or(overflow.clone())?
    } else {
        match u32::try_from(-power)
            .ok()
            .and_then(|p| 10u128.checked_pow(p))
        {
            Some(scale) => price / scale,
            // A divisor beyond 10^38 leaves nothing of a 63-bit price.
            None => 0,
        }
    };
    u64::try_from(value).map_err(|_| overflow)
}

impl PriceSlot {
    pub fn encode(&self) -> [u8; SLOT_BYTES] {
        let mut out = [0u8; SLOT_BYTES];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(&self.asset_id.to_be_bytes());
        put(&self.normalized_price.to_be_bytes());
        put(&self.price.to_be_bytes());
        put(&self.confidence.to_be_bytes());
        put(&self.exponent.to_be_bytes());
        put(&self.ema_price.to_be_bytes());
        put(&self.ema_confidence.to_be_bytes());
        put(&self.publish_time.to_be_bytes());
        put(&self.prev_publish_time.to_be_bytes());
        debug_assert_eq!(at, SLOT_BYTES - 24);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<PriceSlot, SlotError> {
        if bytes.len() != SLOT_BYTES {
            return Err(SlotError::Length { len: bytes.len() });
        }
        let u64_at = |i: usize| u64::from_be_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        if bytes[68..].iter().any(|b| *b != 0) {
            return Err(SlotError::Reserved);
        }
        Ok(PriceSlot {
            asset_id: u64_at(0),
            normalized_price: u64_at(8),
            price: u64_at(16) as i64,
            confidence: u64_at(24),
            exponent: i32::from_be_bytes(bytes[32..36].try_into().expect("4 bytes")),
            ema_price: u64_at(36) as i64,
            ema_confidence: u64_at(44),
            publish_time: u64_at(52),
            prev_publish_time: u64_at(60),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BTC/USD as Pyth publishes it: $65,123.45678901 at exponent −8.
    const BTC: i64 = 6_512_345_678_901;

    /// The seed's table of boundary decimals `d` and exponents `e`.
    #[test]
    fn the_seeds_boundary_table() {
        // d=0, e=−12: p' = p
        assert_eq!(normalize(BTC, -12, 0), Ok(BTC as u64));
        // d=0, e=12: p·10^24 overflows; the largest usable exponent with 0 decimals is +7
        assert!(matches!(
            normalize(1, 12, 0),
            Err(SlotError::Overflow { .. })
        ));
        assert_eq!(normalize(1, 7, 0), Ok(10_000_000_000_000_000_000));
        assert!(matches!(
            normalize(2, 7, 0),
            Err(SlotError::Overflow { .. })
        ));
        assert!(matches!(
            normalize(1, 8, 0),
            Err(SlotError::Overflow { .. })
        ));
        // d=19, e=−12: p/10^19 ≈ 0 (every i64 price is below 10^19)
        assert_eq!(normalize(i64::MAX, -12, 19), Ok(0));
        assert_eq!(normalize(BTC, -12, 19), Ok(0));
        // d=19, e=12: p·10^5
        assert_eq!(normalize(BTC, 12, 19), Ok(BTC as u64 * 100_000));
        // d=0, e=0: p·10^12
        assert_eq!(normalize(7, 0, 0), Ok(7_000_000_000_000));
        assert!(matches!(
            normalize(BTC, 0, 0),
            Err(SlotError::Overflow { .. })
        ));
        // d=19, e=0: p/10^7, 0 for any price below 10^7
        assert_eq!(normalize(9_999_999, 0, 19), Ok(0));
        assert_eq!(normalize(BTC, 0, 19), Ok(651_234));
    }

    #[test]
    fn normalises_real_assets() {
        // BTC at e=−8 with 8 decimals (WBTC): picodollars per satoshi = p·10^(12−8−8) = p/10^4.
        assert_eq!(normalize(BTC, -8, 8), Ok(651_234_567));
        // USDC at $0.99995 (e=−8), 6 decimals: p·10^(12−8−6) = p/100.
        assert_eq!(normalize(99_995_000, -8, 6), Ok(999_950));
        // ETH at $3,456.78 (e=−8), 18 decimals: p/10^14 = 0.0034 picodollars per wei,
        // truncated to 0 (PriceCaster reports such a slot as NORM_PRICE_ZERO).
        assert_eq!(normalize(345_678_000_000, -8, 18), Ok(0));
        // ... while at 9 decimals (a gwei-denominated token) it is representable.
        assert_eq!(normalize(345_678_000_000, -8, 9), Ok(3_456_780));
    }

    #[test]
    fn bad_inputs_name_what_failed() {
        assert_eq!(
            normalize(0, -8, 6).unwrap_err().to_string(),
            "price: 0 is not positive; only positive prices can be normalised"
        );
        assert!(normalize(-5, -8, 6).is_err());
        assert_eq!(
            normalize(5, -8, 20).unwrap_err().to_string(),
            "decimals: 20 is above the maximum of 19"
        );
        assert_eq!(
            normalize(2, 7, 0).unwrap_err().to_string(),
            "normalised price: 2·10^(12+7−0) does not fit in 64 bits (overflow)"
        );
        // Absurd exponents neither panic nor wrap.
        assert!(normalize(1, i32::MAX, 0).is_err());
        assert_eq!(normalize(1, i32::MIN, 0), Ok(0));
    }

    #[test]
    fn a_slot_is_92_bytes_in_the_seeds_field_order() {
        let slot = PriceSlot {
            asset_id: 0x0102_0304_0506_0708,
            normalized_price: 651_234_567,
            price: BTC,
            confidence: 2_345_678,
            exponent: -8,
            ema_price: 6_500_000_000_000,
            ema_confidence: 2_000_000,
            publish_time: 1_700_000_100,
            prev_publish_time: 1_700_000_099,
        };
        let bytes = slot.encode();
        assert_eq!(bytes.len(), 92);
        assert_eq!(&bytes[0..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bytes[8..16], &651_234_567u64.to_be_bytes());
        assert_eq!(&bytes[16..24], &BTC.to_be_bytes());
        assert_eq!(&bytes[24..32], &2_345_678u64.to_be_bytes());
        assert_eq!(&bytes[32..36], &[0xff, 0xff, 0xff, 0xf8]);
        assert_eq!(&bytes[36..44], &6_500_000_000_000i64.to_be_bytes());
        assert_eq!(&bytes[44..52], &2_000_000u64.to_be_bytes());
        assert_eq!(&bytes[52..60], &1_700_000_100u64.to_be_bytes());
        assert_eq!(&bytes[60..68], &1_700_000_099u64.to_be_bytes());
        assert!(
            bytes[68..].iter().all(|b| *b == 0),
            "24 reserved zero bytes"
        );
        assert_eq!(PriceSlot::decode(&bytes), Ok(slot));
        assert_eq!(
            PriceSlot::decode(&bytes[..91]),
            Err(SlotError::Length { len: 91 })
        );
        let mut dirty = bytes;
        dirty[91] = 1;
        assert_eq!(PriceSlot::decode(&dirty), Err(SlotError::Reserved));
    }
}
