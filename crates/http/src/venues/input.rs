//! Request bodies and queries, each converting itself into domain values with
//! `try_into_domain` and reporting the first bad field by its wire name (400).

use keyward_domain::ports::{PageRequest, RequestFilter};
use keyward_domain::requests::{KeyChange, SingerName};
use keyward_domain::services::{CreateVenue, Submission, VenueChanges};
use keyward_domain::songbook::{Song, SongQuery};
use keyward_domain::venues::{OpenKjVenueId, SystemId, UrlName, VenueName};
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Body of `POST /v1/customer/venues`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateVenueRequest {
    /// 1 to 100 characters.
    #[schema(example = "The Rusty Mic")]
    pub name: String,
    /// Lower-case letters, digits and single hyphens, 1 to 64 characters; derived from
    /// the name when left out (with `-2`, `-3`, … if taken).
    #[serde(default)]
    #[schema(example = "the-rusty-mic")]
    pub url_name: Option<String>,
    /// Default `false`: OpenKJ opens the venue with its "Accepting requests" box.
    #[serde(default)]
    pub accepting_requests: Option<bool>,
    /// OpenKJ's `venue_id`, 0 or more; assigned when left out (0 for the first venue,
    /// then one more than the largest).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub openkj_venue_id: Option<i32>,
    /// The song book singers search, 1 or more (default 1).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub system_id: Option<i32>,
}

impl CreateVenueRequest {
    /// # Errors
    /// 400 naming the first field that breaks a rule.
    pub fn try_into_domain(self) -> Result<CreateVenue, ApiError> {
        Ok(CreateVenue {
            name: venue_name(self.name)?,
            url_name: self.url_name.map(url_name).transpose()?,
            accepting_requests: self.accepting_requests.unwrap_or(false),
            openkj_venue_id: self
                .openkj_venue_id
                .map(|id| {
                    OpenKjVenueId::new(id)
                        .map_err(|err| ApiError::invalid_field("openkjVenueId", err))
                })
                .transpose()?,
            system_id: self
                .system_id
                .map(system_id)
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// Body of `PATCH /v1/customer/venues/{id}`: every field optional, none nullable.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateVenueRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub url_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub accepting_requests: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i32>, minimum = 1)]
    pub system_id: Option<Option<i32>>,
}

impl UpdateVenueRequest {
    /// # Errors
    /// 400 naming the first field that breaks a rule (or is `null`).
    pub fn try_into_domain(self) -> Result<VenueChanges, ApiError> {
        Ok(VenueChanges {
            name: not_null("name", self.name)?.map(venue_name).transpose()?,
            url_name: not_null("urlName", self.url_name)?
                .map(url_name)
                .transpose()?,
            accepting_requests: not_null("acceptingRequests", self.accepting_requests)?,
            system_id: not_null("systemId", self.system_id)?
                .map(system_id)
                .transpose()?,
        })
    }
}

/// Body of the request-submitting routes (public and integration).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitRequestBody {
    /// 1 to 100 characters (surrounding spaces are dropped).
    #[schema(example = "Alice")]
    pub singer: String,
    /// Exactly as in the song book; may be empty when the title is not.
    #[schema(example = "ABBA")]
    pub artist: String,
    #[schema(example = "Waterloo")]
    pub title: String,
    /// Semitones, -12 to 12 (default 0).
    #[serde(default)]
    #[schema(minimum = -12, maximum = 12, example = -2)]
    pub key_change: Option<i64>,
}

impl SubmitRequestBody {
    /// # Errors
    /// 400 naming the first field that breaks a rule.
    pub fn try_into_domain(self) -> Result<Submission, ApiError> {
        Ok(Submission {
            singer: SingerName::new(&self.singer)
                .map_err(|err| ApiError::invalid_field("singer", err))?,
            song: Song::new(self.artist, self.title)
                .map_err(|err| ApiError::invalid_field("artist/title", err))?,
            key_change: self
                .key_change
                .map(KeyChange::new)
                .transpose()
                .map_err(|err| ApiError::invalid_field("keyChange", err))?
                .unwrap_or_default(),
        })
    }
}

/// Query of the request listings. Read as text so each bad value is reported with its
/// parameter's name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListRequestsQuery {
    /// `queued` (default: the venue's queue), `processed` (its history) or `all`.
    #[param(value_type = Option<String>, example = "queued")]
    pub status: Option<String>,
    /// Page number, from 1 (default 1).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page: Option<String>,
    /// Page size, 1 to 100 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

impl ListRequestsQuery {
    /// # Errors
    /// 400 naming the parameter.
    pub fn try_into_domain(self) -> Result<(RequestFilter, PageRequest), ApiError> {
        let processed = match self.status.as_deref().map(str::trim) {
            None | Some("" | "queued") => Some(false),
            Some("processed") => Some(true),
            Some("all") => None,
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "status",
                    "must be queued, processed or all",
                ));
            }
        };
        let page = page_request(self.page.as_deref(), self.limit.as_deref())?;
        Ok((RequestFilter { processed }, page))
    }
}

/// Query of the song book listings that name a system.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct SongDbQuery {
    /// The song book (OpenKJ System ID), default 1.
    #[param(value_type = Option<i32>, minimum = 1)]
    pub system_id: Option<String>,
    /// Words that must all occur in the artist or the title (case-insensitive).
    pub q: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

impl SongDbQuery {
    /// # Errors
    /// 400 naming the parameter.
    pub fn try_into_domain(self) -> Result<(SystemId, SongQuery, PageRequest), ApiError> {
        let system = match self.system_id.as_deref().map(str::trim) {
            None | Some("") => SystemId::DEFAULT,
            Some(text) => text
                .parse::<i32>()
                .ok()
                .and_then(|id| SystemId::new(id).ok())
                .ok_or_else(|| {
                    ApiError::invalid_field("systemId", "must be a whole number of 1 or more")
                })?,
        };
        let query = SongQuery::parse(self.q.as_deref().unwrap_or_default());
        let page = page_request(self.page.as_deref(), self.limit.as_deref())?;
        Ok((system, query, page))
    }
}

/// Query of a venue's public song search (the venue decides the song book).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicSongsQuery {
    /// Words that must all occur in the artist or the title (case-insensitive).
    pub q: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

impl PublicSongsQuery {
    /// # Errors
    /// 400 naming the parameter.
    pub fn try_into_domain(self) -> Result<(SongQuery, PageRequest), ApiError> {
        let query = SongQuery::parse(self.q.as_deref().unwrap_or_default());
        let page = page_request(self.page.as_deref(), self.limit.as_deref())?;
        Ok((query, page))
    }
}

// ---- helpers ----------------------------------------------------------------------------

fn venue_name(name: String) -> Result<VenueName, ApiError> {
    VenueName::new(name).map_err(|err| ApiError::invalid_field("name", err))
}

fn url_name(slug: String) -> Result<UrlName, ApiError> {
    UrlName::new(slug).map_err(|err| ApiError::invalid_field("urlName", err))
}

fn system_id(id: i32) -> Result<SystemId, ApiError> {
    SystemId::new(id).map_err(|err| ApiError::invalid_field("systemId", err))
}

/// `page` (default 1) and `limit` (default 100, the most a page holds).
fn page_request(page: Option<&str>, limit: Option<&str>) -> Result<PageRequest, ApiError> {
    let page = number("page", page, 1)?;
    let limit = number("limit", limit, 100)?;
    Ok(PageRequest::new(page, limit)?)
}

fn number(field: &str, raw: Option<&str>, default: u32) -> Result<u32, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| ApiError::invalid_field(field, "must be a whole number")),
    }
}

/// Distinguishes a field sent as `null` (`Some(None)`) from one left out (`None`).
#[allow(
    clippy::option_option,
    reason = "absent, null and a value are three cases"
)]
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[allow(
    clippy::option_option,
    reason = "absent, null and a value are three cases"
)]
fn not_null<T>(field: &str, value: Option<Option<T>>) -> Result<Option<T>, ApiError> {
    match value {
        Some(None) => Err(ApiError::invalid_field(field, "must not be null")),
        Some(Some(value)) => Ok(Some(value)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(json: serde_json::Value) -> Result<CreateVenue, ApiError> {
        serde_json::from_value::<CreateVenueRequest>(json)
            .unwrap()
            .try_into_domain()
    }

    #[test]
    fn create_defaults_to_closed_system_one_and_assigned_ids() {
        let venue = create(serde_json::json!({"name": "Bar"})).unwrap();

        assert!(!venue.accepting_requests);
        assert_eq!(venue.system_id, SystemId::DEFAULT);
        assert_eq!((venue.url_name, venue.openkj_venue_id), (None, None));
    }

    #[test]
    fn create_names_the_bad_field() {
        let bad_slug = create(serde_json::json!({"name": "Bar", "urlName": "Bad Slug"}));
        let bad_id = create(serde_json::json!({"name": "Bar", "openkjVenueId": -1}));
        let blank = create(serde_json::json!({"name": "  "}));

        assert!(bad_slug.unwrap_err().detail().starts_with("urlName: "));
        assert!(bad_id.unwrap_err().detail().starts_with("openkjVenueId: "));
        assert!(blank.unwrap_err().detail().starts_with("name: "));
    }

    #[test]
    fn patch_refuses_null_for_every_field() {
        let body: UpdateVenueRequest =
            serde_json::from_value(serde_json::json!({"acceptingRequests": null})).unwrap();

        let err = body.try_into_domain().unwrap_err();

        assert_eq!(err.detail(), "acceptingRequests: must not be null");
    }

    #[test]
    fn request_status_must_be_known() {
        let query = ListRequestsQuery {
            status: Some("done".into()),
            ..ListRequestsQuery::default()
        };

        let err = query.try_into_domain().unwrap_err();

        assert!(err.detail().starts_with("status: "), "{}", err.detail());
    }

    #[test]
    fn submission_checks_key_change_range() {
        let body: SubmitRequestBody = serde_json::from_value(serde_json::json!({
            "singer": "Alice", "artist": "ABBA", "title": "Waterloo", "keyChange": 13
        }))
        .unwrap();

        let err = body.try_into_domain().unwrap_err();

        assert!(err.detail().starts_with("keyChange: "), "{}", err.detail());
    }
}
