//! One OpenFlow connection as a state machine with no I/O ("sans-IO"): the socket layer feeds
//! it received bytes and the clock, and carries out the [`Effect`]s it returns (bytes to send,
//! requests for the switch, close). It owns what Open vSwitch keeps per `ofconn`: the HELLO
//! version negotiation, echo and the inactivity probe, the negotiated version, flow format
//! (OpenFlow 1.0 matches or NXM), packet-in format, controller role, asynchronous-message
//! masks, `miss_send_len`, and open bundles.
//!
//! Messages are processed one at a time ([`Connection::next`]) so that the switch side can
//! apply each request (and a role change) before the next message is looked at: a barrier's
//! reply is therefore sent only after everything before it was applied.
//!
//! A malformed or unsupported message is answered with the OFPT_ERROR Open vSwitch would send
//! and the connection stays up; broken framing (a length below 8, a peer overrunning the
//! bounded receive buffer) or a failed HELLO closes it.

pub mod refusal;

use crate::error::OfError;
use crate::framing::Framer;
use crate::header::{Header, OFP10_VERSION, OFP13_VERSION};
use crate::msg::{
    negotiate, AsyncConfig, FlowRemoved, Message, PacketIn, PacketOut, PortDesc, PortMod, Role, StatsRequest,
    SwitchConfig, VersionBitmap,
};
use flowtable::flow_mod::{FlowModCommand, GroupMod, TABLE_ALL};
use flowtable::FlowMod;
use std::collections::BTreeMap;

pub use refusal::Refusal;

/// Bytes of a refused message echoed in its OFPT_ERROR (OpenFlow asks for at least 64).
pub const ERROR_DATA_LEN: usize = 64;
/// Open bundles per connection (Open vSwitch has no fixed limit; we bound memory).
pub const MAX_BUNDLES: usize = 16;
/// Messages per bundle.
pub const MAX_BUNDLE_MSGS: usize = 100_000;
/// Default `miss_send_len` of a controller connection (OFP_DEFAULT_MISS_SEND_LEN).
pub const DEFAULT_MISS_SEND_LEN: u16 = 128;

/// OFPCR_ROLE_* values.
pub mod role {
    /// Query only.
    pub const NOCHANGE: u32 = 0;
    /// Full access, all asynchronous messages (the default).
    pub const EQUAL: u32 = 1;
    /// Full access; at most one master.
    pub const MASTER: u32 = 2;
    /// Read-only; no packet-ins or flow-removed messages by default.
    pub const SLAVE: u32 = 3;
}

/// ONF bundle control types (OFPBCT_*).
mod bct {
    pub const OPEN_REQUEST: u16 = 0;
    pub const OPEN_REPLY: u16 = 1;
    pub const CLOSE_REQUEST: u16 = 2;
    pub const CLOSE_REPLY: u16 = 3;
    pub const COMMIT_REQUEST: u16 = 4;
    pub const COMMIT_REPLY: u16 = 5;
    pub const DISCARD_REQUEST: u16 = 6;
    pub const DISCARD_REPLY: u16 = 7;
}

/// Whom the connection serves, which decides its defaults (as Open vSwitch's OFCONN_PRIMARY
/// and OFCONN_SERVICE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnKind {
    /// A configured controller: packet-ins by default (`miss_send_len` 128).
    Primary,
    /// A management connection (`ovs-ofctl` on `<bridge>.mgmt`, `ptcp:`): no asynchronous
    /// messages unless it sets a nonzero `miss_send_len` (as `ovs-ofctl monitor` does).
    Service,
}

/// Per-connection settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnConfig {
    /// Versions we accept (bit per wire version).
    pub versions: VersionBitmap,
    /// Send an echo request after this long without receiving anything, and close after twice
    /// as long (`None`: no probing).
    pub probe_interval_ms: Option<u64>,
    /// Primary or service.
    pub kind: ConnKind,
    /// Bound on buffered received bytes.
    pub max_buffer: usize,
}

impl ConnConfig {
    /// OpenFlow 1.0 and 1.3, with the given kind and probe interval.
    pub fn new(kind: ConnKind, probe_interval_ms: Option<u64>) -> Self {
        ConnConfig {
            versions: crate::SUPPORTED_VERSIONS,
            probe_interval_ms,
            kind,
            max_buffer: crate::framing::DEFAULT_MAX_BUFFER,
        }
    }
}

/// Match format for OpenFlow 1.0 flow messages (NXT_SET_FLOW_FORMAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowFormat {
    /// `ofp_match`.
    OpenFlow10,
    /// Nicira extensible match.
    Nxm,
}

/// Packet-in format (NXT_SET_PACKET_IN_FORMAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketInFormat {
    /// The version's OFPT_PACKET_IN.
    Standard,
    /// NXT_PACKET_IN.
    Nxt,
    /// NXT_PACKET_IN2.
    Nxt2,
}

/// Why a connection closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// No common version in HELLO.
    HelloFailed,
    /// Garbage on the stream.
    Framing(crate::framing::FramingError),
    /// Nothing received for two probe intervals.
    ProbeTimeout,
}

/// What the switch must do for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchRequest {
    /// OFPT_FEATURES_REQUEST: answer with a features reply.
    Features,
    /// A flow-mod (OFPT_FLOW_MOD or NXT_FLOW_MOD), table id already resolved.
    FlowMod(Box<FlowMod>),
    /// A committed bundle: apply all or nothing (`atomic`), in order.
    Bundle {
        /// Bundle id (for the commit reply).
        bundle_id: u32,
        /// OFPBF_* flags.
        flags: u16,
        /// The flow-mods.
        mods: Vec<FlowMod>,
    },
    /// OFPT_GROUP_MOD.
    GroupMod(Box<GroupMod>),
    /// OFPT_PACKET_OUT.
    PacketOut(Box<PacketOut>),
    /// OFPT_PORT_MOD.
    PortMod(PortMod),
    /// OFPT_TABLE_MOD.
    TableMod {
        /// Table or 0xff.
        table_id: u8,
        /// OFPTC_* bits.
        config: u32,
    },
    /// A stats/multipart request.
    Stats(StatsRequest),
    /// OFPT_ROLE_REQUEST: arbitrate (see [`RoleArbiter`]), then [`Connection::set_role`].
    Role(Role),
}

/// A request handed to the switch, with what is needed to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Transaction id of the request.
    pub xid: u32,
    /// What to do.
    pub request: SwitchRequest,
    /// The start of the request, for an OFPT_ERROR.
    pub head: Vec<u8>,
}

/// Something the socket layer must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send these bytes.
    Send(Vec<u8>),
    /// Carry out a request and answer with [`Connection::complete`].
    Request(Pending),
    /// Close the connection.
    Close(CloseReason),
}

/// An asynchronous message the switch offers to every connection of a bridge; each connection
/// decides, by role, masks and `miss_send_len`, whether (and how much of) it wants it.
#[derive(Debug, Clone, Copy)]
pub enum AsyncEvent<'a> {
    /// A packet for the controller; `max_len` is the `controller` action's, `controller_id`
    /// the target connection id (0: all).
    PacketIn {
        /// The packet-in with the whole frame (truncated per connection).
        pin: &'a PacketIn,
        /// A table miss with no table-miss flow (OpenFlow 1.0 connections only; truncated to
        /// their `miss_send_len`).
        implicit_miss: bool,
        /// Bytes the action asked for.
        max_len: u16,
        /// `controller(userdata=...)` bytes, for NXT_PACKET_IN2.
        userdata: &'a [u8],
        /// Target controller id (0: every controller).
        controller_id: u16,
    },
    /// A port was added, deleted or changed.
    PortStatus {
        /// OFPPR_*.
        reason: u8,
        /// The port.
        port: &'a PortDesc,
    },
    /// A flow with `send_flow_rem` left its table.
    FlowRemoved(&'a FlowRemoved),
}

#[derive(Debug)]
struct Bundle {
    flags: u16,
    closed: bool,
    mods: Vec<FlowMod>,
}

/// One OpenFlow connection's state.
#[derive(Debug)]
pub struct Connection {
    cfg: ConnConfig,
    framer: Framer,
    version: Option<u8>,
    closed: bool,
    last_rx: u64,
    probe_sent: bool,
    next_xid: u32,
    flow_format: FlowFormat,
    flow_mod_table_id: bool,
    packet_in_format: PacketInFormat,
    role: u32,
    async_cfg: AsyncConfig,
    switch_config: SwitchConfig,
    controller_id: u16,
    bundles: BTreeMap<u32, Bundle>,
}

/// Open vSwitch's default asynchronous masks: masters and equals get packet-ins (no-match,
/// action, invalid-ttl), port-status and flow-removed; slaves get port-status only.
pub const DEFAULT_ASYNC: AsyncConfig =
    AsyncConfig { packet_in_mask: [0b111, 0], port_status_mask: [0b111, 0b111], flow_removed_mask: [0b1111, 0] };

impl Connection {
    /// A new connection at `now` (ms); send [`Connection::hello`] first.
    pub fn new(cfg: ConnConfig, now: u64) -> Self {
        let miss_send_len = if cfg.kind == ConnKind::Primary { DEFAULT_MISS_SEND_LEN } else { 0 };
        Connection {
            framer: Framer::new(cfg.max_buffer),
            cfg,
            version: None,
            closed: false,
            last_rx: now,
            probe_sent: false,
            next_xid: 1,
            flow_format: FlowFormat::OpenFlow10,
            flow_mod_table_id: false,
            packet_in_format: PacketInFormat::Standard,
            role: role::EQUAL,
            async_cfg: DEFAULT_ASYNC,
            switch_config: SwitchConfig { flags: 0, miss_send_len },
            controller_id: 0,
            bundles: BTreeMap::new(),
        }
    }

    /// Our HELLO: the highest version we accept, with the version bitmap.
    pub fn hello(&mut self) -> Vec<u8> {
        let top = if self.cfg.versions == 0 { OFP10_VERSION } else { self.cfg.versions.ilog2() as u8 };
        let xid = self.xid();
        crate::encode(top, xid, &Message::Hello { versions: self.cfg.versions }).unwrap_or_default()
    }

    fn xid(&mut self) -> u32 {
        let x = self.next_xid;
        self.next_xid = self.next_xid.wrapping_add(1).max(1);
        x
    }

    /// The negotiated version, once HELLOs were exchanged.
    pub fn version(&self) -> Option<u8> {
        self.version
    }

    /// Whether the connection has closed (no more effects).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The controller role (`role::EQUAL`, `MASTER` or `SLAVE`).
    pub fn role(&self) -> u32 {
        self.role
    }

    /// Sets the role (after [`RoleArbiter::request`] approved it, or to demote a master).
    pub fn set_role(&mut self, r: u32) {
        self.role = r;
    }

    /// Primary or service.
    pub fn kind(&self) -> ConnKind {
        self.cfg.kind
    }

    /// The connection's `miss_send_len`.
    pub fn miss_send_len(&self) -> u16 {
        self.switch_config.miss_send_len
    }

    /// The flow format in force.
    pub fn flow_format(&self) -> FlowFormat {
        self.flow_format
    }

    /// The packet-in format in force.
    pub fn packet_in_format(&self) -> PacketInFormat {
        self.packet_in_format
    }

    /// The asynchronous-message masks.
    pub fn async_config(&self) -> AsyncConfig {
        self.async_cfg
    }

    /// Whether the switch should send this connection packet-ins on a table miss (OpenFlow
    /// 1.0 semantics: the switch must then run table-miss to the controller).
    pub fn wants_miss_packet_ins(&self) -> bool {
        self.version == Some(OFP10_VERSION)
            && self.receives_async()
            && self.async_cfg.packet_in_mask[self.slot()] & 1 != 0
    }

    /// Appends received bytes. A framing error means the caller should close.
    pub fn feed(&mut self, bytes: &[u8], now: u64) -> Result<(), CloseReason> {
        if !bytes.is_empty() {
            self.last_rx = now;
            self.probe_sent = false;
        }
        self.framer.push(bytes).map_err(CloseReason::Framing)
    }

    /// Processes the next complete received message; `None` when more bytes are needed.
    pub fn next(&mut self, now: u64) -> Option<Vec<Effect>> {
        if self.closed {
            return None;
        }
        let raw = match self.framer.next_message() {
            Ok(Some(m)) => m.to_vec(),
            Ok(None) => return None,
            Err(e) => {
                self.closed = true;
                return Some(vec![Effect::Close(CloseReason::Framing(e))]);
            }
        };
        self.last_rx = now;
        Some(self.handle(&raw))
    }

    /// Time passing: the inactivity probe.
    pub fn tick(&mut self, now: u64) -> Vec<Effect> {
        let Some(interval) = self.cfg.probe_interval_ms else { return vec![] };
        if self.closed {
            return vec![];
        }
        let idle = now.saturating_sub(self.last_rx);
        if idle >= 2 * interval {
            self.closed = true;
            return vec![Effect::Close(CloseReason::ProbeTimeout)];
        }
        if idle >= interval && !self.probe_sent {
            if let Some(v) = self.version {
                self.probe_sent = true;
                let xid = self.xid();
                if let Ok(b) = crate::encode(v, xid, &Message::EchoRequest(Vec::new())) {
                    return vec![Effect::Send(b)];
                }
            }
        }
        vec![]
    }

    fn send(&self, xid: u32, msg: &Message) -> Effect {
        let v = self.version.unwrap_or(OFP10_VERSION);
        let encoded = match msg {
            // Long stats replies go out as several messages flagged OFPSF_REPLY_MORE.
            Message::StatsReply(r) => {
                crate::codec::stats::encode_stats_reply_split(v, xid, r).map(|parts| parts.concat())
            }
            m => crate::encode(v, xid, m),
        };
        match encoded {
            Ok(b) => Effect::Send(b),
            Err(e) => {
                log::warn!("cannot encode a reply: {e}");
                Effect::Send(crate::encode(v, xid, &e.error_reply(v, &[])).unwrap_or_default())
            }
        }
    }

    fn refuse(&self, xid: u32, r: &Refusal, raw: &[u8]) -> Effect {
        let v = self.version.unwrap_or(OFP10_VERSION);
        let head = &raw[..raw.len().min(ERROR_DATA_LEN)];
        self.send(xid, &r.error_message(v, head))
    }

    fn handle(&mut self, raw: &[u8]) -> Vec<Effect> {
        let Ok(header) = Header::parse(raw) else { return vec![] };
        let Some(version) = self.version else { return self.handle_hello(header, raw) };
        if header.version != version {
            return vec![self.refuse(header.xid, &Refusal::Codec(OfError::BadVersion(header.version)), raw)];
        }
        let msg = match crate::decode(raw) {
            Ok((_, m)) => m,
            Err(e) => return vec![self.refuse(header.xid, &Refusal::Codec(e), raw)],
        };
        self.handle_message(header.xid, msg, raw)
    }

    fn handle_hello(&mut self, header: Header, raw: &[u8]) -> Vec<Effect> {
        let Ok((_, Message::Hello { versions: theirs })) = crate::decode(raw) else {
            // Anything but HELLO first: refuse as Open vSwitch does (OFPHFC_EPERM).
            let data = raw[..raw.len().min(ERROR_DATA_LEN)].to_vec();
            return self.hello_failed(header, &Message::Error { err_type: 0, code: 1, data });
        };
        if let Some(v) = negotiate(self.cfg.versions, theirs) {
            self.version = Some(v);
            return vec![];
        }
        let text = format!(
            "We support versions 0x01, 0x04, you support bitmap {theirs:#x} (header version {:#04x}).",
            header.version
        );
        self.hello_failed(header, &Message::Error { err_type: 0, code: 0, data: text.into_bytes() })
    }

    fn hello_failed(&mut self, header: Header, err: &Message) -> Vec<Effect> {
        self.closed = true;
        let v = if header.version >= OFP13_VERSION { OFP13_VERSION } else { OFP10_VERSION };
        let mut out = Vec::new();
        if let Ok(b) = crate::encode(v, header.xid, err) {
            out.push(Effect::Send(b));
        }
        out.push(Effect::Close(CloseReason::HelloFailed));
        out
    }

    fn is_slave(&self) -> bool {
        self.role == role::SLAVE
    }

    fn request(xid: u32, request: SwitchRequest, raw: &[u8]) -> Effect {
        Effect::Request(Pending { xid, request, head: raw[..raw.len().min(ERROR_DATA_LEN)].to_vec() })
    }

    /// Resolves the table of a flow-mod as Open vSwitch does: on OpenFlow 1.0 without
    /// NXT_FLOW_MOD_TABLE_ID the command's high byte means nothing (adds go to table 0, the
    /// rest to every table); an add to table 0xff goes to table 0. An OpenFlow 1.0 add always
    /// resets counters (lib/ofp-flow.c), which 1.3 dumps show as `reset_counts`.
    fn resolve_table(&self, mut fm: FlowMod) -> FlowMod {
        let add = fm.command == FlowModCommand::Add;
        if self.version == Some(OFP10_VERSION) {
            if !self.flow_mod_table_id {
                fm.table_id = if add { 0 } else { TABLE_ALL };
            }
            if add {
                fm.flags |= flowtable::flow_mod::flags::RESET_COUNTS;
            }
        }
        if add && fm.table_id == TABLE_ALL {
            fm.table_id = 0;
        }
        fm
    }

    fn handle_message(&mut self, xid: u32, msg: Message, raw: &[u8]) -> Vec<Effect> {
        let modifies = matches!(
            msg,
            Message::FlowMod(_)
                | Message::NxFlowMod(_)
                | Message::GroupMod(_)
                | Message::PacketOut(_)
                | Message::PortMod(_)
                | Message::TableMod { .. }
                | Message::BundleControl { .. }
                | Message::BundleAdd { .. }
        );
        if modifies && self.is_slave() {
            return vec![self.refuse(xid, &Refusal::IsSlave, raw)];
        }
        match msg {
            Message::Hello { .. } | Message::EchoReply(_) | Message::Error { .. } => vec![],
            Message::EchoRequest(data) => vec![self.send(xid, &Message::EchoReply(data))],
            Message::FeaturesRequest => vec![Self::request(xid, SwitchRequest::Features, raw)],
            Message::GetConfigRequest => vec![self.send(xid, &Message::GetConfigReply(self.switch_config))],
            Message::SetConfig(c) => {
                self.switch_config = c;
                vec![]
            }
            Message::BarrierRequest => vec![self.send(xid, &Message::BarrierReply)],
            Message::NxSetFlowFormat(f) => match f {
                0 => {
                    self.flow_format = FlowFormat::OpenFlow10;
                    vec![]
                }
                2 => {
                    self.flow_format = FlowFormat::Nxm;
                    vec![]
                }
                _ => vec![self.refuse(xid, &Refusal::Eperm, raw)],
            },
            Message::NxFlowModTableId(on) => {
                self.flow_mod_table_id = on;
                vec![]
            }
            Message::NxSetPacketInFormat(f) => match f {
                0 => {
                    self.packet_in_format = PacketInFormat::Standard;
                    vec![]
                }
                1 => {
                    self.packet_in_format = PacketInFormat::Nxt;
                    vec![]
                }
                2 => {
                    self.packet_in_format = PacketInFormat::Nxt2;
                    vec![]
                }
                _ => vec![self.refuse(xid, &Refusal::Eperm, raw)],
            },
            Message::NxSetControllerId(id) => {
                self.controller_id = id;
                vec![]
            }
            Message::FlowMod(fm) | Message::NxFlowMod(fm) => {
                let fm = self.resolve_table(*fm);
                if fm.buffer_id.is_some() && fm.command == FlowModCommand::Add {
                    // We never buffer; Open vSwitch applies the flow and then reports this.
                    return vec![
                        Self::request(xid, SwitchRequest::FlowMod(Box::new(fm)), raw),
                        self.refuse(xid, &Refusal::BufferUnknown, raw),
                    ];
                }
                vec![Self::request(xid, SwitchRequest::FlowMod(Box::new(fm)), raw)]
            }
            Message::GroupMod(gm) => vec![Self::request(xid, SwitchRequest::GroupMod(gm), raw)],
            Message::PacketOut(po) => {
                if po.buffer_id != crate::msg::NO_BUFFER {
                    return vec![self.refuse(xid, &Refusal::BufferUnknown, raw)];
                }
                vec![Self::request(xid, SwitchRequest::PacketOut(po), raw)]
            }
            Message::PortMod(pm) => vec![Self::request(xid, SwitchRequest::PortMod(pm), raw)],
            Message::TableMod { table_id, config } => {
                vec![Self::request(xid, SwitchRequest::TableMod { table_id, config }, raw)]
            }
            Message::StatsRequest(req) => vec![Self::request(xid, SwitchRequest::Stats(req), raw)],
            Message::RoleRequest(r) => {
                if r.role > role::SLAVE {
                    return vec![self.refuse(xid, &Refusal::BadRole, raw)];
                }
                vec![Self::request(xid, SwitchRequest::Role(r), raw)]
            }
            Message::GetAsyncRequest => vec![self.send(xid, &Message::GetAsyncReply(self.async_cfg))],
            Message::SetAsync(a) => {
                self.async_cfg = a;
                vec![]
            }
            Message::BundleControl { bundle_id, ctrl_type, flags, .. } => {
                self.bundle_control(xid, bundle_id, ctrl_type, flags, raw)
            }
            Message::BundleAdd { bundle_id, flags, message } => self.bundle_add(xid, bundle_id, flags, &message, raw),
            // Messages only a switch sends.
            Message::FeaturesReply(_)
            | Message::GetConfigReply(_)
            | Message::BarrierReply
            | Message::PacketIn(_)
            | Message::FlowRemoved(_)
            | Message::PortStatus { .. }
            | Message::RoleReply(_)
            | Message::GetAsyncReply(_)
            | Message::StatsReply(_)
            | Message::NxPacketIn2(_)
            | Message::NxFlowRemoved(_)
            // No meters (yet): refused as an unsupported message.
            | Message::MeterMod(_) => {
                let t = raw.get(1).copied().unwrap_or(0);
                vec![self.refuse(xid, &Refusal::Codec(OfError::BadType(t)), raw)]
            }
        }
    }

    fn bundle_reply(&self, xid: u32, bundle_id: u32, ctrl_type: u16, flags: u16) -> Effect {
        self.send(xid, &Message::BundleControl { bundle_id, ctrl_type, flags, properties: Vec::new() })
    }

    fn bundle_control(&mut self, xid: u32, id: u32, ctrl_type: u16, flags: u16, raw: &[u8]) -> Vec<Effect> {
        match ctrl_type {
            bct::OPEN_REQUEST => {
                if self.bundles.contains_key(&id) {
                    return vec![self.refuse(xid, &Refusal::BundleExist, raw)];
                }
                if self.bundles.len() >= MAX_BUNDLES {
                    return vec![self.refuse(xid, &Refusal::OutOfBundles, raw)];
                }
                self.bundles.insert(id, Bundle { flags, closed: false, mods: Vec::new() });
                vec![self.bundle_reply(xid, id, bct::OPEN_REPLY, flags)]
            }
            bct::CLOSE_REQUEST => match self.bundles.get_mut(&id) {
                None => vec![self.refuse(xid, &Refusal::BundleBadId, raw)],
                Some(b) if b.closed => vec![self.refuse(xid, &Refusal::BundleClosed, raw)],
                Some(b) => {
                    b.closed = true;
                    vec![self.bundle_reply(xid, id, bct::CLOSE_REPLY, flags)]
                }
            },
            bct::COMMIT_REQUEST => match self.bundles.remove(&id) {
                None => vec![self.refuse(xid, &Refusal::BundleBadId, raw)],
                Some(b) => {
                    vec![Self::request(xid, SwitchRequest::Bundle { bundle_id: id, flags: b.flags, mods: b.mods }, raw)]
                }
            },
            bct::DISCARD_REQUEST => match self.bundles.remove(&id) {
                None => vec![self.refuse(xid, &Refusal::BundleBadId, raw)],
                Some(_) => vec![self.bundle_reply(xid, id, bct::DISCARD_REPLY, flags)],
            },
            _ => vec![self.refuse(xid, &Refusal::BundleBadType, raw)],
        }
    }

    fn bundle_add(&mut self, xid: u32, id: u32, flags: u16, inner: &[u8], raw: &[u8]) -> Vec<Effect> {
        let decoded = crate::decode(inner);
        let fm = match decoded {
            Ok((_, Message::FlowMod(fm) | Message::NxFlowMod(fm))) => self.resolve_table(*fm),
            Ok(_) => return vec![self.refuse(xid, &Refusal::BundleMsgUnsup, raw)],
            Err(e) => return vec![self.refuse(xid, &Refusal::Codec(e), inner)],
        };
        if !self.bundles.contains_key(&id) {
            if self.bundles.len() >= MAX_BUNDLES {
                return vec![self.refuse(xid, &Refusal::OutOfBundles, raw)];
            }
            // An add to an unknown bundle opens it implicitly (OpenFlow 1.4 7.3.9.3).
            self.bundles.insert(id, Bundle { flags, closed: false, mods: Vec::new() });
        }
        let refusal = match self.bundles.get_mut(&id) {
            Some(b) if b.closed => Refusal::BundleClosed,
            Some(b) if b.mods.len() >= MAX_BUNDLE_MSGS => Refusal::BundleTooMany,
            Some(b) => {
                b.mods.push(fm);
                return vec![];
            }
            None => Refusal::BundleBadId,
        };
        vec![self.refuse(xid, &refusal, raw)]
    }

    /// Answers a request the switch carried out: `Ok(replies)` (possibly none) or a refusal.
    /// Returns the bytes to send.
    pub fn complete(&mut self, pending: &Pending, outcome: Result<Vec<Message>, Refusal>) -> Vec<u8> {
        let mut out = Vec::new();
        match outcome {
            Ok(replies) => {
                for m in &replies {
                    if let Effect::Send(b) = self.send(pending.xid, m) {
                        out.extend(b);
                    }
                }
                if let SwitchRequest::Bundle { bundle_id, flags, .. } = &pending.request {
                    if let Effect::Send(b) = self.bundle_reply(pending.xid, *bundle_id, bct::COMMIT_REPLY, *flags) {
                        out.extend(b);
                    }
                }
            }
            Err(r) => {
                if let Effect::Send(b) = self.refuse(pending.xid, &r, &pending.head) {
                    out.extend(b);
                }
            }
        }
        out
    }

    fn slot(&self) -> usize {
        usize::from(self.role == role::SLAVE)
    }

    fn receives_async(&self) -> bool {
        self.version.is_some()
            && !self.closed
            && !(self.cfg.kind == ConnKind::Service && self.switch_config.miss_send_len == 0)
    }

    /// Encodes an asynchronous message for this connection, or `None` if it does not want it.
    pub fn async_message(&mut self, ev: AsyncEvent<'_>) -> Option<Vec<u8>> {
        if !self.receives_async() {
            return None;
        }
        let v = self.version?;
        let slot = self.slot();
        let msg = match ev {
            AsyncEvent::PacketIn { pin, implicit_miss, max_len, controller_id, userdata } => {
                if controller_id != 0 && controller_id != self.controller_id {
                    return None;
                }
                if self.async_cfg.packet_in_mask[slot] & (1u32 << pin.reason.min(31)) == 0 {
                    return None;
                }
                // A table miss on OpenFlow 1.3 drops unless a table-miss flow sends it here.
                if implicit_miss && v != OFP10_VERSION {
                    return None;
                }
                let limit = if implicit_miss { self.miss_send_len() } else { max_len };
                let mut p = pin.clone();
                p.data.truncate(usize::from(limit));
                if self.packet_in_format == PacketInFormat::Nxt2 {
                    Message::NxPacketIn2(Box::new(crate::msg::PacketIn2 { packet_in: p, userdata: userdata.to_vec() }))
                } else {
                    if v == OFP10_VERSION {
                        p.table_id = 0;
                        p.cookie = 0;
                    }
                    Message::PacketIn(Box::new(p))
                }
            }
            AsyncEvent::PortStatus { reason, port } => {
                if self.async_cfg.port_status_mask[slot] & (1u32 << reason.min(31)) == 0 {
                    return None;
                }
                Message::PortStatus { reason, port: port.clone() }
            }
            AsyncEvent::FlowRemoved(fr) => {
                if self.async_cfg.flow_removed_mask[slot] & (1u32 << fr.reason.min(31)) == 0 {
                    return None;
                }
                if v == OFP10_VERSION && self.flow_format == FlowFormat::Nxm {
                    Message::NxFlowRemoved(Box::new(fr.clone()))
                } else {
                    Message::FlowRemoved(Box::new(fr.clone()))
                }
            }
        };
        let xid = 0;
        crate::encode(v, xid, &msg).ok()
    }
}

/// Master election across a bridge's connections (Open vSwitch's connmgr generation id):
/// a MASTER or SLAVE request with a generation id older than the last one seen is stale.
#[derive(Debug, Default, Clone, Copy)]
pub struct RoleArbiter {
    generation: Option<u64>,
}

impl RoleArbiter {
    /// Checks a role request; on success returns the reply (role and generation id) and the
    /// caller sets the role on the connection and, for MASTER, demotes any other master.
    pub fn request(&mut self, current_role: u32, req: Role) -> Result<Role, Refusal> {
        match req.role {
            role::NOCHANGE => {}
            role::EQUAL => {}
            role::MASTER | role::SLAVE => {
                if let Some(g) = self.generation {
                    // Wrapping comparison as the spec says: (gen - cached) as signed < 0.
                    if (req.generation_id.wrapping_sub(g) as i64) < 0 {
                        return Err(Refusal::RoleStale);
                    }
                }
                self.generation = Some(req.generation_id);
            }
            _ => return Err(Refusal::BadRole),
        }
        let now_role = if req.role == role::NOCHANGE { current_role } else { req.role };
        Ok(Role { role: now_role, generation_id: self.generation.unwrap_or(u64::MAX) })
    }
}

#[cfg(test)]
mod tests;
