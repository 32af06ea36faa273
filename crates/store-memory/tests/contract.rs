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

    /// `ApiKeyService` changes racing on one key, over the memory store.
    mod races {
        keyward_domain::api_key_write_races!(super::setup);
    }
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

/// Usage counts, with keys created and deleted through the same store.
mod usage {
    use std::sync::Arc;

    use keyward_domain::testing::usage::UsageFixture;
    use keyward_store_memory::MemoryStore;

    #[allow(clippy::unused_async)]
    async fn setup() -> Option<(Arc<UsageFixture>, ())> {
        let store = Arc::new(MemoryStore::new());
        Some((
            Arc::new(UsageFixture {
                keys: store.clone(),
                usage: store,
            }),
            (),
        ))
    }

    keyward_domain::usage_repository_contract!(setup);
}

/// Alerts, with keys created and deleted through the same store.
mod alerts {
    use std::sync::Arc;

    use keyward_domain::testing::alerts::AlertFixture;
    use keyward_store_memory::MemoryStore;

    #[allow(clippy::unused_async)]
    async fn setup() -> Option<(Arc<AlertFixture>, ())> {
        let store = Arc::new(MemoryStore::new());
        Some((
            Arc::new(AlertFixture {
                keys: store.clone(),
                alerts: store,
            }),
            (),
        ))
    }

    keyward_domain::alert_repository_contract!(setup);
}

/// Client addresses, with keys created and deleted through the same store.
mod client_addresses {
    use std::sync::Arc;

    use keyward_domain::testing::client_addresses::ClientAddressFixture;
    use keyward_store_memory::MemoryStore;

    #[allow(clippy::unused_async)]
    async fn setup() -> Option<(Arc<ClientAddressFixture>, ())> {
        let store = Arc::new(MemoryStore::new());
        Some((
            Arc::new(ClientAddressFixture {
                keys: store.clone(),
                addresses: store,
            }),
            (),
        ))
    }

    keyward_domain::client_address_contract!(setup);
}

/// Audit events, with keys created and deleted through the same store.
mod audit {
    use std::sync::Arc;

    use keyward_domain::testing::audit::AuditFixture;
    use keyward_store_memory::MemoryStore;

    #[allow(clippy::unused_async)]
    async fn setup() -> Option<(Arc<AuditFixture>, ())> {
        let store = Arc::new(MemoryStore::new());
        Some((
            Arc::new(AuditFixture {
                keys: store.clone(),
                audit: store,
            }),
            (),
        ))
    }

    keyward_domain::audit_log_contract!(setup);
}

/// One-time sign-in links: the store is both "instances".
mod sign_in_links {
    use std::sync::Arc;

    use keyward_domain::testing::sign_in_links::SignInLinkFixture;
    use keyward_store_memory::MemoryStore;

    #[allow(clippy::unused_async)]
    async fn setup() -> Option<(Arc<SignInLinkFixture>, ())> {
        let store = Arc::new(MemoryStore::new());
        Some((
            Arc::new(SignInLinkFixture {
                first: store.clone(),
                second: store,
            }),
            (),
        ))
    }

    keyward_domain::sign_in_link_contract!(setup);
}

/// The OpenKJ suites (serial, venues, song books, requests), each in its own module so
/// scenario names cannot collide.
mod openkj {
    use std::sync::Arc;

    use keyward_domain::ports::OpenKjStore;
    use keyward_store_memory::MemoryStore;

    #[allow(clippy::unused_async)]
    async fn setup() -> Option<(Arc<dyn OpenKjStore>, ())> {
        Some((Arc::new(MemoryStore::new()), ()))
    }

    mod serial {
        keyward_domain::serial_repository_contract!(super::setup);
    }
    mod venues {
        keyward_domain::venue_repository_contract!(super::setup);
    }
    mod songbook {
        keyward_domain::song_book_repository_contract!(super::setup);
    }
    mod requests {
        keyward_domain::request_repository_contract!(super::setup);
    }
}
