//! A FHIR Consent into the ledger: read, resolved, written as the ledger's rules, and granted all or none
//! (docs/FHIR.md, "Into the ledger's rules").

use super::{ConsentPolicy, Directory, ImportOptions, compile, read};
use crate::fhir::{FhirError, FhirVersion};
use crate::keys::SigningKey;
use crate::ledger::{Granted, Ledger, LedgerError};
use crate::store::Store;
use crate::tx::ConsentGrant;

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The resource cannot be read or expressed faithfully.
    #[error(transparent)]
    Fhir(#[from] FhirError),
    /// The ledger refused its rules: [`LedgerError::GrantRefused`] names the first rule refused and why
    /// (an unknown or deactivated grantee, a signer that may not manage the patient's consents, a permit
    /// the grantee already has, ...), or the block is full.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
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
/// ([`Ledger::grant_consents`]). A consent that grants nothing (a base deny without exceptions, or one whose
/// period has ended) writes no rule.
pub fn import<S: Store>(
    ledger: &mut Ledger<S>,
    signer: &SigningKey,
    json: &[u8],
    version: FhirVersion,
    directory: &dyn Directory,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let resource = read(json, version, &options.read)?;
    let policy = compile(&resource, directory, options)?;
    let state = ledger.state().latest();
    let rules = policy.ledger_rules(&|id| state.actor(id).map(|actor| actor.role))?;
    let granted = ledger.grant_consents(signer, rules.clone())?;
    Ok(Imported { policy, rules, granted })
}
