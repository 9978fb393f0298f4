//! Nicira vendor messages (OFPT_VENDOR in 1.0, OFPT_EXPERIMENTER in 1.3; vendor 0x2320)
//! that `ovs-ofctl` relies on: NXT_SET_FLOW_FORMAT, NXT_FLOW_MOD (NXM match),
//! NXT_FLOW_MOD_TABLE_ID, NXT_SET_PACKET_IN_FORMAT and NXT_SET_CONTROLLER_ID.
//! As in Open vSwitch, NXT_FLOW_MOD carries OpenFlow 1.0 actions on a 1.0 connection and
//! OpenFlow 1.1+ instructions otherwise.

use flowtable::flow_mod::GROUP_ANY;
use flowtable::{FlowMod, PortNo};

use super::{actions10, actions13, nxm};
use crate::error::{OfError, NX_VENDOR_ID, ONF_VENDOR_ID};
use crate::header::OFP10_VERSION;
use crate::msg::{Message, NO_BUFFER};
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
    let match_ = nxm::decode_entries(&match_bytes[..match_len])?;
    let rest = r.rest();
    let actions =
        if version == OFP10_VERSION { actions10::decode_actions(rest)? } else { actions13::decode_instructions(rest)? };
    Ok(FlowMod {
        command,
        table_id: (raw_command >> 8) as u8,
        match_,
        priority,
        cookie,
        cookie_mask: 0,
        new_cookie: None,
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
            if fm.cookie_mask != 0 || fm.out_group != GROUP_ANY {
                return Err(OfError::Unencodable("cookie_mask or out_group in NXT_FLOW_MOD"));
            }
            head(w, NXT_FLOW_MOD);
            let entries = nxm::encode_entries(&fm.match_)?;
            let match_len = u16::try_from(entries.len()).map_err(|_| OfError::Unencodable("nx_match too long"))?;
            w.u64(fm.cookie);
            w.u16(u16::from(fm.table_id) << 8 | u16::from(super::flow_mod_command_code(fm.command)));
            w.u16(fm.idle_timeout);
            w.u16(fm.hard_timeout);
            w.u16(fm.priority);
            w.u32(fm.buffer_id.unwrap_or(NO_BUFFER));
            w.u16(fm.out_port.0);
            w.u16(fm.flags);
            w.u16(match_len);
            w.zeros(6);
            w.bytes(&entries);
            w.zeros(entries.len().div_ceil(8) * 8 - entries.len());
            if version == OFP10_VERSION {
                actions10::encode_actions(&fm.actions, w)?;
            } else {
                actions13::encode_instructions(&fm.actions, w)?;
            }
        }
        Message::NxPacketIn2(_) | Message::NxFlowRemoved(_) => {
            return Err(OfError::Unencodable("not implemented yet"));
        }
        _ => return Ok(false),
    }
    Ok(true)
}
