//! Smoke tests of the harness's GRE VM-to-VM scenarios (not of performance): a short paced run
//! with two ferrovsd must build its four namespaces, carry the generator's frames through the
//! tunnel, deliver them decapsulated (the sink counts harness frames by the marker at a plain
//! UDP frame's offset; anything else is reported as "other frames"), and leave no namespace
//! behind. Needs root and the workspace's `ferrovsd` / `ferrovs` next to the `rate` binary
//! (`cargo test --workspace` builds them); skips with a reason elsewhere, fails under CI=true.

#![allow(clippy::unwrap_used)]

mod common;
use common::{namespaces_of, require, run_rate};

#[test]
fn gre_scenario_delivers_decapsulated_frames_and_cleans_up() {
    let tools = [["ip", "-V"], ["ethtool", "--version"], ["ping", "-V"]];
    if !require("gre_scenario_delivers_decapsulated_frames_and_cleans_up", &tools, false, true) {
        return;
    }
    let run = run_rate(&["--switch", "ferrovs", "--scenario", "gre-64b", "--duration", "0.5", "--pps", "20000"]);
    let (row, forwarded) = run.forwarded("gre-64b", "ferrovs");
    assert!(forwarded > 0.0, "nothing reached the sink decapsulated: {row}\n{}", run.stderr);
    assert!(run.stderr.contains("other frames at the sink 0"), "the sink saw non-harness frames:\n{}", run.stderr);
    assert_eq!(namespaces_of(run.pid), Vec::<String>::new(), "namespaces left behind");
}

/// The Neutron layout: br-int and br-tun with the agent's tables (loaded by stock ovs-ofctl),
/// patch ports, learning; frames must still arrive decapsulated and untagged.
#[test]
fn neutron_gre_scenario_delivers_decapsulated_untagged_frames() {
    let tools = [["ip", "-V"], ["ethtool", "--version"], ["ping", "-V"], ["ovs-ofctl", "--version"]];
    if !require("neutron_gre_scenario_delivers_decapsulated_untagged_frames", &tools, false, true) {
        return;
    }
    let scenario = "neutron-gre-64b";
    let run = run_rate(&["--switch", "ferrovs", "--scenario", scenario, "--duration", "0.5", "--pps", "20000"]);
    let (row, forwarded) = run.forwarded(scenario, "ferrovs");
    assert!(forwarded > 0.0, "nothing reached the sink decapsulated and untagged: {row}\n{}", run.stderr);
    assert!(run.stderr.contains("other frames at the sink 0"), "the sink saw non-harness frames:\n{}", run.stderr);
    assert_eq!(namespaces_of(run.pid), Vec::<String>::new(), "namespaces left behind");
}
