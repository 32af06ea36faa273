//! `KaraokeServices`: the venue, request, song book and OpenKJ services built over one
//! [`OpenKjStore`], so every caller (the binary, tests) wires them the same way.

use std::sync::Arc;

use crate::ports::{Clock, OpenKjStore};
use crate::services::{
    AuditTrail, OpenKjPolicy, OpenKjService, RequestService, SongBookService, VenueService,
};

/// Everything venues, song books, requests and the OpenKJ endpoint need.
#[derive(Debug, Clone)]
pub struct KaraokeServices {
    pub venues: VenueService,
    pub requests: RequestService,
    pub songs: SongBookService,
    pub openkj: OpenKjService,
}

impl KaraokeServices {
    pub fn new(
        store: Arc<dyn OpenKjStore>,
        clock: Arc<dyn Clock>,
        audit: AuditTrail,
        policy: OpenKjPolicy,
    ) -> Self {
        let venues = VenueService::new(store.clone(), clock.clone(), audit);
        let requests = RequestService::new(store.clone(), clock.clone());
        let songs = SongBookService::new(store.clone());
        let openkj = OpenKjService::new(
            venues.clone(),
            requests.clone(),
            songs.clone(),
            store,
            clock,
            policy,
        );
        Self {
            venues,
            requests,
            songs,
            openkj,
        }
    }
}
