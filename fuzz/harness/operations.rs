//! Target `operations`: a sequence of ledger operations — register, grant, revoke, delegate, access,
//! break-glass and its review, deactivate, erase, seal, reopen, crash in the middle of a seal, and consent
//! questions — run on a ledger (on an in-memory file) and on the reference model side by side
//! (`model.rs`): every outcome must agree, every answer about a sealed instant must stay as it was, and a
//! reopen or a crash must lose exactly what was not acknowledged.

use super::model::{Case, Run};
use arbitrary::{Arbitrary, Unstructured};

/// Operations per input: enough for every interaction, few enough to keep each run short (signatures
/// dominate: one sign and one verify per transaction).
pub const MAX_OPS: usize = 12;

/// The harness.
pub fn run(data: &[u8]) {
    let Ok(mut case) = Case::arbitrary(&mut Unstructured::new(data)) else { return };
    case.ops.truncate(MAX_OPS);
    if let Err(failure) = Run::case(&case) {
        panic!("{failure}\nin {case:#?}");
    }
}
