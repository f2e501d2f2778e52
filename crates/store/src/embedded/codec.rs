//! Little-endian byte encoding shared by the write-ahead log and the snapshot files.

use bytes::{BufMut, Bytes};

/// Appends length-prefixed bytes (`u32` length, then the bytes).
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), TooLong> {
    let len = u32::try_from(bytes.len()).map_err(|_| TooLong { len: bytes.len() })?;
    out.put_u32_le(len);
    out.put_slice(bytes);
    Ok(())
}

/// A key or value longer than the format's `u32` length field can describe.
#[derive(Debug, thiserror::Error)]
#[error("{len} bytes do not fit a u32 length field")]
pub(crate) struct TooLong {
    /// The length that did not fit.
    pub(crate) len: usize,
}

/// Why a [`Reader`] could not decode what it was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    /// The input ended inside a field.
    #[error("input ended at byte {at} inside a field")]
    Truncated {
        /// The offset at which more bytes were needed.
        at: usize,
    },
    /// A key was not valid UTF-8.
    #[error("key at byte {at} is not UTF-8")]
    KeyNotUtf8 {
        /// The offset of the key.
        at: usize,
    },
}

/// A cursor over encoded bytes.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Whether every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The current offset.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|end| *end <= self.buf.len());
        let end = end.ok_or(DecodeError::Truncated { at: self.pos })?;
        let slice = &self.buf[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let at = self.pos;
        self.take(N)?
            .try_into()
            .map_err(|_| DecodeError::Truncated { at })
    }

    /// Reads one byte.
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a little-endian `u32`.
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u64`.
    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `i64`.
    pub(crate) fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// Reads length-prefixed bytes, copied out so the input buffer can be freed.
    pub(crate) fn bytes(&mut self) -> Result<Bytes, DecodeError> {
        let len = self.u32()? as usize;
        Ok(Bytes::copy_from_slice(self.take(len)?))
    }

    /// Reads a length-prefixed UTF-8 string.
    pub(crate) fn string(&mut self) -> Result<String, DecodeError> {
        let at = self.pos;
        let len = self.u32()? as usize;
        let raw = self.take(len)?;
        String::from_utf8(raw.to_vec()).map_err(|_| DecodeError::KeyNotUtf8 { at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reports_truncation_instead_of_panicking() {
        let mut out = Vec::new();
        assert!(put_bytes(&mut out, b"hello").is_ok());
        out.truncate(6);
        let mut reader = Reader::new(&out);
        assert_eq!(reader.bytes(), Err(DecodeError::Truncated { at: 4 }));
    }

    #[test]
    fn reader_round_trips_fields() {
        let mut out = Vec::new();
        out.put_u8(7);
        out.put_i64_le(-3);
        assert!(put_bytes(&mut out, b"key").is_ok());
        let mut reader = Reader::new(&out);
        assert_eq!(reader.u8(), Ok(7));
        assert_eq!(reader.i64(), Ok(-3));
        assert_eq!(reader.string().as_deref(), Ok("key"));
        assert!(reader.is_empty());
    }
}
