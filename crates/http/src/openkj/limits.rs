//! The OpenKJ endpoint's budgets per API key (SPEC §9): 100 commands a minute for
//! polling and everything else, and a separate, much larger budget for song uploads.
//!
//! An upload is `clearDatabase` plus one `addSongs` per 1000 songs, back to back, and
//! OpenKJ ignores every upload reply: a batch refused for the rate would silently be
//! missing from the song book. So the upload budget is sized for a whole large library
//! at once (the default burst of 1000 batches is a million songs), and refills within
//! the hour for the next upload.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;
use governor::clock::DefaultClock;
use keyward_domain::KeyId;
use keyward_domain::openkj::Command;

use crate::budget::{IdHasher, KeyedBudget};

const fn non_zero(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

/// The endpoint's budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenKjLimits {
    /// Commands per minute per key, except song uploads (default 100).
    pub commands_per_minute: NonZeroU32,
    /// Upload commands (`clearDatabase`, `addSongs`) a key may send back to back
    /// (default 1000: a 1,000,000-song library).
    pub upload_burst: NonZeroU32,
    /// Upload commands per hour once the burst is spent (default 1000).
    pub uploads_per_hour: NonZeroU32,
}

impl Default for OpenKjLimits {
    fn default() -> Self {
        Self {
            commands_per_minute: non_zero(100),
            upload_burst: non_zero(1000),
            uploads_per_hour: non_zero(1000),
        }
    }
}

/// What the limiter refused, with the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget {
    pub upload: bool,
    pub limit: NonZeroU32,
    pub wait: Duration,
}

/// The per-key budgets of the endpoint.
#[derive(Debug)]
pub struct OpenKjLimiter {
    limits: OpenKjLimits,
    commands: KeyedBudget<KeyId, DefaultClock, IdHasher>,
    uploads: KeyedBudget<KeyId, DefaultClock, IdHasher>,
}

impl OpenKjLimiter {
    pub fn new(limits: OpenKjLimits) -> Self {
        let uploads = Quota::per_hour(limits.uploads_per_hour).allow_burst(limits.upload_burst);
        Self {
            limits,
            commands: KeyedBudget::new(Quota::per_minute(limits.commands_per_minute)),
            uploads: KeyedBudget::new(uploads),
        }
    }

    /// Forgets keys whose budgets have refilled (see [`KeyedBudget::sweep`]).
    pub fn sweep(&self) {
        self.commands.sweep();
        self.uploads.sweep();
    }

    /// Takes `command` from `key`'s budget.
    ///
    /// # Errors
    /// [`OverBudget`] when the budget the command draws on is spent.
    pub fn check(&self, key: KeyId, command: Command) -> Result<(), OverBudget> {
        let (budget, limit) = if command.is_song_upload() {
            (&self.uploads, self.limits.upload_burst)
        } else {
            (&self.commands, self.limits.commands_per_minute)
        };
        budget.check(&key).map_err(|wait| OverBudget {
            upload: command.is_song_upload(),
            limit,
            wait,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_beyond_the_budget_is_refused_but_uploads_go_on() {
        let limiter = OpenKjLimiter::new(OpenKjLimits {
            commands_per_minute: non_zero(3),
            ..OpenKjLimits::default()
        });
        let key = KeyId::generate();
        for _ in 0..3 {
            limiter.check(key, Command::GetSerial).unwrap();
        }

        let refused = limiter.check(key, Command::GetRequests).unwrap_err();

        assert!(!refused.upload);
        assert!(limiter.check(key, Command::AddSongs).is_ok());
    }

    #[test]
    fn default_upload_budget_takes_a_200000_song_library_in_one_go() {
        let limiter = OpenKjLimiter::new(OpenKjLimits::default());
        let key = KeyId::generate();

        limiter.check(key, Command::ClearDatabase).unwrap();
        for _ in 0..=200 {
            limiter.check(key, Command::AddSongs).unwrap();
        }

        assert!(limiter.check(key, Command::GetSerial).is_ok());
    }
}
