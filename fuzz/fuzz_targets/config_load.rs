//! Fuzz target `config_load`: the body is `ctl::config::fuzz_config`, shared with the corpus replay test.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ctl::config::fuzz_config(data);
});
