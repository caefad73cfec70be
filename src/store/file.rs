//! The embedded default store: one append-only file per ledger (docs/FORMAT.md, "Ledger file").
//!
//! ```text
//! file   = header frame*
//! header = magic "HCLEDGER" | version u32 | chain id [32] | crc32c u32                  (48 bytes, with block 0)
//! frame  = magic "HCBK" | height u64 | length u32 | block crc32c u32 | header crc32c u32 | block | "HCFE"
//! ```
//!
//! An append writes one frame (the file header too, with block 0) and syncs the file before it returns; a
//! new file's directory is synced when the file is created. Opening reads every frame once, in order (linear
//! in the file size for every input). Only what is provably the remains of one interrupted append is cut
//! (see [`FileStore::from_file`]); a complete frame that fails its checksum is damage, reported with its
//! offset and height, and the file is left untouched. The genesis frame is never cut.

use std::fs::File;
use std::path::Path;

use super::io::LedgerFile;
use super::{Store, StoreError};

/// Magic bytes at the start of a ledger file.
pub const FILE_MAGIC: [u8; 8] = *b"HCLEDGER";
/// Version of the ledger file layout.
pub const FILE_VERSION: u32 = 2;
/// Length of the file header.
pub const FILE_HEADER_LEN: u64 = 48;
/// Magic bytes at the start of every frame.
pub const FRAME_MAGIC: [u8; 4] = *b"HCBK";
/// Length of a frame header.
pub const FRAME_HEADER_LEN: u64 = 24;
/// The bytes that end every frame. Each has at least two bits set, so no single changed bit turns the end of
/// an acknowledged frame into the zeros that an interrupted append leaves where it never wrote.
pub const FRAME_END: [u8; 4] = *b"HCFE";
/// Bytes a frame adds around its block: the header and the end marker.
pub const FRAME_OVERHEAD: u64 = FRAME_HEADER_LEN + FRAME_END.len() as u64;
/// Largest block a frame may hold.
pub const MAX_FRAME_BLOCK_LEN: u32 = 64 * 1024 * 1024;
/// A complete final frame whose block fails its checksum counts as an interrupted append only if its block
/// holds a run of at least this many zero bytes: the pages an interrupted append never wrote read as zeros.
pub const TORN_ZERO_RUN: usize = 256;
/// The store never writes a frame holding a run of this many zero bytes (the canonical encoding cannot
/// produce one: its longest runs are ~50 bytes), so a change that merges two written runs across one byte
/// still falls short of [`TORN_ZERO_RUN`]: no single changed bit can make an acknowledged block look torn.
pub const MAX_WRITTEN_ZERO_RUN: usize = TORN_ZERO_RUN / 2 - 1;

/// How to open a ledger file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Open for reading only: no lock, no repair, appends refused. Readers may open while a writer appends.
    pub read_only: bool,
    /// Refuse every repair: an incomplete final frame is an error instead of being cut.
    pub strict: bool,
}

/// What recovery found at the end of the file on open: the remains of an interrupted append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Offset where the incomplete final frame starts (the end of the last complete frame).
    pub offset: u64,
    /// Bytes from that offset to the end of the file (removed from the file unless read-only).
    pub bytes_removed: u64,
    /// Height the incomplete frame would have held: an append that did not complete, so it was never
    /// reported durable by this store (`FileStore::append` returns only after the sync).
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
}

impl FileStore<File> {
    /// Creates a new, empty ledger file, locks it and syncs its directory. An existing file is refused
    /// unless it holds no complete genesis block and is provably what an interrupted creation leaves
    /// (empty, all zeros, or a torn first append): such a file is taken over.
    pub fn create(path: &Path) -> Result<Self, StoreError> {
        let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        lock(&file)?;
        if file.metadata()?.len() != 0 {
            match survey(&file) {
                Err(StoreError::IncompleteCreation) => {
                    LedgerFile::set_len(&mut file, 0)?;
                    LedgerFile::sync_data(&mut file)?;
                }
                _ => {
                    let exists = std::io::Error::new(std::io::ErrorKind::AlreadyExists, "ledger file exists");
                    return Err(StoreError::Io(exists));
                }
            }
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

/// A frame header as read from the file, with its own checksum verified.
struct FrameHeader {
    height: u64,
    len: u32,
    block_crc: u32,
}

/// What the 24 bytes where a frame header should start hold.
enum HeaderBytes {
    /// A header with the right magic and a valid header checksum.
    Valid(FrameHeader),
    /// Bad magic.
    BadMagic,
    /// The right magic, but the header checksum fails.
    BadChecksum,
}

impl FrameHeader {
    fn parse(bytes: &[u8; 24]) -> HeaderBytes {
        let Some((body, crc)) = bytes.split_last_chunk::<4>() else { return HeaderBytes::BadChecksum };
        let Some((magic, rest)) = body.split_first_chunk::<4>() else { return HeaderBytes::BadChecksum };
        let Some((height, rest)) = rest.split_first_chunk::<8>() else { return HeaderBytes::BadChecksum };
        let Some((len, rest)) = rest.split_first_chunk::<4>() else { return HeaderBytes::BadChecksum };
        let Some(block_crc) = rest.first_chunk::<4>() else { return HeaderBytes::BadChecksum };
        if *magic != FRAME_MAGIC {
            return HeaderBytes::BadMagic;
        }
        if crc32c::crc32c(body) != u32::from_le_bytes(*crc) {
            return HeaderBytes::BadChecksum;
        }
        HeaderBytes::Valid(Self {
            height: u64::from_le_bytes(*height),
            len: u32::from_le_bytes(*len),
            block_crc: u32::from_le_bytes(*block_crc),
        })
    }
}

/// The bytes a frame header for `height` starts with; the rest (length, checksums) is not predictable.
fn frame_prefix(height: u64) -> [u8; 12] {
    let mut prefix = [0u8; 12];
    prefix[..4].copy_from_slice(&FRAME_MAGIC);
    prefix[4..].copy_from_slice(&height.to_le_bytes());
    prefix
}

fn encode_frame(out: &mut Vec<u8>, height: u64, block: &[u8]) -> Result<(), StoreError> {
    let len = u32::try_from(block.len()).ok().filter(|l| *l <= MAX_FRAME_BLOCK_LEN);
    let len = len.ok_or(StoreError::BlockTooLarge(block.len()))?;
    let start = out.len();
    out.extend_from_slice(&frame_prefix(height));
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(block).to_le_bytes());
    let header_crc = crc32c::crc32c(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(block);
    out.extend_from_slice(&FRAME_END);
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

/// Whether `bytes`, where `expected` should start, are what an interrupted write of `expected` can leave:
/// each byte either written (as expected) or never written (zero). Bytes beyond `expected` are free.
fn torn_prefix_of(bytes: &[u8], expected: &[u8]) -> bool {
    bytes.iter().zip(expected).all(|(b, e)| b == e || *b == 0)
}

/// The longest run of zero bytes in `bytes`.
fn longest_zero_run(bytes: &[u8]) -> usize {
    bytes.split(|b| *b != 0).map(<[u8]>::len).max().unwrap_or(0)
}

/// What the file holds where the frame of a height should start.
enum Slot {
    /// A complete frame with valid checksums: its block length.
    Frame(u32),
    /// Provably the remains of one interrupted append of that frame.
    Torn(&'static str),
    /// Anything else: damage, never repaired.
    Damaged(&'static str),
}

/// The valid frames of a file and what follows them, read without changing anything.
struct Survey {
    frames: Vec<u64>,
    end: u64,
    /// The remains of an interrupted append after the last frame: offset and why.
    torn: Option<(u64, &'static str)>,
}

/// Reads the file header and every frame once. Errors: `NotALedger`, `UnknownVersion`, `Damaged`, and
/// `IncompleteCreation` for a file without a complete genesis frame that an interrupted creation explains.
fn survey<F: LedgerFile>(file: &F) -> Result<Survey, StoreError> {
    let file_len = file.size()?;
    let mut survey = Survey { frames: Vec::new(), end: 0, torn: None };
    if file_len == 0 {
        return Ok(survey);
    }
    let mut header = [0u8; 48];
    let available = usize::try_from(file_len.min(FILE_HEADER_LEN)).unwrap_or(48);
    file.read_exact_at(0, header.get_mut(..available).unwrap_or_default())?;
    let present = header.get(..available).unwrap_or_default();
    let mut expected = [0u8; 12];
    expected[..8].copy_from_slice(&FILE_MAGIC);
    expected[8..].copy_from_slice(&FILE_VERSION.to_le_bytes());
    // What an interrupted first append can leave: the header's start, with unwritten bytes read as zeros.
    let torn = torn_prefix_of(present, &expected);
    let magic_len = available.min(FILE_MAGIC.len());
    let magic = present.get(..magic_len) == FILE_MAGIC.get(..magic_len);
    if !torn && !magic {
        return Err(StoreError::NotALedger);
    }
    let damaged = |reason| StoreError::Damaged { offset: 0, height: 0, reason };
    if file_len < FILE_HEADER_LEN {
        return Err(if torn { StoreError::IncompleteCreation } else { damaged("incomplete file header") });
    }
    // The checksum first: a damaged header is not a new version.
    let crc = u32::from_le_bytes(header[44..48].try_into().unwrap_or_default());
    if crc32c::crc32c(&header[..44]) != crc {
        return Err(if torn && zeros_from(file, FILE_HEADER_LEN, file_len)? {
            StoreError::IncompleteCreation
        } else {
            damaged("file header checksum mismatch")
        });
    }
    let version = u32::from_le_bytes(header[8..12].try_into().unwrap_or_default());
    if version != FILE_VERSION {
        return Err(StoreError::UnknownVersion(version));
    }
    let mut pos = FILE_HEADER_LEN;
    let mut block = Vec::new();
    while pos < file_len {
        let height = survey.frames.len() as u64;
        match read_slot(file, pos, height, file_len, &mut block)? {
            Slot::Frame(len) => {
                if height == 0 && block.get(1..33) != header.get(12..44) {
                    return Err(damaged("file header names another chain"));
                }
                survey.frames.push(pos);
                pos += FRAME_OVERHEAD + u64::from(len);
                survey.end = pos;
            }
            // The genesis frame is never cut: a file without a complete one is an interrupted creation.
            Slot::Torn(_) if height == 0 => return Err(StoreError::IncompleteCreation),
            Slot::Torn(reason) => {
                survey.torn = Some((pos, reason));
                break;
            }
            Slot::Damaged(reason) => return Err(StoreError::Damaged { offset: pos, height, reason }),
        }
    }
    if survey.frames.is_empty() {
        return Err(StoreError::IncompleteCreation);
    }
    Ok(survey)
}

/// Whether every byte of the file from `offset` to `end` is zero.
fn zeros_from<F: LedgerFile>(file: &F, offset: u64, end: u64) -> Result<bool, StoreError> {
    const CHUNK: u64 = 1 << 16;
    let mut buf = vec![0u8; CHUNK as usize];
    let mut pos = offset;
    while pos < end {
        let len = (end - pos).min(CHUNK) as usize;
        let chunk = buf.get_mut(..len).unwrap_or_default();
        file.read_exact_at(pos, chunk)?;
        if chunk.iter().any(|b| *b != 0) {
            return Ok(false);
        }
        pos += len as u64;
    }
    Ok(true)
}

/// Reads and classifies what lies at `pos`, where the frame of `height` should start; a complete frame's
/// block is left in `block`. Reads each byte at most once, so a scan stays linear in the file size.
///
/// Torn (provably the remains of an interrupted append of this frame, so the last thing in the file):
/// 1. fewer bytes than a frame header, which are a prefix of it where unwritten bytes read as zeros;
/// 2. a header that fails its checksum but could be such a prefix, followed by zeros only;
/// 3. a valid header whose frame runs past the end of the file;
/// 4. a complete frame followed by zeros only, whose end marker has zeros in place of some of its bytes
///    (its last part never written) or whose block fails its checksum and holds a run of [`TORN_ZERO_RUN`]
///    zeros (a part in the middle never written).
///
/// Everything else that is not a valid frame is damage: a complete frame that fails its checksum is never
/// taken for a torn one, since no single changed bit can produce the zeros these rules look for.
fn read_slot<F: LedgerFile>(
    file: &F,
    pos: u64,
    height: u64,
    file_len: u64,
    block: &mut Vec<u8>,
) -> Result<Slot, StoreError> {
    let rest = file_len - pos;
    let mut raw = [0u8; 24];
    let present = usize::try_from(rest.min(FRAME_HEADER_LEN)).unwrap_or(24);
    file.read_exact_at(pos, raw.get_mut(..present).unwrap_or_default())?;
    let torn_header = torn_prefix_of(raw.get(..present).unwrap_or_default(), &frame_prefix(height));
    if rest < FRAME_HEADER_LEN {
        return Ok(if torn_header { Slot::Torn("incomplete frame header") } else { Slot::Damaged("bad frame header") });
    }
    let header = match FrameHeader::parse(&raw) {
        HeaderBytes::Valid(header) => header,
        _ if torn_header && zeros_from(file, pos + FRAME_HEADER_LEN, file_len)? => {
            return Ok(Slot::Torn("frame never written (zeros)"));
        }
        HeaderBytes::BadMagic => return Ok(Slot::Damaged("bad frame magic")),
        HeaderBytes::BadChecksum => return Ok(Slot::Damaged("frame header checksum mismatch")),
    };
    if header.height != height {
        return Ok(Slot::Damaged("frame holds another height"));
    }
    if header.len == 0 || header.len > MAX_FRAME_BLOCK_LEN {
        return Ok(Slot::Damaged("frame length out of range"));
    }
    let frame_end = pos + FRAME_OVERHEAD + u64::from(header.len);
    if frame_end > file_len {
        return Ok(Slot::Torn("frame extends past the end of the file"));
    }
    block.resize(header.len as usize, 0);
    file.read_exact_at(pos + FRAME_HEADER_LEN, block)?;
    let mut end = [0u8; 4];
    file.read_exact_at(frame_end - FRAME_END.len() as u64, &mut end)?;
    let intact = crc32c::crc32c(block) == header.block_crc;
    if intact && end == FRAME_END {
        return Ok(Slot::Frame(header.len));
    }
    // The end marker, or a run in the block, reads as the zeros of bytes never written.
    let end_unwritten = end != FRAME_END && torn_prefix_of(&end, &FRAME_END);
    let unwritten = end_unwritten || (!intact && longest_zero_run(block) >= TORN_ZERO_RUN);
    Ok(if unwritten && zeros_from(file, frame_end, file_len)? {
        Slot::Torn("frame never completely written (zeros)")
    } else if intact {
        Slot::Damaged("bad frame end marker")
    } else {
        Slot::Damaged("block checksum mismatch")
    })
}

impl<F: LedgerFile> FileStore<F> {
    /// Opens a store on an already opened (and, for writers, locked) file: reads every frame once and
    /// recovers from an interrupted append.
    ///
    /// Only what is provably the remains of one interrupted append after the last complete frame is
    /// treated as such (see `docs/FORMAT.md`): a writer cuts it and reports it in [`FileStore::recovery`], a
    /// read-only open reports it and leaves it, a strict open refuses with [`StoreError::TornTail`].
    /// Everything else that is not a valid frame is [`StoreError::Damaged`] and the file is left untouched;
    /// a file without a complete genesis frame is [`StoreError::IncompleteCreation`] (never cut here;
    /// [`FileStore::create`] takes it over).
    pub fn from_file(mut file: F, options: OpenOptions) -> Result<Self, StoreError> {
        let survey = survey(&file)?;
        let mut recovery = None;
        if let Some((offset, _reason)) = survey.torn {
            let height = survey.frames.len() as u64;
            if options.strict {
                return Err(StoreError::TornTail { offset, height });
            }
            let file_len = file.size()?;
            let cut = !options.read_only;
            if cut {
                file.set_len(offset)?;
                file.sync_data()?;
            }
            recovery = Some(Recovery { offset, bytes_removed: file_len - offset, lost_height: height, cut });
        }
        let mut store = Self {
            file,
            frames: survey.frames,
            end: survey.end,
            read_only: options.read_only,
            poisoned: false,
            recovery,
        };
        if !options.read_only {
            store.resync_last_frame()?;
        }
        Ok(store)
    }

    /// What recovery did on open, if the file ended with the remains of an interrupted append.
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

    /// Size of the valid part of the file in bytes (the file's size, unless a read-only open found the
    /// remains of an interrupted append after it: see [`FileStore::recovery`]).
    pub fn size(&self) -> u64 {
        self.end
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
        match read_slot(&self.file, pos, height, self.end, &mut block)? {
            Slot::Frame(_) => Ok(block),
            Slot::Torn(reason) | Slot::Damaged(reason) => Err(StoreError::Damaged { offset: pos, height, reason }),
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
        let mut bytes = Vec::with_capacity(block.len() + (FILE_HEADER_LEN + FRAME_OVERHEAD) as usize);
        if self.frames.is_empty() {
            let chain = block.get(1..33).and_then(|c| <[u8; 32]>::try_from(c).ok());
            let chain = chain.ok_or(StoreError::InvalidBlock("shorter than a block header"))?;
            bytes.extend_from_slice(&file_header(&chain));
        }
        let frame_at = self.end + if self.frames.is_empty() { FILE_HEADER_LEN } else { 0 };
        encode_frame(&mut bytes, height, block)?;
        // What recovery may take for an interrupted append must never occur in a written frame.
        if longest_zero_run(&bytes) > MAX_WRITTEN_ZERO_RUN {
            return Err(StoreError::InvalidBlock("holds a long run of zero bytes"));
        }
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
