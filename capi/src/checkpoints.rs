//! Checkpoints (C2SP `tlog-checkpoint` signed notes: origin `healthchain/<chain id>`, tree size, root):
//! signed by a ledger's authorities, published and carried beside the ledger file, cosigned by witnesses
//! (C2SP `tlog-cosignature`), and verified against a policy of verifier keys and thresholds.
//!
//! Notes, verifier keys and receipts cross the API as NUL-terminated UTF-8 text. Outputs go into caller
//! buffers; `*out_len` counts the terminating NUL.

use super::boundary::{Failure, FfiResult, Out, OutBuffer, arg, run, slice, text};
use super::keys::{hc_key, key_list};
use super::ledger::{hc_ledger, read_ledger, write_ledger};
use super::status::HC_TOO_LONG;
use super::values::{hc_chain_id, hc_hash, hc_public_key, value};
use healthchain::block::MAX_SEALS;
use healthchain::checkpoint::note::{MAX_COSIGNATURE_TIME, MAX_NOTE_LEN, valid_key_name};
use healthchain::checkpoint::{
    Checkpoint, CheckpointPolicy, NoteVerifier, ORIGIN_PREFIX, SignatureKind, VerifiedCheckpoint, origin_of,
};
use healthchain::ids::ChainId;
use healthchain::store::{Store, StoreError};
use std::ffi::c_char;

/// The longest signed note accepted or made, in bytes (without the terminating NUL): a buffer of
/// `HC_MAX_NOTE_LEN + 1` bytes holds any note.
pub const HC_MAX_NOTE_LEN: usize = 65536;
/// The longest verifier key accepted, in bytes.
pub const HC_MAX_VERIFIER_KEY_LEN: usize = 512;
/// The longest witness name accepted, in bytes (a name is non-empty, without white space or `+`).
pub const HC_MAX_KEY_NAME_LEN: usize = 256;
/// The most verifier keys in each list of an `hc_checkpoint_policy`.
pub const HC_MAX_POLICY_KEYS: usize = 64;
/// The largest cosignature time (seconds since the Unix epoch): 2^63 - 1.
pub const HC_MAX_COSIGNATURE_TIME: u64 = 9_223_372_036_854_775_807;

const _: () = assert!(HC_MAX_NOTE_LEN == MAX_NOTE_LEN && HC_MAX_COSIGNATURE_TIME == MAX_COSIGNATURE_TIME);

/// Whom a checkpoint must be signed by: at least `authority_threshold` of the ledger's `authorities`, and
/// at least `witness_threshold` of the trusted `witnesses` (cosignatures). Signatures by keys it does not
/// name are ignored; a signature by a key it names that does not verify refuses the note.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hc_checkpoint_policy {
    /// The ledger's authorities' verifier keys (`hc_authority_verifier_key`: type 0x01, named by the
    /// ledger's origin): an array of `authority_count` NUL-terminated strings.
    pub authorities: *const *const c_char,
    /// Number of authority keys (1 to `HC_MAX_POLICY_KEYS`).
    pub authority_count: usize,
    /// How many distinct authorities must have signed (1 to `authority_count`; the ledger's seal threshold
    /// is the usual value).
    pub authority_threshold: u32,
    /// The trusted witnesses' verifier keys (`hc_witness_verifier_key`: type 0x04): an array of
    /// `witness_count` NUL-terminated strings; (NULL, 0) for none.
    pub witnesses: *const *const c_char,
    /// Number of witness keys (0 to `HC_MAX_POLICY_KEYS`).
    pub witness_count: usize,
    /// How many distinct witnesses must have cosigned (0 to `witness_count`).
    pub witness_threshold: u32,
}

impl hc_checkpoint_policy {
    /// The Rust policy.
    ///
    /// # Safety
    /// `authorities` and `witnesses` are NULL or point to their counts of NULL or NUL-terminated strings.
    pub(crate) unsafe fn parse(&self) -> FfiResult<CheckpointPolicy> {
        // SAFETY: forwarded contract.
        let (authorities, witnesses) = unsafe {
            (
                verifier_list(self.authorities, self.authority_count, "policy.authorities")?,
                verifier_list(self.witnesses, self.witness_count, "policy.witnesses")?,
            )
        };
        for (list, kind, name) in [
            (&authorities, SignatureKind::Ed25519, "policy.authorities"),
            (&witnesses, SignatureKind::Cosignature, "policy.witnesses"),
        ] {
            if let Some(wrong) = list.iter().position(|v| v.kind != kind) {
                let want = if kind == SignatureKind::Ed25519 { "an authority's (0x01)" } else { "a witness's (0x04)" };
                return Err(Failure::new(
                    super::status::HC_BAD_VERIFIER_KEY,
                    format!("`{name}`[{wrong}] is not {want} verifier key"),
                ));
            }
        }
        let authority_threshold = self.authority_threshold as usize;
        if authority_threshold == 0 || authority_threshold > authorities.len() {
            return Err(Failure::invalid(format!(
                "`policy.authority_threshold` {authority_threshold} is not between 1 and the {} authority keys",
                authorities.len()
            )));
        }
        let witness_threshold = self.witness_threshold as usize;
        if witness_threshold > witnesses.len() {
            return Err(Failure::invalid(format!(
                "`policy.witness_threshold` {witness_threshold} is above the {} witness keys",
                witnesses.len()
            )));
        }
        Ok(CheckpointPolicy { authorities, authority_threshold, witnesses, witness_threshold })
    }
}

/// Verifier keys from an array of C strings; `(NULL, 0)` is empty.
///
/// # Safety
/// `keys` is NULL or points to `count` pointers, each NULL or to a NUL-terminated string.
unsafe fn verifier_list(keys: *const *const c_char, count: usize, name: &str) -> FfiResult<Vec<NoteVerifier>> {
    if count > HC_MAX_POLICY_KEYS {
        return Err(Failure::new(HC_TOO_LONG, format!("`{name}` holds {count} keys; at most {HC_MAX_POLICY_KEYS}")));
    }
    // SAFETY: forwarded contract.
    let pointers = unsafe { slice(keys, count, name)? };
    let mut verifiers = Vec::with_capacity(pointers.len());
    for (i, &ptr) in pointers.iter().enumerate() {
        // SAFETY: forwarded contract.
        let vkey = unsafe { text(ptr, HC_MAX_VERIFIER_KEY_LEN, name)? };
        let verifier = NoteVerifier::parse(vkey)
            .map_err(|e| Failure::new(super::status::HC_BAD_VERIFIER_KEY, format!("`{name}`[{i}]: {e}")))?;
        verifiers.push(verifier);
    }
    Ok(verifiers)
}

/// A checkpoint that a policy accepted, and who vouched for it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct hc_checkpoint_info {
    /// The ledger's chain id, from the origin `healthchain/<chain id>` (all zero for an origin of another
    /// form).
    pub chain: hc_chain_id,
    /// The tree size: how many transactions the checkpoint vouches for.
    pub size: u64,
    /// The Merkle root of the first `size` transactions.
    pub root: hc_hash,
    /// How many distinct authorities of the policy signed it.
    pub authorities: u32,
    /// How many distinct trusted witnesses cosigned it.
    pub cosignatures: u32,
    /// The newest of their cosignature times (seconds since the Unix epoch; 0 without cosignatures).
    pub newest_cosignature: u64,
}

impl From<&VerifiedCheckpoint> for hc_checkpoint_info {
    fn from(verified: &VerifiedCheckpoint) -> Self {
        let checkpoint = &verified.checkpoint;
        let chain = checkpoint.origin.strip_prefix(ORIGIN_PREFIX).and_then(ChainId::from_hex);
        Self {
            chain: chain.map(Into::into).unwrap_or_default(),
            size: checkpoint.size,
            root: checkpoint.root.into(),
            authorities: u32::try_from(verified.authorities).unwrap_or(u32::MAX),
            cosignatures: u32::try_from(verified.cosignatures.len()).unwrap_or(u32::MAX),
            newest_cosignature: verified.cosignatures.iter().map(|(_, time)| *time).max().unwrap_or(0),
        }
    }
}

/// Copies the verifier key of a ledger's authority into `buf`: `healthchain/<chain id>+<key id>+<base64>`
/// (type 0x01), the form `hc_checkpoint_policy.authorities` takes. `chain` is the ledger's chain id
/// (`hc_ledger_info.chain`), `key` the authority's public key (`hc_key_public`).
///
/// Errors: `HC_BUFFER_TOO_SMALL`, `HC_INVALID_KEY`.
///
/// # Safety
/// `chain` and `key` are NULL or valid; `buf` is NULL or valid for writes of `len` bytes (NULL with `len` 0
/// asks for the size); `out_len` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_authority_verifier_key(
    chain: *const hc_chain_id,
    key: *const hc_public_key,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (chain, key, out) =
            unsafe { (value(chain, "chain")?, value(key, "key")?, OutBuffer::new(buf.cast(), len, out_len)?) };
        let verifier = NoteVerifier::new(&origin_of(&chain.into()), key.key()?)?;
        out.fill_text(&verifier.to_vkey())
    })
}

/// Copies the verifier key of a witness named `name` (for example `auditor.example/w1`: non-empty, without
/// white space or `+`) into `buf`: `<name>+<key id>+<base64>` (type 0x04, cosignatures), the form
/// `hc_checkpoint_policy.witnesses` takes. `key` is the witness's public key.
///
/// Errors: `HC_BUFFER_TOO_SMALL`, `HC_INVALID_ARGUMENT` (an invalid name), `HC_TOO_LONG` (a name above
/// `HC_MAX_KEY_NAME_LEN`), `HC_INVALID_UTF8`, `HC_INVALID_KEY`.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string; `key` is NULL or valid; `buf`, `len` and `out_len` as for
/// `hc_authority_verifier_key`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_witness_verifier_key(
    name: *const c_char,
    key: *const hc_public_key,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (name, key, out) = unsafe {
            (text(name, HC_MAX_KEY_NAME_LEN, "name")?, value(key, "key")?, OutBuffer::new(buf.cast(), len, out_len)?)
        };
        let name = key_name(name)?;
        out.fill_text(&NoteVerifier::cosigner(name, key.key()?)?.to_vkey())
    })
}

/// A witness's name, checked.
fn key_name(name: &str) -> FfiResult<&str> {
    if valid_key_name(name) {
        Ok(name)
    } else {
        Err(Failure::invalid("`name` must be non-empty, without white space, `+` or control characters"))
    }
}

/// Refuses to write beside a ledger opened read-only (publishing and carrying write `<path>.checkpoints`).
fn writable(read_only: bool) -> FfiResult {
    if read_only { Err(StoreError::ReadOnly.into()) } else { Ok(()) }
}

/// Copies the checkpoint of the ledger's last sealed block, signed by `authorities` (active authorities,
/// at least the seal threshold), into `buf`: a C2SP signed note to hand to witnesses. Nothing is kept:
/// `hc_ledger_publish_checkpoint` also carries it.
///
/// Errors: `HC_BUFFER_TOO_SMALL`, `HC_TOO_LONG` (more than 64 keys), `HC_UNKNOWN_KEY` (a key of no active
/// authority), `HC_NOT_ENOUGH_SEALERS`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `authorities` is NULL or points to `count` pointers, each NULL
/// or a live `hc_key`; `buf`, `len` and `out_len` as for `hc_authority_verifier_key`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_sign_checkpoint(
    ledger: *const hc_ledger,
    authorities: *const *const hc_key,
    count: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, keys, out) = unsafe {
            (
                arg(ledger, "ledger")?,
                key_list(authorities, count, MAX_SEALS, "authorities")?,
                OutBuffer::new(buf.cast(), len, out_len)?,
            )
        };
        let note = read_ledger!(ledger, |l| Ok(l.sign_checkpoint(&keys)?))?;
        out.fill_text(&note)
    })
}

/// Signs the checkpoint of the ledger's last sealed block with `authorities` (as
/// `hc_ledger_sign_checkpoint`), carries it — beside a ledger file, in `<path>.checkpoints`, so that the
/// file no longer opens once cut, rolled back or forked below it — and copies the note into `buf`, to
/// publish and to hand to witnesses. A call that gives `HC_BUFFER_TOO_SMALL` (such as the size query)
/// carries nothing.
///
/// Errors: as `hc_ledger_sign_checkpoint`, and `HC_READ_ONLY`, `HC_IO`.
///
/// # Safety
/// As for `hc_ledger_sign_checkpoint`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_publish_checkpoint(
    ledger: *mut hc_ledger,
    authorities: *const *const hc_key,
    count: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, keys, out) = unsafe {
            (
                arg(ledger.cast_const(), "ledger")?,
                key_list(authorities, count, MAX_SEALS, "authorities")?,
                OutBuffer::new(buf.cast(), len, out_len)?,
            )
        };
        write_ledger!(ledger, |l| {
            writable(l.store().is_read_only())?;
            let note = l.sign_checkpoint(&keys)?;
            // Carried only when the caller receives it: a size query leaves the ledger as it is.
            if note.len() < out.capacity() {
                l.carry_checkpoint(&note)?;
            }
            out.fill_text(&note)
        })
    })
}

/// Carries `note`, a checkpoint of this ledger — typically one it published, cosigned since by witnesses
/// (`hc_checkpoint_cosign`) — in place of the one carried for its tree size (the newest 32 sizes are kept).
/// It must be signed by at least the seal threshold of the ledger's active authorities and state this
/// ledger's root at its size.
///
/// Errors: `HC_TOO_LONG` (above `HC_MAX_NOTE_LEN`), `HC_INVALID_UTF8`, `HC_MALFORMED_NOTE`,
/// `HC_MALFORMED_CHECKPOINT`, `HC_NO_KNOWN_SIGNATURE` (signed by none of the ledger's authorities, as a
/// note of another ledger is), `HC_BAD_NOTE_SIGNATURE`, `HC_TOO_FEW_SIGNATURES`,
/// `HC_FOREIGN_CHECKPOINT` (another ledger's, or another root or a larger tree than this ledger's),
/// `HC_READ_ONLY`, `HC_IO`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `note` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_carry_checkpoint(ledger: *mut hc_ledger, note: *const c_char) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, note) = unsafe { (arg(ledger.cast_const(), "ledger")?, text(note, HC_MAX_NOTE_LEN, "note")?) };
        write_ledger!(ledger, |l| {
            writable(l.store().is_read_only())?;
            Ok(l.carry_checkpoint(note)?)
        })
    })
}

/// Writes how many checkpoints the ledger carries (at most 32, one per tree size).
///
/// Errors: none beyond those of every call.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_carried_count(ledger: *const hc_ledger, out: *mut u64) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, out) = unsafe { (arg(ledger, "ledger")?, Out::new(out, "out")?) };
        out.write(read_ledger!(ledger, |l| Ok(l.carried_checkpoints().len() as u64))?);
        Ok(())
    })
}

/// Copies the carried checkpoint at `index` (0 = the smallest tree; `hc_ledger_carried_count` - 1 = the
/// newest) into `buf`: a signed note, with the cosignatures carried with it.
///
/// Errors: `HC_BUFFER_TOO_SMALL`, `HC_NO_CHECKPOINT` (no checkpoint at `index`).
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `buf`, `len` and `out_len` as for `hc_authority_verifier_key`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_carried_checkpoint(
    ledger: *const hc_ledger,
    index: u64,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, out) = unsafe { (arg(ledger, "ledger")?, OutBuffer::new(buf.cast(), len, out_len)?) };
        let note = read_ledger!(ledger, |l| {
            let carried = l.carried_checkpoints();
            let found = usize::try_from(index).ok().and_then(|i| carried.into_iter().nth(i));
            found.ok_or_else(|| Failure::new(super::status::HC_NO_CHECKPOINT, format!("no carried checkpoint {index}")))
        })?;
        out.fill_text(&note)
    })
}

/// Adds a witness's cosignature (C2SP `tlog-cosignature`: the witness `name` and `key`, at `timestamp`
/// seconds since the Unix epoch) to the signed checkpoint `note`, and copies the cosigned note into `buf`.
/// Only the note's form is checked here: a witness first checks the note with `hc_checkpoint_verify` and
/// that it extends the newest checkpoint it cosigned before (`hc_verify_consistency`), and never cosigns a
/// smaller tree or another root for a size it cosigned.
///
/// Errors: `HC_BUFFER_TOO_SMALL`, `HC_TOO_LONG` (`note` above `HC_MAX_NOTE_LEN`, `name` above
/// `HC_MAX_KEY_NAME_LEN`, or a cosigned note that would be), `HC_INVALID_UTF8`, `HC_INVALID_ARGUMENT` (an
/// invalid name, `timestamp` above `HC_MAX_COSIGNATURE_TIME`), `HC_MALFORMED_NOTE`,
/// `HC_MALFORMED_CHECKPOINT`.
///
/// # Safety
/// `note` and `name` are NULL or NUL-terminated strings; `key` is NULL or a live `hc_key`; `buf`, `len`
/// and `out_len` as for `hc_authority_verifier_key`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_checkpoint_cosign(
    note: *const c_char,
    name: *const c_char,
    key: *const hc_key,
    timestamp: u64,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (note, name, key, out) = unsafe {
            (
                text(note, HC_MAX_NOTE_LEN, "note")?,
                text(name, HC_MAX_KEY_NAME_LEN, "name")?,
                arg(key, "key")?,
                OutBuffer::new(buf.cast(), len, out_len)?,
            )
        };
        let name = key_name(name)?;
        if timestamp > HC_MAX_COSIGNATURE_TIME {
            return Err(Failure::invalid(format!("`timestamp` {timestamp} is above 2^63 - 1")));
        }
        let cosigned = Checkpoint::cosign(note.as_bytes(), name, key.get()?, timestamp)?;
        if cosigned.len() > HC_MAX_NOTE_LEN {
            return Err(Failure::new(HC_TOO_LONG, format!("the cosigned note would exceed {HC_MAX_NOTE_LEN} bytes")));
        }
        out.fill_text(&cosigned)
    })
}

/// Verifies the signed checkpoint `note` against `policy` (signed by enough of the ledger's authorities,
/// cosigned by enough trusted witnesses) and writes what it vouches for.
///
/// Errors: `HC_TOO_LONG`, `HC_INVALID_UTF8`, `HC_MALFORMED_NOTE`, `HC_MALFORMED_CHECKPOINT`,
/// `HC_NO_KNOWN_SIGNATURE`, `HC_BAD_NOTE_SIGNATURE`, `HC_TOO_FEW_SIGNATURES`, `HC_TOO_FEW_COSIGNATURES`, and
/// the policy's: `HC_BAD_VERIFIER_KEY`, `HC_INVALID_ARGUMENT` (a threshold out of range), `HC_TOO_LONG`.
///
/// # Safety
/// `note` is NULL or a NUL-terminated string; `policy` is NULL or points to an `hc_checkpoint_policy` whose
/// arrays are as documented there; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_checkpoint_verify(
    note: *const c_char,
    policy: *const hc_checkpoint_policy,
    out: *mut hc_checkpoint_info,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (note, policy, out) =
            unsafe { (text(note, HC_MAX_NOTE_LEN, "note")?, arg(policy, "policy")?, Out::new(out, "out")?) };
        // SAFETY: contract above.
        let policy = unsafe { policy.parse()? };
        out.write((&Checkpoint::verify(note.as_bytes(), &policy)?).into());
        Ok(())
    })
}
