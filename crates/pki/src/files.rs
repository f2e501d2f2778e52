//! Crash-safe file writes and reads that name the file in their errors.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::PkiError;

/// Permission bits for files holding private keys or credentials.
pub(crate) const PRIVATE_MODE: u32 = 0o600;
/// Permission bits for files holding public material (certificates).
pub(crate) const PUBLIC_MODE: u32 = 0o644;

/// Replaces `path` with `contents` atomically: the bytes go to a temporary file in the same
/// directory, created with `mode`, synced, then renamed over `path`, and the directory is synced.
/// A crash leaves either the old file or the new one, never a half-written one.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), PkiError> {
    let err = |source| PkiError::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    let tmp = temp_path(path);
    let result = write_new(&tmp, contents, mode).and_then(|()| fs::rename(&tmp, path));
    if let Err(source) = result {
        // Best effort: the temporary file is garbage either way.
        let _ = fs::remove_file(&tmp);
        return Err(err(source));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir).and_then(|d| d.sync_all()).map_err(err)?;
    }
    Ok(())
}

/// Reads a UTF-8 file, or `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, PkiError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PkiError::ReadFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn write_new(tmp: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    // A leftover from an earlier crash would make `create_new` fail.
    match fs::remove_file(tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(tmp)?;
    // The umask may have cleared bits of `mode`; set them exactly.
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(contents)?;
    file.sync_all()
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn write_atomic_replaces_contents_and_sets_mode() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secret.key");
        write_atomic(&path, b"old", PUBLIC_MODE)?;
        write_atomic(&path, b"new", PRIVATE_MODE)?;
        assert_eq!(fs::read(&path)?, b"new");
        assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        assert!(!temp_path(&path).exists());
        Ok(())
    }

    #[test]
    fn read_optional_returns_none_for_missing_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        assert_eq!(read_optional(&dir.path().join("absent"))?, None);
        Ok(())
    }
}
