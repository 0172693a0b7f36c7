//! Small pieces of HTTP plumbing shared by the clients (Binance, Hermes) and the devnet
//! servers.

/// `value` percent-encoded for a URL query or an `application/x-www-form-urlencoded` body:
/// RFC 3986 unreserved characters (`A-Z a-z 0-9 - _ . ~`) stay as they are, every other
/// byte becomes `%XX` (upper-case hex; a space is `%20`, never `+`).
pub fn percent_encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unreserved_characters_and_escapes_the_rest() {
        assert_eq!(percent_encode_component("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(percent_encode_component("BTC/USD x"), "BTC%2FUSD%20x");
        assert_eq!(percent_encode_component("a+b=c&d"), "a%2Bb%3Dc%26d");
        assert_eq!(percent_encode_component("é"), "%C3%A9");
        assert_eq!(percent_encode_component(""), "");
    }
}
