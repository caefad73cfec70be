//! FHIR and the HIPAA accounting from C (docs/FHIR.md): FHIR JSON in, FHIR JSON (and CSV, HTML) out in
//! caller buffers. References resolve through a directory the caller passes as a JSON object text, from
//! FHIR references to actor ids (64 hex digits) or roles (`"role:provider"`, …); names, likewise, from actor
//! ids to names.

use crate::boundary::{Failure, FfiResult, OutArray, OutBuffer, arg, flag, run, slice, text};
use crate::keys::hc_key;
use crate::ledger::{hc_ledger, read_ledger, write_ledger};
use crate::status::{
    HC_FHIR_INVALID, HC_FHIR_SYNTAX, HC_FHIR_TOO_LARGE, HC_FHIR_UNRESOLVED, HC_FHIR_UNSUPPORTED, HC_UNMAPPED_ERROR,
};
use crate::values::{hc_actor_id, hc_consent_id};
use healthchain::accounting::{AccountingOptions, accounting, csv, html, json};
use healthchain::fhir::audit::{AuditQuery, ExportError, Layout, write_events};
use healthchain::fhir::consent::{ImportError, ImportOptions, export, prepare};
use healthchain::fhir::{FhirError, FhirVersion};
use healthchain::{ActorId, ConsentId, Grantee, Role};
use std::collections::BTreeMap;
use std::ffi::c_char;

/// The longest directory or names text accepted, in bytes.
pub const HC_MAX_DIRECTORY_LEN: usize = 1 << 20;

impl From<FhirError> for Failure {
    fn from(error: FhirError) -> Self {
        let code = match error {
            FhirError::TooLarge { .. } => HC_FHIR_TOO_LARGE,
            FhirError::Syntax { .. } => HC_FHIR_SYNTAX,
            FhirError::Invalid { .. } => HC_FHIR_INVALID,
            FhirError::Unresolved { .. } => HC_FHIR_UNRESOLVED,
            FhirError::Unsupported { .. } => HC_FHIR_UNSUPPORTED,
            _ => HC_UNMAPPED_ERROR,
        };
        Failure::new(code, error.to_string())
    }
}

/// FHIR R4 (`4`) or R5 (`5`).
fn fhir_release(value: u32) -> FfiResult<FhirVersion> {
    match value {
        4 => Ok(FhirVersion::R4),
        5 => Ok(FhirVersion::R5),
        other => Err(Failure::invalid(format!("`release` must be 4 or 5, not {other}"))),
    }
}

/// A JSON object of strings.
fn object(text: &str, name: &str) -> FfiResult<BTreeMap<String, String>> {
    serde_json::from_str(text).map_err(|_| Failure::invalid(format!("`{name}` is not a JSON object of strings")))
}

fn actor_id(hex: &str, name: &str) -> FfiResult<ActorId> {
    ActorId::from_hex(hex)
        .ok_or_else(|| Failure::invalid(format!("`{name}` holds a value that is not an actor id (64 hex digits)")))
}

/// The directory: FHIR references to actors or roles.
fn parse_directory(text: &str) -> FfiResult<BTreeMap<String, Grantee>> {
    let mut map = BTreeMap::new();
    for (reference, value) in object(text, "directory")? {
        let grantee = match value.strip_prefix("role:") {
            Some(name) => Grantee::Role(
                Role::from_name(name).ok_or_else(|| Failure::invalid("`directory` names an unknown role"))?,
            ),
            None => Grantee::Actor(actor_id(&value, "directory")?),
        };
        map.insert(reference, grantee);
    }
    Ok(map)
}

/// Names: actor ids to names.
fn parse_names(text: &str) -> FfiResult<BTreeMap<ActorId, String>> {
    object(text, "names")?.into_iter().map(|(id, name)| Ok((actor_id(&id, "names")?, name))).collect()
}

/// Imports a FHIR Consent (`json`, `json_len` bytes of R4 or R5 JSON, `release` 4 or 5) as the ledger's
/// rules, signed by `signer` (the patient, or a delegate with manage scope), in place of the consents of
/// `replaces` (`replace_count` ids: the rules of the Consent's earlier import, revoked first; NULL and 0 for
/// a first import), all or none, queued for the next block (seal it with `hc_ledger_seal`). A Consent no
/// longer in force (inactive, rejected, not-done, entered-in-error) grants nothing, so it ends the rules it
/// replaces. `out_ids` (room for `ids_len`) receives the rules' consent ids and `*out_rules` their number (0
/// for a consent that permits nothing the ledger's default does not). `directory` is a JSON object from
/// FHIR references to actor ids (64 hex digits) or roles (`{"Patient/jane": "32cd…", "Group/insurers":
/// "role:insurer"}`). Nothing is queued on any error.
///
/// Errors: `HC_BUFFER_TOO_SMALL` (`*out_rules` the number of rules: ask with `out_ids` NULL and `ids_len`
/// 0); `HC_FHIR_TOO_LARGE`, `HC_FHIR_SYNTAX`, `HC_FHIR_INVALID`, `HC_FHIR_UNRESOLVED`, `HC_FHIR_UNSUPPORTED`
/// (the element at fault in `hc_last_error_message`); `HC_INVALID_ARGUMENT` (a consent of `replaces` that
/// is another patient's); the refusal of the first change the ledger would refuse (`HC_UNKNOWN_CONSENT`,
/// `HC_CONSENT_ALREADY_REVOKED` for `replaces`; `HC_ALREADY_HAS_ACCESS`, `HC_UNKNOWN_GRANTEE`,
/// `HC_UNAUTHORIZED`, … for the rules); `HC_BLOCK_FULL`; `HC_READ_ONLY`; `HC_TOO_LONG` (a directory over
/// `HC_MAX_DIRECTORY_LEN` bytes).
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `signer` NULL or a live `hc_key`; `json` NULL or valid for
/// `json_len` bytes; `directory` NULL or a NUL-terminated string; `replaces` NULL or valid for
/// `replace_count` ids; `out_ids` NULL or valid for writes of `ids_len` ids; `out_rules` NULL or writable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // the C convention: each array with its length
pub unsafe extern "C" fn hc_ledger_fhir_import(
    ledger: *mut hc_ledger,
    signer: *const hc_key,
    json: *const u8,
    json_len: usize,
    release: u32,
    directory: *const c_char,
    replaces: *const hc_consent_id,
    replace_count: usize,
    out_ids: *mut hc_consent_id,
    ids_len: usize,
    out_rules: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, signer, bytes, directory_text, replaces, out) = unsafe {
            (
                arg(ledger.cast_const(), "ledger")?,
                arg(signer, "signer")?,
                slice(json, json_len, "json")?,
                text(directory, HC_MAX_DIRECTORY_LEN, "directory")?,
                slice(replaces, replace_count, "replaces")?,
                OutArray::new(out_ids, ids_len, "out_ids", out_rules, "out_rules")?,
            )
        };
        let (version, directory) = (fhir_release(release)?, parse_directory(directory_text)?);
        let replaces: Vec<ConsentId> = replaces.iter().map(|&id| id.into()).collect();
        let key = signer.get()?;
        let granted = write_ledger!(ledger, |l| {
            let options = ImportOptions::default();
            let rules = prepare(&l.state().latest(), &replaces, bytes, version, &directory, &options)
                .map_err(import_failure)?
                .rules;
            let out = out.room_for(rules.len())?;
            let granted = l.replace_consents(key, &replaces, rules)?;
            Ok((out, granted))
        });
        let (out, granted) = granted?;
        out.fill(granted.iter().map(|g| hc_consent_id::from(g.consent)))
    })
}

/// The C status of an import's refusal.
fn import_failure(error: ImportError) -> Failure {
    match error {
        ImportError::Fhir(e) => Failure::from(e),
        ImportError::Ledger(e) => Failure::from(e),
        other @ ImportError::OtherPatient { .. } => Failure::invalid(other.to_string()),
        other => Failure::new(HC_UNMAPPED_ERROR, other.to_string()),
    }
}

/// Copies `*patient`'s rules as of sealed block `height` as one FHIR Consent (`release` 4 or 5) into `buf`:
/// NUL-terminated JSON, with the consent ids as identifiers and the chain and height in `meta.source`.
/// `directory` as for `hc_ledger_fhir_import` names the patient and every grantee.
///
/// Errors: `HC_BUFFER_TOO_SMALL`, `HC_HEIGHT_BEYOND_HEAD`, `HC_FHIR_UNRESOLVED` (a party the directory does
/// not name), `HC_FHIR_UNSUPPORTED` (an instant beyond year 9999).
///
/// # Safety
/// `ledger` NULL or a live `hc_ledger`; `patient` NULL or readable; `directory` NULL or a NUL-terminated
/// string; `buf`, `len`, `out_len` as for `hc_authority_verifier_key`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_fhir_export(
    ledger: *const hc_ledger,
    patient: *const hc_actor_id,
    height: u64,
    release: u32,
    directory: *const c_char,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, patient, directory_text, out) = unsafe {
            (
                arg(ledger, "ledger")?,
                arg(patient, "patient")?,
                text(directory, HC_MAX_DIRECTORY_LEN, "directory")?,
                OutBuffer::new(buf.cast(), len, out_len)?,
            )
        };
        let (version, directory) = (fhir_release(release)?, parse_directory(directory_text)?);
        let patient = ActorId::from(*patient);
        let resource = read_ledger!(ledger, |l| {
            let view = l.view_as_of(height)?;
            Ok(export(&view, &patient, version, &directory)?)
        })?;
        out.fill_text(&resource)
    })
}

/// Copies the AuditEvents (`release` 4 or 5) recorded in sealed blocks at instants in `[from, until)`
/// (`until` `UINT64_MAX`: no end) into `buf` (NUL-terminated): of `*patient`, or of every patient with
/// `every_patient` 1; a Bundle of type collection, or with `ndjson` 1 one event per line. `directory` as for
/// `hc_ledger_fhir_import` (`"{}"`: none); parties it does not name are written by their ids.
///
/// Errors: `HC_BUFFER_TOO_SMALL`, `HC_HISTORY_DAMAGED`, `HC_IO`.
///
/// # Safety
/// `ledger` NULL or a live `hc_ledger`; `patient` NULL or readable; `directory` NULL or a NUL-terminated
/// string; `buf`, `len`, `out_len` as for `hc_authority_verifier_key`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_audit_events(
    ledger: *const hc_ledger,
    patient: *const hc_actor_id,
    every_patient: u32,
    from: u64,
    until: u64,
    release: u32,
    ndjson_lines: u32,
    directory: *const c_char,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, patient, directory_text, out) = unsafe {
            (
                arg(ledger, "ledger")?,
                arg(patient, "patient")?,
                text(directory, HC_MAX_DIRECTORY_LEN, "directory")?,
                OutBuffer::new(buf.cast(), len, out_len)?,
            )
        };
        let every = flag(every_patient, "every_patient")?;
        let (version, lines) = (fhir_release(release)?, flag(ndjson_lines, "ndjson_lines")?);
        let directory = parse_directory(directory_text)?;
        let patient = (!every).then(|| ActorId::from(*patient));
        let query = AuditQuery { patient, from, until: (until != u64::MAX).then_some(until) };
        let layout = if lines { Layout::Ndjson } else { Layout::Bundle };
        let mut text = Vec::new();
        read_ledger!(ledger, |l| {
            write_events(l, &query, version, &directory, layout, &mut text).map_err(|error| match error {
                ExportError::Ledger(e) => Failure::from(e),
                other => Failure::new(HC_UNMAPPED_ERROR, other.to_string()),
            })
        })?;
        text.push(0);
        out.fill(&text)
    })
}

/// The accounting's formats.
const FORMAT_JSON: u32 = 0;
const FORMAT_CSV: u32 = 1;
const FORMAT_HTML: u32 = 2;

/// Copies `*patient`'s HIPAA accounting of disclosures into `buf` (NUL-terminated) as JSON (`format` 0),
/// CSV (1) or a printable HTML page (2): accesses in `[from, until)`, or with `from` and `until` both 0 the
/// six years before the ledger's now; the §164.528(a)(1) exclusions listed apart with their reason. `names`
/// is a JSON object from actor ids to names (`"{}"`: none); `checkpoint` a signed checkpoint note of the
/// ledger (`""`: none), whose receipts the JSON then carries.
///
/// Errors: `HC_BUFFER_TOO_SMALL`, `HC_MALFORMED_NOTE`, `HC_MALFORMED_CHECKPOINT`, `HC_HISTORY_DAMAGED`, `HC_IO`.
///
/// # Safety
/// `ledger` NULL or a live `hc_ledger`; `patient` NULL or readable; `names` and `checkpoint` NULL or
/// NUL-terminated strings; `buf`, `len`, `out_len` as for `hc_authority_verifier_key`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_disclosures(
    ledger: *const hc_ledger,
    patient: *const hc_actor_id,
    from: u64,
    until: u64,
    format: u32,
    names: *const c_char,
    checkpoint: *const c_char,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, patient, names_text, note, out) = unsafe {
            (
                arg(ledger, "ledger")?,
                arg(patient, "patient")?,
                text(names, HC_MAX_DIRECTORY_LEN, "names")?,
                text(checkpoint, crate::checkpoints::HC_MAX_NOTE_LEN, "checkpoint")?,
                OutBuffer::new(buf.cast(), len, out_len)?,
            )
        };
        if format > FORMAT_HTML {
            return Err(Failure::invalid(format!("`format` must be 0, 1 or 2, not {format}")));
        }
        let names = parse_names(names_text)?;
        let note = (!note.is_empty()).then_some(note);
        let range = (from != 0 || until != 0).then_some((from, until));
        let patient = ActorId::from(*patient);
        let text = read_ledger!(ledger, |l| {
            let report = accounting(l, &patient, range, &names, &AccountingOptions::default(), note)?;
            Ok(match format {
                FORMAT_JSON => json(&report),
                FORMAT_CSV => csv(&report),
                _ => html(&report),
            })
        })?;
        out.fill_text(&text)
    })
}
