//! The `signing-key` resource: a per-call handle on an issuer key.

use sigil_keys::SharedSigner;
use wasmtime::component::Resource;

use crate::bindings::format::sigil::plugin::signing::{Host, HostSigningKey, SignError};
use crate::state::CallState;

/// What a `signing-key` handle points at inside the host.
#[derive(Debug)]
pub struct KeyHandle {
    signer: SharedSigner,
}

impl KeyHandle {
    /// A handle on `signer`.
    pub fn new(signer: SharedSigner) -> Self {
        Self { signer }
    }
}

impl CallState {
    fn key(&self, handle: &Resource<KeyHandle>) -> Option<&SharedSigner> {
        self.table.get(handle).ok().map(|h| &h.signer)
    }
}

impl Host for CallState {}

impl HostSigningKey for CallState {
    fn key_id(&mut self, handle: Resource<KeyHandle>) -> String {
        self.key(&handle)
            .map(|k| k.key_id().to_owned())
            .unwrap_or_default()
    }

    fn algorithm(&mut self, handle: Resource<KeyHandle>) -> String {
        self.key(&handle)
            .map(|k| k.algorithm().jose_name().to_owned())
            .unwrap_or_default()
    }

    fn cose_algorithm(&mut self, handle: Resource<KeyHandle>) -> i32 {
        self.key(&handle)
            .map(|k| k.algorithm().cose_id())
            .unwrap_or_default()
    }

    fn public_jwk(&mut self, handle: Resource<KeyHandle>) -> String {
        self.key(&handle)
            .map(|k| k.public_jwk().to_string())
            .unwrap_or_default()
    }

    fn certificate_chain(&mut self, handle: Resource<KeyHandle>) -> Vec<Vec<u8>> {
        self.key(&handle)
            .map(|k| k.certificate_chain().to_vec())
            .unwrap_or_default()
    }

    fn sign(&mut self, handle: Resource<KeyHandle>, data: Vec<u8>) -> Result<Vec<u8>, SignError> {
        let Some(key) = self.key(&handle).cloned() else {
            return Err(SignError::ExpiredHandle);
        };
        self.signatures += 1;
        key.sign(&data)
            .map_err(|e| SignError::Failed(e.to_string()))
    }

    fn drop(&mut self, handle: Resource<KeyHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}
