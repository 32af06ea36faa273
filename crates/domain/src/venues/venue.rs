//! The venue record and the value types only venues use.

use std::fmt;

use time::OffsetDateTime;

use crate::ids::{CustomerId, VenueId};
use crate::text::{BoundedText, TextError};
use crate::venues::UrlName;

/// Longest venue name.
pub const MAX_VENUE_NAME_CHARS: usize = 100;

/// The integer id OpenKJ uses for a venue (`venue_id`): unique per customer, in
/// `0..=2147483647`. Zero is a real id — it is OpenKJ's default selection — never
/// "missing".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpenKjVenueId(i32);

/// A negative OpenKJ venue id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("openkjVenueId must be between 0 and 2147483647")]
pub struct InvalidOpenKjVenueId;

impl OpenKjVenueId {
    /// The first id handed out to a customer: OpenKJ selects venue 0 until told otherwise,
    /// so a customer's first venue is the one a fresh OpenKJ install shows.
    pub const FIRST: Self = Self(0);

    pub fn new(id: i32) -> Result<Self, InvalidOpenKjVenueId> {
        if id < 0 {
            return Err(InvalidOpenKjVenueId);
        }
        Ok(Self(id))
    }

    pub const fn get(self) -> i32 {
        self.0
    }

    /// The id after this one, or `None` at `i32::MAX`.
    pub fn successor(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }
}

impl fmt::Display for OpenKjVenueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Which of a customer's OpenKJ installations ("systems", rigs) a song book belongs to:
/// OpenKJ's "System ID" setting, an integer ≥ 1 (default 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SystemId(i32);

/// A system id below 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("systemId must be at least 1")]
pub struct InvalidSystemId;

impl SystemId {
    /// OpenKJ's default System ID.
    pub const DEFAULT: Self = Self(1);

    pub fn new(id: i32) -> Result<Self, InvalidSystemId> {
        if id < 1 {
            return Err(InvalidSystemId);
        }
        Ok(Self(id))
    }

    pub const fn get(self) -> i32 {
        self.0
    }
}

impl Default for SystemId {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for SystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A venue's display name: 1..=100 characters, not only white space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueName(BoundedText);

impl VenueName {
    pub fn new(name: impl Into<String>) -> Result<Self, TextError> {
        BoundedText::new(name.into(), 1, MAX_VENUE_NAME_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Every stored field of a venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueParts {
    pub id: VenueId,
    pub customer_id: CustomerId,
    pub openkj_venue_id: OpenKjVenueId,
    pub name: VenueName,
    pub url_name: UrlName,
    pub accepting_requests: bool,
    /// The song book singers at this venue search.
    pub system_id: SystemId,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A venue as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Venue(VenueParts);

impl Venue {
    pub fn from_parts(parts: VenueParts) -> Self {
        Self(parts)
    }

    pub fn into_parts(self) -> VenueParts {
        self.0
    }

    pub fn parts(&self) -> &VenueParts {
        &self.0
    }

    pub fn id(&self) -> VenueId {
        self.0.id
    }

    pub fn customer_id(&self) -> CustomerId {
        self.0.customer_id
    }

    pub fn openkj_venue_id(&self) -> OpenKjVenueId {
        self.0.openkj_venue_id
    }

    pub fn name(&self) -> &VenueName {
        &self.0.name
    }

    pub fn url_name(&self) -> &UrlName {
        &self.0.url_name
    }

    pub fn is_accepting_requests(&self) -> bool {
        self.0.accepting_requests
    }

    pub fn system_id(&self) -> SystemId {
        self.0.system_id
    }

    pub fn created_at(&self) -> OffsetDateTime {
        self.0.created_at
    }

    pub fn updated_at(&self) -> OffsetDateTime {
        self.0.updated_at
    }

    pub(crate) fn parts_mut(&mut self) -> &mut VenueParts {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openkj_venue_id_zero_is_a_real_id() {
        assert_eq!(OpenKjVenueId::new(0).map(OpenKjVenueId::get), Ok(0));
        assert_eq!(OpenKjVenueId::FIRST.get(), 0);
    }

    #[test]
    fn negative_openkj_venue_id_is_refused() {
        assert_eq!(OpenKjVenueId::new(-1), Err(InvalidOpenKjVenueId));
    }

    #[test]
    fn openkj_venue_id_has_no_successor_at_the_int32_limit() {
        assert_eq!(OpenKjVenueId::new(i32::MAX).unwrap().successor(), None);
        assert_eq!(
            OpenKjVenueId::new(41).unwrap().successor(),
            Some(OpenKjVenueId::new(42).unwrap())
        );
    }

    #[test]
    fn system_id_starts_at_one() {
        assert_eq!(SystemId::new(0), Err(InvalidSystemId));
        assert_eq!(SystemId::new(-3), Err(InvalidSystemId));
        assert_eq!(SystemId::new(1), Ok(SystemId::DEFAULT));
    }

    #[test]
    fn venue_name_must_not_be_blank_or_too_long() {
        assert_eq!(VenueName::new("  "), Err(TextError::Empty));
        assert!(VenueName::new("x".repeat(MAX_VENUE_NAME_CHARS)).is_ok());
        assert!(VenueName::new("x".repeat(MAX_VENUE_NAME_CHARS + 1)).is_err());
    }
}
