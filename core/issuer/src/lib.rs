//! OpenID4VCI 1.0 issuer: the rules of every endpoint, independent of the
//! web framework, the database and the plugin runtime.
//!
//! * [`Issuer`] ([`service`]): the engine a server holds, over its
//!   [`ports`]; the endpoints' rules are its methods in [`endpoints`]
//!   (offer by reference, token, nonce, credential), each taking a typed
//!   request and returning a typed response or a cause enum that maps to
//!   the spec's error code.
//! * [`ports`]: the traits the issuer needs (store, claim sources,
//!   formats, tenants and their signers, clock), implemented by
//!   `sigil-store`, `sigil-plugin-host` and the server.
//! * [`model`]: the typed offer and the records the endpoints store.
//! * [`errors`]: the spec's error codes with their HTTP status.
//! * [`metadata`]: the issuer, authorization server and JWT VC issuer metadata.
//! * [`proof`]: verification of `jwt` key proofs (App. F.1, F.4).
//! * [`nonce`]: self-verifying `c_nonce` values (spent once in the store).
//! * [`offer`]: the Credential Offer object and its URIs (§4).
//! * [`offer_push`]: sending an offer to a wallet's Credential Offer
//!   Endpoint (§4.1), to allowed origins only, over the [`offer_push::WalletHttp`] port.
//! * [`mdl`]: mDL elements that must agree with the document signer
//!   certificate (ISO/IEC 18013-5 §9.3.1), at offer creation and issuance.
//! * [`codes`]: pre-authorized codes derived from offer ids.
//! * [`json`]: strict JSON bodies (no repeated member names; NUL found).
//! * [`secrets`]: random codes, tokens and nonces, and their hashes.
//! * [`jws`], [`dpop`], [`id_token`], [`pkce`]: compact JWS verification,
//!   DPoP proofs (RFC 9449), upstream ID tokens (OpenID Connect Core
//!   §3.1.3.7) and PKCE (RFC 7636), for the authorization code flow
//!   ([`endpoints::par`], [`endpoints::authorize`], [`endpoints::grants`]).
//! * [`observe`]: the [`observe::Observe`] port the issuer reports its
//!   outcomes to (issuances, error answers), for metrics.
//! * [`event_feed`]: a reader's position in the event log, past holes
//!   only once they are settled (server-sent event streams).
//! * [`status_list`]: Token Status List entries and tokens.
//! * [`access_token`]: access tokens of external authorization servers
//!   (RFC 9068 JWTs, RFC 7662 introspection answers), accepted at the
//!   credential endpoint ([`endpoints::external`]).

pub mod access_token;
pub mod codes;
pub mod delivery;
pub mod dpop;
pub mod endpoints;
pub mod errors;
pub mod event_feed;
pub mod id_token;
pub mod json;
pub mod jws;
pub mod mdl;
pub mod metadata;
pub mod model;
pub mod nonce;
pub mod observe;
pub mod offer;
pub mod offer_push;
pub mod pkce;
pub mod ports;
pub mod proof;
pub mod secrets;
pub mod service;
pub mod status_list;

pub use service::Issuer;
