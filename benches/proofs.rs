//! Merkle proofs at 1,000,000 and 10,000,000 leaves (issue 10): generating and verifying inclusion proofs
//! (random leaf, tree of n leaves) and consistency proofs (random old size, new size n) from our
//! `TileStore`, in files and in memory, and from ct-merkle's `MemoryBackedTree` (RFC 6962, SHA-256, every
//! node in memory), in the same run over the same tree: leaf `i` is the 8 bytes `i.to_le_bytes()`, and the
//! roots and 1,024 proofs of each kind are checked equal before anything is timed. Verification includes
//! hashing the leaf (ct-merkle hashes it inside `verify_inclusion`).
//!
//! After each size's criterion group, one line per operation gives the mean of a timed loop (at least
//! 20,000 operations and one second) for each implementation and the ratio ours / ct-merkle, then the bytes
//! of the tile files and the resident memory each tree added. Sizes:
//! `HEALTHCHAIN_BENCH_PROOF_SIZES=1000000,10000000` (the default). The tile files go to
//! `target/bench-tiles/` and are removed afterwards.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::Criterion;
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof as CtConsistency, InclusionProof as CtInclusion, RootHash};
use healthchain::hash::Hash256;
use healthchain::ids::ChainId;
use healthchain::merkle::leaf_hash;
use healthchain::proof::{ConsistencyProof, InclusionProof};
use healthchain::tiles::TileStore;
use sha2::Sha256;

/// Random leaf indices and old sizes (and proofs made from them for the verifications), cycled through.
const SAMPLES: usize = 1024;
/// Fewest operations per timed loop of the ratio lines (each loop also runs for at least one second).
const LOOP: usize = 20_000;
/// Leaves hashed and appended at a time while building.
const CHUNK: u64 = 65_536;

/// (operation, whose, one operation on sample `k`).
type Operation<'a> = (&'static str, &'static str, Box<dyn Fn(usize) + 'a>);

struct Fixture {
    n: u64,
    files: TileStore,
    memory: TileStore,
    ct: MemoryBackedTree<Sha256, [u8; 8]>,
    root: Hash256,
    ct_root: RootHash<Sha256>,
    indices: Vec<u64>,
    old_sizes: Vec<u64>,
    inclusion: Vec<InclusionProof>,
    ct_inclusion: Vec<CtInclusion<Sha256>>,
    consistency: Vec<(ConsistencyProof, Hash256)>,
    ct_consistency: Vec<(CtConsistency<Sha256>, RootHash<Sha256>)>,
    file_bytes: u64,
    /// Resident memory added by building the file-backed store, the in-memory store, ct-merkle's tree.
    resident: [u64; 3],
}

impl Fixture {
    fn build(n: u64, dir: &Path) -> Self {
        assert!(n >= 2, "a consistency proof needs an old size in 1..n");
        let _ = std::fs::remove_dir_all(dir);
        let append = |store: &mut TileStore| {
            for start in (0..n).step_by(CHUNK as usize) {
                let leaves: Vec<_> = (start..n.min(start + CHUNK)).map(|i| leaf_hash(&i.to_le_bytes())).collect();
                store.append(&leaves).unwrap();
            }
        };
        let before = resident();
        let mut files = TileStore::open_dir(dir, &ChainId(Hash256([0x42; 32])), false).unwrap();
        append(&mut files);
        let after_files = resident();
        let mut memory = TileStore::in_memory();
        append(&mut memory);
        let after_memory = resident();
        let mut ct = MemoryBackedTree::new();
        for i in 0..n {
            ct.push(i.to_le_bytes());
        }
        let resident = [
            after_files.saturating_sub(before),
            after_memory.saturating_sub(after_files),
            resident().saturating_sub(after_memory),
        ];
        let file_bytes = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();

        // The same tree: equal roots, and equal proofs for every sample.
        let root = files.root(n).unwrap();
        let ct_root = ct.root();
        assert_eq!(memory.root(n).unwrap(), root);
        assert_eq!(ct_root.as_bytes().as_slice(), root.0.as_slice());
        let mut state = n;
        let indices: Vec<u64> = (0..SAMPLES).map(|_| splitmix(&mut state) % n).collect();
        let old_sizes: Vec<u64> = (0..SAMPLES).map(|_| 1 + splitmix(&mut state) % (n - 1)).collect();
        let bytes = |path: &[Hash256]| path.iter().flat_map(|h| h.0).collect::<Vec<u8>>();
        let inclusion: Vec<_> = indices.iter().map(|&i| InclusionProof::generate(&memory, i, n).unwrap()).collect();
        let ct_inclusion: Vec<_> = indices.iter().map(|&i| ct.prove_inclusion(i as usize)).collect();
        let consistency: Vec<_> = old_sizes
            .iter()
            .map(|&old| (ConsistencyProof::generate(&memory, old, n).unwrap(), memory.root(old).unwrap()))
            .collect();
        let ct_consistency: Vec<_> = consistency
            .iter()
            .map(|(proof, old_root)| {
                (ct.prove_consistency((n - proof.old_size) as usize), RootHash::new(old_root.0.into(), proof.old_size))
            })
            .collect();
        for k in 0..SAMPLES {
            assert_eq!(ct_inclusion[k].as_bytes(), bytes(&inclusion[k].path).as_slice());
            assert_eq!(ct_consistency[k].0.as_bytes(), bytes(&consistency[k].0.path).as_slice());
        }
        Self {
            n,
            files,
            memory,
            ct,
            root,
            ct_root,
            indices,
            old_sizes,
            inclusion,
            ct_inclusion,
            consistency,
            ct_consistency,
            file_bytes,
            resident,
        }
    }

    /// The operations measured.
    fn operations(&self) -> Vec<Operation<'_>> {
        let n = self.n;
        vec![
            ("inclusion_generate", "ours_files", Box::new(move |k| _ = black_box(self.prove(&self.files, k)))),
            ("inclusion_generate", "ours_memory", Box::new(move |k| _ = black_box(self.prove(&self.memory, k)))),
            (
                "inclusion_generate",
                "ct_merkle",
                Box::new(move |k| _ = black_box(self.ct.prove_inclusion(self.indices[k] as usize))),
            ),
            (
                "inclusion_verify",
                "ours",
                Box::new(move |k| {
                    let i = self.indices[k];
                    self.inclusion[k].verify(&leaf_hash(&i.to_le_bytes()), &self.root).unwrap()
                }),
            ),
            (
                "inclusion_verify",
                "ct_merkle",
                Box::new(move |k| {
                    let i = self.indices[k];
                    self.ct_root.verify_inclusion(&i.to_le_bytes(), i, &self.ct_inclusion[k]).unwrap()
                }),
            ),
            (
                "consistency_generate",
                "ours_files",
                Box::new(move |k| {
                    _ = black_box(ConsistencyProof::generate(&self.files, self.old_sizes[k], n).unwrap())
                }),
            ),
            (
                "consistency_generate",
                "ours_memory",
                Box::new(move |k| {
                    _ = black_box(ConsistencyProof::generate(&self.memory, self.old_sizes[k], n).unwrap())
                }),
            ),
            (
                "consistency_generate",
                "ct_merkle",
                Box::new(move |k| _ = black_box(self.ct.prove_consistency((n - self.old_sizes[k]) as usize))),
            ),
            (
                "consistency_verify",
                "ours",
                Box::new(move |k| {
                    let (proof, old_root) = &self.consistency[k];
                    proof.verify(old_root, &self.root).unwrap()
                }),
            ),
            (
                "consistency_verify",
                "ct_merkle",
                Box::new(move |k| {
                    let (proof, old_root) = &self.ct_consistency[k];
                    self.ct_root.verify_consistency(old_root, proof).unwrap()
                }),
            ),
        ]
    }

    fn prove(&self, store: &TileStore, k: usize) -> InclusionProof {
        InclusionProof::generate(store, self.indices[k], self.n).unwrap()
    }
}

/// SplitMix64: reproducible random samples without a dependency.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// This process's resident memory in bytes (`VmRSS`; 0 where there is no /proc).
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status.lines().find_map(|line| line.strip_prefix("VmRSS:")).map(|v| v.trim().trim_end_matches(" kB"));
    kib.and_then(|v| v.parse::<u64>().ok()).map_or(0, |kib| kib * 1024)
}

fn sizes() -> Vec<u64> {
    match std::env::var("HEALTHCHAIN_BENCH_PROOF_SIZES") {
        Ok(list) => {
            list.split(',').map(|n| n.trim().parse().expect("HEALTHCHAIN_BENCH_PROOF_SIZES: n,n,...")).collect()
        }
        Err(_) => vec![1_000_000, 10_000_000],
    }
}

/// Mean time of one operation, in microseconds, over at least `LOOP` operations and one second.
fn mean_us(operation: &dyn Fn(usize)) -> f64 {
    let (start, mut done) = (Instant::now(), 0);
    while done < LOOP || start.elapsed().as_secs() < 1 {
        for k in 0..SAMPLES {
            operation(k);
        }
        done += SAMPLES;
    }
    start.elapsed().as_secs_f64() * 1e6 / done as f64
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-tiles");
    for n in sizes() {
        let fixture = Fixture::build(n, &dir);
        let operations = fixture.operations();
        let mut group = criterion.benchmark_group(format!("proofs_{n}"));
        for (operation, whose, run) in &operations {
            group.bench_function(format!("{operation}/{whose}"), |b| {
                let mut k = 0;
                b.iter(|| {
                    run(k % SAMPLES);
                    k += 1;
                })
            });
        }
        group.finish();

        println!("\nproofs at n = {n}: mean over ≥ {LOOP} operations and ≥ 1 s each, and ours / ct-merkle");
        for (operation, _, _) in operations.iter().filter(|(_, whose, _)| *whose == "ct_merkle") {
            let ours: Vec<_> = operations.iter().filter(|(o, w, _)| o == operation && *w != "ct_merkle").collect();
            let theirs = operations.iter().find(|(o, w, _)| o == operation && *w == "ct_merkle").unwrap();
            let ct = mean_us(&theirs.2);
            let mut line = format!("  {operation:<21} ct_merkle {ct:>9.3} µs");
            for (_, whose, run) in ours {
                let us = mean_us(run);
                line += &format!(" | {whose} {us:>9.3} µs = {:>7.1} ×", us / ct);
            }
            println!("{line}");
        }
        let mb = |bytes: u64| bytes as f64 / 1e6;
        let [files, memory, ct] = fixture.resident;
        println!(
            "  tile files {:.1} MB on disk; resident memory added: ours_files {:.1} MB, ours_memory {:.1} MB, \
             ct_merkle {:.1} MB\n",
            mb(fixture.file_bytes),
            mb(files),
            mb(memory),
            mb(ct)
        );
        drop(operations);
        drop(fixture);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    criterion.final_summary();
}
