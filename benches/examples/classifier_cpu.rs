//! Classifier lookup cost at 100k rules / 32 masks in thread CPU time, for a shared machine:
//! `cargo run --release -p benches --example classifier_cpu [CASE]`.
//!
//! Criterion measures wall time, which other processes on a loaded 2-core machine inflate by
//! up to 2x; this measures the CPU time of the looking-up thread (best of 5 passes of 300 x
//! 1024 lookups), so that two builds can be compared in the same minute. Cases: `acl hit`,
//! `acl miss` (the `classifier_acl` rule set), `rand hit`, `rand miss` (the `classifier` one).

use benches::classifier_rules::{hit_keys, miss_keys, rules};
use flowtable::classifier::Classifier;
use flowtable::{Field, FlowKey};
use std::hint::black_box;

/// This thread's CPU time in nanoseconds.
fn cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn run<T>(only: &str, name: &str, cls: &Classifier<T>, keys: &[FlowKey]) {
    if !only.is_empty() && only != name {
        return;
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = cpu_ns();
        let mut found = 0u64;
        for _ in 0..300 {
            for k in keys {
                let mut wc = FlowKey::ZERO;
                if cls.lookup(black_box(k), 1, &mut wc).is_some() {
                    found += 1;
                }
                black_box(&wc);
            }
        }
        black_box(found);
        best = best.min((cpu_ns() - start) as f64 / (300.0 * keys.len() as f64));
    }
    println!("{name}: {best:.1} ns/lookup (thread CPU time, best of 5)");
}

fn main() {
    let only = std::env::args().nth(1).unwrap_or_default();
    let rs = rules(100_000, 32, 42);
    let mut cls = Classifier::new();
    for (i, (m, p)) in rs.iter().enumerate() {
        cls.insert(*m, *p, i as u64, 1);
    }
    run(&only, "acl hit", &cls, &hit_keys(&rs, 1024, 7));
    run(&only, "acl miss", &cls, &miss_keys(1024, 9));

    let mut cls = Classifier::new();
    let rules: Vec<_> = (0..100_000u32).map(|i| benches::rule(i, 32)).collect();
    for (i, m) in rules.iter().enumerate() {
        if cls.find_exact(m, 100, 1).is_none() {
            cls.insert(*m, 100 + (i % 7) as u16, i, 1);
        }
    }
    let keys: Vec<FlowKey> =
        (0..1024u32).map(|i| benches::key_for(&rules[(i as usize * 7919) % rules.len()], i)).collect();
    let mut misses = keys.clone();
    for k in &mut misses {
        k.set(Field::EthType, 0x86dd);
    }
    run(&only, "rand hit", &cls, &keys);
    run(&only, "rand miss", &cls, &misses);
}
