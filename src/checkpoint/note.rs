//! Signed notes (C2SP `signed-note` v1): a text signed by one or more keys, each signature line naming its
//! key and carrying a 4-byte key id. Two signature types are made and checked here, both with the ledger's
//! one signature rule (`PublicKey::verify`, docs/FORMAT.md "Keys and signatures"): plain Ed25519 (type `0x01`), and
//! timestamped Ed25519 checkpoint cosignatures (type `0x04`, C2SP `tlog-cosignature` v1).

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
/// Signature type byte of timestamped Ed25519 checkpoint cosignatures.
pub const COSIGNATURE_TYPE: u8 = 0x04;
/// The largest timestamp a cosignature may carry (2^63 − 1).
pub const MAX_COSIGNATURE_TIME: u64 = i64::MAX as u64;

/// What a key's signatures on a note are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureKind {
    /// A signature over the note text (`0x01`): the log's own.
    Ed25519,
    /// A cosignature (`0x04`): a timestamp, then a signature over `cosignature/v1`, the time and the text.
    Cosignature,
}

impl SignatureKind {
    /// The signature type byte.
    pub fn type_byte(self) -> u8 {
        match self {
            SignatureKind::Ed25519 => ED25519_TYPE,
            SignatureKind::Cosignature => COSIGNATURE_TYPE,
        }
    }
}

/// The message a cosigner signs: `cosignature/v1`, `time <seconds>`, then the checkpoint's text.
pub fn cosigned_message(timestamp: u64, text: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

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
        self.push(&verifier, signature.0.to_vec());
        Ok(())
    }

    /// Cosigns the note's text with `key` under the name `name` at `timestamp` (seconds since the Unix
    /// epoch, at most 2^63 − 1): a timestamped cosignature line.
    pub fn cosign(&mut self, name: &str, key: &SigningKey, timestamp: u64) -> Result<(), CheckpointError> {
        let verifier = NoteVerifier::cosigner(name, key.public_key())?;
        if timestamp > MAX_COSIGNATURE_TIME {
            return Err(CheckpointError::MalformedNote("a cosignature time beyond 2^63 - 1"));
        }
        let signature = key.sign(&cosigned_message(timestamp, &self.text));
        self.push(&verifier, [timestamp.to_be_bytes().as_slice(), &signature.0].concat());
        Ok(())
    }

    fn push(&mut self, verifier: &NoteVerifier, bytes: Vec<u8>) {
        self.signatures.push(NoteSignature { name: verifier.name.clone(), key_id: verifier.key_id, bytes });
    }

    /// The verifiers among `known` whose signatures are on the note, each checked, with the time of a
    /// cosignature (`None` for a plain signature). Signatures of unknown keys are ignored, as the
    /// specification requires; a signature of a known key that does not verify refuses the whole note; so
    /// does a note signed by none of them. A key that signed twice is listed once.
    pub fn verified_by<'a>(
        &self,
        known: &'a [NoteVerifier],
    ) -> Result<Vec<(&'a NoteVerifier, Option<u64>)>, CheckpointError> {
        let mut verified: Vec<(&NoteVerifier, Option<u64>)> = Vec::new();
        for line in &self.signatures {
            let Some(verifier) = known.iter().find(|v| v.name == line.name && v.key_id == line.key_id) else {
                continue;
            };
            let time = verifier.check(&self.text, &line.bytes)?;
            if !verified.iter().any(|(v, _)| v.key == verifier.key && v.kind == verifier.kind) {
                verified.push((verifier, time));
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

/// A key that verifies notes: its name, the kind of its signatures, its key id and Ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    /// The key's name, as in signature lines.
    pub name: String,
    /// Plain signatures or cosignatures.
    pub kind: SignatureKind,
    /// The key id: SHA-256(name ‖ 0x0A ‖ type ‖ public key)[..4], big-endian.
    pub key_id: u32,
    /// The public key.
    pub key: PublicKey,
}

impl NoteVerifier {
    /// The verifier of plain Ed25519 signatures by `key` under the name `name` (a log's key).
    pub fn new(name: &str, key: PublicKey) -> Result<Self, CheckpointError> {
        Self::of_kind(name, SignatureKind::Ed25519, key)
    }

    /// The verifier of cosignatures by `key` under the name `name` (a witness's key).
    pub fn cosigner(name: &str, key: PublicKey) -> Result<Self, CheckpointError> {
        Self::of_kind(name, SignatureKind::Cosignature, key)
    }

    fn of_kind(name: &str, kind: SignatureKind, key: PublicKey) -> Result<Self, CheckpointError> {
        if !valid_key_name(name) {
            return Err(CheckpointError::MalformedNote("an invalid key name"));
        }
        Ok(Self { name: name.to_owned(), kind, key_id: key_id(name, kind.type_byte(), &key.to_bytes()), key })
    }

    /// Checks this key's signature `bytes` (those after the key id) on a note with `text`: the
    /// cosignature's time for a cosigner, `None` for a plain signature.
    fn check(&self, text: &str, bytes: &[u8]) -> Result<Option<u64>, CheckpointError> {
        let bad = CheckpointError::BadSignature;
        let (time, signature, message) = match self.kind {
            SignatureKind::Ed25519 => (None, bytes, text.as_bytes().to_vec()),
            SignatureKind::Cosignature => {
                let (time, signature) = bytes.split_first_chunk::<8>().ok_or(bad)?;
                let time = u64::from_be_bytes(*time);
                if time > MAX_COSIGNATURE_TIME {
                    return Err(bad);
                }
                (Some(time), signature, cosigned_message(time, text))
            }
        };
        let signature: [u8; 64] = signature.try_into().map_err(|_| bad)?;
        if self.key.verify(&message, &Signature(signature)) { Ok(time) } else { Err(bad) }
    }

    /// Parses a verifier key, `name+hex(key id)+base64(type ‖ public key)` with type `0x01` (a log's key)
    /// or `0x04` (a cosigner's), checking that the key id is the one the name, type and key give.
    pub fn parse(vkey: &str) -> Result<Self, CheckpointError> {
        let bad = CheckpointError::BadVerifierKey;
        // The base64 part may itself hold `+`; the name and the hex id never do.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad);
        };
        let key = BASE64.decode(key).map_err(|_| bad)?;
        let (&kind, key) = key.split_first().ok_or(bad)?;
        let key: [u8; 32] = key.try_into().map_err(|_| bad)?;
        let kind = match kind {
            ED25519_TYPE => SignatureKind::Ed25519,
            COSIGNATURE_TYPE => SignatureKind::Cosignature,
            _ => return Err(bad),
        };
        if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Err(bad);
        }
        let key = PublicKey::from_bytes(&key).map_err(|_| bad)?;
        let verifier = Self::of_kind(name, kind, key).map_err(|_| bad)?;
        if u32::from_str_radix(id, 16).ok() != Some(verifier.key_id) {
            return Err(bad);
        }
        Ok(verifier)
    }

    /// The verifier key as text: `name+hex(key id)+base64(type ‖ public key)`.
    pub fn to_vkey(&self) -> String {
        let mut material = vec![self.kind.type_byte()];
        material.extend_from_slice(&self.key.to_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, BASE64.encode(material))
    }
}

/// SHA-256(name ‖ 0x0A ‖ type ‖ public key)[..4], big-endian: a key's id in signature lines.
pub fn key_id(name: &str, signature_type: u8, public_key: &[u8]) -> u32 {
    let digest = sha256(&[name.as_bytes(), b"\n", &[signature_type], public_key]);
    u32::from_be_bytes([digest.0[0], digest.0[1], digest.0[2], digest.0[3]])
}
