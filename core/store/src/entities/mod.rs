//! sea-orm entities, one per table. Internal: the public API speaks in record types.

pub(crate) mod access_token;
pub(crate) mod authorization;
pub(crate) mod credential;
pub(crate) mod deferred_transaction;
pub(crate) mod event;
pub(crate) mod event_cursor;
pub(crate) mod event_delivery;
pub(crate) mod issuance;
pub(crate) mod nonce;
pub(crate) mod offer;
pub(crate) mod status_list;
