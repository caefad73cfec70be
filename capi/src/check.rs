//! Consent questions: "may X do A on section S of patient P, for purpose U, at time T?", answered with a
//! decision and its basis; and who an actor is.

use super::boundary::{FfiResult, Out, arg, run, run_value};
use super::ledger::{hc_ledger, read_ledger};
use super::values::{
    HC_MAX_LISTED_RULES, action_from, code_arg, hc_actor_id, hc_consent_id, hc_delegation_id, listed_rules, role_to,
};
use healthchain::consent::{CheckRequest, Decision, DenyReason, PermitBasis};
use std::ffi::c_char;

/// A consent question (also what `hc_ledger_record_access` records).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hc_request {
    /// Whose record.
    pub patient: hc_actor_id,
    /// Who asks.
    pub requester: hc_actor_id,
    /// Which section of the record: one code, NUL-terminated (e.g. "labs").
    pub section: *const c_char,
    /// For what purpose of use: one code, NUL-terminated (e.g. "TREAT", "ETREAT", "HPAYMT").
    pub purpose: *const c_char,
    /// `HC_ACTION_READ` or `HC_ACTION_WRITE`.
    pub action: u32,
    /// At what instant (ms since the Unix epoch): time is an input, never read by the engine.
    pub at: u64,
}

impl hc_request {
    /// The Rust request.
    ///
    /// # Safety
    /// `section` and `purpose` are NULL or NUL-terminated strings.
    pub(crate) unsafe fn parse(&self) -> FfiResult<CheckRequest> {
        Ok(CheckRequest {
            patient: self.patient.into(),
            requester: self.requester.into(),
            // SAFETY: forwarded contract.
            section: unsafe { code_arg(self.section, "request.section")? },
            // SAFETY: forwarded contract.
            purpose: unsafe { code_arg(self.purpose, "request.purpose")? },
            action: action_from(self.action)?,
            at: self.at,
        })
    }
}

/// Outcome: permitted.
pub const HC_OUTCOME_PERMIT: u32 = 1;
/// Outcome: permitted as an emergency (break-glass): record it with `hc_ledger_record_break_glass`; it is
/// flagged for review.
pub const HC_OUTCOME_BREAK_GLASS: u32 = 2;
/// Outcome: denied.
pub const HC_OUTCOME_DENY: u32 = 3;

/// Basis: the requester is the patient.
pub const HC_BASIS_OWNER: u32 = 1;
/// Basis: the requester is the patient's delegate with read scope (`delegation`).
pub const HC_BASIS_DELEGATE: u32 = 2;
/// Basis: these permit rules match (`rules`).
pub const HC_BASIS_CONSENTS: u32 = 3;
/// Basis: emergency treatment by a provider, where break-glass is allowed.
pub const HC_BASIS_BREAK_GLASS: u32 = 4;
/// Deny basis: these deny rules match (`rules`); deny overrides permit.
pub const HC_BASIS_DENY_RULES: u32 = 5;
/// Deny basis: no rule permits it (denied by default).
pub const HC_BASIS_NO_CONSENT: u32 = 6;
/// Deny basis: the patient's data was erased.
pub const HC_BASIS_PATIENT_ERASED: u32 = 7;
/// Deny basis: the requester was deactivated at or before the instant asked about. (Basis 9 is retired:
/// a requester not yet registered at the instant asked about is `HC_UNKNOWN_ACTOR`; it is never reused.)
pub const HC_BASIS_REQUESTER_DEACTIVATED: u32 = 8;

/// The engine's answer and which consent decided it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct hc_decision {
    /// `HC_OUTCOME_PERMIT`, `HC_OUTCOME_BREAK_GLASS` or `HC_OUTCOME_DENY`.
    pub outcome: u32,
    /// Why: one of `HC_BASIS_*`.
    pub basis: u32,
    /// The delegation, when `basis` is `HC_BASIS_DELEGATE`.
    pub delegation: hc_delegation_id,
    /// How many rules decided (permits for `HC_BASIS_CONSENTS`, denies for `HC_BASIS_DENY_RULES`).
    pub rule_count: u32,
    /// The first `min(rule_count, HC_MAX_LISTED_RULES)` of them, sorted by id.
    pub rules: [hc_consent_id; HC_MAX_LISTED_RULES],
}

impl From<&Decision> for hc_decision {
    fn from(decision: &Decision) -> Self {
        let mut out = hc_decision::default();
        let (outcome, basis) = match decision {
            Decision::Permit(PermitBasis::Owner) => (HC_OUTCOME_PERMIT, HC_BASIS_OWNER),
            Decision::Permit(PermitBasis::Delegate(id)) => {
                out.delegation = (*id).into();
                (HC_OUTCOME_PERMIT, HC_BASIS_DELEGATE)
            }
            Decision::Permit(PermitBasis::Consents(ids)) => {
                (out.rule_count, out.rules) = listed_rules(ids);
                (HC_OUTCOME_PERMIT, HC_BASIS_CONSENTS)
            }
            Decision::BreakGlass => (HC_OUTCOME_BREAK_GLASS, HC_BASIS_BREAK_GLASS),
            Decision::Deny(DenyReason::DenyRules(ids)) => {
                (out.rule_count, out.rules) = listed_rules(ids);
                (HC_OUTCOME_DENY, HC_BASIS_DENY_RULES)
            }
            Decision::Deny(DenyReason::NoConsent) => (HC_OUTCOME_DENY, HC_BASIS_NO_CONSENT),
            Decision::Deny(DenyReason::PatientErased) => (HC_OUTCOME_DENY, HC_BASIS_PATIENT_ERASED),
            Decision::Deny(DenyReason::RequesterDeactivated) => (HC_OUTCOME_DENY, HC_BASIS_REQUESTER_DEACTIVATED),
        };
        out.outcome = outcome;
        out.basis = basis;
        out
    }
}

/// Answers a consent question on the latest state (including transactions not yet sealed). A denial is
/// an answer (`HC_OK`, `outcome` `HC_OUTCOME_DENY`); an error means the question itself is wrong.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_TOO_LONG`, `HC_INVALID_UTF8`, `HC_INVALID_CODE`, `HC_INVALID_ARGUMENT`,
/// `HC_INVALID_PATIENT`, `HC_UNKNOWN_ACTOR` (requester), `HC_WILDCARD_IN_REQUEST`, `HC_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `request` is NULL or points to an `hc_request` whose strings
/// are NULL or NUL-terminated; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_check(
    ledger: *const hc_ledger,
    request: *const hc_request,
    out: *mut hc_decision,
) -> i32 {
    // SAFETY: contract above.
    unsafe { answer(ledger, request, out, None) }
}

/// Answers a consent question on the state after block `height` (what was known then).
///
/// Errors: as `hc_ledger_check`, and `HC_HEIGHT_BEYOND_HEAD`.
///
/// # Safety
/// As for `hc_ledger_check`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_check_as_of(
    ledger: *const hc_ledger,
    height: u64,
    request: *const hc_request,
    out: *mut hc_decision,
) -> i32 {
    // SAFETY: contract above.
    unsafe { answer(ledger, request, out, Some(height)) }
}

/// The body of the check exports: checks the pointers, parses the request and writes the decision on the
/// latest state (`height` `None`) or as of block `height`.
///
/// # Safety
/// As for `hc_ledger_check`.
unsafe fn answer(
    ledger: *const hc_ledger,
    request: *const hc_request,
    out: *mut hc_decision,
    height: Option<u64>,
) -> i32 {
    run(|| {
        // SAFETY: forwarded contract.
        let (ledger, request, out) =
            unsafe { (arg(ledger, "ledger")?, arg(request, "request")?, Out::new(out, "out")?) };
        // SAFETY: forwarded contract.
        let request = unsafe { request.parse()? };
        out.write(read_ledger!(ledger, |l| {
            let decision = match height {
                None => l.check(&request)?,
                Some(height) => l.check_as_of(height, &request)?,
            };
            Ok((&decision).into())
        })?);
        Ok(())
    })
}

/// A registered actor.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct hc_actor_info {
    /// The actor id.
    pub id: hc_actor_id,
    /// `HC_ROLE_*`.
    pub role: u32,
    /// 1 if active, 0 if deactivated.
    pub active: u32,
    /// When it was registered (ms since the Unix epoch).
    pub registered_time: u64,
    /// When it was deactivated (0 if active).
    pub deactivated_time: u64,
    /// How many keys it has had (1 + rotations).
    pub key_count: u32,
}

/// Writes what the ledger knows of an actor (latest state).
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_UNKNOWN_ACTOR`, `HC_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `actor` is NULL or points to an `hc_actor_id`; `out` is NULL or
/// valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_actor(
    ledger: *const hc_ledger,
    actor: *const hc_actor_id,
    out: *mut hc_actor_info,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, actor, out) = unsafe { (arg(ledger, "ledger")?, arg(actor, "actor")?, Out::new(out, "out")?) };
        let info = read_ledger!(ledger, |l| {
            let found = l.actor(&(*actor).into()).ok_or(healthchain::error::TxError::UnknownActor)?;
            Ok(hc_actor_info {
                id: found.id.into(),
                role: role_to(found.role),
                active: found.deactivated.is_none().into(),
                registered_time: found.registered().map_or(0, |s| s.time),
                deactivated_time: found.deactivated.map_or(0, |s| s.time),
                key_count: u32::try_from(found.keys.len()).unwrap_or(u32::MAX),
            })
        })?;
        out.write(info);
        Ok(())
    })
}

/// The lower-case name of a role ("patient", "provider", ...), or "unknown" (static, never NULL).
#[unsafe(no_mangle)]
pub extern "C" fn hc_role_name(role: u32) -> *const c_char {
    run_value(c"unknown".as_ptr(), || match super::values::role_from(role) {
        Ok(role) => role_c_name(role).as_ptr(),
        Err(_) => c"unknown".as_ptr(),
    })
}

fn role_c_name(role: healthchain::codes::Role) -> &'static std::ffi::CStr {
    use healthchain::codes::Role;
    match role {
        Role::Patient => c"patient",
        Role::Provider => c"provider",
        Role::Insurer => c"insurer",
        Role::Researcher => c"researcher",
        Role::Auditor => c"auditor",
        Role::Authority => c"authority",
    }
}

/// Checks a decision computed for `request` names a basis an access can be recorded on.
pub(crate) fn recordable(decision: Decision) -> FfiResult<healthchain::tx::AccessBasis> {
    use healthchain::error::TxError;
    match decision.access_basis() {
        Some(basis) => Ok(basis),
        None if decision == Decision::BreakGlass => Err(TxError::BasisMismatch(decision).into()),
        None => Err(TxError::AccessDenied(decision).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_match_the_crate() {
        for role in healthchain::codes::Role::ALL {
            assert_eq!(role_c_name(role).to_str().unwrap(), role.name());
        }
    }
}
