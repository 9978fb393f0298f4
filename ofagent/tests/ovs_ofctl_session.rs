//! End to end with the stock `ovs-ofctl` 3.1 CLI: a minimal fake switch on a unix socket
//! (this test's own, removed afterwards) answers HELLO, ECHO, BARRIER, FEATURES and the
//! stats/multipart requests with our encodings; `ovs-ofctl dump-flows`, `dump-aggregate`,
//! `dump-tables`, `dump-ports`, `dump-table-features`, `dump-groups`, `dump-meters`, ... must
//! accept them (including replies split with OFPSF_REPLY_MORE) and print what we expect.
//! Every wait is bounded. Skips with a printed reason when `ovs-ofctl` is absent, except
//! under `CI=true`.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use ofagent::codec::encode_stats_reply_split;
use ofagent::codec::table_features::standard_table;
use ofagent::framing::Framer;
use ofagent::msg::{DescStats, FlowStats, StatsReply, StatsRequest, SwitchConfig, SwitchFeatures};
use ofagent::{decode, encode, Message, OFP10_VERSION, OFP13_VERSION};

/// Flows in the big dump (several replies' worth).
const MANY: usize = 700;

fn reply_to(req: &StatsRequest) -> StatsReply {
    match req {
        StatsRequest::Desc => {
            StatsReply::Desc(Box::new(DescStats { mfr_desc: "ferrovs".into(), ..DescStats::default() }))
        }
        StatsRequest::PortDesc => StatsReply::PortDesc { ports: vec![port_desc()], more: false },
        StatsRequest::Flow(r) if r.table_id == 9 => {
            let flows = (0..MANY).map(|i| FlowStats { cookie: i as u64, ..flow_entry(!r.nx) }).collect();
            StatsReply::Flow { flows, nx: r.nx, more: false }
        }
        StatsRequest::Flow(r) => {
            let flow = if r.nx { nx_flow_entry() } else { flow_entry(true) };
            StatsReply::Flow { flows: vec![flow], nx: r.nx, more: false }
        }
        StatsRequest::Aggregate(r) => StatsReply::Aggregate { stats: aggregate(), nx: r.nx },
        StatsRequest::Table => StatsReply::Table { tables: vec![table_stats(false)], more: false },
        StatsRequest::Port(_) => StatsReply::Port { ports: vec![port_stats(true)], more: false },
        StatsRequest::Queue { .. } => StatsReply::Queue { queues: vec![queue_stats(true)], more: false },
        StatsRequest::Group(_) => StatsReply::Group { groups: vec![group_stats()], more: false },
        StatsRequest::GroupDesc => StatsReply::GroupDesc { groups: vec![group_desc()], more: false },
        StatsRequest::GroupFeatures => StatsReply::GroupFeatures(group_features()),
        StatsRequest::Meter(_) => StatsReply::Meter { meters: vec![meter_stats()], more: false },
        StatsRequest::MeterConfig(_) => StatsReply::MeterConfig { meters: vec![meter_config()], more: false },
        StatsRequest::MeterFeatures => StatsReply::MeterFeatures(meter_features()),
        StatsRequest::TableFeatures(_) => {
            StatsReply::TableFeatures { tables: (0..4).map(|t| standard_table(t, 4, 1000)).collect(), more: false }
        }
    }
}

/// Answers one message; `None` for messages that need no answer.
fn answer(version: u8, xid: u32, msg: &Message) -> Vec<Vec<u8>> {
    let one = |m: Message| vec![encode(version, xid, &m).unwrap()];
    match msg {
        Message::EchoRequest(d) => one(Message::EchoReply(d.clone())),
        Message::BarrierRequest => one(Message::BarrierReply),
        Message::FeaturesRequest => {
            one(Message::FeaturesReply(SwitchFeatures { datapath_id: 1, n_tables: 254, ..SwitchFeatures::default() }))
        }
        Message::GetConfigRequest => one(Message::GetConfigReply(SwitchConfig { flags: 0, miss_send_len: 128 })),
        Message::StatsRequest(StatsRequest::TableFeatures(_)) if version == OFP13_VERSION => {
            // Two messages, the first with OFPSF_REPLY_MORE.
            let StatsReply::TableFeatures { tables, .. } = reply_to(&StatsRequest::TableFeatures(vec![])) else {
                unreachable!()
            };
            let (a, b) = tables.split_at(2);
            vec![
                encode(
                    version,
                    xid,
                    &Message::StatsReply(StatsReply::TableFeatures { tables: a.to_vec(), more: true }),
                )
                .unwrap(),
                encode(
                    version,
                    xid,
                    &Message::StatsReply(StatsReply::TableFeatures { tables: b.to_vec(), more: false }),
                )
                .unwrap(),
            ]
        }
        Message::StatsRequest(req) => encode_stats_reply_split(version, xid, &reply_to(req)).unwrap(),
        _ => vec![],
    }
}

/// The asynchronous messages a monitoring controller is sent.
fn async_messages(version: u8) -> Vec<Vec<u8>> {
    let removed = if version == OFP10_VERSION {
        Message::NxFlowRemoved(Box::new(flow_removed()))
    } else {
        Message::FlowRemoved(Box::new(flow_removed()))
    };
    [Message::NxPacketIn2(Box::new(packet_in2())), removed].iter().map(|m| encode(version, 0, m).unwrap()).collect()
}

/// Serves one connection until EOF or `stop`; with `monitor`, the first SET_CONFIG or
/// BARRIER is followed by [`async_messages`].
fn serve(mut s: UnixStream, version: u8, monitor: bool, stop: &AtomicBool) {
    let mut async_sent = !monitor;
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    s.write_all(&encode(version, 1, &Message::Hello { versions: 1 << version }).unwrap()).unwrap();
    let mut framer = Framer::new(1 << 20);
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::Relaxed) {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => framer.push(&buf[..n]).unwrap(),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return,
        }
        while let Some(bytes) = framer.next_message().unwrap() {
            let (h, msg) = decode(bytes).unwrap_or_else(|e| panic!("ovs-ofctl sent something we refuse: {e}"));
            let mut out = answer(version, h.xid, &msg);
            if !async_sent && matches!(msg, Message::SetConfig(_) | Message::BarrierRequest) {
                async_sent = true;
                out.extend(async_messages(version));
            }
            for o in out {
                if s.write_all(&o).is_err() {
                    return;
                }
            }
        }
    }
}

/// A fake switch listening on a unix socket until dropped.
struct FakeSwitch {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl FakeSwitch {
    fn start(version: u8, tag: &str) -> Self {
        Self::start_with(version, tag, false)
    }

    fn start_with(version: u8, tag: &str, monitor: bool) -> Self {
        let path = std::env::temp_dir().join(format!("ofagent-session-{}-{tag}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        serve(s, version, monitor, &stop2);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FakeSwitch { path, stop, thread: Some(thread) }
    }

    /// Runs `ovs-ofctl <args> unix:<socket> [extra]`, bounded to 20 s; `None` if absent.
    fn ofctl(&self, args: &[&str], extra: &[&str]) -> Option<String> {
        let target = format!("unix:{}", self.path.display());
        let child = Command::new("ovs-ofctl")
            .args(args)
            .arg(&target)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                assert!(std::env::var("CI").as_deref() != Ok("true"), "ovs-ofctl required under CI: {e}");
                eprintln!("skipping: ovs-ofctl not runnable ({e})");
                return None;
            }
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        // Read stdout on a thread so that a large dump cannot fill the pipe and stall.
        let mut stdout = child.stdout.take().unwrap();
        let reader = thread::spawn(move || {
            let mut out = String::new();
            let _ = stdout.read_to_string(&mut out);
            out
        });
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let out = reader.join().unwrap();
                let mut err = String::new();
                let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                assert!(status.success(), "ovs-ofctl {args:?} failed: {err}\n{out}");
                return Some(out);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("ovs-ofctl {args:?} did not finish in 20 s");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl FakeSwitch {
    /// Runs `ovs-ofctl [-O v] monitor` until its output (stderr) holds every line of `expect`
    /// (at most 20 s), then stops it; `None` if `ovs-ofctl` is absent.
    fn monitor(&self, args: &[&str], expect: &[&str]) -> Option<String> {
        let ctl = std::env::temp_dir().join(format!("ofagent-session-{}-monitor.ctl", std::process::id()));
        let child = Command::new("ovs-ofctl")
            .args(args)
            .arg(format!("--unixctl={}", ctl.display()))
            .arg("monitor")
            .arg(format!("unix:{}", self.path.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                assert!(std::env::var("CI").as_deref() != Ok("true"), "ovs-ofctl required under CI: {e}");
                eprintln!("skipping: ovs-ofctl not runnable ({e})");
                return None;
            }
        };
        let out = Arc::new(std::sync::Mutex::new(String::new()));
        // `ovs-ofctl monitor` prints what it receives on stderr.
        let mut stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&out);
        let reader = thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let done = || expect.iter().all(|l| out.lock().unwrap().contains(l));
        while !done() && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = reader.join();
        let _ = std::fs::remove_file(&ctl);
        let text = out.lock().unwrap().clone();
        Some(text)
    }
}

impl Drop for FakeSwitch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn expect(out: &str, lines: &[&str]) {
    for l in lines {
        assert!(out.contains(l), "expected {l:?} in:\n{out}");
    }
}

#[test]
fn ovs_ofctl_openflow10_dumps() {
    let sw = FakeSwitch::start(OFP10_VERSION, "of10");
    let Some(out) = sw.ofctl(&["dump-flows"], &[]) else { return };
    expect(
        &out,
        &[
            " cookie=0xfeed, duration=12.500s, table=1, n_packets=42, n_bytes=4200, idle_timeout=30, hard_timeout=60, \
             idle_age=3, hard_age=9, priority=100,arp,in_port=3 actions=output:2,learn(table=20,hard_timeout=300,",
            "output:NXM_OF_IN_PORT[])",
        ],
    );
    // With a filter (cookie and match travel in the NXM match) and in OpenFlow 1.0 format.
    let out = sw.ofctl(&["dump-flows"], &["cookie=0x5/0xff,tcp,tp_dst=80"]).unwrap();
    expect(&out, &["idle_age=3, hard_age=9"]);
    let out = sw.ofctl(&["dump-aggregate"], &["ip"]).unwrap();
    expect(&out, &["NXST_AGGREGATE reply (xid=0x", "packet_count=10 byte_count=1000 flow_count=3"]);
    let out = sw.ofctl(&["dump-tables"], &[]).unwrap();
    expect(&out, &["OFPST_TABLE reply", "active=4, lookup=100, matched=90"]);
    let out = sw.ofctl(&["dump-ports"], &[]).unwrap();
    expect(&out, &["OFPST_PORT reply", "port  1: rx pkts=1, bytes=3, drop=5, errs=7, frame=9, over=10, crc=11"]);
    let out = sw.ofctl(&["dump-ports-desc"], &[]).unwrap();
    expect(&out, &["OFPST_PORT_DESC reply", " 5(vif5.0): addr:aa:00:00:00:00:05"]);
    let out = sw.ofctl(&["queue-stats"], &[]).unwrap();
    expect(&out, &["OFPST_QUEUE reply", "port 1 queue 0: bytes=10, pkts=1, errors=0"]);
    // Hundreds of flows: several NXST_FLOW replies chained with OFPSF_REPLY_MORE.
    let out = sw.ofctl(&["dump-flows"], &["table=9"]).unwrap();
    assert_eq!(out.lines().filter(|l| l.starts_with(" cookie=")).count(), MANY, "{out}");
    assert!(out.contains(&format!(" cookie={:#x},", MANY - 1)));
}

#[test]
fn ovs_ofctl_openflow13_dumps() {
    let sw = FakeSwitch::start(OFP13_VERSION, "of13");
    let of13 = |cmd: &'static str| ["-O", "OpenFlow13", cmd];
    let Some(out) = sw.ofctl(&of13("dump-flows"), &[]) else { return };
    expect(&out, &["send_flow_rem priority=100,arp,in_port=3 actions=output:2,learn(", "goto_table:5"]);
    let out = sw.ofctl(&of13("dump-flows"), &["table=9"]).unwrap();
    assert_eq!(out.lines().filter(|l| l.starts_with(" cookie=")).count(), MANY, "{out}");
    let out = sw.ofctl(&of13("dump-ports-desc"), &[]).unwrap();
    expect(&out, &["OFPST_PORT_DESC reply (OF1.3)", " 5(vif5.0): addr:aa:00:00:00:00:05"]);
    let out = sw.ofctl(&of13("dump-aggregate"), &[]).unwrap();
    expect(&out, &["OFPST_AGGREGATE reply (OF1.3)", "flow_count=3"]);
    let out = sw.ofctl(&of13("dump-table-features"), &[]).unwrap();
    expect(&out, &["  table 0 (\"table0\"):", "next tables: 1-3", "  table 3 (\"table3\"):", "max_entries=1000"]);
    let out = sw.ofctl(&of13("dump-tables"), &[]).unwrap();
    expect(&out, &["active=4, lookup=100, matched=90"]);
    let out = sw.ofctl(&of13("dump-ports"), &[]).unwrap();
    expect(&out, &["duration=100.000000005s"]);
    let out = sw.ofctl(&of13("dump-groups"), &[]).unwrap();
    expect(&out, &["group_id=7,type=select,bucket=weight:10,actions=output:1,bucket=weight:20,actions=output:2"]);
    let out = sw.ofctl(&of13("dump-group-stats"), &[]).unwrap();
    expect(&out, &["group_id=1,duration=5.000000006s,ref_count=2,packet_count=3,byte_count=4"]);
    let out = sw.ofctl(&of13("dump-group-features"), &[]).unwrap();
    expect(&out, &["Types:  0xf"]);
    let out = sw.ofctl(&of13("dump-meters"), &[]).unwrap();
    expect(&out, &["meter=1 kbps burst bands=", "type=drop rate=100 burst_size=10"]);
    let out = sw.ofctl(&of13("meter-stats"), &[]).unwrap();
    expect(&out, &["meter:1 flow_count:2 packet_in_count:3 byte_in_count:4"]);
    let out = sw.ofctl(&of13("meter-features"), &[]).unwrap();
    expect(&out, &["max_meter:0 max_bands:0 max_color:0"]);
}

#[test]
fn ovs_ofctl_monitor_prints_async_messages() {
    for (version, args, removed) in [
        (
            OFP10_VERSION,
            &[][..],
            "NXT_FLOW_REMOVED (xid=0x0): priority=7,arp,tun_id=0x9,in_port=2 reason=idle table_id=3 cookie:0x5",
        ),
        (
            OFP13_VERSION,
            &["-O", "OpenFlow13"][..],
            "OFPT_FLOW_REMOVED (OF1.3) (xid=0x0): priority=7,arp,tun_id=0x9,in_port=2",
        ),
    ] {
        let sw = FakeSwitch::start_with(version, &format!("monitor{version}"), true);
        let pin = "table_id=7 cookie=0x99 total_len=64 reg2=0x3,metadata=0x77,in_port=5 (via action) data_len=60 \
                   (unbuffered)";
        let expect = [pin, " userdata=de.ad.be.ef", removed];
        let Some(out) = sw.monitor(args, &expect) else { return };
        for l in expect {
            assert!(out.contains(l), "version {version}: expected {l:?} in:\n{out}");
        }
    }
}
