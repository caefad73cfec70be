//! The core's concept modules import each other without cycles: they form layers — bytes and values, then
//! transactions and blocks, then the question and its answer, the rules, verification, the ledger — and a
//! module imports only modules of lower layers (docs/DESIGN.md, "The code's shape"). Read from the source
//! text: every `crate::module` (and, in a top-level module, `super::module`) outside `#[cfg(test)]` code.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Lowest first: each module may import only the modules before it.
const LAYERS: &[&str] = &[
    // bytes and values
    "hash",
    "codec",
    "keys",
    "ids",
    "codes",
    "clock",
    "store", //
    // transactions and blocks
    "tx",
    "merkle",
    "proof",
    "tiles",
    "checkpoint",
    "block",
    "receipt", //
    // the question and its answer, the refusals
    "consent",
    "error", //
    // the rules, verification, the ledger
    "state",
    "history",
    "snapshot",
    "replay",
    "trust",
    "ledger", //
    // synthetic ledgers written through the ledger's API
    "workload",
    // healthcare's formats (FHIR) read and written for the ledger
    "fhir",
    // the HIPAA accounting of disclosures
    "accounting",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The concept module of each source file (`src/x.rs` and every file under `src/x/` are module `x`), and whether the file
/// is the module's root (where `super::` means the crate).
fn sources() -> Vec<(String, bool, PathBuf)> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut dirs = vec![path.clone()];
            while let Some(dir) = dirs.pop() {
                let root_text = std::fs::read_to_string(dir.join("mod.rs")).unwrap_or_default();
                for child in std::fs::read_dir(&dir).unwrap() {
                    let child = child.unwrap().path();
                    if child.is_dir() {
                        dirs.push(child);
                        continue;
                    }
                    let stem = child.file_stem().unwrap().to_string_lossy().into_owned();
                    // A file of tests only (`#[cfg(test)] mod tests;` in its module's root) is test code.
                    if (stem == "tests" || stem.ends_with("_tests"))
                        && root_text.contains(&format!("#[cfg(test)]\nmod {stem};"))
                    {
                        continue;
                    }
                    // Only the concept module's own `mod.rs` is the root, where `super::` means the crate.
                    let root = child == path.join("mod.rs");
                    all.push((name.clone(), root, child));
                }
            }
        } else if name != "lib" {
            all.push((name, true, path));
        }
    }
    all
}

/// The modules `text` names as `crate::m` (or `super::m` when `super` is the crate), before its first
/// `#[cfg(test)]` item (test modules close every file).
fn imports(text: &str, super_is_crate: bool) -> BTreeSet<String> {
    let code = text.split("\n#[cfg(test)]").next().unwrap();
    let mut found = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for prefix in ["crate::", "super::"] {
            if prefix == "super::" && !super_is_crate {
                continue;
            }
            for (at, _) in line.match_indices(prefix) {
                let preceded_by_word = line[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
                let name: String =
                    line[at + prefix.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !preceded_by_word && !name.is_empty() {
                    found.insert(name);
                }
            }
        }
    }
    found
}

#[test]
fn concept_modules_import_only_lower_layers() {
    let mut violations = Vec::new();
    let mut seen = BTreeSet::new();
    for (module, is_root, path) in sources() {
        let rank = LAYERS.iter().position(|m| *m == module);
        let rank = rank.unwrap_or_else(|| panic!("module `{module}` is in no layer: place it in LAYERS"));
        seen.insert(module.clone());
        let text = std::fs::read_to_string(&path).unwrap();
        for imported in imports(&text, is_root) {
            if imported == module {
                continue;
            }
            match LAYERS.iter().position(|m| *m == imported) {
                Some(r) if r < rank => {}
                Some(_) => violations.push(format!("{} imports `{imported}`, a higher layer", path.display())),
                None => {} // a crate-level item (a macro, a re-export), not a module
            }
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
    let missing: Vec<&&str> = LAYERS.iter().filter(|m| !seen.contains(**m)).collect();
    assert!(missing.is_empty(), "LAYERS names modules that do not exist: {missing:?}");
}

#[test]
fn the_import_scan_finds_upward_imports() {
    // The scan itself: it sees paths in `use` lines and in expressions, ignores comments and tests.
    let text = "use crate::ledger::Ledger;\nfn f() { crate::state::View::x(); }\n// crate::replay\n\
                #[cfg(test)]\nmod tests { use crate::store; }\n";
    let found: Vec<String> = imports(text, false).into_iter().collect();
    assert_eq!(found, ["ledger", "state"]);
    assert_eq!(imports("use super::tx::Payload;", true).into_iter().collect::<Vec<_>>(), ["tx"]);
    assert!(imports("use super::tx::Payload;", false).is_empty());
}
