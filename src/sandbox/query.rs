//! `GET /v1/transactions`'s query string: its filters and its page.

use super::{ids, relations::Transaction, view};

/// `per_page` when none is given, and the most one page holds.
const PER_PAGE: i64 = 20;
const MOST_PER_PAGE: i64 = 100;

/// `GET /v1/transactions`'s query: the filters given (an empty value is none, as Go's
/// `Query().Get` reads it; the first of repeated ones counts), and the page.
pub(super) struct Query {
    pub(super) customer_id: Option<String>,
    pub(super) account_id: Option<String>,
    pub(super) drcr: Option<String>,
    pub(super) status: Option<String>,
    pub(super) per_page: usize,
    pub(super) page: usize,
}

impl Query {
    /// Reads `query` (without its `?`); `Err` is the message of Bloc's 400.
    pub(super) fn parse(query: &str) -> Result<Self, &'static str> {
        let mut found: [Option<String>; 6] = Default::default();
        const NAMES: [&str; 6] = [
            "customer_id",
            "account_id",
            "drcr",
            "status",
            "per_page",
            "page",
        ];
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = NAMES
                .iter()
                .position(|known| *known == name)
                .and_then(|at| found.get_mut(at));
            if let Some(slot @ None) = slot
                && !value.is_empty()
            {
                *slot = Some(value.into_owned());
            }
        }
        let [customer_id, account_id, drcr, status, per_page, page] = found;
        if customer_id
            .as_deref()
            .is_some_and(|id| !ids::well_formed(id))
        {
            return Err("invalid customer id");
        }
        if account_id
            .as_deref()
            .is_some_and(|id| !ids::well_formed(id))
        {
            return Err("invalid account id");
        }
        let per_page = match per_page {
            Some(text) => number(&text).ok_or("per_page must be a number")?,
            None => PER_PAGE,
        };
        let page = match page {
            Some(text) => number(&text).ok_or("page must be a number")?,
            None => 1,
        };
        let size = |n: i64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(Self {
            customer_id,
            account_id,
            drcr,
            status,
            per_page: size(per_page.clamp(1, MOST_PER_PAGE)),
            page: size(page.max(1)),
        })
    }

    /// Whether `transaction` passes the `drcr` and `status` filters.
    pub(super) fn admits(&self, transaction: &Transaction) -> bool {
        let drcr = view::drcr(transaction.flow);
        self.drcr.as_deref().is_none_or(|wanted| wanted == drcr)
            && self
                .status
                .as_deref()
                .is_none_or(|wanted| wanted == transaction.status)
    }
}

/// A whole number, as Go's `strconv.Atoi` reads it, held to `i64`'s range.
fn number(text: &str) -> Option<i64> {
    if let Ok(n) = text.parse() {
        return Some(n);
    }
    let digits = text.trim_start_matches(['+', '-']);
    let whole = text.len().saturating_sub(digits.len()) <= 1
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit());
    whole.then(|| {
        if text.starts_with('-') {
            i64::MIN
        } else {
            i64::MAX
        }
    })
}
