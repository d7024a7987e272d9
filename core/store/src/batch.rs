//! One SQLite transaction in one trip to the connection's worker thread.
//!
//! sqlx runs each SQLite connection on a thread of its own; every statement
//! is a round trip between that thread and the async task. Inside a
//! transaction those round trips happen while SQLite's single write lock is
//! held, so under load the lock is held for as long as the task waits for a
//! busy executor thread between statements, and every other writer waits
//! (busy-sleeps) behind it. A batch sends `BEGIN IMMEDIATE; …; COMMIT` as
//! one multi-statement query: sqlx prepares and steps every statement on the
//! worker thread, binding the values in order, and the lock is held only for
//! the time SQLite needs.
//!
//! The statements are built with sea-query (the same builder the rest of the
//! store uses), so values are bound, never spliced into the SQL.

use sea_orm::sqlx::{self, Sqlite, query::Query, sqlite::SqliteArguments};
use sea_orm::{DatabaseConnection, DbErr, RuntimeErr, Statement, Value};

use crate::StoreError;

/// How a batch ended.
#[derive(Debug)]
pub(crate) enum BatchOutcome {
    /// Committed, with the first column of each row the statements returned
    /// (`RETURNING 1`, `RETURNING idx`: an integer), in order.
    Committed(Vec<i64>),
    /// A statement hit a unique key: the whole batch was rolled back.
    RolledBack,
}

/// Run `statements` as one transaction (`BEGIN IMMEDIATE` … `COMMIT`) on a
/// pooled connection (SQLite without the writer thread: in memory). A
/// unique-key conflict rolls everything back and yields
/// [`BatchOutcome::RolledBack`].
pub(crate) async fn run(
    db: &DatabaseConnection,
    statements: &[Statement],
) -> Result<BatchOutcome, StoreError> {
    let mut sql = String::from("BEGIN IMMEDIATE;\n");
    let mut values: Vec<Value> = Vec::new();
    for s in statements {
        sql.push_str(&s.sql);
        sql.push_str(";\n");
        if let Some(v) = &s.values {
            values.extend(v.0.iter().cloned());
        }
    }
    sql.push_str("COMMIT;");
    let pool = db.get_sqlite_connection_pool();
    let mut conn = pool.acquire().await.map_err(db_err)?;
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for v in values {
        query = bind(query, v)?;
    }
    // Rows, not `rows_affected`: sqlx sums `sqlite3_changes()` over every
    // statement, and for BEGIN / COMMIT that is the last DML's count again.
    match query.fetch_all(&mut *conn).await {
        Ok(rows) => rows
            .iter()
            .map(|row| sqlx::Row::try_get::<i64, _>(row, 0))
            .collect::<Result<_, _>>()
            .map(BatchOutcome::Committed)
            .map_err(db_err),
        Err(e) => {
            let unique = e
                .as_database_error()
                .is_some_and(|d| d.is_unique_violation());
            // A failure after BEGIN leaves the transaction open on this
            // connection (unless SQLite ended it itself).
            let rolled_back = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            if let Err(r) = rolled_back
                && !r.to_string().contains("no transaction is active")
            {
                // Never hand a connection with an open transaction back to
                // the pool.
                conn.detach();
            }
            if unique {
                Ok(BatchOutcome::RolledBack)
            } else {
                Err(db_err(e))
            }
        }
    }
}

fn db_err(e: sqlx::Error) -> StoreError {
    StoreError::Database(DbErr::Exec(RuntimeErr::SqlxError(e.into())))
}

type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments>;

/// Bind one sea-query value (the kinds the store writes).
fn bind(q: SqliteQuery<'_>, v: Value) -> Result<SqliteQuery<'_>, StoreError> {
    Ok(match v {
        Value::String(s) => q.bind(s),
        Value::BigInt(n) => q.bind(n),
        Value::Int(n) => q.bind(n),
        Value::Bool(b) => q.bind(b),
        Value::Json(j) => q.bind(j.map(|j| j.to_string())),
        other => {
            return Err(StoreError::Corrupt(format!(
                "a batch cannot bind {other:?}"
            )));
        }
    })
}

/// `… RETURNING 1`: the statement yields a row when it changed one.
pub(crate) fn returning_one(mut s: Statement) -> Statement {
    s.sql.push_str(" RETURNING 1");
    s
}

/// Turn a one-row `INSERT … VALUES (…)` into `INSERT … SELECT … WHERE changes() = 1`: it inserts only when the
/// statement before it (in the same batch) changed exactly one row (SQLite).
pub(crate) fn if_previous_changed(s: Statement) -> Result<Statement, StoreError> {
    values_as_select(s, " WHERE changes() = 1")
}

/// A one-row `INSERT … VALUES (…)` made `INSERT … SELECT …` followed by
/// `tail` (a `WHERE` or a `FROM`).
pub(crate) fn values_as_select(mut s: Statement, tail: &str) -> Result<Statement, StoreError> {
    let at = s
        .sql
        .find(" VALUES (")
        .filter(|&at| s.sql.ends_with(')') && !s.sql[at..].contains("),"));
    let Some(at) = at else {
        return Err(StoreError::Corrupt(format!(
            "unexpected insert shape: {}",
            s.sql
        )));
    };
    let values = s.sql[at + " VALUES (".len()..s.sql.len() - 1].to_owned();
    s.sql = format!("{} SELECT {values}{tail}", &s.sql[..at]);
    Ok(s)
}
