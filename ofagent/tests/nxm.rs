//! NXM/OXM match codec: byte-exact entries, error mapping and random round trips.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use flowtable::field::{ethertype, ipproto};
use flowtable::{Field, Match, PortNo};
use ofagent::codec::nxm::{decode_entries, encode_entries};
use ofagent::msg::{PacketIn, NO_BUFFER};
use ofagent::{decode, encode, Message, OfError, OFP10_VERSION, OFP13_VERSION};
use proptest::prelude::*;

#[test]
fn byte_exact_oxm_and_nxm_entries() {
    let m = Match::ANY.with(Field::InPort, 1).with(Field::EthType, 0x0800).with_masked(
        Field::Ipv4Src,
        0x0a00_0000,
        0xff00_0000,
    );
    let bytes = encode_entries(&m).unwrap();
    #[rustfmt::skip]
    let want = [
        0x80, 0, 0, 4, 0, 0, 0, 1,           // OXM_OF_IN_PORT
        0x80, 0, 0x0a, 2, 0x08, 0,           // OXM_OF_ETH_TYPE
        0x80, 0, 0x17, 8, 10, 0, 0, 0, 255, 0, 0, 0, // OXM_OF_IPV4_SRC_W
    ];
    assert_eq!(bytes, want);
    assert_eq!(decode_entries(&bytes).unwrap(), m);
    // LOCAL is 0xfffffffe in OXM.
    let local = encode_entries(&Match::ANY.with(Field::InPort, u128::from(PortNo::LOCAL.0))).unwrap();
    assert_eq!(local, [0x80, 0, 0, 4, 0xff, 0xff, 0xff, 0xfe]);
    // Registers are NXM_NX_REGn, xregs OXM packet registers.
    let reg = encode_entries(&Match::ANY.with(Field::Reg(3), 7)).unwrap();
    assert_eq!(reg, [0, 1, 6, 4, 0, 0, 0, 7]);
    let x = decode_entries(&[0x80, 1, 2, 8, 0, 0, 0, 1, 0, 0, 0, 2]).unwrap();
    assert_eq!(x, Match::ANY.with(Field::Reg(2), 1).with(Field::Reg(3), 2));
}

#[test]
fn match_errors_map_to_openflow_codes() {
    // tcp_dst without ip_proto.
    assert_eq!(decode_entries(&[0x80, 0, 0x1c, 2, 0, 80]), Err(OfError::BadPrereq));
    assert_eq!(decode_entries(&[0x80, 0, 0x7e, 2, 0, 80]), Err(OfError::BadMatchField));
    assert_eq!(decode_entries(&[0x80, 0, 0x0a, 2, 8, 0, 0x80, 0, 0x0a, 2, 8, 0]), Err(OfError::DupField));
    assert!(matches!(decode_entries(&[0x80, 0, 0x0a, 3, 8, 0, 0]), Err(OfError::BadMatchLen(_))));
    assert!(matches!(decode_entries(&[0x80, 0, 0x0a]), Err(OfError::BadMatchLen(_))));
    // VLAN_VID above 13 bits; value bits outside the mask.
    assert_eq!(decode_entries(&[0x80, 0, 0x0c, 2, 0x20, 0]), Err(OfError::BadValue));
    assert_eq!(decode_entries(&[0x80, 0, 0x0b, 4, 8, 0, 0, 0x0f]), Err(OfError::BadWildcards));
    assert_eq!(OfError::BadPrereq.error_type_code(OFP13_VERSION), (4, 9));
}

#[test]
fn packet_in_round_trips_with_pipeline_fields() {
    let p = PacketIn {
        buffer_id: NO_BUFFER,
        total_len: 60,
        reason: 1,
        table_id: 3,
        cookie: 0x1234,
        match_: Match::ANY.with(Field::InPort, 5).with(Field::Reg(0), 9).with(Field::TunId, 42),
        data: vec![0xab; 60],
    };
    let bytes = encode(OFP13_VERSION, 1, &Message::PacketIn(Box::new(p.clone()))).unwrap();
    assert_eq!(decode(&bytes).unwrap().1, Message::PacketIn(Box::new(p.clone())));
    // OpenFlow 1.0 keeps only in_port.
    let bytes = encode(OFP10_VERSION, 1, &Message::PacketIn(Box::new(p.clone()))).unwrap();
    let want = PacketIn { table_id: 0, cookie: 0, match_: Match::ANY.with(Field::InPort, 5), ..p };
    assert_eq!(decode(&bytes).unwrap().1, Message::PacketIn(Box::new(want)));
}

/// A random match that meets prerequisites: one of a few protocol shapes plus masked fields.
fn arb_match() -> impl Strategy<Value = Match> {
    let shape = prop_oneof![
        Just((ethertype::IPV4, Some(ipproto::TCP))),
        Just((ethertype::IPV4, Some(ipproto::UDP))),
        Just((ethertype::IPV4, Some(ipproto::ICMP))),
        Just((ethertype::IPV6, Some(ipproto::SCTP))),
        Just((ethertype::IPV6, Some(ipproto::ICMPV6))),
        Just((ethertype::ARP, None)),
        Just((0x88cc, None)),
    ];
    (shape, any::<[u128; 8]>(), any::<[u128; 8]>(), any::<u8>()).prop_map(|((et, proto), vals, masks, pick)| {
        let mut m = Match::ANY.with(Field::EthType, u128::from(et));
        if let Some(p) = proto {
            m.set(Field::IpProto, u128::from(p));
        }
        let mut fields =
            vec![Field::InPort, Field::Metadata, Field::Reg(pick % 16), Field::TunId, Field::EthSrc, Field::VlanTci];
        match (et, proto) {
            (ethertype::ARP, _) => fields.extend([Field::ArpOp, Field::ArpSpa, Field::ArpTha]),
            (ethertype::IPV4, Some(ipproto::ICMP)) => fields.extend([Field::Ipv4Dst, Field::IcmpType, Field::IcmpCode]),
            (ethertype::IPV4, Some(p)) => {
                fields.extend([Field::Ipv4Src, Field::IpDscp, Field::TpDst]);
                if p == ipproto::TCP {
                    fields.push(Field::TcpFlags);
                }
            }
            (ethertype::IPV6, Some(_)) => {
                fields.extend([Field::Ipv6Src, Field::Ipv6Label, Field::IpTtl, Field::IpFrag]);
            }
            _ => {}
        }
        for (i, f) in fields.into_iter().enumerate() {
            if f == Field::InPort {
                m.set(f, vals[0] & 0xffff);
            } else {
                m.set_masked(f, vals[i % 8], masks[i % 8]);
            }
        }
        m
    })
}

proptest! {
    #[test]
    fn random_matches_round_trip(m in arb_match()) {
        let bytes = encode_entries(&m).unwrap();
        prop_assert_eq!(decode_entries(&bytes).unwrap(), m);
        let p = PacketIn { buffer_id: 1, total_len: 0, reason: 0, table_id: 0, cookie: 0, match_: m, data: vec![] };
        let msg = encode(OFP13_VERSION, 2, &Message::PacketIn(Box::new(p.clone()))).unwrap();
        prop_assert_eq!(decode(&msg).unwrap().1, Message::PacketIn(Box::new(p)));
    }
}
