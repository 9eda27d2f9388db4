//! CORS for tower, axum, tonic and hyper.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod decision;
mod error;
mod future;
mod header_list;
mod layer;
mod origin;
mod policy;
mod reload;
mod service;

pub use builder::{CorsBuilder, MAX_AGE_LIMIT};
pub use decision::{CorsHeaders, Decision, Reason, Rejection};
pub use error::{ConfigError, ListKind, Problem};
pub use future::ResponseFuture;
pub use header_list::{MAX_REQUEST_HEADERS_BYTES, MAX_REQUEST_HEADER_NAMES};
pub use layer::CorsLayer;
pub use policy::OriginFuture;
pub use reload::{ReloadHandle, ReloadableCorsLayer};
pub use service::Cors;
