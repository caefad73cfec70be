//! Fuzz harnesses: one `run(data)` function per cargo-fuzz target, each panicking on a broken property.
//!
//! The targets in `fuzz/fuzz_targets/` call them under libFuzzer; `tests/fuzz_replay.rs` (the core's
//! targets) and `capi/tests/fuzz_replay.rs` (`c_api`) compile these same modules into the workspace's test
//! suites and replay every file of `fuzz/seeds/<target>/`, `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` through them on the stable toolchain (`replay`), so every input that ever
//! found a bug keeps being checked by `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

pub mod c_api;
pub mod checkpoint;
pub mod decode;
pub mod fhir;
pub mod ledger_file;
pub mod mem_file;
pub mod model;
pub mod operations;
pub mod replay;
pub mod seeds;
