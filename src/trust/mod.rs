//! A ledger measured against checkpoints one trusts (received earlier, from the ledger's authorities,
//! perhaps cosigned by witnesses): does it still hold each checkpoint's tree, or was it cut, rolled back
//! or forked since?
//!
//! A verifier that once accepted a checkpoint of size `n` and root `r` must never accept a ledger that goes
//! back on it: a ledger of fewer than `n` transactions was cut or rolled back ([`Standing::Truncated`]); a
//! ledger whose first `n` transactions give another root is a fork, a rewritten history
//! ([`Standing::Forked`], with the evidence: the two roots, both vouched for — one by the checkpoint's
//! signatures, the other by the seals of the block that covers size `n`).

use crate::checkpoint::{Checkpoint, CheckpointPolicy, NoteVerifier, origin_of};
use crate::hash::{Hash256, sha256};
use crate::ids::BlockHash;
use crate::replay::{EncodedBlock, Replayer, VerifyReport, replay_blocks, sealing_key};
use crate::snapshot::SnapshotClaim;
use crate::state::View;

/// Where a ledger stands against one trusted checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Standing {
    /// The ledger holds the checkpoint's tree (the same root at its size), and may have grown since.
    Extends {
        /// The checkpoint's tree size.
        checkpoint_size: u64,
        /// The ledger's.
        ledger_size: u64,
    },
    /// The ledger holds fewer transactions than the checkpoint: cut, or rolled back to an earlier state.
    Truncated {
        /// The checkpoint's tree size.
        checkpoint_size: u64,
        /// The ledger's.
        ledger_size: u64,
    },
    /// The ledger's first `size` transactions give another root than the checkpoint's: a fork.
    Forked(Fork),
    /// The checkpoint is of another ledger (its origin names another chain id).
    OtherLedger {
        /// The checkpoint's origin.
        origin: String,
    },
    /// Verification failed before the ledger reached the checkpoint's size: nothing is known.
    NotReached {
        /// The checkpoint's tree size.
        checkpoint_size: u64,
        /// The size of the part that verified.
        verified_size: u64,
    },
}

impl std::fmt::Display for Standing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Extends { checkpoint_size, ledger_size } => {
                write!(f, "holds the checkpoint's tree of {checkpoint_size} (now {ledger_size})")
            }
            Self::Truncated { checkpoint_size, ledger_size } => {
                write!(f, "truncated: {ledger_size} transactions, the checkpoint has {checkpoint_size}")
            }
            Self::Forked(fork) => write!(
                f,
                "forked: another root at tree size {} (checkpoint {}, ledger {}, block {})",
                fork.size, fork.checkpoint_root, fork.ledger_root, fork.block
            ),
            Self::OtherLedger { origin } => write!(f, "the checkpoint is of another ledger ({origin})"),
            Self::NotReached { checkpoint_size, verified_size } => {
                write!(f, "not reached: verification failed at tree size {verified_size} of {checkpoint_size}")
            }
        }
    }
}

impl Standing {
    /// Whether the ledger keeps the checkpoint's promise.
    pub fn is_kept(&self) -> bool {
        matches!(self, Self::Extends { .. })
    }
}

/// Evidence of a fork: two roots for one tree size, the checkpoint's and the one the ledger's sealed
/// blocks give.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Fork {
    /// The tree size.
    pub size: u64,
    /// The root the checkpoint states.
    pub checkpoint_root: Hash256,
    /// The root of the ledger's first `size` transactions.
    pub ledger_root: Hash256,
    /// Height of the ledger's first block whose tree holds `size` transactions (its seals vouch for the
    /// ledger's tree, whose prefix of `size` leaves has `ledger_root`).
    pub block: u64,
    /// That block's hash.
    pub block_hash: BlockHash,
}

/// A full verification measured against trusted checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measured {
    /// The verification, as [`crate::replay::verify_blocks`] reports it.
    pub report: VerifyReport,
    /// One standing per checkpoint, in the order given.
    pub standings: Vec<Standing>,
    /// The policy that accepts the verified ledger's own checkpoints: its authorities active after the last
    /// block that verified, at least its seal threshold of them, no witness (add those one trusts).
    pub policy: CheckpointPolicy,
}

/// The policy that accepts checkpoints of the ledger `origin` signed by at least `threshold` of the
/// authorities active in `view`, with no witness.
pub(crate) fn authorities_policy(view: &View<'_>, origin: &str, threshold: usize) -> CheckpointPolicy {
    let authorities = view
        .actors()
        .iter()
        .filter_map(|actor| sealing_key(view, &actor.id))
        .filter_map(|key| NoteVerifier::new(origin, key).ok())
        .collect();
    CheckpointPolicy { authorities, authority_threshold: threshold, witnesses: Vec::new(), witness_threshold: 0 }
}

/// Where the ledger stands against `checkpoint`, given the ledger's origin and size, its root at the
/// checkpoint's size (when it holds that many), and the block that covers that size.
pub fn standing(
    checkpoint: &Checkpoint,
    origin: &str,
    ledger_size: u64,
    root_at_size: impl FnOnce() -> Option<(Hash256, u64, BlockHash)>,
) -> Standing {
    let checkpoint_size = checkpoint.size;
    if checkpoint.origin != origin {
        return Standing::OtherLedger { origin: checkpoint.origin.clone() };
    }
    if checkpoint_size > ledger_size {
        return Standing::Truncated { checkpoint_size, ledger_size };
    }
    match root_at_size() {
        Some((root, _, _)) if root == checkpoint.root => Standing::Extends { checkpoint_size, ledger_size },
        Some((ledger_root, block, block_hash)) => Standing::Forked(Fork {
            size: checkpoint_size,
            checkpoint_root: checkpoint.root,
            ledger_root,
            block,
            block_hash,
        }),
        None => Standing::NotReached { checkpoint_size, verified_size: 0 },
    }
}

/// Verifies every block from genesis ([`crate::replay::verify_blocks`]) and measures the ledger against
/// each of `checkpoints` on the way: one [`Standing`] per checkpoint, in the order given, and the policy
/// of the ledger's own authorities (to check the checkpoints' signatures with, when one trusts no other
/// keys).
///
/// ```
/// use healthchain::*;
/// use healthchain::trust::{Standing, verify_blocks_against};
///
/// let hospital = SigningKey::generate()?;
/// let mut ledger = Ledger::create(MemoryStore::new(), Box::new(ManualClock::new(1_700_000_000_000)),
///                                 &LedgerSettings::new("trust-example"), &[&hospital])?;
/// ledger.register(&hospital, &SigningKey::generate()?, Role::Patient)?;
/// ledger.seal(&[&hospital])?;
/// let published = ledger.checkpoint(); // the tree of 2 transactions, as published
///
/// let blocks = ledger.store().blocks().to_vec();
/// let measured = verify_blocks_against(&blocks, &[published.clone()]);
/// assert!(measured.report.is_valid() && measured.standings[0].is_kept());
///
/// // The operator cuts the last block: still a valid chain, but it goes back on the checkpoint.
/// let measured = verify_blocks_against(&blocks[..1], &[published]);
/// assert!(measured.report.is_valid());
/// assert_eq!(measured.standings[0], Standing::Truncated { checkpoint_size: 2, ledger_size: 1 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_blocks_against<I>(blocks: I, checkpoints: &[Checkpoint]) -> Measured
where
    I: IntoIterator,
    I::Item: EncodedBlock,
{
    verify_file_against(blocks, checkpoints, &[])
}

/// [`verify_blocks_against`] for the blocks of a ledger file with state snapshots beside it
/// ([`crate::snapshot::claims_beside`]): a snapshot of a block the ledger holds must hold the state the blocks
/// give after it, since an open would start from it; else the report fails at its height with
/// [`crate::replay::BlockError::SnapshotMismatch`] (a snapshot of a block the ledger does not hold is stale,
/// and no open takes it up).
pub fn verify_file_against<I>(blocks: I, checkpoints: &[Checkpoint], snapshots: &[SnapshotClaim]) -> Measured
where
    I: IntoIterator,
    I::Item: EncodedBlock,
{
    // The ledger's root at each checkpoint's size, with the block that covers it, once reached.
    let mut roots: Vec<Option<(Hash256, u64, BlockHash)>> = vec![None; checkpoints.len()];
    let mut chain = None;
    // The first snapshot of one of the ledger's blocks that does not hold the state after it.
    let mut mismatch: Option<u64> = None;
    let (mut report, replayer) = replay_blocks(Replayer::new(), blocks, |before, replayer| {
        chain = Some(replayer.chain());
        let (Some(head), after) = (replayer.head(), replayer.tree().size()) else { return };
        let claimed = snapshots.iter().filter(|c| c.height == head.header.height && c.block == head.hash);
        for claim in claimed {
            let bytes = crate::snapshot::encode(&head.header, replayer.tree(), replayer.state());
            if mismatch.is_none() && sha256(&[&bytes]) != claim.digest {
                mismatch = Some(claim.height);
            }
        }
        for (checkpoint, root) in checkpoints.iter().zip(&mut roots) {
            let size = checkpoint.size;
            if root.is_some() || size > after {
                continue;
            }
            let mut tree = before.clone();
            let leaves = replayer.last_leaves().iter().take(usize::try_from(size - before.size()).unwrap_or(0));
            leaves.for_each(|(_, leaf)| tree.push(*leaf));
            *root = Some((tree.root(), head.header.height, head.hash));
        }
    });
    let origin = chain.map(|chain| origin_of(&chain)).unwrap_or_default();
    // Blocks at or after a failure may have been observed (signatures are checked behind the rules).
    let verified = |root: &Option<(Hash256, u64, BlockHash)>| root.filter(|(_, height, _)| *height < report.blocks);
    let standings = checkpoints
        .iter()
        .zip(roots.iter().map(verified))
        .map(|(checkpoint, root)| {
            if !report.is_valid() && root.is_none() && checkpoint.size > report.tree_size {
                return Standing::NotReached { checkpoint_size: checkpoint.size, verified_size: report.tree_size };
            }
            standing(checkpoint, &origin, report.tree_size, || root)
        })
        .collect();
    // The authorities as of the last block that verified (the replay may have gone further).
    let state = replayer.state();
    let policy = match report.blocks.checked_sub(1) {
        Some(last) if !report.is_valid() => authorities_policy(&state.as_of(last), &origin, state.seal_threshold()),
        Some(_) => authorities_policy(&state.latest(), &origin, state.seal_threshold()),
        None => authorities_policy(&crate::state::State::new().latest(), &origin, 0),
    };
    if let Some(height) = mismatch.filter(|h| report.failure.as_ref().is_none_or(|f| f.height > *h)) {
        let reason = crate::replay::BlockError::SnapshotMismatch;
        report.failure = Some(crate::replay::VerifyFailure { height, tx_index: None, reason });
    }
    Measured { report, standings, policy }
}
