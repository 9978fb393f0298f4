//! Translation: one packet's walk through the OpenFlow pipeline, turned into a megaflow.
//!
//! Given a flow key and the bridges, [`xlate`] walks the tables (goto_table, resubmit, groups,
//! patch ports into peer bridges, NORMAL) and returns:
//! - the datapath actions ([`DpActions`]): header changes are committed as masked sets (and
//!   VLAN pushes/pops) only right before the output that needs them, as Open vSwitch's
//!   `commit_odp_actions` does;
//! - the megaflow mask: every bit of the *received* packet the result depends on;
//! - side effects (learned flows, MAC learning) and the counters of every rule and group used.
//!
//! The mask is exact by construction: reading a field un-wildcards its bits unless they were
//! overwritten by an action (their value is then a function of bits already in the mask), and
//! classifier lookups report the bits they consulted. So every packet that matches the
//! megaflow's key under its mask gets the same actions from a full translation: caching never
//! changes what a packet gets (checked by proptest in `tests/megaflow_invariant.rs`).

use crate::action::{Action, ControllerAction, Learn, LearnSpec, LearnSrc, PacketInReason};
use crate::bridge::Bridge;
use crate::field::{ethertype, ipproto, Field, SubField, VLAN_CFI, VLAN_PCP_MASK, VLAN_VID_MASK};
use crate::flow_mod::{FlowMod, GroupType};
use crate::key::FlowKey;
use crate::odp::{DpAction, DpActions, DpPort, PacketIn};
use crate::port::PortNo;
use crate::rule::{Millis, RuleStats};
use crate::tunnel::TunnelEnv;
use std::sync::Arc;

/// Deepest nesting of resubmits, goto_table chains, groups and patch ports (Open vSwitch: 64).
pub const MAX_DEPTH: u32 = 64;
/// Most resubmits in one translation before the packet is dropped (Open vSwitch: 4096).
pub const MAX_RESUBMITS: u32 = 4096;

/// Something translation wants done to switch state; applied by the caller after the packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SideEffect {
    /// A `learn` action's flow (add or refresh) for a bridge.
    Learn {
        /// Bridge index.
        bridge: usize,
        /// The learned flow.
        flow_mod: Box<FlowMod>,
    },
    /// A tunnel neighbour seen (ARP snooping, or a tunnel packet's outer source) on the
    /// bridge whose internal port terminates tunnels (Open vSwitch's `tnl_neigh_set`).
    NeighLearn {
        /// Bridge name (the neighbour cache is per bridge).
        bridge: String,
        /// The neighbour's address.
        ip: std::net::Ipv4Addr,
        /// Its MAC.
        mac: u64,
    },
    /// NORMAL saw `mac` on `vlan` arrive on `port`.
    MacLearn {
        /// Bridge index.
        bridge: usize,
        /// VLAN.
        vlan: u16,
        /// Source MAC.
        mac: u64,
        /// Input port.
        port: PortNo,
    },
}

/// Why a translation gave up (the packet is dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XlateError {
    /// Resubmit/goto/patch nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than [`MAX_RESUBMITS`] resubmits.
    TooManyResubmits,
}

/// The result of translating one packet: a megaflow and what comes with it.
#[derive(Debug, Default)]
pub struct Xlation {
    /// Datapath actions (empty: drop).
    pub actions: DpActions,
    /// Megaflow mask: the bits of the packet the result depends on.
    pub wc: FlowKey,
    /// Counters of every rule and group that handled the packet.
    pub stats: Vec<Arc<RuleStats>>,
    /// Learned flows and MAC learning.
    pub side_effects: Vec<SideEffect>,
    /// Set if translation gave up; `actions` is then empty.
    pub error: Option<XlateError>,
    /// A human-readable account of every table, rule and action met (when tracing).
    pub trace: Vec<String>,
}

/// Translates a packet with key `key` received on `bridge` (index into `bridges`) at `now`.
pub fn xlate(bridges: &[Bridge], bridge: usize, key: &FlowKey, now: Millis) -> Xlation {
    xlate_with(bridges, bridge, key, now, false)
}

/// As [`xlate`], recording a trace for `ofproto/trace` when `trace` is set.
pub fn xlate_with(bridges: &[Bridge], bridge: usize, key: &FlowKey, now: Millis, trace: bool) -> Xlation {
    xlate_env(bridges, &TunnelEnv::EMPTY, bridge, key, now, trace)
}

/// As [`xlate_with`], with the routes, device addresses and neighbours native tunnels use.
pub fn xlate_env(
    bridges: &[Bridge],
    env: &TunnelEnv,
    bridge: usize,
    key: &FlowKey,
    now: Millis,
    trace: bool,
) -> Xlation {
    let mut ctx = Ctx::new(bridges, env, bridge, *key, now, trace);
    // Datapath flows always match the input port exactly.
    ctx.out.wc.set_all(Field::InPort);
    ctx.run_table(0, true);
    if ctx.out.error.is_none() && !ctx.action_set.is_empty() && !ctx.dropped {
        ctx.execute_action_set();
    }
    if ctx.out.error.is_some() {
        ctx.out.actions.clear();
    }
    ctx.out
}

/// Translates an action list applied to a packet with key `key` on `bridge`, outside any
/// rule: what an OpenFlow PACKET_OUT does (Open vSwitch's `ofproto_packet_out`). `output:TABLE`
/// and `resubmit` run the bridge's tables; the action set is executed at the end.
pub fn xlate_actions(
    bridges: &[Bridge],
    env: &TunnelEnv,
    bridge: usize,
    key: &FlowKey,
    actions: &[Action],
    now: Millis,
) -> Xlation {
    let mut ctx = Ctx::new(bridges, env, bridge, *key, now, false);
    ctx.out.wc.set_all(Field::InPort);
    ctx.do_actions(actions, false);
    if ctx.out.error.is_none() && !ctx.action_set.is_empty() && !ctx.dropped {
        ctx.execute_action_set();
    }
    if ctx.out.error.is_some() {
        ctx.out.actions.clear();
    }
    ctx.out
}

/// Translation state.
pub(crate) struct Ctx<'a> {
    pub(crate) bridges: &'a [Bridge],
    pub(crate) env: &'a TunnelEnv,
    pub(crate) bridge_idx: usize,
    pub(crate) now: Millis,
    /// The packet as the pipeline sees it now.
    flow: FlowKey,
    /// The packet as the datapath will have it after the actions emitted so far.
    base: FlowKey,
    /// Bits of `flow` whose value no longer comes straight from the received packet.
    overwritten: FlowKey,
    /// Header bits written since the last commit.
    pending: FlowKey,
    vlan_dirty: bool,
    tpid: [u16; 2],
    action_set: Vec<Action>,
    table_id: u8,
    cookie: u64,
    depth: u32,
    resubmits: u32,
    dropped: bool,
    tracing: bool,
    pub(crate) out: Xlation,
}

/// A saved VLAN stack (see [`Ctx::save_vlan`]).
#[derive(Clone, Copy)]
pub(crate) struct SavedVlan {
    tci: [u128; 2],
    tpid: [u16; 2],
}

impl<'a> Ctx<'a> {
    fn new(
        bridges: &'a [Bridge],
        env: &'a TunnelEnv,
        bridge_idx: usize,
        key: FlowKey,
        now: Millis,
        tracing: bool,
    ) -> Self {
        Ctx {
            bridges,
            env,
            bridge_idx,
            now,
            flow: key,
            base: key,
            overwritten: FlowKey::ZERO,
            pending: FlowKey::ZERO,
            vlan_dirty: false,
            tpid: [ethertype::VLAN; 2],
            action_set: Vec::new(),
            table_id: 0,
            cookie: 0,
            depth: 0,
            resubmits: 0,
            dropped: false,
            tracing,
            out: Xlation::default(),
        }
    }

    pub(crate) fn bridge(&self) -> &'a Bridge {
        &self.bridges[self.bridge_idx]
    }

    pub(crate) fn trace(&mut self, msg: impl FnOnce() -> String) {
        if self.tracing {
            let indent = "    ".repeat(self.depth as usize);
            self.out.trace.push(format!("{indent}{}", msg()));
        }
    }

    pub(crate) fn side_effect(&mut self, e: SideEffect) {
        if !self.out.side_effects.contains(&e) {
            self.out.side_effects.push(e);
        }
    }

    /// Marks `mask`'s bits as depended on, except those whose value actions determined.
    fn depend(&mut self, mask: &FlowKey) {
        for ((w, m), o) in self.out.wc.words.iter_mut().zip(&mask.words).zip(&self.overwritten.words) {
            *w |= m & !o;
        }
    }

    /// Reads a field, making the megaflow depend on it.
    pub(crate) fn read(&mut self, field: Field) -> u128 {
        self.read_bits(field, field.max_value())
    }

    fn read_bits(&mut self, field: Field, bits: u128) -> u128 {
        let mut m = FlowKey::ZERO;
        m.set(field, bits);
        self.depend(&m);
        self.flow.get(field) & bits
    }

    fn read_subfield(&mut self, sf: SubField) -> u128 {
        self.read_bits(sf.field, sf.mask()) >> sf.ofs
    }

    fn is_ip(&mut self) -> bool {
        matches!(self.read(Field::EthType) as u16, ethertype::IPV4 | ethertype::IPV6)
    }

    /// Whether the packet has the header `field` lives in (OpenFlow prerequisites, as
    /// Open vSwitch's `mf_are_prereqs_ok` on the flow).
    fn has_header(&mut self, field: Field) -> bool {
        use crate::field::Prerequisite as P;
        match field.prerequisite() {
            P::None => true,
            P::Vlan => self.read_bits(Field::VlanTci, u128::from(VLAN_CFI)) != 0,
            P::EthType(types) => types.contains(&(self.read(Field::EthType) as u16)),
            P::IpProto(types, protos) => {
                types.contains(&(self.read(Field::EthType) as u16))
                    && protos.contains(&(self.read(Field::IpProto) as u8))
            }
            P::Nd | P::NdSolicit | P::NdAdvert => {
                self.read(Field::EthType) as u16 == ethertype::IPV6
                    && self.read(Field::IpProto) as u8 == ipproto::ICMPV6
                    && matches!(
                        (field.prerequisite(), self.read(Field::IcmpType)),
                        (P::Nd, 135 | 136) | (P::NdSolicit, 135) | (P::NdAdvert, 136)
                    )
            }
        }
    }

    /// Writes bits of a field (set_field, load, move destination, metadata, ...).
    fn write(&mut self, field: Field, value: u128, mask: u128) {
        if matches!(field, Field::VlanTci | Field::VlanVid | Field::VlanPcp) {
            let [outer, _] = self.vlan_stack();
            if field == Field::VlanPcp && outer & VLAN_CFI == 0 {
                // vlan_pcp needs a tag (Open vSwitch's MFP_VLAN_VID prerequisite).
                return;
            }
            let mut scratch = FlowKey::ZERO;
            scratch.set(Field::VlanTci, u128::from(outer));
            scratch.set_masked(field, value, mask);
            let mut tci = scratch.get(Field::VlanTci) as u16;
            if field == Field::VlanVid && mask & u128::from(VLAN_VID_MASK) != 0 {
                // Setting a VID makes a tag exist (Open vSwitch's flow_set_vlan_vid).
                tci |= VLAN_CFI;
            }
            self.write_vlan_tci(tci);
            return;
        }
        self.flow.set_masked(field, value, mask);
        self.overwritten.set_masked(field, u128::MAX, mask);
        if field.layout().word >= crate::field::STAGE_ENDS[0] {
            self.pending.set_masked(field, u128::MAX, mask);
        }
    }

    /// The current outer and inner TCI, reading (and so depending on) both.
    fn vlan_stack(&mut self) -> [u16; 2] {
        [self.read(Field::VlanTci) as u16, self.read(Field::VlanTci1) as u16]
    }

    fn set_vlan_stack(&mut self, outer: u16, inner: u16) {
        let (outer, inner) = if outer & VLAN_CFI == 0 { (0, 0) } else { (outer, inner) };
        self.flow.set(Field::VlanTci, u128::from(outer));
        self.flow.set(Field::VlanTci1, u128::from(inner));
        self.overwritten.set_all(Field::VlanTci);
        self.overwritten.set_all(Field::VlanTci1);
        self.vlan_dirty = true;
    }

    /// Replaces the outer TCI (0: remove the outer tag).
    pub(crate) fn write_vlan_tci(&mut self, tci: u16) {
        let [outer, inner] = self.vlan_stack();
        if tci & VLAN_CFI == 0 {
            // Removing the outer tag exposes the inner one.
            if outer & VLAN_CFI != 0 {
                self.set_vlan_stack(inner, 0);
                self.tpid = [self.tpid[1], ethertype::VLAN];
            }
        } else {
            self.set_vlan_stack(tci, inner);
        }
    }

    pub(crate) fn save_vlan(&mut self) -> SavedVlan {
        let [o, i] = self.vlan_stack();
        SavedVlan { tci: [u128::from(o), u128::from(i)], tpid: self.tpid }
    }

    pub(crate) fn restore_vlan(&mut self, saved: SavedVlan) {
        self.flow.set(Field::VlanTci, saved.tci[0]);
        self.flow.set(Field::VlanTci1, saved.tci[1]);
        self.tpid = saved.tpid;
        self.vlan_dirty = true;
    }

    fn push_vlan(&mut self, tpid: u16) {
        let [outer, _] = self.vlan_stack();
        // OpenFlow 1.3: the new tag copies the VID and PCP of the existing outer tag, if any.
        let tci = if outer & VLAN_CFI != 0 { outer } else { VLAN_CFI };
        self.tpid = [tpid, self.tpid[0]];
        self.set_vlan_stack(tci, outer);
    }

    /// Emits the datapath actions that make the datapath's packet equal the pipeline's.
    pub(crate) fn commit(&mut self) {
        if self.vlan_dirty {
            self.commit_vlan();
        }
        if self.pending.is_zero() {
            return;
        }
        let eth_type = self.read(Field::EthType) as u16;
        let ip = matches!(eth_type, ethertype::IPV4 | ethertype::IPV6);
        let proto = if ip { self.read(Field::IpProto) as u8 } else { 0 };
        let icmp = proto == ipproto::ICMP || proto == ipproto::ICMPV6;
        let arp = matches!(eth_type, ethertype::ARP | ethertype::RARP);
        let nd = eth_type == ethertype::IPV6 && proto == ipproto::ICMPV6;
        let candidates: [(Field, bool); 16] = [
            (Field::EthDst, true),
            (Field::EthSrc, true),
            (if arp { Field::ArpSpa } else { Field::Ipv4Src }, arp || eth_type == ethertype::IPV4),
            (if arp { Field::ArpTpa } else { Field::Ipv4Dst }, arp || eth_type == ethertype::IPV4),
            (Field::ArpOp, arp),
            (Field::Ipv6Src, eth_type == ethertype::IPV6),
            (Field::Ipv6Dst, eth_type == ethertype::IPV6),
            (Field::Ipv6Label, eth_type == ethertype::IPV6),
            (Field::IpTos, ip),
            (Field::IpTtl, ip),
            (if icmp { Field::IcmpType } else { Field::TpSrc }, proto != 0),
            (if icmp { Field::IcmpCode } else { Field::TpDst }, proto != 0),
            (if nd { Field::NdSll } else { Field::ArpSha }, arp || nd),
            (if nd { Field::NdTll } else { Field::ArpTha }, arp || nd),
            (Field::NdTarget, nd),
            (Field::TunId, false),
        ];
        for (field, present) in candidates {
            let mask = self.pending.get(field);
            if mask == 0 || !present {
                continue;
            }
            let value = self.flow.get(field) & mask;
            self.out.actions.push(DpAction::SetMasked { field, value, mask });
            self.base.set_masked(field, value, mask);
        }
        // Keep only pending bits of the pipeline-only words (none are committed).
        for w in &mut self.pending.words[crate::field::STAGE_ENDS[0]..] {
            *w = 0;
        }
    }

    fn commit_vlan(&mut self) {
        self.vlan_dirty = false;
        let want = [self.flow.get(Field::VlanTci) as u16, self.flow.get(Field::VlanTci1) as u16];
        let have = [self.base.get(Field::VlanTci) as u16, self.base.get(Field::VlanTci1) as u16];
        if want == have {
            return;
        }
        let depth =
            |t: [u16; 2]| usize::from(t[0] & VLAN_CFI != 0) + usize::from(t[0] & VLAN_CFI != 0 && t[1] & VLAN_CFI != 0);
        let (dw, dh) = (depth(want), depth(have));
        if dw == dh && dw > 0 && (dw == 1 || want[1] == have[1]) {
            let mask = VLAN_VID_MASK | VLAN_PCP_MASK;
            self.out.actions.push(DpAction::SetMasked {
                field: Field::VlanTci,
                value: u128::from(want[0] & mask),
                mask: u128::from(mask),
            });
        } else {
            for _ in 0..dh {
                self.out.actions.push(DpAction::PopVlan);
            }
            for i in (0..dw).rev() {
                self.out.actions.push(DpAction::PushVlan { tpid: self.tpid[i], tci: want[i] });
            }
        }
        self.base.set(Field::VlanTci, u128::from(want[0]));
        self.base.set(Field::VlanTci1, u128::from(if dw == 2 { want[1] } else { 0 }));
    }

    /// Looks up `table_id` and executes the rule found; `top` is the pipeline walk (table-miss
    /// behaviour applies) as opposed to a resubmit.
    fn run_table(&mut self, table_id: u8, top: bool) {
        if self.depth >= MAX_DEPTH {
            self.out.error = Some(XlateError::TooDeep);
            return;
        }
        let bridge = self.bridge();
        let Some(table) = bridge.pipeline.table(table_id) else {
            return;
        };
        let mut wc = FlowKey::ZERO;
        let entry = table.cls.lookup(&self.flow, bridge.pipeline.version(), &mut wc);
        self.depend(&wc);
        table.count_lookup(entry.is_some());
        let Some(entry) = entry else {
            self.trace(|| format!("table {table_id}: no match"));
            if top {
                self.table_miss(table_id);
            }
            return;
        };
        let rule = Arc::clone(&entry.value);
        self.trace(|| format!("table {table_id}: priority {} cookie {:#x}", rule.priority, rule.cookie));
        self.out.stats.push(Arc::clone(&rule.stats));
        let (old_table, old_cookie) = (self.table_id, self.cookie);
        self.table_id = table_id;
        self.cookie = rule.cookie;
        self.depth += 1;
        self.do_actions(&rule.actions, top);
        self.depth -= 1;
        self.table_id = old_table;
        self.cookie = old_cookie;
    }

    fn table_miss(&mut self, table_id: u8) {
        self.dropped = true;
        if self.bridge().miss_to_controller {
            let ca = ControllerAction { reason: PacketInReason::NoMatch, ..ControllerAction::default() };
            let (old_table, old_cookie) = (self.table_id, self.cookie);
            self.table_id = table_id;
            self.cookie = u64::MAX;
            self.controller(&ca);
            self.table_id = old_table;
            self.cookie = old_cookie;
        }
    }

    /// Executes an action list; `top` says whether a goto_table continues the pipeline walk.
    fn do_actions(&mut self, actions: &[Action], top: bool) {
        for action in actions {
            if self.out.error.is_some() {
                return;
            }
            self.trace(|| format!("  {}", crate::syntax::format_actions(std::slice::from_ref(action))));
            if !self.do_action(action, top) {
                return;
            }
        }
    }

    /// Executes one action; returns false when the rest of the list must be skipped.
    fn do_action(&mut self, action: &Action, top: bool) -> bool {
        match action {
            Action::Output { port, max_len } => self.output(*port, *max_len),
            Action::OutputReg { src, max_len } => {
                let port = PortNo(self.read_subfield(*src) as u16);
                self.output(port, *max_len);
            }
            Action::Enqueue { port, .. } => self.output(*port, 0),
            Action::Controller(ca) => self.controller(ca),
            Action::Group(g) => self.group(*g),
            Action::SetQueue(_) | Action::Note(_) | Action::Meter(_) => {}
            Action::SetField { field, value, mask } => {
                if self.has_header(*field) {
                    self.write(*field, *value, *mask);
                }
            }
            Action::RegMove { src, dst } => {
                if self.has_header(src.field) && self.has_header(dst.field) {
                    let v = self.read_subfield(*src);
                    self.write(dst.field, v << dst.ofs, dst.mask());
                }
            }
            Action::PushVlan(tpid) => self.push_vlan(*tpid),
            Action::PopVlan => self.write_vlan_tci(0),
            Action::SetVlanVid(vid) => {
                let [outer, _] = self.vlan_stack();
                let base = if outer & VLAN_CFI != 0 { outer } else { VLAN_CFI };
                self.write_vlan_tci((base & !VLAN_VID_MASK) | (vid & VLAN_VID_MASK) | VLAN_CFI);
            }
            Action::SetVlanPcp(pcp) => {
                let [outer, _] = self.vlan_stack();
                let base = if outer & VLAN_CFI != 0 { outer } else { VLAN_CFI };
                self.write_vlan_tci((base & !VLAN_PCP_MASK) | (u16::from(*pcp & 7) << 13));
            }
            Action::DecTtl => {
                if self.is_ip() {
                    let ttl = self.read(Field::IpTtl);
                    if ttl <= 1 {
                        let ca = ControllerAction { reason: PacketInReason::InvalidTtl, ..ControllerAction::default() };
                        self.controller(&ca);
                        return false;
                    }
                    self.write(Field::IpTtl, ttl - 1, 0xff);
                }
            }
            Action::SetTtl(ttl) => {
                if self.is_ip() {
                    self.write(Field::IpTtl, u128::from(*ttl), 0xff);
                }
            }
            Action::SetTunnel(id) => self.write(Field::TunId, u128::from(*id), u128::from(u64::MAX)),
            Action::Resubmit { port, table } => self.resubmit(*port, table.unwrap_or(self.table_id)),
            Action::Learn(learn) => self.learn(learn),
            Action::WriteActions(list) => {
                for a in list {
                    self.add_to_action_set(a.clone());
                }
            }
            Action::ClearActions => self.action_set.clear(),
            Action::WriteMetadata { value, mask } => self.write(Field::Metadata, u128::from(*value), u128::from(*mask)),
            Action::GotoTable(t) => {
                if top {
                    self.run_table(*t, true);
                } else {
                    self.resubmit(None, *t);
                }
            }
        }
        true
    }

    /// OpenFlow 1.3 5.10: the action set holds at most one action of each type
    /// (one set_field per field); a later write replaces an earlier one.
    fn add_to_action_set(&mut self, action: Action) {
        use std::mem::discriminant;
        let same = |a: &Action| match (a, &action) {
            (Action::SetField { field: f1, .. }, Action::SetField { field: f2, .. }) => f1 == f2,
            (
                Action::Output { .. } | Action::OutputReg { .. } | Action::Controller(_),
                Action::Output { .. } | Action::OutputReg { .. } | Action::Controller(_),
            ) => true,
            _ => discriminant(a) == discriminant(&action),
        };
        self.action_set.retain(|a| !same(a));
        self.action_set.push(action);
    }

    fn execute_action_set(&mut self) {
        let mut set = std::mem::take(&mut self.action_set);
        set.sort_by_key(crate::action::action_set_order);
        // A group action in the set takes precedence over an output action (5.10).
        if set.iter().any(|a| matches!(a, Action::Group(_))) {
            set.retain(|a| !matches!(a, Action::Output { .. } | Action::OutputReg { .. }));
        }
        self.trace(|| "action set:".to_owned());
        self.do_actions(&set, false);
    }

    fn resubmit(&mut self, port: Option<PortNo>, table: u8) {
        self.resubmits += 1;
        if self.resubmits > MAX_RESUBMITS {
            self.out.error = Some(XlateError::TooManyResubmits);
            return;
        }
        let old_in_port = self.flow.get(Field::InPort);
        let old_overwritten = self.overwritten.get(Field::InPort);
        if let Some(p) = port {
            if p != PortNo::IN_PORT {
                self.flow.set(Field::InPort, u128::from(p.0));
                self.overwritten.set_all(Field::InPort);
            }
        }
        self.run_table(table, false);
        self.flow.set(Field::InPort, old_in_port);
        self.overwritten.set(Field::InPort, old_overwritten);
    }

    fn output(&mut self, port: PortNo, max_len: u16) {
        match port {
            PortNo::IN_PORT => {
                let p = PortNo(self.read(Field::InPort) as u16);
                self.output_port(p, true);
            }
            PortNo::NORMAL => self.normal(),
            PortNo::FLOOD | PortNo::ALL => self.flood(port == PortNo::ALL),
            PortNo::CONTROLLER => {
                let ca = ControllerAction { max_len, ..ControllerAction::default() };
                self.controller(&ca);
            }
            PortNo::TABLE => self.resubmit(None, 0),
            PortNo::NONE => {}
            p => self.output_port(p, false),
        }
    }

    fn flood(&mut self, all: bool) {
        let in_port = PortNo(self.read(Field::InPort) as u16);
        let ports: Vec<PortNo> = self
            .bridge()
            .ports
            .iter()
            .filter(|(no, info)| **no != in_port && (all || !info.no_flood) && !info.down)
            .map(|(no, _)| *no)
            .collect();
        for p in ports {
            self.output_port(p, false);
        }
    }

    /// Sends the packet out of an OpenFlow port of the current bridge (following patch ports).
    pub(crate) fn output_port(&mut self, port: PortNo, allow_in_port: bool) {
        if !allow_in_port && u128::from(port.0) == self.read(Field::InPort) {
            self.trace(|| format!("  skipping output to input port {port}"));
            return;
        }
        let Some(info) = self.bridge().ports.get(&port) else {
            self.trace(|| format!("  output to nonexistent port {port}"));
            return;
        };
        if info.no_fwd {
            return;
        }
        if let Some(cfg) = &info.tunnel {
            if let Some(dp) = info.dp_port {
                self.native_tunnel_output(cfg, dp);
            }
        } else if let Some((peer_bridge, peer_port)) = info.patch_peer {
            self.patch_output(peer_bridge, peer_port);
        } else if let Some(dp) = info.dp_port {
            self.commit();
            if self.terminate_native_tunnel(&info.name) {
                self.trace(|| "  tunnel termination: tnl_pop".to_owned());
                self.out.actions.push(DpAction::TunnelPop);
            } else {
                self.out.actions.push(DpAction::Output(dp));
            }
        }
    }

    /// Continues in the peer bridge as if the packet arrived on `peer_port` (Open vSwitch's
    /// `patch_port_output`): fresh metadata, registers and action set; the same packet.
    fn patch_output(&mut self, peer_bridge: usize, peer_port: PortNo) {
        if peer_bridge >= self.bridges.len() {
            return;
        }
        if self.depth >= MAX_DEPTH {
            self.out.error = Some(XlateError::TooDeep);
            return;
        }
        let saved = (
            self.flow,
            self.overwritten,
            self.bridge_idx,
            std::mem::take(&mut self.action_set),
            self.table_id,
            self.cookie,
            self.dropped,
        );
        for f in
            [Field::Metadata, Field::TunId, Field::TunSrc, Field::TunDst].into_iter().chain((0..8).map(Field::Xreg))
        {
            self.flow.set(f, 0);
            self.overwritten.set_all(f);
        }
        self.flow.set(Field::InPort, u128::from(peer_port.0));
        self.overwritten.set_all(Field::InPort);
        self.bridge_idx = peer_bridge;
        self.dropped = false;
        self.trace(|| format!("patch port to bridge {} port {peer_port}", self.bridges[peer_bridge].name));
        self.depth += 1;
        self.run_table(0, true);
        if self.out.error.is_none() && !self.action_set.is_empty() && !self.dropped {
            self.execute_action_set();
        }
        self.depth -= 1;
        let (flow, overwritten, bridge_idx, action_set, table_id, cookie, dropped) = saved;
        // Header changes the peer made were committed to the datapath packet; restoring the
        // pipeline's view means they must be undone before any later output.
        self.flow = flow;
        self.overwritten = overwritten;
        self.bridge_idx = bridge_idx;
        self.action_set = action_set;
        self.table_id = table_id;
        self.cookie = cookie;
        self.dropped = dropped;
        for w in crate::field::STAGE_ENDS[0]..crate::field::KEY_WORDS {
            self.pending.words[w] |= self.flow.words[w] ^ self.base.words[w];
        }
        self.vlan_dirty = true;
    }

    /// Translates a packet made here (an encapsulated frame, an ARP request) as if it arrived
    /// on `in_port` of bridge `bridge_idx` (Open vSwitch's nested `apply_nested_clone_actions`
    /// on the tunnel's output device): every bit of `key` is determined by the megaflow's own
    /// match, so nothing here widens the mask. Returns the datapath actions for that packet.
    pub(crate) fn translate_generated(&mut self, bridge_idx: usize, key: FlowKey) -> Vec<DpAction> {
        if self.depth >= MAX_DEPTH {
            self.out.error = Some(XlateError::TooDeep);
            return Vec::new();
        }
        let mut sub = Ctx::new(self.bridges, self.env, bridge_idx, key, self.now, self.tracing);
        sub.overwritten = FlowKey::EXACT;
        sub.depth = self.depth + 1;
        sub.resubmits = self.resubmits;
        sub.run_table(0, true);
        if sub.out.error.is_none() && !sub.action_set.is_empty() && !sub.dropped {
            sub.execute_action_set();
        }
        self.resubmits = sub.resubmits;
        if let Some(e) = sub.out.error {
            self.out.error = Some(e);
        }
        self.out.stats.append(&mut sub.out.stats);
        for e in sub.out.side_effects {
            self.side_effect(e);
        }
        self.out.trace.append(&mut sub.out.trace);
        sub.out.actions.into_vec()
    }

    fn controller(&mut self, ca: &ControllerAction) {
        self.commit();
        let mut metadata = vec![(Field::InPort, self.read(Field::InPort))];
        for f in [Field::Metadata, Field::TunId].into_iter().chain((0..16).map(Field::Reg)) {
            let v = self.read(f);
            if v != 0 {
                metadata.push((f, v));
            }
        }
        let pin = PacketIn {
            bridge: self.bridge_idx,
            reason: ca.reason,
            table_id: self.table_id,
            cookie: self.cookie,
            max_len: ca.max_len,
            controller_id: ca.controller_id,
            userdata: ca.userdata.clone(),
            metadata,
        };
        self.out.actions.push(DpAction::Userspace(Box::new(pin)));
    }

    fn group(&mut self, group_id: u32) {
        let bridge = self.bridge();
        let Some(group) = bridge.pipeline.groups().get(&group_id) else {
            return;
        };
        if self.depth >= MAX_DEPTH {
            self.out.error = Some(XlateError::TooDeep);
            return;
        }
        self.out.stats.push(Arc::clone(&group.stats));
        let buckets: Vec<&crate::flow_mod::Bucket> = match group.group_type {
            GroupType::All => group.buckets.iter().collect(),
            GroupType::Indirect => group.buckets.first().into_iter().collect(),
            GroupType::FastFailover => group
                .buckets
                .iter()
                .find(|b| b.watch_port == PortNo::NONE || bridge.ports.get(&b.watch_port).is_some_and(|p| !p.down))
                .into_iter()
                .collect(),
            GroupType::Select => self.select_bucket(&group.buckets).into_iter().collect(),
        };
        for bucket in buckets {
            // Each bucket sees the packet as it entered the group (Open vSwitch's xlate_group_bucket).
            let saved = (self.flow, self.overwritten, std::mem::take(&mut self.action_set));
            let mut set = bucket.actions.clone();
            set.sort_by_key(crate::action::action_set_order);
            self.depth += 1;
            self.do_actions(&set, false);
            self.depth -= 1;
            let (flow, overwritten, action_set) = saved;
            for w in crate::field::STAGE_ENDS[0]..crate::field::KEY_WORDS {
                self.pending.words[w] |= flow.words[w] ^ self.base.words[w];
            }
            self.vlan_dirty = true;
            self.flow = flow;
            self.overwritten = overwritten;
            self.action_set = action_set;
        }
    }

    /// Chooses a select group's bucket by a hash of the L2-L4 addresses, weighted.
    fn select_bucket<'b>(&mut self, buckets: &'b [crate::flow_mod::Bucket]) -> Option<&'b crate::flow_mod::Bucket> {
        let total: u32 = buckets.iter().map(|b| u32::from(b.weight)).sum();
        if total == 0 {
            return None;
        }
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for f in [Field::EthSrc, Field::EthDst, Field::EthType, Field::VlanVid] {
            h = (h ^ self.read(f) as u64).wrapping_mul(0x0100_0000_01b3);
        }
        if self.is_ip() {
            let v6 = self.read(Field::EthType) as u16 == ethertype::IPV6;
            let l3 = if v6 { [Field::Ipv6Src, Field::Ipv6Dst] } else { [Field::Ipv4Src, Field::Ipv4Dst] };
            for f in l3 {
                let v = self.read(f);
                h = (h ^ (v as u64) ^ ((v >> 64) as u64)).wrapping_mul(0x0100_0000_01b3);
            }
            let proto = self.read(Field::IpProto) as u8;
            if matches!(proto, ipproto::TCP | ipproto::UDP | ipproto::SCTP) {
                for f in [Field::TpSrc, Field::TpDst] {
                    h = (h ^ self.read(f) as u64).wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
        let mut pick = (h % u64::from(total)) as u32;
        buckets.iter().find(|b| {
            let w = u32::from(b.weight);
            if pick < w {
                true
            } else {
                pick -= w;
                false
            }
        })
    }

    fn learn_value(&mut self, src: &LearnSrc, dst: SubField) -> u128 {
        match src {
            LearnSrc::Imm(v) => *v & (dst.mask() >> dst.ofs),
            LearnSrc::Field(sf) => self.read_subfield(*sf),
        }
    }

    fn learn(&mut self, learn: &Learn) {
        // Open vSwitch learns with modify-strict semantics: add, or refresh an existing flow.
        let mut fm = FlowMod::add(learn.table_id, learn.priority, crate::flow_match::Match::ANY, Vec::new());
        fm.command = crate::flow_mod::FlowModCommand::ModifyStrict;
        fm.idle_timeout = learn.idle_timeout;
        fm.hard_timeout = learn.hard_timeout;
        fm.cookie = learn.cookie;
        fm.flags = learn.flags;
        for spec in &learn.specs {
            match spec {
                LearnSpec::Match { dst, src } => {
                    let v = self.learn_value(src, *dst);
                    let (cur_v, cur_m) = fm.match_.get(dst.field);
                    fm.match_.set_masked(dst.field, (cur_v & !dst.mask()) | (v << dst.ofs), cur_m | dst.mask());
                }
                LearnSpec::Load { dst, src } => {
                    let v = self.learn_value(src, *dst);
                    fm.actions.push(Action::SetField {
                        field: dst.field,
                        value: (v << dst.ofs) & dst.mask(),
                        mask: dst.mask(),
                    });
                }
                LearnSpec::Output { src } => {
                    let port = PortNo(self.read_subfield(*src) as u16);
                    fm.actions.push(Action::Output { port, max_len: 0 });
                }
            }
        }
        self.side_effect(SideEffect::Learn { bridge: self.bridge_idx, flow_mod: Box::new(fm) });
    }
}

/// Applies translation side effects to the bridges at `now`; returns whether forwarding state
/// changed (cached megaflows must then be revalidated).
pub fn apply_side_effects(bridges: &mut [Bridge], effects: &[SideEffect], now: Millis) -> bool {
    let mut changed = false;
    for e in effects {
        match e {
            SideEffect::MacLearn { bridge, vlan, mac, port } => {
                if let Some(b) = bridges.get_mut(*bridge) {
                    changed |= b.macs.learn(*vlan, *mac, *port, now);
                }
            }
            // Applied to the tunnel environment by [`apply_tunnel_side_effects`].
            SideEffect::NeighLearn { .. } => {}
            SideEffect::Learn { bridge, flow_mod } => {
                if let Some(b) = bridges.get_mut(*bridge) {
                    if b.pipeline.refresh_learned(flow_mod, now) {
                        continue;
                    }
                    match b.pipeline.apply_at(flow_mod, now, Some(flow_mod.cookie)) {
                        Ok(fx) => changed |= fx.changed > 0,
                        Err(err) => log::warn!("bridge {}: learned flow refused: {err}", b.name),
                    }
                }
            }
        }
    }
    changed
}

/// The datapath port a bridge's OpenFlow port transmits on, if any.
pub fn dp_port_of(bridges: &[Bridge], bridge: usize, port: PortNo) -> Option<DpPort> {
    bridges.get(bridge)?.ports.get(&port)?.dp_port
}

/// Applies the tunnel side effects (snooped neighbours) to the tunnel environment at `now`;
/// returns whether a lookup answer changed (cached megaflows must then be revalidated).
pub fn apply_tunnel_side_effects(env: &mut TunnelEnv, effects: &[SideEffect], now: Millis) -> bool {
    let mut changed = false;
    for e in effects {
        if let SideEffect::NeighLearn { bridge, ip, mac } = e {
            changed |= env.neigh.set(bridge, *ip, *mac, now);
        }
    }
    changed
}
