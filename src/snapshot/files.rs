//! A writer's snapshot files, in a directory beside its ledger file (docs/FORMAT.md, "State snapshot
//! files"): each written whole under a temporary name, synced, renamed into place and its directory
//! synced, so that a crash leaves either the complete file or none; the newest [`KEPT`] are kept.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{Local, Snapshot, SnapshotError};
use crate::codec::Decode as _;
use crate::hash::{Hash256, sha256};

/// The first bytes of a snapshot file.
pub const SNAPSHOT_FILE_MAGIC: [u8; 8] = *b"HCSNAPSH";
/// The layout version of snapshot files.
const FILE_VERSION: u32 = 1;
/// Snapshot files kept: the newest, and one before it should the newest be damaged.
pub const KEPT: usize = 2;
/// A snapshot file's name ends so.
const SUFFIX: &str = ".snapshot";
/// A snapshot file being written is named so, with this after [`SUFFIX`], until it is renamed into place.
const PARTIAL: &str = ".partial";

/// The size of a snapshot file holding `canonical` and `local` bytes: the magic, the version, the two parts
/// with their lengths, and the checksum.
pub(crate) fn file_len(canonical: usize, local: usize) -> u64 {
    (SNAPSHOT_FILE_MAGIC.len() + 4 + 8 + canonical + 8 + local + 32) as u64
}

/// The directory of the snapshots of the ledger file at `path`: `<file name>.snapshots` beside it.
pub fn snapshots_dir(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(std::ffi::OsString::from).unwrap_or_default();
    name.push(".snapshots");
    path.with_file_name(name)
}

/// The snapshot files of one ledger file.
#[derive(Clone, Debug)]
pub(crate) struct SnapshotFiles {
    dir: PathBuf,
}

/// One snapshot file as read: its height (from its name), the canonical snapshot and the writer's part.
pub(crate) struct SnapshotFile {
    /// The height its name gives.
    pub height: u64,
    /// Where it is.
    pub path: PathBuf,
}

impl SnapshotFiles {
    /// The snapshot files in `dir`.
    pub(crate) fn in_dir(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The snapshot files there, newest (highest) first; none when the directory does not exist.
    pub(crate) fn newest_first(&self) -> Vec<SnapshotFile> {
        let Ok(entries) = fs::read_dir(&self.dir) else { return Vec::new() };
        let mut files: Vec<SnapshotFile> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name();
                let height = name.to_str()?.strip_suffix(SUFFIX)?.parse().ok()?;
                Some(SnapshotFile { height, path: entry.path() })
            })
            .collect();
        files.sort_unstable_by_key(|f| std::cmp::Reverse(f.height));
        files
    }

    /// Writes the snapshot of block `height` (its canonical bytes and this writer's part), then removes all
    /// but the newest [`KEPT`] snapshot files and any half-written one left by an interrupted write;
    /// returns the file's size ([`file_len`]).
    pub(crate) fn write(&self, height: u64, canonical: &[u8], local: &[u8]) -> Result<u64, SnapshotError> {
        if !self.dir.is_dir() {
            fs::create_dir_all(&self.dir)?;
            crate::store::io::sync_parent_dir(&self.dir)?;
        }
        let mut head = Vec::with_capacity(20);
        head.extend_from_slice(&SNAPSHOT_FILE_MAGIC);
        head.extend_from_slice(&FILE_VERSION.to_le_bytes());
        head.extend_from_slice(&(canonical.len() as u64).to_le_bytes());
        let local_len = (local.len() as u64).to_le_bytes();
        let parts = [head.as_slice(), canonical, &local_len, local];
        let digest = sha256(&parts);
        let path = self.dir.join(format!("{height:020}{SUFFIX}"));
        let partial = self.dir.join(format!("{height:020}{SUFFIX}{PARTIAL}"));
        let mut file = fs::File::create(&partial)?;
        for part in parts.into_iter().chain([digest.0.as_slice()]) {
            file.write_all(part)?;
        }
        file.sync_all()?;
        drop(file);
        fs::rename(&partial, &path)?;
        crate::store::io::sync_parent_dir(&path)?;
        for old in self.newest_first().iter().skip(KEPT) {
            self.remove(old);
        }
        self.remove_partial();
        Ok(file_len(canonical.len(), local.len()))
    }

    /// Removes the half-written files that interrupted writes left.
    fn remove_partial(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        for entry in entries.filter_map(Result::ok) {
            if entry.file_name().to_str().is_some_and(|name| name.ends_with(PARTIAL)) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Removes a snapshot file that cannot be used (a later write replaces it); a failure only leaves it.
    pub(crate) fn remove(&self, file: &SnapshotFile) {
        let _ = fs::remove_file(&file.path);
    }
}

impl SnapshotFile {
    /// The snapshot, the digest of its canonical bytes and this writer's part, decoded and checked as far as
    /// they can be without the ledger: the checksum, the canonical form, and a writer's part for the
    /// snapshot's block (as many frames and block ends as blocks, the last block end and the history's
    /// transaction count equal to the header's tree size).
    pub(crate) fn load(&self) -> Result<(Snapshot, Hash256, Local), SnapshotError> {
        let (canonical, local) = self.read()?;
        let snapshot = Snapshot::from_bytes(&canonical)?;
        let local = Local::from_bytes(&local)?;
        let tree_size = snapshot.header().tree_size;
        let blocks = usize::try_from(snapshot.height()).ok().and_then(|h| h.checked_add(1));
        let consistent = blocks.is_some_and(|blocks| {
            local.frames.len() == blocks
                && local.block_ends.len() == blocks
                && local.block_ends.last() == Some(&tree_size)
                && local.history.leaves == tree_size
        });
        if !consistent {
            return Err(SnapshotError::Damaged("the writer's part is not for the snapshot's block"));
        }
        Ok((snapshot, sha256(&[&canonical]), local))
    }

    /// The canonical snapshot and this writer's part, the file's checksum and framing checked.
    pub(crate) fn read(&self) -> Result<(Vec<u8>, Vec<u8>), SnapshotError> {
        let bytes = fs::read(&self.path)?;
        let damaged = SnapshotError::Damaged;
        let (body, digest) = bytes.split_last_chunk::<32>().ok_or(damaged("shorter than its checksum"))?;
        if sha256(&[body]).0 != *digest {
            return Err(damaged("checksum mismatch"));
        }
        let (magic, rest) = body.split_first_chunk::<8>().ok_or(damaged("no magic"))?;
        let (version, mut rest) = rest.split_first_chunk::<4>().ok_or(damaged("no version"))?;
        if *magic != SNAPSHOT_FILE_MAGIC || u32::from_le_bytes(*version) != FILE_VERSION {
            return Err(damaged("not a snapshot file of this version"));
        }
        let mut parts = Vec::with_capacity(2);
        for _ in 0..2 {
            let (len, after) = rest.split_first_chunk::<8>().ok_or(damaged("part length"))?;
            let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| damaged("part length"))?;
            let (part, after) = after.split_at_checked(len).ok_or(damaged("part length"))?;
            parts.push(part.to_vec());
            rest = after;
        }
        if !rest.is_empty() {
            return Err(damaged("trailing bytes"));
        }
        let local = parts.pop().unwrap_or_default();
        let canonical = parts.pop().unwrap_or_default();
        Ok((canonical, local))
    }
}
