//! Small text files that must survive crashes and show damage: a body followed by a `sha256 <hex>` line
//! over it, written beside the old file, synced, and renamed over it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::hash::{Hash256, sha256};

/// Writes `body` (whole lines) and its checksum line to `path` atomically and durably.
pub(crate) fn write_checksummed(path: &Path, body: &str) -> std::io::Result<()> {
    let mut partial = path.to_path_buf().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let mut file = std::fs::File::create(&partial)?;
    file.write_all(body.as_bytes())?;
    file.write_all(format!("sha256 {}\n", sha256(&[body.as_bytes()])).as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&partial, path)?;
    crate::store::io::sync_parent_dir(path)
}

/// The body of a file written by [`write_checksummed`], or why it is refused.
pub(crate) fn checked_body(text: &str) -> Result<&str, &'static str> {
    let body_end = text.trim_end_matches('\n').rfind('\n').map(|i| i + 1).ok_or("too short")?;
    let (body, check) = text.split_at(body_end);
    let digest = check.strip_prefix("sha256 ").and_then(|d| d.strip_suffix('\n')).ok_or("no checksum")?;
    if Hash256::from_hex(digest) != Some(sha256(&[body.as_bytes()])) {
        return Err("checksum mismatch");
    }
    Ok(body)
}
