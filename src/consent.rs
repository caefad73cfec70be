//! The consent question — "may X do A on section S of patient P, for purpose U, at time T?" — and the
//! decision with its basis (DESIGN.md §5). The engine that answers it is `state::evaluate`, over the
//! rules in force at the instant asked about.

use crate::codes::{Action, Code};
use crate::ids::{ActorId, ConsentId, DelegationId};
use crate::tx::{AccessBasis, RecordAccess};

/// A consent question: may `requester` do `action` on `section` of `patient`'s record, for `purpose`, at
/// instant `at`? Time is part of the question (the engine never reads a clock), so the same question can
/// be asked about any instant, and as of any earlier block ([`Ledger::check_as_of`](crate::Ledger::check_as_of)).
///
/// ```
/// use healthchain::*;
///
/// let clock = ManualClock::new(1_700_000_000_000);
/// let hospital = SigningKey::generate()?;
/// let mut ledger = Ledger::create(MemoryStore::new(), Box::new(clock.clone()),
///                                 &LedgerSettings::new("questions"), &[&hospital])?;
/// let (patient_key, doctor_key) = (SigningKey::generate()?, SigningKey::generate()?);
/// let patient = ledger.register(&hospital, &patient_key, Role::Patient)?;
/// let doctor = ledger.register(&hospital, &doctor_key, Role::Provider)?;
/// let before = ledger.seal(&[&hospital])?.header.height; // no consent yet
/// let from = ledger.now();
/// ledger.grant_consent(&patient_key, ConsentGrant {
///     patient, grantee: Grantee::Actor(doctor), effect: Effect::Permit,
///     sections: CodeSet::parse(["labs"])?, purposes: CodeSet::parse(["TREAT"])?,
///     actions: Actions::READ, window: Window { not_before: from, not_after: Some(from + 3_600_000) },
///     exceptions: Vec::new(),
/// })?;
/// ledger.seal(&[&hospital])?;
///
/// let ask = |at| CheckRequest { patient, requester: doctor, section: Code::new("labs").unwrap(),
///                               purpose: Code::new("TREAT").unwrap(), action: Action::Read, at };
/// assert!(ledger.check(&ask(from))?.is_permitted());
/// assert!(!ledger.check(&ask(from + 3_600_000))?.is_permitted());        // the window has ended
/// assert!(!ledger.check_as_of(before, &ask(from))?.is_permitted());      // as the ledger stood before
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckRequest {
    /// Whose record.
    pub patient: ActorId,
    /// Who asks.
    pub requester: ActorId,
    /// Which section.
    pub section: Code,
    /// For what purpose of use.
    pub purpose: Code,
    /// Read or write.
    pub action: Action,
    /// At what instant (ms since the Unix epoch).
    pub at: u64,
}

/// Why an access is permitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PermitBasis {
    /// The requester is the patient.
    Owner,
    /// The requester is the patient's delegate with read scope (the lowest such delegation id).
    Delegate(DelegationId),
    /// These permit rules match (all of them, sorted by id).
    Consents(Vec<ConsentId>),
}

/// Why an access is denied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// These deny rules match (all of them, sorted by id); deny overrides permit.
    DenyRules(Vec<ConsentId>),
    /// No rule permits it (denied by default).
    NoConsent,
    /// The patient's data was erased.
    PatientErased,
    /// The requester was deactivated at or before the instant asked about.
    RequesterDeactivated,
}

/// The engine's answer, with its basis: which rule decided.
///
/// ```
/// use healthchain::*;
///
/// fn explain(decision: &Decision) -> String {
///     match decision {
///         Decision::Permit(PermitBasis::Owner) => "the patient themself".into(),
///         Decision::Permit(PermitBasis::Delegate(id)) => format!("delegation {id}"),
///         Decision::Permit(PermitBasis::Consents(ids)) => format!("{} consent(s), first {}", ids.len(), ids[0]),
///         Decision::BreakGlass => "emergency access: record it with a reason, it will be reviewed".into(),
///         Decision::Deny(DenyReason::DenyRules(ids)) => format!("denied by {} rule(s)", ids.len()),
///         Decision::Deny(reason) => format!("denied: {reason:?}"),
///     }
/// }
/// assert_eq!(explain(&Decision::Deny(DenyReason::NoConsent)), "denied: NoConsent");
/// // A permit names the basis an access must be recorded on; break-glass and denials name none.
/// assert_eq!(Decision::Permit(PermitBasis::Owner).access_basis(), Some(AccessBasis::Owner));
/// assert_eq!(Decision::BreakGlass.access_basis(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Permitted.
    Permit(PermitBasis),
    /// Permitted as an emergency: must be recorded with a reason and is flagged for review.
    BreakGlass,
    /// Denied.
    Deny(DenyReason),
}

impl Decision {
    /// Whether the access may happen (permit or break-glass).
    pub fn is_permitted(&self) -> bool {
        !matches!(self, Decision::Deny(_))
    }

    /// The basis a RecordAccess must name for a permit; `None` for break-glass (which needs a reason and a
    /// justification commitment) and for denials.
    pub fn access_basis(&self) -> Option<AccessBasis> {
        match self {
            Decision::Permit(PermitBasis::Owner) => Some(AccessBasis::Owner),
            Decision::Permit(PermitBasis::Delegate(id)) => Some(AccessBasis::Delegate(*id)),
            Decision::Permit(PermitBasis::Consents(ids)) => Some(AccessBasis::Consents(ids.clone())),
            Decision::BreakGlass | Decision::Deny(_) => None,
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |ids: &[ConsentId]| ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        match self {
            Decision::Permit(PermitBasis::Owner) => write!(f, "permit (owner)"),
            Decision::Permit(PermitBasis::Delegate(id)) => write!(f, "permit (delegation {id})"),
            Decision::Permit(PermitBasis::Consents(ids)) => write!(f, "permit (consents {})", list(ids)),
            Decision::BreakGlass => write!(f, "break-glass (emergency, to be reviewed)"),
            Decision::Deny(DenyReason::DenyRules(ids)) => write!(f, "deny (deny rules {})", list(ids)),
            Decision::Deny(DenyReason::NoConsent) => write!(f, "deny (no consent)"),
            Decision::Deny(DenyReason::PatientErased) => write!(f, "deny (patient erased)"),
            Decision::Deny(DenyReason::RequesterDeactivated) => write!(f, "deny (requester deactivated)"),
        }
    }
}

impl RecordAccess {
    /// The access that answers `request` (same patient, section, purpose, action and time) on `basis`.
    pub fn for_request(request: &CheckRequest, basis: AccessBasis) -> Self {
        Self {
            patient: request.patient,
            section: request.section,
            purpose: request.purpose,
            action: request.action,
            at: request.at,
            basis,
        }
    }
}
