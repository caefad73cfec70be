//! The canonical snapshot against replay: a snapshot after every block of a generated ledger decodes to a
//! state that answers every question as the replayed one does and, replaying the remaining blocks, ends in
//! the same state; bytes that decode are the canonical bytes of what they decode to; damage never panics.

use super::*;
use crate::codes::{Action, Code, Role};
use crate::consent::CheckRequest;
use crate::ledger::Ledger;
use crate::replay::Replayer;
use crate::store::{MemoryStore, Store};
use crate::workload::{self, Spec};
use proptest::prelude::*;

/// The blocks of a generated ledger with every kind of transaction.
fn generated_blocks(transactions: u64, block_size: u64) -> Vec<Vec<u8>> {
    let spec = Spec { patients: 8, transactions, seed: 11, block_size, max_consents: None };
    let clock = spec.clock();
    let mut ledger =
        Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &spec.settings(), &[&spec.authority()]).unwrap();
    workload::generate(&mut ledger, &clock, &spec, &mut |_| {}).unwrap();
    ledger.into_store().blocks().to_vec()
}

/// The snapshot of a replayer after its last block.
fn snapshot_of(replayer: &Replayer) -> Snapshot {
    let head = replayer.head().unwrap();
    Snapshot::new(head.header.clone(), replayer.tree().clone(), replayer.state().clone())
}

/// Every decision between the state's actors on a few sections and purposes, as of `height`, at `at`.
fn decisions(state: &State, height: u64, at: u64) -> Vec<String> {
    let view = state.as_of(height);
    let actors = view.actors();
    let mut out = Vec::new();
    for patient in actors.iter().filter(|a| a.role == Role::Patient) {
        for requester in &actors {
            for (section, purpose) in [("labs", "TREAT"), ("medications", "HPAYMT"), ("notes", "ETREAT")] {
                let request = CheckRequest {
                    patient: patient.id,
                    requester: requester.id,
                    section: Code::new(section).unwrap(),
                    purpose: Code::new(purpose).unwrap(),
                    action: Action::Read,
                    at,
                };
                out.push(format!("{:?}", view.check(&request)));
            }
        }
    }
    out
}

#[test]
fn a_snapshot_after_every_block_resumes_to_the_replayed_state() {
    let blocks = generated_blocks(240, 9);
    let mut full = Replayer::trusting_signatures();
    for block in &blocks {
        full.apply_block(block).unwrap();
    }
    let end = snapshot_of(&full).to_bytes();
    let last_time = full.head().unwrap().header.timestamp;
    let mut replayer = Replayer::trusting_signatures();
    for (height, block) in blocks.iter().enumerate() {
        replayer.apply_block(block).unwrap();
        let bytes = snapshot_of(&replayer).to_bytes();
        let decoded = Snapshot::from_bytes(&bytes).unwrap();
        assert_eq!(decoded.to_bytes(), bytes, "canonical at height {height}");
        assert_eq!(decoded.block_hash(), replayer.head().unwrap().hash);
        let (header, tree, state) = decoded.into_parts();
        let at = header.timestamp;
        assert_eq!(decisions(&state, u64::MAX, at), decisions(replayer.state(), u64::MAX, at), "height {height}");
        assert_eq!(state.pending_reviews(), replayer.state().pending_reviews());
        let mut resumed = Replayer::resume(state, tree, header);
        for later in &blocks[height + 1..] {
            resumed.apply_block(later).unwrap();
        }
        assert_eq!(snapshot_of(&resumed).to_bytes(), end, "resumed from height {height}");
        let (mid, late) = ((height as u64) / 2, last_time);
        assert_eq!(decisions(resumed.state(), mid, late), decisions(full.state(), mid, late), "as of {mid}");
    }
}

#[test]
fn snapshots_refuse_what_no_replay_gives() {
    let blocks = generated_blocks(60, 10);
    let mut replayer = Replayer::trusting_signatures();
    for block in &blocks {
        replayer.apply_block(block).unwrap();
    }
    let bytes = snapshot_of(&replayer).to_bytes();
    let malformed = |bytes: &[u8]| matches!(Snapshot::from_bytes(bytes), Err(SnapshotError::Malformed(_)));
    assert!(malformed(&bytes[..bytes.len() - 1]), "cut short");
    assert!(malformed(&[bytes.as_slice(), &[0]].concat()), "trailing byte");
    let mut version = bytes.clone();
    version[0] = 2;
    assert!(malformed(&version), "unknown version");
    // The tree size (right after the version and the header) no longer the header's.
    let header_len = replayer.head().unwrap().header.to_bytes().len();
    let mut size = bytes.clone();
    size[1 + header_len] ^= 1;
    assert!(malformed(&size), "tree of another size");
    let mut root = bytes.clone();
    root[1 + header_len + 8] ^= 1;
    assert!(malformed(&root), "tree of another root");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Damaged bytes either fail to decode or decode to something whose canonical bytes they are.
    #[test]
    fn damaged_snapshots_decode_canonically_or_not_at_all(
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..), 1..4),
        cut in any::<prop::sample::Index>(),
        cut_it in any::<bool>(),
    ) {
        let bytes = snapshot_bytes();
        let mut damaged = bytes.to_vec();
        for (at, mask) in flips {
            let at = at.index(damaged.len());
            damaged[at] ^= mask;
        }
        if cut_it {
            damaged.truncate(cut.index(damaged.len()));
        }
        if let Ok(snapshot) = Snapshot::from_bytes(&damaged) {
            prop_assert_eq!(snapshot.to_bytes(), damaged);
        }
    }
}

/// One generated ledger's final snapshot, made once for all cases.
fn snapshot_bytes() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let mut replayer = Replayer::trusting_signatures();
        for block in generated_blocks(80, 10) {
            replayer.apply_block(&block).unwrap();
        }
        snapshot_of(&replayer).to_bytes()
    })
}

#[test]
fn the_memory_store_keeps_no_snapshot_files() {
    let spec = Spec { patients: 2, transactions: 10, seed: 1, block_size: 5, max_consents: None };
    let clock = spec.clock();
    let mut ledger =
        Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &spec.settings(), &[&spec.authority()]).unwrap();
    workload::generate(&mut ledger, &clock, &spec, &mut |_| {}).unwrap();
    assert!(matches!(ledger.write_snapshot(), Err(crate::LedgerError::Snapshot(SnapshotError::NoPlace))));
    let snapshot = ledger.snapshot().unwrap();
    assert_eq!(snapshot.height() + 1, ledger.store().len());
    assert_eq!(Snapshot::from_bytes(&snapshot.to_bytes()).unwrap().digest(), snapshot.digest());
}

#[test]
fn a_snapshot_the_blocks_after_it_do_not_follow_from_is_passed_over() {
    use crate::clock::ManualClock;
    use crate::keys::SigningKey;
    use crate::ledger::LedgerSettings;
    use crate::store::OpenOptions;
    let dir = std::env::temp_dir().join(format!("hc-snapshot-tail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.ledger");
    let hospital = SigningKey::from_seed(&[1; 32]);
    let clock = ManualClock::new(1_700_000_000_000);
    let settings = LedgerSettings::new("tail");
    let mut ledger = Ledger::create_file(&path, Box::new(clock.clone()), &settings, &[&hospital]).unwrap();
    let genesis = ledger.snapshot().unwrap();
    ledger.register(&hospital, &SigningKey::from_seed(&[2; 32]), Role::Patient).unwrap();
    ledger.seal(&[&hospital]).unwrap();
    let first = ledger.snapshot().unwrap();
    assert_eq!(ledger.write_snapshot().unwrap(), 1);
    ledger.register(&hospital, &SigningKey::from_seed(&[3; 32]), Role::Patient).unwrap();
    ledger.seal(&[&hospital]).unwrap();
    let end = ledger.snapshot().unwrap().to_bytes();
    drop(ledger);
    // The snapshot of block 1 made to hold the state after genesis (its checksum made anew): block 2 does
    // not follow from it (the authority's sequence number), so opening replays from genesis instead.
    let files = SnapshotFiles::in_dir(snapshots_dir(&path));
    let (_, local) = files.newest_first().remove(0).read().unwrap();
    files.write(1, &encode(first.header(), &first.tree, genesis.state()), &local).unwrap();
    let ledger = Ledger::open_file(&path, Box::new(clock), OpenOptions::default()).unwrap();
    assert_eq!(ledger.opened_from_snapshot(), None);
    assert_eq!(ledger.snapshot().unwrap().to_bytes(), end);
    assert!(files.newest_first().is_empty(), "the snapshot is removed");
    drop(ledger);
    std::fs::remove_dir_all(&dir).unwrap();
}
