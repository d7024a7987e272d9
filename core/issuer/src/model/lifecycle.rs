//! What happens to a credential after the credential request: deferred
//! transactions (OID4VCI §9) and Token Status List entries.

use std::fmt;

use serde_json::{Map, Value};

/// The status of an issued credential, as its status list entry says it
/// (Token Status List §7.1): `0x00` valid, `0x01` invalid (revoked),
/// `0x02` suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CredentialStatus {
    /// `0x00`.
    #[default]
    Valid,
    /// `0x02`: may be reinstated.
    Suspended,
    /// `0x01` (INVALID): final.
    Revoked,
}

impl CredentialStatus {
    /// Every status.
    pub const ALL: [CredentialStatus; 3] = [Self::Valid, Self::Suspended, Self::Revoked];

    /// The stored and admin API name: `valid`, `suspended`, `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    /// The status of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The value in the status list.
    pub fn value(self) -> u8 {
        match self {
            Self::Valid => 0,
            Self::Revoked => 1,
            Self::Suspended => 2,
        }
    }
}

impl fmt::Display for CredentialStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A credential's entry in one of its tenant's status lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusEntry {
    /// The list's number within its tenant (its URI ends in `/statuslists/{list}`).
    pub list: u32,
    /// The index in the list.
    pub index: u64,
}

/// One status list of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    /// Tenant.
    pub tenant: String,
    /// Number within the tenant, from 1.
    pub number: u32,
    /// Entries (indices `0..size`).
    pub size: u64,
    /// Bits per entry: 1 or 2.
    pub bits: u8,
    /// Raised by every status change, so each instance knows when to re-sign.
    pub version: i64,
    /// `false` once the list is too full for random allocation; a new list
    /// takes the tenant's new credentials.
    pub open: bool,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

/// Where a deferred transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeferredStatus {
    /// Waiting: for the operator (`issuanceMode: deferred`) or for the claim source.
    Pending,
    /// The claims are there; the next poll gets the credential.
    Ready,
    /// The operator denied it; polls get `credential_request_denied`.
    Denied,
    /// The wallet collected the credential; the transaction id is spent.
    Collected,
}

impl DeferredStatus {
    /// Every status.
    pub const ALL: [DeferredStatus; 4] =
        [Self::Pending, Self::Ready, Self::Denied, Self::Collected];

    /// The stored and admin API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Denied => "denied",
            Self::Collected => "collected",
        }
    }

    /// The status of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for DeferredStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a transaction was deferred: who is to finish it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeferredOrigin {
    /// The offer's `issuanceMode` is `deferred`: the operator completes it.
    Offer,
    /// The claim source answered `pending`: each poll asks it again (and
    /// the operator may complete it).
    Source,
}

impl DeferredOrigin {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offer => "offer",
            Self::Source => "source",
        }
    }

    /// The origin of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Offer, Self::Source]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A deferred credential request (OID4VCI §9): what the wallet proved,
/// kept so that it need not prove again.
#[derive(Clone, PartialEq)]
pub struct DeferredTransaction {
    /// The `transaction_id` (random; the admin API's `transactionId`).
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Offer.
    pub offer_id: String,
    /// Credential configuration.
    pub credential_configuration_id: String,
    /// Format of the configuration.
    pub format: String,
    /// The holder keys proven in the original request (JWKs), one
    /// credential each.
    pub holder_keys: Vec<Value>,
    /// The authorization (code flow) of the access token, for the person's
    /// ID-token claims.
    pub authorization_id: Option<String>,
    /// Who finishes it.
    pub origin: DeferredOrigin,
    /// Where it is.
    pub status: DeferredStatus,
    /// The claims once `Ready` (cleared when collected).
    pub claims: Option<Map<String, Value>>,
    /// Why: the claim source's reason while `Pending`, the operator's when `Denied`.
    pub reason: Option<String>,
    /// Seconds the wallet should wait between polls.
    pub interval_seconds: u32,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Last change, Unix seconds.
    pub updated_at: i64,
    /// After this the transaction id is unknown (`invalid_transaction_id`).
    pub expires_at: i64,
}

impl fmt::Debug for DeferredTransaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No claim values in logs.
        f.debug_struct("DeferredTransaction")
            .field("id", &"<redacted>")
            .field("tenant", &self.tenant)
            .field("offer_id", &self.offer_id)
            .field(
                "credential_configuration_id",
                &self.credential_configuration_id,
            )
            .field("origin", &self.origin)
            .field("status", &self.status)
            .field("claims", &self.claims.as_ref().map(|_| "<redacted>"))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// How the operator settles a deferred transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    /// The claims are ready.
    Ready(Map<String, Value>),
    /// Issuance is denied, for this reason.
    Denied(String),
}

/// Which credentials an issuance-record query returns (all filters are
/// conjunctive; `None` matches anything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialFilter {
    /// Tenant (required).
    pub tenant: String,
    /// Offer.
    pub offer_id: Option<String>,
    /// Credential configuration.
    pub credential_configuration_id: Option<String>,
    /// Format.
    pub format: Option<String>,
    /// Status.
    pub status: Option<CredentialStatus>,
    /// The holder key thumbprint.
    pub holder_key_thumbprint: Option<String>,
    /// The credential's own identifier (the `jti` of a JWT VC).
    pub identifier: Option<String>,
    /// Issued at or after, Unix seconds.
    pub issued_from: Option<i64>,
    /// Issued before, Unix seconds.
    pub issued_until: Option<i64>,
    /// Page: credentials whose (issue time, id) is after this cursor.
    pub after: Option<(i64, String)>,
    /// Page size.
    pub limit: u32,
}
