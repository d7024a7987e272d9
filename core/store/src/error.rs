//! Typed errors of the store.

use sea_orm::{DbErr, SqlErr};
use sigil_issuer::model::RedeemRefusal;

/// An error from the store that is not a business outcome.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is neither `sqlite:` nor `postgres:` (or `postgresql:`), or cannot be parsed.
    #[error("unsupported or malformed database URL: {0}")]
    InvalidUrl(String),
    /// The parent directory of a SQLite file could not be created.
    #[error("cannot create directory {path} for the SQLite database: {source}")]
    CreateDir {
        /// The directory that could not be created.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Connecting to the database failed.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] DbErr),
    /// Applying the schema migrations failed.
    #[error("database migration failed: {0}")]
    Migration(#[source] DbErr),
    /// A row with the same unique key already exists (for example an offer id or a code hash).
    #[error("duplicate {0}")]
    Duplicate(&'static str),
    /// A stored value could not be decoded (unknown status, malformed JSON, out-of-range number).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] DbErr),
}

impl StoreError {
    /// Maps a database error, turning unique-constraint violations into [`StoreError::Duplicate`].
    pub(crate) fn on_insert(what: &'static str, err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Duplicate(what),
            _ => StoreError::Database(err),
        }
    }
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        StoreError::Database(err)
    }
}

/// Why a pre-authorized code could not be redeemed.
///
/// Every variant but [`RedeemError::Store`] is a business outcome that the token endpoint maps to an OAuth error
/// (`invalid_grant` in most cases).
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    /// No offer in that tenant has that pre-authorized code hash.
    #[error("unknown pre-authorized code")]
    UnknownCode,
    /// The offer has expired.
    #[error("the offer has expired")]
    Expired,
    /// The offer was revoked.
    #[error("the offer was revoked")]
    Revoked,
    /// The code was already redeemed (or another redeemer won the race).
    #[error("the pre-authorized code was already used")]
    AlreadyUsed,
    /// The offer was invalidated after too many wrong transaction codes.
    #[error("the offer was invalidated after too many wrong transaction codes")]
    Invalidated,
    /// The offer has a transaction code and none was sent; this does not count as an attempt.
    #[error("a transaction code is required")]
    TxCodeRequired,
    /// A transaction code was sent but the offer has none.
    #[error("no transaction code was expected")]
    TxCodeNotExpected,
    /// The transaction code was wrong; the attempt was counted.
    ///
    /// `remaining` is the number of attempts left; `0` means this attempt used the last one and the offer is now
    /// `invalidated` (further attempts get [`RedeemError::Invalidated`]).
    #[error("wrong transaction code ({remaining} attempts left)")]
    WrongTxCode {
        /// Attempts left before the offer is invalidated.
        remaining: u32,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RedeemError {
    /// The refusal this is, as the token endpoint knows it; `None` for a store failure.
    pub fn refusal(&self) -> Option<RedeemRefusal> {
        Some(match self {
            RedeemError::UnknownCode => RedeemRefusal::UnknownCode,
            RedeemError::Expired => RedeemRefusal::Expired,
            RedeemError::Revoked => RedeemRefusal::Revoked,
            RedeemError::AlreadyUsed => RedeemRefusal::AlreadyUsed,
            RedeemError::Invalidated => RedeemRefusal::Invalidated,
            RedeemError::TxCodeRequired => RedeemRefusal::TxCodeRequired,
            RedeemError::TxCodeNotExpected => RedeemRefusal::TxCodeNotExpected,
            RedeemError::WrongTxCode { remaining } => RedeemRefusal::WrongTxCode {
                remaining: *remaining,
            },
            RedeemError::Store(_) => return None,
        })
    }
}

impl From<DbErr> for RedeemError {
    fn from(err: DbErr) -> Self {
        RedeemError::Store(StoreError::Database(err))
    }
}
