//! ferrovsd's running switch: turns the configuration into bridges, ports and open devices,
//! and reconciles them when the configuration changes (ports added, removed or retyped;
//! bridges created with their LOCAL port and, in standalone mode, the priority-0 NORMAL flow).
//!
//! A configuration change is all-or-nothing: every new device is opened before anything is
//! committed, and the configuration is saved before the new state replaces the old.

use crate::config::{self, Config, FailMode, Interface, OFPORT_LOCAL};
use datapath::netdev::afxdp::{AfxdpNetdev, AfxdpOptions};
use datapath::netdev::tap::{self, TapNetdev};
use datapath::netdev::Netdev;
use datapath::pmd::{Pmd, SwitchState};
use flowtable::action::Action;
use flowtable::bridge::{Bridge, PortInfo, VlanConfig, VlanMode};
use flowtable::flow_mod::FlowMod;
use flowtable::rule::Millis;
use flowtable::{DpPort, Match, PortNo};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

/// Open devices by datapath port.
pub type Netdevs = BTreeMap<DpPort, Box<dyn Netdev>>;

/// The running switch.
pub struct Runtime {
    /// The configuration in force (as saved).
    pub config: Config,
    /// Where it is saved.
    pub db_path: PathBuf,
    /// Bridges and port map, shared with the poll thread.
    pub state: Arc<RwLock<SwitchState>>,
    /// Devices, shared with the poll thread.
    pub netdevs: Arc<Mutex<Netdevs>>,
    /// The poll thread's caches and counters.
    pub pmd: Arc<Mutex<Pmd>>,
    /// Datapath port of each (bridge, port) ever seen, kept stable across changes.
    dp_ports: BTreeMap<(String, String), DpPort>,
    /// Kind of device open on each datapath port.
    open_kinds: BTreeMap<DpPort, String>,
    /// Interface index each kernel device was opened on (not for internal ports: those are
    /// our own taps and keep working wherever they are moved).
    open_ifindex: BTreeMap<DpPort, u32>,
    next_dp: u32,
    start: Instant,
    /// Bumped by every configuration change that took effect.
    pub cfg_seq: u64,
    /// The last `cfg_seq` the OpenFlow side has put in force (management sockets bound,
    /// controllers dialled), when it runs: the control socket answers a change only then, as
    /// ovs-vsctl waits for ovs-vswitchd, so that `add-br br0` is followed by a working
    /// `ovs-ofctl dump-flows br0`.
    pub of_synced: Option<Arc<std::sync::atomic::AtomicU64>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("db_path", &self.db_path).finish_non_exhaustive()
    }
}

/// The system id MACs are derived from, set once when the daemon restores its configuration.
static SYSTEM_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A random system id (128 bits from the kernel's generator, in hex).
fn new_system_id() -> String {
    let mut bytes = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut bytes);
    }
    if bytes == [0; 16] {
        // No /dev/urandom: time and pid still tell two hosts apart.
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        bytes[..8].copy_from_slice(&t.as_nanos().to_le_bytes()[..8]);
        bytes[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    }
    bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{b:02x}"));
        s
    })
}

/// A locally administered MAC derived from the system id and a device name: stable across
/// restarts, different between hosts.
pub fn mac_for(name: &str) -> [u8; 6] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let salt = SYSTEM_ID.get().map_or("", String::as_str);
    for b in salt.bytes().chain([0]).chain(name.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let b = h.to_be_bytes();
    [0x02 | (b[0] & 0xfc), b[1], b[2], b[3], b[4], b[5]]
}

fn vlan_config(p: &config::Port) -> VlanConfig {
    let mode = match p.vlan_mode.as_deref() {
        Some("access") => VlanMode::Access,
        Some("native-tagged") => VlanMode::NativeTagged,
        Some("native-untagged") => VlanMode::NativeUntagged,
        Some("trunk") => VlanMode::Trunk,
        _ if p.tag.is_some() => VlanMode::Access,
        _ => VlanMode::Trunk,
    };
    VlanConfig { mode, tag: p.tag, trunks: p.trunks.clone() }
}

/// Whether ports of this interface type are kernel devices the switch attaches to (and can
/// lose when they are deleted, renamed or moved).
fn is_kernel_device(kind: &str) -> bool {
    matches!(kind, "" | "system" | "afxdp" | "tap")
}

fn open_netdev(iface: &Interface) -> Result<Box<dyn Netdev>, String> {
    let r = match iface.kind.as_str() {
        "internal" => TapNetdev::internal(&iface.name, Some(mac_for(&iface.name))),
        "system" => TapNetdev::attach(&iface.name),
        // A VM's tap: AF_XDP where XDP attaches, AF_PACKET otherwise (logged).
        "tap" => {
            let opts = AfxdpOptions::from_options(&iface.options).map_err(|e| format!("{}: {e}", iface.name))?;
            return tap::open_vm_tap(&iface.name, opts)
                .map_err(|e| format!("{}: could not open device: {e}", iface.name));
        }
        // An existing netdev: AF_XDP, as Open vSwitch's `afxdp` type.
        "" | "afxdp" => {
            return AfxdpOptions::from_options(&iface.options)
                .and_then(|o| AfxdpNetdev::open_with(&iface.name, o))
                .map(|d| Box::new(d) as Box<dyn Netdev>)
                .map_err(|e| format!("{}: could not open device with AF_XDP: {e}", iface.name));
        }
        other => return Err(format!("{}: interface type \"{other}\" is not supported yet", iface.name)),
    };
    r.map(|d| Box::new(d) as Box<dyn Netdev>).map_err(|e| format!("{}: could not open device: {e}", iface.name))
}

impl Runtime {
    /// A switch with no bridges, saving to `db_path`.
    pub fn new(db_path: PathBuf) -> Self {
        Runtime {
            config: Config::default(),
            db_path,
            state: Arc::new(RwLock::new(SwitchState::new())),
            netdevs: Arc::default(),
            pmd: Arc::default(),
            dp_ports: BTreeMap::new(),
            open_kinds: BTreeMap::new(),
            open_ifindex: BTreeMap::new(),
            next_dp: 1,
            start: Instant::now(),
            cfg_seq: 0,
            of_synced: None,
        }
    }

    /// Milliseconds since the daemon started (the pipeline's clock).
    pub fn now(&self) -> Millis {
        self.start.elapsed().as_millis() as Millis
    }

    fn dp_port(&mut self, bridge: &str, port: &str) -> DpPort {
        if let Some(p) = self.dp_ports.get(&(bridge.to_owned(), port.to_owned())) {
            return *p;
        }
        let p = DpPort(self.next_dp);
        self.next_dp += 1;
        self.dp_ports.insert((bridge.to_owned(), port.to_owned()), p);
        p
    }

    /// Makes `new` the configuration: opens and closes devices, rebuilds the port map, keeps
    /// every surviving bridge's flows and MAC table, saves, and commits. On error nothing changed.
    pub fn apply_config(&mut self, new: Config, save: bool) -> Result<(), String> {
        self.reconcile(new, save, false)?;
        self.cfg_seq += 1;
        Ok(())
    }

    /// Restores a configuration at start: devices that cannot be opened (a netdev that is gone)
    /// are logged and skipped, as Open vSwitch does, instead of failing everything.
    pub fn restore(&mut self, mut cfg: Config) {
        let fresh = cfg.system_id.is_empty();
        if fresh {
            cfg.system_id = new_system_id();
        }
        let _ = SYSTEM_ID.set(cfg.system_id.clone());
        if let Err(e) = self.reconcile(cfg, false, true) {
            log::error!("restoring the configuration: {e}");
        }
        if fresh {
            if let Err(e) = config::store::save(&self.db_path, &self.config) {
                log::warn!("cannot save the new system id: {e}");
            }
        }
    }

    fn note_opened(&mut self, dp: DpPort, iface: &Interface) {
        self.open_kinds.insert(dp, iface.kind.clone());
        self.open_ifindex.remove(&dp);
        if is_kernel_device(&iface.kind) {
            if let Ok(ifindex) = datapath::sys::ifindex(&iface.name) {
                self.open_ifindex.insert(dp, ifindex);
            }
        }
    }

    /// Follows the kernel's links, as Open vSwitch does on link notifications: a port whose
    /// device was deleted, renamed or moved to another namespace (its name no longer resolves
    /// to the interface index it was opened on, or the kernel announced that index gone) is
    /// closed but stays configured; when a device of that name is back, it is reopened. Internal
    /// ports are the switch's own taps and keep working in any namespace, so they are left alone.
    pub fn refresh_devices(&mut self, gone: &[u32]) {
        let wanted: Vec<(DpPort, Interface)> = self
            .config
            .bridges
            .values()
            .flat_map(|b| b.ports.values().map(move |p| (b, p)))
            .filter(|(_, p)| is_kernel_device(&p.interface.kind))
            .filter_map(|(b, p)| Some((*self.dp_ports.get(&(b.name.clone(), p.name.clone()))?, p.interface.clone())))
            .collect();
        for (dp, iface) in wanted {
            let now_index = datapath::sys::ifindex(&iface.name).ok();
            let mut netdevs = self.netdevs.lock().unwrap_or_else(PoisonError::into_inner);
            let opened_on = self.open_ifindex.get(&dp).copied();
            if netdevs.contains_key(&dp) && (now_index != opened_on || opened_on.is_some_and(|i| gone.contains(&i))) {
                log::warn!("{}: device gone (deleted, renamed or moved); port kept, closed", iface.name);
                netdevs.remove(&dp);
                self.open_kinds.remove(&dp);
                self.open_ifindex.remove(&dp);
            }
            if !netdevs.contains_key(&dp) && now_index.is_some() {
                match open_netdev(&iface) {
                    Ok(dev) => {
                        log::info!("{}: device back, reopened", iface.name);
                        netdevs.insert(dp, dev);
                        drop(netdevs);
                        self.note_opened(dp, &iface);
                    }
                    Err(e) => log::debug!("{e}"),
                }
            }
        }
    }

    fn reconcile(&mut self, new: Config, save: bool, tolerant: bool) -> Result<(), String> {
        let now = self.now();
        // Datapath ports for every non-patch interface, and devices to open.
        let mut wanted: BTreeMap<DpPort, Interface> = BTreeMap::new();
        for b in new.bridges.values() {
            for p in b.ports.values() {
                if p.interface.kind != "patch" {
                    let dp = self.dp_port(&b.name, &p.name);
                    wanted.insert(dp, p.interface.clone());
                }
            }
        }
        // Tunnel ports have no device: their options are checked here, before anything changes.
        let mut tunnels = BTreeMap::new();
        for b in new.bridges.values() {
            for p in b.ports.values().filter(|p| p.interface.kind == "gre") {
                match config::tunnel_config(&p.interface) {
                    Ok(cfg) => {
                        tunnels.insert((b.name.clone(), p.name.clone()), cfg);
                    }
                    // A hand-edited file: the port stays, without a tunnel (output drops).
                    Err(e) if tolerant => log::error!("{e}"),
                    Err(e) => return Err(e),
                }
            }
        }
        wanted.retain(|_, iface| iface.kind != "gre");
        let mut opened: Netdevs = BTreeMap::new();
        {
            let netdevs = self.netdevs.lock().unwrap_or_else(PoisonError::into_inner);
            for (dp, iface) in &wanted {
                let same = netdevs.contains_key(dp) && self.open_kinds.get(dp) == Some(&iface.kind);
                if !same {
                    match open_netdev(iface) {
                        Ok(dev) => {
                            opened.insert(*dp, dev);
                        }
                        Err(e) if tolerant => log::error!("{e}"),
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        if save {
            config::store::save(&self.db_path, &new).map_err(|e| e.to_string())?;
        }
        // Commit: devices first, then the state the poll thread reads.
        {
            let devices = Arc::clone(&self.netdevs);
            let mut netdevs = devices.lock().unwrap_or_else(PoisonError::into_inner);
            netdevs.retain(|dp, _| wanted.contains_key(dp));
            self.open_kinds.retain(|dp, _| wanted.contains_key(dp));
            self.open_ifindex.retain(|dp, _| wanted.contains_key(dp));
            for (dp, dev) in opened {
                if let Some(iface) = wanted.get(&dp) {
                    log::info!(
                        "{}: opened ({})",
                        iface.name,
                        if iface.kind.is_empty() { "afxdp" } else { &iface.kind }
                    );
                    self.note_opened(dp, iface);
                }
                netdevs.insert(dp, dev);
            }
        }
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let mut old: BTreeMap<String, Bridge> = state.bridges.drain(..).map(|b| (b.name.clone(), b)).collect();
        let names: Vec<&String> = new.bridges.keys().collect();
        let mut bridges = Vec::new();
        let mut ports = BTreeMap::new();
        for (idx, (name, cb)) in new.bridges.iter().enumerate() {
            let mut b = old.remove(name).unwrap_or_else(|| {
                let mut b = Bridge::new(name);
                if cb.fail_mode.unwrap_or_default() == FailMode::Standalone && cb.controllers.is_empty() {
                    let normal =
                        FlowMod::add(0, 0, Match::ANY, vec![Action::Output { port: PortNo::NORMAL, max_len: 0 }]);
                    if let Err(e) = b.pipeline.apply(&normal, now) {
                        log::error!("{name}: could not add the NORMAL flow: {e}");
                    }
                }
                b
            });
            b.ports.clear();
            for p in cb.ports.values() {
                let of = PortNo(p.interface.ofport);
                let (dp_port, patch_peer) = if p.interface.kind == "patch" {
                    let peer = p.interface.options.get("peer").and_then(|peer| {
                        new.bridges.values().find_map(|pb| {
                            let pp = pb.ports.get(peer).filter(|pp| pp.interface.kind == "patch")?;
                            Some((names.iter().position(|n| **n == pb.name)?, PortNo(pp.interface.ofport)))
                        })
                    });
                    (None, peer)
                } else {
                    let dp = self.dp_ports[&(name.clone(), p.name.clone())];
                    ports.insert(dp, (idx, of));
                    (Some(dp), None)
                };
                let tunnel = tunnels.get(&(name.clone(), p.name.clone())).cloned();
                b.ports.insert(
                    of,
                    PortInfo {
                        name: p.name.clone(),
                        dp_port,
                        patch_peer,
                        vlan: vlan_config(p),
                        tunnel,
                        ..PortInfo::default()
                    },
                );
            }
            if !b.ports.contains_key(&PortNo(OFPORT_LOCAL)) {
                log::warn!("{name}: bridge has no LOCAL port");
            }
            bridges.push(b);
        }
        state.bridges = bridges;
        state.ports = ports;
        state.changed();
        drop(state);
        self.pmd.lock().unwrap_or_else(PoisonError::into_inner).flush(now);
        self.config = new;
        Ok(())
    }
}
