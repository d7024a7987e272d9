//! The SQLite writer: one thread that owns the write connection and commits
//! the write batches of concurrent requests together (group commit, ADR 0010).
//!
//! sqlx runs every SQLite connection on a thread of its own, and every
//! statement is a round trip between that thread and the async task; several
//! pooled connections also compete for SQLite's one write lock, and a loser
//! sleeps in SQLite's busy handler while the CPU idles. Here a single thread
//! holds a `rusqlite` connection to the same file (the same SQLite library,
//! linked once) and takes batches from a queue. Whatever is queued when it
//! wakes up is run in ONE transaction, each batch inside a savepoint of its
//! own: a batch that fails (a unique key already taken, say) rolls back only
//! itself, and the others commit. Pages touched by several batches are
//! written to the WAL once, and no batch waits for a lock.
//!
//! A batch is acknowledged only after the COMMIT that holds it succeeded.
//! The statements are the ones the rest of the store builds with sea-query,
//! with bound values; prepared statements are cached by SQL text.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use sea_orm::{DbErr, Statement};
use sigil_metrics::Metrics;
use tokio::sync::oneshot;

use super::{bind_all, db_err, open};
use crate::StoreError;
use crate::batch::BatchOutcome;

/// Most batches committed in one transaction.
const MAX_GROUP: usize = 256;
/// Bytes of WAL file kept when the WAL starts over (64 MiB).
const JOURNAL_SIZE_LIMIT: i64 = 64 << 20;
/// How often the WAL is checkpointed at the latest.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// WAL frames (pages of 4 KiB) after which a checkpoint runs at once
/// (16 MiB): under load the WAL is checkpointed by volume, not by the clock.
/// (8 MiB cost the flow benchmark ~10 %: twice the passes and their syncs.)
const CHECKPOINT_AFTER_FRAMES: i32 = 4096;
/// WAL frames past which the writer itself checkpoints and waits for slow
/// readers before it commits more (32 MiB): the hard cap of the WAL.
const RESTART_AFTER_FRAMES: i32 = 8192;
/// How long the writer waits for slow readers at the cap; if they are
/// slower, it writes on and tries again 8 MiB later.
const RESTART_WAIT: Duration = Duration::from_millis(250);

thread_local! {
    /// Frames in the WAL after the writer thread's last commit (set by the
    /// connection's WAL hook, which runs on the committing thread).
    static WAL_FRAMES: Cell<i32> = const { Cell::new(0) };
}

struct Job {
    statements: Vec<Statement>,
    reply: oneshot::Sender<Result<BatchOutcome, StoreError>>,
}

/// Handle to the writer thread; the thread ends when the last handle is
/// dropped, and the checkpoint thread with it.
#[derive(Debug)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
    /// Counts the batches queued and not yet answered (queue depth).
    metrics: Metrics,
}

impl Writer {
    /// Opens a write connection to the SQLite file at `path` (already
    /// created and migrated) and starts the writer thread.
    pub(crate) fn start(
        path: &Path,
        busy_timeout: Duration,
        metrics: Metrics,
    ) -> Result<Writer, StoreError> {
        let conn = open(path, busy_timeout).map_err(|e| db_err(&e))?;
        // Checkpoints run on a thread of their own (below), not inside the
        // writer's commits.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(|e| db_err(&e))?;
        // When the WAL starts over, a file that grew past this is cut back.
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
            .map_err(|e| db_err(&e))?;
        // After `wal_autocheckpoint`, which replaces the WAL hook.
        conn.wal_hook(Some(|_, frames| {
            WAL_FRAMES.with(|f| f.set(frames));
            Ok(())
        }));
        let checkpoints = open(path, busy_timeout).map_err(|e| db_err(&e))?;
        let (queue, jobs) = mpsc::channel::<Job>();
        // Wakes the checkpoint thread early; closed when the writer ends.
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let backfilled = Arc::new(AtomicBool::new(false));
        let flag = backfilled.clone();
        spawn("sigil-sqlite-writer", move || {
            run(&conn, &jobs, &flag, &wake, busy_timeout)
        })?;
        spawn("sigil-sqlite-checkpoint", move || {
            checkpoint_every(&checkpoints, &woken, &backfilled)
        })?;
        Ok(Writer { queue, metrics })
    }

    /// Runs `statements` as one all-or-nothing batch, committed together with
    /// whatever other batches are waiting. A unique-key violation in any of
    /// them rolls back this batch only and yields [`BatchOutcome::RolledBack`].
    pub(crate) async fn write(
        &self,
        statements: Vec<Statement>,
    ) -> Result<BatchOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.metrics.sqlite_queue_changed(1);
        let _answered = Answered(&self.metrics);
        self.queue
            .send(Job { statements, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Takes a batch off the queue depth when its caller has the answer (or
/// gave up waiting).
struct Answered<'a>(&'a Metrics);

impl Drop for Answered<'_> {
    fn drop(&mut self) {
        self.0.sqlite_queue_changed(-1);
    }
}

fn stopped() -> StoreError {
    StoreError::Database(DbErr::Custom("the SQLite writer thread has stopped".into()))
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), StoreError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(|_| ())
        .map_err(|e| {
            StoreError::Database(DbErr::Custom(format!(
                "cannot start the thread {name}: {e}"
            )))
        })
}

/// Copies the WAL into the database file (`PASSIVE`: never waits for the
/// writer or readers) every [`CHECKPOINT_EVERY`], or at once when the
/// writer wakes it, until the writer ends; after each pass it tells the
/// writer (`backfilled`).
///
/// SQLite starts the WAL over from its first frame only when a write begins
/// with every frame copied and no reader on an old frame; otherwise, with the
/// writer always ahead of this thread, the WAL file grows without end (1.3 GB
/// in 12 s of the flow benchmark). So after each pass the writer copies the
/// few frames it appended meanwhile itself. That is enough while readers are
/// quick; see [`run`] for the cap when they are not.
fn checkpoint_every(conn: &Connection, woken: &mpsc::Receiver<()>, backfilled: &AtomicBool) {
    while let Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) = woken.recv_timeout(CHECKPOINT_EVERY) {
        match checkpoint(conn, "PASSIVE") {
            Ok(_) => backfilled.store(true, Ordering::Release),
            Err(e) => {
                // Retried at the next tick; SQLite keeps the WAL meanwhile.
                tracing::warn!(error = %e, "SQLite WAL checkpoint failed");
            }
        }
    }
}

/// Runs `PRAGMA wal_checkpoint(<mode>)`; true when it copied every frame
/// and, for `RESTART`, every reader has left the WAL.
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<bool> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok(row.get::<_, i64>(0)? == 0)
    })
}

/// The writer thread: commits the queued jobs group by group.
///
/// Before a group, it copies the frames the checkpoint thread missed when a
/// pass has just ended; after a group, it wakes the checkpoint thread when
/// the WAL holds [`CHECKPOINT_AFTER_FRAMES`]. A reader preempted in the
/// middle of a read (a busy machine) still keeps the WAL from starting over,
/// and the first, clock-only version reached 64 MiB on a busy CI machine.
/// So at [`RESTART_AFTER_FRAMES`] the writer checkpoints itself with
/// `RESTART`, which waits (at most [`RESTART_WAIT`]) for such readers and
/// makes the next write start the WAL over: back-pressure, as SQLite's own
/// auto-checkpoint applies, but only in this rare case.
fn run(
    conn: &Connection,
    jobs: &mpsc::Receiver<Job>,
    backfilled: &AtomicBool,
    wake: &mpsc::SyncSender<()>,
    busy_timeout: Duration,
) {
    let mut restart_at = RESTART_AFTER_FRAMES;
    while let Ok(first) = jobs.recv() {
        if backfilled.swap(false, Ordering::Acquire) {
            // Then the next BEGIN can start the WAL over.
            if let Err(e) = checkpoint(conn, "PASSIVE") {
                tracing::warn!(error = %e, "SQLite WAL checkpoint failed");
            }
        }
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let results = commit_group(conn, &group);
        for (job, result) in group.into_iter().zip(results) {
            // The caller may have gone (request cancelled): nothing to do.
            let _ = job.reply.send(result);
        }
        let frames = WAL_FRAMES.with(Cell::get);
        if frames < CHECKPOINT_AFTER_FRAMES {
            restart_at = RESTART_AFTER_FRAMES;
        } else if frames >= restart_at {
            restart_at = match restart(conn, busy_timeout) {
                Ok(true) => RESTART_AFTER_FRAMES,
                Ok(false) => frames.saturating_add(CHECKPOINT_AFTER_FRAMES / 2),
                Err(e) => {
                    tracing::warn!(error = %e, "SQLite WAL checkpoint failed");
                    frames.saturating_add(CHECKPOINT_AFTER_FRAMES / 2)
                }
            };
        } else if !backfilled.load(Ordering::Acquire) {
            // A full channel: a wake is already pending.
            let _ = wake.try_send(());
        }
    }
}

/// `RESTART` checkpoint, retried while the checkpoint thread is in a pass
/// (its lock is never waited for) or readers hold old frames, for about
/// [`RESTART_WAIT`] in all.
fn restart(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<bool> {
    let deadline = Instant::now() + RESTART_WAIT;
    // Each attempt waits for readers a fifth of the budget at most.
    conn.busy_timeout(RESTART_WAIT / 5)?;
    let done = loop {
        match checkpoint(conn, "RESTART") {
            Ok(false) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            other => break other,
        }
    };
    conn.busy_timeout(busy_timeout)?;
    done
}

/// Runs every job of `group` in one transaction and returns each job's
/// result, final only once the transaction is committed.
fn commit_group(conn: &Connection, group: &[Job]) -> Vec<Result<BatchOutcome, StoreError>> {
    let fail_all = |e: &rusqlite::Error| group.iter().map(|_| Err(db_err(e))).collect();
    if let Err(e) = exec_simple(conn, "BEGIN IMMEDIATE") {
        return fail_all(&e);
    }
    let mut results = Vec::with_capacity(group.len());
    for job in group {
        // A panic (a bug) fails its own job only; the writer goes on.
        let result = panic::catch_unwind(AssertUnwindSafe(|| run_job(conn, &job.statements)))
            .unwrap_or_else(|payload| Err(job_panicked(conn, payload.as_ref())));
        if conn.is_autocommit() {
            // SQLite ended the whole transaction on a hard error (I/O,
            // disk full): everything before is gone with it.
            let e = result.err().unwrap_or_else(|| {
                StoreError::Database(DbErr::Custom(
                    "the SQLite transaction ended unexpectedly".into(),
                ))
            });
            let text = e.to_string();
            let mut all: Vec<Result<BatchOutcome, StoreError>> = results
                .into_iter()
                .map(|_| Err(StoreError::Database(DbErr::Custom(text.clone()))))
                .collect();
            all.push(Err(e));
            // The rest of the group gets a transaction of its own.
            let rest = &group[all.len()..];
            if !rest.is_empty() {
                all.extend(commit_group(conn, rest));
            }
            return all;
        }
        results.push(result);
    }
    match exec_simple(conn, "COMMIT") {
        Ok(()) => results,
        Err(e) => {
            let _ = exec_simple(conn, "ROLLBACK");
            fail_all(&e)
        }
    }
}

/// One job inside its savepoint: all its statements, or none.
fn run_job(conn: &Connection, statements: &[Statement]) -> Result<BatchOutcome, StoreError> {
    exec_simple(conn, "SAVEPOINT job").map_err(|e| db_err(&e))?;
    let mut returned = Vec::new();
    for s in statements {
        match exec(conn, s, &mut returned) {
            Ok(()) => {}
            Err(e) => {
                if !conn.is_autocommit() {
                    exec_simple(conn, "ROLLBACK TO job").map_err(|e| db_err(&e))?;
                    exec_simple(conn, "RELEASE job").map_err(|e| db_err(&e))?;
                }
                return if is_unique(&e) {
                    Ok(BatchOutcome::RolledBack)
                } else {
                    Err(db_err(&e))
                };
            }
        }
    }
    exec_simple(conn, "RELEASE job").map_err(|e| db_err(&e))?;
    Ok(BatchOutcome::Committed(returned))
}

/// Undoes what a job that panicked wrote (its savepoint) and turns the
/// panic into the job's error.
fn job_panicked(conn: &Connection, payload: &(dyn std::any::Any + Send)) -> StoreError {
    if !conn.is_autocommit() {
        // Fails harmlessly when the panic came before the savepoint.
        let _ = exec_simple(conn, "ROLLBACK TO job");
        let _ = exec_simple(conn, "RELEASE job");
    }
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    tracing::error!(%message, "a SQLite write panicked and was rolled back");
    StoreError::Database(DbErr::Custom(format!(
        "the SQLite writer failed on this write (a bug: {message}); nothing of it was stored"
    )))
}

fn is_unique(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

fn exec_simple(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.raw_execute().map(|_| ())
}

/// Runs one statement with its values bound in order; appends the first
/// column (an integer) of each row it returned (`RETURNING`) to `returned`.
fn exec(conn: &Connection, s: &Statement, returned: &mut Vec<i64>) -> rusqlite::Result<()> {
    #[cfg(test)]
    if s.sql == tests::PANIC_SQL {
        panic!("injected by a test");
    }
    let mut stmt = conn.prepare_cached(&s.sql)?;
    bind_all(&mut stmt, s)?;
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next()? {
        returned.push(row.get(0)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sea_orm::DbBackend;

    use super::*;

    /// A statement the writer panics on (tests only).
    pub(super) const PANIC_SQL: &str = "SELECT 'sigil-test-panic'";

    fn statement(sql: &str) -> Statement {
        Statement::from_string(DbBackend::Sqlite, sql)
    }

    fn count(path: &Path) -> i64 {
        let conn = Connection::open(path).unwrap();
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_fails_alone_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER)")
            .unwrap();
        let writer = Writer::start(&path, Duration::from_secs(5), Metrics::disabled()).unwrap();

        // Alone: the error says what happened and that nothing was stored.
        let e = writer
            .write(vec![
                statement("INSERT INTO t VALUES (1)"),
                statement(PANIC_SQL),
            ])
            .await
            .unwrap_err();
        assert!(e.to_string().contains("nothing of it was stored"), "{e}");
        assert_eq!(count(&path), 0);

        // Beside good writes, likely in one group: only it fails.
        let bad = writer.write(vec![
            statement("INSERT INTO t VALUES (2)"),
            statement(PANIC_SQL),
        ]);
        let good = async {
            let mut outcomes = Vec::new();
            for x in 3..8 {
                outcomes.push(
                    writer
                        .write(vec![statement(&format!("INSERT INTO t VALUES ({x})"))])
                        .await,
                );
            }
            outcomes
        };
        let (bad, good) = tokio::join!(bad, good);
        assert!(bad.is_err());
        for outcome in good {
            assert!(matches!(outcome.unwrap(), BatchOutcome::Committed(rows) if rows.is_empty()));
        }

        // The writer still commits.
        writer
            .write(vec![statement("INSERT INTO t VALUES (8)")])
            .await
            .unwrap();
        assert_eq!(count(&path), 6);
    }
}
