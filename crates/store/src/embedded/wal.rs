//! The write-ahead log.
//!
//! A log file is a sequence of records `[u32 len][u32 crc32][payload]` (little-endian; the CRC
//! covers the payload). One record holds one commit group — every op the writer made durable with
//! one `fdatasync` — so a crash can tear only the last record, and a torn record never hides
//! acknowledged writes behind it. The payload is `[magic u8][count u32]` then `count` ops, each
//! `[kind u8][revision i64]` followed by the key (put, delete) and the value (put), each as
//! `[u32 len][bytes]`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::BufMut;

use super::codec::{put_bytes, DecodeError, Reader};
use super::index::Op;
use crate::StoreError;

const MAGIC: u8 = 0xB1;
const HEADER: usize = 8;
/// The smallest payload: the magic byte and the op count.
const MIN_PAYLOAD: usize = 5;
const KIND_PUT: u8 = 1;
const KIND_DELETE: u8 = 2;
const KIND_COMPACT: u8 = 3;

/// Encodes one commit group as a framed record.
///
/// # Errors
/// [`StoreError::Io`] (invalid input) when a key, a value or the whole record exceeds the
/// format's `u32` lengths.
pub(crate) fn encode_record<'a>(
    ops: impl ExactSizeIterator<Item = &'a Op>,
) -> Result<Vec<u8>, StoreError> {
    let too_long = |error: super::codec::TooLong| StoreError::Io {
        operation: "encoding a log record",
        source: io::Error::new(io::ErrorKind::InvalidInput, error),
    };
    let mut payload = Vec::new();
    payload.put_u8(MAGIC);
    let count =
        u32::try_from(ops.len()).map_err(|_| too_long(super::codec::TooLong { len: ops.len() }))?;
    payload.put_u32_le(count);
    for op in ops {
        match op {
            Op::Put {
                revision,
                key,
                value,
            } => {
                payload.put_u8(KIND_PUT);
                payload.put_i64_le(*revision);
                put_bytes(&mut payload, key.as_bytes()).map_err(too_long)?;
                put_bytes(&mut payload, value).map_err(too_long)?;
            }
            Op::Delete { revision, key } => {
                payload.put_u8(KIND_DELETE);
                payload.put_i64_le(*revision);
                put_bytes(&mut payload, key.as_bytes()).map_err(too_long)?;
            }
            Op::Compact { revision } => {
                payload.put_u8(KIND_COMPACT);
                payload.put_i64_le(*revision);
            }
        }
    }
    let len = u32::try_from(payload.len())
        .map_err(|_| too_long(super::codec::TooLong { len: payload.len() }))?;
    let mut record = Vec::with_capacity(HEADER + payload.len());
    record.put_u32_le(len);
    record.put_u32_le(crc32fast::hash(&payload));
    record.extend_from_slice(&payload);
    Ok(record)
}

fn decode_payload(payload: &[u8]) -> Result<Vec<Op>, DecodeError> {
    let mut reader = Reader::new(payload);
    let _magic = reader.u8()?;
    let count = reader.u32()?;
    let mut ops = Vec::with_capacity(count.min(4096) as usize);
    for _ in 0..count {
        let at = reader.position();
        let kind = reader.u8()?;
        let revision = reader.i64()?;
        let op = match kind {
            KIND_PUT => Op::Put {
                revision,
                key: reader.string()?,
                value: reader.bytes()?,
            },
            KIND_DELETE => Op::Delete {
                revision,
                key: reader.string()?,
            },
            KIND_COMPACT => Op::Compact { revision },
            // An unknown kind inside a record whose CRC matched: report it like a short field.
            _ => return Err(DecodeError::Truncated { at }),
        };
        ops.push(op);
    }
    if !reader.is_empty() {
        return Err(DecodeError::Truncated {
            at: reader.position(),
        });
    }
    Ok(ops)
}

/// The payload of the well-formed record at `pos`, if there is one.
fn record_at(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let header = buf.get(pos..pos.checked_add(HEADER)?)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len < MIN_PAYLOAD {
        return None;
    }
    let start = pos + HEADER;
    let payload = buf.get(start..start.checked_add(len)?)?;
    if payload[0] != MAGIC || crc32fast::hash(payload) != crc {
        return None;
    }
    Some((payload, start + len))
}

/// A cheap test that a record could start at `pos`, so that searching a damaged region for
/// intact records rarely computes a CRC: a length that fits, the magic, at least one op, a known
/// op kind and a positive revision below 2^48.
fn plausible_record(buf: &[u8], pos: usize) -> bool {
    let Some(head) = buf
        .get(pos..)
        .and_then(|rest| rest.get(..HEADER + MIN_PAYLOAD + 9))
    else {
        return false;
    };
    let mut reader = Reader::new(head);
    let (Ok(len), Ok(_crc), Ok(magic), Ok(count), Ok(kind), Ok(revision)) = (
        reader.u32(),
        reader.u32(),
        reader.u8(),
        reader.u32(),
        reader.u8(),
        reader.i64(),
    ) else {
        return false;
    };
    (len as usize) <= buf.len() - pos - HEADER
        && magic == MAGIC
        && count >= 1
        && (KIND_PUT..=KIND_COMPACT).contains(&kind)
        && (1..1 << 48).contains(&revision)
}

/// What reading a log file found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// The ops of every intact record, in order.
    pub(crate) ops: Vec<Op>,
    /// The length of the intact prefix.
    pub(crate) valid_len: usize,
    /// Whether a torn record follows the intact prefix.
    pub(crate) torn: bool,
}

/// Reads the records of a log file's contents.
///
/// An invalid record with no valid record after it is a torn tail (a group whose `fdatasync`
/// never completed, so none of it was acknowledged): it is reported, not returned.
///
/// # Errors
/// [`StoreError::Corrupt`] when an invalid record is followed by a valid one, or a record with a
/// matching CRC does not decode.
pub(crate) fn scan(buf: &[u8], name: &Path) -> Result<Scan, StoreError> {
    let mut scan = Scan::default();
    let mut pos = 0;
    while pos < buf.len() {
        let Some((payload, next)) = record_at(buf, pos) else {
            let intact_later = (pos + 1..buf.len())
                .any(|later| plausible_record(buf, later) && record_at(buf, later).is_some());
            if intact_later {
                return Err(StoreError::Corrupt {
                    detail: format!(
                        "{}: invalid record at byte {pos} followed by valid records",
                        name.display()
                    ),
                });
            }
            scan.torn = true;
            break;
        };
        let ops = decode_payload(payload).map_err(|error| StoreError::Corrupt {
            detail: format!("{}: record at byte {pos}: {error}", name.display()),
        })?;
        scan.ops.extend(ops);
        pos = next;
        scan.valid_len = pos;
    }
    Ok(scan)
}

/// The log file the writer appends to.
#[derive(Debug)]
pub(crate) struct WalWriter {
    file: File,
    path: PathBuf,
    len: u64,
}

impl WalWriter {
    /// Creates a new, empty log file. The caller makes its directory entry durable.
    ///
    /// # Errors
    /// When the file exists or cannot be created.
    pub(crate) fn create(path: PathBuf) -> io::Result<Self> {
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)?;
        Ok(Self { file, path, len: 0 })
    }

    /// Opens an existing log file to append after its first `len` bytes, dropping anything past
    /// them (a torn tail) durably.
    ///
    /// # Errors
    /// When the file cannot be opened, truncated or synced.
    pub(crate) fn open(path: PathBuf, len: u64) -> io::Result<Self> {
        let file = OpenOptions::new().append(true).open(&path)?;
        if file.metadata()?.len() != len {
            file.set_len(len)?;
            file.sync_all()?;
        }
        Ok(Self { file, path, len })
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Appends a record and makes it durable (`fdatasync`).
    ///
    /// # Errors
    /// When writing or syncing fails. The file is then cut back to its previous length if
    /// possible; either way the writer must stop, since the page cache can no longer be trusted.
    pub(crate) fn append(&mut self, record: &[u8]) -> io::Result<()> {
        let written = self
            .file
            .write_all(record)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += record.len() as u64;
                Ok(())
            }
            Err(error) => {
                let _ = self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.sync_data());
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn ops() -> Vec<Op> {
        vec![
            Op::Put {
                revision: 1,
                key: "/a".into(),
                value: Bytes::from_static(b"one"),
            },
            Op::Delete {
                revision: 2,
                key: "/a".into(),
            },
            Op::Compact { revision: 2 },
        ]
    }

    fn two_records() -> Vec<u8> {
        let ops = ops();
        let mut log = encode_record(ops[..1].iter()).unwrap_or_default();
        log.extend(encode_record(ops[1..].iter()).unwrap_or_default());
        log
    }

    #[test]
    fn records_round_trip() {
        let log = two_records();
        let scan = scan(&log, Path::new("wal")).ok();
        assert_eq!(scan.as_ref().map(|s| s.ops.clone()), Some(ops()));
        assert_eq!(
            scan.map(|s| (s.valid_len, s.torn)),
            Some((log.len(), false))
        );
    }

    #[test]
    fn a_torn_last_record_is_dropped() {
        let log = two_records();
        let first_len = encode_record(ops()[..1].iter())
            .map(|r| r.len())
            .unwrap_or_default();
        for cut in first_len + 1..log.len() {
            let scan = scan(&log[..cut], Path::new("wal")).ok();
            assert_eq!(scan.as_ref().map(|s| s.ops.len()), Some(1), "cut at {cut}");
            assert_eq!(scan.map(|s| (s.valid_len, s.torn)), Some((first_len, true)));
        }
    }

    #[test]
    fn garbage_after_the_last_record_is_a_torn_tail() {
        let mut log = two_records();
        log.extend_from_slice(&[0xB1; 3]);
        log.extend_from_slice(&[0; 40]);
        let scan = scan(&log, Path::new("wal")).ok();
        assert_eq!(scan.map(|s| (s.ops.len(), s.torn)), Some((3, true)));
    }

    #[test]
    fn a_damaged_record_before_a_valid_one_is_corruption() {
        let mut log = two_records();
        log[HEADER + 3] ^= 0xff;
        assert!(matches!(
            scan(&log, Path::new("wal")),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
