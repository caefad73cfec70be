//! Checkpoints (C2SP `tlog-checkpoint`): a signed note whose text states a log's origin, tree size and
//! root hash — here the ledger's transaction tree, with an origin derived from the chain id, signed by
//! the ledger's authorities with Ed25519 note signatures ([`note`]).
//!
//! ```
//! use healthchain::checkpoint::{Checkpoint, NoteVerifier};
//! use healthchain::{ChainId, SigningKey};
//! use healthchain::hash::Hash256;
//!
//! let authority = SigningKey::generate()?;
//! let chain = ChainId(Hash256([7; 32]));
//! let checkpoint = Checkpoint::for_chain(&chain, 42, Hash256([9; 32]));
//! let note = checkpoint.sign(&[&authority])?; // the note's text, ready to publish
//!
//! let verifier = NoteVerifier::new(&checkpoint.origin, authority.public_key())?;
//! let (checked, signers) = Checkpoint::verify(note.as_bytes(), &[verifier], 1)?;
//! assert_eq!((checked.size, signers), (42, 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod note;

pub use note::{NoteSignature, NoteVerifier, SignedNote};

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
    /// Fewer known keys signed than the policy requires.
    #[error("signed by {have} known keys, {need} required")]
    TooFewSignatures {
        /// Known keys whose signatures verified.
        have: usize,
        /// Required.
        need: usize,
    },
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

    /// Parses and verifies a signed checkpoint: at least `threshold` distinct keys among `authorities`
    /// signed it (signatures of other keys are ignored; a bad signature by a known key refuses it). The
    /// checkpoint and the number of authorities whose signatures verified.
    pub fn verify(
        note: &[u8],
        authorities: &[NoteVerifier],
        threshold: usize,
    ) -> Result<(Self, usize), CheckpointError> {
        let note = SignedNote::parse(note)?;
        let checkpoint = Self::parse_text(&note.text)?;
        let signers = note.verified_by(authorities)?.len();
        if signers < threshold.max(1) {
            return Err(CheckpointError::TooFewSignatures { have: signers, need: threshold.max(1) });
        }
        Ok((checkpoint, signers))
    }
}

/// The origin of the ledger with chain id `chain`.
pub fn origin_of(chain: &ChainId) -> String {
    format!("{ORIGIN_PREFIX}{chain}")
}
