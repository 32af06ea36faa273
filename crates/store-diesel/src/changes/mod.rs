//! The store's [`ChangeFeed`]: every committed change to a key or an OpenKJ serial, from
//! whichever instance or process wrote it (SPEC §7, ADR 0051).
//!
//! The database announces changes itself, with triggers (migration `…000900_announce_changes`),
//! in the writer's transaction, so no write path can forget to: PostgreSQL sends `NOTIFY
//! keyward_changes` (delivered at commit), SQLite appends to `change_log`. Each instance
//! follows them on one connection of its own outside the pool: PostgreSQL `LISTEN` with a
//! heartbeat ([`postgres`]), SQLite a `PRAGMA data_version` poll ([`sqlite`]). When that
//! connection fails, the sink is told the feed is unhealthy (its caches are emptied and
//! bypassed) and the follower reconnects until it is back.

mod postgres;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use keyward_domain::keys::KeyVersion;
use keyward_domain::ports::{Change, ChangeFeed, ChangeSink, ChangeSubscription};
use keyward_domain::{CustomerId, KeyId};
use tokio::task::JoinHandle;

use crate::DieselStore;
use crate::pool::BackendPool;

/// The PostgreSQL channel the triggers notify.
const CHANNEL: &str = "keyward_changes";

/// Pause between attempts to re-establish a lost feed.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// Parses a change as the triggers write it: `k:<key id>:<version>`, `k:<key id>:-`,
/// `s:<customer id>` or `*` (a TRUNCATE: everything). Anything else (a payload from a newer version of keyward, say) is
/// `Change::Everything`: dropping everything is always safe.
fn parse(payload: &str) -> Change {
    if payload == "*" {
        return Change::Everything;
    }
    let mut parts = payload.split(':');
    let parsed = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("k"), Some(id), Some(version), None) => {
            id.parse::<KeyId>().ok().and_then(|id| match version {
                "-" => Some(Change::Key { id, version: None }),
                number => number
                    .parse::<i64>()
                    .ok()
                    .and_then(|n| KeyVersion::new(n).ok())
                    .map(|version| Change::Key {
                        id,
                        version: Some(version),
                    }),
            })
        }
        (Some("s"), Some(id), None, None) => id
            .parse::<CustomerId>()
            .ok()
            .map(|customer| Change::Serial { customer }),
        _ => None,
    };
    parsed.unwrap_or_else(|| {
        tracing::warn!(
            payload_length = payload.len(),
            "unrecognised change announcement; dropping every cached entry"
        );
        Change::Everything
    })
}

/// Aborts the follower task when the subscription is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl ChangeFeed for DieselStore {
    /// Spawns the follower on the current tokio runtime (panics outside one, like
    /// `tokio::spawn`). The sink hears `set_feed_healthy(true)` once the follower's
    /// connection is up, and `false` whenever it is lost.
    fn subscribe(&self, sink: Arc<dyn ChangeSink>) -> ChangeSubscription {
        let task = match &self.pools.backend {
            BackendPool::Postgres(_) => tokio::spawn(postgres::follow(self.pools.clone(), sink)),
            BackendPool::Sqlite(_) => tokio::spawn(sqlite::follow(self.pools.clone(), sink)),
        };
        ChangeSubscription::new(AbortOnDrop(task))
    }
}

/// How one run of a follower ended.
struct Lost {
    /// Whether it got as far as following (the sink had been told the feed is healthy).
    was_following: bool,
    /// Why it ended, for the log.
    reason: String,
}

/// Runs `follow_once` again and again: each run returns when its connection fails; the
/// sink is then told the feed is unhealthy until the next run is up. The loss is logged
/// at WARN once; failed attempts to reconnect after it at DEBUG, so an outage does not
/// flood the log (each new run logs at INFO when it is following again).
async fn keep_following<F, Fut>(sink: Arc<dyn ChangeSink>, mut follow_once: F)
where
    F: FnMut(Arc<dyn ChangeSink>) -> Fut,
    Fut: Future<Output = Lost>,
{
    loop {
        let lost = follow_once(sink.clone()).await;
        sink.set_feed_healthy(false);
        if lost.was_following {
            tracing::warn!(
                reason = %lost.reason,
                "change feed lost: verification and serials are read from the database until it is back"
            );
        } else {
            tracing::debug!(reason = %lost.reason, "change feed: reconnecting failed");
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn key_change_with_version_parses() {
        let id = Uuid::now_v7();
        assert_eq!(
            parse(&format!("k:{id}:7")),
            Change::Key {
                id: KeyId::from_uuid(id),
                version: Some(KeyVersion::new(7).unwrap()),
            }
        );
    }

    #[test]
    fn key_deletion_parses_without_version() {
        let id = Uuid::now_v7();
        assert_eq!(
            parse(&format!("k:{id}:-")),
            Change::Key {
                id: KeyId::from_uuid(id),
                version: None,
            }
        );
    }

    #[test]
    fn serial_change_parses() {
        let id = Uuid::now_v7();
        assert_eq!(
            parse(&format!("s:{id}")),
            Change::Serial {
                customer: CustomerId::from_uuid(id),
            }
        );
    }

    #[test]
    fn truncation_drops_everything() {
        assert_eq!(parse("*"), Change::Everything);
    }

    #[test]
    fn anything_unrecognised_drops_everything() {
        for payload in [
            "",
            "k",
            "k:not-a-uuid:1",
            "k:0190c3a4-0000-7000-8000-000000000000:0",
            "x:y",
            "s:a:b",
        ] {
            assert_eq!(parse(payload), Change::Everything, "{payload:?}");
        }
    }
}
