//! `kubectl_complete-hooks`: what kubectl 1.26+ runs to complete `kubectl hooks ...`.
//! kubectl passes the words after `kubectl hooks` (the last one being completed) and reads
//! cobra's format back; `kubectl-hooks __complete` answers it. This executable finds
//! `kubectl-hooks` next to itself (where `cargo install` and krew put both), else on PATH.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.parent()
                .map(|dir| dir.join(format!("kubectl-hooks{}", std::env::consts::EXE_SUFFIX)))
        })
        .filter(|path| path.is_file());
    let program = sibling.map_or_else(|| "kubectl-hooks".into(), |p| p.into_os_string());
    let status = Command::new(&program)
        .arg("__complete")
        .args(std::env::args_os().skip(1))
        .status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            // cobra's "error" directive: the shell offers nothing rather than garbage.
            eprintln!(
                "kubectl_complete-hooks: cannot run {}: {error}",
                program.to_string_lossy()
            );
            println!(":1");
            ExitCode::FAILURE
        }
    }
}
