//! Shell completion: the scripts, and kubectl's plugin completion protocol through the real
//! kubectl (`kubectl __complete hooks ...` runs `kubectl_complete-hooks ...`).

use std::path::{Path, PathBuf};
use std::process::Command;

use scenarios::backend::{Backend, deployment, expect_exit, kubectl_binary, plugin_binary, stdout};
use serde_json::json;

/// A directory holding only the installed executables, as `cargo install` leaves them
/// (target/<profile> also holds `kubectl-hooks.d`, which kubectl would list as a plugin).
fn install_dir(backend: &Backend) -> PathBuf {
    let bin = backend.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let plugin = plugin_binary();
    for name in ["kubectl-hooks", "kubectl_complete-hooks"] {
        let from = plugin.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        std::fs::copy(&from, bin.join(from.file_name().unwrap())).unwrap();
    }
    bin
}

fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

#[test]
fn completion_scripts_for_every_shell() {
    let backend = Backend::start("completion-scripts");
    for (shell, marker) in [
        ("bash", "complete -F _kubectl__hooks"),
        ("zsh", "#compdef kubectl-hooks"),
        ("fish", "complete -c kubectl-hooks"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = backend
            .plugin()
            .args(["completion", shell])
            .output()
            .unwrap();
        let script = expect_exit(&out, 0);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("annotate"), "{shell} completes subcommands");
    }
}

#[test]
fn kubectl_complete_hooks_speaks_cobras_protocol() {
    let backend = Backend::start("completion-protocol");
    backend.seed([
        deployment("web", json!({})),
        deployment("worker", json!({})),
    ]);
    let bin = install_dir(&backend);
    let complete = |words: &[&str]| {
        let out = Command::new(bin.join("kubectl_complete-hooks"))
            .env("KUBECONFIG", &backend.kubeconfig)
            .env("HOME", backend.dir.path())
            .args(["-n", &backend.namespace])
            .args(words)
            .output()
            .unwrap();
        expect_exit(&out, 0)
    };
    assert_eq!(complete(&["ann"]), "annotate\n:4\n");
    assert_eq!(complete(&["annotate", "--phase", ""]), "pre\npost\n:4\n");
    assert_eq!(complete(&["annotate", "--ove"]), "--overwrite\n:4\n");
    assert_eq!(complete(&["annotate", "sta"]), "statefulsets\n:4\n");
    assert_eq!(
        complete(&["annotate", "deploy/w"]),
        "deploy/web\ndeploy/worker\n:4\n"
    );
    assert_eq!(complete(&["remove", "deployments", "wo"]), "worker\n:4\n");
    assert_eq!(
        complete(&["annotate", "-f", ""]),
        ":0\n",
        "file names from the shell"
    );
}

#[test]
fn real_kubectl_finds_the_plugin_and_its_completion() {
    let backend = Backend::start("completion-kubectl");
    backend.seed([deployment("web", json!({}))]);
    let bin = install_dir(&backend);
    let kubectl = |args: &[&str]| {
        Command::new(kubectl_binary())
            .env("PATH", path_with(&bin))
            .env("KUBECONFIG", &backend.kubeconfig)
            .env("HOME", backend.dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = kubectl(&["plugin", "list"]);
    assert!(expect_exit(&out, 0).contains(&format!("{}/kubectl-hooks", bin.display())));
    let out = kubectl(&["hooks", "version"]);
    assert!(expect_exit(&out, 0).starts_with("kubectl-hooks "));
    let out = kubectl(&["__complete", "hooks", "annotate", "--phase", ""]);
    assert!(
        stdout(&out).starts_with("pre\npost\n:4\n"),
        "{}",
        stdout(&out)
    );
    let out = kubectl(&[
        "__complete",
        "hooks",
        "-n",
        &backend.namespace,
        "annotate",
        "deploy/",
    ]);
    assert!(
        stdout(&out).starts_with("deploy/web\n:4\n"),
        "{}",
        stdout(&out)
    );
}
