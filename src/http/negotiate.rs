//! Content negotiation for GraphQL over HTTP: which media type to answer with, and whether a
//! POST body's media type is one we read.

use axum::http::{HeaderMap, HeaderValue, header};

/// Media types the facade can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaType {
    /// `application/graphql-response+json`: the GraphQL-over-HTTP type, with 4xx statuses
    /// for requests that could not run.
    GraphqlResponse,
    /// `application/json`: the legacy type; GraphQL errors come with 200.
    Json,
    /// `text/html`: GraphiQL.
    Html,
}

impl MediaType {
    fn essence(self) -> (&'static str, &'static str) {
        match self {
            Self::GraphqlResponse => ("application", "graphql-response+json"),
            Self::Json => ("application", "json"),
            Self::Html => ("text", "html"),
        }
    }

    /// The `Content-Type` header value for this media type.
    pub(crate) fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
        })
    }
}

/// One parsed media range: type, subtype and its parameters (lower-cased names).
struct MediaRange<'a> {
    kind: &'a str,
    subtype: &'a str,
    params: Vec<(String, &'a str)>,
}

fn parse_range(text: &str) -> Option<MediaRange<'_>> {
    let mut parts = text.split(';');
    let (kind, subtype) = parts.next()?.trim().split_once('/')?;
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"')))
        .collect();
    Some(MediaRange {
        kind: kind.trim(),
        subtype: subtype.trim(),
        params,
    })
}

fn utf8_or_unset(range: &MediaRange<'_>) -> bool {
    range
        .params
        .iter()
        .all(|(k, v)| k != "charset" || v.eq_ignore_ascii_case("utf-8"))
}

/// Picks the offer the client's `Accept` header prefers (RFC 9110 q-values; the most specific
/// matching range decides an offer's q). Ties go to the more specific match, then to the
/// earlier offer, except that a bare wildcard (`*/*`, what `fetch` and curl send) means
/// `application/json`, and so does no `Accept` header, as the GraphQL-over-HTTP spec says.
/// `None` means 406.
pub(crate) fn negotiate(headers: &HeaderMap, offers: &[MediaType]) -> Option<MediaType> {
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter(|v| !v.trim().is_empty())
        .collect();
    if accept.is_empty() {
        return offers.iter().copied().find(|o| *o == MediaType::Json);
    }
    let ranges: Vec<MediaRange<'_>> = accept.into_iter().filter_map(parse_range).collect();
    let mut best: Option<(MediaType, f32, u8)> = None;
    for &offer in offers {
        let (kind, subtype) = offer.essence();
        let q = ranges
            .iter()
            .filter_map(|r| {
                let specificity = match (r.kind, r.subtype) {
                    (k, s) if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(subtype) => 2,
                    (k, "*") if k.eq_ignore_ascii_case(kind) => 1,
                    ("*", "*") => 0,
                    _ => return None,
                };
                let q = r
                    .params
                    .iter()
                    .find(|(k, _)| k == "q")
                    .and_then(|(_, v)| v.parse::<f32>().ok())
                    .unwrap_or(1.0);
                let q = if utf8_or_unset(r) { q } else { 0.0 };
                Some((specificity, q))
            })
            .max_by_key(|(specificity, _)| *specificity);
        let Some((specificity, q)) = q.filter(|(_, q)| *q > 0.0) else {
            continue;
        };
        let wildcard_json = specificity == 0 && offer == MediaType::Json;
        let better = match best {
            None => true,
            Some((_, best_q, best_specificity)) => {
                q > best_q
                    || (q == best_q && specificity > best_specificity)
                    || (q == best_q && specificity == best_specificity && wildcard_json)
            }
        };
        if better {
            best = Some((offer, q, specificity));
        }
    }
    best.map(|(offer, _, _)| offer)
}

/// Whether a POST body's `Content-Type` is JSON we can read: `application/json` (or
/// `application/graphql+json`, the spec's earlier name), with no charset but UTF-8.
pub(crate) fn is_json_body(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(range) = parse_range(value) else {
        return false;
    };
    range.kind.eq_ignore_ascii_case("application")
        && (range.subtype.eq_ignore_ascii_case("json")
            || range.subtype.eq_ignore_ascii_case("graphql+json"))
        && utf8_or_unset(&range)
}
