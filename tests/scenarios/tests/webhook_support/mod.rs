//! Running the real `velero-hooks-webhook` binary for the webhook scenarios.

#![allow(dead_code)]

/// The webhook's own test client (rustls + hyper, HTTP/1.1 or HTTP/2), shared rather than
/// copied so both suites speak to the server the same way.
#[path = "../../../../webhook/tests/common/client.rs"]
pub mod client;

pub mod attack;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `target/<profile>/velero-hooks-webhook`, next to this test's `deps/` directory. Built
/// when missing or older than its sources, so `cargo nextest run --workspace` (which builds
/// it) or `-p scenarios` alone both work. Not rebuilt otherwise: a build for one package
/// unifies features differently from the workspace build and would recompile TLS crates.
pub fn binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test executable");
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("target/<profile>/deps/<test>");
            built(profile_dir)
        })
        .clone()
}

/// `target/release/velero-hooks-webhook`, whatever the test's own profile: what users run,
/// for the scenarios that measure memory. Built when missing or stale.
pub fn release_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test executable");
            let target = exe
                .parent()
                .and_then(Path::parent)
                .and_then(Path::parent)
                .expect("target/<profile>/deps/<test>");
            built(&target.join("release"))
        })
        .clone()
}

/// The binary in `profile_dir`, built first when missing or stale.
fn built(profile_dir: &Path) -> PathBuf {
    let binary = profile_dir.join("velero-hooks-webhook");
    if !stale(&binary) {
        return binary;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    build.args([
        "build",
        "-p",
        "velero-hooks-webhook",
        "--bin",
        "velero-hooks-webhook",
    ]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo build");
    assert!(
        status.success(),
        "cargo build -p velero-hooks-webhook failed"
    );
    assert!(binary.exists(), "{} missing after build", binary.display());
    binary
}

fn stale(binary: &Path) -> bool {
    let Ok(built) = binary.metadata().and_then(|m| m.modified()) else {
        return true;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![root.join("webhook/src"), root.join("velero-hooks/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t > built)
            {
                return true;
            }
        }
    }
    false
}

/// A running server process, killed if the test ends without stopping it.
pub struct Webhook {
    pub child: Child,
    pub https: SocketAddr,
    pub metrics: SocketAddr,
    /// The CA bundle printed by --self-signed.
    pub ca_pem: Option<String>,
    /// Every stderr (log) line so far.
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Webhook {
    /// Starts the binary on ephemeral ports with `args` and waits for its "listening" log.
    pub fn start(args: &[&str]) -> Webhook {
        Self::start_binary(&binary(), args, &[])
    }

    /// [`Webhook::start`] with a given binary and environment variables.
    pub fn start_binary(binary: &Path, args: &[&str], envs: &[(&str, &str)]) -> Webhook {
        let mut child = Command::new(binary)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
            ])
            .args(args)
            .env_remove("VELERO_HOOKS_CONFIG")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start velero-hooks-webhook");
        let self_signed = args.contains(&"--self-signed");
        let ca_pem = self_signed.then(|| {
            let mut pem = String::new();
            let mut stdout = BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            while stdout.read_line(&mut line).unwrap() > 0 {
                if !line.starts_with('#') {
                    pem.push_str(&line);
                }
                let done = line.starts_with("-----END CERTIFICATE-----");
                line.clear();
                if done {
                    break;
                }
            }
            // Keep the pipe open (and drained) for whatever the server prints next.
            std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
            pem
        });
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(event) = serde_json::from_str::<Value>(&line)
                    && event["message"] == "listening"
                {
                    let _ = tx.send(event);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let event = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no listening log; logs: {:?}", logs.lock().unwrap()));
        let addr = |field: &str| event[field].as_str().unwrap().parse().unwrap();
        Webhook {
            https: addr("https"),
            metrics: addr("metrics"),
            child,
            ca_pem,
            logs,
        }
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit code.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../webhook/tests/fixtures")
        .join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
