//! Replaying blocks from genesis: the single code path behind full verification and ledger loading.
//! It re-checks every rule of DESIGN.md §4: heights, hash links, timestamps, seals, every transaction
//! against the state before it, every signature, and the Merkle tree size and root.

use crate::block::{Block, BlockHeader, Seal, seal_message};
use crate::codec::DecodeError;
use crate::codes::Role;
use crate::error::TxError;
use crate::hash::Hash256;
use crate::ids::ActorId;
use crate::ids::{BlockHash, ChainId, TxId};
use crate::keys::{PublicKey, Signature, SignedMessage, first_invalid};
use crate::merkle::MerkleTree;
use crate::state::{Position, State, View};
use crate::tx::signing_message;

/// Why a block fails verification.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// The store could not produce the block.
    #[error("store error: {0}")]
    Store(String),
    /// The block bytes are not a canonical encoding.
    #[error("malformed block: {0}")]
    Malformed(DecodeError),
    /// The header names another chain.
    #[error("block belongs to another chain")]
    WrongChain,
    /// The height is not the previous one plus one.
    #[error("height {found}, expected {expected}")]
    BadHeight {
        /// The next height.
        expected: u64,
        /// The height in the header.
        found: u64,
    },
    /// `prev_hash` is not the previous header's hash.
    #[error("previous-block hash does not match")]
    BadPrevHash,
    /// The timestamp is earlier than the previous block's.
    #[error("timestamp {found} earlier than previous {previous}")]
    TimestampDecreased {
        /// The previous block's timestamp.
        previous: u64,
        /// This block's.
        found: u64,
    },
    /// The genesis block holds no genesis transaction.
    #[error("genesis block holds no transaction")]
    MissingGenesis,
    /// The genesis block holds more than the genesis transaction: it is sealed by the authorities genesis
    /// names, so nothing in it may add to them (or do anything else they have not sealed as a set).
    #[error("genesis block must hold the genesis transaction alone")]
    GenesisNotAlone,
    /// The header's tree size is not the number of transactions so far.
    #[error("tree size {found}, expected {expected}")]
    TreeSizeMismatch {
        /// Transactions so far.
        expected: u64,
        /// The header's value.
        found: u64,
    },
    /// The header's tree root is not the root over all transactions so far.
    #[error("tree root does not match the transactions")]
    TreeRootMismatch,
    /// A seal by an actor that is not an active authority.
    #[error("seal by an actor that is not an active authority")]
    SealerNotAuthority,
    /// A seal signature that does not verify.
    #[error("bad seal signature")]
    BadSeal,
    /// Fewer valid seals than the threshold.
    #[error("{have} seals, {need} required")]
    NotEnoughSeals {
        /// Valid seals.
        have: usize,
        /// The threshold.
        need: usize,
    },
    /// The proposer named in the header did not seal the block.
    #[error("proposer did not seal the block")]
    ProposerNotSealer,
    /// A transaction is invalid.
    #[error("invalid transaction: {0}")]
    Tx(TxError),
    /// The ledger was opened from a state snapshot of this block that is not the state the blocks give.
    #[error("the state snapshot the ledger was opened from is not the state the blocks give")]
    SnapshotMismatch,
}

/// Where verification failed: the block height, the transaction index within it (if a transaction is at
/// fault), and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("block {height}{}: {reason}", tx_index.map(|i| format!(", transaction {i}")).unwrap_or_default())]
pub struct VerifyFailure {
    /// Height of the first bad block.
    pub height: u64,
    /// Index of the first bad transaction in it, when a transaction is at fault.
    pub tx_index: Option<u32>,
    /// Why (serialized as its message).
    #[serde(serialize_with = "as_display")]
    pub reason: BlockError,
}

fn as_display<S: serde::Serializer>(value: &impl std::fmt::Display, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// The result of a full verification (serializable, e.g. to JSON for monitoring).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Blocks that verified.
    pub blocks: u64,
    /// Transactions in those blocks.
    pub transactions: u64,
    /// Hash of the last block that verified.
    pub head_hash: Option<BlockHash>,
    /// Merkle tree size after that block.
    pub tree_size: u64,
    /// Merkle tree root after that block.
    pub tree_root: Hash256,
    /// The first failure, if any; `None` means the whole ledger is valid.
    pub failure: Option<VerifyFailure>,
}

impl VerifyReport {
    /// Whether every block verified.
    pub fn is_valid(&self) -> bool {
        self.failure.is_none()
    }
}

/// The head of a replayed ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The last header.
    pub header: BlockHeader,
    /// Its hash.
    pub hash: BlockHash,
}

/// A signature still to be checked: a transaction's, or a proof of possession in it.
pub(crate) struct PendingSignature {
    height: u64,
    index: u32,
    key: PublicKey,
    message: Vec<u8>,
    signature: Signature,
    /// What a failure is.
    error: TxError,
}

impl PendingSignature {
    fn signed_message(&self) -> SignedMessage<'_> {
        SignedMessage { key: &self.key, message: &self.message, signature: &self.signature }
    }

    /// The failure this signature is, if it does not verify.
    fn failure(&self) -> VerifyFailure {
        VerifyFailure { height: self.height, tx_index: Some(self.index), reason: BlockError::Tx(self.error.clone()) }
    }
}

/// The first of `signatures` (in ledger order) that does not verify, as the failure it is.
pub(crate) fn first_bad_signature(signatures: &[PendingSignature]) -> Option<VerifyFailure> {
    let items: Vec<SignedMessage<'_>> = signatures.iter().map(PendingSignature::signed_message).collect();
    first_invalid(&items).and_then(|at| signatures.get(at)).map(PendingSignature::failure)
}

/// Replays blocks one at a time.
#[derive(Clone, Debug)]
pub struct Replayer {
    state: State,
    tree: MerkleTree,
    head: Option<Head>,
    check_tx_signatures: bool,
    failed: Option<VerifyFailure>,
    /// The last block's transactions: their ids and leaf hashes.
    last_leaves: Vec<(TxId, Hash256)>,
}

impl Default for Replayer {
    fn default() -> Self {
        Self::new()
    }
}

impl Replayer {
    /// A replayer before genesis that checks everything.
    pub fn new() -> Self {
        Self {
            state: State::new(),
            tree: MerkleTree::new(),
            head: None,
            check_tx_signatures: true,
            failed: None,
            last_leaves: Vec::new(),
        }
    }

    /// A replayer that checks everything but transaction signatures: for reopening a ledger from its own
    /// store. Seals are still verified (one signature per block), so changing any byte of a block needs an
    /// authority's key; a dishonest authority is caught only by full verification, a separate explicit call.
    pub fn trusting_signatures() -> Self {
        Self { check_tx_signatures: false, ..Self::new() }
    }

    /// The state after the blocks replayed so far.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The state, for the ledger's own submissions.
    pub(crate) fn state_mut(&mut self) -> &mut State {
        &mut self.state
    }

    /// The tree over all transactions replayed so far.
    pub fn tree(&self) -> &MerkleTree {
        &self.tree
    }

    /// The ids and leaf hashes of the transactions of the last block replayed, in order.
    pub fn last_leaves(&self) -> &[(TxId, Hash256)] {
        &self.last_leaves
    }

    /// The last block replayed.
    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    /// The chain id (all zeros before genesis).
    pub fn chain(&self) -> ChainId {
        self.state.chain()
    }

    /// The height the next block must have.
    pub fn next_height(&self) -> u64 {
        self.head.as_ref().map_or(0, |h| h.header.height.saturating_add(1))
    }

    /// The report for what was replayed, with `failure`.
    pub fn report(&self, failure: Option<VerifyFailure>) -> VerifyReport {
        VerifyReport {
            blocks: self.next_height(),
            transactions: self.tree.size(),
            head_hash: self.head.as_ref().map(|h| h.hash),
            tree_size: self.tree.size(),
            tree_root: self.tree.root(),
            failure,
        }
    }

    /// Verifies and applies one encoded block. After a failure the state is partly changed, and every later
    /// call returns that same failure.
    pub fn apply_block(&mut self, bytes: &[u8]) -> Result<(), VerifyFailure> {
        self.apply_block_with(bytes, None)
    }

    /// [`Replayer::apply_block`] leaving the block's signatures to the caller, appended to `deferred` when
    /// everything else about the block holds. A failure returned here has already been weighed against the
    /// block's own signatures (a bad signature before it is the failure), never against earlier blocks'.
    pub(crate) fn apply_block_deferring(
        &mut self,
        bytes: &[u8],
        deferred: &mut Vec<PendingSignature>,
    ) -> Result<(), VerifyFailure> {
        self.apply_block_with(bytes, Some(deferred))
    }

    fn apply_block_with(
        &mut self,
        bytes: &[u8],
        deferred: Option<&mut Vec<PendingSignature>>,
    ) -> Result<(), VerifyFailure> {
        if let Some(failure) = &self.failed {
            return Err(failure.clone());
        }
        let result = self.apply_block_once(bytes, deferred);
        if let Err(failure) = &result {
            self.failed = Some(failure.clone());
        }
        result
    }

    /// The report for the blocks replayed so far, from the last header (which the tree was checked
    /// against) rather than from the tree: cheap enough to take before every block.
    pub(crate) fn report_so_far(&self) -> VerifyReport {
        let (tree_size, tree_root) = match &self.head {
            Some(head) => (head.header.tree_size, head.header.tree_root),
            None => (0, MerkleTree::new().root()),
        };
        VerifyReport {
            blocks: self.next_height(),
            transactions: tree_size,
            head_hash: self.head.as_ref().map(|h| h.hash),
            tree_size,
            tree_root,
            failure: None,
        }
    }

    fn apply_block_once(
        &mut self,
        bytes: &[u8],
        deferred: Option<&mut Vec<PendingSignature>>,
    ) -> Result<(), VerifyFailure> {
        let height = self.next_height();
        let fail = |tx_index: Option<u32>, reason: BlockError| VerifyFailure { height, tx_index, reason };
        let (block, hashes) = Block::from_bytes_hashed(bytes).map_err(|e| fail(None, BlockError::Malformed(e)))?;
        let header = &block.header;
        if header.height != height {
            return Err(fail(None, BlockError::BadHeight { expected: height, found: header.height }));
        }
        let prev_hash = self.head.as_ref().map(|h| h.hash).unwrap_or_default();
        if header.prev_hash != prev_hash {
            return Err(fail(None, BlockError::BadPrevHash));
        }
        let previous_time = self.head.as_ref().map(|h| h.header.timestamp);
        if let Some(previous) = previous_time {
            if header.chain != self.state.chain() {
                return Err(fail(None, BlockError::WrongChain));
            }
            if header.timestamp < previous {
                return Err(fail(None, BlockError::TimestampDecreased { previous, found: header.timestamp }));
            }
            // Seals are checked against the authorities before the block.
            check_seals(&self.state.latest(), self.state.seal_threshold(), &block.header, &block.seals)
                .map_err(|reason| fail(None, reason))?;
        } else if block.txs.is_empty() {
            return Err(fail(None, BlockError::MissingGenesis));
        } else if block.txs.len() > 1 {
            return Err(fail(None, BlockError::GenesisNotAlone));
        }

        // Every transaction lies strictly after the previous block: what is sealed stays as it was.
        let earliest = previous_time.map_or(0, |t| t.saturating_add(1));
        let first_index = self.tree.size();
        self.last_leaves.clear();
        let mut signatures = Vec::with_capacity(block.txs.len());
        let mut proofs = Vec::new();
        for (index, (tx, &(id, leaf))) in block.txs.iter().zip(&hashes).enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            let position =
                Position { height, earliest, latest: header.timestamp, first: first_index == 0 && index == 0 };
            let applied = self.state.signing_key(tx).and_then(|key| {
                if self.check_tx_signatures {
                    let message = signing_message(&id);
                    let error = TxError::BadSignature;
                    signatures.push(PendingSignature { height, index, key, message, signature: tx.signature, error });
                }
                self.state.apply_deferring_proofs(tx, id, position, &mut proofs)
            });
            // Proofs of possession are signatures too: checked with them, or trusted with them.
            for proof in proofs.drain(..).filter(|_| self.check_tx_signatures) {
                let error = TxError::BadProofOfPossession;
                signatures.push(PendingSignature {
                    height,
                    index,
                    key: proof.key,
                    message: proof.message,
                    signature: proof.proof,
                    error,
                });
            }
            if let Err(error) = applied {
                // A bad signature at or before this transaction is the earlier failure.
                return Err(first_bad_signature(&signatures).unwrap_or(fail(Some(index), BlockError::Tx(error))));
            }
            self.tree.push(leaf);
            self.last_leaves.push((id, leaf));
        }
        // The block's signatures come before the checks below: checked now, or by the caller, who learns of
        // a failure below only after this block's own signatures were weighed against it.
        let deferring = deferred.is_some();
        if !deferring && let Some(bad) = first_bad_signature(&signatures) {
            return Err(bad);
        }
        let settle = |failure: VerifyFailure| {
            if deferring { first_bad_signature(&signatures).unwrap_or(failure) } else { failure }
        };
        if previous_time.is_none() {
            if header.chain != self.state.chain() {
                return Err(settle(fail(None, BlockError::WrongChain)));
            }
            // The genesis block, which holds genesis alone, is sealed by exactly the authorities genesis names.
            check_seals(&self.state.latest(), self.state.seal_threshold(), &block.header, &block.seals)
                .map_err(|reason| settle(fail(None, reason)))?;
        }
        if header.tree_size != self.tree.size() {
            let expected = self.tree.size();
            return Err(settle(fail(None, BlockError::TreeSizeMismatch { expected, found: header.tree_size })));
        }
        if header.tree_root != self.tree.root() {
            return Err(settle(fail(None, BlockError::TreeRootMismatch)));
        }
        if let Some(deferred) = deferred {
            deferred.append(&mut signatures);
        }
        self.head = Some(Head { hash: header.hash(), header: block.header });
        Ok(())
    }

    /// A replayer that resumes after `head`, with the state and tree after it (from a state snapshot),
    /// trusting transaction signatures as [`Replayer::trusting_signatures`] does.
    pub(crate) fn resume(state: State, tree: MerkleTree, header: BlockHeader) -> Self {
        let head = Some(Head { hash: header.hash(), header });
        Self { state, tree, head, ..Self::trusting_signatures() }
    }

    /// Records a block built and sealed by this ledger (its transactions were already applied to the state);
    /// `tree` is the tree with its leaves appended.
    pub(crate) fn push_own_block(&mut self, header: BlockHeader, tree: MerkleTree) {
        self.tree = tree;
        self.head = Some(Head { hash: header.hash(), header });
    }
}

/// The key `id` seals with in `view`, if `id` is an active authority there.
pub(crate) fn sealing_key(view: &View<'_>, id: &ActorId) -> Option<PublicKey> {
    view.actor(id)
        .filter(|a| a.role == Role::Authority && a.deactivated.is_none())
        .and_then(|a| a.keys.last().map(|epoch| epoch.key))
}

/// Checks that at least k authorities active in `view` (the state before the block; after it, for the
/// genesis block) sealed the block, each seal valid, the proposer among them.
pub(crate) fn check_seals(
    view: &View<'_>,
    threshold: usize,
    header: &BlockHeader,
    seals: &[Seal],
) -> Result<(), BlockError> {
    let message = seal_message(&header.hash());
    for seal in seals {
        let key = sealing_key(view, &seal.authority).ok_or(BlockError::SealerNotAuthority)?;
        if !key.verify(&message, &seal.signature) {
            return Err(BlockError::BadSeal);
        }
    }
    if !seals.iter().any(|s| s.authority == header.proposer) {
        return Err(BlockError::ProposerNotSealer);
    }
    if seals.len() < threshold {
        return Err(BlockError::NotEnoughSeals { have: seals.len(), need: threshold });
    }
    Ok(())
}

/// One block as [`verify_blocks`] takes it: its encoding (`Vec<u8>`, `&[u8]`, `&Vec<u8>`), or the result of
/// reading it from a store (`Result<bytes, error>`), where an error is a failure at that height.
pub trait EncodedBlock {
    /// The block's bytes, or why they could not be read.
    fn encoded(&self) -> Result<&[u8], String>;
}

impl EncodedBlock for Vec<u8> {
    fn encoded(&self) -> Result<&[u8], String> {
        Ok(self)
    }
}

impl EncodedBlock for &Vec<u8> {
    fn encoded(&self) -> Result<&[u8], String> {
        Ok(self)
    }
}

impl EncodedBlock for &[u8] {
    fn encoded(&self) -> Result<&[u8], String> {
        Ok(self)
    }
}

impl<B: AsRef<[u8]>, E: std::fmt::Display> EncodedBlock for Result<B, E> {
    fn encoded(&self) -> Result<&[u8], String> {
        self.as_ref().map(AsRef::as_ref).map_err(ToString::to_string)
    }
}

mod pipeline;

pub(crate) use pipeline::replay_blocks;
pub use pipeline::verify_blocks;

#[cfg(test)]
mod variant_tests;
