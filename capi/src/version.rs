//! Versions: the library's own at run time, so that a program can assert
//! `hc_version_number() == HC_VERSION_NUMBER`. The header's `HC_VERSION*` macros are written from
//! Cargo.toml when the header is generated (capi/tests/header.rs).

use super::boundary::run_value;
use std::ffi::c_char;

/// Version of the canonical encoding of transactions and blocks (first byte of every body and header).
pub const HC_FORMAT_VERSION: u32 = 1;
/// Version of the ledger file format.
pub const HC_FILE_FORMAT_VERSION: u32 = 2;

const _: () = assert!(HC_FORMAT_VERSION == healthchain::tx::FORMAT_VERSION as u32);
const _: () = assert!(HC_FILE_FORMAT_VERSION == healthchain::store::FILE_VERSION);

/// Parses a decimal number at compile time (a bad digit would fail the build, never a run).
#[allow(clippy::indexing_slicing)]
const fn parse_decimal(text: &str) -> u32 {
    let bytes = text.as_bytes();
    let mut value = 0;
    let mut i = 0;
    while i < bytes.len() {
        value = value * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    value
}

/// The library's version number, from the Cargo.toml it was built with.
const LIBRARY_VERSION_NUMBER: u32 = parse_decimal(env!("CARGO_PKG_VERSION_MAJOR")) * 1_000_000
    + parse_decimal(env!("CARGO_PKG_VERSION_MINOR")) * 1000
    + parse_decimal(env!("CARGO_PKG_VERSION_PATCH"));

/// The library's version string (static, never NULL), e.g. "0.1.0".
#[unsafe(no_mangle)]
pub extern "C" fn hc_version() -> *const c_char {
    run_value(c"".as_ptr(), || concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast())
}

/// The library's version number (`MAJOR * 1000000 + MINOR * 1000 + PATCH`); compare it with
/// `HC_VERSION_NUMBER` to detect a header and a library from different releases.
#[unsafe(no_mangle)]
pub extern "C" fn hc_version_number() -> u32 {
    run_value(0, || LIBRARY_VERSION_NUMBER)
}

/// The version of the canonical encoding this library writes and reads (`HC_FORMAT_VERSION`).
#[unsafe(no_mangle)]
pub extern "C" fn hc_format_version() -> u32 {
    run_value(0, || healthchain::tx::FORMAT_VERSION.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_version_number_matches_cargo_toml() {
        let cargo: Vec<u32> = env!("CARGO_PKG_VERSION").split('.').map(|p| p.parse().unwrap()).collect();
        assert_eq!(hc_version_number(), cargo[0] * 1_000_000 + cargo[1] * 1000 + cargo[2]);
    }

    #[test]
    fn runtime_version_string_is_terminated() {
        // SAFETY: hc_version returns a static NUL-terminated string.
        let text = unsafe { std::ffi::CStr::from_ptr(hc_version()) };
        assert_eq!(text.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
