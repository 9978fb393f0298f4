//! Connection state machine driven with byte vectors.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::msg::{StatsReply, NO_BUFFER};
use flowtable::{Match, PortNo};

fn enc(v: u8, xid: u32, m: &Message) -> Vec<u8> {
    crate::encode(v, xid, m).unwrap()
}

fn sent(effects: &[Effect]) -> Vec<(Header, Message)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(b) => Some(crate::decode(b).unwrap()),
            _ => None,
        })
        .collect()
}

fn run(c: &mut Connection, bytes: &[u8], now: u64) -> Vec<Effect> {
    c.feed(bytes, now).unwrap();
    let mut all = Vec::new();
    while let Some(e) = c.next(now) {
        all.extend(e);
    }
    all
}

/// A connection that negotiated `v` with a peer offering only `v`.
fn up(kind: ConnKind, v: u8) -> Connection {
    let mut c = Connection::new(ConnConfig::new(kind, Some(5000)), 0);
    let hello = c.hello();
    assert_eq!(crate::decode(&hello).unwrap().0.version, OFP13_VERSION);
    let e = run(&mut c, &enc(v, 1, &Message::Hello { versions: 1 << v }), 0);
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(c.version(), Some(v));
    c
}

#[test]
fn hello_negotiates_1_0_and_1_3() {
    up(ConnKind::Service, OFP10_VERSION);
    up(ConnKind::Service, OFP13_VERSION);
    // A peer offering 1.0 to 1.5 gets 1.3.
    let mut c = Connection::new(ConnConfig::new(ConnKind::Primary, None), 0);
    let hello15 = [6, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0b111_1110];
    run(&mut c, &hello15, 0);
    assert_eq!(c.version(), Some(OFP13_VERSION));
}

#[test]
fn hello_without_common_version_errors_and_closes() {
    let mut c = Connection::new(ConnConfig::new(ConnKind::Service, None), 0);
    // A HELLO whose bitmap offers only 1.1.
    let raw = [0x02, 0, 0, 16, 0, 0, 0, 7, 0, 1, 0, 8, 0, 0, 0, 0b100];
    let e = run(&mut c, &raw, 0);
    let s = sent(&e);
    assert!(matches!(s[0].1, Message::Error { err_type: 0, code: 0, .. }), "{s:?}");
    assert!(matches!(e.last(), Some(Effect::Close(CloseReason::HelloFailed))));
    assert!(c.is_closed());
}

#[test]
fn echo_is_answered_with_the_same_payload_and_xid() {
    let mut c = up(ConnKind::Service, OFP13_VERSION);
    let e = run(&mut c, &enc(OFP13_VERSION, 42, &Message::EchoRequest(b"ping".to_vec())), 10);
    let s = sent(&e);
    assert_eq!(s[0].0.xid, 42);
    assert_eq!(s[0].1, Message::EchoReply(b"ping".to_vec()));
}

#[test]
fn inactivity_probe_then_close() {
    let mut c = up(ConnKind::Primary, OFP10_VERSION);
    assert!(c.tick(4999).is_empty());
    let e = c.tick(5000);
    assert!(matches!(sent(&e)[0].1, Message::EchoRequest(_)));
    // Only one probe per idle period.
    assert!(c.tick(6000).is_empty());
    // Any message resets the clock.
    run(&mut c, &enc(OFP10_VERSION, 5, &Message::EchoReply(vec![])), 7000);
    assert!(c.tick(11_000).is_empty());
    let e = c.tick(12_000);
    assert!(matches!(sent(&e)[0].1, Message::EchoRequest(_)));
    assert_eq!(c.tick(17_000), vec![Effect::Close(CloseReason::ProbeTimeout)]);
}

#[test]
fn flow_mod_becomes_a_request_and_barrier_follows_it() {
    let mut c = up(ConnKind::Service, OFP13_VERSION);
    let fm = FlowMod::add(3, 100, Match::ANY, vec![]);
    let mut bytes = enc(OFP13_VERSION, 7, &Message::FlowMod(Box::new(fm.clone())));
    bytes.extend(enc(OFP13_VERSION, 8, &Message::BarrierRequest));
    c.feed(&bytes, 0).unwrap();
    let first = c.next(0).unwrap();
    match &first[..] {
        [Effect::Request(p)] => {
            assert_eq!(p.xid, 7);
            assert_eq!(p.request, SwitchRequest::FlowMod(Box::new(fm)));
        }
        other => panic!("{other:?}"),
    }
    let second = c.next(0).unwrap();
    assert_eq!(sent(&second)[0].1, Message::BarrierReply);
    assert!(c.next(0).is_none());
}

#[test]
fn of10_flow_mod_table_byte_ignored_without_table_id_extension() {
    let mut c = up(ConnKind::Service, OFP10_VERSION);
    let mut fm = FlowMod::new(FlowModCommand::Delete, Match::ANY);
    fm.table_id = 0;
    let e = run(&mut c, &enc(OFP10_VERSION, 3, &Message::FlowMod(Box::new(fm.clone()))), 0);
    let Effect::Request(p) = &e[0] else { panic!("{e:?}") };
    let SwitchRequest::FlowMod(got) = &p.request else { panic!() };
    assert_eq!(got.table_id, TABLE_ALL);
    // With NXT_FLOW_MOD_TABLE_ID the byte is the table.
    run(&mut c, &enc(OFP10_VERSION, 4, &Message::NxFlowModTableId(true)), 0);
    fm.table_id = 5;
    let e = run(&mut c, &enc(OFP10_VERSION, 5, &Message::FlowMod(Box::new(fm))), 0);
    let Effect::Request(p) = &e[0] else { panic!("{e:?}") };
    let SwitchRequest::FlowMod(got) = &p.request else { panic!() };
    assert_eq!(got.table_id, 5);
}

#[test]
fn malformed_message_gets_an_error_and_the_connection_stays_up() {
    let mut c = up(ConnKind::Service, OFP13_VERSION);
    // Unknown message type 200.
    let e = run(&mut c, &[OFP13_VERSION, 200, 0, 8, 0, 0, 0, 9], 0);
    let s = sent(&e);
    assert_eq!(s[0].0.xid, 9);
    assert!(matches!(s[0].1, Message::Error { err_type: 1, code: 1, .. }), "{s:?}");
    // Wrong version after negotiation: OFPBRC_BAD_VERSION.
    let e = run(&mut c, &enc(OFP10_VERSION, 10, &Message::BarrierRequest), 0);
    assert!(matches!(sent(&e)[0].1, Message::Error { err_type: 1, code: 0, .. }));
    // Still answering.
    let e = run(&mut c, &enc(OFP13_VERSION, 11, &Message::EchoRequest(vec![])), 0);
    assert!(matches!(sent(&e)[0].1, Message::EchoReply(_)));
    assert!(!c.is_closed());
}

#[test]
fn broken_framing_closes() {
    let mut c = up(ConnKind::Service, OFP13_VERSION);
    let e = run(&mut c, &[OFP13_VERSION, 2, 0, 4, 0, 0, 0, 1], 0);
    assert!(matches!(e[..], [Effect::Close(CloseReason::Framing(_))]));
    assert!(c.is_closed());
    assert!(c.next(0).is_none());
}

#[test]
fn receive_buffer_is_bounded() {
    let mut cfg = ConnConfig::new(ConnKind::Service, None);
    cfg.max_buffer = 1024;
    let mut c = Connection::new(cfg, 0);
    // A header announcing 60000 bytes, then more than the bound.
    let mut raw = vec![OFP13_VERSION, 2, 0xea, 0x60, 0, 0, 0, 1];
    raw.resize(1000, 0);
    c.feed(&raw, 0).unwrap();
    assert!(c.next(0).is_none());
    assert!(c.feed(&[0; 100], 0).is_err());
}

#[test]
fn slave_cannot_modify_and_gets_no_packet_ins() {
    let mut c = up(ConnKind::Primary, OFP13_VERSION);
    c.set_role(role::SLAVE);
    let fm = FlowMod::add(0, 1, Match::ANY, vec![]);
    let e = run(&mut c, &enc(OFP13_VERSION, 3, &Message::FlowMod(Box::new(fm))), 0);
    assert!(matches!(sent(&e)[0].1, Message::Error { err_type: 1, code: 10, .. }));
    let pin = PacketIn {
        buffer_id: NO_BUFFER,
        total_len: 4,
        reason: 1,
        table_id: 0,
        cookie: 0,
        match_: Match::ANY,
        data: vec![1, 2, 3, 4],
    };
    let ev = AsyncEvent::PacketIn { pin: &pin, implicit_miss: false, max_len: 65535, controller_id: 0, userdata: &[] };
    assert!(c.async_message(ev).is_none());
    c.set_role(role::MASTER);
    assert!(c.async_message(ev).is_some());
}

#[test]
fn role_arbiter_refuses_stale_generation() {
    let mut a = RoleArbiter::default();
    assert_eq!(a.request(role::EQUAL, Role { role: role::MASTER, generation_id: 10 }).unwrap().role, role::MASTER);
    assert_eq!(a.request(role::EQUAL, Role { role: role::SLAVE, generation_id: 9 }), Err(Refusal::RoleStale));
    let r = a.request(role::SLAVE, Role { role: role::NOCHANGE, generation_id: 0 }).unwrap();
    assert_eq!(r, Role { role: role::SLAVE, generation_id: 10 });
    // Wrap-around counts as newer.
    let mut a = RoleArbiter::default();
    a.request(role::EQUAL, Role { role: role::MASTER, generation_id: u64::MAX }).unwrap();
    assert!(a.request(role::EQUAL, Role { role: role::MASTER, generation_id: 1 }).is_ok());
}

#[test]
fn service_connection_gets_async_only_after_set_config() {
    let mut c = up(ConnKind::Service, OFP10_VERSION);
    let pin = PacketIn {
        buffer_id: NO_BUFFER,
        total_len: 300,
        reason: 0,
        table_id: 0,
        cookie: 0,
        match_: Match::ANY,
        data: vec![7; 300],
    };
    let ev = AsyncEvent::PacketIn { pin: &pin, implicit_miss: true, max_len: 65535, controller_id: 0, userdata: &[] };
    assert!(c.async_message(ev).is_none());
    assert!(!c.wants_miss_packet_ins());
    run(&mut c, &enc(OFP10_VERSION, 2, &Message::SetConfig(SwitchConfig { flags: 0, miss_send_len: 100 })), 0);
    assert!(c.wants_miss_packet_ins());
    let b = c.async_message(ev).unwrap();
    let Message::PacketIn(p) = crate::decode(&b).unwrap().1 else { panic!() };
    assert_eq!(p.data.len(), 100, "truncated to miss_send_len");
    // GET_CONFIG reports it back.
    let e = run(&mut c, &enc(OFP10_VERSION, 3, &Message::GetConfigRequest), 0);
    assert_eq!(sent(&e)[0].1, Message::GetConfigReply(SwitchConfig { flags: 0, miss_send_len: 100 }));
}

#[test]
fn of13_implicit_miss_is_not_sent() {
    let mut c = up(ConnKind::Primary, OFP13_VERSION);
    let pin = PacketIn {
        buffer_id: NO_BUFFER,
        total_len: 1,
        reason: 0,
        table_id: 0,
        cookie: 0,
        match_: Match::ANY,
        data: vec![0],
    };
    let ev = AsyncEvent::PacketIn { pin: &pin, implicit_miss: true, max_len: 65535, controller_id: 0, userdata: &[] };
    assert!(c.async_message(ev).is_none());
    let ev = AsyncEvent::PacketIn { pin: &pin, implicit_miss: false, max_len: 65535, controller_id: 0, userdata: &[] };
    assert!(c.async_message(ev).is_some());
}

#[test]
fn bundle_open_add_commit() {
    let mut c = up(ConnKind::Service, OFP13_VERSION);
    let open = Message::BundleControl { bundle_id: 9, ctrl_type: 0, flags: 3, properties: vec![] };
    let e = run(&mut c, &enc(OFP13_VERSION, 1, &open), 0);
    assert!(matches!(sent(&e)[0].1, Message::BundleControl { ctrl_type: 1, bundle_id: 9, .. }));
    for (xid, prio) in [(2u32, 10u16), (3, 20)] {
        let fm = FlowMod::add(0, prio, Match::ANY, vec![]);
        let inner = enc(OFP13_VERSION, xid, &Message::FlowMod(Box::new(fm)));
        let add = Message::BundleAdd { bundle_id: 9, flags: 3, message: inner };
        assert!(run(&mut c, &enc(OFP13_VERSION, xid, &add), 0).is_empty());
    }
    let commit = Message::BundleControl { bundle_id: 9, ctrl_type: 4, flags: 3, properties: vec![] };
    let e = run(&mut c, &enc(OFP13_VERSION, 4, &commit), 0);
    let Effect::Request(p) = &e[0] else { panic!("{e:?}") };
    let SwitchRequest::Bundle { mods, .. } = &p.request else { panic!() };
    assert_eq!(mods.iter().map(|m| m.priority).collect::<Vec<_>>(), vec![10, 20]);
    let reply = c.complete(p, Ok(vec![]));
    assert!(matches!(crate::decode(&reply).unwrap().1, Message::BundleControl { ctrl_type: 5, .. }));
    // Committed bundles are gone.
    let e = run(&mut c, &enc(OFP13_VERSION, 5, &commit), 0);
    assert!(matches!(sent(&e)[0].1, Message::Error { err_type: 0xffff, code: 2302, .. }));
}

#[test]
fn complete_encodes_replies_and_refusals_with_the_request_xid() {
    let mut c = up(ConnKind::Service, OFP10_VERSION);
    let e = run(&mut c, &enc(OFP10_VERSION, 77, &Message::StatsRequest(StatsRequest::Desc)), 0);
    let Effect::Request(p) = &e[0] else { panic!("{e:?}") };
    let reply = c.complete(p, Ok(vec![Message::StatsReply(StatsReply::Desc(Box::default()))]));
    assert_eq!(crate::decode(&reply).unwrap().0.xid, 77);
    let err = c.complete(p, Err(Refusal::FlowMod(flowtable::pipeline::FlowModError::Overlap)));
    let (h, m) = crate::decode(&err).unwrap();
    assert_eq!(h.xid, 77);
    assert!(matches!(m, Message::Error { err_type: 3, code: 1, .. }));
}

#[test]
fn packet_out_with_a_buffer_is_refused() {
    let mut c = up(ConnKind::Service, OFP13_VERSION);
    let po = PacketOut { buffer_id: 5, in_port: PortNo::CONTROLLER, actions: vec![], data: vec![] };
    let e = run(&mut c, &enc(OFP13_VERSION, 1, &Message::PacketOut(Box::new(po))), 0);
    assert!(matches!(sent(&e)[0].1, Message::Error { err_type: 1, code: 8, .. }));
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    /// Drives a connection with `bytes` in `chunk`-sized pieces; every effect must be sane.
    fn drive(c: &mut Connection, bytes: &[u8], chunk: usize) -> Vec<Effect> {
        let mut all = Vec::new();
        for piece in bytes.chunks(chunk.max(1)) {
            if c.feed(piece, 0).is_err() {
                break;
            }
            while let Some(e) = c.next(0) {
                all.extend(e);
            }
        }
        all
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Untrusted bytes after the HELLO never panic, and whatever we send is a well-formed
        /// OpenFlow message of the negotiated version.
        #[test]
        fn garbage_never_panics_and_replies_decode(v13 in any::<bool>(), body in proptest::collection::vec(any::<u8>(), 0..600), chunk in 1usize..64) {
            let v = if v13 { OFP13_VERSION } else { OFP10_VERSION };
            let mut c = up(ConnKind::Primary, v);
            // Mostly valid headers so that bodies get exercised.
            let mut bytes = Vec::new();
            for piece in body.chunks(40) {
                let len = (piece.len() + 8) as u16;
                bytes.extend([v, piece.first().copied().unwrap_or(0) % 32, (len >> 8) as u8, len as u8, 0, 0, 0, 7]);
                bytes.extend_from_slice(piece);
            }
            bytes.extend_from_slice(&body);
            for e in drive(&mut c, &bytes, chunk) {
                if let Effect::Send(b) = e {
                    let mut f = crate::framing::Framer::default();
                    f.push(&b).unwrap();
                    while let Some(m) = f.next_message().unwrap() {
                        let (h, _) = crate::decode(m).unwrap();
                        prop_assert_eq!(h.version, v);
                    }
                }
            }
        }

        /// How the stream is cut into reads does not change what the connection does.
        #[test]
        fn chunking_does_not_matter(chunk in 1usize..40, n in 1usize..5) {
            let mut bytes = Vec::new();
            for i in 0..n as u32 {
                bytes.extend(enc(OFP13_VERSION, i, &Message::EchoRequest(vec![i as u8; i as usize])));
                bytes.extend(enc(OFP13_VERSION, 100 + i, &Message::BarrierRequest));
                bytes.extend(enc(OFP13_VERSION, 200 + i, &Message::FlowMod(Box::new(FlowMod::add(0, i as u16, Match::ANY, vec![])))));
            }
            let mut a = up(ConnKind::Service, OFP13_VERSION);
            let mut b = up(ConnKind::Service, OFP13_VERSION);
            prop_assert_eq!(drive(&mut a, &bytes, bytes.len()), drive(&mut b, &bytes, chunk));
        }
    }
}
