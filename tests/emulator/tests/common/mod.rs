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

pub const KUBECTL: &str = "/usr/bin/kubectl";

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

/// Run kubectl and return its output whatever the exit status. Panics when
/// kubectl is missing: these tests must fail, not skip, without it.
pub fn kubectl_output(kubeconfig: &Path, args: &[&str]) -> std::process::Output {
    assert!(
        Path::new(KUBECTL).exists(),
        "{KUBECTL} is required by these tests but is missing"
    );
    Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env_remove("KUBECONFIG")
        .env("HOME", kubeconfig.parent().expect("dir")) // keep kubectl's discovery cache per test
        .output()
        .expect("run kubectl")
}
