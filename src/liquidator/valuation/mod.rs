//! Local valuation of every Dex223 margin position, with no node calls: the module's uint256
//! arithmetic reproduced bit for bit (debt, `getAmountOut`, `subjectToLiquidation`,
//! `subjectToLiquidationExtended`'s insolvency time), a [`Book`] that revalues 100,000 positions
//! in parallel on every block and price change, and the [`Queue`] of what to check on chain.
//!
//! - [`debt`]: `calculateDebtAmount` and the insolvency time.
//! - [`oracle_math`]: `getAmountOut` from a pair's `sqrtPriceX96`, main and legacy oracles.
//! - [`book`]: positions compiled against a price table; [`Book::revalue`].
//! - [`queue`]: priority by expected insolvency, health order, on-chain candidates.
//!
//! Where the local answer and the chain's can part:
//! - Overflow. The deployed module and the legacy oracle are solc 0.7.6: a uint256 step that
//!   overflows wraps there; here it is `None` (unpriceable), and unpriceable positions are
//!   always candidates for an on-chain check. `FullMath.mulDiv` reverts, and so does ours.
//! - Direction. The main oracle takes "is `sell` token0" from the pool, which lists an ERC-20
//!   address and its ERC-223 twin; here it is `sell < buy`. Feed the book the addresses the
//!   pools sort by (ERC-20).
//! - Price. The main oracle prices at a TWAP; the book values at whatever `sqrtPriceX96` it is
//!   given per pair.

pub mod book;
pub mod debt;
mod full_math;
pub mod oracle_math;
pub mod queue;

pub use book::{Book, PositionTerms, Revaluation, Valuation};
pub use debt::{DebtMath, debt_at, debt_at_with, insolvency_time, insolvent_at};
pub use full_math::mul_div;
pub use oracle_math::{OracleMath, amount_out};
pub use queue::{Counts, Priority, Queue, candidates, priority, top_by_health, top_by_priority};
