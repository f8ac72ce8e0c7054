//! The real kubectl (the pinned one in `.tools/bin`) against the emulator. These tests fail (they
//! do not skip) when kubectl is missing.

mod common;

use common::{kubectl, kubectl_output};
use kube_emulator::{EmulatorConfig, seed};
use serde_json::Value;

const MANIFEST: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
      annotations:
        pre.hook.backup.velero.io/container: fsfreeze
        pre.hook.backup.velero.io/command: '["/sbin/fsfreeze","--freeze","/var/log/nginx"]'
    spec:
      containers:
      - name: web
        image: nginx:1.27
      - name: fsfreeze
        image: ubuntu:24.04
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: shop
data: {a: b}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn get_pods_all_namespaces_prints_a_table() {
    let h = common::start(EmulatorConfig::default().seed(seed::generate_pods(12, 2))).await;
    let out = kubectl(&h.kubeconfig, &["get", "pods", "-A"]);
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{out}"
    );
    assert_eq!(lines.count(), 12, "{out}");
    assert!(out.contains("team-1") && out.contains("Running"), "{out}");

    let wide = kubectl(&h.kubeconfig, &["get", "po", "-n", "team-0", "-o", "wide"]);
    assert!(wide.lines().next().unwrap().contains("NODE"), "{wide}");

    let names = kubectl(
        &h.kubeconfig,
        &[
            "get",
            "pods",
            "-n",
            "team-0",
            "-l",
            "app in (nginx,redis)",
            "-o",
            "name",
        ],
    );
    assert!(
        names
            .lines()
            .all(|l| l.starts_with("pod/nginx-") || l.starts_with("pod/redis-")),
        "{names}"
    );
    // Chunked listing (kubectl's --chunk-size uses limit/continue).
    let chunked = kubectl(
        &h.kubeconfig,
        &["get", "pods", "-A", "--chunk-size=5", "-o", "name"],
    );
    assert_eq!(chunked.lines().count(), 12, "{chunked}");
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_get_annotate_delete() {
    let h = common::start(EmulatorConfig::default()).await;
    let file = h.kubeconfig.with_file_name("manifest.yaml");
    std::fs::write(&file, MANIFEST).unwrap();
    let file = file.to_str().unwrap();

    let out = kubectl(&h.kubeconfig, &["apply", "-f", file]);
    assert!(
        out.contains("deployment.apps/web created") && out.contains("configmap/cfg created"),
        "{out}"
    );

    // Re-apply with a change: a strategic merge patch of the built-in type.
    std::fs::write(
        file,
        MANIFEST
            .replace("replicas: 2", "replicas: 3")
            .replace("nginx:1.27", "nginx:1.28"),
    )
    .unwrap();
    let out = kubectl(&h.kubeconfig, &["apply", "-f", file]);
    assert!(
        out.contains("deployment.apps/web configured") && out.contains("configmap/cfg unchanged"),
        "{out}"
    );

    let json: Value = serde_json::from_str(&kubectl(
        &h.kubeconfig,
        &["get", "deploy", "-n", "shop", "web", "-o", "json"],
    ))
    .unwrap();
    assert_eq!(json["spec"]["replicas"], 3);
    assert_eq!(json["metadata"]["generation"], 2);
    let containers = json["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 2);
    assert_eq!(containers[0]["image"], "nginx:1.28");
    assert!(
        json["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );

    let list: Value = serde_json::from_str(&kubectl(
        &h.kubeconfig,
        &["get", "deploy", "-n", "shop", "-o", "json"],
    ))
    .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let yaml = kubectl(
        &h.kubeconfig,
        &["get", "deploy", "-n", "shop", "-o", "yaml"],
    );
    assert!(yaml.contains("pre.hook.backup.velero.io/command"), "{yaml}");

    let table = kubectl(&h.kubeconfig, &["get", "deploy", "-n", "shop"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "{table}"
    );

    let out = kubectl(
        &h.kubeconfig,
        &[
            "annotate",
            "-n",
            "shop",
            "deploy/web",
            "backup.velero.io/backup-volumes=data",
        ],
    );
    assert!(out.contains("deployment.apps/web annotated"), "{out}");
    let refused = kubectl_output(
        &h.kubeconfig,
        &[
            "annotate",
            "-n",
            "shop",
            "deploy/web",
            "backup.velero.io/backup-volumes=other",
        ],
    );
    assert!(!refused.status.success());
    kubectl(
        &h.kubeconfig,
        &[
            "annotate",
            "-n",
            "shop",
            "deploy/web",
            "--overwrite",
            "backup.velero.io/backup-volumes=other",
        ],
    );
    let ann = kubectl(
        &h.kubeconfig,
        &[
            "get",
            "deploy",
            "-n",
            "shop",
            "web",
            "-o",
            "jsonpath={.metadata.annotations.backup\\.velero\\.io/backup-volumes}",
        ],
    );
    assert_eq!(ann, "other");

    kubectl(
        &h.kubeconfig,
        &["label", "-n", "shop", "cm/cfg", "tier=config"],
    );
    kubectl(
        &h.kubeconfig,
        &["scale", "-n", "shop", "deploy/web", "--replicas=5"],
    );
    kubectl(
        &h.kubeconfig,
        &[
            "patch",
            "-n",
            "shop",
            "cm/cfg",
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/data/c","value":"d"}]"#,
        ],
    );
    let data = kubectl(
        &h.kubeconfig,
        &["get", "cm", "-n", "shop", "cfg", "-o", "jsonpath={.data.c}"],
    );
    assert_eq!(data, "d");

    // Server-side dry run stores nothing.
    kubectl(
        &h.kubeconfig,
        &["delete", "-n", "shop", "cm/cfg", "--dry-run=server"],
    );
    kubectl(&h.kubeconfig, &["get", "-n", "shop", "cm/cfg"]);

    let out = kubectl(
        &h.kubeconfig,
        &["delete", "-n", "shop", "deploy/web", "cm/cfg"],
    );
    assert!(out.contains("deployment.apps \"web\" deleted"), "{out}");
    let missing = kubectl_output(&h.kubeconfig, &["get", "-n", "shop", "deploy/web"]);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("Error from server (NotFound): deployments.apps \"web\" not found"),
        "{stderr}"
    );

    kubectl(&h.kubeconfig, &["delete", "namespace", "shop"]);
    let gone = kubectl_output(&h.kubeconfig, &["get", "ns", "shop"]);
    assert!(!gone.status.success());
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_and_errors_look_like_a_cluster() {
    let h = common::start(EmulatorConfig::default()).await;
    let resources = kubectl(&h.kubeconfig, &["api-resources"]);
    for short in ["po", "deploy", "sts", "ds", "rs", "rc", "cj"] {
        assert!(
            resources.split_whitespace().any(|w| w == short),
            "short name {short} missing:\n{resources}"
        );
    }
    let version = kubectl(&h.kubeconfig, &["version", "-o", "json"]);
    assert!(version.contains("serverVersion"), "{version}");

    let out = kubectl_output(&h.kubeconfig, &["get", "pods", "-n", "default", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pods \"nope\" not found"));

    let out = kubectl_output(&h.kubeconfig, &["get", "widgets"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the server doesn't have a resource type \"widgets\"")
    );

    // A wrong token: kubectl reports the 401.
    let text = std::fs::read_to_string(&h.kubeconfig)
        .unwrap()
        .replace(h.emu.token(), "nope");
    let bad = h.kubeconfig.with_file_name("bad-kubeconfig");
    std::fs::write(&bad, text).unwrap();
    let out = kubectl_output(&bad, &["get", "pods"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Unauthorized") || stderr.contains("must be logged in"),
        "{stderr}"
    );
    h.emu.shutdown().await;
}
