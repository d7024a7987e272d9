//! In-memory fakes of every port, and a small world to run endpoints in.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sigil_settings::Settings;

use crate::Issuer;
use crate::model::{
    AccessToken, Authorization, AuthorizationStatus, ClaimSourceSpec, CodeIssue, CredentialRecord,
    EventKind, Finish, Flow, GrantRefusal, GrantTokens, Issuance, IssuanceMode, IssuedToken,
    LoginState, NewEvent, NotificationRecord, Offer, OfferProgress, OfferScheme, OfferStatus,
    Redeem, RedeemRefusal, RuntimeOverrides, TxCode, TxInputMode, ValueMode,
};
use crate::ports::{
    AuthorizationStore, ClaimOutcome, ClaimRequest, ClaimSources, Clock, CredentialFormats,
    DocumentSigner, IssuanceStore, IssueInput, IssuerTenant, PluginFailure, RedeemError, Signing,
    StoreFailure,
};
use crate::proof::PROOF_TYP;
use crate::secrets;

pub const ISSUER: &str = "https://issuer.example";
pub const NOW: i64 = 1_800_000_123;
/// The `countryName` of the default tenant's document signer certificate.
pub const DS_COUNTRY: &str = "UT";

/// A clock that stands still.
#[derive(Debug, Default)]
pub struct FixedClock(pub AtomicI64);

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn failure(what: &str) -> StoreFailure {
    StoreFailure(what.into())
}

/// Offers, tokens and nonces in maps, with the store's single-use rules.
#[derive(Debug, Default)]
pub struct FakeStore {
    pub offers: Mutex<BTreeMap<String, Offer>>,
    pub tokens: Mutex<BTreeMap<String, AccessToken>>,
    pub spent: Mutex<BTreeSet<String>>,
    pub events: Mutex<Vec<NewEvent>>,
    pub issuances: Mutex<Vec<Issuance>>,
    pub authorizations: Mutex<BTreeMap<String, Authorization>>,
    pub credentials: Mutex<Vec<CredentialRecord>>,
    pub status_lists: Mutex<Vec<crate::model::StatusList>>,
    /// (tenant, list, index) reserved.
    pub reserved: Mutex<BTreeSet<(String, u32, u64)>>,
    pub deferred: Mutex<BTreeMap<String, crate::model::DeferredTransaction>>,
    /// Every call fails while set.
    pub broken: AtomicBool,
    /// Recording an issuance fails while set.
    pub broken_finish: AtomicBool,
}

impl FakeStore {
    pub fn check(&self) -> Result<(), StoreFailure> {
        if self.broken.load(Ordering::Relaxed) {
            Err(failure("the fake store is broken"))
        } else {
            Ok(())
        }
    }

    pub fn status(&self, id: &str) -> OfferStatus {
        lock(&self.offers)[id].progress.status
    }

    pub fn event_kinds(&self) -> Vec<EventKind> {
        lock(&self.events).iter().map(|e| e.kind).collect()
    }
}

impl IssuanceStore for FakeStore {
    async fn notify(
        &self,
        offer_id: &str,
        notification_id: &str,
        notification: NotificationRecord,
        event: NewEvent,
    ) -> Result<bool, StoreFailure> {
        self.check()?;
        let mut found = false;
        for c in lock(&self.credentials).iter_mut() {
            if c.offer_id == offer_id && c.notification_id == notification_id {
                c.notification = Some(notification.clone());
                found = true;
            }
        }
        if found {
            lock(&self.events).push(event);
        }
        Ok(found)
    }

    async fn record_event(&self, event: NewEvent) -> Result<(), StoreFailure> {
        self.check()?;
        lock(&self.events).push(event);
        Ok(())
    }

    async fn credentials_of_offer(
        &self,
        offer_id: &str,
    ) -> Result<Vec<CredentialRecord>, StoreFailure> {
        self.check()?;
        Ok(lock(&self.credentials)
            .iter()
            .filter(|c| c.offer_id == offer_id)
            .cloned()
            .collect())
    }

    async fn offer(&self, tenant: &str, id: &str) -> Result<Option<Offer>, StoreFailure> {
        self.check()?;
        Ok(lock(&self.offers)
            .get(id)
            .filter(|o| o.tenant == tenant)
            .cloned())
    }

    async fn resolve_offer(&self, id: &str, now: i64, event: NewEvent) -> Result<(), StoreFailure> {
        self.check()?;
        if let Some(o) = lock(&self.offers).get_mut(id) {
            o.progress.status = OfferStatus::Resolved;
            o.progress.resolved_at = Some(now);
        }
        lock(&self.events).push(event);
        Ok(())
    }

    async fn redeem_for_token(
        &self,
        r: Redeem<'_>,
        token: IssuedToken<'_>,
    ) -> Result<(), RedeemError> {
        self.check()?;
        let mut offers = lock(&self.offers);
        let offer = offers
            .values_mut()
            .find(|o| {
                o.tenant == r.tenant && o.pre_authorized_code_hash.as_deref() == Some(r.code_hash)
            })
            .ok_or(RedeemError::Refused(RedeemRefusal::UnknownCode))?;
        // Like the store: a refusal of a known offer stores the event `r.refused` gives.
        let refuse = |why| {
            if let Some(event) = r
                .refused
                .and_then(|f| f(&offer.tenant, &offer.id, why, r.now))
            {
                lock(&self.events).push(event);
            }
            Err(RedeemError::Refused(why))
        };
        match offer.progress.status {
            OfferStatus::Revoked => return refuse(RedeemRefusal::Revoked),
            OfferStatus::Invalidated => return refuse(RedeemRefusal::Invalidated),
            OfferStatus::Created | OfferStatus::Resolved => {}
            _ => return refuse(RedeemRefusal::AlreadyUsed),
        }
        if offer.expires_at.is_some_and(|e| e <= r.now) {
            return refuse(RedeemRefusal::Expired);
        }
        match (offer.tx_code_hash.as_deref(), r.tx_code_hash) {
            (Some(_), None) => return refuse(RedeemRefusal::TxCodeRequired),
            (None, Some(_)) => return refuse(RedeemRefusal::TxCodeNotExpected),
            (Some(want), Some(sent)) if want != sent => {
                offer.progress.tx_attempts += 1;
                let remaining = r.max_tx_attempts.saturating_sub(offer.progress.tx_attempts);
                if remaining == 0 {
                    offer.progress.status = OfferStatus::Invalidated;
                }
                return refuse(RedeemRefusal::WrongTxCode { remaining });
            }
            _ => {}
        }
        offer.progress.status = OfferStatus::TokenIssued;
        lock(&self.tokens).insert(
            token.token_hash.to_owned(),
            AccessToken {
                token_hash: token.token_hash.to_owned(),
                tenant: offer.tenant.clone(),
                offer_id: offer.id.clone(),
                credential_configuration_ids: offer.credential_configuration_ids.clone(),
                created_at: r.now,
                expires_at: token.expires_at,
                authorization_id: None,
                dpop_jkt: token.dpop_jkt.map(str::to_owned),
            },
        );
        lock(&self.events).push(NewEvent::bare(
            &offer.tenant,
            &offer.id,
            EventKind::TokenIssued,
            r.now,
        ));
        Ok(())
    }

    async fn access_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(AccessToken, Offer)>, StoreFailure> {
        self.check()?;
        let Some(t) = lock(&self.tokens).get(token_hash).cloned() else {
            return Ok(None);
        };
        let offer = lock(&self.offers).get(&t.offer_id).cloned();
        Ok(offer
            .filter(|o| t.expires_at > now && o.progress.status != OfferStatus::Revoked)
            .map(|o| (t, o)))
    }

    async fn record_external_token(
        &self,
        offer: &Offer,
        token: AccessToken,
        event: NewEvent,
        now: i64,
    ) -> Result<Option<(AccessToken, Offer)>, StoreFailure> {
        self.check()?;
        let hash = token.token_hash.clone();
        {
            let mut tokens = lock(&self.tokens);
            if !tokens.contains_key(&hash) {
                lock(&self.offers).insert(offer.id.clone(), offer.clone());
                tokens.insert(hash.clone(), token);
                lock(&self.events).push(event);
            }
        }
        self.access_token(&hash, now).await
    }

    async fn finish_credential(
        &self,
        nonces: &[(String, i64)],
        issuance: Issuance,
        credentials: &[CredentialRecord],
        offered: &[String],
        event: NewEvent,
    ) -> Result<Finish, StoreFailure> {
        self.check()?;
        if self.broken_finish.load(Ordering::Relaxed) {
            return Err(failure("recording failed"));
        }
        let mut spent = lock(&self.spent);
        if nonces.iter().any(|(n, _)| spent.contains(n)) {
            return Ok(Finish::NonceSpent);
        }
        spent.extend(nonces.iter().map(|(n, _)| n.clone()));
        self.record_issuance(issuance, credentials, offered, event);
        Ok(Finish::Recorded)
    }
}

impl FakeStore {
    /// The issuance, its credentials, the offer's status and the event.
    pub fn record_issuance(
        &self,
        issuance: Issuance,
        credentials: &[CredentialRecord],
        offered: &[String],
        event: NewEvent,
    ) {
        lock(&self.credentials).extend(credentials.iter().cloned());
        let offer_id = issuance.offer_id.clone();
        let mut issuances = lock(&self.issuances);
        issuances.push(issuance);
        let done = offered.iter().all(|c| {
            issuances
                .iter()
                .any(|i| i.offer_id == offer_id && &i.credential_configuration_id == c)
        });
        if let Some(o) = lock(&self.offers).get_mut(&offer_id) {
            o.progress.status = if done {
                OfferStatus::Consumed
            } else {
                OfferStatus::CredentialIssued
            };
        }
        lock(&self.events).push(event);
    }

    fn find_authorization(
        &self,
        tenant: &str,
        f: impl Fn(&Authorization) -> bool,
    ) -> Option<Authorization> {
        lock(&self.authorizations)
            .values()
            .find(|a| a.tenant == tenant && f(a))
            .cloned()
    }

    fn add_token(&self, a: &Authorization, t: &GrantTokens, now: i64) {
        lock(&self.tokens).insert(
            t.token_hash.clone(),
            AccessToken {
                token_hash: t.token_hash.clone(),
                tenant: a.tenant.clone(),
                offer_id: a.offer_id.clone().unwrap_or_default(),
                credential_configuration_ids: a.credential_configuration_ids.clone(),
                created_at: now,
                expires_at: t.expires_at,
                authorization_id: Some(a.id.clone()),
                dpop_jkt: t.dpop_jkt.clone(),
            },
        );
    }
}

impl AuthorizationStore for FakeStore {
    async fn offer_by_issuer_state(
        &self,
        tenant: &str,
        issuer_state: &str,
    ) -> Result<Option<Offer>, StoreFailure> {
        self.check()?;
        Ok(lock(&self.offers)
            .values()
            .find(|o| o.tenant == tenant && o.issuer_state.as_deref() == Some(issuer_state))
            .cloned())
    }

    async fn push_authorization(
        &self,
        a: &Authorization,
        event: Option<NewEvent>,
    ) -> Result<(), StoreFailure> {
        self.check()?;
        lock(&self.authorizations).insert(a.id.clone(), a.clone());
        lock(&self.events).extend(event);
        Ok(())
    }

    async fn authorization_by_request(
        &self,
        tenant: &str,
        hash: &str,
    ) -> Result<Option<Authorization>, StoreFailure> {
        self.check()?;
        Ok(self.find_authorization(tenant, |a| a.request_uri_hash == hash))
    }

    async fn begin_login(
        &self,
        id: &str,
        login: &LoginState,
        now: i64,
        event: Option<NewEvent>,
    ) -> Result<bool, StoreFailure> {
        self.check()?;
        let mut all = lock(&self.authorizations);
        let Some(a) = all.get_mut(id).filter(|a| {
            matches!(
                a.status,
                AuthorizationStatus::Pushed | AuthorizationStatus::Login
            )
        }) else {
            return Ok(false);
        };
        a.status = AuthorizationStatus::Login;
        a.login = Some(login.clone());
        a.updated_at = now;
        lock(&self.events).extend(event);
        Ok(true)
    }

    async fn authorization_by_login(
        &self,
        tenant: &str,
        hash: &str,
    ) -> Result<Option<Authorization>, StoreFailure> {
        self.check()?;
        Ok(self.find_authorization(tenant, |a| {
            a.login.as_ref().is_some_and(|l| l.state_hash == hash)
        }))
    }

    async fn issue_code(
        &self,
        id: &str,
        code: CodeIssue,
        now: i64,
        event: NewEvent,
    ) -> Result<bool, StoreFailure> {
        self.check()?;
        let mut all = lock(&self.authorizations);
        let Some(a) = all.get_mut(id).filter(|a| {
            matches!(
                a.status,
                AuthorizationStatus::Pushed | AuthorizationStatus::Login
            )
        }) else {
            return Ok(false);
        };
        if let Some(o) = code.new_offer {
            a.offer_id = Some(o.id.clone());
            lock(&self.offers).insert(o.id.clone(), o);
        }
        a.status = AuthorizationStatus::Code;
        a.code_hash = Some(code.code_hash);
        a.code_expires_at = Some(code.expires_at);
        a.subject = code.subject;
        a.claims = code.claims;
        a.login = None;
        a.updated_at = now;
        lock(&self.events).push(event);
        Ok(true)
    }

    async fn fail_login(
        &self,
        id: &str,
        now: i64,
        event: Option<NewEvent>,
    ) -> Result<(), StoreFailure> {
        self.check()?;
        if let Some(a) = lock(&self.authorizations).get_mut(id) {
            a.status = AuthorizationStatus::Revoked;
            a.updated_at = now;
        }
        lock(&self.events).extend(event);
        Ok(())
    }

    async fn authorization_by_code(
        &self,
        tenant: &str,
        hash: &str,
    ) -> Result<Option<Authorization>, StoreFailure> {
        self.check()?;
        Ok(self.find_authorization(tenant, |a| a.code_hash.as_deref() == Some(hash)))
    }

    async fn authorization_by_refresh(
        &self,
        tenant: &str,
        hash: &str,
    ) -> Result<Option<Authorization>, StoreFailure> {
        self.check()?;
        Ok(self.find_authorization(tenant, |a| {
            a.refresh_hash.as_deref() == Some(hash)
                || a.previous_refresh_hash.as_deref() == Some(hash)
        }))
    }

    async fn redeem_code(
        &self,
        id: &str,
        tokens: GrantTokens,
        now: i64,
        event: NewEvent,
    ) -> Result<Result<(), GrantRefusal>, StoreFailure> {
        self.check()?;
        let mut all = lock(&self.authorizations);
        let Some(a) = all.get_mut(id).filter(|a| {
            a.status == AuthorizationStatus::Code && a.code_expires_at.is_some_and(|e| e > now)
        }) else {
            return Ok(Err(GrantRefusal::Unknown));
        };
        let offer_id = a.offer_id.clone().unwrap_or_default();
        {
            let mut offers = lock(&self.offers);
            let Some(o) = offers.get_mut(&offer_id).filter(|o| {
                matches!(
                    o.progress.status,
                    OfferStatus::Created | OfferStatus::Resolved
                )
            }) else {
                return Ok(Err(GrantRefusal::OfferUnavailable));
            };
            o.progress.status = OfferStatus::TokenIssued;
            o.progress.token_issued_at = Some(now);
        }
        a.status = AuthorizationStatus::Redeemed;
        if let Some((hash, expires_at)) = &tokens.refresh {
            a.refresh_hash = Some(hash.clone());
            a.refresh_expires_at = Some(*expires_at);
        }
        if a.dpop_jkt.is_none() {
            a.dpop_jkt.clone_from(&tokens.dpop_jkt);
        }
        let a = a.clone();
        drop(all);
        self.add_token(&a, &tokens, now);
        lock(&self.events).push(event);
        Ok(Ok(()))
    }

    async fn refresh(
        &self,
        id: &str,
        old_hash: &str,
        tokens: GrantTokens,
        now: i64,
        event: NewEvent,
    ) -> Result<Result<(), GrantRefusal>, StoreFailure> {
        self.check()?;
        let mut all = lock(&self.authorizations);
        let Some(a) = all.get_mut(id).filter(|a| {
            a.status == AuthorizationStatus::Redeemed
                && a.refresh_hash.as_deref() == Some(old_hash)
                && a.refresh_expires_at.is_some_and(|e| e > now)
        }) else {
            return Ok(Err(GrantRefusal::Unknown));
        };
        let revoked = lock(&self.offers)
            .get(a.offer_id.as_deref().unwrap_or_default())
            .is_none_or(|o| o.progress.status == OfferStatus::Revoked);
        if revoked {
            return Ok(Err(GrantRefusal::OfferUnavailable));
        }
        a.previous_refresh_hash = a.refresh_hash.take();
        if let Some((hash, expires_at)) = &tokens.refresh {
            a.refresh_hash = Some(hash.clone());
            a.refresh_expires_at = Some(*expires_at);
        }
        let a = a.clone();
        drop(all);
        self.add_token(&a, &tokens, now);
        lock(&self.events).push(event);
        Ok(Ok(()))
    }

    async fn revoke_grant(
        &self,
        id: &str,
        now: i64,
        event: Option<NewEvent>,
    ) -> Result<(), StoreFailure> {
        self.check()?;
        let offer = lock(&self.authorizations).get_mut(id).and_then(|a| {
            a.status = AuthorizationStatus::Revoked;
            a.offer_id.clone()
        });
        if let Some(id) = offer
            && let Some(o) = lock(&self.offers).get_mut(&id)
        {
            o.progress.status = OfferStatus::Revoked;
            o.progress.revoked_at = Some(now);
        }
        lock(&self.events).extend(event);
        Ok(())
    }

    async fn authorization(&self, id: &str) -> Result<Option<Authorization>, StoreFailure> {
        self.check()?;
        Ok(lock(&self.authorizations).get(id).cloned())
    }

    async fn spend_once(
        &self,
        tenant: &str,
        value: &str,
        _expires_at: i64,
        _now: i64,
    ) -> Result<bool, StoreFailure> {
        self.check()?;
        Ok(lock(&self.spent).insert(format!("{tenant}\u{0}{value}")))
    }
}

/// Claim sources and formats that answer from maps and record every call.
#[derive(Debug, Default)]
pub struct FakePlugins {
    /// A failure or outcome to give instead of the default, by plugin id.
    pub claim_answers: Mutex<BTreeMap<String, Result<ClaimOutcome, PluginFailure>>>,
    pub format_failure: Mutex<Option<PluginFailure>>,
    pub claim_calls: Mutex<Vec<(String, ClaimRequest)>>,
    pub issued: Mutex<Vec<(String, IssueInput)>>,
}

impl ClaimSources for FakePlugins {
    async fn resolve_claims(
        &self,
        plugin: &str,
        request: &ClaimRequest,
    ) -> Result<ClaimOutcome, PluginFailure> {
        lock(&self.claim_calls).push((plugin.to_owned(), request.clone()));
        if let Some(answer) = lock(&self.claim_answers).get(plugin) {
            return answer.clone();
        }
        // Like the built-in sources: inline and static claims come back as
        // given; a remote source answers with its own name.
        let claims = request
            .inline_claims
            .clone()
            .or_else(|| request.source.get("claims").cloned())
            .unwrap_or_else(|| json!({ "source": plugin }));
        match claims {
            Value::Object(m) => Ok(ClaimOutcome::Claims(m)),
            _ => Ok(ClaimOutcome::Claims(serde_json::Map::new())),
        }
    }
}

impl CredentialFormats for FakePlugins {
    type Signer = &'static str;

    async fn issue(
        &self,
        plugin: &str,
        input: &IssueInput,
        signer: &'static str,
    ) -> Result<Vec<String>, PluginFailure> {
        lock(&self.issued).push((plugin.to_owned(), input.clone()));
        if let Some(f) = lock(&self.format_failure).clone() {
            return Err(f);
        }
        Ok((0..input.slots.len())
            .map(|i| format!("{plugin}:{signer}:{i}"))
            .collect())
    }
}

/// A tenant with two configurations on offer and keys `active`, `standby`.
#[derive(Debug)]
pub struct FakeTenant {
    pub id: &'static str,
    pub configurations: Vec<String>,
    /// The subject of the certificate its signer carries.
    pub document_signer: Option<DocumentSigner>,
}

impl IssuerTenant for FakeTenant {
    type Signer = &'static str;

    fn id(&self) -> &str {
        self.id
    }

    fn issuer(&self) -> &str {
        ISSUER
    }

    fn offers(&self, configuration_id: &str) -> bool {
        self.configurations.iter().any(|c| c == configuration_id)
    }

    fn signing(
        &self,
        configuration_id: &str,
        _format: &str,
        overrides: &RuntimeOverrides,
    ) -> Result<Signing<&'static str>, String> {
        let signer = match overrides.issuer_key_id.as_deref() {
            None => "active",
            Some("standby") => "standby",
            Some(other) => {
                return Err(format!(
                    "the offer asks for issuer key '{other}', which no longer signs"
                ));
            }
        };
        Ok(Signing {
            signer,
            issuer_id: ISSUER.to_owned(),
            format_settings: json!({ "configuration": configuration_id, "claims": [] }),
            document_signer: self.document_signer.clone(),
        })
    }

    fn status_list_signer(&self) -> Result<sigil_keys::SharedSigner, String> {
        Ok(status_list_key())
    }
}

/// The key every fake tenant signs its status lists with.
pub fn status_list_key() -> sigil_keys::SharedSigner {
    static KEY: std::sync::OnceLock<sigil_keys::SharedSigner> = std::sync::OnceLock::new();
    KEY.get_or_init(|| Arc::new(sigil_keys::IssuerKey::generate_p256()))
        .clone()
}

pub type TestIssuer = Issuer<FakeStore, FakePlugins>;

/// The settings: four configurations with each kind of claim source, an
/// attribute provider, a webhook endpoint and a grant for inline webhooks.
pub fn settings() -> Settings {
    let mut s: Settings = serde_json::from_value(json!({
        "server": { "public_url": ISSUER },
        "plugins": { "grants": { "claims-webhook": { "allowed_hosts": ["https://hooks.example"] } } },
    }))
    .expect("settings");
    let configurations = [
        json!({ "id": "badge", "format": "dc+sd-jwt", "validity_seconds": 86400 }),
        json!({ "id": "static_badge", "format": "dc+sd-jwt",
                "source": { "type": "static", "claims": { "given_name": "Static" } } }),
        json!({ "id": "hr_badge", "format": "jwt_vc_json", "attribute_provider": "hr",
                "source": { "type": "static", "claims": { "given_name": "Static" } } }),
        json!({ "id": "hook_badge", "format": "dc+sd-jwt", "source": { "type": "webhook", "id": "crm" } }),
        json!({ "id": "mdl", "format": "mso_mdoc", "doctype": "org.iso.18013.5.1.mDL",
                "attribute_provider": "hr" }),
        json!({ "id": "custom_badge", "format": "mso_mdoc",
                "source": { "type": "plugin", "plugin": "claims-ldap", "settings": { "base": "dc=example" } } }),
    ];
    for c in configurations {
        let c: sigil_settings::CredentialConfiguration =
            serde_json::from_value(c).expect("configuration");
        s.credential_configurations.insert(c.id.clone(), c);
    }
    s.attribute_providers.insert(
        "hr".into(),
        serde_json::from_value(json!({ "id": "hr", "url": "https://hr.example/attributes" }))
            .expect("provider"),
    );
    s.webhook_endpoints.insert(
        "crm".into(),
        serde_json::from_value(json!({ "id": "crm", "url": "https://crm.example/claims" }))
            .expect("endpoint"),
    );
    s
}

/// An issuer over fakes, its default tenant, and an `acme` tenant.
pub struct World {
    pub issuer: TestIssuer,
    pub tenant: FakeTenant,
    pub acme: FakeTenant,
    pub clock: Arc<FixedClock>,
}

impl World {
    pub fn new() -> Self {
        Self::with_settings(|_| {})
    }

    /// A world whose settings `edit` changes first.
    pub fn with_settings(edit: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = settings();
        edit(&mut settings);
        let clock = Arc::new(FixedClock(AtomicI64::new(NOW)));
        let all: Vec<String> = [
            "badge",
            "static_badge",
            "hr_badge",
            "hook_badge",
            "custom_badge",
            "mdl",
        ]
        .map(String::from)
        .to_vec();
        Self {
            issuer: Issuer::new(
                FakeStore::default(),
                Arc::new(FakePlugins::default()),
                Arc::new(settings),
                b"0123456789abcdef0123456789abcdef",
                clock.clone(),
            ),
            tenant: FakeTenant {
                id: "default",
                configurations: all.clone(),
                document_signer: Some(DocumentSigner {
                    country: Some(DS_COUNTRY.into()),
                    state_or_province: None,
                }),
            },
            acme: FakeTenant {
                id: "acme",
                configurations: all,
                document_signer: None,
            },
            clock,
        }
    }

    pub fn store(&self) -> &FakeStore {
        &self.issuer.store
    }

    pub fn plugins(&self) -> &FakePlugins {
        &self.issuer.plugins
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.0.fetch_add(seconds, Ordering::Relaxed);
    }

    /// Store an offer of `configurations` and return its pre-authorized code.
    pub fn offer(
        &self,
        id: &str,
        configurations: &[&str],
        edit: impl FnOnce(&mut Offer),
    ) -> String {
        let code = self.issuer.pre_authorized_code(id);
        let now = self.issuer.now();
        let mut offer = Offer {
            id: id.to_owned(),
            tenant: "default".into(),
            credential_configuration_ids: configurations.iter().map(|c| (*c).to_owned()).collect(),
            flow: Flow::PreAuthorizedCode,
            value_mode: ValueMode::ByReference,
            scheme: OfferScheme::OpenidCredentialOffer,
            pre_authorized_code_hash: Some(secrets::hash(&code)),
            tx_code_hash: None,
            tx_code: None,
            issuer_state: None,
            credential_claims: BTreeMap::new(),
            runtime_overrides: RuntimeOverrides::default(),
            issuance_mode: IssuanceMode::Immediate,
            webhook_endpoint_id: None,
            profile: None,
            created_at: now,
            expires_at: Some(now + 300),
            progress: OfferProgress::new(now),
        };
        edit(&mut offer);
        lock(&self.store().offers).insert(id.to_owned(), offer);
        code
    }

    /// Give an offer the transaction code `value`.
    pub fn with_tx_code(offer: &mut Offer, code: &str, value: &str) {
        offer.tx_code_hash = Some(secrets::tx_code_hash(code, value));
        offer.tx_code = Some(TxCode {
            input_mode: TxInputMode::Numeric,
            length: Some(4),
            description: None,
        });
    }

    /// Inline claims for `configuration`.
    pub fn inline(offer: &mut Offer, configuration: &str, claims: Value) {
        let Value::Object(claims) = claims else {
            panic!("claims must be an object")
        };
        offer
            .credential_claims
            .insert(configuration.to_owned(), ClaimSourceSpec::Inline { claims });
    }

    /// An access token for a fresh offer of `configurations`.
    pub async fn token_for(
        &self,
        id: &str,
        configurations: &[&str],
        edit: impl FnOnce(&mut Offer),
    ) -> String {
        let code = self.offer(id, configurations, edit);
        let request = crate::endpoints::token::TokenRequest {
            grant_type: crate::offer::PRE_AUTHORIZED_GRANT.into(),
            pre_authorized_code: Some(code),
            ..Default::default()
        };
        self.issuer
            .token(&self.tenant, &request)
            .await
            .expect("token")
            .access_token
    }
}

/// A wallet's key.
pub struct Holder {
    pub key: SigningKey,
    pub jwk: Value,
}

impl Holder {
    pub fn new() -> Self {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let p = key.verifying_key().to_encoded_point(false);
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let jwk = json!({"kty": "EC", "crv": "P-256",
            "x": b64(p.x().expect("x")), "y": b64(p.y().expect("y"))});
        Self { key, jwk }
    }

    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let input = format!("{}.{}", b64(header), b64(claims));
        let sig: Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    /// A valid proof over `nonce` for the fake issuer at time `iat`.
    pub fn proof(&self, nonce: &str, iat: i64) -> String {
        self.sign(
            &json!({ "typ": PROOF_TYP, "alg": "ES256", "jwk": self.jwk }),
            &json!({ "aud": ISSUER, "iat": iat, "nonce": nonce }),
        )
    }
}
