//! A bounds-checked big-endian reader over untrusted bytes: every read names the field it
//! reads, so a truncated payload says exactly what was missing and where.

use alloy::primitives::{Address, B256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("{what}: truncated at byte {offset} (needs {needed} more byte(s), {available} left)")]
    Truncated {
        what: String,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("{what}: {message} (at byte {offset})")]
    Invalid {
        what: String,
        offset: usize,
        message: String,
    },
    #[error("{what}: {extra} unexpected trailing byte(s) after byte {offset}")]
    Trailing {
        what: String,
        offset: usize,
        extra: usize,
    },
}

/// Reads fields off the front of a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset: 0 }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Everything read so far (for digests over a prefix).
    pub fn consumed(&self) -> &'a [u8] {
        &self.bytes[..self.offset]
    }

    /// The unread rest, without consuming it.
    pub fn rest(&self) -> &'a [u8] {
        &self.bytes[self.offset..]
    }

    pub fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8], WireError> {
        if self.remaining() < n {
            return Err(WireError::Truncated {
                what: what.into(),
                offset: self.offset,
                needed: n,
                available: self.remaining(),
            });
        }
        let out = &self.bytes[self.offset..self.offset + n];
        self.offset += n;
        Ok(out)
    }

    pub fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N, what)?);
        Ok(out)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, WireError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u16(&mut self, what: &str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    pub fn i32(&mut self, what: &str) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    pub fn i64(&mut self, what: &str) -> Result<i64, WireError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    pub fn b256(&mut self, what: &str) -> Result<B256, WireError> {
        Ok(B256::from(self.array::<32>(what)?))
    }

    pub fn address(&mut self, what: &str) -> Result<Address, WireError> {
        Ok(Address::from(self.array::<20>(what)?))
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize, what: &str) -> Result<(), WireError> {
        self.bytes(n, what).map(|_| ())
    }

    /// Fails unless `expected` comes next (a magic number or a version).
    pub fn expect(&mut self, expected: &[u8], what: &str) -> Result<(), WireError> {
        let at = self.offset;
        let got = self.bytes(expected.len(), what)?;
        if got != expected {
            return Err(WireError::Invalid {
                what: what.into(),
                offset: at,
                message: format!(
                    "expected 0x{}, got 0x{}",
                    hex::encode(expected),
                    hex::encode(got)
                ),
            });
        }
        Ok(())
    }

    /// Fails if anything is left.
    pub fn finish(&self, what: &str) -> Result<(), WireError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(WireError::Trailing {
                what: what.into(),
                offset: self.offset,
                extra: self.remaining(),
            })
        }
    }

    /// An error about the field just read (at `offset`).
    pub fn invalid(&self, what: &str, offset: usize, message: impl Into<String>) -> WireError {
        WireError::Invalid {
            what: what.into(),
            offset,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_names_a_truncation() {
        let data = [0x50, 0x4e, 0x41, 0x55, 0x01, 0x00, 0xff, 0xff, 0xff, 0xf8];
        let mut r = Reader::new(&data);
        r.expect(b"PNAU", "accumulator.magic").unwrap();
        assert_eq!(r.u16("version").unwrap(), 0x0100);
        assert_eq!(r.i32("exponent").unwrap(), -8);
        let err = r.u8("trailing").unwrap_err();
        assert_eq!(
            err.to_string(),
            "trailing: truncated at byte 10 (needs 1 more byte(s), 0 left)"
        );
        r.finish("update").unwrap();
    }

    #[test]
    fn a_wrong_magic_and_trailing_bytes_are_named() {
        let mut r = Reader::new(b"P2WHx");
        let err = r.expect(b"PNAU", "accumulator.magic").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected 0x504e4155, got 0x50325748"),
            "{err}"
        );
        assert!(
            r.finish("update")
                .unwrap_err()
                .to_string()
                .contains("1 unexpected trailing")
        );
    }
}
