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
    /// OFPT_METER_MOD (1.3).
    MeterMod(Box<MeterMod>),
    /// NXT_PACKET_IN2 (Nicira, property based).
    NxPacketIn2(Box<PacketIn2>),
    /// NXT_FLOW_REMOVED (Nicira, NXM match; `table_id` is carried).
    NxFlowRemoved(Box<FlowRemoved>),
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
    /// The flow's hard timeout (1.3 only; 0 in 1.0 and NXT_FLOW_REMOVED, not sent there).
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

/// A stats/multipart request. Answer each with the [`StatsReply`] variant of the same name
/// (and the same `nx` flag for flow and aggregate requests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsRequest {
    /// OFPMP_DESC.
    Desc,
    /// OFPMP_PORT_DESC (1.3; also OpenFlow 1.0 as Open vSwitch extends it).
    PortDesc,
    /// OFPST_FLOW / OFPMP_FLOW, or Nicira NXST_FLOW when `nx` is set.
    Flow(Box<FlowStatsRequest>),
    /// OFPST_AGGREGATE / OFPMP_AGGREGATE, or Nicira NXST_AGGREGATE when `nx` is set.
    Aggregate(Box<FlowStatsRequest>),
    /// OFPST_TABLE / OFPMP_TABLE.
    Table,
    /// OFPST_PORT / OFPMP_PORT_STATS for one port, or all with `PortNo::NONE` (OFPP_ANY in 1.3).
    Port(PortNo),
    /// OFPST_QUEUE / OFPMP_QUEUE.
    Queue {
        /// Port, `PortNo::NONE` for all (sent as OFPP_ALL in 1.0, OFPP_ANY in 1.3).
        port_no: PortNo,
        /// Queue, [`QUEUE_ALL`] for all.
        queue_id: u32,
    },
    /// OFPMP_GROUP (1.3): one group, or `GROUP_ALL`.
    Group(u32),
    /// OFPMP_GROUP_DESC (1.3).
    GroupDesc,
    /// OFPMP_GROUP_FEATURES (1.3).
    GroupFeatures,
    /// OFPMP_METER (1.3): one meter, or [`METER_ALL`].
    Meter(u32),
    /// OFPMP_METER_CONFIG (1.3): one meter, or [`METER_ALL`].
    MeterConfig(u32),
    /// OFPMP_METER_FEATURES (1.3).
    MeterFeatures,
    /// OFPMP_TABLE_FEATURES (1.3): empty to query (what `ovs-ofctl dump-table-features` sends),
    /// non-empty to set.
    TableFeatures(Vec<TableFeatures>),
}

/// A stats/multipart reply. Variants holding lists carry `more` (OFPSF_REPLY_MORE): a sender
/// splits a long list over several replies with `more` set on all but the last (see
/// [`crate::codec::encode_stats_reply_split`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsReply {
    /// OFPMP_DESC.
    Desc(Box<DescStats>),
    /// OFPMP_PORT_DESC (1.3; also OpenFlow 1.0, with `ofp_phy_port`s).
    PortDesc {
        /// The ports.
        ports: Vec<PortDesc>,
        /// OFPSF_REPLY_MORE: more replies follow.
        more: bool,
    },
    /// OFPST_FLOW / OFPMP_FLOW, or Nicira NXST_FLOW when `nx` is set.
    Flow {
        /// One entry per flow.
        flows: Vec<FlowStats>,
        /// NXST_FLOW (Nicira, NXM matches) rather than the standard format.
        nx: bool,
        /// OFPSF_REPLY_MORE.
        more: bool,
    },
    /// OFPST_AGGREGATE / OFPMP_AGGREGATE, or Nicira NXST_AGGREGATE when `nx` is set.
    Aggregate {
        /// The totals.
        stats: AggregateStats,
        /// NXST_AGGREGATE rather than the standard format.
        nx: bool,
    },
    /// OFPST_TABLE / OFPMP_TABLE.
    Table {
        /// One entry per table.
        tables: Vec<TableStats>,
        /// OFPSF_REPLY_MORE.
        more: bool,
    },
    /// OFPST_PORT / OFPMP_PORT_STATS.
    Port {
        /// One entry per port.
        ports: Vec<PortStats>,
        /// OFPSF_REPLY_MORE.
        more: bool,
    },
    /// OFPST_QUEUE / OFPMP_QUEUE (empty when queues are not modelled).
    Queue {
        /// One entry per queue.
        queues: Vec<QueueStats>,
        /// OFPSF_REPLY_MORE.
        more: bool,
    },
    /// OFPMP_GROUP (1.3).
    Group {
        /// One entry per group.
        groups: Vec<GroupStats>,
        /// OFPSF_REPLY_MORE.
        more: bool,
    },
    /// OFPMP_GROUP_DESC (1.3).
    GroupDesc {
        /// One entry per group.
        groups: Vec<GroupDesc>,
        /// OFPSF_REPLY_MORE.
        more: bool,
    },
    /// OFPMP_GROUP_FEATURES (1.3).
    GroupFeatures(GroupFeatures),
    /// OFPMP_METER (1.3).
    Meter {
        /// One entry per meter.
        meters: Vec<MeterStats>,
        /// OFPSF_REPLY_MORE.
        more: bool,
    },
    /// OFPMP_METER_CONFIG (1.3).
    MeterConfig {
        /// One entry per meter.
        meters: Vec<MeterConfig>,
        /// OFPSF_REPLY_MORE.
        more: bool,
    },
    /// OFPMP_METER_FEATURES (1.3).
    MeterFeatures(MeterFeatures),
    /// OFPMP_TABLE_FEATURES (1.3).
    TableFeatures {
        /// One entry per table.
        tables: Vec<TableFeatures>,
        /// OFPSF_REPLY_MORE.
        more: bool,
    },
}

impl StatsReply {
    /// OFPSF_REPLY_MORE of this reply (false for single-body replies).
    pub fn more(&self) -> bool {
        match self {
            Self::PortDesc { more, .. }
            | Self::Flow { more, .. }
            | Self::Table { more, .. }
            | Self::Port { more, .. }
            | Self::Queue { more, .. }
            | Self::Group { more, .. }
            | Self::GroupDesc { more, .. }
            | Self::Meter { more, .. }
            | Self::MeterConfig { more, .. }
            | Self::TableFeatures { more, .. } => *more,
            Self::Desc(_) | Self::Aggregate { .. } | Self::GroupFeatures(_) | Self::MeterFeatures(_) => false,
        }
    }
}

/// Queue id meaning "all queues" (OFPQ_ALL).
pub const QUEUE_ALL: u32 = 0xffff_ffff;
/// Meter id meaning "all meters" (OFPM_ALL).
pub const METER_ALL: u32 = 0xffff_ffff;

/// Body of a flow or aggregate stats request (OpenFlow 1.0, 1.3 and Nicira share it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowStatsRequest {
    /// Table to read, `flowtable::flow_mod::TABLE_ALL` (0xff) for all.
    pub table_id: u8,
    /// Only flows that output to this port (`PortNo::NONE`: any).
    pub out_port: PortNo,
    /// Only flows that output to this group (`GROUP_ANY`: any; 1.3 only).
    pub out_group: u32,
    /// Only flows whose cookie equals `cookie` in the bits of `cookie_mask` (1.3 only).
    pub cookie: u64,
    /// Cookie bits to compare (0: any cookie).
    pub cookie_mask: u64,
    /// Only flows that this (non-strict) match covers.
    pub match_: Match,
    /// Nicira NXST_FLOW / NXST_AGGREGATE (NXM match) rather than the standard request.
    pub nx: bool,
}

impl Default for FlowStatsRequest {
    fn default() -> Self {
        FlowStatsRequest {
            table_id: flowtable::flow_mod::TABLE_ALL,
            out_port: PortNo::NONE,
            out_group: flowtable::flow_mod::GROUP_ANY,
            cookie: 0,
            cookie_mask: 0,
            match_: Match::ANY,
            nx: false,
        }
    }
}

/// One flow in a flow stats reply (`ofp_flow_stats` 1.0/1.3, `nx_flow_stats`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowStats {
    /// Table the flow is in.
    pub table_id: u8,
    /// Seconds the flow has lived.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Priority.
    pub priority: u16,
    /// Idle timeout (seconds, 0: none).
    pub idle_timeout: u16,
    /// Hard timeout (seconds, 0: none).
    pub hard_timeout: u16,
    /// OFPFF_* flags (OpenFlow 1.3 only; 0 elsewhere).
    pub flags: u16,
    /// Cookie.
    pub cookie: u64,
    /// Packets matched.
    pub packet_count: u64,
    /// Bytes matched.
    pub byte_count: u64,
    /// Seconds since the flow last matched (Nicira only; `None`: unknown).
    pub idle_age: Option<u16>,
    /// Seconds since the flow was added or modified (Nicira only; `None`: unknown).
    pub hard_age: Option<u16>,
    /// The flow's match.
    pub match_: Match,
    /// Actions (1.3: instructions inline, as in `FlowMod`).
    pub actions: Vec<flowtable::Action>,
}

/// Aggregate stats reply body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AggregateStats {
    /// Packets matched by the selected flows.
    pub packet_count: u64,
    /// Bytes matched by the selected flows.
    pub byte_count: u64,
    /// Number of flows selected.
    pub flow_count: u32,
}

/// One table in a table stats reply (1.0 `ofp_table_stats` is 64 bytes with name, wildcards and
/// max_entries; 1.3's is 24 bytes without them: they decode as empty/0 and are not sent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableStats {
    /// Table id.
    pub table_id: u8,
    /// Name (1.0 only, < 32 bytes).
    pub name: String,
    /// OFPFW10_* wildcards the table supports (1.0 only).
    pub wildcards: u32,
    /// Maximum flows (1.0 only).
    pub max_entries: u32,
    /// Flows in the table.
    pub active_count: u32,
    /// Packets looked up.
    pub lookup_count: u64,
    /// Packets that hit.
    pub matched_count: u64,
}

/// One port in a port stats reply (`ofp_port_stats`; durations are 1.3 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortStats {
    /// Port.
    pub port_no: PortNo,
    /// Received packets.
    pub rx_packets: u64,
    /// Transmitted packets.
    pub tx_packets: u64,
    /// Received bytes.
    pub rx_bytes: u64,
    /// Transmitted bytes.
    pub tx_bytes: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Transmit drops.
    pub tx_dropped: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Frame alignment errors.
    pub rx_frame_err: u64,
    /// Receive overruns.
    pub rx_over_err: u64,
    /// CRC errors.
    pub rx_crc_err: u64,
    /// Collisions.
    pub collisions: u64,
    /// Seconds the port has existed (1.3 only).
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec` (1.3 only).
    pub duration_nsec: u32,
}

/// One queue in a queue stats reply (durations are 1.3 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Port.
    pub port_no: PortNo,
    /// Queue id.
    pub queue_id: u32,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Packets dropped.
    pub tx_errors: u64,
    /// Seconds the queue has existed (1.3 only).
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec` (1.3 only).
    pub duration_nsec: u32,
}

/// One group in a group stats reply (`ofp_group_stats`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupStats {
    /// Group id.
    pub group_id: u32,
    /// Flows and groups that refer to this group.
    pub ref_count: u32,
    /// Packets processed.
    pub packet_count: u64,
    /// Bytes processed.
    pub byte_count: u64,
    /// Seconds the group has existed.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Per bucket `(packet_count, byte_count)`, in bucket order.
    pub buckets: Vec<(u64, u64)>,
}

/// One group in a group description reply (`ofp_group_desc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDesc {
    /// Group type.
    pub group_type: flowtable::flow_mod::GroupType,
    /// Group id.
    pub group_id: u32,
    /// Buckets (bucket ids are not carried by 1.3 and decode as 0, 1, 2, ...).
    pub buckets: Vec<flowtable::flow_mod::Bucket>,
}

/// Group features reply body (`ofp_group_features`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupFeatures {
    /// Bitmap of OFPGT_* types supported.
    pub types: u32,
    /// OFPGFC_* capability bits.
    pub capabilities: u32,
    /// Maximum groups per type (all, select, indirect, fast failover).
    pub max_groups: [u32; 4],
    /// Bitmaps of OFPAT_* actions supported per type.
    pub actions: [u32; 4],
}

/// What a meter band does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeterBandType {
    /// OFPMBT_DROP.
    Drop,
    /// OFPMBT_DSCP_REMARK: raise the drop precedence by `prec_level`.
    DscpRemark {
        /// Precedence increase.
        prec_level: u8,
    },
    /// OFPMBT_EXPERIMENTER.
    Experimenter(u32),
}

/// One meter band (`ofp_meter_band_*`, 16 bytes each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterBand {
    /// What happens above the rate.
    pub band_type: MeterBandType,
    /// Rate in kb/s or packets/s (per the meter's flags).
    pub rate: u32,
    /// Burst size.
    pub burst_size: u32,
}

/// OFPMC_ADD.
pub const OFPMC_ADD: u16 = 0;
/// OFPMC_MODIFY.
pub const OFPMC_MODIFY: u16 = 1;
/// OFPMC_DELETE.
pub const OFPMC_DELETE: u16 = 2;

/// Body of OFPT_METER_MOD (1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterMod {
    /// OFPMC_ADD, OFPMC_MODIFY or OFPMC_DELETE.
    pub command: u16,
    /// OFPMF_* flags (KBPS 1, PKTPS 2, BURST 4, STATS 8).
    pub flags: u16,
    /// Meter id.
    pub meter_id: u32,
    /// Bands.
    pub bands: Vec<MeterBand>,
}

/// One meter in a meter config reply (`ofp_meter_config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterConfig {
    /// OFPMF_* flags.
    pub flags: u16,
    /// Meter id.
    pub meter_id: u32,
    /// Bands.
    pub bands: Vec<MeterBand>,
}

/// One meter in a meter stats reply (`ofp_meter_stats`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeterStats {
    /// Meter id.
    pub meter_id: u32,
    /// Flows using the meter.
    pub flow_count: u32,
    /// Packets in.
    pub packet_in_count: u64,
    /// Bytes in.
    pub byte_in_count: u64,
    /// Seconds the meter has existed.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Per band `(packet_band_count, byte_band_count)`.
    pub bands: Vec<(u64, u64)>,
}

/// Meter features reply body (`ofp_meter_features`); all zero says "no meters".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MeterFeatures {
    /// Maximum number of meters.
    pub max_meter: u32,
    /// Bitmap of OFPMBT_* band types supported.
    pub band_types: u32,
    /// OFPMF_* capability bits.
    pub capabilities: u32,
    /// Maximum bands per meter.
    pub max_bands: u8,
    /// Maximum color value.
    pub max_color: u8,
}

/// One table in a table features request or reply (`ofp_table_features`). Properties are
/// kept as `(type, body)` pairs, body without the 4-byte property header and padding; see
/// the `OFPTFPT_*` constants in `crate::codec::stats` to build them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableFeatures {
    /// Table id.
    pub table_id: u8,
    /// Name (< 32 bytes).
    pub name: String,
    /// Metadata bits the table can match.
    pub metadata_match: u64,
    /// Metadata bits the table can write.
    pub metadata_write: u64,
    /// OFPTC_* bits.
    pub config: u32,
    /// Maximum flows.
    pub max_entries: u32,
    /// `(OFPTFPT_* type, property body)`.
    pub properties: Vec<(u16, Vec<u8>)>,
}

/// Body of NXT_PACKET_IN2: a packet-in with the properties Open vSwitch's `ovs-ofctl monitor`
/// shows (packet, total_len, buffer_id, metadata match, reason, table_id, cookie, userdata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketIn2 {
    /// The packet-in fields (`total_len` 0 ... the packet length means "whole packet").
    pub packet_in: PacketIn,
    /// `controller(userdata=...)` bytes (empty: none).
    pub userdata: Vec<u8>,
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
