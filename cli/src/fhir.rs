//! Healthcare's formats: `fhir import`, `fhir export`, `audit-events` and `disclosures` (docs/FHIR.md).

use crate::Output;
use crate::error::{CliError, EXIT_OK};
use crate::ids::IdQuery;
use crate::keys::read_key_file;
use crate::open::{open_error, open_file_ledger, open_ledger, with_opened};
use clap::{Args, Subcommand, ValueEnum};
use healthchain::accounting::{AccountingOptions, Names, accounting, csv, html};
use healthchain::fhir::FhirVersion;
use healthchain::fhir::audit::{AuditQuery, ExportError, Layout, write_events};
use healthchain::fhir::consent::{ImportOptions, R4Root, export, replace};
use healthchain::{ActorId, ConsentId, Grantee, Ledger, LedgerError, Role, SigningKey, State};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The FHIR release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Release {
    /// FHIR R4 (4.0.1).
    R4,
    /// FHIR R5 (5.0.0).
    R5,
}

impl From<Release> for FhirVersion {
    fn from(release: Release) -> Self {
        match release {
            Release::R4 => FhirVersion::R4,
            Release::R5 => FhirVersion::R5,
        }
    }
}

/// `healthchain fhir …`.
#[derive(Debug, Subcommand)]
pub enum FhirCommand {
    /// Import a patient's FHIR Consent as the ledger's rules (in place of an earlier import's with
    /// `--replaces`), all or none, and seal them in a block.
    Import(ImportArgs),
    /// Print a patient's rules as one FHIR Consent.
    Export(ExportArgs),
}

/// Arguments of `fhir import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The ledger file (opened for writing).
    path: PathBuf,
    /// The Consent resource (JSON).
    consent: PathBuf,
    /// The directory: a JSON object from FHIR references to actor ids (64 hex digits, or a unique prefix of
    /// at least 4) or roles (`role:provider`, …).
    #[arg(long, value_name = "JSON")]
    directory: PathBuf,
    /// The key file of the signer: the patient, or a delegate with manage scope.
    #[arg(long, value_name = "KEYFILE")]
    key: PathBuf,
    /// A key file of an active authority, to seal the block (repeat up to the seal threshold).
    #[arg(long = "seal-key", value_name = "KEYFILE", required = true)]
    seal_keys: Vec<PathBuf>,
    /// The resource's FHIR release.
    #[arg(long, value_enum, default_value = "r5")]
    fhir: Release,
    /// Read an R4 root provision without `type` as the scope of `policyRule` instead of an exception to it.
    #[arg(long)]
    r4_root_as_scope: bool,
    /// A rule of the Consent's earlier import to revoke in its place (repeat for each): its consent id, all
    /// 64 hex digits, as `fhir import` printed it or `fhir export` lists it. All or none, in one block.
    #[arg(long = "replaces", value_name = "CONSENT_ID")]
    replaces: Vec<String>,
}

/// Arguments of `fhir export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The ledger file.
    path: PathBuf,
    /// The patient's actor id (64 hex digits, or a unique prefix of at least 4).
    patient_id: String,
    /// The directory (as for `fhir import`): the references written for the patient and the grantees.
    #[arg(long, value_name = "JSON")]
    directory: PathBuf,
    /// The FHIR release to write.
    #[arg(long, value_enum, default_value = "r5")]
    fhir: Release,
    /// The rules as of this sealed block (default: the last).
    #[arg(long)]
    height: Option<u64>,
}

/// Arguments of `audit-events`.
#[derive(Debug, Args)]
pub struct AuditEventsArgs {
    /// The ledger file.
    path: PathBuf,
    /// Only this patient's events (actor id, or a unique prefix of at least 4 hex digits).
    #[arg(long, value_name = "ID")]
    patient: Option<String>,
    /// Events recorded from this FHIR date or dateTime on (e.g. 2026-01-01).
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Events recorded up to the end of this FHIR date or dateTime (e.g. 2026-12-31 includes that day).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// The directory (as for `fhir import`); parties it does not name are written by their ids.
    #[arg(long, value_name = "JSON")]
    directory: Option<PathBuf>,
    /// The FHIR release to write.
    #[arg(long, value_enum, default_value = "r5")]
    fhir: Release,
    /// One event per line (NDJSON) instead of a Bundle.
    #[arg(long)]
    ndjson: bool,
}

/// Arguments of `disclosures`.
#[derive(Debug, Args)]
pub struct DisclosuresArgs {
    /// The ledger file.
    path: PathBuf,
    /// The patient's actor id (64 hex digits, or a unique prefix of at least 4).
    patient_id: String,
    /// From this FHIR date or dateTime (default: six years before now).
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Up to the end of this FHIR date or dateTime (default: now).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// Names of the parties: a JSON object from actor ids (or unique prefixes) to names.
    #[arg(long, value_name = "JSON")]
    names: Option<PathBuf>,
    /// A checkpoint note of the ledger: each disclosure it holds gets its receipt (in the JSON).
    #[arg(long, value_name = "NOTE")]
    checkpoint: Option<PathBuf>,
    /// Print CSV.
    #[arg(long, conflicts_with = "html")]
    csv: bool,
    /// Print a printable HTML page.
    #[arg(long)]
    html: bool,
}

/// Runs `healthchain fhir …`.
pub fn run(command: &FhirCommand) -> Result<Output, CliError> {
    match command {
        FhirCommand::Import(args) => import_consent(args),
        FhirCommand::Export(args) => export_consent(args),
    }
}

fn read_json(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read(path).map_err(|e| CliError::io(path, &e))?;
    serde_json::from_slice(&text)
        .map_err(|e| CliError::usage("bad-json", format!("{}: not JSON ({e})", path.display())))
}

/// The directory file: FHIR references to actors (resolved on the ledger) or roles.
fn directory(path: &Path, state: &State, ledger: &Path) -> Result<BTreeMap<String, Grantee>, CliError> {
    let bad = |what: String| CliError::usage("bad-directory", format!("{}: {what}", path.display()));
    let Value::Object(entries) = read_json(path)? else {
        return Err(bad("expected an object from references to actor ids or roles".into()));
    };
    let mut map = BTreeMap::new();
    for (reference, value) in entries {
        let text = value.as_str().ok_or_else(|| bad(format!("the value of {reference} is not a string")))?;
        let grantee = match text.strip_prefix("role:") {
            Some(name) => Grantee::Role(Role::from_name(name).ok_or_else(|| bad(format!("unknown role {name}")))?),
            None => Grantee::Actor(IdQuery::parse(text, "actor id")?.resolve(state, ledger)?.id),
        };
        map.insert(reference, grantee);
    }
    Ok(map)
}

/// The names file: actor ids (or unique prefixes) to names.
fn names(path: &Path, state: &State, ledger: &Path) -> Result<BTreeMap<ActorId, String>, CliError> {
    let bad = |what: String| CliError::usage("bad-names", format!("{}: {what}", path.display()));
    let Value::Object(entries) = read_json(path)? else {
        return Err(bad("expected an object from actor ids to names".into()));
    };
    let mut map = BTreeMap::new();
    for (id, name) in entries {
        let name = name.as_str().ok_or_else(|| bad("a name is not a string".into()))?;
        map.insert(IdQuery::parse(&id, "actor id")?.resolve(state, ledger)?.id, name.to_owned());
    }
    Ok(map)
}

/// A FHIR date or dateTime: the first instant of its span, or the first after it.
fn instant(text: &str, end: bool) -> Result<u64, CliError> {
    let span = healthchain::fhir::datetime::parse(text, 0)
        .ok_or_else(|| CliError::usage("bad-date", format!("{text:?} is not a FHIR date or dateTime")))?;
    u64::try_from(if end { span.end } else { span.start })
        .map_err(|_| CliError::usage("bad-date", format!("{text:?} is before 1970")))
}

fn resource_output(value: Value, text: String) -> Output {
    Output { code: EXIT_OK, json: value, text, stderr: None }
}

fn import_consent(args: &ImportArgs) -> Result<Output, CliError> {
    let signer = read_key_file(&args.key)?;
    let sealers = args.seal_keys.iter().map(|p| read_key_file(p)).collect::<Result<Vec<_>, _>>()?;
    let json = std::fs::read(&args.consent).map_err(|e| CliError::io(&args.consent, &e))?;
    let mut ledger = open_file_ledger(&args.path, true)?;
    let directory = directory(&args.directory, ledger.state(), &args.path)?;
    let r4_root = if args.r4_root_as_scope { R4Root::Scope } else { R4Root::Exception };
    let options = ImportOptions { r4_root, ..ImportOptions::default() };
    let replaces = args
        .replaces
        .iter()
        .map(|text| {
            ConsentId::from_hex(text.trim()).ok_or_else(|| {
                CliError::usage("invalid-id", format!("--replaces {text:?} is not a consent id (64 hex digits)"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let done =
        replace(&mut ledger, &signer, &replaces, &json, args.fhir.into(), &directory, &options).map_err(|error| {
            CliError::invalid("consent-refused", format!("{}: {error}", args.consent.display()), Value::Null)
        })?;
    let changed = !done.rules.is_empty() || !replaces.is_empty();
    let height = if changed { Some(seal(&mut ledger, &sealers, &args.path)?) } else { None };
    let rules: Vec<Value> = done
        .rules
        .iter()
        .zip(&done.granted)
        .map(|(rule, granted)| {
            json!({
                "consent": granted.consent.to_string(),
                "effect": format!("{:?}", rule.effect).to_lowercase(),
                "grantee": format!("{:?}", rule.grantee),
                "exceptions": rule.exceptions.len(),
            })
        })
        .collect();
    let mut text = match replaces.len() {
        0 => format!("{} rules granted", rules.len()),
        revoked => format!("{revoked} rules revoked, {} granted", rules.len()),
    };
    match height {
        Some(h) => text.push_str(&format!(", sealed in block {h}\n")),
        None => text.push_str(" (the consent permits nothing the ledger's default does not)\n"),
    }
    for (rule, granted) in done.rules.iter().zip(&done.granted) {
        text.push_str(&format!("  {} {:?} {:?}\n", granted.consent, rule.effect, rule.grantee));
    }
    let revoked: Vec<String> = replaces.iter().map(ToString::to_string).collect();
    Ok(resource_output(json!({ "rules": rules, "revoked": revoked, "block": height }), text))
}

fn seal(ledger: &mut Ledger<healthchain::FileStore>, keys: &[SigningKey], path: &Path) -> Result<u64, CliError> {
    let signers: Vec<&SigningKey> = keys.iter().collect();
    ledger.seal(&signers).map(|block| block.header.height).map_err(|error| match error {
        LedgerError::UnknownKey(_) | LedgerError::NotEnoughSealers { .. } => {
            CliError::usage("not-enough-authorities", format!("--seal-key: {error}"))
        }
        other => open_error(path, other),
    })
}

fn export_consent(args: &ExportArgs) -> Result<Output, CliError> {
    let query = IdQuery::parse(&args.patient_id, "patient id")?;
    with_opened!(open_ledger(&args.path, true)?, |ledger| {
        let patient = query.resolve(ledger.state(), &args.path)?.id;
        let directory = directory(&args.directory, ledger.state(), &args.path)?;
        let head = ledger.block_count().saturating_sub(1);
        let view = ledger
            .view_as_of(args.height.unwrap_or(head))
            .map_err(|e| CliError::usage("bad-height", format!("--height: {e}")))?;
        let text = export(&view, &patient, args.fhir.into(), &directory)
            .map_err(|e| CliError::invalid("not-exportable", e.to_string(), Value::Null))?;
        let value: Value = serde_json::from_str(&text).map_err(|e| CliError::internal(e.to_string()))?;
        Ok(resource_output(value, text + "\n"))
    })
}

/// Runs `healthchain audit-events`: the events are streamed to standard output as they are read (a Bundle
/// in compact JSON, or NDJSON), so that memory stays bounded whatever the range; an error midway leaves the
/// output cut short and the exit status non-zero.
pub fn audit(args: &AuditEventsArgs, json: bool) -> Result<Output, CliError> {
    let from = args.from.as_deref().map(|t| instant(t, false)).transpose()?.unwrap_or(0);
    let until = args.until.as_deref().map(|t| instant(t, true)).transpose()?;
    with_opened!(open_ledger(&args.path, true)?, |ledger| {
        let directory = match &args.directory {
            Some(path) => directory(path, ledger.state(), &args.path)?,
            None => BTreeMap::new(),
        };
        let patient = match &args.patient {
            Some(id) => Some(IdQuery::parse(id, "patient id")?.resolve(ledger.state(), &args.path)?.id),
            None => None,
        };
        let query = AuditQuery { patient, from, until };
        let layout = if args.ndjson && !json { Layout::Ndjson } else { Layout::Bundle };
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let mut written = write_events(&ledger, &query, args.fhir.into(), &directory, layout, &mut out).map(drop);
        if written.is_ok() && layout == Layout::Bundle {
            written = out.write_all(b"\n").and_then(|()| out.flush()).map_err(ExportError::from);
        }
        match written {
            Ok(()) => Ok(Output::written()),
            Err(ExportError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Output::written()),
            Err(ExportError::Write(e)) => {
                Err(CliError::unreadable("output-not-written", format!("writing the events: {e}")))
            }
            Err(ExportError::Ledger(e)) => Err(crate::prove::history_damaged(&args.path, &e)),
            Err(other) => Err(CliError::internal(other.to_string())),
        }
    })
}

/// Runs `healthchain disclosures`.
pub fn disclosures(args: &DisclosuresArgs) -> Result<Output, CliError> {
    let query = IdQuery::parse(&args.patient_id, "patient id")?;
    let from = args.from.as_deref().map(|t| instant(t, false)).transpose()?;
    let until = args.until.as_deref().map(|t| instant(t, true)).transpose()?;
    let note = match &args.checkpoint {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| CliError::io(path, &e))?),
        None => None,
    };
    // Receipts need the stored tree hashes and carried checkpoints: the core's open.
    let ledger = open_file_ledger(&args.path, false)?;
    let patient = query.resolve(ledger.state(), &args.path)?.id;
    let names: BTreeMap<ActorId, String> = match &args.names {
        Some(path) => names(path, ledger.state(), &args.path)?,
        None => BTreeMap::new(),
    };
    let now = ledger.now();
    let range = match (from, until) {
        (None, None) => None,
        (from, until) => Some((
            from.unwrap_or_else(|| healthchain::accounting::six_years_before(now)),
            until.unwrap_or_else(|| now.saturating_add(1)),
        )),
    };
    let names: &dyn Names = &names;
    let report = accounting(&ledger, &patient, range, names, &AccountingOptions::default(), note.as_deref())
        .map_err(|e| CliError::invalid("accounting-failed", e.to_string(), Value::Null))?;
    let value: Value =
        serde_json::from_str(&healthchain::accounting::json(&report)).map_err(|e| CliError::internal(e.to_string()))?;
    let text = if args.html {
        html(&report)
    } else if args.csv {
        csv(&report)
    } else {
        healthchain::accounting::json(&report) + "\n"
    };
    Ok(resource_output(value, text))
}
