//! OpenFlow 1.4-style TLV properties (`ofp_prop_header`: type, length without padding, body,
//! zero padding to 8 bytes), as Nicira's NXT_PACKET_IN2 and NXAST_CONTROLLER2 use them.

use crate::error::OfError;
use crate::wire::{Reader, Writer};

/// Splits `bytes` into `(type, body)` properties; each must carry its padding.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<(u16, &[u8])>, OfError> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let ptype = r.u16()?;
        let len = usize::from(r.u16()?);
        if len < 4 {
            return Err(OfError::BadLen("property length below 4"));
        }
        let body = r.bytes(len - 4).map_err(|_| OfError::BadLen("property past the end"))?;
        r.skip(len.div_ceil(8) * 8 - len).map_err(|_| OfError::BadLen("property padding past the end"))?;
        out.push((ptype, body));
    }
    Ok(out)
}

/// Appends one property with its padding.
pub(crate) fn put(w: &mut Writer, ptype: u16, body: &[u8]) -> Result<(), OfError> {
    let len = u16::try_from(body.len() + 4).map_err(|_| OfError::Unencodable("property too long"))?;
    w.u16(ptype);
    w.u16(len);
    w.bytes(body);
    w.zeros(usize::from(len).div_ceil(8) * 8 - usize::from(len));
    Ok(())
}

/// A property body that must be exactly `N` bytes.
pub(crate) fn fixed<const N: usize>(body: &[u8]) -> Result<[u8; N], OfError> {
    body.try_into().map_err(|_| OfError::BadLen("property body size"))
}
