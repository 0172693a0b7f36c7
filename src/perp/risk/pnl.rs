//! A trader position's PnL in the asset's base units, as DePerp computes it:
//! price PnL `size·(price − entry)/entry` for a long and its negation for a short, and the
//! funding fee `size·(tracerNow − tracerAtOpen)/10000`, subtracted from a long's PnL and
//! added to a short's.
//!
//! Rounding: every division truncates toward zero (as Solidity's signed division does), so
//! a short's price PnL is exactly the negation of the same long's. Every operation is
//! checked; an overflow is a [`RiskError::Overflow`] naming the quantity.

use alloy::primitives::{I256, U256};

use super::RiskError;
use crate::perp::model::TraderPosition;

/// Funding tracers are in basis points of size.
const FUNDING_DENOMINATOR: I256 = I256::from_raw(U256::from_limbs([10_000, 0, 0, 0]));

/// A position's PnL from the trader's side: positive is the trader's gain (the vault's loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pnl {
    pub price_pnl: I256,
    /// `size·(tracerNow − tracerAtOpen)/10000`, before its sign is applied for the side.
    pub funding_fee: I256,
    /// Long: `price_pnl − funding_fee`; short: `price_pnl + funding_fee`.
    pub total: I256,
}

/// `size·(price − entry)/entry` for a long, `size·(entry − price)/entry` for a short.
pub fn price_pnl(is_long: bool, size: U256, entry: U256, price: U256) -> Result<I256, RiskError> {
    if entry.is_zero() {
        return Err(RiskError::ZeroEntryPrice);
    }
    let size = signed(size, "size")?;
    let entry = signed(entry, "price")?;
    let price = signed(price, "current_price")?;
    let change = price
        .checked_sub(entry)
        .ok_or_else(RiskError::overflow("price_pnl"))?;
    let long = size
        .checked_mul(change)
        .and_then(|v| v.checked_div(entry))
        .ok_or_else(RiskError::overflow("price_pnl"))?;
    if is_long {
        Ok(long)
    } else {
        long.checked_neg()
            .ok_or_else(RiskError::overflow("price_pnl"))
    }
}

/// `size·(tracer_now − tracer_at_open)/10000`, truncated toward zero.
pub fn funding_fee(size: U256, tracer_at_open: I256, tracer_now: I256) -> Result<I256, RiskError> {
    let size = signed(size, "size")?;
    tracer_now
        .checked_sub(tracer_at_open)
        .and_then(|delta| size.checked_mul(delta))
        .and_then(|v| v.checked_div(FUNDING_DENOMINATOR))
        .ok_or_else(RiskError::overflow("funding_fee"))
}

/// The position's PnL at `price` with the market's current funding tracer `tracer_now`.
pub fn position_pnl(
    position: &TraderPosition,
    price: U256,
    tracer_now: I256,
) -> Result<Pnl, RiskError> {
    let price_pnl = price_pnl(position.is_long, position.size, position.price, price)?;
    let funding_fee = funding_fee(position.size, position.funding_tracer, tracer_now)?;
    let total = if position.is_long {
        price_pnl.checked_sub(funding_fee)
    } else {
        price_pnl.checked_add(funding_fee)
    }
    .ok_or_else(RiskError::overflow("pnl"))?;
    Ok(Pnl {
        price_pnl,
        funding_fee,
        total,
    })
}

pub(super) fn signed(value: U256, field: &'static str) -> Result<I256, RiskError> {
    I256::try_from(value).map_err(|_| RiskError::Overflow { field })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// 6-decimal USDC.
    const USDC: u64 = 1_000_000;

    fn u(v: u64) -> U256 {
        U256::from(v)
    }

    fn i(v: i64) -> I256 {
        I256::try_from(v).unwrap()
    }

    #[test]
    fn long_price_pnl_worked_numbers() {
        // 10,000 USDC long BTC from 60,000 to 63,000: +5 % = +500 USDC.
        let pnl = price_pnl(true, u(10_000 * USDC), u(60_000), u(63_000)).unwrap();
        assert_eq!(pnl, i(500 * USDC as i64));
        // Down to 57,000: −500 USDC.
        let pnl = price_pnl(true, u(10_000 * USDC), u(60_000), u(57_000)).unwrap();
        assert_eq!(pnl, i(-500 * USDC as i64));
    }

    #[test]
    fn short_price_pnl_is_the_opposite() {
        let pnl = price_pnl(false, u(10_000 * USDC), u(60_000), u(63_000)).unwrap();
        assert_eq!(pnl, i(-500 * USDC as i64));
        let pnl = price_pnl(false, u(10_000 * USDC), u(60_000), u(57_000)).unwrap();
        assert_eq!(pnl, i(500 * USDC as i64));
    }

    #[test]
    fn price_pnl_truncates_toward_zero() {
        // 1 USDC·(1/3) = 333,333.33… base units → 333,333; the loss side → −333,333.
        assert_eq!(price_pnl(true, u(USDC), u(3), u(4)).unwrap(), i(333_333));
        assert_eq!(price_pnl(true, u(USDC), u(3), u(2)).unwrap(), i(-333_333));
        assert_eq!(price_pnl(false, u(USDC), u(3), u(4)).unwrap(), i(-333_333));
    }

    #[test]
    fn funding_fee_worked_numbers() {
        // 10,000 USDC with the tracer up 25 (0.25 %): 25 USDC.
        assert_eq!(
            funding_fee(u(10_000 * USDC), i(100), i(125)).unwrap(),
            i(25 * USDC as i64)
        );
        // Tracer down 3 on 1 USDC: 1,000,000·(−3)/10,000 = −300.
        assert_eq!(funding_fee(u(USDC), i(0), i(-3)).unwrap(), i(-300));
        // 1 base unit · 7 / 10,000 truncates to 0; −7 too.
        assert_eq!(funding_fee(u(1), i(0), i(7)).unwrap(), I256::ZERO);
        assert_eq!(funding_fee(u(1), i(7), i(0)).unwrap(), I256::ZERO);
    }

    fn position(is_long: bool, size: u64, entry: u64, tracer: i64) -> TraderPosition {
        TraderPosition {
            user: Default::default(),
            asset: Default::default(),
            market: "BTC-USD".into(),
            is_long,
            size: u(size),
            collateral: u(size / 10),
            funding_tracer: i(tracer),
            price: u(entry),
            timestamp: u(1_700_000_000),
        }
    }

    #[test]
    fn funding_is_paid_by_longs_and_received_by_shorts() {
        // +500 price PnL, 25 USDC funding.
        let long = position(true, 10_000 * USDC, 60_000, 100);
        let pnl = position_pnl(&long, u(63_000), i(125)).unwrap();
        assert_eq!(pnl.price_pnl, i(500 * USDC as i64));
        assert_eq!(pnl.funding_fee, i(25 * USDC as i64));
        assert_eq!(pnl.total, i(475 * USDC as i64));

        let short = position(false, 10_000 * USDC, 60_000, 100);
        let pnl = position_pnl(&short, u(63_000), i(125)).unwrap();
        assert_eq!(pnl.price_pnl, i(-500 * USDC as i64));
        assert_eq!(pnl.total, i(-475 * USDC as i64));
    }

    #[test]
    fn zero_entry_and_overflow_are_errors_naming_the_field() {
        assert_eq!(
            price_pnl(true, u(1), U256::ZERO, u(1)),
            Err(RiskError::ZeroEntryPrice)
        );
        let err = price_pnl(true, U256::MAX, u(1), u(2)).unwrap_err();
        assert_eq!(err.field(), "size");
        let half = U256::from(1u8) << 254;
        let err = price_pnl(true, half, u(1), u(3)).unwrap_err();
        assert_eq!(err, RiskError::Overflow { field: "price_pnl" });
        let err = funding_fee(half, I256::MIN, I256::MAX).unwrap_err();
        assert_eq!(err.to_string(), "funding_fee: arithmetic overflow");
    }

    proptest! {
        #[test]
        fn a_short_gains_exactly_what_the_same_long_loses(
            size in any::<u128>(),
            entry in 1u64..,
            price in any::<u64>(),
        ) {
            let long = price_pnl(true, U256::from(size), u(entry), u(price)).unwrap();
            let short = price_pnl(false, U256::from(size), u(entry), u(price)).unwrap();
            prop_assert_eq!(long, -short);
        }
    }
}
