//! The leverage each side takes on, for display (never for amounts).

use serde::Serialize;

use super::ContractTerms;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Leverage {
    /// 1 for a simple hedge, else `high_mult / (high_mult - 1)`.
    pub short: f64,
    /// `1 / (1 - low_mult)`.
    pub long: f64,
}

impl ContractTerms {
    /// The leverages these terms give. Meaningful for terms [`super::create`] accepts, where
    /// `low_mult < 1 < high_mult`.
    pub fn leverage(&self) -> Leverage {
        let short = if self.leveraged {
            self.high_mult / (self.high_mult - 1.0)
        } else {
            1.0
        };
        Leverage {
            short,
            long: 1.0 / (1.0 - self.low_mult),
        }
    }
}
