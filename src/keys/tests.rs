//! Keys and the signature rule: single checks, batches that agree with them, key validation.

use super::*;

#[test]
fn strict_verification_accepts_own_signatures_only() {
    let key = SigningKey::from_seed(&[7; 32]);
    let sig = key.sign(b"message");
    assert!(key.public_key().verify(b"message", &sig));
    assert!(!key.public_key().verify(b"messagf", &sig));
    let mut bad = sig;
    bad.0[63] ^= 0x80;
    assert!(!key.public_key().verify(b"message", &bad));
    // s + L (non-canonical scalar) is refused even though it satisfies the group equation.
    let mut s_plus_l = sig;
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (i, l_byte) in l.iter().enumerate() {
        let sum = u16::from(s_plus_l.0[32 + i]) + u16::from(*l_byte) + carry;
        s_plus_l.0[32 + i] = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    assert!(!key.public_key().verify(b"message", &s_plus_l));
}

#[test]
fn weak_and_non_canonical_keys_are_refused() {
    // The identity point (small order).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(PublicKey::from_bytes(&identity), Err(KeyError::Weak));
    // y = p + 1 encodes the identity non-canonically (p = 2^255 - 19).
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    assert!(PublicKey::from_bytes(&non_canonical).is_err());
    let good = SigningKey::from_seed(&[1; 32]).public_key();
    assert_eq!(PublicKey::from_bytes(&good.to_bytes()), Ok(good));
}

#[test]
fn debug_never_shows_the_secret() {
    let seed = [0xab; 32];
    let key = SigningKey::from_seed(&seed);
    assert_eq!(*key.to_seed(), seed);
    let text = format!("{key:?}");
    assert!(!text.contains(&crate::hash::to_hex(&seed)));
    assert!(text.contains("public"));
}

// ---- the signature rule: canonical encodings, and batches that agree with single checks ----

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;
use sha2::{Digest, Sha512};

/// `bytes` with the low 255 bits read as y and raised by p = 2^255 − 19 (kept below 2^255), sign kept.
fn y_plus_p(y: u8, sign: bool) -> [u8; 32] {
    let mut bytes = [0xffu8; 32];
    bytes[0] = 0xed + y;
    bytes[31] = 0x7f | if sign { 0x80 } else { 0 };
    bytes
}

#[test]
fn canonical_encodings_are_exactly_those_compression_gives_back() {
    let mut cases: Vec<[u8; 32]> = Vec::new();
    for y in 0..=18u8 {
        for sign in [false, true] {
            let mut small = [0u8; 32];
            small[0] = y;
            small[31] = if sign { 0x80 } else { 0 };
            cases.push(small);
            cases.push(y_plus_p(y, sign));
            // p − 1 − y: the top of the field.
            let mut top = y_plus_p(0, sign);
            top[0] = 0xec - y;
            cases.push(top);
        }
    }
    for torsion in EIGHT_TORSION {
        cases.push(torsion.compress().to_bytes());
    }
    let mut state = [7u8; 32];
    for _ in 0..2000 {
        state = Sha512::digest(state)[..32].try_into().unwrap();
        cases.push(state);
    }
    let (mut canonical, mut not_canonical) = (0, 0);
    for bytes in cases {
        let Some(point) = CompressedEdwardsY(bytes).decompress() else { continue };
        let round_trip = point.compress().to_bytes() == bytes;
        assert_eq!(rule::is_canonical_encoding(&bytes), round_trip, "{}", crate::hash::to_hex(&bytes));
        if round_trip { canonical += 1 } else { not_canonical += 1 }
    }
    // Both kinds were met: among them y = p + 1 (the identity), "−0" on (0, ±1), and y = p + 2..18 points.
    assert!(canonical > 900 && not_canonical >= 6, "{canonical} canonical, {not_canonical} not");
}

#[test]
fn keys_with_a_small_order_component_are_refused() {
    let honest = SigningKey::from_seed(&[3; 32]).public_key();
    for (i, torsion) in EIGHT_TORSION.iter().enumerate().skip(1) {
        let mixed = (honest.point() + torsion).compress().to_bytes();
        assert_eq!(PublicKey::from_bytes(&mixed), Err(KeyError::MixedOrder), "torsion point {i}");
        let mixed_point = honest.point() + torsion;
        assert!(!rule::is_torsion_free(&mixed_point) && !mixed_point.is_torsion_free(), "torsion point {i}");
        assert_eq!(PublicKey::from_bytes(&torsion.compress().to_bytes()), Err(KeyError::Weak), "torsion point {i}");
    }
    // The variable-time check agrees with curve25519-dalek's on prime-order points, and the identity.
    for seed in 0..32 {
        let point = *SigningKey::from_seed(&[seed; 32]).public_key().point();
        assert!(rule::is_torsion_free(&point) && point.is_torsion_free());
    }
    assert!(rule::is_torsion_free(&EdwardsPoint::default()));
}

/// A signer whose nonce can be chosen, so that R can be given any value (a valid signature needs the
/// secret scalar a: s = r + k·a).
struct Signer {
    a: Scalar,
    key: PublicKey,
}

impl Signer {
    fn new(seed: u8) -> Self {
        let expanded = Sha512::digest([seed; 32]);
        let mut scalar: [u8; 32] = expanded[..32].try_into().unwrap();
        scalar[0] &= 248;
        scalar[31] &= 127;
        scalar[31] |= 64;
        let signing = SigningKey::from_seed(&[seed; 32]);
        Self { a: Scalar::from_bytes_mod_order(scalar), key: signing.public_key() }
    }

    /// (R, s) with R the given encoding and s = r + k·a.
    fn sign_with(&self, r: &Scalar, r_bytes: [u8; 32], message: &[u8]) -> Signature {
        let hash: [u8; 64] = Sha512::new()
            .chain_update(r_bytes)
            .chain_update(self.key.to_bytes())
            .chain_update(message)
            .finalize()
            .into();
        let k = Scalar::from_bytes_mod_order_wide(&hash);
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&r_bytes);
        bytes[32..].copy_from_slice((r + k * self.a).as_bytes());
        Signature(bytes)
    }
}

/// What is done to one honest signature of a batch, and whether the rule must accept the result.
#[derive(Clone, Copy, Debug)]
enum Edit {
    /// Left as signed: accepted.
    None,
    /// One bit flipped: refused.
    FlipBit(u16),
    /// Signed over another message: refused.
    OtherMessage,
    /// R + T (T of small order), s recomputed: only the cofactored equation holds; accepted.
    TorsionedR(u8),
    /// R + T with s unchanged: refused.
    TorsionedRStale(u8),
    /// R a small-order point, s = k·a: the cofactored equation holds; refused for R.
    SmallOrderR(u8),
    /// R = a non-canonical encoding of a small-order point (y = p or p + 1, or "−0"), s = k·a: the equation
    /// holds for the point it decodes to; refused for the encoding.
    NonCanonicalR(u8),
    /// s + L: the same scalar mod L, a non-canonical encoding; refused.
    SPlusL,
}

impl Edit {
    fn accepted(self) -> bool {
        matches!(self, Edit::None | Edit::TorsionedR(_))
    }
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        6 => Just(Edit::None),
        1 => (0u16..512).prop_map(Edit::FlipBit),
        1 => Just(Edit::OtherMessage),
        1 => (1u8..8).prop_map(Edit::TorsionedR),
        1 => (1u8..8).prop_map(Edit::TorsionedRStale),
        1 => (0u8..8).prop_map(Edit::SmallOrderR),
        1 => (0u8..3).prop_map(Edit::NonCanonicalR),
        1 => Just(Edit::SPlusL),
    ]
}

/// The signature of `signer` on `message` as `edit` makes it.
fn edited(signer: &Signer, message: &[u8], edit: Edit) -> Signature {
    let r = Scalar::from_bytes_mod_order_wide(&Sha512::digest(message).into());
    let big_r = ED25519_BASEPOINT_POINT * r;
    let honest = signer.sign_with(&r, big_r.compress().to_bytes(), message);
    let torsion = |i: u8| EIGHT_TORSION[usize::from(i)];
    match edit {
        Edit::None => honest,
        Edit::FlipBit(bit) => {
            let mut sig = honest;
            sig.0[usize::from(bit / 8)] ^= 1 << (bit % 8);
            sig
        }
        Edit::OtherMessage => signer.sign_with(&r, big_r.compress().to_bytes(), b"another message"),
        Edit::TorsionedR(i) => signer.sign_with(&r, (big_r + torsion(i)).compress().to_bytes(), message),
        Edit::TorsionedRStale(i) => {
            let mut sig = honest;
            sig.0[..32].copy_from_slice(&(big_r + torsion(i)).compress().to_bytes());
            sig
        }
        Edit::SmallOrderR(i) => signer.sign_with(&Scalar::ZERO, torsion(i).compress().to_bytes(), message),
        Edit::NonCanonicalR(i) => {
            // y = p + 1 (the identity), y = p (a point of order 4), "−0" on the identity.
            let mut one_minus_zero = [0u8; 32];
            one_minus_zero[0] = 1;
            one_minus_zero[31] = 0x80;
            let encoding = [y_plus_p(1, false), y_plus_p(0, false), one_minus_zero][usize::from(i)];
            signer.sign_with(&Scalar::ZERO, encoding, message)
        }
        Edit::SPlusL => {
            let mut sig = honest;
            // L = 2^252 + 27742317777372353535851937790883648493, little-endian.
            let l: [u8; 32] = [
                0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
            ];
            let mut carry = 0u16;
            for (byte, l_byte) in sig.0[32..].iter_mut().zip(l) {
                let sum = u16::from(*byte) + u16::from(l_byte) + carry;
                *byte = (sum & 0xff) as u8;
                carry = sum >> 8;
            }
            sig
        }
    }
}

#[test]
fn every_edit_is_what_it_claims() {
    let signer = Signer::new(9);
    let message = b"claims";
    let identity = EdwardsPoint::default();
    for edit in [Edit::None, Edit::TorsionedR(4)] {
        assert!(signer.key.verify(message, &edited(&signer, message, edit)), "{edit:?}");
    }
    // Small-order R with s = k·a: [s]B = [k]A, so the cofactored equation holds; refused for R alone.
    for i in 0..8 {
        let sig = edited(&signer, message, Edit::SmallOrderR(i));
        let hash: [u8; 64] = Sha512::new()
            .chain_update(&sig.0[..32])
            .chain_update(signer.key.to_bytes())
            .chain_update(message)
            .finalize()
            .into();
        let k = Scalar::from_bytes_mod_order_wide(&hash);
        let s = Scalar::from_canonical_bytes(sig.0[32..].try_into().unwrap()).unwrap();
        assert!(ED25519_BASEPOINT_POINT * s == signer.key.point() * k, "small-order R {i}");
        assert!(!signer.key.verify(message, &sig), "small-order R {i}");
    }
    // The torsioned signature is one that a cofactorless (strict) verifier refuses.
    let torsioned = ed25519_dalek::Signature::from_bytes(&edited(&signer, message, Edit::TorsionedR(1)).0);
    let dalek = ed25519_dalek::VerifyingKey::from_bytes(&signer.key.to_bytes()).unwrap();
    assert!(dalek.verify_strict(message, &torsioned).is_err());
    // Non-canonical R: the point it decodes to would pass the equation, the encoding does not.
    for i in 0..3 {
        let sig = edited(&signer, message, Edit::NonCanonicalR(i));
        let point = CompressedEdwardsY(sig.0[..32].try_into().unwrap()).decompress().unwrap();
        assert!(point.mul_by_cofactor() == identity, "a small-order point");
        assert!(!signer.key.verify(message, &sig), "non-canonical R {i}");
    }
    assert!(!signer.key.verify(message, &edited(&signer, message, Edit::SPlusL)));
    assert!(!signer.key.verify(message, &edited(&signer, message, Edit::TorsionedRStale(2))));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Batch and single verification accept exactly the same signatures: over random batches of honest
    /// signatures by a few keys, with corrupted, torsioned, small-order, non-canonical cases at random
    /// positions, `verify_batch` holds iff every single check does, `first_invalid` names the first that
    /// fails, and every single check agrees with what the edit is known to be.
    #[test]
    fn batches_accept_exactly_what_single_checks_accept(
        edits in proptest::collection::vec((0u8..4, edit_strategy()), 1..48),
    ) {
        let signers: Vec<Signer> = (1..=4).map(Signer::new).collect();
        let messages: Vec<Vec<u8>> = (0..edits.len()).map(|i| format!("message {i}").into_bytes()).collect();
        let signatures: Vec<Signature> = edits
            .iter()
            .zip(&messages)
            .map(|((who, edit), message)| edited(&signers[usize::from(*who)], message, *edit))
            .collect();
        let items: Vec<SignedMessage<'_>> = edits
            .iter()
            .zip(&messages)
            .zip(&signatures)
            .map(|(((who, _), message), signature)| SignedMessage {
                key: &signers[usize::from(*who)].key,
                message,
                signature,
            })
            .collect();
        let single: Vec<bool> = items.iter().map(|item| item.key.verify(item.message, item.signature)).collect();
        for ((_, edit), accepted) in edits.iter().zip(&single) {
            // A bit flip of the sign of s's top bits and the like is never valid short of a forgery.
            prop_assert_eq!(*accepted, edit.accepted(), "{:?}", edit);
        }
        prop_assert_eq!(verify_batch(&items), single.iter().all(|ok| *ok));
        prop_assert_eq!(first_invalid(&items), single.iter().position(|ok| !ok));
    }
}
