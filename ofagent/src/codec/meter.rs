//! OpenFlow 1.3 meters: OFPT_METER_MOD and the bodies of the OFPMP_METER,
//! OFPMP_METER_CONFIG and OFPMP_METER_FEATURES replies (`ofp_meter_*`), as Open vSwitch's
//! lib/ofp-meter.c reads them. Every band is 16 bytes; drop and DSCP-remark bands are what
//! Open vSwitch knows, experimenter bands are carried too.

use crate::error::OfError;
use crate::msg::{MeterBand, MeterBandType, MeterConfig, MeterFeatures, MeterMod, MeterStats, OFPMC_DELETE};
use crate::wire::{Reader, Writer};

/// OFPMBT_DROP.
pub const OFPMBT_DROP: u16 = 1;
/// OFPMBT_DSCP_REMARK.
pub const OFPMBT_DSCP_REMARK: u16 = 2;
/// OFPMBT_EXPERIMENTER.
pub const OFPMBT_EXPERIMENTER: u16 = 0xffff;
/// OFPMF_KBPS.
pub const OFPMF_KBPS: u16 = 1;
/// OFPMF_PKTPS.
pub const OFPMF_PKTPS: u16 = 2;
/// Size of every meter band.
const BAND_LEN: usize = 16;
/// Size of `ofp_meter_config` without bands.
const CONFIG_LEN: usize = 8;
/// Size of `ofp_meter_stats` without band stats.
const STATS_LEN: usize = 40;

/// Reads bands filling all of `bytes`.
fn decode_bands(bytes: &[u8]) -> Result<Vec<MeterBand>, OfError> {
    if !bytes.len().is_multiple_of(BAND_LEN) {
        return Err(OfError::BadLen("meter bands"));
    }
    let mut r = Reader::new(bytes);
    let mut bands = Vec::with_capacity(bytes.len() / BAND_LEN);
    while r.remaining() > 0 {
        let btype = r.u16()?;
        if usize::from(r.u16()?) != BAND_LEN {
            return Err(OfError::BadLen("meter band length"));
        }
        let rate = r.u32()?;
        let burst_size = r.u32()?;
        let tail: [u8; 4] = r.array()?;
        let band_type = match btype {
            OFPMBT_DROP => MeterBandType::Drop,
            OFPMBT_DSCP_REMARK => MeterBandType::DscpRemark { prec_level: tail[0] },
            OFPMBT_EXPERIMENTER => MeterBandType::Experimenter(u32::from_be_bytes(tail)),
            _ => return Err(OfError::BadMeterBand),
        };
        bands.push(MeterBand { band_type, rate, burst_size });
    }
    Ok(bands)
}

fn encode_bands(bands: &[MeterBand], w: &mut Writer) {
    for b in bands {
        let btype = match b.band_type {
            MeterBandType::Drop => OFPMBT_DROP,
            MeterBandType::DscpRemark { .. } => OFPMBT_DSCP_REMARK,
            MeterBandType::Experimenter(_) => OFPMBT_EXPERIMENTER,
        };
        w.u16(btype);
        w.u16(BAND_LEN as u16);
        w.u32(b.rate);
        w.u32(b.burst_size);
        match b.band_type {
            MeterBandType::Drop => w.zeros(4),
            MeterBandType::DscpRemark { prec_level } => {
                w.u8(prec_level);
                w.zeros(3);
            }
            MeterBandType::Experimenter(id) => w.u32(id),
        }
    }
}

/// `ofp_meter_mod` body.
pub(crate) fn decode_meter_mod(r: &mut Reader<'_>) -> Result<MeterMod, OfError> {
    let command = r.u16()?;
    let flags = r.u16()?;
    let meter_id = r.u32()?;
    if command > OFPMC_DELETE {
        return Err(OfError::BadMeterCommand(command));
    }
    if command != OFPMC_DELETE && flags & OFPMF_KBPS != 0 && flags & OFPMF_PKTPS != 0 {
        return Err(OfError::BadMeterFlags);
    }
    let bands = decode_bands(r.rest())?;
    Ok(MeterMod { command, flags, meter_id, bands })
}

pub(crate) fn encode_meter_mod(mm: &MeterMod, w: &mut Writer) {
    w.u16(mm.command);
    w.u16(mm.flags);
    w.u32(mm.meter_id);
    encode_bands(&mm.bands, w);
}

/// A list of `ofp_meter_config` filling `r`.
pub(crate) fn decode_configs(r: &mut Reader<'_>) -> Result<Vec<MeterConfig>, OfError> {
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let len = usize::from(r.u16()?);
        if len < CONFIG_LEN {
            return Err(OfError::BadLen("meter config length"));
        }
        let mut b = Reader::new(r.bytes(len - 2)?);
        let flags = b.u16()?;
        let meter_id = b.u32()?;
        out.push(MeterConfig { flags, meter_id, bands: decode_bands(b.rest())? });
    }
    Ok(out)
}

pub(crate) fn encode_config(c: &MeterConfig, w: &mut Writer) -> Result<(), OfError> {
    let len = u16::try_from(CONFIG_LEN + BAND_LEN * c.bands.len())
        .map_err(|_| OfError::Unencodable("meter config too long"))?;
    w.u16(len);
    w.u16(c.flags);
    w.u32(c.meter_id);
    encode_bands(&c.bands, w);
    Ok(())
}

/// A list of `ofp_meter_stats` filling `r`.
pub(crate) fn decode_stats(r: &mut Reader<'_>) -> Result<Vec<MeterStats>, OfError> {
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let meter_id = r.u32()?;
        let len = usize::from(r.u16()?);
        if len < STATS_LEN || !(len - STATS_LEN).is_multiple_of(16) {
            return Err(OfError::BadLen("meter stats length"));
        }
        let mut b = Reader::new(r.bytes(len - 6)?);
        b.skip(6)?;
        let mut s = MeterStats {
            meter_id,
            flow_count: b.u32()?,
            packet_in_count: b.u64()?,
            byte_in_count: b.u64()?,
            duration_sec: b.u32()?,
            duration_nsec: b.u32()?,
            bands: Vec::with_capacity(b.remaining() / 16),
        };
        while b.remaining() > 0 {
            s.bands.push((b.u64()?, b.u64()?));
        }
        out.push(s);
    }
    Ok(out)
}

pub(crate) fn encode_stats(s: &MeterStats, w: &mut Writer) -> Result<(), OfError> {
    let len =
        u16::try_from(STATS_LEN + 16 * s.bands.len()).map_err(|_| OfError::Unencodable("meter stats too long"))?;
    w.u32(s.meter_id);
    w.u16(len);
    w.zeros(6);
    w.u32(s.flow_count);
    w.u64(s.packet_in_count);
    w.u64(s.byte_in_count);
    w.u32(s.duration_sec);
    w.u32(s.duration_nsec);
    for (p, b) in &s.bands {
        w.u64(*p);
        w.u64(*b);
    }
    Ok(())
}

/// `ofp_meter_features` (16 bytes).
pub(crate) fn decode_features(r: &mut Reader<'_>) -> Result<MeterFeatures, OfError> {
    let f = MeterFeatures {
        max_meter: r.u32()?,
        band_types: r.u32()?,
        capabilities: r.u32()?,
        max_bands: r.u8()?,
        max_color: r.u8()?,
    };
    r.skip(2)?;
    Ok(f)
}

pub(crate) fn encode_features(f: &MeterFeatures, w: &mut Writer) {
    w.u32(f.max_meter);
    w.u32(f.band_types);
    w.u32(f.capabilities);
    w.u8(f.max_bands);
    w.u8(f.max_color);
    w.zeros(2);
}
