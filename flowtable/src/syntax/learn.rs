//! The Nicira `learn(...)` action: parsing and printing (lib/learn.c).
//!
//! A learn action is a list of options (`table=`, `priority=`, timeouts, `cookie=`, flags)
//! and field specifications: `FIELD[range]` (match the same bits), `DST[range]=SRC[range]`,
//! `FIELD=VALUE` (match an immediate), `load:SRC->DST` and `output:SRC`.

use super::fields::{format_subfield, format_value, lookup, mf_name, parse_subfield, parse_value, prints_exactly};
use super::lexer::{c_hex, parse_u16, parse_u64, parse_u8, parse_uint, split_words};
use super::SyntaxError;
use crate::action::{Learn, LearnSpec, LearnSrc};
use crate::field::SubField;
use crate::flow_mod::flags;

/// Priority of a learned flow when none is given (OpenFlow's default priority).
const DEFAULT_PRIORITY: u16 = 0x8000;

/// Parses the inside of `learn(...)`, which starts at byte `base` of the line.
pub(crate) fn parse_learn(s: &str, base: usize) -> Result<Learn, SyntaxError> {
    let mut learn = Learn { table_id: 1, priority: DEFAULT_PRIORITY, ..Learn::default() };
    for word in split_words(s, base)? {
        let err = |msg: String| word.error(msg);
        let text = word.text;
        let (key, value) = match text.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (text, None),
        };
        match (key, value) {
            ("table", Some(v)) => learn.table_id = parse_u8(v).map_err(err)?,
            ("priority", Some(v)) => learn.priority = parse_u16(v).map_err(err)?,
            ("idle_timeout", Some(v)) => learn.idle_timeout = parse_u16(v).map_err(err)?,
            ("hard_timeout", Some(v)) => learn.hard_timeout = parse_u16(v).map_err(err)?,
            ("fin_idle_timeout", Some(v)) => learn.fin_idle_timeout = parse_u16(v).map_err(err)?,
            ("fin_hard_timeout", Some(v)) => learn.fin_hard_timeout = parse_u16(v).map_err(err)?,
            ("cookie", Some(v)) => learn.cookie = parse_u64(v).map_err(err)?,
            ("send_flow_rem", None) => learn.flags |= flags::SEND_FLOW_REM,
            ("delete_learned", None) => learn.delete_learned = true,
            _ => learn.specs.push(parse_spec(text).map_err(err)?),
        }
    }
    if learn.table_id == 255 {
        return Err(SyntaxError::new(s, base, "learn: table 255 is not a real table"));
    }
    Ok(learn)
}

fn parse_spec(text: &str) -> Result<LearnSpec, String> {
    if let Some(rest) = text.strip_prefix("load:") {
        let (src, dst) = rest.split_once("->").ok_or("expected load:SRC->DST")?;
        let dst = parse_subfield(dst)?;
        if !dst.field.writable() {
            return Err(format!("{} is read-only", dst.field.name()));
        }
        let src = parse_src(src, dst)?;
        return Ok(LearnSpec::Load { dst, src });
    }
    if let Some(rest) = text.strip_prefix("output:") {
        let src = parse_subfield(rest)?;
        return Ok(LearnSpec::Output { src });
    }
    let (dst_text, src_text) = match text.split_once('=') {
        Some((d, s)) => (d, Some(s)),
        None => (text, None),
    };
    if let (false, Some(src_text)) = (dst_text.contains('['), src_text) {
        // `FIELD=VALUE`: an immediate in the field's own syntax, or another field.
        let field = lookup(dst_text).ok_or_else(|| format!("unknown field `{dst_text}`"))?;
        let dst = SubField::whole(field);
        if let Ok(src) = parse_subfield(src_text) {
            return field_src(dst, src);
        }
        let v = parse_value(field, src_text)?;
        return Ok(LearnSpec::Match { dst, src: LearnSrc::Imm(v) });
    }
    let dst = parse_subfield(dst_text)?;
    match src_text {
        None => Ok(LearnSpec::Match { dst, src: LearnSrc::Field(dst) }),
        Some(s) => Ok(LearnSpec::Match { dst, src: parse_src(s, dst)? }),
    }
}

fn field_src(dst: SubField, src: SubField) -> Result<LearnSpec, String> {
    if src.n_bits != dst.n_bits {
        return Err(format!("source is {} bits but destination is {} bits", src.n_bits, dst.n_bits));
    }
    Ok(LearnSpec::Match { dst, src: LearnSrc::Field(src) })
}

/// A source: a subfield of the same width, or an immediate that fits the destination.
fn parse_src(s: &str, dst: SubField) -> Result<LearnSrc, String> {
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        let v = parse_uint(s, u128::MAX)?;
        if dst.n_bits < 128 && v >> dst.n_bits != 0 {
            return Err(format!("value {s} does not fit in {} bits", dst.n_bits));
        }
        return Ok(LearnSrc::Imm(v));
    }
    let src = parse_subfield(s)?;
    if src.n_bits != dst.n_bits {
        return Err(format!("source is {} bits but destination is {} bits", src.n_bits, dst.n_bits));
    }
    Ok(LearnSrc::Field(src))
}

/// Formats a learn action as lib/learn.c `learn_format` does.
pub(crate) fn format_learn(learn: &Learn, out: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(out, "learn(table={}", learn.table_id);
    for (name, v) in [("idle_timeout", learn.idle_timeout), ("hard_timeout", learn.hard_timeout)] {
        if v != 0 {
            let _ = write!(out, ",{name}={v}");
        }
    }
    for (name, v) in [("fin_idle_timeout", learn.fin_idle_timeout), ("fin_hard_timeout", learn.fin_hard_timeout)] {
        if v != 0 {
            let _ = write!(out, ",{name}={v}");
        }
    }
    if learn.priority != DEFAULT_PRIORITY {
        let _ = write!(out, ",priority={}", learn.priority);
    }
    if learn.flags & flags::SEND_FLOW_REM != 0 {
        out.push_str(",send_flow_rem");
    }
    if learn.delete_learned {
        out.push_str(",delete_learned");
    }
    if learn.cookie != 0 {
        let _ = write!(out, ",cookie={:#x}", learn.cookie);
    }
    for spec in &learn.specs {
        out.push(',');
        match spec {
            LearnSpec::Match { dst, src: LearnSrc::Imm(v) } => {
                if dst.ofs == 0 && dst.n_bits == dst.field.bits() && prints_exactly(dst.field, *v) {
                    let _ = write!(out, "{}={}", mf_name(dst.field), format_value(dst.field, *v, None));
                } else {
                    let _ = write!(out, "{}={}", format_subfield(*dst), c_hex(*v));
                }
            }
            LearnSpec::Match { dst, src: LearnSrc::Field(src) } => {
                out.push_str(&format_subfield(*dst));
                if src.field != dst.field || src.ofs != dst.ofs {
                    let _ = write!(out, "={}", format_subfield(*src));
                }
            }
            LearnSpec::Load { dst, src: LearnSrc::Imm(v) } => {
                let _ = write!(out, "load:{}->{}", c_hex(*v), format_subfield(*dst));
            }
            LearnSpec::Load { dst, src: LearnSrc::Field(src) } => {
                let _ = write!(out, "load:{}->{}", format_subfield(*src), format_subfield(*dst));
            }
            LearnSpec::Output { src } => {
                let _ = write!(out, "output:{}", format_subfield(*src));
            }
        }
    }
    out.push(')');
}
