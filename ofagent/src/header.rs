//! The 8-byte OpenFlow header shared by every version, and the version constants.

use crate::error::OfError;

/// OpenFlow 1.0 wire version.
pub const OFP10_VERSION: u8 = 0x01;
/// OpenFlow 1.3 wire version.
pub const OFP13_VERSION: u8 = 0x04;
/// Size of `ofp_header`.
pub const HEADER_LEN: usize = 8;

/// `ofp_header`: version, type, total length and transaction id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Wire version (0x01 = 1.0, 0x04 = 1.3).
    pub version: u8,
    /// Message type, numbered per version.
    pub msg_type: u8,
    /// Total length including this header.
    pub length: u16,
    /// Transaction id.
    pub xid: u32,
}

impl Header {
    /// Parses the first 8 bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Header, OfError> {
        let h: &[u8; HEADER_LEN] =
            bytes.get(..HEADER_LEN).and_then(|b| b.try_into().ok()).ok_or(OfError::BadLen("short header"))?;
        Ok(Header {
            version: h[0],
            msg_type: h[1],
            length: u16::from_be_bytes([h[2], h[3]]),
            xid: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        })
    }

    /// The 8 wire bytes.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let [l0, l1] = self.length.to_be_bytes();
        let [x0, x1, x2, x3] = self.xid.to_be_bytes();
        [self.version, self.msg_type, l0, l1, x0, x1, x2, x3]
    }
}
