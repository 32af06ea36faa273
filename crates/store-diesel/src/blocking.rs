//! Where SQLite's blocking calls run, and how they end when their caller gives up.
//!
//! diesel-async runs every SQLite call on tokio's blocking pool. Its default spawner, when
//! the caller's future is dropped before the call has finished, waits for the call with
//! `tokio::task::block_in_place` — which panics on a current-thread runtime. actix-web
//! runs every worker on a current-thread runtime and drops a handler's futures whenever a
//! sibling extractor fails or a client disconnects, so a cancelled SQLite call would kill
//! the worker's connection with no response. [`FinishingSpawner`] waits with a plain
//! channel instead: the worker blocks until the call that is already running on the
//! blocking pool returns (bounded by SQLite's `busy_timeout`), and the connection is never
//! used by two calls at once.
//!
//! Because diesel-async's `immediate_transaction` exists only for its own spawner,
//! [`begin_immediate`] and [`finish_transaction`] provide the same `BEGIN IMMEDIATE` …
//! `COMMIT`/`ROLLBACK` bracket for ours.

use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};

use diesel::QueryResult;
use diesel::connection::AnsiTransactionManager;
use diesel_async::TransactionManager;
use diesel_async::sync_connection_wrapper::{SpawnBlocking, SyncTransactionManagerWrapper};
use tokio::runtime::Handle;
use tokio::task::{JoinError, JoinHandle};

use crate::conn::SqliteConnection;

/// What diesel-async's `SpawnBlocking` hands back.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Spawns SQLite calls on tokio's blocking pool and, if the caller drops the call's
/// future early, waits for the call to finish without `block_in_place`.
#[derive(Debug)]
pub(crate) enum FinishingSpawner {
    /// The usual case: a tokio runtime is running.
    Runtime(Handle),
    /// No runtime (a synchronous caller): run the call on the caller's thread.
    Inline,
}

impl SpawnBlocking for FinishingSpawner {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> BoxFuture<'a, Result<R, Box<dyn Error + Send + Sync + 'static>>>
    where
        R: Send + 'static,
    {
        match self {
            FinishingSpawner::Runtime(handle) => {
                let (finished, wait_for_finish) = mpsc::sync_channel::<()>(1);
                let join = handle.spawn_blocking(move || {
                    let output = task();
                    // The task (and the connection it borrowed) is done; tell a dropped
                    // caller it may go on. Nobody listening is fine.
                    let _ = finished.send(());
                    output
                });
                Box::pin(FinishBeforeDrop {
                    join,
                    wait_for_finish,
                })
            }
            FinishingSpawner::Inline => Box::pin(std::future::ready(Ok(task()))),
        }
    }

    fn get_runtime() -> Self {
        Handle::try_current().map_or(FinishingSpawner::Inline, FinishingSpawner::Runtime)
    }
}

/// A blocking call's result; dropping it early waits until the call has finished.
struct FinishBeforeDrop<R> {
    join: JoinHandle<R>,
    wait_for_finish: mpsc::Receiver<()>,
}

impl<R> Future for FinishBeforeDrop<R> {
    type Output = Result<R, Box<dyn Error + Send + Sync + 'static>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.join)
            .poll(cx)
            .map(|result| result.map_err(|err: JoinError| Box::new(err) as Box<_>))
    }
}

impl<R> Drop for FinishBeforeDrop<R> {
    fn drop(&mut self) {
        if !self.join.is_finished() {
            // Returns when the task signals, or when it ends without signalling (it
            // panicked or never started), because the sender is dropped then.
            let _ = self.wait_for_finish.recv();
        }
    }
}

/// `BEGIN IMMEDIATE`: takes SQLite's write lock up front, so a writer queues on
/// `busy_timeout` instead of failing with "database is locked" when it upgrades.
pub(crate) async fn begin_immediate(conn: &mut SqliteConnection) -> QueryResult<()> {
    conn.spawn_blocking(|inner| {
        AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")
    })
    .await
}

/// Commits after `Ok`, rolls back after `Err`, and hands `result` back.
pub(crate) async fn finish_transaction<T, E>(
    conn: &mut SqliteConnection,
    result: Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    type Manager = SyncTransactionManagerWrapper<AnsiTransactionManager>;
    match result {
        Ok(value) => {
            Manager::commit_transaction(conn).await?;
            Ok(value)
        }
        Err(err) => {
            Manager::rollback_transaction(conn).await?;
            Err(err)
        }
    }
}
