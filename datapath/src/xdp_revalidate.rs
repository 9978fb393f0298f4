//! In-place revalidation of the in-kernel fast path's entries after a change.
//!
//! Every change ([`crate::pmd::SwitchState::changed`]) writes a new generation into every
//! port's program, so no entry survives it by even one packet. Then, still under the switch's
//! write lock (before the change is acknowledged: flow_mod reply, barrier reply, CLI exit), the
//! [`OffloadBook`] translates each installed entry's megaflows again against the new state and
//! re-stamps the entries whose megaflows still say the same thing (same actions, rules and side
//! effects, no bit outside their masks consulted: [`still_valid_env`]) with the new generation.
//! Entries whose translation changed keep their old stamp: the program ignores them, their next
//! frames go to userspace, and the sweep removes them. So an unrelated flow_mod leaves the fast
//! path stale for the duration of one translation per entry (microseconds), not until the next
//! frame of each flow has been through userspace and re-offloaded.
//!
//! Re-stamping rewrites an entry's whole value (the kernel has no partial update), but only of
//! entries the program ignores at that moment (older stamp), so it loses no count.
//!
//! Soundness: an entry is re-stamped only after its megaflows were translated against the state
//! the change left, under the lock that change holds; the book is filled by the poll thread
//! under the read lock, only with entries stamped with the generation in force (translated from
//! that same state), and emptied on changes that alter what an entry's actions are derived from
//! (ports, redirect targets: [`crate::pmd::SwitchState::retire_offload`]). The book may miss
//! entries or hold removed ones: a missed entry just stays retired, a removed one is not
//! re-created (the update only replaces existing elements).
//!
//! Cost: one translation per megaflow and two map system calls per entry per change. Past
//! [`INLINE_MAX`] entries, or once revalidation has taken [`BUDGET`] of the last [`WINDOW`] (a
//! storm of flow_mods with many entries installed), a change retires every entry, as without
//! the book, and they come back through userspace as their frames arrive: revalidation never
//! slows a storm by more than a tenth.

use crate::revalidate::still_valid_env;
use crate::xdp_offload::{EntryKey, Flows};
use ebpf::Generation;
use flowtable::bridge::Bridge;
use flowtable::rule::Millis;
use flowtable::tunnel::TunnelEnv;
use flowtable::DpPort;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most entries a change revalidates in place; past that it retires them all.
pub const INLINE_MAX: usize = 256;
/// The interval over which revalidation time is accounted…
pub const WINDOW: Duration = Duration::from_millis(100);
/// …and how much of it revalidation may take; past that, changes retire every entry until the
/// next interval.
pub const BUDGET: Duration = Duration::from_millis(10);

/// Revalidation time spent in the current [`WINDOW`].
#[derive(Debug, Clone, Copy)]
struct Budget {
    start: Instant,
    spent: Duration,
}

impl Budget {
    /// Whether revalidation may run at `now` (starting a new window if the last one is over).
    fn allows(this: &mut Option<Budget>, now: Instant) -> bool {
        let b = this.get_or_insert(Budget { start: now, spent: Duration::ZERO });
        if now.saturating_duration_since(b.start) >= WINDOW {
            *b = Budget { start: now, spent: Duration::ZERO };
        }
        b.spent < BUDGET
    }

    fn charge(this: &mut Option<Budget>, took: Duration) {
        if let Some(b) = this {
            b.spent += took;
        }
    }
}

/// What a revalidation pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RestampReport {
    /// Entries re-stamped (in force again).
    pub kept: usize,
    /// Entries left retired (translation changed, megaflow dead, entry gone).
    pub retired: usize,
}

/// The installed entries a change may keep, with the megaflows they carry.
#[derive(Debug, Default)]
pub struct OffloadBook {
    entries: HashMap<(DpPort, EntryKey), Flows>,
    /// The pipeline clock as last seen by the poll thread (revalidation translates at it).
    now: Millis,
    budget: Option<Budget>,
}

impl OffloadBook {
    /// Entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets every entry (they stay retired until re-offloaded).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Records an entry installed on `port`, stamped with the generation in force.
    pub(crate) fn register(&mut self, port: DpPort, key: EntryKey, flows: &Flows, now: Millis) {
        self.now = self.now.max(now);
        self.entries.insert((port, key), flows.clone());
    }

    /// Forgets an entry (removed or replaced without a successor).
    pub(crate) fn forget(&mut self, port: DpPort, key: &EntryKey) {
        self.entries.remove(&(port, *key));
    }

    /// Re-stamps with `generation` every entry whose megaflows still translate the same against
    /// `bridges` and `env`; forgets the others (see the module documentation).
    pub fn restamp(
        &mut self,
        handles: &mut BTreeMap<DpPort, Generation>,
        bridges: &[Bridge],
        env: &TunnelEnv,
        generation: u64,
    ) -> RestampReport {
        let mut report = RestampReport::default();
        let started = Instant::now();
        if self.entries.len() > INLINE_MAX || !Budget::allows(&mut self.budget, started) {
            report.retired = self.entries.len();
            self.entries.clear();
            return report;
        }
        let now = self.now;
        let mut verdicts = HashMap::new();
        self.entries.retain(|(port, key), flows| {
            let keep = still_carried(flows, bridges, env, now, &mut verdicts)
                && handles.get_mut(port).is_some_and(|h| {
                    let r = match key {
                        EntryKey::Flow(k) => h.restamp_flow(k, generation),
                        EntryKey::Tnl(k) => h.restamp_tnl(k, generation),
                    };
                    r.unwrap_or_else(|e| {
                        log::debug!("port {}: re-stamping an XDP entry: {e}", port.0);
                        false
                    })
                });
            if keep {
                report.kept += 1;
            } else {
                report.retired += 1;
            }
            keep
        });
        Budget::charge(&mut self.budget, started.elapsed());
        report
    }
}

/// Whether every megaflow of `flows` is alive and translates as it did; `verdicts` remembers
/// each megaflow's answer within one pass (one translation per megaflow, however many entries
/// carry it).
pub(crate) fn still_carried(
    flows: &Flows,
    bridges: &[Bridge],
    env: &TunnelEnv,
    now: Millis,
    verdicts: &mut HashMap<usize, bool>,
) -> bool {
    flows.each_with_bridge().all(|(mf, bridge)| {
        !mf.is_dead()
            && *verdicts
                .entry(Arc::as_ptr(mf) as usize)
                .or_insert_with(|| still_valid_env(mf, bridges, env, bridge, now))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Megaflow;
    use flowtable::bridge::PortInfo;
    use flowtable::xlate::xlate_env;
    use flowtable::{Action, FlowKey, FlowMod, Match, PortNo};

    fn bridges() -> Vec<Bridge> {
        let mut b = Bridge::new("br0");
        for p in 1..=3u16 {
            b.ports.insert(
                PortNo(p),
                PortInfo { name: format!("p{p}"), dp_port: Some(DpPort(p.into())), ..PortInfo::default() },
            );
        }
        vec![b]
    }

    fn add(bridges: &mut [Bridge], prio: u16, in_port: u16, out: u16) {
        let mut m = Match::ANY;
        m.set(flowtable::Field::InPort, in_port.into());
        let fm = FlowMod::add(0, prio, m, vec![Action::Output { port: PortNo(out), max_len: 0 }]);
        bridges[0].pipeline.apply(&fm, 0).expect("valid");
    }

    fn megaflow(bridges: &[Bridge], key: &FlowKey) -> Arc<Megaflow> {
        Arc::new(Megaflow::from_xlation(key, xlate_env(bridges, &TunnelEnv::EMPTY, 0, key, 0, false), 0))
    }

    #[test]
    fn revalidation_takes_at_most_its_budget_of_each_window() {
        let t0 = Instant::now();
        let mut b = None;
        assert!(Budget::allows(&mut b, t0));
        Budget::charge(&mut b, BUDGET / 2);
        assert!(Budget::allows(&mut b, t0 + WINDOW / 2));
        Budget::charge(&mut b, BUDGET / 2);
        assert!(!Budget::allows(&mut b, t0 + WINDOW / 2), "budget spent: retire instead");
        assert!(Budget::allows(&mut b, t0 + WINDOW), "a new window");
    }

    #[test]
    fn unrelated_changes_keep_entries_and_related_ones_retire_them() {
        let mut b = bridges();
        add(&mut b, 10, 1, 2);
        let mut key = FlowKey::ZERO;
        key.set(flowtable::Field::InPort, 1);
        key.set(flowtable::Field::EthType, 0x0800);
        let mf = megaflow(&b, &key);
        let flows = Flows::single(&mf, 0);
        let carried = |b: &[Bridge]| still_carried(&flows, b, &TunnelEnv::EMPTY, 0, &mut HashMap::new());
        assert!(carried(&b));
        // A rule for another input port changes nothing this megaflow's frames see.
        add(&mut b, 20, 2, 3);
        assert!(carried(&b));
        // A rule that takes its frames over does.
        add(&mut b, 30, 1, 3);
        assert!(!carried(&b));
        // So does the megaflow's death (dpctl/del-flows, eviction), and the same rule added
        // again (a new rule: its counters are not the megaflow's).
        let mut b = bridges();
        add(&mut b, 10, 1, 2);
        assert!(!carried(&b));
        let mf = megaflow(&b, &key);
        let flows = Flows::single(&mf, 0);
        assert!(still_carried(&flows, &b, &TunnelEnv::EMPTY, 0, &mut HashMap::new()));
        mf.kill();
        assert!(!still_carried(&flows, &b, &TunnelEnv::EMPTY, 0, &mut HashMap::new()));
    }
}
