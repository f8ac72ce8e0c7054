//! Objects to start with: multi-document YAML files and generated, realistic
//! workloads (some carrying Velero backup-hook annotations).

use anyhow::Context;
use serde_json::{Value, json};

/// Parse a multi-document YAML (or JSON) text into objects. `kind: List`
/// documents are flattened; empty documents are skipped.
pub fn parse_documents(text: &str) -> anyhow::Result<Vec<Value>> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).context("parse YAML documents")?;
    let mut out = vec![];
    for doc in docs {
        match doc {
            Value::Null => {}
            Value::Object(ref m)
                if m.get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k == "List" || k.ends_with("List"))
                    && m.contains_key("items") =>
            {
                out.extend(m["items"].as_array().cloned().unwrap_or_default());
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Hook annotation sets the generator cycles through (valid and not).
const HOOK_VARIANTS: &[&[(&str, &str)]] = &[
    &[],
    &[
        ("pre.hook.backup.velero.io/container", "fsfreeze"),
        (
            "pre.hook.backup.velero.io/command",
            r#"["/sbin/fsfreeze","--freeze","/var/log/nginx"]"#,
        ),
        ("post.hook.backup.velero.io/container", "fsfreeze"),
        (
            "post.hook.backup.velero.io/command",
            r#"["/sbin/fsfreeze","--unfreeze","/var/log/nginx"]"#,
        ),
    ],
    &[],
    &[
        (
            "pre.hook.backup.velero.io/command",
            r#"["/bin/sh","-c","pg_dump -U postgres > /backup/db.sql"]"#,
        ),
        ("pre.hook.backup.velero.io/timeout", "5m"),
        ("pre.hook.backup.velero.io/on-error", "Fail"),
    ],
    &[
        (
            "pre.hook.backup.velero.io/command",
            "/sbin/fsfreeze --freeze /data",
        ),
        ("pre.hook.backup.velero.io/timeout", "30"),
    ],
    &[],
    &[
        ("pre.hook.backup.velero.io/container", "sidecar-missing"),
        ("pre.hook.backup.velero.io/command", r#"["sync"]"#),
    ],
    &[(
        "hook.backup.velero.io/command",
        r#"["/usr/bin/redis-cli","save"]"#,
    )],
];

/// `n` pods spread over `namespaces` namespaces (`team-0`, `team-1`, ...):
/// the Namespace objects first, then pods with two containers (app + fsfreeze
/// sidecar), owner references, running status, and hook annotations on a
/// share of them.
pub fn generate_pods(n: usize, namespaces: usize) -> Vec<Value> {
    let namespaces = namespaces.max(1);
    let mut out: Vec<Value> = (0..namespaces)
        .map(|i| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("team-{i}"), "labels": {"team": format!("team-{i}")}}}))
        .collect();
    let apps = ["nginx", "postgres", "redis", "api", "worker"];
    for i in 0..n {
        let ns = format!("team-{}", i % namespaces);
        let app = apps[i % apps.len()];
        let hooks = HOOK_VARIANTS[i % HOOK_VARIANTS.len()];
        let annotations: serde_json::Map<String, Value> = hooks
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let rs = format!("{app}-{:x}", 0x5d8f9c7b4u64 + (i / apps.len()) as u64 % 7);
        let phase = if i % 17 == 0 { "Pending" } else { "Running" };
        let running = phase == "Running";
        let container_status = |name: &str, image: &str| {
            json!({
                "name": name, "image": image, "ready": running, "restartCount": (i % 11 == 0) as u8, "started": running,
                "state": if running { json!({"running": {"startedAt": "2025-01-01T00:00:00Z"}}) } else { json!({"waiting": {"reason": "ContainerCreating"}}) },
            })
        };
        let image = match app {
            "nginx" => "nginx:1.27.3",
            "postgres" => "postgres:16.4",
            "redis" => "redis:7.4",
            _ => "registry.example.com/shop/app:2.3.1",
        };
        out.push(json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": format!("{rs}-{}", suffix(i)),
                "namespace": ns,
                "labels": {"app": app, "pod-template-hash": rs.rsplit('-').next().unwrap_or("")},
                "annotations": annotations,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                    "uid": "0b9e1c2a-1111-4222-8333-444455556666", "controller": true, "blockOwnerDeletion": true}],
            },
            "spec": {
                "containers": [
                    {"name": app, "image": image, "ports": [{"containerPort": 8080, "name": "http"}],
                     "volumeMounts": [{"name": "data", "mountPath": "/var/log/nginx"}]},
                    {"name": "fsfreeze", "image": "ubuntu:24.04", "command": ["/bin/bash", "-c", "sleep infinity"],
                     "securityContext": {"privileged": true}, "volumeMounts": [{"name": "data", "mountPath": "/var/log/nginx"}]},
                ],
                "volumes": [{"name": "data", "emptyDir": {}}],
                "nodeName": format!("node-{}", i % 3),
            },
            "status": {
                "phase": phase,
                "podIP": format!("10.244.{}.{}", (i / 250) % 250, i % 250 + 2),
                "containerStatuses": [container_status(app, image), container_status("fsfreeze", "ubuntu:24.04")],
            },
        }));
    }
    out
}

/// Deterministic, distinct 5-character pod-name suffixes in the name
/// generator's alphabet (a bijective scramble of `i`, so no two collide
/// below 27^5).
fn suffix(i: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    const SPACE: usize = 27 * 27 * 27 * 27 * 27;
    // 7919 is coprime with 27, so this is a permutation of 0..SPACE.
    let mut x = (i % SPACE * 7919 + 12345) % SPACE;
    (0..5)
        .map(|_| {
            let c = ALPHABET[x % 27] as char;
            x /= 27;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_documents() {
        let docs = parse_documents("a: 1\n---\n---\nkind: List\nitems:\n- b: 2\n- c: 3\n").unwrap();
        assert_eq!(
            docs,
            vec![json!({"a": 1}), json!({"b": 2}), json!({"c": 3})]
        );
    }

    #[test]
    fn generated_names_are_unique() {
        let pods = generate_pods(500, 3);
        let mut names: Vec<String> = pods
            .iter()
            .filter(|p| p["kind"] == "Pod")
            .map(|p| format!("{}/{}", p["metadata"]["namespace"], p["metadata"]["name"]))
            .collect();
        let total = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), total);
        assert_eq!(total, 500);
    }
}
