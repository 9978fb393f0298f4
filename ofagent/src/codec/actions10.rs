//! OpenFlow 1.0 actions (`ofp_action_*`), with Nicira vendor actions for what 1.0 lacks.
//! Native 1.0 set actions decode into `Action::SetField` and are preferred on encode.
//! Instructions are written as Open vSwitch writes them for OpenFlow 1.0 (see
//! `encode_actions`).

use flowtable::{Action, Field, PortNo};

use super::nx_actions::{self, OFPAT_VENDOR};
use crate::error::{OfError, NX_VENDOR_ID};
use crate::wire::{Reader, Writer};

const OFPAT10_OUTPUT: u16 = 0;
const OFPAT10_SET_VLAN_VID: u16 = 1;
const OFPAT10_SET_VLAN_PCP: u16 = 2;
const OFPAT10_STRIP_VLAN: u16 = 3;
const OFPAT10_SET_DL_SRC: u16 = 4;
const OFPAT10_SET_DL_DST: u16 = 5;
const OFPAT10_SET_NW_SRC: u16 = 6;
const OFPAT10_SET_NW_DST: u16 = 7;
const OFPAT10_SET_NW_TOS: u16 = 8;
const OFPAT10_SET_TP_SRC: u16 = 9;
const OFPAT10_SET_TP_DST: u16 = 10;
const OFPAT10_ENQUEUE: u16 = 11;

/// Native set actions: (type, field, action length).
const NATIVE_SETS: [(u16, Field, u16); 6] = [
    (OFPAT10_SET_DL_SRC, Field::EthSrc, 16),
    (OFPAT10_SET_DL_DST, Field::EthDst, 16),
    (OFPAT10_SET_NW_SRC, Field::Ipv4Src, 8),
    (OFPAT10_SET_NW_DST, Field::Ipv4Dst, 8),
    (OFPAT10_SET_TP_SRC, Field::TpSrc, 8),
    (OFPAT10_SET_TP_DST, Field::TpDst, 8),
];

/// Output port validation as Open vSwitch's `ofpact_check_output_port`: a port below
/// OFPP_MAX or a reserved port other than NONE/ANY.
pub(crate) fn check_port(port: PortNo) -> Result<PortNo, OfError> {
    if port == PortNo::NONE || (port.0 >= PortNo::MAX.0 && port.reserved_name().is_none()) {
        Err(OfError::BadOutPort(u32::from(port.0)))
    } else {
        Ok(port)
    }
}

/// Decodes an OpenFlow 1.0 action list.
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
    if let Some(&(_, field, alen)) = NATIVE_SETS.iter().find(|(t, _, _)| *t == atype) {
        fixed(usize::from(alen))?;
        let value = match field {
            Field::EthSrc | Field::EthDst => super::nxm::be_value(r.bytes(6).map_err(short)?),
            Field::Ipv4Src | Field::Ipv4Dst => u128::from(r.u32().map_err(short)?),
            _ => u128::from(r.u16().map_err(short)?),
        };
        return Ok(Action::SetField { field, value, mask: field.max_value() });
    }
    Ok(match atype {
        OFPAT10_OUTPUT => {
            fixed(8)?;
            let port = check_port(PortNo(r.u16().map_err(short)?))?;
            Action::Output { port, max_len: r.u16().map_err(short)? }
        }
        OFPAT10_SET_VLAN_VID => {
            fixed(8)?;
            let vid = r.u16().map_err(short)?;
            if vid > 0x0fff {
                return Err(OfError::BadActionArgument("vlan vid above 4095"));
            }
            Action::SetVlanVid(vid)
        }
        OFPAT10_SET_VLAN_PCP => {
            fixed(8)?;
            let pcp = r.u8().map_err(short)?;
            if pcp > 7 {
                return Err(OfError::BadActionArgument("vlan pcp above 7"));
            }
            Action::SetVlanPcp(pcp)
        }
        OFPAT10_STRIP_VLAN => {
            fixed(8)?;
            Action::PopVlan
        }
        OFPAT10_SET_NW_TOS => {
            fixed(8)?;
            let tos = r.u8().map_err(short)?;
            if tos & 3 != 0 {
                return Err(OfError::BadActionArgument("nw_tos with ECN bits"));
            }
            Action::SetField { field: Field::IpDscp, value: u128::from(tos >> 2), mask: Field::IpDscp.max_value() }
        }
        OFPAT10_ENQUEUE => {
            fixed(16)?;
            let port = check_port(PortNo(r.u16().map_err(short)?))?;
            r.skip(6).map_err(short)?;
            Action::Enqueue { port, queue: r.u32().map_err(short)? }
        }
        OFPAT_VENDOR => {
            let vendor = r.u32().map_err(short)?;
            if vendor != NX_VENDOR_ID {
                return Err(OfError::BadActionVendor(vendor));
            }
            let subtype = r.u16().map_err(short)?;
            if subtype == nx_actions::NXAST_WRITE_METADATA {
                // OpenFlow 1.0's stand-in for the write-metadata instruction (32 bytes); read as
                // the load it amounts to there, which is also how we write it back.
                fixed(32)?;
                if r.bytes(6).map_err(short)?.iter().any(|&b| b != 0) {
                    return Err(OfError::MustBeZero);
                }
                let value = r.u64().map_err(short)?;
                let mask = r.u64().map_err(short)?;
                if mask == 0 {
                    return Err(OfError::BadActionArgument("write_metadata with an empty mask"));
                }
                Action::SetField { field: Field::Metadata, value: u128::from(value & mask), mask: u128::from(mask) }
            } else {
                nx_actions::decode(subtype, r)?
            }
        }
        other => return Err(OfError::BadActionType(other)),
    })
}

/// OpenFlow 1.0 encoding of an action list.
pub fn encode_action_list(actions: &[Action]) -> Result<Vec<u8>, OfError> {
    let mut w = Writer::default();
    encode_actions(actions, &mut w)?;
    Ok(w.buf)
}

/// Appends OpenFlow 1.0 encodings of `actions`.
pub(crate) fn encode_actions(actions: &[Action], w: &mut Writer) -> Result<(), OfError> {
    for a in actions {
        let head = |w: &mut Writer, t: u16, len: u16| {
            w.u16(t);
            w.u16(len);
        };
        match a {
            Action::Output { port, max_len } => {
                head(w, OFPAT10_OUTPUT, 8);
                w.u16(port.0);
                w.u16(*max_len);
            }
            Action::SetVlanVid(vid) => {
                head(w, OFPAT10_SET_VLAN_VID, 8);
                w.u16(*vid);
                w.zeros(2);
            }
            Action::SetVlanPcp(pcp) => {
                head(w, OFPAT10_SET_VLAN_PCP, 8);
                w.u8(*pcp);
                w.zeros(3);
            }
            Action::PopVlan => {
                head(w, OFPAT10_STRIP_VLAN, 8);
                w.zeros(4);
            }
            Action::Enqueue { port, queue } => {
                head(w, OFPAT10_ENQUEUE, 16);
                w.u16(port.0);
                w.zeros(6);
                w.u32(*queue);
            }
            Action::SetField { field: Field::IpDscp, value, mask } if *mask == Field::IpDscp.max_value() => {
                head(w, OFPAT10_SET_NW_TOS, 8);
                w.u8((*value as u8) << 2);
                w.zeros(3);
            }
            Action::SetField { field, value, mask }
                if *mask == field.max_value() && NATIVE_SETS.iter().any(|(_, f, _)| f == field) =>
            {
                let &(t, _, len) = NATIVE_SETS.iter().find(|(_, f, _)| f == field).ok_or(OfError::BadSetType)?;
                head(w, t, len);
                match field {
                    Field::EthSrc | Field::EthDst => {
                        super::nxm::put_value(w, *value, 6);
                        w.zeros(6);
                    }
                    Field::Ipv4Src | Field::Ipv4Dst => w.u32(*value as u32),
                    _ => {
                        w.u16(*value as u16);
                        w.zeros(2);
                    }
                }
            }
            // OpenFlow 1.0 has no instructions. goto_table becomes resubmit(,table) as in Open
            // vSwitch; write_metadata (which runs just before goto_table) a load of the
            // metadata bits, so that the list stays valid actions (Open vSwitch's
            // NXAST_WRITE_METADATA there would be an instruction before an action, which its
            // own decoder refuses); meter, clear_actions and write_actions are left out, as
            // Open vSwitch does.
            Action::GotoTable(t) => {
                nx_actions::encode(&Action::Resubmit { port: None, table: Some(*t) }, w)?;
            }
            Action::WriteMetadata { value, mask } => {
                if *mask != 0 {
                    let set =
                        Action::SetField { field: Field::Metadata, value: u128::from(*value), mask: u128::from(*mask) };
                    nx_actions::encode(&set, w)?;
                }
            }
            Action::Meter(_) | Action::ClearActions | Action::WriteActions(_) => {}
            a => {
                if !nx_actions::encode(a, w)? {
                    return Err(OfError::Unencodable("action has no OpenFlow 1.0 encoding"));
                }
            }
        }
    }
    Ok(())
}
