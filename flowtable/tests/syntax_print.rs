//! `dump-flows` lines and port names, printed as Open vSwitch 3.1's
//! `ofputil_flow_stats_format` does.

use flowtable::action::Action;
use flowtable::flow_mod::flags;
use flowtable::syntax::{
    format_actions_with, format_flow_stats, format_flow_stats_with, format_match_with, parse_actions, parse_match,
    FlowStatsLine, FormatOptions, Spelling,
};
use flowtable::{Match, PortNo};

fn line(m: &str, actions: &str) -> FlowStatsLine {
    let (match_, priority) = parse_match(m).unwrap_or_else(|e| panic!("{e}"));
    FlowStatsLine {
        cookie: 0,
        duration_s: 1.234,
        table_id: 0,
        n_packets: 0,
        n_bytes: 0,
        idle_timeout: 0,
        hard_timeout: 0,
        flags: 0,
        importance: 0,
        idle_age_s: None,
        hard_age_s: None,
        priority: priority.unwrap_or(0x8000),
        match_,
        actions: parse_actions(actions).unwrap_or_else(|e| panic!("{e}")),
    }
}

#[test]
fn plain_line() {
    let mut fs = line("priority=10,in_port=1,dl_vlan=5", "strip_vlan,output:2");
    fs.idle_age_s = Some(1);
    // ovs-ofctl's default is OpenFlow 1.0 (its HELLO offers only 0x01), so dump-flows spells
    // actions the OpenFlow 1.0 way.
    assert_eq!(
        format_flow_stats(&fs),
        " cookie=0x0, duration=1.234s, table=0, n_packets=0, n_bytes=0, idle_age=1, \
         priority=10,in_port=1,dl_vlan=5 actions=strip_vlan,output:2"
    );
    let of15 = FormatOptions { spelling: Spelling::OpenFlow15, ..FormatOptions::default() };
    assert_eq!(
        format_flow_stats_with(&fs, &of15),
        " cookie=0x0, duration=1.234s, table=0, n_packets=0, n_bytes=0, idle_age=1, \
         priority=10,in_port=1,dl_vlan=5 actions=pop_vlan,output:2"
    );
}

#[test]
fn openflow15_spelling_uses_set_field() {
    let fs = line("dl_vlan=5", "load:0x5->NXM_NX_REG1[0..3],set_tunnel:9,mod_vlan_vid:7");
    let of15 = FormatOptions { spelling: Spelling::OpenFlow15, ..FormatOptions::default() };
    let text = format_flow_stats_with(&fs, &of15);
    assert!(
        text.ends_with("dl_vlan=5 actions=set_field:0x5/0xf->reg1,set_field:0x9->tun_id,set_field:4103->vlan_vid"),
        "{text}"
    );
}

#[test]
fn everything_optional_shown() {
    let mut fs = line("tcp,tp_dst=22", "NORMAL");
    fs.cookie = 0xabc;
    fs.duration_s = 12.5;
    fs.table_id = 7;
    fs.n_packets = 3;
    fs.n_bytes = 180;
    fs.idle_timeout = 60;
    fs.hard_timeout = 300;
    fs.flags = flags::SEND_FLOW_REM | flags::NO_BYT_COUNTS;
    fs.importance = 4;
    fs.idle_age_s = Some(2);
    fs.hard_age_s = Some(10);
    assert_eq!(
        format_flow_stats(&fs),
        " cookie=0xabc, duration=12.500s, table=7, n_packets=3, n_bytes=180, idle_timeout=60, hard_timeout=300, \
         send_flow_rem no_byte_counts importance=4, idle_age=2, hard_age=10, tcp,tp_dst=22 actions=NORMAL"
    );
    // hard_age equal to the whole seconds of duration is not printed.
    fs.hard_age_s = Some(12);
    assert!(!format_flow_stats(&fs).contains("hard_age"));
}

#[test]
fn empty_match_has_no_extra_space() {
    let mut fs = line("", "drop");
    fs.duration_s = 2.0;
    fs.cookie = 5;
    fs.table_id = 3;
    assert_eq!(format_flow_stats(&fs), " cookie=0x5, duration=2s, table=3, n_packets=0, n_bytes=0, actions=drop");
    fs.duration_s = 0.000_123_456;
    assert!(format_flow_stats(&fs).contains("duration=0.000123456s"));
}

#[test]
fn port_names() {
    let names = |p: PortNo| match p.0 {
        1 => Some("tap-1".to_owned()),
        2 => Some("br0".to_owned()),
        _ => None,
    };
    let opts = FormatOptions { port_names: Some(&names), ..FormatOptions::default() };
    let m = Match::ANY.with(flowtable::Field::InPort, 1);
    assert_eq!(format_match_with(&m, 0x8000, &opts), "in_port=\"tap-1\"");
    let acts: Vec<Action> = parse_actions("output:2,output:3,LOCAL,enqueue:1:5").unwrap_or_default();
    assert_eq!(format_actions_with(&acts, &opts), "output:br0,output:3,LOCAL,enqueue:\"tap-1\":5");
}
