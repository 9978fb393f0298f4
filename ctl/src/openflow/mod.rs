//! ferrovsd's OpenFlow side: per bridge a management socket `<rundir>/<bridge>.mgmt` (mode
//! 0600, what `ovs-ofctl br0` style commands talk to), and the controllers configured with
//! `ferrovs set-controller`: active `tcp:`/`unix:` targets reconnected with backoff, passive
//! `ptcp:`/`punix:` listeners. Threads and blocking I/O: one thread per connection (reads with
//! a short timeout so the inactivity probe and shutdown are noticed), one per listener or
//! active target, and a manager that follows the configuration, fans out packet-ins,
//! flow-removed and port-status messages, keeps table-miss-to-controller in step with the
//! connections that want it, and applies fail-open.
//!
//! The protocol itself is [`ofagent::conn::Connection`]; the answers are [`switch_side`].

pub mod switch_side;
pub mod transport;

use crate::config::FailMode;
use crate::switch::{Netdevs, Runtime};
use datapath::pmd::{Pmd, SwitchState};
use datapath::poll::AgentEvent;
use flowtable::action::{Action, PacketInReason};
use flowtable::flow_mod::{FlowMod, FlowModCommand};
use flowtable::rule::Millis;
use flowtable::{Match, PortNo};
use ofagent::conn::{
    role, AsyncEvent, ConnConfig, ConnKind, Connection, Effect, Pending, Refusal, RoleArbiter, SwitchRequest,
};
use ofagent::msg::{Message, PacketIn, PortDesc, VersionBitmap, NO_BUFFER};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::time::Duration;
use transport::{Backoff, Listener, Stream, Target};

/// Committed bundles of at least this many flow_mods give the memory that staged them back to
/// the system (the C allocator keeps freed memory in the connection thread's arena otherwise).
const TRIM_AFTER_BUNDLE: usize = 1000;
/// How often connection threads wake up without traffic (probe checks, shutdown).
const TICK: Duration = Duration::from_millis(100);
/// Inactivity probe of controller connections (Open vSwitch's default 5 s).
pub const CONTROLLER_PROBE_MS: u64 = 5000;
/// A peer that does not read for this long is dropped (the writer thread's timeout).
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Most connections accepted per listener.
const MAX_PER_LISTENER: usize = 64;

/// What every OpenFlow thread shares.
pub struct Shared {
    /// Bridges and port map.
    pub state: Arc<RwLock<SwitchState>>,
    /// Open devices (packet-out transmits).
    pub netdevs: Arc<Mutex<Netdevs>>,
    /// Poll thread counters (port stats).
    pub pmd: Arc<Mutex<Pmd>>,
    /// The pipeline clock (the poll thread's).
    pub clock: Arc<dyn Fn() -> Millis + Send + Sync>,
    /// Packet-ins from packet-outs and flow-removed from flow-mods join the poll thread's.
    pub agent_tx: SyncSender<AgentEvent>,
    peers: Mutex<Vec<Arc<Peer>>>,
    arbiters: Mutex<BTreeMap<String, RoleArbiter>>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

/// Asynchronous messages (packet-ins ...) queued for a peer beyond which new ones are dropped
/// (Open vSwitch's packet-in queue is 100 deep).
const ASYNC_QUEUE_MAX: usize = 100;
/// Queued messages beyond which the connection's thread stops reading requests until the peer
/// reads its replies (backpressure).
const REPLY_BACKLOG: usize = 1000;
/// Queued bytes beyond which the peer is dropped.
const QUEUE_MAX_BYTES: usize = 16 << 20;

/// Bytes waiting to be written to a peer by its writer thread.
#[derive(Debug, Default)]
struct Outbox {
    queue: VecDeque<Vec<u8>>,
    bytes: usize,
    closed: bool,
    dropped: u64,
    /// The writer thread is writing a message it took from the queue.
    busy: bool,
}

/// One live connection.
#[derive(Debug)]
pub struct Peer {
    id: u64,
    bridge: String,
    /// The controller target it came through ("" for the management socket).
    origin: String,
    conn: Mutex<Connection>,
    out: Mutex<Outbox>,
    ready: Condvar,
    stop: AtomicBool,
    /// The socket, for writing directly from the connection's thread when nothing is queued
    /// (a request/reply round trip, such as ovs-ofctl's flow_mod + barrier, then costs no
    /// thread hop). Only used under the outbox lock while the outbox is open: the writer thread
    /// closes the socket only after the outbox is marked closed.
    fd: std::os::fd::RawFd,
}

impl Peer {
    fn outbox(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.out.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a reply (never dropped; a peer that lets too much pile up is disconnected).
    fn write(&self, bytes: Vec<u8>) {
        self.enqueue(bytes, false);
    }

    /// Queues an asynchronous message, or drops it if the peer is behind.
    fn write_async(&self, bytes: Vec<u8>) {
        self.enqueue(bytes, true);
    }

    fn enqueue(&self, mut bytes: Vec<u8>, droppable: bool) {
        if bytes.is_empty() {
            return;
        }
        let mut out = self.outbox();
        if out.closed {
            return;
        }
        if out.queue.is_empty() && !out.busy {
            // Non-blocking: what the socket does not take now goes to the writer thread.
            match datapath::sys::send(self.fd, &bytes) {
                Ok(n) if n >= bytes.len() => return,
                Ok(n) => {
                    bytes.drain(..n);
                }
                Err(_) => {}
            }
        }
        if droppable && out.queue.len() >= ASYNC_QUEUE_MAX {
            out.dropped += 1;
            if out.dropped.is_power_of_two() {
                log::warn!(
                    "{}: OpenFlow connection {}: {} asynchronous messages dropped",
                    self.bridge,
                    self.id,
                    out.dropped
                );
            }
            return;
        }
        if out.bytes + bytes.len() > QUEUE_MAX_BYTES {
            log::warn!("{}: OpenFlow connection {}: peer does not read, closing", self.bridge, self.id);
            self.stop.store(true, Ordering::Relaxed);
            out.closed = true;
            self.ready.notify_all();
            return;
        }
        out.bytes += bytes.len();
        out.queue.push_back(bytes);
        self.ready.notify_all();
    }

    fn backlog(&self) -> usize {
        self.outbox().queue.len()
    }

    /// The writer thread: writes queued bytes until the outbox is closed and drained.
    fn write_loop(&self, mut stream: Stream) {
        loop {
            let next = {
                let mut out = self.outbox();
                while out.queue.is_empty() && !out.closed {
                    out = self.ready.wait(out).unwrap_or_else(PoisonError::into_inner);
                }
                let Some(b) = out.queue.pop_front() else { break };
                out.bytes -= b.len();
                out.busy = true;
                b
            };
            let written = stream.write_all(&next);
            self.outbox().busy = false;
            if let Err(e) = written {
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) {
                    log::warn!(
                        "{}: OpenFlow connection {}: peer does not read (write timed out), closing",
                        self.bridge,
                        self.id
                    );
                } else {
                    log::debug!("{}: OpenFlow connection {}: write: {e}", self.bridge, self.id);
                }
                self.stop.store(true, Ordering::Relaxed);
                let mut out = self.outbox();
                out.closed = true;
                out.queue.clear();
                break;
            }
        }
        stream.shutdown();
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Shared {
    /// Handles on the switch the OpenFlow side works on.
    pub fn new(
        state: Arc<RwLock<SwitchState>>,
        netdevs: Arc<Mutex<Netdevs>>,
        pmd: Arc<Mutex<Pmd>>,
        clock: Arc<dyn Fn() -> Millis + Send + Sync>,
        agent_tx: SyncSender<AgentEvent>,
    ) -> Self {
        Shared {
            state,
            netdevs,
            pmd,
            clock,
            agent_tx,
            peers: Mutex::default(),
            arbiters: Mutex::default(),
            next_id: AtomicU64::new(1),
        }
    }

    fn peers_of(&self, bridge: &str) -> Vec<Arc<Peer>> {
        let peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        peers.iter().filter(|p| p.bridge == bridge).cloned().collect()
    }

    /// Serves one connection until it closes (runs in the caller's thread). Returns whether
    /// the HELLO exchange succeeded.
    pub fn serve(&self, bridge: &str, origin: &str, stream: Stream, kind: ConnKind, versions: VersionBitmap) -> bool {
        let probe = (kind == ConnKind::Primary).then_some(CONTROLLER_PROBE_MS);
        let mut cfg = ConnConfig::new(kind, probe);
        cfg.versions = versions;
        let now = (self.clock)();
        let Ok(writer) = stream.try_clone() else { return false };
        let _ = writer.set_write_timeout(Some(WRITE_TIMEOUT));
        let _ = stream.set_read_timeout(Some(TICK));
        let peer = Arc::new(Peer {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            bridge: bridge.to_owned(),
            origin: origin.to_owned(),
            conn: Mutex::new(Connection::new(cfg, now)),
            out: Mutex::default(),
            ready: Condvar::new(),
            stop: AtomicBool::new(false),
            fd: std::os::fd::AsRawFd::as_raw_fd(&writer),
        });
        log::debug!("{bridge}: OpenFlow connection {} from {} ({kind:?})", peer.id, stream.peer_name());
        let w = Arc::clone(&peer);
        let Ok(write_thread) =
            std::thread::Builder::new().name(format!("of-write-{bridge}")).spawn(move || w.write_loop(writer))
        else {
            return false;
        };
        let hello = peer.conn().hello();
        peer.write(hello);
        self.peers.lock().unwrap_or_else(PoisonError::into_inner).push(Arc::clone(&peer));
        let negotiated = self.connection_loop(&peer, stream);
        self.peers.lock().unwrap_or_else(PoisonError::into_inner).retain(|p| p.id != peer.id);
        // Let the writer send what is queued (an error reply before a close), then stop it.
        peer.outbox().closed = true;
        peer.ready.notify_all();
        let _ = write_thread.join();
        log::debug!("{bridge}: OpenFlow connection {} closed", peer.id);
        negotiated
    }

    fn connection_loop(&self, peer: &Arc<Peer>, mut stream: Stream) -> bool {
        let mut buf = vec![0u8; 16 * 1024];
        let mut negotiated = false;
        while !peer.stop.load(Ordering::Relaxed) {
            if peer.backlog() > REPLY_BACKLOG {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            let n = match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => 0,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let now = (self.clock)();
            if n > 0 && peer.conn().feed(&buf[..n], now).is_err() {
                log::warn!("{}: OpenFlow connection {}: receive buffer overrun, closing", peer.bridge, peer.id);
                break;
            }
            if !self.process(peer, now) {
                break;
            }
            negotiated |= peer.conn().version().is_some();
        }
        negotiated
    }

    /// Runs every complete message and the probe; false once the connection must close.
    fn process(&self, peer: &Arc<Peer>, now: Millis) -> bool {
        loop {
            let effects = peer.conn().next(now);
            let Some(effects) = effects else { break };
            if !self.carry_out(peer, effects) {
                return false;
            }
        }
        let effects = peer.conn().tick(now);
        self.carry_out(peer, effects)
    }

    fn carry_out(&self, peer: &Arc<Peer>, effects: Vec<Effect>) -> bool {
        for e in effects {
            match e {
                Effect::Send(b) => peer.write(b),
                Effect::Close(why) => {
                    log::info!("{}: OpenFlow connection {}: closing: {why:?}", peer.bridge, peer.id);
                    return false;
                }
                Effect::Request(p) => {
                    let bytes = self.answer(peer, &p);
                    peer.write(bytes);
                    if let SwitchRequest::Bundle { mods, .. } = p.request {
                        let staged = mods.len();
                        drop(mods);
                        if staged >= TRIM_AFTER_BUNDLE {
                            crate::process::release_free_memory();
                        }
                    }
                }
            }
        }
        true
    }

    fn answer(&self, peer: &Arc<Peer>, p: &Pending) -> Vec<u8> {
        let (version, current_role) = {
            let c = peer.conn();
            (c.version().unwrap_or(ofagent::OFP10_VERSION), c.role())
        };
        let outcome = match &p.request {
            SwitchRequest::Role(r) => self.role_request(peer, current_role, *r),
            req => switch_side::handle(self, &peer.bridge, version, req),
        };
        if let Err(e) = &outcome {
            log::debug!("{}: OpenFlow connection {}: refused: {e:?}", peer.bridge, peer.id);
        }
        peer.conn().complete(p, outcome)
    }

    fn role_request(&self, peer: &Arc<Peer>, current: u32, r: ofagent::msg::Role) -> Result<Vec<Message>, Refusal> {
        let reply = {
            let mut arbiters = self.arbiters.lock().unwrap_or_else(PoisonError::into_inner);
            arbiters.entry(peer.bridge.clone()).or_default().request(current, r)?
        };
        if r.role != role::NOCHANGE {
            if r.role == role::MASTER {
                for other in self.peers_of(&peer.bridge) {
                    if other.id != peer.id && other.conn().role() == role::MASTER {
                        other.conn().set_role(role::SLAVE);
                    }
                }
            }
            peer.conn().set_role(r.role);
        }
        Ok(vec![Message::RoleReply(reply)])
    }

    /// Offers an asynchronous message to every connection of `bridge`.
    fn broadcast(&self, bridge: &str, ev: AsyncEvent<'_>) {
        for peer in self.peers_of(bridge) {
            let bytes = peer.conn().async_message(ev);
            if let Some(b) = bytes {
                peer.write_async(b);
            }
        }
    }

    fn dispatch(&self, ev: AgentEvent) {
        let names: Vec<String> = {
            let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
            state.bridges.iter().map(|b| b.name.clone()).collect()
        };
        match ev {
            AgentEvent::PacketIn(pin, frame) => {
                let Some(bridge) = names.get(pin.bridge) else { return };
                let msg = PacketIn {
                    buffer_id: NO_BUFFER,
                    total_len: u16::try_from(frame.len()).unwrap_or(u16::MAX),
                    reason: match pin.reason {
                        PacketInReason::NoMatch => 0,
                        PacketInReason::Action => 1,
                        PacketInReason::InvalidTtl => 2,
                    },
                    table_id: pin.table_id,
                    cookie: pin.cookie,
                    match_: switch_side::packet_in_match(&pin),
                    data: frame,
                };
                let ev = AsyncEvent::PacketIn {
                    pin: &msg,
                    implicit_miss: pin.reason == PacketInReason::NoMatch,
                    max_len: pin.max_len,
                    controller_id: pin.controller_id,
                    userdata: &pin.userdata,
                };
                self.broadcast(bridge, ev);
            }
            AgentEvent::FlowsRemoved(idx, removed) => {
                let Some(bridge) = names.get(idx) else { return };
                for r in removed.iter().filter(|r| r.rule.send_flow_rem()) {
                    let fr = switch_side::flow_removed(r);
                    self.broadcast(bridge, AsyncEvent::FlowRemoved(&fr));
                }
            }
        }
    }
}

/// A running listener or active connector, stopped by its flag.
struct Worker {
    stop: Arc<AtomicBool>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn spawn_listener(
    shared: &Arc<Shared>,
    (bridge, origin): (&str, &str),
    listener: Listener,
    kind: ConnKind,
    versions: VersionBitmap,
) -> Worker {
    let stop = Arc::new(AtomicBool::new(false));
    let (shared, bridge, flag) = (Arc::clone(shared), bridge.to_owned(), Arc::clone(&stop));
    let origin = origin.to_owned();
    let spawned = std::thread::Builder::new().name(format!("of-listen-{bridge}")).spawn(move || {
        let active = Arc::new(AtomicU64::new(0));
        while !flag.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok(Some(stream)) => {
                    if active.load(Ordering::Relaxed) >= MAX_PER_LISTENER as u64 {
                        log::warn!("{bridge}: too many OpenFlow connections, refusing one");
                        continue;
                    }
                    active.fetch_add(1, Ordering::Relaxed);
                    let (shared, bridge, active) = (Arc::clone(&shared), bridge.clone(), Arc::clone(&active));
                    let origin = origin.clone();
                    let _ = std::thread::Builder::new().name(format!("of-conn-{bridge}")).spawn(move || {
                        shared.serve(&bridge, &origin, stream, kind, versions);
                        active.fetch_sub(1, Ordering::Relaxed);
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => {
                    log::warn!("{bridge}: accept: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    });
    if let Err(e) = spawned {
        log::error!("cannot start an OpenFlow listener thread: {e}");
    }
    Worker { stop }
}

fn spawn_connector(
    shared: &Arc<Shared>,
    (bridge, origin): (&str, &str),
    target: Target,
    versions: VersionBitmap,
) -> Worker {
    let stop = Arc::new(AtomicBool::new(false));
    let (shared, bridge, flag) = (Arc::clone(shared), bridge.to_owned(), Arc::clone(&stop));
    let origin = origin.to_owned();
    let spawned = std::thread::Builder::new().name(format!("of-ctrl-{bridge}")).spawn(move || {
        let mut backoff = Backoff::default();
        while !flag.load(Ordering::Relaxed) {
            match Stream::connect(&target, Duration::from_secs(1)) {
                Ok(stream) => {
                    // A stop while connected: the manager closes the peers of removed targets.
                    let since = std::time::Instant::now();
                    if shared.serve(&bridge, &origin, stream, ConnKind::Primary, versions) {
                        backoff.connection_ended(since.elapsed());
                    }
                }
                Err(e) => log::debug!("{bridge}: controller {target:?}: {e}"),
            }
            let delay = backoff.next_delay();
            let deadline = std::time::Instant::now() + delay;
            while std::time::Instant::now() < deadline && !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    });
    if let Err(e) = spawned {
        log::error!("cannot start an OpenFlow controller thread: {e}");
    }
    Worker { stop }
}

/// What the manager wants running for one bridge.
#[derive(Clone, PartialEq, Eq)]
struct BridgeWants {
    controllers: Vec<String>,
    standalone: bool,
    versions: VersionBitmap,
}

fn versions_of(protocols: &[String]) -> VersionBitmap {
    let mut v = 0;
    for p in protocols {
        match p.as_str() {
            "OpenFlow10" => v |= 1 << ofagent::OFP10_VERSION,
            "OpenFlow13" => v |= 1 << ofagent::OFP13_VERSION,
            _ => {}
        }
    }
    if v == 0 {
        ofagent::SUPPORTED_VERSIONS
    } else {
        v
    }
}

/// The manager's state.
struct Manager {
    shared: Arc<Shared>,
    rt: Arc<Mutex<Runtime>>,
    rundir: PathBuf,
    /// (bridge, target) -> running worker; target "" is the management socket.
    workers: BTreeMap<(String, String), Worker>,
    wants: BTreeMap<String, BridgeWants>,
    ports: BTreeMap<String, BTreeMap<PortNo, PortDesc>>,
    fail_open: BTreeSet<String>,
}

/// Starts the OpenFlow side: returns after spawning the manager thread.
pub fn start(shared: Arc<Shared>, rt: Arc<Mutex<Runtime>>, rundir: PathBuf, events: Receiver<AgentEvent>) {
    rt.lock().unwrap_or_else(PoisonError::into_inner).of_synced = Some(Arc::new(AtomicU64::new(0)));
    let mut m = Manager {
        shared,
        rt,
        rundir,
        workers: BTreeMap::new(),
        wants: BTreeMap::new(),
        ports: BTreeMap::new(),
        fail_open: BTreeSet::new(),
    };
    let spawned = std::thread::Builder::new().name("openflow".into()).spawn(move || m.run(&events));
    if let Err(e) = spawned {
        log::error!("cannot start the OpenFlow manager: {e}");
    }
}

impl Manager {
    fn run(&mut self, events: &Receiver<AgentEvent>) {
        let mut last = 0;
        loop {
            match events.recv_timeout(Duration::from_millis(50)) {
                Ok(ev) => self.shared.dispatch(ev),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let now = (self.shared.clock)();
            if now >= last + 100 {
                last = now;
                self.reconcile();
                self.port_status();
                self.miss_to_controller();
                self.fail_open();
            }
        }
    }

    fn reconcile(&mut self) {
        let (seq, synced) = {
            let rt = self.rt.lock().unwrap_or_else(PoisonError::into_inner);
            (rt.cfg_seq, rt.of_synced.clone())
        };
        self.reconcile_workers();
        if let Some(synced) = synced {
            synced.fetch_max(seq, Ordering::Release);
        }
    }

    fn reconcile_workers(&mut self) {
        let wants: BTreeMap<String, BridgeWants> = {
            let rt = self.rt.lock().unwrap_or_else(PoisonError::into_inner);
            rt.config
                .bridges
                .values()
                .map(|b| {
                    (
                        b.name.clone(),
                        BridgeWants {
                            controllers: b.controllers.clone(),
                            standalone: b.fail_mode.unwrap_or_default() == FailMode::Standalone,
                            versions: versions_of(&b.protocols),
                        },
                    )
                })
                .collect()
        };
        if wants == self.wants {
            return;
        }
        let mut desired: BTreeMap<(String, String), VersionBitmap> = BTreeMap::new();
        for (name, w) in &wants {
            desired.insert((name.clone(), String::new()), w.versions);
            for c in &w.controllers {
                desired.insert((name.clone(), c.clone()), w.versions);
            }
        }
        // Stop what is no longer wanted (or whose versions changed), and close its peers.
        let old_versions: BTreeMap<String, VersionBitmap> =
            self.wants.iter().map(|(n, w)| (n.clone(), w.versions)).collect();
        let stale: Vec<(String, String)> = self
            .workers
            .keys()
            .filter(|k| {
                !desired.contains_key(*k) || old_versions.get(&k.0).copied() != wants.get(&k.0).map(|w| w.versions)
            })
            .cloned()
            .collect();
        for k in stale {
            self.workers.remove(&k);
            for p in self.shared.peers_of(&k.0) {
                if !wants.contains_key(&k.0) || p.origin == k.1 {
                    p.stop.store(true, Ordering::Relaxed);
                }
            }
        }
        for (key, versions) in desired {
            if self.workers.contains_key(&key) {
                continue;
            }
            let (bridge, target) = &key;
            let worker = if target.is_empty() {
                let path = self.rundir.join(format!("{bridge}.mgmt"));
                match Listener::unix(&path) {
                    Ok(l) => spawn_listener(&self.shared, (bridge, target), l, ConnKind::Service, versions),
                    Err(e) => {
                        log::error!("{bridge}: cannot listen on {}: {e}", path.display());
                        continue;
                    }
                }
            } else {
                match Target::parse(target) {
                    Some(t) if t.is_passive() => match Listener::bind(&t) {
                        Ok(l) => spawn_listener(&self.shared, (bridge, target), l, ConnKind::Primary, versions),
                        Err(e) => {
                            log::error!("{bridge}: cannot listen on {target}: {e}");
                            continue;
                        }
                    },
                    Some(t) => spawn_connector(&self.shared, (bridge, target), t, versions),
                    None => {
                        log::error!("{bridge}: bad controller target {target}");
                        continue;
                    }
                }
            };
            log::info!("{bridge}: OpenFlow {}", if target.is_empty() { "management socket up" } else { target });
            self.workers.insert(key, worker);
        }
        self.wants = wants;
    }

    /// PORT_STATUS for ports added, deleted or changed since the last look.
    fn port_status(&mut self) {
        let now: BTreeMap<String, BTreeMap<PortNo, PortDesc>> = {
            let state = self.shared.state.read().unwrap_or_else(PoisonError::into_inner);
            state.bridges.iter().map(|b| (b.name.clone(), switch_side::port_descs(b))).collect()
        };
        for (bridge, ports) in &now {
            let Some(before) = self.ports.get(bridge) else { continue };
            for (no, d) in ports {
                match before.get(no) {
                    None => self.shared.broadcast(bridge, AsyncEvent::PortStatus { reason: 0, port: d }),
                    Some(old) if old != d => {
                        self.shared.broadcast(bridge, AsyncEvent::PortStatus { reason: 2, port: d })
                    }
                    Some(_) => {}
                }
            }
            for (no, d) in before {
                if !ports.contains_key(no) {
                    self.shared.broadcast(bridge, AsyncEvent::PortStatus { reason: 1, port: d });
                }
            }
        }
        self.ports = now;
    }

    /// Table misses go to the controller while an OpenFlow 1.0 connection wants them.
    fn miss_to_controller(&self) {
        let wanted: BTreeSet<String> = {
            let peers = self.shared.peers.lock().unwrap_or_else(PoisonError::into_inner);
            peers.iter().filter(|p| p.conn().wants_miss_packet_ins()).map(|p| p.bridge.clone()).collect()
        };
        let differs = {
            let state = self.shared.state.read().unwrap_or_else(PoisonError::into_inner);
            state.bridges.iter().any(|b| b.miss_to_controller != wanted.contains(&b.name))
        };
        if differs {
            let mut state = self.shared.state.write().unwrap_or_else(PoisonError::into_inner);
            for b in &mut state.bridges {
                b.miss_to_controller = wanted.contains(&b.name);
            }
            state.changed();
        }
    }

    /// Standalone bridges with controllers act as learning switches (a priority-0 NORMAL flow)
    /// while no controller is connected, as Open vSwitch's fail-open.
    fn fail_open(&mut self) {
        let connected: BTreeSet<String> = {
            let peers = self.shared.peers.lock().unwrap_or_else(PoisonError::into_inner);
            peers
                .iter()
                .filter(|p| {
                    let c = p.conn();
                    c.kind() == ConnKind::Primary && c.version().is_some()
                })
                .map(|p| p.bridge.clone())
                .collect()
        };
        let now = (self.shared.clock)();
        let normal = FlowMod::add(0, 0, Match::ANY, vec![Action::Output { port: PortNo::NORMAL, max_len: 0 }]);
        for (bridge, w) in &self.wants {
            let want_open = w.standalone && !w.controllers.is_empty() && !connected.contains(bridge);
            let is_open = self.fail_open.contains(bridge);
            if want_open == is_open {
                continue;
            }
            let mut state = self.shared.state.write().unwrap_or_else(PoisonError::into_inner);
            let Some(b) = state.bridges.iter_mut().find(|b| &b.name == bridge) else { continue };
            if want_open {
                let present = b
                    .pipeline
                    .table(0)
                    .is_some_and(|t| t.cls.find_exact(&Match::ANY, 0, b.pipeline.version()).is_some());
                if !present {
                    if let Err(e) = b.pipeline.apply(&normal, now) {
                        log::warn!("{bridge}: fail-open flow: {e}");
                    }
                    log::info!("{bridge}: no controller connected: fail-open (NORMAL)");
                }
                self.fail_open.insert(bridge.clone());
            } else {
                let mut del = normal.clone();
                del.command = FlowModCommand::DeleteStrict;
                let is_ours = b
                    .pipeline
                    .table(0)
                    .and_then(|t| t.cls.find_exact(&Match::ANY, 0, b.pipeline.version()))
                    .is_some_and(|e| *e.value.actions == *normal.actions);
                if is_ours {
                    let _ = b.pipeline.apply(&del, now);
                }
                log::info!("{bridge}: controller connected: fail-open off");
                self.fail_open.remove(bridge);
            }
            state.changed();
        }
        self.fail_open.retain(|b| self.wants.contains_key(b));
    }
}
