//! A cached megaflow: a masked key, its datapath actions, and what to credit when it is used.

use flowtable::odp::DpActions;
use flowtable::rule::{Millis, RuleStats};
use flowtable::xlate::{SideEffect, Xlation};
use flowtable::FlowKey;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// One megaflow.
#[derive(Debug)]
pub struct Megaflow {
    /// The key, already masked.
    pub key: FlowKey,
    /// Significant bits.
    pub mask: FlowKey,
    /// What to do with matching packets.
    pub actions: DpActions,
    /// Counters of the OpenFlow rules (and groups) that made it; credited on stats push.
    pub rules: Vec<Arc<RuleStats>>,
    /// Side effects to repeat while the flow is used (learn refresh, MAC learning).
    pub side_effects: Vec<SideEffect>,
    /// When it was installed.
    pub created: Millis,
    /// Entries of the in-kernel fast path that carry it (see [`crate::xdp_offload`]).
    pub xdp_entries: AtomicU32,
    /// Packets, bytes and last use of the megaflow itself.
    counters: RuleStats,
    pushed_packets: AtomicU64,
    pushed_bytes: AtomicU64,
    dead: AtomicBool,
}

impl Megaflow {
    /// A megaflow from a translation of `key` at `now`.
    pub fn from_xlation(key: &FlowKey, x: Xlation, now: Millis) -> Self {
        Megaflow {
            key: key.and(&x.wc),
            mask: x.wc,
            actions: x.actions,
            rules: x.stats,
            side_effects: x.side_effects,
            created: now,
            xdp_entries: AtomicU32::new(0),
            counters: RuleStats::new(0),
            pushed_packets: AtomicU64::new(0),
            pushed_bytes: AtomicU64::new(0),
            dead: AtomicBool::new(false),
        }
    }

    /// Counts packets that used it.
    #[inline]
    pub fn hit(&self, packets: u64, bytes: u64, now: Millis) {
        self.counters.credit(packets, bytes, now);
    }

    /// Packets counted.
    pub fn packets(&self) -> u64 {
        self.counters.packets()
    }

    /// Bytes counted.
    pub fn bytes(&self) -> u64 {
        self.counters.bytes()
    }

    /// Last use (0: never).
    pub fn used(&self) -> Millis {
        self.counters.used()
    }

    /// Credits the packets and bytes counted since the last push to the OpenFlow rules, as
    /// Open vSwitch's revalidators push datapath stats; returns the packets pushed.
    pub fn push_stats(&self, now: Millis) -> u64 {
        let packets = self.packets();
        let bytes = self.bytes();
        let dp = packets - self.pushed_packets.swap(packets, Ordering::Relaxed);
        let db = bytes - self.pushed_bytes.swap(bytes, Ordering::Relaxed);
        if dp > 0 {
            let used = self.used().max(self.created).min(now);
            for r in &self.rules {
                r.credit(dp, db, used);
            }
        }
        dp
    }

    /// Marks it removed (an exact-match cache entry pointing at it is then ignored).
    pub fn kill(&self) {
        self.dead.store(true, Ordering::Release);
    }

    /// Whether it was removed.
    #[inline]
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }
}
