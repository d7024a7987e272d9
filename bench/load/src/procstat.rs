//! CPU time and memory of a process and its threads, from `/proc`.

use std::collections::BTreeMap;
use std::process::Command;

/// Clock ticks per second (`getconf CLK_TCK`), 100 when unknown.
pub fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// User and system CPU time, in clock ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ticks {
    /// `utime`.
    pub user: u64,
    /// `stime`.
    pub system: u64,
}

impl Ticks {
    /// User + system.
    pub fn total(self) -> u64 {
        self.user + self.system
    }

    /// `self - earlier`, never negative.
    pub fn since(self, earlier: Ticks) -> Ticks {
        Ticks {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// `utime` and `stime` of a `stat` file: `/proc/<pid>/stat` covers every
/// thread of the process, `/proc/<pid>/task/<tid>/stat` one thread.
fn read_stat(path: &str) -> Option<Ticks> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may contain spaces: fields after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    Some(Ticks {
        user: fields.get(11)?.parse().ok()?,
        system: fields.get(12)?.parse().ok()?,
    })
}

/// CPU time of a whole process (`pid` may be `self`).
pub fn process(pid: &str) -> Option<Ticks> {
    read_stat(&format!("/proc/{pid}/stat"))
}

/// One thread: its name, CPU time, and nanoseconds spent runnable but
/// waiting for a CPU (`/proc/<pid>/task/<tid>/schedstat`, second field).
#[derive(Clone, Debug, Default)]
pub struct Thread {
    /// `comm`.
    pub name: String,
    /// CPU time.
    pub ticks: Ticks,
    /// Run-queue wait, ns.
    pub wait_ns: u64,
}

/// CPU time of each thread of a process, by thread id.
pub fn threads(pid: &str) -> BTreeMap<String, Thread> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for entry in dir.flatten() {
        let tid = entry.file_name().to_string_lossy().into_owned();
        let base = format!("/proc/{pid}/task/{tid}");
        let name = std::fs::read_to_string(format!("{base}/comm"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let wait_ns = std::fs::read_to_string(format!("{base}/schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or_default();
        if let Some(ticks) = read_stat(&format!("{base}/stat")) {
            out.insert(
                tid,
                Thread {
                    name,
                    ticks,
                    wait_ns,
                },
            );
        }
    }
    out
}

/// The threads of one name, summed between two [`threads`] readings.
#[derive(Clone, Debug, Default)]
pub struct Group {
    /// Thread name.
    pub name: String,
    /// How many threads have it.
    pub threads: usize,
    /// CPU time.
    pub ticks: Ticks,
    /// Run-queue wait, ns.
    pub wait_ns: u64,
}

/// CPU time and run-queue wait per thread name between two [`threads`]
/// readings, most CPU first.
pub fn by_name(before: &BTreeMap<String, Thread>, after: &BTreeMap<String, Thread>) -> Vec<Group> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for (tid, t) in after {
        // A thread started inside the window counts from zero.
        let start = before.get(tid).cloned().unwrap_or_default();
        let d = t.ticks.since(start.ticks);
        let g = groups.entry(t.name.clone()).or_insert_with(|| Group {
            name: t.name.clone(),
            ..Group::default()
        });
        g.threads += 1;
        g.ticks.user += d.user;
        g.ticks.system += d.system;
        g.wait_ns += t.wait_ns.saturating_sub(start.wait_ns);
    }
    let mut list: Vec<Group> = groups.into_values().collect();
    list.sort_by_key(|g| std::cmp::Reverse(g.ticks.total()));
    list
}

/// A number from `/proc/<pid>/status`, e.g. `VmHWM` (peak RSS, kB) or `Threads`.
pub fn status_value(pid: &str, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Counters of `/proc/<pid>/io`: bytes passed to `write`-family calls
/// (`wchar`), such calls (`syscw`), and bytes sent to the block device
/// (`write_bytes`). Socket `send*` calls are not counted.
#[derive(Clone, Copy, Debug, Default)]
pub struct Io {
    /// `wchar`.
    pub wchar: u64,
    /// `syscw`.
    pub syscw: u64,
    /// `write_bytes`.
    pub write_bytes: u64,
}

/// Read `/proc/<pid>/io` (needs the same user or root).
pub fn io(pid: &str) -> Option<Io> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let get = |key: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':')?.trim().parse().ok())
    };
    Some(Io {
        wchar: get("wchar")?,
        syscw: get("syscw")?,
        write_bytes: get("write_bytes")?,
    })
}
