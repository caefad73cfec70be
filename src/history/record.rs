//! The records of the history log and their bytes (docs/FORMAT.md, "Access history").

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::ids::{AccessId, ActorId, TxId};
use crate::state::{Access, Anchor, Review, Stamp};
use crate::tx::{AnchorRecord, RecordAccess};

/// No earlier record in a chain.
pub(super) const NONE: u64 = u64::MAX;

/// One record of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Record {
    /// A recorded access, with the previous record of its patient and of its accessor.
    Access { access: Access, prev_patient: u64, prev_actor: u64 },
    /// The review of a break-glass access, chained with the access's patient and accessor.
    Review { access: AccessId, patient: ActorId, accessor: ActorId, review: Review, prev_patient: u64, prev_actor: u64 },
    /// An anchored record version, with the previous record of its patient and of its writer.
    Anchor { anchor: Anchor, prev_patient: u64, prev_actor: u64 },
    /// A sealed transaction: its leaf index, the offset of its record (or [`NONE`]), and the previous
    /// transaction of its id bucket.
    Tx { id: TxId, leaf: u64, record: u64, prev_bucket: u64 },
}

const ACCESS: u8 = 1;
const REVIEW: u8 = 2;
const ANCHOR: u8 = 3;
const TX: u8 = 4;

fn put_stamp(out: &mut Vec<u8>, stamp: &Stamp) {
    stamp.height.encode(out);
    stamp.time.encode(out);
}

fn stamp(r: &mut Reader<'_>, tx: TxId) -> Result<Stamp, DecodeError> {
    Ok(Stamp { height: r.u64()?, time: r.u64()?, tx })
}

impl Encode for Record {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Record::Access { access, prev_patient, prev_actor } => {
                out.push(ACCESS);
                prev_patient.encode(out);
                prev_actor.encode(out);
                access.id.encode(out);
                access.accessor.encode(out);
                put_stamp(out, &access.recorded);
                access.access.encode(out);
            }
            Record::Review { access, patient, accessor, review, prev_patient, prev_actor } => {
                out.push(REVIEW);
                prev_patient.encode(out);
                prev_actor.encode(out);
                access.encode(out);
                patient.encode(out);
                accessor.encode(out);
                review.reviewer.encode(out);
                out.push(u8::from(review.justified));
                review.reviewed.tx.encode(out);
                put_stamp(out, &review.reviewed);
            }
            Record::Anchor { anchor, prev_patient, prev_actor } => {
                out.push(ANCHOR);
                prev_patient.encode(out);
                prev_actor.encode(out);
                anchor.anchored.tx.encode(out);
                anchor.writer.encode(out);
                put_stamp(out, &anchor.anchored);
                anchor.anchor.encode(out);
            }
            Record::Tx { id, leaf, record, prev_bucket } => {
                out.push(TX);
                prev_bucket.encode(out);
                id.encode(out);
                leaf.encode(out);
                record.encode(out);
            }
        }
    }
}

impl Decode for Record {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let kind = r.tag("history record", |k| (ACCESS..=TX).contains(&k).then_some(k))?;
        let first = r.u64()?;
        Ok(match kind {
            ACCESS => {
                let prev_actor = r.u64()?;
                let id = TxId::decode(r)?;
                let accessor = ActorId::decode(r)?;
                let recorded = stamp(r, id)?;
                let access = RecordAccess::decode(r)?;
                let access = Access { id, accessor, access, recorded, review: None };
                Record::Access { access, prev_patient: first, prev_actor }
            }
            REVIEW => {
                let prev_actor = r.u64()?;
                let access = TxId::decode(r)?;
                let patient = ActorId::decode(r)?;
                let accessor = ActorId::decode(r)?;
                let reviewer = ActorId::decode(r)?;
                let justified = r.bool()?;
                let tx = TxId::decode(r)?;
                let review = Review { reviewer, justified, reviewed: stamp(r, tx)? };
                Record::Review { access, patient, accessor, review, prev_patient: first, prev_actor }
            }
            ANCHOR => {
                let prev_actor = r.u64()?;
                let id = TxId::decode(r)?;
                let writer = ActorId::decode(r)?;
                let anchored = stamp(r, id)?;
                let anchor = Anchor { writer, anchor: AnchorRecord::decode(r)?, anchored };
                Record::Anchor { anchor, prev_patient: first, prev_actor }
            }
            _ => Record::Tx { id: TxId::decode(r)?, leaf: r.u64()?, record: r.u64()?, prev_bucket: first },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{Action, Code};
    use crate::hash::Hash256;
    use crate::tx::AccessBasis;
    use proptest::prelude::*;

    fn id(seed: u8) -> [u8; 32] {
        [seed; 32]
    }

    proptest! {
        /// Every record decodes to itself.
        #[test]
        fn records_round_trip(seed in any::<u8>(), a in any::<u64>(), b in any::<u64>(), c in any::<u64>(),
                              justified in any::<bool>(), kind in 0u8..4) {
            let stamp = Stamp { height: a, time: b, tx: TxId(Hash256(id(seed))) };
            let code = Code::new("labs").map_err(|e| TestCaseError::fail(e.to_string()))?;
            let record = match kind {
                0 => Record::Access {
                    access: Access {
                        id: stamp.tx,
                        accessor: ActorId(Hash256(id(seed ^ 1))),
                        access: RecordAccess {
                            patient: ActorId(Hash256(id(seed ^ 2))),
                            section: code, purpose: code, action: Action::Read, at: c,
                            basis: AccessBasis::Consents(vec![TxId(Hash256(id(seed ^ 3)))]),
                        },
                        recorded: stamp,
                        review: None,
                    },
                    prev_patient: a, prev_actor: c,
                },
                1 => Record::Review {
                    access: TxId(Hash256(id(seed ^ 4))),
                    patient: ActorId(Hash256(id(seed ^ 5))),
                    accessor: ActorId(Hash256(id(seed ^ 6))),
                    review: Review { reviewer: ActorId(Hash256(id(seed ^ 7))), justified, reviewed: stamp },
                    prev_patient: c, prev_actor: NONE,
                },
                2 => Record::Anchor {
                    anchor: Anchor {
                        writer: ActorId(Hash256(id(seed ^ 8))),
                        anchor: AnchorRecord {
                            patient: ActorId(Hash256(id(seed ^ 9))),
                            section: code, purpose: code, commitment: Hash256(id(seed ^ 10)),
                        },
                        anchored: stamp,
                    },
                    prev_patient: NONE, prev_actor: a,
                },
                _ => Record::Tx { id: stamp.tx, leaf: a, record: b, prev_bucket: c },
            };
            prop_assert_eq!(Record::from_bytes(&record.to_bytes()).ok(), Some(record));
        }
    }
}
