//! `cargo xtask check-logs [LOG] [--min-lines N]`: no secret in the log of
//! an end-to-end run.
//!
//! The e2e harness (`tests/src/capture.rs`) writes every log line of its
//! run to `target/e2e-logs/e2e-<unix time>-<pid>.log` and each secret it
//! saw (`<kind>\t<hex of the value>` a line) to the `.secrets` file beside
//! it. This reads the newest such pair (or LOG) and fails, naming the file,
//! the line and the kind of secret (never the secret), when a secret of at
//! least [`MIN_SECRET`] characters occurs in a line; and when the log has
//! fewer than `--min-lines` lines (default [`MIN_LINES`]) or the secrets
//! lack the admin token, so that a broken capture cannot pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use anyhow::{Context, Result, bail};

/// Shorter values are not looked for (too likely to occur by chance).
pub const MIN_SECRET: usize = 8;

/// A log of a real run has at least this many lines.
pub const MIN_LINES: usize = 1000;

/// One secret found in the log.
#[derive(Debug, PartialEq, Eq)]
pub struct Leak {
    /// 1-based line number.
    pub line: usize,
    /// The kind of secret (`access token`, `claim value`, ...).
    pub kind: String,
}

/// `check-logs` with its arguments.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut min_lines = MIN_LINES;
    let mut log = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--min-lines" => {
                min_lines = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .context("--min-lines takes a number")?;
            }
            path => log = Some(PathBuf::from(path)),
        }
    }
    let log = match log {
        Some(log) => log,
        None => newest_log(&root.join("target/e2e-logs"))?,
    };
    let secrets_file = log.with_extension("secrets");
    let text =
        std::fs::read_to_string(&log).with_context(|| format!("reading {}", log.display()))?;
    let secrets = std::fs::read_to_string(&secrets_file)
        .with_context(|| format!("reading {}", secrets_file.display()))?;
    let secrets = parse_secrets(&secrets)
        .with_context(|| format!("{}: not a secrets file", secrets_file.display()))?;
    let lines = text.lines().count();
    if lines < min_lines {
        bail!(
            "{}: {lines} lines, fewer than {min_lines}: the capture is broken or the run was cut short",
            log.display()
        );
    }
    if !secrets.iter().any(|(kind, _)| kind == "admin token") {
        bail!(
            "{}: no admin token recorded: the harness did not record its secrets",
            secrets_file.display()
        );
    }
    let leaks = scan(&text, &secrets)?;
    let looked_for = secrets
        .iter()
        .filter(|(_, v)| v.len() >= MIN_SECRET)
        .count();
    if leaks.is_empty() {
        eprintln!(
            "xtask: check-logs: {}: {lines} lines, none holds any of {looked_for} secrets",
            log.display()
        );
        return Ok(());
    }
    for leak in &leaks {
        eprintln!(
            "{}:{}: a secret in the log ({})",
            log.display(),
            leak.line,
            leak.kind
        );
    }
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for leak in &leaks {
        *kinds.entry(&leak.kind).or_default() += 1;
    }
    bail!(
        "{}: {} line(s) hold a secret ({kinds:?})",
        log.display(),
        leaks.len()
    )
}

/// The newest `e2e-*.log` in `dir`.
fn newest_log(dir: &Path) -> Result<PathBuf> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "no logs in {}: run the end-to-end tests first (cargo test -p sigil-tests --test e2e)",
            dir.display()
        )
    })?;
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "log")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("e2e-"))
        })
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p)
        .with_context(|| format!("no e2e-*.log in {}", dir.display()))
}

/// `<kind>\t<hex>` lines as (kind, value).
pub fn parse_secrets(text: &str) -> Result<Vec<(String, String)>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let (kind, hex) = line
                .split_once('\t')
                .with_context(|| format!("line {}: no tab", i + 1))?;
            let bytes = unhex(hex.trim()).with_context(|| format!("line {}: bad hex", i + 1))?;
            Ok((
                kind.to_owned(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ))
        })
        .collect()
}

fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The lines of `log` holding a secret of at least [`MIN_SECRET`]
/// characters (one finding per line: the first secret found).
pub fn scan(log: &str, secrets: &[(String, String)]) -> Result<Vec<Leak>> {
    let wanted: Vec<&(String, String)> = secrets
        .iter()
        .filter(|(_, v)| v.chars().count() >= MIN_SECRET)
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let finder = AhoCorasick::new(wanted.iter().map(|(_, v)| v.as_str()))
        .context("building the secret finder")?;
    Ok(log
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            finder.find(line).map(|m| Leak {
                line: i + 1,
                kind: wanted[m.pattern().as_usize()].0.clone(),
            })
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn hex(s: &str) -> String {
        s.bytes().map(|b| format!("{b:02x}")).collect()
    }

    fn secrets() -> Vec<(String, String)> {
        parse_secrets(&format!(
            "admin token\t{}\naccess token\t{}\ntx code\t{}\nclaim value\t{}\n",
            hex("test-admin-token"),
            hex("eyJhbGciOiJFUzI1NiJ9.planted"),
            hex("123456"),
            hex("Lovelace"),
        ))
        .unwrap()
    }

    #[test]
    fn a_planted_secret_is_found_by_line_and_kind() {
        let log = concat!(
            "{\"message\":\"request\",\"route\":\"/token\"}\n",
            "{\"message\":\"redeemed\",\"token\":\"eyJhbGciOiJFUzI1NiJ9.planted\"}\n",
            "{\"message\":\"code 123456 is short and not looked for\"}\n",
            "{\"message\":\"hello Ada Lovelace\"}\n",
        );
        let leaks = scan(log, &secrets()).unwrap();
        assert_eq!(
            leaks,
            [
                Leak {
                    line: 2,
                    kind: "access token".into()
                },
                Leak {
                    line: 4,
                    kind: "claim value".into()
                },
            ]
        );
    }

    #[test]
    fn a_clean_log_passes() {
        let log = "{\"message\":\"request\",\"route\":\"/credential\",\"status\":200}\n";
        assert!(scan(log, &secrets()).unwrap().is_empty());
    }

    #[test]
    fn secrets_files_are_hex_per_line() {
        let s = secrets();
        assert_eq!(s[0], ("admin token".into(), "test-admin-token".into()));
        assert!(parse_secrets("kind without tab").is_err());
        assert!(parse_secrets("kind\tzz").is_err());
        assert!(parse_secrets("kind\tabc").is_err());
    }

    #[test]
    fn small_or_secretless_captures_fail() {
        let dir = std::env::temp_dir().join(format!("check-logs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("e2e-1-1.log");
        std::fs::write(&log, "{}\n".repeat(10)).unwrap();
        std::fs::write(
            log.with_extension("secrets"),
            format!("admin token\t{}\n", hex("test-admin-token")),
        )
        .unwrap();
        let arg = |extra: &[&str]| {
            let mut a = vec![log.display().to_string()];
            a.extend(extra.iter().map(|s| s.to_string()));
            a
        };
        let e = run(&dir, &arg(&[])).unwrap_err().to_string();
        assert!(e.contains("10 lines, fewer than 1000"), "{e}");
        run(&dir, &arg(&["--min-lines", "5"])).unwrap();
        std::fs::write(
            &log,
            "{}\n{\"auth\":\"Bearer test-admin-token\"}\n".repeat(5),
        )
        .unwrap();
        let e = run(&dir, &arg(&["--min-lines", "5"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("5 line(s) hold a secret") && !e.contains("test-admin-token"),
            "{e}"
        );
        std::fs::write(log.with_extension("secrets"), "").unwrap();
        let e = run(&dir, &arg(&["--min-lines", "5"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no admin token recorded"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
