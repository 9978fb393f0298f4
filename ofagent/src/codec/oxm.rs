//! OpenFlow 1.3 `ofp_match`: `type` (OFPMT_OXM = 1), `length` (header plus entries, without
//! padding), OXM entries, then zero padding to a multiple of 8 bytes.

use flowtable::Match;

use super::nxm;
use crate::error::OfError;
use crate::wire::{Reader, Writer};

/// OFPMT_OXM.
pub const OFPMT_OXM: u16 = 1;

/// Reads one `ofp_match` (and its padding) from `r`.
pub(crate) fn decode_match(r: &mut Reader<'_>) -> Result<Match, OfError> {
    let mtype = r.u16().map_err(|_| OfError::BadMatchLen("truncated ofp_match"))?;
    let length = usize::from(r.u16().map_err(|_| OfError::BadMatchLen("truncated ofp_match"))?);
    if mtype != OFPMT_OXM {
        return Err(OfError::BadMatchType(mtype));
    }
    if length < 4 {
        return Err(OfError::BadMatchLen("ofp_match length below 4"));
    }
    let padded = length.div_ceil(8) * 8;
    let body = r.bytes(padded - 4).map_err(|_| OfError::BadMatchLen("ofp_match past the end"))?;
    nxm::decode_entries(&body[..length - 4])
}

/// Appends `m` as an `ofp_match` with padding.
pub(crate) fn encode_match(m: &Match, w: &mut Writer) -> Result<(), OfError> {
    let entries = nxm::encode_entries(m)?;
    let length = u16::try_from(entries.len() + 4).map_err(|_| OfError::Unencodable("match too long"))?;
    w.u16(OFPMT_OXM);
    w.u16(length);
    w.bytes(&entries);
    w.zeros(usize::from(length).div_ceil(8) * 8 - usize::from(length));
    Ok(())
}
