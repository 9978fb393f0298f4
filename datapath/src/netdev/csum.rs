//! Completing checksums a local sender left to offload, for ports that receive frames without
//! the skb's checksum state (AF_XDP).
//!
//! A Linux sender whose device offers TX checksum offload (veth, tap) hands down TCP and UDP
//! packets whose checksum field holds only the folded pseudo-header sum (CHECKSUM_PARTIAL). An
//! AF_PACKET socket learns that from the `virtio_net_hdr`; an AF_XDP socket cannot. So every
//! received IPv4/IPv6 TCP or UDP frame whose checksum field equals the folded pseudo-header sum
//! gets its checksum computed. That is safe for complete frames too: if a correct checksum
//! happens to equal that value, completing it yields the same value again.

use flowtable::checksum::{fold, ones_sum};

/// Ones'-complement sum of `data` added to `sum`.
fn add(sum: u32, data: &[u8]) -> u32 {
    ones_sum(data, sum)
}

const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// Completes the TCP or UDP checksum of `frame` if it holds a partial (pseudo-header only)
/// checksum; returns whether it changed anything. Malformed or other frames are left alone.
pub fn complete_partial(frame: &mut [u8]) -> bool {
    if frame.len() < 14 {
        return false;
    }
    let mut off = 12;
    let mut ethertype = u16::from_be_bytes([frame[off], frame[off + 1]]);
    // Up to two VLAN tags.
    for _ in 0..2 {
        if ethertype != ETH_P_8021Q && ethertype != ETH_P_8021AD {
            break;
        }
        off += 4;
        let Some(t) = frame.get(off..off + 2) else { return false };
        ethertype = u16::from_be_bytes([t[0], t[1]]);
    }
    let l3 = off + 2;
    let (proto, l4, l4_len, pseudo) = match ethertype {
        ETH_P_IP => {
            let Some(h) = frame.get(l3..l3 + 20) else { return false };
            let ihl = usize::from(h[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
            let frag = u16::from_be_bytes([h[6], h[7]]) & 0x3fff;
            if h[0] >> 4 != 4 || ihl < 20 || total < ihl || frag != 0 || l3 + total > frame.len() {
                return false;
            }
            let len = total - ihl;
            let sum = add(0, &h[12..20]) + u32::from(h[9]) + len as u32;
            (h[9], l3 + ihl, len, sum)
        }
        ETH_P_IPV6 => {
            let Some(h) = frame.get(l3..l3 + 40) else { return false };
            let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
            if h[0] >> 4 != 6 || l3 + 40 + len > frame.len() {
                return false;
            }
            let sum = add(0, &h[8..40]) + u32::from(h[6]) + len as u32;
            (h[6], l3 + 40, len, sum)
        }
        _ => return false,
    };
    let at = match proto {
        IPPROTO_TCP if l4_len >= 20 => l4 + 16,
        IPPROTO_UDP if l4_len >= 8 => l4 + 6,
        _ => return false,
    };
    let field = u16::from_be_bytes([frame[at], frame[at + 1]]);
    if field != fold(pseudo) {
        return false;
    }
    // The field holds the pseudo-header sum: fold in the segment and complement.
    let mut c = !fold(add(0, &frame[l4..l4 + l4_len]));
    if proto == IPPROTO_UDP && c == 0 {
        c = 0xffff;
    }
    if c == field {
        return false;
    }
    frame[at..at + 2].copy_from_slice(&c.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference checksum, straight from RFC 1071/793/768: pseudo header plus segment with the
    /// checksum field zeroed.
    fn reference(src: &[u8], dst: &[u8], proto: u8, seg: &[u8], at: usize) -> u16 {
        let mut s = seg.to_vec();
        s[at] = 0;
        s[at + 1] = 0;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(src);
        bytes.extend_from_slice(dst);
        bytes.extend_from_slice(&[0, proto]);
        bytes.extend_from_slice(&(seg.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&s);
        if bytes.len() % 2 == 1 {
            bytes.push(0);
        }
        let mut sum: u64 = bytes.chunks(2).map(|c| u64::from(u16::from_be_bytes([c[0], c[1]]))).sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        let c = !(sum as u16);
        if proto == IPPROTO_UDP && c == 0 {
            0xffff
        } else {
            c
        }
    }

    fn frame(v6: bool, proto: u8, payload: &[u8], vlan: bool) -> (Vec<u8>, usize, u16) {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
        }
        let hdr_len = if proto == IPPROTO_TCP { 20 } else { 8 };
        let mut seg = vec![0u8; hdr_len];
        seg[0..4].copy_from_slice(&[0x13, 0x89, 0x00, 0x50]);
        if proto == IPPROTO_TCP {
            seg[12] = 0x50;
        } else {
            seg[4..6].copy_from_slice(&((hdr_len + payload.len()) as u16).to_be_bytes());
        }
        seg.extend_from_slice(payload);
        let at = if proto == IPPROTO_TCP { 16 } else { 6 };
        let (src, dst): (Vec<u8>, Vec<u8>) =
            if v6 { ((1..=16).collect(), (17..=32).collect()) } else { (vec![10, 77, 0, 1], vec![10, 77, 0, 2]) };
        let c = reference(&src, &dst, proto, &seg, at);
        seg[at..at + 2].copy_from_slice(&c.to_be_bytes());
        let l4 = if v6 {
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend_from_slice(&(seg.len() as u16).to_be_bytes());
            f.extend_from_slice(&[proto, 64]);
            f.extend_from_slice(&src);
            f.extend_from_slice(&dst);
            f.len()
        } else {
            f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
            f.extend_from_slice(&((20 + seg.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
            f.extend_from_slice(&src);
            f.extend_from_slice(&dst);
            f.len()
        };
        f.extend_from_slice(&seg);
        (f, l4 + at, c)
    }

    /// What a sender with checksum offload puts in the field: the folded pseudo-header sum.
    fn make_partial(f: &mut [u8], at: usize, v6: bool, proto: u8) {
        let l3 = if f[12] == 0x81 { 18 } else { 14 };
        let (sum, len) = if v6 {
            let len = u16::from_be_bytes([f[l3 + 4], f[l3 + 5]]);
            (add(0, &f[l3 + 8..l3 + 40]), len)
        } else {
            let len = u16::from_be_bytes([f[l3 + 2], f[l3 + 3]]) - 20;
            (add(0, &f[l3 + 12..l3 + 20]), len)
        };
        let p = fold(sum + u32::from(proto) + u32::from(len));
        f[at..at + 2].copy_from_slice(&p.to_be_bytes());
    }

    #[test]
    fn partial_tcp_and_udp_over_ipv4_and_ipv6_are_completed() {
        for v6 in [false, true] {
            for proto in [IPPROTO_TCP, IPPROTO_UDP] {
                for vlan in [false, true] {
                    let (mut f, at, good) = frame(v6, proto, b"ferrovs checksum test!", vlan);
                    let orig = f.clone();
                    assert!(!complete_partial(&mut f), "complete frame untouched");
                    assert_eq!(f, orig);
                    make_partial(&mut f, at, v6, proto);
                    assert!(complete_partial(&mut f), "v6={v6} proto={proto} vlan={vlan}");
                    assert_eq!(u16::from_be_bytes([f[at], f[at + 1]]), good);
                    assert_eq!(f, orig);
                }
            }
        }
    }

    #[test]
    fn malformed_and_other_frames_are_left_alone() {
        for mut f in [vec![], vec![0; 13], vec![0; 14], vec![0xff; 60]] {
            let orig = f.clone();
            assert!(!complete_partial(&mut f));
            assert_eq!(f, orig);
        }
        // Truncated IPv4 (total length beyond the frame).
        let (mut f, _, _) = frame(false, IPPROTO_TCP, b"abc", false);
        f.truncate(f.len() - 1);
        assert!(!complete_partial(&mut f));
    }

    proptest! {
        #[test]
        fn completing_is_correct_and_idempotent(
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            v6 in any::<bool>(), tcp in any::<bool>(), vlan in any::<bool>(),
        ) {
            let proto = if tcp { IPPROTO_TCP } else { IPPROTO_UDP };
            let (mut f, at, good) = frame(v6, proto, &payload, vlan);
            let orig = f.clone();
            complete_partial(&mut f);
            prop_assert_eq!(&f, &orig);
            make_partial(&mut f, at, v6, proto);
            complete_partial(&mut f);
            prop_assert_eq!(u16::from_be_bytes([f[at], f[at + 1]]), good);
            complete_partial(&mut f);
            prop_assert_eq!(&f, &orig);
        }

        #[test]
        fn never_panics(mut f in proptest::collection::vec(any::<u8>(), 0..200)) {
            complete_partial(&mut f);
        }
    }
}
