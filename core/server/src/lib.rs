//! Sigil's HTTP server and command line.
//!
//! [`startup::Application::build`] turns validated [`sigil_settings::Settings`]
//! into a bound actix-web server with the plugin runtime and issuer keys
//! loaded; [`cli`] wraps that in the `sigil` command.

pub mod auth;
pub mod cli;
pub mod delivery;
pub mod issuer_port;
pub mod keys_cli;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod outbound;
pub mod plugin_reload;
pub mod problem;
pub mod qr;
pub mod request_id;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tenants;
pub mod upstream;
