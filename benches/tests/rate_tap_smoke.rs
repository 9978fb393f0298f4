//! Smoke test of the harness's VM (tap) path scenarios (not of performance): a short paced run
//! with a debug ferrovsd must create the VM's tap, carry frames from the VM's descriptor to the
//! sink (`tap-rx-64b`) and from the generator to the VM's descriptor (`tap-tx-64b`), and leave
//! no namespace behind. Needs root and the workspace's `ferrovsd` / `ferrovs` next to the `rate`
//! binary (`cargo test --workspace` builds them); skips with a reason elsewhere, fails under
//! CI=true.

#![allow(clippy::unwrap_used)]

mod common;
use common::{namespaces_of, require, run_rate};

#[test]
fn tap_scenarios_carry_frames_both_ways_and_clean_up() {
    if !require(
        "tap_scenarios_carry_frames_both_ways_and_clean_up",
        &[["ip", "-V"], ["ethtool", "--version"]],
        true,
        true,
    ) {
        return;
    }
    let run = run_rate(&[
        "--switch",
        "ferrovs",
        "--scenario",
        "tap-rx-64b,tap-tx-64b",
        "--duration",
        "0.5",
        "--pps",
        "20000",
    ]);
    for scenario in ["tap-rx-64b", "tap-tx-64b"] {
        let (row, forwarded) = run.forwarded(scenario, "ferrovs");
        assert!(forwarded > 0.0, "nothing crossed the switch: {row}\n{}", run.stderr);
    }
    assert_eq!(namespaces_of(run.pid), Vec::<String>::new(), "namespaces left behind");
}
