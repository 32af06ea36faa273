//! Wire shapes of venues, song books and singer requests (SPEC §8), shared by the
//! customer API, the integration API and the public singer API. Domain models never
//! cross the wire directly: responses are built from them, inputs convert into them.

pub mod input;
pub mod output;

pub use input::{
    CreateVenueRequest, ListRequestsQuery, PublicSongsQuery, RequestStatus, SongDbQuery,
    SubmitRequestBody, UpdateVenueRequest,
};
pub use output::{
    PublicVenueResponse, RequestPage, SongPage, SongPagination, SongRequestResponse, SongResponse,
    SubmittedRequestResponse, VenueList, VenueResponse,
};
