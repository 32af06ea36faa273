//! The storage port for venues.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ids::{CustomerId, VenueId};
use crate::ports::storage::StorageError;
use crate::serial::WithSerial;
use crate::venues::{OpenKjVenueId, SystemId, UrlName, Venue, VenueName};

/// A venue to store. Without an `openkj_venue_id` the adapter assigns one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVenue {
    pub id: VenueId,
    pub customer_id: CustomerId,
    pub openkj_venue_id: Option<OpenKjVenueId>,
    pub name: VenueName,
    pub url_name: UrlName,
    pub accepting_requests: bool,
    pub system_id: SystemId,
    pub created_at: OffsetDateTime,
}

/// Why a venue write was refused.
#[derive(Debug, thiserror::Error)]
pub enum VenueWriteError {
    /// No venue with that id belongs to that customer.
    #[error("venue not found")]
    NotFound,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Persistence of venues. Every write that OpenKJ would display bumps the customer's
/// serial in the same transaction.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait VenueRepository: Send + Sync {
    /// Stores a new venue and bumps the customer's serial. Without an explicit
    /// `openkj_venue_id`, a customer's first venue gets [`OpenKjVenueId::FIRST`] (0) and
    /// later ones one more than the customer's largest id.
    ///
    /// # Errors
    /// `Conflict("url_name")` when any venue (of any customer) has that URL name;
    /// `Conflict("openkj_venue_id")` when the customer already uses that OpenKJ id, or
    /// when the next id would pass `i32::MAX`; `Unavailable`/`Other` on backend failure.
    async fn insert_venue(&self, venue: NewVenue) -> Result<WithSerial<Venue>, StorageError>;

    /// The venue `id` if it belongs to `customer`.
    ///
    /// # Errors
    /// `Unavailable`/`Other`; a missing or foreign venue is `Ok(None)`.
    async fn get_venue(
        &self,
        customer: CustomerId,
        id: VenueId,
    ) -> Result<Option<Venue>, StorageError>;

    /// The customer's venue with that OpenKJ id.
    ///
    /// # Errors
    /// `Unavailable`/`Other`; no such venue is `Ok(None)`.
    async fn find_venue_by_openkj_id(
        &self,
        customer: CustomerId,
        id: OpenKjVenueId,
    ) -> Result<Option<Venue>, StorageError>;

    /// The venue with that URL name, whichever customer owns it (singers know only it).
    ///
    /// # Errors
    /// `Unavailable`/`Other`; no such venue is `Ok(None)`.
    async fn find_venue_by_url_name(
        &self,
        url_name: &UrlName,
    ) -> Result<Option<Venue>, StorageError>;

    /// All of the customer's venues, by OpenKJ id ascending.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn list_venues(&self, customer: CustomerId) -> Result<Vec<Venue>, StorageError>;

    /// Replaces the stored venue's name, URL name, accepting flag, system id and
    /// `updated_at` with `venue`'s (id, customer, OpenKJ id and `created_at` are kept),
    /// bumps the customer's serial, and returns the stored result.
    ///
    /// # Errors
    /// `NotFound` when no such venue belongs to `venue.customer_id()`;
    /// `Storage(Conflict("url_name"))` when another venue has the new URL name.
    async fn update_venue(&self, venue: &Venue) -> Result<WithSerial<Venue>, VenueWriteError>;

    /// Deletes the venue with all its requests, queued and processed, and bumps the
    /// customer's serial. `value` is `false` (and the serial unchanged) when no such
    /// venue belonged to `customer`.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn delete_venue(
        &self,
        customer: CustomerId,
        id: VenueId,
    ) -> Result<WithSerial<bool>, StorageError>;
}
