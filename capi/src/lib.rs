//! `healthchain-capi`: the C ABI of `libhealthchain`, declared in the generated header
//! `include/healthchain.h`, over the safe core crate `healthchain`.
//!
//! This is the only crate of the workspace with `unsafe` code. Every exported function follows the contract in the
//! header's preamble and in README.md ("C API conventions"): an `int32_t` status (0 = [`HC_OK`]);
//! every pointer checked before it is read and before anything changes; inputs copied, outputs written only on success; a panic
//! boundary that returns [`HC_PANIC`] and poisons the handle involved; a thread-local detail message.
//!
//! Layout: `boundary` (panic boundary, last error, argument checking), `status` (codes), `values`
//! (fixed-size `#[repr(C)]` values), then one module per concept of the API.

#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![deny(clippy::host_endian_bytes)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]
// C names for C types: `hc_ledger`, `hc_actor_id`, ... as the header spells them.
#![allow(non_camel_case_types)]

mod boundary;
mod check;
mod checkpoints;
mod external;
mod fhir;
mod history;
mod keys;
mod ledger;
mod operations;
mod proofs;
mod receipts;
mod snapshots;
mod standing;
mod status;
#[cfg(test)]
mod testing;
mod values;
mod version;

pub use check::*;
pub use checkpoints::*;
pub use external::*;
pub use fhir::*;
pub use history::*;
pub use keys::*;
pub use ledger::*;
pub use operations::*;
pub use proofs::*;
pub use receipts::*;
pub use snapshots::*;
pub use standing::*;
pub use status::*;
pub use values::*;
pub use version::*;
