//! Fuzz target `control_rpc`: the body is `ctl::rpc::fuzz_rpc`, shared with the corpus replay test.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ctl::rpc::fuzz_rpc(data);
});
