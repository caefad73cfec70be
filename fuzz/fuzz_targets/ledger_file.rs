//! cargo-fuzz target `ledger_file`: see `harness/ledger_file.rs` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| healthchain_fuzz::ledger_file::run(data));
