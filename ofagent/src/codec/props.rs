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

fn short() -> OfError {
    OfError::BadLen("property body size")
}

/// An 8-bit property (any body of at least one byte, as Open vSwitch reads it).
pub(crate) fn parse_u8(body: &[u8]) -> Result<u8, OfError> {
    body.first().copied().ok_or_else(short)
}

/// A 16-bit property (sent with two bytes of padding; longer bodies are accepted).
pub(crate) fn parse_u16(body: &[u8]) -> Result<u16, OfError> {
    match body {
        [a, b, ..] => Ok(u16::from_be_bytes([*a, *b])),
        _ => Err(short()),
    }
}

/// A 32-bit property (exactly four bytes).
pub(crate) fn parse_u32(body: &[u8]) -> Result<u32, OfError> {
    body.try_into().map(u32::from_be_bytes).map_err(|_| short())
}

/// A 64-bit property: four bytes of padding, then the value (so that it is 8-aligned).
pub(crate) fn parse_u64(body: &[u8]) -> Result<u64, OfError> {
    match body {
        [_, _, _, _, v @ ..] => <[u8; 8]>::try_from(v).map(u64::from_be_bytes).map_err(|_| short()),
        _ => Err(short()),
    }
}

/// Appends an 8-bit property.
pub(crate) fn put_u8(w: &mut Writer, ptype: u16, v: u8) -> Result<(), OfError> {
    put(w, ptype, &[v])
}

/// Appends a 16-bit property (value plus two bytes of padding, as the specs give them).
pub(crate) fn put_u16(w: &mut Writer, ptype: u16, v: u16) -> Result<(), OfError> {
    let [a, b] = v.to_be_bytes();
    put(w, ptype, &[a, b, 0, 0])
}

/// Appends a 32-bit property.
pub(crate) fn put_u32(w: &mut Writer, ptype: u16, v: u32) -> Result<(), OfError> {
    put(w, ptype, &v.to_be_bytes())
}

/// Appends a 64-bit property (four bytes of padding before the value).
pub(crate) fn put_u64(w: &mut Writer, ptype: u16, v: u64) -> Result<(), OfError> {
    let mut body = [0u8; 12];
    body[4..].copy_from_slice(&v.to_be_bytes());
    put(w, ptype, &body)
}
