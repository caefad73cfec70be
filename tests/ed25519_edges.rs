//! ed25519 edge cases (docs/FORMAT.md, "Keys and signatures"): the ledger's one signature rule, applied
//! alike by every verifier path of the library, accepts exactly the edge signatures it should and refuses
//! the others with their typed error; weak, non-canonical and mixed-order keys never become keys.
//!
//! The rule, decided here by the test's own arithmetic (`rule`): a signature (R ‖ s) by key A on M holds iff
//! R's bytes are the canonical encoding of a curve point (y < p, no sign bit on an x = 0 point), s < L, and
//! the *cofactored* equation [8]([s]B − R − [k]A) = 0 holds, k = SHA-512(R ‖ A ‖ M) mod L over the bytes as
//! sent. Small-order R is not refused as such, nor is a mixed-order R.
//!
//! What this file proves:
//! - Public keys: the eight small-order points are `KeyError::Weak`; their other encodings (y ≥ p, sign bit
//!   set on an x = 0 point) and the y ≥ p encoding of every other point are `KeyError::NonCanonical`; bytes
//!   that decode to no point are `KeyError::NotAPoint`; mixed-order points (an honest key plus each of the
//!   seven non-zero torsion points, and the points of small y, of order 4L or 8L) are `KeyError::MixedOrder`.
//!   Through `Decode` these are `NonCanonical("public key")` / `Invalid("public key")`, so a transaction or
//!   block carrying one (a registration, a rotation, the genesis authorities) does not even decode.
//! - Signatures: the catalogue of edge signatures (every single-bit flip, s ≥ L as s + jL, s = L and with the
//!   top bits set, every small-order R with s = k·a in its canonical and non-canonical encodings, mixed-order
//!   R with s recomputed or unchanged, R with y ≥ p, R off the curve, degenerate signatures) is each shown to
//!   be what it claims, and each carries the rule's verdict. Exactly 7 are accepted: the seven mixed-order R
//!   with s recomputed. The eight small-order R with s = k·a (the identity included) satisfy the cofactored
//!   equation and are refused for R. On every path, each
//!   refused one is refused with the same typed error as any bad signature and each accepted one is
//!   accepted: `PublicKey::verify`; `healthchain::keys::verify_batch` and `first_invalid` (the edge case
//!   among valid signatures at several positions); `Ledger::submit` (`TxError::BadSignature`, or the
//!   transaction queued, sealed and replayed); replay of a stored transaction (`verify_blocks`, `Replayer`,
//!   `Ledger::open_verified`, `Ledger::verify`: `BlockError::Tx(TxError::BadSignature)` at its height and
//!   index, or a chain that verifies); seals (`BlockError::BadSeal`, also from `Ledger::commit_block`, or
//!   the block accepted); proofs of possession (`TxError::BadProofOfPossession` on submission and on replay,
//!   or the key registered / rotated to). The fast `Ledger::open` checks seals and proofs of possession but,
//!   as documented, not transaction signatures: a signature changed in place is caught there by the Merkle
//!   root (`TreeRootMismatch`, which is then also all that every other path reports for an accepted edge
//!   signature), one re-sealed by a dishonest authority only by `Ledger::verify` / `Ledger::open_verified`.
//! - Batch checks bisected to their first bad signature (blocks of 63, 64 and 100 transactions) report the
//!   same first bad transaction as every other path.
//!
//! Points are computed with the curve arithmetic of ed25519-dalek, the crate's own dependency
//! (`VerifyingKey::to_edwards` and the point's `+`); scalars mod L, the RFC 8032 signing equation, both
//! verification equations and the rule itself are reimplemented here and checked against the library's
//! signatures. Each edge signature is first shown to be what it claims (which equations hold for it, and
//! why the rule accepts or refuses it), and only then put to the library.

mod support;

use healthchain::block::seal_message;
use healthchain::replay::Replayer;
use healthchain::tx::proof_of_possession_message;
use healthchain::tx::{RegisterActor, RotateKey, signing_message};
use healthchain::*;
use sha2::{Digest, Sha512};
use support::*;

// ---- constants ----

/// The eight points of small order (the torsion subgroup), canonical encodings, with their orders.
/// Source: "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko, SSR 2020), as used by
/// novifinancial/ed25519-speccheck; recomputed with pure-Python edwards25519 arithmetic and re-checked by
/// `the_small_order_vectors_are_the_torsion_subgroup`.
const SMALL_ORDER: [(&str, u32); 8] = [
    ("0100000000000000000000000000000000000000000000000000000000000000", 1), // (0, 1), the identity
    ("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", 2), // (0, -1)
    ("0000000000000000000000000000000000000000000000000000000000000000", 4), // (sqrt(-1), 0)
    ("0000000000000000000000000000000000000000000000000000000000000080", 4), // (-sqrt(-1), 0)
    ("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", 8),
    ("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", 8),
    ("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", 8),
    ("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", 8),
];

/// Every other encoding of a small-order point, with the index in `SMALL_ORDER` of the point it decodes
/// to: y + p where that is below 2^255 (y = 0 and y = 1), and the sign bit set on the x = 0 points.
const SMALL_ORDER_NON_CANONICAL: [(&str, usize); 6] = [
    ("0100000000000000000000000000000000000000000000000000000000000080", 0), // identity, "-0"
    ("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", 0), // y = p + 1
    ("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 0), // y = p + 1, "-0"
    ("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 1), // (0, -1), "-0"
    ("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", 2), // y = p
    ("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 3), // y = p, sign bit
];

/// The y in 0..19 that are y-coordinates of curve points: exactly these have a second encoding y + p below
/// 2^255. 0 and 1 give small-order points, the others points of order 8L or 4L (none is torsion-free).
/// Computed with pure-Python edwards25519 arithmetic.
const SMALL_Y_ON_CURVE: [u8; 12] = [0, 1, 3, 4, 5, 6, 9, 10, 14, 15, 16, 18];

/// The group order L = 2^252 + 27742317777372353535851937790883648493, as four little-endian limbs.
const L: U256 = U256([0x5812_631a_5cf5_d3ed, 0x14de_f9de_a2f7_9cd6, 0, 0x1000_0000_0000_0000]);

/// The canonical encoding of the identity (0, 1).
const IDENTITY: [u8; 32] = {
    let mut bytes = [0u8; 32];
    bytes[0] = 1;
    bytes
};

/// The canonical encoding of the RFC 8032 base point B (y = 4/5).
const BASEPOINT: [u8; 32] = {
    let mut bytes = [0x66u8; 32];
    bytes[0] = 0x58;
    bytes
};

fn hex32(text: &str) -> [u8; 32] {
    assert_eq!(text.len(), 64, "{text}");
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// The encoding whose 255-bit y field is `y` (< 19) with sign bit `sign`.
fn small_y(y: u8, sign: bool) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[0] = y;
    out[31] = u8::from(sign) << 7;
    out
}

/// The encoding whose y field is p + `y` (< 2^255 for y < 19), p = 2^255 - 19.
fn y_plus_p(y: u8, sign: bool) -> [u8; 32] {
    assert!(y < 19);
    let mut out = [0xffu8; 32];
    out[0] = 0xed + y;
    out[31] = 0x7f | (u8::from(sign) << 7);
    out
}

// ---- scalars: 256-bit integers and arithmetic mod L ----

/// A 256-bit unsigned integer, four little-endian 64-bit limbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct U256([u64; 4]);

impl U256 {
    const ZERO: U256 = U256([0; 4]);
    const ONE: U256 = U256([1, 0, 0, 0]);

    fn from_le(bytes: &[u8]) -> Self {
        assert!(bytes.len() <= 32);
        let mut limbs = [0u64; 4];
        for (i, byte) in bytes.iter().enumerate() {
            limbs[i / 8] |= u64::from(*byte) << (8 * (i % 8));
        }
        U256(limbs)
    }

    fn to_le(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = (self.0[i / 8] >> (8 * (i % 8))) as u8;
        }
        out
    }

    fn bit(&self, i: usize) -> bool {
        (self.0[i / 64] >> (i % 64)) & 1 == 1
    }

    fn overflowing_add(self, other: U256) -> (U256, bool) {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (i, limb) in out.iter_mut().enumerate() {
            let (sum, c1) = self.0[i].overflowing_add(other.0[i]);
            let (sum, c2) = sum.overflowing_add(u64::from(carry));
            *limb = sum;
            carry = c1 || c2;
        }
        (U256(out), carry)
    }

    fn overflowing_sub(self, other: U256) -> (U256, bool) {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (i, limb) in out.iter_mut().enumerate() {
            let (diff, b1) = self.0[i].overflowing_sub(other.0[i]);
            let (diff, b2) = diff.overflowing_sub(u64::from(borrow));
            *limb = diff;
            borrow = b1 || b2;
        }
        (U256(out), borrow)
    }

    fn less_than(self, other: U256) -> bool {
        self.overflowing_sub(other).1
    }
}

/// a + b mod L, for a, b < L.
fn add_mod_l(a: U256, b: U256) -> U256 {
    assert!(a.less_than(L) && b.less_than(L));
    let (sum, overflow) = a.overflowing_add(b);
    assert!(!overflow);
    if sum.less_than(L) { sum } else { sum.overflowing_sub(L).0 }
}

/// A little-endian integer of any length, reduced mod L.
fn reduce(bytes: &[u8]) -> U256 {
    let mut acc = U256::ZERO;
    for i in (0..bytes.len() * 8).rev() {
        acc = add_mod_l(acc, acc);
        if (bytes[i / 8] >> (i % 8)) & 1 == 1 {
            acc = add_mod_l(acc, U256::ONE);
        }
    }
    acc
}

/// a · b mod L.
fn mul_mod_l(a: U256, b: U256) -> U256 {
    let a = reduce(&a.to_le());
    let mut acc = U256::ZERO;
    for i in (0..256).rev() {
        acc = add_mod_l(acc, acc);
        if b.bit(i) {
            acc = add_mod_l(acc, a);
        }
    }
    acc
}

fn sha512(parts: &[&[u8]]) -> [u8; 64] {
    let mut hasher = Sha512::new();
    for part in parts {
        hasher.update(part);
    }
    let mut out = [0u8; 64];
    out.copy_from_slice(&hasher.finalize());
    out
}

/// The RFC 8032 challenge k = SHA-512(R ‖ A ‖ M) mod L, over the encodings as sent.
fn challenge(r: &[u8; 32], public: &[u8; 32], message: &[u8]) -> U256 {
    reduce(&sha512(&[r, public, message]))
}

// ---- points, with ed25519-dalek's curve arithmetic ----

/// Decompresses any encoding of a point (canonical or not) with ed25519-dalek; panics off the curve.
macro_rules! point {
    ($bytes:expr) => {
        ed25519_dalek::VerifyingKey::from_bytes($bytes).expect("test vector is a curve point").to_edwards()
    };
}

/// [k]P by double-and-add over all 256 bits of k (k need not be reduced).
fn scalar_mul<P: Copy + std::ops::Add<Output = P>>(k: &U256, p: P, identity: P) -> P {
    let mut acc = identity;
    for i in (0..256).rev() {
        acc = acc + acc;
        if k.bit(i) {
            acc = acc + p;
        }
    }
    acc
}

/// The canonical encoding of [k]P.
fn mul_point(k: &U256, p: &[u8; 32]) -> [u8; 32] {
    scalar_mul(k, point!(p), point!(&IDENTITY)).compress().to_bytes()
}

/// The canonical encoding of P + Q.
fn add_points(p: &[u8; 32], q: &[u8; 32]) -> [u8; 32] {
    (point!(p) + point!(q)).compress().to_bytes()
}

/// The two verification equations for `signature` on `message` under the key encoded `public`, as a
/// non-strict verifier evaluates them: R and A decompressed whatever their encoding, s used as the
/// 256-bit integer it encodes, k over the bytes as sent. Returns (cofactorless [s]B = R + [k]A,
/// cofactored [8][s]B = [8]R + [8][k]A); both false if R is not a point.
fn equations(public: &[u8; 32], message: &[u8], signature: &Signature) -> (bool, bool) {
    let r_bytes: [u8; 32] = signature.0[..32].try_into().unwrap();
    let Ok(r) = ed25519_dalek::VerifyingKey::from_bytes(&r_bytes) else {
        return (false, false);
    };
    let identity = point!(&IDENTITY);
    let s = U256::from_le(&signature.0[32..]);
    let k = challenge(&r_bytes, public, message);
    let sb = scalar_mul(&s, point!(&BASEPOINT), identity);
    let r_plus_ka = r.to_edwards() + scalar_mul(&k, point!(public), identity);
    (sb == r_plus_ka, sb.mul_by_cofactor() == r_plus_ka.mul_by_cofactor())
}

fn signature(r: &[u8; 32], s: &[u8; 32]) -> Signature {
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(r);
    bytes[32..].copy_from_slice(s);
    Signature(bytes)
}

/// RFC 8032 signing reimplemented, so that R and s can be chosen: the secret scalar a and nonce prefix
/// derived from a seed exactly as `SigningKey::from_seed` does.
struct RefSigner {
    /// The clamped secret scalar, reduced mod L.
    a: U256,
    prefix: [u8; 32],
    /// [a]B.
    public: [u8; 32],
}

impl RefSigner {
    fn from_seed(seed: &[u8; 32]) -> Self {
        let hash = sha512(&[seed]);
        let mut scalar = [0u8; 32];
        scalar.copy_from_slice(&hash[..32]);
        scalar[0] &= 248;
        scalar[31] &= 127;
        scalar[31] |= 64;
        let mut prefix = [0u8; 32];
        prefix.copy_from_slice(&hash[32..]);
        Self { a: reduce(&scalar), prefix, public: mul_point(&U256::from_le(&scalar), &BASEPOINT) }
    }

    /// The deterministic nonce r = SHA-512(prefix ‖ M) mod L.
    fn nonce(&self, message: &[u8]) -> U256 {
        reduce(&sha512(&[&self.prefix, message]))
    }

    /// (R, s = r + k·a mod L) with k computed for the key encoded `public` (normally `self.public`).
    fn sign_as(&self, public: &[u8; 32], r: &U256, big_r: &[u8; 32], message: &[u8]) -> Signature {
        let k = challenge(big_r, public, message);
        signature(big_r, &add_mod_l(*r, mul_mod_l(k, self.a)).to_le())
    }

    /// The RFC 8032 signature (identical to `SigningKey::sign`).
    fn sign(&self, message: &[u8]) -> Signature {
        let r = self.nonce(message);
        self.sign_as(&self.public, &r, &mul_point(&r, &BASEPOINT), message)
    }
}

// ---- the rule, decided here ----

/// p = 2^255 − 19, the field's modulus, as four little-endian limbs.
const P: U256 = U256([0xffff_ffff_ffff_ffed, u64::MAX, u64::MAX, 0x7fff_ffff_ffff_ffff]);

/// Whether `bytes` decode to a curve point, whatever the encoding (ed25519-dalek's decompression).
fn is_point(bytes: &[u8; 32]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(bytes).is_ok()
}

/// Whether `bytes` is the canonical encoding of a curve point: it decodes, and compressing the point gives
/// these very bytes back.
fn is_canonical_point(bytes: &[u8; 32]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(bytes).is_ok_and(|key| key.to_edwards().compress().to_bytes() == *bytes)
}

/// The byte rule for canonical encodings, whether or not the bytes are a point: the 255-bit y is below p, and
/// the sign bit is clear when x = 0 (y = 1 or y = p − 1), where "−0" would name the same point. Checked
/// against `is_canonical_point` by `the_test_decides_canonical_encodings_two_ways_that_agree`.
fn canonical_by_bytes(bytes: &[u8; 32]) -> bool {
    let sign = bytes[31] >> 7 == 1;
    let mut y = *bytes;
    y[31] &= 0x7f;
    let y = U256::from_le(&y);
    let x_is_zero = y == U256::ONE || y == P.overflowing_sub(U256::ONE).0;
    y.less_than(P) && !(sign && x_is_zero)
}

/// What the ledger's rule makes of a signature, with the first reason it fails (checked in this order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    /// Canonical R, s < L, the cofactored equation holds.
    Accepted,
    /// R's bytes are not a curve point.
    RNotAPoint,
    /// R is a point, but these bytes are not its canonical encoding.
    RNonCanonical,
    /// R is (the canonical encoding of) one of the eight points of small order.
    RSmallOrder,
    /// s ≥ L.
    SNotReduced,
    /// The encodings pass, the cofactored equation fails.
    EquationFails,
}

/// The ledger's signature rule, evaluated with this file's own arithmetic: R's bytes the canonical encoding
/// of a point, s < L, and [8][s]B = [8]R + [8][k]A with k over the bytes as sent.
fn rule(public: &[u8; 32], message: &[u8], signature: &Signature) -> Verdict {
    let r: [u8; 32] = signature.0[..32].try_into().unwrap();
    if !is_point(&r) {
        Verdict::RNotAPoint
    } else if !is_canonical_point(&r) {
        Verdict::RNonCanonical
    } else if SMALL_ORDER.iter().any(|(hex, _)| hex32(hex) == r) {
        Verdict::RSmallOrder
    } else if !U256::from_le(&signature.0[32..]).less_than(L) {
        Verdict::SNotReduced
    } else if !equations(public, message, signature).1 {
        Verdict::EquationFails
    } else {
        Verdict::Accepted
    }
}

// ---- the catalogue of edge signatures ----

/// What the two equations make of an edge signature taken laxly: R decompressed whatever its encoding, s used
/// as the 256-bit integer it encodes (checked by `edge_signatures_are_what_they_claim`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lax {
    /// Neither equation holds.
    Neither,
    /// Only the cofactored equation holds: a cofactorless verifier (`verify_strict`) would refuse it.
    CofactoredOnly,
    /// Both equations hold: only the canonical-s or canonical-R check can refuse it.
    Both,
}

struct Case {
    name: String,
    sig: Signature,
    /// Claimed, checked by `edge_signatures_are_what_they_claim`.
    lax: Lax,
    /// The rule's verdict, computed by `rule` when the case is made.
    verdict: Verdict,
}

impl Case {
    fn accepted(&self) -> bool {
        self.verdict == Verdict::Accepted
    }
}

/// Every edge case derived from `signer`'s valid signature on `message`.
fn edge_signatures(signer: &RefSigner, message: &[u8]) -> Vec<Case> {
    catalogue(signer, message, true)
}

/// The edge cases the rule accepts (among those with a small-order or mixed-order R), in catalogue order,
/// without building the
/// whole catalogue: the same cases as `edge_signatures` filtered by `Case::accepted`
/// (`edge_signatures_are_what_they_claim` checks it).
fn accepted_edge_signatures(signer: &RefSigner, message: &[u8]) -> Vec<Case> {
    catalogue(signer, message, false).into_iter().filter(Case::accepted).collect()
}

/// The catalogue on `message`: all of it, or (`!all`) only its cases whose R is of small or mixed order.
fn catalogue(signer: &RefSigner, message: &[u8], all: bool) -> Vec<Case> {
    let valid = signer.sign(message);
    let r_bytes: [u8; 32] = valid.0[..32].try_into().unwrap();
    let s = U256::from_le(&valid.0[32..]);
    let mut cases = Vec::new();
    let mut push = |name: String, sig: Signature, lax: Lax| {
        assert_ne!(sig, valid, "{name} is the valid signature");
        let verdict = rule(&signer.public, message, &sig);
        cases.push(Case { name, sig, lax, verdict });
    };

    if all {
        // Every single-bit flip of the 64 bytes (bits 509..=511 set are also the top bits of s): valid under
        // no equation, short of a forgery.
        for bit in 0..512 {
            let mut sig = valid;
            sig.0[bit / 8] ^= 1 << (bit % 8);
            push(format!("bit {bit} flipped"), sig, Lax::Neither);
        }

        // s + jL for every j that fits in 256 bits: the same group element, a non-canonical encoding.
        let mut multiple = s;
        let mut j = 0;
        loop {
            let (next, overflow) = multiple.overflowing_add(L);
            if overflow {
                break;
            }
            multiple = next;
            j += 1;
            push(format!("s + {j}L"), signature(&r_bytes, &multiple.to_le()), Lax::Both);
        }
        assert!(j >= 14, "only {j} multiples of L fit");
        push("s = L".into(), signature(&r_bytes, &L.to_le()), Lax::Neither);
        push("s = 2^256 - 1".into(), signature(&r_bytes, &[0xff; 32]), Lax::Neither);
        let mut top_bits = s.to_le();
        top_bits[31] |= 0xe0;
        assert!(!U256::from_le(&top_bits).less_than(L));
        push("s with bits 253..=255 set".into(), signature(&r_bytes, &top_bits), Lax::Neither);
    }

    // Each small-order point as R, with s = k·a: [8]R = 0 so the cofactored equation holds; for R = identity
    // [s]B = [k]A = R + [k]A, the cofactorless one too.
    for (i, (hex, order)) in SMALL_ORDER.iter().enumerate() {
        let sig = signer.sign_as(&signer.public, &U256::ZERO, &hex32(hex), message);
        let lax = if *order == 1 { Lax::Both } else { Lax::CofactoredOnly };
        push(format!("R = small-order point {i} (order {order})"), sig, lax);
    }
    // The same with R encoded non-canonically (y ≥ p, or "-0"), k hashed over the bytes as sent.
    for (hex, index) in SMALL_ORDER_NON_CANONICAL {
        let sig = signer.sign_as(&signer.public, &U256::ZERO, &hex32(hex), message);
        let lax = if SMALL_ORDER[index].1 == 1 { Lax::Both } else { Lax::CofactoredOnly };
        push(format!("R = {hex}, a non-canonical encoding of small-order point {index}"), sig, lax);
    }

    // Mixed-order R' = [r]B + T with s = r + k'·a for k' over R': cofactored-valid, cofactorless-invalid.
    // And R + T with s unchanged (k changes with R, so no equation holds).
    let r = signer.nonce(message);
    for (i, (hex, order)) in SMALL_ORDER.iter().enumerate().skip(1) {
        let mixed_r = add_points(&r_bytes, &hex32(hex));
        let sig = signer.sign_as(&signer.public, &r, &mixed_r, message);
        push(format!("R + T{i} (order {order}), s recomputed"), sig, Lax::CofactoredOnly);
        push(format!("R + T{i} (order {order}), s unchanged"), signature(&mixed_r, &s.to_le()), Lax::Neither);
    }
    if !all {
        return cases;
    }

    // R with y ≥ p: non-canonical encodings of points of large order (nobody knows their discrete log).
    for y in SMALL_Y_ON_CURVE.into_iter().filter(|y| *y >= 2) {
        for sign in [false, true] {
            let name = format!("R with y = p + {y}, sign {}", u8::from(sign));
            push(name, signature(&y_plus_p(y, sign), &s.to_le()), Lax::Neither);
        }
    }
    // R not a point.
    for y in (0..19).filter(|y| !SMALL_Y_ON_CURVE.contains(y)) {
        push(format!("R with y = {y}, not a point"), signature(&small_y(y, false), &s.to_le()), Lax::Neither);
        push(format!("R with y = p + {y}, not a point"), signature(&y_plus_p(y, false), &s.to_le()), Lax::Neither);
    }

    // Degenerate signatures.
    push("all zero (R of order 4, s = 0)".into(), Signature([0; 64]), Lax::Neither);
    push("R = identity, s = 0".into(), signature(&IDENTITY, &[0; 32]), Lax::Neither);
    push("s = 0".into(), signature(&r_bytes, &[0; 32]), Lax::Neither);
    cases
}

/// The names of the edge cases the rule must accept, in catalogue order: each mixed-order R with s
/// recomputed (a small-order R with s = k·a satisfies the cofactored equation too, but R is refused).
fn expected_accepted_names() -> Vec<String> {
    SMALL_ORDER
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, (_, order))| format!("R + T{i} (order {order}), s recomputed"))
        .collect()
}

// ---- ledgers ----

fn store_of(chain: &[Vec<u8>]) -> MemoryStore {
    MemoryStore::from_blocks(chain.to_vec())
}

/// The failure `Ledger::open_verified` (or, if `!verified`, the fast `Ledger::open`) reports on `chain`.
fn open_failure(chain: &[Vec<u8>], verified: bool) -> Option<VerifyFailure> {
    let clock = Box::new(ManualClock::new(T0));
    let opened =
        if verified { Ledger::open_verified(store_of(chain), clock) } else { Ledger::open(store_of(chain), clock) };
    match opened {
        Ok(_) => None,
        Err(LedgerError::Corrupt { failure, offset: None }) => Some(failure),
        Err(other) => panic!("open failed with {other:?}"),
    }
}

/// The failure `Ledger::verify` reports after a fast `Ledger::open` of `chain` (which must succeed).
fn verify_after_open(chain: &[Vec<u8>]) -> Option<VerifyFailure> {
    Ledger::open(store_of(chain), Box::new(ManualClock::new(T0))).unwrap().verify().failure
}

/// The replayer after `chain[..height]`.
fn replayer_before(chain: &[Vec<u8>], height: usize) -> Replayer {
    let mut replayer = Replayer::new();
    for block in &chain[..height] {
        replayer.apply_block(block).unwrap();
    }
    replayer
}

/// The offset of the only occurrence of `needle` in `haystack`.
fn unique_offset(haystack: &[u8], needle: &[u8]) -> usize {
    let hits: Vec<usize> =
        haystack.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect();
    assert_eq!(hits.len(), 1, "expected exactly one occurrence");
    hits[0]
}

// ---- the vectors themselves ----

#[test]
fn the_small_order_vectors_are_the_torsion_subgroup() {
    assert_eq!(mul_point(&L, &BASEPOINT), IDENTITY, "L is the order of B");
    assert_eq!(reduce(&L.to_le()), U256::ZERO);
    let mut seen = std::collections::BTreeSet::new();
    for (hex, order) in SMALL_ORDER {
        let bytes = hex32(hex);
        let p = point!(&bytes);
        assert_eq!(p.compress().to_bytes(), bytes, "{hex} is canonical");
        assert!(p.is_small_order(), "{hex}");
        // The order is the least n in {1, 2, 4, 8} with [n]T = 0.
        let found =
            [1u32, 2, 4, 8].into_iter().find(|n| mul_point(&U256([u64::from(*n), 0, 0, 0]), &bytes) == IDENTITY);
        assert_eq!(found, Some(order), "{hex}");
        assert!(seen.insert(bytes), "{hex} listed twice");
    }
    // Closed under addition: a group of 8 elements, hence the whole torsion subgroup.
    for (a, _) in SMALL_ORDER {
        for (b, _) in SMALL_ORDER {
            assert!(seen.contains(&add_points(&hex32(a), &hex32(b))));
        }
    }
    for (hex, index) in SMALL_ORDER_NON_CANONICAL {
        let bytes = hex32(hex);
        assert_ne!(bytes, hex32(SMALL_ORDER[index].0));
        assert_eq!(point!(&bytes).compress().to_bytes(), hex32(SMALL_ORDER[index].0), "{hex}");
    }
    for y in 0..19u8 {
        let on_curve = ed25519_dalek::VerifyingKey::from_bytes(&small_y(y, false)).is_ok();
        assert_eq!(on_curve, SMALL_Y_ON_CURVE.contains(&y), "y = {y}");
    }
}

#[test]
fn the_reference_signer_is_the_library_signer() {
    let library = SigningKey::from_seed(&[9; 32]);
    let reference = RefSigner::from_seed(&[9; 32]);
    assert_eq!(reference.public, library.public_key().to_bytes());
    for message in [&b""[..], b"consent", &[0xa5; 300]] {
        assert_eq!(reference.sign(message), library.sign(message));
    }
    // With a nonce of our own choosing the signature is still valid: the arithmetic is right, so every
    // refusal below is due to the edge case, not to a broken construction.
    let r = reduce(b"any nonce at all");
    let sig = reference.sign_as(&reference.public, &r, &mul_point(&r, &BASEPOINT), b"consent");
    assert!(library.public_key().verify(b"consent", &sig));
    assert_eq!(equations(&reference.public, b"consent", &sig), (true, true));
}

#[test]
fn the_test_decides_canonical_encodings_two_ways_that_agree() {
    let signer = RefSigner::from_seed(&[9; 32]);
    let mut encodings: Vec<[u8; 32]> = vec![IDENTITY, BASEPOINT, signer.public];
    encodings.extend(SMALL_ORDER.iter().map(|(hex, _)| hex32(hex)));
    encodings.extend(SMALL_ORDER_NON_CANONICAL.iter().map(|(hex, _)| hex32(hex)));
    for y in 0..19u8 {
        for sign in [false, true] {
            // y, p + y and p − 1 − y (the top of the field), with either sign bit.
            let mut top = P.overflowing_sub(U256([1 + u64::from(y), 0, 0, 0])).0.to_le();
            top[31] |= u8::from(sign) << 7;
            encodings.extend([small_y(y, sign), y_plus_p(y, sign), top]);
        }
    }
    let r_of = |case: &Case| -> [u8; 32] { case.sig.0[..32].try_into().unwrap() };
    encodings.extend(edge_signatures(&signer, b"consent").iter().map(r_of));
    let (mut canonical, mut non_canonical, mut not_a_point) =
        (std::collections::BTreeSet::new(), std::collections::BTreeSet::new(), 0);
    for bytes in &encodings {
        let by_compression = is_canonical_point(bytes);
        assert_eq!(by_compression, is_point(bytes) && canonical_by_bytes(bytes), "{bytes:02x?}");
        if !is_point(bytes) {
            not_a_point += 1;
        } else if by_compression {
            canonical.insert(*bytes);
        } else {
            non_canonical.insert(*bytes);
        }
    }
    // The non-canonical encodings of points are exactly the six of small-order points and y = p + y' (y' ≥ 2
    // on the curve) with either sign: "-0" exists only for the two points with x = 0, y ≥ p only below 2^255.
    assert_eq!(non_canonical.len(), 6 + 2 * 10, "{non_canonical:02x?}");
    assert!(canonical.len() > 150 && not_a_point > 50, "{} canonical, {not_a_point} not points", canonical.len());
    assert!(canonical.contains(&IDENTITY) && !non_canonical.contains(&IDENTITY));
}

#[test]
fn edge_signatures_are_what_they_claim() {
    let signer = RefSigner::from_seed(&[9; 32]);
    for message in [&b""[..], b"patient 7 consents to labs for TREAT"] {
        let valid = signer.sign(message);
        assert_eq!(equations(&signer.public, message, &valid), (true, true));
        assert_eq!(rule(&signer.public, message, &valid), Verdict::Accepted);
        let cases = edge_signatures(&signer, message);
        let mut lax_counts = std::collections::BTreeMap::new();
        let mut verdicts = std::collections::BTreeMap::new();
        for case in &cases {
            *lax_counts.entry(format!("{:?}", case.lax)).or_insert(0) += 1;
            *verdicts.entry(case.verdict).or_insert(0) += 1;
            let name = &case.name;
            let (cofactorless, cofactored) = equations(&signer.public, message, &case.sig);
            let found = match (cofactorless, cofactored) {
                (true, true) => Lax::Both,
                (false, true) => Lax::CofactoredOnly,
                (false, false) => Lax::Neither,
                (true, false) => panic!("{name}: cofactorless without cofactored"),
            };
            assert_eq!(found, case.lax, "{name}");
            // The verdict against the facts, each decided a second way: R by the byte rule, s < L by reducing s mod L.
            let r: [u8; 32] = case.sig.0[..32].try_into().unwrap();
            let s_reduced = reduce(&case.sig.0[32..]).to_le() == case.sig.0[32..];
            let encodings_pass = is_point(&r) && canonical_by_bytes(&r) && s_reduced;
            // Small order decided a second way: ed25519-dalek's own test of the decoded point.
            let small = ed25519_dalek::VerifyingKey::from_bytes(&r).is_ok_and(|p| p.is_weak());
            assert_eq!(case.accepted(), encodings_pass && !small && cofactored, "{name}: {:?}", case.verdict);
            match case.verdict {
                Verdict::RNotAPoint => assert!(!is_point(&r), "{name}"),
                Verdict::RNonCanonical => assert!(is_point(&r) && !canonical_by_bytes(&r), "{name}"),
                Verdict::RSmallOrder => assert!(canonical_by_bytes(&r) && small, "{name}"),
                Verdict::SNotReduced => assert!(canonical_by_bytes(&r) && !s_reduced, "{name}"),
                // A signature the cofactored equation accepts is refused only for its encodings.
                Verdict::EquationFails => assert!(encodings_pass && found == Lax::Neither, "{name}"),
                Verdict::Accepted => assert_ne!(found, Lax::Neither, "{name}"),
            }
        }
        // s + jL (at least 14), and R = identity with s = k·a in 4 encodings.
        assert!(lax_counts["Both"] >= 18, "{lax_counts:?}");
        // 7 small-order R, 3 non-canonical encodings of non-identity small-order points, 7 mixed-order R.
        assert_eq!(lax_counts["CofactoredOnly"], 17, "{lax_counts:?}");
        // Every bit flip, among others.
        assert!(lax_counts["Neither"] >= 512, "{lax_counts:?}");

        // Exactly the mixed-order R with s recomputed are accepted; the other signatures an equation accepts
        // are refused for their encoding or for a small-order R.
        let accepted: Vec<&Case> = cases.iter().filter(|case| case.accepted()).collect();
        let names: Vec<String> = accepted.iter().map(|case| case.name.clone()).collect();
        assert_eq!(names, expected_accepted_names());
        assert_eq!(verdicts[&Verdict::Accepted], 7, "{verdicts:?}");
        // The eight small-order R with s = k·a, and the degenerate all-zero and identity-with-s-zero ones.
        assert_eq!(verdicts[&Verdict::RSmallOrder], 8 + 2, "{verdicts:?}");
        // The 6 other encodings of small-order points and the 20 y ≥ p encodings of larger points.
        assert_eq!(verdicts[&Verdict::RNonCanonical], 6 + 20, "{verdicts:?}");
        // s + jL, s = L, s = 2^256 − 1, the top bits of s set, and the bit flips that set those.
        assert!(verdicts[&Verdict::SNotReduced] >= 14 + 3 + 3, "{verdicts:?}");
        assert!(verdicts[&Verdict::RNotAPoint] >= 14, "{verdicts:?}");
        assert!(verdicts[&Verdict::EquationFails] >= 200, "{verdicts:?}");
        let encoding_only = cases.iter().filter(|c| c.lax != Lax::Neither && !c.accepted()).count();
        assert_eq!(encoding_only, lax_counts["Both"] + 17 - 7, "refused although an equation holds");

        // The shortcut for fresh messages gives the same accepted cases.
        let shortcut = accepted_edge_signatures(&signer, message);
        assert_eq!(shortcut.len(), accepted.len());
        for (short, full) in shortcut.iter().zip(&accepted) {
            assert_eq!((&short.name, short.sig, short.verdict), (&full.name, full.sig, full.verdict));
        }
    }
}

// ---- public keys ----

/// What `bytes` are as a key, by this file's own arithmetic: not a point, a non-canonical encoding, a point
/// of small order ([8]P = 0), a point with a small-order component ([L]P ≠ 0), or (`None`) a point of
/// prime order L, canonically encoded.
fn key_class(bytes: &[u8; 32]) -> Option<KeyError> {
    if !is_point(bytes) {
        Some(KeyError::NotAPoint)
    } else if !is_canonical_point(bytes) {
        Some(KeyError::NonCanonical)
    } else if mul_point(&U256([8, 0, 0, 0]), bytes) == IDENTITY {
        Some(KeyError::Weak)
    } else if mul_point(&L, bytes) != IDENTITY {
        Some(KeyError::MixedOrder)
    } else {
        None
    }
}

/// An honest key (of prime order) plus each of the seven non-zero torsion points.
fn mixed_order_keys(honest: &[u8; 32]) -> Vec<([u8; 32], String)> {
    let torsion = SMALL_ORDER.iter().enumerate().skip(1);
    torsion.map(|(i, (hex, order))| (add_points(honest, &hex32(hex)), format!("A + T{i} (order {order})"))).collect()
}

/// Every key encoding the library must refuse, with its error.
fn bad_keys() -> Vec<([u8; 32], KeyError, String)> {
    let mut keys = Vec::new();
    for (hex, order) in SMALL_ORDER {
        keys.push((hex32(hex), KeyError::Weak, format!("small-order point {hex} (order {order})")));
    }
    for (hex, index) in SMALL_ORDER_NON_CANONICAL {
        keys.push((hex32(hex), KeyError::NonCanonical, format!("{hex}, another encoding of small-order {index}")));
    }
    for y in 2..19u8 {
        for sign in [false, true] {
            let name = format!("y = p + {y}, sign {}", u8::from(sign));
            let small = format!("y = {y}, sign {}", u8::from(sign));
            if SMALL_Y_ON_CURVE.contains(&y) {
                keys.push((y_plus_p(y, sign), KeyError::NonCanonical, name));
                // Points of order 4L or 8L: canonical, of unknown discrete log, with a torsion component.
                keys.push((small_y(y, sign), KeyError::MixedOrder, small));
            } else {
                keys.push((y_plus_p(y, sign), KeyError::NotAPoint, name));
                keys.push((small_y(y, sign), KeyError::NotAPoint, small));
            }
        }
    }
    for (bytes, name) in mixed_order_keys(&RefSigner::from_seed(&[11; 32]).public) {
        keys.push((bytes, KeyError::MixedOrder, name));
    }
    keys
}

/// The decoding error of a key refused with `error` (docs/FORMAT.md): only a non-canonical encoding has its
/// own kind.
fn decode_kind(error: KeyError) -> DecodeErrorKind {
    match error {
        KeyError::NonCanonical => DecodeErrorKind::NonCanonical("public key"),
        KeyError::NotAPoint | KeyError::Weak | KeyError::MixedOrder => DecodeErrorKind::Invalid("public key"),
        other => panic!("{other:?} is not a decoding error"),
    }
}

#[test]
fn weak_non_canonical_off_curve_and_mixed_order_keys_are_refused_with_their_error() {
    let keys = bad_keys();
    assert_eq!(keys.len(), 8 + 6 + 2 * 10 + 4 * 7 + 2 * 10 + 7);
    for (bytes, error, name) in &keys {
        // The error each key is listed with is what the key is.
        assert_eq!(key_class(bytes), Some(*error), "{name}");
        assert_eq!(PublicKey::from_bytes(bytes), Err(*error), "{name}");
        assert_eq!(
            <PublicKey as Decode>::from_bytes(bytes),
            Err(DecodeError { offset: 0, kind: decode_kind(*error) }),
            "{name}"
        );
    }
    // Why weak keys must never become keys: for a small-order A, (R = B, s = 1) satisfies the cofactored
    // equation on every message ([8]([1]B − B − [k]A) = 0), hence the rule; for A = identity the cofactorless
    // one as well.
    let mut one = [0u8; 32];
    one[0] = 1;
    let forgery = signature(&BASEPOINT, &one);
    for (hex, order) in SMALL_ORDER {
        for message in [&b"grant everything"[..], b"erase the audit log"] {
            let (cofactorless, cofactored) = equations(&hex32(hex), message, &forgery);
            assert!(cofactored, "{hex}");
            assert_eq!(rule(&hex32(hex), message, &forgery), Verdict::Accepted, "{hex}");
            // The cofactorless one holds iff [k]A = 0: always for the identity, sometimes for the others.
            let k = challenge(&BASEPOINT, &hex32(hex), message);
            assert_eq!(cofactorless, mul_point(&k, &hex32(hex)) == IDENTITY, "{hex}");
            assert!(cofactorless || order > 1, "{hex}");
        }
    }
    // The key path and the decode path agree on valid keys too.
    for seed in [1u8, 2, 11, 40] {
        let good = SigningKey::from_seed(&[seed; 32]).public_key();
        assert_eq!(key_class(&good.to_bytes()), None);
        assert_eq!(PublicKey::from_bytes(&good.to_bytes()), Ok(good));
        assert_eq!(<PublicKey as Decode>::from_bytes(&good.to_bytes()), Ok(good));
    }
}

/// In block `height` of `chain`, the only occurrence of `key` (in transaction `tx`, if given) replaced by
/// `bad`: the transaction and the block fail to decode with `kind` at the key's offset, on every path
/// (`verify_blocks`, `Replayer`, `Ledger::open_verified`, `Ledger::open`).
fn assert_substituted_key_does_not_decode(
    chain: &[Vec<u8>],
    height: usize,
    tx: Option<&SignedTx>,
    key: &[u8; 32],
    bad: &[u8; 32],
    kind: &DecodeErrorKind,
    name: &str,
) {
    if let Some(tx) = tx {
        let mut tx_bytes = tx.to_bytes();
        let in_tx = unique_offset(&tx_bytes, key);
        tx_bytes[in_tx..in_tx + 32].copy_from_slice(bad);
        let expected = Err(DecodeError { offset: in_tx, kind: kind.clone() });
        assert_eq!(SignedTx::from_bytes(&tx_bytes).map(|_| ()), expected, "{name}, transaction");
    }
    let at = unique_offset(&chain[height], key);
    let mut tampered = chain.to_vec();
    tampered[height][at..at + 32].copy_from_slice(bad);
    let expected = VerifyFailure {
        height: height as u64,
        tx_index: None,
        reason: BlockError::Malformed(DecodeError { offset: at, kind: kind.clone() }),
    };
    assert_eq!(verify(&tampered).failure.as_ref(), Some(&expected), "{name} in block {height}");
    let replayed = replayer_before(chain, height).apply_block(&tampered[height]);
    assert_eq!(replayed.as_ref(), Err(&expected), "Replayer, {name} in block {height}");
    assert_eq!(open_failure(&tampered, true).as_ref(), Some(&expected), "open_verified, {name}");
    assert_eq!(open_failure(&tampered, false).as_ref(), Some(&expected), "open, {name}");
}

#[test]
fn transactions_and_blocks_carrying_bad_keys_do_not_decode() {
    let net = network();
    let chain = blocks(&net);
    // Block 1, transaction 0 registers the patient; block 0 names the hospital as the founding authority.
    let block = Block::from_bytes(&chain[1]).unwrap();
    assert!(matches!(&block.txs[0].body.payload, Payload::RegisterActor(r) if r.key == net.patient_key.public_key()));
    let patient_key = net.patient_key.public_key().to_bytes();
    let hospital_key = net.hospital.public_key().to_bytes();
    for (bytes, error, name) in bad_keys() {
        let kind = decode_kind(error);
        assert_substituted_key_does_not_decode(&chain, 1, Some(&block.txs[0]), &patient_key, &bytes, &kind, &name);
        assert_substituted_key_does_not_decode(&chain, 0, None, &hospital_key, &bytes, &kind, &name);
    }
}

/// Mixed-order keys A' = A + T (A = [a]B of prime order, T a non-zero torsion point) are neither weak nor
/// non-canonical, but `PublicKey::from_bytes` refuses them as `KeyError::MixedOrder`. The key check must:
/// the cofactored equation cannot see T, so the holder of a signs for every A + T, whatever the nonce (the
/// cofactorless equation would hold only when [k]T = 0): one secret would be eight keys, eight actor ids.
#[test]
fn mixed_order_keys_are_refused_as_mixed_order() {
    let signer = RefSigner::from_seed(&[11; 32]);
    let message = b"mixed order";
    assert_eq!(key_class(&signer.public), None);
    let keys = mixed_order_keys(&signer.public);
    assert_eq!(keys.len(), 7);
    for ((mixed, name), (hex, _)) in keys.iter().zip(&SMALL_ORDER[1..]) {
        let torsion = hex32(hex);
        // Canonical, not of small order, and [L]A' = [L]T ≠ 0: not in the prime-order subgroup.
        assert!(is_canonical_point(mixed), "{name}");
        assert_ne!(mul_point(&U256([8, 0, 0, 0]), mixed), IDENTITY, "{name}");
        assert_eq!(mul_point(&L, mixed), mul_point(&L, &torsion), "{name}");
        assert_ne!(mul_point(&L, mixed), IDENTITY, "{name}");
        assert_eq!(PublicKey::from_bytes(mixed), Err(KeyError::MixedOrder), "{name}");
        let invalid = Err(DecodeError { offset: 0, kind: DecodeErrorKind::Invalid("public key") });
        assert_eq!(<PublicKey as Decode>::from_bytes(mixed), invalid, "{name}");

        let mut cofactorless_count = 0;
        for nonce in 0u32..16 {
            let r = reduce(&sha512(&[b"nonce", &nonce.to_le_bytes()]));
            let big_r = mul_point(&r, &BASEPOINT);
            let sig = signer.sign_as(mixed, &r, &big_r, message);
            let k = challenge(&big_r, mixed, message);
            let (cofactorless, cofactored) = equations(mixed, message, &sig);
            assert!(cofactored, "{name}, nonce {nonce}");
            assert_eq!(rule(mixed, message, &sig), Verdict::Accepted, "{name}, nonce {nonce}");
            assert_eq!(cofactorless, mul_point(&k, &torsion) == IDENTITY, "{name}, nonce {nonce}");
            cofactorless_count += usize::from(cofactorless);
        }
        assert!(cofactorless_count < 16, "{name}: [k]T vanished for every nonce");
    }
}

/// A registration or a key rotation carrying a mixed-order key (the honest new key plus a torsion point)
/// does not decode, as a transaction or in a block, on any path: `DecodeErrorKind::Invalid("public key")`.
#[test]
fn registrations_and_rotations_carrying_a_mixed_order_key_do_not_decode() {
    let net = busy_network();
    let chain = blocks(&net);
    let mut found = Vec::new();
    for (height, bytes) in chain.iter().enumerate() {
        for tx in Block::from_bytes(bytes).unwrap().txs {
            let key = match &tx.body.payload {
                Payload::RegisterActor(registration) => registration.key,
                Payload::RotateKey(rotation) => rotation.new_key,
                _ => continue,
            };
            found.push((height, tx, key.to_bytes()));
        }
    }
    let rotations = found.iter().filter(|(_, tx, _)| matches!(tx.body.payload, Payload::RotateKey(_))).count();
    assert_eq!((found.len(), rotations), (7, 1), "six registrations and the doctor's rotation");
    let kind = DecodeErrorKind::Invalid("public key");
    for (height, tx, key) in &found {
        for (mixed, name) in mixed_order_keys(key) {
            assert_eq!(key_class(&mixed), Some(KeyError::MixedOrder), "{name}");
            let name = format!("{name} in {} at height {height}", tx.body.payload.kind_name());
            assert_substituted_key_does_not_decode(&chain, *height, Some(tx), key, &mixed, &kind, &name);
        }
    }
}

// ---- signatures, on every path ----

#[test]
fn public_key_verify_accepts_exactly_the_rule() {
    let library = SigningKey::from_seed(&[9; 32]);
    let signer = RefSigner::from_seed(&[9; 32]);
    let key = library.public_key();
    for message in [&b""[..], b"patient 7 consents to labs for TREAT"] {
        let valid = library.sign(message);
        assert!(key.verify(message, &valid));
        let cases = edge_signatures(&signer, message);
        assert!(cases.len() > 590, "{}", cases.len());
        let mut accepted = Vec::new();
        for case in &cases {
            let verdict = key.verify(message, &case.sig);
            assert_eq!(verdict, case.accepted(), "{} ({:?}, {:?})", case.name, case.verdict, case.sig);
            if verdict {
                accepted.push(case.name.clone());
            }
        }
        assert_eq!(accepted, expected_accepted_names());
    }
}

/// `verify_batch` and `first_invalid` give `PublicKey::verify`'s answer on every edge signature: alone, among
/// valid signatures at several positions (batches below 8 are checked one by one by `first_invalid`, larger
/// ones bisected), and with several keys and messages in one batch.
#[test]
fn verify_batch_and_first_invalid_agree_with_single_verification_on_every_edge_signature() {
    use healthchain::keys::{SignedMessage, first_invalid, verify_batch};
    assert!(verify_batch(&[]));
    assert_eq!(first_invalid(&[]), None);

    let library = SigningKey::from_seed(&[9; 32]);
    let signer = RefSigner::from_seed(&[9; 32]);
    let key = library.public_key();
    let message = &b"patient 7 consents to labs for TREAT"[..];
    let valid = library.sign(message);
    let cases = edge_signatures(&signer, message);
    // (batch size, position of the edge signature); the others are `valid`.
    const LAYOUTS: [(usize, usize); 8] = [(1, 0), (2, 0), (2, 1), (7, 6), (9, 0), (9, 4), (9, 8), (33, 20)];
    for case in &cases {
        let single = key.verify(message, &case.sig);
        assert_eq!(single, case.accepted(), "{}", case.name);
        for (len, at) in LAYOUTS {
            let sigs: Vec<Signature> = (0..len).map(|i| if i == at { case.sig } else { valid }).collect();
            let items: Vec<SignedMessage<'_>> =
                sigs.iter().map(|signature| SignedMessage { key: &key, message, signature }).collect();
            let what = format!("{}, at {at} of {len}", case.name);
            assert_eq!(verify_batch(&items), single, "verify_batch, {what}");
            assert_eq!(first_invalid(&items), (!single).then_some(at), "first_invalid, {what}");
        }
    }

    // Two signers, two messages: their valid signatures and every accepted edge signature in one batch hold
    // together; one refused edge signature inserted anywhere is found, and of two the first.
    let mut good: Vec<(PublicKey, Vec<u8>, Signature)> = Vec::new();
    for seed in [9u8, 10] {
        let (library, signer) = (SigningKey::from_seed(&[seed; 32]), RefSigner::from_seed(&[seed; 32]));
        for message in [&b"first"[..], b"second message"] {
            good.push((library.public_key(), message.to_vec(), library.sign(message)));
            for case in accepted_edge_signatures(&signer, message) {
                good.push((library.public_key(), message.to_vec(), case.sig));
            }
        }
    }
    assert_eq!(good.len(), 2 * 2 * 8);
    let all_hold = |list: &[(PublicKey, Vec<u8>, Signature)]| -> bool {
        let items: Vec<SignedMessage<'_>> =
            list.iter().map(|(key, message, signature)| SignedMessage { key, message, signature }).collect();
        assert!(items.iter().all(|item| item.key.verify(item.message, item.signature)));
        verify_batch(&items) && first_invalid(&items).is_none()
    };
    assert!(all_hold(&good));
    let refused: Vec<&Case> = cases.iter().filter(|case| !case.accepted()).collect();
    assert!(refused.len() > 570);
    for (n, case) in refused.iter().enumerate() {
        let at = (n * 7) % (good.len() + 1);
        let mut list = good.clone();
        list.insert(at, (key, message.to_vec(), case.sig));
        if n % 5 == 0 {
            // A second refused signature further on does not change the answer.
            let later = at + 1 + n % (list.len() - at);
            list.insert(later, (key, message.to_vec(), refused[(n + 1) % refused.len()].sig));
        }
        let items: Vec<SignedMessage<'_>> =
            list.iter().map(|(key, message, signature)| SignedMessage { key, message, signature }).collect();
        assert!(!verify_batch(&items), "{}", case.name);
        assert_eq!(first_invalid(&items), Some(at), "{}", case.name);
    }
}

#[test]
fn submit_accepts_exactly_the_rule() {
    let mut net = network();
    let grant = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
    let body = net.ledger.prepare(net.patient, Payload::GrantConsent(grant.clone()));
    let signer = RefSigner::from_seed(&[2; 32]);
    let message = body.signing_bytes();
    assert_eq!(signer.sign(&message), body.clone().sign(&net.patient_key).signature);
    let cases = edge_signatures(&signer, &message);
    for case in cases.iter().filter(|case| !case.accepted()) {
        let result = net.ledger.submit(body.clone().attach_signature(case.sig));
        assert!(matches!(result, Err(LedgerError::Tx(TxError::BadSignature))), "{}: {result:?}", case.name);
    }
    assert!(net.ledger.pending().is_empty());

    // Each accepted edge signature, on a fresh transaction (the next sequence number), is queued.
    let names = expected_accepted_names();
    let mut submitted = Vec::new();
    for (i, name) in names.iter().enumerate() {
        // A grant of another section each time: the same grant twice is refused (`AlreadyHasAccess`).
        let section = format!("section-{i}");
        let grant = permit(&net, Grantee::Actor(net.doctor), &[&section], &["TREAT"], None);
        let body = net.ledger.prepare(net.patient, Payload::GrantConsent(grant));
        let message = body.signing_bytes();
        let case = accepted_edge_signatures(&signer, &message).swap_remove(i);
        assert_eq!(&case.name, name);
        let tx = body.attach_signature(case.sig);
        let id = net.ledger.submit(tx.clone()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(id, tx.id());
        assert_eq!(net.ledger.pending().len(), i + 1);
        submitted.push(tx);
    }
    // Sealed, they are stored as sent and replay on every path.
    net.ledger.seal(&[&net.hospital]).unwrap();
    let chain = blocks(&net);
    assert_eq!(Block::from_bytes(chain.last().unwrap()).unwrap().txs, submitted);
    assert_eq!(verify(&chain).failure, None);
    assert_eq!(open_failure(&chain, true), None);
    assert_eq!(open_failure(&chain, false), None);
    assert_eq!(verify_after_open(&chain), None);
    // A valid signature still submits after them.
    let body = net.ledger.prepare(net.patient, Payload::GrantConsent(grant));
    net.ledger.submit(body.sign(&net.patient_key)).unwrap();
}

#[test]
fn stored_transactions_with_edge_signatures_replay_by_the_rule_at_their_height_and_index() {
    const INDEX: usize = 2;
    let net = network();
    let chain = blocks(&net);
    let block = Block::from_bytes(&chain[1]).unwrap();
    let hospital = RefSigner::from_seed(&[1; 32]);
    let message = signing_message(&block.txs[INDEX].id());
    assert_eq!(hospital.sign(&message), block.txs[INDEX].signature);
    let before = replayer_before(&chain, 1);
    let expected =
        VerifyFailure { height: 1, tx_index: Some(INDEX as u32), reason: BlockError::Tx(TxError::BadSignature) };
    let mut accepted = 0;
    for case in edge_signatures(&hospital, &message) {
        let mut tampered = block.clone();
        tampered.txs[INDEX].signature = case.sig;
        if case.accepted() {
            assert_good_signature_everywhere(&chain, &before, &tampered, &net.hospital, 1, &case.name);
            accepted += 1;
        } else {
            assert_bad_signature_everywhere(&chain, &before, &tampered, &net.hospital, &expected, &case.name);
        }
    }
    assert_eq!(accepted, 7);
}

/// Block `expected.height` of `chain` replaced by `tampered` (whose transactions carry a bad signature)
/// fails with `expected` on every verifier path, both as stored bytes changed in place and as re-sealed by a
/// dishonest authority (`sealer`). `before` has replayed the blocks before it.
fn assert_bad_signature_everywhere(
    chain: &[Vec<u8>],
    before: &Replayer,
    tampered: &Block,
    sealer: &SigningKey,
    expected: &VerifyFailure,
    what: &str,
) {
    let height = expected.height as usize;
    let mut bad = chain.to_vec();
    bad[height] = tampered.to_bytes();
    assert_eq!(verify(&bad).failure.as_ref(), Some(expected), "verify_blocks, {what}");
    assert_eq!(before.clone().apply_block(&bad[height]).as_ref(), Err(expected), "Replayer, {what}");
    assert_eq!(open_failure(&bad, true).as_ref(), Some(expected), "open_verified, {what}");
    // The fast open does not check transaction signatures, but the Merkle tree commits to their bytes.
    let tree_root = VerifyFailure { height: height as u64, tx_index: None, reason: BlockError::TreeRootMismatch };
    assert_eq!(open_failure(&bad, false), Some(tree_root), "open, {what}");

    // Re-sealed by the authority: the tree head matches, only the signature check can tell.
    let resealed = reseal_from(chain, height, &[sealer], |txs| *txs = tampered.txs.clone());
    assert_eq!(verify(&resealed).failure.as_ref(), Some(expected), "verify_blocks, re-sealed, {what}");
    let replayed = before.clone().apply_block(&resealed[height]);
    assert_eq!(replayed.as_ref(), Err(expected), "Replayer, re-sealed, {what}");
    assert_eq!(open_failure(&resealed, true).as_ref(), Some(expected), "open_verified, re-sealed, {what}");
    // The fast open trusts transaction signatures (documented on `Ledger::open`); `Ledger::verify` does not.
    assert_eq!(open_failure(&resealed, false), None, "open, re-sealed, {what}");
    assert_eq!(verify_after_open(&resealed).as_ref(), Some(expected), "Ledger::verify, re-sealed, {what}");
}

/// Block `height` of `chain` replaced by `tampered` (whose transactions carry signatures the rule accepts):
/// changed in place, every path reports only the Merkle root the change breaks (the signature passes), and
/// re-sealed by `sealer` the chain is valid on every path. `before` has replayed the blocks before it.
fn assert_good_signature_everywhere(
    chain: &[Vec<u8>],
    before: &Replayer,
    tampered: &Block,
    sealer: &SigningKey,
    height: usize,
    what: &str,
) {
    let mut in_place = chain.to_vec();
    in_place[height] = tampered.to_bytes();
    let tree_root = VerifyFailure { height: height as u64, tx_index: None, reason: BlockError::TreeRootMismatch };
    assert_eq!(verify(&in_place).failure.as_ref(), Some(&tree_root), "verify_blocks, {what}");
    assert_eq!(before.clone().apply_block(&in_place[height]).as_ref(), Err(&tree_root), "Replayer, {what}");
    assert_eq!(open_failure(&in_place, true).as_ref(), Some(&tree_root), "open_verified, {what}");
    assert_eq!(open_failure(&in_place, false).as_ref(), Some(&tree_root), "open, {what}");

    let resealed = reseal_from(chain, height, &[sealer], |txs| *txs = tampered.txs.clone());
    assert_eq!(Block::from_bytes(&resealed[height]).unwrap().txs, tampered.txs, "{what}");
    assert_eq!(verify(&resealed).failure, None, "verify_blocks, re-sealed, {what}");
    assert_eq!(before.clone().apply_block(&resealed[height]), Ok(()), "Replayer, re-sealed, {what}");
    assert_eq!(open_failure(&resealed, true), None, "open_verified, re-sealed, {what}");
    assert_eq!(open_failure(&resealed, false), None, "open, re-sealed, {what}");
    assert_eq!(verify_after_open(&resealed), None, "Ledger::verify, re-sealed, {what}");
}

#[test]
fn seals_with_edge_signatures_are_checked_by_the_rule() {
    let net = network();
    let chain = blocks(&net);
    let hospital = RefSigner::from_seed(&[1; 32]);
    for height in [1usize, 0] {
        let block = Block::from_bytes(&chain[height]).unwrap();
        assert_eq!(block.seals.len(), 1);
        let message = seal_message(&block.header.hash());
        assert_eq!(hospital.sign(&message), block.seals[0].signature);
        let before = replayer_before(&chain, height);
        let bad_seal = VerifyFailure { height: height as u64, tx_index: None, reason: BlockError::BadSeal };
        let mut accepted = 0;
        for case in edge_signatures(&hospital, &message) {
            let mut tampered = block.clone();
            tampered.seals[0].signature = case.sig;
            let mut bad = chain.clone();
            bad[height] = tampered.to_bytes();
            let name = &case.name;
            // A seal is outside what the header hash and the Merkle tree commit to: an accepted edge seal
            // leaves the chain valid, a refused one is a bad seal, on every path.
            let expected = (!case.accepted()).then(|| bad_seal.clone());
            assert_eq!(verify(&bad).failure, expected, "verify_blocks, block {height}, {name}");
            assert_eq!(before.clone().apply_block(&bad[height]).err(), expected, "Replayer, {name}");
            assert_eq!(open_failure(&bad, true), expected, "open_verified, {name}");
            // Seals are checked even by the fast open.
            assert_eq!(open_failure(&bad, false), expected, "open, {name}");
            if case.accepted() {
                assert_eq!(verify_after_open(&bad), None, "Ledger::verify, {name}");
                accepted += 1;
            }
        }
        assert_eq!(accepted, 7, "block {height}");
    }
}

#[test]
fn commit_block_accepts_exactly_the_seals_the_rule_accepts() {
    let mut net = network();
    let authority = id_of(&net.hospital);
    let hospital = RefSigner::from_seed(&[1; 32]);
    let names = expected_accepted_names();
    for (round, name) in names.iter().enumerate() {
        // A fresh block each round, holding one new anchor.
        net.clock.advance(1000);
        let anchor = AnchorRecord {
            patient: net.patient,
            section: code("labs"),
            purpose: code("TREAT"),
            commitment: healthchain::hash::commitment(&[5; 32], &(round as u64).to_le_bytes()),
        };
        net.ledger.anchor_record(&net.hospital, anchor).unwrap();
        let height = net.ledger.block_count();
        assert_eq!(height, 2 + round as u64);
        let proposal = net.ledger.propose_block(authority).unwrap();
        let message = proposal.seal_bytes();
        assert_eq!(hospital.sign(&message), Seal::sign(authority, &net.hospital, &proposal.hash()).signature);
        if round == 0 {
            for case in edge_signatures(&hospital, &message).iter().filter(|case| !case.accepted()) {
                let result = net.ledger.commit_block(&proposal, vec![Seal { authority, signature: case.sig }]);
                assert!(
                    matches!(
                        &result,
                        Err(LedgerError::Corrupt {
                            failure: VerifyFailure { height: 2, tx_index: None, reason: BlockError::BadSeal },
                            offset: None
                        })
                    ),
                    "{}: {result:?}",
                    case.name
                );
            }
            assert_eq!(net.ledger.block_count(), 2);
            assert_eq!(net.ledger.pending().len(), 1);
        }
        let case = accepted_edge_signatures(&hospital, &message).swap_remove(round);
        assert_eq!(&case.name, name);
        let seal = Seal { authority, signature: case.sig };
        net.ledger.commit_block(&proposal, vec![seal]).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(net.ledger.block_count(), height + 1);
        assert!(net.ledger.pending().is_empty());
        let chain = blocks(&net);
        assert_eq!(Block::from_bytes(&chain[height as usize]).unwrap().seals, vec![seal], "{name}");
    }
    let chain = blocks(&net);
    assert_eq!(chain.len(), 2 + names.len());
    assert_eq!(verify(&chain).failure, None);
    assert_eq!(open_failure(&chain, true), None);
    assert_eq!(open_failure(&chain, false), None);
}

#[test]
fn proofs_of_possession_with_edge_signatures_are_checked_by_the_rule_on_submission() {
    let mut net = network();
    let newcomer = key(40);
    let signer = RefSigner::from_seed(&[40; 32]);
    let message = proof_of_possession_message(&net.ledger.chain(), &newcomer.public_key());
    assert_eq!(signer.sign(&message), newcomer.prove_possession(&net.ledger.chain()));
    for case in edge_signatures(&signer, &message).iter().filter(|case| !case.accepted()) {
        let registered = net.ledger.register_actor(&net.hospital, &newcomer.public_key(), case.sig, Role::Provider);
        assert!(
            matches!(registered, Err(LedgerError::Tx(TxError::BadProofOfPossession))),
            "register, {}: {registered:?}",
            case.name
        );
        let rotation = RotateKey { actor: net.patient, new_key: newcomer.public_key(), proof: case.sig };
        let rotated = net.ledger.sign_and_submit(&net.patient_key, Payload::RotateKey(rotation));
        assert!(
            matches!(rotated, Err(LedgerError::Tx(TxError::BadProofOfPossession))),
            "rotate, {}: {rotated:?}",
            case.name
        );
    }
    assert!(net.ledger.pending().is_empty());

    // Each accepted edge proof registers a fresh key, and rotates the patient to another fresh key (signed
    // by the patient's key of the moment, which shows the rotation took effect).
    let names = expected_accepted_names();
    let mut patient_key = key(2);
    assert_eq!(patient_key.public_key(), net.patient_key.public_key());
    for (i, name) in names.iter().enumerate() {
        let seed = 40 + i as u8;
        let (newcomer, signer) = (key(seed), RefSigner::from_seed(&[seed; 32]));
        let message = proof_of_possession_message(&net.ledger.chain(), &newcomer.public_key());
        let case = accepted_edge_signatures(&signer, &message).swap_remove(i);
        assert_eq!(&case.name, name);
        let id = net
            .ledger
            .register_actor(&net.hospital, &newcomer.public_key(), case.sig, Role::Provider)
            .unwrap_or_else(|e| panic!("register, {name}: {e:?}"));
        assert_eq!(id, ActorId::from_key(&newcomer.public_key()));
        assert_eq!(net.ledger.actor_of_key(&newcomer.public_key()), Some(id), "{name}");

        let seed = 70 + i as u8;
        let (rotated_to, signer) = (key(seed), RefSigner::from_seed(&[seed; 32]));
        let message = proof_of_possession_message(&net.ledger.chain(), &rotated_to.public_key());
        let case = accepted_edge_signatures(&signer, &message).swap_remove(i);
        let rotation = RotateKey { actor: net.patient, new_key: rotated_to.public_key(), proof: case.sig };
        net.ledger
            .sign_and_submit(&patient_key, Payload::RotateKey(rotation))
            .unwrap_or_else(|e| panic!("rotate, {name}: {e:?}"));
        assert_eq!(net.ledger.actor_of_key(&rotated_to.public_key()), Some(net.patient), "{name}");
        patient_key = rotated_to;
    }
    assert_eq!(net.ledger.pending().len(), 2 * names.len());
    net.ledger.seal(&[&net.hospital]).unwrap();
    let chain = blocks(&net);
    assert_eq!(verify(&chain).failure, None);
    assert_eq!(open_failure(&chain, true), None);
    assert_eq!(open_failure(&chain, false), None);
    assert_eq!(verify_after_open(&chain), None);
}

/// A dishonest sealing authority re-signs a registration (or the genesis transaction) carrying an edge proof
/// of possession and re-seals: replay refuses the proofs the rule refuses, at their height and index, and
/// accepts the others.
#[test]
fn proofs_of_possession_with_edge_signatures_replay_by_the_rule_at_their_height_and_index() {
    let net = network();
    let chain = blocks(&net);
    let chain_id = net.ledger.chain();

    // Block 1, transaction 2 registers the nurse (seed 4).
    const INDEX: usize = 2;
    let block = Block::from_bytes(&chain[1]).unwrap();
    let nurse = RefSigner::from_seed(&[4; 32]);
    let message = proof_of_possession_message(&chain_id, &net.nurse_key.public_key());
    let Payload::RegisterActor(registration) = &block.txs[INDEX].body.payload else { panic!("not a registration") };
    assert_eq!(registration.key, net.nurse_key.public_key());
    assert_eq!(nurse.sign(&message), registration.proof);
    let bad_proof = VerifyFailure {
        height: 1,
        tx_index: Some(INDEX as u32),
        reason: BlockError::Tx(TxError::BadProofOfPossession),
    };
    let mut accepted = 0;
    for case in edge_signatures(&nurse, &message) {
        let bad = reseal_from(&chain, 1, &[&net.hospital], |txs| {
            let mut body = txs[INDEX].body.clone();
            body.payload = Payload::RegisterActor(RegisterActor { proof: case.sig, ..registration.clone() });
            txs[INDEX] = body.sign(&net.hospital);
        });
        let name = &case.name;
        let expected = (!case.accepted()).then(|| bad_proof.clone());
        assert_eq!(verify(&bad).failure, expected, "verify_blocks, {name}");
        assert_eq!(replayer_before(&bad, 1).apply_block(&bad[1]).err(), expected, "Replayer, {name}");
        assert_eq!(open_failure(&bad, true), expected, "open_verified, {name}");
        // Proofs of possession are signatures inside a transaction: the fast open trusts them as it trusts
        // the transaction's own signature (forging either needs a sealing authority's key, and a re-seal).
        assert_eq!(open_failure(&bad, false), None, "open, {name}");
        assert_eq!(verify_after_open(&bad), expected, "Ledger::verify, {name}");
        accepted += usize::from(case.accepted());
    }
    assert_eq!(accepted, 7);

    // The genesis transaction's proof for the founding authority (seed 1).
    let genesis = Block::from_bytes(&chain[0]).unwrap();
    let hospital = RefSigner::from_seed(&[1; 32]);
    let message = proof_of_possession_message(&chain_id, &net.hospital.public_key());
    let Payload::Genesis(params) = &genesis.txs[0].body.payload else { panic!("not genesis") };
    assert_eq!(hospital.sign(&message), params.proofs[0]);
    let bad_proof =
        VerifyFailure { height: 0, tx_index: Some(0), reason: BlockError::Tx(TxError::BadProofOfPossession) };
    let mut accepted = 0;
    for case in edge_signatures(&hospital, &message) {
        let mut body = genesis.txs[0].body.clone();
        let mut tampered = params.clone();
        tampered.proofs[0] = case.sig;
        body.payload = Payload::Genesis(tampered);
        let bad = reseal_from(&chain, 0, &[&net.hospital], |txs| *txs = vec![body.sign(&net.hospital)]);
        let name = &case.name;
        let expected = (!case.accepted()).then(|| bad_proof.clone());
        assert_eq!(verify(&bad).failure, expected, "verify_blocks, genesis, {name}");
        assert_eq!(Replayer::new().apply_block(&bad[0]).err(), expected, "Replayer, genesis, {name}");
        assert_eq!(open_failure(&bad, true), expected, "open_verified, genesis, {name}");
        assert_eq!(open_failure(&bad, false), None, "open, genesis, {name}");
        accepted += usize::from(case.accepted());
    }
    assert_eq!(accepted, 7);
}

// ---- the parallel signature check ----

/// Signatures are checked in batches, a failed batch bisected to its first bad signature
/// (`keys::first_invalid`), and full verification checks them on a pool of workers behind the rules
/// (`replay::pipeline`). Blocks of 63, 64 and 100 transactions, tampered in one or more places across
/// bisection boundaries, give the same failure (the first bad transaction) through `verify_blocks`,
/// `Replayer`, `Ledger::open_verified` and `Ledger::verify`.
#[test]
fn the_parallel_check_reports_the_first_bad_transaction_like_every_other_path() {
    let mut net = network();
    let sizes = [63usize, 64, 100];
    seal_anchors(&mut net, &sizes);
    let chain = blocks(&net);
    let hospital = RefSigner::from_seed(&[1; 32]);
    assert_eq!(verify(&chain).failure, None);
    for (b, n) in sizes.into_iter().enumerate() {
        assert_eq!(Block::from_bytes(&chain[b + 2]).unwrap().txs.len(), n);
    }

    let scenarios: &[(usize, &[usize])] = &[
        (2, &[31]),
        (2, &[62, 0]),
        (3, &[63]),
        (3, &[0]),
        (3, &[32, 31]),
        (4, &[50]),
        (4, &[70, 30]),
        (4, &[99]),
        (4, &[99, 0]),
        (4, &[51, 49, 50]),
        (4, &[10, 20, 60, 90]),
    ];
    for &(height, bad) in scenarios {
        let mut block = Block::from_bytes(&chain[height]).unwrap();
        for &index in bad {
            block.txs[index].signature.0[(index * 7) % 64] ^= 1 << (index % 8);
            // A flip the rule refuses, by this file's arithmetic.
            let message = signing_message(&block.txs[index].id());
            let verdict = rule(&hospital.public, &message, &block.txs[index].signature);
            assert_ne!(verdict, Verdict::Accepted, "block {height}, transaction {index}");
        }
        let first = *bad.iter().min().unwrap();
        let expected = VerifyFailure {
            height: height as u64,
            tx_index: Some(first as u32),
            reason: BlockError::Tx(TxError::BadSignature),
        };
        let before = replayer_before(&chain, height);
        let what = format!("block {height}, bad {bad:?}");
        assert_bad_signature_everywhere(&chain, &before, &block, &net.hospital, &expected, &what);
    }

    // A bad signature and a broken rule in one block (re-sealed by a dishonest authority): whichever comes
    // first is reported, as on the serial path.
    let bad = reseal_from(&chain, 4, &[&net.hospital], |txs| {
        txs[40].signature.0[0] ^= 1;
        let verdict = rule(&hospital.public, &signing_message(&txs[40].id()), &txs[40].signature);
        assert_ne!(verdict, Verdict::Accepted);
        txs[70] = txs[69].clone();
    });
    let expected = VerifyFailure { height: 4, tx_index: Some(40), reason: BlockError::Tx(TxError::BadSignature) };
    assert_eq!(verify(&bad).failure.as_ref(), Some(&expected));
    assert_eq!(open_failure(&bad, true).as_ref(), Some(&expected));

    let bad = reseal_from(&chain, 4, &[&net.hospital], |txs| {
        txs[40] = txs[39].clone();
        txs[70].signature.0[0] ^= 1;
    });
    let failure = verify(&bad).failure.unwrap();
    assert_eq!((failure.height, failure.tx_index), (4, Some(40)), "{failure}");
    assert!(matches!(failure.reason, BlockError::Tx(TxError::BadSequence { .. })), "{failure}");
    assert_eq!(open_failure(&bad, true), Some(failure));
}
