//! The Pool tab's keys: what `w`, `s` and `x` ask of the pool desk about the selected row,
//! why they refuse (a short reason, flashed on the status line), the confirm popups that
//! say exactly what will be asked, and Enter's detail. The desk checks everything again;
//! the refusals only keep pointless or harmful requests back, and stay short enough for
//! the status line (the rows carry the details).

use super::format;
use super::keymap::Command;
use super::state::{AppState, DeskCommand, DeskConfirm, Overlay, PoolFocus, PoolItem, in_flight};
use super::update::policy_line;
use crate::actions::{ActionKind, ActionState};
use crate::pool::pane::{PolicyRow, PriceLine, ProviderRow, WithdrawalRow};
use crate::pool::requests::PoolRequest;

/// `0x7099…79C8 (balanced)`: a provider as the popups and the detail name it.
pub fn provider_label(p: &ProviderRow) -> String {
    format!("{} ({})", format::short_address(&p.address), p.tier)
}

/// `ETH 12.50 (3.20 locked) · WBTC 1.2000 (0.4000 locked)`
pub fn balances_text(p: &ProviderRow) -> String {
    if p.balances.is_empty() {
        return "nothing deposited".into();
    }
    p.balances
        .iter()
        .map(|(token, total, locked)| format!("{token} {total} ({locked} locked)"))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `expires in 3h 12m`, `expired 4m ago`.
pub fn expiry_text(now_ms: i64, expiry_ms: i64) -> String {
    if now_ms < expiry_ms {
        format!(
            "expires in {}",
            format::countdown(((expiry_ms - now_ms) / 1000) as u64)
        )
    } else {
        format!("expired {} ago", format::age(now_ms, expiry_ms))
    }
}

/// `strike 100,000.00 USD · 0.5000 BTC · premium 0.0042 WBTC`
pub fn policy_terms(p: &PolicyRow) -> String {
    format!(
        "strike {} USD · {} BTC · premium {} {}",
        p.strike, p.amount, p.premium, p.token
    )
}

/// Refusals common to `s` and `x`: only an active policy with nothing on its way.
fn policy_open(p: &PolicyRow) -> Result<(), String> {
    let id = p.id;
    if p.status != "active" {
        return Err(format!("policy #{id} is {}", p.status));
    }
    if let Some(what) = p.action.and_then(in_flight) {
        return Err(format!("policy #{id} on its way: {what}"));
    }
    Ok(())
}

/// The request `w` sends about a withdrawal, or why the tab refuses it: one above the
/// provider's maximum, one already on its way or paid.
pub fn withdraw_request(w: &WithdrawalRow) -> Result<PoolRequest, String> {
    let id = w.id;
    if let Some(what) = w.action.and_then(in_flight) {
        return Err(format!("withdrawal #{id} on its way: {what}"));
    }
    if let Some((action, ActionState::Confirmed)) = w.action {
        return Err(format!("withdrawal #{id} is paid (action #{action})"));
    }
    // The desk's reason stays in the row; the flash says which limit.
    if w.refused.is_some() {
        return Err(format!(
            "withdrawal #{id} exceeds max {} {}",
            w.max_withdrawable, w.token
        ));
    }
    Ok(PoolRequest::ApproveWithdrawal { withdrawal_id: id })
}

/// The request `s` sends about a policy, or why the tab refuses it: only an active policy
/// in the money, at expiry, is settled.
pub fn settle_request(p: &PolicyRow, now_ms: i64) -> Result<PoolRequest, String> {
    policy_open(p)?;
    let id = p.id;
    if !p.in_the_money {
        return Err(match &p.payout {
            None => format!("policy #{id}: no price to value it"),
            Some(_) => format!("policy #{id} is not in the money"),
        });
    }
    if now_ms < p.expiry_ms {
        return Err(format!(
            "policy #{id} settles at expiry, in {}",
            format::countdown(((p.expiry_ms - now_ms) / 1000) as u64)
        ));
    }
    Ok(PoolRequest::SettlePolicy { policy_id: id })
}

/// The request `x` sends about a policy, or why the tab refuses it: only an active policy
/// past its expiry and out of the money is expired (one in the money is settled instead,
/// one without a price waits for one).
pub fn expire_request(p: &PolicyRow, now_ms: i64) -> Result<PoolRequest, String> {
    policy_open(p)?;
    let id = p.id;
    if now_ms < p.expiry_ms {
        return Err(format!("policy #{id} {}", expiry_text(now_ms, p.expiry_ms)));
    }
    if p.in_the_money {
        return Err(format!("policy #{id} is in the money: settle it"));
    }
    if p.payout.is_none() {
        return Err(format!("policy #{id}: no price to value it"));
    }
    Ok(PoolRequest::ExpirePolicy { policy_id: id })
}

/// The flash after a confirmed Pool request.
pub fn asked(request: &PoolRequest) -> String {
    match request {
        PoolRequest::ApproveWithdrawal { withdrawal_id } => {
            format!("asked the desk to approve withdrawal #{withdrawal_id}")
        }
        PoolRequest::SettlePolicy { policy_id } => {
            format!("asked the desk to settle policy #{policy_id}")
        }
        PoolRequest::ExpirePolicy { policy_id } => {
            format!("asked the desk to expire policy #{policy_id}")
        }
    }
}

/// Moves the selection keys to the next table (`back`: the previous one).
pub fn cycle_focus(state: &mut AppState, back: bool) {
    state.pool_focus = state.pool_focus.cycle(back);
}

/// Enter: the selected provider's or policy's detail; on a withdrawal, its provider's.
pub fn open_detail(state: &mut AppState) {
    let item = match state.pool_focus {
        PoolFocus::Providers => state
            .selected_provider()
            .map(|p| PoolItem::Provider(p.address.clone())),
        PoolFocus::Policies => state.selected_policy().map(|p| PoolItem::Policy(p.id)),
        PoolFocus::Withdrawals => state
            .selected_withdrawal()
            .map(|w| PoolItem::Provider(w.provider.clone())),
    };
    match item {
        Some(item) => state.overlay = Some(Overlay::PoolDetail(item)),
        None => state.flash_error(match state.pool_focus {
            PoolFocus::Providers => "no provider selected",
            PoolFocus::Policies => "no policy selected",
            PoolFocus::Withdrawals => "no withdrawal selected",
        }),
    }
}

/// Whether the selection keys are on `focus`'s table; if not, a flash says to move there.
fn need_focus(state: &mut AppState, focus: PoolFocus, what: &str) -> bool {
    if state.pool_focus == focus {
        return true;
    }
    state.flash_error(format!(
        "select {what} first ({})",
        state.keymap.all_keys_for(Command::PoolFocus)
    ));
    false
}

/// `Vault     LiquidityVault 0x5FbD…0aa3 on devnet`: the contract the desk drives.
fn vault_line(state: &AppState) -> String {
    let vault = state.pool.vault.as_deref().unwrap_or("(not found yet)");
    format!("Vault     LiquidityVault {vault} on {}", state.pool.chain)
}

/// Opens the popup that says what `w` asks about the selected withdrawal, or says why not.
pub fn withdraw_confirm(state: &mut AppState) {
    if !need_focus(state, PoolFocus::Withdrawals, "a withdrawal") {
        return;
    }
    let Some(w) = state.selected_withdrawal().cloned() else {
        state.flash_error("no withdrawal selected");
        return;
    };
    let request = match withdraw_request(&w) {
        Ok(request) => request,
        Err(why) => {
            state.flash_error(why);
            return;
        }
    };
    let provider = state
        .pool
        .providers
        .iter()
        .find(|p| p.address == w.provider)
        .cloned();
    let mut lines = vec![match &provider {
        Some(p) => format!(
            "Provider  {} · tier {} · {}",
            w.provider,
            p.tier,
            p.status.label()
        ),
        None => format!("Provider  {}", w.provider),
    }];
    if let Some(p) = &provider {
        lines.push(format!("          {}", balances_text(p)));
    }
    lines.extend([
        format!(
            "Amount    {} {} · max withdrawable now {} {}",
            w.amount, w.token, w.max_withdrawable, w.token
        ),
        format!(
            "Requested {} UTC ({} ago)",
            format::date_time(w.requested_at_ms),
            format::age(state.now_ms, w.requested_at_ms)
        ),
    ]);
    if let Some((id, s)) = w.action {
        lines.push(format!(
            "The last attempt, action #{id}, {s}: this asks again."
        ));
    }
    lines.extend([
        vault_line(state),
        String::new(),
        "Will ask the pool desk to check the maximum again at current prices and, within it,"
            .into(),
        format!(
            "to propose an approve_withdrawal action: the Vault pays {} {} to the provider,",
            w.amount, w.token
        ),
        "whose books are debited once it is confirmed.".into(),
        policy_line(state, ActionKind::ApproveWithdrawal),
    ]);
    state.overlay = Some(Overlay::DeskConfirm(Box::new(DeskConfirm {
        title: format!("Approve withdrawal #{} of {} {}?", w.id, w.amount, w.token),
        lines,
        command: DeskCommand::Pool(request),
    })));
}

/// `BTC/USD 97,012.55 (4s old)`: the price a policy is valued at, if the desk has one.
fn btc_price(prices: &[PriceLine]) -> Option<String> {
    let p = prices.iter().find(|p| p.pair.starts_with("BTC"))?;
    let price = p.price.as_deref()?;
    let age = p
        .age_secs
        .map(|s| {
            format!(
                " ({} old{})",
                format::countdown(s),
                if p.stale { ", stale" } else { "" }
            )
        })
        .unwrap_or_default();
    Some(format!("{} {price}{age}", p.pair))
}

/// The lines both policy popups start with.
fn policy_lines(state: &AppState, p: &PolicyRow) -> Vec<String> {
    let payout = match (&p.payout, btc_price(&state.pool.prices)) {
        (Some(payout), Some(price)) => format!("{payout} at {price}"),
        (Some(payout), None) => payout.clone(),
        (None, _) => "unknown: no price".into(),
    };
    vec![
        format!("Policy    #{} {} · {}", p.id, p.kind, policy_terms(p)),
        format!(
            "Buyer     {} · tier {} · backed in {}",
            p.buyer, p.tier, p.token
        ),
        format!(
            "Expiry    {} UTC ({}) · {}",
            format::date_time(p.expiry_ms),
            expiry_text(state.now_ms, p.expiry_ms),
            if p.in_the_money {
                "in the money"
            } else {
                "out of the money"
            }
        ),
        format!("Payout    {payout}"),
    ]
}

/// The selected policy for `s` or `x`, or a flash saying why there is none.
fn selected_policy(state: &mut AppState) -> Option<PolicyRow> {
    if !need_focus(state, PoolFocus::Policies, "a policy") {
        return None;
    }
    let policy = state.selected_policy().cloned();
    if policy.is_none() {
        state.flash_error("no policy selected");
    }
    policy
}

/// Opens the popup that says what `s` asks about the selected policy, or says why not.
pub fn settle_confirm(state: &mut AppState) {
    let Some(p) = selected_policy(state) else {
        return;
    };
    let request = match settle_request(&p, state.now_ms) {
        Ok(request) => request,
        Err(why) => {
            state.flash_error(why);
            return;
        }
    };
    let mut lines = policy_lines(state, &p);
    lines.extend([
        vault_line(state),
        String::new(),
        "Will ask the pool desk to value it again at the current price and propose a".into(),
        format!(
            "settle_policy action: the Vault pays the buyer in {} (settlePolicy), then the",
            p.token
        ),
        "backing providers are debited pro rata.".into(),
        policy_line(state, ActionKind::SettlePolicy),
    ]);
    state.overlay = Some(Overlay::DeskConfirm(Box::new(DeskConfirm {
        title: format!("Settle policy #{} {}?", p.id, p.kind),
        lines,
        command: DeskCommand::Pool(request),
    })));
}

/// Opens the popup that says what `x` asks about the selected policy, or says why not.
pub fn expire_confirm(state: &mut AppState) {
    let Some(p) = selected_policy(state) else {
        return;
    };
    let request = match expire_request(&p, state.now_ms) {
        Ok(request) => request,
        Err(why) => {
            state.flash_error(why);
            return;
        }
    };
    let mut lines = policy_lines(state, &p);
    lines.extend([
        vault_line(state),
        String::new(),
        "Will ask the pool desk to propose an expire_policy action: it releases the policy's"
            .into(),
        "collateral from the backing providers' books and, where it was locked on-chain, from"
            .into(),
        "the Vault's locked total (releaseCollateralAggregate). Nothing is paid to the buyer."
            .into(),
        policy_line(state, ActionKind::ExpirePolicy),
    ]);
    state.overlay = Some(Overlay::DeskConfirm(Box::new(DeskConfirm {
        title: format!("Expire policy #{} {}?", p.id, p.kind),
        lines,
        command: DeskCommand::Pool(request),
    })));
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_253_400_000;

    fn policy(id: i64, in_the_money: bool, expiry_ms: i64) -> PolicyRow {
        PolicyRow {
            id,
            kind: "PUT".into(),
            buyer: "0x90F79bf6EB2c4f870365E785982E1f101E93b906".into(),
            tier: "Balanced".into(),
            token: "ETH".into(),
            strike: "100,000.00".into(),
            amount: "0.50".into(),
            premium: "0.0150".into(),
            expiry_ms,
            payout: Some(if in_the_money { "1,493.73" } else { "0.00" }.into()),
            in_the_money,
            status: "active".into(),
            action: None,
        }
    }

    fn withdrawal(id: i64, refused: Option<&str>) -> WithdrawalRow {
        WithdrawalRow {
            id,
            provider: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into(),
            token: "ETH".into(),
            amount: "2.00".into(),
            max_withdrawable: "3.10".into(),
            refused: refused.map(Into::into),
            requested_at_ms: NOW - 60_000,
            action: None,
        }
    }

    #[test]
    fn withdraw_refuses_above_the_maximum_and_what_is_on_its_way() {
        assert_eq!(
            withdraw_request(&withdrawal(7, None)),
            Ok(PoolRequest::ApproveWithdrawal { withdrawal_id: 7 })
        );
        assert_eq!(
            withdraw_request(&withdrawal(
                8,
                Some("5.00 ETH is above the maximum 3.10 ETH")
            ))
            .unwrap_err(),
            "withdrawal #8 exceeds max 3.10 ETH"
        );
        let mut asked = withdrawal(7, None);
        for s in [
            ActionState::Proposed,
            ActionState::Approved,
            ActionState::Sent,
        ] {
            asked.action = Some((80, s));
            assert_eq!(
                withdraw_request(&asked).unwrap_err(),
                format!("withdrawal #7 on its way: #80 {s}")
            );
        }
        asked.action = Some((80, ActionState::Confirmed));
        assert_eq!(
            withdraw_request(&asked).unwrap_err(),
            "withdrawal #7 is paid (action #80)"
        );
        // A failed or rejected attempt does not hold the next one back.
        for s in [ActionState::Failed, ActionState::Rejected] {
            asked.action = Some((80, s));
            assert!(withdraw_request(&asked).is_ok());
        }
    }

    #[test]
    fn settle_needs_an_active_policy_in_the_money_at_expiry() {
        let expired = NOW - 4 * 60_000;
        let later = NOW + 3 * 3_600_000 + 12 * 60_000;
        assert_eq!(
            settle_request(&policy(12, true, expired), NOW),
            Ok(PoolRequest::SettlePolicy { policy_id: 12 })
        );
        assert_eq!(
            settle_request(&policy(12, false, expired), NOW).unwrap_err(),
            "policy #12 is not in the money"
        );
        let mut no_price = policy(12, false, expired);
        no_price.payout = None;
        assert_eq!(
            settle_request(&no_price, NOW).unwrap_err(),
            "policy #12: no price to value it"
        );
        assert_eq!(
            settle_request(&policy(12, true, later), NOW).unwrap_err(),
            "policy #12 settles at expiry, in 3h 12m"
        );
        let mut asked = policy(12, true, expired);
        asked.action = Some((71, ActionState::Proposed));
        assert_eq!(
            settle_request(&asked, NOW).unwrap_err(),
            "policy #12 on its way: #71 proposed"
        );
        asked.action = Some((71, ActionState::Failed));
        assert!(settle_request(&asked, NOW).is_ok());
        let mut settled = policy(12, true, expired);
        settled.status = "settled".into();
        assert_eq!(
            settle_request(&settled, NOW).unwrap_err(),
            "policy #12 is settled"
        );
    }

    #[test]
    fn expire_needs_an_active_policy_expired_out_of_the_money() {
        let expired = NOW - 4 * 60_000;
        let later = NOW + 42_000;
        assert_eq!(
            expire_request(&policy(9, false, expired), NOW),
            Ok(PoolRequest::ExpirePolicy { policy_id: 9 })
        );
        // At the expiry's very millisecond it has expired.
        assert!(expire_request(&policy(9, false, NOW), NOW).is_ok());
        assert_eq!(
            expire_request(&policy(9, false, later), NOW).unwrap_err(),
            "policy #9 expires in 42s"
        );
        assert_eq!(
            expire_request(&policy(9, true, expired), NOW).unwrap_err(),
            "policy #9 is in the money: settle it"
        );
        let mut no_price = policy(9, false, expired);
        no_price.payout = None;
        assert_eq!(
            expire_request(&no_price, NOW).unwrap_err(),
            "policy #9: no price to value it"
        );
        let mut asked = policy(9, false, expired);
        asked.action = Some((72, ActionState::Sent));
        assert_eq!(
            expire_request(&asked, NOW).unwrap_err(),
            "policy #9 on its way: #72 sent"
        );
        let mut gone = policy(9, false, expired);
        gone.status = "expired".into();
        assert_eq!(
            expire_request(&gone, NOW).unwrap_err(),
            "policy #9 is expired"
        );
    }

    #[test]
    fn expiry_reads_both_ways() {
        assert_eq!(expiry_text(NOW, NOW + 6 * 86_400_000), "expires in 6d 0h");
        assert_eq!(expiry_text(NOW, NOW - 4 * 60_000), "expired 4m ago");
        assert_eq!(expiry_text(NOW, NOW), "expired 0s ago");
    }
}
