//! The in-kernel fast path's parser ([`ebpf::FlowKeyXdp::parse`], the mirror of the XDP
//! program's) against the slow path's extractor (`flowtable::extract`), on generated frames:
//! every frame the fast path takes is well-formed for the slow path, its header key holds the
//! same values as the flow key, and the flow-key fields outside the header key are the fixed
//! values the projection of megaflows relies on (`datapath::xdp_offload`). Random bytes never
//! make it panic.

use ebpf::FlowKeyXdp;
use flowtable::extract::extract_checked;
use flowtable::{Field, FlowKey, PortNo};
use proptest::prelude::*;

fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut s: u32 = h.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// A frame: Ethernet, maybe a VLAN tag, IPv4 with generated fields (valid or broken
/// checksum, IHL, length, fragment bits), and an L4 part of generated length.
#[allow(clippy::too_many_arguments)]
fn frame(
    vlan: Option<u16>,
    ethertype: u16,
    ihl: u8,
    tos: u8,
    ttl: u8,
    proto: u8,
    frag: u16,
    good_csum: bool,
    l4: &[u8],
    len_delta: i8,
) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    if let Some(tci) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    let hlen = usize::from(ihl) * 4;
    let total = (hlen + l4.len()) as i32 + i32::from(len_delta);
    let mut ip = vec![0u8; hlen.max(20)];
    ip[0] = 0x40 | ihl;
    ip[1] = tos;
    ip[2..4].copy_from_slice(&(total.clamp(0, 0xffff) as u16).to_be_bytes());
    ip[6..8].copy_from_slice(&frag.to_be_bytes());
    ip[8] = ttl;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&[10, 1, 2, 3]);
    ip[16..20].copy_from_slice(&[10, 4, 5, 6]);
    let c = ipv4_checksum(&ip[..hlen.clamp(20, ip.len())]);
    ip[10..12].copy_from_slice(&(if good_csum { c } else { c ^ 1 }).to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f
}

fn be(bytes: &[u8]) -> u128 {
    bytes.iter().fold(0u128, |a, b| (a << 8) | u128::from(*b))
}

/// Every flow-key field the header key does not carry, except in_port and TCP flags.
const FIXED: &[Field] = &[
    Field::Metadata,
    Field::TunId,
    Field::TunSrc,
    Field::TunDst,
    Field::VlanTci1,
    Field::Ipv6Src,
    Field::Ipv6Dst,
    Field::Ipv6Label,
    Field::IpFrag,
    Field::ArpSha,
    Field::ArpTha,
    Field::NdTarget,
];

fn check(f: &[u8]) -> Result<(), TestCaseError> {
    let mut key = FlowKey::ZERO;
    let slow = extract_checked(f, PortNo(1), &mut key);
    let Some(x) = FlowKeyXdp::parse(f) else { return Ok(()) };
    prop_assert!(slow.is_ok(), "the fast path took a frame the slow path refuses: {slow:?}");
    prop_assert_eq!(be(&x.eth_dst), key.get(Field::EthDst));
    prop_assert_eq!(be(&x.eth_src), key.get(Field::EthSrc));
    prop_assert_eq!(be(&x.eth_type), key.get(Field::EthType));
    prop_assert_eq!(be(&x.vlan_tci), key.get(Field::VlanTci));
    prop_assert_eq!(be(&x.nw_src), key.get(Field::Ipv4Src));
    prop_assert_eq!(be(&x.nw_dst), key.get(Field::Ipv4Dst));
    prop_assert_eq!(u128::from(x.nw_proto), key.get(Field::IpProto));
    prop_assert_eq!(u128::from(x.nw_tos), key.get(Field::IpTos));
    prop_assert_eq!(u128::from(x.nw_ttl), key.get(Field::IpTtl));
    prop_assert_eq!(be(&x.tp_src), key.get(Field::TpSrc));
    prop_assert_eq!(be(&x.tp_dst), key.get(Field::TpDst));
    for &field in FIXED {
        prop_assert_eq!(key.get(field), 0, "{:?}", field);
    }
    for r in 0..16 {
        prop_assert_eq!(key.get(Field::Reg(r)), 0);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn fast_path_keys_agree_with_the_slow_path(
        vlan in proptest::option::of(any::<u16>()),
        ethertype in prop_oneof![Just(0x0800u16), Just(0x0806), Just(0x86dd), Just(0x88b5), Just(0x8100), 0u16..0x700],
        ihl in prop_oneof![Just(5u8), 0u8..16],
        tos in any::<u8>(),
        ttl in any::<u8>(),
        proto in prop_oneof![Just(6u8), Just(17), Just(1), Just(132), any::<u8>()],
        frag in prop_oneof![Just(0u16), Just(0x4000), any::<u16>()],
        good_csum in prop_oneof![Just(true), Just(true), Just(false)],
        l4 in proptest::collection::vec(any::<u8>(), 0..48),
        len_delta in prop_oneof![Just(0i8), -8i8..8],
    ) {
        check(&frame(vlan, ethertype, ihl, tos, ttl, proto, frag, good_csum, &l4, len_delta))?;
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        check(&bytes)?;
    }
}

/// The property above is not vacuous: plain frames of each kind are taken by the fast path.
#[test]
fn plain_frames_are_taken() {
    let udp = [0x04, 0, 0, 0x35, 0, 8, 0x12, 0x34];
    let mut tcp = [0u8; 20];
    tcp[12] = 0x50;
    tcp[16] = 0x12;
    for f in [
        frame(None, 0x0800, 5, 0, 64, 17, 0, true, &udp, 0),
        frame(Some(0x2005), 0x0800, 5, 0x10, 64, 6, 0x4000, true, &tcp, 0),
        frame(None, 0x0800, 5, 0, 1, 1, 0, true, &[8, 0, 0, 0], 0),
        frame(None, 0x88b5, 5, 0, 0, 0, 0, true, &[], 0),
    ] {
        assert!(FlowKeyXdp::parse(&f).is_some(), "{f:02x?}");
        check(&f).unwrap();
    }
}
