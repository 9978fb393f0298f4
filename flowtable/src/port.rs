//! OpenFlow port numbers in Open vSwitch's 16-bit numbering.
//!
//! Open vSwitch keeps ports as 16-bit numbers internally (OpenFlow 1.0 style) and maps the
//! OpenFlow 1.1+ 32-bit reserved ports (0xffffff00 and up) onto 0xff00 and up. We do the same,
//! so LOCAL is 65534 everywhere and `ovs-ofctl` prints the same names.

use std::fmt;

/// An OpenFlow port number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PortNo(pub u16);

impl PortNo {
    /// Highest number of a physical (non-reserved) port.
    pub const MAX: PortNo = PortNo(0xff00);
    /// Send the packet back out of its input port.
    pub const IN_PORT: PortNo = PortNo(0xfff8);
    /// Submit to the first flow table (packet-out only).
    pub const TABLE: PortNo = PortNo(0xfff9);
    /// The traditional L2 switch (MAC learning).
    pub const NORMAL: PortNo = PortNo(0xfffa);
    /// All ports but the input port and those with flooding disabled.
    pub const FLOOD: PortNo = PortNo(0xfffb);
    /// All ports but the input port.
    pub const ALL: PortNo = PortNo(0xfffc);
    /// The controller (packet-in).
    pub const CONTROLLER: PortNo = PortNo(0xfffd);
    /// The bridge's own internal port.
    pub const LOCAL: PortNo = PortNo(0xfffe);
    /// No port / any port (wildcard in filters).
    pub const NONE: PortNo = PortNo(0xffff);

    /// Converts an OpenFlow 1.1+ 32-bit port number; `None` if it is out of range.
    pub fn from_of13(port: u32) -> Option<PortNo> {
        if port < u32::from(Self::MAX.0) {
            Some(PortNo(port as u16))
        } else if port >= 0xffff_ff00 {
            Some(PortNo((port - 0xffff_0000) as u16))
        } else {
            None
        }
    }

    /// The OpenFlow 1.1+ 32-bit number.
    pub fn to_of13(self) -> u32 {
        if self.0 >= Self::MAX.0 {
            u32::from(self.0) + 0xffff_0000
        } else {
            u32::from(self.0)
        }
    }

    /// The reserved name ovs-ofctl uses, if any.
    pub fn reserved_name(self) -> Option<&'static str> {
        Some(match self {
            Self::IN_PORT => "IN_PORT",
            Self::TABLE => "TABLE",
            Self::NORMAL => "NORMAL",
            Self::FLOOD => "FLOOD",
            Self::ALL => "ALL",
            Self::CONTROLLER => "CONTROLLER",
            Self::LOCAL => "LOCAL",
            Self::NONE => "ANY",
            _ => return None,
        })
    }

    /// Parses a number or a reserved name (`LOCAL`, `in_port`, ...), case-insensitively.
    pub fn parse(s: &str) -> Option<PortNo> {
        let upper = s.to_ascii_uppercase();
        let named = match upper.as_str() {
            "IN_PORT" => Self::IN_PORT,
            "TABLE" => Self::TABLE,
            "NORMAL" => Self::NORMAL,
            "FLOOD" => Self::FLOOD,
            "ALL" => Self::ALL,
            "CONTROLLER" => Self::CONTROLLER,
            "LOCAL" => Self::LOCAL,
            "ANY" | "NONE" => Self::NONE,
            _ => {
                let n: u32 = if let Some(hex) = s.strip_prefix("0x") {
                    u32::from_str_radix(hex, 16).ok()?
                } else {
                    s.parse().ok()?
                };
                return if n <= 0xffff { Some(PortNo(n as u16)) } else { PortNo::from_of13(n) };
            }
        };
        Some(named)
    }
}

impl fmt::Display for PortNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reserved_name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of13_mapping() {
        assert_eq!(PortNo::from_of13(0xffff_fffe), Some(PortNo::LOCAL));
        assert_eq!(PortNo::LOCAL.to_of13(), 0xffff_fffe);
        assert_eq!(PortNo::from_of13(7), Some(PortNo(7)));
        assert_eq!(PortNo::from_of13(0x1_0000), None);
        assert_eq!(PortNo::parse("local"), Some(PortNo::LOCAL));
        assert_eq!(PortNo::parse("65534"), Some(PortNo::LOCAL));
        assert_eq!(PortNo(3).to_string(), "3");
    }
}
