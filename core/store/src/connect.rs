//! Opening the database: URL checks, SQLite tuning, pool sizes and migrations.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, SqlxPostgresConnector,
    SqlxSqliteConnector, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use sigil_metrics::Metrics;

use crate::StoreError;
use crate::batch::BatchOutcome;
use crate::lite::{Reader, Writer};
use crate::migration::Migrator;

/// How long a SQLite connection waits for a lock held by another connection before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections in a SQLite pool: WAL lets readers run beside the one writer.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
/// How long to wait for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The pool of a PostgreSQL store (SQLite keeps its own: one writer thread
/// and a few readers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOptions {
    /// Connections the pool may open.
    pub max_connections: u32,
    /// How long a caller waits for a connection before failing.
    pub acquire_timeout: Duration,
    /// The server cancels a statement running longer (`statement_timeout`);
    /// `None` for no limit.
    pub statement_timeout: Option<Duration>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 32,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Some(Duration::from_secs(30)),
        }
    }
}

/// How busy the connection pool is (for readiness).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open.
    pub open: u32,
    /// Of those, idle.
    pub idle: u32,
    /// Connections the pool may open.
    pub max: u32,
}

impl PoolStatus {
    /// Connections in use, as a share of the most the pool may open.
    pub fn saturation(&self) -> f64 {
        f64::from(self.open.saturating_sub(self.idle)) / f64::from(self.max.max(1))
    }
}

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// An embedded SQLite file (WAL mode).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The storage of Sigil: a pool of connections to SQLite or PostgreSQL.
///
/// Cheap to clone (clones share the pool). Every single-use rule is enforced by an atomic conditional update in the
/// database, so several `Store`s (in one process or many, on one PostgreSQL) behave as one.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    backend: Backend,
    /// The group-commit writer of a SQLite file (ADR 0010); `None` for
    /// PostgreSQL, an in-memory or a read-only SQLite database.
    writer: Option<Arc<Writer>>,
    /// Hot-path reads of a SQLite file on the calling thread (ADR 0010).
    pub(crate) reader: Option<Arc<Reader>>,
    /// Where statement durations and the writer's queue depth are recorded.
    metrics: Metrics,
    /// The most connections the pool may open.
    max_connections: u32,
}

impl Store {
    /// Connects to `url` and applies pending migrations.
    ///
    /// Accepted URLs:
    /// - `sqlite://path/to/file.db` (relative) or `sqlite:///abs/path.db`, optionally with `?mode=rwc`: the file and
    ///   its parent directory are created when missing (unless the URL sets `mode=ro` or `mode=rw`). The database runs
    ///   in WAL mode with `synchronous=NORMAL`, foreign keys on and a 5 s busy timeout. `sqlite::memory:` works too
    ///   (one connection, for tests).
    /// - `postgres://user[:password]@host[:port]/db[?options=-c%20search_path%3Dschema]` (or `postgresql://`).
    ///
    /// On PostgreSQL, migrations run in one transaction under an advisory lock scoped to the current schema, so
    /// instances starting together do not race.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Self::connect_with_metrics(url, &Metrics::disabled()).await
    }

    /// [`Store::connect`], recording into `metrics` the duration of every
    /// statement (by operation: `select`, `insert`, `update`, `delete`,
    /// `other`, never the SQL text) and of every write transaction
    /// (`batch`), and the SQLite writer's queue depth.
    pub async fn connect_with_metrics(url: &str, metrics: &Metrics) -> Result<Store, StoreError> {
        Self::connect_with(url, metrics, PoolOptions::default()).await
    }

    /// [`Store::connect_with_metrics`] with the PostgreSQL pool sized and
    /// timed by `pool`.
    pub async fn connect_with(
        url: &str,
        metrics: &Metrics,
        pool: PoolOptions,
    ) -> Result<Store, StoreError> {
        let backend = backend_of(url)?;
        let mut writer_path = None;
        let mut db = match backend {
            Backend::Sqlite => {
                let in_memory = is_sqlite_in_memory(url);
                if in_memory {
                    // One connection: the database lives and dies with it.
                    let db = connect_sqlite(url, 1).await?;
                    migrate(&db, backend).await?;
                    db
                } else {
                    create_parent_dir(url)?;
                    if !url.contains("mode=ro") {
                        writer_path = Some(sqlite_file(url)?);
                    }
                    // Migrations on a connection of their own, closed before
                    // the pool opens: a SQLite connection caches the schema,
                    // and one that read it before a migration's last index
                    // existed failed an upsert on that index ("ON CONFLICT
                    // clause does not match any PRIMARY KEY or UNIQUE
                    // constraint": SQLite does not re-check the schema on
                    // that error).
                    let setup = connect_sqlite(url, 1).await?;
                    migrate(&setup, backend).await?;
                    setup.close().await.map_err(StoreError::Migration)?;
                    connect_sqlite(url, SQLITE_MAX_CONNECTIONS).await?
                }
            }
            Backend::Postgres => {
                let db = SqlxPostgresConnector::connect(postgres_options(url, pool))
                    .await
                    .map_err(StoreError::Connect)?;
                migrate(&db, backend).await?;
                db
            }
        };
        if metrics.is_enabled() {
            let m = metrics.clone();
            db.set_metric_callback(move |info| {
                m.db_query(
                    sigil_metrics::sql_operation(&info.statement.sql),
                    info.elapsed,
                );
            });
        }
        let (writer, reader) = match writer_path {
            Some(path) => (
                Some(Arc::new(Writer::start(
                    &path,
                    SQLITE_BUSY_TIMEOUT,
                    metrics.clone(),
                )?)),
                Some(Arc::new(Reader::new(
                    path,
                    SQLITE_BUSY_TIMEOUT,
                    metrics.clone(),
                ))),
            ),
            None => (None, None),
        };
        Ok(Store {
            db,
            backend,
            writer,
            reader,
            metrics: metrics.clone(),
            max_connections: match backend {
                Backend::Postgres => pool.max_connections,
                Backend::Sqlite => SQLITE_MAX_CONNECTIONS,
            },
        })
    }

    /// How busy the connection pool is.
    pub fn pool_status(&self) -> PoolStatus {
        let (open, idle) = match self.backend {
            Backend::Postgres => {
                let p = self.db.get_postgres_connection_pool();
                (p.size(), u32::try_from(p.num_idle()).unwrap_or(u32::MAX))
            }
            Backend::Sqlite => {
                let p = self.db.get_sqlite_connection_pool();
                (p.size(), u32::try_from(p.num_idle()).unwrap_or(u32::MAX))
            }
        };
        PoolStatus {
            open,
            idle,
            max: self.max_connections,
        }
    }

    /// Runs `statements` (built for SQLite) as one all-or-nothing transaction:
    /// through the group-commit writer for a SQLite file, else as one batch
    /// on a pooled connection. A unique-key violation rolls the batch back
    /// and yields [`BatchOutcome::RolledBack`].
    pub(crate) async fn write_batch(
        &self,
        statements: Vec<sea_orm::Statement>,
    ) -> Result<BatchOutcome, StoreError> {
        let started = Instant::now();
        let outcome = match &self.writer {
            Some(w) => w.write(statements).await,
            None => crate::batch::run(&self.db, &statements).await,
        };
        self.metrics.db_query("batch", started.elapsed());
        outcome
    }

    /// The database behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the store when the instance stops: on a SQLite file, every
    /// batch queued on the group-commit writer is committed first (an empty
    /// batch queued last is answered only after them) and the WAL is folded
    /// into the database file; then the pool's connections are closed.
    /// Calls after this fail.
    pub async fn close(&self) -> Result<(), StoreError> {
        if let Some(w) = &self.writer {
            w.write(Vec::new()).await?;
            self.db
                .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .map_err(StoreError::Database)?;
        }
        self.db.clone().close().await.map_err(StoreError::Database)
    }

    /// Checks that the database answers (for a readiness probe); on a SQLite file also that the writer thread
    /// commits (an empty batch).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await.map_err(StoreError::Database)?;
        if let Some(w) = &self.writer {
            w.write(Vec::new()).await?;
        }
        Ok(())
    }
}

/// Tells the backend from the URL scheme.
fn backend_of(url: &str) -> Result<Backend, StoreError> {
    if url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        // Never echo the URL: it may carry a password.
        Err(StoreError::InvalidUrl(
            "expected a sqlite: or postgres:// URL".to_owned(),
        ))
    }
}

fn is_sqlite_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The path of the SQLite file of `url`.
fn sqlite_file(url: &str) -> Result<std::path::PathBuf, StoreError> {
    let options =
        SqliteConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
    Ok(options.get_filename().to_path_buf())
}

/// Creates the directory that will hold the SQLite file, if it is missing.
fn create_parent_dir(url: &str) -> Result<(), StoreError> {
    let file = sqlite_file(url)?;
    let Some(parent) = file.parent() else {
        return Ok(());
    };
    if parent.as_os_str().is_empty() || Path::new(parent).is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
        path: parent.display().to_string(),
        source,
    })
}

/// Pool options common to both backends.
fn options(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    // Statement logging would put SQL text in the application log; keep the log for the caller to decide.
    options.sqlx_logging(false).acquire_timeout(ACQUIRE_TIMEOUT);
    options
}

/// A pooled PostgreSQL connection idle this long is pinged before use.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);

/// The pool of a PostgreSQL store: sized and timed by `pool`. A connection
/// is pinged before use only after it sat idle (a ping on every use is a
/// round trip per statement); one that broke while busy fails its statement
/// and leaves the pool.
fn postgres_options(url: &str, pool: PoolOptions) -> ConnectOptions {
    let mut options = options(url);
    options
        .max_connections(pool.max_connections)
        .acquire_timeout(pool.acquire_timeout)
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR);
    if let Some(limit) = pool.statement_timeout {
        options.statement_timeout(limit);
    }
    options
}

/// A pool of at most `connections` to the SQLite database at `url`: WAL,
/// `synchronous=NORMAL`, busy timeout, foreign keys; the file is created
/// unless the URL sets a `mode`.
async fn connect_sqlite(url: &str, connections: u32) -> Result<DatabaseConnection, StoreError> {
    let create = !url.contains("mode=");
    let mut options = options(url);
    options.max_connections(connections);
    options.map_sqlx_sqlite_opts(move |o| {
        let o = o
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        if create { o.create_if_missing(true) } else { o }
    });
    SqlxSqliteConnector::connect(options)
        .await
        .map_err(StoreError::Connect)
}

/// Applies pending migrations.
async fn migrate(db: &DatabaseConnection, backend: Backend) -> Result<(), StoreError> {
    match backend {
        Backend::Sqlite => Migrator::up(db, None).await.map_err(StoreError::Migration),
        Backend::Postgres => {
            let txn = db.begin().await.map_err(StoreError::Migration)?;
            // Serialise concurrent starters on the same schema; released at commit or rollback.
            txn.execute_unprepared(
                "SELECT pg_advisory_xact_lock(hashtext('sigil-store-migrate:' || current_schema()))",
            )
            .await
            .map_err(StoreError::Migration)?;
            Migrator::up(&txn, None)
                .await
                .map_err(StoreError::Migration)?;
            txn.commit().await.map_err(StoreError::Migration)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sea_orm::{ConnectionTrait, Statement};

    use super::*;

    async fn scalar(store: &Store, sql: &str) -> String {
        let row = store
            .db
            .query_one_raw(Statement::from_string(store.db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<String>(0)
            .or_else(|_| row.try_get_by_index::<i64>(0).map(|v| v.to_string()))
            .or_else(|_| row.try_get_by_index::<i32>(0).map(|v| v.to_string()))
            .unwrap()
    }

    #[tokio::test]
    async fn sqlite_runs_in_wal_with_normal_sync_and_busy_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/dir/s.db?mode=rwc", dir.path().display());
        let store = Store::connect(&url).await.unwrap();
        assert_eq!(scalar(&store, "PRAGMA journal_mode").await, "wal");
        // 1 = NORMAL
        assert_eq!(scalar(&store, "PRAGMA synchronous").await, "1");
        assert_eq!(scalar(&store, "PRAGMA busy_timeout").await, "5000");
        assert_eq!(scalar(&store, "PRAGMA foreign_keys").await, "1");
    }

    /// The value of the sample `sample` (name and labels) in `text`.
    fn sample(text: &str, sample: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
            .map(|v| v.parse().unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn statements_reads_and_write_batches_are_timed_by_operation() {
        use sea_orm::EntityTrait;

        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/m.db?mode=rwc", dir.path().display());
        let metrics = Metrics::new();
        let store = Store::connect_with_metrics(&url, &metrics).await.unwrap();
        let count = |operation: &str| {
            sample(
                &metrics.render().unwrap(),
                &format!("sigil_db_query_duration_seconds_count{{operation=\"{operation}\"}}"),
            )
            .unwrap_or_default()
        };
        let (selects, batches, others) = (count("select"), count("batch"), count("other"));
        // A read on the calling thread (the SQLite reader).
        store
            .offer_rows(crate::entities::offer::Entity::find())
            .await
            .unwrap();
        // A statement through sea-orm.
        scalar(&store, "PRAGMA journal_mode").await;
        // A write batch through the group-commit writer.
        store.write_batch(Vec::new()).await.unwrap();
        assert_eq!(count("select"), selects + 1.0);
        assert_eq!(count("other"), others + 1.0);
        assert_eq!(count("batch"), batches + 1.0);
        let text = metrics.render().unwrap();
        assert_eq!(
            sample(&text, "sigil_sqlite_writer_queue_depth"),
            Some(0.0),
            "answered batches leave the queue: {text}"
        );
        assert!(!text.contains("SELECT"), "never the SQL text: {text}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_queue_depth_counts_batches_waiting_for_their_answer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let metrics = Metrics::new();
        let store = Store::connect_with_metrics(&url, &metrics).await.unwrap();
        let depth = || {
            sample(
                &metrics.render().unwrap(),
                "sigil_sqlite_writer_queue_depth",
            )
        };
        // Another connection holds the write lock: the writer waits.
        let blocker = rusqlite::Connection::open(&path).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let waiting: Vec<_> = (0..2)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.write_batch(Vec::new()).await })
            })
            .collect();
        let mut seen = None;
        for _ in 0..200 {
            seen = depth();
            if seen == Some(2.0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(seen, Some(2.0));
        blocker.execute_batch("COMMIT").unwrap();
        for w in waiting {
            w.await.unwrap().unwrap();
        }
        assert_eq!(depth(), Some(0.0));
    }

    #[tokio::test]
    async fn postgres_url_option_sets_search_path() {
        let Some(url) = crate::testing::fresh_postgres_url().await else {
            return;
        };
        let store = Store::connect(&url).await.unwrap();
        let schema = scalar(&store, "SELECT current_schema()::text").await;
        assert!(schema.starts_with("sigil_t_"), "{schema}");
        assert!(url.ends_with(&schema), "{url} vs {schema}");
        let tables = scalar(
            &store,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .await;
        // offers, access_tokens, nonces, issuances, events, authorizations, credentials,
        // status_lists, status_indices, deferred_transactions, event_cursors, event_deliveries,
        // leases, seaql_migrations
        assert_eq!(tables, "14");
        crate::testing::drop_postgres_schema(&url).await.unwrap();
    }
}
