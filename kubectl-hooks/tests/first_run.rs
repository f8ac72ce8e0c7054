//! What a new user meets first: a directory given without `-R`, and no cluster configured.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn hooks(args: &[&str], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-hooks"))
        .args(args)
        .current_dir(repo())
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl-hooks runs")
}

#[test]
fn a_directory_of_directories_without_recursive_is_an_input_error_that_suggests_r() {
    let home = tempfile::tempdir().unwrap();
    let out = hooks(&["validate", "-f", "examples/"], home.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    let text = format!("{stdout}{stderr}");
    assert!(text.contains("only 2 subdirectories"), "{text}");
    assert!(text.contains("use -R"), "{text}");

    let recursive = hooks(&["validate", "-R", "-f", "examples/"], home.path());
    assert_eq!(
        recursive.status.code(),
        Some(1),
        "the broken examples are errors"
    );
}

#[test]
fn no_kubeconfig_names_the_file_once_says_how_to_fix_it_and_exits_2_everywhere() {
    let home = tempfile::tempdir().unwrap();
    let expected = format!(
        "cannot read kubeconfig '{}': No such file or directory",
        home.path().join(".kube/config").display()
    );
    for args in [
        &["validate"][..],
        &["get"],
        &["get", "pods", "-A"],
        &["backup", "get"],
    ] {
        let out = hooks(args, home.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.matches(&expected).count(), 1, "{args:?}: {stderr}");
        assert_eq!(
            stderr.matches("os error 2").count(),
            1,
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("--kubeconfig PATH"), "{args:?}: {stderr}");
    }
}
