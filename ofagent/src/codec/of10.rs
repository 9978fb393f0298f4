//! OpenFlow 1.0 message type numbers and `ofp_phy_port` (48 bytes).

use flowtable::PortNo;

use super::{decode_name, encode_name, Kind};
use crate::error::OfError;
use crate::msg::PortDesc;
use crate::wire::{Reader, Writer};

/// Size of `ofp_phy_port`.
pub const PORT_LEN: usize = 48;

pub(crate) fn kind_from_type(t: u8) -> Option<Kind> {
    Some(match t {
        0 => Kind::Hello,
        1 => Kind::Error,
        2 => Kind::EchoRequest,
        3 => Kind::EchoReply,
        5 => Kind::FeaturesRequest,
        6 => Kind::FeaturesReply,
        7 => Kind::GetConfigRequest,
        8 => Kind::GetConfigReply,
        9 => Kind::SetConfig,
        10 => Kind::PacketIn,
        12 => Kind::PortStatus,
        13 => Kind::PacketOut,
        18 => Kind::BarrierRequest,
        19 => Kind::BarrierReply,
        _ => return None,
    })
}

pub(crate) fn type_of_kind(k: Kind) -> u8 {
    match k {
        Kind::Hello => 0,
        Kind::Error => 1,
        Kind::EchoRequest => 2,
        Kind::EchoReply => 3,
        Kind::FeaturesRequest => 5,
        Kind::FeaturesReply => 6,
        Kind::GetConfigRequest => 7,
        Kind::GetConfigReply => 8,
        Kind::SetConfig => 9,
        Kind::PacketIn => 10,
        Kind::PortStatus => 12,
        Kind::PacketOut => 13,
        Kind::FlowMod => 14,
        Kind::BarrierRequest => 18,
        Kind::BarrierReply => 19,
    }
}

pub(crate) fn decode_port(r: &mut Reader<'_>) -> Result<PortDesc, OfError> {
    Ok(PortDesc {
        port_no: PortNo(r.u16()?),
        hw_addr: r.array()?,
        name: decode_name(r.bytes(16)?),
        config: r.u32()?,
        state: r.u32()?,
        curr: r.u32()?,
        advertised: r.u32()?,
        supported: r.u32()?,
        peer: r.u32()?,
        curr_speed: 0,
        max_speed: 0,
    })
}

pub(crate) fn encode_port(p: &PortDesc, w: &mut Writer) -> Result<(), OfError> {
    w.u16(p.port_no.0);
    w.bytes(&p.hw_addr);
    encode_name(&p.name, w)?;
    for v in [p.config, p.state, p.curr, p.advertised, p.supported, p.peer] {
        w.u32(v);
    }
    Ok(())
}
