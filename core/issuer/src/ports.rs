//! The ports: what the issuer needs from the rest of Sigil, as small traits.
//! The store, the plugin host and the server's tenants implement them; the
//! issuer's unit tests implement them with in-memory fakes.

use std::fmt;
use std::future::Future;

use serde_json::{Map, Value};
use thiserror::Error;

use crate::model::{
    AccessToken, Authorization, CodeIssue, CredentialFilter, CredentialRecord, CredentialStatus,
    DeferredTransaction, Finish, GrantRefusal, GrantTokens, Issuance, IssuedToken, LoginState,
    NewEvent, NotificationRecord, Offer, Redeem, RedeemRefusal, RuntimeOverrides, Settlement,
    StatusChange, StatusList,
};

/// The current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Unix seconds.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }
}

/// A storage failure: not a protocol outcome. The message is for logs.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct StoreFailure(pub Box<dyn std::error::Error + Send + Sync>);

/// Why a redemption failed: a refusal (a protocol outcome) or the store.
#[derive(Debug, Error)]
pub enum RedeemError {
    /// The code cannot be redeemed.
    #[error("{0:?}")]
    Refused(RedeemRefusal),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreFailure),
}

/// Offers, access tokens, nonces and issuances. Every single-use rule is
/// the implementation's atomic decision (any number of instances share it).
pub trait IssuanceStore: Send + Sync {
    /// The offer `id` of `tenant` (expired offers report `Expired`).
    fn offer(
        &self,
        tenant: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<Offer>, StoreFailure>> + Send;

    /// Mark a `created` offer `resolved` and append `event`.
    fn resolve_offer(
        &self,
        offer_id: &str,
        now: i64,
        event: NewEvent,
    ) -> impl Future<Output = Result<(), StoreFailure>> + Send;

    /// Redeem a pre-authorized code and store the access token and a
    /// `token_issued` event, all or nothing.
    fn redeem_for_token(
        &self,
        redeem: Redeem<'_>,
        token: IssuedToken<'_>,
    ) -> impl Future<Output = Result<(), RedeemError>> + Send;

    /// The unexpired access token with hash `token_hash` and its offer.
    fn access_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<(AccessToken, Offer)>, StoreFailure>> + Send;

    /// Record the first use of an external authorization server's access
    /// token: `offer` (made for it), `token` (its row, for `offer`) and
    /// `event`, all or nothing; when a row with the token's hash exists
    /// already (a concurrent first use won), store nothing. Either way,
    /// return what [`IssuanceStore::access_token`] now finds for the hash.
    fn record_external_token(
        &self,
        offer: &Offer,
        token: AccessToken,
        event: NewEvent,
        now: i64,
    ) -> impl Future<Output = Result<Option<(AccessToken, Offer)>, StoreFailure>> + Send;

    /// Spend `nonces` (value, expiry) and record `issuance`, its
    /// `credentials`, the offer's status and `event` in one transaction; a
    /// nonce spent before makes it store nothing ([`Finish::NonceSpent`]).
    fn finish_credential(
        &self,
        nonces: &[(String, i64)],
        issuance: Issuance,
        credentials: &[CredentialRecord],
        offered: &[String],
        event: NewEvent,
    ) -> impl Future<Output = Result<Finish, StoreFailure>> + Send;

    /// Append `event` to its offer's log on its own (an outcome that
    /// changes no other state, such as a refusal).
    fn record_event(
        &self,
        event: NewEvent,
    ) -> impl Future<Output = Result<(), StoreFailure>> + Send;

    /// The credentials issued for offer `offer_id`, oldest first.
    fn credentials_of_offer(
        &self,
        offer_id: &str,
    ) -> impl Future<Output = Result<Vec<CredentialRecord>, StoreFailure>> + Send;

    /// Record `notification` on the credentials of offer `offer_id` whose
    /// `notification_id` is `notification_id`, with `event`, in one
    /// transaction; `false` (nothing stored) when there are none.
    fn notify(
        &self,
        offer_id: &str,
        notification_id: &str,
        notification: NotificationRecord,
        event: NewEvent,
    ) -> impl Future<Output = Result<bool, StoreFailure>> + Send;
}

/// Issued credentials, their status lists and deferred transactions
/// (credential lifecycle). Every single-use and allocation rule is the
/// implementation's atomic decision, as for [`IssuanceStore`].
pub trait LifecycleStore: Send + Sync {
    /// The open status list of `tenant`; when it has none, create one with
    /// `size` entries of `bits` bits numbered one past its highest list
    /// (concurrent creators agree on one list).
    fn open_status_list(
        &self,
        tenant: &str,
        size: u64,
        bits: u8,
        now: i64,
    ) -> impl Future<Output = Result<StatusList, StoreFailure>> + Send;

    /// Reserve for good those of `candidates` (indices of list `list` of
    /// `tenant`) that no one reserved before, across all instances; return
    /// them. A reserved index is never handed out again.
    fn reserve_status_indices(
        &self,
        tenant: &str,
        list: u32,
        candidates: &[u64],
        now: i64,
    ) -> impl Future<Output = Result<Vec<u64>, StoreFailure>> + Send;

    /// Close list `list` of `tenant` to new reservations (it is too full
    /// for random allocation); the next [`LifecycleStore::open_status_list`]
    /// creates another.
    fn close_status_list(
        &self,
        tenant: &str,
        list: u32,
    ) -> impl Future<Output = Result<(), StoreFailure>> + Send;

    /// List `number` of `tenant`.
    fn status_list(
        &self,
        tenant: &str,
        number: u32,
    ) -> impl Future<Output = Result<Option<StatusList>, StoreFailure>> + Send;

    /// The entries of list `number` of `tenant` whose credential is not
    /// `Valid`: (index, status).
    fn status_entries(
        &self,
        tenant: &str,
        number: u32,
    ) -> impl Future<Output = Result<Vec<(u64, CredentialStatus)>, StoreFailure>> + Send;

    /// Credential `id` of `tenant`.
    fn credential(
        &self,
        tenant: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<CredentialRecord>, StoreFailure>> + Send;

    /// The credentials matching `filter`, ordered by (issue time, id).
    fn find_credentials(
        &self,
        filter: &CredentialFilter,
    ) -> impl Future<Output = Result<Vec<CredentialRecord>, StoreFailure>> + Send;

    /// Apply each change whose credential (of `tenant`) still has status
    /// `from`, store its event and raise the version of its status list, all
    /// in one transaction; return, per change, whether it was applied.
    fn change_status(
        &self,
        tenant: &str,
        changes: &[StatusChange],
        now: i64,
    ) -> impl Future<Output = Result<Vec<bool>, StoreFailure>> + Send;

    /// Spend `nonces`, store `transaction`, mark its offer `deferred` and
    /// store `event`, in one transaction; a nonce spent before makes it
    /// store nothing ([`Finish::NonceSpent`]).
    fn defer(
        &self,
        nonces: &[(String, i64)],
        transaction: &DeferredTransaction,
        event: NewEvent,
    ) -> impl Future<Output = Result<Finish, StoreFailure>> + Send;

    /// Deferred transaction `id` of `tenant` (expired ones too: the caller
    /// checks `expires_at`).
    fn deferred(
        &self,
        tenant: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<DeferredTransaction>, StoreFailure>> + Send;

    /// The deferred transactions of offer `offer_id`, oldest first.
    fn deferred_of_offer(
        &self,
        offer_id: &str,
    ) -> impl Future<Output = Result<Vec<DeferredTransaction>, StoreFailure>> + Send;

    /// Settle transaction `id` of `tenant` if it is still `Pending` or
    /// `Ready` (the operator may replace ready claims) and unexpired at
    /// `now`: `Ready` with the claims or `Denied` with the reason; store
    /// `event`. `false` (nothing stored) otherwise.
    fn settle_deferred(
        &self,
        tenant: &str,
        id: &str,
        settlement: &Settlement,
        now: i64,
        event: NewEvent,
    ) -> impl Future<Output = Result<bool, StoreFailure>> + Send;

    /// Mark transaction `id` `Collected` (clearing its claims) if it is
    /// still `Pending` or `Ready`, and record `issuance`, its `credentials`,
    /// the offer's status and `event` as
    /// [`IssuanceStore::finish_credential`] does, in one transaction;
    /// `false` (nothing stored) when another poll collected it first.
    fn collect_deferred(
        &self,
        id: &str,
        issuance: Issuance,
        credentials: &[CredentialRecord],
        offered: &[String],
        event: NewEvent,
    ) -> impl Future<Output = Result<bool, StoreFailure>> + Send;
}

/// The context a claim provider resolves claims in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimRequest {
    /// Tenant id.
    pub tenant: String,
    /// The tenant's credential issuer identifier.
    pub issuer: String,
    /// Offer id.
    pub offer_id: String,
    /// Credential configuration id.
    pub credential_configuration_id: String,
    /// Format of the configuration.
    pub format: String,
    /// Claim source settings (JSON object).
    pub source: Value,
    /// Inline claims from the offer.
    pub inline_claims: Option<Value>,
    /// Upstream ID-token claims.
    pub id_token_claims: Option<Value>,
    /// Subject id, when known.
    pub subject_id: Option<String>,
    /// Holder public keys (JWKs).
    pub holder_keys: Vec<Value>,
}

/// What a claim provider produced.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// The claims (a JSON object).
    Claims(Map<String, Value>),
    /// Not available yet: deferred issuance.
    Pending {
        /// Seconds the wallet should wait before polling.
        interval_seconds: u32,
        /// Reason for logs and the admin API.
        reason: String,
    },
}

/// One credential configuration as a format plugin sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatConfiguration {
    /// Configuration id.
    pub id: String,
    /// Format identifier.
    pub format: String,
    /// The whole configuration (JSON object).
    pub settings: Value,
}

/// A Token Status List entry for one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReference {
    /// Status list URI.
    pub uri: String,
    /// Index in the list.
    pub index: u64,
}

/// One credential to issue.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialSlot {
    /// Holder key (JWK) to bind to.
    pub holder_key: Option<Value>,
    /// Status list entry.
    pub status: Option<StatusReference>,
}

/// One batch of credentials to issue.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueInput {
    /// The configuration.
    pub configuration: FormatConfiguration,
    /// Resolved claims.
    pub claims: Map<String, Value>,
    /// Issuer identifier for `iss`.
    pub issuer: String,
    /// Issuance time (Unix seconds).
    pub issued_at: u64,
    /// Expiry (Unix seconds).
    pub expires_at: Option<u64>,
    /// One per credential.
    pub slots: Vec<CredentialSlot>,
}

/// A claim provider's own error, as it reported it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClaimFailure {
    /// The subject is unknown.
    #[error("not found: {0}")]
    NotFound(String),
    /// The source refuses to issue (`credential_request_denied`).
    #[error("denied: {0}")]
    Denied(String),
    /// The settings or context were unusable.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// An upstream system failed.
    #[error("upstream failure: {0}")]
    Upstream(String),
    /// Anything else.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A format plugin's own error, as it reported it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormatFailure {
    /// The configuration is unusable for the format.
    #[error("invalid configuration: {0}")]
    InvalidConfiguration(String),
    /// The claims do not fit the configuration.
    #[error("invalid claims: {0}")]
    InvalidClaims(String),
    /// A holder key cannot be used with the format.
    #[error("unsupported holder key: {0}")]
    UnsupportedHolderKey(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// Anything else.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What went wrong in a plugin call, as far as the protocol cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginFault {
    /// The claim provider reported this.
    Claim(ClaimFailure),
    /// The format plugin reported this.
    Format(FormatFailure),
    /// The sandbox stopped the call (timeout, trap, limits, bad output,
    /// missing plugin): the message says which.
    Runtime,
}

/// A failed plugin call, attributed to its plugin.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct PluginFailure {
    /// Plugin id.
    pub plugin: String,
    /// The cause.
    pub fault: PluginFault,
    /// The whole message, naming the plugin (for logs and `server_error`).
    pub message: String,
}

/// Claim-provider plugins.
pub trait ClaimSources: Send + Sync {
    /// Ask plugin `plugin` for the claims of one credential.
    fn resolve_claims(
        &self,
        plugin: &str,
        request: &ClaimRequest,
    ) -> impl Future<Output = Result<ClaimOutcome, PluginFailure>> + Send;
}

/// Credential-format plugins.
pub trait CredentialFormats: Send + Sync {
    /// The handle of a signing key; the plugin signs through it and never
    /// sees the key.
    type Signer: Send;

    /// Issue one credential per slot of `input` with plugin `plugin`.
    fn issue(
        &self,
        plugin: &str,
        input: &IssueInput,
        signer: Self::Signer,
    ) -> impl Future<Output = Result<Vec<String>, PluginFailure>> + Send;
}

/// The subject of the document signer certificate a credential carries
/// (the leaf of its `x5chain`): what ISO/IEC 18013-5 verifiers compare an
/// mDL's `issuing_country` and `issuing_jurisdiction` with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentSigner {
    /// `countryName` (`C`).
    pub country: Option<String>,
    /// `stateOrProvinceName` (`ST`).
    pub state_or_province: Option<String>,
}

/// The signer of one issuance and what goes with it, from one consistent
/// view of the tenant's keys.
#[derive(Debug)]
pub struct Signing<S> {
    /// The key handle.
    pub signer: S,
    /// `iss` of what it signs (the issuer URL or a DID).
    pub issuer_id: String,
    /// The format plugin's settings of the configuration, for these keys'
    /// algorithms.
    pub format_settings: Value,
    /// The certificate the credential will carry, when it carries a chain
    /// in this format.
    pub document_signer: Option<DocumentSigner>,
}

/// One tenant as the protocol sees it: its identifier, what it offers and
/// its keys.
pub trait IssuerTenant: Send + Sync {
    /// The key handle its signers give out.
    type Signer: Send;

    /// Tenant id.
    fn id(&self) -> &str;

    /// The credential issuer identifier (an HTTPS URL).
    fn issuer(&self) -> &str;

    /// Whether it offers `configuration_id`.
    fn offers(&self, configuration_id: &str) -> bool;

    /// The signer for a credential of `configuration_id` in `format` from
    /// an offer with `overrides` (`issuerKeyId`, `x5Chain`); an error text
    /// when the offer's key no longer signs.
    fn signing(
        &self,
        configuration_id: &str,
        format: &str,
        overrides: &RuntimeOverrides,
    ) -> Result<Signing<Self::Signer>, String>;

    /// The key that signs the tenant's status list tokens (its active key,
    /// with its certificate chain when it has one).
    fn status_list_signer(&self) -> Result<sigil_keys::SharedSigner, String>;
}

/// The authorization code flow's records (see
/// [`crate::model::Authorization`]). Every single-use rule is the
/// implementation's atomic decision, as for [`IssuanceStore`].
pub trait AuthorizationStore: Send + Sync {
    /// The live offer of `tenant` whose `issuer_state` is `issuer_state`.
    fn offer_by_issuer_state(
        &self,
        tenant: &str,
        issuer_state: &str,
    ) -> impl Future<Output = Result<Option<Offer>, StoreFailure>> + Send;

    /// Store a pushed authorization (and `event` when it is bound to an offer).
    fn push_authorization(
        &self,
        authorization: &Authorization,
        event: Option<NewEvent>,
    ) -> impl Future<Output = Result<(), StoreFailure>> + Send;

    /// The authorization of `tenant` whose request URI hashes to `hash`.
    fn authorization_by_request(
        &self,
        tenant: &str,
        hash: &str,
    ) -> impl Future<Output = Result<Option<Authorization>, StoreFailure>> + Send;

    /// Record the login sent to the provider, if the authorization is still
    /// `pushed` or `login` (a revisit starts a new login); `false` otherwise.
    fn begin_login(
        &self,
        id: &str,
        login: &LoginState,
        now: i64,
        event: Option<NewEvent>,
    ) -> impl Future<Output = Result<bool, StoreFailure>> + Send;

    /// The authorization of `tenant` whose login state hashes to `hash`.
    fn authorization_by_login(
        &self,
        tenant: &str,
        hash: &str,
    ) -> impl Future<Output = Result<Option<Authorization>, StoreFailure>> + Send;

    /// Issue the code (creating `code.new_offer` when given) if the
    /// authorization is still `pushed` or `login`; `false` otherwise.
    fn issue_code(
        &self,
        id: &str,
        code: CodeIssue,
        now: i64,
        event: NewEvent,
    ) -> impl Future<Output = Result<bool, StoreFailure>> + Send;

    /// Mark a failed login (the authorization is revoked); `event` is appended.
    fn fail_login(
        &self,
        id: &str,
        now: i64,
        event: Option<NewEvent>,
    ) -> impl Future<Output = Result<(), StoreFailure>> + Send;

    /// The authorization of `tenant` whose code hashes to `hash`.
    fn authorization_by_code(
        &self,
        tenant: &str,
        hash: &str,
    ) -> impl Future<Output = Result<Option<Authorization>, StoreFailure>> + Send;

    /// The authorization of `tenant` whose current or previous refresh token
    /// hashes to `hash`.
    fn authorization_by_refresh(
        &self,
        tenant: &str,
        hash: &str,
    ) -> impl Future<Output = Result<Option<Authorization>, StoreFailure>> + Send;

    /// Redeem the code of authorization `id` (still `code`, unexpired):
    /// mark it `redeemed`, the offer `token_issued`, store the tokens and
    /// the event, all or nothing.
    fn redeem_code(
        &self,
        id: &str,
        tokens: GrantTokens,
        now: i64,
        event: NewEvent,
    ) -> impl Future<Output = Result<Result<(), GrantRefusal>, StoreFailure>> + Send;

    /// Rotate the refresh token `old_hash` of authorization `id` to
    /// `tokens.refresh` and store the new access token and the event, if
    /// `old_hash` is still current and unexpired and the offer not revoked.
    fn refresh(
        &self,
        id: &str,
        old_hash: &str,
        tokens: GrantTokens,
        now: i64,
        event: NewEvent,
    ) -> impl Future<Output = Result<Result<(), GrantRefusal>, StoreFailure>> + Send;

    /// Revoke authorization `id` and its offer (a replayed code or refresh
    /// token, RFC 6749 §4.1.2, RFC 9700 §4.14.2).
    fn revoke_grant(
        &self,
        id: &str,
        now: i64,
        event: Option<NewEvent>,
    ) -> impl Future<Output = Result<(), StoreFailure>> + Send;

    /// The authorization `id`.
    fn authorization(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Authorization>, StoreFailure>> + Send;

    /// Spend a one-time value (a DPoP proof's `jti`): `true` the first time
    /// across all instances, `false` after; kept until `expires_at`.
    fn spend_once(
        &self,
        tenant: &str,
        value: &str,
        expires_at: i64,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreFailure>> + Send;
}

/// An upstream OpenID provider's discovery document, as far as Sigil uses it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ProviderMetadata {
    /// `issuer`.
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `jwks_uri`.
    pub jwks_uri: String,
}

/// An OAuth 2.0 authorization server's metadata (RFC 8414), as far as
/// Sigil uses it to check its access tokens.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct AuthorizationServerMetadata {
    /// `issuer`.
    pub issuer: String,
    /// `jwks_uri` (the keys of JWT access tokens).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// `introspection_endpoint` (RFC 7662).
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
}

/// Why talking to the upstream provider failed; the message is for logs and
/// the error page.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct ProviderFailure(pub String);

/// HTTP to upstream OpenID providers and external authorization servers:
/// discovery, metadata and JWKS (cached by the implementation), the token
/// request and token introspection.
pub trait OpenIdProviders: Send + Sync {
    /// The discovery document of `issuer`.
    fn metadata(
        &self,
        issuer: &str,
    ) -> impl Future<Output = Result<ProviderMetadata, ProviderFailure>> + Send;

    /// The JWKS at `uri`; `refresh` skips the cache (a `kid` was unknown).
    fn jwks(
        &self,
        uri: &str,
        refresh: bool,
    ) -> impl Future<Output = Result<Value, ProviderFailure>> + Send;

    /// POST `form` to `token_endpoint` (with HTTP Basic `basic` when given)
    /// and return the JSON answer of a 200, or the failure with the
    /// provider's `error`.
    fn token(
        &self,
        token_endpoint: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> impl Future<Output = Result<Value, ProviderFailure>> + Send;

    /// The metadata of authorization server `issuer` (RFC 8414 §3: its
    /// `/.well-known/oauth-authorization-server`, else its
    /// `/.well-known/openid-configuration`), whose `issuer` must be `issuer`.
    fn authorization_server(
        &self,
        issuer: &str,
    ) -> impl Future<Output = Result<AuthorizationServerMetadata, ProviderFailure>> + Send;

    /// Introspect `token` (RFC 7662 §2.1) at `endpoint`, authenticating with
    /// HTTP Basic `client` (id, secret); the JSON answer of a 200.
    fn introspect(
        &self,
        endpoint: &str,
        token: &str,
        client: (&str, &str),
    ) -> impl Future<Output = Result<Value, ProviderFailure>> + Send;
}

/// An [`OpenIdProviders`] without HTTP: every call fails. For callers that
/// talk to no provider (a tenant without login or external authorization
/// servers).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProviders;

impl NoProviders {
    fn refuse<T>() -> Result<T, ProviderFailure> {
        Err(ProviderFailure(
            "this issuer was built without HTTP to OpenID providers and authorization servers"
                .into(),
        ))
    }
}

impl OpenIdProviders for NoProviders {
    async fn metadata(&self, _issuer: &str) -> Result<ProviderMetadata, ProviderFailure> {
        Self::refuse()
    }

    async fn jwks(&self, _uri: &str, _refresh: bool) -> Result<Value, ProviderFailure> {
        Self::refuse()
    }

    async fn token(
        &self,
        _token_endpoint: &str,
        _form: &[(&str, &str)],
        _basic: Option<(&str, &str)>,
    ) -> Result<Value, ProviderFailure> {
        Self::refuse()
    }

    async fn authorization_server(
        &self,
        _issuer: &str,
    ) -> Result<AuthorizationServerMetadata, ProviderFailure> {
        Self::refuse()
    }

    async fn introspect(
        &self,
        _endpoint: &str,
        _token: &str,
        _client: (&str, &str),
    ) -> Result<Value, ProviderFailure> {
        Self::refuse()
    }
}
