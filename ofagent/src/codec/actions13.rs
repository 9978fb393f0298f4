//! OpenFlow 1.3 actions (`ofp_action_*`, Nicira vendor actions inside) and instructions.
//!
//! Instructions live inline in `Vec<Action>`; on decode they are put in Open vSwitch's
//! canonical order (meter, apply-actions, clear-actions, write-actions, write-metadata,
//! goto-table) so that decode/encode round-trips.

use flowtable::{Action, PortNo};

use super::nx_actions::{self, OFPAT_VENDOR};
use crate::error::{OfError, NX_VENDOR_ID};
use crate::wire::{Reader, Writer};

const OFPAT_OUTPUT: u16 = 0;
const OFPAT_PUSH_VLAN: u16 = 17;
const OFPAT_POP_VLAN: u16 = 18;
const OFPAT_SET_QUEUE: u16 = 21;
const OFPAT_GROUP: u16 = 22;
const OFPAT_SET_NW_TTL: u16 = 23;
const OFPAT_DEC_NW_TTL: u16 = 24;
const OFPAT_SET_FIELD: u16 = 25;

const OFPIT_GOTO_TABLE: u16 = 1;
const OFPIT_WRITE_METADATA: u16 = 2;
const OFPIT_WRITE_ACTIONS: u16 = 3;
const OFPIT_APPLY_ACTIONS: u16 = 4;
const OFPIT_CLEAR_ACTIONS: u16 = 5;
const OFPIT_METER: u16 = 6;

/// Decodes an OpenFlow 1.3 action list.
pub fn decode_actions(bytes: &[u8]) -> Result<Vec<Action>, OfError> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let atype = r.u16().map_err(|_| OfError::BadActionLen)?;
        let len = usize::from(r.u16().map_err(|_| OfError::BadActionLen)?);
        if len < 8 || len % 8 != 0 {
            return Err(OfError::BadActionLen);
        }
        let body = r.bytes(len - 4).map_err(|_| OfError::BadActionLen)?;
        out.push(decode_one(atype, len, &mut Reader::new(body))?);
    }
    Ok(out)
}

fn decode_one(atype: u16, len: usize, r: &mut Reader<'_>) -> Result<Action, OfError> {
    let short = |_| OfError::BadActionLen;
    let fixed = |want: usize| if len == want { Ok(()) } else { Err(OfError::BadActionLen) };
    Ok(match atype {
        OFPAT_OUTPUT => {
            fixed(16)?;
            let raw = r.u32().map_err(short)?;
            let port = PortNo::from_of13(raw).ok_or(OfError::BadOutPort(raw))?;
            super::actions10::check_port(port).map_err(|_| OfError::BadOutPort(raw))?;
            Action::Output { port, max_len: r.u16().map_err(short)? }
        }
        OFPAT_PUSH_VLAN => {
            fixed(8)?;
            let tpid = r.u16().map_err(short)?;
            if tpid != 0x8100 && tpid != 0x88a8 {
                return Err(OfError::BadActionArgument("push_vlan ethertype"));
            }
            Action::PushVlan(tpid)
        }
        OFPAT_POP_VLAN => {
            fixed(8)?;
            Action::PopVlan
        }
        OFPAT_SET_QUEUE => {
            fixed(8)?;
            Action::SetQueue(r.u32().map_err(short)?)
        }
        OFPAT_GROUP => {
            fixed(8)?;
            Action::Group(r.u32().map_err(short)?)
        }
        OFPAT_SET_NW_TTL => {
            fixed(8)?;
            Action::SetTtl(r.u8().map_err(short)?)
        }
        OFPAT_DEC_NW_TTL => {
            fixed(8)?;
            Action::DecTtl
        }
        OFPAT_SET_FIELD => nx_actions::decode_set_field(r, false)?,
        OFPAT_VENDOR => {
            let vendor = r.u32().map_err(short)?;
            if vendor != NX_VENDOR_ID {
                return Err(OfError::BadActionVendor(vendor));
            }
            let subtype = r.u16().map_err(short)?;
            nx_actions::decode(subtype, r)?
        }
        other => return Err(OfError::BadActionType(other)),
    })
}

fn patch_len(w: &mut Writer, start: usize) -> Result<(), OfError> {
    let len = w.buf.len() - start;
    let padded = len.div_ceil(8) * 8;
    w.zeros(padded - len);
    let len16 = u16::try_from(padded).map_err(|_| OfError::Unencodable("action too long"))?;
    w.buf[start + 2..start + 4].copy_from_slice(&len16.to_be_bytes());
    Ok(())
}

/// OpenFlow 1.3 encoding of an action list (no instructions allowed here).
pub fn encode_action_list(actions: &[Action]) -> Result<Vec<u8>, OfError> {
    let mut w = Writer::default();
    encode_actions(actions, &mut w)?;
    Ok(w.buf)
}

/// OpenFlow 1.3 instructions for inline instructions and actions.
pub fn encode_instruction_list(actions: &[Action]) -> Result<Vec<u8>, OfError> {
    let mut w = Writer::default();
    encode_instructions(actions, &mut w)?;
    Ok(w.buf)
}

/// Appends OpenFlow 1.3 encodings of `actions` (no instructions allowed here).
pub(crate) fn encode_actions(actions: &[Action], w: &mut Writer) -> Result<(), OfError> {
    for a in actions {
        let start = w.buf.len();
        let simple = |w: &mut Writer, t: u16| {
            w.u16(t);
            w.u16(8);
        };
        match a {
            Action::Output { port, max_len } => {
                w.u16(OFPAT_OUTPUT);
                w.u16(16);
                w.u32(port.to_of13());
                w.u16(*max_len);
                w.zeros(6);
            }
            Action::PushVlan(tpid) => {
                simple(w, OFPAT_PUSH_VLAN);
                w.u16(*tpid);
                w.zeros(2);
            }
            Action::PopVlan => {
                simple(w, OFPAT_POP_VLAN);
                w.zeros(4);
            }
            Action::SetQueue(q) => {
                simple(w, OFPAT_SET_QUEUE);
                w.u32(*q);
            }
            Action::Group(g) => {
                simple(w, OFPAT_GROUP);
                w.u32(*g);
            }
            Action::SetTtl(t) => {
                simple(w, OFPAT_SET_NW_TTL);
                w.u8(*t);
                w.zeros(3);
            }
            Action::DecTtl => {
                simple(w, OFPAT_DEC_NW_TTL);
                w.zeros(4);
            }
            Action::SetField { field, value, mask } if *mask == field.max_value() => {
                w.u16(OFPAT_SET_FIELD);
                w.u16(0);
                nx_actions::put_set_field_tlv(*field, *value, *mask, w)?;
                patch_len(w, start)?;
            }
            a if a.is_instruction() => return Err(OfError::Unencodable("instruction inside an action list")),
            a => {
                if !nx_actions::encode(a, w)? {
                    return Err(OfError::Unencodable("action has no OpenFlow 1.3 encoding"));
                }
            }
        }
    }
    Ok(())
}

/// Decodes OpenFlow 1.3 instructions into the inline form, in canonical order.
pub fn decode_instructions(bytes: &[u8]) -> Result<Vec<Action>, OfError> {
    let mut r = Reader::new(bytes);
    let mut slots: [Option<Vec<Action>>; 7] = Default::default();
    while r.remaining() > 0 {
        let itype = r.u16().map_err(|_| OfError::BadInstLen)?;
        let len = usize::from(r.u16().map_err(|_| OfError::BadInstLen)?);
        if len < 8 || len % 8 != 0 {
            return Err(OfError::BadInstLen);
        }
        let mut b = Reader::new(r.bytes(len - 4).map_err(|_| OfError::BadInstLen)?);
        let short = |_| OfError::BadInstLen;
        let fixed = |want: usize| if len == want { Ok(()) } else { Err(OfError::BadInstLen) };
        let (slot, value) = match itype {
            OFPIT_METER => {
                fixed(8)?;
                (0, vec![Action::Meter(b.u32().map_err(short)?)])
            }
            OFPIT_APPLY_ACTIONS => {
                b.skip(4).map_err(short)?;
                (1, decode_actions(b.rest())?)
            }
            OFPIT_CLEAR_ACTIONS => {
                fixed(8)?;
                (2, vec![Action::ClearActions])
            }
            OFPIT_WRITE_ACTIONS => {
                b.skip(4).map_err(short)?;
                (3, vec![Action::WriteActions(decode_actions(b.rest())?)])
            }
            OFPIT_WRITE_METADATA => {
                fixed(24)?;
                b.skip(4).map_err(short)?;
                let value = b.u64().map_err(short)?;
                let mask = b.u64().map_err(short)?;
                (4, vec![Action::WriteMetadata { value: value & mask, mask }])
            }
            OFPIT_GOTO_TABLE => {
                fixed(8)?;
                (5, vec![Action::GotoTable(b.u8().map_err(short)?)])
            }
            0xffff => return Err(OfError::UnsupInst(itype)),
            other => return Err(OfError::UnknownInst(other)),
        };
        if slots[slot].is_some() {
            return Err(OfError::DupInst);
        }
        slots[slot] = Some(value);
    }
    Ok(slots.into_iter().flatten().flatten().collect())
}

/// Appends the inline instructions and actions of `actions` as OpenFlow 1.3 instructions.
pub(crate) fn encode_instructions(actions: &[Action], w: &mut Writer) -> Result<(), OfError> {
    let apply: Vec<Action> = actions.iter().filter(|a| !a.is_instruction()).cloned().collect();
    for a in actions {
        if let Action::Meter(m) = a {
            w.u16(OFPIT_METER);
            w.u16(8);
            w.u32(*m);
        }
    }
    if !apply.is_empty() {
        let start = w.buf.len();
        w.u16(OFPIT_APPLY_ACTIONS);
        w.u16(0);
        w.zeros(4);
        encode_actions(&apply, w)?;
        patch_len(w, start)?;
    }
    for a in actions {
        if let Action::ClearActions = a {
            w.u16(OFPIT_CLEAR_ACTIONS);
            w.u16(8);
            w.zeros(4);
        }
    }
    for a in actions {
        if let Action::WriteActions(list) = a {
            let start = w.buf.len();
            w.u16(OFPIT_WRITE_ACTIONS);
            w.u16(0);
            w.zeros(4);
            encode_actions(list, w)?;
            patch_len(w, start)?;
        }
    }
    for a in actions {
        if let Action::WriteMetadata { value, mask } = a {
            w.u16(OFPIT_WRITE_METADATA);
            w.u16(24);
            w.zeros(4);
            w.u64(*value);
            w.u64(*mask);
        }
    }
    for a in actions {
        if let Action::GotoTable(t) = a {
            w.u16(OFPIT_GOTO_TABLE);
            w.u16(8);
            w.u8(*t);
            w.zeros(3);
        }
    }
    Ok(())
}
