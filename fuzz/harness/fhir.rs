//! Target `fhir`: FHIR Consent resources from untrusted bytes. The first byte picks the release (even: R4,
//! odd: R5) and the offset at which dates are read (the byte's value in quarter hours, signed); the rest is
//! the JSON.
//!
//! A resource read is then compiled (`fhir::consent::compile`, with a directory that resolves every
//! reference and declares some custodians the ledger's) and asked a few questions.
//!
//! Properties: no panic; reading and deciding are deterministic; an error names an element whose every name
//! is the schema's or a key of the input, never one of its values (or is a size or syntax error); a
//! resource read has provisions no deeper than `MAX_PROVISION_DEPTH`, each naming its own place, periods
//! that do not end before they start, and no empty code; a consent with a base decision and no period
//! decides every question about its patient; its ledger rules (`ConsentPolicy::ledger_rules`) are the
//! patient's, with exceptions on denies only and within the limit, non-empty windows and canonical
//! encodings.

use healthchain::fhir::consent::{
    Directory, ImportOptions, MAX_PROVISION_DEPTH, Provision, ReadOptions, compile, read,
};
use healthchain::fhir::{FhirError, FhirVersion};
use healthchain::hash::sha256;
use healthchain::tx::MAX_EXCEPTIONS;
use healthchain::{Action, ActorId, CheckRequest, Code, ConsentGrant, Decode, Effect, Encode, Grantee, Role};
use std::collections::BTreeSet;

/// Every element name the reader and `compile` may put in a path without it being a key of the input.
const SCHEMA: &[&str] = &[
    "Consent",
    "resourceType",
    "status",
    "scope",
    "patient",
    "subject",
    "policyRule",
    "decision",
    "provision",
    "type",
    "period",
    "start",
    "end",
    "actor",
    "role",
    "reference",
    "action",
    "securityLabel",
    "purpose",
    "class",
    "documentType",
    "code",
    "coding",
    "ReadOptions",
    "date_offset_minutes",
];

/// Resolves every reference to an actor of its own; a custodian is the ledger's when its reference has an
/// even length.
struct Everyone;

impl Directory for Everyone {
    fn resolve(&self, reference: &str) -> Option<Grantee> {
        Some(Grantee::Actor(ActorId(sha256(&[reference.as_bytes()]))))
    }
    fn custodian(&self, reference: &str) -> Option<bool> {
        Some(reference.len().is_multiple_of(2))
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&selector, json)) = data.split_first() else { return };
    let version = if selector % 2 == 0 { FhirVersion::R4 } else { FhirVersion::R5 };
    let options = ReadOptions { date_offset_minutes: (i32::from(selector as i8) * 15).clamp(-840, 840) };
    let first = read(json, version, &options);
    assert_eq!(first, read(json, version, &options), "reading is deterministic");
    let resource = match first {
        Ok(resource) => resource,
        Err(error) => return check_error(&error, json),
    };
    for provision in &resource.provisions {
        check_provision(provision, 1);
    }
    if let Some(period) = resource.period {
        assert!(ends_after_start(period.start, period.end));
    }
    let import = ImportOptions { read: options, ..ImportOptions::default() };
    let policy = match compile(&resource, &Everyone, &import) {
        Ok(policy) => policy,
        Err(error) => return check_error(&error, json),
    };
    // Questions about the patient by a party the consent names, and by one it cannot name, at instants
    // around its period.
    let named = resource.provisions.iter().flat_map(|p| &p.actors).map(|a| a.reference.as_str()).next();
    for requester in [named.unwrap_or("Practitioner/x"), "\u{0}unnamed"] {
        let Some(Grantee::Actor(requester)) = Everyone.resolve(requester) else { continue };
        for at in [0, 1_466_665_800_000, u64::MAX] {
            for section in ["labs", "medications"] {
                let question = CheckRequest {
                    patient: policy.patient,
                    requester,
                    section: Code::new(section).unwrap(),
                    purpose: Code::new("TREAT").unwrap(),
                    action: Action::Read,
                    at,
                };
                let decision = policy.decide(&question, &|_| Some(Role::Provider));
                assert_eq!(decision, policy.decide(&question, &|_| Some(Role::Provider)));
                if resource.period.is_none() && policy.base.is_some() {
                    assert!(decision.is_some(), "a consent in force with a base decides every question");
                }
            }
        }
    }
    // Its ledger rules: the patient's, exceptions on denies only and within the limit, windows not empty,
    // each with a canonical encoding.
    let rules = match policy.ledger_rules(&|_| Some(Role::Provider)) {
        Ok(rules) => rules,
        Err(error) => return check_error(&error, json),
    };
    for rule in &rules {
        assert_eq!(rule.patient, policy.patient);
        assert!(rule.effect == Effect::Deny || rule.exceptions.is_empty());
        assert!(rule.exceptions.len() <= MAX_EXCEPTIONS && !rule.window.is_empty());
        assert_eq!(ConsentGrant::from_bytes(&rule.to_bytes()).as_ref(), Ok(rule));
    }
}

fn ends_after_start(start: Option<i64>, end: Option<i64>) -> bool {
    !matches!((start, end), (Some(start), Some(end)) if end < start)
}

fn check_provision(provision: &Provision, depth: usize) {
    assert!(depth <= MAX_PROVISION_DEPTH);
    assert!(provision.element.starts_with("Consent.provision"));
    if let Some(period) = provision.period {
        assert!(ends_after_start(period.start, period.end));
    }
    let codings = provision.purposes.iter().chain(&provision.security_labels).chain(&provision.resource_types);
    assert!(codings.clone().all(|c| !c.code.trim().is_empty()));
    for (i, nested) in provision.provisions.iter().enumerate() {
        assert!(nested.element.starts_with(&provision.element));
        assert!(nested.element.ends_with(&format!("provision[{i}]")));
        check_provision(nested, depth + 1);
    }
}

/// An error names an element whose every name is the schema's or a key of the input (never a value of
/// it), or is a size or syntax error.
fn check_error(error: &FhirError, json: &[u8]) {
    let Some(element) = error.element() else { return };
    assert!(element.starts_with("Consent") || element.starts_with("ReadOptions"), "{element}");
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else { return };
    let mut keys = BTreeSet::new();
    collect_keys(&value, &mut keys);
    for segment in element.split('.') {
        let name = segment.split('[').next().unwrap_or(segment);
        let known = SCHEMA.contains(&name) || keys.contains(name) || name == "(unrecognised name)";
        assert!(known, "the error names an element that is neither the schema's nor a key of the input");
    }
}

fn collect_keys(value: &serde_json::Value, keys: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                keys.insert(key.clone());
                collect_keys(inner, keys);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_keys(item, keys)),
        _ => {}
    }
}
