//! The working set of open positions, compiled for revaluation: each holding resolved once to an
//! index into a table of pair prices, so a pass over 100k positions does no hashing, and the
//! pass runs in parallel on rayon's pool.

use std::collections::HashMap;

use alloy::primitives::{Address, U256};
use rayon::prelude::*;

use super::debt::{DebtMath, debt_from_rate, insolvent_at_rate};
use super::full_math::mul_div;
use super::oracle_math::{OracleMath, Quote};

/// What the desk knows of an open position: the module's `positions(id)` plus
/// `getPositionAssets`/`getPositionBalances` (index 0 the base asset) and the order's oracle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionTerms {
    pub id: u64,
    pub order_id: u64,
    /// The order's oracle; prices are per oracle.
    pub oracle: Address,
    /// `assets[0]`, the asset the loan is in.
    pub base: Address,
    pub initial_balance: U256,
    /// Basis points per 30 days.
    pub interest: U256,
    pub created_at: u64,
    /// `balances[0]`.
    pub base_balance: U256,
    /// `(assets[i], balances[i])` for `i >= 1`, in the module's order.
    pub holdings: Vec<(Address, U256)>,
}

/// One position valued at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Valuation {
    pub id: u64,
    /// `None`: the debt overflows uint256.
    pub debt: Option<U256>,
    /// Holdings in the base asset; `None`: unpriceable (a pair without a price, or a holding
    /// the oracle would revert on).
    pub value: Option<U256>,
    /// `value * 10000 / debt`, saturating at `u32::MAX` (also for a zero debt).
    pub health_bps: Option<u32>,
    /// `value < debt`: `subjectToLiquidation` would be true.
    pub liquidatable: bool,
    /// When interest alone makes it liquidatable at today's prices (`at` if it already is);
    /// `None`: never, or unpriceable. See [`super::debt::insolvent_at`].
    pub insolvent_at: Option<u64>,
}

impl Valuation {
    /// Value or debt unknown: only the chain can say.
    pub fn unpriceable(&self) -> bool {
        self.value.is_none() || self.debt.is_none()
    }
}

/// Every position of the book valued at one time, in the book's order.
#[derive(Debug, Clone, Default)]
pub struct Revaluation {
    at: u64,
    valuations: Vec<Valuation>,
}

impl Revaluation {
    /// The block timestamp valued at.
    pub fn at(&self) -> u64 {
        self.at
    }

    pub fn valuations(&self) -> &[Valuation] {
        &self.valuations
    }

    pub fn len(&self) -> usize {
        self.valuations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.valuations.is_empty()
    }

    /// One position's valuation (a linear scan).
    pub fn find(&self, id: u64) -> Option<&Valuation> {
        self.valuations.iter().find(|v| v.id == id)
    }
}

/// A holding, compiled: which price, which way, how much.
#[derive(Debug, Clone, Copy)]
struct Leg {
    amount: U256,
    slot: u32,
    sell_is_token0: bool,
}

/// A position, compiled: only what a revaluation reads.
#[derive(Debug, Clone)]
struct Compiled {
    id: u64,
    created_at: u64,
    initial: U256,
    /// `initial * interest`; `None` if it overflows (then so does the debt).
    rate: Option<U256>,
    base_balance: U256,
    legs: Box<[Leg]>,
}

/// A pair's price for one oracle.
#[derive(Debug, Clone)]
struct Slot {
    oracle: Address,
    sqrt_price_x96: U256,
    quote: Quote,
}

/// Slot 0 is never priced: holdings that can have no price (a holding in the base asset itself,
/// which the oracle refuses) point there.
const NO_PAIR: u32 = 0;

/// The positions, the pair prices, and each oracle's math.
#[derive(Debug, Clone)]
pub struct Book {
    debt_math: DebtMath,
    terms: Vec<PositionTerms>,
    compiled: Vec<Compiled>,
    index: HashMap<u64, usize>,
    slots: Vec<Slot>,
    /// `(oracle, token0, token1)` -> slot.
    pairs: HashMap<(Address, Address, Address), u32>,
    maths: HashMap<Address, OracleMath>,
}

impl Default for Book {
    fn default() -> Self {
        Book::new(DebtMath::default())
    }
}

impl Book {
    pub fn new(debt_math: DebtMath) -> Self {
        let never = Slot {
            oracle: Address::ZERO,
            sqrt_price_x96: U256::ZERO,
            quote: Quote::Unpriced,
        };
        Book {
            debt_math,
            terms: Vec::new(),
            compiled: Vec::new(),
            index: HashMap::new(),
            slots: vec![never],
            pairs: HashMap::new(),
            maths: HashMap::new(),
        }
    }

    pub fn debt_math(&self) -> DebtMath {
        self.debt_math
    }

    pub fn set_debt_math(&mut self, debt_math: DebtMath) {
        self.debt_math = debt_math;
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn get(&self, id: u64) -> Option<&PositionTerms> {
        self.index.get(&id).map(|&i| &self.terms[i])
    }

    /// Adds the position or replaces its terms.
    pub fn upsert(&mut self, terms: PositionTerms) {
        let compiled = self.compile(&terms);
        match self.index.get(&terms.id) {
            Some(&i) => {
                self.terms[i] = terms;
                self.compiled[i] = compiled;
            }
            None => {
                self.index.insert(terms.id, self.terms.len());
                self.terms.push(terms);
                self.compiled.push(compiled);
            }
        }
    }

    /// Drops the position (closed or liquidated); its terms if it was there.
    pub fn remove(&mut self, id: u64) -> Option<PositionTerms> {
        let i = self.index.remove(&id)?;
        self.compiled.swap_remove(i);
        let terms = self.terms.swap_remove(i);
        if let Some(moved) = self.terms.get(i) {
            self.index.insert(moved.id, i);
        }
        Some(terms)
    }

    /// Sets the price of a pair on an oracle: token1 per token0 (token0 the lower address) as a
    /// Q64.96 square root, 0 for "no price". `true` if it changed. A pair of one token is
    /// refused (`false`).
    pub fn set_price(
        &mut self,
        oracle: Address,
        token_a: Address,
        token_b: Address,
        sqrt_price_x96: U256,
    ) -> bool {
        if token_a == token_b {
            return false;
        }
        let slot = self.slot(oracle, token_a, token_b);
        let slot = &mut self.slots[slot as usize];
        if slot.sqrt_price_x96 == sqrt_price_x96 {
            return false;
        }
        let math = self.maths.get(&oracle).copied().unwrap_or_default();
        slot.sqrt_price_x96 = sqrt_price_x96;
        slot.quote = Quote::new(math, sqrt_price_x96);
        true
    }

    /// The price set for a pair on an oracle, if any.
    pub fn price(&self, oracle: Address, token_a: Address, token_b: Address) -> Option<U256> {
        let key = pair_key(oracle, token_a, token_b);
        let slot = &self.slots[*self.pairs.get(&key)? as usize];
        (!slot.sqrt_price_x96.is_zero()).then_some(slot.sqrt_price_x96)
    }

    /// How `oracle` computes amounts (default [`OracleMath::Exact`]). `true` if it changed.
    pub fn set_oracle_math(&mut self, oracle: Address, math: OracleMath) -> bool {
        if self.oracle_math(oracle) == math {
            return false;
        }
        self.maths.insert(oracle, math);
        for slot in self
            .slots
            .iter_mut()
            .skip(1)
            .filter(|slot| slot.oracle == oracle)
        {
            slot.quote = Quote::new(math, slot.sqrt_price_x96);
        }
        true
    }

    pub fn oracle_math(&self, oracle: Address) -> OracleMath {
        self.maths.get(&oracle).copied().unwrap_or_default()
    }

    /// Values every position at block time `at`, in parallel on rayon's current pool.
    pub fn revalue(&self, at: u64) -> Revaluation {
        let mut valuations = Vec::with_capacity(self.compiled.len());
        self.compiled
            .par_iter()
            .with_min_len(1024)
            .map(|position| self.value(position, at))
            .collect_into_vec(&mut valuations);
        Revaluation { at, valuations }
    }

    /// Values one position at `at`.
    pub fn revalue_one(&self, id: u64, at: u64) -> Option<Valuation> {
        let &i = self.index.get(&id)?;
        Some(self.value(&self.compiled[i], at))
    }

    #[inline]
    fn value(&self, position: &Compiled, at: u64) -> Valuation {
        let debt = position.rate.and_then(|rate| {
            debt_from_rate(
                self.debt_math,
                position.initial,
                rate,
                at.saturating_sub(position.created_at),
            )
        });
        let value = position
            .legs
            .iter()
            .try_fold(position.base_balance, |sum, leg| {
                let quote = self.slots[leg.slot as usize].quote;
                sum.checked_add(quote.amount_out(leg.sell_is_token0, leg.amount)?)
            });
        let (Some(debt), Some(value)) = (debt, value) else {
            return Valuation {
                id: position.id,
                debt,
                value,
                health_bps: None,
                liquidatable: false,
                insolvent_at: None,
            };
        };
        let health_bps = if debt.is_zero() {
            u32::MAX
        } else {
            mul_div(value, U256::from(10_000u16), debt)
                .map_or(u32::MAX, |h| u32::try_from(h).unwrap_or(u32::MAX))
        };
        Valuation {
            id: position.id,
            debt: Some(debt),
            value: Some(value),
            health_bps: Some(health_bps),
            liquidatable: value < debt,
            insolvent_at: insolvent_at_rate(value, debt, position.rate, at),
        }
    }

    fn compile(&mut self, terms: &PositionTerms) -> Compiled {
        let legs = terms
            .holdings
            .iter()
            .map(|&(asset, amount)| Leg {
                amount,
                slot: if asset == terms.base {
                    NO_PAIR
                } else {
                    self.slot(terms.oracle, terms.base, asset)
                },
                sell_is_token0: asset < terms.base,
            })
            .collect();
        Compiled {
            id: terms.id,
            created_at: terms.created_at,
            initial: terms.initial_balance,
            rate: terms.initial_balance.checked_mul(terms.interest),
            base_balance: terms.base_balance,
            legs,
        }
    }

    /// The slot of a pair on an oracle, created unpriced if new.
    fn slot(&mut self, oracle: Address, token_a: Address, token_b: Address) -> u32 {
        let next = u32::try_from(self.slots.len()).expect("fewer than 2^32 pairs");
        let slot = *self
            .pairs
            .entry(pair_key(oracle, token_a, token_b))
            .or_insert(next);
        if slot == next {
            self.slots.push(Slot {
                oracle,
                sqrt_price_x96: U256::ZERO,
                quote: Quote::Unpriced,
            });
        }
        slot
    }
}

fn pair_key(oracle: Address, token_a: Address, token_b: Address) -> (Address, Address, Address) {
    if token_a < token_b {
        (oracle, token_a, token_b)
    } else {
        (oracle, token_b, token_a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::liquidator::valuation::debt::PERIOD_SECS;

    const ORACLE: Address = Address::repeat_byte(0x0a);
    /// Below WETH: token0 of the USDC/WETH pair.
    const USDC: Address = Address::repeat_byte(0xa0);
    const WETH: Address = Address::repeat_byte(0xc0);
    const WBTC: Address = Address::repeat_byte(0x22);
    const T0: u64 = 1_700_000_000;

    fn u(x: u128) -> U256 {
        U256::from(x)
    }

    /// isqrt(2^192 * 1e12 / 3000): 3000 USDC per WETH, USDC token0 (see oracle_math's tests).
    fn weth_3000() -> U256 {
        "1446501726624926496477173928747177".parse().unwrap()
    }

    /// A 1000 USDC loan at 500 bps holding `weth` wei and `usdc` units.
    fn position(id: u64, weth: u128, usdc: u128) -> PositionTerms {
        PositionTerms {
            id,
            order_id: 1,
            oracle: ORACLE,
            base: USDC,
            initial_balance: u(1_000_000_000),
            interest: u(500),
            created_at: T0,
            base_balance: u(usdc),
            holdings: vec![(WETH, u(weth))],
        }
    }

    #[test]
    fn values_a_position_like_the_contract() {
        let mut book = Book::default();
        book.upsert(position(7, 400_000_000_000_000_000, 50_000_000)); // 0.4 WETH + 50 USDC
        // Unpriced pair: unpriceable, not zero.
        let v = book.revalue_one(7, T0).unwrap();
        assert_eq!(
            (v.value, v.debt, v.health_bps, v.liquidatable),
            (None, Some(u(1_000_000_000)), None, false)
        );
        assert!(v.unpriceable());

        assert!(book.set_price(ORACLE, WETH, USDC, weth_3000()));
        assert!(
            !book.set_price(ORACLE, USDC, WETH, weth_3000()),
            "same pair, same price"
        );
        // 0.4 WETH: mulDiv(2^192, 4e17, sqrt^2) = 1_200_000_000 (1200 USDC) + 50 USDC = 1250 USDC.
        // Debt after 30 days: 1e9 + 1e9 * 500 * 2592000 / 2592000 / 10000 = 1_050_000_000.
        // Health 1_250_000_000 * 10000 / 1_050_000_000 = 11904 (11904.76).
        // Insolvent in (200_000_000 * 10000 * 2592000) / (500 * 1e9) = 10_368_000 s (4 periods).
        let at = T0 + PERIOD_SECS;
        let v = book.revalue_one(7, at).unwrap();
        assert_eq!(v.value, Some(u(1_250_000_000)));
        assert_eq!(v.debt, Some(u(1_050_000_000)));
        assert_eq!(v.health_bps, Some(11904));
        assert!(!v.liquidatable);
        assert_eq!(v.insolvent_at, Some(at + 4 * PERIOD_SECS));
        assert_eq!(book.revalue(at).valuations(), &[v]);

        // Twice the sqrt is 4x the WETH per USDC: 750 USDC per WETH, 0.4 WETH = 300 USDC,
        // + 50 = 350 USDC < 1050: liquidatable, health 350e6 * 10000 / 1050e6 = 3333.
        assert!(book.set_price(ORACLE, USDC, WETH, weth_3000() * u(2)));
        let v = book.revalue_one(7, at).unwrap();
        assert_eq!(v.value, Some(u(350_000_000)));
        assert!(v.liquidatable);
        assert_eq!(v.health_bps, Some(3333));
        assert_eq!(v.insolvent_at, Some(at));

        // The legacy oracle's math: 0.4 WETH keeps 40000 (13 digits slashed) ->
        // sqrt^2 * 40000 / 2^192 = 53_333_333_333_333, * 1e13 = 5.3333333333333e26;
        // inverted: 1.6e35 / that = 300_000_000 (300000000.0000019), + 50 USDC.
        assert!(book.set_oracle_math(ORACLE, OracleMath::LEGACY));
        assert_eq!(book.revalue_one(7, at).unwrap().value, Some(u(350_000_000)));
    }

    #[test]
    fn upsert_remove_and_unpriceable_holdings() {
        let mut book = Book::default();
        book.set_price(ORACLE, USDC, WETH, weth_3000());
        for id in 0..4 {
            book.upsert(position(id, 1_000_000_000_000_000_000, 0));
        }
        assert_eq!(book.len(), 4);
        assert_eq!(book.remove(1).map(|t| t.id), Some(1));
        assert_eq!(book.remove(1), None);
        let ids: Vec<u64> = book.revalue(T0).valuations().iter().map(|v| v.id).collect();
        assert_eq!(ids, [0, 3, 2]);
        assert_eq!(book.get(3).map(|t| t.id), Some(3));

        // A holding without a price (WBTC) makes the whole position unpriceable ...
        let mut terms = position(3, 1_000_000_000_000_000_000, 0);
        terms.holdings.push((WBTC, u(100_000_000)));
        book.upsert(terms.clone());
        assert_eq!(book.len(), 3);
        assert!(book.revalue_one(3, T0).unwrap().unpriceable());
        // ... until the pair is priced: 1 WBTC at sqrt = 2^96 (price 1, WBTC token0) = 1e8 units.
        book.set_price(ORACLE, WBTC, USDC, U256::from(1u8) << 96);
        assert_eq!(
            book.revalue_one(3, T0).unwrap().value,
            Some(u(3_000_000_000 + 100_000_000))
        );
        // A zero holding: the exact oracle reverts on it, so unpriceable.
        terms.holdings[1].1 = U256::ZERO;
        book.upsert(terms.clone());
        assert!(book.revalue_one(3, T0).unwrap().unpriceable());
        // A holding in the base asset itself: the oracle refuses the pair.
        terms.holdings[1] = (USDC, u(5));
        book.upsert(terms);
        assert!(book.revalue_one(3, T0).unwrap().unpriceable());
        assert!(!book.set_price(ORACLE, USDC, USDC, U256::from(1u8) << 96));
        // Another oracle's prices do not count.
        let mut other = position(9, 1, 0);
        other.oracle = Address::repeat_byte(0x0b);
        book.upsert(other);
        assert!(book.revalue_one(9, T0).unwrap().unpriceable());
    }

    #[test]
    fn parallel_pass_equals_one_by_one() {
        let mut book = Book::default();
        book.set_price(ORACLE, USDC, WETH, weth_3000());
        for id in 0..5000u64 {
            let weth = u128::from(id) * 77_777_777_777_777 % 3_000_000_000_000_000_000;
            book.upsert(position(id, weth, u128::from(id) * 1_000));
        }
        let at = T0 + 12_345_678;
        let all = book.revalue(at);
        assert_eq!(all.len(), 5000);
        for v in all.valuations() {
            assert_eq!(Some(*v), book.revalue_one(v.id, at));
        }
        assert!(all.valuations().iter().any(|v| v.liquidatable));
        assert!(all.valuations().iter().any(|v| !v.liquidatable));
    }
}
