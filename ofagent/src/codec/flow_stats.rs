//! Flow and aggregate statistics bodies: the requests (`ofp10_flow_stats_request`,
//! `ofp11_flow_stats_request`, Nicira `nx_flow_stats_request`) and the per-flow reply entries
//! (`ofp10_flow_stats`, `ofp11_flow_stats` as 1.3 uses it, Nicira `nx_flow_stats`), laid out as
//! Open vSwitch's lib/ofp-flow.c writes them. Nicira requests carry the cookie filter as an
//! `NXM_NX_COOKIE(_W)` entry inside the NXM match; Nicira replies carry OpenFlow 1.0 actions.

use flowtable::flow_mod::GROUP_ANY;
use flowtable::PortNo;

use super::{actions10, actions13, match10, nxm, oxm};
use crate::error::OfError;
use crate::header::OFP10_VERSION;
use crate::msg::{AggregateStats, FlowStats, FlowStatsRequest};
use crate::wire::{Reader, Writer};

/// Fixed part of `ofp10_flow_stats`.
const FLOW10_LEN: usize = 88;
/// Fixed part of `ofp11_flow_stats` (before the match).
const FLOW13_LEN: usize = 48;
/// Fixed part of `nx_flow_stats`.
const FLOWNX_LEN: usize = 48;

/// A flow or aggregate request body (`nx` selects the Nicira form, 1.0 only).
pub(crate) fn decode_request(version: u8, nx: bool, r: &mut Reader<'_>) -> Result<FlowStatsRequest, OfError> {
    let mut req = FlowStatsRequest { nx, ..FlowStatsRequest::default() };
    if nx {
        req.out_port = PortNo(r.u16()?);
        let match_len = usize::from(r.u16()?);
        req.table_id = r.u8()?;
        r.skip(3)?;
        let padded = r.bytes(match_len.div_ceil(8) * 8).map_err(|_| OfError::BadMatchLen("nx_match past the end"))?;
        let (m, cookie, mask) = nxm::decode_nx_match_with_cookie(&padded[..match_len])?;
        req.match_ = m;
        req.cookie = cookie;
        req.cookie_mask = mask;
    } else if version == OFP10_VERSION {
        req.match_ = match10::decode_match(r)?;
        req.table_id = r.u8()?;
        r.skip(1)?;
        req.out_port = PortNo(r.u16()?);
    } else {
        req.table_id = r.u8()?;
        r.skip(3)?;
        let raw = r.u32()?;
        req.out_port = PortNo::from_of13(raw).ok_or(OfError::BadOutPort(raw))?;
        req.out_group = r.u32()?;
        r.skip(4)?;
        req.cookie = r.u64()?;
        req.cookie_mask = r.u64()?;
        req.match_ = oxm::decode_match(r)?;
    }
    if r.remaining() != 0 {
        return Err(OfError::BadLen("flow stats request body"));
    }
    Ok(req)
}

pub(crate) fn encode_request(version: u8, req: &FlowStatsRequest, w: &mut Writer) -> Result<(), OfError> {
    if version == OFP10_VERSION && req.out_group != GROUP_ANY {
        return Err(OfError::Unencodable("out_group in an OpenFlow 1.0 flow stats request"));
    }
    if req.nx {
        let start = w.buf.len();
        w.u16(req.out_port.0);
        w.u16(0);
        w.u8(req.table_id);
        w.zeros(3);
        let len = nxm::put_nx_match_with_cookie(&req.match_, req.cookie, req.cookie_mask, w)?;
        w.buf[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    } else if version == OFP10_VERSION {
        if req.cookie_mask != 0 {
            return Err(OfError::Unencodable("cookie filter in an OpenFlow 1.0 flow stats request"));
        }
        match10::encode_match(&req.match_, w)?;
        w.u8(req.table_id);
        w.u8(0);
        w.u16(req.out_port.0);
    } else {
        w.u8(req.table_id);
        w.zeros(3);
        w.u32(req.out_port.to_of13());
        w.u32(req.out_group);
        w.zeros(4);
        w.u64(req.cookie);
        w.u64(req.cookie_mask);
        oxm::encode_match(&req.match_, w)?;
    }
    Ok(())
}

/// `nx_flow_stats` idle/hard age: seconds plus one, 0 unknown.
fn age_from_wire(raw: u16) -> Option<u16> {
    raw.checked_sub(1)
}

fn age_to_wire(age: Option<u16>) -> u16 {
    age.map_or(0, |a| a.saturating_add(1))
}

/// Flow entries filling all of `r`.
pub(crate) fn decode_flows(version: u8, nx: bool, r: &mut Reader<'_>) -> Result<Vec<FlowStats>, OfError> {
    let min = if nx {
        FLOWNX_LEN
    } else if version == OFP10_VERSION {
        FLOW10_LEN
    } else {
        FLOW13_LEN
    };
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let len = usize::from(r.u16()?);
        if len < min || len % 8 != 0 {
            return Err(OfError::BadLen("flow stats entry length"));
        }
        let mut b = Reader::new(r.bytes(len - 2)?);
        out.push(decode_flow(version, nx, &mut b)?);
    }
    Ok(out)
}

fn decode_flow(version: u8, nx: bool, b: &mut Reader<'_>) -> Result<FlowStats, OfError> {
    let mut f = FlowStats { table_id: b.u8()?, ..FlowStats::default() };
    b.skip(1)?;
    if nx {
        f.duration_sec = b.u32()?;
        f.duration_nsec = b.u32()?;
        f.priority = b.u16()?;
        f.idle_timeout = b.u16()?;
        f.hard_timeout = b.u16()?;
        let match_len = usize::from(b.u16()?);
        f.idle_age = age_from_wire(b.u16()?);
        f.hard_age = age_from_wire(b.u16()?);
        f.cookie = b.u64()?;
        f.packet_count = b.u64()?;
        f.byte_count = b.u64()?;
        let padded = b.bytes(match_len.div_ceil(8) * 8).map_err(|_| OfError::BadMatchLen("nx_match past the end"))?;
        f.match_ = nxm::decode_entries(&padded[..match_len])?;
        f.actions = actions10::decode_actions(b.rest())?;
    } else if version == OFP10_VERSION {
        f.match_ = match10::decode_match(b)?;
        f.duration_sec = b.u32()?;
        f.duration_nsec = b.u32()?;
        f.priority = b.u16()?;
        f.idle_timeout = b.u16()?;
        f.hard_timeout = b.u16()?;
        b.skip(6)?;
        f.cookie = b.u64()?;
        f.packet_count = b.u64()?;
        f.byte_count = b.u64()?;
        f.actions = actions10::decode_actions(b.rest())?;
    } else {
        f.duration_sec = b.u32()?;
        f.duration_nsec = b.u32()?;
        f.priority = b.u16()?;
        f.idle_timeout = b.u16()?;
        f.hard_timeout = b.u16()?;
        f.flags = b.u16()?;
        b.skip(4)?;
        f.cookie = b.u64()?;
        f.packet_count = b.u64()?;
        f.byte_count = b.u64()?;
        f.match_ = oxm::decode_match(b)?;
        f.actions = actions13::decode_instructions(b.rest())?;
    }
    Ok(f)
}

/// Appends one flow entry.
pub(crate) fn encode_flow(version: u8, nx: bool, f: &FlowStats, w: &mut Writer) -> Result<(), OfError> {
    let start = w.buf.len();
    w.u16(0);
    w.u8(f.table_id);
    w.u8(0);
    if nx {
        w.u32(f.duration_sec);
        w.u32(f.duration_nsec);
        w.u16(f.priority);
        w.u16(f.idle_timeout);
        w.u16(f.hard_timeout);
        let match_len_at = w.buf.len();
        w.u16(0);
        w.u16(age_to_wire(f.idle_age));
        w.u16(age_to_wire(f.hard_age));
        w.u64(f.cookie);
        w.u64(f.packet_count);
        w.u64(f.byte_count);
        let match_len = nxm::put_nx_match_with_cookie(&f.match_, 0, 0, w)?;
        w.buf[match_len_at..match_len_at + 2].copy_from_slice(&match_len.to_be_bytes());
        actions10::encode_actions(&f.actions, w)?;
    } else if version == OFP10_VERSION {
        match10::encode_match(&f.match_, w)?;
        w.u32(f.duration_sec);
        w.u32(f.duration_nsec);
        w.u16(f.priority);
        w.u16(f.idle_timeout);
        w.u16(f.hard_timeout);
        w.zeros(6);
        w.u64(f.cookie);
        w.u64(f.packet_count);
        w.u64(f.byte_count);
        actions10::encode_actions(&f.actions, w)?;
    } else {
        w.u32(f.duration_sec);
        w.u32(f.duration_nsec);
        w.u16(f.priority);
        w.u16(f.idle_timeout);
        w.u16(f.hard_timeout);
        w.u16(f.flags);
        w.zeros(4);
        w.u64(f.cookie);
        w.u64(f.packet_count);
        w.u64(f.byte_count);
        oxm::encode_match(&f.match_, w)?;
        actions13::encode_instructions(&f.actions, w)?;
    }
    let len = u16::try_from(w.buf.len() - start).map_err(|_| OfError::Unencodable("flow stats entry too long"))?;
    w.buf[start..start + 2].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// `ofp_aggregate_stats_reply` (24 bytes, all versions and Nicira).
pub(crate) fn decode_aggregate(r: &mut Reader<'_>) -> Result<AggregateStats, OfError> {
    let a = AggregateStats { packet_count: r.u64()?, byte_count: r.u64()?, flow_count: r.u32()? };
    r.skip(4)?;
    Ok(a)
}

pub(crate) fn encode_aggregate(a: &AggregateStats, w: &mut Writer) {
    w.u64(a.packet_count);
    w.u64(a.byte_count);
    w.u32(a.flow_count);
    w.zeros(4);
}
