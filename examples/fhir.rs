//! FHIR in and out: a patient's R5 Consent imported as the ledger's rules, more rules granted directly (a
//! write-only permit, a deny with an exception), accesses recorded on them (one of them break-glass, then
//! reviewed), the consent's rules exported again as R4 and R5 Consents, and the
//! audit trail as R4 and R5 AuditEvent bundles and NDJSON. Run with `cargo run --example fhir [DIR]`: with
//! DIR, every resource written is also saved there (`.ci/fhir-validate` validates them with an independent
//! FHIR implementation).

use healthchain::fhir::FhirVersion;
use healthchain::fhir::audit::{AuditQuery, audit_events, bundle, ndjson};
use healthchain::fhir::consent::{ImportOptions, export, import};
use healthchain::hash::commitment;
use healthchain::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Jane's consent: her doctor may see her observations for treatment, except in February 2027 (when she is in
/// another hospital's care); the insurers may read her lab results for payment, except in March 2027.
const CONSENT: &str = r#"{
  "resourceType": "Consent",
  "status": "active",
  "subject": { "reference": "Patient/jane" },
  "decision": "deny",
  "provision": [
    {
      "actor": [{ "role": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP" }] },
                  "reference": { "reference": "Practitioner/house" } }],
      "purpose": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT" }],
      "resourceType": [{ "system": "http://hl7.org/fhir/resource-types", "code": "Observation" }],
      "provision": [
        { "period": { "start": "2027-02-01", "end": "2027-02-28" } }
      ]
    },
    {
      "actor": [{ "reference": { "reference": "Group/insurers" } }],
      "purpose": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HPAYMT" }],
      "resourceType": [{ "system": "http://hl7.org/fhir/resource-types", "code": "Specimen" }],
      "provision": [
        { "period": { "start": "2027-03-01", "end": "2027-03-31" } }
      ]
    }
  ]
}"#;

fn main() {
    if let Err(error) = run() {
        eprintln!("fhir example failed: {error}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os().nth(1).map(PathBuf::from);
    // 2027-01-04 09:00 UTC.
    let clock = ManualClock::new(1_799_053_200_000);
    let hospital = SigningKey::generate()?;
    let mut ledger = Ledger::create(
        MemoryStore::new(),
        Box::new(clock.clone()),
        &LedgerSettings::new("fhir-example"),
        &[&hospital],
    )?;
    let keys: Vec<SigningKey> = (0..5).map(|_| SigningKey::generate()).collect::<Result<_, _>>()?;
    let [jane_key, house_key, nurse_key, insurer_key, officer_key] = &keys[..] else {
        return Err("five keys expected".into());
    };
    let jane = ledger.register(&hospital, jane_key, Role::Patient)?;
    let house = ledger.register(&hospital, house_key, Role::Provider)?;
    let nurse = ledger.register(&hospital, nurse_key, Role::Provider)?;
    let insurer = ledger.register(&hospital, insurer_key, Role::Insurer)?;
    ledger.register(&hospital, officer_key, Role::Auditor)?;
    ledger.seal(&[&hospital])?;

    // The EHR's names for the parties: the ledger holds none.
    let directory: BTreeMap<String, Grantee> = [
        ("Patient/jane", Grantee::Actor(jane)),
        ("Practitioner/house", Grantee::Actor(house)),
        ("Practitioner/nurse", Grantee::Actor(nurse)),
        ("Organization/acme-insurance", Grantee::Actor(insurer)),
        ("Group/insurers", Grantee::Role(Role::Insurer)),
        ("Group/providers", Grantee::Role(Role::Provider)),
        ("Group/researchers", Grantee::Role(Role::Researcher)),
    ]
    .into_iter()
    .map(|(reference, grantee)| (reference.to_owned(), grantee))
    .collect();

    let imported =
        import(&mut ledger, jane_key, CONSENT.as_bytes(), FhirVersion::R5, &directory, &ImportOptions::default())?;
    println!("imported Jane's consent as {} ledger rules:", imported.rules.len());
    for (rule, granted) in imported.rules.iter().zip(&imported.granted) {
        println!(
            "  {} {:?} {:?} on {:?} for {:?}",
            granted.consent, rule.effect, rule.grantee, rule.sections, rule.purposes
        );
    }
    // Rules granted directly (they go out in the export too): the nurse may record vitals (write only), and
    // no one may see Jane's mental-health notes, except her doctor in an emergency.
    let now = ledger.now();
    let everyone = Window { not_before: now, not_after: None };
    ledger.grant_consent(
        jane_key,
        ConsentGrant {
            patient: jane,
            grantee: Grantee::Actor(nurse),
            effect: Effect::Permit,
            sections: CodeSet::parse(["vitals"])?,
            purposes: CodeSet::parse(["TREAT"])?,
            actions: Actions::WRITE,
            window: everyone,
            exceptions: Vec::new(),
        },
    )?;
    for role in [Role::Provider, Role::Insurer, Role::Researcher] {
        ledger.grant_consent(
            jane_key,
            ConsentGrant {
                patient: jane,
                grantee: Grantee::Role(role),
                effect: Effect::Deny,
                sections: CodeSet::parse(["mental-health"])?,
                purposes: CodeSet::all(),
                actions: Actions::READ_WRITE,
                window: everyone,
                exceptions: vec![Exception {
                    grantee: Some(Grantee::Actor(house)),
                    sections: CodeSet::all(),
                    purposes: CodeSet::parse(["ETREAT", "BTG", "ERTREAT"])?,
                    actions: Actions::READ,
                    window: everyone,
                }],
            },
        )?;
    }
    ledger.seal(&[&hospital])?;

    clock.set(clock.now_ms() + 3_600_000);
    let ask = |requester, section: &str, purpose: &str, action| -> Result<CheckRequest, CodeError> {
        Ok(CheckRequest {
            patient: jane,
            requester,
            section: Code::new(section)?,
            purpose: Code::new(purpose)?,
            action,
            at: clock.now_ms(),
        })
    };
    for (who, question) in [
        ("Dr House reads labs for treatment", ask(house, "labs", "TREAT", Action::Read)?),
        ("Dr House records vitals", ask(house, "vitals", "TREAT", Action::Write)?),
        ("the nurse records vitals", ask(nurse, "vitals", "TREAT", Action::Write)?),
        ("the nurse reads vitals", ask(nurse, "vitals", "TREAT", Action::Read)?),
        ("the insurer reads labs for payment", ask(insurer, "labs", "HPAYMT", Action::Read)?),
        ("the insurer reads vitals for payment", ask(insurer, "vitals", "HPAYMT", Action::Read)?),
        ("the nurse reads medications in an emergency", ask(nurse, "medications", "ETREAT", Action::Read)?),
    ] {
        println!("{who}: {}", ledger.check(&question)?);
    }
    let read = ask(house, "labs", "TREAT", Action::Read)?;
    let basis = ledger.check(&read)?.access_basis().ok_or("Dr House should be permitted")?;
    ledger.record_access(house_key, RecordAccess::for_request(&read, basis))?;
    let emergency = ask(nurse, "medications", "ETREAT", Action::Read)?;
    let reason =
        AccessBasis::BreakGlass { reason: Code::new("unconscious")?, justification: commitment(&[7; 32], b"ER") };
    let glass = ledger.record_access(nurse_key, RecordAccess::for_request(&emergency, reason))?;
    ledger.seal(&[&hospital])?;
    clock.set(clock.now_ms() + 3_600_000);
    ledger.review_break_glass(officer_key, glass, true)?;
    ledger.seal(&[&hospital])?;

    let height = ledger.block_count() - 1;
    let mut files: Vec<(String, String)> = Vec::new();
    for (version, name) in [(FhirVersion::R4, "r4"), (FhirVersion::R5, "r5")] {
        let consent = export(&ledger.view_as_of(height)?, &jane, version, &directory)?;
        let events = audit_events(&ledger, &AuditQuery::patient(jane), version, &directory)?;
        println!("{name}: a Consent of {} bytes, {} AuditEvents", consent.len(), events.len());
        files.push((format!("{name}-consent.json"), consent));
        files.push((format!("{name}-audit-bundle.json"), serde_json::to_string_pretty(&bundle(&events))?));
        files.push((format!("{name}-audit.ndjson"), ndjson(&events)));
    }
    if let Some(dir) = out {
        std::fs::create_dir_all(&dir)?;
        for (name, text) in &files {
            std::fs::write(dir.join(name), text)?;
        }
        println!("wrote {} files to {}", files.len(), dir.display());
    }
    Ok(())
}
