//! Consistency proofs: a tree of one size is a prefix of a tree of a larger size (RFC 9162 §2.1.4), so
//! nothing in the older tree was changed or removed when the newer one grew from it.

use super::{ProofError, TreeHashes, shift, split};
use crate::hash::Hash256;
use crate::merkle::node_hash;

/// The proof that the tree of `old_size` leaves is a prefix of the tree of `new_size` leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The older tree's size.
    pub old_size: u64,
    /// The newer tree's size.
    pub new_size: u64,
    /// Subtree roots, as RFC 9162's `consistency_path` lists them.
    pub path: Vec<Hash256>,
}

impl ConsistencyProof {
    /// The proof from the first `old_size` leaves of `tree` to its first `new_size` (RFC 9162 §2.1.4.1,
    /// `PROOF(m, D[n])`; empty when the sizes are equal).
    pub fn generate(tree: &(impl TreeHashes + ?Sized), old_size: u64, new_size: u64) -> Result<Self, ProofError> {
        if old_size == 0 || old_size > new_size {
            return Err(ProofError::BadSizes { old: old_size, new: new_size });
        }
        // SUBPROOF(m, D[start:end], b), iteratively: descend towards the old tree's edge, collecting the
        // other halves root first.
        let mut path = Vec::new();
        let (mut m, mut start, mut end, mut whole) = (old_size, 0, new_size, true);
        while m < end - start {
            let k = split(end - start);
            if m <= k {
                path.push(tree.subtree_root(start + k, end)?);
                end = start + k;
            } else {
                path.push(tree.subtree_root(start, start + k)?);
                start += k;
                m -= k;
                whole = false;
            }
        }
        if !whole {
            // m == end - start: the old tree's last subtree is a node of the new tree; the verifier needs it.
            path.push(tree.subtree_root(start, end)?);
        }
        path.reverse();
        Ok(Self { old_size, new_size, path })
    }

    /// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
    /// `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
    pub fn verify(&self, old_root: &Hash256, new_root: &Hash256) -> Result<(), ProofError> {
        let (old, new) = (self.old_size, self.new_size);
        if old == 0 || old > new {
            return Err(ProofError::BadSizes { old, new });
        }
        let want = expected_length(old, new);
        if self.path.len() != want {
            return Err(ProofError::WrongLength { have: self.path.len(), want });
        }
        if old == new {
            return if old_root == new_root { Ok(()) } else { Err(ProofError::RootMismatch) };
        }
        // 2. If the old size is an exact power of two, its root is the first element.
        let mut path = self.path.iter();
        let first = if old.is_power_of_two() { old_root } else { path.next().ok_or(ProofError::RootMismatch)? };
        // 3–4. fn = old - 1, sn = new - 1, then skip the levels where fn's node is a right child.
        let (mut fn_, mut sn) = (old - 1, new - 1);
        let ones = fn_.trailing_ones();
        shift(&mut fn_, &mut sn, ones);
        // 5–6.
        let (mut fr, mut sr) = (*first, *first);
        for c in path {
            if sn == 0 {
                return Err(ProofError::WrongLength { have: self.path.len(), want });
            }
            if fn_ & 1 == 1 || fn_ == sn {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
                if fn_ & 1 == 0 && fn_ != 0 {
                    let zeros = fn_.trailing_zeros();
                    shift(&mut fn_, &mut sn, zeros);
                }
            } else {
                sr = node_hash(&sr, c);
            }
            shift(&mut fn_, &mut sn, 1);
        }
        // 7.
        if sn != 0 {
            return Err(ProofError::WrongLength { have: self.path.len(), want });
        }
        if fr == *old_root && sr == *new_root { Ok(()) } else { Err(ProofError::RootMismatch) }
    }
}

/// The length of the consistency proof between trees of `old` and `new` leaves (`0 < old ≤ new`).
fn expected_length(old: u64, new: u64) -> usize {
    if old == new {
        return 0;
    }
    // As for the audit path of the old tree's last leaf in the new tree, less the levels inside the old
    // tree's last complete subtree (whose root stands for them), plus that root itself unless the old tree
    // is a power of two (then the verifier holds it: it is the old root).
    let inner = u64::BITS - ((old - 1) ^ (new - 1)).leading_zeros();
    let border = (old - 1).checked_shr(inner).unwrap_or(0).count_ones();
    let start = u32::from(!old.is_power_of_two());
    (start + inner.saturating_sub(old.trailing_zeros()) + border) as usize
}
