//! Parser behaviour: field spellings, flow-mod options, errors and their positions.

use flowtable::action::{Action, LearnSpec, LearnSrc};
use flowtable::field::{Field, SubField};
use flowtable::flow_mod::{flags, FlowModCommand, GROUP_ANY, TABLE_ALL};
use flowtable::syntax::{format_match, parse_actions, parse_flow_mod, parse_match};
use flowtable::{Match, PortNo};

fn match_of(s: &str) -> Match {
    match parse_match(s) {
        Ok((m, _)) => m,
        Err(e) => panic!("{s}: {e}"),
    }
}

#[test]
fn nxm_and_oxm_names_are_match_keys() {
    let a =
        match_of("NXM_OF_IN_PORT=2,NXM_OF_ETH_DST=00:00:00:00:00:09,NXM_NX_REG0=3,OXM_OF_METADATA=9,NXM_NX_TUN_ID=0x9");
    let b = match_of("in_port=2,dl_dst=00:00:00:00:00:09,reg0=3,metadata=9,tun_id=9");
    assert_eq!(a, b);
    let a = match_of("NXM_OF_ETH_TYPE=0x800,NXM_OF_IP_PROTO=6,NXM_OF_TCP_DST=80,OXM_OF_IPV4_SRC=10.0.0.0/8");
    assert_eq!(a, match_of("tcp,tp_dst=80,nw_src=10.0.0.0/8"));
    assert_eq!(match_of("eth_src=00:00:00:00:00:01"), match_of("dl_src=00:00:00:00:00:01"));
    assert_eq!(match_of("tcp6,tcp_src=1"), match_of("ipv6,nw_proto=6,tp_src=1"));
    assert_eq!(match_of("xreg0=0x100000002"), match_of("reg0=1,reg1=2"));
}

#[test]
fn priority_is_returned() {
    assert_eq!(parse_match("priority=7,ip").map(|(_, p)| p), Ok(Some(7)));
    assert_eq!(parse_match("ip").map(|(_, p)| p), Ok(None));
    assert_eq!(parse_match(""), Ok((Match::ANY, None)));
}

#[test]
fn vlan_conventions() {
    let m = match_of("dl_vlan=5");
    assert_eq!(m.get(Field::VlanTci), (0x1005, 0x1fff));
    let m = match_of("dl_vlan=0xffff");
    assert_eq!(m.get(Field::VlanTci), (0, 0x1fff));
    assert_eq!(format_match(&match_of("vlan_vid=0x1005"), 32768), "dl_vlan=5");
    assert_eq!(format_match(&match_of("dl_vlan=5,dl_vlan_pcp=3"), 32768), "dl_vlan=5,dl_vlan_pcp=3");
}

#[test]
fn errors_name_the_word_and_its_offset() {
    let e = parse_match("in_port=1,dl_vlan=5000").err();
    let e = e.map(|e| (e.word.clone(), e.offset, e.to_string()));
    assert_eq!(
        e,
        Some((
            "dl_vlan=5000".to_owned(),
            10,
            "\"dl_vlan=5000\": VLAN id out of range (0..4095) (at byte 10)".to_owned()
        ))
    );
    let e = parse_flow_mod("ip,actions=output:1,bogus:3", FlowModCommand::Add).err();
    assert_eq!(e.map(|e| (e.word, e.offset)), Some(("bogus:3".to_owned(), 20)));
    let e = parse_flow_mod("ip,actions=learn(table=1,NXM_NX_REG0[0..40])", FlowModCommand::Add).err();
    assert_eq!(e.map(|e| (e.word, e.offset)), Some(("NXM_NX_REG0[0..40]".to_owned(), 25)));
    for bad in [
        "nw_src=1.2.3.4",
        "tp_dst=80",
        "ip,tp_dst=80",
        "in_port=1/1",
        "dl_type=0x800/0xff00",
        "nw_tos=3",
        "ip_frag=maybe",
        "tcp,tcp_flags=+syn+bogus",
        "dl_src=00:01:02:03:04",
        "nw_src=1.2.3.4/33",
        "reg16=1",
        "icmp_type=8",
        "arp,arp_op=256",
        "dl_vlan_pcp=8",
        "metadata",
        "ip=1",
    ] {
        assert!(parse_match(bad).is_err(), "{bad} should be refused");
    }
}

#[test]
fn bad_actions_are_refused() {
    for bad in [
        "output",
        "output:",
        "output:bogus",
        "drop,output:1",
        "push_vlan:0x800",
        "mod_vlan_vid:4096",
        "mod_vlan_pcp:8",
        "mod_nw_tos:3",
        "load:0x10->NXM_NX_REG0[0..3]",
        "load:1->NXM_OF_ETH_TYPE[]",
        "move:NXM_NX_REG0[0..3]->NXM_NX_REG1[0..4]",
        "set_field:1->bogus",
        "set_field:1",
        "set_tunnel:0x100000000",
        "resubmit(,,)",
        "resubmit()",
        "resubmit(1",
        "learn(table=255)",
        "learn(load:0x10->NXM_NX_REG0[0..3])",
        "learn(eth_src[]=reg0[])",
        "note:abc",
        "controller(reason=bogus)",
        "write_actions(bogus)",
        "enqueue:1",
        "goto_table:256",
        "\u{0}",
    ] {
        assert!(parse_actions(bad).is_err(), "{bad} should be refused");
    }
}

#[test]
fn actions_parse_to_the_model() {
    let a = parse_actions("strip_vlan,output:2,in_port,LOCAL,controller:64,resubmit(,3),resubmit:4,goto_table:9");
    assert_eq!(
        a,
        Ok(vec![
            Action::PopVlan,
            Action::Output { port: PortNo(2), max_len: 0 },
            Action::Output { port: PortNo::IN_PORT, max_len: 0 },
            Action::Output { port: PortNo::LOCAL, max_len: 0 },
            Action::Controller(flowtable::action::ControllerAction { max_len: 64, ..Default::default() }),
            Action::Resubmit { port: None, table: Some(3) },
            Action::Resubmit { port: Some(PortNo(4)), table: None },
            Action::GotoTable(9),
        ])
    );
    let a = parse_actions("load:0x5->NXM_NX_REG1[4..7],mod_nw_tos:8,mod_dl_src:00:00:00:00:00:01,7");
    assert_eq!(
        a,
        Ok(vec![
            Action::SetField { field: Field::Reg(1), value: 0x50, mask: 0xf0 },
            Action::SetField { field: Field::IpDscp, value: 2, mask: 0x3f },
            Action::SetField { field: Field::EthSrc, value: 1, mask: 0xffff_ffff_ffff },
            Action::Output { port: PortNo(7), max_len: 0 },
        ])
    );
    assert_eq!(parse_actions("drop"), Ok(vec![]));
    assert_eq!(parse_actions("note:01"), Ok(vec![Action::Note(vec![1, 0, 0, 0, 0, 0])]));
}

#[test]
fn neutron_learn_action() {
    let a = parse_actions(
        "learn(table=20,hard_timeout=300,priority=1,cookie=0x123,NXM_OF_VLAN_TCI[0..11],\
         NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],\
         output:NXM_OF_IN_PORT[]),output:1",
    );
    let Ok(actions) = a else { panic!("{a:?}") };
    let Action::Learn(learn) = &actions[0] else { panic!("{actions:?}") };
    assert_eq!((learn.table_id, learn.hard_timeout, learn.priority, learn.cookie), (20, 300, 1, 0x123));
    let tci = SubField { field: Field::VlanTci, ofs: 0, n_bits: 12 };
    assert_eq!(
        learn.specs,
        vec![
            LearnSpec::Match { dst: tci, src: LearnSrc::Field(tci) },
            LearnSpec::Match {
                dst: SubField::whole(Field::EthDst),
                src: LearnSrc::Field(SubField::whole(Field::EthSrc))
            },
            LearnSpec::Load { dst: SubField::whole(Field::VlanTci), src: LearnSrc::Imm(0) },
            LearnSpec::Load { dst: SubField::whole(Field::TunId), src: LearnSrc::Field(SubField::whole(Field::TunId)) },
            LearnSpec::Output { src: SubField::whole(Field::InPort) },
        ]
    );
}

#[test]
fn flow_mod_options() {
    let fm = parse_flow_mod(
        "table=3 priority=9 cookie=0x10 idle_timeout=5 hard_timeout=6 importance=7 send_flow_rem check_overlap \
         reset_counts no_packet_counts no_byte_counts ip actions=output:1",
        FlowModCommand::Add,
    );
    let Ok(fm) = fm else { panic!("{fm:?}") };
    assert_eq!((fm.table_id, fm.priority, fm.cookie, fm.idle_timeout, fm.hard_timeout), (3, 9, 0x10, 5, 6));
    assert_eq!(fm.importance, 7);
    let all = flags::SEND_FLOW_REM | flags::CHECK_OVERLAP | flags::RESET_COUNTS | flags::NO_PKT_COUNTS;
    assert_eq!(fm.flags, all | flags::NO_BYT_COUNTS);
    assert_eq!(fm.match_, match_of("ip"));

    let del = parse_flow_mod("", FlowModCommand::Delete);
    let Ok(del) = del else { panic!("{del:?}") };
    assert_eq!((del.match_, del.table_id, del.cookie_mask), (Match::ANY, TABLE_ALL, 0));
    let del = parse_flow_mod("cookie=0x5/0xff,out_port=3,out_group=4,table=2,in_port=1", FlowModCommand::Delete);
    let Ok(del) = del else { panic!("{del:?}") };
    assert_eq!((del.cookie, del.cookie_mask, del.out_port, del.out_group), (5, 0xff, PortNo(3), 4));
    assert_eq!(del.table_id, 2);

    let m = parse_flow_mod("cookie=0x7,ip,actions=drop", FlowModCommand::Modify);
    assert_eq!(m.map(|m| (m.new_cookie, m.cookie_mask, m.out_group)), Ok((Some(7), 0, GROUP_ANY)));
    assert!(parse_flow_mod("cookie=1/1,actions=drop", FlowModCommand::Add).is_err());
    assert!(parse_flow_mod("cookie=1,in_port=1", FlowModCommand::Delete).is_err());
    assert!(parse_flow_mod("in_port=1", FlowModCommand::Add).is_err(), "add needs actions");
    assert!(parse_flow_mod("in_port=1,actions=drop", FlowModCommand::Delete).is_err());
    assert!(parse_flow_mod("tp_dst=80,actions=drop", FlowModCommand::Add).is_err(), "prerequisites");
    let e = parse_flow_mod("ip,tp_dst=80,actions=drop", FlowModCommand::Add).err();
    assert_eq!(e.map(|e| (e.word, e.offset)), Some(("tp_dst=80".to_owned(), 3)));
}
