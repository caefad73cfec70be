//! The consent engine: "may X do A on section S of patient P, for purpose U, at time T?" (DESIGN.md §5).
//! Deterministic: time is an input; the answer depends only on the ledger view and the request.

use crate::codes::{Action, Code, EMERGENCY_PURPOSES, Role};
use crate::error::CheckError;
use crate::ids::{ActorId, ConsentId, DelegationId};
use crate::state::{Stamp, View};
use crate::tx::{AccessBasis, Effect, Grantee, Scopes};

/// A consent question.
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

/// The engine's answer, with its basis.
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

/// Evaluates `request` on `view`, following DESIGN.md §5 step by step.
pub fn evaluate(view: &View<'_>, request: &CheckRequest) -> Result<Decision, CheckError> {
    if request.section.is_wildcard() || request.purpose.is_wildcard() {
        return Err(CheckError::WildcardInRequest);
    }
    // 1. A patient or requester unknown *at the instant asked about* is an error, as it was before their
    //    registration was recorded: the answer about an instant never changes once that instant is sealed.
    //    An erasure or a deactivation denies from its own time on.
    let patient = request.patient;
    let requester = request.requester;
    match view.actor_status(&patient) {
        Some((Role::Patient, registered, _)) if registered.time <= request.at => {}
        _ => return Err(CheckError::InvalidPatient),
    }
    let (requester_role, deactivated) = match view.actor_status(&requester) {
        Some((role, registered, deactivated)) if registered.time <= request.at => (role, deactivated),
        _ => return Err(CheckError::UnknownActor),
    };
    if view.erased(&patient).is_some_and(|e| e.time <= request.at) {
        return Ok(Decision::Deny(DenyReason::PatientErased));
    }
    if deactivated.is_some_and(|d| d.time <= request.at) {
        return Ok(Decision::Deny(DenyReason::RequesterDeactivated));
    }
    // 2. The patient themself, or (to read) an active delegate with read scope. A rule or delegation is in
    //    force at `at` only if it existed then (granted at or before `at`), its window contains `at`, and it
    //    was not yet revoked: an access is authorised only by what was in force when it happened.
    if requester == patient {
        return Ok(Decision::Permit(PermitBasis::Owner));
    }
    let in_force = |granted: &Stamp, window: &crate::tx::Window, revoked: Option<Stamp>| {
        granted.time <= request.at && window.contains(request.at) && revoked.is_none_or(|r| request.at < r.time)
    };
    let delegate = view
        .delegation_records(&patient)
        .filter(|(d, revoked)| {
            request.action == Action::Read
                && d.grant.delegate == requester
                && d.grant.scopes.includes(Scopes::READ)
                && in_force(&d.granted, &d.grant.window, *revoked)
        })
        .map(|(d, _)| d.id)
        .min();
    if let Some(id) = delegate {
        return Ok(Decision::Permit(PermitBasis::Delegate(id)));
    }
    // 3. The rules in force at `at` that match the requester, section, purpose and action.
    let mut permits = Vec::new();
    let mut denies = Vec::new();
    for (consent, revoked) in view.consent_records(&patient) {
        let rule = &consent.grant;
        let grantee_matches = match rule.grantee {
            Grantee::Actor(id) => id == requester,
            Grantee::Role(role) => role == requester_role,
        };
        if grantee_matches
            && in_force(&consent.granted, &rule.window, revoked)
            && rule.sections.matches(&request.section)
            && rule.purposes.matches(&request.purpose)
            && rule.actions.contains(request.action)
        {
            match rule.effect {
                Effect::Permit => permits.push(consent.id),
                Effect::Deny => denies.push(consent.id),
            }
        }
    }
    permits.sort();
    denies.sort();
    // 6 (applied before 4, as it overrides denies): emergency treatment by an active provider.
    let emergency = EMERGENCY_PURPOSES.contains(&request.purpose.as_str())
        && requester_role == Role::Provider
        && view.break_glass_allowed();
    // 4. Deny overrides permit (but not break-glass).
    if !denies.is_empty() {
        return Ok(if emergency { Decision::BreakGlass } else { Decision::Deny(DenyReason::DenyRules(denies)) });
    }
    // 5. Any permit.
    if !permits.is_empty() {
        return Ok(Decision::Permit(PermitBasis::Consents(permits)));
    }
    // 6. Break-glass, 7. no consent.
    Ok(if emergency { Decision::BreakGlass } else { Decision::Deny(DenyReason::NoConsent) })
}
