//! SHA-256 digests and the domain tags that separate every kind of hash and signature input.

use sha2::{Digest as _, Sha256};

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash256(pub [u8; 32]);

impl Hash256 {
    /// The digest's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hexadecimal form (64 characters).
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    /// Parses the 64-character hexadecimal form (either case).
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let high = hex_value(pair.first().copied()?)?;
            let low = hex_value(pair.get(1).copied()?)?;
            *slot = (high << 4) | low;
        }
        Some(Self(out))
    }
}

impl serde::Serialize for Hash256 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl std::fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl std::fmt::Display for Hash256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hexadecimal encoding of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// Domain tags: every hash or signature input starts with exactly one of these (see docs/FORMAT.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// Actor id from an actor's first public key.
    ActorId,
    /// Chain id from the genesis parameters.
    ChainId,
    /// Transaction id from the canonical transaction body.
    TxId,
    /// The message an author signs: a transaction id.
    TxSignature,
    /// Block hash from the canonical block header.
    BlockHash,
    /// The message an authority signs to seal a block: a block hash.
    Seal,
    /// The message a new key signs to prove possession: chain id and public key.
    ProofOfPossession,
    /// A salted commitment to off-ledger data (a justification text, a record version).
    Commitment,
}

impl Domain {
    /// The ASCII tag of this domain.
    pub fn tag(self) -> &'static [u8] {
        match self {
            Domain::ActorId => b"healthchain/v1/actor-id",
            Domain::ChainId => b"healthchain/v1/chain-id",
            Domain::TxId => b"healthchain/v1/tx-id",
            Domain::TxSignature => b"healthchain/v1/tx-signature",
            Domain::BlockHash => b"healthchain/v1/block-hash",
            Domain::Seal => b"healthchain/v1/seal",
            Domain::ProofOfPossession => b"healthchain/v1/proof-of-possession",
            Domain::Commitment => b"healthchain/v1/commitment",
        }
    }

    /// The tag as it prefixes a hash or signature input: one length byte, then the tag.
    pub fn prefix(self) -> Vec<u8> {
        let tag = self.tag();
        let mut out = Vec::with_capacity(tag.len() + 1);
        // Tags are compile-time constants shorter than 256 bytes.
        out.push(u8::try_from(tag.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(tag);
        out
    }

    /// `prefix ‖ parts…`: the exact bytes that are hashed or signed in this domain.
    pub fn message(self, parts: &[&[u8]]) -> Vec<u8> {
        let mut out = self.prefix();
        for part in parts {
            out.extend_from_slice(part);
        }
        out
    }
}

/// SHA-256 of `domain prefix ‖ parts…`.
pub fn domain_hash(domain: Domain, parts: &[&[u8]]) -> Hash256 {
    let mut hasher = Sha256::new();
    hasher.update(domain.prefix());
    for part in parts {
        hasher.update(part);
    }
    Hash256(hasher.finalize().into())
}

/// A salted commitment to off-ledger `data`: SHA-256 over the commitment tag, the 32-byte salt and the
/// data. Keep the salt off the ledger with the data; destroying both (erasure) leaves nothing to guess from.
pub fn commitment(salt: &[u8; 32], data: &[u8]) -> Hash256 {
    domain_hash(Domain::Commitment, &[salt, data])
}

/// Plain SHA-256 of the concatenation of `parts` (used by the Merkle tree, whose leaves and nodes carry
/// their own 0x00/0x01 prefixes as RFC 9162 specifies).
pub fn sha256(parts: &[&[u8]]) -> Hash256 {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    Hash256(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_DOMAINS: [Domain; 8] = [
        Domain::ActorId,
        Domain::ChainId,
        Domain::TxId,
        Domain::TxSignature,
        Domain::BlockHash,
        Domain::Seal,
        Domain::ProofOfPossession,
        Domain::Commitment,
    ];

    #[test]
    fn hex_round_trips_and_rejects_bad_text() {
        let h = sha256(&[b"abc"]);
        assert_eq!(h.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(Hash256::from_hex(&h.to_hex()), Some(h));
        assert_eq!(Hash256::from_hex(&h.to_hex().to_uppercase()), Some(h));
        assert_eq!(Hash256::from_hex("zz"), None);
        assert_eq!(Hash256::from_hex(&"g".repeat(64)), None);
        // A sign is not a digit (the C directory's own parser once took "+f" as a byte).
        assert_eq!(Hash256::from_hex(&format!("+f{}", "0".repeat(62))), None);
    }

    #[test]
    fn format_md_lists_every_domain_tag_with_its_length_byte() {
        let spec = include_str!("../docs/FORMAT.md");
        for domain in ALL_DOMAINS {
            let tag = std::str::from_utf8(domain.tag()).unwrap();
            let row = format!("`{:#04x}` `{tag}`", domain.tag().len());
            assert!(spec.contains(&row), "docs/FORMAT.md lacks {row}");
        }
    }

    #[test]
    fn signed_messages_never_look_like_a_note() {
        // A checkpoint's note text starts with `h`; a domain-tagged message with its tag's length byte,
        // which stays below 0x40, so the two kinds of signed bytes never meet (docs/FORMAT.md, Checkpoints).
        for domain in ALL_DOMAINS {
            assert!(domain.prefix()[0] < 0x40, "{domain:?}'s length byte could begin a note text");
        }
        assert!(crate::checkpoint::ORIGIN_PREFIX.as_bytes()[0] >= 0x40);
    }

    #[test]
    fn domains_separate_equal_inputs() {
        let mut seen = std::collections::HashSet::new();
        for domain in ALL_DOMAINS {
            assert!(seen.insert(domain_hash(domain, &[b"same"])), "{domain:?} collides");
        }
    }
}
