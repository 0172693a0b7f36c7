//! The `:` command palette: every keymap command plus theme switching, filtered by
//! what the operator types.

use super::keymap::Command;
use super::state::AppState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaletteTarget {
    Command(Command),
    Theme(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaletteEntry {
    pub label: String,
    pub hint: String,
    pub target: PaletteTarget,
}

pub fn entries(state: &AppState) -> Vec<PaletteEntry> {
    let mut out: Vec<PaletteEntry> = state
        .keymap
        .rows()
        .filter(|(_, _, _, cmd)| *cmd != Command::Palette)
        .map(|(name, keys, desc, cmd)| PaletteEntry {
            label: name.replace('_', " "),
            hint: format!("{desc}  [{keys}]"),
            target: PaletteTarget::Command(cmd),
        })
        .collect();
    for name in &state.theme_names {
        out.push(PaletteEntry {
            label: format!("theme {name}"),
            hint: "switch colours for this session".into(),
            target: PaletteTarget::Theme(name.clone()),
        });
    }
    out
}

/// Entries whose label contains every word of the query, in order of appearance.
pub fn filtered(state: &AppState, query: &str) -> Vec<PaletteEntry> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    entries(state)
        .into_iter()
        .filter(|e| {
            let label = e.label.to_lowercase();
            words.iter().all(|w| label.contains(w.as_str()))
        })
        .collect()
}
