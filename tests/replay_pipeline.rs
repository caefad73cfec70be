//! Full verification checks signatures on a pool of workers, in batches that span blocks, behind the
//! sequential replay of the rules (src/replay/pipeline.rs). Its reports must be exactly those of the
//! simplest verifier: one `Replayer::apply_block` after another, each block's signatures checked before
//! the next block is looked at. Property test over a ledger of 27 blocks (1 to 300 transactions each),
//! with bad signatures, a broken rule and an unreadable block at random places, re-sealed by the
//! authority as a dishonest operator would.

mod support;

use healthchain::replay::Replayer;
use healthchain::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use support::*;

/// Block sizes after genesis and the cast's blocks: small, and across batch boundaries (256).
const SIZES: [usize; 12] = [1, 300, 2, 7, 255, 256, 3, 130, 1, 1, 200, 90];

/// The chain and its authority's seed.
fn fixture() -> &'static Vec<Vec<u8>> {
    static CHAIN: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let mut net = busy_network();
        seal_anchors(&mut net, &SIZES);
        let chain = blocks(&net);
        assert!(verify(&chain).is_valid(), "{:?}", verify(&chain).failure);
        chain
    })
}

/// What is done to a transaction.
#[derive(Clone, Copy, Debug)]
enum Edit {
    /// One bit of its signature flipped.
    BadSignature(u16),
    /// Replaced by the one before it (a repeated sequence number: a broken rule).
    Repeat,
}

/// `chain` with `edits` applied at (height, index), every block from the first edited one re-sealed and
/// relinked by the authority.
fn tampered(chain: &[Vec<u8>], edits: &BTreeMap<(usize, usize), Edit>) -> Vec<Vec<u8>> {
    let Some(&(first, _)) = edits.keys().next() else { return chain.to_vec() };
    reseal_each_from(chain, first, &[&key(1)], |height, txs| {
        for (&(_, index), edit) in edits.range((height, 0)..(height + 1, 0)) {
            match edit {
                Edit::BadSignature(bit) => txs[index].signature.0[usize::from(bit / 8)] ^= 1 << (bit % 8),
                Edit::Repeat if index > 0 => txs[index] = txs[index - 1].clone(),
                Edit::Repeat => txs[index].signature.0[0] ^= 1,
            }
        }
    })
}

/// The reference: blocks applied one at a time (each block's signatures checked before the next block),
/// a read error at `unreadable` a store failure there.
fn one_block_at_a_time(chain: &[Vec<u8>], unreadable: Option<usize>) -> VerifyReport {
    let mut replayer = Replayer::new();
    for (height, block) in chain.iter().enumerate() {
        if unreadable == Some(height) {
            let reason = BlockError::Store("unreadable".into());
            return replayer.report(Some(VerifyFailure { height: height as u64, tx_index: None, reason }));
        }
        if let Err(failure) = replayer.apply_block(block) {
            // The report stops before the failing block: replay a fresh replayer that far.
            let mut before = Replayer::new();
            for block in &chain[..height] {
                before.apply_block(block).unwrap();
            }
            return before.report(Some(failure));
        }
    }
    replayer.report(None)
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![4 => (0u16..512).prop_map(Edit::BadSignature), 1 => Just(Edit::Repeat)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn pipelined_verification_reports_what_block_by_block_replay_reports(
        picks in proptest::collection::vec((any::<prop::sample::Index>(), edit_strategy()), 0..4),
        unreadable in proptest::option::weighted(0.3, any::<prop::sample::Index>()),
    ) {
        let chain = fixture();
        // Positions over every transaction after genesis, so that large blocks are hit most.
        let positions: Vec<(usize, usize)> = chain
            .iter()
            .enumerate()
            .skip(1)
            .flat_map(|(h, bytes)| (0..Block::from_bytes(bytes).unwrap().txs.len()).map(move |i| (h, i)))
            .collect();
        let edits: BTreeMap<(usize, usize), Edit> =
            picks.iter().map(|(at, edit)| (positions[at.index(positions.len())], *edit)).collect();
        let bad = tampered(chain, &edits);
        let unreadable = unreadable.map(|at| at.index(bad.len()));
        let expected = one_block_at_a_time(&bad, unreadable);
        let read = |height: usize| match unreadable {
            Some(at) if at == height => Err("unreadable"),
            _ => Ok(bad[height].clone()),
        };
        prop_assert_eq!(&verify_blocks((0..bad.len()).map(read)), &expected);
        // Through a ledger: open_verified fails with the same failure, verify reports the same.
        if unreadable.is_none() {
            let opened = Ledger::open_verified(MemoryStore::from_blocks(bad.clone()), Box::new(ManualClock::new(T0)));
            match (opened, &expected.failure) {
                (Ok(ledger), None) => prop_assert_eq!(&ledger.verify(), &expected),
                (Err(LedgerError::Corrupt { failure, .. }), Some(expected)) => prop_assert_eq!(&failure, expected),
                (other, expected) => prop_assert!(false, "open_verified gave {:?}, expected {:?}", other.err(), expected),
            }
        }
        if edits.values().any(|e| matches!(e, Edit::BadSignature(_))) || unreadable.is_some() {
            prop_assert!(expected.failure.is_some());
        }
    }
}
