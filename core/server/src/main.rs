//! The `sigil` command: serve, list plugins, check the configuration.

use std::process::ExitCode;

fn main() -> ExitCode {
    sigil::cli::main()
}
