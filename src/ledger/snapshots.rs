//! State snapshots of a ledger file's writer (DESIGN.md §9, "Snapshots"): one is written after a sealed
//! block every [`DEFAULT_SNAPSHOT_INTERVAL`] transactions, and opening takes up the newest that matches the
//! ledger, replaying only the blocks after it. A snapshot that is missing, damaged, stale (for a block the
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
/// otherwise: opening then replays at most about this many.
pub const DEFAULT_SNAPSHOT_INTERVAL: u64 = 50_000;

/// A writer's snapshot files and when the next one is due.
#[derive(Debug)]
pub(super) struct Snapshots {
    files: SnapshotFiles,
    history: PathBuf,
    /// Transactions between automatic snapshots (0: none).
    interval: u64,
    /// The tree size at the last snapshot written or taken up.
    last: u64,
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
            last: 0,
            resumed: None,
        }
    }
}

/// A snapshot file read and decoded.
struct Candidate {
    file: SnapshotFile,
    snapshot: Snapshot,
    /// SHA-256 of the canonical bytes.
    digest: Hash256,
    local: Local,
}

impl Candidate {
    fn read(file: SnapshotFile) -> Result<Self, SnapshotFile> {
        match file.load() {
            Ok((snapshot, digest, local)) => Ok(Self { file, snapshot, digest, local }),
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
            let Candidate { file, snapshot, digest, local } = found;
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
        snapshots.files.write(height, &canonical, &local.to_bytes())?;
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

    /// Sets how many transactions are sealed between two automatic snapshots (0: none; the default is
    /// [`DEFAULT_SNAPSHOT_INTERVAL`]), and writes one now if that many were sealed since the last. Only a
    /// ledger file's writer writes them.
    pub fn set_snapshot_interval(&mut self, transactions: u64) {
        if let Some(snapshots) = self.snapshots.as_mut().filter(|_| !self.store.is_read_only()) {
            snapshots.interval = transactions;
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
            s.interval > 0 && self.tree().size().saturating_sub(s.last) >= s.interval && self.pending.is_empty()
        });
        if due {
            let _ = self.write_snapshot();
        }
    }
}
