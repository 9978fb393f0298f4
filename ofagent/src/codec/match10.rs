//! OpenFlow 1.0 `ofp_match` (40 bytes): wildcard bits, CIDR prefix lengths for nw_src/nw_dst,
//! and the dl_vlan/dl_vlan_pcp encoding of the VLAN TCI, as Open vSwitch interprets them.
//!
//! Like Open vSwitch, decoding ignores fields whose prerequisites are absent (OpenFlow 1.0
//! switches do). Encoding refuses matches 1.0 cannot express (masks other than CIDR, fields
//! 1.0 lacks): it re-decodes its own output and compares.

use flowtable::field::{ethertype, ipproto, VLAN_CFI};
use flowtable::{Field, Match};

use crate::error::OfError;
use crate::wire::{Reader, Writer};

/// Size of `ofp_match` in OpenFlow 1.0.
pub const MATCH10_LEN: usize = 40;

const OFPFW_IN_PORT: u32 = 1 << 0;
const OFPFW_DL_VLAN: u32 = 1 << 1;
const OFPFW_DL_SRC: u32 = 1 << 2;
const OFPFW_DL_DST: u32 = 1 << 3;
const OFPFW_DL_TYPE: u32 = 1 << 4;
const OFPFW_NW_PROTO: u32 = 1 << 5;
const OFPFW_TP_SRC: u32 = 1 << 6;
const OFPFW_TP_DST: u32 = 1 << 7;
const OFPFW_NW_SRC_SHIFT: u32 = 8;
const OFPFW_NW_DST_SHIFT: u32 = 14;
const OFPFW_DL_VLAN_PCP: u32 = 1 << 20;
const OFPFW_NW_TOS: u32 = 1 << 21;
/// `dl_vlan` value meaning "no VLAN tag".
const OFP_VLAN_NONE: u16 = 0xffff;

/// The raw fields of an `ofp_match`.
#[derive(Debug, Default, Clone, Copy)]
struct Raw {
    wildcards: u32,
    in_port: u16,
    dl_src: u128,
    dl_dst: u128,
    dl_vlan: u16,
    dl_vlan_pcp: u8,
    dl_type: u16,
    nw_tos: u8,
    nw_proto: u8,
    nw_src: u32,
    nw_dst: u32,
    tp_src: u16,
    tp_dst: u16,
}

fn prefix_mask(wildcards: u32, shift: u32) -> u32 {
    let n = (wildcards >> shift) & 0x3f;
    if n >= 32 {
        0
    } else {
        u32::MAX << n
    }
}

fn to_match(raw: &Raw) -> Match {
    let wc = raw.wildcards;
    let has = |bit: u32| wc & bit == 0;
    let mut m = Match::ANY;
    if has(OFPFW_IN_PORT) {
        m.set(Field::InPort, u128::from(raw.in_port));
    }
    if has(OFPFW_DL_SRC) {
        m.set(Field::EthSrc, raw.dl_src);
    }
    if has(OFPFW_DL_DST) {
        m.set(Field::EthDst, raw.dl_dst);
    }
    let pcp = has(OFPFW_DL_VLAN_PCP);
    if has(OFPFW_DL_VLAN) {
        if raw.dl_vlan == OFP_VLAN_NONE {
            m.set_masked(Field::VlanTci, 0, 0xffff);
        } else {
            let mut v = (raw.dl_vlan & 0x0fff) | VLAN_CFI;
            let mut mask = 0x1fff;
            if pcp {
                v |= u16::from(raw.dl_vlan_pcp & 7) << 13;
                mask |= 0xe000;
            }
            m.set_masked(Field::VlanTci, u128::from(v), mask);
        }
    } else if pcp {
        m.set_masked(Field::VlanTci, u128::from((u16::from(raw.dl_vlan_pcp & 7) << 13) | VLAN_CFI), 0xf000);
    }
    if !has(OFPFW_DL_TYPE) {
        return m;
    }
    m.set(Field::EthType, u128::from(raw.dl_type));
    let is_ip = raw.dl_type == ethertype::IPV4;
    let is_arp = raw.dl_type == ethertype::ARP || raw.dl_type == ethertype::RARP;
    if !is_ip && !is_arp {
        return m;
    }
    let (src, dst) = if is_ip { (Field::Ipv4Src, Field::Ipv4Dst) } else { (Field::ArpSpa, Field::ArpTpa) };
    let src_mask = prefix_mask(wc, OFPFW_NW_SRC_SHIFT);
    let dst_mask = prefix_mask(wc, OFPFW_NW_DST_SHIFT);
    if src_mask != 0 {
        m.set_masked(src, u128::from(raw.nw_src), u128::from(src_mask));
    }
    if dst_mask != 0 {
        m.set_masked(dst, u128::from(raw.nw_dst), u128::from(dst_mask));
    }
    if has(OFPFW_NW_PROTO) {
        m.set(if is_ip { Field::IpProto } else { Field::ArpOp }, u128::from(raw.nw_proto));
    }
    if !is_ip {
        return m;
    }
    if has(OFPFW_NW_TOS) {
        m.set(Field::IpDscp, u128::from(raw.nw_tos >> 2));
    }
    if !has(OFPFW_NW_PROTO) {
        return m;
    }
    let (tsrc, tdst, width) = match raw.nw_proto {
        ipproto::TCP | ipproto::UDP | ipproto::SCTP => (Field::TpSrc, Field::TpDst, 0xffff),
        ipproto::ICMP => (Field::IcmpType, Field::IcmpCode, 0xff),
        _ => return m,
    };
    if has(OFPFW_TP_SRC) {
        m.set(tsrc, u128::from(raw.tp_src & width));
    }
    if has(OFPFW_TP_DST) {
        m.set(tdst, u128::from(raw.tp_dst & width));
    }
    m
}

/// Reads a 40-byte OpenFlow 1.0 `ofp_match`.
pub(crate) fn decode_match(r: &mut Reader<'_>) -> Result<Match, OfError> {
    let wildcards = r.u32()?;
    let in_port = r.u16()?;
    let dl_src = super::nxm::be_value(r.bytes(6)?);
    let dl_dst = super::nxm::be_value(r.bytes(6)?);
    let dl_vlan = r.u16()?;
    let dl_vlan_pcp = r.u8()?;
    r.skip(1)?;
    let dl_type = r.u16()?;
    let nw_tos = r.u8()?;
    let nw_proto = r.u8()?;
    r.skip(2)?;
    let raw = Raw {
        wildcards,
        in_port,
        dl_src,
        dl_dst,
        dl_vlan,
        dl_vlan_pcp,
        dl_type,
        nw_tos,
        nw_proto,
        nw_src: r.u32()?,
        nw_dst: r.u32()?,
        tp_src: r.u16()?,
        tp_dst: r.u16()?,
    };
    Ok(to_match(&raw))
}

fn prefix_len(mask: u128) -> Option<u32> {
    let mask = mask as u32;
    let n = mask.trailing_zeros();
    (mask.checked_shr(n).unwrap_or(0).count_ones() + n == 32 || mask == 0).then_some(n.min(32))
}

/// Builds the `ofp_match` fields for `m`, or fails if 1.0 cannot express it exactly.
fn from_match(m: &Match) -> Result<Raw, OfError> {
    let unenc = || OfError::Unencodable("match not expressible in an OpenFlow 1.0 ofp_match");
    let mut raw = Raw { wildcards: OFPFW_NW_TOS | OFPFW_DL_VLAN_PCP | 0xff | (32 << 8) | (32 << 14), ..Raw::default() };
    let exact = |f: Field| -> Option<u128> { m.has(f).then(|| m.value.get(f)) };
    if let Some(p) = exact(Field::InPort) {
        raw.in_port = u16::try_from(p).map_err(|_| unenc())?;
        raw.wildcards &= !OFPFW_IN_PORT;
    }
    if let Some(v) = exact(Field::EthSrc) {
        raw.dl_src = v;
        raw.wildcards &= !OFPFW_DL_SRC;
    }
    if let Some(v) = exact(Field::EthDst) {
        raw.dl_dst = v;
        raw.wildcards &= !OFPFW_DL_DST;
    }
    let (tci, tci_mask) = m.get(Field::VlanTci);
    let (tci, tci_mask) = (tci as u16, tci_mask as u16);
    if tci_mask == 0xffff && tci == 0 {
        raw.dl_vlan = OFP_VLAN_NONE;
        raw.wildcards &= !OFPFW_DL_VLAN;
    } else if tci_mask != 0 {
        if tci_mask & 0x0fff != 0 {
            raw.dl_vlan = tci & 0x0fff;
            raw.wildcards &= !OFPFW_DL_VLAN;
        }
        if tci_mask & 0xe000 != 0 {
            raw.dl_vlan_pcp = (tci >> 13) as u8;
            raw.wildcards &= !OFPFW_DL_VLAN_PCP;
        }
    }
    if let Some(t) = exact(Field::EthType) {
        raw.dl_type = t as u16;
        raw.wildcards &= !OFPFW_DL_TYPE;
    }
    let (src, src_mask) = m.get(Field::Ipv4Src);
    let (dst, dst_mask) = m.get(Field::Ipv4Dst);
    raw.nw_src = src as u32;
    raw.nw_dst = dst as u32;
    raw.wildcards = (raw.wildcards & !(0x3f << 8)) | (prefix_len(src_mask).ok_or_else(unenc)? << 8);
    raw.wildcards = (raw.wildcards & !(0x3f << 14)) | (prefix_len(dst_mask).ok_or_else(unenc)? << 14);
    if let Some(p) = exact(Field::IpProto) {
        raw.nw_proto = p as u8;
        raw.wildcards &= !OFPFW_NW_PROTO;
    }
    if let Some(d) = exact(Field::IpDscp) {
        raw.nw_tos = (d as u8) << 2;
        raw.wildcards &= !OFPFW_NW_TOS;
    }
    if let Some(v) = exact(Field::TpSrc) {
        raw.tp_src = v as u16;
        raw.wildcards &= !OFPFW_TP_SRC;
    }
    if let Some(v) = exact(Field::TpDst) {
        raw.tp_dst = v as u16;
        raw.wildcards &= !OFPFW_TP_DST;
    }
    if to_match(&raw) == *m {
        Ok(raw)
    } else {
        Err(unenc())
    }
}

/// Appends `m` as an OpenFlow 1.0 `ofp_match`.
pub(crate) fn encode_match(m: &Match, w: &mut Writer) -> Result<(), OfError> {
    let raw = from_match(m)?;
    w.u32(raw.wildcards);
    w.u16(raw.in_port);
    super::nxm::put_value(w, raw.dl_src, 6);
    super::nxm::put_value(w, raw.dl_dst, 6);
    w.u16(raw.dl_vlan);
    w.u8(raw.dl_vlan_pcp);
    w.u8(0);
    w.u16(raw.dl_type);
    w.u8(raw.nw_tos);
    w.u8(raw.nw_proto);
    w.zeros(2);
    w.u32(raw.nw_src);
    w.u32(raw.nw_dst);
    w.u16(raw.tp_src);
    w.u16(raw.tp_dst);
    Ok(())
}
