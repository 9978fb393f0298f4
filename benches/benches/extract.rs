//! Key extraction and action execution: ns per frame for TCP/IPv4, UDP/IPv6, ARP and VLAN frames.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flowtable::extract::flow_extract;
use flowtable::odp::{DpAction, DpPort, PacketIn};
use flowtable::odp_exec::{execute, DpSink};
use flowtable::{Field, PortNo};
use std::hint::black_box;

fn frame(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

fn frames() -> Vec<(&'static str, Vec<u8>)> {
    let eth = "020000000002020000000001";
    let tcp4 = format!("{eth}08004500002800010000400600000a0000010a00000204d2005000000001000000005002200000000000");
    let udp6 = format!(
        "{eth}86dd6000000000081140fe800000000000000000000000000001fe80000000000000000000000000000200350035000800000"
    );
    let arp = format!("{eth}08060001080006040001020000000001 0a000001000000000000 0a000002").replace(' ', "");
    let vlan = format!("{eth}81000005{}", &tcp4[24..]);
    vec![("tcp4", frame(&tcp4)), ("udp6", frame(&udp6)), ("arp", frame(&arp)), ("vlan+tcp4", frame(&vlan))]
}

struct Discard;
impl DpSink for Discard {
    fn output(&mut self, p: DpPort, f: &[u8]) {
        black_box((p, f.len()));
    }
    fn userspace(&mut self, _: &PacketIn, _: &[u8]) {}
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("extract");
    g.throughput(Throughput::Elements(1));
    for (name, f) in frames() {
        g.bench_function(name, |b| b.iter(|| black_box(flow_extract(black_box(&f), PortNo(1)))));
    }
    g.finish();
    let mut g = c.benchmark_group("execute");
    g.throughput(Throughput::Elements(1));
    let (_, f) = &frames()[0];
    let set_dst = [
        DpAction::SetMasked { field: Field::Ipv4Dst, value: 0x0a00_0063, mask: 0xffff_ffff },
        DpAction::Output(DpPort(2)),
    ];
    g.bench_function("set nw_dst + output (tcp4)", |b| {
        b.iter(|| {
            let mut frame = f.clone();
            execute(&mut frame, &set_dst, &mut Discard);
        })
    });
    let vlan = [DpAction::PushVlan { tpid: 0x8100, tci: 0x1005 }, DpAction::Output(DpPort(2))];
    g.bench_function("push_vlan + output (tcp4)", |b| {
        b.iter(|| {
            let mut frame = f.clone();
            execute(&mut frame, &vlan, &mut Discard);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
