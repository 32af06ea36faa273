//! Stored audit events this keyward cannot read — an action or actor type it does not
//! know (a newer keyward's, or written by hand), details that are no JSON object — fail
//! the listing as `StorageError::Other`, never a panic. The rows are broken behind the
//! store's back, with the table's CHECKs switched off where they would refuse them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};

use keyward_domain::audit::{Actor, AuditAction, AuditDetails, AuditEvent, AuditFilter};
use keyward_domain::ports::{AuditLog, PageRequest, StorageError};
use keyward_domain::testing::NOW;
use keyward_domain::{AuditEventId, CustomerId};
use keyward_store_diesel::DieselStore;
use keyward_store_diesel::testing::TestDatabase;

/// What is done to the stored row, as the SET clause of an UPDATE.
const BREAKAGES: [(&str, &str); 4] = [
    ("an unknown action", "action = 'api_key.teleported'"),
    ("an unknown actor type", "actor_type = 'robot'"),
    ("details that are an array", "details = '[1, 2]'"),
    ("details that are a string", "details = '\"text\"'"),
];

fn sample_event(customer: CustomerId) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::generate(),
        at: NOW,
        customer,
        actor: Actor::user("user-42"),
        ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        action: AuditAction::ApiKeyRotated,
        target_id: uuid::Uuid::new_v4(),
        details: AuditDetails::new(),
    }
}

/// Records an event, breaks it with `set` through `run_sql`, and checks the listing.
async fn broken_row_fails_the_listing_as_other<F, Fut>(store: &DieselStore, run_sql: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()>,
{
    for (breakage, set) in BREAKAGES {
        let customer = CustomerId::generate();
        let event = sample_event(customer);
        store
            .record_audit_events(std::slice::from_ref(&event))
            .await
            .unwrap();
        run_sql(format!(
            "UPDATE audit_events SET {set} WHERE id = '{}'",
            event.id
        ))
        .await;

        let listed = store
            .list_audit_events(customer, AuditFilter::default(), PageRequest::default())
            .await;

        assert!(
            matches!(listed, Err(StorageError::Other(_))),
            "{breakage}: {listed:?}"
        );
        let count = store
            .list_audit_events(
                CustomerId::generate(),
                AuditFilter::default(),
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(count.total, 0, "other customers still list");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rows_with_unknown_names_or_non_object_details_are_other_errors() {
    let db = TestDatabase::sqlite();
    let store = db.migrated_store().await;
    let path = db.url().trim_start_matches("sqlite://").to_owned();

    broken_row_fails_the_listing_as_other(&store, |sql| {
        let path = path.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                use diesel::{Connection, RunQueryDsl};
                let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
                diesel::sql_query("PRAGMA ignore_check_constraints = ON")
                    .execute(&mut conn)
                    .unwrap();
                assert_eq!(diesel::sql_query(sql).execute(&mut conn).unwrap(), 1);
            })
            .await
            .unwrap();
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rows_with_unknown_names_or_non_object_details_are_other_errors() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = db.migrated_store().await;
    store
        .execute_sql(
            "ALTER TABLE audit_events \
             DROP CONSTRAINT audit_events_actor_type_is_known, \
             DROP CONSTRAINT audit_events_details_is_an_object",
        )
        .await
        .unwrap();

    broken_row_fails_the_listing_as_other(&store, |sql| {
        let store = store.clone();
        async move {
            assert_eq!(store.execute_sql(&sql).await.unwrap(), 1);
        }
    })
    .await;
}

/// Without switching them off, the CHECKs refuse such rows in the first place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_refuses_unknown_actor_types_and_non_object_details() {
    let sqlite = TestDatabase::sqlite();
    let postgres = TestDatabase::postgres().await;
    for db in std::iter::once(&sqlite).chain(postgres.as_ref()) {
        let store = db.migrated_store().await;
        let event = sample_event(CustomerId::generate());
        store
            .record_audit_events(std::slice::from_ref(&event))
            .await
            .unwrap();
        for set in [
            "actor_type = 'robot'",
            "details = '[1, 2]'",
            "details = 'not json'",
            "action = 'venue.created'",
            "target_id = 'short'",
        ] {
            let refused = store
                .execute_sql(&format!(
                    "UPDATE audit_events SET {set} WHERE id = '{}'",
                    event.id
                ))
                .await;
            assert!(refused.is_err(), "{} accepted {set}", db.url());
        }
    }
}
