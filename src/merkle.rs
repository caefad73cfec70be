//! RFC 9162 (section 2.1) / RFC 6962 Merkle tree hashes, and an append-only tree that keeps only its
//! frontier (the roots of its perfect subtrees), so it never stores the leaves themselves.

use crate::hash::{Hash256, sha256};

/// The hash of a leaf: SHA-256(0x00 ‖ `data`).
pub fn leaf_hash(data: &[u8]) -> Hash256 {
    sha256(&[&[0x00], data])
}

/// The hash of an interior node: SHA-256(0x01 ‖ `left` ‖ `right`).
pub fn node_hash(left: &Hash256, right: &Hash256) -> Hash256 {
    sha256(&[&[0x01], &left.0, &right.0])
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash256 {
    sha256(&[])
}

/// The Merkle tree hash (MTH) of `leaf_hashes`, straight from the recursive definition: a tree of
/// `n > 1` leaves splits at the largest power of two strictly less than `n`. The last leaf is never
/// duplicated.
pub fn root_of(leaf_hashes: &[Hash256]) -> Hash256 {
    match leaf_hashes {
        [] => empty_root(),
        [single] => *single,
        _ => {
            let n = leaf_hashes.len();
            // n >= 2, so n - 1 >= 1 and the split point k satisfies 1 <= k < n.
            let k = (n - 1).checked_ilog2().map_or(1, |log| 1usize << log);
            match leaf_hashes.split_at_checked(k) {
                Some((left, right)) => node_hash(&root_of(left), &root_of(right)),
                None => empty_root(),
            }
        }
    }
}

/// An append-only Merkle tree that stores only its frontier: the roots of the perfect subtrees that
/// make up its leaves, largest (leftmost) first, one per set bit of its size, so O(log n) hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MerkleTree {
    /// Roots of the perfect subtrees, left to right; subtree sizes are the set bits of `size`, descending.
    frontier: Vec<Hash256>,
    /// Number of leaves appended so far.
    size: u64,
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf, given as its [`leaf_hash`]. Amortized O(1) node hashes.
    pub fn push(&mut self, leaf_hash: Hash256) {
        // Like a binary increment: each trailing one bit of the old size is a perfect subtree of the
        // same size as the carry, and merges with it.
        let mut node = leaf_hash;
        let mut carries = self.size;
        while carries & 1 == 1 {
            match self.frontier.pop() {
                Some(left) => node = node_hash(&left, &node),
                None => break,
            }
            carries >>= 1;
        }
        self.frontier.push(node);
        self.size = self.size.saturating_add(1);
    }

    /// The current root (equal to [`root_of`] over every leaf appended). O(log n) node hashes.
    pub fn root(&self) -> Hash256 {
        // Folding from the right reproduces MTH: the leftmost perfect subtree is always the largest
        // power of two strictly less than the number of leaves it and those right of it cover.
        self.frontier.iter().rev().copied().reduce(|right, left| node_hash(&left, &right)).unwrap_or_else(empty_root)
    }

    /// The roots of the perfect subtrees, largest (leftmost) first: one per set bit of the size.
    pub fn frontier(&self) -> &[Hash256] {
        &self.frontier
    }

    /// The tree of `size` leaves whose frontier is `frontier` ([`MerkleTree::frontier`]'s hashes); `None`
    /// unless there is one hash per set bit of `size`.
    pub fn from_frontier(size: u64, frontier: Vec<Hash256>) -> Option<Self> {
        (frontier.len() == size.count_ones() as usize).then_some(Self { frontier, size })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Leaves of the RFC 6962 test vectors used by certificate-transparency.
    const LEAVES: [&[u8]; 8] = [
        b"",
        &[0x00],
        &[0x10],
        &[0x20, 0x21],
        &[0x30, 0x31],
        &[0x40, 0x41, 0x42, 0x43],
        &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        &[0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
    ];

    /// Expected roots for tree sizes 1..=8.
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn rfc6962_reference_vectors() {
        assert_eq!(empty_root().to_hex(), EMPTY);
        assert_eq!(root_of(&[]).to_hex(), EMPTY);
        assert_eq!(MerkleTree::new().root().to_hex(), EMPTY);

        let hashes: Vec<Hash256> = LEAVES.iter().map(|data| leaf_hash(data)).collect();
        let mut tree = MerkleTree::new();
        for (i, (hash, expected)) in hashes.iter().zip(ROOTS).enumerate() {
            tree.push(*hash);
            assert_eq!(root_of(&hashes[..=i]).to_hex(), expected, "root_of, size {}", i + 1);
            assert_eq!(tree.root().to_hex(), expected, "MerkleTree, size {}", i + 1);
            assert_eq!(tree.size(), i as u64 + 1);
        }
    }

    #[test]
    fn never_duplicates_the_last_leaf() {
        let [a, b, c] = [b"a", b"b", b"c"].map(|data| leaf_hash(data));
        assert_ne!(root_of(&[a, b, c]), root_of(&[a, b, c, c]));
        let mut tree = MerkleTree::new();
        [a, b, c].into_iter().for_each(|leaf| tree.push(leaf));
        assert_eq!(tree.root(), node_hash(&node_hash(&a, &b), &c));
    }

    proptest! {
        #[test]
        fn incremental_root_matches_reference(
            leaves in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..16), 0..300)
        ) {
            let mut tree = MerkleTree::new();
            let mut hashes = Vec::with_capacity(leaves.len());
            prop_assert_eq!(tree.root(), root_of(&hashes));
            for data in &leaves {
                let hash = leaf_hash(data);
                hashes.push(hash);
                tree.push(hash);
                prop_assert_eq!(tree.root(), root_of(&hashes));
                prop_assert_eq!(tree.size(), hashes.len() as u64);
                prop_assert_eq!(tree.frontier.len() as u32, tree.size().count_ones());
            }
        }
    }
}
