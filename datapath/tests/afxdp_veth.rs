//! An [`AfxdpNetdev`] alone on one end of a veth pair, in its own network namespace, the other
//! end in a second namespace: frames sent there with a packet socket are received (XDP program
//! steering to the AF_XDP socket), frames sent by the netdev arrive there (counted with a packet
//! socket), in each XDP mode; the XDP program is gone once the netdev is dropped.
//!
//! The test re-executes itself inside the switch namespace (`ip netns exec`, so that /sys shows
//! that namespace's devices). Needs root: skipped with a reason elsewhere, fails under CI=true.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use datapath::netdev::afxdp::{AfxdpNetdev, AfxdpOptions};
use datapath::netdev::Netdev;
use ebpf::{AttachMode, XdpMode};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INSIDE: &str = "FERROVS_AFXDP_TEST";
/// Local experimental ethertype: nothing else in the namespaces sends it.
const ETHERTYPE: u16 = 0x88b5;
const FRAMES: usize = 200;

struct Netns(String);

impl Netns {
    fn new(prefix: &str) -> Self {
        let n = Netns(format!("{prefix}{}", std::process::id()));
        ip(&["netns", "add", &n.0]);
        ip(&["-n", &n.0, "link", "set", "lo", "up"]);
        n
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("ip");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn is_root(test: &str) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if !root {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{test} needs root under CI");
        eprintln!("SKIP {test}: needs root (network namespaces, XDP)");
    }
    root
}

/// Python run in the peer namespace: a packet socket on the peer end that either sends
/// FRAMES marked frames (tx) or counts marked frames for up to 5 s (rx), printing the count.
const PEER: &str = r#"
import socket, sys, time
mode, dev, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.setsockopt(socket.SOL_SOCKET, 33, 1 << 24)  # SO_RCVBUFFORCE: no loss while Python is slow
s.bind((dev, 0))
if mode == "tx":
    for i in range(n):
        pad = b"p" * (i * 7 % 1400)
        s.send(b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"ferrovs-rx" + i.to_bytes(4, "big") + pad)
    print(n)
elif mode == "txudp":
    # IPv4/UDP from many source ports: the veth spreads them over its queues by flow hash.
    for i in range(n):
        body = b"ferrovs-rx" + i.to_bytes(4, "big")
        udp = (10000 + i).to_bytes(2, "big") + b"\x13\x89" + (8 + len(body)).to_bytes(2, "big") + b"\0\0" + body
        ip = b"\x45\0" + (20 + len(udp)).to_bytes(2, "big") + b"\0\0\x40\0\x40\x11\0\0" + bytes([10, 79, 0, 1, 10, 79, 0, 2])
        s.send(b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + udp)
    print(n)
else:
    print("ready", flush=True)
    s.settimeout(0.2); got = set(); end = time.time() + 5
    while len(got) < n and time.time() < end:
        try:
            f = s.recv(65536)
        except socket.timeout:
            continue
        if f[12:14] == b"\x88\xb5" and f[14:24] == b"ferrovs-tx":
            got.add(int.from_bytes(f[24:28], "big"))
    print(len(got))
"#;

fn peer(peer_ns: &str, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", peer_ns, "python3", "-c", PEER]).args(args);
    c
}

/// Receives marked frames until `FRAMES` or 5 s; returns the sequence numbers seen.
fn receive(dev: &mut AfxdpNetdev) -> Vec<u32> {
    receive_at(dev, 14)
}

/// As [`receive`], the marker at byte `at` (42: in an IPv4/UDP payload).
fn receive_at(dev: &mut AfxdpNetdev, at: usize) -> Vec<u32> {
    let mut bufs: Vec<Vec<u8>> = (0..32).map(|_| Vec::new()).collect();
    let mut seen = Vec::new();
    let mut ready = Vec::new();
    let end = Instant::now() + Duration::from_secs(5);
    while seen.len() < FRAMES && Instant::now() < end {
        datapath::sys::poll_readable(&[dev.poll_fd()], 100, &mut ready).unwrap();
        let n = dev.recv_batch(&mut bufs, 32).unwrap();
        for b in &bufs[..n] {
            if b.len() >= at + 14 && &b[at..at + 10] == b"ferrovs-rx" {
                let seq = u32::from_be_bytes([b[at + 10], b[at + 11], b[at + 12], b[at + 13]]);
                if at == 14 {
                    assert_eq!(b[12..14], ETHERTYPE.to_be_bytes());
                    assert_eq!(b.len(), 28 + (seq as usize * 7 % 1400), "frame {seq} intact");
                }
                seen.push(seq);
            }
        }
    }
    seen
}

fn exercise(dev_name: &str, peer_ns: &str, peer_dev: &str, opts: AfxdpOptions) -> (XdpMode, bool) {
    let mut dev = AfxdpNetdev::open_with(dev_name, opts).unwrap();
    assert_eq!(dev.n_rxq(), 1, "a veth has one rx queue");
    assert!(ip(&["link", "show", dev_name]).contains("xdp"), "XDP attached");
    let mode = (dev.xdp_mode(), dev.is_zero_copy());

    // Peer -> netdev.
    let n = FRAMES.to_string();
    let out = peer(peer_ns, &["tx", peer_dev, &n]).output().unwrap();
    assert!(out.status.success(), "peer tx: {}", String::from_utf8_lossy(&out.stderr));
    let mut seen = receive(&mut dev);
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), FRAMES, "{mode:?}: every frame received once, stats {:?}", dev.xsk_stats());

    // Netdev -> peer.
    let mut rx = peer(peer_ns, &["rx", peer_dev, &n]).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    {
        use std::io::BufRead;
        let mut r = std::io::BufReader::new(rx.stdout.as_mut().unwrap());
        r.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        for i in 0..FRAMES as u32 {
            let mut f = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x03];
            f.extend_from_slice(&ETHERTYPE.to_be_bytes());
            f.extend_from_slice(b"ferrovs-tx");
            f.extend_from_slice(&i.to_be_bytes());
            f.resize(f.len() + (i as usize * 13 % 1400), 0x55);
            dev.send(&f).unwrap();
            if i % 32 == 31 {
                dev.flush().unwrap();
            }
        }
        dev.flush().unwrap();
        line.clear();
        r.read_line(&mut line).unwrap();
    }
    let _ = rx.wait();
    assert_eq!(line.trim(), n, "{mode:?}: every frame arrived at the peer");
    assert_eq!(dev.tx_dropped(), 0);

    drop(dev);
    assert!(!ip(&["link", "show", dev_name]).contains("xdp"), "XDP detached on drop");
    mode
}

#[test]
fn afxdp_netdev_receives_and_sends_on_a_veth() {
    if let Ok(args) = std::env::var(INSIDE) {
        let v: Vec<&str> = args.split(',').collect();
        let (dev, peer_ns, peer_dev) = (v[0], v[1], v[2]);
        let auto = exercise(dev, peer_ns, peer_dev, AfxdpOptions::default());
        assert_eq!(auto, (XdpMode::Native, false), "veth: native XDP, copy mode");
        let generic =
            exercise(dev, peer_ns, peer_dev, AfxdpOptions { attach: AttachMode::Generic, ..AfxdpOptions::default() });
        assert_eq!(generic, (XdpMode::Generic, false));
        let zc = exercise(
            dev,
            peer_ns,
            peer_dev,
            AfxdpOptions { attach: AttachMode::Native, zero_copy: true, ..AfxdpOptions::default() },
        );
        // veth has no zero-copy support: the port falls back to copy mode.
        assert_eq!(zc, (XdpMode::Native, false));
        return;
    }
    if !is_root("afxdp_netdev_receives_and_sends_on_a_veth") {
        return;
    }
    let sw = Netns::new("faxs");
    let vm = Netns::new("faxv");
    let (a, b) = ("axa0", "axb0");
    ip(&["link", "add", a, "netns", &sw.0, "type", "veth", "peer", "name", b, "netns", &vm.0]);
    ip(&["-n", &sw.0, "link", "set", a, "up"]);
    ip(&["-n", &vm.0, "link", "set", b, "up"]);
    let out = Command::new("ip")
        .args(["netns", "exec", &sw.0])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "afxdp_netdev_receives_and_sends_on_a_veth", "--nocapture", "--test-threads=1"])
        .env(INSIDE, format!("{a},{},{b}", vm.0))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "inside the namespace: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn afxdp_netdev_serves_every_rx_queue_of_a_multiqueue_veth() {
    const TEST: &str = "afxdp_netdev_serves_every_rx_queue_of_a_multiqueue_veth";
    if let Ok(args) = std::env::var(INSIDE) {
        let v: Vec<&str> = args.split(',').collect();
        let (dev_name, peer_ns, peer_dev) = (v[0], v[1], v[2]);
        let mut dev = AfxdpNetdev::open(dev_name).unwrap();
        assert_eq!(dev.n_rxq(), 4, "one socket per rx queue, counted in /sys");
        let n = FRAMES.to_string();
        let out = peer(peer_ns, &["txudp", peer_dev, &n]).output().unwrap();
        assert!(out.status.success(), "peer tx: {}", String::from_utf8_lossy(&out.stderr));
        let mut seen = receive_at(&mut dev, 42);
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), FRAMES, "every frame received once, whatever its queue");
        // Which queues the frames came in on (veth's per-queue XDP counters).
        let stats = Command::new("ethtool").args(["-S", dev_name]).output().map(|o| o.stdout).unwrap_or_default();
        let stats = String::from_utf8_lossy(&stats);
        let used: Vec<&str> =
            stats.lines().filter(|l| l.contains("xdp_redirect") && !l.trim().ends_with(": 0")).collect();
        eprintln!("queues with redirected frames: {used:?}");
        assert!(used.len() > 1 || stats.is_empty(), "frames spread over several queues: {stats}");
        return;
    }
    if !is_root(TEST) {
        return;
    }
    let sw = Netns::new("faqs");
    let vm = Netns::new("faqv");
    let (a, b) = ("aqa0", "aqb0");
    ip(&[
        "link",
        "add",
        a,
        "netns",
        &sw.0,
        "numtxqueues",
        "4",
        "numrxqueues",
        "4",
        "type",
        "veth",
        "peer",
        "name",
        b,
        "netns",
        &vm.0,
        "numtxqueues",
        "4",
        "numrxqueues",
        "4",
    ]);
    ip(&["-n", &sw.0, "link", "set", a, "up"]);
    ip(&["-n", &vm.0, "link", "set", b, "up"]);
    let out = Command::new("ip")
        .args(["netns", "exec", &sw.0])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(INSIDE, format!("{a},{},{b}", vm.0))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "inside the namespace: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "{}",
        String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains("queues")).collect::<Vec<_>>().join("\n")
    );
}
