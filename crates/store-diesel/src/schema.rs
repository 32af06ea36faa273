//! The one Diesel schema both backends share. Written by hand (not `diesel print-schema`)
//! because the columns use the portable types of [`crate::types`]; the per-backend DDL
//! lives in `migrations/sqlite` and `migrations/postgres` and must match this file.

diesel::table! {
    use diesel::sql_types::Integer;
    use crate::types::{PortableInstant, PortableUuid};

    /// Customers (tenants). Created on first use. `openkj_serial` is the serial OpenKJ
    /// polls, `last_request_id` the last singer request id handed out (0: none yet).
    customers (id) {
        id -> PortableUuid,
        created_at -> PortableInstant,
        openkj_serial -> Integer,
        last_request_id -> Integer,
    }
}

diesel::table! {
    use diesel::sql_types::{BigInt, Bool, Nullable, Text};
    use crate::types::{PortableInstant, PortableUuid};

    /// API keys. `key_hash`/`retired_key_hash` are SHA-256 hex; `scopes` is canonical
    /// scope names joined by commas; `version` counts the key's writes (compare-and-swap).
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
        revoked_at -> Nullable<PortableInstant>,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::{BigInt, Date};
    use crate::types::PortableUuid;

    /// Verification counts per key and UTC day. `customer_id` is the key's; `day` is
    /// Diesel's portable `Date` (`date` on PostgreSQL, TEXT `YYYY-MM-DD` on SQLite).
    /// A key's rows are deleted with it (`ON DELETE CASCADE`).
    api_key_usage (key_id, day) {
        key_id -> PortableUuid,
        customer_id -> PortableUuid,
        day -> Date,
        verified -> BigInt,
        denied -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::Text;
    use crate::types::{PortableInstant, PortableUuid};

    /// Alerts about keys, at most one per `(key_id, kind, hour)`. `customer_id` is the
    /// key's; `kind` a wire name (`AlertKind::as_str`); `hour` is `at` truncated to the
    /// UTC hour. A key's alerts are deleted with it (`ON DELETE CASCADE`).
    api_key_alerts (id) {
        id -> PortableUuid,
        key_id -> PortableUuid,
        customer_id -> PortableUuid,
        kind -> Text,
        at -> PortableInstant,
        hour -> PortableInstant,
        detail -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::Text;
    use crate::types::{PortableInstant, PortableUuid};

    /// The client addresses each key was used from, one row per `(key_id, address)`.
    /// `address` is a `ClientAddress` as written (`Display`/`FromStr`); `first_seen_at <=
    /// last_seen_at`. A key's addresses are deleted with it (`ON DELETE CASCADE`).
    key_client_addresses (key_id, address) {
        key_id -> PortableUuid,
        address -> Text,
        first_seen_at -> PortableInstant,
        last_seen_at -> PortableInstant,
    }
}

diesel::table! {
    use diesel::sql_types::{Nullable, Text};
    use crate::types::{PortableInstant, PortableJson, PortableUuid};

    /// Audit events (SPEC §12). No foreign keys: events outlive the key, venue or
    /// credential `target_id` names, and `customer_id` (the target's owner) is copied.
    /// `actor_type`, `action` and `target_type` are wire names (`ActorType::as_str`,
    /// `AuditAction::as_str`, `TargetType::as_str`); `ip` is an `IpAddr` as text;
    /// `details` a JSON object.
    audit_events (id) {
        id -> PortableUuid,
        customer_id -> PortableUuid,
        at -> PortableInstant,
        actor_type -> Text,
        actor_id -> Text,
        ip -> Nullable<Text>,
        action -> Text,
        target_type -> Text,
        target_id -> PortableUuid,
        details -> PortableJson,
    }
}

diesel::table! {
    use diesel::sql_types::{Nullable, Text};
    use crate::types::{PortableInstant, PortableUuid};

    /// One-time dashboard sign-in links (SPEC §15, ADR 0062). `token_hash` is the SHA-256
    /// hex of the token; `permissions` a JSON array of names as text; `used_at` is set by
    /// the one redeem that wins. No foreign keys.
    dashboard_sign_in_links (token_hash) {
        token_hash -> Text,
        customer_id -> PortableUuid,
        subject -> Text,
        permissions -> Text,
        created_at -> PortableInstant,
        expires_at -> PortableInstant,
        used_at -> Nullable<PortableInstant>,
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

diesel::table! {
    use diesel::sql_types::{Bool, Integer, Text};
    use crate::types::{PortableInstant, PortableUuid};

    /// Venues; `openkj_venue_id` is unique per customer, `url_name` across customers.
    venues (id) {
        id -> PortableUuid,
        customer_id -> PortableUuid,
        openkj_venue_id -> Integer,
        name -> Text,
        url_name -> Text,
        accepting_requests -> Bool,
        system_id -> Integer,
        created_at -> PortableInstant,
        updated_at -> PortableInstant,
    }
}

diesel::table! {
    use diesel::sql_types::{BigInt, Integer, Text};
    use crate::types::PortableUuid;

    /// Song books, one per (customer, system). `*_folded` are the search keys.
    songs (id) {
        id -> BigInt,
        customer_id -> PortableUuid,
        system_id -> Integer,
        artist -> Text,
        title -> Text,
        artist_folded -> Text,
        title_folded -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::{Integer, Nullable, SmallInt, Text};
    use crate::types::{PortableInstant, PortableUuid};

    /// Singer requests; queued while `processed_at` is NULL.
    song_requests (customer_id, request_id) {
        customer_id -> PortableUuid,
        request_id -> Integer,
        venue_id -> PortableUuid,
        singer -> Text,
        artist -> Text,
        title -> Text,
        key_change -> SmallInt,
        requested_at -> PortableInstant,
        processed_at -> Nullable<PortableInstant>,
    }
}

diesel::joinable!(api_keys -> customers (customer_id));
diesel::joinable!(api_key_usage -> api_keys (key_id));
diesel::joinable!(api_key_alerts -> api_keys (key_id));
diesel::joinable!(key_client_addresses -> api_keys (key_id));
diesel::joinable!(service_credentials -> customers (owner_customer_id));
diesel::joinable!(venues -> customers (customer_id));
diesel::joinable!(songs -> customers (customer_id));
diesel::joinable!(song_requests -> venues (venue_id));
diesel::allow_tables_to_appear_in_same_query!(
    customers,
    api_keys,
    api_key_usage,
    api_key_alerts,
    key_client_addresses,
    audit_events,
    dashboard_sign_in_links,
    service_credentials,
    venues,
    songs,
    song_requests
);
