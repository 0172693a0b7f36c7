//! Finding a counterparty's offer for a would-be position (the watchtower's
//! `find_matching_position_offer` and `find_close_matching_offer_suggestion`), as pure
//! functions over loaded offers.
//!
//! The counterparty's amount can only be estimated without the start price: a short of
//! `amount` needs a long of about `amount·(1/low − 1)`, a long of `amount` a short of about
//! `amount/(1/low − 1)`. A match takes offers within [`SATS_RANGE`] of that estimate with the
//! same duration, multipliers and oracle; failing one, the closest offers on the same oracle
//! are suggested.

use crate::anyhedge::chain::Side;
use crate::store::anyhedge::{Offer, OfferStatus};

/// How far (in sats, either way) a match may be from the estimated counterparty amount.
pub const SATS_RANGE: f64 = 10_000.0;
/// At most this many similar offers are suggested.
pub const MAX_SIMILAR: usize = 15;
/// The weights of the amount and duration likeness in a suggestion's score.
pub const SATS_WEIGHT: f64 = 0.7;
pub const DURATION_WEIGHT: f64 = 0.3;

/// What the requester wants to take.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchQuery {
    /// The requester's side; matches are offers of the other side.
    pub position: Side,
    /// The requester's own input, in sats.
    pub satoshis: u64,
    pub duration_seconds: u64,
    pub low_liquidation_multiplier: f64,
    pub high_liquidation_multiplier: f64,
    pub oracle_pubkey: String,
    /// The requester's wallet, whose own offers are never suggested.
    pub wallet_hash: Option<String>,
    /// When given, a match must be (or not be) leveraged too.
    pub leveraged: Option<bool>,
}

/// The counterparty's estimated input for `amount` on `position`.
pub fn counterparty_sats(position: Side, amount: u64, low_liquidation_multiplier: f64) -> f64 {
    let factor = 1.0 / low_liquidation_multiplier - 1.0;
    match position {
        Side::Short => amount as f64 * factor,
        Side::Long => amount as f64 / factor,
    }
}

/// An offer the requester could take at all: the other side, pending, not expired at `now`,
/// on the same oracle, and not the requester's own.
fn takeable(query: &MatchQuery, offer: &Offer, now: i64) -> bool {
    offer.position == query.position.opposite()
        && offer.status == OfferStatus::Pending
        && !offer.is_expired(now)
        && offer.oracle_pubkey == query.oracle_pubkey
        && query
            .wallet_hash
            .as_deref()
            .is_none_or(|w| w.is_empty() || offer.wallet_hash != w)
}

/// The best match: the takeable offer with the same terms whose amount is closest to the
/// estimate (within [`SATS_RANGE`]), the oldest first among equally close ones.
pub fn find_match<'a>(query: &MatchQuery, offers: &'a [Offer], now: i64) -> Option<&'a Offer> {
    let target = counterparty_sats(
        query.position,
        query.satoshis,
        query.low_liquidation_multiplier,
    );
    offers
        .iter()
        .filter(|o| {
            takeable(query, o, now)
                && o.duration_seconds == query.duration_seconds
                && o.low_liquidation_multiplier == query.low_liquidation_multiplier
                && o.high_liquidation_multiplier == query.high_liquidation_multiplier
                && query.leveraged.is_none_or(|l| o.leveraged == l)
                && (o.satoshis as f64 - target).abs() <= SATS_RANGE
        })
        .min_by(|a, b| {
            let da = (a.satoshis as f64 - target).abs();
            let db = (b.satoshis as f64 - target).abs();
            da.total_cmp(&db)
                .then(a.created_at.cmp(&b.created_at))
                .then(a.id.cmp(&b.id))
        })
}

/// `min/max` of two non-negative amounts: 1 when equal, towards 0 as they part.
fn likeness(a: f64, b: f64) -> f64 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    if hi <= 0.0 { 1.0 } else { lo / hi }
}

/// How alike an offer is to the query: `0.7·sats likeness + 0.3·duration likeness`.
pub fn similarity(query: &MatchQuery, offer: &Offer) -> f64 {
    let target = counterparty_sats(
        query.position,
        query.satoshis,
        query.low_liquidation_multiplier,
    );
    SATS_WEIGHT * likeness(offer.satoshis as f64, target)
        + DURATION_WEIGHT * likeness(offer.duration_seconds as f64, query.duration_seconds as f64)
}

/// Up to [`MAX_SIMILAR`] takeable offers, most alike first (the oldest first among ties).
pub fn similar_offers<'a>(query: &MatchQuery, offers: &'a [Offer], now: i64) -> Vec<&'a Offer> {
    let mut scored: Vec<(f64, &Offer)> = offers
        .iter()
        .filter(|o| takeable(query, o, now))
        .map(|o| (similarity(query, o), o))
        .collect();
    scored.sort_by(|(sa, a), (sb, b)| {
        sb.total_cmp(sa)
            .then(a.created_at.cmp(&b.created_at))
            .then(a.id.cmp(&b.id))
    });
    scored
        .into_iter()
        .take(MAX_SIMILAR)
        .map(|(_, o)| o)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Address;

    const ORACLE: &str = "02d09db08af1ff4e8453919cc866a4be427d7bfe18f2c05e5444c196fcf6fd2818";
    const NOW: i64 = 1_700_000_000;

    fn offer(id: i64, position: Side, satoshis: u64) -> Offer {
        Offer {
            id,
            status: OfferStatus::Pending,
            position,
            wallet_hash: format!("wallet-{id}"),
            address: Address::repeat_byte(id as u8),
            satoshis,
            duration_seconds: 86_400,
            low_liquidation_multiplier: 0.5,
            high_liquidation_multiplier: 5.0,
            oracle_pubkey: ORACLE.into(),
            leveraged: false,
            expires_at: None,
            created_at: NOW - 1_000 + id,
            updated_at: NOW - 1_000 + id,
            hedge_position: None,
            counter_party: None,
        }
    }

    /// A short of 1,000,000 sats at low 0.5: the long is estimated at exactly 1,000,000.
    fn short_query() -> MatchQuery {
        MatchQuery {
            position: Side::Short,
            satoshis: 1_000_000,
            duration_seconds: 86_400,
            low_liquidation_multiplier: 0.5,
            high_liquidation_multiplier: 5.0,
            oracle_pubkey: ORACLE.into(),
            wallet_hash: Some("me".into()),
            leveraged: None,
        }
    }

    #[test]
    fn counterparty_estimates_follow_the_low_multiplier() {
        assert_eq!(counterparty_sats(Side::Short, 1_000_000, 0.5), 1_000_000.0);
        assert_eq!(counterparty_sats(Side::Short, 1_000_000, 0.8), 250_000.0);
        assert_eq!(counterparty_sats(Side::Long, 250_000, 0.8), 1_000_000.0);
    }

    #[test]
    fn the_range_is_inclusive_at_exactly_ten_thousand_sats_either_way() {
        let q = short_query();
        for sats in [990_000, 1_010_000] {
            let offers = [offer(1, Side::Long, sats)];
            assert_eq!(
                find_match(&q, &offers, NOW).map(|o| o.id),
                Some(1),
                "{sats}"
            );
        }
        for sats in [989_999, 1_010_001] {
            let offers = [offer(1, Side::Long, sats)];
            assert_eq!(find_match(&q, &offers, NOW), None, "{sats}");
        }
    }

    #[test]
    fn a_long_request_matches_short_offers() {
        let q = MatchQuery {
            position: Side::Long,
            satoshis: 250_000,
            low_liquidation_multiplier: 0.8,
            ..short_query()
        };
        let mut short = offer(1, Side::Short, 1_004_000);
        short.low_liquidation_multiplier = 0.8;
        let mut long = offer(2, Side::Long, 1_000_000);
        long.low_liquidation_multiplier = 0.8;
        let offers = [long, short];
        assert_eq!(find_match(&q, &offers, NOW).map(|o| o.id), Some(1));
    }

    #[test]
    fn own_wallet_other_terms_and_closed_offers_are_excluded() {
        let q = short_query();
        let mut own = offer(1, Side::Long, 1_000_000);
        own.wallet_hash = "me".into();
        let mut other_duration = offer(2, Side::Long, 1_000_000);
        other_duration.duration_seconds = 3_600;
        let mut other_high = offer(3, Side::Long, 1_000_000);
        other_high.high_liquidation_multiplier = 4.0;
        let mut other_oracle = offer(4, Side::Long, 1_000_000);
        other_oracle.oracle_pubkey = "03".repeat(33);
        let mut expired = offer(5, Side::Long, 1_000_000);
        expired.expires_at = Some(NOW - 1);
        let mut accepted = offer(6, Side::Long, 1_000_000);
        accepted.status = OfferStatus::Accepted;
        let same_side = offer(7, Side::Short, 1_000_000);
        let offers = [
            own,
            other_duration,
            other_high,
            other_oracle,
            expired,
            accepted,
            same_side,
        ];
        assert_eq!(find_match(&q, &offers, NOW), None);
        // Expiring exactly now is still open.
        let mut at_now = offer(8, Side::Long, 1_000_000);
        at_now.expires_at = Some(NOW);
        assert_eq!(find_match(&q, &[at_now], NOW).map(|o| o.id), Some(8));
    }

    #[test]
    fn closest_amount_wins_then_the_oldest() {
        let q = short_query();
        let mut newer_exact = offer(1, Side::Long, 1_000_000);
        newer_exact.created_at = NOW - 10;
        let mut older_exact = offer(2, Side::Long, 1_000_000);
        older_exact.created_at = NOW - 20;
        let near = offer(3, Side::Long, 1_000_001);
        let offers = [near, newer_exact, older_exact];
        assert_eq!(find_match(&q, &offers, NOW).map(|o| o.id), Some(2));
        // Same age: the lower id.
        let a = offer(4, Side::Long, 1_005_000);
        let mut b = offer(5, Side::Long, 995_000);
        b.created_at = a.created_at;
        let offers = [b, a];
        assert_eq!(find_match(&q, &offers, NOW).map(|o| o.id), Some(4));
    }

    #[test]
    fn leverage_is_matched_only_when_asked() {
        let mut leveraged = offer(1, Side::Long, 1_000_000);
        leveraged.leveraged = true;
        let offers = [leveraged];
        assert!(find_match(&short_query(), &offers, NOW).is_some());
        let simple_only = MatchQuery {
            leveraged: Some(false),
            ..short_query()
        };
        assert!(find_match(&simple_only, &offers, NOW).is_none());
    }

    #[test]
    fn similar_offers_rank_by_weighted_likeness() {
        let q = short_query();
        // sats likeness 0.5, duration 1.0 → 0.65
        let half_sats = offer(1, Side::Long, 500_000);
        // sats 1.0, duration 0.5 → 0.85
        let mut half_duration = offer(2, Side::Long, 1_000_000);
        half_duration.duration_seconds = 43_200;
        // sats 0.5 (double), duration 1.0 → 0.65, newer than #1
        let double_sats = offer(3, Side::Long, 2_000_000);
        // different multipliers do not matter for suggestions
        let mut other_terms = offer(4, Side::Long, 1_000_000);
        other_terms.low_liquidation_multiplier = 0.9;
        let mut own = offer(5, Side::Long, 1_000_000);
        own.wallet_hash = "me".into();
        let mut other_oracle = offer(6, Side::Long, 1_000_000);
        other_oracle.oracle_pubkey = "03".repeat(33);
        let offers = [
            half_sats,
            half_duration,
            double_sats,
            other_terms,
            own,
            other_oracle,
        ];
        let ids: Vec<i64> = similar_offers(&q, &offers, NOW)
            .iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(ids, vec![4, 2, 1, 3]);
        assert!((similarity(&q, &offers[0]) - 0.65).abs() < 1e-12);
        assert!((similarity(&q, &offers[1]) - 0.85).abs() < 1e-12);
    }

    #[test]
    fn at_most_fifteen_suggestions() {
        let q = short_query();
        let offers: Vec<Offer> = (1..=20)
            .map(|i| offer(i, Side::Long, 1_000_000 + i as u64 * 50_000))
            .collect();
        let got = similar_offers(&q, &offers, NOW);
        assert_eq!(got.len(), MAX_SIMILAR);
        assert_eq!(got[0].id, 1);
        assert_eq!(got[14].id, 15);
    }
}
