//! Fuzz target `tnl_pop`: the body is `flowtable::tunnel::fuzz_tnl_pop`, shared with the corpus replay test.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    flowtable::tunnel::fuzz_tnl_pop(data);
});
