//! `kubectl hooks`: write, check and exercise Velero backup hooks before Velero reads them.

mod cli;
mod cluster;
mod commands;
mod edit;
mod lean;
mod manifest;
mod render;
mod selection;
mod velero_release;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__complete") {
        // kubectl_complete-hooks: the words after `kubectl hooks`, answered in cobra's format.
        return commands::completion::complete_command_line(&args[2..]);
    }
    quiet_on_closed_stdout();
    let cli = cli::Cli::parse();
    init_logging(cli.global.verbosity);
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let text = format!("{err:#}");
            if err.downcast_ref::<cluster::NoKubeconfig>().is_some()
                || err.downcast_ref::<commands::UnusableInput>().is_some()
            {
                eprintln!("error: {text}");
                return ExitCode::from(commands::EXIT_BAD_INPUT);
            }
            // API errors read as kubectl prints them: `Error from server (NotFound): ...`.
            if text.starts_with("Error from server") {
                eprintln!("{text}");
            } else {
                eprintln!("error: {text}");
            }
            ExitCode::from(commands::EXIT_FAILURE)
        }
    }
}

/// `kubectl hooks ... | head` closes stdout early: like other command-line tools, stop
/// quietly (with the status a SIGPIPE gives) instead of reporting a panic from `println!`.
/// Any other failure to write the output (a full disk) is an error that says so, exit 2.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        // `println!`, and clap's completion scripts, panic when stdout cannot be written.
        if message.starts_with("failed printing to stdout")
            || message.starts_with("failed to write completion file")
        {
            if message.contains("Broken pipe") {
                std::process::exit(141);
            }
            // `...: No space left on device (os error 28)`, or clap's `Os { .., message: ".." }`.
            let cause = match message.split_once("message: \"") {
                Some((_, rest)) => rest.split('"').next().unwrap_or(rest),
                None => message.split_once(": ").map_or(message, |(_, cause)| cause),
            };
            eprintln!("error: cannot write the output: {cause}");
            std::process::exit(i32::from(commands::EXIT_BAD_INPUT));
        }
        default(info);
    }));
}

/// kubectl's `-v`: warnings only by default, requests from 4, everything from 6.
fn init_logging(verbosity: u8) {
    let level = match verbosity {
        0 => "warn",
        1..=3 => "info",
        4 | 5 => "debug",
        _ => "trace",
    };
    let filter = match verbosity {
        // kube logs each failed request itself; below -v 4 the command's own error says it.
        0..=3 => format!(
            "{level},hyper_util=info,rustls=info,tower=info,h2=info,kube_client::client::builder=off"
        ),
        // Connection-pool chatter only at the highest levels.
        4 | 5 => format!("{level},hyper_util=info,rustls=info,tower=info,h2=info"),
        _ => level.to_owned(),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_target(verbosity >= 4)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
