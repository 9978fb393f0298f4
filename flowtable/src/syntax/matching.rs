//! Parsing the match part of a flow: `in_port=1,dl_vlan=5,tcp,nw_dst=10.0.0.0/8,tp_dst=80`.

use super::names::{self, Style};
use super::values::{self, parse_masked};
use super::{tokens, SyntaxError, Token};
use crate::field::{ethertype, ipproto, Field, FRAG_ANY, FRAG_LATER, VLAN_CFI, VLAN_PCP_MASK, VLAN_VID_MASK};
use crate::flow_match::Match;

/// TCP flag names as ovs-ofctl writes them (`tcp_flags=+syn-ack`).
pub(crate) const TCP_FLAG_NAMES: [(&str, u16); 9] = [
    ("fin", 0x001),
    ("syn", 0x002),
    ("rst", 0x004),
    ("psh", 0x008),
    ("ack", 0x010),
    ("urg", 0x020),
    ("ece", 0x040),
    ("cwr", 0x080),
    ("ns", 0x100),
];

/// Parses a match (as `ofproto/trace` and `dump-flows` filters take it); `priority=` is
/// returned when present.
pub fn parse_match(s: &str) -> Result<(Match, Option<u16>), SyntaxError> {
    parse_tokens(&tokens(s, 0)?)
}

fn shorthand(word: &str) -> Option<(u16, Option<u8>)> {
    Some(match word {
        "ip" => (ethertype::IPV4, None),
        "ipv6" => (ethertype::IPV6, None),
        "arp" => (ethertype::ARP, None),
        "rarp" => (ethertype::RARP, None),
        "icmp" => (ethertype::IPV4, Some(ipproto::ICMP)),
        "icmp6" => (ethertype::IPV6, Some(ipproto::ICMPV6)),
        "tcp" => (ethertype::IPV4, Some(ipproto::TCP)),
        "tcp6" => (ethertype::IPV6, Some(ipproto::TCP)),
        "udp" => (ethertype::IPV4, Some(ipproto::UDP)),
        "udp6" => (ethertype::IPV6, Some(ipproto::UDP)),
        "sctp" => (ethertype::IPV4, Some(ipproto::SCTP)),
        "sctp6" => (ethertype::IPV6, Some(ipproto::SCTP)),
        _ => return None,
    })
}

fn parse_tcp_flags(t: &Token<'_>, v: &str) -> Result<(u128, u128), SyntaxError> {
    if v.starts_with(['+', '-']) {
        let (mut value, mut mask) = (0u16, 0u16);
        let mut rest = v;
        while !rest.is_empty() {
            let set = rest.starts_with('+');
            if !set && !rest.starts_with('-') {
                return Err(t.err("tcp_flags: expected +flag or -flag"));
            }
            rest = &rest[1..];
            let end = rest.find(['+', '-']).unwrap_or(rest.len());
            let name = &rest[..end];
            let bit = TCP_FLAG_NAMES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, b)| *b)
                .ok_or_else(|| t.err(format!("tcp_flags: unknown flag \"{name}\"")))?;
            mask |= bit;
            if set {
                value |= bit;
            }
            rest = &rest[end..];
        }
        return Ok((u128::from(value), u128::from(mask)));
    }
    parse_masked(Style::Hex, v, 12).ok_or_else(|| t.err("tcp_flags must be FLAGS[/MASK] (12 bits) or +flag-flag"))
}

/// Parses match words (already split).
pub(crate) fn parse_tokens(words: &[Token<'_>]) -> Result<(Match, Option<u16>), SyntaxError> {
    let mut m = Match::ANY;
    let mut priority = None;
    for t in words {
        let (k, v) = t.key_value(false);
        if let (Some((et, proto)), None) = (shorthand(k), v) {
            m.set(Field::EthType, u128::from(et));
            if let Some(p) = proto {
                m.set(Field::IpProto, u128::from(p));
            }
            continue;
        }
        let Some(v) = v else {
            return Err(t.err("unknown keyword (expected FIELD=VALUE or a protocol such as ip, tcp, arp)"));
        };
        match k {
            "priority" => {
                priority = Some(
                    values::parse_int(v)
                        .and_then(|n| u16::try_from(n).ok())
                        .ok_or_else(|| t.err("priority must be 0..65535"))?,
                )
            }
            "dl_vlan" => {
                let vid = values::parse_int(v).ok_or_else(|| t.err("dl_vlan must be a number"))?;
                if vid == 0xffff {
                    m.set_masked(Field::VlanTci, 0, 0xffff);
                } else if vid <= 4095 {
                    let (cv, cm) = m.get(Field::VlanTci);
                    let mask = cm | u128::from(VLAN_VID_MASK | VLAN_CFI);
                    m.set_masked(Field::VlanTci, (cv & !u128::from(VLAN_VID_MASK)) | vid | u128::from(VLAN_CFI), mask);
                } else {
                    return Err(t.err("VLAN id out of range (0..4095, or 0xffff for no tag)"));
                }
            }
            "dl_vlan_pcp" => {
                let pcp = values::parse_int(v).filter(|p| *p <= 7).ok_or_else(|| t.err("dl_vlan_pcp must be 0..7"))?;
                let (cv, cm) = m.get(Field::VlanTci);
                let mask = cm | u128::from(VLAN_PCP_MASK | VLAN_CFI);
                m.set_masked(
                    Field::VlanTci,
                    (cv & !u128::from(VLAN_PCP_MASK)) | (pcp << 13) | u128::from(VLAN_CFI),
                    mask,
                );
            }
            "nw_tos" => {
                let tos = values::parse_int(v)
                    .filter(|n| *n <= 0xff && n.trailing_zeros() >= 2)
                    .ok_or_else(|| t.err("nw_tos must be 0..255 with the two low (ECN) bits clear"))?;
                let (cv, cm) = m.get(Field::IpTos);
                m.set_masked(Field::IpTos, (cv & 3) | tos, cm | 0xfc);
            }
            "ip_frag" | "nw_frag" => {
                let any = u128::from(FRAG_ANY);
                let later = u128::from(FRAG_LATER);
                let (val, mask) = match v {
                    "no" => (0, any),
                    "yes" => (any, any),
                    "first" => (any, any | later),
                    "later" => (any | later, any | later),
                    "not_later" => (0, later),
                    _ => return Err(t.err("ip_frag must be no, yes, first, later or not_later")),
                };
                m.set_masked(Field::IpFrag, val, mask);
            }
            "tcp_flags" => {
                let (val, mask) = parse_tcp_flags(t, v)?;
                m.set_masked(Field::TcpFlags, val, mask);
            }
            _ => {
                let named = names::lookup(k).ok_or_else(|| t.err("unknown field"))?;
                let style = names::style(named.field);
                let (val, mask) = parse_masked(style, v, named.bits)
                    .ok_or_else(|| t.err(format!("bad value for {} ({} bits)", named.field, named.bits)))?;
                let (val, mask) =
                    if named.field == Field::InPort && mask != named.field.max_value() && mask == (1 << named.bits) - 1
                    {
                        (val, named.field.max_value())
                    } else {
                        (val, mask)
                    };
                m.set_masked(named.field, val, mask);
            }
        }
    }
    Ok((m, priority))
}
