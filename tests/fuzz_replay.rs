//! Replays every input the core's fuzz targets keep (`decode`, `ledger_file`, `operations`, `checkpoint`, `fhir`: their
//! `fuzz/seeds/`, `fuzz/corpus/` and `fuzz/regressions/`) through the same harness functions the cargo-fuzz
//! targets call (`fuzz/harness/`), on the stable toolchain, in every `cargo test`. The C library's target
//! (`c_api`) is replayed by `capi/tests/fuzz_replay.rs`.
//!
//! `HEALTHCHAIN_BLESS_FUZZ_SEEDS=1 cargo test --test fuzz_replay` rewrites `fuzz/seeds/` from
//! `fuzz/harness/seeds.rs`.

#![allow(dead_code)]

#[path = "../fuzz/harness/checkpoint.rs"]
mod checkpoint;
#[path = "../fuzz/harness/decode.rs"]
mod decode;
#[path = "../fuzz/harness/fhir.rs"]
mod fhir;
#[path = "../fuzz/harness/ledger_file.rs"]
mod ledger_file;
#[path = "../fuzz/harness/mem_file.rs"]
mod mem_file;
#[path = "../fuzz/harness/model.rs"]
mod model;
#[path = "../fuzz/harness/operations.rs"]
mod operations;
#[path = "../fuzz/harness/replay.rs"]
mod replay;
#[path = "../fuzz/harness/seeds.rs"]
mod seeds;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

#[test]
fn decode_inputs() {
    if std::env::var_os("HEALTHCHAIN_BLESS_FUZZ_SEEDS").is_some() {
        seeds::write_all(&fuzz_dir().join("seeds"));
    }
    assert!(replay::replay_kept(&fuzz_dir(), "decode", decode::run) >= 50);
}

#[test]
fn ledger_file_inputs() {
    assert!(replay::replay_kept(&fuzz_dir(), "ledger_file", ledger_file::run) >= 6);
}

#[test]
fn checkpoint_inputs() {
    assert!(replay::replay_kept(&fuzz_dir(), "checkpoint", checkpoint::run) >= 700);
}

#[test]
fn fhir_inputs() {
    assert!(replay::replay_kept(&fuzz_dir(), "fhir", fhir::run) >= 58);
}

#[test]
fn operations_inputs() {
    assert!(replay::replay_kept(&fuzz_dir(), "operations", operations::run) >= 3);
}
