//! OpenFlow 1.0 message type numbers and `ofp_phy_port` (48 bytes).

use flowtable::flow_mod::GROUP_ANY;
use flowtable::{FlowMod, PortNo};

use super::{actions10, decode_name, encode_name, match10, Kind};
use crate::error::OfError;
use crate::msg::{PortDesc, NO_BUFFER};
use crate::wire::{Reader, Writer};

/// Size of `ofp_phy_port`.
pub const PORT_LEN: usize = 48;

pub(crate) fn kind_from_type(t: u8) -> Option<Kind> {
    Some(match t {
        0 => Kind::Hello,
        1 => Kind::Error,
        2 => Kind::EchoRequest,
        3 => Kind::EchoReply,
        16 => Kind::StatsRequest,
        17 => Kind::StatsReply,
        4 => Kind::Vendor,
        5 => Kind::FeaturesRequest,
        6 => Kind::FeaturesReply,
        7 => Kind::GetConfigRequest,
        8 => Kind::GetConfigReply,
        9 => Kind::SetConfig,
        10 => Kind::PacketIn,
        11 => Kind::FlowRemoved,
        12 => Kind::PortStatus,
        15 => Kind::PortMod,
        14 => Kind::FlowMod,
        13 => Kind::PacketOut,
        18 => Kind::BarrierRequest,
        19 => Kind::BarrierReply,
        _ => return None,
    })
}

/// The 1.0 type number, `None` for messages 1.0 does not have.
pub(crate) fn type_of_kind(k: Kind) -> Option<u8> {
    Some(match k {
        Kind::Hello => 0,
        Kind::Error => 1,
        Kind::EchoRequest => 2,
        Kind::EchoReply => 3,
        Kind::StatsRequest => 16,
        Kind::StatsReply => 17,
        Kind::Vendor => 4,
        Kind::FeaturesRequest => 5,
        Kind::FeaturesReply => 6,
        Kind::GetConfigRequest => 7,
        Kind::GetConfigReply => 8,
        Kind::SetConfig => 9,
        Kind::PacketIn => 10,
        Kind::FlowRemoved => 11,
        Kind::PortStatus => 12,
        Kind::PortMod => 15,
        Kind::PacketOut => 13,
        Kind::FlowMod => 14,
        Kind::BarrierRequest => 18,
        Kind::BarrierReply => 19,
        Kind::RoleRequest
        | Kind::RoleReply
        | Kind::GetAsyncRequest
        | Kind::GetAsyncReply
        | Kind::SetAsync
        | Kind::GroupMod
        | Kind::MeterMod
        | Kind::TableMod => return None,
    })
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

/// OpenFlow 1.0 `ofp_flow_mod` body. The table id travels in the high byte of `command`,
/// as Open vSwitch's NXT_FLOW_MOD_TABLE_ID extension does (0 when that is not enabled).
pub(crate) fn decode_flow_mod(r: &mut Reader<'_>) -> Result<FlowMod, OfError> {
    let match_ = match10::decode_match(r)?;
    let cookie = r.u64()?;
    let raw_command = r.u16()?;
    let command = super::flow_mod_command(raw_command & 0xff)?;
    let idle_timeout = r.u16()?;
    let hard_timeout = r.u16()?;
    let priority = r.u16()?;
    let buffer_id = r.u32()?;
    let out_port = PortNo(r.u16()?);
    let flags = r.u16()?;
    let actions = actions10::decode_actions(r.rest())?;
    Ok(FlowMod {
        command,
        table_id: (raw_command >> 8) as u8,
        match_,
        priority,
        cookie,
        cookie_mask: 0,
        new_cookie: None,
        idle_timeout,
        hard_timeout,
        importance: 0,
        flags,
        out_port,
        out_group: GROUP_ANY,
        buffer_id: (buffer_id != NO_BUFFER).then_some(buffer_id),
        actions,
    })
}

/// Appends an OpenFlow 1.0 `ofp_flow_mod` body (cookie_mask, out_group, importance and
/// new_cookie have no 1.0 field and must be defaults).
pub(crate) fn encode_flow_mod(fm: &FlowMod, w: &mut Writer) -> Result<(), OfError> {
    if fm.cookie_mask != 0 || fm.out_group != GROUP_ANY {
        return Err(OfError::Unencodable("cookie_mask or out_group in an OpenFlow 1.0 flow_mod"));
    }
    match10::encode_match(&fm.match_, w)?;
    w.u64(fm.cookie);
    w.u16(u16::from(fm.table_id) << 8 | u16::from(super::flow_mod_command_code(fm.command)));
    w.u16(fm.idle_timeout);
    w.u16(fm.hard_timeout);
    w.u16(fm.priority);
    w.u32(fm.buffer_id.unwrap_or(NO_BUFFER));
    w.u16(fm.out_port.0);
    w.u16(fm.flags);
    actions10::encode_actions(&fm.actions, w)
}
