//! Classifier benchmarks on an ACL-like table (more specific rules have higher priority):
//! ns per lookup (hits and misses) at 1k/10k/100k rules over 1/8/32
//! masks, and the insert rate (100k flow_mod adds into an empty classifier, 32 masks).

use benches::classifier_rules::{hit_keys, miss_keys, rules};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use flowtable::classifier::Classifier;
use flowtable::FlowKey;
use std::hint::black_box;
use std::time::Duration;

const N_KEYS: usize = 1024;

fn build(rules: &[(flowtable::Match, u16)]) -> Classifier<u64> {
    let mut cls = Classifier::new();
    for (i, (m, p)) in rules.iter().enumerate() {
        cls.insert(*m, *p, i as u64, 1);
    }
    cls
}

fn lookups(c: &mut Criterion) {
    let mut g = c.benchmark_group("classifier_acl_lookup");
    g.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(20);
    g.throughput(Throughput::Elements(N_KEYS as u64));
    for n_rules in [1_000, 10_000, 100_000] {
        for n_masks in [1, 8, 32] {
            let rs = rules(n_rules, n_masks, 42);
            let cls = build(&rs);
            let hits = hit_keys(&rs, N_KEYS, 7);
            let misses = miss_keys(N_KEYS, 9);
            assert!(misses.iter().all(|k| cls.lookup(k, 1, &mut FlowKey::default()).is_none()));
            let id = format!("{n_rules}rules/{n_masks}masks");
            for (kind, keys) in [("hit", &hits), ("miss", &misses)] {
                g.throughput(Throughput::Elements(keys.len() as u64));
                g.bench_with_input(BenchmarkId::new(kind, &id), keys, |b, keys| {
                    b.iter(|| {
                        let mut found = 0u64;
                        for k in keys {
                            let mut wc = FlowKey::ZERO;
                            if let Some(e) = cls.lookup(black_box(k), 1, &mut wc) {
                                found += e.value;
                            }
                            black_box(&wc);
                        }
                        found
                    });
                });
            }
        }
    }
    g.finish();
}

fn inserts(c: &mut Criterion) {
    let mut g = c.benchmark_group("classifier_acl_insert");
    g.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(5)).sample_size(10);
    let rs = rules(100_000, 32, 42);
    g.throughput(Throughput::Elements(rs.len() as u64));
    g.bench_function("100k_rules_32masks", |b| {
        b.iter_batched(|| rs.clone(), |rs| build(&rs), BatchSize::LargeInput);
    });
    g.finish();
}

criterion_group!(classifier, lookups, inserts);
criterion_main!(classifier);
