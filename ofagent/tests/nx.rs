//! Nicira vendor messages: round trips in both versions and the ovs-ofctl oracle.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod common;

use flowtable::{Action, Field, FlowMod, Match, PortNo, SubField};
use ofagent::{decode, encode, Message, OfError, OFP10_VERSION, OFP13_VERSION};

fn nx_flow_mod() -> FlowMod {
    let m = Match::ANY
        .with(Field::Reg(0), 7)
        .with_masked(Field::TunId, 0x10, 0xff)
        .with(Field::EthType, 0x86dd)
        .with_masked(Field::Ipv6Src, 0x2001_0db8 << 96, u128::MAX << 96);
    FlowMod {
        cookie: 3,
        ..FlowMod::add(
            2,
            10,
            m,
            vec![
                Action::RegMove { src: SubField::whole(Field::Reg(0)), dst: SubField::whole(Field::Reg(1)) },
                Action::Output { port: PortNo(1), max_len: 0 },
            ],
        )
    }
}

fn samples() -> Vec<Message> {
    vec![
        Message::NxSetFlowFormat(2),
        Message::NxFlowModTableId(true),
        Message::NxSetPacketInFormat(1),
        Message::NxSetControllerId(5),
        Message::NxFlowMod(Box::new(nx_flow_mod())),
    ]
}

#[test]
fn nicira_messages_round_trip() {
    for version in [OFP10_VERSION, OFP13_VERSION] {
        for msg in samples() {
            let bytes = encode(version, 1, &msg).unwrap();
            assert_eq!(bytes[1], 4, "vendor/experimenter type");
            assert_eq!(decode(&bytes).unwrap().1, msg);
        }
    }
    // Unknown vendor; unknown Nicira subtype.
    assert_eq!(decode(&[1, 4, 0, 16, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0]), Err(OfError::BadVendor(9)));
    assert_eq!(decode(&[1, 4, 0, 16, 0, 0, 0, 0, 0, 0, 0x23, 0x20, 0, 0, 0, 99]), Err(OfError::BadSubtype(99)));
}

#[test]
fn ovs_ofctl_parses_nicira_messages() {
    let mut stream = Vec::new();
    for msg in samples() {
        stream.extend(encode(OFP10_VERSION, 7, &msg).unwrap());
    }
    let Some(text) = common::ofp_parse(&stream, "nx") else { return };
    let want = [
        "NXT_SET_FLOW_FORMAT (xid=0x7): format=nxm",
        "NXT_FLOW_MOD_TABLE_ID (xid=0x7): enable",
        "NXT_SET_PACKET_IN_FORMAT (xid=0x7): format=nxt_packet_in",
        "NXT_SET_CONTROLLER_ID (xid=0x7): id=5",
        "NXT_FLOW_MOD (xid=0x7): ADD table:2 priority=10,ipv6,reg0=0x7,tun_id=0x10/0xff,ipv6_src=2001:db8::/32 \
         cookie:0x3 actions=move:NXM_NX_REG0[]->NXM_NX_REG1[],output:1",
    ];
    assert_eq!(text.lines().collect::<Vec<_>>(), want);
}

#[test]
fn onf_bundles_round_trip_and_ovs_ofctl_reads_them() {
    let inner = encode(OFP13_VERSION, 9, &Message::FlowMod(Box::new(nx_flow_mod_13()))).unwrap();
    let msgs = [
        Message::BundleControl { bundle_id: 1, ctrl_type: 0, flags: 1, properties: vec![] },
        Message::BundleAdd { bundle_id: 1, flags: 1, message: inner },
        Message::BundleControl { bundle_id: 1, ctrl_type: 4, flags: 1, properties: vec![] },
    ];
    let mut stream = Vec::new();
    for msg in &msgs {
        let bytes = encode(OFP13_VERSION, 9, msg).unwrap();
        assert_eq!(&decode(&bytes).unwrap().1, msg);
        stream.extend(bytes);
        assert!(encode(OFP10_VERSION, 9, msg).is_err());
    }
    // The bundled message must carry the outer xid.
    let mut wrong = encode(OFP13_VERSION, 9, &msgs[1]).unwrap();
    wrong[4..8].copy_from_slice(&10u32.to_be_bytes());
    assert_eq!(decode(&wrong), Err(OfError::BundleBadXid));
    assert_eq!(OfError::BundleBadXid.error_type_code(OFP13_VERSION), (0xffff, 2309));
    let Some(text) = common::ofp_parse(&stream, "bundle") else { return };
    let want = [
        "ONFT_BUNDLE_CONTROL (OF1.3) (xid=0x9):",
        " bundle_id=0x1 type=OPEN_REQUEST flags=atomic",
        "ONFT_BUNDLE_ADD_MESSAGE (OF1.3) (xid=0x9):",
        " bundle_id=0x1 flags=atomic",
        "OFPT_FLOW_MOD (OF1.3) (xid=0x9): ADD priority=5,in_port=1 actions=output:2",
        "ONFT_BUNDLE_CONTROL (OF1.3) (xid=0x9):",
        " bundle_id=0x1 type=COMMIT_REQUEST flags=atomic",
    ];
    assert_eq!(text.lines().collect::<Vec<_>>(), want);
}

fn nx_flow_mod_13() -> FlowMod {
    FlowMod::add(0, 5, Match::ANY.with(Field::InPort, 1), vec![Action::Output { port: PortNo(2), max_len: 0 }])
}

/// `ovs-ofctl del-flows/mod-flows 'cookie=0x5/-1'` (OpenFlow 1.0, NXM) put the cookie filter in
/// the match as NXM_NX_COOKIE(_W); the header cookie is then the new cookie (all-ones: keep).
#[test]
fn nxt_flow_mod_cookie_filters_as_ovs_ofctl_sends() {
    use flowtable::flow_mod::FlowModCommand;
    let hex =
        |s: &str| (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect::<Vec<_>>();
    let cases = [
        // del-flows 'cookie=0x5/-1'
        ("0104004000000008000023200000000d00000000000000000003000000008000ffffffffffff0000000c00000000000000013c08000000000000000500000000",
         FlowModCommand::Delete, 0, u64::MAX, Some(0)),
        // del-flows 'cookie=0x5/-1,table=3' (with NXT_FLOW_MOD_TABLE_ID on)
        ("010400400000000a000023200000000d00000000000000000303000000008000ffffffffffff0000000c00000000000000013c08000000000000000500000000",
         FlowModCommand::Delete, 3, u64::MAX, Some(0)),
        // mod-flows 'cookie=0x5/0xff,actions=drop'
        ("0104004800000008000023200000000dffffffffffffffff0001000000008000ffffffffffff0000001400000000000000013d10000000000000000500000000000000ff00000000",
         FlowModCommand::Modify, 0, 0xff, None),
    ];
    for (h, command, table, mask, new_cookie) in cases {
        let bytes = hex(h);
        let (head, msg) = ofagent::decode(&bytes).unwrap();
        let Message::NxFlowMod(fm) = &msg else { panic!("{msg:?}") };
        assert_eq!(
            (fm.command, fm.table_id, fm.cookie, fm.cookie_mask, fm.new_cookie),
            (command, table, 5, mask, new_cookie)
        );
        assert!(fm.actions.is_empty());
        assert_eq!(ofagent::encode(head.version, head.xid, &msg).unwrap(), bytes);
    }
    // An add may not filter on the cookie: NXBRC_NXM_INVALID.
    let mut add = hex(cases[0].0);
    add[25] = 0; // command OFPFC_ADD
    assert_eq!(ofagent::decode(&add), Err(OfError::NxmInvalid));
    assert_eq!(OfError::NxmInvalid.error_type_code(OFP10_VERSION), (1, 256));
}
