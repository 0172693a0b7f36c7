//! `application/x-www-form-urlencoded` parameters, as Binance reads them from a query string
//! or a form body. The encoding is ours (not a URL library's) so the bytes we sign are
//! exactly the bytes we send.

use crate::net::percent_encode_component;

/// `k1=v1&k2=v2` in the given order, each key and value percent-encoded (RFC 3986
/// unreserved characters stay as they are).
pub fn encode(params: &[(&str, String)]) -> String {
    params
        .iter()
        .map(|(key, value)| {
            format!(
                "{}={}",
                percent_encode_component(key),
                percent_encode_component(value)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
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
}
