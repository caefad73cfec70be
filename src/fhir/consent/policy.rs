//! What a Consent means for the ledger's questions (docs/FHIR.md, "Meaning"): its effects resolved
//! (R5: `decision`, then each level of provisions an exception to the level above; R4 read the same way from
//! `policyRule`), and every condition in the ledger's terms (requesters as actors or roles, sections,
//! purposes, actions, a period). [`ConsentPolicy::decide`] answers a question as FHIR defines it: the
//! reference that the ledger rules an import writes must agree with.

use super::{ConsentResource, ConsentStatus, Effect, MAX_PROVISION_DEPTH, Period, Provision, ReadOptions};
use crate::codes::{Actions, Code, MAX_CODES_PER_SET, Role};
use crate::consent::CheckRequest;
use crate::fhir::purposes;
use crate::fhir::sections::SectionMap;
use crate::fhir::{ACTION_SYSTEM, FhirError, FhirVersion, PURPOSE_SYSTEM, SECTION_SYSTEM};
use crate::ids::ActorId;
use crate::tx::Grantee;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// HL7 v3 ParticipationType: the roles of `provision.actor`.
pub const PARTICIPATION_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
/// FHIR's consent action codes.
pub const CONSENT_ACTION: &str = "http://terminology.hl7.org/CodeSystem/consentaction";
/// HL7 v3 ActReason: purposes of use (TREAT, ETREAT, HPAYMT, …).
pub const ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
/// The same code system under its pre-R4 address, still found in HL7's examples.
pub const ACT_REASON_LEGACY: &str = "http://hl7.org/fhir/v3/ActReason";

/// How an R4 root provision without `type` is read: R4's text calls provisions "exceptions" to
/// `policyRule` (as R5 does), but several of HL7's R4 examples read the root as the scope of `policyRule`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum R4Root {
    /// The root is an exception to `policyRule`: its effect is the opposite (the default; R5's model).
    #[default]
    Exception,
    /// The root is where `policyRule` applies: its effect is `policyRule`'s, and outside it the consent
    /// decides nothing.
    Scope,
}

/// Settings of an import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// How dates are read.
    pub read: ReadOptions,
    /// Which sections FHIR's data codes denote.
    pub sections: SectionMap,
    /// How an R4 root provision without `type` is read.
    pub r4_root: R4Root,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self { read: ReadOptions::default(), sections: SectionMap::defaults(), r4_root: R4Root::default() }
    }
}

/// Resolves FHIR references (`Practitioner/f204`) to the ledger's parties; the ledger holds no names.
pub trait Directory {
    /// The actor or role a reference names (a patient, a recipient), if known.
    fn resolve(&self, reference: &str) -> Option<Grantee>;

    /// Whether the ledger's sections hold the data of the custodian (`CST`) a reference names: `Some(false)`
    /// for another custodian (a provision about its data applies to no question the ledger answers), `None`
    /// if unknown (the import is refused). Unknown for every reference by default.
    fn custodian(&self, reference: &str) -> Option<bool> {
        let _ = reference;
        None
    }

    /// The reference that names `grantee` (an actor, or a role, e.g. as a `Group`), for export; `None` if
    /// unknown (the export is refused). Unknown for every grantee by default.
    fn reference(&self, grantee: &Grantee) -> Option<String> {
        let _ = grantee;
        None
    }
}

impl<S: std::hash::BuildHasher> Directory for HashMap<String, Grantee, S> {
    fn resolve(&self, reference: &str) -> Option<Grantee> {
        self.get(reference).copied()
    }

    /// The least reference that resolves to `grantee`.
    fn reference(&self, grantee: &Grantee) -> Option<String> {
        self.iter().filter(|(_, g)| *g == grantee).map(|(r, _)| r).min().cloned()
    }
}

impl Directory for BTreeMap<String, Grantee> {
    fn resolve(&self, reference: &str) -> Option<Grantee> {
        self.get(reference).copied()
    }

    /// The least reference that resolves to `grantee`.
    fn reference(&self, grantee: &Grantee) -> Option<String> {
        self.iter().find(|(_, g)| *g == grantee).map(|(r, _)| r.clone())
    }
}

/// A Consent's meaning: a base decision and exceptions to it, nested.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentPolicy {
    /// Whose consent.
    pub patient: ActorId,
    /// The decision where no rule applies; `None` when the consent decides only where its rules apply
    /// (an R4 root read as `policyRule`'s scope).
    pub base: Option<Effect>,
    /// When the consent is in force (R5 `Consent.period`); outside it, it decides nothing.
    pub period: Option<Period>,
    /// The exceptions to the base (any that match apply).
    pub rules: Vec<Rule>,
}

/// A provision: where its conditions hold (within its parent's), its effect, unless an exception applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The provision it comes from (`Consent.provision.provision[1]`).
    pub element: String,
    /// Its effect.
    pub effect: Effect,
    /// Its own conditions.
    pub when: Conditions,
    /// Its exceptions.
    pub exceptions: Vec<Rule>,
}

/// A provision's conditions, all of which must hold (each `None` holds always).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conditions {
    /// The requester is one of these actors or has one of these roles.
    pub requesters: Option<Vec<Grantee>>,
    /// The section asked about is one of these.
    pub sections: Option<Vec<Code>>,
    /// The purpose is one of these.
    pub purposes: Option<Vec<Code>>,
    /// The action is one of these.
    pub actions: Actions,
    /// The instant asked about is in this period.
    pub period: Option<Period>,
}

/// Resolves `resource`'s meaning; a consent no longer in force (inactive, rejected, not-done,
/// entered-in-error) decides nothing. Refused: a draft, proposed or unknown-status consent; an unresolvable reference or
/// unknown custodian ([`FhirError::Unresolved`]); a role, action, purpose or data code the ledger's
/// questions cannot express;
/// an R4 consent without `policyRule`, a nested R4 provision without `type`, or a root `type` that
/// contradicts [`ImportOptions::r4_root`]; an R5 consent without `decision`; an R5 provision period
/// outside `Consent.period` (R5 lets it replace the consent's, which a window cannot say).
pub fn compile(
    resource: &ConsentResource,
    directory: &dyn Directory,
    options: &ImportOptions,
) -> Result<ConsentPolicy, FhirError> {
    let in_force = match resource.status {
        ConsentStatus::Active => true,
        ConsentStatus::Inactive | ConsentStatus::Rejected | ConsentStatus::NotDone | ConsentStatus::EnteredInError => {
            false
        }
        ConsentStatus::Draft | ConsentStatus::Proposed | ConsentStatus::Unknown => {
            return Err(unsupported(
                "Consent.status",
                "a draft, proposed or unknown consent is not known to be in force",
            ));
        }
    };
    let patient_element = match resource.version {
        FhirVersion::R4 => "Consent.patient.reference",
        FhirVersion::R5 => "Consent.subject.reference",
    };
    let patient = match directory.resolve(&resource.patient) {
        Some(Grantee::Actor(id)) => id,
        Some(Grantee::Role(_)) => return Err(unsupported(patient_element, "a patient is one actor, not a role")),
        None => return Err(FhirError::Unresolved { element: patient_element.to_owned() }),
    };
    if !in_force {
        return Ok(ConsentPolicy { patient, base: None, period: None, rules: Vec::new() });
    }
    let base = resource.base.ok_or_else(|| match resource.version {
        FhirVersion::R4 => unsupported("Consent.policyRule", "the base decision (OPTIN or OPTOUT) is needed"),
        FhirVersion::R5 => unsupported("Consent.decision", "the base decision is needed"),
    })?;
    let compiler = Compiler { directory, options, consent_period: resource.period };
    let scoped = resource.version == FhirVersion::R4 && options.r4_root == R4Root::Scope;
    let mut rules = Vec::new();
    for provision in &resource.provisions {
        let effect = match resource.version {
            FhirVersion::R5 => opposite(base),
            FhirVersion::R4 => {
                let reading = match options.r4_root {
                    R4Root::Exception => opposite(base),
                    R4Root::Scope => base,
                };
                if provision.effect.is_some_and(|stated| stated != reading) {
                    return Err(unsupported(
                        &format!("{}.type", provision.element),
                        "the root's type contradicts how the root is read (ImportOptions::r4_root)",
                    ));
                }
                reading
            }
        };
        rules.extend(compiler.rule(provision, effect, resource.version, 1)?);
    }
    Ok(ConsentPolicy { patient, base: (!scoped).then_some(base), period: resource.period, rules })
}

fn opposite(effect: Effect) -> Effect {
    match effect {
        Effect::Permit => Effect::Deny,
        Effect::Deny => Effect::Permit,
    }
}

fn unsupported(element: &str, reason: &'static str) -> FhirError {
    FhirError::Unsupported { element: element.to_owned(), reason }
}

struct Compiler<'a> {
    directory: &'a dyn Directory,
    options: &'a ImportOptions,
    consent_period: Option<Period>,
}

impl Compiler<'_> {
    /// The rule of `p` with effect `effect`, or `None` if it applies to no question (another custodian's data).
    fn rule(
        &self,
        p: &Provision,
        effect: Effect,
        version: FhirVersion,
        depth: usize,
    ) -> Result<Option<Rule>, FhirError> {
        if depth > MAX_PROVISION_DEPTH {
            return Err(unsupported(&p.element, "provisions nested deeper than MAX_PROVISION_DEPTH"));
        }
        let Some(when) = self.conditions(p, version)? else { return Ok(None) };
        let mut exceptions = Vec::new();
        for nested in &p.provisions {
            let nested_effect = match version {
                FhirVersion::R5 => opposite(effect),
                FhirVersion::R4 => nested.effect.ok_or_else(|| FhirError::Invalid {
                    element: format!("{}.type", nested.element),
                    problem: "R4 requires a type in every nested provision".into(),
                })?,
            };
            exceptions.extend(self.rule(nested, nested_effect, version, depth + 1)?);
        }
        Ok(Some(Rule { element: p.element.clone(), effect, when, exceptions }))
    }

    fn conditions(&self, p: &Provision, version: FhirVersion) -> Result<Option<Conditions>, FhirError> {
        let element = |name: &str| format!("{}.{name}", p.element);
        // Actors: requesters ORed; custodians ORed; the two kinds ANDed.
        let mut requesters = Vec::new();
        let mut custodian_here = None;
        for (i, actor) in p.actors.iter().enumerate() {
            let at = element(&format!("actor[{i}]"));
            match actor_kind(actor.role.as_ref()) {
                Ok(ActorKind::Requester) => match self.directory.resolve(&actor.reference) {
                    Some(grantee) => requesters.push(grantee),
                    None => return Err(FhirError::Unresolved { element: format!("{at}.reference") }),
                },
                Ok(ActorKind::Custodian) => match self.directory.custodian(&actor.reference) {
                    Some(ours) => custodian_here = Some(custodian_here.unwrap_or(false) || ours),
                    None => return Err(FhirError::Unresolved { element: format!("{at}.reference") }),
                },
                Err(reason) => return Err(unsupported(&format!("{at}.role"), reason)),
            }
        }
        if custodian_here == Some(false) {
            return Ok(None);
        }
        let mut actions = None;
        for concept in &p.actions {
            let mapped = concept.0.iter().find_map(|c| match (c.system.as_deref(), c.code.as_str()) {
                (Some(CONSENT_ACTION), "access" | "use" | "disclose" | "collect") => Some(Actions::READ),
                (Some(CONSENT_ACTION), "correct") => Some(Actions::READ_WRITE),
                (Some(ACTION_SYSTEM), "read") => Some(Actions::READ),
                (Some(ACTION_SYSTEM), "write") => Some(Actions::WRITE),
                _ => None,
            });
            let mapped = mapped.ok_or_else(|| {
                unsupported(
                    &element("action"),
                    "only consentaction access, use, disclose, collect, correct (and the ledger's read, write) are understood",
                )
            })?;
            actions = Some(actions.map_or(mapped, |a: Actions| union(a, mapped)));
        }
        let mut purposes = BTreeSet::new();
        for coding in &p.purposes {
            let system = coding.system.as_deref();
            // `*` would be "every purpose" to the ledger: not an ActReason code. A purpose covers the ones
            // it subsumes (ActReason is an is-a hierarchy: an ETREAT question is a TREAT question); the
            // ledger's own purpose codes name exactly one purpose each.
            let named = match system {
                Some(ACT_REASON | ACT_REASON_LEGACY) => purposes::with_descendants(&coding.code),
                Some(PURPOSE_SYSTEM) => vec![coding.code.as_str()],
                _ => return Err(unsupported(&element("purpose"), "purposes are v3 ActReason codes")),
            };
            for text in named {
                let code = Code::new(text).ok().filter(|code| !code.is_wildcard()).ok_or_else(|| {
                    FhirError::Invalid { element: element("purpose"), problem: "not a purpose code".into() }
                })?;
                purposes.insert(code);
            }
        }
        let sections = self.sections(p, version)?;
        let period = p.period;
        if let (Some(outer), Some(inner)) = (self.consent_period, period)
            && !within(inner, outer)
        {
            return Err(unsupported(&element("period"), "a provision's period outside Consent.period"));
        }
        let limited = |set: BTreeSet<Code>| -> Result<Option<Vec<Code>>, FhirError> {
            match set.len() {
                0 => Ok(None),
                n if n > MAX_CODES_PER_SET => {
                    Err(unsupported(&p.element, "more sections or purposes than a code set holds"))
                }
                _ => Ok(Some(set.into_iter().collect())),
            }
        };
        Ok(Some(Conditions {
            requesters: (!requesters.is_empty()).then_some(requesters),
            sections: limited(sections.unwrap_or_default())?,
            purposes: limited(purposes)?,
            actions: actions.unwrap_or(Actions::READ_WRITE),
            period: period.or(self.consent_period),
        }))
    }

    /// The sections the provision's data codes denote: each attribute the union of its values' sections,
    /// the attributes intersected; `None` if it names no data.
    fn sections(&self, p: &Provision, version: FhirVersion) -> Result<Option<BTreeSet<Code>>, FhirError> {
        let map: &SectionMap = &self.options.sections;
        // The ledger's own section codes name themselves (`*` is refused below).
        let lookup = |system: &Option<String>, code: &str| match system.as_deref() {
            Some(SECTION_SYSTEM) => Code::new(code).ok().map(|code| vec![code]),
            Some(system) => map.sections(system, code).map(<[Code]>::to_vec),
            None => None,
        };
        let mut attributes: Vec<BTreeSet<Code>> = Vec::new();
        let unknown = |attribute: &str| {
            unsupported(&format!("{}.{attribute}", p.element), "a data code the section mapping does not know")
        };
        let class = if version == FhirVersion::R4 { "class" } else { "resourceType" };
        for (attribute, codings) in
            [(class, &p.resource_types), ("documentType", &p.document_types), ("securityLabel", &p.security_labels)]
        {
            if !codings.is_empty() {
                let mapped: Option<Vec<Vec<Code>>> = codings.iter().map(|c| lookup(&c.system, &c.code)).collect();
                attributes.push(mapped.ok_or_else(|| unknown(attribute))?.concat().into_iter().collect());
            }
        }
        if !p.codes.is_empty() {
            let mapped: Option<Vec<Vec<Code>>> =
                p.codes.iter().map(|concept| concept.0.iter().find_map(|c| lookup(&c.system, &c.code))).collect();
            attributes.push(mapped.ok_or_else(|| unknown("code"))?.concat().into_iter().collect());
        }
        let mut attributes = attributes.into_iter();
        let Some(mut sections) = attributes.next() else { return Ok(None) };
        for other in attributes {
            sections = sections.intersection(&other).copied().collect();
        }
        if sections.is_empty() {
            return Err(unsupported(&p.element, "no section holds data that all its data codes denote"));
        }
        if sections.iter().any(Code::is_wildcard) {
            return Err(unsupported(
                &p.element,
                "the section mapping gives *, which the ledger reads as every section",
            ));
        }
        Ok(Some(sections))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ActorKind {
    Requester,
    Custodian,
}

/// A recipient role (or none, in R5) names the requester; a custodian names who holds the data.
fn actor_kind(role: Option<&super::Concept>) -> Result<ActorKind, &'static str> {
    let Some(role) = role else { return Ok(ActorKind::Requester) };
    let mut kinds = role.0.iter().filter(|c| c.system.as_deref() == Some(PARTICIPATION_TYPE)).filter_map(|c| {
        match c.code.as_str() {
            "PRCP" | "IRCP" => Some(ActorKind::Requester),
            "CST" => Some(ActorKind::Custodian),
            _ => None,
        }
    });
    let first =
        kinds.next().ok_or("only recipients (PRCP, IRCP) and custodians (CST) are known to the ledger's questions")?;
    if kinds.any(|kind| kind != first) {
        return Err("codings that name both a recipient and a custodian");
    }
    Ok(first)
}

fn union(a: Actions, b: Actions) -> Actions {
    if a.covers(b) {
        a
    } else if b.covers(a) {
        b
    } else {
        Actions::READ_WRITE
    }
}

/// Whether `inner` lies within `outer`.
fn within(inner: Period, outer: Period) -> bool {
    let starts_later = outer.start.is_none_or(|o| inner.start.is_some_and(|i| i >= o));
    let ends_earlier = outer.end.is_none_or(|o| inner.end.is_some_and(|i| i <= o));
    starts_later && ends_earlier
}

fn in_period(period: &Period, at: u64) -> bool {
    let at = i64::try_from(at).unwrap_or(i64::MAX);
    period.start.is_none_or(|s| at >= s) && period.end.is_none_or(|e| at < e)
}

impl ConsentPolicy {
    /// The consent's decision on `question`, as FHIR defines it: `None` if it is about another patient, asked
    /// outside the consent's period, or (under [`R4Root::Scope`]) outside its root; otherwise the effect of
    /// the deepest provisions that match (siblings ORed; where matching siblings end in different effects,
    /// deny). `role_of` gives an actor's role, for rules that name roles.
    pub fn decide(&self, question: &CheckRequest, role_of: &dyn Fn(&ActorId) -> Option<Role>) -> Option<Effect> {
        if question.patient != self.patient || self.period.is_some_and(|p| !in_period(&p, question.at)) {
            return None;
        }
        matching(&self.rules, question, role_of).or(self.base)
    }
}

/// The effect of the rules among `rules` that match (each decided by its own exceptions first; deny if any
/// ends in deny), or `None` if none matches.
fn matching(rules: &[Rule], q: &CheckRequest, role_of: &dyn Fn(&ActorId) -> Option<Role>) -> Option<Effect> {
    let mut effects = rules
        .iter()
        .filter(|rule| rule.when.matches(q, role_of))
        .map(|rule| matching(&rule.exceptions, q, role_of).unwrap_or(rule.effect))
        .peekable();
    effects.peek()?;
    Some(if effects.any(|e| e == Effect::Deny) { Effect::Deny } else { Effect::Permit })
}

impl Conditions {
    /// Whether `q` meets every condition.
    pub fn matches(&self, q: &CheckRequest, role_of: &dyn Fn(&ActorId) -> Option<Role>) -> bool {
        let requester = self.requesters.as_ref().is_none_or(|list| {
            list.iter().any(|g| match g {
                Grantee::Actor(id) => *id == q.requester,
                Grantee::Role(role) => role_of(&q.requester) == Some(*role),
            })
        });
        requester
            && self.sections.as_ref().is_none_or(|s| s.contains(&q.section))
            && self.purposes.as_ref().is_none_or(|s| s.contains(&q.purpose))
            && self.actions.contains(q.action)
            && self.period.is_none_or(|p| in_period(&p, q.at))
    }
}
