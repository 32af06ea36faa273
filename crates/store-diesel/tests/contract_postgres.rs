//! The domain's storage contract suite on PostgreSQL: a fresh database per test (see
//! `keyward_store_diesel::testing`), skipped loudly outside CI when no server is up.

use std::sync::Arc;

use keyward_domain::ports::ApiKeyRepository;
use keyward_store_diesel::testing::TestDatabase;

async fn setup() -> Option<(Arc<dyn ApiKeyRepository>, TestDatabase)> {
    let db = TestDatabase::postgres().await?;
    let store = db.migrated_store().await;
    Some((Arc::new(store), db))
}

keyward_domain::api_key_repository_contract!(setup);

/// The vault's `CredentialRepository` scenarios, in their own module: some scenario names
/// are shared with the API key suite.
mod credentials {
    use std::sync::Arc;

    use keyward_domain::ports::CredentialRepository;
    use keyward_store_diesel::testing::TestDatabase;

    async fn setup() -> Option<(Arc<dyn CredentialRepository>, TestDatabase)> {
        let db = TestDatabase::postgres().await?;
        let store = db.migrated_store().await;
        Some((Arc::new(store), db))
    }

    keyward_domain::credential_repository_contract!(setup);
}

/// Usage counts, with keys created and deleted through the same store.
mod usage {
    use std::sync::Arc;

    use keyward_domain::testing::usage::UsageFixture;
    use keyward_store_diesel::testing::TestDatabase;

    async fn setup() -> Option<(Arc<UsageFixture>, TestDatabase)> {
        let db = TestDatabase::postgres().await?;
        let store = Arc::new(db.migrated_store().await);
        Some((
            Arc::new(UsageFixture {
                keys: store.clone(),
                usage: store,
            }),
            db,
        ))
    }

    keyward_domain::usage_repository_contract!(setup);
}

/// Alerts, with keys created and deleted through the same store.
mod alerts {
    use std::sync::Arc;

    use keyward_domain::testing::alerts::AlertFixture;
    use keyward_store_diesel::testing::TestDatabase;

    async fn setup() -> Option<(Arc<AlertFixture>, TestDatabase)> {
        let db = TestDatabase::postgres().await?;
        let store = Arc::new(db.migrated_store().await);
        Some((
            Arc::new(AlertFixture {
                keys: store.clone(),
                alerts: store,
            }),
            db,
        ))
    }

    keyward_domain::alert_repository_contract!(setup);
}

/// Client addresses, with keys created and deleted through the same store.
mod client_addresses {
    use std::sync::Arc;

    use keyward_domain::testing::client_addresses::ClientAddressFixture;
    use keyward_store_diesel::testing::TestDatabase;

    async fn setup() -> Option<(Arc<ClientAddressFixture>, TestDatabase)> {
        let db = TestDatabase::postgres().await?;
        let store = Arc::new(db.migrated_store().await);
        Some((
            Arc::new(ClientAddressFixture {
                keys: store.clone(),
                addresses: store,
            }),
            db,
        ))
    }

    keyward_domain::client_address_contract!(setup);
}

/// Audit events, with keys created and deleted through the same store.
mod audit {
    use std::sync::Arc;

    use keyward_domain::testing::audit::AuditFixture;
    use keyward_store_diesel::testing::TestDatabase;

    async fn setup() -> Option<(Arc<AuditFixture>, TestDatabase)> {
        let db = TestDatabase::postgres().await?;
        let store = Arc::new(db.migrated_store().await);
        Some((
            Arc::new(AuditFixture {
                keys: store.clone(),
                audit: store,
            }),
            db,
        ))
    }

    keyward_domain::audit_log_contract!(setup);
}

/// One-time sign-in links, through two stores (two pools) on one database, as two
/// instances have.
mod sign_in_links {
    use std::sync::Arc;

    use keyward_domain::testing::sign_in_links::SignInLinkFixture;
    use keyward_store_diesel::testing::TestDatabase;

    async fn setup() -> Option<(Arc<SignInLinkFixture>, TestDatabase)> {
        let db = TestDatabase::postgres().await?;
        let first = Arc::new(db.migrated_store().await);
        let second = Arc::new(db.migrated_store().await);
        Some((Arc::new(SignInLinkFixture { first, second }), db))
    }

    keyward_domain::sign_in_link_contract!(setup);
}

/// The OpenKJ suites (serial, venues, song books, requests), each in its own module so
/// scenario names cannot collide.
mod openkj {
    use std::sync::Arc;

    use keyward_domain::ports::OpenKjStore;
    use keyward_store_diesel::testing::TestDatabase;

    async fn setup() -> Option<(Arc<dyn OpenKjStore>, TestDatabase)> {
        let db = TestDatabase::postgres().await?;
        let store = db.migrated_store().await;
        Some((Arc::new(store), db))
    }

    mod serial {
        keyward_domain::serial_repository_contract!(super::setup);
    }
    mod venues {
        keyward_domain::venue_repository_contract!(super::setup);
    }
    /// Songs searched before the index task has moved them out of the queue.
    mod songbook {
        keyward_domain::song_book_repository_contract!(super::setup);
    }
    /// The same scenarios with every song in `song_search`: the GIN plans.
    mod songbook_indexed {
        use std::sync::Arc;

        use keyward_domain::ports::OpenKjStore;
        use keyward_store_diesel::testing::TestDatabase;

        async fn setup() -> Option<(Arc<dyn OpenKjStore>, TestDatabase)> {
            let db = TestDatabase::postgres().await?;
            let store = db.migrated_store().await.indexing_on_upload();
            Some((Arc::new(store), db))
        }

        keyward_domain::song_book_repository_contract!(setup);
    }
    mod requests {
        keyward_domain::request_repository_contract!(super::setup);
    }
}

/// The change feed: written through one store, followed through another store on the same
/// database (two pools, as two instances have).
mod changes {
    use std::sync::Arc;

    use keyward_domain::testing::changes::FeedFixture;
    use keyward_store_diesel::testing::TestDatabase;

    async fn setup() -> Option<(Arc<FeedFixture>, TestDatabase)> {
        let db = TestDatabase::postgres().await?;
        let writer = Arc::new(db.migrated_store().await);
        let follower = Arc::new(db.migrated_store().await);
        Some((
            Arc::new(FeedFixture {
                keys: writer.clone(),
                serials: writer,
                feed: follower,
            }),
            db,
        ))
    }

    keyward_domain::change_feed_contract!(setup);
}
