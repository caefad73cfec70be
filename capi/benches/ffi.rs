//! Criterion benchmarks of the C ABI, called from Rust exactly as C calls it: a consent question through
//! `hc_ledger_check` (compare with `check/permit_by_consent` in benches/ledger.rs for the boundary's cost),
//! and 100 recorded accesses then a seal through `hc_ledger_record_access` and `hc_ledger_seal`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use healthchain_capi::*;
use std::ptr;

const T0: u64 = 1_795_424_400_000;

fn ok(status: i32) {
    assert_eq!(status, HC_OK, "status {status}");
}

struct Fixture {
    ledger: *mut hc_ledger,
    keys: Vec<*mut hc_key>,
    patient: hc_actor_id,
    doctor: hc_actor_id,
}

impl Fixture {
    /// A memory ledger where a patient grants a doctor labs for TREAT; keys are [hospital, patient, doctor].
    fn new() -> Self {
        // SAFETY: every pointer passed is valid for the call; handles are freed in Drop.
        unsafe {
            let mut keys = vec![ptr::null_mut(); 3];
            for key in &mut keys {
                ok(hc_key_generate(key));
            }
            let name = c"bench-ffi";
            let settings = hc_settings {
                name: name.as_ptr(),
                seal_threshold: 1,
                break_glass_allowed: 1,
                max_clock_skew_ms: HC_DEFAULT_CLOCK_SKEW_MS,
            };
            let authorities = [keys[0].cast_const()];
            let mut ledger = ptr::null_mut();
            ok(hc_ledger_create_memory(&settings, authorities.as_ptr(), 1, T0, &mut ledger));
            let (mut patient, mut doctor) = (hc_actor_id::default(), hc_actor_id::default());
            ok(hc_ledger_register(ledger, keys[0], keys[1], HC_ROLE_PATIENT, &mut patient));
            ok(hc_ledger_register(ledger, keys[0], keys[2], HC_ROLE_PROVIDER, &mut doctor));
            let sections = [c"labs".as_ptr()];
            let purposes = [c"TREAT".as_ptr()];
            let grant = hc_consent_grant {
                patient,
                grantee_kind: HC_GRANTEE_ACTOR,
                grantee: doctor,
                grantee_role: 0,
                effect: HC_EFFECT_PERMIT,
                sections: sections.as_ptr(),
                section_count: 1,
                purposes: purposes.as_ptr(),
                purpose_count: 1,
                actions: HC_ACTION_READ,
                not_before: T0,
                not_after: HC_UNTIL_REVOKED,
            };
            let mut granted = hc_granted::default();
            ok(hc_ledger_grant_consent(ledger, keys[1], &grant, &mut granted));
            let mut block = hc_block_info::default();
            ok(hc_ledger_seal(ledger, authorities.as_ptr(), 1, &mut block));
            Fixture { ledger, keys, patient, doctor }
        }
    }

    fn request(&self, at: u64) -> hc_request {
        hc_request {
            patient: self.patient,
            requester: self.doctor,
            section: c"labs".as_ptr(),
            purpose: c"TREAT".as_ptr(),
            action: HC_ACTION_READ,
            at,
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // SAFETY: the handles came from their constructors and are freed once.
        unsafe {
            hc_ledger_close(self.ledger);
            for key in &self.keys {
                hc_key_free(*key);
            }
        }
    }
}

fn check(c: &mut Criterion) {
    let f = Fixture::new();
    let request = f.request(T0);
    let mut decision = hc_decision::default();
    c.bench_function("ffi/hc_ledger_check", |b| {
        // SAFETY: valid pointers for the call.
        b.iter(|| ok(unsafe { hc_ledger_check(f.ledger, &request, &mut decision) }))
    });
    assert_eq!(decision.outcome, HC_OUTCOME_PERMIT);
}

fn record_and_seal(c: &mut Criterion) {
    let mut group = c.benchmark_group("ffi");
    group.throughput(Throughput::Elements(100));
    group.sample_size(10);
    group.bench_function("record_access_x100_then_seal", |b| {
        b.iter_batched(
            Fixture::new,
            |f| {
                // SAFETY: valid pointers for each call.
                unsafe {
                    let mut access = hc_access_id::default();
                    for i in 1..=100 {
                        ok(hc_ledger_set_time(f.ledger, T0 + i));
                        ok(hc_ledger_record_access(f.ledger, f.keys[2], &f.request(T0 + i), &mut access));
                    }
                    let authorities = [f.keys[0].cast_const()];
                    let mut block = hc_block_info::default();
                    ok(hc_ledger_seal(f.ledger, authorities.as_ptr(), 1, &mut block));
                    assert_eq!(block.tx_count, 100);
                }
                f
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, check, record_and_seal);
criterion_main!(benches);
