//! The packet-rate harness (`cargo run --release -p benches --bin rate`): ferrovs, Open vSwitch
//! and the kernel's XDP forwarding measured in the same run on the same namespace topology, with
//! an XDP live-frames generator and an XDP counting sink (issues 4 and 6), plus the GRE VM-to-VM
//! and VM (tap) path scenarios.

pub mod frame;
pub mod gre;
pub mod netns;
pub mod report;
pub mod switch;
pub mod sys;
pub mod tap;
pub mod xdp;
