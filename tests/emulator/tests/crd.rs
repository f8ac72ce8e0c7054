//! CustomResourceDefinitions applied with the real kubectl make the emulator serve their
//! resources (discovery, create, get with the CRD's columns, list, watch, delete), and a
//! real manifest's core kinds (the repository's nginx example) can be seeded and applied.

mod common;

use std::time::Duration;

use common::{kubectl, kubectl_output};
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, WatchEvent, WatchParams};
use kube_emulator::{EmulatorConfig, seed};
use serde_json::json;

const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    kind: Widget
    listKind: WidgetList
    plural: widgets
    singular: widget
    shortNames: [wd]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
    additionalPrinterColumns:
    - name: Size
      type: integer
      jsonPath: .spec.size
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
"#;

const WIDGET: &str = r#"
apiVersion: example.com/v1
kind: Widget
metadata:
  name: small
  namespace: default
spec:
  size: 3
"#;

fn widgets(client: kube::Client) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: "example.com".into(),
        version: "v1".into(),
        api_version: "example.com/v1".into(),
        kind: "Widget".into(),
        plural: "widgets".into(),
    };
    Api::namespaced_with(client, "default", &resource)
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_apply_of_a_crd_serves_its_resources() {
    let h = common::start(EmulatorConfig::default()).await;
    let dir = h.kubeconfig.parent().expect("dir").to_owned();
    std::fs::write(dir.join("crd.yaml"), WIDGET_CRD).unwrap();
    std::fs::write(dir.join("widget.yaml"), WIDGET).unwrap();
    let crd_path = dir.join("crd.yaml").display().to_string();
    let widget_path = dir.join("widget.yaml").display().to_string();

    let before = kubectl_output(&h.kubeconfig, &["get", "widgets"]);
    assert!(!before.status.success());
    assert!(
        String::from_utf8_lossy(&before.stderr)
            .contains("the server doesn't have a resource type \"widgets\""),
        "{}",
        String::from_utf8_lossy(&before.stderr)
    );

    let applied = kubectl(&h.kubeconfig, &["apply", "-f", &crd_path]);
    assert_eq!(
        applied.trim(),
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"
    );
    let waited = kubectl(
        &h.kubeconfig,
        &[
            "wait",
            "--for",
            "condition=Established",
            "crd/widgets.example.com",
            "--timeout=10s",
        ],
    );
    assert!(waited.contains("condition met"), "{waited}");
    let crds = kubectl(&h.kubeconfig, &["get", "crds"]);
    assert!(
        crds.starts_with("NAME") && crds.contains("widgets.example.com"),
        "{crds}"
    );

    // A watch opened before the first widget exists sees it arrive.
    let api = widgets(h.client.clone());
    let mut watch = api
        .watch(&WatchParams::default().timeout(10), "0")
        .await
        .expect("watch widgets")
        .boxed();

    let created = kubectl(&h.kubeconfig, &["apply", "-f", &widget_path]);
    assert_eq!(created.trim(), "widget.example.com/small created");
    let event = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("a watch event in time")
        .expect("an event")
        .expect("no error");
    match event {
        WatchEvent::Added(o) => assert_eq!(o.metadata.name.as_deref(), Some("small")),
        other => panic!("expected ADDED, got {other:?}"),
    }

    let table = kubectl(&h.kubeconfig, &["get", "wd"]);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["NAME", "SIZE", "AGE"], "{table}");
    assert_eq!(&rows[1][..2], ["small", "3"], "{table}");
    assert!(rows[1][2].ends_with('s'), "age in seconds: {table}");

    // Merge patch (kubectl's choice for custom resources), then list through the client.
    kubectl(
        &h.kubeconfig,
        &[
            "patch",
            "widget",
            "small",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"size":5}}"#,
        ],
    );
    let list = api
        .list(&ListParams::default())
        .await
        .expect("list widgets");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].data["spec"]["size"], json!(5));

    // Deleting the definition deletes its resources and stops serving them.
    kubectl(&h.kubeconfig, &["delete", "-f", &crd_path]);
    assert!(
        h.emu
            .store()
            .list("example.com", "v1", "widgets", None)
            .is_err()
    );
    let after = kubectl_output(&h.kubeconfig, &["get", "widgets"]);
    assert!(
        !after.status.success(),
        "widgets still served after the CRD was deleted"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_crd_is_refused_with_the_field_at_fault() {
    let h = common::start(EmulatorConfig::default()).await;
    let path = h.kubeconfig.with_file_name("bad-crd.yaml");
    std::fs::write(
        &path,
        WIDGET_CRD.replace("name: widgets.example.com", "name: widget.example.com"),
    )
    .unwrap();
    let out = kubectl_output(&h.kubeconfig, &["apply", "-f", &path.display().to_string()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"CustomResourceDefinition "widget.example.com" is invalid: metadata.name: Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group"#),
        "{stderr}"
    );

    // Nor may a second definition serve a kind another one serves.
    std::fs::write(&path, WIDGET_CRD).unwrap();
    kubectl(&h.kubeconfig, &["apply", "-f", &path.display().to_string()]);
    let gadgets = WIDGET_CRD
        .replace("widgets.example.com", "gadgets.example.com")
        .replace("plural: widgets", "plural: gadgets")
        .replace("shortNames: [wd]", "shortNames: [gd]");
    std::fs::write(&path, gadgets).unwrap();
    let out = kubectl_output(&h.kubeconfig, &["apply", "-f", &path.display().to_string()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("example.com/v1/widgets Widget is already served by customresourcedefinition widgets.example.com"),
        "{stderr}"
    );
}

/// The repository's example manifest (Namespace, PersistentVolumeClaim, Deployment, CronJob,
/// StatefulSet) seeds the emulator and applies through kubectl, with Service, ConfigMap, Secret
/// and ServiceAccount next to it.
#[tokio::test(flavor = "multi_thread")]
async fn a_real_manifest_seeds_and_applies() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/good/nginx-fsfreeze.yaml"
    );
    let text = std::fs::read_to_string(example).expect("read the example");
    let seeded =
        common::start(EmulatorConfig::default().seed(seed::parse_documents(&text).unwrap())).await;
    let pvc = kubectl(&seeded.kubeconfig, &["get", "pvc", "-n", "nginx-example"]);
    let header: Vec<&str> = pvc.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS",
            "MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE"
        ],
        "{pvc}"
    );
    assert!(
        pvc.contains("nginx-logs") && pvc.contains("Pending"),
        "{pvc}"
    );

    let h = common::start(EmulatorConfig::default()).await;
    let extra = h.kubeconfig.with_file_name("extra.yaml");
    std::fs::write(
        &extra,
        r#"
apiVersion: v1
kind: Namespace
metadata: {name: nginx-example}
---
apiVersion: v1
kind: Service
metadata: {name: my-nginx, namespace: nginx-example}
spec:
  selector: {app: nginx}
  ports: [{port: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: nginx-conf, namespace: nginx-example}
data: {a: b}
---
apiVersion: v1
kind: Secret
metadata: {name: nginx-tls, namespace: nginx-example}
stringData: {key: value}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: nginx, namespace: nginx-example}
"#,
    )
    .unwrap();
    kubectl(
        &h.kubeconfig,
        &["apply", "-f", &extra.display().to_string()],
    );
    let out = kubectl(&h.kubeconfig, &["apply", "-f", example]);
    for line in [
        "namespace/nginx-example configured", // the example adds a label
        "persistentvolumeclaim/nginx-logs created",
        "deployment.apps/nginx-deployment created",
        "cronjob.batch/pg-dump created",
        "statefulset.apps/redis created",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    let names = kubectl(
        &h.kubeconfig,
        &[
            "get",
            "svc,cm,secret,sa,pvc",
            "-n",
            "nginx-example",
            "-o",
            "name",
        ],
    );
    for name in [
        "service/my-nginx",
        "configmap/nginx-conf",
        "secret/nginx-tls",
        "serviceaccount/nginx",
        "persistentvolumeclaim/nginx-logs",
    ] {
        assert!(
            names.lines().any(|l| l == name),
            "missing {name} in:\n{names}"
        );
    }
}
