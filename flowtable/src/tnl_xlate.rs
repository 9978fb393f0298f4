//! Native tunnelling in translation, as Open vSwitch's `native_tunnel_output` and
//! `terminate_native_tunnel` do it.
//!
//! Output to a gre port: the tunnel destination (`remote_ip` or the flow's `tun_dst`) is routed
//! ([`crate::tunnel::RouteTable`]) to a bridge's internal device, its next hop resolved in the
//! neighbour cache, and a [`DpAction::TunnelPush`] emitted whose nested actions are the
//! translation of the encapsulated packet in that (underlay) bridge as if it came in on the
//! internal port. A neighbour not yet known makes an ARP request go out the same way instead
//! ([`DpAction::Emit`]) and the packet is dropped.
//!
//! Output to an internal port carrying a local address: an unfragmented IPv4 GRE packet to that
//! address and the port's MAC becomes [`DpAction::TunnelPop`] (the datapath decapsulates and
//! recirculates); ARP replies and gratuitous ARPs are snooped into the neighbour cache.

use crate::field::{ethertype, ipproto, Field};
use crate::key::FlowKey;
use crate::odp::{DpAction, DpPort, Emit, TunnelPush};
use crate::port::PortNo;
use crate::tunnel::{build_gre_header, HeaderParams, TunnelConfig, TunnelKey};
use crate::xlate::{Ctx, SideEffect};
use std::net::Ipv4Addr;

/// ARP opcode: request.
const ARP_REQUEST: u128 = 1;
/// ARP opcode: reply.
const ARP_REPLY: u128 = 2;

fn mac_bytes(mac: u64) -> [u8; 6] {
    let b = mac.to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

/// An ARP request from `sha`/`spa` for `tpa`, broadcast.
pub fn arp_request(sha: u64, spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&mac_bytes(sha));
    f.extend_from_slice(&ethertype::ARP.to_be_bytes());
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&mac_bytes(sha));
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&tpa.octets());
    f.resize(60, 0);
    f
}

impl Ctx<'_> {
    /// The bridge, OpenFlow port and datapath port of the (non-tunnel, non-patch) port `dev`.
    fn find_device_port(&self, dev: &str) -> Option<(usize, PortNo, DpPort)> {
        self.bridges.iter().enumerate().find_map(|(bi, b)| {
            b.ports.iter().find_map(|(no, p)| match p.dp_port {
                Some(dp) if p.name == dev && p.tunnel.is_none() => Some((bi, *no, dp)),
                _ => None,
            })
        })
    }

    /// Output to a tunnel port (Open vSwitch's `native_tunnel_output`).
    pub(crate) fn native_tunnel_output(&mut self, cfg: &TunnelConfig, tnl_port: DpPort) {
        let dst = match cfg.remote_ip {
            Some(ip) => ip,
            None => Ipv4Addr::from(self.read(Field::TunDst) as u32),
        };
        if dst.is_unspecified() {
            self.trace(|| "  native tunnel: no destination (tun_dst=0), dropped".to_owned());
            return;
        }
        let key = match cfg.out_key {
            TunnelKey::Absent => None,
            TunnelKey::Fixed(k) => Some(k),
            TunnelKey::Flow => Some(self.read(Field::TunId) as u32),
        };
        let env = self.env;
        let Some(route) = env.routes.lookup(dst) else {
            self.trace(|| format!("  native tunnel routing failed for {dst}, dropped"));
            return;
        };
        let Some((ubridge, uport, out_port)) = self.find_device_port(&route.dev) else {
            self.trace(|| format!("  route to {dst} leaves by {}, not a bridge port; dropped", route.dev));
            return;
        };
        let Some(dev) = env.dev(&route.dev) else {
            self.trace(|| format!("  {}: address unknown, dropped", route.dev));
            return;
        };
        let Some(src) = cfg.local_ip.or(route.src).or_else(|| dev.addrs.first().copied()) else {
            self.trace(|| format!("  {}: no source address, dropped", route.dev));
            return;
        };
        let next_hop = route.gateway.unwrap_or(dst);
        let ubridge_name = self.bridges[ubridge].name.clone();
        let Some(dmac) = env.neigh.lookup(&ubridge_name, next_hop) else {
            self.trace(|| {
                format!("  neighbor cache miss for {next_hop} on bridge {ubridge_name}, sending ARP request")
            });
            let frame = arp_request(dev.mac, src, next_hop);
            let mut k = crate::extract::flow_extract(&frame, uport);
            k.set(Field::InPort, u128::from(uport.0));
            let actions = self.translate_generated(ubridge, k);
            self.out.actions.push(DpAction::Emit(Box::new(Emit { frame, actions })));
            return;
        };
        let params = HeaderParams {
            eth_dst: mac_bytes(dmac),
            eth_src: mac_bytes(dev.mac),
            ip_src: src,
            ip_dst: dst,
            ttl: cfg.ttl,
            tos: cfg.tos,
            dont_fragment: cfg.dont_fragment,
            key,
            csum: cfg.csum,
        };
        let header = build_gre_header(&params);
        let key_text = key.map_or_else(|| "none".to_owned(), |k| format!("{k:#x}"));
        self.trace(|| {
            format!("  native tunnel: {src} -> {dst} key={key_text} via {} (bridge {ubridge_name})", route.dev)
        });
        // The outer packet as the underlay bridge sees it.
        let mut k = FlowKey::ZERO;
        k.set(Field::InPort, u128::from(uport.0));
        k.set(Field::EthDst, u128::from(dmac));
        k.set(Field::EthSrc, u128::from(dev.mac));
        k.set(Field::EthType, u128::from(ethertype::IPV4));
        k.set(Field::Ipv4Src, u128::from(u32::from(src)));
        k.set(Field::Ipv4Dst, u128::from(u32::from(dst)));
        k.set(Field::IpProto, u128::from(ipproto::GRE));
        k.set(Field::IpTtl, u128::from(cfg.ttl));
        k.set(Field::IpTos, u128::from(cfg.tos));
        // The inner packet must be what the pipeline made of it.
        self.commit();
        let actions = self.translate_generated(ubridge, k);
        self.out.actions.push(DpAction::TunnelPush(Box::new(TunnelPush { tnl_port, header, out_port, actions })));
    }

    /// Whether output to the internal device `dev` terminates a tunnel (Open vSwitch's
    /// `terminate_native_tunnel`); snoops ARP into the neighbour cache otherwise.
    pub(crate) fn terminate_native_tunnel(&mut self, dev: &str) -> bool {
        let env = self.env;
        let Some(ipdev) = env.dev(dev).filter(|d| !d.addrs.is_empty()) else { return false };
        if !self.bridges.iter().any(|b| b.ports.values().any(|p| p.tunnel.is_some())) {
            return false;
        }
        let bridge_name = self.bridge().name.clone();
        match self.read(Field::EthType) as u16 {
            ethertype::IPV4 => {
                if self.read(Field::IpProto) as u8 != ipproto::GRE {
                    return false;
                }
                let dst = Ipv4Addr::from(self.read(Field::Ipv4Dst) as u32);
                if !ipdev.addrs.contains(&dst) || self.read(Field::EthDst) as u64 != ipdev.mac {
                    return false;
                }
                if self.read(Field::IpFrag) != 0 {
                    return false;
                }
                // The sender's MAC is a neighbour worth knowing (Open vSwitch does the same).
                let ip = Ipv4Addr::from(self.read(Field::Ipv4Src) as u32);
                let mac = self.read(Field::EthSrc) as u64;
                self.side_effect(SideEffect::NeighLearn { bridge: bridge_name, ip, mac });
                true
            }
            ethertype::ARP => {
                let op = self.read(Field::ArpOp);
                let spa = self.read(Field::ArpSpa);
                let garp = op == ARP_REQUEST && spa == self.read(Field::ArpTpa);
                let sha = self.read(Field::ArpSha) as u64;
                if (op == ARP_REPLY || garp) && sha != 0 {
                    self.trace(|| format!("  tunnel neighbour snooped: {} is {sha:#014x}", Ipv4Addr::from(spa as u32)));
                    self.side_effect(SideEffect::NeighLearn {
                        bridge: bridge_name,
                        ip: Ipv4Addr::from(spa as u32),
                        mac: sha,
                    });
                }
                false
            }
            _ => false,
        }
    }
}
