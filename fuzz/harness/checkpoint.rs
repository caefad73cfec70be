//! Target `checkpoint`: signed notes, checkpoints, Merkle proofs and receipts from untrusted bytes, and
//! checkpoints measured against a ledger. The first byte selects what the rest is:
//!
//! - `3`: a receipt's text (`Receipt::parse`), verified under the policies of a small fixed ledger
//!   (`fixture`), of another chain, and the empty policy;
//! - `4`: one of the fixed ledger's valid receipts (the next byte picks it), then up to [`MAX_MUTATIONS`]
//!   mutations of it (byte flips, insertions and truncations of its text; swapped, removed, duplicated,
//!   replaced or flipped path elements; another index or tree size; flipped transaction bytes; another of
//!   the ledger's checkpoints), verified;
//! - `5`: up to [`MAX_STANDINGS`] checkpoints (the ledger's origin or another, a size near the ledger's or
//!   any, the ledger's root at that size, at another size or any hash) measured against the fixed ledger
//!   (`Ledger::standing`) and against a prefix of its blocks (`trust::verify_blocks_against`);
//! - any other byte, by its value modulo 3 (the target's first format, kept so that every earlier input
//!   means what it meant: none of the inputs kept before receipts were added starts with 3, 4 or 5): a
//!   signed note (parsed, read as a checkpoint, verified against a fixed policy of one authority and one
//!   witness), an inclusion proof or a consistency proof (sizes, hashes and path elements, verified).
//!
//! Properties: no panic; an accepted note prints back to exactly its bytes, and an accepted checkpoint text
//! likewise; a policy accepts a note only if it carries the authority's and the witness's signature lines;
//! an inclusion proof verifies exactly when the root it leads to is the given one; a consistency proof is
//! accepted only for `0 < old ≤ new`, with an empty path exactly when the sizes are equal.
//!
//! Receipts: an accepted receipt text prints back to exactly its bytes and re-parses to the same value; a
//! well-formed receipt value prints to a text that parses back to it; `verify` never panics; a receipt that
//! verifies under a policy of the fixed ledger is exactly, byte for byte, the receipt the ledger itself
//! issues for that transaction and checkpoint (`Ledger::receipt`): right transaction, index, path and a
//! checkpoint the ledger published; a mutated receipt that verifies under the policy that requires every
//! signature its checkpoint carries, its checkpoint not swapped for another, is the original receipt, byte
//! for byte; nothing verifies under a policy of another chain or the empty policy.
//!
//! Standing: `Ledger::standing` never fails; it is `Extends` exactly when the origin is the ledger's, the
//! size at most the ledger's and the root the ledger's root at that size (computed here from the
//! transactions' leaves), `OtherLedger`, `Truncated` and `Forked` (with both roots and the first block that
//! holds that many transactions) exactly in the other cases, never `NotReached`; verifying a prefix of the
//! ledger's blocks against the same checkpoints gives a valid report and the standings of that prefix.

use healthchain::checkpoint::{Checkpoint, CheckpointPolicy, NoteVerifier, SignedNote, origin_of};
use healthchain::hash::Hash256;
use healthchain::merkle::{leaf_hash, root_of};
use healthchain::proof::{ConsistencyProof, InclusionProof};
use healthchain::receipt::Receipt;
use healthchain::trust::{Fork, Standing, verify_blocks_against};
use healthchain::{
    Block, BlockHash, ChainId, Decode, Encode, Ledger, LedgerSettings, ManualClock, MemoryStore, Role, SigningKey,
};
use std::sync::OnceLock;

/// The chain every fuzzed checkpoint claims.
pub fn chain() -> ChainId {
    ChainId(Hash256([0x42; 32]))
}

/// The authority whose signature the policy requires.
pub fn authority() -> SigningKey {
    SigningKey::from_seed(&[1; 32])
}

/// The witness whose cosignature the policy requires.
pub fn witness() -> SigningKey {
    SigningKey::from_seed(&[2; 32])
}

/// The witness's name.
pub const WITNESS: &str = "witness.example/fuzz";

fn policy() -> CheckpointPolicy {
    CheckpointPolicy {
        authorities: vec![NoteVerifier::new(&origin_of(&chain()), authority().public_key()).unwrap()],
        authority_threshold: 1,
        witnesses: vec![NoteVerifier::cosigner(WITNESS, witness().public_key()).unwrap()],
        witness_threshold: 1,
    }
}

/// Reads a u64 and a hash off the front of `data`.
fn take<const N: usize>(data: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = data.split_first_chunk::<N>()?;
    *data = rest;
    Some(*head)
}

fn hashes(data: &[u8]) -> Vec<Hash256> {
    data.chunks_exact(32).take(140).map(|c| Hash256(c.try_into().unwrap())).collect()
}

/// The harness.
pub fn run(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector {
        3 => parsed_receipt(rest),
        4 => mutated_receipt(rest),
        5 => standings(rest),
        _ => note_or_proof(selector % 3, rest),
    }
}

/// The target's first format: a signed note (0), an inclusion proof (1) or a consistency proof (2).
fn note_or_proof(kind: u8, mut rest: &[u8]) {
    match kind {
        0 => {
            let Ok(note) = SignedNote::parse(rest) else { return };
            assert_eq!(note.to_text().as_bytes(), rest, "a note does not print back to its bytes");
            if let Ok(checkpoint) = Checkpoint::parse_text(&note.text) {
                assert_eq!(checkpoint.text(), note.text, "a checkpoint does not print back to its text");
            }
            if Checkpoint::verify(rest, &policy()).is_ok() {
                let policy = policy();
                for required in [&policy.authorities[0], &policy.witnesses[0]] {
                    assert!(
                        note.signatures.iter().any(|s| s.name == required.name && s.key_id == required.key_id),
                        "accepted without {}'s signature",
                        required.name
                    );
                }
            }
        }
        1 => {
            let (Some(index), Some(size), Some(leaf), Some(root)) =
                (take::<8>(&mut rest), take::<8>(&mut rest), take::<32>(&mut rest), take::<32>(&mut rest))
            else {
                return;
            };
            let proof = InclusionProof {
                index: u64::from_le_bytes(index),
                tree_size: u64::from_le_bytes(size),
                path: hashes(rest),
            };
            let (leaf, root) = (Hash256(leaf), Hash256(root));
            let verified = proof.verify(&leaf, &root).is_ok();
            assert_eq!(verified, proof.root_from(&leaf) == Ok(root));
        }
        _ => {
            let (Some(old), Some(new), Some(old_root), Some(new_root)) =
                (take::<8>(&mut rest), take::<8>(&mut rest), take::<32>(&mut rest), take::<32>(&mut rest))
            else {
                return;
            };
            let proof = ConsistencyProof {
                old_size: u64::from_le_bytes(old),
                new_size: u64::from_le_bytes(new),
                path: hashes(rest),
            };
            if proof.verify(&Hash256(old_root), &Hash256(new_root)).is_ok() {
                assert!(0 < proof.old_size && proof.old_size <= proof.new_size);
                assert_eq!(proof.path.is_empty(), proof.old_size == proof.new_size);
            }
        }
    }
}

// ---- receipts and standing, against a small fixed ledger ----

/// Mutations applied to one receipt per input (each at most a few bytes: none can write a signature line).
pub const MAX_MUTATIONS: usize = 8;

/// Checkpoints measured per input.
pub const MAX_STANDINGS: usize = 4;

/// The fixed ledger's genesis instant.
const T0: u64 = 1_795_424_400_000;

/// Registrations in each block after genesis: trees of 1, 4, 5, 9 and 11 transactions.
const REGISTRATIONS: [u8; 4] = [3, 1, 4, 2];

/// The fixed ledger's one authority (seal threshold 1).
pub fn ledger_authority() -> SigningKey {
    SigningKey::from_seed(&[11; 32])
}

/// A checkpoint the fixed ledger published.
pub struct Published {
    /// The signed note.
    pub note: String,
    /// Its tree size.
    pub size: u64,
    /// Whether the witness cosigned it.
    pub cosigned: bool,
}

/// One of the fixed ledger's receipts (`Ledger::receipt`).
pub struct Issued {
    /// The receipt.
    pub receipt: Receipt,
    /// Its text.
    pub text: String,
    /// The checkpoint it carries (in `Fixture::published`).
    pub published: usize,
}

/// A small ledger on a memory store with fixed keys, nonce and clock (the same in every process, so that
/// kept inputs keep their meaning): genesis and four blocks of registrations; after each block a checkpoint
/// signed by its authority, and after the first and third also that checkpoint cosigned by the witness;
/// a receipt for every transaction under every checkpoint that holds it. Also what the harness judges
/// with, computed from the blocks themselves rather than asked of the ledger.
pub struct Fixture {
    /// The ledger.
    pub ledger: Ledger<MemoryStore>,
    /// Its checkpoints' origin.
    pub origin: String,
    /// Its blocks' bytes.
    pub blocks: Vec<Vec<u8>>,
    /// The tree size after each block.
    pub block_ends: Vec<u64>,
    /// Each block's hash.
    pub block_hashes: Vec<BlockHash>,
    /// The leaf hash of every transaction.
    pub leaves: Vec<Hash256>,
    /// The root of the first `k` leaves, for `k` from 0 to the ledger's size.
    pub roots: Vec<Hash256>,
    /// The checkpoints published, in order.
    pub published: Vec<Published>,
    /// The receipts issued.
    pub issued: Vec<Issued>,
    /// The ledger's policies: the witness known but not required; known and required; unknown.
    pub policies: [CheckpointPolicy; 3],
}

/// The fixed ledger, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(Fixture::build)
}

impl Fixture {
    fn build() -> Self {
        let clock = ManualClock::new(T0);
        let authority = ledger_authority();
        let settings = LedgerSettings { nonce: Some([0x5e; 32]), ..LedgerSettings::new("fuzz-receipts") };
        let mut ledger = Ledger::create(MemoryStore::new(), Box::new(clock.clone()), &settings, &[&authority]).unwrap();
        let mut published = Vec::new();
        let mut seed = 100u8;
        for block in 0..=REGISTRATIONS.len() {
            if block > 0 {
                clock.advance(1_000);
                for _ in 0..REGISTRATIONS[block - 1] {
                    ledger.register(&authority, &SigningKey::from_seed(&[seed; 32]), Role::Patient).unwrap();
                    seed += 1;
                }
                ledger.seal(&[&authority]).unwrap();
            }
            let note = ledger.sign_checkpoint(&[&authority]).unwrap();
            let size = ledger.tree().size();
            if block % 2 == 1 {
                let cosigned = Checkpoint::cosign(note.as_bytes(), WITNESS, &witness(), 1_800_000_000 + size).unwrap();
                published.push(Published { note: cosigned, size, cosigned: true });
            }
            published.push(Published { note, size, cosigned: false });
        }

        let blocks = ledger.store().blocks().to_vec();
        let (mut block_ends, mut block_hashes, mut leaves) = (Vec::new(), Vec::new(), Vec::new());
        for bytes in &blocks {
            let block = Block::from_bytes(bytes).unwrap();
            leaves.extend(block.txs.iter().map(|tx| leaf_hash(&tx.to_bytes())));
            block_ends.push(leaves.len() as u64);
            block_hashes.push(block.header.hash());
        }
        let roots: Vec<Hash256> = (0..=leaves.len()).map(|k| root_of(&leaves[..k])).collect();
        assert_eq!(roots.last(), Some(&ledger.tree().root()));

        let witnesses = vec![NoteVerifier::cosigner(WITNESS, witness().public_key()).unwrap()];
        let policies = [
            ledger.checkpoint_policy(witnesses.clone(), 0),
            ledger.checkpoint_policy(witnesses, 1),
            ledger.checkpoint_policy(Vec::new(), 0),
        ];
        let mut issued = Vec::new();
        for (p, checkpoint) in published.iter().enumerate() {
            for index in 0..checkpoint.size {
                let tx = ledger.transaction_at(index).unwrap().0;
                let receipt = ledger.receipt(&tx.id(), Some(&checkpoint.note)).unwrap();
                let strict = &policies[usize::from(checkpoint.cosigned)];
                assert_eq!(receipt.verify(strict).map(|v| v.index), Ok(index));
                issued.push(Issued { text: receipt.to_text(), receipt, published: p });
            }
        }
        let origin = ledger.checkpoint().origin;
        Self { ledger, origin, blocks, block_ends, block_hashes, leaves, roots, published, issued, policies }
    }

    /// The ledger's size.
    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// The ledger's root at `size`, if it has that many transactions.
    pub fn root_at(&self, size: u64) -> Option<Hash256> {
        usize::try_from(size).ok().and_then(|s| self.roots.get(s)).copied()
    }

    /// Where the first `ledger_size` transactions of the ledger (a whole number of blocks) stand against
    /// `checkpoint`, worked out from the roots and block ends.
    pub fn expected(&self, checkpoint: &Checkpoint, ledger_size: u64) -> Standing {
        let checkpoint_size = checkpoint.size;
        if checkpoint.origin != self.origin {
            return Standing::OtherLedger { origin: checkpoint.origin.clone() };
        }
        if checkpoint_size > ledger_size {
            return Standing::Truncated { checkpoint_size, ledger_size };
        }
        let ledger_root = self.root_at(checkpoint_size).unwrap();
        if ledger_root == checkpoint.root {
            return Standing::Extends { checkpoint_size, ledger_size };
        }
        let block = self.block_ends.iter().position(|end| *end >= checkpoint_size).unwrap();
        Standing::Forked(Fork {
            size: checkpoint_size,
            checkpoint_root: checkpoint.root,
            ledger_root,
            block: block as u64,
            block_hash: self.block_hashes[block],
        })
    }

    /// Verifies `receipt` under every policy (none may panic): under the ledger's, a receipt that verifies
    /// must be the very receipt the ledger issues for that transaction and checkpoint, and a stricter
    /// policy accepts only what a laxer one accepts; under another chain's policy and the empty policy
    /// nothing verifies. Which of the ledger's policies accepted it.
    fn verify(&self, receipt: &Receipt) -> [bool; 3] {
        let mut accepted = [false; 3];
        let mut transaction = None;
        for (policy, accepted) in self.policies.iter().zip(&mut accepted) {
            let Ok(verified) = receipt.verify(policy) else { continue };
            *accepted = true;
            assert_eq!(verified.index, receipt.proof.index);
            assert_eq!(verified.transaction.to_bytes(), receipt.transaction);
            transaction = Some(verified.transaction.id());
        }
        if let Some(id) = transaction {
            match self.ledger.receipt(&id, Some(&receipt.checkpoint)) {
                Ok(issued) => assert_eq!(
                    issued.to_text(),
                    receipt.to_text(),
                    "a receipt that verifies is not the one the ledger issues: {receipt:#?}"
                ),
                Err(e) => panic!("a receipt verifies that the ledger would not issue ({e}): {receipt:#?}"),
            }
        }
        assert!(!accepted[1] || accepted[0], "accepted when the witness is required, refused when not");
        assert!(!accepted[0] || accepted[2], "accepted when the witness is known, refused when not");
        assert!(receipt.verify(&policy()).is_err(), "another chain's policy accepts {receipt:#?}");
        assert!(receipt.verify(&CheckpointPolicy::default()).is_err(), "the empty policy accepts {receipt:#?}");
        accepted
    }
}

/// Selector 3: a receipt's text.
fn parsed_receipt(data: &[u8]) {
    let Ok(receipt) = Receipt::parse(data) else { return };
    let text = receipt.to_text();
    assert_eq!(text.as_bytes(), data, "a receipt does not print back to its bytes");
    assert_eq!(Receipt::parse(text.as_bytes()).as_ref(), Ok(&receipt), "a receipt does not re-parse to itself");
    fixture().verify(&receipt);
}

/// The tree size a receipt's checkpoint states, if it is a well-formed checkpoint.
fn stated_size(note: &str) -> Option<u64> {
    let note = SignedNote::parse(note.as_bytes()).ok()?;
    Checkpoint::parse_text(&note.text).ok().map(|c| c.size)
}

/// Selector 4: one of the fixed ledger's receipts, mutated.
fn mutated_receipt(mut data: &[u8]) {
    let fixture = fixture();
    let Some([choice]) = take::<1>(&mut data) else { return };
    let base = &fixture.issued[usize::from(choice) % fixture.issued.len()];
    let mut receipt = base.receipt.clone();
    // Whether the checkpoint was swapped for another the ledger published (perhaps the same tree cosigned
    // or not: another valid receipt).
    let mut swapped = false;
    for _ in 0..MAX_MUTATIONS {
        let Some([op]) = take::<1>(&mut data) else { break };
        let path = &mut receipt.proof.path;
        let len = path.len();
        match op % 13 {
            // The text: flip, truncate or insert a byte; what follows works on what it parses to.
            op @ 0..=2 => {
                let mut text = receipt.to_text().into_bytes();
                let (Some(at), Some([byte])) = (take::<2>(&mut data), take::<1>(&mut data)) else { return };
                let (at, len) = (usize::from(u16::from_le_bytes(at)), text.len());
                match op {
                    0 => text[at % len] ^= byte.max(1),
                    1 => text.truncate(at % len),
                    _ => text.insert(at % (len + 1), byte),
                }
                let Ok(parsed) = Receipt::parse(&text) else { return };
                assert_eq!(parsed.to_text().as_bytes(), text, "a receipt does not print back to its bytes");
                receipt = parsed;
            }
            3 => {
                let Some([i, j]) = take::<2>(&mut data) else { return };
                if len > 0 {
                    path.swap(usize::from(i) % len, usize::from(j) % len);
                }
            }
            4 => receipt.proof.index = u64::from_le_bytes(take::<8>(&mut data).unwrap_or_default()),
            5 => {
                let Some([delta]) = take::<1>(&mut data) else { return };
                receipt.proof.index = receipt.proof.index.wrapping_add_signed(i64::from(delta as i8));
            }
            6 => {
                let Some([i, bit]) = take::<2>(&mut data) else { return };
                if len > 0 {
                    path[usize::from(i) % len].0[usize::from(bit / 8)] ^= 1 << (bit % 8);
                }
            }
            7 => {
                let Some([i]) = take::<1>(&mut data) else { return };
                if len > 0 {
                    path.remove(usize::from(i) % len);
                }
            }
            8 => {
                let Some([i, j]) = take::<2>(&mut data) else { return };
                if len > 0 && len < 70 {
                    let element = path[usize::from(i) % len];
                    path.insert(usize::from(j) % (len + 1), element);
                }
            }
            9 => {
                // Another of the ledger's hashes (a leaf or a root) in place of an element, or appended.
                let Some([i, k]) = take::<2>(&mut data) else { return };
                let nodes = fixture.leaves.len() + fixture.roots.len();
                let k = usize::from(k) % nodes;
                let node = fixture.leaves.get(k).copied().unwrap_or_else(|| fixture.roots[k - fixture.leaves.len()]);
                match len {
                    0 => path.push(node),
                    _ => path[usize::from(i) % len] = node,
                }
            }
            10 => {
                let (Some(at), Some([byte])) = (take::<2>(&mut data), take::<1>(&mut data)) else { return };
                let tx = &mut receipt.transaction;
                if !tx.is_empty() {
                    let at = usize::from(u16::from_le_bytes(at)) % tx.len();
                    tx[at] ^= byte.max(1);
                }
            }
            11 => {
                let Some([k]) = take::<1>(&mut data) else { return };
                let checkpoint = &fixture.published[usize::from(k) % fixture.published.len()];
                swapped |= checkpoint.note != receipt.checkpoint;
                receipt.checkpoint = checkpoint.note.clone();
                receipt.proof.tree_size = checkpoint.size;
            }
            _ => receipt.proof.tree_size = u64::from_le_bytes(take::<8>(&mut data).unwrap_or_default()),
        }
    }

    // A well-formed value prints to a text that parses back to it.
    let text = receipt.to_text();
    if receipt.proof.path.len() <= 64 && stated_size(&receipt.checkpoint) == Some(receipt.proof.tree_size) {
        assert_eq!(Receipt::parse(text.as_bytes()).as_ref(), Ok(&receipt), "a receipt does not parse back");
    }
    let accepted = fixture.verify(&receipt);
    // Under the policy that requires every signature the original checkpoint carries, nothing but the
    // original verifies (the mutations are too small to add a valid signature line).
    let strict = usize::from(fixture.published[base.published].cosigned);
    if accepted[strict] && !swapped {
        assert_eq!(text, base.text, "a mutated receipt verifies");
    }
    if receipt == base.receipt {
        assert!(accepted[strict] && accepted[2], "a receipt the ledger issued does not verify");
    }
}

/// Selector 5: checkpoints measured against the fixed ledger and a prefix of its blocks.
fn standings(mut data: &[u8]) {
    let fixture = fixture();
    let Some([prefix]) = take::<1>(&mut data) else { return };
    let size = fixture.size();
    let mut checkpoints = Vec::new();
    while checkpoints.len() < MAX_STANDINGS {
        let (Some([kind]), Some(raw_size)) = (take::<1>(&mut data), take::<8>(&mut data)) else { break };
        let origin = match kind % 4 {
            0 | 1 => fixture.origin.clone(),
            2 => origin_of(&chain()),
            _ => {
                let Some([len]) = take::<1>(&mut data) else { break };
                let (origin, rest) = data.split_at(usize::from(len).min(data.len()));
                data = rest;
                String::from_utf8_lossy(origin).into_owned()
            }
        };
        let raw_size = u64::from_le_bytes(raw_size);
        let checkpoint_size = if kind & 4 == 0 { raw_size % (size + 3) } else { raw_size };
        let root = match (kind >> 3) % 4 {
            0 | 1 => fixture.root_at(checkpoint_size).unwrap_or(fixture.roots[0]),
            2 => {
                let Some([k]) = take::<1>(&mut data) else { break };
                fixture.roots[usize::from(k) % fixture.roots.len()]
            }
            _ => {
                let Some(root) = take::<32>(&mut data) else { break };
                Hash256(root)
            }
        };
        let extensions = if kind & 0x80 == 0 { Vec::new() } else { vec!["fuzz-extension".to_owned()] };
        checkpoints.push(Checkpoint { origin, size: checkpoint_size, root, extensions });
    }
    if checkpoints.is_empty() {
        return;
    }

    for checkpoint in &checkpoints {
        let standing =
            fixture.ledger.standing(checkpoint).unwrap_or_else(|e| panic!("standing: {e} for {checkpoint:?}"));
        let keeps = checkpoint.origin == fixture.origin
            && checkpoint.size <= size
            && fixture.root_at(checkpoint.size) == Some(checkpoint.root);
        assert_eq!(standing.is_kept(), keeps, "{standing:?} for {checkpoint:?}");
        assert_eq!(standing, fixture.expected(checkpoint, size), "for {checkpoint:?}");
    }

    // A prefix of the blocks (the ledger cut after a block), fully verified, gives that prefix's standings.
    let blocks = 1 + usize::from(prefix) % fixture.blocks.len();
    let measured = verify_blocks_against(&fixture.blocks[..blocks], &checkpoints);
    let prefix_size = fixture.block_ends[blocks - 1];
    assert!(measured.report.is_valid(), "{:?}", measured.report);
    assert_eq!(measured.report.tree_size, prefix_size);
    // One authority throughout: every prefix has the whole ledger's authority policy.
    assert_eq!(measured.policy, fixture.policies[2]);
    assert_eq!(measured.standings.len(), checkpoints.len());
    for (checkpoint, standing) in checkpoints.iter().zip(&measured.standings) {
        assert_eq!(*standing, fixture.expected(checkpoint, prefix_size), "{blocks} blocks, {checkpoint:?}");
    }
}
