//! A Consent written as ledger rules (`ConsentPolicy::ledger_rules`, then `Ledger::grant_consents`) answers
//! every question as the Consent itself does (`ConsentPolicy::decide`, FHIR's nesting read directly): a
//! property test over random provision trees (any depth up to 4, either effect at any level as R4 allows,
//! actors by id and by role, overlapping sections, purposes, actions and periods), asked every combination
//! of requester, section, purpose, action and instant.

use healthchain::fhir::consent::{Conditions, ConsentPolicy, Effect, Period, Rule};
use healthchain::*;
use proptest::prelude::*;

const T0: u64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;
const SECTIONS: [&str; 3] = ["labs", "medications", "notes"];
const PURPOSES: [&str; 3] = ["TREAT", "HPAYMT", "HRESCH"];

/// The ledger the rules go to: a patient, two providers, an insurer and a researcher.
struct Net {
    ledger: Ledger<MemoryStore>,
    hospital: SigningKey,
    patient_key: SigningKey,
    patient: ActorId,
    requesters: Vec<ActorId>,
}

fn net() -> Net {
    let clock = ManualClock::new(T0);
    let hospital = SigningKey::from_seed(&[1; 32]);
    let mut ledger =
        Ledger::create(MemoryStore::new(), Box::new(clock), &LedgerSettings::new("fhir-rules"), &[&hospital])
            .expect("ledger");
    let patient_key = SigningKey::from_seed(&[2; 32]);
    let patient = ledger.register(&hospital, &patient_key, Role::Patient).expect("patient");
    let mut requesters = Vec::new();
    for (seed, role) in [(3, Role::Provider), (4, Role::Provider), (5, Role::Insurer), (6, Role::Researcher)] {
        requesters.push(ledger.register(&hospital, &SigningKey::from_seed(&[seed; 32]), role).expect("requester"));
    }
    ledger.seal(&[&hospital]).expect("seal");
    Net { ledger, hospital, patient_key, patient, requesters }
}

/// A description of a rule tree, turned into `Rule`s once the actors exist.
#[derive(Clone, Debug)]
struct Node {
    effect: Effect,
    /// Indexes into [`who`]: actors 0–3, roles 4–5; empty = any requester.
    requesters: Vec<u8>,
    sections: Vec<u8>,
    purposes: Vec<u8>,
    actions: u8,
    period: Option<(i64, Option<i64>)>,
    nested: Vec<Node>,
}

fn who(net: &Net, index: u8) -> Grantee {
    match index {
        4 => Grantee::Role(Role::Provider),
        5 => Grantee::Role(Role::Insurer),
        i => Grantee::Actor(net.requesters[usize::from(i) % net.requesters.len()]),
    }
}

fn subset(max: u8) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![2 => Just(Vec::new()), 3 => proptest::collection::btree_set(0..max, 1..3).prop_map(|s| s.into_iter().collect())]
}

fn effect() -> impl Strategy<Value = Effect> {
    prop_oneof![Just(Effect::Permit), Just(Effect::Deny)]
}

/// Periods in hours from T0 (some already begun, some ending, some later).
fn period() -> impl Strategy<Value = Option<(i64, Option<i64>)>> {
    prop_oneof![
        3 => Just(None),
        2 => (-2..3i64, proptest::option::of(1..5i64)).prop_map(|(s, len)| Some((s, len.map(|l| s + l)))),
    ]
}

/// A provision's own conditions and effect, without nested provisions.
fn own() -> impl Strategy<Value = Node> {
    (effect(), subset(6), subset(3), subset(3), 1..=3u8, period()).prop_map(
        |(effect, requesters, sections, purposes, actions, period)| Node {
            effect,
            requesters,
            sections,
            purposes,
            actions,
            period,
            nested: Vec::new(),
        },
    )
}

fn node() -> impl Strategy<Value = Node> {
    own().prop_recursive(4, 24, 3, |inner| {
        (own(), proptest::collection::vec(inner, 1..3)).prop_map(|(node, nested)| Node { nested, ..node })
    })
}

fn codes(names: &[&str], picked: &[u8]) -> Option<Vec<Code>> {
    let mut codes: Vec<Code> =
        picked.iter().map(|&i| Code::new(names[usize::from(i)]).expect("code")).collect::<Vec<_>>();
    codes.sort();
    codes.dedup();
    (!codes.is_empty()).then_some(codes)
}

fn to_period((start, end): (i64, Option<i64>)) -> Period {
    let at = |hours: i64| T0 as i64 + hours * HOUR;
    Period { start: Some(at(start)), end: end.map(at) }
}

fn rule(net: &Net, node: &Node, path: &str) -> Rule {
    let requesters: Vec<Grantee> = node.requesters.iter().map(|&i| who(net, i)).collect();
    Rule {
        element: path.to_owned(),
        effect: node.effect,
        when: Conditions {
            requesters: (!requesters.is_empty()).then_some(requesters),
            sections: codes(&SECTIONS, &node.sections),
            purposes: codes(&PURPOSES, &node.purposes),
            actions: match node.actions {
                1 => Actions::READ,
                2 => Actions::WRITE,
                _ => Actions::READ_WRITE,
            },
            period: node.period.map(to_period),
        },
        exceptions: node
            .nested
            .iter()
            .enumerate()
            .map(|(i, n)| rule(net, n, &format!("{path}.provision[{i}]")))
            .collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn ledger_rules_decide_as_the_consent(
        base in prop_oneof![Just(Some(Effect::Permit)), Just(Some(Effect::Deny)), Just(None)],
        consent_period in period(),
        nodes in proptest::collection::vec(node(), 0..3),
    ) {
        let mut net = net();
        let policy = ConsentPolicy {
            patient: net.patient,
            base,
            period: consent_period.map(to_period),
            rules: nodes.iter().enumerate().map(|(i, n)| rule(&net, n, &format!("Consent.provision[{i}]"))).collect(),
        };
        let role_of = |id: &ActorId| net.ledger.actor(id).map(|a| a.role);
        let rules = policy.ledger_rules(&role_of).expect("rules");
        let granted_at = net.ledger.now();
        let count = rules.len();
        let granted = net.ledger.grant_consents(&net.patient_key, rules.clone());
        prop_assert!(granted.as_ref().is_ok_and(|g| g.len() == count), "{:?} granting {:#?}", granted, rules);
        if count > 0 {
            net.ledger.seal(&[&net.hospital]).expect("seal");
        }
        let role_of = |id: &ActorId| net.ledger.actor(id).map(|a| a.role);
        for requester in &net.requesters {
            for section in SECTIONS {
                for purpose in PURPOSES {
                    for action in [Action::Read, Action::Write] {
                        // The grant's instant, and each hour's boundary from then on (the ledger never
                        // authorises before a grant).
                        for hours in [0, 1, 2, 3, 5] {
                            let at = if hours == 0 { granted_at } else { T0 + hours * HOUR as u64 };
                            let question = CheckRequest {
                                patient: net.patient,
                                requester: *requester,
                                section: Code::new(section).expect("code"),
                                purpose: Code::new(purpose).expect("code"),
                                action,
                                at,
                            };
                            let fhir = policy.decide(&question, &role_of) == Some(Effect::Permit);
                            let ledger = net.ledger.check(&question).expect("answer");
                            prop_assert_eq!(
                                matches!(ledger, Decision::Permit(PermitBasis::Consents(_))),
                                fhir,
                                "{:?} at +{}h: ledger {}", question.action, hours, ledger
                            );
                        }
                    }
                }
            }
        }
    }
}
