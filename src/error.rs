//! Typed refusals. Messages are lower-case, name no patient and carry no secret bytes.

use crate::codec::DecodeError;
use crate::consent::Decision;
use crate::ids::ConsentId;

/// Why a consent check could not be answered (as opposed to a decision that denies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The patient is not a registered patient at the instant asked about (or at the height asked).
    #[error("invalid patient: not a registered patient")]
    InvalidPatient,
    /// The requester is not a registered actor at the instant asked about (or at the height asked).
    #[error("unknown actor")]
    UnknownActor,
    /// A question must name one section and one purpose, not `*`.
    #[error("a request names one section and one purpose, not *")]
    WildcardInRequest,
    /// The height asked for lies beyond the sealed head.
    #[error("height {asked} is beyond the sealed head {head}")]
    HeightBeyondHead {
        /// The height asked for.
        asked: u64,
        /// The sealed head.
        head: u64,
    },
}

/// "until revocation" or "until <ms> ms since the Unix epoch".
fn until_text(until: Option<u64>) -> String {
    until.map_or_else(|| "until revoked".to_owned(), |ms| format!("until {ms} (ms since the Unix epoch)"))
}

/// Why a transaction is refused. Each refusal of DESIGN.md §3–5 has its own variant; the ledger's
/// operations return it inside [`LedgerError::Tx`](crate::LedgerError::Tx), and nothing changed.
///
/// Granting answers clearly: an unknown patient, access the grantee already has (with the consent that
/// gives it and until when), or the new consent and until when.
///
/// ```
/// use healthchain::*;
///
/// let hospital = SigningKey::generate()?;
/// let mut ledger = Ledger::create(MemoryStore::new(), Box::new(ManualClock::new(1_700_000_000_000)),
///                                 &LedgerSettings::new("refusals"), &[&hospital])?;
/// let (patient_key, doctor_key) = (SigningKey::generate()?, SigningKey::generate()?);
/// let patient = ledger.register(&hospital, &patient_key, Role::Patient)?;
/// let doctor = ledger.register(&hospital, &doctor_key, Role::Provider)?;
/// ledger.seal(&[&hospital])?;
/// let grant = ConsentGrant {
///     patient, grantee: Grantee::Actor(doctor), effect: Effect::Permit,
///     sections: CodeSet::parse(["labs"])?, purposes: CodeSet::parse(["TREAT"])?,
///     actions: Actions::READ, window: Window { not_before: ledger.now(), not_after: None },
///     exceptions: Vec::new(),
/// };
/// let granted = ledger.grant_consent(&patient_key, grant.clone())?;
/// match ledger.grant_consent(&patient_key, grant.clone()) {
///     Err(LedgerError::Tx(TxError::AlreadyHasAccess { existing, until })) => {
///         assert_eq!((existing, until), (granted.consent, None));
///     }
///     other => panic!("expected AlreadyHasAccess, got {other:?}"),
/// }
/// // The doctor is no patient: the grant names an invalid patient.
/// let refused = ledger.grant_consent(&doctor_key, ConsentGrant { patient: doctor, ..grant });
/// assert!(matches!(refused, Err(LedgerError::Tx(TxError::InvalidPatient))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    /// The bytes do not decode, or the value has no canonical encoding.
    #[error("malformed transaction: {0}")]
    Malformed(DecodeError),
    /// The body names another chain.
    #[error("transaction belongs to another chain")]
    WrongChain,
    /// A genesis transaction anywhere but first, or a first transaction that is not genesis.
    #[error("genesis must be the first transaction and only the first")]
    GenesisPosition,
    /// The genesis transaction's content is inconsistent.
    #[error("invalid genesis: {0}")]
    InvalidGenesis(&'static str),
    /// The signer is not a registered actor.
    #[error("unknown signer")]
    UnknownSigner,
    /// The signer was deactivated.
    #[error("signer is deactivated")]
    SignerDeactivated,
    /// The signature does not verify (strictly) under the signer's active key.
    #[error("bad signature")]
    BadSignature,
    /// The sequence number is not the signer's previous one plus one.
    #[error("bad sequence number: expected {expected}, found {found}")]
    BadSequence {
        /// The only acceptable number.
        expected: u64,
        /// The number in the body.
        found: u64,
    },
    /// The transaction's time lies outside what its position allows.
    #[error("transaction time {time} outside [{earliest}, {latest}]")]
    TimeOutOfRange {
        /// The body's time.
        time: u64,
        /// Earliest acceptable.
        earliest: u64,
        /// Latest acceptable.
        latest: u64,
    },
    /// The signer's role or relation does not allow this transaction.
    #[error("signer is not authorized for this transaction")]
    Unauthorized,
    /// The patient is unknown, or not a patient.
    #[error("invalid patient")]
    InvalidPatient,
    /// The patient's data was erased; nothing new may concern them.
    #[error("patient was erased")]
    PatientErased,
    /// The grantee or delegate is not a registered actor.
    #[error("unknown grantee")]
    UnknownGrantee,
    /// The grantee or delegate was deactivated.
    #[error("grantee is deactivated")]
    GranteeDeactivated,
    /// A delegation to the patient themself.
    #[error("a patient cannot be their own delegate")]
    SelfDelegation,
    /// The time window contains no instant.
    #[error("empty time window")]
    EmptyWindow,
    /// A permit with exceptions: only a deny rule has exceptions ("deny, except …").
    #[error("only a deny rule has exceptions")]
    ExceptionsOnPermit,
    /// An active permit already covers every requested section, purpose and action over the whole window.
    #[error("grantee already has that access (consent {existing}, {})", until_text(*until))]
    AlreadyHasAccess {
        /// The covering consent.
        existing: ConsentId,
        /// When it ends (`None` = until revoked).
        until: Option<u64>,
    },
    /// No such consent.
    #[error("unknown consent")]
    UnknownConsent,
    /// The consent was already revoked.
    #[error("consent already revoked")]
    ConsentAlreadyRevoked,
    /// No such delegation.
    #[error("unknown delegation")]
    UnknownDelegation,
    /// The delegation was already revoked.
    #[error("delegation already revoked")]
    DelegationAlreadyRevoked,
    /// The new actor's key is already some actor's key.
    #[error("key already in use")]
    KeyInUse,
    /// The proof of possession does not verify.
    #[error("bad proof of possession")]
    BadProofOfPossession,
    /// No such actor (for an access: the signer was not yet registered at the instant it names).
    #[error("unknown actor")]
    UnknownActor,
    /// The actor is already deactivated.
    #[error("actor already deactivated")]
    AlreadyDeactivated,
    /// Deactivating this authority would leave fewer active authorities than the seal threshold.
    #[error("deactivation would leave fewer authorities than the seal threshold")]
    WouldBreakQuorum,
    /// An access, anchor or break-glass reason names `*` instead of one code.
    #[error("an access names one section, purpose and reason, not *")]
    WildcardInRequest,
    /// The access's time lies after the transaction's time.
    #[error("access time after transaction time")]
    AccessInFuture,
    /// The engine does not permit the access at its time.
    #[error("access not permitted: {0}")]
    AccessDenied(Decision),
    /// The engine permits the access, but on another basis than the one named.
    #[error("access basis does not match the decision: {0}")]
    BasisMismatch(Decision),
    /// The access reviewed is unknown.
    #[error("unknown access")]
    UnknownAccess,
    /// The access reviewed was not a break-glass access.
    #[error("access was not a break-glass access")]
    NotBreakGlass,
    /// The break-glass access was already reviewed.
    #[error("break-glass access already reviewed")]
    AlreadyReviewed,
    /// The patient's data was already erased.
    #[error("patient already erased")]
    AlreadyErased,
    /// A delegate's consent change would widen its own access: a permit naming the delegate (by id or
    /// role), or revoking a deny rule that names it. A delegate manages consent for others only.
    #[error("a delegate cannot widen its own access")]
    WidensOwnAccess,
}
