//! `kubectl hooks`: write, check and exercise Velero backup hooks before Velero reads them.

mod cli;
mod cluster;
mod commands;
mod manifest;
mod render;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(commands::EXIT_FAILURE)
        }
    }
}
