//! `healthchain`: inspect, verify and generate healthchain ledger files from the command line.
//!
//! Built only with the `cli` feature: `cargo run --features cli -- --help`.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

#[path = "healthchain/generate.rs"]
mod generate;
#[path = "healthchain/inspect.rs"]
mod inspect;

use clap::{Args, Parser, Subcommand};
use healthchain::{FileStore, OpenOptions, Recovery, StoreError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit status: success.
const EXIT_OK: u8 = 0;
/// Exit status: the ledger does not verify.
const EXIT_INVALID: u8 = 1;
/// Exit status: usage error, or a file that is missing, unreadable, not a ledger or damaged.
const EXIT_USAGE: u8 = 2;
/// Exit status: an internal error (a bug in the tool or the library).
const EXIT_INTERNAL: u8 = 3;
/// Exit status (verify): every complete block verifies, but the file ends with the remains of an
/// interrupted append, which a writer's open would cut: the file is not valid as it is.
const EXIT_INCOMPLETE_TAIL: u8 = 4;

const LONG_ABOUT: &str = "\
Inspect, verify and generate healthchain ledger files: tamper-evident, patient-controlled ledgers of
consent to and access of personal health data.

Every command opens ledger files read-only (except `generate`, which creates a new file) and can print
machine-readable JSON on stdout with --json. Progress bars and errors go to stderr.

Examples:
  healthchain generate demo.ledger --patients 1000 --transactions 100000 --seed 7
  healthchain verify demo.ledger
  healthchain info demo.ledger --json
  healthchain access-report demo.ledger 3c9f...e1 (a patient id that `generate` printed)";

const EXIT_CODES: &str = "\
Exit status:
  0  success (verify: every block verified and the file holds nothing else)
  1  the ledger does not verify: the first bad block, transaction and reason are printed
  2  usage error, or the file is missing, unreadable, not a ledger file or damaged (checksum, framing),
     or an argument is invalid (unknown patient id, existing file for generate)
  3  internal error (please report it)
  4  verify: every complete block verifies, but the file ends with the remains of an interrupted append
     (an incomplete final frame) that opening the ledger for writing would cut";

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
    /// Fully verify a ledger file from genesis: hash links, seals, every rule, every signature, the Merkle tree.
    #[command(long_about = "\
Fully verify a ledger file from genesis: every block's height, hash link, timestamp and seals, every
transaction's rules replayed against the state before it, every signature strictly verified, and the
Merkle tree size and root in every header.

The file is opened read-only and never repaired. If it ends with the remains of an interrupted append
(an incomplete final frame, which opening the ledger for writing would cut), the status is INCOMPLETE
TAIL with exit status 4, never VALID: the file is not valid as it is. Damage anywhere (a complete frame
whose checksum fails, the last one included) is an error (exit status 2) naming its offset and block.

Examples:
  healthchain verify demo.ledger
  healthchain verify demo.ledger --json")]
    #[command(after_help = EXIT_CODES)]
    Verify(PathArgs),

    /// Show a ledger's chain id, name, height, transactions, tree, policy and authorities.
    #[command(long_about = "\
Show a ledger's chain id and name, its height, the number of transactions, the Merkle tree size and
root, the head block's hash and time, the seal threshold, the policy, the authorities (active or not)
and how many actors of each role are registered.

The file is opened read-only and replayed (rules, hash links and tree; signatures are left to `verify`).

Examples:
  healthchain info demo.ledger
  healthchain info demo.ledger --json")]
    #[command(after_help = EXIT_CODES)]
    Info(PathArgs),

    /// Create a new ledger file holding a realistic synthetic workload.
    #[command(long_about = "\
Create a NEW ledger file (an existing file is refused) holding a realistic synthetic workload of about
--transactions transactions: one hospital authority; --patients patients; providers, insurers, researchers
and an auditor in proportion; registrations; consent grants (permits and denies, to actors and to whole
roles, bounded and open-ended windows) and revocations; delegations to guardians and proxies (some
revoked) and the grants and reads they make; recorded accesses by permitted actors; emergency
break-glass accesses and their reviews; and a few key rotations. Blocks are sealed every --block-size
transactions.

Keys, actor ids and the workload are deterministic for a given --seed; the chain id (and so every
transaction id) differs between runs because the genesis nonce is random. Time comes from a simulated
clock starting at 2026-01-01T00:00:00Z: each patient's record sees about four transactions a day
(one transaction every 20 s for 1,000 patients).

A few patient ids are printed at the end: try them with `access-report`.

Examples:
  healthchain generate demo.ledger --patients 1000 --transactions 100000
  healthchain generate small.ledger --patients 20 --transactions 500 --seed 42 --block-size 100 --json")]
    #[command(after_help = EXIT_CODES)]
    Generate(generate::GenerateArgs),

    /// List who accessed a patient's record: when, who, what, why, and on what basis.
    #[command(long_about = "\
List every recorded access to a patient's record, in ledger order: the time (UTC, ISO 8601), the
accessor's id and role, the action, the record section, the purpose of use, and the basis the access was
permitted on: the patient themself (owner), a delegation, the consent rules, or BREAK-GLASS with its
reason code and review status.

PATIENT_ID is the patient's 64-hex-digit actor id (as printed by `generate`).

Examples:
  healthchain access-report demo.ledger 3c9f...e1
  healthchain access-report demo.ledger 3c9f...e1 --json")]
    #[command(after_help = EXIT_CODES)]
    AccessReport(inspect::AccessReportArgs),
}

#[derive(Debug, Args)]
struct PathArgs {
    /// The ledger file.
    path: PathBuf,
}

/// A failed command: its exit status, a kind for JSON consumers, the message and structured details.
#[derive(Debug)]
struct CliError {
    code: u8,
    kind: &'static str,
    message: String,
    details: Value,
}

impl CliError {
    fn usage(kind: &'static str, message: impl Into<String>) -> Self {
        Self { code: EXIT_USAGE, kind, message: message.into(), details: Value::Null }
    }

    fn invalid(kind: &'static str, message: impl Into<String>, details: Value) -> Self {
        Self { code: EXIT_INVALID, kind, message: message.into(), details }
    }

    fn internal(message: impl Into<String>) -> Self {
        Self { code: EXIT_INTERNAL, kind: "internal", message: message.into(), details: Value::Null }
    }

    /// A store failure when opening or reading `path`.
    fn store(path: &Path, error: &StoreError) -> Self {
        let shown = path.display();
        let (kind, message, details) = match error {
            StoreError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
                ("not-found", format!("{shown}: no such file"), Value::Null)
            }
            StoreError::Io(e) => ("io", format!("{shown}: {e}"), Value::Null),
            StoreError::NotALedger => ("not-a-ledger", format!("{shown}: not a healthchain ledger file"), Value::Null),
            StoreError::UnknownVersion(v) => {
                ("unknown-version", format!("{shown}: unknown ledger file version {v}"), json!({ "version": v }))
            }
            StoreError::Damaged { offset, height, reason } => (
                "damaged",
                format!("{shown}: {error}"),
                json!({ "offset": offset, "height": height, "reason": reason }),
            ),
            StoreError::TornTail { offset, height } => {
                ("torn-tail", format!("{shown}: {error}"), json!({ "offset": offset, "height": height }))
            }
            StoreError::IncompleteCreation => ("incomplete-creation", format!("{shown}: {error}"), Value::Null),
            other => ("store", format!("{shown}: {other}"), Value::Null),
        };
        Self { code: EXIT_USAGE, kind, message, details }
    }

    fn to_json(&self) -> Value {
        let mut error = json!({ "kind": self.kind, "message": self.message, "exit_code": self.code });
        if let (Some(map), Value::Object(details)) = (error.as_object_mut(), &self.details) {
            for (key, value) in details {
                map.insert(key.clone(), value.clone());
            }
        }
        json!({ "error": error })
    }
}

/// What a successful (or verification-failed) command prints.
struct Output {
    /// The exit status (0, or 1 when the ledger does not verify).
    code: u8,
    /// The JSON document for `--json`.
    json: Value,
    /// The text for humans (stdout).
    text: String,
    /// A message for stderr in both modes (the verification failure).
    stderr: Option<String>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(EXIT_USAGE));
        }
    };
    let json = cli.json;
    let result = match cli.command {
        Command::Verify(args) => inspect::verify(&args.path, json),
        Command::Info(args) => inspect::info(&args.path),
        Command::Generate(args) => generate::run(&args, json),
        Command::AccessReport(args) => inspect::access_report(&args),
    };
    match result {
        Ok(output) => {
            let text = if json { pretty(&output.json) } else { output.text };
            if let Some(message) = output.stderr {
                eprintln!("error: {message}");
            }
            if let Err(code) = emit(&text) {
                return ExitCode::from(code);
            }
            ExitCode::from(output.code)
        }
        Err(error) => {
            eprintln!("error: {}", error.message);
            if json {
                let _ = emit(&pretty(&error.to_json()));
            }
            ExitCode::from(error.code)
        }
    }
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text.push('\n');
    text
}

/// Writes to stdout; a closed pipe (`| head`) is not an error, other failures exit 2.
fn emit(text: &str) -> Result<(), u8> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            eprintln!("error: writing output: {e}");
            Err(EXIT_USAGE)
        }
    }
}

/// Opens a ledger file read-only, without repairs; refuses a directory or a file holding no block.
fn open_read_only(path: &Path) -> Result<FileStore, CliError> {
    if path.is_dir() {
        return Err(CliError::usage("not-a-ledger", format!("{}: is a directory, not a ledger file", path.display())));
    }
    let store =
        FileStore::open(path, OpenOptions { read_only: true, strict: false }).map_err(|e| CliError::store(path, &e))?;
    if healthchain::Store::is_empty(&store) {
        return Err(CliError::usage(
            "empty",
            format!("{}: the file holds no complete block (not even genesis)", path.display()),
        ));
    }
    Ok(store)
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

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC) for a time in ms since the Unix epoch.
fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rest = secs % 86_400;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// The proleptic Gregorian date of a day number since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so that leap days end each 400-year era.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // day of era [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1 [0, 365]
    let mp = (5 * doy + 2) / 153; // month from March [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// `1234567` → `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `3 providers`, `1 authority`, `2 authorities`.
fn counted(n: u64, role: healthchain::Role) -> String {
    let name = role.name();
    match (n, name.strip_suffix('y')) {
        (1, _) => format!("1 {name}"),
        (_, Some(stem)) => format!("{} {stem}ies", group(n)),
        _ => format!("{} {name}s", group(n)),
    }
}

/// The first 12 hex digits of an id, unless `full`.
fn short(hex: &str, full: bool) -> &str {
    if full { hex } else { hex.get(..12).unwrap_or(hex) }
}

/// Seconds with one decimal.
fn seconds(elapsed: std::time::Duration) -> String {
    format!("{:.1} s", elapsed.as_secs_f64())
}

/// Per-second rate of `count` over `elapsed`.
fn rate(count: u64, elapsed: std::time::Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_matches_known_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(951_868_799_999), "2000-02-29T23:59:59Z");
        assert_eq!(iso8601(1_767_225_600_000), "2026-01-01T00:00:00Z");
        assert_eq!(iso8601(1_795_424_400_000), "2026-11-23T09:00:00Z");
        assert_eq!(iso8601(4_107_456_000_000), "2100-02-28T00:00:00Z");
        assert_eq!(iso8601(4_107_542_400_000), "2100-03-01T00:00:00Z");
        assert_eq!(iso8601(253_402_300_799_000), "9999-12-31T23:59:59Z");
        // Never panics, even at the end of time.
        assert!(iso8601(u64::MAX).ends_with('Z'));
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
    }

    #[test]
    fn store_errors_map_to_exit_status_two() {
        let error = CliError::store(
            Path::new("x"),
            &StoreError::Damaged { offset: 96, height: 3, reason: "frame checksum mismatch" },
        );
        assert_eq!(error.code, EXIT_USAGE);
        let json = error.to_json();
        assert_eq!(json["error"]["height"], 3);
        assert_eq!(json["error"]["kind"], "damaged");
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
