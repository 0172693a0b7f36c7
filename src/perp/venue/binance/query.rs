//! `application/x-www-form-urlencoded` parameters, as Binance reads them from a query string
//! or a form body. The encoding is ours (not a URL library's) so the bytes we sign are
//! exactly the bytes we send.

/// `k1=v1&k2=v2` in the given order, each value percent-encoded (RFC 3986 unreserved
/// characters stay as they are).
pub fn encode(params: &[(&str, String)]) -> String {
    params
        .iter()
        .map(|(key, value)| format!("{}={}", encode_component(key), encode_component(value)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn encode_component(value: &str) -> String {
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

/// The pairs of `k1=v1&k2=v2`, decoded (`+` is a space); `None` on a malformed escape or
/// invalid UTF-8.
pub fn decode(query: &str) -> Option<Vec<(String, String)>> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode_component(key)?, decode_component(value)?))
        })
        .collect()
}

fn decode_component(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_in_order_and_escapes_reserved_characters() {
        let params = [
            ("symbol", "BTCUSDT".to_string()),
            ("newClientOrderId", "hd:open/1 a".to_string()),
            ("quantity", "0.015".to_string()),
        ];
        assert_eq!(
            encode(&params),
            "symbol=BTCUSDT&newClientOrderId=hd%3Aopen%2F1%20a&quantity=0.015"
        );
    }

    #[test]
    fn decode_inverts_encode() {
        let params = [
            ("a", "x y&z=1".to_string()),
            ("b", "é".to_string()),
            ("c", String::new()),
        ];
        let decoded = decode(&encode(&params)).unwrap();
        let expected: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn decode_refuses_malformed_escapes() {
        assert_eq!(decode("a=%2"), None);
        assert_eq!(decode("a=%zz"), None);
        assert_eq!(decode("a=%FF"), None);
    }
}
