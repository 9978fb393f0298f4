//! Version-independent OpenFlow messages: what the switch and a controller or `ovs-ofctl`
//! exchange, with the per-version wire details left to `crate::codec`.

use flowtable::{FlowMod, Match, PortNo};

/// Bit `v` set means wire version `v` is offered (OFPHET_VERSIONBITMAP layout).
pub type VersionBitmap = u32;

/// A decoded OpenFlow message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OFPT_HELLO with the versions the sender accepts.
    Hello {
        /// Accepted versions (bit per wire version).
        versions: VersionBitmap,
    },
    /// OFPT_ERROR.
    Error {
        /// Error type (OFPET_*).
        err_type: u16,
        /// Error code, meaning depends on the type.
        code: u16,
        /// Usually the start of the offending message.
        data: Vec<u8>,
    },
    /// OFPT_ECHO_REQUEST with opaque payload.
    EchoRequest(Vec<u8>),
    /// OFPT_ECHO_REPLY with the request's payload.
    EchoReply(Vec<u8>),
    /// OFPT_FEATURES_REQUEST.
    FeaturesRequest,
    /// OFPT_FEATURES_REPLY.
    FeaturesReply(SwitchFeatures),
    /// OFPT_GET_CONFIG_REQUEST.
    GetConfigRequest,
    /// OFPT_GET_CONFIG_REPLY.
    GetConfigReply(SwitchConfig),
    /// OFPT_SET_CONFIG.
    SetConfig(SwitchConfig),
    /// OFPT_BARRIER_REQUEST.
    BarrierRequest,
    /// OFPT_BARRIER_REPLY.
    BarrierReply,
    /// OFPT_PACKET_IN.
    PacketIn(Box<PacketIn>),
    /// OFPT_PACKET_OUT.
    PacketOut(Box<PacketOut>),
    /// NXT_SET_FLOW_FORMAT: 0 = OpenFlow 1.0 matches, 2 = NXM.
    NxSetFlowFormat(u32),
    /// NXT_FLOW_MOD_TABLE_ID: whether the flow_mod command's high byte is a table id.
    NxFlowModTableId(bool),
    /// NXT_SET_PACKET_IN_FORMAT: 0 = standard, 1 = NXT_PACKET_IN, 2 = NXT_PACKET_IN2.
    NxSetPacketInFormat(u32),
    /// NXT_SET_CONTROLLER_ID.
    NxSetControllerId(u16),
    /// NXT_FLOW_MOD: a flow_mod with an NXM match (table id in the command's high byte).
    NxFlowMod(Box<FlowMod>),
    /// OFPT_ROLE_REQUEST (1.3).
    RoleRequest(Role),
    /// OFPT_ROLE_REPLY (1.3).
    RoleReply(Role),
    /// OFPT_GET_ASYNC_REQUEST (1.3).
    GetAsyncRequest,
    /// OFPT_GET_ASYNC_REPLY (1.3).
    GetAsyncReply(AsyncConfig),
    /// OFPT_SET_ASYNC (1.3).
    SetAsync(AsyncConfig),
    /// OFPT_TABLE_MOD (1.3).
    TableMod {
        /// Table, or 0xff for all.
        table_id: u8,
        /// OFPTC_* bits.
        config: u32,
    },
    /// OFPT_STATS_REQUEST (1.0) / OFPT_MULTIPART_REQUEST (1.3).
    StatsRequest(StatsRequest),
    /// OFPT_STATS_REPLY (1.0) / OFPT_MULTIPART_REPLY (1.3).
    StatsReply(StatsReply),
    /// OFPT_GROUP_MOD (1.3).
    GroupMod(Box<flowtable::flow_mod::GroupMod>),
    /// ONF_ET_BUNDLE_CONTROL (OpenFlow 1.3 ONF extension).
    BundleControl {
        /// Bundle id.
        bundle_id: u32,
        /// OFPBCT_* (OPEN_REQUEST 0 ... DISCARD_REPLY 7).
        ctrl_type: u16,
        /// OFPBF_ATOMIC (1), OFPBF_ORDERED (2).
        flags: u16,
        /// Raw bundle properties.
        properties: Vec<u8>,
    },
    /// ONF_ET_BUNDLE_ADD_MESSAGE: a complete OpenFlow message added to a bundle.
    BundleAdd {
        /// Bundle id.
        bundle_id: u32,
        /// OFPBF_* flags.
        flags: u16,
        /// The encapsulated message, header included (decode it with `ofagent::decode`).
        message: Vec<u8>,
    },
    /// OFPT_FLOW_REMOVED.
    FlowRemoved(Box<FlowRemoved>),
    /// OFPT_PORT_MOD.
    PortMod(PortMod),
    /// OFPT_FLOW_MOD.
    FlowMod(Box<FlowMod>),
    /// OFPT_PORT_STATUS.
    PortStatus {
        /// OFPPR_ADD (0), OFPPR_DELETE (1) or OFPPR_MODIFY (2).
        reason: u8,
        /// The port's description.
        port: PortDesc,
    },
}

/// Body of OFPT_FEATURES_REPLY.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SwitchFeatures {
    /// Datapath id.
    pub datapath_id: u64,
    /// Packets the switch can buffer for packet-in.
    pub n_buffers: u32,
    /// Number of flow tables.
    pub n_tables: u8,
    /// OpenFlow 1.3 auxiliary connection id (0 in 1.0).
    pub auxiliary_id: u8,
    /// OFPC_* capability bits.
    pub capabilities: u32,
    /// OpenFlow 1.0 supported-actions bitmap (the `reserved` word in 1.3).
    pub actions: u32,
    /// Ports (carried only by OpenFlow 1.0; 1.3 uses OFPMP_PORT_DESC).
    pub ports: Vec<PortDesc>,
}

/// Body of OFPT_PACKET_IN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketIn {
    /// Buffer id (`NO_BUFFER` = 0xffffffff: the whole packet is in `data`).
    pub buffer_id: u32,
    /// Full length of the packet.
    pub total_len: u16,
    /// OFPR_NO_MATCH (0), OFPR_ACTION (1), OFPR_INVALID_TTL (2).
    pub reason: u8,
    /// Table that sent it (1.3 only; 0 in 1.0).
    pub table_id: u8,
    /// Cookie of the flow that sent it (1.3 only; 0 in 1.0).
    pub cookie: u64,
    /// Pipeline fields: in_port, metadata, tunnel, registers (1.0 carries in_port only).
    pub match_: Match,
    /// The packet (or its first bytes).
    pub data: Vec<u8>,
}

/// Body of OFPT_PACKET_OUT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketOut {
    /// Buffer id (`NO_BUFFER`: the packet is in `data`).
    pub buffer_id: u32,
    /// Port the packet is treated as coming from (`CONTROLLER`, `LOCAL`, `NONE` or a port).
    pub in_port: PortNo,
    /// Actions to apply.
    pub actions: Vec<flowtable::Action>,
    /// The packet.
    pub data: Vec<u8>,
}

/// Body of OFPT_FLOW_REMOVED.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowRemoved {
    /// The flow's cookie.
    pub cookie: u64,
    /// The flow's priority.
    pub priority: u16,
    /// OFPRR_IDLE_TIMEOUT (0), OFPRR_HARD_TIMEOUT (1), OFPRR_DELETE (2), OFPRR_GROUP_DELETE (3).
    pub reason: u8,
    /// Table (1.3 only; 0 in 1.0).
    pub table_id: u8,
    /// Seconds the flow lived.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// The flow's idle timeout.
    pub idle_timeout: u16,
    /// The flow's hard timeout (1.3 only; 0 in 1.0).
    pub hard_timeout: u16,
    /// Packets matched.
    pub packet_count: u64,
    /// Bytes matched.
    pub byte_count: u64,
    /// The flow's match.
    pub match_: Match,
}

/// Body of OFPT_ROLE_REQUEST / OFPT_ROLE_REPLY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Role {
    /// OFPCR_ROLE_NOCHANGE (0), EQUAL (1), MASTER (2), SLAVE (3).
    pub role: u32,
    /// Master election generation id.
    pub generation_id: u64,
}

/// Body of OFPT_GET_ASYNC_REPLY / OFPT_SET_ASYNC: `[master/equal, slave]` reason bitmaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AsyncConfig {
    /// OFPR_* bits for packet-ins.
    pub packet_in_mask: [u32; 2],
    /// OFPPR_* bits for port-status.
    pub port_status_mask: [u32; 2],
    /// OFPRR_* bits for flow-removed.
    pub flow_removed_mask: [u32; 2],
}

/// A stats/multipart request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsRequest {
    /// OFPMP_DESC.
    Desc,
    /// OFPMP_PORT_DESC (1.3).
    PortDesc,
}

/// A stats/multipart reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsReply {
    /// OFPMP_DESC.
    Desc(Box<DescStats>),
    /// OFPMP_PORT_DESC (1.3).
    PortDesc {
        /// The ports.
        ports: Vec<PortDesc>,
        /// OFPSF_REPLY_MORE: more replies follow.
        more: bool,
    },
}

/// `ofp_desc`: switch description strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescStats {
    /// Manufacturer (< 256 ASCII bytes).
    pub mfr_desc: String,
    /// Hardware description (< 256).
    pub hw_desc: String,
    /// Software description (< 256).
    pub sw_desc: String,
    /// Serial number (< 32).
    pub serial_num: String,
    /// Datapath description (< 256).
    pub dp_desc: String,
}

/// Body of OFPT_PORT_MOD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortMod {
    /// Port to modify.
    pub port_no: PortNo,
    /// Must equal the port's address (a sanity check).
    pub hw_addr: [u8; 6],
    /// New OFPPC_* bits (only those in `mask` change).
    pub config: u32,
    /// Which `config` bits to change.
    pub mask: u32,
    /// OFPPF_* features to advertise (0: unchanged).
    pub advertise: u32,
}

/// OpenFlow's "no buffer" buffer id.
pub const NO_BUFFER: u32 = 0xffff_ffff;

/// Body of OFPT_GET_CONFIG_REPLY and OFPT_SET_CONFIG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SwitchConfig {
    /// OFPC_FRAG_* bits.
    pub flags: u16,
    /// Bytes of a packet sent to the controller on a table miss.
    pub miss_send_len: u16,
}

/// `ofp_port` (OpenFlow 1.0: 48 bytes, 1.3: 64 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortDesc {
    /// Port number (Open vSwitch 16-bit numbering).
    pub port_no: PortNo,
    /// Ethernet address.
    pub hw_addr: [u8; 6],
    /// Interface name, at most 15 ASCII bytes (non-ASCII bytes decode as '?').
    pub name: String,
    /// OFPPC_* bits.
    pub config: u32,
    /// OFPPS_* bits.
    pub state: u32,
    /// Current features (OFPPF_*).
    pub curr: u32,
    /// Advertised features.
    pub advertised: u32,
    /// Supported features.
    pub supported: u32,
    /// Features advertised by the peer.
    pub peer: u32,
    /// Current speed in kbps (1.3 only).
    pub curr_speed: u32,
    /// Maximum speed in kbps (1.3 only).
    pub max_speed: u32,
}

/// Highest version present in both bitmaps, restricted to those we speak (1.0 and 1.3).
pub fn negotiate(ours: VersionBitmap, theirs: VersionBitmap) -> Option<u8> {
    let common = ours & theirs & crate::SUPPORTED_VERSIONS;
    (common != 0).then(|| common.ilog2() as u8)
}
