//! Oracle price messages: the 16-byte format and its signatures.
