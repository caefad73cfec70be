//! cargo-fuzz target `checkpoint`: see `harness/checkpoint.rs` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| healthchain_fuzz::checkpoint::run(data));
