//! `helm lint --strict` with the default values and every ci/*-values.yaml.

use chart_tests::{chart_dir, helm};

fn lint(extra: &[&str]) {
    let chart = chart_dir().display().to_string();
    let mut args = vec!["lint", "--strict", chart.as_str()];
    args.extend_from_slice(extra);
    let out = helm(&args);
    assert!(
        out.success && out.stdout.contains("0 chart(s) failed"),
        "helm lint --strict {extra:?} failed:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        !out.stdout.contains("[ERROR]") && !out.stdout.contains("[WARNING]"),
        "{}",
        out.stdout
    );
}

#[test]
fn lint_strict_default_values() {
    lint(&[]);
}

#[test]
fn lint_strict_every_ci_values_file() {
    let mut files: Vec<_> = std::fs::read_dir(chart_dir().join("ci"))
        .expect("ci/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-values.yaml"))
        .collect();
    files.sort();
    let names: Vec<_> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "all-features-values.yaml",
        "cert-manager-issuer-values.yaml",
        "existing-secret-values.yaml",
        "helm-certs-values.yaml",
        "single-replica-values.yaml",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "ci/{expected} missing; have {names:?}"
        );
    }
    for file in &files {
        lint(&["--values", &file.display().to_string()]);
    }
}

#[test]
fn lint_reports_schema_violations() {
    let chart = chart_dir().display().to_string();
    let out = helm(&[
        "lint",
        "--strict",
        &chart,
        "--set",
        "webhook.timeoutSeconds=60",
    ]);
    assert!(
        !out.success,
        "lint accepted timeoutSeconds=60:\n{}",
        out.stdout
    );
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("/webhook/timeoutSeconds"), "{all}");
}
