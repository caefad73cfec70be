//! Status codes: stable numbers, never renumbered, grouped in ranges (0-9 success, 10-29 caller errors,
//! 30-39 internal errors, 100-149 ledger and store, 200-249 transaction refusals, 300-349 verification
//! failures, 400-449 proofs, checkpoints, receipts and where a ledger stands against a checkpoint), with
//! their static texts and the mapping from the crate's typed errors.

use super::boundary::{Failure, last_error, run_value};
use healthchain::checkpoint::CheckpointError;
use healthchain::codes::CodeError;
use healthchain::error::{CheckError, TxError};
use healthchain::history::HistoryError;
use healthchain::keys::KeyError;
use healthchain::ledger::LedgerError;
use healthchain::proof::ProofError;
use healthchain::receipt::ReceiptError;
use healthchain::replay::BlockError;
use healthchain::snapshot::SnapshotError;
use healthchain::store::StoreError;
use healthchain::trust::Standing;
use std::ffi::c_char;

// ---- 0-9: success ----
/// Success.
pub const HC_OK: i32 = 0;
/// An iterator step produced a row (written to the row argument).
pub const HC_ROW: i32 = 1;
/// An iterator has no more rows (nothing was written).
pub const HC_DONE: i32 = 2;

// ---- 10-29: the caller's arguments ----
/// A pointer argument (or a pointer field of a struct argument) is NULL.
pub const HC_NULL_ARGUMENT: i32 = 10;
/// An argument is out of range: an unknown enumeration value, a flag that is not 0 or 1, a misaligned
/// pointer.
pub const HC_INVALID_ARGUMENT: i32 = 11;
/// A string argument is not valid UTF-8.
pub const HC_INVALID_UTF8: i32 = 12;
/// A string or array argument is longer than its documented limit.
pub const HC_TOO_LONG: i32 = 13;
/// The caller's buffer is too small; `*out_len` holds the size needed.
pub const HC_BUFFER_TOO_SMALL: i32 = 14;
/// A section, purpose or reason code, or a set of them, is invalid (1-32 characters of
/// `A-Z a-z 0-9 . _ -`, or `*` alone; sets hold 1-64 codes).
pub const HC_INVALID_CODE: i32 = 15;
/// A public key is not a valid ed25519 key (not a point, non-canonical or of small order).
pub const HC_INVALID_KEY: i32 = 16;
/// A call out of order: submitting a transaction without a signature.
pub const HC_MISUSE: i32 = 17;

// ---- 30-39: internal ----
/// A panic inside healthchain (a bug): the handle involved is poisoned.
pub const HC_PANIC: i32 = 30;
/// The handle was poisoned by an earlier panic; only its `_free`/`_close` may still be called.
pub const HC_POISONED: i32 = 31;
/// The core library refused with an error this C library has no code for: the two were built from
/// different versions (a bug in the build; please report it). The message says what was refused.
pub const HC_UNMAPPED_ERROR: i32 = 32;

// ---- 100-149: ledger and store ----
/// An input/output error of the ledger file.
pub const HC_IO: i32 = 100;
/// The ledger file (or, when creating, its directory) does not exist.
pub const HC_NOT_FOUND: i32 = 101;
/// The ledger file already exists (create refuses to overwrite).
pub const HC_ALREADY_EXISTS: i32 = 102;
/// Another writer holds the ledger file's lock.
pub const HC_LOCKED: i32 = 103;
/// The file is not a healthchain ledger.
pub const HC_NOT_A_LEDGER: i32 = 104;
/// The ledger file's format version is not one this library reads.
pub const HC_UNSUPPORTED_VERSION: i32 = 105;
/// The ledger file is damaged in a way recovery must not repair; it was left untouched.
pub const HC_DAMAGED: i32 = 106;
/// Strict open found an interrupted final append and refused to cut it.
pub const HC_TORN_TAIL: i32 = 107;
/// The ledger's content does not verify (at open), or a block about to be sealed would not.
pub const HC_CORRUPT: i32 = 108;
/// An earlier write or sync failure left the ledger behind its store; close and reopen it.
pub const HC_STORE_POISONED: i32 = 109;
/// The ledger was opened read-only.
pub const HC_READ_ONLY: i32 = 110;
/// The ledger file holds no block (an interrupted creation).
pub const HC_EMPTY_LEDGER: i32 = 111;
/// Invalid ledger settings (name, number of authorities, seal threshold).
pub const HC_INVALID_SETTINGS: i32 = 112;
/// Sealing with no transaction waiting.
pub const HC_NOTHING_TO_SEAL: i32 = 113;
/// The block being built is full; seal it first.
pub const HC_BLOCK_FULL: i32 = 114;
/// A key given to sign or seal belongs to no registered actor or to no active authority.
pub const HC_UNKNOWN_KEY: i32 = 115;
/// The key was the actor's once but has been rotated out.
pub const HC_KEY_NOT_ACTIVE: i32 = 116;
/// Fewer sealing authorities than the seal threshold.
pub const HC_NOT_ENOUGH_SEALERS: i32 = 117;
/// The block proposal no longer matches the pending transactions or the head (or its timestamp is out of
/// range).
pub const HC_STALE_PROPOSAL: i32 = 118;
/// The operating system's random source failed.
pub const HC_NO_RANDOMNESS: i32 = 119;
/// A check asked about a height beyond the sealed head.
pub const HC_HEIGHT_BEYOND_HEAD: i32 = 120;
/// No such item (for example no consent covering a grant).
pub const HC_NO_MATCH: i32 = 121;
/// The ledger file holds no complete genesis block: its creation was interrupted (nothing in it was ever
/// acknowledged). It was left as it is; `hc_ledger_create` on the same path takes it over.
pub const HC_INCOMPLETE_CREATION: i32 = 122;
/// A block the file store cannot hold (the ledger never builds one; nothing was written).
pub const HC_BLOCK_NOT_STORABLE: i32 = 123;
/// The file of the checkpoints a ledger file carries (`<path>.checkpoints`) is damaged or not one: the
/// ledger was not opened (restore the file, or check the ledger against a checkpoint you hold).
pub const HC_CARRIED_CHECKPOINTS_DAMAGED: i32 = 124;
/// The stored blocks no longer give the ledger's Merkle tree (the file changed under the open ledger):
/// close it, reopen and verify it.
pub const HC_TREE_MISMATCH: i32 = 125;
/// The access history beside the ledger file (`<path>.history`) no longer holds what the open ledger wrote
/// there (it changed under it): close the ledger and reopen it, which rebuilds the history from the blocks.
pub const HC_HISTORY_DAMAGED: i32 = 126;
/// No state snapshot can be written now: transactions are queued (seal them first), or the ledger is not the
/// writer of a ledger file.
pub const HC_SNAPSHOT_UNAVAILABLE: i32 = 127;

// ---- 200-249: transaction refusals (nothing changed) ----
/// The transaction does not encode canonically.
pub const HC_MALFORMED: i32 = 200;
/// The transaction belongs to another chain.
pub const HC_WRONG_CHAIN: i32 = 201;
/// A genesis transaction anywhere but first.
pub const HC_GENESIS_POSITION: i32 = 202;
/// An inconsistent genesis transaction.
pub const HC_INVALID_GENESIS: i32 = 203;
/// The signer is not a registered actor.
pub const HC_UNKNOWN_SIGNER: i32 = 204;
/// The signer was deactivated.
pub const HC_SIGNER_DEACTIVATED: i32 = 205;
/// The signature does not verify (strictly) under the signer's active key.
pub const HC_BAD_SIGNATURE: i32 = 206;
/// The signer's sequence number is not the next one (another transaction was submitted since prepare).
pub const HC_BAD_SEQUENCE: i32 = 207;
/// The transaction's time lies outside what its position allows.
pub const HC_TIME_OUT_OF_RANGE: i32 = 208;
/// The signer's role or relation does not allow this transaction.
pub const HC_UNAUTHORIZED: i32 = 209;
/// Invalid or unknown patient: not registered, or not a patient.
pub const HC_INVALID_PATIENT: i32 = 210;
/// The patient's data was erased; nothing new may concern them.
pub const HC_PATIENT_ERASED: i32 = 211;
/// The grantee or delegate is not a registered actor.
pub const HC_UNKNOWN_GRANTEE: i32 = 212;
/// The grantee or delegate was deactivated.
pub const HC_GRANTEE_DEACTIVATED: i32 = 213;
/// A delegation to the patient themself.
pub const HC_SELF_DELEGATION: i32 = 214;
/// The time window contains no instant.
pub const HC_EMPTY_WINDOW: i32 = 215;
/// The grantee already has that access: an active permit covers every section, purpose and action asked
/// for, over the whole window (`hc_ledger_find_covering_consent` names it).
pub const HC_ALREADY_HAS_ACCESS: i32 = 216;
/// No such consent.
pub const HC_UNKNOWN_CONSENT: i32 = 217;
/// The consent was already revoked.
pub const HC_CONSENT_ALREADY_REVOKED: i32 = 218;
/// No such delegation.
pub const HC_UNKNOWN_DELEGATION: i32 = 219;
/// The delegation was already revoked.
pub const HC_DELEGATION_ALREADY_REVOKED: i32 = 220;
/// The new key is already some actor's key.
pub const HC_KEY_IN_USE: i32 = 221;
/// The proof of possession does not verify.
pub const HC_BAD_PROOF_OF_POSSESSION: i32 = 222;
/// No such actor.
pub const HC_UNKNOWN_ACTOR: i32 = 223;
/// The actor is already deactivated.
pub const HC_ALREADY_DEACTIVATED: i32 = 224;
/// Deactivating this authority would leave fewer authorities than the seal threshold.
pub const HC_WOULD_BREAK_QUORUM: i32 = 225;
/// A request or access names `*` instead of one section, purpose or reason.
pub const HC_WILDCARD_IN_REQUEST: i32 = 226;
/// The access's time lies after the transaction's time.
pub const HC_ACCESS_IN_FUTURE: i32 = 227;
/// The consent rules do not permit the access at its time.
pub const HC_ACCESS_DENIED: i32 = 228;
/// The access names another basis than the engine's decision (for example a permit is recorded as
/// break-glass, or break-glass is needed).
pub const HC_BASIS_MISMATCH: i32 = 229;
/// The access reviewed is unknown.
pub const HC_UNKNOWN_ACCESS: i32 = 230;
/// The access reviewed was not a break-glass access.
pub const HC_NOT_BREAK_GLASS: i32 = 231;
/// The break-glass access was already reviewed.
pub const HC_ALREADY_REVIEWED: i32 = 232;
/// The patient's data was already erased.
pub const HC_ALREADY_ERASED: i32 = 233;
/// A delegate's consent change would widen its own access (a permit naming the delegate or its role, or
/// revoking a deny rule that names it).
pub const HC_WIDENS_OWN_ACCESS: i32 = 234;
/// A permit with exceptions: only a deny rule has exceptions.
pub const HC_EXCEPTIONS_ON_PERMIT: i32 = 235;

// ---- 300-349: why a block fails verification (`hc_verify_report.failure_code`; a transaction at
// fault gives its 200-249 code instead) ----
/// The store could not produce the block.
pub const HC_VERIFY_STORE: i32 = 300;
/// The block bytes are not a canonical encoding.
pub const HC_VERIFY_MALFORMED: i32 = 301;
/// The block belongs to another chain.
pub const HC_VERIFY_WRONG_CHAIN: i32 = 302;
/// The height is not the previous one plus one.
pub const HC_VERIFY_BAD_HEIGHT: i32 = 303;
/// The previous-block hash does not match.
pub const HC_VERIFY_BAD_PREV_HASH: i32 = 304;
/// The timestamp is earlier than the previous block's.
pub const HC_VERIFY_TIMESTAMP_DECREASED: i32 = 305;
/// The genesis block holds no genesis transaction.
pub const HC_VERIFY_MISSING_GENESIS: i32 = 306;
/// The header's tree size is not the number of transactions so far.
pub const HC_VERIFY_TREE_SIZE: i32 = 307;
/// The header's tree root is not the root over all transactions so far.
pub const HC_VERIFY_TREE_ROOT: i32 = 308;
/// A seal by an actor that is not an active authority.
pub const HC_VERIFY_SEALER_NOT_AUTHORITY: i32 = 309;
/// A seal signature does not verify.
pub const HC_VERIFY_BAD_SEAL: i32 = 310;
/// Fewer valid seals than the threshold.
pub const HC_VERIFY_NOT_ENOUGH_SEALS: i32 = 311;
/// The proposer named in the header did not seal the block.
pub const HC_VERIFY_PROPOSER_NOT_SEALER: i32 = 312;
/// The genesis block holds more than the genesis transaction.
pub const HC_VERIFY_GENESIS_NOT_ALONE: i32 = 313;
/// A state snapshot that an open starts from (beside the file, or the one the ledger was opened from) does
/// not hold the state the blocks give after its block.
pub const HC_VERIFY_SNAPSHOT_MISMATCH: i32 = 314;

// ---- 400-449: proofs, checkpoints, receipts, and where a ledger stands against a checkpoint ----
/// A leaf index that is not below the tree size.
pub const HC_INDEX_BEYOND_SIZE: i32 = 400;
/// Tree sizes out of order: a consistency proof needs `0 < old size <= new size`, and a ledger proves
/// nothing beyond its sealed tree.
pub const HC_BAD_SIZES: i32 = 401;
/// A proof with more or fewer elements than its index and sizes call for.
pub const HC_PROOF_WRONG_LENGTH: i32 = 402;
/// A proof that does not lead to the expected root.
pub const HC_PROOF_MISMATCH: i32 = 403;
/// A subtree needed for a proof is not available (the stored hashes could not be rebuilt).
pub const HC_PROOF_UNAVAILABLE: i32 = 404;
/// A note that breaks the C2SP signed-note format.
pub const HC_MALFORMED_NOTE: i32 = 410;
/// A note whose text is not a checkpoint (origin, tree size, root).
pub const HC_MALFORMED_CHECKPOINT: i32 = 411;
/// A verifier key that is not `name+hex(key id)+base64(type || key)` with a matching id, or of the wrong
/// type (an authority's is type 0x01, a witness's 0x04).
pub const HC_BAD_VERIFIER_KEY: i32 = 412;
/// A signature on the note by a key the policy names does not verify: the whole note is refused.
pub const HC_BAD_NOTE_SIGNATURE: i32 = 413;
/// No signature on the note is by a key the policy names.
pub const HC_NO_KNOWN_SIGNATURE: i32 = 414;
/// Fewer of the ledger's authorities signed the checkpoint than the policy requires.
pub const HC_TOO_FEW_SIGNATURES: i32 = 415;
/// Fewer of the trusted witnesses cosigned the checkpoint than the policy requires.
pub const HC_TOO_FEW_COSIGNATURES: i32 = 416;
/// A receipt that breaks its format (docs/FORMAT.md, "Receipts").
pub const HC_MALFORMED_RECEIPT: i32 = 420;
/// A receipt whose transaction is of another ledger than its checkpoint.
pub const HC_RECEIPT_WRONG_LEDGER: i32 = 421;
/// The transaction is not in a sealed block of this ledger (unknown, or submitted and not yet sealed).
pub const HC_NOT_SEALED: i32 = 425;
/// The checkpoint is not one of this ledger's: another origin, a larger tree, or another root at its size.
pub const HC_FOREIGN_CHECKPOINT: i32 = 426;
/// No checkpoint given and none carried holds the transaction (publish one first), or no carried
/// checkpoint at that index.
pub const HC_NO_CHECKPOINT: i32 = 427;
/// The ledger holds fewer transactions than a checkpoint one trusts: it was cut or rolled back since.
pub const HC_TRUNCATED: i32 = 440;
/// The ledger's first transactions give another root than a checkpoint one trusts, at its size: a fork (a
/// rewritten history).
pub const HC_FORKED: i32 = 441;
/// The checkpoint is of another ledger (its origin names another chain id).
pub const HC_OTHER_LEDGER: i32 = 442;
/// Verification failed before the ledger reached the checkpoint's size: nothing is known of it.
pub const HC_NOT_REACHED: i32 = 443;

// ---- 450-459: FHIR resources (the element at fault in `hc_last_error_message`) ----
/// A FHIR resource longer than the reader accepts (1 MiB).
pub const HC_FHIR_TOO_LARGE: i32 = 450;
/// Not JSON.
pub const HC_FHIR_SYNTAX: i32 = 451;
/// Not a valid FHIR resource (a wrong type, a missing element, a bad date, …).
pub const HC_FHIR_INVALID: i32 = 452;
/// A reference the directory does not resolve (or a grantee it does not name, on export).
pub const HC_FHIR_UNRESOLVED: i32 = 453;
/// Valid FHIR that the ledger cannot express exactly: refused, never read as a looser rule.
pub const HC_FHIR_UNSUPPORTED: i32 = 454;

/// Static English text for a status code (never NULL; "unknown status" for numbers not listed).
#[unsafe(no_mangle)]
pub extern "C" fn hc_status_str(status: i32) -> *const c_char {
    run_value(c"unknown status".as_ptr(), || match status_text(status) {
        "" => c"unknown status".as_ptr(),
        text => text.as_ptr().cast(),
    })
}

/// The detail message of the last failed call on this thread (empty after a call that succeeded). Never
/// NULL; valid until the next healthchain call on this thread. Names no patient and holds no secret.
#[unsafe(no_mangle)]
pub extern "C" fn hc_last_error_message() -> *const c_char {
    run_value(c"".as_ptr(), last_error)
}

/// The static text of a status code (NUL-terminated), or "" when unknown.
fn status_text(status: i32) -> &'static str {
    match status {
        HC_OK => "ok\0",
        HC_ROW => "row\0",
        HC_DONE => "done\0",
        HC_NULL_ARGUMENT => "NULL argument\0",
        HC_INVALID_ARGUMENT => "invalid argument\0",
        HC_INVALID_UTF8 => "string is not UTF-8\0",
        HC_TOO_LONG => "argument too long\0",
        HC_BUFFER_TOO_SMALL => "buffer too small\0",
        HC_INVALID_CODE => "invalid code\0",
        HC_INVALID_KEY => "invalid public key\0",
        HC_MISUSE => "call out of order\0",
        HC_PANIC => "internal panic; handle poisoned\0",
        HC_POISONED => "handle poisoned by an earlier panic\0",
        HC_UNMAPPED_ERROR => "error without a C code (library version mismatch)\0",
        HC_IO => "ledger file i/o error\0",
        HC_NOT_FOUND => "ledger file not found\0",
        HC_ALREADY_EXISTS => "ledger file already exists\0",
        HC_LOCKED => "ledger locked by another writer\0",
        HC_NOT_A_LEDGER => "not a healthchain ledger\0",
        HC_UNSUPPORTED_VERSION => "unsupported ledger file version\0",
        HC_DAMAGED => "ledger file damaged\0",
        HC_TORN_TAIL => "interrupted final append (strict open)\0",
        HC_CORRUPT => "ledger does not verify\0",
        HC_STORE_POISONED => "ledger poisoned by a store failure; reopen it\0",
        HC_READ_ONLY => "ledger is read-only\0",
        HC_EMPTY_LEDGER => "ledger file holds no block\0",
        HC_INVALID_SETTINGS => "invalid ledger settings\0",
        HC_NOTHING_TO_SEAL => "nothing to seal\0",
        HC_BLOCK_FULL => "block full; seal it first\0",
        HC_UNKNOWN_KEY => "key belongs to no registered actor or active authority\0",
        HC_KEY_NOT_ACTIVE => "key is no longer the actor's active key\0",
        HC_NOT_ENOUGH_SEALERS => "not enough sealing authorities\0",
        HC_STALE_PROPOSAL => "block proposal is stale\0",
        HC_NO_RANDOMNESS => "operating system random source failed\0",
        HC_HEIGHT_BEYOND_HEAD => "height beyond the sealed head\0",
        HC_NO_MATCH => "no match\0",
        HC_INCOMPLETE_CREATION => "ledger file holds an interrupted creation\0",
        HC_BLOCK_NOT_STORABLE => "block cannot be stored\0",
        HC_CARRIED_CHECKPOINTS_DAMAGED => "carried checkpoints file damaged\0",
        HC_TREE_MISMATCH => "stored blocks no longer give the ledger's tree\0",
        HC_HISTORY_DAMAGED => "access history damaged; reopen the ledger\0",
        HC_SNAPSHOT_UNAVAILABLE => "no snapshot can be written: transactions queued, or not a file's writer\0",
        HC_MALFORMED => "malformed transaction\0",
        HC_WRONG_CHAIN => "transaction belongs to another chain\0",
        HC_GENESIS_POSITION => "genesis must be first and only first\0",
        HC_INVALID_GENESIS => "invalid genesis\0",
        HC_UNKNOWN_SIGNER => "unknown signer\0",
        HC_SIGNER_DEACTIVATED => "signer is deactivated\0",
        HC_BAD_SIGNATURE => "bad signature\0",
        HC_BAD_SEQUENCE => "bad sequence number\0",
        HC_TIME_OUT_OF_RANGE => "transaction time out of range\0",
        HC_UNAUTHORIZED => "signer not authorized\0",
        HC_INVALID_PATIENT => "invalid or unknown patient\0",
        HC_PATIENT_ERASED => "patient was erased\0",
        HC_UNKNOWN_GRANTEE => "unknown grantee\0",
        HC_GRANTEE_DEACTIVATED => "grantee is deactivated\0",
        HC_SELF_DELEGATION => "a patient cannot be their own delegate\0",
        HC_EMPTY_WINDOW => "empty time window\0",
        HC_ALREADY_HAS_ACCESS => "grantee already has that access\0",
        HC_UNKNOWN_CONSENT => "unknown consent\0",
        HC_CONSENT_ALREADY_REVOKED => "consent already revoked\0",
        HC_UNKNOWN_DELEGATION => "unknown delegation\0",
        HC_DELEGATION_ALREADY_REVOKED => "delegation already revoked\0",
        HC_KEY_IN_USE => "key already in use\0",
        HC_BAD_PROOF_OF_POSSESSION => "bad proof of possession\0",
        HC_UNKNOWN_ACTOR => "unknown actor\0",
        HC_ALREADY_DEACTIVATED => "actor already deactivated\0",
        HC_WOULD_BREAK_QUORUM => "deactivation would break the seal quorum\0",
        HC_WILDCARD_IN_REQUEST => "a request names one section, purpose and reason, not *\0",
        HC_ACCESS_IN_FUTURE => "access time after transaction time\0",
        HC_ACCESS_DENIED => "access not permitted\0",
        HC_BASIS_MISMATCH => "access basis does not match the decision\0",
        HC_UNKNOWN_ACCESS => "unknown access\0",
        HC_NOT_BREAK_GLASS => "access was not a break-glass access\0",
        HC_ALREADY_REVIEWED => "break-glass access already reviewed\0",
        HC_ALREADY_ERASED => "patient already erased\0",
        HC_WIDENS_OWN_ACCESS => "a delegate cannot widen its own access\0",
        HC_EXCEPTIONS_ON_PERMIT => "only a deny rule has exceptions\0",
        HC_VERIFY_STORE => "block could not be read\0",
        HC_VERIFY_MALFORMED => "malformed block\0",
        HC_VERIFY_WRONG_CHAIN => "block belongs to another chain\0",
        HC_VERIFY_BAD_HEIGHT => "bad block height\0",
        HC_VERIFY_BAD_PREV_HASH => "previous-block hash does not match\0",
        HC_VERIFY_TIMESTAMP_DECREASED => "block timestamp decreased\0",
        HC_VERIFY_MISSING_GENESIS => "genesis block holds no transaction\0",
        HC_VERIFY_TREE_SIZE => "tree size mismatch\0",
        HC_VERIFY_TREE_ROOT => "tree root mismatch\0",
        HC_VERIFY_SEALER_NOT_AUTHORITY => "seal by a non-authority\0",
        HC_VERIFY_BAD_SEAL => "bad seal signature\0",
        HC_VERIFY_NOT_ENOUGH_SEALS => "not enough seals\0",
        HC_VERIFY_PROPOSER_NOT_SEALER => "proposer did not seal the block\0",
        HC_VERIFY_GENESIS_NOT_ALONE => "genesis block holds more than genesis\0",
        HC_VERIFY_SNAPSHOT_MISMATCH => "state snapshot does not hold the state the blocks give\0",
        HC_INDEX_BEYOND_SIZE => "leaf index beyond the tree size\0",
        HC_BAD_SIZES => "tree sizes out of order or beyond the tree\0",
        HC_PROOF_WRONG_LENGTH => "proof has the wrong number of elements\0",
        HC_PROOF_MISMATCH => "proof does not lead to the expected root\0",
        HC_PROOF_UNAVAILABLE => "subtree for the proof not available\0",
        HC_MALFORMED_NOTE => "malformed signed note\0",
        HC_MALFORMED_CHECKPOINT => "malformed checkpoint\0",
        HC_BAD_VERIFIER_KEY => "malformed or inconsistent verifier key\0",
        HC_BAD_NOTE_SIGNATURE => "a note signature by a known key does not verify\0",
        HC_NO_KNOWN_SIGNATURE => "note signed by no known key\0",
        HC_TOO_FEW_SIGNATURES => "checkpoint signed by too few authorities\0",
        HC_TOO_FEW_COSIGNATURES => "checkpoint cosigned by too few witnesses\0",
        HC_MALFORMED_RECEIPT => "malformed receipt\0",
        HC_RECEIPT_WRONG_LEDGER => "receipt transaction is of another ledger\0",
        HC_NOT_SEALED => "transaction not sealed in this ledger\0",
        HC_FOREIGN_CHECKPOINT => "checkpoint is not of this ledger\0",
        HC_NO_CHECKPOINT => "no checkpoint holds the transaction\0",
        HC_TRUNCATED => "ledger cut or rolled back since a trusted checkpoint\0",
        HC_FORKED => "ledger forked from a trusted checkpoint\0",
        HC_OTHER_LEDGER => "checkpoint is of another ledger\0",
        HC_NOT_REACHED => "verification failed before the checkpoint's size\0",
        HC_FHIR_TOO_LARGE => "FHIR resource too large\0",
        HC_FHIR_SYNTAX => "FHIR resource is not JSON\0",
        HC_FHIR_INVALID => "invalid FHIR resource\0",
        HC_FHIR_UNRESOLVED => "FHIR reference not in the directory\0",
        HC_FHIR_UNSUPPORTED => "FHIR resource the ledger cannot express exactly\0",
        _ => "",
    }
}

/// The code of a transaction refusal.
pub(crate) fn tx_code(error: &TxError) -> i32 {
    match error {
        TxError::Malformed(_) => HC_MALFORMED,
        TxError::WrongChain => HC_WRONG_CHAIN,
        TxError::GenesisPosition => HC_GENESIS_POSITION,
        TxError::InvalidGenesis(_) => HC_INVALID_GENESIS,
        TxError::UnknownSigner => HC_UNKNOWN_SIGNER,
        TxError::SignerDeactivated => HC_SIGNER_DEACTIVATED,
        TxError::BadSignature => HC_BAD_SIGNATURE,
        TxError::BadSequence { .. } => HC_BAD_SEQUENCE,
        TxError::TimeOutOfRange { .. } => HC_TIME_OUT_OF_RANGE,
        TxError::Unauthorized => HC_UNAUTHORIZED,
        TxError::InvalidPatient => HC_INVALID_PATIENT,
        TxError::PatientErased => HC_PATIENT_ERASED,
        TxError::UnknownGrantee => HC_UNKNOWN_GRANTEE,
        TxError::GranteeDeactivated => HC_GRANTEE_DEACTIVATED,
        TxError::SelfDelegation => HC_SELF_DELEGATION,
        TxError::EmptyWindow => HC_EMPTY_WINDOW,
        TxError::AlreadyHasAccess { .. } => HC_ALREADY_HAS_ACCESS,
        TxError::UnknownConsent => HC_UNKNOWN_CONSENT,
        TxError::ConsentAlreadyRevoked => HC_CONSENT_ALREADY_REVOKED,
        TxError::UnknownDelegation => HC_UNKNOWN_DELEGATION,
        TxError::DelegationAlreadyRevoked => HC_DELEGATION_ALREADY_REVOKED,
        TxError::KeyInUse => HC_KEY_IN_USE,
        TxError::BadProofOfPossession => HC_BAD_PROOF_OF_POSSESSION,
        TxError::UnknownActor => HC_UNKNOWN_ACTOR,
        TxError::AlreadyDeactivated => HC_ALREADY_DEACTIVATED,
        TxError::WouldBreakQuorum => HC_WOULD_BREAK_QUORUM,
        TxError::WildcardInRequest => HC_WILDCARD_IN_REQUEST,
        TxError::AccessInFuture => HC_ACCESS_IN_FUTURE,
        TxError::AccessDenied(_) => HC_ACCESS_DENIED,
        TxError::BasisMismatch(_) => HC_BASIS_MISMATCH,
        TxError::UnknownAccess => HC_UNKNOWN_ACCESS,
        TxError::NotBreakGlass => HC_NOT_BREAK_GLASS,
        TxError::AlreadyReviewed => HC_ALREADY_REVIEWED,
        TxError::AlreadyErased => HC_ALREADY_ERASED,
        TxError::WidensOwnAccess => HC_WIDENS_OWN_ACCESS,
        TxError::ExceptionsOnPermit => HC_EXCEPTIONS_ON_PERMIT,
        // The core's errors are `#[non_exhaustive]`: a variant added there without a code here.
        _ => HC_UNMAPPED_ERROR,
    }
}

/// The code of a verification failure.
pub(crate) fn block_code(error: &BlockError) -> i32 {
    match error {
        BlockError::Store(_) => HC_VERIFY_STORE,
        BlockError::Malformed(_) => HC_VERIFY_MALFORMED,
        BlockError::WrongChain => HC_VERIFY_WRONG_CHAIN,
        BlockError::BadHeight { .. } => HC_VERIFY_BAD_HEIGHT,
        BlockError::BadPrevHash => HC_VERIFY_BAD_PREV_HASH,
        BlockError::TimestampDecreased { .. } => HC_VERIFY_TIMESTAMP_DECREASED,
        BlockError::MissingGenesis => HC_VERIFY_MISSING_GENESIS,
        BlockError::GenesisNotAlone => HC_VERIFY_GENESIS_NOT_ALONE,
        BlockError::TreeSizeMismatch { .. } => HC_VERIFY_TREE_SIZE,
        BlockError::TreeRootMismatch => HC_VERIFY_TREE_ROOT,
        BlockError::SealerNotAuthority => HC_VERIFY_SEALER_NOT_AUTHORITY,
        BlockError::BadSeal => HC_VERIFY_BAD_SEAL,
        BlockError::NotEnoughSeals { .. } => HC_VERIFY_NOT_ENOUGH_SEALS,
        BlockError::ProposerNotSealer => HC_VERIFY_PROPOSER_NOT_SEALER,
        BlockError::Tx(tx) => tx_code(tx),
        BlockError::SnapshotMismatch => HC_VERIFY_SNAPSHOT_MISMATCH,
        _ => HC_UNMAPPED_ERROR,
    }
}

impl From<TxError> for Failure {
    fn from(error: TxError) -> Self {
        Failure::new(tx_code(&error), error.to_string())
    }
}

impl From<CheckError> for Failure {
    fn from(error: CheckError) -> Self {
        let code = match error {
            CheckError::InvalidPatient => HC_INVALID_PATIENT,
            CheckError::UnknownActor => HC_UNKNOWN_ACTOR,
            CheckError::WildcardInRequest => HC_WILDCARD_IN_REQUEST,
            CheckError::HeightBeyondHead { .. } => HC_HEIGHT_BEYOND_HEAD,
            _ => HC_UNMAPPED_ERROR,
        };
        Failure::new(code, error.to_string())
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        let code = match &error {
            StoreError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Failure::new(HC_NOT_FOUND, format!("file or directory not found: {e}"));
            }
            StoreError::Io(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Failure::new(HC_ALREADY_EXISTS, "ledger file already exists; create refuses to overwrite it");
            }
            StoreError::Io(_) | StoreError::Missing(_) | StoreError::OutOfOrder { .. } => HC_IO,
            StoreError::BlockTooLarge(_) => HC_BLOCK_FULL,
            StoreError::Locked => HC_LOCKED,
            StoreError::Poisoned => HC_STORE_POISONED,
            StoreError::NotALedger => HC_NOT_A_LEDGER,
            StoreError::UnknownVersion(_) => HC_UNSUPPORTED_VERSION,
            StoreError::Damaged { .. } => HC_DAMAGED,
            StoreError::TornTail { .. } => HC_TORN_TAIL,
            StoreError::ReadOnly => HC_READ_ONLY,
            StoreError::IncompleteCreation => HC_INCOMPLETE_CREATION,
            StoreError::InvalidBlock(_) => HC_BLOCK_NOT_STORABLE,
            _ => HC_UNMAPPED_ERROR,
        };
        Failure::new(code, error.to_string())
    }
}

impl From<KeyError> for Failure {
    fn from(error: KeyError) -> Self {
        let code = match error {
            KeyError::NoRandomness => HC_NO_RANDOMNESS,
            KeyError::NotAPoint | KeyError::NonCanonical | KeyError::Weak | KeyError::MixedOrder => HC_INVALID_KEY,
            _ => HC_UNMAPPED_ERROR,
        };
        Failure::new(code, error.to_string())
    }
}

impl From<CodeError> for Failure {
    fn from(error: CodeError) -> Self {
        Failure::new(HC_INVALID_CODE, error.to_string())
    }
}

impl From<LedgerError> for Failure {
    fn from(error: LedgerError) -> Self {
        let code = match error {
            LedgerError::Tx(e)
            | LedgerError::GrantRefused { refusal: e, .. }
            | LedgerError::RevokeRefused { refusal: e, .. } => return e.into(),
            LedgerError::Check(e) => return e.into(),
            LedgerError::Store(e) => return e.into(),
            LedgerError::Key(e) => return e.into(),
            LedgerError::Corrupt { .. } => HC_CORRUPT,
            LedgerError::Poisoned => HC_STORE_POISONED,
            LedgerError::StoreNotEmpty => HC_ALREADY_EXISTS,
            LedgerError::StoreEmpty => HC_EMPTY_LEDGER,
            LedgerError::KeyNotActive => HC_KEY_NOT_ACTIVE,
            LedgerError::StaleProposal => HC_STALE_PROPOSAL,
            LedgerError::NothingToSeal => HC_NOTHING_TO_SEAL,
            LedgerError::BlockFull => HC_BLOCK_FULL,
            LedgerError::UnknownKey(_) => HC_UNKNOWN_KEY,
            LedgerError::NotEnoughSealers { .. } => HC_NOT_ENOUGH_SEALERS,
            LedgerError::InvalidSettings(_) => HC_INVALID_SETTINGS,
            // Not reachable through the C API, which has no fork.
            LedgerError::NotACopy(_) => HC_INVALID_ARGUMENT,
            LedgerError::Proof(e) => return e.into(),
            LedgerError::Checkpoint(e) => return e.into(),
            LedgerError::NotSealed => HC_NOT_SEALED,
            LedgerError::ForeignCheckpoint => HC_FOREIGN_CHECKPOINT,
            LedgerError::NoCheckpoint => HC_NO_CHECKPOINT,
            LedgerError::CarriedCheckpoints(_) => HC_CARRIED_CHECKPOINTS_DAMAGED,
            LedgerError::BrokenCheckpoint(ref standing) => match standing_code(standing) {
                HC_OK => HC_UNMAPPED_ERROR, // a kept checkpoint is never a refusal
                code => {
                    return Failure::new(
                        code,
                        format!("ledger goes back on a checkpoint it carries: {}", standing_text(standing)),
                    );
                }
            },
            LedgerError::TreeMismatch => HC_TREE_MISMATCH,
            LedgerError::History(HistoryError::Io(_)) => HC_IO,
            LedgerError::History(_) => HC_HISTORY_DAMAGED,
            LedgerError::Snapshot(SnapshotError::Io(_)) => HC_IO,
            LedgerError::Snapshot(_) => HC_SNAPSHOT_UNAVAILABLE,
            _ => HC_UNMAPPED_ERROR,
        };
        Failure::new(code, error.to_string())
    }
}

/// The code of a proof refusal.
pub(crate) fn proof_code(error: &ProofError) -> i32 {
    match error {
        ProofError::IndexBeyondSize { .. } => HC_INDEX_BEYOND_SIZE,
        ProofError::BadSizes { .. } => HC_BAD_SIZES,
        ProofError::WrongLength { .. } => HC_PROOF_WRONG_LENGTH,
        ProofError::RootMismatch => HC_PROOF_MISMATCH,
        ProofError::Unavailable { .. } => HC_PROOF_UNAVAILABLE,
        _ => HC_UNMAPPED_ERROR,
    }
}

impl From<ProofError> for Failure {
    fn from(error: ProofError) -> Self {
        Failure::new(proof_code(&error), error.to_string())
    }
}

impl From<CheckpointError> for Failure {
    fn from(error: CheckpointError) -> Self {
        let code = match error {
            CheckpointError::MalformedNote(_) => HC_MALFORMED_NOTE,
            CheckpointError::MalformedCheckpoint(_) => HC_MALFORMED_CHECKPOINT,
            CheckpointError::BadVerifierKey => HC_BAD_VERIFIER_KEY,
            CheckpointError::BadSignature => HC_BAD_NOTE_SIGNATURE,
            CheckpointError::NoKnownSignature => HC_NO_KNOWN_SIGNATURE,
            CheckpointError::TooFewSignatures { .. } => HC_TOO_FEW_SIGNATURES,
            CheckpointError::TooFewCosignatures { .. } => HC_TOO_FEW_COSIGNATURES,
            _ => HC_UNMAPPED_ERROR,
        };
        Failure::new(code, error.to_string())
    }
}

impl From<ReceiptError> for Failure {
    fn from(error: ReceiptError) -> Self {
        let code = match error {
            ReceiptError::Malformed(_) => HC_MALFORMED_RECEIPT,
            ReceiptError::Checkpoint(e) => return e.into(),
            ReceiptError::WrongLedger => HC_RECEIPT_WRONG_LEDGER,
            ReceiptError::Proof(e) => return e.into(),
            _ => HC_UNMAPPED_ERROR,
        };
        Failure::new(code, error.to_string())
    }
}

/// The code of where a ledger stands against a checkpoint: `HC_OK` when it keeps it.
pub(crate) fn standing_code(standing: &Standing) -> i32 {
    match standing {
        Standing::Extends { .. } => HC_OK,
        Standing::Truncated { .. } => HC_TRUNCATED,
        Standing::Forked(_) => HC_FORKED,
        Standing::OtherLedger { .. } => HC_OTHER_LEDGER,
        Standing::NotReached { .. } => HC_NOT_REACHED,
    }
}

/// Where a ledger stands, in words (sizes, roots and heights: no patient data).
pub(crate) fn standing_text(standing: &Standing) -> String {
    match standing {
        Standing::Extends { checkpoint_size, ledger_size } => {
            format!("holds the checkpoint's tree of {checkpoint_size} transactions and has {ledger_size}")
        }
        Standing::Truncated { checkpoint_size, ledger_size } => {
            format!("cut or rolled back: {ledger_size} transactions, fewer than the checkpoint's {checkpoint_size}")
        }
        Standing::Forked(fork) => format!(
            "forked: the first {} transactions give root {} (block {}), the checkpoint states {}",
            fork.size,
            fork.ledger_root.to_hex(),
            fork.block,
            fork.checkpoint_root.to_hex()
        ),
        Standing::OtherLedger { origin } => format!("the checkpoint is of another ledger ({origin})"),
        Standing::NotReached { checkpoint_size, verified_size } => {
            format!("verification failed after {verified_size} transactions, before the checkpoint's {checkpoint_size}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::boundary::run_status;
    use super::*;
    use std::collections::HashSet;

    /// Every status constant declared in this file, as (name, number).
    fn declared() -> Vec<(String, i32)> {
        include_str!("status.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("pub const HC_"))
            .map(|rest| {
                let (name, value) = rest.split_once(": i32 = ").unwrap();
                (format!("HC_{name}"), value.trim_end_matches(';').parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn every_status_has_a_unique_number_and_text() {
        let declared = declared();
        assert!(declared.len() > 80, "status constants not found: {}", declared.len());
        let mut numbers = HashSet::new();
        let mut texts = HashSet::new();
        for (name, number) in &declared {
            assert!(numbers.insert(*number), "{name} reuses {number}");
            let text = status_text(*number);
            assert!(text.ends_with('\0') && text.len() > 1, "{name} has no text");
            assert!(texts.insert(text), "{name} shares its text {text:?}");
        }
        assert_eq!(status_text(-1), "");
        assert_eq!(status_text(99), "");
    }

    #[test]
    fn status_ranges_group_the_codes() {
        for (name, number) in declared() {
            let range = match number {
                0..=9 => "success",
                10..=29 => "caller",
                30..=39 => "internal",
                100..=149 => "ledger",
                200..=249 => "transaction",
                300..=349 => "verification",
                400..=449 => "proofs",
                450..=459 => "fhir",
                _ => panic!("{name} = {number} lies outside every range"),
            };
            if name.starts_with("HC_VERIFY_") {
                assert_eq!(range, "verification", "{name}");
            }
            if name.starts_with("HC_FHIR_") {
                assert_eq!(range, "fhir", "{name}");
            }
        }
    }

    #[test]
    fn status_str_is_never_null() {
        for status in [-5, 0, 1, 30, 216, 312, 10_000] {
            assert!(!hc_status_str(status).is_null());
        }
    }

    #[test]
    fn failures_keep_the_typed_code() {
        assert_eq!(Failure::from(TxError::InvalidPatient).code, HC_INVALID_PATIENT);
        assert_eq!(Failure::from(CheckError::InvalidPatient).code, HC_INVALID_PATIENT);
        assert_eq!(Failure::from(LedgerError::Tx(TxError::EmptyWindow)).code, HC_EMPTY_WINDOW);
        assert_eq!(Failure::from(LedgerError::Store(StoreError::Locked)).code, HC_LOCKED);
        assert_eq!(block_code(&BlockError::Tx(TxError::BadSignature)), HC_BAD_SIGNATURE);
        let status = run_status(|| Err(Failure::from(KeyError::Weak)));
        assert_eq!(status, HC_INVALID_KEY);
    }

    #[test]
    fn proof_checkpoint_receipt_and_standing_failures_keep_their_codes() {
        use healthchain::hash::Hash256;
        use healthchain::ids::BlockHash;
        use healthchain::trust::Fork;
        let proof = |e| Failure::from(LedgerError::Proof(e)).code;
        assert_eq!(proof(ProofError::IndexBeyondSize { index: 3, size: 3 }), HC_INDEX_BEYOND_SIZE);
        assert_eq!(proof(ProofError::BadSizes { old: 0, new: 1 }), HC_BAD_SIZES);
        assert_eq!(proof(ProofError::WrongLength { have: 1, want: 2 }), HC_PROOF_WRONG_LENGTH);
        assert_eq!(proof(ProofError::RootMismatch), HC_PROOF_MISMATCH);
        assert_eq!(proof(ProofError::Unavailable { start: 0, end: 1 }), HC_PROOF_UNAVAILABLE);
        let note = |e| Failure::from(LedgerError::Checkpoint(e)).code;
        assert_eq!(note(CheckpointError::MalformedNote("x")), HC_MALFORMED_NOTE);
        assert_eq!(note(CheckpointError::MalformedCheckpoint("x")), HC_MALFORMED_CHECKPOINT);
        assert_eq!(note(CheckpointError::BadVerifierKey), HC_BAD_VERIFIER_KEY);
        assert_eq!(note(CheckpointError::BadSignature), HC_BAD_NOTE_SIGNATURE);
        assert_eq!(note(CheckpointError::NoKnownSignature), HC_NO_KNOWN_SIGNATURE);
        assert_eq!(note(CheckpointError::TooFewSignatures { have: 0, need: 1 }), HC_TOO_FEW_SIGNATURES);
        assert_eq!(note(CheckpointError::TooFewCosignatures { have: 0, need: 1 }), HC_TOO_FEW_COSIGNATURES);
        assert_eq!(Failure::from(ReceiptError::Malformed("x")).code, HC_MALFORMED_RECEIPT);
        assert_eq!(Failure::from(ReceiptError::WrongLedger).code, HC_RECEIPT_WRONG_LEDGER);
        assert_eq!(Failure::from(ReceiptError::Proof(ProofError::RootMismatch)).code, HC_PROOF_MISMATCH);
        assert_eq!(Failure::from(ReceiptError::Checkpoint(CheckpointError::BadSignature)).code, HC_BAD_NOTE_SIGNATURE);
        for (error, code) in [
            (LedgerError::NotSealed, HC_NOT_SEALED),
            (LedgerError::ForeignCheckpoint, HC_FOREIGN_CHECKPOINT),
            (LedgerError::NoCheckpoint, HC_NO_CHECKPOINT),
            (LedgerError::CarriedCheckpoints("x"), HC_CARRIED_CHECKPOINTS_DAMAGED),
            (LedgerError::TreeMismatch, HC_TREE_MISMATCH),
            (LedgerError::History(HistoryError::Damaged { offset: 8, reason: "checksum" }), HC_HISTORY_DAMAGED),
            (LedgerError::History(HistoryError::Io(std::io::ErrorKind::Other.into())), HC_IO),
            (LedgerError::Snapshot(SnapshotError::Unsealed), HC_SNAPSHOT_UNAVAILABLE),
            (LedgerError::Snapshot(SnapshotError::NoPlace), HC_SNAPSHOT_UNAVAILABLE),
            (LedgerError::Snapshot(SnapshotError::Io(std::io::ErrorKind::Other.into())), HC_IO),
        ] {
            assert_eq!(Failure::from(error).code, code);
        }
        let fork = Fork {
            size: 9,
            checkpoint_root: Hash256([1; 32]),
            ledger_root: Hash256([2; 32]),
            block: 4,
            block_hash: BlockHash(Hash256([3; 32])),
        };
        for (standing, code) in [
            (Standing::Extends { checkpoint_size: 2, ledger_size: 3 }, HC_UNMAPPED_ERROR),
            (Standing::Truncated { checkpoint_size: 3, ledger_size: 2 }, HC_TRUNCATED),
            (Standing::Forked(fork), HC_FORKED),
            (Standing::OtherLedger { origin: "healthchain/00".into() }, HC_OTHER_LEDGER),
            (Standing::NotReached { checkpoint_size: 3, verified_size: 1 }, HC_NOT_REACHED),
        ] {
            let failure = Failure::from(LedgerError::BrokenCheckpoint(Box::new(standing.clone())));
            assert_eq!(failure.code, code, "{standing:?}");
            assert!(!failure.message.is_empty());
            let kept = if code == HC_UNMAPPED_ERROR { HC_OK } else { code };
            assert_eq!(standing_code(&standing), kept);
        }
    }
}
