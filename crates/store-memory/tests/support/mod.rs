//! Shared set-up of the vault tests: a memory store, a settable clock, real ciphers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use keyward_domain::ports::Clock;
use keyward_domain::services::{CustomerCredentialInput, NewCredential, VaultService};
use keyward_domain::vault::{
    AesGcmCipher, CredentialName, MASTER_KEY_LEN, MasterKey, Provider, SecretText,
};
use keyward_store_memory::MemoryStore;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct SettableClock(Mutex<OffsetDateTime>);

impl SettableClock {
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for SettableClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// A master key made of one repeated byte: distinct bytes, distinct keys.
pub fn master_key(byte: u8) -> MasterKey {
    MasterKey::from_bytes(&[byte; MASTER_KEY_LEN]).unwrap()
}

/// A vault service over a memory store, with the store and clock at hand.
pub struct Vault {
    pub store: Arc<MemoryStore>,
    pub clock: Arc<SettableClock>,
    pub service: VaultService,
}

impl Vault {
    /// A fresh store, sealing under `master_key(key)`.
    pub fn new(key: u8) -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(SettableClock(Mutex::new(
            datetime!(2026-06-01 12:00:00 UTC),
        )));
        Self::over(store, clock, AesGcmCipher::new(master_key(key)))
    }

    /// The same store and clock, with a service configured with another key.
    pub fn with_key(&self, key: u8) -> Self {
        self.with_cipher(AesGcmCipher::new(master_key(key)))
    }

    /// The same store and clock, with a service using `cipher`.
    pub fn with_cipher(&self, cipher: AesGcmCipher) -> Self {
        Self::over(self.store.clone(), self.clock.clone(), cipher)
    }

    fn over(store: Arc<MemoryStore>, clock: Arc<SettableClock>, cipher: AesGcmCipher) -> Self {
        let service = VaultService::new(
            store.clone(),
            Arc::new(cipher),
            clock.clone(),
            keyward_domain::testing::recorded_audit::RecordedAudit::trail_with_clock(clock.clone())
                .0,
        );
        Self {
            store,
            clock,
            service,
        }
    }
}

pub fn secret(text: &str) -> SecretText {
    SecretText::new(text).unwrap()
}

pub fn openai() -> Provider {
    Provider::new("openai").unwrap()
}

pub fn new_credential(provider: &str, plaintext: &str) -> NewCredential {
    NewCredential {
        provider: Provider::new(provider).unwrap(),
        name: CredentialName::new(format!("{provider} production")).unwrap(),
        description: None,
        secret: secret(plaintext),
        active: true,
    }
}

pub fn put_input(plaintext: &str) -> CustomerCredentialInput {
    CustomerCredentialInput {
        name: None,
        description: None,
        secret: secret(plaintext),
        active: true,
    }
}

/// The caller of every change in these tests.
pub fn ctx() -> keyward_domain::audit::RequestContext {
    keyward_domain::audit::RequestContext::system("test")
}
