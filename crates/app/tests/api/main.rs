//! Black-box tests of the HTTP API: the real application on port 0, spoken to over HTTP,
//! on every storage backend.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

mod support;

/// The store's TCP proxy that can stall the test PostgreSQL server.
#[path = "../../../store-diesel/tests/proxy/mod.rs"]
mod proxy;

mod alerts;
mod api_keys;
mod audit;
mod bad_input;
mod dashboard;
mod hardening;
mod instances;
mod internal;
mod isolation;
mod keys_cli;
mod lifecycle;
mod metrics;
mod openkj_client;
mod openkj_replay;
mod openkj_robustness;
mod pages;
mod permissions;
mod rate_limit;
mod service;
mod service_keys;
mod usage;
mod validate;
mod venues;
