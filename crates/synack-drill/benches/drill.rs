//! How fast scripts parse and run: parsing our whole suite, and running it against the engine
//! (virtual time, so this measures the runner and the engine, not the scripts' durations).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use synack_drill::engine::EngineFactory;
use synack_drill::matcher::MatchMode;
use synack_drill::profile::Profile;
use synack_drill::{RunOptions, parse, run_source};

fn scripts() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let p = e.path();
            (p.display().to_string(), std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

fn bench(c: &mut Criterion) {
    let all = scripts();
    c.bench_function("parse own suite", |b| {
        b.iter(|| {
            for (name, src) in &all {
                black_box(parse(src, name).unwrap());
            }
        })
    });
    let opts = RunOptions::new(Profile::linux_delack(), MatchMode::Strict);
    c.bench_function("run own suite (strict, engine)", |b| {
        b.iter(|| {
            for (name, src) in &all {
                black_box(run_source(src, name, &opts, &EngineFactory));
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
