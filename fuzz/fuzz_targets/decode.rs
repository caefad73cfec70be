//! cargo-fuzz target `decode`: see `harness/decode.rs` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| healthchain_fuzz::decode::run(data));
