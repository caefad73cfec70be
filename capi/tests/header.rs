//! The committed C header is exactly what cbindgen generates from `capi/src/` with `include/cbindgen.toml`,
//! and its version macros match Cargo.toml. `HEALTHCHAIN_BLESS_HEADER=1 cargo test -p healthchain-capi --test header` rewrites
//! the header on purpose.

use std::path::Path;

/// The workspace's root, where `include/` is.
fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The version macros, from Cargo.toml (cbindgen cannot export string constants, and one source of truth
/// is better than two).
fn version_macros() -> String {
    let (major, minor, patch): (u32, u32, u32) = (
        env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap(),
        env!("CARGO_PKG_VERSION_MINOR").parse().unwrap(),
        env!("CARGO_PKG_VERSION_PATCH").parse().unwrap(),
    );
    format!(
        "\n// Version of this header (Cargo.toml's `version`); compare with hc_version() and hc_version_number().\n\
         #define HC_VERSION \"{}\"\n\
         #define HC_VERSION_MAJOR {major}\n\
         #define HC_VERSION_MINOR {minor}\n\
         #define HC_VERSION_PATCH {patch}\n\
         // MAJOR * 1000000 + MINOR * 1000 + PATCH.\n\
         #define HC_VERSION_NUMBER {}",
        env!("CARGO_PKG_VERSION"),
        major * 1_000_000 + minor * 1000 + patch
    )
}

fn generate() -> String {
    let mut config = cbindgen::Config::from_file(root().join("include/cbindgen.toml")).unwrap();
    config.after_includes = Some(version_macros());
    let bindings = cbindgen::Builder::new()
        .with_src(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen fails on capi/src");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn header_has_not_drifted() {
    let path = root().join("include/healthchain.h");
    let generated = generate();
    if std::env::var_os("HEALTHCHAIN_BLESS_HEADER").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed.lines().zip(generated.lines()).position(|(a, b)| a != b).map_or(0, |i| i + 1);
        panic!(
            "include/healthchain.h differs from what cbindgen generates (first difference near line {line}); \
             run `HEALTHCHAIN_BLESS_HEADER=1 cargo test -p healthchain-capi --test header` and commit the header"
        );
    }
}

fn define(header: &str, name: &str) -> String {
    let prefix = format!("#define {name} ");
    header
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} not defined in the header"))
        .trim()
        .to_owned()
}

#[test]
fn version_macros_match_cargo_toml() {
    // The generated text, equal to the committed header by `header_has_not_drifted`.
    let header = generate();
    let cargo_toml = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let version = cargo_toml
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("package version in Cargo.toml");
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
    let [major, minor, patch] = parts[..] else { panic!("version {version} is not MAJOR.MINOR.PATCH") };
    assert_eq!(define(&header, "HC_VERSION_MAJOR"), major.to_string());
    assert_eq!(define(&header, "HC_VERSION_MINOR"), minor.to_string());
    assert_eq!(define(&header, "HC_VERSION_PATCH"), patch.to_string());
    assert_eq!(define(&header, "HC_VERSION_NUMBER"), (major * 1_000_000 + minor * 1000 + patch).to_string());
    assert_eq!(define(&header, "HC_VERSION"), format!("\"{version}\""));
}

#[test]
fn header_is_guarded_and_documented() {
    let header = generate();
    assert!(header.contains("#ifndef HEALTHCHAIN_H"));
    assert!(header.contains("extern \"C\" {"), "no extern \"C\" guard for C++");
    // Every exported function carries its doc comment (cbindgen copies `///` lines as `//`).
    let lines: Vec<&str> = header.lines().collect();
    let mut functions = 0;
    for (i, line) in lines.iter().enumerate() {
        let is_prototype = (line.starts_with("int32_t hc_")
            || line.starts_with("void hc_")
            || line.starts_with("const char *hc_")
            || line.starts_with("uint32_t hc_"))
            && line.contains('(');
        if is_prototype {
            functions += 1;
            let documented = (1..=3).any(|back| i >= back && lines[i - back].starts_with("//"));
            assert!(documented, "undocumented function: {line}");
        }
    }
    assert!(functions > 50, "only {functions} functions found in the header");
    assert!(header.contains("Thread safety"), "thread-safety paragraph missing");
}
