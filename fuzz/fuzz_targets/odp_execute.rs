//! Fuzz target `odp_execute`: the body is `flowtable::odp_exec::fuzz_odp_execute`, shared with the corpus replay test.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    flowtable::odp_exec::fuzz_odp_execute(data);
});
