//! End-to-end tests against a real server on 127.0.0.1.

#![allow(clippy::unwrap_used, missing_docs, reason = "tests")]

mod admin_plugins;
mod concurrency;
mod credential;
mod format_jwt_vc;
mod format_mdoc;
mod format_sd_jwt;
mod health;
mod offers;
mod token;
mod wallet;
