//! PACKET_OUT in both versions and OpenFlow 1.0 actions, checked against ovs-ofctl.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod common;

use flowtable::{Action, Field, PortNo, SubField};
use ofagent::codec::actions10;
use ofagent::msg::{PacketOut, NO_BUFFER};
use ofagent::{decode, encode, Message, OfError, OFP10_VERSION, OFP13_VERSION};

fn of10_actions() -> Vec<Action> {
    vec![
        Action::SetVlanVid(10),
        Action::SetVlanPcp(3),
        Action::PopVlan,
        Action::SetField { field: Field::EthSrc, value: 0x0a0b_0c0d_0e0f, mask: Field::EthSrc.max_value() },
        Action::SetField { field: Field::Ipv4Dst, value: 0x0a00_0001, mask: Field::Ipv4Dst.max_value() },
        Action::SetField { field: Field::IpDscp, value: 46, mask: Field::IpDscp.max_value() },
        Action::SetField { field: Field::TpDst, value: 8080, mask: Field::TpDst.max_value() },
        Action::SetField { field: Field::Reg(0), value: 5, mask: Field::Reg(0).max_value() },
        Action::RegMove { src: SubField::whole(Field::Reg(1)), dst: SubField::whole(Field::Reg(2)) },
        Action::Enqueue { port: PortNo(2), queue: 1 },
        Action::DecTtl,
        Action::Resubmit { port: None, table: Some(1) },
        Action::Output { port: PortNo::FLOOD, max_len: 0 },
    ]
}

#[test]
fn packet_out_round_trips_in_both_versions() {
    for (version, actions) in
        [(OFP10_VERSION, of10_actions()), (OFP13_VERSION, vec![Action::Output { port: PortNo(1), max_len: 0 }])]
    {
        let p = PacketOut { buffer_id: NO_BUFFER, in_port: PortNo::CONTROLLER, actions, data: vec![1; 42] };
        let bytes = encode(version, 3, &Message::PacketOut(Box::new(p.clone()))).unwrap();
        assert_eq!(decode(&bytes).unwrap().1, Message::PacketOut(Box::new(p)));
    }
}

#[test]
fn of10_action_errors() {
    assert_eq!(actions10::decode_actions(&[0, 0, 0, 8, 0xff, 0xff, 0, 0]), Err(OfError::BadOutPort(0xffff)));
    assert_eq!(
        actions10::decode_actions(&[0, 1, 0, 8, 0x10, 0, 0, 0]),
        Err(OfError::BadActionArgument("vlan vid above 4095"))
    );
    assert_eq!(actions10::decode_actions(&[0, 42, 0, 8, 0, 0, 0, 0]), Err(OfError::BadActionType(42)));
    // Instructions in OpenFlow 1.0: goto_table as resubmit(,t), write_metadata as a load of
    // the metadata bits, meter/clear/write-actions left out; NXAST_WRITE_METADATA decodes.
    let bytes = actions10::encode_action_list(&[
        Action::Meter(1),
        Action::WriteMetadata { value: 0x10, mask: 0xff },
        Action::ClearActions,
        Action::GotoTable(1),
    ])
    .unwrap();
    assert_eq!(
        actions10::decode_actions(&bytes).unwrap(),
        [
            Action::SetField { field: flowtable::Field::Metadata, value: 0x10, mask: 0xff },
            Action::Resubmit { port: None, table: Some(1) }
        ]
    );
    let nx_write_metadata = [
        0xff, 0xff, 0, 32, 0, 0, 0x23, 0x20, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0,
        0xff,
    ];
    assert_eq!(
        actions10::decode_actions(&nx_write_metadata).unwrap(),
        [Action::SetField { field: flowtable::Field::Metadata, value: 0x10, mask: 0xff }]
    );
}

/// Oracle: ovs-ofctl prints the OpenFlow 1.0 packet-out's actions as we meant them.
#[test]
fn ovs_ofctl_parses_of10_packet_out() {
    let p = PacketOut { buffer_id: NO_BUFFER, in_port: PortNo::CONTROLLER, actions: of10_actions(), data: vec![] };
    let bytes = encode(OFP10_VERSION, 7, &Message::PacketOut(Box::new(p))).unwrap();
    let Some(text) = common::ofp_parse(&bytes, "po10") else { return };
    let want = "OFPT_PACKET_OUT (xid=0x7): in_port=CONTROLLER actions=mod_vlan_vid:10,mod_vlan_pcp:3,strip_vlan,\
                mod_dl_src:0a:0b:0c:0d:0e:0f,mod_nw_dst:10.0.0.1,mod_nw_tos:184,mod_tp_dst:8080,\
                load:0x5->NXM_NX_REG0[],move:NXM_NX_REG1[]->NXM_NX_REG2[],enqueue:2:1,dec_ttl,resubmit(,1),FLOOD \
                data_len=0";
    assert_eq!(text.trim_end(), want);
}
