//! The in-kernel fast path: cached megaflows whose actions XDP can carry are installed in the
//! input port's XDP program, which then forwards their frames itself (redirect to the output
//! port) without waking the poll thread.
//!
//! - **What is offloaded**: a megaflow that handled a frame received through AF_XDP, whose
//!   actions are, in this order, an optional VLAN pop, an optional VLAN push, Ethernet address
//!   rewrites, then one output to an AF_XDP port (or nothing: drop), and whose mask does not
//!   look at TCP flags. It is projected onto the program's header key ([`FlowKeyXdp`]): its
//!   mask ([`xdp_mask_of`]) goes into one of the port's [`MAX_MASKS`](ebpf::offload::MAX_MASKS) mask slots, its masked
//!   key (with the mask's id) into the `flows` map; the program searches the masks in slot
//!   order, as the megaflow cache does, and the sweep keeps the most-hit masks first
//!   ([`crate::xdp_masks`]). The projection is exact: for the frames the program's parser takes, every flow-key
//!   field outside [`FlowKeyXdp`] other than TCP flags has one fixed value, and megaflows never
//!   overlap, so projected entries do not either.
//! - **Where a redirect may go**: natively attached programs send by the target's
//!   `ndo_xdp_xmit`, which a veth accepts only while its peer runs NAPI; the kernel reports it
//!   ([`crate::xdp_features`]) and ports without it are not offload targets. Generic-mode
//!   programs go through the stack and may redirect anywhere.
//! - **Consistency**: every entry carries the generation it was computed in; whoever changes
//!   the switch (`SwitchState::changed`) writes the new generation into every port's program
//!   at once, so no entry outlives the state it was translated from, not even for one packet;
//!   then, before the change is acknowledged, the entries whose megaflows still translate the
//!   same are re-stamped with the new generation ([`crate::xdp_revalidate`]). Entries of dead
//!   megaflows and of older generations are removed at the next sweep.
//! - **Statistics**: the program counts each entry; the sweep credits the megaflow, which
//!   credits its OpenFlow rules as for userspace hits.
//! - **GRE push**: a megaflow whose actions are exactly one tunnel push (38- or 42-byte header:
//!   no GRE checksum or sequence) followed by one output becomes an entry that prepends the
//!   header in XDP (outer length and checksum completed per frame) and redirects to the
//!   underlay port; a frame that would exceed the underlay port's largest frame (its MTU + 18,
//!   the slow path's limit) goes to userspace unchanged, which drops and counts it as today.
//! - **GRE pop**: a GRE frame whose outer megaflow is exactly `tnl_pop` and whose decapsulated
//!   frame's megaflow XDP can carry gets one combined entry keyed by the outer header key, the
//!   GRE key and flags and the inner key ([`TnlKeyXdp`]): XDP strips the outer headers and runs
//!   the inner actions. The outer key covers everything the outer megaflow and the choice of
//!   tunnel port can depend on (outer addresses, TOS, TTL, GRE key; the parser demands a valid
//!   outer checksum, no fragment or options, GRE flags exactly key or none, protocol 0x6558).
//!   Both megaflows are credited, and the GRE port as well as the physical port count the
//!   frame as received (decapsulated on the GRE port), as in userspace.

use crate::flow::Megaflow;
use crate::netdev::Netdev;
use crate::xdp_features::{xdp_features, NDO_XMIT};
use crate::xdp_masks::{PortMasks, SlotWrite};
use crate::xdp_revalidate::OffloadBook;
use ebpf::offload::{
    ip_header_sum, ACT_OUTPUT, ACT_POP_VLAN, ACT_PUSH_VLAN, ACT_SET_ETH_DST, ACT_SET_ETH_SRC, ACT_TUNNEL_PUSH,
    GRE_HLEN, GRE_KEY_HLEN,
};
use ebpf::{FlowActionsXdp, FlowKeyXdp, Generation, MaskedKeyXdp, TnlKeyXdp, XdpMode};
use flowtable::odp::{DpAction, TunnelPush};
use flowtable::rule::Millis;
use flowtable::tunnel::{ETH_TYPE_TEB, GRE_KEY};
use flowtable::{DpPort, Field, FlowKey};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

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
    /// The largest frame the device takes (MTU + Ethernet header + one VLAN tag, as the
    /// AF_XDP port's transmit check), the limit of a tunnel push towards it.
    pub max_frame: u32,
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
    /// Times a port's mask slots were reordered by hits.
    pub mask_reorders: u64,
}

/// An entry's key: a megaflow in the `flows` map, or a decapsulation entry in `tnl_flows`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum EntryKey {
    Flow(MaskedKeyXdp),
    Tnl(TnlKeyXdp),
}

/// A noted entry's key: a megaflow's mask and masked key (its mask slot is chosen at install),
/// or a decapsulation entry's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PendingKey {
    Flow { mask: FlowKeyXdp, key: FlowKeyXdp },
    Tnl(TnlKeyXdp),
}

/// Makes the mask slot writes `writes` in order; false if the kernel refused one.
fn write_masks(steer: &mut ebpf::XdpSteer, port: DpPort, writes: &[SlotWrite]) -> bool {
    for (slot, v) in writes {
        if let Err(e) = steer.mask_set(*slot, v) {
            log::debug!("XDP mask slot {slot} on port {}: {e}", port.0);
            return false;
        }
    }
    true
}

impl EntryKey {
    fn get(&self, steer: &ebpf::XdpSteer) -> Option<FlowActionsXdp> {
        match self {
            EntryKey::Flow(k) => steer.flow_get(k),
            EntryKey::Tnl(k) => steer.tnl_get(k),
        }
    }

    fn put(&self, steer: &mut ebpf::XdpSteer, entry: &FlowActionsXdp) -> ebpf::Result<()> {
        match self {
            EntryKey::Flow(k) => steer.flow_put(k, entry),
            EntryKey::Tnl(k) => steer.tnl_put(k, entry),
        }
    }

    fn del(&self, steer: &mut ebpf::XdpSteer) {
        match self {
            EntryKey::Flow(k) => steer.flow_del(k),
            EntryKey::Tnl(k) => steer.tnl_del(k),
        }
    }
}

/// The megaflows an entry stands for, with the bridge each belongs to: one, or for a
/// decapsulation entry the outer one and the inner one (whose frames are `hlen` bytes shorter).
#[derive(Debug, Clone)]
pub(crate) struct Flows {
    mf: Arc<Megaflow>,
    bridge: usize,
    inner: Option<Inner>,
}

/// The inner megaflow of a decapsulation entry, its bridge, the tunnel port the decapsulated
/// frames enter on, and the outer header length.
#[derive(Debug, Clone)]
struct Inner {
    mf: Arc<Megaflow>,
    bridge: usize,
    tnl_port: DpPort,
    hlen: u64,
}

/// What an entry forwarded since it was last read, for the ports' counters.
#[derive(Debug, Clone, Copy)]
struct PortDelta {
    /// The port its frames were received on.
    in_port: DpPort,
    /// For a decapsulation entry, the tunnel port the decapsulated frames entered on.
    tnl_port: Option<DpPort>,
    /// Its output (`ACT_OUTPUT`, `out_ifindex`).
    entry: FlowActionsXdp,
    packets: u64,
    /// Bytes as received.
    bytes: u64,
    /// Bytes as sent (decapsulated, or encapsulated); for a decapsulation entry also the bytes
    /// the tunnel port received.
    out: u64,
}

impl Flows {
    /// One megaflow of bridge `bridge`.
    pub(crate) fn single(mf: &Arc<Megaflow>, bridge: usize) -> Self {
        Flows { mf: Arc::clone(mf), bridge, inner: None }
    }

    fn all(&self) -> impl Iterator<Item = &Arc<Megaflow>> {
        std::iter::once(&self.mf).chain(self.inner.as_ref().map(|i| &i.mf))
    }

    /// Each megaflow with its bridge.
    pub(crate) fn each_with_bridge(&self) -> impl Iterator<Item = (&Arc<Megaflow>, usize)> {
        std::iter::once((&self.mf, self.bridge)).chain(self.inner.as_ref().map(|i| (&i.mf, i.bridge)))
    }

    fn same(&self, other: &Flows) -> bool {
        Arc::ptr_eq(&self.mf, &other.mf)
            && match (&self.inner, &other.inner) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(&a.mf, &b.mf),
                _ => false,
            }
    }

    fn is_dead(&self) -> bool {
        self.all().any(|m| m.is_dead())
    }

    /// One entry more carries these megaflows (`dpctl/dump-flows` shows them offloaded).
    fn entry_added(&self) {
        for m in self.all() {
            m.xdp_entries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One entry fewer carries them.
    fn entry_removed(&self) {
        for m in self.all() {
            m.xdp_entries.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[derive(Debug)]
struct Installed {
    flows: Flows,
    generation: u64,
    packets: u64,
    bytes: u64,
}

#[derive(Debug)]
struct Pending {
    in_port: DpPort,
    key: PendingKey,
    flows: Flows,
    entry: FlowActionsXdp,
}

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
    installed: HashMap<(DpPort, EntryKey), Installed>,
    masks: BTreeMap<DpPort, PortMasks>,
    pending: Vec<Pending>,
    /// Counts credited since [`Offload::take_port_counts`].
    port_deltas: Vec<PortDelta>,
    /// Counters.
    pub stats: OffloadStats,
    cursor: usize,
}

/// A megaflow mask projected onto the XDP header key.
pub fn xdp_mask_of(mask: &FlowKey) -> FlowKeyXdp {
    // A field's mask bits, big-endian, in the last bytes of the 16.
    let be = |f: Field| mask.get(f).to_be_bytes();
    let mut m = FlowKeyXdp::default();
    m.eth_dst.copy_from_slice(&be(Field::EthDst)[10..]);
    m.eth_src.copy_from_slice(&be(Field::EthSrc)[10..]);
    m.eth_type.copy_from_slice(&be(Field::EthType)[14..]);
    m.vlan_tci.copy_from_slice(&be(Field::VlanTci)[14..]);
    m.nw_src.copy_from_slice(&be(Field::Ipv4Src)[12..]);
    m.nw_dst.copy_from_slice(&be(Field::Ipv4Dst)[12..]);
    m.nw_proto = be(Field::IpProto)[15];
    m.nw_tos = be(Field::IpTos)[15];
    m.nw_ttl = be(Field::IpTtl)[15];
    m.tp_src.copy_from_slice(&be(Field::TpSrc)[14..]);
    m.tp_dst.copy_from_slice(&be(Field::TpDst)[14..]);
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
            DpAction::TunnelPush(push) if actions.len() == 1 => return translate_push(push, in_port, ports),
            _ => return None,
        }
    }
    Some(e)
}

/// The entry of a megaflow that is one tunnel push with one output: a GRE header without
/// checksum or sequence number (38 or 42 bytes), sent to an offload target.
fn translate_push(
    push: &TunnelPush,
    in_port: &OffloadPort,
    ports: &BTreeMap<DpPort, OffloadPort>,
) -> Option<FlowActionsXdp> {
    let [DpAction::Output(p)] = push.actions.as_slice() else { return None };
    let target = ports.get(p)?;
    if in_port.native && !target.ndo_xmit {
        return None;
    }
    let h = push.header.as_slice();
    let key = match h.len() {
        GRE_HLEN => false,
        GRE_KEY_HLEN => true,
        _ => return None,
    };
    let flags = u16::from_be_bytes([h[34], h[35]]);
    // Untagged IPv4 without options carrying GRE; flags exactly what the length says.
    if h[12..14] != [0x08, 0x00]
        || h[14] != 0x45
        || h[23] != flowtable::field::ipproto::GRE
        || flags != if key { GRE_KEY } else { 0 }
        || u16::from_be_bytes([h[36], h[37]]) != ETH_TYPE_TEB
    {
        return None;
    }
    let mut e = FlowActionsXdp {
        flags: ACT_TUNNEL_PUSH | ACT_OUTPUT,
        out_ifindex: target.ifindex,
        tnl_len: u16::try_from(h.len()).ok()?,
        tnl_max: u16::try_from(target.max_frame).unwrap_or(u16::MAX),
        tnl_sum: ip_header_sum(h)?,
        ..FlowActionsXdp::default()
    };
    e.tnl_header[..h.len()].copy_from_slice(h);
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

    /// Notes that `frame`, received on `in_port`, was handled by `mf` (of bridge `bridge`) in
    /// generation `stamp` (the kernel's number: the switch's generation + 1): if XDP can carry
    /// it, its entry is installed at the next [`Offload::install`].
    pub fn consider(&mut self, in_port: DpPort, bridge: usize, frame: &[u8], mf: &Arc<Megaflow>, stamp: u64) {
        let Some(port) = self.ports.get(&in_port) else { return };
        if mf.mask.get(Field::TcpFlags) != 0 {
            return;
        }
        let Some(mut entry) = translate(&mf.actions, port, &self.ports) else { return };
        let Some(header) = FlowKeyXdp::parse(frame) else { return };
        let mask = xdp_mask_of(&mf.mask);
        let key = header.and(&mask);
        entry.generation = stamp;
        entry.mask = mask;
        self.note(in_port, PendingKey::Flow { mask, key }, Flows::single(mf, bridge), entry);
    }

    /// Notes that the GRE frame `outer`, received on `in_port`, was handled by `outer_mf`
    /// (exactly `tnl_pop`) and its decapsulated frame `inner` by `inner_mf`, in generation
    /// `stamp`: if XDP can carry both, a decapsulation entry is installed at the next
    /// [`Offload::install`]. Each comes with its megaflow's bridge; the inner frame with the
    /// tunnel port it entered on.
    pub fn consider_tunnel(
        &mut self,
        in_port: DpPort,
        (outer, outer_mf, outer_bridge): (&[u8], &Arc<Megaflow>, usize),
        (inner, inner_mf, inner_bridge, tnl_port): (&[u8], &Arc<Megaflow>, usize, DpPort),
        stamp: u64,
    ) {
        let Some(port) = self.ports.get(&in_port) else { return };
        if !matches!(outer_mf.actions.as_slice(), [DpAction::TunnelPop])
            || outer_mf.mask.get(Field::TcpFlags) != 0
            || inner_mf.mask.get(Field::TcpFlags) != 0
        {
            return;
        }
        let Some(mut entry) = translate(&inner_mf.actions, port, &self.ports) else { return };
        // Popping then pushing again would need a second size check after the frame changed.
        if entry.flags & ACT_TUNNEL_PUSH != 0 {
            return;
        }
        let Some((key, hlen)) = TnlKeyXdp::parse(outer) else { return };
        if outer.get(hlen..) != Some(inner) {
            return;
        }
        entry.generation = stamp;
        let inner = Inner { mf: Arc::clone(inner_mf), bridge: inner_bridge, tnl_port, hlen: hlen as u64 };
        let flows = Flows { mf: Arc::clone(outer_mf), bridge: outer_bridge, inner: Some(inner) };
        self.note(in_port, PendingKey::Tnl(key), flows, entry);
    }

    /// The installed key of a noted one (a megaflow's mask must already have an id).
    fn installed_key(&self, in_port: DpPort, key: &PendingKey) -> Option<EntryKey> {
        match key {
            PendingKey::Flow { mask, key } => {
                let id = self.masks.get(&in_port)?.id_of(mask)?;
                Some(EntryKey::Flow(MaskedKeyXdp { mask_id: id, pad: 0, key: *key }))
            }
            PendingKey::Tnl(k) => Some(EntryKey::Tnl(*k)),
        }
    }

    fn note(&mut self, in_port: DpPort, key: PendingKey, flows: Flows, entry: FlowActionsXdp) {
        if let Some(i) = self.installed_key(in_port, &key).and_then(|k| self.installed.get(&(in_port, k))) {
            if i.generation == entry.generation && i.flows.same(&flows) {
                return;
            }
        }
        if self.pending.iter().any(|p| p.in_port == in_port && p.key == key) {
            return;
        }
        self.pending.push(Pending { in_port, key, flows, entry });
    }

    /// Installs the entries noted since the last call that were translated in generation
    /// `stamp` (the one in force: the caller holds the switch's read lock) and records them in
    /// `book`, so that later changes can keep them ([`crate::xdp_revalidate`]).
    pub fn install(&mut self, netdevs: &mut Netdevs, book: &Mutex<OffloadBook>, stamp: u64, now: Millis) {
        let mut book = book.lock().unwrap_or_else(PoisonError::into_inner);
        for p in std::mem::take(&mut self.pending) {
            if p.entry.generation != stamp {
                continue;
            }
            let Some(steer) = netdevs.get_mut(&p.in_port).and_then(|d| d.xdp()) else { continue };
            // A megaflow's mask takes an id and a slot (a new one is written into the program
            // first).
            let key = match p.key {
                PendingKey::Tnl(k) => EntryKey::Tnl(k),
                PendingKey::Flow { mask, key } => {
                    let masks = self.masks.entry(p.in_port).or_default();
                    let id = if let Some(id) = masks.id_of(&mask) {
                        id
                    } else if let Some((id, writes)) = masks.add(mask) {
                        if !write_masks(steer, p.in_port, &writes) {
                            let undo = masks.uses(id, 0);
                            write_masks(steer, p.in_port, &undo);
                            self.stats.install_failures += 1;
                            continue;
                        }
                        id
                    } else {
                        // Every mask slot taken: this megaflow stays in userspace.
                        self.stats.install_failures += 1;
                        continue;
                    };
                    EntryKey::Flow(MaskedKeyXdp { mask_id: id, pad: 0, key })
                }
            };
            // Replacing an entry (same key, older generation) keeps its mask slot's count.
            let replaced = self.installed.remove(&(p.in_port, key));
            if let Some(old) = &replaced {
                if let Some(v) = key.get(steer) {
                    if let Some(d) = credit(&mut self.stats, p.in_port, old, &v, now) {
                        self.port_deltas.push(d);
                    }
                }
                old.flows.entry_removed();
            }
            match key.put(steer, &p.entry) {
                Ok(()) => {
                    self.stats.installs += 1;
                    p.flows.entry_added();
                    if replaced.is_none() {
                        self.mask_uses(p.in_port, &key, 1, steer);
                    }
                    book.register(p.in_port, key, &p.flows, now);
                    let i = Installed { flows: p.flows, generation: p.entry.generation, packets: 0, bytes: 0 };
                    self.installed.insert((p.in_port, key), i);
                }
                Err(e) => {
                    self.stats.install_failures += 1;
                    log::debug!("XDP flow install on port {}: {e}", p.in_port.0);
                    if replaced.is_some() {
                        // The old entry is gone from our books: it must not stay in the program.
                        key.del(steer);
                        book.forget(p.in_port, &key);
                        self.mask_uses(p.in_port, &key, -1, steer);
                    } else {
                        self.mask_uses(p.in_port, &key, 0, steer);
                    }
                }
            }
        }
    }

    /// Counts `delta` entries more (or fewer) on the mask of a megaflow entry; a mask left
    /// unused is freed in the program too.
    fn mask_uses(&mut self, port: DpPort, key: &EntryKey, delta: isize, steer: &mut ebpf::XdpSteer) {
        let EntryKey::Flow(k) = key else { return };
        let Some(masks) = self.masks.get_mut(&port) else { return };
        let writes = masks.uses(k.mask_id, delta);
        write_masks(steer, port, &writes);
    }

    /// Reads the counters of (up to [`READS_PER_SWEEP`]) entries and credits their megaflows;
    /// removes entries whose megaflow died or whose stamp is older than `stamp` (a change left
    /// them retired; a newer stamp is a re-stamp by a change since `stamp` was read).
    pub fn collect(&mut self, netdevs: &mut Netdevs, stamp: u64, now: Millis) {
        let n = self.installed.len();
        if n == 0 {
            return;
        }
        let start = if n <= READS_PER_SWEEP { 0 } else { self.cursor % n };
        self.cursor = start + READS_PER_SWEEP;
        let keys: Vec<(DpPort, EntryKey)> = self.installed.keys().skip(start).take(READS_PER_SWEEP).copied().collect();
        for k in keys {
            let steer = netdevs.get_mut(&k.0).and_then(|d| d.xdp());
            let Some(inst) = self.installed.get_mut(&k) else { continue };
            let value = steer.as_ref().and_then(|s| k.1.get(s));
            if let Some(v) = &value {
                if let Some(d) = credit(&mut self.stats, k.0, inst, v, now) {
                    if let (EntryKey::Flow(fk), Some(m)) = (&k.1, self.masks.get_mut(&k.0)) {
                        m.hit(fk.mask_id, d.packets);
                    }
                    self.port_deltas.push(d);
                }
                inst.packets = v.packets;
                inst.bytes = v.bytes;
                inst.generation = v.generation;
            }
            if value.is_none() || inst.flows.is_dead() || stamp == 0 || inst.generation < stamp {
                if let Some(old) = self.installed.remove(&k) {
                    old.flows.entry_removed();
                }
                self.stats.removals += 1;
                if let Some(s) = steer {
                    k.1.del(s);
                    self.mask_uses(k.0, &k.1, -1, s);
                }
            }
        }
        // The most-hit masks first ([`crate::xdp_masks`]).
        for (port, masks) in &mut self.masks {
            let writes = masks.rank();
            if let Some(steer) = netdevs.get_mut(port).and_then(|d| d.xdp()) {
                if !writes.is_empty() && write_masks(steer, *port, &writes) {
                    self.stats.mask_reorders += 1;
                }
            }
        }
    }

    /// What the programs forwarded since the last call, for the ports' counters (`dump-ports`):
    /// (port, packets received, bytes received, packets sent, bytes sent) per port. As in the
    /// userspace path, a decapsulated frame is received twice: on the physical port (as it
    /// arrived) and on the tunnel port (decapsulated).
    pub fn take_port_counts(&mut self) -> BTreeMap<DpPort, (u64, u64, u64, u64)> {
        let mut counts: BTreeMap<DpPort, (u64, u64, u64, u64)> = BTreeMap::new();
        for d in std::mem::take(&mut self.port_deltas) {
            let c = counts.entry(d.in_port).or_default();
            c.0 += d.packets;
            c.1 += d.bytes;
            if let Some(t) = d.tnl_port {
                let c = counts.entry(t).or_default();
                c.0 += d.packets;
                c.1 += d.out;
            }
            if d.entry.flags & ACT_OUTPUT != 0 {
                if let Some((port, _)) = self.ports.iter().find(|(_, p)| p.ifindex == d.entry.out_ifindex) {
                    let c = counts.entry(*port).or_default();
                    c.2 += d.packets;
                    c.3 += d.out;
                }
            }
        }
        counts
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
                max_frame: max_frame(ifindex),
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
    /// its NAPI) and their MTUs; returns whether any changed (the caller then retires every
    /// entry).
    pub fn refresh_targets(&mut self) -> bool {
        let mut changed = false;
        for p in self.ports.values_mut() {
            let now = ndo_xmit(p.ifindex);
            let max = max_frame(p.ifindex);
            changed |= now != p.ndo_xmit || max != p.max_frame;
            p.ndo_xmit = now;
            p.max_frame = max;
        }
        changed
    }

    fn forget_port(&mut self, port: DpPort) {
        self.pending.retain(|p| p.in_port != port);
        self.masks.remove(&port);
        self.installed.retain(|k, i| {
            let keep = k.0 != port;
            if !keep {
                i.flows.entry_removed();
            }
            keep
        });
    }
}

/// Credits what an entry of `in_port` counted since it was last read to its megaflows; returns
/// what it counted for the ports, if anything.
fn credit(
    stats: &mut OffloadStats,
    in_port: DpPort,
    inst: &Installed,
    v: &FlowActionsXdp,
    now: Millis,
) -> Option<PortDelta> {
    let dp = v.packets.saturating_sub(inst.packets);
    let db = v.bytes.saturating_sub(inst.bytes);
    if dp == 0 {
        return None;
    }
    inst.flows.mf.hit(dp, db, now);
    let mut out = db;
    if let Some(inner) = &inst.flows.inner {
        out = db.saturating_sub(dp * inner.hlen);
        inner.mf.hit(dp, out, now);
    }
    if v.flags & ACT_TUNNEL_PUSH != 0 {
        out += dp * u64::from(v.tnl_len);
    }
    stats.packets += dp;
    stats.bytes += db;
    let tnl_port = inst.flows.inner.as_ref().map(|i| i.tnl_port);
    Some(PortDelta { in_port, tnl_port, entry: *v, packets: dp, bytes: db, out })
}

/// The largest frame interface `ifindex` takes (MTU + 18, as [`crate::netdev`]'s AF_XDP
/// transmit check); 0 (no tunnel push towards it) when it cannot be read.
fn max_frame(ifindex: u32) -> u32 {
    let Ok(name) = crate::sys::ifname(ifindex) else { return 0 };
    crate::sys::mtu(&name).map_or(0, |m| m.saturating_add(18))
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
        let p = |ifindex, ndo_xmit| OffloadPort { ifindex, native: true, ndo_xmit, id: ifindex, max_frame: 1518 };
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

    fn gre_push(key: Option<u32>, csum: bool, out: DpPort) -> DpAction {
        let header = flowtable::tunnel::build_gre_header(&flowtable::tunnel::HeaderParams {
            eth_dst: [2, 0, 0, 0, 0, 0xb],
            eth_src: [2, 0, 0, 0, 0, 0xa],
            ip_src: std::net::Ipv4Addr::new(172, 31, 1, 1),
            ip_dst: std::net::Ipv4Addr::new(172, 31, 1, 2),
            ttl: 64,
            tos: 0x10,
            dont_fragment: true,
            key,
            csum,
        });
        DpAction::TunnelPush(Box::new(TunnelPush {
            tnl_port: DpPort(7),
            header,
            out_port: out,
            actions: vec![DpAction::Output(out)],
        }))
    }

    #[test]
    fn decapsulated_frames_count_on_the_tunnel_port_too() {
        let bridges = vec![flowtable::bridge::Bridge::new("br0")];
        let key = FlowKey::ZERO;
        let x = || flowtable::xlate::xlate(&bridges, 0, &key, 0);
        let (outer, inner) =
            (Arc::new(Megaflow::from_xlation(&key, x(), 0)), Arc::new(Megaflow::from_xlation(&key, x(), 0)));
        let inner = Inner { mf: Arc::clone(&inner), bridge: 0, tnl_port: DpPort(7), hlen: GRE_KEY_HLEN as u64 };
        let inst = Installed {
            flows: Flows { mf: Arc::clone(&outer), bridge: 0, inner: Some(inner) },
            generation: 1,
            packets: 0,
            bytes: 0,
        };
        let v = FlowActionsXdp {
            packets: 3,
            bytes: 3 * 142,
            flags: ACT_OUTPUT,
            out_ifindex: 12,
            ..FlowActionsXdp::default()
        };
        let mut o = Offload { ports: ports(), ..Offload::default() };
        let d = credit(&mut o.stats, DpPort(1), &inst, &v, 0).unwrap();
        o.port_deltas.push(d);
        let counts = o.take_port_counts();
        assert_eq!(counts[&DpPort(1)], (3, 426, 0, 0), "the physical port received the GRE frames");
        assert_eq!(counts[&DpPort(7)], (3, 300, 0, 0), "the GRE port received them decapsulated");
        assert_eq!(counts[&DpPort(2)], (0, 0, 3, 300), "the VM port sent them");
        assert_eq!((outer.packets(), outer.bytes()), (3, 426));
    }

    #[test]
    fn carries_a_gre_push_exactly_as_the_slow_path_encapsulates() {
        let ports = ports();
        let in_port = ports[&DpPort(1)];
        let frame: Vec<u8> = (0..100u8).collect();
        for key in [Some(5), None] {
            let push = gre_push(key, false, DpPort(2));
            let e = translate(std::slice::from_ref(&push), &in_port, &ports).unwrap();
            assert_eq!((e.flags, e.out_ifindex, e.tnl_max), (ACT_TUNNEL_PUSH | ACT_OUTPUT, 12, 1518));
            let DpAction::TunnelPush(p) = &push else { unreachable!() };
            assert_eq!(e.tunnel_push(&frame).unwrap(), flowtable::tunnel::encapsulate(&frame, &p.header));
            // Too large for the underlay port once encapsulated: userspace.
            let big = vec![0u8; 1518 - usize::from(e.tnl_len) + 1];
            assert!(e.tunnel_push(&big).is_none());
        }
        let no = |acts: &[DpAction]| assert!(translate(acts, &in_port, &ports).is_none(), "{acts:?}");
        // GRE checksum, a target without ndo_xdp_xmit, other actions around the push.
        no(&[gre_push(Some(5), true, DpPort(2))]);
        no(&[gre_push(Some(5), false, DpPort(3))]);
        no(&[DpAction::PopVlan, gre_push(Some(5), false, DpPort(2))]);
        no(&[gre_push(Some(5), false, DpPort(2)), DpAction::Output(DpPort(2))]);
    }
}
