//! State snapshots: the state after a block in one canonical byte string (docs/FORMAT.md, "State
//! snapshot"), and the files a writer keeps them in beside its ledger so that opening replays only the
//! blocks after the newest one that matches (DESIGN.md §9).
//!
//! A snapshot is never trusted over the ledger: it names the header of the block it is for, and is used only
//! if the ledger holds a block with that header's hash at that height. Full verification never reads one.

mod files;
mod local;

use crate::block::BlockHeader;
use crate::codec::{Decode, DecodeError, DecodeErrorKind, Encode, Reader};
use crate::hash::{Hash256, sha256};
use crate::ids::BlockHash;
use crate::merkle::MerkleTree;
use crate::state::State;

pub use files::{KEPT, SNAPSHOT_FILE_MAGIC, snapshots_dir};
pub(crate) use files::{SnapshotFile, SnapshotFiles, file_len};
pub(crate) use local::Local;

/// What a snapshot file beside a ledger file says, for verification to check: the state after the block
/// `block` at `height` is the one whose canonical bytes have the digest `digest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotClaim {
    /// The block's height.
    pub height: u64,
    /// The block's hash.
    pub block: BlockHash,
    /// SHA-256 of the snapshot's canonical bytes.
    pub digest: Hash256,
}

/// The claims of the snapshot files beside the ledger file at `path` that an open could take up (those
/// whose checksum holds and that decode), newest first; none when there are no such files.
pub fn claims_beside(path: &std::path::Path) -> Vec<SnapshotClaim> {
    SnapshotFiles::in_dir(snapshots_dir(path))
        .newest_first()
        .iter()
        .filter_map(|file| file.load().ok())
        .map(|(snapshot, digest, _)| SnapshotClaim { height: snapshot.height(), block: snapshot.block_hash(), digest })
        .collect()
}

/// The format version of a snapshot's canonical bytes.
pub const SNAPSHOT_VERSION: u8 = 1;

/// Why a snapshot could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The bytes are not a canonical snapshot.
    #[error("snapshot does not decode: {0}")]
    Malformed(#[from] DecodeError),
    /// A snapshot file's checksum or framing is wrong.
    #[error("snapshot file damaged: {0}")]
    Damaged(&'static str),
    /// Transactions are queued: the state is not the state after a sealed block.
    #[error("transactions are queued; seal them before taking a snapshot")]
    Unsealed,
    /// The ledger keeps no snapshot files (it is not a writer on a ledger file).
    #[error("this ledger keeps no snapshot files (open the ledger file as its writer)")]
    NoPlace,
    /// An input/output failure of a snapshot file.
    #[error("snapshot i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// The state after a block, with the block's header and the Merkle tree after it: everything a replay of
/// the blocks up to that header decides, and what replay needs to go on from there. Its `Debug` shows the
/// height and hash only.
#[derive(Clone)]
pub struct Snapshot {
    head: BlockHeader,
    tree: MerkleTree,
    state: State,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("height", &self.head.height).field("block", &self.block_hash()).finish()
    }
}

impl Snapshot {
    /// The snapshot of `state` and `tree` after the block `head` (the caller guarantees they belong to it).
    pub(crate) fn new(head: BlockHeader, tree: MerkleTree, state: State) -> Self {
        Self { head, tree, state }
    }

    /// The height of the block it is the state after.
    pub fn height(&self) -> u64 {
        self.head.height
    }

    /// The header of that block.
    pub fn header(&self) -> &BlockHeader {
        &self.head
    }

    /// The hash of that block.
    pub fn block_hash(&self) -> BlockHash {
        self.head.hash()
    }

    /// The state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The canonical bytes: equal states after equal blocks give equal bytes, whoever built them.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(&self.head, &self.tree, &self.state)
    }

    /// SHA-256 of the canonical bytes: what members compare, and will sign, to agree on a snapshot.
    pub fn digest(&self) -> Hash256 {
        sha256(&[&self.to_bytes()])
    }

    /// Decodes canonical bytes, checking them as far as they can be without the ledger: the tree gives the
    /// header's size and root, the state is the header's chain's, and nothing in it is stamped after the
    /// header's height (see the state's canonical form). Whether the ledger holds the header is for the
    /// opener to check. Keys are read back without the checks of registration (they were checked then): a
    /// snapshot from elsewhere is to be compared, by [`Snapshot::digest`], with one's own, not trusted.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SnapshotError> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != SNAPSHOT_VERSION {
            return Err(r.error_at(0, DecodeErrorKind::UnknownVersion(version)).into());
        }
        let head = BlockHeader::decode(&mut r)?;
        let at = r.position();
        let size = r.u64()?;
        let mut frontier = Vec::with_capacity(size.count_ones() as usize);
        for _ in 0..size.count_ones() {
            frontier.push(Hash256::decode(&mut r)?);
        }
        let tree = MerkleTree::from_frontier(size, frontier).filter(|t| t.size() == head.tree_size);
        let tree = tree.filter(|t| t.root() == head.tree_root);
        let tree = tree.ok_or_else(|| r.error_at(at, DecodeErrorKind::Invalid("tree is not the header's")))?;
        let at = r.position();
        let state = State::decode_canonical(&mut r, head.height)?;
        if state.chain() != head.chain {
            return Err(r.error_at(at, DecodeErrorKind::Invalid("state of another chain")).into());
        }
        r.finish()?;
        Ok(Self { head, tree, state })
    }

    /// The parts, for a replayer to resume from.
    pub(crate) fn into_parts(self) -> (BlockHeader, MerkleTree, State) {
        (self.head, self.tree, self.state)
    }
}

/// The canonical bytes of the snapshot of `state` and `tree` after the block `head`.
pub(crate) fn encode(head: &BlockHeader, tree: &MerkleTree, state: &State) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&mut out, head, tree, state);
    out
}

/// [`encode`] into `out`, emptied first (a buffer kept from an earlier snapshot is already in memory, which
/// fresh memory is not: its first use costs the operating system a page fault every 4 KiB).
pub(crate) fn encode_into(out: &mut Vec<u8>, head: &BlockHeader, tree: &MerkleTree, state: &State) {
    out.clear();
    out.push(SNAPSHOT_VERSION);
    head.encode(out);
    tree.size().encode(out);
    for node in tree.frontier() {
        node.encode(out);
    }
    state.encode_canonical(out);
}

#[cfg(test)]
mod tests;
