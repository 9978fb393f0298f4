//! ferrovs's fast path.
//!
//! Poll threads take frames in batches, extract each frame's flow key, and find what to do in
//! two caches: the exact-match cache ([`emc`]) and the megaflow cache ([`megaflow`], tuple-space
//! search over wildcarded flows). A miss is translated by the OpenFlow pipeline
//! (`flowtable::xlate`) and installed as a new megaflow ([`flow`]); flow-table changes trigger
//! [`revalidate`]. The caches are pure data structures, tested without sockets. Malformed frames
//! are counted and dropped before any lookup; misses are rate-limited per port
//! ([`upcall_limit`]). Megaflows XDP can carry are forwarded by the XDP program itself once
//! their first frames have been seen here ([`xdp_offload`]).

pub mod emc;
pub mod flow;
pub mod megaflow;
pub mod netdev;
pub mod pmd;
pub mod poll;
pub mod revalidate;
pub mod sys;
pub mod upcall_limit;
pub mod xdp_features;
pub mod xdp_masks;
pub mod xdp_offload;
pub mod xdp_revalidate;
pub mod xsk;

pub use flow::Megaflow;
pub use megaflow::MegaflowCache;
