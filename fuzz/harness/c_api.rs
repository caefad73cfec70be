//! Target `c_api`: a sequence of C API calls on one in-memory ledger, with arguments drawn from the input:
//! valid and unknown ids, ids the ledger issued earlier, NULL pointers, codes that are valid, wildcards,
//! too long, not UTF-8 or NULL, enumeration values and flags out of range, arbitrary times. Then FHIR
//! calls (a list of their own, so that inputs kept before they existed decode to the same calls): Consents
//! built from the input's choices (R4 or R5 shaped, any status, actors, purposes, periods, nested
//! provisions) or raw bytes, imported in place of issued or arbitrary consent ids into arrays of any room,
//! exports, AuditEvents and accountings into buffers of any size, directories and names valid or raw.
//!
//! Properties, for every call: no panic reaches the boundary (`HC_PANIC`) and no handle is poisoned; the
//! status is a documented one (`hc_status_str` knows it); a NULL pointer argument gives `HC_NULL_ARGUMENT`;
//! `hc_last_error_message` is empty after a success and names the failure otherwise; a failed call writes
//! nothing to its outputs (a buffer call too small writes only the size it needs). At the end, once the pending transactions are sealed, everything the ledger
//! accepted verifies (`hc_ledger_verify`).

#![allow(unsafe_code)]

use arbitrary::{Arbitrary, Unstructured};
use healthchain::fhir::datetime::format_instant;
use healthchain_capi::*;
use std::ffi::{CStr, CString, c_char};
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::OnceLock;

/// Calls per input.
pub const MAX_CALLS: usize = 12;

/// The first instant of every run.
const T0: u64 = 1_795_424_400_000;

/// Codes worth trying besides the fuzzer's own bytes.
const CODES: [&str; 9] = ["labs", "meds", "TREAT", "ETREAT", "HPAYMT", "BTG", "*", "unconscious", "a.b-c_d"];

/// A string argument.
#[derive(Arbitrary, Debug)]
enum Text {
    Known(u8),
    Raw(Vec<u8>),
    Null,
}

/// An id argument.
#[derive(Arbitrary, Debug)]
enum Id {
    /// The actor id of one of the keys.
    Actor(u8),
    /// An id an earlier call returned (a consent, a delegation, an access, a transaction).
    Issued(u8),
    Raw([u8; 32]),
    Null,
}

/// A consent question (also the access to record).
#[derive(Arbitrary, Debug)]
struct Request {
    patient: Id,
    requester: Id,
    section: Text,
    purpose: Text,
    action: u32,
    /// How far before the ledger's now.
    back: u16,
}

/// One C API call.
#[derive(Arbitrary, Debug)]
enum Call {
    Register { authority: u8, key: u8, role: u32 },
    Grant { signer: u8, grant: Grant, find_covering: bool },
    Revoke { signer: u8, consent: Id },
    Delegate { signer: u8, patient: Id, delegate: Id, scopes: u32, until: Option<u16> },
    RevokeDelegation { signer: u8, delegation: Id },
    Access { accessor: u8, request: Request },
    BreakGlass { accessor: u8, request: Request, reason: Text },
    Review { reviewer: u8, access: Id, justified: u32 },
    Anchor { writer: u8, patient: Id, section: Text, purpose: Text },
    Deactivate { authority: u8, actor: Id },
    Erase { signer: u8, patient: Id },
    Rotate { signer: u8, actor: Id, new_key: u8 },
    Check { request: Request, as_of: Option<u8> },
    History { patient: Id, pending_reviews: bool, steps: u8 },
    Seal { sealers: Vec<u8> },
    Advance(u16),
    Info,
    Actor(Id),
    Verify,
}

/// A consent grant.
#[derive(Arbitrary, Debug)]
struct Grant {
    patient: Id,
    grantee_kind: u32,
    grantee: Id,
    grantee_role: u32,
    effect: u32,
    sections: Vec<Text>,
    purposes: Vec<Text>,
    actions: u32,
    starts: i16,
    until: Option<u16>,
}

/// The run's input.
#[derive(Arbitrary, Debug)]
struct Script {
    break_glass: bool,
    calls: Vec<Call>,
    fhir: Vec<FhirCall>,
}

/// One call of the FHIR functions.
#[derive(Arbitrary, Debug)]
enum FhirCall {
    /// The authority registers key `key` as a patient (even `role`), a provider (odd) or `role % 8`.
    Register {
        key: u8,
        role: u8,
    },
    /// `signer`: the key of the Consent's own patient when `None`.
    Import {
        signer: Option<u8>,
        consent: ConsentText,
        release: Release,
        directory: DirectoryText,
        replaces: Vec<Id>,
        room: u8,
    },
    Export {
        patient: Id,
        height: u8,
        release: Release,
        directory: DirectoryText,
        room: u16,
    },
    AuditEvents {
        patient: Id,
        every: u32,
        back: u32,
        release: Release,
        ndjson: u32,
        directory: DirectoryText,
        room: u16,
    },
    Disclosures {
        patient: Id,
        format: u32,
        names: DirectoryText,
        note: Text,
        room: u16,
    },
    Seal,
}

/// A FHIR release argument: R4 or R5, or any other number.
#[derive(Arbitrary, Debug)]
enum Release {
    R4,
    R5,
    Other(u32),
}

impl Release {
    fn number(&self) -> u32 {
        match self {
            Release::R4 => 4,
            Release::R5 => 5,
            Release::Other(n) => *n,
        }
    }
}

/// A Consent: built from choices, in the shape of the release it is imported as, or raw bytes.
#[derive(Arbitrary, Debug)]
enum ConsentText {
    Built { patient: u8, status: u8, permit: bool, provisions: Vec<ProvisionChoice> },
    Raw(Vec<u8>),
}

/// A provision of a built Consent.
#[derive(Arbitrary, Debug)]
struct ProvisionChoice {
    actor: Option<u8>,
    purpose: Option<u8>,
    class: Option<u8>,
    action: Option<u8>,
    /// Days from 2026-11-23 to its start, and its length in days.
    period: Option<(u8, u8)>,
    nested: Option<Box<ProvisionChoice>>,
}

/// A directory (or names) argument: one naming every key's actor (and a role) unless `choice` is 240 or
/// more; then raw bytes (even) or NULL (odd).
#[derive(Arbitrary, Debug)]
struct DirectoryText {
    choice: u8,
    raw: Vec<u8>,
}

const STATUSES: [&str; 8] =
    ["active", "active", "active", "inactive", "draft", "entered-in-error", "rejected", "unknown"];
const PURPOSES: [&str; 5] = ["TREAT", "ETREAT", "HPAYMT", "HRESCH", "BTG"];
const CLASSES: [&str; 3] = ["Observation", "MedicationRequest", "Patient"];
const ACTIONS: [&str; 4] = ["access", "use", "disclose", "correct"];

/// A built provision as JSON; `r4` nests `type` in every provision (R4 requires it below the root).
fn provision_json(choice: &ProvisionChoice, r4: bool, effect: &str, depth: usize) -> String {
    let mut fields = Vec::new();
    if r4 {
        fields.push(format!(r#""type":"{effect}""#));
    }
    if let Some(actor) = choice.actor {
        let reference = format!("Patient/k{}", actor % 7);
        let role =
            r#"{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]}"#;
        fields.push(format!(r#""actor":[{{"role":{role},"reference":{{"reference":"{reference}"}}}}]"#));
    }
    if let Some(purpose) = choice.purpose {
        let code = PURPOSES[usize::from(purpose) % PURPOSES.len()];
        fields.push(format!(
            r#""purpose":[{{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"{code}"}}]"#
        ));
    }
    if let Some(class) = choice.class {
        let code = CLASSES[usize::from(class) % CLASSES.len()];
        let key = if r4 { "class" } else { "resourceType" };
        fields.push(format!(r#""{key}":[{{"system":"http://hl7.org/fhir/resource-types","code":"{code}"}}]"#));
    }
    if let Some(action) = choice.action {
        let code = ACTIONS[usize::from(action) % ACTIONS.len()];
        fields.push(format!(
            r#""action":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/consentaction","code":"{code}"}}]}}]"#
        ));
    }
    if let Some((start, days)) = choice.period {
        let start = T0 / 1000 + u64::from(start) * 86_400;
        let end = start + u64::from(days) * 86_400;
        let instant = |seconds: u64| i64::try_from(seconds * 1000).ok().and_then(format_instant).unwrap_or_default();
        fields.push(format!(r#""period":{{"start":"{}","end":"{}"}}"#, instant(start), instant(end)));
    }
    if let Some(nested) = choice.nested.as_deref().filter(|_| depth < 4) {
        let opposite = if effect == "permit" { "deny" } else { "permit" };
        fields.push(format!(r#""provision":[{}]"#, provision_json(nested, r4, opposite, depth + 1)));
    }
    format!("{{{}}}", fields.join(","))
}

/// The key (and reference `Patient/k…`) a built Consent names as its patient.
fn patient_of(patient: u8) -> u8 {
    patient % 7
}

/// A built Consent's JSON, R4 shaped for release 4 and R5 shaped otherwise.
fn consent_json(patient: u8, status: u8, permit: bool, provisions: &[ProvisionChoice], release: u32) -> Vec<u8> {
    let status = STATUSES[usize::from(status) % STATUSES.len()];
    let subject = format!("Patient/k{}", patient_of(patient));
    let (base, exception) = if permit { ("permit", "deny") } else { ("deny", "permit") };
    let text = if release == 4 {
        let rule = if permit { "OPTIN" } else { "OPTOUT" };
        let nested: Vec<String> = provisions.iter().take(4).map(|p| provision_json(p, true, exception, 1)).collect();
        format!(
            r#"{{"resourceType":"Consent","status":"{status}",
              "scope":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}}]}},
              "category":[{{"text":"privacy"}}],"patient":{{"reference":"{subject}"}},
              "policyRule":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"{rule}"}}]}},
              "provision":{{{}}}}}"#,
            if nested.is_empty() { String::new() } else { format!(r#""provision":[{}]"#, nested.join(",")) }
        )
    } else {
        let list: Vec<String> = provisions.iter().take(4).map(|p| provision_json(p, false, exception, 1)).collect();
        let provisions = if list.is_empty() { String::new() } else { format!(r#","provision":[{}]"#, list.join(",")) };
        format!(
            r#"{{"resourceType":"Consent","status":"{status}","subject":{{"reference":"{subject}"}},
              "decision":"{base}"{provisions}}}"#
        )
    };
    text.into_bytes()
}

/// Keys made once per process (`hc_key` is thread-safe and immutable): the authority first.
struct Keys(Vec<*mut hc_key>);

// SAFETY: `hc_key` is immutable after creation and documented as shareable between threads.
unsafe impl Send for Keys {}
// SAFETY: as above.
unsafe impl Sync for Keys {}

fn keys() -> &'static [*mut hc_key] {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    &KEYS
        .get_or_init(|| {
            Keys(
                (1..=6u8)
                    .map(|i| {
                        let mut key = ptr::null_mut();
                        // SAFETY: valid pointers.
                        assert_eq!(unsafe { hc_key_from_seed(&hc_secret { bytes: [i; 32] }, &mut key) }, HC_OK);
                        key
                    })
                    .collect(),
            )
        })
        .0
}

/// The state of one run.
struct Run {
    ledger: *mut hc_ledger,
    actors: Vec<hc_actor_id>,
    issued: Vec<[u8; 32]>,
    /// Every string handed to the library stays alive until the run ends.
    strings: Vec<CString>,
    calls: usize,
}

/// An output, filled with a pattern beforehand so that a failed call can be seen to leave it alone.
struct Out<T>(MaybeUninit<T>);

impl<T> Out<T> {
    fn new() -> Self {
        let mut value = MaybeUninit::<T>::uninit();
        // SAFETY: writes `size_of::<T>()` bytes into the value's own storage.
        unsafe { ptr::write_bytes(value.as_mut_ptr().cast::<u8>(), 0xA5, size_of::<T>()) };
        Self(value)
    }

    fn ptr(&mut self) -> *mut T {
        self.0.as_mut_ptr()
    }

    fn untouched(&self) -> bool {
        // SAFETY: the storage was fully initialised (as bytes) by `new`.
        let bytes = unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<u8>(), size_of::<T>()) };
        bytes.iter().all(|b| *b == 0xA5)
    }

    /// The value a successful call wrote.
    fn get(&self) -> T {
        // SAFETY: called only after the library returned HC_OK, having written a whole value.
        unsafe { self.0.assume_init_read() }
    }
}

fn last_error() -> String {
    // SAFETY: never NULL, NUL-terminated, valid until the next call on this thread.
    unsafe { CStr::from_ptr(hc_last_error_message()) }.to_string_lossy().into_owned()
}

impl Run {
    fn key(&self, i: u8) -> *const hc_key {
        let keys = keys();
        keys[usize::from(i) % keys.len()]
    }

    fn text(&mut self, text: &Text) -> *const c_char {
        let bytes: Vec<u8> = match text {
            Text::Null => return ptr::null(),
            Text::Known(i) => CODES[usize::from(*i) % CODES.len()].as_bytes().to_vec(),
            Text::Raw(raw) => raw.iter().copied().take_while(|b| *b != 0).take(100).collect(),
        };
        let string = CString::new(bytes).unwrap_or_default();
        let pointer = string.as_ptr();
        self.strings.push(string);
        pointer
    }

    /// A directory naming `Patient/k0`… for the keys' actors and a group for a role; raw text; or NULL.
    fn directory(&mut self, directory: &DirectoryText, names: bool) -> *const c_char {
        let text = match directory.choice {
            255 => return ptr::null(),
            240.. => directory.raw.iter().copied().take_while(|b| *b != 0).take(400).collect(),
            _ => {
                let hex = |id: &hc_actor_id| id.bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
                let mut entries: Vec<String> = self
                    .actors
                    .iter()
                    .enumerate()
                    .map(|(i, id)| {
                        if names {
                            format!(r#""{}":"Name {i}""#, hex(id))
                        } else {
                            format!(r#""Patient/k{i}":"{}""#, hex(id))
                        }
                    })
                    .collect();
                if !names {
                    entries.push(r#""Group/providers":"role:provider""#.to_owned());
                }
                format!("{{{}}}", entries.join(",")).into_bytes()
            }
        };
        let string = CString::new(text).unwrap_or_default();
        let pointer = string.as_ptr();
        self.strings.push(string);
        pointer
    }

    /// Makes a buffer-filling call into a buffer of `room` bytes (NULL for 0) and checks it: as every call,
    /// except that a buffer too small has only the size it needs written; on success the text fills exactly
    /// that size, NUL included.
    fn buffer_call(&mut self, room: u16, null: bool, call: impl FnOnce(*mut c_char, usize, *mut usize) -> i32) {
        let room = usize::from(room);
        let mut buf = vec![0xA5u8; room];
        let mut out_len = Out::<usize>::new();
        let pointer = if room == 0 { ptr::null_mut() } else { buf.as_mut_ptr().cast() };
        let status = call(pointer, room, out_len.ptr());
        if status == HC_BUFFER_TOO_SMALL {
            self.calls += 1;
            assert!(!last_error().is_empty(), "HC_BUFFER_TOO_SMALL without a message");
            assert!(out_len.get() > room, "too small, yet the size needed fits");
            assert!(buf.iter().all(|b| *b == 0xA5), "a buffer too small was written to");
        } else if self.checked(status, &out_len, null) {
            let len = out_len.get();
            assert!(len >= 1 && len <= room, "size {len} for a buffer of {room}");
            assert_eq!(buf.get(len - 1), Some(&0), "not NUL-terminated at its size");
            assert!(!buf[..len - 1].contains(&0), "a NUL inside the text");
        }
    }

    /// Makes one FHIR call and checks it.
    fn fhir_call(&mut self, call: &FhirCall) {
        let ledger = self.ledger;
        // SAFETY (every block below): as in `call`; buffers are as long as the length given with them.
        match call {
            FhirCall::Register { key, role } => {
                let role = match role % 4 {
                    0 => HC_ROLE_PATIENT,
                    1 => HC_ROLE_PROVIDER,
                    _ => u32::from(*role % 8),
                };
                let mut out = Out::<hc_actor_id>::new();
                let status = unsafe { hc_ledger_register(ledger, self.key(0), self.key(*key), role, out.ptr()) };
                self.checked(status, &out, false);
            }
            FhirCall::Import { signer, consent, release, directory, replaces, room } => {
                let release = release.number();
                let (json, patient) = match consent {
                    ConsentText::Built { patient, status, permit, provisions } => {
                        (consent_json(*patient, *status, *permit, provisions, release), patient_of(*patient))
                    }
                    ConsentText::Raw(raw) => (raw.clone(), 0),
                };
                let signer = self.key(signer.unwrap_or(patient));
                let directory = self.directory(directory, false);
                let replaces: Vec<hc_consent_id> = replaces
                    .iter()
                    .take(4)
                    .map(|id| hc_consent_id { bytes: self.id(id).unwrap_or_default() })
                    .collect();
                let room = usize::from(*room % 8);
                let mut ids: Vec<hc_consent_id> = vec![hc_consent_id { bytes: [0xA5; 32] }; room];
                let mut rules = Out::<usize>::new();
                let status = unsafe {
                    hc_ledger_fhir_import(
                        ledger,
                        signer,
                        json.as_ptr(),
                        json.len(),
                        release,
                        directory,
                        if replaces.is_empty() { ptr::null() } else { replaces.as_ptr() },
                        replaces.len(),
                        if room == 0 { ptr::null_mut() } else { ids.as_mut_ptr() },
                        room,
                        rules.ptr(),
                    )
                };
                let untouched = |ids: &[hc_consent_id]| ids.iter().all(|id| id.bytes == [0xA5; 32]);
                if status == HC_BUFFER_TOO_SMALL {
                    self.calls += 1;
                    assert!(rules.get() > room && untouched(&ids), "too small: {} rules, room {room}", rules.get());
                } else if self.checked(status, &rules, directory.is_null()) {
                    let count = rules.get();
                    assert!(count <= room && untouched(&ids[count..]), "{count} ids written into {room}");
                    for id in &ids[..count] {
                        self.record(id.bytes);
                    }
                } else {
                    assert!(untouched(&ids), "a failed import wrote ids");
                }
            }
            FhirCall::Export { patient, height, release, directory, room } => {
                let patient = self.id(patient).map(|bytes| hc_actor_id { bytes });
                let pointer: *const hc_actor_id = patient.as_ref().map_or(ptr::null(), |p| p);
                let directory = self.directory(directory, false);
                let (height, release) = (u64::from(*height % 8), release.number());
                self.buffer_call(*room, pointer.is_null() || directory.is_null(), |buf, len, out_len| unsafe {
                    hc_ledger_fhir_export(ledger, pointer, height, release, directory, buf, len, out_len)
                });
            }
            FhirCall::AuditEvents { patient, every, back, release, ndjson, directory, room } => {
                let patient = self.id(patient).map(|bytes| hc_actor_id { bytes });
                let pointer: *const hc_actor_id = patient.as_ref().map_or(ptr::null(), |p| p);
                let directory = self.directory(directory, false);
                let from = self.now().saturating_sub(u64::from(*back));
                let (every, release, ndjson) = (*every % 3, release.number(), *ndjson % 3);
                self.buffer_call(*room, pointer.is_null() || directory.is_null(), |buf, len, out_len| unsafe {
                    let until = u64::MAX;
                    hc_ledger_audit_events(
                        ledger, pointer, every, from, until, release, ndjson, directory, buf, len, out_len,
                    )
                });
            }
            FhirCall::Disclosures { patient, format, names, note, room } => {
                let patient = self.id(patient).map(|bytes| hc_actor_id { bytes });
                let pointer: *const hc_actor_id = patient.as_ref().map_or(ptr::null(), |p| p);
                let (names, note) = (self.directory(names, true), self.text(note));
                let null = pointer.is_null() || names.is_null() || note.is_null();
                self.buffer_call(*room, null, |buf, len, out_len| unsafe {
                    hc_ledger_disclosures(ledger, pointer, 0, 0, *format % 4, names, note, buf, len, out_len)
                });
            }
            FhirCall::Seal => {
                let sealers = [self.key(0)];
                let mut out = Out::<hc_block_info>::new();
                let status = unsafe { hc_ledger_seal(ledger, sealers.as_ptr(), 1, out.ptr()) };
                self.checked(status, &out, false);
            }
        }
    }

    /// The id's bytes, or `None` for NULL.
    fn id(&self, id: &Id) -> Option<[u8; 32]> {
        match id {
            Id::Actor(i) => Some(self.actors[usize::from(*i) % self.actors.len()].bytes),
            Id::Issued(i) if !self.issued.is_empty() => Some(self.issued[usize::from(*i) % self.issued.len()]),
            Id::Issued(i) => Some([*i; 32]),
            Id::Raw(bytes) => Some(*bytes),
            Id::Null => None,
        }
    }

    fn now(&mut self) -> u64 {
        let mut now = Out::<u64>::new();
        // SAFETY: live ledger, valid output.
        let status = unsafe { hc_ledger_now(self.ledger, now.ptr()) };
        self.checked(status, &now, false);
        now.get()
    }

    /// The checks every call's status must pass; `null` says whether a pointer argument (or a pointer field
    /// of a struct argument) was NULL. Whether the call succeeded.
    fn checked<T>(&mut self, status: i32, out: &Out<T>, null: bool) -> bool {
        self.calls += 1;
        assert!(status != HC_PANIC && status != HC_POISONED, "status {status}: {}", last_error());
        // SAFETY: never NULL, static text.
        let text = unsafe { CStr::from_ptr(hc_status_str(status)) }.to_string_lossy();
        assert_ne!(text, "unknown status", "undocumented status {status}");
        // A NULL argument is refused as an argument error: HC_NULL_ARGUMENT, or the error of another wrong
        // argument checked before it (which one is reported is not specified).
        if null {
            assert!((HC_NULL_ARGUMENT..30).contains(&status), "a NULL argument gave {text}: {}", last_error());
        }
        if status == HC_OK {
            assert!(last_error().is_empty(), "success with an error message: {}", last_error());
            true
        } else {
            assert!(!last_error().is_empty(), "{text} without a message");
            assert!(out.untouched(), "{text}: a failed call wrote its output");
            false
        }
    }

    fn request(&mut self, r: &Request) -> (hc_request, bool) {
        let (patient, requester) = (self.id(&r.patient), self.id(&r.requester));
        let (section, purpose) = (self.text(&r.section), self.text(&r.purpose));
        // The ids are values inside the request; its strings are pointer fields.
        let null = section.is_null() || purpose.is_null();
        let request = hc_request {
            patient: hc_actor_id { bytes: patient.unwrap_or_default() },
            requester: hc_actor_id { bytes: requester.unwrap_or_default() },
            section,
            purpose,
            action: r.action % 4,
            at: self.now().saturating_sub(u64::from(r.back)),
        };
        (request, null)
    }

    fn record(&mut self, bytes: [u8; 32]) {
        self.issued.push(bytes);
    }

    /// Makes one call and checks it.
    fn call(&mut self, call: &Call) {
        let ledger = self.ledger;
        // SAFETY (every block below): `ledger` and the keys are live handles, every pointer points to a
        // value that lives across the call, and strings are NUL-terminated.
        match call {
            Call::Register { authority, key, role } => {
                let mut out = Out::<hc_actor_id>::new();
                let status =
                    unsafe { hc_ledger_register(ledger, self.key(*authority), self.key(*key), *role % 8, out.ptr()) };
                if self.checked(status, &out, false) {
                    self.actors.push(out.get());
                }
            }
            Call::Grant { signer, grant, find_covering } => {
                let sections: Vec<*const c_char> = grant.sections.iter().take(4).map(|t| self.text(t)).collect();
                let purposes: Vec<*const c_char> = grant.purposes.iter().take(4).map(|t| self.text(t)).collect();
                let (patient, grantee) = (self.id(&grant.patient), self.id(&grant.grantee));
                let now = self.now();
                let not_before = now.saturating_add_signed(i64::from(grant.starts));
                let value = hc_consent_grant {
                    patient: hc_actor_id { bytes: patient.unwrap_or_default() },
                    grantee_kind: grant.grantee_kind % 4,
                    grantee: hc_actor_id { bytes: grantee.unwrap_or_default() },
                    grantee_role: grant.grantee_role % 8,
                    effect: grant.effect % 4,
                    sections: if sections.is_empty() { ptr::null() } else { sections.as_ptr() },
                    section_count: sections.len(),
                    purposes: if purposes.is_empty() { ptr::null() } else { purposes.as_ptr() },
                    purpose_count: purposes.len(),
                    actions: grant.actions % 5,
                    not_before,
                    not_after: grant.until.map_or(HC_UNTIL_REVOKED, |d| not_before + u64::from(d)),
                };
                let null = sections.iter().chain(&purposes).any(|p| p.is_null());
                let mut out = Out::<hc_granted>::new();
                let status = if *find_covering {
                    unsafe { hc_ledger_find_covering_consent(ledger, &value, out.ptr()) }
                } else {
                    unsafe { hc_ledger_grant_consent(ledger, self.key(*signer), &value, out.ptr()) }
                };
                if self.checked(status, &out, null) && !find_covering {
                    self.record(out.get().consent.bytes);
                }
            }
            Call::Revoke { signer, consent } => {
                let consent = self.id(consent).map(|bytes| hc_consent_id { bytes });
                let mut out = Out::<hc_tx_id>::new();
                let pointer = consent.as_ref().map_or(ptr::null(), |c| c as *const _);
                let status = unsafe { hc_ledger_revoke_consent(ledger, self.key(*signer), pointer, out.ptr()) };
                self.checked(status, &out, consent.is_none());
            }
            Call::Delegate { signer, patient, delegate, scopes, until } => {
                let (patient, delegate) = (self.id(patient), self.id(delegate));
                let now = self.now();
                let value = hc_delegation_grant {
                    patient: hc_actor_id { bytes: patient.unwrap_or_default() },
                    delegate: hc_actor_id { bytes: delegate.unwrap_or_default() },
                    scopes: *scopes % 5,
                    not_before: now,
                    not_after: until.map_or(HC_UNTIL_REVOKED, |d| now + u64::from(d)),
                };
                let mut out = Out::<hc_delegation_id>::new();
                let status = unsafe { hc_ledger_grant_delegation(ledger, self.key(*signer), &value, out.ptr()) };
                if self.checked(status, &out, false) {
                    self.record(out.get().bytes);
                }
            }
            Call::RevokeDelegation { signer, delegation } => {
                let delegation = self.id(delegation).map(|bytes| hc_delegation_id { bytes });
                let pointer = delegation.as_ref().map_or(ptr::null(), |d| d as *const _);
                let mut out = Out::<hc_tx_id>::new();
                let status = unsafe { hc_ledger_revoke_delegation(ledger, self.key(*signer), pointer, out.ptr()) };
                self.checked(status, &out, delegation.is_none());
            }
            Call::Access { accessor, request } => {
                let (request, null) = self.request(request);
                let mut out = Out::<hc_access_id>::new();
                let status = unsafe { hc_ledger_record_access(ledger, self.key(*accessor), &request, out.ptr()) };
                if self.checked(status, &out, null) {
                    self.record(out.get().bytes);
                }
            }
            Call::BreakGlass { accessor, request, reason } => {
                let (request, null) = self.request(request);
                let reason = self.text(reason);
                let justification = hc_hash { bytes: [9; 32] };
                let mut out = Out::<hc_access_id>::new();
                let status = unsafe {
                    hc_ledger_record_break_glass(
                        ledger,
                        self.key(*accessor),
                        &request,
                        reason,
                        &justification,
                        out.ptr(),
                    )
                };
                if self.checked(status, &out, null || reason.is_null()) {
                    self.record(out.get().bytes);
                }
            }
            Call::Review { reviewer, access, justified } => {
                let access = self.id(access).map(|bytes| hc_access_id { bytes });
                let pointer = access.as_ref().map_or(ptr::null(), |a| a as *const _);
                let mut out = Out::<hc_tx_id>::new();
                let status = unsafe {
                    hc_ledger_review_break_glass(ledger, self.key(*reviewer), pointer, *justified % 3, out.ptr())
                };
                self.checked(status, &out, access.is_none());
            }
            Call::Anchor { writer, patient, section, purpose } => {
                let patient = self.id(patient).map(|bytes| hc_actor_id { bytes });
                let (section, purpose) = (self.text(section), self.text(purpose));
                let pointer = patient.as_ref().map_or(ptr::null(), |p| p as *const _);
                let commitment = hc_hash { bytes: [3; 32] };
                let mut out = Out::<hc_tx_id>::new();
                let status = unsafe {
                    hc_ledger_anchor_record(
                        ledger,
                        self.key(*writer),
                        pointer,
                        section,
                        purpose,
                        &commitment,
                        out.ptr(),
                    )
                };
                self.checked(status, &out, patient.is_none() || section.is_null() || purpose.is_null());
            }
            Call::Deactivate { authority, actor } => {
                let actor = self.id(actor).map(|bytes| hc_actor_id { bytes });
                let pointer = actor.as_ref().map_or(ptr::null(), |a| a as *const _);
                let mut out = Out::<hc_tx_id>::new();
                let status = unsafe { hc_ledger_deactivate(ledger, self.key(*authority), pointer, out.ptr()) };
                self.checked(status, &out, actor.is_none());
            }
            Call::Erase { signer, patient } => {
                let patient = self.id(patient).map(|bytes| hc_actor_id { bytes });
                let pointer = patient.as_ref().map_or(ptr::null(), |p| p as *const _);
                let mut out = Out::<hc_tx_id>::new();
                let status = unsafe { hc_ledger_erase_subject(ledger, self.key(*signer), pointer, out.ptr()) };
                self.checked(status, &out, patient.is_none());
            }
            Call::Rotate { signer, actor, new_key } => {
                let actor = self.id(actor).map(|bytes| hc_actor_id { bytes });
                let pointer = actor.as_ref().map_or(ptr::null(), |a| a as *const _);
                let mut out = Out::<hc_tx_id>::new();
                let status =
                    unsafe { hc_ledger_rotate_key(ledger, self.key(*signer), pointer, self.key(*new_key), out.ptr()) };
                self.checked(status, &out, actor.is_none());
            }
            Call::Check { request, as_of } => {
                let (request, null) = self.request(request);
                let mut out = Out::<hc_decision>::new();
                let status = match as_of {
                    None => unsafe { hc_ledger_check(ledger, &request, out.ptr()) },
                    Some(h) => unsafe { hc_ledger_check_as_of(ledger, u64::from(*h), &request, out.ptr()) },
                };
                if self.checked(status, &out, null) {
                    let decision = out.get();
                    assert!((HC_OUTCOME_PERMIT..=HC_OUTCOME_DENY).contains(&decision.outcome));
                }
            }
            Call::History { patient, pending_reviews, steps } => {
                let patient = self.id(patient).map(|bytes| hc_actor_id { bytes });
                let mut out = Out::<*mut hc_history>::new();
                let status = if *pending_reviews {
                    unsafe { hc_ledger_pending_reviews(ledger, out.ptr()) }
                } else {
                    let pointer = patient.as_ref().map_or(ptr::null(), |p| p as *const _);
                    unsafe { hc_ledger_access_history(ledger, pointer, out.ptr()) }
                };
                if self.checked(status, &out, !pending_reviews && patient.is_none()) {
                    let history = out.get();
                    for _ in 0..*steps % 8 {
                        let mut row = Out::<hc_access_row>::new();
                        let status = unsafe { hc_history_step(history, row.ptr()) };
                        assert!(matches!(status, HC_ROW | HC_DONE), "step: {status}");
                        self.calls += 1;
                    }
                    unsafe { hc_history_free(history) };
                }
            }
            Call::Seal { sealers } => {
                let sealers: Vec<*const hc_key> = sealers.iter().take(4).map(|i| self.key(*i)).collect();
                let mut out = Out::<hc_block_info>::new();
                let pointer = if sealers.is_empty() { ptr::null() } else { sealers.as_ptr() };
                let status = unsafe { hc_ledger_seal(ledger, pointer, sealers.len(), out.ptr()) };
                self.checked(status, &out, false);
            }
            Call::Advance(ms) => {
                let now = self.now();
                let status = unsafe { hc_ledger_set_time(ledger, now + u64::from(*ms)) };
                self.checked(status, &Out::<u8>::new(), false);
            }
            Call::Info => {
                let mut out = Out::<hc_ledger_info>::new();
                let status = unsafe { hc_ledger_get_info(ledger, out.ptr()) };
                assert!(self.checked(status, &out, false));
            }
            Call::Actor(actor) => {
                let actor = self.id(actor).map(|bytes| hc_actor_id { bytes });
                let pointer = actor.as_ref().map_or(ptr::null(), |a| a as *const _);
                let mut out = Out::<hc_actor_info>::new();
                let status = unsafe { hc_ledger_actor(ledger, pointer, out.ptr()) };
                self.checked(status, &out, actor.is_none());
            }
            Call::Verify => self.verify(),
        }
    }

    /// Everything the ledger accepted verifies.
    fn verify(&mut self) {
        let mut report = Out::<hc_verify_report>::new();
        // SAFETY: live ledger, valid output.
        let status = unsafe { hc_ledger_verify(self.ledger, report.ptr()) };
        assert!(self.checked(status, &report, false));
        assert_eq!(report.get().valid, 1, "the ledger does not verify");
    }
}

/// The harness.
pub fn run(data: &[u8]) {
    let Ok(mut script) = Script::arbitrary(&mut Unstructured::new(data)) else { return };
    script.calls.truncate(MAX_CALLS);
    let keys = keys();
    let name = CString::new("fuzz").unwrap_or_default();
    let settings = hc_settings {
        name: name.as_ptr(),
        seal_threshold: 1,
        break_glass_allowed: u32::from(script.break_glass),
        max_clock_skew_ms: HC_DEFAULT_CLOCK_SKEW_MS,
    };
    let authorities = [keys[0].cast_const()];
    let mut ledger = ptr::null_mut();
    // SAFETY: valid settings, one live key, valid output.
    let status = unsafe { hc_ledger_create_memory(&settings, authorities.as_ptr(), 1, T0, &mut ledger) };
    assert_eq!(status, HC_OK, "{}", last_error());
    let actors = keys
        .iter()
        .map(|key| {
            let mut id = hc_actor_id { bytes: [0; 32] };
            // SAFETY: live key, valid output.
            assert_eq!(unsafe { hc_key_actor_id(*key, &mut id) }, HC_OK);
            id
        })
        .collect();
    let mut run = Run { ledger, actors, issued: Vec::new(), strings: Vec::new(), calls: 0 };
    for call in &script.calls {
        run.call(call);
    }
    script.fhir.truncate(MAX_CALLS);
    for call in &script.fhir {
        run.fhir_call(call);
    }
    // Seal what is pending with whichever key seals now (the authority may have rotated its key, or
    // registered others): some key of the pool must.
    let sealed = keys.iter().any(|key| {
        let sealers = [key.cast_const()];
        let mut block = Out::<hc_block_info>::new();
        // SAFETY: live ledger and key, valid output.
        let status = unsafe { hc_ledger_seal(run.ledger, sealers.as_ptr(), 1, block.ptr()) };
        assert!(matches!(status, HC_OK | HC_NOTHING_TO_SEAL | HC_UNKNOWN_KEY), "final seal: {}", last_error());
        status != HC_UNKNOWN_KEY
    });
    assert!(sealed, "no key of the pool seals: {}", last_error());
    run.verify();
    // SAFETY: the ledger is live and not used afterwards.
    unsafe { hc_ledger_close(run.ledger) };
}
