//! Fit + forecast time for seven days of 5-minute points (2016), the history
//! the source document feeds Prophet, with horizons of 30 minutes and 6 hours.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sopilot_forecast::synthetic::Spec;
use sopilot_forecast::{ForecastOptions, anomaly_band, forecast};

fn bench(c: &mut Criterion) {
    let series = Spec {
        noise_sd: 30.0,
        ..Spec::traffic(2016, 42)
    }
    .generate()
    .series;
    let mut group = c.benchmark_group("seven_days_5min");
    group.sample_size(20);
    for (name, steps) in [("forecast_30min", 6), ("forecast_6h", 72)] {
        let options = ForecastOptions::new(steps);
        group.bench_function(name, |b| {
            b.iter(|| forecast(black_box(&series), black_box(&options)))
        });
    }
    group.bench_function("anomaly_band", |b| {
        b.iter(|| anomaly_band(black_box(&series), black_box(2.0)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
