//! The decision without a socket: parse the AdmissionReview, decide, render the answer,
//! on realistic bodies (defaulted specs, managedFields, last-applied annotation).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use velero_hooks_webhook::review::{Mode, Policy, review_body};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(format!("{name}.json")),
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let policy = Policy::default();
    let mut group = c.benchmark_group("review");
    for (name, mode) in [
        ("pod-create-owned-warned", Mode::Enforce),
        ("deployment-create-denied", Mode::Enforce),
        ("deployment-create-valid-allowed", Mode::Enforce),
        ("deployment-update-hooks-untouched-warned", Mode::Enforce),
        ("schedule-create-denied", Mode::Enforce),
        ("schedule-update-hooks-untouched-warned", Mode::Enforce),
        (
            "deployment-create-legacy-plain-commands-denied",
            Mode::Mutate,
        ),
    ] {
        let body = fixture(name);
        group.throughput(Throughput::Bytes(body.len() as u64));
        let label = format!(
            "{}{}",
            name,
            if mode == Mode::Mutate {
                " (mutate, all off)"
            } else {
                ""
            }
        );
        group.bench_function(label, |b| {
            b.iter(|| review_body(black_box(&body), mode, &policy).unwrap().0)
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
