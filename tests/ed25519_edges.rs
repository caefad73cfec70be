//! ed25519 edge cases (docs/FORMAT.md, "Keys and signatures"): every weak, non-canonical or malleated key
//! and signature is refused, with its typed error, by every verifier path of the library.
//!
//! What this file proves:
//! - Public keys: the eight small-order points are `KeyError::Weak`; their other encodings (y ≥ p, sign bit
//!   set on an x = 0 point) and the y ≥ p encoding of every other point are `KeyError::NonCanonical`; bytes
//!   that decode to no point are `KeyError::NotAPoint`. Through `Decode` these are `NonCanonical("public
//!   key")` / `Invalid("public key")`, so a transaction or block carrying one does not even decode.
//! - Mixed-order keys (a prime-order point plus a torsion point) are accepted, and verified with the
//!   cofactorless equation: a signature valid only under the cofactored equation is refused.
//! - Signatures: every single-bit flip, s ≥ L (s + jL, s = L, the top bits set), non-canonical R, every
//!   small-order R (with s making the cofactored equation, and for R = identity even the cofactorless one,
//!   hold) and mixed-order R (valid under the cofactored equation only) are refused by `PublicKey::verify`,
//!   by `Ledger::submit` (`TxError::BadSignature`), by replay of a stored transaction (`verify_blocks`,
//!   `Replayer`, `Ledger::open_verified`, `Ledger::verify`: `BlockError::Tx(TxError::BadSignature)` at its
//!   height and index), as a seal (`BlockError::BadSeal`, also from `Ledger::commit_block`) and as a proof
//!   of possession (`TxError::BadProofOfPossession`, on submission and on replay). The fast `Ledger::open`
//!   checks seals and proofs of possession but, as documented, not transaction signatures: a signature changed
//!   in place is caught there by the Merkle root (`TreeRootMismatch`), one re-sealed by a dishonest authority
//!   only by `Ledger::verify` / `Ledger::open_verified`.
//! - The parallel signature check of blocks of 64 transactions or more reports the same first bad
//!   transaction as every other path.
//!
//! Points are computed with the curve arithmetic of ed25519-dalek, the crate's own dependency
//! (`VerifyingKey::to_edwards` and the point's `+`); scalars mod L and the RFC 8032 signing equation are
//! reimplemented here and checked against the library's signatures. Each edge signature is first shown to
//! be what it claims (for instance, that a cofactored or a non-strict verifier would accept it) and only
//! then shown to be refused.

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

// ---- the catalogue of edge signatures ----

/// What a non-strict verifier makes of an edge signature (checked by `edge_signatures_are_what_they_claim`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lax {
    /// Not computed (single-bit flips: valid under no equation, short of a forgery).
    Unchecked,
    /// Neither equation holds.
    Neither,
    /// Only the cofactored equation holds: a batch or cofactored verifier would accept it.
    CofactoredOnly,
    /// Both equations hold (with R decompressed and s unreduced): a verifier that skips the canonical-s,
    /// canonical-R or small-order-R checks would accept it.
    Both,
}

struct Case {
    name: String,
    sig: Signature,
    lax: Lax,
}

/// Every edge case derived from `signer`'s valid signature on `message`.
fn edge_signatures(signer: &RefSigner, message: &[u8]) -> Vec<Case> {
    let valid = signer.sign(message);
    let r_bytes: [u8; 32] = valid.0[..32].try_into().unwrap();
    let s = U256::from_le(&valid.0[32..]);
    let mut cases = Vec::new();
    let mut push = |name: String, sig: Signature, lax: Lax| {
        assert_ne!(sig, valid, "{name} is the valid signature");
        cases.push(Case { name, sig, lax });
    };

    // Every single-bit flip of the 64 bytes (bits 509..=511 set are also the top bits of s).
    for bit in 0..512 {
        let mut sig = valid;
        sig.0[bit / 8] ^= 1 << (bit % 8);
        push(format!("bit {bit} flipped"), sig, Lax::Unchecked);
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
fn edge_signatures_are_what_they_claim() {
    let signer = RefSigner::from_seed(&[9; 32]);
    let message = b"patient 7 consents to labs for TREAT";
    let valid = signer.sign(message);
    assert_eq!(equations(&signer.public, message, &valid), (true, true));
    let cases = edge_signatures(&signer, message);
    let mut counts = std::collections::BTreeMap::new();
    for case in &cases {
        *counts.entry(format!("{:?}", case.lax)).or_insert(0) += 1;
        if case.lax == Lax::Unchecked {
            continue;
        }
        let found = match equations(&signer.public, message, &case.sig) {
            (true, true) => Lax::Both,
            (false, true) => Lax::CofactoredOnly,
            (false, false) => Lax::Neither,
            (true, false) => panic!("{}: cofactorless without cofactored", case.name),
        };
        assert_eq!(found, case.lax, "{}", case.name);
    }
    // s + jL (at least 14), and R = identity with s = k·a in 4 encodings.
    assert!(counts["Both"] >= 18, "{counts:?}");
    // 7 small-order R, 3 non-canonical encodings of non-identity small-order points, 7 mixed-order R.
    assert_eq!(counts["CofactoredOnly"], 17, "{counts:?}");
    assert_eq!(counts["Unchecked"], 512, "{counts:?}");
}

// ---- public keys ----

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
            if SMALL_Y_ON_CURVE.contains(&y) {
                keys.push((y_plus_p(y, sign), KeyError::NonCanonical, name));
            } else {
                keys.push((y_plus_p(y, sign), KeyError::NotAPoint, name));
                keys.push((small_y(y, sign), KeyError::NotAPoint, format!("y = {y}, sign {}", u8::from(sign))));
            }
        }
    }
    keys
}

fn decode_kind(error: KeyError) -> DecodeErrorKind {
    match error {
        KeyError::NonCanonical => DecodeErrorKind::NonCanonical("public key"),
        _ => DecodeErrorKind::Invalid("public key"),
    }
}

#[test]
fn small_order_non_canonical_and_off_curve_keys_are_refused_with_their_error() {
    let keys = bad_keys();
    assert_eq!(keys.len(), 8 + 6 + 2 * 10 + 4 * 7);
    for (bytes, error, name) in &keys {
        assert_eq!(PublicKey::from_bytes(bytes), Err(*error), "{name}");
        assert_eq!(
            <PublicKey as Decode>::from_bytes(bytes),
            Err(DecodeError { offset: 0, kind: decode_kind(*error) }),
            "{name}"
        );
    }
    // Why weak keys must never become keys: for a small-order A, (R = identity, s = 0) satisfies the
    // cofactored equation on every message, and for A = identity the cofactorless one as well.
    let forgery = signature(&IDENTITY, &[0; 32]);
    for (hex, order) in SMALL_ORDER {
        for message in [&b"grant everything"[..], b"erase the audit log"] {
            let (cofactorless, cofactored) = equations(&hex32(hex), message, &forgery);
            assert!(cofactored, "{hex}");
            if order == 1 {
                assert!(cofactorless);
            }
        }
    }
    // The key path and the decode path agree on valid keys too.
    let good = SigningKey::from_seed(&[1; 32]).public_key();
    assert_eq!(<PublicKey as Decode>::from_bytes(&good.to_bytes()), Ok(good));
}

#[test]
fn transactions_and_blocks_carrying_bad_keys_do_not_decode() {
    let net = network();
    let chain = blocks(&net);
    // Block 1, transaction 0 registers the patient; block 0 names the hospital as the founding authority.
    let block = Block::from_bytes(&chain[1]).unwrap();
    assert!(matches!(&block.txs[0].body.payload, Payload::RegisterActor(r) if r.key == net.patient_key.public_key()));
    let patient_key = net.patient_key.public_key().to_bytes();
    let tx_bytes = block.txs[0].to_bytes();
    let in_tx = unique_offset(&tx_bytes, &patient_key);
    let in_block = unique_offset(&chain[1], &patient_key);
    let in_genesis = unique_offset(&chain[0], &net.hospital.public_key().to_bytes());

    for (bytes, error, name) in bad_keys() {
        let kind = decode_kind(error);
        let mut tx = tx_bytes.clone();
        tx[in_tx..in_tx + 32].copy_from_slice(&bytes);
        assert_eq!(SignedTx::from_bytes(&tx).map(|_| ()), Err(DecodeError { offset: in_tx, kind: kind.clone() }));

        for (height, at) in [(1usize, in_block), (0, in_genesis)] {
            let mut tampered = chain.clone();
            tampered[height][at..at + 32].copy_from_slice(&bytes);
            let expected = VerifyFailure {
                height: height as u64,
                tx_index: None,
                reason: BlockError::Malformed(DecodeError { offset: at, kind: kind.clone() }),
            };
            assert_eq!(verify(&tampered).failure.as_ref(), Some(&expected), "{name} in block {height}");
            assert_eq!(open_failure(&tampered, true).as_ref(), Some(&expected), "{name}");
            assert_eq!(open_failure(&tampered, false).as_ref(), Some(&expected), "{name}");
        }
    }
}

/// Mixed-order keys A' = A + T (A of prime order, T a non-zero torsion point) are neither weak nor
/// non-canonical, so `PublicKey::from_bytes` accepts them: `is_weak` rejects only small-order points, and
/// FORMAT.md excludes no more. Nobody can forge for them: `verify_strict` evaluates the cofactorless
/// equation [s]B = R + [k]A', so even the holder of a (A = [a]B) signs successfully only when [k]T = 0,
/// one time in ord(T), and a signature that is valid only under the cofactored equation is refused. The
/// verdict is a deterministic function of the bytes, the same on every path.
#[test]
fn mixed_order_keys_are_accepted_and_verified_by_the_cofactorless_equation() {
    let signer = RefSigner::from_seed(&[11; 32]);
    let message = b"mixed order";
    for (i, (hex, order)) in SMALL_ORDER.iter().enumerate().skip(1) {
        let torsion = hex32(hex);
        let mixed = add_points(&signer.public, &torsion);
        let key = PublicKey::from_bytes(&mixed).unwrap_or_else(|e| panic!("A + T{i}: {e}"));
        assert_eq!(<PublicKey as Decode>::from_bytes(&mixed), Ok(key));
        assert!(!point!(&mixed).is_small_order() && !point!(&mixed).is_torsion_free());
        // A signature under A does not carry over to A + T.
        assert!(!key.verify(message, &signer.sign(message)));

        let (mut accepted, mut refused) = (0, 0);
        for nonce in 0u32.. {
            assert!(nonce < 1000, "T{i}: {accepted} accepted, {refused} refused");
            let r = reduce(&sha512(&[b"nonce", &nonce.to_le_bytes()]));
            let big_r = mul_point(&r, &BASEPOINT);
            let sig = signer.sign_as(&mixed, &r, &big_r, message);
            let k = challenge(&big_r, &mixed, message);
            let kt_vanishes = mul_point(&k, &torsion) == IDENTITY;
            let (cofactorless, cofactored) = equations(&mixed, message, &sig);
            assert!(cofactored, "T{i}, nonce {nonce}");
            assert_eq!(cofactorless, kt_vanishes, "T{i}, nonce {nonce}");
            assert_eq!(key.verify(message, &sig), cofactorless, "T{i} (order {order}), nonce {nonce}");
            if cofactorless {
                accepted += 1;
            } else {
                refused += 1;
            }
            if accepted >= 2 && refused >= 2 {
                break;
            }
        }
    }
    // Points of unknown discrete log with a torsion component (y = 3, 4, …) are accepted as keys as well.
    for y in SMALL_Y_ON_CURVE.into_iter().filter(|y| *y >= 2) {
        for sign in [false, true] {
            let bytes = small_y(y, sign);
            assert!(!point!(&bytes).is_torsion_free());
            assert!(PublicKey::from_bytes(&bytes).is_ok(), "y = {y}");
        }
    }
}

#[test]
fn a_mixed_order_key_registers_only_with_a_cofactorless_proof_of_possession() {
    let mut net = network();
    let signer = RefSigner::from_seed(&[12; 32]);
    let torsion = hex32(SMALL_ORDER[4].0);
    let key = PublicKey::from_bytes(&add_points(&signer.public, &torsion)).unwrap();
    let message = proof_of_possession_message(&net.ledger.chain(), &key);
    let (mut cofactored_only, mut strict) = (None, None);
    for nonce in 0u32..1000 {
        let r = reduce(&sha512(&[b"pop nonce", &nonce.to_le_bytes()]));
        let sig = signer.sign_as(&key.to_bytes(), &r, &mul_point(&r, &BASEPOINT), &message);
        match equations(&key.to_bytes(), &message, &sig) {
            (true, true) => strict = strict.or(Some(sig)),
            (false, true) => cofactored_only = cofactored_only.or(Some(sig)),
            other => panic!("nonce {nonce}: {other:?}"),
        }
        if strict.is_some() && cofactored_only.is_some() {
            break;
        }
    }
    let result = net.ledger.register_actor(&net.hospital, &key, cofactored_only.unwrap(), Role::Patient);
    assert!(matches!(result, Err(LedgerError::Tx(TxError::BadProofOfPossession))), "{result:?}");
    let id = net.ledger.register_actor(&net.hospital, &key, strict.unwrap(), Role::Patient).unwrap();
    assert_eq!(id, ActorId::from_key(&key));
    net.ledger.seal(&[&net.hospital]).unwrap();
    // Every path agrees on the acceptance as well.
    let chain = blocks(&net);
    assert_eq!(verify(&chain).failure, None);
    assert_eq!(open_failure(&chain, true), None);
}

// ---- signatures, on every path ----

#[test]
fn public_key_verify_refuses_every_edge_signature() {
    let library = SigningKey::from_seed(&[9; 32]);
    let signer = RefSigner::from_seed(&[9; 32]);
    let key = library.public_key();
    for message in [&b""[..], b"patient 7 consents to labs for TREAT"] {
        let valid = library.sign(message);
        assert!(key.verify(message, &valid));
        let cases = edge_signatures(&signer, message);
        assert!(cases.len() > 590, "{}", cases.len());
        for case in cases {
            assert!(!key.verify(message, &case.sig), "accepted: {} ({:?})", case.name, case.sig);
        }
    }
}

#[test]
fn submit_refuses_every_edge_signature_as_bad_signature() {
    let mut net = network();
    let grant = permit(&net, Grantee::Actor(net.doctor), &["labs"], &["TREAT"], None);
    let body = net.ledger.prepare(net.patient, Payload::GrantConsent(grant));
    let signer = RefSigner::from_seed(&[2; 32]);
    let message = body.signing_bytes();
    assert_eq!(signer.sign(&message), body.clone().sign(&net.patient_key).signature);
    for case in edge_signatures(&signer, &message) {
        let result = net.ledger.submit(body.clone().attach_signature(case.sig));
        assert!(matches!(result, Err(LedgerError::Tx(TxError::BadSignature))), "{}: {result:?}", case.name);
    }
    assert!(net.ledger.pending().is_empty());
    net.ledger.submit(body.sign(&net.patient_key)).unwrap();
}

#[test]
fn stored_transactions_with_edge_signatures_fail_at_their_height_and_index() {
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
    for case in edge_signatures(&hospital, &message) {
        let mut tampered = block.clone();
        tampered.txs[INDEX].signature = case.sig;
        assert_bad_signature_everywhere(&chain, &before, &tampered, &net.hospital, &expected, &case.name);
    }
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
    assert_eq!(open_failure(&resealed, true).as_ref(), Some(expected), "open_verified, re-sealed, {what}");
    // The fast open trusts transaction signatures (documented on `Ledger::open`); `Ledger::verify` does not.
    assert_eq!(open_failure(&resealed, false), None, "open, re-sealed, {what}");
    assert_eq!(verify_after_open(&resealed).as_ref(), Some(expected), "Ledger::verify, re-sealed, {what}");
}

#[test]
fn seals_with_edge_signatures_are_bad_seals() {
    let net = network();
    let chain = blocks(&net);
    let hospital = RefSigner::from_seed(&[1; 32]);
    for height in [1usize, 0] {
        let block = Block::from_bytes(&chain[height]).unwrap();
        assert_eq!(block.seals.len(), 1);
        let message = seal_message(&block.header.hash());
        assert_eq!(hospital.sign(&message), block.seals[0].signature);
        let expected = VerifyFailure { height: height as u64, tx_index: None, reason: BlockError::BadSeal };
        for case in edge_signatures(&hospital, &message) {
            let mut tampered = block.clone();
            tampered.seals[0].signature = case.sig;
            let mut bad = chain.clone();
            bad[height] = tampered.to_bytes();
            let name = &case.name;
            assert_eq!(verify(&bad).failure.as_ref(), Some(&expected), "verify_blocks, block {height}, {name}");
            assert_eq!(open_failure(&bad, true).as_ref(), Some(&expected), "open_verified, {name}");
            // Seals are checked even by the fast open.
            assert_eq!(open_failure(&bad, false).as_ref(), Some(&expected), "open, {name}");
        }
    }
}

#[test]
fn commit_block_refuses_every_edge_seal() {
    let mut net = network();
    let anchor = AnchorRecord {
        patient: net.patient,
        section: code("labs"),
        purpose: code("TREAT"),
        commitment: healthchain::hash::commitment(&[5; 32], b"lab result"),
    };
    net.ledger.anchor_record(&net.hospital, anchor).unwrap();
    let authority = id_of(&net.hospital);
    let proposal = net.ledger.propose_block(authority).unwrap();
    let hospital = RefSigner::from_seed(&[1; 32]);
    let message = proposal.seal_bytes();
    assert_eq!(hospital.sign(&message), Seal::sign(authority, &net.hospital, &proposal.hash()).signature);
    for case in edge_signatures(&hospital, &message) {
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
    net.ledger.commit_block(&proposal, vec![Seal::sign(authority, &net.hospital, &proposal.hash())]).unwrap();
    assert_eq!(verify(&blocks(&net)).failure, None);
}

#[test]
fn proofs_of_possession_with_edge_signatures_are_refused_on_submission() {
    let mut net = network();
    let newcomer = key(40);
    let signer = RefSigner::from_seed(&[40; 32]);
    let message = proof_of_possession_message(&net.ledger.chain(), &newcomer.public_key());
    assert_eq!(signer.sign(&message), newcomer.prove_possession(&net.ledger.chain()));
    for case in edge_signatures(&signer, &message) {
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
    net.ledger.register(&net.hospital, &newcomer, Role::Provider).unwrap();
}

/// A dishonest sealing authority re-signs a registration (or the genesis transaction) carrying a bad proof of
/// possession and re-seals: replay still refuses it, at its height and index.
#[test]
fn proofs_of_possession_with_edge_signatures_fail_replay_at_their_height_and_index() {
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
    let expected = VerifyFailure {
        height: 1,
        tx_index: Some(INDEX as u32),
        reason: BlockError::Tx(TxError::BadProofOfPossession),
    };
    for case in edge_signatures(&nurse, &message) {
        let bad = reseal_from(&chain, 1, &[&net.hospital], |txs| {
            let mut body = txs[INDEX].body.clone();
            body.payload = Payload::RegisterActor(RegisterActor { proof: case.sig, ..registration.clone() });
            txs[INDEX] = body.sign(&net.hospital);
        });
        let name = &case.name;
        assert_eq!(verify(&bad).failure.as_ref(), Some(&expected), "verify_blocks, {name}");
        assert_eq!(open_failure(&bad, true).as_ref(), Some(&expected), "open_verified, {name}");
        // Proofs of possession are signatures inside a transaction: the fast open trusts them as it trusts
        // the transaction's own signature (forging either needs a sealing authority's key, and a re-seal).
        assert_eq!(open_failure(&bad, false), None, "open, {name}");
    }

    // The genesis transaction's proof for the founding authority (seed 1).
    let genesis = Block::from_bytes(&chain[0]).unwrap();
    let hospital = RefSigner::from_seed(&[1; 32]);
    let message = proof_of_possession_message(&chain_id, &net.hospital.public_key());
    let Payload::Genesis(params) = &genesis.txs[0].body.payload else { panic!("not genesis") };
    assert_eq!(hospital.sign(&message), params.proofs[0]);
    let expected =
        VerifyFailure { height: 0, tx_index: Some(0), reason: BlockError::Tx(TxError::BadProofOfPossession) };
    for case in edge_signatures(&hospital, &message) {
        let mut body = genesis.txs[0].body.clone();
        let mut tampered = params.clone();
        tampered.proofs[0] = case.sig;
        body.payload = Payload::Genesis(tampered);
        let bad = reseal_from(&chain, 0, &[&net.hospital], |txs| *txs = vec![body.sign(&net.hospital)]);
        let name = &case.name;
        assert_eq!(verify(&bad).failure.as_ref(), Some(&expected), "verify_blocks, genesis, {name}");
        assert_eq!(open_failure(&bad, true).as_ref(), Some(&expected), "open_verified, genesis, {name}");
        assert_eq!(open_failure(&bad, false), None, "open, genesis, {name}");
    }
}

// ---- the parallel signature check ----

/// `first_bad_signature` in src/replay.rs checks blocks of 64 transactions or more in parallel chunks
/// (when the machine has two cores or more). Blocks of 63, 64 and 100 transactions, tampered in one or more
/// places across chunk boundaries, give the same failure (the first bad transaction) through
/// `verify_blocks`, `Replayer`, `Ledger::open_verified` and `Ledger::verify`.
#[test]
fn the_parallel_check_reports_the_first_bad_transaction_like_every_other_path() {
    let mut net = network();
    let sizes = [63usize, 64, 100];
    for (b, n) in sizes.into_iter().enumerate() {
        net.clock.advance(HOUR);
        for i in 0..n {
            let anchor = AnchorRecord {
                patient: net.patient,
                section: code("labs"),
                purpose: code("TREAT"),
                commitment: healthchain::hash::commitment(&[b as u8; 32], &(i as u64).to_le_bytes()),
            };
            net.ledger.anchor_record(&net.hospital, anchor).unwrap();
        }
        net.ledger.seal(&[&net.hospital]).unwrap();
    }
    let chain = blocks(&net);
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
