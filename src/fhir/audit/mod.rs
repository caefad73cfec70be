//! FHIR AuditEvent out (issue 12; docs/FHIR.md, "AuditEvent"): the ledger's recorded accesses, break-glass
//! accesses and their reviews, consent grants and revocations, as R4 or R5 AuditEvents following IHE Basic
//! Audit Log Patterns where they apply, one event per patient (as BALP recommends), in a `Bundle`
//! (`collection`) or as NDJSON.
//!
//! Only sealed transactions are reported (nothing an open could change), each event's `id` its
//! transaction's id, so that a SIEM that receives an event twice keeps one.

mod event;

use crate::fhir::FhirVersion;
use crate::fhir::consent::Directory;
use crate::hash::to_hex;
use crate::ids::{AccessId, ActorId, ConsentId, TxId};
use crate::ledger::{Ledger, LedgerError};
use crate::state::{Access, Consent, Stamp};
use crate::store::Store;
use crate::tx::Payload;
use serde_json::{Value, json};

/// Which events: of one patient or of all, recorded in `[from, until)` (ms; the recording transaction's
/// time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditQuery {
    /// One patient's events, or every patient's.
    pub patient: Option<ActorId>,
    /// First instant included.
    pub from: u64,
    /// First instant excluded (`None`: no end).
    pub until: Option<u64>,
}

impl AuditQuery {
    /// Every event of `patient`.
    pub fn patient(patient: ActorId) -> Self {
        Self { patient: Some(patient), from: 0, until: None }
    }

    /// Every event of every patient recorded in `[from, until)`.
    pub fn between(from: u64, until: Option<u64>) -> Self {
        Self { patient: None, from, until }
    }

    fn includes(&self, stamp: &Stamp) -> bool {
        stamp.time >= self.from && self.until.is_none_or(|end| stamp.time < end)
    }
}

/// One thing the ledger recorded about a patient.
enum Event<'a> {
    /// A recorded access (break-glass or not).
    Access(&'a Access),
    /// The review of a break-glass access.
    Review(&'a Access),
    /// A consent rule granted.
    Grant(&'a Consent),
    /// A consent rule revoked, by `signer`.
    Revoke(&'a Consent, ActorId),
}

/// How a written export lays its events out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One `Bundle` of type `collection` ([`bundle`]), compact JSON.
    Bundle,
    /// NDJSON: one event per line ([`ndjson`]).
    Ndjson,
}

/// Why a written export stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The ledger or its access history could not be read.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The output refused a write.
    #[error("writing the export: {0}")]
    Write(#[from] std::io::Error),
}

/// The AuditEvents `query` selects, in the order they were recorded (block, then time, then id), as JSON
/// values of `version`. References to the patient and the actors come from `directory`
/// ([`Directory::reference`]); an actor it does not name is written by its pseudonymous id
/// (`identifier`, system `urn:healthchain:actor`). Every event is held in memory: for a large range,
/// [`write_events`] streams them instead.
pub fn audit_events<S: Store>(
    ledger: &Ledger<S>,
    query: &AuditQuery,
    version: FhirVersion,
    directory: &dyn Directory,
) -> Result<Vec<Value>, LedgerError> {
    let mut events = Vec::new();
    each_event(ledger, query, version, directory, &mut |event| {
        events.push(event);
        Ok::<(), LedgerError>(())
    })?;
    Ok(events)
}

/// Writes the events [`audit_events`] gives to `out`, as a compact `Bundle` or as NDJSON, holding at most one
/// block's events in memory (one patient's, for a patient's query), so that an export of any range runs in
/// bounded memory. Returns how many were written.
pub fn write_events<S: Store>(
    ledger: &Ledger<S>,
    query: &AuditQuery,
    version: FhirVersion,
    directory: &dyn Directory,
    layout: Layout,
    out: &mut dyn std::io::Write,
) -> Result<u64, ExportError> {
    let mut count = 0u64;
    if layout == Layout::Bundle {
        out.write_all(br#"{"resourceType":"Bundle","type":"collection","entry":["#)?;
    }
    each_event(ledger, query, version, directory, &mut |event| {
        match layout {
            Layout::Bundle => {
                if count > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, &bundle_entry(event)).map_err(std::io::Error::from)?;
            }
            Layout::Ndjson => {
                serde_json::to_writer(&mut *out, &event).map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
            }
        }
        count += 1;
        Ok::<(), ExportError>(())
    })?;
    if layout == Layout::Bundle {
        out.write_all(b"]}")?;
    }
    out.flush()?;
    Ok(count)
}

/// Hands each event `query` selects to `emit`, in order. One patient's events come from the state and its
/// access history; a time range over every patient reads only the sealed blocks that can hold transactions
/// of that range (found by bisection on block timestamps: DESIGN.md, transaction time), one block at a
/// time, so that a daily export does not grow with the ledger.
fn each_event<S: Store, E: From<LedgerError>>(
    ledger: &Ledger<S>,
    query: &AuditQuery,
    version: FhirVersion,
    directory: &dyn Directory,
    emit: &mut dyn FnMut(Value) -> Result<(), E>,
) -> Result<(), E> {
    let writer = event::Writer { version, directory, chain: to_hex(ledger.chain().as_bytes()) };
    let mut emit_sorted = |mut events: Vec<(Stamp, Value)>| {
        events.sort_by_key(|(a, _)| (a.height, a.time, a.tx));
        events.into_iter().try_for_each(|(_, event)| emit(event))
    };
    match query.patient {
        Some(patient) => emit_sorted(of_patient(ledger, &patient, query, &writer)?),
        None => in_range(ledger, query, &writer, &mut emit_sorted),
    }
}

/// `patient`'s sealed events that `query` selects, from the state and the access history.
fn of_patient<S: Store>(
    ledger: &Ledger<S>,
    patient: &ActorId,
    query: &AuditQuery,
    writer: &event::Writer<'_>,
) -> Result<Vec<(Stamp, Value)>, LedgerError> {
    let sealed = ledger.block_count();
    let visible = |stamp: &Stamp| stamp.height < sealed && query.includes(stamp);
    let accesses = ledger.access_history(patient)?;
    let consents = ledger.consents_of(patient);
    let mut found: Vec<(Stamp, Event<'_>)> = Vec::new();
    for access in &accesses {
        found.push((access.recorded, Event::Access(access)));
        if let Some(review) = &access.review {
            found.push((review.reviewed, Event::Review(access)));
        }
    }
    for consent in &consents {
        found.push((consent.granted, Event::Grant(consent)));
        if let Some(revoked) = consent.revoked.filter(|r| visible(r)) {
            found.push((revoked, Event::Revoke(consent, revoker(ledger, &revoked.tx)?)));
        }
    }
    Ok(found
        .into_iter()
        .filter(|(stamp, _)| visible(stamp))
        .map(|(stamp, event)| (stamp, writer.event(patient, &stamp, &event)))
        .collect())
}

/// Every patient's sealed events that `query` selects, handed to `emit` block by block, from the blocks
/// that can hold them: a transaction of block `h` has `timestamp(h − 1) < time ≤ timestamp(h)`, so the
/// first such block is the first whose timestamp is at least `from`, and none comes after a block whose
/// timestamp is at least `until`.
fn in_range<S: Store, E: From<LedgerError>>(
    ledger: &Ledger<S>,
    query: &AuditQuery,
    writer: &event::Writer<'_>,
    emit: &mut dyn FnMut(Vec<(Stamp, Value)>) -> Result<(), E>,
) -> Result<(), E> {
    let sealed = ledger.block_count();
    let (mut low, mut high) = (0, sealed);
    while low < high {
        let middle = low + (high - low) / 2;
        if ledger.read_block(middle)?.header.timestamp < query.from {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    let view = ledger.state().latest();
    let consent = |id: &ConsentId| view.consent(id).ok_or(LedgerError::TreeMismatch);
    let access = |id: &AccessId| ledger.access(id)?.ok_or(LedgerError::TreeMismatch);
    for height in low..sealed {
        let block = ledger.read_block(height)?;
        let mut events = Vec::new();
        for tx in &block.txs {
            let stamp = Stamp { height, time: tx.body.time, tx: tx.id() };
            if !query.includes(&stamp) {
                continue;
            }
            let event = match &tx.body.payload {
                Payload::RecordAccess(_) => {
                    let access = access(&stamp.tx)?;
                    writer.event(&access.access.patient, &stamp, &Event::Access(&access))
                }
                Payload::ReviewBreakGlass { access: id, .. } => {
                    let access = access(id)?;
                    writer.event(&access.access.patient, &stamp, &Event::Review(&access))
                }
                Payload::GrantConsent(grant) => {
                    writer.event(&grant.patient, &stamp, &Event::Grant(&consent(&stamp.tx)?))
                }
                Payload::RevokeConsent { consent: id } => {
                    let consent = consent(id)?;
                    writer.event(&consent.grant.patient, &stamp, &Event::Revoke(&consent, tx.body.signer))
                }
                _ => continue,
            };
            events.push((stamp, event));
        }
        emit(events)?;
        if query.until.is_some_and(|until| block.header.timestamp >= until) {
            break;
        }
    }
    Ok(())
}

/// Who signed a sealed revocation.
fn revoker<S: Store>(ledger: &Ledger<S>, tx: &TxId) -> Result<ActorId, LedgerError> {
    let index = ledger.position_of(tx)?.ok_or(LedgerError::NotSealed)?;
    Ok(ledger.transaction_at(index)?.0.body.signer)
}

/// `events` as a FHIR `Bundle` of type `collection`, each entry with a `fullUrl` (`urn:uuid:`, derived from
/// the event's id).
pub fn bundle(events: &[Value]) -> Value {
    let entries: Vec<Value> = events.iter().cloned().map(bundle_entry).collect();
    json!({ "resourceType": "Bundle", "type": "collection", "entry": entries })
}

/// An event as a `Bundle` entry: its `fullUrl` (`urn:uuid:`, derived from its id) and the resource.
fn bundle_entry(event: Value) -> Value {
    let url = format!("urn:uuid:{}", uuid_of(event.get("id").and_then(Value::as_str).unwrap_or_default()));
    json!({ "fullUrl": url, "resource": event })
}

/// `events` as NDJSON: one event per line.
pub fn ndjson(events: &[Value]) -> String {
    events.iter().map(|event| format!("{event}\n")).collect()
}

/// A UUID (version 8, RFC 9562: custom) from the first 16 bytes of a 64-hex-digit id.
fn uuid_of(id: &str) -> String {
    let mut hex: Vec<char> = id.chars().chain(std::iter::repeat('0')).take(32).collect();
    if let Some(version) = hex.get_mut(12) {
        *version = '8';
    }
    if let Some(variant) = hex.get_mut(16) {
        let bits = variant.to_digit(16).unwrap_or(0);
        *variant = std::char::from_digit(0x8 | (bits & 0x3), 16).unwrap_or('8');
    }
    let text: String = hex.into_iter().collect();
    let part = |range: std::ops::Range<usize>| text.get(range).unwrap_or_default().to_owned();
    format!("{}-{}-{}-{}-{}", part(0..8), part(8..12), part(12..16), part(16..20), part(20..32))
}
