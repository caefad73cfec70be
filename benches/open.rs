//! Opening a ledger file (issue 11, item 2): from its newest state snapshot against a full replay of every
//! block, measured in the same run.
//!
//! Run it with `cargo bench --bench open`. The ledger: the file `HEALTHCHAIN_BENCH_LEDGER` names (for
//! instance one written by `healthchain generate`; its first writer open replays every block and writes a
//! snapshot, and is timed apart), else a synthetic workload of `HEALTHCHAIN_BENCH_TXS` transactions (default
//! 200,000; 1 patient per 50 transactions, blocks of 1,000) generated in the system's temporary directory,
//! whose writer snapshots every `DEFAULT_SNAPSHOT_INTERVAL` transactions as it goes.
//!
//! # What is measured (each the median of 5 opens, interleaved)
//! - `writer`: `Ledger::open_file` as the writer: the newest snapshot read and checked against the block it
//!   names, the access history taken up where the snapshot left it, the blocks after it replayed.
//! - `reader`: the same read-only (the writer's history is read, the tail's records kept in memory).
//! - `replay`: `Ledger::open` on the same file store: every block replayed from genesis (signatures
//!   trusted as every open does), the access history rebuilt in a temporary file.
//!
//! Then the same with the longest tail a writer leaves behind: a copy of the file cut back, opened once (a full
//! replay that writes a snapshot there), and given back its last blocks, so that the newest snapshot lies just
//! under `DEFAULT_SNAPSHOT_INTERVAL` transactions before the end. And the time `Ledger::write_snapshot`
//! takes (the pause of the block that triggers an automatic one), median of 5.
//!
//! Target: a writer's open of a 10M-transaction ledger in ≤ 1 s.

use healthchain::workload::{self, Spec};
use healthchain::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

const RUNS: usize = 5;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A ledger file of `transactions` generated in a new temporary directory.
fn generated(transactions: u64) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("healthchain-bench-open-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("open.ledger");
    let spec =
        Spec { patients: (transactions / 50).max(1), transactions, seed: 1, block_size: 1_000, max_consents: None };
    let clock = spec.clock();
    let mut ledger =
        Ledger::create_file(&path, Box::new(clock.clone()), &spec.settings(), &[&spec.authority()]).unwrap();
    workload::generate(&mut ledger, &clock, &spec, &mut |_| {}).unwrap();
    path
}

/// Seconds to open `path` (as its writer, or read-only) and the height of the snapshot it started from.
fn open_file(path: &Path, read_only: bool) -> (f64, Option<u64>, u64) {
    let started = Instant::now();
    let options = OpenOptions { read_only, ..OpenOptions::default() };
    let ledger = Ledger::open_file(path, Box::new(SystemClock), options).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    (seconds, ledger.opened_from_snapshot(), ledger.tree().size())
}

/// Seconds to open `path` by replaying every block.
fn replay(path: &Path) -> f64 {
    let started = Instant::now();
    let store = FileStore::open(path, OpenOptions { read_only: true, strict: false }).unwrap();
    let ledger = Ledger::open(store, Box::new(SystemClock)).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(ledger.opened_from_snapshot(), None);
    seconds
}

fn main() {
    let path = match std::env::var_os("HEALTHCHAIN_BENCH_LEDGER") {
        Some(path) => PathBuf::from(path),
        None => {
            let transactions = std::env::var("HEALTHCHAIN_BENCH_TXS").ok().and_then(|v| v.parse().ok());
            let started = Instant::now();
            let path = generated(transactions.unwrap_or(200_000));
            println!("generated {} in {:.1} s", path.display(), started.elapsed().as_secs_f64());
            path
        }
    };
    let (first, from, size) = open_file(&path, false);
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "ledger: {size} transactions, {:.1} MB; first writer open {first:.2} s (from snapshot {from:?})",
        bytes as f64 / 1e6
    );
    let (mut writer, mut reader, mut full) = (Vec::new(), Vec::new(), Vec::new());
    let mut height = None;
    for _ in 0..RUNS {
        let (seconds, from, _) = open_file(&path, false);
        writer.push(seconds);
        height = from;
        reader.push(open_file(&path, true).0);
        full.push(replay(&path));
    }
    let (writer, reader, full) = (median(writer), median(reader), median(full));
    println!("open, median of {RUNS} interleaved runs (snapshot of block {height:?}):");
    println!("  writer  {:>9.1} ms   {:.0}x faster than replay", writer * 1e3, full / writer);
    println!("  reader  {:>9.1} ms   {:.0}x faster than replay", reader * 1e3, full / reader);
    println!("  replay  {:>9.1} ms   (every block from genesis)", full * 1e3);
    let met = |seconds: f64| if seconds <= 1.0 { "met" } else { "NOT met" };
    println!("  target (writer open <= 1 s): {}", met(writer));

    let mut ledger = Ledger::open_file(&path, Box::new(SystemClock), OpenOptions::default()).unwrap();
    let write: Vec<f64> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            ledger.write_snapshot().unwrap();
            started.elapsed().as_secs_f64()
        })
        .collect();
    drop(ledger);
    let bytes =
        std::fs::read_dir(snapshots_dir(&path)).unwrap().filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len());
    println!(
        "write_snapshot: median {:.1} ms ({:.1} MB per snapshot file)",
        median(write) * 1e3,
        bytes.max().unwrap_or(0) as f64 / 1e6
    );

    let (copy, tail) = with_longest_tail(&path);
    let (mut writer, mut reader) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let (seconds, from, _) = open_file(&copy, false);
        assert!(from.is_some());
        writer.push(seconds);
        reader.push(open_file(&copy, true).0);
    }
    let (writer, reader) = (median(writer), median(reader));
    println!("open with a tail of {tail} transactions after the newest snapshot, median of {RUNS}:");
    println!("  writer  {:>9.1} ms", writer * 1e3);
    println!("  reader  {:>9.1} ms", reader * 1e3);
    println!("  target (writer open <= 1 s): {}", met(writer));
    std::fs::remove_dir_all(copy.parent().unwrap()).unwrap();
}

/// A copy of the ledger file at `path` whose newest snapshot lies as far before its end as a writer leaves
/// it: the copy is cut back to the last block at least `DEFAULT_SNAPSHOT_INTERVAL - 1,000` transactions
/// before the end, opened (a full replay, which writes a snapshot there), then given back its last blocks.
/// Gives the copy's path and the number of transactions after its snapshot.
fn with_longest_tail(path: &Path) -> (PathBuf, u64) {
    let dir = std::env::temp_dir().join(format!("healthchain-bench-open-tail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("tail.ledger");
    let store = FileStore::open(path, OpenOptions { read_only: true, strict: false }).unwrap();
    let size = |height: u64| Block::from_bytes(&store.read(height).unwrap()).unwrap().header.tree_size;
    let total = size(store.len() - 1);
    // The last block leaving fewer transactions than the interval after it (a writer snapshots when reached).
    let mut height = store.len() - 1;
    while height > 1 && total - size(height - 1) < DEFAULT_SNAPSHOT_INTERVAL {
        height -= 1;
    }
    let cut = store.location(height + 1).unwrap();
    let tail = total - size(height);
    drop(store);
    std::fs::copy(path, &copy).unwrap();
    std::fs::OpenOptions::new().write(true).open(&copy).unwrap().set_len(cut).unwrap();
    let started = Instant::now();
    let mut ledger = Ledger::open_file(&copy, Box::new(SystemClock), OpenOptions::default()).unwrap();
    ledger.write_snapshot().unwrap();
    drop(ledger);
    println!(
        "tail copy: cut after block {height}, replayed and snapshotted in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    use std::io::{Seek as _, SeekFrom};
    let mut end = std::fs::File::open(path).unwrap();
    end.seek(SeekFrom::Start(cut)).unwrap();
    std::io::copy(&mut end, &mut std::fs::OpenOptions::new().append(true).open(&copy).unwrap()).unwrap();
    (copy, tail)
}
