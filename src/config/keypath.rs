//! Key paths (`ui.keys.quit[0]`) and the table edits the loader makes along them.

use std::fmt;

use toml::{Table, Value};

/// One step into a TOML value: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A path from the document root, displayed as `section.key[index]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    pub fn keys<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        KeyPath(keys.into_iter().map(|k| Seg::Key(k.into())).collect())
    }

    pub fn child(&self, key: impl Into<String>) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.into()));
        KeyPath(segs)
    }

    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        KeyPath(segs)
    }

    pub fn parent(&self) -> KeyPath {
        KeyPath(self.0[..self.0.len().saturating_sub(1)].to_vec())
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The same path with any trailing array indices dropped: the key that holds the list.
    pub fn owning_key(&self) -> KeyPath {
        let mut segs = self.0.clone();
        while matches!(segs.last(), Some(Seg::Index(_))) {
            segs.pop();
        }
        KeyPath(segs)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The value at `path`, if every step exists.
pub(crate) fn get<'a>(table: &'a Table, path: &KeyPath) -> Option<&'a Value> {
    let (first, rest) = path.0.split_first()?;
    let Seg::Key(first) = first else { return None };
    let mut value = table.get(first)?;
    for seg in rest {
        value = match (seg, value) {
            (Seg::Key(k), Value::Table(t)) => t.get(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

fn get_mut<'a>(table: &'a mut Table, path: &[Seg]) -> Option<&'a mut Value> {
    let (first, rest) = path.split_first()?;
    let Seg::Key(first) = first else { return None };
    let mut value = table.get_mut(first)?;
    for seg in rest {
        value = match (seg, value) {
            (Seg::Key(k), Value::Table(t)) => t.get_mut(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Replace the value at `path` (which must exist). Returns whether it did.
pub(crate) fn replace(table: &mut Table, path: &KeyPath, new: Value) -> bool {
    match get_mut(table, &path.0) {
        Some(slot) => {
            *slot = new;
            true
        }
        None => false,
    }
}

/// Remove the value at `path`: a table entry or an array element. Returns whether it did.
pub(crate) fn remove(table: &mut Table, path: &KeyPath) -> bool {
    let Some((last, parent)) = path.0.split_last() else {
        return false;
    };
    if parent.is_empty() {
        return match last {
            Seg::Key(k) => table.remove(k).is_some(),
            Seg::Index(_) => false,
        };
    }
    match (last, get_mut(table, parent)) {
        (Seg::Key(k), Some(Value::Table(t))) => t.remove(k).is_some(),
        (Seg::Index(i), Some(Value::Array(a))) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    }
}

/// `overlay` merged into `base`: tables merge key by key, anything else replaces.
pub(crate) fn deep_merge(base: &mut Table, overlay: Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => deep_merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// A short rendering of a value for an error line: TOML syntax for scalars and short
/// lists, a description for tables and long lists.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Table(t) if t.is_empty() => "an empty table".into(),
        Value::Table(_) => "a table".into(),
        Value::Array(a) => {
            let shown = value.to_string();
            if shown.len() <= 60 && !shown.contains('\n') {
                shown
            } else {
                format!("a list of {} items", a.len())
            }
        }
        other => {
            let shown = other.to_string();
            if shown.chars().count() <= 80 {
                shown
            } else {
                let cut: String = shown.chars().take(77).collect();
                format!("{cut}...")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(s: &str) -> Table {
        toml::from_str(s).unwrap()
    }

    #[test]
    fn displays_keys_and_indices() {
        let p = KeyPath(vec![
            Seg::Key("ui".into()),
            Seg::Key("keys".into()),
            Seg::Key("quit".into()),
            Seg::Index(1),
        ]);
        assert_eq!(p.to_string(), "ui.keys.quit[1]");
        assert_eq!(p.owning_key().to_string(), "ui.keys.quit");
        assert_eq!(p.parent().to_string(), "ui.keys.quit");
    }

    #[test]
    fn gets_replaces_and_removes_along_a_path() {
        let mut t = table("[ui.keys]\nquit = [\"q\", 5]\n[general]\nlog_level = 'x'\n");
        let elem = KeyPath(vec![
            Seg::Key("ui".into()),
            Seg::Key("keys".into()),
            Seg::Key("quit".into()),
            Seg::Index(1),
        ]);
        assert_eq!(get(&t, &elem), Some(&Value::Integer(5)));
        assert!(remove(&mut t, &elem));
        assert_eq!(get(&t, &elem), None);
        let lvl = KeyPath::keys(["general", "log_level"]);
        assert!(replace(&mut t, &lvl, Value::String("info".into())));
        assert_eq!(get(&t, &lvl).unwrap().as_str(), Some("info"));
        assert!(remove(&mut t, &KeyPath::keys(["general"])));
        assert!(!remove(&mut t, &lvl));
        assert!(!replace(&mut t, &lvl, Value::Boolean(true)));
    }

    #[test]
    fn merges_tables_deeply() {
        let mut base = table("[a]\nx = 1\ny = 2\n[b]\nz = 3\n");
        deep_merge(&mut base, table("[a]\ny = 5\n[c]\nw = 1\n"));
        assert_eq!(base, table("[a]\nx = 1\ny = 5\n[b]\nz = 3\n[c]\nw = 1\n"));
    }

    #[test]
    fn describes_values_briefly() {
        assert_eq!(describe(&Value::String("fast".into())), "\"fast\"");
        assert_eq!(describe(&Value::Integer(-5)), "-5");
        assert_eq!(describe(&Value::Table(Table::new())), "an empty table");
        let long = Value::Array((0..40).map(Value::Integer).collect());
        assert_eq!(describe(&long), "a list of 40 items");
    }
}
