//! Native GRE tunnelling costs per packet: encapsulation (`tnl_push` executed on a 64- and a
//! 1400-byte frame, key and optional checksum), decapsulation (`pop_gre`), and the slow-path
//! translation of a VM packet out of a gre port through the underlay bridge.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flowtable::action::Action;
use flowtable::bridge::{Bridge, PortInfo};
use flowtable::extract::flow_extract;
use flowtable::flow_mod::FlowMod;
use flowtable::odp::{DpPort, PacketIn};
use flowtable::odp_exec::{execute, DpSink};
use flowtable::tunnel::{
    build_gre_header, pop_gre, push_header, HeaderParams, IpDev, Route, TunnelConfig, TunnelEnv, TunnelKey,
};
use flowtable::xlate::xlate_env;
use flowtable::{Match, PortNo};
use std::hint::black_box;
use std::net::Ipv4Addr;

struct Discard;
impl DpSink for Discard {
    fn output(&mut self, p: DpPort, f: &[u8]) {
        black_box((p, f.len()));
    }
    fn userspace(&mut self, _: &PacketIn, _: &[u8]) {}
}

fn params(csum: bool) -> HeaderParams {
    HeaderParams {
        eth_dst: [2, 0, 0, 0, 0, 2],
        eth_src: [2, 0, 0, 0, 0, 1],
        ip_src: Ipv4Addr::new(10, 1, 0, 1),
        ip_dst: Ipv4Addr::new(10, 1, 0, 2),
        ttl: 64,
        tos: 0,
        dont_fragment: true,
        key: Some(5),
        csum,
    }
}

fn vm_frame(len: usize) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    f.resize(len, 0);
    f
}

fn topology() -> (Vec<Bridge>, TunnelEnv) {
    let normal = || vec![Action::Output { port: PortNo::NORMAL, max_len: 0 }];
    let mut tun = Bridge::new("br-tun");
    tun.ports.insert(PortNo(1), PortInfo { name: "vm".into(), dp_port: Some(DpPort(1)), ..PortInfo::default() });
    let cfg = TunnelConfig {
        remote_ip: Some(Ipv4Addr::new(10, 1, 0, 2)),
        in_key: TunnelKey::Fixed(5),
        out_key: TunnelKey::Fixed(5),
        ..TunnelConfig::default()
    };
    tun.ports.insert(
        PortNo(2),
        PortInfo { name: "gre0".into(), dp_port: Some(DpPort(2)), tunnel: Some(cfg), ..PortInfo::default() },
    );
    let _ = tun.pipeline.apply(&FlowMod::add(0, 0, Match::ANY, normal()), 0);
    let mut phy = Bridge::new("br-phy");
    phy.ports
        .insert(PortNo::LOCAL, PortInfo { name: "br-phy".into(), dp_port: Some(DpPort(3)), ..PortInfo::default() });
    phy.ports.insert(PortNo(1), PortInfo { name: "eth0".into(), dp_port: Some(DpPort(4)), ..PortInfo::default() });
    let _ = phy.pipeline.apply(&FlowMod::add(0, 0, Match::ANY, normal()), 0);
    let mut env = TunnelEnv::default();
    env.routes.routes.push(Route {
        prefix: Ipv4Addr::new(10, 1, 0, 0),
        plen: 24,
        dev: "br-phy".into(),
        gateway: None,
        src: Some(Ipv4Addr::new(10, 1, 0, 1)),
        metric: 0,
        local: false,
    });
    env.devs.push(IpDev { name: "br-phy".into(), mac: 0x02aa_0000_0001, addrs: vec![Ipv4Addr::new(10, 1, 0, 1)] });
    env.neigh.set("br-phy", Ipv4Addr::new(10, 1, 0, 2), 0x02bb_0000_0002, 0);
    (vec![tun, phy], env)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("tunnel");
    g.throughput(Throughput::Elements(1));
    for (len, csum) in [(64, false), (1400, false), (1400, true)] {
        let header = build_gre_header(&params(csum));
        let frame = vm_frame(len);
        g.bench_function(format!("push/{len}{}", if csum { "+csum" } else { "" }), |b| {
            b.iter(|| {
                let mut f = frame.clone();
                push_header(&mut f, black_box(&header));
                black_box(f.len())
            });
        });
        let mut encapsulated = frame.clone();
        push_header(&mut encapsulated, &header);
        g.bench_function(format!("pop/{len}{}", if csum { "+csum" } else { "" }), |b| {
            b.iter(|| black_box(pop_gre(black_box(&encapsulated)).map(|(_, r)| r.len())));
        });
    }
    let (bridges, env) = topology();
    let frame = vm_frame(64);
    let key = flow_extract(&frame, PortNo(1));
    g.bench_function("xlate_output_to_gre", |b| {
        b.iter(|| black_box(xlate_env(&bridges, &env, 0, black_box(&key), 0, false)))
    });
    let x = xlate_env(&bridges, &env, 0, &key, 0, false);
    g.bench_function("execute_tnl_push/64", |b| {
        b.iter(|| {
            let mut f = frame.clone();
            execute(&mut f, black_box(&x.actions), &mut Discard);
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
