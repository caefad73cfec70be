//! The witness (`healthchain::checkpoint::Witness`): it cosigns a ledger's first checkpoint, then only
//! checkpoints shown by a consistency proof to extend the newest one it cosigned; it refuses rollbacks,
//! forks (keeping both signed checkpoints as evidence, across restarts), inconsistent, missing or mismatched
//! proofs and checkpoints its policy's authorities did not sign; its state survives reopening, and a
//! damaged state file is refused rather than started afresh.

use healthchain::checkpoint::{Checkpoint, CheckpointPolicy, NoteVerifier, Witness, WitnessError};
use healthchain::hash::Hash256;
use healthchain::merkle::{leaf_hash, root_of};
use healthchain::proof::ConsistencyProof;
use healthchain::{ChainId, SigningKey};
use std::path::PathBuf;

const T: u64 = 1_800_000_000;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32])
}

fn state_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hc-witness-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("witness.state")
}

/// A log of `leaves` leaves (its own salt), its authority, and checkpoints of any prefix.
struct Log {
    chain: ChainId,
    authority: SigningKey,
    leaves: Vec<Hash256>,
}

impl Log {
    fn new(salt: u8, leaves: u64) -> Self {
        let leaves = (0..leaves).map(|i| leaf_hash(&[&[salt], i.to_le_bytes().as_slice()].concat())).collect();
        Self { chain: ChainId(Hash256([salt; 32])), authority: key(1), leaves }
    }

    fn checkpoint(&self, size: u64) -> String {
        Checkpoint::for_chain(&self.chain, size, root_of(&self.leaves[..size as usize]))
            .sign(&[&self.authority])
            .unwrap()
    }

    fn proof(&self, old: u64, new: u64) -> ConsistencyProof {
        ConsistencyProof::generate(self.leaves.as_slice(), old, new).unwrap()
    }

    fn policy(&self) -> CheckpointPolicy {
        let origin = healthchain::checkpoint::origin_of(&self.chain);
        CheckpointPolicy {
            authorities: vec![NoteVerifier::new(&origin, self.authority.public_key()).unwrap()],
            authority_threshold: 1,
            ..Default::default()
        }
    }
}

fn witness(path: &std::path::Path) -> Witness {
    Witness::open(path, "auditor.example/w1", key(50)).unwrap()
}

#[test]
fn cosigns_only_what_extends_what_it_cosigned() {
    let path = state_path("extends");
    let log = Log::new(1, 100);
    let mut w = witness(&path);

    // First sight: trusted on first use, no proof needed.
    let cosigned = w.cosign(log.checkpoint(10).as_bytes(), &log.policy(), None, T).unwrap();
    let with_witness = CheckpointPolicy {
        witnesses: vec![NoteVerifier::cosigner("auditor.example/w1", key(50).public_key()).unwrap()],
        witness_threshold: 1,
        ..log.policy()
    };
    let checked = Checkpoint::verify(cosigned.as_bytes(), &with_witness).unwrap();
    assert_eq!((checked.checkpoint.size, checked.cosignatures.len()), (10, 1));

    // Growth with the right proof; the same tree again needs none.
    w.cosign(log.checkpoint(40).as_bytes(), &log.policy(), Some(&log.proof(10, 40)), T + 1).unwrap();
    w.cosign(log.checkpoint(40).as_bytes(), &log.policy(), None, T + 2).unwrap();
    assert_eq!(w.trusted(&checked.checkpoint.origin).map(|c| c.size), Some(40));

    // Growth without a proof, with a proof for other sizes, or with a proof of another tree: refused.
    assert!(matches!(
        w.cosign(log.checkpoint(50).as_bytes(), &log.policy(), None, T),
        Err(WitnessError::MissingProof { trusted: 40, offered: 50 })
    ));
    assert!(matches!(
        w.cosign(log.checkpoint(50).as_bytes(), &log.policy(), Some(&log.proof(10, 50)), T),
        Err(WitnessError::Inconsistent(_))
    ));
    let other = Log::new(2, 100);
    let foreign_proof = other.proof(40, 50);
    assert!(matches!(
        w.cosign(log.checkpoint(50).as_bytes(), &log.policy(), Some(&foreign_proof), T),
        Err(WitnessError::Inconsistent(_))
    ));
    // A rollback is refused.
    assert!(matches!(
        w.cosign(log.checkpoint(39).as_bytes(), &log.policy(), None, T),
        Err(WitnessError::Rollback { trusted: 40, offered: 39 })
    ));
    // Not signed by the policy's authority: refused.
    let forged = Checkpoint::for_chain(&log.chain, 60, root_of(&log.leaves[..60])).sign(&[&key(9)]).unwrap();
    assert!(matches!(
        w.cosign(forged.as_bytes(), &log.policy(), Some(&log.proof(40, 60)), T),
        Err(WitnessError::Checkpoint(_))
    ));
    assert_eq!(w.trusted(&checked.checkpoint.origin).map(|c| c.size), Some(40), "refusals changed nothing");

    // One process at a time.
    assert!(matches!(Witness::open(&path, "auditor.example/w1", key(50)), Err(WitnessError::Locked)));
    // The state survives a restart: the rollback is still refused, growth still accepted.
    drop(w);
    let mut w = witness(&path);
    assert!(matches!(
        w.cosign(log.checkpoint(20).as_bytes(), &log.policy(), None, T),
        Err(WitnessError::Rollback { trusted: 40, offered: 20 })
    ));
    w.cosign(log.checkpoint(100).as_bytes(), &log.policy(), Some(&log.proof(40, 100)), T + 3).unwrap();
    assert_eq!(w.trusted(&checked.checkpoint.origin).map(|c| c.size), Some(100));
}

#[test]
fn a_fork_is_refused_and_its_evidence_kept() {
    let path = state_path("fork");
    let log = Log::new(3, 30);
    let mut w = witness(&path);
    w.cosign(log.checkpoint(20).as_bytes(), &log.policy(), None, T).unwrap();

    // The same authority signs another tree of 20 leaves (a split view): refused, both kept.
    let mut forked = Log::new(3, 30);
    forked.leaves[5] = leaf_hash(b"rewritten history");
    let fork_note = forked.checkpoint(20);
    assert!(matches!(w.cosign(fork_note.as_bytes(), &forked.policy(), None, T), Err(WitnessError::Fork { size: 20 })));
    assert_eq!(w.evidence().len(), 1);
    assert_eq!(w.evidence()[0].trusted, log.checkpoint(20));
    assert_eq!(w.evidence()[0].offered, fork_note);
    // Evidence survives a restart, and the witness keeps following the branch it cosigned.
    drop(w);
    let mut w = witness(&path);
    assert_eq!(w.evidence().len(), 1);
    w.cosign(log.checkpoint(30).as_bytes(), &log.policy(), Some(&log.proof(20, 30)), T).unwrap();
    assert!(matches!(
        w.cosign(forked.checkpoint(30).as_bytes(), &forked.policy(), Some(&forked.proof(20, 30)), T),
        Err(WitnessError::Fork { size: 30 })
    ));
}

#[test]
fn a_damaged_state_file_is_refused_never_reset() {
    let path = state_path("damaged");
    let log = Log::new(4, 10);
    let mut w = witness(&path);
    w.cosign(log.checkpoint(10).as_bytes(), &log.policy(), None, T).unwrap();
    drop(w);
    let good = std::fs::read(&path).unwrap();
    assert!(good.starts_with(healthchain::checkpoint::STATE_MAGIC.as_bytes()));
    for at in 0..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        let opened = Witness::open(&path, "auditor.example/w1", key(50));
        assert!(matches!(opened, Err(WitnessError::Damaged(_))), "byte {at} flipped: {opened:?}");
        assert_eq!(std::fs::read(&path).unwrap(), bad, "the damaged file was rewritten");
    }
    // Truncated at any length: refused too (an empty file included).
    for len in 0..good.len() {
        std::fs::write(&path, &good[..len]).unwrap();
        assert!(Witness::open(&path, "auditor.example/w1", key(50)).is_err(), "truncated to {len}");
    }
    std::fs::write(&path, &good).unwrap();
    assert_eq!(witness(&path).trusted(&healthchain::checkpoint::origin_of(&log.chain)).map(|c| c.size), Some(10));
}
