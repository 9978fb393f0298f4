//! Fuzz target `frame_parse`: the body is `flowtable::extract::fuzz_frame_parse`, shared with the corpus replay test.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    flowtable::extract::fuzz_frame_parse(data);
});
