//! Round-trip and byte-exact tests of the OpenFlow 1.0/1.3 codec's public API.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use flowtable::PortNo;
use ofagent::framing::{Framer, FramingError};
use ofagent::msg::{
    AsyncConfig, DescStats, FlowRemoved, PortDesc, PortMod, Role, StatsReply, StatsRequest, SwitchConfig,
    SwitchFeatures,
};
use ofagent::{decode, encode, negotiate, Message, OfError, OFP10_VERSION, OFP13_VERSION};
use proptest::prelude::*;

fn port(n: u16) -> PortDesc {
    PortDesc {
        port_no: PortNo(n),
        hw_addr: [0, 1, 2, 3, 4, n as u8],
        name: format!("eth{n}"),
        config: 1,
        state: 4,
        curr: 0x40,
        advertised: 0x80,
        supported: 0xc0,
        peer: 0,
        curr_speed: 0,
        max_speed: 0,
    }
}

fn samples() -> Vec<Message> {
    vec![
        Message::Hello { versions: 0b10010 },
        Message::Error { err_type: 1, code: 6, data: vec![1, 0, 0, 8, 0, 0, 0, 1] },
        Message::EchoRequest(vec![]),
        Message::EchoReply(b"ping".to_vec()),
        Message::FeaturesRequest,
        Message::GetConfigRequest,
        Message::GetConfigReply(SwitchConfig { flags: 0, miss_send_len: 128 }),
        Message::SetConfig(SwitchConfig { flags: 1, miss_send_len: 0xffff }),
        Message::BarrierRequest,
        Message::BarrierReply,
        Message::PortStatus { reason: 2, port: port(3) },
        Message::PortStatus { reason: 0, port: port(PortNo::LOCAL.0) },
        Message::PortMod(PortMod {
            port_no: PortNo(9),
            hw_addr: [1, 2, 3, 4, 5, 6],
            config: 0x20,
            mask: 0x24,
            advertise: 8,
        }),
        Message::FlowRemoved(Box::new(FlowRemoved {
            cookie: 1,
            priority: 2,
            reason: 1,
            duration_sec: 4,
            idle_timeout: 5,
            packet_count: 6,
            byte_count: 7,
            match_: flowtable::Match::ANY.with(flowtable::Field::EthType, 0x0800),
            ..FlowRemoved::default()
        })),
    ]
}

#[test]
fn every_sample_round_trips_in_both_versions() {
    for version in [OFP10_VERSION, OFP13_VERSION] {
        for msg in samples() {
            let bytes = encode(version, 42, &msg).unwrap();
            let (h, back) = decode(&bytes).unwrap();
            assert_eq!((h.version, h.xid, usize::from(h.length)), (version, 42, bytes.len()));
            assert_eq!(back, msg, "version {version}");
        }
    }
}

#[test]
fn of13_only_messages_round_trip_and_are_refused_in_of10() {
    let async_cfg = AsyncConfig { packet_in_mask: [3, 0], port_status_mask: [7, 7], flow_removed_mask: [15, 0] };
    for msg in [
        Message::RoleRequest(Role { role: 2, generation_id: 9 }),
        Message::RoleReply(Role { role: 3, generation_id: 1 }),
        Message::GetAsyncRequest,
        Message::GetAsyncReply(async_cfg),
        Message::SetAsync(async_cfg),
        Message::TableMod { table_id: 0xff, config: 3 },
    ] {
        let bytes = encode(OFP13_VERSION, 4, &msg).unwrap();
        assert_eq!(decode(&bytes).unwrap().1, msg);
        assert!(matches!(encode(OFP10_VERSION, 4, &msg), Err(OfError::Unencodable(_))));
    }
    // Type 24 is not an OpenFlow 1.0 message.
    assert_eq!(decode(&[1, 24, 0, 8, 0, 0, 0, 0]), Err(OfError::BadType(24)));
}

#[test]
fn stats_desc_and_port_desc_round_trip() {
    let desc = DescStats {
        mfr_desc: "ferrovs".into(),
        hw_desc: "hw".into(),
        sw_desc: "0.1.0".into(),
        serial_num: "none".into(),
        dp_desc: "br0".into(),
    };
    for version in [OFP10_VERSION, OFP13_VERSION] {
        for msg in
            [Message::StatsRequest(StatsRequest::Desc), Message::StatsReply(StatsReply::Desc(Box::new(desc.clone())))]
        {
            let bytes = encode(version, 2, &msg).unwrap();
            assert_eq!(decode(&bytes).unwrap().1, msg);
        }
    }
    let pd = Message::StatsReply(StatsReply::PortDesc { ports: vec![port(1), port(2)], more: true });
    for msg in [Message::StatsRequest(StatsRequest::PortDesc), pd] {
        let bytes = encode(OFP13_VERSION, 2, &msg).unwrap();
        assert_eq!(decode(&bytes).unwrap().1, msg);
    }
    // An unknown multipart type: OFPBRC_BAD_STAT.
    let unknown = [4, 18, 0, 16, 0, 0, 0, 1, 0, 99, 0, 0, 0, 0, 0, 0];
    assert_eq!(decode(&unknown), Err(OfError::BadStat(99)));
    assert_eq!(OfError::BadStat(99).error_type_code(OFP13_VERSION), (1, 2));
}

#[test]
fn features_reply_carries_ports_only_in_of10() {
    let f = SwitchFeatures {
        datapath_id: 0x0000_0123_4567_89ab,
        n_buffers: 256,
        n_tables: 254,
        auxiliary_id: 0,
        capabilities: 0xc7,
        actions: 0xfff,
        ports: vec![port(1), port(2)],
    };
    let b10 = encode(OFP10_VERSION, 1, &Message::FeaturesReply(f.clone())).unwrap();
    assert_eq!(b10.len(), 32 + 2 * 48);
    assert_eq!(decode(&b10).unwrap().1, Message::FeaturesReply(f.clone()));
    let b13 = encode(OFP13_VERSION, 1, &Message::FeaturesReply(f.clone())).unwrap();
    assert_eq!(b13.len(), 32);
    assert_eq!(decode(&b13).unwrap().1, Message::FeaturesReply(SwitchFeatures { ports: vec![], ..f }));
}

#[test]
fn byte_exact_headers_and_hello() {
    assert_eq!(encode(OFP10_VERSION, 7, &Message::BarrierRequest).unwrap(), [1, 18, 0, 8, 0, 0, 0, 7]);
    assert_eq!(encode(OFP13_VERSION, 7, &Message::BarrierReply).unwrap(), [4, 21, 0, 8, 0, 0, 0, 7]);
    // OpenFlow 1.3 HELLO offering 1.0 and 1.3, as Open vSwitch sends it.
    let hello = encode(OFP13_VERSION, 1, &Message::Hello { versions: 0x12 }).unwrap();
    assert_eq!(hello, [4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x12]);
    // A 1.0 HELLO has no elements and implies version 1.
    assert_eq!(decode(&[1, 0, 0, 8, 0, 0, 0, 0]).unwrap().1, Message::Hello { versions: 0b10 });
}

#[test]
fn version_negotiation_picks_highest_common() {
    let ours = ofagent::SUPPORTED_VERSIONS;
    assert_eq!(negotiate(ours, 0b11110), Some(OFP13_VERSION));
    assert_eq!(negotiate(ours, 0b00010), Some(OFP10_VERSION));
    assert_eq!(negotiate(ours, 0b01100), None);
    let (_, Message::Hello { versions }) = decode(&[5, 0, 0, 8, 0, 0, 0, 0]).unwrap() else { panic!() };
    assert_eq!(negotiate(ours, versions), Some(OFP13_VERSION));
}

#[test]
fn bad_input_gives_openflow_errors() {
    assert_eq!(decode(&[1, 99, 0, 8, 0, 0, 0, 0]), Err(OfError::BadType(99)));
    assert_eq!(decode(&[7, 5, 0, 8, 0, 0, 0, 0]), Err(OfError::BadVersion(7)));
    assert!(matches!(decode(&[1, 9, 0, 10, 0, 0, 0, 0, 0, 0]), Err(OfError::BadLen(_))));
    assert!(matches!(decode(&[1, 5, 0, 9, 0, 0, 0, 0]), Err(OfError::BadLen(_))));
    assert_eq!(OfError::BadType(99).error_type_code(OFP10_VERSION), (1, 1));
    assert_eq!(OfError::BadLen("x").error_type_code(OFP13_VERSION), (1, 6));
    assert_eq!(OfError::BadMatchField.error_type_code(OFP13_VERSION), (4, 6));
    assert_eq!(OfError::BadPrereq.error_type_code(OFP13_VERSION), (4, 9));
    assert_eq!(OfError::UnsupInst(6).error_type_code(OFP13_VERSION), (3, 1));
    assert_eq!(OfError::BadOutPort(0x1_0000).error_type_code(OFP10_VERSION), (2, 4));
    assert_eq!(OfError::BadPrereq.error_type_code(OFP10_VERSION), (1, 260));
    assert_eq!(
        OfError::BadPrereq.error_reply(OFP10_VERSION, &[9]),
        Message::Error { err_type: 0xb0c2, code: 0, data: vec![0, 0, 0x23, 0x20, 0, 1, 1, 4, 9] }
    );
    assert_eq!(
        OfError::Unencodable("x").error_reply(OFP13_VERSION, &[]),
        Message::Error { err_type: 0xffff, code: 10, data: vec![0, 0, 0x23, 0x20] }
    );
}

#[test]
fn framer_splits_reassembles_and_rejects_short_lengths() {
    let mut stream = Vec::new();
    for (i, m) in samples().iter().enumerate() {
        stream.extend(encode(OFP13_VERSION, i as u32, m).unwrap());
    }
    for chunk in [1, 3, 8, 100, stream.len()] {
        let mut f = Framer::default();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            f.push(piece).unwrap();
            while let Some(m) = f.next_message().unwrap() {
                got.push(decode(m).unwrap().1);
            }
        }
        assert_eq!(got, samples());
        assert_eq!(f.buffered(), 0);
    }
    let mut f = Framer::default();
    f.push(&[4, 0, 0, 4, 0, 0, 0, 0]).unwrap();
    assert_eq!(f.next_message(), Err(FramingError::BadLength(4)));
    assert_eq!(f.push(&[0]), Err(FramingError::BadLength(4)));
    let mut f = Framer::new(16);
    assert_eq!(f.push(&[0; 17]), Err(FramingError::BufferFull(16)));
}

fn arb_port() -> impl Strategy<Value = PortDesc> {
    (any::<u16>(), any::<[u8; 6]>(), "[a-z0-9]{0,15}", any::<[u32; 6]>()).prop_map(|(n, hw, name, v)| PortDesc {
        port_no: PortNo(n),
        hw_addr: hw,
        name,
        config: v[0],
        state: v[1],
        curr: v[2],
        advertised: v[3],
        supported: v[4],
        peer: v[5],
        curr_speed: 0,
        max_speed: 0,
    })
}

proptest! {
    #[test]
    fn port_status_round_trips(p in arb_port(), reason in any::<u8>(), v13 in any::<bool>()) {
        let version = if v13 { OFP13_VERSION } else { OFP10_VERSION };
        let msg = Message::PortStatus { reason, port: p };
        let bytes = encode(version, 9, &msg).unwrap();
        prop_assert_eq!(decode(&bytes).unwrap().1, msg);
    }

    #[test]
    fn echo_and_error_round_trip(data in proptest::collection::vec(any::<u8>(), 0..200), t in any::<u16>(), c in any::<u16>()) {
        for msg in [Message::EchoRequest(data.clone()), Message::Error { err_type: t, code: c, data: data.clone() }] {
            let bytes = encode(OFP13_VERSION, 1, &msg).unwrap();
            prop_assert_eq!(decode(&bytes).unwrap().1, msg);
        }
    }

    #[test]
    fn fuzz_entry_points_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        ofagent::fuzz_of10(&data);
        ofagent::fuzz_of13(&data);
        ofagent::fuzz_stream(&data);
    }
}
