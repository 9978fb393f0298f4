//! OpenFlow rules (flow entries) and their statistics.
//!
//! A rule is immutable once in a table: a modify replaces it with a new `Rule` that shares
//! the old one's [`RuleStats`] (unless `reset_counts`), as Open vSwitch does, so cached
//! megaflows that still point at the old rule keep crediting the right counters.

use crate::action::Action;
use crate::compact_match::CompactMatch;
use crate::flow_match::Match;
use crate::flow_mod::flags;
use crate::port::PortNo;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Milliseconds on a monotonic clock chosen by the caller (the pipeline does no I/O, so time
/// is always passed in).
pub type Millis = u64;

/// Packet/byte counters and last-use time of a rule, updated by the datapath.
#[derive(Debug, Default)]
pub struct RuleStats {
    packets: AtomicU64,
    bytes: AtomicU64,
    used: AtomicU64,
}

impl RuleStats {
    /// Counters starting at zero, last used at `now`.
    pub fn new(now: Millis) -> Self {
        RuleStats { packets: AtomicU64::new(0), bytes: AtomicU64::new(0), used: AtomicU64::new(now) }
    }

    /// Credits `packets` packets of `bytes` bytes in total, used at `now`.
    pub fn credit(&self, packets: u64, bytes: u64, now: Millis) {
        if packets == 0 {
            return;
        }
        self.packets.fetch_add(packets, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.used.fetch_max(now, Ordering::Relaxed);
    }

    /// Packets counted.
    pub fn packets(&self) -> u64 {
        self.packets.load(Ordering::Relaxed)
    }

    /// Bytes counted.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Last time a packet used the rule (or its creation time).
    pub fn used(&self) -> Millis {
        self.used.load(Ordering::Relaxed)
    }
}

/// One flow entry.
#[derive(Debug)]
pub struct Rule {
    /// Table it lives in.
    pub table_id: u8,
    /// Priority.
    pub priority: u16,
    /// Match, in its non-zero mask words ([`Rule::match_`] rebuilds it).
    pub(crate) match_: CompactMatch,
    /// Cookie.
    pub cookie: u64,
    /// Idle timeout in seconds (0: none).
    pub idle_timeout: u16,
    /// Hard timeout in seconds (0: none).
    pub hard_timeout: u16,
    /// Importance (reported only).
    pub importance: u16,
    /// Flow-mod flags.
    pub flags: u16,
    /// Actions and instructions (one shared copy per distinct list in a pipeline).
    pub actions: Arc<[Action]>,
    /// When the rule was added (duration and hard timeout count from here).
    pub created: Millis,
    /// When it was last modified or refreshed by `learn` (hard timeout and hard age count from
    /// here, as in Open vSwitch).
    pub modified: AtomicU64,
    /// Counters, shared with the rule it replaced unless counts were reset.
    pub stats: Arc<RuleStats>,
    /// Whether a `learn` action created it (and which rule learned it, for `delete_learned`).
    pub learned_by: Option<u64>,
}

impl Rule {
    /// The match.
    pub fn match_(&self) -> Match {
        self.match_.get()
    }

    /// Whether the rule wants a flow-removed message.
    pub fn send_flow_rem(&self) -> bool {
        self.flags & flags::SEND_FLOW_REM != 0
    }

    /// Whether any of its actions outputs to `port` (flow-mod and stats `out_port` filter).
    pub fn outputs_to(&self, port: PortNo) -> bool {
        port == PortNo::NONE || self.actions.iter().any(|a| a.outputs_to(port))
    }

    /// Whether any of its actions sends to `group` (`out_group` filter).
    pub fn outputs_to_group(&self, group: u32) -> bool {
        group == crate::flow_mod::GROUP_ANY || self.actions.iter().any(|a| a.outputs_to_group(group))
    }

    /// Whether the rule's cookie passes a `cookie/cookie_mask` filter.
    pub fn cookie_matches(&self, cookie: u64, mask: u64) -> bool {
        (self.cookie ^ cookie) & mask == 0
    }

    /// When it was last modified or refreshed.
    pub fn modified(&self) -> Millis {
        self.modified.load(Ordering::Relaxed)
    }

    /// Records a refresh (a `learn` re-learning it) at `now`.
    pub fn touch(&self, now: Millis) {
        self.modified.fetch_max(now, Ordering::Relaxed);
        self.stats.used.fetch_max(now, Ordering::Relaxed);
    }

    /// Why it should expire at `now`, if it should.
    pub fn expiry(&self, now: Millis) -> Option<RemovedReason> {
        if self.hard_timeout != 0 && now >= self.modified() + u64::from(self.hard_timeout) * 1000 {
            return Some(RemovedReason::HardTimeout);
        }
        if self.idle_timeout != 0 && now >= self.stats.used() + u64::from(self.idle_timeout) * 1000 {
            return Some(RemovedReason::IdleTimeout);
        }
        None
    }
}

/// Why a rule left its table (OpenFlow `ofp_flow_removed_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RemovedReason {
    /// Idle timeout.
    IdleTimeout,
    /// Hard timeout.
    HardTimeout,
    /// Deleted by a flow-mod.
    Delete,
    /// Its group was deleted.
    GroupDelete,
}

/// A rule that left its table, with its final counters: what `OFPT_FLOW_REMOVED` reports.
#[derive(Clone, Debug)]
pub struct RemovedRule {
    /// The rule.
    pub rule: Arc<Rule>,
    /// Why.
    pub reason: RemovedReason,
    /// When.
    pub at: Millis,
}
