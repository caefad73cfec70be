//! The ledger's one ed25519 signature rule (docs/FORMAT.md, "Keys and signatures"), for a single
//! signature and for a batch alike:
//!
//! - `R` (the first 32 bytes) is the canonical encoding of a curve point, not one of the eight points of
//!   small order;
//! - `s` (the last 32 bytes) is below the group order L;
//! - `[8]([s]B − R − [k]A) = 0`, with `k = SHA-512(R ‖ A ‖ M) mod L` over the bytes as sent (the
//!   *cofactored* equation);
//! - the key `A` was checked once, when it was decoded: canonical, of prime order (no small-order
//!   component) and not small-order itself ([`super::PublicKey::from_bytes`]).
//!
//! A batch draws a random 128-bit weight `zᵢ` per signature and checks
//! `[8]([Σ zᵢsᵢ]B − Σ zᵢRᵢ − Σ_A [Σ_{i signed by A} zᵢkᵢ]A) = 0` in one multi-scalar multiplication.
//! Multiplying by 8 removes every small-order component, so a signature that fails the single check adds a
//! non-zero prime-order point to the sum, which random weights cancel with probability at most 2⁻¹²⁵:
//! batch and single verification accept the same signatures. (ed25519-dalek's own batch verifies the
//! cofactorless equation, which a single strict check does not match; that is why this module exists.)

use super::{PublicKey, Signature};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};
use std::collections::HashMap;

/// One signature to check: who signed, what, and the signature.
#[derive(Clone, Copy, Debug)]
pub struct SignedMessage<'a> {
    /// The signer's key.
    pub key: &'a PublicKey,
    /// The signed bytes.
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// 2^255 − 19, little-endian.
const P: [u8; 32] = {
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// Whether `bytes` is the canonical encoding of whatever point it decodes to: y (the low 255 bits) is below
/// p, and the sign bit is clear when x = 0 (y = 1 or y = p − 1), where "−0" would name the same point.
/// Exactly the encodings that compressing the decoded point gives back (a test checks both ways).
pub(crate) fn is_canonical_encoding(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    y[31] &= 0x7f;
    let below_p = y.iter().rev().zip(P.iter().rev()).find(|(a, b)| a != b).is_some_and(|(a, b)| a < b);
    let sign = bytes[31] >> 7 == 1;
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut minus_one = P;
    minus_one[0] -= 1;
    below_p && !(sign && (y == one || y == minus_one))
}

/// Whether `point` has no small-order component: `[L]P` is the identity, computed as `[L − 1]P + P` in
/// variable time (a public key is public), about three times faster than curve25519-dalek's constant-time
/// `is_torsion_free`.
pub(crate) fn is_torsion_free(point: &EdwardsPoint) -> bool {
    let l_minus_one = -Scalar::ONE;
    (EdwardsPoint::vartime_double_scalar_mul_basepoint(&l_minus_one, point, &Scalar::ZERO) + point).is_identity()
}

/// A signature whose encodings passed: `R` decoded, `s` reduced, and the challenge `k`.
struct Parsed {
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

fn parse(item: &SignedMessage<'_>) -> Option<Parsed> {
    let (r_bytes, s_bytes) = item.signature.0.split_at(32);
    let r_bytes: [u8; 32] = r_bytes.try_into().ok()?;
    let s_bytes: [u8; 32] = s_bytes.try_into().ok()?;
    if !is_canonical_encoding(&r_bytes) {
        return None;
    }
    let r = CompressedEdwardsY(r_bytes).decompress().filter(|r| !r.is_small_order())?;
    let s = Option::from(Scalar::from_canonical_bytes(s_bytes))?;
    let hash: [u8; 64] = Sha512::new()
        .chain_update(r_bytes)
        .chain_update(item.key.to_bytes())
        .chain_update(item.message)
        .finalize()
        .into();
    Some(Parsed { r, s, k: Scalar::from_bytes_mod_order_wide(&hash) })
}

/// Checks one signature by the rule.
pub(super) fn verify_one(item: &SignedMessage<'_>) -> bool {
    let Some(Parsed { r, s, k }) = parse(item) else {
        return false;
    };
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&-k, item.key.point(), &s);
    (sb_minus_ka - r).mul_by_cofactor().is_identity()
}

/// Whether every signature of `items` holds by the rule, checked as one batch: the same answer as checking
/// each with [`PublicKey::verify`] (see the module documentation), about twice as fast for batches of a few
/// dozen signatures or more. Without randomness from the operating system it checks them one by one.
pub fn verify_batch(items: &[SignedMessage<'_>]) -> bool {
    let mut seed = [0u8; 32];
    if items.len() < 2 || getrandom::fill(&mut seed).is_err() {
        return items.iter().all(verify_one);
    }
    let mut weights = Weights { seed, counter: 0, buffer: [0; 64], used: 64 };
    // Points: every R, then each distinct key once, then B.
    let mut scalars = Vec::with_capacity(1 + items.len() * 2);
    let mut points = Vec::with_capacity(1 + items.len() * 2);
    let mut key_slots: HashMap<[u8; 32], usize> = HashMap::with_capacity(items.len());
    let mut key_terms: Vec<(Scalar, EdwardsPoint)> = Vec::new();
    let mut b_coefficient = Scalar::ZERO;
    for item in items {
        let Some(Parsed { r, s, k }) = parse(item) else {
            return false;
        };
        let z = weights.next();
        b_coefficient += z * s;
        scalars.push(-z);
        points.push(r);
        let slot = *key_slots.entry(item.key.to_bytes()).or_insert_with(|| {
            key_terms.push((Scalar::ZERO, *item.key.point()));
            key_terms.len() - 1
        });
        if let Some((coefficient, _)) = key_terms.get_mut(slot) {
            *coefficient -= z * k;
        }
    }
    for (coefficient, point) in key_terms {
        scalars.push(coefficient);
        points.push(point);
    }
    scalars.push(b_coefficient);
    points.push(curve25519_dalek::constants::ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).mul_by_cofactor().is_identity()
}

/// Random 128-bit weights: SHA-512 of a fresh 32-byte seed and a counter, four weights per hash.
struct Weights {
    seed: [u8; 32],
    counter: u64,
    buffer: [u8; 64],
    used: usize,
}

impl Weights {
    fn next(&mut self) -> Scalar {
        if self.used == self.buffer.len() {
            self.buffer =
                Sha512::new().chain_update(self.seed).chain_update(self.counter.to_le_bytes()).finalize().into();
            self.counter += 1;
            self.used = 0;
        }
        let weight = self.buffer.get(self.used..self.used + 16).and_then(|w| <[u8; 16]>::try_from(w).ok());
        self.used += 16;
        Scalar::from(u128::from_le_bytes(weight.unwrap_or_default()))
    }
}

/// The index of the first signature of `items` that fails the rule: one batch when all hold, otherwise a
/// bisection that batches the halves, so a few bad signatures among many cost a few extra batches.
pub fn first_invalid(items: &[SignedMessage<'_>]) -> Option<usize> {
    const ONE_BY_ONE_BELOW: usize = 8;
    if verify_batch(items) {
        return None;
    }
    if items.len() < ONE_BY_ONE_BELOW {
        return items.iter().position(|item| !verify_one(item));
    }
    let (left, right) = items.split_at(items.len() / 2);
    first_invalid(left).or_else(|| first_invalid(right).map(|at| at + left.len()))
}
