//! Optional rewrites of hook annotations into their explicit, unambiguous form, as JSON
//! Patch operations on the object. Shared by the mutating webhook and `annotate`.
//!
//! Every rewrite keeps what Velero does today (a pinned container is the one Velero
//! picks, an explicit default is the value Velero already applies), except the command
//! split, which turns a command Velero cannot run into the one its author meant. Values
//! the rules report as wrong are left alone: fixing them is the author's call. A second
//! pass over the result produces no operations.

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::command::{CommandForm, parse_command, split_unambiguously, to_json_array};
use crate::hook::{BackupHook, parse_hooks, pre_family};
use crate::keys::{self, Family, Field};
use crate::pod::PodView;
use crate::version::VeleroVersion;
use crate::workload::locate;

/// Which rewrites to apply; all off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Normalizations {
    /// Name the container Velero would pick by default (the first one).
    #[serde(default)]
    pub pin_container: bool,
    /// Rewrite plain-string commands as JSON arrays when the split is unambiguous.
    #[serde(default)]
    pub json_command: bool,
    /// Write on-error (`Continue`, what Velero does when unset) and timeout (`30s`).
    #[serde(default)]
    pub explicit_defaults: bool,
    /// Move un-prefixed legacy keys to `pre.hook.backup.velero.io/*`.
    #[serde(default)]
    pub migrate_legacy: bool,
}

impl Normalizations {
    pub fn any(&self) -> bool {
        self.pin_container || self.json_command || self.explicit_defaults || self.migrate_legacy
    }
}

/// The patch that normalises `object`'s hook annotations (empty when nothing changes).
pub fn normalize(
    object: &Value,
    version: VeleroVersion,
    with: Normalizations,
) -> Vec<PatchOperation> {
    let Some(template) = locate(object) else {
        return Vec::new();
    };
    let Some(before) = template
        .metadata
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    let containers = PodView::from_json(None, template.spec).containers;
    let after = normalized_annotations(before, &containers, version, with);
    let base = format!("{}/annotations", template.metadata_pointer());
    diff(&base, before, &after)
}

/// Applies the rewrites to an annotation map.
pub fn normalized_annotations(
    before: &Map<String, Value>,
    containers: &[&str],
    version: VeleroVersion,
    with: Normalizations,
) -> Map<String, Value> {
    let mut map = before.clone();
    if with.migrate_legacy {
        migrate_legacy(&mut map);
    }
    if with.json_command {
        for key in keys::KEYS.iter().filter(|k| k.field == Field::Command) {
            let Some(raw) = map.get(key.name).and_then(Value::as_str) else {
                continue;
            };
            if let Some(json) = command_as_json(raw) {
                map.insert(key.name.to_owned(), Value::String(json));
            }
        }
    }
    let hooks = {
        let metadata = Value::Object(Map::from_iter([(
            "annotations".to_owned(),
            Value::Object(map.clone()),
        )]));
        let mut view = PodView::from_json(Some(&metadata), None);
        view.containers = containers.to_vec();
        parse_hooks(&view, version)
    };
    let mut set_if_absent = |key: &str, value: &str| {
        if !map.contains_key(key) {
            map.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    };
    let backup: Vec<&BackupHook> = hooks.backup().collect();
    if with.pin_container {
        for hook in &backup {
            if let (None, Some(first)) = (&hook.container, &hook.effective_container) {
                set_if_absent(keys::name(hook.family, Field::Container), first);
            }
        }
        if let Some(hook) = &hooks.restore_post
            && let (None, Some(first)) = (&hook.container, &hook.effective_container)
        {
            set_if_absent(keys::name(Family::RestorePost, Field::Container), first);
        }
    }
    if with.explicit_defaults {
        for hook in &backup {
            set_if_absent(keys::name(hook.family, Field::OnError), "Continue");
            set_if_absent(keys::name(hook.family, Field::Timeout), "30s");
        }
        if hooks.restore_post.is_some() {
            set_if_absent(keys::name(Family::RestorePost, Field::OnError), "Continue");
            set_if_absent(keys::name(Family::RestorePost, Field::ExecTimeout), "30s");
        }
    }
    map
}

/// The JSON array form of a plain command, when there is exactly one reading of it.
fn command_as_json(raw: &str) -> Option<String> {
    match parse_command(raw).form {
        CommandForm::JsonArray => None,
        CommandForm::MalformedJson { .. } => None,
        CommandForm::Plain => {
            let trimmed = raw.trim_start();
            if trimmed.starts_with('[') {
                // Whitespace before a valid array: the array is what was meant.
                return (parse_command(trimmed).form == CommandForm::JsonArray)
                    .then(|| trimmed.to_owned());
            }
            if raw.trim().is_empty() || raw == "null" {
                return None;
            }
            if !raw.contains(char::is_whitespace) {
                return Some(to_json_array(&[raw.to_owned()]));
            }
            split_unambiguously(raw).map(|words| to_json_array(&words))
        }
    }
}

/// Renames `hook.backup.velero.io/*` to `pre.hook.backup.velero.io/*` when Velero reads the
/// legacy keys and no `pre.` key would be overwritten.
fn migrate_legacy(map: &mut Map<String, Value>) {
    let view_source = Value::Object(Map::from_iter([(
        "annotations".to_owned(),
        Value::Object(map.clone()),
    )]));
    let view = PodView::from_json(Some(&view_source), None);
    if pre_family(&view) != Some(Family::BackupLegacy) {
        return;
    }
    let legacy: Vec<&keys::Key> = keys::KEYS
        .iter()
        .filter(|k| k.family == Family::BackupLegacy && map.contains_key(k.name))
        .collect();
    let conflict = legacy.iter().any(|k| {
        let target = keys::name(Family::BackupPre, k.field);
        map.get(target).is_some_and(|v| v.as_str() != Some(""))
    });
    if conflict {
        return;
    }
    for key in legacy {
        if let Some(value) = map.remove(key.name) {
            map.insert(keys::name(Family::BackupPre, key.field).to_owned(), value);
        }
    }
}

fn diff(
    base: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<PatchOperation> {
    let path = |key: &str| {
        PointerBuf::parse(format!("{base}/{}", crate::pointer_token(key))).unwrap_or_default()
    };
    let mut ops = Vec::new();
    for (key, old) in before {
        match after.get(key) {
            None => ops.push(PatchOperation::Remove(RemoveOperation { path: path(key) })),
            Some(new) if new != old => ops.push(PatchOperation::Replace(ReplaceOperation {
                path: path(key),
                value: new.clone(),
            })),
            Some(_) => {}
        }
    }
    for (key, new) in after {
        if !before.contains_key(key) {
            ops.push(PatchOperation::Add(AddOperation {
                path: path(key),
                value: new.clone(),
            }));
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL: Normalizations = Normalizations {
        pin_container: true,
        json_command: true,
        explicit_defaults: true,
        migrate_legacy: true,
    };

    fn deployment(annotations: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "annotations": {"keep": "me"}},
            "spec": {"template": {
                "metadata": {"annotations": annotations, "labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx"}, {"name": "fsfreeze"}]}
            }}
        })
    }

    fn apply(object: &Value, ops: Vec<PatchOperation>) -> Value {
        let mut patched = object.clone();
        json_patch::patch(&mut patched, &ops).expect("patch applies");
        patched
    }

    #[test]
    fn all_rewrites_then_idempotent() {
        let object = deployment(json!({
            "hook.backup.velero.io/command": "/sbin/fsfreeze --freeze /var/log/nginx",
            "post.hook.backup.velero.io/command": "/sbin/fsfreeze --unfreeze /var/log/nginx",
            "post.hook.backup.velero.io/container": "fsfreeze",
            "unrelated": "x"
        }));
        let ops = normalize(&object, VeleroVersion::LATEST_RELEASE, ALL);
        let patched = apply(&object, ops);
        assert_eq!(
            patched["spec"]["template"]["metadata"]["annotations"],
            json!({
                "pre.hook.backup.velero.io/command": r#"["/sbin/fsfreeze","--freeze","/var/log/nginx"]"#,
                "pre.hook.backup.velero.io/container": "nginx",
                "pre.hook.backup.velero.io/on-error": "Continue",
                "pre.hook.backup.velero.io/timeout": "30s",
                "post.hook.backup.velero.io/command": r#"["/sbin/fsfreeze","--unfreeze","/var/log/nginx"]"#,
                "post.hook.backup.velero.io/container": "fsfreeze",
                "post.hook.backup.velero.io/on-error": "Continue",
                "post.hook.backup.velero.io/timeout": "30s",
                "unrelated": "x"
            })
        );
        // Nothing outside the template's annotations moved.
        assert_eq!(patched["metadata"], object["metadata"]);
        assert_eq!(
            patched["spec"]["template"]["spec"],
            object["spec"]["template"]["spec"]
        );
        assert!(normalize(&patched, VeleroVersion::LATEST_RELEASE, ALL).is_empty());
    }

    #[test]
    fn leaves_ambiguous_and_invalid_values_alone() {
        let object = deployment(json!({
            "pre.hook.backup.velero.io/command": "/bin/sh -c \"pg_dump > /tmp/x\"",
            "pre.hook.backup.velero.io/on-error": "fail",
            "pre.hook.backup.velero.io/timeout": "30",
        }));
        let only_commands = Normalizations {
            json_command: true,
            ..Default::default()
        };
        assert!(normalize(&object, VeleroVersion::LATEST_RELEASE, only_commands).is_empty());
        let defaults = Normalizations {
            explicit_defaults: true,
            ..Default::default()
        };
        assert!(normalize(&object, VeleroVersion::LATEST_RELEASE, defaults).is_empty());
    }

    #[test]
    fn legacy_migration_never_overwrites_pre_keys() {
        let object = deployment(json!({
            "hook.backup.velero.io/command": "[\"/bin/a\"]",
            "hook.backup.velero.io/container": "nginx",
            "pre.hook.backup.velero.io/container": "fsfreeze",
        }));
        let migrate = Normalizations {
            migrate_legacy: true,
            ..Default::default()
        };
        assert!(normalize(&object, VeleroVersion::LATEST_RELEASE, migrate).is_empty());
    }

    #[test]
    fn nothing_to_do_without_hooks_or_options() {
        let object = deployment(json!({"a": "b"}));
        assert!(normalize(&object, VeleroVersion::LATEST_RELEASE, ALL).is_empty());
        let with_hook = deployment(json!({"pre.hook.backup.velero.io/command": "/bin/true"}));
        assert!(
            normalize(
                &with_hook,
                VeleroVersion::LATEST_RELEASE,
                Normalizations::default()
            )
            .is_empty()
        );
    }
}
