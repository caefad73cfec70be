//! Tampering with a serialized ledger: every single-byte change, and every deletion, reordering,
//! duplication and splice of blocks and transactions, is detected at the right block.

mod support;

use healthchain::block::{Block, Seal};
use healthchain::replay::Replayer;
use healthchain::*;
use support::*;

/// Replayers positioned after each block prefix: `prefixes[i]` has replayed blocks `0..i`.
fn prefixes(blocks: &[Vec<u8>]) -> Vec<Replayer> {
    let mut out = vec![Replayer::new()];
    let mut replayer = Replayer::new();
    for block in blocks {
        replayer.apply_block(block).unwrap();
        out.push(replayer.clone());
    }
    out
}

#[test]
fn the_fixture_is_valid_and_exercises_every_kind() {
    let net = busy_network();
    let report = verify(&blocks(&net));
    assert_eq!(report.failure, None);
    assert_eq!(report.blocks, 7);
    let kinds: std::collections::BTreeSet<&str> = blocks(&net)
        .iter()
        .flat_map(|b| Block::from_bytes(b).unwrap().txs)
        .map(|tx| tx.body.payload.kind_name())
        .collect();
    assert_eq!(kinds.len(), 12, "{kinds:?}");
    assert_eq!(report.transactions, net.ledger.tree().size());
    assert_eq!(report.tree_root, net.ledger.tree().root());
}

#[test]
fn verification_reports_serialize_for_monitoring() {
    let net = busy_network();
    let mut chain = blocks(&net);
    let good = serde_json::to_value(verify(&chain)).unwrap();
    assert_eq!(good["failure"], serde_json::Value::Null);
    assert_eq!(good["tree_root"], net.ledger.tree().root().to_hex());
    chain[4][150] ^= 1;
    let bad = serde_json::to_value(verify(&chain)).unwrap();
    assert_eq!(bad["failure"]["height"], 4);
    assert!(bad["failure"]["reason"].as_str().is_some_and(|r| !r.is_empty()));
}

#[test]
fn every_single_byte_change_fails_at_its_block() {
    let net = busy_network();
    let blocks = blocks(&net);
    let before = prefixes(&blocks);
    let mut checked = 0usize;
    for (height, block) in blocks.iter().enumerate() {
        for offset in 0..block.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut tampered = block.clone();
                tampered[offset] ^= flip;
                let mut replayer = before[height].clone();
                let failure = replayer
                    .apply_block(&tampered)
                    .expect_err(&format!("byte {offset} of block {height} ^ {flip:#x} went unnoticed"));
                assert_eq!(failure.height, height as u64, "byte {offset} ^ {flip:#x}: {failure}");
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000, "only {checked} changes tried");
}

#[test]
fn deleting_reordering_duplicating_or_splicing_blocks_fails() {
    let net = busy_network();
    let blocks = blocks(&net);
    let n = blocks.len();
    let failure_height = |chain: &[Vec<u8>]| verify(chain).failure.map(|f| f.height);

    for i in 0..n - 1 {
        let mut chain = blocks.clone();
        chain.remove(i);
        assert_eq!(failure_height(&chain), Some(i as u64), "deleting block {i}");
    }
    // Cutting the newest block leaves a valid shorter ledger: only a checkpoint can reveal truncation.
    assert_eq!(verify(&blocks[..n - 1]).blocks, n as u64 - 1);

    for i in 0..n {
        for j in i + 1..n {
            let mut chain = blocks.clone();
            chain.swap(i, j);
            assert_eq!(failure_height(&chain), Some(i as u64), "swapping blocks {i} and {j}");
        }
        let mut chain = blocks.clone();
        chain.insert(i + 1, blocks[i].clone());
        assert_eq!(failure_height(&chain), Some(i as u64 + 1), "duplicating block {i}");
    }

    let other = blocks_of_other_ledger();
    for i in 0..n.min(other.len()) {
        let mut chain = blocks.clone();
        chain[i] = other[i].clone();
        let expected = if i == 0 { 1 } else { i as u64 };
        assert_eq!(failure_height(&chain), Some(expected), "splicing block {i} from another ledger");
    }
}

fn blocks_of_other_ledger() -> Vec<Vec<u8>> {
    support::blocks(&busy_network())
}

/// `chain` with block `height`'s transactions changed in every way, without re-sealing: each one deleted, each
/// one duplicated, and each pair swapped (the header's transaction count follows; nothing else does).
fn unsealed_tx_variants(chain: &[Vec<u8>], height: usize) -> Vec<Vec<Vec<u8>>> {
    let block = Block::from_bytes(&chain[height]).unwrap();
    let n = block.txs.len();
    let mut variants: Vec<Vec<SignedTx>> = Vec::new();
    for i in 0..n {
        let mut txs = block.txs.clone();
        txs.remove(i);
        variants.push(txs);
        let mut txs = block.txs.clone();
        txs.insert(i, block.txs[i].clone());
        variants.push(txs);
        for j in i + 1..n {
            let mut txs = block.txs.clone();
            txs.swap(i, j);
            variants.push(txs);
        }
    }
    variants
        .into_iter()
        .map(|txs| {
            let mut tampered = block.clone();
            tampered.header.tx_count = txs.len() as u32;
            tampered.txs = txs;
            let mut chain = chain.to_vec();
            chain[height] = tampered.to_bytes();
            chain
        })
        .collect()
}

#[test]
fn changing_transactions_without_resealing_fails_at_their_block() {
    let net = busy_network();
    let blocks = blocks(&net);
    for height in 0..blocks.len() {
        for chain in unsealed_tx_variants(&blocks, height) {
            let failure = verify(&chain).failure.expect("tampering went unnoticed");
            assert_eq!(failure.height, height as u64, "{failure}");
        }
    }
}

#[test]
fn a_dishonest_authority_cannot_duplicate_reorder_or_splice_transactions() {
    let net = busy_network();
    let blocks = blocks(&net);
    let other = blocks_of_other_ledger();
    let mut tried = 0;
    for (height, bytes) in blocks.iter().enumerate().skip(1) {
        let block = Block::from_bytes(bytes).unwrap();
        let n = block.txs.len();
        let mut variants: Vec<(Vec<SignedTx>, &str)> = Vec::new();
        for i in 0..n {
            let mut txs = block.txs.clone();
            txs.insert(i + 1, block.txs[i].clone());
            variants.push((txs, "duplicate"));
            for j in i + 1..n {
                // Reordering two transactions of one signer breaks its sequence numbers.
                if block.txs[i].body.signer == block.txs[j].body.signer {
                    let mut txs = block.txs.clone();
                    txs.swap(i, j);
                    variants.push((txs, "reorder"));
                }
            }
        }
        let foreign = Block::from_bytes(&other[height]).unwrap().txs;
        for tx in foreign {
            let mut txs = block.txs.clone();
            txs.push(tx);
            variants.push((txs, "splice"));
        }
        for (txs, what) in variants {
            let chain = reseal_from(&blocks, height, &[&net.hospital], |block_txs| *block_txs = txs);
            let failure = verify(&chain).failure.unwrap_or_else(|| panic!("{what} in block {height} went unnoticed"));
            assert_eq!(failure.height, height as u64, "{what}: {failure}");
            assert!(matches!(failure.reason, BlockError::Tx(_)), "{what}: {failure}");
            tried += 1;
        }
    }
    assert!(tried > 20);
}

#[test]
fn a_resealed_block_with_a_forged_transaction_fails() {
    let net = busy_network();
    // Widen the doctor's consent to every section: the patient's signature no longer matches.
    let chain = reseal_from(&blocks(&net), 2, &[&net.hospital], |txs| {
        let Payload::GrantConsent(grant) = &mut txs[0].body.payload else {
            panic!("block 2 starts with the doctor's grant")
        };
        grant.sections = CodeSet::all();
    });
    let failure = verify(&chain).failure.unwrap();
    assert_eq!((failure.height, failure.tx_index), (2, Some(0)));
    assert_eq!(failure.reason, BlockError::Tx(TxError::BadSignature));
}

#[test]
fn a_block_sealed_by_a_stranger_fails() {
    let net = busy_network();
    let mut chain = blocks(&net);
    let mut block = Block::from_bytes(&chain[3]).unwrap();
    let stranger = key(99);
    let stranger_id = ActorId::from_key(&stranger.public_key());
    block.header.proposer = stranger_id;
    block.seals = vec![Seal::sign(stranger_id, &stranger, &block.header.hash())];
    chain[3] = block.to_bytes();
    let failure = verify(&chain).failure.unwrap();
    assert_eq!((failure.height, failure.reason), (3, BlockError::SealerNotAuthority));
}

#[test]
fn one_authority_cannot_reach_k_of_n_in_the_genesis_block() {
    // Regression (issue 8, A1): genesis names A and B with threshold 2; A alone put "register C as
    // authority" (C is A's own second key) into block 0 and sealed it with A and C.
    let (a, b, c) = (key(1), key(2), key(3));
    let params = healthchain::tx::GenesisParams {
        name: "two-of-two".into(),
        nonce: [7; 32],
        authorities: vec![a.public_key(), b.public_key()],
        seal_threshold: 2,
        policy: Policy::default(),
    };
    let chain = params.chain_id();
    let proofs = vec![a.prove_possession(&chain), b.prove_possession(&chain)];
    let a_id = id_of(&a);
    let body = |seq, payload| TxBody { chain, signer: a_id, seq, time: T0, payload };
    let genesis = body(1, Payload::Genesis(healthchain::tx::Genesis { params, proofs })).sign(&a);
    let register_c = body(
        2,
        Payload::RegisterActor(healthchain::tx::RegisterActor {
            key: c.public_key(),
            role: Role::Authority,
            proof: c.prove_possession(&chain),
        }),
    )
    .sign(&a);

    let attack = genesis_block(vec![genesis.clone(), register_c], &[&a, &c]);
    let failure = verify(std::slice::from_ref(&attack)).failure.unwrap();
    assert_eq!((failure.height, failure.reason), (0, BlockError::GenesisNotAlone));
    let opened = Ledger::open(MemoryStore::from_blocks(vec![attack]), Box::new(ManualClock::new(T0)));
    assert!(
        matches!(opened, Err(LedgerError::Corrupt { failure, .. }) if failure.reason == BlockError::GenesisNotAlone)
    );

    // Genesis alone is sealed by exactly the authorities it names: C is none of them, and one is too few.
    let by_a_and_c = genesis_block(vec![genesis.clone()], &[&a, &c]);
    assert_eq!(verify(&[by_a_and_c]).failure.unwrap().reason, BlockError::SealerNotAuthority);
    let by_a = genesis_block(vec![genesis.clone()], &[&a]);
    assert_eq!(verify(&[by_a]).failure.unwrap().reason, BlockError::NotEnoughSeals { have: 1, need: 2 });
    let by_both = genesis_block(vec![genesis], &[&a, &b]);
    assert!(verify(&[by_both]).is_valid());
}

// ---- the same tampering through the ledger file (docs/FORMAT.md, "Ledger file") ----

#[allow(dead_code)]
#[path = "../fuzz/harness/mem_file.rs"]
mod mem_file;

use mem_file::MemFile;

const WRITER: OpenOptions = OpenOptions { read_only: false, strict: false };
const READER: OpenOptions = OpenOptions { read_only: true, strict: false };

/// The file the store writes for `blocks`, and where each frame starts.
fn file_of(blocks: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let file = MemFile::default();
    let mut store = FileStore::from_file(file.clone(), WRITER).unwrap();
    for (h, block) in blocks.iter().enumerate() {
        store.append(h as u64, block).unwrap();
    }
    let starts = (0..blocks.len() as u64).map(|h| store.location(h).unwrap() as usize).collect();
    // The frames, without the zeros reserved after them (a changed byte there: see the test below).
    let mut bytes = file.bytes();
    assert!(bytes[store.size() as usize..].iter().all(|b| *b == 0));
    bytes.truncate(store.size() as usize);
    (bytes, starts)
}

/// The frames of a file written by `file_of`, cut at `starts`.
fn frames_of(bytes: &[u8], starts: &[usize]) -> Vec<Vec<u8>> {
    let ends = starts[1..].iter().copied().chain([bytes.len()]);
    starts.iter().zip(ends).map(|(start, end)| bytes[*start..end].to_vec()).collect()
}

/// How opening `bytes` fails: the store's refusal, or the first failure of the ledger on it.
fn open_failure(bytes: &[u8], verified: bool) -> Result<VerifyFailure, StoreError> {
    let file = MemFile::new(bytes);
    let store = FileStore::from_file(file.clone(), WRITER)?;
    let opened = if verified {
        Ledger::open_verified(store, Box::new(ManualClock::new(T0)))
    } else {
        Ledger::open(store, Box::new(ManualClock::new(T0)))
    };
    assert_eq!(file.bytes(), bytes, "opening changed a tampered file");
    match opened {
        Err(LedgerError::Corrupt { failure, .. }) => Ok(failure),
        Ok(ledger) => panic!("tampering went unnoticed: {} blocks opened", ledger.block_count()),
        Err(other) => panic!("unexpected: {other}"),
    }
}

#[test]
fn every_byte_of_the_file_changed_is_detected_at_its_block_and_never_cut() {
    let blocks = blocks(&busy_network());
    let (bytes, starts) = file_of(&blocks);
    let height_at = |offset: usize| starts.iter().rposition(|start| *start <= offset).unwrap_or(0) as u64;
    let mut checked = 0;
    for offset in 0..bytes.len() {
        for pattern in [0x01u8, 0x80, 0xff] {
            let mut tampered = bytes.clone();
            tampered[offset] ^= pattern;
            for options in [WRITER, READER] {
                let file = MemFile::new(&tampered);
                let context = format!("byte {offset} ^ {pattern:#04x}, read-only {}", options.read_only);
                match FileStore::from_file(file.clone(), options) {
                    Err(StoreError::Damaged { height, .. }) => assert_eq!(height, height_at(offset), "{context}"),
                    Err(StoreError::NotALedger) => assert!(offset < 8, "{context}"),
                    other => panic!("{context}: {:?}", other.map(|s| s.len())),
                }
                assert_eq!(file.bytes(), tampered, "{context}: the file was changed");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, bytes.len() * 6);
    assert!(bytes.len() > 5_000, "{} bytes", bytes.len());

    // A byte changed in the zeros a writer reserved after the last frame never reads as a frame: it is damage
    // at the next height, or, in the length and checksum fields of where the next frame's header would be
    // (bytes 12 to 23, which a torn append may write without its magic), the remains of an interrupted
    // append, which a reader reports at the end of the last frame. Every block stays.
    let next = blocks.len() as u64;
    for offset in [0, 1, 3, 4, 11, 12, 16, 20, 23, 24, 27, 28, 100, 4095] {
        let mut tampered = [bytes.clone(), vec![0u8; 4096]].concat();
        tampered[bytes.len() + offset] ^= 0x01;
        let file = MemFile::new(&tampered);
        let opened = FileStore::from_file(file.clone(), READER).map(|s| (s.len(), s.recovery().map(|r| r.offset)));
        let end = bytes.len() as u64;
        if (12..24).contains(&offset) {
            assert_eq!(opened.ok(), Some((next, Some(end))), "reserved byte {offset}");
        } else {
            assert!(
                matches!(opened, Err(StoreError::Damaged { height, offset: at, .. }) if height == next && at == end),
                "reserved byte {offset}: {opened:?}"
            );
        }
        assert_eq!(file.bytes(), tampered, "reserved byte {offset}: the file was changed");
    }
}

#[test]
fn deleting_swapping_duplicating_or_splicing_frames_is_detected() {
    let blocks = blocks(&busy_network());
    let (bytes, starts) = file_of(&blocks);
    let n = blocks.len();
    let assemble = |frames: &[Vec<u8>]| [bytes[..48].to_vec(), frames.concat()].concat();
    let frames = frames_of(&bytes, &starts);
    // A frame out of place holds another height: the store refuses at the first one.
    let refused_at = |file: &[u8]| match FileStore::from_file(MemFile::new(file), WRITER) {
        Err(StoreError::Damaged { height, .. }) => height,
        other => panic!("{:?}", other.map(|s| s.len())),
    };
    for i in 0..n - 1 {
        let mut f = frames.clone();
        f.remove(i);
        assert_eq!(refused_at(&assemble(&f)), i as u64, "deleting frame {i}");
    }
    for i in 0..n {
        for j in i + 1..n {
            let mut f = frames.clone();
            f.swap(i, j);
            assert_eq!(refused_at(&assemble(&f)), i as u64, "swapping frames {i} and {j}");
        }
        let mut f = frames.clone();
        f.insert(i + 1, frames[i].clone());
        assert_eq!(refused_at(&assemble(&f)), i as u64 + 1, "duplicating frame {i}");
    }
    // A frame of the same height from another ledger passes the store; the ledger refuses it.
    let (other, other_starts) = file_of(&blocks_of_other_ledger());
    let other = frames_of(&other, &other_starts);
    for i in 1..n {
        let mut f = frames.clone();
        f[i] = other[i].clone();
        let failure = open_failure(&assemble(&f), false).unwrap_or_else(|e| panic!("splicing frame {i}: {e}"));
        assert_eq!(failure.height, i as u64, "splicing frame {i}");
    }
}

#[test]
fn deleting_duplicating_or_reordering_transactions_in_a_file_is_detected() {
    let blocks = blocks(&busy_network());
    let mut tried = 0;
    for height in 1..blocks.len() {
        for chain in unsealed_tx_variants(&blocks, height) {
            // Framed with valid checksums: only verification can tell.
            let (file, _) = file_of(&chain);
            for verified in [false, true] {
                let failure = open_failure(&file, verified).unwrap();
                assert_eq!(failure.height, height as u64, "{failure}");
            }
            tried += 1;
        }
    }
    assert!(tried > 20, "{tried}");
}
