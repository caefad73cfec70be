//! The `healthchain` command-line tool, run as a separate process on ledger files it generates (and on a
//! few built with the library, for what `generate` never writes: deactivations, erasures, colliding ids).

use healthchain::{ActorId, Ledger, LedgerSettings, ManualClock, Role, SigningKey};
use serde_json::Value;
use std::collections::HashMap;
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
        (&"ab".repeat(33), "invalid patient id"),
        ("abc", "too short"),
        (&"ab".repeat(31), "no actor"),
        (&"0".repeat(64), "no actor"),
        (&authority, "not a patient"),
        (&authority[..12], "not a patient"),
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
fn missing_and_foreign_files_are_exit_status_5() {
    let dir = temp_dir("missing");
    let missing = dir.join("nope.ledger");
    for command in ["verify", "info", "actors"] {
        let run = healthchain(&[command, text(&missing)]);
        assert_eq!(run.code, 5, "{command}");
        assert!(run.stderr.contains("no such file"), "{}", run.stderr);
    }
    let run = healthchain(&["access-report", text(&missing), &"a".repeat(64), "--json"]);
    assert_eq!(run.code, 5);
    assert_eq!(run.json()["error"]["kind"], "not-found");

    let foreign = dir.join("notes.txt");
    std::fs::write(&foreign, "these are not the blocks you are looking for").unwrap();
    let run = healthchain(&["verify", text(&foreign), "--json"]);
    assert_eq!(run.code, 5);
    assert_eq!(run.json()["error"]["kind"], "not-a-ledger");
    let run = healthchain(&["verify", text(&dir.0)]);
    assert_eq!(run.code, 5);
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
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("byte {offset} (block 3)")), "{}", run.stderr);
    let run = healthchain(&["verify", text(&path), "--json"]);
    assert_eq!(run.code, 6);
    let error = &run.json()["error"];
    assert_eq!((error["kind"].as_str(), error["height"].as_u64()), (Some("damaged"), Some(3)));
    assert_eq!(error["offset"].as_u64(), Some(offset as u64));
    assert_eq!(error["exit_code"], 6);
    assert_eq!(healthchain(&["info", text(&path)]).code, 6);
    assert_eq!(healthchain(&["actors", text(&path)]).code, 6);
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
        assert_eq!(run.code, 6, "{}", run.stderr);
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
    for needle in ["Exit status:", "verify", "info", "actors", "generate", "access-report", "Examples:", "  6  "] {
        assert!(run.stdout.contains(needle), "--help lacks {needle}: {}", run.stdout);
    }
    let run = healthchain(&["verify", "--help"]);
    assert!(run.code == 0 && run.stdout.contains("read-only"), "{}", run.stdout);
    assert_eq!(healthchain(&[]).code, 2);
    assert_eq!(healthchain(&["frobnicate"]).code, 2);
    assert_eq!(healthchain(&["verify"]).code, 2);
}

// ---- exit statuses per failure class ----

/// `bytes` with the format version in the file header set to `version` and the header checksum refreshed,
/// as a newer writer would leave it.
fn with_version(bytes: &[u8], version: u32) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    bytes[8..12].copy_from_slice(&version.to_le_bytes());
    let crc = crc32c::crc32c(&bytes[..44]);
    bytes[44..48].copy_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn each_failure_class_has_its_own_exit_status() {
    let dir = temp_dir("classes");
    let good = dir.join("good.ledger");
    let generated = generate(&good, "21");
    let clean = std::fs::read(&good).unwrap();
    let frames = frames(&clean);
    let patient = generated["sample_patients"][0].as_str().unwrap().to_owned();

    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let mut checksum = clean.clone();
    checksum[frames[2].0 + FRAME_HEADER + 5] ^= 0x01;
    let mut framing = clean.clone();
    framing[frames[2].0..frames[2].0 + 4].copy_from_slice(b"XXXX");
    let mut tampered = clean.clone();
    let (offset, len) = frames[2];
    tampered[offset + FRAME_HEADER + len - 1] ^= 0x01;
    refresh_checksums(&mut tampered, offset, len);
    let no_dir = dir.join("no-such-dir").join("x.ledger");
    let cases: Vec<(PathBuf, u8, &str)> = vec![
        (good.clone(), 0, ""),
        (write("tampered.ledger", &tampered), 1, "invalid"),
        (dir.join("missing.ledger"), 5, "not-found"),
        (no_dir.clone(), 5, "no-such-directory"),
        (dir.0.clone(), 5, "is-a-directory"),
        (write("notes.txt", b"not a ledger at all, just notes"), 5, "not-a-ledger"),
        (write("checksum.ledger", &checksum), 6, "damaged"),
        (write("framing.ledger", &framing), 6, "damaged"),
        (write("version.ledger", &with_version(&clean, 99)), 6, "unknown-version"),
        (write("creation.ledger", &clean[..frames[0].0 + FRAME_HEADER + 10]), 6, "incomplete-creation"),
        (write("empty.ledger", b""), 6, "empty"),
    ];
    for command in ["verify", "info", "actors", "access-report"] {
        for (path, code, kind) in &cases {
            let mut args = vec![command, text(path)];
            if command == "access-report" {
                args.push(&patient);
            }
            // verify reports a tampered seal in its report (exit 1); the others refuse to open the ledger.
            let run = healthchain(&args);
            assert_eq!(run.code, i32::from(*code), "{command} {}: {}", path.display(), run.stderr);
            args.push("--json");
            let run = healthchain(&args);
            assert_eq!(run.code, i32::from(*code), "{command} {} --json: {}", path.display(), run.stderr);
            let document = run.json();
            if *code > 1 {
                assert_eq!(document["error"]["kind"], *kind, "{command} {}: {document}", path.display());
                assert_eq!(document["error"]["exit_code"], *code);
            } else if *code == 1 && command != "verify" {
                assert_eq!(document["error"]["kind"], "invalid");
            }
            assert!(run.stderr.is_empty() || *code != 0, "{command}: no progress bar off a terminal");
        }
    }
    // The torn tail (4) and a usage error (2) complete the table.
    let torn = write("torn.ledger", &clean[..clean.len() - 10]);
    assert_eq!(healthchain(&["verify", text(&torn)]).code, 4);
    assert_eq!(healthchain(&["verify", text(&good), "--frobnicate"]).code, 2);
    assert_eq!(healthchain(&["access-report", text(&good), "nothex"]).code, 2);
}

#[test]
fn missing_directories_and_directories_are_named_for_every_command() {
    let dir = temp_dir("dirs");
    let no_dir = dir.join("no").join("such").join("dir");
    let inside = no_dir.join("x.ledger");
    let expected = format!("directory {} does not exist", no_dir.display());
    let id = "ab".repeat(32);
    let commands: [&[&str]; 5] = [
        &["verify"],
        &["info"],
        &["actors"],
        &["access-report", "{path}", &id],
        &["generate", "{path}", "--patients", "2", "--transactions", "10"],
    ];
    for command in commands {
        for (path, needle) in [(&inside, expected.as_str()), (&dir.0, "is a directory")] {
            let mut args: Vec<&str> = command.iter().map(|a| if *a == "{path}" { text(path) } else { a }).collect();
            if args.len() == 1 {
                args.push(text(path));
            }
            let run = healthchain(&args);
            assert_eq!(run.code, 5, "{args:?}: {}", run.stderr);
            assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
            args.push("--json");
            let error = &healthchain(&args).json()["error"];
            assert!(error["message"].as_str().unwrap().contains(needle), "{error}");
        }
    }
    assert!(!dir.join("no").exists(), "generate creates no directory");
    // A path through a file is not through a directory.
    let file = dir.join("plain.txt");
    std::fs::write(&file, "x").unwrap();
    let through = file.join("x.ledger");
    let run = healthchain(&["generate", text(&through), "--patients", "2", "--transactions", "10", "--json"]);
    assert_eq!(run.code, 5);
    assert_eq!(run.json()["error"]["kind"], "not-a-directory");
    assert!(run.stderr.contains("is not a directory"), "{}", run.stderr);
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_exit_status_5() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir("unreadable");
    let path = dir.join("locked.ledger");
    generate(&path, "2");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&path).is_ok() {
        // Running as root: permissions do not stop reads, nothing to test.
        return;
    }
    let run = healthchain(&["info", text(&path), "--json"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(run.json()["error"]["kind"], "permission-denied");
}

// ---- --json for command-line errors ----

#[test]
fn command_line_errors_are_json_with_json() {
    let dir = temp_dir("json-usage");
    let path = dir.join("demo.ledger");
    generate(&path, "4");
    let cases: [&[&str]; 8] = [
        &["--json"],
        &["--json", "frobnicate"],
        &["verify", "--json"],
        &["verify", text(&path), "--frobnicate", "--json"],
        &["--json", "generate", "x.ledger", "--patients", "0", "--transactions", "10"],
        &["generate", "x.ledger", "--patients", "many", "--transactions", "10", "--json"],
        &["actors", text(&path), "--role", "nurse", "--json"],
        &["actors", text(&path), "abcd", "--role", "patient", "--json"],
    ];
    for args in cases {
        let run = healthchain(args);
        assert_eq!(run.code, 2, "{args:?}");
        let document = run.json();
        let error = &document["error"];
        assert_eq!(error["kind"], "usage", "{args:?}: {document}");
        assert_eq!(error["exit_code"], 2, "{args:?}");
        let message = error["message"].as_str().unwrap();
        assert!(!message.is_empty() && !message.starts_with("error:"), "{args:?}: {message}");
        assert!(run.stderr.contains("error:"), "clap's message stays on stderr: {}", run.stderr);
        // Without --json, clap's usual output and nothing on stdout.
        let plain: Vec<&str> = args.iter().copied().filter(|a| *a != "--json").collect();
        let run = healthchain(&plain);
        assert_eq!(run.code, 2, "{plain:?}");
        assert!(run.stdout.is_empty() && run.stderr.contains("error:"), "{plain:?}: {}", run.stdout);
    }
    assert!(!dir.join("x.ledger").exists() && !Path::new("x.ledger").exists());
    // An unknown role lists the valid ones, in JSON and in text.
    let run = healthchain(&["actors", text(&path), "--role", "nurse", "--json"]);
    let valid = run.json()["error"]["valid_values"].clone();
    let roles = ["patient", "provider", "insurer", "researcher", "auditor", "authority"];
    assert_eq!(valid, serde_json::json!(roles));
    let run = healthchain(&["actors", text(&path), "--role", "nurse"]);
    assert!(roles.iter().all(|r| run.stderr.contains(r)), "{}", run.stderr);
    // Help and version are not errors, --json or not.
    let run = healthchain(&["--json", "--help"]);
    assert!(run.code == 0 && run.stdout.contains("Exit status:"), "{}", run.stdout);
    let run = healthchain(&["verify", "--help", "--json"]);
    assert!(run.code == 0 && run.stdout.contains("read-only") && !run.stdout.starts_with('{'));
    let run = healthchain(&["--version", "--json"]);
    assert_eq!((run.code, run.stdout.trim()), (0, format!("healthchain {}", env!("CARGO_PKG_VERSION")).as_str()));
    // After `--`, --json is an argument, not the flag.
    let run = healthchain(&["verify", "--", "--json"]);
    assert_eq!(run.code, 5);
    assert!(run.stdout.is_empty());
}

// ---- id prefixes ----

/// The actors of a ledger (`actors --json`).
fn actors_json(path: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["actors", text(path), "--json"];
    args.extend_from_slice(extra);
    let run = healthchain(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

#[test]
fn id_prefixes_are_accepted_as_git_accepts_them() {
    let dir = temp_dir("prefixes");
    let path = dir.join("demo.ledger");
    let generated = generate(&path, "42");
    let patient = generated["sample_patients"][0].as_str().unwrap();
    let listed = actors_json(&path, &[]);
    let ids: Vec<&str> = listed["actors"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    let report = |id: &str| healthchain(&["access-report", text(&path), id, "--json"]);

    // The full id, its 12-digit short form, the shortest unique prefix of 4 or more, upper case.
    let unique = (4..=12).map(|n| &patient[..n]).find(|p| ids.iter().filter(|id| id.starts_with(p)).count() == 1);
    let upper = patient[..12].to_uppercase();
    for id in [patient, &patient[..12], unique.unwrap(), &upper, &patient.to_uppercase()] {
        let run = report(id);
        assert_eq!(run.code, 0, "{id}: {}", run.stderr);
        assert_eq!(run.json()["patient"], patient, "{id}");
    }
    // A short id the tool printed (actors' text listing, access-report's accessor column) is accepted back.
    let listing = healthchain(&["actors", text(&path), "--role", "patient"]).stdout;
    let printed = listing.lines().find(|l| l.starts_with(&patient[..12])).unwrap().split_whitespace().next().unwrap();
    assert_eq!(printed.len(), 12);
    assert_eq!(report(printed).json()["patient"], patient);
    let accessor_line = healthchain(&["access-report", text(&path), patient]).stdout;
    let accessor = accessor_line.lines().nth(4).unwrap().split_whitespace().nth(1).unwrap().to_owned();
    let run = healthchain(&["actors", text(&path), &accessor, "--json"]);
    assert_eq!(run.code, 0, "{accessor}: {}", run.stderr);
    let shown = &run.json()["actors"];
    assert_eq!(shown.as_array().unwrap().len(), 1);
    assert!(shown[0]["id"].as_str().unwrap().starts_with(&accessor));

    // An unknown prefix says so; a too short or malformed one is refused before the file is read.
    let unknown =
        (0..=0xffff_u32).map(|n| format!("{n:04x}")).find(|p| !ids.iter().any(|id| id.starts_with(p.as_str())));
    let unknown = unknown.unwrap();
    for id in [unknown.as_str(), &format!("{unknown}0123")] {
        let run = report(id);
        assert_eq!(run.code, 2, "{id}");
        let error = &run.json()["error"];
        assert_eq!(error["kind"], "unknown-id");
        assert!(error["message"].as_str().unwrap().contains("no actor"), "{error}");
    }
    for id in ["abc", "a", "xyz1", "0x1234", "12-34"] {
        let run = healthchain(&["access-report", text(&dir.join("absent.ledger")), id, "--json"]);
        assert_eq!((run.code, run.json()["error"]["kind"].as_str()), (2, Some("invalid-id")), "{id}");
    }
}

/// The key of test actor `index` in `domain` (distinct domains never share keys).
fn test_key(domain: u8, index: u64) -> SigningKey {
    let mut seed = [domain; 32];
    seed[..8].copy_from_slice(&index.to_le_bytes());
    SigningKey::from_seed(&seed)
}

/// Two keys whose actor ids share their first four hex digits (a deterministic search: ~300 keys).
fn colliding_keys() -> (SigningKey, SigningKey) {
    let mut seen: HashMap<[u8; 2], u64> = HashMap::new();
    for index in 0.. {
        let id = ActorId::from_key(&test_key(7, index).public_key());
        let bytes = id.as_bytes();
        if let Some(first) = seen.insert([bytes[0], bytes[1]], index) {
            return (test_key(7, first), test_key(7, index));
        }
    }
    unreachable!()
}

/// What [`library_ledger`] registered.
struct Built {
    /// A patient and a provider whose ids share their first 4 hex digits.
    twins: (String, String),
    /// A patient whose key was rotated twice.
    rotated: String,
    /// A provider who was deactivated.
    deactivated: String,
    /// A patient whose data was erased.
    erased: String,
}

/// A ledger with what `generate` never writes: colliding id prefixes, two key rotations, a deactivation
/// and an erasure, each in its own block.
fn library_ledger(path: &Path) -> Built {
    let clock = ManualClock::new(1_767_225_600_000);
    let hospital = test_key(1, 0);
    let mut ledger =
        Ledger::create_file(path, Box::new(clock.clone()), &LedgerSettings::new("test"), &[&hospital]).unwrap();
    let seal = |ledger: &mut Ledger<_>| {
        ledger.seal(&[&hospital]).unwrap();
        clock.advance(60_000);
    };
    let (twin_patient, twin_provider) = colliding_keys();
    let (rotating, leaving, erasing) = (test_key(2, 0), test_key(2, 1), test_key(2, 2));
    let register = |ledger: &mut Ledger<_>, key: &SigningKey, role| ledger.register(&hospital, key, role).unwrap();
    let twins =
        (register(&mut ledger, &twin_patient, Role::Patient), register(&mut ledger, &twin_provider, Role::Provider));
    let rotated = register(&mut ledger, &rotating, Role::Patient);
    let deactivated = register(&mut ledger, &leaving, Role::Provider);
    let erased = register(&mut ledger, &erasing, Role::Patient);
    seal(&mut ledger);
    ledger.rotate_key(&rotating, rotated, &test_key(3, 0)).unwrap();
    seal(&mut ledger);
    ledger.rotate_key(&hospital, rotated, &test_key(3, 1)).unwrap();
    seal(&mut ledger);
    ledger.deactivate(&hospital, deactivated).unwrap();
    seal(&mut ledger);
    ledger.erase_subject(&erasing, erased).unwrap();
    seal(&mut ledger);
    Built {
        twins: (twins.0.to_string(), twins.1.to_string()),
        rotated: rotated.to_string(),
        deactivated: deactivated.to_string(),
        erased: erased.to_string(),
    }
}

#[test]
fn an_ambiguous_prefix_lists_the_candidates_with_their_roles() {
    let dir = temp_dir("ambiguous");
    let path = dir.join("built.ledger");
    let built = library_ledger(&path);
    let (patient, provider) = &built.twins;
    let common = patient.chars().zip(provider.chars()).take_while(|(a, b)| a == b).count();
    assert!(common >= 4);
    let prefix = &patient[..4];
    for args in [["access-report", text(&path), prefix], ["actors", text(&path), &prefix.to_uppercase()]] {
        let run = healthchain(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("ambiguous"), "{}", run.stderr);
        for (id, role) in [(patient, "patient"), (provider, "provider")] {
            assert!(run.stderr.contains(&format!("{id}  {role}")), "{}", run.stderr);
        }
        let mut args = args.to_vec();
        args.push("--json");
        let run = healthchain(&args);
        assert_eq!(run.code, 2);
        let error = &run.json()["error"];
        assert_eq!((error["kind"].as_str(), error["matches"].as_u64()), (Some("ambiguous-id"), Some(2)));
        let candidates = error["candidates"].as_array().unwrap();
        let found: Vec<(&str, &str)> =
            candidates.iter().map(|c| (c["id"].as_str().unwrap(), c["role"].as_str().unwrap())).collect();
        assert!(found.contains(&(patient.as_str(), "patient")) && found.contains(&(provider.as_str(), "provider")));
    }
    // One digit past the common part settles it.
    let run = healthchain(&["access-report", text(&path), &patient[..=common], "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["patient"], patient.as_str());
    let run = healthchain(&["access-report", text(&path), &provider[..=common]]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is a provider, not a patient"), "{}", run.stderr);
}

// ---- actors ----

#[test]
fn actors_lists_what_generate_created() {
    let dir = temp_dir("actors");
    let path = dir.join("demo.ledger");
    let generated = generate(&path, "42");
    let listed = actors_json(&path, &[]);
    let actors = listed["actors"].as_array().unwrap();
    let total: u64 = generated["actors"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(listed["count"].as_u64(), Some(total));
    assert_eq!(listed["total_actors"].as_u64(), Some(total));
    assert_eq!(actors.len() as u64, total);
    assert_eq!(listed["by_role"], generated["actors"]);
    let mut rotations = 0;
    let mut previous = (0, 0);
    for actor in actors {
        assert!(is_hex_id(&actor["id"]) && is_hex_id(&actor["public_key"]), "{actor}");
        assert_eq!(actor["status"], "active");
        assert_eq!((actor["deactivated"].clone(), actor["erased"].clone()), (Value::Null, Value::Null));
        let keys = actor["keys"].as_array().unwrap();
        assert_eq!(keys.len() as u64, actor["key_rotations"].as_u64().unwrap() + 1);
        assert_eq!(keys.last().unwrap()["public_key"], actor["public_key"]);
        rotations += actor["key_rotations"].as_u64().unwrap();
        let registered = (actor["registered_height"].as_u64().unwrap(), actor["registered_time_ms"].as_u64().unwrap());
        assert!(registered >= previous, "in order of registration");
        previous = registered;
        assert_eq!(keys[0]["from_height"].as_u64(), Some(registered.0));
        assert!(actor["registered_time"].as_str().unwrap().starts_with("2026-01-01T"));
    }
    assert_eq!(rotations, generated["details"]["key_rotations"].as_u64().unwrap());
    // The authority first, at genesis, and the same one `info` names.
    let info = healthchain(&["info", text(&path), "--json"]).json();
    assert_eq!(
        (actors[0]["id"].clone(), actors[0]["role"].as_str()),
        (info["authorities"][0]["id"].clone(), Some("authority"))
    );
    assert_eq!(actors[0]["registered_height"], 0);
    // Every sample patient is a patient in the listing.
    for sample in generated["sample_patients"].as_array().unwrap() {
        assert!(actors.iter().any(|a| a["id"] == *sample && a["role"] == "patient"), "{sample}");
    }

    // --role filters, repeated or comma-separated, in any case.
    let patients = actors_json(&path, &["--role", "patient"]);
    assert_eq!(patients["count"], generated["actors"]["patient"]);
    assert!(patients["actors"].as_array().unwrap().iter().all(|a| a["role"] == "patient"));
    assert_eq!(patients["roles"], serde_json::json!(["patient"]));
    for extra in [&["--role", "provider,insurer"][..], &["--role", "Provider", "--role", "INSURER"]] {
        let some = actors_json(&path, extra);
        let expected =
            generated["actors"]["provider"].as_u64().unwrap() + generated["actors"]["insurer"].as_u64().unwrap();
        assert_eq!(some["count"].as_u64(), Some(expected), "{extra:?}");
        assert!(some["actors"].as_array().unwrap().iter().all(|a| a["role"] == "provider" || a["role"] == "insurer"));
    }

    // The text listing: a summary, a header, one row per actor, short ids unless --full-ids.
    let run = healthchain(&["actors", text(&path)]);
    assert_eq!(run.code, 0);
    assert!(run.stderr.is_empty(), "no progress bar off a terminal: {}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len() as u64, 4 + total, "{}", run.stdout);
    assert!(lines[1].contains(&format!("actors        {total}: ")) && lines[1].contains("20 patients"), "{}", lines[1]);
    assert!(lines[3].starts_with("id ") && lines[3].contains("role") && lines[3].ends_with("status"));
    let first = actors[0]["id"].as_str().unwrap();
    assert!(lines[4].starts_with(&format!("{}  authority", &first[..12])), "{}", lines[4]);
    assert!(!run.stdout.contains(first), "short ids by default");
    let full = healthchain(&["actors", text(&path), "--role", "authority", "--full-ids"]);
    assert!(full.stdout.contains(first) && full.stdout.contains(actors[0]["public_key"].as_str().unwrap()));
    assert!(full.stdout.contains("actors        1 of "), "{}", full.stdout);
}

#[test]
fn actors_shows_rotations_deactivations_and_erasures() {
    let dir = temp_dir("actor-status");
    let path = dir.join("built.ledger");
    let built = library_ledger(&path);
    let listed = actors_json(&path, &[]);
    let by_id = |id: &str| listed["actors"].as_array().unwrap().iter().find(|a| a["id"] == id).unwrap().clone();

    let rotated = by_id(&built.rotated);
    assert_eq!((rotated["key_rotations"].as_u64(), rotated["status"].as_str()), (Some(2), Some("active")));
    let keys = rotated["keys"].as_array().unwrap();
    let heights: Vec<u64> = keys.iter().map(|k| k["from_height"].as_u64().unwrap()).collect();
    assert_eq!(heights, [1, 2, 3]);
    let current = healthchain::hash::to_hex(&test_key(3, 1).public_key().to_bytes());
    assert_eq!(rotated["public_key"], current.as_str());

    let deactivated = by_id(&built.deactivated);
    assert_eq!(deactivated["status"], "deactivated");
    assert_eq!(deactivated["deactivated"]["height"], 4);
    assert!(deactivated["deactivated"]["time"].as_str().unwrap().starts_with("2026-01-01T"));
    let erased = by_id(&built.erased);
    assert_eq!((erased["status"].as_str(), erased["erased"]["height"].as_u64()), (Some("erased"), Some(5)));
    assert_eq!(erased["deactivated"], Value::Null);
    assert_eq!(by_id(&built.twins.0)["status"], "active");

    // The text listing and the one-actor view say the same.
    let run = healthchain(&["actors", text(&path)]);
    let row = |id: &str| run.stdout.lines().find(|l| l.starts_with(&id[..12])).unwrap().to_owned();
    assert!(row(&built.deactivated).contains("deactivated 2026-01-01T00:03:00Z (block 4)"), "{}", run.stdout);
    assert!(row(&built.erased).contains("erased 2026-01-01T00:04:00Z (block 5)"), "{}", run.stdout);
    assert!(row(&built.rotated).contains("  2  "), "{}", row(&built.rotated));
    let run = healthchain(&["actors", text(&path), &built.rotated[..8]]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(&format!("actor         {}\nrole          patient\n", built.rotated)),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("keys          3 (2 rotations)"), "{}", run.stdout);
    assert_eq!(run.stdout.matches("  previous    ").count(), 2, "{}", run.stdout);
    assert!(run.stdout.contains(&format!("  current     {current}  since ")), "{}", run.stdout);
    // An actor id and --role do not go together.
    assert_eq!(healthchain(&["actors", text(&path), &built.rotated, "--role", "patient"]).code, 2);
}

#[test]
fn generate_help_says_the_same_seed_writes_the_same_file() {
    let run = healthchain(&["generate", "--help"]);
    assert_eq!(run.code, 0);
    assert!(!run.stdout.contains("random"), "{}", run.stdout);
    assert!(run.stdout.contains("byte for byte"), "{}", run.stdout);
    // What it says is true (generate_is_deterministic_for_a_seed compares the files too).
    let dir = temp_dir("help-truth");
    let (a, b) = (dir.join("a.ledger"), dir.join("b.ledger"));
    let (first, second) = (generate(&a, "99"), generate(&b, "99"));
    assert_eq!(first["chain_id"], second["chain_id"]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn json_output_and_a_pipe_get_no_progress_bar() {
    let dir = temp_dir("quiet");
    let path = dir.join("demo.ledger");
    let generated = generate(&path, "6");
    let patient = generated["sample_patients"][0].as_str().unwrap();
    for args in [
        vec!["info", text(&path)],
        vec!["actors", text(&path)],
        vec!["access-report", text(&path), patient],
        vec!["verify", text(&path)],
    ] {
        for json in [false, true] {
            let mut args = args.clone();
            if json {
                args.push("--json");
            }
            let run = healthchain(&args);
            assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
            assert!(run.stderr.is_empty(), "{args:?}: {:?}", run.stderr);
            if json {
                run.json();
            }
        }
    }
}

// ---- checkpoints, proofs, witnesses and receipts (issue 10) ----

/// Generates a small ledger (`patients` patients, `transactions` transactions, blocks of 100) whose
/// authority key goes to `<path>.key`; returns generate's JSON.
fn generate_with_key(path: &Path, seed: &str, patients: &str, transactions: &str) -> Value {
    let key = format!("{}.key", text(path));
    let run = healthchain(&[
        "generate",
        text(path),
        "--patients",
        patients,
        "--transactions",
        transactions,
        "--seed",
        seed,
        "--block-size",
        "100",
        "--authority-key-out",
        &key,
        "--json",
    ]);
    assert_eq!(run.code, 0, "generate failed: {}", run.stderr);
    run.json()
}

/// Publishes the checkpoint of the ledger at `path` (signed with `<path>.key`) to `note`; returns the JSON.
fn publish(path: &Path, note: &Path) -> Value {
    let key = format!("{}.key", text(path));
    let run = healthchain(&["checkpoint", "create", text(path), "--key", &key, "--out", text(note), "--json"]);
    assert_eq!(run.code, 0, "checkpoint create failed: {}", run.stderr);
    run.json()
}

/// The verifier key of the authority key `key` of the ledger at `ledger`.
fn authority_vkey(key: &str, ledger: &Path) -> String {
    let run = healthchain(&["key", "vkey", key, "--ledger", text(ledger)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout.trim().to_owned()
}

/// A copy of `from` at `to` cut to its first `len` bytes (without its carried checkpoints).
fn cut_copy(from: &Path, to: &Path, len: u64) {
    std::fs::copy(from, to).unwrap();
    std::fs::OpenOptions::new().write(true).open(to).unwrap().set_len(len).unwrap();
}

#[test]
fn generate_writes_the_authority_key_file_owner_only() {
    let dir = temp_dir("authority-key");
    let path = dir.join("demo.ledger");
    let generated = generate_with_key(&path, "3", "5", "60");
    let key = dir.join("demo.ledger.key");
    let content = std::fs::read_to_string(&key).unwrap();
    assert!(content.len() == 65 && content.ends_with('\n') && content[..64].bytes().all(|b| b.is_ascii_hexdigit()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // The verifier key generate prints is the one `key vkey` gives, named by the ledger's origin.
    let vkey = authority_vkey(text(&key), &path);
    assert_eq!(generated["authority_vkey"], vkey.as_str());
    assert!(vkey.starts_with(&format!("healthchain/{}+", generated["chain_id"].as_str().unwrap())), "{vkey}");
    // The same seed gives the same key; an existing key file is refused before anything is generated.
    let again = dir.join("again.ledger");
    let run = healthchain(&[
        "generate",
        text(&again),
        "--patients",
        "5",
        "--transactions",
        "60",
        "--seed",
        "3",
        "--authority-key-out",
        text(&key),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("file exists"), "{}", run.stderr);
    assert!(!again.exists(), "no ledger generated");
}

#[test]
fn verify_with_a_checkpoint_catches_a_cut_at_every_block_and_mid_frame() {
    let dir = temp_dir("cut");
    let path = dir.join("demo.ledger");
    let generated = generate_with_key(&path, "3", "20", "500");
    let note = dir.join("published.note");
    let published = publish(&path, &note);
    assert_eq!(published["size"], generated["transactions"]);
    assert_eq!(published["root_hex"], generated["tree_root"]);
    let vkey = authority_vkey(&format!("{}.key", text(&path)), &path);

    // The ledger itself keeps the checkpoint, given or carried.
    let run = healthchain(&["verify", text(&path), "--checkpoint", text(&note), "--authority-key", &vkey, "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!((report["status"].as_str(), report["valid"].as_bool()), (Some("valid"), Some(true)));
    let checkpoints = report["checkpoints"].as_array().unwrap();
    assert_eq!(checkpoints.len(), 2, "the one given and the one carried: {report}");
    assert_eq!(checkpoints[1]["carried"], true);
    for checkpoint in checkpoints {
        assert_eq!(checkpoint["kept"], true);
        assert_eq!(checkpoint["standing"]["status"], "extends");
        assert_eq!(checkpoint["authorities"], 1);
    }
    assert_eq!(report["signatures_checked_against"], "given-keys");

    // Cut to every whole number of blocks, and in the middle of a frame: TRUNCATED, exit status 7.
    let bytes = std::fs::read(&path).unwrap();
    let frames = frames(&bytes);
    let cut = dir.join("cut.ledger");
    let mut lengths: Vec<u64> = frames.iter().skip(1).map(|(offset, _)| *offset as u64).collect();
    lengths.push(bytes.len() as u64 - 1);
    lengths.push(frames[2].0 as u64 + 100);
    for len in lengths {
        cut_copy(&path, &cut, len);
        let run = healthchain(&["verify", text(&cut), "--checkpoint", text(&note), "--authority-key", &vkey, "--json"]);
        assert_eq!(run.code, 7, "cut to {len} bytes: {}", run.stdout);
        let report = run.json();
        assert_eq!((report["status"].as_str(), report["valid"].as_bool()), (Some("truncated"), Some(false)));
        let standing = &report["checkpoints"][0]["standing"];
        assert_eq!(standing["status"], "truncated");
        assert_eq!(standing["checkpoint_size"], 500);
        assert_eq!(standing["ledger_size"], report["tree_size"]);
        assert!(run.stderr.contains("TRUNCATED"), "{}", run.stderr);
        // Without --authority-key: the ledger's own authorities, and the output says so.
        let run = healthchain(&["verify", text(&cut), "--checkpoint", text(&note)]);
        assert_eq!(run.code, 7);
        assert!(run.stdout.contains("status        TRUNCATED"), "{}", run.stdout);
        assert!(!run.stdout.contains("VALID"), "{}", run.stdout);
        assert!(run.stdout.contains("checked against the ledger's own authorities"), "{}", run.stdout);
        // A copy that carries its checkpoints is caught with no --checkpoint at all, and no longer opens.
        std::fs::copy(dir.join("demo.ledger.checkpoints"), dir.join("cut.ledger.checkpoints")).unwrap();
        let run = healthchain(&["verify", text(&cut)]);
        assert_eq!(run.code, 7, "{}", run.stdout);
        assert!(run.stdout.contains("carried by the ledger"), "{}", run.stdout);
        let run = healthchain(&["prove", "inclusion", text(&cut), "--index", "1"]);
        assert_eq!(run.code, 7, "{}", run.stderr);
        assert!(run.stderr.contains("goes back on a checkpoint it carries"), "{}", run.stderr);
        std::fs::remove_file(dir.join("cut.ledger.checkpoints")).unwrap();
    }
    // Without any checkpoint the cut copy is just a shorter (or torn) ledger: what the checkpoint is for.
    cut_copy(&path, &cut, frames[3].0 as u64);
    assert_eq!(healthchain(&["verify", text(&cut)]).code, 0);
}

#[test]
fn verify_reports_forks_with_their_evidence_and_checkpoints_of_other_ledgers() {
    let dir = temp_dir("fork");
    let path = dir.join("demo.ledger");
    generate_with_key(&path, "3", "20", "500");
    let note = dir.join("published.note");
    publish(&path, &note);
    let vkey = authority_vkey(&format!("{}.key", text(&path)), &path);

    // The same seed and authority, one more patient: the same genesis, then another history.
    let fork = dir.join("fork.ledger");
    generate_with_key(&fork, "3", "21", "500");
    let run = healthchain(&["verify", text(&fork), "--checkpoint", text(&note), "--authority-key", &vkey, "--json"]);
    let run_text = healthchain(&["verify", text(&fork), "--checkpoint", text(&note), "--authority-key", &vkey]);
    assert_eq!(run.code, 8, "{}", run.stdout);
    let report = run.json();
    assert_eq!(report["status"], "forked");
    let evidence = &report["checkpoints"][0]["standing"];
    assert_eq!(evidence["status"], "forked");
    assert_eq!(evidence["size"], 500);
    assert_eq!(evidence["checkpoint_root"], report["checkpoints"][0]["root_hex"]);
    assert_eq!(evidence["ledger_root"], report["tree_root"], "the fork is as long as the checkpoint");
    assert_ne!(evidence["ledger_root"], evidence["checkpoint_root"]);
    assert!(evidence["block"].as_u64().is_some() && is_hex_id(&evidence["block_hash"]), "{evidence}");
    assert_eq!(run_text.code, 8);
    assert!(run_text.stdout.contains("status        FORKED"), "{}", run_text.stdout);
    for needle in [
        "another root at size 500",
        evidence["checkpoint_root"].as_str().unwrap(),
        evidence["ledger_root"].as_str().unwrap(),
        evidence["block_hash"].as_str().unwrap(),
    ] {
        assert!(run_text.stdout.contains(needle), "{needle}: {}", run_text.stdout);
    }

    // Another ledger altogether.
    let other = dir.join("other.ledger");
    generate(&other, "4");
    let run = healthchain(&["verify", text(&other), "--checkpoint", text(&note), "--authority-key", &vkey, "--json"]);
    assert_eq!(run.code, 9, "{}", run.stdout);
    assert_eq!(run.json()["status"], "other-ledger");
    let run = healthchain(&["verify", text(&other), "--checkpoint", text(&note)]);
    assert_eq!(run.code, 9);
    assert!(run.stdout.contains("OTHER LEDGER") && run.stdout.contains("signatures not checked"), "{}", run.stdout);
}

#[test]
fn verify_refuses_checkpoints_not_signed_as_required() {
    let dir = temp_dir("refused");
    let path = dir.join("demo.ledger");
    generate_with_key(&path, "3", "20", "500");
    let note = dir.join("published.note");
    publish(&path, &note);
    let key = format!("{}.key", text(&path));
    let vkey = authority_vkey(&key, &path);
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", text(&path), "--checkpoint", text(&note), "--json"];
        args.extend_from_slice(extra);
        healthchain(&args)
    };
    // The right key, in a file or given twice, with a threshold it meets.
    let vkey_file = dir.join("hospital.vkey");
    std::fs::write(&vkey_file, format!("# the hospital\n{vkey}\n")).unwrap();
    assert_eq!(verify(&["--authority-key", text(&vkey_file), "--authorities-required", "1"]).code, 0);
    // Another key under the ledger's name: exit status 10, before the blocks are read.
    let other = dir.join("other.key");
    assert_eq!(healthchain(&["key", "generate", text(&other)]).code, 0);
    let wrong = authority_vkey(text(&other), &path);
    let run = verify(&["--authority-key", &wrong]);
    assert_eq!(run.code, 10, "{}", run.stdout);
    assert_eq!(run.json()["error"]["kind"], "checkpoint-refused");
    // A witness the note lacks.
    let witness = healthchain(&["key", "vkey", text(&other), "--witness", "w.example"]).stdout.trim().to_owned();
    let run = verify(&["--authority-key", &vkey, "--witness-key", &witness]);
    assert_eq!(run.code, 10);
    assert!(run.json()["error"]["message"].as_str().unwrap().contains("cosigned by 0"), "{}", run.stdout);
    // A changed root: the signature no longer verifies.
    let mut changed = std::fs::read_to_string(&note).unwrap();
    let root_line = changed.lines().nth(2).unwrap().to_owned();
    let flipped =
        if root_line.starts_with('A') { root_line.replacen('A', "B", 1) } else { format!("A{}", &root_line[1..]) };
    changed = changed.replacen(&root_line, &flipped, 1);
    std::fs::write(dir.join("changed.note"), &changed).unwrap();
    let run = healthchain(&["verify", text(&path), "--checkpoint", text(&dir.join("changed.note"))]);
    assert_eq!(run.code, 10, "{}", run.stdout);
    // Malformed, missing; keys of the wrong kind, thresholds above the keys given: usage errors.
    std::fs::write(dir.join("garbage.note"), "not a note\n").unwrap();
    let run = healthchain(&["verify", text(&path), "--checkpoint", text(&dir.join("garbage.note")), "--json"]);
    assert_eq!((run.code, run.json()["error"]["kind"].as_str()), (10, Some("malformed-checkpoint")));
    assert_eq!(healthchain(&["verify", text(&path), "--checkpoint", text(&dir.join("none.note"))]).code, 5);
    assert_eq!(verify(&["--authority-key", &witness]).code, 2);
    assert_eq!(verify(&["--authority-key", "not-a-key"]).code, 2);
    assert_eq!(verify(&["--authority-key", &vkey, "--authorities-required", "2"]).code, 2);
    assert_eq!(verify(&["--witnesses-required", "1"]).code, 2);
}

#[test]
fn checkpoint_create_show_and_key_files() {
    let dir = temp_dir("checkpoint");
    let path = dir.join("demo.ledger");
    let generated = generate_with_key(&path, "3", "20", "500");
    let key = format!("{}.key", text(&path));
    // Without --out the note itself is printed.
    let run = healthchain(&["checkpoint", "create", text(&path), "--key", &key]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let origin = format!("healthchain/{}", generated["chain_id"].as_str().unwrap());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(&lines[..2], [origin.as_str(), "500"]);
    assert_eq!(lines[3], "");
    assert!(lines[4].starts_with(&format!("\u{2014} {origin} ")), "{}", run.stdout);
    let note = dir.join("published.note");
    std::fs::write(&note, &run.stdout).unwrap();
    assert!(dir.join("demo.ledger.checkpoints").is_file());

    let run = healthchain(&["checkpoint", "show", text(&note), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let shown = run.json();
    assert_eq!((shown["origin"].as_str(), shown["size"].as_u64()), (Some(origin.as_str()), Some(500)));
    assert_eq!(shown["root_hex"], generated["tree_root"]);
    assert_eq!(shown["signatures"][0]["kind"], "signature");
    assert_eq!(shown["verified"], Value::Null);
    let vkey = authority_vkey(&key, &path);
    let run = healthchain(&["checkpoint", "show", text(&note), "--authority-key", &vkey]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("verified      signed by 1 of the authority keys given"), "{}", run.stdout);

    // A key that is not an authority's; a key file others may read; a key file that is not one.
    let stranger = dir.join("stranger.key");
    assert_eq!(healthchain(&["key", "generate", text(&stranger)]).code, 0);
    let run = healthchain(&["checkpoint", "create", text(&path), "--key", text(&stranger), "--json"]);
    assert_eq!((run.code, run.json()["error"]["kind"].as_str()), (2, Some("not-an-authority")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&stranger, std::fs::Permissions::from_mode(0o644)).unwrap();
        let run = healthchain(&["checkpoint", "create", text(&path), "--key", text(&stranger)]);
        assert_eq!(run.code, 2);
        assert!(run.stderr.contains("too open"), "{}", run.stderr);
    }
    assert_eq!(healthchain(&["key", "generate", text(&stranger)]).code, 2, "never overwritten");
    let run = healthchain(&["checkpoint", "create", text(&path), "--key", text(&note)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    // The help lists the new exit statuses.
    let run = healthchain(&["verify", "--help"]);
    for needle in ["TRUNCATED", "FORKED", "OTHER LEDGER", " 10  a checkpoint is refused"] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
}

#[test]
fn a_witness_cosigns_only_checkpoints_that_extend_what_it_cosigned() {
    let dir = temp_dir("witness");
    // The same seed: the ledger of 300 transactions is a prefix of the one of 500; one more patient forks it.
    let small = dir.join("small.ledger");
    let big = dir.join("big.ledger");
    let fork = dir.join("fork.ledger");
    generate_with_key(&small, "3", "20", "300");
    generate_with_key(&big, "3", "20", "500");
    generate_with_key(&fork, "3", "21", "500");
    let (small_note, big_note, fork_note) = (dir.join("small.note"), dir.join("big.note"), dir.join("fork.note"));
    publish(&small, &small_note);
    publish(&big, &big_note);
    publish(&fork, &fork_note);
    let vkey = authority_vkey(&format!("{}.key", text(&big)), &big);
    let witness_key = dir.join("witness.key");
    assert_eq!(healthchain(&["key", "generate", text(&witness_key)]).code, 0);
    let run = healthchain(&["key", "vkey", text(&witness_key), "--witness", "auditor.example/w1", "--json"]);
    let witness_vkey = run.json()["vkey"].as_str().unwrap().to_owned();
    let state = dir.join("witness.state");
    let cosign = |note: &Path, extra: &[&str]| {
        let mut args = vec![
            "checkpoint",
            "cosign",
            text(note),
            "--name",
            "auditor.example/w1",
            "--key",
            text(&witness_key),
            "--state",
            text(&state),
            "--authority-key",
            &vkey,
            "--json",
        ];
        args.extend_from_slice(extra);
        healthchain(&args)
    };

    // The first checkpoint needs no proof; the next one does.
    let run = cosign(&small_note, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["previous_size"], Value::Null);
    let run = cosign(&big_note, &[]);
    assert_eq!((run.code, run.json()["error"]["kind"].as_str()), (2, Some("missing-proof")));
    // A proof for other sizes is refused; the right one, from `prove consistency --json`, is accepted.
    let proof = dir.join("proof.json");
    let wrong = healthchain(&["prove", "consistency", text(&big), "--from", "299", "--json"]);
    std::fs::write(&proof, &wrong.stdout).unwrap();
    assert_eq!(cosign(&big_note, &["--proof", text(&proof)]).code, 2);
    let right = healthchain(&["prove", "consistency", text(&big), "--from", "300", "--json"]);
    assert_eq!(right.code, 0, "{}", right.stderr);
    std::fs::write(&proof, &right.stdout).unwrap();
    let cosigned_note = dir.join("cosigned.note");
    let run = cosign(&big_note, &["--proof", text(&proof), "--out", text(&cosigned_note)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cosigned = run.json();
    assert_eq!((cosigned["previous_size"].as_u64(), cosigned["size"].as_u64()), (Some(300), Some(500)));
    assert_eq!(cosigned["witness_vkey"], witness_vkey.as_str());
    assert_eq!(std::fs::read_to_string(&cosigned_note).unwrap(), cosigned["note"].as_str().unwrap());

    // The cosigned note satisfies a policy that wants the witness; the ledger carries it.
    let run = healthchain(&[
        "verify",
        text(&big),
        "--checkpoint",
        text(&cosigned_note),
        "--authority-key",
        &vkey,
        "--witness-key",
        &witness_vkey,
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.json()["checkpoints"][0]["cosignatures"][0]["name"], "auditor.example/w1");
    let run = healthchain(&["checkpoint", "carry", text(&big), text(&cosigned_note)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = healthchain(&["checkpoint", "carry", text(&small), text(&cosigned_note), "--json"]);
    assert_eq!((run.code, run.json()["error"]["kind"].as_str()), (9, Some("foreign-checkpoint")));

    // Going back: a rollback (7); another root for the size it cosigned: a fork (8), evidence kept.
    let run = cosign(&small_note, &[]);
    assert_eq!((run.code, run.json()["error"]["kind"].as_str()), (7, Some("rollback")));
    let run = cosign(&fork_note, &[]);
    assert_eq!((run.code, run.json()["error"]["kind"].as_str()), (8, Some("fork")));
    assert!(std::fs::read_to_string(&state).unwrap().contains("\nfork "));
    // A fresh witness that saw the small ledger is shown the fork: the fork's own proof does not connect.
    let state2 = dir.join("witness2.state");
    let cosign2 = |note: &Path, ledger: &Path| {
        healthchain(&[
            "checkpoint",
            "cosign",
            text(note),
            "--name",
            "w2",
            "--key",
            text(&witness_key),
            "--state",
            text(&state2),
            "--ledger",
            text(ledger),
            "--json",
        ])
    };
    assert_eq!(cosign2(&small_note, &small).code, 0);
    let run = cosign2(&fork_note, &fork);
    assert_eq!((run.code, run.json()["error"]["kind"].as_str()), (8, Some("inconsistent")));
    // With --ledger, the witness computes the proof itself.
    let run = cosign2(&big_note, &big);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Without keys or a ledger to take the authorities from: a usage error.
    let run = healthchain(&[
        "checkpoint",
        "cosign",
        text(&big_note),
        "--name",
        "w3",
        "--key",
        text(&witness_key),
        "--state",
        text(&dir.join("w3.state")),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn prove_prints_proofs_that_check_against_the_printed_roots() {
    use base64::Engine as _;
    use healthchain::hash::Hash256;
    let b64 = |v: &Value| {
        Hash256(base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap().try_into().unwrap())
    };
    let hashes = |v: &Value| v.as_array().unwrap().iter().map(b64).collect::<Vec<_>>();
    let dir = temp_dir("prove");
    let path = dir.join("demo.ledger");
    let generated = generate(&path, "3");
    for (index, size) in [(0, 500), (1, 500), (499, 500), (137, 200), (0, 1), (99, 100)] {
        let run = healthchain(&[
            "prove",
            "inclusion",
            text(&path),
            "--index",
            &index.to_string(),
            "--size",
            &size.to_string(),
            "--json",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let proof = run.json();
        let inclusion = healthchain::InclusionProof { index, tree_size: size, path: hashes(&proof["proof"]) };
        inclusion.verify(&b64(&proof["leaf_hash"]), &b64(&proof["root"])).unwrap();
        if size == 500 {
            assert_eq!(proof["root_hex"], generated["tree_root"]);
        }
        // By id, the same proof.
        let tx = proof["tx"].as_str().unwrap();
        let by_id = healthchain(&[
            "prove",
            "inclusion",
            text(&path),
            "--tx",
            &tx.to_uppercase(),
            "--size",
            &size.to_string(),
            "--json",
        ]);
        assert_eq!(by_id.json()["proof"], proof["proof"]);
    }
    for (from, to) in [(1, 500), (300, 500), (499, 500), (500, 500), (64, 128), (3, 7)] {
        let run = healthchain(&[
            "prove",
            "consistency",
            text(&path),
            "--from",
            &from.to_string(),
            "--to",
            &to.to_string(),
            "--json",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let proof = run.json();
        let consistency = healthchain::ConsistencyProof { old_size: from, new_size: to, path: hashes(&proof["proof"]) };
        consistency.verify(&b64(&proof["old_root"]), &b64(&proof["new_root"])).unwrap();
    }
    let run = healthchain(&["prove", "consistency", text(&path), "--from", "100"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("new size      500"), "{}", run.stdout);
    // Out of range, out of order, unknown: usage errors.
    for args in [
        vec!["inclusion", "--index", "500"],
        vec!["inclusion", "--index", "10", "--size", "10"],
        vec!["inclusion", "--index", "0", "--size", "501"],
        vec!["inclusion", "--index", "0", "--size", "0"],
        vec!["inclusion", "--tx", "abcd"],
        vec!["inclusion"],
        vec!["consistency", "--from", "0"],
        vec!["consistency", "--from", "300", "--to", "200"],
        vec!["consistency", "--from", "1", "--to", "501"],
    ] {
        let mut full = vec!["prove", args[0], text(&path)];
        full.extend_from_slice(&args[1..]);
        let run = healthchain(&full);
        assert_eq!(run.code, 2, "{full:?}: {}", run.stderr);
    }
    let zeros = "0".repeat(64);
    let run = healthchain(&["prove", "inclusion", text(&path), "--tx", &zeros, "--json"]);
    assert_eq!((run.code, run.json()["error"]["kind"].as_str()), (2, Some("unknown-transaction")));
}

#[test]
fn access_report_receipts_verify_on_their_own_and_refuse_changes() {
    let dir = temp_dir("receipts");
    let path = dir.join("demo.ledger");
    let generated = generate_with_key(&path, "42", "20", "500");
    let patient = generated["sample_patients"][0].as_str().unwrap().to_owned();
    let receipts = dir.join("receipts");
    // No checkpoint yet: nothing to write receipts against.
    let run = healthchain(&["access-report", text(&path), &patient, "--receipts", text(&receipts), "--json"]);
    assert_eq!((run.code, run.json()["error"]["kind"].as_str()), (2, Some("no-checkpoint")));
    publish(&path, &dir.join("published.note"));
    let run = healthchain(&["access-report", text(&path), &patient, "--receipts", text(&receipts), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let entries = report["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert_eq!(report["receipts"]["written"].as_u64(), Some(entries.len() as u64));
    assert_eq!(report["receipts"]["checkpoint_size"], 500);
    let vkey = authority_vkey(&format!("{}.key", text(&path)), &path);
    for entry in entries {
        let file = entry["receipt"].as_str().unwrap();
        let id = entry["access_id"].as_str().unwrap();
        assert!(file.ends_with(&format!("{id}.receipt")), "{file}");
        let run = healthchain(&["verify-receipt", file, "--authority-key", &vkey, "--json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let verified = run.json();
        assert_eq!((verified["tx"].as_str(), verified["kind"].as_str()), (Some(id), Some("record-access")));
        assert_eq!(verified["access"]["patient"], patient.as_str());
        assert_eq!(verified["access"]["section"], entry["section"]);
        assert_eq!(verified["checkpoint"]["size"], 500);
    }
    let first = entries[0]["receipt"].as_str().unwrap();
    let run = healthchain(&["verify-receipt", first, "--authority-key", &vkey]);
    assert!(run.stdout.contains("status        VERIFIED"), "{}", run.stdout);

    // Any changed byte is refused (exit status 1); so is a receipt checked against other keys.
    let bytes = std::fs::read(first).unwrap();
    let changed = dir.join("changed.receipt");
    for at in (0..bytes.len()).step_by(37) {
        let mut copy = bytes.clone();
        copy[at] ^= 0x04;
        std::fs::write(&changed, &copy).unwrap();
        let run = healthchain(&["verify-receipt", text(&changed), "--authority-key", &vkey]);
        assert_eq!(run.code, 1, "byte {at}: {}", run.stdout);
        assert!(run.stderr.contains("receipt does not verify"), "{}", run.stderr);
    }
    let stranger = dir.join("stranger.key");
    healthchain(&["key", "generate", text(&stranger)]);
    let wrong = authority_vkey(text(&stranger), &path);
    let run = healthchain(&["verify-receipt", first, "--authority-key", &wrong, "--json"]);
    assert_eq!((run.code, run.json()["error"]["kind"].as_str()), (1, Some("checkpoint-refused")));
    assert_eq!(healthchain(&["verify-receipt", first]).code, 2, "the keys are required");
    assert_eq!(healthchain(&["verify-receipt", text(&dir.join("none.receipt")), "--authority-key", &vkey]).code, 5);

    // Accesses sealed after the newest carried checkpoint get no receipt, and a warning: the ledger of 300
    // transactions of the same seed is a prefix of this one, so its checkpoint is this one's too.
    let early = dir.join("early.ledger");
    generate_with_key(&early, "42", "20", "300");
    publish(&early, &dir.join("early.note"));
    std::fs::copy(dir.join("early.ledger.checkpoints"), dir.join("demo.ledger.checkpoints")).unwrap();
    let later = dir.join("later");
    let run = healthchain(&["access-report", text(&path), &patient, "--receipts", text(&later), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let (written, missing) = (&report["receipts"]["written"], report["receipts"]["missing"].as_array().unwrap());
    assert_eq!(report["receipts"]["checkpoint_size"], 300);
    assert!(!missing.is_empty() && written.as_u64().unwrap() > 0, "{report}");
    assert_eq!(written.as_u64().unwrap() + missing.len() as u64, entries.len() as u64);
    assert!(run.stderr.starts_with("warning: ") && run.stderr.contains("no receipt yet"), "{}", run.stderr);
    assert_eq!(std::fs::read_dir(&later).unwrap().count() as u64, written.as_u64().unwrap());
}

/// The commands of README's "Catching a cut ledger", run as written (each line by `sh`, in a new directory,
/// with the tool on the PATH): every line succeeds, and what the transcript shows is what they print.
#[test]
fn readme_catching_a_cut_ledger_runs_as_written() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let start = readme.find("### Catching a cut ledger").expect("README has the worked example");
    let section = &readme[start..];
    let section = &section[..section[4..].find("\n## ").map_or(section.len(), |end| end + 4)];
    let blocks = |fence: &str| -> Vec<String> {
        let mut found = Vec::new();
        let mut rest = section;
        while let Some(at) = rest.find(fence) {
            let body = &rest[at + fence.len()..];
            let end = body.find("```").unwrap();
            found.push(body[..end].to_owned());
            rest = &body[end..];
        }
        found
    };
    let commands: Vec<String> = blocks("```sh\n")
        .iter()
        .flat_map(|block| block.replace("\\\n", " ").lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert!(commands.len() >= 6, "{commands:?}");
    let dir = temp_dir("readme");
    let bin = Path::new(env!("CARGO_BIN_EXE_healthchain")).parent().unwrap();
    let path_var = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut printed: HashMap<String, String> = HashMap::new();
    for command in &commands {
        let output =
            Command::new("sh").arg("-c").arg(command).current_dir(&dir.0).env("PATH", &path_var).output().unwrap();
        let (stdout, stderr) = (String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap());
        assert!(output.status.success(), "{command}: {stderr}{stdout}");
        // The tool writes stderr before stdout: a terminal shows them in this order.
        printed.insert(command.split(" #").next().unwrap().trim().to_owned(), format!("{stderr}{stdout}"));
    }
    // Elapsed times differ from run to run.
    let masked = |text: &str| -> String {
        text.lines()
            .map(|line| if line.starts_with("elapsed ") { "elapsed" } else { line })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let transcripts = blocks("```text\n");
    assert!(!transcripts.is_empty());
    let mut shown = 0;
    for transcript in transcripts {
        let mut parts = transcript.split("$ ").filter(|p| !p.is_empty());
        for part in &mut parts {
            let (command, expected) = part.split_once('\n').unwrap();
            let actual = printed.get(command.trim()).unwrap_or_else(|| panic!("{command:?} is not in the sh blocks"));
            assert_eq!(masked(expected.trim_end()), masked(actual.trim_end()), "README's output of {command} is stale");
            shown += 1;
        }
    }
    assert!(shown >= 2);
    assert!(printed.values().any(|out| out.contains("status        TRUNCATED") && out.contains("exit status 7")));
}

/// The bytes of a snapshot file (FORMAT.md, "State snapshot files"): its canonical part's range.
fn canonical_range(file: &[u8]) -> std::ops::Range<usize> {
    let len = u64::from_le_bytes(file[12..20].try_into().unwrap()) as usize;
    20..20 + len
}

#[test]
fn reading_commands_start_from_a_snapshot_and_verify_checks_it() {
    let dir = temp_dir("snapshot");
    let path = dir.join("built.ledger");
    let built = library_ledger(&path);
    let replayed: Vec<String> =
        ["info", "actors"].iter().map(|c| healthchain(&[c, text(&path), "--json"]).stdout).collect();
    let mut ledger = Ledger::open_file(&path, Box::new(ManualClock::new(0)), Default::default()).unwrap();
    let height = ledger.write_snapshot().unwrap();
    let erased = ActorId::from_hex(&built.erased).unwrap();
    let erasure = ledger.state().latest().erased(&erased).unwrap();
    drop(ledger);
    // The same answers from the snapshot as from a replay; the snapshot verifies.
    for (command, before) in ["info", "actors"].iter().zip(&replayed) {
        let run = healthchain(&[command, text(&path), "--json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(&run.stdout, before, "{command}");
    }
    assert_eq!(healthchain(&["verify", text(&path)]).code, 0);

    // The erasure's time changed in the snapshot, its checksum made anew: an open would start from a state the
    // blocks do not give, so the file does not verify, at the snapshot's block.
    let file = healthchain::snapshots_dir(&path).join(format!("{height:020}.snapshot"));
    let mut bytes = std::fs::read(&file).unwrap();
    let stamp = [&erasure.height.to_le_bytes()[..], &erasure.time.to_le_bytes(), erasure.tx.as_bytes()].concat();
    let range = canonical_range(&bytes);
    let at = bytes[range.clone()].windows(stamp.len()).position(|w| w == stamp).unwrap() + range.start + 8;
    bytes[at] ^= 1;
    let body = bytes.len() - 32;
    let digest = healthchain::hash::sha256(&[&bytes[..body]]);
    bytes[body..].copy_from_slice(&digest.0);
    std::fs::write(&file, &bytes).unwrap();
    let run = healthchain(&["verify", text(&path), "--json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let failure = &run.json()["failure"];
    assert_eq!(failure["height"].as_u64(), Some(height), "{failure}");
    assert!(failure["reason"].as_str().unwrap().contains("snapshot"), "{failure}");
}

/// Writes `key`'s seed to a key file readable by its owner only.
fn write_key(path: &Path, seed: u8) -> SigningKey {
    std::fs::write(path, format!("{seed:02x}").repeat(32) + "\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    SigningKey::from_seed(&[seed; 32])
}

/// `fhir import` and `fhir export`, `audit-events` and `disclosures` on a ledger built with the library:
/// a Consent imported and sealed, refused with its element named (nothing written), exported as R4 with
/// its rules' ids, an access then reported as an AuditEvent and in the accounting.
#[test]
fn fhir_import_export_audit_events_and_disclosures() {
    let dir = temp_dir("fhir");
    let path = dir.join("fhir.ledger");
    let clock = ManualClock::new(1_799_053_200_000);
    let hospital = write_key(&dir.join("hospital.key"), 1);
    let jane_key = write_key(&dir.join("jane.key"), 2);
    let house_key = SigningKey::from_seed(&[3; 32]);
    let (jane, house) = {
        let settings = LedgerSettings::new("fhir-cli");
        let mut ledger = Ledger::create_file(&path, Box::new(clock.clone()), &settings, &[&hospital]).unwrap();
        let jane = ledger.register(&hospital, &jane_key, Role::Patient).unwrap();
        let house = ledger.register(&hospital, &house_key, Role::Provider).unwrap();
        ledger.seal(&[&hospital]).unwrap();
        (jane, house)
    };
    let hex = |id: &ActorId| healthchain::hash::to_hex(id.as_bytes());
    let directory = dir.join("directory.json");
    let map = serde_json::json!({
        "Patient/jane": hex(&jane), "Practitioner/house": &hex(&house)[..12], "Group/insurers": "role:insurer"
    });
    std::fs::write(&directory, map.to_string()).unwrap();
    let consent = |provision: &str| {
        format!(
            r#"{{"resourceType":"Consent","status":"active","subject":{{"reference":"Patient/jane"}},
                "decision":"deny","provision":[{}]}}"#,
            provision
        )
    };
    let house_labs = r#"{"actor":[{"reference":{"reference":"Practitioner/house"}}],
        "purpose":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"TREAT"}],
        "resourceType":[{"system":"http://hl7.org/fhir/resource-types","code":"Specimen"}]}"#;
    let good = dir.join("consent.json");
    std::fs::write(&good, consent(house_labs)).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, consent(r#"{"data":[{"meaning":"instance","reference":{"reference":"Observation/1"}}]}"#))
        .unwrap();
    let (p, d) = (text(&path), text(&directory));
    let (jane_file, hospital_file) = (dir.join("jane.key"), dir.join("hospital.key"));
    let keys = ["--key", text(&jane_file), "--seal-key", text(&hospital_file)];

    let refused = healthchain(&[&["fhir", "import", p, text(&bad), "--directory", d][..], &keys].concat());
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("Consent.provision[0].data"), "{}", refused.stderr);
    let imported = healthchain(&[&["fhir", "import", p, text(&good), "--directory", d, "--json"][..], &keys].concat());
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let imported = imported.json();
    assert_eq!(imported["block"], 2, "the refused import wrote nothing; this one is block 2");
    let rules = imported["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1);

    let exported = healthchain(&["fhir", "export", p, &hex(&jane)[..8], "--directory", d, "--fhir", "r4", "--json"]);
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let exported = exported.json();
    assert_eq!(
        (exported["resourceType"].as_str(), exported["patient"]["reference"].as_str()),
        (Some("Consent"), Some("Patient/jane"))
    );
    let consent_id = rules[0]["consent"].as_str().unwrap();
    assert!(consent_id.ends_with(exported["identifier"][0]["value"].as_str().unwrap()));

    {
        clock.set(healthchain::Clock::now_ms(&clock) + 60_000);
        let mut ledger =
            Ledger::open_file(&path, Box::new(clock.clone()), healthchain::OpenOptions::default()).unwrap();
        let request = healthchain::CheckRequest {
            patient: jane,
            requester: house,
            section: healthchain::Code::new("labs").unwrap(),
            purpose: healthchain::Code::new("TREAT").unwrap(),
            action: healthchain::Action::Read,
            at: ledger.now(),
        };
        let basis = ledger.check(&request).unwrap().access_basis().unwrap();
        ledger.record_access(&house_key, healthchain::RecordAccess::for_request(&request, basis)).unwrap();
        ledger.seal(&[&hospital]).unwrap();
    }
    let events = healthchain(&["audit-events", p, "--patient", &hex(&jane), "--directory", d, "--json"]);
    assert_eq!(events.code, 0, "{}", events.stderr);
    let events = events.json();
    assert_eq!(events["type"], "collection");
    let kinds: Vec<&str> =
        events["entry"].as_array().unwrap().iter().map(|e| e["resource"]["action"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["C", "R"], "the grant, then the read");
    let lines = healthchain(&["audit-events", p, "--ndjson", "--from", "2027-01-01", "--until", "2027-12-31"]);
    assert_eq!((lines.code, lines.stdout.lines().count()), (0, 2), "{}", lines.stderr);
    let none = healthchain(&["audit-events", p, "--ndjson", "--until", "2026-12-31"]);
    assert_eq!((none.code, none.stdout.as_str()), (0, ""));

    let names = dir.join("names.json");
    std::fs::write(&names, serde_json::json!({ hex(&house): "Dr. House, MD" }).to_string()).unwrap();
    let csv = healthchain(&["disclosures", p, &hex(&jane), "--names", text(&names), "--csv"]);
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    let rows: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{}", csv.stdout);
    assert!(rows[1].contains("\"Dr. House, MD\"") && rows[1].contains("treatment"), "{}", rows[1]);
    let page = healthchain(&["disclosures", p, &hex(&jane), "--html"]);
    assert!(page.code == 0 && page.stdout.starts_with("<!DOCTYPE html>"), "{}", page.stderr);
    let bad_date = healthchain(&["disclosures", p, &hex(&jane), "--from", "yesterday"]);
    assert_eq!(bad_date.code, 2, "{}", bad_date.stderr);

    // Withdrawn: the Consent, now inactive, in place of its import ends its rule.
    let withdrawn = dir.join("withdrawn.json");
    std::fs::write(&withdrawn, consent(house_labs).replace("\"active\"", "\"inactive\"")).unwrap();
    let replace = |id: &str| {
        let args = ["fhir", "import", p, text(&withdrawn), "--directory", d, "--replaces", id, "--json"];
        healthchain(&[&args[..], &keys].concat())
    };
    let ended = replace(consent_id);
    assert_eq!(ended.code, 0, "{}", ended.stderr);
    let ended = ended.json();
    assert_eq!((ended["revoked"][0].as_str(), ended["rules"].as_array().map(Vec::len)), (Some(consent_id), Some(0)));
    assert_eq!(ended["block"], 4, "the revocation sealed after the read's block");
    let again = replace(consent_id);
    assert_eq!(again.code, 1, "already revoked: {}", again.stderr);
    assert!(again.stderr.contains("revocation 0"), "{}", again.stderr);
    assert_eq!(replace(&consent_id[..12]).code, 2, "a consent id is given whole");
}
