//! An updated FHIR Consent in place of its earlier import (`fhir::consent::replace`): the earlier rules
//! revoked and the update's granted in one block, all or none; a Consent no longer in force ends them; a
//! draft, a consent of another patient, a consent already replaced and a plain re-import are refused with
//! nothing queued.

mod support;

use healthchain::fhir::consent::{ImportError, ImportOptions, import, replace};
use healthchain::fhir::{FhirError, FhirVersion};
use healthchain::*;
use std::collections::BTreeMap;
use support::*;

fn directory(net: &Net) -> BTreeMap<String, Grantee> {
    BTreeMap::from([
        ("Patient/p".to_owned(), Grantee::Actor(net.patient)),
        ("Patient/g".to_owned(), Grantee::Actor(net.guardian)),
        ("Practitioner/doctor".to_owned(), Grantee::Actor(net.doctor)),
        ("Practitioner/nurse".to_owned(), Grantee::Actor(net.nurse)),
    ])
}

/// An R5 Consent of `subject` with this status: deny, except `who` reading for treatment.
fn consent(subject: &str, status: &str, who: &str) -> String {
    format!(
        r#"{{"resourceType": "Consent", "status": "{status}", "subject": {{"reference": "{subject}"}},
            "decision": "deny", "provision": [{{
              "actor": [{{"reference": {{"reference": "{who}"}}}}],
              "action": [{{"coding": [{{"system": "http://terminology.hl7.org/CodeSystem/consentaction",
                                       "code": "access"}}]}}],
              "purpose": [{{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}}]}}]}}"#
    )
}

fn may_read(net: &Net, who: ActorId) -> bool {
    matches!(net.ledger.check(&request(net, who, "labs", "TREAT")).unwrap(), Decision::Permit(_))
}

#[test]
fn an_updated_consent_replaces_the_rules_of_its_earlier_import() {
    let mut net = network();
    let dir = directory(&net);
    let o = ImportOptions::default();
    let v1 = consent("Patient/p", "active", "Practitioner/doctor");
    let first = import(&mut net.ledger, &net.patient_key, v1.as_bytes(), FhirVersion::R5, &dir, &o).unwrap();
    net.ledger.seal(&[&net.hospital]).unwrap();
    net.clock.advance(HOUR);
    assert!(may_read(&net, net.doctor) && !may_read(&net, net.nurse));
    let v1_ids: Vec<ConsentId> = first.granted.iter().map(|g| g.consent).collect();
    assert_eq!(v1_ids.len(), 1);

    // Sent again as a plain import, the same Consent is "already has access".
    let again = import(&mut net.ledger, &net.patient_key, v1.as_bytes(), FhirVersion::R5, &dir, &o);
    assert!(matches!(
        again,
        Err(ImportError::Ledger(LedgerError::GrantRefused { index: 0, refusal: TxError::AlreadyHasAccess { .. } }))
    ));

    // The update: the nurse instead of the doctor.
    let v2 = consent("Patient/p", "active", "Practitioner/nurse");
    let second = replace(&mut net.ledger, &net.patient_key, &v1_ids, v2.as_bytes(), FhirVersion::R5, &dir, &o).unwrap();
    assert_eq!(net.ledger.pending().len(), 2, "one revocation, one grant, in one block");
    net.ledger.seal(&[&net.hospital]).unwrap();
    net.clock.advance(HOUR);
    assert!(!may_read(&net, net.doctor) && may_read(&net, net.nurse));
    let view = net.ledger.state().latest();
    assert!(view.consent(&v1_ids[0]).is_some_and(|c| c.revoked.is_some()));
    let v2_ids: Vec<ConsentId> = second.granted.iter().map(|g| g.consent).collect();

    // Refused, nothing queued: a draft update, a consent already replaced, another patient's consent.
    let draft = consent("Patient/p", "draft", "Practitioner/doctor");
    let refused = replace(&mut net.ledger, &net.patient_key, &v2_ids, draft.as_bytes(), FhirVersion::R5, &dir, &o);
    assert!(
        matches!(&refused, Err(ImportError::Fhir(FhirError::Unsupported { element, .. })) if element == "Consent.status")
    );
    let refused = replace(&mut net.ledger, &net.patient_key, &v1_ids, v2.as_bytes(), FhirVersion::R5, &dir, &o);
    assert!(matches!(
        refused,
        Err(ImportError::Ledger(LedgerError::RevokeRefused { index: 0, refusal: TxError::ConsentAlreadyRevoked }))
    ));
    let theirs = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
    let theirs = ConsentGrant { patient: net.guardian, ..theirs };
    let theirs = net.ledger.grant_consent(&net.guardian_key, theirs).unwrap().consent;
    net.ledger.seal(&[&net.hospital]).unwrap();
    net.clock.advance(HOUR);
    let both = [v2_ids[0], theirs];
    let refused = replace(&mut net.ledger, &net.patient_key, &both, v2.as_bytes(), FhirVersion::R5, &dir, &o);
    assert!(matches!(refused, Err(ImportError::OtherPatient { index: 1 })));
    let guardians = consent("Patient/g", "active", "Practitioner/nurse");
    let refused = replace(&mut net.ledger, &net.guardian_key, &v2_ids, guardians.as_bytes(), FhirVersion::R5, &dir, &o);
    assert!(matches!(refused, Err(ImportError::OtherPatient { index: 0 })));
    assert!(net.ledger.pending().is_empty());

    // Withdrawn: an inactive update grants nothing and ends the rules.
    let withdrawn = consent("Patient/p", "inactive", "Practitioner/nurse");
    let ended = replace(&mut net.ledger, &net.patient_key, &v2_ids, withdrawn.as_bytes(), FhirVersion::R5, &dir, &o);
    assert!(ended.unwrap().granted.is_empty());
    net.ledger.seal(&[&net.hospital]).unwrap();
    net.clock.advance(HOUR);
    assert!(!may_read(&net, net.doctor) && !may_read(&net, net.nurse));
    assert!(net.ledger.consents_of(&net.patient).iter().all(|c| c.revoked.is_some()));
    assert!(net.ledger.verify().is_valid());
}
