//! ferrovs's slow path: flow keys, OpenFlow rules and tables, the classifier, and the
//! translation of a packet through the OpenFlow pipeline into a cacheable megaflow.
//!
//! Nothing here does I/O. Frames come in as byte slices, flow_mods as values, and the results
//! (datapath actions, megaflow masks, packet-ins, learned flows, MAC-learning updates) go out
//! as values, so every piece is tested without sockets.

pub mod action;
pub mod bridge;
pub mod checksum;
pub mod classifier;
pub mod compact_match;
pub mod extract;
pub mod field;
pub mod flow_match;
pub mod flow_mod;
pub mod key;
pub mod normal;
pub mod odp;
pub mod odp_exec;
pub mod pipeline;
pub mod port;
pub mod prehash;
pub mod rule;
pub mod syntax;
pub mod tnl_xlate;
pub mod tunnel;
pub mod xlate;

pub use action::Action;
pub use field::{Field, SubField};
pub use flow_match::Match;
pub use flow_mod::{FlowMod, FlowModCommand};
pub use key::FlowKey;
pub use odp::{DpAction, DpActions, DpPort};
pub use port::PortNo;
