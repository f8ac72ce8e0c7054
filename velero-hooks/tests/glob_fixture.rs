//! The glob matcher against the real github.com/gobwas/glob v0.2.3 (the library Velero's
//! `pkg/util/collections/includes_excludes.go` calls): `fixtures/glob/cases.json`, written
//! by `fixtures/glob/generate.go` (see its header to regenerate).

use serde::Deserialize;
use velero_hooks::spec::glob::Glob;

#[derive(Deserialize)]
struct Fixture {
    texts: Vec<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    pattern: String,
    compiles: bool,
    matches: String,
}

#[test]
fn same_verdicts_as_gobwas_glob() {
    let fixture: Fixture =
        serde_json::from_str(include_str!("fixtures/glob/cases.json")).expect("cases.json");
    assert!(fixture.cases.len() > 6_000, "the fixture lost its cases");
    let mut mismatches = Vec::new();
    let (mut panics, mut erratic, mut non_ascii) = (0, 0, 0);
    for case in &fixture.cases {
        let compiled = Glob::compile(&case.pattern);
        if compiled.is_ok() != case.compiles {
            mismatches.push(format!(
                "{:?}: compiles in gobwas: {}, here: {compiled:?}",
                case.pattern, case.compiles
            ));
            continue;
        }
        let Ok(glob) = compiled else { continue };
        for (text, verdict) in fixture.texts.iter().zip(case.matches.chars()) {
            let ours = glob.matches(text);
            if verdict == 'p' {
                // gobwas panics (index out of range): the pattern must be flagged.
                panics += 1;
                if !glob.may_panic_in_gobwas() {
                    mismatches.push(format!(
                        "{:?} ~ {text:?}: gobwas panics, not flagged",
                        case.pattern
                    ));
                }
            } else if ours != (verdict == '1') {
                if glob.may_panic_in_gobwas() {
                    // All-empty alternations: gobwas' answers are erratic; flagged is enough.
                    erratic += 1;
                } else if !text.is_ascii() {
                    // gobwas mixes byte and rune lengths; Kubernetes names are ASCII.
                    non_ascii += 1;
                } else {
                    mismatches.push(format!(
                        "{:?} ~ {text:?}: gobwas {verdict}, here {ours}",
                        case.pattern
                    ));
                }
            }
        }
    }
    assert!(
        panics > 0,
        "the fixture should hold gobwas' panicking cases"
    );
    eprintln!(
        "gobwas panics: {panics}, erratic answers on flagged patterns: {erratic}, non-ASCII differences: {non_ascii}"
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(4000)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
