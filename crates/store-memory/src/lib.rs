//! An in-memory adapter of every keyward storage port: thread-safe, fast, forgetful.
//! Used by tests and demos; it passes the same contract suite as the Diesel adapters.

mod api_keys;
mod credentials;
mod customers;
mod requests;
mod songbook;
mod venues;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// All of keyward's state, in memory. Cheap to create; one per test.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    api_keys: api_keys::Table,
    customers: customers::Table,
    venues: venues::Table,
    songs: songbook::Table,
    requests: requests::Table,
    credentials: credentials::Table,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A poisoned lock only means another thread panicked mid-test; the data is still
    /// consistent because every write below is a single step.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
