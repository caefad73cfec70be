//! A naive reference model of the consent semantics (DESIGN.md §5), and a runner that drives it side by
//! side with a ledger on an in-memory file: every mutating operation must be accepted or refused exactly as
//! the model predicts, every consent question (latest state and as of every height) must get the same
//! decision, and no answer about an instant that a block has sealed may ever change (history is immutable).
//! Reopens and crashes in the middle of a seal must lose exactly what was not acknowledged.
//!
//! The model shares no code with `src/consent.rs` or `src/state.rs`: rules, delegations and events sit in
//! flat vectors scanned linearly, code sets are bit masks (`None` = `*`), and every record keeps the block
//! height it lands in (pending transactions land in the next block to be sealed).
//!
//! Used by `tests/reference_model.rs` (proptest generates the operations) and by the fuzz target
//! `operations` (libFuzzer's bytes become operations through `arbitrary`).

use super::mem_file::MemFile;
use arbitrary::Arbitrary;
use healthchain::*;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// `prop_assert_eq!` for a runner that reports failures as strings.
macro_rules! ensure_eq {
    ($left:expr, $right:expr) => { ensure_eq!($left, $right, "") };
    ($left:expr, $right:expr, $($fmt:tt)+) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err(format!("{}: {:?} != {:?}", format!($($fmt)+), left, right));
        }
    }};
}

/// `prop_assert!` for a runner that reports failures as strings.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

/// A window's start offset and length, bounded to what the model's instants can hold.
fn bounded((start, len): (i64, Option<i64>)) -> (i64, Option<i64>) {
    (start.clamp(-5_000, 5_000), len.map(|l| l.clamp(-400, 5_000)))
}

pub const START: u64 = 1_700_000_000_000;
/// Rules use the first three; `imaging` and `BTG` are only ever matched by `*`.
pub const SECTIONS: [&str; 4] = ["labs", "meds", "notes", "imaging"];
pub const PURPOSES: [&str; 4] = ["TREAT", "HPAYMT", "ETREAT", "BTG"];
const EMERGENCY: [usize; 2] = [2, 3];
/// A question naming `*` as its section or purpose (refused).
const WILD: usize = 4;
const GRANTEE_ROLES: [Role; 4] = [Role::Provider, Role::Insurer, Role::Researcher, Role::Patient];
const AUTHORITY: usize = 0;
/// Registered by an operation (role chosen per case), so unknown until then.
const LATE: usize = 9;
/// Never registered.
const NEVER: usize = 10;
pub const ACTORS: usize = 11;
const INITIAL: [Role; 9] = [
    Role::Authority,
    Role::Patient,
    Role::Patient,
    Role::Patient,
    Role::Provider,
    Role::Provider,
    Role::Provider,
    Role::Insurer,
    Role::Researcher,
];
/// Who a "patient" argument is drawn from: mostly patients, sometimes actors that are not (valid) patients.
const PATIENT_PICK: [usize; 12] = [1, 2, 3, 1, 2, 3, 1, 2, 3, LATE, 4, NEVER];
/// Delegation scopes and action sets, as bits.
const MANAGE: u8 = 1;
const READ: u8 = 2;
const ACT_READ: u8 = 1;
const ACT_WRITE: u8 = 2;

// ---------------------------------------------------------------------------------------------------------
// The reference model.

/// A code set: `None` = `*`, else a bit mask over SECTIONS or PURPOSES.
type Set = Option<u8>;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Who {
    Actor(usize),
    Role(Role),
}

/// When something happened: the block height it is in and its transaction time.
#[derive(Clone, Copy, Debug)]
pub struct When {
    height: u64,
    time: u64,
}

#[derive(Debug)]
pub struct MActor {
    role: Role,
    registered: Option<u64>,
    /// Registration time (meaningful once `registered` is set).
    registered_at: u64,
    deactivated: Option<When>,
    erased: Option<When>,
}

#[derive(Clone, Debug)]
pub struct Rule {
    id: ConsentId,
    height: u64,
    /// The granting transaction's time.
    time: u64,
    patient: usize,
    who: Who,
    permit: bool,
    sections: Set,
    purposes: Set,
    actions: u8,
    nb: u64,
    na: Option<u64>,
    revoked: Option<When>,
    /// Requests the rule does not apply to (the ledger refuses them on a permit).
    exceptions: Vec<MException>,
}

/// An exception of a rule: the requests meeting every condition here.
#[derive(Clone, Debug)]
pub struct MException {
    /// Who (`None`: every requester).
    who: Option<Who>,
    sections: Set,
    purposes: Set,
    actions: u8,
    nb: u64,
    na: Option<u64>,
}

#[derive(Debug)]
pub struct Deleg {
    id: DelegationId,
    height: u64,
    /// The granting transaction's time.
    time: u64,
    patient: usize,
    delegate: usize,
    scopes: u8,
    nb: u64,
    na: Option<u64>,
    revoked: Option<When>,
}

/// A recorded access.
#[derive(Debug)]
pub struct MAccess {
    id: AccessId,
    height: u64,
    break_glass: bool,
    reviewed: Option<When>,
}

#[derive(Clone, Copy, Debug)]
pub struct Query {
    patient: usize,
    requester: usize,
    section: usize,
    purpose: usize,
    action: u8,
    at: u64,
}

/// Why the ledger refused an operation (LedgerError has no PartialEq).
#[derive(Debug, PartialEq)]
pub enum Refusal {
    Tx(TxError),
    UnknownKey,
    NothingToSeal,
    Other(String),
}

fn in_window(nb: u64, na: Option<u64>, t: u64) -> bool {
    nb <= t && na.is_none_or(|end| t < end)
}

fn has(set: Set, index: usize) -> bool {
    set.is_none_or(|mask| mask >> index & 1 == 1)
}

fn covers(have: Set, want: Set) -> bool {
    match (have, want) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(h), Some(w)) => w & !h == 0,
    }
}

pub struct Model {
    actors: Vec<MActor>,
    rules: Vec<Rule>,
    delegs: Vec<Deleg>,
    accesses: Vec<MAccess>,
    blocks: u64,
    pending: usize,
    /// The ledger's clock.
    clock: u64,
    /// Each sealed block's timestamp, by height.
    block_ts: Vec<u64>,
    break_glass: bool,
}

impl Model {
    /// The time the ledger stamps on a new transaction (and on the next block): the clock, but strictly
    /// after the last sealed block.
    fn now(&self) -> u64 {
        self.clock.max(self.block_ts.last().map_or(0, |t| t + 1))
    }

    fn signer(&self, s: usize) -> Result<(), Refusal> {
        let actor = &self.actors[s];
        if actor.registered.is_none() {
            return Err(Refusal::UnknownKey);
        }
        if actor.deactivated.is_some() {
            return Err(Refusal::Tx(TxError::SignerDeactivated));
        }
        Ok(())
    }

    fn live_patient(&self, p: usize) -> Result<(), TxError> {
        let actor = &self.actors[p];
        if actor.registered.is_none() || actor.role != Role::Patient {
            return Err(TxError::InvalidPatient);
        }
        if actor.erased.is_some() {
            return Err(TxError::PatientErased);
        }
        Ok(())
    }

    fn live_grantee(&self, a: usize) -> Result<(), TxError> {
        if self.actors[a].registered.is_none() {
            return Err(TxError::UnknownGrantee);
        }
        if self.actors[a].deactivated.is_some() {
            return Err(TxError::GranteeDeactivated);
        }
        Ok(())
    }

    fn may_manage(&self, s: usize, p: usize) -> bool {
        s == p
            || self.delegs.iter().any(|d| {
                d.patient == p
                    && d.delegate == s
                    && d.revoked.is_none()
                    && d.scopes & MANAGE != 0
                    && d.time <= self.now()
                    && in_window(d.nb, d.na, self.now())
            })
    }

    fn grant(&self, s: usize, g: &Rule) -> Result<(), Refusal> {
        self.signer(s)?;
        self.live_patient(g.patient).map_err(Refusal::Tx)?;
        if let Who::Actor(a) = g.who {
            self.live_grantee(a).map_err(Refusal::Tx)?;
        }
        if g.na.is_some_and(|end| end <= g.nb) {
            return Err(Refusal::Tx(TxError::EmptyWindow));
        }
        if g.permit && !g.exceptions.is_empty() {
            return Err(Refusal::Tx(TxError::ExceptionsOnPermit));
        }
        if !self.may_manage(s, g.patient) {
            return Err(Refusal::Tx(TxError::Unauthorized));
        }
        if s != g.patient && g.permit && self.names(g.who, s) {
            return Err(Refusal::Tx(TxError::WidensOwnAccess));
        }
        let covering = self.rules.iter().find(|c| {
            c.patient == g.patient
                && c.permit
                && c.revoked.is_none()
                && c.who == g.who
                && covers(c.sections, g.sections)
                && covers(c.purposes, g.purposes)
                && c.actions & g.actions == g.actions
                && c.nb <= g.nb
                && match (c.na, g.na) {
                    (None, _) => true,
                    (Some(_), None) => false,
                    (Some(mine), Some(theirs)) => theirs <= mine,
                }
        });
        match covering {
            Some(c) if g.permit => Err(Refusal::Tx(TxError::AlreadyHasAccess { existing: c.id, until: c.na })),
            _ => Ok(()),
        }
    }

    fn revoke(&self, s: usize, rule: Option<usize>) -> Result<(), Refusal> {
        self.signer(s)?;
        let rule = &self.rules[rule.ok_or(Refusal::Tx(TxError::UnknownConsent))?];
        if !self.may_manage(s, rule.patient) {
            return Err(Refusal::Tx(TxError::Unauthorized));
        }
        if s != rule.patient && !rule.permit && self.names(rule.who, s) {
            return Err(Refusal::Tx(TxError::WidensOwnAccess));
        }
        if rule.revoked.is_some() {
            return Err(Refusal::Tx(TxError::ConsentAlreadyRevoked));
        }
        Ok(())
    }

    /// Whether a rule's grantee names actor `a` (by id or by its role).
    fn names(&self, who: Who, a: usize) -> bool {
        match who {
            Who::Actor(x) => x == a,
            Who::Role(role) => role == self.actors[a].role,
        }
    }

    fn delegate(&self, s: usize, d: &Deleg) -> Result<(), Refusal> {
        self.signer(s)?;
        self.live_patient(d.patient).map_err(Refusal::Tx)?;
        self.live_grantee(d.delegate).map_err(Refusal::Tx)?;
        if d.delegate == d.patient {
            return Err(Refusal::Tx(TxError::SelfDelegation));
        }
        if d.na.is_some_and(|end| end <= d.nb) {
            return Err(Refusal::Tx(TxError::EmptyWindow));
        }
        if s != d.patient && self.actors[s].role != Role::Authority {
            return Err(Refusal::Tx(TxError::Unauthorized));
        }
        Ok(())
    }

    fn undelegate(&self, s: usize, deleg: Option<usize>) -> Result<(), Refusal> {
        self.signer(s)?;
        let d = &self.delegs[deleg.ok_or(Refusal::Tx(TxError::UnknownDelegation))?];
        if s != d.patient && self.actors[s].role != Role::Authority {
            return Err(Refusal::Tx(TxError::Unauthorized));
        }
        if d.revoked.is_some() {
            return Err(Refusal::Tx(TxError::DelegationAlreadyRevoked));
        }
        Ok(())
    }

    fn deactivate(&self, s: usize, target: usize) -> Result<(), Refusal> {
        self.signer(s)?;
        if self.actors[s].role != Role::Authority {
            return Err(Refusal::Tx(TxError::Unauthorized));
        }
        if self.actors[target].registered.is_none() {
            return Err(Refusal::Tx(TxError::UnknownActor));
        }
        if self.actors[target].deactivated.is_some() {
            return Err(Refusal::Tx(TxError::AlreadyDeactivated));
        }
        Ok(())
    }

    fn erase(&self, s: usize, p: usize) -> Result<(), Refusal> {
        self.signer(s)?;
        if self.actors[p].registered.is_none() || self.actors[p].role != Role::Patient {
            return Err(Refusal::Tx(TxError::InvalidPatient));
        }
        if s != p && self.actors[s].role != Role::Authority {
            return Err(Refusal::Tx(TxError::Unauthorized));
        }
        if self.actors[p].erased.is_some() {
            return Err(Refusal::Tx(TxError::AlreadyErased));
        }
        Ok(())
    }

    /// An access by `s` as `q` (at `q.at`, submitted now) on the basis the latest decision gives.
    fn access(&self, s: usize, q: &Query) -> Result<(), Refusal> {
        self.signer(s)?;
        if self.actors[q.patient].role == Role::Patient && self.actors[q.patient].erased.is_some() {
            return Err(Refusal::Tx(TxError::PatientErased));
        }
        match self.check(u64::MAX, q) {
            Err(CheckError::InvalidPatient) => Err(Refusal::Tx(TxError::InvalidPatient)),
            Err(CheckError::UnknownActor) => Err(Refusal::Tx(TxError::UnknownActor)),
            Err(other) => Err(Refusal::Other(format!("{other}"))),
            Ok(d) if !d.is_permitted() => Err(Refusal::Tx(TxError::AccessDenied(d))),
            Ok(_) => Ok(()),
        }
    }

    fn review(&self, s: usize, access: Option<usize>) -> Result<(), Refusal> {
        self.signer(s)?;
        if !matches!(self.actors[s].role, Role::Auditor | Role::Authority) {
            return Err(Refusal::Tx(TxError::Unauthorized));
        }
        let access = &self.accesses[access.ok_or(Refusal::Tx(TxError::UnknownAccess))?];
        if !access.break_glass {
            return Err(Refusal::Tx(TxError::NotBreakGlass));
        }
        if access.reviewed.is_some() {
            return Err(Refusal::Tx(TxError::AlreadyReviewed));
        }
        Ok(())
    }

    /// Forgets what was submitted after the last sealed block (a reopen, or a crash that lost the block).
    fn forget_pending(&mut self) {
        let sealed = |w: &Option<When>| w.filter(|w| w.height < self.blocks);
        let blocks = self.blocks;
        self.rules.retain(|r| r.height < blocks);
        self.delegs.retain(|d| d.height < blocks);
        self.accesses.retain(|a| a.height < blocks);
        let (rules, delegs, accesses) = (&mut self.rules, &mut self.delegs, &mut self.accesses);
        rules.iter_mut().for_each(|r| r.revoked = sealed(&r.revoked));
        delegs.iter_mut().for_each(|d| d.revoked = sealed(&d.revoked));
        accesses.iter_mut().for_each(|a| a.reviewed = sealed(&a.reviewed));
        for actor in &mut self.actors {
            actor.deactivated = sealed(&actor.deactivated);
            actor.erased = sealed(&actor.erased);
            if actor.registered == Some(blocks) {
                actor.registered = None;
            }
        }
        self.pending = 0;
    }

    /// What was submitted becomes a block sealed at `timestamp`.
    fn seal_pending(&mut self, timestamp: u64) {
        self.block_ts.push(timestamp);
        self.blocks += 1;
        self.pending = 0;
    }

    /// The decision on the state after block `h` (`u64::MAX`: the latest state, pending included).
    fn check(&self, h: u64, q: &Query) -> Result<Decision, CheckError> {
        if q.section == WILD || q.purpose == WILD {
            return Err(CheckError::WildcardInRequest);
        }
        let seen = |height: u64| height <= h;
        let seen_when = |when: Option<When>| when.filter(|w| seen(w.height));
        // Unknown at the instant asked about = unknown.
        let patient = &self.actors[q.patient];
        if !patient.registered.is_some_and(seen) || patient.role != Role::Patient || q.at < patient.registered_at {
            return Err(CheckError::InvalidPatient);
        }
        let requester = &self.actors[q.requester];
        if !requester.registered.is_some_and(seen) || q.at < requester.registered_at {
            return Err(CheckError::UnknownActor);
        }
        if seen_when(patient.erased).is_some_and(|e| e.time <= q.at) {
            return Ok(Decision::Deny(DenyReason::PatientErased));
        }
        if seen_when(requester.deactivated).is_some_and(|d| d.time <= q.at) {
            return Ok(Decision::Deny(DenyReason::RequesterDeactivated));
        }
        if q.requester == q.patient {
            return Ok(Decision::Permit(PermitBasis::Owner));
        }
        let in_force =
            |height: u64, revoked: Option<When>| seen(height) && seen_when(revoked).is_none_or(|r| q.at < r.time);
        let delegation = self
            .delegs
            .iter()
            .filter(|d| d.patient == q.patient && d.delegate == q.requester && d.scopes & READ != 0)
            .filter(|d| q.action == ACT_READ && d.time <= q.at)
            .filter(|d| in_window(d.nb, d.na, q.at) && in_force(d.height, d.revoked))
            .map(|d| d.id)
            .min();
        if let Some(id) = delegation {
            return Ok(Decision::Permit(PermitBasis::Delegate(id)));
        }
        let names = |who: Who| match who {
            Who::Actor(a) => a == q.requester,
            Who::Role(role) => role == requester.role,
        };
        let excepts = |e: &MException| {
            e.who.is_none_or(names)
                && has(e.sections, q.section)
                && has(e.purposes, q.purpose)
                && e.actions & q.action != 0
                && in_window(e.nb, e.na, q.at)
        };
        let matching = |permit: bool| {
            let mut ids: Vec<ConsentId> = self
                .rules
                .iter()
                .filter(|c| c.patient == q.patient && c.permit == permit && names(c.who))
                .filter(|c| c.time <= q.at && in_window(c.nb, c.na, q.at) && in_force(c.height, c.revoked))
                .filter(|c| has(c.sections, q.section) && has(c.purposes, q.purpose) && c.actions & q.action != 0)
                .filter(|c| !c.exceptions.iter().any(excepts))
                .map(|c| c.id)
                .collect();
            ids.sort();
            ids
        };
        let emergency = EMERGENCY.contains(&q.purpose) && requester.role == Role::Provider && self.break_glass;
        let (denies, permits) = (matching(false), matching(true));
        Ok(if !denies.is_empty() {
            if emergency { Decision::BreakGlass } else { Decision::Deny(DenyReason::DenyRules(denies)) }
        } else if !permits.is_empty() {
            Decision::Permit(PermitBasis::Consents(permits))
        } else if emergency {
            Decision::BreakGlass
        } else {
            Decision::Deny(DenyReason::NoConsent)
        })
    }

    /// Instants worth asking about: window bounds, revocations and deactivations (± 1 by the caller).
    fn instants(&self) -> Vec<u64> {
        let mut times = vec![self.now(), START];
        for r in &self.rules {
            times.extend([Some(r.nb), r.na, r.revoked.map(|w| w.time)].into_iter().flatten());
            for e in &r.exceptions {
                times.extend([Some(e.nb), e.na].into_iter().flatten());
            }
        }
        for d in &self.delegs {
            times.extend([Some(d.nb), d.na, d.revoked.map(|w| w.time)].into_iter().flatten());
        }
        times.extend(self.actors.iter().filter_map(|a| a.deactivated.map(|w| w.time)));
        times
    }
}

// ---------------------------------------------------------------------------------------------------------
// Random operations: raw numbers, interpreted against the model's current content when run.

#[derive(Clone, Debug, Arbitrary)]
pub enum Op {
    Advance(u64),
    Seal,
    RegisterLate,
    Grant {
        signer: u8,
        patient: u8,
        who: u8,
        permit: bool,
        sections: u8,
        purposes: u8,
        actions: u8,
        window: (i64, Option<i64>),
    },
    /// A grant derived from an existing rule (same patient and grantee), to reach "already has access".
    Regrant {
        signer: u8,
        rule: u8,
        tweak: u16,
        d_start: i64,
        d_end: i64,
    },
    Revoke {
        signer: u8,
        rule: u8,
    },
    Delegate {
        signer: u8,
        patient: u8,
        delegate: u8,
        scopes: u8,
        window: (i64, Option<i64>),
    },
    Undelegate {
        signer: u8,
        deleg: u8,
    },
    Deactivate {
        signer: u8,
        target: u8,
    },
    Erase {
        signer: u8,
        patient: u8,
    },
    Check {
        patient: u8,
        focus: u8,
        section: u8,
        purpose: u8,
        write: bool,
        at: u8,
        delta: i64,
    },
    /// An access recorded on the basis the model decides (break-glass if that is the answer), `back` ms in
    /// the past; a denied one is submitted anyway, on the owner basis.
    Access {
        accessor: u8,
        patient: u8,
        section: u8,
        purpose: u8,
        write: bool,
        back: u16,
    },
    /// The review of a recorded access (break-glass or not).
    Review {
        reviewer: u8,
        access: u8,
        justified: bool,
    },
    /// The ledger is closed and opened again from its file: what was not sealed is gone.
    Reopen,
    /// A crash while sealing: the append lands `landed` bytes (all of them when the frame is shorter) and
    /// the sync fails; the ledger is opened again from the file, which holds the block or not.
    Crash {
        landed: u16,
    },
}

/// A generated case: the network's policy, the late actor's role, and the operations.
#[derive(Clone, Debug, Arbitrary)]
pub struct Case {
    pub break_glass: bool,
    pub late_provider: bool,
    pub ops: Vec<Op>,
}

fn refusal(e: LedgerError) -> Refusal {
    match e {
        LedgerError::Tx(tx) => Refusal::Tx(tx),
        LedgerError::UnknownKey(_) => Refusal::UnknownKey,
        LedgerError::NothingToSeal => Refusal::NothingToSeal,
        other => Refusal::Other(other.to_string()),
    }
}

fn code_set(set: Set, names: &[&str]) -> CodeSet {
    match set {
        None => CodeSet::all(),
        Some(mask) => CodeSet::parse((0..names.len()).filter(|i| mask >> i & 1 == 1).map(|i| names[i])).unwrap(),
    }
}

fn actions(bits: u8) -> Actions {
    match bits {
        1 => Actions::READ,
        2 => Actions::WRITE,
        _ => Actions::READ_WRITE,
    }
}

/// An index drawn from `set`'s members (all of them for `*`), or from all indices when `raw % 4 == 0`.
fn member(set: Set, raw: u8, all: usize) -> usize {
    let members: Vec<usize> = (0..all).filter(|i| has(set, *i)).collect();
    let (mode, raw) = (raw % 4, usize::from(raw / 4));
    if mode == 0 { raw % all } else { members[raw % members.len()] }
}

/// An index below `len`, or (one time in eight, or when there is none) `len`, naming nothing.
fn existing(raw: u8, len: usize) -> usize {
    if raw.is_multiple_of(8) || len == 0 { len } else { usize::from(raw / 8) % len }
}

/// An instant inside a non-empty window.
fn middle(nb: u64, na: Option<u64>) -> u64 {
    na.map_or(nb + 500, |end| nb + end.saturating_sub(nb) / 2)
}

/// The exceptions a generated rule carries: none unless `seed % 4 == 1` (a quarter of the rules, permits
/// included, which the ledger then refuses), else one to three, drawn from the rule's other bytes so that
/// the operations' encoding stays the same.
fn exceptions_of(
    seed: i64,
    who: u8,
    sections: u8,
    purposes: u8,
    actions: u8,
    window: (u64, Option<u64>),
) -> Vec<MException> {
    if seed.rem_euclid(4) != 1 {
        return Vec::new();
    }
    let (nb, na) = window;
    let count = 1 + seed.rem_euclid(12) / 4;
    (0..count as u8)
        .map(|k| {
            let pick = who.wrapping_add(k);
            MException {
                who: match (who >> 4).wrapping_add(k) % 3 {
                    0 => None,
                    1 => Some(Who::Actor(usize::from(pick) % ACTORS)),
                    _ => Some(Who::Role(GRANTEE_ROLES[usize::from(pick) % GRANTEE_ROLES.len()])),
                },
                sections: set_of(sections.rotate_left(1 + u32::from(k))),
                purposes: set_of(purposes.wrapping_add(3 * k + 1)),
                actions: 1 + actions.wrapping_add(k) % 3,
                nb: nb + 300 * u64::from(k),
                na: if k % 2 == 0 { na.map(|end| end.saturating_sub(200)) } else { Some(nb + 1_200) },
            }
        })
        .collect()
}

fn set_of(raw: u8) -> Set {
    (raw & 7 != 0).then_some(raw & 7)
}

fn offset(base: u64, delta: i64) -> u64 {
    base.saturating_add_signed(delta)
}

/// A ledger on an in-memory file and the model, driven side by side.
pub struct Run {
    ledger: Ledger<FileStore<MemFile>>,
    file: MemFile,
    clock: ManualClock,
    keys: &'static [SigningKey],
    ids: Vec<ActorId>,
    model: Model,
    /// How often each outcome occurred (to check what a generator reaches).
    pub stats: BTreeMap<String, u64>,
}

/// A short name for an outcome, to count what the generator reaches.
fn label<T, E: std::fmt::Debug>(op: &str, result: &Result<T, E>) -> String {
    match result {
        Ok(_) => format!("{op}: ok"),
        Err(e) => {
            let text = format!("{e:?}");
            let text = text.strip_prefix("Tx(").unwrap_or(&text);
            let end = text.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(text.len());
            format!("{op}: {}", &text[..end])
        }
    }
}

fn decision_label(kind: &str, result: &Result<Decision, CheckError>) -> String {
    let outcome = match result {
        Ok(Decision::Permit(PermitBasis::Owner)) => "permit owner".into(),
        Ok(Decision::Permit(PermitBasis::Delegate(_))) => "permit delegate".into(),
        Ok(Decision::Permit(PermitBasis::Consents(_))) => "permit consents".into(),
        Ok(Decision::BreakGlass) => "break-glass".into(),
        Ok(Decision::Deny(DenyReason::DenyRules(_))) => "deny rules".into(),
        Ok(Decision::Deny(reason)) => format!("deny {reason:?}"),
        Err(CheckError::HeightBeyondHead { .. }) => "HeightBeyondHead".into(),
        Err(e) => format!("{e:?}"),
    };
    format!("{kind}: {outcome}")
}

/// The opening ledger of a case: genesis at `START` (by the authority), the initial cast registered in
/// block 1. Built once per policy and process (it costs a dozen signatures), then forked for every case.
fn base(break_glass: bool) -> &'static (Ledger<MemoryStore>, Vec<u8>) {
    static BASES: [OnceLock<(Ledger<MemoryStore>, Vec<u8>)>; 2] = [OnceLock::new(), OnceLock::new()];
    BASES[usize::from(break_glass)].get_or_init(|| {
        let keys = keys();
        let file = MemFile::default();
        let store = FileStore::from_file(file.clone(), WRITER).unwrap();
        let mut settings = LedgerSettings::new("reference-model");
        settings.policy.break_glass_allowed = break_glass;
        settings.nonce = Some([7; 32]);
        let clock = Box::new(ManualClock::new(START));
        let mut ledger = Ledger::create(store, clock, &settings, &[&keys[AUTHORITY]]).unwrap();
        for (i, role) in INITIAL.iter().enumerate().skip(1) {
            ledger.register(&keys[AUTHORITY], &keys[i], *role).unwrap();
        }
        ledger.seal(&[&keys[AUTHORITY]]).unwrap();
        let blocks = (0..ledger.block_count()).map(|h| ledger.store().read(h).unwrap()).collect();
        let base = ledger.fork_onto(MemoryStore::from_blocks(blocks), Box::new(ManualClock::new(START))).unwrap();
        (base, file.bytes())
    })
}

/// The keys of the cast, by actor index (derived once per process: each derivation is a scalar
/// multiplication).
fn keys() -> &'static [SigningKey] {
    static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
    KEYS.get_or_init(|| (1..=ACTORS as u8).map(|i| SigningKey::from_seed(&[i; 32])).collect())
}

const WRITER: OpenOptions = OpenOptions { read_only: false, strict: false };

impl Run {
    /// The ledger and the model after the opening blocks of `case`.
    pub fn new(case: &Case) -> Self {
        let clock = ManualClock::new(START);
        let keys = keys();
        let ids: Vec<ActorId> = keys.iter().map(|k| ActorId::from_key(&k.public_key())).collect();
        let (base, bytes) = base(case.break_glass);
        let file = MemFile::new(bytes);
        let store = FileStore::from_file(file.clone(), WRITER).unwrap();
        let ledger = base.fork_onto(store, Box::new(clock.clone())).unwrap();
        let mut actors = Vec::new();
        for (i, role) in INITIAL.iter().enumerate() {
            // The authority is registered by genesis (block 0, at START), the others in block 1, 1 ms later.
            let (registered, registered_at) = if i == AUTHORITY { (0, START) } else { (1, START + 1) };
            let registered = Some(registered);
            actors.push(MActor { role: *role, registered, registered_at, deactivated: None, erased: None });
        }
        let late_role = if case.late_provider { Role::Provider } else { Role::Patient };
        for role in [late_role, Role::Provider] {
            actors.push(MActor { role, registered: None, registered_at: 0, deactivated: None, erased: None });
        }
        let model = Model {
            actors,
            rules: Vec::new(),
            delegs: Vec::new(),
            accesses: Vec::new(),
            blocks: 2,
            pending: 0,
            clock: START,
            block_ts: vec![START, START + 1],
            break_glass: case.break_glass,
        };
        Run { ledger, file, clock, keys, ids, model, stats: BTreeMap::new() }
    }

    /// Runs every operation of `case`, then the sweep of questions.
    pub fn case(case: &Case) -> Result<Self, String> {
        let mut run = Run::new(case);
        for op in &case.ops {
            run.step(op)?;
        }
        run.sweep()?;
        Ok(run)
    }

    fn count(&mut self, label: String) {
        *self.stats.entry(label).or_default() += 1;
    }

    /// The id the transaction will get if accepted.
    fn next_id(&self, signer: usize, payload: &Payload) -> TxId {
        self.ledger.prepare(self.ids[signer], payload.clone()).id()
    }

    /// Submits `payload` signed by `signer`, checks the outcome against `expected` and returns whether it
    /// was accepted (with its id).
    fn submit(
        &mut self,
        name: &str,
        signer: usize,
        payload: Payload,
        expected: Result<(), Refusal>,
    ) -> Result<Option<TxId>, String> {
        let expected = expected.map(|()| self.next_id(signer, &payload));
        let actual = self.ledger.sign_and_submit(&self.keys[signer], payload.clone()).map_err(refusal);
        self.count(label(name, &actual));
        ensure_eq!(&actual, &expected, "{} signed by actor {} of {:?}", name, signer, payload);
        if actual.is_ok() {
            self.model.pending += 1;
        }
        Ok(actual.ok())
    }

    fn when(&self) -> When {
        When { height: self.model.blocks, time: self.model.now() }
    }

    /// Signer for an operation on `patient`'s behalf: mostly the patient, else one of its delegates, the
    /// authority or anyone.
    fn signer(&self, raw: u8, patient: usize) -> usize {
        let delegates: Vec<usize> =
            self.model.delegs.iter().filter(|d| d.patient == patient).map(|d| d.delegate).collect();
        match raw % 8 {
            5 | 6 if !delegates.is_empty() => delegates[usize::from(raw / 8) % delegates.len()],
            7 if raw & 8 == 0 => AUTHORITY,
            7 => usize::from(raw / 16) % ACTORS,
            _ => patient,
        }
    }

    fn grant(&mut self, signer: usize, rule: Rule) -> Result<(), String> {
        let expected = self.model.grant(signer, &rule);
        let grant = ConsentGrant {
            patient: self.ids[rule.patient],
            grantee: match rule.who {
                Who::Actor(a) => Grantee::Actor(self.ids[a]),
                Who::Role(role) => Grantee::Role(role),
            },
            effect: if rule.permit { Effect::Permit } else { Effect::Deny },
            sections: code_set(rule.sections, &SECTIONS),
            purposes: code_set(rule.purposes, &PURPOSES),
            actions: actions(rule.actions),
            window: Window { not_before: rule.nb, not_after: rule.na },
            exceptions: rule
                .exceptions
                .iter()
                .map(|e| Exception {
                    grantee: e.who.map(|who| match who {
                        Who::Actor(a) => Grantee::Actor(self.ids[a]),
                        Who::Role(role) => Grantee::Role(role),
                    }),
                    sections: code_set(e.sections, &SECTIONS),
                    purposes: code_set(e.purposes, &PURPOSES),
                    actions: actions(e.actions),
                    window: Window { not_before: e.nb, not_after: e.na },
                })
                .collect(),
        };
        let expected = expected
            .map(|()| Granted { consent: self.next_id(signer, &Payload::GrantConsent(grant.clone())), until: rule.na });
        let actual = self.ledger.grant_consent(&self.keys[signer], grant.clone()).map_err(refusal);
        self.count(label("grant", &actual));
        ensure_eq!(&actual, &expected, "grant signed by actor {} of {:?}", signer, grant);
        if let Ok(granted) = actual {
            self.model.pending += 1;
            self.model.rules.push(Rule {
                id: granted.consent,
                height: self.model.blocks,
                time: self.model.now(),
                ..rule
            });
        }
        Ok(())
    }

    /// After the operations: asks about every rule (by its grantees, codes and actions) and every delegation
    /// (by its delegate) at the edges and middle of its window and around its revocation, latest and as of
    /// every height. Questions cost no signature, so this is where most decisions are compared.
    pub fn sweep(&mut self) -> Result<(), String> {
        let mut queries = Vec::new();
        for (i, r) in self.model.rules.iter().enumerate() {
            let requesters: Vec<usize> = match r.who {
                Who::Actor(a) => vec![a],
                Who::Role(role) => (0..ACTORS).filter(|a| self.model.actors[*a].role == role).collect(),
            };
            let section = member(r.sections, 1 + 4 * i as u8, SECTIONS.len());
            let purpose = member(r.purposes, 1 + 4 * i as u8, PURPOSES.len());
            let action = if r.actions & ACT_READ != 0 { ACT_READ } else { ACT_WRITE };
            let mut instants = vec![r.nb.saturating_sub(1), r.nb, middle(r.nb, r.na)];
            instants.extend(r.na.map(|end| [end - 1, end]).into_iter().flatten());
            instants.extend(r.revoked.map(|w| [w.time - 1, w.time]).into_iter().flatten());
            for &requester in &requesters {
                for &at in &instants {
                    queries.push(Query { patient: r.patient, requester, section, purpose, action, at });
                }
            }
            // Inside each exception: a question the rule matches too, where there is one.
            for e in &r.exceptions {
                let both = |a: Set, b: Set, all: usize| (0..all).find(|i| has(a, *i) && has(b, *i)).unwrap_or(0);
                let section = both(r.sections, e.sections, SECTIONS.len());
                let purpose = both(r.purposes, e.purposes, PURPOSES.len());
                let action = if r.actions & e.actions & ACT_READ != 0 { ACT_READ } else { ACT_WRITE };
                let mut instants = vec![e.nb.saturating_sub(1), e.nb, middle(e.nb, e.na)];
                instants.extend(e.na.map(|end| [end.saturating_sub(1), end]).into_iter().flatten());
                for &requester in &requesters {
                    for &at in &instants {
                        queries.push(Query { patient: r.patient, requester, section, purpose, action, at });
                    }
                }
            }
        }
        for d in &self.model.delegs {
            let mut instants = vec![d.nb.saturating_sub(1), d.nb, middle(d.nb, d.na)];
            instants.extend(d.na.map(|end| [end - 1, end]).into_iter().flatten());
            instants.extend(d.revoked.map(|w| [w.time - 1, w.time]).into_iter().flatten());
            for at in instants {
                let (section, purpose) = (at as usize % SECTIONS.len(), at as usize / 7 % PURPOSES.len());
                let patient = d.patient;
                queries.push(Query { patient, requester: d.delegate, section, purpose, action: ACT_READ, at });
            }
        }
        for q in queries {
            self.check(q)?;
        }
        Ok(())
    }

    fn request(&self, q: &Query) -> CheckRequest {
        CheckRequest {
            patient: self.ids[q.patient],
            requester: self.ids[q.requester],
            section: Code::new(SECTIONS.get(q.section).unwrap_or(&"*")).unwrap(),
            purpose: Code::new(PURPOSES.get(q.purpose).unwrap_or(&"*")).unwrap(),
            action: if q.action == ACT_WRITE { Action::Write } else { Action::Read },
            at: q.at,
        }
    }

    /// Closes the ledger and opens it again from its file (a restart).
    fn reopen(&mut self) -> Result<(), String> {
        let store = FileStore::from_file(self.file.clone(), WRITER).map_err(|e| format!("reopen: {e}"))?;
        self.ledger = Ledger::open(store, Box::new(self.clock.clone())).map_err(|e| format!("reopen: {e}"))?;
        Ok(())
    }

    fn check(&mut self, q: Query) -> Result<(), String> {
        let request = self.request(&q);
        let latest = self.ledger.check(&request);
        self.count(decision_label("check", &latest));
        ensure_eq!(&latest, &self.model.check(u64::MAX, &q), "latest, {:?}", q);
        // Every sealed height, and one beyond the head.
        for h in 0..=self.model.blocks {
            let expected = if h < self.model.blocks {
                self.model.check(h, &q)
            } else {
                Err(CheckError::HeightBeyondHead { asked: h, head: h - 1 })
            };
            let actual = self.ledger.check_as_of(h, &request);
            self.count(decision_label("as-of", &actual));
            ensure_eq!(&actual, &expected, "as of {}, {:?}", h, q);
            // History is immutable: once block h, sealed at `block_ts[h]`, covers the instant asked about,
            // every later block (and every pending transaction) leaves the answer as it was after block h.
            if h < self.model.blocks && self.model.block_ts[h as usize] >= q.at {
                self.count("immutable: sealed instant".into());
                ensure_eq!(&actual, &latest, "answer about sealed instant {} changed after block {}", q.at, h);
            }
        }
        Ok(())
    }

    pub fn step(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::Advance(ms) => {
                let ms = ms % 10_000;
                self.clock.advance(ms);
                self.model.clock += ms;
            }
            Op::Seal => {
                let expected =
                    if self.model.pending == 0 { Err(Refusal::NothingToSeal) } else { Ok(self.model.blocks) };
                let sealed = self.ledger.seal(&[&self.keys[AUTHORITY]]);
                let timestamp = sealed.as_ref().map(|b| b.header.timestamp).ok();
                let actual = sealed.map(|b| b.header.height).map_err(refusal);
                self.count(label("seal", &actual));
                ensure_eq!(&actual, &expected, "seal");
                if actual.is_ok() {
                    ensure_eq!(timestamp, Some(self.model.now()), "block timestamp");
                    self.model.block_ts.push(self.model.now());
                    self.model.blocks += 1;
                    self.model.pending = 0;
                }
                ensure_eq!(self.ledger.block_count(), self.model.blocks);
            }
            Op::RegisterLate => {
                let role = self.model.actors[LATE].role;
                let expected = match self.model.actors[LATE].registered {
                    Some(_) => Err(Refusal::Tx(TxError::KeyInUse)),
                    None => Ok(self.ids[LATE]),
                };
                let actual = self.ledger.register(&self.keys[AUTHORITY], &self.keys[LATE], role).map_err(refusal);
                self.count(label("register", &actual));
                ensure_eq!(&actual, &expected, "register the late actor");
                if actual.is_ok() {
                    self.model.pending += 1;
                    self.model.actors[LATE].registered = Some(self.model.blocks);
                    self.model.actors[LATE].registered_at = self.model.now();
                }
            }
            Op::Grant { signer, patient, who, permit, sections, purposes, actions, window } => {
                let (start, len) = bounded(window);
                let actions = 1 + actions % 3;
                let patient = PATIENT_PICK[usize::from(patient) % PATIENT_PICK.len()];
                let who_byte = who;
                let who = match usize::from(who) % (ACTORS + GRANTEE_ROLES.len()) {
                    a if a < ACTORS => Who::Actor(a),
                    r => Who::Role(GRANTEE_ROLES[r - ACTORS]),
                };
                let nb = offset(self.model.now(), start);
                let na = len.map(|len| offset(nb, len));
                let rule = Rule {
                    id: TxId::default(),
                    height: 0,
                    time: 0,
                    patient,
                    who,
                    permit,
                    sections: set_of(sections),
                    purposes: set_of(purposes),
                    actions,
                    nb,
                    na,
                    revoked: None,
                    exceptions: exceptions_of(window.0, who_byte, sections, purposes, actions, (nb, na)),
                };
                self.grant(self.signer(signer, patient), rule)?;
            }
            Op::Regrant { signer, rule, tweak, d_start, d_end } => {
                if self.model.rules.is_empty() {
                    return Ok(());
                }
                let (d_start, d_end) = (d_start.clamp(-2, 2), d_end.clamp(-2, 3));
                let base = self.model.rules[usize::from(rule) % self.model.rules.len()].clone();
                let nb = offset(base.nb, d_start);
                let rule = Rule {
                    permit: tweak >> 13 != 0,
                    sections: if tweak & 2 == 0 { base.sections } else { set_of((tweak >> 4) as u8) },
                    purposes: if tweak & 4 == 0 { base.purposes } else { set_of((tweak >> 7) as u8) },
                    actions: if tweak & 8 == 0 { base.actions } else { 1 + (tweak >> 10) as u8 % 3 },
                    nb,
                    na: match (base.na, d_end) {
                        (_, 3) => None,
                        (Some(end), d) => Some(offset(end, d)),
                        (None, d) => Some(offset(nb, 1000 + d)),
                    },
                    revoked: None,
                    ..base
                };
                self.grant(self.signer(signer, rule.patient), rule)?;
            }
            Op::Revoke { signer, rule } => {
                let index = existing(rule, self.model.rules.len());
                let (index, id, patient) = match self.model.rules.get(index) {
                    Some(r) => (Some(index), r.id, r.patient),
                    // A consent id that names no consent: a delegation's, or nothing's.
                    None => (None, self.model.delegs.first().map_or_else(TxId::default, |d| d.id), 1),
                };
                let signer = self.signer(signer, patient);
                let expected = self.model.revoke(signer, index);
                if self.submit("revoke", signer, Payload::RevokeConsent { consent: id }, expected)?.is_some() {
                    let when = self.when();
                    self.model.rules[index.unwrap()].revoked = Some(when);
                }
            }
            Op::Delegate { signer, patient, delegate, scopes, window } => {
                let (start, len) = bounded(window);
                let scopes = 1 + scopes % 3;
                let patient = PATIENT_PICK[usize::from(patient) % PATIENT_PICK.len()];
                let nb = offset(self.model.now(), start);
                let d = Deleg {
                    id: TxId::default(),
                    height: self.model.blocks,
                    time: self.model.now(),
                    patient,
                    delegate: usize::from(delegate) % ACTORS,
                    scopes,
                    nb,
                    na: len.map(|len| offset(nb, len)),
                    revoked: None,
                };
                let signer = self.signer(signer, patient);
                let expected = self.model.delegate(signer, &d);
                let grant = DelegationGrant {
                    patient: self.ids[d.patient],
                    delegate: self.ids[d.delegate],
                    scopes: match scopes {
                        MANAGE => Scopes::MANAGE,
                        READ => Scopes::READ,
                        _ => Scopes::MANAGE_AND_READ,
                    },
                    window: Window { not_before: d.nb, not_after: d.na },
                };
                if let Some(id) = self.submit("delegate", signer, Payload::GrantDelegation(grant), expected)? {
                    self.model.delegs.push(Deleg { id, ..d });
                }
            }
            Op::Undelegate { signer, deleg } => {
                let index = existing(deleg, self.model.delegs.len());
                let (index, id, patient) = match self.model.delegs.get(index) {
                    Some(d) => (Some(index), d.id, d.patient),
                    None => (None, self.model.rules.first().map_or_else(TxId::default, |r| r.id), 1),
                };
                let signer = self.signer(signer, patient);
                let expected = self.model.undelegate(signer, index);
                if self.submit("undelegate", signer, Payload::RevokeDelegation { delegation: id }, expected)?.is_some()
                {
                    let when = self.when();
                    self.model.delegs[index.unwrap()].revoked = Some(when);
                }
            }
            Op::Deactivate { signer, target } => {
                let signer = if signer.is_multiple_of(4) { usize::from(signer / 4) % ACTORS } else { AUTHORITY };
                // Anyone but the authority (the quorum rule is tested elsewhere): 1..ACTORS maps to itself.
                let target = 1 + (usize::from(target) + ACTORS - 2) % (ACTORS - 1);
                let expected = self.model.deactivate(signer, target);
                let payload = Payload::DeactivateActor { actor: self.ids[target] };
                if self.submit("deactivate", signer, payload, expected)?.is_some() {
                    self.model.actors[target].deactivated = Some(self.when());
                }
            }
            Op::Erase { signer, patient } => {
                let patient = PATIENT_PICK[usize::from(patient) % PATIENT_PICK.len()];
                let signer = self.signer(signer, patient);
                let expected = self.model.erase(signer, patient);
                let payload = Payload::EraseSubject { patient: self.ids[patient] };
                if self.submit("erase", signer, payload, expected)?.is_some() {
                    self.model.actors[patient].erased = Some(self.when());
                }
            }
            Op::Check { patient, focus, section, purpose, write, at, delta } => {
                let delta = delta.clamp(-10_000, 10_000);
                let patient = PATIENT_PICK[usize::from(patient) % PATIENT_PICK.len()];
                let pick = usize::from(focus / 8);
                let model = &self.model;
                let rules: Vec<&Rule> = model.rules.iter().filter(|r| r.patient == patient).collect();
                let delegs: Vec<&Deleg> = model.delegs.iter().filter(|d| d.patient == patient).collect();
                // Anyone, anything, at an instant that matters to some record; or aimed at one of the
                // patient's rules (its grantee, mostly its codes and actions, near its window or revocation),
                // one of its delegations, or the patient themself.
                let mut q = Query {
                    patient,
                    requester: pick % ACTORS,
                    section: usize::from(section) % SECTIONS.len(),
                    purpose: usize::from(purpose) % PURPOSES.len(),
                    action: if write { ACT_WRITE } else { ACT_READ },
                    at: 0,
                };
                let instants = match focus % 8 {
                    1..=4 if !rules.is_empty() => {
                        let r = rules[pick % rules.len()];
                        q.requester = match r.who {
                            Who::Actor(a) => a,
                            Who::Role(role) => {
                                let holders: Vec<usize> =
                                    (0..ACTORS).filter(|a| model.actors[*a].role == role).collect();
                                holders[pick % holders.len()]
                            }
                        };
                        q.section = member(r.sections, section, SECTIONS.len());
                        q.purpose = member(r.purposes, purpose, PURPOSES.len());
                        if purpose < 0xc0 && r.actions & q.action == 0 {
                            q.action = r.actions;
                        }
                        vec![
                            Some(r.nb),
                            Some(r.time),
                            r.na,
                            r.revoked.map(|w| w.time),
                            Some(model.now()),
                            Some(middle(r.nb, r.na)),
                        ]
                    }
                    5 | 6 if !delegs.is_empty() => {
                        let d = delegs[pick % delegs.len()];
                        q.requester = d.delegate;
                        vec![
                            Some(d.nb),
                            Some(d.time),
                            d.na,
                            d.revoked.map(|w| w.time),
                            Some(model.now()),
                            Some(middle(d.nb, d.na)),
                        ]
                    }
                    7 => {
                        q.requester = patient;
                        vec![Some(model.now())]
                    }
                    _ => model.instants().into_iter().map(Some).collect(),
                };
                let instants: Vec<u64> = instants.into_iter().flatten().collect();
                q.at = offset(instants[usize::from(at) % instants.len()], delta);
                if section == 0 {
                    q.section = WILD;
                }
                if purpose == 0 {
                    q.purpose = WILD;
                }
                self.check(q)?;
            }
            Op::Access { accessor, patient, section, purpose, write, back } => {
                let q = Query {
                    patient: PATIENT_PICK[usize::from(patient) % PATIENT_PICK.len()],
                    requester: usize::from(accessor) % ACTORS,
                    section: usize::from(section) % SECTIONS.len(),
                    purpose: usize::from(purpose) % PURPOSES.len(),
                    action: if write { ACT_WRITE } else { ACT_READ },
                    at: self.model.now().saturating_sub(u64::from(back)),
                };
                let expected = self.model.access(q.requester, &q);
                let request = self.request(&q);
                let decision = self.ledger.check(&request);
                let basis = match decision.as_ref().map(|d| (d, d.access_basis())) {
                    Ok((_, Some(basis))) => basis,
                    Ok((Decision::BreakGlass, None)) => AccessBasis::BreakGlass {
                        reason: Code::new("unconscious").unwrap(),
                        justification: healthchain::hash::commitment(&[9; 32], b"why"),
                    },
                    _ => AccessBasis::Owner,
                };
                let break_glass = matches!(basis, AccessBasis::BreakGlass { .. });
                let payload = Payload::RecordAccess(RecordAccess::for_request(&request, basis));
                if let Some(id) = self.submit("access", q.requester, payload, expected)? {
                    let height = self.model.blocks;
                    self.model.accesses.push(MAccess { id, height, break_glass, reviewed: None });
                }
            }
            Op::Review { reviewer, access, justified } => {
                let reviewer = if reviewer % 2 == 0 { AUTHORITY } else { usize::from(reviewer / 2) % ACTORS };
                let index = existing(access, self.model.accesses.len());
                let (index, id) = match self.model.accesses.get(index) {
                    Some(a) => (Some(index), a.id),
                    None => (None, self.model.rules.first().map_or_else(TxId::default, |r| r.id)),
                };
                let expected = self.model.review(reviewer, index);
                let payload = Payload::ReviewBreakGlass { access: id, justified };
                if self.submit("review", reviewer, payload, expected)?.is_some() {
                    let when = self.when();
                    self.model.accesses[index.unwrap()].reviewed = Some(when);
                }
            }
            Op::Reopen => {
                self.reopen()?;
                self.count("reopen".into());
                self.model.forget_pending();
            }
            Op::Crash { landed } => {
                if self.model.pending == 0 {
                    return Ok(());
                }
                self.file.disk().crash_after = Some(usize::from(landed));
                let sealed = self.ledger.seal(&[&self.keys[AUTHORITY]]);
                ensure!(matches!(sealed, Err(LedgerError::Store(StoreError::Io(_)))), "crash: {:?}", sealed);
                self.file.disk().crash_after = None;
                self.reopen()?;
                // The append either left a frame that runs past the end of the file (cut) or a complete
                // one whose sync failed (kept): nothing else.
                if self.ledger.block_count() == self.model.blocks + 1 {
                    self.count("crash: block kept".into());
                    let timestamp = self.ledger.head().map(|h| h.timestamp).unwrap_or_default();
                    ensure_eq!(timestamp, self.model.now(), "block timestamp");
                    self.model.seal_pending(timestamp);
                } else {
                    self.count("crash: block cut".into());
                    ensure_eq!(self.ledger.block_count(), self.model.blocks, "blocks after the crash");
                    self.model.forget_pending();
                }
            }
        }
        ensure_eq!(self.ledger.pending().len(), self.model.pending);
        Ok(())
    }
}
