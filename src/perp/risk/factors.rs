//! The risk factors from config, checked once so every flag can rely on them.

use rust_decimal::Decimal;

use super::RiskError;

/// DeHedge's factors. Defaults: `vault_factor` 1, `vault_profit_limit_factor` 1,
/// `profit_limit_interest` 0.4. None is negative (a negative factor would flip a flag's
/// comparison), which [`RiskFactors::new`] enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskFactors {
    vault_factor: Decimal,
    vault_profit_limit_factor: Decimal,
    profit_limit_interest: Decimal,
}

impl Default for RiskFactors {
    fn default() -> Self {
        RiskFactors {
            vault_factor: Decimal::ONE,
            vault_profit_limit_factor: Decimal::ONE,
            profit_limit_interest: Decimal::new(4, 1),
        }
    }
}

impl RiskFactors {
    pub fn new(
        vault_factor: Decimal,
        vault_profit_limit_factor: Decimal,
        profit_limit_interest: Decimal,
    ) -> Result<RiskFactors, RiskError> {
        for (field, value) in [
            ("vault_factor", vault_factor),
            ("vault_profit_limit_factor", vault_profit_limit_factor),
            ("profit_limit_interest", profit_limit_interest),
        ] {
            if value.is_sign_negative() && !value.is_zero() {
                return Err(RiskError::NegativeFactor { field, value });
            }
        }
        Ok(RiskFactors {
            vault_factor: vault_factor.normalize(),
            vault_profit_limit_factor: vault_profit_limit_factor.normalize(),
            profit_limit_interest: profit_limit_interest.normalize(),
        })
    }

    pub fn vault_factor(&self) -> Decimal {
        self.vault_factor
    }

    pub fn vault_profit_limit_factor(&self) -> Decimal {
        self.vault_profit_limit_factor
    }

    pub fn profit_limit_interest(&self) -> Decimal {
        self.profit_limit_interest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_factors_are_refused_by_name() {
        let err = RiskFactors::new(Decimal::ONE, Decimal::new(-1, 1), Decimal::ONE).unwrap_err();
        assert_eq!(err.field(), "vault_profit_limit_factor");
        assert_eq!(
            err.to_string(),
            "vault_profit_limit_factor: must not be negative, got -0.1"
        );
        // −0 is zero.
        assert!(
            RiskFactors::new(
                Decimal::NEGATIVE_ONE * Decimal::ZERO,
                Decimal::ONE,
                Decimal::ONE
            )
            .is_ok()
        );
    }

    #[test]
    fn defaults_are_dehedges() {
        let f = RiskFactors::default();
        assert_eq!(f.vault_factor().to_string(), "1");
        assert_eq!(f.vault_profit_limit_factor().to_string(), "1");
        assert_eq!(f.profit_limit_interest().to_string(), "0.4");
    }
}
