//! Nicira vendor actions (`NXAST_*`, vendor 0x2320), shared by OpenFlow 1.0 and 1.3:
//! resubmit, set_tunnel(64), reg_move, reg_load, reg_load2, note, output_reg, dec_ttl,
//! controller, controller2 (userdata, pause), learn and learn2 (see `learn`). Layouts follow Open vSwitch's lib/ofp-actions.c.

use flowtable::action::{ControllerAction, PacketInReason};
use flowtable::{Action, Field, PortNo, SubField};

use super::nxm::{self, FieldRef};
use super::props;
use crate::error::{OfError, NX_VENDOR_ID};
use crate::wire::{Reader, Writer};

/// OFPAT_VENDOR / OFPAT_EXPERIMENTER.
pub const OFPAT_VENDOR: u16 = 0xffff;
/// `NXAST_RESUBMIT`.
pub const NXAST_RESUBMIT: u16 = 1;
/// `NXAST_SET_TUNNEL`.
pub const NXAST_SET_TUNNEL: u16 = 2;
/// `NXAST_REG_MOVE`.
pub const NXAST_REG_MOVE: u16 = 6;
/// `NXAST_REG_LOAD`.
pub const NXAST_REG_LOAD: u16 = 7;
/// `NXAST_NOTE`.
pub const NXAST_NOTE: u16 = 8;
/// `NXAST_SET_TUNNEL64`.
pub const NXAST_SET_TUNNEL64: u16 = 9;
/// `NXAST_RESUBMIT_TABLE`.
pub const NXAST_RESUBMIT_TABLE: u16 = 14;
/// `NXAST_OUTPUT_REG`.
pub const NXAST_OUTPUT_REG: u16 = 15;
/// `NXAST_DEC_TTL`.
pub const NXAST_DEC_TTL: u16 = 18;
/// `NXAST_CONTROLLER`.
pub const NXAST_CONTROLLER: u16 = 20;
/// `NXAST_REG_LOAD2`.
pub const NXAST_REG_LOAD2: u16 = 33;
/// `NXAST_WRITE_METADATA` (OpenFlow 1.0 only, see `actions10`).
pub const NXAST_WRITE_METADATA: u16 = 22;
/// `NXAST_LEARN`.
pub const NXAST_LEARN: u16 = 16;
/// `NXAST_CONTROLLER2`.
pub const NXAST_CONTROLLER2: u16 = 37;
/// `NXAST_LEARN2`.
pub const NXAST_LEARN2: u16 = 45;

/// NXAC2PT_* properties of NXAST_CONTROLLER2.
const NXAC2PT_MAX_LEN: u16 = 0;
const NXAC2PT_CONTROLLER_ID: u16 = 1;
const NXAC2PT_REASON: u16 = 2;
const NXAC2PT_USERDATA: u16 = 3;
const NXAC2PT_PAUSE: u16 = 4;

fn ofs_nbits(ofs: u32, n_bits: u32) -> u16 {
    ((ofs << 6) | (n_bits - 1)) as u16
}

/// Open vSwitch's `NXM_OF_IN_PORT` is 16 bits wide while our in_port field has 32: the whole
/// field (`NXM_OF_IN_PORT[]`) travels as bits 0..15.
pub(crate) fn to_wire(sf: SubField) -> SubField {
    if sf.field == Field::InPort && sf.ofs == 0 && sf.n_bits == 32 {
        SubField { n_bits: 16, ..sf }
    } else {
        sf
    }
}

/// The reverse of [`to_wire`] for single-subfield uses (output_reg, learn).
pub(crate) fn from_wire(sf: SubField) -> SubField {
    if sf.field == Field::InPort && sf.ofs == 0 && sf.n_bits == 16 {
        SubField { n_bits: 32, ..sf }
    } else {
        sf
    }
}

pub(crate) fn subfield(fr: FieldRef, ofs: u32, n_bits: u32) -> Result<SubField, OfError> {
    // OXM in_port is a 32-bit OpenFlow 1.1 port number: only the whole field (`OXM_OF_IN_PORT[]`,
    // as Neutron's learn actions write it) means the same as our in_port.
    if fr.field() == Field::InPort && fr.len() == 4 && (ofs, n_bits) != (0, 32) {
        return Err(OfError::BadSetType);
    }
    let sf = SubField { field: fr.field(), ofs, n_bits };
    let wire_bits = if fr.field() == Field::InPort { 8 * fr.len() as u32 } else { sf.field.bits() };
    if sf.is_valid() && ofs + n_bits <= wire_bits {
        Ok(sf)
    } else {
        Err(OfError::BadSetLen)
    }
}

pub(crate) fn bit_ref(header: u32) -> Result<FieldRef, OfError> {
    let fr = nxm::field_ref_from_header(header)?;
    if header & 0x100 != 0 || fr.header(false) != header || fr.value_to_wire(0).is_err() {
        return Err(OfError::BadSetType);
    }
    Ok(fr)
}

pub(crate) fn bit_header(field: Field) -> Result<u32, OfError> {
    let fr = nxm::field_ref(field, false).ok_or(OfError::Unencodable("field has no NXM/OXM header"))?;
    if field == Field::InPort && fr.len() == 4 {
        return Err(OfError::Unencodable("in_port bits"));
    }
    Ok(fr.header(false))
}

fn reason_from(raw: u8) -> Result<PacketInReason, OfError> {
    match raw {
        0 => Ok(PacketInReason::NoMatch),
        1 => Ok(PacketInReason::Action),
        2 => Ok(PacketInReason::InvalidTtl),
        _ => Err(OfError::BadActionArgument("controller reason")),
    }
}

fn reason_to(r: PacketInReason) -> u8 {
    match r {
        PacketInReason::NoMatch => 0,
        PacketInReason::Action => 1,
        PacketInReason::InvalidTtl => 2,
    }
}

/// Decodes a set_field-style TLV (`OFPAT_SET_FIELD`, `NXAST_REG_LOAD2`): value and optional mask.
pub(crate) fn decode_set_field(r: &mut Reader<'_>, allow_mask: bool) -> Result<Action, OfError> {
    let header = r.u32().map_err(|_| OfError::BadActionLen)?;
    let fr = nxm::field_ref_from_header(header)?;
    let masked = header & 0x100 != 0;
    // in_port is not maskable (as in Open vSwitch): a port number is set whole.
    if masked && (!allow_mask || fr.field() == Field::InPort) {
        return Err(OfError::BadSetArgument);
    }
    let value = fr.value_from_wire(nxm::be_value(r.bytes(fr.len()).map_err(|_| OfError::BadActionLen)?))?;
    let field = fr.field();
    let mut mask =
        if masked { nxm::be_value(r.bytes(fr.len()).map_err(|_| OfError::BadActionLen)?) } else { field.max_value() };
    // All 16 bits of NXM_OF_IN_PORT are the whole port (see `to_wire`).
    if field == Field::InPort && fr.len() == 2 && mask == 0xffff {
        mask = field.max_value();
    }
    if !field.writable() || mask > field.max_value() || mask == 0 || (masked && fr.value_to_wire(0).ok() != Some(0)) {
        return Err(OfError::BadSetArgument);
    }
    Ok(Action::SetField { field, value: value & mask, mask })
}

/// Appends a set_field TLV for `field` (with `mask` when it is not the whole field).
pub(crate) fn put_set_field_tlv(field: Field, value: u128, mask: u128, w: &mut Writer) -> Result<(), OfError> {
    let fr = nxm::field_ref(field, true).ok_or(OfError::Unencodable("field has no NXM/OXM header"))?;
    let masked = mask != field.max_value();
    w.u32(fr.header(masked));
    nxm::put_value(w, fr.value_to_wire(value)?, fr.len());
    if masked {
        if fr.value_to_wire(0)? != 0 {
            return Err(OfError::Unencodable("masked in_port"));
        }
        nxm::put_value(w, mask, fr.len());
    }
    Ok(())
}

/// Decodes the body of a Nicira action (after vendor id and subtype; `body` ends with the
/// action). `r` covers the rest of this action only.
pub(crate) fn decode(subtype: u16, r: &mut Reader<'_>) -> Result<Action, OfError> {
    let short = |_| OfError::BadActionLen;
    let action = match subtype {
        NXAST_RESUBMIT | NXAST_RESUBMIT_TABLE => {
            let in_port = PortNo(r.u16().map_err(short)?);
            let table = if subtype == NXAST_RESUBMIT_TABLE { r.u8().map_err(short)? } else { 0xff };
            Action::Resubmit {
                port: (in_port != PortNo::IN_PORT).then_some(in_port),
                table: (table != 0xff).then_some(table),
            }
        }
        NXAST_SET_TUNNEL => {
            r.skip(2).map_err(short)?;
            Action::SetTunnel(u64::from(r.u32().map_err(short)?))
        }
        NXAST_SET_TUNNEL64 => {
            r.skip(6).map_err(short)?;
            Action::SetTunnel(r.u64().map_err(short)?)
        }
        NXAST_REG_MOVE => {
            let n_bits = u32::from(r.u16().map_err(short)?);
            let src_ofs = u32::from(r.u16().map_err(short)?);
            let dst_ofs = u32::from(r.u16().map_err(short)?);
            let src = subfield(bit_ref(r.u32().map_err(short)?)?, src_ofs, n_bits)?;
            let dst = subfield(bit_ref(r.u32().map_err(short)?)?, dst_ofs, n_bits)?;
            if !dst.field.writable() {
                return Err(OfError::BadSetArgument);
            }
            Action::RegMove { src, dst }
        }
        NXAST_REG_LOAD => {
            let on = u32::from(r.u16().map_err(short)?);
            let wire = subfield(bit_ref(r.u32().map_err(short)?)?, on >> 6, (on & 0x3f) + 1)?;
            let value = r.u64().map_err(short)?;
            if wire.n_bits < 64 && value >> wire.n_bits != 0 {
                return Err(OfError::BadSetArgument);
            }
            let dst = from_wire(wire);
            if !dst.field.writable() {
                return Err(OfError::BadSetArgument);
            }
            Action::SetField { field: dst.field, value: u128::from(value) << dst.ofs, mask: dst.mask() }
        }
        NXAST_REG_LOAD2 => decode_set_field(r, true)?,
        NXAST_NOTE => Action::Note(r.rest().to_vec()),
        NXAST_OUTPUT_REG => {
            let on = u32::from(r.u16().map_err(short)?);
            let src = from_wire(subfield(bit_ref(r.u32().map_err(short)?)?, on >> 6, (on & 0x3f) + 1)?);
            let max_len = r.u16().map_err(short)?;
            Action::OutputReg { src, max_len }
        }
        NXAST_DEC_TTL => Action::DecTtl,
        NXAST_CONTROLLER => {
            let max_len = r.u16().map_err(short)?;
            let controller_id = r.u16().map_err(short)?;
            let reason = reason_from(r.u8().map_err(short)?)?;
            Action::Controller(ControllerAction { max_len, reason, controller_id, ..ControllerAction::default() })
        }
        NXAST_LEARN | NXAST_LEARN2 => Action::Learn(Box::new(super::learn::decode(r, subtype == NXAST_LEARN2)?)),
        NXAST_CONTROLLER2 => decode_controller2(r)?,
        other => return Err(OfError::BadActionVendorType(other)),
    };
    // Whatever is left is padding.
    r.rest();
    Ok(action)
}

/// NXAST_CONTROLLER2: six zero bytes, then NXAC2PT_* properties (meter ids are refused:
/// `ControllerAction` has none).
fn decode_controller2(r: &mut Reader<'_>) -> Result<Action, OfError> {
    if r.bytes(6).map_err(|_| OfError::BadActionLen)?.iter().any(|&b| b != 0) {
        return Err(OfError::MustBeZero);
    }
    let mut c = ControllerAction::default();
    for (ptype, body) in props::decode(r.rest()).map_err(|_| OfError::BadActionLen)? {
        let bad_len = |_| OfError::BadActionLen;
        match ptype {
            NXAC2PT_MAX_LEN => c.max_len = props::parse_u16(body).map_err(bad_len)?,
            NXAC2PT_CONTROLLER_ID => c.controller_id = props::parse_u16(body).map_err(bad_len)?,
            NXAC2PT_REASON => c.reason = reason_from(props::parse_u8(body).map_err(bad_len)?)?,
            NXAC2PT_USERDATA => c.userdata = body.to_vec(),
            NXAC2PT_PAUSE => c.pause = true,
            _ => return Err(OfError::BadActionArgument("controller2 property")),
        }
    }
    Ok(Action::Controller(c))
}

fn encode_controller2(c: &ControllerAction, w: &mut Writer) -> Result<(), OfError> {
    w.zeros(6);
    if c.max_len != u16::MAX {
        props::put_u16(w, NXAC2PT_MAX_LEN, c.max_len)?;
    }
    if c.controller_id != 0 {
        props::put_u16(w, NXAC2PT_CONTROLLER_ID, c.controller_id)?;
    }
    if c.reason != PacketInReason::Action {
        props::put_u8(w, NXAC2PT_REASON, reason_to(c.reason))?;
    }
    if !c.userdata.is_empty() {
        props::put(w, NXAC2PT_USERDATA, &c.userdata)?;
    }
    if c.pause {
        props::put(w, NXAC2PT_PAUSE, &[])?;
    }
    Ok(())
}

/// Encodes `a` as a Nicira action if it has one (`Ok(false)` otherwise). `of13` picks the
/// 1.3 choices (OXM headers in reg_load2).
pub(crate) fn encode(a: &Action, w: &mut Writer) -> Result<bool, OfError> {
    let start = w.buf.len();
    let head = |w: &mut Writer, subtype: u16| {
        w.u16(OFPAT_VENDOR);
        w.u16(0);
        w.u32(NX_VENDOR_ID);
        w.u16(subtype);
    };
    match a {
        Action::Resubmit { port, table } => {
            let in_port = port.unwrap_or(PortNo::IN_PORT);
            if let Some(t) = table {
                head(w, NXAST_RESUBMIT_TABLE);
                w.u16(in_port.0);
                w.u8(*t);
                w.zeros(3);
            } else {
                head(w, NXAST_RESUBMIT);
                w.u16(in_port.0);
                w.zeros(4);
            }
        }
        Action::SetTunnel(id) => {
            if let Ok(id32) = u32::try_from(*id) {
                head(w, NXAST_SET_TUNNEL);
                w.zeros(2);
                w.u32(id32);
            } else {
                head(w, NXAST_SET_TUNNEL64);
                w.zeros(6);
                w.u64(*id);
            }
        }
        Action::RegMove { src, dst } => {
            if src.n_bits != dst.n_bits || !src.is_valid() || !dst.is_valid() {
                return Err(OfError::Unencodable("reg_move with unequal or invalid ranges"));
            }
            head(w, NXAST_REG_MOVE);
            w.u16(src.n_bits as u16);
            w.u16(src.ofs as u16);
            w.u16(dst.ofs as u16);
            w.u32(bit_header(src.field)?);
            w.u32(bit_header(dst.field)?);
        }
        Action::SetField { field, value, mask } => {
            // A whole in_port load is NXM_OF_IN_PORT[] (16 bits) on the wire.
            let mask =
                &if *field == Field::InPort && *mask == field.max_value() && *value <= 0xffff { 0xffff } else { *mask };
            let ofs = mask.trailing_zeros();
            let n_bits = 128 - mask.leading_zeros() - ofs.min(128);
            let contiguous = *mask != 0 && (mask >> ofs).count_ones() == n_bits;
            if contiguous && n_bits <= 64 && bit_header(*field).is_ok() {
                head(w, NXAST_REG_LOAD);
                w.u16(ofs_nbits(ofs, n_bits));
                w.u32(bit_header(*field)?);
                w.u64((value >> ofs) as u64);
            } else {
                head(w, NXAST_REG_LOAD2);
                put_set_field_tlv(*field, *value, *mask, w)?;
            }
        }
        Action::Note(note) => {
            head(w, NXAST_NOTE);
            w.bytes(note);
        }
        Action::OutputReg { src, max_len } => {
            let src = to_wire(*src);
            if !src.is_valid() || (src.field == Field::InPort && src.ofs + src.n_bits > 16) {
                return Err(OfError::Unencodable("output_reg range"));
            }
            head(w, NXAST_OUTPUT_REG);
            w.u16(ofs_nbits(src.ofs, src.n_bits));
            w.u32(bit_header(src.field)?);
            w.u16(*max_len);
        }
        Action::Controller(c) if !c.userdata.is_empty() || c.pause => {
            head(w, NXAST_CONTROLLER2);
            encode_controller2(c, w)?;
        }
        Action::Learn(l) => {
            head(w, NXAST_LEARN);
            super::learn::encode(l, w)?;
        }
        Action::Controller(c) => {
            head(w, NXAST_CONTROLLER);
            w.u16(c.max_len);
            w.u16(c.controller_id);
            w.u8(reason_to(c.reason));
            w.u8(0);
        }
        Action::DecTtl => {
            head(w, NXAST_DEC_TTL);
        }
        _ => return Ok(false),
    }
    // Pad to a multiple of 8 (at least 16) and fix the length.
    let len = (w.buf.len() - start).max(16).div_ceil(8) * 8;
    w.zeros(start + len - w.buf.len());
    let len16 = u16::try_from(len).map_err(|_| OfError::Unencodable("action too long"))?;
    w.buf[start + 2..start + 4].copy_from_slice(&len16.to_be_bytes());
    Ok(true)
}
