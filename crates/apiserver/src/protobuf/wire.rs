//! The protobuf wire format: a reader over the (tag, value) pairs of one message.

/// One field value as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wire<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2: strings, bytes, messages, packed repeated scalars.
    Bytes(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
}

/// Why the bytes are not a protobuf message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The message ends inside a field.
    #[error("unexpected end of message")]
    Truncated,
    /// A varint runs past ten bytes.
    #[error("varint longer than ten bytes")]
    VarintTooLong,
    /// Wire types 3, 4 (groups) and 6, 7 do not occur in Kubernetes messages.
    #[error("unsupported wire type {0}")]
    UnsupportedWireType(u8),
    /// Tag 0 is not a field.
    #[error("field tag 0")]
    ZeroTag,
}

/// Reads a varint from the front of `buf`, advancing it.
pub(super) fn varint(buf: &mut &[u8]) -> Result<u64, WireError> {
    let mut value = 0u64;
    for shift in 0..10 {
        let (&byte, rest) = buf.split_first().ok_or(WireError::Truncated)?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << (shift * 7);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(WireError::VarintTooLong)
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], WireError> {
    if buf.len() < n {
        return Err(WireError::Truncated);
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Ok(head)
}

/// The fields of one encoded message, in wire order.
#[derive(Debug, Clone)]
pub(super) struct Fields<'a> {
    buf: &'a [u8],
}

impl<'a> Fields<'a> {
    /// Reads the fields of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    fn next_field(&mut self) -> Result<(u32, Wire<'a>), WireError> {
        let key = varint(&mut self.buf)?;
        let tag = u32::try_from(key >> 3).map_err(|_| WireError::Truncated)?;
        if tag == 0 {
            return Err(WireError::ZeroTag);
        }
        let value = match key & 7 {
            0 => Wire::Varint(varint(&mut self.buf)?),
            1 => {
                let bytes = take(&mut self.buf, 8)?;
                Wire::Fixed64(u64::from_le_bytes(
                    bytes.try_into().map_err(|_| WireError::Truncated)?,
                ))
            }
            2 => {
                let len =
                    usize::try_from(varint(&mut self.buf)?).map_err(|_| WireError::Truncated)?;
                Wire::Bytes(take(&mut self.buf, len)?)
            }
            5 => {
                let bytes = take(&mut self.buf, 4)?;
                Wire::Fixed32(u32::from_le_bytes(
                    bytes.try_into().map_err(|_| WireError::Truncated)?,
                ))
            }
            other => return Err(WireError::UnsupportedWireType(other as u8)),
        };
        Ok((tag, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Wire<'a>), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            return None;
        }
        let item = self.next_field();
        if item.is_err() {
            self.buf = &[];
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_in_wire_order_with_their_types() {
        // 1: varint 150; 2: "hi"; 3: fixed32 1; 4: fixed64 2.
        let buf = [
            0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x1d, 1, 0, 0, 0, 0x21, 2, 0, 0, 0, 0, 0, 0,
            0,
        ];
        let fields: Result<Vec<_>, _> = Fields::new(&buf).collect();
        assert_eq!(
            fields,
            Ok(vec![
                (1, Wire::Varint(150)),
                (2, Wire::Bytes(b"hi")),
                (3, Wire::Fixed32(1)),
                (4, Wire::Fixed64(2)),
            ])
        );
    }

    #[test]
    fn a_length_past_the_end_is_truncation() {
        let buf = [0x12, 0x05, b'h'];
        assert_eq!(Fields::new(&buf).next(), Some(Err(WireError::Truncated)));
    }

    #[test]
    fn groups_are_rejected() {
        let buf = [0x0b];
        assert_eq!(
            Fields::new(&buf).next(),
            Some(Err(WireError::UnsupportedWireType(3)))
        );
    }
}
