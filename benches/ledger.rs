//! Criterion benchmarks of the validator: full verification, consent checks and submission.
//! Figures and the machine they were measured on are in docs/PERFORMANCE.md.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
mod common;

use common::{T0, key, labs_permit, read_labs};
use healthchain::*;

struct Fixture {
    clock: ManualClock,
    ledger: Ledger<MemoryStore>,
    hospital: SigningKey,
    patients: Vec<(SigningKey, ActorId)>,
    doctor_key: SigningKey,
    doctor: ActorId,
}

/// A ledger with `patients` patients who each grant the doctor labs for TREAT, then `accesses` recorded
/// accesses, sealed in blocks of `per_block` transactions.
fn fixture(patients: u32, accesses: u32, per_block: usize) -> Fixture {
    let clock = ManualClock::new(T0);
    let hospital = key(0);
    let mut ledger =
        Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &LedgerSettings::new("bench"), &[&hospital])
            .unwrap();
    let doctor_key = key(1);
    let doctor = ledger.register(&hospital, &doctor_key, Role::Provider).unwrap();
    let seal = |ledger: &mut Ledger<MemoryStore>, force: bool| {
        if ledger.pending().len() >= per_block || (force && !ledger.pending().is_empty()) {
            ledger.seal(&[&hospital]).unwrap();
        }
    };
    let mut list = Vec::new();
    for p in 0..patients {
        let k = key(1000 + p);
        let id = ledger.register(&hospital, &k, Role::Patient).unwrap();
        list.push((k, id));
        seal(&mut ledger, false);
    }
    seal(&mut ledger, true);
    for (k, id) in &list {
        ledger.grant_consent(k, labs_permit(*id, doctor)).unwrap();
        seal(&mut ledger, false);
    }
    seal(&mut ledger, true);
    for i in 0..accesses {
        clock.advance(1);
        let (_, patient) = &list[i as usize % list.len()];
        let request = read_labs(*patient, doctor, clock.now_ms());
        let basis = ledger.check(&request).unwrap().access_basis().unwrap();
        ledger.record_access(&doctor_key, RecordAccess::for_request(&request, basis)).unwrap();
        seal(&mut ledger, false);
    }
    seal(&mut ledger, true);
    let hospital = key(0);
    Fixture { clock, ledger, hospital, patients: list, doctor_key, doctor }
}

fn verification(c: &mut Criterion) {
    let f = fixture(1_000, 8_000, 500);
    let blocks = f.ledger.store().blocks().to_vec();
    let txs = f.ledger.tree().size();
    let mut group = c.benchmark_group("verify");
    group.sample_size(10);
    group.throughput(Throughput::Elements(txs));
    group.bench_function(format!("full_{txs}_txs"), |b| {
        b.iter(|| {
            let report = verify_blocks(&blocks);
            assert!(report.is_valid());
        })
    });
    group.finish();
}

fn checks(c: &mut Criterion) {
    let f = fixture(100, 0, 500);
    let (_, patient) = &f.patients[7];
    let request = read_labs(*patient, f.doctor, f.clock.now_ms());
    c.bench_function("check/permit_by_consent", |b| b.iter(|| f.ledger.check(&request).unwrap()));
    let as_of = f.ledger.block_count() - 1;
    c.bench_function("check/as_of_height", |b| b.iter(|| f.ledger.check_as_of(as_of, &request).unwrap()));
}

fn submission(c: &mut Criterion) {
    let mut group = c.benchmark_group("submit");
    group.throughput(Throughput::Elements(100));
    group.sample_size(10);
    group.bench_function("record_access_x100_then_seal", |b| {
        b.iter_batched(
            || fixture(10, 0, 500),
            |mut f| {
                for i in 0..100u64 {
                    f.clock.advance(1);
                    let (_, patient) = &f.patients[(i % 10) as usize];
                    let request = read_labs(*patient, f.doctor, f.clock.now_ms());
                    let basis = f.ledger.check(&request).unwrap().access_basis().unwrap();
                    f.ledger.record_access(&f.doctor_key, RecordAccess::for_request(&request, basis)).unwrap();
                }
                f.ledger.seal(&[&f.hospital]).unwrap();
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, verification, checks, submission);
criterion_main!(benches);
