//! Themes: colours by role, loaded from `themes/*.toml`. The shipped themes are built
//! into the binary; more can be dropped into `ui.themes_dir`.

use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Style};

use crate::actions::ActionState;
use serde::Deserialize;

const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub background: Color,
    pub foreground: Color,
    pub muted: Color,
    pub accent: Color,
    pub border: Color,
    pub title: Color,
    pub tab_active: Color,
    pub tab_active_bg: Color,
    pub selection_fg: Color,
    pub selection_bg: Color,
    pub ok: Color,
    pub warn: Color,
    pub error: Color,
    pub status_fg: Color,
    pub status_bg: Color,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    background: String,
    foreground: String,
    muted: String,
    accent: String,
    border: String,
    title: String,
    tab_active: String,
    tab_active_bg: String,
    selection_fg: String,
    selection_bg: String,
    ok: String,
    warn: String,
    error: String,
    status_fg: String,
    status_bg: String,
}

impl Theme {
    /// Parses a theme file; errors name the field.
    pub fn parse(text: &str) -> Result<Theme, String> {
        let f: ThemeFile = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let c = |field: &str, v: &str| {
            Color::from_str(v)
                .map_err(|_| format!("{field}: `{v}` is not a colour name or #rrggbb"))
        };
        Ok(Theme {
            background: c("background", &f.background)?,
            foreground: c("foreground", &f.foreground)?,
            muted: c("muted", &f.muted)?,
            accent: c("accent", &f.accent)?,
            border: c("border", &f.border)?,
            title: c("title", &f.title)?,
            tab_active: c("tab_active", &f.tab_active)?,
            tab_active_bg: c("tab_active_bg", &f.tab_active_bg)?,
            selection_fg: c("selection_fg", &f.selection_fg)?,
            selection_bg: c("selection_bg", &f.selection_bg)?,
            ok: c("ok", &f.ok)?,
            warn: c("warn", &f.warn)?,
            error: c("error", &f.error)?,
            status_fg: c("status_fg", &f.status_fg)?,
            status_bg: c("status_bg", &f.status_bg)?,
            name: f.name,
        })
    }

    /// A theme by name: `<themes_dir>/<name>.toml` first, so a user can override a
    /// shipped theme, then the built-in ones.
    pub fn load(name: &str, themes_dir: &Path) -> Result<Theme, String> {
        let file = themes_dir.join(format!("{name}.toml"));
        if file.is_file() {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            return Theme::parse(&text).map_err(|e| format!("{}: {e}", file.display()));
        }
        match BUILT_IN.iter().find(|(n, _)| *n == name) {
            Some((_, text)) => Theme::parse(text),
            None => Err(format!(
                "no theme `{name}`: expected one of {} or a {name}.toml in {}",
                names(themes_dir).join(", "),
                themes_dir.display()
            )),
        }
    }

    /// An action's state as every tab colours it: waiting for you in the warn colour,
    /// on its way in the accent, done in ok, failed in error, rejected muted.
    pub fn action_state(&self, s: ActionState) -> Style {
        Style::new().fg(match s {
            ActionState::Proposed => self.warn,
            ActionState::Approved | ActionState::Sent => self.accent,
            ActionState::Confirmed => self.ok,
            ActionState::Failed => self.error,
            ActionState::Rejected => self.muted,
        })
    }

    pub fn built_in_default() -> Theme {
        Theme::parse(BUILT_IN[0].1).expect("the shipped default theme parses")
    }
}

/// Every theme name available: built in plus `*.toml` files in `themes_dir`.
pub fn names(themes_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = BUILT_IN.iter().map(|(n, _)| n.to_string()).collect();
    if let Ok(entries) = std::fs::read_dir(themes_dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml")
                && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
                && !names.iter().any(|n| n == stem)
            {
                names.push(stem.to_string());
            }
        }
    }
    names
}

/// A problem with the configured theme name, if any (for config validation).
pub fn check_theme(name: &str, themes_dir: &Path) -> Option<String> {
    Theme::load(name, themes_dir).err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_theme_parses_and_names_itself() {
        for (name, text) in BUILT_IN {
            let t = Theme::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&t.name, name);
        }
        let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/themes"))
            .unwrap()
            .count();
        assert_eq!(on_disk, BUILT_IN.len(), "every file in themes/ is built in");
    }

    #[test]
    fn a_user_theme_dir_adds_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = BUILT_IN[0]
            .1
            .replace("name = \"default\"", "name = \"mine\"");
        std::fs::write(dir.path().join("mine.toml"), &text).unwrap();
        assert_eq!(Theme::load("mine", dir.path()).unwrap().name, "mine");
        assert!(names(dir.path()).contains(&"mine".to_string()));
        text = text.replace("accent = \"cyan\"", "accent = \"not-a-colour\"");
        std::fs::write(dir.path().join("bad.toml"), &text).unwrap();
        let err = Theme::load("bad", dir.path()).unwrap_err();
        assert!(err.contains("accent: `not-a-colour`"), "{err}");
        assert!(
            check_theme("nope", dir.path())
                .unwrap()
                .contains("no theme `nope`")
        );
    }
}
