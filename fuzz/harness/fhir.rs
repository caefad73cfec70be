//! Target `fhir`: FHIR Consent resources from untrusted bytes. The first byte picks the release (even: R4,
//! odd: R5) and the offset at which dates are read (the byte's value in quarter hours, signed); the rest is
//! the JSON.
//!
//! Properties: no panic; reading is deterministic (the same input gives the same value or error twice); an
//! error names an element of the resource (`Consent…`) or is a size or syntax error, and the element it names
//! never holds a string of the input (longer than 8 bytes, with a character no path has); a resource read has provisions no deeper than
//! `MAX_PROVISION_DEPTH`, each naming its own place, periods that end after they start, and no empty code.

use healthchain::fhir::consent::{MAX_PROVISION_DEPTH, Provision, ReadOptions, read};
use healthchain::fhir::{FhirError, FhirVersion};

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&selector, json)) = data.split_first() else { return };
    let version = if selector % 2 == 0 { FhirVersion::R4 } else { FhirVersion::R5 };
    let options = ReadOptions { date_offset_minutes: i32::from(selector as i8) * 15 };
    let first = read(json, version, &options);
    assert_eq!(first, read(json, version, &options), "reading is deterministic");
    match first {
        Ok(consent) => {
            for provision in &consent.provisions {
                check_provision(provision, 1);
            }
            if let Some(period) = consent.period {
                assert!(ends_after_start(period.start, period.end));
            }
        }
        Err(error) => check_error(&error, json),
    }
}

fn ends_after_start(start: Option<i64>, end: Option<i64>) -> bool {
    !matches!((start, end), (Some(start), Some(end)) if end <= start)
}

fn check_provision(provision: &Provision, depth: usize) {
    assert!(depth <= MAX_PROVISION_DEPTH);
    assert!(provision.element.starts_with("Consent.provision"));
    if let Some(period) = provision.period {
        assert!(ends_after_start(period.start, period.end));
    }
    let codings = provision.purposes.iter().chain(&provision.security_labels).chain(&provision.resource_types);
    assert!(codings.clone().all(|c| !c.code.trim().is_empty()));
    for (i, nested) in provision.provisions.iter().enumerate() {
        assert!(nested.element.starts_with(&provision.element));
        assert!(nested.element.ends_with(&format!("provision[{i}]")));
        check_provision(nested, depth + 1);
    }
}

fn check_error(error: &FhirError, json: &[u8]) {
    // Only the element path can carry text from the input (reasons and problems are the reader's own), and
    // only names: no string of the input that could not be part of a path reaches it.
    let Some(element) = error.element() else { return };
    assert!(element.starts_with("Consent"), "{element}");
    let Ok(text) = std::str::from_utf8(json) else { return };
    let path_like = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.[]()".contains(&b) || b == b' ');
    for value in quoted(text).filter(|s| s.len() > 8 && !path_like(s)) {
        assert!(!element.contains(value), "the error repeats a value of the input");
    }
}

/// The contents of the input's quoted strings (keys and values), roughly.
fn quoted(text: &str) -> impl Iterator<Item = &str> {
    text.split('"').enumerate().filter(|(i, _)| i % 2 == 1).map(|(_, s)| s)
}
