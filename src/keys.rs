//! ed25519 keys and signatures: strict verification, canonical non-weak public keys, secret keys that are
//! zeroized on drop and never printed.

use crate::codec::{Decode, DecodeError, DecodeErrorKind, Encode, Reader};
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
    /// The operating system gave no randomness.
    #[error("no randomness available from the operating system")]
    NoRandomness,
}

/// A validated ed25519 public key: a canonical encoding of a point that is not of small order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key: ed25519_dalek::VerifyingKey,
}

impl PublicKey {
    /// Validates `bytes` as a public key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::NotAPoint)?;
        if key.to_edwards().compress().to_bytes() != *bytes {
            return Err(KeyError::NonCanonical);
        }
        if key.is_weak() {
            return Err(KeyError::Weak);
        }
        Ok(Self { key })
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Strict verification (RFC 8032 with canonical `R` and `s`, no small-order `R` or key).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.key.verify_strict(message, &signature).is_ok()
    }
}

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

    /// The public key. Keys derived by RFC 8032 are never weak or non-canonical.
    pub fn public_key(&self) -> PublicKey {
        PublicKey { key: self.key.verifying_key() }
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
mod tests {
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
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
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
}
