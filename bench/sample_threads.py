#!/usr/bin/env python3
"""Poor man's profiler (no perf on this machine): sample what each thread of a
process is doing, from /proc/<pid>/task/<tid>/{comm,stat,syscall}.

    bench/sample_threads.py PID [seconds=5] [hz=200]

Prints, per thread name, the share of samples spent running in user space,
in each system call (by name), or otherwise. Needs the right to read
/proc/<pid>/task/*/syscall (same user or root). The sampler costs CPU itself
(a few % of a core at 200 Hz): use it beside a benchmark, not inside one.
"""
import collections
import os
import sys
import time

# x86_64 system call numbers that matter here.
SYSCALLS = {
    0: "read", 1: "write", 3: "close", 7: "poll", 8: "lseek", 9: "mmap", 10: "mprotect",
    11: "munmap", 17: "pread64", 18: "pwrite64", 20: "writev", 24: "sched_yield",
    28: "madvise", 35: "nanosleep", 44: "sendto", 45: "recvfrom", 46: "sendmsg",
    47: "recvmsg", 72: "fcntl", 74: "fsync", 75: "fdatasync", 202: "futex",
    230: "clock_nanosleep", 232: "epoll_wait", 233: "epoll_ctl", 257: "openat",
    281: "epoll_pwait", 288: "accept4", 318: "getrandom", 441: "epoll_pwait2",
}


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def main():
    pid = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    hz = float(sys.argv[3]) if len(sys.argv) > 3 else 200.0
    counts = collections.defaultdict(collections.Counter)
    samples = collections.Counter()
    end = time.monotonic() + seconds
    period = 1.0 / hz
    while time.monotonic() < end:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            break
        for tid in tids:
            base = f"/proc/{pid}/task/{tid}"
            comm = (read(f"{base}/comm") or "?").strip()
            stat = read(f"{base}/stat")
            sc = read(f"{base}/syscall")
            if stat is None or sc is None:
                continue
            state = stat[stat.rfind(")") + 2]
            first = sc.split()[0] if sc.split() else "?"
            if first == "running":
                what = "user (running)"
            elif first == "-1":
                what = f"blocked, no syscall ({state})"
            else:
                name = SYSCALLS.get(int(first), f"syscall {first}")
                what = f"{name} ({state})"
            counts[comm][what] += 1
            samples[comm] += 1
        time.sleep(period)
    for comm, c in sorted(counts.items(), key=lambda kv: -samples[kv[0]]):
        n = samples[comm]
        print(f"{comm}: {n} samples")
        for what, k in c.most_common(8):
            print(f"  {100.0 * k / n:5.1f}%  {what}")


if __name__ == "__main__":
    main()
