//! Nicira `learn` (NXAST_LEARN, and NXAST_LEARN2 without a limit or result) onto
//! `flowtable::action::Learn`. Layout as Open vSwitch's lib/ofp-actions.c: a 32-byte
//! `nx_action_learn`, then `flow_mod_spec`s, each a 16-bit header (`src_type` bit 13,
//! `dst_type` bits 11-12, `n_bits` bits 0-9), the source (NXM header + offset, or an
//! immediate in whole 16-bit words) and, for match and load, the destination (NXM header +
//! offset); a zero header or the end of the action ends the list, padding must be zero.

use flowtable::action::{Learn, LearnSpec, LearnSrc};
use flowtable::flow_mod::flags::SEND_FLOW_REM;
use flowtable::{Field, SubField};

use super::nx_actions::{bit_header, bit_ref, from_wire, subfield, to_wire};
use crate::error::OfError;
use crate::wire::{Reader, Writer};

/// NX_LEARN_F_SEND_FLOW_REM.
const NX_LEARN_F_SEND_FLOW_REM: u16 = 1;
/// NX_LEARN_F_DELETE_LEARNED.
const NX_LEARN_F_DELETE_LEARNED: u16 = 2;
/// NX_LEARN_F_WRITE_RESULT (learn2 only; not representable here).
const NX_LEARN_F_WRITE_RESULT: u16 = 4;
/// NX_LEARN_SRC_IMMEDIATE.
const SRC_IMMEDIATE: u16 = 1 << 13;
/// NX_LEARN_DST_MATCH / LOAD / OUTPUT.
const DST_MATCH: u16 = 0;
const DST_LOAD: u16 = 1 << 11;
const DST_OUTPUT: u16 = 2 << 11;
const DST_MASK: u16 = 3 << 11;
/// NX_LEARN_N_BITS_MASK.
const N_BITS_MASK: u16 = 0x3ff;

fn bad(what: &'static str) -> OfError {
    OfError::BadActionArgument(what)
}

fn read_subfield(r: &mut Reader<'_>, n_bits: u32) -> Result<SubField, OfError> {
    let header = r.u32().map_err(|_| OfError::BadActionLen)?;
    let ofs = u32::from(r.u16().map_err(|_| OfError::BadActionLen)?);
    Ok(from_wire(subfield(bit_ref(header)?, ofs, n_bits)?))
}

fn put_subfield(sf: SubField, w: &mut Writer) -> Result<(), OfError> {
    let sf = to_wire(sf);
    if !sf.is_valid() || (sf.field == Field::InPort && sf.ofs + sf.n_bits > 16) {
        return Err(OfError::Unencodable("learn subfield out of range"));
    }
    w.u32(bit_header(sf.field)?);
    w.u16(sf.ofs as u16);
    Ok(())
}

/// Bytes an immediate of `n_bits` takes on the wire (whole 16-bit words).
fn imm_len(n_bits: u32) -> usize {
    2 * n_bits.div_ceil(16) as usize
}

/// Decodes a learn action body (after the Nicira subtype); `learn2` reads the extra
/// `nx_action_learn2` words, accepting only limit 0 and no result field.
pub(crate) fn decode(r: &mut Reader<'_>, learn2: bool) -> Result<Learn, OfError> {
    let short = |_| OfError::BadActionLen;
    let mut l = Learn {
        idle_timeout: r.u16().map_err(short)?,
        hard_timeout: r.u16().map_err(short)?,
        priority: r.u16().map_err(short)?,
        cookie: r.u64().map_err(short)?,
        ..Learn::default()
    };
    let flags = r.u16().map_err(short)?;
    l.table_id = r.u8().map_err(short)?;
    if r.u8().map_err(short)? != 0 {
        return Err(bad("learn padding"));
    }
    l.fin_idle_timeout = r.u16().map_err(short)?;
    l.fin_hard_timeout = r.u16().map_err(short)?;
    if l.table_id == 0xff {
        return Err(bad("learn table 255"));
    }
    if flags & !(NX_LEARN_F_SEND_FLOW_REM | NX_LEARN_F_DELETE_LEARNED) != 0 {
        return Err(bad(if flags & NX_LEARN_F_WRITE_RESULT != 0 { "learn result field" } else { "learn flags" }));
    }
    if flags & NX_LEARN_F_SEND_FLOW_REM != 0 {
        l.flags = SEND_FLOW_REM;
    }
    l.delete_learned = flags & NX_LEARN_F_DELETE_LEARNED != 0;
    if learn2 {
        if r.u32().map_err(short)? != 0 {
            return Err(bad("learn limit"));
        }
        r.skip(2).map_err(short)?;
        if r.u16().map_err(short)? != 0 {
            return Err(OfError::MustBeZero);
        }
    }
    while r.remaining() >= 2 {
        let header = r.u16().map_err(short)?;
        if header == 0 {
            break;
        }
        let n_bits = u32::from(header & N_BITS_MASK);
        let immediate = header & SRC_IMMEDIATE != 0;
        let dst_type = header & DST_MASK;
        if n_bits == 0 || n_bits > 128 {
            return Err(bad("learn spec width"));
        }
        let src = if immediate {
            let raw = r.bytes(imm_len(n_bits)).map_err(short)?;
            // The value is the last n_bits of the words (leading bytes beyond 16 must be 0).
            let (high, low) = raw.split_at(raw.len().saturating_sub(16));
            let value = low.iter().fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
            if high.iter().any(|&b| b != 0) || (n_bits < 128 && value >> n_bits != 0) {
                return Err(bad("learn immediate wider than its field"));
            }
            LearnSrc::Imm(value)
        } else {
            LearnSrc::Field(read_subfield(r, n_bits)?)
        };
        let spec = match (dst_type, src) {
            (DST_MATCH, src) => LearnSpec::Match { dst: read_subfield(r, n_bits)?, src },
            (DST_LOAD, src) => {
                let dst = read_subfield(r, n_bits)?;
                if !dst.field.writable() {
                    return Err(OfError::BadSetArgument);
                }
                LearnSpec::Load { dst, src }
            }
            (DST_OUTPUT, LearnSrc::Field(src)) => LearnSpec::Output { src },
            _ => return Err(bad("learn spec type")),
        };
        l.specs.push(spec);
    }
    if r.rest().iter().any(|&b| b != 0) {
        return Err(bad("learn trailing bytes"));
    }
    Ok(l)
}

/// Appends the learn body after the Nicira subtype (the caller pads the action).
pub(crate) fn encode(l: &Learn, w: &mut Writer) -> Result<(), OfError> {
    if l.flags & !SEND_FLOW_REM != 0 {
        return Err(OfError::Unencodable("learn flags other than send_flow_rem"));
    }
    if l.table_id == 0xff {
        return Err(OfError::Unencodable("learn into table 255"));
    }
    w.u16(l.idle_timeout);
    w.u16(l.hard_timeout);
    w.u16(l.priority);
    w.u64(l.cookie);
    let mut flags = 0;
    if l.flags & SEND_FLOW_REM != 0 {
        flags |= NX_LEARN_F_SEND_FLOW_REM;
    }
    if l.delete_learned {
        flags |= NX_LEARN_F_DELETE_LEARNED;
    }
    w.u16(flags);
    w.u8(l.table_id);
    w.u8(0);
    w.u16(l.fin_idle_timeout);
    w.u16(l.fin_hard_timeout);
    for spec in &l.specs {
        let (n_bits, dst_type, src, dst) = match spec {
            LearnSpec::Match { dst, src } => (to_wire(*dst).n_bits, DST_MATCH, src.clone(), Some(*dst)),
            LearnSpec::Load { dst, src } => (to_wire(*dst).n_bits, DST_LOAD, src.clone(), Some(*dst)),
            LearnSpec::Output { src } => (to_wire(*src).n_bits, DST_OUTPUT, LearnSrc::Field(*src), None),
        };
        if n_bits == 0 || n_bits > 128 {
            return Err(OfError::Unencodable("learn spec width"));
        }
        let imm = matches!(src, LearnSrc::Imm(_));
        w.u16(n_bits as u16 | dst_type | if imm { SRC_IMMEDIATE } else { 0 });
        match src {
            LearnSrc::Field(sf) => {
                if to_wire(sf).n_bits != n_bits {
                    return Err(OfError::Unencodable("learn source and destination widths differ"));
                }
                put_subfield(sf, w)?;
            }
            LearnSrc::Imm(v) => {
                if n_bits < 128 && v >> n_bits != 0 {
                    return Err(OfError::Unencodable("learn immediate wider than its field"));
                }
                let len = imm_len(n_bits);
                let bytes = v.to_be_bytes();
                w.zeros(len.saturating_sub(16));
                w.bytes(&bytes[16 - len.min(16)..]);
            }
        }
        if let Some(d) = dst {
            put_subfield(d, w)?;
        }
    }
    Ok(())
}
