//! What a verifier trusts: verifier keys (C2SP vkeys) of the ledger's authorities and of witnesses, the
//! policy they make, checkpoint notes read from files and from `<file>.checkpoints`, and where a ledger
//! stands against a checkpoint (kept, truncated, forked, of another ledger) with its exit status.

use crate::error::{
    CliError, EXIT_CHECKPOINT_REFUSED, EXIT_DAMAGED, EXIT_FORKED, EXIT_INVALID, EXIT_OK, EXIT_OTHER_LEDGER,
    EXIT_TRUNCATED, EXIT_USAGE,
};
use crate::format::group;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::Args;
use healthchain::checkpoint::{
    Checkpoint, CheckpointError, CheckpointPolicy, NoteVerifier, SignatureKind, SignedNote, VerifiedCheckpoint,
};
use healthchain::hash::Hash256;
use healthchain::ledger::{checkpoints_path, read_carried_checkpoints};
use healthchain::trust::Standing;
use healthchain::{LedgerError, StoreError};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The keys a checkpoint must be signed and cosigned by (`verify`, `checkpoint show`, `checkpoint cosign`,
/// `verify-receipt`).
#[derive(Debug, Default, Args)]
pub struct TrustArgs {
    /// A verifier key of the ledger's authorities (C2SP vkey `name+hex key id+base64 key`, as `healthchain
    /// key vkey --ledger` prints it), or a file holding such keys, one per line (repeat for several).
    #[arg(long = "authority-key", value_name = "VKEY")]
    pub authority_keys: Vec<String>,
    /// How many of the --authority-key keys must have signed [default: 1].
    #[arg(long, value_name = "K", requires = "authority_keys")]
    pub authorities_required: Option<usize>,
    /// A verifier key of a witness (a cosigner vkey, as `healthchain key vkey --witness` prints it), or a
    /// file holding such keys, one per line (repeat for several).
    #[arg(long = "witness-key", value_name = "VKEY")]
    pub witness_keys: Vec<String>,
    /// How many of the --witness-key witnesses must have cosigned [default: all of them].
    #[arg(long, value_name = "M", requires = "witness_keys")]
    pub witnesses_required: Option<usize>,
}

/// The keys given on the command line, parsed and checked.
#[derive(Clone, Debug, Default)]
pub struct Keys {
    /// The authorities' keys (empty: none given).
    pub authorities: Vec<NoteVerifier>,
    /// How many authorities must sign.
    pub authorities_required: usize,
    /// The witnesses' keys.
    pub witnesses: Vec<NoteVerifier>,
    /// How many witnesses must cosign.
    pub witnesses_required: usize,
}

impl TrustArgs {
    /// Parses the keys (usage errors: a malformed key, a key of the wrong kind, a threshold above the number
    /// of keys).
    pub fn keys(&self) -> Result<Keys, CliError> {
        let authorities = verifier_keys(&self.authority_keys, SignatureKind::Ed25519, "--authority-key")?;
        let witnesses = verifier_keys(&self.witness_keys, SignatureKind::Cosignature, "--witness-key")?;
        let authorities_required = self.authorities_required.unwrap_or(1);
        let witnesses_required = self.witnesses_required.unwrap_or(witnesses.len());
        if !authorities.is_empty() && !(1..=authorities.len()).contains(&authorities_required) {
            return Err(CliError::usage(
                "threshold",
                format!(
                    "--authorities-required {authorities_required}: give 1 to {} (the authority keys given)",
                    authorities.len()
                ),
            ));
        }
        if witnesses_required > witnesses.len() {
            return Err(CliError::usage(
                "threshold",
                format!(
                    "--witnesses-required {witnesses_required}: at most {} (the witness keys given)",
                    witnesses.len()
                ),
            ));
        }
        Ok(Keys { authorities, authorities_required, witnesses, witnesses_required })
    }
}

impl Keys {
    /// The policy of the given keys, if authority keys were given.
    pub fn policy(&self) -> Option<CheckpointPolicy> {
        (!self.authorities.is_empty()).then(|| CheckpointPolicy {
            authorities: self.authorities.clone(),
            authority_threshold: self.authorities_required,
            witnesses: self.witnesses.clone(),
            witness_threshold: self.witnesses_required,
        })
    }
}

/// `policy` without its witness requirement (for the checkpoints a ledger carries, which it published).
pub fn authorities_only(policy: &CheckpointPolicy) -> CheckpointPolicy {
    CheckpointPolicy { witnesses: Vec::new(), witness_threshold: 0, ..policy.clone() }
}

/// Parses verifier keys: each argument a vkey, or a file holding vkeys one per line (blank lines and lines
/// starting with `#` skipped); every key must be of `kind`.
pub fn verifier_keys(args: &[String], kind: SignatureKind, option: &str) -> Result<Vec<NoteVerifier>, CliError> {
    let mut keys: Vec<NoteVerifier> = Vec::new();
    for arg in args {
        let parsed = match NoteVerifier::parse(arg.trim()) {
            Ok(key) => vec![key],
            Err(_) if Path::new(arg).is_file() => {
                let text = std::fs::read_to_string(arg).map_err(|e| CliError::io(Path::new(arg), &e))?;
                let lines = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
                let keys = lines
                    .map(|line| NoteVerifier::parse(line).map_err(|_| bad_vkey(option, line, Some(arg))))
                    .collect::<Result<Vec<_>, _>>()?;
                if keys.is_empty() {
                    return Err(CliError::usage(
                        "invalid-key",
                        format!("{option} {arg}: the file holds no verifier key"),
                    ));
                }
                keys
            }
            Err(_) => return Err(bad_vkey(option, arg, None)),
        };
        for key in parsed {
            if key.kind != kind {
                let (want, got) = match kind {
                    SignatureKind::Ed25519 => ("an authority's (signature type 0x01)", "a witness's cosigning key"),
                    SignatureKind::Cosignature => ("a witness's (cosignature type 0x04)", "a log's signing key"),
                };
                return Err(CliError::usage(
                    "invalid-key",
                    format!("{option} {}: {got}; {option} takes {want} verifier key", key.to_vkey()),
                ));
            }
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    Ok(keys)
}

fn bad_vkey(option: &str, text: &str, file: Option<&str>) -> CliError {
    let place = file.map(|f| format!(" (in {f})")).unwrap_or_default();
    CliError::usage(
        "invalid-key",
        format!(
            "{option} {text:?}{place}: not a verifier key (name+8 hex digits of key id+base64 key, as `healthchain \
             key vkey` prints it) nor a file holding such keys"
        ),
    )
}

/// A checkpoint note as read: its text, the parsed note and checkpoint.
#[derive(Clone, Debug)]
pub struct Note {
    /// Where it came from, for messages (a file name, or `<file>.checkpoints #N`).
    pub source: String,
    /// Whether the ledger carries it (in `<file>.checkpoints`) rather than the user giving it.
    pub carried: bool,
    /// The note as text.
    pub text: String,
    /// Its signature lines.
    pub note: SignedNote,
    /// What it states.
    pub checkpoint: Checkpoint,
}

impl Note {
    /// Parses `text` (from `source`) strictly: a malformed note is refused (exit status 10).
    pub fn parse(source: String, carried: bool, text: String) -> Result<Self, CliError> {
        let parsed = SignedNote::parse(text.as_bytes())
            .and_then(|note| Checkpoint::parse_text(&note.text).map(|checkpoint| (note, checkpoint)));
        match parsed {
            Ok((note, checkpoint)) => Ok(Self { source, carried, text, note, checkpoint }),
            Err(error) => Err(refused(&source, &error, "malformed-checkpoint")),
        }
    }

    /// Reads and parses the note in the file at `path`.
    pub fn read(path: &Path) -> Result<Self, CliError> {
        if path.is_dir() {
            return Err(CliError::unreadable(
                "is-a-directory",
                format!("{}: is a directory, not a checkpoint", path.display()),
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| CliError::io(path, &e))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            refused(&path.display().to_string(), &CheckpointError::MalformedNote("not UTF-8"), "malformed-checkpoint")
        })?;
        Self::parse(path.display().to_string(), false, text)
    }

    /// Checks the note's signatures against `policy`.
    pub fn verify(&self, policy: &CheckpointPolicy) -> Result<VerifiedCheckpoint, CliError> {
        Checkpoint::verify(self.text.as_bytes(), policy).map_err(|e| refused(&self.source, &e, "checkpoint-refused"))
    }

    /// The signature lines as JSON: name, key id, kind, cosignature time.
    pub fn signatures_json(&self) -> Vec<Value> {
        self.note
            .signatures
            .iter()
            .map(|s| {
                let time = cosignature_time(&s.bytes);
                json!({
                    "name": s.name,
                    "key_id": format!("{:08x}", s.key_id),
                    "kind": if time.is_some() { "cosignature" } else { "signature" },
                    "time": time,
                })
            })
            .collect()
    }
}

/// The time of a cosignature's signature bytes (8-byte time, 64-byte signature); `None` for a plain one.
pub fn cosignature_time(bytes: &[u8]) -> Option<u64> {
    (bytes.len() == 72).then(|| bytes.first_chunk::<8>().map(|t| u64::from_be_bytes(*t))).flatten()
}

/// A checkpoint refused (exit status 10).
pub fn refused(source: &str, error: &CheckpointError, kind: &'static str) -> CliError {
    CliError {
        code: EXIT_CHECKPOINT_REFUSED,
        kind,
        message: format!("{source}: checkpoint refused: {error}"),
        details: json!({ "checkpoint": source, "reason": error.to_string() }),
    }
}

/// The checkpoints the ledger file at `ledger` carries in `<file>.checkpoints`, smallest tree first (none
/// when the file does not exist), read as opening the ledger reads them (docs/FORMAT.md, "Carried
/// checkpoints"): a damaged file, or one that is not a carried-checkpoints file, is refused (exit status 6).
pub fn carried_notes(ledger: &Path) -> Result<(PathBuf, Vec<Note>), CliError> {
    let path = checkpoints_path(ledger);
    let damaged = |reason: &str| {
        CliError::damaged(
            "carried-checkpoints",
            format!("{}: carried checkpoints refused: {reason}", path.display()),
            json!({ "file": path.display().to_string(), "reason": reason }),
        )
    };
    let texts = match read_carried_checkpoints(ledger) {
        Ok(texts) => texts,
        Err(LedgerError::CarriedCheckpoints(reason)) => return Err(damaged(reason)),
        Err(LedgerError::Store(StoreError::Io(e))) => return Err(CliError::io(&path, &e)),
        Err(other) => return Err(damaged(&other.to_string())),
    };
    let mut notes = Vec::new();
    for (number, text) in (1..).zip(texts) {
        let source = format!("{} #{number}", path.display());
        notes.push(Note::parse(source, true, text).map_err(|_| damaged("a malformed note"))?);
    }
    Ok((path, notes))
}

/// How bad a standing is, for choosing the status of several: the larger, the worse.
pub fn severity(standing: &Standing) -> u8 {
    match standing {
        Standing::Extends { .. } => 0,
        Standing::OtherLedger { .. } => 1,
        Standing::Truncated { .. } => 2,
        Standing::Forked(_) => 3,
        Standing::NotReached { .. } => 4,
    }
}

/// The status word and exit status of a standing.
pub fn standing_status(standing: &Standing) -> (&'static str, u8) {
    match standing {
        Standing::Extends { .. } => ("KEPT", EXIT_OK),
        Standing::Truncated { .. } => ("TRUNCATED", EXIT_TRUNCATED),
        Standing::Forked(_) => ("FORKED", EXIT_FORKED),
        Standing::OtherLedger { .. } => ("OTHER LEDGER", EXIT_OTHER_LEDGER),
        Standing::NotReached { .. } => ("NOT REACHED", EXIT_INVALID),
    }
}

/// What a standing means, in a sentence (after its status word).
pub fn standing_text(standing: &Standing) -> String {
    match standing {
        Standing::Extends { checkpoint_size, ledger_size } if checkpoint_size == ledger_size => {
            format!("the ledger holds the checkpoint's tree of {} transactions", group(*checkpoint_size))
        }
        Standing::Extends { checkpoint_size, ledger_size } => format!(
            "the ledger holds the checkpoint's tree of {} transactions, and {} more since",
            group(*checkpoint_size),
            group(ledger_size - checkpoint_size)
        ),
        Standing::Truncated { checkpoint_size, ledger_size } => format!(
            "the ledger holds {} transactions, the checkpoint {}: {} missing, cut or rolled back since it was \
             published",
            group(*ledger_size),
            group(*checkpoint_size),
            group(checkpoint_size - ledger_size)
        ),
        Standing::Forked(fork) => format!(
            "another root at size {}: the checkpoint's {}, the ledger's {} (vouched for by the seals of block {}, \
             hash {})",
            group(fork.size),
            fork.checkpoint_root,
            fork.ledger_root,
            fork.block,
            fork.block_hash
        ),
        Standing::OtherLedger { origin } => format!("the checkpoint is of another ledger: {origin}"),
        Standing::NotReached { checkpoint_size, verified_size } => format!(
            "verification failed at tree size {}, before the checkpoint's {}",
            group(*verified_size),
            group(*checkpoint_size)
        ),
    }
}

/// The standing as JSON (the core's serialization: a `status` tag and its fields).
pub fn standing_json(standing: &Standing) -> Value {
    serde_json::to_value(standing).unwrap_or(Value::Null)
}

/// A checkpoint's root as the note writes it (base64).
pub fn base64_hash(hash: &Hash256) -> String {
    BASE64.encode(hash.0)
}

/// The error for a ledger that goes back on a checkpoint (exit status 7, 8 or 9; 1 if not reached): the
/// message is `{what}: {STATUS}: {meaning}{after}`.
pub fn broken_checkpoint(what: &str, standing: &Standing, after: &str) -> CliError {
    let (status, code) = standing_status(standing);
    let kind = match standing {
        Standing::Truncated { .. } => "truncated",
        Standing::Forked(_) => "forked",
        Standing::OtherLedger { .. } => "other-ledger",
        _ => "invalid",
    };
    let code = if code == EXIT_OK { EXIT_USAGE } else { code };
    CliError {
        code,
        kind,
        message: format!("{what}: {status}: {}{after}", standing_text(standing)),
        details: standing_json(standing),
    }
}

/// A damaged side file (exit status 6).
pub fn damaged_file(kind: &'static str, path: &Path, reason: &str) -> CliError {
    CliError {
        code: EXIT_DAMAGED,
        kind,
        message: format!("{}: {reason}", path.display()),
        details: json!({ "file": path.display().to_string(), "reason": reason }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use healthchain::SigningKey;

    #[test]
    fn verifier_keys_are_parsed_from_arguments_and_files_and_checked_for_kind() {
        let key = SigningKey::from_seed(&[3; 32]);
        let log = NoteVerifier::new("healthchain/ab", key.public_key()).unwrap().to_vkey();
        let witness = NoteVerifier::cosigner("w.example", key.public_key()).unwrap().to_vkey();
        let parsed = verifier_keys(std::slice::from_ref(&log), SignatureKind::Ed25519, "--authority-key").unwrap();
        assert_eq!(parsed.len(), 1);
        let error =
            verifier_keys(std::slice::from_ref(&witness), SignatureKind::Ed25519, "--authority-key").unwrap_err();
        assert_eq!((error.code, error.kind), (EXIT_USAGE, "invalid-key"));
        let error = verifier_keys(&["nope".to_owned()], SignatureKind::Ed25519, "--authority-key").unwrap_err();
        assert!(error.message.contains("not a verifier key"), "{}", error.message);

        let dir = std::env::temp_dir().join(format!("healthchain-cli-unit-{}-vkeys", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("keys.vkey");
        std::fs::write(&file, format!("# the auditors\n\n{witness}\n{witness}\n")).unwrap();
        let args = [file.display().to_string()];
        assert_eq!(verifier_keys(&args, SignatureKind::Cosignature, "--witness-key").unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cosignature_times_are_read_from_72_byte_signatures_only() {
        let mut bytes = 1_800_000_000u64.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0; 64]);
        assert_eq!(cosignature_time(&bytes), Some(1_800_000_000));
        assert_eq!(cosignature_time(&[0; 64]), None);
    }
}
