//! Parsing the match part of a flow: `in_port=1,dl_vlan=5,tcp,tp_dst=80,...`.
//!
//! Follows lib/ofp-flow.c `parse_ofp_str__` and lib/meta-flow.c `mf_parse`: protocol
//! shorthands (`tcp`, `arp`, ...), the OpenFlow 1.0 VLAN keywords (`dl_vlan`, `dl_vlan_pcp`,
//! with Open vSwitch's CFI-means-present TCI convention), `nw_tos` (the DSCP bits of the TOS
//! byte), `ip_frag` keywords and the `tcp_flags` flag syntax, plus every field name that
//! [`super::fields::lookup`] knows (ovs-ofctl, NXM and OXM spellings).

use super::fields::{lookup, parse_masked};
use super::lexer::{parse_u16, parse_uint, Word};
use super::SyntaxError;
use crate::field::{ethertype, ipproto, Field, FRAG_ANY, FRAG_LATER, VLAN_CFI, VLAN_PCP_MASK, VLAN_VID_MASK};
use crate::flow_match::Match;

/// Names of TCP flag bits, lowest bit first (lib/packets.c `packet_tcp_flag_to_string`).
pub(crate) const TCP_FLAG_NAMES: [&str; 12] =
    ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns", "[200]", "[400]", "[800]"];

/// Mask of all 12 TCP flag bits.
pub(crate) const TCP_FLAGS_ALL: u128 = 0x0fff;

/// The protocol shorthands: name, ethertype, IP protocol.
pub(crate) const SHORTHANDS: [(&str, u16, Option<u8>); 12] = [
    ("ip", ethertype::IPV4, None),
    ("ipv6", ethertype::IPV6, None),
    ("arp", ethertype::ARP, None),
    ("rarp", ethertype::RARP, None),
    ("icmp", ethertype::IPV4, Some(ipproto::ICMP)),
    ("icmp6", ethertype::IPV6, Some(ipproto::ICMPV6)),
    ("tcp", ethertype::IPV4, Some(ipproto::TCP)),
    ("tcp6", ethertype::IPV6, Some(ipproto::TCP)),
    ("udp", ethertype::IPV4, Some(ipproto::UDP)),
    ("udp6", ethertype::IPV6, Some(ipproto::UDP)),
    ("sctp", ethertype::IPV4, Some(ipproto::SCTP)),
    ("sctp6", ethertype::IPV6, Some(ipproto::SCTP)),
];

/// What a match word was.
pub(crate) enum MatchWord {
    /// It changed the match.
    Field,
    /// `priority=N`.
    Priority(u16),
}

/// Applies one match word (`key`, `key=value`) to `m`.
pub(crate) fn apply_match_word(m: &mut Match, word: &Word<'_>) -> Result<MatchWord, SyntaxError> {
    let text = word.text;
    let (key, value) = match text.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (text, None),
    };
    let err = |msg: String| word.error(msg);
    if let Some((_, eth, proto)) = SHORTHANDS.iter().find(|(name, _, _)| *name == key) {
        if value.is_some() {
            return Err(err(format!("`{key}` takes no value")));
        }
        m.set(Field::EthType, u128::from(*eth));
        if let Some(p) = proto {
            m.set(Field::IpProto, u128::from(*p));
        }
        return Ok(MatchWord::Field);
    }
    let Some(value) = value else {
        return Err(err(format!("`{key}` is not a match field or protocol (missing `=value`?)")));
    };
    match key {
        "priority" => return parse_u16(value).map(MatchWord::Priority).map_err(err),
        "dl_vlan" => set_dl_vlan(m, value).map_err(err)?,
        "dl_vlan_pcp" => {
            let pcp = parse_uint(value, 7).map_err(|_| err("VLAN priority out of range (0..7)".into()))?;
            let (v, mask) = m.get(Field::VlanTci);
            let pcp_bits = u128::from(VLAN_PCP_MASK | VLAN_CFI);
            m.set_masked(Field::VlanTci, (v & !pcp_bits) | (pcp << 13) | u128::from(VLAN_CFI), mask | pcp_bits);
        }
        "nw_tos" | "NXM_OF_IP_TOS" => {
            let tos = parse_uint(value, 255).map_err(err)?;
            if tos & 3 != 0 {
                return Err(err("nw_tos has ECN bits set (use a multiple of 4, or nw_ecn)".into()));
            }
            m.set(Field::IpDscp, tos >> 2);
        }
        "ip_frag" | "nw_frag" => {
            let (v, mask) = match value {
                "no" => (0, FRAG_ANY),
                "yes" => (FRAG_ANY, FRAG_ANY),
                "first" => (FRAG_ANY, FRAG_ANY | FRAG_LATER),
                "later" => (FRAG_ANY | FRAG_LATER, FRAG_ANY | FRAG_LATER),
                "not_later" => (0, FRAG_LATER),
                _ => return Err(err("ip_frag must be no, yes, first, later or not_later".into())),
            };
            m.set_masked(Field::IpFrag, v.into(), mask.into());
        }
        _ => {
            let field = lookup(key).ok_or_else(|| err(format!("unknown field `{key}`")))?;
            let (v, mask) = match field {
                Field::TcpFlags => parse_tcp_flags(value).map_err(err)?,
                Field::IpFrag => {
                    let (v, mask) = parse_masked(field, value).map_err(err)?;
                    let (v, mask) = (v & 3, mask & 3);
                    // Only the states the ip_frag keywords name, so that printing is unambiguous (OVS prints
                    // 0/3 and 0/1 alike as `no`).
                    if !matches!((v, mask), (0, 0..=2) | (1, 1 | 3) | (3, 3)) {
                        return Err(err("ip_frag value/mask names no fragment state".into()));
                    }
                    (v, mask)
                }
                _ => parse_masked(field, value).map_err(err)?,
            };
            // ICMP type and code live in tp_src/tp_dst, matched as whole 16-bit values as OVS does.
            let (field, mask) = match field {
                Field::IcmpType => (Field::TpSrc, 0xffff),
                Field::IcmpCode => (Field::TpDst, 0xffff),
                f => (f, mask),
            };
            m.set_masked(field, v, mask);
        }
    }
    Ok(MatchWord::Field)
}

/// `dl_vlan=VID` (0xffff: no tag).
fn set_dl_vlan(m: &mut Match, value: &str) -> Result<(), String> {
    let vid = parse_uint(value, 0xffff).map_err(|_| "VLAN id out of range (0..4095)".to_owned())?;
    let (v, mask) = m.get(Field::VlanTci);
    let vid_bits = u128::from(VLAN_VID_MASK | VLAN_CFI);
    if vid == 0xffff {
        m.set_masked(Field::VlanTci, 0, u128::from(VLAN_VID_MASK | VLAN_CFI));
    } else if vid > u128::from(VLAN_VID_MASK) {
        return Err("VLAN id out of range (0..4095)".to_owned());
    } else {
        m.set_masked(Field::VlanTci, (v & !vid_bits) | vid | u128::from(VLAN_CFI), mask | vid_bits);
    }
    Ok(())
}

/// `tcp_flags=+syn-ack`, `tcp_flags=syn|ack` (exact), or `tcp_flags=0x2/0x12`.
pub(crate) fn parse_tcp_flags(s: &str) -> Result<(u128, u128), String> {
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return parse_masked(Field::TcpFlags, s);
    }
    let bit_of = |name: &str| {
        TCP_FLAG_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| 1u128 << i)
            .ok_or_else(|| format!("unknown TCP flag `{name}`"))
    };
    if s.starts_with(['+', '-']) {
        let (mut v, mut mask) = (0u128, 0u128);
        let mut rest = s;
        while let Some(sign) = rest.chars().next() {
            let body = &rest[1..];
            let end = body.find(['+', '-']).unwrap_or(body.len());
            let bit = bit_of(&body[..end])?;
            if mask & bit != 0 {
                return Err(format!("TCP flag `{}` given twice", &body[..end]));
            }
            mask |= bit;
            if sign == '+' {
                v |= bit;
            }
            rest = &body[end..];
        }
        return Ok((v, mask));
    }
    let mut v = 0;
    for name in s.split('|') {
        v |= bit_of(name)?;
    }
    Ok((v, TCP_FLAGS_ALL))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str) -> Result<Match, SyntaxError> {
        let mut m = Match::ANY;
        apply_match_word(&mut m, &Word { text, offset: 0 }).map(|_| m)
    }

    #[test]
    fn vlan_keywords() {
        let m = apply("dl_vlan=5").unwrap_or_default();
        assert_eq!(m.get(Field::VlanTci), (0x1005, 0x1fff));
        let m = apply("dl_vlan=0xffff").unwrap_or_default();
        assert_eq!(m.get(Field::VlanTci), (0, 0x1fff));
        let e = apply("dl_vlan=5000").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("\"dl_vlan=5000\": VLAN id out of range (0..4095)"), "{e}");
    }

    #[test]
    fn tcp_flag_forms() {
        assert_eq!(parse_tcp_flags("+syn-ack"), Ok((2, 0x12)));
        assert_eq!(parse_tcp_flags("syn|ack"), Ok((0x12, 0xfff)));
        assert_eq!(parse_tcp_flags("0x2/0x12"), Ok((2, 0x12)));
        assert!(parse_tcp_flags("+bogus").is_err());
        assert!(parse_tcp_flags("+syn+syn").is_err());
    }
}
