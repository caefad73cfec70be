//! Target `checkpoint`: signed notes, checkpoints and Merkle proofs from untrusted bytes. The first byte
//! selects what the rest is: a signed note (parsed, read as a checkpoint, verified against a fixed policy
//! of one authority and one witness), an inclusion proof or a consistency proof (sizes, hashes and path
//! elements, verified).
//!
//! Properties: no panic; an accepted note prints back to exactly its bytes, and an accepted checkpoint text
//! likewise; a policy accepts a note only if it carries the authority's and the witness's signature lines;
//! an inclusion proof verifies exactly when the root it leads to is the given one; a consistency proof is
//! accepted only for `0 < old ≤ new`, with an empty path exactly when the sizes are equal.

use healthchain::checkpoint::{Checkpoint, CheckpointPolicy, NoteVerifier, SignedNote, origin_of};
use healthchain::hash::Hash256;
use healthchain::proof::{ConsistencyProof, InclusionProof};
use healthchain::{ChainId, SigningKey};

/// The chain every fuzzed checkpoint claims.
pub fn chain() -> ChainId {
    ChainId(Hash256([0x42; 32]))
}

/// The authority whose signature the policy requires.
pub fn authority() -> SigningKey {
    SigningKey::from_seed(&[1; 32])
}

/// The witness whose cosignature the policy requires.
pub fn witness() -> SigningKey {
    SigningKey::from_seed(&[2; 32])
}

/// The witness's name.
pub const WITNESS: &str = "witness.example/fuzz";

fn policy() -> CheckpointPolicy {
    CheckpointPolicy {
        authorities: vec![NoteVerifier::new(&origin_of(&chain()), authority().public_key()).unwrap()],
        authority_threshold: 1,
        witnesses: vec![NoteVerifier::cosigner(WITNESS, witness().public_key()).unwrap()],
        witness_threshold: 1,
    }
}

/// Reads a u64 and a hash off the front of `data`.
fn take<const N: usize>(data: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = data.split_first_chunk::<N>()?;
    *data = rest;
    Some(*head)
}

fn hashes(data: &[u8]) -> Vec<Hash256> {
    data.chunks_exact(32).take(140).map(|c| Hash256(c.try_into().unwrap())).collect()
}

pub fn run(data: &[u8]) {
    let Some((&selector, mut rest)) = data.split_first() else { return };
    match selector % 3 {
        0 => {
            let Ok(note) = SignedNote::parse(rest) else { return };
            assert_eq!(note.to_text().as_bytes(), rest, "a note does not print back to its bytes");
            if let Ok(checkpoint) = Checkpoint::parse_text(&note.text) {
                assert_eq!(checkpoint.text(), note.text, "a checkpoint does not print back to its text");
            }
            if Checkpoint::verify(rest, &policy()).is_ok() {
                let policy = policy();
                for required in [&policy.authorities[0], &policy.witnesses[0]] {
                    assert!(
                        note.signatures.iter().any(|s| s.name == required.name && s.key_id == required.key_id),
                        "accepted without {}'s signature",
                        required.name
                    );
                }
            }
        }
        1 => {
            let (Some(index), Some(size), Some(leaf), Some(root)) =
                (take::<8>(&mut rest), take::<8>(&mut rest), take::<32>(&mut rest), take::<32>(&mut rest))
            else {
                return;
            };
            let proof = InclusionProof {
                index: u64::from_le_bytes(index),
                tree_size: u64::from_le_bytes(size),
                path: hashes(rest),
            };
            let (leaf, root) = (Hash256(leaf), Hash256(root));
            let verified = proof.verify(&leaf, &root).is_ok();
            assert_eq!(verified, proof.root_from(&leaf) == Ok(root));
        }
        _ => {
            let (Some(old), Some(new), Some(old_root), Some(new_root)) =
                (take::<8>(&mut rest), take::<8>(&mut rest), take::<32>(&mut rest), take::<32>(&mut rest))
            else {
                return;
            };
            let proof = ConsistencyProof {
                old_size: u64::from_le_bytes(old),
                new_size: u64::from_le_bytes(new),
                path: hashes(rest),
            };
            if proof.verify(&Hash256(old_root), &Hash256(new_root)).is_ok() {
                assert!(0 < proof.old_size && proof.old_size <= proof.new_size);
                assert_eq!(proof.path.is_empty(), proof.old_size == proof.new_size);
            }
        }
    }
}
