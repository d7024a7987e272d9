use std::path::PathBuf;

use thiserror::Error;

/// A configuration problem, naming the file, the key and the fix.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{}: {key}: {problem}. Fix: {fix}", file.display())]
pub struct SettingsError {
    /// The file the problem is in (or the environment variable).
    pub file: PathBuf,
    /// The dotted key (`server.port`), or `-` when the whole file is at fault.
    pub key: String,
    /// What is wrong.
    pub problem: String,
    /// What to do about it.
    pub fix: String,
}

impl SettingsError {
    /// A new error.
    pub fn new(
        file: impl Into<PathBuf>,
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}
