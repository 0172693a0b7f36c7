//! The premium quote, as the premium calculator spec's default model
//! (`BlackScholesPremiumModel`):
//!
//! ```text
//! T  = duration / 365 days            S = BTC/USD now      K = strike (USD per BTC)
//! d1 = (ln(S/K) + (r + σ²/2)·T) / (σ·√T)        d2 = d1 − σ·√T
//! PUT  fair = K·e^(−rT)·Φ(−d2) − S·Φ(−d1)
//! CALL fair = S·Φ(d1) − K·e^(−rT)·Φ(d2)
//! premium (USD) = fair · (1 + risk_loading) · market_adjustment · tier_multiplier · amount_BTC
//! ```
//!
//! `risk_loading` is the spec's `baseRate` risk adjustment, `market_adjustment` its market
//! factor, `tier_multiplier` the backing tier's premium multiplier (0.8 / 1.0 / 1.2 in the
//! risk-tier documents). All in `Decimal` (28 significant digits, see [`super::decimal_fns`]);
//! the USD premium is rounded up to USD × 10^8, then converted to the collateral token at
//! its price, rounded up (the buyer pays, the pool never undercharges by rounding).

use rust_decimal::Decimal;

use super::MathError;
use super::convert::{Rounding, usd_to_units};
use super::decimal_fns::{exp, ln, norm_cdf, sqrt};
use crate::pool::model::{PolicyKind, Token, Units, UsdE8};

/// Milliseconds in the model's year (365 days).
pub const YEAR_MS: i64 = 365 * 86_400_000;

/// The model's market parameters (from `[pool.premium]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PremiumModel {
    /// σ, annualised (0.5 = 50%).
    pub volatility: Decimal,
    /// r, annual, continuously compounded.
    pub risk_free_rate: Decimal,
    /// The risk adjustment: the fair price × (1 + this).
    pub risk_loading: Decimal,
    /// The market factor the loaded price is multiplied by.
    pub market_adjustment: Decimal,
}

/// What to quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuoteRequest {
    pub kind: PolicyKind,
    /// USD × 10^8 per BTC.
    pub strike_usd: UsdE8,
    pub amount_sats: u64,
    /// BTC/USD now, USD × 10^8.
    pub spot_usd: UsdE8,
    /// Until expiry, ms.
    pub duration_ms: i64,
    /// The backing tier's premium multiplier.
    pub tier_multiplier: Decimal,
    /// The token the premium is paid in, and its price (USD × 10^8).
    pub token: Token,
    pub token_price: UsdE8,
}

/// A quote, with the numbers behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// The Black-Scholes value of the option on one BTC, USD.
    pub fair_per_btc: Decimal,
    /// After the loading, market and tier factors, USD per BTC.
    pub loaded_per_btc: Decimal,
    /// The premium for the policy's amount, USD × 10^8 (rounded up).
    pub premium_usd: UsdE8,
    /// The same in the collateral token's base units (rounded up).
    pub premium: Units,
}

/// USD × 10^8 as a Decimal in USD.
fn usd(value: UsdE8, field: &'static str) -> Result<Decimal, MathError> {
    let v = i128::try_from(value)
        .ok()
        .filter(|v| *v < 1i128 << 95)
        .ok_or_else(|| MathError::invalid(field, "is too large"))?;
    Ok(Decimal::from_i128_with_scale(v, 8))
}

/// The Black-Scholes value of a European option on one unit: `s` spot, `k` strike,
/// `t` years, `r` rate, `sigma` volatility. Never negative.
pub fn black_scholes(
    kind: PolicyKind,
    s: Decimal,
    k: Decimal,
    t: Decimal,
    r: Decimal,
    sigma: Decimal,
) -> Result<Decimal, MathError> {
    let overflow = || MathError::Overflow {
        what: "premium model",
    };
    let vol_sqrt_t = sigma.checked_mul(sqrt(t)?).ok_or_else(overflow)?;
    if vol_sqrt_t.is_zero() {
        return Err(MathError::invalid("volatility", "σ·√T is zero"));
    }
    let drift = (r + sigma * sigma / Decimal::TWO)
        .checked_mul(t)
        .ok_or_else(overflow)?;
    let d1 = (ln(s / k)? + drift)
        .checked_div(vol_sqrt_t)
        .ok_or_else(overflow)?;
    let d2 = d1 - vol_sqrt_t;
    let discounted_k = k * exp(-(r * t))?;
    let value = match kind {
        PolicyKind::Call => s * norm_cdf(d1)? - discounted_k * norm_cdf(d2)?,
        PolicyKind::Put => discounted_k * norm_cdf(-d2)? - s * norm_cdf(-d1)?,
    };
    Ok(value.max(Decimal::ZERO))
}

/// Quotes a policy's premium. Every input is checked, and a bad one is named.
pub fn quote(model: &PremiumModel, req: &QuoteRequest) -> Result<Quote, MathError> {
    if req.strike_usd == 0 {
        return Err(MathError::invalid("strike", "must be above zero"));
    }
    if req.spot_usd == 0 {
        return Err(MathError::invalid("BTC/USD price", "must be above zero"));
    }
    if req.amount_sats == 0 {
        return Err(MathError::invalid("amount", "must be above zero"));
    }
    if req.duration_ms <= 0 {
        return Err(MathError::invalid(
            "expiry",
            format!("must be in the future, is {} ms away", req.duration_ms),
        ));
    }
    if req.token_price == 0 {
        return Err(MathError::ZeroPrice { token: req.token });
    }
    if model.volatility <= Decimal::ZERO {
        return Err(MathError::invalid("volatility", "must be above zero"));
    }
    if req.tier_multiplier <= Decimal::ZERO {
        return Err(MathError::invalid(
            "premium multiplier",
            "must be above zero",
        ));
    }
    let s = usd(req.spot_usd, "BTC/USD price")?;
    let k = usd(req.strike_usd, "strike")?;
    let t = Decimal::from(req.duration_ms) / Decimal::from(YEAR_MS);
    let fair = black_scholes(req.kind, s, k, t, model.risk_free_rate, model.volatility)?;
    let overflow = || MathError::Overflow { what: "premium" };
    let loaded = fair
        .checked_mul(Decimal::ONE + model.risk_loading)
        .and_then(|v| v.checked_mul(model.market_adjustment))
        .and_then(|v| v.checked_mul(req.tier_multiplier))
        .ok_or_else(overflow)?;
    // USD × 10^8 for amount_sats / 10^8 BTC is loaded × amount_sats.
    let premium_usd = loaded
        .checked_mul(Decimal::from(req.amount_sats))
        .ok_or_else(overflow)?
        .ceil();
    let premium_usd = u128::try_from(premium_usd).map_err(|_| overflow())?;
    let premium = usd_to_units(premium_usd, req.token, req.token_price, Rounding::Up)?;
    Ok(Quote {
        fair_per_btc: fair,
        loaded_per_btc: loaded,
        premium_usd,
        premium,
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn close(got: Decimal, want: &str, tolerance: &str) {
        let diff = (got - dec(want)).abs();
        assert!(
            diff <= dec(tolerance),
            "got {got}, want {want} ± {tolerance}"
        );
    }

    fn model() -> PremiumModel {
        PremiumModel {
            volatility: dec("0.5"),
            risk_free_rate: dec("0.02"),
            risk_loading: dec("0.01"),
            market_adjustment: dec("1.2"),
        }
    }

    #[test]
    fn black_scholes_textbook_values() {
        // Hull's example: S = K = 100, r = 5%, σ = 20%, T = 1: call 10.4506, put 5.5735.
        let (s, k, t, r, v) = (
            dec("100"),
            dec("100"),
            Decimal::ONE,
            dec("0.05"),
            dec("0.2"),
        );
        let call = black_scholes(PolicyKind::Call, s, k, t, r, v).unwrap();
        let put = black_scholes(PolicyKind::Put, s, k, t, r, v).unwrap();
        close(call, "10.450583572185565", "0.00002");
        close(put, "5.573526022256971", "0.00002");
        // Put-call parity: C − P = S − K·e^(−rT).
        close(call - put, "4.8770575499285990908574680", "1e-20");
    }

    #[test]
    fn bitcoin_put_and_call_against_a_reference() {
        // 30 days, S = 60,000, σ = 50%, r = 2% (values from the closed form with an exact Φ).
        let t = dec("30") / dec("365");
        let (s, r, v) = (dec("60000"), dec("0.02"), dec("0.5"));
        let put = black_scholes(PolicyKind::Put, s, dec("54000"), t, r, v).unwrap();
        close(put, "1074.2893300892647", "0.01");
        let call = black_scholes(PolicyKind::Call, s, dec("66000"), t, r, v).unwrap();
        close(call, "1390.457710536697", "0.01");
    }

    #[test]
    fn a_quote_is_pinned_to_the_unit() {
        // PUT on 1 BTC at 54,000 USD, BTC at 60,000, 30 days, the default model, balanced
        // tier (×1.0), paid in WBTC.
        let req = QuoteRequest {
            kind: PolicyKind::Put,
            strike_usd: 5_400_000_000_000,
            amount_sats: 100_000_000,
            spot_usd: 6_000_000_000_000,
            duration_ms: 30 * 86_400_000,
            tier_multiplier: Decimal::ONE,
            token: Token::Wbtc,
            token_price: 6_000_000_000_000,
        };
        let q = quote(&model(), &req).unwrap();
        // fair ≈ 1074.29 USD; × 1.01 × 1.2 = 1302.038 USD (the closed form with an exact Φ
        // gives 1302.0387; Φ's approximation is off by < 0.001 USD) = 0.02170064 WBTC.
        close(q.fair_per_btc, "1074.2893300892647", "0.01");
        assert_eq!(q.premium_usd, PINNED_PREMIUM_USD);
        assert_eq!(q.premium, PINNED_PREMIUM_SATS);
        // The same in ETH at 3,000 USD: the USD premium over the price, rounded up.
        let in_eth = quote(
            &model(),
            &QuoteRequest {
                token: Token::Eth,
                token_price: 300_000_000_000,
                ..req
            },
        )
        .unwrap();
        assert_eq!(in_eth.premium_usd, PINNED_PREMIUM_USD);
        assert_eq!(
            in_eth.premium,
            PINNED_PREMIUM_USD * 10u128.pow(18) / 300_000_000_000 + 1
        );
        // The aggressive tier (×1.2) charges 20% more, half a policy about half.
        let aggressive = quote(
            &model(),
            &QuoteRequest {
                tier_multiplier: dec("1.2"),
                ..req
            },
        )
        .unwrap();
        assert_eq!(
            aggressive.premium_usd,
            (PINNED_PREMIUM_USD * 12).div_ceil(10)
        );
        let half = quote(
            &model(),
            &QuoteRequest {
                amount_sats: 50_000_000,
                ..req
            },
        )
        .unwrap();
        assert!(half.premium_usd.abs_diff(PINNED_PREMIUM_USD / 2) <= 1);
    }

    const PINNED_PREMIUM_USD: UsdE8 = 130_203_838_453;
    const PINNED_PREMIUM_SATS: Units = 2_170_064;

    #[test]
    fn bad_inputs_are_named() {
        let req = QuoteRequest {
            kind: PolicyKind::Call,
            strike_usd: 1,
            amount_sats: 1,
            spot_usd: 1,
            duration_ms: 1,
            tier_multiplier: Decimal::ONE,
            token: Token::Eth,
            token_price: 1,
        };
        let field = |r: QuoteRequest, m: PremiumModel| match quote(&m, &r) {
            Err(MathError::Invalid { field, .. }) => field.to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(
            field(
                QuoteRequest {
                    strike_usd: 0,
                    ..req
                },
                model()
            ),
            "strike"
        );
        assert_eq!(
            field(
                QuoteRequest {
                    amount_sats: 0,
                    ..req
                },
                model()
            ),
            "amount"
        );
        assert_eq!(
            field(QuoteRequest { spot_usd: 0, ..req }, model()),
            "BTC/USD price"
        );
        assert_eq!(
            field(
                QuoteRequest {
                    duration_ms: 0,
                    ..req
                },
                model()
            ),
            "expiry"
        );
        assert_eq!(
            field(
                QuoteRequest {
                    tier_multiplier: Decimal::ZERO,
                    ..req
                },
                model()
            ),
            "premium multiplier"
        );
        assert_eq!(
            field(
                req,
                PremiumModel {
                    volatility: Decimal::ZERO,
                    ..model()
                }
            ),
            "volatility"
        );
        assert_eq!(
            quote(
                &model(),
                &QuoteRequest {
                    token_price: 0,
                    ..req
                }
            ),
            Err(MathError::ZeroPrice { token: Token::Eth })
        );
    }
}
