//! The API server calls `/mutate` and then `/validate` on the patched object. Mutation
//! must never turn an allowed request into a denied one: an UPDATE that leaves hook
//! annotations alone (a label change, a rollout of an object with old, broken hooks) gets
//! no patch, and no normalisation adds an error. Checked on every fixture, UPDATE and
//! CREATE, with each normalisation alone and all together.

mod common;

use base64::Engine as _;
use serde_json::Value;
use velero_hooks::normalize::Normalizations;
use velero_hooks_webhook::admission::parse_review;
use velero_hooks_webhook::review::{Decision, Mode, Policy, Verdict, review};

fn decide(body: &Value, mode: Mode, policy: &Policy) -> Decision {
    let request = parse_review(&serde_json::to_vec(body).unwrap()).unwrap();
    review(&request, mode, policy)
}

/// The review body with the mutating answer's patch applied to `request.object`, as the
/// API server does before calling the validating webhook.
fn patched(body: &Value, decision: &Decision) -> Value {
    let mut body = body.clone();
    if let Some(patch) = &decision.response.patch {
        let patch = base64::engine::general_purpose::STANDARD
            .decode(patch)
            .unwrap();
        let operations: Vec<json_patch::PatchOperation> = serde_json::from_slice(&patch).unwrap();
        json_patch::patch(&mut body["request"]["object"], &operations).unwrap();
    }
    body
}

fn policies() -> Vec<(&'static str, Policy)> {
    let with = |normalize: Normalizations| Policy {
        normalize,
        ..Policy::default()
    };
    let one = Normalizations::default();
    vec![
        (
            "pinContainer",
            with(Normalizations {
                pin_container: true,
                ..one
            }),
        ),
        (
            "jsonCommand",
            with(Normalizations {
                json_command: true,
                ..one
            }),
        ),
        (
            "explicitDefaults",
            with(Normalizations {
                explicit_defaults: true,
                ..one
            }),
        ),
        (
            "migrateLegacy",
            with(Normalizations {
                migrate_legacy: true,
                ..one
            }),
        ),
        (
            "all",
            with(Normalizations {
                pin_container: true,
                json_command: true,
                explicit_defaults: true,
                migrate_legacy: true,
            }),
        ),
    ]
}

#[test]
fn mutation_never_turns_an_allowed_request_into_a_denied_one() {
    let mut updates = 0;
    let mut untouched_patched = Vec::new();
    for name in common::fixture_names() {
        let body: Value = serde_json::from_slice(&common::fixture(&name)).unwrap();
        let update = body["request"]["operation"] == "UPDATE";
        updates += usize::from(update);
        for (normalisation, policy) in policies() {
            let alone = decide(&body, Mode::Enforce, &policy);
            let mutation = decide(&body, Mode::Mutate, &policy);
            assert!(mutation.response.allowed, "{name} {normalisation}");
            let chained = decide(&patched(&body, &mutation), Mode::Enforce, &policy);
            if alone.verdict != Verdict::Denied {
                assert_ne!(
                    chained.verdict,
                    Verdict::Denied,
                    "{name} with {normalisation}: allowed alone, denied after /mutate: {:?}",
                    chained.response.status
                );
            }
            // A patch may fix errors, never add one.
            let errors = |d: &Decision| {
                d.response
                    .status
                    .as_ref()
                    .map_or(0, |s| s.message.lines().count())
            };
            assert!(errors(&chained) <= errors(&alone), "{name} {normalisation}");
            if name.contains("-update-hooks-untouched-") && mutation.response.patch.is_some() {
                untouched_patched.push(format!("{name} ({normalisation})"));
            }
        }
    }
    assert!(updates >= 18, "only {updates} UPDATE fixtures");
    assert!(
        untouched_patched.is_empty(),
        "updates that leave hooks alone were patched: {untouched_patched:?}"
    );
}

#[test]
fn updates_that_change_hooks_are_still_normalised() {
    let all = policies().pop().unwrap().1;
    let mut patched_updates = 0;
    for name in common::fixture_names() {
        if !name.contains("-update-hooks-changed-") {
            continue;
        }
        let body: Value = serde_json::from_slice(&common::fixture(&name)).unwrap();
        let mutation = decide(&body, Mode::Mutate, &all);
        if mutation.verdict == Verdict::Patched {
            patched_updates += 1;
            // Patched once, nothing more to do: the chain is stable under reinvocation.
            let again = decide(&patched(&body, &mutation), Mode::Mutate, &all);
            assert_eq!(again.verdict, Verdict::Allowed, "{name}");
        }
    }
    assert!(
        patched_updates > 0,
        "no UPDATE that changes hooks was normalised"
    );
}
