//! The part of a snapshot file that is this writer's own, never shipped: where its files stood at the
//! snapshot's block (docs/FORMAT.md, "State snapshot files").

use crate::codec::{Decode, DecodeError, DecodeErrorKind, Encode, Reader, put_len};
use crate::history::HistoryMark;

/// Where the ledger file's frames, the tree's block ends and the access history stood at the snapshot's
/// block: what opening takes up again instead of reading those files whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Local {
    /// Where each block is in the ledger's store ([`crate::Store::location`]), by height, up to the
    /// snapshot's block.
    pub frames: Vec<u64>,
    /// The tree size after each block, by height.
    pub block_ends: Vec<u64>,
    /// The access history.
    pub history: HistoryMark,
}

fn put_u64s(out: &mut Vec<u8>, values: &[u64]) {
    put_len(out, values.len());
    for value in values {
        value.encode(out);
    }
}

/// `count` strictly increasing integers.
fn increasing(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<u64>, DecodeError> {
    let count = r.len(what, r.remaining() / 8)?;
    let mut values: Vec<u64> = Vec::with_capacity(count);
    for _ in 0..count {
        let at = r.position();
        let value = r.u64()?;
        if values.last().is_some_and(|last| *last >= value) {
            return Err(r.error_at(at, DecodeErrorKind::Invalid(what)));
        }
        values.push(value);
    }
    Ok(values)
}

impl Encode for Local {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u64s(out, &self.frames);
        put_u64s(out, &self.block_ends);
        self.history.encode(out);
    }
}

impl Decode for Local {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let frames = increasing(r, "frame offsets")?;
        let block_ends = increasing(r, "block ends")?;
        let history = HistoryMark::decode(r)?;
        Ok(Self { frames, block_ends, history })
    }
}
