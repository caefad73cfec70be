//! Fixed-size values as `#[repr(C)]` structs of byte arrays (ids, keys, hashes, signatures, codes), the
//! enumerations C passes as integers, and their conversions.

use super::boundary::{Failure, FfiResult, arg, text};
use healthchain::codes::{Action, Actions, Code, CodeSet, MAX_CODE_LEN, MAX_CODES_PER_SET, Role};
use healthchain::hash::Hash256;
use healthchain::ids::{AccessId, ActorId, BlockHash, ChainId, ConsentId, DelegationId, TxId};
use healthchain::keys::{PublicKey, Signature};
use healthchain::tx::Window;
use std::ffi::c_char;

/// A pseudonymous actor id: SHA-256 of the actor's first public key (stable across key rotation).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct hc_actor_id {
    /// The 32 bytes.
    pub bytes: [u8; 32],
}

/// A consent rule's id (the id of the transaction that granted it).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct hc_consent_id {
    /// The 32 bytes.
    pub bytes: [u8; 32],
}

/// A delegation's id (the id of the transaction that granted it).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct hc_delegation_id {
    /// The 32 bytes.
    pub bytes: [u8; 32],
}

/// A recorded access's id (the id of the transaction that recorded it).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct hc_access_id {
    /// The 32 bytes.
    pub bytes: [u8; 32],
}

/// A transaction id.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct hc_tx_id {
    /// The 32 bytes.
    pub bytes: [u8; 32],
}

/// A ledger's chain id.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct hc_chain_id {
    /// The 32 bytes.
    pub bytes: [u8; 32],
}

/// A block hash.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct hc_block_hash {
    /// The 32 bytes.
    pub bytes: [u8; 32],
}

/// A SHA-256 value: a Merkle root or a commitment to off-ledger data.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct hc_hash {
    /// The 32 bytes.
    pub bytes: [u8; 32],
}

/// An ed25519 public key.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct hc_public_key {
    /// The 32 bytes (compressed Edwards point).
    pub bytes: [u8; 32],
}

/// An ed25519 signature.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct hc_signature {
    /// The 64 bytes.
    pub bytes: [u8; 64],
}

/// 32 secret bytes: an ed25519 seed (RFC 8032 private key) or a commitment salt. Wipe it after use.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct hc_secret {
    /// The 32 bytes.
    pub bytes: [u8; 32],
}

/// A code (section, purpose, reason) as a NUL-terminated string of at most 32 characters.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct hc_code {
    /// The characters, NUL-terminated.
    pub text: [c_char; 33],
}

/// Longest code, in bytes (without the terminating NUL).
pub const HC_MAX_CODE_LEN: usize = 32;
/// Most codes in one set (sections or purposes of a grant).
pub const HC_MAX_CODES_PER_SET: usize = 64;
/// Most consent ids listed inline in a decision or an access row; the count field gives the full number.
pub const HC_MAX_LISTED_RULES: usize = 8;
/// A window end meaning "until revoked" (`not_after`), and the `until` of a grant without an end.
pub const HC_UNTIL_REVOKED: u64 = 0;

/// Role: a person whose record the ledger protects.
pub const HC_ROLE_PATIENT: u32 = 1;
/// Role: a clinician or care organisation.
pub const HC_ROLE_PROVIDER: u32 = 2;
/// Role: a payer.
pub const HC_ROLE_INSURER: u32 = 3;
/// Role: a research organisation.
pub const HC_ROLE_RESEARCHER: u32 = 4;
/// Role: reviews break-glass accesses and audits the ledger (a privacy officer).
pub const HC_ROLE_AUDITOR: u32 = 5;
/// Role: a network member (hospital) that registers actors and seals blocks.
pub const HC_ROLE_AUTHORITY: u32 = 6;

/// Action bit: read (disclosure).
pub const HC_ACTION_READ: u32 = 1;
/// Action bit: write (amend, add).
pub const HC_ACTION_WRITE: u32 = 2;

const _: () = assert!(HC_MAX_CODE_LEN == MAX_CODE_LEN && HC_MAX_CODES_PER_SET == MAX_CODES_PER_SET);

macro_rules! byte_value {
    ($c:ident, $rust:ident, $ctor:ident) => {
        impl From<$rust> for $c {
            fn from(value: $rust) -> Self {
                Self { bytes: *value.as_bytes() }
            }
        }

        impl From<$c> for $rust {
            fn from(value: $c) -> Self {
                $ctor(Hash256(value.bytes))
            }
        }
    };
}

byte_value!(hc_actor_id, ActorId, ActorId);
byte_value!(hc_consent_id, ConsentId, TxId);
byte_value!(hc_delegation_id, DelegationId, TxId);
byte_value!(hc_access_id, AccessId, TxId);
byte_value!(hc_tx_id, TxId, TxId);
byte_value!(hc_chain_id, ChainId, ChainId);
byte_value!(hc_block_hash, BlockHash, BlockHash);

impl From<Hash256> for hc_hash {
    fn from(hash: Hash256) -> Self {
        Self { bytes: *hash.as_bytes() }
    }
}

impl From<hc_hash> for Hash256 {
    fn from(value: hc_hash) -> Self {
        Hash256(value.bytes)
    }
}

impl From<Code> for hc_code {
    fn from(code: Code) -> Self {
        let mut text = [0 as c_char; 33];
        for (slot, byte) in text.iter_mut().zip(code.as_str().bytes()) {
            *slot = byte as c_char;
        }
        Self { text }
    }
}

impl Default for hc_code {
    fn default() -> Self {
        Self { text: [0; 33] }
    }
}

impl From<Signature> for hc_signature {
    fn from(signature: Signature) -> Self {
        Self { bytes: signature.0 }
    }
}

impl From<hc_signature> for Signature {
    fn from(value: hc_signature) -> Self {
        Signature(value.bytes)
    }
}

impl From<PublicKey> for hc_public_key {
    fn from(key: PublicKey) -> Self {
        Self { bytes: key.to_bytes() }
    }
}

impl hc_public_key {
    /// The validated key (refusing weak and non-canonical keys).
    pub(crate) fn key(&self) -> FfiResult<PublicKey> {
        Ok(PublicKey::from_bytes(&self.bytes)?)
    }
}

/// A code from a C string.
///
/// # Safety
/// As for [`text`].
pub(crate) unsafe fn code_arg(ptr: *const c_char, name: &str) -> FfiResult<Code> {
    // SAFETY: forwarded contract.
    Ok(Code::new(unsafe { text(ptr, MAX_CODE_LEN, name)? })?)
}

/// A code set from an array of C strings; `(NULL, 0)` is an empty array (refused as an empty set).
///
/// # Safety
/// `codes` is NULL or points to `count` pointers, each as for [`text`].
pub(crate) unsafe fn code_set_arg(codes: *const *const c_char, count: usize, name: &str) -> FfiResult<CodeSet> {
    if count > MAX_CODES_PER_SET {
        return Err(Failure::new(
            super::status::HC_TOO_LONG,
            format!("`{name}` holds {count} codes; at most {MAX_CODES_PER_SET}"),
        ));
    }
    // SAFETY: forwarded contract.
    let pointers = unsafe { super::boundary::slice(codes, count, name)? };
    let mut set = Vec::with_capacity(pointers.len());
    for &ptr in pointers {
        // SAFETY: forwarded contract.
        set.push(unsafe { code_arg(ptr, name)? });
    }
    Ok(CodeSet::new(set)?)
}

/// A fixed-size value behind a C pointer, copied.
///
/// # Safety
/// As for [`arg`].
pub(crate) unsafe fn value<T: Copy>(ptr: *const T, name: &str) -> FfiResult<T> {
    // SAFETY: forwarded contract.
    unsafe { arg(ptr, name) }.copied()
}

pub(crate) fn role_from(value: u32) -> FfiResult<Role> {
    Ok(match value {
        HC_ROLE_PATIENT => Role::Patient,
        HC_ROLE_PROVIDER => Role::Provider,
        HC_ROLE_INSURER => Role::Insurer,
        HC_ROLE_RESEARCHER => Role::Researcher,
        HC_ROLE_AUDITOR => Role::Auditor,
        HC_ROLE_AUTHORITY => Role::Authority,
        other => return Err(Failure::invalid(format!("unknown role {other}"))),
    })
}

pub(crate) fn role_to(role: Role) -> u32 {
    match role {
        Role::Patient => HC_ROLE_PATIENT,
        Role::Provider => HC_ROLE_PROVIDER,
        Role::Insurer => HC_ROLE_INSURER,
        Role::Researcher => HC_ROLE_RESEARCHER,
        Role::Auditor => HC_ROLE_AUDITOR,
        Role::Authority => HC_ROLE_AUTHORITY,
    }
}

pub(crate) fn action_from(value: u32) -> FfiResult<Action> {
    match value {
        HC_ACTION_READ => Ok(Action::Read),
        HC_ACTION_WRITE => Ok(Action::Write),
        other => Err(Failure::invalid(format!("action must be HC_ACTION_READ or HC_ACTION_WRITE, not {other}"))),
    }
}

pub(crate) fn action_to(action: Action) -> u32 {
    match action {
        Action::Read => HC_ACTION_READ,
        Action::Write => HC_ACTION_WRITE,
    }
}

pub(crate) fn actions_from(bits: u32) -> FfiResult<Actions> {
    match bits {
        1 => Ok(Actions::READ),
        2 => Ok(Actions::WRITE),
        3 => Ok(Actions::READ_WRITE),
        other => Err(Failure::invalid(format!("actions must be a non-empty mix of HC_ACTION_* bits, not {other}"))),
    }
}

/// A window from C's `[not_before, not_after)`, where `not_after` 0 means until revoked.
pub(crate) fn window_from(not_before: u64, not_after: u64) -> Window {
    Window { not_before, not_after: (not_after != HC_UNTIL_REVOKED).then_some(not_after) }
}

/// The C form of a window end (0 = until revoked).
pub(crate) fn until_to(until: Option<u64>) -> u64 {
    until.unwrap_or(HC_UNTIL_REVOKED)
}

/// Up to [`HC_MAX_LISTED_RULES`] ids and the full count.
pub(crate) fn listed_rules(ids: &[ConsentId]) -> (u32, [hc_consent_id; HC_MAX_LISTED_RULES]) {
    let mut listed = [hc_consent_id::default(); HC_MAX_LISTED_RULES];
    for (slot, id) in listed.iter_mut().zip(ids) {
        *slot = (*id).into();
    }
    (u32::try_from(ids.len()).unwrap_or(u32::MAX), listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_values_are_refused() {
        for role in Role::ALL {
            assert_eq!(role_from(role_to(role)).unwrap(), role);
        }
        assert!(role_from(0).is_err());
        assert!(role_from(7).is_err());
    }

    #[test]
    fn codes_keep_their_text_and_a_terminating_nul() {
        let long = "a".repeat(32);
        let code = hc_code::from(Code::new(&long).unwrap());
        assert!(code.text[..32].iter().all(|&c| c == b'a' as c_char));
        assert_eq!(code.text[32], 0);
    }

    #[test]
    fn listed_rules_cap_the_array_but_not_the_count() {
        let ids: Vec<ConsentId> = (0..10u8).map(|i| TxId(Hash256([i; 32]))).collect();
        let (count, listed) = listed_rules(&ids);
        assert_eq!(count, 10);
        assert_eq!(listed[7].bytes, [7; 32]);
        let (count, listed) = listed_rules(&ids[..1]);
        assert_eq!((count, listed[1]), (1, hc_consent_id::default()));
    }
}
