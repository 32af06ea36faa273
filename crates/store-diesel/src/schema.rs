//! The one Diesel schema both backends share. Written by hand (not `diesel print-schema`)
//! because the columns use the portable types of [`crate::types`]; the per-backend DDL
//! lives in `migrations/sqlite` and `migrations/postgres` and must match this file.

diesel::table! {
    use crate::types::{PortableInstant, PortableUuid};

    /// Customers (tenants). Created on first use; later issues add per-customer state.
    customers (id) {
        id -> PortableUuid,
        created_at -> PortableInstant,
    }
}

diesel::table! {
    use diesel::sql_types::{Bool, Nullable, Text};
    use crate::types::{PortableInstant, PortableUuid};

    /// API keys. `key_hash`/`retired_key_hash` are SHA-256 hex; `scopes` is canonical
    /// scope names joined by commas.
    api_keys (id) {
        id -> PortableUuid,
        customer_id -> PortableUuid,
        name -> Text,
        description -> Nullable<Text>,
        display_prefix -> Text,
        key_hash -> Text,
        scopes -> Text,
        active -> Bool,
        expires_at -> Nullable<PortableInstant>,
        last_used_at -> Nullable<PortableInstant>,
        created_at -> PortableInstant,
        updated_at -> PortableInstant,
        created_by -> Nullable<Text>,
        retired_key_hash -> Nullable<Text>,
        retired_valid_until -> Nullable<PortableInstant>,
    }
}

diesel::table! {
    use diesel::sql_types::{BigInt, Binary, Bool, Nullable, Text};
    use crate::types::{PortableInstant, PortableUuid};

    /// Third-party service credentials (the vault). `owner_customer_id` is NULL for the
    /// platform's own; `key_version` is a `u32` master-key fingerprint; `nonce` and
    /// `ciphertext` are the AES-256-GCM output (ciphertext ends with the tag).
    service_credentials (id) {
        id -> PortableUuid,
        owner_customer_id -> Nullable<PortableUuid>,
        provider -> Text,
        name -> Text,
        description -> Nullable<Text>,
        masked_secret -> Text,
        key_version -> BigInt,
        nonce -> Binary,
        ciphertext -> Binary,
        active -> Bool,
        last_used_at -> Nullable<PortableInstant>,
        created_at -> PortableInstant,
        updated_at -> PortableInstant,
    }
}

diesel::joinable!(api_keys -> customers (customer_id));
diesel::joinable!(service_credentials -> customers (owner_customer_id));
diesel::allow_tables_to_appear_in_same_query!(customers, api_keys, service_credentials);
