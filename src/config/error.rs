//! Config problems: one line each, naming the key path and where the value came from.

use std::fmt;
use std::path::PathBuf;

/// Where a bad value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The config file, at this 1-based line.
    File { path: PathBuf, line: usize },
    /// A `HEDGEDESK_*` environment variable.
    Env(String),
    /// A command-line flag (or the environment variable clap reads for it).
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::Env(var) => write!(f, "from {var}"),
            Origin::Flag(flag) => write!(f, "from {flag}"),
        }
    }
}

/// One problem: `<key.path>: <what is expected>, got <what was found> (<origin>)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path (`ui.tick_ms`, `actions.liquidate.mode`), or the file or variable name
    /// when the problem is not about one key (a TOML syntax error, a malformed variable name).
    pub key: String,
    pub message: String,
    pub origin: Option<Origin>,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            key: key.into(),
            message: message.into(),
            origin: None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One problem, one line, whatever a message or value contained.
        let message = self.message.replace(['\n', '\r'], " ");
        write!(f, "{}: {message}", self.key)?;
        if let Some(origin) = &self.origin {
            write!(f, " ({origin})")?;
        }
        Ok(())
    }
}

/// Every problem found in one load, in key order. Displays one problem per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The config file that was read (or would have been).
    pub path: PathBuf,
    pub problems: Vec<Problem>,
}

impl ConfigErrors {
    /// `config: N problem(s) in <path>`.
    pub fn summary(&self) -> String {
        format!(
            "config: {} problem(s) in {}",
            self.problems.len(),
            self.path.display()
        )
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_problem_with_origin() {
        let errors = ConfigErrors {
            path: "/etc/hd.toml".into(),
            problems: vec![
                Problem {
                    origin: Some(Origin::Env("HEDGEDESK_UI__TICK_MS".into())),
                    ..Problem::new("ui.tick_ms", "expected 50..=60000, got 1")
                },
                Problem {
                    origin: Some(Origin::File {
                        path: "/etc/hd.toml".into(),
                        line: 3,
                    }),
                    ..Problem::new("ui.theme", "bad\nname")
                },
            ],
        };
        assert_eq!(
            errors.to_string(),
            "ui.tick_ms: expected 50..=60000, got 1 (from HEDGEDESK_UI__TICK_MS)\n\
             ui.theme: bad name (/etc/hd.toml:3)"
        );
        assert_eq!(errors.summary(), "config: 2 problem(s) in /etc/hd.toml");
    }
}
