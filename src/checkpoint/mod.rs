//! Checkpoints (C2SP `tlog-checkpoint`): a signed note whose text states a log's origin, tree size and
//! root hash — here the ledger's transaction tree, with an origin derived from the chain id, signed by
//! the ledger's authorities with Ed25519 note signatures and cosigned by witnesses (C2SP
//! `tlog-cosignature`, [`note`]). A checkpoint is accepted by a [`CheckpointPolicy`]: signed by at least
//! k of the ledger's authorities and cosigned by at least m of the given witnesses.
//!
//! ```
//! use healthchain::checkpoint::{Checkpoint, CheckpointPolicy, NoteVerifier};
//! use healthchain::{ChainId, SigningKey};
//! use healthchain::hash::Hash256;
//!
//! let authority = SigningKey::generate()?;
//! let chain = ChainId(Hash256([7; 32]));
//! let checkpoint = Checkpoint::for_chain(&chain, 42, Hash256([9; 32]));
//! let note = checkpoint.sign(&[&authority])?; // the note's text, ready to publish
//!
//! // A witness (another hospital, an auditor) cosigns it at a time (seconds since the Unix epoch).
//! let witness = SigningKey::generate()?;
//! let note = Checkpoint::cosign(note.as_bytes(), "auditor.example/w1", &witness, 1_795_424_400)?;
//!
//! let policy = CheckpointPolicy {
//!     authorities: vec![NoteVerifier::new(&checkpoint.origin, authority.public_key())?],
//!     authority_threshold: 1,
//!     witnesses: vec![NoteVerifier::cosigner("auditor.example/w1", witness.public_key())?],
//!     witness_threshold: 1,
//! };
//! let checked = Checkpoint::verify(note.as_bytes(), &policy)?;
//! assert_eq!((checked.checkpoint.size, checked.authorities), (42, 1));
//! assert_eq!(checked.cosignatures, vec![("auditor.example/w1".to_owned(), 1_795_424_400)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod durable;
pub mod note;
mod witness;

pub use note::{NoteSignature, NoteVerifier, SignatureKind, SignedNote};
pub use witness::{ForkEvidence, STATE_MAGIC, Witness, WitnessError};

use crate::hash::Hash256;
use crate::ids::ChainId;
use crate::keys::SigningKey;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The prefix of the origin of every healthchain ledger: `healthchain/<chain id in hex>`.
pub const ORIGIN_PREFIX: &str = "healthchain/";

/// Why a note or checkpoint is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The note breaks the signed-note format.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// The note's text is not a checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A verifier key is not `name+hex(key id)+base64(0x01 ‖ Ed25519 key)` with a matching id.
    #[error("malformed or inconsistent verifier key")]
    BadVerifierKey,
    /// A signature by a known key does not verify: the whole note is refused.
    #[error("a signature by a known key does not verify")]
    BadSignature,
    /// No signature by a known key is on the note.
    #[error("no signature by a known key")]
    NoKnownSignature,
    /// Fewer of the ledger's authorities signed than the policy requires.
    #[error("signed by {have} of the ledger's authorities, {need} required")]
    TooFewSignatures {
        /// Authorities whose signatures verified.
        have: usize,
        /// Required.
        need: usize,
    },
    /// Fewer of the trusted witnesses cosigned than the policy requires.
    #[error("cosigned by {have} trusted witnesses, {need} required")]
    TooFewCosignatures {
        /// Witnesses whose cosignatures verified.
        have: usize,
        /// Required.
        need: usize,
    },
}

/// Whom a checkpoint must be signed by: at least `authority_threshold` (and at least one) distinct
/// `authorities` (plain signatures under the origin), and at least `witness_threshold` distinct
/// `witnesses` (cosignatures).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// The ledger's authorities, as log keys ([`NoteVerifier::new`] under the origin).
    pub authorities: Vec<NoteVerifier>,
    /// How many of them must have signed (at least one is always required).
    pub authority_threshold: usize,
    /// Trusted witnesses ([`NoteVerifier::cosigner`]).
    pub witnesses: Vec<NoteVerifier>,
    /// How many of them must have cosigned.
    pub witness_threshold: usize,
}

/// A checkpoint that a policy accepted, with who vouched for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// How many distinct authorities signed it.
    pub authorities: usize,
    /// The trusted witnesses that cosigned it, with the time of each cosignature (seconds).
    pub cosignatures: Vec<(String, u64)>,
}

/// A checkpoint's statement: which log, how many leaves, which root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity (first line).
    pub origin: String,
    /// The number of leaves (second line).
    pub size: u64,
    /// The Merkle tree root at that size (third line, base64).
    pub root: Hash256,
    /// Extension lines, opaque and non-empty (the ledger writes none).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The checkpoint of a ledger's tree: origin `healthchain/<chain id>`, no extensions.
    pub fn for_chain(chain: &ChainId, size: u64, root: Hash256) -> Self {
        Self { origin: origin_of(chain), size, root, extensions: Vec::new() }
    }

    /// The note text: origin, size, base64 root, extension lines, each ending in a newline.
    pub fn text(&self) -> String {
        let mut text = format!("{}\n{}\n{}\n", self.origin, self.size, BASE64.encode(self.root.0));
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses a note text strictly: a non-empty origin, a decimal size without leading zeros, a base64
    /// 32-byte root, then non-empty extension lines.
    pub fn parse_text(text: &str) -> Result<Self, CheckpointError> {
        let bad = CheckpointError::MalformedCheckpoint;
        let body = text.strip_suffix('\n').ok_or(bad("the text does not end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or(bad("an empty origin"))?;
        let size = lines.next().ok_or(bad("no tree size"))?;
        let canonical = size == "0" || (!size.starts_with('0') && !size.is_empty());
        let size: u64 = size
            .parse()
            .ok()
            .filter(|_| canonical && size.bytes().all(|b| b.is_ascii_digit()))
            .ok_or(bad("a tree size that is not a canonical decimal"))?;
        let root = lines.next().ok_or(bad("no root hash"))?;
        let root = BASE64
            .decode(root)
            .ok()
            .and_then(|r| <[u8; 32]>::try_from(r).ok())
            .ok_or(bad("a root hash that is not 32 bytes of base64"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("an empty extension line"));
        }
        Ok(Self { origin: origin.to_owned(), size, root: Hash256(root), extensions })
    }

    /// The checkpoint signed by `signers` (each under the origin as its key name): the note as text.
    pub fn sign(&self, signers: &[&SigningKey]) -> Result<String, CheckpointError> {
        let mut note = SignedNote { text: self.text(), signatures: Vec::new() };
        for key in signers {
            note.sign(&self.origin, key)?;
        }
        Ok(note.to_text())
    }

    /// Parses and verifies a signed checkpoint against `policy`. Signatures of keys the policy does not
    /// name are ignored; a signature by a key it names that does not verify refuses the checkpoint.
    pub fn verify(note: &[u8], policy: &CheckpointPolicy) -> Result<VerifiedCheckpoint, CheckpointError> {
        let note = SignedNote::parse(note)?;
        let checkpoint = Self::parse_text(&note.text)?;
        let known: Vec<NoteVerifier> = policy.authorities.iter().chain(&policy.witnesses).cloned().collect();
        let verified = note.verified_by(&known)?;
        let is_authority = |v: &NoteVerifier| v.kind == SignatureKind::Ed25519 && policy.authorities.contains(v);
        let authorities = verified.iter().filter(|(v, _)| is_authority(v)).count();
        let need = policy.authority_threshold.max(1);
        if authorities < need {
            return Err(CheckpointError::TooFewSignatures { have: authorities, need });
        }
        let cosignatures: Vec<(String, u64)> = verified
            .iter()
            .filter(|(v, _)| v.kind == SignatureKind::Cosignature && policy.witnesses.contains(v))
            .filter_map(|(v, time)| time.map(|t| (v.name.clone(), t)))
            .collect();
        if cosignatures.len() < policy.witness_threshold {
            return Err(CheckpointError::TooFewCosignatures {
                have: cosignatures.len(),
                need: policy.witness_threshold,
            });
        }
        Ok(VerifiedCheckpoint { checkpoint, authorities, cosignatures })
    }

    /// Adds a witness's cosignature (named `name`, at `timestamp` seconds) to a signed checkpoint note,
    /// after checking that the note is a well-formed checkpoint: the note as text. A witness checks the
    /// log's signatures and the consistency with what it saw before calling this.
    pub fn cosign(note: &[u8], name: &str, key: &SigningKey, timestamp: u64) -> Result<String, CheckpointError> {
        let mut note = SignedNote::parse(note)?;
        Self::parse_text(&note.text)?;
        note.cosign(name, key, timestamp)?;
        Ok(note.to_text())
    }
}

/// The origin of the ledger with chain id `chain`.
pub fn origin_of(chain: &ChainId) -> String {
    format!("{ORIGIN_PREFIX}{chain}")
}
