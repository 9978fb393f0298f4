//! The in-kernel fast path's maps, as Rust sees them: the header key ([`FlowKeyXdp`]), a
//! megaflow's key under its mask ([`MaskedKeyXdp`]), the mask slots ([`MaskXdp`]), the entry
//! ([`FlowActionsXdp`]: actions, generation stamp, counters) and the generation handle
//! ([`Generation`]) that retires every entry of a port at once.
//!
//! The layouts mirror the structs of `bpf/xdp_steer.c`; the tests check the sizes, and
//! [`FlowKeyXdp::parse`] and [`TnlKeyXdp::parse`] mirror the C parsers (the daemon computes an
//! entry's key from the frame that hit the megaflow, the program from each later frame). GRE:
//! [`FlowActionsXdp`] can carry an encapsulation header ([`ACT_TUNNEL_PUSH`], completed per
//! frame as [`FlowActionsXdp::tunnel_push`] shows), and [`TnlKeyXdp`] keys decapsulation entries.

use aya::maps::{Array, HashMap, Map, MapData};
use std::os::fd::AsFd;

/// `ACT_POP_VLAN`: remove the outer 802.1Q tag first.
pub const ACT_POP_VLAN: u32 = 1;
/// `ACT_PUSH_VLAN`: then push a tag (`push_tpid`, `push_tci`).
pub const ACT_PUSH_VLAN: u32 = 2;
/// `ACT_SET_ETH_SRC`: then rewrite the Ethernet source.
pub const ACT_SET_ETH_SRC: u32 = 4;
/// `ACT_SET_ETH_DST`: then rewrite the Ethernet destination.
pub const ACT_SET_ETH_DST: u32 = 8;
/// `ACT_OUTPUT`: then redirect to `out_ifindex` (without it: drop).
pub const ACT_OUTPUT: u32 = 16;
/// `ACT_TUNNEL_PUSH` (with `ACT_OUTPUT` only): prepend `tnl_header`, complete its outer IPv4
/// total length and checksum, then redirect; a frame that would exceed `tnl_max` goes to
/// userspace unchanged.
pub const ACT_TUNNEL_PUSH: u32 = 32;
/// Outer Ethernet + IPv4 + GRE header without the key field (`GRE_HLEN` in C).
pub const GRE_HLEN: usize = 38;
/// Outer Ethernet + IPv4 + GRE header with the key field (`GRE_KEY_HLEN` in C).
pub const GRE_KEY_HLEN: usize = 42;
/// Bytes of `tnl_header`.
pub const TNL_HEADER_MAX: usize = 48;

/// Entries the `flows` map of one port holds (`FERROVS_MAX_FLOWS` in C).
pub const MAX_FLOWS: u32 = 65536;
/// Mask slots of one port (`FERROVS_MAX_MASKS` in C).
pub const MAX_MASKS: u32 = 8;

/// The exact header key of a frame (network byte order where the frame has it).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlowKeyXdp {
    /// Ethernet destination.
    pub eth_dst: [u8; 6],
    /// Ethernet source.
    pub eth_src: [u8; 6],
    /// Ethertype after the VLAN tag, as on the wire.
    pub eth_type: [u8; 2],
    /// 0 untagged; else the tag's TCI with 0x1000 set, as on the wire.
    pub vlan_tci: [u8; 2],
    /// IPv4 source.
    pub nw_src: [u8; 4],
    /// IPv4 destination.
    pub nw_dst: [u8; 4],
    /// IP protocol.
    pub nw_proto: u8,
    /// TOS byte.
    pub nw_tos: u8,
    /// TTL.
    pub nw_ttl: u8,
    /// Zero.
    pub pad: u8,
    /// TCP/UDP/SCTP source port; ICMP type (as a 16-bit big-endian number).
    pub tp_src: [u8; 2],
    /// TCP/UDP/SCTP destination port; ICMP code.
    pub tp_dst: [u8; 2],
}

/// A megaflow's key in the `flows` map: its mask's id and the header key under that mask.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MaskedKeyXdp {
    /// Id of the mask ([`MaskXdp::id`]; not its slot: slots are reordered).
    pub mask_id: u32,
    /// Zero.
    pub pad: u32,
    /// The header key, masked.
    pub key: FlowKeyXdp,
}

/// A slot of the `masks` map (probed in slot order).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaskXdp {
    /// 1: the program tries this mask; 0: free.
    pub in_use: u32,
    /// The mask's id: the `mask_id` of its entries.
    pub id: u32,
    /// The mask (1 bits are significant).
    pub mask: FlowKeyXdp,
}

/// One entry: its generation stamp, counters and actions.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowActionsXdp {
    /// The generation it was installed in; the program ignores it once the port's differs.
    pub generation: u64,
    /// Packets the program forwarded with it.
    pub packets: u64,
    /// Their bytes (as received).
    pub bytes: u64,
    /// Where `ACT_OUTPUT` redirects.
    pub out_ifindex: u32,
    /// `ACT_*` bits.
    pub flags: u32,
    /// TPID to push, as on the wire.
    pub push_tpid: [u8; 2],
    /// TCI to push, as on the wire.
    pub push_tci: [u8; 2],
    /// New Ethernet source.
    pub eth_src: [u8; 6],
    /// New Ethernet destination.
    pub eth_dst: [u8; 6],
    /// `ACT_TUNNEL_PUSH`: header length ([`GRE_HLEN`] or [`GRE_KEY_HLEN`]).
    pub tnl_len: u16,
    /// `ACT_TUNNEL_PUSH`: the largest encapsulated frame the underlay port takes.
    pub tnl_max: u16,
    /// `ACT_TUNNEL_PUSH`: sum of the outer IPv4 header's 16-bit words, total length and
    /// checksum zero ([`ip_header_sum`]).
    pub tnl_sum: u32,
    /// `ACT_TUNNEL_PUSH`: the outer header (the first `tnl_len` bytes).
    pub tnl_header: [u8; TNL_HEADER_MAX],
    /// `flows` entries: the megaflow's mask; the program takes a hit only if the frame's key
    /// under it is the entry's key (see [`FlowActionsXdp::matches`]).
    pub mask: FlowKeyXdp,
}

impl Default for FlowActionsXdp {
    fn default() -> Self {
        FlowActionsXdp {
            generation: 0,
            packets: 0,
            bytes: 0,
            out_ifindex: 0,
            flags: 0,
            push_tpid: [0; 2],
            push_tci: [0; 2],
            eth_src: [0; 6],
            eth_dst: [0; 6],
            tnl_len: 0,
            tnl_max: 0,
            tnl_sum: 0,
            tnl_header: [0; TNL_HEADER_MAX],
            mask: FlowKeyXdp::default(),
        }
    }
}

/// The key of a decapsulation entry (`struct tnl_key`): the outer header key, the GRE key and
/// flags, and the inner frame's key.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TnlKeyXdp {
    /// The outer frame's key (untagged IPv4, protocol GRE).
    pub outer: FlowKeyXdp,
    /// GRE key as on the wire (zero without one).
    pub gre_key: [u8; 4],
    /// GRE flags as on the wire: the key flag or nothing.
    pub gre_flags: [u8; 2],
    /// Zero.
    pub pad: [u8; 2],
    /// The inner frame's key.
    pub inner: FlowKeyXdp,
}

// SAFETY: these are repr(C) structs of integers and byte arrays with no padding the
// compiler inserts (sizes checked in the tests against the C layout), so every bit pattern is
// valid.
unsafe impl aya::Pod for FlowKeyXdp {}
// SAFETY: as above.
unsafe impl aya::Pod for FlowActionsXdp {}
// SAFETY: as above.
unsafe impl aya::Pod for MaskedKeyXdp {}
// SAFETY: as above.
unsafe impl aya::Pod for MaskXdp {}
// SAFETY: as above.
unsafe impl aya::Pod for TnlKeyXdp {}

/// The sum [`FlowActionsXdp::tnl_sum`] holds: the outer IPv4 header's (bytes 14..34 of
/// `header`) 16-bit words with total length and checksum taken as zero; None if too short.
pub fn ip_header_sum(header: &[u8]) -> Option<u32> {
    let ip = header.get(14..34)?;
    Some(sum16(&ip[..2]) + sum16(&ip[4..10]) + sum16(&ip[12..]))
}

impl FlowActionsXdp {
    /// Whether the program takes this `flows` entry, found under `key`, for a frame with header
    /// key `frame`: the frame's key under the entry's own mask must be the entry's key (a torn
    /// read of a mask slot being rewritten can only make the frame miss).
    #[must_use]
    pub fn matches(&self, frame: &FlowKeyXdp, key: &MaskedKeyXdp) -> bool {
        frame.and(&self.mask) == key.key
    }

    /// What the program does with `frame` for an `ACT_TUNNEL_PUSH` entry: the encapsulated
    /// frame, or None where it hands the frame to userspace (too large for `tnl_max`, or a
    /// header length it does not take).
    pub fn tunnel_push(&self, frame: &[u8]) -> Option<Vec<u8>> {
        let hlen = usize::from(self.tnl_len);
        if !matches!(hlen, GRE_HLEN | GRE_KEY_HLEN) || frame.len() + hlen > usize::from(self.tnl_max) {
            return None;
        }
        let mut out = self.tnl_header[..hlen].to_vec();
        out.extend_from_slice(frame);
        let tot = u16::try_from(out.len() - 14).ok()?;
        out[16..18].copy_from_slice(&tot.to_be_bytes());
        out[24..26].copy_from_slice(&(!fold(self.tnl_sum + u32::from(tot))).to_be_bytes());
        Some(out)
    }
}

/// One's-complement sum of big-endian 16-bit words, folded.
fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

fn sum16(bytes: &[u8]) -> u32 {
    bytes.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum()
}

impl FlowKeyXdp {
    /// Its bytes.
    fn bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[..6].copy_from_slice(&self.eth_dst);
        b[6..12].copy_from_slice(&self.eth_src);
        b[12..14].copy_from_slice(&self.eth_type);
        b[14..16].copy_from_slice(&self.vlan_tci);
        b[16..20].copy_from_slice(&self.nw_src);
        b[20..24].copy_from_slice(&self.nw_dst);
        b[24] = self.nw_proto;
        b[25] = self.nw_tos;
        b[26] = self.nw_ttl;
        b[27] = self.pad;
        b[28..30].copy_from_slice(&self.tp_src);
        b[30..32].copy_from_slice(&self.tp_dst);
        b
    }

    fn from_bytes(b: &[u8; 32]) -> Self {
        let mut k = FlowKeyXdp::default();
        k.eth_dst.copy_from_slice(&b[..6]);
        k.eth_src.copy_from_slice(&b[6..12]);
        k.eth_type.copy_from_slice(&b[12..14]);
        k.vlan_tci.copy_from_slice(&b[14..16]);
        k.nw_src.copy_from_slice(&b[16..20]);
        k.nw_dst.copy_from_slice(&b[20..24]);
        (k.nw_proto, k.nw_tos, k.nw_ttl, k.pad) = (b[24], b[25], b[26], b[27]);
        k.tp_src.copy_from_slice(&b[28..30]);
        k.tp_dst.copy_from_slice(&b[30..32]);
        k
    }

    /// The key under `mask`, as the program computes it.
    #[must_use]
    pub fn and(&self, mask: &FlowKeyXdp) -> FlowKeyXdp {
        let (a, m) = (self.bytes(), mask.bytes());
        FlowKeyXdp::from_bytes(&std::array::from_fn(|i| a[i] & m[i]))
    }

    /// The key the XDP program computes for `frame`, or None where the program hands the frame
    /// to userspace (the same rules as the C parser).
    pub fn parse(frame: &[u8]) -> Option<FlowKeyXdp> {
        let mut k = FlowKeyXdp::default();
        let eth = frame.get(..14)?;
        k.eth_dst.copy_from_slice(&eth[..6]);
        k.eth_src.copy_from_slice(&eth[6..12]);
        let mut ty = u16::from_be_bytes([eth[12], eth[13]]);
        let mut l3 = 14;
        if matches!(ty, 0x8100 | 0x88a8) {
            let v = frame.get(14..18)?;
            k.vlan_tci = (u16::from_be_bytes([v[0], v[1]]) | 0x1000).to_be_bytes();
            ty = u16::from_be_bytes([v[2], v[3]]);
            l3 = 18;
            if matches!(ty, 0x8100 | 0x88a8) {
                return None;
            }
        }
        k.eth_type = ty.to_be_bytes();
        if ty < 0x0600 || matches!(ty, 0x0806 | 0x8035 | 0x86dd) {
            return None;
        }
        if ty != 0x0800 {
            return Some(k);
        }
        let ip = frame.get(l3..l3 + 20)?;
        if ip[0] != 0x45 {
            return None;
        }
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        if total < 20 || l3 + total > frame.len() || u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
            return None;
        }
        if fold(sum16(ip)) != 0xffff {
            return None;
        }
        k.nw_src.copy_from_slice(&ip[12..16]);
        k.nw_dst.copy_from_slice(&ip[16..20]);
        k.nw_proto = ip[9];
        k.nw_tos = ip[1];
        k.nw_ttl = ip[8];
        let l4_len = total - 20;
        let l4 = &frame[l3 + 20..l3 + total];
        let partial = fold(sum16(&ip[12..20]) + u32::from(ip[9]) + l4_len as u32);
        let ports = |k: &mut FlowKeyXdp| {
            k.tp_src = [l4[0], l4[1]];
            k.tp_dst = [l4[2], l4[3]];
        };
        match ip[9] {
            6 => {
                if l4_len < 20 {
                    return None;
                }
                let doff = usize::from(l4[12] >> 4) * 4;
                if doff < 20 || doff > l4_len || u16::from_be_bytes([l4[16], l4[17]]) == partial {
                    return None;
                }
                ports(&mut k);
            }
            17 => {
                if l4_len < 8 || u16::from_be_bytes([l4[6], l4[7]]) == partial {
                    return None;
                }
                ports(&mut k);
            }
            132 => {
                if l4_len < 12 {
                    return None;
                }
                ports(&mut k);
            }
            1 => {
                if l4_len < 4 {
                    return None;
                }
                k.tp_src = u16::from(l4[0]).to_be_bytes();
                k.tp_dst = u16::from(l4[1]).to_be_bytes();
            }
            _ => {}
        }
        Some(k)
    }
}

impl TnlKeyXdp {
    /// The key the program computes for a GRE `frame` it may decapsulate, with the outer
    /// header length it strips; None where it hands the frame to userspace (the same rules as
    /// the C `tunnel_pop`: untagged IPv4 without options or fragmentation, valid checksum, no
    /// Ethernet padding, GRE flags exactly key or none, protocol 0x6558, inner frame parsed).
    pub fn parse(frame: &[u8]) -> Option<(TnlKeyXdp, usize)> {
        let outer = FlowKeyXdp::parse(frame)?;
        if outer.nw_proto != 47 || outer.vlan_tci != [0, 0] || outer.eth_type != [8, 0] {
            return None;
        }
        let tot = usize::from(u16::from_be_bytes([frame[16], frame[17]]));
        if frame.len() != 14 + tot {
            return None;
        }
        let gre = frame.get(34..42)?;
        if gre[2..4] != [0x65, 0x58] {
            return None;
        }
        let mut k = TnlKeyXdp { outer, ..TnlKeyXdp::default() };
        let hlen = match [gre[0], gre[1]] {
            [0x20, 0] => {
                k.gre_flags = [0x20, 0];
                k.gre_key.copy_from_slice(&gre[4..8]);
                GRE_KEY_HLEN
            }
            [0, 0] => GRE_HLEN,
            _ => return None,
        };
        k.inner = FlowKeyXdp::parse(&frame[hlen..])?;
        Some((k, hlen))
    }
}

/// A handle on one port's generation and entries (second descriptors of its `generation`,
/// `flows` and `tnl_flows` maps), so that whoever changes the switch can retire the port's
/// entries, and re-stamp those still valid, without owning the port.
pub struct Generation {
    map: Array<MapData, u64>,
    flows: HashMap<MapData, MaskedKeyXdp, FlowActionsXdp>,
    tnl_flows: HashMap<MapData, TnlKeyXdp, FlowActionsXdp>,
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generation").finish_non_exhaustive()
    }
}

/// A second descriptor of `map`.
fn dup(map: &MapData) -> std::io::Result<MapData> {
    let fd = map.fd().as_fd().try_clone_to_owned()?;
    MapData::from_fd(fd).map_err(std::io::Error::other)
}

impl Generation {
    pub(crate) fn from_maps(generation: &MapData, flows: &MapData, tnl_flows: &MapData) -> std::io::Result<Self> {
        let map = Array::try_from(Map::Array(dup(generation)?)).map_err(std::io::Error::other)?;
        let flows = HashMap::try_from(Map::HashMap(dup(flows)?)).map_err(std::io::Error::other)?;
        let tnl_flows = HashMap::try_from(Map::HashMap(dup(tnl_flows)?)).map_err(std::io::Error::other)?;
        Ok(Generation { map, flows, tnl_flows })
    }

    /// Sets the generation (0: fast path off on this port).
    ///
    /// # Errors
    /// The kernel's answer to the map update.
    pub fn set(&mut self, generation: u64) -> std::io::Result<()> {
        self.map.set(0, generation, 0).map_err(std::io::Error::other)
    }

    /// The generation in force.
    ///
    /// # Errors
    /// The kernel's answer to the map lookup.
    pub fn get(&self) -> std::io::Result<u64> {
        self.map.get(&0, 0).map_err(std::io::Error::other)
    }

    /// Stamps the megaflow entry of `key` with `generation`, counters and actions unchanged;
    /// false when there is no such entry. Meant for entries the program ignores (stamped
    /// with an older generation than the port's), whose counters nothing changes meanwhile.
    ///
    /// # Errors
    /// The kernel's answer to the map update.
    pub fn restamp_flow(&mut self, key: &MaskedKeyXdp, generation: u64) -> std::io::Result<bool> {
        let Ok(mut v) = self.flows.get(key, 0) else { return Ok(false) };
        v.generation = generation;
        // BPF_EXIST: an entry deleted meanwhile is not brought back.
        self.flows.insert(key, v, BPF_EXIST).map_err(std::io::Error::other)?;
        Ok(true)
    }

    /// As [`Generation::restamp_flow`], for the decapsulation entry of `key`.
    ///
    /// # Errors
    /// The kernel's answer to the map update.
    pub fn restamp_tnl(&mut self, key: &TnlKeyXdp, generation: u64) -> std::io::Result<bool> {
        let Ok(mut v) = self.tnl_flows.get(key, 0) else { return Ok(false) };
        v.generation = generation;
        self.tnl_flows.insert(key, v, BPF_EXIST).map_err(std::io::Error::other)?;
        Ok(true)
    }
}

/// `BPF_EXIST` (update only an existing element).
const BPF_EXIST: u64 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_the_c_structs() {
        assert_eq!(std::mem::size_of::<FlowKeyXdp>(), 32);
        assert_eq!(std::mem::size_of::<FlowActionsXdp>(), 136);
        assert_eq!(std::mem::offset_of!(FlowActionsXdp, mask), 104);
        assert_eq!(std::mem::size_of::<MaskedKeyXdp>(), 40);
        assert_eq!(std::mem::size_of::<MaskXdp>(), 40);
        assert_eq!(std::mem::size_of::<TnlKeyXdp>(), 72);
        assert_eq!(std::mem::offset_of!(FlowActionsXdp, tnl_len), 48);
        assert_eq!(std::mem::offset_of!(FlowActionsXdp, tnl_header), 56);
        assert_eq!(std::mem::offset_of!(TnlKeyXdp, inner), 40);
    }

    /// Outer Ethernet + IPv4 + GRE (flags, protocol, key) around `inner`, with a valid
    /// checksum, as `flowtable::tunnel::encapsulate` builds it.
    fn gre_frame(flags: [u8; 2], inner: &[u8]) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 0xb, 0x02, 0, 0, 0, 0, 0xa, 0x08, 0x00];
        let tot = 20 + 4 + if flags == [0x20, 0] { 4 } else { 0 } + inner.len();
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 47, 0, 0, 172, 31, 1, 1, 172, 31, 1, 2];
        ip[2..4].copy_from_slice(&u16::try_from(tot).unwrap().to_be_bytes());
        let c = !fold(sum16(&ip));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&flags);
        f.extend_from_slice(&[0x65, 0x58]);
        if flags == [0x20, 0] {
            f.extend_from_slice(&[0, 0, 0, 5]);
        }
        f.extend_from_slice(inner);
        f
    }

    #[test]
    fn gre_keys_cover_outer_headers_key_and_inner_frame() {
        let inner = udp_frame([0x12, 0x34]);
        let (k, hlen) = TnlKeyXdp::parse(&gre_frame([0x20, 0], &inner)).unwrap();
        assert_eq!(hlen, GRE_KEY_HLEN);
        assert_eq!((k.gre_key, k.gre_flags), ([0, 0, 0, 5], [0x20, 0]));
        assert_eq!(k.inner, FlowKeyXdp::parse(&inner).unwrap());
        assert_eq!((k.outer.nw_proto, k.outer.nw_ttl, k.outer.nw_src), (47, 64, [172, 31, 1, 1]));
        let (k, hlen) = TnlKeyXdp::parse(&gre_frame([0, 0], &inner)).unwrap();
        assert_eq!((hlen, k.gre_flags), (GRE_HLEN, [0, 0]));
        // Checksum or sequence present, a bad outer checksum, padding, a non-Ethernet payload,
        // an inner frame the parser refuses: userspace.
        assert!(TnlKeyXdp::parse(&gre_frame([0xa0, 0], &inner)).is_none());
        assert!(TnlKeyXdp::parse(&gre_frame([0x30, 0], &inner)).is_none());
        let mut f = gre_frame([0x20, 0], &inner);
        f[22] ^= 1;
        assert!(TnlKeyXdp::parse(&f).is_none());
        let mut f = gre_frame([0x20, 0], &inner);
        f.push(0);
        assert!(TnlKeyXdp::parse(&f).is_none());
        let mut f = gre_frame([0x20, 0], &inner);
        f[36..38].copy_from_slice(&[0x08, 0x00]);
        assert!(TnlKeyXdp::parse(&f).is_none());
        let mut arp = inner.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(TnlKeyXdp::parse(&gre_frame([0x20, 0], &arp)).is_none());
    }

    #[test]
    fn tunnel_push_completes_length_and_checksum_and_respects_the_limit() {
        let inner = udp_frame([0x12, 0x34]);
        let full = gre_frame([0x20, 0], &inner);
        let mut e = FlowActionsXdp { tnl_len: 42, tnl_max: 1518, ..FlowActionsXdp::default() };
        e.tnl_header[..42].copy_from_slice(&full[..42]);
        e.tnl_header[16..18].fill(0);
        e.tnl_header[24..26].fill(0);
        e.tnl_sum = ip_header_sum(&e.tnl_header).unwrap();
        assert_eq!(e.tunnel_push(&inner).unwrap(), full);
        e.tnl_max = u16::try_from(full.len() - 1).unwrap();
        assert!(e.tunnel_push(&inner).is_none());
    }

    fn udp_frame(csum: [u8; 2]) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        let mut ip = vec![0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        let c = !fold(sum16(&ip));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&[0x04, 0x00, 0x00, 0x35, 0, 8]);
        f.extend_from_slice(&csum);
        f
    }

    #[test]
    fn parses_udp_and_refuses_what_the_slow_path_must_see() {
        let k = FlowKeyXdp::parse(&udp_frame([0x12, 0x34])).unwrap();
        assert_eq!(k.tp_src, [4, 0]);
        assert_eq!(k.tp_dst, [0, 0x35]);
        assert_eq!(k.nw_proto, 17);
        assert_eq!(k.eth_type, [8, 0]);
        // Partial checksum: pseudo-header sum of 10.0.0.1, 10.0.0.2, 17, 8.
        let p = fold(0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 8).to_be_bytes();
        assert!(FlowKeyXdp::parse(&udp_frame(p)).is_none());
        // Bad IPv4 header checksum.
        let mut f = udp_frame([0x12, 0x34]);
        f[24] ^= 1;
        assert!(FlowKeyXdp::parse(&f).is_none());
        // ARP, runt.
        let mut f = udp_frame([0x12, 0x34]);
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(FlowKeyXdp::parse(&f).is_none());
        assert!(FlowKeyXdp::parse(&f[..10]).is_none());
        // Other ethertypes are keyed by their L2 header only.
        let mut f = udp_frame([0x12, 0x34]);
        f[12..14].copy_from_slice(&[0x88, 0xb5]);
        let k = FlowKeyXdp::parse(&f).unwrap();
        assert_eq!((k.nw_proto, k.tp_src), (0, [0, 0]));
    }

    #[test]
    fn masking_keeps_only_the_mask_bits_and_round_trips() {
        let k = FlowKeyXdp::parse(&udp_frame([0x12, 0x34])).unwrap();
        assert_eq!(FlowKeyXdp::from_bytes(&k.bytes()), k);
        let mask = FlowKeyXdp { nw_dst: [0xff, 0xff, 0xff, 0], tp_dst: [0xff, 0xff], ..FlowKeyXdp::default() };
        let m = k.and(&mask);
        assert_eq!(m, FlowKeyXdp { nw_dst: [10, 0, 0, 0], tp_dst: [0, 0x35], ..FlowKeyXdp::default() });
    }

    #[test]
    fn a_torn_mask_cannot_make_a_frame_take_another_megaflows_entry() {
        // The entry of megaflow nw_dst=0.0.1.2 (mask: all of nw_dst).
        let mask = FlowKeyXdp { nw_dst: [0xff; 4], ..FlowKeyXdp::default() };
        let key =
            MaskedKeyXdp { mask_id: 3, pad: 0, key: FlowKeyXdp { nw_dst: [0, 0, 1, 2], ..FlowKeyXdp::default() } };
        let e = FlowActionsXdp { mask, ..FlowActionsXdp::default() };
        // A frame to 9.9.1.2 probed with half of that mask (a slot caught mid-rewrite) finds the
        // entry's key, but the entry's own mask refuses it; a frame of the megaflow is taken.
        let mut frame = FlowKeyXdp { nw_dst: [9, 9, 1, 2], ..FlowKeyXdp::default() };
        let torn = FlowKeyXdp { nw_dst: [0, 0, 0xff, 0xff], ..FlowKeyXdp::default() };
        assert_eq!(frame.and(&torn), key.key);
        assert!(!e.matches(&frame, &key));
        frame.nw_dst = [0, 0, 1, 2];
        assert!(e.matches(&frame, &key));
    }
}
