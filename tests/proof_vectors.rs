//! Merkle proofs against known answers: the RFC 6962 reference tree of eight leaves (its roots and the
//! proofs every implementation must produce) and every inclusion and consistency probe of the
//! transparency-dev test vectors (`tests/vectors/transparency-dev-merkle/`, with their license): each
//! valid proof verifies, and each invalid one — flipped bits in every element, index and sizes off by one,
//! doubled and halved, XORed, empty, truncated and extended paths, swapped, wrong and garbage roots,
//! preceding and trailing garbage — is refused.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use healthchain::hash::Hash256;
use healthchain::merkle::{leaf_hash, root_of};
use healthchain::proof::{ConsistencyProof, InclusionProof};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The RFC 6962 reference leaves (certificate-transparency's test data).
const LEAVES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

fn leaf_hashes() -> Vec<Hash256> {
    LEAVES.iter().map(|l| leaf_hash(l)).collect()
}

fn hash(hex: &str) -> Hash256 {
    Hash256::from_hex(hex).unwrap()
}

/// Every probe under `dir`, with its path.
fn probes_in(dir: &Path, all: &mut Vec<(PathBuf, Value)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            probes_in(&path, all);
        } else if path.extension().is_some_and(|e| e == "json") {
            all.push((path.clone(), serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()));
        }
    }
}

fn vectors(kind: &str) -> Vec<(PathBuf, Value)> {
    let mut all = Vec::new();
    probes_in(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/transparency-dev-merkle").join(kind),
        &mut all,
    );
    all.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(all.len() > 50, "only {} {kind} probes", all.len());
    all
}

/// A base64 field as a hash, if it is one (the probes also hold garbage of other lengths).
fn hash_field(value: &Value) -> Option<Hash256> {
    let bytes = STANDARD.decode(value.as_str()?).ok()?;
    Some(Hash256(bytes.try_into().ok()?))
}

/// A root field as a hash. Some probes hold roots that are no hash ("don't care" texts, roots with garbage
/// before or after): these stand for themselves as the SHA-256 of their bytes, which keeps equal roots
/// equal and makes a garbled root differ from the real one, as comparing the bytes would.
fn root_field(value: &Value) -> Hash256 {
    let bytes = STANDARD.decode(value.as_str().unwrap()).unwrap();
    bytes.clone().try_into().map_or_else(|_| healthchain::hash::sha256(&[&bytes]), Hash256)
}

/// A proof as hashes, if every element is one (an element of another length cannot even be given to the
/// verifier: such a proof is refused).
fn path_field(value: &Value) -> Option<Vec<Hash256>> {
    value.as_array().map_or(Some(Vec::new()), |elements| elements.iter().map(hash_field).collect())
}

fn number(value: &Value, key: &str) -> u64 {
    value[key].as_u64().unwrap()
}

#[test]
fn reference_tree_roots_and_proofs() {
    let leaves = leaf_hashes();
    // The roots of the trees of 1–8 leaves, from RFC 6962's reference implementation.
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    for (n, root) in roots.iter().enumerate() {
        assert_eq!(root_of(&leaves[..=n]), hash(root), "root of {} leaves", n + 1);
    }
    // Audit paths and consistency proofs that certificate-transparency's tests fix.
    let inclusion = [
        (
            0,
            8,
            vec![
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            vec![
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, vec!["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            vec![
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, path) in inclusion {
        let proof = InclusionProof::generate(leaves.as_slice(), index, size).unwrap();
        assert_eq!(proof.path, path.iter().map(|h| hash(h)).collect::<Vec<_>>(), "path of {index} in {size}");
        proof.verify(&leaves[index as usize], &root_of(&leaves[..size as usize])).unwrap();
    }
    let consistency = [
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            vec![
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            vec![
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (old, new, path) in consistency {
        let proof = ConsistencyProof::generate(leaves.as_slice(), old, new).unwrap();
        assert_eq!(proof.path, path.iter().map(|h| hash(h)).collect::<Vec<_>>(), "proof {old} to {new}");
        proof.verify(&root_of(&leaves[..old as usize]), &root_of(&leaves[..new as usize])).unwrap();
    }
}

#[test]
fn every_transparency_dev_inclusion_probe() {
    let leaves = leaf_hashes();
    let (mut accepted, mut refused) = (0, 0);
    for (path, probe) in vectors("inclusion") {
        let (index, size) = (number(&probe, "leafIdx"), number(&probe, "treeSize"));
        let parsed = (hash_field(&probe["leafHash"]), root_field(&probe["root"]), path_field(&probe["proof"]));
        let outcome = match parsed {
            (Some(leaf), root, Some(elements)) => InclusionProof { index, tree_size: size, path: elements.clone() }
                .verify(&leaf, &root)
                .map(|()| elements),
            _ => Err(healthchain::ProofError::RootMismatch), // not even hashes: refused before any check
        };
        let want_error = probe["wantErr"].as_bool().unwrap();
        assert_eq!(outcome.is_err(), want_error, "{}: {}", path.display(), probe["desc"]);
        if let Ok(elements) = outcome {
            accepted += 1;
            // A valid probe's proof is exactly the one generation gives, when the tree is the reference one.
            let leaf = hash_field(&probe["leafHash"]).unwrap();
            if size <= 8 && leaves.get(index as usize) == Some(&leaf) {
                assert_eq!(InclusionProof::generate(leaves.as_slice(), index, size).unwrap().path, elements);
            }
        } else {
            refused += 1;
        }
    }
    assert!(accepted >= 5 && refused >= 50, "{accepted} accepted, {refused} refused");
}

#[test]
fn every_transparency_dev_consistency_probe() {
    let leaves = leaf_hashes();
    let (mut accepted, mut refused) = (0, 0);
    for (path, probe) in vectors("consistency") {
        let (old, new) = (number(&probe, "size1"), number(&probe, "size2"));
        let parsed = (root_field(&probe["root1"]), root_field(&probe["root2"]), path_field(&probe["proof"]));
        let outcome = match parsed {
            (old_root, new_root, Some(elements)) => {
                let proof = ConsistencyProof { old_size: old, new_size: new, path: elements.clone() };
                proof.verify(&old_root, &new_root).map(|()| (old_root, elements))
            }
            _ => Err(healthchain::ProofError::RootMismatch),
        };
        let want_error = probe["wantErr"].as_bool().unwrap();
        assert_eq!(outcome.is_err(), want_error, "{}: {}", path.display(), probe["desc"]);
        if let Ok((old_root, elements)) = outcome {
            accepted += 1;
            if new <= 8 && old > 0 && root_of(&leaves[..old as usize]) == old_root {
                assert_eq!(ConsistencyProof::generate(leaves.as_slice(), old, new).unwrap().path, elements);
            }
        } else {
            refused += 1;
        }
    }
    assert!(accepted >= 4 && refused >= 50, "{accepted} accepted, {refused} refused");
}
