//! The HIPAA accounting of disclosures (`healthchain::accounting`): every access by someone else in the
//! range is listed, the §164.528(a)(1) exclusions reported with their reason (treatment, payment, a personal
//! representative, a write), break-glass with its review; the patient's own reads, accesses outside the
//! range and unsealed ones are not; the six-year default by the calendar; receipts that verify; JSON, CSV
//! and HTML that escape what they show.

mod support;

use healthchain::accounting::{AccountingOptions, accounting, csv, html, json, six_years_before};
use healthchain::fhir::datetime::format_instant;
use healthchain::hash::to_hex;
use healthchain::receipt::Receipt;
use healthchain::*;
use serde_json::Value;
use std::collections::BTreeMap;
use support::*;

/// Accesses at T0+1h .. T0+7h: the doctor for treatment, the insurer for research, the guardian as a
/// delegate, the doctor writing, the nurse by break-glass (reviewed), the patient themself; then one more
/// research read left unsealed. Returns the ledger and the sealed accesses by others, in order.
fn story() -> (Net, Vec<AccessId>) {
    let mut net = network();
    let hospital = key(1);
    let doctor_rule = ConsentGrant {
        actions: Actions::READ_WRITE,
        ..permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None)
    };
    let doctor_rule = net.ledger.grant_consent(&net.patient_key, doctor_rule).unwrap().consent;
    let insurer_rule = permit(&net, Grantee::Actor(net.insurer), &["labs"], &["HRESCH"], None);
    let insurer_rule = net.ledger.grant_consent(&net.patient_key, insurer_rule).unwrap().consent;
    let delegation = DelegationGrant {
        patient: net.patient,
        delegate: net.guardian,
        scopes: Scopes::READ,
        window: Window { not_before: net.ledger.now(), not_after: None },
    };
    let delegation = net.ledger.grant_delegation(&net.patient_key, delegation).unwrap();
    net.ledger.seal(&[&hospital]).unwrap();
    let mut ids = Vec::new();
    let steps: [(&SigningKey, ActorId, &str, Action, AccessBasis); 6] = [
        (&net.doctor_key, net.doctor, "TREAT", Action::Read, AccessBasis::Consents(vec![doctor_rule])),
        (&net.insurer_key, net.insurer, "HRESCH", Action::Read, AccessBasis::Consents(vec![insurer_rule])),
        (&net.guardian_key, net.guardian, "TREAT", Action::Read, AccessBasis::Delegate(delegation)),
        (&net.doctor_key, net.doctor, "TREAT", Action::Write, AccessBasis::Consents(vec![doctor_rule])),
        (&net.nurse_key, net.nurse, "ETREAT", Action::Read, break_glass()),
        (&net.patient_key, net.patient, "TREAT", Action::Read, AccessBasis::Owner),
    ];
    for (hour, (signer, who, purpose, action, basis)) in (1..).zip(steps) {
        net.clock.set(T0 + hour * HOUR);
        let request = CheckRequest { action, ..request(&net, who, "labs", purpose) };
        let id = net.ledger.record_access(signer, RecordAccess::for_request(&request, basis)).unwrap();
        if who != net.patient {
            ids.push(id);
        }
        net.ledger.seal(&[&hospital]).unwrap();
    }
    net.clock.set(T0 + 8 * HOUR);
    net.ledger.review_break_glass(&net.auditor_key, ids[4], false).unwrap();
    net.ledger.seal(&[&hospital]).unwrap();
    net.clock.set(T0 + 9 * HOUR);
    let again = RecordAccess::for_request(
        &request(&net, net.insurer, "labs", "HRESCH"),
        AccessBasis::Consents(vec![insurer_rule]),
    );
    net.ledger.record_access(&net.insurer_key, again).unwrap();
    (net, ids)
}

fn names(net: &Net) -> BTreeMap<ActorId, String> {
    [(net.patient, "Jane Roe"), (net.doctor, "Dr. Who, MD"), (net.insurer, "=HYPERLINK(\"x\") <b>Acme</b>")]
        .into_iter()
        .map(|(id, name)| (id, name.to_owned()))
        .collect()
}

#[test]
fn every_access_by_someone_else_is_listed_with_its_exclusion() {
    let (net, ids) = story();
    let report =
        accounting(&net.ledger, &net.patient, None, &names(&net), &AccountingOptions::default(), None).unwrap();
    let listed: Vec<AccessId> = report.disclosures.iter().map(|d| d.access).collect();
    assert_eq!(listed, ids, "the patient's own read and the unsealed one are not listed");
    let excluded: Vec<Option<&str>> = report.disclosures.iter().map(|d| d.excluded.as_deref()).collect();
    assert_eq!(
        excluded,
        [
            Some("§164.528(a)(1)(i): treatment"),
            None,
            Some("§164.528(a)(1)(ii): to the individual's personal representative (§164.502(g))"),
            Some("not a disclosure: a write to the record"),
            Some("§164.528(a)(1)(i): treatment"),
        ]
    );
    let research = &report.disclosures[1];
    assert_eq!((research.recipient, research.at, research.purpose.as_str()), (net.insurer, T0 + 2 * HOUR, "HRESCH"));
    assert_eq!(report.disclosures[0].recipient_name.as_deref(), Some("Dr. Who, MD"));
    assert_eq!(report.disclosures[2].recipient_name, None, "the guardian is not in the directory");
    let glass = &report.disclosures[4];
    assert!(matches!(glass.basis, AccessBasis::BreakGlass { .. }));
    assert_eq!(glass.review.as_ref().map(|r| (r.reviewer, r.justified)), Some((net.auditor, false)));
    assert_eq!((report.patient_name.as_deref(), report.checkpoint.size), (Some("Jane Roe"), net.ledger.tree().size()));

    // An empty exclusion list accounts for every read; a range leaves out what is outside it.
    let none = AccountingOptions { excluded_purposes: Vec::new() };
    let all = accounting(&net.ledger, &net.patient, None, &names(&net), &none, None).unwrap();
    assert_eq!(all.disclosures.iter().filter(|d| d.excluded.is_none()).count(), 3);
    let range = Some((T0 + 2 * HOUR, T0 + 4 * HOUR));
    let some = accounting(&net.ledger, &net.patient, range, &names(&net), &none, None).unwrap();
    assert_eq!(some.disclosures.iter().map(|d| d.access).collect::<Vec<_>>(), ids[1..3]);
}

#[test]
fn the_default_range_is_six_calendar_years() {
    let at = |text: &str| healthchain::fhir::datetime::parse(text, 0).unwrap().start as u64;
    let show = |ms: u64| format_instant(ms as i64).unwrap();
    assert_eq!(show(six_years_before(at("2026-12-04T10:11:12.345Z"))), "2020-12-04T10:11:12.345Z");
    assert_eq!(show(six_years_before(at("2028-02-29T00:00:00.000Z"))), "2022-02-28T00:00:00.000Z");
    assert_eq!(show(six_years_before(at("2024-03-01T23:59:59.999Z"))), "2018-03-01T23:59:59.999Z");
    let (net, _) = story();
    let report =
        accounting(&net.ledger, &net.patient, None, &names(&net), &AccountingOptions::default(), None).unwrap();
    assert_eq!((report.from, report.until), (six_years_before(net.ledger.now()), net.ledger.now() + 1));
}

#[test]
fn with_a_signed_checkpoint_each_line_carries_a_receipt_that_verifies() {
    let (mut net, ids) = story();
    let note = net.ledger.sign_checkpoint(&[&key(1)]).unwrap();
    net.ledger.seal(&[&key(1)]).unwrap(); // the unsealed read: after the checkpoint
    let report = accounting(&net.ledger, &net.patient, None, &names(&net), &AccountingOptions::default(), Some(&note));
    let report = report.unwrap();
    assert_eq!(report.disclosures.len(), ids.len() + 1);
    let policy = net.ledger.checkpoint_policy(Vec::new(), 0);
    for disclosure in &report.disclosures[..ids.len()] {
        let receipt = Receipt::parse(disclosure.receipt.as_deref().unwrap().as_bytes()).unwrap();
        let verified = receipt.verify(&policy).unwrap();
        assert_eq!(verified.transaction.id(), disclosure.access);
    }
    assert_eq!(report.disclosures[ids.len()].receipt, None, "sealed after the checkpoint: no receipt");
    assert_eq!(report.signed_checkpoint.as_deref(), Some(note.as_str()));
}

#[test]
fn json_csv_and_html_show_the_same_lines_and_escape_names() {
    let (net, ids) = story();
    let report =
        accounting(&net.ledger, &net.patient, None, &names(&net), &AccountingOptions::default(), None).unwrap();
    let value: Value = serde_json::from_str(&json(&report)).unwrap();
    let hex = |i: usize| to_hex(ids[i].as_bytes());
    let accounted: Vec<&str> =
        value["disclosures"].as_array().unwrap().iter().map(|d| d["access"].as_str().unwrap()).collect();
    assert_eq!(accounted, [hex(1)]);
    assert_eq!(value["excluded"].as_array().unwrap().len(), 4);
    assert_eq!(value["disclosures"][0]["description"], "labs: read");
    assert_eq!(value["checkpoint"]["size"], net.ledger.tree().size());
    assert!(value["how_to_verify"].as_str().unwrap().contains("healthchain verify-receipt"));

    let text = csv(&report);
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + ids.len());
    assert_eq!(lines[0], "date,recipient,recipient_id,description,purpose,basis,excluded,access");
    assert!(lines[1].starts_with(&format!("{},\"Dr. Who, MD\",", format_instant((T0 + HOUR) as i64).unwrap())));
    assert!(lines[2].contains(",\"'=HYPERLINK(\"\"x\"\") <b>Acme</b>\","), "{}", lines[2]);
    assert!(lines[5].contains("break-glass (unconscious; reviewed") && lines[5].contains("not justified"));

    let page = html(&report);
    assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
    assert!(page.contains("&lt;b&gt;Acme&lt;/b&gt;") && !page.contains("<b>Acme"));
    assert!(page.contains("<h2>Disclosures (1)</h2>") && page.contains("<h2>Excluded from the accounting (4)</h2>"));
    assert!(page.contains("Jane Roe") && page.contains("How to verify"));
    // Names are the caller's data: never in `Debug`.
    let debug = format!("{report:?}");
    assert!(!debug.contains("Jane") && !debug.contains("Who") && !debug.contains("Acme"), "{debug}");
}
