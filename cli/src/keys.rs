//! Key files and `healthchain key`: an Ed25519 signing key is kept in a file holding its 32-byte secret
//! seed (RFC 8032 private key) as 64 hexadecimal digits on one line, readable by its owner only; its
//! verifier key (C2SP vkey) is what others are given.

use crate::Output;
use crate::error::{CliError, EXIT_OK};
use crate::open::open_read_only;
use clap::{ArgGroup, Args, Subcommand};
use healthchain::SigningKey;
use healthchain::checkpoint::{NoteVerifier, origin_of};
use healthchain::hash::to_hex;
use serde_json::json;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// `healthchain key …`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a new random signing key in a new key file (mode 0600) and print its public key.
    #[command(long_about = "\
Create a new random Ed25519 signing key (from the operating system's random source) in a NEW key file
(an existing file is refused), readable and writable by its owner only (mode 0600), and print its public
key. A key file holds the key's 32-byte secret seed as 64 hexadecimal digits on one line; the tool refuses
key files that its group or others may read or write.

Examples:
  healthchain key generate witness.key
  healthchain key vkey witness.key --witness auditor.example/w1")]
    #[command(after_help = crate::error::EXIT_CODES)]
    Generate(KeyFileArgs),
    /// Print the verifier key (C2SP vkey) of a key file: for a ledger's authority or for a witness.
    #[command(long_about = "\
Print the verifier key (C2SP signed-note vkey, `name+hex key id+base64 key`) of the signing key in a key
file: what verifiers are given to check signatures (`verify --authority-key`, `verify-receipt
--authority-key`, `--witness-key`).

An authority signs a ledger's checkpoints under the ledger's origin, `healthchain/<chain id>`: give the
ledger with --ledger (only its file header is read) or its origin with --origin. A witness cosigns under
a name of its own: give it with --witness (the same name as `checkpoint cosign --name`).

Examples:
  healthchain key vkey hospital.key --ledger demo.ledger > hospital.vkey
  healthchain key vkey witness.key --witness auditor.example/w1 > witness.vkey")]
    #[command(group(ArgGroup::new("whose").required(true).args(["ledger", "origin", "witness"])))]
    #[command(after_help = crate::error::EXIT_CODES)]
    Vkey(VkeyArgs),
}

/// Arguments of `key generate`.
#[derive(Debug, Args)]
pub struct KeyFileArgs {
    /// The key file to create (must not exist).
    path: PathBuf,
}

/// Arguments of `key vkey`.
#[derive(Debug, Args)]
pub struct VkeyArgs {
    /// The key file.
    path: PathBuf,
    /// An authority key of this ledger file: named by the ledger's origin.
    #[arg(long, value_name = "LEDGER")]
    ledger: Option<PathBuf>,
    /// An authority key of the ledger with this origin (`healthchain/<chain id>`).
    #[arg(long)]
    origin: Option<String>,
    /// A witness's cosigning key, under this name.
    #[arg(long, value_name = "NAME")]
    witness: Option<String>,
}

/// Runs `healthchain key …`.
pub fn run(command: &KeyCommand) -> Result<Output, CliError> {
    match command {
        KeyCommand::Generate(args) => generate(&args.path),
        KeyCommand::Vkey(args) => vkey(args),
    }
}

fn generate(path: &Path) -> Result<Output, CliError> {
    let key = SigningKey::generate().map_err(|e| CliError::internal(format!("generating a key: {e}")))?;
    write_key_file(path, &key)?;
    let public = to_hex(&key.public_key().to_bytes());
    let text = format!("key file      {} (mode 0600)\npublic key    {public}\n", path.display());
    let json = json!({ "path": path.display().to_string(), "public_key": public });
    Ok(Output { code: EXIT_OK, json, text, stderr: None })
}

fn vkey(args: &VkeyArgs) -> Result<Output, CliError> {
    let key = read_key_file(&args.path)?;
    let bad_name =
        |name: &str| CliError::usage("invalid-name", format!("{name:?} cannot name a key (no spaces, no '+')"));
    let verifier = match (&args.ledger, &args.origin, &args.witness) {
        (Some(ledger), _, _) => {
            let store = open_read_only(ledger)?;
            let chain = store.chain_id().map_err(|e| CliError::store(ledger, &e))?;
            let chain = chain.ok_or_else(|| CliError::internal("a ledger file without a chain id"))?;
            let origin = origin_of(&chain);
            NoteVerifier::new(&origin, key.public_key()).map_err(|_| bad_name(&origin))?
        }
        (None, Some(origin), _) => NoteVerifier::new(origin, key.public_key()).map_err(|_| bad_name(origin))?,
        (None, None, Some(name)) => NoteVerifier::cosigner(name, key.public_key()).map_err(|_| bad_name(name))?,
        (None, None, None) => return Err(CliError::usage("usage", "give --ledger, --origin or --witness")),
    };
    let vkey = verifier.to_vkey();
    let json = json!({
        "vkey": vkey,
        "name": verifier.name,
        "kind": if args.witness.is_some() { "witness" } else { "authority" },
        "key_id": format!("{:08x}", verifier.key_id),
        "public_key": to_hex(&key.public_key().to_bytes()),
    });
    Ok(Output { code: EXIT_OK, json, text: format!("{vkey}\n"), stderr: None })
}

/// Reads a signing key from a key file: 64 hex digits (the secret seed) on one line. Refused (usage error)
/// if the file is malformed or, on Unix, if its group or others have any access to it.
pub fn read_key_file(path: &Path) -> Result<SigningKey, CliError> {
    if path.is_dir() {
        return Err(CliError::unreadable(
            "is-a-directory",
            format!("{}: is a directory, not a key file", path.display()),
        ));
    }
    let metadata = std::fs::metadata(path).map_err(|e| CliError::io(path, &e))?;
    check_permissions(path, &metadata)?;
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| CliError::io(path, &e))?);
    let malformed = || {
        CliError::usage(
            "invalid-key-file",
            format!(
                "{}: not a key file (expected the key's 32-byte secret seed as 64 hexadecimal digits on one line)",
                path.display()
            ),
        )
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| malformed())?.trim();
    if text.len() != 64 {
        return Err(malformed());
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    for (slot, pair) in seed.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let digits = std::str::from_utf8(pair).map_err(|_| malformed())?;
        *slot = u8::from_str_radix(digits, 16).map_err(|_| malformed())?;
    }
    Ok(SigningKey::from_seed(&seed))
}

#[cfg(unix)]
fn check_permissions(path: &Path, metadata: &std::fs::Metadata) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CliError::usage(
            "key-file-permissions",
            format!(
                "{}: permissions {mode:04o} are too open: a key file must be accessible to its owner only \
                 (chmod 600 {})",
                path.display(),
                path.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _metadata: &std::fs::Metadata) -> Result<(), CliError> {
    Ok(())
}

/// Writes `key` to a NEW key file at `path` (mode 0600 on Unix): refuses an existing file (usage error).
pub fn write_key_file(path: &Path, key: &SigningKey) -> Result<(), CliError> {
    check_new_key_path(path)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => exists(path),
        _ => CliError::io(path, &e),
    })?;
    let text = Zeroizing::new(format!("{}\n", to_hex(key.to_seed().as_slice())));
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| CliError::io(path, &e))
}

/// Refuses a path where a new key file cannot be made: an existing entry (usage error), a missing
/// directory (exit status 5).
pub fn check_new_key_path(path: &Path) -> Result<(), CliError> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(exists(path));
    }
    if crate::error::missing_directory(path).is_some() {
        return Err(CliError::not_found(path));
    }
    Ok(())
}

fn exists(path: &Path) -> CliError {
    CliError::usage("exists", format!("{}: file exists; a key file is never overwritten", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_refuse_open_permissions_and_garbage() {
        let dir = std::env::temp_dir().join(format!("healthchain-cli-unit-{}-keys", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.key");
        let key = SigningKey::from_seed(&[7; 32]);
        write_key_file(&path, &key).unwrap();
        assert_eq!(read_key_file(&path).unwrap().public_key(), key.public_key());
        assert_eq!(write_key_file(&path, &key).unwrap_err().kind, "exists");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            assert_eq!(read_key_file(&path).unwrap_err().kind, "key-file-permissions");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&path, "xyz\n").unwrap();
        assert_eq!(read_key_file(&path).unwrap_err().kind, "invalid-key-file");
        std::fs::write(&path, format!("{}\n", "g".repeat(64))).unwrap();
        assert_eq!(read_key_file(&path).unwrap_err().kind, "invalid-key-file");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
