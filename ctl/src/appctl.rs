//! `ferrovs appctl`: the ovs-appctl commands for looking inside the switch:
//! `ofproto/trace BRIDGE FLOW`, `dpctl/dump-flows`, `dpctl/del-flows`, `pmd-stats-show`
//! (also `dpif-netdev/pmd-stats-show`), `fdb/show BRIDGE`, `dpif-netdev/upcall-rate [RATE [BURST]]`
//! (the per-port budget of cache misses translated per second), `dpif/offload [on|off|show]`
//! (the in-kernel XDP fast path), `upcall/disable-megaflows` / `upcall/enable-megaflows` (exact
//! megaflows, as Open vSwitch's), and for native tunnels
//! `tnl/arp/show`, `tnl/neigh/flush` and `ovs/route/show`.

use crate::switch::Runtime;
use flowtable::odp::DpAction;
use flowtable::syntax::{format_match, parse_match};
use flowtable::xlate::xlate_env;
use flowtable::{Field, FlowKey, Match, PortNo};
use std::fmt::Write as _;
use std::sync::PoisonError;

/// Formats datapath actions in Open vSwitch's ODP style (`push_vlan(vid=5,pcp=0),2`).
pub fn format_dp_actions(actions: &[DpAction]) -> String {
    if actions.is_empty() {
        return "drop".into();
    }
    let parts: Vec<String> = actions.iter().map(format_dp_action).collect();
    parts.join(",")
}

/// `header(size=..,type=3,eth(..),ipv4(..),gre((flags=..,proto=..),key=..))` as OVS prints a
/// `tnl_push` header.
fn format_tnl_header(h: &[u8]) -> String {
    let mac = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":");
    if h.len() < 38 {
        return format!("header(size={})", h.len());
    }
    let ip = |at: usize| std::net::Ipv4Addr::new(h[at], h[at + 1], h[at + 2], h[at + 3]);
    let flags = u16::from_be_bytes([h[34], h[35]]);
    let proto = u16::from_be_bytes([h[36], h[37]]);
    let mut gre = format!("gre((flags={flags:#x},proto={proto:#x})");
    let mut at = 38;
    if flags & 0x8000 != 0 {
        gre.push_str(",csum=0x0");
        at += 4;
    }
    if flags & 0x2000 != 0 && h.len() >= at + 4 {
        let _ = write!(gre, ",key={:#x}", u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]));
    }
    gre.push(')');
    format!(
        "header(size={},type=3,eth(dst={},src={},dl_type=0x0800),ipv4(src={},dst={},proto=47,tos={},ttl={},frag={:#x}),{gre})",
        h.len(),
        mac(&h[..6]),
        mac(&h[6..12]),
        ip(26),
        ip(30),
        // C's "%#x" (OVS's format) prints zero as "0".
        if h[15] == 0 { "0".to_owned() } else { format!("{:#x}", h[15]) },
        h[22],
        u16::from_be_bytes([h[20], h[21]])
    )
}

fn format_dp_action(a: &DpAction) -> String {
    match a {
        DpAction::Output(p) => p.0.to_string(),
        DpAction::PushVlan { tpid, tci } => {
            let tpid = if *tpid == 0x8100 { String::new() } else { format!("tpid=0x{tpid:04x},") };
            format!("push_vlan({tpid}vid={},pcp={})", tci & 0xfff, tci >> 13)
        }
        DpAction::PopVlan => "pop_vlan".into(),
        DpAction::SetMasked { field, value, mask } => {
            if *mask == field.max_value() {
                format!("set({field}={value:#x})")
            } else {
                format!("set({field}={value:#x}/{mask:#x})")
            }
        }
        DpAction::Userspace(p) => {
            format!("userspace(controller,reason={:?},table={},max_len={})", p.reason, p.table_id, p.max_len)
        }
        DpAction::TunnelPush(t) => format!(
            "clone(tnl_push(tnl_port({}),{}),{})",
            t.tnl_port.0,
            format_tnl_header(&t.header),
            format_dp_actions(&t.actions)
        ),
        DpAction::TunnelPop => "tnl_pop".into(),
        DpAction::Emit(e) => format!("emit(size={},{})", e.frame.len(), format_dp_actions(&e.actions)),
    }
}

fn bridge_index(rt: &Runtime, name: &str) -> Result<usize, String> {
    let state = rt.state.read().unwrap_or_else(PoisonError::into_inner);
    state.bridges.iter().position(|b| b.name == name).ok_or_else(|| format!("{name}: no such bridge"))
}

/// Runs one appctl command.
pub fn run(rt: &mut Runtime, args: &[String]) -> Result<String, String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err(
            "missing command (ofproto/trace, dpctl/dump-flows, dpctl/del-flows, pmd-stats-show, fdb/show)".into()
        );
    };
    let now = rt.now();
    let mut out = String::new();
    match cmd.as_str() {
        "ofproto/trace" => {
            let (Some(bridge), Some(flow)) = (rest.first(), rest.get(1)) else {
                return Err("usage: ofproto/trace BRIDGE FLOW".into());
            };
            let idx = bridge_index(rt, bridge)?;
            let (m, _) = parse_match(flow).map_err(|e| e.to_string())?;
            let key = m.value;
            let state = rt.state.read().unwrap_or_else(PoisonError::into_inner);
            let x = xlate_env(&state.bridges, &state.tunnels, idx, &key, now, true);
            let _ = writeln!(out, "Flow: {}", format_match(&Match { value: key, mask: nonzero_fields(&key) }, 0x8000));
            let _ = writeln!(out, "\nbridge(\"{bridge}\")\n-------------");
            for line in &x.trace {
                let _ = writeln!(out, " {line}");
            }
            let megaflow = Match { value: key.and(&x.wc), mask: x.wc };
            let _ = writeln!(out, "\nMegaflow: {}", format_match(&megaflow, 0x8000));
            if let Some(e) = x.error {
                let _ = writeln!(out, "Translation failed: {e:?}");
            }
            let _ = writeln!(out, "Datapath actions: {}", format_dp_actions(&x.actions));
        }
        "dpctl/dump-flows" => {
            // Lock order as the poll thread's: pmd, then state.
            let pmd = rt.pmd.lock().unwrap_or_else(PoisonError::into_inner);
            let state = rt.state.read().unwrap_or_else(PoisonError::into_inner);
            for (b, mf) in pmd.megaflows() {
                let name = state.bridges.get(b).map_or("?", |br| br.name.as_str());
                let used = if mf.used() == 0 { "never".to_owned() } else { format!("{:.3}s", now.saturating_sub(mf.used()) as f64 / 1000.0) };
                let m = Match { value: mf.key, mask: mf.mask };
                // As Open vSwitch marks flows its offload provider carries ("offloaded:yes, dp:tc").
                let entries = mf.xdp_entries.load(std::sync::atomic::Ordering::Relaxed);
                let offloaded = if entries > 0 { format!(", offloaded:yes, dp:xdp({entries})") } else { String::new() };
                let _ = writeln!(
                    out,
                    "bridge({name}),{}, packets:{}, bytes:{}, used:{used}{offloaded}, actions:{}",
                    format_match(&m, 0x8000),
                    mf.packets(),
                    mf.bytes(),
                    format_dp_actions(&mf.actions)
                );
            }
        }
        "tnl/arp/show" | "tnl/neigh/show" => {
            let state = rt.state.read().unwrap_or_else(PoisonError::into_inner);
            out = state.tunnels.neigh.show();
        }
        "tnl/neigh/flush" | "tnl/arp/flush" => {
            let mut state = rt.state.write().unwrap_or_else(PoisonError::into_inner);
            if state.tunnels.neigh.flush() {
                state.changed();
            }
            out = "OK\n".into();
        }
        "ovs/route/show" => {
            let state = rt.state.read().unwrap_or_else(PoisonError::into_inner);
            out = state.tunnels.routes.show();
        }
        "dpctl/del-flows" => {
            rt.pmd.lock().unwrap_or_else(PoisonError::into_inner).flush(now);
            // In-kernel entries go with the megaflows they carry.
            rt.state.write().unwrap_or_else(PoisonError::into_inner).changed();
        }
        "dpif/offload" => {
            let on = match rest.first().map(String::as_str) {
                Some("on") => Some(true),
                Some("off") => Some(false),
                Some("show") | None => None,
                Some(other) => return Err(format!("usage: dpif/offload [on|off|show] (not \"{other}\")")),
            };
            if let Some(on) = on {
                let mut state = rt.state.write().unwrap_or_else(PoisonError::into_inner);
                state.offload_on = on;
                state.changed();
            }
            let pmd = rt.pmd.lock().unwrap_or_else(PoisonError::into_inner);
            let state = rt.state.read().unwrap_or_else(PoisonError::into_inner);
            let o = &pmd.offload;
            let _ = writeln!(out, "XDP fast path: {}", if state.offload_on { "on" } else { "off" });
            let _ = writeln!(out, "  entries: {}", o.len());
            let _ = writeln!(
                out,
                "  installed: {}, refused by the kernel: {}, removed: {}",
                o.stats.installs, o.stats.install_failures, o.stats.removals
            );
            let _ = writeln!(out, "  packets: {}, bytes: {}", o.stats.packets, o.stats.bytes);
            let _ = writeln!(out, "  mask slots reordered by hits: {} time(s)", o.stats.mask_reorders);
            for (dp, p) in &o.ports {
                let name = state
                    .ports
                    .get(dp)
                    .and_then(|(b, of)| state.bridges.get(*b)?.ports.get(of))
                    .map_or_else(|| format!("dp port {}", dp.0), |pi| pi.name.clone());
                let _ = writeln!(
                    out,
                    "  {name}: ifindex {}, XDP {}, {}",
                    p.ifindex,
                    if p.native { "native" } else { "generic" },
                    if p.ndo_xmit { "takes redirected frames" } else { "does not take redirected frames (ndo_xdp_xmit off)" }
                );
            }
        }
        "dpif-netdev/upcall-rate" => {
            let parse = |v: Option<&String>, what: &str| -> Result<Option<u64>, String> {
                v.map(|t| t.parse::<u64>().map_err(|_| format!("{what} \"{t}\" is not a number"))).transpose()
            };
            let rate = parse(rest.first(), "rate")?;
            let burst = parse(rest.get(1), "burst")?;
            let mut pmd = rt.pmd.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(rate) = rate {
                let burst = burst.unwrap_or(datapath::upcall_limit::DEFAULT_BURST);
                pmd.upcall_limit = datapath::upcall_limit::UpcallLimiter::new(rate, burst);
            }
            let _ = writeln!(out, "upcall rate limit: {} per second per port (0: unlimited)", pmd.upcall_limit.rate());
        }
        "upcall/disable-megaflows" | "upcall/enable-megaflows" => {
            let mut pmd = rt.pmd.lock().unwrap_or_else(PoisonError::into_inner);
            pmd.flush(now);
            pmd.megaflows_enabled = cmd == "upcall/enable-megaflows";
            drop(pmd);
            rt.state.write().unwrap_or_else(PoisonError::into_inner).changed();
            out = format!("megaflows {}\n", if cmd == "upcall/enable-megaflows" { "enabled" } else { "disabled" });
        }
        "dpif/caches" => {
            let on = match rest.first().map(String::as_str) {
                Some("on") => true,
                Some("off") => false,
                _ => return Err("usage: dpif/caches on|off".into()),
            };
            let mut pmd = rt.pmd.lock().unwrap_or_else(PoisonError::into_inner);
            pmd.flush(now);
            pmd.caches_enabled = on;
            drop(pmd);
            // Without caches nothing is offloaded either: retire the in-kernel entries.
            rt.state.write().unwrap_or_else(PoisonError::into_inner).changed();
        }
        "pmd-stats-show" | "dpif-netdev/pmd-stats-show" => {
            let pmd = rt.pmd.lock().unwrap_or_else(PoisonError::into_inner);
            let s = pmd.stats;
            let pct = |n: u64| if s.packets == 0 { 0.0 } else { n as f64 * 100.0 / s.packets as f64 };
            let _ = writeln!(out, "pmd thread numa_id 0 core_id 0:");
            let _ = writeln!(out, "  packets received: {}", s.packets);
            let _ = writeln!(out, "  packet recirculations: {}", s.recirculations);
            let passes = if s.packets == 0 { 0.0 } else { (s.packets + s.recirculations) as f64 / s.packets as f64 };
            let _ = writeln!(out, "  avg. datapath passes per packet: {passes:.2}");
            let _ = writeln!(out, "  emc hits: {} ({:.1} %)", s.emc_hits, pct(s.emc_hits));
            let _ = writeln!(out, "  megaflow hits: {} ({:.1} %)", s.megaflow_hits, pct(s.megaflow_hits));
            let _ = writeln!(out, "  miss with success upcall: {} ({:.1} %)", s.upcalls, pct(s.upcalls));
            let _ = writeln!(out, "  miss with failed upcall: {} ({:.1} %)", s.upcalls_limited, pct(s.upcalls_limited));
            let _ = writeln!(out, "  packets from unknown ports: {}", s.lost);
            let _ = writeln!(out, "  malformed frames dropped: {}", s.malformed);
            let _ = writeln!(out, "  megaflows not cached (cache full): {}", s.not_cached);
            let _ = writeln!(out, "  revalidations: {}", s.revalidations);
            let o = pmd.offload.stats;
            let _ = writeln!(out, "  XDP fast path: {} packets in {} entries", o.packets, pmd.offload.len());
        }
        "fdb/show" => {
            let Some(bridge) = rest.first() else {
                return Err("usage: fdb/show BRIDGE".into());
            };
            let idx = bridge_index(rt, bridge)?;
            let state = rt.state.read().unwrap_or_else(PoisonError::into_inner);
            let _ = writeln!(out, " port  VLAN  MAC                Age");
            let mut entries: Vec<_> = state.bridges[idx].macs.entries().collect();
            entries.sort_by_key(|((vlan, mac), _)| (*vlan, *mac));
            for ((vlan, mac), e) in entries {
                let b = mac.to_be_bytes();
                let port = if e.port == PortNo::LOCAL { "LOCAL".to_owned() } else { e.port.0.to_string() };
                let _ = writeln!(
                    out,
                    "{port:>5}  {vlan:>4}  {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}  {:>3}",
                    b[2],
                    b[3],
                    b[4],
                    b[5],
                    b[6],
                    b[7],
                    now.saturating_sub(e.seen) / 1000
                );
            }
        }
        other => return Err(format!("\"{other}\" is not a valid command (ofproto/trace, dpctl/dump-flows, dpctl/del-flows, dpif/caches, dpif/offload, upcall/disable-megaflows, upcall/enable-megaflows, pmd-stats-show, fdb/show, tnl/arp/show, tnl/neigh/flush, ovs/route/show)")),
    }
    Ok(out)
}

/// A mask with every field that is non-zero in `key` (to print a packet's key as a flow).
fn nonzero_fields(key: &FlowKey) -> FlowKey {
    let mut mask = FlowKey::ZERO;
    for f in Field::all() {
        if key.get(f) != 0
            && !matches!(f, Field::Xreg(_) | Field::VlanVid | Field::VlanPcp | Field::IpDscp | Field::IpEcn)
        {
            mask.set_all(f);
        }
    }
    mask
}
