//! Replays every input the fuzz targets keep — `fuzz/seeds/`, `fuzz/corpus/` and `fuzz/regressions/` (each
//! crash or slow input ever found gets a file there) — through the same harness functions the cargo-fuzz
//! targets call (`fuzz/harness/`), on the stable toolchain, in every `cargo test`.
//!
//! `HEALTHCHAIN_BLESS_FUZZ_SEEDS=1 cargo test --test fuzz_replay` rewrites `fuzz/seeds/` from
//! `fuzz/harness/seeds.rs`.

#[allow(dead_code)]
#[path = "../fuzz/harness/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs every kept input of `target` through its harness; the number of inputs.
fn replay(target: &str) -> usize {
    if std::env::var_os("HEALTHCHAIN_BLESS_FUZZ_SEEDS").is_some() && target == "decode" {
        harness::seeds::write_all(&fuzz_dir().join("seeds"));
    }
    let run = harness::TARGETS.iter().find(|(name, _)| *name == target).map(|(_, run)| *run).unwrap();
    let mut count = 0;
    for kind in ["seeds", "corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else { continue };
        let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| run(&bytes)).is_err() {
                panic!("{} fails its harness", path.display());
            }
            count += 1;
        }
    }
    count
}

#[test]
fn decode_inputs() {
    assert!(replay("decode") >= 50);
}

#[test]
fn ledger_file_inputs() {
    assert!(replay("ledger_file") >= 6);
}

#[test]
fn operations_inputs() {
    assert!(replay("operations") >= 3);
}

#[test]
fn c_api_inputs() {
    assert!(replay("c_api") >= 3);
}
