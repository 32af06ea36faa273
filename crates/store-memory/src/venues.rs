//! `VenueRepository` in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use keyward_domain::ports::{NewVenue, StorageError, VenueRepository, VenueWriteError};
use keyward_domain::serial::WithSerial;
use keyward_domain::venues::{OpenKjVenueId, UrlName, Venue, VenueParts};
use keyward_domain::{CustomerId, VenueId};

use crate::MemoryStore;

#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: HashMap<VenueId, Venue>,
}

impl Table {
    pub(crate) fn get(&self, customer: CustomerId, id: VenueId) -> Option<&Venue> {
        self.rows.get(&id).filter(|v| v.customer_id() == customer)
    }

    fn of_customer(&self, customer: CustomerId) -> impl Iterator<Item = &Venue> {
        self.rows
            .values()
            .filter(move |v| v.customer_id() == customer)
    }

    fn url_name_taken(&self, url_name: &UrlName, except: VenueId) -> bool {
        self.rows
            .values()
            .any(|v| v.id() != except && v.url_name() == url_name)
    }

    /// The explicit id, or 0 for a first venue, or one past the customer's largest.
    fn openkj_id_for(
        &self,
        customer: CustomerId,
        requested: Option<OpenKjVenueId>,
    ) -> Result<OpenKjVenueId, StorageError> {
        let id = match requested {
            Some(id) => Some(id),
            None => match self.of_customer(customer).map(Venue::openkj_venue_id).max() {
                None => Some(OpenKjVenueId::FIRST),
                Some(largest) => largest.successor(),
            },
        };
        id.filter(|id| {
            self.of_customer(customer)
                .all(|v| v.openkj_venue_id() != *id)
        })
        .ok_or(StorageError::Conflict("openkj_venue_id"))
    }
}

#[async_trait]
impl VenueRepository for MemoryStore {
    async fn insert_venue(&self, new: NewVenue) -> Result<WithSerial<Venue>, StorageError> {
        let mut state = self.state();
        if state.venues.url_name_taken(&new.url_name, new.id) {
            return Err(StorageError::Conflict("url_name"));
        }
        if state.venues.rows.contains_key(&new.id) {
            return Err(StorageError::Conflict("venue_id"));
        }
        let openkj_venue_id = state
            .venues
            .openkj_id_for(new.customer_id, new.openkj_venue_id)?;
        let venue = Venue::from_parts(VenueParts {
            id: new.id,
            customer_id: new.customer_id,
            openkj_venue_id,
            name: new.name,
            url_name: new.url_name,
            accepting_requests: new.accepting_requests,
            system_id: new.system_id,
            created_at: new.created_at,
            updated_at: new.created_at,
        });
        state.venues.rows.insert(venue.id(), venue.clone());
        let serial = state.customers.bump(new.customer_id);
        Ok(WithSerial::new(venue, serial))
    }

    async fn get_venue(
        &self,
        customer: CustomerId,
        id: VenueId,
    ) -> Result<Option<Venue>, StorageError> {
        Ok(self.state().venues.get(customer, id).cloned())
    }

    async fn find_venue_by_openkj_id(
        &self,
        customer: CustomerId,
        id: OpenKjVenueId,
    ) -> Result<Option<Venue>, StorageError> {
        Ok(self
            .state()
            .venues
            .of_customer(customer)
            .find(|v| v.openkj_venue_id() == id)
            .cloned())
    }

    async fn find_venue_by_url_name(
        &self,
        url_name: &UrlName,
    ) -> Result<Option<Venue>, StorageError> {
        Ok(self
            .state()
            .venues
            .rows
            .values()
            .find(|v| v.url_name() == url_name)
            .cloned())
    }

    async fn list_venues(&self, customer: CustomerId) -> Result<Vec<Venue>, StorageError> {
        let state = self.state();
        let mut venues: Vec<Venue> = state.venues.of_customer(customer).cloned().collect();
        venues.sort_by_key(Venue::openkj_venue_id);
        Ok(venues)
    }

    async fn update_venue(&self, venue: &Venue) -> Result<WithSerial<Venue>, VenueWriteError> {
        let mut state = self.state();
        let Some(stored) = state.venues.get(venue.customer_id(), venue.id()) else {
            return Err(VenueWriteError::NotFound);
        };
        let kept = stored.parts().clone();
        if state.venues.url_name_taken(venue.url_name(), venue.id()) {
            return Err(StorageError::Conflict("url_name").into());
        }
        let updated = Venue::from_parts(VenueParts {
            openkj_venue_id: kept.openkj_venue_id,
            created_at: kept.created_at,
            ..venue.parts().clone()
        });
        state.venues.rows.insert(updated.id(), updated.clone());
        let serial = state.customers.bump(venue.customer_id());
        Ok(WithSerial::new(updated, serial))
    }

    async fn delete_venue(
        &self,
        customer: CustomerId,
        id: VenueId,
    ) -> Result<WithSerial<bool>, StorageError> {
        let mut state = self.state();
        if state.venues.get(customer, id).is_none() {
            return Ok(WithSerial::new(false, state.customers.serial(customer)));
        }
        state.venues.rows.remove(&id);
        state.requests.remove_venue(id);
        let serial = state.customers.bump(customer);
        Ok(WithSerial::new(true, serial))
    }
}
