//! Durable append (issue 11, item 5): pre-signed transactions appended to a ledger file, against SQLite doing
//! the same work, measured in the same run.
//!
//! Run it with `cargo bench --bench append` (`HEALTHCHAIN_BENCH_TXS`, default 50,000, sets the workload's
//! size; the files go to the system's temporary directory, whose file system decides what an fsync costs).
//! `HEALTHCHAIN_BENCH_SNAPSHOT_INTERVAL` sets our ledgers' automatic snapshot interval (0: none; default the
//! ledger's), to see what automatic snapshots cost. `HEALTHCHAIN_BENCH_PATIENTS` sets the workload's patients
//! (default one per 50 transactions), `HEALTHCHAIN_BENCH_ONE_BY_ONE=0` skips `ours/one_by_one`.
//! `HEALTHCHAIN_BENCH_ROUNDS` sets the number of interleaved runs (default 3).
//!
//! For workloads too large to generate in memory (issue 11's 10M transactions), `HEALTHCHAIN_BENCH_LEDGER`
//! names a ledger file written by `healthchain generate … --seed 1 --block-size 1000` whose blocks are the
//! workload instead (`HEALTHCHAIN_BENCH_TXS` and `HEALTHCHAIN_BENCH_PATIENTS` are then ignored).
//!
//! # Fixture
//! A synthetic workload (`healthchain::workload`, 1 patient per 50 transactions, seed 1, blocks of 1,000)
//! is generated once in memory (or read from a file, above); its transactions, already signed, are then
//! appended again to new files.
//!
//! # What is measured (each the median of the interleaved runs)
//! - `ours/batch`: a new ledger file; for each block of the workload, `Ledger::submit_batch` of its
//!   transactions (signatures checked together on every core, then the rules in order), then `seal` (the
//!   block appended and fsynced). The blocks are byte for byte the workload's.
//! - `ours/one_by_one`: the same with `Ledger::submit` one transaction at a time.
//! - `sqlite`: SQLite (bundled, WAL, `synchronous=FULL`) in a new file, one SQL transaction per 1,000 rows;
//!   each row is one transaction: its signature checked with ed25519-dalek's `verify_strict`, then
//!   inserted with its hash chained to the previous row's (`SHA-256(previous hash ‖ bytes)`).
//!
//! Then the latency of one durable transaction at blocks of 1 (median and 90th percentile over 300): our
//! `submit` then `seal`, against SQLite's verify, insert and commit of one row.
//!
//! Targets: `ours/batch` ≥ 2.5× `sqlite`; our per-block latency at blocks of 1 no worse than SQLite's
//! per-commit latency.

mod common;

use common::key;
use ed25519_dalek::{Signature as DalekSignature, VerifyingKey};
use healthchain::codec::Decode;
use healthchain::hash::sha256;
use healthchain::workload::{self, Spec};
use healthchain::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const BLOCK: u64 = 1_000;
const LATENCY_TXS: usize = 300;

/// A transaction as SQLite's side gets it: its bytes, the message signed and the signer's key.
struct Row {
    bytes: Vec<u8>,
    message: Vec<u8>,
    signature: [u8; 64],
    key: [u8; 32],
}

impl Row {
    fn of(tx: &SignedTx, key: &PublicKey) -> Row {
        Row {
            bytes: tx.to_bytes(),
            message: tx::signing_message(&tx.id()),
            signature: tx.signature.0,
            key: key.to_bytes(),
        }
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("healthchain-bench-append-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{name}{suffix}")));
    }
    path
}

/// The workload's blocks after genesis, decoded, and the rows for SQLite.
fn fixture(spec: &Spec) -> (Vec<Block>, Vec<Row>) {
    let clock = spec.clock();
    let mut ledger =
        Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &spec.settings(), &[&spec.authority()]).unwrap();
    workload::generate(&mut ledger, &clock, spec, &mut |_| {}).unwrap();
    let blocks: Vec<Block> = ledger.store().blocks()[1..].iter().map(|b| Block::from_bytes(b).unwrap()).collect();
    // The key each transaction is signed with, as the state stands when it comes.
    let clock = spec.clock();
    let mut replay =
        Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &spec.settings(), &[&spec.authority()]).unwrap();
    let mut rows = Vec::new();
    for block in &blocks {
        clock.set(block.header.timestamp);
        for tx in &block.txs {
            rows.push(Row::of(tx, &replay.state().signing_key(tx).unwrap()));
            replay.submit(tx.clone()).unwrap();
        }
        replay.seal(&[&spec.authority()]).unwrap();
    }
    assert_eq!(replay.store().blocks(), ledger.store().blocks(), "the fixture replays byte for byte");
    (blocks, rows)
}

/// The blocks after genesis of the ledger file at `path` and the rows for SQLite. The file must have been
/// generated with `spec`'s seed: its genesis block is the one our ledgers start with.
fn fixture_from_file(spec: &Spec, path: &std::path::Path) -> (Vec<Block>, Vec<Row>) {
    let encoded = common::blocks_of_file(path);
    let fresh = Ledger::create(MemoryStore::new(), Box::new(spec.clock()), &spec.settings(), &[&spec.authority()]);
    assert_eq!(fresh.unwrap().store().blocks()[..1], encoded[..1], "a file of `generate --seed {}`", spec.seed);
    let mut blocks: Vec<Block> = encoded.into_iter().map(|bytes| Block::from_bytes(&bytes).unwrap()).collect();
    let mut rows = Vec::new();
    common::with_signing_keys(&blocks, |tx, key| {
        if !matches!(tx.body.payload, Payload::Genesis(_)) {
            rows.push(Row::of(tx, &key));
        }
    });
    blocks.remove(0);
    (blocks, rows)
}

/// Appends the workload's blocks to a new ledger file; returns the time taken.
fn ours(spec: &Spec, blocks: &[Block], batch: bool) -> Duration {
    let path = temp(if batch { "batch.ledger" } else { "one_by_one.ledger" });
    let clock = spec.clock();
    let authority = spec.authority();
    let mut ledger = Ledger::create_file(&path, Box::new(clock.clone()), &spec.settings(), &[&authority]).unwrap();
    if let Some(interval) = std::env::var("HEALTHCHAIN_BENCH_SNAPSHOT_INTERVAL").ok().and_then(|v| v.parse().ok()) {
        ledger.set_snapshot_interval(interval);
    }
    let start = Instant::now();
    for block in blocks {
        clock.set(block.header.timestamp);
        if batch {
            for result in ledger.submit_batch(block.txs.clone()) {
                result.unwrap();
            }
        } else {
            for tx in &block.txs {
                ledger.submit(tx.clone()).unwrap();
            }
        }
        ledger.seal(&[&authority]).unwrap();
    }
    let elapsed = start.elapsed();
    drop(ledger);
    std::fs::remove_file(&path).unwrap();
    elapsed
}

fn sqlite_open(name: &str) -> (rusqlite::Connection, PathBuf) {
    let path = temp(name);
    let db = rusqlite::Connection::open(&path).unwrap();
    db.pragma_update(None, "journal_mode", "WAL").unwrap();
    db.pragma_update(None, "synchronous", "FULL").unwrap();
    db.execute_batch("CREATE TABLE log (n INTEGER PRIMARY KEY, hash BLOB NOT NULL, tx BLOB NOT NULL);").unwrap();
    (db, path)
}

/// One row: its signature checked, its hash chained, inserted.
fn sqlite_row(insert: &mut rusqlite::Statement<'_>, n: usize, prev: &mut [u8; 32], row: &Row) {
    let key = VerifyingKey::from_bytes(&row.key).unwrap();
    key.verify_strict(&row.message, &DalekSignature::from_bytes(&row.signature)).unwrap();
    *prev = *sha256(&[prev.as_slice(), &row.bytes]).as_bytes();
    insert.execute(rusqlite::params![n as i64, prev.as_slice(), row.bytes]).unwrap();
}

/// SQLite's side: rows in SQL transactions of `BLOCK`; returns the time taken.
fn sqlite(rows: &[Row]) -> Duration {
    let (mut db, path) = sqlite_open("rows.sqlite");
    let start = Instant::now();
    let mut prev = [0u8; 32];
    for (chunk_at, chunk) in rows.chunks(BLOCK as usize).enumerate() {
        let sql = db.transaction().unwrap();
        {
            let mut insert = sql.prepare_cached("INSERT INTO log (n, hash, tx) VALUES (?1, ?2, ?3)").unwrap();
            for (i, row) in chunk.iter().enumerate() {
                sqlite_row(&mut insert, chunk_at * BLOCK as usize + i, &mut prev, row);
            }
        }
        sql.commit().unwrap();
    }
    let elapsed = start.elapsed();
    drop(db);
    std::fs::remove_file(&path).unwrap();
    elapsed
}

/// A ledger file with a patient who lets a doctor read labs, and `LATENCY_TXS` accesses by the doctor,
/// signed beforehand, one instant apart after the ledger's last block.
fn latency_fixture() -> (Ledger<FileStore>, ManualClock, SigningKey, Vec<SignedTx>, Vec<Row>) {
    let clock = ManualClock::new(common::T0);
    let hospital = key(0);
    let path = temp("latency.ledger");
    let mut ledger =
        Ledger::create_file(&path, Box::new(clock.clone()), &LedgerSettings::new("bench-append"), &[&hospital])
            .unwrap();
    let (patient_key, doctor_key) = (key(1), key(2));
    let patient = ledger.register(&hospital, &patient_key, Role::Patient).unwrap();
    let doctor = ledger.register(&hospital, &doctor_key, Role::Provider).unwrap();
    ledger.grant_consent(&patient_key, common::labs_permit(patient, doctor)).unwrap();
    ledger.seal(&[&hospital]).unwrap();
    let granted = ledger.check(&common::read_labs(patient, doctor, ledger.now() + 1)).unwrap();
    let basis = granted.access_basis().unwrap();
    let mut txs = Vec::new();
    let mut rows = Vec::new();
    for i in 0..LATENCY_TXS as u64 {
        let at = ledger.now() + 1 + i;
        let access = RecordAccess::for_request(&common::read_labs(patient, doctor, at), basis.clone());
        let body = TxBody {
            chain: ledger.chain(),
            signer: doctor,
            seq: 1 + i,
            time: at,
            payload: Payload::RecordAccess(access),
        };
        let tx = body.sign(&doctor_key);
        rows.push(Row::of(&tx, &doctor_key.public_key()));
        txs.push(tx);
    }
    (ledger, clock, hospital, txs, rows)
}

fn percentiles(mut nanos: Vec<f64>) -> (f64, f64) {
    nanos.sort_by(f64::total_cmp);
    (nanos[nanos.len() / 2], nanos[nanos.len() * 9 / 10])
}

/// Our latency of one durable transaction at blocks of 1, and SQLite's of one committed row.
fn latencies() -> ((f64, f64), (f64, f64)) {
    let (mut ledger, clock, hospital, txs, rows) = latency_fixture();
    let mut ours = Vec::new();
    for tx in txs {
        clock.set(tx.body.time);
        let start = Instant::now();
        ledger.submit(tx).unwrap();
        ledger.seal(&[&hospital]).unwrap();
        ours.push(start.elapsed().as_nanos() as f64);
    }
    let (db, path) = sqlite_open("latency.sqlite");
    let mut insert = db.prepare_cached("INSERT INTO log (n, hash, tx) VALUES (?1, ?2, ?3)").unwrap();
    let mut prev = [0u8; 32];
    let mut theirs = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        // Autocommit: each INSERT is its own durable SQL transaction.
        let start = Instant::now();
        sqlite_row(&mut insert, n, &mut prev, row);
        theirs.push(start.elapsed().as_nanos() as f64);
    }
    drop(insert);
    drop(db);
    std::fs::remove_file(&path).unwrap();
    (percentiles(ours), percentiles(theirs))
}

/// The median (of an even count, the mean of the middle two).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let half = values.len() / 2;
    if values.len().is_multiple_of(2) { (values[half - 1] + values[half]) / 2.0 } else { values[half] }
}

fn main() {
    let transactions = std::env::var("HEALTHCHAIN_BENCH_TXS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let patients = std::env::var("HEALTHCHAIN_BENCH_PATIENTS").ok().and_then(|v| v.parse().ok());
    let patients = patients.unwrap_or((transactions / 50).max(1));
    let one_by_one = std::env::var("HEALTHCHAIN_BENCH_ONE_BY_ONE").as_deref() != Ok("0");
    let rounds = std::env::var("HEALTHCHAIN_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
    let spec = Spec { patients, transactions, seed: 1, block_size: BLOCK, max_consents: None };
    let started = Instant::now();
    let file = std::env::var_os("HEALTHCHAIN_BENCH_LEDGER");
    let (blocks, rows) = match &file {
        Some(path) => fixture_from_file(&spec, std::path::Path::new(path)),
        None => fixture(&spec),
    };
    let source = match &file {
        Some(path) => format!("the blocks of {}", std::path::Path::new(path).display()),
        None => format!("generated, {patients} patients"),
    };
    println!(
        "workload: {} transactions after genesis in {} blocks, {source}, prepared in {:.1} s; files in {}",
        rows.len(),
        blocks.len(),
        started.elapsed().as_secs_f64(),
        std::env::temp_dir().display()
    );
    let rate = |d: &Duration| rows.len() as f64 / d.as_secs_f64();
    let (mut batch, mut single, mut lite) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        batch.push(rate(&ours(&spec, &blocks, true)));
        if one_by_one {
            single.push(rate(&ours(&spec, &blocks, false)));
        }
        lite.push(rate(&sqlite(&rows)));
    }
    let each = |rates: &[f64]| rates.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", ");
    println!("each run, tx/s: ours/batch {}; sqlite {}", each(&batch), each(&lite));
    let (batch, lite) = (median(batch), median(lite));
    println!("durable append of pre-signed transactions, blocks of {BLOCK}: median of {rounds} interleaved runs");
    println!("  ours/batch       {batch:>9.0} tx/s   {:.2}x SQLite", batch / lite);
    if one_by_one {
        let single = median(single);
        println!("  ours/one_by_one  {single:>9.0} tx/s   {:.2}x SQLite", single / lite);
    }
    println!("  sqlite           {lite:>9.0} tx/s   (WAL, synchronous=FULL, verify_strict and a hash chain per row)");
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    println!("  target (ours/batch >= 2.5x SQLite): {}", met(batch / lite >= 2.5));
    let ((ours_p50, ours_p90), (lite_p50, lite_p90)) = latencies();
    println!("latency of one durable transaction (blocks of 1), {LATENCY_TXS} in a row:");
    println!(
        "  ours (submit, seal)        median {:>7.0} µs, 90th percentile {:>7.0} µs",
        ours_p50 / 1e3,
        ours_p90 / 1e3
    );
    println!(
        "  sqlite (verify, insert)    median {:>7.0} µs, 90th percentile {:>7.0} µs",
        lite_p50 / 1e3,
        lite_p90 / 1e3
    );
    println!("  target (our median <= SQLite's): {}", met(ours_p50 <= lite_p50));
}
