//! State snapshots beside a ledger file: a writer or reader opened from the newest one that matches answers
//! exactly as a full replay of the same blocks does, after every block; a snapshot that is damaged, deleted,
//! half written, stale (the ledger was cut back or replaced) or out of step with the access history is
//! passed over, never trusted over the ledger.

mod support;

use healthchain::workload::{self, Spec};
use healthchain::*;
use std::path::{Path, PathBuf};
use support::temp_dir;

fn spec(transactions: u64, seed: u64) -> Spec {
    Spec { patients: 10, transactions, seed, block_size: 8, max_consents: None }
}

/// Generates `spec`'s ledger in a new file at `path`, with a snapshot every `interval` transactions.
fn generate_file(path: &Path, spec: &Spec, interval: u64) -> ManualClock {
    let clock = spec.clock();
    let mut ledger =
        Ledger::create_file(path, Box::new(clock.clone()), &spec.settings(), &[&spec.authority()]).unwrap();
    ledger.set_snapshot_interval(interval);
    workload::generate(&mut ledger, &clock, spec, &mut |_| {}).unwrap();
    clock
}

fn open(path: &Path, clock: &ManualClock, read_only: bool) -> Ledger<FileStore> {
    let options = OpenOptions { read_only, ..OpenOptions::default() };
    Ledger::open_file(path, Box::new(clock.clone()), options).unwrap()
}

/// Everything a ledger answers from its state and history: the canonical state, every actor's accesses and
/// anchors, every access, the pending reviews, every transaction's position, and a root of the tree.
fn answers(ledger: &Ledger<FileStore>) -> Vec<String> {
    let mut out = vec![format!("{:?}", ledger.snapshot().unwrap().to_bytes())];
    for actor in ledger.state().latest().actors() {
        let accesses = ledger.access_history(&actor.id).unwrap();
        for access in &accesses {
            out.push(format!("{:?}", ledger.access(&access.id).unwrap()));
        }
        out.push(format!("{accesses:?}"));
        out.push(format!("{:?}", ledger.accesses_by(&actor.id).unwrap()));
        out.push(format!("{:?}", ledger.anchors_of(&actor.id).unwrap()));
    }
    out.push(format!("{:?}", ledger.pending_reviews()));
    for height in 0..ledger.block_count() {
        for tx in Block::from_bytes(&ledger.store().read(height).unwrap()).unwrap().txs {
            out.push(format!("{:?}", ledger.position_of(&tx.id()).unwrap()));
        }
    }
    out.push(format!("{:?}", ledger.root_at(ledger.tree().size() / 2).unwrap()));
    out
}

/// What a full replay of the ledger file at `path` answers (a copy of the file alone, opened read-only).
fn replayed(path: &Path, clock: &ManualClock) -> Vec<String> {
    // Named after the ledger's directory too: tests in parallel replay ledgers of the same file name.
    let parent = path.parent().and_then(Path::file_name).unwrap_or_default().to_string_lossy();
    let dir = temp_dir(&format!("replayed-{parent}-{}", path.file_name().unwrap().to_string_lossy()));
    let copy = dir.join("copy.ledger");
    std::fs::copy(path, &copy).unwrap();
    let ledger = open(&copy, clock, true);
    assert_eq!(ledger.opened_from_snapshot(), None);
    let answers = answers(&ledger);
    drop(ledger);
    std::fs::remove_dir_all(dir).unwrap();
    answers
}

/// The heights of the snapshot files beside `path`, newest first.
fn snapshot_heights(path: &Path) -> Vec<u64> {
    let mut heights: Vec<u64> = std::fs::read_dir(snapshots_dir(path))
        .map(|entries| {
            entries.filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".snapshot")?.parse().ok()).collect()
        })
        .unwrap_or_default();
    heights.sort_unstable_by(|a, b| b.cmp(a));
    heights
}

fn snapshot_file(path: &Path, height: u64) -> PathBuf {
    snapshots_dir(path).join(format!("{height:020}.snapshot"))
}

/// Registers a patient and a provider, has the patient grant the provider access and the provider read,
/// and seals: one more block of every-day work, by the generated ledger's authority.
fn one_more_block(ledger: &mut Ledger<FileStore>, spec: &Spec, step: u8) {
    let hospital = spec.authority();
    let patient_key = SigningKey::from_seed(&[step; 32]);
    let doctor_key = SigningKey::from_seed(&[step.wrapping_add(100); 32]);
    let patient = ledger.register(&hospital, &patient_key, Role::Patient).unwrap();
    let doctor = ledger.register(&hospital, &doctor_key, Role::Provider).unwrap();
    let now = ledger.now();
    let grant = ConsentGrant {
        patient,
        grantee: Grantee::Actor(doctor),
        sections: CodeSet::new([Code::new("labs").unwrap()]).unwrap(),
        purposes: CodeSet::new([Code::new("TREAT").unwrap()]).unwrap(),
        actions: Actions::READ,
        effect: Effect::Permit,
        window: Window { not_before: now, not_after: None },
        exceptions: Vec::new(),
    };
    let granted = ledger.grant_consent(&patient_key, grant).unwrap();
    let request = CheckRequest {
        patient,
        requester: doctor,
        section: Code::new("labs").unwrap(),
        purpose: Code::new("TREAT").unwrap(),
        action: Action::Read,
        at: now,
    };
    let access = RecordAccess::for_request(&request, AccessBasis::Consents(vec![granted.consent]));
    ledger.record_access(&doctor_key, access).unwrap();
    ledger.seal(&[&hospital]).unwrap();
}

#[test]
fn writers_and_readers_open_from_the_newest_snapshot_and_answer_as_a_full_replay() {
    let dir = temp_dir("snapshot-open");
    let path = dir.join("s.ledger");
    let spec = spec(500, 5);
    let clock = generate_file(&path, &spec, 60);
    let heights = snapshot_heights(&path);
    assert_eq!(heights.len(), snapshot::KEPT, "the newest {} are kept: {heights:?}", snapshot::KEPT);
    let expected = replayed(&path, &clock);

    let history = std::fs::read(history_path(&path)).unwrap();
    let mut reader = open(&path, &clock, true);
    assert!(matches!(reader.write_snapshot(), Err(LedgerError::Store(StoreError::ReadOnly))));
    assert_eq!(reader.opened_from_snapshot(), Some(heights[0]));
    assert_eq!(answers(&reader), expected);
    assert!(reader.verify().is_valid());
    drop(reader);
    assert_eq!(std::fs::read(history_path(&path)).unwrap(), history, "a reader changes nothing");

    let mut writer = open(&path, &clock, false);
    assert_eq!(writer.opened_from_snapshot(), Some(heights[0]));
    assert_eq!(answers(&writer), expected);
    assert!(writer.verify().is_valid());
    // The writer goes on from there; the next open starts from the snapshot it writes.
    for step in 1..=3 {
        one_more_block(&mut writer, &spec, step);
    }
    writer.register(&spec.authority(), &SigningKey::from_seed(&[77; 32]), Role::Auditor).unwrap();
    assert!(matches!(writer.write_snapshot(), Err(LedgerError::Snapshot(SnapshotError::Unsealed))));
    writer.seal(&[&spec.authority()]).unwrap();
    let height = writer.write_snapshot().unwrap();
    assert_eq!(height + 1, writer.block_count());
    drop(writer);
    let writer = open(&path, &clock, false);
    assert_eq!(writer.opened_from_snapshot(), Some(height));
    assert_eq!(answers(&writer), replayed(&path, &clock));
    drop(writer);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn after_every_block_a_reopened_writer_answers_as_a_full_replay() {
    let dir = temp_dir("snapshot-every-block");
    let path = dir.join("e.ledger");
    let spec = spec(120, 8);
    let clock = generate_file(&path, &spec, 1);
    let mut from = snapshot_heights(&path)[0];
    for step in 1..=12u8 {
        let mut writer = open(&path, &clock, false);
        assert_eq!(writer.opened_from_snapshot(), Some(from), "step {step}");
        assert_eq!(answers(&writer), replayed(&path, &clock), "step {step}");
        // Every third block is sealed without a snapshot: the next open replays it after the one before.
        let skip = step % 3 == 0;
        writer.set_snapshot_interval(if skip { 0 } else { 1 });
        clock.advance(60_000);
        one_more_block(&mut writer, &spec, step);
        if !skip {
            from = writer.block_count() - 1;
        }
        drop(writer);
        assert_eq!(snapshot_heights(&path)[0], from, "step {step}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A generated ledger with its history and snapshots, kept to be restored before each damage.
struct Pristine {
    path: PathBuf,
    clock: ManualClock,
    files: Vec<(PathBuf, Vec<u8>)>,
    heights: Vec<u64>,
    expected: Vec<String>,
}

impl Pristine {
    fn new(dir: &Path) -> Self {
        let path = dir.join("p.ledger");
        let clock = generate_file(&path, &spec(400, 13), 50);
        // One more block, without a snapshot: the history then always has a tail of the writer's own after
        // the newest snapshot's part (which block the last automatic snapshot follows depends on how long
        // the one before took to write, on a thread of its own: on a slow host, the last block).
        let mut writer = open(&path, &clock, false);
        writer.set_snapshot_interval(0);
        clock.advance(60_000);
        one_more_block(&mut writer, &spec(400, 13), 1);
        drop(writer);
        let heights = snapshot_heights(&path);
        let mut files = vec![path.clone(), history_path(&path)];
        files.extend(heights.iter().map(|h| snapshot_file(&path, *h)));
        let files = files.into_iter().map(|f| (f.clone(), std::fs::read(&f).unwrap())).collect();
        let expected = replayed(&path, &clock);
        Self { path, clock, files, heights, expected }
    }

    fn restore(&self) {
        let _ = std::fs::remove_dir_all(snapshots_dir(&self.path));
        std::fs::create_dir_all(snapshots_dir(&self.path)).unwrap();
        for (file, bytes) in &self.files {
            std::fs::write(file, bytes).unwrap();
        }
    }

    /// Opens the writer after `damage` and checks it answers as a full replay, opened from `from`.
    #[track_caller]
    fn opens_after(&self, what: &str, from: Option<u64>, damage: impl FnOnce(&Path)) {
        self.restore();
        damage(&self.path);
        let ledger = open(&self.path, &self.clock, false);
        assert_eq!(ledger.opened_from_snapshot(), from, "{what}");
        assert_eq!(answers(&ledger), self.expected, "{what}");
        assert!(ledger.verify().is_valid(), "{what}");
        drop(ledger);
        // Whatever it passed over, the next open starts from a snapshot again: the one used, or the one
        // written once the interval is due (it was 50 transactions when the ledger was generated).
        if from.is_none() {
            let mut ledger = open(&self.path, &self.clock, false);
            assert!(snapshot_heights(&self.path).is_empty(), "{what}: the default interval is not due");
            ledger.set_snapshot_interval(50);
            assert_eq!(snapshot_heights(&self.path), [ledger.block_count() - 1], "{what}: written when due");
        }
        let again = open(&self.path, &self.clock, false);
        assert!(again.opened_from_snapshot().is_some(), "{what}: reopened");
        assert_eq!(answers(&again), self.expected, "{what}: reopened");
    }
}

#[test]
fn damaged_deleted_half_written_and_desynchronised_snapshots_are_passed_over() {
    let dir = temp_dir("snapshot-damage");
    let pristine = Pristine::new(&dir);
    let [newest, older] = pristine.heights[..] else { panic!("two snapshots: {:?}", pristine.heights) };
    let newest_file = snapshot_file(&pristine.path, newest);
    let len = std::fs::metadata(&newest_file).unwrap().len() as usize;

    pristine.opens_after("untouched", Some(newest), |_| {});
    // A changed byte anywhere in the newest file (about 300 places, its ends and every part in between).
    let offsets: Vec<usize> = (0..64).chain((64..len).step_by(len / 256 + 1)).chain(len - 64..len).collect();
    for at in offsets {
        pristine.opens_after(&format!("byte {at} of the newest changed"), Some(older), |_| {
            let mut bytes = std::fs::read(&newest_file).unwrap();
            bytes[at] ^= 0x20;
            std::fs::write(&newest_file, bytes).unwrap();
        });
    }
    pristine.opens_after("newest cut short", Some(older), |_| {
        let bytes = std::fs::read(&newest_file).unwrap();
        std::fs::write(&newest_file, &bytes[..bytes.len() / 2]).unwrap();
    });
    pristine.opens_after("newest deleted", Some(older), |_| std::fs::remove_file(&newest_file).unwrap());
    pristine.opens_after("a half-written newer one beside", Some(newest), |path| {
        let bytes = std::fs::read(&newest_file).unwrap();
        let partial = snapshots_dir(path).join(format!("{:020}.snapshot.partial", newest + 1));
        std::fs::write(partial, &bytes[..bytes.len() / 3]).unwrap();
    });
    pristine.opens_after("every snapshot deleted", None, |path| {
        std::fs::remove_dir_all(snapshots_dir(path)).unwrap();
    });
    pristine.opens_after("the history deleted", None, |path| std::fs::remove_file(history_path(path)).unwrap());
    pristine.opens_after("the history cut short of the snapshot's part", None, |path| {
        let history = std::fs::OpenOptions::new().write(true).open(history_path(path)).unwrap();
        let len = history.metadata().unwrap().len();
        history.set_len(len / 2).unwrap();
    });
    // After the newest snapshot's part, the history is the writer's own tail: cut, it is rebuilt from the
    // blocks after the snapshot.
    pristine.opens_after("the history's tail cut", Some(newest), |path| {
        let history = std::fs::OpenOptions::new().write(true).open(history_path(path)).unwrap();
        let len = history.metadata().unwrap().len();
        history.set_len(len - 8).unwrap();
    });
    pristine.opens_after("another ledger's history", None, |path| {
        let other = dir.join("other.ledger");
        let _ = std::fs::remove_file(&other);
        let _ = std::fs::remove_dir_all(snapshots_dir(&other));
        generate_file(&other, &spec(400, 14), 50);
        std::fs::copy(history_path(&other), history_path(path)).unwrap();
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn snapshots_of_blocks_a_ledger_no_longer_holds_are_stale() {
    let dir = temp_dir("snapshot-stale");
    let pristine = Pristine::new(&dir);
    let [newest, older] = pristine.heights[..] else { panic!("two snapshots: {:?}", pristine.heights) };
    let store = FileStore::open(&pristine.path, OpenOptions { read_only: true, strict: true }).unwrap();
    let cut_at = |height: u64| store.location(height).unwrap();
    let (between, before_older) = (cut_at(newest), cut_at(older));
    drop(store);

    // Cut back to the blocks before the newest snapshot's: the older one is taken up.
    pristine.restore();
    std::fs::OpenOptions::new().write(true).open(&pristine.path).unwrap().set_len(between).unwrap();
    let expected = replayed(&pristine.path, &pristine.clock);
    let ledger = open(&pristine.path, &pristine.clock, false);
    assert_eq!(ledger.opened_from_snapshot(), Some(older));
    assert_eq!(answers(&ledger), expected);
    drop(ledger);
    assert!(!snapshot_heights(&pristine.path).contains(&newest), "the stale snapshot is removed");

    // Cut back to before both: a full replay.
    pristine.restore();
    std::fs::OpenOptions::new().write(true).open(&pristine.path).unwrap().set_len(before_older).unwrap();
    let expected = replayed(&pristine.path, &pristine.clock);
    let ledger = open(&pristine.path, &pristine.clock, false);
    assert_eq!(ledger.opened_from_snapshot(), None);
    assert_eq!(answers(&ledger), expected);
    drop(ledger);

    // Another ledger in the file, the snapshots and history of this one beside it.
    pristine.restore();
    let other = dir.join("other.ledger");
    let clock = generate_file(&other, &spec(400, 21), 0);
    std::fs::copy(&other, &pristine.path).unwrap();
    let ledger = open(&pristine.path, &clock, false);
    assert_eq!(ledger.opened_from_snapshot(), None);
    assert_eq!(answers(&ledger), replayed(&other, &clock));
    drop(ledger);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_history_damaged_under_its_snapshot_is_an_error_then_rebuilt_by_the_next_open() {
    let dir = temp_dir("snapshot-history-damage");
    let pristine = Pristine::new(&dir);
    pristine.restore();
    let history = history_path(&pristine.path);
    let mut bytes = std::fs::read(&history).unwrap();
    // A byte in every record's payload region (the opening check reads only the header and the last one).
    for at in (100..bytes.len() / 2).step_by(64) {
        bytes[at] ^= 0x01;
    }
    std::fs::write(&history, bytes).unwrap();
    let ledger = open(&pristine.path, &pristine.clock, false);
    assert_eq!(ledger.opened_from_snapshot(), Some(pristine.heights[0]));
    let actors = ledger.state().latest().actors();
    let damaged = actors.iter().find_map(|a| ledger.access_history(&a.id).err()).expect("some read fails");
    assert!(matches!(damaged, LedgerError::History(HistoryError::Damaged { .. })), "{damaged}");
    drop(ledger);
    assert!(snapshot_heights(&pristine.path).is_empty(), "the snapshots that took the damage up are removed");
    let ledger = open(&pristine.path, &pristine.clock, false);
    assert_eq!(ledger.opened_from_snapshot(), None);
    assert_eq!(answers(&ledger), pristine.expected);
    drop(ledger);
    std::fs::remove_dir_all(dir).unwrap();
}
