//! Every [`BlockError`] variant, each produced by verifying real blocks that were really tampered with
//! (through the crate's public API: a ledger over a `MemoryStore`, `verify_blocks`), never by
//! constructing the error. `name` is an exhaustive match without a wildcard, generated together with
//! `NAMES` from one list: a new variant breaks the build until it is listed, and then this test fails
//! until it produces the new variant too.

use super::{BlockError, VerifyFailure, VerifyReport, verify_blocks};
use crate::block::{Block, Seal};
use crate::clock::ManualClock;
use crate::codec::{Decode, Encode};
use crate::codes::Role;
use crate::error::TxError;
use crate::hash::Hash256;
use crate::ids::{ActorId, BlockHash, ChainId};
use crate::keys::SigningKey;
use crate::ledger::{Ledger, LedgerSettings};
use crate::store::{MemoryStore, Store, StoreError};
use std::collections::BTreeSet;

variant_names!(BlockError {
    BlockError::Store(_) => "Store",
    BlockError::Malformed(_) => "Malformed",
    BlockError::WrongChain => "WrongChain",
    BlockError::BadHeight { .. } => "BadHeight",
    BlockError::BadPrevHash => "BadPrevHash",
    BlockError::TimestampDecreased { .. } => "TimestampDecreased",
    BlockError::MissingGenesis => "MissingGenesis",
    BlockError::GenesisNotAlone => "GenesisNotAlone",
    BlockError::TreeSizeMismatch { .. } => "TreeSizeMismatch",
    BlockError::TreeRootMismatch => "TreeRootMismatch",
    BlockError::SealerNotAuthority => "SealerNotAuthority",
    BlockError::BadSeal => "BadSeal",
    BlockError::NotEnoughSeals { .. } => "NotEnoughSeals",
    BlockError::ProposerNotSealer => "ProposerNotSealer",
    BlockError::Tx(_) => "Tx",
    BlockError::SnapshotMismatch => "SnapshotMismatch",
});

const T0: u64 = 1_700_000_000_000;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32])
}

fn id(key: &SigningKey) -> ActorId {
    ActorId::from_key(&key.public_key())
}

/// The blocks of a ledger founded by `authorities` with `threshold`: genesis (block 0), two
/// registrations (block 1) and one more (block 2), one second apart, every block sealed by all of them.
fn network(authorities: &[&SigningKey], threshold: u8) -> Vec<Vec<u8>> {
    let clock = ManualClock::new(T0);
    let settings = LedgerSettings { seal_threshold: threshold, nonce: Some([5; 32]), ..LedgerSettings::new("v") };
    let mut ledger = Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &settings, authorities).unwrap();
    let founder = authorities[0];
    for new in [&[2u8, 3][..], &[4][..]] {
        clock.advance(1000);
        for seed in new {
            ledger.register(founder, &key(*seed), Role::Patient).unwrap();
        }
        ledger.seal(authorities).unwrap();
    }
    ledger.into_store().blocks().to_vec()
}

fn verify(chain: &[Vec<u8>]) -> VerifyReport {
    verify_blocks(chain)
}

/// `chain` with block `height` decoded, changed by `edit` and encoded again (the seals are kept).
fn edited(chain: &[Vec<u8>], height: usize, edit: impl FnOnce(&mut Block)) -> Vec<Vec<u8>> {
    let mut chain = chain.to_vec();
    let mut block = Block::from_bytes(&chain[height]).unwrap();
    edit(&mut block);
    chain[height] = block.to_bytes();
    chain
}

/// `chain` with block `height` changed by `edit` and sealed again by `sealers`: what authorities holding
/// those keys could do. Later blocks are left as they were (verification stops before them).
fn resealed(chain: &[Vec<u8>], height: usize, sealers: &[&SigningKey], edit: impl FnOnce(&mut Block)) -> Vec<Vec<u8>> {
    edited(chain, height, |block| {
        edit(block);
        let hash = block.header.hash();
        block.seals = sealers.iter().map(|k| Seal::sign(id(k), k, &hash)).collect();
        block.seals.sort_by_key(|s| s.authority);
    })
}

/// The names of the failures seen so far.
#[derive(Default)]
struct Produced(BTreeSet<&'static str>);

impl Produced {
    /// Asserts that `report` failed at `height` (and `tx_index`) with `expected`, and records the name of
    /// the failure it holds.
    #[track_caller]
    fn failed(&mut self, what: &str, report: VerifyReport, height: u64, tx_index: Option<u32>, expected: BlockError) {
        let failure = report.failure.unwrap_or_else(|| panic!("{what}: verified"));
        assert_eq!(failure, VerifyFailure { height, tx_index, reason: expected }, "{what}");
        self.0.insert(name(&failure.reason));
    }
}

#[test]
fn every_block_error_is_produced_by_real_tampering() {
    let hospital = key(1);
    let h = &[&hospital][..];
    let chain = network(h, 1);
    // The fixture and the resealing itself verify: each failure below is the change it makes.
    assert!(verify(&chain).is_valid(), "{:?}", verify(&chain).failure);
    assert_eq!(verify(&chain).blocks, 3);
    for height in 0..3 {
        assert!(verify(&resealed(&chain, height, h, |_| {})).is_valid(), "resealing block {height}");
    }
    let block = |height: usize| Block::from_bytes(&chain[height]).unwrap();
    let other_chain = ChainId(Hash256([9; 32]));
    let mut seen = Produced::default();

    // The store fails: block 2 of a store holding two blocks.
    let store = MemoryStore::from_blocks(chain[..2].to_vec());
    let report = verify_blocks((0..3).map(|height| store.read(height)));
    seen.failed("unreadable block", report, 2, None, BlockError::Store(StoreError::Missing(2).to_string()));

    // Bytes that are no block: block 1 cut short by one byte.
    let mut cut = chain.clone();
    cut[1].pop();
    let decode_error = Block::from_bytes(&cut[1]).unwrap_err();
    seen.failed("block 1 cut short", verify(&cut), 1, None, BlockError::Malformed(decode_error));

    // Header fields changed and the block sealed again.
    let wrong_chain = resealed(&chain, 1, h, |b| b.header.chain = other_chain);
    seen.failed("block 1 naming another chain", verify(&wrong_chain), 1, None, BlockError::WrongChain);
    let wrong_chain = resealed(&chain, 0, h, |b| b.header.chain = other_chain);
    seen.failed("genesis block naming another chain", verify(&wrong_chain), 0, None, BlockError::WrongChain);
    let skipped = vec![chain[0].clone(), chain[2].clone()];
    seen.failed("block 1 deleted", verify(&skipped), 1, None, BlockError::BadHeight { expected: 1, found: 2 });
    let relinked = resealed(&chain, 1, h, |b| b.header.prev_hash = BlockHash(Hash256([7; 32])));
    seen.failed("block 1 linked elsewhere", verify(&relinked), 1, None, BlockError::BadPrevHash);
    let genesis_time = block(0).header.timestamp;
    let earlier = resealed(&chain, 1, h, |b| b.header.timestamp = genesis_time - 1);
    let decreased = BlockError::TimestampDecreased { previous: genesis_time, found: genesis_time - 1 };
    seen.failed("block 1 dated before genesis", verify(&earlier), 1, None, decreased);
    let size = resealed(&chain, 1, h, |b| b.header.tree_size = 99);
    let size_mismatch = BlockError::TreeSizeMismatch { expected: 3, found: 99 };
    seen.failed("block 1 with another tree size", verify(&size), 1, None, size_mismatch);
    let root = resealed(&chain, 1, h, |b| b.header.tree_root = Hash256([7; 32]));
    seen.failed("block 1 with another tree root", verify(&root), 1, None, BlockError::TreeRootMismatch);

    // The genesis block: none, empty, or holding more than genesis.
    seen.failed("no block at all", verify(&[]), 0, None, BlockError::MissingGenesis);
    let empty = resealed(&chain, 0, h, |b| {
        b.txs.clear();
        b.header.tx_count = 0;
    });
    seen.failed("an empty genesis block", verify(&empty), 0, None, BlockError::MissingGenesis);
    let registration = block(1).txs[0].clone();
    let crowded = resealed(&chain, 0, h, |b| {
        b.txs.push(registration);
        b.header.tx_count = 2;
    });
    seen.failed("genesis and a registration in block 0", verify(&crowded), 0, None, BlockError::GenesisNotAlone);

    // Seals: by a registered actor that is no authority, bent, too few, without the proposer's.
    let patient = key(2);
    let by_patient = resealed(&chain, 2, &[&patient], |b| b.header.proposer = id(&patient));
    seen.failed("block 2 sealed by a patient", verify(&by_patient), 2, None, BlockError::SealerNotAuthority);
    let mut bent = chain.clone();
    let signature_start = bent[1].len() - 64;
    bent[1][signature_start] ^= 0x01;
    seen.failed("a bit of block 1's seal flipped", verify(&bent), 1, None, BlockError::BadSeal);
    let not_proposer = resealed(&chain, 1, h, |b| b.header.proposer = id(&patient));
    seen.failed("block 1 naming the patient proposer", verify(&not_proposer), 1, None, BlockError::ProposerNotSealer);
    let (a, b) = (key(11), key(12));
    let two_of_two = network(&[&a, &b], 2);
    assert!(verify(&two_of_two).is_valid(), "{:?}", verify(&two_of_two).failure);
    let one_seal = edited(&two_of_two, 1, |block| {
        let proposer = block.header.proposer;
        block.seals.retain(|s| s.authority == proposer);
    });
    let too_few = BlockError::NotEnoughSeals { have: 1, need: 2 };
    seen.failed("block 1 of a 2-of-2 ledger with one seal", verify(&one_seal), 1, None, too_few);

    // A transaction whose signature is another's (the header, and so the seal, unchanged).
    let swapped = edited(&chain, 1, |b| b.txs[1].signature = b.txs[0].signature);
    seen.failed("a transaction signature swapped", verify(&swapped), 1, Some(1), BlockError::Tx(TxError::BadSignature));

    // A ledger file opened from a snapshot of block 2 that holds the state after block 1 (its checksum made
    // anew): opening takes it up, and verification finds that the blocks give another state.
    let (height, report) = forged_snapshot_report();
    seen.failed("a snapshot holding an earlier state", report, height, None, BlockError::SnapshotMismatch);

    // Every variant was produced (`name` returns only listed names, by construction), and none is listed
    // twice.
    let listed: BTreeSet<&str> = NAMES.iter().copied().collect();
    assert_eq!(listed.len(), NAMES.len(), "a name is listed twice: {NAMES:?}");
    assert_eq!(seen.0, listed, "variants never produced: {:?}", listed.difference(&seen.0).collect::<Vec<_>>());
}

/// Opens a ledger file whose newest snapshot, of its last block, holds the state before that block, and
/// verifies it: the snapshot's height and the report.
fn forged_snapshot_report() -> (u64, VerifyReport) {
    let dir = std::env::temp_dir().join(format!("hc-forged-snapshot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("f.ledger");
    let hospital = key(1);
    let clock = ManualClock::new(T0);
    let settings = LedgerSettings::new("forged");
    let mut ledger = Ledger::create_file(&path, Box::new(clock.clone()), &settings, &[&hospital]).unwrap();
    ledger.register(&hospital, &key(2), Role::Patient).unwrap();
    ledger.seal(&[&hospital]).unwrap();
    let earlier = ledger.snapshot().unwrap();
    ledger.register(&hospital, &key(3), Role::Patient).unwrap();
    let height = ledger.seal(&[&hospital]).unwrap().header.height;
    assert_eq!(ledger.write_snapshot().unwrap(), height);
    let files = crate::snapshot::SnapshotFiles::in_dir(crate::snapshot::snapshots_dir(&path));
    let newest = files.newest_first().remove(0);
    let (_, local) = newest.read().unwrap();
    let forged = crate::snapshot::encode(ledger.head().unwrap(), ledger.tree(), earlier.state());
    files.write(height, &forged, &local).unwrap();
    drop(ledger);
    let ledger = Ledger::open_file(&path, Box::new(clock), crate::store::OpenOptions::default()).unwrap();
    assert_eq!(ledger.opened_from_snapshot(), Some(height));
    let report = ledger.verify();
    drop(ledger);
    std::fs::remove_dir_all(&dir).unwrap();
    (height, report)
}
