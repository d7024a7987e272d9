//! SQLite without sqlx on the hot path (ADR 0010): a group-commit writer
//! thread, and reads on a connection of the calling thread.
//!
//! Both use `rusqlite` on the same file, linked against the same bundled
//! SQLite as sqlx. Statements are still built by sea-query (bound values,
//! never spliced); migrations and every other query stay on sea-orm.

mod reader;
mod rows;
mod writer;

use std::path::Path;
use std::time::Duration;

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OpenFlags};
use sea_orm::{DbBackend, DbErr, QueryTrait, RuntimeErr, Select, SelectTwo, Statement, Value};

pub(crate) use reader::Reader;
pub(crate) use writer::Writer;

use crate::entities::{access_token, offer};
use crate::{Store, StoreError};

/// Prepared statements kept per connection, by SQL text (a handful of shapes).
const STATEMENT_CACHE: usize = 64;

impl Store {
    /// The offers `select` finds: on a SQLite file read on the calling
    /// thread, else through sea-orm.
    pub(crate) async fn offer_rows(
        &self,
        select: Select<offer::Entity>,
    ) -> Result<Vec<offer::Model>, StoreError> {
        match &self.reader {
            Some(r) => r.query(&select.build(DbBackend::Sqlite), |row| {
                rows::offer_at(row, 0)
            }),
            None => Ok(select.all(&self.db).await?),
        }
    }

    /// The access tokens `select` finds, each with its offer (as
    /// [`Store::offer_rows`]).
    pub(crate) async fn access_token_rows(
        &self,
        select: SelectTwo<access_token::Entity, offer::Entity>,
    ) -> Result<Vec<(access_token::Model, Option<offer::Model>)>, StoreError> {
        match &self.reader {
            Some(r) => r.query(&select.build(DbBackend::Sqlite), |row| {
                let token = rows::access_token_at(row, 0)?;
                let offer = match row.get_ref(rows::ACCESS_TOKEN_COLUMNS.len())? {
                    rusqlite::types::ValueRef::Null => None,
                    _ => Some(rows::offer_at(row, rows::ACCESS_TOKEN_COLUMNS.len())?),
                };
                Ok((token, offer))
            }),
            None => Ok(select.all(&self.db).await?),
        }
    }
}

/// Opens a connection to the (created, migrated, WAL-mode) SQLite file at
/// `path` with the pragmas of the sqlx pool.
fn open(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // No `mmap_size`: the file grows under load, and a memory-mapped reader
    // re-maps it (munmap: a TLB shoot-down on every core) at the start of
    // every read after a growth.
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    Ok(conn)
}

/// Binds the values of `s`, in order.
fn bind_all(stmt: &mut rusqlite::CachedStatement<'_>, s: &Statement) -> rusqlite::Result<()> {
    if let Some(values) = &s.values {
        for (i, v) in values.0.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, Bound(v))?;
        }
    }
    Ok(())
}

/// A sea-query value bound as SQLite stores it through sqlx (JSON as text,
/// booleans as integers), so rows read back through sea-orm decode alike.
struct Bound<'a>(&'a Value);

impl rusqlite::ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as V;
        let owned = |v: Option<V>| Ok(ToSqlOutput::Owned(v.unwrap_or(V::Null)));
        match self.0 {
            Value::String(s) => Ok(match s {
                Some(s) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(s.as_bytes())),
                None => ToSqlOutput::Owned(V::Null),
            }),
            Value::BigInt(n) => owned(n.map(V::Integer)),
            Value::Int(n) => owned(n.map(|n| V::Integer(i64::from(n)))),
            Value::Bool(b) => owned(b.map(|b| V::Integer(i64::from(b)))),
            Value::Json(j) => owned(j.as_ref().map(|j| V::Text(j.to_string()))),
            other => Err(rusqlite::Error::ToSqlConversionFailure(
                format!("SQLite cannot bind {other:?} here").into(),
            )),
        }
    }
}

fn db_err(e: &rusqlite::Error) -> StoreError {
    StoreError::Database(DbErr::Exec(RuntimeErr::Internal(format!("SQLite: {e}"))))
}
