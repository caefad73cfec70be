//! Codes on the ledger: record sections, purposes of use, actions and roles. Never free text.

use crate::codec::{Decode, DecodeError, DecodeErrorKind, Encode, Reader, put_short_len};

/// Longest code, in bytes.
pub const MAX_CODE_LEN: usize = 32;
/// Most codes in one set.
pub const MAX_CODES_PER_SET: usize = 64;

/// A short ASCII token naming a record section (`labs`) or a purpose of use (`TREAT`), or `*` for all.
/// 1–32 bytes of `A–Z a–z 0–9 . _ -`, or exactly `*`. Stored inline (no allocation); ordered by its text.
#[derive(Clone, Copy)]
pub struct Code {
    len: u8,
    bytes: [u8; MAX_CODE_LEN],
}

impl PartialEq for Code {
    fn eq(&self, other: &Self) -> bool {
        // The bytes past the length are always zero: equal codes are equal arrays.
        self.len == other.len && self.bytes == other.bytes
    }
}

impl Eq for Code {}

impl PartialOrd for Code {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Code {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for Code {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

/// Why a code or code set is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// Empty, longer than 32 bytes, or a character outside `A–Z a–z 0–9 . _ -`.
    #[error("a code is 1 to 32 characters of A-Z a-z 0-9 . _ - or exactly *")]
    BadCode,
    /// A set with no codes.
    #[error("a code set must not be empty")]
    EmptySet,
    /// A set with more than 64 codes.
    #[error("a code set holds at most 64 codes")]
    TooMany,
    /// `*` together with other codes.
    #[error("* must be the only code of its set")]
    WildcardNotAlone,
}

impl Code {
    /// The wildcard `*`.
    pub const WILDCARD: &'static str = "*";

    /// Validates `text` as a code.
    pub fn new(text: &str) -> Result<Self, CodeError> {
        let valid_token = !text.is_empty()
            && text.len() <= MAX_CODE_LEN
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !(valid_token || text == Self::WILDCARD) {
            return Err(CodeError::BadCode);
        }
        let mut bytes = [0u8; MAX_CODE_LEN];
        bytes.get_mut(..text.len()).ok_or(CodeError::BadCode)?.copy_from_slice(text.as_bytes());
        Ok(Self { len: u8::try_from(text.len()).map_err(|_| CodeError::BadCode)?, bytes })
    }

    /// The code's text.
    pub fn as_str(&self) -> &str {
        // Only validated ASCII is ever stored.
        self.bytes.get(..usize::from(self.len)).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or_default()
    }

    /// The code's text as bytes (ASCII), without re-checking it.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Whether this is `*`.
    pub fn is_wildcard(&self) -> bool {
        self.as_bytes() == Self::WILDCARD.as_bytes()
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Encode for Code {
    fn encode(&self, out: &mut Vec<u8>) {
        put_short_len(out, usize::from(self.len));
        out.extend_from_slice(self.as_bytes());
    }
}

impl Decode for Code {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = reader.position();
        let len = reader.short_len("code", MAX_CODE_LEN)?;
        let bytes = reader.take(len)?;
        std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| Code::new(text).ok())
            .ok_or_else(|| reader.error_at(at, DecodeErrorKind::Invalid("code")))
    }
}

/// A non-empty set of codes, sorted and without duplicates; `*` stands alone and matches every code.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CodeSet(Vec<Code>);

impl CodeSet {
    /// Builds a set from codes in any order; duplicates are merged.
    pub fn new(codes: impl IntoIterator<Item = Code>) -> Result<Self, CodeError> {
        let mut codes: Vec<Code> = codes.into_iter().collect();
        codes.sort();
        codes.dedup();
        if codes.is_empty() {
            return Err(CodeError::EmptySet);
        }
        if codes.len() > MAX_CODES_PER_SET {
            return Err(CodeError::TooMany);
        }
        if codes.len() > 1 && codes.iter().any(Code::is_wildcard) {
            return Err(CodeError::WildcardNotAlone);
        }
        Ok(Self(codes))
    }

    /// Builds a set from texts, validating each.
    pub fn parse<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<Self, CodeError> {
        let codes = texts.into_iter().map(Code::new).collect::<Result<Vec<_>, _>>()?;
        Self::new(codes)
    }

    /// The set `{*}`.
    pub fn all() -> Self {
        let mut bytes = [0u8; MAX_CODE_LEN];
        bytes[0] = b'*';
        Self(vec![Code { len: 1, bytes }])
    }

    /// Whether this set is `{*}`.
    pub fn is_all(&self) -> bool {
        // `*` stands alone in its set (checked when built and when decoded).
        matches!(self.0.as_slice(), [only] if only.is_wildcard())
    }

    /// Whether `code` is in the set (always, for `{*}`).
    pub fn matches(&self, code: &Code) -> bool {
        self.is_all() || self.0.binary_search(code).is_ok()
    }

    /// Whether every code of `other` is matched by this set.
    pub fn covers(&self, other: &CodeSet) -> bool {
        self.is_all() || (!other.is_all() && other.0.iter().all(|c| self.matches(c)))
    }

    /// The codes, sorted.
    pub fn codes(&self) -> &[Code] {
        &self.0
    }
}

impl std::fmt::Debug for CodeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(&self.0).finish()
    }
}

impl Encode for CodeSet {
    fn encode(&self, out: &mut Vec<u8>) {
        put_short_len(out, self.0.len());
        for code in &self.0 {
            code.encode(out);
        }
    }
}

impl Decode for CodeSet {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = reader.position();
        let count = reader.short_len("code set", MAX_CODES_PER_SET)?;
        let codes = reader.sorted_set::<Code>("code set order", count)?;
        if codes.is_empty() {
            return Err(reader.error_at(at, DecodeErrorKind::Invalid("empty code set")));
        }
        if codes.len() > 1 && codes.iter().any(Code::is_wildcard) {
            return Err(reader.error_at(at, DecodeErrorKind::NonCanonical("code set with *")));
        }
        Ok(Self(codes))
    }
}

/// Purposes of use that may open break-glass access (HL7 v3 ETREAT and BTG).
pub const EMERGENCY_PURPOSES: [&str; 2] = ["ETREAT", "BTG"];

/// What a requester does with a record section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Read (disclosure).
    Read,
    /// Write (amend, add).
    Write,
}

impl Action {
    fn bit(self) -> u8 {
        match self {
            Action::Read => 1,
            Action::Write => 2,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
        }
    }
}

impl Encode for Action {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.bit());
    }
}

impl Decode for Action {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.tag("action", |tag| match tag {
            1 => Some(Action::Read),
            2 => Some(Action::Write),
            _ => None,
        })
    }
}

/// A non-empty set of actions (bit 0 read, bit 1 write).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Actions(u8);

impl Actions {
    /// Read only.
    pub const READ: Actions = Actions(1);
    /// Write only.
    pub const WRITE: Actions = Actions(2);
    /// Read and write.
    pub const READ_WRITE: Actions = Actions(3);

    /// Whether `action` is in the set.
    pub fn contains(self, action: Action) -> bool {
        self.0 & action.bit() != 0
    }

    /// Whether every action of `other` is in this set.
    pub fn covers(self, other: Actions) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::fmt::Debug for Actions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> =
            [Action::Read, Action::Write].into_iter().filter(|a| self.contains(*a)).map(Action::name).collect();
        write!(f, "{}", names.join("+"))
    }
}

impl Encode for Actions {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.0);
    }
}

impl Decode for Actions {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.tag("action set", |bits| (1..=3).contains(&bits).then_some(Actions(bits)))
    }
}

/// An actor's role in the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A person whose record the ledger protects.
    Patient,
    /// A clinician or care organisation.
    Provider,
    /// A payer.
    Insurer,
    /// A research organisation.
    Researcher,
    /// Reviews break-glass accesses and audits the ledger.
    Auditor,
    /// A network member: registers actors and seals blocks.
    Authority,
}

impl Role {
    /// Every role, in tag order.
    pub const ALL: [Role; 6] =
        [Role::Patient, Role::Provider, Role::Insurer, Role::Researcher, Role::Auditor, Role::Authority];

    fn tag(self) -> u8 {
        match self {
            Role::Patient => 1,
            Role::Provider => 2,
            Role::Insurer => 3,
            Role::Researcher => 4,
            Role::Auditor => 5,
            Role::Authority => 6,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Provider => "provider",
            Role::Insurer => "insurer",
            Role::Researcher => "researcher",
            Role::Auditor => "auditor",
            Role::Authority => "authority",
        }
    }

    /// The role whose [`Role::name`] is `name`.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name() == name)
    }
}

impl Encode for Role {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
    }
}

impl Decode for Role {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.tag("role", |tag| Role::ALL.into_iter().find(|r| r.tag() == tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_validated() {
        assert!(Code::new("labs").is_ok());
        assert!(Code::new("*").is_ok());
        for bad in ["", "a b", "é", "**", &"x".repeat(33), "labs\n"] {
            assert_eq!(Code::new(bad), Err(CodeError::BadCode), "{bad:?}");
        }
    }

    #[test]
    fn code_sets_are_canonical() {
        let set = CodeSet::parse(["meds", "labs", "labs"]).map(|s| s.codes().to_vec());
        assert_eq!(set.map(|c| c.len()), Ok(2));
        assert_eq!(CodeSet::parse([]), Err(CodeError::EmptySet));
        assert_eq!(CodeSet::parse(["*", "labs"]), Err(CodeError::WildcardNotAlone));
        let all = CodeSet::all();
        let labs = CodeSet::parse(["labs"]).unwrap_or_else(|_| CodeSet::all());
        assert!(all.covers(&labs) && all.covers(&all));
        assert!(!labs.covers(&all));
        assert!(labs.covers(&labs));
    }

    #[test]
    fn actions_cover() {
        assert!(Actions::READ_WRITE.covers(Actions::READ));
        assert!(!Actions::READ.covers(Actions::WRITE));
        assert!(Actions::WRITE.contains(Action::Write) && !Actions::WRITE.contains(Action::Read));
        assert!(Actions::from_bytes(&[0]).is_err() && Actions::from_bytes(&[4]).is_err());
    }
}
