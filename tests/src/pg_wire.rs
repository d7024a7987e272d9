//! A PostgreSQL wire counter: a TCP relay on 127.0.0.1 in front of the real
//! server that reads the frontend's messages (protocol 3.0) as they pass and
//! counts what the client asked for.
//!
//! - A **round trip** is an exchange the client waits for: a `Sync` (`S`)
//!   that ends a run of extended-protocol messages (`Parse`, `Bind`,
//!   `Execute`, …), or a `Query` (`Q`, the simple protocol: `BEGIN`, `COMMIT`,
//!   a statement without parameters).
//! - A **ping** is a `Sync` alone. sqlx sends one each time a connection goes
//!   back to its pool, in a task of its own after the caller has its answer,
//!   so a request does not wait for it and it may land in the next
//!   request's window; it is counted apart.
//! - A **statement** is an `Execute` (`E`) or a `Query` (`Q`).
//! - A **prepare** is a `Parse` (`P`): a statement the connection had not
//!   prepared (and cached) before.
//!
//! The SQL of every statement bound (run) is kept in order
//! ([`WireCounter::executed`]), so a test can `EXPLAIN` what a window of
//! requests ran.
//!
//! The counts come from the bytes on the wire, not from Sigil's own
//! bookkeeping, so a test of them holds whatever layer sends the statements.
//! The relay needs a plain connection: give the client `sslmode=disable`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The `SSLRequest` and `GSSENCRequest` codes: start-up messages after which
/// another start-up message follows.
const ENCRYPTION_REQUESTS: [u32; 2] = [80_877_103, 80_877_104];

/// What passed through the relay so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Exchanges the client waited for (`Sync` + `Query`).
    pub round_trips: u64,
    /// Statements run (`Execute` + `Query`).
    pub statements: u64,
    /// Statements prepared (`Parse`).
    pub prepares: u64,
    /// Lone `Sync`s: sqlx's check of a connection going back to the pool.
    pub pings: u64,
}

impl std::ops::Sub for Counts {
    type Output = Counts;

    fn sub(self, before: Counts) -> Counts {
        Counts {
            round_trips: self.round_trips - before.round_trips,
            statements: self.statements - before.statements,
            prepares: self.prepares - before.prepares,
            pings: self.pings - before.pings,
        }
    }
}

#[derive(Default)]
struct Counters {
    round_trips: AtomicU64,
    statements: AtomicU64,
    prepares: AtomicU64,
    pings: AtomicU64,
    /// The statement of every `Bind`, in order.
    executed: Mutex<Vec<Prepared>>,
}

/// A statement a client prepared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// Its SQL text.
    pub sql: String,
    /// The type (OID) the client gave each parameter (`0`: left to the server).
    pub parameter_types: Vec<u32>,
}

/// A running relay; it stops with the test's runtime.
pub struct WireCounter {
    /// The port on 127.0.0.1 to connect to instead of the server's.
    pub port: u16,
    counters: Arc<Counters>,
}

impl WireCounter {
    /// Relays every connection made to [`WireCounter::port`] to `upstream`
    /// (`host:port`).
    pub async fn start(upstream: &str) -> WireCounter {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let counters = Arc::new(Counters::default());
        let upstream = upstream.to_owned();
        let shared = counters.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let counters = shared.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        relay(client, server, counters).await;
                    }
                });
            }
        });
        WireCounter { port, counters }
    }

    /// The counts since the relay started.
    pub fn counts(&self) -> Counts {
        Counts {
            round_trips: self.counters.round_trips.load(Ordering::SeqCst),
            statements: self.counters.statements.load(Ordering::SeqCst),
            prepares: self.counters.prepares.load(Ordering::SeqCst),
            pings: self.counters.pings.load(Ordering::SeqCst),
        }
    }

    /// The statement of every `Bind` so far (each run of a prepared
    /// statement), in order.
    pub fn executed(&self) -> Vec<Prepared> {
        self.counters.executed.lock().unwrap().clone()
    }

    /// `url` (a `postgres://` URL) pointed at the relay, without TLS.
    pub fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (auth, rest) = match rest.split_once('@') {
            Some((auth, rest)) => (format!("{auth}@"), rest),
            None => (String::new(), rest),
        };
        let path_at = rest.find('/').unwrap_or(rest.len());
        let path = &rest[path_at..];
        let separator = if path.contains('?') { '&' } else { '?' };
        format!(
            "{scheme}://{auth}127.0.0.1:{}{path}{separator}sslmode=disable",
            self.port
        )
    }
}

/// Copy both ways; count the client's messages on the way up.
async fn relay(client: TcpStream, server: TcpStream, counters: Arc<Counters>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let down = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    });
    let mut parser = Frontend::default();
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        let n = match client_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        parser.feed(&buf[..n], &counters);
        if server_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = server_write.shutdown().await;
    let _ = down.await;
}

/// The frontend's message stream, parsed incrementally.
#[derive(Default)]
struct Frontend {
    /// Past the start-up message: messages have a type byte.
    started: bool,
    /// A message other than `Sync` came since the last `Sync`.
    since_sync: bool,
    /// This connection's prepared statements, by name.
    statements: std::collections::HashMap<String, Prepared>,
    pending: Vec<u8>,
}

impl Frontend {
    fn feed(&mut self, bytes: &[u8], counters: &Counters) {
        self.pending.extend_from_slice(bytes);
        loop {
            let header = if self.started { 5 } else { 4 };
            if self.pending.len() < header {
                return;
            }
            let at = header - 4;
            let length = u32::from_be_bytes(self.pending[at..at + 4].try_into().unwrap()) as usize;
            let total = at + length;
            if self.pending.len() < total {
                return;
            }
            if self.started {
                let kind = self.pending[0];
                let after_others = std::mem::replace(&mut self.since_sync, kind != b'S');
                let counter = match kind {
                    b'S' if after_others => Some(&counters.round_trips),
                    b'S' => Some(&counters.pings),
                    b'Q' => {
                        counters.statements.fetch_add(1, Ordering::SeqCst);
                        Some(&counters.round_trips)
                    }
                    b'E' => Some(&counters.statements),
                    b'P' => {
                        if let Some((name, p)) = parse_message(&self.pending[5..total]) {
                            self.statements.insert(name, p);
                        }
                        Some(&counters.prepares)
                    }
                    b'B' => {
                        // Body: portal, statement (NUL-terminated), ….
                        let name = self.pending[5..total]
                            .split(|&b| b == 0)
                            .nth(1)
                            .map(|n| String::from_utf8_lossy(n).into_owned());
                        if let Some(p) = name.and_then(|n| self.statements.get(&n)) {
                            counters.executed.lock().unwrap().push(p.clone());
                        }
                        None
                    }
                    _ => None,
                };
                if let Some(c) = counter {
                    c.fetch_add(1, Ordering::SeqCst);
                }
            } else {
                let code = u32::from_be_bytes(self.pending[4..8].try_into().unwrap());
                self.started = !ENCRYPTION_REQUESTS.contains(&code);
            }
            self.pending.drain(..total);
        }
    }
}

/// The body of a `Parse`: statement name and query (NUL-terminated), the
/// number of parameter types (int16) and each type's OID (int32).
fn parse_message(body: &[u8]) -> Option<(String, Prepared)> {
    let name_end = body.iter().position(|&b| b == 0)?;
    let name = String::from_utf8_lossy(&body[..name_end]).into_owned();
    let rest = &body[name_end + 1..];
    let query_end = rest.iter().position(|&b| b == 0)?;
    let sql = String::from_utf8_lossy(&rest[..query_end]).into_owned();
    let rest = &rest[query_end + 1..];
    let count = usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
    let parameter_types = (0..count)
        .map(|i| {
            let at = 2 + 4 * i;
            Some(u32::from_be_bytes(rest.get(at..at + 4)?.try_into().ok()?))
        })
        .collect::<Option<Vec<u32>>>()?;
    Some((
        name,
        Prepared {
            sql,
            parameter_types,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(u32::try_from(body.len()).unwrap() + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn counts_messages_split_anywhere_after_the_start_up() {
        let mut stream = Vec::new();
        // SSLRequest, then the StartupMessage.
        stream.extend_from_slice(&8_u32.to_be_bytes());
        stream.extend_from_slice(&80_877_103_u32.to_be_bytes());
        stream.extend_from_slice(&9_u32.to_be_bytes());
        stream.extend_from_slice(&196_608_u32.to_be_bytes());
        stream.push(0);
        for m in [
            message(b'Q', b"BEGIN\0"),
            message(b'P', b"s1\0SELECT $1\0\0\x01\0\0\0\x14"),
            message(b'B', b"\0s1\0\0\0\0\0\0\0"),
            message(b'E', b"\0\0\0\0\0"),
            message(b'S', b""),
            message(b'S', b""),
            message(b'Q', b"COMMIT\0"),
        ] {
            stream.extend_from_slice(&m);
        }
        for chunk in [1, 3, 7, stream.len()] {
            let counters = Counters::default();
            let mut parser = Frontend::default();
            for piece in stream.chunks(chunk) {
                parser.feed(piece, &counters);
            }
            let counts = Counts {
                round_trips: counters.round_trips.load(Ordering::SeqCst),
                statements: counters.statements.load(Ordering::SeqCst),
                prepares: counters.prepares.load(Ordering::SeqCst),
                pings: counters.pings.load(Ordering::SeqCst),
            };
            assert_eq!(
                counts,
                Counts {
                    round_trips: 3,
                    statements: 3,
                    prepares: 1,
                    pings: 1,
                },
                "in chunks of {chunk}"
            );
            assert_eq!(
                *counters.executed.lock().unwrap(),
                [Prepared {
                    sql: "SELECT $1".to_owned(),
                    parameter_types: vec![20]
                }]
            );
        }
    }
}
