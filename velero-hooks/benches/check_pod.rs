//! Validating one realistic pod: three containers, pre and post backup hooks.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;
use velero_hooks::{PodView, VeleroVersion, check_object, check_pod};

fn realistic_pod() -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "nginx-7d9f8b6c5-x2k4q", "namespace": "shop",
            "labels": {"app": "nginx", "pod-template-hash": "7d9f8b6c5"},
            "annotations": {
                "pre.hook.backup.velero.io/container": "fsfreeze",
                "pre.hook.backup.velero.io/command": "[\"/sbin/fsfreeze\", \"--freeze\", \"/var/log/nginx\"]",
                "pre.hook.backup.velero.io/on-error": "Fail",
                "pre.hook.backup.velero.io/timeout": "1m",
                "post.hook.backup.velero.io/container": "fsfreeze",
                "post.hook.backup.velero.io/command": "[\"/sbin/fsfreeze\", \"--unfreeze\", \"/var/log/nginx\"]",
                "post.hook.backup.velero.io/on-error": "Continue",
                "kubectl.kubernetes.io/restartedAt": "2026-11-20T10:00:00Z",
                "prometheus.io/scrape": "true"
            }
        },
        "spec": {
            "containers": [
                {"name": "nginx", "image": "nginx:1.27.3", "ports": [{"containerPort": 80}]},
                {"name": "fsfreeze", "image": "ubuntu:noble", "securityContext": {"privileged": true}},
                {"name": "exporter", "image": "nginx/nginx-prometheus-exporter:1.4"}
            ]
        }
    })
}

fn bench(c: &mut Criterion) {
    let pod = realistic_pod();
    c.bench_function(
        "check_pod (parsed JSON, 3 containers, pre+post hooks)",
        |b| {
            b.iter(|| {
                let view = PodView::from_json(pod.get("metadata"), pod.get("spec"));
                black_box(check_pod(black_box(&view), VeleroVersion::LATEST_RELEASE))
            })
        },
    );
    c.bench_function("check_object (same pod, with report and pointers)", |b| {
        b.iter(|| black_box(check_object(black_box(&pod), VeleroVersion::LATEST_RELEASE)))
    });
    let text = serde_json::to_string(&pod).unwrap();
    c.bench_function("parse JSON + check_object (same pod)", |b| {
        b.iter(|| {
            let value: serde_json::Value = serde_json::from_str(black_box(&text)).unwrap();
            black_box(check_object(&value, VeleroVersion::LATEST_RELEASE))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
