//! A poll-mode thread's packet processing: key extraction, the exact-match cache, the
//! megaflow cache, translation on a miss (the "upcall", done inline as in Open vSwitch's
//! userspace datapath), megaflow installation, and action execution.
//!
//! A [`DpAction::TunnelPop`](flowtable::odp::DpAction::TunnelPop) hands the decapsulated frame
//! back here (recirculation, as OVS's `recirc`): it enters again on the tunnel port its metadata
//! selects, with `tun_src`/`tun_dst`/`tun_id` in its key, at most [`MAX_RECIRC_DEPTH`] times.
//! A frame received on a port whose megaflow is exactly `tnl_pop` hands its outer frame and
//! megaflow to the recirculation, so that the in-kernel fast path can offer the two megaflows
//! as one decapsulation entry ([`Offload::consider_tunnel`]).
//!
//! [`Pmd::process_batch`] is pure apart from the [`DpSink`] it transmits through, so the same
//! code runs in the daemon's threads and in tests.

use crate::emc::{key_hash, ExactMatchCache};
use crate::flow::Megaflow;
use crate::megaflow::MegaflowCache;
use crate::revalidate::revalidate_env;
use crate::upcall_limit::UpcallLimiter;
use crate::xdp_offload::Offload;
use crate::xdp_revalidate::OffloadBook;
use ebpf::Generation;
use flowtable::bridge::Bridge;
use flowtable::extract::extract_checked;
use flowtable::odp::PacketIn;
use flowtable::odp_exec::{execute, DpSink};
use flowtable::rule::Millis;
use flowtable::tunnel::{receive_port, TunnelEnv, TunnelMetadata};
use flowtable::xlate::{xlate_env, SideEffect};
use flowtable::{DpPort, PortNo};
use flowtable::{Field, FlowKey};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// What the switch looks like to the datapath: the bridges and which bridge port each
/// datapath port is. Shared behind a lock; `generation` changes whenever anything that can
/// change a translation does.
#[derive(Debug, Default)]
pub struct SwitchState {
    /// The bridges.
    pub bridges: Vec<Bridge>,
    /// Datapath port -> (bridge index, OpenFlow port).
    pub ports: BTreeMap<DpPort, (usize, PortNo)>,
    /// Bumped on every flow table, port, MAC table, route or tunnel neighbour change.
    pub generation: u64,
    /// Routes, device addresses and neighbours for native tunnels.
    pub tunnels: TunnelEnv,
    /// Whether the in-kernel fast path is on ([`crate::xdp_offload`]).
    pub offload_on: bool,
    /// Each XDP port's generation, kept equal to `generation + 1` (0 while offload is off) by
    /// [`SwitchState::changed`], so that a change retires every in-kernel entry at once.
    pub offload_generations: BTreeMap<DpPort, Generation>,
    /// The in-kernel entries a change may keep (re-stamp) once revalidated: filled by the poll
    /// thread under the read lock, used by [`SwitchState::changed`] under the write lock.
    pub offload_book: Mutex<OffloadBook>,
}

/// Most recirculations of one packet (Open vSwitch's `MAX_RECIRC_DEPTH`).
pub const MAX_RECIRC_DEPTH: u32 = 6;

/// Passes outputs through and keeps decapsulated frames for recirculation.
struct RecircSink<'s, S: DpSink> {
    inner: &'s mut S,
    pending: Vec<(TunnelMetadata, Vec<u8>)>,
}

impl<S: DpSink> DpSink for RecircSink<'_, S> {
    fn output(&mut self, port: DpPort, frame: &[u8]) {
        self.inner.output(port, frame);
    }

    fn userspace(&mut self, packet_in: &PacketIn, frame: &[u8]) {
        self.inner.userspace(packet_in, frame);
    }

    fn recirculate(&mut self, md: &TunnelMetadata, frame: &[u8]) {
        self.pending.push((*md, frame.to_vec()));
    }
}

impl SwitchState {
    /// A switch with nothing in it, the in-kernel fast path on.
    pub fn new() -> Self {
        SwitchState { offload_on: true, ..SwitchState::default() }
    }

    /// Records a change: cached megaflows must be revalidated; in-kernel entries are retired,
    /// then those whose megaflows still translate the same are re-stamped in force
    /// ([`crate::xdp_revalidate`]) before the caller releases the lock.
    pub fn changed(&mut self) {
        self.generation += 1;
        self.sync_offload_generations();
        let stamp = self.offload_stamp();
        let book = self.offload_book.get_mut().unwrap_or_else(PoisonError::into_inner);
        if stamp == 0 {
            book.clear();
        } else if !book.is_empty() {
            book.restamp(&mut self.offload_generations, &self.bridges, &self.tunnels, stamp);
        }
    }

    /// Records a change to what in-kernel entries' actions are derived from (ports, interface
    /// indexes, redirect targets): every entry is retired, none is kept.
    pub fn retire_offload(&mut self) {
        self.offload_book.get_mut().unwrap_or_else(PoisonError::into_inner).clear();
        self.changed();
    }

    /// The generation in-kernel entries are stamped with now (0: fast path off).
    pub fn offload_stamp(&self) -> u64 {
        if self.offload_on {
            self.generation + 1
        } else {
            0
        }
    }

    /// Writes [`SwitchState::offload_stamp`] into every XDP port's program.
    pub fn sync_offload_generations(&mut self) {
        let stamp = self.offload_stamp();
        for (port, g) in &mut self.offload_generations {
            if let Err(e) = g.set(stamp) {
                log::warn!("port {}: setting the XDP generation: {e}", port.0);
            }
        }
    }

    /// Registers new XDP programs and forgets removed ones (see
    /// [`crate::xdp_offload::Offload::sync_ports`]). It counts as a change: entries on other
    /// ports may redirect to a device that was replaced (a new interface index).
    pub fn apply_offload_ports(&mut self, change: crate::xdp_offload::PortsChange) {
        for p in change.removed {
            self.offload_generations.remove(&p);
        }
        for (p, g) in change.added {
            self.offload_generations.insert(p, g);
        }
        self.retire_offload();
    }
}

/// Per-thread counters, as `dpif-netdev/pmd-stats-show` reports them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PmdStats {
    /// Packets received.
    pub packets: u64,
    /// Exact-match cache hits.
    pub emc_hits: u64,
    /// Megaflow cache hits.
    pub megaflow_hits: u64,
    /// Misses translated by the pipeline.
    pub upcalls: u64,
    /// Packets from ports no bridge owns.
    pub lost: u64,
    /// Megaflows that could not be cached (cache full).
    pub not_cached: u64,
    /// Decapsulated packets run through again.
    pub recirculations: u64,
    /// Decapsulated packets no tunnel port accepted, or recirculated too often.
    pub tunnel_drops: u64,
    /// Revalidation passes.
    pub revalidations: u64,
    /// Malformed frames dropped (runts, bad IPv4 headers or checksums, truncated headers).
    pub malformed: u64,
    /// Misses dropped because their port used up its upcall budget.
    pub upcalls_limited: u64,
}

/// Counters of one datapath port, as `ovs-ofctl dump-ports` reports them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PortCounters {
    /// Frames received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Frames transmitted.
    pub tx_packets: u64,
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Frames dropped on transmit.
    pub tx_dropped: u64,
    /// Malformed frames received (dropped).
    pub rx_errors: u64,
    /// Frames received but dropped by the upcall limit.
    pub rx_dropped: u64,
}

/// One poll thread's caches and counters.
#[derive(Debug)]
pub struct Pmd {
    /// Per bridge: megaflow cache and exact-match cache (OpenFlow in_port is per bridge).
    caches: BTreeMap<usize, (MegaflowCache, ExactMatchCache)>,
    seen_generation: u64,
    /// Whether the caches are used (off: every packet is translated; for tests and debugging).
    pub caches_enabled: bool,
    /// Whether megaflows are wildcarded (off: each megaflow matches its packet's whole key, as
    /// Open vSwitch's `upcall/disable-megaflows`; every new header is then a flow setup).
    pub megaflows_enabled: bool,
    /// Counters.
    pub stats: PmdStats,
    /// Side effects of this batch's translations, for the caller to apply under a write lock.
    pub side_effects: Vec<SideEffect>,
    /// Per-port counters.
    pub ports: BTreeMap<DpPort, PortCounters>,
    /// Upcall budget per input port.
    pub upcall_limit: UpcallLimiter,
    /// The in-kernel fast path's entries.
    pub offload: Offload,
}

impl Default for Pmd {
    fn default() -> Self {
        Pmd {
            caches: BTreeMap::new(),
            seen_generation: 0,
            caches_enabled: true,
            megaflows_enabled: true,
            stats: PmdStats::default(),
            side_effects: Vec::new(),
            ports: BTreeMap::new(),
            upcall_limit: UpcallLimiter::default(),
            offload: Offload::default(),
        }
    }
}

impl Pmd {
    /// Processes frames received on datapath port `in_port`.
    pub fn process_batch(
        &mut self,
        state: &SwitchState,
        in_port: DpPort,
        frames: &mut [Vec<u8>],
        sink: &mut impl DpSink,
        now: Millis,
    ) {
        if state.generation != self.seen_generation {
            self.seen_generation = state.generation;
            self.stats.revalidations += 1;
            for (bridge, (megaflows, _)) in &mut self.caches {
                revalidate_env(megaflows, &state.bridges, &state.tunnels, *bridge, now);
            }
        }
        let counters = self.ports.entry(in_port).or_default();
        counters.rx_packets += frames.len() as u64;
        counters.rx_bytes += frames.iter().map(|f| f.len() as u64).sum::<u64>();
        let Some(&(bridge, of_port)) = state.ports.get(&in_port) else {
            self.stats.lost += frames.len() as u64;
            return;
        };
        let mut key = FlowKey::ZERO;
        for frame in frames.iter_mut() {
            self.stats.packets += 1;
            if extract_checked(frame, of_port, &mut key).is_err() {
                self.stats.malformed += 1;
                self.ports.entry(in_port).or_default().rx_errors += 1;
                continue;
            }
            self.process_packet(state, bridge, in_port, &key, frame, sink, now, 0, None);
        }
    }

    /// Finds (or translates) the megaflow of one packet and executes it; decapsulated frames
    /// it produces are processed again on their tunnel port. `outer`: for a frame decapsulated
    /// from a received frame whose megaflow was exactly `tnl_pop`, that frame's input port,
    /// bridge, bytes and megaflow.
    #[allow(clippy::too_many_arguments)]
    fn process_packet(
        &mut self,
        state: &SwitchState,
        bridge: usize,
        in_port: DpPort,
        key: &FlowKey,
        frame: &mut Vec<u8>,
        sink: &mut impl DpSink,
        now: Millis,
        depth: u32,
        outer: Option<(DpPort, usize, &[u8], &Arc<Megaflow>)>,
    ) {
        let (megaflows, emc) = self.caches.entry(bridge).or_default();
        let key = *key;
        let len = frame.len() as u64;
        let flow = if self.caches_enabled {
            let h = key_hash(&key);
            if let Some(mf) = emc.lookup(h, &key) {
                self.stats.emc_hits += 1;
                Some(Arc::clone(mf))
            } else if let Some(mf) = megaflows.lookup(&key) {
                self.stats.megaflow_hits += 1;
                let mf = Arc::clone(mf);
                emc.insert(h, &key, &mf);
                Some(mf)
            } else {
                None
            }
        } else {
            None
        };
        let flow = if let Some(f) = flow {
            f
        } else {
            if self.caches_enabled && !self.upcall_limit.allow(in_port, now) {
                self.stats.upcalls_limited += 1;
                self.ports.entry(in_port).or_default().rx_dropped += 1;
                return;
            }
            self.stats.upcalls += 1;
            let mut x = xlate_env(&state.bridges, &state.tunnels, bridge, &key, now, false);
            if !self.megaflows_enabled {
                x.wc = FlowKey::EXACT;
            }
            self.side_effects.extend(x.side_effects.iter().cloned());
            let mf = Arc::new(Megaflow::from_xlation(&key, x, now));
            if self.caches_enabled {
                if megaflows.insert(Arc::clone(&mf)) {
                    emc.insert(key_hash(&key), &key, &mf);
                } else {
                    self.stats.not_cached += 1;
                }
            }
            mf
        };
        flow.hit(1, len, now);
        if !self.caches_enabled {
            flow.push_stats(now);
        } else if state.offload_on {
            if depth == 0 {
                self.offload.consider(in_port, bridge, frame, &flow, state.offload_stamp());
            } else if let Some((outer_port, outer_bridge, outer_frame, outer_mf)) = outer {
                self.offload.consider_tunnel(
                    outer_port,
                    (outer_frame, outer_mf, outer_bridge),
                    (frame, &flow, bridge, in_port),
                    state.offload_stamp(),
                );
            }
        }
        let mut rsink = RecircSink { inner: sink, pending: Vec::new() };
        execute(frame, &flow.actions, &mut rsink);
        let pops = depth == 0 && matches!(flow.actions.as_slice(), [flowtable::odp::DpAction::TunnelPop]);
        for (md, mut inner) in rsink.pending {
            let Some((tbridge, tport, tdp)) = receive_port(&state.bridges, &md).filter(|_| depth < MAX_RECIRC_DEPTH)
            else {
                self.stats.tunnel_drops += 1;
                continue;
            };
            self.stats.recirculations += 1;
            let counters = self.ports.entry(tdp).or_default();
            counters.rx_packets += 1;
            counters.rx_bytes += inner.len() as u64;
            let mut k = FlowKey::ZERO;
            if extract_checked(&inner, tport, &mut k).is_err() {
                self.stats.malformed += 1;
                self.ports.entry(tdp).or_default().rx_errors += 1;
                continue;
            }
            k.set(Field::TunId, u128::from(md.key.unwrap_or(0)));
            k.set(Field::TunSrc, u128::from(u32::from(md.src)));
            k.set(Field::TunDst, u128::from(u32::from(md.dst)));
            let outer = pops.then_some((in_port, bridge, frame.as_slice(), &flow));
            self.process_packet(state, tbridge, tdp, &k, &mut inner, rsink.inner, now, depth + 1, outer);
        }
    }

    /// Credits cached megaflows' counts to their rules (periodic, as revalidators do) and
    /// removes megaflows idle for `max_idle` ms; returns side effects of used flows to repeat
    /// (learn refresh, MAC learning).
    pub fn sweep(&mut self, now: Millis, max_idle: Millis) -> Vec<SideEffect> {
        let mut repeat = Vec::new();
        for (megaflows, emc) in self.caches.values_mut() {
            let mut any_removed = false;
            for mf in megaflows.iter() {
                if mf.push_stats(now) > 0 {
                    repeat.extend(mf.side_effects.iter().cloned());
                }
            }
            let removed = megaflows.retain(|mf| now.saturating_sub(mf.used().max(mf.created)) < max_idle);
            any_removed |= !removed.is_empty();
            if any_removed {
                emc.clear();
            }
        }
        repeat
    }

    /// Every cached megaflow with the bridge it belongs to (for `dpctl/dump-flows`).
    pub fn megaflows(&self) -> impl Iterator<Item = (usize, &Arc<Megaflow>)> {
        self.caches.iter().flat_map(|(b, (m, _))| m.iter().map(move |mf| (*b, mf)))
    }

    /// Drops every cached megaflow (`dpctl/del-flows`).
    pub fn flush(&mut self, now: Millis) {
        for (megaflows, emc) in self.caches.values_mut() {
            for mf in megaflows.clear() {
                mf.push_stats(now);
            }
            emc.clear();
        }
    }
}
