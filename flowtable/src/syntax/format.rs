//! Printing matches and dump-flows lines the way Open vSwitch 3.1's `match_format` and
//! `ofputil_flow_stats_format` do: priority first, protocol shorthand (`tcp`, `arp`, ...),
//! registers, tunnel, metadata, in_port, VLAN, Ethernet, L3, L4, then `actions=`.

use super::actions::format_actions;
use super::matching::TCP_FLAG_NAMES;
use super::names::Style;
use super::values::{format_ip_masked, format_mac};
use crate::action::Action;
use crate::field::{ethertype, ipproto, Field, FRAG_ANY, FRAG_LATER, VLAN_CFI, VLAN_PCP_MASK, VLAN_VID_MASK};
use crate::flow_match::Match;
use crate::flow_mod::flags;
use crate::port::PortNo;
use std::fmt::Write as _;

/// Everything one `dump-flows` line shows.
#[derive(Debug, Clone)]
pub struct FlowStatsLine {
    /// Cookie.
    pub cookie: u64,
    /// Seconds since the flow was added.
    pub duration_s: f64,
    /// Table.
    pub table_id: u8,
    /// Packets.
    pub n_packets: u64,
    /// Bytes.
    pub n_bytes: u64,
    /// Idle timeout (0: none).
    pub idle_timeout: u16,
    /// Hard timeout (0: none).
    pub hard_timeout: u16,
    /// Flow-mod flags.
    pub flags: u16,
    /// Importance.
    pub importance: u16,
    /// Seconds since last use (Nicira flow stats only).
    pub idle_age_s: Option<u64>,
    /// Seconds since last modification (Nicira flow stats only).
    pub hard_age_s: Option<u64>,
    /// Priority.
    pub priority: u16,
    /// Match.
    pub match_: Match,
    /// Actions.
    pub actions: Vec<Action>,
}

fn hex_masked(out: &mut String, name: &str, v: u128, m: u128, full: u128) {
    if m == 0 {
        return;
    }
    if v == 0 {
        let _ = write!(out, "{name}=0");
    } else {
        let _ = write!(out, "{name}={v:#x}");
    }
    if m != full {
        let _ = write!(out, "/{m:#x}");
    }
    out.push(',');
}

fn dec_masked(out: &mut String, name: &str, v: u128, m: u128, full: u128) {
    if m == 0 {
        return;
    }
    if m == full {
        let _ = write!(out, "{name}={v}");
    } else {
        let _ = write!(out, "{name}={v:#x}/{m:#x}");
    }
    out.push(',');
}

fn mac_masked(out: &mut String, name: &str, v: u128, m: u128) {
    if m == 0 {
        return;
    }
    let _ = write!(out, "{name}={}", format_mac(v));
    if m != 0xffff_ffff_ffff {
        let _ = write!(out, "/{}", format_mac(m));
    }
    out.push(',');
}

fn ip_masked(out: &mut String, name: &str, style: Style, v: u128, m: u128, bits: u32) {
    if m != 0 {
        let _ = write!(out, "{name}={},", format_ip_masked(style, v, m, bits));
    }
}

/// Prints a match with its priority (omitted when it is the default 32768).
pub fn format_match(m: &Match, priority: u16) -> String {
    let mut s = String::new();
    if priority != 0x8000 {
        let _ = write!(s, "priority={priority},");
    }
    let get = |f: Field| m.get(f);
    let (dl_type, dl_type_mask) = get(Field::EthType);
    let (proto, proto_mask) = get(Field::IpProto);
    let exact_type = dl_type_mask == 0xffff;
    let exact_proto = proto_mask == 0xff;
    let (mut skip_type, mut skip_proto) = (false, false);
    if exact_type {
        skip_type = true;
        let v6 = dl_type == u128::from(ethertype::IPV6);
        if dl_type == u128::from(ethertype::IPV4) || v6 {
            let name = match (exact_proto, proto as u8) {
                (true, ipproto::ICMP) if !v6 => Some("icmp"),
                (true, ipproto::ICMPV6) if v6 => Some("icmp6"),
                (true, ipproto::TCP) => Some(if v6 { "tcp6" } else { "tcp" }),
                (true, ipproto::UDP) => Some(if v6 { "udp6" } else { "udp" }),
                (true, ipproto::SCTP) => Some(if v6 { "sctp6" } else { "sctp" }),
                _ => None,
            };
            match name {
                Some(n) => {
                    skip_proto = true;
                    let _ = write!(s, "{n},");
                }
                None => s.push_str(if v6 { "ipv6," } else { "ip," }),
            }
        } else if dl_type == u128::from(ethertype::ARP) {
            s.push_str("arp,");
        } else if dl_type == u128::from(ethertype::RARP) {
            s.push_str("rarp,");
        } else {
            skip_type = false;
        }
    }
    for i in 0..16 {
        let (v, mk) = get(Field::Reg(i));
        hex_masked(&mut s, &format!("reg{i}"), v, mk, 0xffff_ffff);
    }
    let (v, mk) = get(Field::TunId);
    hex_masked(&mut s, "tun_id", v, mk, u128::from(u64::MAX));
    for (f, n) in [(Field::TunSrc, "tun_src"), (Field::TunDst, "tun_dst")] {
        let (v, mk) = get(f);
        ip_masked(&mut s, n, Style::Ipv4, v, mk, 32);
    }
    let (v, mk) = get(Field::Metadata);
    hex_masked(&mut s, "metadata", v, mk, u128::from(u64::MAX));
    let (v, mk) = get(Field::InPort);
    if mk != 0 {
        let _ = write!(s, "in_port={},", PortNo(v as u16));
    }
    let (tci, tci_mask) = get(Field::VlanTci);
    if tci_mask != 0 {
        let (tci, tci_mask) = (tci as u16, tci_mask as u16);
        let vid_mask = tci_mask & VLAN_VID_MASK;
        let pcp_mask = tci_mask & VLAN_PCP_MASK;
        let cfi = tci_mask & VLAN_CFI;
        if cfi != 0
            && tci & VLAN_CFI != 0
            && (vid_mask == 0 || vid_mask == VLAN_VID_MASK)
            && (pcp_mask == 0 || pcp_mask == VLAN_PCP_MASK)
            && (vid_mask != 0 || pcp_mask != 0)
        {
            if vid_mask != 0 {
                let _ = write!(s, "dl_vlan={},", tci & VLAN_VID_MASK);
            }
            if pcp_mask != 0 {
                let _ = write!(s, "dl_vlan_pcp={},", tci >> 13);
            }
        } else if tci_mask == 0xffff {
            let _ = write!(s, "vlan_tci=0x{tci:04x},");
        } else {
            let _ = write!(s, "vlan_tci=0x{tci:04x}/0x{tci_mask:04x},");
        }
    }
    let (v, mk) = get(Field::EthSrc);
    mac_masked(&mut s, "dl_src", v, mk);
    let (v, mk) = get(Field::EthDst);
    mac_masked(&mut s, "dl_dst", v, mk);
    if !skip_type && dl_type_mask != 0 {
        let _ = write!(s, "dl_type=0x{dl_type:04x},");
    }
    let arp = exact_type && (dl_type == u128::from(ethertype::ARP) || dl_type == u128::from(ethertype::RARP));
    if exact_type && dl_type == u128::from(ethertype::IPV6) {
        for (f, n) in [(Field::Ipv6Src, "ipv6_src"), (Field::Ipv6Dst, "ipv6_dst")] {
            let (v, mk) = get(f);
            ip_masked(&mut s, n, Style::Ipv6, v, mk, 128);
        }
        let (v, mk) = get(Field::Ipv6Label);
        if mk != 0 {
            if mk == 0xfffff {
                let _ = write!(s, "ipv6_label=0x{v:05x},");
            } else {
                let _ = write!(s, "ipv6_label=0x{v:05x}/0x{mk:05x},");
            }
        }
    } else {
        let (a, b) = if arp { ("arp_spa", "arp_tpa") } else { ("nw_src", "nw_dst") };
        let (v, mk) = get(Field::Ipv4Src);
        ip_masked(&mut s, a, Style::Ipv4, v, mk, 32);
        let (v, mk) = get(Field::Ipv4Dst);
        ip_masked(&mut s, b, Style::Ipv4, v, mk, 32);
    }
    if !skip_proto && proto_mask != 0 {
        let _ = write!(s, "{}={proto},", if arp { "arp_op" } else { "nw_proto" });
    }
    if arp {
        let (v, mk) = get(Field::ArpSha);
        mac_masked(&mut s, "arp_sha", v, mk);
        let (v, mk) = get(Field::ArpTha);
        mac_masked(&mut s, "arp_tha", v, mk);
    }
    let (tos, tos_mask) = get(Field::IpTos);
    if tos_mask & 0xfc != 0 {
        let _ = write!(s, "nw_tos={},", tos & 0xfc);
    }
    if tos_mask & 0x03 != 0 {
        let _ = write!(s, "nw_ecn={},", tos & 0x03);
    }
    let (v, mk) = get(Field::IpTtl);
    if mk != 0 {
        let _ = write!(s, "nw_ttl={v},");
    }
    let (frag, frag_mask) = get(Field::IpFrag);
    let (any, later) = (u128::from(FRAG_ANY), u128::from(FRAG_LATER));
    let frag_name = if frag_mask == any | later {
        Some(match (frag & any != 0, frag & later != 0) {
            (true, true) => "later",
            (true, false) => "first",
            (false, true) => "<error>",
            (false, false) => "no",
        })
    } else if frag_mask == any {
        Some(if frag & any != 0 { "yes" } else { "no" })
    } else if frag_mask == later {
        Some(if frag & later != 0 { "later" } else { "not_later" })
    } else {
        None
    };
    if let Some(n) = frag_name {
        let _ = write!(s, "nw_frag={n},");
    }
    let icmp = exact_proto && (proto == u128::from(ipproto::ICMP) || proto == u128::from(ipproto::ICMPV6));
    let (sv, sm) = get(Field::TpSrc);
    let (dv, dm) = get(Field::TpDst);
    if icmp {
        let (tv, tm) = get(Field::IcmpType);
        let (cv, cm) = get(Field::IcmpCode);
        dec_masked(&mut s, "icmp_type", tv, tm, 0xff);
        dec_masked(&mut s, "icmp_code", cv, cm, 0xff);
        if proto == u128::from(ipproto::ICMPV6) {
            let (v, mk) = get(Field::NdTarget);
            ip_masked(&mut s, "nd_target", Style::Ipv6, v, mk, 128);
            let (v, mk) = get(Field::NdSll);
            mac_masked(&mut s, "nd_sll", v, mk);
            let (v, mk) = get(Field::NdTll);
            mac_masked(&mut s, "nd_tll", v, mk);
        }
    } else {
        dec_masked(&mut s, "tp_src", sv, sm, 0xffff);
        dec_masked(&mut s, "tp_dst", dv, dm, 0xffff);
    }
    let (fv, fm) = get(Field::TcpFlags);
    if fm != 0 {
        let (fv, fm) = (fv as u16, fm as u16);
        let mut text = String::new();
        for (name, bit) in TCP_FLAG_NAMES {
            if fm & bit != 0 {
                text.push(if fv & bit != 0 { '+' } else { '-' });
                text.push_str(name);
            }
        }
        let _ = write!(s, "tcp_flags={text},");
    }
    if s.ends_with(',') {
        s.pop();
    }
    s
}

fn format_duration(secs: f64) -> String {
    let ms = (secs * 1000.0).round() as u64;
    let mut text = format!("{}.{:03}", ms / 1000, ms % 1000);
    while text.ends_with('0') {
        text.pop();
    }
    if text.ends_with('.') {
        text.pop();
    }
    format!("{text}s")
}

/// Prints one line of `ovs-ofctl dump-flows`.
pub fn format_flow_stats(l: &FlowStatsLine) -> String {
    let mut s = format!(
        " cookie={:#x}, duration={}, table={}, n_packets={}, n_bytes={}, ",
        l.cookie,
        format_duration(l.duration_s),
        l.table_id,
        l.n_packets,
        l.n_bytes
    );
    if l.idle_timeout != 0 {
        let _ = write!(s, "idle_timeout={}, ", l.idle_timeout);
    }
    if l.hard_timeout != 0 {
        let _ = write!(s, "hard_timeout={}, ", l.hard_timeout);
    }
    for (bit, name) in [
        (flags::SEND_FLOW_REM, "send_flow_rem"),
        (flags::CHECK_OVERLAP, "check_overlap"),
        (flags::RESET_COUNTS, "reset_counts"),
        (flags::NO_PKT_COUNTS, "no_packet_counts"),
        (flags::NO_BYT_COUNTS, "no_byte_counts"),
    ] {
        if l.flags & bit != 0 {
            let _ = write!(s, "{name} ");
        }
    }
    if l.importance != 0 {
        let _ = write!(s, "importance={}, ", l.importance);
    }
    if let Some(a) = l.idle_age_s {
        let _ = write!(s, "idle_age={a}, ");
    }
    if let Some(h) = l.hard_age_s {
        if h != l.duration_s as u64 {
            let _ = write!(s, "hard_age={h}, ");
        }
    }
    s.push_str(&format_match(&l.match_, l.priority));
    if !s.ends_with(' ') {
        s.push(' ');
    }
    s.push_str("actions=");
    s.push_str(&format_actions(&l.actions));
    s
}
