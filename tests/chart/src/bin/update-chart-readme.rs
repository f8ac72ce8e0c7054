//! Rewrites the values table in charts/velero-hooks/README.md from the
//! comments in values.yaml. `--check` only reports whether it is stale.

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let expected = match chart_tests::readme::expected_readme() {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let path = chart_tests::readme::readme_path();
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current == expected {
        println!("{} is up to date", path.display());
        return ExitCode::SUCCESS;
    }
    if check {
        eprintln!(
            "{} is stale: run `cargo run -p chart-tests --bin update-chart-readme`",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::write(&path, expected) {
        eprintln!("error: writing {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    println!("updated {}", path.display());
    ExitCode::SUCCESS
}
