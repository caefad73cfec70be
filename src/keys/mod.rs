//! ed25519 keys and signatures: the ledger's one signature rule ([`rule`]) for single and batch
//! verification, public keys checked canonical and of prime order once when decoded, secret keys that are
//! zeroized on drop and never printed.

mod rule;

pub use rule::{SignedMessage, first_invalid, verify_batch};

use crate::codec::{Decode, DecodeError, DecodeErrorKind, Encode, Reader};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use ed25519_dalek::Signer as _;

/// Why a public key was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The bytes are not a point on the curve.
    #[error("public key is not a valid curve point")]
    NotAPoint,
    /// The point has a shorter, non-canonical encoding.
    #[error("public key encoding is not canonical")]
    NonCanonical,
    /// A small-order (weak) key, for which signatures can be forged.
    #[error("public key is weak (small order)")]
    Weak,
    /// A point with a small-order component: not in the prime-order subgroup that honest keys lie in.
    #[error("public key is not of prime order (has a small-order component)")]
    MixedOrder,
    /// The operating system gave no randomness.
    #[error("no randomness available from the operating system")]
    NoRandomness,
}

/// A validated ed25519 public key: the canonical encoding of a point of prime order (not the identity).
#[derive(Clone, Copy)]
pub struct PublicKey {
    bytes: [u8; 32],
    point: EdwardsPoint,
}

impl PublicKey {
    /// Validates `bytes` as a public key: a curve point, encoded canonically, not of small order, without a
    /// small-order component. Checked once here, so verification need not.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let point = CompressedEdwardsY(*bytes).decompress().ok_or(KeyError::NotAPoint)?;
        if !rule::is_canonical_encoding(bytes) {
            return Err(KeyError::NonCanonical);
        }
        if point.is_small_order() {
            return Err(KeyError::Weak);
        }
        if !rule::is_torsion_free(&point) {
            return Err(KeyError::MixedOrder);
        }
        Ok(Self { bytes: *bytes, point })
    }

    /// A key that was validated by [`PublicKey::from_bytes`] before (read back from a state snapshot, whose
    /// checksum and block guard it): only decompressed, not checked again. `None` if not a point.
    pub(crate) fn from_validated_bytes(bytes: &[u8; 32]) -> Option<Self> {
        let point = CompressedEdwardsY(*bytes).decompress()?;
        Some(Self { bytes: *bytes, point })
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The decoded point.
    fn point(&self) -> &EdwardsPoint {
        &self.point
    }

    /// Whether `signature` on `message` holds by the ledger's signature rule (canonical `R`, `s < L`, the
    /// cofactored equation; docs/FORMAT.md): the same rule as [`verify_batch`].
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        rule::verify_one(&SignedMessage { key: self, message, signature })
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for PublicKey {}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.to_bytes().cmp(&other.to_bytes())
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", crate::hash::to_hex(&self.to_bytes()))
    }
}

impl Encode for PublicKey {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }
}

impl Decode for PublicKey {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = reader.position();
        let bytes = reader.array()?;
        PublicKey::from_bytes(&bytes).map_err(|e| {
            reader.error_at(
                at,
                match e {
                    KeyError::NonCanonical => DecodeErrorKind::NonCanonical("public key"),
                    _ => DecodeErrorKind::Invalid("public key"),
                },
            )
        })
    }
}

/// A 64-byte ed25519 signature (checked only when verified).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({})", crate::hash::to_hex(&self.0))
    }
}

impl Encode for Signature {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for Signature {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.array().map(Signature)
    }
}

/// An ed25519 signing key. Zeroized on drop; `Debug` shows only the public key.
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|_| KeyError::NoRandomness)?;
        Ok(Self::from_seed(&seed))
    }

    /// The key derived from a 32-byte secret seed (RFC 8032 private key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self { key: ed25519_dalek::SigningKey::from_bytes(seed) }
    }

    /// The 32-byte secret seed, for storing the key; wiped from memory when the returned value drops.
    pub fn to_seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.key.to_bytes())
    }

    /// The public key. Keys derived by RFC 8032 (a multiple of the base point) are always valid.
    pub fn public_key(&self) -> PublicKey {
        let key = self.key.verifying_key();
        PublicKey { bytes: key.to_bytes(), point: key.to_edwards() }
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.key.sign(message).to_bytes())
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("public", &self.public_key()).finish_non_exhaustive()
    }
}

/// 32 random bytes from the operating system (a salt for [`crate::hash::commitment`], a chain nonce),
/// wiped from memory when dropped: erasure depends on salts being destroyed.
pub fn random_salt() -> Result<zeroize::Zeroizing<[u8; 32]>, KeyError> {
    let mut salt = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(salt.as_mut_slice()).map_err(|_| KeyError::NoRandomness)?;
    Ok(salt)
}

#[cfg(test)]
mod tests;
