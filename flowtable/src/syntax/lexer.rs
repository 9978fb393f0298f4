//! Splitting ovs-ofctl text into words and reading the scalar values inside them.
//!
//! ovs-ofctl separates `key=value` (or `key:value`, or `key(...)`) words with commas or white
//! space, except inside parentheses (`resubmit(,3)`, `learn(...)`). Every word keeps its byte
//! offset in the original line so that errors can point at it.

use super::SyntaxError;

/// One word of a comma-separated list, with its byte offset in the original line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Word<'a> {
    /// The text of the word.
    pub text: &'a str,
    /// Byte offset of the word in the line being parsed.
    pub offset: usize,
}

impl<'a> Word<'a> {
    /// An error about this word.
    pub fn error(&self, msg: impl Into<String>) -> SyntaxError {
        SyntaxError::new(self.text, self.offset, msg)
    }

    /// Splits the word into its key and value: `key=value`, `key:value`, `key(value)` or `key`.
    /// The value's offset is returned too, for nested lists.
    pub fn key_value(&self) -> Result<(&'a str, Option<Word<'a>>), SyntaxError> {
        let text = self.text;
        let Some(pos) = text.find(['=', ':', '(']) else {
            return Ok((text, None));
        };
        let key = &text[..pos];
        if text.as_bytes()[pos] == b'(' {
            let Some(inner) = text[pos + 1..].strip_suffix(')') else {
                return Err(self.error("missing `)`"));
            };
            return Ok((key, Some(Word { text: inner, offset: self.offset + pos + 1 })));
        }
        Ok((key, Some(Word { text: &text[pos + 1..], offset: self.offset + pos + 1 })))
    }
}

/// Splits `s` (which starts at byte `base` of the line) at commas and white space outside
/// parentheses, dropping empty words.
pub(crate) fn split_words(s: &str, base: usize) -> Result<Vec<Word<'_>>, SyntaxError> {
    let mut words = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| SyntaxError::new(&s[start..=i], base + start, "unbalanced `)`"))?;
            }
            ',' | ' ' | '\t' | '\r' | '\n' if depth == 0 => {
                if i > start {
                    words.push(Word { text: &s[start..i], offset: base + start });
                }
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(SyntaxError::new(&s[start..], base + start, "missing `)`"));
    }
    if s.len() > start {
        words.push(Word { text: &s[start..], offset: base + start });
    }
    Ok(words)
}

/// Parses an unsigned integer in decimal or `0x` hexadecimal, at most `max`.
pub(crate) fn parse_uint(s: &str, max: u128) -> Result<u128, String> {
    let v = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{s}` is not a hexadecimal number"));
        }
        u128::from_str_radix(hex, 16).map_err(|_| format!("`{s}` is too large"))?
    } else {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{s}` is not a number"));
        }
        s.parse::<u128>().map_err(|_| format!("`{s}` is too large"))?
    };
    if v > max {
        return Err(format!("`{s}` is out of range (0..{max})"));
    }
    Ok(v)
}

/// [`parse_uint`] for `u8`.
pub(crate) fn parse_u8(s: &str) -> Result<u8, String> {
    parse_uint(s, u8::MAX.into()).map(|v| v as u8)
}

/// [`parse_uint`] for `u16`.
pub(crate) fn parse_u16(s: &str) -> Result<u16, String> {
    parse_uint(s, u16::MAX.into()).map(|v| v as u16)
}

/// [`parse_uint`] for `u32`.
pub(crate) fn parse_u32(s: &str) -> Result<u32, String> {
    parse_uint(s, u32::MAX.into()).map(|v| v as u32)
}

/// [`parse_uint`] for `u64`.
pub(crate) fn parse_u64(s: &str) -> Result<u64, String> {
    parse_uint(s, u64::MAX.into()).map(|v| v as u64)
}

/// Parses an Ethernet address `xx:xx:xx:xx:xx:xx`.
pub(crate) fn parse_mac(s: &str) -> Result<u128, String> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(format!("`{s}` is not an Ethernet address"));
    }
    let mut v = 0u128;
    for p in parts {
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{s}` is not an Ethernet address"));
        }
        v = (v << 8) | u128::from(u8::from_str_radix(p, 16).map_err(|e| e.to_string())?);
    }
    Ok(v)
}

/// Parses a dotted-quad IPv4 address.
pub(crate) fn parse_ipv4(s: &str) -> Result<u128, String> {
    s.parse::<std::net::Ipv4Addr>()
        .map(|a| u128::from(u32::from(a)))
        .map_err(|_| format!("`{s}` is not an IPv4 address"))
}

/// Parses an IPv6 address.
pub(crate) fn parse_ipv6(s: &str) -> Result<u128, String> {
    s.parse::<std::net::Ipv6Addr>().map(u128::from).map_err(|_| format!("`{s}` is not an IPv6 address"))
}

/// A prefix mask of `prefix` leading ones in a `bits`-wide field.
pub(crate) fn prefix_mask(prefix: u32, bits: u32) -> u128 {
    let ones = if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 };
    if prefix == 0 {
        0
    } else {
        ones ^ ones.checked_shr(prefix.min(bits)).unwrap_or(0)
    }
}

/// Parses hex bytes, optionally separated by `.` (`note:`, `userdata=`).
pub(crate) fn parse_hex_bytes(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| *b != b'.').collect();
    if !digits.len().is_multiple_of(2) || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(format!("`{s}` is not a sequence of hex bytes"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
            u8::from_str_radix(text, 16).map_err(|e| e.to_string())
        })
        .collect()
}

/// Formats like C's `%#x`: `0x` and hex digits, except that zero is plain `0`.
pub(crate) fn c_hex(v: u128) -> String {
    if v == 0 {
        "0".to_owned()
    } else {
        format!("{v:#x}")
    }
}

/// Formats bytes as ovs-ofctl does: two hex digits each, separated by `.`.
pub(crate) fn format_hex_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_parentheses() {
        let words = split_words("a=1, resubmit(,3) learn(x=1,y=2)", 0).unwrap_or_default();
        let texts: Vec<&str> = words.iter().map(|w| w.text).collect();
        assert_eq!(texts, ["a=1", "resubmit(,3)", "learn(x=1,y=2)"]);
        assert_eq!(words[1].offset, 5);
        assert!(split_words("learn(", 0).is_err());
        assert!(split_words("a)", 0).is_err());
    }

    #[test]
    fn numbers_and_addresses() {
        assert_eq!(parse_uint("0x10", 255), Ok(16));
        assert!(parse_uint("256", 255).is_err());
        assert!(parse_uint("", 255).is_err());
        assert!(parse_uint("0x", 255).is_err());
        assert_eq!(parse_mac("00:01:02:03:04:0a"), Ok(0x0001_0203_040a));
        assert_eq!(prefix_mask(24, 32), 0xffff_ff00);
        assert_eq!(prefix_mask(32, 32), 0xffff_ffff);
        assert_eq!(prefix_mask(128, 128), u128::MAX);
        assert_eq!(parse_hex_bytes("de.ad"), Ok(vec![0xde, 0xad]));
    }
}
