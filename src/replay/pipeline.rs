//! Replaying many blocks with their signatures checked on every core: the rules run in order on the
//! calling thread while a pool of workers, started once per replay, checks the signatures of the blocks
//! already replayed in batches ([`crate::keys::verify_batch`]). The first failure in ledger order is
//! reported, exactly as a block-by-block replay reports it.

use super::{BlockError, EncodedBlock, PendingSignature, Replayer, VerifyFailure, VerifyReport, first_bad_signature};
use crate::merkle::MerkleTree;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

/// Signatures per batch: large enough for the multi-scalar multiplication to pay (its cost per signature
/// falls until a few hundred points), small enough to keep every worker busy on small ledgers.
const BATCH: usize = 256;

/// Verifies a whole ledger given as encoded blocks from genesis, stopping at the first failure: every
/// block's height, hash link, timestamp and seals, every transaction's rules and signature, the Merkle
/// tree in every header. The blocks may be in memory or read from a store as they are verified.
///
/// ```
/// use healthchain::*;
///
/// let hospital = SigningKey::generate()?;
/// let mut ledger = Ledger::create(MemoryStore::new(), Box::new(ManualClock::new(1_700_000_000_000)),
///                                 &LedgerSettings::new("verify-example"), &[&hospital])?;
/// ledger.register(&hospital, &SigningKey::generate()?, Role::Patient)?;
/// ledger.seal(&[&hospital])?;
///
/// // Blocks in memory, e.g. received from another member.
/// let mut blocks: Vec<Vec<u8>> = (0..ledger.store().len()).map(|h| ledger.store().read(h)).collect::<Result<_, _>>()?;
/// assert!(verify_blocks(&blocks).is_valid());
///
/// // Or straight from a store, read as they are verified.
/// let report = verify_blocks((0..ledger.store().len()).map(|h| ledger.store().read(h)));
/// assert_eq!((report.blocks, report.transactions), (2, 2));
///
/// // One flipped bit: the report names the block and why.
/// blocks[1][40] ^= 1;
/// let failure = verify_blocks(&blocks).failure.ok_or("tampering undetected")?;
/// assert_eq!(failure.height, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_blocks<I>(blocks: I) -> VerifyReport
where
    I: IntoIterator,
    I::Item: EncodedBlock,
{
    replay_blocks(Replayer::new(), blocks, |_, _| {}).0
}

/// Replays `blocks` from genesis with `replayer` (which checks transaction signatures or trusts them),
/// calling `observe` after each block whose rules held with the tree as it was before the block and the
/// replayer after it; gives the report and the replayer as it ended.
///
/// Signatures are checked behind the rules: when one fails, `observe` may already have seen the blocks
/// after it (up to a few batches), and the replayer has replayed them. The report is exact; a caller that
/// keeps what it observed must drop what lies at or after the failure's height.
pub(crate) fn replay_blocks<I>(
    mut replayer: Replayer,
    blocks: I,
    mut observe: impl FnMut(&MerkleTree, &mut Replayer),
) -> (VerifyReport, Replayer)
where
    I: IntoIterator,
    I::Item: EncodedBlock,
{
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut blocks = blocks.into_iter();
    let mut run = Run { pool: Pool::new(workers), pending: Vec::new(), pending_blocks: Vec::new(), rule_failure: None };
    // No thread is started (nor `std::thread::scope` entered, which registers the calling thread with the
    // standard library for good) until a whole batch of signatures is pending: small verifications, and every
    // replay that trusts signatures, run on the calling thread alone.
    let report = if run.replay(&mut replayer, &mut blocks, &mut observe, None) {
        std::thread::scope(|scope| {
            run.replay(&mut replayer, &mut blocks, &mut observe, Some(scope));
            run.finish(Some(scope), &replayer)
        })
    } else {
        run.finish(None, &replayer)
    };
    (report, replayer)
}

/// A replay in progress: the pool, the signatures not yet handed to it, and a failure of the rules.
struct Run {
    pool: Pool,
    pending: Vec<PendingSignature>,
    /// The report before each block whose signatures are pending, to report a failure in it with.
    pending_blocks: Vec<VerifyReport>,
    rule_failure: Option<(VerifyReport, VerifyFailure)>,
}

impl Run {
    /// Replays blocks until they end or fail, handing full batches to the pool; without a `scope`, stops
    /// (returning true) when a full batch is pending instead.
    fn replay<'scope, B: EncodedBlock>(
        &mut self,
        replayer: &mut Replayer,
        blocks: &mut impl Iterator<Item = B>,
        observe: &mut impl FnMut(&MerkleTree, &mut Replayer),
        scope: Option<&'scope std::thread::Scope<'scope, '_>>,
    ) -> bool {
        while self.rule_failure.is_none() && !self.pool.failed() {
            if self.pending.len() >= BATCH {
                let Some(scope) = scope else { return true };
                self.pool.submit(Some(scope), Batch::new(&mut self.pending, &mut self.pending_blocks));
            }
            let Some(block) = blocks.next() else { break };
            let before = replayer.tree().clone();
            let report_before = replayer.report_so_far();
            let applied = match block.encoded() {
                Ok(bytes) => replayer.apply_block_deferring(bytes, &mut self.pending),
                Err(e) => {
                    Err(VerifyFailure { height: replayer.next_height(), tx_index: None, reason: BlockError::Store(e) })
                }
            };
            if let Err(failure) = applied {
                self.rule_failure = Some((report_before, failure));
                break;
            }
            if self.pending.last().is_some_and(|p| p.height == report_before.blocks) {
                self.pending_blocks.push(report_before);
            }
            observe(&before, replayer);
        }
        false
    }

    /// Checks what is still pending (on the calling thread if no worker was started) and waits for the pool.
    /// A bad signature found by the pool lies in a block before any failure of the rules. A failure is
    /// reported with the blocks before its own (not with a block it stopped in the middle of).
    fn finish<'scope>(
        mut self,
        scope: Option<&'scope std::thread::Scope<'scope, '_>>,
        replayer: &Replayer,
    ) -> VerifyReport {
        self.pool.submit(scope, Batch::new(&mut self.pending, &mut self.pending_blocks));
        match self.pool.finish().or(self.rule_failure) {
            Some((report, failure)) => VerifyReport { failure: Some(failure), ..report },
            None if replayer.head().is_none() => {
                let failure = VerifyFailure { height: 0, tx_index: None, reason: BlockError::MissingGenesis };
                replayer.report(Some(failure))
            }
            None => replayer.report(None),
        }
    }
}

/// Signatures to check, with the report before each block they belong to.
struct Batch {
    sequence: u64,
    signatures: Vec<PendingSignature>,
    before: Vec<VerifyReport>,
}

impl Batch {
    /// A batch of what is pending, which is left empty.
    fn new(signatures: &mut Vec<PendingSignature>, before: &mut Vec<VerifyReport>) -> Self {
        Self { sequence: 0, signatures: std::mem::take(signatures), before: std::mem::take(before) }
    }
}

/// The first bad signature of a batch, with the report of the blocks before that signature's block.
type Found = (u64, Option<(VerifyReport, VerifyFailure)>);

/// Workers started on the first batch, fed through a bounded queue so the rules never run far ahead.
struct Pool {
    workers: usize,
    jobs: Option<SyncSender<Batch>>,
    found_tx: Option<Sender<Found>>,
    found: Receiver<Found>,
    submitted: u64,
    answered: u64,
    /// The earliest failure answered so far, by batch sequence.
    earliest: Option<(u64, VerifyReport, VerifyFailure)>,
}

impl Pool {
    fn new(workers: usize) -> Self {
        let (found_tx, found) = channel();
        Self { workers, jobs: None, found_tx: Some(found_tx), found, submitted: 0, answered: 0, earliest: None }
    }

    /// Whether a bad signature was found already (replaying further cannot change the outcome).
    fn failed(&mut self) -> bool {
        while let Ok(found) = self.found.try_recv() {
            self.record(found);
        }
        self.earliest.is_some()
    }

    /// Hands `batch` to a worker, starting them if needed; checks it here without a `scope` (when no worker
    /// runs, the last batch is checked here too) or a second core.
    fn submit<'scope>(&mut self, scope: Option<&'scope std::thread::Scope<'scope, '_>>, mut batch: Batch) {
        if batch.signatures.is_empty() {
            return;
        }
        batch.sequence = self.submitted;
        self.submitted += 1;
        let Some(scope) = scope.filter(|_| self.workers >= 2) else {
            self.record(check(batch));
            return;
        };
        let jobs = self.jobs.get_or_insert_with(|| {
            let (jobs, queue) = sync_channel::<Batch>(self.workers * 2);
            let queue = Arc::new(Mutex::new(queue));
            for _ in 0..self.workers {
                let (queue, Some(found)) = (Arc::clone(&queue), self.found_tx.clone()) else { continue };
                scope.spawn(move || {
                    while let Some(batch) = next_batch(&queue) {
                        if found.send(check(batch)).is_err() {
                            return;
                        }
                    }
                });
            }
            jobs
        });
        if let Err(unsent) = jobs.send(batch) {
            // No worker is left to take it (they stop only when the queue closes): check it here.
            self.record(check(unsent.0));
        }
    }

    fn record(&mut self, (sequence, failure): Found) {
        self.answered += 1;
        if let Some((report, failure)) = failure
            && self.earliest.as_ref().is_none_or(|(earliest, ..)| sequence < *earliest)
        {
            self.earliest = Some((sequence, report, failure));
        }
    }

    /// Waits for every batch; the earliest bad signature in ledger order, if any.
    fn finish(mut self) -> Option<(VerifyReport, VerifyFailure)> {
        self.jobs = None; // closes the queue: the workers end once it is drained
        self.found_tx = None;
        // Every batch is answered: workers end only when the queue closes, or by panicking, which ends the
        // scope with that panic.
        while self.answered < self.submitted {
            let Ok(found) = self.found.recv() else { break };
            self.record(found);
        }
        self.earliest.map(|(_, report, failure)| (report, failure))
    }
}

/// The next batch of the queue; the lock is held only to take it, never while it is checked.
fn next_batch(queue: &Mutex<Receiver<Batch>>) -> Option<Batch> {
    queue.lock().unwrap_or_else(PoisonError::into_inner).recv().ok()
}

/// Checks one batch: the first bad signature, with the report before its block.
fn check(batch: Batch) -> Found {
    let failure = first_bad_signature(&batch.signatures).map(|failure| {
        let before = batch.before.iter().find(|report| report.blocks == failure.height);
        (before.cloned().unwrap_or_else(|| Replayer::new().report_so_far()), failure)
    });
    (batch.sequence, failure)
}
