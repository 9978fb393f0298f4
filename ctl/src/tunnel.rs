//! Keeps native tunnels' view of the host current: the namespace's IPv4 routes (main and local
//! tables) and the devices' MACs and addresses, read with rtnetlink dumps (RTM_GETROUTE,
//! RTM_GETADDR, RTM_GETLINK on `NETLINK_ROUTE`) as Open vSwitch's `route-table.c` does, and read
//! again when the kernel announces a link, address or route change (or every
//! [`REFRESH_MS`] anyway). A changed view replaces `SwitchState::tunnels`' routes and devices
//! and bumps the generation, so cached megaflows are revalidated.
//!
//! Parsing never trusts the kernel's lengths: every attribute is bounds-checked and a malformed
//! message is skipped. The socket calls are in `datapath::sys`.

use datapath::pmd::SwitchState;
use datapath::sys;
use flowtable::tunnel::{IpDev, Route, RouteTable};
use std::collections::BTreeMap;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// Periodic re-read even without notifications (ms).
pub const REFRESH_MS: u64 = 5_000;

const NLMSG_HDR: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const RTM_GETLINK: u16 = 18;
const RTM_NEWLINK: u16 = 16;
const RTM_GETADDR: u16 = 22;
const RTM_NEWADDR: u16 = 20;
const RTM_GETROUTE: u16 = 26;
const RTM_NEWROUTE: u16 = 24;
const AF_INET: u8 = 2;
const RTMGRP_LINK: u32 = 0x1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV4_ROUTE: u32 = 0x40;
const RT_TABLE_MAIN: u32 = 254;
const RT_TABLE_LOCAL: u32 = 255;
const RTN_UNICAST: u8 = 1;
const RTN_LOCAL: u8 = 2;

fn ne16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn ne32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let o: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(o))
}

/// The netlink messages in a buffer: (type, payload).
fn messages(buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let (Some(len), Some(ty)) = (ne32(buf, pos), ne16(buf, pos + 4)) {
        let len = len as usize;
        if len < NLMSG_HDR || pos + len > buf.len() {
            break;
        }
        out.push((ty, &buf[pos + NLMSG_HDR..pos + len]));
        pos += (len + 3) & !3;
    }
    out
}

/// The route attributes after a fixed header of `hdr` bytes: (type, value).
fn attributes(payload: &[u8], hdr: usize) -> BTreeMap<u16, &[u8]> {
    let mut out = BTreeMap::new();
    let mut pos = hdr;
    while let (Some(len), Some(ty)) = (ne16(payload, pos), ne16(payload, pos + 2)) {
        let len = usize::from(len);
        if len < 4 || pos + len > payload.len() {
            break;
        }
        out.insert(ty & 0x3fff, &payload[pos + 4..pos + len]);
        pos += (len + 3) & !3;
    }
    out
}

/// What the kernel said, parsed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HostView {
    /// Index -> (name, MAC).
    pub links: BTreeMap<u32, (String, u64)>,
    /// Index -> IPv4 addresses.
    pub addrs: BTreeMap<u32, Vec<Ipv4Addr>>,
    /// Routes (device by index, resolved later).
    pub routes: Vec<(Route, u32)>,
}

impl HostView {
    /// Adds what one dump message says.
    pub fn add_message(&mut self, ty: u16, p: &[u8]) {
        match ty {
            RTM_NEWLINK => {
                let Some(index) = ne32(p, 4) else { return };
                let a = attributes(p, 16);
                let Some(name) = a.get(&3).map(|n| String::from_utf8_lossy(n).trim_end_matches('\0').to_owned()) else {
                    return;
                };
                let mac = a
                    .get(&1)
                    .filter(|m| m.len() == 6)
                    .map_or(0, |m| m.iter().fold(0u64, |x, b| (x << 8) | u64::from(*b)));
                self.links.insert(index, (name, mac));
            }
            RTM_NEWADDR => {
                if p.first() != Some(&AF_INET) {
                    return;
                }
                let Some(index) = ne32(p, 4) else { return };
                let a = attributes(p, 8);
                if let Some(ip) = a.get(&2).or_else(|| a.get(&1)).and_then(|v| ipv4(v)) {
                    self.addrs.entry(index).or_default().push(ip);
                }
            }
            RTM_NEWROUTE => {
                if p.len() < 12 || p[0] != AF_INET {
                    return;
                }
                let (plen, rtype) = (p[1], p[7]);
                let a = attributes(p, 12);
                let table = a.get(&15).and_then(|t| ne32(t, 0)).unwrap_or(u32::from(p[4]));
                if !(table == RT_TABLE_MAIN || table == RT_TABLE_LOCAL) || !(rtype == RTN_UNICAST || rtype == RTN_LOCAL)
                {
                    return;
                }
                let Some(oif) = a.get(&4).and_then(|v| ne32(v, 0)) else { return };
                let route = Route {
                    prefix: a.get(&1).and_then(|v| ipv4(v)).unwrap_or(Ipv4Addr::UNSPECIFIED),
                    plen: plen.min(32),
                    dev: String::new(),
                    gateway: a.get(&5).and_then(|v| ipv4(v)),
                    src: a.get(&7).and_then(|v| ipv4(v)),
                    metric: a.get(&6).and_then(|v| ne32(v, 0)).unwrap_or(0),
                    local: rtype == RTN_LOCAL,
                };
                self.routes.push((route, oif));
            }
            _ => {}
        }
    }

    /// The routes and devices translation uses.
    pub fn resolve(&self) -> (RouteTable, Vec<IpDev>) {
        let mut routes: Vec<Route> = self
            .routes
            .iter()
            .filter_map(|(r, oif)| {
                let (name, _) = self.links.get(oif)?;
                // As ovs-router: without a preferred source, the device's address.
                let src = r.src.or_else(|| self.addrs.get(oif).and_then(|a| a.first().copied()));
                Some(Route { dev: name.clone(), src, ..r.clone() })
            })
            .collect();
        routes.sort();
        let devs = self
            .links
            .iter()
            .filter_map(|(i, (name, mac))| {
                let addrs = self.addrs.get(i)?.clone();
                Some(IpDev { name: name.clone(), mac: *mac, addrs })
            })
            .collect();
        (RouteTable { routes }, devs)
    }
}

fn request(ty: u16, seq: u32, family: u8, hdr_len: usize) -> Vec<u8> {
    let len = NLMSG_HDR + hdr_len;
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&ty.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.push(family);
    m.resize(len, 0);
    m
}

/// Dumps links, IPv4 addresses and IPv4 routes (bounded: gives up after two seconds).
pub fn read_host(fd: &OwnedFd) -> io::Result<HostView> {
    let mut view = HostView::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut ready = Vec::new();
    for (seq, (ty, family, hdr)) in
        [(RTM_GETLINK, 0, 16), (RTM_GETADDR, AF_INET, 8), (RTM_GETROUTE, AF_INET, 12)].into_iter().enumerate()
    {
        // Drain anything left over from an earlier, abandoned dump.
        while sys::recv(fd.as_raw_fd(), &mut buf).is_ok_and(|n| n > 0) {}
        sys::send(fd.as_raw_fd(), &request(ty, seq as u32 + 1, family, hdr))?;
        let deadline = Instant::now() + Duration::from_secs(2);
        'dump: loop {
            if Instant::now() >= deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "netlink dump timed out"));
            }
            sys::poll_readable(&[fd.as_raw_fd()], 200, &mut ready)?;
            if ready.is_empty() {
                continue;
            }
            let n = match sys::recv(fd.as_raw_fd(), &mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            };
            for (mty, payload) in messages(&buf[..n]) {
                match mty {
                    NLMSG_DONE => break 'dump,
                    NLMSG_ERROR => {
                        let errno = ne32(payload, 0).map_or(0, |e| -(e as i32));
                        if errno != 0 {
                            return Err(io::Error::from_raw_os_error(errno));
                        }
                        break 'dump;
                    }
                    _ => view.add_message(mty, payload),
                }
            }
        }
    }
    Ok(view)
}

/// Reads the host's routes and addresses now and puts them into `state` (generation bumped
/// only if they changed); returns whether they did.
pub fn refresh(fd: &OwnedFd, state: &RwLock<SwitchState>) -> io::Result<bool> {
    let (routes, devs) = read_host(fd)?.resolve();
    let mut st = state.write().unwrap_or_else(PoisonError::into_inner);
    if st.tunnels.routes == routes && st.tunnels.devs == devs {
        return Ok(false);
    }
    st.tunnels.routes = routes;
    st.tunnels.devs = devs;
    st.changed();
    Ok(true)
}

/// Runs the upkeep loop in a thread until `stop` is set: an initial read, then a read after
/// every burst of notifications and every [`REFRESH_MS`].
pub fn spawn(state: Arc<RwLock<SwitchState>>, stop: Arc<AtomicBool>) -> io::Result<std::thread::JoinHandle<()>> {
    let dump = sys::netlink_route_socket(0)?;
    let notify = sys::netlink_route_socket(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE)?;
    std::thread::Builder::new().name("route".into()).spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut ready = Vec::new();
        let mut last = Instant::now();
        let mut dirty = true;
        while !stop.load(Ordering::Relaxed) {
            if dirty || last.elapsed() >= Duration::from_millis(REFRESH_MS) {
                match refresh(&dump, &state) {
                    Ok(true) => log::info!("tunnel routes or addresses changed"),
                    Ok(false) => {}
                    Err(e) => log::warn!("reading routes: {e}"),
                }
                last = Instant::now();
                dirty = false;
            }
            if sys::poll_readable(&[notify.as_raw_fd()], 250, &mut ready).is_err() {
                std::thread::sleep(Duration::from_millis(250));
                continue;
            }
            loop {
                match sys::recv(notify.as_raw_fd(), &mut buf) {
                    Ok(0) => break,
                    Ok(_) => dirty = true,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // ENOBUFS: notifications were lost; read everything again.
                    Err(_) => {
                        dirty = true;
                        break;
                    }
                }
            }
        }
    })
}

/// Fuzz entry point shared by the `netlink_route` target and the corpus replay test: any bytes
/// parse into some view (malformed messages skipped) without panicking.
#[doc(hidden)]
pub fn fuzz_netlink(data: &[u8]) {
    let mut view = HostView::default();
    for (ty, payload) in messages(data) {
        view.add_message(ty, payload);
    }
    let (routes, _) = view.resolve();
    let _ = routes.lookup(Ipv4Addr::new(10, 1, 0, 2));
    let _ = routes.show();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(ty: u16, v: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((4 + v.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&ty.to_ne_bytes());
        a.extend_from_slice(v);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    fn msg(ty: u16, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(payload);
        m
    }

    #[test]
    fn parses_links_addresses_routes_and_survives_garbage() {
        let mut link = vec![0u8; 16];
        link[4..8].copy_from_slice(&7u32.to_ne_bytes());
        link.extend(attr(3, b"br-phy\0"));
        link.extend(attr(1, &[2, 0, 0, 0, 0, 1]));
        let mut addr = vec![AF_INET, 24, 0, 0];
        addr.extend_from_slice(&7u32.to_ne_bytes());
        addr.extend(attr(2, &[10, 1, 0, 1]));
        let mut route = vec![AF_INET, 24, 0, 0, 254, 2, 253, RTN_UNICAST, 0, 0, 0, 0];
        route.extend(attr(1, &[10, 1, 0, 0]));
        route.extend(attr(4, &7u32.to_ne_bytes()));
        route.extend(attr(7, &[10, 1, 0, 1]));
        let mut buf = msg(RTM_NEWLINK, &link);
        buf.extend(msg(RTM_NEWADDR, &addr));
        buf.extend(msg(RTM_NEWROUTE, &route));
        let mut view = HostView::default();
        for (ty, p) in messages(&buf) {
            view.add_message(ty, p);
        }
        let (routes, devs) = view.resolve();
        assert_eq!(routes.show(), "Route Table:\nCached: 10.1.0.0/24 dev br-phy SRC 10.1.0.1\n");
        assert_eq!(
            devs,
            vec![IpDev { name: "br-phy".into(), mac: 0x0200_0000_0001, addrs: vec![Ipv4Addr::new(10, 1, 0, 1)] }]
        );
        for n in 0..buf.len() {
            let mut v = HostView::default();
            for (ty, p) in messages(&buf[..n]) {
                v.add_message(ty, p);
            }
            for (ty, p) in messages(&buf[n..]) {
                v.add_message(ty, p);
            }
        }
    }

    #[test]
    fn a_real_dump_reads_as_ovs_router_shows_it() {
        // Dumped from a namespace with br-phy 02:aa:00:00:00:01, 10.1.0.1/24 and a route to
        // 192.0.2.0/24 via 10.1.0.254 metric 5.
        let mut view = HostView::default();
        for dump in [
            &include_bytes!("../../fuzz/corpus/netlink_route/links")[..],
            include_bytes!("../../fuzz/corpus/netlink_route/addrs"),
            include_bytes!("../../fuzz/corpus/netlink_route/routes"),
        ] {
            for (ty, p) in messages(dump) {
                view.add_message(ty, p);
            }
        }
        let (routes, devs) = view.resolve();
        let show = routes.show();
        assert!(show.contains("Cached: 10.1.0.1/32 dev br-phy SRC 10.1.0.1 local\n"), "{show}");
        assert!(show.contains("Cached: 10.1.0.0/24 dev br-phy SRC 10.1.0.1\n"), "{show}");
        assert!(show.contains("Cached: 192.0.2.0/24 dev br-phy GW 10.1.0.254 SRC 10.1.0.1\n"), "{show}");
        let r = routes.lookup(Ipv4Addr::new(192, 0, 2, 7)).unwrap();
        assert_eq!((r.gateway, r.metric), (Some(Ipv4Addr::new(10, 1, 0, 254)), 5));
        let br = devs.iter().find(|d| d.name == "br-phy").unwrap();
        assert_eq!((br.mac, br.addrs.clone()), (0x02aa_0000_0001, vec![Ipv4Addr::new(10, 1, 0, 1)]));
    }
}
