//! Venues: the places a customer runs karaoke, as OpenKJ and singers see them.
//!
//! A venue has two identities on purpose: a UUID for the customer API, and the small
//! integer `OpenKjVenueId` the OpenKJ client stores in its settings (0 included).

mod url_name;
mod venue;

pub use url_name::{InvalidUrlName, MAX_URL_NAME_CHARS, UrlName};
pub use venue::{
    InvalidOpenKjVenueId, InvalidSystemId, MAX_VENUE_NAME_CHARS, OpenKjVenueId, SystemId, Venue,
    VenueName, VenueParts,
};
