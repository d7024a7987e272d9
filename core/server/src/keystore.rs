//! The key folder moved to [`sigil_keys::folder`] and
//! [`sigil_keys::keyring`]; this re-export keeps `crate::keystore::check_chain`
//! working for the admin offer checks until they call
//! [`sigil_keys::folder::check_chain`] themselves.

pub use sigil_keys::folder::check_chain;
