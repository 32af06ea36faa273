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
