//! Consent decisions at scale (issue 11, item 4): `Ledger::check` and `Ledger::check_as_of` against
//! Cedar (`cedar-policy`, `Authorizer::is_authorized`) on the same consents, measured in the same run.
//! Target: a median ≤ 500 ns per decision, and ≥ 30× faster than Cedar.
//!
//! Run it with `cargo bench --bench decisions` (building the ledger takes about a minute: every
//! transaction is signed and verified).
//!
//! # Fixture
//! An in-memory ledger, blocks of 400 transactions: 200 doctors (`Provider`), 5 insurers, 3 researchers
//! and 10,000 patients, each of whom grants 10 consents (a seeded generator varies sections and windows):
//! - doctor 1 (their GP): permit 1–3 of labs, medications, notes, imaging for TREAT, read and write, until
//!   revoked; and mental-health for TREAT, read, for a window (overridden by the deny below);
//! - doctor 2 (a specialist): permit 1–3 of imaging, labs, notes for TREAT and ETREAT, read, in a window;
//! - doctor 3: deny everything in a window, and permit notes and imaging for TREAT, read, until revoked;
//! - every provider (by role): permit medications for ETREAT, read; deny mental-health for any purpose;
//! - every insurer (by role): permit labs and medications for HPAYMT, read;
//! - their insurer: permit every section for HPAYMT and HOPERAT, read, in a window;
//! - every researcher (by role): permit labs and genomics for HRESCH, read, in a window.
//!
//! One patient in 10 also makes the next patient a delegate with read scope. Then, after the block whose
//! height is the "earlier height", a third of the patients revoke doctor 3's permit, a fifth revoke the
//! deny of mental-health to providers, a tenth their GP's permit and a twentieth their delegation, so the
//! answers as of the earlier height differ from the latest ones (the counts are printed).
//!
//! # Questions
//! 4,096 `CheckRequest`s from a seeded generator: a random patient, and as requester one of their three
//! doctors, a random doctor, their insurer or another one, a researcher, the patient themself, their
//! delegate or another patient, each mostly with the purposes they would use (a fifth of the time any
//! purpose); a random section, read four times in five, at a random instant of 50 days in which windows
//! open and close. The mix of decisions (permits by consent, owner and delegate, break-glass, denials by
//! rule and for want of consent) is printed for both heights.
//!
//! # What is measured
//! One decision per iteration, cycling through the 4,096 questions: `ours/latest` is `ledger.check`,
//! `ours/as_of` is `ledger.check_as_of(earlier height)`, `cedar/latest` and `cedar/as_of` are
//! `Authorizer::is_authorized` on the policies of the latest and of the earlier state. After criterion's
//! groups, one line per measurement gives the median of 9 interleaved timed passes (each the mean over
//! the 4,096 questions) in ns per decision, the ratios Cedar / ours, and whether the target is met (judged
//! on these medians), twice: with caches cold (each pass right after the other engine's, which evicts the
//! patients' rules from the caches: the questions' working set is several MiB, beyond the 2 MiB L2 of a
//! core) and warm (each timed pass after an untimed one of its own, as criterion's loop is). On a loaded
//! host the absolute figures move from run to run (and criterion's, taken one measurement at a time, with
//! them); the interleaving keeps the ratios to the same moments.
//!
//! # The Cedar encoding
//! Every actor is an entity `Actor::"p17"` (short names: the application maps its ids to them) whose
//! parent is its role, `Role::"provider"`; a request's principal is the requester, its action
//! `Action::"read"` or `Action::"write"`, its resource the patient (`Actor::"p17"`), its context the
//! section, the purpose and the instant (`{section: "labs", purpose: "TREAT", at: <ms>}`). Each rule
//! becomes a condition: `principal == Actor::"d3"` or `principal in Role::"insurer"`, `action == …` (none
//! for read and write), equalities on the section and purpose (none for `*`), and the bounds of the
//! instants when the ledger holds the rule in force (from the later of its window's start and its grant,
//! until the earlier of its window's end and its revocation: the same policies answer about any instant,
//! as the ledger does). The ledger's precedence (DESIGN.md §5: the owner and an active read delegate
//! first, then deny over permit, except that an emergency purpose by a provider is break-glass) becomes
//! `unless` conditions on the deny rules that could name the owner, a delegate or a provider, one permit
//! condition per read delegation, and two for everyone: `principal == resource` (the owner) and
//! break-glass (`principal in Role::"provider"` with ETREAT or BTG). So Cedar expresses every decision of
//! the fixture, break-glass included, and is compared on all 4,096 questions, nothing left out.
//! (Deactivated requesters and erased patients, which the fixture does not have, would take two more
//! conditions on entity attributes.)
//!
//! Cedar's authorizer evaluates every policy of the set it is given (it has no index), so the policies
//! are sliced by patient, as Cedar's documentation advises for large stores: one `PolicySet` per patient,
//! picked before the call. And it copies each policy's whole `when`/`unless` expression at every
//! evaluation (`TemplateBody::condition` clones it), so what costs is the number of policies and their
//! total size, not how soon a condition fails. The encoding compared is therefore the fastest found: per
//! patient one `permit(principal, action, resource == Actor::"p17") when { rule || rule || … }` and one
//! `forbid` likewise (2 policies, the owner's and break-glass folded into the permit). It gives up what a
//! policy per rule gives, Cedar naming the rules that decided (the ledger names the consents). With
//! `HEALTHCHAIN_BENCH_CEDAR_ENCODINGS=1`, the bench also measures, in the same run and after the same
//! agreement check, the alternatives tried:
//! - one policy per rule (about 12 per patient): about 1.3× slower than merged;
//! - the same with set literals (`["labs", "notes"].contains(context.section)`) instead of `==`
//!   disjunctions, or with the section as the resource (`Section::"p17/labs"`, whose parent is the
//!   patient): no faster than one policy per rule;
//! - the floor: the same requests against one `permit(principal, action, resource);`.
//!
//! Also tried, and left out: one set of every patient's policies, not sliced (over 1,000 times slower:
//! measured at start-up on 32 questions and printed); policies loaded from Cedar's JSON form (no faster,
//! and converting 20,000 policies takes minutes); generic policies reading consent records from entity
//! attributes or tags: Cedar has no quantifier over a set of records, so a patient's rules would have to
//! be keyed by grantee × section × purpose × action (with `*` forms: eight `hasTag` look-ups for permits
//! and eight for denies) holding one window per key, which cannot express two rules with the same key.
//!
//! Timing only `is_authorized`, with the `Request`s, the `PolicySet`s and the `Entities` built beforehand
//! and the patient's slice picked outside the call, is the fairest to Cedar. Before anything is timed,
//! Cedar's allow/deny is checked equal to `Decision::is_permitted()` on every question, at both heights.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::time::Instant;

use cedar_policy as cedar;
use criterion::Criterion;
mod common;

use common::{T0, key};
use healthchain::codes::EMERGENCY_PURPOSES;
use healthchain::workload::SplitMix64;
use healthchain::*;

const PATIENTS: usize = 10_000;
const DOCTORS: usize = 200;
const INSURERS: usize = 5;
const RESEARCHERS: usize = 3;
/// Questions, cycled through (a power of two).
const QUESTIONS: usize = 4_096;
const PER_BLOCK: usize = 400;
/// Interleaved timed passes over the questions, for the medians.
const PASSES: usize = 9;
/// Questions asked of the unsliced Cedar policy set.
const UNSLICED_QUESTIONS: usize = 32;
const DAY: u64 = 86_400_000;
/// Questions are about instants from here on: after every transaction of the fixture.
const TQ: u64 = T0 + 7 * DAY;

const SECTIONS: [&str; 6] = ["labs", "medications", "notes", "imaging", "mental-health", "genomics"];
const PURPOSES: [&str; 5] = ["TREAT", "ETREAT", "HPAYMT", "HOPERAT", "HRESCH"];

/// One decision on question `k`, by name.
type Measure<'a> = (&'static str, Box<dyn Fn(usize) + 'a>);

/// The workload's deterministic generator (`healthchain::workload`), for the fixture and the questions.
struct Rng(SplitMix64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(SplitMix64(seed))
    }

    fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// 1 to `max` distinct items of `items`, in random order.
    fn some<'a>(&mut self, items: &[&'a str], max: usize) -> Vec<&'a str> {
        let mut left = items.to_vec();
        (0..1 + self.below(max)).map(|_| left.remove(self.below(left.len()))).collect()
    }
}

/// The actors, by kind and number.
struct People {
    doctors: Vec<ActorId>,
    insurers: Vec<ActorId>,
    researchers: Vec<ActorId>,
    patients: Vec<ActorId>,
    /// Each actor's Cedar entity id and role.
    names: HashMap<ActorId, (String, Role)>,
}

/// Patient `p`'s three doctors (distinct).
fn doctors_of(p: usize) -> [usize; 3] {
    let first = p % DOCTORS;
    let spread = (p / DOCTORS) % 66;
    [first, (first + 1 + spread) % DOCTORS, (first + 67 + spread) % DOCTORS]
}

/// Whether patient `p` makes patient `p + 1` a delegate.
fn has_delegate(p: usize) -> bool {
    p.is_multiple_of(10)
}

fn codes(texts: &[&str]) -> CodeSet {
    CodeSet::parse(texts.iter().copied()).unwrap()
}

/// Patient `p`'s 10 consents.
fn consents(p: usize, patient: ActorId, people: &People, rng: &mut Rng) -> Vec<ConsentGrant> {
    let [gp, specialist, third] = doctors_of(p).map(|d| Grantee::Actor(people.doctors[d]));
    let day = |n: usize| TQ + n as u64 * DAY;
    let open = Window { not_before: T0, not_after: None };
    let rule = |grantee, effect, sections: &[&str], purposes: &[&str], actions, window| ConsentGrant {
        patient,
        grantee,
        effect,
        sections: codes(sections),
        purposes: codes(purposes),
        actions,
        window,
        exceptions: Vec::new(),
    };
    let mut window = |from: usize, spread: usize, length: usize| {
        let start = from + rng.below(spread);
        Window { not_before: day(start), not_after: Some(day(start + length + rng.below(spread))) }
    };
    let (w_specialist, w_mental, w_third, w_insurer, w_research) =
        (window(0, 10, 10), window(0, 5, 10), window(5, 10, 10), window(0, 10, 25), window(10, 10, 25));
    let gp_sections = rng.some(&["labs", "medications", "notes", "imaging"], 3);
    let specialist_sections = rng.some(&["imaging", "labs", "notes"], 3);
    let insurer = Grantee::Actor(people.insurers[p % INSURERS]);
    let (permit, deny) = (Effect::Permit, Effect::Deny);
    vec![
        rule(gp, permit, &gp_sections, &["TREAT"], Actions::READ_WRITE, open),
        rule(specialist, permit, &specialist_sections, &["TREAT", "ETREAT"], Actions::READ, w_specialist),
        rule(Grantee::Role(Role::Provider), permit, &["medications"], &["ETREAT"], Actions::READ, open),
        rule(Grantee::Role(Role::Insurer), permit, &["labs", "medications"], &["HPAYMT"], Actions::READ, open),
        rule(Grantee::Role(Role::Provider), deny, &["mental-health"], &["*"], Actions::READ_WRITE, open),
        rule(gp, permit, &["mental-health"], &["TREAT"], Actions::READ, w_mental),
        rule(third, deny, &["*"], &["*"], Actions::READ_WRITE, w_third),
        rule(third, permit, &["notes", "imaging"], &["TREAT"], Actions::READ, open),
        rule(insurer, permit, &["*"], &["HPAYMT", "HOPERAT"], Actions::READ, w_insurer),
        rule(Grantee::Role(Role::Researcher), permit, &["labs", "genomics"], &["HRESCH"], Actions::READ, w_research),
    ]
}

/// The ledger, its actors and the earlier height.
fn build() -> (Ledger<MemoryStore>, People, u64) {
    let clock = ManualClock::new(T0);
    let hospital = key(0);
    let settings = LedgerSettings::new("bench-decisions");
    let mut ledger = Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &settings, &[&hospital]).unwrap();
    let seal = |ledger: &mut Ledger<MemoryStore>, force: bool| {
        if ledger.pending().len() >= PER_BLOCK || (force && !ledger.pending().is_empty()) {
            ledger.seal(&[&hospital]).unwrap();
            clock.advance(1_000);
        }
    };
    let mut names = HashMap::new();
    let mut register = |ledger: &mut Ledger<MemoryStore>, n: u32, role: Role, name: String| {
        let k = key(n);
        let id = ledger.register(&hospital, &k, role).unwrap();
        names.insert(id, (name, role));
        seal(ledger, false);
        (k, id)
    };
    let doctors =
        (0..DOCTORS).map(|d| register(&mut ledger, 1 + d as u32, Role::Provider, format!("d{d}")).1).collect();
    let insurers =
        (0..INSURERS).map(|i| register(&mut ledger, 1_000 + i as u32, Role::Insurer, format!("i{i}")).1).collect();
    let researchers = (0..RESEARCHERS)
        .map(|r| register(&mut ledger, 2_000 + r as u32, Role::Researcher, format!("r{r}")).1)
        .collect();
    let patient_keys: Vec<(SigningKey, ActorId)> =
        (0..PATIENTS).map(|p| register(&mut ledger, 10_000 + p as u32, Role::Patient, format!("p{p}"))).collect();
    let patients = patient_keys.iter().map(|(_, id)| *id).collect();
    let people = People { doctors, insurers, researchers, patients, names };

    let mut rng = Rng::new(11);
    let mut granted = Vec::with_capacity(PATIENTS);
    for (p, (k, patient)) in patient_keys.iter().enumerate() {
        let ids: Vec<ConsentId> = consents(p, *patient, &people, &mut rng)
            .into_iter()
            .map(|grant| {
                let id = ledger.grant_consent(k, grant).unwrap().consent;
                seal(&mut ledger, false);
                id
            })
            .collect();
        let delegation = has_delegate(p).then(|| {
            let delegate = people.patients[(p + 1) % PATIENTS];
            let window = Window { not_before: T0, not_after: None };
            let grant = DelegationGrant { patient: *patient, delegate, scopes: Scopes::READ, window };
            let id = ledger.grant_delegation(k, grant).unwrap();
            seal(&mut ledger, false);
            id
        });
        granted.push((ids, delegation));
    }
    seal(&mut ledger, true);
    let earlier = ledger.block_count() - 1;

    for (p, ((k, _), (ids, delegation))) in patient_keys.iter().zip(&granted).enumerate() {
        let revoked = [(p % 3 == 0, 7), (p % 5 == 1, 4), (p % 10 == 2, 0)];
        for (_, i) in revoked.into_iter().filter(|(revoke, _)| *revoke) {
            ledger.revoke_consent(k, ids[i]).unwrap();
            seal(&mut ledger, false);
        }
        if let Some(id) = delegation.filter(|_| p % 20 == 0) {
            ledger.revoke_delegation(k, id).unwrap();
            seal(&mut ledger, false);
        }
    }
    seal(&mut ledger, true);
    assert!(ledger.now() < TQ, "the questions must be about instants after the fixture");
    (ledger, people, earlier)
}

/// The 4,096 questions.
fn questions(people: &People) -> Vec<CheckRequest> {
    let mut rng = Rng::new(4_096);
    (0..QUESTIONS)
        .map(|_| {
            let mut p = rng.below(PATIENTS);
            let [gp, specialist, third] = doctors_of(p).map(|d| people.doctors[d]);
            let treat: &[&str] = &["TREAT", "TREAT", "TREAT", "ETREAT"];
            let (requester, natural) = match rng.below(100) {
                0..25 => (gp, treat),
                25..37 => (specialist, treat),
                37..49 => (third, treat),
                49..57 => (people.doctors[rng.below(DOCTORS)], treat),
                57..67 => (people.insurers[p % INSURERS], &["HPAYMT", "HPAYMT", "HOPERAT"][..]),
                67..72 => (people.insurers[rng.below(INSURERS)], &["HPAYMT"][..]),
                72..80 => (people.researchers[rng.below(RESEARCHERS)], &["HRESCH"][..]),
                80..86 => (people.patients[p], &PURPOSES[..]),
                86..94 => {
                    p -= p % 10; // a patient with a delegate (until revoked, for one in two)
                    (people.patients[(p + 1) % PATIENTS], &["TREAT"][..])
                }
                _ => (people.patients[rng.below(PATIENTS)], &["TREAT"][..]),
            };
            let purpose = if rng.below(5) == 0 { rng.pick(&PURPOSES) } else { rng.pick(natural) };
            CheckRequest {
                patient: people.patients[p],
                requester,
                section: Code::new(rng.pick(&SECTIONS)).unwrap(),
                purpose: Code::new(purpose).unwrap(),
                action: if rng.below(5) == 0 { Action::Write } else { Action::Read },
                at: TQ + rng.below(50 * DAY as usize) as u64,
            }
        })
        .collect()
}

/// A decision's kind, for the printed mix.
fn kind(decision: &Decision) -> &'static str {
    match decision {
        Decision::Permit(PermitBasis::Consents(_)) => "permit (consents)",
        Decision::Permit(PermitBasis::Owner) => "permit (owner)",
        Decision::Permit(PermitBasis::Delegate(_)) => "permit (delegate)",
        Decision::BreakGlass => "break-glass",
        Decision::Deny(DenyReason::DenyRules(_)) => "deny (rules)",
        Decision::Deny(DenyReason::NoConsent) => "deny (no consent)",
        Decision::Deny(_) => "deny (other)",
    }
}

// ---- the Cedar encoding ----

/// A way of writing the consents in Cedar. `ENCODINGS[0]` is the one compared; the others are measured
/// only with `HEALTHCHAIN_BENCH_CEDAR_ENCODINGS=1`.
#[derive(Clone, Copy)]
struct Encoding {
    name: &'static str,
    /// The section as the resource, `Section::"p17/labs"` (parent: the patient), not a context attribute.
    section_entities: bool,
    /// Code sets as set literals (`["labs", "notes"].contains(context.section)`), not `==` disjunctions.
    set_literals: bool,
    /// One `permit` and one `forbid` per patient, each the disjunction of its rules (the owner's and
    /// break-glass included), not one policy per rule.
    merged: bool,
}

const ENCODINGS: [Encoding; 4] = [
    Encoding { name: "merged per patient", section_entities: false, set_literals: false, merged: true },
    Encoding { name: "per rule", section_entities: false, set_literals: false, merged: false },
    Encoding { name: "per rule, set literals", section_entities: false, set_literals: true, merged: false },
    Encoding { name: "per rule, section entities", section_entities: true, set_literals: false, merged: false },
];

/// `value` is one of `items` (quoted already), in parentheses.
fn one_of(value: &str, items: &[String], set_literals: bool) -> String {
    if set_literals {
        format!("[{}].contains({value})", items.join(", "))
    } else {
        let terms: Vec<String> = items.iter().map(|item| format!("{value} == {item}")).collect();
        format!("({})", terms.join(" || "))
    }
}

/// `"a", "b"` of a code set; `None` for `*`.
fn quoted(set: &CodeSet) -> Option<Vec<String>> {
    (!set.is_all()).then(|| set.codes().iter().map(|c| format!("\"{c}\"")).collect())
}

/// The bounds of the instants when a rule is in force: from the later of its window's start and its grant,
/// until the earlier of its window's end and its revocation.
fn in_force(granted: &Stamp, window: &Window, revoked: Option<Stamp>) -> String {
    let from = format!("context.at >= {}", window.not_before.max(granted.time));
    let until = match (window.not_after, revoked.map(|r| r.time)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match until {
        Some(until) => format!("{from} && context.at < {until}"),
        None => from,
    }
}

/// The scope's action constraint (empty for read and write, the only actions).
fn action_scope(actions: Actions) -> &'static str {
    match (actions.contains(Action::Read), actions.contains(Action::Write)) {
        (true, false) => "action == Action::\"read\"",
        (false, true) => "action == Action::\"write\"",
        _ => "",
    }
}

const EMERGENCY: &str = "(context.purpose == \"ETREAT\" || context.purpose == \"BTG\")";

/// Whether the requester is the patient.
fn owner(encoding: Encoding) -> &'static str {
    if encoding.section_entities { "resource in principal" } else { "principal == resource" }
}

/// One rule in Cedar's terms: the scope's constraints (empty: none) and the conditions.
struct Rule {
    effect: Effect,
    principal: String,
    action: &'static str,
    resource: String,
    when: Vec<String>,
    unless: Vec<String>,
}

impl Rule {
    /// The rule as a policy of its own.
    fn policy(&self) -> String {
        let effect = if self.effect == Effect::Permit { "permit" } else { "forbid" };
        let or = |text: &str, default: &str| if text.is_empty() { default.to_string() } else { text.to_string() };
        let mut text = format!(
            "{effect}({}, {}, {})",
            or(&self.principal, "principal"),
            or(self.action, "action"),
            or(&self.resource, "resource")
        );
        if !self.when.is_empty() {
            text += &format!(" when {{ {} }}", self.when.join(" && "));
        }
        if !self.unless.is_empty() {
            text += &format!(" unless {{ {} }}", self.unless.join(" || "));
        }
        text + ";\n"
    }

    /// The rule as one condition, for a policy whose scope is `scope`.
    fn condition(&self, scope: &str) -> String {
        let resource = if self.resource == scope { "" } else { self.resource.as_str() };
        let parts: Vec<&str> = [self.principal.as_str(), self.action, resource]
            .into_iter()
            .chain(self.when.iter().map(String::as_str))
            .filter(|part| !part.is_empty())
            .collect();
        let mut text = if parts.is_empty() { "true".to_string() } else { parts.join(" && ") };
        if !self.unless.is_empty() {
            text += &format!(" && !({})", self.unless.join(" || "));
        }
        format!("({text})")
    }
}

/// The rules of every patient: the owner's and break-glass.
fn generic_rules(break_glass: bool, encoding: Encoding) -> Vec<Rule> {
    let rule = |principal: &str, when: &str| Rule {
        effect: Effect::Permit,
        principal: principal.to_string(),
        action: "",
        resource: String::new(),
        when: vec![when.to_string()],
        unless: Vec::new(),
    };
    let mut rules = vec![rule("", owner(encoding))];
    if break_glass {
        rules.push(rule("principal in Role::\"provider\"", EMERGENCY));
    }
    rules
}

/// The rules of `patient`'s delegations and consents as `view` holds them, and the scope that names the
/// patient's whole record.
fn patient_rules(
    view: &View<'_>,
    patient: &ActorId,
    names: &HashMap<ActorId, (String, Role)>,
    encoding: Encoding,
) -> (Vec<Rule>, String) {
    let name = |id: &ActorId| names[id].0.as_str();
    let index = view.patient(patient);
    let consents: Vec<Consent> = index.consents.iter().filter_map(|id| view.consent(id)).collect();
    let delegations: Vec<Delegation> = index
        .delegations
        .iter()
        .filter_map(|id| view.delegation(id))
        .filter(|d| d.grant.scopes.includes(Scopes::READ))
        .collect();
    let patient_name = name(patient);
    let whole_record = if encoding.section_entities {
        format!("resource in Actor::\"{patient_name}\"")
    } else {
        format!("resource == Actor::\"{patient_name}\"")
    };
    let delegate = |d: &Delegation| {
        let when = in_force(&d.granted, &d.grant.window, d.revoked);
        (format!("principal == Actor::\"{}\"", name(&d.grant.delegate)), "action == Action::\"read\"", when)
    };
    let mut rules = Vec::new();
    for d in &delegations {
        let (principal, action, when) = delegate(d);
        let (resource, when, unless) = (whole_record.clone(), vec![when], Vec::new());
        rules.push(Rule { effect: Effect::Permit, principal, action, resource, when, unless });
    }
    for c in &consents {
        let rule = &c.grant;
        let principal = match rule.grantee {
            Grantee::Actor(id) => format!("principal == Actor::\"{}\"", name(&id)),
            Grantee::Role(role) => format!("principal in Role::\"{}\"", role.name()),
        };
        let mut resource = whole_record.clone();
        let mut when = Vec::new();
        match quoted(&rule.sections) {
            None => {}
            Some(sections) if !encoding.section_entities => {
                when.push(one_of("context.section", &sections, encoding.set_literals));
            }
            Some(sections) => {
                let sections: Vec<String> =
                    sections.iter().map(|s| format!("Section::\"{patient_name}/{}\"", s.trim_matches('"'))).collect();
                match &sections[..] {
                    [one] => resource = format!("resource == {one}"),
                    _ => when.push(one_of("resource", &sections, encoding.set_literals)),
                }
            }
        }
        if let Some(purposes) = quoted(&rule.purposes) {
            when.push(one_of("context.purpose", &purposes, encoding.set_literals));
        }
        when.push(in_force(&c.granted, &rule.window, c.revoked));
        let mut unless = Vec::new();
        if rule.effect == Effect::Deny {
            // What the ledger decides before deny rules: the owner, an active read delegate, and (over a deny)
            // an emergency purpose by a provider.
            let could_be = |id: &ActorId| match rule.grantee {
                Grantee::Actor(grantee) => grantee == *id,
                Grantee::Role(role) => names[id].1 == role,
            };
            if could_be(patient) {
                unless.push(owner(encoding).to_string());
            }
            for d in delegations.iter().filter(|d| could_be(&d.grant.delegate) && rule.actions.contains(Action::Read)) {
                let (principal, action, when) = delegate(d);
                unless.push(format!("({principal} && {action} && {when})"));
            }
            let emergency_purpose = EMERGENCY_PURPOSES.iter().any(|p| rule.purposes.matches(&Code::new(p).unwrap()));
            if view.break_glass_allowed() && emergency_purpose {
                match rule.grantee {
                    Grantee::Actor(id) if names[&id].1 == Role::Provider => unless.push(EMERGENCY.to_string()),
                    Grantee::Role(Role::Provider) => {
                        unless.push(format!("(principal in Role::\"provider\" && {EMERGENCY})"))
                    }
                    _ => {}
                }
            }
        }
        let action = action_scope(rule.actions);
        rules.push(Rule { effect: rule.effect, principal, action, resource, when, unless });
    }
    (rules, whole_record)
}

/// The policies of every patient (none when merged: they are in each patient's own).
fn generic_policies(break_glass: bool, encoding: Encoding) -> String {
    if encoding.merged {
        String::new()
    } else {
        generic_rules(break_glass, encoding).iter().map(Rule::policy).collect()
    }
}

/// The policies of `patient`'s delegations and consents as `view` holds them.
fn patient_policies(
    view: &View<'_>,
    patient: &ActorId,
    names: &HashMap<ActorId, (String, Role)>,
    encoding: Encoding,
) -> String {
    let (rules, whole_record) = patient_rules(view, patient, names, encoding);
    if !encoding.merged {
        return rules.iter().map(Rule::policy).collect();
    }
    let generic = generic_rules(view.break_glass_allowed(), encoding);
    let mut text = String::new();
    for (effect, name) in [(Effect::Permit, "permit"), (Effect::Deny, "forbid")] {
        let conditions: Vec<String> =
            generic.iter().chain(&rules).filter(|r| r.effect == effect).map(|r| r.condition(&whole_record)).collect();
        if !conditions.is_empty() {
            text += &format!("{name}(principal, action, {whole_record}) when {{ {} }};\n", conditions.join(" || "));
        }
    }
    text
}

fn uid(kind: &str, id: &str) -> cedar::EntityUid {
    cedar::EntityUid::from_type_name_and_id(kind.parse().unwrap(), cedar::EntityId::new(id))
}

/// Cedar's side: the entities, a policy set per patient for each height, a request per question.
struct CedarSide {
    entities: cedar::Entities,
    latest: Vec<cedar::PolicySet>,
    /// Empty unless built `full`.
    earlier: Vec<cedar::PolicySet>,
    requests: Vec<cedar::Request>,
    /// The patient (slice) of each question.
    slices: Vec<usize>,
    /// Every policy of the latest state in one set, if built `full`.
    unsliced: Option<cedar::PolicySet>,
}

impl CedarSide {
    /// The latest state's policies (and, if `full`, the earlier height's and the unsliced set).
    fn build(
        ledger: &Ledger<MemoryStore>,
        earlier: u64,
        people: &People,
        questions: &[CheckRequest],
        encoding: Encoding,
        full: bool,
    ) -> Self {
        let names = &people.names;
        let mut entities: Vec<cedar::Entity> = names
            .values()
            .map(|(name, role)| {
                cedar::Entity::new_no_attrs(uid("Actor", name), HashSet::from([uid("Role", role.name())]))
            })
            .collect();
        if encoding.section_entities {
            for patient in &people.patients {
                let patient = &names[patient].0;
                for section in SECTIONS {
                    let parent = HashSet::from([uid("Actor", patient)]);
                    entities.push(cedar::Entity::new_no_attrs(uid("Section", &format!("{patient}/{section}")), parent));
                }
            }
        }
        let entities = cedar::Entities::from_entities(entities, None).unwrap();
        let latest_view = ledger.state().latest();
        let earlier_view = ledger.view_as_of(earlier).unwrap();
        let generic = generic_policies(latest_view.break_glass_allowed(), encoding);
        assert_eq!(generic, generic_policies(earlier_view.break_glass_allowed(), encoding));
        let mut all = generic.clone();
        let mut latest = Vec::with_capacity(PATIENTS);
        let mut earlier = Vec::with_capacity(PATIENTS);
        for patient in &people.patients {
            let own = patient_policies(&latest_view, patient, names, encoding);
            latest.push(format!("{generic}{own}").parse().unwrap());
            if full {
                all += &own;
                let then = patient_policies(&earlier_view, patient, names, encoding);
                earlier.push(format!("{generic}{then}").parse().unwrap());
            }
        }
        let unsliced = full.then(|| all.parse().unwrap());
        let index: HashMap<ActorId, usize> = people.patients.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let requests = questions
            .iter()
            .map(|q| {
                let patient = &names[&q.patient].0;
                let mut context = vec![
                    ("purpose".to_string(), cedar::RestrictedExpression::new_string(q.purpose.to_string())),
                    ("at".to_string(), cedar::RestrictedExpression::new_long(q.at as i64)),
                ];
                let resource = if encoding.section_entities {
                    uid("Section", &format!("{patient}/{}", q.section))
                } else {
                    context
                        .push(("section".to_string(), cedar::RestrictedExpression::new_string(q.section.to_string())));
                    uid("Actor", patient)
                };
                let context = cedar::Context::from_pairs(context).unwrap();
                let principal = uid("Actor", &names[&q.requester].0);
                let action = uid("Action", q.action.name());
                cedar::Request::new(principal, action, resource, context, None).unwrap()
            })
            .collect();
        let slices = questions.iter().map(|q| index[&q.patient]).collect();
        CedarSide { entities, latest, earlier, requests, slices, unsliced }
    }

    fn allows(&self, policies: &cedar::PolicySet, k: usize) -> bool {
        let response = cedar::Authorizer::new().is_authorized(&self.requests[k], policies, &self.entities);
        let errors: Vec<String> = response.diagnostics().errors().map(ToString::to_string).collect();
        assert!(errors.is_empty(), "question {k}: Cedar evaluation errors {errors:?} with policies\n{policies}");
        response.decision() == cedar::Decision::Allow
    }

    /// One decision on question `k` with the latest (or the earlier height's) policies.
    fn decide(&self, authorizer: &cedar::Authorizer, k: usize, earlier: bool) {
        let policies = if earlier { &self.earlier[self.slices[k]] } else { &self.latest[self.slices[k]] };
        drop(black_box(authorizer.is_authorized(black_box(&self.requests[k]), policies, &self.entities)));
    }
}

/// Asserts that Cedar allows exactly what the ledger permits on every question, at both heights if built.
fn check_agreement(ledger: &Ledger<MemoryStore>, earlier: u64, questions: &[CheckRequest], cedar: &CedarSide) {
    for (k, q) in questions.iter().enumerate() {
        let mut pairs = vec![("latest", ledger.check(q).unwrap(), cedar.allows(&cedar.latest[cedar.slices[k]], k))];
        if !cedar.earlier.is_empty() {
            let theirs = cedar.allows(&cedar.earlier[cedar.slices[k]], k);
            pairs.push(("earlier", ledger.check_as_of(earlier, q).unwrap(), theirs));
        }
        for (height, ours, theirs) in pairs {
            assert_eq!(
                ours.is_permitted(),
                theirs,
                "question {k} ({height}): {q:?}: ours {ours}, Cedar allows: {theirs}"
            );
        }
    }
    if let Some(unsliced) = &cedar.unsliced {
        for (k, q) in questions.iter().enumerate().take(UNSLICED_QUESTIONS) {
            assert_eq!(cedar.allows(unsliced, k), ledger.check(q).unwrap().is_permitted(), "question {k} (unsliced)");
        }
    }
}

/// Medians of `PASSES` interleaved timed passes over the questions, in ns per decision.
fn medians(measures: &[Measure<'_>], warm: bool) -> Vec<f64> {
    let mut nanos: Vec<Vec<f64>> = vec![Vec::new(); measures.len()];
    for _ in 0..PASSES {
        for ((_, decide), times) in measures.iter().zip(&mut nanos) {
            if warm {
                // An untimed pass first: the timed one then finds the questions' data in the caches.
                (0..QUESTIONS).for_each(decide);
            }
            let start = Instant::now();
            for k in 0..QUESTIONS {
                decide(k);
            }
            times.push(start.elapsed().as_nanos() as f64 / QUESTIONS as f64);
        }
    }
    nanos
        .iter_mut()
        .map(|times| {
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        })
        .collect()
}

/// Measures every encoding on the latest state (after checking it), and prints one line each.
fn compare_encodings(ledger: &Ledger<MemoryStore>, earlier: u64, people: &People, questions: &[CheckRequest]) {
    let sides: Vec<CedarSide> = ENCODINGS
        .iter()
        .map(|encoding| {
            let side = CedarSide::build(ledger, earlier, people, questions, *encoding, false);
            check_agreement(ledger, earlier, questions, &side);
            side
        })
        .collect();
    let trivial: cedar::PolicySet = "permit(principal, action, resource);".parse().unwrap();
    let authorizer = cedar::Authorizer::new();
    let mut measures: Vec<Measure<'_>> = ENCODINGS
        .iter()
        .zip(&sides)
        .map(|(encoding, side)| (encoding.name, Box::new(|k| side.decide(&authorizer, k, false)) as Box<dyn Fn(usize)>))
        .collect();
    // Cedar's floor: the same requests against one policy without conditions.
    let side = &sides[0];
    measures.push((
        "floor: one trivial policy",
        Box::new(|k| drop(black_box(authorizer.is_authorized(black_box(&side.requests[k]), &trivial, &side.entities)))),
    ));
    println!("Cedar encodings, latest state, each checked on all {QUESTIONS} questions: median of {PASSES} passes");
    for ((name, _), ns) in measures.iter().zip(medians(&measures, false)) {
        println!("  {name:<26} {ns:>8.0} ns per decision");
    }
}

/// Prints the mix of decisions at both heights.
fn print_mix(ledger: &Ledger<MemoryStore>, earlier: u64, questions: &[CheckRequest]) {
    let mut counts: Vec<(&str, [usize; 2])> = Vec::new();
    let mut differ = 0;
    for q in questions {
        let both = [ledger.check(q).unwrap(), ledger.check_as_of(earlier, q).unwrap()];
        differ += usize::from(both[0] != both[1]);
        for (i, decision) in both.iter().enumerate() {
            let name = kind(decision);
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, c)) => c[i] += 1,
                None => counts.push((name, if i == 0 { [1, 0] } else { [0, 1] })),
            }
        }
    }
    counts.sort();
    println!("{QUESTIONS} questions: decisions latest / as of height {earlier}:");
    for (name, [latest, then]) in &counts {
        println!("  {name:<20} {latest:>5} / {then:>5}");
    }
    println!("  {differ} answers differ between the two heights");
    assert!(differ > 0, "the earlier height must answer differently");
}

fn main() {
    let started = Instant::now();
    let (ledger, people, earlier) = build();
    let questions = questions(&people);
    println!(
        "ledger: {} transactions in {} blocks, built in {:.0} s; earlier height {earlier}",
        ledger.tree().size(),
        ledger.block_count(),
        started.elapsed().as_secs_f64()
    );
    print_mix(&ledger, earlier, &questions);
    if std::env::var_os("HEALTHCHAIN_BENCH_CEDAR_ENCODINGS").is_some() {
        compare_encodings(&ledger, earlier, &people, &questions);
    }
    let started = Instant::now();
    let cedar = CedarSide::build(&ledger, earlier, &people, &questions, ENCODINGS[0], true);
    let policies: usize = cedar.latest.iter().map(|s| s.policies().count()).sum();
    println!(
        "Cedar ({}): {policies} policies in {PATIENTS} per-patient sets (latest), built in {:.1} s",
        ENCODINGS[0].name,
        started.elapsed().as_secs_f64()
    );
    check_agreement(&ledger, earlier, &questions, &cedar);
    println!("Cedar agrees with the ledger on all {QUESTIONS} questions at both heights (break-glass included)");

    // The unsliced alternative, on a few questions only.
    let unsliced = cedar.unsliced.as_ref().unwrap();
    let start = Instant::now();
    for k in 0..UNSLICED_QUESTIONS {
        black_box(cedar::Authorizer::new().is_authorized(&cedar.requests[k], unsliced, &cedar.entities));
    }
    println!(
        "Cedar with one set of all {} policies (not sliced): {:.0} µs per decision ({UNSLICED_QUESTIONS} questions)",
        unsliced.policies().count(),
        start.elapsed().as_secs_f64() * 1e6 / UNSLICED_QUESTIONS as f64
    );

    let authorizer = cedar::Authorizer::new();
    let measures: Vec<Measure<'_>> = vec![
        ("ours/latest", Box::new(|k| drop(black_box(ledger.check(black_box(&questions[k])))))),
        ("ours/as_of", Box::new(|k| drop(black_box(ledger.check_as_of(earlier, black_box(&questions[k])))))),
        ("cedar/latest", Box::new(|k| cedar.decide(&authorizer, k, false))),
        ("cedar/as_of", Box::new(|k| cedar.decide(&authorizer, k, true))),
    ];

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group(format!("decisions_{PATIENTS}x10"));
    for (name, decide) in &measures {
        group.bench_function(*name, |b| {
            let mut k = 0;
            b.iter(|| {
                k = (k + 1) % QUESTIONS;
                decide(k);
            })
        });
    }
    group.finish();

    // Interleaved timed passes, so that the ratios compare the same moments of a shared host: each pass
    // either right after the other engine's (cold: its data evicted from the caches) or after an untimed
    // pass of its own (warm).
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    for warm in [false, true] {
        let medians = medians(&measures, warm);
        let caches = if warm {
            "warm: after an untimed pass of the same engine"
        } else {
            "cold: right after the other engine's pass"
        };
        println!(
            "\n{PATIENTS} patients x 10 consents, {QUESTIONS} questions: median of {PASSES} interleaved passes, {caches}"
        );
        for ((name, _), ns) in measures.iter().zip(&medians) {
            println!("  {name:<14} {ns:>8.0} ns per decision");
        }
        let (ours_latest, ours_as_of, cedar_latest, cedar_as_of) = (medians[0], medians[1], medians[2], medians[3]);
        println!(
            "  Cedar / ours, latest: {:.1}x   as of height {earlier}: {:.1}x",
            cedar_latest / ours_latest,
            cedar_as_of / ours_as_of
        );
        println!(
            "  target (median <= 500 ns and >= 30x Cedar): latest {}, as of {}",
            met(ours_latest <= 500.0 && cedar_latest / ours_latest >= 30.0),
            met(ours_as_of <= 500.0 && cedar_as_of / ours_as_of >= 30.0)
        );
    }
}
