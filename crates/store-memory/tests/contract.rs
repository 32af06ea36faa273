//! The domain's storage contract suite, run against the in-memory adapter.

mod api_keys {
    use std::sync::Arc;

    use keyward_domain::ports::ApiKeyRepository;
    use keyward_store_memory::MemoryStore;

    #[allow(clippy::unused_async)]
    async fn setup() -> Option<(Arc<dyn ApiKeyRepository>, ())> {
        Some((Arc::new(MemoryStore::new()), ()))
    }

    keyward_domain::api_key_repository_contract!(setup);
}

mod credentials {
    use std::sync::Arc;

    use keyward_domain::ports::CredentialRepository;
    use keyward_store_memory::MemoryStore;

    #[allow(clippy::unused_async)]
    async fn setup() -> Option<(Arc<dyn CredentialRepository>, ())> {
        Some((Arc::new(MemoryStore::new()), ()))
    }

    keyward_domain::credential_repository_contract!(setup);
}
