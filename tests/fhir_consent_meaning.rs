//! What HL7's example Consents mean for the ledger's questions (`fhir::consent::compile`, then
//! `ConsentPolicy::decide`). The expected decisions are written from the FHIR specification's semantics
//! (docs/FHIR.md: R5 "provisions state the exceptions to the base decision", each level an exception to the
//! level above, siblings ORed, attributes ANDed, values ORed; R4 read the same way from `policyRule`) applied
//! by hand to each example's structure, not from the code. Where an example's narrative says otherwise, the
//! comment says so: the structure is what a machine can read.

use Effect::{Deny, Permit};
use healthchain::fhir::consent::{ConsentPolicy, Directory, Effect, ImportOptions, R4Root, compile, import, read};
use healthchain::fhir::{FhirError, FhirVersion};
use healthchain::*;
use std::collections::HashMap;
use std::path::PathBuf;

/// A stable key per FHIR reference.
fn key(reference: &str) -> SigningKey {
    let mut seed = [0u8; 32];
    for (i, b) in reference.bytes().enumerate() {
        seed[i % 32] = seed[i % 32].wrapping_mul(31).wrapping_add(b);
    }
    SigningKey::from_seed(&seed)
}

/// A stable actor id per FHIR reference.
fn id(reference: &str) -> ActorId {
    ActorId::from_key(&key(reference).public_key())
}

const PARTIES: [&str; 18] = [
    "Patient/72",
    "Patient/f001",
    "Patient/example",
    "Patient/f201",
    "Patient/mom",
    "Patient/xcda",
    "Patient/pat2",
    "Patient/f002",
    "Practitioner/f204",
    "Practitioner/f007",
    "Practitioner/13",
    "Practitioner/f001",
    "Practitioner/other",
    "Organization/f001",
    "Organization/f201",
    "Organization/f203",
    "Organization/other",
    "RelatedPerson/peter",
];

fn directory() -> HashMap<String, Grantee> {
    PARTIES.iter().map(|r| (r.to_string(), Grantee::Actor(id(r)))).collect()
}

/// An import's settings and the custodians whose data the ledger holds (every organisation of `PARTIES` is
/// a known custodian; the others' data is not the ledger's).
#[derive(Clone)]
struct Setup {
    options: ImportOptions,
    ours: Vec<String>,
}

fn options(ours: &[&str]) -> Setup {
    Setup { options: ImportOptions::default(), ours: ours.iter().map(|c| c.to_string()).collect() }
}

fn scope(ours: &[&str]) -> Setup {
    Setup { options: ImportOptions { r4_root: R4Root::Scope, ..ImportOptions::default() }, ..options(ours) }
}

/// The examples' parties, and which organisations hold the ledger's data.
struct Examples<'a> {
    parties: HashMap<String, Grantee>,
    ours: &'a [String],
}

impl Directory for Examples<'_> {
    fn resolve(&self, reference: &str) -> Option<Grantee> {
        self.parties.get(reference).copied()
    }
    fn custodian(&self, reference: &str) -> Option<bool> {
        reference.starts_with("Organization/").then(|| self.ours.iter().any(|o| o == reference))
    }
}

fn json(folder: &str, name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/vectors/fhir", folder, name].iter().collect();
    std::fs::read(path).unwrap()
}

fn compile_json(bytes: &[u8], version: FhirVersion, setup: &Setup) -> Result<ConsentPolicy, FhirError> {
    let resource = read(bytes, version, &setup.options.read)?;
    compile(&resource, &Examples { parties: directory(), ours: &setup.ours }, &setup.options)
}

fn policy(folder: &str, name: &str, options: &Setup) -> Result<ConsentPolicy, FhirError> {
    let version = if folder == "r4" { FhirVersion::R4 } else { FhirVersion::R5 };
    compile_json(&json(folder, name), version, options)
}

/// 2015-01-15T00:00:00Z and other instants, in ms (from Python's `datetime`).
const JAN_15_2015: u64 = 1_421_280_000_000;
const FEB_1_2015_NOON: u64 = 1_422_792_000_000;
const FEB_2_2015: u64 = 1_422_835_200_000;
const DEC_31_2014: u64 = 1_419_984_000_000;
const JUNE_1_2016: u64 = 1_464_739_200_000;
const JUNE_1_2018: u64 = 1_527_811_200_000;
const JUNE_1_2019: u64 = 1_559_347_200_000;
/// 2016-06-23T17:10:00+10:00, inside smartonfhir's half hour; and an hour later.
const SMART_INSIDE: u64 = 1_466_665_800_000;
const SMART_AFTER: u64 = SMART_INSIDE + 3_600_000;

/// May `requester` read labs of `patient` for treatment at 0?
fn read_labs(patient: ActorId, requester: &str) -> CheckRequest {
    CheckRequest {
        patient,
        requester: id(requester),
        section: Code::new("labs").unwrap(),
        purpose: Code::new("TREAT").unwrap(),
        action: Action::Read,
        at: 0,
    }
}

/// Asks `policy` (every requester a provider): may `requester` do `action` on `section` for `purpose` at `at`?
fn ask(
    policy: &ConsentPolicy,
    requester: &str,
    section: &str,
    purpose: &str,
    action: Action,
    at: u64,
) -> Option<Effect> {
    let question = CheckRequest {
        section: Code::new(section).unwrap(),
        purpose: Code::new(purpose).unwrap(),
        action,
        at,
        ..read_labs(policy.patient, requester)
    };
    policy.decide(&question, &|_| Some(Role::Provider))
}

fn refused_at(result: Result<ConsentPolicy, FhirError>) -> String {
    match result {
        Err(
            FhirError::Unsupported { element, .. }
            | FhirError::Invalid { element, .. }
            | FhirError::Unresolved { element },
        ) => element,
        other => panic!("expected a refusal naming an element, got {other:?}"),
    }
}

#[test]
fn not_them_denies_one_practitioner_and_no_one_else() {
    // R4 OPTIN (permit) with an untyped root {PRCP f204, access, correct}: an exception, so deny. R5: decision
    // permit, level 1 the same provision: deny. The narrative: "she does not want her ex-spouse to have any access".
    for (folder, name) in [("r4", "Consent-consent-example-notThem.json"), ("r5", "consent-example-notThem.json")] {
        let p = policy(folder, name, &options(&[])).unwrap();
        assert_eq!(ask(&p, "Practitioner/f204", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Deny), "{name}");
        assert_eq!(ask(&p, "Practitioner/f204", "notes", "HPAYMT", Action::Write, JUNE_1_2016), Some(Deny), "{name}");
        assert_eq!(ask(&p, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Permit), "{name}");
    }
    // A question about another patient is not this consent's to decide.
    let p = policy("r4", "Consent-consent-example-notThem.json", &options(&[])).unwrap();
    let mut other = read_labs(id("Patient/mom"), "Practitioner/f204");
    assert_eq!(p.decide(&other, &|_| None), None);
    other.patient = p.patient;
    assert_eq!(p.decide(&other, &|_| None), Some(Deny));
}

#[test]
fn not_org_denies_an_organisation_as_recipient() {
    for (folder, name) in [("r4", "Consent-consent-example-notOrg.json"), ("r5", "consent-example-notOrg.json")] {
        let p = policy(folder, name, &options(&[])).unwrap();
        assert_eq!(ask(&p, "Organization/f001", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Deny), "{name}");
        assert_eq!(ask(&p, "Organization/f201", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Permit), "{name}");
    }
    // R4 notOrg states `type: deny` on its root: consistent with reading the root as an exception to OPTIN,
    // a contradiction of reading it as OPTIN's scope, which is refused rather than guessed.
    let scope = scope(&[]);
    assert_eq!(refused_at(policy("r4", "Consent-consent-example-notOrg.json", &scope)), "Consent.provision.type");
    // A directory may name a role: then every provider is the recipient the rule is about.
    let mut roles = directory();
    roles.insert("Organization/f001".into(), Grantee::Role(Role::Provider));
    let resource = read(&json("r5", "consent-example-notOrg.json"), FhirVersion::R5, &Default::default()).unwrap();
    let p = compile(&resource, &roles, &ImportOptions::default()).unwrap();
    let question = |role| p.decide(&read_labs(p.patient, "Practitioner/f007"), &|_| Some(role));
    assert_eq!((question(Role::Provider), question(Role::Insurer)), (Some(Deny), Some(Permit)));
}

#[test]
fn not_time_denies_requests_in_its_period_whose_end_day_is_included() {
    // `period` 2015-01-01 to 2015-02-01: the rule holds for requests in that time, the end day included. (The
    // narrative means the data's dates, `dataPeriod`; the structure says `period`.)
    for (folder, name) in [("r4", "Consent-consent-example-notTime.json"), ("r5", "consent-example-notTime.json")] {
        let p = policy(folder, name, &options(&[])).unwrap();
        let at = |t| ask(&p, "Practitioner/f007", "labs", "TREAT", Action::Read, t);
        assert_eq!(
            [at(DEC_31_2014), at(JAN_15_2015), at(FEB_1_2015_NOON), at(FEB_2_2015)],
            [Some(Permit), Some(Deny), Some(Deny), Some(Permit)]
        );
    }
}

#[test]
fn a_custodian_condition_holds_for_the_ledgers_custodians_only() {
    // notAuthor: permit, except data held by Organization/f001 (CST): denied.
    for (folder, name) in [("r4", "Consent-consent-example-notAuthor.json"), ("r5", "consent-example-notAuthor.json")] {
        let ours = policy(folder, name, &options(&["Organization/f001"])).unwrap();
        assert_eq!(ask(&ours, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Deny));
        // If the ledger's data is another custodian's, the exception is about no data the ledger guards.
        let theirs = policy(folder, name, &options(&["Organization/other"])).unwrap();
        assert!(theirs.rules.is_empty());
        assert_eq!(ask(&theirs, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Permit));
    }
    // R5 Out: permit, except data held by f001: denied ("no data at the Medical Center available").
    let out = policy("r5", "consent-example-Out.json", &options(&["Organization/f001"])).unwrap();
    assert_eq!(ask(&out, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Deny));
}

#[test]
fn grantor_permits_one_reader_of_one_custodians_data() {
    // R5: decision deny; level 1 {CST f203 AND PRCP f007, access}: permit (a recipient and a custodian ANDed).
    let p = policy("r5", "consent-example-grantor.json", &options(&["Organization/f203"])).unwrap();
    assert_eq!(p.patient, id("Patient/f201"));
    assert_eq!(ask(&p, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Permit));
    assert_eq!(ask(&p, "Practitioner/f007", "labs", "TREAT", Action::Write, JUNE_1_2016), Some(Deny));
    assert_eq!(ask(&p, "Practitioner/f204", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Deny));
    // R4: OPTOUT (deny); the untyped root {CST f001, PRCP Patient/example, access} an exception: permit.
    let p = policy("r4", "Consent-consent-example-grantor.json", &options(&["Organization/f001"])).unwrap();
    assert_eq!(ask(&p, "Patient/example", "notes", "TREAT", Action::Read, JUNE_1_2016), Some(Permit));
    assert_eq!(ask(&p, "Practitioner/f204", "notes", "TREAT", Action::Read, JUNE_1_2016), Some(Deny));
}

#[test]
fn the_r4_root_is_read_as_the_option_says() {
    // R4 Out: OPTOUT with an untyped root {CST f001}. As an exception (R4's "provisions are exceptions",
    // R5's model): permit. As OPTOUT's scope (what its narrative means: "no data ... available"): deny.
    let exception = policy("r4", "Consent-consent-example-Out.json", &options(&["Organization/f001"])).unwrap();
    let scope = scope(&["Organization/f001"]);
    let scope = policy("r4", "Consent-consent-example-Out.json", &scope).unwrap();
    assert_eq!(ask(&exception, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Permit));
    assert_eq!(ask(&scope, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Deny));
    // R4 basic: OPTIN with an untyped root {period 1964-01-01 .. 2016-01-01}: as an exception, denied inside.
    let basic = policy("r4", "Consent-consent-example-basic.json", &options(&[])).unwrap();
    assert_eq!(ask(&basic, "Practitioner/f007", "labs", "TREAT", Action::Read, JAN_15_2015), Some(Deny));
    assert_eq!(ask(&basic, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Permit));
}

#[test]
fn emergency_examples_decide_as_their_structure_says() {
    // R4: OPTOUT (deny); root {CST f001, ETREAT} an exception (permit); nested {type deny, CST f001} inside it:
    // deny. So every question is denied; the narrative's ETREAT exception is cancelled by the nested deny.
    let r4 = policy("r4", "Consent-consent-example-Emergency.json", &options(&["Organization/f001"])).unwrap();
    assert_eq!(ask(&r4, "Practitioner/f007", "labs", "ETREAT", Action::Read, JUNE_1_2016), Some(Deny));
    assert_eq!(ask(&r4, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Deny));
    // R5: decision deny; level 1 {CST f201}: permit; level 2 {CST f201, ETREAT}: deny. The opposite of its
    // narrative ("no data ... except for emergency treatment"), as encoded.
    let r5 = policy("r5", "consent-example-Emergency.json", &options(&["Organization/f201"])).unwrap();
    assert_eq!(ask(&r5, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Permit));
    assert_eq!(ask(&r5, "Practitioner/f007", "labs", "ETREAT", Action::Read, JUNE_1_2016), Some(Deny));
    // The draft No-Emergency: permit; level 1 {PRCP Organization/f201, purpose TREAT or ETREAT} (the purpose
    // under ActReason's pre-R4 address): deny for those purposes only.
    let draft = policy("r5-draft", "consent-example-No-Emergency.json", &options(&[])).unwrap();
    assert_eq!(ask(&draft, "Organization/f201", "labs", "ETREAT", Action::Read, JUNE_1_2016), Some(Deny));
    assert_eq!(ask(&draft, "Organization/f201", "labs", "HPAYMT", Action::Read, JUNE_1_2016), Some(Permit));
    assert_eq!(ask(&draft, "Organization/f203", "labs", "TREAT", Action::Read, JUNE_1_2016), Some(Permit));
}

#[test]
fn smart_on_fhir_allows_medications_only_during_its_half_hour() {
    // R4: OPTIN; root {period 17:02:33–17:32:33 +10:00} untyped: deny; nested {type permit, access, class
    // MedicationRequest}: permit reading medications. Outside the half hour the base permits everything.
    let r4 = policy("r4", "Consent-consent-example-smartonfhir.json", &options(&[])).unwrap();
    assert_eq!(ask(&r4, "Practitioner/f007", "medications", "TREAT", Action::Read, SMART_INSIDE), Some(Permit));
    assert_eq!(ask(&r4, "Practitioner/f007", "medications", "TREAT", Action::Write, SMART_INSIDE), Some(Deny));
    assert_eq!(ask(&r4, "Practitioner/f007", "labs", "TREAT", Action::Read, SMART_INSIDE), Some(Deny));
    assert_eq!(ask(&r4, "Practitioner/f007", "labs", "TREAT", Action::Read, SMART_AFTER), Some(Permit));
    // R5: decision permit; level 1 {period}: deny; level 2 {access, correct, resourceType MedicationRequest}:
    // permit, writing included (correct).
    let r5 = policy("r5", "consent-example-smartonfhir.json", &options(&[])).unwrap();
    assert_eq!(ask(&r5, "Practitioner/f007", "medications", "TREAT", Action::Write, SMART_INSIDE), Some(Permit));
    assert_eq!(ask(&r5, "Practitioner/f007", "labs", "TREAT", Action::Read, SMART_INSIDE), Some(Deny));
    assert_eq!(ask(&r5, "Practitioner/f007", "labs", "TREAT", Action::Read, SMART_AFTER), Some(Permit));
}

#[test]
fn r5_basic_and_org_to_org() {
    // consent-example (basic): decision deny; level 1 {period 1964-01-01 .. 2019-01-01}: permit inside.
    let basic = policy("r5", "consent-example.json", &options(&[])).unwrap();
    assert_eq!(ask(&basic, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2018), Some(Permit));
    assert_eq!(ask(&basic, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2019), Some(Deny));
    // The draft OrgToOrg: deny; level 1 {IRCP Organization/f203, disclose}: permit reading (disclose → read).
    let org = policy("r5-draft", "consent-example-OrgToOrg.json", &options(&[])).unwrap();
    assert_eq!(ask(&org, "Organization/f203", "labs", "TREAT", Action::Read, JUNE_1_2018), Some(Permit));
    assert_eq!(ask(&org, "Organization/f203", "labs", "TREAT", Action::Write, JUNE_1_2018), Some(Deny));
    assert_eq!(ask(&org, "Organization/f201", "labs", "TREAT", Action::Read, JUNE_1_2018), Some(Deny));
}

#[test]
fn what_the_ledger_cannot_express_is_refused_at_its_element() {
    let o = options(&["Organization/f001"]);
    // Confidentiality N is in no default section mapping (pkb, R4 and R5).
    assert_eq!(refused_at(policy("r4", "Consent-consent-example-pkb.json", &o)), "Consent.provision.securityLabel");
    assert_eq!(refused_at(policy("r5", "consent-example-pkb.json", &o)), "Consent.provision[0].securityLabel");
    // Authors (AUT): the ledger does not know who wrote a record.
    assert_eq!(
        refused_at(policy("r4", "Consent-consent-example-signature.json", &o)),
        "Consent.provision.provision[0].actor[0].role"
    );
    assert_eq!(
        refused_at(policy("r5", "consent-example-CDA.json", &o)),
        "Consent.provision[0].provision[0].actor[0].role"
    );
    // A label under a ValueSet's address instead of its code system's.
    assert_eq!(
        refused_at(policy("r5-draft", "consent-example-notSecLabel.json", &o)),
        "Consent.provision[0].securityLabel"
    );
    // With N mapped, R4 pkb's nested provisions lack the type R4 requires of nested provisions.
    let mut mapped = o.clone();
    let n = vec![Code::new("routine").unwrap()];
    mapped.options.sections.insert("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "N", n);
    let error = policy("r4", "Consent-consent-example-pkb.json", &mapped);
    assert_eq!(refused_at(error), "Consent.provision.provision[0].type");
    // Unresolvable references; consents not in force.
    let empty: HashMap<String, Grantee> = HashMap::new();
    let resource =
        read(&json("r4", "Consent-consent-example-notThem.json"), FhirVersion::R4, &Default::default()).unwrap();
    assert_eq!(
        compile(&resource, &empty, &o.options),
        Err(FhirError::Unresolved { element: "Consent.patient.reference".into() })
    );
    let mut partial = directory();
    partial.remove("Practitioner/f204");
    assert_eq!(
        compile(&resource, &partial, &o.options),
        Err(FhirError::Unresolved { element: "Consent.provision.actor[0].reference".into() })
    );
    let with_status = |status: &str| {
        let text = String::from_utf8(json("r4", "Consent-consent-example-notThem.json")).unwrap();
        compile_json(text.replace("\"active\"", &format!("\"{status}\"")).as_bytes(), FhirVersion::R4, &o)
    };
    // No longer in force: it decides nothing (its patient still resolved), and so writes no rule.
    let active = with_status("active").unwrap();
    for status in ["inactive", "rejected", "entered-in-error"] {
        let ended = with_status(status).unwrap();
        assert_eq!((ended.patient, ended.base, ended.rules.len()), (active.patient, None, 0), "{status}");
        assert_eq!(ended.ledger_rules(&|_| None), Ok(Vec::new()), "{status}");
    }
    // Not known to be in force: refused, so that an update never replaces a rule with a draft.
    for status in ["draft", "proposed"] {
        assert_eq!(refused_at(with_status(status)), "Consent.status", "{status}");
    }
}

#[test]
fn an_r5_provision_period_outside_the_consents_is_refused() {
    let consent = |inner: &str| {
        format!(
            r#"{{"resourceType":"Consent","status":"active","subject":{{"reference":"Patient/f001"}},
                "period":{{"start":"2020-01-01","end":"2020-12-31"}},"decision":"permit",
                "provision":[{{"period":{inner}}}]}}"#
        )
    };
    let o = options(&[]);
    let inside = compile_json(consent(r#"{"start":"2020-03-01","end":"2020-04-01"}"#).as_bytes(), FhirVersion::R5, &o);
    let p = inside.unwrap();
    // 2020-03-15 is inside both: denied; 2020-06-01 only in the consent's: permitted; 2021: not in force.
    let (march, june, next_year) = (1_584_230_400_000, 1_590_969_600_000, 1_622_505_600_000);
    assert_eq!(ask(&p, "Practitioner/f007", "labs", "TREAT", Action::Read, march), Some(Deny));
    assert_eq!(ask(&p, "Practitioner/f007", "labs", "TREAT", Action::Read, june), Some(Permit));
    assert_eq!(ask(&p, "Practitioner/f007", "labs", "TREAT", Action::Read, next_year), None);
    let outside = compile_json(consent(r#"{"start":"2019-03-01"}"#).as_bytes(), FhirVersion::R5, &o);
    assert_eq!(refused_at(outside), "Consent.provision[0].period");
}

/// A minimal R5 consent of patient f001 with `decision` and these level-1 provisions.
fn r5(decision: &str, provisions: &str) -> Vec<u8> {
    format!(
        r#"{{"resourceType":"Consent","status":"active","subject":{{"reference":"Patient/f001"}},
            "decision":"{decision}","provision":{provisions}}}"#
    )
    .into_bytes()
}

const PRCP_F204: &str = r#"{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"PRCP"}]},"reference":{"reference":"Practitioner/f204"}}"#;
const TREAT: &str = r#"{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"TREAT"}"#;

#[test]
fn matching_siblings_that_end_differently_deny() {
    // Deny; A {f204}: permit; B {TREAT}: permit, except {f204}: deny. f204 for TREAT matches A (permit) and
    // B's exception (deny): deny wins. f204 for payment matches A only; f007 for TREAT matches B only.
    let provisions =
        format!(r#"[{{"actor":[{PRCP_F204}]}},{{"purpose":[{TREAT}],"provision":[{{"actor":[{PRCP_F204}]}}]}}]"#);
    let p = compile_json(&r5("deny", &provisions), FhirVersion::R5, &options(&[])).unwrap();
    assert_eq!(ask(&p, "Practitioner/f204", "labs", "TREAT", Action::Read, 0), Some(Deny));
    assert_eq!(ask(&p, "Practitioner/f204", "labs", "HPAYMT", Action::Read, 0), Some(Permit));
    assert_eq!(ask(&p, "Practitioner/f007", "labs", "TREAT", Action::Read, 0), Some(Permit));
    assert_eq!(ask(&p, "Practitioner/f007", "labs", "HPAYMT", Action::Read, 0), Some(Deny));
}

#[test]
fn an_r5_actor_without_a_role_is_the_requester() {
    let provisions = r#"[{"actor":[{"reference":{"reference":"Practitioner/f204"}}]}]"#;
    let p = compile_json(&r5("permit", provisions), FhirVersion::R5, &options(&[])).unwrap();
    assert_eq!(ask(&p, "Practitioner/f204", "labs", "TREAT", Action::Read, 0), Some(Deny));
    assert_eq!(ask(&p, "Practitioner/f007", "labs", "TREAT", Action::Read, 0), Some(Permit));
}

#[test]
fn custodians_must_be_known_and_roles_and_purposes_unambiguous() {
    // A directory that knows no custodian: the custodian condition of R5 Out cannot be decided, so the
    // import is refused rather than the provision dropped (which would permit everything).
    let resource = read(&json("r5", "consent-example-Out.json"), FhirVersion::R5, &Default::default()).unwrap();
    let result = compile(&resource, &directory(), &ImportOptions::default());
    assert_eq!(result, Err(FhirError::Unresolved { element: "Consent.provision[0].actor[0].reference".into() }));
    // A role that is both a recipient and a custodian; a purpose `*`, which the ledger reads as "every purpose".
    let both = r#"[{"actor":[{"role":{"coding":[
        {"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"PRCP"},
        {"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"CST"}]},
        "reference":{"reference":"Organization/f001"}}]}]"#;
    let result = compile_json(&r5("permit", both), FhirVersion::R5, &options(&["Organization/f001"]));
    assert_eq!(refused_at(result), "Consent.provision[0].actor[0].role");
    let star = r#"[{"purpose":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"*"}]}]"#;
    assert_eq!(
        refused_at(compile_json(&r5("permit", star), FhirVersion::R5, &options(&[]))),
        "Consent.provision[0].purpose"
    );
}

#[test]
fn under_the_scope_reading_an_r4_consent_decides_only_inside_its_root() {
    // R4 basic under Scope: OPTIN applies within its period (1964-01-01 .. 2016-01-01); after it, nothing.
    let basic = policy("r4", "Consent-consent-example-basic.json", &scope(&[])).unwrap();
    assert_eq!(basic.base, None);
    assert_eq!(ask(&basic, "Practitioner/f007", "labs", "TREAT", Action::Read, JAN_15_2015), Some(Permit));
    assert_eq!(ask(&basic, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2016), None);
    // R4 Out under Scope, when the ledger holds another custodian's data: its root is about no data here.
    let out = policy("r4", "Consent-consent-example-Out.json", &scope(&["Organization/other"])).unwrap();
    assert_eq!(ask(&out, "Practitioner/f007", "labs", "TREAT", Action::Read, JUNE_1_2016), None);
}

#[test]
fn a_purpose_covers_the_purposes_it_subsumes() {
    // v3 ActReason is an is-a hierarchy: ETREAT and BTG (under ETREAT) are kinds of TREAT; HPAYMT is not.
    let provisions = format!(r#"[{{"purpose":[{TREAT}]}}]"#);
    let p = compile_json(&r5("permit", &provisions), FhirVersion::R5, &options(&[])).unwrap();
    for (purpose, expected) in [("TREAT", Deny), ("ETREAT", Deny), ("BTG", Deny), ("COC", Deny), ("HPAYMT", Permit)] {
        assert_eq!(ask(&p, "Practitioner/f007", "labs", purpose, Action::Read, 0), Some(expected), "{purpose}");
    }
    // And a permit of ETREAT does not permit treatment in general.
    let etreat = r#"[{"purpose":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"ETREAT"}]}]"#;
    let p = compile_json(&r5("deny", etreat), FhirVersion::R5, &options(&[])).unwrap();
    assert_eq!(ask(&p, "Practitioner/f007", "labs", "BTG", Action::Read, 0), Some(Permit));
    assert_eq!(ask(&p, "Practitioner/f007", "labs", "TREAT", Action::Read, 0), Some(Deny));
}

/// Every example that compiles (R4 under both readings of its root), imported into a ledger where its
/// parties are registered (patients as patients, everyone else as a provider), answers as it reads
/// (`ConsentPolicy::decide`) every question about its patient: each party, five sections, five purposes,
/// both actions, at the grant and at every boundary of its periods after it.
#[test]
fn every_example_imported_into_a_ledger_decides_as_it_reads() {
    const START: u64 = 1_262_304_000_000; // 2010-01-01, before every example's period
    let ours: Vec<String> = PARTIES.iter().filter(|p| p.starts_with("Organization/")).map(|p| p.to_string()).collect();
    let mut imported = 0;
    for folder in ["r4", "r5", "r5-draft"] {
        let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/vectors/fhir", folder].iter().collect();
        let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        for name in names {
            let name = name.to_string_lossy().into_owned();
            let readings =
                if folder == "r4" { vec![R4Root::Exception, R4Root::Scope] } else { vec![R4Root::Exception] };
            for r4_root in readings {
                let options = ImportOptions { r4_root, ..ImportOptions::default() };
                let setup = Setup { options: options.clone(), ours: ours.clone() };
                let Ok(policy) = policy(folder, &name, &setup) else { continue };
                let clock = ManualClock::new(START);
                let hospital = key("hospital");
                let mut ledger = Ledger::create(
                    MemoryStore::new(),
                    Box::new(clock.clone()),
                    &LedgerSettings::new("hl7-examples"),
                    &[&hospital],
                )
                .unwrap();
                for party in PARTIES {
                    let role = if party.starts_with("Patient/") { Role::Patient } else { Role::Provider };
                    ledger.register(&hospital, &key(party), role).unwrap();
                }
                ledger.seal(&[&hospital]).unwrap();
                let patient = PARTIES.iter().find(|p| id(p) == policy.patient).unwrap();
                let directory = Examples { parties: directory(), ours: &ours };
                let version = if folder == "r4" { FhirVersion::R4 } else { FhirVersion::R5 };
                let granted_at = ledger.now();
                let done = import(&mut ledger, &key(patient), &json(folder, &name), version, &directory, &options)
                    .unwrap_or_else(|e| panic!("{folder}/{name}: {e}"));
                assert_eq!(done.policy, policy);
                assert_eq!(done.granted.len(), done.rules.len());
                if !done.rules.is_empty() {
                    ledger.seal(&[&hospital]).unwrap();
                }
                imported += 1;
                let mut instants = vec![granted_at];
                let mut periods: Vec<_> = policy.period.into_iter().collect();
                let mut stack: Vec<_> = policy.rules.iter().collect();
                while let Some(rule) = stack.pop() {
                    periods.extend(rule.when.period);
                    stack.extend(rule.exceptions.iter());
                }
                for period in periods {
                    for edge in [period.start, period.end].into_iter().flatten() {
                        instants
                            .extend([edge - 1, edge].map(|at| at as u64).into_iter().filter(|at| *at >= granted_at));
                    }
                }
                let role_of = |who: &ActorId| ledger.actor(who).map(|a| a.role);
                for requester in PARTIES.iter().filter(|p| *p != patient) {
                    for section in ["labs", "medications", "notes", "mental-health", "imaging"] {
                        for purpose in ["TREAT", "ETREAT", "HPAYMT", "HRESCH", "PUBHLTH"] {
                            for action in [Action::Read, Action::Write] {
                                for at in &instants {
                                    let question = CheckRequest {
                                        patient: policy.patient,
                                        requester: id(requester),
                                        section: Code::new(section).unwrap(),
                                        purpose: Code::new(purpose).unwrap(),
                                        action,
                                        at: *at,
                                    };
                                    let expected = policy.decide(&question, &role_of) == Some(Permit);
                                    let decision = ledger.check(&question).unwrap();
                                    assert_eq!(
                                        matches!(decision, Decision::Permit(PermitBasis::Consents(_))),
                                        expected,
                                        "{folder}/{name} ({r4_root:?}): {requester} {section} {purpose} {action:?} at {at}: {decision}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    eprintln!("{imported} example readings imported");
    assert!(imported >= 20, "only {imported} example readings imported");
}
