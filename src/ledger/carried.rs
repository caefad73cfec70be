//! The checkpoints a ledger carries: those it published (and the cosigned versions witnesses sent back),
//! kept beside a ledger file in `<file>.checkpoints`, so that a ledger file cut or rewritten after a
//! checkpoint was published no longer opens, and receipts can name a cosigned checkpoint.

use std::path::{Path, PathBuf};

use super::{Ledger, LedgerError};
use crate::checkpoint::durable::{checked_body, write_checksummed};
use crate::checkpoint::note::MAX_NOTE_SIGNATURES;
use crate::checkpoint::{Checkpoint, SignedNote};
use crate::keys::SigningKey;
use crate::store::Store;
use crate::trust::Standing;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// First line of a carried-checkpoints file.
pub const CARRIED_MAGIC: &str = "healthchain-checkpoints v1";

/// How many checkpoints (of distinct sizes) a ledger carries: the newest.
pub const MAX_CARRIED: usize = 32;

/// The file of the checkpoints carried by the ledger file at `path`: `<file name>.checkpoints` beside it.
pub fn checkpoints_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(std::ffi::OsString::from).unwrap_or_default();
    name.push(".checkpoints");
    path.with_file_name(name)
}

/// The checkpoints carried beside the ledger file at `ledger_path`, smallest tree first, as opening the
/// ledger reads them: none without the file; a damaged file is refused.
pub fn read_carried_checkpoints(ledger_path: &Path) -> Result<Vec<String>, LedgerError> {
    let carried = Carried::load(checkpoints_path(ledger_path))?;
    Ok(carried.notes.into_iter().map(|(_, note)| note).collect())
}

/// Carried checkpoints, smallest tree first, one per size, and where they are kept.
#[derive(Clone, Debug, Default)]
pub(super) struct Carried {
    path: Option<PathBuf>,
    notes: Vec<(u64, String)>,
}

impl Carried {
    /// The checkpoints kept at `path` (none if the file does not exist). A file that is not one, or is
    /// damaged, is refused.
    pub(super) fn load(path: PathBuf) -> Result<Self, LedgerError> {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self { path: Some(path), notes: Vec::new() });
            }
            Err(e) => return Err(LedgerError::Store(e.into())),
        };
        let damaged = LedgerError::CarriedCheckpoints;
        let body = checked_body(&text).map_err(damaged)?;
        let mut lines = body.lines();
        if lines.next() != Some(CARRIED_MAGIC) {
            return Err(damaged("not a carried-checkpoints file"));
        }
        let mut notes: Vec<(u64, String)> = Vec::new();
        for line in lines {
            let encoded = line.strip_prefix("checkpoint ").ok_or(damaged("an unknown line"))?;
            let bytes = BASE64.decode(encoded).map_err(|_| damaged("a note that is not base64"))?;
            let note = SignedNote::parse(&bytes).map_err(|_| damaged("a malformed note"))?;
            let size = Checkpoint::parse_text(&note.text).map_err(|_| damaged("not a checkpoint"))?.size;
            if notes.last().is_some_and(|(last, _)| *last >= size) {
                return Err(damaged("checkpoints out of order"));
            }
            notes.push((size, note.to_text()));
        }
        Ok(Self { path: Some(path), notes })
    }

    /// None yet, to be kept at `path`.
    pub(super) fn empty_at(path: PathBuf) -> Self {
        Self { path: Some(path), notes: Vec::new() }
    }

    /// A copy kept in memory only.
    pub(super) fn in_memory_copy(&self) -> Self {
        Self { path: None, notes: self.notes.clone() }
    }

    /// Carries `note` (of tree `size`), replacing one of the same size, keeping the newest
    /// [`MAX_CARRIED`], and saves the file durably.
    fn insert(&mut self, size: u64, note: String) -> Result<(), LedgerError> {
        let mut notes = self.notes.clone();
        notes.retain(|(s, _)| *s != size);
        notes.push((size, note));
        notes.sort_by_key(|(s, _)| *s);
        let excess = notes.len().saturating_sub(MAX_CARRIED);
        notes.drain(..excess);
        if let Some(path) = &self.path {
            let mut body = format!("{CARRIED_MAGIC}\n");
            for (_, note) in &notes {
                body.push_str(&format!("checkpoint {}\n", BASE64.encode(note)));
            }
            write_checksummed(path, &body).map_err(|e| LedgerError::Store(e.into()))?;
        }
        self.notes = notes;
        Ok(())
    }
}

impl<S: Store> Ledger<S> {
    /// Signs the checkpoint of the last sealed block with `authorities` (see [`Ledger::sign_checkpoint`])
    /// and carries it: the note, to publish and hand to witnesses.
    pub fn publish_checkpoint(&mut self, authorities: &[&SigningKey]) -> Result<String, LedgerError> {
        let note = self.sign_checkpoint(authorities)?;
        self.carry_checkpoint(&note)?;
        Ok(note)
    }

    /// Carries a checkpoint of this ledger — typically one published here and cosigned since by witnesses
    /// — in place of the one carried for its size (keeping that one's signatures if it states the same
    /// tree). It must be signed as [`Ledger::checkpoint_policy`]
    /// requires and state this ledger's root at its size.
    pub fn carry_checkpoint(&mut self, note: &str) -> Result<(), LedgerError> {
        self.writable()?;
        let policy = self.checkpoint_policy(Vec::new(), 0);
        let checkpoint = Checkpoint::verify(note.as_bytes(), &policy)?.checkpoint;
        if !self.standing(&checkpoint)?.is_kept() {
            return Err(LedgerError::ForeignCheckpoint);
        }
        let mut note = SignedNote::parse(note.as_bytes())?;
        // The same checkpoint again (signed anew, or cosigned by other witnesses): keep every signature.
        let carried = self.carried.notes.iter().find(|(size, _)| *size == checkpoint.size);
        if let Some(carried) = carried.and_then(|(_, text)| SignedNote::parse(text.as_bytes()).ok())
            && carried.text == note.text
        {
            let mut merged = carried.signatures;
            for signature in note.signatures {
                let known = merged.iter().any(|m| m.name == signature.name && m.key_id == signature.key_id);
                if !known && merged.len() < MAX_NOTE_SIGNATURES {
                    merged.push(signature);
                }
            }
            note.signatures = merged;
        }
        self.carried.insert(checkpoint.size, note.to_text())
    }

    /// The checkpoints this ledger carries, smallest tree first (signed notes, as text).
    pub fn carried_checkpoints(&self) -> Vec<String> {
        self.carried.notes.iter().map(|(_, note)| note.clone()).collect()
    }

    /// The newest carried checkpoint whose tree holds leaf `index`.
    pub(super) fn carried_covering(&self, index: u64) -> Option<&str> {
        self.carried.notes.iter().rev().find(|(size, _)| *size > index).map(|(_, note)| note.as_str())
    }

    /// Where this ledger stands against a checkpoint one trusts (its origin, size and root: check its
    /// signatures first): it holds that tree, or was cut, rolled back or forked.
    pub fn standing(&self, checkpoint: &Checkpoint) -> Result<Standing, LedgerError> {
        let size = self.tree().size();
        let covering = match checkpoint.size <= size {
            true => Some((self.root_at(checkpoint.size)?, self.block_covering(checkpoint.size)?)),
            false => None,
        };
        let origin = self.checkpoint().origin;
        Ok(crate::trust::standing(checkpoint, &origin, size, || covering.map(|(root, (h, hash))| (root, h, hash))))
    }

    /// Refuses a ledger that goes back on a checkpoint it carries.
    pub(super) fn check_carried(&self) -> Result<(), LedgerError> {
        for (_, note) in &self.carried.notes {
            let note = SignedNote::parse(note.as_bytes())?;
            let standing = self.standing(&Checkpoint::parse_text(&note.text)?)?;
            if !standing.is_kept() {
                return Err(LedgerError::BrokenCheckpoint(Box::new(standing)));
            }
        }
        Ok(())
    }
}
