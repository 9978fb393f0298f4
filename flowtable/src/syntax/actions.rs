//! Parsing actions and instructions: `actions=strip_vlan,output:2,resubmit(,3),...`.
//!
//! Follows lib/ofp-actions.c `ofpacts_parse`: each word is `name`, `name:arg` or `name(args)`.
//! OpenFlow 1.0 "mod_*" actions become [`Action::SetField`] on the corresponding field, the way
//! Open vSwitch turns them into `set_field` when it speaks OpenFlow 1.2+.

use super::fields::{lookup, parse_masked, parse_masked_as, parse_subfield};
use super::learn::parse_learn;
use super::lexer::{parse_hex_bytes, parse_u16, parse_u32, parse_u64, parse_u8, parse_uint, split_words, Word};
use super::SyntaxError;
use crate::action::{Action, ControllerAction, PacketInReason};
use crate::field::{ethertype, Field, SubField};
use crate::port::PortNo;

/// Parses a list of actions that starts at byte `base` of the line.
pub(crate) fn parse_action_list(s: &str, base: usize) -> Result<Vec<Action>, SyntaxError> {
    let words = split_words(s, base)?;
    let mut out = Vec::new();
    let mut saw_drop = false;
    for word in &words {
        if word.text.eq_ignore_ascii_case("drop") {
            saw_drop = true;
            continue;
        }
        out.push(parse_action(word)?);
    }
    if saw_drop && !out.is_empty() {
        return Err(SyntaxError::new(s, base, "`drop` must be the only action"));
    }
    Ok(out)
}

fn need<'a>(word: &Word<'a>, value: Option<Word<'a>>) -> Result<Word<'a>, SyntaxError> {
    value.ok_or_else(|| word.error("missing argument"))
}

/// Parses one action word.
fn parse_action(word: &Word<'_>) -> Result<Action, SyntaxError> {
    let (key, value) = word.key_value()?;
    let name = key.to_ascii_lowercase();
    let err = |msg: String| word.error(msg);
    let arg = || need(word, value).map(|v| v.text);
    let set = |field: Field, value: u128| Action::SetField { field, value, mask: field.max_value() };
    let action = match name.as_str() {
        "output" => parse_output(arg()?).map_err(err)?,
        "controller" => parse_controller(value.map(|v| v.text), word.text.contains('(')).map_err(err)?,
        "enqueue" => {
            let a = arg()?;
            let (p, q) = a.split_once([':', ',']).ok_or_else(|| err("expected enqueue:PORT:QUEUE".into()))?;
            let port = PortNo::parse(p).ok_or_else(|| err(format!("`{p}` is not a port")))?;
            Action::Enqueue { port, queue: parse_u32(q).map_err(err)? }
        }
        "set_queue" => Action::SetQueue(parse_u32(arg()?).map_err(err)?),
        "group" => Action::Group(parse_u32(arg()?).map_err(err)?),
        "meter" => Action::Meter(parse_u32(arg()?).map_err(err)?),
        "goto_table" => Action::GotoTable(parse_u8(arg()?).map_err(err)?),
        "clear_actions" => Action::ClearActions,
        "write_actions" => {
            let inner = need(word, value)?;
            Action::WriteActions(parse_action_list(inner.text, inner.offset)?)
        }
        "write_metadata" => {
            let (v, m) = parse_masked(Field::Metadata, arg()?).map_err(err)?;
            Action::WriteMetadata { value: v as u64, mask: m as u64 }
        }
        "note" => {
            let mut bytes = parse_hex_bytes(arg()?).map_err(err)?;
            // Open vSwitch pads the note so that the NXAST_NOTE action is a multiple of 8 bytes.
            let padded = (bytes.len() + 10).div_ceil(8) * 8 - 10;
            bytes.resize(padded, 0);
            Action::Note(bytes)
        }
        "mod_vlan_vid" => {
            let vid = parse_uint(arg()?, 4095).map_err(|_| err("VLAN id out of range (0..4095)".into()))?;
            Action::SetVlanVid(vid as u16)
        }
        "mod_vlan_pcp" => {
            let pcp = parse_uint(arg()?, 7).map_err(|_| err("VLAN priority out of range (0..7)".into()))?;
            Action::SetVlanPcp(pcp as u8)
        }
        "strip_vlan" | "pop_vlan" => Action::PopVlan,
        "push_vlan" => {
            let tpid = parse_u16(arg()?).map_err(err)?;
            if tpid != ethertype::VLAN && tpid != ethertype::QINQ {
                return Err(err(format!("push_vlan: TPID {tpid:#x} is not 0x8100 or 0x88a8")));
            }
            Action::PushVlan(tpid)
        }
        "mod_dl_src" => set(Field::EthSrc, parse_masked_exact(Field::EthSrc, arg()?).map_err(err)?),
        "mod_dl_dst" => set(Field::EthDst, parse_masked_exact(Field::EthDst, arg()?).map_err(err)?),
        "mod_nw_src" => set(Field::Ipv4Src, parse_masked_exact(Field::Ipv4Src, arg()?).map_err(err)?),
        "mod_nw_dst" => set(Field::Ipv4Dst, parse_masked_exact(Field::Ipv4Dst, arg()?).map_err(err)?),
        "mod_nw_tos" => {
            let tos = parse_uint(arg()?, 255).map_err(err)?;
            if tos & 3 != 0 {
                return Err(err("mod_nw_tos: ECN bits must be zero".into()));
            }
            set(Field::IpDscp, tos >> 2)
        }
        "mod_nw_ecn" => set(Field::IpEcn, parse_uint(arg()?, 3).map_err(err)?),
        "mod_nw_ttl" => Action::SetTtl(parse_u8(arg()?).map_err(err)?),
        "mod_tp_src" => set(Field::TpSrc, parse_u16(arg()?).map_err(err)?.into()),
        "mod_tp_dst" => set(Field::TpDst, parse_u16(arg()?).map_err(err)?.into()),
        "dec_ttl" => {
            if value.is_some() {
                return Err(err("dec_ttl with controller ids is not supported".into()));
            }
            Action::DecTtl
        }
        "set_tunnel" => {
            let id = parse_u64(arg()?).map_err(err)?;
            if id > u64::from(u32::MAX) {
                return Err(err("set_tunnel takes a 32-bit id (use set_tunnel64)".into()));
            }
            Action::SetTunnel(id)
        }
        "set_tunnel64" => Action::SetTunnel(parse_u64(arg()?).map_err(err)?),
        "set_field" => parse_set_field(arg()?).map_err(err)?,
        "load" => parse_load(arg()?).map_err(err)?,
        "move" => {
            let a = arg()?;
            let (src, dst) = a.split_once("->").ok_or_else(|| err("expected move:SRC->DST".into()))?;
            let src = parse_subfield(src).map_err(err)?;
            let dst = parse_subfield(dst).map_err(err)?;
            if src.n_bits != dst.n_bits {
                return Err(err(format!("source is {} bits but destination is {} bits", src.n_bits, dst.n_bits)));
            }
            check_writable(dst.field).map_err(err)?;
            Action::RegMove { src, dst }
        }
        "resubmit" => parse_resubmit(arg()?, word.text.contains('(')).map_err(err)?,
        "learn" => {
            let inner = need(word, value)?;
            Action::Learn(Box::new(parse_learn(inner.text, inner.offset)?))
        }
        _ => {
            if value.is_some() {
                return Err(err(format!("unknown action `{key}`")));
            }
            let port = PortNo::parse(key).ok_or_else(|| err(format!("unknown action `{key}`")))?;
            output_to(port)
        }
    };
    Ok(action)
}

/// An exact value for a `mod_*` action (masks are refused).
fn parse_masked_exact(field: Field, s: &str) -> Result<u128, String> {
    let (v, m) = parse_masked(field, s)?;
    if m != field.max_value() {
        return Err("this action takes no mask".to_owned());
    }
    Ok(v)
}

fn output_to(port: PortNo) -> Action {
    if port == PortNo::CONTROLLER {
        Action::Controller(ControllerAction::default())
    } else {
        Action::Output { port, max_len: 0 }
    }
}

fn parse_output(s: &str) -> Result<Action, String> {
    if s.contains('[') {
        let src = parse_subfield(s)?;
        return Ok(Action::OutputReg { src, max_len: 0 });
    }
    let port = PortNo::parse(s).ok_or_else(|| format!("`{s}` is not a port"))?;
    Ok(output_to(port))
}

fn parse_controller(arg: Option<&str>, parenthesized: bool) -> Result<Action, String> {
    let mut c = ControllerAction::default();
    match arg {
        None => {}
        Some(len) if !parenthesized => c.max_len = parse_u16(len)?,
        Some(list) => {
            for item in list.split(',').filter(|i| !i.is_empty()) {
                let (k, v) = match item.split_once('=') {
                    Some((k, v)) => (k, Some(v)),
                    None => (item, None),
                };
                let v = || v.ok_or_else(|| format!("controller: `{k}` needs a value"));
                match k {
                    "max_len" => c.max_len = parse_u16(v()?)?,
                    "id" => c.controller_id = parse_u16(v()?)?,
                    "userdata" => c.userdata = parse_hex_bytes(v()?)?,
                    "pause" => c.pause = true,
                    "reason" => {
                        c.reason = match v()? {
                            "action" => PacketInReason::Action,
                            "no_match" => PacketInReason::NoMatch,
                            "invalid_ttl" => PacketInReason::InvalidTtl,
                            other => return Err(format!("unknown packet-in reason `{other}`")),
                        }
                    }
                    _ => return Err(format!("unknown controller option `{k}`")),
                }
            }
        }
    }
    Ok(Action::Controller(c))
}

fn check_writable(field: Field) -> Result<(), String> {
    if field.writable() {
        Ok(())
    } else {
        Err(format!("{} is read-only", field.name()))
    }
}

/// `set_field:VALUE[/MASK]->FIELD`.
fn parse_set_field(s: &str) -> Result<Action, String> {
    let (value, name) = s.rsplit_once("->").ok_or("expected set_field:VALUE->FIELD")?;
    let field = lookup(name).ok_or_else(|| format!("unknown field `{name}`"))?;
    check_writable(field)?;
    let (value, mask) = parse_masked_as(field, value, true)?;
    if mask == 0 {
        return Err("set_field with an all-zero mask".to_owned());
    }
    Ok(Action::SetField { field, value, mask })
}

/// `load:VALUE->SUBFIELD`.
fn parse_load(s: &str) -> Result<Action, String> {
    let (value, dst) = s.split_once("->").ok_or("expected load:VALUE->DST")?;
    let dst: SubField = parse_subfield(dst)?;
    check_writable(dst.field)?;
    let v = parse_uint(value, u128::MAX)?;
    if dst.n_bits < 128 && v >> dst.n_bits != 0 {
        return Err(format!("value {value} does not fit in {} bits", dst.n_bits));
    }
    Ok(Action::SetField { field: dst.field, value: v << dst.ofs, mask: dst.mask() })
}

/// `resubmit:PORT` or `resubmit(PORT,TABLE)` (either may be empty).
fn parse_resubmit(s: &str, parenthesized: bool) -> Result<Action, String> {
    let parse_port = |p: &str| -> Result<Option<PortNo>, String> {
        if p.is_empty() {
            return Ok(None);
        }
        let port = PortNo::parse(p).ok_or_else(|| format!("`{p}` is not a port"))?;
        Ok(if port == PortNo::IN_PORT { None } else { Some(port) })
    };
    if !parenthesized {
        let port = parse_port(s)?;
        if port.is_none() {
            return Err("resubmit:PORT needs a port other than in_port".to_owned());
        }
        return Ok(Action::Resubmit { port, table: None });
    }
    let mut parts = s.split(',');
    let port = parse_port(parts.next().unwrap_or(""))?;
    let table = match parts.next() {
        None | Some("") => None,
        Some(t) => Some(parse_u8(t)?).filter(|t| *t != 255),
    };
    if parts.next().is_some() {
        return Err("resubmit takes at most (PORT,TABLE)".to_owned());
    }
    if port.is_none() && table.is_none() {
        return Err("resubmit needs a port or a table".to_owned());
    }
    Ok(Action::Resubmit { port, table })
}
