//! Helpers for tests that need a database: this crate's tests and the end-to-end tests use them.
//!
//! PostgreSQL tests each get a fresh schema in a shared database, selected through the connection URL
//! (`?options=-c%20search_path%3D<schema>`, which sqlx turns into the `options` startup parameter), so they can run in
//! parallel without seeing each other's rows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection, SqlxPostgresConnector};

use crate::StoreError;
use crate::util::now_unix;

/// The PostgreSQL server used when [`POSTGRES_URL_ENV`] is unset (trust auth on localhost).
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Environment variable naming another PostgreSQL URL for tests.
pub const POSTGRES_URL_ENV: &str = "SIGIL_TEST_POSTGRES_URL";
/// Set this environment variable to `1` to skip the PostgreSQL half of the tests.
pub const SKIP_POSTGRES_ENV: &str = "SIGIL_TEST_SKIP_POSTGRES";

/// Prefix of the schemas this module creates.
const SCHEMA_PREFIX: &str = "sigil_t_";
/// Schemas older than this are left-overs of crashed tests and are dropped.
const STALE_AFTER_SECONDS: i64 = 6 * 3600;

static SEQ: AtomicU64 = AtomicU64::new(0);

/// The PostgreSQL URL tests use: [`POSTGRES_URL_ENV`] or [`DEFAULT_POSTGRES_URL`].
pub fn postgres_base_url() -> String {
    std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// Creates a fresh, empty schema and returns a URL whose connections use it as `search_path`.
///
/// Returns `None` only when [`SKIP_POSTGRES_ENV`] is `1`.
///
/// # Panics
///
/// When PostgreSQL is unreachable or the schema cannot be created, with a message that says how to start it: tests
/// must not pass silently without their PostgreSQL half.
pub async fn fresh_postgres_url() -> Option<String> {
    if std::env::var(SKIP_POSTGRES_ENV).is_ok_and(|v| v == "1") {
        return None;
    }
    let base = postgres_base_url();
    let db = match admin_connection(&base).await {
        Ok(db) => db,
        Err(e) => panic!(
            "PostgreSQL is unreachable for the tests ({e}). Start it with \
             `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
             (check with `pg_isready -h 127.0.0.1`), point {POSTGRES_URL_ENV} at a server that accepts \
             `postgres` with trust auth, or set {SKIP_POSTGRES_ENV}=1 to skip the PostgreSQL tests."
        ),
    };
    let now = now_unix();
    drop_stale_schemas(&db, now).await;
    let schema = format!(
        "{SCHEMA_PREFIX}{now}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    if let Err(e) = db
        .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
        .await
    {
        panic!("cannot create test schema {schema}: {e}");
    }
    let _ = db.close().await;
    Some(with_search_path(&base, &schema))
}

/// Drops the schema named in a URL returned by [`fresh_postgres_url`], with everything in it.
pub async fn drop_postgres_schema(url: &str) -> Result<(), StoreError> {
    let Some(schema) = schema_of(url) else {
        return Err(StoreError::InvalidUrl(
            "no test schema in the URL".to_owned(),
        ));
    };
    let db = admin_connection(url).await.map_err(StoreError::Connect)?;
    db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await?;
    let _ = db.close().await;
    Ok(())
}

/// Appends the `search_path` option to a PostgreSQL URL.
pub fn with_search_path(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// The test schema named in a URL built by [`with_search_path`], if it is one of ours.
fn schema_of(url: &str) -> Option<&str> {
    let start = url.find("search_path%3D")? + "search_path%3D".len();
    let rest = &url[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let schema = &rest[..end];
    schema.starts_with(SCHEMA_PREFIX).then_some(schema)
}

async fn admin_connection(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    SqlxPostgresConnector::connect(options).await
}

/// Best effort: drops schemas of earlier runs that did not clean up (a test that panicked).
async fn drop_stale_schemas(db: &DatabaseConnection, now: i64) {
    let Ok(rows) = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT nspname FROM pg_namespace WHERE nspname LIKE '{SCHEMA_PREFIX}%'"),
        ))
        .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "nspname") else {
            continue;
        };
        let created = name
            .strip_prefix(SCHEMA_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<i64>().ok());
        if created.is_some_and(|c| now - c > STALE_AFTER_SECONDS) {
            let _ = db
                .execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                .await;
        }
    }
}

/// The plan PostgreSQL picks for `sql` as a client prepares it, with parameter types `types` (OIDs, as in the
/// protocol's `Parse`; 0 leaves one to the server): a generic plan (the one a cached prepared statement runs for any
/// values) with sequential scans disabled, so that a `Seq Scan` left in it is a table no index could serve. Runs in
/// the schema of `url` (a URL from [`fresh_postgres_url`]).
pub async fn explain_prepared(url: &str, sql: &str, types: &[u32]) -> Result<String, StoreError> {
    let db = admin_connection(url).await.map_err(StoreError::Connect)?;
    let backend = db.get_database_backend();
    db.execute_unprepared("SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan")
        .await?;
    let mut names = Vec::new();
    for oid in types {
        if *oid == 0 {
            names.push("unknown".to_owned());
            continue;
        }
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT format_type({oid}, NULL)"),
            ))
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("no type {oid}")))?;
        names.push(row.try_get_by_index::<String>(0)?);
    }
    let declared = if names.is_empty() {
        String::new()
    } else {
        format!("({})", names.join(", "))
    };
    db.execute_unprepared(&format!("PREPARE explained{declared} AS {sql}"))
        .await?;
    let arguments = if types.is_empty() {
        String::new()
    } else {
        format!("({})", vec!["NULL"; types.len()].join(", "))
    };
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            format!("EXPLAIN EXECUTE explained{arguments}"),
        ))
        .await?;
    let mut plan = String::new();
    for row in rows {
        plan.push_str(&row.try_get_by_index::<String>(0)?);
        plan.push('\n');
    }
    let _ = db.close().await;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_round_trips_through_the_url() {
        let url = with_search_path("postgres://postgres@127.0.0.1:5432/test", "sigil_t_1_2_3");
        assert_eq!(
            url,
            "postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3Dsigil_t_1_2_3"
        );
        assert_eq!(schema_of(&url), Some("sigil_t_1_2_3"));
        assert_eq!(
            schema_of("postgres://x/y?options=-c%20search_path%3Dpublic"),
            None
        );
    }
}
