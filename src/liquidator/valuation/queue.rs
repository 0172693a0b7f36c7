//! The liquidation queue of one revaluation: positions in order of expected insolvency, the
//! pane's rows by health, and the candidates the desk must check on chain.
//!
//! Priority order: liquidatable now (lowest health first), then unpriceable (only the chain can
//! value them), then by expected insolvency time (soonest first, then lowest health), then
//! never (lowest health first); ties by id. Top rows come from a bounded heap over one pass,
//! never a sort of the whole book.

use std::collections::BinaryHeap;

use super::book::{Revaluation, Valuation};

/// A position's place in the queue; smaller is more urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Liquidatable { health_bps: u32, id: u64 },
    Unpriceable { id: u64 },
    Insolvent { at: u64, health_bps: u32, id: u64 },
    Never { health_bps: u32, id: u64 },
}

/// The place of `v` in the queue.
pub fn priority(v: &Valuation) -> Priority {
    let id = v.id;
    match (v.health_bps, v.insolvent_at) {
        (None, _) => Priority::Unpriceable { id },
        (Some(health_bps), _) if v.liquidatable => Priority::Liquidatable { health_bps, id },
        (Some(health_bps), Some(at)) => Priority::Insolvent { at, health_bps, id },
        (Some(health_bps), None) => Priority::Never { health_bps, id },
    }
}

/// The health order of the pane: unknown health first (the desk cannot vouch for it), then
/// lowest health; ties by id.
fn health_key(v: &Valuation) -> (bool, u32, u64) {
    (v.health_bps.is_some(), v.health_bps.unwrap_or(0), v.id)
}

/// The `k` most urgent positions, in priority order.
pub fn top_by_priority(rev: &Revaluation, k: usize) -> Vec<&Valuation> {
    top_k(rev.valuations(), k, priority)
}

/// The `k` least healthy positions (unpriceable first), lowest health first.
pub fn top_by_health(rev: &Revaluation, k: usize) -> Vec<&Valuation> {
    top_k(rev.valuations(), k, health_key)
}

/// Ids the desk must check on chain: liquidatable now, within `near_edge_bps` of the line
/// (`health_bps < 10000 + near_edge_bps`), or unpriceable. In the book's order.
pub fn candidates(rev: &Revaluation, near_edge_bps: u32) -> Vec<u64> {
    let edge = edge(near_edge_bps);
    rev.valuations()
        .iter()
        .filter(|v| is_candidate(v, edge))
        .map(|v| v.id)
        .collect()
}

fn edge(near_edge_bps: u32) -> u32 {
    10_000u32.saturating_add(near_edge_bps)
}

#[inline]
fn is_candidate(v: &Valuation, edge: u32) -> bool {
    v.liquidatable || v.health_bps.is_none_or(|h| h < edge)
}

/// How many positions fall in each class of [`Priority`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub liquidatable: usize,
    pub unpriceable: usize,
    pub insolvent: usize,
    pub never: usize,
}

/// One revaluation arranged for the desk, built once per pass: the top rows by priority and by
/// health (sorted), the on-chain candidates and the class counts.
#[derive(Debug, Clone, Default)]
pub struct Queue {
    revaluation: Revaluation,
    by_priority: Vec<u32>,
    by_health: Vec<u32>,
    candidates: Vec<u64>,
    counts: Counts,
}

impl Queue {
    /// Arranges `revaluation`, keeping the first `rows` of each order: one pass over it.
    pub fn build(revaluation: Revaluation, rows: usize, near_edge_bps: u32) -> Queue {
        let edge = edge(near_edge_bps);
        let mut by_priority = TopK::new(rows);
        let mut by_health = TopK::new(rows);
        let mut candidates = Vec::new();
        let mut counts = Counts::default();
        for (v, i) in revaluation.valuations().iter().zip(0u32..) {
            let place = priority(v);
            match place {
                Priority::Liquidatable { .. } => counts.liquidatable += 1,
                Priority::Unpriceable { .. } => counts.unpriceable += 1,
                Priority::Insolvent { .. } => counts.insolvent += 1,
                Priority::Never { .. } => counts.never += 1,
            }
            by_priority.offer(place, i);
            by_health.offer(health_key(v), i);
            if is_candidate(v, edge) {
                candidates.push(v.id);
            }
        }
        Queue {
            revaluation,
            by_priority: by_priority.into_sorted(),
            by_health: by_health.into_sorted(),
            candidates,
            counts,
        }
    }

    pub fn revaluation(&self) -> &Revaluation {
        &self.revaluation
    }

    /// The top rows in priority order.
    pub fn top(&self) -> impl ExactSizeIterator<Item = &Valuation> {
        self.by_priority
            .iter()
            .map(|&i| &self.revaluation.valuations()[i as usize])
    }

    /// The first `k` (at most the built rows) least healthy positions, lowest health first.
    pub fn top_by_health(&self, k: usize) -> impl ExactSizeIterator<Item = &Valuation> {
        self.by_health
            .iter()
            .take(k)
            .map(|&i| &self.revaluation.valuations()[i as usize])
    }

    /// See [`candidates`].
    pub fn candidates(&self) -> &[u64] {
        &self.candidates
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }
}

fn top_k<K: Ord>(all: &[Valuation], k: usize, key: impl Fn(&Valuation) -> K) -> Vec<&Valuation> {
    let mut top = TopK::new(k);
    for (v, i) in all.iter().zip(0u32..) {
        top.offer(key(v), i);
    }
    top.into_sorted()
        .into_iter()
        .map(|i| &all[i as usize])
        .collect()
}

/// The `k` smallest keys seen: a max-heap of `k`, so most offers cost one comparison with its
/// top. O(n log k), no copy of the whole book.
struct TopK<K> {
    k: usize,
    heap: BinaryHeap<(K, u32)>,
}

impl<K: Ord> TopK<K> {
    fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(1 << 16)),
        }
    }

    #[inline]
    fn offer(&mut self, key: K, index: u32) {
        if self.heap.len() < self.k {
            self.heap.push((key, index));
        } else if let Some(mut top) = self.heap.peek_mut()
            && key < top.0
        {
            *top = (key, index);
        }
    }

    /// Indices, smallest key first.
    fn into_sorted(self) -> Vec<u32> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|(_, i)| i)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, U256};

    use super::*;
    use crate::liquidator::valuation::book::{Book, PositionTerms};

    const ORACLE: Address = Address::repeat_byte(0x0a);
    const BASE: Address = Address::repeat_byte(0x10);
    const COIN: Address = Address::repeat_byte(0x20);
    const LONELY: Address = Address::repeat_byte(0x30);

    /// A loan of `initial` at `interest` bps opened at 0 with nothing but `base` in the base
    /// asset and `coin` of a coin priced 1:1; `lonely` adds a holding without a price.
    fn terms(id: u64, initial: u64, interest: u64, base: u64, coin: u64) -> PositionTerms {
        PositionTerms {
            id,
            order_id: 0,
            oracle: ORACLE,
            base: BASE,
            initial_balance: U256::from(initial),
            interest: U256::from(interest),
            created_at: 0,
            base_balance: U256::from(base),
            holdings: if coin > 0 {
                vec![(COIN, U256::from(coin))]
            } else {
                vec![]
            },
        }
    }

    /// Valued at t = 0 (no interest yet, debt = initial):
    /// 1: 900 / 1000 -> liquidatable, health 9000.
    /// 2: 950 / 1000 -> liquidatable, health 9500.
    /// 3: unpriceable (a holding without a price).
    /// 4: 1050 / 1000 at 500 bps -> health 10500, insolvent at 50 * 25920000000 / 500000
    ///    = 2592000 (one period).
    /// 5: 1010 / 1000 at 500 bps -> health 10100, insolvent at 10 * 25920000000 / 500000 = 518400.
    /// 6: 1010 / 1000 at 0 bps -> health 10100, never.
    /// 7: 2000 / 1000 at 0 bps -> health 20000, never.
    /// 8: 1020 / 1000 at 250 bps -> health 10200, insolvent at 20 * 25920000000 / 250000
    ///    = 2073600.
    fn sample() -> Revaluation {
        let mut book = Book::default();
        book.set_price(ORACLE, BASE, COIN, U256::from(1u8) << 96);
        book.upsert(terms(1, 1000, 500, 400, 500));
        book.upsert(terms(2, 1000, 500, 950, 0));
        let mut lonely = terms(3, 1000, 500, 2000, 0);
        lonely.holdings.push((LONELY, U256::from(1u8)));
        book.upsert(lonely);
        book.upsert(terms(4, 1000, 500, 1050, 0));
        book.upsert(terms(5, 1000, 500, 10, 1000));
        book.upsert(terms(6, 1000, 0, 1010, 0));
        book.upsert(terms(7, 1000, 0, 0, 2000));
        book.upsert(terms(8, 1000, 250, 1020, 0));
        book.revalue(0)
    }

    fn ids<'a>(vs: impl IntoIterator<Item = &'a Valuation>) -> Vec<u64> {
        vs.into_iter().map(|v| v.id).collect()
    }

    #[test]
    fn sample_is_what_the_comments_say() {
        let rev = sample();
        let get = |id| rev.find(id).unwrap();
        assert_eq!(get(1).health_bps, Some(9000));
        assert!(get(2).liquidatable);
        assert!(get(3).unpriceable());
        assert_eq!(get(4).insolvent_at, Some(2_592_000));
        assert_eq!(get(5).insolvent_at, Some(518_400));
        assert_eq!(get(6).insolvent_at, None);
        assert_eq!(get(8).insolvent_at, Some(2_073_600));
    }

    #[test]
    fn priority_order() {
        let rev = sample();
        assert_eq!(ids(top_by_priority(&rev, 100)), [1, 2, 3, 5, 8, 4, 6, 7]);
        assert_eq!(ids(top_by_priority(&rev, 3)), [1, 2, 3]);
        assert_eq!(ids(top_by_priority(&rev, 0)), [0u64; 0]);
    }

    #[test]
    fn health_order() {
        let rev = sample();
        assert_eq!(ids(top_by_health(&rev, 100)), [3, 1, 2, 5, 6, 8, 4, 7]);
        assert_eq!(ids(top_by_health(&rev, 4)), [3, 1, 2, 5]);
    }

    #[test]
    fn candidates_are_liquidatable_near_the_edge_or_unpriceable() {
        let rev = sample();
        assert_eq!(candidates(&rev, 0), [1, 2, 3]);
        // Within 1 %: health < 10100 -> 5 and 6 (10100) are not.
        assert_eq!(candidates(&rev, 100), [1, 2, 3]);
        assert_eq!(candidates(&rev, 101), [1, 2, 3, 5, 6]);
        assert_eq!(candidates(&rev, 500), [1, 2, 3, 5, 6, 8]);
        assert_eq!(candidates(&rev, u32::MAX).len(), 8);
    }

    #[test]
    fn partial_selection_equals_a_full_sort() {
        let mut book = Book::default();
        book.set_price(ORACLE, BASE, COIN, U256::from(1u8) << 96);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for id in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Few distinct healths and rates, so ties are common.
            let mut t = terms(
                id,
                1000,
                (x % 4) * 250,
                900 + (x >> 8) % 16 * 25,
                (x >> 16) % 3,
            );
            if x.is_multiple_of(50) {
                t.holdings.push((LONELY, U256::from(1u8)));
            }
            book.upsert(t);
        }
        let rev = book.revalue(86_400);
        let mut by_priority: Vec<&Valuation> = rev.valuations().iter().collect();
        by_priority.sort_by_key(|v| priority(v));
        let mut by_health: Vec<&Valuation> = rev.valuations().iter().collect();
        by_health.sort_by_key(|v| health_key(v));
        for k in [1, 7, 100, 2999, 3000, 5000] {
            let n = k.min(3000);
            assert_eq!(
                ids(top_by_priority(&rev, k)),
                ids(by_priority[..n].iter().copied())
            );
            assert_eq!(
                ids(top_by_health(&rev, k)),
                ids(by_health[..n].iter().copied())
            );
            let queue = Queue::build(rev.clone(), k, 300);
            assert_eq!(ids(queue.top()), ids(by_priority[..n].iter().copied()));
            assert_eq!(
                ids(queue.top_by_health(k)),
                ids(by_health[..n].iter().copied())
            );
            assert_eq!(queue.candidates(), candidates(&rev, 300));
        }
    }

    #[test]
    fn queue_snapshot() {
        let queue = Queue::build(sample(), 5, 100);
        assert_eq!(ids(queue.top()), [1, 2, 3, 5, 8]);
        assert_eq!(ids(queue.top_by_health(3)), [3, 1, 2]);
        assert_eq!(queue.candidates(), [1, 2, 3]);
        assert_eq!(
            queue.counts(),
            Counts {
                liquidatable: 2,
                unpriceable: 1,
                insolvent: 3,
                never: 2
            }
        );
        assert_eq!(queue.revaluation().len(), 8);
    }
}
