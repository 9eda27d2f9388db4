//! Harness for tower-cors' headless-Chromium CORS matrix (see `README.md` beside this crate).
//!
//! axum servers on `127.0.0.1`, each behind its own tower-cors policy on its own port, a page
//! server whose pages run fetch() scenarios in Chromium, and the comparison of what the browser
//! and the servers observed with hand-written expectations. The policies and scenarios
//! themselves live in `tests/browser_matrix.rs`.

#![forbid(unsafe_code)]

mod agreement;
mod browser;
mod matrix;
mod page;
mod scenario;
mod servers;

pub use agreement::{page_origin, run_in_chromium, Probe, Seen};
pub use browser::{chromium_version, locate_chromium, Browser};
pub use matrix::{run_main, Matrix, Report, Verdict};
pub use scenario::{
    blocked, get, readable, Credentials, Expect, Fetch, Page, Scenario, ServerCheck,
};
pub use servers::{
    inner_route, serve_api, Hits, PageServer, ScenarioHits, REQUEST_ID, SCENARIO_ROUTE, SECRET,
};
