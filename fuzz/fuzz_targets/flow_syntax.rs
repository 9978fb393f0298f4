//! Fuzz target `flow_syntax`: the body is `flowtable::syntax::fuzz_flow_syntax`, shared with the corpus replay test.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    flowtable::syntax::fuzz_flow_syntax(data);
});
