//! The store as the issuer's [`IssuanceStore`], [`LifecycleStore`] and
//! [`AuthorizationStore`] ports.

use sigil_issuer::model::{
    AccessToken, Authorization, CodeIssue, CredentialFilter, CredentialRecord, CredentialStatus,
    DeferredTransaction, Finish, GrantRefusal, GrantTokens, Issuance, IssuedToken, LoginState,
    NewEvent, NotificationRecord, Offer, Redeem, RedeemRefusal, Settlement, StatusChange,
    StatusList,
};
use sigil_issuer::ports::{self, AuthorizationStore, IssuanceStore, LifecycleStore, StoreFailure};

use crate::{RedeemError, Store, StoreError};

impl From<StoreError> for StoreFailure {
    fn from(e: StoreError) -> Self {
        StoreFailure(Box::new(e))
    }
}

impl From<RedeemError> for ports::RedeemError {
    fn from(e: RedeemError) -> Self {
        use ports::RedeemError::Refused;
        match e {
            RedeemError::UnknownCode => Refused(RedeemRefusal::UnknownCode),
            RedeemError::Expired => Refused(RedeemRefusal::Expired),
            RedeemError::Revoked => Refused(RedeemRefusal::Revoked),
            RedeemError::AlreadyUsed => Refused(RedeemRefusal::AlreadyUsed),
            RedeemError::Invalidated => Refused(RedeemRefusal::Invalidated),
            RedeemError::TxCodeRequired => Refused(RedeemRefusal::TxCodeRequired),
            RedeemError::TxCodeNotExpected => Refused(RedeemRefusal::TxCodeNotExpected),
            RedeemError::WrongTxCode { remaining } => {
                Refused(RedeemRefusal::WrongTxCode { remaining })
            }
            RedeemError::Store(e) => ports::RedeemError::Store(e.into()),
        }
    }
}

impl IssuanceStore for Store {
    async fn record_event(&self, event: NewEvent) -> Result<(), StoreFailure> {
        Ok(self.append_event(event).await?)
    }

    async fn offer(&self, tenant: &str, id: &str) -> Result<Option<Offer>, StoreFailure> {
        Ok(self.get_offer(tenant, id).await?)
    }

    async fn resolve_offer(
        &self,
        offer_id: &str,
        now: i64,
        event: NewEvent,
    ) -> Result<(), StoreFailure> {
        Store::resolve_offer(self, offer_id, now, event).await?;
        Ok(())
    }

    async fn redeem_for_token(
        &self,
        redeem: Redeem<'_>,
        token: IssuedToken<'_>,
    ) -> Result<(), ports::RedeemError> {
        Store::redeem_for_token(self, redeem, token).await?;
        Ok(())
    }

    async fn access_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(AccessToken, Offer)>, StoreFailure> {
        Ok(self.find_access_token_and_offer(token_hash, now).await?)
    }

    async fn record_external_token(
        &self,
        offer: &Offer,
        token: AccessToken,
        event: NewEvent,
        now: i64,
    ) -> Result<Option<(AccessToken, Offer)>, StoreFailure> {
        Ok(Store::record_external_token(self, offer, token, event, now).await?)
    }

    async fn finish_credential(
        &self,
        nonces: &[(String, i64)],
        issuance: Issuance,
        credentials: &[CredentialRecord],
        offered: &[String],
        event: NewEvent,
    ) -> Result<Finish, StoreFailure> {
        Ok(Store::finish_credential(self, nonces, issuance, credentials, offered, event).await?)
    }

    async fn credentials_of_offer(
        &self,
        offer_id: &str,
    ) -> Result<Vec<CredentialRecord>, StoreFailure> {
        Ok(self.credentials(offer_id).await?)
    }

    async fn notify(
        &self,
        offer_id: &str,
        notification_id: &str,
        notification: NotificationRecord,
        event: NewEvent,
    ) -> Result<bool, StoreFailure> {
        Ok(Store::notify(self, offer_id, notification_id, notification, event).await?)
    }
}

impl LifecycleStore for Store {
    async fn open_status_list(
        &self,
        tenant: &str,
        size: u64,
        bits: u8,
        now: i64,
    ) -> Result<StatusList, StoreFailure> {
        Ok(Store::open_status_list(self, tenant, size, bits, now).await?)
    }

    async fn reserve_status_indices(
        &self,
        tenant: &str,
        list: u32,
        candidates: &[u64],
        _now: i64,
    ) -> Result<Vec<u64>, StoreFailure> {
        Ok(Store::reserve_status_indices(self, tenant, list, candidates).await?)
    }

    async fn close_status_list(&self, tenant: &str, list: u32) -> Result<(), StoreFailure> {
        Ok(Store::close_status_list(self, tenant, list).await?)
    }

    async fn status_list(
        &self,
        tenant: &str,
        number: u32,
    ) -> Result<Option<StatusList>, StoreFailure> {
        Ok(Store::status_list(self, tenant, number).await?)
    }

    async fn status_entries(
        &self,
        tenant: &str,
        number: u32,
    ) -> Result<Vec<(u64, CredentialStatus)>, StoreFailure> {
        Ok(Store::status_entries(self, tenant, number).await?)
    }

    async fn credential(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<CredentialRecord>, StoreFailure> {
        Ok(Store::credential(self, tenant, id).await?)
    }

    async fn find_credentials(
        &self,
        filter: &CredentialFilter,
    ) -> Result<Vec<CredentialRecord>, StoreFailure> {
        Ok(Store::find_credentials(self, filter).await?)
    }

    async fn change_status(
        &self,
        tenant: &str,
        changes: &[StatusChange],
        _now: i64,
    ) -> Result<Vec<bool>, StoreFailure> {
        Ok(Store::change_status(self, tenant, changes).await?)
    }

    async fn defer(
        &self,
        nonces: &[(String, i64)],
        transaction: &DeferredTransaction,
        event: NewEvent,
    ) -> Result<Finish, StoreFailure> {
        Ok(Store::defer(self, nonces, transaction, event).await?)
    }

    async fn deferred(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<DeferredTransaction>, StoreFailure> {
        Ok(Store::deferred(self, tenant, id).await?)
    }

    async fn deferred_of_offer(
        &self,
        offer_id: &str,
    ) -> Result<Vec<DeferredTransaction>, StoreFailure> {
        Ok(Store::deferred_of_offer(self, offer_id).await?)
    }

    async fn settle_deferred(
        &self,
        tenant: &str,
        id: &str,
        settlement: &Settlement,
        now: i64,
        event: NewEvent,
    ) -> Result<bool, StoreFailure> {
        Ok(Store::settle_deferred(self, tenant, id, settlement, now, event).await?)
    }

    async fn collect_deferred(
        &self,
        id: &str,
        issuance: Issuance,
        credentials: &[CredentialRecord],
        offered: &[String],
        event: NewEvent,
    ) -> Result<bool, StoreFailure> {
        Ok(Store::collect_deferred(self, id, issuance, credentials, offered, event).await?)
    }
}

impl AuthorizationStore for Store {
    async fn offer_by_issuer_state(
        &self,
        tenant: &str,
        issuer_state: &str,
    ) -> Result<Option<Offer>, StoreFailure> {
        Ok(Store::offer_by_issuer_state(self, tenant, issuer_state).await?)
    }

    async fn push_authorization(
        &self,
        authorization: &Authorization,
        event: Option<NewEvent>,
    ) -> Result<(), StoreFailure> {
        Ok(Store::push_authorization(self, authorization, event).await?)
    }

    async fn authorization_by_request(
        &self,
        tenant: &str,
        hash: &str,
    ) -> Result<Option<Authorization>, StoreFailure> {
        Ok(Store::authorization_by_request(self, tenant, hash).await?)
    }

    async fn begin_login(
        &self,
        id: &str,
        login: &LoginState,
        now: i64,
        event: Option<NewEvent>,
    ) -> Result<bool, StoreFailure> {
        Ok(Store::begin_login(self, id, login, now, event).await?)
    }

    async fn authorization_by_login(
        &self,
        tenant: &str,
        hash: &str,
    ) -> Result<Option<Authorization>, StoreFailure> {
        Ok(Store::authorization_by_login(self, tenant, hash).await?)
    }

    async fn issue_code(
        &self,
        id: &str,
        code: CodeIssue,
        now: i64,
        event: NewEvent,
    ) -> Result<bool, StoreFailure> {
        Ok(Store::issue_code(self, id, code, now, event).await?)
    }

    async fn fail_login(
        &self,
        id: &str,
        now: i64,
        event: Option<NewEvent>,
    ) -> Result<(), StoreFailure> {
        Ok(Store::fail_login(self, id, now, event).await?)
    }

    async fn authorization_by_code(
        &self,
        tenant: &str,
        hash: &str,
    ) -> Result<Option<Authorization>, StoreFailure> {
        Ok(Store::authorization_by_code(self, tenant, hash).await?)
    }

    async fn authorization_by_refresh(
        &self,
        tenant: &str,
        hash: &str,
    ) -> Result<Option<Authorization>, StoreFailure> {
        Ok(Store::authorization_by_refresh(self, tenant, hash).await?)
    }

    async fn redeem_code(
        &self,
        id: &str,
        tokens: GrantTokens,
        now: i64,
        event: NewEvent,
    ) -> Result<Result<(), GrantRefusal>, StoreFailure> {
        Ok(Store::redeem_code(self, id, tokens, now, event).await?)
    }

    async fn refresh(
        &self,
        id: &str,
        old_hash: &str,
        tokens: GrantTokens,
        now: i64,
        event: NewEvent,
    ) -> Result<Result<(), GrantRefusal>, StoreFailure> {
        Ok(Store::refresh(self, id, old_hash, tokens, now, event).await?)
    }

    async fn revoke_grant(
        &self,
        id: &str,
        now: i64,
        event: Option<NewEvent>,
    ) -> Result<(), StoreFailure> {
        Ok(Store::revoke_grant(self, id, now, event).await?)
    }

    async fn authorization(&self, id: &str) -> Result<Option<Authorization>, StoreFailure> {
        Ok(Store::authorization(self, id).await?)
    }

    async fn spend_once(
        &self,
        tenant: &str,
        value: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreFailure> {
        Ok(Store::spend_once(self, tenant, value, expires_at, now).await?)
    }
}
