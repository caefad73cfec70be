//! FHIR `Consent` (R4 and R5): read strictly into a version-neutral form ([`read`]), as written; its
//! meaning resolved in the ledger's terms ([`compile`] into a [`ConsentPolicy`], which answers questions as
//! FHIR defines); written as the ledger's rules ([`ConsentPolicy::ledger_rules`]) and granted all or none
//! ([`import`]), or in place of an earlier import ([`replace`]); and a patient's rules out again as one
//! Consent ([`export`]).

mod export;
mod import;
mod policy;
mod read;
mod rules;

pub use export::export;
pub use import::{ImportError, Imported, Prepared, import, prepare, replace};
pub use policy::{
    ACT_REASON, ACT_REASON_LEGACY, CONSENT_ACTION, Conditions, ConsentPolicy, Directory, ImportOptions,
    PARTICIPATION_TYPE, R4Root, Rule, compile,
};
pub use read::{MAX_PROVISION_DEPTH, ReadOptions, read};

use super::FhirVersion;
/// Permit or deny: a provision's `type` (R4), a consent's base decision, a rule's effect (the ledger's own).
pub use crate::tx::Effect;

/// A Consent resource as written, R4 and R5 elements in one form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentResource {
    /// The release it was read as.
    pub version: FhirVersion,
    /// `Consent.id`, if any.
    pub id: Option<String>,
    /// `Consent.status`.
    pub status: ConsentStatus,
    /// Whose consent: `Consent.patient` (R4) or `Consent.subject` (R5), a reference such as `Patient/f001`.
    pub patient: String,
    /// The base decision: R5 `Consent.decision`; R4 `Consent.policyRule` (OPTIN, OPTINR: permit; OPTOUT,
    /// OPTOUTE: deny). `None` if absent.
    pub base: Option<Effect>,
    /// R5 `Consent.period`: when the consent is in force.
    pub period: Option<Period>,
    /// The provisions: R4's one root provision, R5's list.
    pub provisions: Vec<Provision>,
}

/// `Consent.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentStatus {
    /// `draft`.
    Draft,
    /// `proposed` (R4).
    Proposed,
    /// `active`.
    Active,
    /// `rejected` (R4).
    Rejected,
    /// `inactive`.
    Inactive,
    /// `not-done` (R5).
    NotDone,
    /// `entered-in-error`.
    EnteredInError,
    /// `unknown` (R5).
    Unknown,
}

/// A `Period`, in milliseconds since the Unix epoch: `start` is the first instant, `end` just after the
/// last (a FHIR period's end includes its whole precision: `2016-01-01` ends at the end of that day).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// The first instant, if bounded.
    pub start: Option<i64>,
    /// Just after the last instant, if bounded.
    pub end: Option<i64>,
}

/// A `Coding` that names a code (display text is not kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coding {
    /// Its code system's URI, if given.
    pub system: Option<String>,
    /// The code.
    pub code: String,
}

/// A `CodeableConcept`: its codings, which name the same concept in different systems.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Concept(pub Vec<Coding>);

/// `provision.actor`: a party by reference, with its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisionActor {
    /// The role's codings (e.g. v3 ParticipationType `PRCP`, `CST`); `None` if absent (R5 allows that).
    pub role: Option<Concept>,
    /// The reference (e.g. `Practitioner/f204`).
    pub reference: String,
}

/// A provision (`Consent.provision`, nested in `provision.provision`): conditions on an access, and
/// exceptions to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provision {
    /// Where it is in the resource, for errors about it (`Consent.provision.provision[1]`).
    pub element: String,
    /// R4 `provision.type`.
    pub effect: Option<Effect>,
    /// `provision.period`: when the provision applies to an access.
    pub period: Option<Period>,
    /// `provision.actor`.
    pub actors: Vec<ProvisionActor>,
    /// `provision.action`.
    pub actions: Vec<Concept>,
    /// `provision.securityLabel`.
    pub security_labels: Vec<Coding>,
    /// `provision.purpose`.
    pub purposes: Vec<Coding>,
    /// R4 `provision.class`, R5 `provision.resourceType`.
    pub resource_types: Vec<Coding>,
    /// R5 `provision.documentType`.
    pub document_types: Vec<Coding>,
    /// `provision.code`.
    pub codes: Vec<Concept>,
    /// `provision.provision`: the nested provisions.
    pub provisions: Vec<Provision>,
}
