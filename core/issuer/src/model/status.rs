//! The life cycle of an offer.

use std::fmt;

/// Where an offer is in its life cycle. Stored as snake_case text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OfferStatus {
    /// Created by the integrator; nobody has fetched it yet.
    Created,
    /// A wallet fetched the offer by reference.
    Resolved,
    /// The pre-authorized code was redeemed for an access token.
    TokenIssued,
    /// At least one credential was issued; more may follow.
    CredentialIssued,
    /// Issuance was deferred; the wallet will poll.
    Deferred,
    /// The offer is used up: no more credentials for it.
    Consumed,
    /// The offer expired before it was redeemed (reported on read; reported by the store on read).
    Expired,
    /// The integrator revoked the offer.
    Revoked,
    /// Too many wrong transaction codes were sent.
    Invalidated,
}

impl OfferStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [OfferStatus; 9] = [
        OfferStatus::Created,
        OfferStatus::Resolved,
        OfferStatus::TokenIssued,
        OfferStatus::CredentialIssued,
        OfferStatus::Deferred,
        OfferStatus::Consumed,
        OfferStatus::Expired,
        OfferStatus::Revoked,
        OfferStatus::Invalidated,
    ];

    /// The stored (and wire) name: `created`, `resolved`, `token_issued`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Created => "created",
            OfferStatus::Resolved => "resolved",
            OfferStatus::TokenIssued => "token_issued",
            OfferStatus::CredentialIssued => "credential_issued",
            OfferStatus::Deferred => "deferred",
            OfferStatus::Consumed => "consumed",
            OfferStatus::Expired => "expired",
            OfferStatus::Revoked => "revoked",
            OfferStatus::Invalidated => "invalidated",
        }
    }

    /// Parses a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<OfferStatus> {
        OfferStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// True while the pre-authorized code can still be redeemed (ignoring expiry).
    pub fn is_redeemable(self) -> bool {
        matches!(self, OfferStatus::Created | OfferStatus::Resolved)
    }
}

impl fmt::Display for OfferStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
