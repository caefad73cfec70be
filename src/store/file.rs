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
/// The least a writer reserves after the frame it appends: the file is extended with zeros (sparse, where
/// the file system allows) so that the syncs of the next appends do not change its size, which costs the
/// file system a journal commit of its own. Reserved zeros are not data (docs/FORMAT.md, "Reserved space").
pub const MIN_RESERVED: u64 = 64 * 1024;
/// The most a writer reserves after the frame it appends (between the two: an eighth of the file).
pub const MAX_RESERVED: u64 = 16 * 1024 * 1024;

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

/// A ledger in one append-only file, with an exclusive writer lock. Readers open it read-only alongside
/// the writer; see docs/STORAGE.md for durability and recovery, docs/FORMAT.md for the bytes.
///
/// ```
/// use healthchain::*;
///
/// let path = std::env::temp_dir().join(format!("filestore-doc-{}.ledger", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let hospital = SigningKey::generate()?;
/// let mut ledger = Ledger::create_file(&path, Box::new(ManualClock::new(1_700_000_000_000)),
///                                      &LedgerSettings::new("file-example"), &[&hospital])?;
/// ledger.register(&hospital, &SigningKey::generate()?, Role::Patient)?;
/// ledger.seal(&[&hospital])?; // appended and synced before this returns
///
/// // A reader beside the writer: the raw blocks, checked block by block.
/// let reader = FileStore::open(&path, OpenOptions { read_only: true, strict: true })?;
/// assert_eq!(reader.len(), 2);
/// assert_eq!(reader.recovery(), None); // nothing was left of an interrupted append
/// assert!(verify_blocks((0..reader.len()).map(|h| reader.read(h))).is_valid());
/// # drop(reader); drop(ledger); std::fs::remove_file(&path)?; std::fs::remove_file(history_path(&path))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FileStore<F: LedgerFile = File> {
    file: F,
    /// Offset of each block's frame, by height.
    frames: Vec<u64>,
    /// End of the last valid frame: where the next append goes.
    end: u64,
    /// The file's size: `end` and the zeros reserved after it (or, read-only, what follows it).
    file_len: u64,
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
        super::io::sync_parent_dir(path)?;
        Self::from_file(file, OpenOptions::default())
    }

    /// Opens an existing ledger file, recovering from an interrupted append (see [`OpenOptions`]).
    pub fn open(path: &Path, options: OpenOptions) -> Result<Self, StoreError> {
        Self::open_after(path, options, None)
    }

    /// [`FileStore::open`] reading only the frames after `known` (see [`FileStore::from_file_after`]).
    pub(crate) fn open_after(path: &Path, options: OpenOptions, known: Option<&[u64]>) -> Result<Self, StoreError> {
        let file = if options.read_only {
            std::fs::File::open(path)?
        } else {
            let file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
            lock(&file)?;
            file
        };
        Self::from_file_after(file, options, known)
    }
}

fn lock(file: &File) -> Result<(), StoreError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
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
    /// Only zeros from there to the end of the file: space a writer reserved, no frame.
    Reserved,
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
    let survey = Survey { frames: Vec::new(), end: 0, torn: None };
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
    scan(file, &header, survey, FILE_HEADER_LEN, file_len)
}

/// Reads the frames from `pos` on (the frames before it are `survey`'s) to the end of the file.
fn scan<F: LedgerFile>(
    file: &F,
    header: &[u8; 48],
    mut survey: Survey,
    mut pos: u64,
    file_len: u64,
) -> Result<Survey, StoreError> {
    let mut block = Vec::new();
    while pos < file_len {
        let height = survey.frames.len() as u64;
        match read_slot(file, pos, height, file_len, &mut block)? {
            Slot::Frame(len) => {
                if height == 0 && block.get(1..33) != header.get(12..44) {
                    return Err(StoreError::Damaged {
                        offset: 0,
                        height: 0,
                        reason: "file header names another chain",
                    });
                }
                survey.frames.push(pos);
                pos += FRAME_OVERHEAD + u64::from(len);
                survey.end = pos;
            }
            // The genesis frame is never cut: a file without a complete one is an interrupted creation.
            Slot::Torn(_) | Slot::Reserved if height == 0 => return Err(StoreError::IncompleteCreation),
            Slot::Reserved => break,
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

/// The frames of a file whose first frames are at the offsets `known` (by height), read from there on: the
/// file header and the last known frame are checked in full (so that a file `known` was not taken of is not
/// mistaken for it), the frames before it are not read. `None` when that check fails, for the caller to read
/// the whole file instead.
fn survey_after<F: LedgerFile>(file: &F, known: &[u64]) -> Result<Option<Survey>, StoreError> {
    let file_len = file.size()?;
    let (Some(last), Some(height)) = (known.last().copied(), known.len().checked_sub(1)) else {
        return Ok(None);
    };
    if file_len < FILE_HEADER_LEN {
        return Ok(None);
    }
    let mut header = [0u8; 48];
    file.read_exact_at(0, &mut header)?;
    let crc = u32::from_le_bytes(header[44..48].try_into().unwrap_or_default());
    let version = u32::from_le_bytes(header[8..12].try_into().unwrap_or_default());
    if header[..8] != FILE_MAGIC || version != FILE_VERSION || crc32c::crc32c(&header[..44]) != crc {
        return Ok(None);
    }
    // Offsets that no file's frames can have (the first after the header, each after the one before).
    let ordered = known.windows(2).all(|pair| matches!(pair, [a, b] if a < b));
    if !ordered || known.first() != Some(&FILE_HEADER_LEN) || last >= file_len {
        return Ok(None);
    }
    let mut block = Vec::new();
    let Slot::Frame(len) = read_slot(file, last, height as u64, file_len, &mut block)? else { return Ok(None) };
    let end = last + FRAME_OVERHEAD + u64::from(len);
    let survey = Survey { frames: known.to_vec(), end, torn: None };
    scan(file, &header, survey, end, file_len).map(Some)
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
/// Reserved: only zeros from `pos` to the end of the file (no byte of a frame was written there).
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
    let Some(rest) = file_len.checked_sub(pos) else { return Ok(Slot::Damaged("frame beyond the end of the file")) };
    let mut raw = [0u8; 24];
    let present = usize::try_from(rest.min(FRAME_HEADER_LEN)).unwrap_or(24);
    file.read_exact_at(pos, raw.get_mut(..present).unwrap_or_default())?;
    let raw_present = raw.get(..present).unwrap_or_default();
    let torn_header = torn_prefix_of(raw_present, &frame_prefix(height));
    let all_zero = raw_present.iter().all(|b| *b == 0);
    if rest < FRAME_HEADER_LEN {
        return Ok(match (all_zero, torn_header) {
            (true, _) => Slot::Reserved,
            (false, true) => Slot::Torn("incomplete frame header"),
            (false, false) => Slot::Damaged("bad frame header"),
        });
    }
    let header = match FrameHeader::parse(&raw) {
        HeaderBytes::Valid(header) => header,
        _ if torn_header && zeros_from(file, pos + FRAME_HEADER_LEN, file_len)? => {
            return Ok(if all_zero { Slot::Reserved } else { Slot::Torn("frame never written (zeros)") });
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
    pub fn from_file(file: F, options: OpenOptions) -> Result<Self, StoreError> {
        Self::from_file_after(file, options, None)
    }

    /// [`FileStore::from_file`] for a file whose first frames are known to be at `known` (as
    /// [`Store::location`] gave them): only the last of them and what follows are read. Damage to the frames
    /// before goes unseen until they are read ([`Store::read`] checks each block's checksum) or the ledger is
    /// verified. If the file does not hold the last known frame where `known` says, the whole file is read
    /// as by [`FileStore::from_file`].
    pub(crate) fn from_file_after(
        mut file: F,
        options: OpenOptions,
        known: Option<&[u64]>,
    ) -> Result<Self, StoreError> {
        let resumed = match known {
            Some(known) => survey_after(&file, known)?,
            None => None,
        };
        let survey = match resumed {
            Some(survey) => survey,
            None => survey(&file)?,
        };
        let mut recovery = None;
        let mut file_len = file.size()?;
        if let Some((offset, _reason)) = survey.torn {
            let height = survey.frames.len() as u64;
            if options.strict {
                return Err(StoreError::TornTail { offset, height });
            }
            let cut = !options.read_only;
            if cut {
                file.set_len(offset)?;
                file.sync_data()?;
            }
            recovery = Some(Recovery { offset, bytes_removed: file_len - offset, lost_height: height, cut });
            if cut {
                file_len = offset;
            }
        }
        let mut store = Self {
            file,
            frames: survey.frames,
            end: survey.end,
            file_len,
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

    /// Size of the valid part of the file in bytes: the end of its last frame. The file itself is longer by
    /// the zeros a writer reserved for its next appends, or by the remains of an interrupted append that a
    /// read-only open found and left (see [`FileStore::recovery`]).
    pub fn size(&self) -> u64 {
        self.end
    }

    /// Before an append of `len` bytes: extends the file with zeros past them unless it already reaches that
    /// far (not for the first frame, so that creation is what it always was). The sync of the append makes
    /// the new size durable; the syncs of the next appends into the reserved zeros change no size.
    fn reserve(&mut self, len: u64) -> std::io::Result<()> {
        let needed = self.end + len;
        if self.frames.is_empty() || needed <= self.file_len {
            return Ok(());
        }
        let file_len = needed + (self.end / 8).clamp(MIN_RESERVED, MAX_RESERVED);
        self.file.set_len(file_len)?;
        self.file_len = file_len;
        Ok(())
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

/// A writer gives the space it reserved back when it closes, so that a closed ledger file ends at its last
/// frame. Best effort: if that fails, or the process dies first, the zeros stay, and they are valid.
impl<F: LedgerFile> Drop for FileStore<F> {
    fn drop(&mut self) {
        if !self.read_only && !self.poisoned && self.file_len > self.end {
            let _ = self.file.set_len(self.end);
        }
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
            Slot::Reserved => Err(StoreError::Damaged { offset: pos, height, reason: "zeros in place of a frame" }),
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
        let written = self.reserve(bytes.len() as u64).and_then(|()| {
            self.file.write_all_at(self.end, &bytes)?;
            self.file.sync_data()
        });
        if let Err(e) = written {
            self.poisoned = true;
            return Err(e.into());
        }
        self.frames.push(frame_at);
        self.end += bytes.len() as u64;
        self.file_len = self.file_len.max(self.end);
        Ok(())
    }

    fn location(&self, height: u64) -> Option<u64> {
        usize::try_from(height).ok().and_then(|h| self.frames.get(h)).copied()
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }
}

#[cfg(test)]
mod variant_tests {
    //! Every [`StoreError`] variant, each produced by doing the real thing through the crate's public API
    //! (a ledger written through a `FileStore` over an in-memory file that can fail a write part-way, files
    //! crafted from its bytes, a real temporary file for the lock), never by constructing the error. `name` is
    //! an exhaustive match without a wildcard, generated together with `NAMES` from one list: a new variant
    //! breaks the build until it is listed, and then this test fails until it produces the new variant too.

    use super::{FILE_HEADER_LEN, FileStore, MAX_FRAME_BLOCK_LEN, OpenOptions, frame_prefix};
    use crate::clock::ManualClock;
    use crate::codes::Role;
    use crate::keys::SigningKey;
    use crate::ledger::{Ledger, LedgerError, LedgerSettings};
    use crate::store::{LedgerFile, Store, StoreError};
    use std::collections::BTreeSet;
    use std::io;
    use std::sync::{Arc, Mutex, MutexGuard};

    variant_names!(StoreError {
        StoreError::Missing(_) => "Missing",
        StoreError::OutOfOrder { .. } => "OutOfOrder",
        StoreError::Io(_) => "Io",
        StoreError::Locked => "Locked",
        StoreError::Poisoned => "Poisoned",
        StoreError::NotALedger => "NotALedger",
        StoreError::UnknownVersion(_) => "UnknownVersion",
        StoreError::Damaged { .. } => "Damaged",
        StoreError::TornTail { .. } => "TornTail",
        StoreError::BlockTooLarge(_) => "BlockTooLarge",
        StoreError::ReadOnly => "ReadOnly",
        StoreError::IncompleteCreation => "IncompleteCreation",
        StoreError::InvalidBlock(_) => "InvalidBlock",
    });

    const WRITER: OpenOptions = OpenOptions { read_only: false, strict: false };
    const READER: OpenOptions = OpenOptions { read_only: true, strict: false };
    const STRICT: OpenOptions = OpenOptions { read_only: false, strict: true };

    /// What an in-memory file holds.
    #[derive(Debug, Default)]
    struct Disk {
        bytes: Vec<u8>,
        /// When set, the next write lands only this many bytes and fails, and so do every later write and
        /// sync: a crash (or a failing device) in the middle of an append.
        crash_after: Option<usize>,
    }

    /// An in-memory ledger file whose clones share their bytes (like one path opened twice).
    #[derive(Clone, Debug, Default)]
    struct MemFile(Arc<Mutex<Disk>>);

    impl MemFile {
        fn new(bytes: &[u8]) -> Self {
            Self(Arc::new(Mutex::new(Disk { bytes: bytes.to_vec(), crash_after: None })))
        }

        fn disk(&self) -> MutexGuard<'_, Disk> {
            self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
        }

        fn bytes(&self) -> Vec<u8> {
            self.disk().bytes.clone()
        }

        /// The bytes up to the end of the last frame, without the zeros a writer reserved after it.
        fn frames(&self) -> Vec<u8> {
            let mut bytes = self.bytes();
            let end = FileStore::from_file(MemFile::new(&bytes), READER).map_or(0, |store| store.size());
            bytes.truncate(end as usize);
            bytes
        }
    }

    impl LedgerFile for MemFile {
        fn size(&self) -> io::Result<u64> {
            Ok(self.disk().bytes.len() as u64)
        }

        fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            let disk = self.disk();
            let start = offset as usize;
            let src = disk.bytes.get(start..start + buf.len()).ok_or(io::ErrorKind::UnexpectedEof)?;
            buf.copy_from_slice(src);
            Ok(())
        }

        fn write_all_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
            let mut disk = self.disk();
            let landed = disk.crash_after.map_or(data.len(), |n| n.min(data.len()));
            let start = offset as usize;
            if disk.bytes.len() < start + landed {
                disk.bytes.resize(start + landed, 0);
            }
            disk.bytes[start..start + landed].copy_from_slice(&data[..landed]);
            if disk.crash_after.is_some() {
                disk.crash_after = Some(0);
                return Err(io::Error::other("injected write failure"));
            }
            Ok(())
        }

        fn sync_data(&mut self) -> io::Result<()> {
            match self.disk().crash_after {
                Some(_) => Err(io::Error::other("injected sync failure")),
                None => Ok(()),
            }
        }

        fn set_len(&mut self, len: u64) -> io::Result<()> {
            self.disk().bytes.resize(len as usize, 0);
            Ok(())
        }
    }

    const T0: u64 = 1_700_000_000_000;

    fn hospital() -> SigningKey {
        SigningKey::from_seed(&[1; 32])
    }

    /// A ledger written through a file store to `file`, with the clock that drives it.
    fn ledger_on(file: &MemFile) -> Result<(Ledger<FileStore<MemFile>>, ManualClock), LedgerError> {
        let clock = ManualClock::new(T0);
        let settings = LedgerSettings { nonce: Some([5; 32]), ..LedgerSettings::new("variants") };
        let store = FileStore::from_file(file.clone(), WRITER)?;
        let ledger = Ledger::create(store, Box::new(clock.clone()), &settings, &[&hospital()])?;
        Ok((ledger, clock))
    }

    /// Registers the holder of `seed` as a patient in a new block.
    fn register(ledger: &mut Ledger<FileStore<MemFile>>, clock: &ManualClock, seed: u8) -> Result<(), LedgerError> {
        clock.advance(1000);
        ledger.register(&hospital(), &SigningKey::from_seed(&[seed; 32]), Role::Patient)?;
        ledger.seal(&[&hospital()])?;
        Ok(())
    }

    /// Opens (as a writer) `good` changed by `edit`, and checks that opening left the file as it was.
    fn crafted(good: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Result<FileStore<MemFile>, StoreError> {
        let mut bytes = good.to_vec();
        edit(&mut bytes);
        let file = MemFile::new(&bytes);
        let opened = FileStore::from_file(file.clone(), WRITER);
        assert_eq!(file.bytes(), bytes, "opening changed a crafted file");
        opened
    }

    /// The names of the errors seen so far.
    #[derive(Default)]
    struct Produced(BTreeSet<&'static str>);

    impl Produced {
        /// Asserts that `result` is an error `expected` accepts, and records its name.
        #[track_caller]
        fn failed<T>(&mut self, what: &str, result: Result<T, StoreError>, expected: impl Fn(&StoreError) -> bool) {
            let error = result.err().unwrap_or_else(|| panic!("{what}: succeeded"));
            assert!(expected(&error), "{what}: {error:?}");
            self.0.insert(name(&error));
        }
    }

    /// Opening after known frames reads the same frames as a full open for every prefix of the true offsets,
    /// and falls back to a full open, never panics, for offsets that are not the file's.
    #[test]
    fn opening_after_known_frames_finds_what_a_full_open_finds() {
        let file = MemFile::default();
        let (mut ledger, clock) = ledger_on(&file).unwrap();
        for seed in 2..7 {
            register(&mut ledger, &clock, seed).unwrap();
        }
        // A torn append after the last frame: the part after the known frames is still recovered.
        let mut bytes = file.frames();
        bytes.extend_from_slice(&frame_prefix(6)[..7]);
        let full = FileStore::from_file(MemFile::new(&bytes), READER).unwrap();
        let offsets: Vec<u64> = (0..full.len()).filter_map(|h| full.location(h)).collect();
        let same = |known: &[u64]| {
            let store = FileStore::from_file_after(MemFile::new(&bytes), READER, Some(known)).unwrap();
            (store.frames.clone(), store.end, store.recovery()) == (offsets.clone(), full.end, full.recovery())
        };
        for prefix in 1..=offsets.len() {
            assert!(same(&offsets[..prefix]), "the first {prefix} frames known");
        }
        let len = bytes.len() as u64;
        let last = offsets.len() - 1;
        let wrong: [Vec<u64>; 7] = [
            vec![],
            vec![0],
            vec![FILE_HEADER_LEN, offsets[2], offsets[1]],
            vec![FILE_HEADER_LEN, offsets[1] + 1],
            vec![FILE_HEADER_LEN, len + 10],
            vec![FILE_HEADER_LEN, u64::MAX],
            [&offsets[..last], &[offsets[last] + 3][..]].concat(),
        ];
        for known in wrong {
            assert!(same(&known), "known {known:?}");
        }
    }

    #[test]
    fn every_store_error_is_produced_by_a_real_file() {
        let mut seen = Produced::default();

        // A ledger of two blocks written through the store; its file, and the store read back from it.
        let file = MemFile::default();
        let (mut ledger, clock) = ledger_on(&file).unwrap();
        register(&mut ledger, &clock, 2).unwrap();
        let good = file.frames();
        let mut store = FileStore::from_file(MemFile::new(&good), WRITER).unwrap();
        assert_eq!((store.len(), store.recovery(), store.size()), (2, None, good.len() as u64));
        let blocks = [store.read(0).unwrap(), store.read(1).unwrap()];
        let second = store.location(1).unwrap();
        assert!(second > FILE_HEADER_LEN);

        // Reads and appends the store refuses.
        seen.failed("reading past the end", store.read(2), |e| matches!(e, StoreError::Missing(2)));
        seen.failed("appending at height 3", store.append(3, &blocks[1]), |e| {
            matches!(e, StoreError::OutOfOrder { expected: 2, found: 3 })
        });
        let mut reader = FileStore::from_file(MemFile::new(&good), READER).unwrap();
        seen.failed("appending to a reader", reader.append(2, &blocks[1]), |e| matches!(e, StoreError::ReadOnly));
        assert_eq!((store.len(), reader.len()), (2, 2));

        // A new ledger file refuses blocks it cannot hold, or that recovery could take for an interrupted
        // append; it then takes the genesis block (the refusals were about the blocks, and wrote nothing).
        let empty = MemFile::default();
        let mut fresh = FileStore::from_file(empty.clone(), WRITER).unwrap();
        let oversized = vec![1u8; MAX_FRAME_BLOCK_LEN as usize + 1];
        seen.failed(
            "a block over 64 MiB",
            fresh.append(0, &oversized),
            |e| matches!(e, StoreError::BlockTooLarge(n) if *n == MAX_FRAME_BLOCK_LEN as usize + 1),
        );
        drop(oversized);
        seen.failed("a block of 32 bytes", fresh.append(0, &blocks[0][..32]), |e| {
            matches!(e, StoreError::InvalidBlock("shorter than a block header"))
        });
        let zeros = [&blocks[0][..], &[0u8; 128]].concat();
        seen.failed("a block ending in 128 zeros", fresh.append(0, &zeros), |e| {
            matches!(e, StoreError::InvalidBlock("holds a long run of zero bytes"))
        });
        assert_eq!((fresh.len(), empty.bytes().len()), (0, 0), "a refused block was written");
        fresh.append(0, &blocks[0]).unwrap();
        assert_eq!(empty.bytes(), good[..empty.bytes().len()], "the genesis append differs from the ledger's");

        // A write that fails part-way through the third append: the ledger's seal fails with the store's
        // i/o error, and the store refuses every later append, even once the file works again.
        file.disk().crash_after = Some(40);
        let io_error = match register(&mut ledger, &clock, 3) {
            Err(LedgerError::Store(error)) => Err::<(), _>(error),
            other => panic!("a write failing part-way: {other:?}"),
        };
        seen.failed("a write failing part-way", io_error, |e| matches!(e, StoreError::Io(_)));
        file.disk().crash_after = None;
        let mut poisoned = ledger.into_store();
        seen.failed("appending after the failure", poisoned.append(2, &blocks[1]), |e| {
            matches!(e, StoreError::Poisoned)
        });
        // What the failed append left: a strict open refuses it; a writer cuts it and appends again.
        let torn = file.bytes();
        let end = good.len() as u64;
        assert_eq!(torn[..good.len()], good, "the torn append changed an acknowledged frame");
        assert!(torn[good.len() + 40..].iter().all(|b| *b == 0), "more than 40 bytes landed");
        seen.failed(
            "a strict open of the torn file",
            FileStore::from_file(MemFile::new(&torn), STRICT),
            |e| matches!(e, StoreError::TornTail { offset, height: 2 } if *offset == end),
        );
        let mut recovered = FileStore::from_file(MemFile::new(&torn), WRITER).unwrap();
        assert_eq!(recovered.recovery().map(|r| (r.offset, r.lost_height, r.cut)), Some((end, 2, true)));
        recovered.append(2, &blocks[1]).unwrap();

        // A first append that fails part-way: no complete genesis frame, so the file is an interrupted
        // creation (and no ledger was created).
        let creation = MemFile::default();
        creation.disk().crash_after = Some(30);
        let created = ledger_on(&creation).map(|_| ());
        assert!(matches!(created, Err(LedgerError::Store(StoreError::Io(_)))), "{created:?}");
        let interrupted = creation.bytes();
        assert_eq!(interrupted, good[..30]);
        seen.failed("a torn first append", FileStore::from_file(MemFile::new(&interrupted), WRITER), |e| {
            matches!(e, StoreError::IncompleteCreation)
        });

        // Files crafted from the good one (each left as it was).
        let foreign = crafted(&good, |b| b[0] ^= 0x01);
        seen.failed("a flipped bit in the file magic", foreign, |e| matches!(e, StoreError::NotALedger));
        let version_1 = crafted(&good, |b| {
            b[8..12].copy_from_slice(&1u32.to_le_bytes());
            let crc = crc32c::crc32c(&b[..44]);
            b[44..48].copy_from_slice(&crc.to_le_bytes());
        });
        seen.failed("a version-1 header with a valid checksum", version_1, |e| {
            matches!(e, StoreError::UnknownVersion(1))
        });
        let flipped = crafted(&good, |b| b[second as usize + 60] ^= 0x10);
        let checksum = "block checksum mismatch";
        seen.failed("a flipped bit in block 1", flipped, |e| {
            matches!(e, StoreError::Damaged { offset, height: 1, reason } if (*offset, *reason) == (second, checksum))
        });

        // A second writer on a real file, refused while the first holds the lock.
        let dir = std::env::temp_dir().join(format!("healthchain-variant-tests-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ledger.hcl");
        let mut first = FileStore::create(&path).unwrap();
        first.append(0, &blocks[0]).unwrap();
        seen.failed("a second writer", FileStore::open(&path, WRITER), |e| matches!(e, StoreError::Locked));
        drop(first);
        let second = FileStore::open(&path, WRITER).map(|store| store.len());
        assert!(matches!(second, Ok(1)), "once the first writer is gone: {second:?}");
        std::fs::remove_dir_all(&dir).unwrap();

        // Every variant was produced (`name` returns only listed names, by construction), and none is listed
        // twice.
        let listed: BTreeSet<&str> = NAMES.iter().copied().collect();
        assert_eq!(listed.len(), NAMES.len(), "a name is listed twice: {NAMES:?}");
        assert_eq!(seen.0, listed, "variants never produced: {:?}", listed.difference(&seen.0).collect::<Vec<_>>());
    }
}
