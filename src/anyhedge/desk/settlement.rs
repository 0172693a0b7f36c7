//! Which pair of oracle messages settles a contract, by AnyHedge's rules: the settlement
//! message and the one before it by price sequence. Maturation: the earlier is timestamped
//! before maturity and the settlement message at or after it. Liquidation: the settlement
//! message is before maturity (and not before the start) with its price at or beyond a
//! bound. The first event in sequence order wins, as it would on chain.

/// What the rules need of a stored price message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msg {
    pub timestamp: i64,
    pub price_sequence: i64,
    pub price: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettleKind {
    Maturation,
    Liquidation,
}

impl SettleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SettleKind::Maturation => "maturation",
            SettleKind::Liquidation => "liquidation",
        }
    }
}

/// The contract's terms the rules look at (unix seconds, oracle prices).
#[derive(Debug, Clone, Copy)]
pub struct Terms {
    pub start: i64,
    pub maturity: i64,
    pub low: i64,
    pub high: i64,
}

/// Indices into `messages` of (previous, settlement) and the kind, or `None` when nothing
/// settles the contract yet. `messages` may be in any order and incomplete: a message whose
/// predecessor is missing cannot settle (the poller fetches what is missing first).
pub fn find(messages: &[Msg], terms: &Terms) -> Option<(usize, usize, SettleKind)> {
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by_key(|&i| messages[i].price_sequence);
    order.windows(2).find_map(|pair| {
        let (p, s) = (pair[0], pair[1]);
        let (prev, msg) = (&messages[p], &messages[s]);
        if msg.price_sequence != prev.price_sequence + 1 || prev.timestamp >= terms.maturity {
            return None;
        }
        if msg.timestamp >= terms.maturity {
            return Some((p, s, SettleKind::Maturation));
        }
        let out_of_bounds = msg.price <= terms.low || msg.price >= terms.high;
        (msg.timestamp >= terms.start && out_of_bounds).then_some((p, s, SettleKind::Liquidation))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TERMS: Terms = Terms {
        start: 1_000,
        maturity: 2_000,
        low: 6_944,
        high: 43_776,
    };

    fn m(timestamp: i64, price_sequence: i64, price: i64) -> Msg {
        Msg {
            timestamp,
            price_sequence,
            price,
        }
    }

    #[test]
    fn matures_on_the_pair_that_straddles_maturity() {
        let msgs = [
            m(1_940, 10, 10_000),
            m(2_000, 12, 11_000),
            m(1_990, 11, 10_500),
            m(2_060, 13, 12_000),
        ];
        assert_eq!(find(&msgs, &TERMS), Some((2, 1, SettleKind::Maturation)));
    }

    #[test]
    fn a_gap_in_price_sequences_settles_nothing() {
        let msgs = [m(1_990, 11, 10_500), m(2_000, 13, 11_000)];
        assert_eq!(find(&msgs, &TERMS), None);
    }

    #[test]
    fn liquidates_at_the_first_message_on_or_beyond_a_bound() {
        for price in [6_944, 6_000, 43_776, 50_000] {
            let msgs = [m(1_500, 5, 10_000), m(1_560, 6, price), m(1_620, 7, price)];
            assert_eq!(
                find(&msgs, &TERMS),
                Some((0, 1, SettleKind::Liquidation)),
                "{price}"
            );
        }
        let inside = [m(1_500, 5, 10_000), m(1_560, 6, 6_945), m(1_620, 7, 43_775)];
        assert_eq!(find(&inside, &TERMS), None);
    }

    #[test]
    fn messages_before_the_start_do_not_liquidate() {
        let msgs = [m(900, 1, 10_000), m(960, 2, 5_000)];
        assert_eq!(find(&msgs, &TERMS), None);
    }

    #[test]
    fn a_liquidation_before_maturity_comes_first() {
        let msgs = [
            m(1_900, 1, 10_000),
            m(1_950, 2, 5_000),
            m(1_990, 3, 10_000),
            m(2_010, 4, 10_000),
        ];
        assert_eq!(find(&msgs, &TERMS), Some((0, 1, SettleKind::Liquidation)));
    }

    #[test]
    fn after_maturity_only_the_straddling_pair_counts() {
        // Both messages at or after maturity: the earlier is not before maturity.
        let msgs = [m(2_000, 1, 5_000), m(2_060, 2, 5_000)];
        assert_eq!(find(&msgs, &TERMS), None);
    }
}
