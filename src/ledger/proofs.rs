//! Proofs from a ledger: where each transaction sits in the tree, the tree's stored hashes (tiles, kept
//! beside a ledger file and rebuilt from the blocks when missing or damaged), inclusion and consistency
//! proofs checked before they are returned, and the checkpoints and receipts built on them.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Ledger, LedgerError};
use crate::block::Block;
use crate::checkpoint::{Checkpoint, CheckpointPolicy, NoteVerifier};
use crate::codec::{Decode, Encode};
use crate::hash::Hash256;
use crate::ids::{ChainId, TxId};
use crate::keys::SigningKey;
use crate::merkle::{empty_root, leaf_hash};
use crate::proof::{ConsistencyProof, InclusionProof, ProofError};
use crate::receipt::Receipt;
use crate::store::Store;
use crate::tiles::TileStore;
use crate::tx::SignedTx;

/// Where each block's transactions sit, and the tree's stored hashes (the leaf index of each transaction is
/// in the access history).
#[derive(Debug)]
pub(super) struct ProofIndex {
    /// The tree size after each block, by height.
    block_ends: Vec<u64>,
    tiles: Mutex<Tiles>,
}

/// The stored hashes and where they live.
#[derive(Debug)]
struct Tiles {
    /// Open once the chain id is known; `None` before.
    store: Option<TileStore>,
    /// The directory of the tile files, for a ledger in a file.
    dir: Option<PathBuf>,
    /// Whether the files may only be read.
    read_only: bool,
    /// Whether the stored hashes must be rebuilt from the blocks before use.
    stale: bool,
}

/// The directory of the tiles of the ledger file at `path`: `<file name>.tiles` beside it.
pub fn tiles_dir(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(std::ffi::OsString::from).unwrap_or_default();
    name.push(".tiles");
    path.with_file_name(name)
}

impl ProofIndex {
    /// An index whose tiles live in memory, built from the blocks when a proof first needs them (a ledger
    /// that never proves anything never holds them).
    pub(super) fn in_memory() -> Self {
        Self::with_tiles(Tiles { store: None, dir: None, read_only: false, stale: true })
    }

    /// An index whose tiles live in `dir` (read-only: used if they match, never written).
    pub(super) fn in_dir(dir: PathBuf, read_only: bool) -> Self {
        Self::with_tiles(Tiles { store: None, dir: Some(dir), read_only, stale: false })
    }

    fn with_tiles(tiles: Tiles) -> Self {
        Self { block_ends: Vec::new(), tiles: Mutex::new(tiles) }
    }

    /// A copy for a ledger on another store: the block ends, and tiles in memory, built on first use.
    pub(super) fn duplicate(&self) -> Self {
        Self { block_ends: self.block_ends.clone(), ..Self::in_memory() }
    }

    fn tiles(&self) -> MutexGuard<'_, Tiles> {
        self.tiles.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tree size after each block, by height.
    pub(super) fn block_ends(&self) -> &[u64] {
        &self.block_ends
    }

    /// Takes up the block ends a snapshot recorded, for the ledger of `chain` (the stored hashes are checked
    /// against the ledger's root after the blocks that follow are recorded).
    pub(super) fn resume(&mut self, chain: &ChainId, block_ends: Vec<u64>) {
        self.block_ends = block_ends;
        self.tiles.get_mut().unwrap_or_else(PoisonError::into_inner).open(chain);
    }

    /// Records a sealed block's transactions (ids and leaf hashes, in order). Storing their hashes may
    /// fail without failing the block: the tiles are then rebuilt before they are next used.
    pub(super) fn record_block(&mut self, chain: &ChainId, leaves: &[(TxId, Hash256)]) {
        let first = self.block_ends.last().copied().unwrap_or(0);
        self.block_ends.push(first + leaves.len() as u64);
        let tiles = self.tiles.get_mut().unwrap_or_else(PoisonError::into_inner);
        tiles.open(chain);
        if tiles.stale {
            return;
        }
        let Some(store) = tiles.store.as_mut() else { return };
        // On reopening, the files may already hold these leaves.
        let skip = store.size().saturating_sub(first);
        let new: Vec<Hash256> = leaves.iter().skip(usize::try_from(skip).unwrap_or(usize::MAX)).map(|l| l.1).collect();
        if !new.is_empty() && (store.is_read_only() || store.append(&new).is_err()) {
            tiles.stale = true;
        }
    }

    /// After opening: the stored hashes must give the ledger's own root at its size (a writer first cuts
    /// what a cut ledger no longer holds), or they are rebuilt before use.
    pub(super) fn check_against(&mut self, size: u64, root: &Hash256) {
        let tiles = self.tiles.get_mut().unwrap_or_else(PoisonError::into_inner);
        let Some(store) = tiles.store.as_mut().filter(|_| !tiles.stale) else { return };
        if store.size() > size && !store.is_read_only() && store.truncate(size).is_err() {
            tiles.stale = true;
        }
        if store.size() < size || store.root(size).as_ref() != Ok(root) {
            tiles.stale = true;
        }
    }

    /// The block holding leaf `index`, and the index of the block's first leaf.
    fn block_of(&self, index: u64) -> Option<(u64, u64)> {
        let height = self.block_ends.partition_point(|end| *end <= index);
        let first = height.checked_sub(1).and_then(|h| self.block_ends.get(h)).copied().unwrap_or(0);
        (height < self.block_ends.len()).then_some((height as u64, first))
    }
}

impl Tiles {
    /// Opens the tile files (or memory) for `chain` on first use. Files of another ledger are replaced by a
    /// writer; a reader that cannot use them, or a writer that cannot write them, falls back to memory.
    fn open(&mut self, chain: &ChainId) {
        if self.store.is_some() {
            return;
        }
        let opened = self.dir.as_deref().map(|dir| {
            TileStore::open_dir(dir, chain, self.read_only).or_else(|error| {
                if self.read_only {
                    return Err(error);
                }
                remove_level_files(dir)?;
                TileStore::open_dir(dir, chain, false)
            })
        });
        self.store = Some(match opened {
            Some(Ok(store)) => store,
            Some(Err(_)) => {
                self.stale = true;
                TileStore::in_memory()
            }
            None => TileStore::in_memory(),
        });
    }
}

/// Removes the tile level files in `dir` (and nothing else).
fn remove_level_files(dir: &Path) -> std::io::Result<()> {
    for number in 0..=8 {
        match std::fs::remove_file(dir.join(format!("level-{number}"))) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

impl<S: Store> Ledger<S> {
    /// The leaf index of a sealed transaction in the ledger's tree, if it is sealed here.
    pub fn position_of(&self, tx: &TxId) -> Result<Option<u64>, LedgerError> {
        self.read_history(self.history.position(tx))
    }

    /// The sealed transaction at leaf `index`, and the height of its block.
    pub fn transaction_at(&self, index: u64) -> Result<(SignedTx, u64), LedgerError> {
        let size = self.tree().size();
        let (height, first) =
            self.index.block_of(index).ok_or(LedgerError::Proof(ProofError::IndexBeyondSize { index, size }))?;
        let block = self.read_block(height)?;
        let tx = usize::try_from(index - first).ok().and_then(|i| block.txs.into_iter().nth(i));
        Ok((tx.ok_or(LedgerError::TreeMismatch)?, height))
    }

    /// The height and hash of the first block after which the tree holds `size` transactions.
    pub(super) fn block_covering(&self, size: u64) -> Result<(u64, crate::ids::BlockHash), LedgerError> {
        let height = self.index.block_ends.partition_point(|end| *end < size) as u64;
        Ok((height, self.read_block(height)?.header.hash()))
    }

    /// The sealed block at `height`, read from the store.
    pub(crate) fn read_block(&self, height: u64) -> Result<Block, LedgerError> {
        let bytes = self.store.read(height)?;
        Block::from_bytes(&bytes).map_err(|_| LedgerError::TreeMismatch)
    }

    /// The root of the tree of the first `size` sealed transactions: the ledger's own root at its size,
    /// and for a smaller size a root from the stored hashes that a consistency proof to the ledger's root
    /// confirms.
    pub fn root_at(&self, size: u64) -> Result<Hash256, LedgerError> {
        let (current, current_root) = (self.tree().size(), self.tree().root());
        if size > current {
            return Err(ProofError::BadSizes { old: size, new: current }.into());
        }
        if size == current {
            return Ok(current_root);
        }
        if size == 0 {
            return Ok(empty_root());
        }
        self.with_tiles(|tiles| {
            let root = tiles.root(size)?;
            ConsistencyProof::generate(tiles, size, current)?.verify(&root, &current_root)?;
            Ok(root)
        })
    }

    /// The inclusion proof of the sealed transaction at leaf `index` in the tree of `tree_size` leaves
    /// (RFC 9162 §2.1.3), checked against [`Ledger::root_at`] before it is returned.
    pub fn prove_inclusion(&self, index: u64, tree_size: u64) -> Result<InclusionProof, LedgerError> {
        if index >= tree_size {
            return Err(ProofError::IndexBeyondSize { index, size: tree_size }.into());
        }
        let root = self.root_at(tree_size)?;
        let leaf = leaf_hash(&self.transaction_at(index)?.0.to_bytes());
        self.with_tiles(|tiles| {
            let proof = InclusionProof::generate(tiles, index, tree_size)?;
            proof.verify(&leaf, &root)?;
            Ok(proof)
        })
    }

    /// The consistency proof from the tree of `old_size` sealed transactions to that of `new_size` (RFC
    /// 9162 §2.1.4), checked against both roots before it is returned.
    pub fn prove_consistency(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof, LedgerError> {
        if old_size == 0 || old_size > new_size {
            return Err(ProofError::BadSizes { old: old_size, new: new_size }.into());
        }
        let new_root = self.root_at(new_size)?;
        let old_root = self.root_at(old_size)?;
        self.with_tiles(|tiles| {
            let proof = ConsistencyProof::generate(tiles, old_size, new_size)?;
            proof.verify(&old_root, &new_root)?;
            Ok(proof)
        })
    }

    /// Runs `make` on the stored hashes; if they are stale or `make` fails (damaged hashes fail the checks
    /// every proof goes through), rebuilds them from the blocks and runs it once more.
    fn with_tiles<T>(&self, make: impl Fn(&TileStore) -> Result<T, LedgerError>) -> Result<T, LedgerError> {
        let mut tiles = self.index.tiles();
        tiles.open(&self.chain());
        if !tiles.stale
            && let Some(Ok(value)) = tiles.store.as_ref().map(&make)
        {
            return Ok(value);
        }
        self.rebuild_tiles(&mut tiles)?;
        let store = tiles.store.as_ref().ok_or(LedgerError::TreeMismatch)?;
        make(store).map_err(|error| match error {
            LedgerError::Proof(ProofError::RootMismatch) => LedgerError::TreeMismatch,
            other => other,
        })
    }

    /// Rebuilds the stored hashes from every sealed block: in the files if they can be written, else in
    /// memory.
    fn rebuild_tiles(&self, tiles: &mut Tiles) -> Result<(), LedgerError> {
        let writable = tiles.dir.is_some() && tiles.store.as_ref().is_some_and(|s| !s.is_read_only());
        if let Some(store) = tiles.store.as_mut().filter(|_| writable)
            && self.fill(store).is_ok()
        {
            tiles.stale = false;
            return Ok(());
        }
        let mut memory = TileStore::in_memory();
        self.fill(&mut memory)?;
        *tiles = Tiles { store: Some(memory), dir: None, read_only: false, stale: false };
        Ok(())
    }

    /// Fills `store` afresh with the leaf hash of every sealed transaction, and checks the root it gives.
    fn fill(&self, store: &mut TileStore) -> Result<(), LedgerError> {
        let io = |e: std::io::Error| LedgerError::Store(e.into());
        store.clear().map_err(io)?;
        for height in 0..self.block_count() {
            let block = self.read_block(height)?;
            let leaves: Vec<Hash256> = block.txs.iter().map(|tx| leaf_hash(&tx.to_bytes())).collect();
            store.append(&leaves).map_err(io)?;
        }
        if store.root(self.tree().size()) != Ok(self.tree().root()) {
            return Err(LedgerError::TreeMismatch);
        }
        Ok(())
    }

    // ---- checkpoints and receipts ----

    /// The checkpoint of the last sealed block: origin `healthchain/<chain id>`, tree size and root.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint::for_chain(&self.chain(), self.tree().size(), self.tree().root())
    }

    /// The checkpoint of the last sealed block, signed by `authorities` (authorities active after the last
    /// sealed block, at least the seal threshold): a C2SP signed note, ready to publish and to hand to witnesses.
    pub fn sign_checkpoint(&self, authorities: &[&SigningKey]) -> Result<String, LedgerError> {
        let view = self.sealing_view();
        let mut signers: Vec<&SigningKey> = Vec::new();
        for key in authorities {
            let id = self
                .state()
                .actor_of_key(&key.public_key())
                .filter(|id| crate::replay::sealing_key(&view, id) == Some(key.public_key()))
                .ok_or(LedgerError::UnknownKey("active authority"))?;
            if !signers.iter().any(|k| self.state().actor_of_key(&k.public_key()) == Some(id)) {
                signers.push(key);
            }
        }
        let need = self.state().seal_threshold();
        if signers.len() < need {
            return Err(LedgerError::NotEnoughSealers { have: signers.len(), need });
        }
        Ok(self.checkpoint().sign(&signers)?)
    }

    /// The policy that accepts this ledger's checkpoints: signed by at least the seal threshold of its
    /// active authorities (as of the last sealed block), cosigned by at least `witness_threshold` of
    /// `witnesses`.
    pub fn checkpoint_policy(&self, witnesses: Vec<NoteVerifier>, witness_threshold: usize) -> CheckpointPolicy {
        let origin = self.checkpoint().origin;
        let policy = crate::trust::authorities_policy(&self.sealing_view(), &origin, self.state().seal_threshold());
        CheckpointPolicy { witnesses, witness_threshold, ..policy }
    }

    /// A receipt for the sealed transaction `tx`: its bytes, its inclusion proof, and a checkpoint (a
    /// signed note of this ledger at a size that holds it, with whatever cosignatures it carries):
    /// `checkpoint`, or else the newest carried one that holds it. The checkpoint's root must be this
    /// ledger's root at its size.
    pub fn receipt(&self, tx: &TxId, checkpoint: Option<&str>) -> Result<Receipt, LedgerError> {
        let index = self.position_of(tx)?.ok_or(LedgerError::NotSealed)?;
        let checkpoint = checkpoint.or_else(|| self.carried_covering(index)).ok_or(LedgerError::NoCheckpoint)?;
        let note = crate::checkpoint::SignedNote::parse(checkpoint.as_bytes())?;
        let stated = Checkpoint::parse_text(&note.text)?;
        if stated.origin != self.checkpoint().origin || stated.size > self.tree().size() {
            return Err(LedgerError::ForeignCheckpoint);
        }
        if self.root_at(stated.size)? != stated.root {
            return Err(LedgerError::ForeignCheckpoint);
        }
        let proof = self.prove_inclusion(index, stated.size)?;
        let (transaction, _) = self.transaction_at(index)?;
        Ok(Receipt { transaction: transaction.to_bytes(), proof, checkpoint: note.to_text() })
    }
}
