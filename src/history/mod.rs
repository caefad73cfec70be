//! The access history, on disk: every recorded access, break-glass review and anchored record version, and
//! where every sealed transaction sits in the tree.
//!
//! Records go to an append-only log (docs/FORMAT.md, "Access history"): a file beside a ledger file, an
//! unnamed temporary file (a read-only open, a ledger opened on any other store), or memory for a ledger on
//! a memory store. Each record links
//! back to the previous one of its patient and of its actor, and each sealed transaction to the previous one
//! of its id bucket; memory holds only those chains' heads (one per patient and actor, a fixed table of
//! buckets), so it does not grow with accesses. The history is derived from the blocks: the ledger rebuilds
//! it whenever it cannot be trusted, and never reads it to decide whether a transaction is valid.

mod log;
mod mark;
mod record;

use foldhash::{HashMap, HashMapExt as _};
use std::hash::BuildHasher as _;
use std::path::{Path, PathBuf};

use crate::codec::{Decode as _, Encode as _};
use crate::ids::{AccessId, ActorId, TxId};
use crate::state::{Access, Anchor, Recorded, Review};
use crate::tx::AccessBasis;
pub use log::HISTORY_MAGIC;
pub(crate) use log::HistorySync;
use log::Log;
pub(crate) use mark::HistoryMark;
use record::{NONE, Record};

/// Bits of a transaction id's keyed hash that choose its bucket.
const BUCKET_BITS: u32 = 16;

/// Why the history could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// An input/output failure of the history file.
    #[error("access history i/o error: {0}")]
    Io(#[source] std::io::Error),
    /// The history file does not hold what this ledger wrote there (changed under it); reopen the ledger,
    /// which rebuilds it from the blocks.
    #[error("access history damaged at byte {offset}: {reason}; reopen the ledger to rebuild it")]
    Damaged {
        /// Where.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

/// The path of the history of the ledger file at `path`: `<file name>.history` beside it.
pub fn history_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(std::ffi::OsString::from).unwrap_or_default();
    name.push(".history");
    path.with_file_name(name)
}

/// Which link of a record a walk follows.
#[derive(Clone, Copy)]
enum Chain {
    Patient,
    Actor,
}

/// The access history of one ledger (see the module documentation). Its `Debug` shows sizes only, never an
/// id.
pub struct History {
    log: Log,
    /// The last record of each patient.
    patients: HashMap<ActorId, u64>,
    /// The last record of each accessor (accesses and their reviews) and writer (anchors).
    actors: HashMap<ActorId, u64>,
    /// The last sealed transaction of each bucket (empty until the first block).
    buckets: Vec<u64>,
    /// The seed of the keyed hash choosing buckets, drawn per history so that nobody can fill one bucket.
    seed: u64,
    /// Records of transactions not yet sealed.
    unsealed: HashMap<TxId, u64>,
    /// Leaves recorded so far.
    leaves: u64,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("bytes", &self.log.len())
            .field("transactions", &self.leaves)
            .field("patients", &self.patients.len())
            .field("actors", &self.actors.len())
            .field("unsealed", &self.unsealed.len())
            .finish()
    }
}

/// A fresh seed for a history's buckets. Without operating-system randomness the buckets are still correct,
/// only predictable.
fn new_seed() -> u64 {
    let mut seed = [0u8; 8];
    let _ = getrandom::fill(&mut seed);
    u64::from_le_bytes(seed)
}

impl History {
    fn with_log(log: Log, seed: u64) -> Self {
        Self {
            log,
            patients: HashMap::new(),
            actors: HashMap::new(),
            buckets: Vec::new(),
            seed,
            unsealed: HashMap::new(),
            leaves: 0,
        }
    }

    /// An empty history in memory.
    pub fn in_memory() -> Self {
        let seed = new_seed();
        Self::with_log(Log::in_memory(seed), seed)
    }

    /// An empty history in a new file at `path` (one there is unlinked first, so that a reader still reading
    /// it keeps what it read).
    pub fn in_file(path: &Path) -> Result<Self, HistoryError> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(HistoryError::Io(e)),
            _ => {}
        }
        let seed = new_seed();
        let log = Log::in_file(open_file(path, false)?, seed).map_err(HistoryError::Io)?;
        Ok(Self::with_log(log, seed))
    }

    /// An empty history in an unnamed temporary file (removed when closed).
    pub fn temporary() -> Result<Self, HistoryError> {
        let file = tempfile::tempfile().map_err(HistoryError::Io)?;
        let seed = new_seed();
        Ok(Self::with_log(Log::in_file(file, seed).map_err(HistoryError::Io)?, seed))
    }

    /// The history in the file at `path` as `mark` describes it (taken by [`History::mark`] when the file was
    /// last synced); what the file holds after it is cut, unless `read_only` (then the file is only read,
    /// and what is recorded from here on stays in memory). Refused, with nothing cut, unless the file is the
    /// one the mark was taken of (same seed) and ends, at the mark's length, with the mark's last
    /// transaction.
    pub(crate) fn resume(path: &Path, mark: HistoryMark, read_only: bool) -> Result<Self, HistoryError> {
        let log = Log::resume(open_file(path, read_only)?, mark.seed, mark.len, read_only)?;
        let mut history = Self {
            log,
            patients: mark.patients.into_iter().collect(),
            actors: mark.actors.into_iter().collect(),
            buckets: mark.buckets,
            seed: mark.seed,
            unsealed: HashMap::new(),
            leaves: mark.leaves,
        };
        // The last frame must be the last sealed transaction's, ending exactly at the mark's length.
        let last = history.buckets.iter().copied().filter(|at| *at != NONE).max();
        let damaged = |reason| HistoryError::Damaged { offset: mark.len, reason };
        let last = last.ok_or(damaged("no transaction in the snapshot's history"))?;
        let bytes = history.log.read(last)?;
        match Record::from_bytes(&bytes) {
            Ok(Record::Tx { leaf, .. }) if leaf.checked_add(1) == Some(history.leaves) => {}
            _ => return Err(damaged("the last transaction is not the snapshot's")),
        }
        if last + 8 + bytes.len() as u64 != mark.len {
            return Err(damaged("records after the snapshot's last transaction"));
        }
        history.log.cut_after()?;
        Ok(history)
    }

    /// What [`History::resume`] needs to take the history up again where it is now, with the file written
    /// so far and a handle to sync it with (the mark holds only once it is synced); `None` while a
    /// transaction's record waits for its block, or when the history is not in a file beside the ledger
    /// (only a caller that knows that should keep the mark).
    pub(crate) fn mark(&mut self) -> Result<Option<(HistoryMark, HistorySync)>, HistoryError> {
        if !self.unsealed.is_empty() || self.buckets.is_empty() || !self.log.on_disk() {
            return Ok(None);
        }
        let sync = self.log.written().map_err(HistoryError::Io)?;
        let mut patients: Vec<(ActorId, u64)> = self.patients.iter().map(|(id, at)| (*id, *at)).collect();
        let mut actors: Vec<(ActorId, u64)> = self.actors.iter().map(|(id, at)| (*id, *at)).collect();
        patients.sort_unstable();
        actors.sort_unstable();
        let buckets = self.buckets.clone();
        let mark = HistoryMark { seed: self.seed, len: self.log.len(), leaves: self.leaves, patients, actors, buckets };
        Ok(Some((mark, sync)))
    }

    /// A copy in an unnamed temporary file.
    pub fn duplicate(&self) -> Result<Self, HistoryError> {
        Ok(Self {
            log: self.log.duplicate()?,
            patients: self.patients.clone(),
            actors: self.actors.clone(),
            buckets: self.buckets.clone(),
            seed: self.seed,
            unsealed: self.unsealed.clone(),
            leaves: self.leaves,
        })
    }

    /// Whether the history is kept in a file (beside the ledger, or temporary) rather than in memory.
    pub fn on_disk(&self) -> bool {
        self.log.on_disk()
    }

    /// The history log's length in bytes.
    pub fn len(&self) -> u64 {
        self.log.len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.leaves == 0 && self.unsealed.is_empty() && self.patients.is_empty()
    }

    /// Adds what a transaction recorded (before its block is sealed).
    pub(crate) fn record(&mut self, recorded: Recorded) {
        let (patient, actor, id) = match &recorded {
            Recorded::Access(a) => (a.access.patient, a.accessor, Some(a.id)),
            Recorded::Review { access, .. } => (access.access.patient, access.accessor, None),
            Recorded::Anchor(a) => (a.anchor.patient, a.writer, Some(a.anchored.tx)),
        };
        let prev_patient = self.patients.get(&patient).copied().unwrap_or(NONE);
        let prev_actor = self.actors.get(&actor).copied().unwrap_or(NONE);
        let record = match recorded {
            Recorded::Access(access) => Record::Access { access, prev_patient, prev_actor },
            Recorded::Review { access, review } => {
                Record::Review { access: access.id, patient, accessor: actor, review, prev_patient, prev_actor }
            }
            Recorded::Anchor(anchor) => Record::Anchor { anchor, prev_patient, prev_actor },
        };
        let offset = self.log.append(&record.to_bytes());
        self.patients.insert(patient, offset);
        self.actors.insert(actor, offset);
        if let Some(id) = id {
            self.unsealed.insert(id, offset);
        }
    }

    /// Records a sealed block's transactions, in order, and writes what is buffered to the file. A failed
    /// write loses nothing: the records stay buffered (and readable) and the next block's write retries.
    pub(crate) fn record_block(&mut self, ids: impl IntoIterator<Item = TxId>) {
        if self.buckets.is_empty() {
            self.buckets = vec![NONE; 1 << BUCKET_BITS];
        }
        for id in ids {
            let record = self.unsealed.remove(&id).unwrap_or(NONE);
            let bucket = self.bucket(&id);
            let prev_bucket = self.buckets.get(bucket).copied().unwrap_or(NONE);
            let offset = self.log.append(&Record::Tx { id, leaf: self.leaves, record, prev_bucket }.to_bytes());
            if let Some(head) = self.buckets.get_mut(bucket) {
                *head = offset;
            }
            self.leaves += 1;
        }
        // Nothing is lost on failure (see above); a disk that keeps failing fails the store's appends too.
        let _ = self.log.flush();
    }

    fn bucket(&self, id: &TxId) -> usize {
        let hash = foldhash::fast::FixedState::with_seed(self.seed).hash_one(id.as_bytes());
        (hash >> (64 - BUCKET_BITS)) as usize
    }

    fn read(&self, offset: u64) -> Result<Record, HistoryError> {
        Record::from_bytes(&self.log.read(offset)?)
            .map_err(|_| HistoryError::Damaged { offset, reason: "record does not decode" })
    }

    /// The leaf index of a sealed transaction.
    pub fn position(&self, id: &TxId) -> Result<Option<u64>, HistoryError> {
        Ok(self.find_tx(id)?.map(|(leaf, _)| leaf))
    }

    /// A sealed transaction's leaf index and the offset of its record.
    fn find_tx(&self, id: &TxId) -> Result<Option<(u64, u64)>, HistoryError> {
        let mut at = self.buckets.get(self.bucket(id)).copied().unwrap_or(NONE);
        while at != NONE {
            let Record::Tx { id: found, leaf, record, prev_bucket } = self.read(at)? else {
                return Err(HistoryError::Damaged { offset: at, reason: "bucket link to another record" });
            };
            if found == *id {
                return Ok(Some((leaf, record)));
            }
            at = backward(at, prev_bucket)?;
        }
        Ok(None)
    }

    /// The offset of the record a transaction made, sealed or not.
    fn record_of(&self, id: &TxId) -> Result<Option<u64>, HistoryError> {
        if let Some(offset) = self.unsealed.get(id) {
            return Ok(Some(*offset));
        }
        Ok(self.find_tx(id)?.map(|(_, record)| record).filter(|r| *r != NONE))
    }

    /// Walks the chain of `who` from its last record back to its first, calling `visit` on each.
    fn walk(
        &self,
        who: &ActorId,
        chain: Chain,
        mut visit: impl FnMut(u64, Record) -> bool,
    ) -> Result<(), HistoryError> {
        let heads = match chain {
            Chain::Patient => &self.patients,
            Chain::Actor => &self.actors,
        };
        let mut at = heads.get(who).copied().unwrap_or(NONE);
        while at != NONE {
            let record = self.read(at)?;
            let (patient, actor, prev_patient, prev_actor) = match &record {
                Record::Access { access, prev_patient, prev_actor } => {
                    (access.access.patient, access.accessor, *prev_patient, *prev_actor)
                }
                Record::Review { patient, accessor, prev_patient, prev_actor, .. } => {
                    (*patient, *accessor, *prev_patient, *prev_actor)
                }
                Record::Anchor { anchor, prev_patient, prev_actor } => {
                    (anchor.anchor.patient, anchor.writer, *prev_patient, *prev_actor)
                }
                Record::Tx { .. } => {
                    return Err(HistoryError::Damaged { offset: at, reason: "chain link to a transaction" });
                }
            };
            let (owner, prev) = match chain {
                Chain::Patient => (patient, prev_patient),
                Chain::Actor => (actor, prev_actor),
            };
            if owner != *who {
                return Err(HistoryError::Damaged { offset: at, reason: "chain link to another actor's record" });
            }
            if !visit(at, record) {
                return Ok(());
            }
            at = backward(at, prev)?;
        }
        Ok(())
    }

    /// The accesses on a chain, in ledger order, each with its review.
    fn accesses_on(&self, who: &ActorId, chain: Chain) -> Result<Vec<Access>, HistoryError> {
        let mut reviews: HashMap<AccessId, Review> = HashMap::new();
        let mut accesses = Vec::new();
        self.walk(who, chain, |_, record| {
            // A walk only visits records of `who`: on an actor's chain, accesses are the actor's own.
            match record {
                Record::Access { mut access, .. } => {
                    access.review = reviews.remove(&access.id);
                    accesses.push(access);
                }
                Record::Review { access, review, .. } => {
                    reviews.insert(access, review);
                }
                _ => {}
            }
            true
        })?;
        accesses.reverse();
        Ok(accesses)
    }

    /// Who accessed the patient's record, in ledger order, each break-glass access with its review.
    pub fn patient_accesses(&self, patient: &ActorId) -> Result<Vec<Access>, HistoryError> {
        self.accesses_on(patient, Chain::Patient)
    }

    /// What the accessor accessed, in ledger order, each break-glass access with its review.
    pub fn accessor_accesses(&self, accessor: &ActorId) -> Result<Vec<Access>, HistoryError> {
        self.accesses_on(accessor, Chain::Actor)
    }

    /// The patient's anchored record versions, in ledger order.
    pub fn anchors(&self, patient: &ActorId) -> Result<Vec<Anchor>, HistoryError> {
        let mut anchors = Vec::new();
        self.walk(patient, Chain::Patient, |_, record| {
            if let Record::Anchor { anchor, .. } = record {
                anchors.push(anchor);
            }
            true
        })?;
        anchors.reverse();
        Ok(anchors)
    }

    /// A recorded access, with its review if done.
    pub fn access(&self, id: &AccessId) -> Result<Option<Access>, HistoryError> {
        let Some(offset) = self.record_of(id)? else { return Ok(None) };
        let Record::Access { mut access, .. } = self.read(offset)? else { return Ok(None) };
        if matches!(access.access.basis, AccessBasis::BreakGlass { .. }) {
            // The review, if any, comes later on the patient's chain.
            self.walk(&access.access.patient, Chain::Patient, |at, record| match record {
                Record::Review { access: reviewed, review, .. } if reviewed == *id => {
                    access.review = Some(review);
                    false
                }
                _ => at > offset,
            })?;
        }
        Ok(Some(access))
    }

    /// An anchored record version.
    pub fn anchor(&self, id: &TxId) -> Result<Option<Anchor>, HistoryError> {
        let Some(offset) = self.record_of(id)? else { return Ok(None) };
        match self.read(offset)? {
            Record::Anchor { anchor, .. } => Ok(Some(anchor)),
            _ => Ok(None),
        }
    }
}

/// Opens the history file at `path` for reading, or for reading and writing (creating it if needed).
fn open_file(path: &Path, read_only: bool) -> Result<std::fs::File, HistoryError> {
    let file = std::fs::OpenOptions::new().read(true).write(!read_only).create(!read_only).truncate(false).open(path);
    file.map_err(HistoryError::Io)
}

/// The previous link of the record at `at`, which must point backward (a damaged file cannot loop a walk).
fn backward(at: u64, prev: u64) -> Result<u64, HistoryError> {
    if prev != NONE && prev >= at {
        return Err(HistoryError::Damaged { offset: at, reason: "link forward" });
    }
    Ok(prev)
}

#[cfg(test)]
mod tests;
