//! `POST /notification` (OID4VCI §11): the wallet tells what became of the
//! credentials of one response. Authenticated like the credential endpoint;
//! the `notification_id` must belong to the token's offer (the grant that
//! got the credentials, refreshed tokens included). Idempotent: the same
//! notification again is accepted and recorded again.

use serde::Deserialize;

use super::credential::{CredentialAccess, CredentialCause};
use crate::errors::{CredentialErrorCode, NotificationErrorCode as Code};
use crate::model::{EventKind, NewEvent, NotificationRecord};
use crate::ports::{
    AuthorizationStore, ClaimSources, CredentialFormats, IssuanceStore, IssuerTenant,
    OpenIdProviders, StoreFailure,
};
use crate::service::Issuer;

/// The events a wallet may send (§11.1).
pub const EVENTS: &[&str] = &[
    "credential_accepted",
    "credential_failure",
    "credential_deleted",
];

/// Longest `event_description` kept.
const MAX_DESCRIPTION: usize = 1_000;

/// A notification request (§11.1). Unknown members are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NotificationRequest {
    /// From the credential response.
    pub notification_id: String,
    /// One of [`EVENTS`].
    pub event: String,
    /// Human-readable detail (printable ASCII, §11.1).
    #[serde(default)]
    pub event_description: Option<String>,
}

impl NotificationRequest {
    /// Parse a body of `content_type` (`application/json`, strict JSON) and
    /// check its members.
    pub fn from_body(content_type: Option<&str>, body: &[u8]) -> Result<Self, NotificationCause> {
        let r: Self = super::json_body(content_type, body).map_err(|f| {
            NotificationCause::Request(match f {
                super::BodyFault::NotJson(_) => "send the notification as application/json".into(),
                super::BodyFault::Syntax(e) => format!("the body is not JSON: {e}"),
                super::BodyFault::Shape(e) => {
                    format!("the body must hold notification_id and event (strings): {e}")
                }
            })
        })?;
        if !EVENTS.contains(&r.event.as_str()) {
            return Err(NotificationCause::Request(format!(
                "event '{}' is not one of {}",
                r.event.chars().take(60).collect::<String>(),
                EVENTS.join(", ")
            )));
        }
        if let Some(d) = &r.event_description
            && (d.len() > MAX_DESCRIPTION || !d.bytes().all(|b| (0x20..0x7f).contains(&b)))
        {
            return Err(NotificationCause::Request(format!(
                "event_description must be printable ASCII of at most {MAX_DESCRIPTION} characters"
            )));
        }
        if r.notification_id.is_empty() || r.notification_id.len() > 128 {
            return Err(NotificationCause::UnknownId);
        }
        Ok(r)
    }
}

/// Why a notification was refused.
#[derive(Debug)]
pub enum NotificationCause {
    /// The access token (or its DPoP proof) was refused.
    Token(CredentialCause),
    /// The body is not a notification request.
    Request(String),
    /// No credential of the token's offer has that `notification_id`.
    UnknownId,
    /// The store failed.
    Store(StoreFailure),
}

impl NotificationCause {
    /// The error code (§11.3, RFC 6750 §3.1, RFC 9449 §7.1).
    pub fn code(&self) -> Code {
        match self {
            Self::Token(c) => match c.code() {
                CredentialErrorCode::InvalidDpopProof => Code::InvalidDpopProof,
                CredentialErrorCode::UseDpopNonce => Code::UseDpopNonce,
                CredentialErrorCode::ServerError => Code::ServerError,
                _ => Code::InvalidToken,
            },
            Self::Request(_) => Code::InvalidNotificationRequest,
            Self::UnknownId => Code::InvalidNotificationId,
            Self::Store(_) => Code::ServerError,
        }
    }

    /// What the wallet is told.
    pub fn description(&self) -> String {
        match self {
            Self::Token(c) => c.description(),
            Self::Request(m) => m.clone(),
            Self::UnknownId => {
                "notification_id is not one this access token's credentials were issued with".into()
            }
            Self::Store(_) => "the notification could not be recorded; try again".into(),
        }
    }
}

impl<S, P> Issuer<S, P>
where
    S: IssuanceStore + AuthorizationStore + crate::ports::LifecycleStore,
    P: ClaimSources + CredentialFormats,
{
    /// Record a notification; `request` is checked after the token, as at
    /// the credential endpoint.
    #[tracing::instrument(name = "issuer.notification", skip_all, fields(tenant = tenant.id()))]
    pub async fn notification<T, O>(
        &self,
        tenant: &T,
        access: CredentialAccess<'_>,
        request: Result<NotificationRequest, NotificationCause>,
        providers: &O,
    ) -> Result<(), NotificationCause>
    where
        T: IssuerTenant,
        O: OpenIdProviders,
    {
        let (_grant, offer) = self
            .authenticate(tenant, access, providers)
            .await
            .map_err(NotificationCause::Token)?;
        let request = request?;
        let now = self.now();
        let event = NewEvent {
            tenant: tenant.id().to_owned(),
            offer_id: offer.id.clone(),
            kind: EventKind::NotificationReceived,
            detail: serde_json::json!({
                "event": request.event,
                "notificationId": request.notification_id,
            }),
            created_at: now,
        };
        let record = NotificationRecord {
            event: request.event.clone(),
            description: request.event_description.clone(),
            at: now,
        };
        match self
            .store
            .notify(&offer.id, &request.notification_id, record, event)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(NotificationCause::UnknownId),
            Err(e) => {
                tracing::error!(error = %e, "recording a notification failed");
                Err(NotificationCause::Store(e))
            }
        }
    }
}
