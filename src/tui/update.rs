//! Key handling: turns a key press into a state change and, when the world must be
//! touched (unlock, approve, reject), an effect for the app loop to carry out.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::format;
use super::keymap::Command;
use super::palette::{self, PaletteTarget};
use super::pool_keys;
use super::state::{
    AnyHedgeFocus, AnyHedgeItem, AnyHedgeOp, AppState, ConfirmKind, ConfirmState, DeskCommand,
    DeskConfirm, Overlay, PaletteState, PerpFocus, PerpItem, Phase, PoolFocus, Tab, UnlockPhase,
    anyhedge_request, flag_labels, perp_close_request, perp_open_request, trader_label,
    trader_numbers,
};
use super::theme::Theme;
use crate::actions::{ActionId, ActionKind, ActionState, PolicyMode};
use crate::anyhedge::pane::{PositionRow, bch, price, short_text};
use crate::anyhedge::requests::AnyHedgeRequest;
use crate::desks::Desk;
use crate::keys::Passphrase;
use crate::liquidator::pane::RowState;
use crate::liquidator::requests::DeskRequest as LiquidatorRequest;
use crate::perp::pane::HedgeRow;
use crate::perp::requests::PerpRequest;
use crate::pool::requests::PoolRequest;

pub enum Effect {
    Unlock(Passphrase),
    CreateKeystore(Passphrase),
    Approve(ActionId),
    Reject(ActionId),
    Oracle(crate::oracle::desk::DeskRequest),
    Liquidator(LiquidatorRequest),
    AnyHedge(AnyHedgeRequest),
    Perp(PerpRequest),
    Pool(PoolRequest),
}

const MIN_PASSPHRASE: usize = 8;
const PAGE: usize = 10;

pub fn on_key(state: &mut AppState, key: KeyEvent) -> Option<Effect> {
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        state.quit = true;
        return None;
    }
    match &mut state.phase {
        Phase::Unlock(phase) => on_unlock_key(phase, key, &mut state.quit),
        Phase::Main => on_main_key(state, key),
    }
}

fn on_unlock_key(phase: &mut UnlockPhase, key: KeyEvent, quit: &mut bool) -> Option<Effect> {
    match phase {
        UnlockPhase::Auto => None,
        UnlockPhase::OfferCreate => {
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    *phase = UnlockPhase::Create {
                        first: Default::default(),
                        second: Default::default(),
                        confirming: false,
                        error: None,
                        busy: false,
                    }
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => *quit = true,
                _ => {}
            }
            None
        }
        UnlockPhase::Prompt {
            input, error, busy, ..
        } => {
            if *busy {
                return None;
            }
            match key.code {
                KeyCode::Esc => *quit = true,
                KeyCode::Backspace => input.pop(),
                KeyCode::Enter if !input.is_empty() => {
                    *busy = true;
                    *error = None;
                    return Some(Effect::Unlock(input.take()));
                }
                KeyCode::Char(c) => input.push(c),
                _ => {}
            }
            None
        }
        UnlockPhase::Create {
            first,
            second,
            confirming,
            error,
            busy,
        } => {
            if *busy {
                return None;
            }
            let field = if *confirming {
                &mut *second
            } else {
                &mut *first
            };
            match key.code {
                KeyCode::Esc => *quit = true,
                KeyCode::Backspace => field.pop(),
                KeyCode::Char(c) => field.push(c),
                KeyCode::Enter if !*confirming => {
                    if first.len() < MIN_PASSPHRASE {
                        *error = Some(format!("passphrase: at least {MIN_PASSPHRASE} characters"));
                        first.clear();
                    } else {
                        *error = None;
                        *confirming = true;
                    }
                }
                KeyCode::Enter => {
                    if first.matches(second) {
                        *busy = true;
                        *error = None;
                        second.clear();
                        return Some(Effect::CreateKeystore(first.take()));
                    }
                    *error = Some("the two passphrases differ; start again".into());
                    first.clear();
                    second.clear();
                    *confirming = false;
                }
                _ => {}
            }
            None
        }
    }
}

fn on_main_key(state: &mut AppState, key: KeyEvent) -> Option<Effect> {
    let tab = state.tab.number();
    match state.overlay.take() {
        None => {}
        Some(Overlay::Help) => {
            let cmd = state.keymap.lookup(&key, tab);
            if !(key.code == KeyCode::Esc || matches!(cmd, Some(Command::Help | Command::Quit))) {
                state.overlay = Some(Overlay::Help);
            }
            return None;
        }
        Some(Overlay::Confirm(confirm)) => {
            return match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Some(match confirm.kind {
                    ConfirmKind::Approve => Effect::Approve(confirm.action.id),
                    ConfirmKind::Reject => Effect::Reject(confirm.action.id),
                }),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => None,
                _ => {
                    state.overlay = Some(Overlay::Confirm(confirm));
                    None
                }
            };
        }
        Some(Overlay::DeskConfirm(confirm)) => {
            return match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Some(match confirm.command {
                    DeskCommand::Oracle(request) => Effect::Oracle(request),
                    DeskCommand::Liquidator(request) => {
                        if let LiquidatorRequest::Liquidate(id) = request {
                            state.flash_info(format!(
                                "asked the liquidator desk to liquidate position #{id}"
                            ));
                        }
                        Effect::Liquidator(request)
                    }
                    DeskCommand::AnyHedge(request) => {
                        state.flash_info(asked(&request));
                        Effect::AnyHedge(request)
                    }
                    DeskCommand::Perp(request) => {
                        let flash = asked_perp(state, &request);
                        state.flash_info(flash);
                        Effect::Perp(request)
                    }
                    DeskCommand::Pool(request) => {
                        state.flash_info(pool_keys::asked(&request));
                        Effect::Pool(request)
                    }
                }),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => None,
                _ => {
                    state.overlay = Some(Overlay::DeskConfirm(confirm));
                    None
                }
            };
        }
        Some(
            overlay @ (Overlay::LiquidationDetail(_)
            | Overlay::AnyHedgeDetail(_)
            | Overlay::PerpDetail(_)
            | Overlay::PoolDetail(_)),
        ) => {
            let cmd = state.keymap.lookup(&key, tab);
            let closes = matches!(key.code, KeyCode::Esc | KeyCode::Enter)
                || cmd == Some(Command::Quit)
                || cmd == overlay.detail_command();
            if !closes {
                state.overlay = Some(overlay);
                return None;
            }
            // The liquidator desk reads a position's detail only while it is open.
            return matches!(overlay, Overlay::LiquidationDetail(_))
                .then_some(Effect::Liquidator(LiquidatorRequest::Detail(None)));
        }
        Some(Overlay::Palette(mut p)) => {
            match key.code {
                KeyCode::Esc => return None,
                KeyCode::Enter => {
                    let chosen = palette::filtered(state, &p.query)
                        .into_iter()
                        .nth(p.selected);
                    return match chosen.map(|e| e.target) {
                        Some(PaletteTarget::Command(cmd)) => run_command(state, cmd),
                        Some(PaletteTarget::Theme(name)) => {
                            set_theme(state, &name);
                            None
                        }
                        None => None,
                    };
                }
                KeyCode::Up => p.selected = p.selected.saturating_sub(1),
                KeyCode::Down => {
                    let n = palette::filtered(state, &p.query).len();
                    p.selected = (p.selected + 1).min(n.saturating_sub(1));
                }
                KeyCode::Backspace => {
                    p.query.pop();
                    p.selected = 0;
                }
                KeyCode::Char(c) => {
                    p.query.push(c);
                    p.selected = 0;
                }
                _ => {}
            }
            state.overlay = Some(Overlay::Palette(p));
            return None;
        }
    }
    let cmd = state.keymap.lookup(&key, tab)?;
    // The Pool tab's three tables: the first of the focus keys (left) goes back.
    if cmd == Command::PoolFocus
        && state.tab == Tab::Desk(Desk::Pool)
        && state.keymap.is_first_of_several(cmd, &key)
    {
        pool_keys::cycle_focus(state, true);
        return None;
    }
    run_command(state, cmd)
}

fn run_command(state: &mut AppState, cmd: Command) -> Option<Effect> {
    let tab_index = state.tab.number() as usize - 1;
    if !on_own_tab(state, cmd) {
        return None;
    }
    match cmd {
        Command::Quit => state.quit = true,
        Command::Help => state.overlay = Some(Overlay::Help),
        Command::Palette => state.overlay = Some(Overlay::Palette(PaletteState::default())),
        Command::NextTab => state.tab = Tab::ALL[(tab_index + 1) % Tab::ALL.len()],
        Command::PrevTab => state.tab = Tab::ALL[(tab_index + Tab::ALL.len() - 1) % Tab::ALL.len()],
        Command::Tab(n) => {
            if let Some(t) = Tab::from_number(n) {
                state.tab = t;
            }
        }
        Command::Up => scroll(state, -1),
        Command::Down => scroll(state, 1),
        Command::PageUp => scroll(state, -(PAGE as isize)),
        Command::PageDown => scroll(state, PAGE as isize),
        Command::Top => scroll(state, isize::MIN / 2),
        Command::Bottom => scroll(state, isize::MAX / 2),
        Command::Approve => open_confirm(state, ConfirmKind::Approve),
        Command::Reject => open_confirm(state, ConfirmKind::Reject),
        Command::OraclePublish => {
            oracle_confirm(state, crate::oracle::desk::DeskRequest::PublishNow)
        }
        Command::OracleBootstrap => {
            oracle_confirm(state, crate::oracle::desk::DeskRequest::Bootstrap)
        }
        Command::OracleReset => oracle_confirm(state, crate::oracle::desk::DeskRequest::Reset),
        Command::LiquidatorLiquidate => liquidate_confirm(state),
        Command::LiquidatorAuto => {
            state.flash_info(format!(
                "asked the liquidator desk to switch auto {}",
                if state.liquidator.auto { "OFF" } else { "ON" }
            ));
            return Some(Effect::Liquidator(LiquidatorRequest::ToggleAuto));
        }
        Command::LiquidatorDetail => {
            let Some(id) = state.selected_candidate().map(|r| r.position_id) else {
                state.flash_error("no position selected");
                return None;
            };
            state.overlay = Some(Overlay::LiquidationDetail(id));
            return Some(Effect::Liquidator(LiquidatorRequest::Detail(Some(id))));
        }
        Command::AnyHedgeFund => anyhedge_confirm(state, AnyHedgeOp::Fund),
        Command::AnyHedgeRedeem => anyhedge_confirm(state, AnyHedgeOp::Redeem),
        Command::AnyHedgeSettle => anyhedge_confirm(state, AnyHedgeOp::Settle),
        Command::AnyHedgeDetail => {
            let item = match state.anyhedge_focus {
                AnyHedgeFocus::Offers => state.selected_offer().map(|o| AnyHedgeItem::Offer(o.id)),
                AnyHedgeFocus::Contracts => state
                    .selected_contract()
                    .map(|p| AnyHedgeItem::Contract(p.address)),
            };
            match item {
                Some(item) => state.overlay = Some(Overlay::AnyHedgeDetail(item)),
                None => state.flash_error(match state.anyhedge_focus {
                    AnyHedgeFocus::Offers => "no offer selected",
                    AnyHedgeFocus::Contracts => "no contract selected",
                }),
            }
        }
        Command::AnyHedgeFocus => {
            state.anyhedge_focus = match state.anyhedge_focus {
                AnyHedgeFocus::Offers => AnyHedgeFocus::Contracts,
                AnyHedgeFocus::Contracts => AnyHedgeFocus::Offers,
            };
        }
        Command::PerpOpen => perp_open_confirm(state),
        Command::PerpClose => perp_close_confirm(state),
        Command::PerpAuto => perp_auto_confirm(state),
        Command::PerpDetail => {
            let item = match state.perp_focus {
                PerpFocus::Positions => state
                    .selected_trader()
                    .map(|p| PerpItem::Position(p.key.clone())),
                PerpFocus::Hedges => state.selected_hedge().map(|h| PerpItem::Hedge(h.id)),
            };
            match item {
                Some(item) => state.overlay = Some(Overlay::PerpDetail(item)),
                None => state.flash_error(match state.perp_focus {
                    PerpFocus::Positions => "no position selected",
                    PerpFocus::Hedges => "no hedge selected",
                }),
            }
        }
        Command::PerpFocus => {
            state.perp_focus = match state.perp_focus {
                PerpFocus::Positions => PerpFocus::Hedges,
                PerpFocus::Hedges => PerpFocus::Positions,
            };
        }
        Command::PoolWithdraw => pool_keys::withdraw_confirm(state),
        Command::PoolSettle => pool_keys::settle_confirm(state),
        Command::PoolExpire => pool_keys::expire_confirm(state),
        Command::PoolDetail => pool_keys::open_detail(state),
        Command::PoolFocus => pool_keys::cycle_focus(state, false),
    }
    None
}

fn scroll(state: &mut AppState, delta: isize) {
    let (pos, len) = match state.tab {
        Tab::Logs => {
            // Up scrolls back in time; `bottom` returns to following new lines.
            let max = state.logs.len().saturating_sub(1) as isize;
            let next = state.logs_scroll as isize - delta;
            state.logs_scroll = next.clamp(0, max) as usize;
            return;
        }
        Tab::Actions => (&mut state.actions_pos, state.actions.actions.len()),
        Tab::Desk(Desk::Oracle) => (&mut state.oracle_pos, state.oracle.rows.len()),
        Tab::Desk(Desk::Liquidator) => (&mut state.liquidator_pos, state.liquidator.rows.len()),
        Tab::Desk(Desk::AnyHedge) => match state.anyhedge_focus {
            AnyHedgeFocus::Offers => (&mut state.anyhedge_offers_pos, state.anyhedge.offers.len()),
            AnyHedgeFocus::Contracts => (
                &mut state.anyhedge_contracts_pos,
                state.anyhedge.positions.len(),
            ),
        },
        Tab::Desk(Desk::Perp) => match state.perp_focus {
            PerpFocus::Positions => (&mut state.perp_positions_pos, state.perp.positions.len()),
            PerpFocus::Hedges => (&mut state.perp_hedges_pos, state.perp.hedges.len()),
        },
        Tab::Desk(Desk::Pool) => match state.pool_focus {
            PoolFocus::Providers => (&mut state.pool_providers_pos, state.pool.providers.len()),
            PoolFocus::Policies => (&mut state.pool_policies_pos, state.pool.policies.len()),
            PoolFocus::Withdrawals => (
                &mut state.pool_withdrawals_pos,
                state.pool.withdrawals.len(),
            ),
        },
    };
    pos.step(len, delta);
}

/// The Liquidations, AnyHedge, Perp and Pool tabs' commands work on their tab only;
/// elsewhere they say so (`that key works on tab 4 (Perp)`). Other commands pass.
fn on_own_tab(state: &mut AppState, cmd: Command) -> bool {
    let Some(own) = cmd.tab().and_then(Tab::from_number) else {
        return true;
    };
    if !matches!(
        own,
        Tab::Desk(Desk::Liquidator | Desk::AnyHedge | Desk::Perp | Desk::Pool)
    ) || state.tab == own
    {
        return true;
    }
    state.flash_error(format!(
        "that key works on tab {} ({})",
        own.number(),
        own.title()
    ));
    false
}

/// The flash after a confirmed Perp request.
fn asked_perp(state: &AppState, request: &PerpRequest) -> String {
    match request {
        PerpRequest::OpenHedge { position_key } => {
            let what = state
                .perp
                .positions
                .iter()
                .find(|p| &p.key == position_key)
                .map(trader_label)
                .unwrap_or_else(|| position_key.clone());
            format!("asked to hedge {what}")
        }
        PerpRequest::CloseHedge { hedge_id } => {
            format!("asked the desk to close hedge #{hedge_id}")
        }
        PerpRequest::SetAuto(on) => format!(
            "asked the desk to turn auto hedging {}",
            if *on { "ON" } else { "OFF" }
        ),
    }
}

/// `One open_hedge action, policy confirm; approve it on the Actions tab (6).`
pub(super) fn policy_line(state: &AppState, kind: ActionKind) -> String {
    let (mode, then) = match state.config.policy(kind).mode {
        PolicyMode::Auto => ("auto", ""),
        PolicyMode::Confirm => ("confirm", "; approve it on the Actions tab (6)"),
        PolicyMode::Off => ("off", ": the action is dropped"),
    };
    format!("One {kind} action, policy {mode}{then}.")
}

/// `BUY 0.227 BTCUSDT · entry 94,120.50 · mark 98,790.10 · PnL +1,060.00 USDT`
fn hedge_numbers(h: &HedgeRow) -> String {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let pnl = h
        .pnl
        .as_deref()
        .map(|p| format!("{} USDT", format::signed(p, h.pnl_positive)))
        .unwrap_or_else(|| "-".into());
    format!(
        "{} {} {} · entry {} · mark {} · PnL {pnl}",
        h.side,
        h.quantity,
        h.symbol,
        or_dash(&h.entry),
        or_dash(&h.mark)
    )
}

/// Opens the popup that says what `o` asks of the perp desk about the selected trader
/// position, or says why not.
fn perp_open_confirm(state: &mut AppState) {
    if state.perp_focus == PerpFocus::Hedges {
        state.flash_error(format!(
            "select a position first ({})",
            state.keymap.all_keys_for(Command::PerpFocus)
        ));
        return;
    }
    let Some(row) = state.selected_trader().cloned() else {
        state.flash_error("no position selected");
        return;
    };
    let request = match perp_open_request(&row) {
        Ok(request) => request,
        Err(why) => {
            state.flash_error(why);
            return;
        }
    };
    let label = trader_label(&row);
    let symbol = row.symbol.clone().unwrap_or_default();
    let side = if row.is_long { "BUY" } else { "SELL" };
    let mut lines = vec![
        format!("Position  {label}"),
        format!("          {}", trader_numbers(&row)),
        format!("Flags     {}", flag_labels(&row.flags)),
    ];
    for f in &row.flags {
        lines.push(format!("          {}", f.reason));
    }
    lines.push(String::new());
    lines.push("Will ask the perp desk to propose an open_hedge action:".into());
    lines.push(format!(
        "  {side} {symbol} at market for the position's notional at the mark price,"
    ));
    lines.push("  the trader's way (the vault is the counterparty)".into());
    lines.push(format!("  venue  {}", state.perp.venue));
    if row.flags.is_empty() {
        lines.push(format!(
            "No flag is set: with auto ON the desk closes the hedge {} s after the last flag.",
            state.config.perp.expiry_secs
        ));
    }
    lines.push(policy_line(state, ActionKind::OpenHedge));
    state.overlay = Some(Overlay::DeskConfirm(Box::new(DeskConfirm {
        title: format!("Open a hedge for {label}?"),
        lines,
        command: DeskCommand::Perp(request),
    })));
}

/// Opens the popup that says what `c` asks of the perp desk about the selected hedge (or
/// the selected position's hedge), or says why not.
fn perp_close_confirm(state: &mut AppState) {
    let hedge = match state.perp_focus {
        PerpFocus::Hedges => state.selected_hedge().cloned(),
        PerpFocus::Positions => match state.selected_trader().map(|p| p.hedge.clone()) {
            Some(Some((id, _))) => state.perp.hedges.iter().find(|h| h.id == id).cloned(),
            _ => {
                state.flash_error(format!(
                    "no hedge on this position ({})",
                    state.keymap.all_keys_for(Command::PerpFocus)
                ));
                return;
            }
        },
    };
    let Some(hedge) = hedge else {
        state.flash_error("no hedge selected");
        return;
    };
    let request = match perp_close_request(&hedge) {
        Ok(request) => request,
        Err(why) => {
            state.flash_error(why);
            return;
        }
    };
    let close_side = if hedge.side.eq_ignore_ascii_case("BUY") {
        "SELL"
    } else {
        "BUY"
    };
    let position = state
        .perp
        .positions
        .iter()
        .find(|p| p.key == hedge.position_key)
        .cloned();
    let mut lines = vec![
        format!("Hedge     #{} {}", hedge.id, hedge_numbers(&hedge)),
        match &position {
            Some(p) => format!("Position  {} · {}", trader_label(p), flag_labels(&p.flags)),
            None => "Position  no longer on DePerp".into(),
        },
    ];
    if let Some(secs) = hedge.closes_in_secs {
        lines.push(format!(
            "          its position has had no flag lately: the desk closes it in {secs} s"
        ));
    }
    lines.push(String::new());
    lines.push("Will ask the perp desk to propose a close_hedge action:".into());
    lines.push(format!(
        "  reduce-only {close_side} {} {} at market",
        hedge.quantity, hedge.symbol
    ));
    lines.push(format!("  venue  {}", state.perp.venue));
    if let Some(p) = position.as_ref().filter(|p| !p.flags.is_empty()) {
        lines.push(format!(
            "Its position is still flagged ({}): with auto ON the desk hedges it again.",
            flag_labels(&p.flags)
        ));
    }
    lines.push(policy_line(state, ActionKind::CloseHedge));
    state.overlay = Some(Overlay::DeskConfirm(Box::new(DeskConfirm {
        title: format!("Close hedge #{} {}?", hedge.id, hedge.symbol),
        lines,
        command: DeskCommand::Perp(request),
    })));
}

/// Opens the popup that asks before `a` switches automatic hedging.
fn perp_auto_confirm(state: &mut AppState) {
    let on = !state.perp.auto;
    let flagged = state
        .perp
        .positions
        .iter()
        .filter(|p| !p.flags.is_empty() && p.hedge.is_none())
        .count();
    let mut lines = if on {
        vec![
            "The perp desk proposes a hedge for every flagged, unhedged position on a".to_string(),
            format!(
                "mapped market, and closes a hedge {} s after its position's last flag",
                state.config.perp.expiry_secs
            ),
            format!("(or once the position vanished). Flagged and unhedged now: {flagged}."),
        ]
    } else {
        vec![
            "The perp desk stops proposing hedges and their closes on its own.".to_string(),
            format!("Flagged and unhedged now: {flagged}. They stay listed; o and c still ask."),
        ]
    };
    lines.push(
        "The open_hedge and close_hedge policies still decide what waits for approval.".into(),
    );
    lines.push(format!(
        "Until the next start, which reads perp.auto from the config (now {}).",
        state.config.perp.auto
    ));
    state.overlay = Some(Overlay::DeskConfirm(Box::new(DeskConfirm {
        title: format!("Turn automatic hedging {}?", if on { "ON" } else { "OFF" }),
        lines,
        command: DeskCommand::Perp(PerpRequest::SetAuto(on)),
    })));
}

/// The flash after a confirmed AnyHedge request.
fn asked(request: &AnyHedgeRequest) -> String {
    let (what, address) = match request {
        AnyHedgeRequest::CompleteFunding { address } => ("fund", address),
        AnyHedgeRequest::ValidateFunding { address } => ("check the funding of", address),
        AnyHedgeRequest::CompleteRedemption { address } => ("redeem", address),
        AnyHedgeRequest::Settle { address } => ("settle", address),
    };
    format!(
        "asked the desk to {what} {}",
        super::format::short_address(address)
    )
}

/// Opens the popup that says what `f`, `r` or `s` will ask of the AnyHedge desk about the
/// selected contract, or says why not.
fn anyhedge_confirm(state: &mut AppState, op: AnyHedgeOp) {
    if state.anyhedge_focus == AnyHedgeFocus::Offers {
        state.flash_error(format!(
            "select a contract first ({})",
            state.keymap.all_keys_for(Command::AnyHedgeFocus)
        ));
        return;
    }
    let Some(row) = state.selected_contract().cloned() else {
        state.flash_error("no contract selected");
        return;
    };
    let request = match anyhedge_request(&row, op) {
        Ok(request) => request,
        Err(why) => {
            state.flash_error(why);
            return;
        }
    };
    let address = row.address.to_checksum(None);
    let snap = &state.anyhedge;
    let policy = |kind: ActionKind| {
        let (mode, then) = match state.config.policy(kind).mode {
            PolicyMode::Auto => ("auto", ""),
            PolicyMode::Confirm => ("confirm", "; approve it on the Actions tab (6)"),
            PolicyMode::Off => ("off", ": the action is dropped"),
        };
        format!("One {kind} action, policy {mode}{then}.")
    };
    let at_last = |row: &PositionRow| match (row.last_price, row.projected) {
        (Some((last, _)), Some((short, long))) => format!(
            "At the last price {}: short gets {} BCH, long gets {} BCH.",
            price(last, row.price_decimals),
            bch(short),
            bch(long)
        ),
        _ => "No oracle price yet: payouts at the last price are unknown.".into(),
    };
    let mut lines = vec![
        format!("Contract  {address} on {}", snap.chain),
        format!(
            "Short     {} put in {} BCH",
            short_text(&row.short_wallet),
            bch(row.short_input_sats)
        ),
        format!(
            "Long      {} put in {} BCH",
            short_text(&row.long_wallet),
            bch(row.long_input_sats)
        ),
        String::new(),
    ];
    let (title, rest): (String, Vec<String>) = match &request {
        AnyHedgeRequest::CompleteFunding { .. } => {
            let factory = snap
                .factory
                .map(|f| f.to_checksum(None))
                .unwrap_or_else(|| "(not known yet)".into());
            let mut rest = vec![
                "Will ask the desk to create and fund the contract:".to_string(),
                format!("  HedgeFactory {factory}"),
                "  createAndFund with both parties' signed funding permits; their".into(),
                format!(
                    "  {} BCH of collateral move into the contract in one transaction.",
                    bch(row.short_input_sats.saturating_add(row.long_input_sats))
                ),
                policy(ActionKind::FundContract),
            ];
            if let Some((id, s)) = row.action {
                rest.push(format!(
                    "The last attempt, action #{id}, {s}: this tries again."
                ));
            }
            (
                format!("Fund contract {}?", super::format::short_address(&address)),
                rest,
            )
        }
        AnyHedgeRequest::ValidateFunding { .. } => {
            let id = row.action.map(|(id, _)| id).unwrap_or_default();
            (
                format!(
                    "Check the funding of {}?",
                    super::format::short_address(&address)
                ),
                vec![
                    format!("The funding (action #{id}) is confirmed but not recorded yet."),
                    "Will ask the desk to read the contract's funding from the chain and".into(),
                    "record it. Nothing is signed or sent.".into(),
                ],
            )
        }
        AnyHedgeRequest::CompleteRedemption { .. } => {
            let (kind, short, long) = row
                .redemption
                .as_ref()
                .map(|r| (r.kind.clone(), r.short_sats, r.long_sats))
                .unwrap_or_default();
            (
                format!(
                    "Redeem contract {} now?",
                    super::format::short_address(&address)
                ),
                vec![
                    format!("Mutual redemption ({kind}), signed by both parties:"),
                    format!(
                        "  short gets {} BCH, long gets {} BCH",
                        bch(short),
                        bch(long)
                    ),
                    "Will ask the desk to send mutualRedeem to the contract with both".into(),
                    "signatures; the contract pays out and closes.".into(),
                    policy(ActionKind::MutualRedeem),
                ],
            )
        }
        AnyHedgeRequest::Settle { .. } => {
            let matures = format::date_time(row.maturity_ms);
            let mut rest = Vec::new();
            let last = row.last_price.map(|(p, _)| p);
            if state.now_ms >= row.maturity_ms {
                rest.push(format!(
                    "Matured at {matures} UTC: the desk settles at maturity"
                ));
                rest.push("with the first stored oracle message at or after it.".into());
            } else if let Some(p) = last.filter(|p| *p <= row.low_price || *p >= row.high_price) {
                let (side, bound) = if p <= row.low_price {
                    ("at or below low", row.low_price)
                } else {
                    ("at or above high", row.high_price)
                };
                rest.push(format!(
                    "The last price {} is {side} {}: the desk liquidates",
                    price(p, row.price_decimals),
                    price(bound, row.price_decimals)
                ));
                rest.push("with the stored oracle message that crossed it.".into());
            } else {
                rest.push(format!(
                    "Not matured (matures {matures} UTC) and the last price is inside"
                ));
                rest.push(format!(
                    "low {} … high {}: the desk settles only if a stored message crosses",
                    price(row.low_price, row.price_decimals),
                    price(row.high_price, row.price_decimals)
                ));
                rest.push("one; otherwise it says so in the journal and sends nothing.".into());
            }
            rest.push(at_last(&row));
            rest.push(policy(ActionKind::SettleContract));
            (
                format!(
                    "Settle contract {} now?",
                    super::format::short_address(&address)
                ),
                rest,
            )
        }
    };
    lines.extend(rest);
    state.overlay = Some(Overlay::DeskConfirm(Box::new(DeskConfirm {
        title,
        lines,
        command: DeskCommand::AnyHedge(request),
    })));
}

/// Opens the popup that shows what `l` will sign for the selected position.
fn liquidate_confirm(state: &mut AppState) {
    let Some(module) = state.liquidator.module else {
        state.flash_error("the margin module is not known yet");
        return;
    };
    let Some(row) = state.selected_candidate().cloned() else {
        state.flash_error("no position selected");
        return;
    };
    let id = row.position_id;
    let refused = match row.state {
        RowState::Confirmed => Some(format!("position #{id} is liquidated already")),
        RowState::Freezing => Some(format!("position #{id}: our freeze is on its way")),
        RowState::Confirming => Some(format!("position #{id}: our confirm is on its way")),
        RowState::FrozenByOther => Some(format!(
            "position #{id} is frozen by another liquidator; it may confirm it"
        )),
        RowState::Watching | RowState::FrozenByUs | RowState::Recovered | RowState::Failed => None,
    };
    if let Some(why) = refused {
        state.flash_error(why);
        return;
    }
    let receiver = match state
        .config
        .liquidator
        .receiver
        .trim()
        .parse::<alloy::primitives::Address>()
    {
        Ok(address) => format!("{} (the configured receiver)", address.to_checksum(None)),
        Err(_) => format!(
            "{} (your account)",
            state.account.as_deref().unwrap_or("the unlocked account")
        ),
    };
    let units = |amount, token: &crate::liquidator::pane::TokenInfo| {
        format!(
            "{} {}",
            crate::liquidator::pane::format_units(amount, token.decimals, 6),
            token.symbol
        )
    };
    let health = row
        .health_bps
        .map(|bps| format!("health {}.{:02}%", bps / 100, bps % 100))
        .unwrap_or_else(|| "health unknown".into());
    let value = row
        .value
        .map(|v| units(v, &row.base))
        .unwrap_or_else(|| "unknown".into());
    let profit = row
        .profit_usd_cents
        .map(super::format::usd_cents)
        .unwrap_or_else(|| "unknown".into());
    let frozen = matches!(row.state, RowState::FrozenByUs | RowState::Recovered);
    let mut lines = vec![
        format!(
            "Position #{id} ({}) · {health} · est. profit {profit}",
            row.state.label()
        ),
        format!(
            "value {value} · debt {} · reward {}",
            units(row.debt, &row.base),
            units(row.reward_amount, &row.reward)
        ),
        String::new(),
        "Will sign and send, without asking again:".into(),
        format!("  chain       {}", state.liquidator.chain),
        format!("  contract    MarginModule {}", module.to_checksum(None)),
        "  function    liquidate(uint256,address)".into(),
        format!("  positionId  {id}"),
        format!("  receiver    {receiver}"),
        String::new(),
    ];
    if frozen {
        lines.push("We froze it already: this call confirms the liquidation.".into());
    } else {
        lines.extend([
            "The first call freezes the position; the same call in a later block (within the"
                .into(),
            "freeze's hour) confirms the liquidation. Your y approves both actions.".into(),
        ]);
    }
    lines.push("The desk refuses if the position is not liquidatable on chain.".into());
    state.overlay = Some(Overlay::DeskConfirm(Box::new(DeskConfirm {
        title: format!("Liquidate position #{id}?"),
        lines,
        command: DeskCommand::Liquidator(LiquidatorRequest::Liquidate(id)),
    })));
}

/// Opens the popup that asks before an Oracle-tab command runs.
fn oracle_confirm(state: &mut AppState, command: crate::oracle::desk::DeskRequest) {
    use crate::oracle::desk::DeskRequest;
    if state.tab != Tab::Desk(crate::desks::Desk::Oracle) {
        state.flash_error("that key works on the Oracle tab (1)");
        return;
    }
    let feeds: Vec<String> = state
        .config
        .oracle
        .feeds
        .iter()
        .enumerate()
        .map(|(i, f)| {
            format!(
                "  slot {i}: {} (asset {}, {} decimals)",
                f.symbol, f.asset_id, f.decimals
            )
        })
        .collect();
    let contract = state
        .oracle
        .price_caster
        .map(|a| a.to_checksum(None))
        .unwrap_or_else(|| "(no PriceCaster yet)".into());
    let (title, mut lines) = match command {
        DeskRequest::PublishNow => (
            "Publish every feed now?",
            vec![
                format!(
                    "Fetch the latest update for {} feed(s) from Hermes, verify it,",
                    feeds.len()
                ),
                "and propose one publish_prices action for all of them,".into(),
                "due or not. The action then follows its policy.".into(),
            ],
        ),
        DeskRequest::Bootstrap => (
            "Allocate the configured slots?",
            vec![format!(
                "Send alloc() to PriceCaster {contract} for each slot it lacks:"
            )],
        ),
        DeskRequest::Reset => (
            "RESET PriceCaster and allocate again?",
            vec![
                format!("Send reset() to PriceCaster {contract}:"),
                "every slot is cleared, then alloc() for each configured feed:".into(),
            ],
        ),
    };
    if command != DeskRequest::PublishNow {
        lines.extend(feeds);
    }
    state.overlay = Some(Overlay::DeskConfirm(Box::new(DeskConfirm {
        title: title.into(),
        lines,
        command: DeskCommand::Oracle(command),
    })));
}

fn open_confirm(state: &mut AppState, kind: ConfirmKind) {
    if state.tab != Tab::Actions {
        state.flash_error("approve and reject work on the Actions tab (6)");
        return;
    }
    let Some(action) = state.selected_action().cloned() else {
        state.flash_error("no action selected");
        return;
    };
    if action.state != ActionState::Proposed {
        state.flash_error(format!(
            "action #{} is {}; only proposed actions can be approved or rejected",
            action.id, action.state
        ));
        return;
    }
    state.overlay = Some(Overlay::Confirm(Box::new(ConfirmState { kind, action })));
}

fn set_theme(state: &mut AppState, name: &str) {
    match Theme::load(name, &state.themes_dir) {
        Ok(theme) => {
            state.theme = theme;
            state.flash_info(format!("theme {name}"));
        }
        Err(e) => state.flash_error(e),
    }
}

/// Applies the result of an unlock or create attempt.
pub fn on_unlock_failed(state: &mut AppState, wrong_passphrase: bool, message: String) {
    let max = state.config.keys.max_unlock_attempts;
    let Phase::Unlock(phase) = &mut state.phase else {
        return;
    };
    let failures = match phase {
        UnlockPhase::Prompt { failures, .. } => *failures,
        _ => 0,
    };
    let failures = failures + u32::from(wrong_passphrase);
    if failures >= max {
        state.quit = true;
    }
    let error = if wrong_passphrase {
        let left = max.saturating_sub(failures);
        Some(format!(
            "wrong passphrase ({failures} of {max} attempts used{})",
            if left == 0 {
                "; exiting".to_string()
            } else {
                format!(", {left} left")
            }
        ))
    } else {
        Some(message)
    };
    *phase = UnlockPhase::Prompt {
        input: Default::default(),
        failures,
        error,
        busy: false,
    };
}
