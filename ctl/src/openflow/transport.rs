//! Byte streams for OpenFlow connections: unix and TCP sockets behind one type, controller
//! targets as ovs-vsctl writes them (`tcp:IP:PORT`, `ptcp:PORT[:IP]`, `unix:PATH`,
//! `punix:PATH`), non-blocking-accept listeners that can be stopped, and the reconnect backoff
//! of Open vSwitch's rconn (1 s, doubling up to 8 s).

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// First reconnect delay.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Longest reconnect delay (Open vSwitch's default `max_backoff`).
pub const BACKOFF_MAX: Duration = Duration::from_secs(8);

/// A controller target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Connect to a TCP controller.
    Tcp(SocketAddr),
    /// Listen for controllers on TCP.
    Ptcp(SocketAddr),
    /// Connect to a unix-socket controller.
    Unix(PathBuf),
    /// Listen for controllers on a unix socket.
    Punix(PathBuf),
}

impl Target {
    /// Parses `tcp:IP:PORT`, `ptcp:PORT[:IP]`, `unix:PATH` or `punix:PATH`. OpenFlow's port
    /// 6653 is the default where the port is left out.
    pub fn parse(s: &str) -> Option<Target> {
        let (kind, rest) = s.split_once(':')?;
        match kind {
            "tcp" => {
                let (ip, port) = match rest.rsplit_once(':') {
                    Some((ip, port)) => (ip.parse::<IpAddr>().ok()?, port.parse().ok()?),
                    None => (rest.parse::<IpAddr>().ok()?, 6653),
                };
                Some(Target::Tcp(SocketAddr::new(ip, port)))
            }
            "ptcp" => {
                let (port, ip) = match rest.split_once(':') {
                    Some((port, ip)) => (port.parse().ok()?, ip.parse::<IpAddr>().ok()?),
                    None => (rest.parse().ok()?, IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                };
                Some(Target::Ptcp(SocketAddr::new(ip, port)))
            }
            "unix" if !rest.is_empty() => Some(Target::Unix(PathBuf::from(rest))),
            "punix" if !rest.is_empty() => Some(Target::Punix(PathBuf::from(rest))),
            _ => None,
        }
    }

    /// Whether we listen (passive) rather than connect.
    pub fn is_passive(&self) -> bool {
        matches!(self, Target::Ptcp(_) | Target::Punix(_))
    }
}

/// A connected stream.
#[derive(Debug)]
pub enum Stream {
    /// Unix socket.
    Unix(UnixStream),
    /// TCP.
    Tcp(TcpStream),
}

impl std::os::fd::AsRawFd for Stream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        match self {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
        }
    }
}

impl Stream {
    /// Connects to an active target, waiting at most `timeout`.
    pub fn connect(target: &Target, timeout: Duration) -> io::Result<Stream> {
        match target {
            Target::Tcp(addr) => {
                let s = TcpStream::connect_timeout(addr, timeout)?;
                s.set_nodelay(true)?;
                Ok(Stream::Tcp(s))
            }
            Target::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path)?)),
            _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "passive target")),
        }
    }

    /// A second handle on the same socket (for writing from other threads).
    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
        })
    }

    /// Read timeout (the connection thread's tick).
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_read_timeout(d),
            Stream::Tcp(s) => s.set_read_timeout(d),
        }
    }

    /// Write timeout (a peer that stops reading is dropped rather than blocking the switch).
    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_write_timeout(d),
            Stream::Tcp(s) => s.set_write_timeout(d),
        }
    }

    /// Shuts both directions (wakes a reader blocked on the other handle).
    pub fn shutdown(&self) {
        let _ = match self {
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Both),
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }

    /// The peer, for logs.
    pub fn peer_name(&self) -> String {
        match self {
            Stream::Unix(_) => "unix".to_owned(),
            Stream::Tcp(s) => s.peer_addr().map_or_else(|_| "tcp".to_owned(), |a| format!("tcp:{a}")),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A passive socket in non-blocking mode (so its thread can notice when to stop).
#[derive(Debug)]
pub enum Listener {
    /// Unix socket (removed on drop).
    Unix(UnixListener, PathBuf),
    /// TCP.
    Tcp(TcpListener),
}

impl Listener {
    /// Binds a unix socket with mode 0600, replacing a stale one.
    pub fn unix(path: &Path) -> io::Result<Listener> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let l = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        l.set_nonblocking(true)?;
        Ok(Listener::Unix(l, path.to_owned()))
    }

    /// Binds a passive target.
    pub fn bind(target: &Target) -> io::Result<Listener> {
        match target {
            Target::Ptcp(addr) => {
                let l = TcpListener::bind(addr)?;
                l.set_nonblocking(true)?;
                Ok(Listener::Tcp(l))
            }
            Target::Punix(path) => Listener::unix(path),
            _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "active target")),
        }
    }

    /// A pending connection, if any (never blocks).
    pub fn accept(&self) -> io::Result<Option<Stream>> {
        let r = match self {
            Listener::Unix(l, _) => l.accept().map(|(s, _)| Stream::Unix(s)),
            Listener::Tcp(l) => l.accept().map(|(s, _)| {
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }),
        };
        match r {
            Ok(s) => {
                // Accepted sockets inherit non-blocking mode on some systems: undo it.
                match &s {
                    Stream::Unix(u) => u.set_nonblocking(false)?,
                    Stream::Tcp(t) => t.set_nonblocking(false)?,
                }
                Ok(Some(s))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Reconnect delays: 1 s, 2 s, 4 s, 8 s, 8 s ... and back to 1 s after a connection that
/// got as far as the HELLO exchange.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: BACKOFF_MIN }
    }
}

impl Backoff {
    /// The delay before the next attempt (and doubles the one after).
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(BACKOFF_MAX);
        d
    }

    /// A connection worked: start again from the minimum.
    pub fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }

    /// A connection that completed its HELLO ended after `lasted`: the backoff starts again
    /// only if it lasted at least the current delay, so a controller that hangs up at once is
    /// redialled ever more slowly (Open vSwitch's rconn does the same with its backoff deadline).
    pub fn connection_ended(&mut self, lasted: Duration) {
        if lasted >= self.next {
            self.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_as_ovs_vsctl_writes_them() {
        assert_eq!(Target::parse("tcp:127.0.0.1:6653"), Some(Target::Tcp("127.0.0.1:6653".parse().unwrap())));
        assert_eq!(Target::parse("tcp:10.0.0.1"), Some(Target::Tcp("10.0.0.1:6653".parse().unwrap())));
        assert_eq!(Target::parse("ptcp:6634"), Some(Target::Ptcp("0.0.0.0:6634".parse().unwrap())));
        assert_eq!(Target::parse("ptcp:6634:127.0.0.1"), Some(Target::Ptcp("127.0.0.1:6634".parse().unwrap())));
        assert_eq!(Target::parse("punix:/tmp/x"), Some(Target::Punix("/tmp/x".into())));
        assert!(Target::parse("tcp:nohost:1").is_none());
        assert!(Target::parse("ssl:1.2.3.4:5").is_none());
        assert!(Target::parse("unix:").is_none());
    }

    #[test]
    fn backoff_doubles_to_eight_seconds_and_resets() {
        let mut b = Backoff::default();
        let d: Vec<u64> = (0..6).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(d, vec![1, 2, 4, 8, 8, 8]);
        b.reset();
        assert_eq!(b.next_delay().as_secs(), 1);
    }

    #[test]
    fn a_connection_that_ends_at_once_does_not_reset_the_backoff() {
        let mut b = Backoff::default();
        assert_eq!(b.next_delay(), Duration::from_secs(1));
        b.connection_ended(Duration::from_millis(10));
        assert_eq!(b.next_delay(), Duration::from_secs(2));
        b.connection_ended(Duration::from_secs(30));
        assert_eq!(b.next_delay(), Duration::from_secs(1));
    }
}
