//! `kubectl hooks backup create`: the preflight decides whether a Backup is created.

use scenarios::backend::{expect_exit, stderr, stdout};
use scenarios::velero::{FakeVeleroConfig, VeleroWorld, running_pod};
use serde_json::json;

fn frozen() -> FakeVeleroConfig {
    // Nothing processes the Backups: these scenarios look at what is created.
    FakeVeleroConfig {
        frozen: true,
        ..FakeVeleroConfig::default()
    }
}

#[test]
fn clean_scope_creates_the_backup_with_the_flags_as_spec() {
    let world = VeleroWorld::start(
        frozen(),
        vec![
            running_pod(
                "shop",
                "db-0",
                json!({"pre.hook.backup.velero.io/command": "[\"/sbin/fsfreeze\",\"--freeze\",\"/data\"]",
                       "pre.hook.backup.velero.io/container": "fsfreeze",
                       "pre.hook.backup.velero.io/on-error": "Continue",
                       "pre.hook.backup.velero.io/timeout": "45s"}),
            ),
            running_pod(
                "blog",
                "web-0",
                json!({"pre.hook.backup.velero.io/command": "this pod is out of scope"}),
            ),
        ],
    );
    let out = world.hooks(&[
        "backup",
        "create",
        "nightly",
        "--include-namespaces",
        "shop",
        "--ttl",
        "72h",
        "--storage-location",
        "default",
        "--snapshot-volumes=false",
    ]);
    let text = expect_exit(&out, 0);
    assert!(text.contains("1 pod in scope, 1 with hooks"), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("shop/db-0"))
        .unwrap_or_else(|| panic!("{text}"));
    for cell in [
        "pre",
        "fsfreeze",
        "[\"/sbin/fsfreeze\",\"--freeze\",\"/data\"]",
        "Continue",
        "45s",
        "annotation",
    ] {
        assert!(row.contains(cell), "{cell} in {row}");
    }
    assert!(!text.contains("web-0"), "{text}");
    assert!(text.contains("backup.velero.io/nightly created"), "{text}");
    let backup = world.backup("nightly").expect("created");
    assert_eq!(
        backup["spec"],
        json!({"includedNamespaces": ["shop"], "ttl": "72h0m0s", "storageLocation": "default", "snapshotVolumes": false})
    );
}

#[test]
fn errors_create_nothing_and_force_creates_anyway() {
    let world = VeleroWorld::start(
        frozen(),
        vec![running_pod(
            "shop",
            "db-0",
            json!({"pre.hook.backup.velero.io/command": "/sbin/fsfreeze --freeze /data",
                   "pre.hook.backup.velero.io/timeout": "300"}),
        )],
    );
    let manifest = world.dir.path().join("backup.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: velero.io/v1\nkind: Backup\nmetadata:\n  name: ignored\nspec:\n  hooks:\n    resources:\n    - name: ''\n      pre:\n      - exec:\n          command: [/bin/sync]\n          onError: Fail\n          timeout: 30\n",
    )
    .unwrap();
    let manifest = manifest.to_str().unwrap();
    let args = [
        "backup",
        "create",
        "b1",
        "--include-namespaces",
        "shop",
        "--from-file",
        manifest,
    ];
    let out = world.hooks(&args);
    let text = expect_exit(&out, 1);
    for expected in [
        "pod/db-0 -n shop: error HV003: pre.hook.backup.velero.io/command",
        "pod/db-0 -n shop: error HV020: pre.hook.backup.velero.io/timeout",
        "backup/b1 -n velero: error HV101: spec.hooks.resources[0].name",
        "backup/b1 -n velero: error HV107: spec.hooks.resources[0].pre[0].exec.timeout",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
    assert!(
        stderr(&out).contains("backup b1 was not created"),
        "{}",
        stderr(&out)
    );
    assert!(world.backups().is_empty(), "nothing may be created");

    let mut forced = args.to_vec();
    forced.push("--force");
    let out = world.hooks(&forced);
    expect_exit(&out, 0);
    assert!(
        stderr(&out).contains("created despite 4 preflight errors"),
        "{}",
        stderr(&out)
    );
    let backup = world.backup("b1").expect("created with --force");
    assert_eq!(
        backup["spec"]["hooks"]["resources"][0]["pre"][0]["exec"]["timeout"],
        json!(30)
    );
}

#[test]
fn annotation_hooks_win_over_spec_hooks_and_run_time_problems_are_warned() {
    let mut finished = running_pod("shop", "migrate-1", json!({}));
    finished["status"]["phase"] = json!("Succeeded");
    let mut pending = running_pod("shop", "cache-0", json!({}));
    pending["status"]["phase"] = json!("Pending");
    let world = VeleroWorld::start(
        frozen(),
        vec![
            running_pod(
                "shop",
                "db-0",
                json!({"pre.hook.backup.velero.io/command": "[\"/sbin/fsfreeze\",\"--freeze\",\"/data\"]",
                       "pre.hook.backup.velero.io/container": "fsfreeze",
                       "pre.hook.backup.velero.io/on-error": "Fail"}),
            ),
            finished,
            pending,
        ],
    );
    let manifest = world.dir.path().join("hooks.yaml");
    std::fs::write(
        &manifest,
        r#"apiVersion: velero.io/v1
kind: Backup
metadata: {name: template}
spec:
  hooks:
    resources:
    - name: sync-all
      includedNamespaces: ["sh*"]
      pre:
      - exec: {container: app, command: ["/bin/sync"], onError: Continue, timeout: 10s}
      post:
      - exec: {container: db, command: ["/bin/echo", "done"], onError: Continue}
"#,
    )
    .unwrap();
    let out = world.hooks(&[
        "backup",
        "create",
        "b2",
        "--from-file",
        manifest.to_str().unwrap(),
        "--dry-run",
    ]);
    let text = expect_exit(&out, 0);
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("shop/db-0"))
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows[0].contains("pre") && rows[0].contains("fsfreeze") && rows[0].contains("annotation"),
        "{text}"
    );
    assert!(
        rows[1].contains("post")
            && rows[1].contains("[\"/bin/echo\",\"done\"]")
            && rows[1].contains("spec hook \"sync-all\""),
        "{text}"
    );
    assert!(
        rows[2].contains("pre")
            && rows[2].contains("[\"/bin/sync\"]")
            && rows[2].contains("SKIPPED: the pod's pre annotation hook runs instead"),
        "{text}"
    );
    for expected in [
        "pod/migrate-1 -n shop: warning HV120",
        "pod/cache-0 -n shop: warning HV121",
        "pod/db-0 -n shop: warning HV122: spec.hooks.resources[0].post[0].exec.container: spec hook \"sync-all\" names container `db`, which pod db-0 does not have",
        "pod/db-0 -n shop: warning HV123",
        "dry run: backup b2 not created",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
    assert!(world.backups().is_empty());
}

#[test]
fn a_name_in_use_is_refused_with_a_suggestion() {
    let world = VeleroWorld::start(frozen(), vec![]);
    expect_exit(&world.hooks(&["backup", "create", "daily"]), 0);
    let out = world.hooks(&["backup", "create", "daily"]);
    expect_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(
            "backup daily already exists in namespace velero: choose another name, e.g. daily-20"
        ),
        "{err}"
    );
}

#[test]
fn velero_not_installed() {
    let world = VeleroWorld::without_velero(vec![running_pod("shop", "db-0", json!({}))]);
    for args in [
        &["backup", "create", "b1"][..],
        &["backup", "get"][..],
        &["backup", "logs", "b1"][..],
    ] {
        let out = world.hooks(args);
        expect_exit(&out, 1);
        assert!(
            stderr(&out).contains("Velero is not installed in this cluster (no velero.io/v1 Backup resource); install Velero or check --context"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn another_velero_namespace_and_bad_flags() {
    let world = VeleroWorld::start(frozen(), vec![]);
    // Said before any preflight: Velero's namespace is not there, the name is not one.
    let out = world.hooks(&["backup", "create", "b1", "--velero-namespace", "elsewhere"]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("namespace elsewhere not found") && stdout(&out).is_empty(),
        "{}",
        stderr(&out)
    );
    let out = world.hooks(&["backup", "create", "Bad_Name", "--dry-run"]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("lowercase RFC 1123 subdomain"),
        "{}",
        stderr(&out)
    );
    // A storage location Velero does not have: the backup would end FailedValidation.
    let out = world.hooks(&[
        "backup",
        "create",
        "b2",
        "--storage-location",
        "nosuch",
        "--dry-run",
    ]);
    let text = expect_exit(&out, 1);
    assert!(
        text.contains("error HV141: spec.storageLocation: no BackupStorageLocation `nosuch`")
            && text.contains("(there: default)"),
        "{text}"
    );
    let out = world.hooks(&["-n", "shop", "backup", "get"]);
    expect_exit(&out, 1);
    assert!(
        stderr(&out).contains("--include-namespaces"),
        "{}",
        stderr(&out)
    );
    // A flag value the command cannot use: exit 2, as for every unusable input.
    let out = world.hooks(&["backup", "create", "b1", "--ttl", "30d"]);
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("invalid --ttl `30d`"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn a_namespace_the_cluster_lacks_is_warned_before_the_backup_partially_fails() {
    let world = VeleroWorld::start(
        frozen(),
        vec![running_pod(
            "shop",
            "db-0",
            json!({"pre.hook.backup.velero.io/command": "[\"/bin/sync\"]",
                   "pre.hook.backup.velero.io/on-error": "Continue"}),
        )],
    );
    let out = world.hooks(&[
        "backup",
        "create",
        "nightly",
        "--include-namespaces",
        "shop,shpo",
        "--dry-run",
    ]);
    let text = expect_exit(&out, 0);
    assert!(
        text.contains("backup/nightly -n velero: warning HV139: spec.includedNamespaces[1]: namespace `shpo` does not exist"),
        "{text}"
    );
    assert!(text.contains("PartiallyFailed"), "{text}");
    assert!(!text.contains("`shop` does not exist"), "{text}");
    assert!(text.contains("1 pod in scope, 1 with hooks"), "{text}");
}
