//! `venues` rows and their conversion to and from the domain's [`Venue`].

use diesel::prelude::*;
use keyward_domain::ports::{NewVenue, StorageError, truncate_to_micros};
use keyward_domain::venues::{OpenKjVenueId, SystemId, UrlName, Venue, VenueName, VenueParts};
use keyward_domain::{CustomerId, VenueId};

use crate::customer_state::CorruptColumn;
use crate::schema::venues;
use crate::types::{DbInstant, DbUuid};

/// Every column of `venues`, as read.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = venues)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct VenueRow {
    id: DbUuid,
    customer_id: DbUuid,
    openkj_venue_id: i32,
    name: String,
    url_name: String,
    accepting_requests: bool,
    system_id: i32,
    created_at: DbInstant,
    updated_at: DbInstant,
}

/// Every column of `venues`, as inserted.
#[derive(Debug, Insertable)]
#[diesel(table_name = venues)]
pub(crate) struct NewVenueRow<'a> {
    id: DbUuid,
    customer_id: DbUuid,
    openkj_venue_id: i32,
    created_at: DbInstant,
    #[diesel(embed)]
    changes: VenueChanges<'a>,
}

/// The columns an update replaces.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = venues)]
pub(crate) struct VenueChanges<'a> {
    name: &'a str,
    url_name: &'a str,
    accepting_requests: bool,
    system_id: i32,
    updated_at: DbInstant,
}

impl<'a> From<&'a Venue> for VenueChanges<'a> {
    fn from(venue: &'a Venue) -> Self {
        Self {
            name: venue.name().as_str(),
            url_name: venue.url_name().as_str(),
            accepting_requests: venue.is_accepting_requests(),
            system_id: venue.system_id().get(),
            updated_at: DbInstant(venue.updated_at()),
        }
    }
}

/// The venue a [`NewVenue`] becomes once its OpenKJ id is settled (what gets stored).
pub(crate) fn stored_venue(new: NewVenue, openkj_venue_id: OpenKjVenueId) -> Venue {
    let created_at = truncate_to_micros(new.created_at);
    Venue::from_parts(VenueParts {
        id: new.id,
        customer_id: new.customer_id,
        openkj_venue_id,
        name: new.name,
        url_name: new.url_name,
        accepting_requests: new.accepting_requests,
        system_id: new.system_id,
        created_at,
        updated_at: created_at,
    })
}

impl<'a> From<&'a Venue> for NewVenueRow<'a> {
    fn from(venue: &'a Venue) -> Self {
        Self {
            id: DbUuid(venue.id().as_uuid()),
            customer_id: DbUuid(venue.customer_id().as_uuid()),
            openkj_venue_id: venue.openkj_venue_id().get(),
            created_at: DbInstant(venue.created_at()),
            changes: VenueChanges::from(venue),
        }
    }
}

impl TryFrom<VenueRow> for Venue {
    type Error = StorageError;

    fn try_from(row: VenueRow) -> Result<Self, StorageError> {
        let corrupt = |column| StorageError::other(CorruptColumn(column));
        Ok(Venue::from_parts(VenueParts {
            id: VenueId::from_uuid(row.id.0),
            customer_id: CustomerId::from_uuid(row.customer_id.0),
            openkj_venue_id: OpenKjVenueId::new(row.openkj_venue_id)
                .map_err(|_| corrupt("venues.openkj_venue_id"))?,
            name: VenueName::new(row.name).map_err(|_| corrupt("venues.name"))?,
            url_name: UrlName::new(row.url_name).map_err(|_| corrupt("venues.url_name"))?,
            accepting_requests: row.accepting_requests,
            system_id: SystemId::new(row.system_id).map_err(|_| corrupt("venues.system_id"))?,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }))
    }
}

pub(crate) fn to_venues(rows: Vec<VenueRow>) -> Result<Vec<Venue>, StorageError> {
    rows.into_iter().map(Venue::try_from).collect()
}
