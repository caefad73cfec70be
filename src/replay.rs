//! Replaying blocks from genesis: the single code path behind full verification and ledger loading.
//! It re-checks every rule of DESIGN.md §4: heights, hash links, timestamps, seals, every transaction
//! against the state before it, every signature, and the Merkle tree size and root.

use crate::block::{Block, BlockHeader, seal_message};
use crate::codec::{Decode, DecodeError, Encode};
use crate::codes::Role;
use crate::error::TxError;
use crate::hash::Hash256;
use crate::ids::ActorId;
use crate::ids::{BlockHash, ChainId, TxId};
use crate::keys::{PublicKey, Signature};
use crate::merkle::{MerkleTree, leaf_hash};
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
struct PendingSignature {
    index: u32,
    key: PublicKey,
    message: Vec<u8>,
    signature: Signature,
    /// What a failure is.
    error: TxError,
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
        if let Some(failure) = &self.failed {
            return Err(failure.clone());
        }
        let result = self.apply_block_once(bytes);
        if let Err(failure) = &result {
            self.failed = Some(failure.clone());
        }
        result
    }

    fn apply_block_once(&mut self, bytes: &[u8]) -> Result<(), VerifyFailure> {
        let height = self.next_height();
        let fail = |tx_index: Option<u32>, reason: BlockError| VerifyFailure { height, tx_index, reason };
        let block = Block::from_bytes(bytes).map_err(|e| fail(None, BlockError::Malformed(e)))?;
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
            check_seals(&self.state.latest(), self.state.seal_threshold(), &block)
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
        for (index, tx) in block.txs.iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            let id = tx.id();
            let position =
                Position { height, earliest, latest: header.timestamp, first: first_index == 0 && index == 0 };
            let applied = self.state.signing_key(tx).and_then(|key| {
                if self.check_tx_signatures {
                    let message = signing_message(&id);
                    let error = TxError::BadSignature;
                    signatures.push(PendingSignature { index, key, message, signature: tx.signature, error });
                }
                self.state.apply_deferring_proofs(tx, id, position, &mut proofs)
            });
            // Proofs of possession are signatures too: checked with them, or trusted with them.
            for proof in proofs.drain(..).filter(|_| self.check_tx_signatures) {
                let error = TxError::BadProofOfPossession;
                signatures.push(PendingSignature {
                    index,
                    key: proof.key,
                    message: proof.message,
                    signature: proof.proof,
                    error,
                });
            }
            if let Err(error) = applied {
                // A bad signature at or before this transaction is the earlier failure.
                return Err(match first_bad_signature(&signatures) {
                    Some((bad, reason)) => fail(Some(bad), BlockError::Tx(reason)),
                    None => fail(Some(index), BlockError::Tx(error)),
                });
            }
            let leaf = leaf_hash(&tx.to_bytes());
            self.tree.push(leaf);
            self.last_leaves.push((id, leaf));
        }
        if let Some((bad, reason)) = first_bad_signature(&signatures) {
            return Err(fail(Some(bad), BlockError::Tx(reason)));
        }
        if previous_time.is_none() {
            if header.chain != self.state.chain() {
                return Err(fail(None, BlockError::WrongChain));
            }
            // The genesis block, which holds genesis alone, is sealed by exactly the authorities genesis names.
            check_seals(&self.state.latest(), self.state.seal_threshold(), &block)
                .map_err(|reason| fail(None, reason))?;
        }
        if header.tree_size != self.tree.size() {
            return Err(fail(
                None,
                BlockError::TreeSizeMismatch { expected: self.tree.size(), found: header.tree_size },
            ));
        }
        if header.tree_root != self.tree.root() {
            return Err(fail(None, BlockError::TreeRootMismatch));
        }
        self.head = Some(Head { hash: header.hash(), header: block.header });
        Ok(())
    }

    /// Records a block built and sealed by this ledger (its transactions were already applied to the state).
    pub(crate) fn push_own_block(&mut self, header: BlockHeader, leaves: impl IntoIterator<Item = Hash256>) {
        for leaf in leaves {
            self.tree.push(leaf);
        }
        self.head = Some(Head { hash: header.hash(), header });
    }
}

/// The first pending signature (in ledger order) that does not verify, with its transaction index and what
/// its failure is; checks are spread over the cores.
fn first_bad_signature(signatures: &[PendingSignature]) -> Option<(u32, TxError)> {
    const PARALLEL_FROM: usize = 64;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let first_bad = |part: &[PendingSignature]| part.iter().position(|s| !s.key.verify(&s.message, &s.signature));
    let bad = if signatures.len() < PARALLEL_FROM || threads < 2 {
        first_bad(signatures)
    } else {
        let chunk = signatures.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let workers: Vec<_> = signatures.chunks(chunk).map(|part| scope.spawn(move || first_bad(part))).collect();
            // A worker that panicked reports its whole chunk as suspect by its first position.
            workers
                .into_iter()
                .enumerate()
                .filter_map(|(i, worker)| worker.join().unwrap_or(Some(0)).map(|p| i * chunk + p))
                .min()
        })
    };
    bad.and_then(|at| signatures.get(at)).map(|s| (s.index, s.error.clone()))
}

/// The key `id` seals with in `view`, if `id` is an active authority there.
pub(crate) fn sealing_key(view: &View<'_>, id: &ActorId) -> Option<PublicKey> {
    view.actor(id)
        .filter(|a| a.role == Role::Authority && a.deactivated.is_none())
        .and_then(|a| a.keys.last().map(|epoch| epoch.key))
}

/// Checks that at least k authorities active in `view` (the state before the block; after it, for the
/// genesis block) sealed the block, each seal valid, the proposer among them.
pub(crate) fn check_seals(view: &View<'_>, threshold: usize, block: &Block) -> Result<(), BlockError> {
    let message = seal_message(&block.header.hash());
    for seal in &block.seals {
        let key = sealing_key(view, &seal.authority).ok_or(BlockError::SealerNotAuthority)?;
        if !key.verify(&message, &seal.signature) {
            return Err(BlockError::BadSeal);
        }
    }
    if !block.seals.iter().any(|s| s.authority == block.header.proposer) {
        return Err(BlockError::ProposerNotSealer);
    }
    if block.seals.len() < threshold {
        return Err(BlockError::NotEnoughSeals { have: block.seals.len(), need: threshold });
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

/// Verifies a whole ledger given as encoded blocks from genesis, stopping at the first failure: every
/// block's height, hash link, timestamp and seals, every transaction's rules and signature, the Merkle
/// tree in every header. The blocks may be in memory or read from a store as they are verified.
///
/// ```
/// use healthchain::*;
///
/// let hospital = SigningKey::generate()?;
/// let mut ledger = Ledger::create(MemoryStore::new(), Box::new(ManualClock::new(1_700_000_000_000)),
///                                 &LedgerSettings::new("verify-example"), &[&hospital])?;
/// ledger.register(&hospital, &SigningKey::generate()?, Role::Patient)?;
/// ledger.seal(&[&hospital])?;
///
/// // Blocks in memory, e.g. received from another member.
/// let mut blocks: Vec<Vec<u8>> = (0..ledger.store().len()).map(|h| ledger.store().read(h)).collect::<Result<_, _>>()?;
/// assert!(verify_blocks(&blocks).is_valid());
///
/// // Or straight from a store, read as they are verified.
/// let report = verify_blocks((0..ledger.store().len()).map(|h| ledger.store().read(h)));
/// assert_eq!((report.blocks, report.transactions), (2, 2));
///
/// // One flipped bit: the report names the block and why.
/// blocks[1][40] ^= 1;
/// let failure = verify_blocks(&blocks).failure.ok_or("tampering undetected")?;
/// assert_eq!(failure.height, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_blocks<I>(blocks: I) -> VerifyReport
where
    I: IntoIterator,
    I::Item: EncodedBlock,
{
    verify_blocks_observed(blocks, |_, _| {}).0
}

/// [`verify_blocks`], calling `observe` after each block that verified with the tree as it was before
/// the block and the replayer after it; also gives the replayer as it ended.
pub(crate) fn verify_blocks_observed<I>(
    blocks: I,
    mut observe: impl FnMut(&MerkleTree, &Replayer),
) -> (VerifyReport, Replayer)
where
    I: IntoIterator,
    I::Item: EncodedBlock,
{
    let mut replayer = Replayer::new();
    for block in blocks {
        let before = replayer.tree().clone();
        let result = match block.encoded() {
            Ok(bytes) => replayer.apply_block(bytes),
            Err(e) => {
                Err(VerifyFailure { height: replayer.next_height(), tx_index: None, reason: BlockError::Store(e) })
            }
        };
        if let Err(failure) = result {
            return (replayer.report(Some(failure)), replayer);
        }
        observe(&before, &replayer);
    }
    if replayer.head().is_none() {
        let failure = VerifyFailure { height: 0, tx_index: None, reason: BlockError::MissingGenesis };
        return (replayer.report(Some(failure)), replayer);
    }
    (replayer.report(None), replayer)
}

#[cfg(test)]
mod variant_tests {
    //! Every [`BlockError`] variant, each produced by verifying real blocks that were really tampered with
    //! (through the crate's public API: a ledger over a `MemoryStore`, `verify_blocks`), never by
    //! constructing the error. `name` is an exhaustive match without a wildcard, generated together with
    //! `NAMES` from one list: a new variant breaks the build until it is listed, and then this test fails
    //! until it produces the new variant too.

    use super::{BlockError, VerifyFailure, VerifyReport, verify_blocks};
    use crate::block::{Block, Seal};
    use crate::clock::ManualClock;
    use crate::codec::{Decode, Encode};
    use crate::codes::Role;
    use crate::error::TxError;
    use crate::hash::Hash256;
    use crate::ids::{ActorId, BlockHash, ChainId};
    use crate::keys::SigningKey;
    use crate::ledger::{Ledger, LedgerSettings};
    use crate::store::{MemoryStore, Store, StoreError};
    use std::collections::BTreeSet;

    variant_names!(BlockError {
        BlockError::Store(_) => "Store",
        BlockError::Malformed(_) => "Malformed",
        BlockError::WrongChain => "WrongChain",
        BlockError::BadHeight { .. } => "BadHeight",
        BlockError::BadPrevHash => "BadPrevHash",
        BlockError::TimestampDecreased { .. } => "TimestampDecreased",
        BlockError::MissingGenesis => "MissingGenesis",
        BlockError::GenesisNotAlone => "GenesisNotAlone",
        BlockError::TreeSizeMismatch { .. } => "TreeSizeMismatch",
        BlockError::TreeRootMismatch => "TreeRootMismatch",
        BlockError::SealerNotAuthority => "SealerNotAuthority",
        BlockError::BadSeal => "BadSeal",
        BlockError::NotEnoughSeals { .. } => "NotEnoughSeals",
        BlockError::ProposerNotSealer => "ProposerNotSealer",
        BlockError::Tx(_) => "Tx",
    });

    const T0: u64 = 1_700_000_000_000;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_seed(&[seed; 32])
    }

    fn id(key: &SigningKey) -> ActorId {
        ActorId::from_key(&key.public_key())
    }

    /// The blocks of a ledger founded by `authorities` with `threshold`: genesis (block 0), two
    /// registrations (block 1) and one more (block 2), one second apart, every block sealed by all of them.
    fn network(authorities: &[&SigningKey], threshold: u8) -> Vec<Vec<u8>> {
        let clock = ManualClock::new(T0);
        let settings = LedgerSettings { seal_threshold: threshold, nonce: Some([5; 32]), ..LedgerSettings::new("v") };
        let mut ledger = Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &settings, authorities).unwrap();
        let founder = authorities[0];
        for new in [&[2u8, 3][..], &[4][..]] {
            clock.advance(1000);
            for seed in new {
                ledger.register(founder, &key(*seed), Role::Patient).unwrap();
            }
            ledger.seal(authorities).unwrap();
        }
        ledger.into_store().blocks().to_vec()
    }

    fn verify(chain: &[Vec<u8>]) -> VerifyReport {
        verify_blocks(chain)
    }

    /// `chain` with block `height` decoded, changed by `edit` and encoded again (the seals are kept).
    fn edited(chain: &[Vec<u8>], height: usize, edit: impl FnOnce(&mut Block)) -> Vec<Vec<u8>> {
        let mut chain = chain.to_vec();
        let mut block = Block::from_bytes(&chain[height]).unwrap();
        edit(&mut block);
        chain[height] = block.to_bytes();
        chain
    }

    /// `chain` with block `height` changed by `edit` and sealed again by `sealers`: what authorities holding
    /// those keys could do. Later blocks are left as they were (verification stops before them).
    fn resealed(
        chain: &[Vec<u8>],
        height: usize,
        sealers: &[&SigningKey],
        edit: impl FnOnce(&mut Block),
    ) -> Vec<Vec<u8>> {
        edited(chain, height, |block| {
            edit(block);
            let hash = block.header.hash();
            block.seals = sealers.iter().map(|k| Seal::sign(id(k), k, &hash)).collect();
            block.seals.sort_by_key(|s| s.authority);
        })
    }

    /// The names of the failures seen so far.
    #[derive(Default)]
    struct Produced(BTreeSet<&'static str>);

    impl Produced {
        /// Asserts that `report` failed at `height` (and `tx_index`) with `expected`, and records the name of
        /// the failure it holds.
        #[track_caller]
        fn failed(
            &mut self,
            what: &str,
            report: VerifyReport,
            height: u64,
            tx_index: Option<u32>,
            expected: BlockError,
        ) {
            let failure = report.failure.unwrap_or_else(|| panic!("{what}: verified"));
            assert_eq!(failure, VerifyFailure { height, tx_index, reason: expected }, "{what}");
            self.0.insert(name(&failure.reason));
        }
    }

    #[test]
    fn every_block_error_is_produced_by_real_tampering() {
        let hospital = key(1);
        let h = &[&hospital][..];
        let chain = network(h, 1);
        // The fixture and the resealing itself verify: each failure below is the change it makes.
        assert!(verify(&chain).is_valid(), "{:?}", verify(&chain).failure);
        assert_eq!(verify(&chain).blocks, 3);
        for height in 0..3 {
            assert!(verify(&resealed(&chain, height, h, |_| {})).is_valid(), "resealing block {height}");
        }
        let block = |height: usize| Block::from_bytes(&chain[height]).unwrap();
        let other_chain = ChainId(Hash256([9; 32]));
        let mut seen = Produced::default();

        // The store fails: block 2 of a store holding two blocks.
        let store = MemoryStore::from_blocks(chain[..2].to_vec());
        let report = verify_blocks((0..3).map(|height| store.read(height)));
        seen.failed("unreadable block", report, 2, None, BlockError::Store(StoreError::Missing(2).to_string()));

        // Bytes that are no block: block 1 cut short by one byte.
        let mut cut = chain.clone();
        cut[1].pop();
        let decode_error = Block::from_bytes(&cut[1]).unwrap_err();
        seen.failed("block 1 cut short", verify(&cut), 1, None, BlockError::Malformed(decode_error));

        // Header fields changed and the block sealed again.
        let wrong_chain = resealed(&chain, 1, h, |b| b.header.chain = other_chain);
        seen.failed("block 1 naming another chain", verify(&wrong_chain), 1, None, BlockError::WrongChain);
        let wrong_chain = resealed(&chain, 0, h, |b| b.header.chain = other_chain);
        seen.failed("genesis block naming another chain", verify(&wrong_chain), 0, None, BlockError::WrongChain);
        let skipped = vec![chain[0].clone(), chain[2].clone()];
        seen.failed("block 1 deleted", verify(&skipped), 1, None, BlockError::BadHeight { expected: 1, found: 2 });
        let relinked = resealed(&chain, 1, h, |b| b.header.prev_hash = BlockHash(Hash256([7; 32])));
        seen.failed("block 1 linked elsewhere", verify(&relinked), 1, None, BlockError::BadPrevHash);
        let genesis_time = block(0).header.timestamp;
        let earlier = resealed(&chain, 1, h, |b| b.header.timestamp = genesis_time - 1);
        let decreased = BlockError::TimestampDecreased { previous: genesis_time, found: genesis_time - 1 };
        seen.failed("block 1 dated before genesis", verify(&earlier), 1, None, decreased);
        let size = resealed(&chain, 1, h, |b| b.header.tree_size = 99);
        let size_mismatch = BlockError::TreeSizeMismatch { expected: 3, found: 99 };
        seen.failed("block 1 with another tree size", verify(&size), 1, None, size_mismatch);
        let root = resealed(&chain, 1, h, |b| b.header.tree_root = Hash256([7; 32]));
        seen.failed("block 1 with another tree root", verify(&root), 1, None, BlockError::TreeRootMismatch);

        // The genesis block: none, empty, or holding more than genesis.
        seen.failed("no block at all", verify(&[]), 0, None, BlockError::MissingGenesis);
        let empty = resealed(&chain, 0, h, |b| {
            b.txs.clear();
            b.header.tx_count = 0;
        });
        seen.failed("an empty genesis block", verify(&empty), 0, None, BlockError::MissingGenesis);
        let registration = block(1).txs[0].clone();
        let crowded = resealed(&chain, 0, h, |b| {
            b.txs.push(registration);
            b.header.tx_count = 2;
        });
        seen.failed("genesis and a registration in block 0", verify(&crowded), 0, None, BlockError::GenesisNotAlone);

        // Seals: by a registered actor that is no authority, bent, too few, without the proposer's.
        let patient = key(2);
        let by_patient = resealed(&chain, 2, &[&patient], |b| b.header.proposer = id(&patient));
        seen.failed("block 2 sealed by a patient", verify(&by_patient), 2, None, BlockError::SealerNotAuthority);
        let mut bent = chain.clone();
        let signature_start = bent[1].len() - 64;
        bent[1][signature_start] ^= 0x01;
        seen.failed("a bit of block 1's seal flipped", verify(&bent), 1, None, BlockError::BadSeal);
        let not_proposer = resealed(&chain, 1, h, |b| b.header.proposer = id(&patient));
        seen.failed(
            "block 1 naming the patient proposer",
            verify(&not_proposer),
            1,
            None,
            BlockError::ProposerNotSealer,
        );
        let (a, b) = (key(11), key(12));
        let two_of_two = network(&[&a, &b], 2);
        assert!(verify(&two_of_two).is_valid(), "{:?}", verify(&two_of_two).failure);
        let one_seal = edited(&two_of_two, 1, |block| {
            let proposer = block.header.proposer;
            block.seals.retain(|s| s.authority == proposer);
        });
        let too_few = BlockError::NotEnoughSeals { have: 1, need: 2 };
        seen.failed("block 1 of a 2-of-2 ledger with one seal", verify(&one_seal), 1, None, too_few);

        // A transaction whose signature is another's (the header, and so the seal, unchanged).
        let swapped = edited(&chain, 1, |b| b.txs[1].signature = b.txs[0].signature);
        seen.failed(
            "a transaction signature swapped",
            verify(&swapped),
            1,
            Some(1),
            BlockError::Tx(TxError::BadSignature),
        );

        // Every variant was produced (`name` returns only listed names, by construction), and none is listed
        // twice.
        let listed: BTreeSet<&str> = NAMES.iter().copied().collect();
        assert_eq!(listed.len(), NAMES.len(), "a name is listed twice: {NAMES:?}");
        assert_eq!(seen.0, listed, "variants never produced: {:?}", listed.difference(&seen.0).collect::<Vec<_>>());
    }
}
