//! Classifier lookup cost at 100k rules / 32 masks in thread CPU time, for a shared machine:
//! `cargo run --release -p benches --example classifier_cpu [CASE]`.
//!
//! Criterion measures wall time, which other processes on a loaded 2-core machine inflate by
//! up to 2x; this measures the CPU time of the looking-up thread (best of 5 passes of 300 x
//! 1024 lookups), so that two builds can be compared in the same minute. Cases: `acl hit`,
//! `acl miss` (the `classifier_acl` rule set), `rand hit`, `rand miss` (the `classifier` one).
//!
//! `classifier_cpu --export DIR` writes the rule sets (`ovs-ofctl` flow syntax) and keys
//! (exact-flow syntax) to `DIR` instead, for `benches/ovs/classifier_ovs.c`, which runs the
//! same measurement on Open vSwitch's classifier (`benches/scripts/classifier_vs_ovs.sh`).
//! Both print how many keys matched and the sum of the matched priorities, which must agree.

use anyhow::Context;
use benches::classifier_rules::{exact_flow_string, hit_keys, miss_keys, rules};
use flowtable::classifier::Classifier;
use flowtable::syntax::format_match;
use flowtable::{Field, FlowKey, Match};
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;

const N_RULES: u32 = 100_000;
const N_MASKS: u32 = 32;

/// This thread's CPU time in nanoseconds.
fn cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// One rule set and the keys of its two cases, `<name> hit` and `<name> miss`.
struct RuleSet {
    name: &'static str,
    rules: Vec<(Match, u16)>,
    hit: Vec<FlowKey>,
    miss: Vec<FlowKey>,
}

impl RuleSet {
    /// The set's cases: (kind, keys).
    fn cases(&self) -> [(&'static str, &[FlowKey]); 2] {
        [("hit", &self.hit), ("miss", &self.miss)]
    }
}

fn rule_sets() -> [RuleSet; 2] {
    let acl = rules(N_RULES as usize, N_MASKS as usize, 42);
    let rand_hits = benches::random_priority_keys(N_RULES, N_MASKS);
    let mut rand_misses = rand_hits.clone();
    for k in &mut rand_misses {
        k.set(Field::EthType, 0x86dd);
    }
    [
        RuleSet { name: "acl", hit: hit_keys(&acl, 1024, 7), miss: miss_keys(1024, 9), rules: acl },
        RuleSet {
            name: "rand",
            rules: benches::random_priority_rules(N_RULES, N_MASKS),
            hit: rand_hits,
            miss: rand_misses,
        },
    ]
}

fn run(case: &str, keys: &[FlowKey], cls: &Classifier<usize>) {
    let mut best = f64::MAX;
    let (mut matched, mut priority_sum) = (0u64, 0u64);
    for _ in 0..5 {
        let start = cpu_ns();
        (matched, priority_sum) = (0, 0);
        for _ in 0..300 {
            for k in keys {
                let mut wc = FlowKey::ZERO;
                if let Some(e) = cls.lookup(black_box(k), 1, &mut wc) {
                    matched += 1;
                    priority_sum += u64::from(e.priority);
                }
                black_box(&wc);
            }
        }
        best = best.min((cpu_ns() - start) as f64 / (300.0 * keys.len() as f64));
    }
    println!(
        "{case}: {best:.1} ns/lookup (thread CPU time, best of 5; {} of {} keys matched, priority sum {})",
        matched / 300,
        keys.len(),
        priority_sum / 300
    );
}

/// Writes `<set>-rules.txt`, `<set>-hit.txt` and `<set>-miss.txt` for every rule set.
fn export(dir: &Path, sets: &[RuleSet]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let write = |name: String, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    for set in sets {
        let mut rules = String::new();
        for (m, p) in &set.rules {
            writeln!(rules, "{},actions=drop", format_match(m, *p))?;
        }
        write(format!("{}-rules.txt", set.name), rules)?;
        for (kind, keys) in set.cases() {
            let mut text = String::new();
            for k in keys {
                writeln!(text, "{}", exact_flow_string(k))?;
            }
            write(format!("{}-{kind}.txt", set.name), text)?;
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sets = rule_sets();
    if let [flag, dir] = args.as_slice() {
        if flag == "--export" {
            return export(Path::new(dir), &sets);
        }
    }
    let only = args.first().map_or("", String::as_str);
    for set in &sets {
        let cases: Vec<(String, &[FlowKey])> = set
            .cases()
            .into_iter()
            .map(|(kind, keys)| (format!("{} {kind}", set.name), keys))
            .filter(|(case, _)| only.is_empty() || only == case)
            .collect();
        if cases.is_empty() {
            continue;
        }
        let mut cls = Classifier::new();
        for (i, (m, p)) in set.rules.iter().enumerate() {
            cls.insert(*m, *p, i, 1);
        }
        for (case, keys) in cases {
            run(&case, keys, &cls);
        }
    }
    Ok(())
}
