//! No leakage: every error, `Debug` and `Display` built from data containing sentinel values (a patient's
//! id, a secret seed, a salt, a commitment preimage) never shows them; the same through
//! `hc_last_error_message`.
//!
//! What this proves, for the sentinels below and the library as it is built:
//!
//! - **Sentinels and their forms.** The patient's key is made from a secret seed with a recognisable byte
//!   pattern, so the patient's actor id (and public key) are known. A salt with another pattern and an
//!   off-ledger text (`PREIMAGE`) go through `hash::commitment`. Each byte string is searched for as hex
//!   (either case, with or without spaces), as `{:?}`, `{:#?}`, `{:x?}` and `{:02X?}` of a byte array,
//!   whole and as every 8-byte window (so a slice or a truncated print is caught too); the patient id also
//!   as its 12-hex-digit short id; the preimage also as text (either case), as the same words with spaces
//!   instead of dashes, and as every 12-character window. `the_sentinel_search_finds_every_form` shows
//!   that each form is found where it is present, and that the audit finds a sentinel in a `Display`, in
//!   a `Debug`, in an alternate `Debug` and anywhere down a `source()` chain: no assertion is vacuous.
//! - **Errors.** Every error value below is produced by the library from data about the sentinel patient
//!   or containing the sentinels, and its `Display`, `Debug`, `{:#?}` and every `source()` in its chain
//!   show none of the forms, patient id included: every `TxError` variant (from the ledger API and from
//!   replaying blocks), every `CheckError`, every `LedgerError` (`Key` and `BlockFull` constructed, as a
//!   test cannot make the OS random source fail or fill a block with 65 536 transactions quickly), the
//!   `StoreError`s of real files (missing, locked, existing, not a ledger, of an unknown version while the
//!   header is laid out as docs/FORMAT.md says, damaged, torn, read-only, empty) and of stores and files
//!   failing on demand (`Io`, `Poisoned`, `Missing`, `OutOfOrder`, `BlockTooLarge`, `InvalidBlock`), every
//!   `DecodeErrorKind` from malformed bytes holding the sentinels, `KeyError`, `CodeError`, every
//!   `BlockError` and the `VerifyFailure` and `VerifyReport` (Debug and JSON) of ledgers tampered with
//!   around the patient. Each test asserts by name that the variants it claims were produced (variants
//!   added later are not known to it); where rules are being changed elsewhere (a delegate widening its
//!   own access, erasure versus a later access, an interrupted creation) any refusal is accepted and
//!   audited.
//! - **Secrets anywhere.** `Debug` of the patient's `SigningKey` shows no seed; `Debug` of `Ledger`
//!   shows no sentinel at all; `Debug` of the data types that exist to hold the patient's id
//!   (`CheckRequest`, `ConsentGrant`, `SignedTx`, `Block`, `State`, `MemoryStore`, ...) is checked for the
//!   secrets only (seed, salt, preimage), not for the patient id they legitimately hold.
//!   The `Zeroizing<[u8; 32]>` that `SigningKey::to_seed` and `keys::random_salt` return is the secret
//!   itself; its `Debug` (zeroize's) hides the bytes, and is checked (the array inside it, dereferenced,
//!   is of course the secret: the self-check shows the search finds it there).
//! - **C ABI.** Failing `hc_*` calls driven with the same data (a key from the sentinel seed, grants,
//!   checks, accesses, anchors and reviews about the sentinel patient, ids made of sentinel bytes, codes
//!   and names containing the preimage, the external-signer path, block proposals, files damaged,
//!   tampered, locked or foreign) each return the expected status (any failure, for the few whose rules
//!   are in flux) and leave a non-empty `hc_last_error_message` that shows no sentinel form;
//!   `hc_verify_report.failure_reason` likewise.
//!
//! Not covered: the command-line tool's output, and panics with data-dependent payloads (none is known).

#[path = "../../tests/support/mod.rs"]
mod support;

#[allow(dead_code)]
#[path = "../../fuzz/harness/mem_file.rs"]
mod mem_file;

use healthchain::block::{Block, BlockHeader, Seal};
use healthchain::hash::{Hash256, commitment, to_hex};
use healthchain::replay::Replayer;
use healthchain::tx::{Genesis, GenesisParams};
use healthchain::*;
use healthchain_capi as c;
use mem_file::MemFile;
use std::collections::BTreeSet;
use std::error::Error;
use std::ffi::{CStr, CString, c_char};
use std::fmt::Debug;
use std::path::Path;
use std::ptr::null_mut;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use support::{DAY, HOUR, T0, code, codes, genesis_block, id_of, key, reseal_from, seals, temp_dir, write_ledger_file};

// ---- the sentinels ----

/// The patient's secret seed: a recognisable pattern (`[171, 171, 98, 171, 171, 101, ...]`).
const SECRET_SEED: [u8; 32] = pattern(0xAB, 0x60);
/// A commitment salt: another pattern (`[90, 90, 146, 90, 90, 149, ...]`).
const SALT: [u8; 32] = pattern(0x5A, 0x90);
/// Off-ledger data committed to with the salt (a diagnosis).
const PREIMAGE: &str = "SENTINEL-DIAGNOSIS-7731";
/// The preimage's words as text that is not a valid code (spaces), for where codes or names are parsed.
const PREIMAGE_AS_BAD_CODE: &str = "SENTINEL DIAGNOSIS 7731";
/// Bytes of a sentinel searched for as a window anywhere in a text.
const WINDOW: usize = 8;

const fn pattern(fill: u8, step: u8) -> [u8; 32] {
    let mut out = [fill; 32];
    let mut i = 2;
    while i < 32 {
        out[i] = step.wrapping_add(i as u8);
        i += 3;
    }
    out
}

fn patient_key() -> SigningKey {
    SigningKey::from_seed(&SECRET_SEED)
}

fn patient_id() -> ActorId {
    ActorId::from_key(&patient_key().public_key())
}

fn the_commitment() -> Hash256 {
    commitment(&SALT, PREIMAGE.as_bytes())
}

/// The parameters of a network the patient would found alone, with the salt as its nonce.
fn founded_by_the_patient() -> GenesisParams {
    GenesisParams {
        name: "no-leakage".into(),
        nonce: SALT,
        authorities: vec![patient_key().public_key()],
        seal_threshold: 1,
        policy: Policy::default(),
    }
}

/// Lower case, no white space: how texts and forms are compared.
fn normalise(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

fn joined(bytes: &[u8], form: impl Fn(u8) -> String) -> String {
    bytes.iter().map(|b| form(*b)).collect::<Vec<_>>().join(",")
}

/// Hex, decimal list (`{:?}`) and hex lists (`{:x?}`, `{:02x?}`) of `bytes` and of each of its windows.
fn byte_forms(bytes: &[u8]) -> Vec<String> {
    let mut forms = Vec::new();
    for part in std::iter::once(bytes).chain(bytes.windows(WINDOW)) {
        forms.push(to_hex(part));
        forms.push(joined(part, |b| b.to_string()));
        forms.push(joined(part, |b| format!("{b:x}")));
        forms.push(joined(part, |b| format!("{b:02x}")));
    }
    forms.sort();
    forms.dedup();
    forms
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Never shown anywhere.
    Secret,
    /// Never shown by an error (data types holding the patient's id may show it).
    Patient,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// Every sentinel: errors, error messages, and types that hold no patient id.
    All,
    /// Secrets only: data types whose purpose is to hold the patient's id.
    Secrets,
}

struct Sentinel {
    name: &'static str,
    kind: Kind,
    forms: Vec<String>,
}

struct Sentinels(Vec<Sentinel>);

impl Sentinels {
    fn new() -> Self {
        let key = patient_key().public_key().to_bytes();
        let id = *patient_id().as_bytes();
        let mut preimage = byte_forms(PREIMAGE.as_bytes());
        preimage.extend([PREIMAGE, PREIMAGE_AS_BAD_CODE, "sentinel", "diagnosis"].map(normalise));
        preimage.extend(PREIMAGE.as_bytes().windows(12).map(|w| normalise(&String::from_utf8_lossy(w))));
        let mut patient = byte_forms(&id);
        patient.push(to_hex(&id[..6]));
        let mut public_key = byte_forms(&key);
        public_key.push(to_hex(&key[..6]));
        Sentinels(vec![
            Sentinel { name: "secret seed", kind: Kind::Secret, forms: byte_forms(&SECRET_SEED) },
            Sentinel { name: "salt", kind: Kind::Secret, forms: byte_forms(&SALT) },
            Sentinel { name: "commitment preimage", kind: Kind::Secret, forms: preimage },
            Sentinel { name: "patient id", kind: Kind::Patient, forms: patient },
            Sentinel { name: "patient public key", kind: Kind::Patient, forms: public_key },
        ])
        .sorted()
    }

    /// Longest forms first, so that a leak is reported in its fullest form.
    fn sorted(mut self) -> Self {
        for sentinel in &mut self.0 {
            sentinel.forms.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
            sentinel.forms.dedup();
        }
        self
    }

    /// The first sentinel (and which form of it) that `text` shows.
    fn find(&self, text: &str, scope: Scope) -> Option<(&'static str, String)> {
        let text = normalise(text);
        self.0
            .iter()
            .filter(|s| scope == Scope::All || s.kind == Kind::Secret)
            .find_map(|s| s.forms.iter().find(|form| text.contains(form.as_str())).map(|form| (s.name, form.clone())))
    }
}

// ---- the audit ----

/// The variant name at the start of a `Debug` text.
fn variant(debug: &str) -> String {
    debug.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or_default().to_owned()
}

/// Checks texts for sentinels, collects every leak, and records which error variants were seen.
struct Audit {
    sentinels: Sentinels,
    texts: usize,
    leaks: Vec<String>,
    seen: BTreeSet<String>,
}

impl Audit {
    fn new() -> Self {
        Self { sentinels: Sentinels::new(), texts: 0, leaks: Vec::new(), seen: BTreeSet::new() }
    }

    fn text(&mut self, what: &str, text: &str, scope: Scope) {
        self.texts += 1;
        if let Some((name, form)) = self.sentinels.find(text, scope) {
            self.leaks.push(format!("LEAK of the {name} (as {form:?}) in {what}:\n    {text}"));
        }
    }

    /// `Display`, `Debug`, alternate `Debug` of `error` and of everything down its `source()` chain.
    fn error(&mut self, what: &str, error: &(dyn Error + 'static)) {
        let mut current = Some(error);
        let mut depth = 0;
        while let Some(error) = current {
            let at = if depth == 0 { what.to_owned() } else { format!("{what}, source() #{depth}") };
            self.text(&format!("{at} [Display]"), &error.to_string(), Scope::All);
            self.text(&format!("{at} [Debug]"), &format!("{error:?}"), Scope::All);
            self.text(&format!("{at} [Debug {{:#?}}]"), &format!("{error:#?}"), Scope::All);
            current = error.source();
            depth += 1;
        }
    }

    /// Audits `error` and records `ty::Variant`.
    fn named(&mut self, ty: &str, what: &str, error: &(dyn Error + 'static)) -> String {
        self.error(&format!("{what} ({ty})"), error);
        let name = format!("{ty}::{}", variant(&format!("{error:?}")));
        self.seen.insert(name.clone());
        name
    }

    fn decode_error(&mut self, what: &str, error: &DecodeError) -> String {
        self.error(&format!("{what} (DecodeError)"), error);
        let name = format!("DecodeErrorKind::{}", variant(&format!("{:?}", error.kind)));
        self.seen.insert(name.clone());
        name
    }

    fn decision(&mut self, what: &str, decision: &Decision) {
        self.text(&format!("{what}: the decision [Display]"), &decision.to_string(), Scope::All);
        self.text(&format!("{what}: the decision [Debug]"), &format!("{decision:#?}"), Scope::All);
    }

    fn tx_error(&mut self, what: &str, error: &TxError) -> String {
        let name = self.named("TxError", what, error);
        match error {
            TxError::Malformed(inner) => {
                self.decode_error(what, inner);
            }
            TxError::AccessDenied(decision) | TxError::BasisMismatch(decision) => self.decision(what, decision),
            _ => {}
        }
        name
    }

    fn store_error(&mut self, what: &str, error: &StoreError) -> String {
        let name = self.named("StoreError", what, error);
        if let StoreError::Io(io) = error {
            self.seen.insert(format!("io::ErrorKind::{:?}", io.kind()));
        }
        name
    }

    /// Audits a block failure; the name is `TxError::…` for a transaction at fault, else `BlockError::…`.
    fn block_error(&mut self, what: &str, error: &BlockError) -> String {
        let name = self.named("BlockError", what, error);
        match error {
            BlockError::Tx(inner) => self.tx_error(what, inner),
            BlockError::Malformed(inner) => {
                self.decode_error(what, inner);
                name
            }
            _ => name,
        }
    }

    fn verify_failure(&mut self, what: &str, failure: &VerifyFailure) -> String {
        self.error(&format!("{what} (VerifyFailure)"), failure);
        self.block_error(what, &failure.reason)
    }

    /// Audits a ledger error and everything it wraps; returns the innermost name (`TxError::X`,
    /// `CheckError::X`, `StoreError::X`, `KeyError::X`, or `LedgerError::X`).
    fn ledger_error(&mut self, what: &str, error: &LedgerError) -> String {
        let outer = self.named("LedgerError", what, error);
        match error {
            LedgerError::Tx(inner) => self.tx_error(what, inner),
            LedgerError::Check(inner) => self.named("CheckError", what, inner),
            LedgerError::Store(inner) => self.store_error(what, inner),
            LedgerError::Key(inner) => self.named("KeyError", what, inner),
            LedgerError::Corrupt { failure, .. } => {
                self.verify_failure(what, failure);
                outer
            }
            _ => outer,
        }
    }

    /// `result` must be refused with the (innermost) error `expected`.
    #[track_caller]
    fn refused<T: Debug>(&mut self, what: &str, result: Result<T, LedgerError>, expected: &str) {
        match result {
            Ok(value) => panic!("{what}: expected {expected}, but it succeeded: {value:?}"),
            Err(error) => {
                let name = self.ledger_error(what, &error);
                assert_eq!(name, expected, "{what}: {error}");
            }
        }
    }

    /// `result` must be refused, whichever way (rules still being changed elsewhere decide which).
    #[track_caller]
    fn refused_somehow<T: Debug>(&mut self, what: &str, result: Result<T, LedgerError>) {
        match result {
            Ok(value) => panic!("{what}: expected a refusal, but it succeeded: {value:?}"),
            Err(error) => {
                self.ledger_error(what, &error);
            }
        }
    }

    /// Audits the refusal, if `result` is one (rules still being changed elsewhere decide).
    fn maybe_refused<T>(&mut self, what: &str, result: Result<T, LedgerError>) {
        if let Err(error) = result {
            self.ledger_error(what, &error);
        }
    }

    /// Audits the message a failed C call left, if it failed (rules still being changed elsewhere decide).
    fn c_maybe_refused(&mut self, what: &str, status: i32) {
        if status != c::HC_OK {
            self.c_refused(what, status, status);
        }
    }

    /// Checks a C call's status: `HC_OK` when `expected` is, else as `c_refused` does.
    #[track_caller]
    fn c_expect(&mut self, what: &str, status: i32, expected: i32) {
        if expected == c::HC_OK {
            c_ok(what, status);
        } else {
            self.c_refused(what, status, expected);
        }
    }

    /// Audits the message a failed C call left, after checking the status.
    #[track_caller]
    fn c_refused(&mut self, what: &str, status: i32, expected: i32) {
        let message = c_last_error();
        assert_eq!(status, expected, "{what}: status {status} ({}), message {message:?}", c_status(status));
        assert!(!message.is_empty(), "{what}: status {status} left no message");
        self.text(
            &format!("hc_last_error_message() after {what} (status {status} {})", c_status(status)),
            &message,
            Scope::All,
        );
        self.seen.insert(format!("status {}", c_status(expected)));
    }

    #[track_caller]
    fn require(&self, names: &[&str]) {
        let missing: Vec<&&str> = names.iter().filter(|n| !self.seen.contains(**n)).collect();
        assert!(missing.is_empty(), "never produced: {missing:?}\nproduced: {:#?}", self.seen);
    }

    /// Fails with every leak found (and checks that enough texts were looked at).
    #[track_caller]
    fn finish(self, at_least: usize) {
        eprintln!("{} texts checked; produced: {:?}", self.texts, self.seen);
        assert!(
            self.leaks.is_empty(),
            "{} LEAK(S) of sentinel values:\n\n{}\n",
            self.leaks.len(),
            self.leaks.join("\n\n")
        );
        assert!(self.texts >= at_least, "only {} texts checked, expected at least {at_least}", self.texts);
    }
}

// ---- a small network around the sentinel patient ----

/// Two authorities (both must seal), the sentinel patient, and the cast around them, registered in block 1.
struct Net {
    clock: ManualClock,
    ledger: Ledger<MemoryStore>,
    hospital: SigningKey,
    clinic: SigningKey,
    patient_key: SigningKey,
    patient: ActorId,
    doctor_key: SigningKey,
    doctor: ActorId,
    nurse_key: SigningKey,
    nurse: ActorId,
    auditor_key: SigningKey,
    auditor: ActorId,
    guardian_key: SigningKey,
    guardian: ActorId,
    insurer_key: SigningKey,
    insurer: ActorId,
}

impl Net {
    fn new() -> Self {
        let clock = ManualClock::new(T0);
        let (hospital, clinic) = (key(1), key(2));
        let settings = LedgerSettings { seal_threshold: 2, ..LedgerSettings::new("no-leakage") };
        let mut ledger =
            Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &settings, &[&hospital, &clinic]).unwrap();
        let patient_key = patient_key();
        let patient = ledger.register(&hospital, &patient_key, Role::Patient).unwrap();
        let (doctor_key, nurse_key, auditor_key, guardian_key, insurer_key) = (key(3), key(4), key(5), key(6), key(7));
        let doctor = ledger.register(&hospital, &doctor_key, Role::Provider).unwrap();
        let nurse = ledger.register(&hospital, &nurse_key, Role::Provider).unwrap();
        let auditor = ledger.register(&hospital, &auditor_key, Role::Auditor).unwrap();
        let guardian = ledger.register(&hospital, &guardian_key, Role::Patient).unwrap();
        let insurer = ledger.register(&hospital, &insurer_key, Role::Insurer).unwrap();
        let mut net = Net {
            clock,
            ledger,
            hospital,
            clinic,
            patient_key,
            patient,
            doctor_key,
            doctor,
            nurse_key,
            nurse,
            auditor_key,
            auditor,
            guardian_key,
            guardian,
            insurer_key,
            insurer,
        };
        net.seal();
        net
    }

    fn seal(&mut self) {
        self.ledger.seal(&[&self.hospital, &self.clinic]).unwrap();
        self.clock.advance(HOUR);
    }

    /// The two authorities, who seal every block.
    fn sealers(&self) -> [&SigningKey; 2] {
        [&self.hospital, &self.clinic]
    }

    /// Both authorities' seals over `hash`, in the canonical order.
    fn seals(&self, hash: &BlockHash) -> Vec<Seal> {
        seals(hash, &self.sealers())
    }

    fn now(&self) -> u64 {
        self.ledger.now()
    }

    fn window(&self) -> Window {
        Window { not_before: self.now(), not_after: None }
    }

    fn grant(&self, grantee: Grantee, effect: Effect, sections: &[&str], purposes: &[&str]) -> ConsentGrant {
        ConsentGrant {
            patient: self.patient,
            grantee,
            effect,
            sections: codes(sections),
            purposes: codes(purposes),
            actions: Actions::READ,
            window: self.window(),
            exceptions: Vec::new(),
        }
    }

    fn request(&self, requester: ActorId, section: &str, purpose: &str) -> CheckRequest {
        CheckRequest {
            patient: self.patient,
            requester,
            section: code(section),
            purpose: code(purpose),
            action: Action::Read,
            at: self.now(),
        }
    }

    fn break_glass(&self) -> AccessBasis {
        AccessBasis::BreakGlass { reason: code("unconscious"), justification: the_commitment() }
    }

    fn blocks(&self) -> Vec<Vec<u8>> {
        self.ledger.store().blocks().to_vec()
    }
}

/// A valid ledger about the patient: block 2 holds the patient's permit for the doctor (`c1`), a deny for
/// the nurse and an anchor of the sentinel commitment; block 3 the doctor's access and the nurse's
/// break-glass access justified by the sentinel commitment.
struct Base {
    net: Net,
    blocks: Vec<Vec<u8>>,
    c1: ConsentId,
}

fn base() -> Base {
    let mut n = Net::new();
    let permit = n.grant(Grantee::Actor(n.doctor), Effect::Permit, &["labs", "meds"], &["TREAT"]);
    let c1 = n.ledger.grant_consent(&n.patient_key, permit).unwrap().consent;
    let deny = n.grant(Grantee::Actor(n.nurse), Effect::Deny, &["notes"], &["*"]);
    n.ledger.grant_consent(&n.patient_key, deny).unwrap();
    let anchor = AnchorRecord {
        patient: n.patient,
        section: code("labs"),
        purpose: code("TREAT"),
        commitment: the_commitment(),
    };
    n.ledger.anchor_record(&n.hospital, anchor).unwrap();
    n.seal();
    let request = n.request(n.doctor, "labs", "TREAT");
    n.ledger
        .record_access(&n.doctor_key, RecordAccess::for_request(&request, AccessBasis::Consents(vec![c1])))
        .unwrap();
    let request = n.request(n.nurse, "notes", "ETREAT");
    let basis = n.break_glass();
    n.ledger.record_access(&n.nurse_key, RecordAccess::for_request(&request, basis)).unwrap();
    n.seal();
    let blocks = n.blocks();
    assert_eq!(blocks.len(), 4);
    Base { net: n, blocks, c1 }
}

/// The last sequence number `signer` used in `chain[..=height]`.
fn last_seq(chain: &[Vec<u8>], height: usize, signer: ActorId) -> u64 {
    chain[..=height]
        .iter()
        .flat_map(|b| Block::from_bytes(b).unwrap().txs)
        .filter(|tx| tx.body.signer == signer)
        .map(|tx| tx.body.seq)
        .max()
        .unwrap_or(0)
}

/// A named tampered chain and the height it must fail at (`None`: rules in flux decide).
struct Tampered {
    name: &'static str,
    chain: Vec<Vec<u8>>,
    fails_at: Option<u64>,
}

/// Ledgers about the patient changed in every way verification distinguishes.
fn tampered_chains(base: &Base) -> Vec<Tampered> {
    let n = &base.net;
    let blocks = &base.blocks;
    let chain_id = n.ledger.chain();
    let sealers = n.sealers();
    let mut out = Vec::new();
    let mut push = |name, chain, fails_at| out.push(Tampered { name, chain, fails_at });

    // Transactions changed (block 2 holds the patient's grants, block 3 the accesses to their record).
    let mut chain = blocks.clone();
    let at = chain[2].windows(32).position(|w| w == n.patient.as_bytes()).unwrap();
    chain[2][at + 5] ^= 0x01;
    push("a byte of the patient's id flipped in block 2, not resealed", chain, Some(2));

    let chain = reseal_from(blocks, 2, &sealers, |txs| txs[0].signature.0[7] ^= 0x40);
    push("the patient's grant with a corrupted signature, resealed", chain, Some(2));

    let seq = last_seq(blocks, 2, n.patient) + 1;
    let chain = reseal_from(blocks, 2, &sealers, |txs| {
        let time = txs[0].body.time;
        let deny = n.grant(Grantee::Actor(n.doctor), Effect::Deny, &["labs"], &["TREAT"]);
        let deny = ConsentGrant { window: Window { not_before: time, not_after: None }, ..deny };
        let body = TxBody { chain: chain_id, signer: n.patient, seq, time, payload: Payload::GrantConsent(deny) };
        txs.push(body.sign(&n.patient_key));
    });
    push("a deny rule of the patient's inserted before the doctor's access", chain, Some(3));

    let seq = last_seq(blocks, 2, id_of(&n.hospital)) + 1;
    let chain = reseal_from(blocks, 2, &sealers, |txs| {
        let time = txs[0].body.time;
        let payload = Payload::EraseSubject { patient: n.patient };
        txs.push(TxBody { chain: chain_id, signer: id_of(&n.hospital), seq, time, payload }.sign(&n.hospital));
    });
    push("the patient erased before the accesses", chain, Some(3));

    for (name, basis) in [
        ("the doctor's access claiming the owner basis", AccessBasis::Owner),
        ("the doctor's access claiming break-glass with the sentinel commitment", n.break_glass()),
        ("the doctor's access naming no consent", AccessBasis::Consents(vec![TxId(Hash256(SALT))])),
    ] {
        let chain = reseal_from(blocks, 3, &sealers, |txs| {
            let mut body = txs[0].body.clone();
            let Payload::RecordAccess(access) = &mut body.payload else { panic!("block 3 starts with an access") };
            access.basis = basis;
            txs[0] = body.sign(&n.doctor_key);
        });
        push(name, chain, Some(3));
    }

    let chain = reseal_from(blocks, 3, &sealers, |txs| {
        let time = txs[0].body.time;
        let grant = n.grant(Grantee::Actor(n.doctor), Effect::Permit, &["notes"], &["TREAT"]);
        let body =
            TxBody { chain: chain_id, signer: id_of(&key(99)), seq: 1, time, payload: Payload::GrantConsent(grant) };
        txs.insert(0, body.sign(&key(99)));
    });
    push("a grant for the patient by an unknown signer", chain, Some(3));

    let seq = last_seq(blocks, 2, n.patient) + 1;
    let chain = reseal_from(blocks, 2, &sealers, |txs| {
        let time = txs[0].body.time;
        let params = founded_by_the_patient();
        let proofs = vec![n.patient_key.prove_possession(&params.chain_id())];
        let payload = Payload::Genesis(Genesis { params, proofs });
        txs.push(TxBody { chain: chain_id, signer: n.patient, seq, time, payload }.sign(&n.patient_key));
    });
    push("a genesis founded by the patient inside block 2", chain, Some(2));

    // Bytes and headers changed.
    let mut chain = blocks.clone();
    let len = chain[3].len();
    chain[3].truncate(len - 10);
    push("block 3 truncated", chain, Some(3));

    let mut chain = blocks.clone();
    chain[3].extend_from_slice(&SECRET_SEED);
    chain[3].extend_from_slice(PREIMAGE.as_bytes());
    push("the seed and the preimage appended to block 3", chain, Some(3));

    type HeaderEdit<'a> = (&'static str, bool, Box<dyn Fn(&mut Block) + 'a>);
    let header_edits: Vec<HeaderEdit> = vec![
        (
            "block 3 sealed by the patient",
            false,
            Box::new(|b: &mut Block| {
                b.seals = vec![Seal::sign(n.patient, &n.patient_key, &b.header.hash())];
            }),
        ),
        (
            "a seal of block 3 signed with the patient's key",
            false,
            Box::new(|b: &mut Block| {
                let hash = b.header.hash();
                b.seals[0].signature = n.patient_key.sign(&hash.as_bytes()[..]);
            }),
        ),
        (
            "block 3 with one seal dropped",
            false,
            Box::new(|b: &mut Block| {
                let proposer = b.header.proposer;
                b.seals.retain(|s| s.authority == proposer);
            }),
        ),
        ("block 3 proposed by the patient", true, Box::new(|b: &mut Block| b.header.proposer = n.patient)),
        ("block 3 with another height", false, Box::new(|b: &mut Block| b.header.height += 1)),
        ("block 3 linked to the salt", false, Box::new(|b: &mut Block| b.header.prev_hash = BlockHash(Hash256(SALT)))),
        ("block 3 dated before block 2", false, Box::new(|b: &mut Block| b.header.timestamp = 0)),
        (
            "block 3 naming the seed as its chain",
            false,
            Box::new(|b: &mut Block| {
                b.header.chain = ChainId(Hash256(SECRET_SEED));
            }),
        ),
        ("block 3 with a wrong tree size", true, Box::new(|b: &mut Block| b.header.tree_size += 1)),
        ("block 3 with the salt as tree root", true, Box::new(|b: &mut Block| b.header.tree_root = Hash256(SALT))),
    ];
    for (name, reseal, edit) in header_edits {
        let mut chain = blocks.clone();
        let mut block = Block::from_bytes(&chain[3]).unwrap();
        edit(&mut block);
        if reseal {
            block.seals = n.seals(&block.header.hash());
        }
        chain[3] = block.to_bytes();
        push(name, chain, Some(3));
    }

    let mut chain = blocks.clone();
    chain.swap(2, 3);
    push("blocks 2 and 3 swapped", chain, Some(2));

    // Genesis changed.
    push("a genesis block without transactions", reseal_from(blocks, 0, &sealers, |txs| txs.clear()), Some(0));

    let registration = Block::from_bytes(&blocks[1]).unwrap().txs[0].clone();
    let chain = reseal_from(blocks, 0, &sealers, |txs| txs.push(registration));
    push("the patient's registration moved into the genesis block", chain, None);

    let params = founded_by_the_patient();
    let payload = Payload::Genesis(Genesis { params: params.clone(), proofs: Vec::new() });
    let body = TxBody { chain: params.chain_id(), signer: n.patient, seq: 1, time: T0, payload };
    let genesis = genesis_block(vec![body.sign(&n.patient_key)], &[&n.patient_key]);
    push("a genesis founded by the patient without proofs of possession", vec![genesis], Some(0));
    out
}

// ---- stores that fail on demand ----

/// A memory store whose appends fail once `fail` is set, and whose reads fail from a height.
struct FlakyStore {
    blocks: MemoryStore,
    fail: Arc<AtomicBool>,
    unreadable_from: Option<u64>,
}

impl Store for FlakyStore {
    fn len(&self) -> u64 {
        self.blocks.len()
    }

    fn read(&self, height: u64) -> Result<Vec<u8>, StoreError> {
        if self.unreadable_from.is_some_and(|from| height >= from) {
            return Err(StoreError::Damaged { offset: 4096, height, reason: "injected damage" });
        }
        self.blocks.read(height)
    }

    fn append(&mut self, height: u64, block: &[u8]) -> Result<(), StoreError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::Io(std::io::Error::other("injected write failure")));
        }
        self.blocks.append(height, block)
    }
}

// ---- the C ABI ----

fn c_last_error() -> String {
    // SAFETY: never NULL, NUL-terminated, valid until the next healthchain call on this thread.
    unsafe { CStr::from_ptr(c::hc_last_error_message()) }.to_string_lossy().into_owned()
}

fn c_status(status: i32) -> String {
    // SAFETY: static, never NULL.
    unsafe { CStr::from_ptr(c::hc_status_str(status)) }.to_string_lossy().into_owned()
}

#[track_caller]
fn c_ok(what: &str, status: i32) {
    assert_eq!(status, c::HC_OK, "{what}: {} ({})", c_status(status), c_last_error());
}

fn cstring(bytes: impl Into<Vec<u8>>) -> CString {
    CString::new(bytes).unwrap()
}

fn c_key(seed: &[u8; 32]) -> *mut c::hc_key {
    let mut key = null_mut();
    // SAFETY: valid pointers.
    c_ok("hc_key_from_seed", unsafe { c::hc_key_from_seed(&c::hc_secret { bytes: *seed }, &mut key) });
    key
}

fn c_id(key: *const c::hc_key) -> c::hc_actor_id {
    let mut id = c::hc_actor_id::default();
    // SAFETY: a live key, a valid output.
    c_ok("hc_key_actor_id", unsafe { c::hc_key_actor_id(key, &mut id) });
    id
}

/// C strings and the array of pointers to them that a C caller would pass.
struct CCodes {
    _strings: Vec<CString>,
    pointers: Vec<*const c_char>,
}

impl CCodes {
    fn new(texts: &[&[u8]]) -> Self {
        let strings: Vec<CString> = texts.iter().map(|t| cstring(*t)).collect();
        let pointers = strings.iter().map(|s| s.as_ptr()).collect();
        Self { _strings: strings, pointers }
    }
}

fn c_grant(
    patient: c::hc_actor_id,
    grantee: c::hc_actor_id,
    effect: u32,
    sections: &CCodes,
    purposes: &CCodes,
    not_before: u64,
) -> c::hc_consent_grant {
    c::hc_consent_grant {
        patient,
        grantee_kind: c::HC_GRANTEE_ACTOR,
        grantee,
        grantee_role: 0,
        effect,
        sections: sections.pointers.as_ptr(),
        section_count: sections.pointers.len(),
        purposes: purposes.pointers.as_ptr(),
        purpose_count: purposes.pointers.len(),
        actions: c::HC_ACTION_READ,
        not_before,
        not_after: c::HC_UNTIL_REVOKED,
    }
}

fn c_request(
    patient: c::hc_actor_id,
    requester: c::hc_actor_id,
    section: &CString,
    purpose: &CString,
    at: u64,
) -> c::hc_request {
    c::hc_request {
        patient,
        requester,
        section: section.as_ptr(),
        purpose: purpose.as_ptr(),
        action: c::HC_ACTION_READ,
        at,
    }
}

fn c_settings(name: &CString, seal_threshold: u32) -> c::hc_settings {
    c::hc_settings {
        name: name.as_ptr(),
        seal_threshold,
        break_glass_allowed: 1,
        max_clock_skew_ms: c::HC_DEFAULT_CLOCK_SKEW_MS,
    }
}

fn zeroed_report() -> c::hc_verify_report {
    // SAFETY: integers and byte arrays only: all zeros is a valid value.
    unsafe { std::mem::MaybeUninit::<c::hc_verify_report>::zeroed().assume_init() }
}

fn report_reason(report: &c::hc_verify_report) -> String {
    // SAFETY: NUL-terminated within its buffer.
    unsafe { CStr::from_ptr(report.failure_reason.as_ptr()) }.to_string_lossy().into_owned()
}

fn c_path(path: &Path) -> CString {
    cstring(path.to_str().unwrap())
}

/// `hc_ledger_open_file` on `path`, the handle into `out`.
fn c_open_file(path: &Path, flags: u32, time: u64, out: &mut *mut c::hc_ledger) -> i32 {
    // SAFETY: a NUL-terminated path, a valid output.
    unsafe { c::hc_ledger_open_file(c_path(path).as_ptr(), flags, time, out) }
}

/// `hc_verify_file` on `path`, the report into `report`.
fn c_verify_file(path: &Path, report: &mut c::hc_verify_report) -> i32 {
    // SAFETY: a NUL-terminated path, a valid output.
    unsafe { c::hc_verify_file(c_path(path).as_ptr(), report) }
}

// ---- the tests ----

/// A test error whose messages are chosen: to show that the audit catches a leak wherever it is.
struct Planted {
    display: String,
    debug: String,
    alternate_debug: String,
    source: Option<Box<Planted>>,
}

impl std::fmt::Display for Planted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

impl Debug for Planted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if f.alternate() { &self.alternate_debug } else { &self.debug })
    }
}

impl Error for Planted {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn Error + 'static))
    }
}

fn planted(display: &str, debug: &str, alternate_debug: &str, source: Option<Planted>) -> Planted {
    Planted {
        display: display.to_owned(),
        debug: debug.to_owned(),
        alternate_debug: alternate_debug.to_owned(),
        source: source.map(Box::new),
    }
}

#[test]
fn the_sentinel_search_finds_every_form() {
    let sentinels = Sentinels::new();
    let patient = patient_id();
    let found = |text: &str, scope: Scope| sentinels.find(text, scope).map(|(name, _)| name);
    let spaced = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ");

    for (name, bytes) in [("secret seed", SECRET_SEED), ("salt", SALT)] {
        for text in [
            to_hex(&bytes),
            to_hex(&bytes).to_uppercase(),
            spaced(&bytes),
            format!("{bytes:?}"),
            format!("{bytes:#?}"),
            format!("{bytes:x?}"),
            format!("{bytes:02X?}"),
            format!("key: {}", to_hex(&bytes[11..21])),
            format!("tail {:?}", &bytes[21..]),
        ] {
            assert_eq!(found(&text, Scope::Secrets), Some(name), "{text}");
        }
    }
    assert!(format!("{SECRET_SEED:?}").starts_with("[171, 171, 98, 171, 171, 101"));
    for text in [
        PREIMAGE.to_owned(),
        PREIMAGE.to_lowercase(),
        PREIMAGE_AS_BAD_CODE.to_owned(),
        format!("code {:?} is invalid", &PREIMAGE[4..18]),
        to_hex(PREIMAGE.as_bytes()),
        format!("{:?}", PREIMAGE.as_bytes()),
        format!("{:?}", &PREIMAGE.as_bytes()[9..]),
    ] {
        assert_eq!(found(&text, Scope::Secrets), Some("commitment preimage"), "{text}");
    }
    // The patient's id in every form, e.g. as the Debug of the CheckRequest that holds it; only when
    // every sentinel is searched for.
    let request = CheckRequest {
        patient,
        requester: id_of(&key(3)),
        section: code("labs"),
        purpose: code("TREAT"),
        action: Action::Read,
        at: T0,
    };
    let short_id = patient.to_string()[..12].to_owned();
    for text in [
        format!("{request:?}"),
        format!("{request:#?}"),
        patient.to_string(),
        patient.to_string().to_uppercase(),
        format!("{patient:?}"),
        format!("patient {short_id}…"),
        format!("{:?}", patient.as_bytes()),
        format!("{:x?}", &patient.as_bytes()[3..15]),
    ] {
        assert_eq!(found(&text, Scope::All), Some("patient id"), "{text}");
        assert_eq!(found(&text, Scope::Secrets), None, "{text}");
    }
    let public_key = format!("{:?}", patient_key().public_key());
    assert_eq!(found(&public_key, Scope::All), Some("patient public key"));
    // `to_seed` (like `random_salt`) returns the secret itself, in a `Zeroizing` whose Debug hides it.
    let seed = patient_key().to_seed();
    assert_eq!(*seed, SECRET_SEED);
    assert_eq!(found(&format!("{seed:?}"), Scope::Secrets), None, "{seed:?}");
    assert_eq!(found(&format!("{:?}", *seed), Scope::Secrets), Some("secret seed"));

    // Texts without sentinels are clean, other actors' ids included.
    for text in [
        id_of(&key(3)).to_string(),
        format!("{:?}", key(3)),
        format!("{:?}", [0xABu8; 32]),
        TxError::InvalidPatient.to_string(),
        format!("{:?}", TxError::AlreadyHasAccess { existing: TxId(Hash256([7; 32])), until: Some(T0) }),
        the_commitment().to_string(),
        format!("{:?}", commitment(&[1; 32], b"other data")),
    ] {
        assert_eq!(found(&text, Scope::All), None, "{text}");
    }

    // The audit looks at Display, Debug, alternate Debug and the whole source chain, and reports leaks.
    let salt = format!("{SALT:?}");
    let seed = to_hex(&SECRET_SEED);
    let clean = || planted("clean", "Clean", "Clean {}", None);
    for (error, place) in [
        (planted(&format!("refused for {short_id}"), "Clean", "Clean", None), "planted [Display]"),
        (planted("clean", &salt, "Clean", None), "planted [Debug]"),
        (planted("clean", "Clean", &seed, None), "planted [Debug {:#?}]"),
        (
            planted(
                "outer",
                "Outer",
                "Outer",
                Some(planted("middle", "M", "M", Some(planted(PREIMAGE, "I", "I", None)))),
            ),
            "planted, source() #2 [Display]",
        ),
        (
            planted("outer", "Outer", "Outer", Some(planted("middle", &format!("M({short_id})"), "M", None))),
            "planted, source() #1 [Debug]",
        ),
    ] {
        let mut audit = Audit::new();
        audit.error("planted", &error);
        assert_eq!(audit.leaks.len(), 1, "{:?}", audit.leaks);
        assert!(audit.leaks[0].contains(&format!("in {place}:")), "{}", audit.leaks[0]);
    }
    let mut audit = Audit::new();
    audit.error("planted", &planted("outer", "Outer", "Outer", Some(planted("inner", "I", "I", Some(clean())))));
    assert!(audit.leaks.is_empty(), "{:?}", audit.leaks);
    assert_eq!(audit.texts, 9, "three texts for each of three errors in the chain");
    // finish() fails on a leak.
    let mut audit = Audit::new();
    audit.text("a CheckRequest", &format!("{request:?}"), Scope::All);
    assert_eq!(audit.leaks.len(), 1);
    let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || audit.finish(0)));
    assert!(finished.is_err(), "finish() must fail on a leak");
}

#[test]
fn refusals_about_the_patient_name_no_patient_and_no_secret() {
    let mut a = Audit::new();
    let p = patient_id();
    let patient_key = patient_key();
    let stranger = id_of(&key(99));

    // A ledger the patient is not registered in: the common test network.
    {
        let support::Net { mut ledger, hospital, doctor_key, doctor, guardian, .. } = support::network();
        let now = ledger.now();
        let window = Window { not_before: now, not_after: None };
        let grant = ConsentGrant {
            patient: p,
            grantee: Grantee::Actor(doctor),
            effect: Effect::Permit,
            sections: codes(&["labs"]),
            purposes: codes(&["TREAT"]),
            actions: Actions::READ,
            window,
            exceptions: Vec::new(),
        };
        a.refused(
            "a grant for the unregistered patient",
            ledger.grant_consent(&doctor_key, grant.clone()),
            "TxError::InvalidPatient",
        );
        a.refused(
            "a grant signed with the unregistered patient's key",
            ledger.grant_consent(&patient_key, grant.clone()),
            "LedgerError::UnknownKey",
        );
        let tx = ledger.prepare(p, Payload::GrantConsent(grant)).sign(&patient_key);
        a.refused("a transaction signed by the unregistered patient", ledger.submit(tx), "TxError::UnknownSigner");
        let delegation = DelegationGrant { patient: p, delegate: guardian, scopes: Scopes::READ, window };
        a.refused(
            "a delegation for the unregistered patient",
            ledger.grant_delegation(&hospital, delegation),
            "TxError::InvalidPatient",
        );
        a.refused("erasing the unregistered patient", ledger.erase_subject(&hospital, p), "TxError::InvalidPatient");
        let anchor =
            AnchorRecord { patient: p, section: code("labs"), purpose: code("TREAT"), commitment: the_commitment() };
        a.refused(
            "anchoring the sentinel commitment for the unregistered patient",
            ledger.anchor_record(&hospital, anchor),
            "TxError::InvalidPatient",
        );
        let request = CheckRequest {
            patient: p,
            requester: doctor,
            section: code("labs"),
            purpose: code("ETREAT"),
            action: Action::Read,
            at: now,
        };
        let basis = AccessBasis::BreakGlass { reason: code("unconscious"), justification: the_commitment() };
        a.refused(
            "a break-glass access to the unregistered patient",
            ledger.record_access(&doctor_key, RecordAccess::for_request(&request, basis)),
            "TxError::InvalidPatient",
        );
        a.refused(
            "a check about the unregistered patient",
            ledger.check(&request).map_err(LedgerError::from),
            "CheckError::InvalidPatient",
        );
        let request = CheckRequest { patient: guardian, requester: p, ..request };
        a.refused(
            "a check asked by the unregistered patient",
            ledger.check(&request).map_err(LedgerError::from),
            "CheckError::UnknownActor",
        );
        a.refused(
            "rotating the unregistered patient's key",
            ledger.rotate_key(&hospital, p, &key(50)),
            "TxError::UnknownActor",
        );
        a.refused("deactivating the unregistered patient", ledger.deactivate(&hospital, p), "TxError::UnknownActor");
    }

    let mut n = Net::new();
    let chain_id = n.ledger.chain();
    assert_eq!(n.patient, p);

    // Grants and delegations refused.
    let permit_doctor = n.grant(Grantee::Actor(n.doctor), Effect::Permit, &["labs"], &["TREAT"]);
    a.refused(
        "the doctor granting for the patient",
        n.ledger.grant_consent(&n.doctor_key, permit_doctor.clone()),
        "TxError::Unauthorized",
    );
    let to_stranger = n.grant(Grantee::Actor(stranger), Effect::Permit, &["labs"], &["TREAT"]);
    a.refused(
        "a grant to an unknown grantee",
        n.ledger.grant_consent(&n.patient_key, to_stranger),
        "TxError::UnknownGrantee",
    );
    let now = n.now();
    let empty = ConsentGrant { window: Window { not_before: now, not_after: Some(now) }, ..permit_doctor.clone() };
    a.refused(
        "a grant with an empty window",
        n.ledger.grant_consent(&n.patient_key, empty.clone()),
        "TxError::EmptyWindow",
    );
    a.refused(
        "an all-or-nothing list whose second grant has an empty window",
        n.ledger.grant_consents(&n.patient_key, vec![permit_doctor.clone(), empty]),
        "LedgerError::GrantRefused",
    );
    a.refused(
        "an all-or-nothing change revoking an unknown consent",
        n.ledger.replace_consents(&n.patient_key, &[ConsentId::default()], vec![permit_doctor.clone()]),
        "LedgerError::RevokeRefused",
    );
    let exception = Exception {
        grantee: None,
        sections: codes(&["labs"]),
        purposes: codes(&["TREAT"]),
        actions: Actions::READ,
        window: n.window(),
    };
    let excepted = ConsentGrant { exceptions: vec![exception], ..permit_doctor.clone() };
    a.refused(
        "a permit with exceptions",
        n.ledger.grant_consent(&n.patient_key, excepted),
        "TxError::ExceptionsOnPermit",
    );
    let to_self = DelegationGrant { patient: p, delegate: p, scopes: Scopes::MANAGE_AND_READ, window: n.window() };
    a.refused(
        "the patient delegating to themself",
        n.ledger.grant_delegation(&n.patient_key, to_self),
        "TxError::SelfDelegation",
    );
    let to_stranger = DelegationGrant { patient: p, delegate: stranger, scopes: Scopes::READ, window: n.window() };
    a.refused(
        "a delegation to an unknown delegate",
        n.ledger.grant_delegation(&n.patient_key, to_stranger),
        "TxError::UnknownGrantee",
    );
    let to_guardian =
        DelegationGrant { patient: p, delegate: n.guardian, scopes: Scopes::MANAGE_AND_READ, window: n.window() };
    a.refused(
        "the doctor delegating the patient's rights",
        n.ledger.grant_delegation(&n.doctor_key, to_guardian.clone()),
        "TxError::Unauthorized",
    );
    let c1 = n.ledger.grant_consent(&n.patient_key, permit_doctor.clone()).unwrap().consent;
    a.refused(
        "a grant already covered",
        n.ledger.grant_consent(&n.patient_key, permit_doctor.clone()),
        "TxError::AlreadyHasAccess",
    );
    let deny_nurse = n.grant(Grantee::Actor(n.nurse), Effect::Deny, &["notes"], &["*"]);
    let c2 = n.ledger.grant_consent(&n.patient_key, deny_nurse).unwrap().consent;
    let d1 = n.ledger.grant_delegation(&n.patient_key, to_guardian).unwrap();
    let for_guardian = n.grant(Grantee::Actor(n.guardian), Effect::Permit, &["labs"], &["TREAT"]);
    // Rules still being decided elsewhere: a delegate widening its own access may be allowed.
    a.maybe_refused(
        "the patient's delegate granting itself access",
        n.ledger.grant_consent(&n.guardian_key, for_guardian),
    );
    n.seal();

    // Accesses to the patient's record refused.
    let request = n.request(n.nurse, "notes", "TREAT");
    let access = RecordAccess::for_request(&request, AccessBasis::Consents(vec![c1]));
    a.refused(
        "the nurse's access denied by the patient's deny rule",
        n.ledger.record_access(&n.nurse_key, access),
        "TxError::AccessDenied",
    );
    let request = n.request(n.insurer, "labs", "TREAT");
    let access = RecordAccess::for_request(&request, AccessBasis::Owner);
    a.refused(
        "the insurer's access without consent",
        n.ledger.record_access(&n.insurer_key, access),
        "TxError::AccessDenied",
    );
    let request = n.request(n.doctor, "labs", "TREAT");
    let access = RecordAccess::for_request(&request, AccessBasis::Owner);
    a.refused(
        "the doctor claiming the owner basis",
        n.ledger.record_access(&n.doctor_key, access),
        "TxError::BasisMismatch",
    );
    let access = RecordAccess::for_request(&request, n.break_glass());
    a.refused(
        "the doctor claiming break-glass with the sentinel commitment",
        n.ledger.record_access(&n.doctor_key, access),
        "TxError::BasisMismatch",
    );
    let future = CheckRequest { at: n.now() + DAY, ..request.clone() };
    let access = RecordAccess::for_request(&future, AccessBasis::Consents(vec![c1]));
    a.refused(
        "an access dated in the future",
        n.ledger.record_access(&n.doctor_key, access),
        "TxError::AccessInFuture",
    );
    let emergency = n.request(n.nurse, "notes", "ETREAT");
    let wildcard = AccessBasis::BreakGlass { reason: code("*"), justification: the_commitment() };
    let access = RecordAccess::for_request(&emergency, wildcard);
    a.refused(
        "a break-glass access with the reason *",
        n.ledger.record_access(&n.nurse_key, access),
        "TxError::WildcardInRequest",
    );
    let access = RecordAccess::for_request(&emergency, n.break_glass());
    let a1 = n.ledger.record_access(&n.nurse_key, access).unwrap();
    let access = RecordAccess::for_request(&request, AccessBasis::Consents(vec![c1]));
    let a2 = n.ledger.record_access(&n.doctor_key, access).unwrap();

    // Reviews.
    a.refused(
        "reviewing an access that was not break-glass",
        n.ledger.review_break_glass(&n.auditor_key, a2, true),
        "TxError::NotBreakGlass",
    );
    a.refused(
        "reviewing an unknown access",
        n.ledger.review_break_glass(&n.auditor_key, TxId(Hash256(SALT)), true),
        "TxError::UnknownAccess",
    );
    a.refused("the doctor reviewing", n.ledger.review_break_glass(&n.doctor_key, a1, true), "TxError::Unauthorized");
    n.ledger.review_break_glass(&n.auditor_key, a1, false).unwrap();
    a.refused("reviewing twice", n.ledger.review_break_glass(&n.auditor_key, a1, true), "TxError::AlreadyReviewed");

    // Anchors of the sentinel commitment.
    let anchor =
        AnchorRecord { patient: p, section: code("labs"), purpose: code("TREAT"), commitment: the_commitment() };
    a.refused(
        "the doctor anchoring without write consent",
        n.ledger.anchor_record(&n.doctor_key, anchor.clone()),
        "TxError::AccessDenied",
    );
    a.refused("the auditor anchoring", n.ledger.anchor_record(&n.auditor_key, anchor.clone()), "TxError::Unauthorized");
    let wildcard = AnchorRecord { section: code("*"), ..anchor.clone() };
    a.refused("anchoring section *", n.ledger.anchor_record(&n.hospital, wildcard), "TxError::WildcardInRequest");
    n.ledger.anchor_record(&n.hospital, anchor).unwrap();

    // Revocations.
    a.refused(
        "revoking an unknown consent",
        n.ledger.revoke_consent(&n.patient_key, TxId(Hash256(SALT))),
        "TxError::UnknownConsent",
    );
    a.refused(
        "the doctor revoking the patient's consent",
        n.ledger.revoke_consent(&n.doctor_key, c1),
        "TxError::Unauthorized",
    );
    n.ledger.revoke_consent(&n.patient_key, c2).unwrap();
    a.refused("revoking twice", n.ledger.revoke_consent(&n.patient_key, c2), "TxError::ConsentAlreadyRevoked");
    a.refused(
        "revoking an unknown delegation",
        n.ledger.revoke_delegation(&n.patient_key, TxId(Hash256(SECRET_SEED))),
        "TxError::UnknownDelegation",
    );
    n.ledger.revoke_delegation(&n.patient_key, d1).unwrap();
    a.refused(
        "revoking a delegation twice",
        n.ledger.revoke_delegation(&n.patient_key, d1),
        "TxError::DelegationAlreadyRevoked",
    );

    // Keys.
    a.refused(
        "registering the patient's key again",
        n.ledger.register(&n.hospital, &n.patient_key, Role::Patient),
        "TxError::KeyInUse",
    );
    let proof = n.patient_key.prove_possession(&chain_id);
    a.refused(
        "registering a key with the patient's proof of possession",
        n.ledger.register_actor(&n.hospital, &key(60).public_key(), proof, Role::Patient),
        "TxError::BadProofOfPossession",
    );
    a.refused(
        "rotating the patient's key to the doctor's",
        n.ledger.rotate_key(&n.patient_key, p, &n.doctor_key),
        "TxError::KeyInUse",
    );
    a.refused(
        "the doctor rotating the patient's key",
        n.ledger.rotate_key(&n.doctor_key, p, &key(61)),
        "TxError::Unauthorized",
    );
    a.refused(
        "the patient registering an actor",
        n.ledger.register(&n.patient_key, &key(62), Role::Provider),
        "TxError::Unauthorized",
    );

    // Transactions the patient signs that do not fit.
    let meds = n.grant(Grantee::Actor(n.doctor), Effect::Permit, &["meds"], &["TREAT"]);
    let body = n.ledger.prepare(p, Payload::GrantConsent(meds));
    let wrong_chain = TxBody { chain: ChainId(Hash256(SALT)), ..body.clone() };
    let ahead = TxBody { seq: body.seq + 7, ..body.clone() };
    let late = TxBody { time: body.time + 30 * DAY, ..body.clone() };
    let params = founded_by_the_patient();
    let proofs = vec![n.patient_key.prove_possession(&params.chain_id())];
    let genesis = n.ledger.prepare(p, Payload::Genesis(Genesis { params: params.clone(), proofs: proofs.clone() }));
    let bad_name = GenesisParams { name: format!("{PREIMAGE}\u{7}"), ..params };
    let bad_genesis = n.ledger.prepare(p, Payload::Genesis(Genesis { params: bad_name, proofs }));
    for (what, tx, expected) in [
        ("a grant for another chain", wrong_chain.sign(&n.patient_key), "TxError::WrongChain"),
        ("a grant signed with the doctor's key", body.sign(&n.doctor_key), "TxError::BadSignature"),
        ("a grant with a sequence number ahead", ahead.sign(&n.patient_key), "TxError::BadSequence"),
        ("a grant dated next month", late.sign(&n.patient_key), "TxError::TimeOutOfRange"),
        ("a genesis by the patient", genesis.sign(&n.patient_key), "TxError::GenesisPosition"),
        ("a genesis named after the preimage, unprintably", bad_genesis.sign(&n.patient_key), "TxError::Malformed"),
    ] {
        a.refused(what, n.ledger.submit(tx), expected);
    }
    let empty_basis =
        RecordAccess::for_request(&n.request(n.doctor, "labs", "TREAT"), AccessBasis::Consents(Vec::new()));
    a.refused("an access on no consent", n.ledger.record_access(&n.doctor_key, empty_basis), "TxError::Malformed");
    let mut unsorted = vec![c1, TxId(Hash256(SALT))];
    unsorted.sort();
    unsorted.reverse();
    let unsorted = RecordAccess::for_request(&n.request(n.doctor, "labs", "TREAT"), AccessBasis::Consents(unsorted));
    a.refused("an access on unsorted consents", n.ledger.record_access(&n.doctor_key, unsorted), "TxError::Malformed");
    n.seal();

    // Deactivations.
    n.ledger.deactivate(&n.hospital, n.doctor).unwrap();
    a.refused(
        "deactivating the doctor twice",
        n.ledger.deactivate(&n.hospital, n.doctor),
        "TxError::AlreadyDeactivated",
    );
    a.refused(
        "the patient deactivating the doctor",
        n.ledger.deactivate(&n.patient_key, n.doctor),
        "TxError::Unauthorized",
    );
    let access = RecordAccess::for_request(&n.request(n.doctor, "labs", "TREAT"), AccessBasis::Consents(vec![c1]));
    a.refused(
        "the deactivated doctor reading the patient's record",
        n.ledger.record_access(&n.doctor_key, access),
        "TxError::SignerDeactivated",
    );
    let to_doctor = n.grant(Grantee::Actor(n.doctor), Effect::Permit, &["meds"], &["TREAT"]);
    a.refused(
        "a grant to the deactivated doctor",
        n.ledger.grant_consent(&n.patient_key, to_doctor),
        "TxError::GranteeDeactivated",
    );
    a.refused(
        "deactivating an authority below the quorum",
        n.ledger.deactivate(&n.hospital, id_of(&n.clinic)),
        "TxError::WouldBreakQuorum",
    );

    // Erasure.
    a.refused("the nurse erasing the patient", n.ledger.erase_subject(&n.nurse_key, p), "TxError::Unauthorized");
    n.ledger.erase_subject(&n.hospital, p).unwrap();
    a.refused("erasing the patient twice", n.ledger.erase_subject(&n.patient_key, p), "TxError::AlreadyErased");
    let to_nurse = n.grant(Grantee::Actor(n.nurse), Effect::Permit, &["meds"], &["TREAT"]);
    a.refused("a grant after erasure", n.ledger.grant_consent(&n.patient_key, to_nurse), "TxError::PatientErased");
    let access = RecordAccess::for_request(&n.request(n.nurse, "notes", "ETREAT"), n.break_glass());
    a.refused_somehow("a break-glass access after erasure", n.ledger.record_access(&n.nurse_key, access));

    // Checks.
    let request = n.request(n.nurse, "labs", "TREAT");
    a.refused(
        "a check beyond the head",
        n.ledger.check_as_of(99, &request).map_err(LedgerError::from),
        "CheckError::HeightBeyondHead",
    );
    let wildcard = CheckRequest { section: code("*"), ..request.clone() };
    a.refused(
        "a check about every section",
        n.ledger.check(&wildcard).map_err(LedgerError::from),
        "CheckError::WildcardInRequest",
    );
    let before = CheckRequest { at: T0 - 1, ..request.clone() };
    a.maybe_refused("a check before the patient was registered", n.ledger.check(&before).map_err(LedgerError::from));
    let unknown = CheckRequest { requester: stranger, ..request.clone() };
    a.refused(
        "a check by an unknown requester",
        n.ledger.check(&unknown).map_err(LedgerError::from),
        "CheckError::UnknownActor",
    );

    // Sealing.
    n.seal();
    a.refused("sealing nothing", n.ledger.seal(&[&n.hospital, &n.clinic]), "LedgerError::NothingToSeal");
    n.ledger.register(&n.hospital, &key(70), Role::Provider).unwrap();
    a.refused("sealing with one of two authorities", n.ledger.seal(&[&n.hospital]), "LedgerError::NotEnoughSealers");
    a.refused(
        "sealing with the patient's key",
        n.ledger.seal(&[&n.patient_key, &n.hospital]),
        "LedgerError::UnknownKey",
    );
    let proposal = n.ledger.propose_block(id_of(&n.hospital)).unwrap();
    n.ledger.register(&n.hospital, &key(71), Role::Provider).unwrap();
    let seals = n.seals(&proposal.hash());
    a.refused("committing a stale proposal", n.ledger.commit_block(&proposal, seals), "LedgerError::StaleProposal");
    let proposal = n.ledger.propose_block(n.patient).unwrap();
    let seals = n.seals(&proposal.hash());
    a.refused(
        "committing a block proposed by the patient",
        n.ledger.commit_block(&proposal, seals),
        "LedgerError::Corrupt",
    );
    let proposal = n.ledger.propose_block(id_of(&n.hospital)).unwrap();
    let mut seals = n.seals(&proposal.hash());
    seals.push(Seal::sign(p, &n.patient_key, &proposal.hash()));
    a.refused("committing a block the patient sealed", n.ledger.commit_block(&proposal, seals), "LedgerError::Corrupt");
    n.seal();

    // The patient's key rotated out, then the patient deactivated.
    let new_key = key(72);
    n.ledger.rotate_key(&n.patient_key, p, &new_key).unwrap();
    a.refused(
        "the patient's old key signing",
        n.ledger.revoke_consent(&n.patient_key, c1),
        "LedgerError::KeyNotActive",
    );
    n.ledger.deactivate(&n.hospital, p).unwrap();
    a.refused("the deactivated patient signing", n.ledger.revoke_consent(&new_key, c1), "TxError::SignerDeactivated");
    a.refused(
        "rotating the deactivated patient's key",
        n.ledger.rotate_key(&n.hospital, p, &key(73)),
        "TxError::AlreadyDeactivated",
    );
    n.seal();

    // Ledger-level refusals.
    let clock = || Box::new(ManualClock::new(T0));
    let settings = LedgerSettings::new("no-leakage");
    a.refused(
        "creating a ledger over the patient's",
        Ledger::create(MemoryStore::from_blocks(n.blocks()), clock(), &settings, &[&n.hospital]),
        "LedgerError::StoreNotEmpty",
    );
    a.refused("opening an empty store", Ledger::open(MemoryStore::new(), clock()), "LedgerError::StoreEmpty");
    for (what, name) in [
        ("a network named after the preimage with a newline", format!("{PREIMAGE}\n")),
        ("a network named after the preimage, too long", PREIMAGE.repeat(3)),
        ("a network named with non-ASCII", format!("{PREIMAGE}é")),
    ] {
        let settings = LedgerSettings::new(&name);
        a.refused(
            what,
            Ledger::create(MemoryStore::new(), clock(), &settings, &[&n.patient_key]),
            "LedgerError::InvalidSettings",
        );
    }
    a.refused(
        "a network founded twice by the patient's key",
        Ledger::create(MemoryStore::new(), clock(), &LedgerSettings::new("x"), &[&n.patient_key, &n.patient_key]),
        "LedgerError::InvalidSettings",
    );
    let zero = LedgerSettings { seal_threshold: 0, ..LedgerSettings::new("x") };
    a.refused(
        "a seal threshold of 0",
        Ledger::create(MemoryStore::new(), clock(), &zero, &[&n.patient_key]),
        "LedgerError::InvalidSettings",
    );

    // A store that fails: the ledger is poisoned; reads that fail.
    let fail = Arc::new(AtomicBool::new(false));
    let store = FlakyStore { blocks: MemoryStore::new(), fail: fail.clone(), unreadable_from: None };
    let clock = ManualClock::new(T0);
    let hospital = key(1);
    let mut ledger = Ledger::create(store, Box::new(clock.clone()), &LedgerSettings::new("x"), &[&hospital]).unwrap();
    ledger.register(&hospital, &n.patient_key, Role::Patient).unwrap();
    ledger.seal(&[&hospital]).unwrap();
    clock.advance(HOUR);
    ledger.register(&hospital, &key(3), Role::Provider).unwrap();
    fail.store(true, Ordering::SeqCst);
    a.refused("sealing on a failing store", ledger.seal(&[&hospital]), "StoreError::Io");
    a.refused("erasing the patient on a poisoned ledger", ledger.erase_subject(&hospital, p), "LedgerError::Poisoned");
    let blocks = ledger.store().blocks.blocks().to_vec();
    let unreadable = || FlakyStore {
        blocks: MemoryStore::from_blocks(blocks.clone()),
        fail: fail.clone(),
        unreadable_from: Some(1),
    };
    a.refused(
        "opening a store whose block 1 cannot be read",
        Ledger::open(unreadable(), Box::new(ManualClock::new(T0))),
        "StoreError::Damaged",
    );
    let store = unreadable();
    let report = verify_blocks((0..store.len()).map(|h| store.read(h)));
    let failure = report.failure.clone().unwrap();
    assert_eq!(a.verify_failure("verifying a store whose block 1 cannot be read", &failure), "BlockError::Store");

    // Stores refusing directly.
    let mut memory = MemoryStore::from_blocks(blocks);
    a.store_error("reading past the end", &memory.read(99).unwrap_err());
    a.store_error("appending out of order", &memory.append(9, &SECRET_SEED).unwrap_err());
    let empty_file = |file: &MemFile| FileStore::from_file(file.clone(), OpenOptions::default()).unwrap();
    let mut file = empty_file(&MemFile::default());
    let genesis = n.blocks()[0].clone();
    let huge: Vec<u8> = genesis.iter().chain(SECRET_SEED.iter().cycle()).copied().take(64 * 1024 * 1024 + 1).collect();
    a.store_error("appending a block over 64 MiB that ends in the seed", &file.append(0, &huge).unwrap_err());
    drop(huge);
    // Blocks a file store may refuse as given (whether it does is being changed elsewhere).
    let short = SECRET_SEED[..20].to_vec();
    let zeros: Vec<u8> = genesis.iter().copied().chain([0; 300]).chain(SALT).collect();
    for (what, block) in
        [("a block of 20 bytes of the seed", short), ("a block with a run of zeros and the salt", zeros)]
    {
        if let Err(e) = empty_file(&MemFile::default()).append(0, &block) {
            a.store_error(&format!("appending {what}"), &e);
        }
    }
    let failing = MemFile::default();
    let mut file = empty_file(&failing);
    failing.disk().crash_after = Some(0);
    a.store_error("appending the genesis block when writing fails", &file.append(0, &genesis).unwrap_err());
    a.store_error("appending to a poisoned file store", &file.append(0, &genesis).unwrap_err());

    // Errors that data cannot provoke, constructed: none carries data.
    for error in
        [KeyError::NotAPoint, KeyError::NonCanonical, KeyError::Weak, KeyError::MixedOrder, KeyError::NoRandomness]
    {
        a.ledger_error("a key error (constructed)", &LedgerError::from(error));
    }
    a.ledger_error("a full block (constructed)", &LedgerError::BlockFull);

    // Public keys made of sentinel bytes, and codes made of the preimage.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xed;
    non_canonical[31] = 0x7f;
    let id_bytes = *p.as_bytes();
    let mut preimage_key = [0u8; 32];
    preimage_key[..PREIMAGE.len()].copy_from_slice(PREIMAGE.as_bytes());
    for (what, bytes) in [
        ("the seed as a public key", SECRET_SEED),
        ("the salt as a public key", SALT),
        ("the patient's id as a public key", id_bytes),
        ("the preimage as a public key", preimage_key),
        ("the identity point", identity),
        ("a non-canonical encoding", non_canonical),
    ]
    .into_iter()
    .chain((0..32u8).map(|i| ("the seed, varied, as a public key", SECRET_SEED.map(|b| b ^ i))))
    {
        if let Err(e) = PublicKey::from_bytes(&bytes) {
            a.named("KeyError", what, &e);
        }
    }
    for (what, result) in [
        ("the preimage with spaces as a code", Code::new(PREIMAGE_AS_BAD_CODE).map(|_| ())),
        ("the preimage twice as a code", Code::new(&PREIMAGE.repeat(2)).map(|_| ())),
        ("the preimage and * as a code set", CodeSet::parse([PREIMAGE, "*"]).map(|_| ())),
        ("an empty code set", CodeSet::parse(std::iter::empty()).map(|_| ())),
    ] {
        if let Err(e) = result {
            a.named("CodeError", what, &e);
        }
    }
    let too_many: Vec<String> = (0..65).map(|i| format!("{PREIMAGE}-{i}")).collect();
    a.named(
        "CodeError",
        "65 codes named after the preimage",
        &CodeSet::parse(too_many.iter().map(String::as_str)).unwrap_err(),
    );

    a.text("Debug of the ledger", &format!("{:?}", n.ledger), Scope::All);
    a.text("Debug of the ledger", &format!("{:#?}", n.ledger), Scope::All);

    let every_tx_error = [
        "Malformed",
        "WrongChain",
        "GenesisPosition",
        "UnknownSigner",
        "SignerDeactivated",
        "BadSignature",
        "BadSequence",
        "TimeOutOfRange",
        "Unauthorized",
        "InvalidPatient",
        "PatientErased",
        "UnknownGrantee",
        "GranteeDeactivated",
        "SelfDelegation",
        "EmptyWindow",
        "AlreadyHasAccess",
        "UnknownConsent",
        "ConsentAlreadyRevoked",
        "UnknownDelegation",
        "DelegationAlreadyRevoked",
        "KeyInUse",
        "BadProofOfPossession",
        "UnknownActor",
        "AlreadyDeactivated",
        "WouldBreakQuorum",
        "WildcardInRequest",
        "AccessInFuture",
        "AccessDenied",
        "BasisMismatch",
        "UnknownAccess",
        "NotBreakGlass",
        "AlreadyReviewed",
        "AlreadyErased",
        "ExceptionsOnPermit",
    ]
    .map(|v| format!("TxError::{v}"));
    let every_other = [
        "CheckError::InvalidPatient",
        "CheckError::UnknownActor",
        "CheckError::WildcardInRequest",
        "CheckError::HeightBeyondHead",
        "LedgerError::Tx",
        "LedgerError::Check",
        "LedgerError::Store",
        "LedgerError::Key",
        "LedgerError::Corrupt",
        "LedgerError::Poisoned",
        "LedgerError::StoreNotEmpty",
        "LedgerError::StoreEmpty",
        "LedgerError::KeyNotActive",
        "LedgerError::StaleProposal",
        "LedgerError::NothingToSeal",
        "LedgerError::BlockFull",
        "LedgerError::GrantRefused",
        "LedgerError::RevokeRefused",
        "LedgerError::UnknownKey",
        "LedgerError::NotEnoughSealers",
        "LedgerError::InvalidSettings",
        "StoreError::Missing",
        "StoreError::OutOfOrder",
        "StoreError::Io",
        "StoreError::Poisoned",
        "StoreError::Damaged",
        "StoreError::BlockTooLarge",
        "KeyError::NotAPoint",
        "KeyError::NonCanonical",
        "KeyError::Weak",
        "KeyError::MixedOrder",
        "KeyError::NoRandomness",
        "CodeError::BadCode",
        "CodeError::EmptySet",
        "CodeError::TooMany",
        "CodeError::WildcardNotAlone",
        "BlockError::Store",
        "BlockError::SealerNotAuthority",
        "BlockError::ProposerNotSealer",
        "DecodeErrorKind::Invalid",
        "DecodeErrorKind::NonCanonical",
    ];
    let required: Vec<String> = every_tx_error.into_iter().chain(every_other.map(String::from)).collect();
    a.require(&required.iter().map(String::as_str).collect::<Vec<_>>());
    a.finish(500);
}

#[test]
fn tampered_ledgers_about_the_patient_fail_without_naming_them() {
    let mut a = Audit::new();
    let base = base();
    let chains = tampered_chains(&base);
    assert!(chains.len() >= 25, "{} tampered chains", chains.len());
    for Tampered { name, chain, fails_at } in &chains {
        let report = verify_blocks(chain);
        let failure = report.failure.clone().unwrap_or_else(|| panic!("{name}: went unnoticed"));
        if let Some(height) = fails_at {
            assert_eq!(failure.height, *height, "{name}: {failure}");
        }
        a.verify_failure(name, &failure);
        a.text(&format!("{name}: VerifyReport [Debug]"), &format!("{report:#?}"), Scope::All);
        a.text(&format!("{name}: VerifyReport [JSON]"), &serde_json::to_string(&report).unwrap(), Scope::All);
        for verified in [false, true] {
            let store = MemoryStore::from_blocks(chain.clone());
            let clock = Box::new(ManualClock::new(T0));
            let opened = if verified { Ledger::open_verified(store, clock) } else { Ledger::open(store, clock) };
            match opened {
                Err(e) => {
                    a.ledger_error(&format!("{name}: opening (verified: {verified})"), &e);
                }
                Ok(ledger) => {
                    // Only a bad transaction signature passes an open that trusts them.
                    assert!(!verified, "{name}: opened verifying signatures");
                    a.text(&format!("{name}: Debug of the ledger"), &format!("{ledger:?}"), Scope::All);
                }
            }
        }
        let mut replayer = Replayer::new();
        for block in chain {
            if replayer.apply_block(block).is_err() {
                break;
            }
        }
        a.text(&format!("{name}: Debug of the replayer"), &format!("{replayer:?}"), Scope::Secrets);
    }
    // The good ledger's report and JSON name no patient either.
    let report = base.net.ledger.verify();
    assert!(report.is_valid());
    a.text("a valid VerifyReport [Debug]", &format!("{report:#?}"), Scope::All);
    a.text("a valid VerifyReport [JSON]", &serde_json::to_string(&report).unwrap(), Scope::All);
    assert_eq!(base.net.ledger.consents_of(&base.net.patient)[0].id, base.c1);

    a.require(&[
        "BlockError::Malformed",
        "BlockError::WrongChain",
        "BlockError::BadHeight",
        "BlockError::BadPrevHash",
        "BlockError::TimestampDecreased",
        "BlockError::MissingGenesis",
        "BlockError::TreeSizeMismatch",
        "BlockError::TreeRootMismatch",
        "BlockError::SealerNotAuthority",
        "BlockError::BadSeal",
        "BlockError::NotEnoughSeals",
        "BlockError::ProposerNotSealer",
        "BlockError::Tx",
        "TxError::BadSignature",
        "TxError::UnknownSigner",
        "TxError::AccessDenied",
        "TxError::BasisMismatch",
        "TxError::GenesisPosition",
        "TxError::InvalidGenesis",
        "DecodeErrorKind::Truncated",
        "DecodeErrorKind::TrailingBytes",
        "LedgerError::Corrupt",
    ]);
    a.finish(300);
}

#[test]
fn malformed_bytes_holding_the_sentinels_give_decode_errors_without_them() {
    let mut a = Audit::new();
    let base = base();
    let p = base.net.patient;

    macro_rules! decode_as {
        ($what:expr, $bytes:expr, $($ty:ty),+ $(,)?) => {{
            let bytes: &[u8] = $bytes;
            let mut refused = 0;
            $(
                if let Err(e) = <$ty as Decode>::from_bytes(bytes) {
                    a.decode_error(&format!("{} as {}", $what, stringify!($ty)), &e);
                    refused += 1;
                }
            )+
            refused
        }};
    }

    let mut refusals = 0;
    let txs: Vec<SignedTx> = base.blocks.iter().flat_map(|b| Block::from_bytes(b).unwrap().txs).collect();
    for tx in &txs {
        let bytes = tx.to_bytes();
        let what = format!("a {} transaction", tx.body.payload.kind_name());
        for len in 0..bytes.len() {
            refusals += decode_as!(format!("{what} cut at {len}"), &bytes[..len], SignedTx);
        }
        for tail in [&SECRET_SEED[..], &SALT[..], PREIMAGE.as_bytes(), p.as_bytes()] {
            refusals += decode_as!(format!("{what} followed by a sentinel"), &[&bytes[..], tail].concat(), SignedTx);
        }
        for at in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[at] ^= 0xff;
            refusals += decode_as!(format!("{what} with byte {at} inverted"), &changed, SignedTx);
        }
    }
    for (height, block) in base.blocks.iter().enumerate() {
        for len in (0..block.len()).step_by(3) {
            refusals += decode_as!(format!("block {height} cut at {len}"), &block[..len], Block);
        }
    }

    // The sentinels themselves, and codes, names and lengths made of them, as every kind of value.
    let id = p.as_bytes();
    let mut bad_code = vec![PREIMAGE_AS_BAD_CODE.len() as u8];
    bad_code.extend_from_slice(PREIMAGE_AS_BAD_CODE.as_bytes());
    let mut long_code = vec![46u8];
    long_code.extend_from_slice(PREIMAGE.repeat(2).as_bytes());
    let mut bad_grant = id.to_vec();
    bad_grant.push(1);
    bad_grant.extend_from_slice(&SECRET_SEED);
    bad_grant.push(1);
    bad_grant.push(1);
    bad_grant.extend_from_slice(&bad_code);
    let mut bad_body = vec![1u8];
    bad_body.extend_from_slice(&SALT);
    bad_body.extend_from_slice(id);
    bad_body.extend_from_slice(&7u64.to_le_bytes());
    bad_body.extend_from_slice(&T0.to_le_bytes());
    let mut unknown_kind = bad_body.clone();
    unknown_kind.push(0xAB);
    let mut grant_body = bad_body.clone();
    grant_body.push(5);
    grant_body.extend_from_slice(&bad_grant);
    let mut bad_version = vec![0xABu8];
    bad_version.extend_from_slice(&bad_body[1..]);
    let mut name = vec![PREIMAGE.len() as u8 + 1];
    name.extend_from_slice(PREIMAGE.as_bytes());
    name.push(0x07);
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("the seed", SECRET_SEED.to_vec()),
        ("the salt", SALT.to_vec()),
        ("the preimage", PREIMAGE.as_bytes().to_vec()),
        ("the patient's id", id.to_vec()),
        ("all the sentinels", [&SECRET_SEED[..], &SALT[..], id, PREIMAGE.as_bytes()].concat()),
        ("the preimage with spaces as a code", bad_code.clone()),
        ("the preimage twice as a code", long_code),
        ("a grant for the patient with a bad code", bad_grant),
        ("a body by the patient of an unknown kind", unknown_kind),
        ("a body by the patient granting with a bad code", grant_body),
        ("a body of an unknown version", bad_version),
        ("the preimage as a chain name", name),
        ("the preimage as a code set", [&[1u8][..], &bad_code].concat()),
        ("a basis of unsorted consents", [&[3u8, 2, 0, 0, 0][..], &SALT, &SECRET_SEED].concat()),
        ("a basis of 0xABAB consents", [&[3u8, 0xAB, 0xAB, 0, 0][..], &SALT].concat()),
        ("a window with a bad option tag", [&T0.to_le_bytes()[..], &[0xAB]].concat()),
    ];
    for (what, bytes) in &inputs {
        refusals += decode_as!(
            *what,
            bytes,
            SignedTx,
            TxBody,
            Payload,
            Block,
            BlockHeader,
            ConsentGrant,
            DelegationGrant,
            RecordAccess,
            AccessBasis,
            Genesis,
            GenesisParams,
            Grantee,
            Window,
            Code,
            CodeSet,
            Actions,
            Action,
            Role,
            PublicKey,
            Signature,
            ActorId,
        );
    }
    assert!(refusals > 5_000, "only {refusals} decode errors");
    a.require(&[
        "DecodeErrorKind::Truncated",
        "DecodeErrorKind::TrailingBytes",
        "DecodeErrorKind::UnknownVersion",
        "DecodeErrorKind::UnknownTag",
        "DecodeErrorKind::TooLong",
        "DecodeErrorKind::NonCanonical",
        "DecodeErrorKind::Invalid",
    ]);
    a.finish(15_000);
}

#[test]
fn debug_of_keys_ledgers_and_data_shows_no_secret() {
    let mut a = Audit::new();
    let base = base();
    let n = &base.net;
    let p = n.patient;

    // The patient's signing key shows its public key, never its seed.
    let debug = format!("{:?}", n.patient_key);
    assert!(debug.contains(&to_hex(&n.patient_key.public_key().to_bytes())), "{debug}");
    a.text("Debug of the patient's SigningKey", &debug, Scope::Secrets);
    a.text("Debug of the patient's SigningKey", &format!("{:#?}", n.patient_key), Scope::Secrets);
    a.text("Debug of a SigningKey made from the salt", &format!("{:#?}", SigningKey::from_seed(&SALT)), Scope::Secrets);
    let signature = n.patient_key.sign(PREIMAGE.as_bytes());
    a.text("Debug of the patient's signature over the preimage", &format!("{signature:?}"), Scope::All);

    // The seed and the salt held as `Zeroizing` arrays (what `to_seed` and `random_salt` return).
    a.text("Debug of the patient's seed as to_seed gives it", &format!("{:#?}", n.patient_key.to_seed()), Scope::All);
    a.text("Debug of the salt in a Zeroizing", &format!("{:#?}", SigningKey::from_seed(&SALT).to_seed()), Scope::All);
    a.text("Debug of a random salt", &format!("{:?}", keys::random_salt().unwrap()), Scope::All);

    // A ledger is shown by its chain and counts only.
    a.text("Debug of the ledger", &format!("{:#?}", n.ledger), Scope::All);

    // Data types that hold the patient's id: no secret.
    let view = n.ledger.state().latest();
    let mut data: Vec<(String, String)> = vec![
        ("State".into(), format!("{:#?}", n.ledger.state())),
        ("MemoryStore".into(), format!("{:?}", n.ledger.store())),
        ("the patient's Actor".into(), format!("{:#?}", n.ledger.actor(&p))),
        ("the auditor's Actor".into(), format!("{:#?}", n.ledger.actor(&n.auditor))),
        ("the patient's consents".into(), format!("{:#?}", n.ledger.consents_of(&p))),
        ("the patient's access history".into(), format!("{:#?}", n.ledger.access_history(&p))),
        ("the pending reviews".into(), format!("{:#?}", n.ledger.pending_reviews())),
        ("the patient's index".into(), format!("{:#?}", view.patient(&p))),
        ("the ledger's tree".into(), format!("{:?}", n.ledger.tree())),
        ("the ledger's head".into(), format!("{:?}", n.ledger.head())),
        ("a CheckRequest".into(), format!("{:#?}", n.request(n.doctor, "labs", "TREAT"))),
        ("a break-glass basis".into(), format!("{:#?}", n.break_glass())),
    ];
    data.push(("the access history".into(), format!("{:#?}", n.ledger.history())));
    for anchor in n.ledger.anchors_of(&p).unwrap() {
        data.push(("the sentinel anchor".into(), format!("{:#?}", n.ledger.anchor(&anchor.anchored.tx))));
    }
    for (height, bytes) in base.blocks.iter().enumerate() {
        let block = Block::from_bytes(bytes).unwrap();
        data.push((format!("block {height}"), format!("{block:#?}")));
        for tx in &block.txs {
            data.push((format!("a {} transaction", tx.body.payload.kind_name()), format!("{tx:?}")));
        }
    }
    assert!(data.iter().any(|(_, text)| text.contains(&p.to_string())), "the data holds the patient's id");
    for (what, text) in &data {
        a.text(&format!("Debug of {what}"), text, Scope::Secrets);
    }
    a.finish(30);
}

#[test]
fn c_abi_error_messages_name_no_patient_and_no_secret() {
    let mut a = Audit::new();
    let p = patient_id();
    let mut time = T0;
    // SAFETY (whole test): every pointer passed is NULL where the test says so, or valid for the call.
    unsafe {
        a.c_refused(
            "hc_key_from_seed with the seed and no output",
            c::hc_key_from_seed(&c::hc_secret { bytes: SECRET_SEED }, null_mut()),
            c::HC_NULL_ARGUMENT,
        );
        let patient_key = c_key(&SECRET_SEED);
        let patient = c_id(patient_key);
        assert_eq!(patient.bytes, *p.as_bytes());
        let (hospital, doctor_key, nurse_key, auditor_key, guardian_key) =
            (c_key(&[1; 32]), c_key(&[3; 32]), c_key(&[4; 32]), c_key(&[5; 32]), c_key(&[6; 32]));
        let (doctor, nurse, guardian) = (c_id(doctor_key), c_id(nurse_key), c_id(guardian_key));
        let hospital_id = c_id(hospital);

        // Settings refused.
        let mut ledger: *mut c::hc_ledger = null_mut();
        for (what, name, expected) in [
            (
                "a network named after the preimage, unprintably",
                cstring(format!("{PREIMAGE}\u{1}")),
                c::HC_INVALID_SETTINGS,
            ),
            ("a network named after the preimage, too long", cstring(PREIMAGE.repeat(3)), c::HC_TOO_LONG),
            ("a network named with the seed's bytes", cstring(SECRET_SEED.to_vec()), c::HC_INVALID_UTF8),
        ] {
            let settings = c_settings(&name, 1);
            let keys = [patient_key.cast_const()];
            a.c_refused(what, c::hc_ledger_create_memory(&settings, keys.as_ptr(), 1, T0, &mut ledger), expected);
        }
        let name = cstring("no-leakage");
        let keys = [patient_key.cast_const(), patient_key.cast_const()];
        a.c_refused(
            "a network founded twice by the patient's key",
            c::hc_ledger_create_memory(&c_settings(&name, 1), keys.as_ptr(), 2, T0, &mut ledger),
            c::HC_INVALID_SETTINGS,
        );
        let keys = [hospital.cast_const()];
        c_ok(
            "hc_ledger_create_memory",
            c::hc_ledger_create_memory(&c_settings(&name, 1), keys.as_ptr(), 1, T0, &mut ledger),
        );
        let sealers = [hospital.cast_const()];
        let seal = |time: &mut u64| {
            let mut info = c::hc_block_info::default();
            c_ok("hc_ledger_seal", c::hc_ledger_seal(ledger, sealers.as_ptr(), 1, &mut info));
            *time += HOUR;
            c_ok("hc_ledger_set_time", c::hc_ledger_set_time(ledger, *time));
        };
        let mut actor = c::hc_actor_id::default();
        for (key, role) in [
            (doctor_key, c::HC_ROLE_PROVIDER),
            (nurse_key, c::HC_ROLE_PROVIDER),
            (auditor_key, c::HC_ROLE_AUDITOR),
            (guardian_key, c::HC_ROLE_PATIENT),
        ] {
            c_ok("hc_ledger_register", c::hc_ledger_register(ledger, hospital, key, role, &mut actor));
        }
        seal(&mut time);

        // The patient is not registered yet.
        let (labs, treat, notes, etreat, star) =
            (cstring("labs"), cstring("TREAT"), cstring("notes"), cstring("ETREAT"), cstring("*"));
        let (labs_codes, treat_codes) = (CCodes::new(&[b"labs"]), CCodes::new(&[b"TREAT"]));
        let mut granted = c::hc_granted::default();
        let grant = c_grant(patient, doctor, c::HC_EFFECT_PERMIT, &labs_codes, &treat_codes, time);
        for (what, key, expected) in [
            ("a grant for the unregistered patient", doctor_key, c::HC_INVALID_PATIENT),
            ("a grant signed with the unregistered patient's key", patient_key, c::HC_UNKNOWN_KEY),
        ] {
            a.c_refused(what, c::hc_ledger_grant_consent(ledger, key, &grant, &mut granted), expected);
        }
        let mut decision = c::hc_decision::default();
        let request = c_request(patient, doctor, &labs, &treat, time);
        a.c_refused(
            "a check about the unregistered patient",
            c::hc_ledger_check(ledger, &request, &mut decision),
            c::HC_INVALID_PATIENT,
        );
        let request = c_request(guardian, patient, &labs, &treat, time);
        a.c_refused(
            "a check asked by the unregistered patient",
            c::hc_ledger_check(ledger, &request, &mut decision),
            c::HC_UNKNOWN_ACTOR,
        );
        let mut info = c::hc_actor_info::default();
        a.c_refused(
            "looking up the unregistered patient",
            c::hc_ledger_actor(ledger, &patient, &mut info),
            c::HC_UNKNOWN_ACTOR,
        );
        for (what, role, expected) in [
            ("registering with role 99", 99, c::HC_INVALID_ARGUMENT),
            ("registering the patient", c::HC_ROLE_PATIENT, c::HC_OK),
            ("registering the patient again", c::HC_ROLE_PATIENT, c::HC_KEY_IN_USE),
        ] {
            a.c_expect(what, c::hc_ledger_register(ledger, hospital, patient_key, role, &mut actor), expected);
        }
        let mut block = c::hc_block_info::default();
        let with_patient = [patient_key.cast_const()];
        for (what, count, expected) in [
            ("sealing with the patient's key", 1, c::HC_UNKNOWN_KEY),
            ("sealing with no key", 0, c::HC_NOT_ENOUGH_SEALERS),
        ] {
            a.c_refused(what, c::hc_ledger_seal(ledger, with_patient.as_ptr(), count, &mut block), expected);
        }
        seal(&mut time);

        // Grants refused.
        let grant = c_grant(patient, doctor, c::HC_EFFECT_PERMIT, &labs_codes, &treat_codes, time);
        let salt_id = c::hc_actor_id { bytes: SALT };
        let to_salt = c::hc_consent_grant { grantee: salt_id, ..grant };
        let empty = c::hc_consent_grant { not_after: time, ..grant };
        for (what, key, bad, expected) in [
            ("the doctor granting for the patient", doctor_key, grant, c::HC_UNAUTHORIZED),
            ("a grant to an actor id made of the salt", patient_key, to_salt, c::HC_UNKNOWN_GRANTEE),
            ("a grant with an empty window", patient_key, empty, c::HC_EMPTY_WINDOW),
        ] {
            a.c_refused(what, c::hc_ledger_grant_consent(ledger, key, &bad, &mut granted), expected);
        }
        for (what, sections, expected) in [
            ("sections: the preimage with spaces", CCodes::new(&[PREIMAGE_AS_BAD_CODE.as_bytes()]), c::HC_INVALID_CODE),
            ("sections: the preimage three times", CCodes::new(&[PREIMAGE.repeat(3).as_bytes()]), c::HC_TOO_LONG),
            ("sections: the salt's bytes", CCodes::new(&[&SALT[..]]), c::HC_INVALID_UTF8),
            ("sections: the preimage and *", CCodes::new(&[PREIMAGE.as_bytes(), b"*"]), c::HC_INVALID_CODE),
            ("sections: none", CCodes::new(&[]), c::HC_INVALID_CODE),
        ] {
            let bad = c_grant(patient, doctor, c::HC_EFFECT_PERMIT, &sections, &treat_codes, time);
            a.c_refused(
                &format!("a grant with {what}"),
                c::hc_ledger_grant_consent(ledger, patient_key, &bad, &mut granted),
                expected,
            );
        }
        for (what, bad) in [
            ("grantee kind 7", c::hc_consent_grant { grantee_kind: 7, ..grant }),
            ("effect 9", c::hc_consent_grant { effect: 9, ..grant }),
            ("actions 0", c::hc_consent_grant { actions: 0, ..grant }),
            ("grantee role 0", c::hc_consent_grant { grantee_kind: c::HC_GRANTEE_ROLE, ..grant }),
        ] {
            a.c_refused(
                &format!("a grant with {what}"),
                c::hc_ledger_grant_consent(ledger, patient_key, &bad, &mut granted),
                c::HC_INVALID_ARGUMENT,
            );
        }
        a.c_refused(
            "finding a consent covering an ungranted rule",
            c::hc_ledger_find_covering_consent(ledger, &grant, &mut granted),
            c::HC_NO_MATCH,
        );
        c_ok("the patient's grant", c::hc_ledger_grant_consent(ledger, patient_key, &grant, &mut granted));
        let c1 = granted.consent;
        a.c_refused(
            "the same grant again",
            c::hc_ledger_grant_consent(ledger, patient_key, &grant, &mut granted),
            c::HC_ALREADY_HAS_ACCESS,
        );
        let (notes_codes, all_codes) = (CCodes::new(&[b"notes"]), CCodes::new(&[b"*"]));
        let deny = c_grant(patient, nurse, c::HC_EFFECT_DENY, &notes_codes, &all_codes, time);
        c_ok("the patient's deny rule", c::hc_ledger_grant_consent(ledger, patient_key, &deny, &mut granted));
        let c2 = granted.consent;

        // Delegations.
        let mut delegation = c::hc_delegation_id::default();
        let to_self = c::hc_delegation_grant {
            patient,
            delegate: patient,
            scopes: c::HC_SCOPE_READ,
            not_before: time,
            not_after: 0,
        };
        let to_seed = c::hc_delegation_grant { delegate: c::hc_actor_id { bytes: SECRET_SEED }, ..to_self };
        let to_guardian =
            c::hc_delegation_grant { delegate: guardian, scopes: c::HC_SCOPE_MANAGE | c::HC_SCOPE_READ, ..to_self };
        let no_scopes = c::hc_delegation_grant { scopes: 0, ..to_guardian };
        for (what, key, grant, expected) in [
            ("the patient delegating to themself", patient_key, to_self, c::HC_SELF_DELEGATION),
            ("a delegation to an id made of the seed", patient_key, to_seed, c::HC_UNKNOWN_GRANTEE),
            ("a delegation with scopes 0", patient_key, no_scopes, c::HC_INVALID_ARGUMENT),
            ("the doctor delegating the patient's rights", doctor_key, to_guardian, c::HC_UNAUTHORIZED),
            ("the patient's delegation", patient_key, to_guardian, c::HC_OK),
        ] {
            a.c_expect(what, c::hc_ledger_grant_delegation(ledger, key, &grant, &mut delegation), expected);
        }
        let d1 = delegation;
        seal(&mut time);

        // Checks and accesses.
        let mut access = c::hc_access_id::default();
        let (bad_code, salt_code) = (cstring(PREIMAGE_AS_BAD_CODE), cstring(SALT.to_vec()));
        let doctor_reads = c_request(patient, doctor, &labs, &treat, time);
        let by_doctor = |section: &CString, purpose: &CString| c_request(patient, doctor, section, purpose, time);
        let by_salt = c::hc_request { requester: salt_id, ..doctor_reads };
        for (what, request, expected) in [
            ("a check about every section", by_doctor(&star, &treat), c::HC_WILDCARD_IN_REQUEST),
            ("a check about the preimage as a section", by_doctor(&bad_code, &treat), c::HC_INVALID_CODE),
            ("a check about the salt as a purpose", by_doctor(&labs, &salt_code), c::HC_INVALID_UTF8),
            ("a check by an id made of the salt", by_salt, c::HC_UNKNOWN_ACTOR),
            ("a check with action 3", c::hc_request { action: 3, ..doctor_reads }, c::HC_INVALID_ARGUMENT),
        ] {
            a.c_refused(what, c::hc_ledger_check(ledger, &request, &mut decision), expected);
        }
        a.c_maybe_refused(
            "a check about the patient before registration",
            c::hc_ledger_check(ledger, &c_request(patient, doctor, &labs, &treat, T0), &mut decision),
        );
        a.c_refused(
            "a check beyond the head",
            c::hc_ledger_check_as_of(ledger, 99, &doctor_reads, &mut decision),
            c::HC_HEIGHT_BEYOND_HEAD,
        );
        let nurse_reads = c_request(patient, nurse, &notes, &treat, time);
        let future = c::hc_request { at: time + DAY, ..doctor_reads };
        for (what, key, request, expected) in [
            ("the nurse's access denied by the patient's rule", nurse_key, nurse_reads, c::HC_ACCESS_DENIED),
            ("an access only break-glass permits", doctor_key, by_doctor(&notes, &etreat), c::HC_BASIS_MISMATCH),
            ("an access dated tomorrow", doctor_key, future, c::HC_ACCESS_IN_FUTURE),
        ] {
            a.c_refused(what, c::hc_ledger_record_access(ledger, key, &request, &mut access), expected);
        }
        let status = c::hc_ledger_record_access(ledger, nurse_key, &doctor_reads, &mut access);
        assert_ne!(status, c::HC_OK, "an access recorded with another actor's key");
        a.c_maybe_refused("an access recorded with another actor's key", status);
        let mut justification = c::hc_hash::default();
        let salt = c::hc_secret { bytes: SALT };
        c_ok("hc_commitment", c::hc_commitment(&salt, PREIMAGE.as_ptr(), PREIMAGE.len(), &mut justification));
        assert_eq!(justification.bytes, *the_commitment().as_bytes());
        assert_eq!(c_last_error(), "", "a call that succeeds clears the message");
        let reason = cstring("unconscious");
        let nurse_emergency = c_request(patient, nurse, &notes, &etreat, time);
        for (what, key, request, reason, expected) in [
            ("break-glass where a consent permits", doctor_key, doctor_reads, &reason, c::HC_BASIS_MISMATCH),
            ("break-glass with the reason *", nurse_key, nurse_emergency, &star, c::HC_WILDCARD_IN_REQUEST),
            ("break-glass with the preimage as reason", nurse_key, nurse_emergency, &bad_code, c::HC_INVALID_CODE),
            ("the nurse's break-glass access", nurse_key, nurse_emergency, &reason, c::HC_OK),
        ] {
            let reason = reason.as_ptr();
            let status = c::hc_ledger_record_break_glass(ledger, key, &request, reason, &justification, &mut access);
            a.c_expect(what, status, expected);
        }
        let a1 = access;
        c_ok("the doctor's access", c::hc_ledger_record_access(ledger, doctor_key, &doctor_reads, &mut access));
        let a2 = access;

        // Reviews.
        let mut tx = c::hc_tx_id::default();
        let salt_access = c::hc_access_id { bytes: SALT };
        for (what, key, access, justified, expected) in [
            ("reviewing an ordinary access", auditor_key, a2, 1, c::HC_NOT_BREAK_GLASS),
            ("reviewing an access id made of the salt", auditor_key, salt_access, 1, c::HC_UNKNOWN_ACCESS),
            ("reviewing with justified 5", auditor_key, a1, 5, c::HC_INVALID_ARGUMENT),
            ("the doctor reviewing", doctor_key, a1, 1, c::HC_UNAUTHORIZED),
            ("the review", auditor_key, a1, 0, c::HC_OK),
            ("reviewing twice", auditor_key, a1, 1, c::HC_ALREADY_REVIEWED),
        ] {
            a.c_expect(what, c::hc_ledger_review_break_glass(ledger, key, &access, justified, &mut tx), expected);
        }

        // Anchors of the sentinel commitment.
        let seed_id = c::hc_actor_id { bytes: SECRET_SEED };
        for (what, key, subject, section, expected) in [
            ("the doctor anchoring without write consent", doctor_key, patient, &labs, c::HC_ACCESS_DENIED),
            ("the auditor anchoring", auditor_key, patient, &labs, c::HC_UNAUTHORIZED),
            ("anchoring section *", hospital, patient, &star, c::HC_WILDCARD_IN_REQUEST),
            ("anchoring for an id made of the seed", hospital, seed_id, &labs, c::HC_INVALID_PATIENT),
            ("anchoring under the preimage as section", hospital, patient, &bad_code, c::HC_INVALID_CODE),
            ("the anchor", hospital, patient, &labs, c::HC_OK),
        ] {
            let (section, purpose) = (section.as_ptr(), treat.as_ptr());
            let status = c::hc_ledger_anchor_record(ledger, key, &subject, section, purpose, &justification, &mut tx);
            a.c_expect(what, status, expected);
        }

        // Revocations.
        let salt_consent = c::hc_consent_id { bytes: SALT };
        for (what, key, consent, expected) in [
            ("revoking a consent id made of the salt", patient_key, salt_consent, c::HC_UNKNOWN_CONSENT),
            ("the doctor revoking the patient's consent", doctor_key, c1, c::HC_UNAUTHORIZED),
            ("revoking the deny rule", patient_key, c2, c::HC_OK),
            ("revoking it twice", patient_key, c2, c::HC_CONSENT_ALREADY_REVOKED),
        ] {
            a.c_expect(what, c::hc_ledger_revoke_consent(ledger, key, &consent, &mut tx), expected);
        }
        let seed_delegation = c::hc_delegation_id { bytes: SECRET_SEED };
        for (what, delegation, expected) in [
            ("revoking a delegation id made of the seed", seed_delegation, c::HC_UNKNOWN_DELEGATION),
            ("revoking the delegation", d1, c::HC_OK),
            ("revoking it twice", d1, c::HC_DELEGATION_ALREADY_REVOKED),
        ] {
            a.c_expect(what, c::hc_ledger_revoke_delegation(ledger, patient_key, &delegation, &mut tx), expected);
        }

        // Keys.
        let spare = c_key(&[40; 32]);
        for (what, signer, actor, new_key, expected) in [
            ("rotating the patient's key to the doctor's", patient_key, patient, doctor_key, c::HC_KEY_IN_USE),
            ("the doctor rotating the patient's key", doctor_key, patient, spare, c::HC_UNAUTHORIZED),
            ("rotating the key of an id made of the salt", hospital, salt_id, spare, c::HC_UNKNOWN_ACTOR),
        ] {
            a.c_refused(what, c::hc_ledger_rotate_key(ledger, signer, &actor, new_key, &mut tx), expected);
        }
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut invalid_keys = 0;
        for bytes in
            [SECRET_SEED, SALT, *p.as_bytes(), identity].into_iter().chain((0..16u8).map(|i| SALT.map(|b| b ^ i)))
        {
            let public = c::hc_public_key { bytes };
            let status = c::hc_actor_id_from_public_key(&public, &mut actor);
            if status != c::HC_OK {
                a.c_refused("an id from sentinel bytes as a public key", status, c::HC_INVALID_KEY);
                let mut payload: *mut c::hc_payload = null_mut();
                let proof = c::hc_signature { bytes: [0xAB; 64] };
                a.c_refused(
                    "registering sentinel bytes as a public key",
                    c::hc_payload_register_actor(&public, &proof, c::HC_ROLE_PATIENT, &mut payload),
                    c::HC_INVALID_KEY,
                );
                a.c_refused(
                    "rotating the patient's key to sentinel bytes",
                    c::hc_payload_rotate_key(&patient, &public, &proof, &mut payload),
                    c::HC_INVALID_KEY,
                );
                let mut len = 0;
                a.c_refused(
                    "possession bytes of sentinel bytes",
                    c::hc_ledger_possession_bytes(ledger, &public, null_mut(), 0, &mut len),
                    c::HC_INVALID_KEY,
                );
                invalid_keys += 1;
            }
        }
        assert!(invalid_keys >= 2, "only {invalid_keys} invalid keys");

        // The external-signer path: a grant for the patient prepared, then mis-signed.
        let meds_codes = CCodes::new(&[b"meds"]);
        let meds = c_grant(patient, doctor, c::HC_EFFECT_PERMIT, &meds_codes, &treat_codes, time);
        let mut payload: *mut c::hc_payload = null_mut();
        let bad_codes = CCodes::new(&[PREIMAGE_AS_BAD_CODE.as_bytes()]);
        let bad = c_grant(patient, doctor, c::HC_EFFECT_PERMIT, &bad_codes, &treat_codes, time);
        a.c_refused(
            "a payload with the preimage as section",
            c::hc_payload_grant_consent(&bad, &mut payload),
            c::HC_INVALID_CODE,
        );
        c_ok("hc_payload_grant_consent", c::hc_payload_grant_consent(&meds, &mut payload));
        let mut prepared: *mut c::hc_tx = null_mut();
        c_ok("hc_ledger_prepare", c::hc_ledger_prepare(ledger, &patient, payload, &mut prepared));
        a.c_refused("submitting it unsigned", c::hc_ledger_submit(ledger, prepared, &mut tx), c::HC_MISUSE);
        let mut len = 0;
        a.c_refused(
            "asking the size of its signing bytes",
            c::hc_tx_signing_bytes(prepared, null_mut(), 0, &mut len),
            c::HC_BUFFER_TOO_SMALL,
        );
        let mut bytes = vec![0u8; len];
        c_ok("hc_tx_signing_bytes", c::hc_tx_signing_bytes(prepared, bytes.as_mut_ptr(), len, &mut len));
        let mut signature = c::hc_signature { bytes: [0; 64] };
        c_ok("hc_key_sign", c::hc_key_sign(hospital, bytes.as_ptr(), len, &mut signature));
        c_ok("hc_tx_attach_signature", c::hc_tx_attach_signature(prepared, &signature));
        a.c_refused(
            "submitting it signed by the hospital",
            c::hc_ledger_submit(ledger, prepared, &mut tx),
            c::HC_BAD_SIGNATURE,
        );
        c::hc_tx_free(prepared);
        let mut prepared: *mut c::hc_tx = null_mut();
        c_ok("hc_ledger_prepare", c::hc_ledger_prepare(ledger, &salt_id, payload, &mut prepared));
        c_ok("hc_key_sign", c::hc_key_sign(patient_key, bytes.as_ptr(), len, &mut signature));
        c_ok("hc_tx_attach_signature", c::hc_tx_attach_signature(prepared, &signature));
        a.c_refused(
            "submitting it in the name of an id made of the salt",
            c::hc_ledger_submit(ledger, prepared, &mut tx),
            c::HC_UNKNOWN_SIGNER,
        );
        c::hc_tx_free(prepared);
        a.c_refused(
            "signing it as the doctor",
            c::hc_ledger_sign_and_submit(ledger, doctor_key, payload, &mut tx),
            c::HC_UNAUTHORIZED,
        );
        c::hc_payload_free(payload);

        // Block proposals sealed wrongly.
        c_ok(
            "registering a spare key",
            c::hc_ledger_register(ledger, hospital, spare, c::HC_ROLE_PROVIDER, &mut actor),
        );
        // A block proposed by `proposer`, sealed by each (key, authority) of `seals`.
        let proposed = |proposer: &c::hc_actor_id, seals: &[(*mut c::hc_key, c::hc_actor_id)]| {
            let mut proposal = null_mut();
            c_ok("hc_ledger_propose_block", c::hc_ledger_propose_block(ledger, proposer, &mut proposal));
            for (signer, authority) in seals {
                let mut len = 0;
                let mut bytes = vec![0u8; 256];
                c_ok(
                    "hc_proposal_seal_bytes",
                    c::hc_proposal_seal_bytes(proposal, bytes.as_mut_ptr(), bytes.len(), &mut len),
                );
                let mut signature = c::hc_signature { bytes: [0; 64] };
                c_ok("hc_key_sign", c::hc_key_sign(*signer, bytes.as_ptr(), len, &mut signature));
                c_ok("hc_proposal_add_seal", c::hc_proposal_add_seal(proposal, authority, &signature));
            }
            proposal
        };
        let mut commit = |proposal| c::hc_ledger_commit_block(ledger, proposal, &mut block);
        let proposal = proposed(&patient, &[(hospital, hospital_id)]);
        a.c_refused("committing a block proposed by the patient", commit(proposal), c::HC_VERIFY_PROPOSER_NOT_SEALER);
        c::hc_proposal_free(proposal);
        let proposal = proposed(&hospital_id, &[(hospital, hospital_id), (patient_key, patient)]);
        a.c_refused("committing a block the patient sealed", commit(proposal), c::HC_VERIFY_SEALER_NOT_AUTHORITY);
        c::hc_proposal_free(proposal);
        let proposal = proposed(&hospital_id, &[(patient_key, hospital_id)]);
        a.c_refused("committing a block sealed with the patient's key", commit(proposal), c::HC_VERIFY_BAD_SEAL);
        let other = c_key(&[41; 32]);
        c_ok(
            "registering another key",
            c::hc_ledger_register(ledger, hospital, other, c::HC_ROLE_PROVIDER, &mut actor),
        );
        a.c_refused("committing a stale proposal", commit(proposal), c::HC_STALE_PROPOSAL);
        c::hc_proposal_free(proposal);
        seal(&mut time);
        let mut proposal = null_mut();
        a.c_refused(
            "proposing an empty block",
            c::hc_ledger_propose_block(ledger, &hospital_id, &mut proposal),
            c::HC_NOTHING_TO_SEAL,
        );
        a.c_refused(
            "sealing nothing",
            c::hc_ledger_seal(ledger, sealers.as_ptr(), 1, &mut block),
            c::HC_NOTHING_TO_SEAL,
        );

        // Erasure and deactivation.
        for (what, key, subject, expected) in [
            ("the nurse erasing the patient", nurse_key, patient, c::HC_UNAUTHORIZED),
            ("erasing an id made of the seed", hospital, seed_id, c::HC_INVALID_PATIENT),
            ("erasing the patient", hospital, patient, c::HC_OK),
            ("erasing the patient twice", patient_key, patient, c::HC_ALREADY_ERASED),
        ] {
            a.c_expect(what, c::hc_ledger_erase_subject(ledger, key, &subject, &mut tx), expected);
        }
        let later = c_grant(patient, nurse, c::HC_EFFECT_PERMIT, &meds_codes, &treat_codes, time);
        a.c_refused(
            "a grant after erasure",
            c::hc_ledger_grant_consent(ledger, patient_key, &later, &mut granted),
            c::HC_PATIENT_ERASED,
        );
        for (what, key, subject, expected) in [
            ("the patient deactivating the doctor", patient_key, doctor, c::HC_UNAUTHORIZED),
            ("deactivating the patient", hospital, patient, c::HC_OK),
            ("deactivating the patient twice", hospital, patient, c::HC_ALREADY_DEACTIVATED),
            ("deactivating the only authority", hospital, hospital_id, c::HC_WOULD_BREAK_QUORUM),
        ] {
            a.c_expect(what, c::hc_ledger_deactivate(ledger, key, &subject, &mut tx), expected);
        }
        a.c_refused(
            "the deactivated patient signing",
            c::hc_ledger_revoke_consent(ledger, patient_key, &c1, &mut tx),
            c::HC_SIGNER_DEACTIVATED,
        );
        let to_patient = c_grant(guardian, patient, c::HC_EFFECT_PERMIT, &labs_codes, &treat_codes, time);
        a.c_refused(
            "a grant to the deactivated patient",
            c::hc_ledger_grant_consent(ledger, guardian_key, &to_patient, &mut granted),
            c::HC_GRANTEE_DEACTIVATED,
        );
        seal(&mut time);

        // Proofs, checkpoints and receipts of the patient's transactions, refused.
        let grant_tx = c::hc_tx_id { bytes: c1.bytes };
        let seed_tx = c::hc_tx_id { bytes: SECRET_SEED };
        let (mut index, mut len) = (0u64, 0usize);
        a.c_refused(
            "the position of a transaction id made of the seed",
            c::hc_ledger_position(ledger, &seed_tx, &mut index),
            c::HC_NOT_SEALED,
        );
        let mut receipt = vec![0 as c_char; c::HC_MAX_RECEIPT_LEN + 1];
        for (what, id, expected) in [
            ("a receipt for the patient's grant before any checkpoint", grant_tx, c::HC_NO_CHECKPOINT),
            ("a receipt for a transaction id made of the seed", seed_tx, c::HC_NOT_SEALED),
        ] {
            let status = c::hc_ledger_receipt(ledger, &id, receipt.as_mut_ptr(), receipt.len(), &mut len);
            a.c_refused(what, status, expected);
        }
        c_ok("hc_ledger_position", c::hc_ledger_position(ledger, &grant_tx, &mut index));
        let mut leaf = vec![0u8; c::HC_MAX_TX_LEN];
        let mut leaf_len = 0;
        c_ok(
            "hc_ledger_transaction_bytes",
            c::hc_ledger_transaction_bytes(ledger, index, leaf.as_mut_ptr(), leaf.len(), &mut leaf_len),
        );
        let mut info = c::hc_ledger_info::default();
        c_ok("hc_ledger_get_info", c::hc_ledger_get_info(ledger, &mut info));
        let mut path = vec![0u8; c::HC_MAX_PROOF_BYTES];
        let mut path_len = 0;
        c_ok(
            "hc_ledger_prove_inclusion",
            c::hc_ledger_prove_inclusion(ledger, index, info.tree_size, path.as_mut_ptr(), path.len(), &mut path_len),
        );
        let (salt_root, seed_root) = (c::hc_hash { bytes: SALT }, c::hc_hash { bytes: SECRET_SEED });
        a.c_refused(
            "the patient's grant proved against a root made of the salt",
            c::hc_verify_inclusion(leaf.as_ptr(), leaf_len, index, info.tree_size, path.as_ptr(), path_len, &salt_root),
            c::HC_PROOF_MISMATCH,
        );
        a.c_refused(
            "the patient's grant with a path cut short",
            c::hc_verify_inclusion(leaf.as_ptr(), leaf_len, index, info.tree_size, path.as_ptr(), 32, &info.tree_root),
            c::HC_PROOF_WRONG_LENGTH,
        );
        a.c_refused(
            "a consistency proof between roots made of the seed and the salt",
            c::hc_verify_consistency(1, 2, path.as_ptr(), 32, &seed_root, &salt_root),
            c::HC_PROOF_MISMATCH,
        );
        a.c_refused(
            "proving the patient's grant in a tree beyond the ledger",
            c::hc_ledger_prove_inclusion(ledger, index, u64::MAX, path.as_mut_ptr(), path.len(), &mut path_len),
            c::HC_BAD_SIZES,
        );

        // The checkpoint, a witness named after the preimage with the patient's key, and receipts.
        let mut note = vec![0 as c_char; c::HC_MAX_NOTE_LEN + 1];
        c_ok(
            "hc_ledger_publish_checkpoint",
            c::hc_ledger_publish_checkpoint(ledger, sealers.as_ptr(), 1, note.as_mut_ptr(), note.len(), &mut len),
        );
        let mut patient_public = c::hc_public_key::default();
        c_ok("hc_key_public", c::hc_key_public(patient_key, &mut patient_public));
        let mut vkey = vec![0 as c_char; c::HC_MAX_VERIFIER_KEY_LEN + 1];
        let bad_name = cstring(PREIMAGE_AS_BAD_CODE);
        a.c_refused(
            "a witness named after the preimage, with spaces",
            c::hc_witness_verifier_key(bad_name.as_ptr(), &patient_public, vkey.as_mut_ptr(), vkey.len(), &mut len),
            c::HC_INVALID_ARGUMENT,
        );
        let mut cosigned = vec![0 as c_char; c::HC_MAX_NOTE_LEN + 1];
        a.c_refused(
            "the patient cosigning under a name made of the preimage, with spaces",
            c::hc_checkpoint_cosign(
                note.as_ptr(),
                bad_name.as_ptr(),
                patient_key,
                1,
                cosigned.as_mut_ptr(),
                cosigned.len(),
                &mut len,
            ),
            c::HC_INVALID_ARGUMENT,
        );
        let witness_name = cstring(PREIMAGE);
        c_ok(
            "hc_witness_verifier_key",
            c::hc_witness_verifier_key(witness_name.as_ptr(), &patient_public, vkey.as_mut_ptr(), vkey.len(), &mut len),
        );
        let mut authority_public = c::hc_public_key::default();
        c_ok("hc_key_public", c::hc_key_public(hospital, &mut authority_public));
        let mut authority_vkey = vec![0 as c_char; c::HC_MAX_VERIFIER_KEY_LEN + 1];
        c_ok(
            "hc_authority_verifier_key",
            c::hc_authority_verifier_key(
                &info.chain,
                &authority_public,
                authority_vkey.as_mut_ptr(),
                authority_vkey.len(),
                &mut len,
            ),
        );
        let (authorities, witnesses) = ([authority_vkey.as_ptr()], [vkey.as_ptr()]);
        let policy = c::hc_checkpoint_policy {
            authorities: authorities.as_ptr(),
            authority_count: 1,
            authority_threshold: 1,
            witnesses: witnesses.as_ptr(),
            witness_count: 1,
            witness_threshold: 1,
        };
        let mut checkpoint = c::hc_checkpoint_info::default();
        a.c_refused(
            "a checkpoint the patient's witness key did not cosign",
            c::hc_checkpoint_verify(note.as_ptr(), &policy, &mut checkpoint),
            c::HC_TOO_FEW_COSIGNATURES,
        );
        c_ok(
            "hc_ledger_receipt",
            c::hc_ledger_receipt(ledger, &grant_tx, receipt.as_mut_ptr(), receipt.len(), &mut len),
        );
        let mut verified = c::hc_receipt_info::default();
        a.c_refused(
            "the receipt of the patient's grant without the witness",
            c::hc_receipt_verify(receipt.as_ptr(), &policy, &mut verified),
            c::HC_TOO_FEW_COSIGNATURES,
        );
        let receipt_bytes = CStr::from_ptr(receipt.as_ptr()).to_bytes();
        let index_digit = receipt_bytes.windows(6).position(|w| w == b"index ").unwrap() + 6;
        let transaction_byte = receipt_bytes.windows(12).position(|w| w == b"transaction ").unwrap() + 20;
        for (what, at, expected) in [
            ("the receipt of the patient's grant, its transaction changed", transaction_byte, None),
            ("the receipt of the patient's grant, its header changed", 0, Some(c::HC_MALFORMED_RECEIPT)),
            ("the receipt of the patient's grant, its index changed", index_digit, None),
        ] {
            let mut changed = receipt.clone();
            changed[at] ^= 0x01;
            let status = c::hc_receipt_verify(changed.as_ptr(), &policy, &mut verified);
            a.c_refused(what, status, expected.unwrap_or(status));
            assert_ne!(status, c::HC_OK, "{what}");
        }
        let receipt_of_preimage = cstring(format!("healthchain-receipt v1\nindex 0\ntransaction {PREIMAGE}\n\n"));
        a.c_refused(
            "a receipt whose transaction is the preimage",
            c::hc_receipt_verify(receipt_of_preimage.as_ptr(), &policy, &mut verified),
            c::HC_MALFORMED_RECEIPT,
        );
        for (what, text, expected) in [
            ("a note whose text is the preimage", format!("{PREIMAGE}\n\nno signature\n"), c::HC_MALFORMED_NOTE),
            (
                "a checkpoint of a log named after the preimage",
                format!(
                    "{PREIMAGE}\nx\nroot\n\n\u{2014} {PREIMAGE} AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
                ),
                c::HC_MALFORMED_CHECKPOINT,
            ),
        ] {
            let text = cstring(text);
            a.c_refused(what, c::hc_checkpoint_verify(text.as_ptr(), &policy, &mut checkpoint), expected);
            a.c_refused(what, c::hc_ledger_carry_checkpoint(ledger, text.as_ptr()), expected);
            let status = c::hc_ledger_receipt_at(
                ledger,
                &grant_tx,
                text.as_ptr(),
                receipt.as_mut_ptr(),
                receipt.len(),
                &mut len,
            );
            a.c_refused(what, status, expected);
        }
        let mut standing = c::hc_standing::default();
        c_ok(
            "hc_ledger_standing",
            c::hc_ledger_standing(
                ledger,
                note.as_ptr(),
                &c::hc_checkpoint_policy { witness_count: 0, witness_threshold: 0, ..policy },
                &mut standing,
            ),
        );
        assert_eq!(standing.status, c::HC_OK);

        c::hc_ledger_close(ledger);
        for key in [patient_key, hospital, doctor_key, nurse_key, auditor_key, guardian_key, spare, other] {
            c::hc_key_free(key);
        }
    }
    a.require(&[
        "status invalid or unknown patient",
        "status access not permitted",
        "status access basis does not match the decision",
        "status invalid public key",
        "status invalid code",
        "status bad signature",
        "status proposer did not seal the block",
        "status transaction not sealed in this ledger",
        "status no checkpoint holds the transaction",
        "status proof does not lead to the expected root",
        "status checkpoint cosigned by too few witnesses",
        "status malformed receipt",
        "status malformed checkpoint",
    ]);
    a.finish(110);
}

#[test]
fn ledger_files_that_fail_name_no_patient_and_no_secret() {
    let mut a = Audit::new();
    let dir = temp_dir("no-leakage-files");
    let base = base();
    let n = &base.net;
    let clock = || Box::new(ManualClock::new(T0 + DAY));

    // A good file about the patient, opened by a writer.
    let good = dir.join("good.hcl");
    write_ledger_file(&good, &base.blocks);
    let bytes = std::fs::read(&good).unwrap();
    // The header layout of docs/FORMAT.md (version at 8, CRC-32C of the first 44 bytes at 44), if it still is.
    let header_as_documented = crc32c::crc32c(&bytes[..44]).to_le_bytes() == bytes[44..48];
    let writer = Ledger::open_file(&good, clock(), OpenOptions::default()).unwrap();
    a.refused(
        "opening a locked ledger file",
        Ledger::open_file(&good, clock(), OpenOptions::default()),
        "StoreError::Locked",
    );
    let mut out: *mut c::hc_ledger = null_mut();
    let mut report = zeroed_report();
    a.c_refused("opening a locked ledger file", c_open_file(&good, 0, T0, &mut out), c::HC_LOCKED);
    a.c_refused("opening with unknown flags", c_open_file(&good, 0x80, T0, &mut out), c::HC_INVALID_ARGUMENT);
    drop(writer);
    a.refused(
        "creating a ledger over an existing file",
        Ledger::create_file(&good, clock(), &LedgerSettings::new("x"), &[&n.patient_key]),
        "StoreError::Io",
    );
    let keys = [c_key(&SECRET_SEED)];
    let name = cstring("no-leakage");
    // SAFETY: valid pointers.
    unsafe {
        let settings = c_settings(&name, 1);
        for (what, path, expected) in [
            ("creating a ledger over an existing file", good.clone(), c::HC_ALREADY_EXISTS),
            ("creating a ledger in a missing directory", dir.join("no-such-dir").join("x.hcl"), c::HC_NOT_FOUND),
        ] {
            let path = c_path(&path);
            let created = c::hc_ledger_create_file(path.as_ptr(), &settings, keys.as_ptr().cast(), 1, T0, &mut out);
            a.c_refused(what, created, expected);
        }
        c::hc_key_free(keys[0]);
    }

    // Read-only: submissions refused.
    let read_only = OpenOptions { read_only: true, strict: false };
    let mut reader = Ledger::open_file(&good, clock(), read_only).unwrap();
    let grant = ConsentGrant {
        window: Window { not_before: T0 + DAY, not_after: None },
        ..n.grant(Grantee::Actor(n.nurse), Effect::Permit, &["meds"], &["TREAT"])
    };
    a.refused("a grant on a read-only ledger", reader.grant_consent(&n.patient_key, grant), "StoreError::ReadOnly");
    drop(reader);

    // Files that do not open, each through Rust and through C.
    let mut foreign = SECRET_SEED.to_vec();
    foreign.extend_from_slice(&SALT);
    foreign.extend_from_slice(PREIMAGE.as_bytes());
    foreign.extend_from_slice(n.patient.as_bytes());
    let mut version = bytes.clone();
    version[8..12].copy_from_slice(&0xABAB_u32.to_le_bytes());
    let crc = crc32c::crc32c(&version[..44]);
    version[44..48].copy_from_slice(&crc.to_le_bytes());
    let location = FileStore::open(&good, read_only).unwrap().location(1).unwrap() as usize;
    let mut damaged = bytes.clone();
    let key = n.patient_key.public_key().to_bytes();
    let at = location + bytes[location..].windows(32).position(|w| w == key).unwrap();
    damaged[at] ^= 0x01;
    let torn = bytes[..bytes.len() - 10].to_vec();
    let strict = OpenOptions { read_only: false, strict: true };
    type Case<'a> = (&'a str, Vec<u8>, OpenOptions, Option<&'a str>, Option<i32>);
    let mut cases: Vec<Case> = vec![
        (
            "a file of sentinel bytes",
            foreign,
            OpenOptions::default(),
            Some("StoreError::NotALedger"),
            Some(c::HC_NOT_A_LEDGER),
        ),
        (
            "a file damaged in the patient's registration",
            damaged,
            OpenOptions::default(),
            Some("StoreError::Damaged"),
            Some(c::HC_DAMAGED),
        ),
        (
            "a file whose last block is torn, opened strictly",
            torn,
            strict,
            Some("StoreError::TornTail"),
            Some(c::HC_TORN_TAIL),
        ),
        // An interrupted creation: how it is reported is being changed elsewhere.
        ("an empty file", Vec::new(), OpenOptions::default(), None, None),
    ];
    if header_as_documented {
        let case = (
            "a file of version 0xABAB",
            version,
            OpenOptions::default(),
            Some("StoreError::UnknownVersion"),
            Some(c::HC_UNSUPPORTED_VERSION),
        );
        cases.push(case);
    }
    for (i, (what, contents, options, expected, status)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("case-{i}.hcl"));
        std::fs::write(&path, &contents).unwrap();
        match expected {
            Some(expected) => a.refused(what, Ledger::open_file(&path, clock(), options), expected),
            None => a.refused_somehow(what, Ledger::open_file(&path, clock(), options)),
        }
        let flags = if options.strict { c::HC_OPEN_STRICT } else { 0 };
        let opened = c_open_file(&path, flags, T0, &mut out);
        assert_ne!(opened, c::HC_OK, "{what}");
        a.c_refused(what, opened, status.unwrap_or(opened));
        if !options.strict {
            let verified = c_verify_file(&path, &mut report);
            assert_ne!(verified, c::HC_OK, "verifying {what}");
            a.c_refused(&format!("verifying {what}"), verified, status.unwrap_or(verified));
        }
    }
    let missing = dir.join("missing.hcl");
    a.refused("opening a missing file", Ledger::open_file(&missing, clock(), OpenOptions::default()), "StoreError::Io");
    a.c_refused("opening a missing file", c_open_file(&missing, 0, T0, &mut out), c::HC_NOT_FOUND);
    a.c_refused("verifying a missing file", c_verify_file(&missing, &mut report), c::HC_NOT_FOUND);
    // A read-only C handle refuses submissions.
    c_ok("opening read-only", c_open_file(&good, c::HC_OPEN_READ_ONLY, T0 + DAY, &mut out));
    // SAFETY: valid pointers.
    unsafe {
        let patient_key = c_key(&SECRET_SEED);
        let (meds, treat) = (CCodes::new(&[b"meds"]), CCodes::new(&[b"TREAT"]));
        let grant = c_grant(
            c_id(patient_key),
            c::hc_actor_id { bytes: *n.nurse.as_bytes() },
            c::HC_EFFECT_PERMIT,
            &meds,
            &treat,
            T0 + DAY,
        );
        let mut granted = c::hc_granted::default();
        a.c_refused(
            "a grant on a read-only ledger",
            c::hc_ledger_grant_consent(out, patient_key, &grant, &mut granted),
            c::HC_READ_ONLY,
        );
        c::hc_ledger_close(out);
        c::hc_key_free(patient_key);
    }

    // Tampered ledgers about the patient, as files: opening refuses them, verification reports them.
    for (i, tampered) in tampered_chains(&base).into_iter().enumerate() {
        let path = dir.join(format!("tampered-{i}.hcl"));
        write_ledger_file(&path, &tampered.chain);
        if let Err(e) = Ledger::open_file(&path, clock(), OpenOptions::default()) {
            a.ledger_error(&format!("opening a file with {}", tampered.name), &e);
        }
        let status = c_open_file(&path, c::HC_OPEN_VERIFY_SIGNATURES, T0, &mut out);
        a.c_refused(&format!("opening (verifying signatures) a file with {}", tampered.name), status, c::HC_CORRUPT);
        report = zeroed_report();
        c_ok("hc_verify_file", c_verify_file(&path, &mut report));
        assert_eq!(report.valid, 0, "{}", tampered.name);
        let reason = report_reason(&report);
        assert!(!reason.is_empty(), "{}", tampered.name);
        a.text(&format!("hc_verify_report.failure_reason of a file with {}", tampered.name), &reason, Scope::All);
    }
    let _ = std::fs::remove_dir_all(&dir);

    a.require(&[
        "StoreError::Locked",
        "StoreError::Io",
        "StoreError::ReadOnly",
        "StoreError::NotALedger",
        "StoreError::Damaged",
        "StoreError::TornTail",
        "io::ErrorKind::NotFound",
        "io::ErrorKind::AlreadyExists",
        "LedgerError::Corrupt",
        "LedgerError::StoreEmpty",
        "status ledger does not verify",
        "status ledger file damaged",
    ]);
    a.finish(200);
}
