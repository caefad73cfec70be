//! Submitting signed transactions: one at a time, or many at once with their signatures checked together
//! (one batch verification, spread over the cores) before the rules are applied in order.
//!
//! Either way a transaction is encoded once: its encoding is checked canonical, hashed into its id and
//! Merkle leaf, and kept until its block is sealed, whose encoding is made of these bytes.

use super::{Granted, Ledger, LedgerError};
use crate::block::{MAX_BLOCK_BYTES, MAX_TX_LEN, MAX_TXS_PER_BLOCK};
use crate::codec::{Decode, Encode};
use crate::codec::{DecodeError, DecodeErrorKind};
use crate::error::TxError;
use crate::hash::Hash256;
use crate::ids::{ActorId, ChainId, ConsentId, TxId};
use crate::keys::SigningKey;
use crate::keys::{PublicKey, SignedMessage, verify_batch};
use crate::merkle::leaf_hash;
use crate::state::{PendingProof, Position, RefusedChange};
use crate::store::Store;
use crate::tx::{
    AccessBasis, ConsentGrant, Payload, SignedTx, id_of_encoded, proof_of_possession_message, signing_message,
};

/// Signatures below which a batch is checked on the calling thread alone.
const PARALLEL_FROM: usize = 512;

/// A transaction's canonical encoding and what is hashed from it.
struct Encoded {
    bytes: Vec<u8>,
    id: TxId,
    /// Its Merkle leaf hash.
    leaf: Hash256,
    /// The message its signature signs.
    message: Vec<u8>,
    /// The proofs of possession it carries that were found valid with its batch's signatures.
    valid_proofs: Vec<PendingProof>,
}

/// Encodes `tx`, refusing an oversized one and a value without a canonical encoding (what is stored must
/// decode to the same thing).
fn encode(tx: &SignedTx) -> Result<Encoded, LedgerError> {
    let bytes = tx.to_bytes();
    let malformed = |kind| LedgerError::Tx(TxError::Malformed(DecodeError { offset: 0, kind }));
    if bytes.len() > MAX_TX_LEN {
        return Err(malformed(DecodeErrorKind::TooLong {
            what: "transaction",
            len: bytes.len() as u64,
            max: MAX_TX_LEN as u64,
        }));
    }
    match SignedTx::from_bytes(&bytes) {
        Ok(decoded) if decoded == *tx => {}
        Ok(_) => return Err(malformed(DecodeErrorKind::NonCanonical("transaction"))),
        Err(e) => return Err(TxError::Malformed(e).into()),
    }
    let id = id_of_encoded(&bytes);
    Ok(Encoded { message: signing_message(&id), leaf: leaf_hash(&bytes), bytes, id, valid_proofs: Vec::new() })
}

/// How a transaction of a batch stands after the batch's signature check.
enum Signature {
    /// Checked, valid.
    Valid,
    /// Checked, invalid.
    Invalid,
    /// To be checked when its turn comes: its signing key may change within the batch (an earlier
    /// transaction rotates or registers it), or could not be known before.
    AtItsTurn,
}

impl<S: Store> Ledger<S> {
    /// Validates a signed transaction against the current state and queues it for the next block.
    pub fn submit(&mut self, tx: SignedTx) -> Result<TxId, LedgerError> {
        self.writable()?;
        let encoded = self.check_room(encode(&tx)?)?;
        self.admit(tx, encoded, Signature::AtItsTurn)
    }

    /// Submits `txs` in order, as [`Ledger::submit`] would one after the other, with one result each; their
    /// signatures are checked first, together (one batch verification on each core for large batches), and
    /// then the rules in order. A transaction refused does not stop the others: each later one is judged
    /// on the state the accepted ones made. Once the block is full every later one is refused with
    /// [`LedgerError::BlockFull`]: seal, and submit those again.
    ///
    /// A transaction whose signer's key an earlier one of the batch rotates or registers is checked alone,
    /// at its turn, against the key then active: the batch accepts exactly what one-by-one submission does.
    ///
    /// ```
    /// use healthchain::*;
    ///
    /// let hospital = SigningKey::generate()?;
    /// let mut ledger = Ledger::create(MemoryStore::new(), Box::new(ManualClock::new(1_700_000_000_000)),
    ///                                 &LedgerSettings::new("batch-example"), &[&hospital])?;
    /// let authority = ledger.actor_of_key(&hospital.public_key()).ok_or("no authority")?;
    /// let (a, b) = (SigningKey::generate()?, SigningKey::generate()?);
    /// let register = |key: &SigningKey, role| {
    ///     let proof = key.prove_possession(&ledger.chain());
    ///     Payload::RegisterActor(RegisterActor { key: key.public_key(), role, proof })
    /// };
    /// let bodies = ledger.prepare_batch(authority, [register(&a, Role::Patient), register(&b, Role::Provider)]);
    /// let mut signed: Vec<SignedTx> = bodies.into_iter().map(|body| body.sign(&hospital)).collect();
    /// signed[1].signature.0[0] ^= 1; // a forged second one
    /// let results = ledger.submit_batch(signed);
    /// assert!(results[0].is_ok());
    /// assert!(matches!(results[1], Err(LedgerError::Tx(TxError::BadSignature))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_batch(&mut self, txs: Vec<SignedTx>) -> Vec<Result<TxId, LedgerError>> {
        let keys = self.batch_keys(&txs);
        let checked = encode_and_check(&txs, &keys, &self.chain());
        txs.into_iter()
            .zip(checked)
            .map(|(tx, (encoded, signature))| {
                self.writable()?;
                self.check_room(encoded?).and_then(|encoded| self.admit(tx, encoded, signature))
            })
            .collect()
    }

    /// Grants several consents all or none, signed by `signer` (the patient, or a delegate with manage
    /// scope), in this order: [`Ledger::replace_consents`] revoking nothing. A FHIR Consent becomes several
    /// rules this way (docs/FHIR.md).
    pub fn grant_consents(
        &mut self,
        signer: &SigningKey,
        grants: Vec<ConsentGrant>,
    ) -> Result<Vec<Granted>, LedgerError> {
        self.replace_consents(signer, &[], grants)
    }

    /// Revokes the consents of `revoke`, then grants `grants`, all or none, signed by `signer` (the patient,
    /// or a delegate with manage scope): each change is checked first, in this order and with the earlier
    /// ones in force ([`State::check_consent_changes`](crate::State::check_consent_changes)), so a grant
    /// may restate a permit that a revocation of the list ends. Only if every change would be accepted and
    /// all fit in the block being filled are they submitted, revocations first; they are sealed in one
    /// block. An updated FHIR Consent replaces its earlier import this way (docs/FHIR.md). Refused, with
    /// nothing submitted: [`LedgerError::RevokeRefused`] or [`LedgerError::GrantRefused`] naming the first
    /// change refused and why (a malformed one too), [`LedgerError::BlockFull`], and the signer's key
    /// errors. Returns the grants' consent ids, in order.
    pub fn replace_consents(
        &mut self,
        signer: &SigningKey,
        revoke: &[ConsentId],
        grants: Vec<ConsentGrant>,
    ) -> Result<Vec<Granted>, LedgerError> {
        self.writable()?;
        let actor = self.active_signer(signer)?;
        let until: Vec<Option<u64>> = grants.iter().map(|grant| grant.window.not_after).collect();
        let revocations = revoke.iter().map(|consent| Payload::RevokeConsent { consent: *consent });
        let bodies = self.prepare_batch(actor, revocations.chain(grants.into_iter().map(Payload::GrantConsent)));
        let time = bodies.first().map_or_else(|| self.now(), |body| body.time);
        let txs: Vec<SignedTx> = bodies.into_iter().map(|body| body.sign(signer)).collect();
        let refused = |index: usize, refusal| match index.checked_sub(revoke.len()) {
            None => LedgerError::RevokeRefused { index, refusal },
            Some(index) => LedgerError::GrantRefused { index, refusal },
        };
        let mut encoded = Vec::with_capacity(txs.len());
        let mut listed = Vec::with_capacity(txs.len());
        for (index, tx) in txs.iter().enumerate() {
            let one = encode(tx).map_err(|error| match error {
                LedgerError::Tx(refusal) => refused(index, refusal),
                other => other,
            })?;
            if let Payload::GrantConsent(grant) = &tx.body.payload {
                listed.push((one.id, grant.clone()));
            }
            encoded.push(one);
        }
        self.state().check_consent_changes(&actor, time, revoke, &listed).map_err(|change| match change {
            RefusedChange::Revocation { index, refusal } => LedgerError::RevokeRefused { index, refusal },
            RefusedChange::Grant { index, refusal } => LedgerError::GrantRefused { index, refusal },
        })?;
        let bytes: usize = encoded.iter().map(|e| e.bytes.len() + 4).sum();
        if self.pending.len() + txs.len() > MAX_TXS_PER_BLOCK || self.pending_bytes + bytes > MAX_BLOCK_BYTES {
            return Err(LedgerError::BlockFull);
        }
        // Checked above: the signer, its sequence numbers and time are those of the first, which would be
        // refused before anything is queued.
        let mut granted = Vec::with_capacity(until.len());
        let mut until = until.into_iter();
        for (tx, encoded) in txs.into_iter().zip(encoded) {
            let is_grant = matches!(tx.body.payload, Payload::GrantConsent(_));
            let id = self.admit(tx, encoded, Signature::Valid)?;
            if is_grant {
                granted.push(Granted { consent: id, until: until.next().flatten() });
            }
        }
        Ok(granted)
    }

    /// Checks that an encoded transaction fits in the block being filled.
    fn check_room(&self, encoded: Encoded) -> Result<Encoded, LedgerError> {
        if self.pending.len() >= MAX_TXS_PER_BLOCK || self.pending_bytes + encoded.bytes.len() + 4 > MAX_BLOCK_BYTES {
            return Err(LedgerError::BlockFull);
        }
        Ok(encoded)
    }

    /// The key each transaction of a batch must be signed with, as far as the current state tells it: `None`
    /// for one whose signer is unknown, or whose key an earlier transaction of the batch could change.
    fn batch_keys<'a>(&'a self, txs: &'a [SignedTx]) -> Vec<Option<&'a PublicKey>> {
        let state = self.replayer.state();
        let mut changing: foldhash::HashSet<ActorId> = foldhash::HashSet::default();
        txs.iter()
            .map(|tx| {
                let key = if changing.contains(&tx.body.signer) { None } else { state.signing_key_of(tx).ok() };
                let changed = match &tx.body.payload {
                    Payload::RotateKey(rotation) => Some(rotation.actor),
                    Payload::RegisterActor(registration) => Some(ActorId::from_key(&registration.key)),
                    _ => None,
                };
                changing.extend(changed);
                key
            })
            .collect()
    }

    /// The precise refusal of a review that names no pending break-glass access, which the state alone
    /// cannot tell apart (it keeps no other access): an access that is not break-glass, or one already
    /// reviewed.
    fn refine(&self, tx: &SignedTx, error: TxError) -> TxError {
        let (TxError::UnknownAccess, Payload::ReviewBreakGlass { access, .. }) = (&error, &tx.body.payload) else {
            return error;
        };
        match self.history.access(access) {
            Ok(Some(found)) if matches!(found.access.basis, AccessBasis::BreakGlass { .. }) => TxError::AlreadyReviewed,
            Ok(Some(_)) => TxError::NotBreakGlass,
            // Unknown, or the history unreadable: the state's own answer.
            _ => error,
        }
    }

    /// Checks the signature (unless already checked) and the rules of `tx`, and queues it.
    fn admit(&mut self, tx: SignedTx, encoded: Encoded, signature: Signature) -> Result<TxId, LedgerError> {
        let state = self.replayer.state();
        // A signature checked with its batch was checked against the key the state gives now.
        let valid = match signature {
            Signature::Valid => true,
            Signature::Invalid => false,
            Signature::AtItsTurn => state.signing_key_of(&tx)?.verify(&encoded.message, &tx.signature),
        };
        if !valid {
            return Err(TxError::BadSignature.into());
        }
        let skew = state.params().map_or(0, |p| p.policy.max_clock_skew_ms);
        let position = Position {
            height: self.block_count(),
            earliest: self.earliest_tx_time(),
            latest: self.now().saturating_add(skew),
            first: false,
        };
        let state = self.replayer.state_mut();
        if let Err(error) = state.apply_with_verified_proofs(&tx, encoded.id, position, &encoded.valid_proofs) {
            return Err(self.refine(&tx, error).into());
        }
        for recorded in state.take_recorded() {
            self.history.record(recorded);
        }
        self.pending_bytes += encoded.bytes.len() + 4;
        self.queue_leaf(encoded.id, encoded.leaf);
        self.pending_encodings.push(encoded.bytes);
        self.pending.push(tx);
        Ok(encoded.id)
    }
}

/// Encodes the transactions of a batch and checks the signatures of those whose keys are known, and the
/// proofs of possession of the keys they register or rotate to (on `chain`), in order: on the calling thread
/// for a small batch, else a contiguous part on each core, where it is encoded and batch verified.
fn encode_and_check(
    txs: &[SignedTx],
    keys: &[Option<&PublicKey>],
    chain: &ChainId,
) -> Vec<(Result<Encoded, LedgerError>, Signature)> {
    let workers =
        if txs.len() < PARALLEL_FROM { 1 } else { std::thread::available_parallelism().map_or(1, usize::from) };
    if workers == 1 {
        return encode_and_judge(txs, keys, chain);
    }
    let chunk = txs.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = txs
            .chunks(chunk)
            .zip(keys.chunks(chunk))
            .map(|(part, keys)| scope.spawn(move || encode_and_judge(part, keys, chain)))
            .collect();
        handles
            .into_iter()
            .zip(txs.chunks(chunk))
            .flat_map(|(handle, part)| {
                // A worker that panicked leaves its part to be encoded here and its signatures and proofs
                // to be checked at their turn.
                handle.join().unwrap_or_else(|_| part.iter().map(|tx| (encode(tx), Signature::AtItsTurn)).collect())
            })
            .collect()
    })
}

/// The proof of possession `tx` carries for a key it registers or rotates to, if any.
fn proof_in(tx: &SignedTx, chain: &ChainId) -> Option<PendingProof> {
    let (key, proof) = match &tx.body.payload {
        Payload::RegisterActor(registration) => (registration.key, registration.proof),
        Payload::RotateKey(rotation) => (rotation.new_key, rotation.proof),
        _ => return None,
    };
    Some(PendingProof { message: proof_of_possession_message(chain, &key), key, proof })
}

/// Encodes `txs` and judges the signatures of those whose keys `keys` gives, and their proofs of
/// possession: all in one batch, or one by one if the batch fails.
fn encode_and_judge(
    txs: &[SignedTx],
    keys: &[Option<&PublicKey>],
    chain: &ChainId,
) -> Vec<(Result<Encoded, LedgerError>, Signature)> {
    let mut encoded: Vec<Result<Encoded, LedgerError>> = txs.iter().map(encode).collect();
    let proofs: Vec<Option<PendingProof>> =
        txs.iter().zip(&encoded).map(|(tx, encoded)| encoded.as_ref().ok().and_then(|_| proof_in(tx, chain))).collect();
    // What is checked: each signature whose key is known (tagged with its transaction's index), and each
    // proof (tagged with none).
    let checked: Vec<(Option<usize>, SignedMessage<'_>)> = txs
        .iter()
        .zip(&encoded)
        .zip(keys)
        .enumerate()
        .filter_map(|(at, ((tx, encoded), key))| {
            let (Ok(encoded), Some(key)) = (encoded, key) else { return None };
            Some((Some(at), SignedMessage { key, message: &encoded.message, signature: &tx.signature }))
        })
        .chain(
            proofs
                .iter()
                .flatten()
                .map(|p| (None, SignedMessage { key: &p.key, message: &p.message, signature: &p.proof })),
        )
        .collect();
    let messages: Vec<SignedMessage<'_>> = checked.iter().map(|(_, m)| *m).collect();
    let valid: Vec<bool> = if verify_batch(&messages) {
        vec![true; messages.len()]
    } else {
        messages.iter().map(|m| m.key.verify(m.message, m.signature)).collect()
    };
    let mut verdicts: Vec<Signature> = txs.iter().map(|_| Signature::AtItsTurn).collect();
    let mut proof_verdicts = Vec::new();
    for ((at, _), valid) in checked.iter().zip(valid) {
        match at.and_then(|at| verdicts.get_mut(at)) {
            Some(slot) => *slot = if valid { Signature::Valid } else { Signature::Invalid },
            None => proof_verdicts.push(valid),
        }
    }
    let mut proof_verdicts = proof_verdicts.into_iter();
    for (encoded, proof) in encoded.iter_mut().zip(proofs) {
        // In the order they were chained above: one verdict per proof found.
        if let Some(proof) = proof
            && proof_verdicts.next() == Some(true)
            && let Ok(encoded) = encoded
        {
            encoded.valid_proofs.push(proof);
        }
    }
    encoded.into_iter().zip(verdicts).collect()
}
