//! Fuzz target `of_stream`: `ofagent::fuzz_stream` (decode; if ok, encode and decode again, same message).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ofagent::fuzz_stream(data);
});
