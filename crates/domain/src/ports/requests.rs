//! The storage port for singer requests.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ids::{CustomerId, VenueId};
use crate::ports::storage::{Page, PageRequest, StorageError};
use crate::requests::{NewRequest, RequestId, SongRequest};
use crate::serial::WithSerial;

/// Which requests a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestFilter {
    /// `Some(false)`: only queued requests; `Some(true)`: only processed ones (history).
    pub processed: Option<bool>,
}

/// Why a request was not stored.
#[derive(Debug, thiserror::Error)]
pub enum AddRequestError {
    /// No such venue belongs to the customer (it may just have been deleted).
    #[error("venue not found")]
    VenueNotFound,
    /// The venue is not accepting requests at the moment of the write.
    #[error("venue is not accepting requests")]
    NotAccepting,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Persistence of singer requests. Every write that changes a venue's queue bumps the
/// customer's serial in the same transaction.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait RequestRepository: Send + Sync {
    /// In one transaction: checks that `venue` belongs to `customer` and is accepting
    /// requests, gives the request the customer's next request id (1, 2, 3, …), stores
    /// it queued, and bumps the customer's serial.
    ///
    /// # Errors
    /// `VenueNotFound`; `NotAccepting`; `Storage(Conflict("request_id"))` once the
    /// customer has used every positive int32 id; `Storage(Unavailable/Other)`.
    async fn add_request(
        &self,
        customer: CustomerId,
        venue: VenueId,
        request: NewRequest,
    ) -> Result<WithSerial<SongRequest>, AddRequestError>;

    /// The venue's queued requests, oldest first (`requested_at`, then id). Empty for an
    /// unknown or foreign venue.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn queued_requests(
        &self,
        customer: CustomerId,
        venue: VenueId,
    ) -> Result<Vec<SongRequest>, StorageError>;

    /// One page of the venue's requests matching `filter`, oldest first, with the total.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn list_requests(
        &self,
        customer: CustomerId,
        venue: VenueId,
        filter: RequestFilter,
        page: PageRequest,
    ) -> Result<Page<SongRequest>, StorageError>;

    /// Takes the queued request `id` of `venue` out of the queue (processed at `at`).
    /// `value` is `false`, and the serial unchanged, when no such queued request exists.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn mark_request_processed(
        &self,
        customer: CustomerId,
        venue: VenueId,
        id: RequestId,
        at: OffsetDateTime,
    ) -> Result<WithSerial<bool>, StorageError>;

    /// Takes every queued request of `venue` out of the queue (processed at `at`) and
    /// returns how many; the serial moves when that is more than zero.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn clear_queue(
        &self,
        customer: CustomerId,
        venue: VenueId,
        at: OffsetDateTime,
    ) -> Result<WithSerial<u64>, StorageError>;
}
