//! The external-signer path, for keys that never leave an HSM: describe an operation as an `hc_payload`,
//! let the ledger prepare the transaction (`hc_tx`), hand its exact signing bytes to the signer, attach the
//! signature and submit. Blocks are sealed the same way: `hc_proposal` gives the bytes each authority signs.

use super::boundary::{
    Failure, FfiResult, Out, OutBuffer, Poison, arg, arg_mut, flag, free_handle, into_handle, run, run_free,
};
use super::check::hc_request;
use super::keys::hc_key;
use super::ledger::{hc_block_info, hc_ledger, read_ledger, write_ledger};
use super::operations::{
    access_payload, anchor_payload, break_glass_payload, hc_consent_grant, hc_delegation_grant, submit,
};
use super::status::HC_MISUSE;
use super::values::{
    hc_access_id, hc_actor_id, hc_consent_id, hc_delegation_id, hc_hash, hc_public_key, hc_signature, hc_tx_id,
    role_from, value,
};
use healthchain::block::{MAX_SEALS, Seal};
use healthchain::ledger::BlockProposal;
use healthchain::tx::{Payload, RegisterActor, RotateKey, TxBody};
use std::ffi::c_char;

/// What a transaction does, before it is prepared for a signer. Immutable once made.
pub struct hc_payload {
    poison: Poison,
    payload: Payload,
}

/// A prepared transaction: a body (chain, signer, sequence number, time, payload) and, once attached, its
/// signature. Not thread-safe: one thread uses it at a time.
pub struct hc_tx {
    poison: Poison,
    body: TxBody,
    signature: Option<healthchain::keys::Signature>,
}

/// A block proposal over the submitted transactions, collecting authorities' seals. Not thread-safe.
pub struct hc_proposal {
    poison: Poison,
    proposal: BlockProposal,
    seals: Vec<Seal>,
}

fn payload_out(out: Out<*mut hc_payload>, payload: Payload) -> FfiResult {
    out.write(into_handle(hc_payload { poison: Poison::default(), payload }));
    Ok(())
}

/// Describes registering the holder of `key` with `role`; `proof` is the key's signature over the bytes
/// `hc_ledger_possession_bytes` gives. Submit it signed by an authority.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_INVALID_KEY`, `HC_INVALID_ARGUMENT` (role). Free with `hc_payload_free`.
///
/// # Safety
/// `key` and `proof` are NULL or valid; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_payload_register_actor(
    key: *const hc_public_key,
    proof: *const hc_signature,
    role: u32,
    out: *mut *mut hc_payload,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (key, proof, out) = unsafe { (value(key, "key")?, value(proof, "proof")?, Out::new(out, "out")?) };
        payload_out(
            out,
            Payload::RegisterActor(RegisterActor { key: key.key()?, role: role_from(role)?, proof: proof.into() }),
        )
    })
}

/// Describes replacing `actor`'s key with `new_key`; `proof` as for `hc_payload_register_actor`.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_INVALID_KEY`. Free with `hc_payload_free`.
///
/// # Safety
/// `actor`, `new_key` and `proof` are NULL or valid; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_payload_rotate_key(
    actor: *const hc_actor_id,
    new_key: *const hc_public_key,
    proof: *const hc_signature,
    out: *mut *mut hc_payload,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (actor, new_key, proof, out) = unsafe {
            (value(actor, "actor")?, value(new_key, "new_key")?, value(proof, "proof")?, Out::new(out, "out")?)
        };
        let rotate = RotateKey { actor: actor.into(), new_key: new_key.key()?, proof: proof.into() };
        payload_out(out, Payload::RotateKey(rotate))
    })
}

/// Describes deactivating `actor`.
///
/// Errors: `HC_NULL_ARGUMENT`. Free with `hc_payload_free`.
///
/// # Safety
/// `actor` is NULL or valid; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_payload_deactivate(actor: *const hc_actor_id, out: *mut *mut hc_payload) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (actor, out) = unsafe { (value(actor, "actor")?, Out::new(out, "out")?) };
        payload_out(out, Payload::DeactivateActor { actor: actor.into() })
    })
}

/// Describes a consent grant (see `hc_ledger_grant_consent`); the consent id is the transaction id.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_TOO_LONG`, `HC_INVALID_UTF8`, `HC_INVALID_CODE`, `HC_INVALID_ARGUMENT`.
/// Free with `hc_payload_free`.
///
/// # Safety
/// `grant` is NULL or points to an `hc_consent_grant` whose arrays are as documented there; `out` is NULL
/// or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_payload_grant_consent(grant: *const hc_consent_grant, out: *mut *mut hc_payload) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (grant, out) = unsafe { (arg(grant, "grant")?, Out::new(out, "out")?) };
        // SAFETY: contract above.
        payload_out(out, Payload::GrantConsent(unsafe { grant.parse()? }))
    })
}

/// Describes revoking a consent.
///
/// Errors: `HC_NULL_ARGUMENT`. Free with `hc_payload_free`.
///
/// # Safety
/// `consent` is NULL or valid; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_payload_revoke_consent(consent: *const hc_consent_id, out: *mut *mut hc_payload) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (consent, out) = unsafe { (value(consent, "consent")?, Out::new(out, "out")?) };
        payload_out(out, Payload::RevokeConsent { consent: consent.into() })
    })
}

/// Describes a delegation grant; the delegation id is the transaction id.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_INVALID_ARGUMENT` (scopes). Free with `hc_payload_free`.
///
/// # Safety
/// `grant` is NULL or valid; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_payload_grant_delegation(
    grant: *const hc_delegation_grant,
    out: *mut *mut hc_payload,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (grant, out) = unsafe { (value(grant, "grant")?, Out::new(out, "out")?) };
        payload_out(out, Payload::GrantDelegation(grant.parse()?))
    })
}

/// Describes revoking a delegation.
///
/// Errors: `HC_NULL_ARGUMENT`. Free with `hc_payload_free`.
///
/// # Safety
/// `delegation` is NULL or valid; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_payload_revoke_delegation(
    delegation: *const hc_delegation_id,
    out: *mut *mut hc_payload,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (delegation, out) = unsafe { (value(delegation, "delegation")?, Out::new(out, "out")?) };
        payload_out(out, Payload::RevokeDelegation { delegation: delegation.into() })
    })
}

/// Describes recording the access `request` describes, on the basis `ledger`'s consent engine gives at
/// `request->at` now; the access id is the transaction id. The basis is fixed here: if consents change
/// before the transaction is submitted, the submission fails with `HC_BASIS_MISMATCH` or `HC_ACCESS_DENIED`.
///
/// Errors: `HC_ACCESS_DENIED`, `HC_BASIS_MISMATCH` (break-glass needed: use `hc_payload_break_glass`),
/// `HC_INVALID_PATIENT`, `HC_UNKNOWN_ACTOR`, `HC_WILDCARD_IN_REQUEST`, and as `hc_ledger_check`. Free with
/// `hc_payload_free`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `request` as for `hc_ledger_check`; `out` is NULL or valid for
/// writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_payload_record_access(
    ledger: *const hc_ledger,
    request: *const hc_request,
    out: *mut *mut hc_payload,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, request, out) =
            unsafe { (arg(ledger, "ledger")?, arg(request, "request")?, Out::new(out, "out")?) };
        // SAFETY: contract above.
        let request = unsafe { request.parse()? };
        payload_out(out, read_ledger!(ledger, |l| access_payload(l, &request))?)
    })
}

/// Describes a break-glass access (see `hc_ledger_record_break_glass`).
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_TOO_LONG`, `HC_INVALID_UTF8`, `HC_INVALID_CODE`, `HC_INVALID_ARGUMENT`.
/// Free with `hc_payload_free`.
///
/// # Safety
/// `request` as for `hc_ledger_check`; `reason` is NULL or NUL-terminated; `justification` is NULL or
/// valid; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_payload_break_glass(
    request: *const hc_request,
    reason: *const c_char,
    justification: *const hc_hash,
    out: *mut *mut hc_payload,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (request, out) = unsafe { (arg(request, "request")?, Out::new(out, "out")?) };
        // SAFETY: contract above.
        let payload = unsafe { break_glass_payload(&request.parse()?, reason, justification)? };
        payload_out(out, payload)
    })
}

/// Describes reviewing a break-glass access (`justified` 1 or 0).
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_INVALID_ARGUMENT`. Free with `hc_payload_free`.
///
/// # Safety
/// `access` is NULL or valid; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_payload_review_break_glass(
    access: *const hc_access_id,
    justified: u32,
    out: *mut *mut hc_payload,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (access, out) = unsafe { (value(access, "access")?, Out::new(out, "out")?) };
        payload_out(out, Payload::ReviewBreakGlass { access: access.into(), justified: flag(justified, "justified")? })
    })
}

/// Describes anchoring a record version (see `hc_ledger_anchor_record`).
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_TOO_LONG`, `HC_INVALID_UTF8`, `HC_INVALID_CODE`. Free with
/// `hc_payload_free`.
///
/// # Safety
/// `patient` and `commitment` are NULL or valid; `section` and `purpose` are NULL or NUL-terminated; `out`
/// is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_payload_anchor_record(
    patient: *const hc_actor_id,
    section: *const c_char,
    purpose: *const c_char,
    commitment: *const hc_hash,
    out: *mut *mut hc_payload,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let out = unsafe { Out::new(out, "out")? };
        // SAFETY: contract above.
        payload_out(out, unsafe { anchor_payload(patient, section, purpose, commitment)? })
    })
}

/// Describes erasing a patient (see `hc_ledger_erase_subject`).
///
/// Errors: `HC_NULL_ARGUMENT`. Free with `hc_payload_free`.
///
/// # Safety
/// `patient` is NULL or valid; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_payload_erase_subject(patient: *const hc_actor_id, out: *mut *mut hc_payload) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (patient, out) = unsafe { (value(patient, "patient")?, Out::new(out, "out")?) };
        payload_out(out, Payload::EraseSubject { patient: patient.into() })
    })
}

/// Frees a payload. NULL is a no-op.
///
/// # Safety
/// `payload` is NULL or a live `hc_payload` no other thread uses; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_payload_free(payload: *mut hc_payload) {
    // SAFETY: contract above.
    run_free(|| unsafe { free_handle(payload) });
}

/// Signs `payload` in-process with `key` (for the actor owning it) and submits it. Writes the
/// transaction id (which is the new consent, delegation or access id for those payloads).
///
/// Errors: every refusal of the operation described (200-249), and the submission errors.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `key` is NULL or a live `hc_key`; `payload` is NULL or a live
/// `hc_payload`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_sign_and_submit(
    ledger: *mut hc_ledger,
    key: *const hc_key,
    payload: *const hc_payload,
    out: *mut hc_tx_id,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, key, payload, out) = unsafe {
            (arg(ledger.cast_const(), "ledger")?, arg(key, "key")?, arg(payload, "payload")?, Out::new(out, "out")?)
        };
        let payload = payload.poison.guard(|| Ok(payload.payload.clone()))?;
        out.write(submit(ledger, key, payload)?.into());
        Ok(())
    })
}

/// Gives the bytes a key signs to prove possession of itself on this ledger (for `hc_payload_register_actor`
/// and `hc_payload_rotate_key`). Size query: with `buf` NULL and `len` 0 the call returns
/// `HC_BUFFER_TOO_SMALL` (not an error to report: the expected answer) with the size in `*out_len`; with a
/// buffer of at least that size it returns `HC_OK` and `*out_len` is the number of bytes written.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_INVALID_KEY`, `HC_BUFFER_TOO_SMALL`, `HC_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `key` is NULL or valid; `buf` is NULL or valid for `len` bytes of
/// writes; `out_len` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_possession_bytes(
    ledger: *const hc_ledger,
    key: *const hc_public_key,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, key, buffer) =
            unsafe { (arg(ledger, "ledger")?, value(key, "key")?, OutBuffer::new(buf, len, out_len)?) };
        let key = key.key()?;
        let chain = read_ledger!(ledger, |l| Ok(l.chain()))?;
        buffer.fill(&healthchain::tx::proof_of_possession_message(&chain, &key))
    })
}

/// Prepares `payload` as a transaction by `signer` (an actor id): the chain id, the signer's next sequence
/// number and the ledger's current time are filled in. Nothing is submitted; prepare, sign and submit one
/// transaction per signer at a time (a second prepared before the first is submitted gets the same
/// sequence number and `HC_BAD_SEQUENCE`).
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`. Free with `hc_tx_free`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `signer` is NULL or valid; `payload` is NULL or a live
/// `hc_payload`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_prepare(
    ledger: *const hc_ledger,
    signer: *const hc_actor_id,
    payload: *const hc_payload,
    out: *mut *mut hc_tx,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, signer, payload, out) = unsafe {
            (arg(ledger, "ledger")?, value(signer, "signer")?, arg(payload, "payload")?, Out::new(out, "out")?)
        };
        let payload = payload.poison.guard(|| Ok(payload.payload.clone()))?;
        let body = read_ledger!(ledger, |l| Ok(l.prepare(signer.into(), payload)))?;
        out.write(into_handle(hc_tx { poison: Poison::default(), body, signature: None }));
        Ok(())
    })
}

/// Gives the exact bytes the signer signs for this transaction (hand them to the HSM). Size query as for
/// `hc_ledger_possession_bytes`.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_BUFFER_TOO_SMALL`, `HC_POISONED`.
///
/// # Safety
/// `tx` is NULL or a live `hc_tx`; `buf` is NULL or valid for `len` bytes of writes; `out_len` is NULL or
/// valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_tx_signing_bytes(tx: *const hc_tx, buf: *mut u8, len: usize, out_len: *mut usize) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (tx, buffer) = unsafe { (arg(tx, "tx")?, OutBuffer::new(buf, len, out_len)?) };
        let bytes = tx.poison.guard(|| Ok(tx.body.signing_bytes()))?;
        buffer.fill(&bytes)
    })
}

/// Writes the transaction id (known before signing).
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`.
///
/// # Safety
/// `tx` is NULL or a live `hc_tx`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_tx_get_id(tx: *const hc_tx, out: *mut hc_tx_id) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (tx, out) = unsafe { (arg(tx, "tx")?, Out::new(out, "out")?) };
        out.write(tx.poison.guard(|| Ok(tx.body.id().into()))?);
        Ok(())
    })
}

/// Attaches the signer's signature over `hc_tx_signing_bytes` (replacing any earlier one). It is checked,
/// strictly, when submitted.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`.
///
/// # Safety
/// `tx` is NULL or a live `hc_tx` no other thread uses; `signature` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_tx_attach_signature(tx: *mut hc_tx, signature: *const hc_signature) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (tx, signature) = unsafe { (arg_mut(tx, "tx")?, value(signature, "signature")?) };
        tx.poison.guard(|| {
            tx.signature = Some(signature.into());
            Ok(())
        })
    })
}

/// Submits a signed transaction: validated against the current state (signature included) and queued for
/// the next block. The `hc_tx` stays the caller's to free. Writes the transaction id.
///
/// Errors: `HC_MISUSE` (no signature attached), `HC_BAD_SIGNATURE`, `HC_BAD_SEQUENCE`, `HC_UNKNOWN_SIGNER`,
/// every refusal of the operation (200-249), `HC_BLOCK_FULL`, `HC_READ_ONLY`, `HC_STORE_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `tx` is NULL or a live `hc_tx`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_submit(ledger: *mut hc_ledger, tx: *const hc_tx, out: *mut hc_tx_id) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, tx, out) = unsafe { (arg(ledger.cast_const(), "ledger")?, arg(tx, "tx")?, Out::new(out, "out")?) };
        let signed = tx.poison.guard(|| {
            let signature = tx.signature.ok_or_else(|| Failure::new(HC_MISUSE, "no signature attached"))?;
            Ok(tx.body.clone().attach_signature(signature))
        })?;
        out.write(write_ledger!(ledger, |l| Ok(l.submit(signed)?))?.into());
        Ok(())
    })
}

/// Frees a transaction. NULL is a no-op.
///
/// # Safety
/// `tx` is NULL or a live `hc_tx`; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_tx_free(tx: *mut hc_tx) {
    // SAFETY: contract above.
    run_free(|| unsafe { free_handle(tx) });
}

/// Proposes the next block over the submitted transactions, with `proposer` (an active authority, which
/// must also seal it). Each sealing authority signs `hc_proposal_seal_bytes`; submitting more transactions
/// makes the proposal stale.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_NOTHING_TO_SEAL`, `HC_STORE_POISONED`, `HC_POISONED`. Free with
/// `hc_proposal_free`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `proposer` is NULL or valid; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_propose_block(
    ledger: *const hc_ledger,
    proposer: *const hc_actor_id,
    out: *mut *mut hc_proposal,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, proposer, out) =
            unsafe { (arg(ledger, "ledger")?, value(proposer, "proposer")?, Out::new(out, "out")?) };
        let proposal = read_ledger!(ledger, |l| Ok(l.propose_block(proposer.into())?))?;
        out.write(into_handle(hc_proposal { poison: Poison::default(), proposal, seals: Vec::new() }));
        Ok(())
    })
}

/// Gives the exact bytes an authority signs to seal the proposed block. Size query as for
/// `hc_ledger_possession_bytes`.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_BUFFER_TOO_SMALL`, `HC_POISONED`.
///
/// # Safety
/// `proposal` is NULL or a live `hc_proposal`; `buf` is NULL or valid for `len` bytes of writes; `out_len`
/// is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_proposal_seal_bytes(
    proposal: *const hc_proposal,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (proposal, buffer) = unsafe { (arg(proposal, "proposal")?, OutBuffer::new(buf, len, out_len)?) };
        let bytes = proposal.poison.guard(|| Ok(proposal.proposal.seal_bytes()))?;
        buffer.fill(&bytes)
    })
}

/// Adds `authority`'s seal (its signature over `hc_proposal_seal_bytes`); checked at commit.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_TOO_LONG` (more than 64 seals), `HC_POISONED`.
///
/// # Safety
/// `proposal` is NULL or a live `hc_proposal` no other thread uses; `authority` and `signature` are NULL or
/// valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_proposal_add_seal(
    proposal: *mut hc_proposal,
    authority: *const hc_actor_id,
    signature: *const hc_signature,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (proposal, authority, signature) =
            unsafe { (arg_mut(proposal, "proposal")?, value(authority, "authority")?, value(signature, "signature")?) };
        proposal.poison.guard(|| {
            if proposal.seals.len() >= MAX_SEALS {
                return Err(Failure::new(super::status::HC_TOO_LONG, format!("at most {MAX_SEALS} seals")));
            }
            proposal.seals.push(Seal { authority: authority.into(), signature: signature.into() });
            Ok(())
        })
    })
}

/// Commits the proposed block with the seals added: they must satisfy the verifier's rule (at least the
/// threshold of authorities active before this block, each seal valid, the proposer among them). The block
/// is appended and durable before this returns.
///
/// Errors: `HC_VERIFY_BAD_SEAL`, `HC_VERIFY_SEALER_NOT_AUTHORITY`, `HC_VERIFY_NOT_ENOUGH_SEALS`,
/// `HC_VERIFY_PROPOSER_NOT_SEALER` (the seals break the verifier's rule; nothing was written),
/// `HC_STALE_PROPOSAL` (transactions were submitted or a block sealed since the proposal),
/// `HC_NOTHING_TO_SEAL` (the proposal's transactions were sealed meanwhile), `HC_NULL_ARGUMENT`,
/// `HC_READ_ONLY`, `HC_IO`, `HC_STORE_POISONED`, `HC_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `proposal` is NULL or a live `hc_proposal`; `out` is NULL or
/// valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_commit_block(
    ledger: *mut hc_ledger,
    proposal: *const hc_proposal,
    out: *mut hc_block_info,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, proposal, out) =
            unsafe { (arg(ledger.cast_const(), "ledger")?, arg(proposal, "proposal")?, Out::new(out, "out")?) };
        let (header, seals) = proposal.poison.guard(|| Ok((proposal.proposal.clone(), proposal.seals.clone())))?;
        let committed = write_ledger!(ledger, |l| match l.commit_block(&header, seals) {
            Ok(block) => Ok(block.into()),
            // The seals break the verifier's rule: say which rule (HC_VERIFY_*), not "does not verify".
            Err(healthchain::ledger::LedgerError::Corrupt { failure, .. }) => {
                Err(Failure::new(super::status::block_code(&failure.reason), failure.to_string()))
            }
            Err(e) => Err(e.into()),
        })?;
        out.write(committed);
        Ok(())
    })
}

/// Frees a proposal. NULL is a no-op.
///
/// # Safety
/// `proposal` is NULL or a live `hc_proposal`; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_proposal_free(proposal: *mut hc_proposal) {
    // SAFETY: contract above.
    run_free(|| unsafe { free_handle(proposal) });
}
