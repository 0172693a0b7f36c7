//! Django REST framework's limit-offset pagination: `?limit=&offset=` (limit 10 unless
//! given) and pages of `{count, next, previous, results}`, where `next` and `previous` are
//! the same URL with the offset moved.

use axum::http::{HeaderMap, Uri, header};
use serde::Serialize;

use super::error::ApiError;
use super::extract::QueryParams;

pub const DEFAULT_LIMIT: u64 = 10;
/// A larger `limit` is refused rather than served.
pub const MAX_LIMIT: u64 = 1000;

/// Which slice of a list is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u64,
    pub offset: u64,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

impl PageRequest {
    pub fn from_query(q: &QueryParams) -> Result<PageRequest, ApiError> {
        let limit = q.number::<u64>("limit")?.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError::field(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}, got {limit}"),
            ));
        }
        let offset = q.number::<u64>("offset")?.unwrap_or(0);
        if offset > i64::MAX as u64 {
            return Err(ApiError::field("offset", format!("{offset} is too large")));
        }
        Ok(PageRequest { limit, offset })
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

/// The page of `results` (already limited and offset) out of `count`, with links built from
/// the request's URI and `Host`.
pub fn page<T>(
    request: PageRequest,
    count: u64,
    results: Vec<T>,
    uri: &Uri,
    headers: &HeaderMap,
) -> Page<T> {
    let base = base_url(uri, headers);
    let PageRequest { limit, offset } = request;
    let next =
        (offset.saturating_add(limit) < count).then(|| link(&base, limit, Some(offset + limit)));
    let previous = (offset > 0).then(|| {
        if offset <= limit {
            link(&base, limit, None)
        } else {
            link(&base, limit, Some(offset - limit))
        }
    });
    Page {
        count,
        next,
        previous,
        results,
    }
}

fn base_url(uri: &Uri, headers: &HeaderMap) -> Option<reqwest::Url> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    reqwest::Url::parse(&format!("http://{host}{path_and_query}")).ok()
}

/// The request's URL with `limit` set and `offset` set or removed, other parameters kept.
fn link(base: &Option<reqwest::Url>, limit: u64, offset: Option<u64>) -> String {
    let Some(base) = base else {
        return match offset {
            Some(o) => format!("?limit={limit}&offset={o}"),
            None => format!("?limit={limit}"),
        };
    };
    let kept: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(k, _)| k != "limit" && k != "offset")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut url = base.clone();
    {
        let mut q = url.query_pairs_mut();
        q.clear();
        for (k, v) in &kept {
            q.append_pair(k, v);
        }
        q.append_pair("limit", &limit.to_string());
        if let Some(o) = offset {
            q.append_pair("offset", &o.to_string());
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:9000".parse().unwrap());
        h
    }

    fn req(q: &str) -> Result<PageRequest, ApiError> {
        PageRequest::from_query(&QueryParams::parse(Some(q)))
    }

    #[test]
    fn defaults_and_bad_values() {
        assert_eq!(req("").unwrap(), PageRequest::default());
        assert_eq!(
            req("limit=3&offset=6").unwrap(),
            PageRequest {
                limit: 3,
                offset: 6
            }
        );
        assert_eq!(req("limit=0").unwrap_err().field.as_deref(), Some("limit"));
        assert_eq!(
            req("limit=1001").unwrap_err().field.as_deref(),
            Some("limit")
        );
        assert_eq!(
            req("offset=-1").unwrap_err().field.as_deref(),
            Some("offset")
        );
    }

    #[test]
    fn links_move_the_offset_and_keep_the_filters() {
        let uri: Uri = "/anyhedge/hedge-position-offers/?wallet_hash=w%201&limit=2&offset=2"
            .parse()
            .unwrap();
        let p = page(
            PageRequest {
                limit: 2,
                offset: 2,
            },
            5,
            vec![3, 4],
            &uri,
            &headers(),
        );
        assert_eq!(p.count, 5);
        assert_eq!(
            p.next.as_deref(),
            Some(
                "http://127.0.0.1:9000/anyhedge/hedge-position-offers/?wallet_hash=w+1&limit=2&offset=4"
            )
        );
        assert_eq!(
            p.previous.as_deref(),
            Some("http://127.0.0.1:9000/anyhedge/hedge-position-offers/?wallet_hash=w+1&limit=2")
        );
        let last = page(
            PageRequest {
                limit: 2,
                offset: 4,
            },
            5,
            vec![5],
            &uri,
            &headers(),
        );
        assert_eq!(last.next, None);
        assert!(last.previous.unwrap().ends_with("limit=2&offset=2"));
        let first = page(PageRequest::default(), 5, vec![1], &uri, &headers());
        assert_eq!((first.next, first.previous), (None, None));
    }
}
