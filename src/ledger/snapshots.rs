//! State snapshots of a ledger file's writer (DESIGN.md §6, "State snapshots"): one is written after a sealed
//! block every [`DEFAULT_SNAPSHOT_INTERVAL`] transactions (longer for a large state, see
//! [`SNAPSHOT_BYTES_PER_REPLAYED_TX`]), and opening takes up the newest that matches the ledger, replaying
//! only the blocks after it. A snapshot that is missing, damaged, stale (for a block the
//! ledger does not hold) or out of step with the access history is passed over and removed; with none left,
//! opening replays every block and writes a fresh one.

use std::path::{Path, PathBuf};

use super::{Ledger, LedgerError, ProofIndex, replay_onto, tiles_dir};
use crate::block::Block;
use crate::clock::Clock;
use crate::codec::{Decode as _, Encode as _};
use crate::hash::Hash256;
use crate::history::{History, HistoryError, history_path};
use crate::replay::Replayer;
use crate::snapshot::{Local, Snapshot, SnapshotClaim, SnapshotError, SnapshotFile, SnapshotFiles, snapshots_dir};
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
#[derive(Debug)]
pub(super) struct Snapshots {
    files: SnapshotFiles,
    history: PathBuf,
    /// Transactions between automatic snapshots (0: none).
    interval: u64,
    /// Whether the interval is the default, which a large state lengthens.
    default_interval: bool,
    /// The tree size at the last snapshot written or taken up.
    last: u64,
    /// The size of the last snapshot file written or taken up, in bytes (0: none).
    last_bytes: u64,
    /// The snapshot this ledger was opened from.
    resumed: Option<SnapshotClaim>,
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
        }
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
    /// to start from; returns its height. Refused with [`SnapshotError::Unsealed`] while transactions are
    /// queued, and [`SnapshotError::NoPlace`] unless this is the writer of a ledger file.
    pub fn write_snapshot(&mut self) -> Result<u64, LedgerError> {
        self.writable()?;
        if !self.pending.is_empty() {
            return Err(SnapshotError::Unsealed.into());
        }
        let head = self.replayer.head().ok_or(LedgerError::StoreEmpty)?;
        let snapshots = self.snapshots.as_mut().ok_or(SnapshotError::NoPlace)?;
        let height = head.header.height;
        let frames: Option<Vec<u64>> = (0..=height).map(|h| self.store.location(h)).collect();
        let history = self.history.mark()?;
        let (Some(frames), Some(history)) = (frames, history) else { return Err(SnapshotError::NoPlace.into()) };
        let local = Local { frames, block_ends: self.index.block_ends().to_vec(), history };
        let canonical = crate::snapshot::encode(&head.header, self.replayer.tree(), self.replayer.state());
        snapshots.last_bytes = snapshots.files.write(height, &canonical, &local.to_bytes())?;
        snapshots.last = head.header.tree_size;
        Ok(height)
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
    /// if that many were sealed since the last. Only a ledger file's writer writes them. The default is
    /// [`DEFAULT_SNAPSHOT_INTERVAL`], lengthened for a large state ([`SNAPSHOT_BYTES_PER_REPLAYED_TX`]); an
    /// interval set here is kept as it is.
    pub fn set_snapshot_interval(&mut self, transactions: u64) {
        if let Some(snapshots) = self.snapshots.as_mut().filter(|_| !self.store.is_read_only()) {
            snapshots.interval = transactions;
            snapshots.default_interval = false;
        }
        self.snapshot_if_due();
    }

    /// What a read of the history gave. A damaged history is rebuilt from the blocks by the next open of a
    /// writer: the snapshots that would take it up as it is are removed.
    pub(super) fn read_history<T>(&self, read: Result<T, HistoryError>) -> Result<T, LedgerError> {
        if let (Err(HistoryError::Damaged { .. }), Some(snapshots)) = (&read, &self.snapshots)
            && !self.store.is_read_only()
        {
            for file in snapshots.files.newest_first() {
                snapshots.files.remove(&file);
            }
        }
        Ok(read?)
    }

    /// Writes a snapshot if the interval has passed. A failure loses nothing (the blocks are durable and a
    /// snapshot only saves replay): the next sealed block tries again.
    pub(super) fn snapshot_if_due(&mut self) {
        let due = self.snapshots.as_ref().is_some_and(|s| {
            let since = self.tree().size().saturating_sub(s.last);
            snapshot_due(since, s.interval, s.default_interval, s.last_bytes) && self.pending.is_empty()
        });
        if due {
            let _ = self.write_snapshot();
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
        use crate::workload::{self, Spec};
        let dir = std::env::temp_dir().join(format!("healthchain-snapshot-size-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("l.ledger");
        let spec = Spec { patients: 10, transactions: 300, seed: 3, block_size: 50, max_consents: None };
        let clock = spec.clock();
        let mut ledger =
            Ledger::create_file(&path, Box::new(clock.clone()), &spec.settings(), &[&spec.authority()]).unwrap();
        workload::generate(&mut ledger, &clock, &spec, &mut |_| {}).unwrap();
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
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
