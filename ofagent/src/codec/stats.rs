//! OpenFlow 1.0 STATS_REQUEST/REPLY and 1.3 MULTIPART_REQUEST/REPLY. Implemented bodies:
//! OFPST_DESC / OFPMP_DESC and OFPMP_PORT_DESC (1.3). Other types are refused with
//! OFPBRC_BAD_STAT so that the peer knows.

use super::of13;
use crate::error::OfError;
use crate::header::OFP10_VERSION;
use crate::msg::{DescStats, StatsReply, StatsRequest};
use crate::wire::{Reader, Writer};

/// OFPST_DESC / OFPMP_DESC.
pub const OFPMP_DESC: u16 = 0;
/// OFPMP_PORT_DESC (OpenFlow 1.3).
pub const OFPMP_PORT_DESC: u16 = 13;
/// OFPSF_REPLY_MORE.
const REPLY_MORE: u16 = 1;

fn head(version: u8, r: &mut Reader<'_>) -> Result<(u16, u16), OfError> {
    let stype = r.u16()?;
    let flags = r.u16()?;
    if version != OFP10_VERSION {
        r.skip(4)?;
    }
    Ok((stype, flags))
}

fn put_head(version: u8, stype: u16, flags: u16, w: &mut Writer) {
    w.u16(stype);
    w.u16(flags);
    if version != OFP10_VERSION {
        w.zeros(4);
    }
}

pub(crate) fn decode_request(version: u8, r: &mut Reader<'_>) -> Result<StatsRequest, OfError> {
    let (stype, _flags) = head(version, r)?;
    let req = match stype {
        OFPMP_DESC => StatsRequest::Desc,
        OFPMP_PORT_DESC if version != OFP10_VERSION => StatsRequest::PortDesc,
        other => return Err(OfError::BadStat(other)),
    };
    if r.remaining() != 0 {
        return Err(OfError::BadLen("stats request body"));
    }
    Ok(req)
}

pub(crate) fn encode_request(version: u8, req: &StatsRequest, w: &mut Writer) -> Result<(), OfError> {
    match req {
        StatsRequest::Desc => put_head(version, OFPMP_DESC, 0, w),
        StatsRequest::PortDesc if version != OFP10_VERSION => put_head(version, OFPMP_PORT_DESC, 0, w),
        StatsRequest::PortDesc => return Err(OfError::Unencodable("port_desc stats in OpenFlow 1.0")),
    }
    Ok(())
}

fn text(r: &mut Reader<'_>, n: usize) -> Result<String, OfError> {
    Ok(r.bytes(n)?.iter().take_while(|&&b| b != 0).map(|&b| if b.is_ascii() { char::from(b) } else { '?' }).collect())
}

fn put_text(s: &str, n: usize, w: &mut Writer) -> Result<(), OfError> {
    let b = s.as_bytes();
    if b.len() >= n || b.contains(&0) {
        return Err(OfError::Unencodable("description string too long"));
    }
    w.bytes(b);
    w.zeros(n - b.len());
    Ok(())
}

pub(crate) fn decode_reply(version: u8, r: &mut Reader<'_>) -> Result<StatsReply, OfError> {
    let (stype, flags) = head(version, r)?;
    let more = flags & REPLY_MORE != 0;
    let reply = match stype {
        OFPMP_DESC => {
            let d = DescStats {
                mfr_desc: text(r, 256)?,
                hw_desc: text(r, 256)?,
                sw_desc: text(r, 256)?,
                serial_num: text(r, 32)?,
                dp_desc: text(r, 256)?,
            };
            if r.remaining() != 0 {
                return Err(OfError::BadLen("desc stats body"));
            }
            StatsReply::Desc(Box::new(d))
        }
        OFPMP_PORT_DESC if version != OFP10_VERSION => {
            if !r.remaining().is_multiple_of(of13::PORT_LEN) {
                return Err(OfError::BadLen("port_desc body"));
            }
            let mut ports = Vec::new();
            while r.remaining() > 0 {
                ports.push(of13::decode_port(r)?);
            }
            StatsReply::PortDesc { ports, more }
        }
        other => return Err(OfError::BadStat(other)),
    };
    Ok(reply)
}

pub(crate) fn encode_reply(version: u8, reply: &StatsReply, w: &mut Writer) -> Result<(), OfError> {
    match reply {
        StatsReply::Desc(d) => {
            put_head(version, OFPMP_DESC, 0, w);
            put_text(&d.mfr_desc, 256, w)?;
            put_text(&d.hw_desc, 256, w)?;
            put_text(&d.sw_desc, 256, w)?;
            put_text(&d.serial_num, 32, w)?;
            put_text(&d.dp_desc, 256, w)?;
        }
        StatsReply::PortDesc { ports, more } => {
            if version == OFP10_VERSION {
                return Err(OfError::Unencodable("port_desc stats in OpenFlow 1.0"));
            }
            put_head(version, OFPMP_PORT_DESC, if *more { REPLY_MORE } else { 0 }, w);
            for p in ports {
                of13::encode_port(p, w)?;
            }
        }
    }
    Ok(())
}
