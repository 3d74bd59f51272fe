//! Scopes: what a caller may read.

use std::{fmt, str::FromStr};

/// One permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `customers:read`: customer profiles without the PII fields.
    Read,
    /// `customers:pii`: BVN, date of birth, phone, email, place of birth, photo and ID
    /// document URLs.
    Pii,
    /// `upstream:trace`: `extensions.upstream` on request (`X-Upstream-Trace: 1`). Its
    /// `cache_hits` and `coalesced` tell whether another client looked up the same ids
    /// recently, so it is for operators and the sandbox, not for every client.
    Trace,
    /// `finance:read`: a customer's accounts, cards, wallets and transactions, and the
    /// lookups of accounts and transactions.
    Finance,
}

impl Scope {
    /// Every scope, in order.
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Pii, Scope::Trace, Scope::Finance];

    /// The scope's name in tokens, config files and flags.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Read => "customers:read",
            Scope::Pii => "customers:pii",
            Scope::Trace => "upstream:trace",
            Scope::Finance => "finance:read",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Scope::Read => 1,
            Scope::Pii => 2,
            Scope::Trace => 4,
            Scope::Finance => 8,
        }
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.name() == s.trim())
            .ok_or_else(|| {
                let known: Vec<&str> = Scope::ALL.into_iter().map(Scope::name).collect();
                format!("unknown scope `{}` (known: {})", s.trim(), known.join(", "))
            })
    }
}

/// A set of scopes.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    /// Every scope (the sandbox's anonymous access).
    pub fn all() -> Self {
        Scope::ALL.into_iter().collect()
    }

    /// Whether the set holds `scope`.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// The set with `scope` added.
    pub fn with(self, scope: Scope) -> Self {
        Scopes(self.0 | scope.bit())
    }

    /// Whether the set holds every scope of `other`.
    pub fn covers(self, other: Scopes) -> bool {
        self.0 & other.0 == other.0
    }

    /// Parses a comma- or space-separated list; unknown names are an error.
    pub fn parse_list(list: &str) -> Result<Self, String> {
        list.split([',', ' '])
            .filter(|s| !s.trim().is_empty())
            .map(Scope::from_str)
            .collect()
    }

    /// Keeps the known names of a token's scope claim and ignores the rest (identity
    /// providers put their own scopes there too).
    pub fn from_known<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        names.into_iter().filter_map(|n| n.parse().ok()).collect()
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Scopes(iter.into_iter().fold(0, |bits, scope| bits | scope.bit()))
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Scope::ALL
            .into_iter()
            .filter(|s| self.contains(*s))
            .map(Scope::name)
            .collect();
        write!(f, "{}", names.join(","))
    }
}
