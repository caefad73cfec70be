//! An in-memory ledger file whose clones share their bytes (like one path opened twice), counting the bytes
//! read and the writes, and able to fail a write part-way (a crash in the middle of an append).

use healthchain::LedgerFile;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

/// What the file holds and what was done to it.
#[derive(Debug, Default)]
pub struct Disk {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Bytes read so far.
    pub read: u64,
    /// Write, sync and set_len calls so far.
    pub changes: u64,
    /// When set, the next write lands only this many bytes, then fails (and so does every later write).
    pub crash_after: Option<usize>,
}

/// An in-memory [`LedgerFile`].
#[derive(Clone, Debug, Default)]
pub struct MemFile(Arc<Mutex<Disk>>);

impl MemFile {
    /// A file holding `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        Self(Arc::new(Mutex::new(Disk { bytes: bytes.to_vec(), ..Disk::default() })))
    }

    /// The shared state.
    pub fn disk(&self) -> MutexGuard<'_, Disk> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.disk().bytes.clone()
    }
}

impl LedgerFile for MemFile {
    fn size(&self) -> io::Result<u64> {
        Ok(self.disk().bytes.len() as u64)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut disk = self.disk();
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let src = disk.bytes.get(start..start + buf.len()).ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        disk.read += buf.len() as u64;
        Ok(())
    }

    fn write_all_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut disk = self.disk();
        disk.changes += 1;
        let landed = disk.crash_after.map_or(data.len(), |n| n.min(data.len()));
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::InvalidInput)?;
        if disk.bytes.len() < start + landed {
            disk.bytes.resize(start + landed, 0);
        }
        disk.bytes[start..start + landed].copy_from_slice(&data[..landed]);
        if disk.crash_after.is_some() {
            disk.crash_after = Some(0);
            return Err(io::Error::other("crash"));
        }
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let mut disk = self.disk();
        disk.changes += 1;
        if disk.crash_after.is_some() { Err(io::Error::other("crash")) } else { Ok(()) }
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let mut disk = self.disk();
        disk.changes += 1;
        let len = usize::try_from(len).map_err(|_| io::ErrorKind::InvalidInput)?;
        disk.bytes.resize(len, 0);
        Ok(())
    }
}
