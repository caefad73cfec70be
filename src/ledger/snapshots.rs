//! State snapshots of a ledger file's writer (DESIGN.md §6, "State snapshots"): one is written after a sealed
//! block every [`DEFAULT_SNAPSHOT_INTERVAL`] transactions (longer for a large state, see
//! [`SNAPSHOT_BYTES_PER_REPLAYED_TX`]), and opening takes up the newest that matches the ledger, replaying
//! only the blocks after it. A snapshot that is missing, damaged, stale (for a block the
//! ledger does not hold) or out of step with the access history is passed over and removed; with none left,
//! opening replays every block and writes a fresh one.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;

use super::{Ledger, LedgerError, ProofIndex, replay_onto, tiles_dir};
use crate::block::Block;
use crate::clock::Clock;
use crate::codec::{Decode as _, Encode as _};
use crate::hash::Hash256;
use crate::history::{History, HistoryError, HistorySync, history_path};
use crate::replay::Replayer;
use crate::snapshot::{
    Local, Snapshot, SnapshotClaim, SnapshotError, SnapshotFile, SnapshotFiles, file_len, snapshots_dir,
};
use crate::store::{FileStore, OpenOptions, Store};

/// Transactions sealed between two automatic snapshots, unless [`Ledger::set_snapshot_interval`] says
/// otherwise, or the state is large (see [`SNAPSHOT_BYTES_PER_REPLAYED_TX`]).
pub const DEFAULT_SNAPSHOT_INTERVAL: u64 = 50_000;

/// The snapshot bytes that take about as long to load as one transaction takes to replay (on a
/// 10M-transaction ledger: 14.9 ns a byte, 6.3 µs a transaction; docs/PERFORMANCE.md). By default a writer
/// waits, after a snapshot of `n` bytes, for `n / SNAPSHOT_BYTES_PER_REPLAYED_TX` transactions if that is
/// more than [`DEFAULT_SNAPSHOT_INTERVAL`]: writing snapshots then costs each transaction about the same
/// whatever the state's size (a snapshot every 50,000 transactions of a 400 MB state would write 8 KB per
/// transaction), and opening replays a tail that takes about as long as loading the snapshot, or less.
pub const SNAPSHOT_BYTES_PER_REPLAYED_TX: u64 = 512;

/// A writer's snapshot files and when the next one is due.
pub(super) struct Snapshots {
    files: SnapshotFiles,
    history: PathBuf,
    /// Transactions between automatic snapshots (0: none).
    interval: u64,
    /// Whether the interval is the default, which a large state lengthens.
    default_interval: bool,
    /// The tree size at the last snapshot written, being written, or taken up.
    last: u64,
    /// The size of that snapshot's file, in bytes (0: none).
    last_bytes: u64,
    /// The snapshot this ledger was opened from.
    resumed: Option<SnapshotClaim>,
    /// The automatic snapshot being written on a thread of its own, if any.
    writing: Mutex<Option<Writing>>,
    /// The buffer of the last snapshot's canonical bytes, kept for the next: encoding into fresh memory
    /// took over half of a large state's encoding time (page faults).
    buffer: Vec<u8>,
}

/// An automatic snapshot being written on a thread of its own, and what `last` and `last_bytes` were before
/// it (restored if it fails, so that the next sealed block tries again).
struct Writing {
    thread: JoinHandle<(Result<u64, SnapshotError>, Vec<u8>)>,
    before: (u64, u64),
}

impl Snapshots {
    /// The snapshots of the ledger file at `path`.
    pub(super) fn beside(path: &Path) -> Self {
        Self {
            files: SnapshotFiles::in_dir(snapshots_dir(path)),
            history: history_path(path),
            interval: DEFAULT_SNAPSHOT_INTERVAL,
            default_interval: true,
            last: 0,
            last_bytes: 0,
            resumed: None,
            writing: Mutex::new(None),
            buffer: Vec::new(),
        }
    }

    /// Waits for the automatic snapshot being written, if any; `finished_only` leaves one still running.
    /// Returns whether none is running any more.
    fn wait_for_writing(&mut self, finished_only: bool) -> bool {
        let writing = self.writing.get_mut().unwrap_or_else(PoisonError::into_inner);
        if finished_only && writing.as_ref().is_some_and(|w| !w.thread.is_finished()) {
            return false;
        }
        if let Some(Writing { thread, before }) = writing.take() {
            match thread.join() {
                Ok((Ok(_), buffer)) => self.buffer = buffer,
                Ok((Err(_), buffer)) => ((self.last, self.last_bytes), self.buffer) = (before, buffer),
                Err(_) => (self.last, self.last_bytes) = before,
            }
        }
        true
    }

    /// Waits for the automatic snapshot being written, if any, from a shared reference (its outcome is
    /// dropped: the caller is about to remove every snapshot file).
    fn wait_for_writing_shared(&self) {
        let writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(writing) = writing {
            let _ = writing.thread.join();
        }
    }
}

impl Drop for Snapshots {
    /// A writer's automatic snapshot is finished before the ledger is gone: the next open finds it.
    fn drop(&mut self) {
        self.wait_for_writing(false);
    }
}

/// A snapshot ready to be written: its canonical bytes and the writer's part, and the access history to
/// make durable first (the writer's part says where the history is).
struct SnapshotJob {
    files: SnapshotFiles,
    height: u64,
    canonical: Vec<u8>,
    local: Vec<u8>,
    history: HistorySync,
}

impl SnapshotJob {
    /// The size of the file it writes.
    fn file_len(&self) -> u64 {
        file_len(self.canonical.len(), self.local.len())
    }

    /// Syncs the history, then writes the snapshot file; returns its size, and the buffer of the canonical
    /// bytes for the next snapshot.
    fn run(self) -> (Result<u64, SnapshotError>, Vec<u8>) {
        let written = self.history.sync().map_err(SnapshotError::from);
        let written = written.and_then(|()| self.files.write(self.height, &self.canonical, &self.local));
        (written, self.canonical)
    }
}

/// Whether a snapshot is due `since` transactions after the last one: after `interval` (never if 0), or for
/// the default interval after the last snapshot's bytes / [`SNAPSHOT_BYTES_PER_REPLAYED_TX`] if that is more.
fn snapshot_due(since: u64, interval: u64, default_interval: bool, last_bytes: u64) -> bool {
    let wait = if default_interval { interval.max(last_bytes / SNAPSHOT_BYTES_PER_REPLAYED_TX) } else { interval };
    interval > 0 && since >= wait
}

/// A snapshot file read and decoded.
struct Candidate {
    file: SnapshotFile,
    snapshot: Snapshot,
    /// SHA-256 of the canonical bytes.
    digest: Hash256,
    local: Local,
    /// The file's size.
    bytes: u64,
}

impl Candidate {
    fn read(file: SnapshotFile) -> Result<Self, SnapshotFile> {
        match file.load() {
            Ok((snapshot, digest, local)) => {
                let bytes = std::fs::metadata(&file.path).map_or(0, |m| m.len());
                Ok(Self { file, snapshot, digest, local, bytes })
            }
            Err(_) => Err(file),
        }
    }

    /// Whether `store` holds the snapshot's block at its height.
    fn matches(&self, store: &FileStore) -> bool {
        let height = self.snapshot.height();
        height < store.len()
            && store.read(height).ok().and_then(|bytes| Block::from_bytes(&bytes).ok()).map(|b| b.header)
                == Some(self.snapshot.header().clone())
    }
}

impl Ledger<FileStore> {
    /// Opens the ledger file at `path` from the newest snapshot that matches, else by replaying every
    /// block. A writer removes the snapshots it passes over and rebuilds the history beside the file; a
    /// reader changes nothing: it reads the writer's history up to the snapshot and keeps what the blocks
    /// after it add in memory.
    pub(super) fn open_from_snapshot(
        path: &Path,
        clock: Box<dyn Clock>,
        options: OpenOptions,
    ) -> Result<Self, LedgerError> {
        let mut snapshots = Snapshots::beside(path);
        let writer = !options.read_only;
        if !writer {
            snapshots.interval = 0;
        }
        let pass_over = |files: &SnapshotFiles, file: &SnapshotFile| {
            if writer {
                files.remove(file);
            }
        };
        let mut files = snapshots.files.newest_first().into_iter();
        let mut next = || {
            files
                .by_ref()
                .find_map(|file| Candidate::read(file).map_err(|file| pass_over(&snapshots.files, &file)).ok())
        };
        let mut candidate = next();
        let store = FileStore::open_after(path, options, candidate.as_ref().map(|c| c.local.frames.as_slice()))?;
        while let Some(found) = candidate.take() {
            if !found.matches(&store) {
                pass_over(&snapshots.files, &found.file);
                candidate = next();
                continue;
            }
            let Candidate { file, snapshot, digest, local, bytes } = found;
            // The history must be the one the snapshot was taken with; if not, it is rebuilt with the state,
            // from genesis.
            let Ok(history) = History::resume(&snapshots.history, local.history, options.read_only) else {
                pass_over(&snapshots.files, &file);
                break;
            };
            let (last, snapshot_height, block_hash) =
                (snapshot.header().tree_size, snapshot.height(), snapshot.block_hash());
            let (header, tree, state) = snapshot.into_parts();
            let mut resumed_index = ProofIndex::in_dir(tiles_dir(path), options.read_only);
            resumed_index.resume(&header.chain, local.block_ends);
            let replayer = Replayer::resume(state, tree, header);
            let mut history = history;
            // The blocks after the snapshot must follow from it. If they do not, a full replay decides: the
            // snapshot never makes a ledger fail to open that opens without it.
            let Ok(replayer) = replay_onto(&store, replayer, &mut resumed_index, &mut history) else {
                pass_over(&snapshots.files, &file);
                break;
            };
            let mut ledger = Self::replayed(store, clock, replayer, resumed_index, history);
            snapshots.last = last;
            snapshots.last_bytes = bytes;
            snapshots.resumed = Some(SnapshotClaim { height: snapshot_height, block: block_hash, digest });
            ledger.snapshots = Some(snapshots);
            ledger.snapshot_if_due();
            return Ok(ledger);
        }
        let history = if writer { History::in_file(&snapshots.history)? } else { History::temporary()? };
        let index = ProofIndex::in_dir(tiles_dir(path), options.read_only);
        let mut ledger = Self::replay(store, clock, Replayer::trusting_signatures(), index, history)?;
        ledger.snapshots = Some(snapshots);
        ledger.snapshot_if_due();
        Ok(ledger)
    }
}

impl<S: Store> Ledger<S> {
    /// The state after the last sealed block, as a canonical [`Snapshot`] (to compare with another member's,
    /// or to ship). Refused with [`SnapshotError::Unsealed`] while transactions are queued.
    pub fn snapshot(&self) -> Result<Snapshot, LedgerError> {
        if !self.pending.is_empty() {
            return Err(SnapshotError::Unsealed.into());
        }
        let head = self.replayer.head().ok_or(LedgerError::StoreEmpty)?;
        Ok(Snapshot::new(head.header.clone(), self.tree().clone(), self.state().clone()))
    }

    /// Writes a snapshot of the state after the last sealed block beside the ledger file, for the next open
    /// to start from, and returns its height once it is durable (after an automatic snapshot still being
    /// written). Refused with [`SnapshotError::Unsealed`] while transactions are queued, and
    /// [`SnapshotError::NoPlace`] unless this is the writer of a ledger file.
    pub fn write_snapshot(&mut self) -> Result<u64, LedgerError> {
        if let Some(snapshots) = self.snapshots.as_mut() {
            snapshots.wait_for_writing(false);
        }
        let job = self.snapshot_job()?;
        let (height, tree_size, file_len) = (job.height, self.tree().size(), job.file_len());
        let (written, buffer) = job.run();
        if let Some(snapshots) = self.snapshots.as_mut() {
            snapshots.buffer = buffer;
            if written.is_ok() {
                (snapshots.last, snapshots.last_bytes) = (tree_size, file_len);
            }
        }
        written?;
        Ok(height)
    }

    /// What writing a snapshot of the state after the last sealed block takes: the state encoded, the
    /// history written (its sync is left to the job).
    fn snapshot_job(&mut self) -> Result<SnapshotJob, LedgerError> {
        self.writable()?;
        if !self.pending.is_empty() {
            return Err(SnapshotError::Unsealed.into());
        }
        let head = self.replayer.head().ok_or(LedgerError::StoreEmpty)?;
        let snapshots = self.snapshots.as_mut().ok_or(SnapshotError::NoPlace)?;
        let height = head.header.height;
        let frames: Option<Vec<u64>> = (0..=height).map(|h| self.store.location(h)).collect();
        let marked = self.history.mark()?;
        let (Some(frames), Some((history, sync))) = (frames, marked) else {
            return Err(SnapshotError::NoPlace.into());
        };
        let local = Local { frames, block_ends: self.index.block_ends().to_vec(), history };
        let mut canonical = std::mem::take(&mut snapshots.buffer);
        crate::snapshot::encode_into(&mut canonical, &head.header, self.replayer.tree(), self.replayer.state());
        Ok(SnapshotJob { files: snapshots.files.clone(), height, canonical, local: local.to_bytes(), history: sync })
    }

    /// The height of the snapshot this ledger was opened from, if it was ([`Ledger::verify`] then also
    /// checks that the blocks give that snapshot's state).
    pub fn opened_from_snapshot(&self) -> Option<u64> {
        self.snapshots.as_ref().and_then(|s| s.resumed).map(|claim| claim.height)
    }

    /// The snapshot this ledger was opened from.
    pub(super) fn resumed_snapshot(&self) -> Option<SnapshotClaim> {
        self.snapshots.as_ref().and_then(|s| s.resumed)
    }

    /// Sets how many transactions are sealed between two automatic snapshots (0: none), and writes one now
    /// (returning once it is durable) if that many were sealed since the last. Only a ledger file's writer
    /// writes them. The default is [`DEFAULT_SNAPSHOT_INTERVAL`], lengthened for a large state
    /// ([`SNAPSHOT_BYTES_PER_REPLAYED_TX`]); an interval set here is kept as it is.
    pub fn set_snapshot_interval(&mut self, transactions: u64) {
        if let Some(snapshots) = self.snapshots.as_mut().filter(|_| !self.store.is_read_only()) {
            snapshots.interval = transactions;
            snapshots.default_interval = false;
        }
        if self.snapshot_due() {
            let _ = self.write_snapshot();
        }
    }

    /// What a read of the history gave. A damaged history is rebuilt from the blocks by the next open of a
    /// writer: the snapshots that would take it up as it is are removed (after the one being written).
    pub(super) fn read_history<T>(&self, read: Result<T, HistoryError>) -> Result<T, LedgerError> {
        if let (Err(HistoryError::Damaged { .. }), Some(snapshots)) = (&read, &self.snapshots)
            && !self.store.is_read_only()
        {
            snapshots.wait_for_writing_shared();
            for file in snapshots.files.newest_first() {
                snapshots.files.remove(&file);
            }
        }
        Ok(read?)
    }

    /// Whether the interval has passed since the last snapshot, with no transaction queued.
    fn snapshot_due(&self) -> bool {
        self.snapshots.as_ref().is_some_and(|s| {
            let since = self.tree().size().saturating_sub(s.last);
            snapshot_due(since, s.interval, s.default_interval, s.last_bytes) && self.pending.is_empty()
        })
    }

    /// Starts writing a snapshot if the interval has passed: the state is encoded here, and the file written
    /// and synced on a thread of its own while the ledger goes on (one at a time: while the last is still
    /// being written, the next sealed block tries again). A failure loses nothing (the blocks are durable
    /// and a snapshot only saves replay): the next sealed block tries again.
    pub(super) fn snapshot_if_due(&mut self) {
        if !self.snapshot_due() || !self.snapshots.as_mut().is_some_and(|s| s.wait_for_writing(true)) {
            return;
        }
        let Ok(job) = self.snapshot_job() else { return };
        let tree_size = self.tree().size();
        let Some(snapshots) = self.snapshots.as_mut() else { return };
        let before = (snapshots.last, snapshots.last_bytes);
        (snapshots.last, snapshots.last_bytes) = (tree_size, job.file_len());
        match std::thread::Builder::new().name("healthchain-snapshot".into()).spawn(move || job.run()) {
            Ok(thread) => {
                *snapshots.writing.get_mut().unwrap_or_else(PoisonError::into_inner) = Some(Writing { thread, before })
            }
            Err(_) => (snapshots.last, snapshots.last_bytes) = before,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_interval_waits_longer_after_a_large_snapshot_and_a_set_one_does_not() {
        let small = 1_000_000; // 1 MB: 1,953 transactions' replay, less than the default interval
        let large = 400_000_000; // 400 MB: 781,250 transactions' replay
        let waited = large / SNAPSHOT_BYTES_PER_REPLAYED_TX;
        assert_eq!(waited, 781_250);
        for (last_bytes, wait) in [(0, DEFAULT_SNAPSHOT_INTERVAL), (small, DEFAULT_SNAPSHOT_INTERVAL), (large, waited)]
        {
            assert!(!snapshot_due(wait - 1, DEFAULT_SNAPSHOT_INTERVAL, true, last_bytes), "{last_bytes} bytes");
            assert!(snapshot_due(wait, DEFAULT_SNAPSHOT_INTERVAL, true, last_bytes), "{last_bytes} bytes");
        }
        // An interval the application set is kept, whatever the state's size; 0 writes none.
        assert!(snapshot_due(10, 10, false, large));
        assert!(!snapshot_due(9, 10, false, large));
        assert!(!snapshot_due(u64::MAX, 0, false, large));
        assert!(!snapshot_due(u64::MAX, 0, true, large));
    }

    /// The size the rule reads is the snapshot file's, whether the writer wrote it or opened from it.
    #[test]
    fn a_writer_knows_the_size_of_the_snapshot_it_wrote_or_opened_from() {
        let (path, mut ledger, _, clock) = generated("snapshot-size");
        let height = ledger.write_snapshot().unwrap();
        let file = snapshots_dir(&path).join(format!("{height:020}.snapshot"));
        let size = std::fs::metadata(&file).unwrap().len();
        let last_bytes = |ledger: &Ledger<FileStore>| ledger.snapshots.as_ref().map(|s| s.last_bytes);
        assert!(size > 1_000);
        assert_eq!(last_bytes(&ledger), Some(size));
        drop(ledger);
        let reopened = Ledger::open_file(&path, Box::new(clock), OpenOptions::default()).unwrap();
        assert_eq!(reopened.opened_from_snapshot(), Some(height));
        assert_eq!(last_bytes(&reopened), Some(size));
        drop(reopened);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    /// A generated ledger file in a new directory named after `name`, with its authority and clock.
    fn generated(name: &str) -> (PathBuf, Ledger<FileStore>, crate::keys::SigningKey, crate::clock::ManualClock) {
        use crate::workload::{self, Spec};
        let dir = std::env::temp_dir().join(format!("healthchain-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("l.ledger");
        let spec = Spec { patients: 10, transactions: 300, seed: 3, block_size: 50, max_consents: None };
        let clock = spec.clock();
        let mut ledger =
            Ledger::create_file(&path, Box::new(clock.clone()), &spec.settings(), &[&spec.authority()]).unwrap();
        workload::generate(&mut ledger, &clock, &spec, &mut |_| {}).unwrap();
        (path, ledger, spec.authority(), clock)
    }

    /// One more block of one registration, sealed.
    fn one_block(
        ledger: &mut Ledger<FileStore>,
        authority: &crate::keys::SigningKey,
        clock: &crate::clock::ManualClock,
        seed: u8,
    ) {
        clock.advance(1_000);
        ledger
            .register(authority, &crate::keys::SigningKey::from_seed(&[seed; 32]), crate::codes::Role::Patient)
            .unwrap();
        ledger.seal(&[authority]).unwrap();
    }

    /// The heights of the snapshots beside the ledger at `path`, newest first.
    fn heights(path: &Path) -> Vec<u64> {
        SnapshotFiles::in_dir(snapshots_dir(path)).newest_first().iter().map(|f| f.height).collect()
    }

    /// An automatic snapshot is written on a thread of its own: an explicit one waits for it, and dropping
    /// the ledger finishes it, so that the next open starts from it.
    #[test]
    fn automatic_snapshots_are_written_on_their_own_thread_and_finished_before_the_ledger_is_gone() {
        let (path, mut ledger, authority, clock) = generated("snapshot-thread");
        let snapshots = ledger.snapshots.as_mut().unwrap();
        (snapshots.interval, snapshots.default_interval) = (1, false);
        one_block(&mut ledger, &authority, &clock, 1);
        let (first, size) = (ledger.block_count() - 1, ledger.tree().size());
        let snapshots = ledger.snapshots.as_mut().unwrap();
        assert!(snapshots.writing.get_mut().unwrap().is_some(), "started on its own thread");
        assert_eq!(snapshots.last, size, "the interval counts from the snapshot started");
        // An explicit snapshot waits for it, then writes its own.
        assert_eq!(ledger.write_snapshot().unwrap(), first);
        assert!(ledger.snapshots.as_mut().unwrap().writing.get_mut().unwrap().is_none());
        assert_eq!(heights(&path), [first]);
        one_block(&mut ledger, &authority, &clock, 2);
        let second = ledger.block_count() - 1;
        drop(ledger);
        assert_eq!(heights(&path), [second, first], "finished when the ledger was dropped");
        let reopened = Ledger::open_file(&path, Box::new(clock), OpenOptions::default()).unwrap();
        assert_eq!(reopened.opened_from_snapshot(), Some(second));
        drop(reopened);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    /// A snapshot whose write fails loses nothing: the ledger goes on, and the next sealed block tries again;
    /// a half-written file that an interrupted write left is removed by the next write.
    #[test]
    fn a_failed_automatic_snapshot_is_tried_again_and_half_written_files_are_removed() {
        let (path, mut ledger, authority, clock) = generated("snapshot-retry");
        let dir = snapshots_dir(&path);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::write(&dir, b"not a directory").unwrap();
        let snapshots = ledger.snapshots.as_mut().unwrap();
        (snapshots.interval, snapshots.default_interval) = (1, false);
        let before = (snapshots.last, snapshots.last_bytes);
        one_block(&mut ledger, &authority, &clock, 1);
        let snapshots = ledger.snapshots.as_mut().unwrap();
        assert_ne!((snapshots.last, snapshots.last_bytes), before, "counted from the start of the write");
        assert!(snapshots.wait_for_writing(false));
        assert_eq!((snapshots.last, snapshots.last_bytes), before, "the failed write is not counted");
        assert!(matches!(ledger.write_snapshot(), Err(LedgerError::Snapshot(SnapshotError::Io(_)))));

        std::fs::remove_file(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
        let partial = dir.join("00000000000000000001.snapshot.partial");
        std::fs::write(&partial, b"interrupted").unwrap();
        one_block(&mut ledger, &authority, &clock, 2);
        let snapshots = ledger.snapshots.as_mut().unwrap();
        assert!(snapshots.wait_for_writing(false));
        let height = ledger.block_count() - 1;
        let written = std::fs::metadata(dir.join(format!("{height:020}.snapshot"))).unwrap().len();
        let snapshots = ledger.snapshots.as_ref().unwrap();
        assert_eq!((snapshots.last, snapshots.last_bytes), (ledger.tree().size(), written), "tried again");
        assert!(!partial.exists(), "the half-written file is removed");
        drop(ledger);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
