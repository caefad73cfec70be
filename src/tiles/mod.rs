//! The tree's stored hashes, as C2SP `tlog-tiles` levels: so that a proof for any of millions of
//! transactions costs a few reads and at most a few hundred hashes, not a recomputation of the tree.
//!
//! Tile level `L` holds, in order, the roots of the tree's perfect subtrees of `256^L` leaves (level 0: the
//! leaf hashes); its entries `[256·N, 256·N + W)` are the C2SP tile `tile/L/N` (`.p/W` while `W < 256`).
//! Any perfect subtree of `2^h` leaves is the root of at most 128 consecutive entries of level `h / 8`, and
//! any subtree RFC 9162 names is a handful of perfect ones. Levels live in memory ([`TileStore::in_memory`])
//! or in files beside the ledger ([`TileStore::open_dir`], see docs/FORMAT.md, "Tiles").
//!
//! Stored hashes are a cache, never trusted over the ledger: the ledger checks the root they give against
//! its own on open, checks every proof it makes from them before returning it, and rebuilds them from its
//! blocks when either check fails or the files are missing.

mod level;

use std::path::Path;

use crate::hash::Hash256;
use crate::ids::ChainId;
use crate::merkle::{empty_root, node_hash, root_of};
use crate::proof::{ProofError, TreeHashes};
use level::Level;

/// Entries per full tile.
pub const TILE_WIDTH: u64 = 256;

/// Tree levels per tile level.
pub const TILE_HEIGHT: u32 = 8;

/// A C2SP tile: `level`, `index`, and `width` entries (256 for a full tile).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileId {
    /// Tile level (tree level `8 × level`).
    pub level: u8,
    /// Index of the tile in its level.
    pub index: u64,
    /// Number of entries, 1 to 256.
    pub width: u16,
}

impl TileId {
    /// The tile's C2SP path, e.g. `tile/0/x001/234` or `tile/1/005.p/17`.
    pub fn path(&self) -> String {
        let mut groups = vec![format!("{:03}", self.index % 1000)];
        let mut rest = self.index / 1000;
        while rest > 0 {
            groups.push(format!("x{:03}", rest % 1000));
            rest /= 1000;
        }
        groups.reverse();
        let partial = if u64::from(self.width) < TILE_WIDTH { format!(".p/{}", self.width) } else { String::new() };
        format!("tile/{}/{}{}", self.level, groups.join("/"), partial)
    }
}

/// The stored hash levels of one ledger's tree.
#[derive(Debug)]
pub struct TileStore {
    levels: Vec<Level>,
    read_only: bool,
}

impl TileStore {
    /// Levels held in memory (ledgers on a memory store, or when the files cannot be used).
    pub fn in_memory() -> Self {
        Self { levels: vec![Level::Memory(Vec::new())], read_only: false }
    }

    /// Levels in the files of `dir` (created if missing, unless `read_only`) for the ledger `chain`. Files of
    /// another chain or with a bad header are an error: the caller rebuilds or falls back to memory. A
    /// writer makes the levels agree with each other; a reader takes them as they are (a writer may be
    /// ahead of it) and relies on the checks of every root and proof.
    pub fn open_dir(dir: &Path, chain: &ChainId, read_only: bool) -> std::io::Result<Self> {
        if !read_only {
            std::fs::create_dir_all(dir)?;
        }
        let mut levels = Vec::new();
        for number in 0u8..=8 {
            let path = dir.join(format!("level-{number}"));
            if number > 0 && !path.exists() {
                break;
            }
            levels.push(Level::open(&path, chain, number, read_only)?);
        }
        let mut store = Self { levels, read_only };
        if !read_only {
            store.normalise()?;
        }
        Ok(store)
    }

    /// Empties every level (before a rebuild).
    pub fn clear(&mut self) -> std::io::Result<()> {
        self.truncate(0)
    }

    /// Number of leaves stored.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, Level::len)
    }

    /// Whether the levels are files opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Appends leaf hashes, and every tile-level root they complete.
    pub fn append(&mut self, leaves: &[Hash256]) -> std::io::Result<()> {
        let mut pending = leaves.to_vec();
        let mut number = 0usize;
        while !pending.is_empty() {
            if self.levels.len() == number {
                let next = self.levels.last().map_or_else(Level::memory, |below| below.next_level());
                self.levels.push(next?);
            }
            let level = self.levels.get_mut(number).ok_or_else(|| std::io::Error::other("tile level missing"))?;
            let before = level.len();
            level.append(&pending)?;
            let after = level.len();
            // Each multiple of 256 crossed completes a root of the level above.
            let mut completed = Vec::new();
            let mut end = (before / TILE_WIDTH + 1) * TILE_WIDTH;
            while end <= after {
                completed.push(root_of(&level.read(end - TILE_WIDTH, TILE_WIDTH)?));
                end += TILE_WIDTH;
            }
            pending = completed;
            number += 1;
        }
        Ok(())
    }

    /// Cuts the stored tree back to `size` leaves (each level to the roots that size completes).
    pub fn truncate(&mut self, size: u64) -> std::io::Result<()> {
        let mut keep = size;
        for level in &mut self.levels {
            if level.len() > keep {
                level.truncate(keep)?;
            }
            keep /= TILE_WIDTH;
        }
        Ok(())
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash256, ProofError> {
        if size == 0 { Ok(empty_root()) } else { self.subtree_root(0, size) }
    }

    /// The entries of a C2SP tile, concatenated (32 bytes each), as a static tile server would serve them.
    pub fn tile(&self, tile: TileId) -> Result<Vec<u8>, ProofError> {
        let width = u64::from(tile.width);
        let start = tile.index.checked_mul(TILE_WIDTH);
        let unavailable = ProofError::Unavailable { start: start.unwrap_or(u64::MAX), end: u64::MAX };
        let level = self.levels.get(usize::from(tile.level)).ok_or(unavailable)?;
        let start = start.filter(|_| (1..=TILE_WIDTH).contains(&width)).ok_or(unavailable)?;
        if start.checked_add(width).is_none_or(|end| end > level.len()) {
            return Err(unavailable);
        }
        let hashes = level.read(start, width).map_err(|_| unavailable)?;
        Ok(hashes.iter().flat_map(|h| h.0).collect())
    }

    /// The root of the perfect subtree of `2^height` leaves that starts at leaf `start` (aligned).
    fn perfect(&self, start: u64, height: u32) -> Result<Hash256, ProofError> {
        let unavailable = || ProofError::Unavailable { start, end: start.saturating_add(1u64 << height.min(63)) };
        let level = self.levels.get((height / TILE_HEIGHT) as usize).ok_or_else(unavailable)?;
        let shift = TILE_HEIGHT * (height / TILE_HEIGHT);
        let first = start.checked_shr(shift).ok_or_else(unavailable)?;
        let count = 1u64 << (height % TILE_HEIGHT);
        if first.checked_add(count).is_none_or(|end| end > level.len()) {
            return Err(unavailable());
        }
        Ok(root_of(&level.read(first, count).map_err(|_| unavailable())?))
    }

    /// Makes the levels agree with each other: each level holds exactly the roots that the one below
    /// completes (a crash may have left an upper level short or long).
    fn normalise(&mut self) -> std::io::Result<()> {
        let size = self.size();
        self.truncate(size)?;
        for number in 1..self.levels.len() {
            let (below, above) = self.levels.split_at_mut(number);
            let (Some(below), Some(above)) = (below.last(), above.first_mut()) else { break };
            let want = below.len() / TILE_WIDTH;
            let mut completed = Vec::new();
            for index in above.len()..want {
                completed.push(root_of(&below.read(index * TILE_WIDTH, TILE_WIDTH)?));
            }
            above.append(&completed)?;
        }
        Ok(())
    }
}

impl TreeHashes for TileStore {
    fn subtree_root(&self, start: u64, end: u64) -> Result<Hash256, ProofError> {
        if start >= end || end > self.size() {
            return Err(ProofError::Unavailable { start, end });
        }
        let count = end - start;
        if count.is_power_of_two() && start.is_multiple_of(count) {
            return self.perfect(start, count.trailing_zeros());
        }
        // RFC 9162's split: the largest power of two below the count, then the rest.
        let middle = start + (1u64 << (count - 1).ilog2());
        Ok(node_hash(&self.subtree_root(start, middle)?, &self.subtree_root(middle, end)?))
    }
}

#[cfg(test)]
mod tests;
