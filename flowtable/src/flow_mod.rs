//! Flow and group modification requests, version-independent.
//!
//! These are what the OpenFlow codecs decode `OFPT_FLOW_MOD`, `NXT_FLOW_MOD` and
//! `OFPT_GROUP_MOD` into, what the flow-syntax parser produces for `ovs-ofctl add-flow`
//! and what `learn` actions generate. [`crate::pipeline::Pipeline`] applies them.

use crate::action::Action;
use crate::flow_match::Match;
use crate::port::PortNo;

/// Flow-mod flags (OpenFlow 1.3 `ofp_flow_mod_flags`).
pub mod flags {
    /// Send a flow-removed message when the flow expires or is deleted.
    pub const SEND_FLOW_REM: u16 = 1 << 0;
    /// Refuse to add a flow that overlaps one of the same priority.
    pub const CHECK_OVERLAP: u16 = 1 << 1;
    /// Reset the counters of modified flows.
    pub const RESET_COUNTS: u16 = 1 << 2;
    /// Do not keep packet counts.
    pub const NO_PKT_COUNTS: u16 = 1 << 3;
    /// Do not keep byte counts.
    pub const NO_BYT_COUNTS: u16 = 1 << 4;
}

/// Table id meaning "every table" in delete requests and stats.
pub const TABLE_ALL: u8 = 0xff;
/// Group id meaning "any group" in `out_group` filters.
pub const GROUP_ANY: u32 = 0xffff_ffff;

/// What a flow-mod does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowModCommand {
    /// Add a flow (replacing an identical one).
    Add,
    /// Modify the actions of every flow the match covers.
    Modify,
    /// Modify the flow with exactly this match and priority.
    ModifyStrict,
    /// Delete every flow the match covers.
    Delete,
    /// Delete the flow with exactly this match and priority.
    DeleteStrict,
}

/// A flow modification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowMod {
    /// Command.
    pub command: FlowModCommand,
    /// Table (`TABLE_ALL` allowed for deletes and, as Open vSwitch allows, modifies).
    pub table_id: u8,
    /// Match.
    pub match_: Match,
    /// Priority (used by add and the strict commands).
    pub priority: u16,
    /// Cookie to set on added flows; filter value for modify/delete.
    pub cookie: u64,
    /// Bits of `cookie` to compare for modify/delete (0: no cookie filter).
    pub cookie_mask: u64,
    /// New cookie for modified flows (Open vSwitch: a modify with no cookie mask sets it).
    pub new_cookie: Option<u64>,
    /// Idle timeout in seconds (0: none).
    pub idle_timeout: u16,
    /// Hard timeout in seconds (0: none).
    pub hard_timeout: u16,
    /// Eviction importance (OpenFlow 1.4; kept and reported).
    pub importance: u16,
    /// [`flags`] bits.
    pub flags: u16,
    /// Delete/modify only flows that output to this port (`PortNo::NONE`: no filter).
    pub out_port: PortNo,
    /// Delete/modify only flows that send to this group (`GROUP_ANY`: no filter).
    pub out_group: u32,
    /// Buffered packet to apply the new flow to (we never buffer: always `None`).
    pub buffer_id: Option<u32>,
    /// Actions and instructions.
    pub actions: Vec<Action>,
}

impl FlowMod {
    /// A request with the given command and match and OpenFlow's defaults elsewhere.
    pub fn new(command: FlowModCommand, match_: Match) -> Self {
        FlowMod {
            command,
            table_id: 0,
            match_,
            priority: 0x8000,
            cookie: 0,
            cookie_mask: 0,
            new_cookie: None,
            idle_timeout: 0,
            hard_timeout: 0,
            importance: 0,
            flags: 0,
            out_port: PortNo::NONE,
            out_group: GROUP_ANY,
            buffer_id: None,
            actions: Vec::new(),
        }
    }

    /// An add request.
    pub fn add(table_id: u8, priority: u16, match_: Match, actions: Vec<Action>) -> Self {
        FlowMod { table_id, priority, actions, ..FlowMod::new(FlowModCommand::Add, match_) }
    }
}

/// Group types (OpenFlow 1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupType {
    /// Every bucket.
    All,
    /// One bucket chosen by a hash of the flow.
    Select,
    /// The single bucket.
    Indirect,
    /// The first live bucket.
    FastFailover,
}

/// One group bucket.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Bucket {
    /// Weight for select groups.
    pub weight: u16,
    /// Port whose liveness gates the bucket (fast failover); `PortNo::NONE` if none.
    pub watch_port: PortNo,
    /// Group whose liveness gates the bucket; `GROUP_ANY` if none.
    pub watch_group: u32,
    /// Bucket id (OpenFlow 1.5 / Open vSwitch extension; assigned in order otherwise).
    pub bucket_id: u32,
    /// Actions (an action set: executed in set order).
    pub actions: Vec<Action>,
}

/// What a group-mod does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupModCommand {
    /// Add a new group.
    Add,
    /// Replace an existing group.
    Modify,
    /// Delete a group (`GROUP_ALL`: every group).
    Delete,
}

/// Group id meaning "all groups" in deletes and stats.
pub const GROUP_ALL: u32 = 0xffff_fffc;

/// A group modification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMod {
    /// Command.
    pub command: GroupModCommand,
    /// Group type.
    pub group_type: GroupType,
    /// Group id.
    pub group_id: u32,
    /// Buckets.
    pub buckets: Vec<Bucket>,
}
