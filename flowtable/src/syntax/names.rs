//! Field names as ovs-ofctl accepts them (OpenFlow 1.0 style `dl_src`, OXM style `eth_src`,
//! and the NXM/OXM constant names used in Nicira subfields such as `NXM_OF_VLAN_TCI[0..11]`),
//! and how each field's values are written.

use crate::field::{Field, SubField};

/// How a field's values are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Decimal.
    Decimal,
    /// Hexadecimal with 0x.
    Hex,
    /// Ethernet address.
    Mac,
    /// Dotted IPv4.
    Ipv4,
    /// IPv6 text.
    Ipv6,
    /// An OpenFlow port (number or reserved name).
    Port,
}

/// The style of a field's values.
pub fn style(field: Field) -> Style {
    match field {
        Field::InPort => Style::Port,
        Field::EthSrc | Field::EthDst | Field::ArpSha | Field::ArpTha | Field::NdSll | Field::NdTll => Style::Mac,
        Field::Ipv4Src | Field::Ipv4Dst | Field::ArpSpa | Field::ArpTpa | Field::TunSrc | Field::TunDst => Style::Ipv4,
        Field::Ipv6Src | Field::Ipv6Dst | Field::NdTarget => Style::Ipv6,
        Field::VlanVid
        | Field::VlanPcp
        | Field::IpProto
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

/// A named field: the field, and the width the name gives it (NXM_OF_IN_PORT is 16 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Named {
    /// The field.
    pub field: Field,
    /// Width in bits under this name.
    pub bits: u32,
}

#[allow(clippy::unnecessary_wraps)] // the lookup's result, built in one place
fn named(field: Field) -> Option<Named> {
    Some(Named { field, bits: field.bits() })
}

/// Looks a field up by any of its names (case-insensitive for the NXM/OXM constants).
pub fn lookup(name: &str) -> Option<Named> {
    if let Some(n) = name.strip_prefix("reg").and_then(|n| n.parse::<u8>().ok()).filter(|n| *n < 16) {
        return named(Field::Reg(n));
    }
    if let Some(n) = name.strip_prefix("xreg").and_then(|n| n.parse::<u8>().ok()).filter(|n| *n < 8) {
        return named(Field::Xreg(n));
    }
    let upper = name.to_ascii_uppercase();
    if let Some(n) = upper.strip_prefix("NXM_NX_REG").and_then(|n| n.parse::<u8>().ok()).filter(|n| *n < 16) {
        return named(Field::Reg(n));
    }
    if let Some(n) = upper.strip_prefix("OXM_OF_PKT_REG").and_then(|n| n.parse::<u8>().ok()).filter(|n| *n < 8) {
        return named(Field::Xreg(n));
    }
    let field = match name {
        "in_port" => Field::InPort,
        "metadata" => Field::Metadata,
        "tun_id" | "tunnel_id" => Field::TunId,
        "tun_src" => Field::TunSrc,
        "tun_dst" => Field::TunDst,
        "dl_src" | "eth_src" => Field::EthSrc,
        "dl_dst" | "eth_dst" => Field::EthDst,
        "dl_type" | "eth_type" => Field::EthType,
        "vlan_tci" => Field::VlanTci,
        "vlan_vid" => Field::VlanVid,
        "vlan_pcp" => Field::VlanPcp,
        "nw_src" | "ip_src" | "ipv4_src" => Field::Ipv4Src,
        "nw_dst" | "ip_dst" | "ipv4_dst" => Field::Ipv4Dst,
        "ipv6_src" => Field::Ipv6Src,
        "ipv6_dst" => Field::Ipv6Dst,
        "ipv6_label" => Field::Ipv6Label,
        "nw_proto" | "ip_proto" => Field::IpProto,
        "ip_dscp" => Field::IpDscp,
        "nw_ecn" | "ip_ecn" => Field::IpEcn,
        "nw_ttl" => Field::IpTtl,
        "ip_frag" | "nw_frag" => Field::IpFrag,
        "arp_op" => Field::ArpOp,
        "arp_spa" => Field::ArpSpa,
        "arp_tpa" => Field::ArpTpa,
        "arp_sha" => Field::ArpSha,
        "arp_tha" => Field::ArpTha,
        "tp_src" | "tcp_src" | "udp_src" | "sctp_src" => Field::TpSrc,
        "tp_dst" | "tcp_dst" | "udp_dst" | "sctp_dst" => Field::TpDst,
        "tcp_flags" => Field::TcpFlags,
        "icmp_type" | "icmpv6_type" => Field::IcmpType,
        "icmp_code" | "icmpv6_code" => Field::IcmpCode,
        "nd_target" => Field::NdTarget,
        "nd_sll" => Field::NdSll,
        "nd_tll" => Field::NdTll,
        _ => return lookup_constant(&upper),
    };
    named(field)
}

fn lookup_constant(upper: &str) -> Option<Named> {
    let (field, bits) = match upper {
        "NXM_OF_IN_PORT" => (Field::InPort, 16),
        "OXM_OF_IN_PORT" => (Field::InPort, 32),
        "OXM_OF_METADATA" => (Field::Metadata, 64),
        "NXM_NX_TUN_ID" | "OXM_OF_TUNNEL_ID" => (Field::TunId, 64),
        "NXM_NX_TUN_IPV4_SRC" => (Field::TunSrc, 32),
        "NXM_NX_TUN_IPV4_DST" => (Field::TunDst, 32),
        "NXM_OF_ETH_SRC" | "OXM_OF_ETH_SRC" => (Field::EthSrc, 48),
        "NXM_OF_ETH_DST" | "OXM_OF_ETH_DST" => (Field::EthDst, 48),
        "NXM_OF_ETH_TYPE" | "OXM_OF_ETH_TYPE" => (Field::EthType, 16),
        "NXM_OF_VLAN_TCI" => (Field::VlanTci, 16),
        "OXM_OF_VLAN_VID" => (Field::VlanVid, 13),
        "OXM_OF_VLAN_PCP" => (Field::VlanPcp, 3),
        "NXM_OF_IP_SRC" | "OXM_OF_IPV4_SRC" => (Field::Ipv4Src, 32),
        "NXM_OF_IP_DST" | "OXM_OF_IPV4_DST" => (Field::Ipv4Dst, 32),
        "NXM_NX_IPV6_SRC" | "OXM_OF_IPV6_SRC" => (Field::Ipv6Src, 128),
        "NXM_NX_IPV6_DST" | "OXM_OF_IPV6_DST" => (Field::Ipv6Dst, 128),
        "NXM_NX_IPV6_LABEL" | "OXM_OF_IPV6_FLABEL" => (Field::Ipv6Label, 20),
        "NXM_OF_IP_PROTO" | "OXM_OF_IP_PROTO" => (Field::IpProto, 8),
        "NXM_OF_IP_TOS" => (Field::IpTos, 8),
        "OXM_OF_IP_DSCP" => (Field::IpDscp, 6),
        "NXM_NX_IP_ECN" | "OXM_OF_IP_ECN" => (Field::IpEcn, 2),
        "NXM_NX_IP_TTL" => (Field::IpTtl, 8),
        "NXM_NX_IP_FRAG" => (Field::IpFrag, 8),
        "NXM_OF_ARP_OP" | "OXM_OF_ARP_OP" => (Field::ArpOp, 8),
        "NXM_OF_ARP_SPA" | "OXM_OF_ARP_SPA" => (Field::ArpSpa, 32),
        "NXM_OF_ARP_TPA" | "OXM_OF_ARP_TPA" => (Field::ArpTpa, 32),
        "NXM_NX_ARP_SHA" | "OXM_OF_ARP_SHA" => (Field::ArpSha, 48),
        "NXM_NX_ARP_THA" | "OXM_OF_ARP_THA" => (Field::ArpTha, 48),
        "NXM_OF_TCP_SRC" | "NXM_OF_UDP_SRC" | "OXM_OF_TCP_SRC" | "OXM_OF_UDP_SRC" | "OXM_OF_SCTP_SRC" => {
            (Field::TpSrc, 16)
        }
        "NXM_OF_TCP_DST" | "NXM_OF_UDP_DST" | "OXM_OF_TCP_DST" | "OXM_OF_UDP_DST" | "OXM_OF_SCTP_DST" => {
            (Field::TpDst, 16)
        }
        "NXM_NX_TCP_FLAGS" => (Field::TcpFlags, 12),
        "NXM_OF_ICMP_TYPE" | "NXM_NX_ICMPV6_TYPE" | "OXM_OF_ICMPV4_TYPE" | "OXM_OF_ICMPV6_TYPE" => (Field::IcmpType, 8),
        "NXM_OF_ICMP_CODE" | "NXM_NX_ICMPV6_CODE" | "OXM_OF_ICMPV4_CODE" | "OXM_OF_ICMPV6_CODE" => (Field::IcmpCode, 8),
        "NXM_NX_ND_TARGET" | "OXM_OF_IPV6_ND_TARGET" => (Field::NdTarget, 128),
        "NXM_NX_ND_SLL" | "OXM_OF_IPV6_ND_SLL" => (Field::NdSll, 48),
        "NXM_NX_ND_TLL" | "OXM_OF_IPV6_ND_TLL" => (Field::NdTll, 48),
        _ => return None,
    };
    Some(Named { field, bits })
}

/// The NXM/OXM constant name Open vSwitch prints in subfields, and its width.
pub fn constant_name(field: Field) -> (String, u32) {
    let s = match field {
        Field::Reg(i) => return (format!("NXM_NX_REG{i}"), 32),
        Field::Xreg(i) => return (format!("OXM_OF_PKT_REG{i}"), 64),
        Field::InPort => ("NXM_OF_IN_PORT", 16),
        Field::Metadata => ("OXM_OF_METADATA", 64),
        Field::TunId => ("NXM_NX_TUN_ID", 64),
        Field::TunSrc => ("NXM_NX_TUN_IPV4_SRC", 32),
        Field::TunDst => ("NXM_NX_TUN_IPV4_DST", 32),
        Field::EthSrc => ("NXM_OF_ETH_SRC", 48),
        Field::EthDst => ("NXM_OF_ETH_DST", 48),
        Field::EthType => ("NXM_OF_ETH_TYPE", 16),
        Field::VlanTci => ("NXM_OF_VLAN_TCI", 16),
        Field::VlanVid => ("OXM_OF_VLAN_VID", 13),
        Field::VlanPcp => ("OXM_OF_VLAN_PCP", 3),
        Field::VlanTci1 => ("NXM_NX_VLAN_TCI1", 16),
        Field::Ipv4Src => ("NXM_OF_IP_SRC", 32),
        Field::Ipv4Dst => ("NXM_OF_IP_DST", 32),
        Field::Ipv6Src => ("NXM_NX_IPV6_SRC", 128),
        Field::Ipv6Dst => ("NXM_NX_IPV6_DST", 128),
        Field::Ipv6Label => ("NXM_NX_IPV6_LABEL", 20),
        Field::IpProto => ("NXM_OF_IP_PROTO", 8),
        Field::IpTos => ("NXM_OF_IP_TOS", 8),
        Field::IpDscp => ("OXM_OF_IP_DSCP", 6),
        Field::IpEcn => ("NXM_NX_IP_ECN", 2),
        Field::IpTtl => ("NXM_NX_IP_TTL", 8),
        Field::IpFrag => ("NXM_NX_IP_FRAG", 8),
        Field::ArpOp => ("NXM_OF_ARP_OP", 8),
        Field::ArpSpa => ("NXM_OF_ARP_SPA", 32),
        Field::ArpTpa => ("NXM_OF_ARP_TPA", 32),
        Field::ArpSha => ("NXM_NX_ARP_SHA", 48),
        Field::ArpTha => ("NXM_NX_ARP_THA", 48),
        Field::TpSrc => ("NXM_OF_TCP_SRC", 16),
        Field::TpDst => ("NXM_OF_TCP_DST", 16),
        Field::TcpFlags => ("NXM_NX_TCP_FLAGS", 12),
        Field::IcmpType => ("NXM_OF_ICMP_TYPE", 8),
        Field::IcmpCode => ("NXM_OF_ICMP_CODE", 8),
        Field::NdTarget => ("NXM_NX_ND_TARGET", 128),
        Field::NdSll => ("NXM_NX_ND_SLL", 48),
        Field::NdTll => ("NXM_NX_ND_TLL", 48),
    };
    (s.0.to_owned(), s.1)
}

/// Formats a subfield as Open vSwitch does: `NXM_OF_VLAN_TCI[0..11]`, `NXM_NX_REG0[]`, `NXM_NX_REG0[5]`.
pub fn format_subfield(sf: SubField) -> String {
    let (name, width) = constant_name(sf.field);
    if sf.ofs == 0 && sf.n_bits == width {
        format!("{name}[]")
    } else if sf.n_bits == 1 {
        format!("{name}[{}]", sf.ofs)
    } else {
        format!("{name}[{}..{}]", sf.ofs, sf.ofs + sf.n_bits - 1)
    }
}

/// The name Open vSwitch prints after `set_field:...->` (its meta-flow field name).
pub fn oxm_name(field: Field) -> String {
    match field {
        Field::EthSrc => "eth_src".into(),
        Field::EthDst => "eth_dst".into(),
        Field::EthType => "eth_type".into(),
        Field::Ipv4Src => "ip_src".into(),
        Field::Ipv4Dst => "ip_dst".into(),
        Field::IpProto => "nw_proto".into(),
        Field::IpFrag => "ip_frag".into(),
        Field::TpSrc => "tp_src".into(),
        Field::TpDst => "tp_dst".into(),
        Field::IcmpType => "icmp_type".into(),
        Field::IcmpCode => "icmp_code".into(),
        other => other.name(),
    }
}
