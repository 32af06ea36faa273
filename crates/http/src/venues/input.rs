//! Request bodies and queries, each converting itself into domain values with
//! `try_into_domain` and reporting the first bad field by its wire name (400).

use keyward_domain::ports::{PageRequest, RequestFilter};
use keyward_domain::requests::{KeyChange, SingerName};
use keyward_domain::services::{CreateVenue, Submission, VenueChanges};
use keyward_domain::songbook::{Song, SongQuery};
use keyward_domain::venues::{OpenKjVenueId, SystemId, UrlName, VenueName};
use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{AdditionalProperties, AllOf, AnyOf, ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::error::ApiError;
use crate::schemas;

/// Body of `POST /v1/customer/venues`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateVenueRequest {
    /// 1 to 100 characters, not only white space.
    #[schema(schema_with = schemas::venue_name)]
    pub name: String,
    /// Lower-case letters, digits and single hyphens, 1 to 64 characters; derived from
    /// the name when left out (with `-2`, `-3`, … if taken).
    #[serde(default)]
    #[schema(schema_with = schemas::url_name_or_null)]
    pub url_name: Option<String>,
    /// Default `false`: OpenKJ opens the venue with its "Accepting requests" box.
    #[serde(default)]
    pub accepting_requests: Option<bool>,
    /// OpenKJ's `venue_id`, 0 or more; assigned when left out (0 for the first venue,
    /// then one more than the largest).
    #[serde(default, deserialize_with = "crate::whole::option")]
    #[schema(minimum = 0)]
    pub openkj_venue_id: Option<i32>,
    /// The song book singers search, 1 or more (default 1).
    #[serde(default, deserialize_with = "crate::whole::option")]
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
    /// 1 to 100 characters, not only white space.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::venue_name)]
    pub name: Option<Option<String>>,
    /// The singer page's slug; 409 when another venue has it.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::url_name)]
    pub url_name: Option<Option<String>>,
    /// Whether singers may request songs now.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub accepting_requests: Option<Option<bool>>,
    /// The song book singers search, 1 or more.
    #[serde(default, deserialize_with = "crate::whole::present")]
    #[schema(value_type = i32, required = false, minimum = 1)]
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

/// Body of the request-submitting routes (public and integration). Its schema is written
/// by hand (below): "artist and title are not both empty" needs an `anyOf`, which the
/// derive cannot state.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitRequestBody {
    /// 1 to 100 characters (surrounding white space is dropped).
    pub singer: String,
    /// Exactly as in the song book; may be empty when the title is not.
    pub artist: String,
    /// Exactly as in the song book; may be empty when the artist is not.
    pub title: String,
    /// Semitones, -12 to 12 (default 0).
    #[serde(default, deserialize_with = "crate::whole::option")]
    pub key_change: Option<i64>,
}

impl PartialSchema for SubmitRequestBody {
    fn schema() -> RefOr<Schema> {
        let fields = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("singer", schemas::singer())
            .required("singer")
            .property(
                "artist",
                schemas::song_text(
                    "Exactly as in the song book; may be empty when the title is not.",
                    "ABBA",
                ),
            )
            .required("artist")
            .property(
                "title",
                schemas::song_text(
                    "Exactly as in the song book; may be empty when the artist is not.",
                    "Waterloo",
                ),
            )
            .required("title")
            .property(
                "keyChange",
                ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::SchemaType::Array(vec![
                        Type::Integer,
                        Type::Null,
                    ]))
                    .minimum(Some(i32::from(KeyChange::MIN)))
                    .maximum(Some(i32::from(KeyChange::MAX)))
                    .description(Some("Semitones, -12 to 12 (default 0)."))
                    .examples([-2]),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .build();
        let non_empty = |field: &str| {
            ObjectBuilder::new()
                .property(
                    field,
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1)),
                )
                .build()
        };
        let mut song_named = AnyOf::new();
        song_named.items = vec![non_empty("artist").into(), non_empty("title").into()];
        song_named.description = Some("artist and title are not both empty".to_owned());
        let mut body = AllOf::new();
        body.items = vec![fields.into(), Schema::AnyOf(song_named).into()];
        body.description =
            Some("A song request: who sings, and a song of the venue's song book.".to_owned());
        body.examples = vec![serde_json::json!({
            "singer": "Alice", "artist": "ABBA", "title": "Waterloo", "keyChange": -2
        })];
        Schema::AllOf(body).into()
    }
}

impl ToSchema for SubmitRequestBody {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("SubmitRequestBody")
    }
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

/// Which requests a listing shows: the `status` query parameter's values (it is read as
/// text, so a bad value is a 400 naming `status`).
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum RequestStatus {
    /// The venue's queue.
    Queued,
    /// Its history.
    Processed,
    /// Both.
    All,
}

/// Query of the request listings. Read as text so each bad value is reported with its
/// parameter's name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListRequestsQuery {
    /// `queued` (default: the venue's queue), `processed` (its history) or `all`.
    #[param(value_type = Option<RequestStatus>, example = "queued")]
    pub status: Option<String>,
    /// Page number, 1 to 2147483647 (default 1).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 2_147_483_647)]
    pub page: Option<String>,
    /// Page size, 1 to 100 (default 100).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100)]
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
    /// Page number, 1 to 2147483647 (default 1).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 2_147_483_647)]
    pub page: Option<String>,
    /// Page size, 1 to 100 (default 100).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

impl SongDbQuery {
    /// # Errors
    /// 400 naming the parameter.
    pub fn try_into_domain(self) -> Result<(SystemId, SongQuery, PageRequest), ApiError> {
        let system = match self.system_id.as_deref().map(str::trim) {
            None | Some("") => SystemId::DEFAULT,
            Some(text) => crate::whole::parse::<i32>(text)
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
    /// Page number, 1 to 2147483647 (default 1).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 2_147_483_647)]
    pub page: Option<String>,
    /// Page size, 1 to 100 (default 100).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100)]
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
        Some(text) => crate::whole::parse(text)
            .ok_or_else(|| ApiError::invalid_field(field, "must be a whole number")),
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
    fn whole_numbers_written_with_a_fraction_are_integers_as_the_schema_says() {
        let body: SubmitRequestBody = serde_json::from_value(serde_json::json!({
            "singer": "Alice", "artist": "ABBA", "title": "Waterloo", "keyChange": -2.0
        }))
        .unwrap();
        let venue =
            create(serde_json::json!({"name": "Bar", "systemId": 2.0, "openkjVenueId": 0.0}))
                .unwrap();

        assert_eq!(body.try_into_domain().unwrap().key_change.get(), -2);
        assert_eq!(venue.system_id.get(), 2);
        assert!(
            serde_json::from_value::<SubmitRequestBody>(serde_json::json!({
                "singer": "Alice", "artist": "ABBA", "title": "Waterloo", "keyChange": 1.5
            }))
            .is_err()
        );
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
