//! [`Issuer`]: the protocol engine one server holds, wired to its ports.

use std::sync::Arc;

use sigil_settings::Settings;

use crate::codes::PreAuthorizedCodes;
use crate::nonce::NonceKey;
use crate::observe::Observe;
use crate::ports::Clock;
use crate::status_list::StatusLists;

/// The OpenID4VCI issuer: every endpoint's rules, over a store `S` and
/// plugins `P` (claim sources and formats). Tenants are passed per request.
#[derive(Debug)]
pub struct Issuer<S, P> {
    pub(crate) store: S,
    pub(crate) plugins: Arc<P>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) nonce_key: NonceKey,
    pub(crate) codes: PreAuthorizedCodes,
    pub(crate) clock: Arc<dyn Clock>,
    /// This instance's status list index pools and signed list tokens.
    pub(crate) status_lists: StatusLists,
    /// Told of every credential request's outcome and error answer.
    pub(crate) observer: Arc<dyn Observe>,
}

impl<S, P> Issuer<S, P> {
    /// An issuer over `store` and `plugins`, configured by `settings`;
    /// `offer_secret` derives pre-authorized codes and the `c_nonce` key.
    pub fn new(
        store: S,
        plugins: Arc<P>,
        settings: Arc<Settings>,
        offer_secret: &[u8],
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            plugins,
            settings,
            nonce_key: NonceKey::derive(offer_secret),
            codes: PreAuthorizedCodes::new(offer_secret),
            clock,
            status_lists: StatusLists::default(),
            observer: Arc::new(crate::observe::Unobserved),
        }
    }

    /// The same issuer, reporting its outcomes to `observer` (metrics).
    pub fn observed_by(mut self, observer: Arc<dyn Observe>) -> Self {
        self.observer = observer;
        self
    }

    /// The current time, Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The configuration.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The pre-authorized code of offer `offer_id`.
    pub fn pre_authorized_code(&self, offer_id: &str) -> String {
        self.codes.code(offer_id)
    }
}
