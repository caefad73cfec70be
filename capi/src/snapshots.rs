//! State snapshots of a ledger file's writer: written every 50,000 transactions by default (longer for a
//! large state), or at will, so
//! that opening replays only the blocks after the newest one (see the core's `Ledger::write_snapshot`).

use super::boundary::{Out, arg, run};
use super::ledger::{hc_ledger, write_ledger};

/// Writes a snapshot of the state after the last sealed block beside the ledger file
/// (`<path>.snapshots/`), for the next open to start from, and its block's height to `height`.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`, `HC_STORE_POISONED`, `HC_READ_ONLY`, `HC_SNAPSHOT_UNAVAILABLE`
/// (transactions are queued, or the ledger is not in a file), `HC_HISTORY_DAMAGED`, `HC_IO`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `height` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_write_snapshot(ledger: *mut hc_ledger, height: *mut u64) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, height) = unsafe { (arg(ledger.cast_const(), "ledger")?, Out::new(height, "height")?) };
        height.write(write_ledger!(ledger, |l| Ok(l.write_snapshot()?))?);
        Ok(())
    })
}

/// Sets how many transactions a ledger file's writer seals between two automatic snapshots (0: none; the
/// default is 50,000, or after a snapshot of n bytes n / 512 if that is more; an interval set here is kept
/// as it is), and writes one now if that many were sealed since the last. A snapshot that cannot be
/// written now is tried again after the next block; nothing is lost.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_set_snapshot_interval(ledger: *mut hc_ledger, transactions: u64) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let ledger = unsafe { arg(ledger.cast_const(), "ledger")? };
        write_ledger!(ledger, |l| {
            l.set_snapshot_interval(transactions);
            Ok(())
        })
    })
}
