//! Target `c_api`: a sequence of C API calls on one in-memory ledger, with arguments drawn from the input:
//! valid and unknown ids, ids the ledger issued earlier, NULL pointers, codes that are valid, wildcards,
//! too long, not UTF-8 or NULL, enumeration values and flags out of range, arbitrary times.
//!
//! Properties, for every call: no panic reaches the boundary (`HC_PANIC`) and no handle is poisoned; the
//! status is a documented one (`hc_status_str` knows it); a NULL pointer argument gives `HC_NULL_ARGUMENT`;
//! `hc_last_error_message` is empty after a success and names the failure otherwise; a failed call writes
//! nothing to its outputs. At the end, once the pending transactions are sealed, everything the ledger
//! accepted verifies (`hc_ledger_verify`).

#![allow(unsafe_code)]

use arbitrary::{Arbitrary, Unstructured};
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
