//! Merkle proofs over the ledger's transaction tree (RFC 9162 §2.1.3–2.1.4): an inclusion proof shows that
//! a transaction is the leaf at an index of a tree of some size; a consistency proof shows that a tree of
//! one size is a prefix of a tree of a larger size. Verifying either needs only the proof, the leaf or the
//! two roots, and nothing of the ledger.
//!
//! Verification follows the RFC's algorithms step by step and checks every element: a proof whose length
//! is not exactly the one its index and sizes call for is refused, as is any element that does not lead
//! to the expected root. Generation takes subtree roots from a [`TreeHashes`] source: any slice of leaf
//! hashes (which recomputes subtrees), or stored interior nodes.
//!
//! ```
//! use healthchain::merkle::{leaf_hash, root_of};
//! use healthchain::proof::{ConsistencyProof, InclusionProof};
//!
//! let leaves: Vec<_> = (0u8..10).map(|i| leaf_hash(&[i])).collect();
//! let (root_7, root_10) = (root_of(&leaves[..7]), root_of(&leaves));
//!
//! // Leaf 3 is in the tree of 10 leaves; the tree of 7 is a prefix of the tree of 10.
//! let inclusion = InclusionProof::generate(leaves.as_slice(), 3, 10)?;
//! inclusion.verify(&leaves[3], &root_10)?;
//! let consistency = ConsistencyProof::generate(leaves.as_slice(), 7, 10)?;
//! consistency.verify(&root_7, &root_10)?;
//! assert!(consistency.verify(&root_10, &root_7).is_err());
//! # Ok::<(), healthchain::ProofError>(())
//! ```

mod consistency;
mod inclusion;

pub use consistency::ConsistencyProof;
pub use inclusion::InclusionProof;

use crate::hash::Hash256;
use crate::merkle::root_of;

/// The largest number of elements any proof of a tree of at most 2^64 leaves can hold: an inclusion proof
/// has at most 64, a consistency proof at most 2 × 64.
pub const MAX_PROOF_ELEMENTS: usize = 128;

/// Why a proof is refused, or could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not in a tree of {size} leaves")]
    IndexBeyondSize {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof needs `0 < old size ≤ new size` (from the empty tree it would prove nothing).
    #[error("no consistency proof from a tree of {old} leaves to one of {new}")]
    BadSizes {
        /// The older tree's size.
        old: u64,
        /// The newer tree's size.
        new: u64,
    },
    /// The proof has more or fewer elements than its index and sizes call for.
    #[error("the proof has {have} elements, {want} were expected")]
    WrongLength {
        /// Elements given.
        have: usize,
        /// Elements expected.
        want: usize,
    },
    /// The proof leads to another root than the one it is checked against.
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    /// A subtree needed to make a proof is not available from the source.
    #[error("subtree [{start}, {end}) is not available")]
    Unavailable {
        /// First leaf of the subtree.
        start: u64,
        /// One past its last leaf.
        end: u64,
    },
}

/// Where proof generation reads subtree roots from.
pub trait TreeHashes {
    /// The Merkle tree hash of the leaves `[start, end)` (`start < end`), or
    /// [`ProofError::Unavailable`]. Generation asks only for subtrees that RFC 9162 names: perfect subtrees
    /// aligned on their size, and subtrees that end at the tree's size.
    fn subtree_root(&self, start: u64, end: u64) -> Result<Hash256, ProofError>;
}

/// A slice of leaf hashes, in order: every subtree root recomputed from its leaves (O(n) hashes per proof;
/// a reference, and the way for small trees).
impl TreeHashes for [Hash256] {
    fn subtree_root(&self, start: u64, end: u64) -> Result<Hash256, ProofError> {
        let range = usize::try_from(start).ok().zip(usize::try_from(end).ok()).filter(|(s, e)| s < e);
        range.and_then(|(s, e)| self.get(s..e)).map(root_of).ok_or(ProofError::Unavailable { start, end })
    }
}

/// The largest power of two strictly less than `n`: where RFC 9162 splits a tree of `n ≥ 2` leaves (0 for
/// `n ≤ 1`, which has no split).
fn split(n: u64) -> u64 {
    n.saturating_sub(1).checked_ilog2().map_or(0, |log| 1u64 << log)
}

/// Shifts `a` and `b` right together, `times` times (64 or more leave 0).
fn shift(a: &mut u64, b: &mut u64, times: u32) {
    *a = a.checked_shr(times).unwrap_or(0);
    *b = b.checked_shr(times).unwrap_or(0);
}
