//! The mistakes most often seen in published manifests, with the exact words a user reads:
//! restore hooks with no wait-timeout, Heptio Ark keys, and commands meant as JSON arrays
//! that Velero runs as one program name.

use serde_json::{Value, json};
use velero_hooks::rules::Finding;
use velero_hooks::{VeleroVersion, check_object};

const FSFREEZE: &str = r#"["/sbin/fsfreeze","--freeze","/var/log/nginx"]"#;

fn findings(annotations: Value, version: VeleroVersion) -> Vec<Finding> {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop", "annotations": annotations},
        "spec": {"containers": [{"name": "app"}]}
    });
    check_object(&pod, version).expect("a pod").findings
}

fn only(annotations: Value, code: &str) -> Finding {
    let all = findings(annotations, VeleroVersion::LATEST_RELEASE);
    let matching: Vec<_> = all.iter().filter(|f| f.code == code).collect();
    assert_eq!(matching.len(), 1, "{all:?}");
    matching[0].clone()
}

/// (command as written, where it breaks, the repaired array or None when no repair is certain)
const BROKEN_ARRAYS: &[(&str, &str, Option<&str>)] = &[
    (
        "[“/bin/sh”, “-c”, “sync”]",
        "typographic quote `“` at character 2",
        Some(r#"["/bin/sh","-c","sync"]"#),
    ),
    (
        "[‘/bin/sync’]",
        "typographic quote `‘` at character 2",
        Some(r#"["/bin/sync"]"#),
    ),
    // A `|` block scalar keeps the line break after the shell's `\`.
    (
        "[\"/bin/sh\", \"-c\", \"pg_dump \\\n  -U app\"]",
        "`\\` followed by a line break at line 1, column 28",
        Some(r#"["/bin/sh","-c","pg_dump   -U app"]"#),
    ),
    // A quoted or plain YAML scalar folds that line break into a space.
    (
        "[\"/bin/sh\", \"-c\", \"pg_dump \\ -U app\"]",
        "`\\` followed by a space (YAML folded the line break) at character 28",
        Some(r#"["/bin/sh","-c","pg_dump  -U app"]"#),
    ),
    // Between elements the continuation is simply dropped.
    (
        "[\"/usr/bin/pg_dump\", \\\n \"-U\", \"app\"]",
        "`\\` followed by a line break at line 1, column 22",
        Some(r#"["/usr/bin/pg_dump","-U","app"]"#),
    ),
    (
        r#"["/bin/sh", "-c", "x""#,
        "no closing `]` at the end (character 22)",
        Some(r#"["/bin/sh","-c","x"]"#),
    ),
    (
        r#""/bin/sh", "-c"]"#,
        "no opening `[` at character 1",
        Some(r#"["/bin/sh","-c"]"#),
    ),
    (
        "['/bin/x', '--y']",
        "single quote `'` at character 2",
        Some(r#"["/bin/x","--y"]"#),
    ),
    // Two mistakes at once are both named, and repaired together.
    (
        "[“/bin/sh”, “-c”, “sync”",
        "typographic quote `“` at character 2: JSON needs straight double quotes (\"); no closing `]`",
        Some(r#"["/bin/sh","-c","sync"]"#),
    ),
    // Typographic quotes inside a string are fine: the lost bracket alone is the fault.
    (
        "[\"/bin/sh\", \"-c\", \"echo “hi”\"",
        "no closing `]` at the end (character 30)",
        Some("[\"/bin/sh\",\"-c\",\"echo “hi”\"]"),
    ),
    // Nothing typical: JSON's own reason at the character it stopped at, and no guess.
    ("[blarg", "`b` at character 2: expected value", None),
    (r#"["a"]x"#, "`x` at character 6: trailing characters", None),
    (
        r#"["a",1]"#,
        "invalid type: integer `1`, expected a string",
        None,
    ),
];

#[test]
fn commands_meant_as_arrays_name_the_character_that_breaks_them() {
    for &(command, problem, corrected) in BROKEN_ARRAYS {
        let finding = only(
            json!({"pre.hook.backup.velero.io/command": command, "pre.hook.backup.velero.io/on-error": "Fail"}),
            "HV001",
        );
        assert!(
            finding.problem.contains(problem),
            "{command:?}: {}",
            finding.problem
        );
        // Exactly what breaks it, nothing more.
        assert_eq!(
            finding.problem.matches("; ").count(),
            problem.matches("; ").count(),
            "{command:?}: {}",
            finding.problem
        );
        assert!(
            finding.velero_does.contains("one program named"),
            "{command:?}: {}",
            finding.velero_does
        );
        match corrected {
            Some(array) => assert_eq!(finding.fix, format!("write it as {array}"), "{command:?}"),
            None => assert!(finding.fix.starts_with("write a JSON array"), "{command:?}"),
        }
    }
}

#[test]
fn a_plain_command_that_starts_with_a_quote_is_not_taken_for_a_lost_bracket() {
    // Velero runs it as one program name either way; it is HV003's finding, not HV001's.
    let all = findings(
        json!({"pre.hook.backup.velero.io/command": "\"/bin/echo\" hello]", "pre.hook.backup.velero.io/on-error": "Fail"}),
        VeleroVersion::LATEST_RELEASE,
    );
    let codes: Vec<_> = all.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["HV003"]);
}

#[test]
fn restore_hooks_without_wait_timeout_say_what_each_release_does() {
    let hook = json!({"post.hook.restore.velero.io/command": FSFREEZE});
    let on_1_18 = only(hook.clone(), "HV024");
    assert_eq!(
        on_1_18.subject.text(),
        "post.hook.restore.velero.io/wait-timeout"
    );
    assert_eq!(on_1_18.problem, "not set");
    assert!(
        on_1_18.velero_does.contains("without any limit")
            && on_1_18.velero_does.contains("Finalizing for ever"),
        "{}",
        on_1_18.velero_does
    );
    assert!(
        on_1_18
            .fix
            .starts_with("set post.hook.restore.velero.io/wait-timeout: \"10m\""),
        "{}",
        on_1_18.fix
    );
    let newer = findings(hook, VeleroVersion::MAIN);
    let newer = newer.iter().find(|f| f.code == "HV024").unwrap();
    assert!(
        newer
            .velero_does
            .contains("--resource-timeout (default 10m)")
            && newer.velero_does.contains("PartiallyFailed"),
        "{}",
        newer.velero_does
    );
    // Zero says the same about the restore; a limit silences it.
    let zero = only(
        json!({"post.hook.restore.velero.io/command": FSFREEZE, "post.hook.restore.velero.io/wait-timeout": "0"}),
        "HV024",
    );
    assert!(
        zero.velero_does.contains("Finalizing"),
        "{}",
        zero.velero_does
    );
    let limited = findings(
        json!({"post.hook.restore.velero.io/command": FSFREEZE, "post.hook.restore.velero.io/wait-timeout": "5m"}),
        VeleroVersion::LATEST_RELEASE,
    );
    assert!(limited.is_empty(), "{limited:?}");
}

#[test]
fn ark_keys_name_the_velero_key_to_use() {
    let all = findings(
        json!({
            "pre.hook.backup.ark.heptio.com/container": "app",
            "pre.hook.backup.ark.heptio.com/command": FSFREEZE,
            "hook.backup.ark.heptio.com/timeout": "30s",
            "post.hook.restore.ark.heptio.com/wait-timeout": "5m",
        }),
        VeleroVersion::LATEST_RELEASE,
    );
    let fixes: Vec<(&str, &str)> = all
        .iter()
        .map(|f| {
            assert_eq!(f.code, "HV053", "{f:?}");
            assert!(f.velero_does.contains("never runs"), "{f:?}");
            (f.subject.text(), f.fix.as_str())
        })
        .collect();
    assert_eq!(
        fixes,
        [
            (
                "hook.backup.ark.heptio.com/timeout",
                "rename it to `pre.hook.backup.velero.io/timeout`"
            ),
            (
                "post.hook.restore.ark.heptio.com/wait-timeout",
                "rename it to `post.hook.restore.velero.io/wait-timeout`"
            ),
            (
                "pre.hook.backup.ark.heptio.com/command",
                "rename it to `pre.hook.backup.velero.io/command`"
            ),
            (
                "pre.hook.backup.ark.heptio.com/container",
                "rename it to `pre.hook.backup.velero.io/container`"
            ),
        ]
    );
}
