//! `VenueService`: creating, changing and finding venues (SPEC §8), including the rules
//! for URL names and for when a write is worth a serial bump.

use std::sync::Arc;

use crate::audit::{AuditAction, AuditDetails, RequestContext};
use crate::ids::{CustomerId, VenueId};
use crate::ports::{Clock, NewVenue, StorageError, VenueRepository, VenueWriteError};
use crate::services::audit::AuditTrail;
use crate::venues::{OpenKjVenueId, SystemId, UrlName, Venue, VenueName};

/// How many slugs (`name`, `name-2`, … `name-20`) are tried when a derived URL name is
/// taken, before giving up with `UrlNameTaken`.
pub const MAX_DERIVED_URL_NAME_ATTEMPTS: u32 = 20;

/// What a customer asks for when creating a venue.
#[derive(Debug, Clone)]
pub struct CreateVenue {
    pub name: VenueName,
    /// Derived from `name` when absent.
    pub url_name: Option<UrlName>,
    pub accepting_requests: bool,
    /// Assigned (0 for the first venue, then largest + 1) when absent.
    pub openkj_venue_id: Option<OpenKjVenueId>,
    pub system_id: SystemId,
}

impl CreateVenue {
    /// A venue called `name` with every other field at its default: URL name derived,
    /// not accepting, OpenKJ id assigned, system 1.
    pub fn named(name: VenueName) -> Self {
        Self {
            name,
            url_name: None,
            accepting_requests: false,
            openkj_venue_id: None,
            system_id: SystemId::DEFAULT,
        }
    }
}

/// A partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct VenueChanges {
    pub name: Option<VenueName>,
    pub url_name: Option<UrlName>,
    pub accepting_requests: Option<bool>,
    pub system_id: Option<SystemId>,
}

/// Why a venue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VenueError {
    #[error("venue not found")]
    NotFound,
    #[error("urlName is already taken")]
    UrlNameTaken,
    #[error("openkjVenueId is already used by another of your venues")]
    OpenKjVenueIdTaken,
    #[error(transparent)]
    Storage(StorageError),
}

impl From<StorageError> for VenueError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Conflict("url_name") => VenueError::UrlNameTaken,
            StorageError::Conflict("openkj_venue_id") => VenueError::OpenKjVenueIdTaken,
            other => VenueError::Storage(other),
        }
    }
}

impl From<VenueWriteError> for VenueError {
    fn from(err: VenueWriteError) -> Self {
        match err {
            VenueWriteError::NotFound => VenueError::NotFound,
            VenueWriteError::Storage(e) => e.into(),
        }
    }
}

/// Venue management for the customer API, OpenKJ and the singer pages.
#[derive(Clone)]
pub struct VenueService {
    repo: Arc<dyn VenueRepository>,
    clock: Arc<dyn Clock>,
    audit: AuditTrail,
}

impl std::fmt::Debug for VenueService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VenueService").finish_non_exhaustive()
    }
}

impl VenueService {
    pub fn new(repo: Arc<dyn VenueRepository>, clock: Arc<dyn Clock>, audit: AuditTrail) -> Self {
        Self { repo, clock, audit }
    }

    /// Creates a venue. An explicit URL name that is taken is refused; a derived one gets
    /// a numeric suffix (`-2`, `-3`, …) until a free one is found. Audited as
    /// `venue.created` with every field.
    ///
    /// # Errors
    /// `UrlNameTaken`, `OpenKjVenueIdTaken`, `Storage`.
    pub async fn create(
        &self,
        context: &RequestContext,
        customer: CustomerId,
        request: CreateVenue,
    ) -> Result<Venue, VenueError> {
        let derived = request.url_name.is_none();
        let base = request
            .url_name
            .unwrap_or_else(|| UrlName::derive_from(request.name.as_str()));
        let mut venue = NewVenue {
            id: VenueId::generate(),
            customer_id: customer,
            openkj_venue_id: request.openkj_venue_id,
            name: request.name,
            url_name: base.clone(),
            accepting_requests: request.accepting_requests,
            system_id: request.system_id,
            created_at: self.clock.now(),
        };
        let mut attempt = 1;
        loop {
            match self.repo.insert_venue(venue.clone()).await {
                Ok(stored) => {
                    let venue = stored.value;
                    let mut details = AuditDetails::new();
                    details.insert("name".into(), venue.name().as_str().into());
                    details.insert("urlName".into(), venue.url_name().as_str().into());
                    details.insert(
                        "acceptingRequests".into(),
                        venue.is_accepting_requests().into(),
                    );
                    details.insert("openkjVenueId".into(), venue.openkj_venue_id().get().into());
                    details.insert("systemId".into(), venue.system_id().get().into());
                    self.audit
                        .record(
                            context,
                            Some(customer),
                            AuditAction::VenueCreated,
                            venue.id().as_uuid(),
                            details,
                        )
                        .await;
                    return Ok(venue);
                }
                Err(StorageError::Conflict("url_name"))
                    if derived && attempt < MAX_DERIVED_URL_NAME_ATTEMPTS =>
                {
                    attempt += 1;
                    venue.url_name = base.with_suffix(attempt);
                }
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// # Errors
    /// `NotFound` (also for another customer's venue), `Storage`.
    pub async fn get(&self, customer: CustomerId, id: VenueId) -> Result<Venue, VenueError> {
        self.repo
            .get_venue(customer, id)
            .await?
            .ok_or(VenueError::NotFound)
    }

    /// The customer's venues, by OpenKJ id.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn list(&self, customer: CustomerId) -> Result<Vec<Venue>, VenueError> {
        Ok(self.repo.list_venues(customer).await?)
    }

    /// The customer's venue with that OpenKJ id, if any.
    ///
    /// # Errors
    /// `Storage`.
    pub async fn find_by_openkj_id(
        &self,
        customer: CustomerId,
        id: OpenKjVenueId,
    ) -> Result<Option<Venue>, VenueError> {
        Ok(self.repo.find_venue_by_openkj_id(customer, id).await?)
    }

    /// The venue behind a public singer URL.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub async fn find_by_url_name(&self, url_name: &UrlName) -> Result<Venue, VenueError> {
        self.repo
            .find_venue_by_url_name(url_name)
            .await?
            .ok_or(VenueError::NotFound)
    }

    /// Applies `changes`. When nothing would change, nothing is written and the serial
    /// stays put, so OpenKJ does not refresh for nothing. A change is audited as
    /// `venue.updated` with the fields that changed (new values).
    ///
    /// # Errors
    /// `NotFound`, `UrlNameTaken`, `Storage`.
    pub async fn update(
        &self,
        context: &RequestContext,
        customer: CustomerId,
        id: VenueId,
        changes: VenueChanges,
    ) -> Result<Venue, VenueError> {
        let venue = self.get(customer, id).await?;
        self.apply(context, venue, changes).await
    }

    /// OpenKJ's `setAccepting`: opens or closes the venue for requests and, when given,
    /// makes `system`'s song book the one its singers search. Audited like
    /// [`Self::update`].
    ///
    /// # Errors
    /// `NotFound` for an OpenKJ id the customer does not have, `Storage`.
    pub async fn set_accepting(
        &self,
        context: &RequestContext,
        customer: CustomerId,
        id: OpenKjVenueId,
        accepting: bool,
        system: Option<SystemId>,
    ) -> Result<Venue, VenueError> {
        let venue = self
            .find_by_openkj_id(customer, id)
            .await?
            .ok_or(VenueError::NotFound)?;
        let changes = VenueChanges {
            accepting_requests: Some(accepting),
            system_id: system,
            ..VenueChanges::default()
        };
        self.apply(context, venue, changes).await
    }

    /// Deletes the venue and its requests. Audited as `venue.deleted`.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub async fn delete(
        &self,
        context: &RequestContext,
        customer: CustomerId,
        id: VenueId,
    ) -> Result<(), VenueError> {
        if self.repo.delete_venue(customer, id).await?.value {
            self.audit
                .record(
                    context,
                    Some(customer),
                    AuditAction::VenueDeleted,
                    id.as_uuid(),
                    AuditDetails::new(),
                )
                .await;
            Ok(())
        } else {
            Err(VenueError::NotFound)
        }
    }

    async fn apply(
        &self,
        context: &RequestContext,
        mut venue: Venue,
        changes: VenueChanges,
    ) -> Result<Venue, VenueError> {
        let before = venue.clone();
        let mut details = AuditDetails::new();
        {
            let parts = venue.parts_mut();
            if let Some(name) = changes.name {
                parts.name = name;
            }
            if let Some(url_name) = changes.url_name {
                parts.url_name = url_name;
            }
            if let Some(accepting) = changes.accepting_requests {
                parts.accepting_requests = accepting;
            }
            if let Some(system) = changes.system_id {
                parts.system_id = system;
            }
        }
        if venue == before {
            return Ok(venue);
        }
        if venue.name() != before.name() {
            details.insert("name".into(), venue.name().as_str().into());
        }
        if venue.url_name() != before.url_name() {
            details.insert("urlName".into(), venue.url_name().as_str().into());
        }
        if venue.is_accepting_requests() != before.is_accepting_requests() {
            details.insert(
                "acceptingRequests".into(),
                venue.is_accepting_requests().into(),
            );
        }
        if venue.system_id() != before.system_id() {
            details.insert("systemId".into(), venue.system_id().get().into());
        }
        venue.parts_mut().updated_at = self.clock.now();
        let stored = self.repo.update_venue(&venue).await?.value;
        self.audit
            .record(
                context,
                Some(stored.customer_id()),
                AuditAction::VenueUpdated,
                stored.id().as_uuid(),
                details,
            )
            .await;
        Ok(stored)
    }
}

#[cfg(test)]
#[path = "venues_tests.rs"]
mod tests;
