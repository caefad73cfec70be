//! `healthchain prove`: RFC 9162 inclusion and consistency proofs from a ledger file, checked by the core
//! against the ledger's roots before they are printed.

use crate::Output;
use crate::error::{CliError, EXIT_OK};
use crate::format::group;
use crate::open::{open_error, open_file_ledger};
use crate::trust::base64_hash;
use clap::{ArgGroup, Args, Subcommand};
use healthchain::hash::Hash256;
use healthchain::merkle::leaf_hash;
use healthchain::{Encode as _, FileStore, Ledger, LedgerError, TxId};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `healthchain prove …`.
#[derive(Debug, Subcommand)]
pub enum ProveCommand {
    /// Prove that a transaction is in the ledger's tree (of its current size, or of --size).
    #[command(long_about = "\
Print the RFC 9162 inclusion proof of a sealed transaction in the ledger's Merkle tree: the sibling
hashes from its leaf up to the root of the tree of --size transactions (default: all of them), with the
leaf hash and that root. Hashes are standard base64, as in checkpoints and receipts. Anyone holding the
transaction's bytes and a checkpoint of that size can check it without the ledger; `access-report
--receipts` bundles all three as receipts.

The transaction is given by its id (--tx, all 64 hex digits, as `access-report --json` prints access
ids) or by its leaf index (--index, from 0: the order in which transactions were sealed). An unknown id,
an index or size beyond the ledger, is a usage error (exit status 2). The file is opened read-only, with
its stored tree hashes (<file>.tiles/, used if they match the ledger, else rebuilt in memory) and refused
if it goes back on a checkpoint it carries (exit status 7, 8 or 9).

Examples:
  healthchain prove inclusion demo.ledger --index 1234
  healthchain prove inclusion demo.ledger --tx 3f0c…e1 --size 2000 --json")]
    #[command(group(ArgGroup::new("which").required(true).args(["tx", "index"])))]
    #[command(after_help = crate::error::EXIT_CODES)]
    Inclusion(InclusionArgs),
    /// Prove that the ledger's tree of one size is a prefix of its tree of a larger size.
    #[command(long_about = "\
Print the RFC 9162 consistency proof that the ledger's tree of --from transactions is a prefix of its
tree of --to transactions (default: all of them), with both roots: what a witness checks before it
cosigns a newer checkpoint (`checkpoint cosign --proof` reads the --json form). Hashes are standard
base64. Sizes out of order or beyond the ledger are a usage error (exit status 2); the file is opened as
by `prove inclusion`.

Examples:
  healthchain prove consistency demo.ledger --from 1000
  healthchain prove consistency demo.ledger --from 1000 --to 2000 --json > proof.json")]
    #[command(after_help = crate::error::EXIT_CODES)]
    Consistency(ConsistencyArgs),
}

/// Arguments of `prove inclusion`.
#[derive(Debug, Args)]
pub struct InclusionArgs {
    /// The ledger file.
    path: PathBuf,
    /// The transaction's id (64 hexadecimal digits).
    #[arg(long, value_name = "ID")]
    tx: Option<String>,
    /// The transaction's leaf index (from 0).
    #[arg(long, value_name = "N")]
    index: Option<u64>,
    /// The size of the tree to prove it in [default: the ledger's].
    #[arg(long, value_name = "N")]
    size: Option<u64>,
}

/// Arguments of `prove consistency`.
#[derive(Debug, Args)]
pub struct ConsistencyArgs {
    /// The ledger file.
    path: PathBuf,
    /// The older tree's size (at least 1).
    #[arg(long, value_name = "N")]
    from: u64,
    /// The newer tree's size [default: the ledger's].
    #[arg(long, value_name = "N")]
    to: Option<u64>,
}

/// Runs `healthchain prove …`.
pub fn run(command: &ProveCommand) -> Result<Output, CliError> {
    match command {
        ProveCommand::Inclusion(args) => inclusion(args),
        ProveCommand::Consistency(args) => consistency(args),
    }
}

/// A proof that cannot be made for these arguments (usage error), or another failure.
fn proof_error(path: &Path, error: LedgerError) -> CliError {
    match error {
        LedgerError::Proof(e) => CliError::usage("bad-size", format!("{}: {e}", path.display())),
        other => open_error(path, other),
    }
}

/// Checks that `size` is a tree size of the ledger (1 to its size).
fn check_size(path: &Path, ledger: &Ledger<FileStore>, size: u64, what: &str) -> Result<(), CliError> {
    let current = ledger.tree().size();
    if size == 0 || size > current {
        return Err(CliError::usage(
            "bad-size",
            format!("{what} {size}: {} holds {} transactions (give 1 to {current})", path.display(), group(current)),
        ));
    }
    Ok(())
}

/// The access history that a query read is damaged (it is rebuilt on the next open).
pub(crate) fn history_damaged(path: &Path, error: &healthchain::LedgerError) -> CliError {
    CliError::damaged("access-history", format!("{}: {error}", path.display()), serde_json::Value::Null)
}

fn inclusion(args: &InclusionArgs) -> Result<Output, CliError> {
    let path = args.path.as_path();
    let wanted = args.tx.as_deref().map(parse_tx_id).transpose()?;
    let ledger = open_file_ledger(path, false)?;
    let size = args.size.unwrap_or(ledger.tree().size());
    check_size(path, &ledger, size, "--size")?;
    let index = match (wanted, args.index) {
        (Some(id), _) => ledger.position_of(&id).map_err(|e| history_damaged(path, &e))?.ok_or_else(|| {
            CliError::usage("unknown-transaction", format!("no sealed transaction {id} in {}", path.display()))
                .with_details(json!({ "tx": id.to_string() }))
        })?,
        (None, Some(index)) => index,
        (None, None) => return Err(CliError::usage("usage", "give --tx or --index")),
    };
    if index >= size {
        return Err(CliError::usage(
            "bad-index",
            format!("transaction {index} is not in the tree of {} transactions (indexes start at 0)", group(size)),
        ));
    }
    let (tx, height) = ledger.transaction_at(index).map_err(|e| proof_error(path, e))?;
    let proof = ledger.prove_inclusion(index, size).map_err(|e| proof_error(path, e))?;
    let root = ledger.root_at(size).map_err(|e| proof_error(path, e))?;
    let leaf = leaf_hash(&tx.to_bytes());
    let id = tx.id();
    let json = json!({
        "path": path.display().to_string(),
        "tx": id.to_string(),
        "kind": tx.body.payload.kind_name(),
        "block": height,
        "index": index,
        "tree_size": size,
        "leaf_hash": base64_hash(&leaf),
        "root": base64_hash(&root),
        "root_hex": root.to_hex(),
        "proof": hashes_json(&proof.path),
    });
    let mut text = String::new();
    let _ = writeln!(text, "transaction   {id} ({}, block {height})", tx.body.payload.kind_name());
    let _ = writeln!(text, "index         {index}");
    let _ = writeln!(text, "tree size     {size}");
    let _ = writeln!(text, "leaf hash     {}", base64_hash(&leaf));
    let _ = writeln!(text, "root          {} (hex {root})", base64_hash(&root));
    write_path(&mut text, &proof.path, "leaf first");
    Ok(Output { code: EXIT_OK, json, text, stderr: None })
}

fn consistency(args: &ConsistencyArgs) -> Result<Output, CliError> {
    let path = args.path.as_path();
    let ledger = open_file_ledger(path, false)?;
    let to = args.to.unwrap_or(ledger.tree().size());
    check_size(path, &ledger, to, "--to")?;
    check_size(path, &ledger, args.from, "--from")?;
    if args.from > to {
        return Err(CliError::usage("bad-size", format!("--from {} is larger than --to {to}", args.from)));
    }
    let proof = ledger.prove_consistency(args.from, to).map_err(|e| proof_error(path, e))?;
    let old_root = ledger.root_at(args.from).map_err(|e| proof_error(path, e))?;
    let new_root = ledger.root_at(to).map_err(|e| proof_error(path, e))?;
    let json = json!({
        "path": path.display().to_string(),
        "old_size": args.from,
        "new_size": to,
        "old_root": base64_hash(&old_root),
        "new_root": base64_hash(&new_root),
        "old_root_hex": old_root.to_hex(),
        "new_root_hex": new_root.to_hex(),
        "proof": hashes_json(&proof.path),
    });
    let mut text = String::new();
    let _ = writeln!(text, "old size      {}", args.from);
    let _ = writeln!(text, "old root      {} (hex {old_root})", base64_hash(&old_root));
    let _ = writeln!(text, "new size      {to}");
    let _ = writeln!(text, "new root      {} (hex {new_root})", base64_hash(&new_root));
    write_path(&mut text, &proof.path, "RFC 9162 order");
    Ok(Output { code: EXIT_OK, json, text, stderr: None })
}

fn hashes_json(path: &[Hash256]) -> Value {
    json!(path.iter().map(base64_hash).collect::<Vec<_>>())
}

/// `proof         N hashes (order)` and one indented line per hash.
fn write_path(text: &mut String, path: &[Hash256], order: &str) {
    let n = path.len();
    let _ = writeln!(
        text,
        "proof         {n} hash{}{}",
        if n == 1 { "" } else { "es" },
        if n > 0 { format!(", {order}") } else { String::new() }
    );
    for hash in path {
        let _ = writeln!(text, "  {}", base64_hash(hash));
    }
}

/// A transaction id: 64 hexadecimal digits, in either case (usage error otherwise).
pub fn parse_tx_id(text: &str) -> Result<TxId, CliError> {
    TxId::from_hex(&text.trim().to_ascii_lowercase()).ok_or_else(|| {
        CliError::usage(
            "invalid-id",
            format!("invalid transaction id {:?}: expected 64 hexadecimal digits", text.trim()),
        )
    })
}
