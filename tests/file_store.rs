//! The file store: create, append, reopen, locking, readers beside a writer, and recovery's boundaries.

mod support;

use healthchain::*;
use std::path::PathBuf;
use support::*;

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("healthchain-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("ledger.hcl")
}

/// Copies the blocks of a busy in-memory ledger into a new file.
fn busy_file(name: &str) -> (PathBuf, Vec<Vec<u8>>) {
    let path = temp_path(name);
    let blocks = blocks(&busy_network());
    let mut store = FileStore::create(&path).unwrap();
    for (h, b) in blocks.iter().enumerate() {
        store.append(h as u64, b).unwrap();
    }
    (path, blocks)
}

#[test]
fn a_ledger_file_round_trips_and_reopens_fast() {
    let path = temp_path("roundtrip");
    let clock = ManualClock::new(T0);
    let hospital = key(1);
    let mut ledger =
        Ledger::create_file(&path, Box::new(clock.clone()), &LedgerSettings::new("file"), &[&hospital]).unwrap();
    let patient = ledger.register(&hospital, &key(2), Role::Patient).unwrap();
    ledger.seal(&[&hospital]).unwrap();
    let chain = ledger.chain();
    let root = ledger.tree().root();
    drop(ledger);

    let ledger = Ledger::open_file(&path, Box::new(clock.clone()), OpenOptions::default()).unwrap();
    assert_eq!((ledger.chain(), ledger.tree().root(), ledger.block_count()), (chain, root, 2));
    assert_eq!(ledger.store().recovery(), None);
    assert_eq!(ledger.store().chain_id().unwrap(), Some(chain));
    assert!(ledger.actor(&patient).is_some());
    assert!(ledger.verify().is_valid());
    // A second writer is refused while the first holds the lock; a reader is not.
    let second = FileStore::open(&path, OpenOptions::default());
    assert!(matches!(second, Err(StoreError::Locked)), "{second:?}");
    let reader = FileStore::open(&path, OpenOptions { read_only: true, strict: false }).unwrap();
    assert_eq!(reader.len(), 2);
    drop(ledger);
    assert!(FileStore::open(&path, OpenOptions::default()).is_ok());
    assert!(matches!(FileStore::create(&path), Err(StoreError::Io(_))));
}

#[test]
fn every_truncation_reopens_to_the_last_complete_block() {
    let (path, blocks) = busy_file("truncate");
    let bytes = std::fs::read(&path).unwrap();
    let frame_ends: Vec<u64> = {
        let store = FileStore::open(&path, OpenOptions { read_only: true, strict: false }).unwrap();
        (1..=blocks.len() as u64).map(|h| store.location(h).unwrap_or(bytes.len() as u64)).collect()
    };
    for cut in 0..=bytes.len() {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let complete = frame_ends.iter().filter(|end| **end <= cut as u64).count();
        let store = FileStore::open(&path, OpenOptions::default()).unwrap();
        assert_eq!(store.len(), complete as u64, "cut at {cut}");
        let recovered = std::fs::metadata(&path).unwrap().len();
        match store.recovery() {
            None => assert_eq!(recovered, cut as u64),
            Some(r) => {
                assert_eq!((r.lost_height, r.cut), (complete as u64, true), "cut at {cut}");
                assert_eq!(r.offset + r.bytes_removed, cut as u64);
                assert_eq!(recovered, r.offset);
            }
        }
        for h in 0..store.len() {
            assert_eq!(store.read(h).unwrap(), blocks[h as usize]);
        }
    }
}

#[test]
fn damage_before_the_end_is_an_error_and_leaves_the_file_untouched() {
    let (path, _) = busy_file("damage");
    let bytes = std::fs::read(&path).unwrap();
    let store = FileStore::open(&path, OpenOptions { read_only: true, strict: false }).unwrap();
    let second = store.location(2).unwrap();
    drop(store);
    let mut damaged = bytes.clone();
    damaged[second as usize + 40] ^= 0x01;
    std::fs::write(&path, &damaged).unwrap();
    let err = FileStore::open(&path, OpenOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Damaged { offset, height: 2, .. } if offset == second), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), damaged);
}

#[test]
fn strict_mode_refuses_to_cut_and_readers_never_cut() {
    let (path, blocks) = busy_file("strict");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0u8; 100]);
    std::fs::write(&path, &bytes).unwrap();
    let err = FileStore::open(&path, OpenOptions { read_only: false, strict: true }).unwrap_err();
    assert!(matches!(err, StoreError::TornTail { height, .. } if height == blocks.len() as u64), "{err}");
    let reader = FileStore::open(&path, OpenOptions { read_only: true, strict: false }).unwrap();
    assert_eq!(reader.len(), blocks.len() as u64);
    assert_eq!(reader.recovery().map(|r| (r.bytes_removed, r.cut)), Some((100, false)));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn an_interrupted_creation_can_be_created_again() {
    let path = temp_path("interrupted");
    std::fs::write(&path, b"").unwrap();
    let clock = ManualClock::new(T0);
    let ledger = Ledger::create_file(&path, Box::new(clock), &LedgerSettings::new("again"), &[&key(1)]).unwrap();
    assert_eq!(ledger.block_count(), 1);
}

#[test]
fn a_file_that_is_not_a_ledger_is_refused_untouched() {
    let path = temp_path("foreign");
    std::fs::write(&path, b"%PDF-1.7 not a ledger").unwrap();
    assert!(matches!(FileStore::open(&path, OpenOptions::default()), Err(StoreError::NotALedger)));
    assert_eq!(std::fs::read(&path).unwrap(), b"%PDF-1.7 not a ledger");
}
