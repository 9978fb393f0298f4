//! Fuzz target `of13_decode`: `ofagent::fuzz_of13` (decode; if ok, encode and decode again, same message).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ofagent::fuzz_of13(data);
});
