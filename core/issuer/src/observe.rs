//! [`Observe`]: what the issuer tells an observer of its outcomes, for
//! metrics. A port: the server implements it with Prometheus counters;
//! the issuer knows no metrics library. Every method has a no-op default,
//! and an issuer without an observer uses [`Unobserved`].
//!
//! Reported: each credential request's outcome with its tenant,
//! configuration and format ([`Issuance`]); and each error answer of the
//! token, credential and deferred credential endpoints with its OAuth
//! error code ([`Endpoint`]). Never a token, a claim or a proof.

use crate::endpoints::credential::{CredentialCause, CredentialOutcome};
use crate::errors::CredentialErrorCode;

/// How a credential request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuanceOutcome {
    /// Credentials were issued (`200`), at the credential endpoint or when a
    /// deferred issuance was collected.
    Issued,
    /// The issuance was deferred (`202` with a `transaction_id`).
    Deferred,
    /// The request was refused (a `4xx` error code).
    Refused,
    /// The issuer failed (`server_error`); the wallet may retry.
    Failed,
}

impl IssuanceOutcome {
    /// The label value: `issued`, `deferred`, `refused`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Deferred => "deferred",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// One credential request's outcome. `configuration` and `format` are
/// empty when the request named no configuration of this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issuance<'a> {
    /// The tenant's id.
    pub tenant: &'a str,
    /// The credential configuration's id.
    pub configuration: &'a str,
    /// Its format (`dc+sd-jwt`, `jwt_vc_json`, `mso_mdoc`).
    pub format: &'a str,
    /// How it ended.
    pub outcome: IssuanceOutcome,
}

/// A wallet-facing endpoint whose error answers are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /token`.
    Token,
    /// `POST /credential`.
    Credential,
    /// `POST /deferred_credential`.
    DeferredCredential,
}

impl Endpoint {
    /// The label value: `token`, `credential`, `deferred_credential`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Credential => "credential",
            Self::DeferredCredential => "deferred_credential",
        }
    }
}

/// Receives the issuer's outcomes. Called on the request's task: keep it
/// quick and never block.
pub trait Observe: Send + Sync + std::fmt::Debug {
    /// A credential request ended.
    fn issuance(&self, issuance: Issuance<'_>) {
        let _ = issuance;
    }

    /// `endpoint` answered with the error code `error` (its wire value).
    fn refused(&self, endpoint: Endpoint, error: &'static str) {
        let _ = (endpoint, error);
    }
}

/// The observer of an issuer nobody observes: every report is dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unobserved;

impl Observe for Unobserved {}

/// The outcome of a credential endpoint answer: issued or deferred, or
/// refused or failed by its error code.
pub(crate) fn credential_outcome(
    result: &Result<CredentialOutcome, CredentialCause>,
) -> IssuanceOutcome {
    match result {
        Ok(CredentialOutcome::Issued(_)) => IssuanceOutcome::Issued,
        Ok(CredentialOutcome::Deferred(_)) => IssuanceOutcome::Deferred,
        Err(cause) if cause.code() == CredentialErrorCode::ServerError => IssuanceOutcome::Failed,
        Err(_) => IssuanceOutcome::Refused,
    }
}

impl<S, P> crate::Issuer<S, P> {
    /// Report a credential endpoint answer: its outcome for the
    /// configuration the request named (empty when it named none this
    /// server has), and its error code when it is an error.
    pub(crate) fn observe_credential(
        &self,
        tenant: &str,
        requested: Option<&str>,
        result: &Result<CredentialOutcome, CredentialCause>,
    ) {
        let config = requested.and_then(|id| self.settings.credential_configurations.get(id));
        self.observer.issuance(Issuance {
            tenant,
            configuration: config.map(|c| c.id.as_str()).unwrap_or_default(),
            format: config.map(|c| c.format.as_str()).unwrap_or_default(),
            outcome: credential_outcome(result),
        });
        if let Err(cause) = result {
            self.observer
                .refused(Endpoint::Credential, cause.code().as_str());
        }
    }
}
