//! The ledger state that replaying transactions builds, and the validation rule of every transaction kind.
//!
//! Every record carries the height and time of the transaction that made or changed it, so that one state
//! answers questions as of any earlier height (see [`View`]). Validation never mutates: each handler checks
//! everything first and changes the state only once the transaction is known to be valid.

mod canonical;
mod evaluate;
mod rules;

use foldhash::HashMap;

use crate::codes::Role;
use crate::consent::{CheckRequest, Decision};
use crate::error::TxError;
use crate::ids::{AccessId, ActorId, ChainId, ConsentId, DelegationId, TxId};
use crate::keys::PublicKey;
use crate::tx::{
    AccessBasis, AnchorRecord, ConsentGrant, DelegationGrant, Effect, Genesis, GenesisParams, Grantee, Payload,
    RecordAccess, SignedTx, proof_of_possession_message, valid_chain_name,
};
use rules::{Codebook, PatientRecords};

/// When something happened on the ledger: the block height and the transaction's time and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Height of the block holding the transaction.
    pub height: u64,
    /// The transaction's time (ms since the Unix epoch).
    pub time: u64,
    /// The transaction.
    pub tx: TxId,
}

/// A key and the height from which it is the actor's active key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyEpoch {
    /// The key.
    pub key: PublicKey,
    /// First height at which it signs.
    pub from: Stamp,
}

/// A registered actor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// Pseudonymous id.
    pub id: ActorId,
    /// Role.
    pub role: Role,
    /// Every key the actor has had, oldest first; the last is active.
    pub keys: Vec<KeyEpoch>,
    /// Deactivation, if any.
    pub deactivated: Option<Stamp>,
}

impl Actor {
    /// When the actor was registered.
    pub fn registered(&self) -> Option<Stamp> {
        self.keys.first().map(|epoch| epoch.from)
    }
}

/// What the consent engine reads of an actor, kept apart from its key history in a few plain integers (one
/// cache line with its map key, and no `Option` whose absent payload an optimiser may read).
#[derive(Clone, Copy, Debug)]
struct Standing {
    role: Role,
    registered_height: u64,
    registered_time: u64,
    deactivated: bool,
    deactivated_height: u64,
    deactivated_time: u64,
    erased: bool,
    erased_height: u64,
    erased_time: u64,
}

impl Standing {
    /// An actor of `role` registered at `registered`, deactivated at `deactivated` if it was.
    fn new(role: Role, registered: Stamp, deactivated: Option<Stamp>) -> Self {
        let mut standing = Standing {
            role,
            registered_height: registered.height,
            registered_time: registered.time,
            deactivated: false,
            deactivated_height: 0,
            deactivated_time: 0,
            erased: false,
            erased_height: 0,
            erased_time: 0,
        };
        if let Some(stamp) = deactivated {
            standing.deactivate(&stamp);
        }
        standing
    }

    fn deactivate(&mut self, stamp: &Stamp) {
        self.deactivated = true;
        self.deactivated_height = stamp.height;
        self.deactivated_time = stamp.time;
    }

    fn erase(&mut self, stamp: &Stamp) {
        self.erased = true;
        self.erased_height = stamp.height;
        self.erased_time = stamp.time;
    }
}

/// An actor's standing as a view sees it: its role, when registered, and when deactivated if it was.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    /// The role.
    pub role: Role,
    /// The registration's instant.
    pub registered: u64,
    /// Whether a deactivation is visible.
    pub deactivated: bool,
    /// The visible deactivation's instant (0 when none).
    pub deactivated_at: u64,
    /// Whether an erasure (of a patient) is visible.
    pub erased: bool,
    /// The visible erasure's instant (0 when none).
    pub erased_at: u64,
}

/// A consent rule and its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// The consent id (its GrantConsent transaction).
    pub id: ConsentId,
    /// The rule.
    pub grant: ConsentGrant,
    /// Who signed the grant (the patient or a delegate).
    pub granted_by: ActorId,
    /// When it was granted.
    pub granted: Stamp,
    /// When it was revoked, if it was.
    pub revoked: Option<Stamp>,
}

/// A delegation and its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegation {
    /// The delegation id (its GrantDelegation transaction).
    pub id: DelegationId,
    /// What was delegated.
    pub grant: DelegationGrant,
    /// When it was granted.
    pub granted: Stamp,
    /// When it was revoked, if it was.
    pub revoked: Option<Stamp>,
}

/// The review of a break-glass access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Review {
    /// The auditor or authority.
    pub reviewer: ActorId,
    /// Whether the access was justified.
    pub justified: bool,
    /// When.
    pub reviewed: Stamp,
}

/// A recorded access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// The access id (its RecordAccess transaction).
    pub id: AccessId,
    /// Who accessed.
    pub accessor: ActorId,
    /// What, when, why and on what basis.
    pub access: RecordAccess,
    /// When it was recorded.
    pub recorded: Stamp,
    /// For break-glass accesses: the review, once done.
    pub review: Option<Review>,
}

/// An anchored record version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// Who anchored it.
    pub writer: ActorId,
    /// The commitment.
    pub anchor: AnchorRecord,
    /// When.
    pub anchored: Stamp,
}

/// What the state keeps of one patient, as ids in ledger order (accesses and anchors are in the ledger's
/// access history, [`crate::History`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PatientIndex {
    /// Consents granted for this patient.
    pub consents: Vec<ConsentId>,
    /// Delegations of this patient's rights.
    pub delegations: Vec<DelegationId>,
    /// Erasure, if any.
    pub erased: Option<Stamp>,
}

/// What a transaction adds to the access history: kept by the ledger on disk, not by the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// A recorded access.
    Access(Access),
    /// The review of a break-glass access (given as recorded).
    Review {
        /// The access reviewed.
        access: Access,
        /// The review.
        review: Review,
    },
    /// An anchored record version.
    Anchor(Anchor),
}

/// A proof of possession that a replay checks after the rules (with the signatures, spread over the cores).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingProof {
    /// The new key.
    pub key: PublicKey,
    /// What it must have signed: [`proof_of_possession_message`] for the chain and the key.
    pub message: Vec<u8>,
    /// The proof.
    pub proof: crate::keys::Signature,
}

/// How [`State::apply_deferring_proofs`]'s caller wants proofs of possession checked.
enum Proofs<'a> {
    /// At once: a bad proof refuses the transaction.
    Verify,
    /// Later, by the caller.
    Defer(&'a mut Vec<PendingProof>),
    /// Already found valid by the caller if among these (checked with the signatures, spread over the
    /// cores); any other at once.
    Verified(&'a [PendingProof]),
}

impl Proofs<'_> {
    fn check(&mut self, key: &PublicKey, message: Vec<u8>, proof: &crate::keys::Signature) -> Result<(), TxError> {
        match self {
            Proofs::Verified(valid)
                if valid.iter().any(|v| v.key == *key && v.proof == *proof && v.message == message) =>
            {
                Ok(())
            }
            Proofs::Verify | Proofs::Verified(_) if key.verify(&message, proof) => Ok(()),
            Proofs::Verify | Proofs::Verified(_) => Err(TxError::BadProofOfPossession),
            Proofs::Defer(pending) => {
                pending.push(PendingProof { key: *key, message, proof: *proof });
                Ok(())
            }
        }
    }
}

/// Where a transaction is being applied: its block's height and the time range its position allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Height of the block that holds (or will hold) the transaction.
    pub height: u64,
    /// Earliest acceptable transaction time.
    pub earliest: u64,
    /// Latest acceptable transaction time.
    pub latest: u64,
    /// Whether this is the ledger's very first transaction.
    pub first: bool,
}

/// The state after some prefix of the ledger.
#[derive(Clone, Debug, Default)]
pub struct State {
    chain: ChainId,
    params: Option<GenesisParams>,
    actors: HashMap<ActorId, Actor>,
    standings: HashMap<ActorId, Standing>,
    codebook: Codebook,
    key_owners: HashMap<[u8; 32], ActorId>,
    sequences: HashMap<ActorId, u64>,
    /// Where each consent is: its patient, and its place among the patient's consents.
    consents: HashMap<ConsentId, (ActorId, usize)>,
    /// Where each delegation is, likewise.
    delegations: HashMap<DelegationId, (ActorId, usize)>,
    /// Break-glass accesses not yet reviewed.
    pending_reviews: HashMap<AccessId, Access>,
    patients: HashMap<ActorId, PatientRecords>,
    /// What transactions recorded for the access history since the owner last took it; `None` when the
    /// owner keeps no history (a verification), so that nothing accumulates.
    recorded: Option<Vec<Recorded>>,
}

/// The state as of a height: records made or changed above it are invisible.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    state: &'a State,
    height: u64,
}

impl<'a> View<'a> {
    /// The height this view sees up to (`u64::MAX` for the latest state, submitted transactions included).
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The ledger's chain id.
    pub fn chain(&self) -> ChainId {
        self.state.chain()
    }

    /// Whether something stamped `stamp` is visible.
    pub fn sees(&self, stamp: &Stamp) -> bool {
        stamp.height <= self.height
    }

    fn seen(&self, stamp: Option<Stamp>) -> Option<Stamp> {
        stamp.filter(|s| self.sees(s))
    }

    /// Whether the chain's policy allows break-glass (false before genesis).
    pub fn break_glass_allowed(&self) -> bool {
        self.state.params.as_ref().is_some_and(|p| p.policy.break_glass_allowed)
    }

    /// A registered actor, with its deactivation only if visible.
    pub fn actor(&self, id: &ActorId) -> Option<Actor> {
        let actor = self.state.actors.get(id)?;
        if !actor.registered().is_some_and(|s| self.sees(&s)) {
            return None;
        }
        let mut actor = actor.clone();
        actor.keys.retain(|epoch| self.sees(&epoch.from));
        actor.deactivated = self.seen(actor.deactivated);
        Some(actor)
    }

    /// The patient's index, limited to what is visible.
    pub fn patient(&self, id: &ActorId) -> PatientIndex {
        let Some(index) = self.state.patients.get(id) else {
            return PatientIndex::default();
        };
        PatientIndex {
            consents: index.consents().iter().filter(|c| self.sees(&c.granted)).map(|c| c.id).collect(),
            delegations: index.delegations().iter().filter(|d| self.sees(&d.granted)).map(|d| d.id).collect(),
            erased: self.seen(index.erased),
        }
    }

    /// A consent, with its revocation only if visible.
    pub fn consent(&self, id: &ConsentId) -> Option<Consent> {
        let record = self.state.consent(id).filter(|r| self.sees(&r.granted))?;
        let mut record = record.clone();
        record.revoked = self.seen(record.revoked);
        Some(record)
    }

    /// A delegation, with its revocation only if visible.
    pub fn delegation(&self, id: &DelegationId) -> Option<Delegation> {
        let record = self.state.delegation(id).filter(|r| self.sees(&r.granted))?;
        let mut record = record.clone();
        record.revoked = self.seen(record.revoked);
        Some(record)
    }

    /// A visible actor's standing, for the consent engine.
    pub(crate) fn standing(&self, id: &ActorId) -> Option<Seen> {
        let standing = self.state.standings.get(id).filter(|s| s.registered_height <= self.height)?;
        let deactivated = standing.deactivated && standing.deactivated_height <= self.height;
        let erased = standing.erased && standing.erased_height <= self.height;
        Some(Seen {
            role: standing.role,
            registered: standing.registered_time,
            deactivated,
            deactivated_at: if deactivated { standing.deactivated_time } else { 0 },
            erased,
            erased_at: if erased { standing.erased_time } else { 0 },
        })
    }

    /// A visible actor's role, registration and visible deactivation, without copying its key history.
    pub fn actor_status(&self, id: &ActorId) -> Option<(Role, Stamp, Option<Stamp>)> {
        let actor = self.state.actors.get(id)?;
        let registered = actor.registered().filter(|s| self.sees(s))?;
        Some((actor.role, registered, self.seen(actor.deactivated)))
    }

    /// The patient's visible erasure.
    pub fn erased(&self, patient: &ActorId) -> Option<Stamp> {
        self.seen(self.state.patients.get(patient)?.erased)
    }

    /// The patient's visible consents, each with its visible revocation, without copying them.
    pub fn consent_records(&self, patient: &ActorId) -> impl Iterator<Item = (&'a Consent, Option<Stamp>)> + '_ {
        let state = self.state;
        state
            .patients
            .get(patient)
            .into_iter()
            .flat_map(|index| index.consents())
            .filter(|c| self.sees(&c.granted))
            .map(|c| (c, self.seen(c.revoked)))
    }

    /// The patient's visible delegations, each with its visible revocation, without copying them.
    pub fn delegation_records(&self, patient: &ActorId) -> impl Iterator<Item = (&'a Delegation, Option<Stamp>)> + '_ {
        let state = self.state;
        state
            .patients
            .get(patient)
            .into_iter()
            .flat_map(|index| index.delegations())
            .filter(|d| self.sees(&d.granted))
            .map(|d| (d, self.seen(d.revoked)))
    }

    /// Evaluates a consent question (DESIGN.md §5) on this view.
    pub fn check(&self, request: &CheckRequest) -> Result<Decision, crate::error::CheckError> {
        evaluate::evaluate(self, request)
    }

    /// Every visible actor, in id order.
    pub fn actors(&self) -> Vec<Actor> {
        let mut ids: Vec<&ActorId> = self.state.actors.keys().collect();
        ids.sort();
        ids.into_iter().filter_map(|id| self.actor(id)).collect()
    }
}

impl State {
    /// The state before genesis.
    pub fn new() -> Self {
        Self::default()
    }

    /// The chain id (all zeros before genesis).
    pub fn chain(&self) -> ChainId {
        self.chain
    }

    /// The genesis parameters, once genesis is applied.
    pub fn params(&self) -> Option<&GenesisParams> {
        self.params.as_ref()
    }

    /// The latest state, including transactions not yet sealed.
    pub fn latest(&self) -> View<'_> {
        View { state: self, height: u64::MAX }
    }

    /// The state after block `height`.
    pub fn as_of(&self, height: u64) -> View<'_> {
        View { state: self, height }
    }

    /// Keeps what transactions record for the access history until [`State::take_recorded`] takes it.
    pub(crate) fn keep_recorded(&mut self) {
        self.recorded.get_or_insert_with(Vec::new);
    }

    /// What transactions recorded for the access history since last taken (nothing unless kept).
    pub(crate) fn take_recorded(&mut self) -> Vec<Recorded> {
        self.recorded.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn note(&mut self, recorded: Recorded) {
        if let Some(journal) = self.recorded.as_mut() {
            journal.push(recorded);
        }
    }

    /// Break-glass accesses not yet reviewed, in ledger order.
    pub fn pending_reviews(&self) -> Vec<Access> {
        let mut pending: Vec<Access> = self.pending_reviews.values().cloned().collect();
        pending.sort_by_key(|a| (a.recorded.height, a.recorded.time, a.id));
        pending
    }

    /// The actor that `key` belongs to (its current or an earlier key).
    pub fn actor_of_key(&self, key: &PublicKey) -> Option<ActorId> {
        self.key_owners.get(&key.to_bytes()).copied()
    }

    /// The last sequence number used by `signer` (0 if none).
    pub fn last_sequence(&self, signer: &ActorId) -> u64 {
        self.sequences.get(signer).copied().unwrap_or(0)
    }

    /// How many authority seals a block needs (1 before genesis).
    pub fn seal_threshold(&self) -> usize {
        self.params.as_ref().map_or(1, |p| usize::from(p.seal_threshold))
    }

    /// Active authorities (ids) in the latest state.
    pub fn active_authorities(&self) -> Vec<ActorId> {
        let mut ids: Vec<ActorId> = self
            .actors
            .values()
            .filter(|a| a.role == Role::Authority && a.deactivated.is_none())
            .map(|a| a.id)
            .collect();
        ids.sort();
        ids
    }

    /// The key that must have signed `tx` (the signer's active key; the founder's key for genesis).
    pub fn signing_key(&self, tx: &SignedTx) -> Result<PublicKey, TxError> {
        self.signing_key_of(tx).copied()
    }

    /// [`State::signing_key`], borrowed.
    pub(crate) fn signing_key_of<'a>(&'a self, tx: &'a SignedTx) -> Result<&'a PublicKey, TxError> {
        if let Payload::Genesis(genesis) = &tx.body.payload {
            return genesis.params.authorities.first().ok_or(TxError::InvalidGenesis("no authorities"));
        }
        let actor = self.actors.get(&tx.body.signer).ok_or(TxError::UnknownSigner)?;
        actor.keys.last().map(|epoch| &epoch.key).ok_or(TxError::UnknownSigner)
    }

    /// Checks every rule for `tx` at `position` except its signature (the caller checks that with
    /// [`State::signing_key`], so that signature checks can be batched) and applies it.
    pub fn apply(&mut self, tx: &SignedTx, id: TxId, position: Position) -> Result<(), TxError> {
        self.apply_with(tx, id, position, &mut Proofs::Verify)
    }

    /// [`State::apply`], leaving the proofs of possession in `tx` to the caller: they are added to `proofs`
    /// and the transaction is applied as if they verified. For replays, which check them with the
    /// signatures after the rules (or, reopening a ledger from its own store, trust them as they trust the
    /// signatures).
    pub fn apply_deferring_proofs(
        &mut self,
        tx: &SignedTx,
        id: TxId,
        position: Position,
        proofs: &mut Vec<PendingProof>,
    ) -> Result<(), TxError> {
        self.apply_with(tx, id, position, &mut Proofs::Defer(proofs))
    }

    /// [`State::apply`], taking the proofs of possession among `valid` as verified (the caller verified
    /// them, with the signatures of a batch); any other is verified at once.
    pub(crate) fn apply_with_verified_proofs(
        &mut self,
        tx: &SignedTx,
        id: TxId,
        position: Position,
        valid: &[PendingProof],
    ) -> Result<(), TxError> {
        self.apply_with(tx, id, position, &mut Proofs::Verified(valid))
    }

    fn apply_with(&mut self, tx: &SignedTx, id: TxId, position: Position, proofs: &mut Proofs) -> Result<(), TxError> {
        let body = &tx.body;
        let is_genesis = matches!(body.payload, Payload::Genesis(_));
        if is_genesis != position.first {
            return Err(TxError::GenesisPosition);
        }
        if let Payload::Genesis(genesis) = &body.payload {
            return self.apply_genesis(tx, genesis, id, position, proofs);
        }
        if body.chain != self.chain {
            return Err(TxError::WrongChain);
        }
        let signer = self.actors.get(&body.signer).ok_or(TxError::UnknownSigner)?;
        if signer.deactivated.is_some() {
            return Err(TxError::SignerDeactivated);
        }
        let signer_role = signer.role;
        // Nothing acts before it exists: a signer registered earlier in this block cannot sign for an
        // instant before its registration.
        let earliest = position.earliest.max(signer.registered().map_or(0, |s| s.time));
        let expected = self.last_sequence(&body.signer).saturating_add(1);
        if body.seq != expected {
            return Err(TxError::BadSequence { expected, found: body.seq });
        }
        if body.time < earliest || body.time > position.latest {
            return Err(TxError::TimeOutOfRange { time: body.time, earliest, latest: position.latest });
        }
        let stamp = Stamp { height: position.height, time: body.time, tx: id };
        let ctx = Ctx { signer: body.signer, signer_role, stamp };
        match &body.payload {
            Payload::Genesis(_) => return Err(TxError::GenesisPosition),
            Payload::RegisterActor(reg) => self.register(&ctx, reg.key, reg.role, &reg.proof, proofs)?,
            Payload::RotateKey(rot) => self.rotate(&ctx, &rot.actor, rot.new_key, &rot.proof, proofs)?,
            Payload::DeactivateActor { actor } => self.deactivate(&ctx, actor)?,
            Payload::GrantConsent(grant) => self.grant_consent(&ctx, grant)?,
            Payload::RevokeConsent { consent } => self.revoke_consent(&ctx, consent)?,
            Payload::GrantDelegation(grant) => self.grant_delegation(&ctx, grant)?,
            Payload::RevokeDelegation { delegation } => self.revoke_delegation(&ctx, delegation)?,
            Payload::RecordAccess(access) => self.record_access(&ctx, access)?,
            Payload::ReviewBreakGlass { access, justified } => self.review(&ctx, access, *justified)?,
            Payload::AnchorRecord(anchor) => self.anchor(&ctx, anchor)?,
            Payload::EraseSubject { patient } => self.erase(&ctx, patient)?,
        }
        self.sequences.insert(body.signer, body.seq);
        Ok(())
    }

    fn apply_genesis(
        &mut self,
        tx: &SignedTx,
        genesis: &Genesis,
        id: TxId,
        position: Position,
        proofs: &mut Proofs,
    ) -> Result<(), TxError> {
        let params = &genesis.params;
        let founder = params.authorities.first().ok_or(TxError::InvalidGenesis("no authorities"))?;
        if !valid_chain_name(&params.name) {
            return Err(TxError::InvalidGenesis("chain name"));
        }
        if params.seal_threshold == 0 || usize::from(params.seal_threshold) > params.authorities.len() {
            return Err(TxError::InvalidGenesis("seal threshold"));
        }
        if genesis.proofs.len() != params.authorities.len() {
            return Err(TxError::InvalidGenesis("one proof of possession per authority"));
        }
        let chain = params.chain_id();
        if tx.body.chain != chain {
            return Err(TxError::WrongChain);
        }
        if tx.body.signer != ActorId::from_key(founder) {
            return Err(TxError::InvalidGenesis("signer must be the first authority"));
        }
        if tx.body.seq != 1 {
            return Err(TxError::BadSequence { expected: 1, found: tx.body.seq });
        }
        if tx.body.time > position.latest {
            return Err(TxError::TimeOutOfRange { time: tx.body.time, earliest: 0, latest: position.latest });
        }
        let mut keys = std::collections::HashSet::new();
        for (key, proof) in params.authorities.iter().zip(&genesis.proofs) {
            if !keys.insert(key.to_bytes()) {
                return Err(TxError::KeyInUse);
            }
            proofs.check(key, proof_of_possession_message(&chain, key), proof)?;
        }
        self.chain = chain;
        self.params = Some(params.clone());
        let stamp = Stamp { height: position.height, time: tx.body.time, tx: id };
        for key in &params.authorities {
            self.insert_actor(*key, Role::Authority, stamp);
        }
        self.sequences.insert(tx.body.signer, 1);
        Ok(())
    }

    fn insert_actor(&mut self, key: PublicKey, role: Role, stamp: Stamp) -> ActorId {
        let id = ActorId::from_key(&key);
        self.key_owners.insert(key.to_bytes(), id);
        self.actors.insert(id, Actor { id, role, keys: vec![KeyEpoch { key, from: stamp }], deactivated: None });
        self.standings.insert(id, Standing::new(role, stamp, None));
        id
    }

    fn check_new_key(
        &self,
        key: &PublicKey,
        proof: &crate::keys::Signature,
        proofs: &mut Proofs,
    ) -> Result<(), TxError> {
        if self.key_owners.contains_key(&key.to_bytes()) || self.actors.contains_key(&ActorId::from_key(key)) {
            return Err(TxError::KeyInUse);
        }
        proofs.check(key, proof_of_possession_message(&self.chain, key), proof)
    }

    fn register(
        &mut self,
        ctx: &Ctx,
        key: PublicKey,
        role: Role,
        proof: &crate::keys::Signature,
        proofs: &mut Proofs,
    ) -> Result<(), TxError> {
        if ctx.signer_role != Role::Authority {
            return Err(TxError::Unauthorized);
        }
        self.check_new_key(&key, proof, proofs)?;
        self.insert_actor(key, role, ctx.stamp);
        Ok(())
    }

    fn rotate(
        &mut self,
        ctx: &Ctx,
        actor: &ActorId,
        key: PublicKey,
        proof: &crate::keys::Signature,
        proofs: &mut Proofs,
    ) -> Result<(), TxError> {
        let target = self.actors.get(actor).ok_or(TxError::UnknownActor)?;
        // Authorities recover other actors' keys, but never another authority's: that would let one
        // authority seal in another's name and turn k-of-n into 1-of-n.
        let recovery = ctx.signer_role == Role::Authority && target.role != Role::Authority;
        if ctx.signer != *actor && !recovery {
            return Err(TxError::Unauthorized);
        }
        if target.deactivated.is_some() {
            return Err(TxError::AlreadyDeactivated);
        }
        self.check_new_key(&key, proof, proofs)?;
        self.key_owners.insert(key.to_bytes(), *actor);
        if let Some(target) = self.actors.get_mut(actor) {
            target.keys.push(KeyEpoch { key, from: ctx.stamp });
        }
        Ok(())
    }

    fn deactivate(&mut self, ctx: &Ctx, actor: &ActorId) -> Result<(), TxError> {
        if ctx.signer_role != Role::Authority {
            return Err(TxError::Unauthorized);
        }
        let target = self.actors.get(actor).ok_or(TxError::UnknownActor)?;
        if target.deactivated.is_some() {
            return Err(TxError::AlreadyDeactivated);
        }
        if target.role == Role::Authority && self.active_authorities().len() <= self.seal_threshold() {
            return Err(TxError::WouldBreakQuorum);
        }
        if let Some(target) = self.actors.get_mut(actor) {
            target.deactivated = Some(ctx.stamp);
        }
        if let Some(standing) = self.standings.get_mut(actor) {
            standing.deactivate(&ctx.stamp);
        }
        Ok(())
    }

    /// A consent, wherever its patient keeps it.
    fn consent(&self, id: &ConsentId) -> Option<&Consent> {
        let (patient, at) = self.consents.get(id)?;
        self.patients.get(patient)?.consent(*at)
    }

    /// Records a consent's revocation where its patient keeps it.
    fn set_consent_revoked(&mut self, id: &ConsentId, stamp: Stamp) {
        if let Some((patient, at)) = self.consents.get(id)
            && let Some(records) = self.patients.get_mut(patient)
        {
            records.revoke_consent(*at, stamp);
        }
    }

    /// A delegation, wherever its patient keeps it.
    fn delegation(&self, id: &DelegationId) -> Option<&Delegation> {
        let (patient, at) = self.delegations.get(id)?;
        self.patients.get(patient)?.delegation(*at)
    }

    /// Records a delegation's revocation where its patient keeps it.
    fn set_delegation_revoked(&mut self, id: &DelegationId, stamp: Stamp) {
        if let Some((patient, at)) = self.delegations.get(id)
            && let Some(records) = self.patients.get_mut(patient)
        {
            records.revoke_delegation(*at, stamp);
        }
    }

    /// A registered, not erased patient.
    fn live_patient(&self, patient: &ActorId) -> Result<(), TxError> {
        match self.actors.get(patient) {
            Some(actor) if actor.role == Role::Patient => {}
            _ => return Err(TxError::InvalidPatient),
        }
        if self.patients.get(patient).is_some_and(|p| p.erased.is_some()) {
            return Err(TxError::PatientErased);
        }
        Ok(())
    }

    /// A registered, active grantee or delegate.
    fn live_grantee(&self, actor: &ActorId) -> Result<(), TxError> {
        let actor = self.actors.get(actor).ok_or(TxError::UnknownGrantee)?;
        if actor.deactivated.is_some() {
            return Err(TxError::GranteeDeactivated);
        }
        Ok(())
    }

    /// Whether `ctx.signer` may manage `patient`'s consents at the transaction's time: the patient, or a
    /// delegate whose unrevoked manage delegation was granted at or before that time and whose window
    /// contains it (a delegation never reaches back before its own grant).
    fn may_manage(&self, ctx: &Ctx, patient: &ActorId) -> bool {
        ctx.signer == *patient
            || self.patients.get(patient).is_some_and(|records| records.manages(&ctx.signer, ctx.stamp.time))
    }

    /// Refuses a delegate's consent change that would widen the delegate's own access: a permit naming
    /// the delegate (by id or by its role), or the revocation of a deny rule naming it. A delegate
    /// manages consent for the patient's other grantees, never for itself.
    fn refuse_self_interest(ctx: &Ctx, rule: &ConsentGrant, widening: Effect) -> Result<(), TxError> {
        let names_signer = match rule.grantee {
            Grantee::Actor(id) => id == ctx.signer,
            Grantee::Role(role) => role == ctx.signer_role,
        };
        if ctx.signer != rule.patient && rule.effect == widening && names_signer {
            return Err(TxError::WidensOwnAccess);
        }
        Ok(())
    }

    /// The active permit of `patient` without exceptions that already covers `grant`, if any.
    pub fn covering_permit(&self, grant: &ConsentGrant) -> Option<&Consent> {
        self.covering_permit_besides(grant, &[])
    }

    /// [`State::covering_permit`], counting the consents of `revoking` as revoked.
    fn covering_permit_besides(&self, grant: &ConsentGrant, revoking: &[ConsentId]) -> Option<&Consent> {
        let index = self.patients.get(&grant.patient)?;
        index.consents().iter().find(|c| c.revoked.is_none() && !revoking.contains(&c.id) && c.grant.covers(grant))
    }

    /// Whether `signer` could make these consent changes at instant `time`, in this order: revoke each
    /// consent of `revoking`, then grant each of `grants` (each with the id its transaction will have). The
    /// rules of RevokeConsent and GrantConsent, each change judged with the earlier ones of the lists in
    /// force; `Err` names the first that would be refused. For changing several rules all or none
    /// ([`crate::Ledger::replace_consents`]).
    pub fn check_consent_changes(
        &self,
        signer: &ActorId,
        time: u64,
        revoking: &[ConsentId],
        grants: &[(ConsentId, ConsentGrant)],
    ) -> Result<(), RefusedChange> {
        let refuse_first = |refusal| {
            if revoking.is_empty() {
                RefusedChange::Grant { index: 0, refusal }
            } else {
                RefusedChange::Revocation { index: 0, refusal }
            }
        };
        let actor = self.actors.get(signer).ok_or_else(|| refuse_first(TxError::UnknownSigner))?;
        if actor.deactivated.is_some() {
            return Err(refuse_first(TxError::SignerDeactivated));
        }
        let stamp = Stamp { height: 0, time, tx: TxId::default() };
        let ctx = Ctx { signer: *signer, signer_role: actor.role, stamp };
        for (index, id) in revoking.iter().enumerate() {
            let refused = |refusal| RefusedChange::Revocation { index, refusal };
            if revoking.get(..index).unwrap_or_default().contains(id) {
                return Err(refused(TxError::ConsentAlreadyRevoked));
            }
            self.check_revocation(&ctx, id).map_err(refused)?;
        }
        for (index, (_, grant)) in grants.iter().enumerate() {
            let refused = |refusal| RefusedChange::Grant { index, refusal };
            self.check_grant(&ctx, grant, revoking).map_err(refused)?;
            let earlier = grants.get(..index).unwrap_or_default();
            if let Some((id, rule)) = earlier.iter().find(|(_, rule)| rule.covers(grant)) {
                return Err(refused(TxError::AlreadyHasAccess { existing: *id, until: rule.window.not_after }));
            }
        }
        Ok(())
    }

    /// Every rule of GrantConsent, without applying it, counting the consents of `revoking` as revoked.
    fn check_grant(&self, ctx: &Ctx, grant: &ConsentGrant, revoking: &[ConsentId]) -> Result<(), TxError> {
        self.live_patient(&grant.patient)?;
        if let Grantee::Actor(grantee) = &grant.grantee {
            self.live_grantee(grantee)?;
        }
        if grant.window.is_empty() {
            return Err(TxError::EmptyWindow);
        }
        if grant.effect == Effect::Permit && !grant.exceptions.is_empty() {
            return Err(TxError::ExceptionsOnPermit);
        }
        if !self.may_manage(ctx, &grant.patient) {
            return Err(TxError::Unauthorized);
        }
        Self::refuse_self_interest(ctx, grant, Effect::Permit)?;
        if grant.effect == Effect::Permit
            && let Some(existing) = self.covering_permit_besides(grant, revoking)
        {
            return Err(TxError::AlreadyHasAccess { existing: existing.id, until: existing.grant.window.not_after });
        }
        Ok(())
    }

    fn grant_consent(&mut self, ctx: &Ctx, grant: &ConsentGrant) -> Result<(), TxError> {
        self.check_grant(ctx, grant, &[])?;
        let id = ctx.stamp.tx;
        let consent = Consent { id, grant: grant.clone(), granted_by: ctx.signer, granted: ctx.stamp, revoked: None };
        let at = self.patients.entry(grant.patient).or_default().push_consent(consent, &mut self.codebook);
        self.consents.insert(id, (grant.patient, at));
        Ok(())
    }

    /// Every rule of RevokeConsent, without applying it.
    fn check_revocation(&self, ctx: &Ctx, consent: &ConsentId) -> Result<(), TxError> {
        let record = self.consent(consent).ok_or(TxError::UnknownConsent)?;
        if !self.may_manage(ctx, &record.grant.patient) {
            return Err(TxError::Unauthorized);
        }
        Self::refuse_self_interest(ctx, &record.grant, Effect::Deny)?;
        if record.revoked.is_some() {
            return Err(TxError::ConsentAlreadyRevoked);
        }
        Ok(())
    }

    fn revoke_consent(&mut self, ctx: &Ctx, consent: &ConsentId) -> Result<(), TxError> {
        self.check_revocation(ctx, consent)?;
        self.set_consent_revoked(consent, ctx.stamp);
        Ok(())
    }

    fn grant_delegation(&mut self, ctx: &Ctx, grant: &DelegationGrant) -> Result<(), TxError> {
        self.live_patient(&grant.patient)?;
        self.live_grantee(&grant.delegate)?;
        if grant.delegate == grant.patient {
            return Err(TxError::SelfDelegation);
        }
        if grant.window.is_empty() {
            return Err(TxError::EmptyWindow);
        }
        if ctx.signer != grant.patient && ctx.signer_role != Role::Authority {
            return Err(TxError::Unauthorized);
        }
        let id = ctx.stamp.tx;
        let delegation = Delegation { id, grant: grant.clone(), granted: ctx.stamp, revoked: None };
        let at = self.patients.entry(grant.patient).or_default().push_delegation(delegation);
        self.delegations.insert(id, (grant.patient, at));
        Ok(())
    }

    fn revoke_delegation(&mut self, ctx: &Ctx, delegation: &DelegationId) -> Result<(), TxError> {
        let record = self.delegation(delegation).ok_or(TxError::UnknownDelegation)?;
        if ctx.signer != record.grant.patient && ctx.signer_role != Role::Authority {
            return Err(TxError::Unauthorized);
        }
        if record.revoked.is_some() {
            return Err(TxError::DelegationAlreadyRevoked);
        }
        self.set_delegation_revoked(delegation, ctx.stamp);
        Ok(())
    }

    fn record_access(&mut self, ctx: &Ctx, access: &RecordAccess) -> Result<(), TxError> {
        if access.at > ctx.stamp.time {
            return Err(TxError::AccessInFuture);
        }
        let request = CheckRequest {
            patient: access.patient,
            requester: ctx.signer,
            section: access.section,
            purpose: access.purpose,
            action: access.action,
            at: access.at,
        };
        if matches!(&access.basis, AccessBasis::BreakGlass { reason, .. } if reason.is_wildcard()) {
            return Err(TxError::WildcardInRequest);
        }
        // An erased patient's data no longer exists: no access to it can be recorded, whatever its instant.
        if self.patients.get(&access.patient).is_some_and(|p| p.erased.is_some()) {
            return Err(TxError::PatientErased);
        }
        let decision = self.latest().check(&request).map_err(check_error)?;
        let matches = match &access.basis {
            AccessBasis::BreakGlass { .. } => decision == Decision::BreakGlass,
            claimed => decision.access_basis().as_ref() == Some(claimed),
        };
        if !decision.is_permitted() {
            return Err(TxError::AccessDenied(decision));
        }
        if !matches {
            return Err(TxError::BasisMismatch(decision));
        }
        let id = ctx.stamp.tx;
        let record = Access { id, accessor: ctx.signer, access: access.clone(), recorded: ctx.stamp, review: None };
        if matches!(access.basis, AccessBasis::BreakGlass { .. }) {
            self.pending_reviews.insert(id, record.clone());
        }
        self.note(Recorded::Access(record));
        Ok(())
    }

    fn review(&mut self, ctx: &Ctx, access: &AccessId, justified: bool) -> Result<(), TxError> {
        if !matches!(ctx.signer_role, Role::Auditor | Role::Authority) {
            return Err(TxError::Unauthorized);
        }
        // Only a pending break-glass access can be reviewed. The state keeps no other access (they are in the
        // ledger's history), so any other id is refused as unknown here; `Ledger::submit` names the precise
        // reason (`NotBreakGlass`, `AlreadyReviewed`) from the history.
        let record = self.pending_reviews.remove(access).ok_or(TxError::UnknownAccess)?;
        let review = Review { reviewer: ctx.signer, justified, reviewed: ctx.stamp };
        self.note(Recorded::Review { access: record, review });
        Ok(())
    }

    fn anchor(&mut self, ctx: &Ctx, anchor: &AnchorRecord) -> Result<(), TxError> {
        self.live_patient(&anchor.patient)?;
        // An anchor commits to one version of one section, written for one purpose, whoever signs it.
        if anchor.section.is_wildcard() || anchor.purpose.is_wildcard() {
            return Err(TxError::WildcardInRequest);
        }
        if ctx.signer_role != Role::Authority {
            if ctx.signer_role != Role::Provider {
                return Err(TxError::Unauthorized);
            }
            let request = CheckRequest {
                patient: anchor.patient,
                requester: ctx.signer,
                section: anchor.section,
                purpose: anchor.purpose,
                action: crate::codes::Action::Write,
                at: ctx.stamp.time,
            };
            let decision = self.latest().check(&request).map_err(check_error)?;
            if !matches!(decision, Decision::Permit(_)) {
                return Err(TxError::AccessDenied(decision));
            }
        }
        self.note(Recorded::Anchor(Anchor { writer: ctx.signer, anchor: anchor.clone(), anchored: ctx.stamp }));
        Ok(())
    }

    fn erase(&mut self, ctx: &Ctx, patient: &ActorId) -> Result<(), TxError> {
        match self.actors.get(patient) {
            Some(actor) if actor.role == Role::Patient => {}
            _ => return Err(TxError::InvalidPatient),
        }
        if ctx.signer != *patient && ctx.signer_role != Role::Authority {
            return Err(TxError::Unauthorized);
        }
        let index = self.patients.entry(*patient).or_default();
        if index.erased.is_some() {
            return Err(TxError::AlreadyErased);
        }
        index.erased = Some(ctx.stamp);
        if let Some(standing) = self.standings.get_mut(patient) {
            standing.erase(&ctx.stamp);
        }
        Ok(())
    }
}

/// The transaction refusal for a consent question that has no answer: a wildcard, a patient that is not
/// one (or not yet, at the instant named), or a signer not yet registered at the instant named.
fn check_error(error: crate::error::CheckError) -> TxError {
    match error {
        crate::error::CheckError::WildcardInRequest => TxError::WildcardInRequest,
        crate::error::CheckError::UnknownActor => TxError::UnknownActor,
        _ => TxError::InvalidPatient,
    }
}

/// The first change of a list that would be refused ([`State::check_consent_changes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefusedChange {
    /// Revocation `index` of the list.
    Revocation {
        /// Its place in the list.
        index: usize,
        /// Why.
        refusal: TxError,
    },
    /// Grant `index` of the list.
    Grant {
        /// Its place in the list.
        index: usize,
        /// Why.
        refusal: TxError,
    },
}

/// Facts about the transaction being applied that every handler needs.
struct Ctx {
    signer: ActorId,
    signer_role: Role,
    stamp: Stamp,
}

#[cfg(test)]
mod rules_tests;
