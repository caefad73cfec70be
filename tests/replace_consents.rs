//! `Ledger::replace_consents` (revocations, then grants, all or none) accepts and refuses exactly what
//! submitting the same changes one after the other does: a property test over random existing rules and
//! random change lists (revocations of live, revoked, unknown and repeated consents; permits and denies
//! that restate, narrow or widen a rule being revoked or one staying in force), signed by the patient, a
//! delegate who manages the patient's consents (and may not widen its own access), or a stranger to the
//! patient. When the changes one by one all succeed, the all-or-none call queues the same transactions;
//! otherwise it names the same first change and the same refusal, and queues nothing.

mod support;

use healthchain::*;
use proptest::prelude::*;
use support::*;

const SECTIONS: [&str; 3] = ["labs", "meds", "notes"];
const PURPOSES: [&str; 2] = ["TREAT", "HPAYMT"];

/// A rule drawn from a small space, so that lists often restate, cover or overlap each other.
#[derive(Clone, Debug)]
struct RuleSpec {
    grantee: u8,
    deny: bool,
    sections: u8,
    purposes: u8,
    days: Option<u8>,
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (0..4u8, prop::bool::weighted(0.25), 1..8u8, 1..4u8, prop::option::of(1..4u8))
        .prop_map(|(grantee, deny, sections, purposes, days)| RuleSpec { grantee, deny, sections, purposes, days })
}

/// A revocation: of the `n`-th existing rule (modulo their number), of a rule revoked beforehand, or of
/// a consent nobody granted.
#[derive(Clone, Debug)]
enum Revocation {
    Existing(u8),
    AlreadyRevoked,
    Unknown,
}

fn revocation() -> impl Strategy<Value = Revocation> {
    prop_oneof![
        8 => any::<u8>().prop_map(Revocation::Existing),
        1 => Just(Revocation::AlreadyRevoked),
        1 => Just(Revocation::Unknown),
    ]
}

fn grant(net: &Net, spec: &RuleSpec) -> ConsentGrant {
    let grantee = match spec.grantee {
        0 => Grantee::Actor(net.doctor),
        1 => Grantee::Actor(net.nurse),
        2 => Grantee::Actor(net.guardian),
        _ => Grantee::Role(Role::Insurer),
    };
    let pick = |mask: u8, names: &[&'static str]| -> Vec<&'static str> {
        names.iter().enumerate().filter(|(bit, _)| mask & (1 << bit) != 0).map(|(_, name)| *name).collect()
    };
    let mut rule = permit(
        net,
        grantee,
        &pick(spec.sections, &SECTIONS),
        &pick(spec.purposes, &PURPOSES),
        spec.days.map(u64::from),
    );
    if spec.deny {
        rule.effect = Effect::Deny;
    }
    rule
}

/// The network (its chain id fixed), with the guardian managing the patient's consents and `existing` granted one by one
/// (those refused left out) and sealed, one more granted and revoked; returns the live rules' ids and the
/// revoked one's.
fn setup(existing: &[RuleSpec]) -> (Net, Vec<ConsentId>, ConsentId) {
    let mut net = network_with(&LedgerSettings { nonce: Some([7; 32]), ..LedgerSettings::new("test-net") });
    let manage = DelegationGrant {
        patient: net.patient,
        delegate: net.guardian,
        scopes: Scopes::MANAGE,
        window: Window { not_before: T0, not_after: None },
    };
    net.ledger.grant_delegation(&net.patient_key, manage).unwrap();
    let mut live = Vec::new();
    for spec in existing {
        let rule = grant(&net, spec);
        if let Ok(granted) = net.ledger.grant_consent(&net.patient_key, rule) {
            live.push(granted.consent);
        }
    }
    let gone = permit(&net, Grantee::Actor(net.insurer), &["billing"], &["HPAYMT"], None);
    let gone = net.ledger.grant_consent(&net.patient_key, gone).unwrap().consent;
    net.ledger.seal(&[&net.hospital]).unwrap();
    net.ledger.revoke_consent(&net.patient_key, gone).unwrap();
    net.ledger.seal(&[&net.hospital]).unwrap();
    net.clock.advance(HOUR);
    (net, live, gone)
}

/// The patient's key (seed 2 in `network`), the guardian's (7) or the doctor's (3).
fn signer(which: u8) -> SigningKey {
    key(match which {
        0..=5 => 2,
        6 | 7 => 7,
        _ => 3,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn replacing_is_all_or_none_and_agrees_with_one_by_one(
        existing in prop::collection::vec(rule_spec(), 0..6),
        revocations in prop::collection::vec(revocation(), 0..4),
        grants in prop::collection::vec(rule_spec(), 0..5),
        who in 0..9u8,
        repeat in any::<bool>(),
    ) {
        // Two identical ledgers: one takes the changes one by one, the other all at once.
        let (mut one_by_one, live, gone) = setup(&existing);
        let (mut at_once, _, _) = setup(&existing);
        let mut revoke: Vec<ConsentId> = revocations
            .iter()
            .map(|r| match r {
                Revocation::Existing(n) if !live.is_empty() => live[usize::from(*n) % live.len()],
                Revocation::Existing(_) | Revocation::Unknown => ConsentId::default(),
                Revocation::AlreadyRevoked => gone,
            })
            .collect();
        if repeat && let Some(first) = revoke.first().copied() {
            revoke.push(first);
        }
        let grants: Vec<ConsentGrant> = grants.iter().map(|spec| grant(&at_once, spec)).collect();

        let signer = signer(who);
        let mut expected: Result<Vec<TxId>, LedgerError> = Ok(Vec::new());
        for (index, consent) in revoke.iter().enumerate() {
            match one_by_one.ledger.revoke_consent(&signer, *consent) {
                Ok(tx) => {
                    if let Ok(txs) = &mut expected {
                        txs.push(tx);
                    }
                }
                Err(LedgerError::Tx(refusal)) => {
                    expected = Err(LedgerError::RevokeRefused { index, refusal });
                    break;
                }
                Err(other) => panic!("revocation {index}: {other}"),
            }
        }
        if expected.is_ok() {
            for (index, rule) in grants.iter().enumerate() {
                match one_by_one.ledger.grant_consent(&signer, rule.clone()) {
                    Ok(granted) => {
                        if let Ok(txs) = &mut expected {
                            txs.push(granted.consent);
                        }
                    }
                    Err(LedgerError::Tx(refusal)) => {
                        expected = Err(LedgerError::GrantRefused { index, refusal });
                        break;
                    }
                    Err(other) => panic!("grant {index}: {other}"),
                }
            }
        }

        let result = at_once.ledger.replace_consents(&signer, &revoke, grants.clone());
        let queued: Vec<TxId> = at_once.ledger.pending().iter().map(SignedTx::id).collect();
        match (&expected, &result) {
            (Ok(txs), Ok(granted)) => {
                prop_assert_eq!(&queued, txs, "the same transactions, in the same order");
                let granted: Vec<TxId> = granted.iter().map(|g| g.consent).collect();
                prop_assert_eq!(&granted[..], &txs[revoke.len()..]);
                if !queued.is_empty() {
                    at_once.ledger.seal(&[&at_once.hospital]).unwrap();
                }
                prop_assert!(at_once.ledger.verify().is_valid());
            }
            (Err(expected), Err(refused)) => {
                prop_assert_eq!(format!("{expected:?}"), format!("{refused:?}"));
                prop_assert!(queued.is_empty(), "nothing queued on a refusal");
            }
            _ => prop_assert!(false, "one by one: {:?}; at once: {:?}", expected, result),
        }
    }
}

#[test]
fn a_rule_can_be_restated_in_place_of_the_one_it_replaces() {
    let (mut net, _, _) = setup(&[]);
    let labs = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], Some(30));
    let first = net.ledger.grant_consent(&net.patient_key, labs.clone()).unwrap().consent;
    net.ledger.seal(&[&net.hospital]).unwrap();
    net.clock.advance(HOUR);
    // Restating it alone is "already has access"; in place of itself it is a new rule.
    assert!(matches!(
        net.ledger.grant_consents(&net.patient_key, vec![labs.clone()]),
        Err(LedgerError::GrantRefused { index: 0, refusal: TxError::AlreadyHasAccess { .. } })
    ));
    let narrower = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], Some(10));
    let replaced = net.ledger.replace_consents(&net.patient_key, &[first], vec![narrower]).unwrap();
    net.ledger.seal(&[&net.hospital]).unwrap();
    let view = net.ledger.state().latest();
    assert!(view.consent(&first).and_then(|c| c.revoked).is_some(), "the old rule is revoked");
    assert!(view.consent(&replaced[0].consent).is_some_and(|c| c.revoked.is_none()));
    // The old rule's last ten days are gone with it.
    net.clock.advance(15 * DAY);
    let late = request(&net, net.doctor, "labs", "TREAT");
    assert_eq!(net.ledger.check(&late).unwrap(), Decision::Deny(DenyReason::NoConsent));
    assert!(net.ledger.verify().is_valid());
}
