//! GRE tunnels as Open vSwitch's userspace ("native") tunnelling does them, the I/O-free part:
//! a tunnel port's configuration ([`TunnelConfig`], from the interface's `options`), the
//! encapsulation header (Ethernet + IPv4 + GRE, built once per megaflow as OVS's
//! `netdev_gre_build_header` does, completed per packet by [`push_header`]), header removal
//! ([`pop_gre`], OVS's `netdev_gre_pop_header`), and the data translation consults: the
//! namespace's routing table ([`RouteTable`], OVS's `ovs-router`), the addresses and MACs of the
//! bridges' internal devices ([`IpDev`]) and the tunnel neighbour cache ([`NeighCache`], OVS's
//! `tnl-neigh-cache`). The daemon fills these from netlink and ARP snooping; translation only
//! reads them, so a change bumps the switch's generation and cached megaflows are revalidated.
//!
//! Like Open vSwitch, oversized encapsulated packets are neither fragmented nor answered with
//! ICMP: the outer header carries DF (option `df_default`, on by default) and the output device
//! refuses a frame above its MTU, which the datapath counts as a transmit drop.

use crate::checksum::checksum;
use crate::odp::DpPort;
use crate::port::PortNo;
use crate::rule::Millis;
use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use thiserror::Error;

/// GRE flag: checksum present.
pub const GRE_CSUM: u16 = 0x8000;
/// GRE flag: key present.
pub const GRE_KEY: u16 = 0x2000;
/// GRE flag: sequence number present.
pub const GRE_SEQ: u16 = 0x1000;
/// GRE protocol of an encapsulated Ethernet frame (transparent Ethernet bridging).
pub const ETH_TYPE_TEB: u16 = 0x6558;
/// Default outer TTL (Open vSwitch's `DEFAULT_TTL`).
pub const DEFAULT_TTL: u8 = 64;
/// IPv4 "don't fragment" bit of the fragment-offset word.
pub const IP_DF: u16 = 0x4000;
/// How long a snooped neighbour stays (Open vSwitch: 15 minutes).
pub const NEIGH_IDLE_MS: Millis = 15 * 60 * 1000;
/// Ethernet + IPv4 (no options) header length.
const ETH_IP_LEN: usize = 14 + 20;

/// Where a tunnel's key (or remote address) comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TunnelKey {
    /// No key (GRE without the key field; received packets must carry none, or key 0).
    #[default]
    Absent,
    /// This key.
    Fixed(u32),
    /// `flow`: the packet's `tun_id` (set by actions before output; any key on receive).
    Flow,
}

impl fmt::Display for TunnelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TunnelKey::Absent => f.write_str("none"),
            TunnelKey::Fixed(k) => write!(f, "{k}"),
            TunnelKey::Flow => f.write_str("flow"),
        }
    }
}

/// A GRE port's configuration (Open vSwitch's `netdev_tunnel_config`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TunnelConfig {
    /// `remote_ip`: the peer (`None`: `flow`, the packet's `tun_dst`).
    pub remote_ip: Option<Ipv4Addr>,
    /// `local_ip`: the source address (`None`: the route's source).
    pub local_ip: Option<Ipv4Addr>,
    /// `in_key` (or `key`): what received packets must carry.
    pub in_key: TunnelKey,
    /// `out_key` (or `key`): what sent packets carry.
    pub out_key: TunnelKey,
    /// `csum`: send the GRE checksum.
    pub csum: bool,
    /// `ttl` of the outer header.
    pub ttl: u8,
    /// `tos` of the outer header.
    pub tos: u8,
    /// `df_default`: set DF in the outer header.
    pub dont_fragment: bool,
    /// `egress_pkt_mark`: kept as configured (neutron-openvswitch-agent sets `0` on every tunnel
    /// port). In Open vSwitch it is the outer packet's `pkt_mark`, metadata that never reaches
    /// the wire; ferrovs has no packet marks, so it changes nothing on the packet.
    pub egress_pkt_mark: Option<u32>,
}

impl Default for TunnelConfig {
    fn default() -> Self {
        TunnelConfig {
            remote_ip: None,
            local_ip: None,
            in_key: TunnelKey::Absent,
            out_key: TunnelKey::Absent,
            csum: false,
            ttl: DEFAULT_TTL,
            tos: 0,
            dont_fragment: true,
            egress_pkt_mark: None,
        }
    }
}

/// Why a tunnel interface's options were refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TunnelConfigError {
    /// `remote_ip` is missing.
    #[error("gre interface requires 'remote_ip' (an IPv4 address or \"flow\")")]
    NoRemote,
    /// An option's value does not parse.
    #[error("option {option}: {detail}")]
    Bad {
        /// The option.
        option: String,
        /// What is wrong.
        detail: String,
    },
    /// An option this tunnel type does not have.
    #[error(
        "option {0}: not a gre option (remote_ip, local_ip, key, in_key, out_key, csum, ttl, tos, df_default, \
             egress_pkt_mark)"
    )]
    Unknown(String),
}

fn bad(option: &str, detail: impl Into<String>) -> TunnelConfigError {
    TunnelConfigError::Bad { option: option.to_owned(), detail: detail.into() }
}

fn parse_key(option: &str, v: &str) -> Result<TunnelKey, TunnelConfigError> {
    if v == "flow" {
        return Ok(TunnelKey::Flow);
    }
    let n = if let Some(hex) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16)
    } else {
        v.parse::<u64>()
    }
    .map_err(|_| bad(option, format!("\"{v}\" is not a number or \"flow\"")))?;
    let k = u32::try_from(n).map_err(|_| bad(option, format!("{v} does not fit GRE's 32-bit key")))?;
    Ok(TunnelKey::Fixed(k))
}

fn parse_bool(option: &str, v: &str) -> Result<bool, TunnelConfigError> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(option, format!("\"{v}\" is not true or false"))),
    }
}

fn parse_ipv4(option: &str, v: &str) -> Result<Ipv4Addr, TunnelConfigError> {
    v.parse::<Ipv4Addr>().map_err(|_| bad(option, format!("\"{v}\" is not an IPv4 address")))
}

impl TunnelConfig {
    /// Parses a gre interface's `options` as Open vSwitch does (`key` sets both `in_key` and
    /// `out_key`; the specific ones win).
    pub fn from_options<'a>(
        options: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<TunnelConfig, TunnelConfigError> {
        let mut cfg = TunnelConfig::default();
        let mut remote = None;
        let (mut key, mut in_key, mut out_key) = (None, None, None);
        for (k, v) in options {
            match k {
                "remote_ip" => {
                    remote = Some(if v == "flow" { None } else { Some(parse_ipv4(k, v)?) });
                }
                "local_ip" => cfg.local_ip = Some(parse_ipv4(k, v)?),
                "key" => key = Some(parse_key(k, v)?),
                "in_key" => in_key = Some(parse_key(k, v)?),
                "out_key" => out_key = Some(parse_key(k, v)?),
                "csum" => cfg.csum = parse_bool(k, v)?,
                "df_default" => cfg.dont_fragment = parse_bool(k, v)?,
                "ttl" => {
                    cfg.ttl =
                        v.parse::<u8>().ok().filter(|t| *t > 0).ok_or_else(|| bad(k, "a number from 1 to 255"))?;
                }
                "tos" => cfg.tos = v.parse::<u8>().map_err(|_| bad(k, "a number from 0 to 255"))?,
                "egress_pkt_mark" => {
                    cfg.egress_pkt_mark = Some(v.parse::<u32>().map_err(|_| bad(k, "a 32-bit number"))?);
                }
                _ => return Err(TunnelConfigError::Unknown(k.to_owned())),
            }
        }
        cfg.remote_ip = remote.ok_or(TunnelConfigError::NoRemote)?;
        cfg.in_key = in_key.or(key).unwrap_or_default();
        cfg.out_key = out_key.or(key).unwrap_or_default();
        Ok(cfg)
    }

    /// Whether a packet decapsulated with `md` belongs to this port (Open vSwitch's
    /// `tnl_find`); the score says how specific the match is (higher wins).
    pub fn receive_score(&self, md: &TunnelMetadata) -> Option<u8> {
        let mut score = 0;
        match self.remote_ip {
            Some(r) if r != md.src => return None,
            Some(_) => score += 4,
            None => {}
        }
        match self.local_ip {
            Some(l) if l != md.dst => return None,
            Some(_) => score += 2,
            None => {}
        }
        match self.in_key {
            TunnelKey::Flow => {}
            TunnelKey::Fixed(k) if md.key == Some(k) => score += 1,
            TunnelKey::Absent if md.key.unwrap_or(0) == 0 => score += 1,
            _ => return None,
        }
        Some(score)
    }
}

/// What decapsulation learned from the outer headers (the packet's tunnel metadata).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TunnelMetadata {
    /// Outer source address.
    pub src: Ipv4Addr,
    /// Outer destination address.
    pub dst: Ipv4Addr,
    /// GRE key, if present.
    pub key: Option<u32>,
    /// Outer TOS.
    pub tos: u8,
    /// Outer TTL.
    pub ttl: u8,
    /// The GRE checksum was present (and verified).
    pub csum: bool,
    /// DF was set.
    pub dont_fragment: bool,
}

/// Why a received frame could not be decapsulated (it is dropped, as OVS does).
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum PopError {
    /// Shorter than its headers say.
    #[error("truncated tunnel packet")]
    Truncated,
    /// Not IPv4 carrying GRE, or a fragment.
    #[error("not an unfragmented IPv4 GRE packet")]
    NotGre,
    /// GRE flags other than checksum, key and sequence, or a non-zero version.
    #[error("unsupported GRE flags {0:#06x}")]
    Flags(u16),
    /// The GRE checksum is wrong.
    #[error("bad GRE checksum")]
    Checksum,
    /// The payload is not Ethernet (GRE protocol other than 0x6558).
    #[error("GRE protocol {0:#06x} is not Ethernet")]
    Protocol(u16),
}

/// What an encapsulation header is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderParams {
    /// Next hop's MAC.
    pub eth_dst: [u8; 6],
    /// Output device's MAC.
    pub eth_src: [u8; 6],
    /// Outer source address.
    pub ip_src: Ipv4Addr,
    /// Outer destination address.
    pub ip_dst: Ipv4Addr,
    /// Outer TTL.
    pub ttl: u8,
    /// Outer TOS.
    pub tos: u8,
    /// Set DF.
    pub dont_fragment: bool,
    /// GRE key, if any.
    pub key: Option<u32>,
    /// GRE checksum.
    pub csum: bool,
}

/// Builds the Ethernet + IPv4 + GRE header to put in front of a frame; the IPv4 total length
/// and checksum (and the GRE checksum) are filled per packet by [`push_header`].
pub fn build_gre_header(p: &HeaderParams) -> Vec<u8> {
    let mut h = Vec::with_capacity(ETH_IP_LEN + 12);
    h.extend_from_slice(&p.eth_dst);
    h.extend_from_slice(&p.eth_src);
    h.extend_from_slice(&crate::field::ethertype::IPV4.to_be_bytes());
    h.extend_from_slice(&[0x45, p.tos, 0, 0, 0, 0]);
    h.extend_from_slice(&(if p.dont_fragment { IP_DF } else { 0 }).to_be_bytes());
    h.extend_from_slice(&[p.ttl, crate::field::ipproto::GRE, 0, 0]);
    h.extend_from_slice(&p.ip_src.octets());
    h.extend_from_slice(&p.ip_dst.octets());
    let flags = if p.csum { GRE_CSUM } else { 0 } | if p.key.is_some() { GRE_KEY } else { 0 };
    h.extend_from_slice(&flags.to_be_bytes());
    h.extend_from_slice(&ETH_TYPE_TEB.to_be_bytes());
    if p.csum {
        h.extend_from_slice(&[0; 4]);
    }
    if let Some(k) = p.key {
        h.extend_from_slice(&k.to_be_bytes());
    }
    h
}

/// Encapsulates `frame` with a header from [`build_gre_header`]: total length, IPv4 and GRE
/// checksums are completed. A header too short to be one leaves the frame as it is.
pub fn push_header(frame: &mut Vec<u8>, header: &[u8]) {
    if header.len() >= ETH_IP_LEN + 4 {
        *frame = encapsulate(frame, header);
    }
}

/// [`push_header`] into a new frame (one allocation, one copy: what `tnl_push` executes).
pub fn encapsulate(frame: &[u8], header: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len() + frame.len());
    if header.len() < ETH_IP_LEN + 4 {
        out.extend_from_slice(frame);
        return out;
    }
    out.extend_from_slice(header);
    out.extend_from_slice(frame);
    let Ok(tot) = u16::try_from(out.len() - 14) else { return out };
    out[16..18].copy_from_slice(&tot.to_be_bytes());
    out[24..26].copy_from_slice(&[0, 0]);
    let c = checksum(&out[14..ETH_IP_LEN]);
    out[24..26].copy_from_slice(&c.to_be_bytes());
    let flags = u16::from_be_bytes([out[ETH_IP_LEN], out[ETH_IP_LEN + 1]]);
    if flags & GRE_CSUM != 0 && out.len() >= ETH_IP_LEN + 8 {
        let c = checksum(&out[ETH_IP_LEN..]);
        out[ETH_IP_LEN + 4..ETH_IP_LEN + 6].copy_from_slice(&c.to_be_bytes());
    }
    out
}

/// Parses the outer Ethernet + IPv4 + GRE headers of `frame`; returns the tunnel metadata and
/// the range of the inner Ethernet frame (Ethernet padding after the IPv4 packet excluded).
pub fn pop_gre(frame: &[u8]) -> Result<(TunnelMetadata, std::ops::Range<usize>), PopError> {
    let be16 = |at: usize| frame.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or(PopError::Truncated);
    if be16(12)? != crate::field::ethertype::IPV4 {
        return Err(PopError::NotGre);
    }
    let ip = frame.get(14..ETH_IP_LEN).ok_or(PopError::Truncated)?;
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let tot = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let frag = u16::from_be_bytes([ip[6], ip[7]]);
    if ip[0] >> 4 != 4 || ihl < 20 || ip[9] != crate::field::ipproto::GRE || frag & 0x3fff != 0 {
        return Err(PopError::NotGre);
    }
    let end = 14 + tot;
    if tot < ihl + 4 || end > frame.len() {
        return Err(PopError::Truncated);
    }
    let gre = 14 + ihl;
    let flags = be16(gre)?;
    if flags & !(GRE_CSUM | GRE_KEY | GRE_SEQ) != 0 {
        return Err(PopError::Flags(flags));
    }
    let proto = be16(gre + 2)?;
    let mut pos = gre + 4;
    let csum = flags & GRE_CSUM != 0;
    if csum {
        if pos + 4 > end {
            return Err(PopError::Truncated);
        }
        if checksum(&frame[gre..end]) != 0 {
            return Err(PopError::Checksum);
        }
        pos += 4;
    }
    let mut key = None;
    if flags & GRE_KEY != 0 {
        let k = frame.get(pos..pos + 4).filter(|_| pos + 4 <= end).ok_or(PopError::Truncated)?;
        key = Some(u32::from_be_bytes([k[0], k[1], k[2], k[3]]));
        pos += 4;
    }
    if flags & GRE_SEQ != 0 {
        pos += 4;
    }
    if pos > end {
        return Err(PopError::Truncated);
    }
    if proto != ETH_TYPE_TEB {
        return Err(PopError::Protocol(proto));
    }
    let addr = |at: usize| Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]);
    let md = TunnelMetadata {
        src: addr(12),
        dst: addr(16),
        key,
        tos: ip[1],
        ttl: ip[8],
        csum,
        dont_fragment: frag & IP_DF != 0,
    };
    Ok((md, pos..end))
}

/// One route of the namespace's routing table (an `ovs-router` entry).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    /// Destination prefix.
    pub prefix: Ipv4Addr,
    /// Prefix length.
    pub plen: u8,
    /// Output device.
    pub dev: String,
    /// Gateway (`None`: directly connected).
    pub gateway: Option<Ipv4Addr>,
    /// Preferred source address.
    pub src: Option<Ipv4Addr>,
    /// Route metric (lower wins among equal prefixes).
    pub metric: u32,
    /// From the local table (the host's own addresses).
    pub local: bool,
}

impl Route {
    fn mask(&self) -> u32 {
        if self.plen == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.plen.min(32)))
        }
    }

    /// Whether `dst` is inside the prefix.
    pub fn contains(&self, dst: Ipv4Addr) -> bool {
        u32::from(dst) & self.mask() == u32::from(self.prefix) & self.mask()
    }
}

/// The routes tunnels are sent by.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct RouteTable {
    /// Every route, sorted for display.
    pub routes: Vec<Route>,
}

impl RouteTable {
    /// The route to `dst`: longest prefix, then lowest metric.
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<&Route> {
        self.routes.iter().filter(|r| r.contains(dst)).min_by_key(|r| (std::cmp::Reverse(r.plen), r.metric, !r.local))
    }

    /// Prints the table as `ovs-appctl ovs/route/show` does.
    pub fn show(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::from("Route Table:\n");
        let mut routes: Vec<&Route> = self.routes.iter().collect();
        routes.sort_by_key(|r| (!r.local, std::cmp::Reverse(r.plen), r.prefix, r.metric));
        for r in routes {
            let _ = write!(out, "Cached: {}/{} dev {}", r.prefix, r.plen, r.dev);
            if let Some(gw) = r.gateway {
                let _ = write!(out, " GW {gw}");
            }
            let _ = write!(out, " SRC {}", r.src.unwrap_or(Ipv4Addr::UNSPECIFIED));
            if r.local {
                out.push_str(" local");
            }
            out.push('\n');
        }
        out
    }
}

/// A device of the namespace that can carry tunnel traffic: its MAC and IPv4 addresses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct IpDev {
    /// Device name (a bridge's internal port).
    pub name: String,
    /// MAC address as a 48-bit number.
    pub mac: u64,
    /// IPv4 addresses.
    pub addrs: Vec<Ipv4Addr>,
}

/// One tunnel neighbour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NeighEntry {
    /// MAC as a 48-bit number.
    pub mac: u64,
    /// When it was last confirmed.
    pub seen: Millis,
}

/// The tunnel neighbour cache: (bridge, IP) -> MAC, filled by snooping ARP.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NeighCache {
    entries: BTreeMap<(String, Ipv4Addr), NeighEntry>,
}

impl NeighCache {
    /// The MAC of `ip` reached through `bridge`.
    pub fn lookup(&self, bridge: &str, ip: Ipv4Addr) -> Option<u64> {
        self.entries.get(&(bridge.to_owned(), ip)).map(|e| e.mac)
    }

    /// Records (or refreshes) a neighbour; returns whether what lookups answer changed.
    pub fn set(&mut self, bridge: &str, ip: Ipv4Addr, mac: u64, now: Millis) -> bool {
        let e = NeighEntry { mac, seen: now };
        match self.entries.insert((bridge.to_owned(), ip), e) {
            Some(old) => old.mac != mac,
            None => true,
        }
    }

    /// Removes entries unconfirmed for `idle` ms; returns how many.
    pub fn expire(&mut self, now: Millis, idle: Millis) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, e| now.saturating_sub(e.seen) < idle);
        before - self.entries.len()
    }

    /// Removes everything (`tnl/neigh/flush`).
    pub fn flush(&mut self) -> bool {
        let had = !self.entries.is_empty();
        self.entries.clear();
        had
    }

    /// Every entry.
    pub fn entries(&self) -> impl Iterator<Item = (&(String, Ipv4Addr), &NeighEntry)> {
        self.entries.iter()
    }

    /// Prints the cache as `ovs-appctl tnl/arp/show` does.
    pub fn show(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::from("IP                                            MAC                 Bridge\n");
        out.push_str("==========================================================================\n");
        for ((bridge, ip), e) in &self.entries {
            let b = e.mac.to_be_bytes();
            let _ = writeln!(
                out,
                "{:<46}{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}   {bridge}",
                ip.to_string(),
                b[2],
                b[3],
                b[4],
                b[5],
                b[6],
                b[7]
            );
        }
        out
    }
}

/// Everything outside the bridges that tunnel translation depends on.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TunnelEnv {
    /// The routing table.
    pub routes: RouteTable,
    /// Devices with addresses (internal ports).
    pub devs: Vec<IpDev>,
    /// Tunnel neighbours.
    pub neigh: NeighCache,
}

impl TunnelEnv {
    /// No routes, no devices, no neighbours.
    pub const EMPTY: TunnelEnv = TunnelEnv {
        routes: RouteTable { routes: Vec::new() },
        devs: Vec::new(),
        neigh: NeighCache { entries: BTreeMap::new() },
    };

    /// The device called `name`.
    pub fn dev(&self, name: &str) -> Option<&IpDev> {
        self.devs.iter().find(|d| d.name == name)
    }
}

/// The bridge and OpenFlow port a decapsulated packet enters on, with the port's datapath
/// port: the most specific tunnel port of any bridge whose configuration accepts `md`.
pub fn receive_port(bridges: &[crate::bridge::Bridge], md: &TunnelMetadata) -> Option<(usize, PortNo, DpPort)> {
    let mut best: Option<(u8, usize, PortNo, DpPort)> = None;
    for (bi, b) in bridges.iter().enumerate() {
        for (no, info) in &b.ports {
            let (Some(cfg), Some(dp)) = (&info.tunnel, info.dp_port) else { continue };
            if let Some(score) = cfg.receive_score(md) {
                if best.is_none_or(|(s, ..)| score > s) {
                    best = Some((score, bi, *no, dp));
                }
            }
        }
    }
    best.map(|(_, b, p, d)| (b, p, d))
}

/// Fuzz entry point shared by the `tnl_pop` target and the corpus replay test: any bytes are
/// refused or decapsulated; what decapsulates, encapsulated again from its metadata,
/// decapsulates to the same metadata and inner frame.
#[doc(hidden)]
pub fn fuzz_tnl_pop(data: &[u8]) {
    let Ok((md, range)) = pop_gre(data) else { return };
    assert!(range.start <= range.end && range.end <= data.len());
    let inner = &data[range];
    let h = build_gre_header(&HeaderParams {
        eth_dst: [0; 6],
        eth_src: [0; 6],
        ip_src: md.src,
        ip_dst: md.dst,
        ttl: md.ttl,
        tos: md.tos,
        dont_fragment: md.dont_fragment,
        key: md.key,
        csum: md.csum,
    });
    if inner.len() + h.len() - 14 > usize::from(u16::MAX) {
        return;
    }
    let mut f = inner.to_vec();
    push_header(&mut f, &h);
    let again = pop_gre(&f);
    assert_eq!(again.map(|(m, r)| (m, f[r].to_vec())), Ok((md, inner.to_vec())));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(key: Option<u32>, csum: bool) -> HeaderParams {
        HeaderParams {
            eth_dst: [2, 0, 0, 0, 0, 2],
            eth_src: [2, 0, 0, 0, 0, 1],
            ip_src: Ipv4Addr::new(192, 0, 2, 1),
            ip_dst: Ipv4Addr::new(192, 0, 2, 2),
            ttl: 64,
            tos: 0,
            dont_fragment: true,
            key,
            csum,
        }
    }

    fn inner() -> Vec<u8> {
        let mut f = vec![0xaa; 60];
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        f
    }

    #[test]
    fn push_then_pop_round_trips_with_key_and_checksum() {
        for (key, csum) in [(None, false), (Some(5), false), (Some(0xdead_beef), true), (None, true)] {
            let h = build_gre_header(&params(key, csum));
            assert_eq!(h.len(), 38 + if key.is_some() { 4 } else { 0 } + if csum { 4 } else { 0 });
            let mut f = inner();
            push_header(&mut f, &h);
            assert_eq!(checksum(&f[14..34]), 0, "IPv4 header checksum");
            assert_eq!(u16::from_be_bytes([f[16], f[17]]) as usize, f.len() - 14);
            let (md, range) = pop_gre(&f).unwrap();
            assert_eq!(&f[range], inner().as_slice());
            assert_eq!(md.key, key);
            assert_eq!(md.csum, csum);
            assert_eq!(md.src, Ipv4Addr::new(192, 0, 2, 1));
            assert_eq!(md.dst, Ipv4Addr::new(192, 0, 2, 2));
            assert!(md.dont_fragment);
            assert_eq!(md.ttl, 64);
        }
    }

    #[test]
    fn pop_refuses_bad_packets() {
        let h = build_gre_header(&params(Some(1), true));
        let mut f = inner();
        push_header(&mut f, &h);
        let mut bad_csum = f.clone();
        let last = bad_csum.len() - 1;
        bad_csum[last] ^= 1;
        assert_eq!(pop_gre(&bad_csum), Err(PopError::Checksum));
        assert_eq!(pop_gre(&f[..40]), Err(PopError::Truncated));
        let mut routing = f.clone();
        routing[34] |= 0x40;
        assert!(matches!(pop_gre(&routing), Err(PopError::Flags(_))));
        let mut frag = f.clone();
        frag[20] = 0x20;
        assert_eq!(pop_gre(&frag), Err(PopError::NotGre));
        let mut ip_proto = f.clone();
        ip_proto[38] = 0x08;
        ip_proto[39] = 0x00;
        assert_eq!(pop_gre(&ip_proto), Err(PopError::Checksum), "checksum covers the protocol");
        for n in 0..f.len() {
            let _ = pop_gre(&f[..n]);
        }
    }

    #[test]
    fn options_parse_like_ovs() {
        let cfg = TunnelConfig::from_options([("remote_ip", "10.0.0.2"), ("key", "flow"), ("out_key", "7")]).unwrap();
        assert_eq!(cfg.remote_ip, Some(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(cfg.in_key, TunnelKey::Flow);
        assert_eq!(cfg.out_key, TunnelKey::Fixed(7));
        assert!(cfg.dont_fragment);
        assert_eq!(TunnelConfig::from_options([("key", "1")]), Err(TunnelConfigError::NoRemote));
        assert!(TunnelConfig::from_options([("remote_ip", "10.0.0.300")]).is_err());
        assert!(TunnelConfig::from_options([("remote_ip", "flow"), ("key", "0x100000000")]).is_err());
        assert!(TunnelConfig::from_options([("remote_ip", "flow"), ("dst_port", "1")]).is_err());
        // The options neutron-openvswitch-agent gives every GRE port (ovs_lib.add_tunnel_port).
        let neutron = TunnelConfig::from_options([
            ("df_default", "true"),
            ("remote_ip", "172.31.1.2"),
            ("local_ip", "172.31.1.1"),
            ("in_key", "flow"),
            ("out_key", "flow"),
            ("egress_pkt_mark", "0"),
        ])
        .unwrap();
        assert_eq!(
            (neutron.in_key, neutron.out_key, neutron.egress_pkt_mark),
            (TunnelKey::Flow, TunnelKey::Flow, Some(0))
        );
        assert_eq!(neutron.local_ip, Some(Ipv4Addr::new(172, 31, 1, 1)));
        assert!(TunnelConfig::from_options([("remote_ip", "flow"), ("egress_pkt_mark", "-1")]).is_err());
        let flow = TunnelConfig::from_options([("remote_ip", "flow"), ("key", "0x10")]).unwrap();
        assert_eq!((flow.remote_ip, flow.in_key), (None, TunnelKey::Fixed(16)));
    }

    #[test]
    fn routes_longest_prefix_then_metric() {
        let r = |p: [u8; 4], plen, dev: &str, metric| Route {
            prefix: Ipv4Addr::from(p),
            plen,
            dev: dev.into(),
            gateway: None,
            src: None,
            metric,
            local: false,
        };
        let t = RouteTable {
            routes: vec![r([0, 0, 0, 0], 0, "def", 0), r([10, 1, 0, 0], 16, "a", 5), r([10, 1, 0, 0], 16, "b", 1)],
        };
        assert_eq!(t.lookup(Ipv4Addr::new(10, 1, 2, 3)).map(|r| r.dev.as_str()), Some("b"));
        assert_eq!(t.lookup(Ipv4Addr::new(8, 8, 8, 8)).map(|r| r.dev.as_str()), Some("def"));
        assert!(t.show().starts_with("Route Table:\nCached: 10.1.0.0/16 dev b SRC 0.0.0.0\n"), "{}", t.show());
    }

    #[test]
    fn neighbours_set_expire_show() {
        let mut n = NeighCache::default();
        assert!(n.set("br-phy", Ipv4Addr::new(10, 1, 0, 2), 0x0200_0000_0002, 0));
        assert!(!n.set("br-phy", Ipv4Addr::new(10, 1, 0, 2), 0x0200_0000_0002, 10), "refresh only");
        assert_eq!(n.lookup("br-phy", Ipv4Addr::new(10, 1, 0, 2)), Some(0x0200_0000_0002));
        assert!(
            n.show().contains("10.1.0.2                                      02:00:00:00:00:02   br-phy\n"),
            "{}",
            n.show()
        );
        assert_eq!(n.expire(10 + NEIGH_IDLE_MS, NEIGH_IDLE_MS), 1);
        assert_eq!(n.lookup("br-phy", Ipv4Addr::new(10, 1, 0, 2)), None);
    }
}
