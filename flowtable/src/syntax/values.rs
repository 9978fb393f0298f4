//! Reading and writing field values: numbers (decimal or 0x hex), Ethernet addresses, IPv4
//! and IPv6 addresses with prefix or mask, OpenFlow port names.

use super::names::Style;
use crate::port::PortNo;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Parses an unsigned integer, decimal or `0x` hexadecimal.
pub fn parse_int(s: &str) -> Option<u128> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u128::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<u128> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    parts.iter().try_fold(0u128, |acc, p| {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        Some((acc << 8) | u128::from(u8::from_str_radix(p, 16).ok()?))
    })
}

/// Formats an Ethernet address.
pub fn format_mac(v: u128) -> String {
    let b = (v as u64).to_be_bytes();
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[2], b[3], b[4], b[5], b[6], b[7])
}

/// Parses a value of `style` without a mask.
pub fn parse_value(style: Style, s: &str, bits: u32) -> Option<u128> {
    let v = match style {
        Style::Mac => parse_mac(s)?,
        Style::Ipv4 => u128::from(u32::from(s.parse::<Ipv4Addr>().ok()?)),
        Style::Ipv6 => u128::from(s.parse::<Ipv6Addr>().ok()?),
        Style::Port => u128::from(PortNo::parse(s)?.0),
        Style::Decimal | Style::Hex => parse_int(s)?,
    };
    (bits >= 128 || v >> bits == 0).then_some(v)
}

fn ones(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// Parses `value[/mask]` of `style`; IPv4/IPv6 masks may be prefix lengths.
pub fn parse_masked(style: Style, s: &str, bits: u32) -> Option<(u128, u128)> {
    let (v, m) = match s.split_once('/') {
        Some((v, m)) => (v, Some(m)),
        None => (s, None),
    };
    let value = parse_value(style, v, bits)?;
    let mask = match (style, m) {
        (_, None) => ones(bits),
        (Style::Ipv4 | Style::Ipv6, Some(m)) if !m.contains(['.', ':']) => {
            let len: u32 = m.parse().ok()?;
            if len > bits {
                return None;
            }
            if len == 0 {
                0
            } else {
                ones(bits) & !(ones(bits - len))
            }
        }
        (_, Some(m)) => parse_value(style, m, bits)?,
    };
    Some((value & mask, mask))
}

/// Hexadecimal as C's `%#x` writes it: `0` for zero, `0x..` otherwise.
pub fn format_hex(v: u128) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// Formats a value of `style`.
pub fn format_value(style: Style, v: u128) -> String {
    match style {
        Style::Mac => format_mac(v),
        Style::Ipv4 => Ipv4Addr::from(v as u32).to_string(),
        Style::Ipv6 => Ipv6Addr::from(v).to_string(),
        Style::Port => PortNo(v as u16).to_string(),
        Style::Decimal => v.to_string(),
        Style::Hex => format_hex(v),
    }
}

/// Formats an IPv4 or IPv6 value with its mask as Open vSwitch does: a CIDR prefix when the
/// mask is one, else the mask in address form.
pub fn format_ip_masked(style: Style, v: u128, m: u128, bits: u32) -> String {
    let full = ones(bits);
    if m == full {
        return format_value(style, v);
    }
    let lead = if bits == 128 { m.leading_ones() } else { (m << (128 - bits)).leading_ones() };
    let cidr = lead < bits && m == full & !(ones(bits - lead)) || lead == bits;
    if cidr {
        format!("{}/{lead}", format_value(style, v))
    } else {
        format!("{}/{}", format_value(style, v), format_value(style, m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(parse_masked(Style::Ipv4, "10.0.0.0/8", 32), Some((0x0a00_0000, 0xff00_0000)));
        assert_eq!(parse_masked(Style::Ipv4, "10.1.0.0/255.255.0.0", 32), Some((0x0a01_0000, 0xffff_0000)));
        assert_eq!(format_ip_masked(Style::Ipv4, 0x0a00_0000, 0xff00_0000, 32), "10.0.0.0/8");
        assert_eq!(format_ip_masked(Style::Ipv4, 0x0a00_0000, 0xff00_ff00, 32), "10.0.0.0/255.0.255.0");
        assert_eq!(parse_masked(Style::Mac, "01:00:00:00:00:00/01:00:00:00:00:00", 48), Some((1 << 40, 1 << 40)));
        assert_eq!(parse_value(Style::Hex, "0x1ffff", 16), None);
        assert_eq!(parse_masked(Style::Ipv6, "fe80::/10", 128).map(|(_, m)| m.leading_ones()), Some(10));
    }
}
