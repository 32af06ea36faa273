//! API key scopes (SPEC §3): what an integration key may do.
//!
//! A `:write` scope includes the matching `:read` scope; that rule lives here and only here.

use std::fmt;
use std::str::FromStr;

/// One API key scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    RequestsRead,
    RequestsWrite,
    SongdbRead,
    SongdbWrite,
    VenuesRead,
    VenuesWrite,
    SystemsRead,
    SecretsRead,
}

impl Scope {
    /// Every scope, in the canonical order of SPEC §3.
    pub const ALL: [Scope; 8] = [
        Scope::RequestsRead,
        Scope::RequestsWrite,
        Scope::SongdbRead,
        Scope::SongdbWrite,
        Scope::VenuesRead,
        Scope::VenuesWrite,
        Scope::SystemsRead,
        Scope::SecretsRead,
    ];

    /// The wire name, e.g. `requests:read`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::RequestsRead => "requests:read",
            Scope::RequestsWrite => "requests:write",
            Scope::SongdbRead => "songdb:read",
            Scope::SongdbWrite => "songdb:write",
            Scope::VenuesRead => "venues:read",
            Scope::VenuesWrite => "venues:write",
            Scope::SystemsRead => "systems:read",
            Scope::SecretsRead => "secrets:read",
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The scope this one implies besides itself (`x:write` implies `x:read`).
    const fn implied(self) -> Option<Scope> {
        match self {
            Scope::RequestsWrite => Some(Scope::RequestsRead),
            Scope::SongdbWrite => Some(Scope::SongdbRead),
            Scope::VenuesWrite => Some(Scope::VenuesRead),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no known scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope")]
pub struct UnknownScope;

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or(UnknownScope)
    }
}

/// Why a list of scope names was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeSetError {
    /// A key needs at least one scope.
    #[error("at least one scope is required")]
    Empty,
    /// These names are not scopes (in the order given, without duplicates).
    #[error("Invalid scopes: {}", .0.join(", "))]
    Unknown(Vec<String>),
}

/// A non-empty set of scopes, as granted to a key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScopeSet(u8);

impl ScopeSet {
    /// Parses scope names; every unknown name is reported, not just the first.
    pub fn parse<I, S>(names: I) -> Result<Self, ScopeSetError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut bits = 0u8;
        let mut unknown: Vec<String> = Vec::new();
        for name in names {
            let name = name.as_ref();
            match name.parse::<Scope>() {
                Ok(scope) => bits |= scope.bit(),
                Err(UnknownScope) => {
                    if !unknown.iter().any(|u| u == name) {
                        unknown.push(name.to_owned());
                    }
                }
            }
        }
        if !unknown.is_empty() {
            return Err(ScopeSetError::Unknown(unknown));
        }
        if bits == 0 {
            return Err(ScopeSetError::Empty);
        }
        Ok(Self(bits))
    }

    /// A set of the given scopes; `None` when `scopes` is empty.
    pub fn of(scopes: &[Scope]) -> Option<Self> {
        let bits = scopes.iter().fold(0u8, |acc, s| acc | s.bit());
        (bits != 0).then_some(Self(bits))
    }

    /// Whether a key with this set may do what `required` guards, counting the
    /// `:write` ⇒ `:read` rule.
    pub fn allows(self, required: Scope) -> bool {
        self.iter()
            .any(|granted| granted == required || granted.implied() == Some(required))
    }

    /// Whether every scope in `required` is allowed.
    pub fn allows_all(self, required: &[Scope]) -> bool {
        required.iter().all(|scope| self.allows(*scope))
    }

    /// The granted scopes (as given, without implied ones), in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .into_iter()
            .filter(move |scope| self.0 & scope.bit() != 0)
    }

    /// The granted scope names, in canonical order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Scope::as_str).collect()
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_round_trips_through_its_name() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
    }

    #[test]
    fn write_scope_satisfies_matching_read_scope() {
        let set = ScopeSet::of(&[Scope::RequestsWrite]).unwrap();
        assert!(set.allows(Scope::RequestsRead));
        assert!(set.allows(Scope::RequestsWrite));
        assert!(!set.allows(Scope::SongdbRead));
    }

    #[test]
    fn read_scope_does_not_satisfy_write_scope() {
        let set = ScopeSet::of(&[Scope::VenuesRead]).unwrap();
        assert!(!set.allows(Scope::VenuesWrite));
    }

    #[test]
    fn parse_reports_every_unknown_scope_once() {
        let err = ScopeSet::parse(["a", "requests:read", "b", "a"]).unwrap_err();
        assert_eq!(err, ScopeSetError::Unknown(vec!["a".into(), "b".into()]));
        assert_eq!(err.to_string(), "Invalid scopes: a, b");
    }

    #[test]
    fn parse_refuses_an_empty_list() {
        assert_eq!(
            ScopeSet::parse(Vec::<String>::new()),
            Err(ScopeSetError::Empty)
        );
    }

    #[test]
    fn names_are_canonical_and_deduplicated() {
        let set = ScopeSet::parse(["venues:read", "requests:read", "venues:read"]).unwrap();
        assert_eq!(set.names(), vec!["requests:read", "venues:read"]);
    }
}
