//! A patient's rules exported as a FHIR Consent (`fhir::consent::export`, R4 and R5) and imported into
//! another ledger (`fhir::consent::import`) give the same decisions for every question: a property test over
//! random permits and denies (with exceptions), grantees by id and by role, sections and purposes with `*`,
//! ActReason sets closed under subsumption and sets that are not, actions, windows, revocations and an
//! erasure. The
//! exported resource also reads back with its consent ids and the ledger's chain and height, and imported
//! again in place of its own import (`fhir::consent::replace`) changes no decision. With
//! `HEALTHCHAIN_FHIR_SAMPLES=DIR`, every export is also kept for `.ci/fhir-validate`.

use healthchain::fhir::consent::{Directory, ImportOptions, export, import, replace};
use healthchain::fhir::{CONSENT_ID_SYSTEM, FhirVersion};
use healthchain::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const T0: u64 = 1_700_000_000_000;
const HOUR: u64 = 3_600_000;
const SECTIONS: [&str; 3] = ["labs", "medications", "notes"];
const PURPOSES: [&str; 6] = ["TREAT", "ETREAT", "BTG", "ERTREAT", "HPAYMT", "LOCAL-1"];
const REQUESTERS: [(u8, Role, &str); 4] = [
    (3, Role::Provider, "Practitioner/a"),
    (4, Role::Provider, "Practitioner/b"),
    (5, Role::Insurer, "Organization/payer"),
    (6, Role::Researcher, "Organization/lab"),
];

/// A ledger with the patient and the requesters registered (same keys in every ledger), at `T0`.
fn ledger(clock: &ManualClock) -> (Ledger<MemoryStore>, SigningKey, SigningKey) {
    let hospital = SigningKey::from_seed(&[1; 32]);
    let mut ledger =
        Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &LedgerSettings::new("export"), &[&hospital])
            .expect("ledger");
    let patient_key = SigningKey::from_seed(&[2; 32]);
    ledger.register(&hospital, &patient_key, Role::Patient).expect("patient");
    for (seed, role, _) in REQUESTERS {
        ledger.register(&hospital, &SigningKey::from_seed(&[seed; 32]), role).expect("requester");
    }
    ledger.seal(&[&hospital]).expect("seal");
    (ledger, hospital, patient_key)
}

fn actor(seed: u8) -> ActorId {
    ActorId::from_key(&SigningKey::from_seed(&[seed; 32]).public_key())
}

fn directory() -> BTreeMap<String, Grantee> {
    let mut map: BTreeMap<String, Grantee> =
        REQUESTERS.iter().map(|(seed, _, r)| (r.to_string(), Grantee::Actor(actor(*seed)))).collect();
    map.insert("Patient/p".into(), Grantee::Actor(actor(2)));
    map.insert("Group/providers".into(), Grantee::Role(Role::Provider));
    map.insert("Group/insurers".into(), Grantee::Role(Role::Insurer));
    map
}

/// An exception: grantee, sections, purposes, actions, window (indexes and hours as in [`Spec`]).
type ExceptionSpec = (Option<u8>, Vec<u8>, Vec<u8>, u8, (u64, Option<u64>));

#[derive(Clone, Debug)]
struct Spec {
    effect: Effect,
    grantee: u8,
    sections: Vec<u8>,
    purposes: Vec<u8>,
    actions: u8,
    window: (u64, Option<u64>),
    exceptions: Vec<ExceptionSpec>,
    revoked_after: Option<u64>,
}

fn grantee(index: u8) -> Grantee {
    match index {
        4 => Grantee::Role(Role::Provider),
        5 => Grantee::Role(Role::Insurer),
        i => Grantee::Actor(actor(REQUESTERS[usize::from(i)].0)),
    }
}

/// `*`, or a few codes; purposes also as ActReason subtrees (ETREAT with what it subsumes).
fn codes(all: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let n = all.len() as u8;
    prop_oneof![
        Just(Vec::new()),
        proptest::collection::btree_set(0..n, 1..3).prop_map(|s| s.into_iter().collect()),
        Just(if n == 6 { vec![1, 2, 3] } else { vec![0] }),
    ]
}

fn code_set(all: &[&str], picked: &[u8]) -> CodeSet {
    if picked.is_empty() {
        return CodeSet::all();
    }
    CodeSet::parse(picked.iter().map(|&i| all[usize::from(i)])).expect("codes")
}

fn actions(bits: u8) -> Actions {
    match bits {
        1 => Actions::READ,
        2 => Actions::WRITE,
        _ => Actions::READ_WRITE,
    }
}

/// Hours from `T0`.
fn window() -> impl Strategy<Value = (u64, Option<u64>)> {
    (0..3u64, proptest::option::of(1..4u64)).prop_map(|(start, len)| (start, len.map(|l| start + l)))
}

fn to_window((start, end): (u64, Option<u64>)) -> Window {
    Window { not_before: T0 + start * HOUR, not_after: end.map(|e| T0 + e * HOUR) }
}

fn spec() -> impl Strategy<Value = Spec> {
    let exception = (proptest::option::of(0..6u8), codes(&SECTIONS), codes(&PURPOSES), 1..=3u8, window());
    (
        prop_oneof![Just(Effect::Permit), Just(Effect::Deny)],
        0..6u8,
        codes(&SECTIONS),
        codes(&PURPOSES),
        1..=3u8,
        window(),
        proptest::collection::vec(exception, 0..3),
        proptest::option::of(1..5u64),
    )
        .prop_map(|(effect, grantee, sections, purposes, actions, window, exceptions, revoked_after)| Spec {
            effect,
            grantee,
            sections,
            purposes,
            actions,
            window,
            exceptions: if effect == Effect::Deny { exceptions } else { Vec::new() },
            revoked_after,
        })
}

fn grant(patient: ActorId, spec: &Spec) -> ConsentGrant {
    ConsentGrant {
        patient,
        grantee: grantee(spec.grantee),
        effect: spec.effect,
        sections: code_set(&SECTIONS, &spec.sections),
        purposes: code_set(&PURPOSES, &spec.purposes),
        actions: actions(spec.actions),
        window: to_window(spec.window),
        exceptions: spec
            .exceptions
            .iter()
            .map(|(who, sections, purposes, bits, window)| Exception {
                grantee: who.map(grantee),
                sections: code_set(&SECTIONS, sections),
                purposes: code_set(&PURPOSES, purposes),
                actions: actions(*bits),
                window: to_window(*window),
            })
            .collect(),
    }
}

fn permitted(ledger: &Ledger<MemoryStore>, question: &CheckRequest) -> bool {
    matches!(ledger.check(question).expect("answer"), Decision::Permit(PermitBasis::Consents(_)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn an_exported_consent_imports_to_the_same_decisions(
        specs in proptest::collection::vec(spec(), 0..6),
        erased_after in proptest::option::weighted(0.2, 1..6u64),
    ) {
        let clock = ManualClock::new(T0);
        let (mut source, hospital, patient_key) = ledger(&clock);
        let patient = actor(2);
        let mut granted = Vec::new();
        for spec in &specs {
            // A permit that an earlier one covers is refused ("already has access"): left out.
            if let Ok(done) = source.grant_consent(&patient_key, grant(patient, spec)) {
                granted.push((done.consent, spec.revoked_after));
            }
        }
        if !source.pending().is_empty() {
            source.seal(&[&hospital]).expect("seal");
        }
        // Revocations, hour by hour.
        for hour in 1..5 {
            clock.set(T0 + hour * HOUR + 7);
            let mut any = false;
            for (id, _) in granted.iter().filter(|(_, after)| *after == Some(hour)) {
                source.revoke_consent(&patient_key, *id).expect("revoked");
                any = true;
            }
            if any {
                source.seal(&[&hospital]).expect("seal");
            }
        }
        // An erasure ends every rule: the export ends them there too.
        if let Some(hour) = erased_after {
            clock.set(T0 + hour * HOUR + 9);
            source.erase_subject(&patient_key, patient).expect("erased");
            source.seal(&[&hospital]).expect("seal");
        }
        let height = source.block_count() - 1;
        let directory = directory();
        let mut instants: Vec<u64> = (0..7).flat_map(|h| [T0 + h * HOUR - 1, T0 + h * HOUR, T0 + h * HOUR + 7]).collect();
        instants.retain(|at| *at >= T0 + 3);
        for version in [FhirVersion::R4, FhirVersion::R5] {
            let json = export(&source.view_as_of(height).expect("view"), &patient, version, &directory).expect("export");
            let value: serde_json::Value = serde_json::from_str(&json).expect("json");
            keep_sample(version, &value);
            let identifiers: Vec<&str> = value["identifier"]
                .as_array()
                .map(|list| list.iter().filter(|i| i["system"] == CONSENT_ID_SYSTEM).filter_map(|i| i["value"].as_str()).collect())
                .unwrap_or_default();
            let expected: Vec<String> = granted.iter().map(|(id, _)| id.to_string().trim_start_matches("tx:").to_owned()).collect();
            prop_assert_eq!(identifiers, expected.iter().map(String::as_str).collect::<Vec<_>>());
            let source_text = format!("height:{height}");
            prop_assert!(value["meta"]["source"].as_str().is_some_and(|s| s.ends_with(&source_text)));

            let target_clock = ManualClock::new(T0);
            let (mut target, target_hospital, target_patient_key) = ledger(&target_clock);
            let done = import(&mut target, &target_patient_key, json.as_bytes(), version, &directory, &ImportOptions::default());
            let done = done.map_err(|e| TestCaseError::fail(format!("{version:?} import: {e}\n{json}")))?;
            if !done.rules.is_empty() {
                target.seal(&[&target_hospital]).expect("seal");
            }
            // The same Consent again, in place of its own import (an EHR re-sending an unchanged Consent):
            // every rule revoked and restated, one block, and no decision from then on changes.
            let mut replaced = ledger(&target_clock).0;
            let imported = import(&mut replaced, &target_patient_key, json.as_bytes(), version, &directory, &ImportOptions::default())
                .map_err(|e| TestCaseError::fail(format!("{version:?} import: {e}")))?;
            if !imported.rules.is_empty() {
                replaced.seal(&[&target_hospital]).expect("seal");
            }
            target_clock.set(T0 + 1);
            let ids: Vec<ConsentId> = imported.granted.iter().map(|g| g.consent).collect();
            let again = replace(&mut replaced, &target_patient_key, &ids, json.as_bytes(), version, &directory, &ImportOptions::default())
                .map_err(|e| TestCaseError::fail(format!("{version:?} replace: {e}")))?;
            prop_assert_eq!(&again.rules, &imported.rules);
            prop_assert_eq!(replaced.pending().len(), ids.len() * 2);
            if !ids.is_empty() {
                replaced.seal(&[&target_hospital]).expect("seal");
            }
            for (seed, _, _) in REQUESTERS {
                for section in SECTIONS.iter().chain(&["imaging"]) {
                    for purpose in PURPOSES.iter().chain(&["HRESCH"]) {
                        for action in [Action::Read, Action::Write] {
                            for at in &instants {
                                let question = CheckRequest {
                                    patient,
                                    requester: actor(seed),
                                    section: Code::new(section).expect("code"),
                                    purpose: Code::new(purpose).expect("code"),
                                    action,
                                    at: *at,
                                };
                                let expected = permitted(&source, &question);
                                prop_assert_eq!(
                                    permitted(&target, &question),
                                    expected,
                                    "{:?}: {:?} {} {} {:?} at T0+{}ms\n{}", version, seed, section, purpose, action, at - T0, json
                                );
                                prop_assert_eq!(
                                    permitted(&replaced, &question),
                                    expected,
                                    "replaced, {:?}: {:?} {} {} {:?} at T0+{}ms\n{}", version, seed, section, purpose, action, at - T0, json
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// With `HEALTHCHAIN_FHIR_SAMPLES` set to a directory, appends each export to `r4-consent-random.ndjson` or
/// `r5-consent-random.ndjson` there, for `.ci/fhir-validate` to check with an independent implementation.
fn keep_sample(version: FhirVersion, resource: &serde_json::Value) {
    let Some(dir) = std::env::var_os("HEALTHCHAIN_FHIR_SAMPLES") else { return };
    let name = match version {
        FhirVersion::R4 => "r4-consent-random.ndjson",
        FhirVersion::R5 => "r5-consent-random.ndjson",
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(std::path::Path::new(&dir).join(name))
        .expect("samples file");
    std::io::Write::write_all(&mut file, format!("{resource}\n").as_bytes()).expect("sample written");
}

/// The directory's reverse look-up: the least reference naming a grantee.
#[test]
fn the_directory_names_each_grantee_by_its_least_reference() {
    let mut directory = directory();
    directory.insert("Practitioner/0-alias".into(), Grantee::Actor(actor(3)));
    assert_eq!(directory.reference(&Grantee::Actor(actor(3))).as_deref(), Some("Practitioner/0-alias"));
    assert_eq!(directory.reference(&Grantee::Role(Role::Provider)).as_deref(), Some("Group/providers"));
    assert_eq!(directory.reference(&Grantee::Role(Role::Auditor)), None);
}
