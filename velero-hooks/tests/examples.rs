//! The Velero-object examples: each `examples/broken/velero/*.yaml` states its mistake on
//! its first line and its code on the second (`# expect: HVnnn`), and the library finds
//! exactly that code; the good Schedule has no finding and a plan with its hooks.

use std::path::PathBuf;

use serde_json::{Value, json};
use velero_hooks::VeleroVersion;
use velero_hooks::spec::{Inventory, VeleroObject, check, plan};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn read(path: &std::path::Path) -> (String, VeleroObject) {
    let text = std::fs::read_to_string(path).unwrap();
    let value: Value =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let object = VeleroObject::from_json(&value)
        .expect("a Velero object")
        .expect("decodable");
    (text, object)
}

#[test]
fn every_broken_velero_example_reports_its_code() {
    let mut seen = [0; 3];
    for entry in std::fs::read_dir(examples().join("broken/velero")).unwrap() {
        let path = entry.unwrap().path();
        let (text, object) = read(&path);
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .is_some_and(|l| l.starts_with("# ") && l.len() > 20),
            "{}: first line says what is wrong",
            path.display()
        );
        let expected = lines
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: second line `# expect: CODE`", path.display()));
        let codes: Vec<&str> = check(&object, VeleroVersion::LATEST_RELEASE)
            .iter()
            .map(|f| f.code)
            .collect();
        assert_eq!(codes, [expected], "{}", path.display());
        seen[object.kind as usize] += 1;
    }
    assert!(
        seen.iter().all(|n| *n >= 5),
        "Backups, Schedules, Restores: {seen:?}"
    );
}

#[test]
fn the_good_schedule_is_clean_and_plans_its_hooks() {
    let (_, schedule) = read(&examples().join("good/schedule-spec-hooks.yaml"));
    assert_eq!(check(&schedule, VeleroVersion::LATEST_RELEASE), []);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-0", "namespace": "shop", "labels": {"app": "db"}},
                     "spec": {"containers": [{"name": "db"}]}, "status": {"phase": "Running"}});
    let planned = plan(
        &schedule,
        &Inventory::from_objects([&pod]),
        VeleroVersion::LATEST_RELEASE,
    );
    let phases: Vec<_> = planned.pods[0]
        .hooks
        .iter()
        .map(|h| (h.phase.as_str(), h.command[1].as_str()))
        .collect();
    assert_eq!(phases, [("pre", "--freeze"), ("post", "--unfreeze")]);
}
