//! A patient's consents and delegations, kept together with a compact copy of what the consent engine
//! tests first (DESIGN.md §6, "Memory"), so that a decision reads one patient's rules in a few cache lines
//! instead of looking each rule up in a map of every rule and following its pointers.
//!
//! The compact copies hold only plain integers, flags and fixed-size ids, each field always initialised:
//! no `Option` whose absent payload an optimiser may read speculatively (valgrind reports such reads as
//! conditional jumps on uninitialised values, though the result never depends on them).

use super::{Consent, Delegation, Stamp};
use foldhash::HashMap;

use crate::codes::{Action, Actions, Code, CodeSet, Role};
use crate::ids::{ActorId, ConsentId, DelegationId};
use crate::tx::{Effect, Exception, Grantee, Scopes, Window};

/// When a rule or delegation is in force, as plain integers and flags.
#[derive(Clone, Copy, Debug)]
struct Life {
    /// Height of the grant.
    granted_height: u64,
    /// First instant in force: the later of the grant and the window's start.
    from: u64,
    /// Last instant of the window (its exclusive end less one; `u64::MAX` for none).
    last: u64,
    /// Whether revoked.
    revoked: bool,
    /// Height of the revocation.
    revoked_height: u64,
    /// Instant of the revocation: in force only before it.
    revoked_time: u64,
}

impl Life {
    /// Granted at `granted`, for `window`.
    fn new(granted: &Stamp, window: &Window) -> Self {
        // An empty window (refused at grant) is never in force.
        let (from, last) = match window.not_after {
            _ if window.is_empty() => (u64::MAX, 0),
            Some(end) => (granted.time.max(window.not_before), end.saturating_sub(1)),
            None => (granted.time.max(window.not_before), u64::MAX),
        };
        Life { granted_height: granted.height, from, last, revoked: false, revoked_height: 0, revoked_time: 0 }
    }

    fn revoke(&mut self, stamp: &Stamp) {
        self.revoked = true;
        self.revoked_height = stamp.height;
        self.revoked_time = stamp.time;
    }

    /// Whether the window contains `at` and the grant came at or before it.
    fn covers(&self, at: u64) -> bool {
        self.from <= at && at <= self.last
    }

    /// Whether the record is in force at instant `at` as the state stood after block `height`: granted at a
    /// visible height and at or before `at`, its window containing `at`, and no visible revocation at or
    /// before `at` (DESIGN.md §5).
    fn in_force(&self, height: u64, at: u64) -> bool {
        self.granted_height <= height
            && self.covers(at)
            && (!self.revoked || self.revoked_height > height || at < self.revoked_time)
    }
}

/// The bit shared by the codes that came after the first 31 (see [`CodeBits`]).
const SHARED: u32 = 1 << 31;

/// Bits for the codes that consents name, one table for sections and one for purposes: each of the first 31
/// distinct codes gets a bit of a 32-bit set, later ones share the last bit. A rule's mask then rules out
/// exactly the codes it does not name, unless it names a code with the shared bit: only such a rule is
/// matched against its codes themselves. (Real code systems are small: HL7's purposes of use, a record's
/// sections.) A bit, once given, never changes, so the masks of older rules stay true.
#[derive(Clone, Debug, Default)]
pub(super) struct CodeBits {
    bits: HashMap<Code, u32>,
}

impl CodeBits {
    /// The bit of `code` (the shared bit for a code no consent has named among the first 31).
    pub fn bit(&self, code: &Code) -> u32 {
        self.bits.get(code).copied().unwrap_or(SHARED)
    }

    fn intern(&mut self, code: &Code) -> u32 {
        if let Some(bit) = self.bits.get(code) {
            return *bit;
        }
        let Ok(index) = u32::try_from(self.bits.len()) else { return SHARED };
        if index >= 31 {
            return SHARED;
        }
        let bit = 1 << index;
        self.bits.insert(*code, bit);
        bit
    }

    /// The mask of `set` (every bit for `*`), and whether it is exact (names no code with the shared bit).
    fn mask(&mut self, set: &CodeSet) -> (u32, bool) {
        if set.is_all() {
            return (u32::MAX, true);
        }
        let mask = set.codes().iter().fold(0, |mask, code| mask | self.intern(code));
        (mask, mask & SHARED == 0)
    }
}

/// The code tables of a state.
#[derive(Clone, Debug, Default)]
pub(super) struct Codebook {
    /// Record sections.
    pub sections: CodeBits,
    /// Purposes of use.
    pub purposes: CodeBits,
}

/// The first four bytes of an actor id (a SHA-256 output): a fingerprint that rules out other actors.
fn fingerprint(id: &ActorId) -> u32 {
    let bytes = id.as_bytes();
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// What the engine tests first of a consent: 16 bytes, at the start of its [`ConsentEntry`].
#[derive(Clone, Copy, Debug)]
struct ConsentFilter {
    /// [`fingerprint`] of the grantee actor (0 for a role grantee).
    grantee: u32,
    /// Mask of the sections ([`CodeBits`]).
    sections: u32,
    /// Mask of the purposes.
    purposes: u32,
    /// The grantee role, for a role grantee.
    role: Option<Role>,
    actions: Actions,
}

/// What the engine reads of a consent that passed its filter (never the consent itself, unless the masks
/// are not exact).
#[derive(Clone, Copy, Debug)]
struct ConsentKey {
    life: Life,
    /// The grantee actor (zeros for a role grantee).
    grantee: ActorId,
    id: ConsentId,
    effect: Effect,
    /// Whether both masks are exact.
    exact: bool,
    /// Whether the rule has exceptions (read from the consent itself).
    excepted: bool,
}

/// A consent's filter and key side by side: a patient's entries are one allocation, so that a decision
/// finds the key of a rule that passed its filter in the lines (and the page) it is already reading,
/// instead of in a second allocation elsewhere in the heap (a dependent cache and TLB miss).
#[derive(Clone, Copy, Debug)]
struct ConsentEntry {
    filter: ConsentFilter,
    key: ConsentKey,
}

/// What the engine tests of a delegation.
#[derive(Clone, Copy, Debug)]
struct DelegationKey {
    life: Life,
    delegate: ActorId,
    scopes: Scopes,
}

/// A consent question reduced to what the compact copies test.
pub(super) struct Question {
    /// Height of the view asked.
    pub height: u64,
    /// The instant asked about.
    pub at: u64,
    /// The requester.
    pub requester: ActorId,
    /// The requester's role.
    pub role: Role,
    /// The section.
    pub section: Code,
    /// The purpose.
    pub purpose: Code,
    /// The action.
    pub action: Action,
}

/// Everything the state keeps of one patient. `repr(C)` keeps what every decision reads first next to the
/// map key, in the cache line a look-up fetches anyway.
#[derive(Clone, Debug, Default)]
#[repr(C)]
pub(super) struct PatientRecords {
    consent_entries: Vec<ConsentEntry>,
    delegation_keys: Vec<DelegationKey>,
    consents: Vec<Consent>,
    delegations: Vec<Delegation>,
    /// Erasure, if any.
    pub erased: Option<Stamp>,
}

impl PatientRecords {
    /// The patient's consents, in ledger order.
    pub fn consents(&self) -> &[Consent] {
        &self.consents
    }

    /// The patient's delegations, in ledger order.
    pub fn delegations(&self) -> &[Delegation] {
        &self.delegations
    }

    /// Adds a consent, giving its codes bits in `codebook`; returns its place among the patient's consents.
    pub fn push_consent(&mut self, consent: Consent, codebook: &mut Codebook) -> usize {
        let grant = &consent.grant;
        let (grantee, role) = match grant.grantee {
            Grantee::Actor(id) => (id, None),
            Grantee::Role(role) => (ActorId::default(), Some(role)),
        };
        let (sections, sections_exact) = codebook.sections.mask(&grant.sections);
        let (purposes, purposes_exact) = codebook.purposes.mask(&grant.purposes);
        let filter = ConsentFilter {
            grantee: if role.is_some() { 0 } else { fingerprint(&grantee) },
            sections,
            purposes,
            role,
            actions: grant.actions,
        };
        let key = ConsentKey {
            life: Life::new(&consent.granted, &grant.window),
            grantee,
            id: consent.id,
            effect: grant.effect,
            exact: sections_exact && purposes_exact,
            excepted: !grant.exceptions.is_empty(),
        };
        self.consent_entries.push(ConsentEntry { filter, key });
        self.consents.push(consent);
        self.consents.len() - 1
    }

    /// Records the revocation of the consent at place `at`.
    pub fn revoke_consent(&mut self, at: usize, stamp: Stamp) {
        if let (Some(consent), Some(entry)) = (self.consents.get_mut(at), self.consent_entries.get_mut(at)) {
            consent.revoked = Some(stamp);
            entry.key.life.revoke(&stamp);
        }
    }

    /// The consent at place `at`.
    pub fn consent(&self, at: usize) -> Option<&Consent> {
        self.consents.get(at)
    }

    /// Adds a delegation; returns its place among the patient's delegations.
    pub fn push_delegation(&mut self, delegation: Delegation) -> usize {
        self.delegation_keys.push(DelegationKey {
            life: Life::new(&delegation.granted, &delegation.grant.window),
            delegate: delegation.grant.delegate,
            scopes: delegation.grant.scopes,
        });
        self.delegations.push(delegation);
        self.delegations.len() - 1
    }

    /// Records the revocation of the delegation at place `at`.
    pub fn revoke_delegation(&mut self, at: usize, stamp: Stamp) {
        if let (Some(delegation), Some(key)) = (self.delegations.get_mut(at), self.delegation_keys.get_mut(at)) {
            delegation.revoked = Some(stamp);
            key.life.revoke(&stamp);
        }
    }

    /// The delegation at place `at`.
    pub fn delegation(&self, at: usize) -> Option<&Delegation> {
        self.delegations.get(at)
    }

    /// The first (lowest id) read delegation to `delegate` in force at `at` as of `height`.
    pub fn read_delegate(&self, delegate: &ActorId, height: u64, at: u64) -> Option<DelegationId> {
        self.delegation_keys
            .iter()
            .zip(&self.delegations)
            .filter(|(key, _)| {
                key.delegate == *delegate && key.scopes.includes(Scopes::READ) && key.life.in_force(height, at)
            })
            .map(|(_, delegation)| delegation.id)
            .min()
    }

    /// Whether `delegate` holds an unrevoked manage delegation granted at or before `time` whose window
    /// contains it (a delegation never reaches back before its own grant), in the latest state.
    pub fn manages(&self, delegate: &ActorId, time: u64) -> bool {
        self.delegation_keys.iter().any(|key| {
            key.delegate == *delegate
                && !key.life.revoked
                && key.scopes.includes(Scopes::MANAGE)
                && key.life.covers(time)
        })
    }

    /// The consents in force that match `question`, each with its effect, in ledger order.
    pub fn matching<'a>(
        &'a self,
        question: &'a Question,
        codebook: &Codebook,
    ) -> impl Iterator<Item = (ConsentId, Effect)> + 'a {
        let requester = fingerprint(&question.requester);
        let section = codebook.sections.bit(&question.section);
        let purpose = codebook.purposes.bit(&question.purpose);
        self.consent_entries
            .iter()
            .enumerate()
            .filter(move |(_, entry)| {
                let filter = &entry.filter;
                let grantee = match filter.role {
                    Some(role) => role == question.role,
                    None => filter.grantee == requester,
                };
                grantee
                    && filter.actions.contains(question.action)
                    && filter.sections & section != 0
                    && filter.purposes & purpose != 0
            })
            .filter_map(move |(at, entry)| {
                let key = &entry.key;
                let grantee = entry.filter.role.is_some() || key.grantee == question.requester;
                let codes = key.exact
                    || self.consents.get(at).is_some_and(|consent| {
                        consent.grant.sections.matches(&question.section)
                            && consent.grant.purposes.matches(&question.purpose)
                    });
                let unexcepted = !key.excepted
                    || self
                        .consents
                        .get(at)
                        .is_some_and(|consent| !consent.grant.exceptions.iter().any(|e| excepts(e, question)));
                (grantee && key.life.in_force(question.height, question.at) && codes && unexcepted)
                    .then_some((key.id, key.effect))
            })
    }
}

/// Whether `exception` takes `question` out of its rule: every condition holds.
fn excepts(exception: &Exception, question: &Question) -> bool {
    let grantee = match exception.grantee {
        None => true,
        Some(Grantee::Actor(id)) => id == question.requester,
        Some(Grantee::Role(role)) => role == question.role,
    };
    grantee
        && exception.actions.contains(question.action)
        && exception.sections.matches(&question.section)
        && exception.purposes.matches(&question.purpose)
        && exception.window.contains(question.at)
}
