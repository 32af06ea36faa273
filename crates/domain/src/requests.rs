//! Singer requests: what a singer asked to sing, at which venue, in which key.
//!
//! A request stays in its venue's queue until the host deletes it or clears the queue;
//! then it is marked processed and kept as the venue's request history.

use std::fmt;

use time::OffsetDateTime;

use crate::ids::{CustomerId, VenueId};
use crate::songbook::Song;
use crate::text::{BoundedText, TextError};

/// Longest singer name.
pub const MAX_SINGER_CHARS: usize = 100;

/// A request's id as OpenKJ sees it (`request_id`): a non-zero int32, handed out per
/// customer starting at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(i32);

/// A request id of 0, which OpenKJ cannot tell from "missing".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a request id must be a non-zero int32")]
pub struct InvalidRequestId;

impl RequestId {
    /// The first id a customer's requests get.
    pub const FIRST: Self = Self(1);

    pub fn new(id: i32) -> Result<Self, InvalidRequestId> {
        if id == 0 {
            return Err(InvalidRequestId);
        }
        Ok(Self(id))
    }

    pub const fn get(self) -> i32 {
        self.0
    }

    /// The id after this one; `None` once the int32 range is used up.
    pub fn successor(self) -> Option<Self> {
        match self.0.checked_add(1) {
            Some(0) | None => None,
            Some(next) => Some(Self(next)),
        }
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Semitones to transpose, `-12..=12` (OpenKJ's key spin box range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct KeyChange(i8);

/// A key change outside `-12..=12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("keyChange must be between -12 and 12")]
pub struct InvalidKeyChange;

impl KeyChange {
    pub const MIN: i8 = -12;
    pub const MAX: i8 = 12;

    pub fn new(semitones: i64) -> Result<Self, InvalidKeyChange> {
        i8::try_from(semitones)
            .ok()
            .filter(|s| (Self::MIN..=Self::MAX).contains(s))
            .map(Self)
            .ok_or(InvalidKeyChange)
    }

    pub const fn get(self) -> i8 {
        self.0
    }
}

/// Who asked: 1..=100 characters after trimming surrounding white space (a singer name
/// is shown to the host, not matched against anything, so trimming is safe here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingerName(BoundedText);

impl SingerName {
    pub fn new(name: &str) -> Result<Self, TextError> {
        BoundedText::new(name.trim().to_owned(), 1, MAX_SINGER_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A request before storage has given it an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub singer: SingerName,
    pub song: Song,
    pub key_change: KeyChange,
    pub requested_at: OffsetDateTime,
}

/// Every stored field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SongRequestParts {
    pub id: RequestId,
    pub customer_id: CustomerId,
    pub venue_id: VenueId,
    pub singer: SingerName,
    pub song: Song,
    pub key_change: KeyChange,
    pub requested_at: OffsetDateTime,
    /// When the host deleted it or cleared the queue; `None` while it is queued.
    pub processed_at: Option<OffsetDateTime>,
}

/// A singer request, queued or (once processed) part of the venue's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SongRequest(SongRequestParts);

impl SongRequest {
    pub fn from_parts(parts: SongRequestParts) -> Self {
        Self(parts)
    }

    pub fn into_parts(self) -> SongRequestParts {
        self.0
    }

    pub fn parts(&self) -> &SongRequestParts {
        &self.0
    }

    pub fn id(&self) -> RequestId {
        self.0.id
    }

    pub fn customer_id(&self) -> CustomerId {
        self.0.customer_id
    }

    pub fn venue_id(&self) -> VenueId {
        self.0.venue_id
    }

    pub fn singer(&self) -> &SingerName {
        &self.0.singer
    }

    pub fn song(&self) -> &Song {
        &self.0.song
    }

    pub fn key_change(&self) -> KeyChange {
        self.0.key_change
    }

    pub fn requested_at(&self) -> OffsetDateTime {
        self.0.requested_at
    }

    pub fn processed_at(&self) -> Option<OffsetDateTime> {
        self.0.processed_at
    }

    pub fn is_processed(&self) -> bool {
        self.0.processed_at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_zero_is_refused_but_negative_ids_are_int32s() {
        assert_eq!(RequestId::new(0), Err(InvalidRequestId));
        assert_eq!(RequestId::new(-7).map(RequestId::get), Ok(-7));
    }

    #[test]
    fn request_ids_run_out_at_the_int32_limit() {
        assert_eq!(RequestId::new(i32::MAX).unwrap().successor(), None);
        assert_eq!(RequestId::FIRST.successor().map(RequestId::get), Some(2));
    }

    #[test]
    fn key_change_accepts_exactly_minus_twelve_to_twelve() {
        assert_eq!(KeyChange::new(-12).map(KeyChange::get), Ok(-12));
        assert_eq!(KeyChange::new(12).map(KeyChange::get), Ok(12));
        assert_eq!(KeyChange::new(-13), Err(InvalidKeyChange));
        assert_eq!(KeyChange::new(13), Err(InvalidKeyChange));
        assert_eq!(KeyChange::new(300), Err(InvalidKeyChange));
    }

    #[test]
    fn singer_name_is_trimmed_and_must_not_be_blank() {
        assert_eq!(SingerName::new("  Alice ").unwrap().as_str(), "Alice");
        assert_eq!(SingerName::new(" \t "), Err(TextError::Empty));
        assert!(SingerName::new(&"a".repeat(MAX_SINGER_CHARS + 1)).is_err());
    }
}
