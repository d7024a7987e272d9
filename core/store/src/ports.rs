//! The store as the issuer's [`IssuanceStore`] port.

use sigil_issuer::model::{
    AccessToken, Finish, Issuance, IssuedToken, NewEvent, Offer, Redeem, RedeemRefusal,
};
use sigil_issuer::ports::{self, IssuanceStore, StoreFailure};

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

    async fn finish_credential(
        &self,
        nonces: &[(String, i64)],
        issuance: Issuance,
        offered: &[String],
        event: NewEvent,
    ) -> Result<Finish, StoreFailure> {
        Ok(Store::finish_credential(self, nonces, issuance, offered, event).await?)
    }
}
