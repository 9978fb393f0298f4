//! What translation needs to know about a bridge besides its rules: its ports (datapath port,
//! patch peer, VLAN configuration, OpenFlow port config bits) and its MAC learning table.

use crate::normal::MacTable;
use crate::odp::DpPort;
use crate::pipeline::Pipeline;
use crate::port::PortNo;
use std::collections::BTreeMap;

/// Open vSwitch's `vlan_mode` port column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum VlanMode {
    /// Untagged frames belong to `tag`; tagged frames are dropped. Output untagged.
    Access,
    /// Tagged frames of the trunked VLANs; untagged frames are VLAN 0.
    #[default]
    Trunk,
    /// Untagged frames belong to `tag`; output to `tag` stays tagged.
    NativeTagged,
    /// Untagged frames belong to `tag`; output to `tag` is untagged.
    NativeUntagged,
}

/// A port's VLAN configuration (`tag`, `trunks`, `vlan_mode` as in ovs-vsctl).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct VlanConfig {
    /// Mode (with `tag` set and no mode given, Open vSwitch means access).
    pub mode: VlanMode,
    /// Access / native VLAN.
    pub tag: Option<u16>,
    /// Trunked VLANs; empty means all.
    pub trunks: Vec<u16>,
}

impl VlanConfig {
    /// An access port of `tag`.
    pub fn access(tag: u16) -> Self {
        VlanConfig { mode: VlanMode::Access, tag: Some(tag), trunks: Vec::new() }
    }

    /// Whether the port carries `vlan` tagged (as a trunk).
    pub fn trunks_vlan(&self, vlan: u16) -> bool {
        match self.mode {
            VlanMode::Access => false,
            _ => self.trunks.is_empty() || self.trunks.contains(&vlan),
        }
    }

    /// The VLAN a frame arriving with `vid` (`None`: untagged, or priority-tagged) belongs to,
    /// or `None` if the port must drop it.
    pub fn input_vlan(&self, vid: Option<u16>) -> Option<u16> {
        match (self.mode, vid) {
            (VlanMode::Access, None) => Some(self.tag.unwrap_or(0)),
            (VlanMode::Access, Some(_)) => None,
            (VlanMode::Trunk, None) => self.trunks_vlan(0).then_some(0),
            (VlanMode::NativeTagged | VlanMode::NativeUntagged, None) => Some(self.tag.unwrap_or(0)),
            (_, Some(v)) => self.trunks_vlan(v).then_some(v),
        }
    }

    /// How a frame of `vlan` leaves this port: `None` if it may not, `Some(None)` untagged,
    /// `Some(Some(vid))` tagged.
    pub fn output_tag(&self, vlan: u16) -> Option<Option<u16>> {
        match self.mode {
            VlanMode::Access => (self.tag.unwrap_or(0) == vlan).then_some(None),
            VlanMode::NativeUntagged if self.tag == Some(vlan) => Some(None),
            VlanMode::NativeTagged if self.tag == Some(vlan) => Some(Some(vlan)),
            _ if self.trunks_vlan(vlan) => Some(if vlan == 0 { None } else { Some(vlan) }),
            _ => None,
        }
    }
}

/// A port of a bridge, as translation sees it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PortInfo {
    /// Interface name (`ovs-ofctl show` prints it).
    pub name: String,
    /// Datapath port to transmit on; `None` for patch ports.
    pub dp_port: Option<DpPort>,
    /// For patch ports: the peer's bridge index and OpenFlow port.
    pub patch_peer: Option<(usize, PortNo)>,
    /// VLAN configuration used by NORMAL.
    pub vlan: VlanConfig,
    /// OpenFlow `OFPPC_NO_FLOOD`.
    pub no_flood: bool,
    /// OpenFlow `OFPPC_NO_FWD`: drop packets sent to it.
    pub no_fwd: bool,
    /// OpenFlow `OFPPC_PORT_DOWN` or link down: not live for fast-failover and flooding.
    pub down: bool,
    /// For tunnel (gre) ports: the tunnel's configuration; output encapsulates natively.
    pub tunnel: Option<crate::tunnel::TunnelConfig>,
}

/// A bridge: rules, ports and MAC table.
#[derive(Clone, Debug, Default)]
pub struct Bridge {
    /// Name (also the name of its LOCAL port).
    pub name: String,
    /// OpenFlow tables and groups.
    pub pipeline: Pipeline,
    /// Ports by OpenFlow number (LOCAL included).
    pub ports: BTreeMap<PortNo, PortInfo>,
    /// NORMAL's MAC learning table.
    pub macs: MacTable,
    /// Whether table-miss sends packet-ins (an OpenFlow 1.0 controller is connected and wants them).
    pub miss_to_controller: bool,
}

impl Bridge {
    /// An empty bridge.
    pub fn new(name: &str) -> Self {
        Bridge { name: name.to_owned(), ..Bridge::default() }
    }
}
