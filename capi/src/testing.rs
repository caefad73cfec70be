//! The panic boundary, proved in the C crate's test builds only: a function with the C ABI that panics
//! inside a ledger's lock (never part of the library that ships), and tests that call it and the rest of
//! the API through their `extern "C"` entry points, as a C caller would.

use super::boundary::{arg, run};
use super::ledger::hc_ledger;

/// Panics while holding `ledger`'s write lock: returns `HC_PANIC`, and every later call on the ledger
/// returns `HC_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`.
#[allow(clippy::panic)]
unsafe extern "C" fn hc_test_panic(ledger: *mut hc_ledger) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let ledger = unsafe { arg(ledger.cast_const(), "ledger")? };
        ledger.write(|_| panic!("forced by hc_test_panic"))
    })
}

#[test]
fn a_panic_inside_the_library_gives_hc_panic_and_poisons_only_the_ledger() {
    use super::*;
    use std::ffi::CStr;
    use std::ptr::null_mut;

    let message = || unsafe { CStr::from_ptr(hc_last_error_message()) }.to_string_lossy().into_owned();
    // SAFETY (whole test): every pointer is NULL where said, or valid for the call.
    unsafe {
        let mut key: *mut hc_key = null_mut();
        assert_eq!(hc_key_generate(&mut key), HC_OK);
        let name = c"panic-test";
        let settings = hc_settings {
            name: name.as_ptr(),
            seal_threshold: 1,
            break_glass_allowed: 1,
            max_clock_skew_ms: HC_DEFAULT_CLOCK_SKEW_MS,
        };
        let keys = [key.cast_const()];
        let mut ledger: *mut hc_ledger = null_mut();
        let time = 1_795_424_400_000;
        assert_eq!(hc_ledger_create_memory(&settings, keys.as_ptr(), 1, time, &mut ledger), HC_OK);

        assert_eq!(hc_test_panic(ledger), HC_PANIC);
        assert!(message().contains("panic"), "{}", message());
        let mut info = std::mem::MaybeUninit::<hc_ledger_info>::zeroed();
        assert_eq!(hc_ledger_get_info(ledger, info.as_mut_ptr()), HC_POISONED);
        let mut block = std::mem::MaybeUninit::<hc_block_info>::zeroed();
        assert_eq!(hc_ledger_seal(ledger, keys.as_ptr(), 1, block.as_mut_ptr()), HC_POISONED);
        assert_eq!(hc_test_panic(ledger), HC_POISONED);
        // The key used with the ledger is not poisoned.
        let mut public = hc_public_key::default();
        assert_eq!(hc_key_public(key, &mut public), HC_OK);
        hc_ledger_close(ledger);
        hc_key_free(key);
    }
}
