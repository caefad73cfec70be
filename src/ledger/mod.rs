//! The ledger API: create a ledger, build, sign and submit transactions, seal blocks, query state and
//! verify everything from genesis.
//!
//! Submitted transactions are validated at once against the state including earlier submissions, and
//! become durable when a block holding them is sealed and appended to the store.

use crate::block::{BlockHeader, MAX_BLOCK_BYTES, MAX_TXS_PER_BLOCK, Seal, encode_block};
use crate::clock::Clock;
use crate::codec::Encode;
use crate::codes::Role;
use crate::consent::{CheckRequest, Decision};
use crate::error::{CheckError, TxError};
use crate::hash::Hash256;
use crate::history::{History, HistoryError, history_path};
use crate::ids::{AccessId, ActorId, ConsentId, DelegationId, TxId};
use crate::keys::{KeyError, PublicKey, SigningKey};
use crate::merkle::{MerkleTree, leaf_hash};
use crate::replay::{Replayer, VerifyFailure, VerifyReport, check_seals, replay_blocks, sealing_key};
use crate::state::{Access, Actor, Anchor, Consent, Delegation, Position, State, View};
use crate::store::{FileStore, OpenOptions, Store, StoreError};
use crate::tx::{
    AnchorRecord, ConsentGrant, DelegationGrant, Genesis, GenesisParams, Payload, Policy, RecordAccess, RegisterActor,
    RotateKey, SignedTx, TxBody, id_of_encoded,
};
use std::path::Path;

mod carried;
mod proofs;
mod snapshots;
mod submit;

use carried::Carried;
pub use carried::{CARRIED_MAGIC, MAX_CARRIED, checkpoints_path, read_carried_checkpoints};
use proofs::ProofIndex;
pub use proofs::tiles_dir;
use snapshots::Snapshots;
pub use snapshots::{DEFAULT_SNAPSHOT_INTERVAL, SNAPSHOT_BYTES_PER_REPLAYED_TX};

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The transaction was refused; nothing changed.
    #[error(transparent)]
    Tx(#[from] TxError),
    /// A consent question could not be answered.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// The store refused or failed. A failed append while sealing also poisons the ledger
    /// ([`LedgerError::Poisoned`] until reopened); a refusal such as [`StoreError::ReadOnly`] does not.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key could not be made.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The store's content does not verify; nothing was changed.
    #[error("ledger does not verify: {failure}{}", offset.map(|o| format!(" (block at byte {o})")).unwrap_or_default())]
    Corrupt {
        /// The first failure.
        failure: VerifyFailure,
        /// Where the failing block lives in the store, when the store knows.
        offset: Option<u64>,
    },
    /// An earlier store failure left the in-memory state ahead of the store; reopen the ledger.
    #[error("ledger is poisoned by an earlier store failure; reopen it")]
    Poisoned,
    /// `create` on a store that already holds blocks.
    #[error("store already holds a ledger")]
    StoreNotEmpty,
    /// `open` on a store that holds no block.
    #[error("store holds no ledger")]
    StoreEmpty,
    /// The signing key was an actor's key once but has been rotated out.
    #[error("key is no longer the actor's active key")]
    KeyNotActive,
    /// The proposal no longer matches the queued transactions or the head.
    #[error("block proposal is stale: transactions were submitted or a block was sealed since")]
    StaleProposal,
    /// `seal` with no transaction waiting.
    #[error("no transaction to seal")]
    NothingToSeal,
    /// Grant `index` of an all-or-nothing list ([`Ledger::grant_consents`], [`Ledger::replace_consents`])
    /// would be refused; nothing was submitted.
    #[error("grant {index} of the list would be refused: {refusal}")]
    GrantRefused {
        /// Its place in the list.
        index: usize,
        /// Why.
        refusal: TxError,
    },
    /// Revocation `index` of an all-or-nothing change ([`Ledger::replace_consents`]) would be refused;
    /// nothing was submitted.
    #[error("revocation {index} of the list would be refused: {refusal}")]
    RevokeRefused {
        /// Its place in the list.
        index: usize,
        /// Why.
        refusal: TxError,
    },
    /// The block being built is full; seal it first.
    #[error("block is full ({MAX_TXS_PER_BLOCK} transactions or {MAX_BLOCK_BYTES} bytes); seal it first")]
    BlockFull,
    /// A key given to sign or seal belongs to no registered actor (or not to an active authority).
    #[error("key belongs to no {0}")]
    UnknownKey(&'static str),
    /// Fewer sealing keys than the seal threshold.
    #[error("{have} sealing keys, {need} required")]
    NotEnoughSealers {
        /// Distinct active authorities among the keys given.
        have: usize,
        /// The threshold.
        need: usize,
    },
    /// Invalid ledger settings.
    #[error("invalid ledger settings: {0}")]
    InvalidSettings(&'static str),
    /// [`Ledger::fork_onto`] on a store that does not hold exactly this ledger's blocks.
    #[error("store does not hold this ledger's blocks (first difference at block {0})")]
    NotACopy(u64),
    /// A proof that cannot be made: an index or size beyond the sealed tree, or sizes out of order.
    #[error(transparent)]
    Proof(#[from] crate::proof::ProofError),
    /// A checkpoint that does not parse, or signing one failed.
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
    /// The transaction is not in a sealed block of this ledger.
    #[error("transaction is not sealed in this ledger")]
    NotSealed,
    /// The checkpoint is not one of this ledger's: another origin, a larger tree, or another root at its size.
    #[error("checkpoint is not of this ledger (origin, size or root differ)")]
    ForeignCheckpoint,
    /// No checkpoint given, and none carried holds the transaction.
    #[error("no checkpoint holds the transaction; publish one first")]
    NoCheckpoint,
    /// The carried-checkpoints file is damaged or not one (or, on creation, already there).
    #[error("carried checkpoints file refused: {0}")]
    CarriedCheckpoints(&'static str),
    /// The ledger goes back on a checkpoint it carries: it was cut, rolled back or forked since.
    #[error("ledger goes back on a checkpoint it published: {0}")]
    BrokenCheckpoint(Box<crate::trust::Standing>),
    /// The blocks do not give the tree their headers state (the store changed under the ledger).
    #[error("the stored blocks no longer give the ledger's tree; reopen and verify it")]
    TreeMismatch,
    /// The access history could not be read or written.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// A state snapshot could not be taken or written.
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::SnapshotError),
}

/// Settings of a new ledger.
#[derive(Clone, Debug)]
pub struct LedgerSettings {
    /// A network name (printable ASCII, 1–64 bytes; never patient data).
    pub name: String,
    /// How many authorities must seal each block.
    pub seal_threshold: u8,
    /// The network policy.
    pub policy: Policy,
    /// The genesis nonce that makes the chain id unique; `None` (the default) draws one from the operating
    /// system. Fix it only for reproducible test and benchmark ledgers.
    pub nonce: Option<[u8; 32]>,
}

impl LedgerSettings {
    /// One-authority settings with the default policy and a random nonce.
    pub fn new(name: &str) -> Self {
        Self { name: name.to_owned(), seal_threshold: 1, policy: Policy::default(), nonce: None }
    }

    /// Checks the settings for a network founded by `authorities` (1 to 64 distinct keys).
    pub fn validate(&self, authorities: &[&SigningKey]) -> Result<(), LedgerError> {
        if authorities.is_empty() || authorities.len() > crate::tx::MAX_AUTHORITIES {
            return Err(LedgerError::InvalidSettings("1 to 64 authorities"));
        }
        let mut keys: Vec<[u8; 32]> = authorities.iter().map(|k| k.public_key().to_bytes()).collect();
        keys.sort_unstable();
        if keys.windows(2).any(|pair| matches!(pair, [a, b] if a == b)) {
            return Err(LedgerError::InvalidSettings("the authorities' keys must be distinct"));
        }
        let authorities = authorities.len();
        if !crate::tx::valid_chain_name(&self.name) {
            return Err(LedgerError::InvalidSettings("name must be 1-64 printable ASCII characters"));
        }
        if self.seal_threshold == 0 || usize::from(self.seal_threshold) > authorities {
            return Err(LedgerError::InvalidSettings("seal threshold must be between 1 and the number of authorities"));
        }
        Ok(())
    }

    /// The settings checked for `authorities`, with the nonce drawn: everything that can fail before a
    /// ledger's store is made.
    pub fn ready_for(&self, authorities: &[&SigningKey]) -> Result<LedgerSettings, LedgerError> {
        self.validate(authorities)?;
        let nonce = match self.nonce {
            Some(nonce) => nonce,
            None => *crate::keys::random_salt()?,
        };
        Ok(LedgerSettings { nonce: Some(nonce), ..self.clone() })
    }
}

/// A successful grant: the consent id and when it ends (`None` = until revoked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Granted {
    /// The new consent's id.
    pub consent: ConsentId,
    /// First instant after the consent (ms), if bounded.
    pub until: Option<u64>,
}

/// What sealing produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedBlock {
    /// The header.
    pub header: BlockHeader,
    /// Its hash.
    pub hash: crate::ids::BlockHash,
}

impl Ledger<FileStore> {
    /// Creates a ledger in a new file at `path` (refusing an existing file), locked for this writer. The
    /// settings are checked and the nonce drawn before the file is made. A carried-checkpoints file left
    /// at `path` by an earlier ledger is refused too (`CarriedCheckpoints`): it is evidence, never wiped.
    pub fn create_file(
        path: &Path,
        clock: Box<dyn Clock>,
        settings: &LedgerSettings,
        authorities: &[&SigningKey],
    ) -> Result<Self, LedgerError> {
        let settings = settings.ready_for(authorities)?;
        if checkpoints_path(path).exists() {
            return Err(LedgerError::CarriedCheckpoints("the checkpoints of an earlier ledger are at this path"));
        }
        let index = ProofIndex::in_dir(tiles_dir(path), false);
        let store = FileStore::create(path)?;
        let history = History::in_file(&history_path(path))?;
        let mut ledger = Self::create_with(store, clock, &settings, authorities, index, history)?;
        ledger.carried = Carried::empty_at(checkpoints_path(path));
        ledger.snapshots = Some(Snapshots::beside(path));
        Ok(ledger)
    }

    /// Opens the ledger file at `path` (fast open; an interrupted final append is cut and reported by
    /// `store().recovery()` unless `options.strict`), from the newest state snapshot beside it that matches
    /// the ledger ([`Ledger::opened_from_snapshot`]), replaying only the blocks after it; without one, every
    /// block is replayed (and a writer writes a snapshot once [`DEFAULT_SNAPSHOT_INTERVAL`] transactions are
    /// due). A reader (`options.read_only`) changes no file.
    pub fn open_file(path: &Path, clock: Box<dyn Clock>, options: OpenOptions) -> Result<Self, LedgerError> {
        let carried = Carried::load(checkpoints_path(path))?;
        let mut ledger = Self::open_from_snapshot(path, clock, options)?;
        ledger.carried = carried;
        ledger.check_carried()?;
        Ok(ledger)
    }
}

/// The access history of a ledger on `store` that has no place of its own for it: in memory beside blocks
/// kept in memory, else in an unnamed temporary file, so that memory does not grow with accesses.
fn history_for<S: Store>(store: &S) -> Result<History, LedgerError> {
    Ok(if store.in_memory() { History::in_memory() } else { History::temporary()? })
}

/// Replays the blocks of `store` after those `replayer` has seen, recording each in `index` and `history`;
/// gives the replayer after the last block, or the first failure (a block the store cannot read ends the
/// replay with the store's own error, unless an earlier block failed).
fn replay_onto<S: Store>(
    store: &S,
    mut replayer: Replayer,
    index: &mut ProofIndex,
    history: &mut History,
) -> Result<Replayer, LedgerError> {
    if store.is_empty() {
        return Err(LedgerError::StoreEmpty);
    }
    let mut unreadable = None;
    let blocks = (replayer.next_height()..store.len()).map_while(|height| match store.read(height) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            unreadable = Some((height, e));
            None
        }
    });
    replayer.state_mut().keep_recorded();
    let (report, replayer) = replay_blocks(replayer, blocks, |_, replayer| {
        for recorded in replayer.state_mut().take_recorded() {
            history.record(recorded);
        }
        history.record_block(replayer.last_leaves().iter().map(|(id, _)| *id));
        index.record_block(&replayer.chain(), replayer.last_leaves());
    });
    match (report.failure, unreadable) {
        (Some(failure), unreadable) if unreadable.as_ref().is_none_or(|(at, _)| failure.height < *at) => {
            let offset = store.location(failure.height);
            return Err(LedgerError::Corrupt { failure, offset });
        }
        (_, Some((_, e))) => return Err(e.into()),
        _ => {}
    }
    index.check_against(replayer.tree().size(), &replayer.tree().root());
    Ok(replayer)
}

/// The header of a block to be sealed (see [`Ledger::propose_block`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockProposal {
    /// The header every sealer signs (through its hash).
    pub header: BlockHeader,
}

impl BlockProposal {
    /// The block hash.
    pub fn hash(&self) -> crate::ids::BlockHash {
        self.header.hash()
    }

    /// The exact bytes an authority signs to seal this block (give these to an HSM).
    pub fn seal_bytes(&self) -> Vec<u8> {
        crate::block::seal_message(&self.hash())
    }
}

/// A ledger on a store: the blocks, the state they define (actors, consents, delegations, accesses) and
/// the transactions submitted but not yet sealed.
///
/// Operations (`register`, `grant_consent`, `record_access`, ...) sign a transaction with the key given,
/// validate it against every rule and queue it; nothing is durable until [`Ledger::seal`] appends a block
/// (the file store syncs it before returning). Questions ([`Ledger::check`]) see queued transactions;
/// [`Ledger::check_as_of`] asks as of a sealed block. An external signer (HSM) uses [`Ledger::prepare`]
/// and [`Ledger::submit`]; authorities sealing elsewhere use [`Ledger::propose_block`] and
/// [`Ledger::commit_block`].
///
/// ```
/// use healthchain::*;
///
/// let path = std::env::temp_dir().join(format!("ledger-doc-{}.ledger", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let hospital = SigningKey::generate()?;
/// let patient_key = SigningKey::generate()?;
/// let mut ledger = Ledger::create_file(&path, Box::new(SystemClock), &LedgerSettings::new("st-mary"),
///                                      &[&hospital])?;
/// let patient = ledger.register(&hospital, &patient_key, Role::Patient)?;
/// let sealed = ledger.seal(&[&hospital])?;
/// drop(ledger); // closes the file and releases the writer lock
///
/// // Opening replays the blocks (checksums, links, seals, every rule, the Merkle tree), or only those after
/// // the newest state snapshot beside the file (`Ledger::write_snapshot`, automatic every 50,000 transactions).
/// let ledger = Ledger::open_file(&path, Box::new(SystemClock), OpenOptions::default())?;
/// assert_eq!(ledger.head().map(BlockHeader::hash), Some(sealed.hash));
/// assert_eq!(ledger.actor(&patient).map(|a| a.role), Some(Role::Patient));
/// assert!(ledger.verify().is_valid()); // and every signature, from genesis
/// # drop(ledger); std::fs::remove_file(&path)?; std::fs::remove_file(history_path(&path))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Ledger<S: Store> {
    store: S,
    clock: Box<dyn Clock>,
    replayer: Replayer,
    pending: Vec<SignedTx>,
    /// Each pending transaction's id and Merkle leaf hash, hashed once from its encoding at submission.
    pending_hashes: Vec<(TxId, Hash256)>,
    /// The tree with the pending transactions' leaves appended (`None` while none is pending).
    pending_tree: Option<MerkleTree>,
    /// The queued transactions' encodings, which the block's encoding is made of.
    pending_encodings: Vec<Vec<u8>>,
    pending_bytes: usize,
    poisoned: bool,
    index: ProofIndex,
    history: History,
    carried: Carried,
    /// Where a writer on a ledger file keeps state snapshots; `None` for every other ledger.
    snapshots: Option<Snapshots>,
}

impl<S: Store> std::fmt::Debug for Ledger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("chain", &self.replayer.chain())
            .field("blocks", &self.replayer.next_height())
            .field("pending", &self.pending.len())
            .field("poisoned", &self.poisoned)
            .finish()
    }
}

impl<S: Store> Ledger<S> {
    /// Creates a ledger on an empty store: a genesis block naming `authorities` (the first is the founder),
    /// sealed by all of them (each also signs its proof of possession).
    pub fn create(
        store: S,
        clock: Box<dyn Clock>,
        settings: &LedgerSettings,
        authorities: &[&SigningKey],
    ) -> Result<Self, LedgerError> {
        let history = history_for(&store)?;
        Self::create_with(store, clock, settings, authorities, ProofIndex::in_memory(), history)
    }

    fn create_with(
        store: S,
        clock: Box<dyn Clock>,
        settings: &LedgerSettings,
        authorities: &[&SigningKey],
        index: ProofIndex,
        history: History,
    ) -> Result<Self, LedgerError> {
        if !store.is_empty() {
            return Err(LedgerError::StoreNotEmpty);
        }
        let settings = settings.ready_for(authorities)?;
        let founder = authorities.first().ok_or(LedgerError::InvalidSettings("no authority"))?;
        let nonce = settings.nonce.ok_or(LedgerError::InvalidSettings("no genesis nonce"))?;
        let params = GenesisParams {
            name: settings.name.clone(),
            nonce,
            authorities: authorities.iter().map(|k| k.public_key()).collect(),
            seal_threshold: settings.seal_threshold,
            policy: settings.policy.clone(),
        };
        let chain = params.chain_id();
        let proofs = authorities.iter().map(|k| k.prove_possession(&chain)).collect();
        let body = TxBody {
            chain,
            signer: ActorId::from_key(&founder.public_key()),
            seq: 1,
            time: clock.now_ms(),
            payload: Payload::Genesis(Genesis { params, proofs }),
        };
        let genesis = body.sign(founder);
        let mut replayer = Replayer::new();
        replayer.state_mut().keep_recorded();
        let mut ledger = Self {
            store,
            clock,
            replayer,
            pending: Vec::new(),
            pending_hashes: Vec::new(),
            pending_tree: None,
            pending_encodings: Vec::new(),
            pending_bytes: 0,
            poisoned: false,
            index,
            history,
            carried: Carried::default(),
            snapshots: None,
        };
        let position = Position { height: 0, earliest: 0, latest: genesis.body.time, first: true };
        let bytes = genesis.to_bytes();
        ledger.replayer.state_mut().apply(&genesis, genesis.id(), position)?;
        ledger.queue_leaf(id_of_encoded(&bytes), leaf_hash(&bytes));
        ledger.pending_bytes += bytes.len() + 4;
        ledger.pending_encodings.push(bytes);
        ledger.pending.push(genesis);
        ledger.seal(authorities)?;
        Ok(ledger)
    }

    /// Opens a ledger on a store that holds blocks: replays every block from genesis, checking hash links,
    /// heights, timestamps, seals (their signatures included), every transaction rule and the Merkle tree,
    /// but not the transactions' signatures and proofs of possession (the store's checksums guard its
    /// bytes). Call [`Ledger::verify`] for full verification,
    /// or use [`Ledger::open_verified`]. The access history is rebuilt in an unnamed temporary file (in
    /// memory for a store that keeps its blocks in memory); [`Ledger::open_file`] keeps it beside the file.
    pub fn open(store: S, clock: Box<dyn Clock>) -> Result<Self, LedgerError> {
        let history = history_for(&store)?;
        Self::replay(store, clock, Replayer::trusting_signatures(), ProofIndex::in_memory(), history)
    }

    /// Opens a ledger verifying everything, signatures included.
    pub fn open_verified(store: S, clock: Box<dyn Clock>) -> Result<Self, LedgerError> {
        let history = history_for(&store)?;
        Self::replay(store, clock, Replayer::new(), ProofIndex::in_memory(), history)
    }

    fn replay(
        store: S,
        clock: Box<dyn Clock>,
        replayer: Replayer,
        mut index: ProofIndex,
        mut history: History,
    ) -> Result<Self, LedgerError> {
        let replayer = replay_onto(&store, replayer, &mut index, &mut history)?;
        Ok(Self::replayed(store, clock, replayer, index, history))
    }

    /// The ledger that [`replay_onto`] gave.
    fn replayed(store: S, clock: Box<dyn Clock>, replayer: Replayer, index: ProofIndex, history: History) -> Self {
        Self {
            store,
            clock,
            replayer,
            pending: Vec::new(),
            pending_hashes: Vec::new(),
            pending_tree: None,
            pending_encodings: Vec::new(),
            pending_bytes: 0,
            poisoned: false,
            index,
            history,
            carried: Carried::default(),
            snapshots: None,
        }
    }

    /// This ledger on `store`, which must hold byte for byte the same blocks (a copy of this ledger's store
    /// on another medium, a replica), without replaying them: the state is a function of those bytes, and
    /// they are compared, not trusted. Transactions submitted and not yet sealed come along. For dry runs
    /// and what-if questions on a copy, failing over to a replica file, and test harnesses that start many
    /// runs from one ledger.
    pub fn fork_onto<T: Store>(&self, store: T, clock: Box<dyn Clock>) -> Result<Ledger<T>, LedgerError> {
        if self.poisoned {
            return Err(LedgerError::Poisoned);
        }
        for height in 0..self.store.len().max(store.len()) {
            let same = height < store.len() && height < self.store.len() && {
                let (mine, theirs) = (self.store.read(height)?, store.read(height)?);
                mine == theirs
            };
            if !same {
                return Err(LedgerError::NotACopy(height));
            }
        }
        Ok(Ledger {
            store,
            clock,
            replayer: self.replayer.clone(),
            pending: self.pending.clone(),
            pending_hashes: self.pending_hashes.clone(),
            pending_tree: self.pending_tree.clone(),
            pending_encodings: self.pending_encodings.clone(),
            pending_bytes: self.pending_bytes,
            poisoned: false,
            index: self.index.duplicate(),
            history: self.history.duplicate()?,
            carried: self.carried.in_memory_copy(),
            snapshots: None,
        })
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }

    /// The chain id.
    pub fn chain(&self) -> crate::ids::ChainId {
        self.replayer.chain()
    }

    /// The state, including submitted transactions not yet sealed.
    pub fn state(&self) -> &State {
        self.replayer.state()
    }

    /// The last sealed header.
    pub fn head(&self) -> Option<&BlockHeader> {
        self.replayer.head().map(|h| &h.header)
    }

    /// Number of sealed blocks.
    pub fn block_count(&self) -> u64 {
        self.replayer.next_height()
    }

    /// The Merkle tree over all sealed transactions.
    pub fn tree(&self) -> &MerkleTree {
        self.replayer.tree()
    }

    /// Transactions submitted and not yet sealed.
    pub fn pending(&self) -> &[SignedTx] {
        &self.pending
    }

    /// The actor that `key` belongs to (its current or an earlier key).
    pub fn actor_of_key(&self, key: &PublicKey) -> Option<ActorId> {
        self.state().actor_of_key(key)
    }

    // ---- building and submitting ----

    /// A body for `signer` with the chain id, the next sequence number and the current time filled in.
    /// Sign it (or hand [`TxBody::signing_bytes`] to an external signer) and [`Ledger::submit`] it.
    ///
    /// The external-signer path, with the key held elsewhere (an HSM): only the public key, the bytes to
    /// sign and the signature cross.
    ///
    /// ```
    /// # use healthchain::*;
    /// # let hospital = SigningKey::generate()?;
    /// # let mut ledger = Ledger::create(MemoryStore::new(), Box::new(ManualClock::new(1_700_000_000_000)),
    /// #     &LedgerSettings::new("hsm-example"), &[&hospital])?;
    /// # let hsm = SigningKey::generate()?; // stands for the HSM
    /// let patient = ledger.register(&hospital, &hsm, Role::Patient)?;
    /// ledger.seal(&[&hospital])?;
    /// let body = ledger.prepare(patient, Payload::GrantConsent(ConsentGrant {
    ///     patient, grantee: Grantee::Role(Role::Provider), effect: Effect::Permit,
    ///     sections: CodeSet::parse(["labs"])?, purposes: CodeSet::parse(["TREAT"])?,
    ///     actions: Actions::READ, window: Window { not_before: ledger.now(), not_after: None },
    ///     exceptions: Vec::new(),
    /// }));
    /// let signature = hsm.sign(&body.signing_bytes()); // done by the HSM
    /// let id = ledger.submit(body.attach_signature(signature))?;
    /// assert_eq!(ledger.pending().last().map(SignedTx::id), Some(id));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prepare(&self, signer: ActorId, payload: Payload) -> TxBody {
        let seq = self.state().last_sequence(&signer).saturating_add(1);
        TxBody { chain: self.chain(), signer, seq, time: self.now(), payload }
    }

    /// Bodies for several transactions of one signer, with consecutive sequence numbers from the next one
    /// on, the chain id and the current time: sign them all at once (e.g. in one session with an external
    /// signer), then [`Ledger::submit`] them in this order. Submitting anything else for the same signer
    /// in between makes the rest fail with [`TxError::BadSequence`].
    ///
    /// ```
    /// # use healthchain::*;
    /// # let hospital = SigningKey::generate()?;
    /// # let mut ledger = Ledger::create(MemoryStore::new(), Box::new(ManualClock::new(1_700_000_000_000)),
    /// #     &LedgerSettings::new("batch-example"), &[&hospital])?;
    /// # let patient_key = SigningKey::generate()?;
    /// let patient = ledger.register(&hospital, &patient_key, Role::Patient)?;
    /// ledger.seal(&[&hospital])?;
    /// let grant = |section: &str| -> Result<Payload, CodeError> {
    ///     Ok(Payload::GrantConsent(ConsentGrant {
    ///         patient, grantee: Grantee::Role(Role::Provider), effect: Effect::Permit,
    ///         sections: CodeSet::parse([section])?, purposes: CodeSet::parse(["TREAT"])?,
    ///         actions: Actions::READ, window: Window { not_before: ledger.now(), not_after: None },
    ///         exceptions: Vec::new(),
    ///     }))
    /// };
    /// let bodies = ledger.prepare_batch(patient, [grant("labs")?, grant("medications")?]);
    /// let signed: Vec<SignedTx> = bodies.into_iter().map(|b| b.sign(&patient_key)).collect();
    /// for tx in signed {
    ///     ledger.submit(tx)?;
    /// }
    /// assert_eq!(ledger.pending().len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prepare_batch(&self, signer: ActorId, payloads: impl IntoIterator<Item = Payload>) -> Vec<TxBody> {
        let (chain, time, last) = (self.chain(), self.now(), self.state().last_sequence(&signer));
        (1..)
            .zip(payloads)
            .map(|(n, payload)| TxBody { chain, signer, seq: last.saturating_add(n), time, payload })
            .collect()
    }

    /// Prepares a transaction for the actor owning `key`, signs it with `key` and submits it.
    pub fn sign_and_submit(&mut self, key: &SigningKey, payload: Payload) -> Result<TxId, LedgerError> {
        let signer = self.active_signer(key)?;
        let tx = self.prepare(signer, payload).sign(key);
        self.submit(tx)
    }

    /// The actor whose active key `key` is.
    fn active_signer(&self, key: &SigningKey) -> Result<ActorId, LedgerError> {
        let public = key.public_key();
        let signer = self.actor_of_key(&public).ok_or(LedgerError::UnknownKey("registered actor"))?;
        if self.state().latest().actor(&signer).and_then(|a| a.keys.last().map(|k| k.key)) != Some(public) {
            return Err(LedgerError::KeyNotActive);
        }
        Ok(signer)
    }

    /// Seals the queued transactions into a block, signed by `sealers` (active authorities, at least the
    /// threshold), and appends it to the store. The block's timestamp is the clock's time, raised if needed
    /// so that it never decreases and is never earlier than a transaction it holds.
    pub fn seal(&mut self, sealers: &[&SigningKey]) -> Result<SealedBlock, LedgerError> {
        let state = self.replayer.state();
        let view = self.sealing_view();
        let mut signing: Vec<(ActorId, &SigningKey)> = Vec::new();
        for key in sealers {
            let id = state
                .actor_of_key(&key.public_key())
                .filter(|id| sealing_key(&view, id) == Some(key.public_key()))
                .ok_or(LedgerError::UnknownKey("active authority (before this block)"))?;
            if !signing.iter().any(|(existing, _)| *existing == id) {
                signing.push((id, key));
            }
        }
        let need = state.seal_threshold();
        if signing.len() < need {
            return Err(LedgerError::NotEnoughSealers { have: signing.len(), need });
        }
        let proposer = signing.first().map(|(id, _)| *id).ok_or(LedgerError::NotEnoughSealers { have: 0, need })?;
        let proposal = self.propose_block(proposer)?;
        let seals = signing.iter().map(|(id, key)| Seal::sign(*id, key, &proposal.hash())).collect();
        self.commit_block(&proposal, seals)
    }

    /// The header of the next block over the queued transactions, for authorities that seal elsewhere (an
    /// HSM, another member of the consortium): each signs [`BlockProposal::seal_bytes`] and the seals are
    /// handed to [`Ledger::commit_block`]. Submitting more transactions makes the proposal stale.
    pub fn propose_block(&self, proposer: ActorId) -> Result<BlockProposal, LedgerError> {
        self.writable()?;
        if self.pending.is_empty() {
            return Err(LedgerError::NothingToSeal);
        }
        let tree = self.pending_tree.as_ref().unwrap_or(self.replayer.tree());
        let latest_tx = self.pending.iter().map(|tx| tx.body.time).max().unwrap_or(0);
        let header = BlockHeader {
            chain: self.chain(),
            height: self.block_count(),
            prev_hash: self.replayer.head().map(|h| h.hash).unwrap_or_default(),
            timestamp: self.now().max(latest_tx),
            tx_count: u32::try_from(self.pending.len()).map_err(|_| LedgerError::BlockFull)?,
            tree_size: tree.size(),
            tree_root: tree.root(),
            proposer,
        };
        Ok(BlockProposal { header })
    }

    /// Seals the queued transactions as `proposal` with `seals` (any order) and appends the block to the
    /// store. The seals must satisfy exactly the rule verification applies: at least k authorities active
    /// before this block, each seal valid, the proposer among them.
    pub fn commit_block(&mut self, proposal: &BlockProposal, mut seals: Vec<Seal>) -> Result<SealedBlock, LedgerError> {
        if self.poisoned {
            return Err(LedgerError::Poisoned);
        }
        let current = self.propose_block(proposal.header.proposer)?;
        // Only the timestamp may differ from a fresh proposal (time moves on while seals are collected),
        // within [last block, now + skew].
        let same_block =
            BlockHeader { timestamp: current.header.timestamp, ..proposal.header.clone() } == current.header;
        let skew = self.state().params().map_or(0, |p| p.policy.max_clock_skew_ms);
        let latest_tx = self.pending.iter().map(|tx| tx.body.time).max().unwrap_or(0);
        let earliest = self.head().map_or(0, |h| h.timestamp).max(latest_tx);
        let timely = (earliest..=self.now().saturating_add(skew)).contains(&proposal.header.timestamp);
        if !same_block || !timely {
            return Err(LedgerError::StaleProposal);
        }
        seals.sort_by_key(|s| s.authority);
        seals.dedup_by_key(|s| s.authority);
        let header = proposal.header.clone();
        let height = header.height;
        let fail =
            |reason| LedgerError::Corrupt { failure: VerifyFailure { height, tx_index: None, reason }, offset: None };
        // The verifier's own seal rule, on the same state: a block this ledger commits always verifies.
        check_seals(&self.sealing_view(), self.state().seal_threshold(), &header, &seals).map_err(fail)?;
        let bytes = encode_block(&header, self.pending_encodings.iter().map(Vec::as_slice), &seals);
        if let Err(e) = self.store.append(height, &bytes) {
            // The state already holds the block's transactions; only a reopen can reconcile it with the store.
            self.poisoned = true;
            return Err(e.into());
        }
        let leaves = std::mem::take(&mut self.pending_hashes);
        self.pending.clear();
        self.pending_encodings.clear();
        self.pending_bytes = 0;
        let hash = header.hash();
        let tree = self.pending_tree.take().unwrap_or_else(|| self.replayer.tree().clone());
        self.replayer.push_own_block(header.clone(), tree);
        self.history.record_block(leaves.iter().map(|(id, _)| *id));
        self.index.record_block(&self.chain(), &leaves);
        self.snapshot_if_due();
        Ok(SealedBlock { header, hash })
    }

    /// Queues a submitted transaction's id and Merkle leaf, appending the leaf to the pending tree.
    fn queue_leaf(&mut self, id: TxId, leaf: Hash256) {
        self.pending_tree.get_or_insert_with(|| self.replayer.tree().clone()).push(leaf);
        self.pending_hashes.push((id, leaf));
    }

    /// Refuses updates on a poisoned ledger, and on a read-only store before anything is queued (a
    /// refusal at append time would poison the ledger).
    fn writable(&self) -> Result<(), LedgerError> {
        if self.poisoned {
            return Err(LedgerError::Poisoned);
        }
        if self.store.is_read_only() {
            return Err(StoreError::ReadOnly.into());
        }
        Ok(())
    }

    /// The ledger's notion of now: the clock, but never before the earliest time a new transaction may
    /// carry (1 ms after the last sealed block), so that a host clock stepping back neither makes
    /// timestamps decrease nor refuses every new transaction. Ask consent questions about "now" with it.
    pub fn now(&self) -> u64 {
        self.clock.now_ms().max(self.earliest_tx_time())
    }

    /// The earliest time a new transaction may carry: strictly after the last sealed block, so that no
    /// transaction changes the answer to a question about an instant that is already sealed.
    fn earliest_tx_time(&self) -> u64 {
        self.head().map_or(0, |h| h.timestamp.saturating_add(1))
    }

    /// The state whose authorities seal the next block: the state after the last sealed block (after the
    /// genesis transaction, for the genesis block).
    pub(super) fn sealing_view(&self) -> View<'_> {
        match self.block_count() {
            0 => self.state().latest(),
            n => self.state().as_of(n - 1),
        }
    }

    // ---- typed operations ----

    /// Registers a new actor with `role`; `authority` signs, `new_key` proves possession.
    pub fn register_actor(
        &mut self,
        authority: &SigningKey,
        new_key: &PublicKey,
        proof: crate::keys::Signature,
        role: Role,
    ) -> Result<ActorId, LedgerError> {
        self.sign_and_submit(authority, Payload::RegisterActor(RegisterActor { key: *new_key, role, proof }))?;
        Ok(ActorId::from_key(new_key))
    }

    /// Registers the holder of `new_key` (who proves possession here) with `role`.
    pub fn register(
        &mut self,
        authority: &SigningKey,
        new_key: &SigningKey,
        role: Role,
    ) -> Result<ActorId, LedgerError> {
        let proof = new_key.prove_possession(&self.chain());
        self.register_actor(authority, &new_key.public_key(), proof, role)
    }

    /// Replaces `actor`'s key with `new_key`; signed by `signer` (the actor's current key or an authority).
    pub fn rotate_key(
        &mut self,
        signer: &SigningKey,
        actor: ActorId,
        new_key: &SigningKey,
    ) -> Result<TxId, LedgerError> {
        let proof = new_key.prove_possession(&self.chain());
        self.sign_and_submit(signer, Payload::RotateKey(RotateKey { actor, new_key: new_key.public_key(), proof }))
    }

    /// Deactivates `actor`; signed by an authority.
    pub fn deactivate(&mut self, authority: &SigningKey, actor: ActorId) -> Result<TxId, LedgerError> {
        self.sign_and_submit(authority, Payload::DeactivateActor { actor })
    }

    /// Grants consent; signed by the patient or a delegate with manage scope. Refusals are typed
    /// ([`TxError::InvalidPatient`], [`TxError::UnknownGrantee`], [`TxError::EmptyWindow`],
    /// [`TxError::Unauthorized`], [`TxError::AlreadyHasAccess`], …).
    pub fn grant_consent(&mut self, signer: &SigningKey, grant: ConsentGrant) -> Result<Granted, LedgerError> {
        let until = grant.window.not_after;
        let consent = self.sign_and_submit(signer, Payload::GrantConsent(grant))?;
        Ok(Granted { consent, until })
    }

    /// Revokes a consent from this transaction's time on.
    pub fn revoke_consent(&mut self, signer: &SigningKey, consent: ConsentId) -> Result<TxId, LedgerError> {
        self.sign_and_submit(signer, Payload::RevokeConsent { consent })
    }

    /// Grants a delegation; signed by the patient or an authority (court-appointed guardian).
    pub fn grant_delegation(
        &mut self,
        signer: &SigningKey,
        grant: DelegationGrant,
    ) -> Result<DelegationId, LedgerError> {
        self.sign_and_submit(signer, Payload::GrantDelegation(grant))
    }

    /// Revokes a delegation.
    pub fn revoke_delegation(&mut self, signer: &SigningKey, delegation: DelegationId) -> Result<TxId, LedgerError> {
        self.sign_and_submit(signer, Payload::RevokeDelegation { delegation })
    }

    /// Records an access by the holder of `accessor`; accepted only if the engine permits it on the basis named.
    pub fn record_access(&mut self, accessor: &SigningKey, access: RecordAccess) -> Result<AccessId, LedgerError> {
        self.sign_and_submit(accessor, Payload::RecordAccess(access))
    }

    /// Reviews a break-glass access; signed by an auditor or authority.
    pub fn review_break_glass(
        &mut self,
        reviewer: &SigningKey,
        access: AccessId,
        justified: bool,
    ) -> Result<TxId, LedgerError> {
        self.sign_and_submit(reviewer, Payload::ReviewBreakGlass { access, justified })
    }

    /// Anchors a version of an off-ledger record section by its salted commitment; signed by a provider
    /// permitted to write that section for that purpose, or by an authority (the record's custodian).
    pub fn anchor_record(&mut self, writer: &SigningKey, anchor: AnchorRecord) -> Result<TxId, LedgerError> {
        self.sign_and_submit(writer, Payload::AnchorRecord(anchor))
    }

    /// Records that the patient's off-ledger data and salts were destroyed; signed by the patient or an
    /// authority. Questions about instants from the erasure's time on are denied (earlier instants answer
    /// as they did); every later grant and every later access to the patient are refused.
    pub fn erase_subject(&mut self, signer: &SigningKey, patient: ActorId) -> Result<TxId, LedgerError> {
        self.sign_and_submit(signer, Payload::EraseSubject { patient })
    }

    // ---- queries ----

    /// "May the requester do this?" on the latest state (including unsealed transactions).
    pub fn check(&self, request: &CheckRequest) -> Result<Decision, CheckError> {
        self.state().latest().check(request)
    }

    /// The same question on the state after block `height`.
    pub fn check_as_of(&self, height: u64, request: &CheckRequest) -> Result<Decision, CheckError> {
        self.view_as_of(height)?.check(request)
    }

    /// The state after block `height`.
    pub fn view_as_of(&self, height: u64) -> Result<View<'_>, CheckError> {
        let head = self.block_count().saturating_sub(1);
        if height > head {
            return Err(CheckError::HeightBeyondHead { asked: height, head });
        }
        Ok(self.state().as_of(height))
    }

    /// A registered actor.
    pub fn actor(&self, id: &ActorId) -> Option<Actor> {
        self.state().latest().actor(id)
    }

    /// A patient's consents, in ledger order.
    pub fn consents_of(&self, patient: &ActorId) -> Vec<Consent> {
        let view = self.state().latest();
        view.patient(patient).consents.iter().filter_map(|id| view.consent(id)).collect()
    }

    /// A patient's delegations, in ledger order.
    pub fn delegations_of(&self, patient: &ActorId) -> Vec<Delegation> {
        let view = self.state().latest();
        view.patient(patient).delegations.iter().filter_map(|id| view.delegation(id)).collect()
    }

    /// The access history: accesses, reviews and anchors, kept on disk beside a ledger file.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Who accessed the patient's record, when, why and on what basis, in ledger order, each break-glass
    /// access with its review once done (transactions not yet sealed included).
    pub fn access_history(&self, patient: &ActorId) -> Result<Vec<Access>, LedgerError> {
        self.read_history(self.history.patient_accesses(patient))
    }

    /// What an accessor accessed, in ledger order, with reviews as in [`Ledger::access_history`].
    pub fn accesses_by(&self, accessor: &ActorId) -> Result<Vec<Access>, LedgerError> {
        self.read_history(self.history.accessor_accesses(accessor))
    }

    /// A recorded access, with its review once done.
    pub fn access(&self, id: &AccessId) -> Result<Option<Access>, LedgerError> {
        self.read_history(self.history.access(id))
    }

    /// The patient's anchored record versions, in ledger order.
    pub fn anchors_of(&self, patient: &ActorId) -> Result<Vec<Anchor>, LedgerError> {
        self.read_history(self.history.anchors(patient))
    }

    /// An anchored record version.
    pub fn anchor(&self, id: &TxId) -> Result<Option<Anchor>, LedgerError> {
        self.read_history(self.history.anchor(id))
    }

    /// Break-glass accesses not yet reviewed, in ledger order (for the privacy officer's queue).
    pub fn pending_reviews(&self) -> Vec<Access> {
        self.state().pending_reviews()
    }

    /// Verifies every stored block from genesis.
    pub fn verify(&self) -> VerifyReport {
        let blocks = (0..self.store.len()).map(|h| self.store.read(h));
        // Opened from a snapshot: the blocks must also give its state, or this ledger holds one they do not.
        let claims: Vec<_> = self.resumed_snapshot().into_iter().collect();
        crate::trust::verify_file_against(blocks, &[], &claims).report
    }
}
