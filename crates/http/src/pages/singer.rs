//! The singer pages (SPEC §15): a venue's page with its song search, and the request
//! form. They call the same services, budgets and rules as the public singer API
//! (SPEC §8, [`crate::public`]), and answer every error as a page.
//!
//! - `GET /v/{urlName}?q=&page=`: the venue, whether it takes requests, 25 songs per
//!   page; a confirmation after a request ([`FLASH_COOKIE`]).
//! - `GET /v/{urlName}/request?artist=&title=`: the form for one song.
//! - `POST /v/{urlName}/request` (a form): 303 to the venue's page on success (the
//!   POST/redirect/GET pattern, so a reload does not ask twice); the form again with
//!   each bad field's message next to it (400); the "not taking requests" message (409).

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use keyward_domain::ports::{Page, PageRequest};
use keyward_domain::requests::{KeyChange, MAX_SINGER_CHARS, SingerName};
use keyward_domain::services::{RequestError, Submission};
use keyward_domain::songbook::{MAX_SONG_TEXT_CHARS, Song, SongQuery, StoredSong, total_is_capped};
use keyward_domain::venues::Venue;
use maud::{Markup, html};

use super::dashboard::session::check_fetch_site;
use super::form::FormFields;
use super::layout::{self, Script, html_response, set_page_headers};
use super::{error_page, error_page_linking};
use crate::boundary::NUL_MESSAGE;
use crate::client_ip::client_ip;
use crate::error::ApiError;
use crate::public::venue_of;
use crate::state::AppState;

/// Songs per page: a phone screen or two.
pub const PAGE_SIZE: u32 = 25;

/// The confirmation of the last request, read (and cleared) by the venue's page. It
/// holds what the singer just typed, so it is theirs alone: `HttpOnly`, this venue's
/// path, five minutes.
pub const FLASH_COOKIE: &str = "kw_flash";

/// The singer's name, to fill in the next request form: `HttpOnly`, `/v`, 12 hours.
pub const SINGER_COOKIE: &str = "kw_singer";

/// Longest cookie value kept whole; past it the confirmation leaves out the song (a
/// browser keeps about 4 KiB per cookie, and song text may be 255 characters of
/// non-ASCII, which percent-encoding makes up to 12 bytes each).
const MAX_FLASH_BYTES: usize = 3_000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v/{urlName}").route(web::get().to(venue_page)))
        .service(
            web::resource("/v/{urlName}/request")
                .route(web::get().to(request_form))
                .route(web::post().to(submit_request)),
        );
}

// ---- handlers ---------------------------------------------------------------------------

/// `GET /v/{urlName}`.
async fn venue_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match show_venue(&req, &state).await {
        Ok(response) => response,
        Err(error) => error_page(&error),
    }
}

async fn show_venue(req: &HttpRequest, state: &AppState) -> Result<HttpResponse, ApiError> {
    state.public_limiter.check_read(client_ip(req))?;
    let venue = venue_of(state, req).await?;
    let query = FormFields::parse(req.query_string().as_bytes());
    let terms = query.get("q");
    let page = page_number(query.get("page"))?;
    let found = state
        .karaoke
        .songs
        .search(
            venue.customer_id(),
            venue.system_id(),
            &SongQuery::parse(terms),
            page,
        )
        .await?;
    let confirmation = raw_cookie(req, FLASH_COOKIE).and_then(|value| Confirmation::decode(&value));
    let body = venue_view(&venue, terms, &found, confirmation.as_ref());
    let mut response = HttpResponse::Ok();
    set_page_headers(&mut response);
    if confirmation.is_some() {
        response.cookie(expired(FLASH_COOKIE, flash_path(&venue)));
    }
    Ok(response.body(layout::page(venue.name().as_str(), &body, Script::Singer).into_string()))
}

/// `GET /v/{urlName}/request?artist=&title=`.
async fn request_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match show_request_form(&req, &state).await {
        Ok(response) => response,
        Err(error) => error_page(&error),
    }
}

async fn show_request_form(req: &HttpRequest, state: &AppState) -> Result<HttpResponse, ApiError> {
    state.public_limiter.check_read(client_ip(req))?;
    let venue = venue_of(state, req).await?;
    let query = FormFields::parse(req.query_string().as_bytes());
    let entered = Entered {
        singer: raw_cookie(req, SINGER_COOKIE)
            .map(|value| FormFields::parse(value.as_bytes()).get("name").to_owned())
            .unwrap_or_default(),
        artist: query.get("artist").to_owned(),
        title: query.get("title").to_owned(),
        key_change: "0".to_owned(),
    };
    if let Err(message) = check_song(&entered.artist, &entered.title) {
        return Ok(error_page_linking(
            &ApiError::validation(format!("{message}; pick a song from the list")),
            &venue_path(&venue),
            "Back to the song list",
        ));
    }
    let body = request_view(&venue, &entered, &FieldErrors::default());
    Ok(html_response(
        StatusCode::OK,
        layout::page(&request_title(&venue), &body, Script::None),
    ))
}

/// `POST /v/{urlName}/request`.
async fn submit_request(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<FormFields, ApiError>,
) -> HttpResponse {
    match submit(&req, &state, form).await {
        Ok(response) => response,
        Err(error) => error_page(&error),
    }
}

async fn submit(
    req: &HttpRequest,
    state: &AppState,
    form: Result<FormFields, ApiError>,
) -> Result<HttpResponse, ApiError> {
    // A plain form can be posted from any site: a page elsewhere must not file
    // requests from its visitors' browsers (each with its own budget), nor put its text
    // in this venue's confirmation.
    check_fetch_site(req)?;
    state.public_limiter.check_submission(client_ip(req))?;
    let venue = venue_of(state, req).await?;
    let back = venue_path(&venue);
    let form = match form {
        Ok(form) => form,
        Err(error) => return Ok(error_page_linking(&error, &back, "Back to the song list")),
    };
    let entered = Entered {
        singer: form.get("singer").to_owned(),
        artist: form.get("artist").to_owned(),
        title: form.get("title").to_owned(),
        key_change: form.get("keyChange").to_owned(),
    };
    let submission = match entered.validate() {
        Ok(submission) => submission,
        Err(errors) => {
            let body = request_view(&venue, &entered, &errors);
            return Ok(html_response(
                StatusCode::BAD_REQUEST,
                layout::page(&request_title(&venue), &body, Script::None),
            ));
        }
    };
    let request = match state.karaoke.requests.submit(&venue, submission).await {
        Ok(request) => request,
        Err(RequestError::NotAccepting) => {
            // The venue closed between the form and the submission: show the form's
            // page again, which now says so.
            let closed = Venue::from_parts(keyward_domain::venues::VenueParts {
                accepting_requests: false,
                ..venue.parts().clone()
            });
            let body = request_view(&closed, &entered, &FieldErrors::default());
            return Ok(html_response(
                StatusCode::CONFLICT,
                layout::page(&request_title(&venue), &body, Script::None),
            ));
        }
        Err(other) => return Err(other.into()),
    };
    let confirmation = Confirmation {
        request_id: request.id().get(),
        singer: request.singer().as_str().to_owned(),
        artist: request.song().artist().to_owned(),
        title: request.song().title().to_owned(),
    };
    let secure = req.connection_info().scheme() == "https";
    let mut response = HttpResponse::SeeOther();
    set_page_headers(&mut response);
    response
        .insert_header((
            header::LOCATION,
            HeaderValue::from_str(&back).unwrap_or(HeaderValue::from_static("/")),
        ))
        .cookie(
            Cookie::build(FLASH_COOKIE, confirmation.encode())
                .path(flash_path(&venue))
                .max_age(CookieDuration::minutes(5))
                .http_only(true)
                .secure(secure)
                .same_site(SameSite::Lax)
                .finish(),
        )
        .cookie(
            Cookie::build(
                SINGER_COOKIE,
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("name", &confirmation.singer)
                    .finish(),
            )
            .path("/v")
            .max_age(CookieDuration::hours(12))
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .finish(),
        );
    Ok(response.finish())
}

// ---- input ------------------------------------------------------------------------------

/// `page` of the query: empty means 1; anything else must be a page number.
fn page_number(raw: &str) -> Result<PageRequest, ApiError> {
    let page = match raw.trim() {
        "" => 1,
        text => crate::whole::parse::<u32>(text).ok_or_else(|| {
            ApiError::invalid_field("page", "must be a whole number of 1 or more")
        })?,
    };
    Ok(PageRequest::new(page, PAGE_SIZE)?)
}

/// What the singer typed into the request form (or what the page fills in), kept as
/// text so the form can be shown again exactly as sent.
#[derive(Debug, Default)]
struct Entered {
    singer: String,
    artist: String,
    title: String,
    key_change: String,
}

/// Each field's message, shown next to it.
#[derive(Debug, Default, PartialEq, Eq)]
struct FieldErrors {
    singer: Option<String>,
    key_change: Option<String>,
    song: Option<String>,
}

impl Entered {
    /// The submission, or every field's message (not only the first one: a form shows
    /// them all at once). The rules are the public API's (SPEC §8, §2).
    fn validate(&self) -> Result<Submission, FieldErrors> {
        let singer = if self.singer.contains('\0') {
            Err(NUL_MESSAGE.to_owned())
        } else {
            SingerName::new(&self.singer).map_err(|err| err.to_string())
        };
        let key_change = match self.key_change.trim() {
            "" => Ok(KeyChange::default()),
            text => crate::whole::parse::<i64>(text)
                .and_then(|n| KeyChange::new(n).ok())
                .ok_or_else(|| {
                    format!(
                        "must be a whole number from {} to {}",
                        KeyChange::MIN,
                        KeyChange::MAX
                    )
                }),
        };
        let song = check_song(&self.artist, &self.title);
        match (singer, key_change, song) {
            (Ok(singer), Ok(key_change), Ok(song)) => Ok(Submission {
                singer,
                song,
                key_change,
            }),
            (singer, key_change, song) => Err(FieldErrors {
                singer: singer.err(),
                key_change: key_change.err(),
                song: song.err(),
            }),
        }
    }
}

/// The song of a request: artist and title as in the song book.
fn check_song(artist: &str, title: &str) -> Result<Song, String> {
    if artist.contains('\0') || title.contains('\0') {
        return Err(format!("artist and title {NUL_MESSAGE}"));
    }
    Song::new(artist, title).map_err(|err| err.to_string())
}

// ---- the confirmation cookie ------------------------------------------------------------

/// What the venue's page confirms after a request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Confirmation {
    request_id: i32,
    singer: String,
    artist: String,
    title: String,
}

impl Confirmation {
    /// As an urlencoded string (`id=…&singer=…&artist=…&title=…`); without the song
    /// when that would be longer than [`MAX_FLASH_BYTES`].
    fn encode(&self) -> String {
        let whole = form_urlencoded::Serializer::new(String::new())
            .append_pair("id", &self.request_id.to_string())
            .append_pair("singer", &self.singer)
            .append_pair("artist", &self.artist)
            .append_pair("title", &self.title)
            .finish();
        if whole.len() <= MAX_FLASH_BYTES {
            return whole;
        }
        form_urlencoded::Serializer::new(String::new())
            .append_pair("id", &self.request_id.to_string())
            .append_pair("singer", &self.singer)
            .finish()
    }

    /// `None` for anything that is not what [`Self::encode`] wrote (the cookie is the
    /// client's to change; it only ever changes what that client sees).
    fn decode(value: &str) -> Option<Self> {
        let fields = FormFields::parse(value.as_bytes());
        let request_id = fields.get("id").parse().ok()?;
        let singer = fields.get("singer");
        let short = |text: &str, max: usize| text.chars().count() <= max;
        if singer.is_empty()
            || !short(singer, MAX_SINGER_CHARS)
            || !short(fields.get("artist"), MAX_SONG_TEXT_CHARS)
            || !short(fields.get("title"), MAX_SONG_TEXT_CHARS)
        {
            return None;
        }
        Some(Self {
            request_id,
            singer: singer.to_owned(),
            artist: fields.get("artist").to_owned(),
            title: fields.get("title").to_owned(),
        })
    }
}

/// The value of cookie `name` exactly as the browser sent it. Both singer cookies hold
/// urlencoded text (`name=Ann+Lee`, `id=1&singer=…`), which is a valid cookie value as
/// it is (RFC 6265 §4.1.1: no space, `"`, `,`, `;` or `\\`); actix's own cookie parser
/// would percent-decode it once more, turning an encoded `&` back into a separator.
fn raw_cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
}

/// A cookie that tells the browser to forget `name` at `path`.
fn expired(name: &'static str, path: String) -> Cookie<'static> {
    let mut cookie = Cookie::build(name, "")
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish();
    cookie.make_removal();
    cookie
}

// ---- views ------------------------------------------------------------------------------

fn venue_path(venue: &Venue) -> String {
    format!("/v/{}", venue.url_name().as_str())
}

fn flash_path(venue: &Venue) -> String {
    venue_path(venue)
}

fn request_title(venue: &Venue) -> String {
    format!("Request a song · {}", venue.name().as_str())
}

/// `/v/{urlName}?q=…&page=…` (no `page` for the first one).
fn search_href(venue: &Venue, terms: &str, page: u32) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("q", terms);
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    format!("{}?{}", venue_path(venue), query.finish())
}

/// `/v/{urlName}/request?artist=…&title=…`.
fn request_href(venue: &Venue, song: &Song) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("artist", song.artist())
        .append_pair("title", song.title())
        .finish();
    format!("{}/request?{query}", venue_path(venue))
}

/// "12 songs", "1 song", "1,000 or more songs — …", or why there are none.
fn count_text(total: u64, terms: &str) -> String {
    if total_is_capped(total) {
        return "1,000 or more songs — add a word to narrow it down".to_owned();
    }
    match total {
        0 if terms.trim().is_empty() => "This song book is empty".to_owned(),
        0 => "No songs match your search".to_owned(),
        1 => "1 song".to_owned(),
        n => format!("{} songs", thousands(n)),
    }
}

/// `1234` → `1,234` (en-US, like the page's script).
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn status_view(venue: &Venue) -> Markup {
    let accepting = venue.is_accepting_requests();
    html! {
        p #venue-status .status data-accepting=(accepting) {
            @if accepting { "Taking requests" } @else { "Not taking requests right now" }
        }
    }
}

fn venue_view(
    venue: &Venue,
    terms: &str,
    found: &Page<StoredSong>,
    confirmation: Option<&Confirmation>,
) -> Markup {
    let page = found.request.page();
    let capped = total_is_capped(found.total);
    let has_next = found.items.len() == found.request.limit() as usize
        && (capped || u64::from(page) < found.total_pages());
    let pages_label = if capped {
        format!("Page {page}")
    } else {
        format!("Page {page} of {}", found.total_pages().max(1))
    };
    html! {
        h1 #venue-name { (venue.name().as_str()) }
        (status_view(venue))
        @if let Some(done) = confirmation {
            div #confirmation .notice.notice-ok role="status" {
                p {
                    strong { "Thanks, " (done.singer) "!" }
                    @if done.artist.is_empty() && done.title.is_empty() {
                        " Your request is in"
                    } @else {
                        " Your request for " span .title { (done.title) }
                        @if !done.artist.is_empty() { " by " span .artist { (done.artist) } }
                        " is in"
                    }
                    " (number " (done.request_id) "). The host will call you up."
                }
            }
        }
        form #search role="search" method="get" action=(venue_path(venue))
            data-venue=(venue.url_name().as_str()) data-page-size=(PAGE_SIZE) {
            label for="q" { "Find a song by artist or title" }
            input #q type="search" name="q" value=(terms) autocomplete="off"
                enterkeyhint="search" maxlength="200";
            button type="submit" { "Search" }
        }
        p #result-count aria-live="polite" { (count_text(found.total, terms)) }
        ol #results {
            @for stored in &found.items {
                li .song {
                    span .artist { (stored.song.artist()) }
                    span .title { (stored.song.title()) }
                    a .request-link.button href=(request_href(venue, &stored.song))
                        aria-label={ "Request " (stored.song.title()) " by " (stored.song.artist()) } {
                        "Request"
                    }
                }
            }
        }
        @if found.items.is_empty() && page > 1 {
            p { a href=(search_href(venue, terms, 1)) { "Back to the first page" } }
        }
        nav .pager aria-label="Pages of results" hidden[page == 1 && !has_next] {
            @if page > 1 {
                a rel="prev" href=(search_href(venue, terms, page - 1)) { "← Previous" }
            } @else {
                span .placeholder { "← Previous" }
            }
            span .page-of { (pages_label) }
            @if has_next {
                a rel="next" href=(search_href(venue, terms, page + 1)) { "Next →" }
            } @else {
                span .placeholder { "Next →" }
            }
        }
    }
}

fn request_view(venue: &Venue, entered: &Entered, errors: &FieldErrors) -> Markup {
    let back = venue_path(venue);
    html! {
        p { a href=(back) { "← " (venue.name().as_str()) } }
        h1 { "Request a song" }
        (status_view(venue))
        p .song-chosen {
            span .title { (entered.title) }
            @if !entered.artist.is_empty() { " by " span .artist { (entered.artist) } }
        }
        @if let Some(message) = &errors.song {
            p #song-error .field-error role="alert" { "Song: " (message) }
        }
        @if venue.is_accepting_requests() {
            form #request-form method="post" action={ (back) "/request" } novalidate {
                input type="hidden" name="artist" value=(entered.artist);
                input type="hidden" name="title" value=(entered.title);
                label for="singer" { "Your name" }
                p #singer-hint .hint { "The host calls you up by this name." }
                input #singer type="text" name="singer" value=(entered.singer)
                    maxlength=(MAX_SINGER_CHARS) autocomplete="nickname" required
                    aria-invalid=[errors.singer.as_ref().map(|_| "true")]
                    aria-describedby={ "singer-hint" @if errors.singer.is_some() { " singer-error" } };
                @if let Some(message) = &errors.singer {
                    p #singer-error .field-error { "Your name " (message) }
                }
                label for="keyChange" { "Key change" }
                p #keyChange-hint .hint { "Semitones up or down; leave it at 0 for the original key." }
                select #keyChange name="keyChange"
                    aria-invalid=[errors.key_change.as_ref().map(|_| "true")]
                    aria-describedby={ "keyChange-hint" @if errors.key_change.is_some() { " keyChange-error" } } {
                    @for semitones in KeyChange::MIN..=KeyChange::MAX {
                        option value=(semitones) selected[key_change_selected(&entered.key_change, semitones)] {
                            (key_change_label(semitones))
                        }
                    }
                }
                @if let Some(message) = &errors.key_change {
                    p #keyChange-error .field-error { "Key change " (message) }
                }
                p { button #submit-request type="submit" { "Send request" } }
            }
        } @else {
            p #not-accepting .notice.notice-error role="status" {
                "This venue is not taking requests right now. Ask the host, or try again later."
            }
        }
        p { a href=(back) { "Back to the song list" } }
    }
}

/// Whether `semitones` is the option to select for what was entered (0 when nothing
/// valid was).
fn key_change_selected(entered: &str, semitones: i8) -> bool {
    match crate::whole::parse::<i64>(entered.trim()).and_then(|n| KeyChange::new(n).ok()) {
        Some(chosen) => chosen.get() == semitones,
        None => semitones == 0,
    }
}

/// `+2`, `0 (original key)`, `−3` (a real minus sign; the value sent is `-3`).
fn key_change_label(semitones: i8) -> String {
    match semitones {
        0 => "0 (original key)".to_owned(),
        n if n > 0 => format!("+{n}"),
        n => format!("\u{2212}{}", n.unsigned_abs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entered(singer: &str, artist: &str, title: &str, key_change: &str) -> Entered {
        Entered {
            singer: singer.to_owned(),
            artist: artist.to_owned(),
            title: title.to_owned(),
            key_change: key_change.to_owned(),
        }
    }

    #[test]
    fn a_valid_form_becomes_a_submission() {
        let submission = entered("  Alice ", "ABBA", "Waterloo", "-2")
            .validate()
            .unwrap();

        assert_eq!(submission.singer.as_str(), "Alice");
        assert_eq!(submission.song.title(), "Waterloo");
        assert_eq!(submission.key_change.get(), -2);
    }

    #[test]
    fn an_empty_key_change_is_the_original_key() {
        let submission = entered("Bob", "", "Halo", "").validate().unwrap();

        assert_eq!(submission.key_change.get(), 0);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errors = entered(" ", "", "", "13").validate().unwrap_err();

        assert_eq!(errors.singer.as_deref(), Some("must not be empty"));
        assert_eq!(
            errors.key_change.as_deref(),
            Some("must be a whole number from -12 to 12")
        );
        assert_eq!(
            errors.song.as_deref(),
            Some("artist and title must not both be empty")
        );
    }

    #[test]
    fn nul_is_refused_in_every_field() {
        let errors = entered("A\0", "B\0", "C", "0").validate().unwrap_err();

        assert_eq!(errors.singer.as_deref(), Some(NUL_MESSAGE));
        assert!(errors.song.unwrap().ends_with(NUL_MESSAGE));
    }

    #[test]
    fn a_singer_name_over_100_characters_is_refused() {
        let errors = entered(&"x".repeat(101), "A", "B", "0")
            .validate()
            .unwrap_err();

        assert_eq!(
            errors.singer.as_deref(),
            Some("must be at most 100 characters")
        );
    }

    #[test]
    fn the_confirmation_survives_its_cookie() {
        let done = Confirmation {
            request_id: 7,
            singer: "Zoë & Co".to_owned(),
            artist: "Beyoncé".to_owned(),
            title: "Halo; <b>".to_owned(),
        };

        assert_eq!(Confirmation::decode(&done.encode()), Some(done));
    }

    #[test]
    fn cookies_are_read_as_sent_so_encoded_separators_stay_encoded() {
        let done = Confirmation {
            request_id: 3,
            singer: "Eve & \"Mallory\"; Max-Age=0 + 100%".to_owned(),
            artist: "<b>Bold</b>".to_owned(),
            title: "A & B".to_owned(),
        };
        let req = actix_web::test::TestRequest::default()
            .insert_header((
                header::COOKIE,
                format!("other=1; {FLASH_COOKIE}={}; last=2", done.encode()),
            ))
            .to_http_request();

        let read = raw_cookie(&req, FLASH_COOKIE).and_then(|value| Confirmation::decode(&value));

        assert_eq!(read, Some(done));
        assert_eq!(raw_cookie(&req, "last").as_deref(), Some("2"));
        assert_eq!(raw_cookie(&req, "missing"), None);
    }

    #[test]
    fn a_long_confirmation_leaves_out_the_song() {
        let done = Confirmation {
            request_id: 7,
            singer: "Ann".to_owned(),
            artist: "é".repeat(255),
            title: "ü".repeat(255),
        };

        let decoded = Confirmation::decode(&done.encode()).unwrap();

        assert_eq!(decoded.singer, "Ann");
        assert_eq!((decoded.artist.as_str(), decoded.title.as_str()), ("", ""));
    }

    #[test]
    fn a_forged_confirmation_is_ignored() {
        assert_eq!(Confirmation::decode("id=x&singer=A"), None);
        assert_eq!(Confirmation::decode("id=1&singer="), None);
        assert_eq!(Confirmation::decode(""), None);
    }

    #[test]
    fn counts_read_as_sentences() {
        assert_eq!(count_text(0, ""), "This song book is empty");
        assert_eq!(count_text(0, "zzz"), "No songs match your search");
        assert_eq!(count_text(1, "a"), "1 song");
        assert_eq!(count_text(999, "a"), "999 songs");
        assert!(count_text(1_000, "a").starts_with("1,000 or more"));
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }

    #[test]
    fn key_change_options_select_what_was_entered() {
        assert!(key_change_selected("-3", -3));
        assert!(!key_change_selected("-3", 0));
        assert!(key_change_selected("nonsense", 0));
        assert_eq!(key_change_label(-3), "\u{2212}3");
        assert_eq!(key_change_label(4), "+4");
    }

    #[test]
    fn page_numbers_are_checked() {
        assert_eq!(page_number("").unwrap().page(), 1);
        assert_eq!(page_number(" 3 ").unwrap().page(), 3);
        for bad in ["0", "-1", "x", "1.5"] {
            assert!(page_number(bad).is_err(), "{bad}");
        }
    }
}
