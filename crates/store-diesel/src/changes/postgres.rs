//! Follows PostgreSQL's `NOTIFY keyward_changes` on a connection of its own.
//!
//! A connection can die without a word (a network partition, a database that stops
//! answering): a heartbeat query every [`HEARTBEAT_INTERVAL`], which must answer within
//! [`HEARTBEAT_TIMEOUT`], notices within their sum (750 ms) — inside the 1 s that SPEC §7
//! allows a change to take to reach every instance.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use futures::StreamExt;
use keyward_domain::ports::ChangeSink;
use tokio::time::{MissedTickBehavior, interval, timeout};

use super::{CHANNEL, Lost, keep_following, parse};
use crate::error::error_chain;
use crate::pool::{DedicatedConnection, Pools};

const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(250);
const HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(500);

pub(super) async fn follow(pools: Pools, sink: Arc<dyn ChangeSink>) {
    keep_following(sink, |sink| follow_once(pools.clone(), sink)).await;
}

/// Listens until the connection fails; returns why.
async fn follow_once(pools: Pools, sink: Arc<dyn ChangeSink>) -> Lost {
    let not_yet = |reason: String| Lost {
        was_following: false,
        reason,
    };
    let mut conn = match pools.dedicated().await {
        Ok(DedicatedConnection::Postgres(conn)) => conn,
        Ok(DedicatedConnection::Sqlite(_)) => {
            unreachable!("a PostgreSQL store opens PostgreSQL connections")
        }
        Err(err) => return not_yet(error_chain(&err)),
    };
    let statement = format!("LISTEN {CHANNEL}");
    match timeout(HEARTBEAT_TIMEOUT, conn.batch_execute(&statement)).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return not_yet(format!("LISTEN failed: {err}")),
        Err(_) => return not_yet(format!("LISTEN got no answer within {HEARTBEAT_TIMEOUT:?}")),
    }
    sink.set_feed_healthy(true);
    tracing::info!(
        channel = CHANNEL,
        "change feed: listening for changes on PostgreSQL"
    );
    Lost {
        was_following: true,
        reason: listen(&mut conn, &*sink).await,
    }
}

/// Delivers notifications and sends heartbeats until one fails; returns why.
async fn listen(conn: &mut AsyncPgConnection, sink: &dyn ChangeSink) -> String {
    let mut heartbeat = interval(HEARTBEAT_INTERVAL);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let notification = {
            let mut notifications = pin!(conn.notifications_stream());
            tokio::select! {
                next = notifications.next() => Some(next),
                _ = heartbeat.tick() => None,
            }
        };
        match notification {
            Some(Some(Ok(notification))) => sink.apply(parse(&notification.payload)),
            Some(Some(Err(err))) => return format!("notification stream failed: {err}"),
            Some(None) => return "the listening connection closed".to_owned(),
            None => match timeout(HEARTBEAT_TIMEOUT, conn.batch_execute("SELECT 1")).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => return format!("heartbeat failed: {err}"),
                Err(_) => {
                    return format!("no answer to the heartbeat within {HEARTBEAT_TIMEOUT:?}");
                }
            },
        }
    }
}
