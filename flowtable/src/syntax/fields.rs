//! Field names (ovs-ofctl, NXM and OXM spellings), value syntax per field, and subfields.
//!
//! Open vSwitch knows each field by several names: the match keyword (`dl_src`, `nw_src`),
//! the meta-flow name printed by `set_field` and `learn` (`eth_src`, `ip_src`) and the NXM/OXM
//! name printed in subfields (`NXM_OF_ETH_SRC[]`). This module maps all of them onto
//! [`Field`] and reads and writes values in the syntax lib/meta-flow.c uses for each field.

use super::lexer::{parse_ipv4, parse_ipv6, parse_mac, parse_uint, prefix_mask};
use crate::field::{Field, SubField};
use crate::port::PortNo;
use std::net::{Ipv4Addr, Ipv6Addr};

/// How a field's values are written (meta-flow's `mf_string`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// Decimal integer.
    Decimal,
    /// Hexadecimal integer with `0x`.
    Hex,
    /// OpenFlow port number or reserved name.
    Port,
    /// Ethernet address.
    Ethernet,
    /// IPv4 address.
    Ipv4,
    /// IPv6 address.
    Ipv6,
}

/// The value syntax of a field.
pub(crate) fn style(field: Field) -> Style {
    match field {
        Field::InPort => Style::Port,
        Field::EthSrc | Field::EthDst | Field::ArpSha | Field::ArpTha | Field::NdSll | Field::NdTll => Style::Ethernet,
        Field::Ipv4Src | Field::Ipv4Dst | Field::ArpSpa | Field::ArpTpa | Field::TunSrc | Field::TunDst => Style::Ipv4,
        Field::Ipv6Src | Field::Ipv6Dst | Field::NdTarget => Style::Ipv6,
        Field::VlanVid
        | Field::VlanPcp
        | Field::IpProto
        | Field::IpTos
        | Field::IpDscp
        | Field::IpEcn
        | Field::IpTtl
        | Field::ArpOp
        | Field::TpSrc
        | Field::TpDst
        | Field::IcmpType
        | Field::IcmpCode => Style::Decimal,
        _ => Style::Hex,
    }
}

/// The meta-flow name (what `set_field:...->NAME` and `learn(NAME=...)` print).
pub(crate) fn mf_name(field: Field) -> String {
    let fixed = match field {
        Field::Reg(i) => return format!("reg{i}"),
        Field::Xreg(i) => return format!("xreg{i}"),
        Field::EthSrc => "eth_src",
        Field::EthDst => "eth_dst",
        Field::EthType => "eth_type",
        Field::Ipv4Src => "ip_src",
        Field::Ipv4Dst => "ip_dst",
        Field::IpEcn => "nw_ecn",
        Field::IpTos => "nw_tos_byte",
        Field::TpSrc => "tcp_src",
        Field::TpDst => "tcp_dst",
        other => return other.name(),
    };
    fixed.to_owned()
}

/// The NXM or OXM name (what subfields such as `NXM_OF_ETH_SRC[]` print).
pub(crate) fn nxm_name(field: Field) -> String {
    let fixed = match field {
        Field::Reg(i) => return format!("NXM_NX_REG{i}"),
        Field::Xreg(i) => return format!("OXM_OF_PKT_REG{i}"),
        Field::InPort => "NXM_OF_IN_PORT",
        Field::Metadata => "OXM_OF_METADATA",
        Field::TunId => "NXM_NX_TUN_ID",
        Field::TunSrc => "NXM_NX_TUN_IPV4_SRC",
        Field::TunDst => "NXM_NX_TUN_IPV4_DST",
        Field::EthDst => "NXM_OF_ETH_DST",
        Field::EthSrc => "NXM_OF_ETH_SRC",
        Field::EthType => "NXM_OF_ETH_TYPE",
        Field::VlanTci => "NXM_OF_VLAN_TCI",
        Field::VlanVid => "OXM_OF_VLAN_VID",
        Field::VlanPcp => "OXM_OF_VLAN_PCP",
        Field::VlanTci1 => "vlan_tci1",
        Field::Ipv4Src => "NXM_OF_IP_SRC",
        Field::Ipv4Dst => "NXM_OF_IP_DST",
        Field::Ipv6Src => "NXM_NX_IPV6_SRC",
        Field::Ipv6Dst => "NXM_NX_IPV6_DST",
        Field::Ipv6Label => "NXM_NX_IPV6_LABEL",
        Field::IpProto => "NXM_OF_IP_PROTO",
        Field::IpTos => "nw_tos_byte",
        Field::IpDscp => "OXM_OF_IP_DSCP",
        Field::IpEcn => "NXM_NX_IP_ECN",
        Field::IpTtl => "NXM_NX_IP_TTL",
        Field::IpFrag => "NXM_NX_IP_FRAG",
        Field::ArpOp => "NXM_OF_ARP_OP",
        Field::ArpSpa => "NXM_OF_ARP_SPA",
        Field::ArpTpa => "NXM_OF_ARP_TPA",
        Field::ArpSha => "NXM_NX_ARP_SHA",
        Field::ArpTha => "NXM_NX_ARP_THA",
        Field::TpSrc => "NXM_OF_TCP_SRC",
        Field::TpDst => "NXM_OF_TCP_DST",
        Field::TcpFlags => "NXM_NX_TCP_FLAGS",
        Field::IcmpType => "NXM_OF_ICMP_TYPE",
        Field::IcmpCode => "NXM_OF_ICMP_CODE",
        Field::NdTarget => "NXM_NX_ND_TARGET",
        Field::NdSll => "NXM_NX_ND_SLL",
        Field::NdTll => "NXM_NX_ND_TLL",
    };
    fixed.to_owned()
}

/// Looks a field up by any of its names. `dl_vlan`, `dl_vlan_pcp`, `nw_tos` and `ip_frag`
/// have special syntax and are handled by the match parser before this.
pub(crate) fn lookup(name: &str) -> Option<Field> {
    if let Some(f) = numbered(name) {
        return Some(f);
    }
    let field = match name {
        "in_port" | "NXM_OF_IN_PORT" | "OXM_OF_IN_PORT" => Field::InPort,
        "metadata" | "OXM_OF_METADATA" => Field::Metadata,
        "tun_id" | "tunnel_id" | "NXM_NX_TUN_ID" | "OXM_OF_TUNNEL_ID" => Field::TunId,
        "tun_src" | "NXM_NX_TUN_IPV4_SRC" => Field::TunSrc,
        "tun_dst" | "NXM_NX_TUN_IPV4_DST" => Field::TunDst,
        "dl_dst" | "eth_dst" | "NXM_OF_ETH_DST" | "OXM_OF_ETH_DST" => Field::EthDst,
        "dl_src" | "eth_src" | "NXM_OF_ETH_SRC" | "OXM_OF_ETH_SRC" => Field::EthSrc,
        "dl_type" | "eth_type" | "NXM_OF_ETH_TYPE" | "OXM_OF_ETH_TYPE" => Field::EthType,
        "vlan_tci" | "NXM_OF_VLAN_TCI" => Field::VlanTci,
        "vlan_vid" | "OXM_OF_VLAN_VID" => Field::VlanVid,
        "vlan_pcp" | "OXM_OF_VLAN_PCP" => Field::VlanPcp,
        "nw_src" | "ip_src" | "NXM_OF_IP_SRC" | "OXM_OF_IPV4_SRC" => Field::Ipv4Src,
        "nw_dst" | "ip_dst" | "NXM_OF_IP_DST" | "OXM_OF_IPV4_DST" => Field::Ipv4Dst,
        "ipv6_src" | "NXM_NX_IPV6_SRC" | "OXM_OF_IPV6_SRC" => Field::Ipv6Src,
        "ipv6_dst" | "NXM_NX_IPV6_DST" | "OXM_OF_IPV6_DST" => Field::Ipv6Dst,
        "ipv6_label" | "NXM_NX_IPV6_LABEL" | "OXM_OF_IPV6_FLABEL" => Field::Ipv6Label,
        "nw_proto" | "ip_proto" | "NXM_OF_IP_PROTO" | "OXM_OF_IP_PROTO" => Field::IpProto,
        "ip_dscp" | "OXM_OF_IP_DSCP" => Field::IpDscp,
        "nw_ecn" | "ip_ecn" | "NXM_NX_IP_ECN" | "OXM_OF_IP_ECN" => Field::IpEcn,
        "nw_ttl" | "NXM_NX_IP_TTL" => Field::IpTtl,
        "ip_frag" | "nw_frag" | "NXM_NX_IP_FRAG" => Field::IpFrag,
        "arp_op" | "NXM_OF_ARP_OP" | "OXM_OF_ARP_OP" => Field::ArpOp,
        "arp_spa" | "NXM_OF_ARP_SPA" | "OXM_OF_ARP_SPA" => Field::ArpSpa,
        "arp_tpa" | "NXM_OF_ARP_TPA" | "OXM_OF_ARP_TPA" => Field::ArpTpa,
        "arp_sha" | "NXM_NX_ARP_SHA" | "OXM_OF_ARP_SHA" => Field::ArpSha,
        "arp_tha" | "NXM_NX_ARP_THA" | "OXM_OF_ARP_THA" => Field::ArpTha,
        "tp_src" | "tcp_src" | "udp_src" | "sctp_src" | "NXM_OF_TCP_SRC" | "NXM_OF_UDP_SRC" | "OXM_OF_TCP_SRC"
        | "OXM_OF_UDP_SRC" | "OXM_OF_SCTP_SRC" => Field::TpSrc,
        "tp_dst" | "tcp_dst" | "udp_dst" | "sctp_dst" | "NXM_OF_TCP_DST" | "NXM_OF_UDP_DST" | "OXM_OF_TCP_DST"
        | "OXM_OF_UDP_DST" | "OXM_OF_SCTP_DST" => Field::TpDst,
        "tcp_flags" | "NXM_NX_TCP_FLAGS" => Field::TcpFlags,
        "icmp_type" | "icmpv6_type" | "NXM_OF_ICMP_TYPE" | "NXM_NX_ICMPV6_TYPE" | "OXM_OF_ICMPV4_TYPE"
        | "OXM_OF_ICMPV6_TYPE" => Field::IcmpType,
        "icmp_code" | "icmpv6_code" | "NXM_OF_ICMP_CODE" | "NXM_NX_ICMPV6_CODE" | "OXM_OF_ICMPV4_CODE"
        | "OXM_OF_ICMPV6_CODE" => Field::IcmpCode,
        "nd_target" | "NXM_NX_ND_TARGET" | "OXM_OF_IPV6_ND_TARGET" => Field::NdTarget,
        "nd_sll" | "NXM_NX_ND_SLL" | "OXM_OF_IPV6_ND_SLL" => Field::NdSll,
        "nd_tll" | "NXM_NX_ND_TLL" | "OXM_OF_IPV6_ND_TLL" => Field::NdTll,
        _ => return None,
    };
    Some(field)
}

/// `regN`, `NXM_NX_REGN`, `xregN`, `OXM_OF_PKT_REGN`.
fn numbered(name: &str) -> Option<Field> {
    let index = |digits: &str, max: u8| -> Option<u8> {
        if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<u8>().ok().filter(|i| *i < max)
    };
    if let Some(d) = name.strip_prefix("NXM_NX_REG").or_else(|| name.strip_prefix("reg")) {
        return index(d, 16).map(Field::Reg);
    }
    if let Some(d) = name.strip_prefix("OXM_OF_PKT_REG").or_else(|| name.strip_prefix("xreg")) {
        return index(d, 8).map(Field::Xreg);
    }
    None
}

/// Parses one value of a field in its style (no mask).
pub(crate) fn parse_value(field: Field, s: &str) -> Result<u128, String> {
    let v = match style(field) {
        Style::Port => {
            let port = PortNo::parse(s).ok_or_else(|| format!("`{s}` is not a port number or name"))?;
            u128::from(port.0)
        }
        Style::Ethernet => parse_mac(s)?,
        Style::Ipv4 => parse_ipv4(s)?,
        Style::Ipv6 => parse_ipv6(s)?,
        Style::Decimal | Style::Hex => parse_uint(s, u128::MAX)?,
    };
    if v > field.max_value() {
        return Err(format!("value `{s}` does not fit in {} ({} bits)", field.name(), field.bits()));
    }
    Ok(v)
}

/// Whether Open vSwitch lets the field be matched with an arbitrary mask.
pub(crate) fn maskable(field: Field) -> bool {
    match field {
        Field::EthType => false,
        Field::TpSrc | Field::TpDst | Field::VlanVid => true,
        f => !matches!(style(f), Style::Decimal | Style::Port),
    }
}

/// Parses `VALUE[/MASK]`; addresses also take `/PREFIXLEN`. Returns the value already masked.
pub(crate) fn parse_masked(field: Field, s: &str) -> Result<(u128, u128), String> {
    parse_masked_as(field, s, maskable(field))
}

/// [`parse_masked`], with masks allowed or not whatever the field (`set_field` takes any mask).
pub(crate) fn parse_masked_as(field: Field, s: &str, allow_mask: bool) -> Result<(u128, u128), String> {
    let Some((v, m)) = s.split_once('/') else {
        return Ok((parse_value(field, s)?, field.max_value()));
    };
    if !allow_mask {
        return Err(format!("{} cannot be masked", field.name()));
    }
    let value = match style(field) {
        // A masked port is a plain number of the field's width (or a port name).
        Style::Port => parse_value(field, v).or_else(|_| parse_uint(v, field.max_value()))?,
        _ => parse_value(field, v)?,
    };
    let is_prefix = m.bytes().all(|b| b.is_ascii_digit()) && !m.is_empty();
    let mask = match style(field) {
        Style::Ipv4 | Style::Ipv6 if is_prefix => {
            let prefix: u32 = m.parse().map_err(|_| format!("bad prefix length `{m}`"))?;
            if prefix > field.bits() {
                return Err(format!("prefix length {prefix} is longer than {} bits", field.bits()));
            }
            prefix_mask(prefix, field.bits())
        }
        Style::Port => parse_uint(m, field.max_value())?,
        _ => parse_value(field, m)?,
    };
    Ok((value & mask, mask))
}

/// Whether [`format_value`] shows `v` exactly (a port-style field shows only 16 bits).
pub(crate) fn prints_exactly(field: Field, v: u128) -> bool {
    style(field) != Style::Port || v <= 0xffff
}

/// Formats a value in the field's style.
pub(crate) fn format_value(field: Field, v: u128, ports: Option<&dyn Fn(PortNo) -> Option<String>>) -> String {
    match style(field) {
        Style::Decimal => v.to_string(),
        Style::Hex => format!("{v:#x}"),
        Style::Port => super::printer::port_name(PortNo(v as u16), ports),
        Style::Ethernet => format_mac(v),
        Style::Ipv4 => Ipv4Addr::from(v as u32).to_string(),
        Style::Ipv6 => Ipv6Addr::from(v).to_string(),
    }
}

/// Formats an Ethernet address.
pub(crate) fn format_mac(v: u128) -> String {
    let b = (v as u64).to_be_bytes();
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[2], b[3], b[4], b[5], b[6], b[7])
}

/// Parses a subfield: `NAME[]`, `NAME[BIT]`, `NAME[START..END]` or a bare `NAME` (whole field).
pub(crate) fn parse_subfield(s: &str) -> Result<SubField, String> {
    let (name, range) = match s.find('[') {
        Some(pos) => {
            let inner = s[pos + 1..].strip_suffix(']').ok_or_else(|| format!("`{s}`: missing `]`"))?;
            (&s[..pos], Some(inner))
        }
        None => (s, None),
    };
    let field = lookup(name).ok_or_else(|| format!("unknown field `{name}`"))?;
    let bits = field.bits();
    let (ofs, n_bits) = match range {
        None | Some("") => (0, bits),
        Some(r) => {
            let (start, end) = match r.split_once("..") {
                Some((a, b)) => (a, b),
                None => (r, r),
            };
            let start = parse_uint(start, 127)? as u32;
            let end = parse_uint(end, 127)? as u32;
            if end < start {
                return Err(format!("`{s}`: bit range ends before it starts"));
            }
            (start, end - start + 1)
        }
    };
    let sf = SubField { field, ofs, n_bits };
    if !sf.is_valid() {
        return Err(format!("`{s}`: bits {ofs}..{} do not fit in {bits}-bit {name}", ofs + n_bits - 1));
    }
    Ok(sf)
}

/// Formats a subfield with its NXM/OXM name, as `mf_format_subfield` does.
pub(crate) fn format_subfield(sf: SubField) -> String {
    let name = nxm_name(sf.field);
    if sf.ofs == 0 && sf.n_bits == sf.field.bits() {
        format!("{name}[]")
    } else if sf.n_bits == 1 {
        format!("{name}[{}]", sf.ofs)
    } else {
        format!("{name}[{}..{}]", sf.ofs, sf.ofs + sf.n_bits - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_name_that_looks_up() {
        for f in Field::all().filter(|f| !matches!(f, Field::IpTos | Field::VlanTci1)) {
            assert_eq!(lookup(&nxm_name(f)), Some(f), "{f}");
            assert_eq!(lookup(&mf_name(f)), Some(f), "{f}");
        }
    }

    #[test]
    fn subfields() {
        let sf = parse_subfield("NXM_OF_VLAN_TCI[0..11]");
        assert_eq!(sf, Ok(SubField { field: Field::VlanTci, ofs: 0, n_bits: 12 }));
        assert_eq!(parse_subfield("reg0[5]").map(format_subfield).as_deref(), Ok("NXM_NX_REG0[5]"));
        assert_eq!(parse_subfield("eth_src[]").map(format_subfield).as_deref(), Ok("NXM_OF_ETH_SRC[]"));
        assert!(parse_subfield("reg0[0..32]").is_err());
        assert!(parse_subfield("reg0[3..1]").is_err());
        assert!(parse_subfield("bogus[]").is_err());
    }

    #[test]
    fn masked_values() {
        assert_eq!(parse_masked(Field::Ipv4Src, "10.0.0.1/24"), Ok((0x0a00_0000, 0xffff_ff00)));
        assert_eq!(parse_masked(Field::Ipv4Src, "10.0.0.1/255.0.0.255"), Ok((0x0a00_0001, 0xff00_00ff)));
        assert!(parse_masked(Field::Ipv4Src, "10.0.0.1/33").is_err());
        assert!(parse_masked(Field::IpProto, "256").is_err());
    }
}
