//! # healthchain
//!
//! A tamper-evident, patient-controlled ledger of consent to and access of personal health data.
//!
//! Blocks are linked by SHA-256 hashes and sealed by the network's authorities; every transaction is
//! signed with ed25519 by its author; patients (or their delegates) grant and revoke consent; every
//! recorded access must be permitted by the consent rules at its time; and a full verification replays
//! every rule from genesis. The ledger holds no health data: only pseudonymous ids, codes and hash
//! commitments to off-ledger records. See `README.md`, `docs/DESIGN.md` and `docs/FORMAT.md`.
//!
//! ```
//! use healthchain::*;
//!
//! let clock = ManualClock::new(1_700_000_000_000);
//! let hospital = SigningKey::generate()?;
//! let mut ledger = Ledger::create(MemoryStore::new(), Box::new(clock.clone()),
//!                                 &LedgerSettings::new("example"), &[&hospital])?;
//! let patient_key = SigningKey::generate()?;
//! let doctor_key = SigningKey::generate()?;
//! let patient = ledger.register(&hospital, &patient_key, Role::Patient)?;
//! let doctor = ledger.register(&hospital, &doctor_key, Role::Provider)?;
//! let granted = ledger.grant_consent(&patient_key, ConsentGrant {
//!     patient, grantee: Grantee::Actor(doctor), effect: Effect::Permit,
//!     sections: CodeSet::parse(["labs"])?, purposes: CodeSet::parse(["TREAT"])?,
//!     actions: Actions::READ, window: Window { not_before: ledger.now(), not_after: None },
//!     exceptions: Vec::new(),
//! })?;
//! ledger.seal(&[&hospital])?;
//! let decision = ledger.check(&CheckRequest {
//!     patient, requester: doctor, section: Code::new("labs")?, purpose: Code::new("TREAT")?,
//!     action: Action::Read, at: ledger.now(),
//! })?;
//! assert_eq!(decision, Decision::Permit(PermitBasis::Consents(vec![granted.consent])));
//! assert!(ledger.verify().is_valid());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![deny(clippy::host_endian_bytes)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

/// For the error-variant tests (`variant_tests` in `replay.rs` and `store/file.rs`): generates `NAMES` and
/// `name` from one list of `pattern => "Name"` arms, so that the two cannot drift apart: the list is the
/// match (exhaustive, no wildcard), and `NAMES` holds one name per arm.
#[cfg(test)]
macro_rules! variant_names {
    ($enum:ty { $($pattern:pat => $name:literal),+ $(,)? }) => {
        /// One name per variant, in the order of the match in `name`.
        const NAMES: &[&str] = &[$($name),+];

        /// The variant's name.
        fn name(error: &$enum) -> &'static str {
            match error {
                $($pattern => $name),+
            }
        }
    };
}

pub mod accounting;
pub mod block;
pub mod checkpoint;
pub mod clock;
pub mod codec;
pub mod codes;
pub mod consent;
pub mod error;
pub mod fhir;
pub mod hash;
pub mod history;
pub mod ids;
pub mod keys;
pub mod ledger;
pub mod merkle;
pub mod proof;
pub mod receipt;
pub mod replay;
pub mod snapshot;
pub mod state;
pub mod store;
pub mod tiles;
pub mod trust;
pub mod tx;
pub mod workload;

// ---- public interface ----
pub use block::{Block, BlockHeader, Seal};
pub use checkpoint::{Checkpoint, CheckpointError, CheckpointPolicy, NoteVerifier, VerifiedCheckpoint};
pub use clock::{Clock, ManualClock, SystemClock};
pub use codec::{Decode, DecodeError, DecodeErrorKind, Encode};
pub use codes::{Action, Actions, Code, CodeError, CodeSet, Role};
pub use consent::{CheckRequest, Decision, DenyReason, PermitBasis};
pub use error::{CheckError, TxError};
pub use hash::Hash256;
pub use history::{HISTORY_MAGIC, History, HistoryError, history_path};
pub use ids::{AccessId, ActorId, BlockHash, ChainId, ConsentId, DelegationId, TxId};
pub use keys::{KeyError, PublicKey, Signature, SigningKey};
pub use ledger::{
    BlockProposal, DEFAULT_SNAPSHOT_INTERVAL, Granted, Ledger, LedgerError, LedgerSettings,
    SNAPSHOT_BYTES_PER_REPLAYED_TX, SealedBlock,
};
pub use merkle::MerkleTree;
pub use proof::{ConsistencyProof, InclusionProof, ProofError};
pub use replay::{BlockError, EncodedBlock, VerifyFailure, VerifyReport, verify_blocks};
pub use snapshot::{Snapshot, SnapshotClaim, SnapshotError, claims_beside, snapshots_dir};
pub use state::{Access, Actor, Anchor, Consent, Delegation, KeyEpoch, RefusedChange, Review, Stamp, State, View};
pub use store::{FileStore, LedgerFile, MemoryStore, OpenOptions, Recovery, Store, StoreError};
pub use tx::{
    AccessBasis, AnchorRecord, ConsentGrant, DelegationGrant, Effect, Exception, Genesis, GenesisParams, Grantee,
    Payload, Policy, RecordAccess, RegisterActor, RotateKey, Scopes, SignedTx, TxBody, Window,
};
