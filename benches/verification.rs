//! Full verification against the signature bound of this machine's cores, measured in the same run.
//!
//! The ledger: `HEALTHCHAIN_BENCH_TXS` transactions (default 50,000), in the proportions of issue 11's
//! hospital (10,000 patients in 1M transactions): one patient per 100 transactions, who grants labs to one
//! of the doctors (one per 20 patients), then accesses recorded by those doctors (one signature per
//! transaction, as in an EHR's audit trail), blocks of 500 transactions. The bound: the same transactions' signatures alone,
//! checked on all cores (`available_parallelism` threads, each a share of the batches):
//! - `bound/batch`: with the ledger's rule as a batch (`keys::verify_batch`, batches of 256), what full
//!   verification uses; the target of issue 11 is full verification ≥ 0.85 of it;
//! - `bound/dalek_batch`: ed25519-dalek's own batch (cofactorless, so not the ledger's rule): the crate's;
//! - `bound/single`: the ledger's rule one signature at a time (`PublicKey::verify`).
//!
//! After criterion's groups, one line per measurement gives the median of 5 interleaved timed runs, in
//! signatures per second, and the ratio of full verification to each bound.
//!
//! For ledgers too large to generate here (issue 11's 10M transactions), `HEALTHCHAIN_BENCH_LEDGER` names a
//! ledger file (e.g. one of `healthchain generate`) whose blocks are the fixture instead, read into memory;
//! `HEALTHCHAIN_BENCH_ROUNDS` sets the number of interleaved runs (default 5) and `HEALTHCHAIN_BENCH_SINGLE=0`
//! leaves out `bound/single`, the slowest. A criterion filter that matches nothing (e.g. `-- interleaved`)
//! skips criterion's groups, whose ten samples per measurement take hours at 10M.

use criterion::{Criterion, Throughput};
mod common;

use common::{T0, key, labs_permit, read_labs};
use healthchain::block::Block;
use healthchain::codec::Decode;
use healthchain::keys::{SignedMessage, verify_batch};
use healthchain::tx::signing_message;
use healthchain::*;
use std::collections::HashMap;
use std::time::Instant;

/// Transactions per patient, and patients per doctor.
const TXS_PER_PATIENT: usize = 100;
const PATIENTS_PER_DOCTOR: usize = 20;
const PER_BLOCK: usize = 500;
const BATCH: usize = 256;

/// A transaction's signer key, signing message and signature.
type Signed = (PublicKey, Vec<u8>, Signature);

/// A check of one batch of signatures: whether all hold.
type BatchCheck = dyn Fn(&[Signed]) -> bool + Sync;

/// One measured pass over the fixture, by name.
type Run<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// The ledger's blocks and every transaction's signature.
struct Fixture {
    blocks: Vec<Vec<u8>>,
    signatures: Vec<Signed>,
}

fn fixture(transactions: usize) -> Fixture {
    let clock = ManualClock::new(T0);
    let hospital = key(0);
    let settings = LedgerSettings::new("bench-verification");
    let mut ledger = Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &settings, &[&hospital]).unwrap();
    let seal = |ledger: &mut Ledger<MemoryStore>, force: bool| {
        if ledger.pending().len() >= PER_BLOCK || (force && !ledger.pending().is_empty()) {
            ledger.seal(&[&hospital]).unwrap();
        }
    };
    let mut keys = HashMap::new();
    let mut doctors = Vec::new();
    let patient_count = (transactions / TXS_PER_PATIENT).max(1) as u32;
    for d in 0..(patient_count as usize / PATIENTS_PER_DOCTOR).max(1) as u32 {
        let k = key(1 + d);
        let id = ledger.register(&hospital, &k, Role::Provider).unwrap();
        keys.insert(id, k.public_key());
        doctors.push((k, id));
        seal(&mut ledger, false);
    }
    let mut patients = Vec::new();
    for p in 0..patient_count {
        let k = key(10_000 + p);
        let id = ledger.register(&hospital, &k, Role::Patient).unwrap();
        keys.insert(id, k.public_key());
        let doctor = doctors[p as usize % doctors.len()].1;
        ledger.grant_consent(&k, labs_permit(id, doctor)).unwrap();
        patients.push((id, p as usize % doctors.len()));
        seal(&mut ledger, false);
    }
    keys.insert(ActorId::from_key(&hospital.public_key()), hospital.public_key());
    let mut i = 0;
    while (ledger.tree().size() as usize + ledger.pending().len()) < transactions {
        clock.advance(1);
        let (patient, d) = patients[i % patients.len()];
        let (doctor_key, doctor) = &doctors[d];
        // The ledger's time, not the clock's: sealing many blocks moves it past a clock that did not advance.
        let request = read_labs(patient, *doctor, ledger.now());
        let basis = ledger.check(&request).unwrap().access_basis().unwrap();
        ledger.record_access(doctor_key, RecordAccess::for_request(&request, basis)).unwrap();
        seal(&mut ledger, false);
        i += 1;
    }
    seal(&mut ledger, true);
    let blocks = ledger.store().blocks().to_vec();
    let signatures = blocks
        .iter()
        .flat_map(|bytes| Block::from_bytes(bytes).unwrap().txs)
        .map(|tx| (keys[&tx.body.signer], signing_message(&tx.id()), tx.signature))
        .collect();
    Fixture { blocks, signatures }
}

/// The blocks of the ledger file at `path`, each transaction with the key its signer held when it came.
fn fixture_from_file(path: &std::path::Path) -> Fixture {
    let blocks = common::blocks_of_file(path);
    let decoded = blocks.iter().map(|bytes| Block::from_bytes(bytes).unwrap());
    let mut signatures = Vec::new();
    common::with_signing_keys(decoded, |tx, key| signatures.push((key, signing_message(&tx.id()), tx.signature)));
    Fixture { blocks, signatures }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `check` on every batch of `BATCH` signatures, the batches shared among all cores.
fn on_all_cores(signatures: &[Signed], check: &BatchCheck) {
    let batches: Vec<_> = signatures.chunks(BATCH).collect();
    let per_core = batches.len().div_ceil(cores());
    std::thread::scope(|scope| {
        for share in batches.chunks(per_core.max(1)) {
            scope.spawn(move || assert!(share.iter().all(|batch| check(batch))));
        }
    });
}

fn ours_batch(batch: &[Signed]) -> bool {
    let items: Vec<SignedMessage<'_>> =
        batch.iter().map(|(key, message, signature)| SignedMessage { key, message, signature }).collect();
    verify_batch(&items)
}

fn dalek_batch(batch: &[Signed]) -> bool {
    let messages: Vec<&[u8]> = batch.iter().map(|(_, m, _)| m.as_slice()).collect();
    let signatures: Vec<ed25519_dalek::Signature> =
        batch.iter().map(|(_, _, s)| ed25519_dalek::Signature::from_bytes(&s.0)).collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> =
        batch.iter().map(|(k, _, _)| ed25519_dalek::VerifyingKey::from_bytes(&k.to_bytes()).unwrap()).collect();
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}

fn single(batch: &[Signed]) -> bool {
    batch.iter().all(|(key, message, signature)| key.verify(message, signature))
}

/// The measurements, by name: each one full pass over the fixture.
fn runs(f: &Fixture, with_single: bool) -> Vec<Run<'_>> {
    let mut runs: Vec<Run<'_>> = vec![
        ("verify_blocks (full verification)", Box::new(|| assert!(verify_blocks(&f.blocks).is_valid()))),
        ("bound/batch (the ledger's rule)", Box::new(|| on_all_cores(&f.signatures, &ours_batch))),
        ("bound/dalek_batch (cofactorless)", Box::new(|| on_all_cores(&f.signatures, &dalek_batch))),
    ];
    if with_single {
        runs.push(("bound/single (the ledger's rule)", Box::new(|| on_all_cores(&f.signatures, &single))));
    }
    runs
}

fn main() {
    let setting = |name: &str| std::env::var(name).ok().and_then(|n| n.parse::<usize>().ok());
    let started = Instant::now();
    let f = match std::env::var_os("HEALTHCHAIN_BENCH_LEDGER") {
        Some(path) => fixture_from_file(std::path::Path::new(&path)),
        None => fixture(setting("HEALTHCHAIN_BENCH_TXS").unwrap_or(50_000)),
    };
    let n = f.signatures.len();
    println!(
        "fixture: {n} transactions in {} blocks, prepared in {:.1} s",
        f.blocks.len(),
        started.elapsed().as_secs_f64()
    );
    let rounds = setting("HEALTHCHAIN_BENCH_ROUNDS").unwrap_or(5).max(1);
    let mut criterion = Criterion::default().configure_from_args().sample_size(10);
    let mut group = criterion.benchmark_group(format!("verification_{n}_txs"));
    group.throughput(Throughput::Elements(n as u64));
    let runs = runs(&f, setting("HEALTHCHAIN_BENCH_SINGLE") != Some(0));
    for (name, run) in &runs {
        group.bench_function(name.split(' ').next().unwrap_or(name), |b| b.iter(run));
    }
    group.finish();

    // Interleaved timed runs, so that the ratios compare the same moments of a shared host.
    let mut seconds: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    for _ in 0..rounds {
        for ((_, run), times) in runs.iter().zip(&mut seconds) {
            let start = Instant::now();
            run();
            times.push(start.elapsed().as_secs_f64());
        }
    }
    let median = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let medians: Vec<f64> = seconds.iter_mut().map(median).collect();
    println!("\n{n} transactions on {} cores: median of {rounds} interleaved runs", cores());
    for ((name, _), s) in runs.iter().zip(&medians) {
        let ratio = medians[0].recip() / s.recip();
        println!("  {name:<36} {:>9.0} signatures/s   full verification / this = {ratio:.2}", n as f64 / s);
    }
}
