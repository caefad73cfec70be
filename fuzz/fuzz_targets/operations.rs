//! cargo-fuzz target `operations`: see `harness/operations.rs` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| healthchain_fuzz::operations::run(data));
