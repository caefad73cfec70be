//! README's Rust example, as pasted: its text becomes `src/main.rs` of a new cargo project that depends on
//! this crate by path, which is built and run. The same build shows that a Rust user of the core compiles
//! no C library and no command-line tool: no `libhealthchain*.a` or `.so` appears in that project's
//! `target/`, and none of the tool's or the C library's crates is in its dependency tree.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The first `rust` block after the heading `## In Rust`.
fn readme_rust_example() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = &readme[readme.find("## In Rust").expect("README has an \"In Rust\" section")..];
    let start = section.find("```rust\n").expect("a rust block") + "```rust\n".len();
    let end = start + section[start..].find("```").unwrap();
    section[start..end].to_owned()
}

fn cargo(project: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(project)
        .env("CARGO_TARGET_DIR", project.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "cargo {args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { all.extend(files(&path)) } else { all.push(path) }
    }
    all
}

#[test]
fn readme_rust_example_runs_in_a_new_project_that_builds_no_c_library() {
    let project = std::env::temp_dir().join(format!("healthchain-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&project);
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        format!(
            "[package]\nname = \"readme-example\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nhealthchain = {{ path = {:?} }}\n\n[workspace]\n",
            root().canonicalize().unwrap()
        ),
    )
    .unwrap();
    // The workspace's lock file: the same dependency versions, and no registry query.
    std::fs::copy(root().join("Cargo.lock"), project.join("Cargo.lock")).unwrap();
    std::fs::write(project.join("src/main.rs"), readme_rust_example()).unwrap();

    let out = cargo(&project, &["run", "--quiet"]);
    assert!(out.contains("may the doctor read labs for TREAT? Permit(Consents(["), "{out}");
    assert!(out.contains("valid: true"), "{out}");

    let libraries: Vec<PathBuf> = files(&project.join("target"))
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("libhealthchain") && (name.ends_with(".a") || name.contains(".so"))
        })
        .collect();
    assert!(libraries.is_empty(), "a C library was built: {libraries:?}");
    let tree = cargo(&project, &["tree", "--prefix", "none", "--edges", "normal,build"]);
    // The tool's own dependencies stay out of the core (serde_json is the core's since FHIR, issue 12).
    for foreign in ["healthchain-capi", "healthchain-cli", "clap ", "indicatif"] {
        assert!(!tree.contains(foreign), "{foreign} is a dependency of the core:\n{tree}");
    }
    let _ = std::fs::remove_dir_all(&project);
}

/// `text` with what differs between runs masked: hex ids (runs of 12 or more hex digits, as ids and keys
/// are printed) and the temporary file's name.
fn masked(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut masked_line = String::new();
        for word in line.split(' ') {
            let hex = word.trim_matches(|c: char| !c.is_ascii_hexdigit());
            let word = if hex.len() >= 12 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                word.replace(hex, "<id>")
            } else if word.contains("healthchain-quickstart-") {
                "<file>".to_owned()
            } else {
                word.to_owned()
            };
            masked_line.push_str(&word);
            masked_line.push(' ');
        }
        out.push_str(masked_line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn readme_quickstart_transcript_is_what_the_quickstart_prints() {
    // `cargo test` builds the examples beside the test binaries' directory.
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let example = deps.parent().unwrap().join("examples").join("quickstart");
    assert!(example.is_file(), "{} missing: cargo test builds the examples", example.display());
    let output = Command::new(&example).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).unwrap();

    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("```text\n[").expect("README shows the quickstart's transcript") + "```text\n".len();
    let end = start + readme[start..].find("```").unwrap();
    assert_eq!(masked(&readme[start..end]), masked(&printed), "README's transcript is stale");
}
