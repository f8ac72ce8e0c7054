//! One module per subcommand, each a thin layer over the rules library.

pub mod annotate;
pub mod backup;
mod catalogue;
pub mod completion;
pub mod get;
pub mod remove;
pub mod test;
pub mod validate;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Nothing wrong.
pub const EXIT_OK: u8 = 0;
/// Errors were found, or the command failed.
pub const EXIT_FAILURE: u8 = 1;
/// The input could not be used (unreadable file, invalid YAML, bad flags).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Arguments, flags or configuration a command cannot use: exit status 2 whatever the
/// command, as for a usage error (1 is kept for what was checked and found wrong, or refused
/// by the server).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UnusableInput(pub String);

/// The result of writing the output: a closed pipe (`| head`) ends the process quietly with
/// the status a SIGPIPE gives, as other command-line tools do; any other failure (a full
/// disk) is an error, exit 2, so that no lost report passes for a clean one.
pub fn written(result: std::io::Result<()>) -> anyhow::Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(141),
        Err(err) => Err(anyhow::Error::new(UnusableInput(format!(
            "cannot write the output: {err}"
        )))),
    }
}

/// `err` as [`UnusableInput`], its whole chain of causes kept in the message.
pub fn unusable(err: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(UnusableInput(format!("{err:#}")))
}

pub fn run(mut cli: Cli) -> anyhow::Result<ExitCode> {
    // Offline, the flag or the latest release; online commands ask the cluster.
    cli.global.velero_version = cli.global.velero_version_flag.unwrap_or_default();
    match cli.command {
        Command::Validate(args) => validate::run(&cli.global, &args),
        Command::Annotate(args) => annotate::run(&cli.global, &args),
        Command::Get(args) => get::run(&cli.global, &args),
        Command::Remove(args) => remove::run(&cli.global, &args),
        Command::Test(args) => test::run(&cli.global, &args),
        Command::Completion(args) => completion::run(&args),
        Command::Backup(args) => backup::run(&cli.global, &args),
        Command::Keys => catalogue::keys(),
        Command::Rules => catalogue::rules(),
        Command::Version => {
            println!("kubectl-hooks {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
    }
}
