//! Fuzz harnesses: one `run(data)` function per cargo-fuzz target, each panicking on a broken property.
//!
//! The targets in `fuzz/fuzz_targets/` call them under libFuzzer; `tests/fuzz_replay.rs` compiles this same
//! source into the main crate's test suite and replays every file of `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` through them on the stable toolchain, so every input that ever found a bug
//! keeps being checked by `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

pub mod c_api;
pub mod decode;
pub mod ledger_file;
pub mod mem_file;
pub mod model;
pub mod operations;
pub mod seeds;

/// A harness: takes the fuzzer's bytes, panics on a broken property.
pub type Harness = fn(&[u8]);

/// The fuzz targets, by name (the directory names under `seeds/`, `corpus/` and `regressions/`).
pub const TARGETS: [(&str, Harness); 4] = [
    ("decode", decode::run),
    ("ledger_file", ledger_file::run),
    ("operations", operations::run),
    ("c_api", c_api::run),
];
