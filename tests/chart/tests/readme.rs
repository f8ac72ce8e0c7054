//! charts/velero-hooks/README.md's values table matches values.yaml.

use chart_tests::readme::{documented_keys, expected_readme, readme_path, values_table};

#[test]
fn readme_values_table_is_current() {
    let current = std::fs::read_to_string(readme_path()).unwrap();
    let expected = expected_readme().unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        current == expected,
        "charts/velero-hooks/README.md is stale: run `cargo run -p chart-tests --bin update-chart-readme`"
    );
}

#[test]
fn table_generator_reads_comments_and_defaults() {
    let yaml =
        "# -- Top.\na: 1\nb:\n  # -- Nested,\n  # continued.\n  c: [x]\n  # -- Map.\n  d: {}\n";
    let keys = documented_keys(yaml).unwrap();
    let paths: Vec<_> = keys.iter().map(|k| k.path.as_str()).collect();
    assert_eq!(paths, ["a", "b.c", "b.d"]);
    assert_eq!(keys[1].description, "Nested, continued.");
    let table = values_table(yaml).unwrap();
    assert!(
        table.contains("| `b.c` | list | `[\"x\"]` | Nested, continued. |"),
        "{table}"
    );
}

#[test]
fn table_generator_refuses_undocumented_keys() {
    let err = values_table("# -- A.\na: 1\nb: 2\n").unwrap_err();
    assert!(format!("{err}").contains("\"b\""), "{err}");
}
