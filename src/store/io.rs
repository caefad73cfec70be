//! The file layer under [`super::FileStore`]: positional reads and writes, sync and truncation. A trait so
//! that tests can inject I/O errors at any write or sync.

use std::io;

/// The operations the file store needs from a file.
pub trait LedgerFile: Send {
    /// Current length in bytes.
    fn size(&self) -> io::Result<u64>;
    /// Fills `buf` from `offset`; an error if the file ends first.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes all of `data` at `offset`.
    fn write_all_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Makes every write so far durable (fdatasync).
    fn sync_data(&mut self) -> io::Result<()>;
    /// Truncates or extends the file to `len` bytes.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
}

impl LedgerFile for std::fs::File {
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    #[cfg(unix)]
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }

    #[cfg(unix)]
    fn write_all_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(self, data, offset)
    }

    #[cfg(windows)]
    fn read_exact_at(&self, offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
        let mut offset = offset;
        while !buf.is_empty() {
            match std::os::windows::fs::FileExt::seek_read(self, buf, offset)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => {
                    buf = buf.get_mut(n..).unwrap_or_default();
                    offset += n as u64;
                }
            }
        }
        Ok(())
    }

    #[cfg(windows)]
    fn write_all_at(&mut self, offset: u64, mut data: &[u8]) -> io::Result<()> {
        let mut offset = offset;
        while !data.is_empty() {
            match std::os::windows::fs::FileExt::seek_write(self, data, offset)? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => {
                    data = data.get(n..).unwrap_or_default();
                    offset += n as u64;
                }
            }
        }
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        std::fs::File::sync_data(self)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        std::fs::File::set_len(self, len)
    }
}

/// Makes the directory entry of `path` durable (syncs its parent directory), so that a file just created
/// or renamed there survives a crash. A no-op where directories cannot be synced.
#[cfg(unix)]
pub(crate) fn sync_parent_dir(path: &std::path::Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    std::fs::File::open(parent)?.sync_all()
}

/// Makes the directory entry of `path` durable: a no-op where directories cannot be synced.
#[cfg(not(unix))]
pub(crate) fn sync_parent_dir(_path: &std::path::Path) -> io::Result<()> {
    Ok(())
}
