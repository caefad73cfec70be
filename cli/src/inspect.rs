//! The read-only commands: `verify`, `info` and `access-report`.

use crate::error::{CliError, EXIT_INCOMPLETE_TAIL, EXIT_INVALID, EXIT_OK};
use crate::format::{counted, group, iso8601, millis, rate, seconds, short, table};
use crate::ids::IdQuery;
use crate::open::{OnFile, file_size, open_file_ledger, open_ledger, open_read_only, with_opened};
use crate::receipt::write_receipts;
use crate::trust::{
    Note, TrustArgs, authorities_only, base64_hash, broken_checkpoint, carried_notes, severity, standing_json,
    standing_status, standing_text,
};
use crate::{Output, progress, recovery_json, recovery_text};
use clap::Args;
use healthchain::checkpoint::{Checkpoint, CheckpointPolicy, VerifiedCheckpoint, origin_of};
use healthchain::trust::verify_file_against;
use healthchain::{AccessBasis, AccessId, Actor, Ledger, Role, Store, StoreError, claims_beside};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `access-report`.
#[derive(Debug, Args)]
pub struct AccessReportArgs {
    /// The ledger file.
    path: PathBuf,
    /// The patient's actor id: 64 hex digits, or a unique prefix of at least 4 (the 12 printed will do).
    patient_id: String,
    /// Print ids in full in the text report (JSON always has them in full).
    #[arg(long)]
    full_ids: bool,
    /// Also write one receipt per access, `<access id>.receipt`, in this directory (created if missing),
    /// against the newest checkpoint the ledger carries.
    #[arg(long, value_name = "DIR")]
    receipts: Option<PathBuf>,
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The ledger file.
    path: PathBuf,
    /// A checkpoint you trust (a C2SP signed note, as `checkpoint create` writes it): the ledger must
    /// still hold its tree (repeat for several).
    #[arg(long = "checkpoint", value_name = "NOTE_FILE")]
    checkpoints: Vec<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
}

/// Whose keys the checkpoints' signatures were checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CheckedAgainst {
    /// The --authority-key keys.
    Given,
    /// The ledger's own authorities (no --authority-key given).
    Ledger,
    /// Not checked: the ledger does not open (it does not verify), so its authorities are unknown.
    Unchecked,
}

/// One checkpoint verify measures the ledger against, and what its signatures said.
struct Measured {
    note: Note,
    /// The authorities that signed and the trusted witnesses that cosigned, once checked.
    signers: Option<VerifiedCheckpoint>,
}

/// `healthchain verify PATH [--checkpoint NOTE]…`.
pub fn verify(args: &VerifyArgs, json: bool) -> Result<Output, CliError> {
    let path = args.path.as_path();
    let keys = args.trust.keys()?;
    let given = args.checkpoints.iter().map(|p| Note::read(p)).collect::<Result<Vec<_>, _>>()?;
    let store = open_read_only(path)?;
    let (_, carried) = carried_notes(path)?;
    let notes: Vec<Note> = given.into_iter().chain(carried).collect();
    let chain = store.chain_id().map_err(|e| CliError::store(path, &e))?;
    let origin = chain.as_ref().map(origin_of).unwrap_or_default();
    let ours = |note: &Note| note.checkpoint.origin == origin;

    let recovery = store.recovery();
    let file_bytes = file_size(path)?;
    let bar = progress(store.len(), json, "blocks");
    let started = Instant::now();
    // A block that cannot be read (the file changed since it was opened) is damage, not a verification
    // failure: the blocks stop there and the store's error is reported.
    let mut read_error = None;
    let checkpoints: Vec<Checkpoint> = notes.iter().map(|note| note.checkpoint.clone()).collect();
    // The snapshots an open would start from must hold the state the blocks give.
    let snapshots = claims_beside(path);
    let verified = verify_file_against(
        (0..store.len()).map_while(|height| {
            let block = store.read(height);
            bar.inc(1);
            match block {
                Ok(bytes) => Some(Ok::<_, StoreError>(bytes)),
                Err(error) => {
                    read_error = Some(error);
                    None
                }
            }
        }),
        &checkpoints,
        &snapshots,
    );
    bar.finish_and_clear();
    if let Some(error) = read_error {
        return Err(CliError::store(path, &error));
    }
    let elapsed = started.elapsed();
    let (report, standings) = (verified.report, verified.standings);

    // The checkpoints' signatures: against the keys given, or else the authorities of the ledger as its
    // verification found them (unknown if it does not verify).
    let (policy, against) = match keys.policy() {
        Some(policy) => (Some(policy), CheckedAgainst::Given),
        None if report.is_valid() => {
            let (witnesses, witness_threshold) = (keys.witnesses.clone(), keys.witnesses_required);
            (Some(CheckpointPolicy { witnesses, witness_threshold, ..verified.policy }), CheckedAgainst::Ledger)
        }
        None => (None, CheckedAgainst::Unchecked),
    };
    let mut measured = Vec::with_capacity(notes.len());
    for note in notes {
        let signers = match &policy {
            Some(policy) if ours(&note) => {
                let policy = if note.carried { authorities_only(policy) } else { policy.clone() };
                Some(note.verify(&policy)?)
            }
            _ => None,
        };
        measured.push(Measured { note, signers });
    }

    let failure = report.failure.as_ref().map(|f| {
        json!({
            "height": f.height,
            "tx_index": f.tx_index,
            "reason": f.reason.to_string(),
            "offset": store.location(f.height),
            "message": f.to_string(),
        })
    });
    let head_hash = report.head_hash.map(|h| h.to_string());
    // The worst checkpoint standing, if any checkpoint is not kept.
    let broken = measured.iter().zip(&standings).filter(|(_, s)| !s.is_kept()).max_by_key(|(_, s)| severity(s));
    // Never VALID about a file that goes back on a checkpoint, or that a writer's open would change.
    let (status, code) = match (report.is_valid(), broken, recovery.is_some()) {
        (false, _, _) => ("INVALID", EXIT_INVALID),
        (true, Some((_, standing)), _) => standing_status(standing),
        (true, None, true) => ("INCOMPLETE TAIL", EXIT_INCOMPLETE_TAIL),
        (true, None, false) => ("VALID", EXIT_OK),
    };
    let checked_against = match against {
        CheckedAgainst::Given => json!("given-keys"),
        CheckedAgainst::Ledger => json!("ledger-authorities"),
        CheckedAgainst::Unchecked => Value::Null,
    };
    let checkpoints_json: Vec<Value> = measured
        .iter()
        .zip(&standings)
        .map(|(m, standing)| {
            json!({
                "source": m.note.source,
                "carried": m.note.carried,
                "origin": m.note.checkpoint.origin,
                "size": m.note.checkpoint.size,
                "root": base64_hash(&m.note.checkpoint.root),
                "root_hex": m.note.checkpoint.root.to_hex(),
                "signatures_checked": m.signers.is_some(),
                "authorities": m.signers.as_ref().map(|s| s.authorities),
                "cosignatures": m.signers.as_ref().map(|s| s.cosignatures.iter()
                    .map(|(name, time)| json!({ "name": name, "time": time })).collect::<Vec<_>>()),
                "kept": standing.is_kept(),
                "standing": standing_json(standing),
            })
        })
        .collect();
    let document = json!({
        "path": path.display().to_string(),
        "valid": code == EXIT_OK,
        "status": status.to_lowercase().replace(' ', "-"),
        "blocks": report.blocks,
        "transactions": report.transactions,
        "head_hash": head_hash,
        "tree_size": report.tree_size,
        "tree_root": report.tree_root.to_hex(),
        "failure": failure,
        "recovery": recovery_json(recovery),
        "checkpoints": checkpoints_json,
        "signatures_checked_against": if measured.is_empty() { Value::Null } else { checked_against },
        "file_bytes": file_bytes,
        "verified_bytes": store.size(),
        "elapsed_ms": millis(elapsed),
    });

    let mut text = String::new();
    let _ = writeln!(text, "ledger        {} ({} bytes)", path.display(), group(file_bytes));
    let _ = writeln!(text, "status        {status}");
    if let Some(f) = &report.failure {
        let at = store.location(f.height).map(|o| format!(" (block at byte {})", group(o))).unwrap_or_default();
        let _ = writeln!(text, "first failure {f}{at}");
        let _ = writeln!(
            text,
            "verified      {} blocks before it ({} transactions)",
            report.blocks,
            group(report.transactions)
        );
    } else {
        let _ =
            writeln!(text, "blocks        {} (head height {})", group(report.blocks), report.blocks.saturating_sub(1));
        let _ = writeln!(text, "transactions  {}", group(report.transactions));
    }
    let _ = writeln!(text, "head hash     {}", head_hash.as_deref().unwrap_or("-"));
    let _ = writeln!(text, "tree size     {}", group(report.tree_size));
    let _ = writeln!(text, "tree root     {}", report.tree_root);
    if let Some(line) = recovery_text(recovery) {
        let _ = writeln!(text, "recovery      {line}");
    }
    for (m, standing) in measured.iter().zip(&standings) {
        let carried = if m.note.carried { ", carried by the ledger" } else { "" };
        let signed = match (&m.signers, against) {
            (Some(s), _) => signers_text(s, against == CheckedAgainst::Ledger),
            (None, _) if !ours(&m.note) => "signatures not checked: of another ledger".to_owned(),
            (None, _) => {
                "signatures not checked: the ledger does not verify, so its authorities are unknown".to_owned()
            }
        };
        let _ = writeln!(
            text,
            "checkpoint    {} (tree size {}{carried}; {signed})",
            m.note.source,
            group(m.note.checkpoint.size)
        );
        let (word, _) = standing_status(standing);
        let word = if standing.is_kept() { "kept".to_owned() } else { word.to_owned() };
        let _ = writeln!(text, "              {word}: {}", standing_text(standing));
    }
    if against == CheckedAgainst::Ledger {
        let _ = writeln!(
            text,
            "keys          signatures checked against the ledger's own authorities (no --authority-key given)"
        );
    }
    let _ =
        writeln!(text, "elapsed       {} ({:.0} transactions/s)", seconds(elapsed), rate(report.transactions, elapsed));

    let stderr = (match (&report.failure, broken, recovery) {
        (Some(f), _, _) => {
            let at = store.location(f.height).map(|o| format!(" (block at byte {o})")).unwrap_or_default();
            Some(format!("{}: ledger does not verify: {f}{at}", path.display()))
        }
        (None, Some((m, standing)), _) => Some(
            broken_checkpoint(&format!("{} against checkpoint {}", path.display(), m.note.source), standing, "")
                .message,
        ),
        (None, None, Some(r)) => Some(format!(
            "{}: the {} complete blocks verify, but the file ends with an incomplete final frame at byte {} \
             that opening it for writing would cut",
            path.display(),
            report.blocks,
            r.offset
        )),
        (None, None, None) => None,
    })
    .map(|message| format!("error: {message}"));
    Ok(Output { code, json: document, text, stderr })
}

/// Who signed a checkpoint, in words: `signed by 1 authority, cosigned by w1 at …`.
fn signers_text(signers: &VerifiedCheckpoint, own: bool) -> String {
    let n = signers.authorities;
    let mut text = match (own, n) {
        (true, 1) => "signed by an authority of the ledger".to_owned(),
        (true, _) => format!("signed by {n} authorities of the ledger"),
        (false, 1) => "signed by 1 authority key given".to_owned(),
        (false, _) => format!("signed by {n} authority keys given"),
    };
    if !signers.cosignatures.is_empty() {
        let names: Vec<String> = signers
            .cosignatures
            .iter()
            .map(|(name, time)| format!("{name} at {}", iso8601(time.saturating_mul(1000))))
            .collect();
        text.push_str(&format!(", cosigned by {}", names.join(", ")));
    }
    text
}

/// `healthchain info PATH`.
pub fn info(path: &Path, json: bool) -> Result<Output, CliError> {
    with_opened!(open_ledger(path, json)?, |ledger| info_of(&ledger, path))
}

/// `healthchain info` of the opened ledger file at `path`.
fn info_of<S: OnFile>(ledger: &Ledger<S>, path: &Path) -> Result<Output, CliError> {
    let state = ledger.state();
    let params = state.params().ok_or_else(|| CliError::internal("replayed ledger has no genesis parameters"))?;
    let head = ledger.head().ok_or_else(|| CliError::internal("replayed ledger has no head"))?;
    let head_hash = head.hash();
    let actors = state.latest().actors();
    let mut per_role: Vec<(Role, u64, u64)> = Role::ALL.iter().map(|r| (*r, 0, 0)).collect();
    for actor in &actors {
        if let Some(entry) = per_role.iter_mut().find(|(role, _, _)| *role == actor.role) {
            entry.1 += 1;
            entry.2 += u64::from(actor.deactivated.is_some());
        }
    }
    let authorities: Vec<&Actor> = actors.iter().filter(|a| a.role == Role::Authority).collect();
    let recovery = ledger.store().file().recovery();
    let blocks = ledger.block_count();
    let tree = ledger.tree();

    let document = json!({
        "path": path.display().to_string(),
        "file_bytes": file_size(path)?,
        "chain_id": ledger.chain().to_string(),
        "name": params.name,
        "blocks": blocks,
        "head_height": head.height,
        "head_hash": head_hash.to_string(),
        "head_time": iso8601(head.timestamp),
        "head_time_ms": head.timestamp,
        "transactions": tree.size(),
        "tree_size": tree.size(),
        "tree_root": tree.root().to_hex(),
        "seal_threshold": params.seal_threshold,
        "policy": {
            "break_glass_allowed": params.policy.break_glass_allowed,
            "max_clock_skew_ms": params.policy.max_clock_skew_ms,
        },
        "authorities": authorities.iter().map(|a| json!({
            "id": a.id.to_string(),
            "active": a.deactivated.is_none(),
            "keys": a.keys.len(),
            "registered_height": a.registered().map(|s| s.height),
        })).collect::<Vec<_>>(),
        "actors": per_role.iter().map(|(role, n, _)| (role.name().to_owned(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "deactivated_actors": per_role.iter().map(|(_, _, d)| d).sum::<u64>(),
        "recovery": recovery_json(recovery),
    });

    let mut text = String::new();
    let _ = writeln!(text, "ledger        {} ({} bytes)", path.display(), group(file_size(path)?));
    let _ = writeln!(text, "chain id      {}", ledger.chain());
    let _ = writeln!(text, "name          {}", params.name);
    let _ = writeln!(text, "blocks        {} (head height {})", group(blocks), head.height);
    let _ = writeln!(text, "head block    {} sealed {}", head_hash, iso8601(head.timestamp));
    let _ = writeln!(text, "transactions  {}", group(tree.size()));
    let _ = writeln!(text, "tree          size {}, root {}", group(tree.size()), tree.root());
    let active = authorities.iter().filter(|a| a.deactivated.is_none()).count();
    let _ = writeln!(text, "seal          {} of {} active authorities per block", params.seal_threshold, active);
    let _ = writeln!(
        text,
        "policy        break-glass {}; max clock skew {} s",
        if params.policy.break_glass_allowed { "allowed" } else { "not allowed" },
        params.policy.max_clock_skew_ms / 1000
    );
    for (i, a) in authorities.iter().enumerate() {
        let label = if i == 0 { "authorities" } else { "" };
        let status = if a.deactivated.is_some() { "deactivated" } else { "active" };
        let keys = a.keys.len();
        let _ = writeln!(text, "{label:<13} {}  {status} ({keys} key{})", a.id, if keys == 1 { "" } else { "s" });
    }
    let roles: Vec<String> = per_role
        .iter()
        .filter(|(_, n, _)| *n > 0)
        .map(|(role, n, d)| {
            let gone = if *d > 0 { format!(" ({d} deactivated)") } else { String::new() };
            format!("{}{gone}", counted(*n, *role))
        })
        .collect();
    let _ = writeln!(text, "actors        {}", roles.join(", "));
    if let Some(line) = recovery_text(recovery) {
        let _ = writeln!(text, "recovery      {line}");
    }
    Ok(Output { code: EXIT_OK, json: document, text, stderr: None })
}

/// `healthchain access-report PATH PATIENT_ID`.
pub fn access_report(args: &AccessReportArgs, json: bool) -> Result<Output, CliError> {
    // The id's form is checked before a possibly long replay.
    let query = IdQuery::parse(&args.patient_id, "patient id")?;
    match &args.receipts {
        // Receipts need the checkpoints the ledger carries, and its stored tree hashes: the core's open.
        Some(dir) => report(&open_file_ledger(&args.path, false)?, args, &query, Some(dir)),
        None => with_opened!(open_ledger(&args.path, json)?, |ledger| report(&ledger, args, &query, None)),
    }
}

/// The access report of the patient `query` names, with receipts written to `receipts`.
fn report<S: Store>(
    ledger: &Ledger<S>,
    args: &AccessReportArgs,
    query: &IdQuery,
    receipts: Option<&Path>,
) -> Result<Output, CliError> {
    let actor = query.resolve(ledger.state(), &args.path)?;
    let patient = actor.id;
    if actor.role != Role::Patient {
        return Err(CliError::usage(
            "not-a-patient",
            format!("actor {patient} is a{} {}, not a patient", article(actor.role), actor.role.name()),
        ));
    }
    let full = args.full_ids;
    let history = ledger.access_history(&patient).map_err(|e| crate::prove::history_damaged(&args.path, &e))?;
    let erased = ledger.state().latest().erased(&patient);
    let written = match receipts {
        Some(dir) => {
            let ids: Vec<AccessId> = history.iter().map(|entry| entry.id).collect();
            Some(write_receipts(ledger, &args.path, &ids, dir)?)
        }
        None => None,
    };

    let mut entries = Vec::with_capacity(history.len());
    let mut lines = Vec::with_capacity(history.len());
    let (mut break_glass, mut justified, mut unjustified, mut pending) = (0u64, 0u64, 0u64, 0u64);
    for entry in &history {
        let role = ledger.actor(&entry.accessor).map_or("unknown", |a| a.role.name());
        let access = &entry.access;
        let (basis_json, basis_text) = match &access.basis {
            AccessBasis::Owner => (json!({ "kind": "owner" }), "owner (the patient)".to_owned()),
            AccessBasis::Delegate(id) => (
                json!({ "kind": "delegation", "delegation": id.to_string() }),
                format!("delegation {}", short(&id.to_string(), full)),
            ),
            AccessBasis::Consents(ids) => (
                json!({ "kind": "consents", "consents": ids.iter().map(ToString::to_string).collect::<Vec<_>>() }),
                format!(
                    "consent{} {}",
                    if ids.len() == 1 { "" } else { "s" },
                    ids.iter().map(|i| short(&i.to_string(), full).to_owned()).collect::<Vec<_>>().join(",")
                ),
            ),
            AccessBasis::BreakGlass { reason, justification } => {
                break_glass += 1;
                let (review_json, review_text) = match &entry.review {
                    Some(review) => {
                        if review.justified {
                            justified += 1;
                        } else {
                            unjustified += 1;
                        }
                        let verdict = if review.justified { "justified" } else { "not-justified" };
                        (
                            json!({
                                "status": verdict,
                                "reviewer": review.reviewer.to_string(),
                                "time": iso8601(review.reviewed.time),
                                "time_ms": review.reviewed.time,
                                "height": review.reviewed.height,
                            }),
                            format!(
                                "reviewed {} by {} on {}",
                                if review.justified { "justified" } else { "NOT JUSTIFIED" },
                                short(&review.reviewer.to_string(), full),
                                iso8601(review.reviewed.time)
                            ),
                        )
                    }
                    None => {
                        pending += 1;
                        (json!({ "status": "pending" }), "review PENDING".to_owned())
                    }
                };
                (
                    json!({
                        "kind": "break-glass",
                        "reason": reason.as_str(),
                        "justification_commitment": justification.to_hex(),
                        "review": review_json,
                    }),
                    format!("BREAK-GLASS ({reason}), {review_text}"),
                )
            }
        };
        entries.push(json!({
            "access_id": entry.id.to_string(),
            "time": iso8601(access.at),
            "time_ms": access.at,
            "accessor": entry.accessor.to_string(),
            "accessor_role": role,
            "action": access.action.name(),
            "section": access.section.as_str(),
            "purpose": access.purpose.as_str(),
            "basis": basis_json,
            "recorded_height": entry.recorded.height,
            "receipt": written.as_ref().and_then(|w| w.file_of(&entry.id)).map(|p| p.display().to_string()),
        }));
        lines.push([
            iso8601(access.at),
            short(&entry.accessor.to_string(), full).to_owned(),
            role.to_owned(),
            access.action.name().to_owned(),
            access.section.as_str().to_owned(),
            access.purpose.as_str().to_owned(),
            basis_text,
        ]);
    }

    let registered = actor.registered();
    let document = json!({
        "path": args.path.display().to_string(),
        "patient": patient.to_string(),
        "registered_height": registered.map(|s| s.height),
        "registered_time": registered.map(|s| iso8601(s.time)),
        "deactivated": actor.deactivated.is_some(),
        "erased": erased.is_some(),
        "accesses": entries.len(),
        "break_glass": { "total": break_glass, "justified": justified, "not_justified": unjustified, "pending": pending },
        "entries": entries,
        "receipts": written.as_ref().map(|w| json!({
            "dir": w.dir.display().to_string(),
            "checkpoint_size": w.checkpoint_size,
            "written": w.files.len(),
            "missing": w.missing.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })),
    });

    let mut text = String::new();
    let _ = writeln!(
        text,
        "access report for patient {}{}{}",
        patient,
        registered.map(|s| format!(" (registered {}, block {})", iso8601(s.time), s.height)).unwrap_or_default(),
        if erased.is_some() { ", ERASED" } else { "" }
    );
    let _ = writeln!(
        text,
        "{} access{}; {} break-glass ({} justified, {} not justified, {} pending review)",
        group(history.len() as u64),
        if history.len() == 1 { "" } else { "es" },
        break_glass,
        justified,
        unjustified,
        pending
    );
    let mut stderr = None;
    if let Some(w) = &written {
        let against = w.checkpoint_size.map(|size| format!(" (against the checkpoint of tree size {})", group(size)));
        let _ = writeln!(
            text,
            "{} receipt{} written to {}{}",
            group(w.files.len() as u64),
            if w.files.len() == 1 { "" } else { "s" },
            w.dir.display(),
            against.unwrap_or_default()
        );
        if !w.missing.is_empty() {
            let message = format!(
                "{} access{} sealed after the newest carried checkpoint have no receipt yet: publish a newer one \
                 with `healthchain checkpoint create`",
                w.missing.len(),
                if w.missing.len() == 1 { "" } else { "es" }
            );
            let _ = writeln!(text, "{message}");
            stderr = Some(format!("warning: {message}"));
        }
    }
    if !lines.is_empty() {
        text.push('\n');
        text.push_str(&table(["time (UTC)", "accessor", "role", "action", "section", "purpose", "basis"], &lines));
    }
    Ok(Output { code: EXIT_OK, json: document, text, stderr })
}

/// `a` or `an` before a role's name.
fn article(role: Role) -> &'static str {
    match role {
        Role::Insurer | Role::Auditor | Role::Authority => "n",
        _ => "",
    }
}
