//! The NORMAL action: a VLAN-aware learning L2 switch, as Open vSwitch's `xlate_normal`.
//!
//! Input VLAN from the port's `tag`/`trunks`/`vlan_mode`, learning of (VLAN, source MAC) ->
//! port (returned as a side effect, applied by the caller), forwarding to the learned port or
//! flooding within the VLAN, each output tagged or untagged as the output port wants.
//! Entries age out after [`MAC_AGING_MS`]; the table is bounded at [`MAC_MAX_ENTRIES`].

use crate::field::{Field, VLAN_CFI, VLAN_VID_MASK};
use crate::port::PortNo;
use crate::rule::Millis;
use crate::xlate::{Ctx, SideEffect};
use std::collections::HashMap;

/// Default MAC aging time (Open vSwitch: 300 s).
pub const MAC_AGING_MS: Millis = 300_000;
/// Default MAC table size limit (Open vSwitch: 8192).
pub const MAC_MAX_ENTRIES: usize = 8192;

/// One learned MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacEntry {
    /// Port it was last seen on.
    pub port: PortNo,
    /// When.
    pub seen: Millis,
}

/// NORMAL's forwarding database.
#[derive(Clone, Debug, Default)]
pub struct MacTable {
    entries: HashMap<(u16, u64), MacEntry>,
}

impl MacTable {
    /// Port learned for `mac` on `vlan`, if fresh at `now`.
    pub fn lookup(&self, vlan: u16, mac: u64, now: Millis) -> Option<PortNo> {
        self.entries.get(&(vlan, mac)).filter(|e| now < e.seen + MAC_AGING_MS).map(|e| e.port)
    }

    /// Learns `mac` on `vlan` at `port`; returns whether forwarding changed (a new or moved
    /// entry), in which case cached megaflows must be revalidated.
    pub fn learn(&mut self, vlan: u16, mac: u64, port: PortNo, now: Millis) -> bool {
        if self.entries.len() >= MAC_MAX_ENTRIES && !self.entries.contains_key(&(vlan, mac)) {
            self.expire(now);
            if self.entries.len() >= MAC_MAX_ENTRIES {
                // Evict the oldest entry, as Open vSwitch's LRU does.
                if let Some(oldest) = self.entries.iter().min_by_key(|(_, e)| e.seen).map(|(k, _)| *k) {
                    self.entries.remove(&oldest);
                }
            }
        }
        let old = self.entries.insert((vlan, mac), MacEntry { port, seen: now });
        old.is_none_or(|o| o.port != port || now >= o.seen + MAC_AGING_MS)
    }

    /// Drops entries older than the aging time; returns how many.
    pub fn expire(&mut self, now: Millis) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, e| now < e.seen + MAC_AGING_MS);
        before - self.entries.len()
    }

    /// Forgets every entry on `port` (port deleted).
    pub fn flush_port(&mut self, port: PortNo) {
        self.entries.retain(|_, e| e.port != port);
    }

    /// Every entry: ((vlan, mac), entry), for `fdb/show`.
    pub fn entries(&self) -> impl Iterator<Item = (&(u16, u64), &MacEntry)> {
        self.entries.iter()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn is_multicast(mac: u64) -> bool {
    mac & (1 << 40) != 0
}

impl Ctx<'_> {
    /// Executes the NORMAL action for the current packet.
    pub(crate) fn normal(&mut self) {
        let in_port = PortNo(self.read(Field::InPort) as u16);
        let bridge = self.bridge();
        let Some(port) = bridge.ports.get(&in_port) else {
            return;
        };
        let tci = self.read(Field::VlanTci) as u16;
        let vid = (tci & VLAN_CFI != 0 && tci & VLAN_VID_MASK != 0).then_some(tci & VLAN_VID_MASK);
        let Some(vlan) = port.vlan.input_vlan(vid) else {
            return;
        };
        let src = self.read(Field::EthSrc) as u64;
        let dst = self.read(Field::EthDst) as u64;
        if !is_multicast(src) {
            self.side_effect(SideEffect::MacLearn { bridge: self.bridge_idx, vlan, mac: src, port: in_port });
        }
        let learned = if is_multicast(dst) { None } else { bridge.macs.lookup(vlan, dst, self.now) };
        // As Open vSwitch's xlate_normal explains itself in ofproto/trace.
        self.trace(|| match learned {
            Some(p) if p == in_port => format!("-> learned port is input port, dropping (VLAN {vlan})"),
            Some(p) => {
                let name = bridge.ports.get(&p).map_or_else(|| p.to_string(), |info| info.name.clone());
                format!("-> forwarding to learned port {name} (VLAN {vlan})")
            }
            None => format!("-> no learned MAC for destination, flooding (VLAN {vlan})"),
        });
        let targets: Vec<PortNo> = match learned {
            Some(p) if p == in_port => Vec::new(),
            Some(p) => vec![p],
            None => bridge
                .ports
                .iter()
                .filter(|(no, info)| **no != in_port && !info.no_flood && !info.down)
                .map(|(no, _)| *no)
                .collect(),
        };
        let pcp_bits = tci & !(VLAN_CFI | VLAN_VID_MASK);
        for out in targets {
            let Some(tag) = self.bridge().ports.get(&out).and_then(|p| p.vlan.output_tag(vlan)) else {
                continue;
            };
            let saved = self.save_vlan();
            let new_tci = tag.map_or(0, |vid| VLAN_CFI | vid | pcp_bits);
            self.write_vlan_tci(new_tci);
            self.output_port(out, false);
            self.restore_vlan(saved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learn_age_and_move() {
        let mut t = MacTable::default();
        assert!(t.learn(1, 0xaa, PortNo(1), 0));
        assert!(!t.learn(1, 0xaa, PortNo(1), 10));
        assert_eq!(t.lookup(1, 0xaa, 20), Some(PortNo(1)));
        assert_eq!(t.lookup(2, 0xaa, 20), None, "VLANs are separate");
        assert!(t.learn(1, 0xaa, PortNo(2), 30), "moved");
        assert_eq!(t.lookup(1, 0xaa, 30 + MAC_AGING_MS), None, "aged");
        assert_eq!(t.expire(30 + MAC_AGING_MS), 1);
    }
}
