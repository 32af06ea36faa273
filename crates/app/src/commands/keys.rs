//! `keyward keys cleanup`: delete keys that expired more than
//! `keys.expired_retention_days` ago, and say how many.

use std::sync::Arc;

use keyward_domain::ports::{OsSecretGenerator, SystemClock};
use keyward_domain::services::{ApiKeyService, KeyPolicy};
use keyward_domain::usage::UsageBuffer;

use crate::error::AppError;
use crate::settings::Settings;
use crate::storage;

/// # Errors
/// The database cannot be opened, migrated or cleaned.
pub async fn cleanup(settings: &Settings) -> Result<(), AppError> {
    let store = storage::open_migrated(settings).await?;
    let service = ApiKeyService::new(
        Arc::new(store),
        Arc::new(SystemClock),
        Arc::new(OsSecretGenerator::default()),
        Arc::new(UsageBuffer::new()),
        KeyPolicy {
            prefix: settings.key_prefix()?,
            max_per_customer: settings.keys.max_per_customer,
        },
    );
    let deleted = service
        .cleanup_expired(settings.expired_retention())
        .await
        .map_err(AppError::Storage)?;
    println!(
        "deleted {deleted} API key(s) expired more than {} day(s) ago",
        settings.keys.expired_retention_days
    );
    Ok(())
}
