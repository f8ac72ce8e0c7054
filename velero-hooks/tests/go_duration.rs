//! Every case produced by the real Go `time.ParseDuration`, checked in full.

use serde::Deserialize;
use velero_hooks::duration::parse_go_duration;

#[derive(Deserialize)]
struct Case {
    input: String,
    ok: bool,
    nanos: Option<i64>,
    go_error: Option<String>,
}

#[test]
fn agrees_with_go_on_every_fixture() {
    let cases: Vec<Case> =
        serde_json::from_str(include_str!("fixtures/go-duration-cases.json")).unwrap();
    assert!(cases.len() > 600);
    let mut mismatches = Vec::new();
    for case in &cases {
        let got = parse_go_duration(&case.input);
        let agrees = match (&got, case.ok) {
            (Ok(n), true) => Some(*n) == case.nanos,
            (Err(e), false) => Some(e.to_string()) == case.go_error,
            _ => false,
        };
        if !agrees {
            mismatches.push(format!(
                "{:?}: go {:?}/{:?}, ours {:?}",
                case.input, case.nanos, case.go_error, got
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
