//! Song search from the engines' own text indexes (ADR 0052), per backend:
//!
//! * SQLite: the FTS5 trigram table `songs_search` (rowid = song id) plus the songs not
//!   indexed yet (`id > song_search_state.indexed_through`, see [`super::index`]).
//! * PostgreSQL: the `pg_trgm` GIN index over `song_search`'s folded artist and title
//!   (`artist_folded || E'\n' || title_folded`), used through `LIKE '%term%'`, plus the
//!   songs still queued in `songs_unindexed` (see [`super::index`]). `song_search` holds
//!   the sort keys too, so the candidate plan reads `songs` for the page's songs only.
//!
//! Both pick one of two plans, because no single one is fast for every query on a
//! 200,000-song book:
//!
//! * **Candidates** (selective queries): the index yields the songs holding the query's
//!   terms of three or more characters (trigram indexes cannot find shorter ones); at
//!   most [`CANDIDATE_LIMIT`] of them are re-checked against every term with
//!   `instr`/`strpos` on the folded columns (exact substring tests, so the index only
//!   narrows, never decides), sorted and paged.
//! * **Ordered scan** (a word in most songs, or only short terms): the book is walked in
//!   search order along `songs_book_order_idx`, testing every term, until the page is
//!   full; the total stops counting at [`SONG_SEARCH_TOTAL_CAP`].
//!
//! Either way the result is exactly [`keyward_domain::songbook::SongQuery::matches`] in
//! the port's order, with the total of [`keyward_domain::songbook::capped_total`].

use std::fmt::Write as _;

use diesel::QueryResult;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use keyward_domain::songbook::SONG_SEARCH_TOTAL_CAP;

use super::row::contains_pattern;
use crate::conn::SqliteConnection;
use crate::types::{DbUuid, PortableUuid};

/// Most index candidates the candidate plan sorts; a query whose most selective term
/// occurs in more songs than this walks the book in order instead. Sorting 5,000 rows is
/// a few milliseconds on either backend; the walk finds a common word's first page at
/// once.
pub(crate) const CANDIDATE_LIMIT: i64 = 5000;

/// Shortest term a trigram index can look up.
const MIN_INDEXED_CHARS: usize = 3;

/// A song as a search returns it.
#[derive(Debug, diesel::QueryableByName)]
pub(crate) struct FoundSong {
    #[diesel(sql_type = BigInt)]
    pub(crate) id: i64,
    #[diesel(sql_type = Text)]
    pub(crate) artist: String,
    #[diesel(sql_type = Text)]
    pub(crate) title: String,
}

/// A song of a candidate plan's page, with the number of all matching candidates (a
/// window count: the candidates are few, and counting them in the same pass saves
/// joining them to `songs` twice).
#[derive(Debug, diesel::QueryableByName)]
struct CountedSong {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    artist: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Splits a candidate plan's page into songs and the total; `None` when the page is empty
/// (past the end, or nothing matched), which says nothing about the total.
fn split_counted(rows: Vec<CountedSong>) -> (Option<i64>, Vec<FoundSong>) {
    let total = <[CountedSong]>::first(&rows).map(|row| row.total);
    let songs = rows
        .into_iter()
        .map(|row| FoundSong {
            id: row.id,
            artist: row.artist,
            title: row.title,
        })
        .collect();
    (total, songs)
}

#[derive(Debug, diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// What a search asks for: one book, the folded terms, one page.
#[derive(Debug)]
pub(crate) struct SearchRequest<'a> {
    pub(crate) customer: DbUuid,
    pub(crate) system: i32,
    pub(crate) terms: &'a [String],
    pub(crate) limit: i64,
    pub(crate) offset: i64,
}

impl SearchRequest<'_> {
    /// The terms a trigram index can look up, shortest first: a three-character term is
    /// one trigram (one posting list, cheap to count however common), a longer one a
    /// phrase of several whose matches are checked position by position, so counting the
    /// short ones first bounds what the long ones may cost (`most_selective_*`).
    fn indexable_terms(&self) -> Vec<&String> {
        let mut terms: Vec<&String> = self
            .terms
            .iter()
            .filter(|term| term.chars().count() >= MIN_INDEXED_CHARS)
            .collect();
        terms.sort_by_key(|term| term.chars().count());
        terms
    }
}

/// One page of a search and its capped total (see the module docs).
pub(crate) trait SearchSongs {
    async fn search_songs(
        &mut self,
        request: &SearchRequest<'_>,
    ) -> QueryResult<(u64, Vec<FoundSong>)>;
}

fn capped(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0).min(SONG_SEARCH_TOTAL_CAP)
}

fn cap_limit() -> i64 {
    i64::try_from(SONG_SEARCH_TOTAL_CAP).unwrap_or(i64::MAX)
}

/// `AND (function(artist) > 0 OR function(title) > 0)` per term, with `?` placeholders
/// (SQLite; `function` is `instr`, an exact substring test).
fn every_term_condition(terms: &[String], function: &str, prefix: &str) -> String {
    let one = format!(
        " AND ({function}({prefix}artist_folded, ?) > 0 OR {function}({prefix}title_folded, ?) > 0)"
    );
    one.repeat(terms.len())
}

/// A term as an FTS5 string (a phrase in double quotes, inner quotes doubled): with the
/// trigram tokenizer a phrase matches wherever it occurs as a substring.
fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

// --------------------------------------------------------------------------------------
// SQLite
// --------------------------------------------------------------------------------------

type SqliteQuery = BoxedSqlQuery<'static, diesel::sqlite::Sqlite, diesel::query_builder::SqlQuery>;

fn bind_terms_sqlite(mut query: SqliteQuery, terms: &[String]) -> SqliteQuery {
    for term in terms {
        query = query
            .bind::<Text, _>(term.clone())
            .bind::<Text, _>(term.clone());
    }
    query
}

/// The songs an ordered scan or the candidate plan selects, as SQL after `FROM`, with
/// `?` for customer, system and then two per term (SQLite).
fn sqlite_scan_from(terms: &[String]) -> String {
    format!(
        "songs WHERE customer_id = ? AND system_id = ?{}",
        every_term_condition(terms, "instr", "")
    )
}

/// The candidate plan's songs (SQLite): the index's entries for one phrase plus this
/// book's songs past the watermark (`UNION ALL`: the index holds only ids up to it), with
/// `?` for the phrase, customer and system of the tail, customer and system of the book,
/// then two per term.
fn sqlite_candidates_from(terms: &[String]) -> String {
    format!(
        "(SELECT rowid AS id FROM songs_search WHERE songs_search MATCH ? \
         UNION ALL SELECT id FROM songs WHERE customer_id = ? AND system_id = ? \
         AND id > (SELECT indexed_through FROM song_search_state)) AS hits \
         CROSS JOIN songs AS s ON s.id = hits.id \
         WHERE s.customer_id = ? AND s.system_id = ?{}",
        every_term_condition(terms, "instr", "s.")
    )
}

/// Index entries holding `term`, counted up to `limit`.
async fn fts_candidates(conn: &mut SqliteConnection, term: &str, limit: i64) -> QueryResult<i64> {
    let count: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT 1 FROM songs_search WHERE songs_search MATCH ? LIMIT ?) AS candidates",
    )
    .bind::<Text, _>(fts_phrase(term))
    .bind::<BigInt, _>(limit)
    .get_result(conn)
    .await?;
    Ok(count.n)
}

/// The indexable term with the fewest index entries, if it has at most
/// [`CANDIDATE_LIMIT`]. Once a term qualifies, a later one must have fewer than half its
/// entries to replace it, and is counted only that far: counting an index entry costs
/// about as much as re-checking a candidate (~0.8 µs each on a 200,000-song book), so a
/// term that would save less than half is not worth counting to the end (`Artist 150`:
/// `artist` is counted to 600, not to `150`'s 1,199).
async fn most_selective_term<'t>(
    conn: &mut SqliteConnection,
    request: &'t SearchRequest<'_>,
) -> QueryResult<Option<&'t String>> {
    let mut best: Option<&String> = None;
    let mut fewest = CANDIDATE_LIMIT + 1;
    for term in request.indexable_terms() {
        let enough = if best.is_some() { fewest / 2 } else { fewest };
        if enough == 0 {
            break;
        }
        let candidates = fts_candidates(conn, term, enough).await?;
        if candidates < enough {
            best = Some(term);
            fewest = candidates;
        }
    }
    Ok(best)
}

impl SearchSongs for SqliteConnection {
    async fn search_songs(
        &mut self,
        request: &SearchRequest<'_>,
    ) -> QueryResult<(u64, Vec<FoundSong>)> {
        let terms = request.terms;
        let (from, columns, order, phrase) = match most_selective_term(self, request).await? {
            Some(term) => (
                sqlite_candidates_from(terms),
                "s.id AS id, s.artist AS artist, s.title AS title",
                "s.artist_folded, s.title_folded, s.id",
                Some(fts_phrase(term)),
            ),
            None => (
                sqlite_scan_from(terms),
                "id, artist, title",
                "artist_folded, title_folded, id",
                None,
            ),
        };
        let start = |sql: String| -> SqliteQuery {
            let mut query = diesel::sql_query(sql).into_boxed();
            if let Some(phrase) = &phrase {
                query = query
                    .bind::<Text, _>(phrase.clone())
                    .bind::<PortableUuid, _>(request.customer)
                    .bind::<Integer, _>(request.system);
            }
            let query = query
                .bind::<PortableUuid, _>(request.customer)
                .bind::<Integer, _>(request.system);
            bind_terms_sqlite(query, terms)
        };
        let page = |sql: String| {
            start(sql)
                .bind::<BigInt, _>(request.limit)
                .bind::<BigInt, _>(request.offset)
        };
        // No window count here (unlike PostgreSQL): SQLite materializes every candidate
        // for it, which cost more than counting them again (1.06 ms against 0.42 + 0.28
        // for `Artist 150`'s 1,199 candidates on the 200,000-song book).
        let rows: Vec<FoundSong> = page(format!(
            "SELECT {columns} FROM {from} ORDER BY {order} LIMIT ? OFFSET ?"
        ))
        .load(self)
        .await?;
        let listed = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let total = if listed < request.limit && (listed > 0 || request.offset == 0) {
            // The page is the last one: the total is what came before it and on it.
            request.offset.saturating_add(listed)
        } else {
            let count: Count = start(format!(
                "SELECT count(*) AS n FROM (SELECT 1 FROM {from} LIMIT {}) AS counted",
                cap_limit()
            ))
            .get_result(self)
            .await?;
            count.n
        };
        Ok((capped(total), rows))
    }
}

// --------------------------------------------------------------------------------------
// PostgreSQL
// --------------------------------------------------------------------------------------

type PgQuery = BoxedSqlQuery<'static, diesel::pg::Pg, diesel::query_builder::SqlQuery>;

/// The text the GIN trigram index of `song_search` covers (the expression of
/// `song_search_trigram_idx`, written the same way so the planner uses it): the folded
/// artist, a newline, the folded title. Terms never hold white space, so a term occurs in
/// it exactly when it occurs in the artist or the title.
const PG_INDEXED_TEXT: &str = "(artist_folded || E'\\n' || title_folded)";

/// Ids of the book's songs whose indexed text holds the term bound as `$3` (a `LIKE`
/// pattern the GIN trigram index answers), and of the book's songs still queued for the
/// index (normally none; a whole upload's worth for a moment after one). For counting
/// candidates only: a song both queued and indexed counts twice.
fn pg_candidate_ids() -> String {
    format!(
        "SELECT id FROM song_search \
         WHERE customer_id = $1 AND system_id = $2 AND {PG_INDEXED_TEXT} LIKE $3 \
         UNION ALL SELECT q.id FROM songs_unindexed AS q JOIN songs AS u ON u.id = q.id \
         WHERE u.customer_id = $1 AND u.system_id = $2"
    )
}

/// The candidates of [`pg_candidate_ids`] with their sort keys, each song once: indexed
/// ones straight from `song_search` (no visit to `songs`), queued ones from `songs`.
fn pg_candidates() -> String {
    format!(
        "SELECT id, customer_id, system_id, artist_folded, title_folded FROM song_search \
         WHERE customer_id = $1 AND system_id = $2 AND {PG_INDEXED_TEXT} LIKE $3 \
         UNION ALL SELECT u.id, u.customer_id, u.system_id, u.artist_folded, u.title_folded \
         FROM songs_unindexed AS q JOIN songs AS u ON u.id = q.id \
         WHERE u.customer_id = $1 AND u.system_id = $2 \
         AND NOT EXISTS (SELECT 1 FROM song_search AS x WHERE x.id = q.id)"
    )
}

/// `$n` placeholders in order, starting after `used`.
struct Placeholders(usize);

impl Placeholders {
    fn next(&mut self) -> String {
        self.0 += 1;
        format!("${}", self.0)
    }
}

/// `WHERE` of songs of one book holding every term (`strpos`, the exact test), after
/// `$1` customer and `$2` system (and `$3`, the candidate pattern, when `candidates`).
fn pg_condition(terms: &[String], candidates: bool, prefix: &str) -> (String, Placeholders) {
    let mut params = Placeholders(if candidates { 3 } else { 2 });
    let mut sql = format!("{prefix}customer_id = $1 AND {prefix}system_id = $2");
    for _ in terms {
        let (artist, title) = (params.next(), params.next());
        let _ = write!(
            sql,
            " AND (strpos({prefix}artist_folded, {artist}) > 0 \
             OR strpos({prefix}title_folded, {title}) > 0)"
        );
    }
    (sql, params)
}

fn bind_pg(request: &SearchRequest<'_>, candidate: Option<&str>, sql: String) -> PgQuery {
    let mut query = diesel::sql_query(sql)
        .into_boxed()
        .bind::<PortableUuid, _>(request.customer)
        .bind::<Integer, _>(request.system);
    if let Some(term) = candidate {
        query = query.bind::<Text, _>(contains_pattern(term));
    }
    for term in request.terms {
        query = query
            .bind::<Text, _>(term.clone())
            .bind::<Text, _>(term.clone());
    }
    query
}

/// Candidates for `term` in the book (see [`pg_candidate_ids`]), counted up to `limit`.
async fn trigram_candidates(
    conn: &mut AsyncPgConnection,
    request: &SearchRequest<'_>,
    term: &str,
    limit: i64,
) -> QueryResult<i64> {
    let count: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM ({} LIMIT $4) AS candidates",
        pg_candidate_ids()
    ))
    .bind::<PortableUuid, _>(request.customer)
    .bind::<Integer, _>(request.system)
    .bind::<Text, _>(contains_pattern(term))
    .bind::<BigInt, _>(limit)
    .get_result(conn)
    .await?;
    Ok(count.n)
}

/// The first indexable term (shortest first) with at most [`CANDIDATE_LIMIT`]
/// candidates, with that count. Unlike FTS5, GIN cannot stop early: a bitmap scan reads a
/// term's whole posting list whatever the `LIMIT`, so counting a common word after a rare
/// one would cost more than re-checking the rare one's few thousand candidates at most.
/// Asking the index for every term at once is worse still: GIN intersects the long
/// posting lists of the common ones (12 ms for `number 999 batch 199` on 200,000 songs,
/// against ~1 ms for `999` alone).
async fn most_selective_pg<'t>(
    conn: &mut AsyncPgConnection,
    request: &'t SearchRequest<'_>,
) -> QueryResult<Option<(&'t String, i64)>> {
    // pg_trgm takes its trigrams from runs of letters and digits only: for `!!!` it has
    // none and would read the whole index. Such terms are checked by `strpos` alone.
    let trigrams = |term: &&String| {
        term.split(|c: char| !c.is_alphanumeric())
            .any(|run| run.chars().count() >= MIN_INDEXED_CHARS)
    };
    for term in request.indexable_terms().into_iter().filter(trigrams) {
        let candidates = trigram_candidates(conn, request, term, CANDIDATE_LIMIT + 1).await?;
        if candidates <= CANDIDATE_LIMIT {
            return Ok(Some((term, candidates)));
        }
    }
    Ok(None)
}

impl SearchSongs for AsyncPgConnection {
    async fn search_songs(
        &mut self,
        request: &SearchRequest<'_>,
    ) -> QueryResult<(u64, Vec<FoundSong>)> {
        match most_selective_pg(self, request).await? {
            Some((_, 0)) => Ok((0, Vec::new())),
            Some((term, _)) => pg_candidate_page(self, request, term).await,
            None => pg_ordered_page(self, request).await,
        }
    }
}

/// The candidate plan: the candidates holding `term` are re-checked against every term
/// and sorted on `song_search`'s own columns; only the page's songs are read from
/// `songs`. Every entry's song exists: deleting songs deletes their entries in the same
/// transaction (see `index::ForgetSongBook`).
async fn pg_candidate_page(
    conn: &mut AsyncPgConnection,
    request: &SearchRequest<'_>,
    term: &str,
) -> QueryResult<(u64, Vec<FoundSong>)> {
    let (condition, mut params) = pg_condition(request.terms, true, "c.");
    let (limit, offset) = (params.next(), params.next());
    let sql = format!(
        "WITH page AS (SELECT c.id, c.artist_folded, c.title_folded, count(*) OVER () AS total \
         FROM ({candidates}) AS c WHERE {condition} \
         ORDER BY c.artist_folded, c.title_folded, c.id LIMIT {limit} OFFSET {offset}) \
         SELECT s.id, s.artist, s.title, page.total FROM page JOIN songs AS s ON s.id = page.id \
         ORDER BY page.artist_folded, page.title_folded, page.id",
        candidates = pg_candidates()
    );
    let rows: Vec<CountedSong> = bind_pg(request, Some(term), sql)
        .bind::<BigInt, _>(request.limit)
        .bind::<BigInt, _>(request.offset)
        .load(conn)
        .await?;
    let (total, rows) = split_counted(rows);
    let total = match total {
        Some(total) => total,
        None if request.offset == 0 => 0,
        // Past the last page: count the candidates that match (few, by this plan).
        None => {
            let count: Count = bind_pg(
                request,
                Some(term),
                format!(
                    "SELECT count(*) AS n FROM ({}) AS c WHERE {condition}",
                    pg_candidates()
                ),
            )
            .get_result(conn)
            .await?;
            count.n
        }
    };
    Ok((capped(total), rows))
}

/// The ordered scan: the book walked along `songs_book_order_idx` until the page is full,
/// the total counted up to the cap.
async fn pg_ordered_page(
    conn: &mut AsyncPgConnection,
    request: &SearchRequest<'_>,
) -> QueryResult<(u64, Vec<FoundSong>)> {
    let (condition, mut params) = pg_condition(request.terms, false, "s.");
    let (limit, offset) = (params.next(), params.next());
    let rows: Vec<FoundSong> = bind_pg(
        request,
        None,
        format!(
            "SELECT s.id, s.artist, s.title FROM songs AS s WHERE {condition} \
             ORDER BY s.artist_folded, s.title_folded, s.id LIMIT {limit} OFFSET {offset}"
        ),
    )
    .bind::<BigInt, _>(request.limit)
    .bind::<BigInt, _>(request.offset)
    .load(conn)
    .await?;
    let total = if rows.is_empty() && request.offset == 0 {
        0
    } else {
        let count: Count = bind_pg(
            request,
            None,
            format!(
                "SELECT count(*) AS n FROM (SELECT 1 FROM songs AS s WHERE {condition} \
                 LIMIT {}) AS counted",
                cap_limit()
            ),
        )
        .get_result(conn)
        .await?;
        count.n
    };
    Ok((capped(total), rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_phrases_quote_and_double_inner_quotes() {
        assert_eq!(fts_phrase("abc"), "\"abc\"");
        assert_eq!(fts_phrase("a\"b"), "\"a\"\"b\"");
        assert_eq!(fts_phrase("or"), "\"or\"");
    }

    #[test]
    fn postgres_placeholders_follow_the_binds() {
        let terms = vec!["queen".to_owned(), "ab".to_owned()];
        let (sql, mut params) = pg_condition(&terms, true, "s.");
        assert_eq!(
            sql,
            "s.customer_id = $1 AND s.system_id = $2 \
             AND (strpos(s.artist_folded, $4) > 0 OR strpos(s.title_folded, $5) > 0) \
             AND (strpos(s.artist_folded, $6) > 0 OR strpos(s.title_folded, $7) > 0)"
        );
        assert_eq!(params.next(), "$8");
        let (_, mut params) = pg_condition(&terms, false, "");
        assert_eq!(params.next(), "$7");
    }
}
