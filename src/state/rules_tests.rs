//! The compact copies of a patient's rules answer exactly what the records themselves answer: a property test
//! against the plain definitions (DESIGN.md §5), with instants and heights at their extremes and more codes
//! than the code tables give bits to.

use proptest::prelude::*;

use super::rules::{Codebook, PatientRecords, Question};
use super::{Consent, Delegation, Stamp};
use crate::codes::{Action, Actions, Code, CodeSet, Role};
use crate::hash::Hash256;
use crate::ids::{ActorId, TxId};
use crate::tx::{ConsentGrant, DelegationGrant, Effect, Exception, Grantee, Scopes, Window};

/// 40 codes: more than the 31 bits of a table, so that some share its last bit.
fn code(index: u8) -> Code {
    Code::new(&format!("c{index}")).unwrap_or_else(|_| unreachable!("valid code"))
}

fn actor(index: u8) -> ActorId {
    let mut bytes = [0; 32];
    bytes[0] = index;
    // Actors 0 and 1 share their first four bytes (the filter's fingerprint) and differ later.
    bytes[31] = index;
    if index == 1 {
        bytes[0] = 0;
    }
    ActorId(Hash256(bytes))
}

fn tx(index: usize) -> TxId {
    let mut bytes = [0; 32];
    bytes[..8].copy_from_slice(&(index as u64).to_le_bytes());
    bytes[31] = 0xee;
    TxId(Hash256(bytes))
}

/// Small instants, and the extremes.
fn instant() -> impl Strategy<Value = u64> {
    prop_oneof![0..20u64, Just(0), Just(1), Just(u64::MAX - 1), Just(u64::MAX)]
}

fn code_set() -> impl Strategy<Value = CodeSet> {
    prop_oneof![
        1 => Just(CodeSet::all()),
        6 => proptest::collection::vec(0..40u8, 1..4)
            .prop_map(|codes| CodeSet::new(codes.into_iter().map(code)).unwrap_or_else(|_| CodeSet::all())),
    ]
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Provider), Just(Role::Insurer), Just(Role::Researcher)]
}

fn window() -> impl Strategy<Value = Window> {
    (instant(), proptest::option::of(instant()))
        .prop_filter("windows are never empty", |(from, to)| to.is_none_or(|to| to > *from))
        .prop_map(|(not_before, not_after)| Window { not_before, not_after })
}

fn stamp() -> impl Strategy<Value = (u64, u64)> {
    (prop_oneof![0..6u64, Just(u64::MAX)], instant())
}

/// A consent or delegation: its grant, its grant's height and time, and perhaps a revocation.
#[derive(Clone, Debug)]
struct Case {
    grantee: Result<u8, Role>,
    effect: Effect,
    sections: CodeSet,
    purposes: CodeSet,
    actions: Actions,
    window: Window,
    granted: (u64, u64),
    revoked: Option<(u64, u64)>,
    exceptions: Vec<Exception>,
}

fn actions() -> impl Strategy<Value = Actions> {
    prop_oneof![Just(Actions::READ), Just(Actions::WRITE), Just(Actions::READ_WRITE)]
}

fn grantee() -> impl Strategy<Value = Grantee> {
    prop_oneof![(0..4u8).prop_map(|a| Grantee::Actor(actor(a))), role().prop_map(Grantee::Role)]
}

/// Exceptions with few codes, so that they often match.
fn exception() -> impl Strategy<Value = Exception> {
    let codes = prop_oneof![
        Just(CodeSet::all()),
        (0..3u8).prop_map(|c| CodeSet::new([code(c)]).unwrap_or_else(|_| CodeSet::all()))
    ];
    (proptest::option::of(grantee()), codes.clone(), codes, actions(), window()).prop_map(
        |(grantee, sections, purposes, actions, window)| Exception { grantee, sections, purposes, actions, window },
    )
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![(0..4u8).prop_map(Ok), role().prop_map(Err)],
        prop_oneof![Just(Effect::Permit), Just(Effect::Deny)],
        code_set(),
        code_set(),
        actions(),
        window(),
        stamp(),
        proptest::option::of(stamp()),
        prop_oneof![2 => Just(Vec::new()), 1 => proptest::collection::vec(exception(), 1..4)],
    )
        .prop_map(|(grantee, effect, sections, purposes, actions, window, granted, revoked, exceptions)| Case {
            grantee,
            effect,
            sections,
            purposes,
            actions,
            window,
            granted,
            revoked,
            exceptions,
        })
}

#[derive(Clone, Debug)]
struct Asked {
    height: u64,
    at: u64,
    requester: u8,
    role: Role,
    section: u8,
    purpose: u8,
    action: Action,
}

fn asked() -> impl Strategy<Value = Asked> {
    (
        prop_oneof![0..7u64, Just(u64::MAX)],
        instant(),
        0..4u8,
        role(),
        0..41u8,
        0..41u8,
        prop_oneof![Just(Action::Read), Just(Action::Write)],
    )
        .prop_map(|(height, at, requester, role, section, purpose, action)| Asked {
            height,
            at,
            requester,
            role,
            section,
            purpose,
            action,
        })
}

fn stamped((height, time): (u64, u64), index: usize) -> Stamp {
    Stamp { height, time, tx: tx(index) }
}

/// DESIGN.md §5's "in force", on the records as they are.
fn in_force(granted: &Stamp, window: &Window, revoked: Option<Stamp>, height: u64, at: u64) -> bool {
    let revoked = revoked.filter(|r| r.height <= height);
    granted.height <= height && granted.time <= at && window.contains(at) && revoked.is_none_or(|r| at < r.time)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn compact_rules_answer_as_the_records_do(
        cases in proptest::collection::vec(case(), 0..12),
        questions in proptest::collection::vec(asked(), 1..16),
    ) {
        let patient = actor(9);
        let mut codebook = Codebook::default();
        let mut records = PatientRecords::default();
        for (index, case) in cases.iter().enumerate() {
            let grantee = match case.grantee {
                Ok(who) => Grantee::Actor(actor(who)),
                Err(role) => Grantee::Role(role),
            };
            let grant = ConsentGrant {
                patient,
                grantee,
                effect: case.effect,
                sections: case.sections.clone(),
                purposes: case.purposes.clone(),
                actions: case.actions,
                window: case.window,
                exceptions: case.exceptions.clone(),
            };
            let id = tx(index);
            let consent =
                Consent { id, grant, granted_by: patient, granted: stamped(case.granted, index), revoked: None };
            let at = records.push_consent(consent, &mut codebook);
            prop_assert_eq!(at, index);
            let delegation = Delegation {
                id,
                grant: DelegationGrant {
                    patient,
                    delegate: actor(case.grantee.unwrap_or(2)),
                    scopes: if case.effect == Effect::Permit { Scopes::READ } else { Scopes::MANAGE_AND_READ },
                    window: case.window,
                },
                granted: stamped(case.granted, index),
                revoked: None,
            };
            prop_assert_eq!(records.push_delegation(delegation), index);
            if let Some(revoked) = case.revoked {
                records.revoke_consent(index, stamped(revoked, index + 100));
                records.revoke_delegation(index, stamped(revoked, index + 100));
            }
        }
        for asked in &questions {
            let question = Question {
                height: asked.height,
                at: asked.at,
                requester: actor(asked.requester),
                role: asked.role,
                section: code(asked.section),
                purpose: code(asked.purpose),
                action: asked.action,
            };
            let found: Vec<_> = records.matching(&question, &codebook).collect();
            let expected: Vec<_> = records
                .consents()
                .iter()
                .filter(|c| {
                    let rule = &c.grant;
                    let grantee = match rule.grantee {
                        Grantee::Actor(id) => id == question.requester,
                        Grantee::Role(role) => role == question.role,
                    };
                    grantee
                        && rule.actions.contains(question.action)
                        && rule.sections.matches(&question.section)
                        && rule.purposes.matches(&question.purpose)
                        && in_force(&c.granted, &rule.window, c.revoked, question.height, question.at)
                        && !rule.exceptions.iter().any(|e| {
                            let grantee = match e.grantee {
                                None => true,
                                Some(Grantee::Actor(id)) => id == question.requester,
                                Some(Grantee::Role(role)) => role == question.role,
                            };
                            grantee
                                && e.actions.contains(question.action)
                                && e.sections.matches(&question.section)
                                && e.purposes.matches(&question.purpose)
                                && e.window.contains(question.at)
                        })
                })
                .map(|c| (c.id, c.grant.effect))
                .collect();
            prop_assert_eq!(found, expected);

            let delegate = records
                .delegations()
                .iter()
                .filter(|d| {
                    d.grant.delegate == question.requester
                        && d.grant.scopes.includes(Scopes::READ)
                        && in_force(&d.granted, &d.grant.window, d.revoked, question.height, question.at)
                })
                .map(|d| d.id)
                .min();
            prop_assert_eq!(records.read_delegate(&question.requester, question.height, question.at), delegate);

            let manages = records.delegations().iter().any(|d| {
                d.grant.delegate == question.requester
                    && d.revoked.is_none()
                    && d.grant.scopes.includes(Scopes::MANAGE)
                    && d.granted.time <= question.at
                    && d.grant.window.contains(question.at)
            });
            prop_assert_eq!(records.manages(&question.requester, question.at), manages);
        }
    }
}
