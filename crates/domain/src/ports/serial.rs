//! The storage port for the per-customer serial, and the bundle of ports OpenKJ needs.

use async_trait::async_trait;

use crate::ids::CustomerId;
use crate::ports::storage::StorageError;
use crate::ports::{RequestRepository, SongBookRepository, VenueRepository};
use crate::serial::Serial;

/// Reads (and, for imports and tests, sets) a customer's serial. The serial only moves
/// inside the write methods of the other OpenKJ ports, in the same transaction as the
/// change it announces.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SerialRepository: Send + Sync {
    /// The customer's serial; [`Serial::INITIAL`] for a customer nothing ever happened to.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn current_serial(&self, customer: CustomerId) -> Result<Serial, StorageError>;

    /// Sets the customer's serial, creating its state when needed. Meant for carrying a
    /// serial over from another request server (so a running OpenKJ notices the switch)
    /// and for tests that need to reach the wrap-around; request handling never calls it.
    ///
    /// # Errors
    /// `Unavailable`/`Other` on backend failure.
    async fn seed_serial(&self, customer: CustomerId, serial: Serial) -> Result<(), StorageError>;
}

/// Every port the OpenKJ features use, implemented together by each storage adapter so
/// the serial can move in the same transaction as the change.
pub trait OpenKjStore:
    SerialRepository + VenueRepository + SongBookRepository + RequestRepository
{
}

impl<T> OpenKjStore for T where
    T: SerialRepository + VenueRepository + SongBookRepository + RequestRepository
{
}
