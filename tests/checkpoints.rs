//! Signed notes and checkpoints (C2SP `signed-note`, `tlog-checkpoint`): the specifications' own examples
//! (a verifier key that verifies its example note, example notes and a checkpoint that parse), strict
//! parsing with every malformation refused, signing and verifying with a threshold of authorities, and
//! every single-byte change of a signed checkpoint refused.

use healthchain::checkpoint::note::{MAX_NOTE_LEN, MAX_NOTE_SIGNATURES, key_id};
use healthchain::checkpoint::{Checkpoint, CheckpointError, CheckpointPolicy, NoteVerifier, SignedNote, origin_of};
use healthchain::hash::Hash256;
use healthchain::{ChainId, SigningKey};
use proptest::prelude::*;

const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo \
     Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
const SPEC_POEM: &str = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n\
     \u{2014} quasimodo.example/salvatore \
     NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
const SPEC_CHECKPOINT: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
     \u{2014} example.com/behind-the-sofa \
     Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32])
}

#[test]
fn the_specifications_examples() {
    // signed-note: the example verifier key verifies the example note, and its id is as computed.
    let verifier = NoteVerifier::parse(SPEC_VKEY).unwrap();
    assert_eq!(verifier.key_id, 0x530d903a);
    assert_eq!(verifier.to_vkey(), SPEC_VKEY);
    let note = SignedNote::parse(SPEC_NOTE.as_bytes()).unwrap();
    assert_eq!(note.text, "This is an example message.\n");
    assert_eq!(note.to_text(), SPEC_NOTE);
    assert_eq!(note.verified_by(std::slice::from_ref(&verifier)).unwrap(), vec![(&verifier, None)]);
    let mut changed = note.clone();
    changed.text = "This is an example message!\n".to_owned();
    assert_eq!(changed.verified_by(std::slice::from_ref(&verifier)), Err(CheckpointError::BadSignature));

    // The poem: a text with an empty line of its own; the last blank line separates the signatures.
    let poem = SignedNote::parse(SPEC_POEM.as_bytes()).unwrap();
    assert!(poem.text.ends_with("sole:\n\ned \u{e8} subito sera.\n"));
    assert_eq!(poem.signatures[0].name, "quasimodo.example/salvatore");
    assert_eq!(poem.verified_by(std::slice::from_ref(&verifier)), Err(CheckpointError::NoKnownSignature));
    assert_eq!(poem.to_text(), SPEC_POEM);

    // tlog-checkpoint's example.
    let note = SignedNote::parse(SPEC_CHECKPOINT.as_bytes()).unwrap();
    let checkpoint = Checkpoint::parse_text(&note.text).unwrap();
    assert_eq!((checkpoint.origin.as_str(), checkpoint.size), ("example.com/behind-the-sofa", 20_852_163));
    assert_eq!(checkpoint.root.to_hex(), "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62");
    assert_eq!(checkpoint.text(), note.text);

    // tlog-cosignature's example: the witness line carries a key id, the time of the cosignature
    // (1679315147, as in the specification's signed message) and an Ed25519 signature.
    let cosigned = format!(
        "{SPEC_CHECKPOINT}\u{2014} witness.example.com/w1 \
         jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
    );
    let note = SignedNote::parse(cosigned.as_bytes()).unwrap();
    let witness = &note.signatures[1];
    assert_eq!(
        (witness.name.as_str(), witness.key_id, witness.bytes.len()),
        ("witness.example.com/w1", 0x8d66cf3f, 72)
    );
    assert_eq!(u64::from_be_bytes(witness.bytes[..8].try_into().unwrap()), 1_679_315_147);
    assert_eq!(note.to_text(), cosigned);
    assert_eq!(
        healthchain::checkpoint::note::cosigned_message(1_679_315_147, &note.text),
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
}

/// A policy of `authorities` (`k` must sign) and `witnesses` (`m` must cosign).
fn policy(
    origin: &str,
    authorities: &[&SigningKey],
    k: usize,
    witnesses: &[(&str, &SigningKey)],
    m: usize,
) -> CheckpointPolicy {
    CheckpointPolicy {
        authorities: authorities.iter().map(|a| NoteVerifier::new(origin, a.public_key()).unwrap()).collect(),
        authority_threshold: k,
        witnesses: witnesses.iter().map(|(n, w)| NoteVerifier::cosigner(n, w.public_key()).unwrap()).collect(),
        witness_threshold: m,
    }
}

#[test]
fn signed_checkpoints_verify_against_a_threshold_of_authorities() {
    let chain = ChainId(Hash256([3; 32]));
    let checkpoint = Checkpoint::for_chain(&chain, 1000, Hash256([5; 32]));
    assert_eq!(checkpoint.origin, format!("healthchain/{}", "03".repeat(32)));
    assert_eq!(checkpoint.origin, origin_of(&chain));
    let (a, b, c, stranger) = (key(1), key(2), key(3), key(4));
    let with = |k: usize| policy(&checkpoint.origin, &[&a, &b, &c], k, &[], 0);

    let note = checkpoint.sign(&[&a, &b, &stranger]).unwrap();
    let checked = Checkpoint::verify(note.as_bytes(), &with(2)).unwrap();
    assert_eq!((&checked.checkpoint, checked.authorities), (&checkpoint, 2), "the stranger is ignored");
    assert_eq!(
        Checkpoint::verify(note.as_bytes(), &with(3)),
        Err(CheckpointError::TooFewSignatures { have: 2, need: 3 })
    );
    // The same key twice counts once.
    let twice = checkpoint.sign(&[&a, &a]).unwrap();
    assert_eq!(
        Checkpoint::verify(twice.as_bytes(), &with(2)),
        Err(CheckpointError::TooFewSignatures { have: 1, need: 2 })
    );
    // Signed by nobody known.
    let unknown = checkpoint.sign(&[&stranger]).unwrap();
    assert_eq!(Checkpoint::verify(unknown.as_bytes(), &with(1)), Err(CheckpointError::NoKnownSignature));
    // A known key's signature over another text refuses the whole note, whatever else verifies.
    let other = Checkpoint { size: 1001, ..checkpoint.clone() }.sign(&[&c]).unwrap();
    let forged = format!("{}{}\n", note, other.lines().last().unwrap());
    assert_eq!(Checkpoint::verify(forged.as_bytes(), &with(1)), Err(CheckpointError::BadSignature));
    // Verifier keys round-trip, with the key id the specification defines.
    for verifier in &with(1).authorities {
        assert_eq!(NoteVerifier::parse(&verifier.to_vkey()).unwrap(), *verifier);
    }
    assert_eq!(with(1).authorities[0].key_id, key_id(&checkpoint.origin, 0x01, &a.public_key().to_bytes()));
}

#[test]
fn witnesses_cosign_and_a_policy_counts_them() {
    let checkpoint = Checkpoint::for_chain(&ChainId(Hash256([8; 32])), 77, Hash256([6; 32]));
    let (hospital, w1, w2, stranger) = (key(1), key(11), key(12), key(13));
    let note = checkpoint.sign(&[&hospital]).unwrap();
    let note = Checkpoint::cosign(note.as_bytes(), "w1.example", &w1, 1_800_000_000).unwrap();
    let note = Checkpoint::cosign(note.as_bytes(), "w2.example", &w2, 1_800_000_060).unwrap();
    let note = Checkpoint::cosign(note.as_bytes(), "w3.example", &stranger, 1_800_000_120).unwrap();
    let witnesses = [("w1.example", &w1), ("w2.example", &w2)];
    let origin = checkpoint.origin.as_str();

    let checked = Checkpoint::verify(note.as_bytes(), &policy(origin, &[&hospital], 1, &witnesses, 2)).unwrap();
    assert_eq!(checked.checkpoint, checkpoint);
    assert_eq!(
        checked.cosignatures,
        vec![("w1.example".to_owned(), 1_800_000_000), ("w2.example".to_owned(), 1_800_000_060)]
    );
    assert_eq!(
        Checkpoint::verify(note.as_bytes(), &policy(origin, &[&hospital], 1, &witnesses, 3)),
        Err(CheckpointError::TooFewCosignatures { have: 2, need: 3 })
    );
    // Cosignatures never stand in for the log's own signature, nor a log signature for a cosignature.
    let unsigned_by_log = {
        let mut note = SignedNote { text: checkpoint.text(), signatures: Vec::new() };
        note.cosign("w1.example", &w1, 5).unwrap();
        note.to_text()
    };
    assert_eq!(
        Checkpoint::verify(unsigned_by_log.as_bytes(), &policy(origin, &[&hospital], 1, &witnesses, 1)),
        Err(CheckpointError::TooFewSignatures { have: 0, need: 1 })
    );
    let signed_only = checkpoint.sign(&[&hospital]).unwrap();
    let log_key_as_witness = policy(origin, &[&hospital], 1, &[(origin, &hospital)], 1);
    assert_eq!(
        Checkpoint::verify(signed_only.as_bytes(), &log_key_as_witness),
        Err(CheckpointError::TooFewCosignatures { have: 0, need: 1 })
    );
    // A cosignature whose time was changed no longer verifies, and refuses the checkpoint.
    let mut tampered = SignedNote::parse(note.as_bytes()).unwrap();
    tampered.signatures[1].bytes[7] ^= 1;
    assert_eq!(
        Checkpoint::verify(tampered.to_text().as_bytes(), &policy(origin, &[&hospital], 1, &witnesses, 1)),
        Err(CheckpointError::BadSignature)
    );
    // Times beyond 2^63 - 1 are refused when cosigning; a note without signatures cannot be cosigned.
    assert!(Checkpoint::cosign(note.as_bytes(), "w1.example", &w1, 1 << 63).is_err());
    assert!(Checkpoint::cosign(checkpoint.text().as_bytes(), "w1.example", &w1, 1).is_err());
    // Cosigner verifier keys (type 0x04) round-trip and differ from the same key's log verifier key.
    let cosigner = NoteVerifier::cosigner("w1.example", w1.public_key()).unwrap();
    assert_eq!(NoteVerifier::parse(&cosigner.to_vkey()).unwrap(), cosigner);
    assert_ne!(cosigner.key_id, NoteVerifier::new("w1.example", w1.public_key()).unwrap().key_id);
    // Regression: a verifier key whose base64 holds `+` (the separator) was split there and refused.
    let with_plus = (0..=255u8)
        .map(|seed| NoteVerifier::cosigner("w.example", key(seed).public_key()).unwrap())
        .find(|v| v.to_vkey().splitn(3, '+').nth(2).is_some_and(|b64| b64.contains('+')))
        .unwrap();
    assert_eq!(NoteVerifier::parse(&with_plus.to_vkey()).unwrap(), with_plus);
}

#[test]
fn malformed_notes_checkpoints_and_keys_are_refused() {
    let signature = " AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    let sig_line = format!("\u{2014} name{signature}");
    for (what, note) in [
        ("no blank line", format!("text\n{sig_line}")),
        ("no signature", "text\n\n".to_owned()),
        ("no final newline", format!("text\n\n{}", sig_line.trim_end())),
        ("a line that is not a signature", format!("text\n\n{sig_line}extra\n")),
        ("a hyphen for the em dash", format!("text\n\n- name{signature}")),
        ("an empty key name", format!("text\n\n\u{2014} {signature}")),
        ("a key name with a plus", format!("text\n\n\u{2014} na+me{signature}")),
        ("a signature that is not base64", "text\n\n\u{2014} name !!!\n".to_owned()),
        ("a signature of key id only", "text\n\n\u{2014} name AAAAAA==\n".to_owned()),
        ("a carriage return", format!("text\r\n\n{sig_line}")),
        ("a tab", format!("te\txt\n\n{sig_line}")),
        ("too many signatures", format!("text\n\n{}", sig_line.repeat(MAX_NOTE_SIGNATURES + 1))),
        ("too long", format!("{}\n\n{sig_line}", "x".repeat(MAX_NOTE_LEN))),
    ] {
        assert!(
            matches!(SignedNote::parse(note.as_bytes()), Err(CheckpointError::MalformedNote(_))),
            "{what} was accepted"
        );
    }
    assert!(SignedNote::parse(&[0xff, b'\n', b'\n']).is_err(), "not UTF-8");

    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    assert!(Checkpoint::parse_text(&format!("origin\n0\n{root}\n")).is_ok());
    for (what, text) in [
        ("an empty origin", format!("\n1\n{root}\n")),
        ("a leading zero", format!("origin\n042\n{root}\n")),
        ("a sign", format!("origin\n+42\n{root}\n")),
        ("a negative size", format!("origin\n-1\n{root}\n")),
        ("a space in the size", format!("origin\n 42\n{root}\n")),
        ("a size beyond 2^64", format!("origin\n18446744073709551616\n{root}\n")),
        ("no root", "origin\n42\n".to_owned()),
        ("a short root", "origin\n42\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n".to_owned()),
        ("a root with whitespace", format!("origin\n42\n {root}\n")),
        ("an empty extension line", format!("origin\n42\n{root}\n\n")),
        ("no final newline", format!("origin\n42\n{root}")),
    ] {
        assert!(
            matches!(Checkpoint::parse_text(&text), Err(CheckpointError::MalformedCheckpoint(_))),
            "{what} was accepted"
        );
    }

    for vkey in [
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", // wrong id
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", // upper-case hex
        "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", // another name
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", // another type byte
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U",   // short key
        "example.com/foo+530d903a",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k+extra",
    ] {
        assert_eq!(NoteVerifier::parse(vkey), Err(CheckpointError::BadVerifierKey), "{vkey}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn verifier_keys_of_both_kinds_round_trip(seed in any::<[u8; 32]>(), name in "[a-z0-9./_-]{1,40}") {
        // Base64 of a key often holds `+`, the vkey separator: parsing must take the third part whole.
        let key = SigningKey::from_seed(&seed).public_key();
        for verifier in [NoteVerifier::new(&name, key).unwrap(), NoteVerifier::cosigner(&name, key).unwrap()] {
            prop_assert_eq!(NoteVerifier::parse(&verifier.to_vkey()), Ok(verifier));
        }
    }

    #[test]
    fn every_byte_change_of_a_signed_checkpoint_is_refused(
        chain in any::<[u8; 32]>(), size in any::<u64>(), root in any::<[u8; 32]>(), signers in 1usize..=3,
    ) {
        let checkpoint = Checkpoint::for_chain(&ChainId(Hash256(chain)), size, Hash256(root));
        let keys: Vec<SigningKey> = (1..=signers as u8).map(key).collect();
        let authorities: Vec<NoteVerifier> =
            keys.iter().map(|k| NoteVerifier::new(&checkpoint.origin, k.public_key()).unwrap()).collect();
        let note = checkpoint.sign(&keys.iter().collect::<Vec<_>>()).unwrap();
        let witness = key(99);
        let note = Checkpoint::cosign(note.as_bytes(), "witness.example", &witness, 1_800_000_000).unwrap();
        let policy = CheckpointPolicy {
            authorities,
            authority_threshold: signers,
            witnesses: vec![NoteVerifier::cosigner("witness.example", witness.public_key()).unwrap()],
            witness_threshold: 1,
        };
        let checked = Checkpoint::verify(note.as_bytes(), &policy).unwrap();
        prop_assert_eq!((&checked.checkpoint, checked.authorities), (&checkpoint, signers));
        prop_assert_eq!(Checkpoint::parse_text(&checkpoint.text()), Ok(checkpoint));
        let bytes = note.into_bytes();
        for at in 0..bytes.len() {
            for flip in [0x01u8, 0x80] {
                let mut changed = bytes.clone();
                changed[at] ^= flip;
                prop_assert!(
                    Checkpoint::verify(&changed, &policy).is_err(),
                    "byte {} ^ {:#x} accepted", at, flip
                );
            }
        }
    }
}
