//! Slow-path benchmarks: translation of one packet through a multi-table pipeline
//! (ns/packet) and flow_mods applied per second (100k adds into one table).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use flowtable::action::Action;
use flowtable::bridge::{Bridge, PortInfo};
use flowtable::flow_mod::FlowMod;
use flowtable::pipeline::Pipeline;
use flowtable::xlate::xlate;
use flowtable::{DpPort, Field, FlowKey, Match, PortNo};
use std::hint::black_box;

fn out(p: u16) -> Action {
    Action::Output { port: PortNo(p), max_len: 0 }
}

/// br-tun-like: table 0 by in_port, table 2 unicast/multicast split, table 20 by MAC+VLAN
/// (10k learned flows), table 22 flood.
fn bridge() -> Vec<Bridge> {
    let mut b = Bridge::new("br-tun");
    for p in 1..=4u16 {
        b.ports.insert(
            PortNo(p),
            PortInfo { name: format!("p{p}"), dp_port: Some(DpPort(p.into())), ..PortInfo::default() },
        );
    }
    let resubmit = |t| Action::Resubmit { port: None, table: Some(t) };
    let p = &mut b.pipeline;
    let _ = p.apply(&FlowMod::add(0, 1, Match::ANY.with(Field::InPort, 1), vec![resubmit(2)]), 0);
    let _ =
        p.apply(&FlowMod::add(2, 0, Match::ANY.with_masked(Field::EthDst, 0, 0x0100_0000_0000), vec![resubmit(20)]), 0);
    let _ = p.apply(
        &FlowMod::add(
            2,
            0,
            Match::ANY.with_masked(Field::EthDst, 0x0100_0000_0000, 0x0100_0000_0000),
            vec![resubmit(22)],
        ),
        0,
    );
    for i in 0..10_000u128 {
        let m = Match::ANY.with(Field::EthDst, 0xfa16_3e00_0000 + i).with_masked(Field::VlanTci, 1, 0x0fff);
        let _ = p.apply(&FlowMod::add(20, 1, m, vec![Action::PopVlan, Action::SetTunnel(0x41), out(2)]), 0);
    }
    let _ = p.apply(&FlowMod::add(20, 0, Match::ANY, vec![resubmit(22)]), 0);
    let _ = p.apply(
        &FlowMod::add(
            22,
            1,
            Match::ANY.with_masked(Field::VlanTci, 0x1001, 0x1fff),
            vec![Action::PopVlan, out(2), out(3), out(4)],
        ),
        0,
    );
    vec![b]
}

fn bench_xlate(c: &mut Criterion) {
    let bridges = bridge();
    let mut key = FlowKey::ZERO;
    key.set(Field::InPort, 1);
    key.set(Field::VlanTci, 0x1001);
    key.set(Field::EthDst, 0xfa16_3e00_1234);
    key.set(Field::EthType, 0x0800);
    let mut g = c.benchmark_group("xlate");
    g.throughput(Throughput::Elements(1));
    g.bench_function("br-tun unicast (4 tables, 10k flows)", |b| {
        b.iter(|| black_box(xlate(&bridges, 0, black_box(&key), 0)));
    });
    key.set(Field::EthDst, 0xffff_ffff_ffff);
    g.bench_function("br-tun flood (3 tables)", |b| {
        b.iter(|| black_box(xlate(&bridges, 0, black_box(&key), 0)));
    });
    g.finish();
}

fn bench_flow_mods(c: &mut Criterion) {
    let mods: Vec<FlowMod> = (0..100_000u32)
        .map(|i| {
            let m = Match::ANY
                .with(Field::EthType, 0x0800)
                .with(Field::Ipv4Dst, u128::from(0x0a00_0000 + i))
                .with(Field::InPort, u128::from(i % 8));
            FlowMod::add(0, 100, m, vec![out(2)])
        })
        .collect();
    let mut g = c.benchmark_group("flow_mods");
    g.sample_size(10);
    g.throughput(Throughput::Elements(mods.len() as u64));
    g.bench_function("100k adds into one table", |b| {
        b.iter_batched(
            Pipeline::new,
            |mut p| {
                for fm in &mods {
                    let _ = p.apply(fm, 0);
                }
                p
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

criterion_group!(benches, bench_xlate, bench_flow_mods);
criterion_main!(benches);
