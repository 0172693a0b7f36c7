//! A text field for passphrases: zeroized when dropped or cleared, drawn as dots,
//! and redacted in `Debug`.

use zeroize::Zeroizing;

use crate::keys::Passphrase;

#[derive(Default)]
pub struct SecretInput {
    text: Zeroizing<String>,
}

impl std::fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecretInput(<{} chars redacted>)",
            self.text.chars().count()
        )
    }
}

impl SecretInput {
    pub fn push(&mut self, c: char) {
        self.text.push(c);
    }

    pub fn pop(&mut self) {
        self.text.pop();
    }

    pub fn len(&self) -> usize {
        self.text.chars().count()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn matches(&self, other: &SecretInput) -> bool {
        *self.text == *other.text
    }

    /// Moves the text into a passphrase, leaving the field empty.
    pub fn take(&mut self) -> Passphrase {
        let text = std::mem::take(&mut *self.text);
        Passphrase::new(text)
    }

    pub fn clear(&mut self) {
        // Zeroizing wipes the old buffer when it is replaced.
        self.text = Zeroizing::new(String::new());
    }

    pub fn masked(&self) -> String {
        "•".repeat(self.len())
    }
}
