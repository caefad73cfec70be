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

/// The blocks of the ledger file at `path` (genesis first), encoded, as a read-only open finds them.
pub fn blocks_of_file(path: &std::path::Path) -> Vec<Vec<u8>> {
    let store = FileStore::open(path, OpenOptions { read_only: true, strict: true }).unwrap();
    (0..store.len()).map(|height| store.read(height).unwrap()).collect()
}

/// Calls `each` with every transaction of `blocks` (decoded, genesis first) and the key its signer held when
/// it came: the genesis authorities' and the registered actors' keys, as rotations replace them.
pub fn with_signing_keys<B: std::borrow::Borrow<Block>>(
    blocks: impl IntoIterator<Item = B>,
    mut each: impl FnMut(&SignedTx, PublicKey),
) {
    let mut keys = std::collections::HashMap::new();
    for block in blocks {
        for tx in &block.borrow().txs {
            match &tx.body.payload {
                Payload::Genesis(genesis) => {
                    keys.extend(genesis.params.authorities.iter().map(|k| (ActorId::from_key(k), *k)));
                }
                Payload::RegisterActor(register) => {
                    keys.insert(ActorId::from_key(&register.key), register.key);
                }
                _ => {}
            }
            each(tx, keys[&tx.body.signer]);
            // A rotation's own transaction is signed with the key it replaces.
            if let Payload::RotateKey(rotate) = &tx.body.payload {
                keys.insert(rotate.actor, rotate.new_key);
            }
        }
    }
}
