//! 1M flows installed and deleted, three times over: the memory the pipeline holds returns
//! to its baseline each time (no leaked rules, no tombstones or stale versions, no hash
//! tables left at their peak capacity). Measured in live heap bytes with a counting
//! allocator, which, unlike RSS, does not depend on what the C allocator gives back.
//!
//! The rule count comes from `FERROVS_CHURN_FLOWS` (default 1,000,000).

#![allow(clippy::unwrap_used)]

use flowtable::action::Action;
use flowtable::flow_mod::{FlowMod, FlowModCommand};
use flowtable::pipeline::Pipeline;
use flowtable::{Field, Match, PortNo};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to the system allocator with the caller's arguments and only
// adds bookkeeping of sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: ptr was allocated by System.alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// An ACL-like rule: IPv4 destination /32 in one of four masks, plus a TCP port for half.
fn rule(i: u32) -> FlowMod {
    let mut m = Match::ANY.with(Field::EthType, 0x0800).with(Field::Ipv4Dst, u128::from(0x0a00_0000 | i));
    if i.is_multiple_of(2) {
        m = m.with(Field::IpProto, 6).with(Field::TpDst, u128::from(i % 65_000 + 1));
    }
    if i.is_multiple_of(3) {
        m = m.with_masked(Field::Ipv4Src, 0xc0a8_0000, 0xffff_0000);
    }
    FlowMod::add(0, (i % 100) as u16 + 1, m, vec![Action::Output { port: PortNo((i % 4) as u16 + 1), max_len: 0 }])
}

#[test]
fn flows_installed_and_deleted_in_a_loop_return_memory_to_baseline() {
    let n: u32 = std::env::var("FERROVS_CHURN_FLOWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let mut p = Pipeline::default();
    // Warm up once (one-time allocations such as table vectors), then take the baseline.
    p.apply(&rule(0), 0).unwrap();
    p.apply(&FlowMod { table_id: 0xff, ..FlowMod::new(FlowModCommand::Delete, Match::ANY) }, 0).unwrap();
    let baseline = live();
    let mut peaks = Vec::new();
    for round in 0..3 {
        let t = std::time::Instant::now();
        for i in 0..n {
            p.apply(&rule(i), 0).unwrap();
        }
        eprintln!("add {:?}", t.elapsed());
        let t = std::time::Instant::now();
        peaks.push(live() - baseline);
        p.apply(&FlowMod { table_id: 0xff, ..FlowMod::new(FlowModCommand::Delete, Match::ANY) }, 0).unwrap();
        eprintln!("delete {:?}", t.elapsed());
        let after = live() - baseline;
        eprintln!(
            "round {round}: {n} flows held {} MiB; after delete {after} bytes above baseline",
            peaks[round] >> 20
        );
        assert!(after < 64 * 1024, "round {round}: {after} bytes still held after deleting {n} flows");
    }
    assert!(peaks[0] > i64::from(n) as isize * 64, "the rules were really held: {peaks:?}");
}
