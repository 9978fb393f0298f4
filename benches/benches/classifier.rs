//! Classifier benchmarks: lookup ns at 1k, 10k and 100k rules over 1, 8 and 32 masks (hits,
//! and misses), and inserts per second.

use benches::{random_priority_keys, random_priority_rules, rule};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use flowtable::classifier::Classifier;
use flowtable::{Field, FlowKey};
use std::hint::black_box;

fn bench_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("classifier_lookup");
    g.throughput(Throughput::Elements(1));
    for n_rules in [1_000u32, 10_000, 100_000] {
        for n_masks in [1u32, 8, 32] {
            let mut cls = Classifier::new();
            for (i, (m, p)) in random_priority_rules(n_rules, n_masks).into_iter().enumerate() {
                cls.insert(m, p, i, 1);
            }
            let keys = random_priority_keys(n_rules, n_masks);
            let mut misses = keys.clone();
            for k in &mut misses {
                k.set(Field::EthType, 0x86dd);
            }
            let mut i = 0usize;
            g.bench_function(format!("hit {n_rules} rules {n_masks} masks"), |b| {
                b.iter(|| {
                    i = (i + 1) & 1023;
                    let mut wc = FlowKey::ZERO;
                    black_box(cls.lookup(&keys[i], 1, &mut wc).map(|e| e.priority))
                });
            });
            g.bench_function(format!("miss {n_rules} rules {n_masks} masks"), |b| {
                b.iter(|| {
                    i = (i + 1) & 1023;
                    let mut wc = FlowKey::ZERO;
                    black_box(cls.lookup(&misses[i], 1, &mut wc).map(|e| e.priority))
                });
            });
        }
    }
    g.finish();
}

fn bench_insert(c: &mut Criterion) {
    let rules: Vec<_> = (0..100_000u32).map(|i| rule(i, 32)).collect();
    let mut g = c.benchmark_group("classifier_insert");
    g.sample_size(10);
    g.throughput(Throughput::Elements(rules.len() as u64));
    g.bench_function("100k rules 32 masks", |b| {
        b.iter_batched(
            Classifier::<usize>::new,
            |mut cls| {
                for (i, m) in rules.iter().enumerate() {
                    cls.insert(*m, (i % 7) as u16, i, 1);
                }
                cls
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

criterion_group!(benches, bench_lookup, bench_insert);
criterion_main!(benches);
