//! Where blocks live: the [`Store`] trait, an in-memory store, and the embedded default, an append-only file.

mod file;
pub(crate) mod io;

pub use file::{FILE_VERSION, FileStore, MAX_RESERVED, MIN_RESERVED, OpenOptions, Recovery, TORN_ZERO_RUN};
pub use io::LedgerFile;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No block at that height.
    #[error("no block at height {0}")]
    Missing(u64),
    /// An append at a height other than the next one.
    #[error("append at height {found}, expected {expected}")]
    OutOfOrder {
        /// The next height.
        expected: u64,
        /// The height offered.
        found: u64,
    },
    /// An input/output failure of the underlying medium.
    #[error("store i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// Another process (or handle) holds the ledger's writer lock.
    #[error("ledger is locked by another writer")]
    Locked,
    /// An earlier write or sync failed; the store refuses appends until reopened.
    #[error("store is poisoned by an earlier write or sync failure; reopen it")]
    Poisoned,
    /// The file is not a healthchain ledger (bad magic).
    #[error("not a healthchain ledger file")]
    NotALedger,
    /// The file's format version is not one this library reads.
    #[error("unknown ledger file version {0}")]
    UnknownVersion(u32),
    /// Damage that recovery must not repair: the file is left untouched.
    #[error("ledger file damaged at byte {offset} (block {height}): {reason}")]
    Damaged {
        /// Byte offset of the damaged frame or header.
        offset: u64,
        /// Height of the block expected there.
        height: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// Strict mode found a torn tail and refused to cut it.
    #[error(
        "ledger file has an incomplete final frame at byte {offset} (block {height}); strict mode refuses to cut it"
    )]
    TornTail {
        /// Where the incomplete frame starts.
        offset: u64,
        /// Height of the block that was being written.
        height: u64,
    },
    /// A block larger than the file format allows.
    #[error("block of {0} bytes exceeds the file format's limit")]
    BlockTooLarge(usize),
    /// The store is open read-only.
    #[error("store is read-only")]
    ReadOnly,
    /// The file holds no complete genesis block: a creation that was interrupted before it completed (its
    /// genesis was never acknowledged). Opening leaves it as it is; creating the ledger again takes it over.
    #[error("ledger file holds no complete genesis block (an interrupted creation); create the ledger again")]
    IncompleteCreation,
    /// A block the store cannot hold as given (the ledger never builds one).
    #[error("block cannot be stored: {0}")]
    InvalidBlock(&'static str),
}

/// An append-only sequence of encoded blocks, indexed by height.
///
/// `append` must not return before the block is as durable as the store promises; the ledger
/// acknowledges a block only after `append` returned `Ok`.
pub trait Store {
    /// Number of blocks (the next height).
    fn len(&self) -> u64;

    /// Whether the store holds no block.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoded block at `height`.
    fn read(&self, height: u64) -> Result<Vec<u8>, StoreError>;

    /// Appends the encoded block at `height`, which must equal `len()`.
    fn append(&mut self, height: u64, block: &[u8]) -> Result<(), StoreError>;

    /// Whether appends are refused because the store was opened read-only.
    fn is_read_only(&self) -> bool {
        false
    }

    /// Whether the store keeps its blocks in memory: a ledger on it then keeps its access history in memory
    /// too, instead of in a temporary file.
    fn in_memory(&self) -> bool {
        false
    }

    /// Where the block at `height` lives in the underlying medium (a byte offset), if that means anything.
    fn location(&self, height: u64) -> Option<u64> {
        let _ = height;
        None
    }
}

/// Blocks held in memory (tests, examples, short-lived ledgers).
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    blocks: Vec<Vec<u8>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `blocks` as they are (used to load an exported or tampered ledger).
    pub fn from_blocks(blocks: Vec<Vec<u8>>) -> Self {
        Self { blocks }
    }

    /// The encoded blocks.
    pub fn blocks(&self) -> &[Vec<u8>] {
        &self.blocks
    }
}

impl Store for MemoryStore {
    fn len(&self) -> u64 {
        self.blocks.len() as u64
    }

    fn read(&self, height: u64) -> Result<Vec<u8>, StoreError> {
        usize::try_from(height).ok().and_then(|h| self.blocks.get(h)).cloned().ok_or(StoreError::Missing(height))
    }

    fn append(&mut self, height: u64, block: &[u8]) -> Result<(), StoreError> {
        if height != self.len() {
            return Err(StoreError::OutOfOrder { expected: self.len(), found: height });
        }
        self.blocks.push(block.to_vec());
        Ok(())
    }

    fn in_memory(&self) -> bool {
        true
    }
}
