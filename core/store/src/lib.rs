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
//! 3. Create an offer with [`Store::create_offer`] (the offer and its `offer_created` event in one transaction),
//!    passing the hashes of its pre-authorized code and tx code ([`Store::insert_offer`] stores the offer alone).
//! 4. When a wallet fetches it by reference, call [`Store::resolve_offer`] (status and `offer_resolved` event;
//!    [`Store::mark_resolved`] without the event).
//! 5. At the token endpoint, call [`Store::redeem_for_token`]: it redeems the code and stores the access token's hash
//!    and a `token_issued` event in one transaction ([`Store::redeem_pre_authorized_code`] and
//!    [`Store::insert_access_token`] do the parts alone). Map each [`RedeemError`] to an OAuth error.
//! 6. Nonces are self-verifying (the nonce endpoint stores nothing). At the credential endpoint, read the token and
//!    its offer with [`Store::find_access_token_and_offer`].
//! 7. After issuing, [`Store::finish_credential`] spends the request's nonces and records the issuance, the offer's
//!    status and the event in one transaction; a nonce spent before makes it change nothing
//!    ([`Finish::NonceSpent`]). On SQLite these writes are one trip to the database (ADR 0009).
//! 8. On a SQLite file, every write batch of steps 3–7 goes to one writer thread that commits whatever batches are
//!    waiting in one transaction, each in a savepoint of its own, and the reads of steps 4–6 run on the calling
//!    thread (ADR 0010, module `lite`).
//! 9. Run [`Store::purge_expired`] periodically to delete expired nonces, tokens, never-redeemed offers and spent
//!    authorizations.
//!
//! The authorization code flow keeps one row per authorization (module `authorizations`: push, login, code;
//! module `grants`: code redemption, refresh token rotation, revocation of a replayed grant), with the same rule:
//! each step is a conditional `UPDATE` whose affected rows decide, and multi-row changes are one transaction.
//!
//! The credential lifecycle (ADR 0019) keeps the same rule. Module `status_lists`: one open Token Status List per
//! tenant (a partial unique index; concurrent openers agree on one), indices reserved for good by
//! `INSERT … ON CONFLICT DO NOTHING RETURNING` (the primary key decides across instances), status changes as
//! conditional updates of the issuance records that raise the list's `version`, and the entries a list is built from
//! read from a partial index of the records that are not valid. Module `deferred`: deferred transactions (nonces
//! spent at deferral; settled by the operator; collected once, in the transaction that records the issuance).
//! Module `credentials`: the issuance records and their list endpoint (`Store::find_credentials`).
//!
//! Webhook delivery (ADR 0021, module `delivery`): the event log is the outbox; each event endpoint has a cursor
//! row (position, lease) taken by one conditional `UPDATE`, and every write of the lease holder is fenced on it.
//! Pending deliveries (retrying or dead) are rows of their own; the operator reads them with
//! [`Store::delivery_progress`] and [`Store::dead_letters`] and redelivers with [`Store::redeliver`].

mod authorization_record;
mod authorizations;
mod batch;
mod chain;
mod connect;
mod credentials;
mod deferred;
mod delivery;
mod entities;
mod error;
mod events;
mod expiry;
mod grants;
mod issuance;
mod leases;
mod lite;
mod migration;
mod nonces;
mod offer_record;
mod offers;
mod ports;
mod purge;
mod redeem;
mod status_lists;
pub mod testing;
mod tokens;
mod util;

pub use connect::{Backend, PoolOptions, PoolStatus, Store};
pub use error::{RedeemError, StoreError};
pub use purge::PurgeCounts;
pub use sigil_issuer::delivery::{DeliveryState, EndpointProgress, PendingDelivery};
pub use sigil_issuer::model::{
    AccessToken, Authorization, AuthorizationStatus, ClaimSourceSpec, CodeIssue, CredentialFilter,
    CredentialRecord, CredentialStatus, DeferredOrigin, DeferredStatus, DeferredTransaction,
    EventKind, EventRecord, Finish, Flow, GrantRefusal, GrantTokens, Issuance, IssuanceMode,
    IssuedToken, LoginState, NewEvent, NotificationRecord, Offer, OfferProgress, OfferScheme,
    OfferStatus, Redeem, RuntimeOverrides, Settlement, StatusChange, StatusEntry, StatusList,
    TxCode, TxInputMode, ValueMode,
};
