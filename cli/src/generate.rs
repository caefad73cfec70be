//! `generate`: a new ledger file holding a realistic, seeded synthetic workload (`healthchain::workload`,
//! which writes every transaction through the public ledger API).

use crate::error::{CliError, EXIT_OK};
use crate::format::{counted, group, iso8601, millis, rate, seconds};
use crate::{Output, progress};
use clap::Args;
use healthchain::workload::{self, Generated, START_MS, Spec};
use healthchain::{FileStore, Ledger, LedgerError, Role};
use serde_json::json;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The ledger file to create (must not exist).
    path: PathBuf,
    /// Number of patients.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    patients: u64,
    /// About how many transactions to write (at least the genesis and the registrations).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    transactions: u64,
    /// Seed of the keys and the workload.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seal a block every this many transactions.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    block_size: u64,
    /// At most this many consent rules in all; after that, consent changes give way to accesses (a
    /// hospital's steady state: settled rules, a growing stream of accesses).
    #[arg(long, value_name = "N")]
    max_consents: Option<u64>,
    /// Also write the hospital authority's signing key to this NEW key file (mode 0600), to sign the
    /// ledger's checkpoints with (`checkpoint create --key`).
    #[arg(long, value_name = "KEYFILE")]
    authority_key_out: Option<PathBuf>,
}

/// `healthchain generate PATH …`.
pub fn run(args: &GenerateArgs, json: bool) -> Result<Output, CliError> {
    let path = &args.path;
    check_new_path(path)?;
    if let Some(key_path) = &args.authority_key_out {
        crate::keys::check_new_key_path(key_path)?;
        if key_path == path {
            return Err(CliError::usage("same-file", "--authority-key-out must not be the ledger file"));
        }
    }
    let started = Instant::now();
    let spec = Spec {
        patients: args.patients,
        transactions: args.transactions,
        seed: args.seed,
        block_size: args.block_size,
        max_consents: args.max_consents,
    };
    // The same seed gives the same file, byte for byte.
    let clock = spec.clock();
    let hospital = spec.authority();
    let mut ledger =
        Ledger::create_file(path, Box::new(clock.clone()), &spec.settings(), &[&hospital]).map_err(|e| match e {
            LedgerError::Store(store) => CliError::store(path, &store),
            other => CliError::internal(format!("creating {}: {other}", path.display())),
        })?;
    let bar = progress(args.transactions, json, "tx");
    let generated = workload::generate(&mut ledger, &clock, &spec, &mut |written| bar.set_position(written));
    bar.finish_and_clear();
    let generated = generated.map_err(|e| generation_error(path, e))?;
    if let Some(key_path) = &args.authority_key_out {
        crate::keys::write_key_file(key_path, &hospital)?;
    }
    let mut output = summary(&ledger, &generated, &spec, path, started.elapsed());
    if let Some(key_path) = &args.authority_key_out {
        let origin = healthchain::checkpoint::origin_of(&ledger.chain());
        let vkey = healthchain::checkpoint::NoteVerifier::new(&origin, hospital.public_key())
            .map(|v| v.to_vkey())
            .unwrap_or_default();
        let _ = writeln!(output.text, "authority key {} (mode 0600); verifier key {vkey}", key_path.display());
        if let Some(map) = output.json.as_object_mut() {
            map.insert("authority_key_file".to_owned(), json!(key_path.display().to_string()));
            map.insert("authority_vkey".to_owned(), json!(vkey));
        }
    }
    Ok(output)
}

/// Refuses a path where no new ledger file can be made: an existing file (usage error), a directory, a
/// missing directory or a path through something that is not a directory (exit status 5).
fn check_new_path(path: &Path) -> Result<(), CliError> {
    if path.is_dir() {
        let message = format!("{}: is a directory; give the path of a new ledger file", path.display());
        return Err(CliError::unreadable("is-a-directory", message));
    }
    // Any existing entry, a dangling symbolic link included, is kept as it is.
    if std::fs::symlink_metadata(path).is_ok() {
        let message = format!("{}: file exists; generate only creates new ledgers", path.display());
        return Err(CliError::usage("exists", message));
    }
    if crate::error::missing_directory(path).is_some() {
        return Err(CliError::not_found(path));
    }
    if path.parent().is_some_and(|dir| !dir.as_os_str().is_empty() && !dir.is_dir()) {
        return Err(CliError::not_a_directory(path));
    }
    Ok(())
}

/// A failure while writing the workload.
fn generation_error(path: &Path, error: LedgerError) -> CliError {
    match error {
        LedgerError::Store(store) => {
            let mut e = CliError::store(path, &store);
            e.message = format!("{} (the blocks sealed before the failure remain valid)", e.message);
            e
        }
        other => CliError::internal(format!(
            "generating {}: unexpected refusal: {other} (the blocks sealed before it remain valid)",
            path.display()
        )),
    }
}

/// What was generated, for people and as JSON.
fn summary(
    ledger: &Ledger<FileStore>,
    generated: &Generated,
    spec: &Spec,
    path: &Path,
    elapsed: std::time::Duration,
) -> Output {
    let t = &generated.tally;
    let blocks = ledger.block_count();
    let transactions = ledger.tree().size();
    let file_bytes = ledger.store().size();
    let samples: Vec<String> = generated.sample_patients.iter().map(ToString::to_string).collect();
    let pending = generated.reviews_pending;
    let count_role = |role: Role| generated.actors.get(&role).copied().unwrap_or(0);
    let head_time = ledger.head().map_or(START_MS, |h| h.timestamp);
    let details = json!({
        "permits_to_actors": t.permits_to_actors,
        "permits_to_roles": t.permits_to_roles,
        "denies": t.denies,
        "grants_by_delegates": t.grants_by_delegates,
        "duplicate_grants_refused": t.duplicate_grants_refused,
        "consents_revoked": t.consents_revoked,
        "delegations_granted_by_authority": t.delegations_granted_by_authority,
        "delegations_revoked": t.delegations_revoked,
        "accesses_on_consent": t.accesses_on_consent,
        "accesses_by_delegates": t.accesses_by_delegates,
        "accesses_by_owner": t.accesses_by_owner,
        "break_glass_accesses": t.break_glass,
        "reviews_justified": t.reviews_justified,
        "reviews_not_justified": t.reviews_not_justified,
        "reviews_pending": pending,
        "key_rotations": t.key_rotations,
        "checks_denied": t.checks_denied,
    });
    let document = json!({
        "path": path.display().to_string(),
        "seed": spec.seed,
        "chain_id": ledger.chain().to_string(),
        "blocks": blocks,
        "transactions": transactions,
        "transactions_by_kind": t.by_kind,
        "details": details,
        "actors": {
            "authority": 1,
            "patient": count_role(Role::Patient),
            "provider": count_role(Role::Provider),
            "insurer": count_role(Role::Insurer),
            "researcher": count_role(Role::Researcher),
            "auditor": count_role(Role::Auditor),
        },
        "tree_root": ledger.tree().root().to_hex(),
        "first_time": iso8601(START_MS),
        "last_time": iso8601(head_time),
        "file_bytes": file_bytes,
        "elapsed_ms": millis(elapsed),
        "transactions_per_second": rate(transactions, elapsed).round(),
        "sample_patients": samples,
    });

    let mut text = String::new();
    let _ = writeln!(
        text,
        "generated {} ({} bytes) in {} ({:.0} transactions/s)",
        path.display(),
        group(file_bytes),
        seconds(elapsed),
        rate(transactions, elapsed)
    );
    let _ = writeln!(text, "chain id      {}", ledger.chain());
    let _ = writeln!(text, "seed          {}", spec.seed);
    let _ = writeln!(text, "blocks        {} (one per {} transactions)", group(blocks), group(spec.block_size));
    let _ = writeln!(text, "transactions  {}", group(transactions));
    let _ = writeln!(text, "time span     {} to {}", iso8601(START_MS), iso8601(head_time));
    let _ = writeln!(
        text,
        "actors        1 authority, {}, {}, {}, {}, {}",
        counted(count_role(Role::Patient), Role::Patient),
        counted(count_role(Role::Provider), Role::Provider),
        counted(count_role(Role::Insurer), Role::Insurer),
        counted(count_role(Role::Researcher), Role::Researcher),
        counted(count_role(Role::Auditor), Role::Auditor)
    );
    let _ = writeln!(text, "by kind:");
    for (kind, n) in &t.by_kind {
        let _ = writeln!(text, "  {kind:<20}{:>12}", group(*n));
    }
    let _ = writeln!(text, "details:");
    let rows = [
        ("permits to actors", t.permits_to_actors),
        ("permits to roles", t.permits_to_roles),
        ("deny rules", t.denies),
        ("grants by delegates", t.grants_by_delegates),
        ("consents revoked", t.consents_revoked),
        ("court delegations", t.delegations_granted_by_authority),
        ("delegations revoked", t.delegations_revoked),
        ("accesses on consent", t.accesses_on_consent),
        ("accesses by delegate", t.accesses_by_delegates),
        ("accesses by patient", t.accesses_by_owner),
        ("break-glass accesses", t.break_glass),
        ("reviewed justified", t.reviews_justified),
        ("reviewed NOT justif.", t.reviews_not_justified),
        ("reviews pending", pending),
        ("key rotations", t.key_rotations),
    ];
    for (label, n) in rows {
        let _ = writeln!(text, "  {label:<20}{:>12}", group(n));
    }
    let _ = writeln!(
        text,
        "  (not on the ledger: {} duplicate grants refused as already-has-access, {} denied checks)",
        group(t.duplicate_grants_refused),
        group(t.checks_denied)
    );
    if !samples.is_empty() {
        let _ = writeln!(text, "sample patients (try `healthchain access-report {} ID`):", path.display());
        for id in &samples {
            let _ = writeln!(text, "  {id}");
        }
    }
    Output { code: EXIT_OK, json: document, text, stderr: None }
}
