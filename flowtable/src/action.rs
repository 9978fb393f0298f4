//! OpenFlow actions and instructions, version-independent (Open vSwitch's "ofpacts").
//!
//! A rule's actions are one ordered list, as ovs-ofctl writes them: plain actions form the
//! implicit apply-actions instruction, and the instruction variants ([`Action::WriteActions`],
//! [`Action::ClearActions`], [`Action::WriteMetadata`], [`Action::Meter`], [`Action::GotoTable`])
//! stand in OpenFlow 1.3's instruction order. The codecs in `ofagent` convert this to and from
//! OpenFlow 1.0 actions, OpenFlow 1.3 instructions and Nicira extension actions.

use crate::field::{Field, SubField};
use crate::port::PortNo;

/// Why a packet is sent to the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PacketInReason {
    /// No matching flow (table-miss).
    NoMatch,
    /// An explicit `controller` action.
    #[default]
    Action,
    /// Invalid TTL (from `dec_ttl`).
    InvalidTtl,
}

/// The `controller(...)` action's parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ControllerAction {
    /// Bytes of the packet to send (65535: all).
    pub max_len: u16,
    /// Reason given in the packet-in.
    pub reason: PacketInReason,
    /// Controller connection id (0: all controllers).
    pub controller_id: u16,
    /// Opaque data echoed back in `NXT_PACKET_IN2`.
    pub userdata: Vec<u8>,
    /// Whether the packet is paused for continuation (`pause`); we record but do not pause.
    pub pause: bool,
}

impl Default for ControllerAction {
    fn default() -> Self {
        ControllerAction {
            max_len: 65535,
            reason: PacketInReason::Action,
            controller_id: 0,
            userdata: Vec::new(),
            pause: false,
        }
    }
}

/// Source of a `learn` field specification.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LearnSrc {
    /// Bits copied from the packet being processed.
    Field(SubField),
    /// An immediate value (right-aligned to the destination's width).
    Imm(u128),
}

/// One field specification of a `learn` action.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LearnSpec {
    /// The learned flow matches `dst` against `src` (`NXM_OF_VLAN_TCI[0..11]`,
    /// `NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[]`, `dl_type=0x800`).
    Match {
        /// Field (range) of the learned flow's match.
        dst: SubField,
        /// Where its value comes from.
        src: LearnSrc,
    },
    /// The learned flow's actions load `src` into `dst` (`load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[]`).
    Load {
        /// Destination field range written by the learned flow.
        dst: SubField,
        /// Value written.
        src: LearnSrc,
    },
    /// The learned flow outputs to the port found in `src` (`output:NXM_OF_IN_PORT[]`).
    Output {
        /// Field holding the port number.
        src: SubField,
    },
}

/// The Nicira `learn` action: adds or refreshes a flow built from the current packet.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Learn {
    /// Table the learned flow goes to.
    pub table_id: u8,
    /// Priority of the learned flow.
    pub priority: u16,
    /// Idle timeout in seconds (0: none).
    pub idle_timeout: u16,
    /// Hard timeout in seconds (0: none).
    pub hard_timeout: u16,
    /// `fin_idle_timeout`.
    pub fin_idle_timeout: u16,
    /// `fin_hard_timeout`.
    pub fin_hard_timeout: u16,
    /// Cookie of the learned flow.
    pub cookie: u64,
    /// Flow-mod flags of the learned flow (`send_flow_rem` and so on).
    pub flags: u16,
    /// `delete_learned`: delete learned flows when this rule goes.
    pub delete_learned: bool,
    /// The field specifications.
    pub specs: Vec<LearnSpec>,
}

/// One OpenFlow action or instruction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Output to a port (including reserved ports such as NORMAL, FLOOD, ALL, LOCAL, IN_PORT).
    Output {
        /// Port to send to.
        port: PortNo,
        /// Bytes sent to the controller when `port` is CONTROLLER.
        max_len: u16,
    },
    /// Output to the port number held in a field (`output:NXM_NX_REG0[]`).
    OutputReg {
        /// Field range holding the port.
        src: SubField,
        /// Bytes to the controller when the port is CONTROLLER.
        max_len: u16,
    },
    /// Send to the controller (packet-in).
    Controller(ControllerAction),
    /// Process through a group.
    Group(u32),
    /// Enqueue on a port's queue (treated as output; queues are not modelled).
    Enqueue {
        /// Port.
        port: PortNo,
        /// Queue id.
        queue: u32,
    },
    /// Set the queue id for later outputs (recorded, not modelled).
    SetQueue(u32),
    /// Write (bits of) a field: OpenFlow `set_field`, Nicira `load`, `mod_dl_src`, `mod_nw_dst`, ...
    SetField {
        /// Field to write.
        field: Field,
        /// New value, already masked.
        value: u128,
        /// Bits written.
        mask: u128,
    },
    /// Copy a field range into another (`move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]`).
    RegMove {
        /// Source bits.
        src: SubField,
        /// Destination bits (same width).
        dst: SubField,
    },
    /// Push a VLAN header (the new tag copies the old outer tag's TCI, or 0 if none).
    PushVlan(u16),
    /// Pop the outer VLAN header (`strip_vlan`, `pop_vlan`).
    PopVlan,
    /// OpenFlow 1.0 `mod_vlan_vid`: set the VID, pushing a tag first if there is none.
    SetVlanVid(u16),
    /// OpenFlow 1.0 `mod_vlan_pcp`: set the PCP, pushing a tag first if there is none.
    SetVlanPcp(u8),
    /// Decrement the IP TTL; at 0 or 1 the packet goes to the controller with `InvalidTtl`.
    DecTtl,
    /// Set the IP TTL.
    SetTtl(u8),
    /// Set the tunnel id (`set_tunnel`, `set_tunnel64`).
    SetTunnel(u64),
    /// Re-run the pipeline from a table with an optionally replaced in_port.
    Resubmit {
        /// Port to pretend the packet came in on (`None`: unchanged).
        port: Option<PortNo>,
        /// Table to look up (`None`: the current table).
        table: Option<u8>,
    },
    /// Add or refresh a flow built from this packet.
    Learn(Box<Learn>),
    /// An opaque note (no effect on the packet).
    Note(Vec<u8>),
    /// Instruction: add actions to the action set.
    WriteActions(Vec<Action>),
    /// Instruction: empty the action set.
    ClearActions,
    /// Instruction: write (bits of) the metadata register.
    WriteMetadata {
        /// New value, already masked.
        value: u64,
        /// Bits written.
        mask: u64,
    },
    /// Instruction: apply a meter (recorded; meters do not drop here).
    Meter(u32),
    /// Instruction: continue in a later table.
    GotoTable(u8),
}

impl Action {
    /// Whether this variant is an OpenFlow 1.3 instruction rather than an apply-action.
    pub fn is_instruction(&self) -> bool {
        matches!(
            self,
            Action::WriteActions(_)
                | Action::ClearActions
                | Action::WriteMetadata { .. }
                | Action::Meter(_)
                | Action::GotoTable(_)
        )
    }

    /// Whether the action outputs to `port` (for the `out_port` filter of flow_mods and stats).
    pub fn outputs_to(&self, port: PortNo) -> bool {
        match self {
            Action::Output { port: p, .. } | Action::Enqueue { port: p, .. } => *p == port,
            Action::Controller(_) => port == PortNo::CONTROLLER,
            Action::WriteActions(inner) => inner.iter().any(|a| a.outputs_to(port)),
            _ => false,
        }
    }

    /// Whether the action sends to `group` (for the `out_group` filter).
    pub fn outputs_to_group(&self, group: u32) -> bool {
        match self {
            Action::Group(g) => *g == group,
            Action::WriteActions(inner) => inner.iter().any(|a| a.outputs_to_group(group)),
            _ => false,
        }
    }
}

/// Order in which OpenFlow 1.3 executes an action set (section 5.10), lowest first.
pub fn action_set_order(a: &Action) -> u8 {
    match a {
        Action::PopVlan => 2,
        Action::PushVlan(_) => 4,
        Action::DecTtl | Action::SetTtl(_) => 5,
        Action::SetField { .. }
        | Action::SetVlanVid(_)
        | Action::SetVlanPcp(_)
        | Action::SetTunnel(_)
        | Action::RegMove { .. } => 6,
        Action::SetQueue(_) => 7,
        Action::Group(_) => 8,
        Action::Output { .. } | Action::OutputReg { .. } | Action::Controller(_) | Action::Enqueue { .. } => 9,
        _ => 6,
    }
}
