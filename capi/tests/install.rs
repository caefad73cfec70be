//! The C library as a C programmer meets it: README's "Build, install, link" lines run exactly as written
//! (with a temporary directory as `$HOME`, so the prefix is temporary), against the libraries this very
//! `cargo test` built: `make -C capi install`, the pkg-config lines for the shared and the static library,
//! the CMake package through `find_package(healthchain)`, then `make -C capi uninstall`. Checks the
//! installed layout, the SONAME and its links, that the shared library exports only `hc_*` symbols, and
//! which library each program really depends on.
//!
//! Needs `make`, `cc`, `pkg-config`, `cmake` and binutils (`nm`, `readelf`), as README lists.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// The first fenced block of `language` after the heading `heading`.
fn block_after(readme: &str, heading: &str, language: &str) -> String {
    let section = &readme[readme.find(heading).unwrap_or_else(|| panic!("README has no {heading:?}"))..];
    let fence = format!("```{language}\n");
    let start = section.find(&fence).unwrap_or_else(|| panic!("no {language} block after {heading:?}")) + fence.len();
    let end = start + section[start..].find("```").unwrap();
    section[start..end].to_owned()
}

/// `target/<profile>/deps`, where this `cargo test` put libhealthchain_capi.{a,so}.
fn built() -> PathBuf {
    std::env::current_exe().unwrap().parent().unwrap().to_path_buf()
}

/// Runs a shell script the way a user pastes it, in `dir`, with `home` as `$HOME`; the output, which must be
/// a success.
fn sh(script: &str, dir: &Path, home: &Path, stage: &Path) -> String {
    let output = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .env("HOME", home)
        // The libraries this test built, instead of a `cargo build --release` inside `cargo test`.
        .env("BUILT", built())
        .env("STAGE", stage)
        .env_remove("PKG_CONFIG_PATH")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{script}\nfailed ({:?}):\n{text}", output.status);
    text
}

fn tool(program: &str, args: &[&str]) -> String {
    let Output { status, stdout, stderr } =
        Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&stderr));
    String::from_utf8(stdout).unwrap()
}

/// The `NEEDED` libraries of an ELF file.
fn needed(file: &Path) -> Vec<String> {
    tool("readelf", &["-d", file.to_str().unwrap()])
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next().map(str::to_owned))
        .collect()
}

#[test]
fn readme_install_and_link_lines_work_as_written() {
    let scratch = built().parent().unwrap().join("install-test");
    let _ = std::fs::remove_dir_all(&scratch);
    let (home, work, stage) = (scratch.join("home"), scratch.join("work"), scratch.join("stage"));
    for dir in [&home, &work] {
        std::fs::create_dir_all(dir).unwrap();
    }
    // The commands run from the repository's root (`make -C capi`); the program and CMakeLists.txt are the
    // README's own, in a directory of their own.
    std::os::unix::fs::symlink(root().join("capi").canonicalize().unwrap(), work.join("capi")).unwrap();
    let readme = readme();
    std::fs::write(work.join("app.c"), block_after(&readme, "## In C and C++", "c")).unwrap();
    std::fs::write(work.join("CMakeLists.txt"), block_after(&readme, "### Build, install, link", "cmake")).unwrap();

    // make install, then the shared and the static program, each run.
    let out = sh(&block_after(&readme, "### Build, install, link", "sh"), &work, &home, &stage);
    assert_eq!(out.matches("permit").count(), 2, "both programs must answer permit:\n{out}");

    // The installed layout.
    let prefix = home.join(".local");
    let lib = prefix.join("lib");
    let version = env!("CARGO_PKG_VERSION");
    let (_, minor_patch) = version.split_once('.').unwrap();
    let real = format!("libhealthchain.so.0.{minor_patch}");
    for file in [
        "include/healthchain.h",
        "lib/libhealthchain.a",
        &format!("lib/{real}"),
        "lib/pkgconfig/healthchain.pc",
        "lib/pkgconfig/healthchain-static.pc",
        "lib/cmake/healthchain/healthchainConfig.cmake",
        "lib/cmake/healthchain/healthchainConfigVersion.cmake",
    ] {
        assert!(prefix.join(file).is_file(), "{file} not installed");
    }
    assert_eq!(std::fs::read_link(lib.join("libhealthchain.so.0")).unwrap(), Path::new(&real));
    assert_eq!(std::fs::read_link(lib.join("libhealthchain.so")).unwrap(), Path::new("libhealthchain.so.0"));
    let so = lib.join(&real);
    let dynamic = tool("readelf", &["-d", so.to_str().unwrap()]);
    assert!(dynamic.contains("Library soname: [libhealthchain.so.0]"), "{dynamic}");
    let header = std::fs::read_to_string(prefix.join("include/healthchain.h")).unwrap();
    assert_eq!(header, std::fs::read_to_string(root().join("include/healthchain.h")).unwrap());

    // Only hc_* symbols are exported, and every function the header declares is.
    let exported: Vec<String> = tool("nm", &["-D", "--defined-only", so.to_str().unwrap()])
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
        .collect();
    let foreign: Vec<&String> = exported.iter().filter(|s| !s.starts_with("hc_")).collect();
    assert!(foreign.is_empty(), "exports besides hc_*: {foreign:?}");
    // Prototypes start a line, at column 0: `int32_t hc_name(`, `const char *hc_name(`.
    let declared: Vec<&str> = header
        .lines()
        .filter(|l| !l.starts_with([' ', '/', '#', '}', 't']))
        .filter_map(|l| l.split('(').next()?.rsplit([' ', '*']).next())
        .filter(|name| name.starts_with("hc_"))
        .collect();
    assert!(declared.len() > 50, "only {} functions found in the header", declared.len());
    for name in &declared {
        assert!(exported.iter().any(|e| e == name), "{name} is declared but not exported");
    }
    assert_eq!(exported.len(), declared.len(), "exported {exported:?}, declared {declared:?}");

    // The shared program needs libhealthchain.so.0; the static one no libhealthchain at all.
    assert!(needed(&work.join("app")).contains(&"libhealthchain.so.0".to_owned()));
    assert!(!needed(&work.join("app-static")).iter().any(|n| n.contains("healthchain")));

    // CMake: find_package(healthchain 0.1) and both imported targets, with README's command.
    let cmake = readme.split("Or with CMake (`").nth(1).and_then(|r| r.split('`').next()).unwrap();
    sh(cmake, &work, &home, &stage);
    for (program, shared) in [("app", true), ("app-static", false)] {
        let path = work.join("build").join(program);
        let output = Command::new(&path).output().unwrap();
        assert!(output.status.success(), "{program}: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "permit");
        assert_eq!(needed(&path).contains(&"libhealthchain.so.0".to_owned()), shared, "{program}");
    }

    // And out again.
    sh("make -C capi uninstall PREFIX=$HOME/.local", &work, &home, &stage);
    let left: Vec<PathBuf> = walk(&prefix).into_iter().filter(|p| p.is_file() || p.is_symlink()).collect();
    assert!(left.is_empty(), "uninstall left {left:?}");
}

/// Every path under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            all.extend(walk(&path));
        }
        all.push(path);
    }
    all
}
