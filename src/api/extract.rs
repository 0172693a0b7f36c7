//! Request inputs that fail as [`ApiError`]s naming the field: a JSON body ([`Payload`])
//! and query parameters ([`QueryParams`]).

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body deserialized with the path of any error: an unknown, missing or mistyped
/// field comes back as a 400 naming it (`a.b` inside nested objects). An empty body reads
/// as `{}`.
#[derive(Debug, Clone)]
pub struct Payload<T>(pub T);

impl<S, T> FromRequest<S> for Payload<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text(), None))?;
        parse_json(&bytes).map(Payload)
    }
}

/// Parses `body` as `T`, naming the field at fault on error.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    // serde would also read a struct from an array of its fields; a payload is an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        json_error(&path, &inner)
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(format!("invalid JSON: {}", without_position(&e))))?;
    Ok(value)
}

/// serde_json's message without its " at line L column C".
fn without_position(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(at) => msg[..at].to_string(),
        None => msg,
    }
}

fn json_error(path: &str, e: &serde_json::Error) -> ApiError {
    let msg = without_position(e);
    if e.is_syntax() || e.is_eof() || e.is_io() {
        return ApiError::bad_request(format!("invalid JSON: {msg}"));
    }
    let base = if path == "." { "" } else { path };
    // A missing field is reported at its container (an unknown one at itself); name the
    // field either way.
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| msg.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    let field = match (base, named) {
        ("", Some(name)) => name.to_string(),
        (base, Some(name)) if base == name || base.ends_with(&format!(".{name}")) => {
            base.to_string()
        }
        (base, Some(name)) => format!("{base}.{name}"),
        ("", None) => return ApiError::bad_request(msg),
        (base, None) => base.to_string(),
    };
    ApiError::field(field, msg)
}

/// Query parameters, decoded; a parameter given twice counts as its last value and an
/// empty value as absent (as Django filters treat them). Parameters nobody asks for are
/// ignored, as in the watchtower.
#[derive(Debug, Clone, Default)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(QueryParams::parse(parts.uri.query()))
    }
}

impl QueryParams {
    pub fn parse(query: Option<&str>) -> QueryParams {
        let pairs = match query {
            Some(q) if !q.is_empty() => reqwest::Url::parse(&format!("http://query/?{q}"))
                .map(|u| u.query_pairs().into_owned().collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        QueryParams { pairs }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The value of `name`, trimmed; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }

    /// `name` parsed as a number.
    pub fn number<T: FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| ApiError::field(name, format!("expected an integer, got {v:?}")))
            })
            .transpose()
    }

    /// `name` as a boolean: `true`/`false`, `True`/`False` or `1`/`0`.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.get(name)
            .map(|v| match v {
                "true" | "True" | "1" => Ok(true),
                "false" | "False" | "0" => Ok(false),
                other => Err(ApiError::field(
                    name,
                    format!("expected true or false, got {other:?}"),
                )),
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        signature: String,
        deadline: u64,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        satoshis: u64,
        #[serde(default)]
        inner: Option<Inner>,
    }

    fn field_of(body: &str) -> (Option<String>, String) {
        let e = parse_json::<Body>(body.as_bytes()).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        (e.field, e.error)
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of("{}").0.as_deref(), Some("satoshis"));
        assert_eq!(field_of("").0.as_deref(), Some("satoshis"));
        let (field, error) = field_of(r#"{"satoshis": "many"}"#);
        assert_eq!(field.as_deref(), Some("satoshis"));
        assert!(error.starts_with("invalid type"), "{error}");
        assert!(!error.contains("line"), "{error}");
        assert_eq!(
            field_of(r#"{"satoshis": -1}"#).0.as_deref(),
            Some("satoshis")
        );
        assert_eq!(
            field_of(r#"{"satoshis": 1, "extra": 2}"#).0.as_deref(),
            Some("extra")
        );
        assert_eq!(
            field_of(r#"{"satoshis": 1, "inner": {"signature": "0x"}}"#)
                .0
                .as_deref(),
            Some("inner.deadline")
        );
        assert_eq!(
            field_of(r#"{"satoshis": 1, "inner": {"signature": 5, "deadline": 1}}"#)
                .0
                .as_deref(),
            Some("inner.signature")
        );
        let (field, error) = field_of(r#"{"satoshis": 1"#);
        assert_eq!(field, None);
        assert!(error.starts_with("invalid JSON"), "{error}");
        assert_eq!(field_of(r#"{"satoshis": 1} x"#).0, None);
        assert_eq!(field_of("[1]").0, None);
        assert_eq!(
            parse_json::<Body>(b"{\"satoshis\": 7}").unwrap().satoshis,
            7
        );
    }

    #[test]
    fn query_values_decode_and_name_their_field() {
        let q = QueryParams::parse(Some(
            "limit=5&limit=7&wallet_hash=a%20b&empty=&settled=True",
        ));
        assert_eq!(q.number::<u64>("limit").unwrap(), Some(7));
        assert_eq!(q.get("wallet_hash"), Some("a b"));
        assert_eq!(q.get("empty"), None);
        assert_eq!(q.boolean("settled").unwrap(), Some(true));
        let bad = QueryParams::parse(Some("offset=x&settled=maybe"));
        assert_eq!(
            bad.number::<u64>("offset").unwrap_err().field.as_deref(),
            Some("offset")
        );
        assert_eq!(
            bad.boolean("settled").unwrap_err().field.as_deref(),
            Some("settled")
        );
        assert!(QueryParams::parse(None).pairs().is_empty());
    }
}
