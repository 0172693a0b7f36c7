//! The hedger's decisions, pure (no I/O, no clock): what to open, refresh and close given
//! the evaluated trader positions and the hedges we know of. The vault is every trader's
//! counterparty, so a hedge goes the trader's way (trader long → we BUY).
//!
//! Rules, per pass:
//! - a flagged position with no live (Opening/Open/Closing) hedge → `Open`, or
//!   `Unhedgeable` when its market has no symbol or no usable price;
//! - a flagged position with an Opening/Open hedge → `Refresh` (the worker stores
//!   `last_flag_at = now`);
//! - an unflagged position whose Open hedge was last flagged `expiry_secs` or more ago →
//!   `Close(RiskCleared)`;
//! - an Open hedge whose position is gone from the chain → `Close(PositionVanished)`.
//!
//! Only an `Open` hedge is closed: an Opening one waits for its fill (closing an order in
//! flight could leave the venue short of what we think), and a Closing, Closed or Failed
//! one gets nothing, so a close is decided once — the worker marks the hedge Closing when
//! it journals the close — instead of on every pass as the reference module does.
//! A position whose risk is unknown (no price, no vault, ...) neither opens, refreshes nor
//! closes: losing a price feed is not a reason to drop a hedge.

use std::collections::{BTreeMap, HashSet};

use alloy::primitives::U256;
use rust_decimal::{Decimal, RoundingStrategy};

use super::risk::{PositionRow, PositionStatus};
use super::venue::OrderSide;

/// How long a hedge outlives its position's last flag, by default.
pub const DEFAULT_EXPIRY_SECS: i64 = 60;

/// Hedge quantities are truncated (toward zero) to this many decimals of the base asset;
/// the desk then rounds them down to the venue's step for the symbol
/// ([`Venue::lot_rule`](super::venue::Venue::lot_rule)) before proposing an order.
pub const QUANTITY_DECIMALS: u32 = 8;

/// The hedge journal's states (one type for the store and the decisions).
pub use crate::store::perp::HedgeState;

/// A hedge as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HedgeView {
    /// The hedged position's [`crate::perp::model::TraderPosition::key`].
    pub position_key: String,
    pub symbol: String,
    pub side: OrderSide,
    pub quantity: Decimal,
    pub state: HedgeState,
    /// When its position was last seen flagged (unix seconds).
    pub last_flag_at: i64,
}

/// What the risk engine said about a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RiskSignal {
    /// At least one flag is set; the set flags' reasons.
    Flagged(Vec<String>),
    Clear,
    /// It could not be evaluated (the status label: `no price`, `no vault`, ...).
    Unknown(String),
}

/// One trader position as the hedger needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionView {
    pub position_key: String,
    /// DePerp's market, e.g. `BTC-USD`.
    pub market: String,
    pub is_long: bool,
    /// Notional in the asset's base units.
    pub size: U256,
    /// The asset's decimals.
    pub decimals: u8,
    pub risk: RiskSignal,
}

impl From<&PositionRow> for PositionView {
    fn from(row: &PositionRow) -> PositionView {
        let risk = match &row.status {
            PositionStatus::Evaluated(risk) if risk.flags.any() => {
                RiskSignal::Flagged(risk.flags.set().map(|c| c.reason()).collect())
            }
            PositionStatus::Evaluated(_) => RiskSignal::Clear,
            other => RiskSignal::Unknown(other.label().to_string()),
        };
        PositionView {
            position_key: row.key.clone(),
            market: row.position.market.clone(),
            is_long: row.position.is_long,
            size: row.position.size,
            // Only read for a flagged position, which was evaluated against its vault.
            decimals: row.decimals.unwrap_or_default(),
            risk,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// No flag for the expiry.
    RiskCleared,
    /// The position is no longer on the chain.
    PositionVanished,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::RiskCleared => "risk cleared",
            CloseReason::PositionVanished => "position vanished",
        }
    }
}

/// Why a flagged position cannot be hedged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnhedgeableReason {
    #[error("market {0} has no venue symbol in the config")]
    UnmappedMarket(String),
    #[error("no price for market {0}")]
    NoPrice(String),
    #[error("price {price} for market {market} is not positive")]
    BadPrice { market: String, price: Decimal },
    #[error("size {size} with {decimals} decimals is out of a decimal's range")]
    SizeOutOfRange { size: U256, decimals: u8 },
    #[error("quantity rounds to zero ({size_usd} USD at {price})")]
    QuantityZero { size_usd: Decimal, price: Decimal },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HedgeAction {
    Open {
        position_key: String,
        symbol: String,
        side: OrderSide,
        /// Base-asset quantity: notional in USD / price (not yet on the venue's step).
        quantity: Decimal,
        /// The set flags' reasons.
        reason: String,
    },
    Refresh {
        position_key: String,
    },
    Close {
        position_key: String,
        symbol: String,
        /// The order's side: the opposite of the hedge's (a reduce-only close).
        side: OrderSide,
        quantity: Decimal,
        reason: CloseReason,
    },
    Unhedgeable {
        position_key: String,
        reason: UnhedgeableReason,
    },
}

impl HedgeAction {
    pub fn position_key(&self) -> &str {
        match self {
            HedgeAction::Open { position_key, .. }
            | HedgeAction::Refresh { position_key }
            | HedgeAction::Close { position_key, .. }
            | HedgeAction::Unhedgeable { position_key, .. } => position_key,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: HedgeAction,
    /// Auto is off and this costs money (an Open or a Close): it waits for the operator.
    /// Refresh and Unhedgeable send nothing and never wait.
    pub needs_operator: bool,
}

/// Everything one pass decides on.
#[derive(Debug, Clone, Copy)]
pub struct HedgerInput<'a> {
    /// Unix seconds.
    pub now: i64,
    pub positions: &'a [PositionView],
    pub hedges: &'a [HedgeView],
    /// DePerp market → venue symbol (`BTC-USD` → `BTCUSDT`).
    pub symbols: &'a BTreeMap<String, String>,
    /// DePerp market → USD price of one base unit of the venue's asset.
    pub prices: &'a BTreeMap<String, Decimal>,
    pub expiry_secs: i64,
    pub auto: bool,
}

/// This pass's decisions: positions in order first, then hedges of vanished positions in
/// order.
pub fn decide(input: &HedgerInput) -> Vec<Decision> {
    let mut actions = Vec::new();
    for position in input.positions {
        let live: Vec<&HedgeView> = input
            .hedges
            .iter()
            .filter(|h| h.position_key == position.position_key && h.state.is_live())
            .collect();
        match &position.risk {
            RiskSignal::Flagged(reasons) if live.is_empty() => {
                actions.push(open(position, reasons, input));
            }
            // A Closing hedge is left to finish; the next pass opens a fresh one.
            RiskSignal::Flagged(_) => {
                if live.iter().any(|h| h.state != HedgeState::Closing) {
                    actions.push(HedgeAction::Refresh {
                        position_key: position.position_key.clone(),
                    });
                }
            }
            RiskSignal::Clear => actions.extend(
                live.into_iter()
                    .filter(|h| {
                        h.state == HedgeState::Open
                            && input.now.saturating_sub(h.last_flag_at) >= input.expiry_secs
                    })
                    .map(|h| close(h, CloseReason::RiskCleared)),
            ),
            RiskSignal::Unknown(_) => {}
        }
    }

    let on_chain: HashSet<&str> = input
        .positions
        .iter()
        .map(|p| p.position_key.as_str())
        .collect();
    actions.extend(
        input
            .hedges
            .iter()
            .filter(|h| h.state == HedgeState::Open && !on_chain.contains(h.position_key.as_str()))
            .map(|h| close(h, CloseReason::PositionVanished)),
    );

    actions
        .into_iter()
        .map(|action| Decision {
            needs_operator: !input.auto
                && matches!(action, HedgeAction::Open { .. } | HedgeAction::Close { .. }),
            action,
        })
        .collect()
}

fn open(position: &PositionView, reasons: &[String], input: &HedgerInput) -> HedgeAction {
    let position_key = position.position_key.clone();
    match open_order(position, input) {
        Ok((symbol, quantity)) => HedgeAction::Open {
            position_key,
            symbol,
            side: if position.is_long {
                OrderSide::Buy
            } else {
                OrderSide::Sell
            },
            quantity,
            reason: reasons.join("; "),
        },
        Err(reason) => HedgeAction::Unhedgeable {
            position_key,
            reason,
        },
    }
}

/// The symbol and base quantity: the notional (the asset's whole units, taken as USD —
/// DePerp's collateral is USDC) over the price, truncated to [`QUANTITY_DECIMALS`].
fn open_order(
    position: &PositionView,
    input: &HedgerInput,
) -> Result<(String, Decimal), UnhedgeableReason> {
    let market = &position.market;
    let symbol = input
        .symbols
        .get(market)
        .ok_or_else(|| UnhedgeableReason::UnmappedMarket(market.clone()))?;
    let price = *input
        .prices
        .get(market)
        .ok_or_else(|| UnhedgeableReason::NoPrice(market.clone()))?;
    if price <= Decimal::ZERO {
        return Err(UnhedgeableReason::BadPrice {
            market: market.clone(),
            price,
        });
    }
    let out_of_range = || UnhedgeableReason::SizeOutOfRange {
        size: position.size,
        decimals: position.decimals,
    };
    let size = i128::try_from(position.size).map_err(|_| out_of_range())?;
    let size_usd = Decimal::try_from_i128_with_scale(size, u32::from(position.decimals))
        .map_err(|_| out_of_range())?;
    let quantity = size_usd
        .checked_div(price)
        .ok_or_else(out_of_range)?
        .round_dp_with_strategy(QUANTITY_DECIMALS, RoundingStrategy::ToZero)
        .normalize();
    if quantity.is_zero() {
        return Err(UnhedgeableReason::QuantityZero { size_usd, price });
    }
    Ok((symbol.clone(), quantity))
}

fn close(hedge: &HedgeView, reason: CloseReason) -> HedgeAction {
    HedgeAction::Close {
        position_key: hedge.position_key.clone(),
        symbol: hedge.symbol.clone(),
        side: hedge.side.opposite(),
        quantity: hedge.quantity,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    const KEY: &str = "0xUser:0xUSDC:BTC-USD:long:1700000000";

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn usdc(whole: u64) -> U256 {
        U256::from(whole) * U256::from(1_000_000u64)
    }

    fn position(
        key: &str,
        market: &str,
        is_long: bool,
        size: U256,
        risk: RiskSignal,
    ) -> PositionView {
        PositionView {
            position_key: key.into(),
            market: market.into(),
            is_long,
            size,
            decimals: 6,
            risk,
        }
    }

    fn flagged() -> RiskSignal {
        RiskSignal::Flagged(vec!["shield PnL risk: …".into()])
    }

    fn btc(risk: RiskSignal) -> PositionView {
        position(KEY, "BTC-USD", true, usdc(60_000), risk)
    }

    fn hedge(state: HedgeState, last_flag_at: i64) -> HedgeView {
        HedgeView {
            position_key: KEY.into(),
            symbol: "BTCUSDT".into(),
            side: OrderSide::Buy,
            quantity: dec("1"),
            state,
            last_flag_at,
        }
    }

    struct World {
        symbols: BTreeMap<String, String>,
        prices: BTreeMap<String, Decimal>,
        auto: bool,
    }

    impl World {
        fn new() -> World {
            World {
                symbols: [
                    ("BTC-USD", "BTCUSDT"),
                    ("ETH-USD", "ETHUSDT"),
                    ("SOL-USD", "SOLUSDT"),
                ]
                .map(|(m, s)| (m.to_string(), s.to_string()))
                .into(),
                prices: [("BTC-USD", "60000"), ("ETH-USD", "3")]
                    .map(|(m, p)| (m.to_string(), dec(p)))
                    .into(),
                auto: true,
            }
        }

        fn decide(
            &self,
            now: i64,
            positions: &[PositionView],
            hedges: &[HedgeView],
        ) -> Vec<Decision> {
            decide(&HedgerInput {
                now,
                positions,
                hedges,
                symbols: &self.symbols,
                prices: &self.prices,
                expiry_secs: DEFAULT_EXPIRY_SECS,
                auto: self.auto,
            })
        }

        fn actions(
            &self,
            now: i64,
            positions: &[PositionView],
            hedges: &[HedgeView],
        ) -> Vec<HedgeAction> {
            self.decide(now, positions, hedges)
                .into_iter()
                .map(|d| d.action)
                .collect()
        }
    }

    /// What the worker does with a pass's decisions (orders fill at once).
    fn apply(now: i64, hedges: &mut Vec<HedgeView>, actions: &[HedgeAction]) {
        for action in actions {
            match action {
                HedgeAction::Open {
                    position_key,
                    symbol,
                    side,
                    quantity,
                    ..
                } => hedges.push(HedgeView {
                    position_key: position_key.clone(),
                    symbol: symbol.clone(),
                    side: *side,
                    quantity: *quantity,
                    state: HedgeState::Open,
                    last_flag_at: now,
                }),
                HedgeAction::Refresh { position_key } => hedges
                    .iter_mut()
                    .filter(|h| &h.position_key == position_key && h.state.is_live())
                    .for_each(|h| h.last_flag_at = now),
                HedgeAction::Close { position_key, .. } => hedges
                    .iter_mut()
                    .filter(|h| &h.position_key == position_key && h.state == HedgeState::Open)
                    .for_each(|h| h.state = HedgeState::Closing),
                HedgeAction::Unhedgeable { .. } => {}
            }
        }
    }

    fn closes(actions: &[HedgeAction]) -> usize {
        actions
            .iter()
            .filter(|a| matches!(a, HedgeAction::Close { .. }))
            .count()
    }

    #[test]
    fn a_flagged_position_is_hedged_the_traders_way_for_its_notional() {
        let world = World::new();
        let actions = world.actions(1_000, &[btc(flagged())], &[]);
        assert_eq!(
            actions,
            [HedgeAction::Open {
                position_key: KEY.into(),
                symbol: "BTCUSDT".into(),
                side: OrderSide::Buy,
                quantity: dec("1"),
                reason: "shield PnL risk: …".into(),
            }]
        );

        // A short of 10,000 USDC at 3: 3,333.33333333 (truncated to 8 decimals), SELL.
        let eth = position("k2", "ETH-USD", false, usdc(10_000), flagged());
        match &world.actions(1_000, &[eth], &[])[0] {
            HedgeAction::Open {
                side,
                quantity,
                symbol,
                ..
            } => {
                assert_eq!(*side, OrderSide::Sell);
                assert_eq!(symbol, "ETHUSDT");
                assert_eq!(*quantity, dec("3333.33333333"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_duplicate_open_while_a_hedge_is_live() {
        let world = World::new();
        for state in [HedgeState::Opening, HedgeState::Open] {
            let actions = world.actions(1_000, &[btc(flagged())], &[hedge(state, 900)]);
            assert_eq!(
                actions,
                [HedgeAction::Refresh {
                    position_key: KEY.into()
                }],
                "{state:?}"
            );
        }
        // Closing: left to finish, neither reopened nor refreshed.
        let actions = world.actions(1_000, &[btc(flagged())], &[hedge(HedgeState::Closing, 900)]);
        assert!(actions.is_empty(), "{actions:?}");
        // Closed or Failed hedges are history: a new one opens.
        for state in [HedgeState::Closed, HedgeState::Failed] {
            let actions = world.actions(1_000, &[btc(flagged())], &[hedge(state, 900)]);
            assert!(
                matches!(actions[..], [HedgeAction::Open { .. }]),
                "{state:?}: {actions:?}"
            );
        }
    }

    #[test]
    fn unmapped_markets_and_missing_prices_are_reported_not_hedged() {
        let world = World::new();
        let doge = position("k1", "DOGE-USD", true, usdc(1_000), flagged());
        let sol = position("k2", "SOL-USD", true, usdc(1_000), flagged());
        let tiny = position("k3", "BTC-USD", true, U256::from(1u8), flagged());
        let actions = world.actions(1_000, &[doge, sol, tiny], &[]);
        assert_eq!(
            actions,
            [
                HedgeAction::Unhedgeable {
                    position_key: "k1".into(),
                    reason: UnhedgeableReason::UnmappedMarket("DOGE-USD".into()),
                },
                HedgeAction::Unhedgeable {
                    position_key: "k2".into(),
                    reason: UnhedgeableReason::NoPrice("SOL-USD".into()),
                },
                HedgeAction::Unhedgeable {
                    position_key: "k3".into(),
                    reason: UnhedgeableReason::QuantityZero {
                        size_usd: dec("0.000001"),
                        price: dec("60000"),
                    },
                },
            ]
        );

        let mut world = World::new();
        world.prices.insert("BTC-USD".into(), Decimal::ZERO);
        let actions = world.actions(1_000, &[btc(flagged())], &[]);
        assert_eq!(
            actions[0],
            HedgeAction::Unhedgeable {
                position_key: KEY.into(),
                reason: UnhedgeableReason::BadPrice {
                    market: "BTC-USD".into(),
                    price: Decimal::ZERO,
                },
            }
        );
    }

    #[test]
    fn persisting_risk_keeps_refreshing_and_never_closes() {
        let world = World::new();
        let mut hedges = Vec::new();
        let mut opened = 0;
        for pass in 0..20 {
            let now = 1_000 + pass * 45;
            let actions = world.actions(now, &[btc(flagged())], &hedges);
            assert_eq!(closes(&actions), 0, "pass {pass}");
            opened += actions
                .iter()
                .filter(|a| matches!(a, HedgeAction::Open { .. }))
                .count();
            if pass > 0 {
                assert_eq!(
                    actions,
                    [HedgeAction::Refresh {
                        position_key: KEY.into()
                    }]
                );
            }
            apply(now, &mut hedges, &actions);
            assert_eq!(hedges[0].last_flag_at, now);
        }
        assert_eq!(opened, 1);
    }

    #[test]
    fn cleared_risk_closes_only_after_the_expiry() {
        let world = World::new();
        let hedges = [hedge(HedgeState::Open, 1_000)];
        let clear = [btc(RiskSignal::Clear)];
        assert!(world.actions(1_000, &clear, &hedges).is_empty());
        assert!(world.actions(1_059, &clear, &hedges).is_empty());
        let expected = [HedgeAction::Close {
            position_key: KEY.into(),
            symbol: "BTCUSDT".into(),
            side: OrderSide::Sell,
            quantity: dec("1"),
            reason: CloseReason::RiskCleared,
        }];
        assert_eq!(world.actions(1_060, &clear, &hedges), expected);
        assert_eq!(world.actions(5_000, &clear, &hedges), expected);

        // Once Closing, nothing more; an Opening hedge waits for its fill.
        for state in [HedgeState::Closing, HedgeState::Opening] {
            assert!(
                world
                    .actions(5_000, &clear, &[hedge(state, 1_000)])
                    .is_empty()
            );
        }
    }

    #[test]
    fn a_vanished_position_is_closed_exactly_once() {
        let world = World::new();
        let mut hedges = vec![hedge(HedgeState::Open, 1_000)];
        let mut total = 0;
        for pass in 0..10 {
            let now = 1_010 + pass;
            let actions = world.actions(now, &[], &hedges);
            if pass == 0 {
                assert!(matches!(
                    actions[..],
                    [HedgeAction::Close {
                        reason: CloseReason::PositionVanished,
                        ..
                    }]
                ));
            }
            total += closes(&actions);
            apply(now, &mut hedges, &actions);
            if pass == 5 {
                hedges[0].state = HedgeState::Closed;
            }
        }
        assert_eq!(total, 1);
    }

    #[test]
    fn a_vanished_position_with_an_opening_hedge_waits_for_the_fill() {
        let world = World::new();
        let mut hedges = vec![hedge(HedgeState::Opening, 1_000)];
        assert!(world.actions(1_001, &[], &hedges).is_empty());
        hedges[0].state = HedgeState::Open;
        assert_eq!(closes(&world.actions(1_002, &[], &hedges)), 1);
    }

    #[test]
    fn unknown_risk_holds_the_hedge() {
        let world = World::new();
        let hedges = [hedge(HedgeState::Open, 0)];
        let unknown = [btc(RiskSignal::Unknown("no price".into()))];
        assert!(world.actions(10_000, &unknown, &hedges).is_empty());
        assert!(world.actions(10_000, &unknown, &[]).is_empty());
    }

    #[test]
    fn without_auto_the_same_decisions_wait_for_the_operator() {
        let mut world = World::new();
        let positions = [
            btc(flagged()),
            position("k2", "ETH-USD", true, usdc(3), flagged()),
            position("k3", "DOGE-USD", true, usdc(3), flagged()),
        ];
        let hedges = [
            hedge(HedgeState::Open, 990),
            HedgeView {
                position_key: "gone".into(),
                ..hedge(HedgeState::Open, 990)
            },
        ];
        let auto = world.decide(1_000, &positions, &hedges);
        world.auto = false;
        let manual = world.decide(1_000, &positions, &hedges);
        assert_eq!(auto.len(), 4);
        assert!(auto.iter().all(|d| !d.needs_operator));
        let actions = |ds: &[Decision]| ds.iter().map(|d| d.action.clone()).collect::<Vec<_>>();
        assert_eq!(actions(&auto), actions(&manual));
        let waits: Vec<bool> = manual.iter().map(|d| d.needs_operator).collect();
        // Refresh, Open, Unhedgeable, Close.
        assert_eq!(waits, [false, true, false, true]);
        assert_eq!(manual[3].action.position_key(), "gone");
    }

    #[test]
    fn positions_come_from_the_risk_report() {
        use crate::perp::model::{AssetVault, DePerpState, TraderPosition};
        use crate::perp::risk::{RiskFactors, evaluate};
        use alloy::primitives::{Address, I256};

        let asset = Address::repeat_byte(1);
        let pos = |market: &str, price: u64| TraderPosition {
            user: Address::repeat_byte(2),
            asset,
            market: market.into(),
            is_long: true,
            size: usdc(500_000),
            collateral: usdc(50_000),
            funding_tracer: I256::ZERO,
            price: U256::from(price),
            timestamp: U256::from(1u8),
        };
        let state = DePerpState {
            block: 1,
            positions: vec![
                pos("BTC-USD", 60_000),
                pos("ETH-USD", 3_000),
                pos("SOL-USD", 100),
            ],
            vaults: vec![AssetVault {
                asset,
                decimals: 6,
                vault: usdc(1_000_000),
                shield: usdc(50_000),
            }],
            markets: vec![],
            funding_tracers: ["BTC-USD", "ETH-USD", "SOL-USD"]
                .map(|m| (asset, m.to_string(), I256::ZERO))
                .into(),
        };
        // BTC +10 %: +50,000 = the shield, flagged; ETH flat; SOL unpriced.
        let prices = |m: &str| match m {
            "BTC-USD" => Some(U256::from(66_000u64)),
            "ETH-USD" => Some(U256::from(3_000u64)),
            _ => None,
        };
        let report = evaluate(&state, &prices, &RiskFactors::default());
        let views: Vec<PositionView> = report.positions.iter().map(PositionView::from).collect();
        assert_eq!(
            views[0].risk,
            RiskSignal::Flagged(vec![
                "shield PnL risk: shield 50,000.00 − pnl 50,000.00 = 0.00 ≤ 0".into()
            ])
        );
        assert_eq!(views[0].position_key, state.positions[0].key());
        assert_eq!(views[1].risk, RiskSignal::Clear);
        assert_eq!(views[2].risk, RiskSignal::Unknown("no price".into()));
    }

    #[test]
    fn hedge_states_round_trip_their_names() {
        for state in [
            HedgeState::Opening,
            HedgeState::Open,
            HedgeState::Closing,
            HedgeState::Closed,
            HedgeState::Failed,
        ] {
            assert_eq!(HedgeState::parse(state.as_str()), Some(state));
        }
        assert_eq!(HedgeState::parse("pending"), None);
    }
}
