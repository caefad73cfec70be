//! One tile level: its hashes in memory, or in a file of a 48-byte header and 32-byte entries.

use std::fs::File;
use std::io::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};

use crate::hash::Hash256;
use crate::ids::ChainId;
use crate::store::LedgerFile;

/// First bytes of a level file: `HCTILES` and the format version 1.
const MAGIC: [u8; 8] = *b"HCTILES\x01";

/// Bytes before the first entry: magic, chain id, level number, seven zero bytes.
const HEADER_LEN: u64 = 48;

/// One level's hashes.
#[derive(Debug)]
pub(super) enum Level {
    /// In memory.
    Memory(Vec<Hash256>),
    /// In a file.
    File {
        /// The open file.
        file: File,
        /// Where it is (the next level goes beside it).
        path: PathBuf,
        /// The ledger it belongs to.
        chain: ChainId,
        /// Its level number.
        number: u8,
        /// Number of entries.
        len: u64,
    },
}

fn header(chain: &ChainId, number: u8) -> [u8; HEADER_LEN as usize] {
    let mut bytes = [0u8; HEADER_LEN as usize];
    let (magic, rest) = bytes.split_at_mut(MAGIC.len());
    magic.copy_from_slice(&MAGIC);
    let (id, rest) = rest.split_at_mut(32);
    id.copy_from_slice(&chain.0.0);
    if let Some(byte) = rest.first_mut() {
        *byte = number;
    }
    bytes
}

fn invalid(reason: &'static str) -> Error {
    Error::new(ErrorKind::InvalidData, reason)
}

impl Level {
    /// An empty level in memory.
    pub(super) fn memory() -> Result<Self> {
        Ok(Self::Memory(Vec::new()))
    }

    /// The level file at `path`: created with its header if missing (unless `read_only`); refused if its
    /// header names another chain or level. A partial entry at its end (an interrupted write) is ignored.
    pub(super) fn open(path: &Path, chain: &ChainId, number: u8, read_only: bool) -> Result<Self> {
        let expected = header(chain, number);
        let file = if read_only {
            File::open(path)?
        } else {
            std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?
        };
        let mut file = file;
        let size = LedgerFile::size(&file)?;
        if size < HEADER_LEN {
            if read_only {
                return Err(invalid("tile level file too short"));
            }
            file.set_len(0)?;
            file.write_all_at(0, &expected)?;
        } else {
            let mut found = [0u8; HEADER_LEN as usize];
            file.read_exact_at(0, &mut found)?;
            if found != expected {
                return Err(invalid("tile level file of another ledger or level"));
            }
        }
        let len = LedgerFile::size(&file)?.saturating_sub(HEADER_LEN) / 32;
        Ok(Self::File { file, path: path.to_path_buf(), chain: *chain, number, len })
    }

    /// The empty level above this one, of the same kind.
    pub(super) fn next_level(&self) -> Result<Self> {
        match self {
            Self::Memory(_) => Self::memory(),
            Self::File { path, chain, number, .. } => {
                let next = number.checked_add(1).filter(|n| *n <= 8).ok_or_else(|| invalid("no tile level above 8"))?;
                let path = path.with_file_name(format!("level-{next}"));
                let mut level = Self::open(&path, chain, next, false)?;
                level.truncate(0)?;
                Ok(level)
            }
        }
    }

    /// Number of entries.
    pub(super) fn len(&self) -> u64 {
        match self {
            Self::Memory(hashes) => hashes.len() as u64,
            Self::File { len, .. } => *len,
        }
    }

    /// Entries `[start, start + count)`, which must exist.
    pub(super) fn read(&self, start: u64, count: u64) -> Result<Vec<Hash256>> {
        let end = start.checked_add(count).filter(|end| *end <= self.len()).ok_or_else(|| invalid("beyond level"))?;
        match self {
            Self::Memory(hashes) => {
                let range = usize::try_from(start).ok().zip(usize::try_from(end).ok());
                range
                    .and_then(|(s, e)| hashes.get(s..e))
                    .map(<[Hash256]>::to_vec)
                    .ok_or_else(|| invalid("beyond level"))
            }
            Self::File { file, .. } => {
                let bytes = usize::try_from(count * 32).map_err(|_| invalid("read too large"))?;
                let mut buffer = vec![0u8; bytes];
                file.read_exact_at(HEADER_LEN + start * 32, &mut buffer)?;
                Ok(buffer
                    .chunks_exact(32)
                    .map(|chunk| Hash256(<[u8; 32]>::try_from(chunk).unwrap_or_default()))
                    .collect())
            }
        }
    }

    /// Appends entries.
    pub(super) fn append(&mut self, entries: &[Hash256]) -> Result<()> {
        match self {
            Self::Memory(hashes) => hashes.extend_from_slice(entries),
            Self::File { file, len, .. } => {
                let bytes: Vec<u8> = entries.iter().flat_map(|h| h.0).collect();
                file.write_all_at(HEADER_LEN + *len * 32, &bytes)?;
                *len += entries.len() as u64;
            }
        }
        Ok(())
    }

    /// Keeps the first `keep` entries.
    pub(super) fn truncate(&mut self, keep: u64) -> Result<()> {
        match self {
            Self::Memory(hashes) => hashes.truncate(usize::try_from(keep).unwrap_or(usize::MAX)),
            Self::File { file, len, .. } => {
                file.set_len(HEADER_LEN + keep * 32)?;
                *len = keep.min(*len);
            }
        }
        Ok(())
    }
}
