//! The history's append-only log: checksummed frames in a file (beside a ledger file, or an unnamed
//! temporary one) or in memory, with the frames not yet written kept in a buffer that reads also serve.

use std::fs::File;
use std::io;

use super::HistoryError;
use crate::store::LedgerFile as _;

/// The first bytes of a history file: its magic and format version (then the 8-byte seed of its buckets).
pub const HISTORY_MAGIC: [u8; 8] = *b"HCHIST\x00\x02";

/// Length of a history file's header: the magic and the seed.
const HEADER_LEN: u64 = 16;

/// The largest frame payload the log reads: far above any record (a record holds at most one transaction's
/// payload, at most `block::MAX_TX_LEN`), so a larger length is damage.
const MAX_FRAME: usize = 1 << 24;

/// A handle on a history file that makes what was written to it so far durable.
#[derive(Debug)]
pub(crate) struct HistorySync {
    file: Option<File>,
}

impl HistorySync {
    /// Syncs the file's data.
    pub(crate) fn sync(&self) -> io::Result<()> {
        self.file.as_ref().map_or(Ok(()), File::sync_data)
    }
}

/// Frames: `len u32 LE`, `crc32c u32 LE` of the payload, then the payload.
pub(super) struct Log {
    /// The file written to, or `None` when the log lives in memory (everything stays in `buffer`).
    file: Option<File>,
    /// Bytes of the log already written to the file.
    flushed: u64,
    /// Frames appended since, in order.
    buffer: Vec<u8>,
    /// Whether the file is another's (a writer's, read by a reader): frames appended stay in the buffer.
    frozen: bool,
}

impl Log {
    /// A log in memory, for a history whose buckets are seeded with `seed`.
    pub(super) fn in_memory(seed: u64) -> Self {
        Self { file: None, flushed: 0, buffer: header(seed), frozen: false }
    }

    /// A log in `file`, which is emptied first.
    pub(super) fn in_file(file: File, seed: u64) -> io::Result<Self> {
        file.set_len(0)?;
        Ok(Self { file: Some(file), flushed: 0, buffer: header(seed), frozen: false })
    }

    /// The log that `file` holds in its first `len` bytes, written by a history seeded with `seed` (what
    /// follows is left until [`Log::cut_after`]); `frozen` when the file is only read, and frames appended
    /// stay in memory. Refused (`Damaged`) unless the file starts with that header and holds `len` bytes.
    pub(super) fn resume(file: File, seed: u64, len: u64, frozen: bool) -> Result<Self, HistoryError> {
        let damaged = |reason| HistoryError::Damaged { offset: 0, reason };
        let size = file.metadata().map_err(HistoryError::Io)?.len();
        if size < len || len < HEADER_LEN {
            return Err(damaged("shorter than the snapshot says"));
        }
        let mut found = [0u8; HEADER_LEN as usize];
        file.read_exact_at(0, &mut found).map_err(HistoryError::Io)?;
        if found.as_slice() != header(seed).as_slice() {
            return Err(damaged("another history than the snapshot's"));
        }
        Ok(Self { file: Some(file), flushed: len, buffer: Vec::new(), frozen })
    }

    /// Cuts what a resumed file holds after the log (unless frozen), where the next frames go.
    pub(super) fn cut_after(&mut self) -> Result<(), HistoryError> {
        match self.file.as_ref().filter(|_| !self.frozen && self.buffer.is_empty()) {
            Some(file) => file.set_len(self.flushed).map_err(HistoryError::Io),
            None => Ok(()),
        }
    }

    /// Whether the log is written to a file.
    pub(super) fn on_disk(&self) -> bool {
        self.file.is_some() && !self.frozen
    }

    /// The log's length in bytes, buffered frames included.
    pub(super) fn len(&self) -> u64 {
        self.flushed + self.buffer.len() as u64
    }

    /// Appends a frame holding `payload` (a record, far shorter than 4 GiB) and returns its offset.
    pub(super) fn append(&mut self, payload: &[u8]) -> u64 {
        let offset = self.len();
        self.buffer.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes());
        self.buffer.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
        self.buffer.extend_from_slice(payload);
        offset
    }

    /// Writes the buffered frames to the file (not synced: the history is rebuilt from the blocks whenever
    /// it cannot be trusted). On failure the frames stay buffered, still readable, and are written by the
    /// next flush.
    pub(super) fn flush(&mut self) -> io::Result<()> {
        let Some(file) = self.file.as_mut().filter(|_| !self.frozen) else { return Ok(()) };
        if self.buffer.is_empty() {
            return Ok(());
        }
        file.write_all_at(self.flushed, &self.buffer)?;
        self.flushed += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// Writes the buffered frames; returns a handle that syncs them (on any thread), so that what a
    /// snapshot says of the log is durable before the snapshot is.
    pub(super) fn written(&mut self) -> io::Result<HistorySync> {
        self.flush()?;
        let file = self.file.as_ref().map(File::try_clone).transpose()?;
        Ok(HistorySync { file })
    }

    /// The payload of the frame at `offset`, its checksum checked.
    pub(super) fn read(&self, offset: u64) -> Result<Vec<u8>, HistoryError> {
        let damaged = |reason| HistoryError::Damaged { offset, reason };
        let mut header = [0u8; 8];
        self.read_at(offset, &mut header)?;
        let [l0, l1, l2, l3, c0, c1, c2, c3] = header;
        let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
        if len > MAX_FRAME {
            return Err(damaged("frame length"));
        }
        let mut payload = vec![0u8; len];
        self.read_at(offset + 8, &mut payload)?;
        if crc32c::crc32c(&payload) != u32::from_le_bytes([c0, c1, c2, c3]) {
            return Err(damaged("checksum"));
        }
        Ok(payload)
    }

    fn read_at(&self, offset: u64, out: &mut [u8]) -> Result<(), HistoryError> {
        let end = offset.checked_add(out.len() as u64).filter(|end| *end <= self.len());
        let Some(end) = end else {
            return Err(HistoryError::Damaged { offset, reason: "link beyond the end" });
        };
        if offset >= self.flushed {
            let start = usize::try_from(offset - self.flushed).unwrap_or(usize::MAX);
            let bytes = self.buffer.get(start..start.saturating_add(out.len()));
            out.copy_from_slice(bytes.ok_or(HistoryError::Damaged { offset, reason: "link beyond the end" })?);
            return Ok(());
        }
        if end > self.flushed {
            return Err(HistoryError::Damaged { offset, reason: "frame across the buffer" });
        }
        match &self.file {
            Some(file) => file.read_exact_at(offset, out).map_err(HistoryError::Io),
            None => Err(HistoryError::Damaged { offset, reason: "link beyond the end" }),
        }
    }

    /// A copy in an unnamed temporary file.
    pub(super) fn duplicate(&self) -> Result<Self, HistoryError> {
        let mut copy = Self::in_file(tempfile::tempfile().map_err(HistoryError::Io)?, 0).map_err(HistoryError::Io)?;
        copy.buffer.clear();
        let mut offset = 0;
        while offset < self.flushed {
            let chunk = (self.flushed - offset).min(1 << 20) as usize;
            let mut bytes = vec![0u8; chunk];
            self.read_at(offset, &mut bytes)?;
            copy.buffer.extend_from_slice(&bytes);
            copy.flush().map_err(HistoryError::Io)?;
            offset += chunk as u64;
        }
        copy.buffer.extend_from_slice(&self.buffer);
        copy.flush().map_err(HistoryError::Io)?;
        Ok(copy)
    }
}

/// A history file's header: the magic, then the seed of its buckets.
fn header(seed: u64) -> Vec<u8> {
    let mut header = HISTORY_MAGIC.to_vec();
    header.extend_from_slice(&seed.to_le_bytes());
    header
}
