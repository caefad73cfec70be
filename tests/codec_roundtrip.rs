//! The two laws of the canonical encoding (DESIGN.md §6, docs/FORMAT.md), for every encoded structure:
//!
//! 1. `decode(encode(x)) == x` for arbitrary values;
//! 2. `encode(decode(b)) == b` for every byte string `b` that decodes at all — checked on random bytes and,
//!    more usefully, on valid encodings with random mutations; everything else must be an `Err`, never a
//!    panic.
//!
//! Then hand-built byte strings that each break exactly one rule (truncation, trailing bytes, unknown
//! version, non-canonical sets and booleans, over-limit lengths, unknown tags) must be rejected with the
//! expected error kind at the expected offset.

use healthchain::block::{Block, BlockHeader, MAX_TXS_PER_BLOCK, Seal};
use healthchain::codec::{Decode, DecodeError, DecodeErrorKind, Encode, Reader};
use healthchain::codes::{Action, Actions, Code, CodeSet, Role};
use healthchain::hash::Hash256;
use healthchain::ids::{ActorId, BlockHash, ChainId, TxId};
use healthchain::keys::{PublicKey, Signature, SigningKey};
use healthchain::tx::{
    AccessBasis, AnchorRecord, ConsentGrant, DelegationGrant, Effect, Exception, FORMAT_VERSION, Genesis,
    GenesisParams, Grantee, Payload, Policy, RecordAccess, RegisterActor, RotateKey, Scopes, SignedTx, TxBody, Window,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::Union;
use proptest::test_runner::FileFailurePersistence;
use std::fmt::Debug;

/// 256 cases per property: meaningful, and the whole file stays within a few seconds in a debug build.
/// Failing cases are saved next to this file (`codec_roundtrip.proptest-regressions`) and replayed first.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------------------

fn hash256() -> impl Strategy<Value = Hash256> {
    any::<[u8; 32]>().prop_map(Hash256)
}

fn actor_id() -> impl Strategy<Value = ActorId> {
    hash256().prop_map(ActorId)
}

fn tx_id() -> impl Strategy<Value = TxId> {
    hash256().prop_map(TxId)
}

fn chain_id() -> impl Strategy<Value = ChainId> {
    hash256().prop_map(ChainId)
}

fn block_hash() -> impl Strategy<Value = BlockHash> {
    hash256().prop_map(BlockHash)
}

/// A valid public key: derived from an arbitrary seed, as every real key is.
fn public_key() -> impl Strategy<Value = PublicKey> {
    any::<[u8; 32]>().prop_map(|seed| SigningKey::from_seed(&seed).public_key())
}

/// Any 64 bytes: signatures are only checked when verified, never when decoded.
fn signature() -> impl Strategy<Value = Signature> {
    any::<[u8; 64]>().prop_map(Signature)
}

/// A code token (never `*`), 1–32 characters.
fn token() -> impl Strategy<Value = Code> {
    "[A-Za-z0-9._-]{1,32}".prop_map(|text| Code::new(&text).expect("the regex yields valid codes"))
}

/// A code: usually a token, sometimes the wildcard.
fn code() -> impl Strategy<Value = Code> {
    prop_oneof![9 => token(), 1 => Just(Code::new("*").expect("* is a code"))]
}

/// A canonical code set: `{*}`, or 1–12 tokens sorted and deduplicated by `CodeSet::new`.
fn code_set() -> impl Strategy<Value = CodeSet> {
    prop_oneof![
        1 => Just(CodeSet::all()),
        5 => prop::collection::vec(token(), 1..=12).prop_map(|codes| CodeSet::new(codes).expect("valid set")),
    ]
}

fn actions() -> impl Strategy<Value = Actions> {
    prop::sample::select(vec![Actions::READ, Actions::WRITE, Actions::READ_WRITE])
}

fn action() -> impl Strategy<Value = Action> {
    prop::sample::select(vec![Action::Read, Action::Write])
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

fn scopes() -> impl Strategy<Value = Scopes> {
    prop::sample::select(vec![Scopes::MANAGE, Scopes::READ, Scopes::MANAGE_AND_READ])
}

fn window() -> impl Strategy<Value = Window> {
    (any::<u64>(), prop::option::of(any::<u64>())).prop_map(|(not_before, not_after)| Window { not_before, not_after })
}

fn grantee() -> impl Strategy<Value = Grantee> {
    prop_oneof![actor_id().prop_map(Grantee::Actor), role().prop_map(Grantee::Role)]
}

fn effect() -> impl Strategy<Value = Effect> {
    prop::sample::select(vec![Effect::Permit, Effect::Deny])
}

fn exception() -> impl Strategy<Value = Exception> {
    (prop::option::of(grantee()), code_set(), code_set(), actions(), window()).prop_map(
        |(grantee, sections, purposes, actions, window)| Exception { grantee, sections, purposes, actions, window },
    )
}

fn consent_grant() -> impl Strategy<Value = ConsentGrant> {
    let exceptions = prop_oneof![Just(Vec::new()), prop::collection::vec(exception(), 1..=3)];
    (actor_id(), grantee(), effect(), code_set(), code_set(), actions(), window(), exceptions).prop_map(
        |(patient, grantee, effect, sections, purposes, actions, window, exceptions)| ConsentGrant {
            patient,
            grantee,
            effect,
            sections,
            purposes,
            actions,
            window,
            exceptions,
        },
    )
}

fn delegation_grant() -> impl Strategy<Value = DelegationGrant> {
    (actor_id(), actor_id(), scopes(), window()).prop_map(|(patient, delegate, scopes, window)| DelegationGrant {
        patient,
        delegate,
        scopes,
        window,
    })
}

fn access_basis() -> impl Strategy<Value = AccessBasis> {
    prop_oneof![
        Just(AccessBasis::Owner),
        tx_id().prop_map(AccessBasis::Delegate),
        // A BTreeSet yields the ids sorted and without duplicates, as the canonical form requires.
        prop::collection::btree_set(tx_id(), 1..=8).prop_map(|ids| AccessBasis::Consents(ids.into_iter().collect())),
        (code(), hash256()).prop_map(|(reason, justification)| AccessBasis::BreakGlass { reason, justification }),
    ]
}

fn record_access() -> impl Strategy<Value = RecordAccess> {
    (actor_id(), code(), code(), action(), any::<u64>(), access_basis()).prop_map(
        |(patient, section, purpose, action, at, basis)| RecordAccess { patient, section, purpose, action, at, basis },
    )
}

fn anchor_record() -> impl Strategy<Value = AnchorRecord> {
    (actor_id(), code(), code(), hash256()).prop_map(|(patient, section, purpose, commitment)| AnchorRecord {
        patient,
        section,
        purpose,
        commitment,
    })
}

fn policy() -> impl Strategy<Value = Policy> {
    (any::<bool>(), any::<u64>())
        .prop_map(|(break_glass_allowed, max_clock_skew_ms)| Policy { break_glass_allowed, max_clock_skew_ms })
}

/// 1–8 authorities with as many (arbitrary) proofs, a printable chain name and a threshold in 1..=n.
fn genesis() -> impl Strategy<Value = Genesis> {
    (1usize..=8)
        .prop_flat_map(|n| {
            let max_threshold = u8::try_from(n).expect("n <= 8");
            (
                "[ -~]{1,64}",
                any::<[u8; 32]>(),
                prop::collection::vec(public_key(), n),
                1..=max_threshold,
                policy(),
                prop::collection::vec(signature(), n),
            )
        })
        .prop_map(|(name, nonce, authorities, seal_threshold, policy, proofs)| Genesis {
            params: GenesisParams { name, nonce, authorities, seal_threshold, policy },
            proofs,
        })
}

fn register_actor() -> impl Strategy<Value = RegisterActor> {
    (public_key(), role(), signature()).prop_map(|(key, role, proof)| RegisterActor { key, role, proof })
}

fn rotate_key() -> impl Strategy<Value = RotateKey> {
    (actor_id(), public_key(), signature()).prop_map(|(actor, new_key, proof)| RotateKey { actor, new_key, proof })
}

/// Every payload kind, with its name.
fn payload_kinds() -> Vec<(&'static str, BoxedStrategy<Payload>)> {
    vec![
        ("genesis", genesis().prop_map(Payload::Genesis).boxed()),
        ("register-actor", register_actor().prop_map(Payload::RegisterActor).boxed()),
        ("rotate-key", rotate_key().prop_map(Payload::RotateKey).boxed()),
        ("deactivate-actor", actor_id().prop_map(|actor| Payload::DeactivateActor { actor }).boxed()),
        ("grant-consent", consent_grant().prop_map(Payload::GrantConsent).boxed()),
        ("revoke-consent", tx_id().prop_map(|consent| Payload::RevokeConsent { consent }).boxed()),
        ("grant-delegation", delegation_grant().prop_map(Payload::GrantDelegation).boxed()),
        ("revoke-delegation", tx_id().prop_map(|delegation| Payload::RevokeDelegation { delegation }).boxed()),
        ("record-access", record_access().prop_map(Payload::RecordAccess).boxed()),
        (
            "review-break-glass",
            (tx_id(), any::<bool>())
                .prop_map(|(access, justified)| Payload::ReviewBreakGlass { access, justified })
                .boxed(),
        ),
        ("anchor-record", anchor_record().prop_map(Payload::AnchorRecord).boxed()),
        ("erase-subject", actor_id().prop_map(|patient| Payload::EraseSubject { patient }).boxed()),
    ]
}

fn payload() -> impl Strategy<Value = Payload> {
    Union::new(payload_kinds().into_iter().map(|(_, strategy)| strategy))
}

fn tx_body_with(payload: impl Strategy<Value = Payload>) -> impl Strategy<Value = TxBody> {
    (chain_id(), actor_id(), any::<u64>(), any::<u64>(), payload)
        .prop_map(|(chain, signer, seq, time, payload)| TxBody { chain, signer, seq, time, payload })
}

fn tx_body() -> impl Strategy<Value = TxBody> {
    tx_body_with(payload())
}

fn signed_tx() -> impl Strategy<Value = SignedTx> {
    (tx_body(), signature()).prop_map(|(body, signature)| body.attach_signature(signature))
}

/// A header; `tx_count` anywhere within the limit (a `Block` overrides it with its real count).
fn block_header() -> impl Strategy<Value = BlockHeader> {
    (chain_id(), any::<u64>(), block_hash(), any::<u64>(), 0..=MAX_TX_COUNT, any::<u64>(), hash256(), actor_id())
        .prop_map(|(chain, height, prev_hash, timestamp, tx_count, tree_size, tree_root, proposer)| BlockHeader {
            chain,
            height,
            prev_hash,
            timestamp,
            tx_count,
            tree_size,
            tree_root,
            proposer,
        })
}

fn seal() -> impl Strategy<Value = Seal> {
    (actor_id(), signature()).prop_map(|(authority, signature)| Seal { authority, signature })
}

/// 0–4 transactions (`tx_count` set to match) and 0–5 seals sorted strictly by authority.
fn block() -> impl Strategy<Value = Block> {
    (
        block_header(),
        prop::collection::vec(signed_tx(), 0..=4),
        prop::collection::btree_map(actor_id(), signature(), 0..=5),
    )
        .prop_map(|(mut header, txs, seals)| {
            header.tx_count = u32::try_from(txs.len()).expect("few txs");
            let seals = seals.into_iter().map(|(authority, signature)| Seal { authority, signature }).collect();
            Block { header, txs, seals }
        })
}

// ---------------------------------------------------------------------------------------------------------
// Mutations and the checks shared by the properties
// ---------------------------------------------------------------------------------------------------------

/// One random edit of a byte string.
#[derive(Clone, Debug)]
enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        3 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte(at, byte)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        2 => any::<Index>().prop_map(Mutation::Delete),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

/// 1–3 edits.
fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..=3)
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let len = bytes.len();
    match mutation {
        Mutation::Insert(at, byte) => bytes.insert(at.index(len + 1), *byte),
        _ if len == 0 => {}
        Mutation::FlipBit(at, bit) => bytes[at.index(len)] ^= 1 << bit,
        Mutation::SetByte(at, byte) => bytes[at.index(len)] = *byte,
        Mutation::Delete(at) => {
            bytes.remove(at.index(len));
        }
        Mutation::Truncate(at) => bytes.truncate(at.index(len)),
    }
}

/// Law 2 on one byte string: if it decodes, it re-encodes to exactly itself; if not, the error points inside
/// the input. Returns whether it decoded.
fn check_canonical<T: Encode + Decode>(bytes: &[u8]) -> Result<bool, TestCaseError> {
    match T::from_bytes(bytes) {
        Ok(value) => {
            prop_assert_eq!(value.to_bytes(), bytes, "an accepted byte string must re-encode to itself");
            Ok(true)
        }
        Err(error) => {
            prop_assert!(error.offset <= bytes.len(), "{error:?} lies beyond the {} input bytes", bytes.len());
            Ok(false)
        }
    }
}

/// Law 1 on one value, plus self-delimitation: two encodings back to back decode as the two values.
fn check_round_trip<T: Encode + Decode + Debug + PartialEq>(value: &T) -> Result<(), TestCaseError> {
    let bytes = value.to_bytes();
    let decoded = T::from_bytes(&bytes);
    prop_assert_eq!(decoded.as_ref(), Ok(value));
    let twice = [bytes.as_slice(), bytes.as_slice()].concat();
    let mut reader = Reader::new(&twice);
    let first = T::decode(&mut reader);
    prop_assert_eq!(first.as_ref(), Ok(value));
    prop_assert_eq!(reader.position(), bytes.len());
    let second = T::decode(&mut reader);
    prop_assert_eq!(second.as_ref(), Ok(value));
    prop_assert_eq!(reader.finish(), Ok(()));
    Ok(())
}

/// Law 2 on mutations of a valid encoding; a mutated string that still decodes must not decode to the
/// original value (that would make two byte strings encode one value).
fn check_mutated<T: Encode + Decode + Debug + PartialEq>(value: &T, edits: &[Mutation]) -> Result<(), TestCaseError> {
    let original = value.to_bytes();
    let mut bytes = original.clone();
    for edit in edits {
        apply(&mut bytes, edit);
    }
    let decoded = T::from_bytes(&bytes);
    if bytes == original {
        prop_assert_eq!(decoded.as_ref(), Ok(value), "an unchanged encoding must decode");
    } else if let Ok(other) = &decoded {
        prop_assert_ne!(other, value, "two byte strings decode to one value");
    }
    check_canonical::<T>(&bytes)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Law 1: decode(encode(x)) == x
// ---------------------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn codes_round_trip(value in code()) {
        check_round_trip(&value)?;
        prop_assert_eq!(value.to_bytes().len(), 1 + value.as_str().len());
    }

    #[test]
    fn code_sets_round_trip(value in code_set()) {
        check_round_trip(&value)?;
    }

    #[test]
    fn actions_action_and_roles_round_trip(set in actions(), one in action(), role in role()) {
        check_round_trip(&set)?;
        check_round_trip(&one)?;
        check_round_trip(&role)?;
        prop_assert_eq!(set.to_bytes().len(), 1);
    }

    #[test]
    fn windows_grantees_and_policies_round_trip(window in window(), grantee in grantee(), policy in policy()) {
        check_round_trip(&window)?;
        check_round_trip(&grantee)?;
        check_round_trip(&policy)?;
    }

    /// `Effect` has no encoding of its own: it is covered inside the consent grant.
    #[test]
    fn consent_grants_round_trip(value in consent_grant()) {
        check_round_trip(&value)?;
    }

    /// `Scopes` has no encoding of its own: it is covered inside the delegation grant.
    #[test]
    fn delegation_grants_round_trip(value in delegation_grant()) {
        check_round_trip(&value)?;
    }

    #[test]
    fn access_bases_and_record_accesses_round_trip(basis in access_basis(), access in record_access()) {
        check_round_trip(&basis)?;
        check_round_trip(&access)?;
    }

    #[test]
    fn genesis_round_trips(value in genesis()) {
        check_round_trip(&value.params)?;
        check_round_trip(&value)?;
    }

    #[test]
    fn public_keys_signatures_and_ids_round_trip(key in public_key(), sig in signature(), id in tx_id()) {
        check_round_trip(&key)?;
        check_round_trip(&sig)?;
        check_round_trip(&id)?;
    }

    #[test]
    fn tx_bodies_round_trip(value in tx_body()) {
        check_round_trip(&value)?;
        prop_assert_eq!(value.to_bytes()[0], FORMAT_VERSION);
    }

    #[test]
    fn signed_txs_round_trip(value in signed_tx()) {
        check_round_trip(&value)?;
        prop_assert_eq!(value.to_bytes().len(), value.body.to_bytes().len() + 64);
    }

    #[test]
    fn block_headers_round_trip(value in block_header()) {
        check_round_trip(&value)?;
        prop_assert_eq!(value.to_bytes().len(), HEADER_LEN);
    }

    #[test]
    fn seals_round_trip(value in seal()) {
        check_round_trip(&value)?;
    }

    #[test]
    fn blocks_round_trip(value in block()) {
        check_round_trip(&value)?;
        // Decoding with hashes gives the same block, and each transaction's id and leaf as computed from
        // the decoded value (the verifier takes them from the bytes, never encoding again).
        let (decoded, hashes) = Block::from_bytes_hashed(&value.to_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&decoded, &value);
        let expected: Vec<(TxId, Hash256)> =
            value.txs.iter().map(|tx| (tx.id(), healthchain::merkle::leaf_hash(&tx.to_bytes()))).collect();
        prop_assert_eq!(hashes, expected);
    }
}

/// One property per payload kind, so every kind gets the full number of cases; each payload is checked on
/// its own and inside a signed transaction.
macro_rules! payload_kind_round_trips {
    ($($name:ident => $kind:literal),* $(,)?) => {
        proptest! {
            #![proptest_config(config())]
            $(
                #[test]
                fn $name(tx in tx_body_with(kind($kind)), sig in signature()) {
                    prop_assert_eq!(tx.payload.kind_name(), $kind);
                    check_round_trip(&tx.payload)?;
                    check_round_trip(&tx.attach_signature(sig))?;
                }
            )*
        }
    };
}

fn kind(name: &str) -> BoxedStrategy<Payload> {
    payload_kinds().into_iter().find(|(kind, _)| *kind == name).map(|(_, strategy)| strategy).expect("known kind")
}

payload_kind_round_trips! {
    genesis_payloads_round_trip => "genesis",
    register_actor_payloads_round_trip => "register-actor",
    rotate_key_payloads_round_trip => "rotate-key",
    deactivate_actor_payloads_round_trip => "deactivate-actor",
    grant_consent_payloads_round_trip => "grant-consent",
    revoke_consent_payloads_round_trip => "revoke-consent",
    grant_delegation_payloads_round_trip => "grant-delegation",
    revoke_delegation_payloads_round_trip => "revoke-delegation",
    record_access_payloads_round_trip => "record-access",
    review_break_glass_payloads_round_trip => "review-break-glass",
    anchor_record_payloads_round_trip => "anchor-record",
    erase_subject_payloads_round_trip => "erase-subject",
}

#[test]
fn every_payload_kind_has_a_strategy() {
    let names: Vec<&str> = payload_kinds().iter().map(|(name, _)| *name).collect();
    assert_eq!(names.len(), 12);
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
}

// ---------------------------------------------------------------------------------------------------------
// Law 2: encode(decode(b)) == b for every accepted b
// ---------------------------------------------------------------------------------------------------------

/// Length of an encoded block header: version, chain, height, previous hash, timestamp, tx count, tree size,
/// tree root, proposer.
const HEADER_LEN: usize = 1 + 32 + 8 + 32 + 8 + 4 + 8 + 32 + 32;
/// The transaction-count limit as the header stores it.
const MAX_TX_COUNT: u32 = MAX_TXS_PER_BLOCK as u32;
/// Offset of `tx_count` in a header.
const TX_COUNT_AT: usize = 1 + 32 + 8 + 32 + 8;
/// Offset of the payload tag in a transaction body: version, chain, signer, seq, time.
const PAYLOAD_AT: usize = 1 + 32 + 32 + 8 + 8;

/// Random bytes: any length, or with the version byte already right so that decoding gets further.
fn random_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(any::<u8>(), 0..=max_len), any::<bool>()).prop_map(|(mut bytes, versioned)| {
        if versioned && let Some(first) = bytes.first_mut() {
            *first = FORMAT_VERSION;
        }
        bytes
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_are_canonical_or_rejected(bytes in random_bytes(400)) {
        check_canonical::<SignedTx>(&bytes)?;
        check_canonical::<TxBody>(&bytes)?;
        check_canonical::<Block>(&bytes)?;
        check_canonical::<BlockHeader>(&bytes)?;
        check_canonical::<Payload>(&bytes)?;
        check_canonical::<CodeSet>(&bytes)?;
    }

    /// Any 157 bytes with the right version are a header exactly when the transaction count is within the
    /// limit (counts drawn around the limit).
    #[test]
    fn random_well_framed_headers_decode_exactly_when_the_count_is_within_the_limit(
        mut bytes in prop::collection::vec(any::<u8>(), HEADER_LEN),
        count in prop_oneof![0..=2 * MAX_TX_COUNT, MAX_TX_COUNT - 2..=MAX_TX_COUNT + 2, Just(u32::MAX)],
    ) {
        bytes[0] = FORMAT_VERSION;
        bytes[TX_COUNT_AT..TX_COUNT_AT + 4].copy_from_slice(&count.to_le_bytes());
        prop_assert_eq!(check_canonical::<BlockHeader>(&bytes)?, count <= MAX_TX_COUNT);
    }

    /// Random transactions whose payload is one id (deactivate, revoke, erase) always decode; a random
    /// review's boolean decides.
    #[test]
    fn random_id_payload_txs_decode_exactly_when_well_formed(
        mut bytes in prop::collection::vec(any::<u8>(), PAYLOAD_AT + 1 + 32 + 1 + 64),
        tag in prop::sample::select(vec![4u8, 6, 8, 10, 12]),
    ) {
        bytes[0] = FORMAT_VERSION;
        bytes[PAYLOAD_AT] = tag;
        let expected = if tag == 10 {
            bytes[PAYLOAD_AT + 33] < 2
        } else {
            bytes.pop();
            true
        };
        prop_assert_eq!(check_canonical::<SignedTx>(&bytes)?, expected);
    }

    /// Random seals on an empty block decode exactly when they are strictly sorted by authority.
    #[test]
    fn random_seals_decode_exactly_when_sorted(
        header in block_header(),
        seals in prop::collection::vec((0u8..4, any::<[u8; 96]>()), 0..=5),
    ) {
        let mut header = header;
        header.tx_count = 0;
        let mut bytes = header.to_bytes();
        bytes.push(u8::try_from(seals.len()).expect("few seals"));
        let mut authorities = Vec::new();
        for (first, seal) in &seals {
            let mut seal = *seal;
            seal[0] = *first; // small first bytes make equal and ordered neighbours likely
            authorities.push(seal[..32].to_vec());
            bytes.extend_from_slice(&seal);
        }
        let sorted = authorities.windows(2).all(|pair| pair[0] < pair[1]);
        prop_assert_eq!(check_canonical::<Block>(&bytes)?, sorted);
    }

    #[test]
    fn mutated_codes_and_sets_are_canonical_or_rejected(code in code(), set in code_set(), edits in mutations()) {
        check_mutated(&code, &edits)?;
        check_mutated(&set, &edits)?;
    }

    #[test]
    fn mutated_consent_grants_are_canonical_or_rejected(value in consent_grant(), edits in mutations()) {
        check_mutated(&value, &edits)?;
    }

    #[test]
    fn mutated_record_accesses_are_canonical_or_rejected(value in record_access(), edits in mutations()) {
        check_mutated(&value, &edits)?;
    }

    #[test]
    fn mutated_genesis_is_canonical_or_rejected(value in genesis(), edits in mutations()) {
        check_mutated(&value, &edits)?;
    }

    #[test]
    fn mutated_payloads_are_canonical_or_rejected(value in payload(), edits in mutations()) {
        check_mutated(&value, &edits)?;
    }

    #[test]
    fn mutated_tx_bodies_are_canonical_or_rejected(value in tx_body(), edits in mutations()) {
        check_mutated(&value, &edits)?;
    }

    #[test]
    fn mutated_signed_txs_are_canonical_or_rejected(value in signed_tx(), edits in mutations()) {
        check_mutated(&value, &edits)?;
    }

    #[test]
    fn mutated_block_headers_are_canonical_or_rejected(value in block_header(), edits in mutations()) {
        check_mutated(&value, &edits)?;
    }

    #[test]
    fn mutated_blocks_are_canonical_or_rejected(value in block(), edits in mutations()) {
        check_mutated(&value, &edits)?;
    }

    /// Mutations aimed at the transactions inside a block (the block is mostly transactions, but this makes
    /// sure the nested length-prefixed decoding is hit every time).
    #[test]
    fn blocks_with_mutated_txs_are_canonical_or_rejected(
        value in block(),
        pick in any::<Index>(),
        edits in mutations(),
    ) {
        let mut bytes = value.header.to_bytes();
        let target = (!value.txs.is_empty()).then(|| pick.index(value.txs.len()));
        for (i, tx) in value.txs.iter().enumerate() {
            let mut tx_bytes = tx.to_bytes();
            if Some(i) == target {
                for edit in &edits {
                    apply(&mut tx_bytes, edit);
                }
            }
            bytes.extend_from_slice(&u32::try_from(tx_bytes.len()).expect("small tx").to_le_bytes());
            bytes.extend_from_slice(&tx_bytes);
        }
        bytes.push(u8::try_from(value.seals.len()).expect("few seals"));
        for seal in &value.seals {
            seal.encode(&mut bytes);
        }
        let accepted = check_canonical::<Block>(&bytes)?;
        let tx_accepted = target.is_none_or(|i| {
            let mut tx_bytes = value.txs[i].to_bytes();
            for edit in &edits {
                apply(&mut tx_bytes, edit);
            }
            SignedTx::from_bytes(&tx_bytes).is_ok()
        });
        prop_assert_eq!(accepted, tx_accepted, "a block decodes exactly when its framed transactions do");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Law 2, the rejections: truncation, trailing bytes, unknown versions
// ---------------------------------------------------------------------------------------------------------

fn assert_every_truncation_is_truncated<T: Encode + Decode + Debug>(value: &T) -> Result<(), TestCaseError> {
    let bytes = value.to_bytes();
    for cut in 0..bytes.len() {
        match T::from_bytes(&bytes[..cut]) {
            Ok(decoded) => prop_assert!(false, "{cut} of {} bytes decoded as {decoded:?}", bytes.len()),
            Err(error) => {
                prop_assert_eq!(&error.kind, &DecodeErrorKind::Truncated, "cut at {}", cut);
                prop_assert!(error.offset <= cut, "{error:?} beyond the cut at {cut}");
            }
        }
    }
    Ok(())
}

fn assert_trailing_byte_rejected<T: Encode + Decode>(value: &T, extra: u8) -> Result<(), TestCaseError> {
    let mut bytes = value.to_bytes();
    let len = bytes.len();
    bytes.push(extra);
    prop_assert_eq!(
        T::from_bytes(&bytes).err(),
        Some(DecodeError { offset: len, kind: DecodeErrorKind::TrailingBytes })
    );
    Ok(())
}

fn assert_unknown_version_rejected<T: Encode + Decode>(value: &T, version: u8) -> Result<(), TestCaseError> {
    let mut bytes = value.to_bytes();
    prop_assert_eq!(bytes[0], FORMAT_VERSION);
    bytes[0] = version;
    prop_assert_eq!(
        T::from_bytes(&bytes).err(),
        Some(DecodeError { offset: 0, kind: DecodeErrorKind::UnknownVersion(version) })
    );
    Ok(())
}

fn other_version() -> impl Strategy<Value = u8> {
    any::<u8>().prop_filter("not the known version", |v| *v != FORMAT_VERSION)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_truncation_of_a_signed_tx_is_truncated(value in signed_tx()) {
        assert_every_truncation_is_truncated(&value)?;
        assert_every_truncation_is_truncated(&value.body)?;
    }

    #[test]
    fn every_truncation_of_a_header_is_truncated(value in block_header()) {
        assert_every_truncation_is_truncated(&value)?;
    }

    #[test]
    fn a_trailing_byte_is_rejected(
        tx in signed_tx(),
        header in block_header(),
        set in code_set(),
        extra in any::<u8>(),
    ) {
        assert_trailing_byte_rejected(&tx, extra)?;
        assert_trailing_byte_rejected(&tx.body, extra)?;
        assert_trailing_byte_rejected(&tx.body.payload, extra)?;
        assert_trailing_byte_rejected(&header, extra)?;
        assert_trailing_byte_rejected(&set, extra)?;
    }

    #[test]
    fn unknown_versions_are_rejected(tx in signed_tx(), header in block_header(), version in other_version()) {
        assert_unknown_version_rejected(&tx, version)?;
        assert_unknown_version_rejected(&tx.body, version)?;
        assert_unknown_version_rejected(&header, version)?;
    }
}

proptest! {
    // Blocks are larger and every cut is decoded: fewer cases keep this fast.
    #![proptest_config(ProptestConfig { cases: 64, ..config() })]

    #[test]
    fn every_truncation_of_a_block_is_truncated(value in block()) {
        assert_every_truncation_is_truncated(&value)?;
    }

    #[test]
    fn blocks_reject_trailing_bytes_and_unknown_versions(
        value in block(),
        extra in any::<u8>(),
        version in other_version(),
    ) {
        assert_trailing_byte_rejected(&value, extra)?;
        assert_unknown_version_rejected(&value, version)?;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Deterministic rejections of hand-built byte strings
// ---------------------------------------------------------------------------------------------------------

fn code_of(text: &str) -> Code {
    Code::new(text).expect("valid code")
}

fn set_of(texts: &[&str]) -> CodeSet {
    CodeSet::parse(texts.iter().copied()).expect("valid set")
}

fn key_of(seed: u8) -> PublicKey {
    SigningKey::from_seed(&[seed; 32]).public_key()
}

fn tx(payload: Payload) -> SignedTx {
    let body = TxBody { chain: ChainId(Hash256([1; 32])), signer: ActorId(Hash256([2; 32])), seq: 3, time: 4, payload };
    body.attach_signature(Signature([5; 64]))
}

/// The encoding of `tx(payload)`, checked to round-trip and to carry the payload tag where expected.
fn tx_bytes(payload: Payload, tag: u8) -> Vec<u8> {
    let value = tx(payload);
    let bytes = value.to_bytes();
    assert_eq!(bytes[PAYLOAD_AT], tag);
    assert_eq!(SignedTx::from_bytes(&bytes), Ok(value));
    bytes
}

/// `bytes` with `range` replaced by `with`.
fn splice(bytes: &[u8], range: std::ops::Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.splice(range, with.iter().copied());
    out
}

fn assert_rejected<T: Decode + Debug>(bytes: &[u8], offset: usize, kind: DecodeErrorKind) {
    assert_eq!(T::from_bytes(bytes).err(), Some(DecodeError { offset, kind }), "{bytes:02x?}");
}

fn grant() -> ConsentGrant {
    ConsentGrant {
        patient: ActorId(Hash256([7; 32])),
        grantee: Grantee::Role(Role::Provider),
        effect: Effect::Permit,
        sections: set_of(&["labs"]),
        purposes: set_of(&["TREAT"]),
        actions: Actions::READ,
        window: Window { not_before: 10, not_after: Some(20) },
        exceptions: Vec::new(),
    }
}

/// Offsets in `tx_bytes(GrantConsent(grant()))`.
const GRANTEE_AT: usize = PAYLOAD_AT + 1 + 32;
const EFFECT_AT: usize = GRANTEE_AT + 2;
const SECTIONS_AT: usize = EFFECT_AT + 1;
const SECTIONS_END: usize = SECTIONS_AT + 1 + 1 + 4;
const ACTIONS_AT: usize = SECTIONS_END + 1 + 1 + 5;
const OPTION_AT: usize = ACTIONS_AT + 1 + 8;
/// Where a rule's exception list starts (after `not_after`).
const LIST_AT: usize = OPTION_AT + 1 + 8;

fn grant_bytes() -> Vec<u8> {
    let bytes = tx_bytes(Payload::GrantConsent(grant()), 5);
    assert_eq!(&bytes[SECTIONS_AT..SECTIONS_END], &[1, 4, b'l', b'a', b'b', b's']);
    assert_eq!(&bytes[ACTIONS_AT..=ACTIONS_AT], &[1]);
    assert_eq!(&bytes[OPTION_AT..=OPTION_AT], &[1]);
    bytes
}

#[test]
fn rules_with_exceptions_have_their_own_effect_tags_and_a_non_empty_list() {
    let plain = grant_bytes();
    assert_eq!(plain[EFFECT_AT], 1, "a rule without exceptions keeps the first ledgers' bytes");
    let exception = Exception {
        grantee: None,
        sections: set_of(&["labs"]),
        purposes: set_of(&["TREAT"]),
        actions: Actions::READ,
        window: Window { not_before: 10, not_after: None },
    };
    for (effect, tag) in [(Effect::Permit, 3), (Effect::Deny, 4)] {
        let rule = ConsentGrant { effect, exceptions: vec![exception.clone()], ..grant() };
        let bytes = tx_bytes(Payload::GrantConsent(rule), 5);
        assert_eq!((bytes[EFFECT_AT], bytes[LIST_AT]), (tag, 1));
        let empty = splice(&bytes, LIST_AT..LIST_AT + 1, &[0]);
        assert_rejected::<SignedTx>(&empty, LIST_AT, DecodeErrorKind::NonCanonical("empty exception list"));
        let many = splice(&bytes, LIST_AT..LIST_AT + 1, &[65]);
        let too_many = DecodeErrorKind::TooLong { what: "exceptions", len: 65, max: 64 };
        assert_rejected::<SignedTx>(&many, LIST_AT, too_many);
    }
}

#[test]
fn code_sets_with_a_wildcard_and_another_code_are_rejected() {
    let star_and_labs = [2, 1, b'*', 4, b'l', b'a', b'b', b's'];
    // b'*' < b'l': the set is sorted, so only the wildcard rule is broken.
    assert_rejected::<CodeSet>(&star_and_labs, 0, DecodeErrorKind::NonCanonical("code set with *"));
    let bytes = splice(&grant_bytes(), SECTIONS_AT..SECTIONS_END, &star_and_labs);
    assert_rejected::<SignedTx>(&bytes, SECTIONS_AT, DecodeErrorKind::NonCanonical("code set with *"));
    // `*` alone is fine.
    assert_eq!(CodeSet::from_bytes(&[1, 1, b'*']), Ok(CodeSet::all()));
}

#[test]
fn unsorted_and_duplicated_code_sets_are_rejected() {
    let sorted = set_of(&["labs", "meds"]).to_bytes();
    assert_eq!(sorted, [2, 4, b'l', b'a', b'b', b's', 4, b'm', b'e', b'd', b's']);
    let unsorted = [2, 4, b'm', b'e', b'd', b's', 4, b'l', b'a', b'b', b's'];
    let duplicated = [2, 4, b'l', b'a', b'b', b's', 4, b'l', b'a', b'b', b's'];
    for bad in [unsorted, duplicated] {
        assert_rejected::<CodeSet>(&bad, 6, DecodeErrorKind::NonCanonical("code set order"));
        let bytes = splice(&grant_bytes(), SECTIONS_AT..SECTIONS_END, &bad);
        assert_rejected::<SignedTx>(&bytes, SECTIONS_AT + 6, DecodeErrorKind::NonCanonical("code set order"));
    }
    // A prefix ordering: "lab" < "labs".
    let prefix = [2, 3, b'l', b'a', b'b', 4, b'l', b'a', b'b', b's'];
    assert_eq!(CodeSet::from_bytes(&prefix), Ok(set_of(&["labs", "lab"])));
    let reversed = [2, 4, b'l', b'a', b'b', b's', 3, b'l', b'a', b'b'];
    assert_rejected::<CodeSet>(&reversed, 6, DecodeErrorKind::NonCanonical("code set order"));
}

#[test]
fn empty_and_over_limit_code_sets_and_codes_are_rejected() {
    let grant = grant_bytes();
    assert_rejected::<CodeSet>(&[0], 0, DecodeErrorKind::Invalid("empty code set"));
    let bytes = splice(&grant, SECTIONS_AT..SECTIONS_END, &[0]);
    assert_rejected::<SignedTx>(&bytes, SECTIONS_AT, DecodeErrorKind::Invalid("empty code set"));

    // 65 codes, each valid and in order: only the count is wrong.
    let mut many = vec![65u8];
    for i in 0..65u8 {
        Code::new(&format!("c{i:03}")).expect("valid").encode(&mut many);
    }
    let too_many = DecodeErrorKind::TooLong { what: "code set", len: 65, max: 64 };
    assert_rejected::<CodeSet>(&many, 0, too_many.clone());
    assert_rejected::<SignedTx>(&splice(&grant, SECTIONS_AT..SECTIONS_END, &many), SECTIONS_AT, too_many);
    many[0] = 64;
    many.truncate(many.len() - 5);
    assert_eq!(CodeSet::from_bytes(&many).map(|set| set.codes().len()), Ok(64));

    // A 33-byte code.
    let mut long = vec![33u8];
    long.extend_from_slice(&[b'a'; 33]);
    let too_long = DecodeErrorKind::TooLong { what: "code", len: 33, max: 32 };
    assert_rejected::<Code>(&long, 0, too_long.clone());
    let bytes = splice(&grant, SECTIONS_AT + 1..SECTIONS_END, &long);
    assert_rejected::<SignedTx>(&bytes, SECTIONS_AT + 1, too_long);
    long[0] = 32;
    long.pop();
    assert_eq!(Code::from_bytes(&long), Ok(code_of(&"a".repeat(32))));

    // Bad characters and the empty code.
    for bad in [&[4, b'l', b'a', b' ', b's'][..], &[1, b'\n'], &[2, 0xc3, 0xa9], &[2, b'*', b'*'], &[0]] {
        assert_rejected::<Code>(bad, 0, DecodeErrorKind::Invalid("code"));
    }
}

#[test]
fn booleans_and_option_tags_other_than_0_and_1_are_rejected() {
    let access = TxId(Hash256([9; 32]));
    let mut review = tx_bytes(Payload::ReviewBreakGlass { access, justified: true }, 10);
    let at = PAYLOAD_AT + 1 + 32;
    assert_eq!(review[at], 1);
    for byte in [2, 3, 0x80, 0xff] {
        review[at] = byte;
        assert_rejected::<SignedTx>(&review, at, DecodeErrorKind::NonCanonical("boolean"));
    }
    review[at] = 0;
    assert!(SignedTx::from_bytes(&review).is_ok());

    let mut policy = Policy::default().to_bytes();
    policy[0] = 2;
    assert_rejected::<Policy>(&policy, 0, DecodeErrorKind::NonCanonical("boolean"));

    let mut grant = grant_bytes();
    grant[OPTION_AT] = 2;
    assert_rejected::<SignedTx>(&grant, OPTION_AT, DecodeErrorKind::NonCanonical("option tag"));
}

#[test]
fn unknown_tags_are_rejected() {
    let grant = grant_bytes();
    let unknown = |what, tag| DecodeErrorKind::UnknownTag { what, tag };
    let cases: [(usize, u8, &str); 10] = [
        (PAYLOAD_AT, 0, "transaction kind"),
        (PAYLOAD_AT, 13, "transaction kind"),
        (GRANTEE_AT, 0, "grantee"),
        (GRANTEE_AT, 3, "grantee"),
        (GRANTEE_AT + 1, 0, "role"),
        (GRANTEE_AT + 1, 7, "role"),
        (EFFECT_AT, 0, "effect"),
        (EFFECT_AT, 5, "effect"),
        (ACTIONS_AT, 0, "action set"),
        (ACTIONS_AT, 4, "action set"),
    ];
    for (at, tag, what) in cases {
        let mut bytes = grant.clone();
        bytes[at] = tag;
        assert_rejected::<SignedTx>(&bytes, at, unknown(what, tag));
    }
    assert_rejected::<Action>(&[0], 0, unknown("action", 0));
    assert_rejected::<Action>(&[3], 0, unknown("action", 3));
    assert_rejected::<AccessBasis>(&[0], 0, unknown("access basis", 0));
    assert_rejected::<AccessBasis>(&[5], 0, unknown("access basis", 5));

    let delegation = DelegationGrant {
        patient: ActorId(Hash256([1; 32])),
        delegate: ActorId(Hash256([2; 32])),
        scopes: Scopes::READ,
        window: Window { not_before: 0, not_after: None },
    };
    let mut bytes = delegation.to_bytes();
    for bits in [0, 4, 0xff] {
        bytes[64] = bits;
        assert_rejected::<DelegationGrant>(&bytes, 64, unknown("scopes", bits));
    }
}

#[test]
fn consent_bases_must_be_non_empty_sorted_and_within_the_limit() {
    let ids: Vec<TxId> = (1..=3u8).map(|i| TxId(Hash256([i; 32]))).collect();
    let access = RecordAccess {
        patient: ActorId(Hash256([7; 32])),
        section: code_of("labs"),
        purpose: code_of("TREAT"),
        action: Action::Read,
        at: 5,
        basis: AccessBasis::Consents(ids.clone()),
    };
    let bytes = tx_bytes(Payload::RecordAccess(access), 9);
    let count_at = PAYLOAD_AT + 1 + 32 + 5 + 6 + 1 + 8 + 1;
    assert_eq!(&bytes[count_at - 1..count_at + 4], &[3, 3, 0, 0, 0]);
    let ids_at = count_at + 4;

    let with_count = |count: u32| splice(&bytes, count_at..count_at + 4, &count.to_le_bytes());
    assert_rejected::<SignedTx>(&with_count(0), count_at, DecodeErrorKind::Invalid("empty consent basis"));
    let too_many = DecodeErrorKind::TooLong { what: "basis consents", len: 257, max: 256 };
    assert_rejected::<SignedTx>(&with_count(257), count_at, too_many);
    let huge = DecodeErrorKind::TooLong { what: "basis consents", len: u64::from(u32::MAX), max: 256 };
    assert_rejected::<SignedTx>(&with_count(u32::MAX), count_at, huge);

    let swapped = [ids[1].0.0, ids[0].0.0, ids[2].0.0].concat();
    let bytes_swapped = splice(&bytes, ids_at..ids_at + 96, &swapped);
    assert_rejected::<SignedTx>(&bytes_swapped, ids_at + 32, DecodeErrorKind::NonCanonical("basis consent order"));
    let repeated = [ids[0].0.0, ids[1].0.0, ids[1].0.0].concat();
    let bytes_repeated = splice(&bytes, ids_at..ids_at + 96, &repeated);
    assert_rejected::<SignedTx>(&bytes_repeated, ids_at + 64, DecodeErrorKind::NonCanonical("basis consent order"));
}

#[test]
fn genesis_limits_and_rules_are_enforced() {
    let genesis = Genesis {
        params: GenesisParams {
            name: "net".to_owned(),
            nonce: [8; 32],
            authorities: vec![key_of(1), key_of(2)],
            seal_threshold: 2,
            policy: Policy::default(),
        },
        proofs: vec![Signature([9; 64]); 2],
    };
    let bytes = tx_bytes(Payload::Genesis(genesis), 1);
    let name_at = PAYLOAD_AT + 1;
    let count_at = name_at + 1 + 3 + 32;
    let threshold_at = count_at + 1 + 64;
    let policy_at = threshold_at + 1;
    let proofs_at = policy_at + 9;
    assert_eq!(&bytes[name_at..name_at + 4], &[3, b'n', b'e', b't']);
    assert_eq!((bytes[count_at], bytes[threshold_at], bytes[proofs_at]), (2, 2, 2));
    assert_eq!(bytes.len(), proofs_at + 1 + 128 + 64);

    let with = |at: usize, byte: u8| splice(&bytes, at..at + 1, &[byte]);
    let invalid_name = DecodeErrorKind::Invalid("chain name");
    assert_rejected::<SignedTx>(&with(name_at, 0), name_at, invalid_name.clone());
    for bad in [0x7f, 0x1f, 0xff] {
        assert_rejected::<SignedTx>(&with(name_at + 2, bad), name_at, invalid_name.clone());
    }
    let long_name = [&[65u8][..], &[b'n'; 65]].concat();
    let bytes_long = splice(&bytes, name_at..name_at + 4, &long_name);
    let too_long = DecodeErrorKind::TooLong { what: "chain name", len: 65, max: 64 };
    assert_rejected::<SignedTx>(&bytes_long, name_at, too_long);

    let too_many = DecodeErrorKind::TooLong { what: "authorities", len: 65, max: 64 };
    assert_rejected::<SignedTx>(&with(count_at, 65), count_at, too_many);
    // No authorities: the rest shifts, but the empty set is what is reported.
    assert_rejected::<SignedTx>(&with(count_at, 0), count_at, DecodeErrorKind::Invalid("empty authority set"));
    for threshold in [0, 3, 0xff] {
        let bytes = with(threshold_at, threshold);
        assert_rejected::<SignedTx>(&bytes, threshold_at, DecodeErrorKind::Invalid("seal threshold"));
    }
    assert_rejected::<SignedTx>(&with(policy_at, 2), policy_at, DecodeErrorKind::NonCanonical("boolean"));
    let too_many_proofs = DecodeErrorKind::TooLong { what: "proofs of possession", len: 65, max: 64 };
    assert_rejected::<SignedTx>(&with(proofs_at, 65), proofs_at, too_many_proofs);
}

#[test]
fn invalid_and_non_canonical_public_keys_are_rejected() {
    let register = RegisterActor { key: key_of(3), role: Role::Patient, proof: Signature([4; 64]) };
    let bytes = tx_bytes(Payload::RegisterActor(register), 2);
    let key_at = PAYLOAD_AT + 1;

    // The identity point: a valid encoding of a weak (small-order) key.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let with_identity = splice(&bytes, key_at..key_at + 32, &identity);
    assert_rejected::<SignedTx>(&with_identity, key_at, DecodeErrorKind::Invalid("public key"));

    // y = p + 1 (p = 2^255 - 19): a second, non-canonical encoding of the identity.
    let mut p_plus_one = [0xffu8; 32];
    p_plus_one[0] = 0xee;
    p_plus_one[31] = 0x7f;
    let with_p_plus_one = splice(&bytes, key_at..key_at + 32, &p_plus_one);
    assert_rejected::<SignedTx>(&with_p_plus_one, key_at, DecodeErrorKind::NonCanonical("public key"));
    assert_rejected::<PublicKey>(&p_plus_one, 0, DecodeErrorKind::NonCanonical("public key"));

    // The role tag right after the key.
    let mut bad_role = bytes.clone();
    bad_role[key_at + 32] = 0;
    assert_rejected::<SignedTx>(&bad_role, key_at + 32, DecodeErrorKind::UnknownTag { what: "role", tag: 0 });
}

fn block_fixture() -> Block {
    let txs =
        vec![tx(Payload::GrantConsent(grant())), tx(Payload::EraseSubject { patient: ActorId(Hash256([6; 32])) })];
    let seals =
        (1..=3u8).map(|i| Seal { authority: ActorId(Hash256([i; 32])), signature: Signature([i; 64]) }).collect();
    let header = BlockHeader {
        chain: ChainId(Hash256([1; 32])),
        height: 7,
        prev_hash: BlockHash(Hash256([2; 32])),
        timestamp: 1_700_000_000_000,
        tx_count: 2,
        tree_size: 9,
        tree_root: Hash256([3; 32]),
        proposer: ActorId(Hash256([1; 32])),
    };
    Block { header, txs, seals }
}

#[test]
fn every_truncation_of_a_fixed_tx_and_block_is_rejected() {
    let block = block_fixture();
    let bytes = block.to_bytes();
    assert_eq!(Block::from_bytes(&bytes).as_ref(), Ok(&block));
    for cut in 0..bytes.len() {
        let error = Block::from_bytes(&bytes[..cut]).expect_err("a truncated block is rejected");
        assert_eq!(error.kind, DecodeErrorKind::Truncated, "cut at {cut}");
    }
    for value in &block.txs {
        let bytes = value.to_bytes();
        for cut in 0..bytes.len() {
            let error = SignedTx::from_bytes(&bytes[..cut]).expect_err("a truncated tx is rejected");
            assert_eq!(error.kind, DecodeErrorKind::Truncated, "cut at {cut}");
        }
    }
}

#[test]
fn fixed_encodings_reject_a_trailing_byte_and_other_versions() {
    let block = block_fixture();
    let tx = &block.txs[0];
    for extra in [0, 1, 0xff] {
        let bytes = [tx.to_bytes(), vec![extra]].concat();
        assert_rejected::<SignedTx>(&bytes, bytes.len() - 1, DecodeErrorKind::TrailingBytes);
        let bytes = [block.to_bytes(), vec![extra]].concat();
        assert_rejected::<Block>(&bytes, bytes.len() - 1, DecodeErrorKind::TrailingBytes);
    }
    for version in [0, 2, 0xff] {
        let bytes = splice(&tx.to_bytes(), 0..1, &[version]);
        assert_rejected::<SignedTx>(&bytes, 0, DecodeErrorKind::UnknownVersion(version));
        let bytes = splice(&block.to_bytes(), 0..1, &[version]);
        assert_rejected::<Block>(&bytes, 0, DecodeErrorKind::UnknownVersion(version));
        // The version of a transaction inside a block, behind its 4-byte length.
        let bytes = splice(&block.to_bytes(), HEADER_LEN + 4..HEADER_LEN + 5, &[version]);
        assert_rejected::<Block>(&bytes, HEADER_LEN + 4, DecodeErrorKind::UnknownVersion(version));
    }
}

#[test]
fn block_framing_limits_and_seal_order_are_enforced() {
    let block = block_fixture();
    let bytes = block.to_bytes();
    let tx0 = block.txs[0].to_bytes();
    let tx1 = block.txs[1].to_bytes();
    let tx0_at = HEADER_LEN + 4;
    let tx1_len_at = tx0_at + tx0.len();
    let seals_at = tx1_len_at + 4 + tx1.len();
    assert_eq!(&bytes[HEADER_LEN..tx0_at], &u32::try_from(tx0.len()).expect("small").to_le_bytes());
    assert_eq!(bytes[seals_at], 3);
    assert_eq!(bytes.len(), seals_at + 1 + 3 * 96);

    let count = |n: u32| splice(&bytes, TX_COUNT_AT..TX_COUNT_AT + 4, &n.to_le_bytes());
    let too_many = DecodeErrorKind::TooLong { what: "transactions per block", len: 65_537, max: 65_536 };
    assert_rejected::<Block>(&count(65_537), TX_COUNT_AT, too_many);
    let header_only = &count(65_537)[..HEADER_LEN];
    let too_many = DecodeErrorKind::TooLong { what: "transactions per block", len: 65_537, max: 65_536 };
    assert_rejected::<BlockHeader>(header_only, TX_COUNT_AT, too_many);

    let frame = |n: u32| splice(&bytes, HEADER_LEN..tx0_at, &n.to_le_bytes());
    let too_long = DecodeErrorKind::TooLong { what: "transaction", len: 65_537, max: 65_536 };
    assert_rejected::<Block>(&frame(65_537), HEADER_LEN, too_long);
    // A frame one byte short leaves the signature incomplete inside it.
    let short = u32::try_from(tx0.len() - 1).expect("small");
    assert_rejected::<Block>(&frame(short), tx0_at + tx0.len() - 64, DecodeErrorKind::Truncated);
    // A frame one byte long holds a trailing byte.
    let long = u32::try_from(tx0.len() + 1).expect("small");
    let padded = splice(&frame(long), tx1_len_at..tx1_len_at, &[0]);
    assert_rejected::<Block>(&padded, tx1_len_at, DecodeErrorKind::TrailingBytes);

    let too_many_seals = DecodeErrorKind::TooLong { what: "seals", len: 65, max: 64 };
    assert_rejected::<Block>(&splice(&bytes, seals_at..seals_at + 1, &[65]), seals_at, too_many_seals);
    let seal = |i: usize| &bytes[seals_at + 1 + 96 * i..seals_at + 1 + 96 * (i + 1)];
    let swapped = [seal(1), seal(0), seal(2)].concat();
    let bytes_swapped = splice(&bytes, seals_at + 1..bytes.len(), &swapped);
    assert_rejected::<Block>(&bytes_swapped, seals_at + 1 + 96, DecodeErrorKind::NonCanonical("seal order"));
    let repeated = [seal(0), seal(1), seal(1)].concat();
    let bytes_repeated = splice(&bytes, seals_at + 1..bytes.len(), &repeated);
    assert_rejected::<Block>(&bytes_repeated, seals_at + 1 + 192, DecodeErrorKind::NonCanonical("seal order"));
}
