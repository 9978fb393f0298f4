//! ovs-ofctl's flow syntax: parsing what `ovs-ofctl add-flow` accepts and printing what
//! `ovs-ofctl dump-flows` prints.
//!
//! `priority=10,in_port=1,dl_vlan=5,actions=strip_vlan,output:2` parses into a [`FlowMod`];
//! [`format_flow_stats`] prints a rule back in Open vSwitch's dump-flows layout (match fields
//! in Open vSwitch's order, protocol shorthands such as `tcp`, `actions=` last). Errors name the
//! offending word and its byte offset.

mod actions;
mod format;
mod matching;
pub mod names;
pub mod values;

pub use actions::{format_actions, parse_actions};
pub use format::{format_flow_stats, format_match, FlowStatsLine};
pub use matching::parse_match;

use crate::flow_mod::{flags, FlowMod, FlowModCommand};
use thiserror::Error;

/// A flow, match or action list that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("\"{word}\" (at byte {offset}): {message}")]
pub struct SyntaxError {
    /// The offending word.
    pub word: String,
    /// Its byte offset in the parsed text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl SyntaxError {
    pub(crate) fn new(word: &str, offset: usize, message: impl Into<String>) -> Self {
        SyntaxError { word: word.to_owned(), offset, message: message.into() }
    }
}

/// A word of a flow with its offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub text: &'a str,
    pub offset: usize,
}

impl<'a> Token<'a> {
    /// Splits `key=value` (or `key:value` when `colon` is set); `None` value for a bare word.
    pub fn key_value(&self, colon: bool) -> (&'a str, Option<&'a str>) {
        let split = if colon { self.text.find(['=', ':']) } else { self.text.find('=') };
        match split {
            Some(i) => (&self.text[..i], Some(&self.text[i + 1..])),
            None => (self.text, None),
        }
    }

    pub fn err(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError::new(self.text, self.offset, message)
    }
}

/// Splits on commas and white space outside parentheses.
pub(crate) fn tokens(s: &str, base: usize) -> Result<Vec<Token<'_>>, SyntaxError> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(SyntaxError::new(&s[start..=i], base + start, "unbalanced ')'"));
                }
            }
            ',' | ' ' | '\t' | '\r' | '\n' if depth == 0 => {
                if i > start {
                    out.push(Token { text: &s[start..i], offset: base + start });
                }
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(SyntaxError::new(&s[start..], base + start, "unbalanced '('"));
    }
    if start < s.len() {
        out.push(Token { text: &s[start..], offset: base + start });
    }
    Ok(out)
}

/// Finds `actions=` (or `action=`) at the top level: returns (match part, actions part, offset).
fn split_actions(line: &str) -> Option<(&str, &str, usize)> {
    let mut depth = 0i32;
    let bytes = line.as_bytes();
    for (i, c) in line.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            'a' if depth == 0 && (i == 0 || matches!(bytes[i - 1], b',' | b' ' | b'\t')) => {
                for kw in ["actions=", "action="] {
                    if line[i..].starts_with(kw) {
                        return Some((&line[..i], &line[i + kw.len()..], i + kw.len()));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_u16(t: &Token<'_>, v: &str, what: &str) -> Result<u16, SyntaxError> {
    values::parse_int(v).and_then(|n| u16::try_from(n).ok()).ok_or_else(|| t.err(format!("{what} must be 0..65535")))
}

/// Parses an `ovs-ofctl add-flow` / `mod-flows` / `del-flows` argument or an add-flows line.
pub fn parse_flow_mod(line: &str, command: FlowModCommand) -> Result<FlowMod, SyntaxError> {
    let is_delete = matches!(command, FlowModCommand::Delete | FlowModCommand::DeleteStrict);
    let (match_part, actions_part) = match split_actions(line) {
        Some((m, a, off)) => {
            if is_delete {
                return Err(SyntaxError::new("actions", off, "del-flows takes no actions"));
            }
            (m, Some((a, off)))
        }
        None if is_delete => (line, None),
        None => return Err(SyntaxError::new(line.trim(), 0, "must specify an action (actions=...)")),
    };
    let mut fm = FlowMod::new(command, crate::flow_match::Match::ANY);
    let mut match_words = Vec::new();
    for t in tokens(match_part, 0)? {
        let (k, v) = t.key_value(false);
        match (k, v) {
            ("table", Some(v)) => {
                fm.table_id = values::parse_int(v)
                    .and_then(|n| u8::try_from(n).ok())
                    .filter(|n| *n < 255 || is_delete)
                    .ok_or_else(|| t.err("table must be 0..254"))?
            }
            ("priority", Some(v)) => fm.priority = parse_u16(&t, v, "priority")?,
            ("idle_timeout", Some(v)) => fm.idle_timeout = parse_u16(&t, v, "idle_timeout")?,
            ("hard_timeout", Some(v)) => fm.hard_timeout = parse_u16(&t, v, "hard_timeout")?,
            ("importance", Some(v)) => fm.importance = parse_u16(&t, v, "importance")?,
            ("cookie", Some(v)) => {
                let (c, m) = match v.split_once('/') {
                    Some((c, m)) => (c, Some(m)),
                    None => (v, None),
                };
                let cookie = values::parse_int(c)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(|| t.err("cookie must be a 64-bit number"))?;
                match m {
                    Some(m) => {
                        let mask = if m == "-1" {
                            u64::MAX
                        } else {
                            values::parse_int(m)
                                .and_then(|n| u64::try_from(n).ok())
                                .ok_or_else(|| t.err("bad cookie mask"))?
                        };
                        fm.cookie = cookie;
                        fm.cookie_mask = mask;
                    }
                    None if matches!(command, FlowModCommand::Add) => fm.cookie = cookie,
                    None if is_delete => return Err(t.err("cannot set cookie (use cookie=VALUE/MASK to select flows)")),
                    None => fm.new_cookie = Some(cookie),
                }
            }
            ("out_port", Some(v)) => fm.out_port = crate::port::PortNo::parse(v).ok_or_else(|| t.err("bad port"))?,
            ("out_group", Some(v)) => {
                fm.out_group =
                    values::parse_int(v).and_then(|n| u32::try_from(n).ok()).ok_or_else(|| t.err("bad group"))?
            }
            ("send_flow_rem", None) => fm.flags |= flags::SEND_FLOW_REM,
            ("check_overlap", None) => fm.flags |= flags::CHECK_OVERLAP,
            ("reset_counts", None) => fm.flags |= flags::RESET_COUNTS,
            ("no_packet_counts", None) => fm.flags |= flags::NO_PKT_COUNTS,
            ("no_byte_counts", None) => fm.flags |= flags::NO_BYT_COUNTS,
            // Fields of dump-flows output, accepted and ignored as ovs-ofctl does.
            ("duration" | "n_packets" | "n_bytes" | "idle_age" | "hard_age", Some(_)) => {}
            _ => match_words.push(t),
        }
    }
    let (m, _) = matching::parse_tokens(&match_words)?;
    fm.match_ = m;
    if let Some((a, off)) = actions_part {
        fm.actions = actions::parse_actions_at(a, off)?;
    }
    if let Err(e) = fm.match_.check_prerequisites() {
        return Err(SyntaxError::new(match_part.trim().trim_end_matches(','), 0, e.to_string()));
    }
    Ok(fm)
}

/// Fuzz entry point shared by the `flow_syntax` target and the corpus replay test: whatever
/// parses must print and parse back to the same flow.
#[doc(hidden)]
pub fn fuzz_flow_syntax(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(fm) = parse_flow_mod(&text, FlowModCommand::Add) else { return };
    let printed = format!(
        "table={},{} actions={}",
        fm.table_id,
        format_match(&fm.match_, fm.priority),
        format_actions(&fm.actions)
    );
    let again = parse_flow_mod(&printed, FlowModCommand::Add);
    assert!(again.is_ok(), "{printed:?} does not parse back: {again:?}");
    if let Ok(again) = again {
        assert_eq!(again.match_, fm.match_, "{printed}");
        assert_eq!(again.actions, fm.actions, "{printed}");
        assert_eq!(again.priority, fm.priority, "{printed}");
    }
}
