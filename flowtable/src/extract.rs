//! Flow key extraction: one pass over an Ethernet frame fills a [`FlowKey`], as Open vSwitch's
//! `miniflow_extract` does.
//!
//! Ethernet (802.2/LLC frames get eth_type 0x05ff, SNAP frames with OUI 0 their SNAP type), up
//! to two VLAN tags (802.1Q and 802.1ad), IPv4 (with fragment state; no L4 on later
//! fragments), IPv6 (extension headers skipped, fragment header honoured), ARP/RARP,
//! TCP/UDP/SCTP ports, TCP flags, ICMP/ICMPv6 type and code, IPv6 neighbour discovery target
//! and link-layer options. A truncated or malformed frame yields a key that stops at the last
//! valid layer; nothing here panics or allocates.
//!
//! [`extract_checked`] also says whether the frame is malformed ([`Malformed`]: a runt, a
//! truncated tag, a bad IPv4 header or header checksum, a truncated IPv6 or transport header).
//! The datapath counts and drops those frames instead of forwarding them half-parsed. Transport
//! checksums are left to the receiving host, as every switch does (checking them would mean
//! reading every payload byte).

use crate::field::{ethertype, ipproto, Field, FRAG_ANY, FRAG_LATER, VLAN_CFI};
use crate::key::FlowKey;
use crate::port::PortNo;

/// Ethertype Open vSwitch gives 802.2 frames without a SNAP header.
pub const ETH_TYPE_NONE: u16 = 0x05ff;

/// A bounds-checked reader over the frame.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn peek(&self, n: usize) -> Option<&'a [u8]> {
        self.data.get(self.pos..self.pos.checked_add(n)?)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.peek(n)?;
        self.pos += n;
        Some(s)
    }

    fn be16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

fn mac(b: &[u8]) -> u128 {
    b.iter().take(6).fold(0u128, |acc, x| (acc << 8) | u128::from(*x))
}

fn be32(b: &[u8], at: usize) -> u128 {
    u128::from(u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]))
}

fn be16(b: &[u8], at: usize) -> u128 {
    u128::from(u16::from_be_bytes([b[at], b[at + 1]]))
}

fn be128(b: &[u8], at: usize) -> u128 {
    b[at..at + 16].iter().fold(0u128, |acc, x| (acc << 8) | u128::from(*x))
}

/// Why the datapath refuses a frame (see [`extract_checked`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Shorter than an Ethernet header.
    #[error("runt frame (shorter than an Ethernet header)")]
    Runt,
    /// An 802.1Q/802.1ad tag cut short.
    #[error("truncated VLAN tag")]
    TruncatedVlan,
    /// IPv4 version, IHL or total length inconsistent with the frame.
    #[error("bad IPv4 header (version, IHL or total length)")]
    BadIpv4Header,
    /// IPv4 header checksum wrong.
    #[error("bad IPv4 header checksum")]
    BadIpv4Checksum,
    /// IPv6 header or extension header cut short or inconsistent.
    #[error("bad IPv6 header")]
    BadIpv6Header,
    /// TCP, UDP, SCTP or ICMP header cut short (or a TCP data offset below 20).
    #[error("truncated transport header")]
    TruncatedL4,
    /// ARP shorter than its fixed part.
    #[error("truncated ARP")]
    TruncatedArp,
}

/// Extracts the flow key of `frame` received on `in_port`.
pub fn flow_extract(frame: &[u8], in_port: PortNo) -> FlowKey {
    let mut key = FlowKey::ZERO;
    extract_into(frame, in_port, &mut key);
    key
}

/// Extracts into an existing key (overwritten).
pub fn extract_into(frame: &[u8], in_port: PortNo, key: &mut FlowKey) {
    let _ = extract_checked(frame, in_port, key);
}

/// Extracts into `key` (overwritten) and says whether the frame is malformed. The key is the
/// same either way: it stops at the last valid layer.
///
/// # Errors
/// The first malformation found.
pub fn extract_checked(frame: &[u8], in_port: PortNo, key: &mut FlowKey) -> Result<(), Malformed> {
    *key = FlowKey::ZERO;
    key.set(Field::InPort, u128::from(in_port.0));
    let mut c = Cursor { data: frame, pos: 0 };
    let Some(eth) = c.take(12) else { return Err(Malformed::Runt) };
    key.set(Field::EthDst, mac(&eth[..6]));
    key.set(Field::EthSrc, mac(&eth[6..12]));
    let Some(mut eth_type) = c.be16() else { return Err(Malformed::Runt) };
    // VLAN tags: the outer one into vlan_tci, a second into vlan_tci1.
    let mut tags = 0;
    while matches!(eth_type, ethertype::VLAN | ethertype::QINQ) && tags < 2 {
        let Some(tci) = c.be16() else { return Err(Malformed::TruncatedVlan) };
        let Some(next) = c.be16() else { return Err(Malformed::TruncatedVlan) };
        let field = if tags == 0 { Field::VlanTci } else { Field::VlanTci1 };
        key.set(field, u128::from(tci | VLAN_CFI));
        eth_type = next;
        tags += 1;
    }
    if eth_type < 0x0600 {
        // 802.2 LLC: SNAP with OUI 0 carries an ethertype; anything else has none.
        match c.peek(8) {
            Some(llc) if llc[0] == 0xaa && llc[1] == 0xaa && llc[2] == 0x03 && llc[3..6] == [0, 0, 0] => {
                eth_type = u16::from_be_bytes([llc[6], llc[7]]);
                c.pos += 8;
            }
            _ => {
                key.set(Field::EthType, u128::from(ETH_TYPE_NONE));
                return Ok(());
            }
        }
    }
    key.set(Field::EthType, u128::from(eth_type));
    match eth_type {
        ethertype::IPV4 => extract_ipv4(&mut c, key),
        ethertype::IPV6 => extract_ipv6(&mut c, key),
        ethertype::ARP | ethertype::RARP => extract_arp(&mut c, key),
        _ => Ok(()),
    }
}

/// Whether the one's-complement sum of an IPv4 header (checksum included) is all ones.
fn ipv4_checksum_ok(header: &[u8]) -> bool {
    crate::checksum::fold(crate::checksum::ones_sum(header, 0)) == 0xffff
}

fn extract_ipv4(c: &mut Cursor<'_>, key: &mut FlowKey) -> Result<(), Malformed> {
    let Some(h) = c.peek(20) else { return Err(Malformed::BadIpv4Header) };
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    // Version 4, a header of at least 20 bytes, a total length that covers the header and
    // fits the frame (padding after it is allowed).
    if h[0] >> 4 != 4 || ihl < 20 || total < ihl || c.remaining() < ihl || c.remaining() < total {
        return Err(Malformed::BadIpv4Header);
    }
    let Some(full_header) = c.peek(ihl) else { return Err(Malformed::BadIpv4Header) };
    if !ipv4_checksum_ok(full_header) {
        return Err(Malformed::BadIpv4Checksum);
    }
    key.set(Field::IpTos, u128::from(h[1]));
    key.set(Field::IpTtl, u128::from(h[8]));
    key.set(Field::IpProto, u128::from(h[9]));
    key.set(Field::Ipv4Src, be32(h, 12));
    key.set(Field::Ipv4Dst, be32(h, 16));
    let frag = u16::from_be_bytes([h[6], h[7]]);
    let offset = frag & 0x1fff;
    let more = frag & 0x2000 != 0;
    let mut frag_bits = 0;
    if more || offset != 0 {
        frag_bits |= FRAG_ANY;
        if offset != 0 {
            frag_bits |= FRAG_LATER;
        }
    }
    key.set(Field::IpFrag, u128::from(frag_bits));
    if frag_bits & FRAG_LATER != 0 {
        return Ok(());
    }
    let end = c.pos + total;
    c.pos += ihl;
    let mut l4 = Cursor { data: &c.data[..end], pos: c.pos };
    extract_l4(&mut l4, h[9], false, frag_bits & FRAG_ANY != 0, key)
}

/// IPv6 extension headers skipped on the way to the upper layer.
fn is_ipv6_ext(next: u8) -> bool {
    matches!(next, 0 | 43 | 60 | 51 | 44)
}

fn extract_ipv6(c: &mut Cursor<'_>, key: &mut FlowKey) -> Result<(), Malformed> {
    let Some(h) = c.take(40) else { return Err(Malformed::BadIpv6Header) };
    if h[0] >> 4 != 6 {
        return Err(Malformed::BadIpv6Header);
    }
    let payload = usize::from(u16::from_be_bytes([h[4], h[5]]));
    if c.remaining() < payload {
        return Err(Malformed::BadIpv6Header);
    }
    let vtc = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    key.set(Field::IpTos, u128::from((vtc >> 20) & 0xff));
    key.set(Field::Ipv6Label, u128::from(vtc & 0x000f_ffff));
    key.set(Field::IpTtl, u128::from(h[7]));
    key.set(Field::Ipv6Src, be128(h, 8));
    key.set(Field::Ipv6Dst, be128(h, 24));
    let mut next = h[6];
    let end = c.pos + payload;
    let mut l4 = Cursor { data: &c.data[..end], pos: c.pos };
    let mut frag_bits = 0u8;
    // Bounded: at most 8 extension headers, as a defence against header chains.
    for _ in 0..8 {
        if !is_ipv6_ext(next) {
            break;
        }
        if next == 44 {
            // Fragment header: 8 bytes.
            let Some(f) = l4.take(8) else { return Err(Malformed::BadIpv6Header) };
            let off = u16::from_be_bytes([f[2], f[3]]) >> 3;
            let more = f[3] & 1 != 0;
            if more || off != 0 {
                frag_bits |= FRAG_ANY;
                if off != 0 {
                    frag_bits |= FRAG_LATER;
                }
            }
            next = f[0];
        } else {
            let Some(e) = l4.peek(2) else { return Err(Malformed::BadIpv6Header) };
            let len = if next == 51 { (usize::from(e[1]) + 2) * 4 } else { (usize::from(e[1]) + 1) * 8 };
            let nh = e[0];
            if l4.take(len).is_none() {
                return Err(Malformed::BadIpv6Header);
            }
            next = nh;
        }
    }
    key.set(Field::IpProto, u128::from(next));
    key.set(Field::IpFrag, u128::from(frag_bits));
    if frag_bits & FRAG_LATER != 0 || is_ipv6_ext(next) {
        return Ok(());
    }
    extract_l4(&mut l4, next, true, frag_bits & FRAG_ANY != 0, key)
}

/// Transport headers. A first fragment may legitimately be too short to hold the whole
/// header: that stops the key without making the frame malformed.
fn extract_l4(c: &mut Cursor<'_>, proto: u8, v6: bool, fragment: bool, key: &mut FlowKey) -> Result<(), Malformed> {
    let short = if fragment { Ok(()) } else { Err(Malformed::TruncatedL4) };
    match proto {
        ipproto::TCP => {
            let Some(t) = c.peek(20) else { return short };
            let doff = usize::from(t[12] >> 4) * 4;
            if doff < 20 {
                return Err(Malformed::TruncatedL4);
            }
            if c.remaining() < doff {
                return short;
            }
            key.set(Field::TpSrc, be16(t, 0));
            key.set(Field::TpDst, be16(t, 2));
            key.set(Field::TcpFlags, be16(t, 12) & 0x0fff);
        }
        ipproto::UDP | ipproto::SCTP => {
            let need = if proto == ipproto::UDP { 8 } else { 12 };
            let Some(t) = c.peek(need) else { return short };
            key.set(Field::TpSrc, be16(t, 0));
            key.set(Field::TpDst, be16(t, 2));
        }
        ipproto::ICMP if !v6 => {
            let Some(t) = c.peek(4) else { return short };
            key.set(Field::IcmpType, u128::from(t[0]));
            key.set(Field::IcmpCode, u128::from(t[1]));
        }
        ipproto::ICMPV6 if v6 => {
            if c.remaining() < 4 {
                return short;
            }
            extract_icmpv6(c, key);
        }
        _ => {}
    }
    Ok(())
}

fn extract_icmpv6(c: &mut Cursor<'_>, key: &mut FlowKey) {
    let Some(t) = c.peek(4) else { return };
    let (ty, code) = (t[0], t[1]);
    key.set(Field::IcmpType, u128::from(ty));
    key.set(Field::IcmpCode, u128::from(code));
    if code != 0 || !matches!(ty, 135 | 136) {
        return;
    }
    // Neighbour solicitation/advertisement: 4 bytes ICMPv6 header, 4 reserved, 16 target.
    let Some(nd) = c.peek(24) else { return };
    let target = be128(nd, 8);
    let mut sll = 0u128;
    let mut tll = 0u128;
    let mut pos = c.pos + 24;
    // Options: type, length in 8-byte units. A malformed option invalidates the ND fields,
    // as in Open vSwitch (the key keeps type and code only).
    while pos + 8 <= c.data.len() {
        let (ot, olen) = (c.data[pos], usize::from(c.data[pos + 1]) * 8);
        if olen == 0 || pos + olen > c.data.len() {
            return;
        }
        match (ot, olen) {
            (1, 8) if sll == 0 => sll = mac(&c.data[pos + 2..pos + 8]),
            (2, 8) if tll == 0 => tll = mac(&c.data[pos + 2..pos + 8]),
            (1 | 2, 8) => return,
            _ => {}
        }
        pos += olen;
    }
    key.set(Field::NdTarget, target);
    if ty == 135 {
        key.set(Field::NdSll, sll);
    } else {
        key.set(Field::NdTll, tll);
    }
}

fn extract_arp(c: &mut Cursor<'_>, key: &mut FlowKey) -> Result<(), Malformed> {
    let Some(a) = c.peek(28) else { return Err(Malformed::TruncatedArp) };
    // Ethernet hardware, IPv4 protocol addresses only.
    if be16(a, 0) != 1 || be16(a, 2) != u128::from(ethertype::IPV4) || a[4] != 6 || a[5] != 4 {
        return Ok(());
    }
    let op = u16::from_be_bytes([a[6], a[7]]);
    if op <= 0xff {
        key.set(Field::ArpOp, u128::from(op));
    }
    key.set(Field::ArpSha, mac(&a[8..14]));
    key.set(Field::ArpSpa, be32(a, 14));
    key.set(Field::ArpTha, mac(&a[18..24]));
    key.set(Field::ArpTpa, be32(a, 24));
    Ok(())
}

/// Fuzz entry point shared by the `frame_parse` target and the corpus replay test: key
/// extraction must never panic, whatever the bytes.
#[doc(hidden)]
pub fn fuzz_frame_parse(data: &[u8]) {
    let in_port = PortNo(u16::from(data.first().copied().unwrap_or(0)));
    let key = flow_extract(data, in_port);
    // A re-extraction of the same bytes gives the same key (no hidden state), and the checked
    // form gives the same key as the plain one.
    assert_eq!(key, flow_extract(data, in_port));
    let mut checked = FlowKey::ZERO;
    let _ = extract_checked(data, in_port, &mut checked);
    assert_eq!(key, checked);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recomputes the checksum of a 20-byte IPv4 header.
    fn fix_checksum(ip: &mut [u8]) {
        ip[10] = 0;
        ip[11] = 0;
        let sum: u32 = ip.chunks_exact(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum();
        let sum = (sum & 0xffff) + (sum >> 16);
        let [a, b] = (!u16::try_from(sum).unwrap()).to_be_bytes();
        ip[10] = a;
        ip[11] = b;
    }

    /// Ethernet + IPv4 (header checksum right) + UDP 1234 -> 53, 8 bytes of payload.
    fn udp_frame() -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        let mut ip = vec![0x45, 0, 0, 36, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        fix_checksum(&mut ip);
        f.extend_from_slice(&ip);
        f.extend_from_slice(&[0x04, 0xd2, 0, 53, 0, 16, 0, 0]);
        f.extend_from_slice(&[0xab; 8]);
        f
    }

    fn check(frame: &[u8]) -> Result<(), Malformed> {
        let mut key = FlowKey::ZERO;
        let r = extract_checked(frame, PortNo(1), &mut key);
        assert_eq!(key, flow_extract(frame, PortNo(1)), "checked and plain keys differ");
        r
    }

    #[test]
    fn well_formed_frames_pass() {
        assert_eq!(check(&udp_frame()), Ok(()));
        // Ethernet padding after the IP datagram is allowed.
        let mut padded = udp_frame();
        padded.extend_from_slice(&[0; 16]);
        assert_eq!(check(&padded), Ok(()));
        // Unknown ethertypes and non-Ethernet ARP are not malformed, only not parsed further.
        let mut other = udp_frame();
        other[12..14].copy_from_slice(&[0x88, 0xb5]);
        assert_eq!(check(&other[..20]), Ok(()));
    }

    #[test]
    fn each_malformation_is_named() {
        let good = udp_frame();
        assert_eq!(check(&good[..10]), Err(Malformed::Runt));
        let mut vlan = good[..12].to_vec();
        vlan.extend_from_slice(&[0x81, 0x00, 0x00]);
        assert_eq!(check(&vlan), Err(Malformed::TruncatedVlan));
        let mut ihl = good.clone();
        ihl[14] = 0x44;
        assert_eq!(check(&ihl), Err(Malformed::BadIpv4Header));
        let mut long = good.clone();
        long[17] = 200;
        assert_eq!(check(&long), Err(Malformed::BadIpv4Header));
        let mut csum = good.clone();
        csum[24] ^= 0xff;
        assert_eq!(check(&csum), Err(Malformed::BadIpv4Checksum));
        let mut v6 = good[..14].to_vec();
        v6[12..14].copy_from_slice(&[0x86, 0xdd]);
        v6.extend_from_slice(&[0x60, 0, 0, 0]);
        assert_eq!(check(&v6), Err(Malformed::BadIpv6Header));
        let mut arp = good[..14].to_vec();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(check(&arp), Err(Malformed::TruncatedArp));
    }

    #[test]
    fn truncated_transport_header_is_malformed_unless_a_fragment() {
        let good = udp_frame();
        // IP total length 24: the UDP header is cut to 4 bytes.
        let mut short = good[..38].to_vec();
        short[17] = 24;
        fix_checksum(&mut short[14..34]);
        assert_eq!(check(&short), Err(Malformed::TruncatedL4));
        // The same bytes as a first fragment (MF set) are legitimate.
        let mut frag = short.clone();
        frag[20] = 0x20;
        fix_checksum(&mut frag[14..34]);
        assert_eq!(check(&frag), Ok(()));
    }
}
