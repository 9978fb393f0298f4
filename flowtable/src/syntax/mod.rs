//! ovs-ofctl flow syntax: parsing and printing flows the way Open vSwitch 3.1 writes them.
//!
//! Operators, tests and Neutron-style agents speak to a switch in `ovs-ofctl` syntax
//! (`priority=10,in_port=1,dl_vlan=5,actions=strip_vlan,output:2`), and every `dump-flows`
//! line is printed in it. This module turns such text into [`Match`], [`Action`] and
//! [`FlowMod`] values and prints them back byte for byte as OVS 3.1 does, so existing tooling
//! that scrapes `ovs-ofctl dump-flows` keeps working.
//!
//! - [`lexer`]: words, numbers, addresses;
//! - [`fields`]: field names (ovs-ofctl, NXM, OXM) and value syntax, subfields;
//! - [`match_syntax`]: the match part; [`actions`] and [`learn`]: actions;
//! - [`flow_mod_line`]: whole add-flow / mod-flows / del-flows lines;
//! - [`printer`]: `match_format`, `ofpacts_format`, `dump-flows` lines.
//!
//! Untrusted text never panics: every failure is a [`SyntaxError`] naming the word at fault
//! and its byte offset.

mod actions;
mod fields;
mod flow_mod_line;
mod learn;
mod lexer;
mod match_syntax;
mod printer;

pub use flow_mod_line::format_flow_mod;
pub use printer::{
    format_actions, format_actions_with, format_flow_stats, format_flow_stats_with, format_match, format_match_with,
    FlowStatsLine, FormatOptions, PortNames, Spelling,
};

use crate::action::Action;
use crate::flow_match::Match;
use crate::flow_mod::{FlowMod, FlowModCommand};
use lexer::{split_words, Word};
use match_syntax::{apply_match_word, MatchWord};
use thiserror::Error;

/// A syntax error: the offending word, where it starts in the input, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("\"{word}\": {message} (at byte {offset})")]
pub struct SyntaxError {
    /// The word (or part of the input) at fault.
    pub word: String,
    /// Byte offset of `word` in the parsed string.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl SyntaxError {
    /// A new error about `word` at byte `offset`.
    pub fn new(word: &str, offset: usize, message: impl Into<String>) -> Self {
        SyntaxError { word: word.to_owned(), offset, message: message.into() }
    }
}

/// Parses a match such as `priority=10,in_port=1,tcp,tp_dst=80`; returns the priority if given.
/// OpenFlow prerequisites are checked (`tp_dst=80` alone is refused).
pub fn parse_match(s: &str) -> Result<(Match, Option<u16>), SyntaxError> {
    let mut m = Match::ANY;
    let mut priority = None;
    let words = split_words(s, 0)?;
    for word in &words {
        if let MatchWord::Priority(p) = apply_match_word(&mut m, word)? {
            priority = Some(p);
        }
    }
    check_prerequisites(&m, &words)?;
    Ok((m, priority))
}

/// Parses an action list such as `strip_vlan,output:2` (the text after `actions=`).
pub fn parse_actions(s: &str) -> Result<Vec<Action>, SyntaxError> {
    actions::parse_action_list(s, 0)
}

/// Parses an `ovs-ofctl add-flow` / `mod-flows` / `del-flows` argument or flows-file line.
pub fn parse_flow_mod(line: &str, command: FlowModCommand) -> Result<FlowMod, SyntaxError> {
    flow_mod_line::parse_line(line, command)
}

/// Checks prerequisites, blaming the first word that names the offending field.
fn check_prerequisites(m: &Match, words: &[Word<'_>]) -> Result<(), SyntaxError> {
    m.check_prerequisites().map_err(|e| {
        let blamed = words.iter().find(|w| {
            let key = w.text.split('=').next().unwrap_or_default();
            fields::lookup(key) == Some(e.field) || key == e.field.name()
        });
        let message = format!("{} requires {}", e.field.name(), e.needs);
        match blamed {
            Some(w) => w.error(message),
            None => SyntaxError::new(&e.field.name(), 0, message),
        }
    })
}

/// Fuzzing entry point: parses `data` (lossily as UTF-8) as an add-flow line and, if that
/// works, checks that printing and re-parsing gives the same flow-mod. Also used by the
/// corpus replay test.
#[doc(hidden)]
pub fn fuzz_flow_syntax(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = parse_match(&text);
    let _ = parse_actions(&text);
    for command in [FlowModCommand::Add, FlowModCommand::Modify, FlowModCommand::Delete] {
        if let Ok(fm) = parse_flow_mod(&text, command) {
            let line = format_flow_mod(&fm);
            match parse_flow_mod(&line, command) {
                Ok(again) => assert_eq!(again, fm, "round trip through {line:?} changed the flow"),
                Err(e) => panic!("printed flow {line:?} does not parse: {e}"),
            }
        }
    }
}
