//! The embedded default store: one append-only file per ledger (docs/FORMAT.md, "Ledger file").
//!
//! ```text
//! file   = header frame*
//! header = magic "HCLEDGER" | version u32 | chain id [32] | crc32c u32           (48 bytes, with block 0)
//! frame  = magic "HCBK" | height u64 | length u32 | crc32c u32 | block bytes     (20-byte frame header)
//! ```
//!
//! An append writes one frame (the header too, with block 0) and syncs the file before it returns; a new
//! file's directory is synced when the file is created. Opening scans every frame's checksum and height;
//! an incomplete final frame is cut (or, read-only or strict, left alone) and reported, while damage with
//! valid frames after it is an error naming its offset and height, and the file is left untouched.

use std::fs::File;
use std::path::Path;

use super::io::LedgerFile;
use super::{Store, StoreError};

/// Magic bytes at the start of a ledger file.
pub const FILE_MAGIC: [u8; 8] = *b"HCLEDGER";
/// Version of the ledger file layout.
pub const FILE_VERSION: u32 = 1;
/// Length of the file header.
pub const FILE_HEADER_LEN: u64 = 48;
/// Magic bytes at the start of every frame.
pub const FRAME_MAGIC: [u8; 4] = *b"HCBK";
/// Length of a frame header.
pub const FRAME_HEADER_LEN: u64 = 20;
/// Largest block a frame may hold.
pub const MAX_FRAME_BLOCK_LEN: u32 = 64 * 1024 * 1024;

/// How to open a ledger file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Open for reading only: no lock, no repair, appends refused. Readers may open while a writer appends.
    pub read_only: bool,
    /// Refuse every repair: an incomplete final frame is an error instead of being cut.
    pub strict: bool,
}

/// What recovery found at the end of the file on open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Offset where the incomplete final frame started.
    pub offset: u64,
    /// Bytes after that offset (removed from the file unless read-only).
    pub bytes_removed: u64,
    /// Height of the block that was being appended and was never acknowledged.
    pub lost_height: u64,
    /// Whether the bytes were cut from the file (false for read-only opens, which leave the file alone).
    pub cut: bool,
}

/// A ledger in one append-only file, with an exclusive writer lock.
#[derive(Debug)]
pub struct FileStore<F: LedgerFile = File> {
    file: F,
    /// Offset of each block's frame, by height.
    frames: Vec<u64>,
    /// End of the last valid frame: where the next append goes.
    end: u64,
    read_only: bool,
    poisoned: bool,
    recovery: Option<Recovery>,
    /// The chain id in a checksum-valid file header.
    chain: Option<[u8; 32]>,
}

impl FileStore<File> {
    /// Creates a new, empty ledger file, locks it and syncs its directory. An existing file is refused unless
    /// it is empty (what a creation interrupted before its first append leaves behind).
    pub fn create(path: &Path) -> Result<Self, StoreError> {
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        lock(&file)?;
        if file.metadata()?.len() != 0 {
            return Err(StoreError::Io(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "ledger file exists")));
        }
        sync_parent_dir(path)?;
        Self::from_file(file, OpenOptions::default())
    }

    /// Opens an existing ledger file, recovering from an interrupted append (see [`OpenOptions`]).
    pub fn open(path: &Path, options: OpenOptions) -> Result<Self, StoreError> {
        let file = if options.read_only {
            std::fs::File::open(path)?
        } else {
            let file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
            lock(&file)?;
            file
        };
        Self::from_file(file, options)
    }
}

fn lock(file: &File) -> Result<(), StoreError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

#[cfg(unix)]
fn sync_parent_dir(path: &Path) -> Result<(), StoreError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn sync_parent_dir(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

/// A frame header as read from the file.
struct FrameHeader {
    height: u64,
    len: u32,
    crc: u32,
}

impl FrameHeader {
    fn parse(bytes: &[u8; 20]) -> Option<Self> {
        let (magic, rest) = bytes.split_first_chunk::<4>()?;
        let (height, rest) = rest.split_first_chunk::<8>()?;
        let (len, rest) = rest.split_first_chunk::<4>()?;
        let crc = rest.first_chunk::<4>()?;
        (*magic == FRAME_MAGIC).then(|| Self {
            height: u64::from_le_bytes(*height),
            len: u32::from_le_bytes(*len),
            crc: u32::from_le_bytes(*crc),
        })
    }
}

fn frame_crc(height: u64, len: u32, block: &[u8]) -> u32 {
    let mut head = [0u8; 16];
    head[..4].copy_from_slice(&FRAME_MAGIC);
    head[4..12].copy_from_slice(&height.to_le_bytes());
    head[12..16].copy_from_slice(&len.to_le_bytes());
    crc32c::crc32c_append(crc32c::crc32c(&head), block)
}

fn encode_frame(out: &mut Vec<u8>, height: u64, block: &[u8]) -> Result<(), StoreError> {
    let len = u32::try_from(block.len()).ok().filter(|l| *l <= MAX_FRAME_BLOCK_LEN);
    let len = len.ok_or(StoreError::BlockTooLarge(block.len()))?;
    out.extend_from_slice(&FRAME_MAGIC);
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&frame_crc(height, len, block).to_le_bytes());
    out.extend_from_slice(block);
    Ok(())
}

fn file_header(chain: &[u8; 32]) -> [u8; 48] {
    let mut header = [0u8; 48];
    header[..8].copy_from_slice(&FILE_MAGIC);
    header[8..12].copy_from_slice(&FILE_VERSION.to_le_bytes());
    header[12..44].copy_from_slice(chain);
    let crc = crc32c::crc32c(&header[..44]);
    header[44..48].copy_from_slice(&crc.to_le_bytes());
    header
}

/// What the file holds at an offset where a frame should start.
enum Slot {
    /// A complete frame with a valid checksum: its block length.
    Frame(u32),
    /// Anything else (torn, garbage, zeros, wrong height).
    Bad(&'static str),
}

impl<F: LedgerFile> FileStore<F> {
    /// Opens a store on an already opened (and, for writers, locked) file: scans it and recovers.
    pub fn from_file(file: F, options: OpenOptions) -> Result<Self, StoreError> {
        let file_len = file.size()?;
        let mut store = Self {
            file,
            frames: Vec::new(),
            end: 0,
            read_only: options.read_only,
            poisoned: false,
            recovery: None,
            chain: None,
        };
        let tail_start = store.scan(file_len)?;
        if let Some((offset, reason)) = tail_start {
            let height = store.frames.len() as u64;
            if store.valid_frame_after(offset, height, file_len)? {
                return Err(StoreError::Damaged { offset, height, reason });
            }
            if options.strict {
                return Err(StoreError::TornTail { offset, height });
            }
            // A torn genesis append leaves nothing worth keeping, header included.
            let cut_to = if store.frames.is_empty() { 0 } else { offset };
            let cut = !options.read_only;
            if cut {
                store.file.set_len(cut_to)?;
                store.file.sync_data()?;
            }
            store.end = cut_to;
            store.recovery =
                Some(Recovery { offset: cut_to, bytes_removed: file_len - cut_to, lost_height: height, cut });
        }
        if !options.read_only {
            store.resync_last_frame()?;
        }
        Ok(store)
    }

    /// What recovery did on open, if the file ended with an incomplete frame.
    pub fn recovery(&self) -> Option<Recovery> {
        self.recovery
    }

    /// The chain id in the file header, once block 0 is stored.
    pub fn chain_id(&self) -> Result<Option<crate::ids::ChainId>, StoreError> {
        if self.frames.is_empty() {
            return Ok(None);
        }
        let mut header = [0u8; 48];
        self.file.read_exact_at(0, &mut header)?;
        let chain = header.get(12..44).and_then(|c| <[u8; 32]>::try_from(c).ok()).unwrap_or_default();
        Ok(Some(crate::ids::ChainId(crate::hash::Hash256(chain))))
    }

    /// Size of the valid part of the file in bytes.
    pub fn size(&self) -> u64 {
        self.end
    }

    /// Reads the file header and every frame; returns where an invalid region starts, if any.
    fn scan(&mut self, file_len: u64) -> Result<Option<(u64, &'static str)>, StoreError> {
        if file_len == 0 {
            return Ok(None);
        }
        let mut header = [0u8; 48];
        let available = usize::try_from(file_len.min(FILE_HEADER_LEN)).unwrap_or(48);
        let prefix = header.get_mut(..available).unwrap_or_default();
        self.file.read_exact_at(0, prefix)?;
        let magic_len = available.min(FILE_MAGIC.len());
        if header.get(..magic_len) != FILE_MAGIC.get(..magic_len) {
            return Err(StoreError::NotALedger);
        }
        if file_len < FILE_HEADER_LEN {
            return Ok(Some((0, "incomplete file header")));
        }
        // The checksum first: a header torn after its magic is an interrupted creation, not a new version.
        let crc = u32::from_le_bytes(header[44..48].try_into().unwrap_or_default());
        if crc32c::crc32c(&header[..44]) != crc {
            return Ok(Some((0, "file header checksum mismatch")));
        }
        let version = u32::from_le_bytes(header[8..12].try_into().unwrap_or_default());
        if version != FILE_VERSION {
            return Err(StoreError::UnknownVersion(version));
        }
        self.chain = header[12..44].try_into().ok();
        let mut pos = FILE_HEADER_LEN;
        let mut block = Vec::new();
        while pos < file_len {
            let height = self.frames.len() as u64;
            match self.read_slot(pos, height, file_len, &mut block)? {
                Slot::Frame(len) => {
                    if height == 0 && block.get(1..33) != header.get(12..44) {
                        return Err(StoreError::Damaged {
                            offset: 0,
                            height: 0,
                            reason: "file header names another chain",
                        });
                    }
                    self.frames.push(pos);
                    pos += FRAME_HEADER_LEN + u64::from(len);
                    self.end = pos;
                }
                Slot::Bad(reason) => return Ok(Some((pos, reason))),
            }
        }
        if self.frames.is_empty() {
            // A header without block 0 is an interrupted creation.
            return Ok(Some((0, "file header without block 0")));
        }
        Ok(None)
    }

    /// Reads the frame expected at `pos` for `height` into `block`.
    fn read_slot(&self, pos: u64, height: u64, file_len: u64, block: &mut Vec<u8>) -> Result<Slot, StoreError> {
        if file_len - pos < FRAME_HEADER_LEN {
            return Ok(Slot::Bad("incomplete frame header"));
        }
        let mut raw = [0u8; 20];
        self.file.read_exact_at(pos, &mut raw)?;
        let Some(header) = FrameHeader::parse(&raw) else {
            return Ok(Slot::Bad("bad frame magic"));
        };
        if header.height != height {
            return Ok(Slot::Bad("frame holds another height"));
        }
        if header.len == 0 || header.len > MAX_FRAME_BLOCK_LEN {
            return Ok(Slot::Bad("frame length out of range"));
        }
        if file_len - pos - FRAME_HEADER_LEN < u64::from(header.len) {
            return Ok(Slot::Bad("frame extends past the end of the file"));
        }
        block.resize(header.len as usize, 0);
        self.file.read_exact_at(pos + FRAME_HEADER_LEN, block)?;
        if frame_crc(header.height, header.len, block) != header.crc {
            return Ok(Slot::Bad("frame checksum mismatch"));
        }
        Ok(Slot::Frame(header.len))
    }

    /// Whether any checksum-valid frame of height ≥ `height` starts after `offset`: if so, the invalid
    /// region is damage in the middle of the ledger, not an interrupted append.
    fn valid_frame_after(&self, offset: u64, height: u64, file_len: u64) -> Result<bool, StoreError> {
        const CHUNK: u64 = 1 << 20;
        let mut chunk = Vec::new();
        let mut block = Vec::new();
        let mut start = offset + 1;
        while start + FRAME_HEADER_LEN <= file_len {
            let len = (file_len - start).min(CHUNK + 3);
            chunk.resize(len as usize, 0);
            self.file.read_exact_at(start, &mut chunk)?;
            for (i, window) in chunk.windows(4).enumerate() {
                if window != FRAME_MAGIC {
                    continue;
                }
                let candidate = start + i as u64;
                let mut raw = [0u8; 20];
                if candidate + FRAME_HEADER_LEN > file_len {
                    continue;
                }
                self.file.read_exact_at(candidate, &mut raw)?;
                let Some(header) = FrameHeader::parse(&raw) else { continue };
                if header.height >= height
                    && matches!(self.read_slot(candidate, header.height, file_len, &mut block)?, Slot::Frame(_))
                    && self.is_block_of(&block, header.height)
                {
                    return Ok(true);
                }
            }
            start += CHUNK;
        }
        Ok(false)
    }
}

impl<F: LedgerFile> FileStore<F> {
    /// Whether `bytes` decode as this chain's block at `height`. A checksum-valid frame look-alike inside a
    /// torn block (a provider controls a few bytes of every block, e.g. a commitment) is not a block.
    fn is_block_of(&self, bytes: &[u8], height: u64) -> bool {
        use crate::codec::Decode as _;
        crate::block::Block::from_bytes(bytes).is_ok_and(|block| {
            block.header.height == height && self.chain.is_none_or(|chain| *block.header.chain.as_bytes() == chain)
        })
    }

    /// Writes the final frame (with the file header, if it is block 0) again and syncs it. After a failed
    /// sync, Linux may keep the unsynced pages readable yet clean, so a reopened writer would see a frame that
    /// never reaches the disk and build acknowledged blocks on it; rewriting makes those pages dirty again.
    fn resync_last_frame(&mut self) -> Result<(), StoreError> {
        let Some(last) = self.frames.last().copied() else { return Ok(()) };
        let start = if self.frames.len() == 1 { 0 } else { last };
        let len = usize::try_from(self.end - start).map_err(|_| StoreError::BlockTooLarge(usize::MAX))?;
        let mut bytes = vec![0u8; len];
        self.file.read_exact_at(start, &mut bytes)?;
        self.file.write_all_at(start, &bytes)?;
        self.file.sync_data()?;
        Ok(())
    }
}

impl<F: LedgerFile> Store for FileStore<F> {
    fn len(&self) -> u64 {
        self.frames.len() as u64
    }

    fn read(&self, height: u64) -> Result<Vec<u8>, StoreError> {
        let pos = usize::try_from(height).ok().and_then(|h| self.frames.get(h)).copied();
        let pos = pos.ok_or(StoreError::Missing(height))?;
        let mut block = Vec::new();
        match self.read_slot(pos, height, self.end, &mut block)? {
            Slot::Frame(_) => Ok(block),
            Slot::Bad(reason) => Err(StoreError::Damaged { offset: pos, height, reason }),
        }
    }

    fn append(&mut self, height: u64, block: &[u8]) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        if height != self.len() {
            return Err(StoreError::OutOfOrder { expected: self.len(), found: height });
        }
        let mut bytes = Vec::with_capacity(block.len() + 68);
        if self.frames.is_empty() {
            let chain = block.get(1..33).and_then(|c| <[u8; 32]>::try_from(c).ok());
            let chain = chain.ok_or(StoreError::BlockTooLarge(block.len()))?;
            bytes.extend_from_slice(&file_header(&chain));
        }
        let frame_at = self.end + if self.frames.is_empty() { FILE_HEADER_LEN } else { 0 };
        encode_frame(&mut bytes, height, block)?;
        // Any failure from here on may leave a partial frame: refuse appends until reopened (recovery cuts
        // it), never retry a sync that failed (it may falsely succeed).
        if let Err(e) = self.file.write_all_at(self.end, &bytes).and_then(|()| self.file.sync_data()) {
            self.poisoned = true;
            return Err(e.into());
        }
        self.frames.push(frame_at);
        self.end += bytes.len() as u64;
        Ok(())
    }

    fn location(&self, height: u64) -> Option<u64> {
        usize::try_from(height).ok().and_then(|h| self.frames.get(h)).copied()
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }
}
