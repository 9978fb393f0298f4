//! The in-kernel fast path: cached megaflows whose actions XDP can carry are installed in the
//! input port's XDP program, which then forwards their frames itself (redirect to the output
//! port) without waking the poll thread.
//!
//! - **What is offloaded**: a megaflow that handled a frame received through AF_XDP, whose
//!   actions are, in this order, an optional VLAN pop, an optional VLAN push, Ethernet address
//!   rewrites, then one output to an AF_XDP port (or nothing: drop), and whose mask does not
//!   look at TCP flags. It is projected onto the program's header key ([`FlowKeyXdp`]): its
//!   mask ([`xdp_mask_of`]) goes into one of the port's [`MAX_MASKS`] mask slots, its masked
//!   key into the `flows` map; the program searches the masks in turn, as the megaflow cache
//!   does. The projection is exact: for the frames the program's parser takes, every flow-key
//!   field outside [`FlowKeyXdp`] other than TCP flags has one fixed value, and megaflows never
//!   overlap, so projected entries do not either.
//! - **Where a redirect may go**: natively attached programs send by the target's
//!   `ndo_xdp_xmit`, which a veth accepts only while its peer runs NAPI; the kernel reports it
//!   ([`crate::xdp_features`]) and ports without it are not offload targets. Generic-mode
//!   programs go through the stack and may redirect anywhere.
//! - **Consistency**: every entry carries the generation it was computed in; whoever changes
//!   the switch (`SwitchState::changed`) writes the new generation into every port's program
//!   at once, so no entry outlives the state it was translated from, not even for one packet.
//!   Entries of dead megaflows and of older generations are removed at the next sweep.
//! - **Statistics**: the program counts each entry; the sweep credits the megaflow, which
//!   credits its OpenFlow rules as for userspace hits.

use crate::flow::Megaflow;
use crate::netdev::Netdev;
use crate::xdp_features::{xdp_features, NDO_XMIT};
use ebpf::offload::{ACT_OUTPUT, ACT_POP_VLAN, ACT_PUSH_VLAN, ACT_SET_ETH_DST, ACT_SET_ETH_SRC, MAX_MASKS};
use ebpf::{FlowActionsXdp, FlowKeyXdp, Generation, MaskXdp, MaskedKeyXdp, XdpMode};
use flowtable::odp::DpAction;
use flowtable::rule::Millis;
use flowtable::{DpPort, Field, FlowKey};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The open devices, by datapath port.
pub type Netdevs = BTreeMap<DpPort, Box<dyn Netdev>>;

/// Entries whose counters one sweep reads at most (one system call each).
const READS_PER_SWEEP: usize = 16_384;

/// What the fast path knows of a port with an XDP program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffloadPort {
    /// Kernel interface index (the redirect target).
    pub ifindex: u32,
    /// Attached natively: its redirects need the target's `ndo_xdp_xmit`.
    pub native: bool,
    /// The device takes redirected XDP frames now (`NETDEV_XDP_ACT_NDO_XMIT`).
    pub ndo_xmit: bool,
    /// The program instance ([`ebpf::XdpSteer::id`]).
    pub id: u32,
}

/// Counters for `dpif/offload show`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OffloadStats {
    /// Entries installed.
    pub installs: u64,
    /// Installs the kernel refused (map full).
    pub install_failures: u64,
    /// Entries removed (dead megaflow, older generation, port gone).
    pub removals: u64,
    /// Packets the programs forwarded or dropped, as credited so far.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
}

#[derive(Debug)]
struct Installed {
    mf: Arc<Megaflow>,
    generation: u64,
    packets: u64,
    bytes: u64,
}

#[derive(Debug)]
struct Pending {
    in_port: DpPort,
    mask: FlowKeyXdp,
    key: FlowKeyXdp,
    mf: Arc<Megaflow>,
    entry: FlowActionsXdp,
}

/// A port's mask slots: the mask and how many entries use it.
type MaskSlots = [Option<(FlowKeyXdp, usize)>; MAX_MASKS as usize];

/// How the open ports changed (see [`Offload::sync_ports`]).
#[derive(Debug, Default)]
pub struct PortsChange {
    /// Ports with a new program instance, and a handle on its generation.
    pub added: Vec<(DpPort, Generation)>,
    /// Ports whose program is gone.
    pub removed: Vec<DpPort>,
}

/// The poll thread's view of the in-kernel fast path.
#[derive(Debug, Default)]
pub struct Offload {
    /// Ports with an XDP program.
    pub ports: BTreeMap<DpPort, OffloadPort>,
    installed: HashMap<(DpPort, MaskedKeyXdp), Installed>,
    masks: BTreeMap<DpPort, MaskSlots>,
    pending: Vec<Pending>,
    /// Counters.
    pub stats: OffloadStats,
    cursor: usize,
}

/// A megaflow mask projected onto the XDP header key.
pub fn xdp_mask_of(mask: &FlowKey) -> FlowKeyXdp {
    let bytes = |f: Field, n: usize| -> Vec<u8> { mask.get(f).to_be_bytes()[16 - n..].to_vec() };
    let mut m = FlowKeyXdp::default();
    m.eth_dst.copy_from_slice(&bytes(Field::EthDst, 6));
    m.eth_src.copy_from_slice(&bytes(Field::EthSrc, 6));
    m.eth_type.copy_from_slice(&bytes(Field::EthType, 2));
    m.vlan_tci.copy_from_slice(&bytes(Field::VlanTci, 2));
    m.nw_src.copy_from_slice(&bytes(Field::Ipv4Src, 4));
    m.nw_dst.copy_from_slice(&bytes(Field::Ipv4Dst, 4));
    m.nw_proto = bytes(Field::IpProto, 1)[0];
    m.nw_tos = bytes(Field::IpTos, 1)[0];
    m.nw_ttl = bytes(Field::IpTtl, 1)[0];
    m.tp_src.copy_from_slice(&bytes(Field::TpSrc, 2));
    m.tp_dst.copy_from_slice(&bytes(Field::TpDst, 2));
    m
}

/// The XDP entry carrying `actions` for frames received on `in_port`, if XDP can carry them.
pub fn translate(
    actions: &[DpAction],
    in_port: &OffloadPort,
    ports: &BTreeMap<DpPort, OffloadPort>,
) -> Option<FlowActionsXdp> {
    const MAC: u128 = (1 << 48) - 1;
    let mut e = FlowActionsXdp::default();
    let mac = |v: u128| {
        let b = v.to_be_bytes();
        let mut m = [0u8; 6];
        m.copy_from_slice(&b[10..16]);
        m
    };
    for (i, a) in actions.iter().enumerate() {
        match a {
            DpAction::PopVlan if e.flags & (ACT_POP_VLAN | ACT_PUSH_VLAN) == 0 => e.flags |= ACT_POP_VLAN,
            DpAction::PushVlan { tpid, tci } if e.flags & ACT_PUSH_VLAN == 0 => {
                e.flags |= ACT_PUSH_VLAN;
                e.push_tpid = tpid.to_be_bytes();
                e.push_tci = (tci & !flowtable::field::VLAN_CFI).to_be_bytes();
            }
            DpAction::SetMasked { field: Field::EthSrc, value, mask } if *mask == MAC => {
                e.flags |= ACT_SET_ETH_SRC;
                e.eth_src = mac(*value);
            }
            DpAction::SetMasked { field: Field::EthDst, value, mask } if *mask == MAC => {
                e.flags |= ACT_SET_ETH_DST;
                e.eth_dst = mac(*value);
            }
            DpAction::Output(p) if i + 1 == actions.len() => {
                let target = ports.get(p)?;
                if in_port.native && !target.ndo_xmit {
                    return None;
                }
                e.flags |= ACT_OUTPUT;
                e.out_ifindex = target.ifindex;
            }
            _ => return None,
        }
    }
    Some(e)
}

impl Offload {
    /// Entries installed.
    pub fn len(&self) -> usize {
        self.installed.len()
    }

    /// Whether none is installed.
    pub fn is_empty(&self) -> bool {
        self.installed.is_empty()
    }

    /// Notes that `frame`, received on `in_port`, was handled by `mf` in generation `stamp`
    /// (the kernel's number: the switch's generation + 1): if XDP can carry it, its entry is
    /// installed at the next [`Offload::install`].
    pub fn consider(&mut self, in_port: DpPort, frame: &[u8], mf: &Arc<Megaflow>, stamp: u64) {
        let Some(port) = self.ports.get(&in_port) else { return };
        if mf.mask.get(Field::TcpFlags) != 0 {
            return;
        }
        let Some(mut entry) = translate(&mf.actions, port, &self.ports) else { return };
        let Some(header) = FlowKeyXdp::parse(frame) else { return };
        let mask = xdp_mask_of(&mf.mask);
        let key = header.and(&mask);
        let slot = self.masks.get(&in_port).and_then(|s| s.iter().position(|m| m.is_some_and(|(x, _)| x == mask)));
        if let Some(slot) = slot {
            let mk = MaskedKeyXdp { mask_id: slot as u32, pad: 0, key };
            if let Some(i) = self.installed.get(&(in_port, mk)) {
                if i.generation == stamp && Arc::ptr_eq(&i.mf, mf) {
                    return;
                }
            }
        }
        if self.pending.iter().any(|p| p.in_port == in_port && p.mask == mask && p.key == key) {
            return;
        }
        entry.generation = stamp;
        self.pending.push(Pending { in_port, mask, key, mf: Arc::clone(mf), entry });
    }

    /// Installs the entries noted since the last call.
    pub fn install(&mut self, netdevs: &mut Netdevs, now: Millis) {
        for p in std::mem::take(&mut self.pending) {
            let Some(steer) = netdevs.get_mut(&p.in_port).and_then(|d| d.xdp()) else { continue };
            let slots = self.masks.entry(p.in_port).or_insert([None; MAX_MASKS as usize]);
            let slot = if let Some(i) = slots.iter().position(|m| m.is_some_and(|(x, _)| x == p.mask)) {
                i
            } else if let Some(i) = slots.iter().position(Option::is_none) {
                if let Err(e) = steer.mask_set(i as u32, &MaskXdp { in_use: 1, pad: 0, mask: p.mask }) {
                    log::debug!("XDP mask install on port {}: {e}", p.in_port.0);
                    self.stats.install_failures += 1;
                    continue;
                }
                slots[i] = Some((p.mask, 0));
                i
            } else {
                // Every mask slot taken: this megaflow stays in userspace.
                self.stats.install_failures += 1;
                continue;
            };
            let mk = MaskedKeyXdp { mask_id: slot as u32, pad: 0, key: p.key };
            // Replacing an entry (same mask and key, older generation) keeps the slot's count.
            let replaced = self.installed.remove(&(p.in_port, mk));
            if let Some(old) = &replaced {
                if let Some(v) = steer.flow_get(&mk) {
                    credit(&mut self.stats, old, &v, now);
                }
                old.mf.xdp_entries.fetch_sub(1, Ordering::Relaxed);
            }
            match steer.flow_put(&mk, &p.entry) {
                Ok(()) => {
                    self.stats.installs += 1;
                    p.mf.xdp_entries.fetch_add(1, Ordering::Relaxed);
                    if let (None, Some((_, uses))) = (&replaced, &mut slots[slot]) {
                        *uses += 1;
                    }
                    let i = Installed { mf: p.mf, generation: p.entry.generation, packets: 0, bytes: 0 };
                    self.installed.insert((p.in_port, mk), i);
                }
                Err(e) => {
                    self.stats.install_failures += 1;
                    log::debug!("XDP flow install on port {}: {e}", p.in_port.0);
                    if replaced.is_some() {
                        // The old entry is gone from our books: it no longer counts.
                        steer.flow_del(&mk);
                    }
                    if replaced.is_some() || slots[slot].is_some_and(|(_, uses)| uses == 0) {
                        release(slots, steer, slot);
                    }
                }
            }
        }
    }

    /// Reads the counters of (up to [`READS_PER_SWEEP`]) entries and credits their megaflows;
    /// removes entries whose megaflow died or whose generation is not `stamp`.
    pub fn collect(&mut self, netdevs: &mut Netdevs, stamp: u64, now: Millis) {
        let n = self.installed.len();
        if n == 0 {
            return;
        }
        let start = if n <= READS_PER_SWEEP { 0 } else { self.cursor % n };
        self.cursor = start + READS_PER_SWEEP;
        let keys: Vec<(DpPort, MaskedKeyXdp)> =
            self.installed.keys().skip(start).take(READS_PER_SWEEP).copied().collect();
        for k in keys {
            let steer = netdevs.get_mut(&k.0).and_then(|d| d.xdp());
            let Some(inst) = self.installed.get_mut(&k) else { continue };
            let value = steer.as_ref().and_then(|s| s.flow_get(&k.1));
            if let Some(v) = &value {
                credit(&mut self.stats, inst, v, now);
                inst.packets = v.packets;
                inst.bytes = v.bytes;
            }
            if value.is_none() || inst.mf.is_dead() || inst.generation != stamp {
                if let Some(old) = self.installed.remove(&k) {
                    old.mf.xdp_entries.fetch_sub(1, Ordering::Relaxed);
                }
                self.stats.removals += 1;
                if let Some(s) = steer {
                    s.flow_del(&k.1);
                    if let Some(slots) = self.masks.get_mut(&k.0) {
                        release(slots, s, k.1.mask_id as usize);
                    }
                }
            }
        }
    }

    /// Brings the port table up to date with the open devices (new, replaced and removed XDP
    /// programs); None when nothing changed. Entries of replaced or removed programs are gone
    /// with them and are forgotten.
    pub fn sync_ports(&mut self, netdevs: &mut Netdevs) -> Option<PortsChange> {
        let mut change = PortsChange::default();
        let mut seen = Vec::new();
        for (dp, dev) in netdevs.iter_mut() {
            let Some(steer) = dev.xdp() else { continue };
            seen.push(*dp);
            if self.ports.get(dp).is_some_and(|p| p.id == steer.id()) {
                continue;
            }
            let ifindex = steer.ifindex();
            let port = OffloadPort {
                ifindex,
                native: steer.mode() == XdpMode::Native,
                ndo_xmit: ndo_xmit(ifindex),
                id: steer.id(),
            };
            match steer.generation_handle() {
                Ok(g) => {
                    self.forget_port(*dp);
                    self.ports.insert(*dp, port);
                    change.added.push((*dp, g));
                }
                Err(e) => log::warn!("{}: no in-kernel fast path: {e}", dev.name()),
            }
        }
        let gone: Vec<DpPort> = self.ports.keys().filter(|p| !seen.contains(p)).copied().collect();
        for p in gone {
            self.forget_port(p);
            self.ports.remove(&p);
            change.removed.push(p);
        }
        (!change.added.is_empty() || !change.removed.is_empty()).then_some(change)
    }

    /// Re-reads which ports take redirected frames (a veth's peer may have started or stopped
    /// its NAPI); returns whether any changed (the caller then retires every entry).
    pub fn refresh_targets(&mut self) -> bool {
        let mut changed = false;
        for p in self.ports.values_mut() {
            let now = ndo_xmit(p.ifindex);
            changed |= now != p.ndo_xmit;
            p.ndo_xmit = now;
        }
        changed
    }

    fn forget_port(&mut self, port: DpPort) {
        self.pending.retain(|p| p.in_port != port);
        self.masks.remove(&port);
        self.installed.retain(|k, i| {
            let keep = k.0 != port;
            if !keep {
                i.mf.xdp_entries.fetch_sub(1, Ordering::Relaxed);
            }
            keep
        });
    }
}

/// One entry fewer uses mask `slot`; the last one frees the slot in the program too.
fn release(slots: &mut MaskSlots, steer: &mut ebpf::XdpSteer, slot: usize) {
    let Some(Some((_, uses))) = slots.get_mut(slot) else { return };
    *uses = uses.saturating_sub(1);
    if *uses == 0 {
        slots[slot] = None;
        if let Err(e) = steer.mask_set(slot as u32, &MaskXdp::default()) {
            log::debug!("XDP mask removal: {e}");
        }
    }
}

fn credit(stats: &mut OffloadStats, inst: &Installed, v: &FlowActionsXdp, now: Millis) {
    let dp = v.packets.saturating_sub(inst.packets);
    let db = v.bytes.saturating_sub(inst.bytes);
    if dp > 0 {
        inst.mf.hit(dp, db, now);
        stats.packets += dp;
        stats.bytes += db;
    }
}

fn ndo_xmit(ifindex: u32) -> bool {
    match xdp_features(ifindex) {
        Ok(f) => f & NDO_XMIT != 0,
        Err(e) => {
            log::debug!("xdp-features of interface {ifindex}: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports() -> BTreeMap<DpPort, OffloadPort> {
        let p = |ifindex, ndo_xmit| OffloadPort { ifindex, native: true, ndo_xmit, id: ifindex };
        BTreeMap::from([(DpPort(1), p(11, true)), (DpPort(2), p(12, true)), (DpPort(3), p(13, false))])
    }

    #[test]
    fn carries_output_vlan_and_mac_rewrites_in_order() {
        let ports = ports();
        let in_port = ports[&DpPort(1)];
        let e = translate(&[DpAction::Output(DpPort(2))], &in_port, &ports).unwrap();
        assert_eq!((e.flags, e.out_ifindex), (ACT_OUTPUT, 12));
        let e = translate(&[], &in_port, &ports).unwrap();
        assert_eq!(e.flags, 0, "no actions: drop");
        let acts = [
            DpAction::PopVlan,
            DpAction::PushVlan { tpid: 0x8100, tci: 0x1005 | 0x2000 },
            DpAction::SetMasked { field: Field::EthDst, value: 0x0200_0000_0007, mask: (1 << 48) - 1 },
            DpAction::Output(DpPort(2)),
        ];
        let e = translate(&acts, &in_port, &ports).unwrap();
        assert_eq!(e.flags, ACT_POP_VLAN | ACT_PUSH_VLAN | ACT_SET_ETH_DST | ACT_OUTPUT);
        assert_eq!(e.push_tci, [0x20, 0x05], "the present bit is not sent");
        assert_eq!(e.eth_dst, [2, 0, 0, 0, 0, 7]);
    }

    #[test]
    fn masks_project_onto_the_header_key() {
        let mut mask = FlowKey::ZERO;
        mask.set_all(Field::EthDst);
        mask.set(Field::Ipv4Dst, 0xffff_ff00);
        mask.set_all(Field::IcmpType);
        mask.set_all(Field::InPort);
        let m = xdp_mask_of(&mask);
        assert_eq!(m.eth_dst, [0xff; 6]);
        assert_eq!(m.nw_dst, [0xff, 0xff, 0xff, 0]);
        assert_eq!(m.tp_src, [0, 0xff], "ICMP type shares tp_src");
        assert_eq!((m.eth_src, m.nw_src, m.tp_dst), ([0; 6], [0; 4], [0; 2]));
    }

    #[test]
    fn refuses_what_xdp_cannot_carry() {
        let ports = ports();
        let in_port = ports[&DpPort(1)];
        let no = |acts: &[DpAction]| assert!(translate(acts, &in_port, &ports).is_none(), "{acts:?}");
        // Flooding, output to a port without ndo_xdp_xmit or without XDP, actions after output.
        no(&[DpAction::Output(DpPort(2)), DpAction::Output(DpPort(1))]);
        no(&[DpAction::Output(DpPort(3))]);
        no(&[DpAction::Output(DpPort(9))]);
        no(&[DpAction::Output(DpPort(2)), DpAction::PopVlan]);
        // Push before pop, two pushes, partial MAC rewrite, IP rewrite, controller, tunnels.
        no(&[DpAction::PushVlan { tpid: 0x8100, tci: 1 }, DpAction::PopVlan, DpAction::Output(DpPort(2))]);
        no(&[DpAction::SetMasked { field: Field::EthSrc, value: 1, mask: 0xff }, DpAction::Output(DpPort(2))]);
        no(&[DpAction::SetMasked { field: Field::Ipv4Dst, value: 1, mask: 0xffff_ffff }, DpAction::Output(DpPort(2))]);
        no(&[DpAction::TunnelPop]);
        // A generic-mode input port may redirect to any port.
        let generic = OffloadPort { native: false, ..in_port };
        assert!(translate(&[DpAction::Output(DpPort(3))], &generic, &ports).is_some());
    }
}
