//! ferrovs's management plane: the switch configuration and its crash-safe store
//! ([`config`]), and ovs-vsctl's command language over it ([`vsctl`]). The `ferrovs` CLI and
//! the `ferrovsd` daemon are thin binaries over these.

pub mod appctl;
pub mod config;
pub mod devwatch;
pub mod logger;
pub mod ofctl;
pub mod openflow;
pub mod process;
pub mod rpc;
pub mod server;
pub mod switch;
pub mod tunnel;
pub mod vsctl;

/// A stable identifier for `show`'s first line (Open vSwitch prints its database row's UUID).
pub fn config_uuid(cfg: &config::Config) -> String {
    let mut h: u128 = 0x6a09_e667_f3bc_c908_bb67_ae85_84ca_a73b;
    for name in cfg.bridges.keys().take(1) {
        for b in name.bytes() {
            h = (h ^ u128::from(b)).wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
        }
    }
    let hex = format!("{h:032x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}
