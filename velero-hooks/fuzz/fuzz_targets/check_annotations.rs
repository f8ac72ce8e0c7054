//! Arbitrary annotation maps on a pod with arbitrary containers: checking and normalising
//! must never panic, and normalising must be idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use velero_hooks::normalize::{Normalizations, normalize};
use velero_hooks::{VeleroVersion, check_object};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Lines alternate key / value; the first line lists container names.
    let mut lines = text.split('\n');
    let containers: Vec<Value> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(|name| json!({"name": name}))
        .collect();
    let mut annotations = serde_json::Map::new();
    while let (Some(key), Some(value)) = (lines.next(), lines.next()) {
        annotations.insert(key.to_owned(), Value::String(value.to_owned()));
    }
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "fuzz", "annotations": annotations},
        "spec": {"containers": containers}
    });
    for version in [VeleroVersion::LATEST_RELEASE, VeleroVersion::MAIN] {
        let _ = check_object(&pod, version);
        let all = Normalizations { pin_container: true, json_command: true, explicit_defaults: true, migrate_legacy: true };
        let ops = normalize(&pod, version, all);
        let mut patched = pod.clone();
        if json_patch::patch(&mut patched, &ops).is_ok() {
            assert!(normalize(&patched, version, all).is_empty());
        }
    }
});
