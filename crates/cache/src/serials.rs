//! The OpenKJ serial from memory: OpenKJ polls `getSerial` every few seconds per host, and
//! the answer changes only when something the host displays does.
//!
//! A write through [`CachedOpenKj`] that can move the serial drops the customer's entry when
//! it returns (the next poll reads the new serial); changes by other instances arrive
//! through the change feed. The entry is dropped rather than set to the serial a write
//! returned: two writes finishing out of order would otherwise leave the older serial.

use std::sync::Arc;

use async_trait::async_trait;
use keyward_domain::ports::{
    AddRequestError, NewVenue, OpenKjStore, Page, PageRequest, RequestFilter, RequestRepository,
    SerialRepository, SongBookRepository, StorageError, VenueRepository, VenueWriteError,
};
use keyward_domain::requests::{NewRequest, RequestId, SongRequest};
use keyward_domain::serial::{Serial, WithSerial};
use keyward_domain::songbook::{Song, SongId, SongQuery, StoredSong};
use keyward_domain::venues::{OpenKjVenueId, SystemId, UrlName, Venue};
use keyward_domain::{CustomerId, VenueId};
use moka::sync::Cache;
use time::OffsetDateTime;

use crate::freshness::Freshness;
use crate::near::Near;
use crate::stats::{CacheStats, Counters};
use crate::{CacheOptions, Caches};

/// Remembered serials, per customer.
pub struct SerialCache {
    /// Keyed by customer ids (the platform's token subjects, not an anonymous client's
    /// input): foldhash rather than SipHash.
    serials: Cache<CustomerId, Serial, foldhash::fast::RandomState>,
    /// Each thread's copies of the serials it answered last (see [`crate::near`]).
    near: Near<CustomerId, Serial>,
    freshness: Freshness,
    counters: Counters,
}

impl std::fmt::Debug for SerialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialCache")
            .field("customers", &self.serials.entry_count())
            .finish_non_exhaustive()
    }
}

impl SerialCache {
    /// An empty cache sized by `options`, not usable until the feed reports healthy.
    pub fn new(options: CacheOptions) -> Self {
        Self {
            serials: Cache::builder()
                .max_capacity(options.max_serials)
                .time_to_live(options.time_to_live)
                .build_with_hasher(foldhash::fast::RandomState::default()),
            near: Near::default(),
            freshness: Freshness::default(),
            counters: Counters::default(),
        }
    }

    /// Hits, misses and size so far, for `/metrics`.
    pub fn stats(&self) -> CacheStats {
        let (hits, misses) = self.counters.totals();
        CacheStats {
            hits,
            misses,
            entries: self.serials.entry_count(),
            answering: self.freshness.usable(),
        }
    }

    /// The customer's serial moved (or may have): drop what is remembered of it.
    pub fn forget(&self, customer: CustomerId) {
        self.freshness
            .dropping(|| self.serials.invalidate(&customer));
    }

    /// Drops every remembered serial.
    pub fn forget_everything(&self) {
        self.freshness.dropping(|| self.serials.invalidate_all());
    }

    /// See [`keyward_domain::ports::ChangeSink::set_feed_healthy`].
    pub fn set_feed_healthy(&self, healthy: bool) {
        self.freshness
            .set_feed_healthy(healthy, || self.forget_everything());
    }
}

/// Every OpenKJ port of the store it wraps, with `current_serial` answered from a
/// [`SerialCache`]; each write that can move a serial drops the customer's entry.
pub struct CachedOpenKj {
    store: Arc<dyn OpenKjStore>,
    cache: Arc<SerialCache>,
}

impl std::fmt::Debug for CachedOpenKj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedOpenKj")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl CachedOpenKj {
    /// `store` behind the serial cache of `caches`.
    pub fn new(store: Arc<dyn OpenKjStore>, caches: &Caches) -> Self {
        Self {
            store,
            cache: caches.serials().clone(),
        }
    }

    /// Runs a write that may move `customer`'s serial, then drops the remembered serial
    /// whatever the outcome (a write that failed to answer may still have committed).
    async fn moving_serial<T>(&self, customer: CustomerId, write: impl Future<Output = T>) -> T {
        let result = write.await;
        self.cache.forget(customer);
        result
    }
}

#[async_trait]
impl SerialRepository for CachedOpenKj {
    async fn current_serial(&self, customer: CustomerId) -> Result<Serial, StorageError> {
        let cache = &self.cache;
        if cache.freshness.usable() {
            let generation = cache.freshness.generation();
            if let Some(serial) = cache.near.get(&customer, generation) {
                cache.counters.hit();
                return Ok(serial);
            }
            if let Some(serial) = cache.serials.get(&customer) {
                cache.near.put(customer, serial, generation);
                cache.counters.hit();
                return Ok(serial);
            }
        }
        cache.counters.miss();
        let ticket = cache.freshness.ticket();
        let serial = self.store.current_serial(customer).await?;
        if let Some(ticket) = ticket {
            cache.serials.insert(customer, serial);
            if !cache.freshness.still_current(ticket) {
                // Taken back as a drop: another thread may have copied it meanwhile.
                cache.forget(customer);
            }
        }
        Ok(serial)
    }

    async fn seed_serial(&self, customer: CustomerId, serial: Serial) -> Result<(), StorageError> {
        self.moving_serial(customer, self.store.seed_serial(customer, serial))
            .await
    }
}

#[async_trait]
impl VenueRepository for CachedOpenKj {
    async fn insert_venue(&self, venue: NewVenue) -> Result<WithSerial<Venue>, StorageError> {
        let customer = venue.customer_id;
        self.moving_serial(customer, self.store.insert_venue(venue))
            .await
    }

    async fn get_venue(
        &self,
        customer: CustomerId,
        id: VenueId,
    ) -> Result<Option<Venue>, StorageError> {
        self.store.get_venue(customer, id).await
    }

    async fn find_venue_by_openkj_id(
        &self,
        customer: CustomerId,
        id: OpenKjVenueId,
    ) -> Result<Option<Venue>, StorageError> {
        self.store.find_venue_by_openkj_id(customer, id).await
    }

    async fn find_venue_by_url_name(
        &self,
        url_name: &UrlName,
    ) -> Result<Option<Venue>, StorageError> {
        self.store.find_venue_by_url_name(url_name).await
    }

    async fn list_venues(&self, customer: CustomerId) -> Result<Vec<Venue>, StorageError> {
        self.store.list_venues(customer).await
    }

    async fn update_venue(&self, venue: &Venue) -> Result<WithSerial<Venue>, VenueWriteError> {
        self.moving_serial(venue.customer_id(), self.store.update_venue(venue))
            .await
    }

    async fn delete_venue(
        &self,
        customer: CustomerId,
        id: VenueId,
    ) -> Result<WithSerial<bool>, StorageError> {
        self.moving_serial(customer, self.store.delete_venue(customer, id))
            .await
    }
}

#[async_trait]
impl SongBookRepository for CachedOpenKj {
    /// Passed through: adding songs never moves the serial (see the port).
    async fn add_songs(
        &self,
        customer: CustomerId,
        system: SystemId,
        songs: &[Song],
    ) -> Result<u64, StorageError> {
        self.store.add_songs(customer, system, songs).await
    }

    async fn clear_song_book(
        &self,
        customer: CustomerId,
        system: SystemId,
    ) -> Result<WithSerial<u64>, StorageError> {
        self.moving_serial(customer, self.store.clear_song_book(customer, system))
            .await
    }

    async fn search_songs(
        &self,
        customer: CustomerId,
        system: SystemId,
        query: &SongQuery,
        page: PageRequest,
    ) -> Result<Page<StoredSong>, StorageError> {
        self.store.search_songs(customer, system, query, page).await
    }

    async fn get_song(
        &self,
        customer: CustomerId,
        id: SongId,
    ) -> Result<Option<StoredSong>, StorageError> {
        self.store.get_song(customer, id).await
    }

    async fn songs_after(
        &self,
        customer: CustomerId,
        system: Option<SystemId>,
        after: Option<SongId>,
        limit: u32,
    ) -> Result<Vec<StoredSong>, StorageError> {
        self.store.songs_after(customer, system, after, limit).await
    }
}

#[async_trait]
impl RequestRepository for CachedOpenKj {
    async fn add_request(
        &self,
        customer: CustomerId,
        venue: VenueId,
        request: NewRequest,
    ) -> Result<WithSerial<SongRequest>, AddRequestError> {
        self.moving_serial(customer, self.store.add_request(customer, venue, request))
            .await
    }

    async fn queued_requests(
        &self,
        customer: CustomerId,
        venue: VenueId,
    ) -> Result<Vec<SongRequest>, StorageError> {
        self.store.queued_requests(customer, venue).await
    }

    async fn list_requests(
        &self,
        customer: CustomerId,
        venue: VenueId,
        filter: RequestFilter,
        page: PageRequest,
    ) -> Result<Page<SongRequest>, StorageError> {
        self.store
            .list_requests(customer, venue, filter, page)
            .await
    }

    async fn mark_request_processed(
        &self,
        customer: CustomerId,
        venue: VenueId,
        id: RequestId,
        at: OffsetDateTime,
    ) -> Result<WithSerial<bool>, StorageError> {
        self.moving_serial(
            customer,
            self.store.mark_request_processed(customer, venue, id, at),
        )
        .await
    }

    async fn clear_queue(
        &self,
        customer: CustomerId,
        venue: VenueId,
        at: OffsetDateTime,
    ) -> Result<WithSerial<u64>, StorageError> {
        self.moving_serial(customer, self.store.clear_queue(customer, venue, at))
            .await
    }
}
