//! Exit statuses and the errors the commands report: one exit status per failure class, and a `kind` for
//! JSON consumers.

use healthchain::StoreError;
use serde_json::{Value, json};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: the ledger does not verify.
pub const EXIT_INVALID: u8 = 1;
/// Exit status: usage error (bad arguments, an unknown or ambiguous id, an existing file for `generate`).
pub const EXIT_USAGE: u8 = 2;
/// Exit status: an internal error (a bug in the tool or the library).
pub const EXIT_INTERNAL: u8 = 3;
/// Exit status (verify): every complete block verifies, but the file ends with the remains of an
/// interrupted append, which a writer's open would cut: the file is not valid as it is.
pub const EXIT_INCOMPLETE_TAIL: u8 = 4;
/// Exit status: the file cannot be read as a ledger (missing, in a missing directory, a directory, no
/// permission, an input/output failure, not a ledger file), or `generate` cannot create or write it.
pub const EXIT_UNREADABLE: u8 = 5;
/// Exit status: the file is a ledger file but damaged (checksum or framing failure, unknown format version,
/// an interrupted creation, no complete block).
pub const EXIT_DAMAGED: u8 = 6;

/// Exit status (verify, checkpoint cosign): the ledger holds fewer transactions than a trusted checkpoint
/// (it was cut or rolled back since the checkpoint was published), or a witness was offered a smaller tree
/// than one it cosigned.
pub const EXIT_TRUNCATED: u8 = 7;
/// Exit status (verify, checkpoint cosign): another root at a trusted checkpoint's size: a fork, a
/// rewritten history (the evidence is printed), or a checkpoint a witness cannot see extend its own.
pub const EXIT_FORKED: u8 = 8;
/// Exit status (verify, checkpoint carry): a checkpoint of another ledger (its origin names another chain).
pub const EXIT_OTHER_LEDGER: u8 = 9;
/// Exit status: a checkpoint note is refused: malformed, or not signed (and cosigned) as the keys and
/// thresholds given, or the ledger's own authorities, require.
pub const EXIT_CHECKPOINT_REFUSED: u8 = 10;

/// The exit-status table, for `--help`.
pub const EXIT_CODES: &str = "\
Exit status:
  0  success (verify: every block verified and the file holds nothing else)
  1  the ledger does not verify: the first bad block, transaction and reason are printed; verify-receipt:
     the receipt does not verify (the reason is printed)
  2  usage error: bad or missing arguments, an unknown, ambiguous or malformed id, an existing file for
     generate
  3  internal error (please report it)
  4  verify: every complete block verifies, but the file ends with the remains of an interrupted append
     (an incomplete final frame) that opening the ledger for writing would cut
  5  the file cannot be read as a ledger: it is missing, its directory is missing, it is a directory, it
     cannot be read (permission, input/output error) or it is not a ledger file; generate: the file cannot
     be created or written; or the output cannot be written
  6  the file is a ledger file but damaged: a checksum or framing failure (offset and block printed), an
     unknown format version, an interrupted creation (no complete genesis block), an empty file; or a
     damaged <file>.checkpoints or witness state file
  7  TRUNCATED: the ledger holds fewer transactions than a trusted checkpoint (given with --checkpoint, or
     carried in <file>.checkpoints): it was cut or rolled back after the checkpoint was published;
     checkpoint cosign: the witness already cosigned a larger tree (a rollback)
  8  FORKED: the ledger's first N transactions give another root than a trusted checkpoint of size N (both
     roots and the block that covers N are printed); checkpoint cosign: another root for a size the
     witness cosigned, or a tree not shown to extend it
  9  OTHER LEDGER: a checkpoint of another ledger (its origin names another chain id)
 10  a checkpoint is refused: malformed, or not signed (and cosigned) as the --authority-key,
     --witness-key and thresholds given, or the ledger's own authorities, require

With --json, errors are printed on stdout too, command-line errors included, as
{\"error\": {\"kind\": ..., \"message\": ..., \"exit_code\": ...}}.";

/// A failed command: its exit status, a kind for JSON consumers, the message and structured details.
#[derive(Debug)]
pub struct CliError {
    /// The exit status.
    pub code: u8,
    /// A stable, machine-readable name of the failure.
    pub kind: &'static str,
    /// The message for humans.
    pub message: String,
    /// Fields added to the JSON error object (an object, or null).
    pub details: Value,
}

impl CliError {
    /// A usage error (exit status 2).
    pub fn usage(kind: &'static str, message: impl Into<String>) -> Self {
        Self { code: EXIT_USAGE, kind, message: message.into(), details: Value::Null }
    }

    /// The ledger does not verify (exit status 1).
    pub fn invalid(kind: &'static str, message: impl Into<String>, details: Value) -> Self {
        Self { code: EXIT_INVALID, kind, message: message.into(), details }
    }

    /// An internal error (exit status 3).
    pub fn internal(message: impl Into<String>) -> Self {
        Self { code: EXIT_INTERNAL, kind: "internal", message: message.into(), details: Value::Null }
    }

    /// A file that cannot be read as a ledger, or created (exit status 5).
    pub fn unreadable(kind: &'static str, message: impl Into<String>) -> Self {
        Self { code: EXIT_UNREADABLE, kind, message: message.into(), details: Value::Null }
    }

    /// A ledger file that is damaged (exit status 6).
    pub fn damaged(kind: &'static str, message: impl Into<String>, details: Value) -> Self {
        Self { code: EXIT_DAMAGED, kind, message: message.into(), details }
    }

    /// The same error with structured details for JSON consumers.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// A store failure when opening, reading or writing `path`.
    pub fn store(path: &Path, error: &StoreError) -> Self {
        let shown = path.display();
        match error {
            StoreError::Io(e) => Self::io(path, e),
            StoreError::NotALedger => {
                Self::unreadable("not-a-ledger", format!("{shown}: not a healthchain ledger file"))
            }
            StoreError::Locked => Self::unreadable("locked", format!("{shown}: {error}")),
            StoreError::UnknownVersion(v) => Self::damaged(
                "unknown-version",
                format!("{shown}: unknown ledger file version {v} (a newer or damaged file)"),
                json!({ "version": v }),
            ),
            StoreError::Damaged { offset, height, reason } => Self::damaged(
                "damaged",
                format!("{shown}: {error}"),
                json!({ "offset": offset, "height": height, "reason": reason }),
            ),
            StoreError::TornTail { offset, height } => {
                Self::damaged("torn-tail", format!("{shown}: {error}"), json!({ "offset": offset, "height": height }))
            }
            StoreError::IncompleteCreation => {
                Self::damaged("incomplete-creation", format!("{shown}: {error}"), Value::Null)
            }
            other => Self::internal(format!("{shown}: {other}")),
        }
    }

    /// An input/output failure on `path`, with what it means for the user: a missing file or directory, a
    /// directory where a file was expected, no permission.
    pub fn io(path: &Path, error: &std::io::Error) -> Self {
        let shown = path.display();
        match error.kind() {
            ErrorKind::NotFound => Self::not_found(path),
            ErrorKind::NotADirectory => Self::not_a_directory(path),
            ErrorKind::IsADirectory => Self::is_a_directory(path),
            ErrorKind::PermissionDenied => Self::unreadable("permission-denied", format!("{shown}: permission denied")),
            _ => Self::unreadable("io", format!("{shown}: {error}")),
        }
    }

    /// `path` does not exist: says whether its directory is missing too.
    pub fn not_found(path: &Path) -> Self {
        match missing_directory(path) {
            Some(dir) => Self::unreadable(
                "no-such-directory",
                format!("{}: directory {} does not exist", path.display(), dir.display()),
            )
            .with_details(json!({ "directory": dir.display().to_string() })),
            None => Self::unreadable("not-found", format!("{}: no such file", path.display())),
        }
    }

    /// A directory given where a ledger file was expected.
    pub fn is_a_directory(path: &Path) -> Self {
        Self::unreadable("is-a-directory", format!("{}: is a directory, not a ledger file", path.display()))
    }

    /// A component of `path` before its file name is not a directory.
    pub fn not_a_directory(path: &Path) -> Self {
        let message = match path.parent().filter(|p| !p.as_os_str().is_empty() && !p.is_dir()) {
            Some(parent) => format!("{}: {} is not a directory", path.display(), parent.display()),
            None => format!("{}: a component of the path is not a directory", path.display()),
        };
        Self::unreadable("not-a-directory", message)
    }

    /// The `{"error": ...}` document for `--json`.
    pub fn to_json(&self) -> Value {
        let mut error = json!({ "kind": self.kind, "message": self.message, "exit_code": self.code });
        if let (Some(map), Value::Object(details)) = (error.as_object_mut(), &self.details) {
            for (key, value) in details {
                map.insert(key.clone(), value.clone());
            }
        }
        json!({ "error": error })
    }
}

/// The directory `path` would be in, when it does not exist (`None` when it exists or `path` has none).
pub fn missing_directory(path: &Path) -> Option<PathBuf> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty())?;
    match std::fs::metadata(parent) {
        Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => Some(parent.to_path_buf()),
        _ => None,
    }
}

/// Whether `--json` is among the arguments (before a `--` that ends the options), so that even an
/// argument error is reported as JSON.
pub fn json_requested<I: IntoIterator<Item = std::ffi::OsString>>(args: I) -> bool {
    args.into_iter()
        .skip(1)
        .take_while(|arg| arg != "--")
        .any(|arg| arg == "--json" || arg.to_str().is_some_and(|s| s.starts_with("--json=")))
}

/// A command-line parse error (clap's) as a usage error: clap's message without its `error: ` prefix and
/// closing hint, with the valid values and the usage line, when clap gives them, as details.
pub fn from_clap(error: &clap::Error) -> CliError {
    let rendered = error.render().to_string();
    let lines: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("For more information") && !line.starts_with("Usage:"))
        .collect();
    let joined = lines.join("\n");
    let message = joined.strip_prefix("error: ").unwrap_or(&joined).to_owned();
    let mut details = serde_json::Map::new();
    if let Some(clap::error::ContextValue::Strings(values)) = error.get(clap::error::ContextKind::ValidValue) {
        details.insert("valid_values".to_owned(), json!(values));
    }
    if let Some(usage) = rendered.lines().find_map(|line| line.trim().strip_prefix("Usage: ")) {
        details.insert("usage".to_owned(), json!(usage));
    }
    let message = if message.is_empty() { "invalid command line".to_owned() } else { message };
    CliError { code: EXIT_USAGE, kind: "usage", message, details: Value::Object(details) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_and_unreadable_files_have_their_own_exit_statuses() {
        let damaged = CliError::store(
            Path::new("x"),
            &StoreError::Damaged { offset: 96, height: 3, reason: "frame checksum mismatch" },
        );
        assert_eq!(damaged.code, EXIT_DAMAGED);
        let json = damaged.to_json();
        assert_eq!(json["error"]["height"], 3);
        assert_eq!(json["error"]["kind"], "damaged");
        assert_eq!(json["error"]["exit_code"], 6);
        for error in [StoreError::UnknownVersion(9), StoreError::IncompleteCreation] {
            assert_eq!(CliError::store(Path::new("x"), &error).code, EXIT_DAMAGED, "{error}");
        }
        let foreign = CliError::store(Path::new("x"), &StoreError::NotALedger);
        assert_eq!((foreign.code, foreign.kind), (EXIT_UNREADABLE, "not-a-ledger"));
        let denied = CliError::io(Path::new("x"), &std::io::Error::from(ErrorKind::PermissionDenied));
        assert_eq!((denied.code, denied.kind), (EXIT_UNREADABLE, "permission-denied"));
        assert_eq!(CliError::store(Path::new("x"), &StoreError::ReadOnly).code, EXIT_INTERNAL);
    }

    #[test]
    fn a_missing_directory_is_named() {
        let error = CliError::not_found(Path::new("/no/such/healthchain/dir/x.ledger"));
        assert_eq!((error.code, error.kind), (EXIT_UNREADABLE, "no-such-directory"));
        assert!(error.message.contains("directory /no/such/healthchain/dir does not exist"), "{}", error.message);
        let error = CliError::not_found(Path::new("no-such-file.ledger"));
        assert_eq!(error.kind, "not-found");
    }

    #[test]
    fn json_is_found_anywhere_before_a_double_dash() {
        let args = |list: &[&str]| list.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert!(json_requested(args(&["healthchain", "verify", "x", "--json"])));
        assert!(json_requested(args(&["healthchain", "--json", "frobnicate"])));
        assert!(!json_requested(args(&["healthchain", "verify", "--", "--json"])));
        assert!(!json_requested(args(&["--json"])), "the program name is not an argument");
        assert!(!json_requested(args(&["healthchain", "--jsonx"])));
    }
}
