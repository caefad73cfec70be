//! Where blocks live: the [`Store`] trait and an in-memory implementation.

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
}
