//! The canonical binary encoding (docs/FORMAT.md): fixed-width little-endian integers, length-prefixed
//! sequences with limits, one-byte tags, no trailing bytes. Decoding accepts exactly the byte strings that
//! encoding produces.

use crate::hash::Hash256;

/// Why a byte string is not a canonical encoding.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the structure did.
    #[error("input ends early")]
    Truncated,
    /// Bytes remain after the structure.
    #[error("trailing bytes")]
    TrailingBytes,
    /// A format version this library does not know.
    #[error("unknown format version {0}")]
    UnknownVersion(u8),
    /// A one-byte tag outside its enumeration.
    #[error("unknown {what} tag {tag}")]
    UnknownTag {
        /// Which enumeration.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// A length or count over its limit.
    #[error("{what} length {len} exceeds limit {max}")]
    TooLong {
        /// Which field.
        what: &'static str,
        /// The length found.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A field whose bytes are well-formed but not in the single canonical form.
    #[error("non-canonical {0}")]
    NonCanonical(&'static str),
    /// A field whose value is invalid (bad code, invalid key, empty set, …).
    #[error("invalid {0}")]
    Invalid(&'static str),
}

/// A decoding failure and the byte offset where it was detected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct DecodeError {
    /// Offset of the offending field from the start of the input.
    pub offset: usize,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

/// A value with one canonical binary encoding.
pub trait Encode {
    /// Appends the canonical encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// The canonical encoding of `self`.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// A value that can be decoded from its canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from `reader`.
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a whole byte string, rejecting trailing bytes.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let value = Self::decode(&mut reader)?;
        reader.finish()?;
        Ok(value)
    }
}

/// A cursor over input bytes that reports the offset of every failure.
#[derive(Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Self { input, pos: 0 }
    }

    /// The current offset.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    /// An error of `kind` at the current offset.
    pub fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { offset: self.pos, kind }
    }

    /// An error of `kind` at `offset`.
    pub fn error_at(&self, offset: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { offset, kind }
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.pos == self.input.len() { Ok(()) } else { Err(self.error(DecodeErrorKind::TrailingBytes)) }
    }

    /// The next `len` bytes.
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(len).ok_or_else(|| self.error(DecodeErrorKind::Truncated))?;
        let bytes = self.input.get(self.pos..end).ok_or_else(|| self.error(DecodeErrorKind::Truncated))?;
        self.pos = end;
        Ok(bytes)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    /// A little-endian u16.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// A little-endian u32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A little-endian u64.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A boolean: exactly 0 or 1.
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        let at = self.pos;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.error_at(at, DecodeErrorKind::NonCanonical("boolean"))),
        }
    }

    /// A one-byte tag, handed to `map`; `None` from `map` is an unknown tag.
    pub fn tag<T>(&mut self, what: &'static str, map: impl FnOnce(u8) -> Option<T>) -> Result<T, DecodeError> {
        let at = self.pos;
        let tag = self.u8()?;
        map(tag).ok_or_else(|| self.error_at(at, DecodeErrorKind::UnknownTag { what, tag }))
    }

    /// A u32 length or count, checked against `max` before anything is allocated.
    pub fn len(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let at = self.pos;
        let len = self.u32()?;
        let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
        if len_usize > max {
            return Err(self.error_at(at, DecodeErrorKind::TooLong { what, len: u64::from(len), max: max as u64 }));
        }
        Ok(len_usize)
    }

    /// A u8 length or count, checked against `max`.
    pub fn short_len(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let at = self.pos;
        let len = usize::from(self.u8()?);
        if len > max {
            return Err(self.error_at(at, DecodeErrorKind::TooLong { what, len: len as u64, max: max as u64 }));
        }
        Ok(len)
    }

    /// An optional value: tag 0 (absent) or 1 followed by the value.
    pub fn option<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        let at = self.pos;
        match self.u8()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            _ => Err(self.error_at(at, DecodeErrorKind::NonCanonical("option tag"))),
        }
    }

    /// A sequence of `count` values that must be strictly increasing (a canonical set: sorted, no duplicates).
    pub fn sorted_set<T: Decode + Ord>(&mut self, what: &'static str, count: usize) -> Result<Vec<T>, DecodeError> {
        let mut items: Vec<T> = Vec::with_capacity(count.min(64));
        for _ in 0..count {
            let at = self.pos;
            let item = T::decode(self)?;
            if items.last().is_some_and(|last| *last >= item) {
                return Err(self.error_at(at, DecodeErrorKind::NonCanonical(what)));
            }
            items.push(item);
        }
        Ok(items)
    }
}

/// Appends a u32 length; callers guarantee `len` is within a limit far below `u32::MAX`.
pub fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
}

/// Appends a u8 length; callers guarantee `len` is within a limit below 256.
pub fn put_short_len(out: &mut Vec<u8>, len: usize) {
    out.push(u8::try_from(len).unwrap_or(u8::MAX));
}

/// Appends an optional value.
pub fn put_option<T>(out: &mut Vec<u8>, value: Option<&T>, put: impl FnOnce(&mut Vec<u8>, &T)) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put(out, v);
        }
    }
}

impl Encode for u64 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Decode for u64 {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.u64()
    }
}

impl Encode for Hash256 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for Hash256 {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.array().map(Hash256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reports_offsets_and_rejects_non_canonical_forms() {
        let mut r = Reader::new(&[1, 2]);
        assert_eq!(r.bool(), Ok(true));
        assert_eq!(r.bool().map_err(|e| (e.offset, e.kind)), Err((1, DecodeErrorKind::NonCanonical("boolean"))));

        let mut r = Reader::new(&[5, 0, 0, 0]);
        assert!(matches!(
            r.len("x", 4),
            Err(DecodeError { offset: 0, kind: DecodeErrorKind::TooLong { len: 5, max: 4, .. } })
        ));

        assert_eq!(u64::from_bytes(&[0; 9]).map_err(|e| e.kind), Err(DecodeErrorKind::TrailingBytes));
        assert_eq!(u64::from_bytes(&[0; 7]).map_err(|e| e.kind), Err(DecodeErrorKind::Truncated));
        assert_eq!(u64::from_bytes(&7u64.to_bytes()), Ok(7));
    }

    #[test]
    fn sorted_sets_reject_duplicates_and_disorder() {
        let a = Hash256([1; 32]).to_bytes();
        let b = Hash256([2; 32]).to_bytes();
        let ok = [a.clone(), b.clone()].concat();
        assert_eq!(Reader::new(&ok).sorted_set::<Hash256>("set", 2).map(|v| v.len()), Ok(2));
        for bad in [[b.clone(), a.clone()].concat(), [a.clone(), a.clone()].concat()] {
            let err = Reader::new(&bad).sorted_set::<Hash256>("set", 2);
            assert_eq!(err.map_err(|e| (e.offset, e.kind)), Err((32, DecodeErrorKind::NonCanonical("set"))));
        }
    }
}
