//! Receipts: a self-contained bundle that proves one transaction is in a ledger — the transaction's
//! bytes, its inclusion proof, and a checkpoint of the ledger with its signatures and cosignatures. Anyone
//! holding the authorities' and witnesses' public keys checks it offline, with nothing of the ledger.
//!
//! The text format (version 1, docs/FORMAT.md, "Receipts"):
//!
//! ```text
//! healthchain-receipt v1
//! index <leaf index, decimal>
//! transaction <canonical signed transaction, base64>
//! path <32-byte hash, base64>          (one line per proof element, leaf first)
//!
//! <the checkpoint: a C2SP signed note>
//! ```
//!
//! The proof is for the tree of the checkpoint's size. Parsing is strict: every line as above, canonical
//! numbers and base64, no other line, bounded lengths.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::block::MAX_TX_LEN;
use crate::checkpoint::{Checkpoint, CheckpointError, CheckpointPolicy, SignedNote, VerifiedCheckpoint, origin_of};
use crate::codec::{Decode, Encode};
use crate::hash::Hash256;
use crate::merkle::leaf_hash;
use crate::proof::{InclusionProof, ProofError};
use crate::tx::SignedTx;

/// The first line of a version-1 receipt.
pub const RECEIPT_HEADER: &str = "healthchain-receipt v1";

/// The largest receipt accepted, in bytes: a largest transaction in base64, a longest proof, and a
/// checkpoint with room for many cosignatures.
pub const MAX_RECEIPT_LEN: usize = 256 * 1024;

/// The most proof elements an inclusion proof can have (a tree of at most 2^64 leaves).
const MAX_PATH: usize = 64;

/// Why a receipt is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The receipt breaks the format.
    #[error("malformed receipt: {0}")]
    Malformed(&'static str),
    /// The checkpoint is malformed or not signed as the policy requires.
    #[error("receipt checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The transaction belongs to another ledger than the checkpoint.
    #[error("the transaction is of another ledger than the checkpoint")]
    WrongLedger,
    /// The inclusion proof does not lead from the transaction to the checkpoint's root.
    #[error("receipt proof: {0}")]
    Proof(#[from] ProofError),
}

/// A transaction, its inclusion proof, and the checkpoint the proof leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The signed transaction's canonical bytes (the leaf).
    pub transaction: Vec<u8>,
    /// Its inclusion proof in the tree of the checkpoint's size.
    pub proof: InclusionProof,
    /// The checkpoint: a signed note, as text.
    pub checkpoint: String,
}

/// A receipt that verified: the transaction, where it is, and who vouched for the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The transaction.
    pub transaction: SignedTx,
    /// Its leaf index.
    pub index: u64,
    /// The checkpoint and its signers.
    pub checkpoint: VerifiedCheckpoint,
}

impl Receipt {
    /// The receipt as text (version 1).
    pub fn to_text(&self) -> String {
        let mut text =
            format!("{RECEIPT_HEADER}\nindex {}\ntransaction {}\n", self.proof.index, BASE64.encode(&self.transaction));
        for hash in &self.proof.path {
            text.push_str("path ");
            text.push_str(&BASE64.encode(hash.0));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.checkpoint);
        text
    }

    /// Parses a version-1 receipt strictly (its checkpoint's signatures are checked by
    /// [`Receipt::verify`]).
    pub fn parse(bytes: &[u8]) -> Result<Self, ReceiptError> {
        let bad = ReceiptError::Malformed;
        if bytes.len() > MAX_RECEIPT_LEN {
            return Err(bad("longer than the largest receipt"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        let (head, note) = text.split_once("\n\n").ok_or(bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(RECEIPT_HEADER) {
            return Err(bad("not a version-1 receipt"));
        }
        let index = lines.next().and_then(|l| l.strip_prefix("index ")).ok_or(bad("no index line"))?;
        let index = parse_decimal(index).ok_or(bad("index is not a canonical decimal"))?;
        let transaction =
            lines.next().and_then(|l| l.strip_prefix("transaction ")).ok_or(bad("no transaction line"))?;
        if transaction.len() > MAX_TX_LEN.div_ceil(3) * 4 {
            return Err(bad("transaction longer than the largest transaction"));
        }
        let transaction = canonical_base64(transaction).ok_or(bad("transaction is not canonical base64"))?;
        let mut path = Vec::new();
        for line in lines {
            if path.len() == MAX_PATH {
                return Err(bad("more proof elements than any tree has"));
            }
            let hash = line.strip_prefix("path ").ok_or(bad("a line that is not a proof element"))?;
            let hash = canonical_base64(hash).and_then(|h| <[u8; 32]>::try_from(h).ok());
            path.push(Hash256(hash.ok_or(bad("a proof element is not 32 bytes of canonical base64"))?));
        }
        let parsed = SignedNote::parse(note.as_bytes())?;
        let checkpoint = Checkpoint::parse_text(&parsed.text)?;
        let proof = InclusionProof { index, tree_size: checkpoint.size, path };
        Ok(Self { transaction, proof, checkpoint: note.to_owned() })
    }

    /// Verifies the receipt offline: the checkpoint is signed and cosigned as `policy` requires, the
    /// transaction is one of that ledger's, and the proof leads from it to the checkpoint's root.
    pub fn verify(&self, policy: &CheckpointPolicy) -> Result<VerifiedReceipt, ReceiptError> {
        let checkpoint = Checkpoint::verify(self.checkpoint.as_bytes(), policy)?;
        let transaction = SignedTx::from_bytes(&self.transaction)
            .map_err(|_| ReceiptError::Malformed("transaction does not decode"))?;
        if transaction.to_bytes() != self.transaction {
            return Err(ReceiptError::Malformed("transaction is not canonically encoded"));
        }
        if origin_of(&transaction.body.chain) != checkpoint.checkpoint.origin {
            return Err(ReceiptError::WrongLedger);
        }
        if self.proof.tree_size != checkpoint.checkpoint.size {
            return Err(ReceiptError::Malformed("proof is not for the checkpoint's size"));
        }
        self.proof.verify(&leaf_hash(&self.transaction), &checkpoint.checkpoint.root)?;
        Ok(VerifiedReceipt { transaction, index: self.proof.index, checkpoint })
    }
}

/// A decimal without sign or leading zeros that fits in 64 bits.
fn parse_decimal(text: &str) -> Option<u64> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// Standard padded base64 that re-encodes to exactly `text`.
fn canonical_base64(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text).ok().filter(|bytes| BASE64.encode(bytes) == text)
}

#[cfg(test)]
mod tests;
