//! `ferrovs ofctl`: ovs-ofctl's flow commands run directly against the daemon's bridges
//! (add-flow, add-flows, mod-flows, del-flows, dump-flows, dump-ports, show), in ovs-ofctl's
//! syntax and with its output format.

use crate::switch::Runtime;
use datapath::pmd::PortCounters;
use flowtable::bridge::Bridge;
use flowtable::flow_mod::{FlowMod, FlowModCommand, GROUP_ANY, TABLE_ALL};
use flowtable::rule::Rule;
use flowtable::syntax::{format_flow_stats, parse_flow_mod, FlowStatsLine};
use flowtable::{DpPort, Match, PortNo};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, PoisonError};

fn bridge_index(rt: &Runtime, name: &str) -> Result<usize, String> {
    let state = rt.state.read().unwrap_or_else(PoisonError::into_inner);
    state.bridges.iter().position(|b| b.name == name).ok_or_else(|| format!("{name} is not a bridge or a socket"))
}

/// Splits leading `--strict` / `--bundle` style options from the words.
fn options(args: &[String]) -> (Vec<&str>, Vec<&String>) {
    let (opts, rest): (Vec<&String>, Vec<&String>) = args.iter().partition(|a| a.starts_with("--"));
    (opts.into_iter().map(String::as_str).collect(), rest)
}

/// Runs one ofctl command.
pub fn run(rt: &mut Runtime, args: &[String]) -> Result<String, String> {
    let (opts, words) = options(args);
    let strict = opts.contains(&"--strict");
    let bundle = opts.contains(&"--bundle");
    if let Some(bad) =
        opts.iter().find(|o| !matches!(**o, "--strict" | "--bundle" | "--sort" | "--no-names" | "--names"))
    {
        return Err(format!("unknown option '{bad}'"));
    }
    let Some((cmd, rest)) = words.split_first() else {
        return Err("missing command (add-flow, add-flows, mod-flows, del-flows, dump-flows, dump-ports, show)".into());
    };
    let Some(bridge) = rest.first() else {
        return Err(format!("'{cmd}' command requires a bridge argument"));
    };
    let idx = bridge_index(rt, bridge)?;
    let now = rt.now();
    let arg = rest.get(1).map(|s| s.as_str());
    match cmd.as_str() {
        "add-flow" | "mod-flows" | "del-flows" => {
            let command = match (cmd.as_str(), strict) {
                ("add-flow", _) => FlowModCommand::Add,
                ("mod-flows", false) => FlowModCommand::Modify,
                ("mod-flows", true) => FlowModCommand::ModifyStrict,
                (_, false) => FlowModCommand::Delete,
                (_, true) => FlowModCommand::DeleteStrict,
            };
            let text = match (command, arg) {
                (FlowModCommand::Delete, None) => "",
                (_, Some(t)) => t,
                (_, None) => return Err(format!("'{cmd}' command requires a flow argument")),
            };
            let mut fm = parse_flow_mod(text, command).map_err(|e| e.to_string())?;
            if matches!(command, FlowModCommand::Delete | FlowModCommand::DeleteStrict) && !text.contains("table=") {
                fm.table_id = TABLE_ALL;
            }
            apply(rt, idx, &[fm], false, now)?;
            Ok(String::new())
        }
        "add-flows" => {
            let text = arg.ok_or("'add-flows' command requires a file's contents")?;
            let mut mods = Vec::new();
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                mods.push(parse_flow_mod(line, FlowModCommand::Add).map_err(|e| format!("line {}: {e}", n + 1))?);
            }
            apply(rt, idx, &mods, bundle, now)?;
            Ok(String::new())
        }
        "dump-flows" => {
            let filter = match arg {
                Some(t) => parse_flow_mod(t, FlowModCommand::Delete).map_err(|e| e.to_string())?,
                None => FlowMod::new(FlowModCommand::Delete, Match::ANY),
            };
            let table = if arg.is_some_and(|t| t.contains("table=")) { filter.table_id } else { TABLE_ALL };
            let state = rt.state.read().unwrap_or_else(PoisonError::into_inner);
            Ok(dump_flows(&state.bridges[idx], table, &filter, now))
        }
        "show" => {
            let state = rt.state.read().unwrap_or_else(PoisonError::into_inner);
            Ok(show(&state.bridges[idx]))
        }
        "dump-ports" => {
            // pmd before state, as the poll thread takes them (a queued writer would deadlock).
            let pmd = rt.pmd.lock().unwrap_or_else(PoisonError::into_inner);
            let state = rt.state.read().unwrap_or_else(PoisonError::into_inner);
            Ok(dump_ports(&state.bridges[idx], &pmd.ports))
        }
        other => Err(format!("unknown ofctl command '{other}'")),
    }
}

fn apply(rt: &mut Runtime, idx: usize, mods: &[FlowMod], bundle: bool, now: u64) -> Result<(), String> {
    let mut state = rt.state.write().unwrap_or_else(PoisonError::into_inner);
    let pipeline = &mut state.bridges[idx].pipeline;
    if bundle {
        pipeline.apply_bundle(mods, now).map_err(|(i, e)| format!("flow {}: {e} (bundle discarded)", i + 1))?;
    } else {
        for (i, fm) in mods.iter().enumerate() {
            if let Err(e) = pipeline.apply(fm, now) {
                state.changed();
                return Err(if mods.len() > 1 { format!("flow {}: {e}", i + 1) } else { e.to_string() });
            }
        }
    }
    state.changed();
    Ok(())
}

/// One rule as a dump-flows line.
pub fn flow_line(rule: &Rule, now: u64) -> String {
    let ms_to_s = |ms: u64| ms / 1000;
    let line = FlowStatsLine {
        cookie: rule.cookie,
        duration_s: now.saturating_sub(rule.created) as f64 / 1000.0,
        table_id: rule.table_id,
        n_packets: rule.stats.packets(),
        n_bytes: rule.stats.bytes(),
        idle_timeout: rule.idle_timeout,
        hard_timeout: rule.hard_timeout,
        flags: rule.flags,
        importance: rule.importance,
        idle_age_s: Some(ms_to_s(now.saturating_sub(rule.stats.used()))),
        hard_age_s: Some(ms_to_s(now.saturating_sub(rule.modified()))),
        priority: rule.priority,
        match_: rule.match_(),
        actions: rule.actions.to_vec(),
    };
    format_flow_stats(&line)
}

/// `dump-flows`: every rule the filter covers, by table, then priority (highest first).
pub fn dump_flows(bridge: &Bridge, table: u8, filter: &FlowMod, now: u64) -> String {
    let mut rules: Vec<Arc<Rule>> =
        bridge.pipeline.select(table, &filter.match_, filter.cookie, filter.cookie_mask, filter.out_port, GROUP_ANY);
    rules.sort_by(|a, b| a.table_id.cmp(&b.table_id).then(b.priority.cmp(&a.priority)));
    let mut out = String::new();
    for r in rules {
        let _ = writeln!(out, "{}", flow_line(&r, now));
    }
    out
}

fn port_label(no: PortNo, name: &str) -> String {
    if no == PortNo::LOCAL {
        format!("LOCAL({name})")
    } else {
        format!("{}({name})", no.0)
    }
}

/// `show`: features and ports as ovs-ofctl prints them.
pub fn show(bridge: &Bridge) -> String {
    let mut out = String::new();
    let mac = crate::switch::mac_for(&bridge.name);
    let dpid: u64 = mac.iter().fold(0, |acc, b| (acc << 8) | u64::from(*b));
    let _ = writeln!(out, "OFPT_FEATURES_REPLY (xid=0x2): dpid:{dpid:016x}");
    let _ = writeln!(out, "n_tables:254, n_buffers:0");
    let _ = writeln!(out, "capabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP");
    let _ = writeln!(out, "actions: output enqueue set_vlan_vid set_vlan_pcp strip_vlan mod_dl_src mod_dl_dst mod_nw_src mod_nw_dst mod_nw_tos mod_tp_src mod_tp_dst");
    let mut ports: Vec<_> = bridge.ports.iter().collect();
    ports.sort_by_key(|(no, _)| if **no == PortNo::LOCAL { u32::MAX } else { u32::from(no.0) });
    for (no, info) in ports {
        let m = crate::switch::mac_for(&info.name);
        let _ = writeln!(
            out,
            " {}: addr:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            port_label(*no, &info.name),
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5]
        );
        let _ = writeln!(out, "     config:     {}", if info.down { "PORT_DOWN" } else { "0" });
        let _ = writeln!(out, "     state:      {}", if info.down { "LINK_DOWN" } else { "0" });
        let _ = writeln!(out, "     speed: 0 Mbps now, 0 Mbps max");
    }
    let _ = writeln!(out, "OFPT_GET_CONFIG_REPLY (xid=0x4): frags=normal miss_send_len=0");
    out
}

/// `dump-ports`: per-port counters of the datapath.
pub fn dump_ports(bridge: &Bridge, counters: &BTreeMap<DpPort, PortCounters>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "OFPST_PORT reply (xid=0x2): {} ports", bridge.ports.len());
    for (no, info) in &bridge.ports {
        let c = info.dp_port.and_then(|dp| counters.get(&dp)).copied().unwrap_or_default();
        let label = if *no == PortNo::LOCAL { "LOCAL".to_owned() } else { format!("{:>2}", no.0) };
        let _ = writeln!(
            out,
            "  port {label}: rx pkts={}, bytes={}, drop={}, errs={}, frame=0, over=0, crc=0",
            c.rx_packets, c.rx_bytes, c.rx_dropped, c.rx_errors
        );
        let _ = writeln!(
            out,
            "           tx pkts={}, bytes={}, drop={}, errs=0, coll=0",
            c.tx_packets, c.tx_bytes, c.tx_dropped
        );
    }
    out
}
