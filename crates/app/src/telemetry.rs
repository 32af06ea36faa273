//! Log output: `tracing` events as human-readable lines (coloured on a terminal) or as
//! one JSON object per line, filtered by `RUST_LOG` or `log.level`. Logs go to stderr so
//! that commands such as `keyward token` keep stdout for their result.

use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::settings::{LogFormat, Settings, SettingsError};

/// The filter from `RUST_LOG` when set, else from `log.level`.
///
/// # Errors
/// `log.level` (or `RUST_LOG`) is not a valid filter.
pub fn filter(settings: &Settings) -> Result<EnvFilter, SettingsError> {
    if let Ok(from_env) = std::env::var(EnvFilter::DEFAULT_ENV)
        && !from_env.trim().is_empty()
    {
        return EnvFilter::try_new(&from_env).map_err(|err| SettingsError::Invalid {
            setting: "RUST_LOG",
            message: err.to_string(),
        });
    }
    let level = settings.log.level.trim();
    check_level_words(level)?;
    EnvFilter::try_new(level).map_err(|err| SettingsError::Invalid {
        setting: "log.level",
        message: err.to_string(),
    })
}

/// Levels a bare word in `log.level` may name.
const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// `EnvFilter` reads a bare word such as `nonsense` as a target name, which silently
/// turns logging off for everything else. So every directive of `log.level` must be a
/// level, or a `target=level` pair (which `EnvFilter` itself checks).
fn check_level_words(level: &str) -> Result<(), SettingsError> {
    let unknown = level.split(',').map(str::trim).find(|directive| {
        !directive.contains('=')
            && !LEVELS
                .iter()
                .any(|known| directive.eq_ignore_ascii_case(known))
    });
    match unknown {
        Some(word) => Err(SettingsError::Invalid {
            setting: "log.level",
            message: format!(
                "`{word}` is not a level (trace, debug, info, warn, error, off) or a target=level directive"
            ),
        }),
        None => Ok(()),
    }
}

/// Database drivers whose DEBUG and TRACE events carry query parameters: the
/// PostgreSQL driver logs `executing statement … with parameters: [...]`, and a key's
/// SHA-256 is a parameter of every verification. SPEC §2 allows no key material at any
/// level, so these targets are capped at INFO whatever `log.level` or `RUST_LOG` say
/// (a target directive alone could be overridden by a more specific one, such as
/// `tokio_postgres::query=debug`).
pub const PARAMETER_LOGGING_TARGETS: [&str; 1] = ["tokio_postgres"];

/// Whether an event or span may be recorded: everything except what
/// [`PARAMETER_LOGGING_TARGETS`] emit below INFO.
fn free_of_query_parameters(metadata: &tracing::Metadata<'_>) -> bool {
    *metadata.level() <= tracing::Level::INFO
        || !PARAMETER_LOGGING_TARGETS
            .iter()
            .any(|target| is_within(metadata.target(), target))
}

/// `target` is `module` or one of its submodules (`tokio_postgres::query`).
fn is_within(target: &str, module: &str) -> bool {
    target
        .strip_prefix(module)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// A subscriber writing to `writer` in `format`, with `filter` and the cap on
/// [`PARAMETER_LOGGING_TARGETS`].
pub fn subscriber<W>(
    filter: EnvFilter,
    format: LogFormat,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(true);
    let cap = filter_fn(free_of_query_parameters);
    match format {
        LogFormat::Pretty => Box::new(builder.with_ansi(ansi).finish().with(cap)),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish()
                .with(cap),
        ),
    }
}

/// Installs the process-wide subscriber and routes `log` records (actix's) into it.
/// Call once, early; a second call keeps the first subscriber.
///
/// # Errors
/// An invalid filter or format setting.
pub fn init(settings: &Settings) -> Result<(), SettingsError> {
    let subscriber = subscriber(
        filter(settings)?,
        settings.log_format()?,
        std::io::stderr,
        std::io::stderr().is_terminal(),
    );
    let _ = subscriber.try_init();
    Ok(())
}
