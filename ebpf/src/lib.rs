//! ferrovs's XDP program and its loader.
//!
//! `bpf/xdp_steer.c` (compiled by `build.rs` with clang) redirects every frame of an rx queue to
//! the AF_XDP socket registered for that queue in its `xsks` map, and passes frames of queues
//! without a socket to the kernel. [`XdpSteer`] loads it, attaches it to one interface (native
//! "driver" mode where the driver supports it, generic "SKB" mode otherwise), registers sockets,
//! and detaches on drop. The attachment is a BPF link owned by this process, so it also goes
//! away when the process dies, even by SIGKILL: no XDP program is left behind on a port.
//!
//! No bpffs pin is used: `ip netns exec` remounts /sys, so pins would not cross namespaces.

pub mod offload;

use aya::maps::{Array, HashMap, IterableMap, XskMap};
use aya::programs::xdp::XdpLinkId;
use aya::programs::{Xdp, XdpFlags};
use aya::{Ebpf, EbpfLoader};
pub use offload::{FlowActionsXdp, FlowKeyXdp, Generation, MaskXdp, MaskedKeyXdp, TnlKeyXdp};
use std::ffi::CString;
use std::fmt;
use std::os::fd::AsRawFd;

/// Bytes kept at an 8-byte boundary (the ELF parser reads headers in place).
#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

/// The compiled steering program (BPF ELF object with BTF).
static XDP_STEER: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/xdp_steer.o")));

/// Rx queues the program can steer (the size of its `xsks` map; `FERROVS_MAX_QUEUES` in C).
pub const MAX_QUEUES: u32 = 256;

const PROGRAM: &str = "xdp_steer";
const XSK_MAP: &str = "xsks";
const FLOWS_MAP: &str = "flows";
const GENERATION_MAP: &str = "generation";
const MASKS_MAP: &str = "masks";
const TNL_FLOWS_MAP: &str = "tnl_flows";

/// What went wrong loading, attaching or feeding the XDP program.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The interface does not exist in this network namespace.
    #[error("no interface named {0:?} in this network namespace")]
    NoSuchInterface(String),
    /// The kernel refused the object (maps or program).
    #[error("loading the XDP program: {0}")]
    Load(String),
    /// Neither attachment mode was accepted.
    #[error("attaching XDP to interface {ifindex}: {reason}")]
    Attach {
        /// Interface index.
        ifindex: u32,
        /// What each mode tried answered.
        reason: String,
    },
    /// The queue index is beyond the map.
    #[error("rx queue {0} is beyond the {MAX_QUEUES} queues the XDP program steers")]
    QueueOutOfRange(u32),
    /// Reading or writing the fast path's flow map failed.
    #[error("XDP flow map: {0}")]
    Flows(String),
    /// Updating the socket map failed.
    #[error("registering the AF_XDP socket of rx queue {queue}: {reason}")]
    Register {
        /// Rx queue.
        queue: u32,
        /// The kernel's answer.
        reason: String,
    },
}

/// Result of this crate's operations.
pub type Result<T> = std::result::Result<T, Error>;

/// How the program is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttachMode {
    /// Native (driver) mode, falling back to generic mode where the driver lacks XDP.
    #[default]
    Auto,
    /// Native (driver) mode only.
    Native,
    /// Generic (SKB) mode only: works on every device, slower.
    Generic,
}

/// The mode the program ended up attached in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XdpMode {
    /// In the driver, before an skb exists.
    Native,
    /// In the generic receive path, on skbs.
    Generic,
}

impl fmt::Display for XdpMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            XdpMode::Native => "native",
            XdpMode::Generic => "generic (skb)",
        })
    }
}

/// Renders an error with its sources ("a: b: c").
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// The steering program attached to one interface; detached on drop.
pub struct XdpSteer {
    ebpf: Ebpf,
    xsks: XskMap<aya::maps::MapData>,
    flows: HashMap<aya::maps::MapData, MaskedKeyXdp, FlowActionsXdp>,
    masks: Array<aya::maps::MapData, MaskXdp>,
    tnl_flows: HashMap<aya::maps::MapData, TnlKeyXdp, FlowActionsXdp>,
    generation: Array<aya::maps::MapData, u64>,
    link: Option<XdpLinkId>,
    ifindex: u32,
    mode: XdpMode,
    id: u32,
}

impl fmt::Debug for XdpSteer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XdpSteer").field("ifindex", &self.ifindex).field("mode", &self.mode).finish_non_exhaustive()
    }
}

/// The index of interface `name` in the current network namespace.
pub fn ifindex(name: &str) -> Result<u32> {
    let c = CString::new(name).map_err(|_| Error::NoSuchInterface(name.to_owned()))?;
    // SAFETY: c is a valid NUL-terminated string that outlives the call.
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(Error::NoSuchInterface(name.to_owned())),
        i => Ok(i),
    }
}

impl XdpSteer {
    /// Loads the program and attaches it to interface `name` (see [`XdpSteer::attach`]).
    pub fn attach_by_name(name: &str, mode: AttachMode) -> Result<Self> {
        Self::attach(ifindex(name)?, mode)
    }

    /// Loads the program and attaches it to interface `ifindex`: in native mode if `mode`
    /// allows and the driver supports it, else in generic mode; [`XdpSteer::mode`] says which.
    pub fn attach(ifindex: u32, mode: AttachMode) -> Result<Self> {
        let mut ebpf = EbpfLoader::new().load(&XDP_STEER.0).map_err(|e| Error::Load(chain(&e)))?;
        let map = ebpf.take_map(XSK_MAP).ok_or_else(|| Error::Load(format!("the object has no {XSK_MAP} map")))?;
        let xsks = XskMap::try_from(map).map_err(|e| Error::Load(chain(&e)))?;
        let map = ebpf.take_map(FLOWS_MAP).ok_or_else(|| Error::Load(format!("the object has no {FLOWS_MAP} map")))?;
        let flows = HashMap::try_from(map).map_err(|e| Error::Load(chain(&e)))?;
        let map = ebpf
            .take_map(TNL_FLOWS_MAP)
            .ok_or_else(|| Error::Load(format!("the object has no {TNL_FLOWS_MAP} map")))?;
        let tnl_flows = HashMap::try_from(map).map_err(|e| Error::Load(chain(&e)))?;
        let map = ebpf
            .take_map(GENERATION_MAP)
            .ok_or_else(|| Error::Load(format!("the object has no {GENERATION_MAP} map")))?;
        let generation = Array::try_from(map).map_err(|e| Error::Load(chain(&e)))?;
        let map = ebpf.take_map(MASKS_MAP).ok_or_else(|| Error::Load(format!("the object has no {MASKS_MAP} map")))?;
        let masks = Array::try_from(map).map_err(|e| Error::Load(chain(&e)))?;
        let prog: &mut Xdp = ebpf
            .program_mut(PROGRAM)
            .ok_or_else(|| Error::Load(format!("the object has no {PROGRAM} program")))?
            .try_into()
            .map_err(|e: aya::programs::ProgramError| Error::Load(chain(&e)))?;
        prog.load().map_err(|e| Error::Load(chain(&e)))?;
        let tries: &[(XdpMode, XdpFlags)] = match mode {
            AttachMode::Auto => &[(XdpMode::Native, XdpFlags::DRV_MODE), (XdpMode::Generic, XdpFlags::SKB_MODE)],
            AttachMode::Native => &[(XdpMode::Native, XdpFlags::DRV_MODE)],
            AttachMode::Generic => &[(XdpMode::Generic, XdpFlags::SKB_MODE)],
        };
        let mut reasons = Vec::new();
        for &(m, flags) in tries {
            match prog.attach_to_if_index(ifindex, flags) {
                Ok(link) => {
                    log::debug!("XDP attached to interface {ifindex} in {m} mode");
                    // Map ids are never reused while the system runs: they name this instance.
                    let id = generation.map().info().map_or(0, |i| i.id());
                    return Ok(XdpSteer {
                        ebpf,
                        xsks,
                        flows,
                        masks,
                        tnl_flows,
                        generation,
                        link: Some(link),
                        ifindex,
                        mode: m,
                        id,
                    });
                }
                Err(e) => reasons.push(format!("{m} mode: {}", chain(&e))),
            }
        }
        Err(Error::Attach { ifindex, reason: reasons.join("; ") })
    }

    /// The mode the program is attached in.
    pub fn mode(&self) -> XdpMode {
        self.mode
    }

    /// The loaded program (for test runs: `BPF_PROG_TEST_RUN` with this descriptor).
    pub fn program_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        let prog: &Xdp = self.ebpf.program(PROGRAM)?.try_into().ok()?;
        Some(prog.fd().ok()?.as_fd())
    }

    /// What tells this loaded instance from any other, even on the same interface (the kernel
    /// id of its generation map).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The interface it is attached to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Steers rx queue `queue` to the AF_XDP socket `fd` (bound to this interface and queue).
    pub fn register_socket(&mut self, queue: u32, fd: &impl AsRawFd) -> Result<()> {
        if queue >= MAX_QUEUES {
            return Err(Error::QueueOutOfRange(queue));
        }
        self.xsks.set(queue, fd.as_raw_fd(), 0).map_err(|e| Error::Register { queue, reason: chain(&e) })
    }
}

/// The in-kernel fast path of this port (see [`offload`]).
impl XdpSteer {
    /// A second handle on this port's generation and entries, for whoever retires (and
    /// re-stamps) them.
    ///
    /// # Errors
    /// Duplicating the maps' descriptors failed.
    pub fn generation_handle(&self) -> Result<Generation> {
        Generation::from_maps(self.generation.map(), self.flows.map(), self.tnl_flows.map())
            .map_err(|e| Error::Flows(e.to_string()))
    }

    /// Writes mask slot `slot` (`in_use` 0 frees it).
    ///
    /// # Errors
    /// The kernel's answer (the slot is beyond the map).
    pub fn mask_set(&mut self, slot: u32, mask: &MaskXdp) -> Result<()> {
        self.masks.set(slot, mask, 0).map_err(|e| Error::Flows(chain(&e)))
    }

    /// Installs (or replaces) the entry of `key`.
    ///
    /// # Errors
    /// The kernel's answer (E2BIG when the map is full).
    pub fn flow_put(&mut self, key: &MaskedKeyXdp, actions: &FlowActionsXdp) -> Result<()> {
        self.flows.insert(key, actions, 0).map_err(|e| Error::Flows(chain(&e)))
    }

    /// The entry of `key` (with its counters), if installed.
    pub fn flow_get(&self, key: &MaskedKeyXdp) -> Option<FlowActionsXdp> {
        self.flows.get(key, 0).ok()
    }

    /// Removes the entry of `key` (absent is not an error).
    pub fn flow_del(&mut self, key: &MaskedKeyXdp) {
        let _ = self.flows.remove(key);
    }

    /// Installs (or replaces) the decapsulation entry of `key`.
    ///
    /// # Errors
    /// The kernel's answer (E2BIG when the map is full).
    pub fn tnl_put(&mut self, key: &TnlKeyXdp, actions: &FlowActionsXdp) -> Result<()> {
        self.tnl_flows.insert(key, actions, 0).map_err(|e| Error::Flows(chain(&e)))
    }

    /// The decapsulation entry of `key` (with its counters), if installed.
    pub fn tnl_get(&self, key: &TnlKeyXdp) -> Option<FlowActionsXdp> {
        self.tnl_flows.get(key, 0).ok()
    }

    /// Removes the decapsulation entry of `key` (absent is not an error).
    pub fn tnl_del(&mut self, key: &TnlKeyXdp) {
        let _ = self.tnl_flows.remove(key);
    }
}

impl Drop for XdpSteer {
    fn drop(&mut self) {
        // Dropping the program closes its link, which detaches it; done explicitly to log it.
        let prog: Option<&mut Xdp> = self.ebpf.program_mut(PROGRAM).and_then(|p| p.try_into().ok());
        if let (Some(prog), Some(link)) = (prog, self.link.take()) {
            if let Err(e) = prog.detach(link) {
                log::warn!("detaching XDP from interface {}: {}", self.ifindex, chain(&e));
            } else {
                log::debug!("XDP detached from interface {}", self.ifindex);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_has_the_program_and_map() {
        let obj = aya_obj_check(&XDP_STEER.0);
        assert!(obj.0, "program {PROGRAM}");
        assert!(obj.1, "map {XSK_MAP}");
        for map in [FLOWS_MAP, GENERATION_MAP, MASKS_MAP, TNL_FLOWS_MAP] {
            assert!(XDP_STEER.0.windows(map.len()).any(|w| w == map.as_bytes()), "map {map}");
        }
    }

    /// Looks for the names in the ELF string tables (enough to catch a wrong build).
    fn aya_obj_check(bytes: &[u8]) -> (bool, bool) {
        let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
        (has(PROGRAM), has(XSK_MAP))
    }

    #[test]
    fn unknown_interface_is_a_clear_error() {
        let e = XdpSteer::attach_by_name("nonexistent-if0", AttachMode::Auto).unwrap_err();
        assert!(e.to_string().contains("no interface named"), "{e}");
        let e = ifindex("bad\0name").unwrap_err();
        assert!(matches!(e, Error::NoSuchInterface(_)));
    }
}
