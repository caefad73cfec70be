//! FHIR AuditEvents out of the ledger (`fhir::audit`): a consent granted, a read on it, a break-glass read
//! and its review, the consent revoked, each reported once, in order, with the elements R4 and R5 require,
//! BALP's codes, and the ledger's ids; a time range selects by recording time; unsealed transactions are
//! not reported; bundles and NDJSON carry the same events, built in memory or streamed.

mod support;

use healthchain::fhir::FhirVersion;
use healthchain::fhir::audit::{AuditQuery, ExportError, Layout, audit_events, bundle, ndjson, write_events};
use healthchain::hash::to_hex;
use healthchain::*;
use serde_json::Value;
use std::collections::BTreeMap;
use support::*;

/// The story: grant at T0, read at T0+1h, break-glass at T0+2h, review at T0+3h, revocation at T0+4h, each
/// sealed; then a read submitted but not sealed. Returns the ledger and the ids in order.
fn story() -> (Net, Vec<TxId>) {
    let mut net = network();
    let mut ids = Vec::new();
    let hospital = key(1);
    let grant = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
    let granted = net.ledger.grant_consent(&net.patient_key, grant).unwrap();
    ids.push(granted.consent);
    net.ledger.seal(&[&hospital]).unwrap();
    net.clock.set(T0 + HOUR);
    let basis = AccessBasis::Consents(vec![granted.consent]);
    let read = RecordAccess::for_request(&request(&net, net.doctor, "labs", "TREAT"), basis);
    ids.push(net.ledger.record_access(&net.doctor_key, read).unwrap());
    net.ledger.seal(&[&hospital]).unwrap();
    net.clock.set(T0 + 2 * HOUR);
    let emergency = RecordAccess::for_request(&request(&net, net.nurse, "medications", "ETREAT"), break_glass());
    let emergency = net.ledger.record_access(&net.nurse_key, emergency).unwrap();
    ids.push(emergency);
    net.ledger.seal(&[&hospital]).unwrap();
    net.clock.set(T0 + 3 * HOUR);
    ids.push(net.ledger.review_break_glass(&net.auditor_key, emergency, true).unwrap());
    net.ledger.seal(&[&hospital]).unwrap();
    net.clock.set(T0 + 4 * HOUR);
    ids.push(net.ledger.revoke_consent(&net.patient_key, granted.consent).unwrap());
    net.ledger.seal(&[&hospital]).unwrap();
    net.clock.set(T0 + 5 * HOUR);
    let unsealed = RecordAccess::for_request(&request(&net, net.patient, "labs", "TREAT"), AccessBasis::Owner);
    net.ledger.record_access(&net.patient_key, unsealed).unwrap();
    (net, ids)
}

fn directory(net: &Net) -> BTreeMap<String, Grantee> {
    [("Patient/p", net.patient), ("Practitioner/doctor", net.doctor), ("Practitioner/nurse", net.nurse)]
        .into_iter()
        .map(|(r, id)| (r.to_owned(), Grantee::Actor(id)))
        .collect()
}

fn codes_of(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(system)), Some(Value::String(code))) = (map.get("system"), map.get("code")) {
                out.push(format!("{system}|{code}"));
            }
            map.values().for_each(|v| out.extend(codes_of(v)));
        }
        Value::Array(items) => items.iter().for_each(|v| out.extend(codes_of(v))),
        _ => {}
    }
    out
}

const DICOM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const REST: &str = "http://hl7.org/fhir/restful-interaction";

#[test]
fn the_story_is_reported_once_in_order_with_what_each_version_requires() {
    let (net, ids) = story();
    let directory = directory(&net);
    for version in [FhirVersion::R4, FhirVersion::R5] {
        let events = audit_events(&net.ledger, &AuditQuery::patient(net.patient), version, &directory).unwrap();
        let got: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
        let expected: Vec<String> = ids.iter().map(|id| to_hex(id.as_bytes())).collect();
        assert_eq!(
            got, expected,
            "{version:?}: grant, read, break-glass, review, revocation; the unsealed read left out"
        );
        for (event, at) in events.iter().zip([0, 1, 2, 3, 4]) {
            assert_eq!(event["resourceType"], "AuditEvent");
            assert_eq!(event["recorded"], format_ms(T0 + at * HOUR), "{version:?}");
            assert_eq!(event["agent"][0]["requestor"], true);
            assert_eq!(event["source"]["observer"]["identifier"]["value"], to_hex(net.ledger.chain().as_bytes()));
            // The patient entity: BALP's audit-entity-type 1 (R4) and object-role 1.
            let patient = &event["entity"][0];
            assert_eq!(patient["what"]["reference"], "Patient/p");
            assert!(codes_of(&patient["role"]).contains(&"http://terminology.hl7.org/CodeSystem/object-role|1".into()));
            match version {
                FhirVersion::R4 => {
                    assert_eq!(event["outcome"], "0");
                    assert!(event["type"].is_object() && event["subtype"].is_array());
                    assert_eq!(patient["type"]["code"], "1");
                }
                FhirVersion::R5 => {
                    assert_eq!(event["outcome"]["code"]["code"], "0");
                    assert!(event["category"].is_array() && event["code"].is_object());
                    assert_eq!(event["patient"]["reference"], "Patient/p");
                    assert!(patient.get("type").is_none(), "R5 entities have no type");
                }
            }
        }
        let [grant, read, emergency, review, revoke] = &events[..] else { panic!("five events") };
        let consent_hex = to_hex(ids[0].as_bytes());
        // The grant: a RESTful create by the patient (author), of the consent.
        assert!(codes_of(grant).contains(&format!("{REST}|create")));
        assert_eq!(
            (grant["action"].as_str(), grant["agent"][0]["who"]["reference"].as_str()),
            (Some("C"), Some("Patient/p"))
        );
        assert_eq!(grant["entity"][1]["what"]["identifier"]["value"], consent_hex.as_str());
        // The read: by the doctor, for TREAT, on the consent (as policy and as entity), of the labs section.
        assert!(codes_of(read).contains(&format!("{REST}|read")));
        assert_eq!(read["action"], "R");
        assert_eq!(read["agent"][0]["who"]["reference"], "Practitioner/doctor");
        assert_eq!(read["agent"][0]["policy"][0], format!("urn:healthchain:consent:{consent_hex}"));
        assert_eq!(read["entity"][1]["what"]["identifier"]["value"], "labs");
        assert_eq!(read["entity"][2]["what"]["identifier"]["value"], consent_hex.as_str());
        assert!(codes_of(read).contains(&"http://terminology.hl7.org/CodeSystem/v3-ActReason|TREAT".into()));
        assert!(!codes_of(read).iter().any(|c| c.ends_with("|BTG") || c.starts_with(DICOM)));
        // Break-glass: marked (BTG, DICOM's emergency override or security alert), with its reason.
        let marks = codes_of(emergency);
        assert!(marks.contains(&"http://terminology.hl7.org/CodeSystem/v3-ActReason|BTG".into()));
        assert!(marks.contains(&"http://terminology.hl7.org/CodeSystem/v3-ActReason|ETREAT".into()));
        let dicom = if version == FhirVersion::R4 { "110127" } else { "110113" };
        assert!(marks.contains(&format!("{DICOM}|{dicom}")), "{version:?}: {marks:?}");
        assert_eq!(emergency["agent"][0]["who"]["reference"], "Practitioner/nurse");
        assert_eq!(emergency["entity"][1]["detail"][0]["valueString"], "unconscious");
        // The review: by the auditor (not in the directory: by id), justified, pointing at the access.
        let auditor = to_hex(net.auditor.as_bytes());
        assert_eq!(review["agent"][0]["who"]["identifier"]["value"], auditor.as_str());
        assert_eq!(review["entity"][1]["what"]["reference"], format!("AuditEvent/{}", to_hex(ids[2].as_bytes())));
        let outcome =
            if version == FhirVersion::R4 { &review["outcomeDesc"] } else { &review["outcome"]["detail"][0]["text"] };
        assert_eq!(outcome, "justified");
        // The revocation: an update of the consent, by the patient.
        assert_eq!(
            (revoke["action"].as_str(), revoke["agent"][0]["who"]["reference"].as_str()),
            (Some("U"), Some("Patient/p"))
        );
        assert_eq!(revoke["entity"][1]["what"]["identifier"]["value"], consent_hex.as_str());
    }
}

fn format_ms(ms: u64) -> String {
    healthchain::fhir::datetime::format_instant(ms as i64).unwrap()
}

#[test]
fn a_time_range_selects_by_recording_time_over_every_patient() {
    let (net, ids) = story();
    let directory = directory(&net);
    let events = |from, until| {
        audit_events(&net.ledger, &AuditQuery::between(from, until), FhirVersion::R5, &directory)
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let hex = |i: usize| to_hex(ids[i].as_bytes());
    assert_eq!(events(T0 + HOUR, Some(T0 + 3 * HOUR)), [hex(1), hex(2)]);
    assert_eq!(events(T0 + 3 * HOUR, None), [hex(3), hex(4)]);
    assert_eq!(events(0, None).len(), 5);
    assert!(events(T0 + 5 * HOUR, None).is_empty(), "the unsealed read is not reported");
    // Another patient with nothing recorded has no event.
    let none = audit_events(&net.ledger, &AuditQuery::patient(net.guardian), FhirVersion::R4, &directory).unwrap();
    assert!(none.is_empty());
}

#[test]
fn bundles_and_ndjson_carry_the_events() {
    let (net, _) = story();
    let events =
        audit_events(&net.ledger, &AuditQuery::patient(net.patient), FhirVersion::R4, &directory(&net)).unwrap();
    let bundle = bundle(&events);
    assert_eq!((bundle["resourceType"].as_str(), bundle["type"].as_str()), (Some("Bundle"), Some("collection")));
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries.len(), events.len());
    for (entry, event) in entries.iter().zip(&events) {
        assert_eq!(&entry["resource"], event);
        let url = entry["fullUrl"].as_str().unwrap();
        let uuid = url.strip_prefix("urn:uuid:").unwrap();
        let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert!(uuid.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_eq!(uuid.as_bytes()[14], b'8', "version 8");
        assert!(matches!(uuid.as_bytes()[19], b'8' | b'9' | b'a' | b'b'), "RFC variant");
        assert!(uuid.replace('-', "").starts_with(&event["id"].as_str().unwrap()[..12]));
    }
    let lines: Vec<Value> = ndjson(&events).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines, events);
    // Streamed, for a patient and for a range: the same bytes as the documents built in memory.
    for query in [AuditQuery::patient(net.patient), AuditQuery::between(T0 + HOUR, None)] {
        let events = audit_events(&net.ledger, &query, FhirVersion::R5, &directory(&net)).unwrap();
        for (layout, expected) in
            [(Layout::Bundle, healthchain::fhir::audit::bundle(&events).to_string()), (Layout::Ndjson, ndjson(&events))]
        {
            let mut out = Vec::new();
            let count = write_events(&net.ledger, &query, FhirVersion::R5, &directory(&net), layout, &mut out);
            assert_eq!(count.unwrap(), events.len() as u64);
            assert_eq!(String::from_utf8(out).unwrap(), expected, "{layout:?} {query:?}");
        }
    }
    // A write refused midway stops the export with the write's error.
    let mut full = [0u8; 100];
    let mut out: &mut [u8] = &mut full;
    let query = AuditQuery::patient(net.patient);
    let refused = write_events(&net.ledger, &query, FhirVersion::R5, &directory(&net), Layout::Ndjson, &mut out);
    assert!(matches!(refused, Err(ExportError::Write(_))));
}

/// A time range is read from the blocks that can hold it: for every range between the instants that matter
/// (each transaction's time and each block's timestamp, one either side, and the open ends), it reports
/// exactly the events that each patient's own report has at a recording time in that range, in ledger order.
#[test]
fn a_time_range_read_from_the_blocks_equals_every_patients_events_in_it() {
    let mut net = network();
    let hospital = key(1);
    let mut instants = vec![0, T0 - 2, T0 - 1];
    // Several blocks, some with several transactions, for two patients; accesses, break-glass, reviews,
    // grants and revocations.
    let mut grants = Vec::new();
    for (round, patient) in [(0u64, net.patient), (1, net.guardian), (2, net.patient), (3, net.guardian)] {
        net.clock.set(T0 + round * HOUR);
        let key_of = |p: ActorId| if p == net.patient { &net.patient_key } else { &net.guardian_key };
        let mut rule = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
        rule.patient = patient;
        rule.sections = codes(&[["labs", "notes", "imaging", "vitals"][round as usize]]);
        let granted = net.ledger.grant_consent(key_of(patient), rule).unwrap();
        grants.push((patient, granted.consent));
        net.clock.advance(60_000);
        let section = ["labs", "notes", "imaging", "vitals"][round as usize];
        let mut question = request(&net, net.doctor, section, "TREAT");
        question.patient = patient;
        let read = RecordAccess::for_request(&question, AccessBasis::Consents(vec![granted.consent]));
        net.ledger.record_access(&net.doctor_key, read).unwrap();
        let mut emergency = request(&net, net.nurse, "medications", "ETREAT");
        emergency.patient = patient;
        let access = net.ledger.record_access(&net.nurse_key, RecordAccess::for_request(&emergency, break_glass()));
        let access = access.unwrap();
        if round % 2 == 0 {
            instants.push(net.ledger.seal(&[&hospital]).unwrap().header.timestamp);
        }
        net.clock.advance(60_000);
        net.ledger.review_break_glass(&net.auditor_key, access, round == 0).unwrap();
        if round == 3 {
            let (first_patient, first) = grants[0];
            assert_eq!(first_patient, net.patient);
            net.ledger.revoke_consent(&net.patient_key, first).unwrap();
        }
        instants.push(net.ledger.seal(&[&hospital]).unwrap().header.timestamp);
    }
    net.clock.advance(HOUR);
    let unsealed = RecordAccess::for_request(&request(&net, net.patient, "labs", "TREAT"), AccessBasis::Owner);
    net.ledger.record_access(&net.patient_key, unsealed).unwrap();

    let directory = directory(&net);
    let ids = |events: Vec<Value>| -> Vec<TxId> {
        events.iter().map(|e| TxId::from_hex(e["id"].as_str().unwrap()).unwrap()).collect()
    };
    let placed = |id: &TxId| {
        let (tx, height) = net.ledger.transaction_at(net.ledger.position_of(id).unwrap().unwrap()).unwrap();
        (height, tx.body.time, *id)
    };
    let mut every: Vec<(u64, u64, TxId)> = Vec::new();
    for patient in [net.patient, net.guardian] {
        let own = audit_events(&net.ledger, &AuditQuery::patient(patient), FhirVersion::R4, &directory).unwrap();
        every.extend(ids(own).iter().map(placed));
    }
    every.sort();
    assert_eq!(every.len(), 4 * 4 + 1, "a grant, a read, a break-glass and its review per round; a revocation");
    instants.extend(every.iter().map(|(_, time, _)| *time));
    let bounds: Vec<u64> = instants.iter().flat_map(|t| [t.saturating_sub(1), *t, t + 1]).collect();
    let mut compared = 0;
    for &from in &bounds {
        for until in bounds.iter().map(|t| Some(*t)).chain([None]) {
            let query = AuditQuery::between(from, until);
            let found = ids(audit_events(&net.ledger, &query, FhirVersion::R5, &directory).unwrap());
            let expected: Vec<TxId> = every
                .iter()
                .filter(|(_, time, _)| *time >= from && until.is_none_or(|end| *time < end))
                .map(|(_, _, id)| *id)
                .collect();
            assert_eq!(found, expected, "[{from}, {until:?})");
            compared += 1;
        }
    }
    assert!(compared > 1000, "{compared} ranges");
}
