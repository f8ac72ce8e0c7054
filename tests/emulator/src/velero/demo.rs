//! The demo cluster (`kube-emulator --demo`): Velero's nginx example and Velero itself, as
//! `velero install` and `kubectl apply -f examples/nginx-app/with-pv.yaml` leave a real
//! cluster once its controllers have run: Velero's CRDs, the `velero` namespace with a
//! running Velero Deployment and the `default` BackupStorageLocation, and the
//! `nginx-example` namespace with the nginx Deployment, its ReplicaSet and running pod, its
//! bound PersistentVolumeClaim and its Service. The pod template carries no hooks: the
//! walkthrough adds them, as Velero's backup-hooks docs do with `kubectl annotate`.

use std::path::Path;

use serde_json::{Value, json};

use crate::{ApiError, Store};

/// Velero's image in `velero install` (a released version).
const VELERO_IMAGE: &str = "velero/velero:v1.18.2";

/// Creates the demo's objects in `store`.
pub fn seed(store: &Store) -> Result<(), ApiError> {
    for crd in super::custom_resource_definitions() {
        store.create(crd)?;
    }
    seed_velero(store)?;
    seed_nginx(store)
}

/// `velero install`'s objects in namespace `velero` (`pkg/install/resources.go`,
/// `deployment.go`): labels `component: velero`, pods selected by `deploy: velero`.
fn seed_velero(store: &Store) -> Result<(), ApiError> {
    let labels = json!({"component": "velero"});
    store.create(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "velero", "labels": labels}}))?;
    store.create(json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "velero", "namespace": "velero", "labels": labels}}))?;
    store.create(json!({"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
        "metadata": {"name": "default", "namespace": "velero", "labels": labels},
        "spec": {"provider": "aws", "default": true,
            "objectStorage": {"bucket": "velero"},
            "config": {"region": "minio", "s3ForcePathStyle": "true", "s3Url": "http://minio.velero.svc:9000"}},
        "status": {"phase": "Available", "lastValidationTime": crate::meta::now_rfc3339()}}))?;
    let template = json!({
        "metadata": {"labels": {"component": "velero", "deploy": "velero"}},
        "spec": {"serviceAccountName": "velero", "restartPolicy": "Always",
            "containers": [{"name": "velero", "image": VELERO_IMAGE, "command": ["/velero"],
                "args": ["server", "--uploader-type=kopia"],
                "ports": [{"name": "metrics", "containerPort": 8085}]}]},
    });
    deployment_with_pod(
        store,
        "velero",
        "velero",
        &labels,
        json!({"deploy": "velero"}),
        template,
    )
}

/// Velero's `examples/nginx-app/with-pv.yaml` (images as in this repository's
/// `examples/good/nginx-fsfreeze.yaml`), without its hook annotations.
fn seed_nginx(store: &Store) -> Result<(), ApiError> {
    let ns = "nginx-example";
    let app = json!({"app": "nginx"});
    store.create(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": app}}))?;
    store.create(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "nginx-logs", "namespace": ns, "labels": app},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Mi"}},
            "storageClassName": "standard", "volumeName": "pvc-6f1c0e0e-5b7a-4c1e-9d5a-2f4b8e9c3a71"},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "50Mi"}}}))?;
    store.create(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "my-nginx", "namespace": ns, "labels": app},
        "spec": {"type": "LoadBalancer", "selector": app, "ports": [{"port": 80, "targetPort": 80}]}}))?;
    let mount = json!([{"mountPath": "/var/log/nginx", "name": "nginx-logs", "readOnly": false}]);
    let template = json!({
        "metadata": {"labels": app},
        "spec": {
            "volumes": [{"name": "nginx-logs", "persistentVolumeClaim": {"claimName": "nginx-logs"}}],
            "containers": [
                {"name": "nginx", "image": "nginx:1.27.3", "ports": [{"containerPort": 80}], "volumeMounts": mount},
                {"name": "fsfreeze", "image": "ubuntu:noble", "securityContext": {"privileged": true},
                 "volumeMounts": mount, "command": ["/bin/bash", "-c", "sleep infinity"]},
            ],
        },
    });
    deployment_with_pod(store, ns, "nginx-deployment", &json!({}), app, template)
}

fn owner_reference(owner: &Value) -> Value {
    json!([{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
        "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
        "controller": true, "blockOwnerDeletion": true}])
}

/// A Deployment with one replica, and what its controllers would have made of it: a
/// ReplicaSet (`<name>-<pod-template-hash>`) and a Running, Ready pod it owns.
fn deployment_with_pod(
    store: &Store,
    ns: &str,
    name: &str,
    labels: &Value,
    selector: Value,
    template: Value,
) -> Result<(), ApiError> {
    let hash = "7d9f8c6b5";
    let ready =
        json!({"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "observedGeneration": 1});
    let mut status = ready.clone();
    status["updatedReplicas"] = json!(1);
    status["conditions"] = json!([{"type": "Available", "status": "True",
        "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."}]);
    let deployment = store.create(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": selector}, "template": template},
        "status": status}))?;

    let mut pod_template = template.clone();
    pod_template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let mut rs_selector = selector.clone();
    rs_selector["pod-template-hash"] = json!(hash);
    let mut rs_status = ready;
    rs_status["fullyLabeledReplicas"] = json!(1);
    let rs_name = format!("{name}-{hash}");
    let replica_set = store.create(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": rs_name, "namespace": ns, "labels": pod_template["metadata"]["labels"],
            "ownerReferences": owner_reference(&deployment)},
        "spec": {"replicas": 1, "selector": {"matchLabels": rs_selector}, "template": pod_template},
        "status": rs_status}))?;

    let now = crate::meta::now_rfc3339();
    let containers = template["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let container_statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "ready": true, "started": true,
            "restartCount": 0, "state": {"running": {"startedAt": now}}})
        })
        .collect();
    let mut spec = pod_template["spec"].clone();
    spec["nodeName"] = json!("demo-node");
    store.create(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{rs_name}-x7k2p"), "namespace": ns,
            "labels": pod_template["metadata"]["labels"],
            "ownerReferences": owner_reference(&replica_set)},
        "spec": spec,
        "status": {"phase": "Running", "podIP": "10.244.0.12", "hostIP": "172.18.0.2", "startTime": now,
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}],
            "containerStatuses": container_statuses}}))?;
    Ok(())
}

/// The walkthrough of the top-level README ("Try it without a cluster"), with this demo's
/// kubeconfig and fake Velero CA.
pub fn instructions(kubeconfig: &Path, velero_ca: &Path) -> String {
    format!(
        "\
Try it in another terminal (with `kubectl hooks` installed: cargo install --locked --path kubectl-hooks):

  export KUBECONFIG={kubeconfig}
  kubectl get pods -n nginx-example
  kubectl hooks annotate pods -n nginx-example -l app=nginx --phase pre --container fsfreeze --timeout 30 --command '[\"/sbin/fsfreeze\", \"--freeze\", \"/var/log/nginx\"]'
  kubectl hooks annotate pods -n nginx-example -l app=nginx --phase pre --container fsfreeze --timeout 30s --on-error Fail --command '[\"/sbin/fsfreeze\", \"--freeze\", \"/var/log/nginx\"]'
  kubectl hooks annotate pods -n nginx-example -l app=nginx --phase post --container fsfreeze --command '[\"/sbin/fsfreeze\", \"--unfreeze\", \"/var/log/nginx\"]'
  kubectl hooks get -n nginx-example
  kubectl hooks validate -n nginx-example
  kubectl hooks backup create nginx-hook-test --include-namespaces nginx-example --wait
  kubectl hooks backup describe nginx-hook-test
  kubectl hooks backup logs nginx-hook-test --hooks-only --cacert {velero_ca}
  kubectl get backups -n velero

The fake Velero runs no commands: /bin/false fails, /bin/echo ARGS prints ARGS, /bin/sleep
times out, anything else succeeds.
",
        kubeconfig = kubeconfig.display(),
        velero_ca = velero_ca.display(),
    )
}
