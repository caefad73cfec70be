//! Target `ledger_file`: opening and verifying an arbitrary ledger file, as a reader, a writer and in strict
//! mode. The first byte picks how the rest becomes a file: raw bytes (the store's framing and recovery); a
//! list of `u32 length ‖ block` that is framed with valid checksums (the block decoder and the verifier); or
//! such a list, framed, with one bit flipped (`u32 position ‖ u8 bit ‖ list`).
//!
//! Properties: no panic; opening reads each byte at most twice (linear in the file size); reader, writer and
//! strict opens agree on the blocks and the recovery (zeros after the last frame are reserved space, no
//! recovery); a writer's open changes the file only by cutting exactly the tail the reader reported, and
//! never a file that a reader found complete; a refused file is never changed;
//! the fast open (`Ledger::open`) and full verification agree on everything but signatures, and
//! `Ledger::open_verified` agrees with `verify_blocks` exactly; a file the store wrote, with any one bit
//! flipped, is refused (damaged, or not a ledger) — never opened, never cut to a shorter ledger.

use super::mem_file::MemFile;
use healthchain::*;

const READER: OpenOptions = OpenOptions { read_only: true, strict: false };
const WRITER: OpenOptions = OpenOptions { read_only: false, strict: false };
const STRICT: OpenOptions = OpenOptions { read_only: false, strict: true };

/// The harness.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 3 {
        0 => check_file(rest),
        1 => check_file(&framed(rest)),
        _ => {
            let Some((position, rest)) = rest.split_first_chunk::<4>() else { return };
            let Some((&bit, list)) = rest.split_first() else { return };
            let mut file = framed(list);
            if file.is_empty() {
                return;
            }
            let at = u32::from_le_bytes(*position) as usize % file.len();
            file[at] ^= 1 << (bit % 8);
            check_file(&file);
            // Every byte the store writes is covered by a magic, a checksum or the end marker: one changed bit
            // is always seen, and never taken for an interrupted append.
            match FileStore::from_file(MemFile::new(&file), WRITER) {
                Err(StoreError::Damaged { .. } | StoreError::NotALedger) => {}
                other => panic!("bit {} of byte {at} flipped: {:?}", bit % 8, other.map(|s| (s.len(), s.recovery()))),
            }
        }
    }
}

/// A ledger file whose frames hold the blocks listed in `list` (`u32 length ‖ bytes`, little-endian), as
/// far as the store accepts them.
pub fn framed(list: &[u8]) -> Vec<u8> {
    let file = MemFile::default();
    let Ok(mut store) = FileStore::from_file(file.clone(), WRITER) else { return Vec::new() };
    let mut rest = list;
    let mut height = 0;
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = (u32::from_le_bytes(*len) as usize).min(tail.len());
        let (block, tail) = tail.split_at(len);
        if store.append(height, block).is_err() {
            break;
        }
        height += 1;
        rest = tail;
    }
    // Closed, the store gives back the zeros it reserved: the file ends at its last frame, so that every
    // byte of it is a byte the store wrote.
    drop(store);
    file.bytes()
}

/// The list form of `blocks`, as [`framed`] reads it (for seeds).
pub fn block_list(blocks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for block in blocks {
        out.extend_from_slice(&(block.len() as u32).to_le_bytes());
        out.extend_from_slice(block);
    }
    out
}

fn same_kind(a: &StoreError, b: &StoreError) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// Opens `bytes` every way and checks that the outcomes agree.
pub fn check_file(bytes: &[u8]) {
    let len = bytes.len() as u64;
    let reader_file = MemFile::new(bytes);
    let reader = FileStore::from_file(reader_file.clone(), READER);
    {
        let disk = reader_file.disk();
        assert!(disk.read <= 2 * len + 64, "opening read {} bytes of a {len}-byte file", disk.read);
        assert_eq!(disk.changes, 0, "a reader changed the file");
    }
    let writer_file = MemFile::new(bytes);
    let writer = FileStore::from_file(writer_file.clone(), WRITER);
    let strict = FileStore::from_file(MemFile::new(bytes), STRICT);
    let (reader, writer) = match (reader, writer) {
        (Ok(reader), Ok(writer)) => (reader, writer),
        (Err(r), Err(w)) => {
            assert!(same_kind(&r, &w), "reader: {r}; writer: {w}");
            assert!(matches!(&strict, Err(s) if same_kind(s, &r)), "reader: {r}; strict: {:?}", strict.err());
            assert_eq!(writer_file.bytes(), bytes, "a refused file was changed: {w}");
            return;
        }
        (r, w) => panic!("reader and writer disagree: {:?} / {:?}", r.err(), w.err()),
    };
    assert_eq!(reader.len(), writer.len());
    let tail = |r: Option<Recovery>| r.map(|r| (r.offset, r.bytes_removed, r.lost_height));
    assert_eq!(tail(reader.recovery()), tail(writer.recovery()));
    match reader.recovery() {
        None => {
            assert_eq!(writer_file.bytes(), bytes, "a writer changed a complete file");
            assert!(matches!(&strict, Ok(s) if s.len() == reader.len()), "strict: {:?}", strict.err());
        }
        Some(recovery) => {
            assert!(!recovery.cut && writer.recovery().is_some_and(|r| r.cut));
            assert_eq!(recovery.offset + recovery.bytes_removed, len);
            assert_eq!(writer_file.bytes(), &bytes[..recovery.offset as usize], "the writer cut elsewhere");
            assert!(
                matches!(strict, Err(StoreError::TornTail { offset, height })
                    if offset == recovery.offset && height == recovery.lost_height),
                "strict: {:?}",
                strict.map(|s| s.len())
            );
        }
    }
    let blocks: Vec<Vec<u8>> = (0..reader.len()).map(|h| reader.read(h).unwrap()).collect();
    for (h, block) in blocks.iter().enumerate() {
        assert_eq!(&writer.read(h as u64).unwrap(), block);
    }
    if blocks.is_empty() {
        return;
    }
    check_ledger(reader, writer, &blocks);
}

/// The fast open, the verified open and full verification of the same blocks agree.
fn check_ledger(reader: FileStore<MemFile>, writer: FileStore<MemFile>, blocks: &[Vec<u8>]) {
    let full = verify_blocks(blocks);
    let clock = || Box::new(ManualClock::new(0));
    let signature = |f: &VerifyFailure| {
        matches!(f.reason, BlockError::Tx(TxError::BadSignature) | BlockError::Tx(TxError::BadProofOfPossession))
    };
    match Ledger::open(reader, clock()) {
        Ok(ledger) => {
            // The fast open's state describes the same blocks that full verification read.
            if full.is_valid() {
                let head = ledger.head().map(|h| h.hash());
                assert_eq!(
                    (ledger.block_count(), head, ledger.tree().root()),
                    (full.blocks, full.head_hash, full.tree_root)
                );
            }
            // The fast open trusts transaction signatures and proofs of possession, nothing else.
            assert!(full.failure.as_ref().is_none_or(signature), "fast open accepted {:?}", full.failure);
        }
        Err(LedgerError::Corrupt { failure, .. }) => {
            let first = full.failure.as_ref().expect("the fast open refused what full verification accepts");
            assert!(first.height <= failure.height, "full: {first}; fast: {failure}");
            if !signature(first) {
                assert_eq!(first, &failure);
            }
        }
        Err(other) => panic!("fast open: {other}"),
    }
    match Ledger::open_verified(writer, clock()) {
        Ok(_) => assert!(full.is_valid(), "open_verified accepted {:?}", full.failure),
        Err(LedgerError::Corrupt { failure, .. }) => assert_eq!(full.failure, Some(failure)),
        Err(other) => panic!("verified open: {other}"),
    }
}
