//! Opening and verifying a 1,000,000-transaction ledger file (issue 3). The ledger is generated once into
//! `target/bench-ledgers/` (about three minutes) and reused by later runs.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
mod common;

use common::{T0, key, labs_permit, read_labs};
use healthchain::*;
use std::path::{Path, PathBuf};

const PATIENTS: u32 = 10_000;
const TRANSACTIONS: u64 = 1_000_000;
const PER_BLOCK: usize = 1_000;

/// Registrations, one grant per patient, then recorded accesses up to `TRANSACTIONS`, sealed per 1,000.
fn generate(path: &Path) {
    let clock = ManualClock::new(T0);
    let hospital = key(0);
    let mut ledger =
        Ledger::create_file(path, Box::new(clock.clone()), &LedgerSettings::new("bench-1m"), &[&hospital]).unwrap();
    let seal = |ledger: &mut Ledger<FileStore>| {
        if ledger.pending().len() >= PER_BLOCK {
            ledger.seal(&[&hospital]).unwrap();
        }
    };
    let doctor_key = key(1);
    let doctor = ledger.register(&hospital, &doctor_key, Role::Provider).unwrap();
    let mut patients = Vec::new();
    for p in 0..PATIENTS {
        let k = key(100 + p);
        patients.push((ledger.register(&hospital, &k, Role::Patient).unwrap(), k));
        seal(&mut ledger);
    }
    for (patient, k) in &patients {
        ledger.grant_consent(k, labs_permit(*patient, doctor)).unwrap();
        seal(&mut ledger);
    }
    let mut i = 0usize;
    while ledger.tree().size() + (ledger.pending().len() as u64) < TRANSACTIONS {
        clock.advance(1);
        let (patient, _) = &patients[i % patients.len()];
        let request = read_labs(*patient, doctor, clock.now_ms());
        let basis = ledger.check(&request).unwrap().access_basis().unwrap();
        ledger.record_access(&doctor_key, RecordAccess::for_request(&request, basis)).unwrap();
        seal(&mut ledger);
        i += 1;
    }
    ledger.seal(&[&hospital]).unwrap();
}

fn ledger_file() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-ledgers");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("1m.ledger");
    if !path.exists() {
        let partial = dir.join("1m.ledger.partial");
        let _ = std::fs::remove_file(&partial);
        generate(&partial);
        std::fs::rename(&partial, &path).unwrap();
    }
    path
}

fn open_and_verify(c: &mut Criterion) {
    let path = ledger_file();
    let read_only = OpenOptions { read_only: true, strict: false };
    let mut group = c.benchmark_group("file_1m");
    group.sample_size(10);
    group.throughput(Throughput::Elements(TRANSACTIONS));
    group.bench_function("open_fast", |b| {
        b.iter(|| {
            let ledger = Ledger::open(FileStore::open(&path, read_only).unwrap(), Box::new(SystemClock)).unwrap();
            assert_eq!(ledger.tree().size(), TRANSACTIONS);
        })
    });
    group.bench_function("verify_full", |b| {
        b.iter(|| {
            let store = FileStore::open(&path, read_only).unwrap();
            let report = verify_blocks((0..store.len()).map(|h| store.read(h)));
            assert!(report.is_valid() && report.transactions == TRANSACTIONS);
        })
    });
    group.finish();
}

criterion_group!(benches, open_and_verify);
criterion_main!(benches);
