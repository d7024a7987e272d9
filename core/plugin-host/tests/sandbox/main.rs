//! Hostile plugins against the real sandbox: each fails only its own call,
//! with an attributed, typed error, while good calls go on.
//!
//! The fixtures are built by `cargo xtask build-fixtures` (which `cargo xtask
//! test` runs) into `target/fixtures/`.

#![allow(clippy::unwrap_used, missing_docs, reason = "tests")]

mod helpers;
mod hostile;
mod interpreted;
mod loading;
mod metrics;
mod outbound;
mod signing;
