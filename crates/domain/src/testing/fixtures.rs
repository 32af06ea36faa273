//! Sample values for the OpenKJ ports' contract scenarios and the services' unit tests.

use time::OffsetDateTime;

use super::NOW;
use crate::ids::{CustomerId, VenueId};
use crate::ports::NewVenue;
use crate::requests::{KeyChange, NewRequest, SingerName};
use crate::songbook::Song;
use crate::venues::{OpenKjVenueId, SystemId, UrlName, Venue, VenueName, VenueParts};

/// A URL name no other test uses (URL names are unique across customers, and PostgreSQL
/// tests may share a database).
pub fn unique_url_name(base: &str) -> UrlName {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];
    UrlName::new(format!("{base}-{suffix}")).unwrap()
}

/// An accepting venue for `customer`, OpenKJ id assigned by storage.
pub fn new_venue(customer: CustomerId) -> NewVenue {
    NewVenue {
        id: VenueId::generate(),
        customer_id: customer,
        openkj_venue_id: None,
        name: VenueName::new("The Rusty Mic").unwrap(),
        url_name: unique_url_name("rusty-mic"),
        accepting_requests: true,
        system_id: SystemId::DEFAULT,
        created_at: NOW,
    }
}

/// `new_venue` with an explicit OpenKJ id.
pub fn new_venue_with_openkj_id(customer: CustomerId, openkj_id: i32) -> NewVenue {
    NewVenue {
        openkj_venue_id: Some(OpenKjVenueId::new(openkj_id).unwrap()),
        ..new_venue(customer)
    }
}

/// A stored-looking venue, for services' unit tests.
pub fn venue(customer: CustomerId, openkj_id: i32, accepting: bool) -> Venue {
    Venue::from_parts(VenueParts {
        id: VenueId::generate(),
        customer_id: customer,
        openkj_venue_id: OpenKjVenueId::new(openkj_id).unwrap(),
        name: VenueName::new("The Rusty Mic").unwrap(),
        url_name: unique_url_name("rusty-mic"),
        accepting_requests: accepting,
        system_id: SystemId::DEFAULT,
        created_at: NOW,
        updated_at: NOW,
    })
}

pub fn song(artist: &str, title: &str) -> Song {
    Song::new(artist, title).unwrap()
}

/// A request by `singer` for ABBA's Waterloo, two semitones down, at `at`.
pub fn new_request(singer: &str, at: OffsetDateTime) -> NewRequest {
    NewRequest {
        singer: SingerName::new(singer).unwrap(),
        song: song("ABBA", "Waterloo"),
        key_change: KeyChange::new(-2).unwrap(),
        requested_at: at,
    }
}
