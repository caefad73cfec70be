//! The `healthchain` command-line tool, run as a separate process on ledger files it generates.
#![cfg(feature = "cli")]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a run of the tool produced.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

fn healthchain(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_healthchain")).args(args).output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// A scratch directory, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("healthchain-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Generates a small ledger (20 patients, 500 transactions, blocks of 100) and returns generate's JSON.
fn generate(path: &Path, seed: &str) -> Value {
    let run = healthchain(&[
        "generate",
        text(path),
        "--patients",
        "20",
        "--transactions",
        "500",
        "--seed",
        seed,
        "--block-size",
        "100",
        "--json",
    ]);
    assert_eq!(run.code, 0, "generate failed: {}", run.stderr);
    run.json()
}

fn is_hex_id(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Length of a frame header, and of the end marker after the block (docs/FORMAT.md, "Ledger file").
const FRAME_HEADER: usize = 24;
const FRAME_END: usize = 4;

/// Offsets and lengths of the block frames of a ledger file (docs/FORMAT.md, "Ledger file").
fn frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 48;
    while pos + FRAME_HEADER <= bytes.len() {
        assert_eq!(&bytes[pos..pos + 4], b"HCBK");
        let len = u32::from_le_bytes(bytes[pos + 12..pos + 16].try_into().unwrap()) as usize;
        out.push((pos, len));
        pos += FRAME_HEADER + len + FRAME_END;
    }
    out
}

/// Recomputes the checksums of the frame at `offset` holding `len` block bytes, as a forger would.
fn refresh_checksums(bytes: &mut [u8], offset: usize, len: usize) {
    let block = offset + FRAME_HEADER;
    let block_crc = crc32c::crc32c(&bytes[block..block + len]);
    bytes[offset + 16..offset + 20].copy_from_slice(&block_crc.to_le_bytes());
    let header_crc = crc32c::crc32c(&bytes[offset..offset + 20]);
    bytes[offset + 20..offset + 24].copy_from_slice(&header_crc.to_le_bytes());
}

#[test]
fn generate_writes_the_workload_it_reports() {
    let dir = temp_dir("generate");
    let path = dir.join("demo.ledger");
    let generated = generate(&path, "42");
    let transactions = generated["transactions"].as_u64().unwrap();
    assert_eq!(transactions, 500);
    // The genesis block, then one block per 100 transactions.
    assert_eq!(generated["blocks"].as_u64().unwrap(), 1 + 499_u64.div_ceil(100));
    let kinds = generated["transactions_by_kind"].as_object().unwrap();
    assert_eq!(kinds.values().map(|v| v.as_u64().unwrap()).sum::<u64>(), transactions);
    // 20 patients and staff in proportion, one authority.
    assert_eq!(generated["actors"]["patient"], 20);
    assert_eq!(kinds["register-actor"].as_u64().unwrap(), 20 + 3 + 1 + 1 + 1);
    for kind in ["grant-consent", "record-access", "revoke-consent", "grant-delegation"] {
        assert!(kinds.get(kind).and_then(Value::as_u64).unwrap_or(0) > 0, "no {kind} in {kinds:?}");
    }
    let details = &generated["details"];
    for detail in ["permits_to_actors", "permits_to_roles", "denies", "accesses_on_consent", "break_glass_accesses"] {
        assert!(details[detail].as_u64().unwrap() > 0, "no {detail} in {details}");
    }
    let accesses = ["accesses_on_consent", "accesses_by_delegates", "accesses_by_owner", "break_glass_accesses"]
        .iter()
        .map(|k| details[k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(accesses, kinds["record-access"].as_u64().unwrap());
    let samples = generated["sample_patients"].as_array().unwrap();
    assert!(!samples.is_empty() && samples.iter().all(is_hex_id), "{samples:?}");
    assert_eq!(generated["file_bytes"].as_u64().unwrap(), std::fs::metadata(&path).unwrap().len());

    // The text form says the same.
    let other = dir.join("text.ledger");
    let run = healthchain(&["generate", text(&other), "--patients", "5", "--transactions", "60", "--block-size", "7"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("transactions  60"), "{}", run.stdout);
    assert!(run.stdout.contains("sample patients"), "{}", run.stdout);
}

#[test]
fn generate_is_deterministic_for_a_seed() {
    let dir = temp_dir("determinism");
    let a = generate(&dir.join("a.ledger"), "7");
    let b = generate(&dir.join("b.ledger"), "7");
    let c = generate(&dir.join("c.ledger"), "8");
    for field in ["sample_patients", "transactions_by_kind", "details", "blocks"] {
        assert_eq!(a[field], b[field], "{field} differs for the same seed");
    }
    assert_ne!(a["sample_patients"], c["sample_patients"]);
    // The genesis nonce derives from the seed too: the same seed writes the same file, byte for byte.
    assert_eq!(a["chain_id"], b["chain_id"]);
    assert_ne!(a["chain_id"], c["chain_id"]);
    assert_eq!(std::fs::read(dir.join("a.ledger")).unwrap(), std::fs::read(dir.join("b.ledger")).unwrap());
}

#[test]
fn generate_refuses_an_existing_file() {
    let dir = temp_dir("exists");
    let path = dir.join("kept.ledger");
    std::fs::write(&path, b"precious").unwrap();
    let run = healthchain(&["generate", text(&path), "--patients", "3", "--transactions", "10"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("exists"), "{}", run.stderr);
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    // Out-of-range arguments are usage errors too.
    let run = healthchain(&["generate", text(&dir.join("n.ledger")), "--patients", "0", "--transactions", "10"]);
    assert_eq!(run.code, 2);
    assert!(!dir.join("n.ledger").exists());
    let run = healthchain(&[
        "generate",
        text(&dir.join("n.ledger")),
        "--patients",
        "3",
        "--transactions",
        "10",
        "--block-size",
        "70000",
    ]);
    assert_eq!(run.code, 2);
}

#[test]
fn verify_and_info_agree_with_generate() {
    let dir = temp_dir("verify");
    let path = dir.join("demo.ledger");
    let generated = generate(&path, "3");

    let run = healthchain(&["verify", text(&path), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["valid"], true);
    assert_eq!(report["failure"], Value::Null);
    assert_eq!(report["recovery"], Value::Null);
    for field in ["blocks", "transactions", "tree_root"] {
        assert_eq!(report[field], generated[field], "{field}");
    }
    assert_eq!(report["tree_size"], generated["transactions"]);
    assert!(is_hex_id(&report["head_hash"]));

    let run = healthchain(&["verify", text(&path)]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("status        VALID"), "{}", run.stdout);
    assert!(run.stderr.is_empty(), "a non-terminal stderr gets no progress bar: {:?}", run.stderr);

    let run = healthchain(&["info", text(&path), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let info = run.json();
    for field in ["chain_id", "blocks", "transactions", "tree_root", "file_bytes"] {
        assert_eq!(info[field], generated[field], "{field}");
    }
    assert_eq!(info["head_hash"], report["head_hash"]);
    assert_eq!(info["head_height"].as_u64().unwrap() + 1, info["blocks"].as_u64().unwrap());
    assert_eq!(info["name"], "healthchain-synthetic");
    assert_eq!(info["seal_threshold"], 1);
    assert_eq!(info["policy"]["break_glass_allowed"], true);
    let authorities = info["authorities"].as_array().unwrap();
    assert_eq!(authorities.len(), 1);
    assert_eq!(authorities[0]["active"], true);
    for role in ["patient", "provider", "insurer", "researcher", "auditor", "authority"] {
        assert_eq!(info["actors"][role], generated["actors"][role], "{role}");
    }
    assert!(info["head_time"].as_str().unwrap().starts_with("2026-01-"), "{}", info["head_time"]);

    let run = healthchain(&["info", text(&path)]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains(&format!("chain id      {}", generated["chain_id"].as_str().unwrap())));
    assert!(run.stdout.contains("20 patients"), "{}", run.stdout);
}

#[test]
fn access_report_lists_who_accessed_a_generated_patient() {
    let dir = temp_dir("report");
    let path = dir.join("demo.ledger");
    let generated = generate(&path, "42");
    let samples: Vec<&str> =
        generated["sample_patients"].as_array().unwrap().iter().filter_map(Value::as_str).collect();

    // The first sample is the most accessed patient.
    let run = healthchain(&["access-report", text(&path), samples[0], "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["patient"], samples[0]);
    let entries = report["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert_eq!(report["accesses"].as_u64().unwrap(), entries.len() as u64);
    for entry in entries {
        assert!(is_hex_id(&entry["accessor"]) && is_hex_id(&entry["access_id"]), "{entry}");
        let time = entry["time"].as_str().unwrap();
        assert!(time.starts_with("2026-01-") && time.ends_with('Z') && time.len() == 20, "{time}");
        assert!(entry["time_ms"].as_u64().unwrap() >= 1_767_225_600_000);
        assert!(["read", "write"].contains(&entry["action"].as_str().unwrap()));
        let kind = entry["basis"]["kind"].as_str().unwrap();
        match kind {
            "owner" => assert_eq!(entry["accessor"], samples[0]),
            "consents" => assert!(!entry["basis"]["consents"].as_array().unwrap().is_empty()),
            "delegation" => assert!(is_hex_id(&entry["basis"]["delegation"])),
            "break-glass" => {
                assert!(["ETREAT", "BTG"].contains(&entry["purpose"].as_str().unwrap()));
                assert_eq!(entry["accessor_role"], "provider");
            }
            other => panic!("unknown basis {other}"),
        }
    }
    // Every generated break-glass access is somewhere; a sample patient is picked for having one.
    if generated["details"]["break_glass_accesses"].as_u64().unwrap() > 0 {
        let total: u64 = samples
            .iter()
            .map(|id| {
                healthchain(&["access-report", text(&path), id, "--json"]).json()["break_glass"]["total"]
                    .as_u64()
                    .unwrap()
            })
            .sum();
        assert!(total > 0);
    }

    let run = healthchain(&["access-report", text(&path), samples[0]]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with(&format!("access report for patient {}", samples[0])), "{}", run.stdout);
    assert!(run.stdout.contains("time (UTC)") && run.stdout.contains(" read "), "{}", run.stdout);
    assert_eq!(run.stdout.lines().count(), 4 + entries.len(), "{}", run.stdout);
}

#[test]
fn access_report_refuses_bad_and_unknown_ids() {
    let dir = temp_dir("bad-id");
    let path = dir.join("demo.ledger");
    generate(&path, "5");
    let info = healthchain(&["info", text(&path), "--json"]).json();
    let authority = info["authorities"][0]["id"].as_str().unwrap().to_owned();
    for (id, needle) in [
        ("not-hex", "invalid patient id"),
        (&"ab".repeat(31), "invalid patient id"),
        (&"0".repeat(64), "no actor"),
        (&authority, "not a patient"),
    ] {
        let run = healthchain(&["access-report", text(&path), id]);
        assert_eq!(run.code, 2, "{id}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{id}: {}", run.stderr);
        assert!(run.stdout.is_empty());
        let run = healthchain(&["access-report", text(&path), id, "--json"]);
        assert_eq!(run.code, 2);
        assert_eq!(run.json()["error"]["exit_code"], 2);
    }
}

#[test]
fn missing_and_foreign_files_are_usage_errors() {
    let dir = temp_dir("missing");
    let missing = dir.join("nope.ledger");
    for command in ["verify", "info"] {
        let run = healthchain(&[command, text(&missing)]);
        assert_eq!(run.code, 2, "{command}");
        assert!(run.stderr.contains("no such file"), "{}", run.stderr);
    }
    let run = healthchain(&["access-report", text(&missing), &"a".repeat(64), "--json"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["error"]["kind"], "not-found");

    let foreign = dir.join("notes.txt");
    std::fs::write(&foreign, "these are not the blocks you are looking for").unwrap();
    let run = healthchain(&["verify", text(&foreign), "--json"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["error"]["kind"], "not-a-ledger");
    let run = healthchain(&["verify", text(&dir.0)]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("directory"), "{}", run.stderr);
}

#[test]
fn a_damaged_byte_is_reported_with_its_block() {
    let dir = temp_dir("damaged");
    let path = dir.join("demo.ledger");
    generate(&path, "9");
    let mut bytes = std::fs::read(&path).unwrap();
    let frames = frames(&bytes);
    let (offset, len) = frames[3];
    bytes[offset + FRAME_HEADER + len / 2] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();

    let run = healthchain(&["verify", text(&path)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("byte {offset} (block 3)")), "{}", run.stderr);
    let run = healthchain(&["verify", text(&path), "--json"]);
    assert_eq!(run.code, 2);
    let error = &run.json()["error"];
    assert_eq!((error["kind"].as_str(), error["height"].as_u64()), (Some("damaged"), Some(3)));
    assert_eq!(error["offset"].as_u64(), Some(offset as u64));
    assert_eq!(healthchain(&["info", text(&path)]).code, 2);
}

#[test]
fn a_flipped_bit_in_the_last_block_is_damage_never_a_cut() {
    // Regression (issue 8, A2): a flip anywhere in the last block made `verify` print VALID ("block 3 was
    // never acknowledged") and a writer's open cut the block.
    let dir = temp_dir("last-block");
    let path = dir.join("demo.ledger");
    generate(&path, "5");
    let clean = std::fs::read(&path).unwrap();
    let (offset, len) = *frames(&clean).last().unwrap();
    let height = frames(&clean).len() - 1;
    for at in [offset, offset + 20, offset + FRAME_HEADER, offset + FRAME_HEADER + len / 2, clean.len() - 1] {
        let mut bytes = clean.clone();
        bytes[at] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        let run = healthchain(&["verify", text(&path), "--json"]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        let error = &run.json()["error"];
        assert_eq!((error["kind"].as_str(), error["height"].as_u64()), (Some("damaged"), Some(height as u64)));
        assert_eq!(error["offset"].as_u64(), Some(offset as u64));
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file is left as it is");
    }
}

#[test]
fn a_tampered_seal_with_a_valid_checksum_fails_verification_at_its_block() {
    let dir = temp_dir("tampered");
    let path = dir.join("demo.ledger");
    let generated = generate(&path, "11");
    let mut bytes = std::fs::read(&path).unwrap();
    let (offset, len) = frames(&bytes)[2];
    // The block ends with its seal: flip a bit of the seal signature and fix the frame checksum, so the file
    // store sees a healthy frame and only verification can tell.
    bytes[offset + FRAME_HEADER + len - 1] ^= 0x01;
    refresh_checksums(&mut bytes, offset, len);
    std::fs::write(&path, &bytes).unwrap();

    let run = healthchain(&["verify", text(&path), "--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["valid"], false);
    assert_eq!(report["failure"]["height"], 2);
    assert_eq!(report["blocks"], 2, "blocks 0 and 1 verified");
    assert!(report["failure"]["reason"].as_str().unwrap().contains("seal"), "{report}");
    assert!(run.stderr.contains("block 2"), "{}", run.stderr);
    assert_ne!(report["tree_root"], generated["tree_root"]);

    let run = healthchain(&["verify", text(&path)]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("status        INVALID"), "{}", run.stdout);
    assert!(run.stdout.contains("first failure block 2"), "{}", run.stdout);
}

#[test]
fn a_torn_tail_is_reported_and_left_in_place() {
    let dir = temp_dir("torn");
    let path = dir.join("demo.ledger");
    let generated = generate(&path, "13");
    let blocks = generated["blocks"].as_u64().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let torn = &bytes[..bytes.len() - 10];
    std::fs::write(&path, torn).unwrap();

    // Never VALID about a file that a writer's open would change: its own status and exit code.
    let run = healthchain(&["verify", text(&path), "--json"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let report = run.json();
    assert_eq!((report["valid"].as_bool(), report["status"].as_str()), (Some(false), Some("incomplete-tail")));
    assert_eq!(report["failure"], Value::Null);
    assert_eq!(report["blocks"].as_u64().unwrap(), blocks - 1);
    assert_eq!(report["recovery"]["lost_height"].as_u64().unwrap(), blocks - 1);
    assert_eq!(report["recovery"]["cut"], false);
    assert_eq!(report["file_bytes"].as_u64().unwrap(), torn.len() as u64, "the file's real size");
    let tail = report["recovery"]["bytes_after"].as_u64().unwrap();
    assert_eq!(report["verified_bytes"].as_u64().unwrap() + tail, torn.len() as u64);
    assert_eq!(std::fs::read(&path).unwrap(), torn, "read-only: the file is untouched");
    let run = healthchain(&["verify", text(&path)]);
    assert_eq!(run.code, 4);
    assert!(run.stdout.contains("status        INCOMPLETE TAIL"), "{}", run.stdout);
    assert!(!run.stdout.contains("VALID\n") && !run.stdout.contains("acknowledged"), "{}", run.stdout);
    let run = healthchain(&["info", text(&path)]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("recovery      incomplete final frame"), "{}", run.stdout);
}

#[test]
fn version_help_and_usage_errors() {
    let run = healthchain(&["--version"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout.trim(), format!("healthchain {}", env!("CARGO_PKG_VERSION")));
    let run = healthchain(&["--help"]);
    assert_eq!(run.code, 0);
    for needle in ["Exit status:", "verify", "info", "generate", "access-report", "Examples:"] {
        assert!(run.stdout.contains(needle), "--help lacks {needle}: {}", run.stdout);
    }
    let run = healthchain(&["verify", "--help"]);
    assert!(run.code == 0 && run.stdout.contains("read-only"), "{}", run.stdout);
    assert_eq!(healthchain(&[]).code, 2);
    assert_eq!(healthchain(&["frobnicate"]).code, 2);
    assert_eq!(healthchain(&["verify"]).code, 2);
}
