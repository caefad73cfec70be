//! The file store: create, append, reopen, locking, readers beside a writer, and recovery's boundaries.

mod support;

#[allow(dead_code)]
#[path = "../fuzz/harness/mem_file.rs"]
mod mem_file;

use healthchain::*;
use mem_file::MemFile;
use std::path::PathBuf;
use support::*;

fn temp_path(name: &str) -> PathBuf {
    temp_dir(name).join("ledger.hcl")
}

/// Copies the blocks of a busy in-memory ledger into a new file.
fn busy_file(name: &str) -> (PathBuf, Vec<Vec<u8>>) {
    let path = temp_path(name);
    let blocks = blocks(&busy_network());
    write_ledger_file(&path, &blocks);
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
fn a_writer_reserves_space_ahead_that_every_open_leaves_and_gives_it_back_when_closed() {
    let path = temp_path("reserved");
    let clock = ManualClock::new(T0);
    let hospital = key(1);
    let mut ledger =
        Ledger::create_file(&path, Box::new(clock.clone()), &LedgerSettings::new("file"), &[&hospital]).unwrap();
    let genesis_only = std::fs::metadata(&path).unwrap().len();
    let mut sizes = Vec::new();
    for seed in 2..40u8 {
        clock.advance(1000);
        ledger.register(&hospital, &key(seed), Role::Patient).unwrap();
        ledger.seal(&[&hospital]).unwrap();
        sizes.push(std::fs::metadata(&path).unwrap().len());
    }
    // The first append after genesis reserved space; the next ones wrote into it without changing the size.
    assert!(sizes[0] >= genesis_only + healthchain::store::MIN_RESERVED, "{genesis_only} then {sizes:?}");
    assert!(sizes.iter().all(|size| *size == sizes[0]), "{sizes:?}");
    let reserved = frames_of(&path);
    let file_len = sizes[0] as usize;
    assert!(reserved.len() < file_len);

    // What a crash leaves: the frames and the zeros after them. Readers and strict opens see every block
    // and no recovery; a writer neither cuts nor reports anything, appends over the zeros, and the ledger
    // verifies.
    let crashed = temp_path("reserved-crash");
    std::fs::copy(&path, &crashed).unwrap();
    drop(ledger);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), reserved.len() as u64, "not given back on close");
    for options in [
        OpenOptions { read_only: true, strict: false },
        OpenOptions { read_only: true, strict: true },
        OpenOptions { read_only: false, strict: true },
    ] {
        let store = FileStore::open(&crashed, options).unwrap();
        assert_eq!((store.len(), store.recovery(), store.size()), (39, None, reserved.len() as u64), "{options:?}");
        let size = std::fs::metadata(&crashed).unwrap().len();
        assert_eq!(size, file_len as u64, "{options:?}: opening changed the reserved space");
    }
    // The strict writer gave the space back when it closed: what the crash left, again.
    assert_eq!(std::fs::read(&crashed).unwrap(), reserved);
    std::fs::write(&crashed, [reserved.clone(), vec![0; file_len - reserved.len()]].concat()).unwrap();
    let mut ledger = Ledger::open_file(&crashed, Box::new(clock.clone()), OpenOptions::default()).unwrap();
    assert_eq!((ledger.block_count(), ledger.store().recovery()), (39, None));
    clock.advance(1000);
    ledger.register(&hospital, &key(99), Role::Patient).unwrap();
    ledger.seal(&[&hospital]).unwrap();
    assert_eq!(std::fs::metadata(&crashed).unwrap().len(), file_len as u64, "the append did not use the space");
    assert!(ledger.verify().is_valid());
    drop(ledger);
    assert!(frames_of(&crashed).starts_with(&reserved));
}

#[test]
fn every_truncation_reopens_to_the_last_complete_block() {
    let (path, blocks) = busy_file("truncate");
    let bytes = frames_of(&path);
    let frame_ends: Vec<u64> = {
        let store = FileStore::open(&path, OpenOptions { read_only: true, strict: false }).unwrap();
        (1..=blocks.len() as u64).map(|h| store.location(h).unwrap_or(bytes.len() as u64)).collect()
    };
    for cut in 0..=bytes.len() {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let complete = frame_ends.iter().filter(|end| **end <= cut as u64).count();
        if complete == 0 && cut > 0 {
            // An interrupted creation: never cut on open; `create` takes it over.
            let opened = FileStore::open(&path, OpenOptions::default());
            assert!(matches!(opened, Err(StoreError::IncompleteCreation)), "cut at {cut}: {opened:?}");
            assert_eq!(std::fs::read(&path).unwrap(), &bytes[..cut]);
            continue;
        }
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

/// The file bytes of `blocks`, as the store writes them.
fn file_of(name: &str, blocks: &[Vec<u8>]) -> Vec<u8> {
    let path = temp_path(name);
    write_ledger_file(&path, blocks);
    frames_of(&path)
}

/// Ledgers whose last frame is flipped bit by bit: the busy network, one holding only genesis, and one
/// whose last block holds almost all of its bytes.
fn flip_fixtures() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let busy = blocks(&busy_network());
    let genesis_only = vec![busy[0].clone()];
    let mut net = network();
    for seed in 100..160u8 {
        net.ledger.register(&net.hospital, &key(seed), Role::Provider).unwrap();
    }
    net.ledger.seal(&[&net.hospital]).unwrap();
    vec![("busy", busy), ("genesis-only", genesis_only), ("big-last-block", blocks(&net))]
}

#[test]
fn a_flipped_bit_anywhere_in_the_last_frame_is_damage_never_a_shorter_ledger() {
    // Regressions (issue 8, A2 and A3): one flipped bit in a complete last frame was taken for a torn append
    // and the block cut (97 % of a file, in one case); a ledger holding only genesis was wiped to 0 bytes.
    for (name, blocks) in flip_fixtures() {
        let bytes = file_of(name, &blocks);
        let last = blocks.len() as u64 - 1;
        let clean = FileStore::from_file(MemFile::new(&bytes), OpenOptions { read_only: true, strict: false });
        let last_frame = clean.unwrap().location(last).unwrap() as usize;
        // For a genesis-only ledger the whole file is its one append: the file header too.
        let first = if last == 0 { 0 } else { last_frame };
        let share = (bytes.len() - first) * 100 / bytes.len();
        let mut kinds = std::collections::BTreeMap::new();
        // One file in memory, each bit flipped in it and back: opening it must never write to it.
        let file = MemFile::new(&bytes);
        for at in first..bytes.len() {
            for bit in 0..8 {
                let context = format!("{name}: byte {at} bit {bit}");
                for options in [OpenOptions::default(), OpenOptions { read_only: true, strict: false }] {
                    file.disk().bytes[at] ^= 1 << bit;
                    let opened = FileStore::from_file(file.clone(), options);
                    let kind = match opened {
                        Err(StoreError::Damaged { offset, height, .. }) => {
                            assert_eq!(height, last, "{context}");
                            assert!(offset == last_frame as u64 || (last == 0 && offset == 0), "{context}");
                            "damaged"
                        }
                        // The magic of the file itself: the file is no longer recognisable, and left alone.
                        Err(StoreError::NotALedger) if last == 0 && at < 8 => "not a ledger",
                        Err(e) => panic!("{context}: {e}"),
                        Ok(store) => panic!("{context}: opened with {} blocks, {:?}", store.len(), store.recovery()),
                    };
                    assert_eq!(file.disk().changes, 0, "{context}: the damaged file was written");
                    file.disk().bytes[at] ^= 1 << bit;
                    *kinds.entry(kind).or_insert(0) += 1;
                }
            }
        }
        eprintln!("{name}: last append = {share}% of {} bytes: {kinds:?}", bytes.len());
    }
}

#[test]
fn a_damaged_genesis_only_ledger_is_never_taken_over_by_create() {
    let bytes = file_of("genesis-flip", &blocks(&busy_network())[..1]);
    let path = temp_path("genesis-take-over");
    for at in [0, 9, 20, 47, 48, 60, 100, bytes.len() - 1] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x04;
        std::fs::write(&path, &damaged).unwrap();
        assert!(Ledger::open_file(&path, Box::new(ManualClock::new(T0)), OpenOptions::default()).is_err());
        let created = Ledger::create_file(&path, Box::new(ManualClock::new(T0)), &LedgerSettings::new("x"), &[&key(1)]);
        assert!(
            matches!(created, Err(LedgerError::Store(StoreError::Io(ref e))) if e.kind() == std::io::ErrorKind::AlreadyExists)
        );
        assert_eq!(std::fs::read(&path).unwrap(), damaged, "byte {at}: the file was changed");
    }
}

#[test]
fn opening_reads_each_byte_a_bounded_number_of_times_whatever_the_tail() {
    // Regression (issue 8, A4): after a bad frame, recovery checksummed the whole claimed frame at every
    // frame-magic look-alike of the tail: 1 MiB of crafted tail took 4.4 s. Opening now reads every byte at
    // most twice (the frames once; a tail checked for zeros once more), counted here rather than timed.
    let blocks = blocks(&busy_network());
    let good = file_of("linear", &blocks);
    let next = blocks.len() as u64;
    let header = |height: u64, len: u32| {
        let mut h = Vec::new();
        h.extend_from_slice(b"HCBK");
        h.extend_from_slice(&height.to_le_bytes());
        h.extend_from_slice(&len.to_le_bytes());
        h.extend_from_slice(&crc32c::crc32c(b"").to_le_bytes());
        let crc = crc32c::crc32c(&h);
        h.extend_from_slice(&crc.to_le_bytes());
        h
    };
    const MIB: usize = 1 << 20;
    let mut tails: Vec<(&str, Vec<u8>)> = Vec::new();
    // Look-alike headers of every later height, each claiming the rest of the file, back to back.
    let mut lookalikes = Vec::new();
    while lookalikes.len() < MIB {
        let rest = (MIB - lookalikes.len()) as u32;
        lookalikes.extend(header(next + 1 + lookalikes.len() as u64, rest));
    }
    tails.push(("look-alikes of later heights", lookalikes.clone()));
    tails.push(("garbage, then look-alikes", [vec![0xEE; 100], lookalikes].concat()));
    tails.push(("zeros", vec![0; MIB]));
    tails.push(("zeros then one byte", [vec![0; MIB], vec![1]].concat()));
    let mut complete = header(next, (MIB - 28) as u32);
    complete.extend(vec![0; MIB - 28]);
    complete.extend_from_slice(b"HCFE");
    tails.push(("a complete frame of zeros", complete));
    tails.push(("a header claiming 64 MiB", [header(next, 64 << 20), vec![7; MIB]].concat()));
    for (name, tail) in tails {
        let file = [good.clone(), tail].concat();
        let counted = MemFile::new(&file);
        // Zeros alone are space a writer reserved; anything else that opens is an interrupted append.
        let torn = (name != "zeros").then_some(good.len() as u64);
        match FileStore::from_file(counted.clone(), OpenOptions { read_only: true, strict: false }) {
            Ok(store) => assert_eq!((store.len(), store.recovery().map(|r| r.offset)), (next, torn), "{name}"),
            Err(StoreError::Damaged { offset, height, .. }) => assert_eq!((offset, height), (good.len() as u64, next)),
            Err(e) => panic!("{name}: {e}"),
        }
        assert_eq!(counted.disk().changes, 0, "{name}: a reader wrote");
        let read = counted.disk().read;
        assert!(read <= 2 * file.len() as u64, "{name}: {read} bytes read for a file of {}", file.len());
        eprintln!("{name}: {read} bytes read for a file of {}", file.len());
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
    let mut bytes = frames_of(&path);
    // The first bytes of the next frame's magic, then zeros: an interrupted append.
    bytes.extend_from_slice(b"HC");
    bytes.extend_from_slice(&[0u8; 98]);
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
