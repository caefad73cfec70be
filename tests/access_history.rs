//! The access history kept on disk beside a ledger file: the same answers as the ledger on a memory store,
//! after a reopen, from a read-only reader, and when the history file is missing, damaged or from another
//! ledger (it is rebuilt from the blocks, never trusted over them); damage while a ledger is open is an error,
//! never a wrong answer.

mod support;

use healthchain::*;
use support::*;

/// Everything the history answers about the busy network's actors, and every transaction's position.
fn answers<S: Store>(ledger: &Ledger<S>, net: &Net) -> Vec<String> {
    let mut out = Vec::new();
    for who in [net.patient, net.doctor, net.nurse, net.guardian, net.auditor, net.hospital_id()] {
        out.push(format!("{:?}", ledger.access_history(&who).unwrap()));
        out.push(format!("{:?}", ledger.accesses_by(&who).unwrap()));
        out.push(format!("{:?}", ledger.anchors_of(&who).unwrap()));
    }
    for access in ledger.access_history(&net.patient).unwrap() {
        out.push(format!("{:?}", ledger.access(&access.id).unwrap()));
    }
    for anchor in ledger.anchors_of(&net.patient).unwrap() {
        out.push(format!("{:?}", ledger.anchor(&anchor.anchored.tx).unwrap()));
    }
    out.push(format!("{:?}", ledger.pending_reviews()));
    for height in 0..ledger.block_count() {
        let block = Block::from_bytes(&ledger.store().read(height).unwrap()).unwrap();
        for tx in &block.txs {
            out.push(format!("{:?}", ledger.position_of(&tx.id()).unwrap()));
        }
    }
    out
}

trait HospitalId {
    fn hospital_id(&self) -> ActorId;
}

impl HospitalId for Net {
    fn hospital_id(&self) -> ActorId {
        ActorId::from_key(&self.hospital.public_key())
    }
}

fn open(path: &std::path::Path, read_only: bool) -> Ledger<FileStore> {
    let options = OpenOptions { read_only, ..OpenOptions::default() };
    Ledger::open_file(path, Box::new(ManualClock::new(T0 + DAY)), options).unwrap()
}

#[test]
fn a_file_ledger_answers_as_a_memory_ledger_however_its_history_was_left() {
    let net = busy_network();
    let expected = answers(&net.ledger, &net);
    assert!(expected.iter().any(|a| a.contains("BreakGlass")), "the network has a reviewed break-glass access");
    let dir = temp_dir("access-history");
    let path = dir.join("h.ledger");
    write_ledger_file(&path, &blocks(&net));
    let history = history_path(&path);

    let writer = open(&path, false);
    assert_eq!(answers(&writer, &net), expected, "built while opening");
    let written = std::fs::read(&history).unwrap();
    assert!(written.starts_with(&HISTORY_MAGIC));
    assert_eq!(answers(&open(&path, true), &net), expected, "a reader builds its own beside the writer");
    drop(writer);

    assert_eq!(answers(&open(&path, false), &net), expected, "rebuilt on reopen");
    assert_eq!(std::fs::read(&history).unwrap().len(), written.len());
    std::fs::remove_file(&history).unwrap();
    assert_eq!(answers(&open(&path, false), &net), expected, "missing");
    for offset in (0..written.len()).step_by(7) {
        let mut damaged = written.clone();
        damaged[offset] ^= 0x20;
        std::fs::write(&history, &damaged).unwrap();
        assert_eq!(answers(&open(&path, false), &net), expected, "byte {offset} damaged before the open");
    }
    std::fs::write(&history, b"not a history").unwrap();
    assert_eq!(answers(&open(&path, false), &net), expected, "not a history");
}

/// Regression: the generic `Ledger::open` (which the command-line tool uses on a file store) kept the history
/// in memory, so that memory grew with accesses again.
#[test]
fn a_ledger_opened_on_a_store_that_is_not_in_memory_keeps_its_history_on_disk() {
    let net = busy_network();
    assert!(!net.ledger.history().on_disk(), "a ledger on a memory store keeps it in memory");
    let dir = temp_dir("access-history-generic");
    let path = dir.join("h.ledger");
    write_ledger_file(&path, &blocks(&net));
    let clock = || Box::new(ManualClock::new(T0 + DAY));
    let store = || FileStore::open(&path, OpenOptions { read_only: true, ..OpenOptions::default() }).unwrap();
    for ledger in [Ledger::open(store(), clock()).unwrap(), Ledger::open_verified(store(), clock()).unwrap()] {
        assert!(ledger.history().on_disk());
        assert_eq!(answers(&ledger, &net), answers(&net.ledger, &net));
    }
    assert!(open(&path, true).history().on_disk());
}

#[test]
fn damage_under_an_open_ledger_is_an_error_never_a_wrong_answer() {
    let net = busy_network();
    let expected = answers(&net.ledger, &net);
    let dir = temp_dir("access-history-damage");
    let path = dir.join("h.ledger");
    write_ledger_file(&path, &blocks(&net));
    let ledger = open(&path, false);
    let history = history_path(&path);
    let written = std::fs::read(&history).unwrap();
    let mut errors = 0;
    for offset in 0..written.len() {
        let mut damaged = written.clone();
        damaged[offset] ^= 0x01;
        std::fs::write(&history, &damaged).unwrap();
        let who = [net.patient, net.doctor, net.nurse, net.guardian];
        for (at, patient) in who.iter().enumerate() {
            match ledger.access_history(patient) {
                Ok(found) => assert_eq!(format!("{found:?}"), expected[at * 3], "byte {offset}"),
                Err(LedgerError::History(HistoryError::Damaged { .. })) => errors += 1,
                Err(e) => panic!("byte {offset}: {e}"),
            }
        }
    }
    assert!(errors > 0);
    std::fs::write(&history, &written).unwrap();
    assert_eq!(answers(&ledger, &net), expected);
}

#[test]
fn reviews_are_refused_with_their_precise_reason_sealed_or_not() {
    let mut net = network();
    let req = request(&net, net.nurse, "meds", "ETREAT");
    let emergency = net.ledger.record_access(&net.nurse_key, RecordAccess::for_request(&req, break_glass())).unwrap();
    let own = request(&net, net.patient, "meds", "TREAT");
    let own = net.ledger.record_access(&net.patient_key, RecordAccess::for_request(&own, AccessBasis::Owner)).unwrap();
    net.ledger.review_break_glass(&net.auditor_key, emergency, true).unwrap();
    let refusal = |net: &mut Net, id| match net.ledger.review_break_glass(&net.auditor_key, id, true) {
        Err(LedgerError::Tx(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    };
    for sealed in [false, true] {
        assert_eq!(refusal(&mut net, emergency), TxError::AlreadyReviewed, "sealed: {sealed}");
        assert_eq!(refusal(&mut net, own), TxError::NotBreakGlass, "sealed: {sealed}");
        assert_eq!(refusal(&mut net, TxId::default()), TxError::UnknownAccess, "sealed: {sealed}");
        if !sealed {
            net.ledger.seal(&[&net.hospital]).unwrap();
        }
    }
    assert_eq!(net.ledger.access(&emergency).unwrap().and_then(|a| a.review).map(|r| r.justified), Some(true));
    assert_eq!(net.ledger.accesses_by(&net.nurse).unwrap().len(), 1);
    assert!(net.ledger.pending_reviews().is_empty());
}
