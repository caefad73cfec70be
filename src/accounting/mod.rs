//! The HIPAA accounting of disclosures (45 CFR §164.528; issue 12, docs/FHIR.md "Accounting of disclosures"):
//! for a patient and a date range (by default the six years before the request), every access the ledger
//! recorded to the patient's record by someone else, with its date, recipient, description (section and
//! action), purpose and basis (the consents, the delegation, or break-glass with its review). The
//! §164.528(a)(1) exclusions are applied by a configurable list of purposes and by the kind of access, and
//! reported as excluded with the reason, never dropped. Recipient names come from the caller
//! ([`Names`]): the ledger holds none. Rendered as JSON, CSV or a printable HTML page ([`render`]), with the
//! ledger's checkpoint and, when the caller gives a signed checkpoint, a receipt for each line.

mod render;

pub use render::{csv, html, json};

use crate::checkpoint::{Checkpoint, SignedNote};
use crate::codes::{Action, Code};
use crate::fhir::{datetime, purposes};
use crate::ids::{AccessId, ActorId, ChainId};
use crate::ledger::{Ledger, LedgerError};
use crate::state::Review;
use crate::store::Store;
use crate::tx::AccessBasis;
use std::collections::{BTreeMap, HashMap};

/// Names of the parties, from the caller's directory (the ledger holds pseudonymous ids only).
pub trait Names {
    /// The display name of `actor`, if known.
    fn name(&self, actor: &ActorId) -> Option<String>;
}

impl Names for BTreeMap<ActorId, String> {
    fn name(&self, actor: &ActorId) -> Option<String> {
        self.get(actor).cloned()
    }
}

impl<S: std::hash::BuildHasher> Names for HashMap<ActorId, String, S> {
    fn name(&self, actor: &ActorId) -> Option<String> {
        self.get(actor).cloned()
    }
}

/// Which disclosures are excluded from the accounting, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountingOptions {
    /// Purposes of use whose disclosures §164.528(a)(1) excludes, each with the provision; a v3 ActReason
    /// purpose also covers the purposes it subsumes (`TREAT` covers `ETREAT`).
    pub excluded_purposes: Vec<(Code, String)>,
}

impl Default for AccountingOptions {
    /// Treatment (`TREAT`), payment (`HPAYMT`) and health care operations (`HOPERAT`): §164.528(a)(1)(i);
    /// at the patient's request (`PATRQT`): §164.528(a)(1)(iv), pursuant to an authorization.
    fn default() -> Self {
        let list = [
            ("TREAT", "§164.528(a)(1)(i): treatment"),
            ("HPAYMT", "§164.528(a)(1)(i): payment"),
            ("HOPERAT", "§164.528(a)(1)(i): health care operations"),
            ("PATRQT", "§164.528(a)(1)(iv): pursuant to an authorization (the patient's request)"),
        ];
        let excluded_purposes =
            list.iter().filter_map(|(code, why)| Code::new(code).ok().map(|code| (code, (*why).to_owned()))).collect();
        Self { excluded_purposes }
    }
}

impl AccountingOptions {
    /// The exclusion of a disclosure for `purpose`, if any.
    fn excluded(&self, purpose: &Code) -> Option<&str> {
        self.excluded_purposes
            .iter()
            .find(|(code, _)| purposes::with_descendants(code.as_str()).contains(&purpose.as_str()))
            .map(|(_, why)| why.as_str())
    }
}

/// One access to the patient's record by someone else. `Debug` does not show the name.
#[derive(Clone, PartialEq, Eq)]
pub struct Disclosure {
    /// The access (its RecordAccess transaction).
    pub access: AccessId,
    /// When it happened (ms since the epoch).
    pub at: u64,
    /// Who received the data.
    pub recipient: ActorId,
    /// The recipient's name, from [`Names`].
    pub recipient_name: Option<String>,
    /// The section of the record.
    pub section: Code,
    /// Read, or write (not a disclosure: reported as excluded).
    pub action: Action,
    /// The purpose of use.
    pub purpose: Code,
    /// What allowed it: the consents, a delegation, or break-glass.
    pub basis: AccessBasis,
    /// For break-glass: its review, once done.
    pub review: Option<Review>,
    /// Why the accounting excludes it, if it does (§164.528(a)(1), or not a disclosure).
    pub excluded: Option<String>,
    /// Its receipt (text), when the accounting was made with a signed checkpoint that holds it.
    pub receipt: Option<String>,
}

/// An accounting of disclosures. `Debug` shows no name (a patient's name is health data).
#[derive(Clone, PartialEq, Eq)]
pub struct Accounting {
    /// Whose record.
    pub patient: ActorId,
    /// The patient's name, from [`Names`].
    pub patient_name: Option<String>,
    /// First instant covered.
    pub from: u64,
    /// First instant not covered.
    pub until: u64,
    /// The ledger.
    pub chain: ChainId,
    /// The ledger's checkpoint (tree size and root) when the accounting was made.
    pub checkpoint: Checkpoint,
    /// The signed checkpoint the receipts lead to, if one was given.
    pub signed_checkpoint: Option<String>,
    /// Every access to the record by someone else in the range, in ledger order.
    pub disclosures: Vec<Disclosure>,
}

/// How a name shows in `Debug`.
fn hidden(name: &Option<String>) -> &'static str {
    if name.is_some() { "Some(<name>)" } else { "None" }
}

impl std::fmt::Debug for Disclosure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Disclosure")
            .field("access", &self.access)
            .field("at", &self.at)
            .field("recipient", &self.recipient)
            .field("recipient_name", &format_args!("{}", hidden(&self.recipient_name)))
            .field("section", &self.section)
            .field("action", &self.action)
            .field("purpose", &self.purpose)
            .field("basis", &self.basis)
            .field("review", &self.review)
            .field("excluded", &self.excluded)
            .field("receipt", &self.receipt.as_ref().map(|_| "<receipt>"))
            .finish()
    }
}

impl std::fmt::Debug for Accounting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounting")
            .field("patient", &self.patient)
            .field("patient_name", &format_args!("{}", hidden(&self.patient_name)))
            .field("from", &self.from)
            .field("until", &self.until)
            .field("chain", &self.chain)
            .field("checkpoint", &self.checkpoint)
            .field("disclosures", &self.disclosures)
            .finish_non_exhaustive()
    }
}

/// Six years before `now`, by the calendar (29 February gives 28 February), as §164.528(a) asks.
pub fn six_years_before(now: u64) -> u64 {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    const DAY: i64 = 86_400_000;
    let (days, in_day) = (now.div_euclid(DAY), now.rem_euclid(DAY));
    let (year, month, day) = datetime::civil_from_days(days);
    let day = if month == 2 && day == 29 { 28 } else { day };
    let then = datetime::days_from_civil(year - 6, month, day).saturating_mul(DAY).saturating_add(in_day);
    u64::try_from(then).unwrap_or(0)
}

/// The accounting of `patient`'s disclosures recorded in sealed blocks with their instant in `[from, until)`
/// (`None`: the six years before the ledger's now, [`six_years_before`]). With `signed_checkpoint` (a
/// checkpoint note of this ledger, e.g. [`Ledger::sign_checkpoint`]), each disclosure it holds carries its
/// receipt ([`Ledger::receipt`]).
pub fn accounting<S: Store>(
    ledger: &Ledger<S>,
    patient: &ActorId,
    range: Option<(u64, u64)>,
    names: &dyn Names,
    options: &AccountingOptions,
    signed_checkpoint: Option<&str>,
) -> Result<Accounting, LedgerError> {
    let (from, until) = range.unwrap_or_else(|| {
        let now = ledger.now();
        (six_years_before(now), now.saturating_add(1))
    });
    let sealed = ledger.block_count();
    // The tree size the signed checkpoint names: the disclosures it holds get a receipt.
    let held = match signed_checkpoint {
        Some(note) => Some(Checkpoint::parse_text(&SignedNote::parse(note.as_bytes())?.text)?.size),
        None => None,
    };
    let mut disclosures = Vec::new();
    for access in ledger.access_history(patient)? {
        let record = &access.access;
        if access.recorded.height >= sealed || record.at < from || record.at >= until || access.accessor == *patient {
            continue;
        }
        let excluded = match (&record.basis, record.action) {
            (_, Action::Write) => Some("not a disclosure: a write to the record".to_owned()),
            (AccessBasis::Delegate(_), _) => {
                Some("§164.528(a)(1)(ii): to the individual's personal representative (§164.502(g))".to_owned())
            }
            _ => options.excluded(&record.purpose).map(str::to_owned),
        };
        let receipt = match (signed_checkpoint, held) {
            (Some(note), Some(size)) if ledger.position_of(&access.id)?.is_some_and(|at| at < size) => {
                Some(ledger.receipt(&access.id, Some(note))?.to_text())
            }
            _ => None,
        };
        disclosures.push(Disclosure {
            access: access.id,
            at: record.at,
            recipient: access.accessor,
            recipient_name: names.name(&access.accessor),
            section: record.section,
            action: record.action,
            purpose: record.purpose,
            basis: record.basis.clone(),
            review: access.review,
            excluded,
            receipt,
        });
    }
    Ok(Accounting {
        patient: *patient,
        patient_name: names.name(patient),
        from,
        until,
        chain: ledger.chain(),
        checkpoint: ledger.checkpoint(),
        signed_checkpoint: signed_checkpoint.map(str::to_owned),
        disclosures,
    })
}
