//! Properties of native GRE tunnelling: encapsulation and decapsulation round-trip for any
//! frame, key and option; decapsulation never panics on any bytes; and the megaflow invariant
//! holds for tunnel translations (every packet matching a megaflow's key under its mask gets
//! the same datapath actions, tunnel headers included), on both the sending side (overlay bridge
//! with `key=flow`, `remote_ip=flow`) and the receiving side (underlay bridge: pop, ARP snooping).

#![allow(clippy::unwrap_used)]

use flowtable::action::Action;
use flowtable::bridge::{Bridge, PortInfo};
use flowtable::flow_mod::FlowMod;
use flowtable::tunnel::{
    build_gre_header, pop_gre, push_header, HeaderParams, IpDev, Route, TunnelConfig, TunnelEnv, TunnelKey,
};
use flowtable::xlate::xlate_env;
use flowtable::{DpPort, Field, FlowKey, Match, PortNo};
use proptest::prelude::*;
use std::net::Ipv4Addr;

const PHY_MAC: u64 = 0x02aa_0000_0001;
const PEER_MAC: u64 = 0x02bb_0000_0002;

fn header_params() -> impl Strategy<Value = HeaderParams> {
    (
        any::<[u8; 6]>(),
        any::<[u8; 6]>(),
        any::<u32>(),
        any::<u32>(),
        1u8..,
        any::<u8>(),
        any::<bool>(),
        any::<Option<u32>>(),
        any::<bool>(),
    )
        .prop_map(|(eth_dst, eth_src, s, d, ttl, tos, dont_fragment, key, csum)| HeaderParams {
            eth_dst,
            eth_src,
            ip_src: Ipv4Addr::from(s),
            ip_dst: Ipv4Addr::from(d),
            ttl,
            tos,
            dont_fragment,
            key,
            csum,
        })
}

/// Overlay bridge 0 (VM port 1, gre port 2 with the given config and a rule that sets the
/// tunnel fields from registers), underlay bridge 1 (LOCAL with the address, physical port 1).
fn topology(cfg: TunnelConfig, rules: &[FlowMod]) -> Vec<Bridge> {
    let mut tun = Bridge::new("br-tun");
    tun.ports.insert(PortNo(1), PortInfo { name: "vm".into(), dp_port: Some(DpPort(1)), ..PortInfo::default() });
    tun.ports.insert(
        PortNo(2),
        PortInfo { name: "gre0".into(), dp_port: Some(DpPort(2)), tunnel: Some(cfg), ..PortInfo::default() },
    );
    for r in rules {
        let _ = tun.pipeline.apply(r, 0);
    }
    let mut phy = Bridge::new("br-phy");
    phy.ports
        .insert(PortNo::LOCAL, PortInfo { name: "br-phy".into(), dp_port: Some(DpPort(3)), ..PortInfo::default() });
    phy.ports.insert(PortNo(1), PortInfo { name: "eth0".into(), dp_port: Some(DpPort(4)), ..PortInfo::default() });
    phy.pipeline
        .apply(&FlowMod::add(0, 0, Match::ANY, vec![Action::Output { port: PortNo::NORMAL, max_len: 0 }]), 0)
        .unwrap();
    vec![tun, phy]
}

fn env() -> TunnelEnv {
    let mut env = TunnelEnv::default();
    for (net, plen, gw) in [([10, 1, 0, 0], 24, None), ([0, 0, 0, 0], 0, Some(Ipv4Addr::new(10, 1, 0, 254)))] {
        env.routes.routes.push(Route {
            prefix: Ipv4Addr::from(net),
            plen,
            dev: "br-phy".into(),
            gateway: gw,
            src: None,
            metric: 0,
            local: false,
        });
    }
    env.devs.push(IpDev { name: "br-phy".into(), mac: PHY_MAC, addrs: vec![Ipv4Addr::new(10, 1, 0, 1)] });
    env.neigh.set("br-phy", Ipv4Addr::new(10, 1, 0, 2), PEER_MAC, 0);
    env.neigh.set("br-phy", Ipv4Addr::new(10, 1, 0, 254), PEER_MAC + 1, 0);
    env
}

fn pick<T: Clone + std::fmt::Debug + 'static>(v: Vec<T>) -> impl Strategy<Value = T> {
    proptest::sample::select(v)
}

/// Overlay packets: VM traffic with registers the rules copy into tun_id / tun_dst.
fn overlay_key() -> impl Strategy<Value = FlowKey> {
    (
        pick(vec![0u128, 1, 7, 0xffff_ffff]),
        pick(vec![0u128, 0x0a01_0002, 0x0a01_0003, 0x0808_0808]),
        pick(vec![1u128, 2]),
        any::<u64>(),
    )
        .prop_map(|(r0, r1, in_port, noise)| {
            let mut k = FlowKey::ZERO;
            k.set(Field::InPort, in_port);
            k.set(Field::Reg(0), r0);
            k.set(Field::Reg(1), r1);
            k.set(Field::EthSrc, u128::from(noise & 0xffff_ffff_ffff));
            k.set(Field::EthType, 0x0800);
            k.set(Field::Ipv4Src, u128::from(noise >> 32));
            k
        })
}

/// Underlay packets: GRE or not, to us or not, ARP replies and requests, fragments.
fn underlay_key() -> impl Strategy<Value = FlowKey> {
    (
        pick(vec![1u128, 0xfffe]),
        pick(vec![u128::from(PHY_MAC), u128::from(PEER_MAC), 0xffff_ffff_ffff]),
        pick(vec![0x0800u128, 0x0806, 0x86dd]),
        pick(vec![1u128, 2, 47]),
        pick(vec![0x0a01_0001u128, 0x0a01_0002, 0x0a01_0009]),
        pick(vec![0u128, 1, 3]),
        any::<u32>(),
        pick(vec![0u128, u128::from(PEER_MAC)]),
    )
        .prop_map(|(in_port, dl_dst, eth_type, proto, dst, frag, src, sha)| {
            let mut k = FlowKey::ZERO;
            k.set(Field::InPort, in_port);
            k.set(Field::EthDst, dl_dst);
            k.set(Field::EthSrc, u128::from(PEER_MAC));
            k.set(Field::EthType, eth_type);
            k.set(Field::IpProto, proto);
            k.set(Field::Ipv4Dst, dst);
            k.set(Field::Ipv4Src, u128::from(src % 4) + 0x0a01_0000);
            if eth_type == 0x0800 {
                k.set(Field::IpFrag, frag);
            } else {
                k.set(Field::ArpSha, sha);
            }
            k
        })
}

fn tunnel_config() -> impl Strategy<Value = TunnelConfig> {
    (
        pick(vec![None, Some(Ipv4Addr::new(10, 1, 0, 2)), Some(Ipv4Addr::new(192, 0, 2, 1))]),
        pick(vec![TunnelKey::Absent, TunnelKey::Fixed(9), TunnelKey::Flow]),
        any::<bool>(),
    )
        .prop_map(|(remote_ip, out_key, csum)| TunnelConfig {
            remote_ip,
            out_key,
            in_key: out_key,
            csum,
            ..TunnelConfig::default()
        })
}

/// Any key that agrees with `k1` on the mask's bits.
fn blend(k1: &FlowKey, mask: &FlowKey, other: &FlowKey) -> FlowKey {
    let mut k2 = FlowKey::ZERO;
    for i in 0..k2.words.len() {
        k2.words[i] = (k1.words[i] & mask.words[i]) | (other.words[i] & !mask.words[i]);
    }
    k2
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn encapsulation_round_trips(p in header_params(), inner in proptest::collection::vec(any::<u8>(), 14..1600)) {
        let h = build_gre_header(&p);
        let mut f = inner.clone();
        push_header(&mut f, &h);
        let (md, range) = pop_gre(&f).unwrap();
        prop_assert_eq!(&f[range], inner.as_slice());
        prop_assert_eq!((md.src, md.dst, md.key, md.csum), (p.ip_src, p.ip_dst, p.key, p.csum));
        prop_assert_eq!((md.ttl, md.tos, md.dont_fragment), (p.ttl, p.tos, p.dont_fragment));
    }

    #[test]
    fn decapsulation_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), p in header_params(), flip in any::<(usize, u8)>()) {
        let _ = pop_gre(&bytes);
        let mut f = bytes.clone();
        push_header(&mut f, &build_gre_header(&p));
        let at = flip.0 % f.len();
        f[at] ^= flip.1;
        if let Ok((_, range)) = pop_gre(&f) {
            prop_assert!(range.end <= f.len() && range.start <= range.end);
        }
    }

    #[test]
    fn sending_megaflows_hold(cfg in tunnel_config(), k1 in overlay_key(), other in overlay_key()) {
        // tun_id from reg0, tun_dst from reg1, then out of the gre port.
        let rule = FlowMod::add(0, 1, Match::ANY, vec![
            Action::RegMove { src: flowtable::SubField::whole(Field::Reg(0)), dst: flowtable::SubField { field: Field::TunId, ofs: 0, n_bits: 32 } },
            Action::RegMove { src: flowtable::SubField::whole(Field::Reg(1)), dst: flowtable::SubField::whole(Field::TunDst) },
            Action::Output { port: PortNo(2), max_len: 0 },
        ]);
        let bridges = topology(cfg, &[rule]);
        let env = env();
        let x1 = xlate_env(&bridges, &env, 0, &k1, 1, false);
        let k2 = blend(&k1, &x1.wc, &other);
        let x2 = xlate_env(&bridges, &env, 0, &k2, 1, false);
        prop_assert_eq!(&x1.actions, &x2.actions, "mask {:?}", x1.wc);
        prop_assert_eq!(&x1.side_effects, &x2.side_effects);
    }

    #[test]
    fn receiving_megaflows_hold(cfg in tunnel_config(), k1 in underlay_key(), other in underlay_key()) {
        let bridges = topology(cfg, &[]);
        let env = env();
        let x1 = xlate_env(&bridges, &env, 1, &k1, 1, false);
        let k2 = blend(&k1, &x1.wc, &other);
        let x2 = xlate_env(&bridges, &env, 1, &k2, 1, false);
        prop_assert_eq!(&x1.actions, &x2.actions, "mask {:?}", x1.wc);
        prop_assert_eq!(&x1.side_effects, &x2.side_effects);
    }
}
