//! `getSongs` without `page`, `limit` or `searchString` (SPEC §9): the whole song book of
//! `system_id` — every song book of the account when it is absent — as one reply,
//! streamed.
//!
//! A 200,000-song book is ~30 MB of JSON, so the reply is never built in memory: the
//! body is written chunk by chunk ([`SONG_STREAM_CHUNK`] songs each, read with one query
//! on a connection held only for that query), and the next chunk is read only when
//! actix asks for more body, i.e. once the previous one has mostly been written to the
//! socket. The first chunk is read before the status line goes out, so a storage
//! failure at the start is still an ordinary `error: true` reply. A failure later can no
//! longer change the status: it is logged at WARN and the body ends where it is — the
//! JSON then lacks its closing `]}` and no parser accepts it.
//!
//! The reply: `{"command":"getSongs","error":false,"songs":[{song_id, artist, title,
//! songid}, …],"total":<songs listed>}`, songs in ascending `song_id` (upload) order.
//! `total` comes last and counts the songs of this reply, so it is exact even when an
//! upload runs meanwhile. Songs added while the reply streams may or may not be listed,
//! songs removed meanwhile may already have been listed, and no song is listed twice
//! (see `SongBookRepository::songs_after`).

use std::convert::Infallible;

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;
use actix_web::web::Bytes;
use futures::Stream;
use keyward_domain::CustomerId;
use keyward_domain::openkj::Command;
use keyward_domain::services::{OpenKjError, OpenKjService};
use keyward_domain::songbook::{SongId, StoredSong};
use keyward_domain::venues::SystemId;
use serde::{Serialize, Serializer};
use tracing::{Instrument, Span};

use super::wire::Fields;
use crate::error::ErrorChain;

/// Songs per chunk of a streamed `getSongs` reply (about 0.5 MB of JSON): the most a
/// reply holds in memory at once, and the number of songs one query reads.
pub const SONG_STREAM_CHUNK: u32 = 5_000;

/// Fields that ask `getSongs` for one page of a search instead of the whole book.
const PAGING_FIELDS: [&str; 3] = ["page", "limit", "searchString"];

/// Whether this is `getSongs` for the whole book: none of `page`, `limit` and
/// `searchString` present (`null` counts as absent).
pub(super) fn wants_whole_book(command: Command, fields: &Fields) -> bool {
    command == Command::GetSongs && PAGING_FIELDS.iter().all(|name| fields.get(name).is_none())
}

/// One song as `getSongs` lists it, paged or whole: `song_id` (JSON integer) and the
/// same id as a decimal string in `songid`, for clients of the seed design.
#[derive(Debug, Serialize)]
pub(super) struct ListedSong<'a> {
    song_id: i64,
    artist: &'a str,
    title: &'a str,
    #[serde(serialize_with = "decimal")]
    songid: SongId,
}

impl<'a> From<&'a StoredSong> for ListedSong<'a> {
    fn from(song: &'a StoredSong) -> Self {
        Self {
            song_id: song.id.get(),
            artist: song.song.artist(),
            title: song.song.title(),
            songid: song.id,
        }
    }
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "the signature `serialize_with` calls"
)]
fn decimal<S: Serializer>(id: &SongId, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(id)
}

/// Reads the first chunk of the song book of `system` (every system when `None`) and
/// answers with a streaming body that reads the rest as it is sent.
///
/// # Errors
/// `Storage` when the first chunk cannot be read; nothing has been sent then.
pub(super) async fn whole_song_book(
    service: &OpenKjService,
    customer: CustomerId,
    system: Option<SystemId>,
) -> Result<HttpResponse, OpenKjError> {
    let first = service
        .song_book_after(customer, system, None, SONG_STREAM_CHUNK)
        .await?;
    let body = SongBookBody {
        service: service.clone(),
        customer,
        system,
        span: Span::current(),
        started: false,
        listed: 0,
        next: Next::Write(first),
    };
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .streaming(body.into_stream()))
}

/// What the body does when actix asks for more.
enum Next {
    /// Write these songs (the envelope's head first, if nothing was written yet).
    Write(Vec<StoredSong>),
    /// Read the chunk after this id.
    Read(SongId),
    /// Write the envelope's tail.
    Close,
    /// Nothing more.
    Done,
}

/// The state of one streaming reply.
struct SongBookBody {
    service: OpenKjService,
    customer: CustomerId,
    system: Option<SystemId>,
    /// The request's span, so what the body logs carries the request id.
    span: Span,
    /// Whether the envelope's head has been written.
    started: bool,
    /// Songs written so far.
    listed: u64,
    next: Next,
}

/// The reply up to the first song.
const HEAD: &[u8] = br#"{"command":"getSongs","error":false,"songs":["#;

impl SongBookBody {
    fn into_stream(self) -> impl Stream<Item = Result<Bytes, Infallible>> + 'static {
        futures::stream::unfold(self, |mut body| async move {
            let bytes = body.advance().await?;
            Some((Ok(bytes), body))
        })
    }

    /// The next piece of the body, reading a chunk first when one is due; `None` at the
    /// end, or when a read failed.
    async fn advance(&mut self) -> Option<Bytes> {
        loop {
            match std::mem::replace(&mut self.next, Next::Done) {
                Next::Write(songs) => {
                    self.next = match songs.last() {
                        Some(last) if songs.len() >= SONG_STREAM_CHUNK as usize => {
                            Next::Read(last.id)
                        }
                        _ => Next::Close,
                    };
                    return self.write(&songs);
                }
                Next::Read(after) => {
                    let read = self
                        .service
                        .song_book_after(self.customer, self.system, Some(after), SONG_STREAM_CHUNK)
                        .instrument(self.span.clone())
                        .await;
                    match read {
                        Ok(songs) if songs.is_empty() => self.next = Next::Close,
                        Ok(songs) => self.next = Next::Write(songs),
                        Err(err) => {
                            self.cut_short(&ErrorChain(&err));
                            return None;
                        }
                    }
                }
                Next::Close => {
                    let mut out = self.head();
                    out.extend_from_slice(format!("],\"total\":{}}}", self.listed).as_bytes());
                    return Some(Bytes::from(out));
                }
                Next::Done => return None,
            }
        }
    }

    /// The envelope's head if it is still to be written, else nothing.
    fn head(&mut self) -> Vec<u8> {
        if std::mem::replace(&mut self.started, true) {
            Vec::new()
        } else {
            HEAD.to_vec()
        }
    }

    /// `songs` as JSON array elements (after the head when they come first).
    fn write(&mut self, songs: &[StoredSong]) -> Option<Bytes> {
        let mut out = self.head();
        out.reserve(songs.len() * 128);
        for song in songs {
            if self.listed > 0 {
                out.push(b',');
            }
            if let Err(err) = serde_json::to_writer(&mut out, &ListedSong::from(song)) {
                self.cut_short(&err);
                return None;
            }
            self.listed += 1;
        }
        Some(Bytes::from(out))
    }

    /// Logs why the body ends before its end; the client sees JSON without its tail.
    fn cut_short(&self, cause: &dyn std::fmt::Display) {
        self.span.in_scope(|| {
            tracing::warn!(
                error = %cause,
                songs_sent = self.listed,
                "getSongs reply cut short: the rest of the song book could not be sent"
            );
        });
    }
}

#[cfg(test)]
#[path = "song_stream_tests.rs"]
mod tests;
