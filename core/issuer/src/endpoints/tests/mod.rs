//! Every endpoint's rules against in-memory fakes of the ports: no HTTP,
//! no database, no wasm.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod authorization;
mod claims;
mod credential;
mod deferred;
mod external;
mod fake_lifecycle;
mod fakes;
mod fuzz;
mod fuzz_authz;
mod mdl;
mod notification;
mod observe;
mod offer;
mod status_list;
mod token;
