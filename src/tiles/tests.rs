use super::*;
use crate::merkle::leaf_hash;
use crate::proof::{ConsistencyProof, InclusionProof};
use proptest::prelude::*;

fn leaves(n: u64) -> Vec<Hash256> {
    (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
}

fn chain() -> ChainId {
    ChainId(Hash256([7; 32]))
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("healthchain-tiles-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Every subtree RFC 9162 asks for, and the root of every size, agree with the leaves.
fn assert_agrees(store: &TileStore, all: &[Hash256]) {
    let size = store.size();
    assert_eq!(size, all.len() as u64);
    let mut tree = crate::merkle::MerkleTree::new();
    assert_eq!(store.root(0), Ok(tree.root()));
    for (n, leaf) in (1..).zip(all) {
        tree.push(*leaf);
        assert_eq!(store.root(n), Ok(tree.root()), "root of {n}");
    }
    // Proofs for sizes around tile boundaries, and a spread of others.
    let sizes = (1..=size).filter(|n| n % 256 <= 1 || n % 256 == 255 || n % 61 == 0 || *n == size);
    for n in sizes {
        for m in [0, n / 3, n / 2, n - 1] {
            let stored = InclusionProof::generate(store, m, n);
            assert_eq!(stored, InclusionProof::generate(all, m, n), "inclusion {m} in {n}");
            let stored = ConsistencyProof::generate(store, m.max(1), n);
            assert_eq!(stored, ConsistencyProof::generate(all, m.max(1), n), "consistency {m} to {n}");
        }
    }
}

#[test]
fn tile_paths_follow_c2sp() {
    let path = |level, index, width| TileId { level, index, width }.path();
    assert_eq!(path(0, 0, 256), "tile/0/000");
    assert_eq!(path(0, 1_234_067, 256), "tile/0/x001/x234/067");
    assert_eq!(path(1, 5, 17), "tile/1/005.p/17");
    assert_eq!(path(2, 1000, 256), "tile/2/x001/000");
}

#[test]
fn levels_hold_the_roots_of_full_tiles() {
    let all = leaves(256 * 256 + 300);
    let mut store = TileStore::in_memory();
    store.append(&all).unwrap();
    assert_eq!(store.levels.len(), 3);
    assert_eq!(store.levels[1].len(), 257);
    assert_eq!(store.levels[2].len(), 1);
    assert_eq!(store.levels[2].read(0, 1).unwrap()[0], root_of(&all[..65536]));
    // A tile is its entries, concatenated.
    let tile = store.tile(TileId { level: 0, index: 257, width: 44 }).unwrap();
    assert_eq!(tile, all[65792..65836].iter().flat_map(|h| h.0).collect::<Vec<_>>());
    let tile = store.tile(TileId { level: 1, index: 1, width: 1 }).unwrap();
    assert_eq!(tile, root_of(&all[65536..65792]).0.to_vec());
    // Beyond what is stored, or widths outside 1..=256: unavailable.
    assert!(store.tile(TileId { level: 0, index: 258, width: 1 }).is_err());
    assert!(store.tile(TileId { level: 0, index: 257, width: 45 }).is_err());
    assert!(store.tile(TileId { level: 0, index: 0, width: 0 }).is_err());
    assert!(store.tile(TileId { level: 3, index: 0, width: 1 }).is_err());
    assert!(store.tile(TileId { level: 0, index: u64::MAX, width: 256 }).is_err());
    assert_eq!(store.root(65836), Ok(root_of(&all)));
}

#[test]
fn files_survive_reopening_and_are_refused_for_another_chain() {
    let dir = temp_dir("reopen");
    let all = leaves(1000);
    let mut store = TileStore::open_dir(&dir, &chain(), false).unwrap();
    store.append(&all[..700]).unwrap();
    drop(store);
    let mut store = TileStore::open_dir(&dir, &chain(), false).unwrap();
    store.append(&all[700..]).unwrap();
    assert_agrees(&store, &all);
    let reader = TileStore::open_dir(&dir, &chain(), true).unwrap();
    assert_eq!(reader.root(1000), Ok(root_of(&all)));
    assert!(TileStore::open_dir(&dir, &ChainId(Hash256([8; 32])), false).is_err());
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_writer_repairs_levels_a_crash_left_apart() {
    let dir = temp_dir("repair");
    let all = leaves(256 * 3 + 5);
    let mut store = TileStore::open_dir(&dir, &chain(), false).unwrap();
    store.append(&all).unwrap();
    drop(store);
    // Level 1 lost its last entry, and level 0 a half entry at its end.
    let level1 = std::fs::OpenOptions::new().write(true).open(dir.join("level-1")).unwrap();
    level1.set_len(48 + 2 * 32).unwrap();
    let level0 = std::fs::OpenOptions::new().write(true).open(dir.join("level-0")).unwrap();
    level0.set_len(48 + (all.len() as u64) * 32 + 10).unwrap();
    let store = TileStore::open_dir(&dir, &chain(), false).unwrap();
    assert_agrees(&store, &all);
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Appended in any chunks, truncated anywhere, the stored tree answers as the leaves do.
    #[test]
    fn stored_subtrees_equal_recomputed_ones(
        chunks in proptest::collection::vec(0u64..400, 1..5),
        cut in any::<proptest::sample::Index>(),
        on_disk in any::<bool>(),
    ) {
        let dir = temp_dir("prop");
        let mut store = if on_disk { TileStore::open_dir(&dir, &chain(), false).unwrap() } else { TileStore::in_memory() };
        let total: u64 = chunks.iter().sum();
        let all = leaves(total);
        let mut at = 0usize;
        for chunk in chunks {
            let end = at + chunk as usize;
            store.append(&all[at..end]).unwrap();
            at = end;
        }
        let keep = cut.index(all.len() + 1);
        store.truncate(keep as u64).unwrap();
        prop_assert_eq!(store.size(), keep as u64);
        store.append(&all[keep..]).unwrap();
        assert_agrees(&store, &all);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
