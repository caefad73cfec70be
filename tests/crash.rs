//! Crash tests of the file store (issue 3, item 7).
//!
//! (a) Every truncation length of a real 70-append workload's file, every write boundary, and zero or garbage
//!     tails after every boundary and a sample of in-frame offsets: the file reopens to exactly a prefix of the
//!     blocks holding every complete (acknowledged) frame, and the ledger on it verifies — or, for a garbage
//!     tail that is not provably an interrupted append, the open is refused as `Damaged` at the first
//!     incomplete frame and the file is left as it is. Nothing acknowledged is ever cut; zero tails (what an
//!     interrupted append leaves) always recover; a file without a complete genesis frame is an
//!     `IncompleteCreation`, never cut on open, and `create` takes it over.
//! (b) I/O errors injected at every write and every sync of the workload, transient and persistent, with and
//!     without a torn (short) write: the failing call returns an error, every later append is refused
//!     (poisoned) without touching the file, and every acknowledged block survives a reopen.
//! (c) A child process (this test binary, in child mode) appends in a loop and reports every acknowledged
//!     height over a pipe; the parent kills it with SIGKILL at random moments, over and over on the same file.
//! (d) A second writer, in this process or another, is refused while a writer holds the file; readers are not.
//!
//! Three regression tests pin store bugs these tests found (now fixed): a torn genesis append with a zero tail
//! was refused, a frame look-alike inside a torn block turned recovery into `Damaged`, and an in-place reopen
//! after a failed sync could leave acknowledged blocks behind a hole after a power cut.

mod support;

use healthchain::workload::SplitMix64;
use healthchain::*;
use std::collections::{BTreeMap, HashSet};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use support::{T0, key};

/// Child mode: append blocks to the ledger file at this path until killed (or a bound is reached).
const CHILD_ENV: &str = "HEALTHCHAIN_CRASH_CHILD";
/// Child mode: try to open the ledger file at this path as a writer and as a reader, report, exit.
const PROBE_ENV: &str = "HEALTHCHAIN_CRASH_LOCK_PROBE";
/// The `#[test]` that is the child process's entry point.
const CHILD_TEST: &str = "child_process_entry_point";

// ---- helpers: randomness, temporary directories ----

/// The workload's fixed-seed generator (`healthchain::workload`), so every run tests the same cases.
struct Rng(SplitMix64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(SplitMix64(seed))
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0.below(n)
    }

    /// A value in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.0.next_u64() as u8).collect()
    }
}

/// A directory under the system temporary directory, unique to this process and test, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("healthchain-crash-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Tests that hold real, locked ledger files or spawn child processes run one at a time. A child process
/// shares, from its fork until its exec, the open file descriptions of every file the parent process has
/// open, and with them their `flock` writer locks: a test that closed and at once reopened its ledger while
/// another test was spawning a child would see `StoreError::Locked`. (The tests on in-memory files run beside
/// them.)
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static REAL_FILES: Mutex<()> = Mutex::new(());
    REAL_FILES.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn hash_of(block: &[u8]) -> BlockHash {
    Block::from_bytes(block).unwrap().header.hash()
}

// ---- the workload: real blocks of 1 to 20 transactions ----

const PURPOSE: &str = "TREAT";

/// Registers patients and providers, grants consents and records accesses, 1 to 20 transactions per block.
struct Workload {
    clock: ManualClock,
    hospital: SigningKey,
    rng: Rng,
    keys_made: u64,
    patients: Vec<(SigningKey, ActorId)>,
    providers: Vec<(SigningKey, ActorId)>,
    /// Granted consents: (patient index, provider index, the consent's own section).
    consents: Vec<(usize, usize, Code)>,
}

impl Workload {
    fn new(seed: u64) -> Self {
        Self {
            clock: ManualClock::new(T0),
            hospital: key(1),
            rng: Rng::new(seed),
            keys_made: 0,
            patients: Vec::new(),
            providers: Vec::new(),
            consents: Vec::new(),
        }
    }

    fn settings() -> LedgerSettings {
        LedgerSettings::new("crash-test")
    }

    fn create<S: Store>(&self, store: S) -> Result<Ledger<S>, LedgerError> {
        Ledger::create(store, Box::new(self.clock.clone()), &Self::settings(), &[&self.hospital])
    }

    fn fresh_key(&mut self) -> SigningKey {
        self.keys_made += 1;
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.keys_made.to_le_bytes());
        seed[31] = 0xA5;
        SigningKey::from_seed(&seed)
    }

    /// Submits 1 to 20 transactions and seals them into one block.
    fn step<S: Store>(&mut self, ledger: &mut Ledger<S>) -> Result<SealedBlock, LedgerError> {
        let txs = self.rng.between(1, 20);
        for _ in 0..txs {
            self.one_transaction(ledger)?;
        }
        let sealed = ledger.seal(&[&self.hospital]);
        self.clock.advance(self.rng.between(1, 60_000));
        sealed
    }

    fn one_transaction<S: Store>(&mut self, ledger: &mut Ledger<S>) -> Result<(), LedgerError> {
        let dice = self.rng.below(10);
        if self.patients.is_empty() || self.providers.is_empty() || dice < 3 {
            let new_key = self.fresh_key();
            let role = if self.patients.len() <= self.providers.len() { Role::Patient } else { Role::Provider };
            let id = ledger.register(&self.hospital, &new_key, role)?;
            match role {
                Role::Patient => self.patients.push((new_key, id)),
                _ => self.providers.push((new_key, id)),
            }
        } else if self.consents.is_empty() || dice < 6 {
            let p = self.rng.below(self.patients.len() as u64) as usize;
            let q = self.rng.below(self.providers.len() as u64) as usize;
            // A section of its own, so that no earlier grant already covers it.
            let section = Code::new(&format!("sec{}", self.consents.len())).unwrap();
            let now = ledger.now();
            let grant = ConsentGrant {
                patient: self.patients[p].1,
                grantee: Grantee::Actor(self.providers[q].1),
                effect: Effect::Permit,
                sections: CodeSet::new([section]).unwrap(),
                purposes: CodeSet::parse([PURPOSE]).unwrap(),
                actions: Actions::READ,
                window: Window { not_before: now, not_after: None },
                exceptions: Vec::new(),
            };
            ledger.grant_consent(&self.patients[p].0, grant)?;
            self.consents.push((p, q, section));
        } else {
            let (p, q, section) = self.consents[self.rng.below(self.consents.len() as u64) as usize];
            let request = CheckRequest {
                patient: self.patients[p].1,
                requester: self.providers[q].1,
                section,
                purpose: Code::new(PURPOSE).unwrap(),
                action: Action::Read,
                at: ledger.now(),
            };
            let basis = ledger.check(&request).unwrap().access_basis().expect("the consent permits the access");
            ledger.record_access(&self.providers[q].0, RecordAccess::for_request(&request, basis))?;
        }
        Ok(())
    }
}

/// Appends in the shared workload: genesis plus 69 sealed blocks.
const WORKLOAD_BLOCKS: usize = 70;

/// The workload's blocks, built once on an in-memory ledger.
fn workload_blocks() -> &'static [Vec<u8>] {
    static BLOCKS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BLOCKS.get_or_init(|| {
        let mut work = Workload::new(7);
        let mut ledger = work.create(MemoryStore::new()).unwrap();
        while (ledger.block_count() as usize) < WORKLOAD_BLOCKS {
            work.step(&mut ledger).unwrap();
        }
        let blocks = ledger.store().blocks().to_vec();
        assert!(support::verify(&blocks).is_valid());
        blocks
    })
}

/// Where each block's frame starts and ends in a ledger file's bytes (read through a clean in-memory file).
fn frame_layout(bytes: &[u8]) -> (Vec<u64>, Vec<u64>) {
    let store = FileStore::from_file(FaultyFile::clean(bytes.to_vec()), READER).unwrap();
    assert_eq!(store.recovery(), None);
    let starts: Vec<u64> = (0..store.len()).map(|h| store.location(h).unwrap()).collect();
    let ends: Vec<u64> = starts.iter().skip(1).copied().chain([store.size()]).collect();
    (starts, ends)
}

/// Whether `file` holds the frames of `frames` and, after them, only the zeros a writer reserves.
fn same_frames(file: &[u8], frames: &[u8]) -> bool {
    file.starts_with(frames) && file[frames.len()..].iter().all(|b| *b == 0)
}

/// Number of frames that end at or before `cut`: the blocks that must survive a cut there.
fn complete_frames(ends: &[u64], cut: u64) -> usize {
    ends.partition_point(|end| *end <= cut)
}

/// End of the last of the first `n` frames: where recovery must cut to.
fn valid_end(ends: &[u64], n: usize) -> u64 {
    if n == 0 { 0 } else { ends[n - 1] }
}

// ---- in-memory files: `FaultyFile` (clean, or with one injected fault) and a borrowed prefix ----

/// Which file operation a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Write,
    Sync,
    /// A change of the file's size: the space an append reserves ahead, or a cut on open.
    SetLen,
}

/// Whether a fault hits once or every call from then on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Persistence {
    /// The N-th call fails; every later call succeeds.
    Transient,
    /// The N-th call and every later write or sync fail (a dead disk).
    Persistent,
}

/// How much of a failing write reaches the file before the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Landed {
    /// Nothing.
    Nothing,
    /// A pseudo-random, non-empty, proper prefix (a short or torn write).
    Prefix,
    /// Everything: the error comes after the data was written.
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fault {
    op: Op,
    /// 1-based index of the failing call among calls of `op`.
    nth: usize,
    persistence: Persistence,
    landed: Landed,
}

/// The medium under a [`FaultyFile`], shared between handles (like the same path opened twice).
#[derive(Debug, Default)]
struct Disk {
    /// What reads see: every write that reached the operating system.
    written: Vec<u8>,
    /// What the last successful sync made durable: what a power cut leaves.
    durable: Vec<u8>,
    /// Lowest offset changed since the last successful sync (`durable` agrees with `written` below it).
    dirty_from: usize,
    writes: usize,
    syncs: usize,
    set_lens: usize,
    /// The fault has fired.
    fired: bool,
    /// Linux's behaviour after a failed `fsync`: the unsynced pages stay readable but are marked clean, so
    /// no later sync writes them out (unless they are written again).
    forget_dirty_on_failed_sync: bool,
}

impl Disk {
    /// Calls of every kind so far (to prove that a poisoned store leaves the file alone).
    fn calls(&self) -> usize {
        self.writes + self.syncs + self.set_lens
    }
}

/// An in-memory [`LedgerFile`] that fails as `fault` says.
#[derive(Clone, Debug)]
struct FaultyFile {
    disk: Arc<Mutex<Disk>>,
    fault: Option<Fault>,
}

impl FaultyFile {
    fn clean(bytes: Vec<u8>) -> Self {
        let disk = Disk { dirty_from: bytes.len(), written: bytes.clone(), durable: bytes, ..Disk::default() };
        Self { disk: Arc::new(Mutex::new(disk)), fault: None }
    }

    fn faulty(fault: Fault) -> Self {
        Self { disk: Arc::default(), fault: Some(fault) }
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap()
    }

    fn written(&self) -> Vec<u8> {
        self.disk().written.clone()
    }

    /// Whether this call (the `count`-th of `op`) fails.
    fn fails(&self, disk: &mut Disk, op: Op, count: usize) -> bool {
        let Some(fault) = self.fault else { return false };
        if disk.fired && fault.persistence == Persistence::Persistent {
            return true;
        }
        if op == fault.op && count == fault.nth && !disk.fired {
            disk.fired = true;
            return true;
        }
        false
    }
}

fn injected() -> io::Error {
    io::Error::other("injected i/o error")
}

impl LedgerFile for FaultyFile {
    fn size(&self) -> io::Result<u64> {
        Ok(self.disk().written.len() as u64)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let disk = self.disk();
        let start = usize::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        let src = disk.written.get(start..start + buf.len()).ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_all_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut disk = self.disk.lock().unwrap();
        disk.writes += 1;
        let count = disk.writes;
        let first_failure = !disk.fired;
        let fail = self.fails(&mut disk, Op::Write, count);
        let landed = match (fail, self.fault.map(|f| f.landed)) {
            (false, _) => data.len(),
            // Once failed, a persistent fault writes nothing.
            (true, _) if !first_failure => 0,
            (true, Some(Landed::Prefix)) => 1 + (count * 7919) % (data.len() - 1),
            (true, Some(Landed::All)) => data.len(),
            (true, _) => 0,
        };
        let offset = offset as usize;
        disk.dirty_from = disk.dirty_from.min(offset);
        if disk.written.len() < offset + landed {
            disk.written.resize(offset + landed, 0);
        }
        disk.written[offset..offset + landed].copy_from_slice(&data[..landed]);
        if fail { Err(injected()) } else { Ok(()) }
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let mut disk = self.disk.lock().unwrap();
        disk.syncs += 1;
        let count = disk.syncs;
        if self.fails(&mut disk, Op::Sync, count) {
            // Whether any of the unsynced data reached the medium is unknown: `durable` keeps the pessimistic
            // view (none did), `written` the optimistic one (all of it did).
            if disk.forget_dirty_on_failed_sync {
                disk.dirty_from = disk.written.len();
            }
            return Err(injected());
        }
        let Disk { written, durable, dirty_from, .. } = &mut *disk;
        // Bytes never synced below the dirty region (forgotten after a failed sync) read back as zeros.
        durable.resize(*dirty_from, 0);
        durable.extend_from_slice(&written[*dirty_from..]);
        *dirty_from = written.len();
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let mut disk = self.disk.lock().unwrap();
        disk.set_lens += 1;
        let count = disk.set_lens;
        if self.fails(&mut disk, Op::SetLen, count) {
            return Err(injected());
        }
        disk.dirty_from = disk.dirty_from.min(len as usize);
        disk.written.resize(len as usize, 0);
        Ok(())
    }
}

/// A borrowed prefix of a file's bytes (the truncation sweep opens thousands of them without copying).
/// Truncation shrinks `len`; the only write allowed is the writer-open resync, which rewrites bytes that are
/// already there (anything else fails the test).
struct PrefixFile<'a> {
    bytes: &'a [u8],
    len: &'a AtomicUsize,
}

impl LedgerFile for PrefixFile<'_> {
    fn size(&self) -> io::Result<u64> {
        Ok(self.len.load(Ordering::SeqCst) as u64)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = offset as usize;
        let valid = &self.bytes[..self.len.load(Ordering::SeqCst)];
        buf.copy_from_slice(valid.get(start..start + buf.len()).ok_or(io::ErrorKind::UnexpectedEof)?);
        Ok(())
    }

    fn write_all_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let start = offset as usize;
        let valid = &self.bytes[..self.len.load(Ordering::SeqCst)];
        match valid.get(start..start + data.len()) {
            Some(existing) if existing == data => Ok(()),
            _ => Err(io::Error::other("the truncation sweep only allows rewriting identical bytes")),
        }
    }

    fn sync_data(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        assert!(len as usize <= self.len.load(Ordering::SeqCst), "recovery must only ever shorten the file");
        self.len.store(len as usize, Ordering::SeqCst);
        Ok(())
    }
}

const WRITER: OpenOptions = OpenOptions { read_only: false, strict: false };
const READER: OpenOptions = OpenOptions { read_only: true, strict: false };
const STRICT: OpenOptions = OpenOptions { read_only: false, strict: true };

/// Opens the ledger on `store` (fast open) and fully verifies it; returns the block count.
fn open_and_verify<S: Store>(store: S, context: &dyn std::fmt::Display) -> u64 {
    let ledger = Ledger::open(store, Box::new(ManualClock::new(T0)))
        .unwrap_or_else(|e| panic!("{context}: the ledger does not open: {e}"));
    let report = ledger.verify();
    assert!(report.is_valid(), "{context}: the ledger does not verify: {:?}", report.failure);
    assert_eq!(report.blocks, ledger.block_count(), "{context}");
    ledger.block_count()
}

/// Opens `file` as a writer; a file that is only an interrupted creation (nothing acknowledged) is taken
/// over the way `FileStore::create` does: emptied, then opened.
fn open_or_take_over(file: &FaultyFile, context: &str) -> FileStore<FaultyFile> {
    match FileStore::from_file(file.clone(), WRITER) {
        Err(StoreError::IncompleteCreation) => {
            file.clone().set_len(0).unwrap();
            FileStore::from_file(file.clone(), WRITER).unwrap_or_else(|e| panic!("{context}: after take-over: {e}"))
        }
        other => other.unwrap_or_else(|e| panic!("{context}: {e}")),
    }
}

// ---- (a) truncations, write boundaries, zero and garbage tails ----

/// Builds the (a) file through the real API: a ledger on a file store, 70 appends of 1 to 20 transactions.
fn build_ledger_file(path: &Path) -> Vec<Vec<u8>> {
    let mut work = Workload::new(11);
    let mut ledger =
        Ledger::create_file(path, Box::new(work.clock.clone()), &Workload::settings(), &[&work.hospital]).unwrap();
    let mut tx_counts = Vec::new();
    while (ledger.block_count() as usize) < WORKLOAD_BLOCKS {
        tx_counts.push(work.step(&mut ledger).unwrap().header.tx_count);
    }
    // The block sizes must really vary, from one transaction to about twenty.
    assert_eq!((tx_counts.iter().min(), tx_counts.iter().max()), (Some(&1), Some(&20)), "{tx_counts:?}");
    (0..ledger.block_count()).map(|h| ledger.store().read(h).unwrap()).collect()
}

/// Offsets to cut at besides the frame boundaries: inside the file header, at the edges of each frame's header
/// and block, its middle and two pseudo-random in-frame offsets.
fn in_frame_offsets(starts: &[u64], ends: &[u64], rng: &mut Rng) -> Vec<u64> {
    let mut cuts = vec![1, 4, 8, 10, 12, 30, 44, 47, 48];
    for (start, end) in starts.iter().zip(ends) {
        for delta in [1, 4, 12, 16, 19, 20, 21] {
            cuts.push(start + delta);
        }
        cuts.push(start + 20 + (end - start - 20) / 2);
        cuts.push(end - 1);
        cuts.push(rng.between(start + 1, end - 1));
        cuts.push(rng.between(start + 1, end - 1));
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

#[test]
fn every_truncation_and_every_torn_tail_reopens_to_an_acknowledged_prefix() {
    let _serial = one_at_a_time();
    let dir = TempDir::new("truncate");
    let path = dir.file("ledger.hcl");
    let blocks = build_ledger_file(&path);
    // The writer, closed, gave back the space it had reserved: the file ends at its last frame.
    let bytes = std::fs::read(&path).unwrap();
    let (starts, ends) = frame_layout(&bytes);
    assert_eq!((starts.len(), ends.last()), (blocks.len(), Some(&(bytes.len() as u64))));
    assert!(blocks.len() >= 64);

    // Every truncation length, through the store's own scan on a borrowed prefix: exactly the complete
    // frames, where they were written, and the file cut back to the end of the last of them. The newest
    // surviving block is compared byte for byte at every length, all of them at every frame boundary.
    for cut in 0..=bytes.len() {
        let len = AtomicUsize::new(cut);
        let n = complete_frames(&ends, cut as u64);
        let opened = FileStore::from_file(PrefixFile { bytes: &bytes, len: &len }, WRITER);
        if n == 0 && cut > 0 {
            // The first append (file header and genesis) is incomplete: never cut on open.
            assert!(matches!(opened, Err(StoreError::IncompleteCreation)), "cut at {cut}: {:?}", opened.err());
            assert_eq!(len.load(Ordering::SeqCst), cut, "cut at {cut}: the file was changed");
            continue;
        }
        let store = opened.unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let end = valid_end(&ends, n);
        assert_eq!((store.len(), store.size()), (n as u64, end), "cut at {cut}");
        assert_eq!(len.load(Ordering::SeqCst) as u64, end, "cut at {cut}: the file is cut back to the last frame");
        let expected = (cut as u64 != end).then_some(Recovery {
            offset: end,
            bytes_removed: cut as u64 - end,
            lost_height: n as u64,
            cut: true,
        });
        assert_eq!(store.recovery(), expected, "cut at {cut}");
        for (h, start) in starts.iter().enumerate().take(n) {
            assert_eq!(store.location(h as u64), Some(*start), "cut at {cut}");
        }
        let compared = if cut as u64 == end { 0 } else { n.saturating_sub(1) };
        for (h, block) in blocks.iter().enumerate().take(n).skip(compared) {
            assert_eq!(&store.read(h as u64).unwrap(), block, "cut at {cut}: block {h}");
        }
    }

    // Every write boundary and a sample of in-frame offsets, in memory: appending the lost blocks again
    // after recovery gives back the original file, byte for byte.
    let mut rng = Rng::new(0xC0FFEE);
    let boundaries: Vec<u64> = [0].into_iter().chain(ends.iter().copied()).collect();
    let inside = in_frame_offsets(&starts, &ends, &mut rng);
    for &cut in boundaries.iter().chain(&inside) {
        let file = FaultyFile::clean(bytes[..cut as usize].to_vec());
        let mut store = open_or_take_over(&file, &format!("cut at {cut}"));
        let n = complete_frames(&ends, cut);
        assert_eq!(store.len(), n as u64, "cut at {cut}");
        for (h, block) in blocks.iter().enumerate().skip(n) {
            store.append(h as u64, block).unwrap();
        }
        assert!(same_frames(&file.written(), &bytes), "cut at {cut}: re-appending does not give the same file");
    }

    // On the real file: at every write boundary the file opens as it is and the ledger opens and fully
    // verifies; inside every frame (at a torn frame header, in the middle of the
    // block, or one byte short, in turn) `FileStore::open` cuts the file on disk and the ledger opens.
    for (i, &cut) in boundaries.iter().enumerate() {
        std::fs::write(&path, &bytes[..cut as usize]).unwrap();
        let store = FileStore::open(&path, WRITER).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!((store.len(), store.recovery()), (i as u64, None), "cut at {cut}");
        if i > 0 {
            assert_eq!(open_and_verify(store, &format!("cut at {cut}")), i as u64);
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), cut, "cut at {cut}");
    }
    for (h, (start, end)) in starts.iter().zip(&ends).enumerate() {
        let cut = [start + 4, start + 24 + (end - start - 28) / 2, end - 1][h % 3];
        std::fs::write(&path, &bytes[..cut as usize]).unwrap();
        if h == 0 {
            // An interrupted creation: refused as it is, then taken over by `create`.
            let opened = FileStore::open(&path, WRITER);
            assert!(matches!(opened, Err(StoreError::IncompleteCreation)), "cut at {cut}: {opened:?}");
            assert_eq!(std::fs::metadata(&path).unwrap().len(), cut, "cut at {cut}");
            assert_eq!(FileStore::create(&path).unwrap().len(), 0);
            continue;
        }
        let store = FileStore::open(&path, WRITER).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let recovery = store.recovery().map(|r| (r.lost_height, r.cut));
        assert_eq!((store.len(), recovery), (h as u64, Some((h as u64, true))), "cut at {cut}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), valid_end(&ends, h), "cut at {cut}");
        if h > 0 {
            assert_eq!(Ledger::open(store, Box::new(ManualClock::new(T0))).unwrap().block_count(), h as u64);
        }
    }

    // Zero-filled and garbage tails of 1, 7, 20, 24 and 4096 bytes after every boundary and the in-frame
    // sample. Zeros (what an interrupted append leaves where it never wrote) always recover, or are space a
    // writer reserved after a boundary; garbage may be refused as damage; nothing acknowledged is ever cut.
    let mut garbage = Rng::new(0x6A4B_A6E5);
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for &cut in boundaries.iter().chain(&inside) {
        for tail_len in [1, 7, 20, 24, 4096] {
            for (zeros, tail) in [(true, vec![0u8; tail_len]), (false, garbage.bytes(tail_len))] {
                let outcome = check_tail(&bytes, &blocks, &ends, cut as usize, &tail);
                assert!(
                    !zeros || matches!(outcome, "recovered" | "reserved" | "incomplete creation"),
                    "{cut}+{tail_len}: {outcome}"
                );
                *outcomes.entry(outcome).or_default() += 1;
            }
        }
    }
    for outcome in ["recovered", "reserved", "damaged", "incomplete creation", "not a ledger"] {
        assert!(outcomes.contains_key(outcome), "{outcome} never happened: {outcomes:?}");
    }

    // A 4096-byte tail after every third boundary on the real file: zeros are reserved space, left on disk, and
    // the ledger opens (fully verified on the complete file); garbage is refused as damage at the boundary,
    // the file as it was.
    for (i, &cut) in boundaries.iter().enumerate().skip(1).filter(|(i, _)| i % 3 == 0 || *i == blocks.len()) {
        let mut image = bytes[..cut as usize].to_vec();
        let zeros = i % 2 == 0;
        image.extend(if zeros { vec![0; 4096] } else { garbage.bytes(4096) });
        std::fs::write(&path, &image).unwrap();
        if !zeros {
            let opened = FileStore::open(&path, WRITER);
            assert!(
                matches!(opened, Err(StoreError::Damaged { offset, height, .. }) if offset == cut && height == i as u64),
                "garbage after {cut}: {opened:?}"
            );
            assert_eq!(std::fs::read(&path).unwrap(), image, "garbage after {cut}: the file was changed");
            continue;
        }
        let store = FileStore::open(&path, WRITER).unwrap_or_else(|e| panic!("tail after {cut}: {e}"));
        assert_eq!((store.recovery(), store.size()), (None, cut), "zeros after {cut}");
        assert_eq!(std::fs::read(&path).unwrap(), image, "zeros after {cut}: the file was changed");
        if i == blocks.len() {
            assert_eq!(open_and_verify(store, &format!("tail after {cut}")), i as u64);
        } else {
            assert_eq!(Ledger::open(store, Box::new(ManualClock::new(T0))).unwrap().block_count(), i as u64);
        }
    }
}

/// Opens `bytes[..cut] + tail` as a writer, a reader and in strict mode and checks each outcome against the
/// rule "nothing acknowledged is cut, and only what is provably an interrupted append is": with `n` the
/// frames complete and intact in the image, either those `n` blocks open and the tail after them is cut
/// (reported exactly), or the open is refused — `Damaged` at the end of frame `n` (garbage where frame `n`
/// should start), `IncompleteCreation` (`n` = 0) or `NotALedger` (the magic itself is garbage) — and the file
/// is left exactly as it was. Returns which of these happened.
fn check_tail(bytes: &[u8], blocks: &[Vec<u8>], ends: &[u64], cut: usize, tail: &[u8]) -> &'static str {
    let mut image = bytes[..cut].to_vec();
    image.extend_from_slice(tail);
    let context = format!("cut at {cut}, tail of {} bytes starting {:?}", tail.len(), &tail[..tail.len().min(4)]);
    // The tail may happen to restore the original bytes (a zero where the file held a zero): count the frames
    // that are complete and intact in the image.
    let intact = image.iter().zip(bytes).take_while(|(a, b)| a == b).count();
    let n = complete_frames(ends, intact as u64);
    let end = valid_end(ends, n);

    let file = FaultyFile::clean(image.clone());
    let store = match FileStore::from_file(file.clone(), WRITER) {
        Ok(store) => store,
        Err(e) => {
            let outcome = match e {
                StoreError::Damaged { offset, height, .. } => {
                    // Before genesis: the file header (offset 0) or block 0's frame (just after it).
                    let at = if n == 0 && offset == 48 { 0 } else { offset };
                    assert_eq!((at, height), (end, n as u64), "{context}: damage reported elsewhere");
                    "damaged"
                }
                StoreError::IncompleteCreation if n == 0 => "incomplete creation",
                StoreError::NotALedger if cut < 8 => "not a ledger",
                other => panic!("{context}: unexpected refusal: {other}"),
            };
            assert!(file.written() == image, "{context}: a refused file was changed");
            return outcome;
        }
    };
    assert_eq!(store.len(), n as u64, "{context}");
    if image[end as usize..].iter().all(|b| *b == 0) {
        // Only zeros after a frame end (or, if the tail restored the original bytes, nothing at all): space
        // a writer reserved, not an append. Opens leave it (readers and strict opens alike); a writer gives
        // it back when it closes.
        assert_eq!((store.recovery(), store.size()), (None, end), "{context}");
        assert!(file.written() == image, "{context}: opening changed reserved space");
        drop(store);
        assert!(file.written() == bytes[..end as usize], "{context}: a closed writer kept reserved space");
        let file = FaultyFile::clean(image.clone());
        let reader = FileStore::from_file(file.clone(), READER).unwrap_or_else(|e| panic!("{context}: reader: {e}"));
        let strict = FileStore::from_file(file.clone(), STRICT).unwrap_or_else(|e| panic!("{context}: strict: {e}"));
        assert_eq!((reader.len(), reader.recovery(), strict.len()), (n as u64, None, n as u64), "{context}");
        assert!(file.written() == image, "{context}: a reader or strict open changed reserved space");
        return if image.len() as u64 == end { "intact" } else { "reserved" };
    }
    let recovery = store.recovery().unwrap_or_else(|| panic!("{context}: no recovery reported"));
    assert_eq!(
        (recovery.offset, recovery.bytes_removed, recovery.lost_height, recovery.cut),
        (end, image.len() as u64 - end, n as u64, true),
        "{context}"
    );
    assert!(file.written() == bytes[..end as usize], "{context}: the tail was not cut exactly");
    for (h, block) in blocks.iter().enumerate().take(n) {
        assert_eq!(&store.read(h as u64).unwrap(), block, "{context}: block {h}");
    }
    drop(store);

    // A reader sees the same blocks and leaves the bytes alone; strict mode refuses (checked for a short and
    // a long tail, to keep the run short).
    if [7, 4096].contains(&tail.len()) {
        let file = FaultyFile::clean(image.clone());
        let reader = FileStore::from_file(file.clone(), READER).unwrap_or_else(|e| panic!("{context}: reader: {e}"));
        assert_eq!((reader.len(), reader.recovery().map(|r| r.cut)), (n as u64, Some(false)), "{context}");
        let strict = FileStore::from_file(file.clone(), STRICT);
        assert!(
            matches!(strict, Err(StoreError::TornTail { height, .. }) if height == n as u64),
            "{context}: {strict:?}"
        );
        assert!(file.written() == image, "{context}: a reader or strict open changed the file");
    }
    "recovered"
}

/// Bug (reported): a genesis append torn after the 8-byte magic, whose tail reads back as zeros (a file
/// extended before its data reached the disk), was refused as `UnknownVersion(0)` instead of being recognised
/// as the interrupted creation it is, so the ledger could not be created again without deleting the file by
/// hand. It is now `IncompleteCreation` (the genesis frame is never cut on open) and `create` takes it over.
#[test]
fn a_torn_genesis_append_with_a_zero_tail_is_an_interrupted_creation() {
    // The first append writes the 48-byte header and block 0's frame; only the magic reached the disk.
    let mut image = b"HCLEDGER".to_vec();
    image.extend_from_slice(&[0; 4096]);
    let file = FaultyFile::clean(image.clone());
    let opened = FileStore::from_file(file.clone(), WRITER);
    assert!(matches!(opened, Err(StoreError::IncompleteCreation)), "{opened:?}");
    assert!(file.written() == image, "the file was changed");
    let dir = TempDir::new("torn-genesis");
    let path = dir.file("ledger.hcl");
    std::fs::write(&path, &image).unwrap();
    let work = Workload::new(3);
    let ledger =
        Ledger::create_file(&path, Box::new(work.clock.clone()), &Workload::settings(), &[&work.hospital]).unwrap();
    assert_eq!(ledger.block_count(), 1);
}

/// Bug (reported): recovery decided "damage before the end" versus "torn tail" by searching the bytes after
/// the bad frame for any checksum-valid frame of the same or a later height, including bytes *inside* the
/// torn block. A submitter controls 32 raw bytes in a block (an anchor's commitment, a break-glass
/// justification), enough for a valid-looking frame of a later height. If the append of that block was torn
/// (a crash, or a reader that opens while the writer is mid-append), the open failed with `Damaged` instead
/// of cutting the unacknowledged tail. Recovery now looks only at the frame where it stopped.
#[test]

fn a_frame_lookalike_inside_a_torn_block_does_not_block_recovery() {
    let clock = ManualClock::new(T0);
    let hospital = key(1);
    let mut ledger =
        Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &Workload::settings(), &[&hospital]).unwrap();
    let patient = ledger.register(&hospital, &key(2), Role::Patient).unwrap();
    ledger.seal(&[&hospital]).unwrap();
    // "HCBK" | height 2^40 | length 8 | crc32c | 8 block bytes = 28 bytes, padded to 32.
    let mut lookalike = Vec::new();
    lookalike.extend_from_slice(b"HCBK");
    lookalike.extend_from_slice(&(1u64 << 40).to_le_bytes());
    lookalike.extend_from_slice(&8u32.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&lookalike), b"lookalik");
    lookalike.extend_from_slice(&crc.to_le_bytes());
    lookalike.extend_from_slice(b"lookalik\0\0\0\0");
    let anchor = AnchorRecord {
        patient,
        section: Code::new("labs").unwrap(),
        purpose: Code::new(PURPOSE).unwrap(),
        commitment: Hash256(lookalike.try_into().unwrap()),
    };
    ledger.anchor_record(&hospital, anchor).unwrap();
    ledger.seal(&[&hospital]).unwrap();

    let (file_bytes, _) = clean_file(ledger.store().blocks());
    // The append of block 2 is torn one byte before its end.
    let torn = file_bytes[..file_bytes.len() - 1].to_vec();
    let store = FileStore::from_file(FaultyFile::clean(torn), WRITER);
    assert!(
        matches!(&store, Ok(s) if s.len() == 2 && s.recovery().map(|r| r.lost_height) == Some(2)),
        "{:?}",
        store.map(|s| s.recovery())
    );
}

/// Bug (reported): after a failed sync, reopening the file without a reboot (the documented way out of
/// `Poisoned`) trusts the page cache. The frame whose sync failed is still readable, so recovery keeps it and
/// later appends build on it — but Linux marks the pages of a failed `fsync` clean, so no later sync writes
/// them out. After a power cut the file has a hole where that frame was, with acknowledged blocks after it:
/// `Damaged`, and the acknowledged blocks cannot be opened. (A writer open that rewrites the final frame and
/// syncs it before accepting appends would close this.)
#[test]

fn acknowledged_blocks_survive_a_failed_sync_then_a_reopen_then_a_power_cut() {
    let blocks = workload_blocks();
    let fault = Fault { op: Op::Sync, nth: 3, persistence: Persistence::Transient, landed: Landed::Nothing };
    let file = FaultyFile::faulty(fault);
    file.disk().forget_dirty_on_failed_sync = true;
    let mut store = FileStore::from_file(file.clone(), WRITER).unwrap();
    store.append(0, &blocks[0]).unwrap();
    store.append(1, &blocks[1]).unwrap();
    assert!(matches!(store.append(2, &blocks[2]), Err(StoreError::Io(_))));
    drop(store);
    // Reopened in place: block 2 is read back from the page cache and kept; blocks 3 to 5 are acknowledged.
    let mut store = FileStore::from_file(file.clone(), WRITER).unwrap();
    assert_eq!((store.len(), store.recovery()), (3, None));
    for (h, block) in blocks.iter().enumerate().take(6).skip(3) {
        store.append(h as u64, block).unwrap();
    }
    drop(store);
    // Power cut: only what the syncs wrote out survives.
    let durable = file.disk().durable.clone();
    let store = FileStore::from_file(FaultyFile::clean(durable), WRITER);
    assert!(matches!(&store, Ok(s) if s.len() == 6), "{:?}", store.map(|s| s.len()));
}

// ---- (b) injected I/O errors ----

/// Every fault at each of the `appends` writes and syncs, and at each of the `set_lens` reservations.
fn all_faults(appends: usize, set_lens: usize) -> Vec<Fault> {
    let mut faults = Vec::new();
    for persistence in [Persistence::Transient, Persistence::Persistent] {
        for nth in 1..=set_lens {
            faults.push(Fault { op: Op::SetLen, nth, persistence, landed: Landed::Nothing });
        }
    }
    for (op, landed) in [
        (Op::Write, Landed::Nothing),
        (Op::Write, Landed::Prefix),
        (Op::Write, Landed::All),
        (Op::Sync, Landed::Nothing),
    ] {
        for persistence in [Persistence::Transient, Persistence::Persistent] {
            for nth in 1..=appends {
                faults.push(Fault { op, nth, persistence, landed });
            }
        }
    }
    faults
}

/// The frames of a clean file of `blocks` (without the zeros reserved after them), and the number of times
/// the writer changed the file's size to reserve them.
fn clean_file(blocks: &[Vec<u8>]) -> (Vec<u8>, usize) {
    let file = FaultyFile::clean(Vec::new());
    let mut store = FileStore::from_file(file.clone(), WRITER).unwrap();
    for (h, block) in blocks.iter().enumerate() {
        store.append(h as u64, block).unwrap();
    }
    let mut bytes = file.written();
    assert!(same_frames(&bytes, &bytes[..store.size() as usize]));
    bytes.truncate(store.size() as usize);
    (bytes, file.disk().set_lens)
}

/// Reopens `image` with a clean file and checks that it holds every acknowledged block (and at most the
/// one block whose append failed), that the ledger opens and verifies, and that appending the rest gives
/// `clean`. The blocks found are compared byte for byte with the workload's; the ledger is opened and fully
/// verified once per number of blocks found (`verified`), as the same bytes always give the same result.
/// Returns the number of blocks found.
fn reopen_image(
    image: &[u8],
    blocks: &[Vec<u8>],
    acked: usize,
    clean: &[u8],
    verified: &mut HashSet<usize>,
    context: &str,
) -> usize {
    let file = FaultyFile::clean(image.to_vec());
    let mut store = open_or_take_over(&file, context);
    let n = store.len() as usize;
    // Every acknowledged block is there. The block whose append failed may be there too when its write
    // completed before the error (a failed sync, or an error reported after the data was written): it was
    // never acknowledged, but it is a valid next block, and recovery cannot tell it from an acknowledged one.
    assert!(n == acked || n == acked + 1, "{context}: {n} blocks, {acked} acknowledged");
    for (h, block) in blocks.iter().enumerate().take(n) {
        assert_eq!(&store.read(h as u64).unwrap(), block, "{context}: block {h}");
    }
    if n > 0 && verified.insert(n) {
        assert_eq!(open_and_verify(store, &context), n as u64);
        store = FileStore::from_file(file.clone(), WRITER).unwrap();
    }
    for (h, block) in blocks.iter().enumerate().skip(n) {
        store.append(h as u64, block).unwrap_or_else(|e| panic!("{context}: appending {h} after reopen: {e}"));
    }
    assert!(same_frames(&file.written(), clean), "{context}: the repaired file differs from a clean one");
    n
}

#[test]
fn io_errors_at_every_write_and_sync_lose_nothing_acknowledged() {
    let blocks = workload_blocks();
    let (clean, set_lens) = clean_file(blocks);
    assert!(set_lens >= 2, "the workload reserves space only {set_lens} times");
    let mut outcomes = BTreeMap::new();
    let mut verified = HashSet::new();
    for fault in all_faults(blocks.len(), set_lens) {
        let context = format!("{fault:?}");
        let file = FaultyFile::faulty(fault);
        let mut store = FileStore::from_file(file.clone(), WRITER).unwrap();
        let mut acked = 0;
        let mut failure = None;
        for (h, block) in blocks.iter().enumerate() {
            match store.append(h as u64, block) {
                Ok(()) => {
                    assert!(failure.is_none(), "{context}: append {h} succeeded after a failure");
                    acked += 1;
                }
                Err(StoreError::Io(_)) if failure.is_none() => failure = Some((h, file.disk().calls())),
                Err(e) => {
                    assert!(matches!(e, StoreError::Poisoned), "{context}: append {h} after a failure: {e}");
                }
            }
        }
        let (failed_height, calls) = failure.unwrap_or_else(|| panic!("{context}: no append failed"));
        assert!(file.disk().fired, "{context}");
        assert_eq!(acked, failed_height, "{context}");
        // Retrying the failed append is refused too, and a poisoned store never touched the file again.
        let retry = store.append(failed_height as u64, &blocks[failed_height]);
        assert!(matches!(retry, Err(StoreError::Poisoned)), "{context}: {retry:?}");
        assert_eq!(file.disk().calls(), calls, "{context}: a poisoned store touched the file");
        assert_eq!(store.len(), acked as u64, "{context}");
        drop(store);

        // After a crash: what the operating system had (every completed write) and what the last successful
        // sync made durable. Both reopen with every acknowledged block.
        let (written, durable) = {
            let disk = file.disk();
            (disk.written.clone(), disk.durable.clone())
        };
        let found = reopen_image(&written, blocks, acked, &clean, &mut verified, &format!("{context}, written bytes"));
        let expect_extra = fault.op == Op::Sync || fault.landed == Landed::All;
        assert_eq!(found, acked + usize::from(expect_extra), "{context}");
        let durable_found =
            reopen_image(&durable, blocks, acked, &clean, &mut verified, &format!("{context}, durable bytes"));
        assert_eq!(durable_found, acked, "{context}");

        // Reopening the same faulty file without a restart: after a transient fault the store recovers and
        // the rest of the workload goes through; after a persistent one, no append ever succeeds again.
        let reopened = FileStore::from_file(file.clone(), WRITER);
        match (fault.persistence, reopened) {
            (_, Err(StoreError::IncompleteCreation)) => {
                // The failed append was genesis's: nothing was ever acknowledged; `create` takes the file over.
                assert_eq!((found, acked), (0, 0), "{context}");
                *outcomes.entry("incomplete creation").or_insert(0) += 1;
            }
            (Persistence::Transient, Ok(mut store)) => {
                assert_eq!(store.len() as usize, found, "{context}");
                for (h, block) in blocks.iter().enumerate().skip(found) {
                    store.append(h as u64, block).unwrap_or_else(|e| panic!("{context}: append {h}: {e}"));
                }
                assert!(same_frames(&file.written(), &clean), "{context}");
            }
            (Persistence::Transient, Err(e)) => panic!("{context}: reopen after a transient fault: {e}"),
            (Persistence::Persistent, Ok(mut store)) => {
                // Only possible when no tail had to be cut: the failed append's frame was complete.
                assert_eq!(store.len() as usize, found, "{context}");
                let next = store.len();
                let result = store.append(next, blocks.get(next as usize).map_or(&[1u8][..], |b| b));
                assert!(matches!(result, Err(StoreError::Io(_))), "{context}: {result:?}");
                *outcomes.entry("persistent: reopened, appends fail").or_insert(0) += 1;
            }
            (Persistence::Persistent, Err(e)) => {
                assert!(matches!(e, StoreError::Io(_)), "{context}: {e}");
                *outcomes.entry("persistent: reopen refused").or_insert(0) += 1;
            }
        }
    }
    // Both persistent outcomes occur (a complete frame left behind, or a torn one that cannot be cut), a
    // failed genesis append leaves an interrupted creation, and every prefix length was reopened and verified.
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    assert_eq!(verified.len(), blocks.len(), "{verified:?}");
}

/// The same faults driven through the ledger API on a fresh ledger (`Ledger::create` on
/// `FileStore::from_file`, then `seal`): the failing call returns a store error, the ledger and its store
/// refuse everything afterwards, and the reopened file holds every acknowledged block and verifies.
#[test]
fn io_errors_through_the_ledger_api_lose_nothing_acknowledged() {
    const BLOCKS: usize = 16;
    // Every ledger reserves space before its second block, so the first reservation's failure is tested.
    for fault in all_faults(BLOCKS, 1) {
        let context = format!("{fault:?}");
        let file = FaultyFile::faulty(fault);
        let mut work = Workload::new(fault.nth as u64);
        let store = FileStore::from_file(file.clone(), WRITER).unwrap();
        // Acknowledged blocks by hash: genesis once `create` returned, then one per successful `seal`.
        let mut acked: Vec<BlockHash> = Vec::new();
        let failure = match work.create(store) {
            Err(e) => e,
            Ok(mut ledger) => {
                acked.push(ledger.head().unwrap().hash());
                let failure = loop {
                    assert!(acked.len() < BLOCKS + 1, "{context}: the fault never fired");
                    match work.step(&mut ledger) {
                        Ok(sealed) => acked.push(sealed.hash),
                        Err(e) => break e,
                    }
                };
                // Poisoned: no transaction, no seal, no append through the store.
                assert_eq!(ledger.block_count(), acked.len() as u64, "{context}");
                let register = ledger.register(&work.hospital, &key(200), Role::Patient);
                assert!(matches!(register, Err(LedgerError::Poisoned)), "{context}: {register:?}");
                let seal = ledger.seal(&[&work.hospital]);
                assert!(matches!(seal, Err(LedgerError::Poisoned)), "{context}: {seal:?}");
                let calls = file.disk().calls();
                let append = ledger.into_store().append(acked.len() as u64, b"anything");
                assert!(matches!(append, Err(StoreError::Poisoned)), "{context}: {append:?}");
                assert_eq!(file.disk().calls(), calls, "{context}");
                failure
            }
        };
        assert!(matches!(failure, LedgerError::Store(StoreError::Io(_))), "{context}: {failure}");

        let (written, durable) = {
            let disk = file.disk();
            (disk.written.clone(), disk.durable.clone())
        };
        // The frames a power cut leaves are a prefix of what the operating system had (the zeros reserved after
        // them may differ): the full verification of the latter covers the former's blocks, which only need the
        // fast open.
        let synced = FileStore::from_file(FaultyFile::clean(durable.clone()), READER).map_or(0, |s| s.size());
        assert!(written.starts_with(&durable[..synced as usize]), "{context}");
        for (image, name) in [(written, "written"), (durable, "durable")] {
            let store = open_or_take_over(&FaultyFile::clean(image), &format!("{context}, {name} bytes"));
            let n = store.len() as usize;
            assert!(n == acked.len() || n == acked.len() + 1 && name == "written", "{context}, {name}: {n} blocks");
            for (h, hash) in acked.iter().enumerate() {
                assert_eq!(&hash_of(&store.read(h as u64).unwrap()), hash, "{context}, {name}: block {h}");
            }
            if n > 0 && name == "written" {
                assert_eq!(open_and_verify(store, &format!("{context}, {name} bytes")), n as u64);
            } else if n > 0 {
                let ledger = Ledger::open(store, Box::new(ManualClock::new(T0))).unwrap();
                assert_eq!(ledger.block_count(), n as u64, "{context}, {name} bytes");
            }
        }
    }
}

// ---- (c) and (d): child processes ----

/// The entry point of the child processes; run by the parent tests with an environment variable set.
/// Without one, it runs the child's writer loop in-process to its bound, twice on the same file.
#[test]
fn child_process_entry_point() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        let mut out = io::stdout();
        // Ends when the parent kills us, when the pipe closes, or after 100,000 blocks.
        if let Err(e) = child_writer_loop(Path::new(&path), &mut out, 100_000) {
            eprintln!("child writer: {e}");
            std::process::exit(3);
        }
        return;
    }
    if let Some(path) = std::env::var_os(PROBE_ENV) {
        let mut out = io::stdout();
        child_probe(Path::new(&path), &mut out).unwrap();
        return;
    }
    let _serial = one_at_a_time();
    let dir = TempDir::new("child-loop");
    let path = dir.file("ledger.hcl");
    let mut acks = BTreeMap::new();
    for round in 0..2 {
        let mut out = Vec::new();
        child_writer_loop(&path, &mut out, 5).unwrap();
        let report = parse_child_output(&out);
        assert_eq!(report.opened, Some(acks.len() as u64), "round {round}");
        assert_eq!(report.acks.len(), 5 + usize::from(round == 0), "round {round}");
        acks.extend(report.acks);
    }
    let store = FileStore::open(&path, WRITER).unwrap();
    check_acked(&store, &acks, "in-process child loop");
    assert_eq!(open_and_verify(store, &"in-process child loop"), 11);
    let mut out = Vec::new();
    child_probe(&path, &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "WRITER ok 11\nREADER ok 11\n");
}

/// Opens (or creates) the ledger at `path` and appends up to `max_blocks` blocks of 1 to 4 registrations,
/// writing `ACK <height> <hash>` after each block is acknowledged (flushed at once).
fn child_writer_loop(path: &Path, out: &mut dyn Write, max_blocks: u64) -> Result<(), Box<dyn std::error::Error>> {
    let hospital = key(1);
    let clock = ManualClock::new(T0);
    // A creation interrupted before block 0 was durable leaves an empty file: create the ledger in it.
    let store = if path.exists() { FileStore::open(path, WRITER)? } else { FileStore::create(path)? };
    let recovery = store.recovery();
    let mut ledger = if store.is_empty() {
        let ledger = Ledger::create(store, Box::new(clock.clone()), &Workload::settings(), &[&hospital])?;
        writeln!(out, "OPENED 0 {recovery:?}")?;
        writeln!(out, "ACK 0 {}", ledger.head().map(|h| h.hash()).ok_or("no genesis")?)?;
        ledger
    } else {
        let ledger = Ledger::open(store, Box::new(clock.clone()))?;
        writeln!(out, "OPENED {} {recovery:?}", ledger.block_count())?;
        ledger
    };
    out.flush()?;
    let mut rng = Rng::new(ledger.block_count() ^ u64::from(std::process::id()));
    for _ in 0..max_blocks {
        let height = ledger.block_count();
        for i in 0..rng.between(1, 4) {
            // Keys unique per (height, index): a height is only reused after its block was lost.
            let mut seed = [0x5Au8; 32];
            seed[..8].copy_from_slice(&height.to_le_bytes());
            seed[8] = i as u8;
            ledger.register(&hospital, &SigningKey::from_seed(&seed), Role::Patient)?;
        }
        let sealed = ledger.seal(&[&hospital])?;
        clock.advance(1000);
        writeln!(out, "ACK {} {}", sealed.header.height, sealed.hash)?;
        out.flush()?;
    }
    Ok(())
}

/// Tries to open the ledger at `path` as a second writer and as a reader; reports both outcomes.
fn child_probe(path: &Path, out: &mut dyn Write) -> io::Result<()> {
    let outcome = |result: Result<FileStore, StoreError>| match result {
        Ok(store) => format!("ok {}", store.len()),
        Err(e) => format!("err {e}"),
    };
    writeln!(out, "WRITER {}", outcome(FileStore::open(path, WRITER)))?;
    writeln!(out, "READER {}", outcome(FileStore::open(path, READER)))?;
    out.flush()
}

#[derive(Debug, Default)]
struct ChildReport {
    /// The block count the child found on open.
    opened: Option<u64>,
    /// Acknowledged heights and their block hashes.
    acks: BTreeMap<u64, String>,
}

fn parse_child_output(out: &[u8]) -> ChildReport {
    let mut report = ChildReport::default();
    for line in String::from_utf8_lossy(out).lines() {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["OPENED", count, ..] => report.opened = Some(count.parse().unwrap()),
            ["ACK", height, hash] => {
                let previous = report.acks.insert(height.parse().unwrap(), (*hash).to_owned());
                assert!(previous.is_none(), "height {height} acknowledged twice: {line}");
            }
            _ => {} // the test harness's own lines
        }
    }
    report
}

/// Every acknowledged height is in `store`, holding the block with the acknowledged hash.
fn check_acked<F: LedgerFile>(store: &FileStore<F>, acks: &BTreeMap<u64, String>, context: &str) {
    for (height, hash) in acks {
        let block = store.read(*height).unwrap_or_else(|e| panic!("{context}: acknowledged block {height}: {e}"));
        assert_eq!(&hash_of(&block).to_string(), hash, "{context}: acknowledged block {height} was replaced");
    }
}

/// This test binary, run as a child in one of the modes above.
fn spawn_child(env: &str, path: &Path, stderr: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1", "--quiet"])
        .env(env, path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .unwrap()
}

/// Forwards the child's stdout lines; the thread ends when the pipe closes (the child exited or was killed).
fn read_lines(child: &mut Child) -> (mpsc::Receiver<String>, std::thread::JoinHandle<()>) {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (rx, reader)
}

/// Waits for a line of the child's starting with `prefix` (with a generous deadline that only guards
/// against a hung child: not a timing assertion). False if the child's output ended first.
fn wait_for(rx: &mpsc::Receiver<String>, seen: &mut Vec<String>, prefix: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let found = line.starts_with(prefix);
                seen.push(line);
                if found {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

#[cfg(unix)]
#[test]
fn a_writer_killed_at_random_moments_never_loses_an_acknowledged_block() {
    use std::os::unix::process::ExitStatusExt;
    const ROUNDS: usize = 28;
    let _serial = one_at_a_time();

    let dir = TempDir::new("kill");
    let path = dir.file("ledger.hcl");
    let stderr = dir.file("child.stderr");
    let mut rng = Rng::new(0x5EED_0001);
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let (mut kills_while_appending, mut recoveries) = (0, 0);
    for round in 1..=ROUNDS {
        let context = format!("round {round}");
        let mut child = spawn_child(CHILD_ENV, &path, &stderr);
        let (rx, reader) = read_lines(&mut child);
        let mut lines = Vec::new();
        // Three rounds in four time the kill from the child's first acknowledgement, so that it lands among
        // the appends; every fourth from the spawn, so that it may land in the open, the recovery or the
        // creation of the ledger.
        let appending = round % 4 != 0;
        if appending {
            assert!(wait_for(&rx, &mut lines, "OPENED ") && wait_for(&rx, &mut lines, "ACK "), "{context}: {lines:?}");
        }
        std::thread::sleep(Duration::from_millis(rng.between(5, 80)));
        if let Some(status) = child.try_wait().unwrap() {
            let errors = std::fs::read_to_string(&stderr).unwrap_or_default();
            panic!("{context}: the child exited on its own: {status:?}\n{lines:?}\n{errors}");
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        let errors = std::fs::read_to_string(&stderr).unwrap_or_default();
        assert_eq!(status.signal(), Some(9), "{context}: the child was not killed: {status:?}\n{errors}");
        kills_while_appending += usize::from(appending);

        let report = parse_child_output(lines.join("\n").as_bytes());
        if let Some(count) = report.opened {
            // The child found every block acknowledged in earlier rounds.
            let needed = acked.keys().next_back().map_or(0, |h| h + 1);
            assert!(count >= needed, "{context}: the child opened {count} blocks, {needed} were acknowledged");
        }
        for (height, hash) in report.acks {
            if let Some(previous) = acked.insert(height, hash.clone()) {
                assert_eq!(previous, hash, "{context}: acknowledged block {height} was replaced");
            }
        }

        // The parent's own check: the file reopens, holds every acknowledged block, and verifies. Every other
        // round the parent opens it as a writer (cutting a torn tail), otherwise as a reader (leaving the
        // repair to the next child).
        let options = if round % 2 == 0 { WRITER } else { READER };
        let store = FileStore::open(&path, options).unwrap_or_else(|e| panic!("{context}: {e}"));
        recoveries += usize::from(store.recovery().is_some());
        check_acked(&store, &acked, &context);
        if store.is_empty() {
            assert!(acked.is_empty(), "{context}: empty file after acknowledgements");
        } else {
            open_and_verify(store, &context);
        }
    }
    let blocks = acked.keys().next_back().map_or(0, |h| h + 1);
    eprintln!(
        "{ROUNDS} kills, {kills_while_appending} while appending, {recoveries} opens found a torn tail, {} \
         acknowledged blocks of {blocks}",
        acked.len()
    );
    assert!(kills_while_appending >= 20);
    assert!(acked.len() >= kills_while_appending, "too few acknowledged blocks: {}", acked.len());
}

#[test]
fn a_second_writer_is_refused_in_this_process_and_from_another() {
    let _serial = one_at_a_time();
    let dir = TempDir::new("lock");
    let path = dir.file("ledger.hcl");
    let stderr = dir.file("child.stderr");
    let mut work = Workload::new(3);
    let mut ledger =
        Ledger::create_file(&path, Box::new(work.clock.clone()), &Workload::settings(), &[&work.hospital]).unwrap();
    for _ in 0..4 {
        work.step(&mut ledger).unwrap();
    }
    let held = ledger.block_count();

    // In this process: a second writer handle is refused, by the store and by the ledger; readers are not.
    let second = FileStore::open(&path, WRITER);
    assert!(matches!(second, Err(StoreError::Locked)), "{second:?}");
    assert_eq!(StoreError::Locked.to_string(), "ledger is locked by another writer");
    let second = Ledger::open_file(&path, Box::new(ManualClock::new(T0)), WRITER);
    assert!(matches!(second, Err(LedgerError::Store(StoreError::Locked))), "{second:?}");
    assert!(matches!(FileStore::create(&path), Err(StoreError::Locked)));
    let reader = FileStore::open(&path, READER).unwrap();
    assert_eq!((reader.len(), reader.recovery()), (held, None));
    assert_eq!(open_and_verify(reader, &"reader beside the writer"), held);

    // From another process, while this one holds the lock.
    let probe = |context: &str| {
        let mut child = spawn_child(PROBE_ENV, &path, &stderr);
        let (rx, reader) = read_lines(&mut child);
        let status = child.wait().unwrap();
        reader.join().unwrap();
        let errors = std::fs::read_to_string(&stderr).unwrap_or_default();
        assert!(status.success(), "{context}: probe failed: {status:?}\n{errors}");
        rx.try_iter().filter(|l| l.starts_with("WRITER ") || l.starts_with("READER ")).collect::<Vec<_>>()
    };
    assert_eq!(probe("locked"), [format!("WRITER err {}", StoreError::Locked), format!("READER ok {held}")]);

    // The writer keeps appending, the other process still cannot write; once it is gone, it can.
    work.step(&mut ledger).unwrap();
    assert_eq!(
        probe("still locked"),
        [format!("WRITER err {}", StoreError::Locked), format!("READER ok {}", held + 1)]
    );
    drop(ledger);
    assert_eq!(probe("released"), [format!("WRITER ok {}", held + 1), format!("READER ok {}", held + 1)]);

    // The other way round: another process is the writer (the crash child, appending); this one is refused,
    // and a reader here sees only complete blocks that verify.
    #[cfg(unix)]
    {
        let mut child = spawn_child(CHILD_ENV, &path, &stderr);
        let (rx, reader_thread) = read_lines(&mut child);
        let mut lines = Vec::new();
        let opened = wait_for(&rx, &mut lines, "OPENED ");
        let errors = std::fs::read_to_string(&stderr).unwrap_or_default();
        assert!(opened, "the child writer did not open the ledger: {lines:?}\n{errors}");
        for _ in 0..3 {
            let second = FileStore::open(&path, WRITER);
            assert!(matches!(second, Err(StoreError::Locked)), "{second:?}");
            let reader = FileStore::open(&path, READER).unwrap();
            assert!(reader.len() > held, "{}", reader.len());
            open_and_verify(reader, &"reader beside a writer process");
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader_thread.join().unwrap();
        let store = FileStore::open(&path, WRITER).unwrap();
        open_and_verify(store, &"after the writer process was killed");
    }
}
