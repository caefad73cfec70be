//! Actor ids as the user types them: the full 64 hexadecimal digits, or, as git does, an unambiguous
//! prefix of at least four digits (such as the 12-digit short ids the tool prints), in either case.

use crate::error::CliError;
use healthchain::{Actor, ActorId, State};
use serde_json::json;
use std::path::Path;

/// The fewest hex digits accepted as an id prefix.
pub const MIN_PREFIX_DIGITS: usize = 4;
/// Hex digits of a full id.
const FULL_ID_DIGITS: usize = 64;
/// How many candidates an ambiguity error lists.
const MAX_CANDIDATES_SHOWN: usize = 10;

/// An actor id or id prefix as the user typed it, checked for form but not yet looked up.
#[derive(Debug)]
pub struct IdQuery {
    /// Lower-case hex digits, 4 to 64 of them.
    prefix: String,
    /// What the argument is, for messages (`patient id`, `actor id`).
    what: &'static str,
}

impl IdQuery {
    /// Checks `text`'s form: hex digits (either case), at least 4 and at most 64 of them (usage error).
    pub fn parse(text: &str, what: &'static str) -> Result<Self, CliError> {
        Ok(Self { prefix: parse_prefix(text, what)?, what })
    }

    /// The registered actor whose id is this one or starts with it, in the latest state of the ledger at
    /// `path`. Errors (usage, exit status 2): no such actor, or more than one actor with that prefix
    /// (listed with their roles).
    pub fn resolve(&self, state: &State, path: &Path) -> Result<Actor, CliError> {
        let (prefix, what) = (self.prefix.as_str(), self.what);
        let view = state.latest();
        if prefix.len() == FULL_ID_DIGITS {
            let id = ActorId::from_hex(prefix).ok_or_else(|| invalid_id(prefix, what))?;
            return view.actor(&id).ok_or_else(|| unknown_id(path, prefix, what));
        }
        let nibbles = nibbles(prefix);
        let mut candidates: Vec<Actor> =
            view.actors().into_iter().filter(|actor| has_prefix(actor.id.as_bytes(), &nibbles)).collect();
        match candidates.len() {
            0 => Err(unknown_id(path, prefix, what)),
            1 => candidates.pop().ok_or_else(|| CliError::internal("id prefix candidate vanished")),
            _ => Err(ambiguous_id(prefix, what, &candidates)),
        }
    }
}

/// The lower-case hex digits of `text` (trimmed), if it is a plausible id or id prefix.
fn parse_prefix(text: &str, what: &str) -> Result<String, CliError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_hexdigit()) || trimmed.len() > FULL_ID_DIGITS {
        return Err(invalid_id(text, what));
    }
    if trimmed.len() < MIN_PREFIX_DIGITS {
        return Err(CliError::usage(
            "invalid-id",
            format!(
                "{what} {trimmed:?} is too short: give at least {MIN_PREFIX_DIGITS} hexadecimal digits of the id \
                 (the 12 the tool prints are enough)"
            ),
        ));
    }
    Ok(trimmed.to_ascii_lowercase())
}

/// The value of each hex digit of `prefix` (already checked to be hex).
fn nibbles(prefix: &str) -> Vec<u8> {
    prefix.chars().filter_map(|c| c.to_digit(16)).filter_map(|d| u8::try_from(d).ok()).collect()
}

/// Whether `id`'s hex form starts with the digits `nibbles`.
fn has_prefix(id: &[u8; 32], nibbles: &[u8]) -> bool {
    nibbles.len() <= 2 * id.len()
        && nibbles.iter().enumerate().all(|(i, nibble)| {
            id.get(i / 2).is_some_and(|byte| if i % 2 == 0 { byte >> 4 } else { byte & 0x0f } == *nibble)
        })
}

fn invalid_id(text: &str, what: &str) -> CliError {
    CliError::usage(
        "invalid-id",
        format!(
            "invalid {what} {:?}: expected an actor id (64 hexadecimal digits) or a prefix of it of at least \
             {MIN_PREFIX_DIGITS} digits, such as the 12 digits the tool prints",
            text.trim()
        ),
    )
}

fn unknown_id(path: &Path, prefix: &str, what: &str) -> CliError {
    let message = if prefix.len() == FULL_ID_DIGITS {
        format!("unknown {what}: no actor with id {prefix} in {}", path.display())
    } else {
        format!("unknown {what}: no actor in {} has an id starting with {prefix}", path.display())
    };
    CliError::usage("unknown-id", message).with_details(json!({ "id": prefix }))
}

fn ambiguous_id(prefix: &str, what: &str, candidates: &[Actor]) -> CliError {
    let mut message = format!(
        "{what} {prefix} is ambiguous: the ids of {} actors start with it; give more digits:",
        candidates.len()
    );
    for actor in candidates.iter().take(MAX_CANDIDATES_SHOWN) {
        message.push_str(&format!("\n  {}  {}", actor.id, actor.role.name()));
    }
    if candidates.len() > MAX_CANDIDATES_SHOWN {
        message.push_str(&format!("\n  … and {} more", candidates.len() - MAX_CANDIDATES_SHOWN));
    }
    let shown: Vec<_> = candidates
        .iter()
        .take(MAX_CANDIDATES_SHOWN)
        .map(|actor| json!({ "id": actor.id.to_string(), "role": actor.role.name() }))
        .collect();
    CliError::usage("ambiguous-id", message)
        .with_details(json!({ "id": prefix, "matches": candidates.len(), "candidates": shown }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_hex_digits_in_order() {
        let id = [0xab; 32];
        assert!(has_prefix(&id, &nibbles("abab")));
        assert!(has_prefix(&id, &nibbles("ababa")));
        assert!(!has_prefix(&id, &nibbles("abba")));
        assert!(has_prefix(&id, &nibbles(&"ab".repeat(32))));
        assert!(!has_prefix(&id, &nibbles(&"ab".repeat(33))));
    }

    #[test]
    fn an_ambiguity_lists_ten_candidates_and_counts_the_rest() {
        let actor = |n: u8| Actor {
            id: ActorId::from_hex(&format!("{n:02x}").repeat(32)).unwrap(),
            role: healthchain::Role::Insurer,
            keys: Vec::new(),
            deactivated: None,
        };
        let candidates: Vec<Actor> = (0..12).map(actor).collect();
        let error = ambiguous_id("abcd", "actor id", &candidates);
        assert_eq!((error.code, error.kind), (crate::error::EXIT_USAGE, "ambiguous-id"));
        assert_eq!(error.message.matches("  insurer").count(), MAX_CANDIDATES_SHOWN, "{}", error.message);
        assert!(error.message.ends_with("… and 2 more"), "{}", error.message);
        assert_eq!(error.details["matches"], 12);
        assert_eq!(error.details["candidates"].as_array().map(Vec::len), Some(MAX_CANDIDATES_SHOWN));
    }

    #[test]
    fn prefixes_are_checked_and_lower_cased() {
        assert_eq!(parse_prefix(" ABCD ", "actor id").unwrap(), "abcd");
        for bad in ["", "abc", "xyz0", "12 34", &"a".repeat(65), "αβγδε"] {
            let error = parse_prefix(bad, "actor id").unwrap_err();
            assert_eq!((error.code, error.kind), (crate::error::EXIT_USAGE, "invalid-id"), "{bad:?}");
        }
    }
}
