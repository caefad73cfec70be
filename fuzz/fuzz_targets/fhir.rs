//! cargo-fuzz target `fhir`: see `harness/fhir.rs` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| healthchain_fuzz::fhir::run(data));
