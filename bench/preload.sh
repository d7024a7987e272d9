#!/usr/bin/env bash
# Fill a Sigil database with COUNT offers in the shape finished traffic
# leaves behind, fast, for benchmarks at 10k / 100k / 1M offers (issue #19).
#
#   bench/preload.sh DATABASE_URL COUNT
#   bench/preload.sh postgres://postgres@127.0.0.1:5432/bench 1000000
#   bench/preload.sh "sqlite:///tmp/bench/sigil.db?mode=rwc" 100000
#   SHAPE=unpurged bench/preload.sh URL COUNT   # also the rows the purge deletes (below)
#   CHUNK=50000 DAYS=7 NOW=1796600000 STATUS_LIST_SIZE=0 bench/preload.sh URL COUNT
#
# The database must already be migrated (start `sigil serve` on it once: every
# table then exists) and the server should be stopped while this runs (on
# SQLite a transaction of the load holds the write lock for seconds; the
# server waits 5 s at most). It refuses a database it has preloaded before
# (row 1's offer exists). DATABASE_URL is the server's own: postgres:// or
# postgresql:// (run through `psql URL -v ON_ERROR_STOP=1`, so psql must
# accept the URL's parameters), or sqlite://path, sqlite:///abs/path (query
# ignored; a relative path is relative to the current directory), loaded with
# python3's sqlite3 module (busy timeout 60 s; the journal mode the server
# set, WAL, is left alone).
#
# What it loads, all in tenant `default`, configuration
# `employee_badge_sd_jwt` (format `dc+sd-jwt`), as the pre-authorized flow of
# `sigil-load --mode flow` writes it (inline claims, offer by reference, no
# tx code, the default 300 s offer lifetime and [issuance], [status_lists]
# settings), row n = 1..COUNT, timestamps in unix seconds over the last DAYS
# (30) days, the newest an hour before NOW (default: the clock):
#
# - 4 in 5 offers (n % 5 != 0) went through the whole flow: offer `consumed`
#   (resolved and token issued 1 s, credential issued 2 s after creation),
#   one issuance (count 1), one credential (`valid`, expiry = issue hour + 1
#   year) with a status list entry, and the events offer_created,
#   offer_resolved, token_issued, credential_issued ({count,
#   credentialConfigurationId, format}), created over the whole DAYS.
#   Status list entries as the server hands them out: the lists of tenant
#   `default` (131,072 entries of 2 bits) take 65,536 credentials each, at
#   distinct indices spread over the list (the server closes a list once
#   half of it is taken), the last list open; each entry is reserved in
#   status_indices. Lists the database had already are closed first and
#   numbered before the preloaded ones. STATUS_LIST_SIZE=0: no entries.
# - 1 in 5 (n % 5 == 0) were created and never redeemed: offer `expired`
#   (expires_at = created + 300 s, marked up to a minute later as the
#   server's expiry sweep does), events offer_created and offer_expired
#   ({expiresAt}).
#
# SHAPE picks what else is there:
# - steady (the default): what a server under steady traffic keeps. Its
#   purge (every minute, the first right at start) deletes nonces and access
#   tokens once expired, and offers that expired unredeemed more than a day
#   ago with their events; so: no access tokens, no nonces, and the
#   unredeemed offers are from the last day (created between NOW - 23h50m and
#   NOW - 1h). A server started on it purges nothing until 15 minutes after
#   NOW, then a few of those offers a minute, as in production.
#   COUNT = 1M: offers 1,000,000; events 3,600,000; issuances, credentials
#   and status_indices 800,000 each; status_lists 13 (6.2M rows).
# - unpurged: every row the flows wrote, nothing purged: as steady, plus per
#   redeemed offer its access token (expired 300 s after issue) and its spent
#   nonce (expired 300 s after issue), and the unredeemed offers spread over
#   the DAYS like the others. COUNT = 1M: also access_tokens and nonces
#   800,000 each (7.8M rows). The first purge of a server started on it then
#   deletes all those tokens and nonces and the ~193k offers that expired
#   over a day ago with their events, while the benchmark runs: at 1M here
#   that took 55 s on PostgreSQL; on SQLite it was still deleting offers
#   3 minutes later, and flows failed with "database is locked" (the
#   server's 5 s busy timeout) in its first 20 s.
#
# No authorizations, deferred transactions or event deliveries (the
# pre-authorized flow of this configuration writes none).
#
# Keys look like Sigil's and spread over the same key ranges (new rows land
# between preloaded ones in every index, as with real traffic), but cannot
# be equal to ones Sigil makes: offer ids are UUID-shaped with version nibble
# 0 (Sigil's are v4); code and token hashes are 64 hex chars with 22 zeros in
# the middle and the row number at the end; issuance, credential and
# notification ids and holder key thumbprints are 43 chars with a `.` (never
# in Sigil's base64url tokens); nonce values are 75 chars starting, as
# Sigil's do, with their encoded expiry, with a `.` too.
#
# Rows are inserted CHUNK offers (default 100,000) per transaction, from a
# temporary table of the chunk's row numbers (generate_series on PostgreSQL,
# a recursive CTE on SQLite; one SQL template for both); then ANALYZE, and
# the time taken and the row count of every table are printed.
#
# Measured here, total time with ANALYZE (2 cores shared with cargo builds
# and other benchmarks, so +-30 % between runs; PostgreSQL 15 on 127.0.0.1
# with default settings, its backend reniced in these runs; SQLite 3.40):
#   SHAPE=steady    PostgreSQL  10k 1.4 s, 100k 9.6 s,  1M 90-131 s  (2.4 GB)
#                   SQLite      10k 0.4 s, 100k 5.2 s,  1M 82 s      (1.8 GB file)
#   SHAPE=unpurged  PostgreSQL  10k 1.9 s, 100k 17 s,   1M 146-152 s (2.9 GB)
#                   SQLite      10k 0.4 s, 100k 4.0 s,  1M 68-105 s  (2.2 GB file)
set -euo pipefail

if [[ $# -ne 2 || ! "$2" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 DATABASE_URL COUNT   (see the header of $0)" >&2
    exit 2
fi

exec python3 - "$@" <<'PYTHON'
import os
import sqlite3
import subprocess
import sys
import time
import urllib.parse

url, count = sys.argv[1], int(sys.argv[2])
chunk = int(os.environ.get("CHUNK", "100000"))
shape = os.environ.get("SHAPE", "steady")
days = int(os.environ.get("DAYS", "30"))
now = int(os.environ.get("NOW", str(int(time.time()))))
if shape not in ("steady", "unpurged"):
    sys.exit(f"SHAPE={shape}: use steady or unpurged")
if chunk < 1 or days < 1:
    sys.exit("CHUNK and DAYS must be at least 1")
if count >= 1 << 31:
    sys.exit("COUNT must be below 2^31")

TENANT = "default"
CONFIGURATION = "employee_badge_sd_jwt"
FORMAT = "dc+sd-jwt"
OFFER_SECONDS = 300   # offer lifetime (the admin API's default)
TOKEN_SECONDS = 300   # [issuance] access_token_seconds
NONCE_SECONDS = 300   # [issuance] nonce_seconds
VALIDITY = 31_536_000  # the configuration's validity_seconds
# [status_lists]: entries per list (0: credentials get no status list entry)
# and bits per entry. A list takes credentials until it is half full: the
# server closes it then (a refill of random candidates gets fewer than half).
LIST_SIZE = int(os.environ.get("STATUS_LIST_SIZE", "131072"))
LIST_BITS = 2
PER_LIST = LIST_SIZE // 2
# Multiplier of the index permutation: a prime, so coprime with any size.
LIST_PRIME = 2654435761
if LIST_SIZE and not 1024 <= LIST_SIZE <= 16_777_216:
    sys.exit("STATUS_LIST_SIZE: 0, or 1024 to 16777216 as the server allows")
redeemed = count - count // 5
lists = (redeemed + PER_LIST - 1) // PER_LIST if LIST_SIZE else 0

# Creation times: [start, end], end an hour ago, so that every token, nonce
# and offer lifetime of the preload has run out.
end = now - 3600
span = days * 86400
start = end - span
# SHAPE=steady: the unredeemed offers within the last day, their expiry at
# least 15 minutes clear of the purge's one-day grace period.
recent_start = now - 86400 + 900 - OFFER_SECONDS
recent_span = end - recent_start

postgres = url.startswith(("postgres://", "postgresql://"))
if not postgres and not url.startswith("sqlite:"):
    sys.exit(f"{url}: expected a postgres://, postgresql:// or sqlite: URL")


# ---- the dialects: what differs between PostgreSQL and SQLite -------------

def series(lo, hi):
    """FROM item: the row numbers lo..hi as column n."""
    if postgres:
        return f"generate_series({lo}::bigint, {hi}::bigint) AS s(n)"
    return (f"(WITH RECURSIVE s(n) AS (SELECT {lo} UNION ALL SELECT n + 1 FROM s "
            f"WHERE n < {hi}) SELECT n FROM s) AS s")


def hexa(expr, width):
    """expr (>= 0) as lower-case hex, zero-padded to width."""
    if postgres:
        return f"lpad(to_hex({expr}), {width}, '0')"
    return f"printf('%0{width}x', {expr})"


def dec(expr, width):
    """expr (>= 0) in decimal, zero-padded to width."""
    if postgres:
        return f"lpad(({expr})::text, {width}, '0')"
    return f"printf('%0{width}d', {expr})"


def json(expr):
    """A JSON column's value from text (jsonb on PostgreSQL, text on SQLite)."""
    return f"({expr})::jsonb" if postgres else expr


def rfc3339(expr):
    """Unix seconds as Sigil writes them in events: 2026-01-02T03:04:05Z."""
    if postgres:
        return (f"to_char(to_timestamp({expr}) AT TIME ZONE 'UTC', "
                f"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {expr}, 'unixepoch')"


# ---- keys derived from the row number n ------------------------------------

# Odd multipliers: n * M mod 2^32 is a bijection of 32-bit numbers whose top
# bits spread consecutive n over the whole range.
MULTIPLIERS = [2654435761, 2246822519, 3266489917, 668265263, 374761393,
               2146121005, 2221713035, 3432918353, 461845907, 2246822507,
               3266489909, 2869860233, 1597334677, 3812015801, 625341585, 2654435769,
               1663821227, 2232777461]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def mix(k):
    return f"((n * {MULTIPLIERS[k]}) % 4294967296)"


def b64char(expr):
    """The base64url character of the low 6 bits of expr."""
    return f"substr('{B64}', CAST(({expr}) & 63 AS integer) + 1, 1)"


def b64(expr):
    """5 base64url characters of the 32-bit expr (its top 30 bits, or on
    PostgreSQL those of expr with the top bit flipped: fewer calls)."""
    if postgres:
        return (f"substr(translate(encode(int4send(CAST(({expr}) - 2147483648 AS integer)), "
                f"'base64'), '+/', '-_'), 1, 5)")
    return " || ".join(b64char(f"({expr}) >> {26 - 6 * i}") for i in range(5))


def offer_id():
    """UUID-shaped, version nibble 0: never one of Sigil's v4 UUIDs."""
    return (f"{hexa(mix(0), 8)} || '-' || {hexa(f'{mix(1)} >> 16', 4)} || '-0' || "
            f"{hexa(f'({mix(1)} >> 4) & 4095', 3)} || '-' || {hexa(f'{mix(2)} >> 16', 4)} || "
            f"'-' || {hexa('n', 12)}")


def hash64(k, tag):
    """64 hex chars like a SHA-256, with 22 zeros, a tag and n: unique, never Sigil's."""
    return (f"{hexa(mix(k), 8)} || {hexa(mix(k + 1), 8)} || {hexa(mix(k + 2), 8)} || "
            f"'0000000000000000000000{tag:02x}' || {hexa('n', 16)}")


def token43(k, tag):
    """43 chars like Sigil's random tokens, starting with base64url chars
    spread like theirs, with a '.' (never in theirs) and n."""
    return f"{b64(mix(k))} || {b64(mix(k + 1))} || '.{tag}.' || {dec('n', 28)}"


def hex43(k, tag):
    """43 chars with a '.' like token43, for the tokens no index starts
    with: hex, cheaper to make."""
    return f"{hexa(mix(k), 8)} || {hexa(mix(k + 1), 8)} || '.{tag}.' || {dec('n', 22)}"


def nonce75(expires):
    """75 chars like a Sigil nonce: its first 10 chars encode the expiry as
    Sigil's do (base64url of the 8-byte big-endian expiry), so preloaded
    nonces sort where real ones of that time do; then hex, a '.' and n."""
    if postgres:
        head = (f"substr(translate(encode(int8send(CAST({expires} AS bigint)), 'base64'), "
                f"'+/', '-_'), 1, 10)")
    else:
        hi = f"(({expires}) >> 16)"          # bytes 4 and 5 of the expiry
        lo = f"((({expires}) & 65535) << 8)"  # bytes 6 and 7, then a random byte
        head = "'AAAA' || " + " || ".join(
            b64char(f"{v} >> {s}")
            for v, s in [(hi, 18), (hi, 12), (hi, 6), (hi, 0), (lo, 18), (lo, 12)])
    return f"{head} || {hexa(mix(17), 8)} || '.nce.' || {dec('n', 52)}"


# ---- the template: one chunk, rows lo..hi -----------------------------------

CLAIMS = ('{"' + CONFIGURATION + '":{"claims":{"department":"Engines",'
          '"employee_id":"E-\' || n || \'","family_name":"Lovelace","given_name":"Ada"},'
          '"type":"inline"}}')
CONFIG_IDS = f'["{CONFIGURATION}"]'
ISSUED_DETAIL = ('{"count":1,"credentialConfigurationId":"' + CONFIGURATION +
                 '","format":"' + FORMAT + '"}')


def chunk_sql(lo, hi):
    if shape == "steady":
        t = (f"CASE WHEN n % 5 = 0 THEN {recent_start} + ((n - 1) * {recent_span}) / {count} "
             f"ELSE {start} + ((n - 1) * {span}) / {count} END")
    else:
        t = f"{start} + ((n - 1) * {span}) / {count}"
    temp = "CREATE TEMP TABLE pl ON COMMIT DROP AS" if postgres else "CREATE TEMP TABLE pl AS"
    done = "done = 1"
    config_ids = json(f"'{CONFIG_IDS}'")
    claims = json(f"'{CLAIMS}'")
    empty = json("'{}'")
    # The k-th redeemed offer's credential: list k / PER_LIST (after the
    # lists there were), at a distinct index spread over the list.
    list_no = f"({list_base} + k / {PER_LIST} + 1)"
    list_idx = f"(((k % {PER_LIST}) * {LIST_PRIME}) % {LIST_SIZE})" if LIST_SIZE else "NULL"
    expired_detail = f"""'{{"expiresAt":"' || {rfc3339(f't + {OFFER_SECONDS}')} || '"}}'"""
    parts = [f"""
{temp}
SELECT n,
       CASE WHEN n % 5 = 0 THEN 0 ELSE 1 END AS done,
       {t} AS t,
       {offer_id()} AS oid,
       n - n / 5 - 1 AS k
FROM {series(lo, hi)};

INSERT INTO offers (id, tenant, credential_configuration_ids, flow, value_mode, scheme,
    pre_authorized_code_hash, tx_code_hash, tx_code_input_mode, tx_code_length,
    tx_code_description, issuer_state, credential_claims, runtime_overrides, issuance_mode,
    webhook_endpoint_id, profile, status, tx_attempts, created_at, expires_at, resolved_at,
    token_issued_at, credential_issued_at, consumed_at, revoked_at, updated_at)
SELECT oid, '{TENANT}', {config_ids}, 'pre_authorized_code', 'by_reference',
    'openid-credential-offer', {hash64(3, 1)}, NULL, NULL, NULL, NULL, NULL,
    {claims}, {empty}, 'immediate', NULL, NULL,
    CASE WHEN {done} THEN 'consumed' ELSE 'expired' END, 0, t, t + {OFFER_SECONDS},
    CASE WHEN {done} THEN t + 1 END, CASE WHEN {done} THEN t + 1 END,
    CASE WHEN {done} THEN t + 2 END, CASE WHEN {done} THEN t + 2 END, NULL,
    CASE WHEN {done} THEN t + 2 ELSE t + {OFFER_SECONDS} + n % 60 END
FROM pl;

INSERT INTO events (tenant, offer_id, kind, detail, created_at)
SELECT '{TENANT}', oid, kind, {json('detail')}, at FROM (
    SELECT n, 1 AS step, oid, 'offer_created' AS kind, '{{}}' AS detail, t AS at FROM pl
    UNION ALL SELECT n, 2, oid, 'offer_resolved', '{{}}', t + 1 FROM pl WHERE {done}
    UNION ALL SELECT n, 3, oid, 'token_issued', '{{}}', t + 1 FROM pl WHERE {done}
    UNION ALL SELECT n, 4, oid, 'credential_issued', '{ISSUED_DETAIL}', t + 2 FROM pl WHERE {done}
    UNION ALL SELECT n, 5, oid, 'offer_expired', {expired_detail},
        t + {OFFER_SECONDS} + n % 60 FROM pl WHERE done = 0
) e ORDER BY at, n, step;

INSERT INTO issuances (id, tenant, offer_id, credential_configuration_id, format, count, created_at)
SELECT {token43(9, 'iss')}, '{TENANT}', oid, '{CONFIGURATION}', '{FORMAT}', 1, t + 2
FROM pl WHERE {done};

INSERT INTO credentials (id, tenant, offer_id, credential_configuration_id, format,
    holder_key_thumbprint, notification_id, notification_event, notification_description,
    notified_at, created_at, status, status_list, status_idx, expires_at, identifier)
SELECT {hex43(11, 'crd')}, '{TENANT}', oid, '{CONFIGURATION}', '{FORMAT}',
    {hex43(13, 'hkt')}, {hex43(15, 'ntf')}, NULL, NULL, NULL, t + 2, 'valid',
    {list_no if LIST_SIZE else 'NULL'}, {list_idx if LIST_SIZE else 'NULL'},
    ((t + 2) / 3600) * 3600 + {VALIDITY}, NULL
FROM pl WHERE {done};
"""]
    if LIST_SIZE:
        parts.append(f"""
INSERT INTO status_lists (tenant, number, size, bits, version, "open", created_at)
SELECT '{TENANT}', {list_no}, {LIST_SIZE}, {LIST_BITS}, 0,
    CASE WHEN {list_no} = {list_base + lists} THEN TRUE ELSE FALSE END, t + 2
FROM pl WHERE {done} AND k % {PER_LIST} = 0;

INSERT INTO status_indices (tenant, list, idx)
SELECT '{TENANT}', {list_no}, {list_idx} FROM pl WHERE {done};
""")
    if shape == "unpurged":
        parts.append(f"""
INSERT INTO access_tokens (token_hash, tenant, offer_id, credential_configuration_ids,
    created_at, expires_at, authorization_id, dpop_jkt)
SELECT {hash64(6, 2)}, '{TENANT}', oid, {config_ids}, t + 1, t + 1 + {TOKEN_SECONDS},
    NULL, NULL
FROM pl WHERE {done};

INSERT INTO nonces (value, tenant, expires_at, used_at)
SELECT {nonce75(f't + 2 + {NONCE_SECONDS}')}, '{TENANT}', t + 2 + {NONCE_SECONDS}, t + 2
FROM pl WHERE {done};
""")
    if not postgres:
        parts.append("DROP TABLE pl;\n")
    return "".join(parts)


TABLES = ["offers", "events", "access_tokens", "nonces", "issuances", "credentials",
          "status_lists", "status_indices", "authorizations", "deferred_transactions",
          "event_deliveries", "event_cursors"]
NEEDED = ["offers", "events", "access_tokens", "nonces", "issuances", "credentials",
          "status_lists", "status_indices"]


# ---- running it --------------------------------------------------------------

def first_offer_id():
    n = 1
    m = [(n * x) % 4294967296 for x in MULTIPLIERS]
    return f"{m[0]:08x}-{m[1] >> 16:04x}-0{(m[1] >> 4) & 4095:03x}-{m[2] >> 16:04x}-{n:012x}"


if postgres:
    PSQL = ["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1"]

    def run(sql):
        if subprocess.run(PSQL, input=sql, text=True).returncode != 0:
            sys.exit("psql failed (its error is above); the chunk was rolled back")

    def query(sql):
        done = subprocess.run(PSQL + ["-At", "-F", "\t", "-c", sql], text=True,
                              stdout=subprocess.PIPE)
        if done.returncode != 0:
            sys.exit("psql failed (its error is above)")
        out = done.stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def existing_tables():
        return {r[0] for r in query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}

    def load(lo, hi):
        run("SET synchronous_commit = off;\nSET work_mem = '256MB';\nBEGIN;\n"
            + chunk_sql(lo, hi) + "COMMIT;\n")

    def analyze():
        run("ANALYZE;")

    def execute(sql):
        run(sql + ";\n")

    where = url.split("@")[-1]
else:
    rest = url[len("sqlite://"):] if url.startswith("sqlite://") else url[len("sqlite:"):]
    path = urllib.parse.unquote(rest.split("?", 1)[0])
    if not path or ":memory:" in path:
        sys.exit(f"{url}: needs a SQLite file")
    if not os.path.exists(path):
        sys.exit(f"{path}: no such file (start the server on it once first)")
    db = sqlite3.connect(path, timeout=60, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 60000")
    # This connection only: a bigger page cache, temporary tables in memory,
    # no fsync per commit (the server's journal mode, WAL, is left as it is).
    db.execute("PRAGMA cache_size = -262144")
    db.execute("PRAGMA temp_store = MEMORY")
    db.execute("PRAGMA synchronous = OFF")

    def query(sql):
        return [[str(v) for v in row] for row in db.execute(sql).fetchall()]

    def existing_tables():
        return {r[0] for r in query("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def load(lo, hi):
        try:
            db.executescript("BEGIN IMMEDIATE;\n" + chunk_sql(lo, hi) + "COMMIT;\n")
        except sqlite3.Error as e:
            sys.exit(f"{path}: {e} (the chunk was rolled back)")

    def analyze():
        db.execute("ANALYZE")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def execute(sql):
        db.execute(sql)

    where = path

missing = [t for t in NEEDED if t not in existing_tables()]
if missing:
    sys.exit(f"{where}: no table {', '.join(missing)}: start `sigil serve` on this database once "
             "so that it migrates it")
if query(f"SELECT count(*) FROM offers WHERE id = '{first_offer_id()}'")[0][0] != "0":
    sys.exit(f"{where}: already preloaded (offer {first_offer_id()} exists): use a fresh database")

# The preloaded lists come after the tenant's own (a database the server
# issued on already), which are closed, as the server closes a full one.
list_base = int(query(f"SELECT COALESCE(MAX(number), 0) FROM status_lists "
                      f"WHERE tenant = '{TENANT}'")[0][0])
if LIST_SIZE:
    execute(f"UPDATE status_lists SET \"open\" = FALSE WHERE tenant = '{TENANT}' AND \"open\"")

print(f"preloading {count:,} offers (SHAPE={shape}, {chunk:,} per transaction, "
      f"created over {days} days up to {end}) into {where}", file=sys.stderr, flush=True)
began = time.monotonic()
for lo in range(1, count + 1, chunk):
    hi = min(lo + chunk - 1, count)
    t0 = time.monotonic()
    load(lo, hi)
    print(f"  offers {lo:,}..{hi:,}: {time.monotonic() - t0:.1f} s "
          f"(total {time.monotonic() - began:.1f} s)", file=sys.stderr, flush=True)
loaded = time.monotonic() - began
t0 = time.monotonic()
analyze()
analyzed = time.monotonic() - t0
total = time.monotonic() - began

tables = [t for t in TABLES if t in existing_tables()]
counts = dict(query(" UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)))
print(f"loaded {count:,} offers in {loaded:.1f} s, ANALYZE {analyzed:.1f} s, "
      f"total {total:.1f} s ({'postgres' if postgres else 'sqlite'}, SHAPE={shape})")
for name in tables:
    print(f"  {name:<22} {int(counts[name]):>12,}")
PYTHON
