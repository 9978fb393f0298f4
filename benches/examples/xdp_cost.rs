//! What each feature of ferrovs's XDP program costs per frame: the kernel's own timing of
//! `BPF_PROG_TEST_RUN` of the program as ferrovsd loads it, with the fast path off, on without a
//! hit, hitting in the first or the eighth mask slot, and with VLAN push, MAC rewrite, GRE push
//! and GRE pop entries. Test runs return the verdict without carrying out the redirect, so this
//! is the program's own work. Each figure is the average of the kernel-reported duration of
//! 200k single runs (one run per call: a repeated run reuses the frame its previous run
//! rewrote, so it cannot time actions that change the frame); that includes a constant timer
//! overhead, which the first row shows. Root (a namespace with a veth to attach to):
//! `cargo run --release -p benches --example xdp_cost`.

use anyhow::{Context, Result};
use benches::rate::frame::udp_frame;
use benches::rate::netns::Netns;
use benches::rate::sys::xdp_test_run;
use ebpf::offload::{ip_header_sum, ACT_OUTPUT, ACT_PUSH_VLAN, ACT_SET_ETH_DST, ACT_TUNNEL_PUSH, GRE_KEY_HLEN};
use ebpf::{AttachMode, FlowActionsXdp, FlowKeyXdp, MaskXdp, MaskedKeyXdp, TnlKeyXdp, XdpSteer};

const RUNS: u32 = 200_000;
const XDP_VERDICTS: [&str; 5] = ["aborted", "drop", "pass", "tx", "redirect"];

/// A GRE frame (outer Ethernet + IPv4 + GRE with key 5) around `inner`, outer checksum valid.
fn gre_frame(inner: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0xb, 0x02, 0, 0, 0, 0, 0xa, 0x08, 0x00];
    let tot = u16::try_from(20 + 8 + inner.len()).unwrap_or(u16::MAX);
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 47, 0, 0, 172, 31, 1, 1, 172, 31, 1, 2];
    ip[2..4].copy_from_slice(&tot.to_be_bytes());
    let c = benches::rate::frame::ipv4_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&[0x20, 0, 0x65, 0x58, 0, 0, 0, 5]);
    f.extend_from_slice(inner);
    f
}

fn main() -> Result<()> {
    let ns = Netns::new("xcost")?;
    ns.sh(&["ip", "link", "add", "xa", "type", "veth", "peer", "name", "xb"])?;
    ns.sh(&["ip", "link", "set", "xa", "up"])?;
    ns.sh(&["ip", "link", "set", "xb", "up"])?;
    let rows = ns.enter(measure)?;
    println!("| program state | frame | verdict | ns per frame |");
    println!("| --- | --- | --- | --- |");
    for (state, frame, verdict, ns) in rows {
        println!("| {state} | {frame} | {verdict} | {ns:.1} |");
    }
    Ok(())
}

fn measure() -> Result<Vec<(String, &'static str, &'static str, f64)>> {
    let mut steer = XdpSteer::attach_by_name("xa", AttachMode::Auto)?;
    let ifindex = steer.ifindex();
    let mut generation = steer.generation_handle()?;
    let udp = udp_frame(64, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])?;
    let gre = gre_frame(&udp);
    let header = FlowKeyXdp::parse(&udp).context("the test frame is not one the fast path takes")?;
    let mut rows = vec![];
    let mut run = |steer: &XdpSteer, state: &str, frame: &[u8], what: &'static str| -> Result<()> {
        let fd = steer.program_fd().context("no program")?;
        let (mut verdict, mut total) = (0, 0u64);
        for _ in 0..RUNS {
            let (v, ns) = xdp_test_run(fd, ifindex, frame, 1)?;
            verdict = v;
            total += u64::from(ns);
        }
        let v = XDP_VERDICTS.get(verdict as usize).copied().unwrap_or("?");
        rows.push((state.to_owned(), what, v, total as f64 / f64::from(RUNS)));
        Ok(())
    };
    run(&steer, "fast path off (generation 0): straight to the AF_XDP socket map", &udp, "UDP 64B")?;
    generation.set(1)?;
    run(&steer, "fast path on, no mask installed", &udp, "UDP 64B")?;
    let output = FlowActionsXdp { generation: 1, flags: ACT_OUTPUT, out_ifindex: ifindex, ..FlowActionsXdp::default() };
    // Slot 0: the all-wildcard mask of `in_port=1,actions=output:2`.
    steer.mask_set(0, &MaskXdp { in_use: 1, id: 0, mask: FlowKeyXdp::default() })?;
    let mk = |slot: u32, mask: &FlowKeyXdp| MaskedKeyXdp { mask_id: slot, pad: 0, key: header.and(mask) };
    steer.flow_put(&mk(0, &FlowKeyXdp::default()), &output)?;
    run(&steer, "1 mask, hit: output", &udp, "UDP 64B")?;
    // Eight masks, the hit in the last one.
    steer.flow_del(&mk(0, &FlowKeyXdp::default()));
    for slot in 0..8u8 {
        let mask = FlowKeyXdp { tp_src: [0xff, slot], ..FlowKeyXdp::default() };
        steer.mask_set(u32::from(slot), &MaskXdp { in_use: 1, id: u32::from(slot), mask })?;
    }
    let last = FlowKeyXdp { tp_src: [0xff, 7], ..FlowKeyXdp::default() };
    steer.flow_put(&mk(7, &last), &FlowActionsXdp { mask: last, ..output })?;
    run(&steer, "8 masks, hit in the 8th: output", &udp, "UDP 64B")?;
    steer.flow_del(&mk(7, &last));
    run(&steer, "8 masks, no hit", &udp, "UDP 64B")?;
    for slot in 1..8 {
        steer.mask_set(slot, &MaskXdp::default())?;
    }
    let first = FlowKeyXdp { tp_src: [0xff, 0], ..FlowKeyXdp::default() };
    let vlan = FlowActionsXdp {
        flags: ACT_PUSH_VLAN | ACT_SET_ETH_DST | ACT_OUTPUT,
        push_tpid: [0x81, 0],
        push_tci: [0, 5],
        eth_dst: [2, 0, 0, 0, 0, 9],
        ..output
    };
    steer.flow_put(&mk(0, &first), &FlowActionsXdp { mask: first, ..vlan })?;
    run(&steer, "1 mask, hit: push_vlan + set eth_dst + output", &udp, "UDP 64B")?;
    let mut push =
        FlowActionsXdp { flags: ACT_TUNNEL_PUSH | ACT_OUTPUT, tnl_len: GRE_KEY_HLEN as u16, tnl_max: 1600, ..output };
    push.tnl_header[..GRE_KEY_HLEN].copy_from_slice(&gre[..GRE_KEY_HLEN]);
    push.tnl_sum = ip_header_sum(&push.tnl_header).context("header")?;
    steer.flow_put(&mk(0, &first), &FlowActionsXdp { mask: first, ..push })?;
    run(&steer, "1 mask, hit: GRE push (42-byte header) + output", &udp, "UDP 64B")?;
    steer.flow_del(&mk(0, &first));
    steer.mask_set(0, &MaskXdp::default())?;
    let (tk, _) = TnlKeyXdp::parse(&gre).context("the GRE frame is not one the fast path takes")?;
    steer.tnl_put(&tk, &output)?;
    run(&steer, "GRE pop entry: strip 42 bytes + output", &gre, "GRE 106B")?;
    Ok(rows)
}
