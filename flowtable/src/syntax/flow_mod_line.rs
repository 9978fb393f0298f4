//! A whole `ovs-ofctl add-flow` / `mod-flows` / `del-flows` argument (lib/ofp-flow.c
//! `parse_ofp_str__`): flow-mod options, the match, and everything after `actions=`.

use super::actions::parse_action_list;
use super::lexer::{c_hex, parse_u16, parse_u32, parse_u64, parse_u8, split_words, Word};
use super::match_syntax::{apply_match_word, MatchWord};
use super::printer::{format_actions, format_match};
use super::{check_prerequisites, SyntaxError};
use crate::flow_match::Match;
use crate::flow_mod::{flags, FlowMod, FlowModCommand, GROUP_ANY, TABLE_ALL};
use crate::port::PortNo;
use std::fmt::Write as _;

/// Flag keywords and their bits, in the order ovs-ofctl prints them.
const FLAG_WORDS: [(&str, u16); 5] = [
    ("send_flow_rem", flags::SEND_FLOW_REM),
    ("check_overlap", flags::CHECK_OVERLAP),
    ("reset_counts", flags::RESET_COUNTS),
    ("no_packet_counts", flags::NO_PKT_COUNTS),
    ("no_byte_counts", flags::NO_BYT_COUNTS),
];

/// Finds `actions=` (or `action=`) at a word boundary: the byte offset of its value.
fn find_actions(line: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let bytes = line.as_bytes();
    for (i, c) in line.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 && (i == 0 || matches!(bytes[i - 1], b',' | b' ' | b'\t')) => {
                for key in ["actions=", "action="] {
                    if line[i..].starts_with(key) {
                        return Some((i, i + key.len()));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn is_modify(command: FlowModCommand) -> bool {
    matches!(command, FlowModCommand::Modify | FlowModCommand::ModifyStrict)
}

/// Parses one flow-mod line.
pub(crate) fn parse_line(line: &str, command: FlowModCommand) -> Result<FlowMod, SyntaxError> {
    let is_delete = matches!(command, FlowModCommand::Delete | FlowModCommand::DeleteStrict);
    let (head, actions) = match find_actions(line) {
        Some((start, value)) => {
            if is_delete {
                return Err(SyntaxError::new(&line[start..], start, "del-flows takes no actions"));
            }
            (&line[..start], Some(parse_action_list(&line[value..], value)?))
        }
        None if is_delete => (line, None),
        None => return Err(SyntaxError::new(line, 0, "must specify an action (actions=...)")),
    };
    let mut fm = FlowMod::new(command, Match::ANY);
    if command != FlowModCommand::Add {
        fm.table_id = TABLE_ALL;
    }
    let words = split_words(head, 0)?;
    for word in &words {
        apply_word(&mut fm, word, command)?;
    }
    check_prerequisites(&fm.match_, &words)?;
    fm.actions = actions.unwrap_or_default();
    Ok(fm)
}

fn apply_word(fm: &mut FlowMod, word: &Word<'_>, command: FlowModCommand) -> Result<(), SyntaxError> {
    let err = |msg: String| word.error(msg);
    if let Some((_, bit)) = FLAG_WORDS.iter().find(|(name, _)| *name == word.text) {
        fm.flags |= bit;
        return Ok(());
    }
    let Some((key, value)) = word.text.split_once('=') else {
        return apply_match_word(&mut fm.match_, word).map(|_| ());
    };
    match key {
        "table" => {
            fm.table_id = if value == "all" { TABLE_ALL } else { parse_u8(value).map_err(err)? };
            if fm.table_id == TABLE_ALL && command == FlowModCommand::Add {
                return Err(err("add-flow needs a real table (0..254)".into()));
            }
        }
        "cookie" => {
            if let Some((v, m)) = value.split_once('/') {
                if command == FlowModCommand::Add {
                    return Err(err("flow additions cannot use a cookie mask".into()));
                }
                fm.cookie = parse_u64(v).map_err(err)?;
                fm.cookie_mask = parse_u64(m).map_err(err)?;
                fm.cookie &= fm.cookie_mask;
            } else {
                let cookie = parse_u64(value).map_err(err)?;
                match command {
                    FlowModCommand::Add => fm.cookie = cookie,
                    c if is_modify(c) => fm.new_cookie = Some(cookie),
                    _ => return Err(err("cannot set cookie (use cookie=VALUE/MASK to select flows)".into())),
                }
            }
        }
        "idle_timeout" => fm.idle_timeout = parse_u16(value).map_err(err)?,
        "hard_timeout" => fm.hard_timeout = parse_u16(value).map_err(err)?,
        "importance" => fm.importance = parse_u16(value).map_err(err)?,
        "out_port" => fm.out_port = PortNo::parse(value).ok_or_else(|| err(format!("`{value}` is not a port")))?,
        "out_group" => fm.out_group = if value == "any" { GROUP_ANY } else { parse_u32(value).map_err(err)? },
        _ => {
            if let MatchWord::Priority(p) = apply_match_word(&mut fm.match_, word)? {
                fm.priority = p;
            }
        }
    }
    Ok(())
}

/// Formats a flow-mod as a line that [`super::parse_flow_mod`] reads back into an equal value
/// (the options ovs-ofctl accepts, then the match, then `actions=` unless it is a delete).
pub fn format_flow_mod(fm: &FlowMod) -> String {
    let mut s = String::new();
    let _ = write!(s, "table={},", if fm.table_id == TABLE_ALL { "all".to_owned() } else { fm.table_id.to_string() });
    if fm.cookie_mask != 0 {
        let _ = write!(s, "cookie={}/{},", c_hex(fm.cookie.into()), c_hex(fm.cookie_mask.into()));
    } else if fm.command == FlowModCommand::Add && fm.cookie != 0 {
        let _ = write!(s, "cookie={},", c_hex(fm.cookie.into()));
    }
    if let Some(c) = fm.new_cookie {
        let _ = write!(s, "cookie={},", c_hex(c.into()));
    }
    for (name, v) in
        [("idle_timeout", fm.idle_timeout), ("hard_timeout", fm.hard_timeout), ("importance", fm.importance)]
    {
        if v != 0 {
            let _ = write!(s, "{name}={v},");
        }
    }
    for (name, bit) in FLAG_WORDS {
        if fm.flags & bit != 0 {
            let _ = write!(s, "{name},");
        }
    }
    if fm.out_port != PortNo::NONE {
        let _ = write!(s, "out_port={},", fm.out_port.0);
    }
    if fm.out_group != GROUP_ANY {
        let _ = write!(s, "out_group={},", fm.out_group);
    }
    // Always print the priority so that 32768 survives too.
    let _ = write!(s, "priority={},", fm.priority);
    s.push_str(&format_match(&fm.match_, 0x8000));
    if !matches!(fm.command, FlowModCommand::Delete | FlowModCommand::DeleteStrict) {
        let _ = write!(s, " actions={}", format_actions(&fm.actions));
    }
    s
}
