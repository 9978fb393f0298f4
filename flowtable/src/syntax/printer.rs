//! Printing matches, actions and `dump-flows` lines exactly as Open vSwitch 3.1 does
//! (lib/match.c `match_format`, lib/ofp-actions.c `ofpacts_format`, lib/ofp-flow.c
//! `ofputil_flow_stats_format`).
//!
//! Where our action model has one variant for several OVS spellings, the printer picks the one
//! OVS prints after an OpenFlow 1.3 round trip: `mod_nw_src:...` prints as `set_field:...->ip_src`,
//! a write of a contiguous part of a field as `load:0x5->NXM_NX_REG1[0..3]`, and `pop_vlan`.

use super::fields::{format_mac, format_subfield, format_value, mf_name, prints_exactly, style, Style};
use super::learn::format_learn;
use super::lexer::{c_hex, format_hex_bytes};
use super::match_syntax::{SHORTHANDS, TCP_FLAGS_ALL, TCP_FLAG_NAMES};
use crate::action::{Action, PacketInReason};
use crate::field::{ethertype, ipproto, Field, SubField, VLAN_CFI, VLAN_PCP_MASK, VLAN_VID_MASK};
use crate::flow_match::Match;
use crate::flow_mod::flags;
use crate::port::PortNo;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// OpenFlow's default priority, which `match_format` does not print.
const DEFAULT_PRIORITY: u16 = 0x8000;

/// A port-number-to-name lookup, as `ovs-ofctl --names` uses.
pub type PortNames<'a> = &'a dyn Fn(PortNo) -> Option<String>;

/// How actions that Open vSwitch spells differently per OpenFlow version are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Spelling {
    /// Lossless (what [`super::parse_actions`] reads back to the same value): the OpenFlow 1.3
    /// spelling (`pop_vlan`, `set_field:...`, `load:` for part of a field), except that
    /// `set_tunnel`, `enqueue` and `mod_vlan_vid`/`mod_vlan_pcp` keep their own names.
    #[default]
    Canonical,
    /// As OVS shows actions over OpenFlow 1.0 + NXM: `strip_vlan`, `mod_nw_src:...`, `load:...`.
    OpenFlow10,
    /// As OVS shows actions over OpenFlow 1.3: also `set_field:...->tun_id` for `set_tunnel`,
    /// `set_queue:Q,output:P,pop_queue` for `enqueue` and `set_field:...->vlan_vid` for
    /// `mod_vlan_vid` (without the `push_vlan` OVS adds when the match allows untagged packets).
    OpenFlow13,
    /// As OVS 3.1's `ovs-ofctl dump-flows` shows them against a default bridge (OpenFlow 1.5
    /// negotiated): like [`Spelling::OpenFlow13`], with masked `set_field:V/M->F` instead of `load`.
    OpenFlow15,
}

/// Printing options.
#[derive(Clone, Copy, Default)]
pub struct FormatOptions<'a> {
    /// Port names to print instead of numbers (`in_port="tap0"`, `output:br0`).
    pub port_names: Option<PortNames<'a>>,
    /// Which OpenFlow version's action spelling to use.
    pub spelling: Spelling,
}

impl std::fmt::Debug for FormatOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormatOptions")
            .field("port_names", &self.port_names.is_some())
            .field("spelling", &self.spelling)
            .finish()
    }
}

/// One flow as `ovs-ofctl dump-flows` prints it.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowStatsLine {
    /// Cookie.
    pub cookie: u64,
    /// Time since the flow was added, in seconds.
    pub duration_s: f64,
    /// Table.
    pub table_id: u8,
    /// Packets matched.
    pub n_packets: u64,
    /// Bytes matched.
    pub n_bytes: u64,
    /// Idle timeout (0: none).
    pub idle_timeout: u16,
    /// Hard timeout (0: none).
    pub hard_timeout: u16,
    /// [`crate::flow_mod::flags`] bits.
    pub flags: u16,
    /// Eviction importance.
    pub importance: u16,
    /// Seconds since the flow last matched a packet.
    pub idle_age_s: Option<u64>,
    /// Seconds since the flow was added or modified.
    pub hard_age_s: Option<u64>,
    /// Priority.
    pub priority: u16,
    /// Match.
    pub match_: Match,
    /// Actions.
    pub actions: Vec<Action>,
}

/// A port as `ofputil_format_port` prints it: reserved name, mapped name (quoted if needed), or number.
pub(crate) fn port_name(port: PortNo, names: Option<PortNames<'_>>) -> String {
    if let Some(reserved) = port.reserved_name() {
        return reserved.to_owned();
    }
    match names.and_then(|lookup| lookup(port)) {
        Some(name) => quote_name(&name),
        None => port.0.to_string(),
    }
}

/// Quotes a name unless it is a letter followed by letters and digits (lib/namemap.c).
fn quote_name(name: &str) -> String {
    let plain =
        name.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && name.chars().all(|c| c.is_ascii_alphanumeric());
    if plain {
        return name.to_owned();
    }
    let mut out = String::from("\"");
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Formats a match (with `priority=` first unless it is 32768), as `match_format` does.
pub fn format_match(m: &Match, priority: u16) -> String {
    format_match_with(m, priority, &FormatOptions::default())
}

/// [`format_match`] with options.
pub fn format_match_with(m: &Match, priority: u16, opts: &FormatOptions<'_>) -> String {
    let mut s = String::new();
    if priority != DEFAULT_PRIORITY {
        let _ = write!(s, "priority={priority},");
    }
    let (dl_type, dl_type_mask) = m.get(Field::EthType);
    let dl_type = if dl_type_mask == 0 { 0 } else { dl_type as u16 };
    let (proto, proto_mask) = m.get(Field::IpProto);
    let mut skip_type = false;
    let mut skip_proto = false;
    if dl_type_mask != 0 {
        let shorthand =
            SHORTHANDS.iter().find(|(_, eth, p)| *eth == dl_type && proto_mask != 0 && *p == Some(proto as u8));
        let plain = SHORTHANDS.iter().find(|(_, eth, p)| *eth == dl_type && p.is_none());
        if let Some((name, _, _)) = shorthand {
            skip_type = true;
            skip_proto = true;
            let _ = write!(s, "{name},");
        } else if let Some((name, _, _)) = plain {
            skip_type = true;
            let _ = write!(s, "{name},");
        }
    }
    for i in 0..16 {
        put_hex_masked(&mut s, &format!("reg{i}"), m.get(Field::Reg(i)));
    }
    put_hex_masked(&mut s, "tun_id", m.get(Field::TunId));
    put_ip(&mut s, "tun_src", m.get(Field::TunSrc));
    put_ip(&mut s, "tun_dst", m.get(Field::TunDst));
    put_hex_masked(&mut s, "metadata", m.get(Field::Metadata));
    if m.has(Field::InPort) {
        let _ = write!(s, "in_port={},", port_name(PortNo(m.value.get(Field::InPort) as u16), opts.port_names));
    }
    for (i, field) in [Field::VlanTci, Field::VlanTci1].into_iter().enumerate() {
        let (v, mask) = m.get(field);
        if mask == 0 {
            break;
        }
        put_vlan(&mut s, if i == 0 { "" } else { "1" }, v as u16, mask as u16);
    }
    put_eth(&mut s, "dl_src", m.get(Field::EthSrc));
    put_eth(&mut s, "dl_dst", m.get(Field::EthDst));
    if !skip_type && dl_type_mask != 0 {
        let _ = write!(s, "dl_type=0x{dl_type:04x},");
    }
    let is_arp = dl_type == ethertype::ARP || dl_type == ethertype::RARP;
    if dl_type == ethertype::IPV6 {
        put_ipv6(&mut s, "ipv6_src", m.get(Field::Ipv6Src));
        put_ipv6(&mut s, "ipv6_dst", m.get(Field::Ipv6Dst));
        let (v, mask) = m.get(Field::Ipv6Label);
        if mask == 0xfffff {
            let _ = write!(s, "ipv6_label=0x{v:05x},");
        } else if mask != 0 {
            let _ = write!(s, "ipv6_label=0x{v:05x}/0x{mask:05x},");
        }
    } else if is_arp {
        put_ip(&mut s, "arp_spa", m.get(Field::ArpSpa));
        put_ip(&mut s, "arp_tpa", m.get(Field::ArpTpa));
    } else {
        put_ip(&mut s, "nw_src", m.get(Field::Ipv4Src));
        put_ip(&mut s, "nw_dst", m.get(Field::Ipv4Dst));
    }
    if !skip_proto && proto_mask != 0 {
        let _ = write!(s, "{}={proto},", if is_arp { "arp_op" } else { "nw_proto" });
    }
    if is_arp {
        put_eth(&mut s, "arp_sha", m.get(Field::ArpSha));
        put_eth(&mut s, "arp_tha", m.get(Field::ArpTha));
    }
    let (tos, tos_mask) = m.get(Field::IpTos);
    if tos_mask & 0xfc != 0 {
        let _ = write!(s, "nw_tos={},", tos & 0xfc);
    }
    if tos_mask & 3 != 0 {
        let _ = write!(s, "nw_ecn={},", tos & 3);
    }
    if m.has(Field::IpTtl) {
        let _ = write!(s, "nw_ttl={},", m.value.get(Field::IpTtl));
    }
    let (frag, frag_mask) = m.get(Field::IpFrag);
    let frag_text = match (frag_mask & 3, frag & 3) {
        (3, 0) => Some("no"),
        (3, 1) => Some("first"),
        (3, 3) => Some("later"),
        (3, _) => Some("<error>"),
        (1, 0) => Some("no"),
        (1, _) => Some("yes"),
        (2, 0) => Some("not_later"),
        (2, _) => Some("later"),
        _ => None,
    };
    if let Some(t) = frag_text {
        let _ = write!(s, "nw_frag={t},");
    }
    let ip_any = dl_type == ethertype::IPV4 || dl_type == ethertype::IPV6;
    if dl_type == ethertype::IPV4 && proto == u128::from(ipproto::ICMP) {
        put_be16(&mut s, "icmp_type", m.get(Field::TpSrc));
        put_be16(&mut s, "icmp_code", m.get(Field::TpDst));
    } else if dl_type == ethertype::IPV6 && proto == u128::from(ipproto::ICMPV6) {
        put_be16(&mut s, "icmp_type", m.get(Field::TpSrc));
        put_be16(&mut s, "icmp_code", m.get(Field::TpDst));
        put_ipv6(&mut s, "nd_target", m.get(Field::NdTarget));
        put_eth(&mut s, "nd_sll", m.get(Field::NdSll));
        put_eth(&mut s, "nd_tll", m.get(Field::NdTll));
    } else {
        put_be16(&mut s, "tp_src", m.get(Field::TpSrc));
        put_be16(&mut s, "tp_dst", m.get(Field::TpDst));
    }
    let (tcp_flags, tcp_flags_mask) = m.get(Field::TcpFlags);
    if ip_any && proto == u128::from(ipproto::TCP) && tcp_flags_mask != 0 {
        s.push_str("tcp_flags=");
        s.push_str(&format_tcp_flags(tcp_flags, tcp_flags_mask));
        s.push(',');
    }
    if s.ends_with(',') {
        s.pop();
    }
    s
}

/// `format_flags_masked` for TCP flags.
fn format_tcp_flags(v: u128, mask: u128) -> String {
    let mut out = String::new();
    if mask == TCP_FLAGS_ALL {
        if v == 0 {
            return "0".to_owned();
        }
        let names: Vec<&str> = (0..12).filter(|i| v & (1 << i) != 0).map(|i| TCP_FLAG_NAMES[i]).collect();
        return names.join("|");
    }
    for (i, name) in TCP_FLAG_NAMES.iter().enumerate() {
        if mask & (1 << i) != 0 {
            out.push(if v & (1 << i) != 0 { '+' } else { '-' });
            out.push_str(name);
        }
    }
    out
}

fn put_vlan(s: &mut String, suffix: &str, tci: u16, mask: u16) {
    let vid_mask = mask & VLAN_VID_MASK;
    let pcp_mask = mask & VLAN_PCP_MASK;
    let cfi = mask & VLAN_CFI;
    let full_or_none = |m: u16, all: u16| m == 0 || m == all;
    if cfi != 0
        && tci & VLAN_CFI != 0
        && full_or_none(vid_mask, VLAN_VID_MASK)
        && full_or_none(pcp_mask, VLAN_PCP_MASK)
        && (vid_mask != 0 || pcp_mask != 0)
    {
        if vid_mask != 0 {
            let _ = write!(s, "dl_vlan{suffix}={},", tci & VLAN_VID_MASK);
        }
        if pcp_mask != 0 {
            let _ = write!(s, "dl_vlan_pcp{suffix}={},", tci >> 13);
        }
    } else if mask == 0xffff {
        let _ = write!(s, "vlan_tci{suffix}=0x{tci:04x},");
    } else {
        let _ = write!(s, "vlan_tci{suffix}=0x{tci:04x}/0x{mask:04x},");
    }
}

/// `format_uint32_masked` / `format_be64_masked`: `%#x` and `/%#x` unless exact.
fn put_hex_masked(s: &mut String, name: &str, (v, mask): (u128, u128)) {
    if mask == 0 {
        return;
    }
    let _ = write!(s, "{name}={}", c_hex(v));
    let full = if name.starts_with("reg") { u128::from(u32::MAX) } else { u128::from(u64::MAX) };
    if mask != full {
        let _ = write!(s, "/{}", c_hex(mask));
    }
    s.push(',');
}

/// `format_be16_masked`: decimal if exact, else `0x%x/0x%x`.
fn put_be16(s: &mut String, name: &str, (v, mask): (u128, u128)) {
    if mask == 0xffff {
        let _ = write!(s, "{name}={v},");
    } else if mask != 0 {
        let _ = write!(s, "{name}=0x{v:x}/0x{mask:x},");
    }
}

fn put_eth(s: &mut String, name: &str, (v, mask): (u128, u128)) {
    if mask == 0 {
        return;
    }
    let _ = write!(s, "{name}={}", format_mac(v));
    if mask != 0xffff_ffff_ffff {
        let _ = write!(s, "/{}", format_mac(mask));
    }
    s.push(',');
}

/// Number of leading ones if `mask` is a prefix mask of a `bits`-wide field.
fn cidr_len(mask: u128, bits: u32) -> Option<u32> {
    let shifted = if bits >= 128 { mask } else { mask << (128 - bits) };
    let ones = shifted.leading_ones();
    (shifted.checked_shl(ones).unwrap_or(0) == 0).then_some(ones)
}

fn put_ip(s: &mut String, name: &str, (v, mask): (u128, u128)) {
    if mask == 0 {
        return;
    }
    let _ = write!(s, "{name}={}", Ipv4Addr::from(v as u32));
    if mask != 0xffff_ffff {
        match cidr_len(mask, 32) {
            Some(n) => {
                let _ = write!(s, "/{n}");
            }
            None => {
                let _ = write!(s, "/{}", Ipv4Addr::from(mask as u32));
            }
        }
    }
    s.push(',');
}

fn put_ipv6(s: &mut String, name: &str, (v, mask): (u128, u128)) {
    if mask == 0 {
        return;
    }
    let _ = write!(s, "{name}={}", Ipv6Addr::from(v));
    if mask != u128::MAX {
        match cidr_len(mask, 128) {
            Some(n) => {
                let _ = write!(s, "/{n}");
            }
            None => {
                let _ = write!(s, "/{}", Ipv6Addr::from(mask));
            }
        }
    }
    s.push(',');
}

/// Formats actions as `ofpacts_format` does (`drop` for none).
pub fn format_actions(actions: &[Action]) -> String {
    format_actions_with(actions, &FormatOptions::default())
}

/// [`format_actions`] with options.
pub fn format_actions_with(actions: &[Action], opts: &FormatOptions<'_>) -> String {
    if actions.is_empty() {
        return "drop".to_owned();
    }
    let mut s = String::new();
    for (i, a) in actions.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        format_action(a, opts, &mut s);
    }
    s
}

/// If `mask` is one contiguous run of ones inside the field, the subfield it covers.
fn contiguous(field: Field, mask: u128) -> Option<SubField> {
    if mask == 0 {
        return None;
    }
    let ofs = mask.trailing_zeros();
    let n_bits = (mask >> ofs).trailing_ones();
    let sf = SubField { field, ofs, n_bits };
    (sf.mask() == mask && sf.is_valid()).then_some(sf)
}

/// `load:` actions for the bits of `mask`, one per run of ones of at most 64 bits, as
/// lib/ofp-actions.c `next_load_segment` splits a `set_field` for OpenFlow 1.0.
fn load_segments(field: Field, value: u128, mask: u128, s: &mut String) {
    let bits = field.bits();
    let mut ofs = 0;
    let mut first = true;
    while ofs < bits {
        if mask >> ofs & 1 == 0 {
            ofs += 1;
            continue;
        }
        let mut end = ofs + 1;
        while end < bits.min(ofs + 64) && mask >> end & 1 == 1 {
            end += 1;
        }
        let sf = SubField { field, ofs, n_bits: end - ofs };
        if !first {
            s.push(',');
        }
        first = false;
        let _ = write!(s, "load:{}->{}", c_hex((value & sf.mask()) >> ofs), format_subfield(sf));
        ofs = end;
    }
}

/// The OpenFlow 1.0 + NXM spelling of an action, where it differs from the OpenFlow 1.3 one.
fn format_openflow10(a: &Action, s: &mut String) -> bool {
    match a {
        Action::PopVlan => s.push_str("strip_vlan"),
        Action::SetTtl(ttl) => {
            let _ = write!(s, "load:{}->NXM_NX_IP_TTL[]", c_hex((*ttl).into()));
        }
        Action::GotoTable(t) => {
            let _ = write!(s, "resubmit(,{t})");
        }
        Action::SetField { field, value, mask } => {
            let mask = *mask & field.max_value();
            let v = *value & mask;
            let legacy = match field {
                Field::EthSrc => Some(format!("mod_dl_src:{}", format_mac(v))),
                Field::EthDst => Some(format!("mod_dl_dst:{}", format_mac(v))),
                Field::Ipv4Src => Some(format!("mod_nw_src:{}", Ipv4Addr::from(v as u32))),
                Field::Ipv4Dst => Some(format!("mod_nw_dst:{}", Ipv4Addr::from(v as u32))),
                Field::IpDscp => Some(format!("mod_nw_tos:{}", v << 2)),
                Field::TpSrc => Some(format!("mod_tp_src:{v}")),
                Field::TpDst => Some(format!("mod_tp_dst:{v}")),
                Field::VlanVid if v & u128::from(VLAN_CFI) != 0 => {
                    Some(format!("mod_vlan_vid:{}", v & u128::from(VLAN_VID_MASK)))
                }
                Field::VlanPcp => Some(format!("mod_vlan_pcp:{v}")),
                Field::VlanTci if v & u128::from(VLAN_CFI) != 0 => {
                    Some(format!("mod_vlan_vid:{},mod_vlan_pcp:{}", v & u128::from(VLAN_VID_MASK), v >> 13))
                }
                _ => None,
            };
            match legacy {
                Some(text) if mask == field.max_value() => s.push_str(&text),
                _ => load_segments(*field, v, mask, s),
            }
        }
        _ => return false,
    }
    true
}

/// `mf_format` of a masked value, as an OpenFlow 1.5 `set_field:V/M->F` shows it.
fn format_masked_value(field: Field, v: u128, m: u128) -> String {
    match style(field) {
        Style::Decimal => format!("{v}/{}", c_hex(m)),
        Style::Hex | Style::Port => format!("{}/{}", c_hex(v), c_hex(m)),
        Style::Ethernet => format!("{}/{}", format_mac(v), format_mac(m)),
        Style::Ipv4 => {
            let mut out = String::new();
            put_ip(&mut out, "", (v, m));
            out.trim_start_matches('=').trim_end_matches(',').to_owned()
        }
        Style::Ipv6 => {
            let mut out = String::new();
            put_ipv6(&mut out, "", (v, m));
            out.trim_start_matches('=').trim_end_matches(',').to_owned()
        }
    }
}

/// The OpenFlow 1.3 / 1.5 spelling of an action, where it differs from the canonical one.
fn format_openflow13(a: &Action, opts: &FormatOptions<'_>, s: &mut String) -> bool {
    match a {
        Action::SetTunnel(id) => {
            let _ = write!(s, "set_field:{}->tun_id", c_hex((*id).into()));
        }
        Action::Enqueue { port, queue } => {
            let _ = write!(s, "set_queue:{queue},");
            format_action(&Action::Output { port: *port, max_len: 0 }, opts, s);
            s.push_str(",pop_queue");
        }
        // OVS also puts `push_vlan:0x8100` first when the match does not guarantee a tag.
        Action::SetVlanVid(vid) => {
            let _ = write!(s, "set_field:{}->vlan_vid", vid | VLAN_CFI);
        }
        Action::SetVlanPcp(pcp) => {
            let _ = write!(s, "set_field:{pcp}->vlan_pcp");
        }
        Action::SetField { field, value, mask }
            if opts.spelling == Spelling::OpenFlow15 && *mask & field.max_value() != field.max_value() =>
        {
            let m = *mask & field.max_value();
            let _ = write!(s, "set_field:{}->{}", format_masked_value(*field, value & m, m), mf_name(*field));
        }
        _ => return false,
    }
    true
}

fn format_action(a: &Action, opts: &FormatOptions<'_>, s: &mut String) {
    let special = match opts.spelling {
        Spelling::Canonical => false,
        Spelling::OpenFlow10 => format_openflow10(a, s),
        Spelling::OpenFlow13 | Spelling::OpenFlow15 => format_openflow13(a, opts, s),
    };
    if special {
        return;
    }
    let port = |p: PortNo| port_name(p, opts.port_names);
    match a {
        Action::Output { port: p, max_len } => {
            if p.0 < PortNo::MAX.0 {
                s.push_str("output:");
            }
            s.push_str(&port(*p));
            if *p == PortNo::CONTROLLER {
                let _ = write!(s, ":{max_len}");
            }
        }
        Action::OutputReg { src, .. } => {
            let _ = write!(s, "output:{}", format_subfield(*src));
        }
        Action::Controller(c) => {
            if c.reason == PacketInReason::Action && c.controller_id == 0 && c.userdata.is_empty() && !c.pause {
                let _ = write!(s, "CONTROLLER:{}", c.max_len);
            } else {
                let mut parts = Vec::new();
                match c.reason {
                    PacketInReason::Action => {}
                    PacketInReason::NoMatch => parts.push("reason=no_match".to_owned()),
                    PacketInReason::InvalidTtl => parts.push("reason=invalid_ttl".to_owned()),
                }
                if c.max_len != u16::MAX {
                    parts.push(format!("max_len={}", c.max_len));
                }
                if c.controller_id != 0 {
                    parts.push(format!("id={}", c.controller_id));
                }
                if !c.userdata.is_empty() {
                    parts.push(format!("userdata={}", format_hex_bytes(&c.userdata)));
                }
                if c.pause {
                    parts.push("pause".to_owned());
                }
                let _ = write!(s, "controller({})", parts.join(","));
            }
        }
        Action::Group(g) => {
            let _ = write!(s, "group:{g}");
        }
        Action::Enqueue { port: p, queue } => {
            let _ = write!(s, "enqueue:{}:{queue}", port(*p));
        }
        Action::SetQueue(q) => {
            let _ = write!(s, "set_queue:{q}");
        }
        Action::SetField { field, value, mask } => {
            let mask = *mask & field.max_value();
            if mask == field.max_value() && prints_exactly(*field, *value) {
                let _ = write!(s, "set_field:{}->{}", format_value(*field, *value, opts.port_names), mf_name(*field));
            } else if let Some(sf) = contiguous(*field, mask) {
                let _ = write!(s, "load:{}->{}", c_hex((value & mask) >> sf.ofs), format_subfield(sf));
            } else {
                let (v, m) = if style(*field) == Style::Port {
                    (c_hex(value & mask), c_hex(mask))
                } else {
                    (format_value(*field, value & mask, None), format_value(*field, mask, None))
                };
                let _ = write!(s, "set_field:{v}/{m}->{}", mf_name(*field));
            }
        }
        Action::RegMove { src, dst } => {
            let _ = write!(s, "move:{}->{}", format_subfield(*src), format_subfield(*dst));
        }
        Action::PushVlan(tpid) => {
            let _ = write!(s, "push_vlan:{tpid:#x}");
        }
        Action::PopVlan => s.push_str("pop_vlan"),
        Action::SetVlanVid(vid) => {
            let _ = write!(s, "mod_vlan_vid:{vid}");
        }
        Action::SetVlanPcp(pcp) => {
            let _ = write!(s, "mod_vlan_pcp:{pcp}");
        }
        Action::DecTtl => s.push_str("dec_ttl"),
        Action::SetTtl(ttl) => {
            let _ = write!(s, "mod_nw_ttl:{ttl}");
        }
        Action::SetTunnel(id) => {
            let name = if *id > u64::from(u32::MAX) { "set_tunnel64" } else { "set_tunnel" };
            let _ = write!(s, "{name}:{}", c_hex((*id).into()));
        }
        Action::Resubmit { port: p, table } => {
            if let (Some(p), None) = (p, table) {
                let _ = write!(s, "resubmit:{}", port(*p));
            } else {
                let p = p.map(port).unwrap_or_default();
                let t = table.map(|t| t.to_string()).unwrap_or_default();
                let _ = write!(s, "resubmit({p},{t})");
            }
        }
        Action::Learn(learn) => format_learn(learn, s),
        Action::Note(bytes) => {
            let _ = write!(s, "note:{}", format_hex_bytes(bytes));
        }
        Action::WriteActions(inner) => {
            let _ = write!(s, "write_actions({})", format_actions_with(inner, opts));
        }
        Action::ClearActions => s.push_str("clear_actions"),
        Action::WriteMetadata { value, mask } => {
            let _ = write!(s, "write_metadata:{}", c_hex((*value).into()));
            if *mask != u64::MAX {
                let _ = write!(s, "/{}", c_hex((*mask).into()));
            }
        }
        Action::Meter(m) => {
            let _ = write!(s, "meter:{m}");
        }
        Action::GotoTable(t) => {
            let _ = write!(s, "goto_table:{t}");
        }
    }
}

/// `ofp_print_duration`: whole seconds, then 3 decimals if exact in milliseconds, else 9.
fn format_duration(d: f64) -> (String, u64) {
    let d = if d.is_finite() && d > 0.0 { d } else { 0.0 };
    let mut sec = d.floor() as u64;
    let mut nsec = ((d - d.floor()) * 1e9).round() as u64;
    if nsec >= 1_000_000_000 {
        sec = sec.saturating_add(1);
        nsec -= 1_000_000_000;
    }
    let text = if nsec == 0 {
        format!("{sec}s")
    } else if nsec.is_multiple_of(1_000_000) {
        format!("{sec}.{:03}s", nsec / 1_000_000)
    } else {
        format!("{sec}.{nsec:09}s")
    };
    (text, sec)
}

/// Formats one `ovs-ofctl dump-flows` line (with its leading space), as
/// `ofputil_flow_stats_format` does with statistics shown, with actions spelled as OVS 3.1's
/// `ovs-ofctl dump-flows` shows them by default ([`Spelling::OpenFlow10`]: a plain
/// `ovs-ofctl` offers only OpenFlow 1.0 in its HELLO — `01 00 00 08`, checked on the wire).
pub fn format_flow_stats(fs: &FlowStatsLine) -> String {
    format_flow_stats_with(fs, &FormatOptions { spelling: Spelling::OpenFlow10, ..FormatOptions::default() })
}

/// [`format_flow_stats`] with options.
pub fn format_flow_stats_with(fs: &FlowStatsLine, opts: &FormatOptions<'_>) -> String {
    let (duration, duration_sec) = format_duration(fs.duration_s);
    let mut s = format!(
        " cookie=0x{:x}, duration={duration}, table={}, n_packets={}, n_bytes={}, ",
        fs.cookie, fs.table_id, fs.n_packets, fs.n_bytes
    );
    if fs.idle_timeout != 0 {
        let _ = write!(s, "idle_timeout={}, ", fs.idle_timeout);
    }
    if fs.hard_timeout != 0 {
        let _ = write!(s, "hard_timeout={}, ", fs.hard_timeout);
    }
    if fs.flags != 0 {
        for (bit, name) in [
            (flags::SEND_FLOW_REM, "send_flow_rem "),
            (flags::CHECK_OVERLAP, "check_overlap "),
            (flags::RESET_COUNTS, "reset_counts "),
            (flags::NO_PKT_COUNTS, "no_packet_counts "),
            (flags::NO_BYT_COUNTS, "no_byte_counts "),
        ] {
            if fs.flags & bit != 0 {
                s.push_str(name);
            }
        }
    }
    if fs.importance != 0 {
        let _ = write!(s, "importance={}, ", fs.importance);
    }
    if let Some(age) = fs.idle_age_s {
        let _ = write!(s, "idle_age={age}, ");
    }
    if let Some(age) = fs.hard_age_s.filter(|a| *a != duration_sec) {
        let _ = write!(s, "hard_age={age}, ");
    }
    let m = format_match_with(&fs.match_, fs.priority, opts);
    if !m.is_empty() {
        s.push_str(&m);
        s.push(' ');
    }
    s.push_str("actions=");
    s.push_str(&format_actions_with(&fs.actions, opts));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(format_duration(1.234).0, "1.234s");
        assert_eq!(format_duration(5.0).0, "5s");
        assert_eq!(format_duration(0.000_000_5).0, "0.000000500s");
        assert_eq!(format_duration(f64::NAN).0, "0s");
    }

    #[test]
    fn names_are_quoted_when_needed() {
        assert_eq!(quote_name("tap0"), "tap0");
        assert_eq!(quote_name("tap-0"), "\"tap-0\"");
        assert_eq!(quote_name("0tap"), "\"0tap\"");
    }

    #[test]
    fn cidr() {
        assert_eq!(cidr_len(0xffff_ff00, 32), Some(24));
        assert_eq!(cidr_len(0xff00_00ff, 32), None);
        assert_eq!(cidr_len(u128::MAX << 64, 128), Some(64));
    }
}
