//! Shared code of Sigil's built-in claim plugins that call out over HTTP
//! (`claims-attribute-provider`, `claims-webhook`) or map claims
//! (`claims-id-token`): the versioned request/response contract
//! (`docs/claims-contract.md`), authentication, HMAC-SHA256 request
//! signatures and response mapping.

pub mod mapping;
pub mod remote;
