//! Opening ledger files read-only, never repairing them, with a progress bar while a ledger is replayed.

use crate::error::CliError;
use healthchain::{FileStore, Ledger, LedgerError, OpenOptions, Store, StoreError, SystemClock, snapshots_dir};
use indicatif::{ProgressBar, ProgressDrawTarget};
use serde_json::json;
use std::path::Path;

/// Opens a ledger file read-only, without repairs; refuses a directory or a file holding no block.
pub fn open_read_only(path: &Path) -> Result<FileStore, CliError> {
    if path.is_dir() {
        return Err(CliError::is_a_directory(path));
    }
    let store =
        FileStore::open(path, OpenOptions { read_only: true, strict: false }).map_err(|e| CliError::store(path, &e))?;
    if store.is_empty() {
        return Err(CliError::damaged(
            "empty",
            format!(
                "{}: the file is empty: no ledger header and no block, not even genesis (an interrupted creation, \
                 or not a ledger file)",
                path.display()
            ),
            serde_json::Value::Null,
        ));
    }
    Ok(store)
}

/// The file's real size (which includes an incomplete final frame that a read-only open leaves in place).
pub fn file_size(path: &Path) -> Result<u64, CliError> {
    std::fs::metadata(path).map(|m| m.len()).map_err(|e| CliError::io(path, &e))
}

/// A read-only file store that advances a progress bar for every block read (the replay of an open).
#[derive(Debug)]
pub struct Progressing {
    /// The file store.
    inner: FileStore,
    /// One step per block read.
    bar: ProgressBar,
}

impl Store for Progressing {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    fn read(&self, height: u64) -> Result<Vec<u8>, StoreError> {
        let block = self.inner.read(height);
        self.bar.inc(1);
        block
    }

    fn append(&mut self, height: u64, block: &[u8]) -> Result<(), StoreError> {
        self.inner.append(height, block)
    }

    fn is_read_only(&self) -> bool {
        self.inner.is_read_only()
    }

    fn location(&self, height: u64) -> Option<u64> {
        self.inner.location(height)
    }
}

/// A store that is a ledger file, read directly or behind a progress bar.
pub trait OnFile: Store {
    /// The file store.
    fn file(&self) -> &FileStore;
}

impl OnFile for FileStore {
    fn file(&self) -> &FileStore {
        self
    }
}

impl OnFile for Progressing {
    fn file(&self) -> &FileStore {
        &self.inner
    }
}

/// A ledger file opened for reading.
pub enum Opened {
    /// By the core's `Ledger::open_file`, from the newest state snapshot beside the file.
    FromSnapshot(Ledger<FileStore>),
    /// By replaying every block, with a progress bar.
    Replayed(Ledger<Progressing>),
}

/// Runs `$body` with `$ledger` bound to the ledger an [`Opened`] holds, whichever way it was opened.
macro_rules! with_opened {
    ($opened:expr, |$ledger:ident| $body:expr) => {
        match $opened {
            $crate::open::Opened::FromSnapshot($ledger) => $body,
            $crate::open::Opened::Replayed($ledger) => $body,
        }
    };
}
pub(crate) use with_opened;

/// Opens a ledger file read-only: from the newest state snapshot beside it (`<file>.snapshots/`, written by
/// its writer) when there is one, which replays only the blocks after it; else by replaying every block
/// (rules, links and tree; not signatures), with a progress bar of the blocks replayed on stderr when stderr
/// is a terminal and the output is not JSON.
pub fn open_ledger(path: &Path, json: bool) -> Result<Opened, CliError> {
    let has_snapshots = std::fs::read_dir(snapshots_dir(path)).is_ok_and(|mut entries| {
        entries.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".snapshot")))
    });
    if has_snapshots && !path.is_dir() {
        return open_file_ledger(path, false).map(Opened::FromSnapshot);
    }
    open_replaying(path, json).map(Opened::Replayed)
}

/// Opens a ledger file read-only by replaying every block, with a progress bar.
fn open_replaying(path: &Path, json: bool) -> Result<Ledger<Progressing>, CliError> {
    let inner = open_read_only(path)?;
    let bar = crate::progress(inner.len(), json, "blocks");
    let store = Progressing { inner, bar: bar.clone() };
    let opened = Ledger::open(store, Box::new(SystemClock));
    bar.finish_and_clear();
    // Nothing reads blocks after the replay; should anything do, it must not draw a finished bar again.
    bar.set_draw_target(ProgressDrawTarget::hidden());
    opened.map_err(|error| open_error(path, error))
}

/// Opens a ledger file with the core's `Ledger::open_file`: its stored tree hashes (`<file>.tiles/`, read
/// only unless `writable`) and the checkpoints it carries (`<file>.checkpoints`), refusing a ledger that
/// goes back on one of them (exit status 7, 8 or 9). Read-only, it never repairs; writable, it takes the
/// writer's lock and refuses (strict) a file with an incomplete final frame rather than cut it. No
/// progress bar: the core replays the blocks itself.
pub fn open_file_ledger(path: &Path, writable: bool) -> Result<Ledger<FileStore>, CliError> {
    if path.is_dir() {
        return Err(CliError::is_a_directory(path));
    }
    let options = OpenOptions { read_only: !writable, strict: writable };
    Ledger::open_file(path, Box::new(SystemClock), options).map_err(|error| open_error(path, error))
}

/// Why a ledger file could not be opened and replayed.
pub fn open_error(path: &Path, error: LedgerError) -> CliError {
    match error {
        LedgerError::Store(e) => CliError::store(path, &e),
        LedgerError::StoreEmpty => CliError::damaged(
            "empty",
            format!("{}: the file holds no block, not even genesis (an interrupted creation)", path.display()),
            serde_json::Value::Null,
        ),
        LedgerError::CarriedCheckpoints(reason) => crate::trust::damaged_file(
            "carried-checkpoints",
            &healthchain::ledger::checkpoints_path(path),
            &format!("carried checkpoints refused: {reason}"),
        ),
        LedgerError::BrokenCheckpoint(standing) => crate::trust::broken_checkpoint(
            &format!(
                "{}: the ledger goes back on a checkpoint it carries (in {})",
                path.display(),
                healthchain::ledger::checkpoints_path(path).display()
            ),
            &standing,
            "; run `healthchain verify` for the full report",
        ),
        LedgerError::Corrupt { failure, offset } => CliError::invalid(
            "invalid",
            format!(
                "{}: ledger does not verify: {failure}{}; run `healthchain verify` for the full report",
                path.display(),
                offset.map(|o| format!(" (block at byte {o})")).unwrap_or_default()
            ),
            json!({
                "height": failure.height,
                "tx_index": failure.tx_index,
                "reason": failure.reason.to_string(),
                "offset": offset,
            }),
        ),
        other => CliError::internal(format!("{}: opening the ledger: {other}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use healthchain::{LedgerSettings, ManualClock, Role, SigningKey};

    #[test]
    fn replaying_a_ledger_advances_the_progress_bar_once_per_block() {
        let dir = std::env::temp_dir().join(format!("healthchain-cli-unit-{}-progress", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.ledger");
        let clock = ManualClock::new(1_767_225_600_000);
        let hospital = SigningKey::from_seed(&[1; 32]);
        let mut ledger =
            Ledger::create_file(&path, Box::new(clock.clone()), &LedgerSettings::new("p"), &[&hospital]).unwrap();
        for seed in 2..5 {
            clock.advance(1000);
            ledger.register(&hospital, &SigningKey::from_seed(&[seed; 32]), Role::Patient).unwrap();
            ledger.seal(&[&hospital]).unwrap();
        }
        drop(ledger);
        // A hidden bar counts all the same.
        let bar = ProgressBar::hidden();
        let store = Progressing { inner: open_read_only(&path).unwrap(), bar: bar.clone() };
        let ledger = Ledger::open(store, Box::new(SystemClock)).unwrap();
        assert_eq!(bar.position(), 4);
        assert_eq!(ledger.block_count(), 4);
        assert!(ledger.store().file().recovery().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
