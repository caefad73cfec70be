//! Transactions: a body (chain id, signer, sequence number, time, payload) and the signer's signature.
//! Payload kinds are those of DESIGN.md §3; their validation rules live in `state`.

use crate::codec::{Decode, DecodeError, DecodeErrorKind, Encode, Reader, put_len, put_option, put_short_len};
use crate::codes::{Action, Actions, Code, CodeSet, Role};
use crate::hash::{Domain, Hash256, domain_hash};
use crate::ids::{AccessId, ActorId, ChainId, ConsentId, DelegationId, TxId};
use crate::keys::{PublicKey, Signature, SigningKey};

/// Version of the canonical encoding, first byte of every transaction body and block header.
pub const FORMAT_VERSION: u8 = 1;
/// Longest chain name, in bytes.
pub const MAX_CHAIN_NAME_LEN: usize = 64;
/// Most authorities named in a genesis transaction.
pub const MAX_AUTHORITIES: usize = 64;
/// Most consent ids named as the basis of one access.
pub const MAX_BASIS_CONSENTS: usize = 256;
/// Most exceptions of one consent rule.
pub const MAX_EXCEPTIONS: usize = 64;

/// The network's rules, fixed at genesis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Whether emergency break-glass access is allowed at all.
    pub break_glass_allowed: bool,
    /// How far (ms) a submitted transaction's time (or a proposed block's timestamp) may lie ahead of
    /// the ledger's clock: members' clocks differ. Never backwards: a transaction's time always lies
    /// strictly after the previous block's timestamp, so that sealed history cannot change.
    pub max_clock_skew_ms: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self { break_glass_allowed: true, max_clock_skew_ms: 5 * 60 * 1000 }
    }
}

/// The parameters that define a chain; the chain id is their domain-separated hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisParams {
    /// A human-readable network name (printable ASCII, 1–64 bytes; never patient data).
    pub name: String,
    /// Random bytes that make every chain id unique.
    pub nonce: [u8; 32],
    /// The initial authorities' keys; the first is the founder, who signs the genesis transaction.
    pub authorities: Vec<PublicKey>,
    /// How many authority seals a block needs (1 ≤ k ≤ number of authorities).
    pub seal_threshold: u8,
    /// The network's policy.
    pub policy: Policy,
}

impl GenesisParams {
    /// The chain id these parameters define.
    pub fn chain_id(&self) -> ChainId {
        ChainId(domain_hash(Domain::ChainId, &[&self.to_bytes()]))
    }
}

/// The first transaction: the chain's parameters and each initial authority's proof of possession.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genesis {
    /// The chain's parameters.
    pub params: GenesisParams,
    /// One proof of possession per authority key, in the same order (checked when applied).
    pub proofs: Vec<Signature>,
}

/// Adds an actor (signed by an authority).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterActor {
    /// The new actor's first key; its actor id derives from it.
    pub key: PublicKey,
    /// The new actor's role.
    pub role: Role,
    /// The new key's signature over the proof-of-possession message.
    pub proof: Signature,
}

/// The message a key signs to prove possession of itself on `chain` (in genesis, a registration and a
/// rotation): the domain-tagged chain id and key.
pub fn proof_of_possession_message(chain: &ChainId, key: &PublicKey) -> Vec<u8> {
    Domain::ProofOfPossession.message(&[chain.0.as_bytes(), &key.to_bytes()])
}

impl SigningKey {
    /// Proof of possession of this key for `chain`: its signature over [`proof_of_possession_message`].
    pub fn prove_possession(&self, chain: &ChainId) -> Signature {
        self.sign(&proof_of_possession_message(chain, &self.public_key()))
    }
}

/// Replaces an actor's active key (signed by the actor, or by an authority for key recovery).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotateKey {
    /// Whose key.
    pub actor: ActorId,
    /// The new key.
    pub new_key: PublicKey,
    /// The new key's proof of possession.
    pub proof: Signature,
}

/// Who a consent rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Grantee {
    /// One actor.
    Actor(ActorId),
    /// Every actor of a role.
    Role(Role),
}

/// Whether a rule permits or denies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Allows the matching requests.
    Permit,
    /// Forbids the matching requests; overrides permits.
    Deny,
}

/// A half-open time window `[not_before, not_after)` in ms since the Unix epoch; no end = until revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// First instant inside the window.
    pub not_before: u64,
    /// First instant after the window, if any.
    pub not_after: Option<u64>,
}

impl Window {
    /// Whether the window contains `at`.
    pub fn contains(&self, at: u64) -> bool {
        at >= self.not_before && self.not_after.is_none_or(|end| at < end)
    }

    /// Whether the window contains no instant.
    pub fn is_empty(&self) -> bool {
        self.not_after.is_some_and(|end| end <= self.not_before)
    }

    /// Whether this window contains every instant of `other`.
    pub fn covers(&self, other: &Window) -> bool {
        self.not_before <= other.not_before
            && match (self.not_after, other.not_after) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(mine), Some(theirs)) => theirs <= mine,
            }
    }
}

/// A patient's consent rule (the payload of GrantConsent).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConsentGrant {
    /// Whose record.
    pub patient: ActorId,
    /// Who the rule applies to.
    pub grantee: Grantee,
    /// Permit or deny.
    pub effect: Effect,
    /// Record sections (`*` = all).
    pub sections: CodeSet,
    /// Purposes of use (`*` = all).
    pub purposes: CodeSet,
    /// Actions.
    pub actions: Actions,
    /// When the rule applies.
    pub window: Window,
    /// Requests the rule does not apply to, though they match it (at most [`MAX_EXCEPTIONS`]; usually
    /// empty). FHIR import writes them on deny rules: "deny, except …" (docs/FHIR.md).
    pub exceptions: Vec<Exception>,
}

impl ConsentGrant {
    /// Whether this permit (without exceptions) already gives everything permit `other` would: same patient
    /// and grantee, and at least its sections, purposes, actions and window ("already has access").
    pub fn covers(&self, other: &ConsentGrant) -> bool {
        self.effect == Effect::Permit
            && other.effect == Effect::Permit
            && self.exceptions.is_empty()
            && self.patient == other.patient
            && self.grantee == other.grantee
            && self.sections.covers(&other.sections)
            && self.purposes.covers(&other.purposes)
            && self.actions.covers(other.actions)
            && self.window.covers(&other.window)
    }
}

/// Requests a consent rule makes an exception of: those that meet every condition here.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Exception {
    /// Who (`None`: every requester).
    pub grantee: Option<Grantee>,
    /// Record sections (`*` = all).
    pub sections: CodeSet,
    /// Purposes of use (`*` = all).
    pub purposes: CodeSet,
    /// Actions.
    pub actions: Actions,
    /// When the request is made.
    pub window: Window,
}

/// What a delegate may do for a patient (bit 0 manage consent, bit 1 read).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Scopes {
    /// Manage the patient's consents.
    pub const MANAGE: Scopes = Scopes(1);
    /// Read the patient's record.
    pub const READ: Scopes = Scopes(2);
    /// Both.
    pub const MANAGE_AND_READ: Scopes = Scopes(3);

    /// Whether every scope of `other` is included.
    pub fn includes(self, other: Scopes) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::fmt::Debug for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            1 => f.write_str("manage"),
            2 => f.write_str("read"),
            _ => f.write_str("manage+read"),
        }
    }
}

/// A delegation (guardian, proxy) of a patient's rights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelegationGrant {
    /// Whose rights.
    pub patient: ActorId,
    /// Who may exercise them.
    pub delegate: ActorId,
    /// Which rights.
    pub scopes: Scopes,
    /// When.
    pub window: Window,
}

/// On what grounds an access happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessBasis {
    /// The patient read their own record.
    Owner,
    /// A delegate with read scope.
    Delegate(DelegationId),
    /// The permit rules that matched (all of them, sorted).
    Consents(Vec<ConsentId>),
    /// Emergency access: a reason code and a salted hash committing to the off-ledger justification.
    BreakGlass {
        /// Reason code.
        reason: Code,
        /// Commitment to the free-text justification kept off the ledger.
        justification: Hash256,
    },
}

/// An access that happened (signed by the accessor).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordAccess {
    /// Whose record.
    pub patient: ActorId,
    /// Which section.
    pub section: Code,
    /// For what purpose.
    pub purpose: Code,
    /// Read or write.
    pub action: Action,
    /// When the access happened (ms since the Unix epoch); at most the transaction's time.
    pub at: u64,
    /// The grounds the accessor claims; must equal the engine's decision.
    pub basis: AccessBasis,
}

/// A commitment to one version of an off-ledger record section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorRecord {
    /// Whose record.
    pub patient: ActorId,
    /// Which section.
    pub section: Code,
    /// For what purpose the writer acts.
    pub purpose: Code,
    /// Salted hash of the record version.
    pub commitment: Hash256,
}

/// What a transaction does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// Creates the chain.
    Genesis(Genesis),
    /// Adds an actor.
    RegisterActor(RegisterActor),
    /// Replaces an actor's key.
    RotateKey(RotateKey),
    /// Ends an actor's ability to act or be granted.
    DeactivateActor {
        /// Who.
        actor: ActorId,
    },
    /// Adds a consent rule.
    GrantConsent(ConsentGrant),
    /// Ends a consent rule.
    RevokeConsent {
        /// Which rule.
        consent: ConsentId,
    },
    /// Adds a delegation.
    GrantDelegation(DelegationGrant),
    /// Ends a delegation.
    RevokeDelegation {
        /// Which delegation.
        delegation: DelegationId,
    },
    /// Records an access.
    RecordAccess(RecordAccess),
    /// Reviews a break-glass access.
    ReviewBreakGlass {
        /// Which access.
        access: AccessId,
        /// Whether it was justified.
        justified: bool,
    },
    /// Anchors a record version.
    AnchorRecord(AnchorRecord),
    /// Records that a patient's off-ledger data was erased.
    EraseSubject {
        /// Whose data.
        patient: ActorId,
    },
}

impl Payload {
    /// A short lower-case name of the kind.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Payload::Genesis(_) => "genesis",
            Payload::RegisterActor(_) => "register-actor",
            Payload::RotateKey(_) => "rotate-key",
            Payload::DeactivateActor { .. } => "deactivate-actor",
            Payload::GrantConsent(_) => "grant-consent",
            Payload::RevokeConsent { .. } => "revoke-consent",
            Payload::GrantDelegation(_) => "grant-delegation",
            Payload::RevokeDelegation { .. } => "revoke-delegation",
            Payload::RecordAccess(_) => "record-access",
            Payload::ReviewBreakGlass { .. } => "review-break-glass",
            Payload::AnchorRecord(_) => "anchor-record",
            Payload::EraseSubject { .. } => "erase-subject",
        }
    }
}

/// A transaction body: what the signer signs (through its id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxBody {
    /// The ledger this transaction belongs to.
    pub chain: ChainId,
    /// The author.
    pub signer: ActorId,
    /// The author's sequence number: exactly one more than their previous transaction's (first = 1).
    pub seq: u64,
    /// When the author made it (ms since the Unix epoch).
    pub time: u64,
    /// What it does.
    pub payload: Payload,
}

impl TxBody {
    /// The transaction id.
    pub fn id(&self) -> TxId {
        TxId(domain_hash(Domain::TxId, &[&self.to_bytes()]))
    }

    /// The exact bytes the signer signs (give these to an external signer or HSM).
    pub fn signing_bytes(&self) -> Vec<u8> {
        signing_message(&self.id())
    }

    /// Signs the body with `key`.
    pub fn sign(self, key: &SigningKey) -> SignedTx {
        let signature = key.sign(&self.signing_bytes());
        SignedTx { body: self, signature }
    }

    /// Attaches a signature made elsewhere (checked when submitted).
    pub fn attach_signature(self, signature: Signature) -> SignedTx {
        SignedTx { body: self, signature }
    }
}

/// The message signed for the transaction `id`.
pub fn signing_message(id: &TxId) -> Vec<u8> {
    Domain::TxSignature.message(&[id.as_bytes()])
}

/// A signed transaction: the envelope of DESIGN.md §3 (the signer is inside the body, so the id covers it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTx {
    /// What was signed.
    pub body: TxBody,
    /// The signer's signature over `signing_message(body.id())`.
    pub signature: Signature,
}

impl SignedTx {
    /// The transaction id (of the body).
    pub fn id(&self) -> TxId {
        self.body.id()
    }
}

/// The id of the transaction whose canonical encoding (body, then the 64-byte signature) is `encoded`:
/// the body's hash, without decoding or encoding it again.
pub(crate) fn id_of_encoded(encoded: &[u8]) -> TxId {
    let body = encoded.get(..encoded.len().saturating_sub(64)).unwrap_or_default();
    TxId(domain_hash(Domain::TxId, &[body]))
}

// ---- canonical encoding ----

impl Encode for Policy {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.break_glass_allowed));
        self.max_clock_skew_ms.encode(out);
    }
}

impl Decode for Policy {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { break_glass_allowed: r.bool()?, max_clock_skew_ms: r.u64()? })
    }
}

impl Encode for GenesisParams {
    fn encode(&self, out: &mut Vec<u8>) {
        put_short_len(out, self.name.len());
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(&self.nonce);
        put_short_len(out, self.authorities.len());
        for key in &self.authorities {
            key.encode(out);
        }
        out.push(self.seal_threshold);
        self.policy.encode(out);
    }
}

/// Whether `name` is a valid chain name: 1–64 bytes of printable ASCII.
pub fn valid_chain_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_CHAIN_NAME_LEN && name.bytes().all(|b| (0x20..0x7f).contains(&b))
}

impl Decode for GenesisParams {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.position();
        let len = r.short_len("chain name", MAX_CHAIN_NAME_LEN)?;
        let name = std::str::from_utf8(r.take(len)?)
            .ok()
            .filter(|n| valid_chain_name(n))
            .ok_or_else(|| r.error_at(at, DecodeErrorKind::Invalid("chain name")))?
            .to_owned();
        let nonce = r.array()?;
        let count_at = r.position();
        let count = r.short_len("authorities", MAX_AUTHORITIES)?;
        let mut authorities = Vec::with_capacity(count);
        for _ in 0..count {
            authorities.push(PublicKey::decode(r)?);
        }
        let threshold_at = r.position();
        let seal_threshold = r.u8()?;
        if authorities.is_empty() {
            return Err(r.error_at(count_at, DecodeErrorKind::Invalid("empty authority set")));
        }
        if seal_threshold == 0 || usize::from(seal_threshold) > authorities.len() {
            return Err(r.error_at(threshold_at, DecodeErrorKind::Invalid("seal threshold")));
        }
        let policy = Policy::decode(r)?;
        Ok(Self { name, nonce, authorities, seal_threshold, policy })
    }
}

impl Encode for Genesis {
    fn encode(&self, out: &mut Vec<u8>) {
        self.params.encode(out);
        put_short_len(out, self.proofs.len());
        for proof in &self.proofs {
            proof.encode(out);
        }
    }
}

impl Decode for Genesis {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let params = GenesisParams::decode(r)?;
        let count = r.short_len("proofs of possession", MAX_AUTHORITIES)?;
        let mut proofs = Vec::with_capacity(count);
        for _ in 0..count {
            proofs.push(Signature::decode(r)?);
        }
        Ok(Self { params, proofs })
    }
}

impl Encode for Grantee {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Grantee::Actor(id) => {
                out.push(1);
                id.encode(out);
            }
            Grantee::Role(role) => {
                out.push(2);
                role.encode(out);
            }
        }
    }
}

impl Decode for Grantee {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.tag("grantee", |t| (t == 1 || t == 2).then_some(t))? {
            1 => ActorId::decode(r).map(Grantee::Actor),
            _ => Role::decode(r).map(Grantee::Role),
        }
    }
}

impl Encode for Window {
    fn encode(&self, out: &mut Vec<u8>) {
        self.not_before.encode(out);
        put_option(out, self.not_after.as_ref(), |o, v| v.encode(o));
    }
}

impl Decode for Window {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { not_before: r.u64()?, not_after: r.option(|r| r.u64())? })
    }
}

impl Encode for ConsentGrant {
    fn encode(&self, out: &mut Vec<u8>) {
        self.patient.encode(out);
        self.grantee.encode(out);
        // Tags 3 and 4 (a rule with exceptions) came after the first ledgers: a rule without exceptions
        // keeps the bytes it always had (FORMAT.md, "GrantConsent").
        out.push(match (self.effect, self.exceptions.is_empty()) {
            (Effect::Permit, true) => 1,
            (Effect::Deny, true) => 2,
            (Effect::Permit, false) => 3,
            (Effect::Deny, false) => 4,
        });
        self.sections.encode(out);
        self.purposes.encode(out);
        self.actions.encode(out);
        self.window.encode(out);
        if !self.exceptions.is_empty() {
            put_short_len(out, self.exceptions.len());
            for exception in &self.exceptions {
                exception.encode(out);
            }
        }
    }
}

impl Encode for Exception {
    fn encode(&self, out: &mut Vec<u8>) {
        put_option(out, self.grantee.as_ref(), |o, g| g.encode(o));
        self.sections.encode(out);
        self.purposes.encode(out);
        self.actions.encode(out);
        self.window.encode(out);
    }
}

impl Decode for Exception {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            grantee: r.option(Grantee::decode)?,
            sections: CodeSet::decode(r)?,
            purposes: CodeSet::decode(r)?,
            actions: Actions::decode(r)?,
            window: Window::decode(r)?,
        })
    }
}

impl Decode for ConsentGrant {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let patient = ActorId::decode(r)?;
        let grantee = Grantee::decode(r)?;
        let (effect, excepted) = r.tag("effect", |t| match t {
            1 => Some((Effect::Permit, false)),
            2 => Some((Effect::Deny, false)),
            3 => Some((Effect::Permit, true)),
            4 => Some((Effect::Deny, true)),
            _ => None,
        })?;
        let (sections, purposes) = (CodeSet::decode(r)?, CodeSet::decode(r)?);
        let (actions, window) = (Actions::decode(r)?, Window::decode(r)?);
        let mut exceptions = Vec::new();
        if excepted {
            let at = r.position();
            let count = r.short_len("exceptions", MAX_EXCEPTIONS)?;
            if count == 0 {
                return Err(r.error_at(at, DecodeErrorKind::NonCanonical("empty exception list")));
            }
            for _ in 0..count {
                exceptions.push(Exception::decode(r)?);
            }
        }
        Ok(Self { patient, grantee, effect, sections, purposes, actions, window, exceptions })
    }
}

impl Encode for DelegationGrant {
    fn encode(&self, out: &mut Vec<u8>) {
        self.patient.encode(out);
        self.delegate.encode(out);
        out.push(self.scopes.0);
        self.window.encode(out);
    }
}

impl Decode for DelegationGrant {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            patient: ActorId::decode(r)?,
            delegate: ActorId::decode(r)?,
            scopes: r.tag("scopes", |bits| (1..=3).contains(&bits).then_some(Scopes(bits)))?,
            window: Window::decode(r)?,
        })
    }
}

impl Encode for AccessBasis {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            AccessBasis::Owner => out.push(1),
            AccessBasis::Delegate(id) => {
                out.push(2);
                id.encode(out);
            }
            AccessBasis::Consents(ids) => {
                out.push(3);
                put_len(out, ids.len());
                for id in ids {
                    id.encode(out);
                }
            }
            AccessBasis::BreakGlass { reason, justification } => {
                out.push(4);
                reason.encode(out);
                justification.encode(out);
            }
        }
    }
}

impl Decode for AccessBasis {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.tag("access basis", |t| (1..=4).contains(&t).then_some(t))? {
            1 => Ok(AccessBasis::Owner),
            2 => TxId::decode(r).map(AccessBasis::Delegate),
            3 => {
                let at = r.position();
                let count = r.len("basis consents", MAX_BASIS_CONSENTS)?;
                if count == 0 {
                    return Err(r.error_at(at, DecodeErrorKind::Invalid("empty consent basis")));
                }
                r.sorted_set("basis consent order", count).map(AccessBasis::Consents)
            }
            _ => Ok(AccessBasis::BreakGlass { reason: Code::decode(r)?, justification: Hash256::decode(r)? }),
        }
    }
}

impl Encode for AnchorRecord {
    fn encode(&self, out: &mut Vec<u8>) {
        self.patient.encode(out);
        self.section.encode(out);
        self.purpose.encode(out);
        self.commitment.encode(out);
    }
}

impl Decode for AnchorRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AnchorRecord {
            patient: ActorId::decode(r)?,
            section: Code::decode(r)?,
            purpose: Code::decode(r)?,
            commitment: Hash256::decode(r)?,
        })
    }
}

impl Encode for RecordAccess {
    fn encode(&self, out: &mut Vec<u8>) {
        self.patient.encode(out);
        self.section.encode(out);
        self.purpose.encode(out);
        self.action.encode(out);
        self.at.encode(out);
        self.basis.encode(out);
    }
}

impl Decode for RecordAccess {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            patient: ActorId::decode(r)?,
            section: Code::decode(r)?,
            purpose: Code::decode(r)?,
            action: Action::decode(r)?,
            at: r.u64()?,
            basis: AccessBasis::decode(r)?,
        })
    }
}

impl Payload {
    fn tag(&self) -> u8 {
        match self {
            Payload::Genesis(_) => 1,
            Payload::RegisterActor(_) => 2,
            Payload::RotateKey(_) => 3,
            Payload::DeactivateActor { .. } => 4,
            Payload::GrantConsent(_) => 5,
            Payload::RevokeConsent { .. } => 6,
            Payload::GrantDelegation(_) => 7,
            Payload::RevokeDelegation { .. } => 8,
            Payload::RecordAccess(_) => 9,
            Payload::ReviewBreakGlass { .. } => 10,
            Payload::AnchorRecord(_) => 11,
            Payload::EraseSubject { .. } => 12,
        }
    }
}

impl Encode for Payload {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
        match self {
            Payload::Genesis(g) => g.encode(out),
            Payload::RegisterActor(reg) => {
                reg.key.encode(out);
                reg.role.encode(out);
                reg.proof.encode(out);
            }
            Payload::RotateKey(rot) => {
                rot.actor.encode(out);
                rot.new_key.encode(out);
                rot.proof.encode(out);
            }
            Payload::DeactivateActor { actor } => actor.encode(out),
            Payload::GrantConsent(grant) => grant.encode(out),
            Payload::RevokeConsent { consent } => consent.encode(out),
            Payload::GrantDelegation(grant) => grant.encode(out),
            Payload::RevokeDelegation { delegation } => delegation.encode(out),
            Payload::RecordAccess(access) => access.encode(out),
            Payload::ReviewBreakGlass { access, justified } => {
                access.encode(out);
                out.push(u8::from(*justified));
            }
            Payload::AnchorRecord(anchor) => anchor.encode(out),
            Payload::EraseSubject { patient } => patient.encode(out),
        }
    }
}

impl Decode for Payload {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tag = r.tag("transaction kind", |t| (1..=12).contains(&t).then_some(t))?;
        Ok(match tag {
            1 => Payload::Genesis(Genesis::decode(r)?),
            2 => Payload::RegisterActor(RegisterActor {
                key: PublicKey::decode(r)?,
                role: Role::decode(r)?,
                proof: Signature::decode(r)?,
            }),
            3 => Payload::RotateKey(RotateKey {
                actor: ActorId::decode(r)?,
                new_key: PublicKey::decode(r)?,
                proof: Signature::decode(r)?,
            }),
            4 => Payload::DeactivateActor { actor: ActorId::decode(r)? },
            5 => Payload::GrantConsent(ConsentGrant::decode(r)?),
            6 => Payload::RevokeConsent { consent: TxId::decode(r)? },
            7 => Payload::GrantDelegation(DelegationGrant::decode(r)?),
            8 => Payload::RevokeDelegation { delegation: TxId::decode(r)? },
            9 => Payload::RecordAccess(RecordAccess::decode(r)?),
            10 => Payload::ReviewBreakGlass { access: TxId::decode(r)?, justified: r.bool()? },
            11 => Payload::AnchorRecord(AnchorRecord::decode(r)?),
            _ => Payload::EraseSubject { patient: ActorId::decode(r)? },
        })
    }
}

impl Encode for TxBody {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(FORMAT_VERSION);
        self.chain.encode(out);
        self.signer.encode(out);
        self.seq.encode(out);
        self.time.encode(out);
        self.payload.encode(out);
    }
}

/// Reads the format version byte shared by bodies and headers.
pub(crate) fn read_version(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    let at = r.position();
    match r.u8()? {
        FORMAT_VERSION => Ok(()),
        other => Err(r.error_at(at, DecodeErrorKind::UnknownVersion(other))),
    }
}

impl Decode for TxBody {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_version(r)?;
        Ok(Self {
            chain: ChainId::decode(r)?,
            signer: ActorId::decode(r)?,
            seq: r.u64()?,
            time: r.u64()?,
            payload: Payload::decode(r)?,
        })
    }
}

impl Encode for SignedTx {
    fn encode(&self, out: &mut Vec<u8>) {
        self.body.encode(out);
        self.signature.encode(out);
    }
}

impl Decode for SignedTx {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { body: TxBody::decode(r)?, signature: Signature::decode(r)? })
    }
}
