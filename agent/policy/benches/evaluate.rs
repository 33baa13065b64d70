//! Policy evaluation time: the default policy and a generated 200-rule policy.
//! Run: `cargo bench -p sopilot-policy --bench evaluate`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let default = support::default_policy();
    for call in support::default_calls() {
        c.bench_function(&format!("default/{}", call.name), |b| {
            b.iter(|| call.decide(&default))
        });
    }
    let generated = support::generated_policy(200);
    let call = support::generated_call();
    c.bench_function("generated-200/covered-by-many", |b| {
        b.iter(|| call.decide(&generated))
    });
    c.bench_function("load/default", |b| b.iter(support::default_policy));
}

criterion_group!(benches, bench);
criterion_main!(benches);
