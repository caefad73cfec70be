//! Fixture pieces shared by the benchmarks.
#![allow(dead_code)]

use healthchain::*;

/// 2026-11-23 09:00 UTC.
pub const T0: u64 = 1_795_424_400_000;

/// A deterministic key for actor number `n`.
pub fn key(n: u32) -> SigningKey {
    let mut seed = [7u8; 32];
    seed[..4].copy_from_slice(&n.to_le_bytes());
    SigningKey::from_seed(&seed)
}

/// "May `requester` read `patient`'s labs for treatment at `at`?"
pub fn read_labs(patient: ActorId, requester: ActorId, at: u64) -> CheckRequest {
    CheckRequest {
        patient,
        requester,
        section: Code::new("labs").unwrap(),
        purpose: Code::new("TREAT").unwrap(),
        action: Action::Read,
        at,
    }
}

/// The patient's permit for `doctor` to read labs for treatment from `T0`, until revoked.
pub fn labs_permit(patient: ActorId, doctor: ActorId) -> ConsentGrant {
    ConsentGrant {
        patient,
        grantee: Grantee::Actor(doctor),
        effect: Effect::Permit,
        sections: CodeSet::parse(["labs"]).unwrap(),
        purposes: CodeSet::parse(["TREAT"]).unwrap(),
        actions: Actions::READ,
        window: Window { not_before: T0, not_after: None },
        exceptions: Vec::new(),
    }
}
