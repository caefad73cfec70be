//! Reading FHIR Consent resources: HL7's published examples (R4, R5 and the R5 build's drafts, in
//! `tests/vectors/fhir/`), and malformed, hostile and unsupported input refused with the element named.

use healthchain::fhir::consent::{ConsentStatus, Effect, Period, ReadOptions, read};
use healthchain::fhir::{FhirError, FhirVersion, MAX_RESOURCE_BYTES};
use proptest::prelude::*;
use std::path::PathBuf;

fn example(folder: &str, name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/vectors/fhir", folder, name].iter().collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_example(folder: &str, name: &str) -> Result<healthchain::fhir::consent::ConsentResource, FhirError> {
    let version = if folder == "r4" { FhirVersion::R4 } else { FhirVersion::R5 };
    read(&example(folder, name), version, &ReadOptions::default())
}

fn refused_at(result: Result<impl std::fmt::Debug, FhirError>) -> String {
    match result {
        Err(FhirError::Unsupported { element, .. }) => element,
        other => panic!("expected a refusal naming an element, got {other:?}"),
    }
}

/// Every file of each folder is either read or refused at the element the ledger cannot express; the list
/// of files is read from the folder, so an example added there must be listed here.
#[test]
fn every_example_is_read_or_refused_at_the_element_it_cannot_express() {
    let refused = [
        ("r4", "Consent-consent-example-notThis.json", "Consent.provision.data"),
        ("r5", "consent-example-notThis.json", "Consent.provision[0].data"),
        // Drafts of the R5 build that are not valid R5: notLabs uses R4's `class`, provider has no subject.
        ("r5-draft", "consent-example-notLabs.json", "Consent.provision[0].class"),
        ("r5-draft", "consent-example-provider.json", "Consent.subject"),
    ];
    let mut read_count = 0;
    for folder in ["r4", "r5", "r5-draft"] {
        let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/vectors/fhir", folder].iter().collect();
        let mut names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        for name in names {
            let result = read_example(folder, &name);
            match refused.iter().find(|(f, n, _)| *f == folder && *n == name) {
                Some((_, _, element)) => assert_eq!(&refused_at(result), element, "{folder}/{name}"),
                None => {
                    let consent = result.unwrap_or_else(|e| panic!("{folder}/{name}: {e}"));
                    assert_eq!(consent.status, ConsentStatus::Active, "{folder}/{name}");
                    assert!(!consent.provisions.is_empty(), "{folder}/{name}");
                    read_count += 1;
                }
            }
        }
    }
    assert_eq!(read_count, 11 + 11 + 3);
}

#[test]
fn r4_examples_read_as_written() {
    // pkb: OPT-OUT, a root provision for Organization/f001 as recipient with nested provisions.
    let pkb = read_example("r4", "Consent-consent-example-pkb.json").unwrap();
    assert_eq!(pkb.base, Some(Effect::Deny));
    assert_eq!(pkb.patient, "Patient/example");
    let root = &pkb.provisions[0];
    assert_eq!(root.effect, None);
    assert_eq!(root.actors[0].reference, "Organization/f001");
    assert_eq!(root.actors[0].role.as_ref().unwrap().0[0].code, "PRCP");
    assert_eq!(root.security_labels[0].code, "N");
    assert!(root.provisions.len() >= 2);
    assert_eq!(root.provisions[1].element, "Consent.provision.provision[1]");
    // smartonfhir: a half-hour window at +10:00, then a nested permit on MedicationRequest.
    let smart = read_example("r4", "Consent-consent-example-smartonfhir.json").unwrap();
    assert_eq!(smart.base, Some(Effect::Permit));
    // 2016-06-23T17:02:33+10:00 and the second after 17:32:33+10:00, from Python's datetime.
    assert_eq!(
        smart.provisions[0].period,
        Some(Period { start: Some(1_466_665_353_000), end: Some(1_466_667_154_000) })
    );
    let nested = &smart.provisions[0].provisions[0];
    assert_eq!(nested.effect, Some(Effect::Permit));
    assert_eq!(nested.resource_types[0].code, "MedicationRequest");
    // notOrg: the root provision's own type.
    let not_org = read_example("r4", "Consent-consent-example-notOrg.json").unwrap();
    assert_eq!((not_org.base, not_org.provisions[0].effect), (Some(Effect::Permit), Some(Effect::Deny)));
    assert_eq!(not_org.provisions[0].actions.len(), 2);
}

#[test]
fn r5_examples_read_as_written() {
    let emergency = read_example("r5", "consent-example-Emergency.json").unwrap();
    assert_eq!(emergency.version, FhirVersion::R5);
    assert_eq!((emergency.base, emergency.patient.as_str()), (Some(Effect::Deny), "Patient/f001"));
    let nested = &emergency.provisions[0].provisions[0];
    assert_eq!(nested.purposes[0].code, "ETREAT");
    let grantor = read_example("r5", "consent-example-grantor.json").unwrap();
    assert_eq!(grantor.provisions[0].actors[1].reference, "Practitioner/f007");
    let smart = read_example("r5", "consent-example-smartonfhir.json").unwrap();
    assert_eq!(smart.provisions[0].provisions[0].resource_types[0].code, "MedicationRequest");
}

fn minimal_r4(provision: &str) -> String {
    format!(
        r#"{{"resourceType":"Consent","status":"active",
            "scope":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}}]}},
            "category":[{{"text":"x"}}],"patient":{{"reference":"Patient/p"}},
            "policyRule":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"OPTIN"}}]}},
            "provision":{provision}}}"#
    )
}

fn read_r4(json: &str) -> Result<healthchain::fhir::consent::ConsentResource, FhirError> {
    read(json.as_bytes(), FhirVersion::R4, &ReadOptions::default())
}

#[test]
fn a_minimal_resource_reads() {
    let consent = read_r4(&minimal_r4(r#"{"type":"deny"}"#)).unwrap();
    assert_eq!((consent.base, consent.provisions[0].effect), (Some(Effect::Permit), Some(Effect::Deny)));
}

#[test]
fn hostile_and_malformed_json_is_refused_with_the_element_named() {
    let invalid_at = |json: &str| match read_r4(json) {
        Err(FhirError::Invalid { element, .. }) => element,
        other => panic!("expected Invalid, got {other:?}"),
    };
    let unsupported_at = |json: &str| refused_at(read_r4(json));
    // A repeated key (serde_json's own Value would keep the last silently).
    assert_eq!(invalid_at(&minimal_r4(r#"{"type":"deny","type":"permit"}"#)), "Consent.provision.type");
    assert_eq!(invalid_at(&minimal_r4(r#"{"type":"maybe"}"#)), "Consent.provision.type");
    assert_eq!(invalid_at(&minimal_r4(r#"{"type":7}"#)), "Consent.provision.type");
    assert_eq!(invalid_at(&minimal_r4(r#"{"actor":[]}"#)), "Consent.provision.actor");
    assert_eq!(invalid_at(&minimal_r4(r#"[]"#)), "Consent.provision");
    assert_eq!(
        invalid_at(&minimal_r4(r#"{"period":{"start":"2016-01-02","end":"2016-01-01"}}"#)),
        "Consent.provision.period"
    );
    assert_eq!(invalid_at(&minimal_r4(r#"{"period":{"start":"yesterday"}}"#)), "Consent.provision.period.start");
    assert_eq!(invalid_at(&minimal_r4("{}").replace("Consent\"", "Patient\"")), "Consent.resourceType");
    assert_eq!(invalid_at(&minimal_r4("{}").replace("\"active\"", "\"revoked\"")), "Consent.status");
    // What the ledger cannot express, or what could change the meaning unseen.
    assert_eq!(unsupported_at(&minimal_r4(r#"{"dataPeriod":{"start":"2015"}}"#)), "Consent.provision.dataPeriod");
    assert_eq!(
        unsupported_at(&minimal_r4(r#"{"modifierExtension":[{"url":"u"}]}"#)),
        "Consent.provision.modifierExtension"
    );
    assert_eq!(
        unsupported_at(&minimal_r4(r#"{"type":"deny","_type":{"modifierExtension":[{"url":"u"}]}}"#)),
        "Consent.provision._type.modifierExtension"
    );
    assert_eq!(unsupported_at(&minimal_r4(r#"{"sensitivity":"high"}"#)), "Consent.provision.sensitivity");
    assert_eq!(unsupported_at(&minimal_r4(r#"{"Ω≠name":1}"#)), "Consent.provision.(unrecognised name)");
    assert_eq!(unsupported_at(&minimal_r4(r#"{"action":[{"text":"read it"}]}"#)), "Consent.provision.action[0].coding");
    assert_eq!(
        unsupported_at(&minimal_r4(
            r#"{"actor":[{"role":{"coding":[{"code":"PRCP"}]},"reference":{"display":"Dr X"}}]}"#
        )),
        "Consent.provision.actor[0].reference.reference"
    );
    // Sixteen levels of provisions read; the seventeenth is refused, at its own place.
    let nest = |levels: usize| {
        (1..levels).fold(String::from(r#"{"type":"deny"}"#), |inner, _| format!(r#"{{"provision":[{inner}]}}"#))
    };
    read_r4(&minimal_r4(&nest(16))).unwrap();
    let seventeenth = format!("Consent.provision{}", ".provision[0]".repeat(16));
    assert_eq!(unsupported_at(&minimal_r4(&nest(17))), seventeenth);
    // A modifier extension inside an element that is otherwise skipped.
    let verification = minimal_r4("{}").replace(
        "\"provision\":",
        "\"verification\":[{\"verified\":true,\"modifierExtension\":[{\"url\":\"u\"}]}],\"provision\":",
    );
    assert_eq!(unsupported_at(&verification), "Consent.verification[0].modifierExtension");
    // R4 requires an actor's reference; a date offset beyond ±14 h is not an offset.
    let no_reference = minimal_r4(r#"{"actor":[{"role":{"coding":[{"code":"PRCP"}]}}]}"#);
    assert_eq!(invalid_at(&no_reference), "Consent.provision.actor[0].reference");
    let far = ReadOptions { date_offset_minutes: 841 };
    assert!(matches!(read(minimal_r4("{}").as_bytes(), FhirVersion::R4, &far), Err(FhirError::Invalid { .. })));
    // Extensions (not modifier) and a primitive's extensions are skipped, as FHIR allows.
    read_r4(&minimal_r4(r#"{"extension":[{"url":"u"}],"type":"deny","_type":{"extension":[{"url":"u"}]}}"#)).unwrap();
    // Not JSON, too deep for the parser, too large.
    assert!(matches!(read_r4("{\"resourceType\":"), Err(FhirError::Syntax { line: 1, .. })));
    let nested = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert!(matches!(read_r4(&nested), Err(FhirError::Syntax { .. })));
    let mut large = minimal_r4("{}");
    large.push_str(&" ".repeat(MAX_RESOURCE_BYTES + 1 - large.len()));
    assert!(matches!(read_r4(&large), Err(FhirError::TooLarge { .. })));
}

#[test]
fn consents_of_another_scope_or_with_external_rules_are_refused() {
    let research = minimal_r4("{}").replace("patient-privacy", "research");
    assert_eq!(refused_at(read_r4(&research)), "Consent.scope");
    // R4 `policy` is documentation ("does not modify or qualify the policy rules"): read past.
    let policy = minimal_r4("{}").replace("\"provision\":", "\"policy\":[{\"uri\":\"http://x\"}],\"provision\":");
    read_r4(&policy).unwrap();
    let implicit = minimal_r4("{}").replace("\"provision\":", "\"implicitRules\":\"http://x\",\"provision\":");
    assert_eq!(refused_at(read_r4(&implicit)), "Consent.implicitRules");
    let unknown_rule = minimal_r4("{}").replace("\"OPTIN\"", "\"OPTIN-ISH\"");
    assert_eq!(refused_at(read_r4(&unknown_rule)), "Consent.policyRule");
}

/// Where a marked value goes in a minimal R4 consent, each place one that the reader or `compile` refuses.
const PLACES: [&str; 9] = [
    r#""status":"MARK""#,
    r#""provision":{"type":"MARK"}"#,
    r#""provision":{"period":{"start":"MARK"}}"#,
    r#""provision":{"actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"PRCP"}]},"reference":{"reference":"MARK"}}]}"#,
    r#""provision":{"purpose":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"MARK"}]}"#,
    r#""provision":{"securityLabel":[{"system":"MARK","code":"MARK"}]}"#,
    r#""provision":{"action":[{"coding":[{"system":"MARK","code":"MARK"}]}]}"#,
    r#""provision":{"sensitivity":"MARK"}"#,
    r#""provision":{"MARK":"x"}"#,
];

proptest! {
    /// Errors name elements, never values: a marked value (any characters) put where the reader or
    /// `compile` refuses it never appears in the error's `Display` or `Debug`, and every such error names
    /// an element.
    #[test]
    fn errors_never_repeat_values(place in 0..PLACES.len(), value in "[ -~]{0,12}") {
        let marked = format!("SECRET {value}").replace(['"', '\\'], "_");
        let mut json = minimal_r4("{}").replace(r#""provision":{}"#, PLACES[place]).replace("MARK", &marked);
        if place == 0 {
            json = json.replace(r#""status":"active","#, "");
        }
        let directory: std::collections::HashMap<String, healthchain::Grantee> =
            [("Patient/p".to_owned(), healthchain::Grantee::Actor(healthchain::ActorId::default()))].into();
        let error = match read(json.as_bytes(), FhirVersion::R4, &ReadOptions::default()) {
            Err(error) => error,
            Ok(resource) => healthchain::fhir::consent::compile(&resource, &directory, &Default::default()).unwrap_err(),
        };
        prop_assert!(error.element().is_some(), "{}", error);
        let shown = format!("{error} {error:?}");
        prop_assert!(!shown.contains("SECRET"), "{}", shown);
    }
}
