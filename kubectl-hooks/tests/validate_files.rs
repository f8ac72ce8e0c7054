//! `kubectl hooks validate -f`: the real binary on real files, as CI users run it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn hooks(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-hooks"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("kubectl-hooks runs")
}

fn hooks_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-hooks"))
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

#[test]
fn every_broken_example_reports_the_mistake_it_is_about() {
    let dir = repo().join("examples/broken");
    let mut seen = 0;
    // Pods and workloads, then Backups, Schedules and Restores (examples/broken/velero).
    let paths = [dir.clone(), dir.join("velero")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| !path.is_dir())
        .collect::<Vec<_>>();
    let mut velero = 0;
    for path in paths {
        velero += usize::from(path.parent().unwrap().ends_with("velero"));
        let text = std::fs::read_to_string(&path).unwrap();
        let expected = text
            .lines()
            .find_map(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no `# expect:` line", path.display()));
        let output = hooks(&["validate", "-o", "json", "-f", path.to_str().unwrap()]);
        let report = json(&output);
        let codes: Vec<&str> = report["objects"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        assert!(
            codes.contains(&expected),
            "{}: expected {expected}, got {codes:?}",
            path.display()
        );
        let is_error = velero_hooks::rules::rule_by_code(expected)
            .unwrap()
            .severity
            == velero_hooks::Severity::Error;
        assert_eq!(
            output.status.code(),
            Some(if is_error { 1 } else { 0 }),
            "{}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 48, "only {seen} broken examples");
    assert!(velero >= 23, "only {velero} broken Velero-object examples");
}

#[test]
fn the_good_example_is_clean() {
    let output = hooks(&["validate", "-f", "examples/good"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("4 objects checked, 4 with hooks: 0 errors, 0 warnings"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn text_output_names_file_line_object_key_and_fix() {
    let output = hooks(&["validate", "-f", "examples/broken/timeout-no-unit.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn json_output_gives_effective_hooks() {
    let output = hooks(&[
        "validate",
        "-o",
        "json",
        "-f",
        "examples/good/nginx-fsfreeze.yaml",
    ]);
    let report = json(&output);
    let deployment = &report["objects"][0];
    assert_eq!(deployment["kind"], "Deployment");
    assert_eq!(deployment["name"], "nginx-deployment");
    assert_eq!(deployment["namespace"], "nginx-example");
    assert_eq!(deployment["file"], "examples/good/nginx-fsfreeze.yaml");
    assert_eq!(deployment["line"], 23);
    assert_eq!(deployment["findings"], serde_json::json!([]));
    let pre = &deployment["hooks"][0];
    assert_eq!(pre["phase"], "pre");
    assert_eq!(pre["source"], "annotation");
    assert_eq!(pre["container"], "fsfreeze");
    assert_eq!(
        pre["command"],
        serde_json::json!(["/sbin/fsfreeze", "--freeze", "/var/log/nginx"])
    );
    assert_eq!(pre["onError"], "Fail");
    assert_eq!(pre["timeout"], "30s");
    assert_eq!(pre["timeoutNanos"], 30_000_000_000i64);
    assert_eq!(deployment["hooks"][1]["timeoutNanos"], 60_000_000_000i64);
    let redis = &report["objects"][2];
    assert_eq!(redis["hooks"][0]["phase"], "restore");
    assert_eq!(redis["hooks"][0]["waitForReady"], true);
    assert_eq!(redis["hooks"][1]["phase"], "restore-init");
    assert_eq!(report["summary"]["errors"], 0);
}

#[test]
fn json_reports_unset_timeout_as_the_default_and_negative_as_unlimited() {
    let manifest =
        br#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": {
        "pre.hook.backup.velero.io/command": "[\"/bin/true\"]",
        "post.hook.backup.velero.io/command": "[\"/bin/true\"]",
        "post.hook.backup.velero.io/timeout": "-1s"}},
        "spec": {"containers": [{"name": "c"}]}}"#;
    let output = hooks_stdin(&["validate", "-o", "json", "-f", "-"], manifest);
    let report = json(&output);
    let hooks = &report["objects"][0]["hooks"];
    assert_eq!(hooks[0]["container"], "c");
    assert_eq!(hooks[0]["onError"], "Continue");
    assert!(hooks[0].get("timeout").is_none());
    assert_eq!(hooks[0]["timeoutNanos"], 30_000_000_000i64);
    assert_eq!(hooks[1]["timeout"], "-1s");
    assert_eq!(hooks[1]["timeoutNanos"], Value::Null);
    assert_eq!(report["objects"][0]["file"], "<stdin>");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn streams_with_lists_and_other_kinds_are_read_like_kubectl() {
    let stream = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: skipped\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: a\n    annotations:\n      pre.hook.backup.velero.io/command: '[\"/bin/true\"]'\n      pre.hook.backup.velero.io/on-error: Fail\n  spec:\n    containers: [{name: c}]\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: b\n    annotations:\n      pre.hook.backup.velero.io/timeout: 30\n  spec:\n    containers: [{name: c}]\n";
    let output = hooks_stdin(&["validate", "-f", "-"], stream.as_bytes());
    let text = stdout(&output);
    assert!(
        text.contains("2 objects checked, 1 with hooks: 2 errors"),
        "{text}"
    );
    assert!(text.contains("<stdin>:23:7: pod/b: error HV051"), "{text}");
    assert!(text.contains("<stdin>:23:7: pod/b: error HV030"), "{text}");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn unusable_input_exits_2_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("binary.yaml");
    std::fs::write(&binary, [0x7f, b'E', b'L', b'F', 0xff, 0xfe, 0, 1, 2]).unwrap();
    let latin1 = dir.path().join("latin1.yaml");
    std::fs::write(
        &latin1,
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: caf\xe9\n",
    )
    .unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        "apiVersion: v1\nkind: Pod\n---\nmetadata: {name: [\n",
    )
    .unwrap();
    let scalar = dir.path().join("scalar.yaml");
    std::fs::write(&scalar, "--- just text\n").unwrap();
    let missing = dir.path().join("missing.yaml");
    for (path, needle) in [
        (&binary, "not UTF-8 text (invalid byte at offset 4)"),
        (&latin1, ":4: not UTF-8 text"),
        (
            &broken,
            "broken.yaml:4:18: invalid YAML/JSON: unclosed bracket",
        ),
        (&scalar, "is a string, not a Kubernetes object"),
        (&missing, "cannot read"),
    ] {
        let output = hooks(&["validate", "-f", path.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{}", path.display());
        assert!(
            stdout(&output).contains(needle),
            "{}: {}",
            path.display(),
            stdout(&output)
        );
    }
}

#[test]
fn yaml_alias_bombs_are_refused_not_expanded() {
    let mut bomb = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: lol\n  annotations:\n    a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!("    a{i}: &a{i} [{}]\n", vec![prev; 9].join(",")));
    }
    let start = std::time::Instant::now();
    let output = hooks_stdin(&["validate", "-f", "-"], bomb.as_bytes());
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("invalid YAML"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_100_mb_input_gets_a_clear_error_not_a_hang() {
    // One object whose annotation value is 100 MB: a document larger than any object can
    // be, refused before it is parsed, with a located, short message.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write!(file, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: huge\n  annotations:\n    pre.hook.backup.velero.io/command: \"/bin/").unwrap();
    let chunk = "x".repeat(1 << 20);
    for _ in 0..100 {
        file.write_all(chunk.as_bytes()).unwrap();
    }
    write!(file, "\"\nspec:\n  containers: [{{name: c}}]\n").unwrap();
    drop(file);
    let output = hooks(&["validate", "-f", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let text = stdout(&output);
    assert!(
        text.contains("huge.yaml:1: a document larger than 64 MiB"),
        "{}",
        &text[..text.len().min(500)]
    );
    assert!(
        text.len() < 2_000,
        "the message quotes the input: {} bytes",
        text.len()
    );
}

#[test]
fn directories_are_read_recursively_only_with_r() {
    let flat = hooks(&["validate", "-o", "json", "-f", "examples"]);
    assert_eq!(json(&flat)["summary"]["objects"], 0);
    let recursive = hooks(&["validate", "-o", "json", "-R", "-f", "examples"]);
    assert!(json(&recursive)["summary"]["objects"].as_u64().unwrap() >= 28);
}

#[test]
fn newer_velero_is_selected_by_flag() {
    let path = "examples/broken/container-native-sidecar.yaml";
    assert_eq!(hooks(&["validate", "-f", path]).status.code(), Some(1));
    assert_eq!(
        hooks(&["validate", "--velero-version", "1.19", "-f", path])
            .status
            .code(),
        Some(0)
    );
    let bad = hooks(&["validate", "--velero-version", "2.0", "-f", path]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown Velero version"));
}

#[test]
fn links_to_directories_are_not_followed_so_loops_end() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("manifests");
    std::fs::create_dir(&root).unwrap();
    std::fs::copy(
        repo().join("examples/broken/timeout-no-unit.yaml"),
        root.join("a.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink("..", root.join("up")).unwrap();
    std::os::unix::fs::symlink(".", root.join("self")).unwrap();
    // A link to a file is read, as kubectl reads it.
    std::os::unix::fs::symlink(root.join("a.yaml"), root.join("b.yaml")).unwrap();
    let output = hooks(&["validate", "-o", "json", "-R", "-f", root.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert_eq!(json(&output)["summary"]["objects"], 2);
}

#[test]
fn aliases_of_a_long_string_are_refused_before_they_fill_memory() {
    let aliases = vec!["*a"; 2000].join(",");
    let document = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    a: &a \"{}\"\n    b: [{aliases}]\nspec:\n  containers: [{{name: app, image: x}}]\n",
        "x".repeat(100_000)
    );
    let output = hooks_stdin(&["validate", "-f", "-"], document.as_bytes());
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("MiB of text"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_report_that_cannot_be_written_is_an_error_not_a_clean_run() {
    for format in ["text", "json", "sarif"] {
        let output = Command::new(env!("CARGO_BIN_EXE_kubectl-hooks"))
            .args(["validate", "-o", format, "-f", "examples/good"])
            .current_dir(repo())
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{format}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("cannot write the output"),
            "{format}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn objects_kubectl_refuses_are_said_not_skipped() {
    let hook = "annotations:\n    pre.hook.backup.velero.io/command: '[\"/bin/sync\"]'";
    let input = format!(
        "kind: Pod\nmetadata:\n  name: no-version\n  {hook}\n---\n\
         apiVersion: v1\nkind: pod\nmetadata:\n  name: lower\n  {hook}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata:\n  name: listed\n  annotations:\n  - pre.hook.backup.velero.io/command: '[\"/bin/sync\"]'\n---\n\
         apiVersion: v1\nkind: List\nitems: not-a-list\n---\n\
         kind: DaemonSet\nimage: {{tag: v1}}\n"
    );
    let output = hooks_stdin(&["validate", "-f", "-"], input.as_bytes());
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let text = stdout(&output);
    for said in [
        "<stdin>:1: pod/no-version: apiVersion is not set",
        "<stdin>:7: pod/lower: kind `pod`: kinds are case-sensitive",
        "<stdin>:14: pod/listed: the annotations of metadata are not a map",
        "<stdin>:21: the List's `items` is not a list",
    ] {
        assert!(text.contains(said), "{said}\n{text}");
    }
    // The Helm values file with a `kind:` key is no object and nothing is said of it.
    assert!(text.contains("4 unreadable inputs"), "{text}");

    // A typed list, as the API serves it: its items are Deployments.
    let list = "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata:\n    name: web\n  spec:\n    template:\n      metadata:\n        annotations:\n          pre.hook.backup.velero.io/timeout: '30'\n      spec:\n        containers: [{name: app}]\n";
    let output = hooks_stdin(&["validate", "-o", "json", "-f", "-"], list.as_bytes());
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert_eq!(json(&output)["summary"]["objects"], 1);
}

#[test]
fn json_documents_one_after_the_other_are_read_like_kubectl() {
    // As `jq` prints them: pretty-printed, one after the other, without `---`.
    let input = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"a\"}\n}\n\
                 {\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"b\",\n    \"annotations\": {\"pre.hook.backup.velero.io/command\": \"/bin/sync\"}}\n}\n";
    let output = hooks_stdin(&["validate", "-f", "-"], input.as_bytes());
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("2 objects checked, 1 with hooks"), "{text}");
    assert!(
        text.contains("<stdin>:10:22: pod/b: error HV032"),
        "the second object's finding at its own line: {text}"
    );
}

#[test]
fn names_cannot_forge_lines_or_colours_in_text_output() {
    let input = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"x\\n::error file=README.md,line=1::forged\\e[31m\"\n  annotations:\n    pre.hook.backup.velero.io/timeout: \"30\"\nspec:\n  containers: [{name: app}]\n";
    let output = hooks_stdin(&["validate", "-f", "-"], input.as_bytes());
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("::")), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(
        text.contains(r"pod/x\n::error file=README.md,line=1::forged\u{1b}[31m"),
        "{text}"
    );
}

#[test]
fn utf16_input_is_named_with_how_to_save_it() {
    let text = "apiVersion: v1\nkind: Pod\n";
    let mut utf16: Vec<u8> = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    for input in [utf16.clone(), utf16[2..].to_vec()] {
        let output = hooks_stdin(&["validate", "-f", "-"], &input);
        assert_eq!(output.status.code(), Some(2));
        assert!(
            stdout(&output).contains("UTF-16 text"),
            "{}",
            stdout(&output)
        );
    }
}

#[test]
fn a_kubectl_style_object_name_is_not_taken_for_a_missing_file() {
    let output = hooks(&["validate", "deploy/web"]);
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("`deploy/web` is not a file") && said.contains("-n NAMESPACE"),
        "{said}"
    );
    // -n with files: said to be ignored, the files still checked.
    let output = hooks(&["validate", "-n", "shop", "-f", "examples/good"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stderr).contains("with files they are ignored"));
}
