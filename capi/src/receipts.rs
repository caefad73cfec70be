//! Receipts: a self-contained text (docs/FORMAT.md, "Receipts") proving one transaction is in a ledger —
//! its bytes, its inclusion proof, and a signed checkpoint with its cosignatures — that anyone holding the
//! authorities' and witnesses' verifier keys checks offline.

use super::boundary::{FfiResult, Out, OutBuffer, arg, run, text};
use super::checkpoints::{HC_MAX_NOTE_LEN, hc_checkpoint_info, hc_checkpoint_policy};
use super::ledger::{hc_ledger, read_ledger};
use super::values::{hc_actor_id, hc_tx_id, value};
use healthchain::receipt::{MAX_RECEIPT_LEN, Receipt};
use std::ffi::c_char;

/// The longest receipt accepted, in bytes (without the terminating NUL): a buffer of
/// `HC_MAX_RECEIPT_LEN + 1` bytes holds any receipt.
pub const HC_MAX_RECEIPT_LEN: usize = 262_144;

const _: () = assert!(HC_MAX_RECEIPT_LEN == MAX_RECEIPT_LEN);

/// A receipt that verified: which transaction, where, and the checkpoint that vouches for it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct hc_receipt_info {
    /// The transaction's leaf index in the ledger's tree.
    pub index: u64,
    /// The transaction id.
    pub tx: hc_tx_id,
    /// Who signed the transaction.
    pub signer: hc_actor_id,
    /// The transaction's time (ms since the Unix epoch).
    pub time: u64,
    /// The checkpoint (its `chain` is the transaction's chain).
    pub checkpoint: hc_checkpoint_info,
}

/// The body of the receipt exports: the receipt of `tx` against `checkpoint`, or the newest carried
/// checkpoint that holds it.
fn receipt(ledger: &hc_ledger, tx: hc_tx_id, checkpoint: Option<&str>, out: OutBuffer) -> FfiResult {
    let receipt = read_ledger!(ledger, |l| Ok(l.receipt(&tx.into(), checkpoint)?))?;
    out.fill_text(&receipt.to_text())
}

/// Copies a receipt for the sealed transaction `tx` into `buf`: its bytes, its inclusion proof, and the
/// newest checkpoint the ledger carries that holds it (with the cosignatures carried with it; see
/// `hc_ledger_publish_checkpoint` and `hc_ledger_carry_checkpoint`).
///
/// Errors: `HC_BUFFER_TOO_SMALL`, `HC_NOT_SEALED`, `HC_NO_CHECKPOINT` (none carried holds it: publish one),
/// `HC_TREE_MISMATCH`, `HC_IO`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `tx` is NULL or points to an `hc_tx_id`; `buf` is NULL or valid
/// for writes of `len` bytes (NULL with `len` 0 asks for the size); `out_len` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_receipt(
    ledger: *const hc_ledger,
    tx: *const hc_tx_id,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, tx, out) =
            unsafe { (arg(ledger, "ledger")?, value(tx, "tx")?, OutBuffer::new(buf.cast(), len, out_len)?) };
        receipt(ledger, tx, None, out)
    })
}

/// Copies a receipt for the sealed transaction `tx` against `checkpoint` — a signed note of this ledger at
/// a size that holds it, such as one a witness cosigned — into `buf`.
///
/// Errors: `HC_BUFFER_TOO_SMALL`, `HC_NOT_SEALED`, `HC_TOO_LONG`, `HC_INVALID_UTF8`, `HC_MALFORMED_NOTE`,
/// `HC_MALFORMED_CHECKPOINT`, `HC_FOREIGN_CHECKPOINT` (another ledger's, a larger tree than this one's, or
/// another root at its size), `HC_INDEX_BEYOND_SIZE` (its tree does not hold `tx`), `HC_TREE_MISMATCH`,
/// `HC_IO`.
///
/// # Safety
/// As for `hc_ledger_receipt`; `checkpoint` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_receipt_at(
    ledger: *const hc_ledger,
    tx: *const hc_tx_id,
    checkpoint: *const c_char,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, tx, checkpoint, out) = unsafe {
            (
                arg(ledger, "ledger")?,
                value(tx, "tx")?,
                text(checkpoint, HC_MAX_NOTE_LEN, "checkpoint")?,
                OutBuffer::new(buf.cast(), len, out_len)?,
            )
        };
        receipt(ledger, tx, Some(checkpoint), out)
    })
}

/// Verifies a receipt offline, with nothing of the ledger: its checkpoint is signed and cosigned as
/// `policy` requires, its transaction is one of that ledger's, and the inclusion proof leads from the
/// transaction to the checkpoint's root. Writes which transaction it proves, and where.
///
/// Errors: `HC_TOO_LONG` (above `HC_MAX_RECEIPT_LEN`), `HC_INVALID_UTF8`, `HC_MALFORMED_RECEIPT`,
/// `HC_RECEIPT_WRONG_LEDGER`, `HC_PROOF_MISMATCH`, `HC_PROOF_WRONG_LENGTH`, `HC_INDEX_BEYOND_SIZE`, the
/// checkpoint's (`HC_MALFORMED_NOTE`, `HC_MALFORMED_CHECKPOINT`, `HC_NO_KNOWN_SIGNATURE`,
/// `HC_BAD_NOTE_SIGNATURE`, `HC_TOO_FEW_SIGNATURES`, `HC_TOO_FEW_COSIGNATURES`), and the policy's
/// (`HC_BAD_VERIFIER_KEY`, `HC_INVALID_ARGUMENT`, `HC_TOO_LONG`).
///
/// # Safety
/// `receipt` is NULL or a NUL-terminated string; `policy` as for `hc_checkpoint_verify`; `out` is NULL or
/// valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_receipt_verify(
    receipt: *const c_char,
    policy: *const hc_checkpoint_policy,
    out: *mut hc_receipt_info,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (receipt, policy, out) =
            unsafe { (text(receipt, HC_MAX_RECEIPT_LEN, "receipt")?, arg(policy, "policy")?, Out::new(out, "out")?) };
        // SAFETY: contract above.
        let policy = unsafe { policy.parse()? };
        let verified = Receipt::parse(receipt.as_bytes())?.verify(&policy)?;
        out.write(hc_receipt_info {
            index: verified.index,
            tx: verified.transaction.id().into(),
            signer: verified.transaction.body.signer.into(),
            time: verified.transaction.body.time,
            checkpoint: (&verified.checkpoint).into(),
        });
        Ok(())
    })
}
