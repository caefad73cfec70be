//! The workload's keys and determinism.

use super::*;
use crate::store::MemoryStore;

#[test]
fn derived_keys_depend_on_seed_kind_and_index_only() {
    let a = derive_key(1, "patient", 0).public_key();
    assert_eq!(a, derive_key(1, "patient", 0).public_key());
    assert_ne!(a, derive_key(2, "patient", 0).public_key());
    assert_ne!(a, derive_key(1, "provider", 0).public_key());
    assert_ne!(a, derive_key(1, "patient", 1).public_key());
}

fn written(spec: &Spec) -> (Vec<Vec<u8>>, Generated) {
    let clock = spec.clock();
    let mut ledger =
        Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &spec.settings(), &[&spec.authority()])
            .unwrap_or_else(|e| panic!("create: {e}"));
    let mut told = 0;
    let generated = generate(&mut ledger, &clock, spec, &mut |n| told = n).unwrap_or_else(|e| panic!("generate: {e}"));
    assert_eq!(told, ledger.tree().size(), "progress is told every transaction written");
    (ledger.store().blocks().to_vec(), generated)
}

#[test]
fn a_spec_names_one_ledger_byte_for_byte_and_its_tally_counts_it() {
    let spec = Spec { patients: 30, transactions: 1_500, seed: 3, block_size: 64, max_consents: None };
    let (blocks, generated) = written(&spec);
    assert_eq!(written(&spec).0, blocks);
    assert_ne!(written(&Spec { seed: 4, ..spec }).0, blocks);
    let total: u64 = generated.tally.by_kind.values().sum();
    assert!(total >= spec.transactions, "{total} transactions written for a target of {}", spec.transactions);
    assert_eq!(generated.actors.get(&Role::Patient), Some(&30));
    assert_eq!(generated.actors.get(&Role::Authority), Some(&1));
    // The workload exercises the consent flow, not registrations alone.
    for kind in ["grant-consent", "record-access", "revoke-consent"] {
        assert!(generated.tally.by_kind.get(kind).is_some_and(|n| *n > 0), "no {kind} in {:?}", generated.tally);
    }
    assert!(!generated.sample_patients.is_empty());
    assert_eq!(blocks.len(), 1 + (total as usize - 1).div_ceil(64));
}

#[test]
fn a_consent_limit_settles_the_rules_and_the_rest_are_accesses() {
    let spec = Spec { patients: 20, transactions: 2_000, seed: 5, block_size: 100, max_consents: Some(40) };
    let tally = written(&spec).1.tally;
    assert_eq!(tally.permits_to_actors + tally.permits_to_roles + tally.denies, 40, "{tally:?}");
    let unlimited = written(&Spec { max_consents: None, ..spec }).1.tally;
    assert!(unlimited.permits_to_actors + unlimited.permits_to_roles + unlimited.denies > 40, "{unlimited:?}");
    let accesses = |t: &Tally| t.by_kind.get("record-access").copied().unwrap_or(0);
    assert!(accesses(&tally) > accesses(&unlimited), "{tally:?}");
}

#[test]
fn an_empty_spec_is_refused() {
    let spec = Spec { patients: 0, transactions: 10, seed: 1, block_size: 10, max_consents: None };
    let clock = spec.clock();
    let mut ledger =
        Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &spec.settings(), &[&spec.authority()])
            .unwrap_or_else(|e| panic!("create: {e}"));
    assert!(matches!(generate(&mut ledger, &clock, &spec, &mut |_| {}), Err(LedgerError::InvalidSettings(_))));
    let spec = Spec { patients: 1, block_size: 0, ..spec };
    assert!(matches!(generate(&mut ledger, &clock, &spec, &mut |_| {}), Err(LedgerError::InvalidSettings(_))));
}
