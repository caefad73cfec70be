//! Where a ledger stands against a checkpoint one trusts (received earlier, signed by its authorities and
//! perhaps cosigned by witnesses): it holds that tree and may have grown since, or it was cut or rolled
//! back (`HC_TRUNCATED`), or forked (`HC_FORKED`, with the evidence: two roots for one size), or it is
//! another ledger (`HC_OTHER_LEDGER`).

use super::boundary::{FfiResult, Out, arg, run, text};
use super::checkpoints::{HC_MAX_NOTE_LEN, hc_checkpoint_policy};
use super::ledger::{HC_MAX_PATH_LEN, file_to_verify, hc_ledger, hc_verify_report, read_ledger};
use super::status::standing_code;
use super::values::{hc_block_hash, hc_hash};
use healthchain::checkpoint::Checkpoint;
use healthchain::store::Store;
use healthchain::trust::{Standing, verify_blocks_against};
use std::ffi::c_char;

/// Where a ledger stands against a trusted checkpoint.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct hc_standing {
    /// `HC_OK`: the ledger holds the checkpoint's tree (the same root at its size) and may have grown
    /// since. `HC_TRUNCATED`: it holds fewer transactions (cut, or rolled back). `HC_FORKED`: its first
    /// `checkpoint_size` transactions give another root. `HC_OTHER_LEDGER`: the checkpoint is of another
    /// ledger. `HC_NOT_REACHED`: verification failed before the ledger reached the checkpoint's size.
    pub status: i32,
    /// The checkpoint's tree size.
    pub checkpoint_size: u64,
    /// The checkpoint's root.
    pub checkpoint_root: hc_hash,
    /// The ledger's tree size (for `HC_NOT_REACHED`, the size of the part that verified).
    pub ledger_size: u64,
    /// The root of the ledger's first `checkpoint_size` transactions, where known: equal to
    /// `checkpoint_root` for `HC_OK`, the other root for `HC_FORKED`, all zero otherwise.
    pub ledger_root: hc_hash,
    /// For `HC_FORKED`: the height of the ledger's first block whose tree holds `checkpoint_size`
    /// transactions (its seals vouch for `ledger_root`); 0 otherwise.
    pub fork_height: u64,
    /// For `HC_FORKED`: that block's hash; all zero otherwise.
    pub fork_block_hash: hc_block_hash,
}

impl hc_standing {
    /// The C form of `standing` against `checkpoint`, for a ledger of `ledger_size` transactions.
    fn new(standing: &Standing, checkpoint: &Checkpoint, ledger_size: u64) -> Self {
        let mut out = hc_standing {
            status: standing_code(standing),
            checkpoint_size: checkpoint.size,
            checkpoint_root: checkpoint.root.into(),
            ledger_size,
            ..Self::default()
        };
        match standing {
            Standing::Extends { ledger_size, .. } => {
                out.ledger_size = *ledger_size;
                out.ledger_root = checkpoint.root.into();
            }
            Standing::Truncated { ledger_size, .. } => out.ledger_size = *ledger_size,
            Standing::NotReached { verified_size, .. } => out.ledger_size = *verified_size,
            Standing::Forked(fork) => {
                out.ledger_root = fork.ledger_root.into();
                out.fork_height = fork.block;
                out.fork_block_hash = fork.block_hash.into();
            }
            Standing::OtherLedger { .. } => {}
        }
        out
    }
}

/// Full verification of a ledger file and where it stands against a trusted checkpoint.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hc_verify_against_report {
    /// The verification from genesis, as `hc_verify_file` reports it.
    pub report: hc_verify_report,
    /// Where the ledger stands against the checkpoint.
    pub standing: hc_standing,
}

/// The checkpoint of a note, once `policy` accepted it.
///
/// # Safety
/// `policy` as for `hc_checkpoint_verify`.
unsafe fn trusted(note: &str, policy: &hc_checkpoint_policy) -> FfiResult<Checkpoint> {
    // SAFETY: forwarded contract.
    let policy = unsafe { policy.parse()? };
    Ok(Checkpoint::verify(note.as_bytes(), &policy)?.checkpoint)
}

/// Writes where the open ledger stands against the checkpoint `note`, which must satisfy `policy` (a
/// checkpoint one trusts). A standing other than `HC_OK` is an answer, not an error: the call returns
/// `HC_OK` and `out->status` tells.
///
/// Errors: `HC_TOO_LONG`, `HC_INVALID_UTF8`, the checkpoint's and the policy's (as `hc_checkpoint_verify`),
/// `HC_TREE_MISMATCH`, `HC_IO`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `note` is NULL or a NUL-terminated string; `policy` as for
/// `hc_checkpoint_verify`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_standing(
    ledger: *const hc_ledger,
    note: *const c_char,
    policy: *const hc_checkpoint_policy,
    out: *mut hc_standing,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, note, policy, out) = unsafe {
            (
                arg(ledger, "ledger")?,
                text(note, HC_MAX_NOTE_LEN, "note")?,
                arg(policy, "policy")?,
                Out::new(out, "out")?,
            )
        };
        // SAFETY: contract above.
        let checkpoint = unsafe { trusted(note, policy)? };
        let standing = read_ledger!(ledger, |l| {
            let standing = l.standing(&checkpoint)?;
            Ok(hc_standing::new(&standing, &checkpoint, l.tree().size()))
        })?;
        out.write(standing);
        Ok(())
    })
}

/// Verifies the ledger file at `path` from genesis, as `hc_verify_file` does (read-only, without opening it
/// as a ledger), and measures it against the checkpoint `note`, which must satisfy `policy`: a file cut
/// after the checkpoint was published is `HC_TRUNCATED`, one rewritten below it `HC_FORKED` with both
/// roots and the block that vouches for the other one. Returns `HC_OK` with the report whether or not the
/// file is valid and keeps the checkpoint: `out->report.valid` and `out->standing.status` tell. The
/// checkpoints the file carries beside it play no part.
///
/// Errors: `HC_TOO_LONG`, `HC_INVALID_UTF8`, the checkpoint's and the policy's (as
/// `hc_checkpoint_verify`), and the file's (as `hc_verify_file`).
///
/// # Safety
/// `path` and `note` are NULL or NUL-terminated strings; `policy` as for `hc_checkpoint_verify`; `out` is
/// NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_verify_file_against(
    path: *const c_char,
    note: *const c_char,
    policy: *const hc_checkpoint_policy,
    out: *mut hc_verify_against_report,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (path, note, policy, out) = unsafe {
            (
                text(path, HC_MAX_PATH_LEN, "path")?,
                text(note, HC_MAX_NOTE_LEN, "note")?,
                arg(policy, "policy")?,
                Out::new(out, "out")?,
            )
        };
        // SAFETY: contract above.
        let checkpoint = unsafe { trusted(note, policy)? };
        let store = file_to_verify(path)?;
        let blocks = (0..store.len()).map(|h| store.read(h));
        let measured = verify_blocks_against(blocks, std::slice::from_ref(&checkpoint));
        let (report, standings) = (measured.report, measured.standings);
        let standing = match standings.first() {
            Some(standing) => hc_standing::new(standing, &checkpoint, report.tree_size),
            None => return Err(super::boundary::Failure::new(super::status::HC_UNMAPPED_ERROR, "no standing")),
        };
        let report = hc_verify_report::from(&report).with_tail(store.recovery());
        out.write(hc_verify_against_report { report, standing });
        Ok(())
    })
}
