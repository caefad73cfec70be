//! Test-only exports (feature `ffi-test-panic`): force a panic inside a ledger's lock, to prove that the
//! boundary returns `HC_PANIC` and poisons the handle instead of unwinding into C.

use super::boundary::{arg, run};
use super::ledger::hc_ledger;

/// Panics while holding `ledger`'s write lock (test builds only): returns `HC_PANIC`, and every later call
/// on the ledger returns `HC_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`.
#[unsafe(no_mangle)]
#[allow(clippy::panic)]
pub unsafe extern "C" fn hc_test_panic(ledger: *mut hc_ledger) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let ledger = unsafe { arg(ledger.cast_const(), "ledger")? };
        ledger.write(|_| panic!("forced by hc_test_panic"))
    })
}
