//! `GET /metrics` (SPEC §14): the service's counters in the Prometheus text exposition
//! format (version 0.0.4), every name prefixed `keyward_`.
//!
//! Counted as requests pass (per instance, in this process's memory):
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `keyward_http_requests_total` | counter | `route` (the matched pattern, e.g. `/v1/customer/api-keys/{id}`; `unmatched` for no route), `method`, `status` |
//! | `keyward_http_request_duration_seconds` | histogram | `route`, `method` |
//! | `keyward_verifications_total` | counter | `result`: `valid`, `invalid`, `malformed`, `rate_limited`, `error` |
//! | `keyward_openkj_commands_total` | counter | `command` (the wire name; `unknown` for anything else), `result`: `ok`, `error` |
//!
//! Read when scraped: `keyward_failed_auth_bursts_total` (SPEC §12's operator alert
//! `failed_auth_burst`: a client address spent its failed-verification budget), and from
//! [`MetricsSource`]s the binary registers: cache hits, misses and size, the database
//! pool's size, waiting callers and checkout totals, build info.
//!
//! Label values never carry request data beyond its shape: routes are patterns (never a
//! path with an id or a key in it), methods outside the standard ones are `other`,
//! OpenKJ command names outside the protocol are `unknown`, and scrape-time labels are
//! `&'static str`. So neither key material nor a customer id can reach a label, and no
//! client can grow the number of series.
//!
//! With `metrics.bearer_token` set, a scrape must send `Authorization: Bearer <token>`
//! (compared in constant time); otherwise 401.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures::future::LocalBoxFuture;
use keyward_domain::openkj::Command;
use prometheus::proto::{self, MetricFamily, MetricType};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
    TEXT_FORMAT, TextEncoder,
};
use utoipa::OpenApi;

use crate::boundary;
use crate::error::{ApiError, Problem};
use crate::shared_secret::SharedSecret;
use crate::state::AppState;

/// Prefix of every metric name.
pub const NAMESPACE: &str = "keyward";

/// Upper bounds of the request duration buckets, in seconds: 0.5 ms to 10 s.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Detail of the 401 when `metrics.bearer_token` is set and not presented.
pub const METRICS_TOKEN_REQUIRED: &str = "Bearer token required: metrics.bearer_token is set";
/// Detail of the 401 for a wrong token.
pub const INVALID_METRICS_TOKEN: &str = "Invalid metrics token";

/// `route` of a request no route matched (a 404).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// How a presented API key fared (`keyward_verifications_total{result}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationResult {
    /// The key is valid (a missing scope is decided afterwards and not counted here).
    Valid,
    /// Unknown, revoked, expired or rotated out.
    Invalid,
    /// Not in the key format, or its checksum does not match (refused before storage).
    Malformed,
    /// The client's failed-verification budget was spent; the key was not looked at.
    RateLimited,
    /// Storage could not answer.
    Error,
}

impl VerificationResult {
    const ALL: [Self; 5] = [
        Self::Valid,
        Self::Invalid,
        Self::Malformed,
        Self::RateLimited,
        Self::Error,
    ];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Malformed => "malformed",
            Self::RateLimited => "rate_limited",
            Self::Error => "error",
        }
    }
}

/// The Prometheus type of a value read at scrape time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    /// Only ever goes up (since the process started).
    Counter,
    /// Goes up and down.
    Gauge,
}

/// One metric family read at scrape time: its name without the `keyward_` prefix (e.g.
/// `cache_hits_total`), help text, type, and one value per label set. Label names and
/// values are `&'static str`, so no request data can become a label.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: SampleKind,
    pub samples: Vec<(Vec<(&'static str, &'static str)>, f64)>,
}

impl Family {
    /// A family of one unlabelled value.
    pub fn single(name: &'static str, help: &'static str, kind: SampleKind, value: f64) -> Self {
        Self {
            name,
            help,
            kind,
            samples: vec![(Vec::new(), value)],
        }
    }
}

/// Something whose state `/metrics` reads when scraped (the caches, the database pool).
/// Implemented by the binary over its adapters, so this crate depends on neither.
pub trait MetricsSource: Send + Sync {
    /// The current values. Called once per scrape; must not block on I/O.
    fn families(&self) -> Vec<Family>;
}

/// The counters of one instance and the sources read at scrape time. Shared by every
/// worker through [`AppState`].
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    verifications: [IntCounter; VerificationResult::ALL.len()],
    /// `(ok, error)` per command, in the order of [`Command::ALL`].
    openkj: Vec<(IntCounter, IntCounter)>,
    openkj_unknown: IntCounter,
    sources: Vec<Arc<dyn MetricsSource>>,
    token: Option<SharedSecret>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("sources", &self.sources.len())
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Registers `collector` on `registry`. The names are fixed and distinct, so this
/// cannot fail; a failure would be a programming error caught by every test.
fn registered<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: C,
) -> C {
    if let Err(err) = registry.register(Box::new(collector.clone())) {
        tracing::error!(error = %err, "a metric could not be registered");
    }
    collector
}

/// A counter vector from fixed names. Like [`registered`], it cannot fail on these inputs.
fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help).namespace(NAMESPACE), labels)
        .unwrap_or_else(|err| unreachable!("fixed metric {name} is valid: {err}"))
}

impl Metrics {
    /// Zeroed counters, no scrape-time sources, no token.
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = registered(
            &registry,
            counter_vec(
                "http_requests_total",
                "HTTP requests answered, by route pattern, method and status.",
                &["route", "method", "status"],
            ),
        );
        let http_duration = registered(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "Time from a request's arrival to its response head, by route pattern and method.",
                )
                .namespace(NAMESPACE)
                .buckets(DURATION_BUCKETS.to_vec()),
                &["route", "method"],
            )
            .unwrap_or_else(|err| unreachable!("fixed histogram is valid: {err}")),
        );
        let verification_vec = registered(
            &registry,
            counter_vec(
                "verifications_total",
                "API keys presented (X-API-Key or OpenKJ api_key), by result.",
                &["result"],
            ),
        );
        let verifications = VerificationResult::ALL
            .map(|result| verification_vec.with_label_values(&[result.as_str()]));
        let openkj_vec = registered(
            &registry,
            counter_vec(
                "openkj_commands_total",
                "OpenKJ commands answered, by command and result (every reply is HTTP 200).",
                &["command", "result"],
            ),
        );
        let openkj = Command::ALL
            .iter()
            .map(|command| {
                (
                    openkj_vec.with_label_values(&[command.as_str(), "ok"]),
                    openkj_vec.with_label_values(&[command.as_str(), "error"]),
                )
            })
            .collect();
        let openkj_unknown = openkj_vec.with_label_values(&["unknown", "error"]);
        Self {
            registry,
            http_requests,
            http_duration,
            verifications,
            openkj,
            openkj_unknown,
            sources: Vec::new(),
            token: None,
        }
    }

    /// Requires `Authorization: Bearer <token>` on `/metrics` (`metrics.bearer_token`).
    #[must_use]
    pub fn with_bearer_token(mut self, token: &str) -> Self {
        self.token = Some(SharedSecret::new(token));
        self
    }

    /// Adds a source read at every scrape.
    #[must_use]
    pub fn with_source(mut self, source: Arc<dyn MetricsSource>) -> Self {
        self.sources.push(source);
        self
    }

    /// Counts one presented key.
    pub fn verification(&self, result: VerificationResult) {
        let index = VerificationResult::ALL
            .iter()
            .position(|&r| r == result)
            .unwrap_or(0);
        self.verifications[index].inc();
    }

    /// Counts one OpenKJ command; `None` for a command name the protocol does not have.
    pub fn openkj_command(&self, command: Option<Command>, ok: bool) {
        let counters = command.and_then(|command| {
            Command::ALL
                .iter()
                .position(|&c| c == command)
                .and_then(|index| self.openkj.get(index))
        });
        match (counters, ok) {
            (Some((ok_counter, _)), true) => ok_counter.inc(),
            (Some((_, error_counter)), false) => error_counter.inc(),
            (None, _) => self.openkj_unknown.inc(),
        }
    }

    /// Everything in the text exposition format, families sorted by name.
    pub fn render(&self) -> String {
        self.render_with(Vec::new())
    }

    /// [`Self::render`] plus `extra` families read by the caller at scrape time.
    pub fn render_with(&self, extra: Vec<Family>) -> String {
        let mut families = self.registry.gather();
        for source in &self.sources {
            families.extend(source.families().into_iter().map(to_proto));
        }
        families.extend(extra.into_iter().map(to_proto));
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut out = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&families, &mut out) {
            tracing::error!(error = %err, "metrics could not be encoded");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    fn authorize(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        // RFC 7235: the scheme name is case-insensitive.
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(header::HeaderValue::as_bytes)
            .and_then(|value| value.split_at_checked(7))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(b"Bearer "))
            .map(|(_, token)| token)
            .ok_or_else(|| ApiError::bearer_rejected(METRICS_TOKEN_REQUIRED))?;
        if token.matches(presented.trim_ascii()) {
            Ok(())
        } else {
            Err(ApiError::bearer_rejected(INVALID_METRICS_TOKEN))
        }
    }
}

/// A count as a sample value (exact below 2^53, far beyond any count here).
#[allow(clippy::cast_precision_loss)]
fn count(value: u64) -> f64 {
    value as f64
}

fn to_proto(family: Family) -> MetricFamily {
    let mut out = MetricFamily::default();
    out.set_name(format!("{NAMESPACE}_{}", family.name));
    out.set_help(family.help.to_owned());
    out.set_field_type(match family.kind {
        SampleKind::Counter => MetricType::COUNTER,
        SampleKind::Gauge => MetricType::GAUGE,
    });
    let metrics = family
        .samples
        .into_iter()
        .map(|(labels, value)| {
            let mut metric = proto::Metric::default();
            metric.set_label(
                labels
                    .into_iter()
                    .map(|(name, value)| {
                        let mut pair = proto::LabelPair::default();
                        pair.set_name(name.to_owned());
                        pair.set_value(value.to_owned());
                        pair
                    })
                    .collect(),
            );
            match family.kind {
                SampleKind::Counter => {
                    let mut counter = proto::Counter::default();
                    counter.set_value(value);
                    metric.set_counter(counter);
                }
                SampleKind::Gauge => {
                    let mut gauge = proto::Gauge::default();
                    gauge.set_value(value);
                    metric.set_gauge(gauge);
                }
            }
            metric
        })
        .collect();
    out.set_metric(metrics);
    out
}

/// The `method` label: the standard methods by name, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 7] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("other", |(_, label)| label)
}

/// One worker's handles to the request counters, by route, method and status: the
/// label lookup (a hash of three strings under a lock shared by every worker) is done
/// once per series per worker, not once per request.
#[derive(Default)]
struct WorkerSeries {
    series: RefCell<HashMap<SeriesKey, (IntCounter, Histogram), foldhash::fast::RandomState>>,
}

/// Route pattern, method label, status.
type SeriesKey = (String, &'static str, StatusCode);

impl WorkerSeries {
    fn observe(
        &self,
        metrics: &Metrics,
        route: String,
        method: &'static str,
        status: StatusCode,
        seconds: f64,
    ) {
        let mut series = self.series.borrow_mut();
        let key = (route, method, status);
        if let Some((count, duration)) = series.get(&key) {
            count.inc();
            duration.observe(seconds);
            return;
        }
        let count =
            metrics
                .http_requests
                .with_label_values(&[key.0.as_str(), method, status.as_str()]);
        let duration = metrics
            .http_duration
            .with_label_values(&[key.0.as_str(), method]);
        count.inc();
        duration.observe(seconds);
        series.insert(key, (count, duration));
    }
}

/// Wraps one worker's application: counts every request by route pattern, method and
/// status, and times it. Registered by [`crate::server::app`].
pub fn observe_requests<S, B>(
    state: web::Data<AppState>,
) -> impl Fn(ServiceRequest, &S) -> LocalBoxFuture<'static, Result<ServiceResponse<B>, actix_web::Error>>
+ Clone
+ 'static
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    let worker = Rc::new((state, WorkerSeries::default()));
    move |req: ServiceRequest, service: &S| {
        let started = Instant::now();
        // `HEAD` is routed as `GET` by the outer middleware; count what the client sent.
        let method = method_label(&boundary::original_method(req.request()));
        let worker = Rc::clone(&worker);
        let response = service.call(req);
        Box::pin(async move {
            let response = response.await?;
            let route = response
                .request()
                .match_pattern()
                .unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
            let (state, series) = &*worker;
            series.observe(
                &state.metrics,
                route,
                method,
                response.status(),
                started.elapsed().as_secs_f64(),
            );
            Ok(response)
        })
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/metrics")
            .route(web::get().to(metrics))
            .route(web::head().to(metrics)),
    );
}

#[derive(Debug, OpenApi)]
#[openapi(paths(metrics), components(schemas(Problem)))]
pub struct MetricsDoc;

/// Prometheus metrics of this instance (SPEC §14).
///
/// Text exposition format 0.0.4. When `metrics.bearer_token` is configured, send
/// `Authorization: Bearer <token>`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "Operations",
    security((), ("metrics_token" = [])),
    responses(
        (status = 200, description = "The metrics", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "metrics.bearer_token is set and the request did not carry it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.metrics.authorize(&req)?;
    let bursts = Family::single(
        "failed_auth_bursts_total",
        "Bursts of failed verifications: a client address spent its budget (auth.failed_per_minute), counted once until the budget is full again (SPEC §12's operator alert failed_auth_burst); each is logged at WARN with client_ip.",
        SampleKind::Counter,
        count(state.failed_verifications.bursts()),
    );
    Ok(HttpResponse::Ok()
        .content_type(TEXT_FORMAT)
        .body(state.metrics.render_with(vec![bursts])))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl MetricsSource for Fixed {
        fn families(&self) -> Vec<Family> {
            vec![
                Family {
                    name: "cache_hits_total",
                    help: "Hits.",
                    kind: SampleKind::Counter,
                    samples: vec![
                        (vec![("cache", "keys")], 7.0),
                        (vec![("cache", "serials")], 2.0),
                    ],
                },
                Family::single("db_pool_waiting", "Waiting.", SampleKind::Gauge, 3.0),
            ]
        }
    }

    #[test]
    fn counters_and_sources_render_in_the_text_format() {
        let metrics = Metrics::new().with_source(Arc::new(Fixed));
        metrics.verification(VerificationResult::Valid);
        metrics.verification(VerificationResult::Valid);
        metrics.verification(VerificationResult::RateLimited);
        metrics.openkj_command(Some(Command::GetSerial), true);
        metrics.openkj_command(Some(Command::AddSongs), false);
        metrics.openkj_command(None, false);

        let text = metrics.render();

        for line in [
            "keyward_verifications_total{result=\"valid\"} 2",
            "keyward_verifications_total{result=\"rate_limited\"} 1",
            "keyward_verifications_total{result=\"invalid\"} 0",
            "keyward_openkj_commands_total{command=\"getSerial\",result=\"ok\"} 1",
            "keyward_openkj_commands_total{command=\"addSongs\",result=\"error\"} 1",
            "keyward_openkj_commands_total{command=\"unknown\",result=\"error\"} 1",
            "# TYPE keyward_cache_hits_total counter",
            "keyward_cache_hits_total{cache=\"keys\"} 7",
            "keyward_cache_hits_total{cache=\"serials\"} 2",
            "# TYPE keyward_db_pool_waiting gauge",
            "keyward_db_pool_waiting 3",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
