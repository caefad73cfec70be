//! A FHIR Consent into the ledger: read, resolved, written as the ledger's rules, and granted all or none
//! (docs/FHIR.md, "Into the ledger's rules").

use super::{ConsentPolicy, Directory, ImportOptions, compile, read};
use crate::fhir::{FhirError, FhirVersion};
use crate::ids::ConsentId;
use crate::keys::SigningKey;
use crate::ledger::{Granted, Ledger, LedgerError};
use crate::state::View;
use crate::store::Store;
use crate::tx::ConsentGrant;

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The resource cannot be read or expressed faithfully.
    #[error(transparent)]
    Fhir(#[from] FhirError),
    /// Consent `index` of those to replace is another patient's rule.
    #[error("consent {index} of those to replace is another patient's")]
    OtherPatient {
        /// Its place in the list.
        index: usize,
    },
    /// The ledger refused the changes: [`LedgerError::RevokeRefused`] or [`LedgerError::GrantRefused`]
    /// names the first refused and why (a consent to replace that is unknown or already revoked, an unknown
    /// or deactivated grantee, a signer that may not manage the patient's consents, a permit the grantee
    /// already has, ...), or the block is full.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// A Consent written as the ledger's rules, not yet granted ([`prepare`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// The Consent's meaning.
    pub policy: ConsentPolicy,
    /// Its rules, in ledger order.
    pub rules: Vec<ConsentGrant>,
}

/// What an import wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// The Consent's meaning.
    pub policy: ConsentPolicy,
    /// Its rules, as granted, in ledger order.
    pub rules: Vec<ConsentGrant>,
    /// Their consent ids, one per rule.
    pub granted: Vec<Granted>,
}

/// Imports one Consent resource (JSON of `version`): read ([`read`]), resolved through `directory`
/// ([`compile`]), written as the ledger's rules ([`ConsentPolicy::ledger_rules`]) and granted, signed by
/// `signer` (the patient, or a delegate with manage scope), all or none
/// ([`Ledger::grant_consents`]). A consent that grants nothing (a base deny without exceptions, one whose
/// period has ended, or one no longer in force: inactive, rejected, not-done, entered-in-error) writes no
/// rule.
pub fn import<S: Store>(
    ledger: &mut Ledger<S>,
    signer: &SigningKey,
    json: &[u8],
    version: FhirVersion,
    directory: &dyn Directory,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    replace(ledger, signer, &[], json, version, directory, options)
}

/// Imports an updated Consent in place of an earlier import: revokes the consents of `replaces` (the ids
/// the earlier [`import`] returned, or the identifiers of an [`export`](super::export)), then grants the
/// update's rules, all or none and in one block ([`Ledger::replace_consents`]). A Consent no longer in
/// force (inactive, rejected, not-done, entered-in-error) grants nothing, so its earlier rules end: from
/// now, since what they allowed before stays on the chain. Refused besides [`import`]'s refusals: a consent
/// to replace that is another patient's ([`ImportError::OtherPatient`]), unknown or already revoked
/// ([`LedgerError::RevokeRefused`]).
pub fn replace<S: Store>(
    ledger: &mut Ledger<S>,
    signer: &SigningKey,
    replaces: &[ConsentId],
    json: &[u8],
    version: FhirVersion,
    directory: &dyn Directory,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let Prepared { policy, rules } = prepare(&ledger.state().latest(), replaces, json, version, directory, options)?;
    let granted = ledger.replace_consents(signer, replaces, rules.clone())?;
    Ok(Imported { policy, rules, granted })
}

/// What [`replace`] would grant in place of `replaces`, as of `view`, without granting it: the Consent read,
/// resolved and written as the ledger's rules, and each consent to replace checked to be its patient's.
pub fn prepare(
    view: &View<'_>,
    replaces: &[ConsentId],
    json: &[u8],
    version: FhirVersion,
    directory: &dyn Directory,
    options: &ImportOptions,
) -> Result<Prepared, ImportError> {
    let resource = read(json, version, &options.read)?;
    let policy = compile(&resource, directory, options)?;
    let other_patient = |id: &ConsentId| view.consent(id).is_some_and(|c| c.grant.patient != policy.patient);
    if let Some(index) = replaces.iter().position(other_patient) {
        return Err(ImportError::OtherPatient { index });
    }
    let rules = policy.ledger_rules(&|id| view.actor(id).map(|actor| actor.role))?;
    Ok(Prepared { policy, rules })
}
