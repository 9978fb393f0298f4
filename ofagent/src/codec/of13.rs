//! OpenFlow 1.3 message type numbers and `ofp_port` (64 bytes).

use flowtable::{FlowMod, PortNo};

use super::{actions13, decode_name, encode_name, oxm, Kind};
use crate::error::OfError;
use crate::msg::{PortDesc, NO_BUFFER};
use crate::wire::{Reader, Writer};

/// Size of `ofp_port`.
pub const PORT_LEN: usize = 64;

pub(crate) fn kind_from_type(t: u8) -> Option<Kind> {
    Some(match t {
        0 => Kind::Hello,
        1 => Kind::Error,
        2 => Kind::EchoRequest,
        3 => Kind::EchoReply,
        18 => Kind::StatsRequest,
        19 => Kind::StatsReply,
        4 => Kind::Vendor,
        5 => Kind::FeaturesRequest,
        6 => Kind::FeaturesReply,
        7 => Kind::GetConfigRequest,
        8 => Kind::GetConfigReply,
        9 => Kind::SetConfig,
        10 => Kind::PacketIn,
        11 => Kind::FlowRemoved,
        12 => Kind::PortStatus,
        16 => Kind::PortMod,
        13 => Kind::PacketOut,
        14 => Kind::FlowMod,
        15 => Kind::GroupMod,
        17 => Kind::TableMod,
        20 => Kind::BarrierRequest,
        21 => Kind::BarrierReply,
        24 => Kind::RoleRequest,
        25 => Kind::RoleReply,
        26 => Kind::GetAsyncRequest,
        27 => Kind::GetAsyncReply,
        28 => Kind::SetAsync,
        29 => Kind::MeterMod,
        _ => return None,
    })
}

pub(crate) fn type_of_kind(k: Kind) -> u8 {
    match k {
        Kind::Hello => 0,
        Kind::Error => 1,
        Kind::EchoRequest => 2,
        Kind::EchoReply => 3,
        Kind::StatsRequest => 18,
        Kind::StatsReply => 19,
        Kind::Vendor => 4,
        Kind::FeaturesRequest => 5,
        Kind::FeaturesReply => 6,
        Kind::GetConfigRequest => 7,
        Kind::GetConfigReply => 8,
        Kind::SetConfig => 9,
        Kind::PacketIn => 10,
        Kind::FlowRemoved => 11,
        Kind::PortStatus => 12,
        Kind::PortMod => 16,
        Kind::PacketOut => 13,
        Kind::FlowMod => 14,
        Kind::BarrierRequest => 20,
        Kind::BarrierReply => 21,
        Kind::GroupMod => 15,
        Kind::TableMod => 17,
        Kind::RoleRequest => 24,
        Kind::RoleReply => 25,
        Kind::GetAsyncRequest => 26,
        Kind::GetAsyncReply => 27,
        Kind::SetAsync => 28,
        Kind::MeterMod => 29,
    }
}

pub(crate) fn decode_port(r: &mut Reader<'_>) -> Result<PortDesc, OfError> {
    let raw = r.u32()?;
    let port_no = PortNo::from_of13(raw).ok_or(OfError::BadOutPort(raw))?;
    r.skip(4)?;
    let hw_addr = r.array()?;
    r.skip(2)?;
    Ok(PortDesc {
        port_no,
        hw_addr,
        name: decode_name(r.bytes(16)?),
        config: r.u32()?,
        state: r.u32()?,
        curr: r.u32()?,
        advertised: r.u32()?,
        supported: r.u32()?,
        peer: r.u32()?,
        curr_speed: r.u32()?,
        max_speed: r.u32()?,
    })
}

pub(crate) fn encode_port(p: &PortDesc, w: &mut Writer) -> Result<(), OfError> {
    w.u32(p.port_no.to_of13());
    w.zeros(4);
    w.bytes(&p.hw_addr);
    w.zeros(2);
    encode_name(&p.name, w)?;
    for v in [p.config, p.state, p.curr, p.advertised, p.supported, p.peer, p.curr_speed, p.max_speed] {
        w.u32(v);
    }
    Ok(())
}

/// `ofp_flow_mod` body (after the header).
pub(crate) fn decode_flow_mod(r: &mut Reader<'_>) -> Result<FlowMod, OfError> {
    let cookie = r.u64()?;
    let cookie_mask = r.u64()?;
    let table_id = r.u8()?;
    let command = super::flow_mod_command(u16::from(r.u8()?))?;
    let idle_timeout = r.u16()?;
    let hard_timeout = r.u16()?;
    let priority = r.u16()?;
    let buffer_id = r.u32()?;
    let raw_out = r.u32()?;
    let out_port = PortNo::from_of13(raw_out).ok_or(OfError::BadOutPort(raw_out))?;
    let out_group = r.u32()?;
    let flags = r.u16()?;
    r.skip(2)?;
    let match_ = oxm::decode_match(r)?;
    let actions = actions13::decode_instructions(r.rest())?;
    Ok(FlowMod {
        command,
        table_id,
        match_,
        priority,
        cookie,
        cookie_mask,
        new_cookie: None,
        idle_timeout,
        hard_timeout,
        importance: 0,
        flags,
        out_port,
        out_group,
        buffer_id: (buffer_id != NO_BUFFER).then_some(buffer_id),
        actions,
    })
}

/// Appends an `ofp_flow_mod` body. `new_cookie` and `importance` have no OpenFlow 1.3 field.
pub(crate) fn encode_flow_mod(fm: &FlowMod, w: &mut Writer) -> Result<(), OfError> {
    w.u64(fm.cookie);
    w.u64(fm.cookie_mask);
    w.u8(fm.table_id);
    w.u8(super::flow_mod_command_code(fm.command));
    w.u16(fm.idle_timeout);
    w.u16(fm.hard_timeout);
    w.u16(fm.priority);
    w.u32(fm.buffer_id.unwrap_or(NO_BUFFER));
    w.u32(fm.out_port.to_of13());
    w.u32(fm.out_group);
    w.u16(fm.flags);
    w.zeros(2);
    oxm::encode_match(&fm.match_, w)?;
    actions13::encode_instructions(&fm.actions, w)
}
