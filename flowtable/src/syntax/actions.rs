//! Parsing and printing action lists: `strip_vlan,set_tunnel:0x5,output:2`,
//! `load:0x1->NXM_NX_REG0[]`, `resubmit(,20)`, `learn(...)`, `write_actions(...)` ...

use super::names::{self, format_subfield, Style};
use super::values::{self, format_value, parse_int};
use super::{tokens, SyntaxError, Token};
use crate::action::{Action, ControllerAction, Learn, LearnSpec, LearnSrc, PacketInReason};
use crate::field::{Field, SubField};
use crate::flow_mod::flags;
use crate::port::PortNo;

/// Parses an action list (the part after `actions=`).
pub fn parse_actions(s: &str) -> Result<Vec<Action>, SyntaxError> {
    parse_actions_at(s, 0)
}

pub(crate) fn parse_actions_at(s: &str, base: usize) -> Result<Vec<Action>, SyntaxError> {
    let mut out = Vec::new();
    let words = tokens(s, base)?;
    let n = words.len();
    for (i, t) in words.iter().enumerate() {
        if t.text.eq_ignore_ascii_case("drop") {
            if n > 1 {
                return Err(t.err("drop must be the only action"));
            }
            continue;
        }
        let a = parse_action(t)?;
        if matches!(a, Action::GotoTable(_)) && i + 1 != n {
            return Err(t.err("goto_table must be the last action (it is an instruction)"));
        }
        out.push(a);
    }
    Ok(out)
}

/// Splits `name(args)` or `name:arg`.
fn split_call(text: &str) -> (&str, Option<&str>, bool) {
    if let Some(i) = text.find('(') {
        if text.ends_with(')') && !text[..i].contains(':') {
            return (&text[..i], Some(&text[i + 1..text.len() - 1]), true);
        }
    }
    match text.split_once(':') {
        Some((n, a)) => (n, Some(a), false),
        None => (text, None, false),
    }
}

/// Parses a subfield: `NXM_OF_VLAN_TCI[0..11]`, `reg0[]`, `NXM_NX_REG0[5]`, `eth_src[]`.
pub(crate) fn parse_subfield(t: &Token<'_>, s: &str) -> Result<SubField, SyntaxError> {
    let (name, range) = match s.find('[') {
        Some(i) if s.ends_with(']') => (&s[..i], &s[i + 1..s.len() - 1]),
        // A bare field name is the whole field (`load:0x5->reg1`).
        None if names::lookup(s).is_some() => (s, ""),
        _ => return Err(t.err(format!("\"{s}\" is not a subfield (NAME[], NAME[BIT] or NAME[START..END])"))),
    };
    let named = names::lookup(name).ok_or_else(|| t.err(format!("unknown field \"{name}\"")))?;
    let (ofs, n_bits) = if range.is_empty() {
        (0, named.bits)
    } else if let Some((a, b)) = range.split_once("..") {
        let a: u32 = a.parse().map_err(|_| t.err("bad bit range"))?;
        let b: u32 = b.parse().map_err(|_| t.err("bad bit range"))?;
        if b < a {
            return Err(t.err("bit range end before start"));
        }
        (a, b - a + 1)
    } else {
        (range.parse().map_err(|_| t.err("bad bit index"))?, 1)
    };
    if ofs + n_bits > named.bits {
        return Err(t.err(format!("bits {ofs}..{} are outside {name}'s {} bits", ofs + n_bits - 1, named.bits)));
    }
    Ok(SubField { field: named.field, ofs, n_bits })
}

fn num<T: TryFrom<u128>>(t: &Token<'_>, s: &str, what: &str) -> Result<T, SyntaxError> {
    parse_int(s)
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| t.err(format!("{what}: \"{s}\" is not a number in range")))
}

fn port(t: &Token<'_>, s: &str) -> Result<PortNo, SyntaxError> {
    PortNo::parse(s).ok_or_else(|| t.err(format!("\"{s}\" is not a port")))
}

fn set(field: Field, value: u128) -> Action {
    Action::SetField { field, value: value & field.max_value(), mask: field.max_value() }
}

fn parse_value_for(t: &Token<'_>, field: Field, s: &str) -> Result<u128, SyntaxError> {
    values::parse_value(names::style(field), s, field.bits())
        .ok_or_else(|| t.err(format!("bad value \"{s}\" for {field}")))
}

fn parse_action(t: &Token<'_>) -> Result<Action, SyntaxError> {
    let text = t.text;
    if let Some(p) = PortNo::parse(text).filter(|_| text.chars().all(|c| c.is_ascii_digit())) {
        return Ok(Action::Output { port: p, max_len: 0 });
    }
    let (name, arg, _paren) = split_call(text);
    let lname = name.to_ascii_lowercase();
    let need = |what: &str| arg.ok_or_else(|| t.err(format!("{name} needs {what}")));
    Ok(match lname.as_str() {
        "output" => {
            let a = need("a port")?;
            if a.contains('[') {
                Action::OutputReg { src: parse_subfield(t, a)?, max_len: 0 }
            } else {
                Action::Output { port: port(t, a)?, max_len: 0 }
            }
        }
        "in_port" | "normal" | "flood" | "all" | "local" if arg.is_none() => {
            Action::Output { port: port(t, name)?, max_len: 0 }
        }
        "controller" => parse_controller(t, arg)?,
        "enqueue" => {
            let a = need("PORT:QUEUE")?;
            let (p, q) = a.split_once([':', ',']).ok_or_else(|| t.err("enqueue needs PORT:QUEUE"))?;
            Action::Enqueue { port: port(t, p)?, queue: num(t, q, "queue")? }
        }
        "set_queue" => Action::SetQueue(num(t, need("a queue id")?, "queue")?),
        "mod_vlan_vid" => Action::SetVlanVid(num::<u16>(t, need("a VLAN id")?, "VLAN id").and_then(|v| {
            if v <= 4095 {
                Ok(v)
            } else {
                Err(t.err("VLAN id must be 0..4095"))
            }
        })?),
        "mod_vlan_pcp" => Action::SetVlanPcp(num::<u8>(t, need("a priority")?, "priority").and_then(|v| {
            if v <= 7 {
                Ok(v)
            } else {
                Err(t.err("priority must be 0..7"))
            }
        })?),
        "strip_vlan" | "pop_vlan" => Action::PopVlan,
        "push_vlan" => {
            let tpid: u16 = num(t, need("an ethertype")?, "ethertype")?;
            if tpid != 0x8100 && tpid != 0x88a8 {
                return Err(t.err("push_vlan ethertype must be 0x8100 or 0x88a8"));
            }
            Action::PushVlan(tpid)
        }
        "mod_dl_src" => set(Field::EthSrc, parse_value_for(t, Field::EthSrc, need("a MAC")?)?),
        "mod_dl_dst" => set(Field::EthDst, parse_value_for(t, Field::EthDst, need("a MAC")?)?),
        "mod_nw_src" => set(Field::Ipv4Src, parse_value_for(t, Field::Ipv4Src, need("an address")?)?),
        "mod_nw_dst" => set(Field::Ipv4Dst, parse_value_for(t, Field::Ipv4Dst, need("an address")?)?),
        "mod_nw_tos" => {
            let tos: u8 = num(t, need("a TOS")?, "TOS")?;
            Action::SetField { field: Field::IpTos, value: u128::from(tos & 0xfc), mask: 0xfc }
        }
        "mod_nw_ecn" => set(Field::IpEcn, u128::from(num::<u8>(t, need("an ECN value")?, "ECN")? & 3)),
        "mod_nw_ttl" => set(Field::IpTtl, u128::from(num::<u8>(t, need("a TTL")?, "TTL")?)),
        "mod_tp_src" => set(Field::TpSrc, u128::from(num::<u16>(t, need("a port")?, "port")?)),
        "mod_tp_dst" => set(Field::TpDst, u128::from(num::<u16>(t, need("a port")?, "port")?)),
        "dec_ttl" => Action::DecTtl,
        "set_tunnel" | "set_tunnel64" => Action::SetTunnel(num(t, need("a tunnel id")?, "tunnel id")?),
        "group" => Action::Group(num(t, need("a group id")?, "group")?),
        "meter" => Action::Meter(num(t, need("a meter id")?, "meter")?),
        "goto_table" => Action::GotoTable(num::<u8>(t, need("a table")?, "table").and_then(|v| {
            if v < 255 {
                Ok(v)
            } else {
                Err(t.err("table must be 0..254"))
            }
        })?),
        "clear_actions" => Action::ClearActions,
        "write_actions" => Action::WriteActions(parse_actions_at(arg.unwrap_or(""), t.offset + name.len() + 1)?),
        "write_metadata" => {
            let a = need("VALUE[/MASK]")?;
            let (v, m) = a.split_once('/').map_or((a, None), |(v, m)| (v, Some(m)));
            let value: u64 = num(t, v, "metadata")?;
            let mask: u64 = m.map_or(Ok(u64::MAX), |m| num(t, m, "metadata mask"))?;
            Action::WriteMetadata { value: value & mask, mask }
        }
        "note" => {
            let a = arg.unwrap_or("");
            let hex: String = a.chars().filter(|c| *c != '.').collect();
            if !hex.len().is_multiple_of(2) || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(t.err("note takes hex bytes (de.ad.be.ef)"));
            }
            let mut note: Vec<u8> =
                (0..hex.len()).step_by(2).filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect();
            // Open vSwitch pads a note to fill its action: 6 bytes, then 8 at a time.
            let padded = 6 + note.len().saturating_sub(6).div_ceil(8) * 8;
            note.resize(padded, 0);
            Action::Note(note)
        }
        "resubmit" => {
            let a = need("a port or (port,table)")?;
            match a.split_once(',') {
                Some((p, tb)) => Action::Resubmit {
                    port: if p.is_empty() { None } else { Some(port(t, p)?) },
                    table: if tb.is_empty() { None } else { Some(num(t, tb, "table")?) },
                },
                None => Action::Resubmit { port: Some(port(t, a)?), table: None },
            }
        }
        "set_field" => {
            let a = need("VALUE->FIELD")?;
            let (v, f) = a.rsplit_once("->").ok_or_else(|| t.err("set_field needs VALUE->FIELD"))?;
            let named = names::lookup(f).ok_or_else(|| t.err(format!("unknown field \"{f}\"")))?;
            if !named.field.writable() {
                return Err(t.err(format!("{f} is read-only")));
            }
            let (value, mask) = values::parse_masked(names::style(named.field), v, named.field.bits())
                .ok_or_else(|| t.err(format!("bad value \"{v}\" for {f}")))?;
            Action::SetField { field: named.field, value, mask }
        }
        "load" => {
            let a = need("VALUE->SUBFIELD")?;
            let (v, d) = a.rsplit_once("->").ok_or_else(|| t.err("load needs VALUE->SUBFIELD"))?;
            let dst = parse_subfield(t, d)?;
            if !dst.field.writable() {
                return Err(t.err(format!("{d} is read-only")));
            }
            let value = parse_int(v).ok_or_else(|| t.err(format!("\"{v}\" is not a number")))?;
            if dst.n_bits < 128 && value >> dst.n_bits != 0 {
                return Err(t.err(format!("value {v} does not fit in {} bits", dst.n_bits)));
            }
            Action::SetField { field: dst.field, value: value << dst.ofs, mask: dst.mask() }
        }
        "move" => {
            let a = need("SRC->DST")?;
            let (s, d) = a.split_once("->").ok_or_else(|| t.err("move needs SRC->DST"))?;
            let (src, dst) = (parse_subfield(t, s)?, parse_subfield(t, d)?);
            if src.n_bits != dst.n_bits {
                return Err(t.err(format!("source has {} bits, destination {}", src.n_bits, dst.n_bits)));
            }
            if !dst.field.writable() {
                return Err(t.err(format!("{d} is read-only")));
            }
            Action::RegMove { src, dst }
        }
        "learn" => Action::Learn(Box::new(parse_learn(t, arg.unwrap_or(""))?)),
        _ => return Err(t.err("unknown action")),
    })
}

fn parse_controller(t: &Token<'_>, arg: Option<&str>) -> Result<Action, SyntaxError> {
    let mut ca = ControllerAction::default();
    let Some(arg) = arg else { return Ok(Action::Controller(ca)) };
    if let Some(n) = parse_int(arg) {
        ca.max_len = u16::try_from(n).map_err(|_| t.err("max_len must be 0..65535"))?;
        return Ok(Action::Controller(ca));
    }
    for w in tokens(arg, t.offset)? {
        let (k, v) = w.key_value(false);
        match (k, v) {
            ("max_len", Some(v)) => ca.max_len = num(&w, v, "max_len")?,
            ("id", Some(v)) => ca.controller_id = num(&w, v, "id")?,
            ("reason", Some(v)) => {
                ca.reason = match v {
                    "action" => PacketInReason::Action,
                    "no_match" => PacketInReason::NoMatch,
                    "invalid_ttl" => PacketInReason::InvalidTtl,
                    _ => return Err(w.err("reason must be action, no_match or invalid_ttl")),
                }
            }
            ("userdata", Some(v)) => {
                let hex: String = v.chars().filter(|c| *c != '.').collect();
                if !hex.len().is_multiple_of(2) || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(w.err("userdata takes hex bytes"));
                }
                ca.userdata =
                    (0..hex.len()).step_by(2).filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect();
            }
            ("pause", None) => ca.pause = true,
            _ => return Err(w.err("unknown controller() argument")),
        }
    }
    Ok(Action::Controller(ca))
}

fn learn_src(t: &Token<'_>, s: &str, dst: SubField) -> Result<LearnSrc, SyntaxError> {
    if s.contains('[') {
        let src = parse_subfield(t, s)?;
        if src.n_bits != dst.n_bits {
            return Err(t.err(format!("source has {} bits, destination {}", src.n_bits, dst.n_bits)));
        }
        Ok(LearnSrc::Field(src))
    } else {
        let style = names::style(dst.field);
        let v = values::parse_value(
            if dst.ofs == 0 && dst.n_bits == dst.field.bits() { style } else { Style::Hex },
            s,
            dst.n_bits,
        )
        .ok_or_else(|| t.err(format!("bad value \"{s}\"")))?;
        Ok(LearnSrc::Imm(v))
    }
}

fn parse_learn(t: &Token<'_>, args: &str) -> Result<Learn, SyntaxError> {
    let mut l = Learn { priority: 0x8000, ..Learn::default() };
    for w in tokens(args, t.offset + 6)? {
        let (k, v) = w.key_value(false);
        match (k, v) {
            ("table", Some(v)) => l.table_id = num(&w, v, "table")?,
            ("priority", Some(v)) => l.priority = num(&w, v, "priority")?,
            ("idle_timeout", Some(v)) => l.idle_timeout = num(&w, v, "idle_timeout")?,
            ("hard_timeout", Some(v)) => l.hard_timeout = num(&w, v, "hard_timeout")?,
            ("fin_idle_timeout", Some(v)) => l.fin_idle_timeout = num(&w, v, "fin_idle_timeout")?,
            ("fin_hard_timeout", Some(v)) => l.fin_hard_timeout = num(&w, v, "fin_hard_timeout")?,
            ("cookie", Some(v)) => l.cookie = num(&w, v, "cookie")?,
            ("send_flow_rem", None) => l.flags |= flags::SEND_FLOW_REM,
            ("delete_learned", None) => l.delete_learned = true,
            _ if w.text.starts_with("load:") => {
                let a = &w.text[5..];
                let (s, d) = a.rsplit_once("->").ok_or_else(|| w.err("load needs SRC->DST"))?;
                let dst = parse_subfield(&w, d)?;
                l.specs.push(LearnSpec::Load { src: learn_src(&w, s, dst)?, dst });
            }
            _ if w.text.starts_with("output:") => {
                l.specs.push(LearnSpec::Output { src: parse_subfield(&w, &w.text[7..])? })
            }
            (dst_text, Some(src_text)) => {
                let dst = if dst_text.contains('[') {
                    parse_subfield(&w, dst_text)?
                } else {
                    let named =
                        names::lookup(dst_text).ok_or_else(|| w.err(format!("unknown field \"{dst_text}\"")))?;
                    SubField { field: named.field, ofs: 0, n_bits: named.bits }
                };
                l.specs.push(LearnSpec::Match { src: learn_src(&w, src_text, dst)?, dst });
            }
            (dst_text, None) => {
                let dst = parse_subfield(&w, dst_text)?;
                l.specs.push(LearnSpec::Match { dst, src: LearnSrc::Field(dst) });
            }
        }
    }
    Ok(l)
}

fn format_learn(l: &Learn) -> String {
    let mut parts = vec![format!("table={}", l.table_id)];
    if l.idle_timeout != 0 {
        parts.push(format!("idle_timeout={}", l.idle_timeout));
    }
    if l.hard_timeout != 0 {
        parts.push(format!("hard_timeout={}", l.hard_timeout));
    }
    if l.fin_idle_timeout != 0 {
        parts.push(format!("fin_idle_timeout={}", l.fin_idle_timeout));
    }
    if l.fin_hard_timeout != 0 {
        parts.push(format!("fin_hard_timeout={}", l.fin_hard_timeout));
    }
    if l.priority != 0x8000 {
        parts.push(format!("priority={}", l.priority));
    }
    if l.flags & flags::SEND_FLOW_REM != 0 {
        parts.push("send_flow_rem".into());
    }
    if l.delete_learned {
        parts.push("delete_learned".into());
    }
    if l.cookie != 0 {
        parts.push(format!("cookie={:#x}", l.cookie));
    }
    let src = |s: &LearnSrc| match s {
        LearnSrc::Field(f) => format_subfield(*f),
        LearnSrc::Imm(v) => super::values::format_hex(*v),
    };
    for spec in &l.specs {
        parts.push(match spec {
            LearnSpec::Match { dst, src: LearnSrc::Field(s) } if s == dst => format_subfield(*dst),
            LearnSpec::Match { dst, src: s } => format!("{}={}", format_subfield(*dst), src(s)),
            LearnSpec::Load { dst, src: s } => format!("load:{}->{}", src(s), format_subfield(*dst)),
            LearnSpec::Output { src } => format!("output:{}", format_subfield(*src)),
        });
    }
    format!("learn({})", parts.join(","))
}

fn format_port(p: PortNo) -> String {
    if p.reserved_name().is_some() {
        p.to_string()
    } else {
        format!("output:{}", p.0)
    }
}

/// Whether `mask` is one contiguous run of ones; returns (ofs, n_bits).
fn contiguous(mask: u128) -> Option<(u32, u32)> {
    if mask == 0 {
        return None;
    }
    let ofs = mask.trailing_zeros();
    let n = (mask >> ofs).trailing_ones();
    ((mask >> ofs) >> n == 0).then_some((ofs, n))
}

fn format_one(a: &Action) -> String {
    match a {
        Action::Output { port, .. } => format_port(*port),
        Action::OutputReg { src, .. } => format!("output:{}", format_subfield(*src)),
        Action::Controller(ca) => {
            if ca.reason == PacketInReason::Action && ca.controller_id == 0 && ca.userdata.is_empty() && !ca.pause {
                format!("CONTROLLER:{}", ca.max_len)
            } else {
                let mut p = Vec::new();
                if ca.reason != PacketInReason::Action {
                    p.push(format!(
                        "reason={}",
                        match ca.reason {
                            PacketInReason::NoMatch => "no_match",
                            PacketInReason::InvalidTtl => "invalid_ttl",
                            PacketInReason::Action => "action",
                        }
                    ));
                }
                if ca.max_len != 65535 {
                    p.push(format!("max_len={}", ca.max_len));
                }
                if ca.controller_id != 0 {
                    p.push(format!("id={}", ca.controller_id));
                }
                if !ca.userdata.is_empty() {
                    p.push(format!(
                        "userdata={}",
                        ca.userdata.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(".")
                    ));
                }
                if ca.pause {
                    p.push("pause".into());
                }
                format!("controller({})", p.join(","))
            }
        }
        Action::Group(g) => format!("group:{g}"),
        Action::Enqueue { port, queue } => format!("enqueue:{port}:{queue}"),
        Action::SetQueue(q) => format!("set_queue:{q}"),
        Action::SetField { field, value, mask } => format_set_field(*field, *value, *mask),
        Action::RegMove { src, dst } => format!("move:{}->{}", format_subfield(*src), format_subfield(*dst)),
        Action::PushVlan(tpid) => format!("push_vlan:{tpid:#x}"),
        Action::PopVlan => "strip_vlan".into(),
        Action::SetVlanVid(v) => format!("mod_vlan_vid:{v}"),
        Action::SetVlanPcp(p) => format!("mod_vlan_pcp:{p}"),
        Action::DecTtl => "dec_ttl".into(),
        Action::SetTtl(t) => format_set_field(Field::IpTtl, u128::from(*t), 0xff),
        Action::SetTunnel(id) => {
            if *id > u64::from(u32::MAX) {
                format!("set_tunnel64:{id:#x}")
            } else {
                format!("set_tunnel:{id:#x}")
            }
        }
        Action::Resubmit { port, table } => match (port, table) {
            (Some(p), None) => format!("resubmit:{p}"),
            (p, t) => format!(
                "resubmit({},{})",
                p.map(|p| p.to_string()).unwrap_or_default(),
                t.map(|t| t.to_string()).unwrap_or_default()
            ),
        },
        Action::Learn(l) => format_learn(l),
        Action::Note(bytes) => {
            format!("note:{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join("."))
        }
        Action::WriteActions(list) => format!("write_actions({})", format_actions(list)),
        Action::ClearActions => "clear_actions".into(),
        Action::WriteMetadata { value, mask } => {
            if *mask == u64::MAX {
                format!("write_metadata:{value:#x}")
            } else {
                format!("write_metadata:{value:#x}/{mask:#x}")
            }
        }
        Action::Meter(m) => format!("meter:{m}"),
        Action::GotoTable(t) => format!("goto_table:{t}"),
    }
}

/// A field write in the spelling Open vSwitch prints for OpenFlow 1.0 + NXM (ovs-ofctl's
/// default protocol): the OpenFlow 1.0 action where one exists (`mod_dl_src`, `mod_nw_dst`,
/// `mod_tp_dst`, `mod_vlan_vid`, `set_tunnel`), else Nicira `load` (or `set_field` for fields
/// wider than 64 bits and non-contiguous masks).
fn format_set_field(field: Field, value: u128, mask: u128) -> String {
    let full = mask == field.max_value();
    let mac = |v| super::values::format_mac(v);
    let ip = |v: u128| std::net::Ipv4Addr::from(v as u32).to_string();
    match field {
        Field::EthSrc if full => return format!("mod_dl_src:{}", mac(value)),
        Field::EthDst if full => return format!("mod_dl_dst:{}", mac(value)),
        Field::Ipv4Src if full => return format!("mod_nw_src:{}", ip(value)),
        Field::Ipv4Dst if full => return format!("mod_nw_dst:{}", ip(value)),
        Field::TpSrc if full => return format!("mod_tp_src:{value}"),
        Field::TpDst if full => return format!("mod_tp_dst:{value}"),
        Field::IpDscp if full => return format!("mod_nw_tos:{}", value << 2),
        Field::IpTos if mask == 0xfc => return format!("mod_nw_tos:{value}"),
        Field::VlanVid if full && value & 0x1000 != 0 => return format!("mod_vlan_vid:{}", value & 0xfff),
        Field::VlanPcp if full => return format!("mod_vlan_pcp:{value}"),
        Field::TunId if full && value > u128::from(u32::MAX) => return format!("set_tunnel64:{value:#x}"),
        Field::TunId if full => return format!("set_tunnel:{value:#x}"),
        _ => {}
    }
    match contiguous(mask) {
        Some((ofs, n_bits)) if field.bits() <= 64 => {
            format!(
                "load:{}->{}",
                super::values::format_hex(value >> ofs),
                format_subfield(SubField { field, ofs, n_bits })
            )
        }
        _ if full => format!("set_field:{}->{}", format_value(names::style(field), value), names::oxm_name(field)),
        _ => format!("set_field:{value:#x}/{mask:#x}->{}", names::oxm_name(field)),
    }
}

/// Prints an action list as ovs-ofctl does (`drop` when empty).
pub fn format_actions(actions: &[Action]) -> String {
    if actions.is_empty() {
        return "drop".into();
    }
    actions.iter().map(format_one).collect::<Vec<_>>().join(",")
}
