//! Fuzz target `netlink_route`: the body is `ctl::tunnel::fuzz_netlink`, shared with the corpus replay test.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ctl::tunnel::fuzz_netlink(data);
});
