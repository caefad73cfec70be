use super::*;
use crate::checkpoint::Checkpoint;
use crate::ids::ChainId;
use crate::keys::SigningKey;

/// A well-formed receipt text (its content need not verify) with `index`, `transaction` and `path` lines.
fn text(index: &str, transaction: &str, path: &[&str]) -> String {
    let checkpoint = Checkpoint::for_chain(&ChainId(Hash256([3; 32])), 5, Hash256([4; 32]));
    let note = checkpoint.sign(&[&SigningKey::from_seed(&[1; 32])]).unwrap_or_default();
    let mut text = format!("{RECEIPT_HEADER}\nindex {index}\ntransaction {transaction}\n");
    path.iter().for_each(|p| text.push_str(&format!("path {p}\n")));
    format!("{text}\n{note}")
}

const HASH: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

#[test]
fn parses_what_it_writes() {
    let receipt = Receipt::parse(text("3", "AAEC", &[HASH, HASH]).as_bytes()).unwrap();
    assert_eq!((receipt.proof.index, receipt.proof.tree_size, receipt.proof.path.len()), (3, 5, 2));
    assert_eq!(receipt.transaction, vec![0, 1, 2]);
    assert_eq!(Receipt::parse(receipt.to_text().as_bytes()), Ok(receipt));
}

#[test]
fn refuses_every_departure_from_the_format() {
    let refused = |t: String| assert!(Receipt::parse(t.as_bytes()).is_err(), "accepted: {t:?}");
    refused(text("03", "AAEC", &[]));
    refused(text("-1", "AAEC", &[]));
    refused(text("", "AAEC", &[]));
    refused(text("18446744073709551616", "AAEC", &[]));
    refused(text("3", "AAF=", &[])); // padding bits set: not canonical
    refused(text("3", "AAEC ", &[]));
    refused(text("3", "AAEC", &["AQEB"]));
    refused(text("3", "AAEC", &[&HASH[..43]]));
    refused(text("3", "AAEC", &[HASH; 65]));
    refused(text("3", "AAEC", &[HASH]).replacen("v1", "v2", 1));
    refused(text("3", "AAEC", &[HASH]).replacen("path", "Path", 1));
    refused(text("3", "AAEC", &[HASH]).replacen("\n\n", "\n", 1));
    refused(format!("{}extra\n", text("3", "AAEC", &[HASH])));
    refused(text("3", &"A".repeat(MAX_TX_LEN.div_ceil(3) * 4 + 4), &[]));
    let mut long = text("3", "AAEC", &[]).into_bytes();
    long.resize(MAX_RECEIPT_LEN + 1, b'\n');
    assert_eq!(Receipt::parse(&long), Err(ReceiptError::Malformed("longer than the largest receipt")));
    assert!(Receipt::parse(&[0xff, 0xfe]).is_err());
}
