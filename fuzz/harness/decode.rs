//! Target `decode`: every structure's decoder on arbitrary bytes. The first byte picks the structure, the
//! rest is its input. Properties: no panic; an error's offset lies inside the input; what decodes encodes
//! back to exactly the same bytes and decodes again to the same value (one encoding per value); a decoded
//! block goes through the full verifier (as a genesis block) without panicking, and decoding it with its
//! transactions' ids and leaf hashes agrees with decoding and hashing the re-encoded transactions; a state
//! snapshot likewise encodes back to its bytes.

use healthchain::block::{Block, BlockHeader, Seal};
use healthchain::merkle::leaf_hash;
use healthchain::tx::{Genesis, GenesisParams};
use healthchain::*;

/// Checks the canonical-encoding laws for `T` on `bytes`; the value, if it decodes.
fn laws<T: Decode + Encode + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> Option<T> {
    match T::from_bytes(bytes) {
        Ok(value) => {
            assert_eq!(value.to_bytes(), bytes, "decode then encode changed the bytes of {value:?}");
            assert_eq!(T::from_bytes(&value.to_bytes()).as_ref(), Ok(&value), "re-decoding changed the value");
            Some(value)
        }
        Err(error) => {
            assert!(error.offset <= bytes.len(), "error offset {} beyond {} bytes", error.offset, bytes.len());
            None
        }
    }
}

/// The harness.
pub fn run(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else { return };
    match selector % 19 {
        0 => {
            // Decoding with hashes agrees with decoding, and hashes what re-encoding would give.
            let hashed = Block::from_bytes_hashed(bytes);
            assert_eq!(hashed.as_ref().map(|(block, _)| block).ok(), Block::from_bytes(bytes).ok().as_ref());
            if let Ok((block, hashes)) = &hashed {
                let expected: Vec<_> = block.txs.iter().map(|tx| (tx.id(), leaf_hash(&tx.to_bytes()))).collect();
                assert_eq!(hashes, &expected);
            }
            if let Some(block) = laws::<Block>(bytes) {
                assert_eq!(block.header.tx_count as usize, block.txs.len());
                let report = verify_blocks([bytes]);
                assert_eq!(report.is_valid(), report.failure.is_none());
            }
        }
        1 => drop(laws::<BlockHeader>(bytes)),
        2 => {
            if let Some(tx) = laws::<SignedTx>(bytes) {
                assert_eq!(tx.id(), tx.body.id());
            }
        }
        3 => drop(laws::<TxBody>(bytes)),
        4 => drop(laws::<Payload>(bytes)),
        5 => drop(laws::<Genesis>(bytes)),
        6 => {
            if let Some(params) = laws::<GenesisParams>(bytes) {
                let _ = params.chain_id();
            }
        }
        7 => drop(laws::<ConsentGrant>(bytes)),
        8 => drop(laws::<DelegationGrant>(bytes)),
        9 => drop(laws::<RecordAccess>(bytes)),
        10 => drop(laws::<AccessBasis>(bytes)),
        11 => drop(laws::<Seal>(bytes)),
        12 => drop(laws::<CodeSet>(bytes)),
        13 => drop(laws::<Code>(bytes)),
        14 => drop(laws::<PublicKey>(bytes)),
        15 => drop(laws::<Window>(bytes)),
        16 => drop(laws::<Policy>(bytes)),
        17 => drop(laws::<Grantee>(bytes)),
        _ => match Snapshot::from_bytes(bytes) {
            // A state snapshot: one encoding per state, and a state that answers (its pending reviews).
            Ok(snapshot) => {
                assert_eq!(snapshot.to_bytes(), bytes, "decode then encode changed a snapshot's bytes");
                let again = Snapshot::from_bytes(bytes).map(|s| s.digest());
                assert_eq!(again.ok(), Some(snapshot.digest()));
                let _ = snapshot.state().pending_reviews();
            }
            Err(SnapshotError::Malformed(error)) => assert!(error.offset <= bytes.len(), "offset beyond the input"),
            Err(other) => panic!("decoding bytes gave {other}"),
        },
    }
}
