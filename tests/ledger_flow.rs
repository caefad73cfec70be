//! The ledger API end to end: every refusal of every transaction kind is typed, every success is visible
//! in the state, and nothing refused changes anything.

mod support;

use healthchain::*;
use support::*;

fn refused(result: Result<impl std::fmt::Debug, LedgerError>) -> TxError {
    match result {
        Err(LedgerError::Tx(e)) => e,
        other => panic!("expected a transaction refusal, got {other:?}"),
    }
}

#[test]
fn grant_answers_invalid_patient_already_has_access_or_granted_until() {
    let mut net = network();
    let grant = permit(&net, Grantee::Actor(net.doctor), &["labs", "meds"], &["TREAT"], Some(30));
    let granted = net.ledger.grant_consent(&net.patient_key, grant.clone()).unwrap();
    assert_eq!(granted.until, Some(T0 + 30 * DAY));

    // The same grant, or any grant it covers, is refused as already granted.
    assert_eq!(
        refused(net.ledger.grant_consent(&net.patient_key, grant.clone())),
        TxError::AlreadyHasAccess { existing: granted.consent, until: Some(T0 + 30 * DAY) }
    );
    let narrower = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], Some(10));
    assert!(matches!(refused(net.ledger.grant_consent(&net.patient_key, narrower)), TxError::AlreadyHasAccess { .. }));
    // A longer window, another section or another purpose is new access.
    let longer = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], Some(31));
    let wider = permit(&net, Grantee::Actor(net.doctor), &["labs", "notes"], &["TREAT"], Some(30));
    assert!(net.ledger.grant_consent(&net.patient_key, longer).is_ok());
    assert!(net.ledger.grant_consent(&net.patient_key, wider).is_ok());

    let mut bad = grant.clone();
    bad.patient = net.doctor;
    assert_eq!(refused(net.ledger.grant_consent(&net.patient_key, bad)), TxError::InvalidPatient);
    let mut unknown = grant.clone();
    unknown.patient = ActorId::from_key(&key(200).public_key());
    assert_eq!(refused(net.ledger.grant_consent(&net.patient_key, unknown)), TxError::InvalidPatient);
    let mut stranger = grant.clone();
    stranger.grantee = Grantee::Actor(ActorId::from_key(&key(201).public_key()));
    assert_eq!(refused(net.ledger.grant_consent(&net.patient_key, stranger)), TxError::UnknownGrantee);
    let mut empty = grant.clone();
    empty.window.not_after = Some(empty.window.not_before);
    assert_eq!(refused(net.ledger.grant_consent(&net.patient_key, empty)), TxError::EmptyWindow);
    let nurse_grant = permit(&net, Grantee::Actor(net.nurse), &["labs"], &["TREAT"], None);
    assert_eq!(refused(net.ledger.grant_consent(&net.doctor_key, nurse_grant.clone())), TxError::Unauthorized);
    net.ledger.deactivate(&net.hospital, net.nurse).unwrap();
    assert_eq!(refused(net.ledger.grant_consent(&net.patient_key, nurse_grant)), TxError::GranteeDeactivated);
    assert!(net.ledger.verify().is_valid());
}

#[test]
fn several_grants_go_in_all_or_none() {
    let mut net = network();
    let labs = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], Some(30));
    let meds = permit(&net, Grantee::Actor(net.nurse), &["meds"], &["TREAT"], None);
    let now = net.ledger.now();
    let empty = ConsentGrant { window: Window { not_before: now, not_after: Some(now) }, ..meds.clone() };
    let exception = Exception {
        grantee: None,
        sections: codes(&["labs"]),
        purposes: codes(&["TREAT"]),
        actions: Actions::READ,
        window: Window { not_before: now, not_after: None },
    };
    let excepted_permit = ConsentGrant { exceptions: vec![exception.clone()], ..meds.clone() };
    let before = (net.ledger.pending().len(), net.ledger.state().last_sequence(&net.patient));
    // A refusal anywhere in the list: the first refused is named, and nothing is queued.
    for (list, index, refusal) in [
        (vec![labs.clone(), meds.clone(), empty], 2, TxError::EmptyWindow),
        (vec![labs.clone(), excepted_permit], 1, TxError::ExceptionsOnPermit),
    ] {
        match net.ledger.grant_consents(&net.patient_key, list) {
            Err(LedgerError::GrantRefused { index: at, refusal: why }) => assert_eq!((at, why), (index, refusal)),
            other => panic!("expected a refusal of grant {index}, got {other:?}"),
        }
        assert_eq!((net.ledger.pending().len(), net.ledger.state().last_sequence(&net.patient)), before);
    }
    // A permit covered by an earlier one of the same list names that one.
    let narrower = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], Some(10));
    match net.ledger.grant_consents(&net.patient_key, vec![meds.clone(), labs.clone(), narrower]) {
        Err(LedgerError::GrantRefused { index: 2, refusal: TxError::AlreadyHasAccess { existing, until } }) => {
            let payloads = [Payload::GrantConsent(meds.clone()), Payload::GrantConsent(labs.clone())];
            let second = net.ledger.prepare_batch(net.patient, payloads).remove(1);
            assert_eq!(existing, second.sign(&net.patient_key).id(), "the covering grant of the list");
            assert_eq!(until, labs.window.not_after);
        }
        other => panic!("expected AlreadyHasAccess, got {other:?}"),
    }
    assert_eq!(net.ledger.pending().len(), before.0);
    // All accepted: queued in order, each with its id, and a deny with exceptions among them.
    let deny = ConsentGrant {
        effect: Effect::Deny,
        exceptions: vec![exception],
        ..permit(&net, Grantee::Role(Role::Insurer), &["labs"], &["HPAYMT"], None)
    };
    let granted = net.ledger.grant_consents(&net.patient_key, vec![labs.clone(), meds, deny.clone()]).unwrap();
    let queued: Vec<TxId> = net.ledger.pending().iter().map(SignedTx::id).collect();
    assert_eq!(granted.iter().map(|g| g.consent).collect::<Vec<_>>(), queued[before.0..]);
    assert_eq!(granted[0].until, labs.window.not_after);
    net.ledger.seal(&[&net.hospital]).unwrap();
    assert_eq!(net.ledger.state().latest().consent(&granted[2].consent).map(|c| c.grant), Some(deny));
    assert!(net.ledger.grant_consents(&net.patient_key, Vec::new()).unwrap().is_empty());
}

#[test]
fn refused_transactions_change_nothing_and_do_not_consume_sequence_numbers() {
    let mut net = network();
    let before = net.ledger.state().last_sequence(&net.patient);
    let mut empty = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], Some(1));
    empty.window.not_after = Some(0);
    refused(net.ledger.grant_consent(&net.patient_key, empty));
    assert_eq!(net.ledger.state().last_sequence(&net.patient), before);
    assert!(net.ledger.consents_of(&net.patient).is_empty());
    assert!(net.ledger.pending().is_empty());
}

#[test]
fn decisions_follow_the_design_order() {
    let mut net = network();
    let read = |net: &Net, who, section, purpose| net.ledger.check(&request(net, who, section, purpose)).unwrap();
    assert_eq!(read(&net, net.patient, "labs", "TREAT"), Decision::Permit(PermitBasis::Owner));
    assert_eq!(read(&net, net.doctor, "labs", "TREAT"), Decision::Deny(DenyReason::NoConsent));
    // Break-glass needs an emergency purpose and a provider.
    assert_eq!(read(&net, net.doctor, "labs", "ETREAT"), Decision::BreakGlass);
    assert_eq!(read(&net, net.insurer, "labs", "ETREAT"), Decision::Deny(DenyReason::NoConsent));

    let role = net
        .ledger
        .grant_consent(&net.patient_key, permit(&net, Grantee::Role(Role::Provider), &["*"], &["TREAT"], None))
        .unwrap();
    assert_eq!(read(&net, net.doctor, "labs", "TREAT"), Decision::Permit(PermitBasis::Consents(vec![role.consent])));
    let mut deny = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["*"], None);
    deny.effect = Effect::Deny;
    let deny = net.ledger.grant_consent(&net.patient_key, deny).unwrap();
    assert_eq!(read(&net, net.doctor, "labs", "TREAT"), Decision::Deny(DenyReason::DenyRules(vec![deny.consent])));
    assert_eq!(read(&net, net.doctor, "meds", "TREAT"), Decision::Permit(PermitBasis::Consents(vec![role.consent])));
    // Emergency overrides the patient's deny, and is flagged as break-glass.
    assert_eq!(read(&net, net.doctor, "labs", "ETREAT"), Decision::BreakGlass);

    // Unknown actors are errors, not decisions; wildcards are not questions.
    let mut q = request(&net, net.doctor, "labs", "TREAT");
    q.requester = ActorId::from_key(&key(250).public_key());
    assert_eq!(net.ledger.check(&q), Err(CheckError::UnknownActor));
    q.requester = net.doctor;
    q.patient = net.doctor;
    assert_eq!(net.ledger.check(&q), Err(CheckError::InvalidPatient));
    let mut q = request(&net, net.doctor, "labs", "TREAT");
    q.section = code("*");
    assert_eq!(net.ledger.check(&q), Err(CheckError::WildcardInRequest));

    // Windows are half-open and checked at the time asked about.
    let mut q = request(&net, net.insurer, "billing", "HPAYMT");
    let g = permit(&net, Grantee::Actor(net.insurer), &["billing"], &["HPAYMT"], Some(1));
    let g = net.ledger.grant_consent(&net.patient_key, g).unwrap();
    assert_eq!(net.ledger.check(&q).unwrap(), Decision::Permit(PermitBasis::Consents(vec![g.consent])));
    q.at = T0 + DAY - 1;
    assert!(net.ledger.check(&q).unwrap().is_permitted());
    q.at = T0 + DAY;
    assert_eq!(net.ledger.check(&q).unwrap(), Decision::Deny(DenyReason::NoConsent));
    // Before the patient was registered, the question has no answer (as it had none then).
    q.at = T0 - 2;
    assert_eq!(net.ledger.check(&q), Err(CheckError::InvalidPatient));
}

#[test]
fn nothing_authorises_an_access_retroactively() {
    let mut net = network();
    // A role grant whose window starts in the past, given a month from now.
    net.clock.advance(30 * DAY);
    let mut grant = permit(&net, Grantee::Role(Role::Provider), &["labs"], &["TREAT"], None);
    grant.window.not_before = T0;
    let g = net.ledger.grant_consent(&net.patient_key, grant).unwrap();
    let mut before_grant = request(&net, net.doctor, "labs", "TREAT");
    before_grant.at = T0 + DAY;
    assert_eq!(net.ledger.check(&before_grant).unwrap(), Decision::Deny(DenyReason::NoConsent));
    let basis = AccessBasis::Consents(vec![g.consent]);
    let access = RecordAccess::for_request(&before_grant, basis.clone());
    assert!(matches!(refused(net.ledger.record_access(&net.doctor_key, access)), TxError::AccessDenied(_)));
    // A provider registered later cannot claim an access from before its registration.
    net.clock.advance(DAY);
    let late_key = key(60);
    let late = net.ledger.register(&net.hospital, &late_key, Role::Provider).unwrap();
    let mut early = request(&net, late, "labs", "TREAT");
    early.at = net.ledger.now() - HOUR;
    assert_eq!(net.ledger.check(&early), Err(CheckError::UnknownActor));
    let now = request(&net, late, "labs", "TREAT");
    assert_eq!(net.ledger.check(&now).unwrap(), Decision::Permit(PermitBasis::Consents(vec![g.consent])));
}

#[test]
fn a_read_delegation_never_permits_writes() {
    let mut net = network();
    let now = net.clock.now_ms();
    let grant = DelegationGrant {
        patient: net.patient,
        delegate: net.nurse,
        scopes: Scopes::READ,
        window: Window { not_before: now, not_after: None },
    };
    let id = net.ledger.grant_delegation(&net.patient_key, grant).unwrap();
    let mut q = request(&net, net.nurse, "labs", "TREAT");
    assert_eq!(net.ledger.check(&q).unwrap(), Decision::Permit(PermitBasis::Delegate(id)));
    q.action = Action::Write;
    assert_eq!(net.ledger.check(&q).unwrap(), Decision::Deny(DenyReason::NoConsent));
    let anchor = AnchorRecord {
        patient: net.patient,
        section: code("labs"),
        purpose: code("TREAT"),
        commitment: healthchain::hash::commitment(&[1; 32], b"v2"),
    };
    assert!(matches!(refused(net.ledger.anchor_record(&net.nurse_key, anchor)), TxError::AccessDenied(_)));
}

#[test]
fn sealing_uses_the_authorities_before_the_block_as_verification_does() {
    let clock = ManualClock::new(T0);
    let (a, b) = (key(1), key(2));
    let mut ledger =
        Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &LedgerSettings::new("seal"), &[&a]).unwrap();
    // An authority rotating its own key seals that block with its old key, the next with its new one.
    let a_id = ActorId::from_key(&a.public_key());
    let a2 = key(3);
    ledger.rotate_key(&a, a_id, &a2).unwrap();
    assert!(matches!(ledger.seal(&[&a2]), Err(LedgerError::UnknownKey(_))));
    ledger.seal(&[&a]).unwrap();
    // A new authority cannot seal the block that registers it; the old one can seal its own deactivation.
    let b_id = ledger.register(&a2, &b, Role::Authority).unwrap();
    assert!(matches!(ledger.seal(&[&a2, &b]), Err(LedgerError::UnknownKey(_))));
    ledger.deactivate(&a2, a_id).unwrap();
    ledger.seal(&[&a2]).unwrap();
    assert!(matches!(
        ledger.sign_and_submit(&a, Payload::EraseSubject { patient: b_id }),
        Err(LedgerError::KeyNotActive)
    ));
    ledger.register(&b, &key(4), Role::Patient).unwrap();
    assert!(matches!(ledger.seal(&[&a2]), Err(LedgerError::UnknownKey(_))));
    ledger.seal(&[&b]).unwrap();
    let report = ledger.verify();
    assert!(report.is_valid(), "{:?}", report.failure);
    assert_eq!(report.blocks, 4);
    // No authority may rotate another authority's key (k-of-n would become 1-of-n).
    let a3 = key(5);
    assert!(matches!(ledger.rotate_key(&b, a_id, &a3), Err(LedgerError::Tx(TxError::Unauthorized))));
}

#[test]
fn a_clock_stepping_back_stops_nothing() {
    let mut net = network();
    net.clock.advance(DAY);
    net.ledger.register(&net.hospital, &key(61), Role::Provider).unwrap();
    let sealed = net.ledger.seal(&[&net.hospital]).unwrap();
    net.clock.set(T0 - DAY);
    let grant = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
    net.ledger.grant_consent(&net.patient_key, grant).unwrap();
    let next = net.ledger.seal(&[&net.hospital]).unwrap();
    assert!(next.header.timestamp >= sealed.header.timestamp);
    assert!(net.ledger.verify().is_valid());
}

#[test]
fn revocation_ends_consent_from_its_time_and_as_of_queries_see_the_past() {
    let mut net = network();
    let granted = net
        .ledger
        .grant_consent(&net.patient_key, permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None))
        .unwrap();
    let granted_at = net.ledger.seal(&[&net.hospital]).unwrap().header.height;
    net.clock.advance(DAY);
    net.ledger.revoke_consent(&net.patient_key, granted.consent).unwrap();
    assert_eq!(refused(net.ledger.revoke_consent(&net.patient_key, granted.consent)), TxError::ConsentAlreadyRevoked);
    let revoked_at = net.ledger.seal(&[&net.hospital]).unwrap().header.height;

    let now = request(&net, net.doctor, "labs", "TREAT");
    assert_eq!(net.ledger.check(&now).unwrap(), Decision::Deny(DenyReason::NoConsent));
    // Before the revocation's time the consent was in force, on the latest state too.
    let mut earlier = now.clone();
    earlier.at = T0 + HOUR;
    let permitted = Decision::Permit(PermitBasis::Consents(vec![granted.consent]));
    assert_eq!(net.ledger.check(&earlier).unwrap(), permitted);
    // As of the block that granted it, the consent is unrevoked even at a later instant.
    assert_eq!(net.ledger.check_as_of(granted_at, &now).unwrap(), permitted);
    assert_eq!(net.ledger.check_as_of(revoked_at, &now).unwrap(), Decision::Deny(DenyReason::NoConsent));
    assert_eq!(net.ledger.check_as_of(0, &now), Err(CheckError::InvalidPatient));
    assert_eq!(
        net.ledger.check_as_of(revoked_at + 1, &now),
        Err(CheckError::HeightBeyondHead { asked: revoked_at + 1, head: revoked_at })
    );
}

#[test]
fn record_access_must_match_the_decision_and_its_basis() {
    let mut net = network();
    let granted = net
        .ledger
        .grant_consent(&net.patient_key, permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None))
        .unwrap();
    let req = request(&net, net.doctor, "labs", "TREAT");
    let wrong = AccessBasis::Consents(vec![TxId::default()]);
    assert!(matches!(
        refused(net.ledger.record_access(&net.doctor_key, RecordAccess::for_request(&req, wrong))),
        TxError::BasisMismatch(_)
    ));
    assert!(matches!(
        refused(net.ledger.record_access(&net.doctor_key, RecordAccess::for_request(&req, break_glass()))),
        TxError::BasisMismatch(Decision::Permit(_))
    ));
    let denied = request(&net, net.nurse, "labs", "TREAT");
    assert_eq!(
        refused(net.ledger.record_access(
            &net.nurse_key,
            RecordAccess::for_request(&denied, AccessBasis::Consents(vec![granted.consent]))
        )),
        TxError::AccessDenied(Decision::Deny(DenyReason::NoConsent))
    );
    let mut future = RecordAccess::for_request(&req, AccessBasis::Consents(vec![granted.consent]));
    future.at = net.clock.now_ms() + 1;
    assert_eq!(refused(net.ledger.record_access(&net.doctor_key, future)), TxError::AccessInFuture);
    let id = net
        .ledger
        .record_access(&net.doctor_key, RecordAccess::for_request(&req, AccessBasis::Consents(vec![granted.consent])))
        .unwrap();
    let history = net.ledger.access_history(&net.patient).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!((history[0].id, history[0].accessor), (id, net.doctor));
    assert!(net.ledger.access_history(&net.nurse).unwrap().is_empty());
}

#[test]
fn break_glass_is_recorded_and_reviewed_once_by_an_auditor() {
    let mut net = network();
    let req = request(&net, net.nurse, "meds", "ETREAT");
    let id = net.ledger.record_access(&net.nurse_key, RecordAccess::for_request(&req, break_glass())).unwrap();
    assert_eq!(refused(net.ledger.review_break_glass(&net.doctor_key, id, true)), TxError::Unauthorized);
    assert_eq!(refused(net.ledger.review_break_glass(&net.auditor_key, TxId::default(), true)), TxError::UnknownAccess);
    net.ledger.review_break_glass(&net.auditor_key, id, false).unwrap();
    assert_eq!(refused(net.ledger.review_break_glass(&net.auditor_key, id, true)), TxError::AlreadyReviewed);
    let review = net.ledger.access_history(&net.patient).unwrap()[0].review.unwrap();
    assert_eq!((review.reviewer, review.justified), (net.auditor, false));

    let own = request(&net, net.patient, "meds", "TREAT");
    let own_id =
        net.ledger.record_access(&net.patient_key, RecordAccess::for_request(&own, AccessBasis::Owner)).unwrap();
    assert_eq!(refused(net.ledger.review_break_glass(&net.auditor_key, own_id, true)), TxError::NotBreakGlass);
}

#[test]
fn break_glass_can_be_disabled_by_policy() {
    let clock = ManualClock::new(T0);
    let hospital = key(1);
    let mut settings = LedgerSettings::new("no-emergency");
    settings.policy.break_glass_allowed = false;
    let mut ledger = Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &settings, &[&hospital]).unwrap();
    let patient = ledger.register(&hospital, &key(2), Role::Patient).unwrap();
    let doctor = ledger.register(&hospital, &key(3), Role::Provider).unwrap();
    let q = CheckRequest {
        patient,
        requester: doctor,
        section: code("labs"),
        purpose: code("ETREAT"),
        action: Action::Read,
        at: ledger.now(),
    };
    assert_eq!(ledger.check(&q).unwrap(), Decision::Deny(DenyReason::NoConsent));
}

#[test]
fn delegates_read_and_manage_within_their_scope_and_window() {
    let mut net = network();
    let now = net.clock.now_ms();
    let mut grant = DelegationGrant {
        patient: net.patient,
        delegate: net.guardian,
        scopes: Scopes::READ,
        window: Window { not_before: now, not_after: Some(now + DAY) },
    };
    let read_only = net.ledger.grant_delegation(&net.patient_key, grant.clone()).unwrap();
    let q = request(&net, net.guardian, "notes", "TREAT");
    assert_eq!(net.ledger.check(&q).unwrap(), Decision::Permit(PermitBasis::Delegate(read_only)));
    // Read scope does not manage consent.
    let doctor_grant = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
    assert_eq!(refused(net.ledger.grant_consent(&net.guardian_key, doctor_grant.clone())), TxError::Unauthorized);
    // An authority may appoint a guardian with manage scope (court order).
    grant.scopes = Scopes::MANAGE;
    let manage = net.ledger.grant_delegation(&net.hospital, grant.clone()).unwrap();
    let g = net.ledger.grant_consent(&net.guardian_key, doctor_grant).unwrap();
    net.ledger.revoke_consent(&net.guardian_key, g.consent).unwrap();
    assert_eq!(refused(net.ledger.grant_delegation(&net.doctor_key, grant.clone())), TxError::Unauthorized);
    let mut own = grant.clone();
    own.delegate = net.patient;
    assert_eq!(refused(net.ledger.grant_delegation(&net.patient_key, own)), TxError::SelfDelegation);
    net.ledger.revoke_delegation(&net.patient_key, manage).unwrap();
    assert_eq!(refused(net.ledger.revoke_delegation(&net.patient_key, manage)), TxError::DelegationAlreadyRevoked);
    assert_eq!(refused(net.ledger.revoke_delegation(&net.patient_key, TxId::default())), TxError::UnknownDelegation);
    let after = permit(&net, Grantee::Actor(net.nurse), &["labs"], &["TREAT"], None);
    assert_eq!(refused(net.ledger.grant_consent(&net.guardian_key, after)), TxError::Unauthorized);
    // The read delegation expires with its window.
    net.clock.advance(DAY);
    let q = request(&net, net.guardian, "notes", "TREAT");
    assert_eq!(net.ledger.check(&q).unwrap(), Decision::Deny(DenyReason::NoConsent));
    assert!(net.ledger.verify().is_valid());
}

#[test]
fn keys_rotate_with_history_and_deactivated_actors_cannot_act() {
    let mut net = network();
    let new_key = key(77);
    net.ledger.rotate_key(&net.doctor_key, net.doctor, &new_key).unwrap();
    // The old key no longer signs; the actor id is stable.
    let grant = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
    net.ledger.grant_consent(&net.patient_key, grant).unwrap();
    let req = request(&net, net.doctor, "labs", "TREAT");
    let basis = net.ledger.check(&req).unwrap().access_basis().unwrap();
    let tx = net
        .ledger
        .prepare(net.doctor, Payload::RecordAccess(RecordAccess::for_request(&req, basis.clone())))
        .sign(&net.doctor_key);
    assert_eq!(refused(net.ledger.submit(tx)), TxError::BadSignature);
    net.ledger.record_access(&new_key, RecordAccess::for_request(&req, basis)).unwrap();
    assert_eq!(net.ledger.actor(&net.doctor).unwrap().keys.len(), 2);
    // A key cannot be reused, and possession must be proven.
    assert_eq!(refused(net.ledger.register(&net.hospital, &new_key, Role::Provider)), TxError::KeyInUse);
    let bogus = net.ledger.register_actor(
        &net.hospital,
        &key(90).public_key(),
        key(91).prove_possession(&net.ledger.chain()),
        Role::Provider,
    );
    assert_eq!(refused(bogus), TxError::BadProofOfPossession);
    assert_eq!(refused(net.ledger.register(&new_key, &key(92), Role::Provider)), TxError::Unauthorized);

    net.ledger.seal(&[&net.hospital]).unwrap();
    net.ledger.deactivate(&net.hospital, net.doctor).unwrap();
    assert_eq!(refused(net.ledger.deactivate(&net.hospital, net.doctor)), TxError::AlreadyDeactivated);
    let req = request(&net, net.doctor, "labs", "TREAT");
    assert_eq!(net.ledger.check(&req).unwrap(), Decision::Deny(DenyReason::RequesterDeactivated));
    assert_eq!(
        refused(net.ledger.record_access(&new_key, RecordAccess::for_request(&req, AccessBasis::Owner))),
        TxError::SignerDeactivated
    );
    // The last authority cannot be deactivated: blocks could no longer be sealed.
    let hospital_id = ActorId::from_key(&net.hospital.public_key());
    assert_eq!(refused(net.ledger.deactivate(&net.hospital, hospital_id)), TxError::WouldBreakQuorum);
    net.ledger.seal(&[&net.hospital]).unwrap();
    let report = net.ledger.verify();
    assert!(report.is_valid(), "{:?}", report.failure);
}

#[test]
fn erasure_denies_everything_from_its_time_and_the_chain_still_verifies() {
    let mut net = network();
    let granted = net
        .ledger
        .grant_consent(&net.patient_key, permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None))
        .unwrap();
    let before = request(&net, net.doctor, "labs", "TREAT");
    net.ledger.seal(&[&net.hospital]).unwrap();
    net.clock.advance(HOUR);
    net.ledger.sign_and_submit(&net.patient_key, Payload::EraseSubject { patient: net.patient }).unwrap();
    let req = request(&net, net.patient, "labs", "TREAT");
    assert_eq!(net.ledger.check(&req).unwrap(), Decision::Deny(DenyReason::PatientErased));
    // What was sealed before the erasure is answered as it was (history is immutable) ...
    assert_eq!(net.ledger.check(&before).unwrap(), Decision::Permit(PermitBasis::Consents(vec![granted.consent])));
    // ... but no access to the erased data can be recorded any more, whatever instant it names.
    let access = RecordAccess::for_request(&before, AccessBasis::Consents(vec![granted.consent]));
    assert_eq!(refused(net.ledger.record_access(&net.doctor_key, access)), TxError::PatientErased);
    let grant = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
    assert_eq!(refused(net.ledger.grant_consent(&net.patient_key, grant)), TxError::PatientErased);
    let again = net.ledger.sign_and_submit(&net.hospital, Payload::EraseSubject { patient: net.patient });
    assert_eq!(refused(again), TxError::AlreadyErased);
    net.ledger.seal(&[&net.hospital]).unwrap();
    assert!(net.ledger.verify().is_valid());
}

#[test]
fn anchors_need_write_permission_or_custody() {
    let mut net = network();
    let anchor = AnchorRecord {
        patient: net.patient,
        section: code("labs"),
        purpose: code("TREAT"),
        commitment: healthchain::hash::commitment(&[1; 32], b"v1"),
    };
    let write = |net: &mut Net, anchor: &AnchorRecord| {
        net.ledger.sign_and_submit(&net.doctor_key, Payload::AnchorRecord(anchor.clone()))
    };
    assert!(matches!(refused(write(&mut net, &anchor)), TxError::AccessDenied(_)));
    let mut grant = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
    grant.actions = Actions::WRITE;
    net.ledger.grant_consent(&net.patient_key, grant).unwrap();
    write(&mut net, &anchor).unwrap();
    assert_eq!(
        refused(net.ledger.sign_and_submit(&net.insurer_key, Payload::AnchorRecord(anchor.clone()))),
        TxError::Unauthorized
    );
    // The custodian needs no permission, but an anchor still names one section and one purpose.
    for wildcard in
        [AnchorRecord { section: code("*"), ..anchor.clone() }, AnchorRecord { purpose: code("*"), ..anchor.clone() }]
    {
        assert_eq!(
            refused(net.ledger.sign_and_submit(&net.hospital, Payload::AnchorRecord(wildcard))),
            TxError::WildcardInRequest
        );
    }
    net.ledger.sign_and_submit(&net.hospital, Payload::AnchorRecord(anchor)).unwrap();
    assert_eq!(net.ledger.anchors_of(&net.patient).unwrap().len(), 2);
}

#[test]
fn external_signers_get_exact_bytes_and_replays_are_refused() {
    let mut net = network();
    let grant = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
    let body = net.ledger.prepare(net.patient, Payload::GrantConsent(grant));
    // An HSM signs exactly these bytes.
    let bytes = body.signing_bytes();
    let signature = net.patient_key.sign(&bytes);
    let tx = body.attach_signature(signature);
    let id = net.ledger.submit(tx.clone()).unwrap();
    assert_eq!(id, tx.id());
    assert_eq!(refused(net.ledger.submit(tx.clone())), TxError::BadSequence { expected: 2, found: 1 });
    // Another chain's transaction is refused.
    let mut other = network();
    assert_eq!(refused(other.ledger.submit(tx)), TxError::WrongChain);
    // A signature by someone else is refused.
    let body = net.ledger.prepare(net.patient, Payload::EraseSubject { patient: net.patient });
    let forged = body.attach_signature(
        net.doctor_key
            .sign(&net.ledger.prepare(net.patient, Payload::EraseSubject { patient: net.patient }).signing_bytes()),
    );
    assert_eq!(refused(net.ledger.submit(forged)), TxError::BadSignature);
}

#[test]
fn transaction_times_are_bounded_by_the_clock_and_previous_block() {
    let mut net = network();
    let grant = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
    let mut body = net.ledger.prepare(net.patient, Payload::GrantConsent(grant));
    let head = net.ledger.head().unwrap().timestamp;
    let latest = net.clock.now_ms() + Policy::default().max_clock_skew_ms;
    for time in [latest + 1, head, head - 1, 0] {
        body.time = time;
        let expected = TxError::TimeOutOfRange { time, earliest: head + 1, latest };
        assert_eq!(refused(net.ledger.submit(body.clone().sign(&net.patient_key))), expected);
    }
    // Strictly after the previous block, up to the clock plus the allowed skew.
    body.time = head + 1;
    net.ledger.submit(body.clone().sign(&net.patient_key)).unwrap();
}

#[test]
fn a_back_dated_revocation_cannot_rewrite_sealed_history() {
    // Regression (issue 8, A5): a revocation dated before the previous block's timestamp was accepted, and
    // `check` about an instant already sealed as permitted then answered "no consent".
    let mut net = network();
    let grant = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
    let granted = net.ledger.grant_consent(&net.patient_key, grant).unwrap();
    net.clock.advance(HOUR);
    let sealed_instant = net.ledger.now();
    let req = request(&net, net.doctor, "labs", "TREAT");
    let access = RecordAccess::for_request(&req, AccessBasis::Consents(vec![granted.consent]));
    net.ledger.record_access(&net.doctor_key, access).unwrap();
    net.ledger.seal(&[&net.hospital]).unwrap();
    let head = net.ledger.head().unwrap().timestamp;
    assert!(head >= sealed_instant);
    let before = net.ledger.check(&req).unwrap();
    assert_eq!(before, Decision::Permit(PermitBasis::Consents(vec![granted.consent])));

    let mut body = net.ledger.prepare(net.patient, Payload::RevokeConsent { consent: granted.consent });
    for time in [sealed_instant - 1, sealed_instant, head] {
        body.time = time;
        assert!(matches!(
            refused(net.ledger.submit(body.clone().sign(&net.patient_key))),
            TxError::TimeOutOfRange { earliest, .. } if earliest == head + 1
        ));
    }
    // A revocation now takes effect after the sealed block: the sealed answer stands.
    net.ledger.revoke_consent(&net.patient_key, granted.consent).unwrap();
    net.ledger.seal(&[&net.hospital]).unwrap();
    assert_eq!(net.ledger.check(&req).unwrap(), before);
    assert!(net.ledger.verify().is_valid());
    let mut after = req.clone();
    after.at = net.ledger.now();
    assert_eq!(net.ledger.check(&after).unwrap(), Decision::Deny(DenyReason::NoConsent));
}

#[test]
fn sealing_rules() {
    let mut net = network();
    assert!(matches!(net.ledger.seal(&[&net.hospital]), Err(LedgerError::NothingToSeal)));
    net.ledger.register(&net.hospital, &key(40), Role::Researcher).unwrap();
    assert!(matches!(net.ledger.seal(&[&net.doctor_key]), Err(LedgerError::UnknownKey(_))));
    assert!(matches!(net.ledger.seal(&[]), Err(LedgerError::NotEnoughSealers { have: 0, need: 1 })));
    // The clock going back does not make timestamps decrease.
    let before = net.ledger.head().unwrap().timestamp;
    net.clock.set(T0 - DAY);
    let sealed = net.ledger.seal(&[&net.hospital]).unwrap();
    assert!(sealed.header.timestamp >= before);
    assert!(net.ledger.verify().is_valid());
}

#[test]
fn k_of_n_authorities_seal_blocks() {
    let clock = ManualClock::new(T0);
    let (a, b, c) = (key(1), key(2), key(3));
    let mut settings = LedgerSettings::new("consortium");
    settings.seal_threshold = 2;
    let mut ledger = Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &settings, &[&a, &b, &c]).unwrap();
    ledger.register(&a, &key(10), Role::Patient).unwrap();
    assert!(matches!(ledger.seal(&[&a]), Err(LedgerError::NotEnoughSealers { have: 1, need: 2 })));
    assert!(matches!(ledger.seal(&[&a, &a]), Err(LedgerError::NotEnoughSealers { have: 1, need: 2 })));
    ledger.seal(&[&b, &c]).unwrap();
    ledger.deactivate(&a, ActorId::from_key(&c.public_key())).unwrap();
    assert_eq!(refused(ledger.deactivate(&a, ActorId::from_key(&b.public_key()))), TxError::WouldBreakQuorum);
    ledger.seal(&[&a, &b]).unwrap();
    let report = ledger.verify();
    assert!(report.is_valid(), "{:?}", report.failure);
    assert_eq!(report.blocks, 3);

    // Reopening replays and verifies everything.
    let reopened = Ledger::open(ledger.into_store(), Box::new(clock)).unwrap();
    assert_eq!(reopened.block_count(), 3);
}

#[test]
fn open_rejects_a_corrupt_store_and_create_a_used_one() {
    let net = busy_network();
    let mut blocks = blocks(&net);
    blocks[3][200] ^= 1;
    let err = Ledger::open_verified(MemoryStore::from_blocks(blocks), Box::new(ManualClock::new(T0))).unwrap_err();
    assert!(matches!(err, LedgerError::Corrupt { failure: VerifyFailure { height: 3, .. }, offset: None }), "{err}");
    let used = MemoryStore::from_blocks(support::blocks(&net));
    let again = Ledger::create(used, Box::new(ManualClock::new(T0)), &LedgerSettings::new("x"), &[&key(1)]);
    assert!(matches!(again, Err(LedgerError::StoreNotEmpty)));
    assert!(matches!(Ledger::open(MemoryStore::new(), Box::new(ManualClock::new(T0))), Err(LedgerError::StoreEmpty)));
}

#[test]
fn external_sealers_sign_a_proposal_and_the_ledger_commits_it() {
    let clock = ManualClock::new(T0);
    let (a, b, c) = (key(1), key(2), key(3));
    let mut settings = LedgerSettings::new("hsm-sealing");
    settings.seal_threshold = 2;
    let mut ledger = Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &settings, &[&a, &b, &c]).unwrap();
    let (a_id, b_id) = (ActorId::from_key(&a.public_key()), ActorId::from_key(&b.public_key()));
    ledger.register(&a, &key(10), Role::Patient).unwrap();
    let proposal = ledger.propose_block(a_id).unwrap();
    // Each HSM signs exactly these bytes.
    let seal = |id, k: &SigningKey| Seal { authority: id, signature: k.sign(&proposal.seal_bytes()) };
    let one = vec![seal(a_id, &a)];
    assert!(matches!(
        ledger.commit_block(&proposal, one),
        Err(LedgerError::Corrupt {
            failure: VerifyFailure { reason: BlockError::NotEnoughSeals { have: 1, need: 2 }, .. },
            ..
        })
    ));
    let forged = vec![seal(a_id, &a), seal(b_id, &c)];
    assert!(matches!(ledger.commit_block(&proposal, forged), Err(LedgerError::Corrupt { .. })));
    // A proposal made before more transactions arrived is stale.
    ledger.register(&a, &key(11), Role::Provider).unwrap();
    let stale = ledger.commit_block(&proposal, vec![seal(a_id, &a), seal(b_id, &b)]);
    assert!(matches!(stale, Err(LedgerError::StaleProposal)));
    let proposal = ledger.propose_block(a_id).unwrap();
    let seals = vec![
        Seal { authority: b_id, signature: b.sign(&proposal.seal_bytes()) },
        Seal { authority: a_id, signature: a.sign(&proposal.seal_bytes()) },
    ];
    let sealed = ledger.commit_block(&proposal, seals).unwrap();
    assert_eq!(sealed.hash, proposal.hash());
    assert_eq!(ledger.block_count(), 2);
    assert!(ledger.verify().is_valid());
}

#[test]
fn invalid_settings_are_refused_before_a_file_is_made() {
    let dir = std::env::temp_dir().join(format!("hc-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("duplicate-authorities.ledger");
    let key = SigningKey::from_seed(&[3; 32]);
    let clock = || -> Box<dyn Clock> { Box::new(ManualClock::new(T0)) };
    let settings = LedgerSettings::new("dup");
    for authorities in [vec![&key, &key], vec![]] {
        let result = Ledger::create_file(&path, clock(), &settings, &authorities);
        assert!(matches!(result, Err(LedgerError::InvalidSettings(_))), "{result:?}");
        assert!(!path.exists(), "a refused create left a file behind");
    }
    let other = SigningKey::from_seed(&[4; 32]);
    let ledger = Ledger::create_file(&path, clock(), &settings, &[&key, &other]).unwrap();
    assert_eq!(ledger.state().active_authorities().len(), 2);
    drop(ledger);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_read_only_ledger_refuses_updates_up_front_and_stays_usable() {
    let dir = std::env::temp_dir().join(format!("hc-read-only-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("read-only.ledger");
    let hospital = SigningKey::from_seed(&[5; 32]);
    let clock = ManualClock::new(T0);
    let settings = LedgerSettings::new("read-only");
    drop(Ledger::create_file(&path, Box::new(clock.clone()), &settings, &[&hospital]).unwrap());
    let options = OpenOptions { read_only: true, strict: false };
    let mut ledger = Ledger::open_file(&path, Box::new(clock), options).unwrap();
    let newcomer = SigningKey::from_seed(&[6; 32]);
    let refused = ledger.register(&hospital, &newcomer, Role::Provider);
    assert!(matches!(refused, Err(LedgerError::Store(StoreError::ReadOnly))), "{refused:?}");
    assert!(ledger.pending().is_empty());
    let sealed = ledger.seal(&[&hospital]);
    assert!(matches!(sealed, Err(LedgerError::Store(StoreError::ReadOnly))), "{sealed:?}");
    // Not poisoned: queries and verification still work.
    assert!(ledger.actor(&ActorId::from_key(&hospital.public_key())).is_some());
    assert!(ledger.verify().is_valid());
    drop(ledger);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_delegate_cannot_act_before_its_delegation_was_granted() {
    // Regression (issue 8, A6): a manage delegate's grant dated before the delegation's own grant (in the
    // same block, so within the allowed time range) was accepted, since the window reached back.
    let mut net = network();
    net.clock.advance(HOUR);
    let delegation = DelegationGrant {
        patient: net.patient,
        delegate: net.guardian,
        scopes: Scopes::MANAGE,
        window: Window { not_before: T0, not_after: None },
    };
    net.ledger.grant_delegation(&net.patient_key, delegation).unwrap();
    let granted_at = net.ledger.now();
    let grant = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
    let mut body = net.ledger.prepare(net.guardian, Payload::GrantConsent(grant));
    body.time = granted_at - 1;
    assert_eq!(refused(net.ledger.submit(body.clone().sign(&net.guardian_key))), TxError::Unauthorized);
    // From the delegation's own time on, it manages.
    body.time = granted_at;
    net.ledger.submit(body.sign(&net.guardian_key)).unwrap();
}

#[test]
fn a_manage_delegate_never_widens_its_own_access() {
    // Regression (issue 8, A7): a manage-only delegate granted itself read and write on every section and
    // purpose, then read and wrote under it.
    let mut net = network();
    let manage = DelegationGrant {
        patient: net.patient,
        delegate: net.doctor,
        scopes: Scopes::MANAGE,
        window: Window { not_before: T0, not_after: None },
    };
    net.ledger.grant_delegation(&net.patient_key, manage).unwrap();
    let mut everything = permit(&net, Grantee::Actor(net.doctor), &["*"], &["*"], None);
    everything.actions = Actions::READ_WRITE;
    assert_eq!(refused(net.ledger.grant_consent(&net.doctor_key, everything.clone())), TxError::WidensOwnAccess);
    // Nor through its role.
    let providers = permit(&net, Grantee::Role(Role::Provider), &["labs"], &["TREAT"], None);
    assert_eq!(refused(net.ledger.grant_consent(&net.doctor_key, providers)), TxError::WidensOwnAccess);
    // Nor by revoking a deny rule that names it.
    let mut deny = permit(&net, Grantee::Actor(net.doctor), &["notes"], &["*"], None);
    deny.effect = Effect::Deny;
    let deny = net.ledger.grant_consent(&net.patient_key, deny).unwrap();
    assert_eq!(refused(net.ledger.revoke_consent(&net.doctor_key, deny.consent)), TxError::WidensOwnAccess);
    let q = request(&net, net.doctor, "labs", "TREAT");
    assert_eq!(net.ledger.check(&q).unwrap(), Decision::Deny(DenyReason::NoConsent));
    // It still manages consent for others, and may narrow its own access.
    let nurse = permit(&net, Grantee::Actor(net.nurse), &["labs"], &["TREAT"], None);
    let nurse = net.ledger.grant_consent(&net.doctor_key, nurse).unwrap();
    let mut own_deny = permit(&net, Grantee::Actor(net.doctor), &["meds"], &["*"], None);
    own_deny.effect = Effect::Deny;
    net.ledger.grant_consent(&net.doctor_key, own_deny).unwrap();
    net.ledger.revoke_consent(&net.doctor_key, nurse.consent).unwrap();
    // The patient may grant the delegate anything.
    net.ledger.grant_consent(&net.patient_key, everything).unwrap();
}

#[test]
fn a_ledger_forks_onto_a_store_holding_the_same_blocks_only() {
    let mut net = busy_network();
    let grant = permit(&net, Grantee::Actor(net.nurse), &["labs"], &["TREAT"], None);
    net.ledger.grant_consent(&net.patient_key, grant).unwrap();
    let blocks = blocks(&net);
    let fork = net.ledger.fork_onto(MemoryStore::from_blocks(blocks.clone()), Box::new(net.clock.clone())).unwrap();
    // The same state, the unsealed transaction included, without a replay.
    assert_eq!((fork.block_count(), fork.tree().root(), fork.pending().len()), (7, net.ledger.tree().root(), 1));
    let q = request(&net, net.nurse, "labs", "TREAT");
    assert_eq!(fork.check(&q), net.ledger.check(&q));
    assert!(fork.verify().is_valid());
    // Any other store is refused, at its first difference.
    let mut changed = blocks.clone();
    changed[3][200] ^= 1;
    let refused = |store| net.ledger.fork_onto(store, Box::new(net.clock.clone())).map(|l| l.block_count());
    assert!(matches!(refused(MemoryStore::from_blocks(changed)), Err(LedgerError::NotACopy(3))));
    assert!(matches!(refused(MemoryStore::from_blocks(blocks[..5].to_vec())), Err(LedgerError::NotACopy(5))));
    let mut longer = blocks.clone();
    longer.push(blocks[6].clone());
    assert!(matches!(refused(MemoryStore::from_blocks(longer)), Err(LedgerError::NotACopy(7))));
}

#[test]
fn a_signer_pre_signs_a_batch_that_is_submitted_in_order_and_only_in_order() {
    let mut net = network();
    let grant =
        |section: &str| Payload::GrantConsent(permit(&net, Grantee::Actor(net.doctor), &[section], &["TREAT"], None));
    let payloads = [grant("labs"), grant("medications"), grant("imaging")];
    let bodies = net.ledger.prepare_batch(net.patient, payloads.clone());
    let last = net.ledger.state().last_sequence(&net.patient);
    assert_eq!(bodies.iter().map(|b| b.seq).collect::<Vec<_>>(), [last + 1, last + 2, last + 3]);
    assert!(bodies.iter().all(|b| b.signer == net.patient && b.time == net.ledger.now()));
    let signed: Vec<SignedTx> = bodies.into_iter().map(|b| b.sign(&net.patient_key)).collect();

    // Out of order: the second before the first is refused, and nothing changes.
    let refused = net.ledger.submit(signed[1].clone());
    assert!(matches!(refused, Err(LedgerError::Tx(TxError::BadSequence { .. }))), "{refused:?}");
    assert!(net.ledger.pending().is_empty());
    // In order: all three.
    for tx in &signed {
        net.ledger.submit(tx.clone()).unwrap();
    }
    net.ledger.seal(&[&net.hospital]).unwrap();
    assert_eq!(net.ledger.consents_of(&net.patient).len(), 3);
    // A single prepare after the batch continues the sequence.
    assert_eq!(net.ledger.prepare(net.patient, payloads[0].clone()).seq, last + 4);
    assert!(net.ledger.verify().is_valid());
}

#[test]
fn verify_blocks_takes_blocks_in_memory_and_store_reads_alike() {
    let net = busy_network();
    let chain = blocks(&net);
    let owned = verify_blocks(chain.clone());
    let borrowed = verify_blocks(&chain);
    let slices = verify_blocks(chain.iter().map(Vec::as_slice));
    let read = verify_blocks((0..net.ledger.store().len()).map(|h| net.ledger.store().read(h)));
    assert!(owned.is_valid() && owned.blocks == chain.len() as u64);
    assert_eq!((&owned, &borrowed, &slices), (&read, &read, &read));
    // A read error is a failure at its height, with the store's message.
    let failing = (0..chain.len()).map(|h| if h == 2 { Err("disk on fire") } else { Ok(chain[h].clone()) });
    let failure = verify_blocks(failing).failure.unwrap();
    assert_eq!((failure.height, failure.reason), (2, BlockError::Store("disk on fire".to_owned())));
}
