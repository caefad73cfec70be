//! The history against a model (a list of what was recorded), in memory and in a file, and every byte of a
//! history file damaged in turn.

use super::*;
use crate::codes::{Action, Code};
use crate::hash::Hash256;
use crate::state::{Review, Stamp};
use crate::tx::{AnchorRecord, RecordAccess};
use proptest::prelude::*;

fn actor(n: u8) -> ActorId {
    ActorId(Hash256([n; 32]))
}

fn tx(n: u32) -> TxId {
    let mut bytes = [0xA5; 32];
    bytes[..4].copy_from_slice(&n.to_le_bytes());
    TxId(Hash256(bytes))
}

/// One step of a history's life.
#[derive(Clone, Debug)]
enum Step {
    /// An access by `accessor` to `patient`'s record; break-glass or by consent.
    Access { patient: u8, accessor: u8, break_glass: bool },
    /// The review of the `n`-th pending break-glass access (modulo their number).
    Review { n: usize, justified: bool },
    /// An anchor of `patient`'s record by `writer`.
    Anchor { patient: u8, writer: u8 },
    /// A transaction that records nothing.
    Other,
    /// Seals what was recorded since the last block.
    Seal,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..4, 4u8..8, any::<bool>())
            .prop_map(|(patient, accessor, break_glass)| Step::Access { patient, accessor, break_glass }),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(n, justified)| Step::Review { n, justified }),
        1 => (0u8..4, 4u8..8).prop_map(|(patient, writer)| Step::Anchor { patient, writer }),
        1 => Just(Step::Other),
        2 => Just(Step::Seal),
    ]
}

/// What a history must answer: every access (with its review), every anchor, every sealed position.
#[derive(Default)]
struct Model {
    accesses: Vec<Access>,
    anchors: Vec<Anchor>,
    /// Sealed transactions, in leaf order.
    positions: Vec<TxId>,
    /// Transactions since the last block.
    unsealed: Vec<TxId>,
}

/// Plays `steps` on `history` and the model.
fn play(history: &mut History, steps: &[Step]) -> Model {
    let mut model = Model::default();
    let code = Code::new("labs").unwrap();
    for (n, step) in (0u32..).zip(steps) {
        let id = tx(n);
        let stamp = Stamp { height: model.positions.len() as u64, time: u64::from(n), tx: id };
        match *step {
            Step::Access { patient, accessor, break_glass } => {
                let basis = if break_glass {
                    AccessBasis::BreakGlass {
                        reason: Code::new("ETREAT").unwrap(),
                        justification: Hash256([n as u8; 32]),
                    }
                } else {
                    AccessBasis::Owner
                };
                let access = Access {
                    id,
                    accessor: actor(accessor),
                    access: RecordAccess {
                        patient: actor(patient),
                        section: code,
                        purpose: code,
                        action: Action::Read,
                        at: u64::from(n),
                        basis,
                    },
                    recorded: stamp,
                    review: None,
                };
                history.record(Recorded::Access(access.clone()));
                model.accesses.push(access);
            }
            Step::Review { n: pick, justified } => {
                let pending: Vec<usize> = (0..model.accesses.len())
                    .filter(|i| {
                        let a = &model.accesses[*i];
                        matches!(a.access.basis, AccessBasis::BreakGlass { .. }) && a.review.is_none()
                    })
                    .collect();
                let Some(&at) = pending.get(pick % pending.len().max(1)) else { continue };
                let review = Review { reviewer: actor(9), justified, reviewed: stamp };
                history.record(Recorded::Review { access: model.accesses[at].clone(), review });
                model.accesses[at].review = Some(review);
            }
            Step::Anchor { patient, writer } => {
                let anchor = Anchor {
                    writer: actor(writer),
                    anchor: AnchorRecord {
                        patient: actor(patient),
                        section: code,
                        purpose: code,
                        commitment: Hash256([7; 32]),
                    },
                    anchored: stamp,
                };
                history.record(Recorded::Anchor(anchor.clone()));
                model.anchors.push(anchor);
            }
            Step::Other => {}
            Step::Seal => {
                model.positions.append(&mut model.unsealed.clone());
                history.record_block(std::mem::take(&mut model.unsealed));
                continue;
            }
        }
        model.unsealed.push(id);
    }
    model
}

/// Every answer the history gives, as the model would give it.
fn answers(model: &Model) -> Vec<String> {
    let mut out = Vec::new();
    for n in 0..8 {
        let who = actor(n);
        let by_patient: Vec<&Access> = model.accesses.iter().filter(|a| a.access.patient == who).collect();
        let by_accessor: Vec<&Access> = model.accesses.iter().filter(|a| a.accessor == who).collect();
        let anchors: Vec<&Anchor> = model.anchors.iter().filter(|a| a.anchor.patient == who).collect();
        out.push(format!("{by_patient:?}"));
        out.push(format!("{by_accessor:?}"));
        out.push(format!("{anchors:?}"));
    }
    for a in &model.accesses {
        out.push(format!("{:?}", Some(a)));
    }
    for a in &model.anchors {
        out.push(format!("{:?}", Some(a)));
    }
    out
}

/// The same questions to the history.
fn asked(history: &History, model: &Model) -> Vec<Result<String, HistoryError>> {
    let mut out = Vec::new();
    for n in 0..8 {
        let who = actor(n);
        out.push(history.patient_accesses(&who).map(|v| format!("{:?}", v.iter().collect::<Vec<_>>())));
        out.push(history.accessor_accesses(&who).map(|v| format!("{:?}", v.iter().collect::<Vec<_>>())));
        out.push(history.anchors(&who).map(|v| format!("{:?}", v.iter().collect::<Vec<_>>())));
    }
    for a in &model.accesses {
        out.push(history.access(&a.id).map(|found| format!("{:?}", found.as_ref())));
    }
    for a in &model.anchors {
        out.push(history.anchor(&a.anchored.tx).map(|found| format!("{:?}", found.as_ref())));
    }
    out
}

fn check_against(history: &History, model: &Model) -> Result<(), TestCaseError> {
    let expected = answers(model);
    let got: Vec<String> = asked(history, model).into_iter().map(|r| r.unwrap()).collect();
    prop_assert_eq!(got, expected);
    for (leaf, id) in (0u64..).zip(&model.positions) {
        prop_assert_eq!(history.position(id).unwrap(), Some(leaf));
    }
    prop_assert_eq!(history.position(&tx(u32::MAX)).unwrap(), None);
    for id in &model.unsealed {
        prop_assert_eq!(history.position(id).unwrap(), None);
    }
    prop_assert_eq!(history.access(&tx(u32::MAX)).unwrap(), None);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// In memory, in a file and copied, the history answers every question as the model does.
    #[test]
    fn history_answers_as_the_model(steps in proptest::collection::vec(step(), 0..120)) {
        let mut memory = History::in_memory();
        let mut file = History::temporary().unwrap();
        let model = play(&mut memory, &steps);
        play(&mut file, &steps);
        check_against(&memory, &model)?;
        check_against(&file, &model)?;
        check_against(&file.duplicate().unwrap(), &model)?;
        check_against(&memory.duplicate().unwrap(), &model)?;
    }
}

/// Any one byte of a history file changed: every answer is either the right one or an error, never a wrong
/// answer, a panic or an endless walk.
#[test]
fn every_damaged_byte_is_refused_or_harmless() {
    let steps: Vec<Step> = (0..12u8)
        .flat_map(|n| {
            let mut v =
                vec![Step::Access { patient: n % 3, accessor: 4 + n % 2, break_glass: n % 3 == 0 }, Step::Other];
            if n % 3 == 2 {
                v.push(Step::Review { n: 0, justified: n % 2 == 0 });
                v.push(Step::Anchor { patient: n % 3, writer: 5 });
            }
            if n % 4 == 3 {
                v.push(Step::Seal);
            }
            v
        })
        .chain([Step::Seal])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.history");
    let mut history = History::in_file(&path).unwrap();
    let model = play(&mut history, &steps);
    let expected = answers(&model);
    let pristine = std::fs::read(&path).unwrap();
    assert_eq!(pristine.len() as u64, history.len(), "everything was written at the last block");
    let mut refused = 0;
    for offset in 0..pristine.len() {
        let mut damaged = pristine.clone();
        damaged[offset] ^= 0x41;
        std::fs::write(&path, &damaged).unwrap();
        for (got, want) in asked(&history, &model).into_iter().zip(&expected) {
            match got {
                Ok(got) => assert_eq!(&got, want, "wrong answer with byte {offset} damaged"),
                Err(HistoryError::Damaged { .. }) => refused += 1,
                Err(e) => panic!("unexpected error with byte {offset} damaged: {e}"),
            }
        }
    }
    assert!(refused > pristine.len(), "damage was noticed ({refused} refusals)");
    std::fs::write(&path, &pristine).unwrap();
    let restored: Vec<String> = asked(&history, &model).into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(restored, expected);
}
