//! Executing datapath actions on a frame: the pure part of the datapath.
//!
//! VLAN push and pop, masked header rewrites with checksums kept right (IPv4 header, TCP/UDP
//! including the pseudo-header when addresses change, ICMP/ICMPv6, SCTP's CRC32c), and outputs
//! of the frame as it is at that point. A rewrite of a header the frame does not have is a
//! no-op. [`apply_to_key`] is the same semantics on a flow key, used to reason about megaflows.

use crate::checksum::{fold, ones_sum};
use crate::field::{ethertype, ipproto, Field, VLAN_CFI};
use crate::key::FlowKey;
use crate::odp::{DpAction, DpPort, PacketIn};
use crate::tunnel::{encapsulate, pop_gre, TunnelMetadata};

/// Where packets go while actions execute.
pub trait DpSink {
    /// Transmit a copy of `frame` on `port`.
    fn output(&mut self, port: DpPort, frame: &[u8]);
    /// Hand `frame` to the controller.
    fn userspace(&mut self, packet_in: &PacketIn, frame: &[u8]);
    /// Run a decapsulated `frame` through the datapath again with tunnel metadata `md`
    /// ([`DpAction::TunnelPop`]); a sink that cannot recirculate drops it.
    fn recirculate(&mut self, md: &TunnelMetadata, frame: &[u8]) {
        let _ = (md, frame);
    }
}

/// Header offsets of a frame, found the way [`crate::extract`] finds them.
#[derive(Debug, Default, Clone, Copy)]
struct Offsets {
    /// Start of the outer VLAN tag's TCI, if tagged.
    vlan_tci: Option<usize>,
    eth_type: u16,
    l3: Option<usize>,
    /// L4 start and IP protocol (not for later fragments).
    l4: Option<(usize, u8)>,
}

fn be16(f: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*f.get(at)?, *f.get(at + 1)?]))
}

fn offsets(frame: &[u8]) -> Offsets {
    let f = frame;
    let mut offs = Offsets::default();
    let Some(mut et) = be16(f, 12) else { return offs };
    let mut pos = 14;
    let mut tags = 0;
    while matches!(et, ethertype::VLAN | ethertype::QINQ) && tags < 2 {
        if tags == 0 {
            offs.vlan_tci = Some(pos);
        }
        let Some(next) = be16(f, pos + 2) else { return offs };
        et = next;
        pos += 4;
        tags += 1;
    }
    if et < 0x0600 {
        match f.get(pos..pos + 8) {
            Some(llc) if llc[..6] == [0xaa, 0xaa, 0x03, 0, 0, 0] => {
                et = u16::from_be_bytes([llc[6], llc[7]]);
                pos += 8;
            }
            _ => return offs,
        }
    }
    offs.eth_type = et;
    match et {
        ethertype::IPV4 => {
            let Some(h) = f.get(pos..pos + 20) else { return offs };
            let ihl = usize::from(h[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
            if h[0] >> 4 != 4 || ihl < 20 || total < ihl || f.len() < pos + total {
                return offs;
            }
            offs.l3 = Some(pos);
            let frag_off = u16::from_be_bytes([h[6], h[7]]) & 0x1fff;
            if frag_off == 0 {
                offs.l4 = Some((pos + ihl, h[9]));
            }
        }
        ethertype::IPV6 => {
            let Some(h) = f.get(pos..pos + 40) else { return offs };
            if h[0] >> 4 != 6 {
                return offs;
            }
            offs.l3 = Some(pos);
            let mut next = h[6];
            let mut next_at = pos + 40;
            for _ in 0..8 {
                match next {
                    44 => {
                        let Some(fr) = f.get(next_at..next_at + 8) else { return offs };
                        if u16::from_be_bytes([fr[2], fr[3]]) >> 3 != 0 {
                            return offs;
                        }
                        next = fr[0];
                        next_at += 8;
                    }
                    0 | 43 | 60 | 51 => {
                        let Some(e) = f.get(next_at..next_at + 2) else { return offs };
                        let len = if next == 51 { (usize::from(e[1]) + 2) * 4 } else { (usize::from(e[1]) + 1) * 8 };
                        next = e[0];
                        next_at += len;
                    }
                    _ => break,
                }
            }
            if next_at <= f.len() {
                offs.l4 = Some((next_at, next));
            }
        }
        ethertype::ARP | ethertype::RARP if f.len() >= pos + 28 => offs.l3 = Some(pos),
        _ => {}
    }
    offs
}

/// Updates the checksum at `at` for 16-bit-aligned bytes `old` replaced by `new` (RFC 1624).
fn csum_update(f: &mut [u8], at: usize, old: &[u8], new: &[u8]) {
    let Some(cur) = be16(f, at) else { return };
    let sum = ones_sum(new, ones_sum(old.iter().map(|b| !b).collect::<Vec<u8>>().as_slice(), u32::from(!cur)));
    let out = !fold(sum);
    f[at..at + 2].copy_from_slice(&out.to_be_bytes());
}

fn ipv4_header_checksum(f: &mut [u8], l3: usize) {
    let ihl = usize::from(f[l3] & 0x0f) * 4;
    f[l3 + 10] = 0;
    f[l3 + 11] = 0;
    let c = !fold(ones_sum(&f[l3..l3 + ihl], 0));
    f[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
}

/// CRC32c (Castagnoli), for SCTP.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82f6_3b78 } else { crc >> 1 };
        }
    }
    !crc
}

/// Where the L4 checksum is and whether the pseudo-header covers addresses.
fn l4_checksum_at(f: &[u8], l4: usize, proto: u8, v6: bool) -> Option<usize> {
    let at = match proto {
        ipproto::TCP => l4 + 16,
        ipproto::UDP => {
            // An IPv4 UDP checksum of 0 means "none": leave it.
            if !v6 && be16(f, l4 + 6)? == 0 {
                return None;
            }
            l4 + 6
        }
        ipproto::ICMPV6 if v6 => l4 + 2,
        _ => return None,
    };
    (at + 2 <= f.len()).then_some(at)
}

fn sctp_recompute(f: &mut [u8], l4: usize, end: usize) {
    if end < l4 + 12 || end > f.len() {
        return;
    }
    f[l4 + 8..l4 + 12].copy_from_slice(&[0; 4]);
    let c = crc32c(&f[l4..end]);
    f[l4 + 8..l4 + 12].copy_from_slice(&c.to_le_bytes());
}

/// End of the L3 payload (to bound SCTP's CRC).
fn l3_end(f: &[u8], o: &Offsets) -> usize {
    match (o.eth_type, o.l3) {
        (ethertype::IPV4, Some(l3)) => l3 + usize::from(be16(f, l3 + 2).unwrap_or(0)),
        (ethertype::IPV6, Some(l3)) => l3 + 40 + usize::from(be16(f, l3 + 4).unwrap_or(0)),
        _ => f.len(),
    }
    .min(f.len())
}

/// Which transport checksum covers bytes being rewritten.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Covered {
    /// No transport checksum (Ethernet, ARP, the IPv4 header: handled by the caller).
    No,
    /// The pseudo-header (IP addresses).
    Pseudo,
    /// The transport header itself.
    L4,
}

/// Writes `new` at `at` and keeps the transport checksum right.
fn rewrite(f: &mut [u8], o: &Offsets, at: usize, new: &[u8], covered: Covered) {
    let (pseudo, l4_field) = (covered == Covered::Pseudo, covered == Covered::L4);
    let Some(old) = f.get(at..at + new.len()).map(<[u8]>::to_vec) else { return };
    if old == new {
        return;
    }
    f[at..at + new.len()].copy_from_slice(new);
    let v6 = o.eth_type == ethertype::IPV6;
    let Some((l4, proto)) = o.l4.filter(|_| pseudo || l4_field) else { return };
    match proto {
        // SCTP's CRC covers no pseudo-header.
        ipproto::SCTP if l4_field => {
            let end = l3_end(f, o);
            sctp_recompute(f, l4, end);
        }
        // Nor does ICMPv4's checksum.
        ipproto::ICMP if l4_field && !v6 && l4 + 4 <= f.len() => csum_update(f, l4 + 2, &old, new),
        ipproto::SCTP | ipproto::ICMP => {}
        _ => {
            if let Some(c) = l4_checksum_at(f, l4, proto, v6) {
                csum_update(f, c, &old, new);
                if proto == ipproto::UDP && be16(f, c) == Some(0) {
                    // 0 means "no checksum" in UDP: a computed 0 is sent as 0xffff.
                    f[c..c + 2].copy_from_slice(&[0xff, 0xff]);
                }
            }
        }
    }
}

fn bytes_of(value: u128, n: usize) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[16 - n..].copy_from_slice(&value.to_be_bytes()[16 - n..]);
    out
}

/// Reads `n` bytes at `at` as an integer.
fn read_n(f: &[u8], at: usize, n: usize) -> Option<u128> {
    Some(f.get(at..at + n)?.iter().fold(0u128, |a, b| (a << 8) | u128::from(*b)))
}

/// Rewrites the bits `mask` of an `n`-byte big-endian field at `at` to `value`.
fn set_bytes(f: &mut [u8], o: &Offsets, at: usize, n: usize, value: u128, mask: u128, covered: Covered) {
    let Some(old) = read_n(f, at, n) else { return };
    let new = (old & !mask) | (value & mask);
    let b = bytes_of(new, n);
    rewrite(f, o, at, &b[16 - n..], covered);
}

/// Rewrites a 1-byte field inside the 16-bit word starting at `word_at` (for checksums).
fn set_byte_in_word(f: &mut [u8], o: &Offsets, word_at: usize, high: bool, value: u8, mask: u8) {
    let Some(w) = be16(f, word_at) else { return };
    let (shift, m) = if high { (8, u16::from(mask) << 8) } else { (0, u16::from(mask)) };
    let new = (w & !m) | ((u16::from(value) << shift) & m);
    rewrite(f, o, word_at, &new.to_be_bytes(), Covered::L4);
}

fn nd_option(f: &[u8], l4: usize, want: u8) -> Option<usize> {
    let mut pos = l4 + 24;
    while pos + 8 <= f.len() {
        let (t, len) = (f[pos], usize::from(f[pos + 1]) * 8);
        if len == 0 {
            return None;
        }
        if t == want && len == 8 {
            return Some(pos + 2);
        }
        pos += len;
    }
    None
}

fn set_field(f: &mut [u8], field: Field, value: u128, mask: u128) {
    let o = offsets(f);
    let mask = mask & field.max_value();
    let value = value & mask;
    let ipv4 = o.eth_type == ethertype::IPV4;
    let ipv6 = o.eth_type == ethertype::IPV6;
    let arp = matches!(o.eth_type, ethertype::ARP | ethertype::RARP);
    match field {
        Field::EthDst => set_bytes(f, &o, 0, 6, value, mask, Covered::No),
        Field::EthSrc => set_bytes(f, &o, 6, 6, value, mask, Covered::No),
        Field::VlanTci | Field::VlanVid | Field::VlanPcp => {
            let Some(at) = o.vlan_tci else { return };
            let mut k = FlowKey::ZERO;
            k.set_masked(field, value, mask);
            let mut m = FlowKey::ZERO;
            m.set(field, mask);
            let (tv, tm) = (k.get(Field::VlanTci) as u16 & !VLAN_CFI, m.get(Field::VlanTci) as u16 & !VLAN_CFI);
            set_bytes(f, &o, at, 2, u128::from(tv), u128::from(tm), Covered::No);
        }
        Field::Ipv4Src | Field::Ipv4Dst if ipv4 => {
            let Some(l3) = o.l3 else { return };
            let at = l3 + if field == Field::Ipv4Src { 12 } else { 16 };
            set_bytes(f, &o, at, 4, value, mask, Covered::Pseudo);
            ipv4_header_checksum(f, l3);
        }
        Field::IpTos | Field::IpDscp | Field::IpEcn | Field::IpTtl if ipv4 => {
            let Some(l3) = o.l3 else { return };
            let (v, m) = byte_value(field, value, mask);
            let at = l3 + if field == Field::IpTtl { 8 } else { 1 };
            let old = f[at];
            f[at] = (old & !m) | (v & m);
            ipv4_header_checksum(f, l3);
        }
        Field::IpTos | Field::IpDscp | Field::IpEcn if ipv6 => {
            let Some(l3) = o.l3 else { return };
            let (v, m) = byte_value(field, value, mask);
            // Traffic class straddles bytes 0 and 1.
            let Some(old) = read_n(f, l3, 4) else { return };
            let shift = 20;
            let new = (old & !(u128::from(m) << shift)) | (u128::from(v & m) << shift);
            f[l3..l3 + 4].copy_from_slice(&bytes_of(new, 4)[12..]);
        }
        Field::IpTtl if ipv6 => {
            let Some(l3) = o.l3 else { return };
            let m = mask as u8;
            f[l3 + 7] = (f[l3 + 7] & !m) | (value as u8 & m);
        }
        Field::Ipv6Label if ipv6 => {
            let Some(l3) = o.l3 else { return };
            set_bytes(f, &o, l3, 4, value, mask & 0x000f_ffff, Covered::No);
        }
        Field::Ipv6Src | Field::Ipv6Dst if ipv6 => {
            let Some(l3) = o.l3 else { return };
            let at = l3 + if field == Field::Ipv6Src { 8 } else { 24 };
            set_bytes(f, &o, at, 16, value, mask, Covered::Pseudo);
        }
        Field::TpSrc | Field::TpDst => {
            let Some((l4, proto)) = o.l4 else { return };
            if !matches!(proto, ipproto::TCP | ipproto::UDP | ipproto::SCTP) || !(ipv4 || ipv6) {
                return;
            }
            let at = l4 + if field == Field::TpSrc { 0 } else { 2 };
            set_bytes(f, &o, at, 2, value, mask, Covered::L4);
        }
        Field::IcmpType | Field::IcmpCode => {
            let Some((l4, proto)) = o.l4 else { return };
            if !(proto == ipproto::ICMP && ipv4 || proto == ipproto::ICMPV6 && ipv6) || f.len() < l4 + 4 {
                return;
            }
            set_byte_in_word(f, &o, l4, field == Field::IcmpType, value as u8, mask as u8);
        }
        Field::ArpOp if arp => {
            let Some(l3) = o.l3 else { return };
            set_bytes(f, &o, l3 + 6, 2, value, mask, Covered::No);
        }
        Field::ArpSha | Field::ArpSpa | Field::ArpTha | Field::ArpTpa | Field::Ipv4Src | Field::Ipv4Dst if arp => {
            let Some(l3) = o.l3 else { return };
            let (at, n) = match field {
                Field::ArpSha => (8, 6),
                Field::ArpSpa | Field::Ipv4Src => (14, 4),
                Field::ArpTha => (18, 6),
                _ => (24, 4),
            };
            set_bytes(f, &o, l3 + at, n, value, mask, Covered::No);
        }
        Field::NdTarget | Field::NdSll | Field::NdTll if ipv6 => {
            let Some((l4, ipproto::ICMPV6)) = o.l4 else { return };
            let at = match field {
                Field::NdTarget => Some(l4 + 8).filter(|a| a + 16 <= f.len()),
                Field::NdSll => nd_option(f, l4, 1),
                _ => nd_option(f, l4, 2),
            };
            let Some(at) = at else { return };
            let n = if field == Field::NdTarget { 16 } else { 6 };
            set_bytes(f, &o, at, n, value, mask, Covered::L4);
        }
        _ => {}
    }
}

/// The byte value and mask a TOS-byte field writes.
fn byte_value(field: Field, value: u128, mask: u128) -> (u8, u8) {
    match field {
        Field::IpDscp => ((value as u8) << 2, (mask as u8) << 2),
        Field::IpEcn => (value as u8 & 3, mask as u8 & 3),
        _ => (value as u8, mask as u8),
    }
}

fn push_vlan(f: &mut Vec<u8>, tpid: u16, tci: u16) {
    if f.len() < 14 {
        return;
    }
    let wire = tci & !VLAN_CFI;
    let mut tag = [0u8; 4];
    tag[..2].copy_from_slice(&tpid.to_be_bytes());
    tag[2..].copy_from_slice(&wire.to_be_bytes());
    f.splice(12..12, tag);
}

fn pop_vlan(f: &mut Vec<u8>) {
    if f.len() >= 18 && matches!(be16(f, 12), Some(ethertype::VLAN | ethertype::QINQ)) {
        f.drain(12..16);
    }
}

/// Executes `actions` on `frame`, sending outputs and packet-ins to `sink`.
pub fn execute(frame: &mut Vec<u8>, actions: &[DpAction], sink: &mut impl DpSink) {
    for a in actions {
        match a {
            DpAction::Output(p) => sink.output(*p, frame),
            DpAction::Userspace(pin) => sink.userspace(pin, frame),
            DpAction::PushVlan { tpid, tci } => push_vlan(frame, *tpid, *tci),
            DpAction::PopVlan => pop_vlan(frame),
            DpAction::SetMasked { field, value, mask } => set_field(frame, *field, *value, *mask),
            DpAction::TunnelPush(push) => {
                let mut copy = encapsulate(frame, &push.header);
                execute(&mut copy, &push.actions, sink);
            }
            DpAction::Emit(emit) => {
                let mut copy = emit.frame.clone();
                execute(&mut copy, &emit.actions, sink);
            }
            DpAction::TunnelPop => match pop_gre(frame) {
                Ok((md, inner)) => sink.recirculate(&md, &frame[inner]),
                Err(e) => log::debug!("tnl_pop: {e}; dropped"),
            },
        }
    }
}

/// The effect of one non-output action on a flow key (what re-extracting the executed frame
/// would give, for frames that have the headers the action touches).
pub fn apply_to_key(key: &mut FlowKey, action: &DpAction) {
    match action {
        // Tunnel actions work on copies (push, emit) or end the packet's walk (pop).
        DpAction::Output(_)
        | DpAction::Userspace(_)
        | DpAction::TunnelPush(_)
        | DpAction::TunnelPop
        | DpAction::Emit(_) => {}
        DpAction::PushVlan { tci, .. } => {
            let outer = key.get(Field::VlanTci);
            key.set(Field::VlanTci1, outer);
            key.set(Field::VlanTci, u128::from(*tci | VLAN_CFI));
        }
        DpAction::PopVlan => {
            let inner = key.get(Field::VlanTci1);
            key.set(Field::VlanTci, inner);
            key.set(Field::VlanTci1, 0);
        }
        DpAction::SetMasked { field, value, mask } => {
            if matches!(field, Field::VlanTci | Field::VlanVid | Field::VlanPcp) {
                if key.get(Field::VlanTci) & u128::from(VLAN_CFI) == 0 {
                    return;
                }
                key.set_masked(*field, *value, *mask);
                let tci = key.get(Field::VlanTci) | u128::from(VLAN_CFI);
                key.set(Field::VlanTci, tci);
            } else {
                key.set_masked(*field, *value, *mask);
            }
        }
    }
}

/// Fields the `odp_execute` fuzz target rewrites.
const FUZZ_FIELDS: [Field; 16] = [
    Field::EthDst,
    Field::VlanVid,
    Field::Ipv4Src,
    Field::Ipv4Dst,
    Field::IpTtl,
    Field::IpDscp,
    Field::Ipv6Dst,
    Field::Ipv6Label,
    Field::TpSrc,
    Field::TpDst,
    Field::IcmpType,
    Field::ArpSpa,
    Field::ArpTha,
    Field::NdTarget,
    Field::NdSll,
    Field::VlanPcp,
];

/// Fuzz entry point shared by the `odp_execute` target and the corpus replay test: the first
/// bytes choose a few actions, the rest is the frame; execution must never panic.
#[doc(hidden)]
pub fn fuzz_odp_execute(data: &[u8]) {
    struct Discard;
    impl DpSink for Discard {
        fn output(&mut self, _: DpPort, _: &[u8]) {}
        fn userspace(&mut self, _: &PacketIn, _: &[u8]) {}
    }
    let Some((&n, rest)) = data.split_first() else { return };
    let n = usize::from(n % 5);
    if rest.len() < n * 3 {
        return;
    }
    let (spec, frame) = rest.split_at(n * 3);
    let actions: Vec<DpAction> = spec
        .chunks_exact(3)
        .map(|c| match c[0] % 4 {
            0 => DpAction::PushVlan { tpid: 0x8100, tci: u16::from_be_bytes([c[1], c[2]]) },
            1 => DpAction::PopVlan,
            2 => DpAction::Output(DpPort(u32::from(c[1]))),
            _ => {
                let field = FUZZ_FIELDS[usize::from(c[1] % 16)];
                let v = u128::from(c[2]) * 0x0101_0101_0101_0101_0101_0101_0101_0101;
                DpAction::SetMasked { field, value: v & field.max_value(), mask: field.max_value() }
            }
        })
        .collect();
    let mut f = frame.to_vec();
    execute(&mut f, &actions, &mut Discard);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_known_vector() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }
}
