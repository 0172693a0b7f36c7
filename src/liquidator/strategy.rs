//! What to do about one position this block: the freeze-then-confirm rules, as a pure
//! function of what the chain says (`subjectToLiquidationExtended`), our own round on the
//! position, and the desk's settings. The desk turns each decision into an action or a
//! journal update; the pane shows the reason.

use alloy::primitives::Address;

use crate::store::{LiquidationRecord, LiquidationState};

/// A frozen position belongs to its liquidator for this long (the module's
/// `MAX_FREEZE_DURATION`).
pub const FREEZE_WINDOW_SECS: u64 = 3_600;

/// `subjectToLiquidationExtended(id)` at the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainCheck {
    pub liquidatable: bool,
    pub liquidator: Address,
    pub frozen_time: u64,
    /// The position is closed (liquidated or repaid).
    pub closed: bool,
    /// The module's estimate (0: never).
    pub insolvency_time: u64,
}

/// Who holds the freeze on a position, as of `head_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freeze {
    None,
    /// Frozen by us; the confirm window ends at `until`.
    Ours {
        frozen_time: u64,
        until: u64,
    },
    Other {
        liquidator: Address,
        until: u64,
    },
    /// Frozen more than an hour ago: anyone may freeze it again.
    Expired,
}

impl ChainCheck {
    pub fn freeze(&self, me: Address, head_time: u64) -> Freeze {
        if self.frozen_time == 0 {
            return Freeze::None;
        }
        let until = self.frozen_time.saturating_add(FREEZE_WINDOW_SECS);
        if head_time > until {
            Freeze::Expired
        } else if self.liquidator == me {
            Freeze::Ours {
                frozen_time: self.frozen_time,
                until,
            }
        } else {
            Freeze::Other {
                liquidator: self.liquidator,
                until,
            }
        }
    }
}

/// Everything the rules look at for one position.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    pub check: &'a ChainCheck,
    /// Our round on the position that is not final, if any.
    pub ours: Option<&'a LiquidationRecord>,
    pub me: Address,
    /// The head block's timestamp.
    pub head_time: u64,
    /// The order's owner, for lender mode.
    pub order_owner: Address,
    pub lender_mode: bool,
    pub auto: bool,
    /// The operator pressed `l` on it.
    pub operator_asked: bool,
    /// The profit rule's verdict.
    pub worth: bool,
    pub worth_reason: &'a str,
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do; why.
    Watch(String),
    /// Start a round: propose the freeze.
    Freeze,
    /// We froze it and it is still underwater in a later block: propose the confirm.
    Confirm,
    /// Our round moves to `state`, with a note.
    Mark(LiquidationState, String),
    /// We froze it (the round got lost, e.g. a store restored from backup): adopt it.
    Adopt { frozen_time: u64 },
    /// Our round is waiting for something; why.
    Wait(String),
}

pub fn decide(s: &Situation<'_>) -> Decision {
    let check = s.check;
    let freeze = check.freeze(s.me, s.head_time);
    if let Some(ours) = s.ours {
        return decide_ours(s, ours, freeze);
    }
    if check.closed {
        return Decision::Watch("closed".into());
    }
    if !check.liquidatable {
        return Decision::Watch("healthy on chain".into());
    }
    match freeze {
        Freeze::Other { liquidator, until } => {
            return Decision::Watch(format!("frozen by {liquidator} until {until}"));
        }
        Freeze::Ours { frozen_time, .. } => return Decision::Adopt { frozen_time },
        Freeze::None | Freeze::Expired => {}
    }
    if s.lender_mode && s.order_owner != s.me {
        return Decision::Watch("lender mode: not our order".into());
    }
    if s.operator_asked {
        return Decision::Freeze;
    }
    if !s.worth {
        return Decision::Watch(s.worth_reason.to_string());
    }
    if !s.auto {
        return Decision::Watch(format!("{}; auto is off (l to liquidate)", s.worth_reason));
    }
    Decision::Freeze
}

fn decide_ours(s: &Situation<'_>, ours: &LiquidationRecord, freeze: Freeze) -> Decision {
    use LiquidationState as St;
    let check = s.check;
    if check.closed {
        return match ours.state {
            // The confirm's outcome is settled from its action and the Liquidation event.
            St::Confirming => Decision::Wait("confirm sent".into()),
            _ => Decision::Mark(St::Lost, "closed by someone else".into()),
        };
    }
    match (ours.state, freeze) {
        (St::Freezing, Freeze::Ours { frozen_time, .. }) => {
            Decision::Mark(St::Frozen, format!("frozen at {frozen_time}"))
        }
        (St::Freezing, Freeze::Other { liquidator, .. }) => {
            Decision::Mark(St::Lost, format!("frozen first by {liquidator}"))
        }
        (St::Freezing, _) => Decision::Wait("freeze pending".into()),
        (St::Frozen | St::Recovered | St::Confirming, Freeze::Expired | Freeze::None) => {
            if ours.state == St::Confirming {
                Decision::Wait("confirm sent".into())
            } else {
                Decision::Mark(St::Expired, "the hour ran out before a confirm".into())
            }
        }
        (St::Frozen | St::Recovered, Freeze::Other { liquidator, .. }) => {
            Decision::Mark(St::Lost, format!("frozen again by {liquidator}"))
        }
        (St::Frozen, Freeze::Ours { .. }) if !check.liquidatable => Decision::Mark(
            St::Recovered,
            "healthy again before the confirm: not confirmed".into(),
        ),
        (St::Recovered, Freeze::Ours { .. }) if !check.liquidatable => {
            Decision::Wait("recovered; still ours until the hour ends".into())
        }
        (St::Frozen | St::Recovered, Freeze::Ours { frozen_time, until }) => {
            if s.head_time <= frozen_time {
                Decision::Wait("the confirm needs a later block than the freeze".into())
            } else if ours.by_operator || s.auto || s.operator_asked {
                Decision::Confirm
            } else {
                Decision::Wait(format!(
                    "frozen by us until {until}; auto is off (l to confirm)"
                ))
            }
        }
        (St::Confirming, _) => Decision::Wait("confirm pending".into()),
        (state, _) => Decision::Wait(format!("round is {}", state.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::U256;

    const ME: Address = Address::repeat_byte(0xAA);
    const THEM: Address = Address::repeat_byte(0xBB);

    fn check(liquidatable: bool, liquidator: Address, frozen_time: u64) -> ChainCheck {
        ChainCheck {
            liquidatable,
            liquidator,
            frozen_time,
            closed: false,
            insolvency_time: 0,
        }
    }

    fn round(state: LiquidationState, by_operator: bool) -> LiquidationRecord {
        LiquidationRecord {
            id: 1,
            position_id: 7,
            round: 1,
            state,
            by_operator,
            freeze_action: Some(1),
            confirm_action: None,
            frozen_time: None,
            reward_asset: Address::ZERO,
            reward_amount: U256::from(1),
            reward_usd_cents: None,
            gas_wei: U256::ZERO,
            gas_usd_cents: None,
            profit_usd_cents: None,
            note: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    fn situation<'a>(
        check: &'a ChainCheck,
        ours: Option<&'a LiquidationRecord>,
        head_time: u64,
    ) -> Situation<'a> {
        Situation {
            check,
            ours,
            me: ME,
            head_time,
            order_owner: THEM,
            lender_mode: false,
            auto: true,
            operator_asked: false,
            worth: true,
            worth_reason: "profit $16.00",
        }
    }

    #[test]
    fn an_underwater_profitable_position_is_frozen_when_auto_is_on() {
        let c = check(true, Address::ZERO, 0);
        assert_eq!(decide(&situation(&c, None, 1_000)), Decision::Freeze);
        let mut off = situation(&c, None, 1_000);
        off.auto = false;
        assert_eq!(
            decide(&off),
            Decision::Watch("profit $16.00; auto is off (l to liquidate)".into())
        );
        off.operator_asked = true;
        assert_eq!(
            decide(&off),
            Decision::Freeze,
            "the operator's l needs no auto"
        );
    }

    #[test]
    fn unprofitable_healthy_foreign_and_other_lenders_positions_are_only_watched() {
        let c = check(true, Address::ZERO, 0);
        let mut s = situation(&c, None, 1_000);
        s.worth = false;
        s.worth_reason = "profit -$4.00 is below min_profit $0.00";
        assert_eq!(decide(&s), Decision::Watch(s.worth_reason.into()));

        let healthy = check(false, Address::ZERO, 0);
        assert_eq!(
            decide(&situation(&healthy, None, 1_000)),
            Decision::Watch("healthy on chain".into())
        );

        let theirs = check(true, THEM, 900);
        assert_eq!(
            decide(&situation(&theirs, None, 1_000)),
            Decision::Watch(format!("frozen by {THEM} until 4500"))
        );
        // Their hour is over: anyone may freeze it again.
        assert_eq!(decide(&situation(&theirs, None, 4_501)), Decision::Freeze);

        let mut lender = situation(&c, None, 1_000);
        lender.lender_mode = true;
        assert_eq!(
            decide(&lender),
            Decision::Watch("lender mode: not our order".into())
        );
        lender.order_owner = ME;
        assert_eq!(decide(&lender), Decision::Freeze);
    }

    #[test]
    fn our_freeze_is_confirmed_only_in_a_later_block_and_only_while_underwater() {
        let freezing = round(LiquidationState::Freezing, false);
        let c = check(true, ME, 1_000);
        assert_eq!(
            decide(&situation(&c, Some(&freezing), 1_000)),
            Decision::Mark(LiquidationState::Frozen, "frozen at 1000".into())
        );
        let frozen = round(LiquidationState::Frozen, false);
        assert_eq!(
            decide(&situation(&c, Some(&frozen), 1_000)),
            Decision::Wait("the confirm needs a later block than the freeze".into())
        );
        assert_eq!(
            decide(&situation(&c, Some(&frozen), 1_001)),
            Decision::Confirm
        );

        let recovered = check(false, ME, 1_000);
        assert_eq!(
            decide(&situation(&recovered, Some(&frozen), 1_001)),
            Decision::Mark(
                LiquidationState::Recovered,
                "healthy again before the confirm: not confirmed".into()
            )
        );
        // Falls again within the hour: confirm after all.
        let back = round(LiquidationState::Recovered, false);
        assert_eq!(
            decide(&situation(&c, Some(&back), 1_500)),
            Decision::Confirm
        );
        // The hour ran out.
        assert_eq!(
            decide(&situation(&c, Some(&frozen), 4_601)),
            Decision::Mark(
                LiquidationState::Expired,
                "the hour ran out before a confirm".into()
            )
        );
    }

    #[test]
    fn auto_off_waits_unless_the_operator_asked_and_others_win_races() {
        let c = check(true, ME, 1_000);
        let frozen = round(LiquidationState::Frozen, false);
        let mut s = situation(&c, Some(&frozen), 1_001);
        s.auto = false;
        assert_eq!(
            decide(&s),
            Decision::Wait("frozen by us until 4600; auto is off (l to confirm)".into())
        );
        s.operator_asked = true;
        assert_eq!(
            decide(&s),
            Decision::Confirm,
            "l on a row frozen by us confirms it"
        );
        s.operator_asked = false;
        let asked = round(LiquidationState::Frozen, true);
        s.ours = Some(&asked);
        assert_eq!(decide(&s), Decision::Confirm);

        let freezing = round(LiquidationState::Freezing, false);
        let theirs = check(true, THEM, 1_000);
        assert_eq!(
            decide(&situation(&theirs, Some(&freezing), 1_001)),
            Decision::Mark(LiquidationState::Lost, format!("frozen first by {THEM}"))
        );
        let mut closed = check(true, ME, 1_000);
        closed.closed = true;
        assert_eq!(
            decide(&situation(&closed, Some(&frozen), 1_001)),
            Decision::Mark(LiquidationState::Lost, "closed by someone else".into())
        );
        let confirming = round(LiquidationState::Confirming, false);
        assert_eq!(
            decide(&situation(&closed, Some(&confirming), 1_001)),
            Decision::Wait("confirm sent".into())
        );
        // Frozen by us with no round on record: adopt it.
        assert_eq!(
            decide(&situation(&c, None, 1_001)),
            Decision::Adopt { frozen_time: 1_000 }
        );
    }
}
