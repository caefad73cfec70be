//! The variants of `LedgerError`, the user-facing error, each produced by a real scenario somewhere.
//!
//! `LedgerError` (like `BlockError` and `StoreError` under it) is `#[non_exhaustive]`, so a test outside the
//! crate cannot match it exhaustively. The exhaustive checks live in the crate: `variant_tests` in
//! `src/replay.rs` produces every `BlockError`, and `variant_tests` in `src/store/file.rs` every
//! `StoreError`. The variants of `LedgerError` itself are already driven, and asserted by name, elsewhere;
//! this file adds only the one that no suite produced from real input:
//!
//! - `Tx`, `Store`, `Corrupt`, `Poisoned`, `StoreNotEmpty`, `StoreEmpty`, `KeyNotActive`, `StaleProposal`,
//!   `NothingToSeal`, `UnknownKey`, `NotEnoughSealers`, `InvalidSettings`: `capi/tests/no_leakage.rs` (its final
//!   `require`), most of them also `tests/ledger_flow.rs`;
//! - `NotACopy`: `tests/ledger_flow.rs` (`Ledger::fork_onto`);
//! - `Proof`, `Checkpoint`, `NotSealed`, `ForeignCheckpoint`, `NoCheckpoint`, `CarriedCheckpoints`,
//!   `BrokenCheckpoint`, `TreeMismatch`: `tests/ledger_proofs.rs`;
//! - `History`: `tests/access_history.rs`; `Snapshot`: `tests/snapshots.rs` (`Unsealed`) and
//!   `src/snapshot/tests.rs` (`NoPlace`);
//! - `BlockFull`: here (`capi/tests/no_leakage.rs` only constructs it);
//! - `Check`: no library call returns it (the consent queries return `CheckError` itself); it exists for
//!   callers' `?`, and `capi/tests/no_leakage.rs` converts `CheckError`s into it;
//! - `Key`: only `KeyError::NoRandomness` reaches it, when the operating system's random source fails while
//!   drawing a genesis nonce; a test cannot provoke that (`capi/tests/no_leakage.rs` constructs it).

mod support;

use healthchain::block::MAX_BLOCK_BYTES;
use healthchain::*;
use support::*;

/// A denial, for every provider, of 64 sections for 64 purposes, each code 32 characters long: about the
/// largest transaction a patient signs (over 4 KiB). Denials are never refused as already covered, so the
/// same one may be filed again and again.
fn wide_denial(net: &Net) -> ConsentGrant {
    let codes = |prefix: char| {
        let texts: Vec<String> = (0..64).map(|i| format!("{prefix}{i:031}")).collect();
        CodeSet::parse(texts.iter().map(String::as_str)).unwrap()
    };
    ConsentGrant {
        patient: net.patient,
        grantee: Grantee::Role(Role::Provider),
        effect: Effect::Deny,
        sections: codes('s'),
        purposes: codes('p'),
        actions: Actions::READ,
        window: Window { not_before: net.ledger.now(), not_after: None },
        exceptions: Vec::new(),
    }
}

#[test]
fn a_full_block_is_refused_exactly_at_the_limit_and_changes_nothing() {
    let mut net = network();
    let grant = wide_denial(&net);
    let tx = net.ledger.prepare(net.patient, Payload::GrantConsent(grant.clone())).sign(&net.patient_key);
    let tx_len = tx.to_bytes().len();
    assert!(tx_len > 4096, "{tx_len} bytes");
    // Every grant encodes to the same length (only the sequence number changes): a block takes `fits` of them,
    // each with its 4-byte length prefix.
    let fits = MAX_BLOCK_BYTES / (tx_len + 4);
    for i in 0..fits {
        let granted = net.ledger.grant_consent(&net.patient_key, grant.clone());
        assert!(granted.is_ok(), "grant {i} of {fits}: {granted:?}");
    }
    let refused = net.ledger.grant_consent(&net.patient_key, grant.clone());
    assert!(matches!(refused, Err(LedgerError::BlockFull)), "{refused:?}");

    // The refusal queued nothing; the full block seals and verifies; the grant then fits in the next block.
    assert_eq!(net.ledger.pending().len(), fits);
    let pending_bytes: usize = net.ledger.pending().iter().map(|tx| tx.to_bytes().len() + 4).sum();
    assert_eq!(pending_bytes, fits * (tx_len + 4));
    net.ledger.seal(&[&net.hospital]).unwrap();
    assert_eq!((net.ledger.block_count(), net.ledger.pending().len()), (3, 0));
    let report = net.ledger.verify();
    assert!(report.is_valid(), "{:?}", report.failure);
    assert_eq!(net.ledger.consents_of(&net.patient).len(), fits);
    net.ledger.grant_consent(&net.patient_key, wide_denial(&net)).unwrap();
    assert_eq!(net.ledger.pending().len(), 1);
}
