//! Proofs, checkpoints and receipts from a ledger: every transaction proved at every size and checked
//! with nothing of the ledger; the stored hashes (tiles) deleted, damaged, cut or swapped for another
//! ledger's, and proofs stay right; a ledger cut, rolled back or forked after it published a checkpoint is
//! caught by the checkpoint's holder and refuses to open.

use healthchain::checkpoint::{Checkpoint, NoteVerifier};
use healthchain::ledger::{checkpoints_path, tiles_dir};
use healthchain::merkle::leaf_hash;
use healthchain::proof::ProofError;
use healthchain::receipt::{Receipt, ReceiptError};
use healthchain::trust::{Standing, verify_blocks_against};
use healthchain::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32])
}

fn temp(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("healthchain-ledger-proofs-{}-{name}.ledger", std::process::id()));
    remove(&path);
    path
}

fn remove(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_dir_all(tiles_dir(path));
    let _ = std::fs::remove_file(checkpoints_path(path));
}

/// A file ledger of `blocks` blocks after genesis, each registering `per_block` patients.
fn file_ledger(path: &std::path::Path, blocks: u8, per_block: u8) -> (Ledger<FileStore>, Vec<TxId>) {
    let hospital = key(1);
    let clock = Box::new(ManualClock::new(1_700_000_000_000));
    let mut ledger = Ledger::create_file(path, clock, &LedgerSettings::new("proofs"), &[&hospital]).unwrap();
    for block in 0..blocks {
        for i in 0..per_block {
            ledger.register(&hospital, &key(100u8.wrapping_add(block * per_block + i)), Role::Patient).unwrap();
        }
        ledger.seal(&[&hospital]).unwrap();
    }
    let ids = (0..ledger.tree().size()).map(|i| ledger.transaction_at(i).unwrap().0.id()).collect();
    (ledger, ids)
}

fn open(path: &std::path::Path) -> Result<Ledger<FileStore>, LedgerError> {
    Ledger::open_file(path, Box::new(ManualClock::new(1_700_000_000_000)), OpenOptions::default())
}

/// Every inclusion proof at every size and every consistency proof, checked against roots computed
/// from the transactions alone.
fn assert_all_proofs(ledger: &Ledger<impl Store>) {
    let size = ledger.tree().size();
    let leaves: Vec<_> = (0..size).map(|i| leaf_hash(&ledger.transaction_at(i).unwrap().0.to_bytes())).collect();
    for n in 1..=size {
        let root = merkle::root_of(&leaves[..n as usize]);
        assert_eq!(ledger.root_at(n).unwrap(), root);
        for m in 0..n {
            ledger.prove_inclusion(m, n).unwrap().verify(&leaves[m as usize], &root).unwrap();
            let old = merkle::root_of(&leaves[..m.max(1) as usize]);
            ledger.prove_consistency(m.max(1), n).unwrap().verify(&old, &root).unwrap();
        }
    }
    assert!(matches!(ledger.prove_inclusion(size, size), Err(LedgerError::Proof(ProofError::IndexBeyondSize { .. }))));
    assert!(matches!(ledger.prove_inclusion(0, size + 1), Err(LedgerError::Proof(_))));
    assert!(matches!(ledger.prove_consistency(0, size), Err(LedgerError::Proof(_))));
    assert!(matches!(ledger.prove_consistency(2, 1), Err(LedgerError::Proof(_))));
}

#[test]
fn every_transaction_proves_at_every_size_whatever_happened_to_the_tiles() {
    let path = temp("tiles");
    let (ledger, ids) = file_ledger(&path, 6, 5);
    assert_all_proofs(&ledger);
    for (index, id) in (0..).zip(&ids) {
        assert_eq!(ledger.position_of(id).unwrap(), Some(index));
    }
    drop(ledger);

    // Deleted: rebuilt on open.
    std::fs::remove_dir_all(tiles_dir(&path)).unwrap();
    assert_all_proofs(&open(&path).unwrap());
    assert!(tiles_dir(&path).join("level-0").exists());

    // Every entry of level 0 damaged in turn (a flipped bit): the proofs that read it are checked before they
    // are returned, fail, and the tiles are rebuilt from the blocks.
    let level0 = tiles_dir(&path).join("level-0");
    let pristine = std::fs::read(&level0).unwrap();
    for entry in 0..ids.len() {
        let mut damaged = pristine.clone();
        damaged[48 + entry * 32 + 5] ^= 0x10;
        std::fs::write(&level0, &damaged).unwrap();
        let ledger = open(&path).unwrap();
        let size = ledger.tree().size();
        let leaf = leaf_hash(&ledger.transaction_at(entry as u64).unwrap().0.to_bytes());
        let proof = ledger.prove_inclusion(entry as u64, size).unwrap();
        proof.verify(&leaf, &ledger.root_at(size).unwrap()).unwrap();
        drop(ledger);
        assert_eq!(std::fs::read(&level0).unwrap(), pristine, "entry {entry} rebuilt");
    }

    // Cut short, or swapped for another ledger's: rebuilt.
    std::fs::write(&level0, &pristine[..48 + 7 * 32]).unwrap();
    assert_all_proofs(&open(&path).unwrap());
    let other = temp("tiles-other");
    let (other_ledger, _) = file_ledger(&other, 2, 1);
    drop(other_ledger);
    std::fs::copy(tiles_dir(&other).join("level-0"), &level0).unwrap();
    assert_all_proofs(&open(&path).unwrap());
    assert_eq!(std::fs::read(&level0).unwrap(), pristine);

    // A reader that may not write them uses them read-only, or rebuilds in memory.
    std::fs::write(&level0, &pristine[..48 + 3 * 32]).unwrap();
    let reader =
        Ledger::open_file(&path, Box::new(SystemClock), OpenOptions { read_only: true, strict: true }).unwrap();
    assert_all_proofs(&reader);
    assert_eq!(std::fs::read(&level0).unwrap(), pristine[..48 + 3 * 32], "a reader never writes");
    remove(&path);
    remove(&other);
}

#[test]
fn receipts_verify_offline_and_refuse_every_change() {
    let path = temp("receipts");
    let (mut ledger, ids) = file_ledger(&path, 3, 2);
    assert!(matches!(ledger.receipt(&ids[3], None), Err(LedgerError::NoCheckpoint)));
    let note = ledger.publish_checkpoint(&[&key(1)]).unwrap();
    assert_eq!(ledger.carried_checkpoints(), vec![note.clone()]);

    // A witness cosigns; the ledger carries the cosigned note in place of its own.
    let witness = key(9);
    let cosigned = Checkpoint::cosign(note.as_bytes(), "auditor.example/w", &witness, 1_800_000_000).unwrap();
    ledger.carry_checkpoint(&cosigned).unwrap();
    assert_eq!(ledger.carried_checkpoints(), vec![cosigned.clone()]);
    // Publishing the same tree again keeps the cosignature; the file holds what the ledger carries.
    assert_eq!(ledger.publish_checkpoint(&[&key(1)]).unwrap(), note);
    assert_eq!(ledger.carried_checkpoints(), vec![cosigned.clone()]);
    assert_eq!(healthchain::ledger::read_carried_checkpoints(&path).unwrap(), vec![cosigned.clone()]);

    let witnesses = vec![NoteVerifier::cosigner("auditor.example/w", witness.public_key()).unwrap()];
    let policy = ledger.checkpoint_policy(witnesses, 1);
    for (index, id) in (0..).zip(&ids) {
        let receipt = ledger.receipt(id, None).unwrap();
        let text = receipt.to_text();
        let parsed = Receipt::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed, receipt);
        let verified = parsed.verify(&policy).unwrap();
        assert_eq!((verified.index, verified.transaction.id()), (index, *id));
        assert_eq!(verified.checkpoint.cosignatures, vec![("auditor.example/w".to_owned(), 1_800_000_000)]);
    }

    // Every single-byte change of a receipt is refused, by the parser or by verification.
    let text = ledger.receipt(&ids[4], None).unwrap().to_text().into_bytes();
    for at in 0..text.len() {
        for change in [0x01u8, 0x20, 0x80] {
            let mut changed = text.clone();
            changed[at] ^= change;
            let result = Receipt::parse(&changed).and_then(|r| r.verify(&policy));
            assert!(result.is_err(), "byte {at} ^ {change:#x} accepted");
        }
    }
    // A receipt against a checkpoint of another ledger, or without the witness the policy wants.
    assert!(matches!(
        ledger.receipt(
            &ids[1],
            Some(
                &Checkpoint::for_chain(&ChainId(hash::Hash256([1; 32])), 3, hash::Hash256([2; 32]))
                    .sign(&[&key(1)])
                    .unwrap()
            )
        ),
        Err(LedgerError::ForeignCheckpoint)
    ));
    let unwitnessed = ledger.receipt(&ids[1], Some(&note)).unwrap();
    assert!(matches!(unwitnessed.verify(&policy), Err(ReceiptError::Checkpoint(_))));
    assert!(unwitnessed.verify(&ledger.checkpoint_policy(Vec::new(), 0)).is_ok());
    remove(&path);
}

#[test]
fn a_cut_rolled_back_or_forked_ledger_is_caught_by_the_checkpoints_holder() {
    let path = temp("cut");
    let (mut ledger, _) = file_ledger(&path, 4, 2);
    let published = ledger.publish_checkpoint(&[&key(1)]).unwrap();
    let policy = ledger.checkpoint_policy(Vec::new(), 0);
    let trusted = Checkpoint::verify(published.as_bytes(), &policy).unwrap().checkpoint;
    let blocks: Vec<Vec<u8>> = (0..ledger.store().len()).map(|h| ledger.store().read(h).unwrap()).collect();
    let offsets: Vec<u64> = (0..ledger.store().len()).map(|h| ledger.store().location(h).unwrap()).collect();
    assert!(ledger.standing(&trusted).unwrap().is_kept());

    // Grown since: still kept.
    ledger.register(&key(1), &key(60), Role::Provider).unwrap();
    ledger.seal(&[&key(1)]).unwrap();
    let grown: Vec<Vec<u8>> = (0..ledger.store().len()).map(|h| ledger.store().read(h).unwrap()).collect();
    let measured = verify_blocks_against(&grown, std::slice::from_ref(&trusted));
    assert!(measured.report.is_valid());
    assert_eq!(measured.standings, vec![Standing::Extends { checkpoint_size: 9, ledger_size: 10 }]);
    assert_eq!(measured.policy, policy);
    drop(ledger);

    // Cut to every shorter whole number of blocks: a valid chain, but truncated, and it no longer opens.
    for keep in 1..blocks.len() {
        let measured = verify_blocks_against(&blocks[..keep], std::slice::from_ref(&trusted));
        let (report, standings) = (measured.report, measured.standings);
        assert!(report.is_valid());
        assert!(matches!(standings[0], Standing::Truncated { checkpoint_size: 9, .. }), "{keep}: {standings:?}");
        let cut = temp("cut-copy");
        std::fs::copy(&path, &cut).unwrap();
        std::fs::copy(checkpoints_path(&path), checkpoints_path(&cut)).unwrap();
        std::fs::OpenOptions::new().write(true).open(&cut).unwrap().set_len(offsets[keep]).unwrap();
        match open(&cut) {
            Err(LedgerError::BrokenCheckpoint(standing)) => assert!(matches!(*standing, Standing::Truncated { .. })),
            other => panic!("cut to {keep} blocks opened: {other:?}"),
        }
        remove(&cut);
    }

    // Forked: the same genesis, then another history of the same size.
    let fork_path = temp("fork");
    let hospital = key(1);
    let mut fork =
        Ledger::open(MemoryStore::from_blocks(blocks[..2].to_vec()), Box::new(ManualClock::new(1_700_000_000_000)))
            .unwrap();
    while fork.tree().size() < 9 {
        fork.register(&hospital, &key(200u8.wrapping_add(fork.tree().size() as u8)), Role::Patient).unwrap();
        fork.seal(&[&hospital]).unwrap();
    }
    let forked: Vec<Vec<u8>> = fork.store().blocks().to_vec();
    let measured = verify_blocks_against(&forked, std::slice::from_ref(&trusted));
    let (report, standings) = (measured.report, measured.standings);
    assert!(report.is_valid());
    let Standing::Forked(evidence) = &standings[0] else { panic!("{standings:?}") };
    assert_eq!((evidence.size, evidence.checkpoint_root), (9, trusted.root));
    assert_eq!(evidence.ledger_root, fork.tree().root());
    assert!(matches!(fork.standing(&trusted).unwrap(), Standing::Forked(_)));

    // Another ledger altogether.
    let (other, _) = file_ledger(&fork_path, 1, 1);
    assert!(matches!(other.standing(&trusted).unwrap(), Standing::OtherLedger { .. }));
    remove(&fork_path);
    remove(&path);
}

/// A store that serves its blocks while the ledger opens, then another ledger's (its medium changed
/// under the ledger).
struct Swapped {
    blocks: Vec<Vec<u8>>,
    others: Vec<Vec<u8>>,
    swapped: std::cell::Cell<bool>,
}

impl Store for Swapped {
    fn len(&self) -> u64 {
        self.blocks.len() as u64
    }

    fn read(&self, height: u64) -> Result<Vec<u8>, StoreError> {
        let blocks = if self.swapped.get() { &self.others } else { &self.blocks };
        blocks.get(height as usize).cloned().ok_or(StoreError::Missing(height))
    }

    fn append(&mut self, height: u64, _: &[u8]) -> Result<(), StoreError> {
        Err(StoreError::OutOfOrder { expected: self.len(), found: height })
    }
}

#[test]
fn every_refusal_of_the_proof_interface_is_its_own_error() {
    let path = temp("refusals");
    let (mut ledger, ids) = file_ledger(&path, 2, 2);
    let note = ledger.publish_checkpoint(&[&key(1)]).unwrap();

    // A transaction submitted but not sealed has no receipt; a malformed checkpoint is refused as such.
    ledger.register(&key(1), &key(77), Role::Patient).unwrap();
    let pending = ledger.pending()[0].id();
    assert!(matches!(ledger.receipt(&pending, None), Err(LedgerError::NotSealed)));
    assert!(matches!(ledger.receipt(&ids[1], Some("not a note")), Err(LedgerError::Checkpoint(_))));
    ledger.seal(&[&key(1)]).unwrap();
    drop(ledger);

    // Every byte of the carried-checkpoints file changed, and every truncation, refuses the open.
    let carried = checkpoints_path(&path);
    let pristine = std::fs::read(&carried).unwrap();
    for at in 0..pristine.len() {
        let mut changed = pristine.clone();
        changed[at] ^= 0x01;
        std::fs::write(&carried, &changed).unwrap();
        assert!(matches!(open(&path), Err(LedgerError::CarriedCheckpoints(_))), "byte {at}");
    }
    for len in 0..pristine.len() {
        std::fs::write(&carried, &pristine[..len]).unwrap();
        assert!(matches!(open(&path), Err(LedgerError::CarriedCheckpoints(_))), "length {len}");
    }
    std::fs::write(&carried, &pristine).unwrap();
    assert_eq!(open(&path).unwrap().carried_checkpoints(), vec![note.clone()]);

    // A reader carries nothing; a new ledger is never created over an earlier one's checkpoints.
    let mut reader =
        Ledger::open_file(&path, Box::new(SystemClock), OpenOptions { read_only: true, strict: true }).unwrap();
    assert!(matches!(reader.carry_checkpoint(&note), Err(LedgerError::Store(StoreError::ReadOnly))));
    assert!(matches!(reader.publish_checkpoint(&[&key(1)]), Err(LedgerError::Store(StoreError::ReadOnly))));
    drop(reader);
    let moved = temp("refusals-moved");
    std::fs::rename(&path, &moved).unwrap();
    let created = Ledger::create_file(&path, Box::new(SystemClock), &LedgerSettings::new("again"), &[&key(1)]);
    assert!(matches!(created, Err(LedgerError::CarriedCheckpoints(_))));
    assert!(!path.exists(), "no ledger file made");
    std::fs::rename(&moved, &path).unwrap();

    // The blocks changed under the ledger: its proofs are refused rather than made from other blocks.
    let blocks: Vec<Vec<u8>> = {
        let ledger = open(&path).unwrap();
        (0..ledger.store().len()).map(|h| ledger.store().read(h).unwrap()).collect()
    };
    let other = temp("refusals-other");
    let (other_ledger, _) = file_ledger(&other, 3, 1);
    let others = (0..other_ledger.store().len()).map(|h| other_ledger.store().read(h).unwrap()).collect();
    let store = Swapped { blocks, others, swapped: std::cell::Cell::new(false) };
    let ledger = Ledger::open(store, Box::new(SystemClock)).unwrap();
    ledger.store().swapped.set(true);
    let size = ledger.tree().size();
    assert!(matches!(ledger.prove_inclusion(1, size), Err(LedgerError::TreeMismatch)));
    remove(&path);
    remove(&other);
}

#[test]
fn a_ledger_in_memory_builds_its_tiles_when_first_asked_and_keeps_them_up_to_date() {
    let hospital = key(1);
    let clock = Box::new(ManualClock::new(1_700_000_000_000));
    let mut ledger = Ledger::create(MemoryStore::new(), clock, &LedgerSettings::new("memory"), &[&hospital]).unwrap();
    for round in 0..4u8 {
        for i in 0..3u8 {
            ledger.register(&hospital, &key(10 + round * 3 + i), Role::Provider).unwrap();
        }
        ledger.seal(&[&hospital]).unwrap();
        assert_all_proofs(&ledger);
    }
    let copy =
        ledger.fork_onto(MemoryStore::from_blocks(ledger.store().blocks().to_vec()), Box::new(SystemClock)).unwrap();
    assert_all_proofs(&copy);
}
