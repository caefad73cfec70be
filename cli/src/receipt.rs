//! Receipts: `verify-receipt` checks one offline, with the authorities' (and witnesses') keys alone;
//! `access-report --receipts` writes one per access of a patient's record.

use crate::Output;
use crate::error::{CliError, EXIT_INVALID, EXIT_OK};
use crate::format::{group, iso8601};
use crate::trust::{TrustArgs, base64_hash};
use clap::Args;
use healthchain::receipt::{MAX_RECEIPT_LEN, Receipt, ReceiptError};
use healthchain::{AccessId, Ledger, LedgerError, Payload, Store};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Arguments of `verify-receipt`.
#[derive(Debug, Args)]
pub struct VerifyReceiptArgs {
    /// The receipt file (as `access-report --receipts` writes them).
    path: PathBuf,
    #[command(flatten)]
    trust: TrustArgs,
}

/// `healthchain verify-receipt RECEIPT --authority-key VKEY…`.
pub fn verify_receipt(args: &VerifyReceiptArgs) -> Result<Output, CliError> {
    let keys = args.trust.keys()?;
    let policy = keys.policy().ok_or_else(|| {
        CliError::usage(
            "no-authority-keys",
            "give the ledger's authorities' verifier keys with --authority-key: a receipt is checked against the \
             keys you trust, never against keys it carries",
        )
    })?;
    let path = args.path.as_path();
    if path.is_dir() {
        return Err(CliError::unreadable(
            "is-a-directory",
            format!("{}: is a directory, not a receipt", path.display()),
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| CliError::io(path, &e))?;
    let mut bytes = Vec::new();
    file.take(MAX_RECEIPT_LEN as u64 + 1).read_to_end(&mut bytes).map_err(|e| CliError::io(path, &e))?;
    let refused = |error: &ReceiptError| {
        let kind = match error {
            ReceiptError::Malformed(_) => "malformed-receipt",
            ReceiptError::Checkpoint(_) => "checkpoint-refused",
            ReceiptError::WrongLedger => "wrong-ledger",
            ReceiptError::Proof(_) => "proof-refused",
            _ => "receipt-refused",
        };
        CliError {
            code: EXIT_INVALID,
            kind,
            message: format!("{}: receipt does not verify: {error}", path.display()),
            details: json!({ "reason": error.to_string() }),
        }
    };
    let receipt = Receipt::parse(&bytes).map_err(|e| refused(&e))?;
    let verified = receipt.verify(&policy).map_err(|e| refused(&e))?;
    let tx = &verified.transaction;
    let checkpoint = &verified.checkpoint.checkpoint;
    let access = match &tx.body.payload {
        Payload::RecordAccess(access) => Some(access),
        _ => None,
    };
    let cosignatures: Vec<Value> =
        verified.checkpoint.cosignatures.iter().map(|(name, time)| json!({ "name": name, "time": time })).collect();
    let json = json!({
        "path": path.display().to_string(),
        "valid": true,
        "tx": tx.id().to_string(),
        "kind": tx.body.payload.kind_name(),
        "signer": tx.body.signer.to_string(),
        "time": iso8601(tx.body.time),
        "time_ms": tx.body.time,
        "index": verified.index,
        "access": access.map(|a| json!({
            "patient": a.patient.to_string(),
            "action": a.action.name(),
            "section": a.section.as_str(),
            "purpose": a.purpose.as_str(),
            "time": iso8601(a.at),
            "time_ms": a.at,
        })),
        "checkpoint": {
            "origin": checkpoint.origin,
            "size": checkpoint.size,
            "root": base64_hash(&checkpoint.root),
            "root_hex": checkpoint.root.to_hex(),
            "authorities": verified.checkpoint.authorities,
            "cosignatures": cosignatures,
        },
    });
    let mut text = String::new();
    let _ = writeln!(text, "receipt       {}", path.display());
    let _ = writeln!(text, "status        VERIFIED");
    let _ = writeln!(text, "transaction   {} ({})", tx.id(), tx.body.payload.kind_name());
    let _ = writeln!(text, "signer        {}", tx.body.signer);
    let _ = writeln!(text, "time          {}", iso8601(tx.body.time));
    if let Some(a) = access {
        let _ = writeln!(
            text,
            "access        {} {} for {} of patient {} at {}",
            a.action.name(),
            a.section.as_str(),
            a.purpose.as_str(),
            a.patient,
            iso8601(a.at)
        );
    }
    let _ = writeln!(text, "index         {}", group(verified.index));
    let _ = writeln!(
        text,
        "checkpoint    {}, tree size {}, root {}",
        checkpoint.origin,
        group(checkpoint.size),
        base64_hash(&checkpoint.root)
    );
    let n = verified.checkpoint.authorities;
    let _ = writeln!(text, "signed by     {n} of the authority keys given");
    for (i, (name, time)) in verified.checkpoint.cosignatures.iter().enumerate() {
        let label = if i == 0 { "cosigned by" } else { "" };
        let _ = writeln!(text, "{label:<14}{name} at {}", iso8601(time.saturating_mul(1000)));
    }
    Ok(Output { code: EXIT_OK, json, text, stderr: None })
}

/// The receipts `access-report --receipts` wrote.
#[derive(Debug, Default)]
pub struct Written {
    /// The directory.
    pub dir: PathBuf,
    /// The tree size of the newest carried checkpoint, which the receipts are against.
    pub checkpoint_size: Option<u64>,
    /// Each access with a receipt, and its file.
    pub files: Vec<(AccessId, PathBuf)>,
    /// Accesses sealed after the newest carried checkpoint: no receipt until a newer one is published.
    pub missing: Vec<AccessId>,
}

impl Written {
    /// The file of an access's receipt, if one was written.
    pub fn file_of(&self, id: &AccessId) -> Option<&Path> {
        self.files.iter().find(|(a, _)| a == id).map(|(_, p)| p.as_path())
    }
}

/// Writes `<dir>/<access id>.receipt` for each of `accesses`, against the newest checkpoint the ledger
/// carries (`<file>.checkpoints`): each one checkable on its own with `verify-receipt`. Accesses sealed
/// after that checkpoint get none (listed in `missing`). No carried checkpoint at all is a usage error.
pub fn write_receipts<S: Store>(
    ledger: &Ledger<S>,
    path: &Path,
    accesses: &[AccessId],
    dir: &Path,
) -> Result<Written, CliError> {
    let carried = ledger.carried_checkpoints();
    let newest = carried.last().and_then(|note| crate::trust::Note::parse(String::new(), true, note.clone()).ok());
    let mut written =
        Written { dir: dir.to_owned(), checkpoint_size: newest.map(|n| n.checkpoint.size), ..Written::default() };
    if accesses.is_empty() {
        return Ok(written);
    }
    if carried.is_empty() {
        return Err(CliError::usage(
            "no-checkpoint",
            format!(
                "{} carries no checkpoint to write receipts against: publish one first with `healthchain checkpoint \
                 create {} --key KEYFILE`",
                path.display(),
                path.display()
            ),
        ));
    }
    if dir.exists() && !dir.is_dir() {
        let message = format!("{}: is not a directory; --receipts takes a directory", dir.display());
        return Err(CliError::unreadable("not-a-directory", message));
    }
    std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, &e))?;
    for id in accesses {
        match ledger.receipt(id, None) {
            Ok(receipt) => {
                let file = dir.join(format!("{id}.receipt"));
                std::fs::write(&file, receipt.to_text()).map_err(|e| CliError::io(&file, &e))?;
                written.files.push((*id, file));
            }
            Err(LedgerError::NoCheckpoint) => written.missing.push(*id),
            Err(error) => {
                return Err(CliError::internal(format!("{}: receipt of access {id}: {error}", path.display())));
            }
        }
    }
    Ok(written)
}
