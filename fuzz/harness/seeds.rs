//! The seed inputs of every target, written to `fuzz/seeds/<target>/` by
//! `HEALTHCHAIN_BLESS_FUZZ_SEEDS=1 cargo test --test fuzz_replay`: valid encodings of every structure, valid
//! and torn ledger files, and starting points for the operation and call sequences. The fuzzer mutates them;
//! the replay test runs them through the harnesses on every `cargo test`.

#[allow(unused_imports)]
#[path = "../../tests/support/mod.rs"]
mod support;

use super::ledger_file::block_list;
use super::mem_file::MemFile;
use healthchain::block::Block;
use healthchain::*;
use std::path::Path;

/// Every seed, as (target, name, bytes).
pub fn all() -> Vec<(&'static str, String, Vec<u8>)> {
    let net = support::busy_network();
    let blocks = support::blocks(&net);
    let mut seeds = Vec::new();
    let mut decode = |selector: u8, name: String, bytes: Vec<u8>| {
        seeds.push(("decode", name, [vec![selector], bytes].concat()));
    };
    for (h, bytes) in blocks.iter().enumerate() {
        let block = Block::from_bytes(bytes).unwrap();
        decode(0, format!("block-{h}"), bytes.clone());
        decode(1, format!("header-{h}"), block.header.to_bytes());
        for seal in &block.seals {
            decode(11, format!("seal-{h}"), seal.to_bytes());
        }
        for (i, tx) in block.txs.iter().enumerate() {
            let name = format!("{h}-{i}-{}", tx.body.payload.kind_name());
            decode(2, format!("tx-{name}"), tx.to_bytes());
            decode(3, format!("body-{name}"), tx.body.to_bytes());
            decode(4, format!("payload-{name}"), tx.body.payload.to_bytes());
            match &tx.body.payload {
                Payload::Genesis(genesis) => {
                    decode(5, "genesis".into(), genesis.to_bytes());
                    decode(6, "genesis-params".into(), genesis.params.to_bytes());
                    decode(16, "policy".into(), genesis.params.policy.to_bytes());
                    decode(14, "public-key".into(), genesis.params.authorities[0].to_bytes().to_vec());
                }
                Payload::GrantConsent(grant) => {
                    decode(7, format!("grant-{name}"), grant.to_bytes());
                    decode(12, format!("sections-{name}"), grant.sections.to_bytes());
                    decode(15, format!("window-{name}"), grant.window.to_bytes());
                    decode(17, format!("grantee-{name}"), grant.grantee.to_bytes());
                }
                Payload::GrantDelegation(grant) => decode(8, format!("delegation-{name}"), grant.to_bytes()),
                Payload::RecordAccess(access) => {
                    decode(9, format!("access-{name}"), access.to_bytes());
                    decode(10, format!("basis-{name}"), access.basis.to_bytes());
                    decode(13, format!("code-{name}"), access.section.to_bytes());
                }
                _ => {}
            }
        }
    }
    decode(18, "snapshot".into(), net.ledger.snapshot().unwrap().to_bytes());

    let file = file_of(&blocks);
    seeds.push(("ledger_file", "busy".into(), [vec![0], file.clone()].concat()));
    seeds.push(("ledger_file", "genesis-only".into(), [vec![0], file_of(&blocks[..1])].concat()));
    seeds.push(("ledger_file", "torn-tail".into(), [vec![0], file[..file.len() - 7].to_vec()].concat()));
    seeds.push(("ledger_file", "zero-tail".into(), [vec![0], file.clone(), vec![0; 300]].concat()));
    seeds.push(("ledger_file", "block-list".into(), [vec![1], block_list(&blocks)].concat()));
    seeds.push(("ledger_file", "block-list-short".into(), [vec![1], block_list(&blocks[..3])].concat()));
    let flip =
        |at: u32, bit: u8, blocks: &[Vec<u8>]| [vec![2], at.to_le_bytes().to_vec(), vec![bit], block_list(blocks)];
    seeds.push(("ledger_file", "flip-in-last-block".into(), flip(file.len() as u32 - 40, 3, &blocks).concat()));
    seeds.push(("ledger_file", "flip-in-genesis-only".into(), flip(100, 0, &blocks[..1]).concat()));

    // Checkpoints: one signed and cosigned as the harness's policy requires, one signed only, and proofs
    // of a small tree.
    let leaves: Vec<_> = (0u8..13).map(|i| healthchain::merkle::leaf_hash(&[i])).collect();
    let checkpoint =
        checkpoint::Checkpoint::for_chain(&super::checkpoint::chain(), 13, healthchain::merkle::root_of(&leaves));
    let signed = checkpoint.sign(&[&super::checkpoint::authority()]).unwrap();
    let cosigned = checkpoint::Checkpoint::cosign(
        signed.as_bytes(),
        super::checkpoint::WITNESS,
        &super::checkpoint::witness(),
        1_800_000_000,
    )
    .unwrap();
    seeds.push(("checkpoint", "cosigned".into(), [vec![0], cosigned.into_bytes()].concat()));
    seeds.push(("checkpoint", "signed".into(), [vec![0], signed.into_bytes()].concat()));
    let inclusion = healthchain::proof::InclusionProof::generate(leaves.as_slice(), 5, 13).unwrap();
    let root = healthchain::merkle::root_of(&leaves);
    let mut bytes = vec![1];
    bytes.extend_from_slice(&5u64.to_le_bytes());
    bytes.extend_from_slice(&13u64.to_le_bytes());
    bytes.extend_from_slice(&leaves[5].0);
    bytes.extend_from_slice(&root.0);
    inclusion.path.iter().for_each(|h| bytes.extend_from_slice(&h.0));
    seeds.push(("checkpoint", "inclusion".into(), bytes));
    let consistency = healthchain::proof::ConsistencyProof::generate(leaves.as_slice(), 6, 13).unwrap();
    let mut bytes = vec![2];
    bytes.extend_from_slice(&6u64.to_le_bytes());
    bytes.extend_from_slice(&13u64.to_le_bytes());
    bytes.extend_from_slice(&healthchain::merkle::root_of(&leaves[..6]).0);
    bytes.extend_from_slice(&root.0);
    consistency.path.iter().for_each(|h| bytes.extend_from_slice(&h.0));
    seeds.push(("checkpoint", "consistency".into(), bytes));
    seeds.push(("checkpoint", "empty-note".into(), b"\0text\n\n".to_vec()));

    // Receipts of the harness's fixed ledger (selector 3), some of them to mutate (selector 4), and
    // checkpoints to measure that ledger against (selector 5).
    let fixture = super::checkpoint::fixture();
    let picks = [(0, 1, false), (3, 4, true), (4, 5, false), (8, 9, true), (5, 11, false), (10, 11, false)];
    for (index, size, cosigned) in picks {
        let (choice, issued) = fixture
            .issued
            .iter()
            .enumerate()
            .find(|(_, i)| {
                let published = &fixture.published[i.published];
                (i.receipt.proof.index, published.size, published.cosigned) == (index, size, cosigned)
            })
            .unwrap();
        let name = format!("{index}-of-{size}{}", if cosigned { "-cosigned" } else { "" });
        seeds.push(("checkpoint", format!("receipt-{name}"), [&[3], issued.text.as_bytes()].concat()));
        seeds.push(("checkpoint", format!("receipt-unmutated-{name}"), vec![4, choice as u8]));
    }
    // Swap two path elements, go one leaf further, carry another checkpoint.
    seeds.push(("checkpoint", "receipt-mutated".into(), vec![4, 3, 3, 0, 1, 5, 1, 11, 2]));
    let mut standing = vec![5, 4];
    let mut push = |kind: u8, size: u64, rest: &[u8]| {
        standing.push(kind);
        standing.extend_from_slice(&size.to_le_bytes());
        standing.extend_from_slice(rest);
    };
    push(0, 5, &[]); // kept
    push(3 << 3, 7, &[0x11; 32]); // forked
    push(4, 1_000, &[]); // truncated
    push(3, 4, &[8, b'o', b't', b'h', b'e', b'r', b'/', b'l', b'o', b'g']); // another ledger
    seeds.push(("checkpoint", "standings".into(), standing));
    let (nine, three) = (9u64.to_le_bytes(), 3u64.to_le_bytes());
    let cut = [&[5, 1, 0][..], &nine, &[2 << 3], &three, &[4]].concat(); // kept, then forked
    seeds.push(("checkpoint", "standings-cut".into(), cut));

    // HL7's example Consents, each read as the release it is written in and as the other one.
    for folder in ["r4", "r5", "r5-draft"] {
        let dir = repository().join("tests/vectors/fhir").join(folder);
        let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        for name in names {
            let json = std::fs::read(dir.join(&name)).unwrap();
            let name = name.to_string_lossy().trim_end_matches(".json").to_owned();
            let (own, other) = if folder == "r4" { (0u8, 1u8) } else { (1, 0) };
            seeds.push(("fhir", format!("{folder}-{name}"), [vec![own], json.clone()].concat()));
            seeds.push(("fhir", format!("{folder}-{name}-as-other"), [vec![other], json].concat()));
        }
    }

    for (i, pattern) in [[0u8; 64].to_vec(), (0..=255).collect(), (0..=255).rev().collect()].into_iter().enumerate() {
        seeds.push(("operations", format!("pattern-{i}"), pattern.clone()));
        seeds.push(("c_api", format!("pattern-{i}"), pattern));
    }
    seeds
}

/// The repository's root (this file is compiled both by the core's tests and by the fuzz crate in `fuzz/`).
fn repository() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    if dir.ends_with("fuzz") { dir.parent().unwrap().to_path_buf() } else { dir.to_path_buf() }
}

/// The file the store writes for `blocks`.
fn file_of(blocks: &[Vec<u8>]) -> Vec<u8> {
    let file = MemFile::default();
    let options = OpenOptions { read_only: false, strict: false };
    let mut store = FileStore::from_file(file.clone(), options).unwrap();
    for (h, block) in blocks.iter().enumerate() {
        store.append(h as u64, block).unwrap();
    }
    file.bytes()
}

/// Writes every seed under `dir/<target>/<name>`, replacing what was there.
pub fn write_all(dir: &Path) {
    for (target, _, _) in all() {
        let _ = std::fs::remove_dir_all(dir.join(target));
    }
    for (target, name, bytes) in all() {
        std::fs::create_dir_all(dir.join(target)).unwrap();
        std::fs::write(dir.join(target).join(name), bytes).unwrap();
    }
}
