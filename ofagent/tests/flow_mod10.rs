//! OpenFlow 1.0 ofp_match and flow_mod: round trips, CIDR wildcards, VLAN encoding, oracle.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod common;

use flowtable::field::VLAN_CFI;
use flowtable::{Action, Field, FlowMod, FlowModCommand, Match, PortNo};
use ofagent::{decode, encode, Message, OfError, OFP10_VERSION};
use proptest::prelude::*;

fn fm_msg(fm: FlowMod) -> Message {
    Message::FlowMod(Box::new(fm))
}

fn sample() -> FlowMod {
    let m = Match::ANY
        .with(Field::InPort, 3)
        .with_masked(Field::VlanTci, u128::from(VLAN_CFI | 0x00a), 0x1fff)
        .with(Field::EthType, 0x0800)
        .with(Field::IpProto, 17)
        .with_masked(Field::Ipv4Src, 0x0a01_0000, 0xffff_0000)
        .with(Field::IpDscp, 10)
        .with(Field::TpDst, 53);
    FlowMod { cookie: 9, ..FlowMod::add(0, 200, m, vec![Action::Output { port: PortNo(4), max_len: 0 }]) }
}

#[test]
fn of10_flow_mod_round_trips_and_refuses_what_it_cannot_carry() {
    let fm = sample();
    let bytes = encode(OFP10_VERSION, 1, &fm_msg(fm.clone())).unwrap();
    assert_eq!(bytes.len(), 8 + 40 + 24 + 8);
    assert_eq!(decode(&bytes).unwrap().1, fm_msg(fm));
    let arp = Match::ANY.with(Field::EthType, 0x0806).with(Field::ArpOp, 1).with(Field::ArpTpa, 0x0a00_0001);
    let icmp = Match::ANY.with(Field::EthType, 0x0800).with(Field::IpProto, 1).with(Field::IcmpType, 8);
    let novlan = Match::ANY.with_masked(Field::VlanTci, 0, 0xffff);
    for m in [arp, icmp, novlan, Match::ANY] {
        let fm = FlowMod::new(FlowModCommand::Delete, m);
        let bytes = encode(OFP10_VERSION, 1, &fm_msg(fm.clone())).unwrap();
        assert_eq!(decode(&bytes).unwrap().1, fm_msg(fm));
    }
    // A register match needs NXM: OpenFlow 1.0 ofp_match cannot carry it.
    let reg = FlowMod::new(FlowModCommand::Add, Match::ANY.with(Field::Reg(0), 1));
    assert!(matches!(encode(OFP10_VERSION, 1, &fm_msg(reg)), Err(OfError::Unencodable(_))));
}

#[test]
fn of10_decode_drops_fields_without_prerequisites() {
    // All-zero wildcards (everything exact) with dl_type 0: only L2 fields survive.
    let mut bytes = vec![1, 14, 0, 72, 0, 0, 0, 1];
    bytes.extend([0u8; 64]);
    let (_, Message::FlowMod(fm)) = decode(&bytes).unwrap() else { panic!() };
    assert!(fm.match_.has(Field::EthType) && !fm.match_.has(Field::IpProto) && !fm.match_.has(Field::TpDst));
}

/// Oracle: ovs-ofctl reads our OpenFlow 1.0 flow_mod as the flow we meant.
#[test]
fn ovs_ofctl_parses_of10_flow_mod() {
    let bytes = encode(OFP10_VERSION, 7, &fm_msg(sample())).unwrap();
    let Some(text) = common::ofp_parse(&bytes, "fm10") else { return };
    assert_eq!(
        text.trim_end(),
        "OFPT_FLOW_MOD (xid=0x7): ADD priority=200,udp,in_port=3,dl_vlan=10,nw_src=10.1.0.0/16,nw_tos=40,tp_dst=53 \
         cookie:0x9 actions=output:4"
    );
}

proptest! {
    #[test]
    fn random_of10_matches_round_trip(port in any::<u16>(), prefix in 0u32..=32, src in any::<u32>(), vid in 0u16..4096, udp in any::<bool>(), tp in any::<u16>()) {
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        let m = Match::ANY
            .with(Field::InPort, u128::from(port))
            .with_masked(Field::VlanTci, u128::from(VLAN_CFI | vid), 0x1fff)
            .with(Field::EthType, 0x0800)
            .with(Field::IpProto, if udp { 17 } else { 6 })
            .with_masked(Field::Ipv4Src, u128::from(src), u128::from(mask))
            .with(Field::TpSrc, u128::from(tp));
        let fm = FlowMod::new(FlowModCommand::ModifyStrict, m);
        let bytes = encode(OFP10_VERSION, 1, &fm_msg(fm.clone())).unwrap();
        prop_assert_eq!(decode(&bytes).unwrap().1, fm_msg(fm));
    }
}
