//! The switch's answers to OpenFlow requests: features, descriptions and statistics read from
//! the bridges and the poll thread's counters; flow, group, port and table modifications
//! applied to the pipeline (a change bumps the switch generation, so cached megaflows are
//! revalidated before the next packet); PACKET_OUT translated and executed as the poll thread
//! does for received packets.

use super::Shared;
use datapath::poll::AgentEvent;
use flowtable::bridge::Bridge;
use flowtable::flow_mod::{GROUP_ALL, TABLE_ALL};
use flowtable::odp::PacketIn as DpPacketIn;
use flowtable::odp_exec::{execute, DpSink};
use flowtable::pipeline::{FlowModError, ModEffects};
use flowtable::rule::RemovedReason;
use flowtable::rule::Rule;
use flowtable::xlate::{apply_side_effects, xlate_actions};
use flowtable::{DpPort, Field, Match, PortNo};
use ofagent::codec::table_features::standard_table;
use ofagent::conn::{Refusal, SwitchRequest};
use ofagent::msg::{
    AggregateStats, DescStats, FlowRemoved, FlowStats, FlowStatsRequest, GroupDesc, GroupFeatures, GroupStats, Message,
    MeterFeatures, PortDesc, PortStats, StatsReply, StatsRequest, SwitchFeatures, TableStats,
};
use ofagent::OFP10_VERSION;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

/// Tables reported (Open vSwitch: 254; table 254 is hidden).
pub const N_TABLES: u8 = 254;

/// OFPPC_PORT_DOWN.
pub const OFPPC_PORT_DOWN: u32 = 1 << 0;
/// OFPPC_NO_FLOOD (OpenFlow 1.0).
pub const OFPPC_NO_FLOOD: u32 = 1 << 4;
/// OFPPC_NO_FWD.
pub const OFPPC_NO_FWD: u32 = 1 << 5;
/// OFPPS_LINK_DOWN.
pub const OFPPS_LINK_DOWN: u32 = 1 << 0;
/// OFPPS_LIVE (OpenFlow 1.3).
pub const OFPPS_LIVE: u32 = 1 << 2;

/// The datapath id of a bridge: its MAC address (as `ferrovs ofctl show` prints it).
pub fn datapath_id(bridge: &str) -> u64 {
    crate::switch::mac_for(bridge).iter().fold(0, |acc, b| (acc << 8) | u64::from(*b))
}

/// Every port of a bridge as `ofp_port`, by port number.
pub fn port_descs(bridge: &Bridge) -> BTreeMap<PortNo, PortDesc> {
    bridge
        .ports
        .iter()
        .map(|(no, info)| {
            let mut config = 0;
            if info.down {
                config |= OFPPC_PORT_DOWN;
            }
            if info.no_flood {
                config |= OFPPC_NO_FLOOD;
            }
            if info.no_fwd {
                config |= OFPPC_NO_FWD;
            }
            let d = PortDesc {
                port_no: *no,
                hw_addr: crate::switch::mac_for(&info.name),
                name: info.name.chars().take(ofagent::codec::MAX_PORT_NAME).collect(),
                config,
                state: if info.down { OFPPS_LINK_DOWN } else { 0 },
                ..PortDesc::default()
            };
            (*no, d)
        })
        .collect()
}

/// Carries out one request on `bridge` for a connection speaking `version`.
pub fn handle(shared: &Shared, bridge: &str, version: u8, req: &SwitchRequest) -> Result<Vec<Message>, Refusal> {
    let now = (shared.clock)();
    match req {
        SwitchRequest::Features => {
            let state = shared.state.read().unwrap_or_else(PoisonError::into_inner);
            let b = find(&state.bridges, bridge)?;
            let (capabilities, actions) = if version == OFP10_VERSION { (0xc7, 0xfff) } else { (0x4f, 0) };
            let ports =
                if version == OFP10_VERSION { port_descs(&state.bridges[b]).into_values().collect() } else { vec![] };
            Ok(vec![Message::FeaturesReply(SwitchFeatures {
                datapath_id: datapath_id(bridge),
                n_buffers: 0,
                n_tables: N_TABLES,
                auxiliary_id: 0,
                capabilities,
                actions,
                ports,
            })])
        }
        SwitchRequest::FlowMod(fm) => {
            let effects = modify(shared, bridge, |b| b.pipeline.apply(fm, now)).map_err(Refusal::FlowMod)?;
            send_removed(shared, bridge, &effects);
            Ok(vec![])
        }
        SwitchRequest::Bundle { mods, .. } => {
            let effects = modify(shared, bridge, |b| b.pipeline.apply_bundle(mods, now).map_err(|(_, e)| e))
                .map_err(|_| Refusal::BundleMsgFailed)?;
            send_removed(shared, bridge, &effects);
            Ok(vec![])
        }
        SwitchRequest::GroupMod(gm) => {
            let effects = modify(shared, bridge, |b| b.pipeline.apply_group(gm, now)).map_err(Refusal::GroupMod)?;
            send_removed(shared, bridge, &effects);
            Ok(vec![])
        }
        SwitchRequest::PacketOut(po) => {
            packet_out(shared, bridge, po, now)?;
            Ok(vec![])
        }
        SwitchRequest::PortMod(pm) => {
            let mut state = shared.state.write().unwrap_or_else(PoisonError::into_inner);
            let b = find(&state.bridges, bridge)?;
            let info = state.bridges[b].ports.get_mut(&pm.port_no).ok_or(Refusal::BadPort)?;
            if pm.hw_addr != crate::switch::mac_for(&info.name) && pm.hw_addr != [0; 6] {
                return Err(Refusal::BadHwAddr);
            }
            let set = |bit: u32, cur: bool| if pm.mask & bit != 0 { pm.config & bit != 0 } else { cur };
            info.down = set(OFPPC_PORT_DOWN, info.down);
            if version == OFP10_VERSION {
                info.no_flood = set(OFPPC_NO_FLOOD, info.no_flood);
            }
            info.no_fwd = set(OFPPC_NO_FWD, info.no_fwd);
            state.changed();
            Ok(vec![])
        }
        SwitchRequest::TableMod { table_id, .. } => {
            // Open vSwitch accepts and ignores the OpenFlow 1.1-1.3 miss bits.
            if *table_id != TABLE_ALL && *table_id >= N_TABLES {
                return Err(Refusal::BadTable);
            }
            Ok(vec![])
        }
        SwitchRequest::Stats(s) => stats(shared, bridge, version, s),
        // Roles need every connection of the bridge: the hub answers them.
        SwitchRequest::Role(_) => Err(Refusal::Eperm),
    }
}

fn find(bridges: &[Bridge], name: &str) -> Result<usize, Refusal> {
    bridges.iter().position(|b| b.name == name).ok_or(Refusal::Eperm)
}

/// Applies a change to one bridge under the write lock; any change invalidates the caches.
fn modify(
    shared: &Shared,
    bridge: &str,
    f: impl FnOnce(&mut Bridge) -> Result<ModEffects, FlowModError>,
) -> Result<ModEffects, FlowModError> {
    let mut state = shared.state.write().unwrap_or_else(PoisonError::into_inner);
    let Some(b) = state.bridges.iter().position(|b| b.name == bridge) else {
        return Err(FlowModError::BadAction(format!("bridge {bridge} is gone")));
    };
    let effects = f(&mut state.bridges[b])?;
    if effects.changed > 0 || !effects.removed.is_empty() {
        state.changed();
    }
    Ok(effects)
}

/// Queues FLOW_REMOVED for deleted flows that asked for it.
fn send_removed(shared: &Shared, bridge: &str, effects: &ModEffects) {
    if effects.removed.iter().any(|r| r.rule.send_flow_rem()) {
        let idx = {
            let state = shared.state.read().unwrap_or_else(PoisonError::into_inner);
            state.bridges.iter().position(|b| b.name == bridge)
        };
        if let Some(i) = idx {
            let _ = shared.agent_tx.try_send(AgentEvent::FlowsRemoved(i, effects.removed.clone()));
        }
    }
}

/// A removed rule as OFPT_FLOW_REMOVED.
pub fn flow_removed(r: &flowtable::rule::RemovedRule) -> FlowRemoved {
    let dur = r.at.saturating_sub(r.rule.created);
    FlowRemoved {
        cookie: r.rule.cookie,
        priority: r.rule.priority,
        reason: match r.reason {
            RemovedReason::IdleTimeout => 0,
            RemovedReason::HardTimeout => 1,
            RemovedReason::Delete => 2,
            RemovedReason::GroupDelete => 3,
        },
        table_id: r.rule.table_id,
        duration_sec: (dur / 1000) as u32,
        duration_nsec: ((dur % 1000) * 1_000_000) as u32,
        idle_timeout: r.rule.idle_timeout,
        hard_timeout: r.rule.hard_timeout,
        packet_count: r.rule.stats.packets(),
        byte_count: r.rule.stats.bytes(),
        match_: r.rule.match_(),
    }
}

/// Transmits through the open devices and hands packet-ins to the agent.
struct OutSink<'a> {
    netdevs: &'a mut crate::switch::Netdevs,
    tx: BTreeMap<DpPort, (u64, u64)>,
    pins: Vec<(DpPacketIn, Vec<u8>)>,
}

impl DpSink for OutSink<'_> {
    fn output(&mut self, port: DpPort, frame: &[u8]) {
        if let Some(dev) = self.netdevs.get_mut(&port) {
            if let Err(e) = dev.send(frame) {
                log::debug!("{}: packet-out send: {e}", dev.name());
            }
            let c = self.tx.entry(port).or_default();
            c.0 += 1;
            c.1 += frame.len() as u64;
        }
    }

    fn userspace(&mut self, packet_in: &DpPacketIn, frame: &[u8]) {
        self.pins.push((packet_in.clone(), frame.to_vec()));
    }
}

fn packet_out(shared: &Shared, bridge: &str, po: &ofagent::msg::PacketOut, now: u64) -> Result<(), Refusal> {
    let x = {
        let state = shared.state.read().unwrap_or_else(PoisonError::into_inner);
        let b = find(&state.bridges, bridge)?;
        let key = flowtable::extract::flow_extract(&po.data, po.in_port);
        xlate_actions(&state.bridges, &state.tunnels, b, &key, &po.actions, now)
    };
    let mut frame = po.data.clone();
    let pins = {
        let mut netdevs = shared.netdevs.lock().unwrap_or_else(PoisonError::into_inner);
        let mut sink = OutSink { netdevs: &mut netdevs, tx: BTreeMap::new(), pins: Vec::new() };
        execute(&mut frame, &x.actions, &mut sink);
        let tx = std::mem::take(&mut sink.tx);
        let pins = std::mem::take(&mut sink.pins);
        for p in tx.keys() {
            if let Some(dev) = netdevs.get_mut(p) {
                let _ = dev.flush();
            }
        }
        drop(netdevs);
        let mut pmd = shared.pmd.lock().unwrap_or_else(PoisonError::into_inner);
        for (p, (packets, bytes)) in tx {
            let c = pmd.ports.entry(p).or_default();
            c.tx_packets += packets;
            c.tx_bytes += bytes;
        }
        pins
    };
    for (pin, frame) in pins {
        let _ = shared.agent_tx.try_send(AgentEvent::PacketIn(Box::new(pin), frame));
    }
    if !x.side_effects.is_empty() {
        let mut state = shared.state.write().unwrap_or_else(PoisonError::into_inner);
        if apply_side_effects(&mut state.bridges, &x.side_effects, now) {
            state.changed();
        }
    }
    Ok(())
}

fn stats(shared: &Shared, bridge: &str, version: u8, req: &StatsRequest) -> Result<Vec<Message>, Refusal> {
    let now = (shared.clock)();
    // The poll thread takes the pmd lock before the state lock: never the other way round.
    let counters = if matches!(req, StatsRequest::Port(_)) {
        shared.pmd.lock().unwrap_or_else(PoisonError::into_inner).ports.clone()
    } else {
        BTreeMap::new()
    };
    let state = shared.state.read().unwrap_or_else(PoisonError::into_inner);
    let b = find(&state.bridges, bridge)?;
    let bridge = &state.bridges[b];
    let reply = match req {
        StatsRequest::Desc => StatsReply::Desc(Box::new(DescStats {
            mfr_desc: "ferrovs".into(),
            hw_desc: "ferrovs userspace switch".into(),
            sw_desc: env!("CARGO_PKG_VERSION").into(),
            serial_num: "None".into(),
            dp_desc: bridge.name.clone(),
        })),
        StatsRequest::PortDesc => {
            StatsReply::PortDesc { ports: port_descs(bridge).into_values().collect(), more: false }
        }
        StatsRequest::Flow(f) => {
            let mut flows: Vec<FlowStats> = select(bridge, f).iter().map(|r| flow_stats(r, now)).collect();
            // One flow the codec cannot express in this version must not fail the whole dump.
            flows.retain(|fs| {
                let ok = if version == OFP10_VERSION {
                    ofagent::codec::actions10::encode_action_list(&fs.actions).is_ok()
                } else {
                    ofagent::codec::actions13::encode_instruction_list(&fs.actions).is_ok()
                };
                if !ok {
                    log::warn!(
                        "{}: flow stats: a flow's actions have no encoding in this version; left out",
                        bridge.name
                    );
                }
                ok
            });
            StatsReply::Flow { flows, nx: f.nx, more: false }
        }
        StatsRequest::Aggregate(f) => {
            let rules = select(bridge, f);
            let stats = AggregateStats {
                packet_count: rules.iter().map(|r| r.stats.packets()).sum(),
                byte_count: rules.iter().map(|r| r.stats.bytes()).sum(),
                flow_count: u32::try_from(rules.len()).unwrap_or(u32::MAX),
            };
            StatsReply::Aggregate { stats, nx: f.nx }
        }
        StatsRequest::Table => {
            let tables = bridge
                .pipeline
                .tables()
                .take(usize::from(N_TABLES))
                .map(|(id, t)| TableStats {
                    table_id: id,
                    name: t.name.clone().unwrap_or_else(|| {
                        if id == 0 {
                            "classifier".into()
                        } else {
                            format!("table{id}")
                        }
                    }),
                    wildcards: if version == OFP10_VERSION { 0x003f_ffff } else { 0 },
                    max_entries: u32::try_from(t.max_flows).unwrap_or(u32::MAX),
                    active_count: u32::try_from(t.cls.len()).unwrap_or(u32::MAX),
                    lookup_count: t.lookups.load(Ordering::Relaxed),
                    matched_count: t.matched.load(Ordering::Relaxed),
                })
                .collect();
            StatsReply::Table { tables, more: false }
        }
        StatsRequest::Port(port) => {
            let ports = bridge
                .ports
                .iter()
                .filter(|(no, _)| *port == PortNo::NONE || *no == port)
                .map(|(no, info)| {
                    let c = info.dp_port.and_then(|dp| counters.get(&dp)).copied().unwrap_or_default();
                    PortStats {
                        port_no: *no,
                        rx_packets: c.rx_packets,
                        tx_packets: c.tx_packets,
                        rx_bytes: c.rx_bytes,
                        tx_bytes: c.tx_bytes,
                        tx_dropped: c.tx_dropped,
                        ..PortStats::default()
                    }
                })
                .collect();
            StatsReply::Port { ports, more: false }
        }
        StatsRequest::Queue { .. } => StatsReply::Queue { queues: vec![], more: false },
        StatsRequest::Group(id) => {
            let groups = bridge
                .pipeline
                .groups()
                .values()
                .filter(|g| *id == GROUP_ALL || g.group_id == *id)
                .map(|g| {
                    let age = now.saturating_sub(g.created);
                    let refs = bridge.pipeline.select(TABLE_ALL, &Match::ANY, 0, 0, PortNo::NONE, g.group_id).len();
                    GroupStats {
                        group_id: g.group_id,
                        ref_count: u32::try_from(refs).unwrap_or(u32::MAX),
                        packet_count: g.stats.packets(),
                        byte_count: g.stats.bytes(),
                        duration_sec: (age / 1000) as u32,
                        duration_nsec: ((age % 1000) * 1_000_000) as u32,
                        buckets: g.buckets.iter().map(|_| (0, 0)).collect(),
                    }
                })
                .collect();
            StatsReply::Group { groups, more: false }
        }
        StatsRequest::GroupDesc => {
            let groups = bridge
                .pipeline
                .groups()
                .values()
                .map(|g| GroupDesc { group_type: g.group_type, group_id: g.group_id, buckets: g.buckets.clone() })
                .collect();
            StatsReply::GroupDesc { groups, more: false }
        }
        StatsRequest::GroupFeatures => StatsReply::GroupFeatures(GroupFeatures {
            types: 0xf,
            capabilities: 0x7,
            max_groups: [0xffff_ff00; 4],
            actions: [0x03ff_ffff; 4],
        }),
        StatsRequest::Meter(_) => StatsReply::Meter { meters: vec![], more: false },
        StatsRequest::MeterConfig(_) => StatsReply::MeterConfig { meters: vec![], more: false },
        StatsRequest::MeterFeatures => StatsReply::MeterFeatures(MeterFeatures::default()),
        StatsRequest::TableFeatures(_) => {
            let tables = (0..N_TABLES)
                .map(|id| {
                    let max = bridge.pipeline.table(id).map_or(0, |t| u32::try_from(t.max_flows).unwrap_or(u32::MAX));
                    standard_table(id, N_TABLES, max)
                })
                .collect();
            StatsReply::TableFeatures { tables, more: false }
        }
    };
    Ok(vec![Message::StatsReply(reply)])
}

/// Rules a flow/aggregate stats request selects, by table then priority (highest first).
fn select(bridge: &Bridge, f: &FlowStatsRequest) -> Vec<Arc<Rule>> {
    let mut rules = bridge.pipeline.select(f.table_id, &f.match_, f.cookie, f.cookie_mask, f.out_port, f.out_group);
    rules.retain(|r| usize::from(r.table_id) < usize::from(N_TABLES));
    rules.sort_by(|a, b| a.table_id.cmp(&b.table_id).then(b.priority.cmp(&a.priority)));
    rules
}

/// A rule as a flow stats entry at `now`.
pub fn flow_stats(r: &Rule, now: u64) -> FlowStats {
    let age = now.saturating_sub(r.created);
    let secs = |ms: u64| u16::try_from(ms / 1000).unwrap_or(u16::MAX);
    FlowStats {
        table_id: r.table_id,
        duration_sec: (age / 1000) as u32,
        duration_nsec: ((age % 1000) * 1_000_000) as u32,
        priority: r.priority,
        idle_timeout: r.idle_timeout,
        hard_timeout: r.hard_timeout,
        flags: r.flags,
        cookie: r.cookie,
        packet_count: r.stats.packets(),
        byte_count: r.stats.bytes(),
        idle_age: Some(secs(now.saturating_sub(r.stats.used()))),
        hard_age: Some(secs(now.saturating_sub(r.modified()))),
        match_: r.match_(),
        actions: r.actions.to_vec(),
    }
}

/// The OpenFlow match of a packet-in's pipeline metadata (in_port, metadata, tunnel, regs).
pub fn packet_in_match(pin: &DpPacketIn) -> Match {
    let mut m = Match::ANY;
    for (f, v) in &pin.metadata {
        if *f == Field::InPort || *v != 0 {
            m.set(*f, *v);
        }
    }
    m
}
