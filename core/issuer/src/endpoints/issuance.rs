//! What the credential and the deferred credential endpoints share once
//! the holder keys are proven: resolving the claims, signing one credential
//! per key (each with its status list entry), and the records of it.

use serde_json::{Map, Value};
use sigil_settings::CredentialConfiguration;
use sigil_settings::datafn::DataContext;

use super::claims;
use super::credential::CredentialCause;
use crate::mdl;
use crate::model::{
    Authorization, CredentialRecord, CredentialStatus, EventKind, Issuance, NewEvent, Offer,
};
use crate::ports::{
    ClaimOutcome, ClaimRequest, ClaimSources, CredentialFormats, CredentialSlot,
    FormatConfiguration, IssueInput, IssuerTenant, LifecycleStore, PluginFailure,
};
use crate::secrets;
use crate::service::Issuer;

/// What the claim source answered, its claims completed.
#[derive(Debug)]
pub(crate) enum Resolved {
    /// The claims, data functions and mapping applied.
    Claims(Map<String, Value>),
    /// Not ready: deferred issuance.
    Pending {
        /// Seconds the wallet should wait.
        interval_seconds: u32,
        /// Why (logs).
        reason: String,
    },
}

/// The credentials of one response and what is recorded with them.
#[derive(Debug)]
pub(crate) struct Signed {
    /// The credentials, one per holder key.
    pub credentials: Vec<String>,
    /// Their records.
    pub records: Vec<CredentialRecord>,
    /// The issuance.
    pub issuance: Issuance,
    /// The `credential_issued` event.
    pub event: NewEvent,
    /// The response's `notification_id`.
    pub notification_id: String,
}

impl<S, P> Issuer<S, P>
where
    S: LifecycleStore,
    P: ClaimSources + CredentialFormats,
{
    /// The claim request of `config` for `offer` (and the login of
    /// `authorization`), and whether data functions apply to its answer.
    fn claim_request<T: IssuerTenant>(
        &self,
        tenant: &T,
        offer: &Offer,
        authorization: Option<&Authorization>,
        config: &CredentialConfiguration,
        holder_keys: &[Value],
    ) -> Result<claims::ClaimCall, CredentialCause> {
        let mut call = claims::claim_call(
            &self.settings,
            (tenant.id(), tenant.issuer()),
            offer,
            config,
            holder_keys,
        )
        .map_err(CredentialCause::Source)?;
        if let (Some(mapping), sigil_settings::ID_TOKEN_PLUGIN) = (
            &offer.runtime_overrides.id_token_claims_mapping,
            call.plugin.as_str(),
        ) && let Some(source) = call.request.source.as_object_mut()
        {
            source.insert("mapping".into(), serde_json::json!(mapping));
        }
        if let Some(a) = authorization {
            // The person who logged in: their ID token's claims, and their
            // upstream `sub` as the subject unless the offer names one.
            call.request.id_token_claims = a.claims.clone().map(Value::Object);
            if call.request.subject_id.is_none() {
                call.request.subject_id.clone_from(&a.subject);
            }
        }
        Ok(call)
    }

    /// Ask the claim source of `config` for the claims, and complete them.
    pub(crate) async fn resolve<T: IssuerTenant>(
        &self,
        tenant: &T,
        offer: &Offer,
        authorization: Option<&Authorization>,
        config: &CredentialConfiguration,
        holder_keys: &[Value],
    ) -> Result<Resolved, CredentialCause> {
        let call = self.claim_request(tenant, offer, authorization, config, holder_keys)?;
        let claims = match self
            .plugins
            .resolve_claims(&call.plugin, &call.request)
            .await
        {
            Ok(ClaimOutcome::Claims(c)) => c,
            Ok(ClaimOutcome::Pending {
                interval_seconds,
                reason,
            }) => {
                tracing::info!(plugin = %call.plugin, offer = %offer.id, %reason, "claims pending");
                return Ok(Resolved::Pending {
                    interval_seconds: interval_seconds.max(1),
                    reason,
                });
            }
            Err(e) => return Err(plugin_failed(e)),
        };
        self.complete(tenant, offer, config, &call.request, claims, call.templates)
            .map(Resolved::Claims)
    }

    /// Claims the operator gave for a deferred transaction, completed as the
    /// source's would be (the mapping applies; data functions do not: they
    /// are data, not templates).
    pub(crate) fn given_claims<T: IssuerTenant>(
        &self,
        tenant: &T,
        offer: &Offer,
        authorization: Option<&Authorization>,
        config: &CredentialConfiguration,
        holder_keys: &[Value],
        claims: Map<String, Value>,
    ) -> Result<Map<String, Value>, CredentialCause> {
        let call = self.claim_request(tenant, offer, authorization, config, holder_keys)?;
        self.complete(tenant, offer, config, &call.request, claims, false)
    }

    /// Data functions (when `templates`) and the mapping.
    fn complete<T: IssuerTenant>(
        &self,
        tenant: &T,
        offer: &Offer,
        config: &CredentialConfiguration,
        request: &ClaimRequest,
        claims: Map<String, Value>,
        templates: bool,
    ) -> Result<Map<String, Value>, CredentialCause> {
        let subject = request.subject_id.clone().or_else(|| {
            request
                .holder_keys
                .first()
                .and_then(sigil_keys::did::did_jwk)
        });
        let ctx = DataContext {
            now: self.now(),
            subject_id: subject.as_deref(),
            issuer_id: tenant.issuer(),
            offer_id: &offer.id,
        };
        claims::finish_claims(claims, templates, offer, config, &ctx).map_err(|e| {
            tracing::warn!(offer = %offer.id, error = %e, "data functions failed");
            CredentialCause::DataFunctions(e)
        })
    }

    /// Sign one credential of `config` with `claims` per holder key, each
    /// with a status list entry when the configuration and offer want one,
    /// and build what is recorded with them.
    pub(crate) async fn sign<T>(
        &self,
        tenant: &T,
        offer: &Offer,
        config: &CredentialConfiguration,
        mut claims: Map<String, Value>,
        holder_keys: Vec<Value>,
        now: i64,
    ) -> Result<Signed, CredentialCause>
    where
        T: IssuerTenant<Signer = P::Signer>,
    {
        let signing = tenant
            .signing(&config.id, &config.format, &offer.runtime_overrides)
            .map_err(|e| {
                tracing::warn!(offer = %offer.id, error = %e, "issuer key of the offer");
                CredentialCause::IssuerKey(e)
            })?;
        mdl::reconcile(config, &mut claims, signing.document_signer.as_ref()).map_err(|m| {
            tracing::info!(offer = %offer.id, element = %m.path(), "mDL claims disagree with the document signer certificate");
            CredentialCause::SignerMismatch(m)
        })?;
        // Round the issuance time down to the hour so batch credentials do
        // not carry a precise shared timestamp (§14.6, unlinkability).
        let issued_at = (now - now.rem_euclid(3600)) as u64;
        let validity = offer
            .runtime_overrides
            .validity_seconds
            .or(config.validity_seconds);
        // Saturating: a configuration's validity is the operator's and unbounded.
        let expires_at = validity.map(|v| issued_at.saturating_add(v));
        let entries = self
            .status_entries(tenant, offer, config, holder_keys.len())
            .await?;
        let thumbprints: Vec<Option<String>> = holder_keys
            .iter()
            .map(|k| crate::jws::thumbprint(k).ok())
            .collect();
        // Claim values reach the event log only when the operator asks.
        let claim_values = self.settings.events.claim_values.then(|| claims.clone());
        let input = IssueInput {
            configuration: FormatConfiguration {
                id: config.id.clone(),
                format: config.format.clone(),
                settings: claims::with_disclosure(signing.format_settings, offer),
            },
            claims,
            issuer: signing.issuer_id,
            issued_at,
            expires_at,
            slots: holder_keys
                .into_iter()
                .zip(&entries)
                .map(|(k, entry)| CredentialSlot {
                    holder_key: Some(k),
                    status: entry.map(|e| self.status_reference(tenant, e)),
                })
                .collect(),
        };
        let format_plugin = config.format_plugin_id().unwrap_or_default();
        let credentials = self
            .plugins
            .issue(format_plugin, &input, signing.signer)
            .await
            .map_err(plugin_failed)?;
        let count = credentials.len();
        let notification_id = secrets::random_token();
        // One credential per holder key, in the order of the records.
        let records = thumbprints
            .into_iter()
            .zip(entries)
            .enumerate()
            .map(
                |(i, (holder_key_thumbprint, status_entry))| CredentialRecord {
                    id: secrets::random_token(),
                    tenant: tenant.id().to_owned(),
                    offer_id: offer.id.clone(),
                    credential_configuration_id: config.id.clone(),
                    format: config.format.clone(),
                    holder_key_thumbprint,
                    notification_id: notification_id.clone(),
                    created_at: now,
                    notification: None,
                    status: CredentialStatus::Valid,
                    status_entry,
                    expires_at: expires_at.and_then(|e| i64::try_from(e).ok()),
                    identifier: credentials.get(i).and_then(|c| crate::jws::jti(c)),
                },
            )
            .collect();
        let issuance = Issuance {
            id: secrets::random_token(),
            tenant: tenant.id().to_owned(),
            offer_id: offer.id.clone(),
            credential_configuration_id: config.id.clone(),
            format: config.format.clone(),
            count: count as u32,
            created_at: now,
        };
        let mut detail = serde_json::json!({
            "credentialConfigurationId": config.id, "format": config.format, "count": count
        });
        if let Some(values) = claim_values {
            detail["claims"] = Value::Object(values);
        }
        let event = NewEvent {
            tenant: tenant.id().to_owned(),
            offer_id: offer.id.clone(),
            kind: EventKind::CredentialIssued,
            detail,
            created_at: now,
        };
        Ok(Signed {
            credentials,
            records,
            issuance,
            event,
            notification_id,
        })
    }
}

pub(crate) fn plugin_failed(e: PluginFailure) -> CredentialCause {
    tracing::warn!(error = %e.message, plugin = %e.plugin, "plugin call failed during issuance");
    CredentialCause::Plugin(e)
}
