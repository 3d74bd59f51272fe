//! `CustomerFilter`: filtering done in the facade, since Bloc's list takes no parameters.

use async_graphql::InputObject;

use super::enums::CustomerStatus;
use crate::{bloc::models, error};

// Longest `search` string accepted, written once: the check and the description read it.
macro_rules! max_search_len {
    () => {
        128
    };
}
const MAX_SEARCH_LEN: usize = max_search_len!();

/// Conditions a customer must meet; every given condition must hold.
#[derive(InputObject, Default)]
#[graphql(rename_fields = "snake_case")]
pub(crate) struct CustomerFilter {
    /// Only customers with this status.
    pub status: Option<CustomerStatus>,
    /// Only customers at this KYC tier (0 to 3).
    pub kyc_tier: Option<i32>,
    /// Only customers of this type, compared case-insensitively (`personal` matches
    /// `Personal`).
    pub customer_type: Option<String>,
    /// Case-insensitive text that must occur in the full name (either name order), or, for
    /// callers with the `customers:pii` scope, in the email address or phone number (without
    /// it, searching those would reveal them). Blank matches everyone.
    #[doc = concat!("At most ", max_search_len!(), " characters.")]
    pub search: Option<String>,
}

/// A filter checked once, with its text lowered once.
pub(crate) struct Matcher {
    status: Option<models::Status>,
    kyc_tier: Option<u8>,
    customer_type: Option<String>,
    search: Option<String>,
    /// Whether `search` may look at PII (email, phone).
    search_pii: bool,
}

impl CustomerFilter {
    /// Validates the filter and prepares it for matching many customers.
    pub(crate) fn matcher(
        filter: Option<&Self>,
        search_pii: bool,
    ) -> async_graphql::Result<Matcher> {
        let Some(filter) = filter else {
            return Ok(Matcher::everyone());
        };
        let kyc_tier = match filter.kyc_tier {
            None => None,
            Some(tier @ 0..=3) => Some(tier as u8),
            Some(_) => {
                return Err(error::bad_user_input(
                    "filter.kyc_tier must be between 0 and 3",
                ));
            }
        };
        if filter
            .search
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_SEARCH_LEN)
        {
            return Err(error::bad_user_input(format!(
                "filter.search must be at most {MAX_SEARCH_LEN} characters"
            )));
        }
        let lowered = |s: &Option<String>| {
            s.as_deref()
                .map(|s| {
                    s.split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_lowercase()
                })
                .filter(|s| !s.is_empty())
        };
        Ok(Matcher {
            status: filter.status.map(|s| match s {
                CustomerStatus::Active => models::Status::Active,
                CustomerStatus::Archived => models::Status::Archived,
            }),
            kyc_tier,
            customer_type: lowered(&filter.customer_type),
            search: lowered(&filter.search),
            search_pii,
        })
    }
}

impl Matcher {
    fn everyone() -> Self {
        Self {
            status: None,
            kyc_tier: None,
            customer_type: None,
            search: None,
            search_pii: false,
        }
    }

    /// Whether the customer meets every condition. A field Bloc sent unreadably never
    /// matches a condition on it.
    pub(crate) fn matches(&self, customer: &models::Customer) -> bool {
        if self
            .status
            .is_some_and(|s| customer.status.value() != Some(&s))
        {
            return false;
        }
        if self
            .kyc_tier
            .is_some_and(|t| customer.kyc_tier.value().map(|k| k.0) != Some(t))
        {
            return false;
        }
        if let Some(wanted) = &self.customer_type {
            match customer.customer_type.value() {
                Some(kind) if kind.to_lowercase() == *wanted => {}
                _ => return false,
            }
        }
        match &self.search {
            None => true,
            Some(needle) => {
                let full_name = customer.full_name.value().map(String::as_str).unwrap_or("");
                let pii = |field: &models::Lenient<String>| match self.search_pii {
                    true => field.value().map(|s| s.to_lowercase()).unwrap_or_default(),
                    false => String::new(),
                };
                [
                    full_name
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_lowercase(),
                    customer.display_name().to_lowercase(),
                    pii(&customer.email),
                    pii(&customer.phone_number),
                ]
                .iter()
                .any(|hay| hay.contains(needle.as_str()))
            }
        }
    }
}
