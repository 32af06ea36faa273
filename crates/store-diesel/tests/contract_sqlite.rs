//! The domain's storage contract suite on SQLite: a fresh database file per test.

use std::sync::Arc;

use keyward_domain::ports::ApiKeyRepository;
use keyward_store_diesel::testing::TestDatabase;

async fn setup() -> Option<(Arc<dyn ApiKeyRepository>, TestDatabase)> {
    let db = TestDatabase::sqlite();
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
        let db = TestDatabase::sqlite();
        let store = db.migrated_store().await;
        Some((Arc::new(store), db))
    }

    keyward_domain::credential_repository_contract!(setup);
}
