//! Synthetic ledgers: a realistic, seeded workload of a hospital network (registrations, consents and their
//! revocations, delegations, accesses on consent, by delegates and by patients, break-glass and its reviews,
//! key rotations), written through the public ledger API, so that what it writes is exactly what an
//! application would have written: signed, validated on submission, sealed in blocks. The tool's
//! `healthchain generate`, the benchmarks and the tests share it.
//!
//! The same [`Spec`] always gives the same ledger, byte for byte (keys, times and the chain's nonce derive
//! from the seed).
//!
//! ```
//! use healthchain::workload::{self, Spec};
//! use healthchain::{Ledger, MemoryStore};
//!
//! let spec = Spec { patients: 20, transactions: 300, seed: 7, block_size: 100, max_consents: None };
//! let clock = spec.clock();
//! let mut ledger =
//!     Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &spec.settings(), &[&spec.authority()])?;
//! let generated = workload::generate(&mut ledger, &clock, &spec, &mut |_| {})?;
//! assert!(ledger.tree().size() >= 300);
//! assert_eq!(generated.tally.by_kind.values().sum::<u64>(), ledger.tree().size());
//! # Ok::<(), healthchain::LedgerError>(())
//! ```

mod rng;

pub use rng::SplitMix64;

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::clock::{Clock, ManualClock};
use crate::codes::{Action, Actions, Code, CodeSet, Role};
use crate::consent::{CheckRequest, Decision};
use crate::error::TxError;
use crate::hash::{commitment, sha256};
use crate::ids::{AccessId, ActorId, ConsentId, DelegationId};
use crate::keys::SigningKey;
use crate::ledger::{Ledger, LedgerError, LedgerSettings};
use crate::store::Store;
use crate::tx::{AccessBasis, ConsentGrant, DelegationGrant, Effect, Grantee, RecordAccess, Scopes, Window};

/// 2026-01-01T00:00:00Z: where the simulated clock starts.
pub const START_MS: u64 = 1_767_225_600_000;
const SECOND: u64 = 1000;
const HOUR: u64 = 3600 * SECOND;
const DAY: u64 = 24 * HOUR;
/// Simulated time between two transactions, on average, times the number of patients: each patient's
/// record sees about four transactions a day, so 1,000 patients make one transaction every 20 s.
const GAP_TIMES_PATIENTS_MS: u64 = 20_000 * SECOND;

/// Record sections of the synthetic EHR.
const CLINICAL_SECTIONS: [&str; 9] =
    ["labs", "medications", "allergies", "imaging", "notes", "vitals", "immunizations", "mental-health", "genetics"];
/// Sections that are usually withheld from some providers.
const SENSITIVE_SECTIONS: [&str; 2] = ["mental-health", "genetics"];
/// Sections an emergency clinician looks at first.
const EMERGENCY_SECTIONS: [&str; 4] = ["medications", "allergies", "labs", "vitals"];
/// Why the glass was broken (reason codes on the ledger; the free text stays off it).
const BREAK_GLASS_REASONS: [(&str, &str); 5] = [
    ("unconscious", "patient unconscious on arrival, medication history needed"),
    ("cardiac-arrest", "cardiac arrest in the emergency department"),
    ("trauma", "major trauma, blood products and allergies to check"),
    ("overdose", "suspected overdose, current prescriptions needed"),
    ("stroke", "acute stroke pathway, anticoagulants to check"),
];

/// The key of actor `index` of `kind` for `seed`: independent of the workload's size, so that the same seed
/// gives the same patient ids whatever --transactions says.
pub fn derive_key(seed: u64, kind: &str, index: u64) -> SigningKey {
    let digest = sha256(&[b"healthchain generate key", &seed.to_le_bytes(), kind.as_bytes(), &index.to_le_bytes()]);
    SigningKey::from_seed(digest.as_bytes())
}

/// The current key of member `index` (a free function, so that it borrows only the members).
fn key_of(members: &[Member], index: usize) -> Result<&SigningKey, LedgerError> {
    members.get(index).map(|m| &m.key).ok_or(LedgerError::UnknownKey("generated actor"))
}

/// One registered actor and its current key.
struct Member {
    id: ActorId,
    key: SigningKey,
    role: Role,
}

/// What the generator remembers about a patient's rules (it never reads them back from the ledger).
#[derive(Default)]
struct PatientBook {
    /// Unrevoked consents (permits and denies) and their grants.
    consents: Vec<(ConsentId, ConsentGrant)>,
    /// Unrevoked delegations.
    delegations: Vec<(DelegationId, DelegationGrant)>,
    accesses: u64,
    break_glass: u64,
}

/// What a generated workload holds beyond the transactions' kinds, and what it tried that the ledger refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tally {
    /// Transactions written, by kind (`register-actor`, `grant-consent`, …; genesis included).
    pub by_kind: BTreeMap<&'static str, u64>,
    /// Permits naming one actor.
    pub permits_to_actors: u64,
    /// Permits naming a role.
    pub permits_to_roles: u64,
    /// Deny rules.
    pub denies: u64,
    /// Grants signed by a manage delegate.
    pub grants_by_delegates: u64,
    /// Grants refused as already covered (`AlreadyHasAccess`): not on the ledger.
    pub duplicate_grants_refused: u64,
    /// Consent revocations.
    pub consents_revoked: u64,
    /// Delegations granted by the authority (a court's order).
    pub delegations_granted_by_authority: u64,
    /// Delegation revocations.
    pub delegations_revoked: u64,
    /// Accesses on a consent.
    pub accesses_on_consent: u64,
    /// Accesses by a read delegate.
    pub accesses_by_delegates: u64,
    /// Patients reading their own record.
    pub accesses_by_owner: u64,
    /// Break-glass accesses.
    pub break_glass: u64,
    /// Break-glass reviews found justified.
    pub reviews_justified: u64,
    /// Break-glass reviews found not justified.
    pub reviews_not_justified: u64,
    /// Key rotations.
    pub key_rotations: u64,
    /// Consent checks denied (no access recorded): not on the ledger.
    pub checks_denied: u64,
}

struct Generator<'a, S: Store> {
    rng: SplitMix64,
    seed: u64,
    clock: &'a ManualClock,
    ledger: &'a mut Ledger<S>,
    hospital: SigningKey,
    members: Vec<Member>,
    /// Index into `members` by actor id.
    by_id: HashMap<ActorId, usize>,
    /// Indexes into `members`, by role.
    patients: Vec<usize>,
    providers: Vec<usize>,
    insurers: Vec<usize>,
    researchers: Vec<usize>,
    auditors: Vec<usize>,
    books: Vec<PatientBook>,
    /// Break-glass accesses waiting for review, oldest first, with their time.
    pending_reviews: VecDeque<(AccessId, u64)>,
    tally: Tally,
    target: u64,
    max_consents: Option<u64>,
    written: u64,
    since_seal: u64,
    block_size: u64,
    rotations: u64,
    /// Mean simulated time between two transactions of the workload.
    mean_gap: u64,
    progress: &'a mut dyn FnMut(u64),
}

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Number of patients (at least 1); staff are registered in proportion (a provider per 20 patients, an
    /// insurer per 200, a researcher per 500, an auditor per 2,000, at least one of each and 3 providers).
    pub patients: u64,
    /// About how many transactions to write, genesis and registrations included (at least those).
    pub transactions: u64,
    /// Seed of the keys, the times and the workload.
    pub seed: u64,
    /// Seal a block every this many transactions (at least 1).
    pub block_size: u64,
    /// At most this many consent rules (permits and denies) in all, or no limit: once reached, consent and
    /// delegation changes give way to accesses on consent, for a hospital's steady state (a settled set of
    /// rules, a growing stream of accesses).
    pub max_consents: Option<u64>,
}

impl Spec {
    /// The ledger's settings: its name, and a nonce derived from the seed.
    pub fn settings(&self) -> LedgerSettings {
        let mut settings = LedgerSettings::new("healthchain-synthetic");
        settings.nonce = Some(*sha256(&[b"healthchain generate nonce", &self.seed.to_le_bytes()]).as_bytes());
        settings
    }

    /// The one authority (the hospital) that creates the ledger and seals every block.
    pub fn authority(&self) -> SigningKey {
        derive_key(self.seed, "authority", 0)
    }

    /// The simulated clock, at [`START_MS`]; [`generate`] moves it on.
    pub fn clock(&self) -> ManualClock {
        ManualClock::new(START_MS)
    }
}

/// What [`generate`] wrote, beyond the ledger itself.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Generated {
    /// Counts of what was written and refused.
    pub tally: Tally,
    /// Registered actors by role (the authority included).
    pub actors: BTreeMap<Role, u64>,
    /// Break-glass accesses not reviewed yet.
    pub reviews_pending: u64,
    /// Up to three patients worth a look: the most accessed, one with a break-glass access, the first.
    pub sample_patients: Vec<ActorId>,
}

/// Writes the workload of `spec` on `ledger`, a new ledger created with [`Spec::settings`], the clock of
/// [`Spec::clock`] (`clock`, which it moves on) and [`Spec::authority`] as its only authority; seals the
/// last block. `progress` is told the number of transactions written after each. An error stops it: the
/// blocks sealed before stay valid.
pub fn generate<S: Store>(
    ledger: &mut Ledger<S>,
    clock: &ManualClock,
    spec: &Spec,
    progress: &mut dyn FnMut(u64),
) -> Result<Generated, LedgerError> {
    if spec.patients == 0 {
        return Err(LedgerError::InvalidSettings("a workload needs at least one patient"));
    }
    if spec.block_size == 0 {
        return Err(LedgerError::InvalidSettings("a workload's blocks hold at least one transaction"));
    }
    let mut generator = Generator {
        rng: SplitMix64(spec.seed),
        seed: spec.seed,
        clock,
        ledger,
        hospital: spec.authority(),
        members: Vec::new(),
        by_id: HashMap::new(),
        patients: Vec::new(),
        providers: Vec::new(),
        insurers: Vec::new(),
        researchers: Vec::new(),
        auditors: Vec::new(),
        books: Vec::new(),
        pending_reviews: VecDeque::new(),
        tally: Tally::default(),
        target: spec.transactions,
        max_consents: spec.max_consents,
        written: 1,
        since_seal: 0,
        block_size: spec.block_size,
        rotations: 0,
        mean_gap: (GAP_TIMES_PATIENTS_MS / spec.patients).clamp(200, HOUR),
        progress,
    };
    generator.tally.by_kind.insert("genesis", 1);
    (generator.progress)(1);
    generator.register_everyone(spec.patients)?;
    generator.workload()?;
    generator.seal_pending()?;
    let mut actors = BTreeMap::from([(Role::Authority, 1)]);
    for member in &generator.members {
        *actors.entry(member.role).or_default() += 1;
    }
    Ok(Generated {
        actors,
        reviews_pending: generator.pending_reviews.len() as u64,
        sample_patients: generator.sample_patients(),
        tally: generator.tally,
    })
}

impl<S: Store> Generator<'_, S> {
    fn now(&self) -> u64 {
        Clock::now_ms(self.clock)
    }

    /// Moves the simulated clock on by a random gap averaging `mean` ms.
    fn tick(&mut self, mean: u64) {
        let gap = self.rng.below(2 * mean + 1);
        self.clock.advance(gap);
    }

    /// Books one submitted transaction of `kind`; seals when the block is full.
    fn wrote(&mut self, kind: &'static str) -> Result<(), LedgerError> {
        *self.tally.by_kind.entry(kind).or_default() += 1;
        self.written += 1;
        self.since_seal += 1;
        (self.progress)(self.written);
        if self.since_seal >= self.block_size {
            self.seal_pending()?;
        }
        Ok(())
    }

    fn seal_pending(&mut self) -> Result<(), LedgerError> {
        if self.since_seal > 0 {
            self.ledger.seal(&[&self.hospital])?;
            self.since_seal = 0;
        }
        Ok(())
    }

    fn member(&self, index: usize) -> Result<&Member, LedgerError> {
        self.members.get(index).ok_or(LedgerError::UnknownKey("generated actor"))
    }

    fn register(&mut self, role: Role, kind: &str, index: u64) -> Result<usize, LedgerError> {
        self.tick(SECOND);
        let key = derive_key(self.seed, kind, index);
        let id = self.ledger.register(&self.hospital, &key, role)?;
        self.wrote("register-actor")?;
        self.members.push(Member { id, key, role });
        self.by_id.insert(id, self.members.len() - 1);
        Ok(self.members.len() - 1)
    }

    /// Registers the network's actors: staff in proportion to the number of patients, then the patients.
    fn register_everyone(&mut self, patients: u64) -> Result<(), LedgerError> {
        let staff = [
            (Role::Auditor, "auditor", (patients / 2000).max(1)),
            (Role::Provider, "provider", (patients / 20).max(3)),
            (Role::Insurer, "insurer", (patients / 200).max(1)),
            (Role::Researcher, "researcher", (patients / 500).max(1)),
        ];
        for (role, kind, count) in staff {
            for i in 0..count {
                let index = self.register(role, kind, i)?;
                match role {
                    Role::Auditor => self.auditors.push(index),
                    Role::Provider => self.providers.push(index),
                    Role::Insurer => self.insurers.push(index),
                    _ => self.researchers.push(index),
                }
            }
        }
        for i in 0..patients {
            let index = self.register(Role::Patient, "patient", i)?;
            self.patients.push(index);
            self.books.push(PatientBook::default());
        }
        Ok(())
    }

    /// Random events until the target is reached.
    fn workload(&mut self) -> Result<(), LedgerError> {
        while self.written < self.target {
            self.tick(self.mean_gap);
            // Reviews keep up with break-glass accesses a few hours after them.
            if let Some((_, time)) = self.pending_reviews.front()
                && self.now().saturating_sub(*time) >= 4 * HOUR
                && self.rng.percent(25)
            {
                self.review()?;
                continue;
            }
            let roll = self.rng.below(1000);
            let changes_consent = matches!(roll, 580..795 | 825..840 | 870..893);
            match roll {
                _ if changes_consent && self.settled() => self.access_on_consent()?,
                0..580 => self.access_on_consent()?,
                580..710 => self.grant_permit_to_actor(None)?,
                710..735 => self.grant_permit_to_role()?,
                735..755 => self.grant_deny()?,
                755..795 => self.revoke_consent()?,
                795..825 => self.owner_read()?,
                825..840 => self.grant_delegation()?,
                840..870 => self.delegate_read()?,
                870..885 => self.grant_by_delegate()?,
                885..893 => self.revoke_delegation()?,
                893..905 => self.break_glass()?,
                905 => self.rotate_key()?,
                _ => self.access_on_consent()?,
            }
        }
        Ok(())
    }

    /// Whether the consent rules have reached [`Spec::max_consents`].
    fn settled(&self) -> bool {
        let granted = self.tally.permits_to_actors + self.tally.permits_to_roles + self.tally.denies;
        self.max_consents.is_some_and(|max| granted >= max)
    }

    fn random_patient(&mut self) -> usize {
        self.rng.below(self.patients.len() as u64) as usize
    }

    fn code(text: &str) -> Result<Code, LedgerError> {
        Code::new(text).map_err(|_| LedgerError::InvalidSettings("generator code"))
    }

    fn codes(texts: &[&str]) -> Result<CodeSet, LedgerError> {
        CodeSet::parse(texts.iter().copied()).map_err(|_| LedgerError::InvalidSettings("generator code set"))
    }

    /// A random non-empty subset of `items`, of at most `max` elements.
    fn subset<'a>(&mut self, items: &[&'a str], max: u64) -> Vec<&'a str> {
        let want = 1 + self.rng.below(max.min(items.len() as u64));
        let mut chosen: Vec<&str> = Vec::new();
        while (chosen.len() as u64) < want {
            if let Some(item) = self.rng.pick(items)
                && !chosen.contains(item)
            {
                chosen.push(item);
            }
        }
        chosen
    }

    /// A window from now: 60 % bounded (1 week to a year), 40 % until revoked.
    fn window(&mut self) -> Window {
        let now = self.now();
        let not_after = self.rng.percent(60).then(|| now + 7 * DAY + self.rng.below(358 * DAY));
        Window { not_before: now, not_after }
    }

    /// Grants a consent signed by `signer` (the patient or a manage delegate). A refused duplicate ("already
    /// has access") is counted and writes nothing.
    fn grant(&mut self, patient: usize, signer: usize, grant: ConsentGrant) -> Result<bool, LedgerError> {
        match self.ledger.grant_consent(key_of(&self.members, signer)?, grant.clone()) {
            Ok(granted) => {
                if let Some(book) = self.books.get_mut(patient) {
                    book.consents.push((granted.consent, grant));
                }
                self.wrote("grant-consent")?;
                Ok(true)
            }
            Err(LedgerError::Tx(TxError::AlreadyHasAccess { .. })) => {
                self.tally.duplicate_grants_refused += 1;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn patient_member(&self, patient: usize) -> Result<usize, LedgerError> {
        self.patients.get(patient).copied().ok_or(LedgerError::UnknownKey("generated patient"))
    }

    /// A permit for one provider (most often), insurer or researcher, signed by the patient or `delegate`.
    fn grant_permit_to_actor(&mut self, by: Option<(usize, usize)>) -> Result<(), LedgerError> {
        let (patient, signer) = match by {
            Some(pair) => pair,
            None => {
                let patient = self.random_patient();
                (patient, self.patient_member(patient)?)
            }
        };
        let roll = self.rng.below(100);
        let (pool, sections, purposes, actions) = if roll < 75 {
            let sections = if self.rng.percent(15) {
                vec!["*"]
            } else {
                let mut all = CLINICAL_SECTIONS.to_vec();
                all.retain(|s| !SENSITIVE_SECTIONS.contains(s) || self.rng.percent(20));
                self.subset(&all, 5)
            };
            let purposes = match self.rng.below(10) {
                0..6 => vec!["TREAT"],
                6..9 => vec!["TREAT", "HOPERAT"],
                _ => vec!["*"],
            };
            let actions = if self.rng.percent(30) { Actions::READ_WRITE } else { Actions::READ };
            (&self.providers, sections, purposes, actions)
        } else if roll < 90 {
            let sections = if self.rng.percent(50) { vec!["billing"] } else { vec!["billing", "claims"] };
            (&self.insurers, sections, vec!["HPAYMT"], Actions::READ)
        } else {
            let sections = self.subset(&["labs", "genetics", "imaging", "vitals"], 2);
            (&self.researchers, sections, vec!["HRESCH"], Actions::READ)
        };
        let Some(&grantee) = self.rng.pick(pool) else { return Ok(()) };
        let grant = ConsentGrant {
            patient: self.member(self.patient_member(patient)?)?.id,
            grantee: Grantee::Actor(self.member(grantee)?.id),
            effect: Effect::Permit,
            sections: Self::codes(&sections)?,
            purposes: Self::codes(&purposes)?,
            actions,
            window: self.window(),
            exceptions: Vec::new(),
        };
        if self.grant(patient, signer, grant)? {
            self.tally.permits_to_actors += 1;
            if by.is_some() {
                self.tally.grants_by_delegates += 1;
            }
        }
        Ok(())
    }

    /// A permit for every actor of a role: any provider may see allergies and immunizations, any insurer
    /// billing, any researcher labs for a study.
    fn grant_permit_to_role(&mut self) -> Result<(), LedgerError> {
        let patient = self.random_patient();
        let (role, sections, purposes, window) = match self.rng.below(10) {
            0..6 => {
                let now = self.now();
                (
                    Role::Provider,
                    vec!["allergies", "immunizations"],
                    vec!["TREAT"],
                    Window { not_before: now, not_after: None },
                )
            }
            6..8 => (Role::Insurer, vec!["billing"], vec!["HPAYMT"], self.window()),
            _ => {
                let now = self.now();
                let end = now + 90 * DAY + self.rng.below(275 * DAY);
                (Role::Researcher, vec!["labs"], vec!["HRESCH"], Window { not_before: now, not_after: Some(end) })
            }
        };
        let signer = self.patient_member(patient)?;
        let grant = ConsentGrant {
            patient: self.member(signer)?.id,
            grantee: Grantee::Role(role),
            effect: Effect::Permit,
            sections: Self::codes(&sections)?,
            purposes: Self::codes(&purposes)?,
            actions: Actions::READ,
            window,
            exceptions: Vec::new(),
        };
        if self.grant(patient, signer, grant)? {
            self.tally.permits_to_roles += 1;
        }
        Ok(())
    }

    /// A deny rule: a sensitive section withheld from one provider, or everything from researchers.
    fn grant_deny(&mut self) -> Result<(), LedgerError> {
        let patient = self.random_patient();
        let signer = self.patient_member(patient)?;
        let (grantee, sections) = if self.rng.percent(70) {
            let Some(&provider) = self.rng.pick(&self.providers) else { return Ok(()) };
            let section = self.rng.pick(&SENSITIVE_SECTIONS).copied().unwrap_or("mental-health");
            (Grantee::Actor(self.member(provider)?.id), vec![section])
        } else {
            (Grantee::Role(Role::Researcher), vec!["*"])
        };
        let window =
            if self.rng.percent(70) { Window { not_before: self.now(), not_after: None } } else { self.window() };
        let grant = ConsentGrant {
            patient: self.member(signer)?.id,
            grantee,
            effect: Effect::Deny,
            sections: Self::codes(&sections)?,
            purposes: Self::codes(&["*"])?,
            actions: Actions::READ_WRITE,
            window,
            exceptions: Vec::new(),
        };
        if self.grant(patient, signer, grant)? {
            self.tally.denies += 1;
        }
        Ok(())
    }

    fn revoke_consent(&mut self) -> Result<(), LedgerError> {
        let patient = self.random_patient();
        let Some(book) = self.books.get(patient) else { return Ok(()) };
        if book.consents.is_empty() {
            return self.grant_permit_to_actor(None);
        }
        let slot = self.rng.below(book.consents.len() as u64) as usize;
        let Some((consent, _)) = book.consents.get(slot) else { return Ok(()) };
        let consent = *consent;
        let signer = self.patient_member(patient)?;
        self.ledger.revoke_consent(key_of(&self.members, signer)?, consent)?;
        if let Some(book) = self.books.get_mut(patient) {
            book.consents.swap_remove(slot);
        }
        self.tally.consents_revoked += 1;
        self.wrote("revoke-consent")
    }

    /// The engine's decision for `requester` reading (or writing) `section` for `purpose` a little before now.
    fn ask(
        &mut self,
        patient: usize,
        requester: ActorId,
        section: &str,
        purpose: &str,
        action: Action,
    ) -> Result<(CheckRequest, Decision), LedgerError> {
        let now = self.now();
        let request = CheckRequest {
            patient: self.member(self.patient_member(patient)?)?.id,
            requester,
            section: Self::code(section)?,
            purpose: Self::code(purpose)?,
            action,
            at: now.saturating_sub(self.rng.below(30 * SECOND)),
        };
        let decision = self.ledger.check(&request)?;
        Ok((request, decision))
    }

    /// Records the access `request` by `accessor` on the engine's basis; false if the engine denies it.
    fn record(
        &mut self,
        patient: usize,
        accessor: usize,
        request: &CheckRequest,
        decision: &Decision,
    ) -> Result<bool, LedgerError> {
        let Some(basis) = decision.access_basis() else {
            self.tally.checks_denied += 1;
            return Ok(false);
        };
        self.ledger
            .record_access(key_of(&self.members, accessor)?, RecordAccess::for_request(request, basis.clone()))?;
        match basis {
            AccessBasis::Owner => self.tally.accesses_by_owner += 1,
            AccessBasis::Delegate(_) => self.tally.accesses_by_delegates += 1,
            _ => self.tally.accesses_on_consent += 1,
        }
        if let Some(book) = self.books.get_mut(patient) {
            book.accesses += 1;
        }
        self.wrote("record-access")?;
        Ok(true)
    }

    /// An access by an actor that one of the patient's permits names (or, for role permits, any actor of it).
    fn access_on_consent(&mut self) -> Result<(), LedgerError> {
        let patient = self.random_patient();
        let now = self.now();
        let Some(book) = self.books.get_mut(patient) else { return Ok(()) };
        // Forget the rules whose window has closed.
        book.consents.retain(|(_, g)| g.window.not_after.is_none_or(|end| end > now));
        let permits: Vec<&ConsentGrant> =
            book.consents.iter().filter(|(_, g)| g.effect == Effect::Permit).map(|(_, g)| g).collect();
        let Some(grant) = self.rng.pick(&permits).map(|g| (*g).clone()) else {
            // No rule to access on: grant one, or, once the rules are settled, the patient reads their own.
            return if self.settled() { self.owner_read() } else { self.grant_permit_to_actor(None) };
        };
        let accessor = match grant.grantee {
            Grantee::Actor(id) => self.by_id.get(&id).copied(),
            Grantee::Role(role) => {
                let pool = match role {
                    Role::Provider => &self.providers,
                    Role::Insurer => &self.insurers,
                    Role::Researcher => &self.researchers,
                    _ => &self.auditors,
                };
                self.rng.pick(pool).copied()
            }
        };
        let Some(accessor) = accessor else { return Ok(()) };
        let section = self.code_from(&grant.sections, &CLINICAL_SECTIONS);
        let purpose = self.code_from(&grant.purposes, &["TREAT", "HOPERAT"]);
        let action =
            if grant.actions.contains(Action::Write) && self.rng.percent(25) { Action::Write } else { Action::Read };
        let requester = self.member(accessor)?.id;
        let (request, decision) = self.ask(patient, requester, &section, &purpose, action)?;
        self.record(patient, accessor, &request, &decision)?;
        Ok(())
    }

    /// One code of `set`, or of `any` when the set is `*`.
    fn code_from(&mut self, set: &CodeSet, any: &[&str]) -> String {
        if set.is_all() {
            self.rng.pick(any).copied().unwrap_or("labs").to_owned()
        } else {
            self.rng.pick(set.codes()).map_or_else(|| "labs".to_owned(), |c| c.as_str().to_owned())
        }
    }

    /// The patient reads their own record (patient portal).
    fn owner_read(&mut self) -> Result<(), LedgerError> {
        let patient = self.random_patient();
        let member = self.patient_member(patient)?;
        let section = self.rng.pick(&CLINICAL_SECTIONS).copied().unwrap_or("labs");
        let requester = self.member(member)?.id;
        let (request, decision) = self.ask(patient, requester, section, "PATRQT", Action::Read)?;
        self.record(patient, member, &request, &decision)?;
        Ok(())
    }

    /// A guardian or proxy (another patient) for a patient; sometimes court-appointed (signed by the hospital).
    fn grant_delegation(&mut self) -> Result<(), LedgerError> {
        if self.patients.len() < 2 {
            return self.owner_read();
        }
        let patient = self.random_patient();
        let delegate = self.random_patient();
        if delegate == patient {
            return Ok(());
        }
        let patient_id = self.member(self.patient_member(patient)?)?.id;
        let delegate_id = self.member(self.patient_member(delegate)?)?.id;
        if self.books.get(patient).is_some_and(|b| b.delegations.iter().any(|(_, d)| d.delegate == delegate_id)) {
            return Ok(());
        }
        let scopes = if self.rng.percent(50) { Scopes::MANAGE_AND_READ } else { Scopes::READ };
        let grant = DelegationGrant { patient: patient_id, delegate: delegate_id, scopes, window: self.window() };
        let by_court = self.rng.percent(10);
        let signer = if by_court { &self.hospital } else { key_of(&self.members, self.patient_member(patient)?)? };
        let id = self.ledger.grant_delegation(signer, grant.clone())?;
        if by_court {
            self.tally.delegations_granted_by_authority += 1;
        }
        if let Some(book) = self.books.get_mut(patient) {
            book.delegations.push((id, grant));
        }
        self.wrote("grant-delegation")
    }

    /// A patient with a delegation, one of its delegations in force now, and the delegate's member index.
    fn delegation_in_force(&mut self, scope: Scopes) -> Result<Option<(usize, usize)>, LedgerError> {
        let patient = self.random_patient();
        let now = self.now();
        let Some(book) = self.books.get(patient) else { return Ok(None) };
        let usable: Vec<ActorId> = book
            .delegations
            .iter()
            .filter(|(_, d)| d.scopes.includes(scope) && d.window.contains(now))
            .map(|(_, d)| d.delegate)
            .collect();
        let Some(delegate) = self.rng.pick(&usable).copied() else { return Ok(None) };
        Ok(self.by_id.get(&delegate).map(|member| (patient, *member)))
    }

    /// A delegate with read scope reads the patient's record.
    fn delegate_read(&mut self) -> Result<(), LedgerError> {
        let Some((patient, delegate)) = self.delegation_in_force(Scopes::READ)? else {
            return self.owner_read();
        };
        let section = self.rng.pick(&CLINICAL_SECTIONS).copied().unwrap_or("labs");
        let requester = self.member(delegate)?.id;
        let (request, decision) = self.ask(patient, requester, section, "PATRQT", Action::Read)?;
        self.record(patient, delegate, &request, &decision)?;
        Ok(())
    }

    /// A delegate with manage scope grants a provider access on the patient's behalf.
    fn grant_by_delegate(&mut self) -> Result<(), LedgerError> {
        match self.delegation_in_force(Scopes::MANAGE)? {
            Some((patient, delegate)) => self.grant_permit_to_actor(Some((patient, delegate))),
            None => self.grant_permit_to_actor(None),
        }
    }

    fn revoke_delegation(&mut self) -> Result<(), LedgerError> {
        let patient = self.random_patient();
        let Some(book) = self.books.get(patient) else { return Ok(()) };
        let slot = self.rng.below(book.delegations.len() as u64) as usize;
        let Some((delegation, _)) = book.delegations.get(slot) else { return self.owner_read() };
        let delegation = *delegation;
        let signer = self.patient_member(patient)?;
        self.ledger.revoke_delegation(key_of(&self.members, signer)?, delegation)?;
        if let Some(book) = self.books.get_mut(patient) {
            book.delegations.swap_remove(slot);
        }
        self.tally.delegations_revoked += 1;
        self.wrote("revoke-delegation")
    }

    /// An emergency access by a provider for ETREAT (or BTG), usually without any consent: break-glass.
    fn break_glass(&mut self) -> Result<(), LedgerError> {
        let patient = self.random_patient();
        let Some(&provider) = self.rng.pick(&self.providers) else { return Ok(()) };
        let section = self.rng.pick(&EMERGENCY_SECTIONS).copied().unwrap_or("medications");
        let purpose = if self.rng.percent(85) { "ETREAT" } else { "BTG" };
        let requester = self.member(provider)?.id;
        let (request, decision) = self.ask(patient, requester, section, purpose, Action::Read)?;
        if decision != Decision::BreakGlass {
            // A consent covers the emergency purpose: consent comes before break-glass.
            self.record(patient, provider, &request, &decision)?;
            return Ok(());
        }
        let (reason, text) = self.rng.pick(&BREAK_GLASS_REASONS).copied().unwrap_or(("unconscious", "unconscious"));
        let salt = self.rng.bytes32();
        let basis =
            AccessBasis::BreakGlass { reason: Self::code(reason)?, justification: commitment(&salt, text.as_bytes()) };
        let key = key_of(&self.members, provider)?;
        let access = self.ledger.record_access(key, RecordAccess::for_request(&request, basis))?;
        self.pending_reviews.push_back((access, self.now()));
        self.tally.break_glass += 1;
        if let Some(book) = self.books.get_mut(patient) {
            book.accesses += 1;
            book.break_glass += 1;
        }
        self.wrote("record-access")
    }

    /// The privacy officer (an auditor, sometimes the hospital) reviews the oldest break-glass access.
    fn review(&mut self) -> Result<(), LedgerError> {
        let Some((access, _)) = self.pending_reviews.pop_front() else { return Ok(()) };
        let justified = self.rng.percent(92);
        let by_hospital = self.rng.percent(10);
        let auditor = self.rng.pick(&self.auditors).copied();
        let reviewer = match auditor {
            Some(index) if !by_hospital => key_of(&self.members, index)?,
            _ => &self.hospital,
        };
        self.ledger.review_break_glass(reviewer, access, justified)?;
        if justified {
            self.tally.reviews_justified += 1;
        } else {
            self.tally.reviews_not_justified += 1;
        }
        self.wrote("review-break-glass")
    }

    /// A provider or patient replaces a key (lost device, routine rotation); sometimes the hospital signs
    /// (key recovery).
    fn rotate_key(&mut self) -> Result<(), LedgerError> {
        let pool = if self.rng.percent(50) { &self.providers } else { &self.patients };
        let Some(&index) = self.rng.pick(pool) else { return Ok(()) };
        self.rotations += 1;
        let new_key = derive_key(self.seed, "rotation", self.rotations);
        let actor = self.member(index)?.id;
        let by_hospital = self.rng.percent(20);
        let signer = if by_hospital { &self.hospital } else { key_of(&self.members, index)? };
        self.ledger.rotate_key(signer, actor, &new_key)?;
        if let Some(member) = self.members.get_mut(index) {
            member.key = new_key;
        }
        self.tally.key_rotations += 1;
        self.wrote("rotate-key")
    }

    /// Up to three patient ids worth a look: the most accessed, one with break-glass, and the first.
    fn sample_patients(&self) -> Vec<ActorId> {
        let id_of = |patient: usize| self.patients.get(patient).and_then(|m| self.members.get(*m)).map(|m| m.id);
        let mut picks: Vec<usize> = Vec::new();
        let busiest =
            (0..self.books.len()).max_by_key(|p| (self.books.get(*p).map_or(0, |b| b.accesses), std::cmp::Reverse(*p)));
        let emergency = (0..self.books.len()).find(|p| self.books.get(*p).is_some_and(|b| b.break_glass > 0));
        for pick in [busiest, emergency, Some(0)].into_iter().flatten() {
            if !picks.contains(&pick) {
                picks.push(pick);
            }
        }
        picks.into_iter().filter_map(id_of).collect()
    }
}

#[cfg(test)]
mod tests;
