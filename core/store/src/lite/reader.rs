//! Hot-path reads of a SQLite file on the calling thread.
//!
//! A read by key takes microseconds when the pages are cached; handing it to
//! a sqlx worker thread and back costs two context switches and more than
//! the read itself. Each thread that reads keeps its own connection (WAL:
//! readers never block the writer nor each other), opened on first use and
//! closed when the thread ends. A read sees every batch the writer has
//! acknowledged.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, Row};
use sea_orm::Statement;
use sigil_metrics::Metrics;

use super::{bind_all, db_err, open};
use crate::StoreError;

/// Connections kept per thread (one per open store; tests open many).
const PER_THREAD: usize = 8;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static CONNECTIONS: RefCell<Vec<(u64, Connection)>> = const { RefCell::new(Vec::new()) };
}

/// Reads of one SQLite file.
#[derive(Debug)]
pub(crate) struct Reader {
    id: u64,
    path: PathBuf,
    busy_timeout: Duration,
    /// Each read's duration (operation `select`).
    metrics: Metrics,
}

impl Reader {
    /// Reads of the SQLite file at `path`; connections open on first use.
    pub(crate) fn new(path: PathBuf, busy_timeout: Duration, metrics: Metrics) -> Reader {
        Reader {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            path,
            busy_timeout,
            metrics,
        }
    }

    /// Runs the query `s` and decodes every row with `decode`.
    pub(crate) fn query<T>(
        &self,
        s: &Statement,
        mut decode: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        CONNECTIONS.with(|cell| {
            let mut list = cell.borrow_mut();
            let at = match list.iter().position(|(id, _)| *id == self.id) {
                Some(at) => at,
                None => {
                    let conn = open(&self.path, self.busy_timeout).map_err(|e| db_err(&e))?;
                    conn.pragma_update(None, "query_only", true)
                        .map_err(|e| db_err(&e))?;
                    if list.len() >= PER_THREAD {
                        list.remove(0);
                    }
                    list.push((self.id, conn));
                    list.len() - 1
                }
            };
            let conn = &list[at].1;
            let mut run = || -> rusqlite::Result<Vec<T>> {
                let mut stmt = conn.prepare_cached(&s.sql)?;
                bind_all(&mut stmt, s)?;
                let mut rows = stmt.raw_query();
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(decode(row)?);
                }
                Ok(out)
            };
            let started = Instant::now();
            let rows = run().map_err(|e| db_err(&e));
            self.metrics.db_query("select", started.elapsed());
            rows
        })
    }
}
