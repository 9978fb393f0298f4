//! Sample messages shared by the stats round-trip and oracle tests.
#![allow(dead_code)] // Each test binary uses a subset.

use flowtable::action::{ControllerAction, Learn, LearnSpec, LearnSrc, PacketInReason};
use flowtable::flow_mod::{Bucket, GroupType, GROUP_ANY};
use flowtable::{Action, Field, Match, PortNo, SubField};
use ofagent::msg::{
    AggregateStats, FlowRemoved, FlowStats, FlowStatsRequest, GroupDesc, GroupFeatures, GroupStats, MeterBand,
    MeterBandType, MeterConfig, MeterFeatures, MeterMod, MeterStats, PacketIn, PacketIn2, PortStats, QueueStats,
    TableFeatures, TableStats, NO_BUFFER,
};

/// Neutron's learn action (`learn(table=20,hard_timeout=300,priority=1,cookie=0x1234,
/// NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],
/// load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[])`).
pub fn neutron_learn() -> Action {
    let sf = |field: Field, ofs: u32, n_bits: u32| SubField { field, ofs, n_bits };
    Action::Learn(Box::new(Learn {
        table_id: 20,
        priority: 1,
        hard_timeout: 300,
        cookie: 0x1234,
        specs: vec![
            LearnSpec::Match { dst: sf(Field::VlanTci, 0, 12), src: LearnSrc::Field(sf(Field::VlanTci, 0, 12)) },
            LearnSpec::Match {
                dst: SubField::whole(Field::EthDst),
                src: LearnSrc::Field(SubField::whole(Field::EthSrc)),
            },
            LearnSpec::Load { dst: SubField::whole(Field::VlanTci), src: LearnSrc::Imm(0) },
            LearnSpec::Load { dst: SubField::whole(Field::TunId), src: LearnSrc::Field(SubField::whole(Field::TunId)) },
            LearnSpec::Output { src: SubField::whole(Field::InPort) },
        ],
        ..Learn::default()
    }))
}

/// A learn action with every knob: flags, fin timeouts, immediates in match and load.
pub fn busy_learn() -> Action {
    Action::Learn(Box::new(Learn {
        table_id: 3,
        priority: 100,
        idle_timeout: 10,
        hard_timeout: 0,
        fin_idle_timeout: 2,
        fin_hard_timeout: 4,
        cookie: 0xabcd,
        flags: flowtable::flow_mod::flags::SEND_FLOW_REM,
        delete_learned: true,
        specs: vec![
            LearnSpec::Match { dst: SubField::whole(Field::EthType), src: LearnSrc::Imm(0x800) },
            LearnSpec::Match {
                dst: SubField::whole(Field::Ipv4Dst),
                src: LearnSrc::Field(SubField::whole(Field::Ipv4Src)),
            },
            LearnSpec::Load { dst: SubField { field: Field::Reg(1), ofs: 4, n_bits: 8 }, src: LearnSrc::Imm(0x5a) },
        ],
    }))
}

pub fn controller2() -> Action {
    Action::Controller(ControllerAction {
        max_len: 128,
        reason: PacketInReason::NoMatch,
        controller_id: 3,
        userdata: vec![1, 2, 3, 4, 5],
        pause: true,
    })
}

pub fn flow_request(nx: bool) -> FlowStatsRequest {
    FlowStatsRequest {
        table_id: 2,
        out_port: PortNo(7),
        match_: Match::ANY.with(Field::EthType, 0x800).with(Field::IpProto, 6).with(Field::TpDst, 80),
        cookie: 0x5,
        cookie_mask: 0xff,
        nx,
        ..FlowStatsRequest::default()
    }
}

pub fn flow_entry(of13: bool) -> FlowStats {
    let mut actions = vec![Action::Output { port: PortNo(2), max_len: 0 }, neutron_learn()];
    if of13 {
        actions.push(Action::GotoTable(5));
    }
    FlowStats {
        table_id: 1,
        duration_sec: 12,
        duration_nsec: 500_000_000,
        priority: 100,
        idle_timeout: 30,
        hard_timeout: 60,
        flags: u16::from(of13),
        cookie: 0xfeed,
        packet_count: 42,
        byte_count: 4200,
        idle_age: None,
        hard_age: None,
        match_: Match::ANY.with(Field::InPort, 3).with(Field::EthType, 0x806),
        actions,
    }
}

pub fn nx_flow_entry() -> FlowStats {
    FlowStats { idle_age: Some(3), hard_age: Some(9), ..flow_entry(false) }
}

pub fn aggregate() -> AggregateStats {
    AggregateStats { packet_count: 10, byte_count: 1000, flow_count: 3 }
}

pub fn table_stats(of10: bool) -> TableStats {
    TableStats {
        table_id: 0,
        name: if of10 { "classifier".into() } else { String::new() },
        wildcards: if of10 { 0x3f_ffff } else { 0 },
        max_entries: if of10 { 1_000_000 } else { 0 },
        active_count: 4,
        lookup_count: 100,
        matched_count: 90,
    }
}

pub fn port_stats(of13: bool) -> PortStats {
    PortStats {
        port_no: PortNo(1),
        rx_packets: 1,
        tx_packets: 2,
        rx_bytes: 3,
        tx_bytes: 4,
        rx_dropped: 5,
        tx_dropped: 6,
        rx_errors: 7,
        tx_errors: 8,
        rx_frame_err: 9,
        rx_over_err: 10,
        rx_crc_err: 11,
        collisions: 12,
        duration_sec: if of13 { 100 } else { 0 },
        duration_nsec: if of13 { 5 } else { 0 },
    }
}

pub fn queue_stats(of13: bool) -> QueueStats {
    QueueStats {
        port_no: PortNo(1),
        queue_id: 0,
        tx_bytes: 10,
        tx_packets: 1,
        tx_errors: 0,
        duration_sec: if of13 { 7 } else { 0 },
        duration_nsec: 0,
    }
}

pub fn group_stats() -> GroupStats {
    GroupStats {
        group_id: 1,
        ref_count: 2,
        packet_count: 3,
        byte_count: 4,
        duration_sec: 5,
        duration_nsec: 6,
        buckets: vec![(1, 2), (2, 2)],
    }
}

pub fn group_desc() -> GroupDesc {
    GroupDesc {
        group_type: GroupType::Select,
        group_id: 7,
        buckets: vec![
            Bucket {
                weight: 10,
                watch_port: PortNo::NONE,
                watch_group: GROUP_ANY,
                bucket_id: 0,
                actions: vec![Action::Output { port: PortNo(1), max_len: 0 }],
            },
            Bucket {
                weight: 20,
                watch_port: PortNo::NONE,
                watch_group: GROUP_ANY,
                bucket_id: 1,
                actions: vec![Action::Output { port: PortNo(2), max_len: 0 }],
            },
        ],
    }
}

pub fn group_features() -> GroupFeatures {
    GroupFeatures { types: 0xf, capabilities: 0x7, max_groups: [100, 100, 100, 100], actions: [1, 1, 1, 1] }
}

pub fn bands() -> Vec<MeterBand> {
    vec![
        MeterBand { band_type: MeterBandType::Drop, rate: 100, burst_size: 10 },
        MeterBand { band_type: MeterBandType::DscpRemark { prec_level: 1 }, rate: 50, burst_size: 5 },
    ]
}

pub fn meter_mod() -> MeterMod {
    MeterMod { command: 0, flags: 1 | 4 | 8, meter_id: 1, bands: bands() }
}

pub fn meter_config() -> MeterConfig {
    MeterConfig { flags: 1 | 4, meter_id: 1, bands: bands() }
}

pub fn meter_stats() -> MeterStats {
    MeterStats {
        meter_id: 1,
        flow_count: 2,
        packet_in_count: 3,
        byte_in_count: 4,
        duration_sec: 5,
        duration_nsec: 6,
        bands: vec![(7, 8)],
    }
}

pub fn meter_features() -> MeterFeatures {
    MeterFeatures { max_meter: 0, band_types: 0, capabilities: 0, max_bands: 0, max_color: 0 }
}

pub fn table_features(table_id: u8) -> TableFeatures {
    use ofagent::codec::table_features::{id_list, next_tables, OFPTFPT_INSTRUCTIONS, OFPTFPT_NEXT_TABLES};
    TableFeatures {
        table_id,
        name: format!("table{table_id}"),
        metadata_match: u64::MAX,
        metadata_write: u64::MAX,
        config: 0,
        max_entries: 1_000_000,
        properties: vec![
            (OFPTFPT_INSTRUCTIONS, id_list(&[1, 2, 3, 4, 5, 6])),
            (OFPTFPT_NEXT_TABLES, next_tables(table_id + 1..4)),
        ],
    }
}

pub fn packet_in2() -> PacketIn2 {
    PacketIn2 {
        packet_in: PacketIn {
            buffer_id: NO_BUFFER,
            total_len: 64,
            reason: 1,
            table_id: 7,
            cookie: 0x99,
            match_: Match::ANY.with(Field::InPort, 5).with(Field::Metadata, 0x77).with(Field::Reg(2), 3),
            data: vec![0xab; 60],
        },
        userdata: vec![0xde, 0xad, 0xbe, 0xef],
    }
}

pub fn flow_removed() -> FlowRemoved {
    FlowRemoved {
        cookie: 0x5,
        priority: 7,
        reason: 0,
        table_id: 3,
        duration_sec: 3,
        duration_nsec: 5_000_000,
        idle_timeout: 60,
        hard_timeout: 0,
        packet_count: 10,
        byte_count: 600,
        match_: Match::ANY.with(Field::InPort, 2).with(Field::EthType, 0x0806).with(Field::TunId, 9),
    }
}

pub fn port_desc() -> ofagent::msg::PortDesc {
    ofagent::msg::PortDesc {
        port_no: PortNo(5),
        hw_addr: [0xaa, 0, 0, 0, 0, 5],
        name: "vif5.0".into(),
        state: 4,
        curr: 0x840,
        ..ofagent::msg::PortDesc::default()
    }
}

/// What stock `ovs-ofctl ofp-parse` prints for `bytes` (a file of OpenFlow messages); `None`
/// (skip, with a printed reason) when ovs-ofctl cannot run, except under `CI=true`.
pub fn ofp_parse(bytes: &[u8], tag: &str) -> Option<String> {
    let path = std::env::temp_dir().join(format!("ofagent-oracle-{}-{tag}.bin", std::process::id()));
    std::fs::write(&path, bytes).expect("temp file");
    let out = std::process::Command::new("ovs-ofctl").arg("ofp-parse").arg(&path).output();
    let _ = std::fs::remove_file(&path);
    match out {
        Ok(o) => {
            assert!(o.status.success(), "ovs-ofctl failed: {}", String::from_utf8_lossy(&o.stderr));
            Some(String::from_utf8_lossy(&o.stdout).into_owned())
        }
        Err(e) => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "ovs-ofctl required under CI: {e}");
            eprintln!("skipping: ovs-ofctl not runnable ({e})");
            None
        }
    }
}
