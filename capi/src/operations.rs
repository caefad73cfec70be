//! Typed operations signed in-process with an `hc_key`: register, rotate and deactivate actors; grant and
//! revoke consent and delegations; record accesses (break-glass included) and review them; anchor records;
//! erase a patient. Each builds one transaction, validates it and queues it for the next sealed block.

use super::boundary::{FfiResult, Out, arg, flag, run};
use super::check::{hc_request, recordable};
use super::keys::hc_key;
use super::ledger::{hc_ledger, read_ledger, write_ledger};
use super::values::{
    actions_from, code_arg, code_set_arg, hc_access_id, hc_actor_id, hc_consent_id, hc_delegation_id, hc_hash,
    hc_tx_id, role_from, until_to, value, window_from,
};
use healthchain::ids::TxId;
use healthchain::ledger::Ledger;
use healthchain::tx::{
    AccessBasis, AnchorRecord, ConsentGrant, DelegationGrant, Effect, Grantee, Payload, RecordAccess, Scopes,
};
use std::ffi::c_char;

/// Grantee kind: one actor (`grantee`).
pub const HC_GRANTEE_ACTOR: u32 = 1;
/// Grantee kind: every actor of a role (`grantee_role`).
pub const HC_GRANTEE_ROLE: u32 = 2;
/// Effect: the rule permits what it matches.
pub const HC_EFFECT_PERMIT: u32 = 1;
/// Effect: the rule denies what it matches (deny overrides permit).
pub const HC_EFFECT_DENY: u32 = 2;
/// Delegation scope bit: manage the patient's consents.
pub const HC_SCOPE_MANAGE: u32 = 1;
/// Delegation scope bit: read the patient's record.
pub const HC_SCOPE_READ: u32 = 2;

/// A consent rule, controlled by the patient's signature (or a delegate's with manage scope).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hc_consent_grant {
    /// Whose record.
    pub patient: hc_actor_id,
    /// `HC_GRANTEE_ACTOR` or `HC_GRANTEE_ROLE`.
    pub grantee_kind: u32,
    /// The grantee, for `HC_GRANTEE_ACTOR`.
    pub grantee: hc_actor_id,
    /// The grantee role (`HC_ROLE_*`), for `HC_GRANTEE_ROLE`.
    pub grantee_role: u32,
    /// `HC_EFFECT_PERMIT` or `HC_EFFECT_DENY`.
    pub effect: u32,
    /// Sections of the record: an array of `section_count` codes (`"*"` alone for every section).
    pub sections: *const *const c_char,
    /// Number of sections (1-64).
    pub section_count: usize,
    /// Purposes of use: an array of `purpose_count` codes (`"*"` alone for every purpose).
    pub purposes: *const *const c_char,
    /// Number of purposes (1-64).
    pub purpose_count: usize,
    /// A non-empty mix of `HC_ACTION_READ` and `HC_ACTION_WRITE`.
    pub actions: u32,
    /// First instant of the rule (ms since the Unix epoch).
    pub not_before: u64,
    /// First instant after the rule, or `HC_UNTIL_REVOKED`.
    pub not_after: u64,
}

impl hc_consent_grant {
    /// The Rust grant.
    ///
    /// # Safety
    /// `sections` and `purposes` are NULL or point to their counts of NULL or NUL-terminated strings.
    pub(crate) unsafe fn parse(&self) -> FfiResult<ConsentGrant> {
        let grantee = match self.grantee_kind {
            HC_GRANTEE_ACTOR => Grantee::Actor(self.grantee.into()),
            HC_GRANTEE_ROLE => Grantee::Role(role_from(self.grantee_role)?),
            other => return Err(super::boundary::Failure::invalid(format!("unknown grantee kind {other}"))),
        };
        let effect = match self.effect {
            HC_EFFECT_PERMIT => Effect::Permit,
            HC_EFFECT_DENY => Effect::Deny,
            other => return Err(super::boundary::Failure::invalid(format!("unknown effect {other}"))),
        };
        Ok(ConsentGrant {
            patient: self.patient.into(),
            grantee,
            effect,
            // SAFETY: forwarded contract.
            sections: unsafe { code_set_arg(self.sections, self.section_count, "grant.sections")? },
            // SAFETY: forwarded contract.
            purposes: unsafe { code_set_arg(self.purposes, self.purpose_count, "grant.purposes")? },
            actions: actions_from(self.actions)?,
            window: window_from(self.not_before, self.not_after),
            exceptions: Vec::new(),
        })
    }
}

/// A granted consent: its id and when it ends.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct hc_granted {
    /// The consent's id (use it to revoke).
    pub consent: hc_consent_id,
    /// First instant after the consent (ms since the Unix epoch), or `HC_UNTIL_REVOKED`.
    pub until: u64,
}

/// A delegation of a patient's rights (guardian, proxy). The delegate is any registered, active actor: a
/// parent or legal guardian is usually registered as a person in their own right (`HC_ROLE_PATIENT`), a
/// proxy organisation with its own role. The delegation, not the role, gives the rights.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hc_delegation_grant {
    /// Whose rights.
    pub patient: hc_actor_id,
    /// Who may exercise them.
    pub delegate: hc_actor_id,
    /// A non-empty mix of `HC_SCOPE_MANAGE` and `HC_SCOPE_READ`.
    pub scopes: u32,
    /// First instant (ms since the Unix epoch).
    pub not_before: u64,
    /// First instant after the delegation, or `HC_UNTIL_REVOKED`.
    pub not_after: u64,
}

impl hc_delegation_grant {
    pub(crate) fn parse(self) -> FfiResult<DelegationGrant> {
        let scopes = match self.scopes {
            HC_SCOPE_MANAGE => Scopes::MANAGE,
            HC_SCOPE_READ => Scopes::READ,
            both if both == HC_SCOPE_MANAGE | HC_SCOPE_READ => Scopes::MANAGE_AND_READ,
            other => return Err(super::boundary::Failure::invalid(format!("unknown delegation scopes {other}"))),
        };
        Ok(DelegationGrant {
            patient: self.patient.into(),
            delegate: self.delegate.into(),
            scopes,
            window: window_from(self.not_before, self.not_after),
        })
    }
}

/// Signs `payload` with `key` for the actor owning it and submits it, under the ledger's write lock.
pub(crate) fn submit(ledger: &hc_ledger, key: &hc_key, payload: Payload) -> FfiResult<TxId> {
    let key = key.get()?;
    write_ledger!(ledger, |l| Ok(l.sign_and_submit(key, payload)?))
}

/// The body of the exports that sign one payload built from one fixed-size value: checks every pointer,
/// builds the payload, submits it signed by `signer`, and writes the transaction id as `O`.
///
/// # Safety
/// `ledger`, `signer` and `input` are NULL or valid for reads; `out` is NULL or valid for writes.
unsafe fn submit_one<T: Copy, O: From<TxId>>(
    ledger: *mut hc_ledger,
    (signer, signer_name): (*const hc_key, &str),
    (input, input_name): (*const T, &str),
    out: *mut O,
    payload: impl FnOnce(T) -> FfiResult<Payload>,
) -> i32 {
    run(|| {
        // SAFETY: forwarded contract.
        let (ledger, signer, input, out) = unsafe {
            (
                arg(ledger.cast_const(), "ledger")?,
                arg(signer, signer_name)?,
                value(input, input_name)?,
                Out::new(out, "out")?,
            )
        };
        let id = submit(ledger, signer, payload(input)?)?;
        out.write(O::from(id));
        Ok(())
    })
}

/// The access `request` describes, on the basis the engine gives at its time.
pub(crate) fn access_payload<S: healthchain::store::Store>(
    ledger: &Ledger<S>,
    request: &healthchain::consent::CheckRequest,
) -> FfiResult<Payload> {
    let basis = recordable(ledger.check(request)?)?;
    Ok(Payload::RecordAccess(RecordAccess::for_request(request, basis)))
}

/// A break-glass access for `request`.
///
/// # Safety
/// `reason` is NULL or NUL-terminated; `justification` is NULL or points to an `hc_hash`.
pub(crate) unsafe fn break_glass_payload(
    request: &healthchain::consent::CheckRequest,
    reason: *const c_char,
    justification: *const hc_hash,
) -> FfiResult<Payload> {
    // SAFETY: forwarded contract.
    let (reason, justification) = unsafe { (code_arg(reason, "reason")?, value(justification, "justification")?) };
    let basis = AccessBasis::BreakGlass { reason, justification: justification.into() };
    Ok(Payload::RecordAccess(RecordAccess::for_request(request, basis)))
}

/// An anchor of an off-ledger record version.
///
/// # Safety
/// `patient` and `commitment` are NULL or valid; `section` and `purpose` are NULL or NUL-terminated.
pub(crate) unsafe fn anchor_payload(
    patient: *const hc_actor_id,
    section: *const c_char,
    purpose: *const c_char,
    commitment: *const hc_hash,
) -> FfiResult<Payload> {
    // SAFETY: forwarded contract.
    unsafe {
        Ok(Payload::AnchorRecord(AnchorRecord {
            patient: value(patient, "patient")?.into(),
            section: code_arg(section, "section")?,
            purpose: code_arg(purpose, "purpose")?,
            commitment: value(commitment, "commitment")?.into(),
        }))
    }
}

/// Registers the holder of `new_key` (who proves possession here) with `role`, signed by `authority`;
/// writes the new actor's id.
///
/// Errors: `HC_INVALID_ARGUMENT` (role), `HC_UNAUTHORIZED` (not an authority), `HC_KEY_IN_USE`, and the
/// submission errors.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `authority` and `new_key` are NULL or live `hc_key`s; `out` is
/// NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_register(
    ledger: *mut hc_ledger,
    authority: *const hc_key,
    new_key: *const hc_key,
    role: u32,
    out: *mut hc_actor_id,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, authority, new_key, out) = unsafe {
            (
                arg(ledger.cast_const(), "ledger")?,
                arg(authority, "authority")?,
                arg(new_key, "new_key")?,
                Out::new(out, "out")?,
            )
        };
        let role = role_from(role)?;
        let (authority, new_key) = (authority.get()?, new_key.get()?);
        let id = write_ledger!(ledger, |l| Ok(l.register(authority, new_key, role)?))?;
        out.write(id.into());
        Ok(())
    })
}

/// Replaces `actor`'s key with `new_key` (which proves possession here); signed by the actor's current key
/// or by an authority (key recovery). Writes the transaction id.
///
/// Errors: `HC_UNKNOWN_ACTOR`, `HC_UNAUTHORIZED`, `HC_KEY_IN_USE`, and the submission errors.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `signer` and `new_key` are NULL or live `hc_key`s; `actor` is
/// NULL or points to an `hc_actor_id`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_rotate_key(
    ledger: *mut hc_ledger,
    signer: *const hc_key,
    actor: *const hc_actor_id,
    new_key: *const hc_key,
    out: *mut hc_tx_id,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, signer, actor, new_key, out) = unsafe {
            (
                arg(ledger.cast_const(), "ledger")?,
                arg(signer, "signer")?,
                value(actor, "actor")?,
                arg(new_key, "new_key")?,
                Out::new(out, "out")?,
            )
        };
        let (signer, new_key) = (signer.get()?, new_key.get()?);
        let id = write_ledger!(ledger, |l| Ok(l.rotate_key(signer, actor.into(), new_key)?))?;
        out.write(id.into());
        Ok(())
    })
}

/// Deactivates `actor` from now on; signed by an authority. Writes the transaction id.
///
/// Errors: `HC_UNAUTHORIZED`, `HC_UNKNOWN_ACTOR`, `HC_ALREADY_DEACTIVATED`, `HC_WOULD_BREAK_QUORUM`, and the
/// submission errors.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `authority` is NULL or a live `hc_key`; `actor` is NULL or
/// points to an `hc_actor_id`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_deactivate(
    ledger: *mut hc_ledger,
    authority: *const hc_key,
    actor: *const hc_actor_id,
    out: *mut hc_tx_id,
) -> i32 {
    // SAFETY: contract above.
    unsafe {
        submit_one(ledger, (authority, "authority"), (actor, "actor"), out, |actor: hc_actor_id| {
            Ok(Payload::DeactivateActor { actor: actor.into() })
        })
    }
}

/// Grants consent; signed by the patient or a delegate with manage scope. On success writes the consent id
/// and its end ("granted until"). The refusals answer clearly: `HC_INVALID_PATIENT` (unknown, or not a
/// patient), `HC_ALREADY_HAS_ACCESS` (an active permit already covers it; `hc_ledger_find_covering_consent`
/// names it), `HC_UNKNOWN_GRANTEE`, `HC_GRANTEE_DEACTIVATED`, `HC_EMPTY_WINDOW`, `HC_UNAUTHORIZED`,
/// `HC_PATIENT_ERASED`, `HC_WIDENS_OWN_ACCESS` (a manage delegate permitting itself).
///
/// Other errors: `HC_TOO_LONG`, `HC_INVALID_UTF8`, `HC_INVALID_CODE`, `HC_INVALID_ARGUMENT`, and the
/// submission errors.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `signer` is NULL or a live `hc_key`; `grant` is NULL or points
/// to an `hc_consent_grant` whose arrays are as documented there; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_grant_consent(
    ledger: *mut hc_ledger,
    signer: *const hc_key,
    grant: *const hc_consent_grant,
    out: *mut hc_granted,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, signer, grant, out) = unsafe {
            (arg(ledger.cast_const(), "ledger")?, arg(signer, "signer")?, arg(grant, "grant")?, Out::new(out, "out")?)
        };
        // SAFETY: contract above.
        let grant = unsafe { grant.parse()? };
        let signer = signer.get()?;
        let granted = write_ledger!(ledger, |l| Ok(l.grant_consent(signer, grant)?))?;
        out.write(hc_granted { consent: granted.consent.into(), until: until_to(granted.until) });
        Ok(())
    })
}

/// Finds the active permit that already covers `grant` (the one `HC_ALREADY_HAS_ACCESS` refers to) and
/// writes its id and end.
///
/// Errors: `HC_NO_MATCH` (no permit covers it), and as `hc_ledger_grant_consent` for the arguments.
///
/// # Safety
/// As for `hc_ledger_grant_consent`, without `signer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_find_covering_consent(
    ledger: *const hc_ledger,
    grant: *const hc_consent_grant,
    out: *mut hc_granted,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, grant, out) = unsafe { (arg(ledger, "ledger")?, arg(grant, "grant")?, Out::new(out, "out")?) };
        // SAFETY: contract above.
        let grant = unsafe { grant.parse()? };
        let found = read_ledger!(ledger, |l| {
            let consent = l.state().covering_permit(&grant).ok_or_else(|| {
                super::boundary::Failure::new(super::status::HC_NO_MATCH, "no active permit covers this grant")
            })?;
            Ok(hc_granted { consent: consent.id.into(), until: until_to(consent.grant.window.not_after) })
        })?;
        out.write(found);
        Ok(())
    })
}

/// Revokes a consent from now on; signed by the patient or a delegate with manage scope. Writes the
/// transaction id.
///
/// Errors: `HC_UNKNOWN_CONSENT`, `HC_CONSENT_ALREADY_REVOKED`, `HC_UNAUTHORIZED`, and the submission errors.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `signer` is NULL or a live `hc_key`; `consent` is NULL or
/// points to an `hc_consent_id`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_revoke_consent(
    ledger: *mut hc_ledger,
    signer: *const hc_key,
    consent: *const hc_consent_id,
    out: *mut hc_tx_id,
) -> i32 {
    // SAFETY: contract above.
    unsafe {
        submit_one(ledger, (signer, "signer"), (consent, "consent"), out, |consent: hc_consent_id| {
            Ok(Payload::RevokeConsent { consent: consent.into() })
        })
    }
}

/// Grants a delegation; signed by the patient, or by an authority (a court-appointed guardian). Writes the
/// delegation id.
///
/// Errors: `HC_INVALID_ARGUMENT` (scopes), `HC_INVALID_PATIENT`, `HC_UNKNOWN_GRANTEE`,
/// `HC_GRANTEE_DEACTIVATED`, `HC_SELF_DELEGATION`, `HC_EMPTY_WINDOW`, `HC_UNAUTHORIZED`, `HC_PATIENT_ERASED`,
/// and the submission errors.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `signer` is NULL or a live `hc_key`; `grant` is NULL or points
/// to an `hc_delegation_grant`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_grant_delegation(
    ledger: *mut hc_ledger,
    signer: *const hc_key,
    grant: *const hc_delegation_grant,
    out: *mut hc_delegation_id,
) -> i32 {
    // SAFETY: contract above.
    unsafe {
        submit_one(ledger, (signer, "signer"), (grant, "grant"), out, |grant: hc_delegation_grant| {
            Ok(Payload::GrantDelegation(grant.parse()?))
        })
    }
}

/// Revokes a delegation from now on; signed by the patient or an authority. Writes the transaction id.
///
/// Errors: `HC_UNKNOWN_DELEGATION`, `HC_DELEGATION_ALREADY_REVOKED`, `HC_UNAUTHORIZED`, and the submission
/// errors.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `signer` is NULL or a live `hc_key`; `delegation` is NULL or
/// points to an `hc_delegation_id`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_revoke_delegation(
    ledger: *mut hc_ledger,
    signer: *const hc_key,
    delegation: *const hc_delegation_id,
    out: *mut hc_tx_id,
) -> i32 {
    // SAFETY: contract above.
    unsafe {
        submit_one(ledger, (signer, "signer"), (delegation, "delegation"), out, |delegation: hc_delegation_id| {
            Ok(Payload::RevokeDelegation { delegation: delegation.into() })
        })
    }
}

/// Records that the holder of `accessor` did what `request` describes, on the basis the consent engine
/// gives at `request->at` (checked and recorded atomically). Writes the access id.
///
/// Errors: `HC_ACCESS_DENIED` (the rules deny it), `HC_BASIS_MISMATCH` (only break-glass would permit it: use
/// `hc_ledger_record_break_glass`), `HC_INVALID_PATIENT`, `HC_UNKNOWN_ACTOR`, `HC_WILDCARD_IN_REQUEST`,
/// `HC_ACCESS_IN_FUTURE`, `HC_UNAUTHORIZED` (the signer is not the requester), `HC_TOO_LONG`,
/// `HC_INVALID_UTF8`, `HC_INVALID_CODE`, `HC_INVALID_ARGUMENT`, and the submission errors.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `accessor` is NULL or a live `hc_key`; `request` as for
/// `hc_ledger_check`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_record_access(
    ledger: *mut hc_ledger,
    accessor: *const hc_key,
    request: *const hc_request,
    out: *mut hc_access_id,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, accessor, request, out) = unsafe {
            (
                arg(ledger.cast_const(), "ledger")?,
                arg(accessor, "accessor")?,
                arg(request, "request")?,
                Out::new(out, "out")?,
            )
        };
        // SAFETY: contract above.
        let request = unsafe { request.parse()? };
        let accessor = accessor.get()?;
        let id = write_ledger!(ledger, |l| {
            let payload = access_payload(l, &request)?;
            Ok(l.sign_and_submit(accessor, payload)?)
        })?;
        out.write(hc_access_id::from(id));
        Ok(())
    })
}

/// Records an emergency (break-glass) access: a provider acting for an emergency purpose ("ETREAT",
/// "BTG") where the network allows it. `reason` is a code; `justification` commits (`hc_commitment`) to
/// the free-text justification kept off the ledger. The access is flagged for review. Writes the access id.
///
/// Errors: `HC_BASIS_MISMATCH` (the rules permit it without break-glass, or break-glass does not apply),
/// `HC_ACCESS_DENIED`, as `hc_ledger_record_access`, and the submission errors.
///
/// # Safety
/// As for `hc_ledger_record_access`; `reason` is NULL or NUL-terminated; `justification` is NULL or points
/// to an `hc_hash`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_record_break_glass(
    ledger: *mut hc_ledger,
    accessor: *const hc_key,
    request: *const hc_request,
    reason: *const c_char,
    justification: *const hc_hash,
    out: *mut hc_access_id,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, accessor, request, out) = unsafe {
            (
                arg(ledger.cast_const(), "ledger")?,
                arg(accessor, "accessor")?,
                arg(request, "request")?,
                Out::new(out, "out")?,
            )
        };
        // SAFETY: contract above.
        let payload = unsafe { break_glass_payload(&request.parse()?, reason, justification)? };
        let id = submit(ledger, accessor, payload)?;
        out.write(hc_access_id::from(id));
        Ok(())
    })
}

/// Reviews a break-glass access (`justified` 1 or 0); signed by an auditor or an authority. Writes the
/// transaction id.
///
/// Errors: `HC_INVALID_ARGUMENT` (`justified` not 0 or 1), `HC_UNKNOWN_ACCESS`, `HC_NOT_BREAK_GLASS`,
/// `HC_ALREADY_REVIEWED`, `HC_UNAUTHORIZED`, and the submission errors.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `reviewer` is NULL or a live `hc_key`; `access` is NULL or
/// points to an `hc_access_id`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_review_break_glass(
    ledger: *mut hc_ledger,
    reviewer: *const hc_key,
    access: *const hc_access_id,
    justified: u32,
    out: *mut hc_tx_id,
) -> i32 {
    // SAFETY: contract above.
    unsafe {
        submit_one(ledger, (reviewer, "reviewer"), (access, "access"), out, |access: hc_access_id| {
            Ok(Payload::ReviewBreakGlass { access: access.into(), justified: flag(justified, "justified")? })
        })
    }
}

/// Anchors a version of an off-ledger record section by its salted commitment (`hc_commitment`); signed by
/// a provider permitted to write that section for that purpose, or by an authority (the custodian).
/// Writes the transaction id.
///
/// Errors: `HC_TOO_LONG`, `HC_INVALID_UTF8`, `HC_INVALID_CODE`, `HC_INVALID_PATIENT`, `HC_PATIENT_ERASED`,
/// `HC_WILDCARD_IN_REQUEST`, `HC_UNAUTHORIZED`, and the submission errors.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `writer` is NULL or a live `hc_key`; `patient` and `commitment`
/// are NULL or valid; `section` and `purpose` are NULL or NUL-terminated; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_anchor_record(
    ledger: *mut hc_ledger,
    writer: *const hc_key,
    patient: *const hc_actor_id,
    section: *const c_char,
    purpose: *const c_char,
    commitment: *const hc_hash,
    out: *mut hc_tx_id,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, writer, out) =
            unsafe { (arg(ledger.cast_const(), "ledger")?, arg(writer, "writer")?, Out::new(out, "out")?) };
        // SAFETY: contract above.
        let payload = unsafe { anchor_payload(patient, section, purpose, commitment)? };
        let id = submit(ledger, writer, payload)?;
        out.write(id.into());
        Ok(())
    })
}

/// Records that the patient's off-ledger data and salts were destroyed (GDPR erasure); signed by the
/// patient or an authority. Every later question about the patient is denied and every later grant
/// refused; the chain still verifies. Writes the transaction id.
///
/// Errors: `HC_INVALID_PATIENT`, `HC_ALREADY_ERASED`, `HC_UNAUTHORIZED`, and the submission errors.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `signer` is NULL or a live `hc_key`; `patient` is NULL or points
/// to an `hc_actor_id`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_erase_subject(
    ledger: *mut hc_ledger,
    signer: *const hc_key,
    patient: *const hc_actor_id,
    out: *mut hc_tx_id,
) -> i32 {
    // SAFETY: contract above.
    unsafe {
        submit_one(ledger, (signer, "signer"), (patient, "patient"), out, |patient: hc_actor_id| {
            Ok(Payload::EraseSubject { patient: patient.into() })
        })
    }
}
