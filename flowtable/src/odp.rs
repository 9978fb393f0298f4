//! Datapath actions: what a cached megaflow does to a packet.
//!
//! Translation ([`crate::xlate`]) turns the OpenFlow pipeline's verdict for a packet into a
//! short list of these, the way Open vSwitch's ofproto-dpif-xlate emits ODP actions: header
//! changes are "committed" as masked sets just before the output that needs them, VLAN changes
//! as push/pop, and every reserved port (NORMAL, FLOOD, patch peers) is resolved to concrete
//! datapath ports. Executing the list needs nothing but the frame.

use crate::action::PacketInReason;
use crate::field::Field;
use smallvec::SmallVec;

/// A datapath port: unique across every bridge of one switch (OpenFlow port numbers are
/// per bridge; patch ports never appear here because xlate follows them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DpPort(pub u32);

/// A packet-in produced by the pipeline, carried in the megaflow so that cached packets
/// reach the controller exactly as uncached ones do.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PacketIn {
    /// Bridge (index into the switch's bridges) whose controllers get it.
    pub bridge: usize,
    /// Reason.
    pub reason: PacketInReason,
    /// Table the rule sending it was in.
    pub table_id: u8,
    /// Cookie of that rule (all-ones for table-miss, as OpenFlow 1.3 says).
    pub cookie: u64,
    /// Bytes of the packet to include.
    pub max_len: u16,
    /// Controller connection id (0: all).
    pub controller_id: u16,
    /// Userdata for `NXT_PACKET_IN2`.
    pub userdata: Vec<u8>,
    /// OpenFlow in_port and other pipeline metadata to report: (field, value) pairs.
    pub metadata: Vec<(Field, u128)>,
}

/// One datapath action.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DpAction {
    /// Transmit a copy of the packet, as it is now, on a port.
    Output(DpPort),
    /// Push an 802.1Q/802.1ad tag.
    PushVlan {
        /// TPID (0x8100 or 0x88a8).
        tpid: u16,
        /// TCI to put in the tag (CFI bit cleared on the wire).
        tci: u16,
    },
    /// Remove the outer VLAN tag.
    PopVlan,
    /// Rewrite header bits: `field`'s bits under `mask` become `value` (checksums updated).
    SetMasked {
        /// Header field (Ethernet, IP, L4, ARP, ND).
        field: Field,
        /// New value, already masked.
        value: u128,
        /// Bits changed.
        mask: u128,
    },
    /// Hand the packet, as it is now, to the controller.
    Userspace(Box<PacketIn>),
    /// Encapsulate a copy of the packet and run `actions` on it (Open vSwitch's
    /// `clone(tnl_push(...),...)`); the packet itself is unchanged for later actions.
    TunnelPush(Box<TunnelPush>),
    /// Strip the outer Ethernet/IPv4/GRE headers and run the inner frame through the datapath
    /// again (recirculation), entering on the tunnel port its metadata selects.
    TunnelPop,
    /// Send a frame made by translation (an ARP request for a tunnel's next hop), running
    /// `actions` on it; the packet itself is untouched.
    Emit(Box<Emit>),
}

/// The encapsulation of [`DpAction::TunnelPush`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TunnelPush {
    /// The tunnel port's datapath port (for display, as OVS's `tnl_port`).
    pub tnl_port: DpPort,
    /// Outer Ethernet + IPv4 + GRE header (lengths and checksums filled per packet).
    pub header: Vec<u8>,
    /// The underlay device the tunnel is routed by (OVS's `out_port`, for display).
    pub out_port: DpPort,
    /// Actions for the encapsulated packet (from the underlay bridge).
    pub actions: Vec<DpAction>,
}

/// A frame produced by translation, with what to do with it ([`DpAction::Emit`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Emit {
    /// The frame.
    pub frame: Vec<u8>,
    /// Its actions.
    pub actions: Vec<DpAction>,
}

/// The datapath actions of one megaflow (most have one or two).
pub type DpActions = SmallVec<[DpAction; 4]>;
