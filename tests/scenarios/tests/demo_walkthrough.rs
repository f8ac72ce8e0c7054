//! The top-level README's "Try it without a cluster", run as written: the demo is started
//! with the README's own command line (the `kube-emulator` binary that `cargo run` runs),
//! then each command of the walkthrough block runs in `sh` from the demo's directory, with
//! the real `kubectl` and the real `kubectl-hooks` (as a kubectl plugin) on PATH. The test
//! checks what a user sees at each step, and that the demo prints the same commands.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use scenarios::backend::{emulator_binary, kubectl_binary, plugin_binary, stderr, stdout};

const README: &str = include_str!("../../../README.md");

/// The code blocks of the README section `heading`, in order.
fn section_blocks(heading: &str) -> Vec<Vec<String>> {
    let start = README
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README has no section `## {heading}`"));
    let section = &README[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut blocks = vec![];
    let mut current: Option<Vec<String>> = None;
    for line in section.lines() {
        match (&mut current, line.trim_start().starts_with("```")) {
            (None, true) => current = Some(vec![]),
            (Some(_), true) => blocks.push(current.take().expect("open block")),
            (Some(block), false) => block.push(line.to_owned()),
            (None, false) => {}
        }
    }
    blocks
}

/// The commands of a block (comments and blank lines left out).
fn commands(block: &[String]) -> Vec<String> {
    block
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// `name` as found on PATH, when `path` is a bare name.
fn resolve(path: PathBuf) -> PathBuf {
    if path.components().count() > 1 {
        return path;
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(&path))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{} not found: run scripts/install-tools.sh, put it on PATH or set KUBECTL",
                path.display()
            )
        })
}

/// The demo process; killed (by its own handle) when the test ends, however it ends.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the demo as the README's first block says; returns it with what it printed.
fn start_demo(dir: &Path) -> (Demo, String) {
    let start = commands(&section_blocks("Try it without a cluster")[0]);
    assert_eq!(start.len(), 1, "one command starts the demo: {start:?}");
    let args = start[0]
        .strip_prefix("cargo run -p kube-emulator -- ")
        .unwrap_or_else(|| {
            panic!(
                "the demo starts with `cargo run -p kube-emulator -- ...`, not {:?}",
                start[0]
            )
        });
    let mut child = Command::new(emulator_binary())
        .args(args.split_whitespace())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kube-emulator --demo");
    let stdout = child.stdout.take().expect("piped stdout");
    let demo = Demo(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !printed.contains("kubectl get backups") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                printed.push_str(&line);
                printed.push('\n');
            }
            Err(_) => panic!("the demo did not print its walkthrough within 60s:\n{printed}"),
        }
    }
    (demo, printed)
}

/// Runs one README line in `sh`, after the README's `export` lines so far.
fn run(dir: &Path, bin: &Path, exports: &[String], command: &str) -> Output {
    let mut script = exports.join("\n");
    script.push('\n');
    script.push_str(command);
    let path = std::env::join_paths(std::iter::once(bin.to_owned()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir)
        .env("PATH", path)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .env_remove("VELERO_NAMESPACE")
        .output()
        .expect("run sh")
}

/// What a user must see for each walkthrough command, in README order: a piece of the
/// command that identifies it, its exit status, and texts its output (stdout and stderr
/// together) must contain.
const EXPECTED: &[(&str, i32, &[&str])] = &[
    (
        "kubectl get pods -n nginx-example",
        0,
        &["nginx-deployment-7d9f8c6b5-x7k2p   2/2     Running"],
    ),
    (
        "--phase pre --container fsfreeze --timeout 30 --command",
        1,
        &[
            "error HV020: pre.hook.backup.velero.io/timeout: `30` is not a Go duration",
            "did you mean `30s`?",
            "nothing was written",
        ],
    ),
    (
        "--phase pre --container fsfreeze --timeout 30s --on-error Fail",
        0,
        &[
            "pod/nginx-deployment-7d9f8c6b5-x7k2p annotated",
            "annotate deployment/nginx-deployment instead",
        ],
    ),
    (
        "--phase post --container fsfreeze --command",
        0,
        &[
            "pod/nginx-deployment-7d9f8c6b5-x7k2p annotated",
            "warning HV011: post.hook.backup.velero.io/on-error: not set",
        ],
    ),
    (
        "kubectl hooks get -n nginx-example",
        0,
        &[
            "pod/nginx-deployment-7d9f8c6b5-x7k2p   pre     fsfreeze    /sbin/fsfreeze --freeze /var/log/nginx     Fail       30s       ok",
            "pod/nginx-deployment-7d9f8c6b5-x7k2p   post    fsfreeze    /sbin/fsfreeze --unfreeze /var/log/nginx   Continue   30s       1 warning",
        ],
    ),
    (
        "kubectl hooks validate -n nginx-example",
        0,
        &["warning HV011", "1 with hooks: 0 errors, 1 warning"],
    ),
    (
        "kubectl hooks backup create nginx-hook-test",
        0,
        &[
            "1 pod in scope, 1 with hooks",
            "backup.velero.io/nginx-hook-test created",
            "backup nginx-hook-test: Completed, 2 of 2 items backed up",
            "Hooks:            2 attempted, 0 failed",
        ],
    ),
    (
        "kubectl hooks backup describe nginx-hook-test",
        0,
        &[
            "Phase:            Completed",
            "Hooks:            2 attempted, 0 failed",
        ],
    ),
    (
        "kubectl hooks backup logs nginx-hook-test --hooks-only",
        0,
        &[
            "pre     annotation   fsfreeze    [/sbin/fsfreeze --freeze /var/log/nginx]     ok",
            "post    annotation   fsfreeze    [/sbin/fsfreeze --unfreeze /var/log/nginx]   ok",
            "2 hook runs, 0 failed",
        ],
    ),
    (
        "kubectl get backups -n velero",
        0,
        &[
            "NAME              STATUS      ERRORS   WARNINGS   STARTED   AGE",
            "nginx-hook-test   Completed   0        0",
        ],
    ),
];

#[test]
fn the_readme_walkthrough_runs_against_the_demo() {
    let tempdir = tempfile::tempdir().expect("tempdir");
    // The demo prints absolute paths as the process sees them (symbolic links resolved).
    let dir = tempdir.path().canonicalize().expect("tempdir path");
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).expect("bin dir");
    // kubectl runs `kubectl hooks` as the executable `kubectl-hooks` found on PATH.
    std::os::unix::fs::symlink(resolve(kubectl_binary()), bin.join("kubectl"))
        .expect("link kubectl");
    std::os::unix::fs::symlink(plugin_binary(), bin.join("kubectl-hooks")).expect("link plugin");

    let (_demo, printed) = start_demo(&dir);
    let walkthrough = commands(&section_blocks("Try it without a cluster")[1]);

    // The demo prints the README's commands (with absolute paths).
    let root = format!("{}/", dir.display());
    let printed_commands: Vec<String> = printed
        .lines()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("kubectl ") || l.starts_with("export "))
        .map(|l| l.replace(&root, ""))
        .collect();
    let readme_commands: Vec<String> = walkthrough.iter().map(|c| c.replace("$PWD/", "")).collect();
    assert_eq!(
        printed_commands, readme_commands,
        "the demo prints the README's walkthrough"
    );

    let mut exports = vec![];
    let mut expected = EXPECTED.iter();
    for command in &walkthrough {
        if command.starts_with("export ") {
            exports.push(command.clone());
            continue;
        }
        let (key, code, texts) = expected
            .next()
            .unwrap_or_else(|| panic!("no expectation for README command {command:?}"));
        assert!(
            command.contains(key),
            "README command {command:?} is not the expected {key:?}"
        );
        let output = run(&dir, &bin, &exports, command);
        let seen = format!("{}{}", stdout(&output), stderr(&output));
        assert_eq!(
            output.status.code(),
            Some(*code),
            "exit status of {command}\n{seen}"
        );
        for text in *texts {
            assert!(
                seen.contains(text),
                "{command}: expected {text:?} in\n{seen}"
            );
        }
    }
    assert!(
        expected.next().is_none(),
        "the README lost walkthrough commands"
    );
}
