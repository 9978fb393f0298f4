//! Replays every file of every fuzz corpus (frames, datapath actions, flow syntax,
//! configuration file, control socket, GRE decapsulation, rtnetlink dumps) (`fuzz/corpus/<target>/`)
//! through the same entry points the fuzz targets use, so each finding added there becomes a
//! regression test of `make test`.

use std::path::Path;

fn replay(target: &str, entry: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut n = 0;
    for file in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = file.expect("readable corpus dir").path();
        let data = std::fs::read(&path).expect("readable corpus file");
        entry(&data);
        n += 1;
    }
    assert!(n > 0, "empty corpus {}", dir.display());
}

#[test]
fn config_load_corpus() {
    replay("config_load", ctl::config::fuzz_config);
}

#[test]
fn control_rpc_corpus() {
    replay("control_rpc", ctl::rpc::fuzz_rpc);
}

#[test]
fn frame_parse_corpus() {
    replay("frame_parse", flowtable::extract::fuzz_frame_parse);
}

#[test]
fn odp_execute_corpus() {
    replay("odp_execute", flowtable::odp_exec::fuzz_odp_execute);
}

#[test]
fn flow_syntax_corpus() {
    replay("flow_syntax", flowtable::syntax::fuzz_flow_syntax);
}

#[test]
fn tnl_pop_corpus() {
    replay("tnl_pop", flowtable::tunnel::fuzz_tnl_pop);
}

#[test]
fn netlink_route_corpus() {
    replay("netlink_route", ctl::tunnel::fuzz_netlink);
}
