//! Shared test set-up: an emulator, a kubeconfig for it, a kube client, kubectl.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube_emulator::{Emulator, EmulatorConfig, RunningEmulator};

pub struct Harness {
    pub emu: RunningEmulator,
    pub client: kube::Client,
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

pub async fn start(config: EmulatorConfig) -> Harness {
    let emu = Emulator::start(config).await.expect("emulator starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    emu.write_kubeconfig(&kubeconfig, "emulator", "default")
        .expect("write kubeconfig");
    let client = client_for(&kubeconfig).await;
    Harness {
        emu,
        client,
        kubeconfig,
        _dir: dir,
    }
}

pub async fn client_for(kubeconfig: &Path) -> kube::Client {
    let kc = Kubeconfig::read_from(kubeconfig).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kube config");
    kube::Client::try_from(config).expect("kube client")
}

/// The kubectl these tests run: `$KUBECTL`, else the pinned one `scripts/install-tools.sh`
/// puts in `.tools/bin`, else `kubectl` on PATH. Panics when there is none: these tests
/// must fail, not skip, without kubectl.
pub fn kubectl_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return PathBuf::from(path);
    }
    let pinned = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/bin/kubectl");
    if pinned.is_file() {
        return pinned;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "kubectl not found: run `scripts/install-tools.sh` (installs it into .tools/bin), \
                 put kubectl on PATH, or set KUBECTL=/path/to/kubectl"
            )
        })
}

/// Run kubectl against the harness; panics (with kubectl's stderr) when it fails.
pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = kubectl_output(kubeconfig, args);
    assert!(
        out.status.success(),
        "kubectl {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Run kubectl and return its output whatever the exit status.
pub fn kubectl_output(kubeconfig: &Path, args: &[&str]) -> std::process::Output {
    Command::new(kubectl_binary())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env_remove("KUBECONFIG")
        .env("HOME", kubeconfig.parent().expect("dir")) // keep kubectl's discovery cache per test
        .output()
        .expect("run kubectl")
}
