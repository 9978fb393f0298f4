//! Per-version wire codecs for `Message`. Messages whose layout is identical across versions
//! are handled here; `of10` and `of13` hold message type numbers and the layouts that differ,
//! `match10`/`oxm`/`nxm` the matches, `actions10`/`actions13`/`nx_actions`/`learn` the
//! actions, `nx` the Nicira messages, `stats` stats/multipart (with `flow_stats`, `meter` and
//! `table_features` for their bodies), `group13` group_mod, `meter` meter_mod, `bundle` the ONF
//! bundles and `props` the TLV properties of NXT_PACKET_IN2 and NXAST_CONTROLLER2.

pub mod actions10;
pub mod actions13;
pub mod bundle;
pub mod flow_stats;
pub mod group13;
pub mod hello;
mod learn;
pub mod match10;
pub mod meter;
pub mod nx;
pub mod nx_actions;
pub mod nxm;
pub mod of10;
pub mod of13;
pub mod oxm;
mod props;
pub mod stats;
pub mod table_features;

pub use stats::encode_stats_reply_split;

use crate::error::OfError;
use crate::header::{Header, HEADER_LEN, OFP10_VERSION, OFP13_VERSION};
use flowtable::{Field, FlowModCommand, Match, PortNo};

use crate::msg::{AsyncConfig, FlowRemoved, Message, PacketIn, PacketOut, PortMod, Role, SwitchConfig, SwitchFeatures};
use crate::wire::{Reader, Writer};

/// Message kinds whose type number differs per version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Hello,
    Error,
    EchoRequest,
    EchoReply,
    FeaturesRequest,
    FeaturesReply,
    GetConfigRequest,
    GetConfigReply,
    SetConfig,
    PortStatus,
    PacketIn,
    PacketOut,
    Vendor,
    GroupMod,
    StatsRequest,
    StatsReply,
    RoleRequest,
    RoleReply,
    GetAsyncRequest,
    GetAsyncReply,
    SetAsync,
    TableMod,
    FlowMod,
    FlowRemoved,
    PortMod,
    BarrierRequest,
    BarrierReply,
    MeterMod,
}

fn kind_of(msg: &Message) -> Kind {
    match msg {
        Message::Hello { .. } => Kind::Hello,
        Message::Error { .. } => Kind::Error,
        Message::EchoRequest(_) => Kind::EchoRequest,
        Message::EchoReply(_) => Kind::EchoReply,
        Message::FeaturesRequest => Kind::FeaturesRequest,
        Message::FeaturesReply(_) => Kind::FeaturesReply,
        Message::GetConfigRequest => Kind::GetConfigRequest,
        Message::GetConfigReply(_) => Kind::GetConfigReply,
        Message::SetConfig(_) => Kind::SetConfig,
        Message::PortStatus { .. } => Kind::PortStatus,
        Message::PacketIn(_) => Kind::PacketIn,
        Message::FlowMod(_) => Kind::FlowMod,
        Message::PacketOut(_) => Kind::PacketOut,
        Message::GroupMod(_) => Kind::GroupMod,
        Message::StatsRequest(_) => Kind::StatsRequest,
        Message::StatsReply(_) => Kind::StatsReply,
        Message::RoleRequest(_) => Kind::RoleRequest,
        Message::RoleReply(_) => Kind::RoleReply,
        Message::GetAsyncRequest => Kind::GetAsyncRequest,
        Message::GetAsyncReply(_) => Kind::GetAsyncReply,
        Message::SetAsync(_) => Kind::SetAsync,
        Message::TableMod { .. } => Kind::TableMod,
        Message::NxSetFlowFormat(_)
        | Message::NxFlowModTableId(_)
        | Message::NxSetPacketInFormat(_)
        | Message::NxSetControllerId(_)
        | Message::NxFlowMod(_)
        | Message::NxPacketIn2(_)
        | Message::NxFlowRemoved(_)
        | Message::BundleControl { .. }
        | Message::BundleAdd { .. } => Kind::Vendor,
        Message::FlowRemoved(_) => Kind::FlowRemoved,
        Message::PortMod(_) => Kind::PortMod,
        Message::BarrierRequest => Kind::BarrierRequest,
        Message::BarrierReply => Kind::BarrierReply,
        Message::MeterMod(_) => Kind::MeterMod,
    }
}

fn expect_empty(r: &Reader<'_>) -> Result<(), OfError> {
    if r.remaining() == 0 {
        Ok(())
    } else {
        Err(OfError::BadLen("unexpected trailing bytes"))
    }
}

/// Decodes one complete message (header included; `bytes.len()` must equal the header length).
pub fn decode(bytes: &[u8]) -> Result<(Header, Message), OfError> {
    let header = Header::parse(bytes)?;
    if usize::from(header.length) != bytes.len() || bytes.len() < HEADER_LEN {
        return Err(OfError::BadLen("header length does not match message size"));
    }
    let kind = match header.version {
        OFP10_VERSION => of10::kind_from_type(header.msg_type),
        OFP13_VERSION => of13::kind_from_type(header.msg_type),
        // A HELLO of any version is understood (version negotiation).
        _ if header.msg_type == 0 => Some(Kind::Hello),
        v => return Err(OfError::BadVersion(v)),
    }
    .ok_or(OfError::BadType(header.msg_type))?;
    let mut r = Reader::new(&bytes[HEADER_LEN..]);
    let v = header.version;
    let msg = match kind {
        Kind::Hello => Message::Hello { versions: hello::decode_body(v, &mut r) },
        Kind::Error => {
            let err_type = r.u16()?;
            let code = r.u16()?;
            Message::Error { err_type, code, data: r.rest().to_vec() }
        }
        Kind::EchoRequest => Message::EchoRequest(r.rest().to_vec()),
        Kind::EchoReply => Message::EchoReply(r.rest().to_vec()),
        Kind::FeaturesRequest => Message::FeaturesRequest,
        Kind::FeaturesReply => Message::FeaturesReply(decode_features(v, &mut r)?),
        Kind::GetConfigRequest => Message::GetConfigRequest,
        Kind::GetConfigReply => Message::GetConfigReply(decode_config(&mut r)?),
        Kind::SetConfig => Message::SetConfig(decode_config(&mut r)?),
        Kind::BarrierRequest => Message::BarrierRequest,
        Kind::BarrierReply => Message::BarrierReply,
        Kind::PacketIn => Message::PacketIn(Box::new(decode_packet_in(v, &mut r)?)),
        Kind::FlowRemoved => Message::FlowRemoved(Box::new(decode_flow_removed(v, &mut r)?)),
        Kind::PortMod => Message::PortMod(decode_port_mod(v, &mut r)?),
        Kind::Vendor => nx::decode(v, header.xid, &mut r)?,
        Kind::RoleRequest => Message::RoleRequest(decode_role(&mut r)?),
        Kind::RoleReply => Message::RoleReply(decode_role(&mut r)?),
        Kind::GetAsyncRequest => Message::GetAsyncRequest,
        Kind::GetAsyncReply => Message::GetAsyncReply(decode_async(&mut r)?),
        Kind::SetAsync => Message::SetAsync(decode_async(&mut r)?),
        Kind::TableMod => {
            let table_id = r.u8()?;
            r.skip(3)?;
            Message::TableMod { table_id, config: r.u32()? }
        }
        Kind::StatsRequest => Message::StatsRequest(stats::decode_request(v, &mut r)?),
        Kind::StatsReply => Message::StatsReply(stats::decode_reply(v, &mut r)?),
        Kind::GroupMod => Message::GroupMod(Box::new(group13::decode_group_mod(&mut r)?)),
        Kind::MeterMod => Message::MeterMod(Box::new(meter::decode_meter_mod(&mut r)?)),
        Kind::PacketOut => Message::PacketOut(Box::new(decode_packet_out(v, &mut r)?)),
        Kind::FlowMod if v == OFP13_VERSION => Message::FlowMod(Box::new(of13::decode_flow_mod(&mut r)?)),
        Kind::FlowMod => Message::FlowMod(Box::new(of10::decode_flow_mod(&mut r)?)),
        Kind::PortStatus => {
            let reason = r.u8()?;
            r.skip(7)?;
            let port = if v == OFP10_VERSION { of10::decode_port(&mut r)? } else { of13::decode_port(&mut r)? };
            Message::PortStatus { reason, port }
        }
    };
    match kind {
        // Requests with no body: trailing bytes are a length error, as in OVS.
        Kind::FeaturesRequest
        | Kind::GetConfigRequest
        | Kind::BarrierRequest
        | Kind::BarrierReply
        | Kind::GetConfigReply
        | Kind::SetConfig
        | Kind::PortStatus
        | Kind::PortMod
        | Kind::FlowRemoved
        | Kind::RoleRequest
        | Kind::RoleReply
        | Kind::GetAsyncRequest
        | Kind::GetAsyncReply
        | Kind::SetAsync
        | Kind::TableMod
        | Kind::FeaturesReply => expect_empty(&r)?,
        _ => {}
    }
    Ok((header, msg))
}

fn decode_packet_in(version: u8, r: &mut Reader<'_>) -> Result<PacketIn, OfError> {
    let buffer_id = r.u32()?;
    let total_len = r.u16()?;
    if version == OFP10_VERSION {
        let in_port = r.u16()?;
        let reason = r.u8()?;
        r.skip(1)?;
        let match_ = Match::ANY.with(Field::InPort, u128::from(in_port));
        return Ok(PacketIn { buffer_id, total_len, reason, table_id: 0, cookie: 0, match_, data: r.rest().to_vec() });
    }
    let reason = r.u8()?;
    let table_id = r.u8()?;
    let cookie = r.u64()?;
    let match_ = oxm::decode_match(r)?;
    r.skip(2)?;
    Ok(PacketIn { buffer_id, total_len, reason, table_id, cookie, match_, data: r.rest().to_vec() })
}

fn encode_packet_in(version: u8, p: &PacketIn, w: &mut Writer) -> Result<(), OfError> {
    w.u32(p.buffer_id);
    w.u16(p.total_len);
    if version == OFP10_VERSION {
        let (port, mask) = p.match_.get(Field::InPort);
        let port = if mask == 0 {
            PortNo::NONE.0
        } else {
            u16::try_from(port).map_err(|_| OfError::BadOutPort(port as u32))?
        };
        w.u16(port);
        w.u8(p.reason);
        w.u8(0);
    } else {
        w.u8(p.reason);
        w.u8(p.table_id);
        w.u64(p.cookie);
        oxm::encode_match(&p.match_, w)?;
        w.zeros(2);
    }
    w.bytes(&p.data);
    Ok(())
}

fn decode_flow_removed(version: u8, r: &mut Reader<'_>) -> Result<FlowRemoved, OfError> {
    let mut fr = FlowRemoved::default();
    if version == OFP10_VERSION {
        fr.match_ = match10::decode_match(r)?;
        fr.cookie = r.u64()?;
        fr.priority = r.u16()?;
        fr.reason = r.u8()?;
        r.skip(1)?;
        fr.duration_sec = r.u32()?;
        fr.duration_nsec = r.u32()?;
        fr.idle_timeout = r.u16()?;
        r.skip(2)?;
        fr.packet_count = r.u64()?;
        fr.byte_count = r.u64()?;
    } else {
        fr.cookie = r.u64()?;
        fr.priority = r.u16()?;
        fr.reason = r.u8()?;
        fr.table_id = r.u8()?;
        fr.duration_sec = r.u32()?;
        fr.duration_nsec = r.u32()?;
        fr.idle_timeout = r.u16()?;
        fr.hard_timeout = r.u16()?;
        fr.packet_count = r.u64()?;
        fr.byte_count = r.u64()?;
        fr.match_ = oxm::decode_match(r)?;
    }
    Ok(fr)
}

fn encode_flow_removed(version: u8, fr: &FlowRemoved, w: &mut Writer) -> Result<(), OfError> {
    if version == OFP10_VERSION {
        match10::encode_match(&fr.match_, w)?;
        w.u64(fr.cookie);
        w.u16(fr.priority);
        w.u8(fr.reason);
        w.u8(0);
        w.u32(fr.duration_sec);
        w.u32(fr.duration_nsec);
        w.u16(fr.idle_timeout);
        w.zeros(2);
        w.u64(fr.packet_count);
        w.u64(fr.byte_count);
    } else {
        w.u64(fr.cookie);
        w.u16(fr.priority);
        w.u8(fr.reason);
        w.u8(fr.table_id);
        w.u32(fr.duration_sec);
        w.u32(fr.duration_nsec);
        w.u16(fr.idle_timeout);
        w.u16(fr.hard_timeout);
        w.u64(fr.packet_count);
        w.u64(fr.byte_count);
        oxm::encode_match(&fr.match_, w)?;
    }
    Ok(())
}

fn decode_port_mod(version: u8, r: &mut Reader<'_>) -> Result<PortMod, OfError> {
    let port_no = if version == OFP10_VERSION {
        PortNo(r.u16()?)
    } else {
        let raw = r.u32()?;
        r.skip(4)?;
        PortNo::from_of13(raw).ok_or(OfError::BadOutPort(raw))?
    };
    let hw_addr = r.array()?;
    if version != OFP10_VERSION {
        r.skip(2)?;
    }
    let pm = PortMod { port_no, hw_addr, config: r.u32()?, mask: r.u32()?, advertise: r.u32()? };
    r.skip(4)?;
    Ok(pm)
}

fn encode_port_mod(version: u8, pm: &PortMod, w: &mut Writer) {
    if version == OFP10_VERSION {
        w.u16(pm.port_no.0);
        w.bytes(&pm.hw_addr);
    } else {
        w.u32(pm.port_no.to_of13());
        w.zeros(4);
        w.bytes(&pm.hw_addr);
        w.zeros(2);
    }
    w.u32(pm.config);
    w.u32(pm.mask);
    w.u32(pm.advertise);
    w.zeros(4);
}

fn decode_role(r: &mut Reader<'_>) -> Result<Role, OfError> {
    let role = r.u32()?;
    r.skip(4)?;
    Ok(Role { role, generation_id: r.u64()? })
}

fn decode_async(r: &mut Reader<'_>) -> Result<AsyncConfig, OfError> {
    Ok(AsyncConfig {
        packet_in_mask: [r.u32()?, r.u32()?],
        port_status_mask: [r.u32()?, r.u32()?],
        flow_removed_mask: [r.u32()?, r.u32()?],
    })
}

fn decode_packet_out(version: u8, r: &mut Reader<'_>) -> Result<PacketOut, OfError> {
    let buffer_id = r.u32()?;
    let (in_port, actions_len) = if version == OFP10_VERSION {
        (PortNo(r.u16()?), r.u16()?)
    } else {
        let raw = r.u32()?;
        let port = PortNo::from_of13(raw).ok_or(OfError::BadOutPort(raw))?;
        let len = r.u16()?;
        r.skip(6)?;
        (port, len)
    };
    let acts = r.bytes(usize::from(actions_len))?;
    let actions =
        if version == OFP10_VERSION { actions10::decode_actions(acts)? } else { actions13::decode_actions(acts)? };
    Ok(PacketOut { buffer_id, in_port, actions, data: r.rest().to_vec() })
}

fn encode_packet_out(version: u8, p: &PacketOut, w: &mut Writer) -> Result<(), OfError> {
    let acts = if version == OFP10_VERSION {
        actions10::encode_action_list(&p.actions)?
    } else {
        actions13::encode_action_list(&p.actions)?
    };
    let alen = u16::try_from(acts.len()).map_err(|_| OfError::Unencodable("actions too long"))?;
    w.u32(p.buffer_id);
    if version == OFP10_VERSION {
        w.u16(p.in_port.0);
        w.u16(alen);
    } else {
        w.u32(p.in_port.to_of13());
        w.u16(alen);
        w.zeros(6);
    }
    w.bytes(&acts);
    w.bytes(&p.data);
    Ok(())
}

/// OFPFC_* to our command.
pub(crate) fn flow_mod_command(raw: u16) -> Result<FlowModCommand, OfError> {
    Ok(match raw {
        0 => FlowModCommand::Add,
        1 => FlowModCommand::Modify,
        2 => FlowModCommand::ModifyStrict,
        3 => FlowModCommand::Delete,
        4 => FlowModCommand::DeleteStrict,
        other => return Err(OfError::BadCommand(other)),
    })
}

/// Our command to OFPFC_*.
pub(crate) fn flow_mod_command_code(c: FlowModCommand) -> u8 {
    match c {
        FlowModCommand::Add => 0,
        FlowModCommand::Modify => 1,
        FlowModCommand::ModifyStrict => 2,
        FlowModCommand::Delete => 3,
        FlowModCommand::DeleteStrict => 4,
    }
}

fn decode_config(r: &mut Reader<'_>) -> Result<SwitchConfig, OfError> {
    Ok(SwitchConfig { flags: r.u16()?, miss_send_len: r.u16()? })
}

fn decode_features(version: u8, r: &mut Reader<'_>) -> Result<SwitchFeatures, OfError> {
    let datapath_id = r.u64()?;
    let n_buffers = r.u32()?;
    let n_tables = r.u8()?;
    let auxiliary_id = r.u8()?;
    r.skip(2)?;
    let capabilities = r.u32()?;
    let actions = r.u32()?;
    let mut f = SwitchFeatures { datapath_id, n_buffers, n_tables, auxiliary_id, capabilities, actions, ports: vec![] };
    if version == OFP10_VERSION {
        // OpenFlow 1.0 has three pad bytes where 1.3 has auxiliary_id.
        f.auxiliary_id = 0;
        if !r.remaining().is_multiple_of(of10::PORT_LEN) {
            return Err(OfError::BadLen("features reply port list"));
        }
        while r.remaining() > 0 {
            f.ports.push(of10::decode_port(r)?);
        }
    }
    Ok(f)
}

/// Encodes `msg` as a `version` message with transaction id `xid`.
pub fn encode(version: u8, xid: u32, msg: &Message) -> Result<Vec<u8>, OfError> {
    let kind = kind_of(msg);
    let msg_type = match version {
        OFP10_VERSION => of10::type_of_kind(kind).ok_or(OfError::Unencodable("message type not in OpenFlow 1.0"))?,
        OFP13_VERSION => of13::type_of_kind(kind),
        v => return Err(OfError::BadVersion(v)),
    };
    let mut w = Writer::default();
    w.zeros(HEADER_LEN);
    match msg {
        Message::Hello { versions } => hello::encode_body(version, *versions, &mut w),
        Message::Error { err_type, code, data } => {
            w.u16(*err_type);
            w.u16(*code);
            w.bytes(data);
        }
        Message::EchoRequest(data) | Message::EchoReply(data) => w.bytes(data),
        Message::FeaturesRequest | Message::GetConfigRequest | Message::BarrierRequest | Message::BarrierReply => {}
        Message::FeaturesReply(f) => {
            w.u64(f.datapath_id);
            w.u32(f.n_buffers);
            w.u8(f.n_tables);
            w.u8(if version == OFP10_VERSION { 0 } else { f.auxiliary_id });
            w.zeros(2);
            w.u32(f.capabilities);
            w.u32(f.actions);
            if version == OFP10_VERSION {
                for p in &f.ports {
                    of10::encode_port(p, &mut w)?;
                }
            }
        }
        Message::GetConfigReply(c) | Message::SetConfig(c) => {
            w.u16(c.flags);
            w.u16(c.miss_send_len);
        }
        Message::PacketIn(p) => encode_packet_in(version, p, &mut w)?,
        Message::FlowRemoved(fr) => encode_flow_removed(version, fr, &mut w)?,
        Message::PortMod(pm) => encode_port_mod(version, pm, &mut w),
        Message::NxSetFlowFormat(_)
        | Message::NxFlowModTableId(_)
        | Message::NxSetPacketInFormat(_)
        | Message::NxSetControllerId(_)
        | Message::NxFlowMod(_)
        | Message::NxPacketIn2(_)
        | Message::NxFlowRemoved(_) => {
            nx::encode(version, msg, &mut w)?;
        }
        Message::BundleControl { .. } | Message::BundleAdd { .. } => {
            if version == OFP10_VERSION {
                return Err(OfError::Unencodable("bundles need OpenFlow 1.3"));
            }
            bundle::encode(xid, msg, &mut w)?;
        }
        Message::RoleRequest(role) | Message::RoleReply(role) => {
            w.u32(role.role);
            w.zeros(4);
            w.u64(role.generation_id);
        }
        Message::GetAsyncRequest => {}
        Message::GetAsyncReply(a) | Message::SetAsync(a) => {
            for v in a.packet_in_mask.iter().chain(&a.port_status_mask).chain(&a.flow_removed_mask) {
                w.u32(*v);
            }
        }
        Message::TableMod { table_id, config } => {
            w.u8(*table_id);
            w.zeros(3);
            w.u32(*config);
        }
        Message::StatsRequest(req) => stats::encode_request(version, req, &mut w)?,
        Message::StatsReply(reply) => stats::encode_reply(version, reply, &mut w)?,
        Message::GroupMod(gm) => group13::encode_group_mod(gm, &mut w)?,
        Message::MeterMod(mm) => {
            if version == OFP10_VERSION {
                return Err(OfError::Unencodable("meter_mod needs OpenFlow 1.3"));
            }
            meter::encode_meter_mod(mm, &mut w);
        }
        Message::PacketOut(p) => encode_packet_out(version, p, &mut w)?,
        Message::FlowMod(fm) if version == OFP13_VERSION => of13::encode_flow_mod(fm, &mut w)?,
        Message::FlowMod(fm) => of10::encode_flow_mod(fm, &mut w)?,
        Message::PortStatus { reason, port } => {
            w.u8(*reason);
            w.zeros(7);
            if version == OFP10_VERSION {
                of10::encode_port(port, &mut w)?;
            } else {
                of13::encode_port(port, &mut w)?;
            }
        }
    }
    let length = u16::try_from(w.buf.len()).map_err(|_| OfError::Unencodable("message longer than 65535 bytes"))?;
    let header = Header { version, msg_type, length, xid };
    w.buf[..HEADER_LEN].copy_from_slice(&header.to_bytes());
    Ok(w.buf)
}

/// Longest port name: the 16-byte field always keeps a terminating NUL (as OVS reads it).
pub const MAX_PORT_NAME: usize = 15;

/// Decodes an interface name field: up to the first NUL or 15 bytes, non-ASCII bytes as '?'.
pub(crate) fn decode_name(raw: &[u8]) -> String {
    raw.iter()
        .take(MAX_PORT_NAME)
        .take_while(|&&b| b != 0)
        .map(|&b| if b.is_ascii() { char::from(b) } else { '?' })
        .collect()
}

/// Encodes an interface name into a fixed 16-byte field.
pub(crate) fn encode_name(name: &str, w: &mut Writer) -> Result<(), OfError> {
    let b = name.as_bytes();
    if b.len() > MAX_PORT_NAME || b.contains(&0) {
        return Err(OfError::Unencodable("port name longer than 15 bytes or with NUL"));
    }
    w.bytes(b);
    w.zeros(16 - b.len());
    Ok(())
}
