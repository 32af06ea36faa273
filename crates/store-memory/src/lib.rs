//! An in-memory adapter of every keyward storage port: thread-safe, fast, forgetful.
//! Used by tests and demos; it passes the same contract suite as the Diesel adapters.
//!
//! Its [`ChangeFeed`] delivers every change to the subscribed sinks synchronously, when
//! the write that made it releases the store's lock: there is no other process to miss.

mod alerts;
mod api_keys;
mod audit;
mod client_addresses;
mod credentials;
mod customers;
mod requests;
mod sign_in_links;
mod songbook;
mod usage;
mod venues;

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use keyward_domain::ports::{Change, ChangeFeed, ChangeSink, ChangeSubscription};

/// All of keyward's state, in memory. Cheap to create; one per test.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    sinks: Arc<Mutex<Sinks>>,
}

/// The subscribed sinks, by registration number.
type Sinks = Vec<(u64, Arc<dyn ChangeSink>)>;

/// Registration numbers.
static NEXT_REGISTRATION: AtomicU64 = AtomicU64::new(0);

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    api_keys: api_keys::Table,
    customers: customers::Table,
    venues: venues::Table,
    songs: songbook::Table,
    requests: requests::Table,
    credentials: credentials::Table,
    /// Usage counts; a key's go when the key is deleted.
    usage: usage::Table,
    /// Alerts about keys; a key's go when the key is deleted.
    alerts: alerts::Table,
    /// The addresses each key was used from; a key's go when the key is deleted.
    client_addresses: client_addresses::Table,
    /// Audit events; they outlive the keys, venues and credentials they are about.
    audit: audit::Table,
    /// One-time dashboard sign-in links, by the hash of their token.
    sign_in_links: sign_in_links::Table,
    /// Changes made under the current lock, announced when it is released.
    changes: Vec<Change>,
}

/// The locked state; announces the changes made under it when dropped.
struct StateGuard<'a> {
    guard: Option<MutexGuard<'a, State>>,
    sinks: &'a Mutex<Sinks>,
}

impl Deref for StateGuard<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        match &self.guard {
            Some(guard) => guard,
            None => unreachable!("the guard is taken only when dropped"),
        }
    }
}

impl DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        match &mut self.guard {
            Some(guard) => guard,
            None => unreachable!("the guard is taken only when dropped"),
        }
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        let mut changes = std::mem::take(&mut guard.changes);
        changes.extend(
            guard
                .customers
                .take_moved()
                .into_iter()
                .map(|customer| Change::Serial { customer }),
        );
        drop(guard);
        if changes.is_empty() {
            return;
        }
        let sinks: Vec<Arc<dyn ChangeSink>> = lock(self.sinks)
            .iter()
            .map(|(_, sink)| sink.clone())
            .collect();
        for sink in sinks {
            for change in &changes {
                sink.apply(*change);
            }
        }
    }
}

/// A poisoned lock only means another thread panicked mid-test; the data is still
/// consistent because every write below is a single step.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> StateGuard<'_> {
        StateGuard {
            guard: Some(lock(&self.state)),
            sinks: &self.sinks,
        }
    }
}

/// Unregisters its sink when dropped.
struct Registration {
    sinks: Weak<Mutex<Sinks>>,
    number: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(sinks) = self.sinks.upgrade() {
            lock(&sinks).retain(|(number, _)| *number != self.number);
        }
    }
}

impl ChangeFeed for MemoryStore {
    /// Registers `sink` and reports the feed healthy at once; changes are delivered
    /// synchronously by the writer, after the store's lock is released.
    fn subscribe(&self, sink: Arc<dyn ChangeSink>) -> ChangeSubscription {
        let number = NEXT_REGISTRATION.fetch_add(1, Ordering::Relaxed);
        // Registered before it hears it is healthy, so no write falls in between.
        lock(&self.sinks).push((number, sink.clone()));
        sink.set_feed_healthy(true);
        ChangeSubscription::new(Registration {
            sinks: Arc::downgrade(&self.sinks),
            number,
        })
    }
}
