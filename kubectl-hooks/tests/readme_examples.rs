//! The README's examples are real outputs: each documented command is run and its output
//! compared with the README's text, so the documentation cannot drift from the program.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The fenced block of `language` that follows the first line of the README containing
/// `marker`.
fn block_after(marker: &str, language: &str) -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let at = readme
        .find(marker)
        .unwrap_or_else(|| panic!("README has no {marker:?}"));
    let fence = format!("```{language}\n");
    let start = at + readme[at..].find(&fence).expect("a fenced block") + fence.len();
    let end = start + readme[start..].find("```\n").expect("a closing fence");
    readme[start..end].to_owned()
}

#[test]
fn the_json_output_example_is_the_complete_output_of_its_command() {
    let documented = block_after("### JSON output", "json");
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-hooks"))
        .args([
            "validate",
            "-o",
            "json",
            "-f",
            "examples/broken/timeout-no-unit.yaml",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the README says it exits 1");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        documented,
        "README.md's JSON example differs from the command's output: paste the new output"
    );
}
