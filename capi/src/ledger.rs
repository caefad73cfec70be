//! The ledger handle: create, open and close a ledger on a file or in memory, its clock, sealing, and
//! full verification with a report.

use super::boundary::{Failure, FfiResult, Out, Poison, arg, free_handle, into_handle, run, run_free, text};
use super::keys::{hc_key, key_list};
use super::status::{HC_OK, HC_TORN_TAIL, block_code};
use super::values::{hc_block_hash, hc_chain_id, hc_hash};
use healthchain::block::MAX_SEALS;
use healthchain::checkpoint::{Checkpoint, SignedNote};
use healthchain::clock::{Clock, SystemClock};
use healthchain::ledger::{Ledger, LedgerError, LedgerSettings, SealedBlock};
use healthchain::replay::VerifyReport;
use healthchain::store::{FileStore, MemoryStore, OpenOptions, Recovery, Store};
use healthchain::trust::{Standing, verify_file_against};
use healthchain::tx::{MAX_AUTHORITIES, MAX_CHAIN_NAME_LEN, Policy};
use std::ffi::c_char;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Longest path accepted, in bytes.
pub const HC_MAX_PATH_LEN: usize = 4096;
/// The clock argument meaning "the operating system's clock" (any other value fixes the ledger's clock at
/// that many ms since the Unix epoch).
pub const HC_SYSTEM_CLOCK: u64 = 0;
/// Default for `hc_settings.max_clock_skew_ms`: 5 minutes.
pub const HC_DEFAULT_CLOCK_SKEW_MS: u64 = 300_000;
/// Open flag: refuse to cut an interrupted final append (`HC_TORN_TAIL` instead).
pub const HC_OPEN_STRICT: u32 = 1;
/// Open flag: read-only, without taking the writer lock (submissions and seals give `HC_READ_ONLY`).
pub const HC_OPEN_READ_ONLY: u32 = 2;
/// Open flag: verify every signature while opening (slower; otherwise checksums, links, seals, rules and
/// the Merkle tree are checked, and `hc_ledger_verify` checks signatures).
pub const HC_OPEN_VERIFY_SIGNATURES: u32 = 4;

/// A new ledger's settings.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hc_settings {
    /// The network's name: 1-64 printable ASCII characters, never patient data.
    pub name: *const c_char,
    /// How many authorities must seal each block (1 to the number of authorities).
    pub seal_threshold: u32,
    /// 1 if emergency break-glass access is allowed at all, 0 if not.
    pub break_glass_allowed: u32,
    /// How far (ms) a transaction's time or a proposed block's timestamp may lie ahead of the ledger's
    /// clock, as members' clocks differ (`HC_DEFAULT_CLOCK_SKEW_MS` is the usual value). Never backwards:
    /// a transaction's time always lies after the previous block's timestamp.
    pub max_clock_skew_ms: u64,
}

/// A ledger: blocks on a store (a file, or memory), the state they define, and transactions submitted but
/// not yet sealed.
///
/// Thread safety: the ledger locks itself, so one ledger may be used by several threads at once, through
/// `const hc_ledger *` (queries, which run in parallel) and `hc_ledger *` (submissions and seals, which take
/// turns) alike. Only `hc_ledger_close` needs exclusive use. A seal holds the lock while its block is synced
/// to disk, so questions asked meanwhile wait for that sync (milliseconds on a typical disk).
pub struct hc_ledger {
    poison: Poison,
    clock: FfiClock,
    recovery: Option<Recovery>,
    inner: RwLock<AnyLedger>,
}

/// The two kinds of ledger a C program can have: on a file (with the tree's stored hashes and the carried
/// checkpoints beside it), or in memory.
#[derive(Debug)]
pub(crate) enum AnyLedger {
    File(Ledger<FileStore>),
    Memory(Ledger<MemoryStore>),
}

/// Runs `$body` with `$l` bound to the ledger inside an `AnyLedger` (by reference, as the `AnyLedger`
/// is given), whatever its store: `on_ledger!(any, |l| l.now())`.
macro_rules! on_ledger {
    ($any:expr, |$l:ident| $body:expr) => {
        match $any {
            $crate::ledger::AnyLedger::File($l) => $body,
            $crate::ledger::AnyLedger::Memory($l) => $body,
        }
    };
}
pub(crate) use on_ledger;

/// Runs `$body` with `$l` bound to the ledger of the `hc_ledger` `$handle` under its read lock (see
/// [`hc_ledger::read`]): `read_ledger!(ledger, |l| Ok(l.now()))`.
macro_rules! read_ledger {
    ($handle:expr, |$l:ident| $body:expr) => {
        $handle.read(|any| $crate::ledger::on_ledger!(any, |$l| $body))
    };
}
pub(crate) use read_ledger;

/// Runs `$body` with `$l` bound to the ledger of the `hc_ledger` `$handle` under its write lock (see
/// [`hc_ledger::write`]).
macro_rules! write_ledger {
    ($handle:expr, |$l:ident| $body:expr) => {
        $handle.write(|any| $crate::ledger::on_ledger!(any, |$l| $body))
    };
}
pub(crate) use write_ledger;

impl AnyLedger {
    /// Bytes the store holds (the file's size, for a file).
    fn store_bytes(&self) -> u64 {
        match self {
            AnyLedger::File(ledger) => ledger.store().size(),
            AnyLedger::Memory(ledger) => ledger.store().blocks().iter().map(|b| b.len() as u64).sum(),
        }
    }
}

impl hc_ledger {
    /// Runs a query under the read lock (poisoning the handle if it panics).
    pub(crate) fn read<T>(&self, work: impl FnOnce(&AnyLedger) -> FfiResult<T>) -> FfiResult<T> {
        self.poison.guard(|| work(&*self.read_lock()?))
    }

    /// Runs an update under the write lock (poisoning the handle if it panics).
    pub(crate) fn write<T>(&self, work: impl FnOnce(&mut AnyLedger) -> FfiResult<T>) -> FfiResult<T> {
        self.poison.guard(|| work(&mut *self.write_lock()?))
    }

    fn read_lock(&self) -> FfiResult<RwLockReadGuard<'_, AnyLedger>> {
        self.inner.read().map_err(|_| poisoned_lock())
    }

    fn write_lock(&self) -> FfiResult<RwLockWriteGuard<'_, AnyLedger>> {
        self.inner.write().map_err(|_| poisoned_lock())
    }

    fn new(ledger: AnyLedger, clock: FfiClock, recovery: Option<Recovery>) -> *mut hc_ledger {
        into_handle(hc_ledger { poison: Poison::default(), clock, recovery, inner: RwLock::new(ledger) })
    }
}

fn poisoned_lock() -> Failure {
    Failure::new(super::status::HC_POISONED, "ledger is poisoned by an earlier panic; close it")
}

/// The ledger's clock: the system clock, or a fixed time the caller moves.
#[derive(Clone, Debug, Default)]
struct FfiClock(Arc<AtomicU64>);

impl FfiClock {
    fn new(time_ms: u64) -> Self {
        Self(Arc::new(AtomicU64::new(time_ms)))
    }
}

impl Clock for FfiClock {
    fn now_ms(&self) -> u64 {
        match self.0.load(Ordering::SeqCst) {
            HC_SYSTEM_CLOCK => SystemClock.now_ms(),
            fixed => fixed,
        }
    }
}

/// Checks settings and authority keys given by C.
///
/// # Safety
/// As for the `hc_ledger_create_*` functions.
unsafe fn creation_args<'a>(
    settings: *const hc_settings,
    authorities: *const *const hc_key,
    count: usize,
) -> FfiResult<(LedgerSettings, Vec<&'a healthchain::keys::SigningKey>)> {
    // SAFETY: forwarded contract.
    let settings = unsafe { arg(settings, "settings")? };
    // SAFETY: forwarded contract.
    let name = unsafe { text(settings.name, MAX_CHAIN_NAME_LEN, "settings.name")? };
    let seal_threshold = u8::try_from(settings.seal_threshold)
        .map_err(|_| Failure::new(super::status::HC_INVALID_SETTINGS, "seal threshold above 64"))?;
    let policy = Policy {
        break_glass_allowed: super::boundary::flag(settings.break_glass_allowed, "settings.break_glass_allowed")?,
        max_clock_skew_ms: settings.max_clock_skew_ms,
    };
    // SAFETY: forwarded contract.
    let keys = unsafe { key_list(authorities, count, MAX_AUTHORITIES, "authorities")? };
    let settings = LedgerSettings { name: name.to_owned(), seal_threshold, policy, nonce: None };
    Ok((settings.ready_for(&keys)?, keys))
}

/// Creates a ledger in a new file at `path`, with a genesis block naming `authorities` (the first is the
/// founder) sealed by all of them. The file is locked for this writer until
/// `hc_ledger_close`. The tree's stored hashes are kept beside it in `<path>.tiles/`, and the checkpoints it
/// publishes in `<path>.checkpoints`. `time_ms` is `HC_SYSTEM_CLOCK` or a fixed time (see `hc_ledger_set_time`).
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_TOO_LONG`, `HC_INVALID_UTF8`, `HC_INVALID_SETTINGS` (including duplicate
/// authority keys), `HC_INVALID_ARGUMENT`, `HC_ALREADY_EXISTS`, `HC_NOT_FOUND` (no such directory),
/// `HC_LOCKED`, `HC_IO`, `HC_NO_RANDOMNESS`, `HC_POISONED` (an authority key). Nothing is created unless
/// the settings and keys are valid.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `settings` is NULL or points to an `hc_settings` whose
/// `name` is NULL or a NUL-terminated string; `authorities` is NULL or points to `count` pointers, each
/// NULL or a live `hc_key`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_create_file(
    path: *const c_char,
    settings: *const hc_settings,
    authorities: *const *const hc_key,
    count: usize,
    time_ms: u64,
    out: *mut *mut hc_ledger,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (path, (settings, keys), out) = unsafe {
            (text(path, HC_MAX_PATH_LEN, "path")?, creation_args(settings, authorities, count)?, Out::new(out, "out")?)
        };
        let clock = FfiClock::new(time_ms);
        let ledger = Ledger::create_file(Path::new(path), Box::new(clock.clone()), &settings, &keys)?;
        out.write(hc_ledger::new(AnyLedger::File(ledger), clock, None));
        Ok(())
    })
}

/// Creates a ledger held in memory (gone when closed): for tests, simulations and short-lived ledgers.
/// Arguments as for `hc_ledger_create_file`.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_TOO_LONG`, `HC_INVALID_UTF8`, `HC_INVALID_SETTINGS`,
/// `HC_INVALID_ARGUMENT`, `HC_NO_RANDOMNESS`, `HC_POISONED` (an authority key).
///
/// # Safety
/// As for `hc_ledger_create_file`, without `path`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_create_memory(
    settings: *const hc_settings,
    authorities: *const *const hc_key,
    count: usize,
    time_ms: u64,
    out: *mut *mut hc_ledger,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let ((settings, keys), out) = unsafe { (creation_args(settings, authorities, count)?, Out::new(out, "out")?) };
        let clock = FfiClock::new(time_ms);
        let ledger = Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &settings, &keys)?;
        out.write(hc_ledger::new(AnyLedger::Memory(ledger), clock, None));
        Ok(())
    })
}

/// Opens the ledger file at `path`, replaying it from genesis. Unless `HC_OPEN_STRICT` is given, an
/// interrupted final append (provably one: see docs/FORMAT.md) is cut: `hc_ledger_recovery` reports it.
/// `flags` is a mix of `HC_OPEN_*`; `time_ms` as for `hc_ledger_create_file`. A ledger that goes back on
/// a checkpoint it carries (`<path>.checkpoints`, see `hc_ledger_publish_checkpoint`) is refused: cut or
/// rolled back since (`HC_TRUNCATED`), forked (`HC_FORKED`), or another ledger (`HC_OTHER_LEDGER`).
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_TOO_LONG`, `HC_INVALID_UTF8`, `HC_INVALID_ARGUMENT` (unknown flag),
/// `HC_NOT_FOUND`, `HC_LOCKED`, `HC_NOT_A_LEDGER`, `HC_UNSUPPORTED_VERSION`, `HC_DAMAGED`, `HC_TORN_TAIL`,
/// `HC_EMPTY_LEDGER`, `HC_CORRUPT`, `HC_IO`, `HC_TRUNCATED`, `HC_FORKED`, `HC_OTHER_LEDGER`,
/// `HC_CARRIED_CHECKPOINTS_DAMAGED`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_open_file(
    path: *const c_char,
    flags: u32,
    time_ms: u64,
    out: *mut *mut hc_ledger,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (path, out) = unsafe { (text(path, HC_MAX_PATH_LEN, "path")?, Out::new(out, "out")?) };
        let known = HC_OPEN_STRICT | HC_OPEN_READ_ONLY | HC_OPEN_VERIFY_SIGNATURES;
        if flags & !known != 0 {
            return Err(Failure::invalid(format!("unknown open flags {:#x}", flags & !known)));
        }
        let options = OpenOptions { read_only: flags & HC_OPEN_READ_ONLY != 0, strict: flags & HC_OPEN_STRICT != 0 };
        let clock = FfiClock::new(time_ms);
        let ledger = Ledger::open_file(Path::new(path), Box::new(clock.clone()), options)?;
        if flags & HC_OPEN_VERIFY_SIGNATURES != 0 {
            // The open replayed every rule, link, seal and the tree; now every signature too.
            if let Some(failure) = ledger.verify().failure {
                let offset = ledger.store().location(failure.height);
                return Err(LedgerError::Corrupt { failure, offset }.into());
            }
        }
        let recovery = ledger.store().recovery();
        out.write(hc_ledger::new(AnyLedger::File(ledger), clock, recovery));
        Ok(())
    })
}

/// Closes a ledger, releasing its file lock. Sealed blocks are already durable; transactions submitted
/// but not sealed are discarded. NULL is a no-op.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger` that no other thread uses; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_close(ledger: *mut hc_ledger) {
    // SAFETY: contract above.
    run_free(|| unsafe { free_handle(ledger) });
}

/// Sets the ledger's clock: `HC_SYSTEM_CLOCK` for the operating system's clock, or a fixed time in ms since
/// the Unix epoch (for deterministic tests and replays). The ledger never lets its time run backwards past
/// its last block.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_set_time(ledger: *mut hc_ledger, time_ms: u64) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let ledger = unsafe { arg(ledger.cast_const(), "ledger")? };
        ledger.poison.guard(|| {
            // Under the write lock: an operation reading the clock twice never sees it move in between.
            let _exclusive = ledger.write_lock()?;
            ledger.clock.0.store(time_ms, Ordering::SeqCst);
            Ok(())
        })
    })
}

/// A snapshot of a ledger's head.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct hc_ledger_info {
    /// The chain id.
    pub chain: hc_chain_id,
    /// Number of sealed blocks.
    pub blocks: u64,
    /// Hash of the last sealed block.
    pub head_hash: hc_block_hash,
    /// Timestamp of the last sealed block (ms since the Unix epoch).
    pub head_time: u64,
    /// Transactions sealed so far (the Merkle tree's size).
    pub tree_size: u64,
    /// The Merkle root over every sealed transaction.
    pub tree_root: hc_hash,
    /// Transactions submitted and not yet sealed.
    pub pending: u64,
    /// Bytes the store holds (the file's size, for a file).
    pub store_bytes: u64,
    /// The ledger's current time: its clock, but never at or before the last block (see `hc_ledger_now`).
    pub now: u64,
}

/// Writes the ledger's current time (ms since the Unix epoch): its clock, but at least 1 ms after the last
/// sealed block, since every new transaction lies strictly after it (sealed history never changes). Ask
/// consent questions about "now" at this instant: a consent granted or an actor registered since the last
/// seal counts from the time its transaction carries, which is this one.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_now(ledger: *const hc_ledger, out: *mut u64) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, out) = unsafe { (arg(ledger, "ledger")?, Out::new(out, "out")?) };
        out.write(read_ledger!(ledger, |l| Ok(l.now()))?);
        Ok(())
    })
}

/// Writes a snapshot of the ledger's head.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_get_info(ledger: *const hc_ledger, out: *mut hc_ledger_info) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, out) = unsafe { (arg(ledger, "ledger")?, Out::new(out, "out")?) };
        out.write(ledger.read(|any| {
            let store_bytes = any.store_bytes();
            on_ledger!(any, |l| {
                let head = l.head();
                Ok(hc_ledger_info {
                    chain: l.chain().into(),
                    blocks: l.block_count(),
                    head_hash: head.map(|h| h.hash().into()).unwrap_or_default(),
                    head_time: head.map_or(0, |h| h.timestamp),
                    tree_size: l.tree().size(),
                    tree_root: l.tree().root().into(),
                    pending: l.pending().len() as u64,
                    store_bytes,
                    now: l.now(),
                })
            })
        })?);
        Ok(())
    })
}

/// What opening a ledger file repaired.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct hc_recovery {
    /// 1 if an interrupted final append was found (and cut, unless the ledger is read-only), else 0.
    pub happened: u32,
    /// 1 if the bytes were cut from the file, 0 if only ignored (read-only open).
    pub cut: u32,
    /// Byte offset where the incomplete frame started.
    pub offset: u64,
    /// Bytes removed (or ignored).
    pub bytes_removed: u64,
    /// Height the incomplete frame would have held (an append that never completed).
    pub lost_height: u64,
}

/// Writes what opening the ledger repaired (`happened` 0 for created ledgers and clean files).
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_recovery(ledger: *const hc_ledger, out: *mut hc_recovery) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, out) = unsafe { (arg(ledger, "ledger")?, Out::new(out, "out")?) };
        let recovery = ledger.poison.guard(|| Ok(ledger.recovery))?;
        out.write(recovery.map_or_else(hc_recovery::default, |r| hc_recovery {
            happened: 1,
            cut: r.cut.into(),
            offset: r.offset,
            bytes_removed: r.bytes_removed,
            lost_height: r.lost_height,
        }));
        Ok(())
    })
}

/// A sealed block.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct hc_block_info {
    /// Its height (genesis is 0).
    pub height: u64,
    /// Its hash.
    pub hash: hc_block_hash,
    /// Its timestamp (ms since the Unix epoch).
    pub timestamp: u64,
    /// Transactions it holds.
    pub tx_count: u32,
}

impl From<SealedBlock> for hc_block_info {
    fn from(block: SealedBlock) -> Self {
        Self {
            height: block.header.height,
            hash: block.hash.into(),
            timestamp: block.header.timestamp,
            tx_count: block.header.tx_count,
        }
    }
}

/// Seals the submitted transactions into a block signed by `sealers` (active authorities, at least the
/// seal threshold) and appends it to the store; on a file, it is durable (fsynced) before this returns.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_TOO_LONG` (more than 64 sealers), `HC_POISONED`, `HC_NOTHING_TO_SEAL`,
/// `HC_UNKNOWN_KEY`, `HC_NOT_ENOUGH_SEALERS`, `HC_READ_ONLY`, `HC_IO` (the ledger is then poisoned:
/// `HC_STORE_POISONED` until reopened), `HC_STORE_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `sealers` is NULL or points to `count` pointers, each NULL or a
/// live `hc_key`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_seal(
    ledger: *mut hc_ledger,
    sealers: *const *const hc_key,
    count: usize,
    out: *mut hc_block_info,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, keys, out) = unsafe {
            (
                arg(ledger.cast_const(), "ledger")?,
                key_list(sealers, count, MAX_SEALS, "sealers")?,
                Out::new(out, "out")?,
            )
        };
        out.write(write_ledger!(ledger, |l| Ok(l.seal(&keys)?.into()))?);
        Ok(())
    })
}

/// Size of `hc_verify_report.failure_reason`: at most 255 bytes of text and the terminating NUL.
pub const HC_REASON_BUFFER_LEN: usize = 256;

/// The result of a full verification from genesis.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hc_verify_report {
    /// 1 if every block verified, 0 if not (see the failure fields).
    pub valid: u32,
    /// Blocks that verified.
    pub blocks: u64,
    /// Transactions in the blocks that verified.
    pub transactions: u64,
    /// Hash of the last block that verified (all zero if none did).
    pub head_hash: hc_block_hash,
    /// Merkle tree size after the last block that verified.
    pub tree_size: u64,
    /// Merkle root after the last block that verified.
    pub tree_root: hc_hash,
    /// Height of the first bad block (if not valid).
    pub failure_height: u64,
    /// 1 if a transaction is at fault, with its index in `failure_tx_index`.
    pub failure_has_tx: u32,
    /// Index of the first bad transaction in the bad block.
    pub failure_tx_index: u32,
    /// Why, as a code: `HC_VERIFY_*` for the block, or the 200-249 refusal of the transaction at fault.
    pub failure_code: i32,
    /// Why, in words (NUL-terminated; cut at 255 bytes on a character boundary).
    pub failure_reason: [c_char; HC_REASON_BUFFER_LEN],
}

impl From<&VerifyReport> for hc_verify_report {
    fn from(report: &VerifyReport) -> Self {
        let mut out = hc_verify_report {
            valid: report.is_valid().into(),
            blocks: report.blocks,
            transactions: report.transactions,
            head_hash: report.head_hash.map(Into::into).unwrap_or_default(),
            tree_size: report.tree_size,
            tree_root: report.tree_root.into(),
            failure_height: 0,
            failure_has_tx: 0,
            failure_tx_index: 0,
            failure_code: HC_OK,
            failure_reason: [0; HC_REASON_BUFFER_LEN],
        };
        if let Some(failure) = &report.failure {
            out.fail(failure.height, failure.tx_index, block_code(&failure.reason), &failure.reason.to_string());
        }
        out
    }
}

impl hc_verify_report {
    /// Records the first failure: where, the code, and the reason cut to the buffer on a character boundary.
    fn fail(&mut self, height: u64, tx_index: Option<u32>, code: i32, reason: &str) {
        self.valid = 0;
        self.failure_height = height;
        self.failure_has_tx = tx_index.is_some().into();
        self.failure_tx_index = tx_index.unwrap_or(0);
        self.failure_code = code;
        let mut end = reason.len().min(HC_REASON_BUFFER_LEN - 1);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        self.failure_reason = [0; HC_REASON_BUFFER_LEN];
        for (slot, byte) in self.failure_reason.iter_mut().zip(reason.bytes().take(end)) {
            *slot = byte as c_char;
        }
    }

    /// The report on a file that still ends with the remains of an interrupted append (left in place by a
    /// read-only open): the blocks may all verify, but the file is not valid as it is, since opening it for
    /// writing would cut that tail. A failing block is reported first.
    pub(crate) fn with_tail(mut self, recovery: Option<Recovery>) -> Self {
        if let Some(tail) = recovery.filter(|r| !r.cut && self.valid == 1) {
            let reason = format!(
                "incomplete tail: the file ends with {} bytes of an interrupted append at offset {} (block {}), \
                 which opening it for writing would cut",
                tail.bytes_removed, tail.offset, tail.lost_height
            );
            self.fail(tail.lost_height, None, HC_TORN_TAIL, &reason);
        }
        self
    }

    /// The report on a file whose blocks verify but that goes back on a checkpoint it carries (its
    /// `standings` against them): not valid, since opening it is refused with the same code.
    pub(crate) fn with_carried(mut self, standings: &[Standing]) -> Self {
        if let Some(broken) = standings.iter().find(|s| !s.is_kept()).filter(|_| self.valid == 1) {
            let reason = format!("the file goes back on a checkpoint it carries: {broken}");
            self.fail(self.blocks, None, crate::status::standing_code(broken), &reason);
        }
        self
    }
}

/// The checkpoints the ledger file at `path` carries (`<path>.checkpoints`), as its open reads them.
pub(crate) fn carried_checkpoints(path: &Path) -> FfiResult<Vec<Checkpoint>> {
    let notes = healthchain::ledger::read_carried_checkpoints(path)?;
    let parse = |note: &String| -> Result<Checkpoint, LedgerError> {
        Ok(Checkpoint::parse_text(&SignedNote::parse(note.as_bytes())?.text)?)
    };
    Ok(notes.iter().map(parse).collect::<Result<_, _>>()?)
}

/// Verifies every stored block from genesis: hash links, heights, timestamps, seals, every transaction's
/// signature and rules, and the Merkle tree. Returns `HC_OK` with the report whether or not the ledger is
/// valid; `report.valid` tells. A ledger opened read-only on a file that ends with the remains of an
/// interrupted append (see `hc_ledger_recovery`) is not valid even when every block verifies:
/// `failure_code` is `HC_TORN_TAIL` at the height the incomplete frame would have held.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_verify(ledger: *const hc_ledger, out: *mut hc_verify_report) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, out) = unsafe { (arg(ledger, "ledger")?, Out::new(out, "out")?) };
        let tail = ledger.poison.guard(|| Ok(ledger.recovery))?;
        out.write(read_ledger!(ledger, |l| Ok(hc_verify_report::from(&l.verify()).with_tail(tail)))?);
        Ok(())
    })
}

/// Verifies the ledger file at `path` from genesis without opening it as a ledger (read-only, no lock),
/// so that a file that no longer opens still gets a report naming its first bad block. Never valid for a
/// file that opening it for writing would change: one that ends with the remains of an interrupted append
/// is reported with `failure_code` `HC_TORN_TAIL` (the file is left as it is). Never valid either for a
/// file that opening refuses because it goes back on a checkpoint it carries (`<path>.checkpoints`):
/// `failure_code` is then `HC_TRUNCATED`, `HC_FORKED` or `HC_OTHER_LEDGER`, as `hc_ledger_open_file` gives.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_TOO_LONG`, `HC_INVALID_UTF8`, `HC_NOT_FOUND`, `HC_NOT_A_LEDGER`,
/// `HC_UNSUPPORTED_VERSION`, `HC_DAMAGED`, `HC_EMPTY_LEDGER`, `HC_CARRIED_CHECKPOINTS_DAMAGED`, `HC_IO`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_verify_file(path: *const c_char, out: *mut hc_verify_report) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (path, out) = unsafe { (text(path, HC_MAX_PATH_LEN, "path")?, Out::new(out, "out")?) };
        let store = file_to_verify(path)?;
        let carried = carried_checkpoints(Path::new(path))?;
        // The snapshots an open would start from must hold the state the blocks give.
        let snapshots = healthchain::claims_beside(Path::new(path));
        let measured = verify_file_against((0..store.len()).map(|h| store.read(h)), &carried, &snapshots);
        let report = hc_verify_report::from(&measured.report).with_tail(store.recovery());
        out.write(report.with_carried(&measured.standings));
        Ok(())
    })
}

/// The ledger file at `path`, opened to be verified: read-only, without the writer lock, an interrupted
/// final append left in place (and reported by `recovery()`); a file holding no block is refused.
pub(crate) fn file_to_verify(path: &str) -> FfiResult<FileStore> {
    let store = FileStore::open(Path::new(path), OpenOptions { read_only: true, strict: false })?;
    if store.is_empty() {
        return Err(LedgerError::StoreEmpty.into());
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::HC_TRUNCATED;
    use healthchain::{ManualClock, Role, SigningKey};
    use std::ffi::CString;
    use std::ptr::null_mut;

    /// A two-block ledger file whose second block was only half written: the remains of an interrupted
    /// append, which a read-only open leaves in place and a writer's open cuts.
    fn file_with_a_torn_tail(name: &str) -> (std::path::PathBuf, u64) {
        let path = std::env::temp_dir().join(format!("hc-torn-{name}-{}.ledger", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let hospital = SigningKey::from_seed(&[1; 32]);
        let clock = Box::new(ManualClock::new(1_795_424_400_000));
        let mut ledger = Ledger::create_file(&path, clock, &LedgerSettings::new("torn"), &[&hospital]).unwrap();
        let one_block = std::fs::metadata(&path).unwrap().len();
        ledger.register(&hospital, &SigningKey::from_seed(&[2; 32]), Role::Patient).unwrap();
        ledger.seal(&[&hospital]).unwrap();
        drop(ledger);
        let two_blocks = std::fs::metadata(&path).unwrap().len();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(one_block + (two_blocks - one_block) / 2).unwrap();
        (path, one_block)
    }

    fn report_of(status: i32, report: &std::mem::MaybeUninit<hc_verify_report>) -> hc_verify_report {
        assert_eq!(status, HC_OK);
        // SAFETY: written on HC_OK.
        unsafe { report.assume_init_read() }
    }

    #[test]
    fn a_file_ending_in_an_interrupted_append_is_never_reported_valid() {
        let (path, one_block) = file_with_a_torn_tail("verify");
        let c_path = CString::new(path.to_str().unwrap()).unwrap();
        let mut report = std::mem::MaybeUninit::<hc_verify_report>::zeroed();
        // SAFETY (whole test): valid pointers.
        let status = unsafe { hc_verify_file(c_path.as_ptr(), report.as_mut_ptr()) };
        let report = report_of(status, &report);
        assert_eq!((report.valid, report.blocks, report.failure_code, report.failure_height), (0, 1, HC_TORN_TAIL, 1));
        assert!(std::fs::metadata(&path).unwrap().len() > one_block, "verification changed the file");

        // A read-only ledger on it: the same; a writer's open cuts the tail, and the file is then valid.
        for (flags, valid) in [(HC_OPEN_READ_ONLY, 0), (0, 1)] {
            let mut ledger: *mut hc_ledger = null_mut();
            let mut report = std::mem::MaybeUninit::<hc_verify_report>::zeroed();
            unsafe {
                assert_eq!(hc_ledger_open_file(c_path.as_ptr(), flags, 1_795_424_500_000, &mut ledger), HC_OK);
                let report = report_of(hc_ledger_verify(ledger, report.as_mut_ptr()), &report);
                assert_eq!((report.valid, report.blocks), (valid, 1), "flags {flags}");
                hc_ledger_close(ledger);
            }
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), one_block);
        let mut report = std::mem::MaybeUninit::<hc_verify_report>::zeroed();
        let status = unsafe { hc_verify_file(c_path.as_ptr(), report.as_mut_ptr()) };
        assert_eq!(report_of(status, &report).valid, 1);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_file_cut_below_a_checkpoint_it_carries_is_never_reported_valid() {
        let path = std::env::temp_dir().join(format!("hc-carried-{}.ledger", std::process::id()));
        let checkpoints = healthchain::ledger::checkpoints_path(&path);
        let (_, _) = (std::fs::remove_file(&path), std::fs::remove_file(&checkpoints));
        let hospital = SigningKey::from_seed(&[1; 32]);
        let clock = Box::new(ManualClock::new(1_795_424_400_000));
        let mut ledger = Ledger::create_file(&path, clock, &LedgerSettings::new("carried"), &[&hospital]).unwrap();
        let one_block = std::fs::metadata(&path).unwrap().len();
        ledger.register(&hospital, &SigningKey::from_seed(&[2; 32]), Role::Patient).unwrap();
        ledger.seal(&[&hospital]).unwrap();
        ledger.publish_checkpoint(&[&hospital]).unwrap();
        drop(ledger);
        let c_path = CString::new(path.to_str().unwrap()).unwrap();
        let verify = || {
            let mut report = std::mem::MaybeUninit::<hc_verify_report>::zeroed();
            // SAFETY: valid pointers.
            let status = unsafe { hc_verify_file(c_path.as_ptr(), report.as_mut_ptr()) };
            report_of(status, &report)
        };
        assert_eq!(verify().valid, 1);
        // Cut at the block boundary: the chain alone verifies, but the file goes back on its checkpoint.
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(one_block).unwrap();
        let report = verify();
        assert_eq!((report.valid, report.blocks, report.failure_code), (0, 1, HC_TRUNCATED));
        let mut handle: *mut hc_ledger = null_mut();
        // SAFETY: valid pointers.
        let opened = unsafe { hc_ledger_open_file(c_path.as_ptr(), HC_OPEN_READ_ONLY, 1_795_424_500_000, &mut handle) };
        assert_eq!((opened, handle.is_null()), (HC_TRUNCATED, true));
        let _ = std::fs::remove_dir_all(healthchain::ledger::tiles_dir(&path));
        std::fs::remove_file(&checkpoints).unwrap();
        std::fs::remove_file(&path).unwrap();
    }
}
