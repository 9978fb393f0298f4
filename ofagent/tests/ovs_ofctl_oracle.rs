//! Uses the stock `ovs-ofctl ofp-parse` as an oracle: it must print what we encoded.
//! Skips with a printed reason when `ovs-ofctl` is absent, except under `CI=true`.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod common;

use flowtable::{Field, Match, PortNo};
use ofagent::msg::{
    DescStats, FlowRemoved, PacketIn, PortDesc, PortMod, Role, StatsReply, StatsRequest, SwitchConfig, SwitchFeatures,
    NO_BUFFER,
};
use ofagent::{encode, Message, OfError, OFP10_VERSION, OFP13_VERSION};

fn port() -> PortDesc {
    PortDesc {
        port_no: PortNo(5),
        hw_addr: [0xaa, 0, 0, 0, 0, 5],
        name: "vif5.0".into(),
        state: 4,
        curr: 0x840,
        curr_speed: 10_000_000,
        max_speed: 10_000_000,
        ..PortDesc::default()
    }
}

#[test]
fn ovs_ofctl_reads_what_we_encode() {
    let bad = encode(OFP10_VERSION, 3, &Message::BarrierRequest).unwrap();
    let pin = PacketIn {
        buffer_id: NO_BUFFER,
        total_len: 60,
        reason: 1,
        table_id: 3,
        cookie: 0x1234,
        match_: Match::ANY
            .with(Field::InPort, 5)
            .with(Field::Reg(0), 9)
            .with(Field::TunId, 42)
            .with(Field::EthType, 0x800)
            .with(Field::IpProto, 6)
            .with_masked(Field::TpDst, 80, 0xfff0),
        data: vec![0xab; 60],
    };
    let fr = FlowRemoved {
        cookie: 0x5,
        priority: 7,
        reason: 2,
        table_id: 1,
        duration_sec: 3,
        duration_nsec: 5_000_000,
        idle_timeout: 60,
        hard_timeout: 0,
        packet_count: 10,
        byte_count: 600,
        match_: Match::ANY.with(Field::InPort, 2).with(Field::EthType, 0x0806),
    };
    let pm = PortMod { port_no: PortNo(3), hw_addr: [0xaa, 0, 0, 0, 0, 3], config: 1, mask: 1, advertise: 0 };
    let desc = DescStats { mfr_desc: "ferrovs".into(), dp_desc: "br0".into(), ..DescStats::default() };
    let cases: Vec<(u8, Message, &[&str])> = vec![
        (OFP13_VERSION, Message::StatsRequest(StatsRequest::PortDesc), &["OFPST_PORT_DESC request (OF1.3) (xid=0x7):"]),
        (
            OFP10_VERSION,
            Message::StatsReply(StatsReply::Desc(Box::new(desc))),
            &["OFPST_DESC reply (xid=0x7):", "Manufacturer: ferrovs", "DP Description: br0"],
        ),
        (
            OFP13_VERSION,
            Message::StatsReply(StatsReply::PortDesc { ports: vec![port()], more: false }),
            &["OFPST_PORT_DESC reply (OF1.3) (xid=0x7):", " 5(vif5.0): addr:aa:00:00:00:00:05"],
        ),
        (
            OFP13_VERSION,
            Message::RoleRequest(Role { role: 2, generation_id: 9 }),
            &["OFPT_ROLE_REQUEST (OF1.3) (xid=0x7): role=primary generation_id=9"],
        ),
        (
            OFP13_VERSION,
            Message::TableMod { table_id: 1, config: 0 },
            &["OFPT_TABLE_MOD (OF1.3) (xid=0x7): table_id=1"],
        ),
        (
            OFP13_VERSION,
            Message::FlowRemoved(Box::new(fr.clone())),
            &["OFPT_FLOW_REMOVED (OF1.3) (xid=0x7): priority=7,arp,in_port=2 reason=delete table_id=1 \
               cookie:0x5 duration3.005s idle60 pkts10 bytes600"],
        ),
        (
            OFP10_VERSION,
            Message::FlowRemoved(Box::new(FlowRemoved { table_id: 0, ..fr })),
            &["OFPT_FLOW_REMOVED (xid=0x7): priority=7,arp,in_port=2 reason=delete cookie:0x5 duration3.005s \
               idle60 pkts10 bytes600"],
        ),
        (
            OFP13_VERSION,
            Message::PortMod(pm),
            &[
                "OFPT_PORT_MOD (OF1.3) (xid=0x7): port: 3: addr:aa:00:00:00:00:03",
                "config: PORT_DOWN",
                "mask:   PORT_DOWN",
            ],
        ),
        (
            OFP10_VERSION,
            Message::PortMod(pm),
            &["OFPT_PORT_MOD (xid=0x7): port: 3: addr:aa:00:00:00:00:03", "config: PORT_DOWN"],
        ),
        (
            OFP13_VERSION,
            Message::PacketIn(Box::new(pin.clone())),
            &["OFPT_PACKET_IN (OF1.3) (xid=0x7): table_id=3 cookie=0x1234 total_len=60 \
               tcp,reg0=0x9,tun_id=0x2a,in_port=5,tp_dst=0x50/0xfff0 (via action) data_len=60 (unbuffered)"],
        ),
        (
            OFP10_VERSION,
            Message::PacketIn(Box::new(pin)),
            &["OFPT_PACKET_IN (xid=0x7): total_len=60 in_port=5 (via action) data_len=60 (unbuffered)"],
        ),
        (
            OFP10_VERSION,
            OfError::BadPrereq.error_reply(OFP10_VERSION, &bad),
            &["OFPT_ERROR (xid=0x7): OFPBMC_BAD_PREREQ"],
        ),
        (
            OFP13_VERSION,
            OfError::BadPrereq.error_reply(OFP13_VERSION, &bad),
            &["OFPT_ERROR (OF1.3) (xid=0x7): OFPBMC_BAD_PREREQ"],
        ),
        (OFP10_VERSION, OfError::UnsupInst(1).error_reply(OFP10_VERSION, &bad), &["OFPBIC_UNSUP_INST"]),
        (OFP13_VERSION, OfError::Unencodable("x").error_reply(OFP13_VERSION, &bad), &["NXBRC_UNENCODABLE_ERROR"]),
        (OFP10_VERSION, OfError::BadMatchField.error_reply(OFP10_VERSION, &bad), &["OFPBMC_BAD_FIELD"]),
        (OFP13_VERSION, OfError::DupField.error_reply(OFP13_VERSION, &bad), &["OFPBMC_DUP_FIELD"]),
        (
            OFP13_VERSION,
            Message::Hello { versions: 0x12 },
            &["OFPT_HELLO (OF1.3) (xid=0x7)", "version bitmap: 0x01, 0x04"],
        ),
        (OFP10_VERSION, Message::EchoRequest(vec![1, 2]), &["OFPT_ECHO_REQUEST (xid=0x7): 2 bytes of payload"]),
        (OFP13_VERSION, Message::BarrierRequest, &["OFPT_BARRIER_REQUEST (OF1.3) (xid=0x7)"]),
        (
            OFP10_VERSION,
            Message::SetConfig(SwitchConfig { flags: 0, miss_send_len: 128 }),
            &["OFPT_SET_CONFIG (xid=0x7): frags=normal miss_send_len=128"],
        ),
        (
            OFP13_VERSION,
            Message::PortStatus { reason: 2, port: port() },
            &["OFPT_PORT_STATUS (OF1.3) (xid=0x7): MOD: 5(vif5.0): addr:aa:00:00:00:00:05", "state:      LIVE"],
        ),
        (
            OFP10_VERSION,
            Message::FeaturesReply(SwitchFeatures {
                datapath_id: 0xabc,
                n_buffers: 0,
                n_tables: 254,
                ports: vec![port()],
                ..SwitchFeatures::default()
            }),
            &[
                "OFPT_FEATURES_REPLY (xid=0x7): dpid:0000000000000abc",
                "n_tables:254, n_buffers:0",
                " 5(vif5.0): addr:aa:00:00:00:00:05",
            ],
        ),
    ];
    for (i, (version, msg, expect)) in cases.iter().enumerate() {
        let bytes = encode(*version, 7, msg).unwrap();
        let Some(text) = common::ofp_parse(&bytes, &i.to_string()) else { return };
        for line in *expect {
            assert!(text.contains(line), "case {i}: expected {line:?} in:\n{text}");
        }
    }
}
