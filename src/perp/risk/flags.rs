//! DeHedge's three risk flags for a PnL against one asset's vault and shield, every one
//! evaluated (the reference module flips one at random), each with its numbers.
//!
//! With `remaining = vault + shield − pnl`:
//! - vault drawdown: `vault·vault_factor > remaining`;
//! - shield PnL risk: `shield − pnl ≤ 0` (the reference tests `== 0`, missing every PnL
//!   beyond the shield);
//! - profit limit (hedge): `vault·vault_profit_limit_factor·profit_limit_interest >
//!   remaining·profit_limit_interest`.
//!
//! Factors are applied exactly: a factor `m/10^s` (its decimal mantissa and scale) is
//! moved to the other side of the comparison, so `vault·m/10^s > remaining` is compared as
//! `vault·m > remaining·10^s` in `I512`, with no rounding at all.

use alloy::primitives::aliases::I512;
use alloy::primitives::{I256, U256, U512};
use rust_decimal::Decimal;

use super::amount::format_amount;
use super::pnl::signed;
use super::{RiskError, RiskFactors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagKind {
    VaultDrawdown,
    ShieldPnl,
    ProfitLimit,
}

impl FlagKind {
    pub const ALL: [FlagKind; 3] = [
        FlagKind::VaultDrawdown,
        FlagKind::ShieldPnl,
        FlagKind::ProfitLimit,
    ];

    /// Machine name: `vault_drawdown`, `shield_pnl`, `profit_limit`.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::VaultDrawdown => "vault_drawdown",
            FlagKind::ShieldPnl => "shield_pnl",
            FlagKind::ProfitLimit => "profit_limit",
        }
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            FlagKind::VaultDrawdown => "vault drawdown",
            FlagKind::ShieldPnl => "shield PnL risk",
            FlagKind::ProfitLimit => "profit limit",
        }
    }
}

/// One flag's outcome and the numbers of the comparison behind it; the text is written on
/// demand ([`FlagCheck::detail`], [`FlagCheck::reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagCheck {
    pub kind: FlagKind,
    pub set: bool,
    pub numbers: FlagNumbers,
}

/// What the three comparisons are made of, amounts in the asset's base units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagNumbers {
    pub vault: I256,
    pub shield: I256,
    /// The trader's PnL.
    pub pnl: I256,
    /// `vault + shield − pnl`.
    pub remaining: I256,
    /// `shield − pnl`.
    pub shield_left: I256,
    /// The asset's decimals, for writing the amounts out.
    pub decimals: u8,
    pub factors: RiskFactors,
}

impl FlagCheck {
    /// The comparison with the operator that held (`>` or `≤`), amounts in the asset's
    /// decimals: `vault 1,000,000.00 × 1 > remaining 950,000.00`.
    pub fn detail(&self) -> String {
        let n = &self.numbers;
        let amount = |a: I256| format_amount(a, n.decimals);
        let gt = if self.set { ">" } else { "≤" };
        match self.kind {
            FlagKind::VaultDrawdown => format!(
                "vault {} × {} {gt} remaining {}",
                amount(n.vault),
                n.factors.vault_factor(),
                amount(n.remaining)
            ),
            FlagKind::ShieldPnl => format!(
                "shield {} − pnl {} = {} {} 0",
                amount(n.shield),
                amount(n.pnl),
                amount(n.shield_left),
                if self.set { "≤" } else { ">" }
            ),
            FlagKind::ProfitLimit => {
                let pli = n.factors.profit_limit_interest();
                format!(
                    "vault {} × {} × {pli} {gt} remaining {} × {pli}",
                    amount(n.vault),
                    n.factors.vault_profit_limit_factor(),
                    amount(n.remaining)
                )
            }
        }
    }

    /// `vault drawdown: vault 1,000,000.00 × 1 > remaining 950,000.00`.
    pub fn reason(&self) -> String {
        format!("{}: {}", self.kind.label(), self.detail())
    }
}

/// All three flags for one PnL, in [`FlagKind::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskFlags {
    /// `vault + shield − pnl`, in base units.
    pub remaining: I256,
    pub checks: [FlagCheck; 3],
}

impl RiskFlags {
    pub fn any(&self) -> bool {
        self.checks.iter().any(|c| c.set)
    }

    pub fn is_set(&self, kind: FlagKind) -> bool {
        self.checks.iter().any(|c| c.kind == kind && c.set)
    }

    /// The flags that are set.
    pub fn set(&self) -> impl Iterator<Item = &FlagCheck> {
        self.checks.iter().filter(|c| c.set)
    }
}

/// The three flags for `pnl` (the trader's, base units) against `vault` and `shield` of an
/// asset with `decimals`.
pub fn evaluate_flags(
    vault: U256,
    shield: U256,
    pnl: I256,
    decimals: u8,
    factors: &RiskFactors,
) -> Result<RiskFlags, RiskError> {
    let vault_i = signed(vault, "vault")?;
    let shield_i = signed(shield, "shield")?;
    let remaining = vault_i
        .checked_add(shield_i)
        .and_then(|v| v.checked_sub(pnl))
        .ok_or_else(RiskError::overflow("remaining"))?;
    let shield_left = shield_i
        .checked_sub(pnl)
        .ok_or_else(RiskError::overflow("shield_pnl"))?;
    let vf = factors.vault_factor();
    let vpl = factors.vault_profit_limit_factor();
    let pli = factors.profit_limit_interest();

    let (v, r) = (wide(vault_i), wide(remaining));
    let exceeds = |lhs: Option<I512>, rhs: Option<I512>, field| match (lhs, rhs) {
        (Some(lhs), Some(rhs)) => Ok(lhs > rhs),
        _ => Err(RiskError::Overflow { field }),
    };
    // vault·m_vf > remaining·10^s_vf
    let (m_vf, p_vf) = (mantissa(vf)?, pow10(vf)?);
    let drawdown = exceeds(v.checked_mul(m_vf), r.checked_mul(p_vf), "vault_factor")?;
    // vault·vpl·pli > remaining·pli: no factor is negative, so a positive pli cancels out
    // (vault·m_vpl > remaining·10^s_vpl) and a zero one never flags (0 > 0).
    let (m_vpl, p_vpl) = (mantissa(vpl)?, pow10(vpl)?);
    let profit_limit = !pli.is_zero()
        && exceeds(
            v.checked_mul(m_vpl),
            r.checked_mul(p_vpl),
            "profit_limit_interest",
        )?;
    let shield_risk = shield_left <= I256::ZERO;

    let numbers = FlagNumbers {
        vault: vault_i,
        shield: shield_i,
        pnl,
        remaining,
        shield_left,
        decimals,
        factors: *factors,
    };
    let check = |kind, set| FlagCheck { kind, set, numbers };
    Ok(RiskFlags {
        remaining,
        checks: [
            check(FlagKind::VaultDrawdown, drawdown),
            check(FlagKind::ShieldPnl, shield_risk),
            check(FlagKind::ProfitLimit, profit_limit),
        ],
    })
}

/// Sign-extends into 512 bits, where no product of an amount and two factors overflows.
fn wide(v: I256) -> I512 {
    let magnitude = I512::from_raw(U512::from(v.unsigned_abs()));
    if v.is_negative() {
        // |v| ≤ 2^255 is far from I512::MIN.
        -magnitude
    } else {
        magnitude
    }
}

fn mantissa(factor: Decimal) -> Result<I512, RiskError> {
    I512::try_from(factor.mantissa()).map_err(|_| RiskError::Overflow { field: "factor" })
}

fn pow10(factor: Decimal) -> Result<I512, RiskError> {
    // A Decimal's scale is at most 28, and 10^28 fits an i128.
    10i128
        .checked_pow(factor.scale())
        .and_then(|p| I512::try_from(p).ok())
        .ok_or(RiskError::Overflow { field: "factor" })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;

    /// 6-decimal USDC.
    const USDC: i128 = 1_000_000;
    const VAULT: i128 = 1_000_000 * USDC;
    const SHIELD: i128 = 100_000 * USDC;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn factors(vf: &str, vpl: &str, pli: &str) -> RiskFactors {
        RiskFactors::new(dec(vf), dec(vpl), dec(pli)).unwrap()
    }

    fn flags_at(pnl: i128, factors: &RiskFactors) -> RiskFlags {
        evaluate_flags(
            U256::try_from(VAULT).unwrap(),
            U256::try_from(SHIELD).unwrap(),
            I256::try_from(pnl).unwrap(),
            6,
            factors,
        )
        .unwrap()
    }

    fn set_at(kind: FlagKind, pnl: i128, factors: &RiskFactors) -> bool {
        flags_at(pnl, factors).is_set(kind)
    }

    #[test]
    fn remaining_is_vault_plus_shield_minus_pnl() {
        let flags = flags_at(30_000 * USDC, &RiskFactors::default());
        assert_eq!(flags.remaining, I256::try_from(1_070_000 * USDC).unwrap());
        let flags = flags_at(-30_000 * USDC, &RiskFactors::default());
        assert_eq!(flags.remaining, I256::try_from(1_130_000 * USDC).unwrap());
    }

    #[test]
    fn vault_drawdown_threshold() {
        // Factor 0.9: 900,000 > 1,100,000 − pnl  ⇔  pnl > 200,000 USDC.
        let f = factors("0.9", "1", "0.4");
        let at = 200_000 * USDC;
        assert!(!set_at(FlagKind::VaultDrawdown, at - 1, &f));
        assert!(!set_at(FlagKind::VaultDrawdown, at, &f));
        assert!(set_at(FlagKind::VaultDrawdown, at + 1, &f));
        assert_eq!(
            flags_at(at, &f).checks[0].reason(),
            "vault drawdown: vault 1,000,000.00 × 0.9 ≤ remaining 900,000.00"
        );
        assert_eq!(
            flags_at(at + 1, &f).checks[0].reason(),
            "vault drawdown: vault 1,000,000.00 × 0.9 > remaining 899,999.999999"
        );
        // Default factor 1: pnl > shield.
        let f = RiskFactors::default();
        assert!(!set_at(FlagKind::VaultDrawdown, SHIELD, &f));
        assert!(set_at(FlagKind::VaultDrawdown, SHIELD + 1, &f));
    }

    #[test]
    fn the_documented_reason_reads_as_specified() {
        // Vault 1,000,000, shield 50,000, pnl 100,000: remaining 950,000.
        let flags = evaluate_flags(
            U256::from(1_000_000_000_000u64),
            U256::from(50_000_000_000u64),
            I256::try_from(100_000_000_000i64).unwrap(),
            6,
            &RiskFactors::default(),
        )
        .unwrap();
        let reasons: Vec<String> = flags.set().map(FlagCheck::reason).collect();
        assert_eq!(
            reasons,
            [
                "vault drawdown: vault 1,000,000.00 × 1 > remaining 950,000.00",
                "shield PnL risk: shield 50,000.00 − pnl 100,000.00 = -50,000.00 ≤ 0",
                "profit limit: vault 1,000,000.00 × 1 × 0.4 > remaining 950,000.00 × 0.4",
            ]
        );
    }

    #[test]
    fn shield_pnl_risk_is_at_or_beyond_the_shield() {
        let f = RiskFactors::default();
        assert!(!set_at(FlagKind::ShieldPnl, SHIELD - 1, &f));
        assert!(set_at(FlagKind::ShieldPnl, SHIELD, &f));
        // The reference's `== 0` misses this one.
        assert!(set_at(FlagKind::ShieldPnl, SHIELD + 1, &f));
        assert_eq!(
            flags_at(SHIELD - 1, &f).checks[1].reason(),
            "shield PnL risk: shield 100,000.00 − pnl 99,999.999999 = 0.000001 > 0"
        );
    }

    #[test]
    fn profit_limit_threshold() {
        // 1,000,000 × 1.05 × 0.4 > remaining × 0.4  ⇔  remaining < 1,050,000  ⇔
        // pnl > 50,000 USDC.
        let f = factors("1", "1.05", "0.4");
        let at = 50_000 * USDC;
        assert!(!set_at(FlagKind::ProfitLimit, at - 1, &f));
        assert!(!set_at(FlagKind::ProfitLimit, at, &f));
        assert!(set_at(FlagKind::ProfitLimit, at + 1, &f));
        assert_eq!(
            flags_at(at + 1, &f).checks[2].reason(),
            "profit limit: vault 1,000,000.00 × 1.05 × 0.4 > remaining 1,049,999.999999 × 0.4"
        );
        // A zero interest never flags: 0 > 0 is false.
        let f = factors("1", "1.05", "0");
        assert!(!set_at(FlagKind::ProfitLimit, 10 * VAULT, &f));
    }

    #[test]
    fn factors_apply_exactly_without_rounding() {
        // 1 − 10^−28: vault × f = 999,999.999999|999… base units, above 999,999.999999 and
        // below 1,000,000.000000. A float would make it 1.
        let f = factors("0.9999999999999999999999999999", "1", "0.4");
        // remaining = vault exactly: pnl = shield.
        assert!(!set_at(FlagKind::VaultDrawdown, SHIELD, &f));
        assert!(set_at(FlagKind::VaultDrawdown, SHIELD + 1, &f));
    }

    #[test]
    fn every_flag_is_evaluated_and_independent() {
        // Between the thresholds: shield risk (pnl ≥ 100,000) but not drawdown at 0.9
        // (needs pnl > 200,000); profit limit at 1.05 (pnl > 50,000).
        let f = factors("0.9", "1.05", "0.4");
        let flags = flags_at(150_000 * USDC, &f);
        let set: Vec<FlagKind> = flags.set().map(|c| c.kind).collect();
        assert_eq!(set, [FlagKind::ShieldPnl, FlagKind::ProfitLimit]);
        assert!(flags.any());
        assert!(!flags_at(0, &f).any());
    }

    #[test]
    fn huge_amounts_are_errors_naming_the_field() {
        let f = RiskFactors::default();
        let err = evaluate_flags(U256::MAX, U256::ZERO, I256::ZERO, 6, &f).unwrap_err();
        assert_eq!(err.field(), "vault");
        let big = U256::from(1u8) << 254;
        let err = evaluate_flags(big, big, I256::MIN, 6, &f).unwrap_err();
        assert_eq!(err, RiskError::Overflow { field: "remaining" });
    }

    fn factor() -> impl Strategy<Value = Decimal> {
        (0u32..5_000_000, 0u32..7).prop_map(|(m, s)| Decimal::new(i64::from(m), s))
    }

    proptest! {
        #[test]
        fn flags_are_monotone_in_pnl(
            vault in 0u64..u64::MAX,
            shield in 0u64..u64::MAX,
            a in any::<i64>(),
            b in any::<i64>(),
            vf in factor(),
            vpl in factor(),
            pli in factor(),
        ) {
            let f = RiskFactors::new(vf, vpl, pli).unwrap();
            let (lo, hi) = (a.min(b), a.max(b));
            let eval = |pnl: i64| {
                evaluate_flags(
                    U256::from(vault),
                    U256::from(shield),
                    I256::try_from(pnl).unwrap(),
                    6,
                    &f,
                )
                .unwrap()
            };
            let (low, high) = (eval(lo), eval(hi));
            for kind in FlagKind::ALL {
                // More trader profit never clears a flag.
                prop_assert!(!low.is_set(kind) || high.is_set(kind), "{kind:?} {lo} {hi}");
            }
        }
    }
}
