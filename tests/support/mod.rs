//! A small hospital network used by the integration tests: deterministic keys, a manual clock, and a
//! ledger whose blocks exercise every transaction kind.
#![allow(dead_code)]

use healthchain::hash::commitment;
use healthchain::merkle::{MerkleTree, leaf_hash};
use healthchain::*;
use std::path::{Path, PathBuf};

pub const T0: u64 = 1_795_424_400_000;
pub const HOUR: u64 = 60 * 60 * 1000;
pub const DAY: u64 = 24 * HOUR;

/// Keys and ids of the cast.
pub struct Net {
    pub clock: ManualClock,
    pub ledger: Ledger<MemoryStore>,
    pub hospital: SigningKey,
    pub patient_key: SigningKey,
    pub patient: ActorId,
    pub doctor_key: SigningKey,
    pub doctor: ActorId,
    pub nurse_key: SigningKey,
    pub nurse: ActorId,
    pub insurer_key: SigningKey,
    pub insurer: ActorId,
    pub auditor_key: SigningKey,
    pub auditor: ActorId,
    pub guardian_key: SigningKey,
    pub guardian: ActorId,
}

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32])
}

pub fn codes(texts: &[&str]) -> CodeSet {
    CodeSet::parse(texts.iter().copied()).unwrap()
}

pub fn code(text: &str) -> Code {
    Code::new(text).unwrap()
}

/// A permit for `grantee` on `sections` for `purposes`, read only, from the ledger's now for `days` days.
pub fn permit(net: &Net, grantee: Grantee, sections: &[&str], purposes: &[&str], days: Option<u64>) -> ConsentGrant {
    let now = net.ledger.now();
    ConsentGrant {
        patient: net.patient,
        grantee,
        effect: Effect::Permit,
        sections: codes(sections),
        purposes: codes(purposes),
        actions: Actions::READ,
        window: Window { not_before: now, not_after: days.map(|d| now + d * DAY) },
        exceptions: Vec::new(),
    }
}

/// A read of `section` for `purpose` by `requester`, at the ledger's now.
pub fn request(net: &Net, requester: ActorId, section: &str, purpose: &str) -> CheckRequest {
    CheckRequest {
        patient: net.patient,
        requester,
        section: code(section),
        purpose: code(purpose),
        action: Action::Read,
        at: net.ledger.now(),
    }
}

pub fn break_glass() -> AccessBasis {
    AccessBasis::BreakGlass { reason: code("unconscious"), justification: commitment(&[9; 32], b"why") }
}

/// A ledger with the cast registered in block 1: genesis at `T0 - 2`, block 1 at `T0 - 1` (a transaction
/// lies strictly after the previous block), and the clock at `T0`, which is then the ledger's now.
pub fn network() -> Net {
    network_with(&LedgerSettings::new("test-net"))
}

/// [`network`] with these settings (a fixed nonce makes two networks' transactions the same bytes).
pub fn network_with(settings: &LedgerSettings) -> Net {
    let clock = ManualClock::new(T0 - 2);
    let hospital = key(1);
    let mut ledger = Ledger::create(MemoryStore::new(), Box::new(clock.clone()), settings, &[&hospital]).unwrap();
    let (patient_key, doctor_key, nurse_key, insurer_key, auditor_key, guardian_key) =
        (key(2), key(3), key(4), key(5), key(6), key(7));
    let patient = ledger.register(&hospital, &patient_key, Role::Patient).unwrap();
    let doctor = ledger.register(&hospital, &doctor_key, Role::Provider).unwrap();
    let nurse = ledger.register(&hospital, &nurse_key, Role::Provider).unwrap();
    let insurer = ledger.register(&hospital, &insurer_key, Role::Insurer).unwrap();
    let auditor = ledger.register(&hospital, &auditor_key, Role::Auditor).unwrap();
    let guardian = ledger.register(&hospital, &guardian_key, Role::Patient).unwrap();
    ledger.seal(&[&hospital]).unwrap();
    clock.set(T0);
    assert_eq!(ledger.now(), T0);
    Net {
        clock,
        ledger,
        hospital,
        patient_key,
        patient,
        doctor_key,
        doctor,
        nurse_key,
        nurse,
        insurer_key,
        insurer,
        auditor_key,
        auditor,
        guardian_key,
        guardian,
    }
}

/// A network whose blocks hold every transaction kind; returns it with its blocks' heights.
pub fn busy_network() -> Net {
    let mut net = network();
    let n = &mut net;
    n.clock.advance(HOUR);
    let grant = permit(n, Grantee::Actor(n.doctor), &["labs", "meds"], &["TREAT"], Some(30));
    let granted = n.ledger.grant_consent(&n.patient_key, grant).unwrap();
    let insurer = permit(n, Grantee::Role(Role::Insurer), &["billing"], &["HPAYMT"], None);
    n.ledger.grant_consent(&n.patient_key, insurer).unwrap();
    let mut deny = permit(n, Grantee::Actor(n.nurse), &["notes"], &["*"], None);
    deny.effect = Effect::Deny;
    n.ledger.grant_consent(&n.patient_key, deny).unwrap();
    let now = n.ledger.now();
    let delegation = DelegationGrant {
        patient: n.patient,
        delegate: n.guardian,
        scopes: Scopes::MANAGE_AND_READ,
        window: Window { not_before: now, not_after: None },
    };
    let delegation = n.ledger.grant_delegation(&n.patient_key, delegation).unwrap();
    n.ledger.seal(&[&n.hospital]).unwrap();

    n.clock.advance(HOUR);
    let req = request(n, n.doctor, "labs", "TREAT");
    n.ledger
        .record_access(&n.doctor_key, RecordAccess::for_request(&req, AccessBasis::Consents(vec![granted.consent])))
        .unwrap();
    let req = request(n, n.guardian, "notes", "TREAT");
    n.ledger
        .record_access(&n.guardian_key, RecordAccess::for_request(&req, AccessBasis::Delegate(delegation)))
        .unwrap();
    let anchor = AnchorRecord {
        patient: n.patient,
        section: code("labs"),
        purpose: code("TREAT"),
        commitment: commitment(&[3; 32], b"lab result v1"),
    };
    n.ledger.sign_and_submit(&n.hospital, Payload::AnchorRecord(anchor)).unwrap();
    n.ledger.seal(&[&n.hospital]).unwrap();

    n.clock.advance(HOUR);
    let req = request(n, n.nurse, "notes", "ETREAT");
    let emergency = n.ledger.record_access(&n.nurse_key, RecordAccess::for_request(&req, break_glass())).unwrap();
    n.ledger.revoke_consent(&n.guardian_key, granted.consent).unwrap();
    n.ledger.seal(&[&n.hospital]).unwrap();

    n.clock.advance(HOUR);
    n.ledger.review_break_glass(&n.auditor_key, emergency, true).unwrap();
    let new_doctor_key = key(33);
    n.ledger.rotate_key(&n.doctor_key, n.doctor, &new_doctor_key).unwrap();
    n.doctor_key = new_doctor_key;
    n.ledger.revoke_delegation(&n.patient_key, delegation).unwrap();
    n.ledger.seal(&[&n.hospital]).unwrap();

    n.clock.advance(HOUR);
    n.ledger.deactivate(&n.hospital, n.insurer).unwrap();
    n.ledger.sign_and_submit(&n.patient_key, Payload::EraseSubject { patient: n.guardian }).unwrap_err();
    n.ledger.sign_and_submit(&n.guardian_key, Payload::EraseSubject { patient: n.guardian }).unwrap();
    n.ledger.seal(&[&n.hospital]).unwrap();
    net
}

/// The blocks of a ledger as bytes.
pub fn blocks(net: &Net) -> Vec<Vec<u8>> {
    net.ledger.store().blocks().to_vec()
}

/// Verifies `blocks` from genesis.
pub fn verify(blocks: &[Vec<u8>]) -> VerifyReport {
    verify_blocks(blocks)
}

/// The actor id of `key`.
pub fn id_of(key: &SigningKey) -> ActorId {
    ActorId::from_key(&key.public_key())
}

/// The seals of `sealers` over `hash`, each under its key's actor id, in the canonical order.
pub fn seals(hash: &BlockHash, sealers: &[&SigningKey]) -> Vec<Seal> {
    let mut seals: Vec<Seal> = sealers.iter().map(|key| Seal::sign(id_of(key), key, hash)).collect();
    seals.sort_by_key(|seal| seal.authority);
    seals
}

/// A copy of `chain` whose block `height` has its transactions changed by `edit` and is re-sealed by
/// `sealers`, every later block relinked and re-sealed by them too (transaction counts, tree heads and links
/// recomputed): what dishonest authorities holding the sealing keys could do.
pub fn reseal_from(
    chain: &[Vec<u8>],
    height: usize,
    sealers: &[&SigningKey],
    edit: impl FnOnce(&mut Vec<SignedTx>),
) -> Vec<Vec<u8>> {
    let mut edit = Some(edit);
    reseal_each_from(chain, height, sealers, |h, txs| {
        if let Some(edit) = edit.take().filter(|_| h == height) {
            edit(txs);
        }
    })
}

/// [`reseal_from`] with `edit` called for every block from `height` on, with its height.
pub fn reseal_each_from(
    chain: &[Vec<u8>],
    height: usize,
    sealers: &[&SigningKey],
    mut edit: impl FnMut(usize, &mut Vec<SignedTx>),
) -> Vec<Vec<u8>> {
    let mut blocks: Vec<Block> = chain.iter().map(|bytes| Block::from_bytes(bytes).unwrap()).collect();
    let mut tree = MerkleTree::new();
    let mut prev_hash = BlockHash::default();
    for (h, block) in blocks.iter_mut().enumerate() {
        if h >= height {
            edit(h, &mut block.txs);
        }
        for tx in &block.txs {
            tree.push(leaf_hash(&tx.to_bytes()));
        }
        if h >= height {
            block.header = BlockHeader {
                prev_hash,
                tx_count: block.txs.len() as u32,
                tree_size: tree.size(),
                tree_root: tree.root(),
                ..block.header
            };
            block.seals = seals(&block.header.hash(), sealers);
        }
        prev_hash = block.header.hash();
    }
    chain[..height].iter().cloned().chain(blocks[height..].iter().map(Block::to_bytes)).collect()
}

/// Appends to `net`'s ledger one block per entry of `sizes`, an hour apart, each holding that many records
/// anchored by the hospital (one signature each, no other effect).
pub fn seal_anchors(net: &mut Net, sizes: &[usize]) {
    for (b, n) in sizes.iter().enumerate() {
        net.clock.advance(HOUR);
        for i in 0..*n {
            let anchor = AnchorRecord {
                patient: net.patient,
                section: code("labs"),
                purpose: code("TREAT"),
                commitment: commitment(&[b as u8; 32], &(i as u64).to_le_bytes()),
            };
            net.ledger.anchor_record(&net.hospital, anchor).unwrap();
        }
        net.ledger.seal(&[&net.hospital]).unwrap();
    }
}

/// Block 0 holding `txs` (the first being the genesis transaction) at `T0`, proposed by the first of
/// `sealers` and sealed by all of them.
pub fn genesis_block(txs: Vec<SignedTx>, sealers: &[&SigningKey]) -> Vec<u8> {
    let mut tree = MerkleTree::new();
    for tx in &txs {
        tree.push(leaf_hash(&tx.to_bytes()));
    }
    let header = BlockHeader {
        chain: txs[0].body.chain,
        height: 0,
        prev_hash: BlockHash::default(),
        timestamp: T0,
        tx_count: txs.len() as u32,
        tree_size: tree.size(),
        tree_root: tree.root(),
        proposer: id_of(sealers[0]),
    };
    let seals = seals(&header.hash(), sealers);
    Block { header, txs, seals }.to_bytes()
}

/// A new, empty directory for `name` in this test process (emptied if an earlier run left it).
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("healthchain-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `blocks` to a new ledger file at `path`, appended one by one by the file store.
pub fn write_ledger_file(path: &Path, blocks: &[Vec<u8>]) {
    let mut store = FileStore::create(path).unwrap();
    for (height, block) in blocks.iter().enumerate() {
        store.append(height as u64, block).unwrap();
    }
}

/// The frames of the ledger file at `path`: its bytes up to the end of the last frame, after checking that
/// only the zeros a writer reserves follow them.
#[allow(dead_code)]
pub fn frames_of(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    let end = FileStore::open(path, OpenOptions { read_only: true, strict: true }).unwrap().size() as usize;
    assert!(bytes[end..].iter().all(|b| *b == 0), "{}: not only zeros after the last frame", path.display());
    bytes.truncate(end);
    bytes
}
