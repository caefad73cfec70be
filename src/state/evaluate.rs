//! The consent engine: answers a [`CheckRequest`] on a [`View`] of the state, following DESIGN.md §5
//! step by step. Deterministic: time is an input; the answer depends only on the view and the request.

use super::View;
use super::rules::Question;
use crate::codes::{Action, EMERGENCY_PURPOSES, Role};
use crate::consent::{CheckRequest, Decision, DenyReason, PermitBasis};
use crate::error::CheckError;
use crate::tx::Effect;

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
    // The three look-ups are independent: made together, their cache misses overlap. The patient's rules
    // are read in one place (DESIGN.md §6, "Memory").
    let of_patient = view.standing(&patient);
    let of_requester = view.standing(&requester);
    let records = view.state.patients.get(&patient);
    let erased = match of_patient {
        Some(seen) if seen.role == Role::Patient && seen.registered <= request.at => {
            seen.erased && seen.erased_at <= request.at
        }
        _ => return Err(CheckError::InvalidPatient),
    };
    let seen = match of_requester {
        Some(seen) if seen.registered <= request.at => seen,
        _ => return Err(CheckError::UnknownActor),
    };
    let requester_role = seen.role;
    if erased {
        return Ok(Decision::Deny(DenyReason::PatientErased));
    }
    if seen.deactivated && seen.deactivated_at <= request.at {
        return Ok(Decision::Deny(DenyReason::RequesterDeactivated));
    }
    // 2. The patient themself, or (to read) an active delegate with read scope. A rule or delegation is in
    //    force at `at` only if it existed then (granted at or before `at`), its window contains `at`, and it
    //    was not yet revoked: an access is authorised only by what was in force when it happened.
    if requester == patient {
        return Ok(Decision::Permit(PermitBasis::Owner));
    }
    let height = view.height;
    let delegate = records
        .filter(|_| request.action == Action::Read)
        .and_then(|r| r.read_delegate(&requester, height, request.at));
    if let Some(id) = delegate {
        return Ok(Decision::Permit(PermitBasis::Delegate(id)));
    }
    // 3. The rules in force at `at` that match the requester, section, purpose and action.
    let question = Question {
        height,
        at: request.at,
        requester,
        role: requester_role,
        section: request.section,
        purpose: request.purpose,
        action: request.action,
    };
    let mut permits = Vec::new();
    let mut denies = Vec::new();
    for (id, effect) in records.into_iter().flat_map(|r| r.matching(&question, &view.state.codebook)) {
        match effect {
            Effect::Permit => permits.push(id),
            Effect::Deny => denies.push(id),
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
