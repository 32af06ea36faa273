//! Where SQLite's blocking calls run, and how they end when their caller gives up.
//!
//! diesel-async runs every SQLite call on tokio's blocking pool. Its default spawner, when
//! the caller's future is dropped before the call has finished, waits for the call with
//! `tokio::task::block_in_place` — which panics on a current-thread runtime. actix-web
//! runs every worker on a current-thread runtime and drops a handler's futures whenever a
//! sibling extractor fails or a client disconnects, so a cancelled SQLite call would kill
//! the worker's connection with no response. Waiting any other way would still stall the
//! worker, and every connection it serves, for as long as the call runs (up to SQLite's
//! `busy_timeout` for a write waiting for the lock).
//!
//! So [`FinishingSpawner`] does not wait: a call whose caller gave up runs to its end on
//! the blocking pool, and the connection it holds is closed, never reused. The wrapper
//! of the call notes on the dropping thread that it left a call running
//! ([`take_abandoned_call`]); the pooled connection's guard (`conn::Checkout`), dropped
//! right after it by the same future, reads that note and takes the connection out of the
//! pool instead of inspecting it (which needs it to be idle). When the call ends, the last
//! reference to the connection goes and SQLite closes it, rolling back whatever it had
//! open. ADR 0014.
//!
//! Because diesel-async's `immediate_transaction` exists only for its own spawner,
//! [`begin_immediate`] and [`finish_transaction`] provide the same `BEGIN IMMEDIATE` …
//! `COMMIT`/`ROLLBACK` bracket for ours.

use std::cell::Cell;
use std::error::Error;
use std::future::Future;
use std::pin::Pin;
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

/// Spawns SQLite calls on tokio's blocking pool; a call whose future is dropped early is
/// left to finish there, and noted for the connection's guard (see the module docs).
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
                CALLS_SPAWNED.with(|calls| calls.set(calls.get().wrapping_add(1)));
                Box::pin(CallInFlight {
                    join: handle.spawn_blocking(task),
                })
            }
            FinishingSpawner::Inline => Box::pin(std::future::ready(Ok(task()))),
        }
    }

    fn get_runtime() -> Self {
        Handle::try_current().map_or(FinishingSpawner::Inline, FinishingSpawner::Runtime)
    }
}

thread_local! {
    /// Calls left running by futures dropped on this thread whose connection's guard has
    /// not yet taken note (normally 0, or 1 between the two drops).
    static ABANDONED_CALLS: Cell<u32> = const { Cell::new(0) };

    /// Calls spawned from this thread, for tests that must know a call has started.
    static CALLS_SPAWNED: Cell<u64> = const { Cell::new(0) };
}

/// How many SQLite calls futures polled on this thread have sent to the blocking pool
/// (a test's way to know that the call it waits for has started).
#[cfg(feature = "testing")]
pub fn calls_spawned_on_this_thread() -> u64 {
    CALLS_SPAWNED.with(Cell::get)
}

/// Whether a call was left running by a future dropped on this thread since the last
/// time this was asked; answering `true` takes the note away.
///
/// The pooled connection's guard asks when it is dropped: a future that abandons a call
/// drops the call (which sets the note) before the guard of the connection the call
/// borrows, on the same thread, and a repository holds one connection at a time, so the
/// note is the guard's own. (Should a note ever reach another guard, that guard only
/// closes a connection that could have been reused.)
pub(crate) fn take_abandoned_call() -> bool {
    ABANDONED_CALLS.with(|calls| {
        let abandoned = calls.get();
        calls.set(abandoned.saturating_sub(1));
        abandoned > 0
    })
}

/// A blocking call's result. Dropped before the call has finished, it leaves the call
/// running and notes it for the connection's guard ([`take_abandoned_call`]).
struct CallInFlight<R> {
    join: JoinHandle<R>,
}

impl<R> Future for CallInFlight<R> {
    type Output = Result<R, Box<dyn Error + Send + Sync + 'static>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.join)
            .poll(cx)
            .map(|result| result.map_err(|err: JoinError| Box::new(err) as Box<_>))
    }
}

impl<R> Drop for CallInFlight<R> {
    fn drop(&mut self) {
        if !self.join.is_finished() {
            // Dropping the handle detaches the task: it runs to its end, holding the
            // connection, which its guard will close.
            ABANDONED_CALLS.with(|calls| calls.set(calls.get().saturating_add(1)));
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
