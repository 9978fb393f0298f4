//! Property: whatever the printer writes, the parser reads back to the same value
//! (random matches, random action lists, random flow-mods).

use flowtable::action::{Action, ControllerAction, Learn, LearnSpec, LearnSrc, PacketInReason};
use flowtable::field::{ethertype, ipproto, Field, SubField};
use flowtable::flow_mod::{flags, FlowMod, FlowModCommand};
use flowtable::syntax::{format_actions, format_flow_mod, format_match, parse_actions, parse_flow_mod, parse_match};
use flowtable::{Match, PortNo};
use proptest::prelude::*;

/// A value and a mask (value already masked) for a field; `exact` forces a full mask.
fn masked(field: Field, exact: bool) -> impl Strategy<Value = (u128, u128)> {
    let max = field.max_value();
    (any::<u128>(), any::<u128>(), any::<bool>()).prop_map(move |(v, m, full)| {
        let mask = if exact || full { max } else { (m & max).max(1) };
        (v & mask, mask)
    })
}

/// Adds each field with probability 1/2.
fn some_fields(fields: Vec<(Field, bool)>) -> impl Strategy<Value = Vec<(Field, u128, u128)>> {
    let parts: Vec<_> = fields
        .into_iter()
        .map(|(f, exact)| proptest::option::of(masked(f, exact).prop_map(move |(v, m)| (f, v, m))))
        .collect();
    parts.prop_map(|v| v.into_iter().flatten().collect())
}

fn l2_and_metadata() -> impl Strategy<Value = Vec<(Field, u128, u128)>> {
    let mut fields: Vec<(Field, bool)> = (0..16).map(|i| (Field::Reg(i), false)).collect();
    fields.extend([
        (Field::TunId, false),
        (Field::TunSrc, false),
        (Field::TunDst, false),
        (Field::Metadata, false),
        (Field::EthSrc, false),
        (Field::EthDst, false),
        (Field::VlanTci, false),
    ]);
    (some_fields(fields), proptest::option::of(any::<u16>())).prop_map(|(mut v, port)| {
        if let Some(p) = port {
            v.push((Field::InPort, u128::from(p), Field::InPort.max_value()));
        }
        v
    })
}

/// Protocol-specific fields, always with their prerequisites.
fn l3_and_l4() -> impl Strategy<Value = Vec<(Field, u128, u128)>> {
    let exact = |f: Field, v: u128| (f, v, f.max_value());
    let ip_common = |v6: bool| {
        let mut f = vec![(Field::IpDscp, true), (Field::IpEcn, true), (Field::IpTtl, true)];
        if v6 {
            f.extend([(Field::Ipv6Src, false), (Field::Ipv6Dst, false), (Field::Ipv6Label, false)]);
        } else {
            f.extend([(Field::Ipv4Src, false), (Field::Ipv4Dst, false)]);
        }
        f
    };
    let frag = prop_oneof![
        Just(None),
        proptest::sample::select(vec![(0u128, 1u128), (1, 1), (0, 2), (1, 3), (3, 3)]).prop_map(Some)
    ];
    prop_oneof![
        Just(vec![]),
        any::<u16>()
            .prop_filter("not an IP/ARP type", |t| ![0x800, 0x86dd, 0x806, 0x8035].contains(t))
            .prop_map(move |t| vec![exact(Field::EthType, u128::from(t))]),
        (
            any::<bool>(),
            some_fields(vec![
                (Field::ArpOp, true),
                (Field::ArpSpa, false),
                (Field::ArpTpa, false),
                (Field::ArpSha, false),
                (Field::ArpTha, false)
            ])
        )
            .prop_map(move |(rarp, mut v)| {
                v.push(exact(Field::EthType, u128::from(if rarp { ethertype::RARP } else { ethertype::ARP })));
                v
            }),
        (
            any::<bool>(),
            proptest::sample::select(vec![
                None,
                Some(ipproto::TCP),
                Some(ipproto::UDP),
                Some(ipproto::SCTP),
                Some(47u8)
            ]),
            some_fields(ip_common(false)),
            some_fields(ip_common(true)),
            some_fields(vec![(Field::TpSrc, false), (Field::TpDst, false)]),
            proptest::option::of(masked(Field::TcpFlags, false)),
            frag,
        )
            .prop_map(move |(v6, proto, c4, c6, mut ports, tcp_flags, frag)| {
                let mut v = if v6 { c6 } else { c4 };
                v.push(exact(Field::EthType, u128::from(if v6 { ethertype::IPV6 } else { ethertype::IPV4 })));
                if let Some((fv, fm)) = frag {
                    v.push((Field::IpFrag, fv, fm));
                }
                if let Some(p) = proto {
                    v.push(exact(Field::IpProto, u128::from(p)));
                    if p != 47 {
                        v.append(&mut ports);
                    }
                    if let (ipproto::TCP, Some((fv, fm))) = (p, tcp_flags) {
                        v.push((Field::TcpFlags, fv, fm));
                    }
                }
                v
            }),
        (
            any::<bool>(),
            any::<u8>(),
            any::<u8>(),
            proptest::option::of(any::<u128>()),
            proptest::option::of(0u128..1 << 48)
        )
            .prop_map(move |(v6, ty, code, target, lla)| {
                let (eth, proto) =
                    if v6 { (ethertype::IPV6, ipproto::ICMPV6) } else { (ethertype::IPV4, ipproto::ICMP) };
                let ty = if v6 && target.is_some() { 135 + (ty & 1) } else { ty };
                let mut v = vec![
                    exact(Field::EthType, u128::from(eth)),
                    exact(Field::IpProto, u128::from(proto)),
                    (Field::TpSrc, u128::from(ty), 0xffff),
                    (Field::TpDst, u128::from(code), 0xffff),
                ];
                if let (true, Some(t)) = (v6, target) {
                    v.push(exact(Field::NdTarget, t));
                    if let Some(a) = lla {
                        v.push(exact(if ty == 135 { Field::NdSll } else { Field::NdTll }, a));
                    }
                }
                v
            }),
    ]
}

fn arb_match() -> impl Strategy<Value = Match> {
    (l2_and_metadata(), l3_and_l4()).prop_map(|(a, b)| {
        let mut m = Match::ANY;
        for (f, v, mask) in a.into_iter().chain(b) {
            m.set_masked(f, v, mask);
        }
        m
    })
}

fn arb_port() -> impl Strategy<Value = PortNo> {
    prop_oneof![
        (0u16..0xff00).prop_map(PortNo),
        proptest::sample::select(vec![
            PortNo::IN_PORT,
            PortNo::NORMAL,
            PortNo::FLOOD,
            PortNo::ALL,
            PortNo::LOCAL,
            PortNo::TABLE
        ])
    ]
}

fn arb_field(writable: bool) -> impl Strategy<Value = Field> {
    let fields: Vec<Field> =
        Field::all().filter(|f| !matches!(f, Field::IpTos | Field::VlanTci1) && (!writable || f.writable())).collect();
    proptest::sample::select(fields)
}

fn arb_subfield(writable: bool) -> impl Strategy<Value = SubField> {
    (arb_field(writable), any::<u32>(), any::<u32>()).prop_map(|(field, a, b)| {
        let bits = field.bits();
        let ofs = a % bits;
        let n_bits = 1 + b % (bits - ofs);
        SubField { field, ofs, n_bits }
    })
}

fn same_width(sf: SubField) -> impl Strategy<Value = SubField> {
    let fields: Vec<Field> =
        Field::all().filter(|f| !matches!(f, Field::IpTos | Field::VlanTci1) && f.bits() >= sf.n_bits).collect();
    (proptest::sample::select(fields), any::<u32>()).prop_map(move |(field, a)| {
        let ofs = a % (field.bits() - sf.n_bits + 1);
        SubField { field, ofs, n_bits: sf.n_bits }
    })
}

fn arb_learn_spec() -> impl Strategy<Value = LearnSpec> {
    let imm = |sf: SubField| any::<u128>().prop_map(move |v| LearnSrc::Imm(v & (sf.mask() >> sf.ofs)));
    prop_oneof![
        arb_subfield(false).prop_flat_map(move |dst| {
            prop_oneof![imm(dst), same_width(dst).prop_map(LearnSrc::Field)]
                .prop_map(move |src| LearnSpec::Match { dst, src })
        }),
        arb_subfield(true).prop_flat_map(move |dst| {
            prop_oneof![imm(dst), same_width(dst).prop_map(LearnSrc::Field)]
                .prop_map(move |src| LearnSpec::Load { dst, src })
        }),
        arb_subfield(false).prop_map(|src| LearnSpec::Output { src }),
    ]
}

fn arb_learn() -> impl Strategy<Value = Learn> {
    (
        0u8..255,
        any::<u16>(),
        (any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>()),
        any::<u64>(),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(arb_learn_spec(), 0..5),
    )
        .prop_map(|(table_id, priority, (idle, hard, fin_idle, fin_hard), cookie, rem, delete_learned, specs)| {
            Learn {
                table_id,
                priority,
                idle_timeout: idle,
                hard_timeout: hard,
                fin_idle_timeout: fin_idle,
                fin_hard_timeout: fin_hard,
                cookie,
                flags: if rem { flags::SEND_FLOW_REM } else { 0 },
                delete_learned,
                specs,
            }
        })
}

fn arb_plain_action() -> impl Strategy<Value = Action> {
    let controller = (
        any::<u16>(),
        proptest::sample::select(vec![PacketInReason::Action, PacketInReason::NoMatch, PacketInReason::InvalidTtl]),
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(max_len, reason, controller_id, userdata, pause)| {
            Action::Controller(ControllerAction { max_len, reason, controller_id, userdata, pause })
        });
    let set_field = (arb_field(true), any::<u128>(), any::<u128>(), any::<bool>()).prop_map(|(field, v, m, full)| {
        let mut mask = if full { field.max_value() } else { (m & field.max_value()).max(1) };
        let mut value = v & mask;
        if field == Field::InPort && full {
            value &= 0xffff;
            mask = field.max_value();
        }
        Action::SetField { field, value, mask }
    });
    prop_oneof![
        arb_port().prop_map(|port| Action::Output { port, max_len: 0 }),
        arb_subfield(false).prop_map(|src| Action::OutputReg { src, max_len: 0 }),
        controller,
        any::<u32>().prop_map(Action::Group),
        (arb_port(), any::<u32>()).prop_map(|(port, queue)| Action::Enqueue { port, queue }),
        any::<u32>().prop_map(Action::SetQueue),
        set_field,
        arb_subfield(true).prop_flat_map(|dst| same_width(dst).prop_map(move |src| Action::RegMove { src, dst })),
        proptest::sample::select(vec![0x8100u16, 0x88a8]).prop_map(Action::PushVlan),
        Just(Action::PopVlan),
        (0u16..4096).prop_map(Action::SetVlanVid),
        (0u8..8).prop_map(Action::SetVlanPcp),
        Just(Action::DecTtl),
        any::<u8>().prop_map(Action::SetTtl),
        any::<u64>().prop_map(Action::SetTunnel),
        (
            proptest::option::of(arb_port().prop_filter("in_port means none", |p| *p != PortNo::IN_PORT)),
            proptest::option::of(0u8..255)
        )
            .prop_filter("needs a port or a table", |(p, t)| p.is_some() || t.is_some())
            .prop_map(|(port, table)| Action::Resubmit { port, table }),
        arb_learn().prop_map(|l| Action::Learn(Box::new(l))),
        proptest::sample::select(vec![6usize, 14, 22])
            .prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n).prop_map(Action::Note)),
    ]
}

fn arb_actions() -> impl Strategy<Value = Vec<Action>> {
    let instruction = prop_oneof![
        proptest::collection::vec(arb_plain_action(), 0..3).prop_map(Action::WriteActions),
        Just(Action::ClearActions),
        (any::<u64>(), any::<u64>()).prop_map(|(v, m)| Action::WriteMetadata { value: v & m, mask: m }),
        any::<u32>().prop_map(Action::Meter),
        any::<u8>().prop_map(Action::GotoTable),
    ];
    proptest::collection::vec(prop_oneof![4 => arb_plain_action(), 1 => instruction], 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn match_format_then_parse(m in arb_match(), priority in any::<u16>()) {
        prop_assert!(m.check_prerequisites().is_ok(), "generator: {m:?}");
        let text = format_match(&m, priority);
        let parsed = parse_match(&text);
        let expected_priority = if priority == 0x8000 { None } else { Some(priority) };
        prop_assert_eq!(parsed, Ok((m, expected_priority)), "printed as {}", text);
    }

    #[test]
    fn actions_format_then_parse(actions in arb_actions()) {
        let text = format_actions(&actions);
        prop_assert_eq!(parse_actions(&text), Ok(actions), "printed as {}", text);
    }

    #[test]
    fn flow_mod_format_then_parse(m in arb_match(), actions in arb_actions(), table in 0u8..255, priority in any::<u16>(),
                                  cookie in any::<u64>(), timeouts in any::<(u16, u16, u16)>(), fl in 0u16..32) {
        let fm = FlowMod {
            cookie,
            idle_timeout: timeouts.0,
            hard_timeout: timeouts.1,
            importance: timeouts.2,
            flags: fl,
            ..FlowMod::add(table, priority, m, actions)
        };
        let line = format_flow_mod(&fm);
        prop_assert_eq!(parse_flow_mod(&line, FlowModCommand::Add), Ok(fm), "printed as {}", line);
    }
}
