//! The consent engine: answers a [`CheckRequest`] on a [`View`] of the state, following DESIGN.md §5
//! step by step. Deterministic: time is an input; the answer depends only on the view and the request.

use super::{Stamp, View};
use crate::codes::{Action, EMERGENCY_PURPOSES, Role};
use crate::consent::{CheckRequest, Decision, DenyReason, PermitBasis};
use crate::error::CheckError;
use crate::tx::{Effect, Grantee, Scopes, Window};

/// Evaluates `request` on `view`, following DESIGN.md §5 step by step.
pub(crate) fn evaluate(view: &View<'_>, request: &CheckRequest) -> Result<Decision, CheckError> {
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
    let in_force = |granted: &Stamp, window: &Window, revoked: Option<Stamp>| {
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
