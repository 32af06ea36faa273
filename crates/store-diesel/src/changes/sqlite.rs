//! Follows `change_log` on SQLite: `PRAGMA data_version` (answered from shared memory,
//! without reading the database) tells whether any other connection — of this process or
//! another — committed since the last look; only then are the new rows read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use keyward_domain::ports::{Change, ChangeSink};
use tokio::time::{MissedTickBehavior, interval};

use super::{Lost, keep_following, parse};
use crate::conn::SqliteConnection;
use crate::error::error_chain;
use crate::pool::{DedicatedConnection, Pools};

/// How often `data_version` is asked: a change reaches the caches within about this.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Rows read at a time while catching up.
const BATCH: i64 = 1000;
/// How often old rows are pruned, and how old (in seconds) a row must be to go.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
const KEEP_SECONDS: i64 = 300;
/// The follower connection's `busy_timeout`, in ms (the pool's connections wait 5 s).
const FOLLOWER_BUSY_TIMEOUT_MS: u32 = 100;

#[derive(QueryableByName)]
struct DataVersion {
    #[diesel(sql_type = BigInt)]
    data_version: i64,
}

#[derive(QueryableByName)]
struct LastSeq {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

#[derive(QueryableByName)]
struct Logged {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    change: String,
}

pub(super) async fn follow(pools: Pools, sink: Arc<dyn ChangeSink>) {
    keep_following(sink, |sink| follow_once(pools.clone(), sink)).await;
}

/// Polls until a query fails; returns why.
async fn follow_once(pools: Pools, sink: Arc<dyn ChangeSink>) -> Lost {
    let mut conn = match pools.dedicated().await {
        Ok(DedicatedConnection::Sqlite(conn)) => conn,
        Ok(DedicatedConnection::Postgres(_)) => {
            unreachable!("a SQLite store opens SQLite connections")
        }
        Err(err) => {
            return Lost {
                was_following: false,
                reason: error_chain(&err),
            };
        }
    };
    let mut was_following = false;
    match poll(&mut conn, &*sink, &mut was_following).await {
        Ok(never) => match never {},
        Err(err) => Lost {
            was_following,
            reason: format!("reading change_log failed: {err}"),
        },
    }
}

/// Follows `change_log`; sets `was_following` once the sink has been told it is healthy.
async fn poll(
    conn: &mut SqliteConnection,
    sink: &dyn ChangeSink,
    was_following: &mut bool,
) -> diesel::QueryResult<std::convert::Infallible> {
    // The pruning DELETE must not wait for another writer's lock for long: the next poll
    // waits for it (WAL readers never wait for a writer).
    diesel::sql_query(format!("PRAGMA busy_timeout = {FOLLOWER_BUSY_TIMEOUT_MS}"))
        .execute(conn)
        .await?;
    // data_version first: a commit after it moves it, and is read at the next poll.
    let mut version = data_version(conn).await?;
    let mut seen = diesel::sql_query(
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'change_log'), 0) AS seq",
    )
    .get_result::<LastSeq>(conn)
    .await?
    .seq;
    sink.set_feed_healthy(true);
    *was_following = true;
    tracing::info!("change feed: following change_log on SQLite");
    let mut ticks = interval(POLL_INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut pruned = Instant::now();
    loop {
        ticks.tick().await;
        let now = data_version(conn).await?;
        if now != version {
            version = now;
            seen = catch_up(conn, seen, sink).await?;
        }
        if pruned.elapsed() >= PRUNE_EVERY {
            // Best effort: with the short busy timeout a busy database skips this round
            // rather than holding up the next poll.
            if let Err(err) = diesel::sql_query("DELETE FROM change_log WHERE at < unixepoch() - ?")
                .bind::<BigInt, _>(KEEP_SECONDS)
                .execute(conn)
                .await
            {
                tracing::debug!(error = %err, "change_log not pruned this time");
            }
            pruned = Instant::now();
        }
    }
}

async fn data_version(conn: &mut SqliteConnection) -> diesel::QueryResult<i64> {
    Ok(diesel::sql_query("PRAGMA data_version")
        .get_result::<DataVersion>(conn)
        .await?
        .data_version)
}

/// Delivers every row after `seen`; returns the last one delivered. Rows missing right
/// after `seen` were pruned before this instance read them: everything is dropped then.
async fn catch_up(
    conn: &mut SqliteConnection,
    mut seen: i64,
    sink: &dyn ChangeSink,
) -> diesel::QueryResult<i64> {
    loop {
        let rows: Vec<Logged> = diesel::sql_query(
            "SELECT seq, change FROM change_log WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind::<BigInt, _>(seen)
        .bind::<BigInt, _>(BATCH)
        .get_results(conn)
        .await?;
        let Some(first) = <[Logged]>::first(&rows) else {
            return Ok(seen);
        };
        if first.seq != seen + 1 {
            sink.apply(Change::Everything);
        }
        let complete = rows.len() < usize::try_from(BATCH).unwrap_or(usize::MAX);
        for row in &rows {
            sink.apply(parse(&row.change));
            seen = row.seq;
        }
        if complete {
            return Ok(seen);
        }
    }
}
