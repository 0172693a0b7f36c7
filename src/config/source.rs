//! The config file's text: parsed into a table, and asked which line a key is on.

use std::path::{Path, PathBuf};

use toml::Table;
use toml::de::{DeTable, DeValue};

use super::error::{Origin, Problem};
use super::keypath::{KeyPath, Seg};

/// A config file that parsed as TOML.
pub(crate) struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    /// Parse `text` as a TOML document. A syntax error is one problem naming `path:line:col`.
    pub fn parse(path: &Path, text: String) -> Result<(SourceFile, Table), Problem> {
        match toml::from_str::<Table>(&text) {
            Ok(table) => Ok((
                SourceFile {
                    path: path.to_path_buf(),
                    text,
                },
                table,
            )),
            Err(err) => {
                let at = match err.span() {
                    Some(span) => {
                        let (line, col) = line_col(&text, span.start);
                        format!("{}:{line}:{col}", path.display())
                    }
                    None => path.display().to_string(),
                };
                let message = err.message().trim().replace('\n', " ");
                Err(Problem::new(at, format!("not valid TOML: {message}")))
            }
        }
    }

    /// Where in this file the value at `path` is written, if it is.
    pub fn origin(&self, path: &KeyPath) -> Option<Origin> {
        let line = self.line_of(path)?;
        Some(Origin::File {
            path: self.path.clone(),
            line,
        })
    }

    /// The 1-based line of the key at `path` (for an array element, of the element).
    fn line_of(&self, path: &KeyPath) -> Option<usize> {
        let doc = DeTable::parse(&self.text).ok()?;
        let mut table: &DeTable<'_> = doc.get_ref();
        let mut value: Option<&DeValue<'_>> = None;
        let mut offset = None;
        for seg in &path.0 {
            match seg {
                Seg::Key(key) => {
                    if let Some(v) = value {
                        table = v.as_table()?;
                    }
                    let (k, v) = table.get_key_value(key.as_str())?;
                    offset = Some(k.span().start);
                    value = Some(v.get_ref());
                }
                Seg::Index(i) => {
                    let element = value?.as_array()?.get(*i)?;
                    offset = Some(element.span().start);
                    value = Some(element.get_ref());
                }
            }
        }
        offset.map(|at| line_col(&self.text, at).0)
    }
}

/// 1-based line and column of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_line_of_keys_and_elements() {
        let text = "# c\n[ui]\ntheme = 'x'\n\n[ui.keys]\nquit = [\n  'q',\n  5,\n]\n\
                    [actions.liquidate]\nmode = 'auto'\n"
            .to_string();
        let (src, _) = SourceFile::parse(Path::new("c.toml"), text).unwrap();
        let line = |p: KeyPath| src.line_of(&p);
        assert_eq!(line(KeyPath::keys(["ui", "theme"])), Some(3));
        assert_eq!(line(KeyPath::keys(["ui", "keys", "quit"])), Some(6));
        let mut elem = KeyPath::keys(["ui", "keys", "quit"]);
        elem.0.push(Seg::Index(1));
        assert_eq!(line(elem), Some(8));
        assert_eq!(
            line(KeyPath::keys(["actions", "liquidate", "mode"])),
            Some(11)
        );
        assert_eq!(line(KeyPath::keys(["ui", "tick_ms"])), None);
        assert_eq!(
            src.origin(&KeyPath::keys(["ui", "theme"])),
            Some(Origin::File {
                path: "c.toml".into(),
                line: 3
            })
        );
    }

    #[test]
    fn a_syntax_error_names_file_line_and_column() {
        let err = SourceFile::parse(Path::new("c.toml"), "[ui]\ntheme = \n".into())
            .err()
            .unwrap();
        assert!(err.key.starts_with("c.toml:2:"), "{err}");
        assert!(err.message.starts_with("not valid TOML: "), "{err}");
        assert!(!err.to_string().contains('\n'));
    }
}
