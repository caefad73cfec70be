//! Identifiers: 32-byte hashes with a distinct type for each thing they name.

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::hash::{Domain, Hash256, domain_hash};
use crate::keys::PublicKey;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(pub Hash256);

        impl $name {
            /// The 32 bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                self.0.as_bytes()
            }

            /// Parses the 64-character hexadecimal form.
            pub fn from_hex(text: &str) -> Option<Self> {
                Hash256::from_hex(text).map(Self)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!($label, ":{}"), self.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                self.0.encode(out);
            }
        }

        impl Decode for $name {
            fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Hash256::decode(reader).map(Self)
            }
        }
    };
}

id_type!(
    /// Identifies one ledger; carried in every transaction body and block header.
    ChainId,
    "chain"
);
id_type!(
    /// A pseudonymous actor: SHA-256 over a domain tag and the actor's first public key. Stable across
    /// key rotation.
    ActorId,
    "actor"
);
id_type!(
    /// A transaction: SHA-256 over a domain tag and the canonical transaction body.
    TxId,
    "tx"
);
id_type!(
    /// A block: SHA-256 over a domain tag and the canonical block header.
    BlockHash,
    "block"
);

/// A consent rule is named by the id of the GrantConsent transaction that created it.
pub type ConsentId = TxId;
/// A delegation is named by the id of the GrantDelegation transaction that created it.
pub type DelegationId = TxId;
/// A recorded access is named by the id of its RecordAccess transaction.
pub type AccessId = TxId;

impl ActorId {
    /// The id of the actor whose first key is `key`.
    pub fn from_key(key: &PublicKey) -> Self {
        Self(domain_hash(Domain::ActorId, &[&key.to_bytes()]))
    }
}
