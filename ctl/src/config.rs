//! The switch configuration ferrovsd keeps (the part of Open vSwitch's OVSDB it needs):
//! bridges, ports, interfaces, controllers and fail modes, with OpenFlow port numbers that are
//! assigned once (honouring `ofport_request`) and survive restarts.
//!
//! [`store`] persists it crash-safely: write a temporary file, fsync, rename over the old one,
//! fsync the directory. A file that does not parse is reported and left as it is.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// OpenFlow number of a bridge's LOCAL port.
pub const OFPORT_LOCAL: u16 = 65534;
/// Highest OpenFlow number given to an ordinary port.
pub const OFPORT_MAX: u16 = 65279;

/// Configuration format version written to the file.
pub const FORMAT_VERSION: u32 = 1;

/// What a bridge does when no controller is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Behave as a learning switch (NORMAL) while no controller is connected.
    #[default]
    Standalone,
    /// Keep the installed flows; never fall back.
    Secure,
}

impl FailMode {
    /// The ovs-vsctl spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FailMode::Standalone => "standalone",
            FailMode::Secure => "secure",
        }
    }
}

/// An interface (one per port: bonds are not supported).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Interface {
    /// Name (the netdev's name for afxdp, tap and internal interfaces).
    pub name: String,
    /// `type`: "" (an existing netdev, attached with AF_XDP), "afxdp", "internal", "tap",
    /// "patch" or "gre".
    #[serde(default, rename = "type")]
    pub kind: String,
    /// `options` (peer=, remote_ip=, key=, ...).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// The OpenFlow port number assigned.
    pub ofport: u16,
    /// `ofport_request`.
    #[serde(default)]
    pub ofport_request: Option<u16>,
    /// `external_ids`.
    #[serde(default)]
    pub external_ids: BTreeMap<String, String>,
    /// `mtu_request`.
    #[serde(default)]
    pub mtu_request: Option<u32>,
}

/// A port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Port {
    /// Name.
    pub name: String,
    /// Access VLAN (`tag`).
    #[serde(default)]
    pub tag: Option<u16>,
    /// Trunked VLANs (`trunks`); empty: all.
    #[serde(default)]
    pub trunks: Vec<u16>,
    /// `vlan_mode`: access, trunk, native-tagged, native-untagged (None: implied by tag).
    #[serde(default)]
    pub vlan_mode: Option<String>,
    /// `external_ids`.
    #[serde(default)]
    pub external_ids: BTreeMap<String, String>,
    /// `other_config`.
    #[serde(default)]
    pub other_config: BTreeMap<String, String>,
    /// Its interface.
    pub interface: Interface,
}

/// A bridge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Bridge {
    /// Name (also its LOCAL port's).
    pub name: String,
    /// `fail_mode` (None: unset, which behaves as standalone).
    #[serde(default)]
    pub fail_mode: Option<FailMode>,
    /// Controller targets (`tcp:IP:PORT`, `ptcp:PORT`, `unix:PATH`).
    #[serde(default)]
    pub controllers: Vec<String>,
    /// `protocols` (OpenFlow10, OpenFlow13); empty: all supported.
    #[serde(default)]
    pub protocols: Vec<String>,
    /// `external_ids`.
    #[serde(default)]
    pub external_ids: BTreeMap<String, String>,
    /// `other_config`.
    #[serde(default)]
    pub other_config: BTreeMap<String, String>,
    /// Ports by name, the LOCAL port included.
    pub ports: BTreeMap<String, Port>,
}

impl Bridge {
    /// A new bridge with its LOCAL internal port, as `ovs-vsctl add-br` creates it.
    pub fn new(name: &str) -> Self {
        let local = Port {
            name: name.to_owned(),
            interface: Interface {
                name: name.to_owned(),
                kind: "internal".into(),
                ofport: OFPORT_LOCAL,
                ..Interface::default()
            },
            ..Port::default()
        };
        Bridge { name: name.to_owned(), ports: BTreeMap::from([(name.to_owned(), local)]), ..Bridge::default() }
    }

    /// The OpenFlow number for a new interface: its request if free, else the lowest free one.
    pub fn allocate_ofport(&self, request: Option<u16>) -> Option<u16> {
        let used = |n: u16| self.ports.values().any(|p| p.interface.ofport == n);
        if let Some(r) = request.filter(|r| (1..=OFPORT_MAX).contains(r) && !used(*r)) {
            return Some(r);
        }
        (1..=OFPORT_MAX).find(|n| !used(*n))
    }
}

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// File format version.
    pub format: u32,
    /// This switch's identity (Open vSwitch's `external_ids:system-id`): random, made once and
    /// kept in the file. Internal ports' MACs and datapath ids derive from it and the device
    /// name, so they survive restarts yet differ between hosts whose bridges share names
    /// (every Neutron host has a `br-int`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub system_id: String,
    /// Bridges by name.
    pub bridges: BTreeMap<String, Bridge>,
}

impl Default for Config {
    fn default() -> Self {
        Config { format: FORMAT_VERSION, system_id: String::new(), bridges: BTreeMap::new() }
    }
}

impl Config {
    /// The bridge that has a port (or interface) named `port`.
    pub fn bridge_of_port(&self, port: &str) -> Option<&Bridge> {
        self.bridges.values().find(|b| b.ports.contains_key(port) && b.name != port)
    }

    /// Whether any bridge has a port or interface called `name`.
    pub fn has_port(&self, name: &str) -> bool {
        self.bridges.values().any(|b| b.ports.contains_key(name))
    }
}

/// The tunnel configuration of a `type=gre` interface, its options checked as Open vSwitch
/// checks them (a bad option refuses the whole change, with the interface named).
pub fn tunnel_config(iface: &Interface) -> Result<flowtable::tunnel::TunnelConfig, String> {
    flowtable::tunnel::TunnelConfig::from_options(iface.options.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| format!("{}: {e}", iface.name))
}

/// Why the configuration could not be loaded or saved.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The file exists but is not a valid configuration; it is left untouched.
    #[error("{path}: corrupt configuration ({detail}); the file is kept as it is, fix or move it away")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// An I/O error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Crash-safe persistence of a [`Config`].
pub mod store {
    use super::{fs, Path, Write};
    use super::{Config, StoreError, FORMAT_VERSION};

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io { path: path.to_owned(), source }
    }

    /// Parses a configuration file's contents.
    pub fn parse(path: &Path, text: &str) -> Result<Config, StoreError> {
        let corrupt = |detail: String| StoreError::Corrupt { path: path.to_owned(), detail };
        let cfg: Config = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
        if cfg.format != FORMAT_VERSION {
            return Err(corrupt(format!("format version {} (this ferrovsd reads {FORMAT_VERSION})", cfg.format)));
        }
        for (name, b) in &cfg.bridges {
            if *name != b.name || b.ports.iter().any(|(n, p)| *n != p.name) {
                return Err(corrupt(format!("bridge {name}: names do not match their keys")));
            }
        }
        Ok(cfg)
    }

    /// Loads the configuration; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Config, StoreError> {
        match fs::read_to_string(path) {
            Ok(text) => parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(io(path)(e)),
        }
    }

    /// Saves atomically: after a crash at any point the file holds the old or the new
    /// configuration, never a mix.
    pub fn save(path: &Path, cfg: &Config) -> Result<(), StoreError> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io(dir))?;
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(cfg)
            .map_err(|e| StoreError::Corrupt { path: path.to_owned(), detail: e.to_string() })?;
        {
            let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
            f.write_all(text.as_bytes()).map_err(io(&tmp))?;
            f.write_all(b"\n").map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, path).map_err(io(path))?;
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
        Ok(())
    }
}

/// Fuzz entry point shared by the `config_load` target and the corpus replay test: any bytes
/// are refused with an error or loaded; what loads saves and loads back the same.
#[doc(hidden)]
pub fn fuzz_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz.json");
    if let Ok(cfg) = store::parse(path, &text) {
        let again = serde_json::to_string(&cfg).ok().and_then(|t| store::parse(path, &t).ok());
        assert_eq!(again.as_ref(), Some(&cfg));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ofport_allocation_honours_requests() {
        let mut b = Bridge::new("br0");
        assert_eq!(b.ports["br0"].interface.ofport, OFPORT_LOCAL);
        assert_eq!(b.allocate_ofport(None), Some(1));
        let mut p = Port { name: "p".into(), ..Port::default() };
        p.interface.ofport = 1;
        b.ports.insert("p".into(), p);
        assert_eq!(b.allocate_ofport(Some(1)), Some(2), "taken: next free");
        assert_eq!(b.allocate_ofport(Some(10)), Some(10));
    }

    #[test]
    fn save_load_roundtrip_and_corrupt_file_is_kept() {
        let dir = std::env::temp_dir().join(format!("ferrovs-cfg-{}", std::process::id()));
        let path = dir.join("conf.json");
        let mut cfg = Config::default();
        cfg.bridges.insert("br0".into(), Bridge::new("br0"));
        store::save(&path, &cfg).unwrap();
        assert_eq!(store::load(&path).unwrap(), cfg);
        fs::write(&path, "{ not json").unwrap();
        let err = store::load(&path).unwrap_err();
        assert!(err.to_string().contains("corrupt"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "{ not json", "kept as it was");
        fs::remove_dir_all(&dir).unwrap();
    }
}
