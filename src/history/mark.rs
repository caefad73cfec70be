//! Where a history stood when a state snapshot was taken: enough to take it up again without reading it
//! (docs/FORMAT.md, "State snapshot files").

use crate::codec::{Decode, DecodeError, DecodeErrorKind, Encode, Reader, put_len};
use crate::ids::ActorId;

use super::BUCKET_BITS;
use super::record::NONE;

/// The history's chain heads, length and seed at a block boundary, its file synced up to there. Its `Debug`
/// shows sizes only, never an id (as the history's own).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct HistoryMark {
    /// The seed of the buckets (also in the file's header).
    pub seed: u64,
    /// The log's length.
    pub len: u64,
    /// Transactions recorded.
    pub leaves: u64,
    /// The last record of each patient, in id order.
    pub patients: Vec<(ActorId, u64)>,
    /// The last record of each actor, in id order.
    pub actors: Vec<(ActorId, u64)>,
    /// The last transaction of each bucket.
    pub buckets: Vec<u64>,
}

impl std::fmt::Debug for HistoryMark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryMark")
            .field("len", &self.len)
            .field("leaves", &self.leaves)
            .field("patients", &self.patients.len())
            .field("actors", &self.actors.len())
            .finish()
    }
}

fn put_heads(out: &mut Vec<u8>, heads: &[(ActorId, u64)]) {
    put_len(out, heads.len());
    for (id, at) in heads {
        id.encode(out);
        at.encode(out);
    }
}

/// Heads in strictly increasing id order, each an offset inside the log (below `len`).
fn heads(r: &mut Reader<'_>, len: u64) -> Result<Vec<(ActorId, u64)>, DecodeError> {
    let count = r.len("history heads", r.remaining() / 40)?;
    let mut heads: Vec<(ActorId, u64)> = Vec::with_capacity(count);
    for _ in 0..count {
        let at = r.position();
        let head = (ActorId::decode(r)?, r.u64()?);
        if heads.last().is_some_and(|last| last.0 >= head.0) || head.1 >= len {
            return Err(r.error_at(at, DecodeErrorKind::Invalid("history head")));
        }
        heads.push(head);
    }
    Ok(heads)
}

impl Encode for HistoryMark {
    fn encode(&self, out: &mut Vec<u8>) {
        self.seed.encode(out);
        self.len.encode(out);
        self.leaves.encode(out);
        put_heads(out, &self.patients);
        put_heads(out, &self.actors);
        put_len(out, self.buckets.len());
        for at in &self.buckets {
            at.encode(out);
        }
    }
}

impl Decode for HistoryMark {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (seed, len, leaves) = (r.u64()?, r.u64()?, r.u64()?);
        let patients = heads(r, len)?;
        let actors = heads(r, len)?;
        let at = r.position();
        let count = r.len("history buckets", 1 << BUCKET_BITS)?;
        if count != 1 << BUCKET_BITS {
            return Err(r.error_at(at, DecodeErrorKind::Invalid("history bucket count")));
        }
        let mut buckets = Vec::with_capacity(count);
        for _ in 0..count {
            let at = r.position();
            let head = r.u64()?;
            if head != NONE && head >= len {
                return Err(r.error_at(at, DecodeErrorKind::Invalid("history bucket head")));
            }
            buckets.push(head);
        }
        Ok(Self { seed, len, leaves, patients, actors, buckets })
    }
}
