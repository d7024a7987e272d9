//! The admin offers API (`docs/openapi.json`): create, read, revoke, QR codes,
//! push to a wallet.

pub(crate) mod create;
mod links;
pub(crate) mod send;
pub(crate) mod validate;
pub(crate) mod view;

pub use create::{create_default, create_for_tenant};
pub use validate::{CreateOffer, TxCodeInput};
pub use view::{delete, get, qr_png, qr_svg};
