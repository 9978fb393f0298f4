//! Memory footprint of a large classifier: 1M rules must fit in under 1 GiB of RSS.
//!
//! Ignored by default (it takes seconds and needs a release build to be quick):
//! `cargo test -p flowtable --release --test classifier_memory -- --ignored --nocapture`.

use flowtable::classifier::Classifier;
use flowtable::field::Field;
use flowtable::{FlowKey, Match};

/// Resident set size of this process in KiB (Linux `/proc/self/status`), if readable.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
#[ignore = "slow: run in release with --ignored"]
fn one_million_rules_fit_in_one_gib() {
    const N: u32 = 1_000_000;
    let before = rss_kib().unwrap_or(0);
    let mut cls: Classifier<u64> = Classifier::new();
    for i in 0..N {
        // 32 masks: nw_dst/32 plus one of 32 tp_dst/in_port combinations, as an ACL would have.
        let mut m =
            Match::ANY.with(Field::EthType, 0x800).with(Field::Ipv4Dst, u128::from(i.wrapping_mul(2_654_435_761)));
        if i % 2 == 1 {
            m.set(Field::InPort, u128::from(i % 64));
        }
        if i % 4 >= 2 {
            m.set(Field::IpProto, 6);
            m.set(Field::TpDst, u128::from(i % 1024));
        }
        let plen = 24 + (i / 4) % 8;
        m.set_masked(Field::Ipv4Src, 0x0a00_0000, u128::from(u32::MAX << (32 - plen)));
        cls.insert(m, (i % 1000) as u16, u64::from(i), 1);
    }
    assert_eq!(cls.len(), N as usize);
    let after = rss_kib().unwrap_or(0);
    let used_mib = (after.saturating_sub(before)) / 1024;
    println!("1M rules over {} subtables: RSS grew by {used_mib} MiB", cls.n_subtables());
    let mut wc = FlowKey::ZERO;
    let mut key = FlowKey::ZERO;
    key.set(Field::EthType, 0x800);
    key.set(Field::Ipv4Dst, u128::from(0u32));
    key.set(Field::Ipv4Src, 0x0a00_0000);
    assert!(cls.lookup(&key, 1, &mut wc).is_some());
    assert!(used_mib < 1024, "1M rules took {used_mib} MiB");
}
