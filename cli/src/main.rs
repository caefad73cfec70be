//! `healthchain`: inspect, verify and generate healthchain ledger files from the command line.
//!
//! The crate `healthchain-cli` (folder `cli/`): `cargo run -p healthchain-cli -- --help`, or install it with
//! `cargo install --locked --path cli`.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

mod actors;
mod checkpoint;
mod error;
mod fhir;
mod format;
mod generate;
mod ids;
mod inspect;
mod keys;
mod open;
mod prove;
mod receipt;
mod trust;

use clap::{Args, Parser, Subcommand};
use error::{CliError, EXIT_CODES, EXIT_UNREADABLE, EXIT_USAGE};
use format::group;
use healthchain::Recovery;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

/// `healthchain --help`.
const LONG_ABOUT: &str = "\
Inspect, verify and generate healthchain ledger files: tamper-evident, patient-controlled ledgers of
consent to and access of personal health data.

Every command opens ledger files read-only and never changes them, except `generate`, which creates a new
file, `checkpoint create` and `checkpoint carry`, which add a checkpoint to the ones the ledger carries
in <file>.checkpoints (and may store its tree hashes in <file>.tiles/), and `fhir import`, which appends a
block of consent rules. Every command can print
machine-readable JSON on stdout with --json (errors too, command-line errors included). Progress bars
(only when stderr is a terminal, never with --json) and error messages go to stderr.

A ledger's checkpoint (`checkpoint create`: its size and Merkle root, signed by its authorities) lets
anyone who holds it catch a copy of the ledger cut, rolled back or rewritten since: `verify --checkpoint`.
Witnesses cosign checkpoints (`checkpoint cosign`), `prove` prints inclusion and consistency proofs, and
receipts (`access-report --receipts`) prove single accesses to anyone with the authorities' keys
(`verify-receipt`). Healthcare's formats: `fhir import` / `fhir export` (FHIR Consent), `audit-events`
(FHIR AuditEvents), `disclosures` (the HIPAA accounting). Keys live in key files: 64 hex digits of an Ed25519 seed, owner-only (`key generate`,
`generate --authority-key-out`); verifiers get their verifier keys (`key vkey`).

Wherever a command takes an actor id, the full 64 hexadecimal digits or any unique prefix of at least 4
(in either case) will do, as with git: the 12-digit short ids the tool prints are accepted back.

Examples:
  healthchain generate demo.ledger --patients 1000 --transactions 100000 --seed 7
  healthchain verify demo.ledger
  healthchain info demo.ledger --json
  healthchain actors demo.ledger --role patient
  healthchain access-report demo.ledger 32cd762be04e (a patient id, or its first digits)
  healthchain checkpoint create demo.ledger --key hospital.key --out published.note
  healthchain verify copy.ledger --checkpoint published.note --authority-key hospital.vkey";

#[derive(Debug, Parser)]
#[command(name = "healthchain", version, about = "Inspect, verify and generate healthchain ledger files")]
#[command(long_about = LONG_ABOUT, after_help = EXIT_CODES, propagate_version = true)]
struct Cli {
    /// Print machine-readable JSON on stdout instead of text (errors too, as {"error": ...}).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fully verify a ledger file from genesis: links, seals, rules, signatures, the Merkle tree.
    #[command(long_about = "\
Fully verify a ledger file from genesis: every block's height, hash link, timestamp and seals, every
transaction's rules replayed against the state before it, every signature verified (batches on every core), and the
Merkle tree size and root in every header.

The file is opened read-only and never repaired. A block that does not verify is INVALID (exit status
1), naming the block, the transaction and the reason. If the file ends with the remains of an
interrupted append (an incomplete final frame, which opening the ledger for writing would cut), the
status is INCOMPLETE TAIL with exit status 4, never VALID: the file is not valid as it is. Damage
anywhere (a complete frame whose checksum fails, the last one included; a broken frame; an unknown
format version) is an error with exit status 6 naming its offset and block; a file that cannot be read
as a ledger (missing, a directory, not a ledger file) is exit status 5.

Checkpoints: each --checkpoint NOTE_FILE (a checkpoint you trust: a signed note of the ledger's size and
Merkle root, as `checkpoint create` writes it), and each checkpoint the ledger carries in
<file>.checkpoints, if that file exists, is checked, and the ledger measured against it. A ledger that
holds fewer transactions than a checkpoint was cut or rolled back since it was published: TRUNCATED,
exit status 7. One whose first N transactions give another root than a checkpoint of size N is a fork, a
rewritten history: FORKED, exit status 8, with the evidence (the size, both roots, the block whose seals
vouch for the ledger's root). A checkpoint of another ledger: OTHER LEDGER, exit status 9. The status is
never VALID when a checkpoint is not kept; a ledger that does not verify is INVALID first.

Signatures: a checkpoint's signatures are checked, before the blocks, against the --authority-key keys
(at least --authorities-required of them, default 1) and --witness-key cosigners (at least
--witnesses-required, default all); without --authority-key, against the ledger's own authorities (a
replay of the ledger finds them; the output says so) — give the keys you trust to rule out a ledger that
vouches for itself. A checkpoint not signed as required, or malformed, is exit status 10. The checkpoints
the ledger carries need the authorities' signatures only.

Examples:
  healthchain verify demo.ledger
  healthchain verify demo.ledger --json
  healthchain verify copy.ledger --checkpoint published.note
  healthchain verify copy.ledger --checkpoint cosigned.note --authority-key hospital.vkey \\
      --witness-key witness.vkey --witnesses-required 1")]
    #[command(after_help = EXIT_CODES)]
    Verify(inspect::VerifyArgs),

    /// Show a ledger's chain id, name, height, transactions, tree, policy and authorities.
    #[command(long_about = "\
Show a ledger's chain id and name, its height, the number of transactions, the Merkle tree size and
root, the head block's hash and time, the seal threshold, the policy, the authorities (active or not)
and how many actors of each role are registered.

The file is opened read-only and replayed (rules, hash links and tree; signatures are left to `verify`):
exit status 1 if that replay fails, 5 if the file cannot be read as a ledger, 6 if it is damaged.

Examples:
  healthchain info demo.ledger
  healthchain info demo.ledger --json")]
    #[command(after_help = EXIT_CODES)]
    Info(PathArgs),

    /// List the registered actors: id, role, registration, keys and status.
    #[command(long_about = "\
List the actors registered on a ledger, in order of registration: the id, the role, when and in which
block the actor was registered, its current public key and how many times its key was rotated, and its
status: active, deactivated (when, in which block) or, for a patient, erased (when their off-ledger data
was destroyed). The text listing shows 12-digit short ids and keys (--full-ids for all 64 digits); the
JSON has them in full, with every key the actor has had.

With ACTOR_ID (the full id or a unique prefix of at least 4 hex digits), only that actor is shown, with
its whole key history. An unknown or ambiguous id is a usage error (exit status 2) that lists the
candidates. --role lists only the actors of that role: patient, provider, insurer, researcher, auditor
or authority (repeat it, or separate roles with commas, for several).

The file is opened read-only and replayed as by `info`, with the same exit statuses.

Examples:
  healthchain actors demo.ledger
  healthchain actors demo.ledger --role provider,insurer
  healthchain actors demo.ledger 32cd762be04e
  healthchain actors demo.ledger --role patient --json")]
    #[command(after_help = EXIT_CODES)]
    Actors(actors::ActorsArgs),

    /// Create a new ledger file holding a realistic synthetic workload.
    #[command(long_about = "\
Create a NEW ledger file (an existing file is refused) holding a realistic synthetic workload of about
--transactions transactions: one hospital authority; --patients patients; providers, insurers, researchers
and an auditor in proportion; registrations; consent grants (permits and denies, to actors and to whole
roles, bounded and open-ended windows) and revocations; delegations to guardians and proxies (some
revoked) and the grants and reads they make; recorded accesses by permitted actors; emergency
break-glass accesses and their reviews; and a few key rotations. Blocks are sealed every --block-size
transactions.

Everything is deterministic: the genesis nonce, the keys and the workload all derive from --seed, so the
same --seed and options write the same file, byte for byte (the same chain id, actor ids, transaction
ids and tree root). The chain id and the actor ids depend on --seed alone: patient N has the same id
whatever --patients and --transactions say. Time comes from a simulated clock starting at
2026-01-01T00:00:00Z: each patient's record sees about four transactions a day (one transaction every
20 s for 1,000 patients).

A few patient ids are printed at the end: try them with `access-report`, and list everyone with `actors`.
With --authority-key-out KEYFILE, the hospital authority's signing key (derived from --seed too) is
written to a new key file, readable by its owner only, to publish checkpoints with (`checkpoint create`);
its verifier key, for verifiers, is printed.

An existing file is a usage error (exit status 2); a directory, a missing directory or a file that
cannot be created or written is exit status 5.

Examples:
  healthchain generate demo.ledger --patients 1000 --transactions 100000
  healthchain generate small.ledger --patients 20 --transactions 500 --seed 42 --block-size 100 --json
  healthchain generate demo.ledger --patients 50 --transactions 2000 --authority-key-out hospital.key")]
    #[command(after_help = EXIT_CODES)]
    Generate(generate::GenerateArgs),

    /// List who accessed a patient's record: when, who, what, why, and on what basis.
    #[command(long_about = "\
List every recorded access to a patient's record, in ledger order: the time (UTC, ISO 8601), the
accessor's id and role, the action, the record section, the purpose of use, and the basis the access was
permitted on: the patient themself (owner), a delegation, the consent rules, or BREAK-GLASS with its
reason code and review status.

PATIENT_ID is the patient's actor id: the 64 hex digits `generate` and `actors --full-ids` print, or any
unique prefix of at least 4 of them, such as the 12-digit short id `actors` prints. An unknown or
ambiguous id, or the id of an actor who is not a patient, is a usage error (exit status 2); an ambiguous
prefix lists the candidates with their roles.

The file is opened read-only and replayed as by `info`, with the same exit statuses.

With --receipts DIR, one receipt per access is also written to DIR (created if missing), named
`<access id>.receipt`: the access's transaction, its inclusion proof and the newest checkpoint the ledger
carries (see `checkpoint create`), which anyone holding the authorities' verifier keys checks on its own,
offline (`verify-receipt`). A ledger that carries no checkpoint is a usage error (exit status 2);
accesses sealed after its newest checkpoint get no receipt, and a warning says how many. With --receipts
the ledger is opened as by `prove` (refused if it goes back on a checkpoint it carries: 7, 8 or 9).

Examples:
  healthchain access-report demo.ledger 32cd762be04e
  healthchain access-report demo.ledger 32CD762B --json
  healthchain access-report demo.ledger 32cd762be04e --receipts receipts/")]
    #[command(after_help = EXIT_CODES)]
    AccessReport(inspect::AccessReportArgs),

    /// Publish, cosign, carry and show checkpoints: a ledger's size and Merkle root, signed.
    #[command(subcommand)]
    Checkpoint(checkpoint::CheckpointCommand),

    /// Print inclusion and consistency proofs (RFC 9162) from a ledger file.
    #[command(subcommand)]
    Prove(prove::ProveCommand),

    /// Check a receipt offline: a transaction, its inclusion proof and a signed checkpoint.
    #[command(long_about = "\
Check a receipt (as `access-report --receipts` writes them) offline, with nothing of the ledger: the
checkpoint it holds must be signed by at least --authorities-required (default 1) of the --authority-key
keys (required: the keys you trust, as `key vkey --ledger` prints them) and cosigned by at least
--witnesses-required (default all) of the --witness-key witnesses; the transaction must be of that
ledger, and its inclusion proof must lead from it to the checkpoint's root.

Exit status 0 with the transaction's id, kind, signer, time (for an access: whose record, which section,
why), its index and the checkpoint; 1 with the reason if the receipt does not verify (malformed, a
checkpoint not signed as required, a transaction of another ledger, a proof that does not lead to the
root); 5 if the file cannot be read.

Examples:
  healthchain verify-receipt receipts/3f0c…e1.receipt --authority-key hospital.vkey
  healthchain verify-receipt r.receipt --authority-key hospital.vkey --witness-key witness.vkey --json")]
    #[command(after_help = EXIT_CODES)]
    VerifyReceipt(receipt::VerifyReceiptArgs),

    /// Make key files and print verifier keys (C2SP vkeys).
    #[command(subcommand)]
    Key(keys::KeyCommand),

    /// FHIR Consent in and out: import a patient's Consent as rules, export a patient's rules.
    #[command(
        subcommand,
        long_about = "\
FHIR Consent in and out (R4 4.0.1 and R5 5.0.0 JSON; docs/FHIR.md).

`fhir import LEDGER CONSENT --directory DIR.json --key PATIENT.key --seal-key AUTHORITY.key` reads the
Consent strictly, resolves its references through the directory (a JSON object from FHIR references to
actor ids or `role:<name>`), writes its meaning as the ledger's rules, grants them all or none signed by
--key (the patient, or a delegate with manage scope) and seals them in a block. A Consent the ledger cannot
express exactly is refused with the element named (exit status 1); nothing is written then.

`fhir export LEDGER PATIENT_ID --directory DIR.json` prints the patient's rules as one Consent, with the
consent ids as identifiers and the ledger's chain and height in meta.source.

Examples:
  healthchain fhir import demo.ledger jane-consent.json --directory directory.json --key jane.key \\
      --seal-key hospital.key
  healthchain fhir export demo.ledger 32cd762be04e --directory directory.json --fhir r4"
    )]
    Fhir(fhir::FhirCommand),

    /// Print the audit trail as FHIR AuditEvents: a Bundle, or NDJSON.
    #[command(long_about = "\
Print the AuditEvents (FHIR R5 or R4, IHE BALP codes; docs/FHIR.md) of the accesses, break-glass accesses
and their reviews, consent grants and revocations recorded in sealed blocks: of one patient (--patient) or
of everyone, recorded in [--from, --until] (FHIR dates or dateTimes, UTC; --until includes its whole
date). A Bundle of type collection (compact JSON, also with --json), or one event per line with --ndjson,
written as the blocks are read, so that memory stays bounded whatever the range; an error midway leaves
the output cut short and the exit status non-zero. Parties the --directory names are written by their
references, the others by their pseudonymous ids.

Examples:
  healthchain audit-events demo.ledger --patient 32cd762be04e
  healthchain audit-events demo.ledger --from 2026-01-01 --until 2026-01-31 --ndjson --fhir r4")]
    #[command(after_help = EXIT_CODES)]
    AuditEvents(fhir::AuditEventsArgs),

    /// Print a patient's HIPAA accounting of disclosures: JSON, CSV or a printable HTML page.
    #[command(long_about = "\
Print the accounting of disclosures (45 CFR §164.528) of a patient: every access to the record by someone
else recorded in a sealed block, from --from (default: six years ago) until --until (default: now), with
its date, recipient, description, purpose and basis; the exclusions of §164.528(a)(1) (treatment,
payment, health care operations, the patient's request, a personal representative, writes) are listed
apart with their reason. --names (a JSON object from actor ids to names) gives the recipients' names;
--checkpoint NOTE (a checkpoint of the ledger) adds each line's receipt to the JSON. JSON by default,
--csv, or --html for a printable page with the ledger's checkpoint and how to verify it.

Examples:
  healthchain disclosures demo.ledger 32cd762be04e --names names.json --html > accounting.html
  healthchain disclosures demo.ledger 32cd762be04e --from 2024-01-01 --csv")]
    #[command(after_help = EXIT_CODES)]
    Disclosures(fhir::DisclosuresArgs),
}

/// Arguments of the commands that take only a ledger file.
#[derive(Debug, Args)]
struct PathArgs {
    /// The ledger file.
    path: PathBuf,
}

/// What a successful (or verification-failed) command prints.
struct Output {
    /// The exit status (0, or 1 when the ledger does not verify).
    code: u8,
    /// The JSON document for `--json`.
    json: Value,
    /// The text for humans (stdout).
    text: String,
    /// A message for stderr in both modes, with its `error: ` or `warning: ` prefix (the verification
    /// failure).
    stderr: Option<String>,
}

impl Output {
    /// The output of a command that has written its results to stdout itself, as it went.
    fn written() -> Self {
        Output { code: error::EXIT_OK, json: Value::Null, text: String::new(), stderr: None }
    }
}

fn main() -> ExitCode {
    let json = error::json_requested(std::env::args_os());
    match Cli::try_parse() {
        Ok(cli) => finish(run(cli.command, cli.json), cli.json),
        Err(error) => command_line_error(&error, json),
    }
}

/// Runs a parsed command.
fn run(command: Command, json: bool) -> Result<Output, CliError> {
    match command {
        Command::Verify(args) => inspect::verify(&args, json),
        Command::Info(args) => inspect::info(&args.path, json),
        Command::Actors(args) => actors::run(&args, json),
        Command::Generate(args) => generate::run(&args, json),
        Command::AccessReport(args) => inspect::access_report(&args, json),
        Command::Checkpoint(command) => checkpoint::run(&command),
        Command::Prove(command) => prove::run(&command),
        Command::VerifyReceipt(args) => receipt::verify_receipt(&args),
        Command::Key(command) => keys::run(&command),
        Command::Fhir(command) => fhir::run(&command),
        Command::AuditEvents(args) => fhir::audit(&args, json),
        Command::Disclosures(args) => fhir::disclosures(&args),
    }
}

/// Prints a command's output or error and gives its exit status.
fn finish(result: Result<Output, CliError>, json: bool) -> ExitCode {
    match result {
        Ok(output) => {
            let text = if json && !output.json.is_null() { pretty(&output.json) } else { output.text };
            if let Some(message) = output.stderr {
                eprintln!("{message}");
            }
            if let Err(code) = emit(&text) {
                return ExitCode::from(code);
            }
            ExitCode::from(output.code)
        }
        Err(error) => report(&error, json),
    }
}

/// Prints an error on stderr, and as JSON on stdout for `--json`; gives its exit status.
fn report(error: &CliError, json: bool) -> ExitCode {
    eprintln!("error: {}", error.message);
    if json {
        let _ = emit(&pretty(&error.to_json()));
    }
    ExitCode::from(error.code)
}

/// A command line clap refused (or `--help`, `--version`): clap's own output on stderr (stdout for help
/// and version), and for `--json` the usage error as JSON on stdout too; exit status 2 (0 for help and
/// version).
fn command_line_error(error: &clap::Error, json: bool) -> ExitCode {
    let _ = error.print();
    if error.exit_code() == 0 {
        return ExitCode::SUCCESS;
    }
    if json {
        let _ = emit(&pretty(&error::from_clap(error).to_json()));
    }
    ExitCode::from(EXIT_USAGE)
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text.push('\n');
    text
}

/// Writes to stdout; a closed pipe (`| head`) is not an error, other failures exit 5.
fn emit(text: &str) -> Result<(), u8> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            eprintln!("error: writing output: {e}");
            Err(EXIT_UNREADABLE)
        }
    }
}

/// A progress bar on stderr, hidden for `--json` or when stderr is not a terminal.
fn progress(len: u64, json: bool, unit: &str) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let template =
        format!("{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} ({{rate}}/s, eta {{eta}})");
    let style = ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()).with_key(
        "rate",
        |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
            let _ = write!(out, "{:.0}", state.per_sec());
        },
    );
    ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr()).with_style(style.progress_chars("=> "))
}

/// The JSON form of what a read-only open found at the end of the file.
fn recovery_json(recovery: Option<Recovery>) -> Value {
    recovery.map_or(Value::Null, |r| {
        json!({
            "offset": r.offset,
            "bytes_after": r.bytes_removed,
            "lost_height": r.lost_height,
            "cut": r.cut,
        })
    })
}

/// The text form of what a read-only open found at the end of the file.
fn recovery_text(recovery: Option<Recovery>) -> Option<String> {
    recovery.map(|r| {
        format!(
            "incomplete final frame at byte {} ({} bytes where block {} would start): the remains of an \
             interrupted append; left in place (read-only), a writer's open would cut it",
            group(r.offset),
            group(r.bytes_removed),
            r.lost_height
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
