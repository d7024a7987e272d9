//! Storage for Sigil: offers, access tokens, nonces, issuance records and events, on SQLite (embedded, WAL) or
//! PostgreSQL (many instances), through sea-orm with migrations.
//!
//! Every single-use rule (pre-authorized code, transaction-code attempts, nonce, offer status changes) is enforced by
//! one atomic conditional `UPDATE` whose affected-row count decides, so any number of instances sharing a database
//! behave as one. Secrets are stored only as hashes that the caller computes (hex SHA-256); the store never sees a raw
//! code or token, and the record types redact hashes in their `Debug` output.
//!
//! # Usage
//!
//! 1. Open the store once at start-up: [`Store::connect`] with `sqlite://data/sigil.db?mode=rwc` or
//!    `postgres://user@host/db`. It creates the SQLite file's directory if needed and applies pending migrations.
//! 2. Clone the [`Store`] into each request handler (clones share one connection pool); use [`Store::ping`] for
//!    readiness.
//! 3. Create an offer with [`Store::insert_offer`], passing the hashes of its pre-authorized code and tx code.
//! 4. When a wallet fetches it by reference, call [`Store::mark_resolved`].
//! 5. At the token endpoint, call [`Store::redeem_pre_authorized_code`]; on success store the access token's hash with
//!    [`Store::insert_access_token`]. Map each [`RedeemError`] to an OAuth error.
//! 6. Nonces are self-verifying (the nonce endpoint stores nothing); at the credential endpoint, check the token with
//!    [`Store::find_access_token`] and spend the proof's nonce with [`Store::spend_nonce`] ([`Store::insert_nonce`] and
//!    [`Store::consume_nonce`] serve stored nonces).
//! 7. After issuing, [`Store::complete_issuance`] records the issuance, the offer's status and the event in one
//!    transaction ([`Store::record_issuance`], [`Store::mark_credential_issued`] and [`Store::append_event`] do each
//!    alone).
//! 8. Run [`Store::purge_expired`] periodically to delete expired nonces, tokens and never-redeemed offers.

mod batch;
mod connect;
mod entities;
mod error;
mod events;
mod issuance;
mod migration;
mod nonces;
mod offer_record;
mod offers;
mod purge;
mod redeem;
mod status;
pub mod testing;
mod tokens;
mod util;

pub use connect::{Backend, Store};
pub use error::{RedeemError, StoreError};
pub use events::{EventRecord, NewEvent};
pub use issuance::{Finish, IssuanceRecord, NewIssuance};
pub use offer_record::{NewOffer, OfferRecord, TxCodeSpec};
pub use purge::PurgeCounts;
pub use redeem::{IssuedToken, Redeem};
pub use status::OfferStatus;
pub use tokens::{AccessTokenRecord, NewAccessToken};
