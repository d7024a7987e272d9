//! End-to-end tests against a real server on 127.0.0.1.

#![allow(clippy::unwrap_used, missing_docs, reason = "tests")]

mod admin_plugins;
mod auth_code;
mod claims;
mod claims_id_token;
mod concurrency;
mod credential;
mod deferred;
mod events;
mod external_as;
mod format_jwt_vc;
mod format_mdoc;
mod format_sd_jwt;
mod hardening;
mod health;
mod interpreted_plugins;
mod keys;
mod metrics;
mod notification;
mod offer_push;
mod offers;
mod openapi;
mod plugin_reload;
mod request_ids;
mod round_trips;
mod status_list;
mod token;
mod wallet;
mod webhooks;
