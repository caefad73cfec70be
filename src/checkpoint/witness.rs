//! A witness: a party other than the ledger's operator (another hospital, an auditor, a patient's app)
//! that cosigns a ledger's checkpoints only after checking that each extends the newest one it cosigned
//! before, and that keeps that checkpoint in a small durable file. It never goes back: a smaller tree is a
//! rollback, a different root at the same size a fork, whose two signed checkpoints it keeps as evidence.
//! Whoever requires its cosignature (a [`CheckpointPolicy`] with it among the witnesses) cannot be shown a
//! cut, rolled-back or forked ledger that it did not see.

use super::note::SignedNote;
use super::{Checkpoint, CheckpointError, CheckpointPolicy};
use crate::keys::SigningKey;
use crate::proof::{ConsistencyProof, ProofError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The first line of a witness state file.
pub const STATE_MAGIC: &str = "healthchain-witness v1";
/// The largest witness state file read, in bytes.
pub const MAX_STATE_LEN: u64 = 16 * 1024 * 1024;

/// Why a witness refuses, or cannot keep its state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The checkpoint is malformed or not signed as the policy requires.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint's tree is smaller than the one the witness already cosigned.
    #[error("rollback: a tree of {offered} leaves after one of {trusted}")]
    Rollback {
        /// The size the witness cosigned before.
        trusted: u64,
        /// The size offered now.
        offered: u64,
    },
    /// Another root for a size the witness already cosigned: both checkpoints are kept as evidence.
    #[error("fork: another root for a tree of {size} leaves (both checkpoints kept as evidence)")]
    Fork {
        /// The size.
        size: u64,
    },
    /// A larger tree was offered without a consistency proof from the trusted one.
    #[error("no consistency proof from the trusted tree of {trusted} leaves to {offered}")]
    MissingProof {
        /// The size the witness cosigned before.
        trusted: u64,
        /// The size offered now.
        offered: u64,
    },
    /// The consistency proof is for other sizes, or does not show that the new tree extends the trusted
    /// one.
    #[error("the new checkpoint is not shown to extend the trusted one: {0}")]
    Inconsistent(ProofError),
    /// Another witness process holds the state file (`<state file>.lock`).
    #[error("the witness state file is in use by another process")]
    Locked,
    /// The state file is damaged or not a witness state file: the witness refuses to start afresh.
    #[error("witness state file damaged: {0}")]
    Damaged(&'static str),
    /// Reading or writing the state file failed.
    #[error("witness state file: {0}")]
    Io(#[from] std::io::Error),
}

/// Two checkpoints, each properly signed, with different roots for one tree size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkEvidence {
    /// The checkpoint the witness had cosigned.
    pub trusted: String,
    /// The conflicting one it was offered.
    pub offered: String,
}

/// A witness and its durable state. One process at a time: the witness holds an exclusive lock on
/// `<state file>.lock` while it is open.
pub struct Witness {
    name: String,
    key: SigningKey,
    path: PathBuf,
    /// Held open (and locked) for the witness's lifetime.
    _lock: std::fs::File,
    /// Per origin, the newest checkpoint cosigned (the signed note, as received).
    trusted: BTreeMap<String, String>,
    evidence: Vec<ForkEvidence>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness").field("name", &self.name).field("path", &self.path).finish_non_exhaustive()
    }
}

impl Witness {
    /// The witness named `name` cosigning with `key`, its state in the file at `path` (created empty if
    /// missing; a damaged file is an error, never a fresh start).
    pub fn open(path: &Path, name: &str, key: SigningKey) -> Result<Self, WitnessError> {
        super::NoteVerifier::cosigner(name, key.public_key())?;
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(WitnessError::Locked),
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
        let mut witness = Self {
            name: name.to_owned(),
            key,
            path: path.to_owned(),
            _lock: lock,
            trusted: BTreeMap::new(),
            evidence: Vec::new(),
        };
        match std::fs::File::open(path) {
            Ok(file) => {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::Read::take(file, MAX_STATE_LEN + 1), &mut text)
                    .map_err(|_| WitnessError::Damaged("not UTF-8"))?;
                if text.len() as u64 > MAX_STATE_LEN {
                    return Err(WitnessError::Damaged("larger than the limit"));
                }
                witness.load(&text)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => witness.save()?,
            Err(e) => return Err(e.into()),
        }
        Ok(witness)
    }

    /// The newest checkpoint cosigned for `origin`, if any.
    pub fn trusted(&self, origin: &str) -> Option<Checkpoint> {
        let note = SignedNote::parse(self.trusted.get(origin)?.as_bytes()).ok()?;
        Checkpoint::parse_text(&note.text).ok()
    }

    /// The forks seen, oldest first.
    pub fn evidence(&self) -> &[ForkEvidence] {
        &self.evidence
    }

    /// Cosigns `note` at `timestamp` (seconds) if it is signed as `log` requires (its authorities; its
    /// witness part is ignored) and extends the newest checkpoint cosigned for its origin, as `proof`
    /// shows (none is needed for the first checkpoint of an origin, or for the same tree again). The new
    /// checkpoint is durable in the state file before the cosigned note is returned.
    pub fn cosign(
        &mut self,
        note: &[u8],
        log: &CheckpointPolicy,
        proof: Option<&ConsistencyProof>,
        timestamp: u64,
    ) -> Result<String, WitnessError> {
        let authorities_only = CheckpointPolicy { witnesses: Vec::new(), witness_threshold: 0, ..log.clone() };
        let offered = Checkpoint::verify(note, &authorities_only)?.checkpoint;
        let text = std::str::from_utf8(note).map_err(|_| CheckpointError::MalformedNote("not UTF-8"))?;
        if let Some(trusted) = self.trusted(&offered.origin) {
            if offered.size < trusted.size {
                return Err(WitnessError::Rollback { trusted: trusted.size, offered: offered.size });
            }
            if offered.size == trusted.size && offered.root != trusted.root {
                let trusted_note = self.trusted.get(&offered.origin).cloned().unwrap_or_default();
                self.evidence.push(ForkEvidence { trusted: trusted_note, offered: text.to_owned() });
                self.save()?;
                return Err(WitnessError::Fork { size: offered.size });
            }
            if offered.size > trusted.size {
                let proof = proof.ok_or(WitnessError::MissingProof { trusted: trusted.size, offered: offered.size })?;
                if (proof.old_size, proof.new_size) != (trusted.size, offered.size) {
                    return Err(WitnessError::Inconsistent(ProofError::BadSizes {
                        old: proof.old_size,
                        new: proof.new_size,
                    }));
                }
                proof.verify(&trusted.root, &offered.root).map_err(WitnessError::Inconsistent)?;
            }
        }
        let cosigned = Checkpoint::cosign(note, &self.name, &self.key, timestamp)?;
        self.trusted.insert(offered.origin, text.to_owned());
        self.save()?;
        Ok(cosigned)
    }

    /// The state as text, before its checksum line: the magic line; `trusted <base64 note>` per origin;
    /// `fork <base64 note> <base64 note>` per piece of evidence.
    fn to_text(&self) -> String {
        let mut text = format!("{STATE_MAGIC}\n");
        for note in self.trusted.values() {
            text.push_str(&format!("trusted {}\n", BASE64.encode(note)));
        }
        for fork in &self.evidence {
            text.push_str(&format!("fork {} {}\n", BASE64.encode(&fork.trusted), BASE64.encode(&fork.offered)));
        }
        text
    }

    /// Reads the state written by `to_text`, refusing anything else.
    fn load(&mut self, text: &str) -> Result<(), WitnessError> {
        let damaged = WitnessError::Damaged;
        let body = super::durable::checked_body(text).map_err(damaged)?;
        let mut lines = body.lines();
        if lines.next() != Some(STATE_MAGIC) {
            return Err(damaged("not a witness state file"));
        }
        // A note as stored, with its parsed form.
        let note = |b64: &str| -> Result<(String, SignedNote), WitnessError> {
            let bytes = BASE64.decode(b64).map_err(|_| damaged("a note that is not base64"))?;
            let parsed = SignedNote::parse(&bytes).map_err(|_| damaged("a malformed note"))?;
            let text = String::from_utf8(bytes).map_err(|_| damaged("a note that is not UTF-8"))?;
            Ok((text, parsed))
        };
        for line in lines {
            let mut words = line.split(' ');
            match (words.next(), words.next(), words.next(), words.next()) {
                (Some("trusted"), Some(a), None, None) => {
                    let (text, parsed) = note(a)?;
                    let checkpoint = Checkpoint::parse_text(&parsed.text).map_err(|_| damaged("not a checkpoint"))?;
                    if self.trusted.insert(checkpoint.origin, text).is_some() {
                        return Err(damaged("two trusted checkpoints for one origin"));
                    }
                }
                (Some("fork"), Some(a), Some(b), None) => {
                    self.evidence.push(ForkEvidence { trusted: note(a)?.0, offered: note(b)?.0 });
                }
                _ => return Err(damaged("an unknown line")),
            }
        }
        Ok(())
    }

    /// Writes the state durably: a new file beside it, synced, renamed over the old one, directory synced.
    fn save(&self) -> Result<(), WitnessError> {
        Ok(super::durable::write_checksummed(&self.path, &self.to_text())?)
    }
}
