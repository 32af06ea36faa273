//! `RequestRepository` in memory.

use async_trait::async_trait;
use keyward_domain::ports::{
    AddRequestError, Page, PageRequest, RequestFilter, RequestRepository, StorageError,
};
use keyward_domain::requests::{NewRequest, RequestId, SongRequest, SongRequestParts};
use keyward_domain::serial::WithSerial;
use keyward_domain::{CustomerId, VenueId};
use time::OffsetDateTime;

use crate::MemoryStore;

#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: Vec<SongRequest>,
}

impl Table {
    /// Forgets every request of a deleted venue.
    pub(crate) fn remove_venue(&mut self, venue: VenueId) {
        self.rows.retain(|r| r.venue_id() != venue);
    }

    /// The venue's requests matching `processed`, oldest first.
    fn matching(
        &self,
        customer: CustomerId,
        venue: VenueId,
        processed: Option<bool>,
    ) -> Vec<&SongRequest> {
        let mut found: Vec<&SongRequest> = self
            .rows
            .iter()
            .filter(|r| r.customer_id() == customer && r.venue_id() == venue)
            .filter(|r| processed.is_none_or(|p| r.is_processed() == p))
            .collect();
        found.sort_by_key(|r| (r.requested_at(), r.id()));
        found
    }

    /// Marks the queued requests that `select` picks as processed at `at`; returns how many.
    fn process(
        &mut self,
        customer: CustomerId,
        venue: VenueId,
        at: OffsetDateTime,
        select: impl Fn(&SongRequest) -> bool,
    ) -> u64 {
        let mut changed = 0;
        for request in &mut self.rows {
            let queued = request.customer_id() == customer
                && request.venue_id() == venue
                && !request.is_processed();
            if queued && select(request) {
                let mut parts = request.clone().into_parts();
                parts.processed_at = Some(at);
                *request = SongRequest::from_parts(parts);
                changed += 1;
            }
        }
        changed
    }
}

#[async_trait]
impl RequestRepository for MemoryStore {
    async fn add_request(
        &self,
        customer: CustomerId,
        venue: VenueId,
        request: NewRequest,
    ) -> Result<WithSerial<SongRequest>, AddRequestError> {
        let mut state = self.state();
        let Some(stored_venue) = state.venues.get(customer, venue) else {
            return Err(AddRequestError::VenueNotFound);
        };
        if !stored_venue.is_accepting_requests() {
            return Err(AddRequestError::NotAccepting);
        }
        let id = state.customers.take_request_id(customer)?;
        let stored = SongRequest::from_parts(SongRequestParts {
            id,
            customer_id: customer,
            venue_id: venue,
            singer: request.singer,
            song: request.song,
            key_change: request.key_change,
            requested_at: request.requested_at,
            processed_at: None,
        });
        state.requests.rows.push(stored.clone());
        let serial = state.customers.bump(customer);
        Ok(WithSerial::new(stored, serial))
    }

    async fn queued_requests(
        &self,
        customer: CustomerId,
        venue: VenueId,
    ) -> Result<Vec<SongRequest>, StorageError> {
        let state = self.state();
        Ok(state
            .requests
            .matching(customer, venue, Some(false))
            .into_iter()
            .cloned()
            .collect())
    }

    async fn list_requests(
        &self,
        customer: CustomerId,
        venue: VenueId,
        filter: RequestFilter,
        page: PageRequest,
    ) -> Result<Page<SongRequest>, StorageError> {
        let state = self.state();
        let matching = state.requests.matching(customer, venue, filter.processed);
        let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        Ok(Page {
            total: matching.len() as u64,
            items: matching
                .into_iter()
                .skip(offset)
                .take(page.limit() as usize)
                .cloned()
                .collect(),
            request: page,
        })
    }

    async fn mark_request_processed(
        &self,
        customer: CustomerId,
        venue: VenueId,
        id: RequestId,
        at: OffsetDateTime,
    ) -> Result<WithSerial<bool>, StorageError> {
        let mut state = self.state();
        let changed = state
            .requests
            .process(customer, venue, at, |r| r.id() == id);
        let serial = if changed > 0 {
            state.customers.bump(customer)
        } else {
            state.customers.serial(customer)
        };
        Ok(WithSerial::new(changed > 0, serial))
    }

    async fn clear_queue(
        &self,
        customer: CustomerId,
        venue: VenueId,
        at: OffsetDateTime,
    ) -> Result<WithSerial<u64>, StorageError> {
        let mut state = self.state();
        let changed = state.requests.process(customer, venue, at, |_| true);
        let serial = if changed > 0 {
            state.customers.bump(customer)
        } else {
            state.customers.serial(customer)
        };
        Ok(WithSerial::new(changed, serial))
    }
}
