//! Merkle proofs as properties, over random trees of up to 2,000 leaves: every inclusion and consistency
//! proof that generation makes verifies; the RFC 9162 verifiers (iterative, bit by bit) agree with a
//! recursive model written from the definitions of the tree hash, for the true proof and for every
//! mutation of it; and every mutation is refused: a flipped bit in any element, the index or sizes moved
//! (±1, ×2, ÷2), elements removed, added or swapped, and the roots swapped.

use healthchain::hash::Hash256;
use healthchain::merkle::{leaf_hash, node_hash, root_of};
use healthchain::proof::{ConsistencyProof, InclusionProof};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Leaves that differ from one tree to the next.
fn leaves(n: u64, salt: u64) -> Vec<Hash256> {
    (0..n).map(|i| leaf_hash(&[salt.to_le_bytes(), i.to_le_bytes()].concat())).collect()
}

/// The largest power of two strictly less than `n ≥ 2`.
fn split(n: u64) -> u64 {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The model of inclusion: the root that `path` (leaf first) leads to from `leaf` at `index` in a tree of
/// `size` leaves, following the recursive definition (the last element is the sibling at the top), or
/// `None` if the path has not exactly the elements the shape needs.
fn model_inclusion_root(index: u64, size: u64, leaf: Hash256, path: &[Hash256]) -> Option<Hash256> {
    if index >= size {
        return None;
    }
    if size == 1 {
        return path.is_empty().then_some(leaf);
    }
    let (sibling, below) = path.split_last()?;
    let k = split(size);
    Some(if index < k {
        node_hash(&model_inclusion_root(index, k, leaf, below)?, sibling)
    } else {
        node_hash(sibling, &model_inclusion_root(index - k, size - k, leaf, below)?)
    })
}

/// The model of consistency: the (old root, new root) pair that `path` leads to for trees of `old` ≤ `new`
/// leaves, by the recursive definition of SUBPROOF; `whole` says the old tree is this whole subtree (its
/// root is then the given `old_root`, not a path element).
fn model_consistency_roots(
    old: u64,
    new: u64,
    path: &[Hash256],
    whole: bool,
    old_root: Hash256,
) -> Option<(Hash256, Hash256)> {
    if old == new {
        return if whole {
            path.is_empty().then_some((old_root, old_root))
        } else {
            match path {
                [node] => Some((*node, *node)),
                _ => None,
            }
        };
    }
    let (last, rest) = path.split_last()?;
    let k = split(new);
    if old <= k {
        let (o, n) = model_consistency_roots(old, k, rest, whole, old_root)?;
        Some((o, node_hash(&n, last)))
    } else {
        let (o, n) = model_consistency_roots(old - k, new - k, rest, false, old_root)?;
        Some((node_hash(last, &o), node_hash(last, &n)))
    }
}

/// Every proof derived from `path` by one change: each bit of each element flipped, an element removed,
/// one added at each end, two neighbours swapped.
fn mutated_paths(path: &[Hash256]) -> Vec<Vec<Hash256>> {
    let mut all = Vec::new();
    for i in 0..path.len() {
        for bit in 0..256 {
            let mut flipped = path.to_vec();
            flipped[i].0[bit / 8] ^= 1 << (bit % 8);
            all.push(flipped);
        }
        let mut removed = path.to_vec();
        removed.remove(i);
        all.push(removed);
        if i + 1 < path.len() && path[i] != path[i + 1] {
            let mut swapped = path.to_vec();
            swapped.swap(i, i + 1);
            all.push(swapped);
        }
    }
    let extra = leaf_hash(b"extra");
    all.push([path, &[extra]].concat());
    all.push([&[extra], path].concat());
    all
}

/// Sizes and indexes near `x`: ±1, ×2, ÷2.
fn near(x: u64) -> Vec<u64> {
    [x.wrapping_sub(1), x + 1, x * 2, x / 2].into_iter().filter(|&y| y != x && y <= 4100).collect()
}

proptest! {
    #![proptest_config(Config { cases: 96, failure_persistence: None, ..Config::default() })]

    #[test]
    fn inclusion_proofs_verify_and_every_mutation_fails(n in 1u64..=2000, pick in any::<u64>(), salt in any::<u64>()) {
        let tree = leaves(n, salt);
        let index = pick % n;
        let root = root_of(&tree);
        let leaf = tree[index as usize];
        let proof = InclusionProof::generate(tree.as_slice(), index, n).unwrap();
        prop_assert_eq!(proof.verify(&leaf, &root), Ok(()));
        prop_assert_eq!(model_inclusion_root(index, n, leaf, &proof.path), Some(root));

        // The verifier and the model agree on every variant, and none but the true proof leads to the root.
        let mut variants: Vec<InclusionProof> = mutated_paths(&proof.path)
            .into_iter()
            .map(|path| InclusionProof { path, ..proof.clone() })
            .collect();
        variants.extend(near(index).into_iter().map(|index| InclusionProof { index, ..proof.clone() }));
        variants.extend(near(n).into_iter().map(|tree_size| InclusionProof { tree_size, ..proof.clone() }));
        for variant in &variants {
            let computed = variant.root_from(&leaf).ok();
            prop_assert_eq!(computed, model_inclusion_root(variant.index, variant.tree_size, leaf, &variant.path));
            if variant.index != index || variant.path != proof.path {
                prop_assert!(variant.verify(&leaf, &root).is_err(), "{:?} verifies", variant);
            }
        }
        // Another leaf, or another root, never verifies.
        prop_assert!(proof.verify(&leaf_hash(b"not a leaf"), &root).is_err());
        prop_assert!(proof.verify(&leaf, &leaf_hash(b"not a root")).is_err());
    }

    #[test]
    fn consistency_proofs_verify_and_every_mutation_fails(n in 1u64..=2000, pick in any::<u64>(), salt in any::<u64>()) {
        let tree = leaves(n, salt);
        let m = 1 + pick % n;
        let (old_root, new_root) = (root_of(&tree[..m as usize]), root_of(&tree));
        let proof = ConsistencyProof::generate(tree.as_slice(), m, n).unwrap();
        prop_assert_eq!(proof.verify(&old_root, &new_root), Ok(()));
        prop_assert_eq!(model_consistency_roots(m, n, &proof.path, true, old_root), Some((old_root, new_root)));

        let mut variants: Vec<ConsistencyProof> = mutated_paths(&proof.path)
            .into_iter()
            .map(|path| ConsistencyProof { path, ..proof.clone() })
            .collect();
        variants.extend(near(m).into_iter().map(|old_size| ConsistencyProof { old_size, ..proof.clone() }));
        variants.extend(near(n).into_iter().map(|new_size| ConsistencyProof { new_size, ..proof.clone() }));
        for variant in &variants {
            let (old, new) = (variant.old_size, variant.new_size);
            let model = (old > 0 && old <= new)
                .then(|| model_consistency_roots(old, new, &variant.path, true, old_root))
                .flatten();
            prop_assert_eq!(variant.verify(&old_root, &new_root).is_ok(), model == Some((old_root, new_root)), "{:?}", variant);
            if variant.path != proof.path {
                prop_assert!(variant.verify(&old_root, &new_root).is_err(), "{:?} verifies", variant);
            }
        }
        if old_root != new_root {
            prop_assert!(proof.verify(&new_root, &old_root).is_err(), "swapped roots verify");
        }
    }
}

#[test]
fn every_proof_of_every_small_tree() {
    // Exhaustively for trees of up to 64 leaves: every index, every pair of sizes.
    let tree = leaves(64, 7);
    for n in 1..=64u64 {
        let root = root_of(&tree[..n as usize]);
        for index in 0..n {
            let proof = InclusionProof::generate(tree.as_slice(), index, n).unwrap();
            assert_eq!(proof.verify(&tree[index as usize], &root), Ok(()), "inclusion of {index} in {n}");
            assert_eq!(model_inclusion_root(index, n, tree[index as usize], &proof.path), Some(root));
        }
        for m in 1..=n {
            let old_root = root_of(&tree[..m as usize]);
            let proof = ConsistencyProof::generate(tree.as_slice(), m, n).unwrap();
            assert_eq!(proof.verify(&old_root, &root), Ok(()), "consistency of {m} with {n}");
            assert_eq!(model_consistency_roots(m, n, &proof.path, true, old_root), Some((old_root, root)));
        }
    }
    // Out of range: refused, never a panic.
    assert!(InclusionProof::generate(tree.as_slice(), 64, 64).is_err());
    assert!(InclusionProof::generate(tree.as_slice(), 0, 65).is_err());
    assert!(ConsistencyProof::generate(tree.as_slice(), 0, 5).is_err());
    assert!(ConsistencyProof::generate(tree.as_slice(), 6, 5).is_err());
    let huge = InclusionProof { index: u64::MAX - 1, tree_size: u64::MAX, path: vec![tree[0]; 64] };
    assert!(huge.verify(&tree[0], &tree[1]).is_err());
    let huge = ConsistencyProof { old_size: u64::MAX - 1, new_size: u64::MAX, path: vec![tree[0]; 128] };
    assert!(huge.verify(&tree[0], &tree[1]).is_err());
    // Regression (found by the `checkpoint` fuzz target): an index and a last leaf that differ in the top
    // bit made the expected length shift by 64.
    for (index, size) in [(0, u64::MAX), (1, 1 << 63 | 1), ((1 << 63) - 1, u64::MAX)] {
        for len in [0, 63, 64, 65] {
            let proof = InclusionProof { index, tree_size: size, path: vec![tree[0]; len] };
            assert!(proof.verify(&tree[0], &tree[1]).is_err());
        }
    }
    for (old, new) in [(1, u64::MAX), ((1 << 63) - 1, u64::MAX), (3, 1 << 63 | 7)] {
        for len in [0, 1, 64, 127, 128] {
            let proof = ConsistencyProof { old_size: old, new_size: new, path: vec![tree[0]; len] };
            assert!(proof.verify(&tree[0], &tree[1]).is_err());
        }
    }
}
