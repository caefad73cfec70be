//! Inclusion proofs: the leaf at an index is part of a tree of a given size (RFC 9162 §2.1.3).

use super::{ProofError, TreeHashes, shift, split};
use crate::hash::Hash256;
use crate::merkle::node_hash;

/// The audit path of one leaf in a tree: the sibling subtree roots from the leaf up to the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// The leaf's index, from 0.
    pub index: u64,
    /// The size of the tree the proof is for.
    pub tree_size: u64,
    /// Sibling subtree roots, leaf first (RFC 9162's `inclusion_path`).
    pub path: Vec<Hash256>,
}

impl InclusionProof {
    /// The proof for leaf `index` in the tree of the first `tree_size` leaves of `tree` (RFC 9162
    /// §2.1.3.1, `PATH(m, D[n])`).
    pub fn generate(tree: &(impl TreeHashes + ?Sized), index: u64, tree_size: u64) -> Result<Self, ProofError> {
        if index >= tree_size {
            return Err(ProofError::IndexBeyondSize { index, size: tree_size });
        }
        // Walk from the root down to the leaf; each step adds the other half's root. Collected root
        // first, returned leaf first.
        let mut path = Vec::new();
        let (mut start, mut end) = (0, tree_size);
        while end - start > 1 {
            let middle = start + split(end - start);
            if index < middle {
                path.push(tree.subtree_root(middle, end)?);
                end = middle;
            } else {
                path.push(tree.subtree_root(start, middle)?);
                start = middle;
            }
        }
        path.reverse();
        Ok(Self { index, tree_size, path })
    }

    /// The root this proof leads to from `leaf_hash` (RFC 9162 §2.1.3.2, steps 1–5 without the final
    /// comparison), if the proof has exactly the length its index and size call for.
    pub fn root_from(&self, leaf_hash: &Hash256) -> Result<Hash256, ProofError> {
        let (index, size) = (self.index, self.tree_size);
        if index >= size {
            return Err(ProofError::IndexBeyondSize { index, size });
        }
        let want = expected_length(index, size);
        if self.path.len() != want {
            return Err(ProofError::WrongLength { have: self.path.len(), want });
        }
        let (mut fn_, mut sn) = (index, size - 1);
        let mut r = *leaf_hash;
        for p in &self.path {
            if sn == 0 {
                return Err(ProofError::WrongLength { have: self.path.len(), want });
            }
            if fn_ & 1 == 1 || fn_ == sn {
                r = node_hash(p, &r);
                if fn_ & 1 == 0 {
                    // fn_ == sn here, and fn_ > 0 (else sn would be 0): skip the levels where this node
                    // has no right sibling.
                    let zeros = fn_.trailing_zeros();
                    shift(&mut fn_, &mut sn, zeros);
                }
            } else {
                r = node_hash(&r, p);
            }
            shift(&mut fn_, &mut sn, 1);
        }
        if sn != 0 {
            return Err(ProofError::WrongLength { have: self.path.len(), want });
        }
        Ok(r)
    }

    /// Checks that the leaf with hash `leaf_hash` is at `index` in the tree of `tree_size` leaves whose
    /// root is `root`.
    pub fn verify(&self, leaf_hash: &Hash256, root: &Hash256) -> Result<(), ProofError> {
        if self.root_from(leaf_hash)? == *root { Ok(()) } else { Err(ProofError::RootMismatch) }
    }
}

/// The length of the audit path of leaf `index` in a tree of `size` leaves (`index < size`): one element
/// per level where the leaf's ancestor has a sibling.
fn expected_length(index: u64, size: u64) -> usize {
    let last = size - 1;
    // Levels below the point where the paths to `index` and to the last leaf part, each with a sibling;
    // above it, the levels where the last leaf's ancestor is a right child.
    let inner = u64::BITS - (index ^ last).leading_zeros();
    // `inner` reaches 64 when the index and the last leaf differ in the top bit.
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}
