//! Which devices an XDP program may redirect frames to: the kernel's `xdp_features` of a
//! device, read over generic netlink (family "netdev", `NETDEV_CMD_DEV_GET`, kernel 6.3+).
//!
//! Native XDP redirects a frame by the target's `ndo_xdp_xmit`. Not every device takes it at
//! every moment: a veth accepts XDP frames only while its peer runs NAPI (an XDP program or
//! GRO on the peer), and drops them otherwise. The kernel says so in the target's
//! `NETDEV_XDP_ACT_NDO_XMIT` bit, which the in-kernel fast path checks before it sends a
//! port's frames there.
//!
//! Messages are built and parsed by pure functions; [`xdp_features`] does the I/O.

use crate::sys;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

/// `NETDEV_XDP_ACT_NDO_XMIT`: the device takes redirected XDP frames now.
pub const NDO_XMIT: u64 = 4;

const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const NETDEV_CMD_DEV_GET: u8 = 1;
const NETDEV_A_DEV_IFINDEX: u16 = 1;
const NETDEV_A_DEV_XDP_FEATURES: u16 = 3;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;

/// A generic netlink request: header, `cmd`, one attribute.
fn request(family: u16, cmd: u8, seq: u32, attr: u16, value: &[u8]) -> Vec<u8> {
    let attr_len = 4 + value.len();
    let len = 16 + 4 + attr_len.next_multiple_of(4);
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&family.to_ne_bytes());
    m.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&[cmd, 1, 0, 0]);
    m.extend_from_slice(&(attr_len as u16).to_ne_bytes());
    m.extend_from_slice(&attr.to_ne_bytes());
    m.extend_from_slice(value);
    m.resize(len, 0);
    m
}

/// The attributes of the first message of a reply, or the error it carries.
fn reply_attrs(buf: &[u8]) -> io::Result<Vec<(u16, &[u8])>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed generic netlink reply");
    let hdr = buf.get(..16).ok_or_else(bad)?;
    let len = (u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize).min(buf.len());
    let ty = u16::from_ne_bytes([hdr[4], hdr[5]]);
    if ty == NLMSG_ERROR {
        let code = buf.get(16..20).map_or(0, |e| i32::from_ne_bytes([e[0], e[1], e[2], e[3]]));
        return Err(io::Error::from_raw_os_error(-code));
    }
    let mut attrs = Vec::new();
    let mut at = 20;
    while at + 4 <= len {
        let alen = usize::from(u16::from_ne_bytes([buf[at], buf[at + 1]]));
        let aty = u16::from_ne_bytes([buf[at + 2], buf[at + 3]]) & 0x3fff;
        if alen < 4 || at + alen > len {
            return Err(bad());
        }
        attrs.push((aty, &buf[at + 4..at + alen]));
        at += alen.next_multiple_of(4);
    }
    Ok(attrs)
}

fn transact(sock: &std::os::fd::OwnedFd, msg: &[u8], buf: &mut [u8]) -> io::Result<usize> {
    sys::send(sock.as_raw_fd(), msg)?;
    let mut ready = Vec::new();
    sys::poll_readable(&[sock.as_raw_fd()], 1000, &mut ready)?;
    if ready.is_empty() {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "no generic netlink reply"));
    }
    sys::recv(sock.as_raw_fd(), buf)
}

/// The `xdp_features` bits (`NETDEV_XDP_ACT_*`) of interface `ifindex` of this namespace.
///
/// # Errors
/// No "netdev" family (kernel before 6.3), no such device, or a socket error.
pub fn xdp_features(ifindex: u32) -> io::Result<u64> {
    // The family's id is fixed while the system runs: resolved once, then reused.
    static FAMILY: OnceLock<u16> = OnceLock::new();
    let sock = sys::netlink_socket(libc::NETLINK_GENERIC, 0)?;
    let mut buf = vec![0u8; 4096];
    let family = if let Some(f) = FAMILY.get() {
        *f
    } else {
        let msg = request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, CTRL_ATTR_FAMILY_NAME, b"netdev\0");
        let n = transact(&sock, &msg, &mut buf)?;
        let f = reply_attrs(&buf[..n])?
            .into_iter()
            .find(|(t, v)| *t == CTRL_ATTR_FAMILY_ID && v.len() >= 2)
            .map(|(_, v)| u16::from_ne_bytes([v[0], v[1]]))
            .ok_or_else(|| io::Error::new(io::ErrorKind::Unsupported, "no generic netlink family \"netdev\""))?;
        *FAMILY.get_or_init(|| f)
    };
    let n = transact(
        &sock,
        &request(family, NETDEV_CMD_DEV_GET, 2, NETDEV_A_DEV_IFINDEX, &ifindex.to_ne_bytes()),
        &mut buf,
    )?;
    reply_attrs(&buf[..n])?
        .into_iter()
        .find(|(t, v)| *t == NETDEV_A_DEV_XDP_FEATURES && v.len() >= 8)
        .map(|(_, v)| u64::from_ne_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]]))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "reply without xdp-features"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_padded_netlink_messages() {
        let m = request(0x10, CTRL_CMD_GETFAMILY, 7, CTRL_ATTR_FAMILY_NAME, b"netdev\0");
        assert_eq!(m.len(), 16 + 4 + 12);
        assert_eq!(u32::from_ne_bytes([m[0], m[1], m[2], m[3]]) as usize, m.len());
        assert_eq!(&m[24..31], b"netdev\0");
    }

    #[test]
    fn replies_parse_and_errors_and_garbage_are_refused() {
        let mut r = request(0x1c, 1, 1, NETDEV_A_DEV_XDP_FEATURES, &7u64.to_ne_bytes());
        let attrs = reply_attrs(&r).unwrap();
        assert_eq!(attrs, vec![(NETDEV_A_DEV_XDP_FEATURES, &7u64.to_ne_bytes()[..])]);
        r[20] = 200; // attribute longer than the message
        assert!(reply_attrs(&r).is_err());
        let mut e = request(NLMSG_ERROR, 0, 1, 0, &[]);
        e[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        e[16..20].copy_from_slice(&(-19i32).to_ne_bytes());
        assert_eq!(reply_attrs(&e).unwrap_err().raw_os_error(), Some(19));
        assert!(reply_attrs(&[1, 2, 3]).is_err());
    }

    #[test]
    fn loopback_reports_its_features_or_a_clear_error() {
        // lo has no ndo_xdp_xmit; on kernels without the family this is an error, not a panic.
        if let Ok(f) = xdp_features(1) {
            assert_eq!(f & NDO_XMIT, 0, "{f:#x}");
        }
    }
}
