//! cargo-fuzz target `c_api`: see `harness/c_api.rs` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| healthchain_fuzz::c_api::run(data));
