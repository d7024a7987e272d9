#!/usr/bin/env python3
"""Group a flat `perf` profile of the Sigil server by component.

Hardware counters are not available on this VM, but the software clock is:

    perf record -e cpu-clock -F 999 -p <server pid> -o /tmp/sigil.perf -- sleep 5
    bench/perf_categories.py /tmp/sigil.perf [--other]

Symbols are matched by name; C symbols inside the `sigil` binary are SQLite
(the only C library linked in that runs per request). `--other` lists the
largest unclassified Rust symbols. Shares are of all samples of the process.
"""
import collections
import re
import subprocess
import sys

RULES = [
    ("ES256 crypto (p256/primeorder/ecdsa)",
     r"p256::|primeorder::|elliptic_curve::|ecdsa::|ff::|subtle::|crypto_bigint|rfc6979|hmac::"),
    ("wasmtime runtime (instantiate, calls, fuel)", r"wasmtime|cranelift|wasmparser|wit_|wasi"),
    ("DB access layer (sea-orm/sea-query/sqlx/flume)", r"sea_orm|sea_query|sqlx|flume|libsqlite3_sys"),
    ("serde/serde_json", r"serde"),
    ("HTTP + async runtime (actix/tokio/mio/http)", r"actix|tokio|mio::|http::|h1::|bytes::|futures|hyper"),
    ("sha2/base64/jsonwebtoken", r"sha2|base64|jsonwebtoken|sigil_issuer"),
]


def main():
    data = sys.argv[1]
    out = subprocess.run(
        ["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso,sym"],
        capture_output=True, text=True, check=True,
    ).stdout
    cats = collections.Counter()
    other = collections.Counter()
    for line in out.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S.*?)\s{2,}\[(.)\]\s+(.*)$", line)
        if not m:
            continue
        pct, dso, kind, sym = float(m.group(1)), m.group(2).strip(), m.group(3), m.group(4).strip()
        if kind == "k" or "kernel" in dso:
            cats["kernel (syscalls, wake-ups, page faults)"] += pct
        elif dso.startswith(("[JIT]", "//anon", "[unknown]")) or sym.startswith("0x"):
            cats["wasm JIT code (plugins)"] += pct
        elif dso.startswith("libc"):
            if re.search(r"malloc|free|_int_|unlink_chunk|consolidate|tcache", sym):
                cats["malloc/free (libc)"] += pct
            else:
                cats["libc other (memcpy, mutex, ...)"] += pct
        else:
            for name, rx in RULES:
                if re.search(rx, sym):
                    cats[name] += pct
                    break
            else:
                if "::" not in sym and not sym.startswith(("_ZN", "<")):
                    cats["SQLite engine (C)"] += pct
                else:
                    cats["other Rust"] += pct
                    other[sym] += pct
    total = sum(cats.values()) or 1.0
    for name, pct in cats.most_common():
        print(f"{100.0 * pct / total:6.1f}%  {name}")
    if "--other" in sys.argv[2:]:
        print("largest unclassified Rust symbols:")
        for sym, pct in other.most_common(25):
            print(f"  {100.0 * pct / total:5.2f}%  {sym[:150]}")


if __name__ == "__main__":
    main()
