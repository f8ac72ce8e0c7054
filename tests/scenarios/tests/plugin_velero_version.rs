//! Online commands predict the Velero release the cluster runs: the image tag of the Velero
//! Deployment in `--velero-namespace`, unless `--velero-version` names one; they say on
//! stderr which release they used, and their verdicts follow it.

use scenarios::backend::{expect_exit, stderr};
use scenarios::velero::{FakeVeleroConfig, VeleroWorld};
use serde_json::{Value, json};

fn velero_deployment(namespace: &str, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "velero", "namespace": namespace, "labels": {"component": "velero"}},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"deploy": "velero"}},
                    "template": {"metadata": {"labels": {"deploy": "velero"}},
                                 "spec": {"containers": [{"name": "velero", "image": image}]}}}})
}

/// A pod whose pre hook runs in a native sidecar: refused before Velero main (PR #9403), and
/// with a negative timeout, whose meaning changed on main (PR #10125).
fn sidecar_pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "db-0", "namespace": "shop", "annotations": {
               "pre.hook.backup.velero.io/container": "proxy",
               "pre.hook.backup.velero.io/command": "[\"/bin/sync\"]",
               "pre.hook.backup.velero.io/timeout": "-1s"}},
           "spec": {"initContainers": [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}],
                    "containers": [{"name": "db", "image": "postgres"}]},
           "status": {"phase": "Running"}})
}

fn world(deployment: Option<Value>) -> VeleroWorld {
    let mut seed = vec![sidecar_pod()];
    seed.extend(deployment);
    VeleroWorld::start(FakeVeleroConfig::default(), seed)
}

fn codes_and_messages(out: &std::process::Output) -> (Vec<String>, String) {
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)));
    let text = report.to_string();
    let mut codes: Vec<String> = report["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|o| o["findings"].as_array().cloned().unwrap_or_default())
        .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
        .collect();
    codes.sort();
    (codes, text)
}

#[test]
fn the_release_in_velero_s_image_tag_is_predicted_and_named() {
    let world = world(Some(velero_deployment("velero", "velero/velero:v1.14.1")));
    let out = world.hooks(&["-n", "shop", "validate", "-o", "json"]);
    let err = stderr(&out);
    assert!(
        err.contains(
            "Predicting Velero 1.14.1, deployment velero -n velero runs velero/velero:v1.14.1"
        ),
        "{err}"
    );
    let (codes, text) = codes_and_messages(&out);
    assert_eq!(out.status.code(), Some(1), "{err}\n{text}");
    assert!(
        codes.contains(&"HV031".to_owned()),
        "sidecar refused on 1.14.1: {codes:?}"
    );
    assert!(
        text.contains("Velero 1.14.1 applies no time limit at all"),
        "negative timeout as 1.14.1 reads it:\n{text}"
    );
}

#[test]
fn an_explicit_release_wins_and_changes_the_verdict() {
    let world = world(Some(velero_deployment("velero", "velero/velero:v1.14.1")));
    let out = world.hooks(&[
        "-n",
        "shop",
        "validate",
        "-o",
        "json",
        "--velero-version",
        "main",
    ]);
    let err = stderr(&out);
    assert!(
        !err.contains("Predicting"),
        "no detection when asked: {err}"
    );
    let (codes, text) = codes_and_messages(&out);
    assert!(
        !codes.contains(&"HV031".to_owned()),
        "main runs hooks in sidecars: {codes:?}"
    );
    assert!(text.contains("Velero main uses the default 30s"), "{text}");
}

#[test]
fn velero_in_another_namespace_is_found_with_velero_namespace() {
    let world = world(Some(velero_deployment(
        "backup-system",
        "registry:5000/velero/velero:v1.16.0@sha256:0123",
    )));
    let out = world.hooks(&[
        "-n",
        "shop",
        "get",
        "pods",
        "--velero-namespace",
        "backup-system",
    ]);
    let err = stderr(&out);
    expect_exit(&out, 0);
    assert!(
        err.contains("Predicting Velero 1.16.0, deployment velero -n backup-system"),
        "{err}"
    );
}

#[test]
fn without_a_velero_deployment_the_latest_release_is_predicted_and_said() {
    let world = world(None);
    let out = world.hooks(&["-n", "shop", "get", "pods"]);
    let err = stderr(&out);
    expect_exit(&out, 0);
    assert!(
        err.contains(
            "Predicting Velero 1.18.2, the latest release: no Velero deployment in namespace velero"
        ),
        "{err}"
    );
}

#[test]
fn an_image_without_a_release_tag_falls_back_to_the_latest_release() {
    let world = world(Some(velero_deployment("velero", "velero/velero:latest")));
    let out = world.hooks(&["-n", "shop", "get", "pods"]);
    let err = stderr(&out);
    assert!(
        err.contains("Predicting Velero 1.18.2, the latest release: the image of deployment velero -n velero (velero/velero:latest) names no release"),
        "{err}"
    );
}

#[test]
fn main_images_and_releases_this_build_does_not_know_are_said() {
    for (image, said) in [
        (
            "velero/velero:main",
            "Predicting Velero main, deployment velero -n velero runs velero/velero:main (",
        ),
        (
            "velero/velero:v1.11.0",
            "Predicting Velero 1.12.0, deployment velero -n velero runs velero/velero:v1.11.0, Velero 1.11.0, which this build does not know",
        ),
        (
            "velero/velero:v1.18.9",
            "Predicting Velero 1.18.2, deployment velero -n velero runs velero/velero:v1.18.9, Velero 1.18.9, which this build does not know",
        ),
    ] {
        let world = world(Some(velero_deployment("velero", image)));
        let out = world.hooks(&["-n", "shop", "get", "pods"]);
        let err = stderr(&out);
        assert!(err.contains(said), "{image}: {err}");
    }
}
