//! Round trips of the stats/multipart messages, METER_MOD, NXT_PACKET_IN2, NXT_FLOW_REMOVED
//! and the learn/controller2 actions; decoding of the exact requests `ovs-ofctl` 3.1 sends;
//! reply splitting; length bounds.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod common;

use common::*;
use flowtable::flow_mod::{FlowMod, GROUP_ALL};
use flowtable::{Field, Match, PortNo};
use ofagent::codec::encode_stats_reply_split;
use ofagent::msg::{FlowStatsRequest, StatsReply, StatsRequest, METER_ALL, QUEUE_ALL};
use ofagent::{decode, encode, Message, OfError, OFP10_VERSION, OFP13_VERSION};
use proptest::prelude::*;

const BOTH: &[u8] = &[OFP10_VERSION, OFP13_VERSION];
const OF10: &[u8] = &[OFP10_VERSION];
const OF13: &[u8] = &[OFP13_VERSION];

fn cases() -> Vec<(&'static [u8], Message)> {
    use Message::{StatsReply as Rep, StatsRequest as Req};
    let fm = |actions| Message::FlowMod(Box::new(FlowMod::add(1, 10, Match::ANY.with(Field::EthType, 0x800), actions)));
    vec![
        (
            BOTH,
            Req(StatsRequest::Flow(Box::new(FlowStatsRequest { cookie: 0, cookie_mask: 0, ..flow_request(false) }))),
        ),
        (OF13, Req(StatsRequest::Flow(Box::new(flow_request(false))))),
        (OF10, Req(StatsRequest::Flow(Box::new(flow_request(true))))),
        (OF10, Req(StatsRequest::Aggregate(Box::new(flow_request(true))))),
        (OF13, Req(StatsRequest::Aggregate(Box::new(flow_request(false))))),
        (BOTH, Req(StatsRequest::Flow(Box::default()))),
        (BOTH, Req(StatsRequest::Table)),
        (BOTH, Req(StatsRequest::PortDesc)),
        (BOTH, Rep(StatsReply::PortDesc { ports: vec![port_desc(), port_desc()], more: true })),
        (BOTH, Req(StatsRequest::Port(PortNo::NONE))),
        (BOTH, Req(StatsRequest::Port(PortNo(3)))),
        (BOTH, Req(StatsRequest::Queue { port_no: PortNo::NONE, queue_id: QUEUE_ALL })),
        (OF13, Req(StatsRequest::Group(GROUP_ALL))),
        (OF13, Req(StatsRequest::GroupDesc)),
        (OF13, Req(StatsRequest::GroupFeatures)),
        (OF13, Req(StatsRequest::Meter(METER_ALL))),
        (OF13, Req(StatsRequest::MeterConfig(1))),
        (OF13, Req(StatsRequest::MeterFeatures)),
        (OF13, Req(StatsRequest::TableFeatures(vec![]))),
        (OF13, Req(StatsRequest::TableFeatures(vec![table_features(0)]))),
        (OF10, Rep(StatsReply::Flow { flows: vec![flow_entry(false), flow_entry(false)], nx: false, more: true })),
        (OF13, Rep(StatsReply::Flow { flows: vec![flow_entry(true)], nx: false, more: false })),
        (OF10, Rep(StatsReply::Flow { flows: vec![nx_flow_entry()], nx: true, more: false })),
        (OF10, Rep(StatsReply::Flow { flows: vec![], nx: true, more: false })),
        (BOTH, Rep(StatsReply::Aggregate { stats: aggregate(), nx: false })),
        (OF10, Rep(StatsReply::Aggregate { stats: aggregate(), nx: true })),
        (OF10, Rep(StatsReply::Table { tables: vec![table_stats(true)], more: false })),
        (OF13, Rep(StatsReply::Table { tables: vec![table_stats(false), table_stats(false)], more: true })),
        (OF10, Rep(StatsReply::Port { ports: vec![port_stats(false)], more: false })),
        (OF13, Rep(StatsReply::Port { ports: vec![port_stats(true)], more: false })),
        (OF10, Rep(StatsReply::Queue { queues: vec![queue_stats(false)], more: false })),
        (OF13, Rep(StatsReply::Queue { queues: vec![queue_stats(true)], more: false })),
        (BOTH, Rep(StatsReply::Queue { queues: vec![], more: false })),
        (OF13, Rep(StatsReply::Group { groups: vec![group_stats()], more: false })),
        (OF13, Rep(StatsReply::GroupDesc { groups: vec![group_desc()], more: false })),
        (OF13, Rep(StatsReply::GroupFeatures(group_features()))),
        (OF13, Rep(StatsReply::Meter { meters: vec![meter_stats()], more: false })),
        (OF13, Rep(StatsReply::MeterConfig { meters: vec![meter_config()], more: false })),
        (OF13, Rep(StatsReply::MeterFeatures(meter_features()))),
        (OF13, Rep(StatsReply::TableFeatures { tables: vec![table_features(0), table_features(1)], more: false })),
        (OF13, Message::MeterMod(Box::new(meter_mod()))),
        (BOTH, Message::NxPacketIn2(Box::new(packet_in2()))),
        (BOTH, Message::NxFlowRemoved(Box::new(flow_removed()))),
        (BOTH, fm(vec![neutron_learn(), busy_learn(), controller2()])),
    ]
}

/// Writes the cases as fuzz seeds (`OFAGENT_WRITE_SEEDS=1 cargo test -p ofagent --test stats
/// -- --ignored write_seeds`).
#[test]
#[ignore = "writes fuzz/corpus seeds on demand"]
fn write_seeds() {
    if std::env::var("OFAGENT_WRITE_SEEDS").is_err() {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (i, (versions, msg)) in cases().into_iter().enumerate() {
        for &v in versions {
            let dir = root.join(if v == OFP10_VERSION { "of10_decode" } else { "of13_decode" });
            std::fs::write(dir.join(format!("stats-{i:02}")), encode(v, 9, &msg).unwrap()).unwrap();
        }
    }
}

#[test]
fn every_new_message_round_trips() {
    for (i, (versions, msg)) in cases().into_iter().enumerate() {
        for &v in versions {
            let bytes = encode(v, 9, &msg).unwrap_or_else(|e| panic!("case {i} v{v}: encode: {e}"));
            let (h, back) = decode(&bytes).unwrap_or_else(|e| panic!("case {i} v{v}: decode: {e}"));
            assert_eq!(h.xid, 9);
            assert_eq!(back, msg, "case {i} version {v}");
            // Every strict prefix of the body is refused, never a panic.
            for cut in 8..bytes.len() {
                let mut short = bytes[..cut].to_vec();
                short[2..4].copy_from_slice(&u16::try_from(cut).unwrap().to_be_bytes());
                let _ = decode(&short);
            }
        }
    }
}

#[test]
fn version_specific_messages_are_refused_elsewhere() {
    let of13_only = [
        Message::StatsRequest(StatsRequest::GroupDesc),
        Message::StatsRequest(StatsRequest::Meter(1)),
        Message::StatsRequest(StatsRequest::TableFeatures(vec![])),
        Message::StatsReply(StatsReply::MeterFeatures(meter_features())),
        Message::MeterMod(Box::new(meter_mod())),
    ];
    for m in of13_only {
        assert!(matches!(encode(OFP10_VERSION, 1, &m), Err(OfError::Unencodable(_))), "{m:?}");
    }
    let nx = Message::StatsRequest(StatsRequest::Flow(Box::new(flow_request(true))));
    assert!(matches!(encode(OFP13_VERSION, 1, &nx), Err(OfError::Unencodable(_))));
    // OFPMP_GROUP_DESC (7) in a 1.0 stats request is OFPBRC_BAD_STAT.
    assert_eq!(decode(&[1, 16, 0, 12, 0, 0, 0, 1, 0, 7, 0, 0]), Err(OfError::BadStat(7)));
}

/// Requests captured from `ovs-ofctl` 3.1 talking to a unix socket.
#[test]
fn decodes_what_ovs_ofctl_sends() {
    let hex =
        |s: &str| (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect::<Vec<_>>();
    // Decodes, and re-encoding gives the same bytes.
    let d = |s: &str| {
        let bytes = hex(s);
        let (h, m) = decode(&bytes).unwrap();
        assert_eq!(encode(h.version, h.xid, &m).unwrap(), bytes, "re-encoding {m:?}");
        m
    };
    // dump-flows (OpenFlow 1.0, NXM): NXST_FLOW, all tables, no match.
    assert_eq!(
        d("0110002000000004ffff0000000023200000000000000000ffff0000ff000000"),
        Message::StatsRequest(StatsRequest::Flow(Box::new(FlowStatsRequest {
            nx: true,
            ..FlowStatsRequest::default()
        })))
    );
    // dump-flows 'cookie=0x5/0xff,tcp,tp_dst=80': the cookie rides as NXM_NX_COOKIE_W.
    let tcp80 = Match::ANY.with(Field::EthType, 0x800).with(Field::IpProto, 6).with(Field::TpDst, 80);
    assert_eq!(
        d("0110004800000008ffff0000000023200000000000000000ffff0025ff00000000000602080000000c010600001402005000013d10000000000000000500000000000000ff000000"),
        Message::StatsRequest(StatsRequest::Flow(Box::new(FlowStatsRequest {
            nx: true,
            cookie: 5,
            cookie_mask: 0xff,
            match_: tcp80,
            ..FlowStatsRequest::default()
        })))
    );
    // dump-aggregate 'cookie=0x5/-1,ip': NXST_AGGREGATE with an exact NXM_NX_COOKIE.
    assert_eq!(
        d("0110003800000008ffff0000000023200000000100000000ffff0012ff00000000000602080000013c080000000000000005000000000000"),
        Message::StatsRequest(StatsRequest::Aggregate(Box::new(FlowStatsRequest {
            nx: true,
            cookie: 5,
            cookie_mask: u64::MAX,
            match_: Match::ANY.with(Field::EthType, 0x800),
            ..FlowStatsRequest::default()
        })))
    );
    assert_eq!(d("0110000c0000000200030000"), Message::StatsRequest(StatsRequest::Table));
    assert_eq!(d("011000140000000200040000ffff000000000000"), Message::StatsRequest(StatsRequest::Port(PortNo::NONE)));
    assert_eq!(
        d("011000140000000200050000fffc0000ffffffff"),
        Message::StatsRequest(StatsRequest::Queue { port_no: PortNo::NONE, queue_id: QUEUE_ALL })
    );
    // OpenFlow 1.3.
    assert_eq!(
        d("04120038000000020002000000000000ff000000ffffffffffffffff00000000000000000000000000000000000000000001000400000000"),
        Message::StatsRequest(StatsRequest::Aggregate(Box::default()))
    );
    assert_eq!(d("04120010000000020003000000000000"), Message::StatsRequest(StatsRequest::Table));
    assert_eq!(
        d("04120018000000020004000000000000ffffffff00000000"),
        Message::StatsRequest(StatsRequest::Port(PortNo::NONE))
    );
    assert_eq!(
        d("04120018000000020005000000000000ffffffffffffffff"),
        Message::StatsRequest(StatsRequest::Queue { port_no: PortNo::NONE, queue_id: QUEUE_ALL })
    );
    assert_eq!(d("04120010000000020007000000000000"), Message::StatsRequest(StatsRequest::GroupDesc));
    assert_eq!(d("04120010000000020008000000000000"), Message::StatsRequest(StatsRequest::GroupFeatures));
    assert_eq!(
        d("0412001800000002000a000000000000ffffffff00000000"),
        Message::StatsRequest(StatsRequest::MeterConfig(METER_ALL))
    );
    assert_eq!(
        d("04120018000000020009000000000000ffffffff00000000"),
        Message::StatsRequest(StatsRequest::Meter(METER_ALL))
    );
    assert_eq!(d("0412001000000002000b000000000000"), Message::StatsRequest(StatsRequest::MeterFeatures));
    assert_eq!(d("0412001000000002000c000000000000"), Message::StatsRequest(StatsRequest::TableFeatures(vec![])));
    // add-meter 'meter=1,kbps,burst,band=type=drop,rate=100,burst_size=10'.
    let Message::MeterMod(mm) = d("041d002000000002000000050000000100010010000000640000000a00000000") else { panic!() };
    assert_eq!((mm.command, mm.flags, mm.meter_id, mm.bands.len()), (0, 5, 1, 1));
    assert_eq!((mm.bands[0].rate, mm.bands[0].burst_size), (100, 10));
}

#[test]
fn meter_mod_errors_as_ovs() {
    let mut bytes = encode(OFP13_VERSION, 1, &Message::MeterMod(Box::new(meter_mod()))).unwrap();
    bytes[9] = 7; // command
    assert_eq!(decode(&bytes), Err(OfError::BadMeterCommand(7)));
    assert_eq!(OfError::BadMeterCommand(7).error_type_code(OFP13_VERSION), (12, 4));
    let mut bytes = encode(OFP13_VERSION, 1, &Message::MeterMod(Box::new(meter_mod()))).unwrap();
    bytes[11] = 3; // kbps and pktps
    assert_eq!(decode(&bytes), Err(OfError::BadMeterFlags));
    let mut bytes = encode(OFP13_VERSION, 1, &Message::MeterMod(Box::new(meter_mod()))).unwrap();
    bytes[17] = 9; // band type
    assert_eq!(decode(&bytes), Err(OfError::BadMeterBand));
    assert_eq!(OfError::OutOfMeters.error_type_code(OFP13_VERSION), (12, 10));
}

#[test]
fn long_replies_split_with_reply_more() {
    let flows = vec![flow_entry(true); 600];
    let reply = StatsReply::Flow { flows: flows.clone(), nx: false, more: false };
    assert!(encode(OFP13_VERSION, 5, &Message::StatsReply(reply.clone())).is_err());
    let parts = encode_stats_reply_split(OFP13_VERSION, 5, &reply).unwrap();
    assert!(parts.len() >= 2, "{} parts", parts.len());
    let mut got = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        assert!(p.len() <= 65535);
        let (h, m) = decode(p).unwrap();
        assert_eq!(h.xid, 5);
        let Message::StatsReply(StatsReply::Flow { flows, more, .. }) = m else { panic!() };
        assert_eq!(more, i + 1 < parts.len());
        got.extend(flows);
    }
    assert_eq!(got, flows);
    // A short reply stays one message with its own flag.
    let one = StatsReply::Port { ports: vec![port_stats(true)], more: true };
    let parts = encode_stats_reply_split(OFP13_VERSION, 5, &one).unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(decode(&parts[0]).unwrap().1, Message::StatsReply(one));
}

#[test]
fn learn_refusals() {
    // Table 255 and unknown flags are OFPBAC_BAD_ARGUMENT, as Open vSwitch.
    let msg = Message::FlowMod(Box::new(FlowMod::add(0, 1, Match::ANY, vec![neutron_learn()])));
    let bytes = encode(OFP13_VERSION, 1, &msg).unwrap();
    let learn_at = bytes.windows(4).position(|w| w == [0, 0, 0x23, 0x20]).unwrap() - 4;
    let mut bad_table = bytes.clone();
    bad_table[learn_at + 26] = 0xff;
    assert!(matches!(decode(&bad_table), Err(OfError::BadActionArgument(_))));
    let mut bad_flags = bytes.clone();
    bad_flags[learn_at + 25] = 0x10;
    assert!(matches!(decode(&bad_flags), Err(OfError::BadActionArgument(_))));
}

proptest! {
    #[test]
    fn random_port_and_table_stats_round_trip(
        counters in proptest::array::uniform12(any::<u64>()),
        port in 0u16..0xff00,
        dur in any::<(u32, u32)>(),
        lookups in any::<(u32, u64, u64)>(),
        more in any::<bool>(),
    ) {
        let mut p = port_stats(true);
        p.port_no = PortNo(port);
        [p.rx_packets, p.tx_packets, p.rx_bytes, p.tx_bytes, p.rx_dropped, p.tx_dropped, p.rx_errors, p.tx_errors,
            p.rx_frame_err, p.rx_over_err, p.rx_crc_err, p.collisions] = counters;
        (p.duration_sec, p.duration_nsec) = dur;
        let mut t = table_stats(false);
        (t.active_count, t.lookup_count, t.matched_count) = lookups;
        for m in [
            Message::StatsReply(StatsReply::Port { ports: vec![p], more }),
            Message::StatsReply(StatsReply::Table { tables: vec![t.clone()], more }),
        ] {
            let bytes = encode(OFP13_VERSION, 1, &m).unwrap();
            prop_assert_eq!(decode(&bytes).unwrap().1, m);
        }
    }

    #[test]
    fn random_stats_bodies_never_panic(version in prop_oneof![Just(1u8), Just(4u8)], reply in any::<bool>(),
                                       stype in 0u16..16, body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = vec![version, if version == 1 { 16 } else { 18 } + u8::from(reply), 0, 0, 0, 0, 0, 1];
        bytes.extend_from_slice(&stype.to_be_bytes());
        bytes.extend_from_slice(&[0, 0]);
        if version == 4 {
            bytes.extend_from_slice(&[0; 4]);
        }
        bytes.extend_from_slice(&body);
        let len = u16::try_from(bytes.len()).unwrap();
        bytes[2..4].copy_from_slice(&len.to_be_bytes());
        ofagent::fuzz_of13(&bytes);
        ofagent::fuzz_of10(&bytes);
    }
}

#[test]
fn nx_matches_use_nxm_headers_for_every_field() {
    // Every OXM-to-NXM alias must name the same field: a match on all of them round-trips.
    let ipv6 = Match::ANY
        .with(Field::InPort, 1)
        .with(Field::TunId, 2)
        .with(Field::EthSrc, 3)
        .with(Field::EthDst, 4)
        .with(Field::EthType, 0x86dd)
        .with(Field::IpProto, 58)
        .with(Field::Ipv6Src, 5)
        .with(Field::Ipv6Dst, 6)
        .with(Field::Ipv6Label, 7)
        .with(Field::IpEcn, 1)
        .with(Field::IcmpType, 135)
        .with(Field::IcmpCode, 0)
        .with(Field::NdTarget, 8)
        .with(Field::NdSll, 9);
    let arp = Match::ANY
        .with(Field::EthType, 0x806)
        .with(Field::ArpOp, 1)
        .with(Field::ArpSpa, 1)
        .with(Field::ArpTpa, 2)
        .with(Field::ArpSha, 3)
        .with(Field::ArpTha, 4);
    let udp =
        Match::ANY.with(Field::EthType, 0x800).with(Field::IpProto, 17).with(Field::TpSrc, 1).with(Field::TpDst, 2);
    let icmp = Match::ANY
        .with(Field::EthType, 0x800)
        .with(Field::IpProto, 1)
        .with(Field::IcmpType, 8)
        .with(Field::IcmpCode, 0);
    for m in [ipv6, arp, udp, icmp] {
        let msg = Message::NxFlowRemoved(Box::new(ofagent::msg::FlowRemoved { match_: m, ..flow_removed() }));
        let bytes = encode(OFP10_VERSION, 1, &msg).unwrap();
        assert_eq!(decode(&bytes).unwrap().1, msg);
        // No OXM basic class header (0x8000) appears in the nx_match.
        let nx_match = &bytes[56..];
        let mut i = 0;
        while i + 4 <= nx_match.len() && nx_match[i..i + 4] != [0; 4] {
            assert_ne!(nx_match[i..i + 2], [0x80, 0x00], "OXM header at {i} for {m:?}");
            i += 4 + usize::from(nx_match[i + 3]);
        }
    }
}

/// Deterministic mutations of every corpus seed (byte flips, truncations, length fields set
/// to odd values) through the fuzz entry points: never a panic, and whatever decodes
/// re-encodes to the same message (checked inside the entry points).
#[test]
fn mutated_corpus_seeds_never_panic() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (dir, entry) in [("of10_decode", ofagent::fuzz_of10 as fn(&[u8])), ("of13_decode", ofagent::fuzz_of13)] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(dir);
        for file in std::fs::read_dir(path).unwrap() {
            let seed = std::fs::read(file.unwrap().path()).unwrap();
            for _ in 0..150 {
                let mut b = seed.clone();
                if b.is_empty() {
                    break;
                }
                for _ in 0..=(next() % 4) {
                    let i = (next() % b.len() as u64) as usize;
                    match next() % 4 {
                        0 => b[i] ^= 1 << (next() % 8),
                        1 => b[i] = next() as u8,
                        2 => b.truncate(i.max(8)),
                        _ => {
                            // An aligned 16-bit field set to a small or huge length.
                            let j = i & !1;
                            if j + 1 < b.len() {
                                let v = [0u16, 4, 8, 16, 0xffff][(next() % 5) as usize];
                                b[j..j + 2].copy_from_slice(&v.to_be_bytes());
                            }
                        }
                    }
                }
                entry(&b);
            }
        }
    }
}

fn arb_subfield() -> impl Strategy<Value = flowtable::SubField> {
    use flowtable::SubField;
    prop_oneof![
        (0u8..16, 0u32..32)
            .prop_flat_map(|(r, ofs)| (Just(r), Just(ofs), 1..=32 - ofs))
            .prop_map(|(r, ofs, n_bits)| SubField { field: Field::Reg(r), ofs, n_bits }),
        Just(SubField::whole(Field::EthSrc)),
        Just(SubField::whole(Field::EthDst)),
        Just(SubField::whole(Field::TunId)),
        Just(SubField::whole(Field::InPort)),
        Just(SubField { field: Field::VlanTci, ofs: 0, n_bits: 12 }),
    ]
}

fn arb_learn() -> impl Strategy<Value = flowtable::Action> {
    use flowtable::action::{Learn, LearnSpec, LearnSrc};
    let spec = (arb_subfield(), any::<u128>(), 0u8..5).prop_map(|(dst, v, kind)| {
        let wire_bits = if dst.field == Field::InPort { 16 } else { dst.n_bits };
        let imm = LearnSrc::Imm(if wire_bits >= 128 { v } else { v & ((1u128 << wire_bits) - 1) });
        // A field source of the same width: a register range, or the field itself.
        let same = LearnSrc::Field(dst);
        match kind {
            0 => LearnSpec::Match { dst, src: imm },
            1 => LearnSpec::Match { dst, src: same },
            2 if dst.field != Field::InPort => LearnSpec::Load { dst, src: imm },
            3 if dst.field != Field::InPort => LearnSpec::Load { dst, src: same },
            _ => LearnSpec::Output { src: dst },
        }
    });
    (any::<(u8, u16, u16, u16, u64, bool, bool)>(), proptest::collection::vec(spec, 0..6)).prop_map(
        |((table, prio, idle, fin, cookie, rem, del), specs)| {
            flowtable::Action::Learn(Box::new(Learn {
                table_id: table.min(254),
                priority: prio,
                idle_timeout: idle,
                hard_timeout: idle / 2,
                fin_idle_timeout: fin,
                fin_hard_timeout: fin / 3,
                cookie,
                flags: u16::from(rem),
                delete_learned: del,
                specs,
            }))
        },
    )
}

proptest! {
    #[test]
    fn random_learn_actions_round_trip(learn in arb_learn(), of13 in any::<bool>()) {
        let msg = Message::FlowMod(Box::new(FlowMod::add(0, 1, Match::ANY, vec![learn])));
        let v = if of13 { OFP13_VERSION } else { OFP10_VERSION };
        let bytes = encode(v, 1, &msg).unwrap();
        prop_assert_eq!(decode(&bytes).unwrap().1, msg);
    }

    #[test]
    fn random_flow_stats_round_trip(
        counters in any::<(u32, u32, u16, u16, u16, u64, u64, u64)>(),
        flags in 0u16..32,
        ages in any::<(Option<u16>, Option<u16>)>(),
        kind in 0u8..3,
        more in any::<bool>(),
    ) {
        let (dsec, dnsec, prio, idle, hard, cookie, pkts, bytes) = counters;
        let (v, nx) = [(OFP10_VERSION, false), (OFP13_VERSION, false), (OFP10_VERSION, true)][usize::from(kind)];
        let mut f = flow_entry(v == OFP13_VERSION);
        (f.duration_sec, f.duration_nsec, f.priority, f.idle_timeout, f.hard_timeout) = (dsec, dnsec, prio, idle, hard);
        (f.cookie, f.packet_count, f.byte_count) = (cookie, pkts, bytes);
        if v == OFP13_VERSION {
            f.flags = flags;
        }
        if nx {
            // Ages travel plus one, saturating: 65535 reads back as 65534.
            (f.idle_age, f.hard_age) = (ages.0.map(|a| a.min(65534)), ages.1.map(|a| a.min(65534)));
        }
        let msg = Message::StatsReply(StatsReply::Flow { flows: vec![f.clone(), f], nx, more });
        let bytes = encode(v, 3, &msg).unwrap();
        prop_assert_eq!(decode(&bytes).unwrap().1, msg);
    }

    #[test]
    fn random_meter_mods_round_trip(command in 0u16..3, flags in 0u16..16, id in any::<u32>(),
                                    bands in proptest::collection::vec(any::<(u8, u32, u32, u8)>(), 0..5)) {
        use ofagent::msg::{MeterBand, MeterBandType, MeterMod};
        prop_assume!(command == 2 || flags & 3 != 3);
        let bands = bands
            .into_iter()
            .map(|(t, rate, burst_size, p)| MeterBand {
                band_type: match t % 3 {
                    0 => MeterBandType::Drop,
                    1 => MeterBandType::DscpRemark { prec_level: p },
                    _ => MeterBandType::Experimenter(rate ^ burst_size),
                },
                rate,
                burst_size,
            })
            .collect();
        let msg = Message::MeterMod(Box::new(MeterMod { command, flags, meter_id: id, bands }));
        let bytes = encode(OFP13_VERSION, 3, &msg).unwrap();
        prop_assert_eq!(decode(&bytes).unwrap().1, msg);
    }
}

#[test]
fn nxt_flow_removed_drops_hard_timeout_and_keeps_table() {
    let fr = ofagent::msg::FlowRemoved { hard_timeout: 30, table_id: 254, ..flow_removed() };
    let bytes = encode(OFP10_VERSION, 1, &Message::NxFlowRemoved(Box::new(fr.clone()))).unwrap();
    let Message::NxFlowRemoved(back) = decode(&bytes).unwrap().1 else { panic!() };
    assert_eq!(*back, ofagent::msg::FlowRemoved { hard_timeout: 0, ..fr });
    // The table travels plus one: 0 on the wire means unknown and reads as 255.
    assert_eq!(bytes[8 + 8 + 8 + 3], 255);
    assert_eq!(OfError::TableFeaturesEperm.error_type_code(OFP13_VERSION), (13, 5));
}

/// `NXM_OF_IN_PORT` is 16 bits in Open vSwitch, our in_port 32: whole-port loads, output_reg
/// and learn outputs travel as `NXM_OF_IN_PORT[]` and come back as the whole field, as
/// flowtable's parser writes them.
#[test]
fn in_port_subfields_travel_as_16_bits() {
    let parsed = flowtable::syntax::parse_actions(
        "load:5->NXM_OF_IN_PORT[],output:NXM_OF_IN_PORT[],learn(table=1,output:OXM_OF_IN_PORT[])",
    )
    .unwrap();
    for v in [OFP10_VERSION, OFP13_VERSION] {
        let msg = Message::FlowMod(Box::new(FlowMod::add(0, 1, Match::ANY, parsed.clone())));
        let bytes = encode(v, 1, &msg).unwrap();
        assert_eq!(decode(&bytes).unwrap().1, msg, "version {v}");
    }
    let msg = Message::FlowMod(Box::new(FlowMod::add(0, 1, Match::ANY, parsed)));
    let bytes = encode(OFP10_VERSION, 7, &msg).unwrap();
    let hex = bytes.iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
        s
    });
    if let Ok(o) = std::process::Command::new("ovs-ofctl").args(["ofp-print", &hex]).output() {
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains(
                "actions=load:0x5->NXM_OF_IN_PORT[],output:NXM_OF_IN_PORT[],learn(table=1,output:NXM_OF_IN_PORT[])"
            ),
            "{text}"
        );
    }
}
