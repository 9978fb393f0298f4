//! OpenFlow 1.0 STATS_REQUEST/REPLY and 1.3 MULTIPART_REQUEST/REPLY: the header (type,
//! flags with OFPSF_REPLY_MORE, Nicira vendor stats header in 1.0) and the bodies of desc,
//! flow, aggregate, table, port, queue, group, group_desc, group_features, meter,
//! meter_config, meter_features, table_features and port_desc (also in 1.0, as Open vSwitch). Flow bodies live in
//! `flow_stats`, meters in `meter`, table features in `table_features`. Unknown types are
//! refused with OFPBRC_BAD_STAT, as Open vSwitch does.

use flowtable::PortNo;

use super::{flow_stats, group13, meter, of10, of13, table_features};
use crate::error::{OfError, NX_VENDOR_ID};
use crate::header::{HEADER_LEN, OFP10_VERSION};
use crate::msg::{
    DescStats, GroupDesc, GroupFeatures, GroupStats, Message, PortStats, QueueStats, StatsReply, StatsRequest,
    TableStats,
};
use crate::wire::{Reader, Writer};

/// OFPST_DESC / OFPMP_DESC.
pub const OFPMP_DESC: u16 = 0;
/// OFPST_FLOW / OFPMP_FLOW.
pub const OFPMP_FLOW: u16 = 1;
/// OFPST_AGGREGATE / OFPMP_AGGREGATE.
pub const OFPMP_AGGREGATE: u16 = 2;
/// OFPST_TABLE / OFPMP_TABLE.
pub const OFPMP_TABLE: u16 = 3;
/// OFPST_PORT / OFPMP_PORT_STATS.
pub const OFPMP_PORT_STATS: u16 = 4;
/// OFPST_QUEUE / OFPMP_QUEUE.
pub const OFPMP_QUEUE: u16 = 5;
/// OFPMP_GROUP (1.3).
pub const OFPMP_GROUP: u16 = 6;
/// OFPMP_GROUP_DESC (1.3).
pub const OFPMP_GROUP_DESC: u16 = 7;
/// OFPMP_GROUP_FEATURES (1.3).
pub const OFPMP_GROUP_FEATURES: u16 = 8;
/// OFPMP_METER (1.3).
pub const OFPMP_METER: u16 = 9;
/// OFPMP_METER_CONFIG (1.3).
pub const OFPMP_METER_CONFIG: u16 = 10;
/// OFPMP_METER_FEATURES (1.3).
pub const OFPMP_METER_FEATURES: u16 = 11;
/// OFPMP_TABLE_FEATURES (1.3).
pub const OFPMP_TABLE_FEATURES: u16 = 12;
/// OFPMP_PORT_DESC (OpenFlow 1.3).
pub const OFPMP_PORT_DESC: u16 = 13;
/// OFPST_VENDOR / OFPMP_EXPERIMENTER.
pub const OFPST_VENDOR: u16 = 0xffff;
/// NXST_FLOW (Nicira vendor stats subtype).
pub const NXST_FLOW: u32 = 0;
/// NXST_AGGREGATE.
pub const NXST_AGGREGATE: u32 = 1;
/// OFPSF_REPLY_MORE.
pub const OFPSF_REPLY_MORE: u16 = 1;

/// OpenFlow 1.0 `ofp_table_stats`.
const TABLE10_LEN: usize = 64;
/// OpenFlow 1.3 `ofp_table_stats`.
const TABLE13_LEN: usize = 24;
/// OpenFlow 1.0 `ofp_port_stats`.
const PORT10_LEN: usize = 104;
/// OpenFlow 1.3 `ofp_port_stats`.
const PORT13_LEN: usize = 112;
/// OpenFlow 1.0 `ofp_queue_stats`.
const QUEUE10_LEN: usize = 32;
/// OpenFlow 1.3 `ofp_queue_stats`.
const QUEUE13_LEN: usize = 40;
/// `ofp_group_stats` without bucket counters.
const GROUP_STATS_LEN: usize = 40;
/// `ofp_group_desc` without buckets.
const GROUP_DESC_LEN: usize = 8;

/// Reads the stats header; for vendor stats also the Nicira subtype (`Some`).
fn head(version: u8, r: &mut Reader<'_>) -> Result<(u16, u16, Option<u32>), OfError> {
    let stype = r.u16()?;
    let flags = r.u16()?;
    if version != OFP10_VERSION {
        r.skip(4)?;
    }
    if stype != OFPST_VENDOR {
        return Ok((stype, flags, None));
    }
    let vendor = r.u32()?;
    if vendor != NX_VENDOR_ID || version != OFP10_VERSION {
        return Err(OfError::BadVendor(vendor));
    }
    let subtype = r.u32()?;
    r.skip(4)?;
    Ok((stype, flags, Some(subtype)))
}

fn put_head(version: u8, stype: u16, flags: u16, w: &mut Writer) {
    w.u16(stype);
    w.u16(flags);
    if version != OFP10_VERSION {
        w.zeros(4);
    }
}

fn put_nx_head(version: u8, subtype: u32, flags: u16, w: &mut Writer) -> Result<(), OfError> {
    if version != OFP10_VERSION {
        return Err(OfError::Unencodable("Nicira flow stats exist in OpenFlow 1.0 only"));
    }
    put_head(version, OFPST_VENDOR, flags, w);
    w.u32(NX_VENDOR_ID);
    w.u32(subtype);
    w.zeros(4);
    Ok(())
}

fn more_flag(more: bool) -> u16 {
    if more {
        OFPSF_REPLY_MORE
    } else {
        0
    }
}

fn only13(version: u8, stype: u16) -> Result<(), OfError> {
    if version == OFP10_VERSION {
        Err(OfError::BadStat(stype))
    } else {
        Ok(())
    }
}

fn unencodable10(version: u8) -> Result<(), OfError> {
    if version == OFP10_VERSION {
        Err(OfError::Unencodable("stats type not in OpenFlow 1.0"))
    } else {
        Ok(())
    }
}

/// Port number of a stats request or entry.
fn get_port(version: u8, r: &mut Reader<'_>) -> Result<PortNo, OfError> {
    if version == OFP10_VERSION {
        Ok(PortNo(r.u16()?))
    } else {
        let raw = r.u32()?;
        PortNo::from_of13(raw).ok_or(OfError::BadOutPort(raw))
    }
}

fn put_port(version: u8, port: PortNo, w: &mut Writer) {
    if version == OFP10_VERSION {
        w.u16(port.0);
    } else {
        w.u32(port.to_of13());
    }
}

pub(crate) fn decode_request(version: u8, r: &mut Reader<'_>) -> Result<StatsRequest, OfError> {
    let (stype, _flags, nx) = head(version, r)?;
    let req = match (stype, nx) {
        (_, Some(sub @ (NXST_FLOW | NXST_AGGREGATE))) => {
            let body = Box::new(flow_stats::decode_request(version, true, r)?);
            if sub == NXST_FLOW {
                StatsRequest::Flow(body)
            } else {
                StatsRequest::Aggregate(body)
            }
        }
        (_, Some(sub)) => return Err(OfError::BadSubtype(sub)),
        (OFPMP_DESC, _) => StatsRequest::Desc,
        (OFPMP_FLOW, _) => StatsRequest::Flow(Box::new(flow_stats::decode_request(version, false, r)?)),
        (OFPMP_AGGREGATE, _) => StatsRequest::Aggregate(Box::new(flow_stats::decode_request(version, false, r)?)),
        (OFPMP_TABLE, _) => StatsRequest::Table,
        (OFPMP_PORT_STATS, _) => {
            let port = get_port(version, r)?;
            r.skip(if version == OFP10_VERSION { 6 } else { 4 })?;
            StatsRequest::Port(port)
        }
        (OFPMP_QUEUE, _) => {
            let mut port_no = get_port(version, r)?;
            if version == OFP10_VERSION {
                r.skip(2)?;
                // OpenFlow 1.0 says "all ports" with OFPP_ALL; Open vSwitch reads it as ANY.
                if port_no == PortNo::ALL {
                    port_no = PortNo::NONE;
                }
            }
            StatsRequest::Queue { port_no, queue_id: r.u32()? }
        }
        // Open vSwitch also speaks OFPST_PORT_DESC (13) in OpenFlow 1.0 (`ovs-ofctl dump-ports-desc`).
        (OFPMP_PORT_DESC, _) => StatsRequest::PortDesc,
        (OFPMP_GROUP | OFPMP_METER | OFPMP_METER_CONFIG, _) => {
            only13(version, stype)?;
            let id = r.u32()?;
            r.skip(4)?;
            match stype {
                OFPMP_GROUP => StatsRequest::Group(id),
                OFPMP_METER => StatsRequest::Meter(id),
                _ => StatsRequest::MeterConfig(id),
            }
        }
        (OFPMP_GROUP_DESC, _) => {
            only13(version, stype)?;
            StatsRequest::GroupDesc
        }
        (OFPMP_GROUP_FEATURES, _) => {
            only13(version, stype)?;
            StatsRequest::GroupFeatures
        }
        (OFPMP_METER_FEATURES, _) => {
            only13(version, stype)?;
            StatsRequest::MeterFeatures
        }
        (OFPMP_TABLE_FEATURES, _) => {
            only13(version, stype)?;
            StatsRequest::TableFeatures(table_features::decode_list(r)?)
        }
        (other, _) => return Err(OfError::BadStat(other)),
    };
    if r.remaining() != 0 {
        return Err(OfError::BadLen("stats request body"));
    }
    Ok(req)
}

pub(crate) fn encode_request(version: u8, req: &StatsRequest, w: &mut Writer) -> Result<(), OfError> {
    match req {
        StatsRequest::Desc => put_head(version, OFPMP_DESC, 0, w),
        StatsRequest::PortDesc => put_head(version, OFPMP_PORT_DESC, 0, w),
        StatsRequest::Flow(fr) | StatsRequest::Aggregate(fr) => {
            let flow = matches!(req, StatsRequest::Flow(_));
            if fr.nx {
                put_nx_head(version, if flow { NXST_FLOW } else { NXST_AGGREGATE }, 0, w)?;
            } else {
                put_head(version, if flow { OFPMP_FLOW } else { OFPMP_AGGREGATE }, 0, w);
            }
            flow_stats::encode_request(version, fr, w)?;
        }
        StatsRequest::Table => put_head(version, OFPMP_TABLE, 0, w),
        StatsRequest::Port(port) => {
            put_head(version, OFPMP_PORT_STATS, 0, w);
            put_port(version, *port, w);
            w.zeros(if version == OFP10_VERSION { 6 } else { 4 });
        }
        StatsRequest::Queue { port_no, queue_id } => {
            put_head(version, OFPMP_QUEUE, 0, w);
            if version == OFP10_VERSION {
                w.u16(if *port_no == PortNo::NONE { PortNo::ALL.0 } else { port_no.0 });
                w.zeros(2);
            } else {
                w.u32(port_no.to_of13());
            }
            w.u32(*queue_id);
        }
        StatsRequest::Group(id) | StatsRequest::Meter(id) | StatsRequest::MeterConfig(id) => {
            unencodable10(version)?;
            let stype = match req {
                StatsRequest::Group(_) => OFPMP_GROUP,
                StatsRequest::Meter(_) => OFPMP_METER,
                _ => OFPMP_METER_CONFIG,
            };
            put_head(version, stype, 0, w);
            w.u32(*id);
            w.zeros(4);
        }
        StatsRequest::GroupDesc | StatsRequest::GroupFeatures | StatsRequest::MeterFeatures => {
            unencodable10(version)?;
            let stype = match req {
                StatsRequest::GroupDesc => OFPMP_GROUP_DESC,
                StatsRequest::GroupFeatures => OFPMP_GROUP_FEATURES,
                _ => OFPMP_METER_FEATURES,
            };
            put_head(version, stype, 0, w);
        }
        StatsRequest::TableFeatures(tables) => {
            unencodable10(version)?;
            put_head(version, OFPMP_TABLE_FEATURES, 0, w);
            for tf in tables {
                table_features::encode(tf, w)?;
            }
        }
    }
    Ok(())
}

/// A NUL-padded string field of `n` bytes (non-ASCII bytes read as '?').
pub(crate) fn text(r: &mut Reader<'_>, n: usize) -> Result<String, OfError> {
    Ok(r.bytes(n)?.iter().take_while(|&&b| b != 0).map(|&b| if b.is_ascii() { char::from(b) } else { '?' }).collect())
}

/// Writes `s` into an `n`-byte NUL-padded field (it must leave room for a NUL).
pub(crate) fn put_text(s: &str, n: usize, w: &mut Writer) -> Result<(), OfError> {
    let b = s.as_bytes();
    if b.len() >= n || b.contains(&0) {
        return Err(OfError::Unencodable("description string too long"));
    }
    w.bytes(b);
    w.zeros(n - b.len());
    Ok(())
}

/// Fixed-size entries filling `r`, each decoded by `f`.
fn fixed_list<T>(
    r: &mut Reader<'_>,
    size: usize,
    what: &'static str,
    mut f: impl FnMut(&mut Reader<'_>) -> Result<T, OfError>,
) -> Result<Vec<T>, OfError> {
    if !r.remaining().is_multiple_of(size) {
        return Err(OfError::BadLen(what));
    }
    let mut out = Vec::with_capacity(r.remaining() / size);
    while r.remaining() > 0 {
        out.push(f(r)?);
    }
    Ok(out)
}

fn decode_table(version: u8, r: &mut Reader<'_>) -> Result<TableStats, OfError> {
    let mut t = TableStats { table_id: r.u8()?, ..TableStats::default() };
    r.skip(3)?;
    if version == OFP10_VERSION {
        t.name = text(r, 32)?;
        t.wildcards = r.u32()?;
        t.max_entries = r.u32()?;
    }
    t.active_count = r.u32()?;
    t.lookup_count = r.u64()?;
    t.matched_count = r.u64()?;
    Ok(t)
}

fn encode_table(version: u8, t: &TableStats, w: &mut Writer) -> Result<(), OfError> {
    w.u8(t.table_id);
    w.zeros(3);
    if version == OFP10_VERSION {
        put_text(&t.name, 32, w)?;
        w.u32(t.wildcards);
        w.u32(t.max_entries);
    }
    w.u32(t.active_count);
    w.u64(t.lookup_count);
    w.u64(t.matched_count);
    Ok(())
}

fn decode_port_stats(version: u8, r: &mut Reader<'_>) -> Result<PortStats, OfError> {
    let port_no = get_port(version, r)?;
    r.skip(if version == OFP10_VERSION { 6 } else { 4 })?;
    let mut c = [0u64; 12];
    for v in &mut c {
        *v = r.u64()?;
    }
    let [rx_packets, tx_packets, rx_bytes, tx_bytes, rx_dropped, tx_dropped, rx_errors, tx_errors, rx_frame_err, rx_over_err, rx_crc_err, collisions] =
        c;
    let (duration_sec, duration_nsec) = if version == OFP10_VERSION { (0, 0) } else { (r.u32()?, r.u32()?) };
    Ok(PortStats {
        port_no,
        rx_packets,
        tx_packets,
        rx_bytes,
        tx_bytes,
        rx_dropped,
        tx_dropped,
        rx_errors,
        tx_errors,
        rx_frame_err,
        rx_over_err,
        rx_crc_err,
        collisions,
        duration_sec,
        duration_nsec,
    })
}

fn encode_port_stats(version: u8, p: &PortStats, w: &mut Writer) {
    put_port(version, p.port_no, w);
    w.zeros(if version == OFP10_VERSION { 6 } else { 4 });
    for v in [
        p.rx_packets,
        p.tx_packets,
        p.rx_bytes,
        p.tx_bytes,
        p.rx_dropped,
        p.tx_dropped,
        p.rx_errors,
        p.tx_errors,
        p.rx_frame_err,
        p.rx_over_err,
        p.rx_crc_err,
        p.collisions,
    ] {
        w.u64(v);
    }
    if version != OFP10_VERSION {
        w.u32(p.duration_sec);
        w.u32(p.duration_nsec);
    }
}

fn decode_queue(version: u8, r: &mut Reader<'_>) -> Result<QueueStats, OfError> {
    let port_no = get_port(version, r)?;
    if version == OFP10_VERSION {
        r.skip(2)?;
    }
    let mut q = QueueStats {
        port_no,
        queue_id: r.u32()?,
        tx_bytes: r.u64()?,
        tx_packets: r.u64()?,
        tx_errors: r.u64()?,
        ..QueueStats::default()
    };
    if version != OFP10_VERSION {
        q.duration_sec = r.u32()?;
        q.duration_nsec = r.u32()?;
    }
    Ok(q)
}

fn encode_queue(version: u8, q: &QueueStats, w: &mut Writer) {
    put_port(version, q.port_no, w);
    if version == OFP10_VERSION {
        w.zeros(2);
    }
    w.u32(q.queue_id);
    w.u64(q.tx_bytes);
    w.u64(q.tx_packets);
    w.u64(q.tx_errors);
    if version != OFP10_VERSION {
        w.u32(q.duration_sec);
        w.u32(q.duration_nsec);
    }
}

fn decode_group_stats(r: &mut Reader<'_>) -> Result<Vec<GroupStats>, OfError> {
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let len = usize::from(r.u16()?);
        if len < GROUP_STATS_LEN || !(len - GROUP_STATS_LEN).is_multiple_of(16) {
            return Err(OfError::BadLen("group stats length"));
        }
        let mut b = Reader::new(r.bytes(len - 2)?);
        b.skip(2)?;
        let group_id = b.u32()?;
        let ref_count = b.u32()?;
        b.skip(4)?;
        let mut g = GroupStats {
            group_id,
            ref_count,
            packet_count: b.u64()?,
            byte_count: b.u64()?,
            duration_sec: b.u32()?,
            duration_nsec: b.u32()?,
            buckets: Vec::with_capacity(b.remaining() / 16),
        };
        while b.remaining() > 0 {
            g.buckets.push((b.u64()?, b.u64()?));
        }
        out.push(g);
    }
    Ok(out)
}

fn encode_group_stats(g: &GroupStats, w: &mut Writer) -> Result<(), OfError> {
    let len = u16::try_from(GROUP_STATS_LEN + 16 * g.buckets.len())
        .map_err(|_| OfError::Unencodable("group stats too long"))?;
    w.u16(len);
    w.zeros(2);
    w.u32(g.group_id);
    w.u32(g.ref_count);
    w.zeros(4);
    w.u64(g.packet_count);
    w.u64(g.byte_count);
    w.u32(g.duration_sec);
    w.u32(g.duration_nsec);
    for (p, b) in &g.buckets {
        w.u64(*p);
        w.u64(*b);
    }
    Ok(())
}

fn decode_group_descs(r: &mut Reader<'_>) -> Result<Vec<GroupDesc>, OfError> {
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let len = usize::from(r.u16()?);
        if len < GROUP_DESC_LEN {
            return Err(OfError::BadLen("group desc length"));
        }
        let mut b = Reader::new(r.bytes(len - 2)?);
        let group_type = group13::group_type(b.u8()?)?;
        b.skip(1)?;
        let group_id = b.u32()?;
        out.push(GroupDesc { group_type, group_id, buckets: group13::decode_buckets(b.rest())? });
    }
    Ok(out)
}

fn encode_group_desc(g: &GroupDesc, w: &mut Writer) -> Result<(), OfError> {
    let start = w.buf.len();
    w.u16(0);
    w.u8(group13::group_type_code(g.group_type));
    w.u8(0);
    w.u32(g.group_id);
    group13::encode_buckets(&g.buckets, w)?;
    let len = u16::try_from(w.buf.len() - start).map_err(|_| OfError::Unencodable("group desc too long"))?;
    w.buf[start..start + 2].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

fn decode_group_features(r: &mut Reader<'_>) -> Result<GroupFeatures, OfError> {
    let mut f = GroupFeatures { types: r.u32()?, capabilities: r.u32()?, ..GroupFeatures::default() };
    for v in f.max_groups.iter_mut().chain(f.actions.iter_mut()) {
        *v = r.u32()?;
    }
    Ok(f)
}

fn encode_group_features(f: &GroupFeatures, w: &mut Writer) {
    w.u32(f.types);
    w.u32(f.capabilities);
    for v in f.max_groups.iter().chain(&f.actions) {
        w.u32(*v);
    }
}

pub(crate) fn decode_reply(version: u8, r: &mut Reader<'_>) -> Result<StatsReply, OfError> {
    let (stype, flags, nx) = head(version, r)?;
    let more = flags & OFPSF_REPLY_MORE != 0;
    let v = version;
    let reply = match (stype, nx) {
        (_, Some(NXST_FLOW)) => StatsReply::Flow { flows: flow_stats::decode_flows(v, true, r)?, nx: true, more },
        (_, Some(NXST_AGGREGATE)) => StatsReply::Aggregate { stats: flow_stats::decode_aggregate(r)?, nx: true },
        (_, Some(sub)) => return Err(OfError::BadSubtype(sub)),
        (OFPMP_DESC, _) => StatsReply::Desc(Box::new(DescStats {
            mfr_desc: text(r, 256)?,
            hw_desc: text(r, 256)?,
            sw_desc: text(r, 256)?,
            serial_num: text(r, 32)?,
            dp_desc: text(r, 256)?,
        })),
        (OFPMP_FLOW, _) => StatsReply::Flow { flows: flow_stats::decode_flows(v, false, r)?, nx: false, more },
        (OFPMP_AGGREGATE, _) => StatsReply::Aggregate { stats: flow_stats::decode_aggregate(r)?, nx: false },
        (OFPMP_TABLE, _) => {
            let size = if v == OFP10_VERSION { TABLE10_LEN } else { TABLE13_LEN };
            StatsReply::Table { tables: fixed_list(r, size, "table stats body", |r| decode_table(v, r))?, more }
        }
        (OFPMP_PORT_STATS, _) => {
            let size = if v == OFP10_VERSION { PORT10_LEN } else { PORT13_LEN };
            StatsReply::Port { ports: fixed_list(r, size, "port stats body", |r| decode_port_stats(v, r))?, more }
        }
        (OFPMP_QUEUE, _) => {
            let size = if v == OFP10_VERSION { QUEUE10_LEN } else { QUEUE13_LEN };
            StatsReply::Queue { queues: fixed_list(r, size, "queue stats body", |r| decode_queue(v, r))?, more }
        }
        (OFPMP_PORT_DESC, _) if v == OFP10_VERSION => {
            StatsReply::PortDesc { ports: fixed_list(r, of10::PORT_LEN, "port_desc body", of10::decode_port)?, more }
        }
        (OFPMP_PORT_DESC, _) => {
            StatsReply::PortDesc { ports: fixed_list(r, of13::PORT_LEN, "port_desc body", of13::decode_port)?, more }
        }
        (OFPMP_GROUP, _) => {
            only13(v, stype)?;
            StatsReply::Group { groups: decode_group_stats(r)?, more }
        }
        (OFPMP_GROUP_DESC, _) => {
            only13(v, stype)?;
            StatsReply::GroupDesc { groups: decode_group_descs(r)?, more }
        }
        (OFPMP_GROUP_FEATURES, _) => {
            only13(v, stype)?;
            StatsReply::GroupFeatures(decode_group_features(r)?)
        }
        (OFPMP_METER, _) => {
            only13(v, stype)?;
            StatsReply::Meter { meters: meter::decode_stats(r)?, more }
        }
        (OFPMP_METER_CONFIG, _) => {
            only13(v, stype)?;
            StatsReply::MeterConfig { meters: meter::decode_configs(r)?, more }
        }
        (OFPMP_METER_FEATURES, _) => {
            only13(v, stype)?;
            StatsReply::MeterFeatures(meter::decode_features(r)?)
        }
        (OFPMP_TABLE_FEATURES, _) => {
            only13(v, stype)?;
            StatsReply::TableFeatures { tables: table_features::decode_list(r)?, more }
        }
        (other, _) => return Err(OfError::BadStat(other)),
    };
    if r.remaining() != 0 {
        return Err(OfError::BadLen("stats reply body"));
    }
    Ok(reply)
}

pub(crate) fn encode_reply(version: u8, reply: &StatsReply, w: &mut Writer) -> Result<(), OfError> {
    let v = version;
    match reply {
        StatsReply::Desc(d) => {
            put_head(v, OFPMP_DESC, 0, w);
            put_text(&d.mfr_desc, 256, w)?;
            put_text(&d.hw_desc, 256, w)?;
            put_text(&d.sw_desc, 256, w)?;
            put_text(&d.serial_num, 32, w)?;
            put_text(&d.dp_desc, 256, w)?;
        }
        StatsReply::PortDesc { ports, more } => {
            put_head(v, OFPMP_PORT_DESC, more_flag(*more), w);
            for p in ports {
                if v == OFP10_VERSION {
                    of10::encode_port(p, w)?;
                } else {
                    of13::encode_port(p, w)?;
                }
            }
        }
        StatsReply::Flow { flows, nx, more } => {
            if *nx {
                put_nx_head(v, NXST_FLOW, more_flag(*more), w)?;
            } else {
                put_head(v, OFPMP_FLOW, more_flag(*more), w);
            }
            for f in flows {
                flow_stats::encode_flow(v, *nx, f, w)?;
            }
        }
        StatsReply::Aggregate { stats, nx } => {
            if *nx {
                put_nx_head(v, NXST_AGGREGATE, 0, w)?;
            } else {
                put_head(v, OFPMP_AGGREGATE, 0, w);
            }
            flow_stats::encode_aggregate(stats, w);
        }
        StatsReply::Table { tables, more } => {
            put_head(v, OFPMP_TABLE, more_flag(*more), w);
            for t in tables {
                encode_table(v, t, w)?;
            }
        }
        StatsReply::Port { ports, more } => {
            put_head(v, OFPMP_PORT_STATS, more_flag(*more), w);
            for p in ports {
                encode_port_stats(v, p, w);
            }
        }
        StatsReply::Queue { queues, more } => {
            put_head(v, OFPMP_QUEUE, more_flag(*more), w);
            for q in queues {
                encode_queue(v, q, w);
            }
        }
        StatsReply::Group { groups, more } => {
            unencodable10(v)?;
            put_head(v, OFPMP_GROUP, more_flag(*more), w);
            for g in groups {
                encode_group_stats(g, w)?;
            }
        }
        StatsReply::GroupDesc { groups, more } => {
            unencodable10(v)?;
            put_head(v, OFPMP_GROUP_DESC, more_flag(*more), w);
            for g in groups {
                encode_group_desc(g, w)?;
            }
        }
        StatsReply::GroupFeatures(f) => {
            unencodable10(v)?;
            put_head(v, OFPMP_GROUP_FEATURES, 0, w);
            encode_group_features(f, w);
        }
        StatsReply::Meter { meters, more } => {
            unencodable10(v)?;
            put_head(v, OFPMP_METER, more_flag(*more), w);
            for m in meters {
                meter::encode_stats(m, w)?;
            }
        }
        StatsReply::MeterConfig { meters, more } => {
            unencodable10(v)?;
            put_head(v, OFPMP_METER_CONFIG, more_flag(*more), w);
            for m in meters {
                meter::encode_config(m, w)?;
            }
        }
        StatsReply::MeterFeatures(f) => {
            unencodable10(v)?;
            put_head(v, OFPMP_METER_FEATURES, 0, w);
            meter::encode_features(f, w);
        }
        StatsReply::TableFeatures { tables, more } => {
            unencodable10(v)?;
            put_head(v, OFPMP_TABLE_FEATURES, more_flag(*more), w);
            for t in tables {
                table_features::encode(t, w)?;
            }
        }
    }
    Ok(())
}

/// Splits `reply` into halves: `(first with more = true, second with the original more)`,
/// or `None` when it holds fewer than two entries.
fn halve(reply: &StatsReply) -> Option<(StatsReply, StatsReply)> {
    fn split<T: Clone>(list: &[T]) -> Option<(Vec<T>, Vec<T>)> {
        (list.len() >= 2).then(|| (list[..list.len() / 2].to_vec(), list[list.len() / 2..].to_vec()))
    }
    let more = reply.more();
    Some(match reply {
        StatsReply::PortDesc { ports, .. } => {
            let (a, b) = split(ports)?;
            (StatsReply::PortDesc { ports: a, more: true }, StatsReply::PortDesc { ports: b, more })
        }
        StatsReply::Flow { flows, nx, .. } => {
            let (a, b) = split(flows)?;
            (StatsReply::Flow { flows: a, nx: *nx, more: true }, StatsReply::Flow { flows: b, nx: *nx, more })
        }
        StatsReply::Table { tables, .. } => {
            let (a, b) = split(tables)?;
            (StatsReply::Table { tables: a, more: true }, StatsReply::Table { tables: b, more })
        }
        StatsReply::Port { ports, .. } => {
            let (a, b) = split(ports)?;
            (StatsReply::Port { ports: a, more: true }, StatsReply::Port { ports: b, more })
        }
        StatsReply::Queue { queues, .. } => {
            let (a, b) = split(queues)?;
            (StatsReply::Queue { queues: a, more: true }, StatsReply::Queue { queues: b, more })
        }
        StatsReply::Group { groups, .. } => {
            let (a, b) = split(groups)?;
            (StatsReply::Group { groups: a, more: true }, StatsReply::Group { groups: b, more })
        }
        StatsReply::GroupDesc { groups, .. } => {
            let (a, b) = split(groups)?;
            (StatsReply::GroupDesc { groups: a, more: true }, StatsReply::GroupDesc { groups: b, more })
        }
        StatsReply::Meter { meters, .. } => {
            let (a, b) = split(meters)?;
            (StatsReply::Meter { meters: a, more: true }, StatsReply::Meter { meters: b, more })
        }
        StatsReply::MeterConfig { meters, .. } => {
            let (a, b) = split(meters)?;
            (StatsReply::MeterConfig { meters: a, more: true }, StatsReply::MeterConfig { meters: b, more })
        }
        StatsReply::TableFeatures { tables, .. } => {
            let (a, b) = split(tables)?;
            (StatsReply::TableFeatures { tables: a, more: true }, StatsReply::TableFeatures { tables: b, more })
        }
        StatsReply::Desc(_)
        | StatsReply::Aggregate { .. }
        | StatsReply::GroupFeatures(_)
        | StatsReply::MeterFeatures(_) => return None,
    })
}

/// Encodes `reply` as one or more stats/multipart reply messages with transaction id `xid`,
/// each at most 65535 bytes: a list too long for one message is split, OFPSF_REPLY_MORE set
/// on every message but the last (which keeps `reply`'s own flag).
pub fn encode_stats_reply_split(version: u8, xid: u32, reply: &StatsReply) -> Result<Vec<Vec<u8>>, OfError> {
    let mut out = Vec::new();
    let mut pending = vec![reply.clone()];
    // Depth-first, first half first, so that messages come out in entry order.
    while let Some(r) = pending.pop() {
        let mut w = Writer::default();
        w.zeros(HEADER_LEN);
        encode_reply(version, &r, &mut w)?;
        if u16::try_from(w.buf.len()).is_ok() {
            out.push(super::encode(version, xid, &Message::StatsReply(r))?);
            continue;
        }
        let (a, b) = halve(&r).ok_or(OfError::Unencodable("a single stats entry longer than a message"))?;
        pending.push(b);
        pending.push(a);
    }
    Ok(out)
}
