//! `healthchain checkpoint`: publish a ledger's checkpoint (signed by its authorities, carried beside the
//! file), cosign one as a witness, carry a cosigned one back, and show one.

use crate::Output;
use crate::error::{
    CliError, EXIT_CHECKPOINT_REFUSED, EXIT_FORKED, EXIT_OK, EXIT_OTHER_LEDGER, EXIT_TRUNCATED, EXIT_USAGE,
};
use crate::format::{group, iso8601};
use crate::keys::read_key_file;
use crate::open::{open_error, open_file_ledger};
use crate::trust::{Note, TrustArgs, base64_hash, cosignature_time, damaged_file, refused};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::{Args, Subcommand};
use healthchain::checkpoint::{CheckpointPolicy, NoteVerifier, ORIGIN_PREFIX, Witness, WitnessError};
use healthchain::hash::Hash256;
use healthchain::ledger::checkpoints_path;
use healthchain::{ConsistencyProof, FileStore, Ledger, LedgerError, SigningKey};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `healthchain checkpoint …`.
#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// Publish the checkpoint of a ledger's last block: signed by its authorities, carried beside the file.
    #[command(long_about = "\
Publish the checkpoint of a ledger's last sealed block: a C2SP tlog-checkpoint signed note stating the
ledger's origin (healthchain/<chain id>), its number of transactions (the tree size) and the Merkle tree
root, signed by the authority key(s) given (at least the ledger's seal threshold of its active
authorities). The ledger carries it in <file>.checkpoints (the newest 32, one per size), so that a copy
of the file cut, rolled back or rewritten afterwards no longer opens, and `verify` reports it.

Hand the note to whoever must be able to catch a cut or rewritten ledger later (an auditor, another
hospital, a patient's app, witnesses to cosign it): `healthchain verify FILE --checkpoint NOTE`.

With --out the note is written to that file and a summary printed; without it the note itself is printed
on stdout. The ledger file is opened for writing (the writer's lock is taken; nothing is appended to it),
and refused if it ends with an incomplete final frame (exit status 6). A key that is not an active
authority's, or too few of them, is a usage error (exit status 2).

Examples:
  healthchain checkpoint create demo.ledger --key hospital.key --out published.note
  healthchain checkpoint create demo.ledger --key hospital.key > published.note")]
    #[command(after_help = crate::error::EXIT_CODES)]
    Create(CreateArgs),
    /// Cosign a checkpoint as a witness, after checking it extends the newest one the witness cosigned.
    #[command(long_about = "\
Cosign a checkpoint as a witness (another hospital, an auditor, a patient's app): a C2SP tlog-cosignature
line is added to the note, and the cosigned note written to --out or printed on stdout.

The witness keeps the newest checkpoint it cosigned per ledger in its state file (--state, created if
missing; one process at a time). It cosigns only a checkpoint signed by the ledger's authorities that
extends that one: a consistency proof from the trusted tree to the new one is needed, computed from the
ledger file with --ledger, or read with --proof from the JSON that `healthchain prove consistency --json`
prints. It never goes back: a smaller tree is a rollback (exit status 7); another root for a size it
cosigned, or a tree the proof does not show to extend it, is a fork (exit status 8), and a fork's two
signed checkpoints are kept in the state file as evidence.

The authorities' signatures are checked against --authority-key (the keys the witness trusts), or, without
it, the authorities of the ledger given with --ledger. A checkpoint not signed as required is exit status
10. The key file (--key) holds the witness's signing key (see `healthchain key generate`); verifiers are
given its verifier key: `healthchain key vkey KEYFILE --witness NAME`.

Examples:
  healthchain checkpoint cosign published.note --name auditor.example/w1 --key witness.key \\
      --state witness.state --ledger demo.ledger --authority-key hospital.vkey --out cosigned.note
  healthchain prove consistency demo.ledger --from 1000 --json > proof.json
  healthchain checkpoint cosign new.note --name auditor.example/w1 --key witness.key \\
      --state witness.state --proof proof.json --authority-key hospital.vkey")]
    #[command(after_help = crate::error::EXIT_CODES)]
    Cosign(CosignArgs),
    /// Carry a checkpoint of the ledger (typically one witnesses cosigned) in <file>.checkpoints.
    #[command(long_about = "\
Carry a checkpoint of the ledger in <file>.checkpoints, replacing the one carried for its size: typically
the ledger's own checkpoint, cosigned since by witnesses, so that receipts (`access-report --receipts`)
name the cosigned note. It must be signed by the ledger's authorities (exit status 10 otherwise) and state
the ledger's root at its size (exit status 9 otherwise).

Examples:
  healthchain checkpoint carry demo.ledger cosigned.note")]
    #[command(after_help = crate::error::EXIT_CODES)]
    Carry(CarryArgs),
    /// Show what a checkpoint note states and who signed it; check its signatures if keys are given.
    #[command(long_about = "\
Show what a checkpoint note states (origin and chain id, tree size, root) and its signature lines (key
name, key id, signature or cosignature with its time). With --authority-key (and --witness-key), the
signatures are checked: exit status 10 if the note is not signed as required. A malformed note is exit
status 10 too.

Examples:
  healthchain checkpoint show published.note
  healthchain checkpoint show cosigned.note --authority-key hospital.vkey --witness-key witness.vkey")]
    #[command(after_help = crate::error::EXIT_CODES)]
    Show(ShowArgs),
}

/// Arguments of `checkpoint create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The ledger file.
    path: PathBuf,
    /// A key file of one of the ledger's active authorities (repeat for several, up to the seal threshold).
    #[arg(long = "key", value_name = "KEYFILE", required = true)]
    keys: Vec<PathBuf>,
    /// Write the note to this file (replacing it) instead of printing it.
    #[arg(long, value_name = "NOTE")]
    out: Option<PathBuf>,
}

/// Arguments of `checkpoint cosign`.
#[derive(Debug, Args)]
pub struct CosignArgs {
    /// The checkpoint note to cosign.
    note: PathBuf,
    /// The witness's name (its key name in the cosignature line, e.g. auditor.example/w1).
    #[arg(long)]
    name: String,
    /// The witness's key file.
    #[arg(long, value_name = "KEYFILE")]
    key: PathBuf,
    /// The witness's state file (created if missing).
    #[arg(long, value_name = "WITNESS_STATE")]
    state: PathBuf,
    /// The ledger file: the consistency proof is computed from it (and, without --authority-key, the
    /// authorities' keys taken from it).
    #[arg(long, value_name = "FILE")]
    ledger: Option<PathBuf>,
    /// The consistency proof, as `healthchain prove consistency --json` prints it.
    #[arg(long, value_name = "PROOF_JSON", conflicts_with = "ledger")]
    proof: Option<PathBuf>,
    /// Write the cosigned note to this file (replacing it) instead of printing it.
    #[arg(long, value_name = "NOTE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
}

/// Arguments of `checkpoint carry`.
#[derive(Debug, Args)]
pub struct CarryArgs {
    /// The ledger file.
    path: PathBuf,
    /// The checkpoint note.
    note: PathBuf,
}

/// Arguments of `checkpoint show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The checkpoint note.
    note: PathBuf,
    #[command(flatten)]
    trust: TrustArgs,
}

/// Runs `healthchain checkpoint …`.
pub fn run(command: &CheckpointCommand) -> Result<Output, CliError> {
    match command {
        CheckpointCommand::Create(args) => create(args),
        CheckpointCommand::Cosign(args) => cosign(args),
        CheckpointCommand::Carry(args) => carry(args),
        CheckpointCommand::Show(args) => show(args),
    }
}

fn create(args: &CreateArgs) -> Result<Output, CliError> {
    let keys = args.keys.iter().map(|p| read_key_file(p)).collect::<Result<Vec<_>, _>>()?;
    let path = args.path.as_path();
    let mut ledger = open_file_ledger(path, true)?;
    let signers: Vec<&SigningKey> = keys.iter().collect();
    let note = ledger.publish_checkpoint(&signers).map_err(|error| match error {
        LedgerError::UnknownKey(_) => CliError::usage(
            "not-an-authority",
            format!("a --key is not the key of an active authority of {}", path.display()),
        ),
        LedgerError::NotEnoughSealers { have, need } => CliError::usage(
            "too-few-authorities",
            format!("the keys given are those of {have} active authorities; {need} must sign (the seal threshold)"),
        ),
        LedgerError::Store(e) => CliError::store(&checkpoints_path(path), &e),
        other => open_error(path, other),
    })?;
    let checkpoint = ledger.checkpoint();
    let carried = checkpoints_path(path);
    let vkeys: Vec<String> = keys
        .iter()
        .filter_map(|k| NoteVerifier::new(&checkpoint.origin, k.public_key()).ok())
        .map(|v| v.to_vkey())
        .collect();
    if let Some(out) = &args.out {
        write_note(out, &note)?;
    }
    let json = json!({
        "path": path.display().to_string(),
        "out": args.out.as_ref().map(|p| p.display().to_string()),
        "note": note,
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root": base64_hash(&checkpoint.root),
        "root_hex": checkpoint.root.to_hex(),
        "signers": vkeys,
        "carried_in": carried.display().to_string(),
        "carried": ledger.carried_checkpoints().len(),
    });
    let text = match &args.out {
        None => note,
        Some(out) => {
            let mut text = String::new();
            let _ = writeln!(text, "checkpoint    {}", out.display());
            let _ = writeln!(text, "origin        {}", checkpoint.origin);
            let _ = writeln!(text, "tree size     {}", group(checkpoint.size));
            let _ = writeln!(text, "root          {} (hex {})", base64_hash(&checkpoint.root), checkpoint.root);
            for (i, vkey) in vkeys.iter().enumerate() {
                let _ = writeln!(text, "{:<14}{vkey}", if i == 0 { "signed by" } else { "" });
            }
            let count = ledger.carried_checkpoints().len();
            let _ = writeln!(text, "carried in    {} ({count} checkpoint{})", carried.display(), plural(count));
            text
        }
    };
    Ok(Output { code: EXIT_OK, json, text, stderr: None })
}

fn carry(args: &CarryArgs) -> Result<Output, CliError> {
    let note = Note::read(&args.note)?;
    let path = args.path.as_path();
    let mut ledger = open_file_ledger(path, true)?;
    ledger.carry_checkpoint(&note.text).map_err(|error| match error {
        LedgerError::Checkpoint(e) => refused(&note.source, &e, "checkpoint-refused"),
        LedgerError::ForeignCheckpoint => CliError {
            code: EXIT_OTHER_LEDGER,
            kind: "foreign-checkpoint",
            message: format!(
                "{}: not a checkpoint of {}: its origin, or its root at its size, differ",
                note.source,
                path.display()
            ),
            details: Value::Null,
        },
        LedgerError::Store(e) => CliError::store(&checkpoints_path(path), &e),
        other => open_error(path, other),
    })?;
    let carried = checkpoints_path(path);
    let count = ledger.carried_checkpoints().len();
    let json = json!({
        "path": path.display().to_string(),
        "note": note.source,
        "size": note.checkpoint.size,
        "carried_in": carried.display().to_string(),
        "carried": count,
    });
    let text = format!(
        "carried       {} (tree size {}) in {} ({count} checkpoint{})\n",
        note.source,
        group(note.checkpoint.size),
        carried.display(),
        plural(count)
    );
    Ok(Output { code: EXIT_OK, json, text, stderr: None })
}

fn cosign(args: &CosignArgs) -> Result<Output, CliError> {
    let keys = args.trust.keys()?;
    let note = Note::read(&args.note)?;
    let key = read_key_file(&args.key)?;
    let public = key.public_key();
    let ledger = args.ledger.as_deref().map(|p| open_file_ledger(p, false)).transpose()?;
    let policy: CheckpointPolicy = match (keys.policy(), &ledger) {
        (Some(policy), _) => policy,
        (None, Some(ledger)) => ledger.checkpoint_policy(Vec::new(), 0),
        (None, None) => {
            return Err(CliError::usage(
                "no-authority-keys",
                "give the ledger's authorities' verifier keys with --authority-key (or the ledger with --ledger)",
            ));
        }
    };
    let state = args.state.as_path();
    let mut witness = Witness::open(state, &args.name, key).map_err(|e| witness_error(state, &note, e))?;
    let offered = &note.checkpoint;
    let trusted = witness.trusted(&offered.origin);
    let proof = match &trusted {
        Some(trusted) if offered.size > trusted.size => Some(match (&ledger, &args.proof) {
            (Some(ledger), _) => {
                proof_from_ledger(ledger, args.ledger.as_deref().unwrap_or(Path::new("")), &note, trusted.size)?
            }
            (None, Some(file)) => read_proof(file, trusted.size, offered.size)?,
            (None, None) => {
                return Err(CliError::usage(
                    "missing-proof",
                    format!(
                        "the witness cosigned a tree of {} transactions for this ledger: give --ledger or --proof to \
                         show that the tree of {} extends it",
                        group(trusted.size),
                        group(offered.size)
                    ),
                ));
            }
        }),
        _ => None,
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let cosigned = witness
        .cosign(note.text.as_bytes(), &policy, proof.as_ref(), now)
        .map_err(|e| witness_error(state, &note, e))?;
    if let Some(out) = &args.out {
        write_note(out, &cosigned)?;
    }
    let vkey = NoteVerifier::cosigner(&args.name, public).map(|v| v.to_vkey()).ok();
    let json = json!({
        "note": cosigned,
        "out": args.out.as_ref().map(|p| p.display().to_string()),
        "origin": offered.origin,
        "size": offered.size,
        "root": base64_hash(&offered.root),
        "witness": args.name,
        "witness_vkey": vkey,
        "time": now,
        "previous_size": trusted.as_ref().map(|t| t.size),
        "state": state.display().to_string(),
    });
    let text = match &args.out {
        None => cosigned,
        Some(out) => {
            let mut text = String::new();
            let _ = writeln!(
                text,
                "cosigned      {} as {} at {}",
                out.display(),
                args.name,
                iso8601(now.saturating_mul(1000))
            );
            let _ = writeln!(text, "origin        {}", offered.origin);
            let _ = writeln!(text, "tree size     {}", group(offered.size));
            let previous = match &trusted {
                Some(t) if t.size == offered.size => "the same tree the witness cosigned before".to_owned(),
                Some(t) => format!("extends the tree of {} the witness cosigned before", group(t.size)),
                None => "the first checkpoint of this ledger the witness cosigns".to_owned(),
            };
            let _ = writeln!(text, "consistency   {previous}");
            if let Some(vkey) = vkey {
                let _ = writeln!(text, "witness key   {vkey}");
            }
            text
        }
    };
    Ok(Output { code: EXIT_OK, json, text, stderr: None })
}

/// The consistency proof from the witness's trusted size to the offered checkpoint, from the ledger: which
/// must hold the offered checkpoint's tree.
fn proof_from_ledger(
    ledger: &Ledger<FileStore>,
    path: &Path,
    note: &Note,
    trusted_size: u64,
) -> Result<ConsistencyProof, CliError> {
    let offered = &note.checkpoint;
    if offered.origin != ledger.checkpoint().origin {
        return Err(CliError::usage(
            "other-ledger",
            format!("{} is not the ledger of {} ({})", path.display(), note.source, offered.origin),
        ));
    }
    if offered.size > ledger.tree().size() {
        return Err(CliError::usage(
            "ledger-too-short",
            format!(
                "{} holds {} transactions, fewer than the checkpoint's {}: give the ledger the checkpoint is of",
                path.display(),
                group(ledger.tree().size()),
                group(offered.size)
            ),
        ));
    }
    let root = ledger.root_at(offered.size).map_err(|e| open_error(path, e))?;
    if root != offered.root {
        return Err(CliError {
            code: EXIT_FORKED,
            kind: "forked",
            message: format!(
                "{}: FORKED: {} states root {} at size {}, the ledger's root there is {}",
                path.display(),
                note.source,
                offered.root,
                group(offered.size),
                root
            ),
            details: json!({ "size": offered.size, "checkpoint_root": offered.root, "ledger_root": root }),
        });
    }
    ledger.prove_consistency(trusted_size, offered.size).map_err(|e| open_error(path, e))
}

/// Reads a consistency proof from the JSON of `prove consistency --json`; it must be for the sizes the
/// witness needs.
fn read_proof(path: &Path, old: u64, new: u64) -> Result<ConsistencyProof, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path, &e))?;
    let bad = |why: &str| {
        CliError::usage(
            "invalid-proof",
            format!("{}: {why} (expected the JSON `healthchain prove consistency --json` prints)", path.display()),
        )
    };
    let value: Value = serde_json::from_str(&text).map_err(|_| bad("not JSON"))?;
    let size = |field: &str| value.get(field).and_then(Value::as_u64).ok_or_else(|| bad(&format!("no {field}")));
    let (old_size, new_size) = (size("old_size")?, size("new_size")?);
    let elements = value.get("proof").and_then(Value::as_array).ok_or_else(|| bad("no proof"))?;
    let path_hashes = elements
        .iter()
        .map(|e| {
            e.as_str()
                .and_then(|s| BASE64.decode(s).ok())
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(Hash256)
                .ok_or_else(|| bad("a proof element that is not 32 bytes of base64"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if (old_size, new_size) != (old, new) {
        return Err(CliError::usage(
            "wrong-proof",
            format!(
                "{}: a proof from {} to {} transactions; the witness needs one from {} (the tree it cosigned) to {} \
                 (the checkpoint's): healthchain prove consistency LEDGER --from {old} --to {new} --json",
                path.display(),
                group(old_size),
                group(new_size),
                group(old),
                group(new)
            ),
        ));
    }
    Ok(ConsistencyProof { old_size, new_size, path: path_hashes })
}

/// A witness's refusal, with its exit status.
fn witness_error(state: &Path, note: &Note, error: WitnessError) -> CliError {
    let source = &note.source;
    let (code, kind) = match &error {
        WitnessError::Checkpoint(e) => return refused(source, e, "checkpoint-refused"),
        WitnessError::Rollback { .. } => (EXIT_TRUNCATED, "rollback"),
        WitnessError::Fork { .. } => (EXIT_FORKED, "fork"),
        WitnessError::Inconsistent(_) => (EXIT_FORKED, "inconsistent"),
        WitnessError::MissingProof { .. } => (EXIT_USAGE, "missing-proof"),
        WitnessError::Locked => {
            return CliError::unreadable("locked", format!("{}: {error}", state.display()));
        }
        WitnessError::Damaged(reason) => {
            return damaged_file("witness-state-damaged", state, &format!("witness state file damaged: {reason}"));
        }
        WitnessError::Io(e) => return CliError::io(state, e),
        _ => (EXIT_CHECKPOINT_REFUSED, "witness-refused"),
    };
    let message = match &error {
        WitnessError::Fork { .. } => {
            format!("{source}: witness refuses: {error} in {}", state.display())
        }
        _ => format!("{source}: witness refuses: {error}"),
    };
    CliError { code, kind, message, details: json!({ "reason": error.to_string() }) }
}

fn show(args: &ShowArgs) -> Result<Output, CliError> {
    let keys = args.trust.keys()?;
    let note = Note::read(&args.note)?;
    let verified = keys.policy().map(|policy| note.verify(&policy)).transpose()?;
    let checkpoint = &note.checkpoint;
    let chain = checkpoint.origin.strip_prefix(ORIGIN_PREFIX);
    let json = json!({
        "note": note.source,
        "origin": checkpoint.origin,
        "chain_id": chain,
        "size": checkpoint.size,
        "root": base64_hash(&checkpoint.root),
        "root_hex": checkpoint.root.to_hex(),
        "extensions": checkpoint.extensions,
        "signatures": note.signatures_json(),
        "verified": verified.as_ref().map(|v| json!({
            "authorities": v.authorities,
            "cosignatures": v.cosignatures.iter().map(|(name, time)| json!({ "name": name, "time": time })).collect::<Vec<_>>(),
        })),
    });
    let mut text = String::new();
    let _ = writeln!(text, "checkpoint    {}", note.source);
    let _ = writeln!(text, "origin        {}", checkpoint.origin);
    if let Some(chain) = chain {
        let _ = writeln!(text, "chain id      {chain}");
    }
    let _ = writeln!(text, "tree size     {}", group(checkpoint.size));
    let _ = writeln!(text, "root          {} (hex {})", base64_hash(&checkpoint.root), checkpoint.root);
    for line in &checkpoint.extensions {
        let _ = writeln!(text, "extension     {line}");
    }
    for (i, s) in note.note.signatures.iter().enumerate() {
        let label = if i == 0 { "signatures" } else { "" };
        let what = match cosignature_time(&s.bytes) {
            Some(time) => format!("cosignature at {}", iso8601(time.saturating_mul(1000))),
            None => "signature".to_owned(),
        };
        let _ = writeln!(text, "{label:<14}{} (key id {:08x}): {what}", s.name, s.key_id);
    }
    if let Some(v) = &verified {
        let mut line = format!("signed by {} of the authority keys given", v.authorities);
        if !v.cosignatures.is_empty() {
            let names: Vec<&str> = v.cosignatures.iter().map(|(name, _)| name.as_str()).collect();
            line.push_str(&format!(", cosigned by {}", names.join(", ")));
        }
        let _ = writeln!(text, "verified      {line}");
    }
    Ok(Output { code: EXIT_OK, json, text, stderr: None })
}

/// Writes a note (or receipt) to `path`, replacing it.
pub fn write_note(path: &Path, text: &str) -> Result<(), CliError> {
    if path.is_dir() {
        return Err(CliError::unreadable("is-a-directory", format!("{}: is a directory", path.display())));
    }
    std::fs::write(path, text).map_err(|e| CliError::io(path, &e))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
