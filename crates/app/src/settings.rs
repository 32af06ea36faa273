//! Layered configuration (SPEC §11): built-in defaults (`config/default.toml`, compiled
//! in) → `config/default.toml` in the working directory → the file named by
//! `KEYWARD_CONFIG` → environment variables `KEYWARD__SECTION__KEY`.
//!
//! Everything is checked once at start, and every error names the setting it is about,
//! so an operator can fix it without reading code.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use keyward_domain::keys::KeyPrefix;
use keyward_domain::services::{KeyPolicy, OpenKjPolicy};
use keyward_http::client_ip::{InvalidProxy, TrustedProxies};
use keyward_http::openkj::OpenKjLimits;
use keyward_http::public::{CorsOrigins, InvalidOrigin, PublicLimits};
use serde::Deserialize;

/// The committed defaults, also used when the binary runs from another directory.
pub const BUILT_IN_DEFAULTS: &str = include_str!("../../../config/default.toml");
/// Defaults file looked up in the working directory.
pub const DEFAULTS_FILE: &str = "config/default.toml";

/// Largest `keys.default_ttl_days`: a hundred years (beyond it a date overflows nothing,
/// but such a setting is a typo).
pub const MAX_DEFAULT_TTL_DAYS: u32 = 36_500;
/// Environment variable naming an extra configuration file.
pub const CONFIG_FILE_ENV: &str = "KEYWARD_CONFIG";
/// Prefix of configuration environment variables (`KEYWARD__SERVER__PORT`).
pub const ENV_PREFIX: &str = "KEYWARD";

/// A configuration problem, naming the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("{setting}: {message}")]
    Invalid {
        setting: &'static str,
        message: String,
    },
    /// A file could not be read or a value could not be parsed; the message names the
    /// key (as the `config` crate reports it).
    #[error("configuration: {0}")]
    Load(String),
}

impl SettingsError {
    fn invalid(setting: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            setting,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub keys: KeySettings,
    pub auth: AuthSettings,
    pub log: LogSettings,
    pub usage: UsageSettings,
    pub audit: AuditSettings,
    pub cache: CacheSettings,
    pub openkj: OpenKjSettings,
    pub public: PublicSettings,
    #[serde(default)]
    pub vault: VaultSettings,
    #[serde(default)]
    pub internal: InternalSettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub max_body_bytes: usize,
    pub workers: usize,
    pub shutdown_timeout_seconds: u64,
    /// `server.drain_seconds`: how long to keep serving, with `Connection: close` and a
    /// 503 `/ready`, between the stop signal and the stop.
    pub drain_seconds: u64,
    /// `server.trusted_proxies`: comma-separated addresses or CIDR networks of reverse
    /// proxies whose `X-Forwarded-For` names the client; empty trusts none.
    #[serde(default)]
    pub trusted_proxies: String,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: usize,
    pub connect_timeout_seconds: u64,
    pub statement_timeout_seconds: u64,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("DatabaseSettings")
            .field("max_connections", &self.max_connections)
            .field("connect_timeout_seconds", &self.connect_timeout_seconds)
            .field("statement_timeout_seconds", &self.statement_timeout_seconds)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub prefix: String,
    pub max_per_customer: u32,
    pub expired_retention_days: u32,
    /// Lifetime in days of a key created without `expiresAt`; 0 = never expires.
    pub default_ttl_days: u32,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    #[serde(default)]
    pub jwt_secret: Option<String>,
    pub jwt_secret_file: PathBuf,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub audience: Option<String>,
    /// `auth.leeway_seconds`: clock skew tolerated on `exp` and `nbf` (SPEC §4).
    pub leeway_seconds: u64,
    /// `auth.failed_per_minute`: failed key verifications per client IP (SPEC §7).
    pub failed_per_minute: u32,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwt_secret_file", &self.jwt_secret_file)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_seconds", &self.leeway_seconds)
            .field("failed_per_minute", &self.failed_per_minute)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
    pub format: String,
}

/// The credentials vault's master key (docs/VAULT.md): inline hex or a file, and during
/// a rotation optionally the previous key. Resolved by [`crate::vault_keys`].
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultSettings {
    #[serde(default)]
    pub master_key: Option<String>,
    #[serde(default)]
    pub master_key_file: Option<PathBuf>,
    #[serde(default)]
    pub previous_master_key: Option<String>,
    #[serde(default)]
    pub previous_master_key_file: Option<PathBuf>,
}

impl std::fmt::Debug for VaultSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |key: &Option<String>| key.as_ref().map(|_| "<redacted>");
        f.debug_struct("VaultSettings")
            .field("master_key", &redacted(&self.master_key))
            .field("master_key_file", &self.master_key_file)
            .field("previous_master_key", &redacted(&self.previous_master_key))
            .field("previous_master_key_file", &self.previous_master_key_file)
            .finish()
    }
}

/// Access for internal services (`GET /internal/service-keys/{provider}/decrypt`).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternalSettings {
    /// Shared secret sent as `X-Service-Key`; unset disables the endpoint (503).
    #[serde(default)]
    pub service_key: Option<String>,
}

/// Shortest accepted `internal.service_key`.
pub const MIN_SERVICE_KEY_CHARS: usize = 32;

impl std::fmt::Debug for InternalSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InternalSettings")
            .field(
                "service_key",
                &self.service_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// `GET /metrics` (SPEC §14).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// When set, a scrape must send `Authorization: Bearer <this>`; unset leaves
    /// `/metrics` open (bind `server.host` to a private address then).
    #[serde(default)]
    pub bearer_token: Option<String>,
}

/// Shortest accepted `metrics.bearer_token`.
pub const MIN_METRICS_TOKEN_CHARS: usize = 16;

impl std::fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsSettings")
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageSettings {
    /// Seconds between writes of the buffered usage (1 to 3600).
    pub flush_interval_seconds: u64,
    /// Days the per-key daily counts are kept (SPEC §12; 1 to 36500, default 400).
    pub retention_days: u16,
}

/// The audit events (SPEC §12).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Days audit events are kept (1 to 36500, default 365).
    pub retention_days: u16,
}

/// The in-memory verification and serial caches (SPEC §7, ADR 0050).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// `false` sends every verification and `getSerial` to the database.
    pub enabled: bool,
    /// Most key-hash lookups remembered (1 to 10 000 000).
    pub max_keys: u64,
    /// Most customers whose OpenKJ serial is remembered (1 to 10 000 000).
    pub max_serials: u64,
    /// Longest an entry is kept whatever the change feed says, in seconds (1 to 86 400).
    pub ttl_seconds: u64,
}

/// The OpenKJ endpoint (SPEC §9, `docs/OPENKJ_INTEGRATION.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenKjSettings {
    /// `getEntitledSystemCount`: the highest System ID a host can pick in OpenKJ.
    pub entitled_systems: u32,
    /// `getAlert` warns when the key expires within this many days.
    pub alert_expiry_days: u32,
    /// Commands per minute per API key, song uploads excepted.
    pub commands_per_minute: u32,
    /// Song-upload commands a key may send back to back (1000 songs each).
    pub upload_burst: u32,
    /// Song-upload commands per hour once the burst is spent.
    pub uploads_per_hour: u32,
}

/// The public singer API (SPEC §8).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicSettings {
    /// Venue and song-search requests per minute per client IP.
    pub reads_per_minute: u32,
    /// Song requests per minute per client IP.
    pub submissions_per_minute: u32,
    /// Origins whose pages may call the public API from a browser (CORS): a
    /// comma-separated list such as `https://bar.example,http://localhost:3000`, `*`
    /// for any, empty (the default) for none. Parsed by
    /// [`Settings::public_cors_origins`].
    pub cors_origins: String,
}

impl Settings {
    /// Loads the layers from the process environment and validates the result.
    ///
    /// # Errors
    /// A file that cannot be read or parsed, a value of the wrong type, an unknown
    /// setting, or a value out of range.
    pub fn load() -> Result<Self, SettingsError> {
        let env_file = std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from);
        Self::load_from(
            env_file,
            Environment::with_prefix(ENV_PREFIX).separator("__"),
        )
    }

    /// The compiled-in defaults alone: no files, no environment (tests start here).
    ///
    /// # Errors
    /// Only if the committed defaults were broken, which a unit test rules out.
    pub fn built_in() -> Result<Self, SettingsError> {
        Config::builder()
            .add_source(File::from_str(BUILT_IN_DEFAULTS, FileFormat::Toml))
            .build()
            .and_then(Config::try_deserialize::<Settings>)
            .map_err(|err| SettingsError::Load(err.to_string()))?
            .normalized()
            .validated()
    }

    fn load_from(
        extra_file: Option<PathBuf>,
        environment: Environment,
    ) -> Result<Self, SettingsError> {
        let mut builder = Config::builder()
            .add_source(File::from_str(BUILT_IN_DEFAULTS, FileFormat::Toml))
            .add_source(File::new(DEFAULTS_FILE, FileFormat::Toml).required(false));
        if let Some(path) = extra_file {
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
        }
        let settings: Settings = builder
            .add_source(environment)
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|err| SettingsError::Load(err.to_string()))?;
        settings.normalized().validated()
    }

    /// Empty optional strings (e.g. `KEYWARD__AUTH__ISSUER=`) mean "unset".
    fn normalized(mut self) -> Self {
        for value in [
            &mut self.auth.jwt_secret,
            &mut self.auth.issuer,
            &mut self.auth.audience,
            &mut self.vault.master_key,
            &mut self.vault.previous_master_key,
            &mut self.internal.service_key,
            &mut self.metrics.bearer_token,
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                *value = None;
            }
        }
        for path in [
            &mut self.vault.master_key_file,
            &mut self.vault.previous_master_key_file,
        ] {
            if path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                *path = None;
            }
        }
        self
    }

    /// `internal.service_key` and `metrics.bearer_token`, when set, are long enough to
    /// resist guessing; the token also fits in an `Authorization` header unchanged.
    fn check_shared_secrets(&self) -> Result<(), SettingsError> {
        if self
            .internal
            .service_key
            .as_ref()
            .is_some_and(|key| key.chars().count() < MIN_SERVICE_KEY_CHARS)
        {
            return Err(SettingsError::invalid(
                "internal.service_key",
                format!("must be at least {MIN_SERVICE_KEY_CHARS} characters"),
            ));
        }
        if let Some(token) = &self.metrics.bearer_token {
            if token.chars().count() < MIN_METRICS_TOKEN_CHARS {
                return Err(SettingsError::invalid(
                    "metrics.bearer_token",
                    format!("must be at least {MIN_METRICS_TOKEN_CHARS} characters"),
                ));
            }
            if token
                .chars()
                .any(|ch| ch.is_whitespace() || ch.is_control())
            {
                return Err(SettingsError::invalid(
                    "metrics.bearer_token",
                    "must not contain white space or control characters",
                ));
            }
        }
        Ok(())
    }

    fn validated(self) -> Result<Self, SettingsError> {
        if self.server.host.trim().is_empty() {
            return Err(SettingsError::invalid("server.host", "must not be empty"));
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.server.max_body_bytes) {
            return Err(SettingsError::invalid(
                "server.max_body_bytes",
                "must be between 1024 and 16777216",
            ));
        }
        if self.server.workers > 256 {
            return Err(SettingsError::invalid("server.workers", "must be 0 to 256"));
        }
        if self.database.url.trim().is_empty() {
            return Err(SettingsError::invalid("database.url", "must not be empty"));
        }
        if !(1..=1000).contains(&self.database.max_connections) {
            return Err(SettingsError::invalid(
                "database.max_connections",
                "must be 1 to 1000",
            ));
        }
        if self.database.connect_timeout_seconds == 0 {
            return Err(SettingsError::invalid(
                "database.connect_timeout_seconds",
                "must be at least 1",
            ));
        }
        if self.database.statement_timeout_seconds == 0 {
            return Err(SettingsError::invalid(
                "database.statement_timeout_seconds",
                "must be at least 1",
            ));
        }
        self.key_prefix()?;
        if self.keys.max_per_customer == 0 {
            return Err(SettingsError::invalid(
                "keys.max_per_customer",
                "must be at least 1",
            ));
        }
        if self.keys.default_ttl_days > MAX_DEFAULT_TTL_DAYS {
            return Err(SettingsError::invalid(
                "keys.default_ttl_days",
                "must be 0 (never expire) to 36500",
            ));
        }
        if self.auth.jwt_secret.is_none() && self.auth.jwt_secret_file.as_os_str().is_empty() {
            return Err(SettingsError::invalid(
                "auth.jwt_secret_file",
                "must be set when auth.jwt_secret is not",
            ));
        }
        if self.server.drain_seconds > 300 {
            return Err(SettingsError::invalid(
                "server.drain_seconds",
                "must be 0 to 300",
            ));
        }
        if self.auth.leeway_seconds > 3600 {
            return Err(SettingsError::invalid(
                "auth.leeway_seconds",
                "must be 0 to 3600",
            ));
        }
        if !(1..=1_000_000).contains(&self.auth.failed_per_minute) {
            return Err(SettingsError::invalid(
                "auth.failed_per_minute",
                "must be 1 to 1000000",
            ));
        }
        self.log_format()?;
        self.check_shared_secrets()?;
        if !(1..=3600).contains(&self.usage.flush_interval_seconds) {
            return Err(SettingsError::invalid(
                "usage.flush_interval_seconds",
                "must be 1 to 3600",
            ));
        }
        if !(1..=36_500).contains(&self.usage.retention_days) {
            return Err(SettingsError::invalid(
                "usage.retention_days",
                "must be 1 to 36500",
            ));
        }
        self.trusted_proxies()?;
        self.public_cors_origins()?;
        if !(1..=36_500).contains(&self.audit.retention_days) {
            return Err(SettingsError::invalid(
                "audit.retention_days",
                "must be 1 to 36500",
            ));
        }
        self.validated_openkj()?;
        self.validated_cache()?;
        Ok(self)
    }

    fn validated_cache(&self) -> Result<(), SettingsError> {
        for (setting, value) in [
            ("cache.max_keys", self.cache.max_keys),
            ("cache.max_serials", self.cache.max_serials),
        ] {
            if !(1..=10_000_000).contains(&value) {
                return Err(SettingsError::invalid(setting, "must be 1 to 10000000"));
            }
        }
        if !(1..=86_400).contains(&self.cache.ttl_seconds) {
            return Err(SettingsError::invalid(
                "cache.ttl_seconds",
                "must be 1 to 86400",
            ));
        }
        Ok(())
    }

    /// The caches' sizes and lifetime, or `None` when `cache.enabled` is false.
    pub fn cache_options(&self) -> Option<keyward_cache::CacheOptions> {
        self.cache.enabled.then(|| keyward_cache::CacheOptions {
            max_keys: self.cache.max_keys,
            max_serials: self.cache.max_serials,
            time_to_live: Duration::from_secs(self.cache.ttl_seconds),
        })
    }

    fn validated_openkj(&self) -> Result<(), SettingsError> {
        let at_least_one = [
            (
                "openkj.commands_per_minute",
                self.openkj.commands_per_minute,
            ),
            ("openkj.upload_burst", self.openkj.upload_burst),
            ("openkj.uploads_per_hour", self.openkj.uploads_per_hour),
            ("public.reads_per_minute", self.public.reads_per_minute),
            (
                "public.submissions_per_minute",
                self.public.submissions_per_minute,
            ),
        ];
        for (setting, value) in at_least_one {
            if value == 0 {
                return Err(SettingsError::invalid(setting, "must be at least 1"));
            }
        }
        if !(1..=1000).contains(&self.openkj.entitled_systems) {
            return Err(SettingsError::invalid(
                "openkj.entitled_systems",
                "must be 1 to 1000",
            ));
        }
        if self.openkj.alert_expiry_days > 365 {
            return Err(SettingsError::invalid(
                "openkj.alert_expiry_days",
                "must be 0 to 365",
            ));
        }
        Ok(())
    }

    /// The OpenKJ endpoint's rules.
    pub fn openkj_policy(&self) -> OpenKjPolicy {
        OpenKjPolicy {
            entitled_systems: i32::try_from(self.openkj.entitled_systems).unwrap_or(i32::MAX),
            expiry_warning: time::Duration::days(i64::from(self.openkj.alert_expiry_days)),
        }
    }

    /// The OpenKJ endpoint's budgets per API key.
    pub fn openkj_limits(&self) -> OpenKjLimits {
        OpenKjLimits {
            commands_per_minute: at_least_one(self.openkj.commands_per_minute),
            upload_burst: at_least_one(self.openkj.upload_burst),
            uploads_per_hour: at_least_one(self.openkj.uploads_per_hour),
        }
    }

    /// The public singer API's budgets per client IP.
    /// `auth.failed_per_minute` (validated to be at least 1 on load).
    pub fn failed_per_minute(&self) -> NonZeroU32 {
        at_least_one(self.auth.failed_per_minute)
    }

    /// `server.trusted_proxies`, parsed.
    ///
    /// # Errors
    /// An entry that is neither an IP address nor a CIDR network, named.
    pub fn trusted_proxies(&self) -> Result<TrustedProxies, SettingsError> {
        self.server
            .trusted_proxies
            .parse()
            .map_err(|err: InvalidProxy| {
                SettingsError::invalid("server.trusted_proxies", err.to_string())
            })
    }

    /// `public.cors_origins`, parsed (SPEC §8).
    ///
    /// # Errors
    /// The first entry that is not an origin, named.
    pub fn public_cors_origins(&self) -> Result<CorsOrigins, SettingsError> {
        self.public
            .cors_origins
            .parse()
            .map_err(|err: InvalidOrigin| {
                SettingsError::invalid("public.cors_origins", err.to_string())
            })
    }

    pub fn public_limits(&self) -> PublicLimits {
        PublicLimits {
            reads_per_minute: at_least_one(self.public.reads_per_minute),
            submissions_per_minute: at_least_one(self.public.submissions_per_minute),
        }
    }

    /// The rules of key creation: prefix, cap, default lifetime (`keys.*`, SPEC §6).
    ///
    /// # Errors
    /// `keys.prefix` breaks the key format.
    pub fn key_policy(&self) -> Result<KeyPolicy, SettingsError> {
        Ok(KeyPolicy {
            prefix: self.key_prefix()?,
            max_per_customer: self.keys.max_per_customer,
            default_ttl: (self.keys.default_ttl_days > 0)
                .then(|| time::Duration::days(i64::from(self.keys.default_ttl_days))),
        })
    }

    /// # Errors
    /// `keys.prefix` breaks the key format.
    pub fn key_prefix(&self) -> Result<KeyPrefix, SettingsError> {
        KeyPrefix::new(self.keys.prefix.clone()).map_err(|_| {
            SettingsError::invalid("keys.prefix", "must be 1 to 16 ASCII letters or digits")
        })
    }

    /// # Errors
    /// `log.format` is neither `pretty` nor `json`.
    pub fn log_format(&self) -> Result<LogFormat, SettingsError> {
        match self.log.format.trim().to_ascii_lowercase().as_str() {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => Err(SettingsError::invalid(
                "log.format",
                "must be \"pretty\" or \"json\"",
            )),
        }
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.server.shutdown_timeout_seconds)
    }

    pub fn drain_period(&self) -> Duration {
        Duration::from_secs(self.server.drain_seconds)
    }

    pub fn flush_interval(&self) -> Duration {
        Duration::from_secs(self.usage.flush_interval_seconds)
    }

    pub fn expired_retention(&self) -> time::Duration {
        time::Duration::days(i64::from(self.keys.expired_retention_days))
    }
}

/// Validation already refused 0; this keeps the conversion total anyway.
fn at_least_one(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap_or(NonZeroU32::MIN)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load_with_env(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let source: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load_from(
            None,
            Environment::with_prefix(ENV_PREFIX)
                .separator("__")
                .source(Some(source)),
        )
    }

    #[test]
    fn built_in_defaults_are_the_documented_ones() {
        let settings = load_with_env(&[]).unwrap();

        assert_eq!(settings.server.host, "127.0.0.1");
        assert_eq!(settings.server.port, 8080);
        assert_eq!(settings.database.url, "sqlite://data/keyward.db");
        assert_eq!(settings.database.connect_timeout_seconds, 5);
        assert_eq!(settings.database.statement_timeout_seconds, 30);
        assert_eq!(settings.keys.prefix, "kw");
        assert_eq!(settings.keys.max_per_customer, 10);
        assert!(settings.auth.jwt_secret.is_none());
        assert_eq!(
            settings.auth.jwt_secret_file,
            PathBuf::from("data/jwt.secret")
        );
        assert_eq!(settings.auth.leeway_seconds, 30);
        assert_eq!(settings.auth.failed_per_minute, 60);
        assert_eq!(settings.usage.retention_days, 400);
        assert_eq!(settings.audit.retention_days, 365);
        assert_eq!(settings.log_format(), Ok(LogFormat::Pretty));
    }

    #[test]
    fn usage_retention_out_of_range_is_refused_naming_the_setting() {
        for value in ["0", "36501", "-1"] {
            let err = load_with_env(&[("KEYWARD__USAGE__RETENTION_DAYS", value)]).unwrap_err();

            assert!(
                err.to_string().contains("usage.retention_days"),
                "{value}: {err}"
            );
        }
        let kept = load_with_env(&[("KEYWARD__USAGE__RETENTION_DAYS", "36500")]).unwrap();
        assert_eq!(kept.usage.retention_days, 36_500);
    }

    #[test]
    fn cors_origins_default_to_none_take_a_list_or_star_and_name_a_bad_entry() {
        assert_eq!(
            load_with_env(&[]).unwrap().public_cors_origins().unwrap(),
            CorsOrigins::None
        );
        let any = load_with_env(&[("KEYWARD__PUBLIC__CORS_ORIGINS", "*")]).unwrap();
        assert_eq!(any.public_cors_origins().unwrap(), CorsOrigins::Any);
        let listed = load_with_env(&[(
            "KEYWARD__PUBLIC__CORS_ORIGINS",
            "https://bar.example,http://localhost:3000",
        )])
        .unwrap();
        assert_eq!(
            listed.public_cors_origins().unwrap(),
            CorsOrigins::Listed(vec![
                "https://bar.example".to_owned(),
                "http://localhost:3000".to_owned()
            ])
        );
        let err = load_with_env(&[("KEYWARD__PUBLIC__CORS_ORIGINS", "bar.example")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("public.cors_origins") && err.contains("bar.example"),
            "{err}"
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks_and_a_bad_one_is_named() {
        let settings =
            load_with_env(&[("KEYWARD__SERVER__TRUSTED_PROXIES", "10.0.0.0/8, ::1")]).unwrap();
        assert_eq!(
            settings.trusted_proxies().unwrap().to_string(),
            "10.0.0.0/8,::1/128"
        );
        assert!(
            load_with_env(&[])
                .unwrap()
                .trusted_proxies()
                .unwrap()
                .is_empty()
        );
        let err = load_with_env(&[("KEYWARD__SERVER__TRUSTED_PROXIES", "10.0.0.0/8,lb.local")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("server.trusted_proxies") && err.contains("lb.local"),
            "{err}"
        );
    }

    #[test]
    fn audit_retention_out_of_range_is_refused_naming_the_setting() {
        for value in ["0", "36501", "-1", "a year"] {
            let err = load_with_env(&[("KEYWARD__AUDIT__RETENTION_DAYS", value)]).unwrap_err();

            assert!(
                err.to_string().contains("audit.retention_days"),
                "{value}: {err}"
            );
        }
        let kept = load_with_env(&[("KEYWARD__AUDIT__RETENTION_DAYS", "1")]).unwrap();
        assert_eq!(kept.audit.retention_days, 1);
    }

    #[test]
    fn auth_budgets_out_of_range_are_refused_naming_the_setting() {
        for (name, value, setting) in [
            (
                "KEYWARD__AUTH__LEEWAY_SECONDS",
                "3601",
                "auth.leeway_seconds",
            ),
            (
                "KEYWARD__AUTH__FAILED_PER_MINUTE",
                "0",
                "auth.failed_per_minute",
            ),
        ] {
            let err = load_with_env(&[(name, value)]).unwrap_err();

            assert!(err.to_string().contains(setting), "{err}");
        }
    }

    #[test]
    fn environment_overrides_nested_keys() {
        let settings = load_with_env(&[
            ("KEYWARD__SERVER__PORT", "9000"),
            ("KEYWARD__KEYS__MAX_PER_CUSTOMER", "3"),
            ("KEYWARD__AUTH__JWT_SECRET", "1e5"),
        ])
        .unwrap();

        assert_eq!(settings.server.port, 9000);
        assert_eq!(settings.keys.max_per_customer, 3);
        // Kept as text: a secret that looks like a number must not be reinterpreted.
        assert_eq!(settings.auth.jwt_secret.as_deref(), Some("1e5"));
    }

    #[test]
    fn bad_prefix_names_the_setting() {
        let err = load_with_env(&[("KEYWARD__KEYS__PREFIX", "no_underscores")]).unwrap_err();

        assert_eq!(
            err.to_string(),
            "keys.prefix: must be 1 to 16 ASCII letters or digits"
        );
    }

    #[test]
    fn value_of_the_wrong_type_names_the_key() {
        let err = load_with_env(&[("KEYWARD__SERVER__PORT", "eighty")]).unwrap_err();

        assert!(err.to_string().contains("server.port"), "{err}");
    }

    #[test]
    fn openkj_defaults_are_the_documented_ones() {
        let settings = load_with_env(&[]).unwrap();

        assert_eq!(settings.openkj_policy(), OpenKjPolicy::default());
        assert_eq!(settings.openkj_limits(), OpenKjLimits::default());
        assert_eq!(settings.public_limits(), PublicLimits::default());
    }

    #[test]
    fn zero_budget_names_the_setting() {
        let err = load_with_env(&[("KEYWARD__OPENKJ__COMMANDS_PER_MINUTE", "0")]).unwrap_err();

        assert_eq!(
            err.to_string(),
            "openkj.commands_per_minute: must be at least 1"
        );
    }

    #[test]
    fn zero_statement_timeout_names_the_setting() {
        let err =
            load_with_env(&[("KEYWARD__DATABASE__STATEMENT_TIMEOUT_SECONDS", "0")]).unwrap_err();

        assert_eq!(
            err.to_string(),
            "database.statement_timeout_seconds: must be at least 1"
        );
    }

    #[test]
    fn cache_defaults_are_the_documented_ones() {
        let settings = load_with_env(&[]).unwrap();

        assert_eq!(
            settings.cache_options(),
            Some(keyward_cache::CacheOptions {
                max_keys: 100_000,
                max_serials: 10_000,
                time_to_live: Duration::from_secs(60),
            })
        );
    }

    #[test]
    fn cache_can_be_turned_off() {
        let settings = load_with_env(&[("KEYWARD__CACHE__ENABLED", "false")]).unwrap();

        assert_eq!(settings.cache_options(), None);
    }

    #[test]
    fn out_of_range_cache_settings_name_the_setting() {
        for (variable, value, message) in [
            (
                "KEYWARD__CACHE__TTL_SECONDS",
                "0",
                "cache.ttl_seconds: must be 1 to 86400",
            ),
            (
                "KEYWARD__CACHE__MAX_KEYS",
                "0",
                "cache.max_keys: must be 1 to 10000000",
            ),
            (
                "KEYWARD__CACHE__MAX_SERIALS",
                "10000001",
                "cache.max_serials: must be 1 to 10000000",
            ),
        ] {
            let err = load_with_env(&[(variable, value)]).unwrap_err();

            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn unknown_setting_is_refused() {
        let err = load_with_env(&[("KEYWARD__SERVER__PROT", "1")]).unwrap_err();

        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn empty_optional_strings_mean_unset() {
        let settings = load_with_env(&[("KEYWARD__AUTH__ISSUER", "")]).unwrap();

        assert!(settings.auth.issuer.is_none());
    }

    #[test]
    fn secrets_are_not_in_debug_output() {
        let master_key = "ab".repeat(32);
        let settings = load_with_env(&[
            ("KEYWARD__AUTH__JWT_SECRET", "super-secret-value"),
            ("KEYWARD__DATABASE__URL", "postgres://u:hunter2@db/k"),
            ("KEYWARD__VAULT__MASTER_KEY", &master_key),
            (
                "KEYWARD__INTERNAL__SERVICE_KEY",
                "internal-key-that-is-long-enough-1234",
            ),
        ])
        .unwrap();

        let printed = format!("{settings:?}");

        assert!(!printed.contains("super-secret-value"));
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains("abab"));
        assert!(!printed.contains("long-enough"));
    }

    #[test]
    fn vault_and_internal_access_are_off_by_default() {
        let settings = load_with_env(&[]).unwrap();

        assert!(settings.vault.master_key.is_none());
        assert!(settings.vault.master_key_file.is_none());
        assert!(settings.internal.service_key.is_none());
    }

    #[test]
    fn all_digit_master_key_stays_text() {
        let digits = "1".repeat(64);
        let settings = load_with_env(&[("KEYWARD__VAULT__MASTER_KEY", &digits)]).unwrap();

        assert_eq!(settings.vault.master_key.as_deref(), Some(digits.as_str()));
    }

    #[test]
    fn metrics_token_is_optional_checked_and_redacted() {
        let open = load_with_env(&[("KEYWARD__METRICS__BEARER_TOKEN", "")]).unwrap();
        let short = load_with_env(&[("KEYWARD__METRICS__BEARER_TOKEN", "short")]).unwrap_err();
        let spaced =
            load_with_env(&[("KEYWARD__METRICS__BEARER_TOKEN", "scrape token with spaces")])
                .unwrap_err();
        let set = load_with_env(&[("KEYWARD__METRICS__BEARER_TOKEN", "scrape-token-0123456789")])
            .unwrap();

        assert!(open.metrics.bearer_token.is_none());
        assert_eq!(
            short.to_string(),
            "metrics.bearer_token: must be at least 16 characters"
        );
        assert_eq!(
            spaced.to_string(),
            "metrics.bearer_token: must not contain white space or control characters"
        );
        assert!(!format!("{set:?}").contains("scrape-token-0123456789"));
    }

    #[test]
    fn default_ttl_days_is_off_by_default_and_bounded() {
        let default = load_with_env(&[]).unwrap();
        let ninety = load_with_env(&[("KEYWARD__KEYS__DEFAULT_TTL_DAYS", "90")]).unwrap();
        let absurd = load_with_env(&[("KEYWARD__KEYS__DEFAULT_TTL_DAYS", "36501")]).unwrap_err();

        assert_eq!(default.key_policy().unwrap().default_ttl, None);
        assert_eq!(
            ninety.key_policy().unwrap().default_ttl,
            Some(time::Duration::days(90))
        );
        assert_eq!(
            absurd.to_string(),
            "keys.default_ttl_days: must be 0 (never expire) to 36500"
        );
    }

    #[test]
    fn short_internal_service_key_names_the_setting() {
        let err = load_with_env(&[("KEYWARD__INTERNAL__SERVICE_KEY", "short")]).unwrap_err();

        assert_eq!(
            err.to_string(),
            "internal.service_key: must be at least 32 characters"
        );
    }
}
