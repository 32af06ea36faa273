//! keyward's HTTP adapter: the customer API, key verification, probes and the OpenAPI
//! document, on actix-web.
//!
//! Handlers are thin: extractors authenticate and parse, DTOs validate and convert into
//! domain values, one service call does the work, and every error leaves as
//! problem+json through [`error::ApiError`]. The binary builds an [`AppState`] and calls
//! [`server::serve`]; tests do the same on port 0.

pub mod admin;
pub mod auth;
pub mod boundary;
pub mod budget;
pub mod client_ip;
pub mod customer;
pub mod error;
pub mod extract;
pub mod health;
pub mod integration;
pub mod internal;
pub mod metrics;
pub mod openapi;
pub mod openkj;
pub mod pages;
pub mod public;
pub mod rate_limit;
pub mod request_id;
pub mod schemas;
pub mod server;
pub mod shared_secret;
pub mod state;
pub mod strict_json;
pub mod validate;
pub mod validation;
pub mod vault;
pub mod venues;
pub mod whole;

pub use error::{ApiError, Problem, ProblemType};
pub use server::{ServerOptions, app, configure, serve};
pub use state::{AlwaysReady, AppState, ReadinessCheck};
