//! Replays the inputs kept for a target — `seeds/`, `corpus/` and `regressions/` (each crash or slow input
//! ever found gets a file there) — through its harness: the tests that run the fuzz targets' inputs on the
//! stable toolchain in every `cargo test` (`tests/fuzz_replay.rs`, `capi/tests/fuzz_replay.rs`).

use std::path::{Path, PathBuf};

/// Runs every kept input of `target` (under `fuzz_dir`) through `run`; the number of inputs. Panics with
/// the input's path when the harness panics.
pub fn replay_kept(fuzz_dir: &Path, target: &str, run: fn(&[u8])) -> usize {
    let mut count = 0;
    for kind in ["seeds", "corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir.join(kind).join(target)) else { continue };
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
