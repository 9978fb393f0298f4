//! The poll loop: one thread that sleeps in poll(2) until a port has frames (so an idle switch
//! uses no CPU) and keeps polling without sleeping for [`SPIN`] after traffic, receives up to [`BATCH`] frames per port, processes them with [`Pmd`], and
//! flushes every port it transmitted on once per batch. Every [`SWEEP_MS`] it pushes megaflow
//! statistics to the OpenFlow rules, expires idle megaflows, rules and MAC entries.

use crate::netdev::Netdev;
use crate::pmd::{Pmd, SwitchState};
use crate::sys;
use flowtable::odp::PacketIn;
use flowtable::odp_exec::DpSink;
use flowtable::rule::{Millis, RemovedRule};
use flowtable::tunnel::NEIGH_IDLE_MS;
use flowtable::xlate::{apply_side_effects, apply_tunnel_side_effects};
use flowtable::DpPort;
use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// Frames received from one port per round (as Open vSwitch's NETDEV_MAX_BURST).
pub const BATCH: usize = 32;
/// How long the loop keeps polling without sleeping after the last received frame.
pub const SPIN: std::time::Duration = std::time::Duration::from_micros(500);
/// Interval of the statistics/expiry sweep.
pub const SWEEP_MS: Millis = 500;
/// Megaflows unused for this long are removed (Open vSwitch: 10 s).
pub const MEGAFLOW_IDLE_MS: Millis = 10_000;

/// Events queued from the poll loop to the OpenFlow agent at most: a packet-in flood is dropped
/// here (as Open vSwitch drops packet-ins past its queue) instead of growing memory.
pub const AGENT_QUEUE: usize = 1024;

/// Something the poll loop hands to the OpenFlow agent.
#[derive(Debug)]
pub enum AgentEvent {
    /// A packet for the controller, with the frame as it was at that point.
    PacketIn(Box<PacketIn>, Vec<u8>),
    /// Rules removed by timeouts.
    FlowsRemoved(usize, Vec<RemovedRule>),
}

/// Transmits through the open devices.
///
/// Ports transmitted on in a batch are few (usually one or two), so they are kept in a small
/// vector scanned linearly, reused from batch to batch: no tree insert and no allocation per
/// packet as with the maps it replaced.
struct NetdevSink<'a> {
    netdevs: &'a mut BTreeMap<DpPort, Box<dyn Netdev>>,
    /// (port, packets, bytes) per port transmitted on in this batch, in first-use order.
    tx: &'a mut Vec<(DpPort, u64, u64)>,
    agent: Option<&'a SyncSender<AgentEvent>>,
}

impl NetdevSink<'_> {
    fn count_tx(&mut self, port: DpPort, bytes: u64) {
        if let Some(c) = self.tx.iter_mut().find(|c| c.0 == port) {
            c.1 += 1;
            c.2 += bytes;
        } else {
            self.tx.push((port, 1, bytes));
        }
    }
}

impl DpSink for NetdevSink<'_> {
    fn output(&mut self, port: DpPort, frame: &[u8]) {
        if let Some(dev) = self.netdevs.get_mut(&port) {
            if let Err(e) = dev.send(frame) {
                log::debug!("{}: send: {e}", dev.name());
            }
            self.count_tx(port, frame.len() as u64);
        }
    }

    fn userspace(&mut self, packet_in: &PacketIn, frame: &[u8]) {
        if let Some(tx) = self.agent {
            if let Err(TrySendError::Full(_)) =
                tx.try_send(AgentEvent::PacketIn(Box::new(packet_in.clone()), frame.to_vec()))
            {
                log::debug!("packet-in dropped: the OpenFlow agent's queue is full");
            }
        }
    }
}

/// Shared handles the loop works on.
#[derive(Clone)]
pub struct PollContext {
    /// Bridges and port map.
    pub state: Arc<RwLock<SwitchState>>,
    /// Open devices.
    pub netdevs: Arc<Mutex<BTreeMap<DpPort, Box<dyn Netdev>>>>,
    /// Caches and counters.
    pub pmd: Arc<Mutex<Pmd>>,
    /// Set to stop the loop.
    pub stop: Arc<AtomicBool>,
    /// The pipeline clock.
    pub clock: Arc<dyn Fn() -> Millis + Send + Sync>,
    /// Where packet-ins and flow removals go (None: dropped).
    pub agent: Option<SyncSender<AgentEvent>>,
}

impl std::fmt::Debug for PollContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollContext").finish_non_exhaustive()
    }
}

/// Runs until `ctx.stop` is set.
pub fn run(ctx: &PollContext) {
    let mut bufs: Vec<Vec<u8>> = (0..BATCH).map(|_| Vec::with_capacity(2048)).collect();
    let mut ready = Vec::new();
    let mut tx = Vec::new();
    let mut fds: Vec<RawFd> = Vec::new();
    let mut ports: Vec<DpPort> = Vec::new();
    let mut last_sweep: Millis = 0;
    let mut xdp_signature = 0u64;
    // No traffic yet: start asleep.
    let mut last_traffic: Option<std::time::Instant> = None;
    while !ctx.stop.load(Ordering::Relaxed) {
        // The port set can change between rounds (ports added/removed by the agent); the lists
        // are refilled in place, without allocating once they have grown to the port count.
        let mut offload_ports = None;
        {
            let mut netdevs = ctx.netdevs.lock().unwrap_or_else(PoisonError::into_inner);
            fds.clear();
            ports.clear();
            let mut signature = 0u64;
            for (p, d) in netdevs.iter_mut() {
                fds.push(d.poll_fd());
                ports.push(*p);
                signature = signature
                    .wrapping_mul(31)
                    .wrapping_add(u64::from(p.0) << 32 | u64::from(d.xdp().map_or(0, |x| x.id())));
            }
            // A port's XDP program appeared, was replaced or went away: the fast path learns it.
            if signature != xdp_signature {
                xdp_signature = signature;
                offload_ports = ctx.pmd.lock().unwrap_or_else(PoisonError::into_inner).offload.sync_ports(&mut netdevs);
            }
        }
        if let Some(change) = offload_ports {
            ctx.state.write().unwrap_or_else(PoisonError::into_inner).apply_offload_ports(change);
        }
        // Adaptive polling: right after traffic, look again without sleeping (poll(2) with no
        // timeout), so a busy port is served back to back as by a busy-polling PMD thread; once
        // the ports have been quiet for SPIN, sleep in poll(2) so an idle switch costs nothing.
        let timeout = if last_traffic.is_some_and(|t| t.elapsed() < SPIN) { 0 } else { 100 };
        if let Err(e) = sys::poll_readable(&fds, timeout, &mut ready) {
            log::warn!("poll: {e}");
        }
        let mut received = 0;
        for &i in &ready {
            received += process_port(ctx, ports[i], &mut bufs, &mut tx);
        }
        if received > 0 {
            last_traffic = Some(std::time::Instant::now());
        }
        let now = (ctx.clock)();
        if now >= last_sweep + SWEEP_MS {
            last_sweep = now;
            sweep(ctx, now);
        }
    }
}

/// Returns how many frames it received.
fn process_port(ctx: &PollContext, port: DpPort, bufs: &mut [Vec<u8>], tx: &mut Vec<(DpPort, u64, u64)>) -> usize {
    let mut total = 0;
    // Drain the port, a batch at a time, but give other ports a turn after a few batches.
    for _ in 0..8 {
        let mut netdevs = ctx.netdevs.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(dev) = netdevs.get_mut(&port) else { return total };
        let n = match dev.recv_batch(bufs, BATCH) {
            Ok(n) => n,
            Err(e) => {
                log::debug!("{}: receive: {e}", dev.name());
                return total;
            }
        };
        if n == 0 {
            return total;
        }
        total += n;
        let now = (ctx.clock)();
        let mut pmd = ctx.pmd.lock().unwrap_or_else(PoisonError::into_inner);
        tx.clear();
        let mut sink = NetdevSink { netdevs: &mut netdevs, tx, agent: ctx.agent.as_ref() };
        {
            let state = ctx.state.read().unwrap_or_else(PoisonError::into_inner);
            pmd.process_batch(&state, port, &mut bufs[..n], &mut sink, now);
            // Under the same read lock: the entries are of the state in force, and a change
            // that follows finds them in the book.
            pmd.offload.install(&mut netdevs, &state.offload_book, state.offload_stamp(), now);
        }
        // One flush (kick) per port per batch, as Open vSwitch's dp_packet_batch output.
        for &(p, packets, bytes) in tx.iter() {
            let c = pmd.ports.entry(p).or_default();
            c.tx_packets += packets;
            c.tx_bytes += bytes;
            if let Some(dev) = netdevs.get_mut(&p) {
                if let Err(e) = dev.flush() {
                    log::debug!("{}: flush: {e}", dev.name());
                }
                c.tx_dropped = dev.tx_dropped();
            }
        }
        drop(netdevs);
        if !pmd.side_effects.is_empty() {
            let effects = std::mem::take(&mut pmd.side_effects);
            drop(pmd);
            let mut state = ctx.state.write().unwrap_or_else(PoisonError::into_inner);
            let tunnels_changed = apply_tunnel_side_effects(&mut state.tunnels, &effects, now);
            if apply_side_effects(&mut state.bridges, &effects, now) | tunnels_changed {
                state.changed();
            }
        }
        if n < BATCH {
            return total;
        }
    }
    total
}

fn sweep(ctx: &PollContext, now: Millis) {
    // The in-kernel fast path's counts first, so that its flows are not taken for idle.
    let stamp = ctx.state.read().unwrap_or_else(PoisonError::into_inner).offload_stamp();
    let targets_changed = {
        let mut netdevs = ctx.netdevs.lock().unwrap_or_else(PoisonError::into_inner);
        let mut pmd = ctx.pmd.lock().unwrap_or_else(PoisonError::into_inner);
        pmd.offload.collect(&mut netdevs, stamp, now);
        // What XDP forwarded counts on the ports as it would have in userspace.
        for (port, (rxp, rxb, txp, txb)) in pmd.offload.take_port_counts() {
            let c = pmd.ports.entry(port).or_default();
            c.rx_packets += rxp;
            c.rx_bytes += rxb;
            c.tx_packets += txp;
            c.tx_bytes += txb;
        }
        pmd.offload.refresh_targets()
    };
    let repeat = ctx.pmd.lock().unwrap_or_else(PoisonError::into_inner).sweep(now, MEGAFLOW_IDLE_MS);
    let mut state = ctx.state.write().unwrap_or_else(PoisonError::into_inner);
    let mut changed = apply_side_effects(&mut state.bridges, &repeat, now);
    changed |= apply_tunnel_side_effects(&mut state.tunnels, &repeat, now);
    changed |= state.tunnels.neigh.expire(now, NEIGH_IDLE_MS) > 0;
    for (i, b) in state.bridges.iter_mut().enumerate() {
        let removed = b.pipeline.expire(now);
        changed |= !removed.is_empty();
        changed |= b.macs.expire(now) > 0;
        if !removed.is_empty() {
            if let Some(tx) = &ctx.agent {
                if let Err(TrySendError::Full(_)) = tx.try_send(AgentEvent::FlowsRemoved(i, removed)) {
                    log::warn!("flow-removed messages dropped: the OpenFlow agent's queue is full");
                }
            }
        }
    }
    if targets_changed {
        state.retire_offload();
    } else if changed {
        state.changed();
    }
}
