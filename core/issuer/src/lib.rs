//! OpenID4VCI 1.0 issuer rules, independent of the web framework.
//!
//! * [`errors`]: the spec's error codes with their HTTP status, and the
//!   causes that map to them.
//! * [`proof`]: verification of `jwt` key proofs (OID4VCI App. F.1, F.4).
//! * [`nonce`]: self-verifying `c_nonce` values (spent once in the store).
//! * [`offer`]: the Credential Offer object and its URI (§4).
//! * [`secrets`]: random codes, tokens and nonces, and their hashes.

pub mod errors;
pub mod nonce;
pub mod offer;
pub mod proof;
pub mod secrets;
