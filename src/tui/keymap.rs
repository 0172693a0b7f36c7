//! Key bindings: every rebindable command, its default keys, and `[ui.keys]`
//! overrides. The help overlay and the palette are generated from this table.
//!
//! A command either works everywhere or belongs to one tab ([`Command::tab`]). Commands of
//! different tabs may share a key (`enter` opens the detail on tabs 2 to 5); a key pressed
//! on a tab runs that tab's command, else the global one, else another tab's command (which
//! then says where it works).

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Quit,
    Help,
    Palette,
    NextTab,
    PrevTab,
    Tab(u8),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Approve,
    Reject,
    OraclePublish,
    OracleBootstrap,
    OracleReset,
    LiquidatorLiquidate,
    LiquidatorAuto,
    LiquidatorDetail,
    AnyHedgeFund,
    AnyHedgeRedeem,
    AnyHedgeSettle,
    AnyHedgeDetail,
    AnyHedgeFocus,
    PerpOpen,
    PerpClose,
    PerpAuto,
    PerpDetail,
    PerpFocus,
    PoolWithdraw,
    PoolSettle,
    PoolExpire,
    PoolDetail,
    PoolFocus,
}

impl Command {
    /// The tab (by number) whose command this is; `None` for one that works everywhere.
    pub fn tab(self) -> Option<u8> {
        match self {
            Command::OraclePublish | Command::OracleBootstrap | Command::OracleReset => Some(1),
            Command::LiquidatorLiquidate | Command::LiquidatorAuto | Command::LiquidatorDetail => {
                Some(2)
            }
            Command::AnyHedgeFund
            | Command::AnyHedgeRedeem
            | Command::AnyHedgeSettle
            | Command::AnyHedgeDetail
            | Command::AnyHedgeFocus => Some(3),
            Command::PerpOpen
            | Command::PerpClose
            | Command::PerpAuto
            | Command::PerpDetail
            | Command::PerpFocus => Some(4),
            Command::PoolWithdraw
            | Command::PoolSettle
            | Command::PoolExpire
            | Command::PoolDetail
            | Command::PoolFocus => Some(5),
            Command::Approve | Command::Reject => Some(6),
            Command::Quit
            | Command::Help
            | Command::Palette
            | Command::NextTab
            | Command::PrevTab
            | Command::Tab(_)
            | Command::Up
            | Command::Down
            | Command::PageUp
            | Command::PageDown
            | Command::Top
            | Command::Bottom => None,
        }
    }

    /// Whether one key may not run both: they can meet on some tab.
    fn overlaps(self, other: Command) -> bool {
        match (self.tab(), other.tab()) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }
}

/// (config name, command, default keys, what it does)
pub const COMMANDS: &[(&str, Command, &[&str], &str)] = &[
    ("quit", Command::Quit, &["q", "ctrl-c"], "quit hedgedesk"),
    ("help", Command::Help, &["?"], "show or hide this help"),
    (
        "palette",
        Command::Palette,
        &[":"],
        "open the command palette",
    ),
    ("next_tab", Command::NextTab, &["tab"], "next tab"),
    ("prev_tab", Command::PrevTab, &["shift-tab"], "previous tab"),
    ("tab_1", Command::Tab(1), &["1"], "Oracle tab"),
    ("tab_2", Command::Tab(2), &["2"], "Liquidations tab"),
    ("tab_3", Command::Tab(3), &["3"], "AnyHedge tab"),
    ("tab_4", Command::Tab(4), &["4"], "Perp tab"),
    ("tab_5", Command::Tab(5), &["5"], "Pool tab"),
    ("tab_6", Command::Tab(6), &["6"], "Actions tab"),
    ("tab_7", Command::Tab(7), &["7"], "Logs tab"),
    ("up", Command::Up, &["up", "k"], "move up"),
    ("down", Command::Down, &["down", "j"], "move down"),
    ("page_up", Command::PageUp, &["pageup"], "page up"),
    ("page_down", Command::PageDown, &["pagedown"], "page down"),
    ("top", Command::Top, &["home", "g"], "first row"),
    (
        "bottom",
        Command::Bottom,
        &["end", "G"],
        "last row (Logs: follow)",
    ),
    (
        "approve",
        Command::Approve,
        &["a"],
        "approve the selected action (asks first)",
    ),
    (
        "reject",
        Command::Reject,
        &["r"],
        "reject the selected action (asks first)",
    ),
    (
        "oracle_publish",
        Command::OraclePublish,
        &["p"],
        "Oracle tab: publish every feed now (asks first)",
    ),
    (
        "oracle_bootstrap",
        Command::OracleBootstrap,
        &["b"],
        "Oracle tab: allocate the configured slots (asks first)",
    ),
    (
        "oracle_reset",
        Command::OracleReset,
        &["R"],
        "Oracle tab: reset PriceCaster and allocate again (asks first)",
    ),
    // `a` is approve's: the Liquidations tab's auto switch takes `A`.
    (
        "liquidator_liquidate",
        Command::LiquidatorLiquidate,
        &["l"],
        "Liquidations tab: liquidate selected position (asks first)",
    ),
    (
        "liquidator_auto",
        Command::LiquidatorAuto,
        &["A"],
        "Liquidations tab: switch auto freeze and confirm on or off",
    ),
    (
        "liquidator_detail",
        Command::LiquidatorDetail,
        &["enter"],
        "Liquidations tab: open the selected position's detail",
    ),
    // `r` is reject's on the Actions tab only, so the AnyHedge tab keeps the issue's letters.
    (
        "anyhedge_fund",
        Command::AnyHedgeFund,
        &["f"],
        "AnyHedge tab: complete the selected contract's funding (asks first)",
    ),
    (
        "anyhedge_redeem",
        Command::AnyHedgeRedeem,
        &["r"],
        "AnyHedge tab: send the signed mutual redemption (asks first)",
    ),
    (
        "anyhedge_settle",
        Command::AnyHedgeSettle,
        &["s"],
        "AnyHedge tab: settle the selected contract now (asks first)",
    ),
    (
        "anyhedge_detail",
        Command::AnyHedgeDetail,
        &["enter"],
        "AnyHedge tab: open the selected contract's or offer's detail",
    ),
    (
        "anyhedge_focus",
        Command::AnyHedgeFocus,
        &["left", "right"],
        "AnyHedge tab: move the selection between offers and contracts",
    ),
    // `a` is approve's on the Actions tab only, so the Perp tab keeps the issue's letters.
    (
        "perp_open",
        Command::PerpOpen,
        &["o"],
        "Perp tab: open a hedge for the selected position (asks first)",
    ),
    (
        "perp_close",
        Command::PerpClose,
        &["c"],
        "Perp tab: close the selected hedge (asks first)",
    ),
    (
        "perp_auto",
        Command::PerpAuto,
        &["a"],
        "Perp tab: switch automatic hedging on or off (asks first)",
    ),
    (
        "perp_detail",
        Command::PerpDetail,
        &["enter"],
        "Perp tab: open the selected position's or hedge's detail",
    ),
    (
        "perp_focus",
        Command::PerpFocus,
        &["left", "right"],
        "Perp tab: move the selection between positions and hedges",
    ),
    // `s` is also the AnyHedge tab's settle, on its own tab only.
    (
        "pool_withdraw",
        Command::PoolWithdraw,
        &["w"],
        "Pool tab: approve the selected withdrawal (asks first)",
    ),
    (
        "pool_settle",
        Command::PoolSettle,
        &["s"],
        "Pool tab: settle the selected in-the-money policy (asks first)",
    ),
    (
        "pool_expire",
        Command::PoolExpire,
        &["x"],
        "Pool tab: expire the selected policy (asks first)",
    ),
    (
        "pool_detail",
        Command::PoolDetail,
        &["enter"],
        "Pool tab: open the selected provider's or policy's detail",
    ),
    (
        "pool_focus",
        Command::PoolFocus,
        &["left", "right"],
        "Pool tab: move the selection: providers, policies, withdrawals",
    ),
];

/// One key with its modifiers, as written in config: `q`, `G`, `ctrl-c`, `shift-tab`, `f5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            if rest.len() == len {
                break;
            }
            mods |= m;
            rest = &rest[len..];
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" if mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" => KeyCode::Delete,
            "insert" => KeyCode::Insert,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                let n: u8 = f[1..].parse().unwrap_or(0);
                if !(1..=24).contains(&n) {
                    return Err(format!("`{text}`: function keys run f1 to f24"));
                }
                KeyCode::F(n)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_control() => KeyCode::Char(c),
                    _ => {
                        return Err(format!(
                            "`{text}` is not a key: use a character, a name (enter, esc, tab, space, \
                             up, down, left, right, pageup, pagedown, home, end, backspace, delete, \
                             f1..f24) with optional ctrl-/alt-/shift- prefixes"
                        ));
                    }
                }
            }
        };
        Ok(Key { code, mods }.normalised())
    }

    pub fn from_event(ev: &KeyEvent) -> Key {
        Key {
            code: ev.code,
            mods: ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT),
        }
        .normalised()
    }

    /// A typed character already carries its case, so SHIFT on a character is noise
    /// (terminals disagree about reporting it).
    fn normalised(mut self) -> Key {
        if self.code == KeyCode::BackTab {
            self.mods.remove(KeyModifiers::SHIFT);
        }
        if let KeyCode::Char(c) = self.code {
            self.mods.remove(KeyModifiers::SHIFT);
            if self.mods.contains(KeyModifiers::CONTROL) {
                self.code = KeyCode::Char(c.to_ascii_lowercase());
            }
        }
        self
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Keymap {
    /// (config name, command, keys, description) in COMMANDS order.
    entries: Vec<(&'static str, Command, Vec<Key>, &'static str)>,
}

impl Keymap {
    /// Defaults with `[ui.keys]` applied. Config validation has already reported
    /// problems; anything still unusable here is skipped.
    pub fn new(overrides: &BTreeMap<String, Vec<String>>) -> Keymap {
        let entries = COMMANDS
            .iter()
            .map(|(name, cmd, defaults, desc)| {
                let keys = match overrides.get(*name) {
                    Some(list) => list.iter().filter_map(|k| Key::parse(k).ok()).collect(),
                    None => defaults
                        .iter()
                        .map(|k| Key::parse(k).expect("default key"))
                        .collect(),
                };
                (*name, *cmd, keys, *desc)
            })
            .collect();
        Keymap { entries }
    }

    /// The command `ev` runs on tab number `tab`: the tab's own first, then a global one,
    /// then another tab's (which refuses and names its tab).
    pub fn lookup(&self, ev: &KeyEvent, tab: u8) -> Option<Command> {
        let key = Key::from_event(ev);
        // The first of the best: bindings that clash were reported by config validation.
        self.entries
            .iter()
            .filter(|(_, _, keys, _)| keys.contains(&key))
            .map(|(_, cmd, _, _)| *cmd)
            .min_by_key(|cmd| match cmd.tab() {
                Some(t) if t == tab => 0,
                None => 1,
                Some(_) => 2,
            })
    }

    /// (name, keys as text, description) for the help overlay and palette.
    pub fn rows(&self) -> impl Iterator<Item = (&'static str, String, &'static str, Command)> + '_ {
        self.entries.iter().map(|(name, cmd, keys, desc)| {
            let keys = keys
                .iter()
                .map(Key::to_string)
                .collect::<Vec<_>>()
                .join(" ");
            (*name, keys, *desc, *cmd)
        })
    }

    pub fn keys_for(&self, cmd: Command) -> String {
        self.entries
            .iter()
            .find(|(_, c, _, _)| *c == cmd)
            .and_then(|(_, _, keys, _)| keys.first())
            .map(Key::to_string)
            .unwrap_or_else(|| "(unbound)".into())
    }

    /// Whether `ev` is the first of several keys bound to `cmd` (`left` of `left right`):
    /// a command that cycles goes back on it.
    pub fn is_first_of_several(&self, cmd: Command, ev: &KeyEvent) -> bool {
        let key = Key::from_event(ev);
        self.entries
            .iter()
            .find(|(_, c, _, _)| *c == cmd)
            .is_some_and(|(_, _, keys, _)| keys.len() > 1 && keys[0] == key)
    }

    /// Every key of `cmd`, as `left/right`.
    pub fn all_keys_for(&self, cmd: Command) -> String {
        let keys: Vec<String> = self
            .entries
            .iter()
            .find(|(_, c, _, _)| *c == cmd)
            .map(|(_, _, keys, _)| keys.iter().map(Key::to_string).collect())
            .unwrap_or_default();
        if keys.is_empty() {
            "(unbound)".into()
        } else {
            keys.join("/")
        }
    }
}

/// Problems in `[ui.keys]`: unknown commands, keys that do not parse, and a key bound
/// to two commands that can meet on one tab. Each names the command (for the path
/// `ui.keys.<command>`).
pub fn check_bindings(keys: &BTreeMap<String, Vec<String>>) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for (name, list) in keys {
        if !COMMANDS.iter().any(|(n, ..)| n == name) {
            let known: Vec<&str> = COMMANDS.iter().map(|(n, ..)| *n).collect();
            problems.push((
                name.clone(),
                format!("unknown command; expected one of {}", known.join(", ")),
            ));
            continue;
        }
        for k in list {
            if let Err(e) = Key::parse(k) {
                problems.push((name.clone(), e));
            }
        }
    }
    let map = Keymap::new(keys);
    let mut seen: BTreeMap<String, Vec<(&str, Command)>> = BTreeMap::new();
    for (name, cmd, bound, _) in &map.entries {
        for key in bound {
            let earlier = seen.entry(key.to_string()).or_default();
            if let Some((other, _)) = earlier.iter().find(|(_, c)| c.overlaps(*cmd)) {
                let culprit = if keys.contains_key(*name) {
                    name
                } else {
                    other
                };
                let partner = if culprit == name { other } else { name };
                problems.push((
                    culprit.to_string(),
                    format!("key `{key}` is also bound to `{partner}`"),
                ));
            }
            earlier.push((name, *cmd));
        }
    }
    problems.sort_by(|a, b| a.0.cmp(&b.0));
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn parses_and_prints_keys() {
        for text in [
            "q",
            "G",
            "ctrl-c",
            "shift-tab",
            "f5",
            "space",
            "pagedown",
            "alt-x",
            ":",
        ] {
            assert_eq!(Key::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Key::parse("CTRL-C").unwrap(), Key::parse("ctrl-c").unwrap());
        assert!(Key::parse("f25").is_err());
        assert!(
            Key::parse("hello")
                .unwrap_err()
                .contains("`hello` is not a key")
        );
    }

    #[test]
    fn defaults_resolve_terminal_events() {
        let km = Keymap::new(&BTreeMap::new());
        assert_eq!(
            km.lookup(&ev(KeyCode::Char('q'), KeyModifiers::NONE), 6),
            Some(Command::Quit)
        );
        assert_eq!(
            km.lookup(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL), 6),
            Some(Command::Quit)
        );
        assert_eq!(
            km.lookup(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT), 6),
            Some(Command::Bottom)
        );
        assert_eq!(
            km.lookup(&ev(KeyCode::BackTab, KeyModifiers::SHIFT), 6),
            Some(Command::PrevTab)
        );
        assert_eq!(
            km.lookup(&ev(KeyCode::Char('7'), KeyModifiers::NONE), 6),
            Some(Command::Tab(7))
        );
        assert_eq!(
            km.lookup(&ev(KeyCode::Char('z'), KeyModifiers::NONE), 6),
            None
        );
    }

    #[test]
    fn overrides_replace_a_commands_keys() {
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), vec!["ctrl-q".to_string()]);
        let km = Keymap::new(&o);
        assert_eq!(
            km.lookup(&ev(KeyCode::Char('q'), KeyModifiers::CONTROL), 6),
            Some(Command::Quit)
        );
        assert_eq!(
            km.lookup(&ev(KeyCode::Char('q'), KeyModifiers::NONE), 6),
            None
        );
        assert!(check_bindings(&o).is_empty());
        // `x` is the Pool tab's: a global command may not take it.
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), vec!["x".to_string()]);
        let problems = check_bindings(&o);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].1.contains("also bound to `pool_expire`"));
    }

    #[test]
    fn reports_unknown_commands_bad_keys_and_clashes() {
        let mut o = BTreeMap::new();
        o.insert("quitt".to_string(), vec!["x".to_string()]);
        o.insert("help".to_string(), vec!["ctrl-".to_string()]);
        o.insert("approve".to_string(), vec!["r".to_string()]);
        let problems = check_bindings(&o);
        let names: Vec<&str> = problems.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["approve", "help", "quitt"], "{problems:?}");
        assert!(problems[0].1.contains("also bound to `reject`"));
    }

    #[test]
    fn tabs_share_keys_and_a_tabs_own_command_wins() {
        let km = Keymap::new(&BTreeMap::new());
        let key = |c| ev(KeyCode::Char(c), KeyModifiers::NONE);
        let enter = ev(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(km.lookup(&key('r'), 6), Some(Command::Reject));
        assert_eq!(km.lookup(&key('r'), 3), Some(Command::AnyHedgeRedeem));
        // Elsewhere the first command bound says where it works.
        assert_eq!(km.lookup(&key('r'), 1), Some(Command::Reject));
        assert_eq!(km.lookup(&enter, 2), Some(Command::LiquidatorDetail));
        assert_eq!(km.lookup(&enter, 3), Some(Command::AnyHedgeDetail));
        assert_eq!(km.lookup(&key('q'), 3), Some(Command::Quit));
        assert_eq!(km.lookup(&key('a'), 6), Some(Command::Approve));
        assert_eq!(km.lookup(&key('a'), 4), Some(Command::PerpAuto));
        assert_eq!(km.lookup(&key('o'), 4), Some(Command::PerpOpen));
        assert_eq!(km.lookup(&key('c'), 4), Some(Command::PerpClose));
        assert_eq!(km.lookup(&enter, 4), Some(Command::PerpDetail));
        assert_eq!(km.lookup(&key('w'), 5), Some(Command::PoolWithdraw));
        assert_eq!(km.lookup(&key('s'), 5), Some(Command::PoolSettle));
        assert_eq!(km.lookup(&key('s'), 3), Some(Command::AnyHedgeSettle));
        assert_eq!(km.lookup(&key('x'), 5), Some(Command::PoolExpire));
        assert_eq!(km.lookup(&enter, 5), Some(Command::PoolDetail));
        let (left, right) = (
            ev(KeyCode::Left, KeyModifiers::NONE),
            ev(KeyCode::Right, KeyModifiers::NONE),
        );
        assert_eq!(km.lookup(&right, 5), Some(Command::PoolFocus));
        assert!(km.is_first_of_several(Command::PoolFocus, &left));
        assert!(!km.is_first_of_several(Command::PoolFocus, &right));
        // Elsewhere `w` and `x` say they work on the Pool tab.
        assert_eq!(km.lookup(&key('w'), 1), Some(Command::PoolWithdraw));
        assert_eq!(km.lookup(&key('x'), 6), Some(Command::PoolExpire));
        // `c` alone is the Perp tab's; ctrl-c still quits everywhere.
        assert_eq!(km.lookup(&key('c'), 1), Some(Command::PerpClose));
        assert_eq!(
            km.lookup(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL), 4),
            Some(Command::Quit)
        );
        assert!(check_bindings(&BTreeMap::new()).is_empty());

        // A tab's key may not shadow a global one, nor another command of the same tab.
        let mut o = BTreeMap::new();
        o.insert("anyhedge_settle".to_string(), vec!["j".to_string()]);
        o.insert("anyhedge_fund".to_string(), vec!["enter".to_string()]);
        let problems = check_bindings(&o);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].0, "anyhedge_fund");
        assert!(problems[0].1.contains("also bound to `anyhedge_detail`"));
        assert_eq!(problems[1].0, "anyhedge_settle");
        assert!(problems[1].1.contains("also bound to `down`"));
        // Another tab's key is fine.
        let mut o = BTreeMap::new();
        o.insert("anyhedge_settle".to_string(), vec!["l".to_string()]);
        assert!(check_bindings(&o).is_empty());
    }
}
