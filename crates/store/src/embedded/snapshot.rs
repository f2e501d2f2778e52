//! Snapshot files: the whole index (every retained version, the revision and the compacted
//! revision) so the log can start afresh.
//!
//! Layout: `RUDSNAP1`, then the payload, then the payload's CRC32 (`u32`, little-endian). Payload:
//! `[revision i64][compacted i64][key count u64]`, then per key `[key][version count u32]` and per
//! version `[mod_revision i64][create_revision i64][version i64][live u8]` plus `[value]` when live
//! (keys and values as `[u32 len][bytes]`).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::codec::{DecodeError, Reader};
use super::index::{Index, Version};
use crate::StoreError;

const MAGIC: &[u8; 8] = b"RUDSNAP1";

/// A writer that keeps the CRC of everything after the magic.
struct Hashing<W> {
    inner: W,
    hasher: crc32fast::Hasher,
}

impl<W: Write> Hashing<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.inner.write_all(bytes)
    }

    fn put_len(&mut self, len: usize) -> io::Result<()> {
        let len = u32::try_from(len)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        self.put(&len.to_le_bytes())
    }

    fn put_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.put_len(bytes.len())?;
        self.put(bytes)
    }
}

/// Writes `index` to a new file at `path` and makes its contents durable (`fsync`). The caller
/// renames it into place and syncs the directory.
///
/// # Errors
/// [`StoreError::Io`] when creating, writing or syncing the file fails.
pub(crate) fn write(path: &Path, index: &Index) -> Result<(), StoreError> {
    let io_error = |source| StoreError::Io {
        operation: "writing a snapshot",
        source,
    };
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io_error)?;
    let mut out = Hashing {
        inner: BufWriter::new(file),
        hasher: crc32fast::Hasher::new(),
    };
    out.inner.write_all(MAGIC).map_err(io_error)?;
    write_payload(&mut out, index).map_err(io_error)?;
    let crc = out.hasher.finalize();
    out.inner.write_all(&crc.to_le_bytes()).map_err(io_error)?;
    let file = out
        .inner
        .into_inner()
        .map_err(|error| io_error(error.into_error()))?;
    file.sync_all().map_err(io_error)
}

fn write_payload<W: Write>(out: &mut Hashing<W>, index: &Index) -> io::Result<()> {
    out.put(&index.revision().to_le_bytes())?;
    out.put(&index.compacted().to_le_bytes())?;
    let histories = index.histories();
    out.put(&(histories.len() as u64).to_le_bytes())?;
    for (key, versions) in histories {
        out.put_bytes(key.as_bytes())?;
        out.put_len(versions.len())?;
        for version in versions {
            out.put(&version.mod_revision.to_le_bytes())?;
            out.put(&version.create_revision.to_le_bytes())?;
            out.put(&version.version.to_le_bytes())?;
            match &version.value {
                Some(value) => {
                    out.put(&[1])?;
                    out.put_bytes(value)?;
                }
                None => out.put(&[0])?,
            }
        }
    }
    Ok(())
}

/// Reads a snapshot file back into an index.
///
/// # Errors
/// [`StoreError::Io`] when the file cannot be read, [`StoreError::Corrupt`] when it is not an
/// intact snapshot (snapshots are synced before they are renamed into place, so a damaged one is
/// real corruption, not a torn write).
pub(crate) fn read(path: &Path) -> Result<Index, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        detail: format!("snapshot {}: {detail}", path.display()),
    };
    let buf = std::fs::read(path).map_err(|source| StoreError::Io {
        operation: "reading a snapshot",
        source,
    })?;
    let body = buf
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| corrupt("missing magic".to_owned()))?;
    let split = body
        .len()
        .checked_sub(4)
        .ok_or_else(|| corrupt("too short".to_owned()))?;
    let (payload, crc) = body.split_at(split);
    let crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32fast::hash(payload) != crc {
        return Err(corrupt("checksum mismatch".to_owned()));
    }
    decode_payload(payload).map_err(|error| corrupt(error.to_string()))
}

fn decode_payload(payload: &[u8]) -> Result<Index, DecodeError> {
    let mut reader = Reader::new(payload);
    let revision = reader.i64()?;
    let compacted = reader.i64()?;
    let key_count = reader.u64()?;
    let mut keys = BTreeMap::new();
    for _ in 0..key_count {
        let key = reader.string()?;
        let count = reader.u32()?;
        let mut versions = Vec::with_capacity(count.min(1024) as usize);
        for _ in 0..count {
            let mod_revision = reader.i64()?;
            let create_revision = reader.i64()?;
            let version = reader.i64()?;
            let value = match reader.u8()? {
                0 => None,
                _ => Some(reader.bytes()?),
            };
            versions.push(Version {
                mod_revision,
                create_revision,
                version,
                value,
            });
        }
        keys.insert(key, versions);
    }
    if !reader.is_empty() {
        return Err(DecodeError::Truncated {
            at: reader.position(),
        });
    }
    Ok(Index::from_parts(keys, revision, compacted))
}

/// Makes a directory's entries (created, renamed or removed files) durable.
///
/// # Errors
/// When the directory cannot be opened or synced.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
