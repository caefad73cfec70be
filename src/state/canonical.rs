//! The state's canonical encoding (docs/FORMAT.md, "State snapshot"): what a state snapshot holds of the
//! state, one byte string for one state whatever order it was built in.
//!
//! Only what replay decides is encoded: the genesis parameters, every actor with its keys, deactivation and
//! last sequence number, every patient's consents, delegations and erasure in ledger order, and the pending
//! break-glass reviews. Everything derived (the maps by key, consent and delegation, the standings, the
//! consent engine's compact copies) is rebuilt on decoding. Decoding checks what a replay guarantees and the
//! rebuilt maps rely on: sorted, distinct ids; ids that are their keys' hashes; consents and delegations
//! filed under their own patient, a registered patient; nothing stamped after the snapshot's height.

use crate::codec::{Decode, DecodeError, DecodeErrorKind, Encode, Reader, put_len, put_option};
use crate::codes::Role;
use crate::ids::{ActorId, TxId};
use crate::keys::PublicKey;
use crate::tx::{AccessBasis, ConsentGrant, DelegationGrant, GenesisParams, RecordAccess};

use super::rules::PatientRecords;
use super::{Access, Actor, Consent, Delegation, KeyEpoch, Stamp, Standing, State};

fn put_stamp(out: &mut Vec<u8>, stamp: &Stamp) {
    stamp.height.encode(out);
    stamp.time.encode(out);
    stamp.tx.encode(out);
}

/// A stamp, which must not be above `height`.
fn stamp(r: &mut Reader<'_>, height: u64) -> Result<Stamp, DecodeError> {
    let at = r.position();
    let stamp = Stamp { height: r.u64()?, time: r.u64()?, tx: TxId::decode(r)? };
    if stamp.height > height {
        return Err(r.error_at(at, DecodeErrorKind::Invalid("stamp above the snapshot's height")));
    }
    Ok(stamp)
}

/// A count of items that each take at least `min_item` bytes: never more than the bytes left allow, so that
/// a forged count cannot make the decoder allocate.
fn count(r: &mut Reader<'_>, what: &'static str, min_item: usize) -> Result<usize, DecodeError> {
    let left = r.remaining();
    r.len(what, left / min_item.max(1))
}

/// Fails with `what` unless `ok`.
fn ensure(r: &Reader<'_>, at: usize, ok: bool, what: &'static str) -> Result<(), DecodeError> {
    if ok { Ok(()) } else { Err(r.error_at(at, DecodeErrorKind::Invalid(what))) }
}

impl State {
    /// Appends the canonical encoding of this state (which must be after genesis, with nothing recorded
    /// that is not sealed: see [`State::decode_canonical`]).
    pub(crate) fn encode_canonical(&self, out: &mut Vec<u8>) {
        put_option(out, self.params.as_ref(), |out, params| params.encode(out));
        let mut actors: Vec<&Actor> = self.actors.values().collect();
        actors.sort_unstable_by_key(|a| a.id);
        put_len(out, actors.len());
        for actor in actors {
            actor.role.encode(out);
            put_len(out, actor.keys.len());
            for epoch in &actor.keys {
                epoch.key.encode(out);
                put_stamp(out, &epoch.from);
            }
            put_option(out, actor.deactivated.as_ref(), put_stamp);
            self.last_sequence(&actor.id).encode(out);
        }
        let mut patients: Vec<(&ActorId, &PatientRecords)> = self.patients.iter().collect();
        patients.sort_unstable_by_key(|(id, _)| **id);
        put_len(out, patients.len());
        for (id, records) in patients {
            id.encode(out);
            put_len(out, records.consents().len());
            for consent in records.consents() {
                consent.grant.encode(out);
                consent.granted_by.encode(out);
                put_stamp(out, &consent.granted);
                put_option(out, consent.revoked.as_ref(), put_stamp);
            }
            put_len(out, records.delegations().len());
            for delegation in records.delegations() {
                delegation.grant.encode(out);
                put_stamp(out, &delegation.granted);
                put_option(out, delegation.revoked.as_ref(), put_stamp);
            }
            put_option(out, records.erased.as_ref(), put_stamp);
        }
        let mut pending: Vec<&Access> = self.pending_reviews.values().collect();
        pending.sort_unstable_by_key(|a| a.id);
        put_len(out, pending.len());
        for access in pending {
            access.accessor.encode(out);
            put_stamp(out, &access.recorded);
            access.access.encode(out);
        }
    }

    /// Decodes [`State::encode_canonical`]'s bytes for the state after block `height`, rebuilding every
    /// derived map. Refuses what no replay produces (see the module documentation).
    pub(crate) fn decode_canonical(r: &mut Reader<'_>, height: u64) -> Result<Self, DecodeError> {
        let mut state = State::new();
        let at = r.position();
        let params = r.option(GenesisParams::decode)?;
        let params = params.ok_or_else(|| r.error_at(at, DecodeErrorKind::Invalid("snapshot before genesis")))?;
        state.chain = params.chain_id();
        state.params = Some(params);
        state.decode_actors(r, height)?;
        state.decode_patients(r, height)?;
        state.decode_pending(r, height)?;
        Ok(state)
    }

    fn decode_actors(&mut self, r: &mut Reader<'_>, height: u64) -> Result<(), DecodeError> {
        let actors = count(r, "actors", 90)?;
        let mut last: Option<ActorId> = None;
        for _ in 0..actors {
            let at = r.position();
            let role = Role::decode(r)?;
            let keys = count(r, "keys", 80)?;
            ensure(r, at, keys > 0, "actor without a key")?;
            let mut epochs: Vec<KeyEpoch> = Vec::with_capacity(keys);
            for _ in 0..keys {
                let at = r.position();
                let bytes: [u8; 32] = r.array()?;
                let key = PublicKey::from_validated_bytes(&bytes)
                    .ok_or_else(|| r.error_at(at, DecodeErrorKind::Invalid("public key")))?;
                let epoch = KeyEpoch { key, from: stamp(r, height)? };
                let ordered = epochs.last().is_none_or(|prev| prev.from.height <= epoch.from.height);
                ensure(r, at, ordered, "key epochs out of order")?;
                ensure(r, at, !self.key_owners.contains_key(&epoch.key.to_bytes()), "key of two actors")?;
                epochs.push(epoch);
            }
            let deactivated = r.option(|r| stamp(r, height))?;
            let sequence = r.u64()?;
            let Some(first) = epochs.first() else { return Err(r.error_at(at, DecodeErrorKind::Truncated)) };
            let id = ActorId::from_key(&first.key);
            ensure(r, at, last.is_none_or(|last| last < id), "actors not in id order")?;
            last = Some(id);
            let registered = first.from;
            for epoch in &epochs {
                self.key_owners.insert(epoch.key.to_bytes(), id);
            }
            if sequence > 0 {
                self.sequences.insert(id, sequence);
            }
            self.standings.insert(id, Standing::new(role, registered, deactivated));
            self.actors.insert(id, Actor { id, role, keys: epochs, deactivated });
        }
        Ok(())
    }

    fn decode_patients(&mut self, r: &mut Reader<'_>, height: u64) -> Result<(), DecodeError> {
        let patients = count(r, "patients", 41)?;
        let mut last: Option<ActorId> = None;
        for _ in 0..patients {
            let at = r.position();
            let patient = ActorId::decode(r)?;
            ensure(r, at, last.is_none_or(|last| last < patient), "patients not in id order")?;
            last = Some(patient);
            let registered = self.actors.get(&patient).is_some_and(|a| a.role == Role::Patient);
            ensure(r, at, registered, "records of an actor that is not a registered patient")?;
            let mut records = PatientRecords::default();
            for _ in 0..count(r, "consents", 100)? {
                let at = r.position();
                let grant = ConsentGrant::decode(r)?;
                let granted_by = ActorId::decode(r)?;
                let granted = stamp(r, height)?;
                let revoked = r.option(|r| stamp(r, height))?;
                let id = granted.tx;
                ensure(r, at, grant.patient == patient, "consent filed under another patient")?;
                ensure(r, at, !self.consents.contains_key(&id), "consent twice")?;
                let consent = Consent { id, grant, granted_by, granted, revoked: None };
                let place = records.push_consent(consent, &mut self.codebook);
                if let Some(revoked) = revoked {
                    records.revoke_consent(place, revoked);
                }
                self.consents.insert(id, (patient, place));
            }
            for _ in 0..count(r, "delegations", 100)? {
                let at = r.position();
                let grant = DelegationGrant::decode(r)?;
                let granted = stamp(r, height)?;
                let revoked = r.option(|r| stamp(r, height))?;
                let id = granted.tx;
                ensure(r, at, grant.patient == patient, "delegation filed under another patient")?;
                ensure(r, at, !self.delegations.contains_key(&id), "delegation twice")?;
                let place = records.push_delegation(Delegation { id, grant, granted, revoked: None });
                if let Some(revoked) = revoked {
                    records.revoke_delegation(place, revoked);
                }
                self.delegations.insert(id, (patient, place));
            }
            records.erased = r.option(|r| stamp(r, height))?;
            if let (Some(erased), Some(standing)) = (records.erased, self.standings.get_mut(&patient)) {
                standing.erase(&erased);
            }
            self.patients.insert(patient, records);
        }
        Ok(())
    }

    fn decode_pending(&mut self, r: &mut Reader<'_>, height: u64) -> Result<(), DecodeError> {
        let pending = count(r, "pending reviews", 100)?;
        let mut last: Option<TxId> = None;
        for _ in 0..pending {
            let at = r.position();
            let accessor = ActorId::decode(r)?;
            let recorded = stamp(r, height)?;
            let access = RecordAccess::decode(r)?;
            let id = recorded.tx;
            ensure(r, at, last.is_none_or(|last| last < id), "pending reviews not in id order")?;
            last = Some(id);
            ensure(r, at, matches!(access.basis, AccessBasis::BreakGlass { .. }), "pending review of no break-glass")?;
            ensure(r, at, self.actors.contains_key(&accessor), "pending review of an unknown accessor")?;
            self.pending_reviews.insert(id, Access { id, accessor, access, recorded, review: None });
        }
        Ok(())
    }
}
