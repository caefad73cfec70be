//! `Ledger::submit_batch` accepts and refuses exactly what `Ledger::submit` does one transaction after the
//! other: a property test over random batches of grants, forged signatures, key rotations followed by
//! transactions signed with the old or the new key, registrations followed by the new actor's
//! transactions, registrations and rotations with forged proofs of possession, unknown signers and stale
//! sequence numbers, large enough to be checked on every core.

mod support;

use healthchain::*;
use proptest::prelude::*;
use support::*;

#[derive(Clone, Debug)]
enum Op {
    /// The patient grants the doctor one section.
    Grant(u8),
    /// The same, with a flipped signature bit.
    Forged(u8),
    /// The hospital rotates the doctor's key; later doctor transactions use the new one.
    RotateDoctor,
    /// The doctor records a read of labs, signed with its current key (or its first one).
    DoctorReads { old_key: bool },
    /// The hospital registers a new patient, who then grants the doctor a section.
    NewPatient,
    /// The hospital registers a new patient, or rotates the doctor's key, with a forged proof of
    /// possession (the transaction's own signature is valid).
    ForgedProof { rotate: bool },
    /// A transaction by a key nobody registered.
    Stranger,
    /// A grant whose sequence number repeats the previous one.
    Replay,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..6u8).prop_map(Op::Grant),
        2 => (0..6u8).prop_map(Op::Forged),
        1 => Just(Op::RotateDoctor),
        3 => any::<bool>().prop_map(|old_key| Op::DoctorReads { old_key }),
        1 => Just(Op::NewPatient),
        1 => any::<bool>().prop_map(|rotate| Op::ForgedProof { rotate }),
        1 => Just(Op::Stranger),
        1 => Just(Op::Replay),
    ]
}

const SECTIONS: [&str; 6] = ["labs", "notes", "imaging", "vitals", "allergies", "billing"];

/// Signs the transactions of `ops` as their signers would, each submitted to `ledger` at once (so that
/// sequence numbers follow what it accepted); returns them with its answers.
fn submitted_one_by_one(
    net: &Net,
    ops: &[Op],
    ledger: &mut Ledger<MemoryStore>,
) -> (Vec<SignedTx>, Vec<Result<TxId, String>>) {
    let chain = ledger.chain();
    let hospital = ledger.actor_of_key(&net.hospital.public_key()).unwrap_or_else(|| unreachable!());
    let grant = |patient, section: &str| {
        Payload::GrantConsent(permit(net, Grantee::Actor(net.doctor), &[section], &["TREAT"], None))
            .with_patient(patient)
    };
    let mut rotated: Option<SigningKey> = None;
    let mut new_patients = 0u8;
    let mut rotations = 0u8;
    let (mut txs, mut outcomes) = (Vec::new(), Vec::new());
    let mut submit = |ledger: &mut Ledger<MemoryStore>, tx: SignedTx| {
        outcomes.push(outcome(ledger.submit(tx.clone())));
        txs.push(tx);
    };
    for op in ops {
        let body = |ledger: &Ledger<MemoryStore>, signer: ActorId, payload| TxBody {
            chain,
            signer,
            seq: ledger.state().last_sequence(&signer) + 1,
            time: ledger.now(),
            payload,
        };
        match op {
            Op::Grant(s) => {
                let tx = body(ledger, net.patient, grant(net.patient, SECTIONS[*s as usize])).sign(&net.patient_key);
                submit(ledger, tx);
            }
            Op::Forged(s) => {
                let mut tx =
                    body(ledger, net.patient, grant(net.patient, SECTIONS[*s as usize])).sign(&net.patient_key);
                tx.signature.0[7] ^= 0x10;
                submit(ledger, tx);
            }
            Op::RotateDoctor => {
                rotations = rotations.wrapping_add(1);
                let new_key = key(100u8.wrapping_add(rotations));
                let proof = new_key.prove_possession(&chain);
                let payload = Payload::RotateKey(RotateKey { actor: net.doctor, new_key: new_key.public_key(), proof });
                let tx = body(ledger, hospital, payload).sign(&net.hospital);
                submit(ledger, tx);
                rotated = Some(new_key);
            }
            Op::DoctorReads { old_key } => {
                let request = request(net, net.doctor, "labs", "TREAT");
                let basis = ledger.check(&request).ok().and_then(|d| d.access_basis()).unwrap_or(AccessBasis::Owner);
                let access = RecordAccess::for_request(&request, basis);
                let signer = if *old_key { &net.doctor_key } else { rotated.as_ref().unwrap_or(&net.doctor_key) };
                let tx = body(ledger, net.doctor, Payload::RecordAccess(access)).sign(signer);
                submit(ledger, tx);
            }
            Op::NewPatient => {
                new_patients = new_patients.wrapping_add(1);
                let patient_key = key(200u8.wrapping_add(new_patients));
                let proof = patient_key.prove_possession(&chain);
                let payload =
                    Payload::RegisterActor(RegisterActor { key: patient_key.public_key(), role: Role::Patient, proof });
                let tx = body(ledger, hospital, payload).sign(&net.hospital);
                submit(ledger, tx);
                let patient = ActorId::from_key(&patient_key.public_key());
                let tx = body(ledger, patient, grant(patient, "labs")).sign(&patient_key);
                submit(ledger, tx);
            }
            Op::ForgedProof { rotate } => {
                let new_key = key(150u8.wrapping_add(new_patients));
                let mut proof = new_key.prove_possession(&chain);
                proof.0[5] ^= 0x04;
                let payload = if *rotate {
                    Payload::RotateKey(RotateKey { actor: net.doctor, new_key: new_key.public_key(), proof })
                } else {
                    Payload::RegisterActor(RegisterActor { key: new_key.public_key(), role: Role::Patient, proof })
                };
                let tx = body(ledger, hospital, payload).sign(&net.hospital);
                submit(ledger, tx);
            }
            Op::Stranger => {
                let stranger = key(250);
                let who = ActorId::from_key(&stranger.public_key());
                let tx = body(ledger, who, grant(net.patient, "labs")).sign(&stranger);
                submit(ledger, tx);
            }
            Op::Replay => {
                let mut tx = body(ledger, net.patient, grant(net.patient, "notes")).sign(&net.patient_key);
                tx.body.seq = tx.body.seq.saturating_sub(1).max(1);
                let tx = tx.body.sign(&net.patient_key);
                submit(ledger, tx);
            }
        }
    }
    (txs, outcomes)
}

/// A result, comparable across ledgers.
fn outcome(result: Result<TxId, LedgerError>) -> Result<TxId, String> {
    result.map_err(|e| format!("{e:?}"))
}

trait WithPatient {
    fn with_patient(self, patient: ActorId) -> Self;
}

impl WithPatient for Payload {
    fn with_patient(self, patient: ActorId) -> Self {
        match self {
            Payload::GrantConsent(mut grant) => {
                grant.patient = patient;
                Payload::GrantConsent(grant)
            }
            other => other,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_batch_is_judged_as_one_by_one_submission(ops in proptest::collection::vec(op(), 1..40), copies in 1..24usize) {
        let net = network();
        // Repeat the ops so that some batches pass the threshold of parallel checking.
        let ops: Vec<Op> = ops.iter().cycle().take(ops.len() * copies).cloned().collect();
        let clock = net.clock.clone();
        let mut one_by_one =
            net.ledger.fork_onto(MemoryStore::from_blocks(blocks(&net)), Box::new(clock.clone())).unwrap();
        let mut batched = net.ledger.fork_onto(MemoryStore::from_blocks(blocks(&net)), Box::new(clock)).unwrap();
        let (txs, expected) = submitted_one_by_one(&net, &ops, &mut one_by_one);
        let found: Vec<_> = batched.submit_batch(txs).into_iter().map(outcome).collect();
        prop_assert_eq!(&found, &expected);
        let accepted = expected.iter().filter(|r| r.is_ok()).count();
        let grants = ops.iter().filter(|op| matches!(op, Op::Grant(_) | Op::RotateDoctor | Op::NewPatient)).count();
        prop_assert!(grants == 0 || accepted > 0, "nothing accepted: {:?}", expected);
        prop_assert_eq!(batched.pending(), one_by_one.pending());
        if !batched.pending().is_empty() {
            batched.seal(&[&net.hospital]).unwrap();
            one_by_one.seal(&[&net.hospital]).unwrap();
        }
        prop_assert_eq!(batched.store().blocks(), one_by_one.store().blocks());
        prop_assert!(batched.verify().is_valid());
    }
}
