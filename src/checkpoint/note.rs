//! Signed notes (C2SP `signed-note` v1): a text signed by one or more keys, each signature line naming its
//! key and carrying a 4-byte key id. Only Ed25519 signatures (type `0x01`) are made and checked here, with
//! the ledger's one signature rule (strict RFC 8032 verification, `PublicKey::verify`).

use super::CheckpointError;
use crate::hash::sha256;
use crate::keys::{PublicKey, Signature, SigningKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The largest note accepted (text and signatures), in bytes: far above 16 Ed25519 signatures.
pub const MAX_NOTE_LEN: usize = 64 * 1024;
/// The most signature lines accepted in one note (the specification requires at least 16).
pub const MAX_NOTE_SIGNATURES: usize = 64;
/// Signature type byte of plain Ed25519 note signatures.
pub const ED25519_TYPE: u8 = 0x01;

/// One signature line: the key's name and id, and the signature bytes that follow the id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key's name.
    pub name: String,
    /// The key id (the first four bytes of the base64 payload, big-endian).
    pub key_id: u32,
    /// The signature after the key id (64 bytes for Ed25519).
    pub bytes: Vec<u8>,
}

/// A signed note: its text (ending in a newline) and its signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNote {
    /// The signed text, final newline included.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

/// Whether `name` can name a key: non-empty, no white space, no `+`, no control characters.
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

impl SignedNote {
    /// Parses a note strictly: valid UTF-8 without control characters other than newline, at most
    /// [`MAX_NOTE_LEN`] bytes, a text ending in a newline, the last blank line, then one to
    /// [`MAX_NOTE_SIGNATURES`] lines `— name base64(key id ‖ signature)`, each ending in a newline.
    pub fn parse(bytes: &[u8]) -> Result<Self, CheckpointError> {
        let malformed = CheckpointError::MalformedNote;
        if bytes.len() > MAX_NOTE_LEN {
            return Err(malformed("longer than the limit"));
        }
        let note = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(malformed("a control character"));
        }
        let split = note.rfind("\n\n").ok_or(malformed("no blank line before the signatures"))?;
        let (text, signatures) = note.split_at(split + 1);
        let signatures = signatures.strip_prefix('\n').unwrap_or(signatures);
        let signatures =
            signatures.strip_suffix('\n').ok_or(malformed("the last signature line does not end in a newline"))?;
        let lines: Vec<&str> = signatures.split('\n').collect();
        if lines.len() > MAX_NOTE_SIGNATURES {
            return Err(malformed("too many signatures"));
        }
        let signatures = lines.into_iter().map(parse_signature_line).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { text: text.to_owned(), signatures })
    }

    /// The note as text: the text, a blank line, one line per signature.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n", self.text);
        for s in &self.signatures {
            let mut payload = s.key_id.to_be_bytes().to_vec();
            payload.extend_from_slice(&s.bytes);
            out.push_str(&format!("\u{2014} {} {}\n", s.name, BASE64.encode(payload)));
        }
        out
    }

    /// Signs the note's text with `key` under the name `name` (an Ed25519 signature line).
    pub fn sign(&mut self, name: &str, key: &SigningKey) -> Result<(), CheckpointError> {
        let verifier = NoteVerifier::new(name, key.public_key())?;
        let signature = key.sign(self.text.as_bytes());
        self.signatures.push(NoteSignature {
            name: name.to_owned(),
            key_id: verifier.key_id,
            bytes: signature.0.to_vec(),
        });
        Ok(())
    }

    /// The verifiers among `known` whose signatures are on the note, each checked. Signatures of unknown
    /// keys are ignored, as the specification requires; a signature of a known key that does not verify
    /// refuses the whole note; so does a note signed by none of them.
    pub fn verified_by<'a>(&self, known: &'a [NoteVerifier]) -> Result<Vec<&'a NoteVerifier>, CheckpointError> {
        let mut verified: Vec<&NoteVerifier> = Vec::new();
        for line in &self.signatures {
            let Some(verifier) = known.iter().find(|v| v.name == line.name && v.key_id == line.key_id) else {
                continue;
            };
            let bytes: [u8; 64] = line.bytes.as_slice().try_into().map_err(|_| CheckpointError::BadSignature)?;
            if !verifier.key.verify(self.text.as_bytes(), &Signature(bytes)) {
                return Err(CheckpointError::BadSignature);
            }
            if !verified.iter().any(|v| v.key == verifier.key) {
                verified.push(verifier);
            }
        }
        if verified.is_empty() {
            return Err(CheckpointError::NoKnownSignature);
        }
        Ok(verified)
    }
}

/// Parses `— name base64(key id ‖ signature)`.
fn parse_signature_line(line: &str) -> Result<NoteSignature, CheckpointError> {
    let malformed = CheckpointError::MalformedNote;
    let rest = line.strip_prefix("\u{2014} ").ok_or(malformed("a signature line without its em dash"))?;
    let (name, payload) = rest.split_once(' ').ok_or(malformed("a signature line without a signature"))?;
    if !valid_key_name(name) {
        return Err(malformed("an invalid key name"));
    }
    let payload = BASE64.decode(payload).map_err(|_| malformed("a signature that is not base64"))?;
    let (id, bytes) = payload.split_first_chunk::<4>().ok_or(malformed("a signature shorter than its key id"))?;
    if bytes.is_empty() {
        return Err(malformed("a signature without signature bytes"));
    }
    Ok(NoteSignature { name: name.to_owned(), key_id: u32::from_be_bytes(*id), bytes: bytes.to_vec() })
}

/// A key that verifies notes: its name, key id and Ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    /// The key's name, as in signature lines.
    pub name: String,
    /// The key id: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[..4], big-endian.
    pub key_id: u32,
    /// The public key.
    pub key: PublicKey,
}

impl NoteVerifier {
    /// The verifier of `key` under the name `name`.
    pub fn new(name: &str, key: PublicKey) -> Result<Self, CheckpointError> {
        if !valid_key_name(name) {
            return Err(CheckpointError::MalformedNote("an invalid key name"));
        }
        Ok(Self { name: name.to_owned(), key_id: key_id(name, ED25519_TYPE, &key.to_bytes()), key })
    }

    /// Parses a verifier key (`name+hex(key id)+base64(0x01 ‖ public key)`), checking that the key id is
    /// the one the name and key give.
    pub fn parse(vkey: &str) -> Result<Self, CheckpointError> {
        let bad = CheckpointError::BadVerifierKey;
        let mut parts = vkey.split('+');
        let (Some(name), Some(id), Some(key), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad);
        };
        let key = BASE64.decode(key).map_err(|_| bad)?;
        let (&kind, key) = key.split_first().ok_or(bad)?;
        let key: [u8; 32] = key.try_into().map_err(|_| bad)?;
        if kind != ED25519_TYPE
            || id.len() != 8
            || !id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(bad);
        }
        let verifier = Self::new(name, PublicKey::from_bytes(&key).map_err(|_| bad)?).map_err(|_| bad)?;
        if u32::from_str_radix(id, 16).ok() != Some(verifier.key_id) {
            return Err(bad);
        }
        Ok(verifier)
    }

    /// The verifier key as text: `name+hex(key id)+base64(0x01 ‖ public key)`.
    pub fn to_vkey(&self) -> String {
        let mut material = vec![ED25519_TYPE];
        material.extend_from_slice(&self.key.to_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, BASE64.encode(material))
    }
}

/// SHA-256(name ‖ 0x0A ‖ type ‖ public key)[..4], big-endian: a key's id in signature lines.
pub fn key_id(name: &str, signature_type: u8, public_key: &[u8]) -> u32 {
    let digest = sha256(&[name.as_bytes(), b"\n", &[signature_type], public_key]);
    u32::from_be_bytes([digest.0[0], digest.0[1], digest.0[2], digest.0[3]])
}
