//! Resident memory of the classifier holding N rules (default 1M) over 32 masks:
//! `cargo run --release -p benches --example classifier_memory [N]`.

use benches::rule;
use flowtable::classifier::Classifier;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let before = rss_kib();
    let mut cls = Classifier::new();
    let start = std::time::Instant::now();
    for i in 0..n {
        cls.insert(rule(i, 32), (i % 7) as u16, i, 1);
    }
    let took = start.elapsed();
    let after = rss_kib();
    println!(
        "{n} rules, {} masks: {:.1} MiB resident ({:.0} bytes/rule), inserted in {took:.2?} ({:.0} rules/s)",
        cls.n_subtables(),
        (after - before) as f64 / 1024.0,
        (after - before) as f64 * 1024.0 / f64::from(n),
        f64::from(n) / took.as_secs_f64()
    );
}
