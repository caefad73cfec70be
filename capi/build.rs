//! Gives the shared library its SONAME on ELF platforms: `libhealthchain.so.<SOVERSION>`, the name C
//! programs record and the dynamic loader looks for. capi/Makefile installs the file under that name (and
//! the usual symlinks); `SOVERSION` there must equal the one here (tests/install.rs checks both).

/// The ABI generation of `libhealthchain.so`: raised on every change that breaks programs linked against
/// an earlier library (a removed function, a changed signature or struct layout).
const SOVERSION: u32 = 0;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(os.as_str(), "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "illumos") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libhealthchain.so.{SOVERSION}");
    }
}
