//! The issuer's data model: the typed offer and what the endpoints store.

mod authorization;
#[cfg(test)]
mod catalogue_tests;
mod lifecycle;
mod offer;
mod records;
mod status;
mod tx_code;

pub use authorization::{
    Authorization, AuthorizationStatus, CodeIssue, GrantRefusal, GrantTokens, LoginState,
};
pub use lifecycle::{
    CredentialFilter, CredentialStatus, DeferredOrigin, DeferredStatus, DeferredTransaction,
    Settlement, StatusEntry, StatusList,
};
pub use offer::{
    ClaimSourceSpec, Flow, IssuanceMode, LOGIN_PARAMETERS, Offer, OfferProgress, OfferScheme,
    RuntimeOverrides, TxCode, TxInputMode, ValueMode,
};
pub use records::{
    AccessToken, CredentialRecord, EventKind, EventRecord, Finish, Issuance, IssuedToken, NewEvent,
    NotificationRecord, Redeem, RedeemRefusal, RefusalEvent, StatusChange,
};
pub use status::OfferStatus;
pub use tx_code::{LENGTHS as TX_CODE_LENGTHS, MAX_DESCRIPTION_CHARS, TxCodeFault, TxCodeRequest};
