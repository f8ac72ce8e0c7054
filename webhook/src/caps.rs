//! Caps on what one review may cost, in CPU and in the size of its answer.
//!
//! A pod may carry tens of thousands of annotation keys that look like misspelt hook keys
//! (one 2.8 MB review carried 47,000). The library checks each against every catalogued
//! key by edit distance, and reports each; uncapped, that was 2 s of CPU and an 8.4 MB
//! denial. Here the object is trimmed to a fixed number of such keys before the rules see
//! it, and the denial is cut to whole lines within a byte limit; both say how many more
//! were left out.

use serde_json::Value;
use velero_hooks::keys;
use velero_hooks::workload::locate;

/// An object with the unknown keys past the limit removed from its annotations.
#[derive(Debug, Clone)]
pub struct Trimmed {
    pub object: Value,
    /// Keys removed (not checked).
    pub unchecked: usize,
}

/// Whether an annotation key costs an edit-distance check in the library: not a
/// catalogued key, but mentioning one of the words of Velero's keys. This is the library's
/// own cheap pre-filter (`velero_hooks::keys::looks_like_hook_key`); keys without these
/// words are skipped there at the cost of a few substring searches, so they are never
/// trimmed (a test checks that every key the library reports passes this filter).
pub fn costs_a_typo_check(key: &str) -> bool {
    if keys::lookup(key).is_some() {
        return false;
    }
    let lower = key.to_ascii_lowercase();
    ["velero", "hook", "backup", "restore"]
        .iter()
        .any(|word| lower.contains(word))
}

/// `object` without the typo-check keys past the first `max` of each annotation map (pod
/// metadata and a workload's own metadata), or `None` when no map has more than `max`.
/// Keys are kept in the map's (sorted) order, so the same object is always trimmed the
/// same way and an UPDATE compares like with like.
pub fn trim_unknown_keys(object: &Value, max: usize) -> Option<Trimmed> {
    let template = locate(object)?;
    let over = |metadata: Option<&Value>| {
        metadata
            .and_then(|m| m.get("annotations"))
            .and_then(Value::as_object)
            .is_some_and(|map| {
                map.keys()
                    .filter(|k| costs_a_typo_check(k))
                    .nth(max)
                    .is_some()
            })
    };
    let pod_over = over(template.metadata);
    let own_over = over(template.own_metadata);
    if !pod_over && !own_over {
        return None;
    }
    let mut pointers = Vec::new();
    if pod_over {
        pointers.push(format!("{}/annotations", template.metadata_pointer()));
    }
    if own_over {
        pointers.push("/metadata/annotations".to_owned());
    }
    let mut trimmed = object.clone();
    let mut unchecked = 0;
    for pointer in pointers {
        let Some(map) = trimmed.pointer_mut(&pointer).and_then(Value::as_object_mut) else {
            continue;
        };
        let mut kept = 0;
        map.retain(|key, _| {
            if !costs_a_typo_check(key) {
                return true;
            }
            kept += 1;
            if kept > max {
                unchecked += 1;
            }
            kept <= max
        });
    }
    Some(Trimmed {
        object: trimmed,
        unchecked,
    })
}

/// Joins `lines` with newlines, stopping at `max_lines` lines or before `max_bytes`, and
/// says on a last line how many lines were left out (that line fits in the limit too).
/// `more` words that line: given the number left out, it returns e.g. "3 more errors".
pub fn join_capped(
    lines: impl ExactSizeIterator<Item = String>,
    max_lines: usize,
    max_bytes: usize,
    more: impl Fn(usize) -> String,
) -> String {
    let total = lines.len();
    // Room for the "N more" line, whose length does not depend on much beyond N's digits.
    let reserve = more(total).len() + 1;
    let mut out = String::new();
    let mut shown = 0;
    for line in lines {
        let needed = line.len() + usize::from(!out.is_empty());
        if shown == max_lines || out.len() + needed + reserve > max_bytes {
            break;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&line);
        shown += 1;
    }
    if shown < total {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&more(total - shown));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(annotations: Value, own: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "annotations": own},
            "spec": {"template": {"metadata": {"annotations": annotations},
                "spec": {"containers": [{"name": "app"}]}}}})
    }

    #[test]
    fn trims_only_typo_check_keys_past_the_limit_in_each_place() {
        let mut annotations = serde_json::Map::new();
        for i in 0..10 {
            annotations.insert(
                format!("pre.hook.backup.velero.io/comand{i:02}"),
                json!("x"),
            );
            annotations.insert(format!("prometheus.io/port{i:02}"), json!("9090"));
        }
        annotations.insert("pre.hook.backup.velero.io/command".into(), json!("[\"a\"]"));
        let own = json!({"post.hook.restore.velero.io/x": "1", "backup-note": "2"});
        let object = deployment(Value::Object(annotations), own);
        assert!(trim_unknown_keys(&object, 10).is_none());
        let trimmed = trim_unknown_keys(&object, 4).unwrap();
        assert_eq!(trimmed.unchecked, 6);
        let kept = trimmed.object["spec"]["template"]["metadata"]["annotations"]
            .as_object()
            .unwrap();
        // The catalogued key and every unrelated key stay; the first 4 typos stay.
        assert!(kept.contains_key("pre.hook.backup.velero.io/command"));
        assert_eq!(
            kept.keys().filter(|k| k.starts_with("prometheus")).count(),
            10
        );
        assert!(kept.contains_key("pre.hook.backup.velero.io/comand03"));
        assert!(!kept.contains_key("pre.hook.backup.velero.io/comand04"));
        assert_eq!(trimmed.object["metadata"], object["metadata"]);
        assert!(trim_unknown_keys(&json!({"kind": "ConfigMap"}), 0).is_none());
    }

    #[test]
    fn every_key_the_library_reports_costs_a_typo_check() {
        for key in [
            "pre.hook.backup.velero.io/comand",
            "Pre.Hook.Backup.Velero.io/command",
            "pre.hook.restore.velero.io/command",
            "post.hook.restore.velero.io/timeout",
        ] {
            assert!(keys::looks_like_hook_key(key), "{key}");
            assert!(costs_a_typo_check(key), "{key}");
        }
        assert!(!costs_a_typo_check("pre.hook.backup.velero.io/command"));
        assert!(!costs_a_typo_check("kubectl.kubernetes.io/restartedAt"));
    }

    #[test]
    fn joined_lines_stay_within_both_limits_and_count_the_rest() {
        let lines = || (0..100).map(|i| format!("line {i:03} {}", "x".repeat(40)));
        let more = |n: usize| format!("{n} more errors not shown");
        let all = join_capped(lines(), 1000, 1 << 20, more);
        assert_eq!(all.lines().count(), 100);
        assert!(!all.contains("more"));
        let by_count = join_capped(lines(), 10, 1 << 20, more);
        assert_eq!(by_count.lines().count(), 11);
        assert!(
            by_count.ends_with("\n90 more errors not shown"),
            "{by_count}"
        );
        let by_bytes = join_capped(lines(), 1000, 500, more);
        assert!(by_bytes.len() <= 500, "{}", by_bytes.len());
        let shown = by_bytes.lines().count() - 1;
        assert!(by_bytes.ends_with(&format!("\n{} more errors not shown", 100 - shown)));
        assert_eq!(
            join_capped(lines(), 0, 500, more),
            "100 more errors not shown"
        );
    }
}
