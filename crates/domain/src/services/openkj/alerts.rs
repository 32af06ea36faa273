//! What `getAlert` tells an OpenKJ host: things about its API key that will break its
//! sync, each shown once (OpenKJ pops a modal box for every alert, every 10 minutes).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Mutex, PoisonError};

use time::macros::format_description;
use time::{Duration, OffsetDateTime};

use crate::ids::KeyId;
use crate::openkj::CLIENT_SCOPES;
use crate::scope::Scope;
use crate::services::VerifiedKey;

/// A message for OpenKJ's alert box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub title: String,
    pub message: String,
}

/// Why a key deserves an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Reason {
    ExpiresSoon,
    MissingScopes,
}

/// How long a shown alert is remembered: a week, after which a key that still has the
/// problem is told once more (a reminder, not a nag: OpenKJ polls every 10 minutes).
pub const ALERT_MEMORY: Duration = Duration::days(7);

/// Remembers which alerts were shown, per key and reason, and when: a restarted server
/// warns once more, which is acceptable for a heads-up. Entries older than
/// [`ALERT_MEMORY`] are dropped by [`AlertMemory::forget_shown_before`].
#[derive(Debug, Default)]
pub(super) struct AlertMemory {
    shown: Mutex<HashMap<(KeyId, Reason), OffsetDateTime>>,
}

impl AlertMemory {
    /// The first alert `key` deserves at `now` that was not shown before, marking it
    /// shown. A key expiring within `warning` of `now` comes first, then missing scopes.
    pub(super) fn next_alert(
        &self,
        key: &VerifiedKey,
        now: OffsetDateTime,
        warning: Duration,
    ) -> Option<Alert> {
        let candidates = [expiry_alert(key, now, warning), scope_alert(key)];
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        candidates
            .into_iter()
            .flatten()
            .find(|(reason, _)| match shown.entry((key.key_id, *reason)) {
                Entry::Vacant(slot) => {
                    slot.insert(now);
                    true
                }
                Entry::Occupied(_) => false,
            })
            .map(|(_, alert)| alert)
    }

    /// Drops every alert shown before `cutoff`.
    pub(super) fn forget_shown_before(&self, cutoff: OffsetDateTime) {
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        shown.retain(|_, at| *at >= cutoff);
        shown.shrink_to_fit();
    }
}

fn expiry_alert(
    key: &VerifiedKey,
    now: OffsetDateTime,
    warning: Duration,
) -> Option<(Reason, Alert)> {
    let expiry = key.expires_at.filter(|expiry| *expiry - now <= warning)?;
    let day = expiry
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_else(|_| expiry.to_string());
    Some((
        Reason::ExpiresSoon,
        Alert {
            title: "Request server API key expires soon".to_owned(),
            message: format!(
                "The API key OpenKJ uses for the request server expires on {day}. \
                 Create a new key in keyward and enter it in OpenKJ's settings \
                 (Network tab) before then, or singer requests will stop arriving."
            ),
        },
    ))
}

fn scope_alert(key: &VerifiedKey) -> Option<(Reason, Alert)> {
    let missing: Vec<&str> = CLIENT_SCOPES
        .into_iter()
        .filter(|scope| !key.scopes.allows(*scope))
        .map(Scope::as_str)
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some((
        Reason::MissingScopes,
        Alert {
            title: "Request server API key is missing permissions".to_owned(),
            message: format!(
                "The API key OpenKJ uses lacks the scope(s) {}. OpenKJ needs \
                 requests:write, venues:write and songdb:write to list venues, open and \
                 close them for requests, and upload its song book. Create a key with \
                 those scopes in keyward and enter it in OpenKJ's settings.",
                missing.join(", ")
            ),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::CustomerId;
    use crate::scope::ScopeSet;
    use crate::testing::NOW;

    const WARNING: Duration = Duration::days(14);

    fn key(scopes: &[Scope], expires_at: Option<OffsetDateTime>) -> VerifiedKey {
        VerifiedKey {
            key_id: KeyId::generate(),
            customer_id: CustomerId::generate(),
            scopes: ScopeSet::of(scopes).unwrap(),
            expires_at,
        }
    }

    #[test]
    fn key_with_every_scope_and_no_near_expiry_gets_no_alert() {
        let memory = AlertMemory::default();
        let healthy = key(&CLIENT_SCOPES, Some(NOW + Duration::days(90)));
        assert_eq!(memory.next_alert(&healthy, NOW, WARNING), None);
    }

    #[test]
    fn key_expiring_within_the_warning_period_is_announced_once() {
        let memory = AlertMemory::default();
        let expiring = key(&CLIENT_SCOPES, Some(NOW + Duration::days(3)));

        let first = memory.next_alert(&expiring, NOW, WARNING).unwrap();
        let second = memory.next_alert(&expiring, NOW, WARNING);

        assert!(first.message.contains("2026-06-04 12:00 UTC"), "{first:?}");
        assert_eq!(second, None);
    }

    #[test]
    fn missing_scopes_are_named_in_the_alert() {
        let memory = AlertMemory::default();
        let narrow = key(&[Scope::RequestsWrite, Scope::SongdbRead], None);

        let alert = memory.next_alert(&narrow, NOW, WARNING).unwrap();

        assert!(
            alert.message.contains("venues:write, songdb:write"),
            "{alert:?}"
        );
    }

    #[test]
    fn both_problems_are_announced_one_after_the_other() {
        let memory = AlertMemory::default();
        let troubled = key(&[Scope::RequestsWrite], Some(NOW + Duration::hours(1)));

        let first = memory.next_alert(&troubled, NOW, WARNING).unwrap();
        let second = memory.next_alert(&troubled, NOW, WARNING).unwrap();
        let third = memory.next_alert(&troubled, NOW, WARNING);

        assert!(first.title.contains("expires soon"));
        assert!(second.title.contains("missing permissions"));
        assert_eq!(third, None);
    }

    #[test]
    fn alerts_are_remembered_per_key() {
        let memory = AlertMemory::default();
        let one = key(&[Scope::RequestsWrite], None);
        let other = key(&[Scope::RequestsWrite], None);

        assert!(memory.next_alert(&one, NOW, WARNING).is_some());
        assert!(memory.next_alert(&other, NOW, WARNING).is_some());
    }

    #[test]
    fn alerts_shown_before_the_cutoff_are_forgotten_and_shown_again() {
        let memory = AlertMemory::default();
        let narrow = key(&[Scope::RequestsWrite], None);
        let recent = key(&[Scope::RequestsWrite], None);
        assert!(memory.next_alert(&narrow, NOW, WARNING).is_some());
        let later = NOW + ALERT_MEMORY;
        assert!(memory.next_alert(&narrow, later, WARNING).is_none());
        assert!(memory.next_alert(&recent, later, WARNING).is_some());

        memory.forget_shown_before(NOW + Duration::seconds(1));

        assert_eq!(
            memory.shown.lock().unwrap().len(),
            1,
            "the recent one stays"
        );
        assert!(memory.next_alert(&narrow, later, WARNING).is_some());
        assert!(memory.next_alert(&recent, later, WARNING).is_none());
    }
}
