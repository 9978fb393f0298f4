//! ovs-vsctl's commands on the switch configuration, with its syntax: commands chained by
//! `--`, per-command options `--may-exist` / `--if-exists`, `COLUMN[:KEY]=VALUE` settings on
//! the Bridge, Port and Interface tables.
//!
//! A command line is applied to a copy of the configuration and only returned when every
//! command succeeded, so a failing command line changes nothing.

use crate::config::{Bridge, Config, FailMode, Interface, Port, OFPORT_LOCAL};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use thiserror::Error;

/// A command line that could not be applied (nothing of it was).
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct VsctlError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, VsctlError> {
    Err(VsctlError(msg.into()))
}

/// One command of a chain with its options.
#[derive(Debug, PartialEq, Eq)]
struct Command {
    may_exist: bool,
    if_exists: bool,
    name: String,
    args: Vec<String>,
}

fn split_commands(args: &[String]) -> Result<Vec<Command>, VsctlError> {
    let mut out = Vec::new();
    for group in args.split(|a| a == "--") {
        let mut cmd = Command { may_exist: false, if_exists: false, name: String::new(), args: Vec::new() };
        let mut words = group.iter();
        for w in words.by_ref() {
            match w.as_str() {
                "--may-exist" => cmd.may_exist = true,
                "--if-exists" => cmd.if_exists = true,
                o if o.starts_with("--") => return err(format!("unknown option '{o}'")),
                name => {
                    name.clone_into(&mut cmd.name);
                    break;
                }
            }
        }
        if cmd.name.is_empty() {
            if group.is_empty() {
                continue;
            }
            return err("missing command name");
        }
        cmd.args = words.cloned().collect();
        out.push(cmd);
    }
    if out.is_empty() {
        return err("missing command name (use --help for help)");
    }
    Ok(out)
}

/// Applies a command line to a copy of `cfg`; returns the new configuration and the output.
pub fn run(cfg: &Config, args: &[String]) -> Result<(Config, String), VsctlError> {
    let mut new = cfg.clone();
    let mut out = String::new();
    for cmd in split_commands(args)? {
        execute(&mut new, &cmd, &mut out)?;
    }
    Ok((new, out))
}

/// Whether a command line only reads (so the daemon need not save anything).
pub fn is_read_only(args: &[String]) -> bool {
    split_commands(args).is_ok_and(|cmds| {
        cmds.iter().all(|c| {
            matches!(
                c.name.as_str(),
                "list-br"
                    | "br-exists"
                    | "list-ports"
                    | "port-to-br"
                    | "iface-to-br"
                    | "show"
                    | "get"
                    | "list"
                    | "get-controller"
                    | "get-fail-mode"
                    | "find"
            )
        })
    })
}

fn nargs(cmd: &Command, min: usize, max: usize) -> Result<(), VsctlError> {
    if cmd.args.len() < min || cmd.args.len() > max {
        let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
        return err(format!("'{}' command requires {want} arguments, got {}", cmd.name, cmd.args.len()));
    }
    Ok(())
}

fn bridge_mut<'a>(cfg: &'a mut Config, name: &str) -> Result<&'a mut Bridge, VsctlError> {
    cfg.bridges.get_mut(name).ok_or_else(|| VsctlError(format!("no bridge named {name}")))
}

fn valid_name(name: &str) -> Result<(), VsctlError> {
    if name.is_empty() || name.len() > 15 || name.contains(['/', ' ', '\t', ':']) || name == "." || name == ".." {
        return err(format!("\"{name}\" is not a valid interface name (1 to 15 characters, no '/', ':' or spaces)"));
    }
    Ok(())
}

fn execute(cfg: &mut Config, cmd: &Command, out: &mut String) -> Result<(), VsctlError> {
    let a = &cmd.args;
    match cmd.name.as_str() {
        "add-br" => {
            nargs(cmd, 1, 1)?;
            valid_name(&a[0])?;
            if cfg.bridges.contains_key(&a[0]) {
                return if cmd.may_exist {
                    Ok(())
                } else {
                    err(format!("cannot create a bridge named {} because a bridge named {} already exists", a[0], a[0]))
                };
            }
            if cfg.has_port(&a[0]) {
                return err(format!(
                    "cannot create a bridge named {} because a port named {} already exists",
                    a[0], a[0]
                ));
            }
            cfg.bridges.insert(a[0].clone(), Bridge::new(&a[0]));
        }
        "del-br" => {
            nargs(cmd, 1, 1)?;
            if cfg.bridges.remove(&a[0]).is_none() && !cmd.if_exists {
                return err(format!("no bridge named {}", a[0]));
            }
        }
        "list-br" => {
            nargs(cmd, 0, 0)?;
            for name in cfg.bridges.keys() {
                let _ = writeln!(out, "{name}");
            }
        }
        "br-exists" => {
            nargs(cmd, 1, 1)?;
            if !cfg.bridges.contains_key(&a[0]) {
                return Err(VsctlError(format!("no bridge named {}", a[0])));
            }
        }
        "add-port" => {
            nargs(cmd, 2, usize::MAX)?;
            let (br, port) = (&a[0], &a[1]);
            valid_name(port)?;
            if !cfg.bridges.contains_key(br) {
                return err(format!("no bridge named {br}"));
            }
            if cfg.has_port(port) {
                if cmd.may_exist && cfg.bridges[br].ports.contains_key(port) {
                    return Ok(());
                }
                return err(format!(
                    "cannot create a port named {port} because a port named {port} already exists on bridge {}",
                    cfg.bridge_of_port(port).map_or(br.as_str(), |b| b.name.as_str())
                ));
            }
            let b = bridge_mut(cfg, br)?;
            let mut p = Port {
                name: port.clone(),
                interface: Interface { name: port.clone(), ..Interface::default() },
                ..Port::default()
            };
            for setting in &a[2..] {
                set_port_column(&mut p, setting)?;
            }
            p.interface.ofport = b
                .allocate_ofport(p.interface.ofport_request)
                .ok_or_else(|| VsctlError("no free OpenFlow port number".into()))?;
            b.ports.insert(port.clone(), p);
        }
        "del-port" => {
            nargs(cmd, 1, 2)?;
            let port = a.last().map_or("", String::as_str);
            let owner =
                if a.len() == 2 { Some(a[0].clone()) } else { cfg.bridge_of_port(port).map(|b| b.name.clone()) };
            let removed = owner
                .and_then(|br| cfg.bridges.get_mut(&br))
                .filter(|b| b.name != port)
                .and_then(|b| b.ports.remove(port));
            if removed.is_none() && !cmd.if_exists {
                return err(format!("no port named {port}"));
            }
        }
        "list-ports" => {
            nargs(cmd, 1, 1)?;
            let b = cfg.bridges.get(&a[0]).ok_or_else(|| VsctlError(format!("no bridge named {}", a[0])))?;
            for name in b.ports.keys().filter(|n| **n != b.name) {
                let _ = writeln!(out, "{name}");
            }
        }
        "port-to-br" | "iface-to-br" => {
            nargs(cmd, 1, 1)?;
            let b = cfg.bridge_of_port(&a[0]).ok_or_else(|| VsctlError(format!("no port named {}", a[0])))?;
            let _ = writeln!(out, "{}", b.name);
        }
        "set-controller" => {
            nargs(cmd, 1, usize::MAX)?;
            for t in &a[1..] {
                check_target(t)?;
            }
            bridge_mut(cfg, &a[0])?.controllers = a[1..].to_vec();
        }
        "get-controller" => {
            nargs(cmd, 1, 1)?;
            let b = bridge_mut(cfg, &a[0])?;
            for c in &b.controllers {
                let _ = writeln!(out, "{c}");
            }
        }
        "del-controller" => {
            nargs(cmd, 1, 1)?;
            bridge_mut(cfg, &a[0])?.controllers.clear();
        }
        "set-fail-mode" => {
            nargs(cmd, 2, 2)?;
            let mode = parse_fail_mode(&a[1])?;
            bridge_mut(cfg, &a[0])?.fail_mode = Some(mode);
        }
        "get-fail-mode" => {
            nargs(cmd, 1, 1)?;
            if let Some(m) = bridge_mut(cfg, &a[0])?.fail_mode {
                let _ = writeln!(out, "{}", m.as_str());
            }
        }
        "del-fail-mode" => {
            nargs(cmd, 1, 1)?;
            bridge_mut(cfg, &a[0])?.fail_mode = None;
        }
        "set" => {
            nargs(cmd, 3, usize::MAX)?;
            for setting in &a[2..] {
                set_column(cfg, &a[0], &a[1], setting, cmd.if_exists)?;
            }
        }
        "clear" => {
            nargs(cmd, 3, usize::MAX)?;
            for col in &a[2..] {
                clear_column(cfg, &a[0], &a[1], col, cmd.if_exists)?;
            }
        }
        "get" => {
            nargs(cmd, 3, usize::MAX)?;
            let rec = record(cfg, &a[0], &a[1])?;
            for col in &a[2..] {
                let (col, key) = col.split_once(':').map_or((col.as_str(), None), |(c, k)| (c, Some(k)));
                let value = rec.get(col).ok_or_else(|| {
                    VsctlError(format!("{} does not contain a column whose name matches \"{col}\"", a[0]))
                })?;
                match key {
                    None => {
                        let _ = writeln!(out, "{value}");
                    }
                    Some(k) => {
                        let v = map_get(value, k).ok_or_else(|| {
                            VsctlError(format!("no key \"{k}\" in {} record \"{}\" column {col}", a[0], a[1]))
                        })?;
                        let _ = writeln!(out, "{v}");
                    }
                }
            }
        }
        "list" => {
            nargs(cmd, 1, 2)?;
            let names: Vec<String> = match a.get(1) {
                Some(r) => vec![r.clone()],
                None => records_of(cfg, &a[0])?,
            };
            for (i, name) in names.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                let rec = record(cfg, &a[0], name)?;
                let width = rec.keys().map(String::len).max().unwrap_or(0);
                for (col, v) in &rec {
                    let _ = writeln!(out, "{col:<width$} : {v}");
                }
            }
        }
        "show" => {
            nargs(cmd, 0, 0)?;
            show(cfg, out);
        }
        "init" | "emer-reset" => {}
        other => return err(format!("unknown command '{other}'; use --help for help")),
    }
    Ok(())
}

fn parse_fail_mode(s: &str) -> Result<FailMode, VsctlError> {
    match s {
        "standalone" => Ok(FailMode::Standalone),
        "secure" => Ok(FailMode::Secure),
        other => err(format!("fail-mode must be \"standalone\" or \"secure\", not \"{other}\"")),
    }
}

fn check_target(t: &str) -> Result<(), VsctlError> {
    let ok = match t.split_once(':') {
        Some(("tcp", rest)) => rest
            .rsplit_once(':')
            .is_some_and(|(ip, port)| ip.parse::<std::net::IpAddr>().is_ok() && port.parse::<u16>().is_ok()),
        Some(("ptcp", rest)) => {
            let mut it = rest.splitn(2, ':');
            it.next().is_some_and(|p| p.parse::<u16>().is_ok())
                && it.next().is_none_or(|ip| ip.parse::<std::net::IpAddr>().is_ok())
        }
        Some(("unix" | "punix", path)) => !path.is_empty(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        err(format!("{t}: bad controller target (tcp:IP:PORT, ptcp:PORT[:IP], unix:PATH or punix:PATH)"))
    }
}

/// Splits `col[:key]=value`.
fn split_setting(s: &str) -> Result<(&str, Option<&str>, &str), VsctlError> {
    let (lhs, value) = s
        .split_once('=')
        .ok_or_else(|| VsctlError(format!("{s}: argument does not end in \"=\" followed by a value")))?;
    let (col, key) = lhs.split_once(':').map_or((lhs, None), |(c, k)| (c, Some(k)));
    Ok((col, key, value.trim_matches('"')))
}

fn parse_u16(col: &str, v: &str, max: u16) -> Result<u16, VsctlError> {
    v.parse::<u16>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| VsctlError(format!("{col}: \"{v}\" is not an integer in range 0..{max}")))
}

fn parse_list(v: &str) -> Vec<String> {
    v.trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_map(v: &str) -> Result<BTreeMap<String, String>, VsctlError> {
    let inner = v.trim_start_matches('{').trim_end_matches('}');
    let mut m = BTreeMap::new();
    for kv in inner.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').ok_or_else(|| VsctlError(format!("{kv}: map entries are KEY=VALUE")))?;
        m.insert(k.trim_matches('"').to_owned(), v.trim_matches('"').to_owned());
    }
    Ok(m)
}

fn set_map(map: &mut BTreeMap<String, String>, key: Option<&str>, value: &str) -> Result<(), VsctlError> {
    match key {
        Some(k) => {
            map.insert(k.to_owned(), value.to_owned());
        }
        None => *map = parse_map(value)?,
    }
    Ok(())
}

fn set_port_column(p: &mut Port, setting: &str) -> Result<(), VsctlError> {
    let (col, key, v) = split_setting(setting)?;
    match col {
        "tag" => p.tag = Some(parse_u16(col, v, 4095)?),
        "trunks" => p.trunks = parse_list(v).iter().map(|t| parse_u16(col, t, 4095)).collect::<Result<_, _>>()?,
        "vlan_mode" => {
            if !matches!(v, "access" | "trunk" | "native-tagged" | "native-untagged") {
                return err(format!("vlan_mode: \"{v}\" is not one of access, trunk, native-tagged, native-untagged"));
            }
            p.vlan_mode = Some(v.to_owned());
        }
        "external_ids" => set_map(&mut p.external_ids, key, v)?,
        "other_config" => set_map(&mut p.other_config, key, v)?,
        _ => return err(format!("Port does not contain a column whose name matches \"{col}\"")),
    }
    Ok(())
}

fn set_interface_column(i: &mut Interface, setting: &str, bridge: &Bridge) -> Result<(), VsctlError> {
    let (col, key, v) = split_setting(setting)?;
    match col {
        "type" => {
            if !matches!(v, "" | "system" | "afxdp" | "internal" | "tap" | "patch" | "gre") {
                return err(format!(
                    "type: \"{v}\" is not a supported interface type (system, afxdp, internal, tap, patch, gre)"
                ));
            }
            // "system" stays distinct from "" (AF_XDP): it is the AF_PACKET port.
            v.clone_into(&mut i.kind);
        }
        "options" => set_map(&mut i.options, key, v)?,
        "external_ids" => set_map(&mut i.external_ids, key, v)?,
        "ofport_request" => {
            let n = parse_u16(col, v, crate::config::OFPORT_MAX)?;
            if n == 0 {
                return err("ofport_request: must be 1 to 65279");
            }
            i.ofport_request = Some(n);
            if i.ofport != OFPORT_LOCAL && i.ofport != n && bridge.ports.values().all(|p| p.interface.ofport != n) {
                i.ofport = n;
            }
        }
        "mtu_request" => {
            i.mtu_request = Some(v.parse().map_err(|_| VsctlError(format!("mtu_request: \"{v}\" is not an integer")))?);
        }
        _ => return err(format!("Interface does not contain a column whose name matches \"{col}\"")),
    }
    Ok(())
}

fn set_bridge_column(b: &mut Bridge, setting: &str) -> Result<(), VsctlError> {
    let (col, key, v) = split_setting(setting)?;
    match col {
        "fail_mode" => b.fail_mode = Some(parse_fail_mode(v)?),
        "protocols" => {
            let list = parse_list(v);
            if let Some(bad) = list.iter().find(|p| !matches!(p.as_str(), "OpenFlow10" | "OpenFlow13")) {
                return err(format!("protocols: {bad} is not supported (OpenFlow10, OpenFlow13)"));
            }
            b.protocols = list;
        }
        "external_ids" => set_map(&mut b.external_ids, key, v)?,
        "other_config" => set_map(&mut b.other_config, key, v)?,
        "datapath_type" => {}
        _ => return err(format!("Bridge does not contain a column whose name matches \"{col}\"")),
    }
    Ok(())
}

fn set_column(cfg: &mut Config, table: &str, rec: &str, setting: &str, if_exists: bool) -> Result<(), VsctlError> {
    match table.to_ascii_lowercase().as_str() {
        "bridge" => match cfg.bridges.get_mut(rec) {
            Some(b) => set_bridge_column(b, setting),
            None if if_exists => Ok(()),
            None => err(format!("no row \"{rec}\" in table Bridge")),
        },
        "port" | "interface" => {
            let Some(br) = cfg.bridges.values_mut().find(|b| b.ports.contains_key(rec)) else {
                return if if_exists { Ok(()) } else { err(format!("no row \"{rec}\" in table {table}")) };
            };
            let snapshot = br.clone();
            let p = br.ports.get_mut(rec).ok_or_else(|| VsctlError(format!("no row \"{rec}\" in table {table}")))?;
            if table.eq_ignore_ascii_case("port") {
                set_port_column(p, setting)
            } else {
                set_interface_column(&mut p.interface, setting, &snapshot)
            }
        }
        "open_vswitch" => Ok(()),
        _ => err(format!("unknown table \"{table}\"")),
    }
}

fn clear_column(cfg: &mut Config, table: &str, rec: &str, col: &str, if_exists: bool) -> Result<(), VsctlError> {
    let t = table.to_ascii_lowercase();
    if t == "bridge" {
        let Some(b) = cfg.bridges.get_mut(rec) else {
            return if if_exists { Ok(()) } else { err(format!("no row \"{rec}\" in table Bridge")) };
        };
        match col {
            "fail_mode" => b.fail_mode = None,
            "controller" => b.controllers.clear(),
            "protocols" => b.protocols.clear(),
            "external_ids" => b.external_ids.clear(),
            "other_config" => b.other_config.clear(),
            _ => return err(format!("Bridge does not contain a column whose name matches \"{col}\"")),
        }
        return Ok(());
    }
    let Some(p) = cfg.bridges.values_mut().find_map(|b| b.ports.get_mut(rec)) else {
        return if if_exists { Ok(()) } else { err(format!("no row \"{rec}\" in table {table}")) };
    };
    match (t.as_str(), col) {
        ("port", "tag") => p.tag = None,
        ("port", "trunks") => p.trunks.clear(),
        ("port", "vlan_mode") => p.vlan_mode = None,
        ("port", "external_ids") => p.external_ids.clear(),
        ("port", "other_config") => p.other_config.clear(),
        ("interface", "options") => p.interface.options.clear(),
        ("interface", "external_ids") => p.interface.external_ids.clear(),
        ("interface", "ofport_request") => p.interface.ofport_request = None,
        ("interface", "mtu_request") => p.interface.mtu_request = None,
        _ => return err(format!("{table} does not contain a column whose name matches \"{col}\"")),
    }
    Ok(())
}

/// Quotes a string as OVSDB prints it: bare when it looks like an identifier.
pub fn quote(s: &str) -> String {
    let bare = !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !matches!(s, "true" | "false");
    if bare {
        s.to_owned()
    } else {
        format!("{s:?}")
    }
}

fn fmt_map(m: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = m.iter().map(|(k, v)| format!("{}={}", quote(k), quote(v))).collect();
    format!("{{{}}}", inner.join(", "))
}

fn fmt_list<T: ToString>(items: &[T]) -> String {
    format!("[{}]", items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "[]".to_owned(), |x| x.to_string())
}

fn records_of(cfg: &Config, table: &str) -> Result<Vec<String>, VsctlError> {
    Ok(match table.to_ascii_lowercase().as_str() {
        "bridge" => cfg.bridges.keys().cloned().collect(),
        "port" | "interface" => cfg.bridges.values().flat_map(|b| b.ports.keys().cloned()).collect(),
        _ => return err(format!("unknown table \"{table}\"")),
    })
}

/// A record's columns as ovs-vsctl prints them.
fn record(cfg: &Config, table: &str, rec: &str) -> Result<BTreeMap<String, String>, VsctlError> {
    let mut m = BTreeMap::new();
    match table.to_ascii_lowercase().as_str() {
        "bridge" => {
            let b = cfg.bridges.get(rec).ok_or_else(|| VsctlError(format!("no row \"{rec}\" in table Bridge")))?;
            m.insert("name".into(), quote(&b.name));
            m.insert("fail_mode".into(), opt(b.fail_mode.map(FailMode::as_str)));
            m.insert(
                "controller".into(),
                fmt_list(&b.controllers.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>()),
            );
            m.insert("protocols".into(), fmt_list(&b.protocols));
            m.insert("external_ids".into(), fmt_map(&b.external_ids));
            m.insert("other_config".into(), fmt_map(&b.other_config));
            m.insert("ports".into(), fmt_list(&b.ports.keys().map(|k| quote(k)).collect::<Vec<_>>()));
            m.insert("datapath_type".into(), "netdev".into());
        }
        "port" => {
            let p = cfg
                .bridges
                .values()
                .find_map(|b| b.ports.get(rec))
                .ok_or_else(|| VsctlError(format!("no row \"{rec}\" in table Port")))?;
            m.insert("name".into(), quote(&p.name));
            m.insert("tag".into(), opt(p.tag));
            m.insert("trunks".into(), fmt_list(&p.trunks));
            m.insert("vlan_mode".into(), opt(p.vlan_mode.clone()));
            m.insert("external_ids".into(), fmt_map(&p.external_ids));
            m.insert("other_config".into(), fmt_map(&p.other_config));
            m.insert("interfaces".into(), fmt_list(&[quote(&p.interface.name)]));
        }
        "interface" => {
            let i = &cfg
                .bridges
                .values()
                .find_map(|b| b.ports.get(rec))
                .ok_or_else(|| VsctlError(format!("no row \"{rec}\" in table Interface")))?
                .interface;
            m.insert("name".into(), quote(&i.name));
            m.insert("type".into(), if i.kind.is_empty() { "\"\"".into() } else { quote(&i.kind) });
            m.insert("options".into(), fmt_map(&i.options));
            m.insert("ofport".into(), i.ofport.to_string());
            m.insert("ofport_request".into(), opt(i.ofport_request));
            m.insert("external_ids".into(), fmt_map(&i.external_ids));
            m.insert("mtu_request".into(), opt(i.mtu_request));
        }
        _ => return err(format!("unknown table \"{table}\"")),
    }
    Ok(m)
}

fn map_get(printed: &str, key: &str) -> Option<String> {
    let inner = printed.strip_prefix('{')?.strip_suffix('}')?;
    inner.split(", ").find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim_matches('"') == key).then(|| v.to_owned())
    })
}

/// `ovs-vsctl show`.
fn show(cfg: &Config, out: &mut String) {
    let _ = writeln!(out, "{}", crate::config_uuid(cfg));
    for b in cfg.bridges.values() {
        let _ = writeln!(out, "    Bridge {}", quote(&b.name));
        for c in &b.controllers {
            let _ = writeln!(out, "        Controller \"{c}\"");
        }
        if let Some(m) = b.fail_mode {
            let _ = writeln!(out, "        fail_mode: {}", m.as_str());
        }
        for p in b.ports.values() {
            let _ = writeln!(out, "        Port {}", quote(&p.name));
            if let Some(t) = p.tag {
                let _ = writeln!(out, "            tag: {t}");
            }
            if !p.trunks.is_empty() {
                let _ = writeln!(out, "            trunks: {}", fmt_list(&p.trunks));
            }
            let i = &p.interface;
            let _ = writeln!(out, "            Interface {}", quote(&i.name));
            if !i.kind.is_empty() {
                let _ = writeln!(out, "                type: {}", i.kind);
            }
            if !i.options.is_empty() {
                let _ = writeln!(out, "                options: {}", fmt_map(&i.options));
            }
        }
    }
    let _ = writeln!(out, "    ovs_version: \"3.1.0\" (ferrovs {})", env!("CARGO_PKG_VERSION"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    fn apply(cfg: &Config, s: &str) -> Result<(Config, String), VsctlError> {
        run(cfg, &sv(s))
    }

    #[test]
    fn add_br_add_port_chain_and_ofports() {
        let (cfg, _) = apply(&Config::default(), "add-br br0 -- add-port br0 p1 tag=5 -- set interface p1 type=internal -- add-port br0 p2 -- set Interface p2 ofport_request=7").unwrap();
        let b = &cfg.bridges["br0"];
        assert_eq!(b.ports["br0"].interface.ofport, OFPORT_LOCAL);
        assert_eq!(b.ports["p1"].interface.ofport, 1);
        assert_eq!(b.ports["p1"].tag, Some(5));
        assert_eq!(b.ports["p1"].interface.kind, "internal");
        assert_eq!(b.ports["p2"].interface.ofport, 7);
        let (_, out) = apply(&cfg, "list-ports br0").unwrap();
        assert_eq!(out, "p1\np2\n");
        let (_, out) = apply(&cfg, "get interface p2 ofport").unwrap();
        assert_eq!(out, "7\n");
    }

    #[test]
    fn failing_chain_changes_nothing_and_options() {
        let (cfg, _) = apply(&Config::default(), "add-br br0").unwrap();
        let e = apply(&cfg, "add-port br0 p1 -- add-port br0 p1").unwrap_err();
        assert!(e.0.contains("already exists"), "{e}");
        assert!(apply(&cfg, "--may-exist add-br br0").is_ok());
        assert!(apply(&cfg, "add-br br0").is_err());
        assert!(apply(&cfg, "--if-exists del-port nope").is_ok());
        assert!(apply(&cfg, "del-port nope").is_err());
        assert!(apply(&cfg, "add-port br0 p1 tag=5000").is_err());
        assert!(apply(&cfg, "set-controller br0 tcp:1.2.3.4").is_err());
        assert!(apply(&cfg, "frobnicate").is_err());
    }

    #[test]
    fn patch_ports_options_and_show() {
        let (cfg, _) = apply(&Config::default(), "add-br br-int -- add-br br-tun -- add-port br-int patch-tun -- set interface patch-tun type=patch options:peer=patch-int -- set-fail-mode br-tun secure").unwrap();
        let (_, out) = apply(&cfg, "show").unwrap();
        assert!(out.contains("    Bridge br-int\n"), "{out}");
        assert!(out.contains("        Port patch-tun\n            Interface patch-tun\n                type: patch\n                options: {peer=patch-int}\n"), "{out}");
        assert!(out.contains("        fail_mode: secure\n"), "{out}");
        let (_, out) = apply(&cfg, "get interface patch-tun options:peer").unwrap();
        assert_eq!(out, "patch-int\n");
    }
}
