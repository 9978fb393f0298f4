//! Nicira vendor messages (OFPT_VENDOR in 1.0, OFPT_EXPERIMENTER in 1.3; vendor 0x2320)
//! that `ovs-ofctl` relies on: NXT_SET_FLOW_FORMAT, NXT_FLOW_MOD (NXM match),
//! NXT_FLOW_MOD_TABLE_ID, NXT_SET_PACKET_IN_FORMAT, NXT_SET_CONTROLLER_ID, NXT_FLOW_REMOVED
//! and NXT_PACKET_IN2 (properties, see lib/ofp-packet.c).
//! As in Open vSwitch, NXT_FLOW_MOD carries OpenFlow 1.0 actions on a 1.0 connection and
//! OpenFlow 1.1+ instructions otherwise.

use flowtable::flow_mod::GROUP_ANY;
use flowtable::{FlowMod, PortNo};

use flowtable::Match;

use super::{actions10, actions13, nxm, props};
use crate::error::{OfError, NX_VENDOR_ID, ONF_VENDOR_ID};
use crate::header::OFP10_VERSION;
use crate::msg::{FlowRemoved, Message, PacketIn, PacketIn2, NO_BUFFER};
use crate::wire::{Reader, Writer};

/// `NXT_SET_FLOW_FORMAT`.
pub const NXT_SET_FLOW_FORMAT: u32 = 12;
/// `NXT_FLOW_MOD`.
pub const NXT_FLOW_MOD: u32 = 13;
/// `NXT_FLOW_MOD_TABLE_ID`.
pub const NXT_FLOW_MOD_TABLE_ID: u32 = 15;
/// `NXT_SET_PACKET_IN_FORMAT`.
pub const NXT_SET_PACKET_IN_FORMAT: u32 = 16;
/// `NXT_SET_CONTROLLER_ID`.
pub const NXT_SET_CONTROLLER_ID: u32 = 20;
/// `NXT_FLOW_REMOVED`.
pub const NXT_FLOW_REMOVED: u32 = 14;
/// `NXT_PACKET_IN2`.
pub const NXT_PACKET_IN2: u32 = 30;

/// NXPINT_PACKET: the packet (or its first bytes).
const NXPINT_PACKET: u16 = 0;
/// NXPINT_FULL_LEN: u32 length of the whole packet, when truncated.
const NXPINT_FULL_LEN: u16 = 1;
/// NXPINT_BUFFER_ID: u32, when buffered.
const NXPINT_BUFFER_ID: u16 = 2;
/// NXPINT_TABLE_ID: u8.
const NXPINT_TABLE_ID: u16 = 3;
/// NXPINT_COOKIE: u64.
const NXPINT_COOKIE: u16 = 4;
/// NXPINT_REASON: u8 OFPR_*.
const NXPINT_REASON: u16 = 5;
/// NXPINT_METADATA: NXM/OXM entries of the pipeline fields.
const NXPINT_METADATA: u16 = 6;
/// NXPINT_USERDATA: the controller action's userdata.
const NXPINT_USERDATA: u16 = 7;

/// Decodes a vendor/experimenter message body (after the OpenFlow header).
pub(crate) fn decode(version: u8, xid: u32, r: &mut Reader<'_>) -> Result<Message, OfError> {
    let vendor = r.u32()?;
    if vendor == ONF_VENDOR_ID && version != OFP10_VERSION {
        return super::bundle::decode(xid, r);
    }
    if vendor != NX_VENDOR_ID {
        return Err(OfError::BadVendor(vendor));
    }
    let subtype = r.u32()?;
    let msg = match subtype {
        NXT_SET_FLOW_FORMAT => Message::NxSetFlowFormat(r.u32()?),
        NXT_FLOW_MOD_TABLE_ID => {
            let set = r.u8()?;
            r.skip(7)?;
            Message::NxFlowModTableId(set != 0)
        }
        NXT_SET_PACKET_IN_FORMAT => Message::NxSetPacketInFormat(r.u32()?),
        NXT_SET_CONTROLLER_ID => {
            r.skip(6)?;
            Message::NxSetControllerId(r.u16()?)
        }
        NXT_FLOW_MOD => Message::NxFlowMod(Box::new(decode_flow_mod(version, r)?)),
        NXT_FLOW_REMOVED => Message::NxFlowRemoved(Box::new(decode_flow_removed(r)?)),
        NXT_PACKET_IN2 => Message::NxPacketIn2(Box::new(decode_packet_in2(r.rest())?)),
        other => return Err(OfError::BadSubtype(other)),
    };
    if r.remaining() != 0 {
        return Err(OfError::BadLen("trailing bytes in a Nicira message"));
    }
    Ok(msg)
}

fn decode_flow_mod(version: u8, r: &mut Reader<'_>) -> Result<FlowMod, OfError> {
    let cookie = r.u64()?;
    let raw_command = r.u16()?;
    let command = super::flow_mod_command(raw_command & 0xff)?;
    let idle_timeout = r.u16()?;
    let hard_timeout = r.u16()?;
    let priority = r.u16()?;
    let buffer_id = r.u32()?;
    let out_port = PortNo(r.u16()?);
    let flags = r.u16()?;
    let match_len = usize::from(r.u16()?);
    r.skip(6)?;
    let match_bytes = r.bytes(match_len.div_ceil(8) * 8).map_err(|_| OfError::BadMatchLen("nx_match past the end"))?;
    let (match_, filter_cookie, cookie_mask) = nxm::decode_nx_match_with_cookie(&match_bytes[..match_len])?;
    // With a cookie filter in the match, the header's cookie is the new cookie (all-ones:
    // unchanged); additions cannot filter (NXBRC_NXM_INVALID), as in Open vSwitch.
    let (cookie, new_cookie) = if cookie_mask == 0 {
        (cookie, None)
    } else if command == flowtable::FlowModCommand::Add {
        return Err(OfError::NxmInvalid);
    } else {
        (filter_cookie, (cookie != u64::MAX).then_some(cookie))
    };
    let rest = r.rest();
    let actions =
        if version == OFP10_VERSION { actions10::decode_actions(rest)? } else { actions13::decode_instructions(rest)? };
    Ok(FlowMod {
        command,
        table_id: (raw_command >> 8) as u8,
        match_,
        priority,
        cookie,
        cookie_mask,
        new_cookie,
        idle_timeout,
        hard_timeout,
        importance: 0,
        flags,
        out_port,
        out_group: GROUP_ANY,
        buffer_id: (buffer_id != NO_BUFFER).then_some(buffer_id),
        actions,
    })
}

/// `nx_flow_removed`: `table_id` travels plus one (0: unknown, read as 255).
fn decode_flow_removed(r: &mut Reader<'_>) -> Result<FlowRemoved, OfError> {
    let mut fr = FlowRemoved { cookie: r.u64()?, priority: r.u16()?, reason: r.u8()?, ..FlowRemoved::default() };
    fr.table_id = r.u8()?.wrapping_sub(1);
    fr.duration_sec = r.u32()?;
    fr.duration_nsec = r.u32()?;
    fr.idle_timeout = r.u16()?;
    let match_len = usize::from(r.u16()?);
    fr.packet_count = r.u64()?;
    fr.byte_count = r.u64()?;
    let padded = r.bytes(match_len.div_ceil(8) * 8).map_err(|_| OfError::BadMatchLen("nx_match past the end"))?;
    fr.match_ = nxm::decode_entries(&padded[..match_len])?;
    Ok(fr)
}

/// `hard_timeout` has no field in `nx_flow_removed` and is not sent (as in OpenFlow 1.0).
fn encode_flow_removed(fr: &FlowRemoved, w: &mut Writer) -> Result<(), OfError> {
    w.u64(fr.cookie);
    w.u16(fr.priority);
    w.u8(fr.reason);
    w.u8(fr.table_id.wrapping_add(1));
    w.u32(fr.duration_sec);
    w.u32(fr.duration_nsec);
    w.u16(fr.idle_timeout);
    let mut nx_match = Writer::default();
    nxm::put_entries_nxm(&fr.match_, &mut nx_match)?;
    let entries = nx_match.buf;
    w.u16(u16::try_from(entries.len()).map_err(|_| OfError::Unencodable("nx_match too long"))?);
    w.u64(fr.packet_count);
    w.u64(fr.byte_count);
    w.bytes(&entries);
    w.zeros(entries.len().div_ceil(8) * 8 - entries.len());
    Ok(())
}

/// NXT_PACKET_IN2 properties, read as Open vSwitch does with `loose` set: unknown
/// properties (and the private NXPINT_CONTINUATION) are skipped. Absent properties read as
/// total_len = packet length, buffer_id = NO_BUFFER, table 0, cookie all-ones, reason 0.
fn decode_packet_in2(bytes: &[u8]) -> Result<PacketIn2, OfError> {
    let mut pin = PacketIn {
        buffer_id: NO_BUFFER,
        total_len: 0,
        reason: 0,
        table_id: 0,
        cookie: u64::MAX,
        match_: Match::ANY,
        data: Vec::new(),
    };
    let mut full_len = None;
    let mut userdata = Vec::new();
    for (ptype, body) in props::decode(bytes)? {
        match ptype {
            NXPINT_PACKET => pin.data = body.to_vec(),
            NXPINT_FULL_LEN => full_len = Some(props::parse_u32(body)?),
            NXPINT_BUFFER_ID => pin.buffer_id = props::parse_u32(body)?,
            NXPINT_TABLE_ID => pin.table_id = props::parse_u8(body)?,
            NXPINT_COOKIE => pin.cookie = props::parse_u64(body)?,
            NXPINT_REASON => pin.reason = props::parse_u8(body)?,
            NXPINT_METADATA => pin.match_ = nxm::decode_entries(body)?,
            NXPINT_USERDATA => userdata = body.to_vec(),
            _ => {}
        }
    }
    if pin.data.is_empty() {
        return Err(OfError::BadLen("NXT_PACKET_IN2 without a packet"));
    }
    let total = full_len.map_or(Ok(pin.data.len()), |l| usize::try_from(l).map_err(|_| OfError::BadLen("full_len")))?;
    if total < pin.data.len() {
        return Err(OfError::BadLen("NXT_PACKET_IN2 full_len below the packet length"));
    }
    pin.total_len = u16::try_from(total).map_err(|_| OfError::BadLen("NXT_PACKET_IN2 full_len above 65535"))?;
    Ok(PacketIn2 { packet_in: pin, userdata })
}

/// NXT_PACKET_IN2 properties in Open vSwitch's order (`ofputil_put_packet_in` plus userdata).
fn encode_packet_in2(p: &PacketIn2, w: &mut Writer) -> Result<(), OfError> {
    let pin = &p.packet_in;
    if pin.data.is_empty() || usize::from(pin.total_len) < pin.data.len() {
        return Err(OfError::Unencodable("NXT_PACKET_IN2 needs a packet no longer than total_len"));
    }
    props::put(w, NXPINT_PACKET, &pin.data)?;
    if usize::from(pin.total_len) != pin.data.len() {
        props::put_u32(w, NXPINT_FULL_LEN, u32::from(pin.total_len))?;
    }
    if pin.buffer_id != NO_BUFFER {
        props::put_u32(w, NXPINT_BUFFER_ID, pin.buffer_id)?;
    }
    props::put_u8(w, NXPINT_TABLE_ID, pin.table_id)?;
    if pin.cookie != u64::MAX {
        props::put_u64(w, NXPINT_COOKIE, pin.cookie)?;
    }
    props::put_u8(w, NXPINT_REASON, pin.reason)?;
    props::put(w, NXPINT_METADATA, &nxm::encode_entries(&pin.match_)?)?;
    if !p.userdata.is_empty() {
        props::put(w, NXPINT_USERDATA, &p.userdata)?;
    }
    Ok(())
}

/// Appends a Nicira message body; `Ok(false)` if `msg` is not one.
pub(crate) fn encode(version: u8, msg: &Message, w: &mut Writer) -> Result<bool, OfError> {
    let head = |w: &mut Writer, subtype: u32| {
        w.u32(NX_VENDOR_ID);
        w.u32(subtype);
    };
    match msg {
        Message::NxSetFlowFormat(f) => {
            head(w, NXT_SET_FLOW_FORMAT);
            w.u32(*f);
        }
        Message::NxFlowModTableId(set) => {
            head(w, NXT_FLOW_MOD_TABLE_ID);
            w.u8(u8::from(*set));
            w.zeros(7);
        }
        Message::NxSetPacketInFormat(f) => {
            head(w, NXT_SET_PACKET_IN_FORMAT);
            w.u32(*f);
        }
        Message::NxSetControllerId(id) => {
            head(w, NXT_SET_CONTROLLER_ID);
            w.zeros(6);
            w.u16(*id);
        }
        Message::NxFlowMod(fm) => {
            if fm.out_group != GROUP_ANY {
                return Err(OfError::Unencodable("out_group in NXT_FLOW_MOD"));
            }
            if fm.cookie_mask != 0 && fm.command == flowtable::FlowModCommand::Add {
                return Err(OfError::Unencodable("cookie filter in an add"));
            }
            head(w, NXT_FLOW_MOD);
            let mut nx_match = Writer::default();
            let (filter, mask) = if fm.cookie_mask == 0 { (0, 0) } else { (fm.cookie, fm.cookie_mask) };
            let match_len = nxm::put_nx_match_with_cookie(&fm.match_, filter, mask, &mut nx_match)?;
            w.u64(if fm.cookie_mask == 0 { fm.cookie } else { fm.new_cookie.unwrap_or(u64::MAX) });
            w.u16(u16::from(fm.table_id) << 8 | u16::from(super::flow_mod_command_code(fm.command)));
            w.u16(fm.idle_timeout);
            w.u16(fm.hard_timeout);
            w.u16(fm.priority);
            w.u32(fm.buffer_id.unwrap_or(NO_BUFFER));
            w.u16(fm.out_port.0);
            w.u16(fm.flags);
            w.u16(match_len);
            w.zeros(6);
            w.bytes(&nx_match.buf);
            if version == OFP10_VERSION {
                actions10::encode_actions(&fm.actions, w)?;
            } else {
                actions13::encode_instructions(&fm.actions, w)?;
            }
        }
        Message::NxPacketIn2(p) => {
            head(w, NXT_PACKET_IN2);
            encode_packet_in2(p, w)?;
        }
        Message::NxFlowRemoved(fr) => {
            head(w, NXT_FLOW_REMOVED);
            encode_flow_removed(fr, w)?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}
