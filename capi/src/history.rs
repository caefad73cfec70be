//! Access history through an iterator handle, stepped as in sqlite: each step gives `HC_ROW` with a row,
//! then `HC_DONE`. The rows are a snapshot taken when the iterator is made: later submissions do not change
//! it and the ledger stays unlocked between steps.

use super::boundary::{FfiResult, Out, Poison, arg, arg_mut, free_handle, into_handle, run, run_free, run_status};
use super::ledger::{hc_ledger, read_ledger};
use super::status::{HC_DONE, HC_ROW};
use super::values::{
    HC_MAX_LISTED_RULES, action_to, hc_access_id, hc_actor_id, hc_code, hc_consent_id, hc_delegation_id, hc_hash,
    listed_rules,
};
use healthchain::state::Access;
use healthchain::tx::AccessBasis;
use std::collections::VecDeque;

/// Review state: not a break-glass access (no review needed).
pub const HC_REVIEW_NONE: u32 = 0;
/// Review state: a break-glass access awaiting review.
pub const HC_REVIEW_PENDING: u32 = 1;
/// Review state: reviewed and found justified.
pub const HC_REVIEW_JUSTIFIED: u32 = 2;
/// Review state: reviewed and found not justified.
pub const HC_REVIEW_NOT_JUSTIFIED: u32 = 3;

/// One recorded access: who accessed which part of whose record, when, why and on what basis.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct hc_access_row {
    /// The access id (review break-glass accesses by it).
    pub access: hc_access_id,
    /// Who accessed.
    pub accessor: hc_actor_id,
    /// Whose record.
    pub patient: hc_actor_id,
    /// Which section.
    pub section: hc_code,
    /// For what purpose of use.
    pub purpose: hc_code,
    /// `HC_ACTION_READ` or `HC_ACTION_WRITE`.
    pub action: u32,
    /// When the access happened (ms since the Unix epoch).
    pub at: u64,
    /// Height of the block that recorded it (the next block's height while not yet sealed).
    pub recorded_height: u64,
    /// Time of the recording transaction.
    pub recorded_time: u64,
    /// `HC_BASIS_OWNER`, `HC_BASIS_DELEGATE`, `HC_BASIS_CONSENTS` or `HC_BASIS_BREAK_GLASS`.
    pub basis: u32,
    /// The delegation, for `HC_BASIS_DELEGATE`.
    pub delegation: hc_delegation_id,
    /// How many consents permitted it, for `HC_BASIS_CONSENTS`.
    pub consent_count: u32,
    /// The first `min(consent_count, HC_MAX_LISTED_RULES)` of them, sorted by id.
    pub consents: [hc_consent_id; HC_MAX_LISTED_RULES],
    /// The break-glass reason code, for `HC_BASIS_BREAK_GLASS`.
    pub break_glass_reason: hc_code,
    /// The commitment to the off-ledger justification, for `HC_BASIS_BREAK_GLASS`.
    pub justification: hc_hash,
    /// `HC_REVIEW_*`.
    pub review: u32,
    /// The reviewer, once reviewed.
    pub reviewer: hc_actor_id,
    /// When it was reviewed (0 if not).
    pub reviewed_time: u64,
}

impl From<&Access> for hc_access_row {
    fn from(entry: &Access) -> Self {
        let access = &entry.access;
        let mut row = hc_access_row {
            access: entry.id.into(),
            accessor: entry.accessor.into(),
            patient: access.patient.into(),
            section: access.section.into(),
            purpose: access.purpose.into(),
            action: action_to(access.action),
            at: access.at,
            recorded_height: entry.recorded.height,
            recorded_time: entry.recorded.time,
            ..hc_access_row::default()
        };
        row.basis = match &access.basis {
            AccessBasis::Owner => super::check::HC_BASIS_OWNER,
            AccessBasis::Delegate(id) => {
                row.delegation = (*id).into();
                super::check::HC_BASIS_DELEGATE
            }
            AccessBasis::Consents(ids) => {
                (row.consent_count, row.consents) = listed_rules(ids);
                super::check::HC_BASIS_CONSENTS
            }
            AccessBasis::BreakGlass { reason, justification } => {
                row.break_glass_reason = (*reason).into();
                row.justification = (*justification).into();
                super::check::HC_BASIS_BREAK_GLASS
            }
        };
        row.review = match (&access.basis, &entry.review) {
            (_, Some(review)) => {
                row.reviewer = review.reviewer.into();
                row.reviewed_time = review.reviewed.time;
                if review.justified { HC_REVIEW_JUSTIFIED } else { HC_REVIEW_NOT_JUSTIFIED }
            }
            (AccessBasis::BreakGlass { .. }, None) => HC_REVIEW_PENDING,
            _ => HC_REVIEW_NONE,
        };
        row
    }
}

/// An iterator over access rows. Not thread-safe: one thread steps it at a time.
pub struct hc_history {
    poison: Poison,
    rows: VecDeque<Access>,
}

fn new_history(rows: Vec<Access>) -> *mut hc_history {
    into_handle(hc_history { poison: Poison::default(), rows: rows.into() })
}

/// Makes an iterator over who accessed `patient`'s record, in ledger order (the patient's accounting of
/// disclosures). An unknown patient gives an empty history.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`, `HC_HISTORY_DAMAGED`, `HC_IO` (the history is read from
/// disk). Free the iterator with `hc_history_free`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `patient` is NULL or points to an `hc_actor_id`; `out` is NULL
/// or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_access_history(
    ledger: *const hc_ledger,
    patient: *const hc_actor_id,
    out: *mut *mut hc_history,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, patient, out) =
            unsafe { (arg(ledger, "ledger")?, arg(patient, "patient")?, Out::new(out, "out")?) };
        let rows = read_ledger!(ledger, |l| Ok(l.access_history(&(*patient).into())?))?;
        out.write(new_history(rows));
        Ok(())
    })
}

/// Makes an iterator over the break-glass accesses not yet reviewed, oldest first (the privacy officer's
/// queue).
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`. Free the iterator with `hc_history_free`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_pending_reviews(ledger: *const hc_ledger, out: *mut *mut hc_history) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, out) = unsafe { (arg(ledger, "ledger")?, Out::new(out, "out")?) };
        let rows = read_ledger!(ledger, |l| Ok(l.pending_reviews()))?;
        out.write(new_history(rows));
        Ok(())
    })
}

/// Steps the iterator: `HC_ROW` with the next row written to `row`, or `HC_DONE` (then and ever after,
/// with nothing written).
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`.
///
/// # Safety
/// `history` is NULL or a live `hc_history` no other thread uses; `row` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_history_step(history: *mut hc_history, row: *mut hc_access_row) -> i32 {
    run_status(|| {
        // SAFETY: contract above.
        let (history, row) = unsafe { (arg_mut(history, "history")?, Out::new(row, "row")?) };
        let next: FfiResult<Option<hc_access_row>> =
            history.poison.guard(|| Ok(history.rows.pop_front().map(|entry| (&entry).into())));
        Ok(match next? {
            Some(next) => {
                row.write(next);
                HC_ROW
            }
            None => HC_DONE,
        })
    })
}

/// Frees an iterator. NULL is a no-op.
///
/// # Safety
/// `history` is NULL or a live `hc_history`; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_history_free(history: *mut hc_history) {
    // SAFETY: contract above.
    run_free(|| unsafe { free_handle(history) });
}
