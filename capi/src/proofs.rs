//! Merkle proofs (RFC 9162 §2.1.3–2.1.4) over a ledger's transaction tree: where a sealed transaction
//! sits, its canonical bytes (the leaf), the root at any size, inclusion and consistency proofs made from
//! a ledger, and their verification with nothing of the ledger.
//!
//! A proof's path crosses the API as its elements' 32-byte hashes concatenated, leaf first for an
//! inclusion proof, in RFC 9162's order for a consistency proof: at most `HC_MAX_PROOF_BYTES` bytes.

use super::boundary::{Failure, FfiResult, Out, OutBuffer, arg, run, slice};
use super::ledger::{hc_ledger, read_ledger};
use super::status::HC_TOO_LONG;
use super::values::{hc_hash, hc_tx_id, value};
use healthchain::codec::Encode;
use healthchain::hash::Hash256;
use healthchain::ledger::LedgerError;
use healthchain::merkle::leaf_hash;
use healthchain::proof::{ConsistencyProof, InclusionProof, MAX_PROOF_ELEMENTS};

/// Size of one proof element (a SHA-256 hash), in bytes.
pub const HC_HASH_LEN: usize = 32;
/// The most bytes a proof's path can hold: 128 elements of 32 bytes (a consistency proof in a tree of
/// 2^64 leaves; an inclusion proof holds at most half as many). A buffer of this size always suffices.
pub const HC_MAX_PROOF_BYTES: usize = 4096;

/// The largest canonical transaction, in bytes: a buffer of this size holds any transaction's bytes.
pub const HC_MAX_TX_LEN: usize = 65536;

const _: () = assert!(HC_MAX_PROOF_BYTES == MAX_PROOF_ELEMENTS * HC_HASH_LEN);
const _: () = assert!(HC_MAX_TX_LEN == healthchain::block::MAX_TX_LEN);

/// A path's bytes as the concatenation of 32-byte hashes.
fn path_bytes(path: &[Hash256]) -> Vec<u8> {
    path.iter().flat_map(|hash| hash.0).collect()
}

/// A path from C's concatenated 32-byte hashes.
fn path_from(bytes: &[u8]) -> FfiResult<Vec<Hash256>> {
    if bytes.len() > HC_MAX_PROOF_BYTES {
        return Err(Failure::new(
            HC_TOO_LONG,
            format!("`path` holds {} bytes; at most {HC_MAX_PROOF_BYTES}", bytes.len()),
        ));
    }
    let (elements, rest) = bytes.as_chunks::<HC_HASH_LEN>();
    if !rest.is_empty() {
        return Err(Failure::invalid(format!("`path_len` {} is not a multiple of {HC_HASH_LEN}", bytes.len())));
    }
    Ok(elements.iter().map(|element| Hash256(*element)).collect())
}

/// Writes the leaf index of a sealed transaction in the ledger's tree (its position in ledger order, from
/// 0, the genesis transaction first).
///
/// Errors: `HC_NOT_SEALED` (unknown here, or submitted and not yet sealed).
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `tx` is NULL or points to an `hc_tx_id`; `out` is NULL or valid
/// for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_position(ledger: *const hc_ledger, tx: *const hc_tx_id, out: *mut u64) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, tx, out) = unsafe { (arg(ledger, "ledger")?, value(tx, "tx")?, Out::new(out, "out")?) };
        let index = read_ledger!(ledger, |l| l.position_of(&tx.into())?.ok_or(LedgerError::NotSealed.into()))?;
        out.write(index);
        Ok(())
    })
}

/// Copies the canonical bytes of the sealed transaction at leaf `index` (what its leaf hash is computed
/// from: give them to `hc_verify_inclusion`) into `buf`, `*out_len` receiving their size (at most
/// `HC_MAX_TX_LEN`).
///
/// Errors: `HC_BUFFER_TOO_SMALL`, `HC_INDEX_BEYOND_SIZE`, `HC_TREE_MISMATCH`, `HC_IO`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `buf` is NULL or valid for writes of `len` bytes (NULL with `len`
/// 0 asks for the size); `out_len` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_transaction_bytes(
    ledger: *const hc_ledger,
    index: u64,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, out) = unsafe { (arg(ledger, "ledger")?, OutBuffer::new(buf, len, out_len)?) };
        let bytes = read_ledger!(ledger, |l| Ok(l.transaction_at(index)?.0.to_bytes()))?;
        out.fill(&bytes)
    })
}

/// Writes the Merkle root of the ledger's first `size` sealed transactions (0 gives the empty tree's
/// root; the ledger's tree size gives `hc_ledger_info.tree_root`). A root below the current size comes
/// from the stored hashes and is confirmed by a consistency proof to the ledger's own root first.
///
/// Errors: `HC_BAD_SIZES` (`size` beyond the sealed tree), `HC_TREE_MISMATCH`, `HC_IO`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_root_at(ledger: *const hc_ledger, size: u64, out: *mut hc_hash) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, out) = unsafe { (arg(ledger, "ledger")?, Out::new(out, "out")?) };
        out.write(read_ledger!(ledger, |l| Ok(l.root_at(size)?))?.into());
        Ok(())
    })
}

/// Copies the inclusion proof of the sealed transaction at leaf `index` in the tree of the first
/// `tree_size` sealed transactions into `buf` (the path's 32-byte hashes, leaf first), `*out_len`
/// receiving its size (a multiple of 32, at most `HC_MAX_PROOF_BYTES`; 0 for a tree of one leaf). The
/// proof is checked against `hc_ledger_root_at(tree_size)` before it is given.
///
/// Errors: `HC_BUFFER_TOO_SMALL`, `HC_INDEX_BEYOND_SIZE` (`index >= tree_size`), `HC_BAD_SIZES`
/// (`tree_size` beyond the sealed tree), `HC_TREE_MISMATCH`, `HC_IO`.
///
/// # Safety
/// `ledger` is NULL or a live `hc_ledger`; `buf` is NULL or valid for writes of `len` bytes (NULL with `len`
/// 0 asks for the size); `out_len` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_prove_inclusion(
    ledger: *const hc_ledger,
    index: u64,
    tree_size: u64,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, out) = unsafe { (arg(ledger, "ledger")?, OutBuffer::new(buf, len, out_len)?) };
        let proof = read_ledger!(ledger, |l| Ok(l.prove_inclusion(index, tree_size)?))?;
        out.fill(&path_bytes(&proof.path))
    })
}

/// Copies the consistency proof from the tree of the first `old_size` sealed transactions to that of the
/// first `new_size` into `buf` (the path's 32-byte hashes, in RFC 9162's order), `*out_len` receiving its
/// size (a multiple of 32, at most `HC_MAX_PROOF_BYTES`; 0 when the sizes are equal). The proof is checked
/// against both roots before it is given.
///
/// Errors: `HC_BUFFER_TOO_SMALL`, `HC_BAD_SIZES` (`old_size` 0, `old_size > new_size`, or `new_size`
/// beyond the sealed tree), `HC_TREE_MISMATCH`, `HC_IO`.
///
/// # Safety
/// As for `hc_ledger_prove_inclusion`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_ledger_prove_consistency(
    ledger: *const hc_ledger,
    old_size: u64,
    new_size: u64,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (ledger, out) = unsafe { (arg(ledger, "ledger")?, OutBuffer::new(buf, len, out_len)?) };
        let proof = read_ledger!(ledger, |l| Ok(l.prove_consistency(old_size, new_size)?))?;
        out.fill(&path_bytes(&proof.path))
    })
}

/// Checks, with nothing of the ledger, that the `leaf_len` bytes at `leaf` (a transaction's canonical
/// bytes, `hc_ledger_transaction_bytes`) are the leaf at `index` of the tree of `tree_size` leaves whose
/// root is `root` (a checkpoint's, `hc_checkpoint_verify`), by the inclusion proof of `path_len` bytes at
/// `path`. `HC_OK` means it is; every element of the path is checked, and a path of any other length than
/// the index and size call for is refused.
///
/// Errors: `HC_PROOF_MISMATCH` (the proof leads to another root), `HC_PROOF_WRONG_LENGTH`,
/// `HC_INDEX_BEYOND_SIZE`, `HC_INVALID_ARGUMENT` (`path_len` not a multiple of 32), `HC_TOO_LONG` (`path_len`
/// above `HC_MAX_PROOF_BYTES`, or an impossible `leaf_len`). `leaf` and `path` may be NULL only with a
/// length of 0.
///
/// # Safety
/// `leaf` is NULL or points to `leaf_len` readable bytes; `path` is NULL or points to `path_len` readable
/// bytes; `root` is NULL or points to an `hc_hash`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_verify_inclusion(
    leaf: *const u8,
    leaf_len: usize,
    index: u64,
    tree_size: u64,
    path: *const u8,
    path_len: usize,
    root: *const hc_hash,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (leaf, path, root) =
            unsafe { (slice(leaf, leaf_len, "leaf")?, slice(path, path_len, "path")?, value(root, "root")?) };
        let proof = InclusionProof { index, tree_size, path: path_from(path)? };
        Ok(proof.verify(&leaf_hash(leaf), &root.into())?)
    })
}

/// Checks, with nothing of the ledger, that the tree of `old_size` leaves with root `old_root` is a prefix
/// of the tree of `new_size` leaves with root `new_root` (nothing in it was changed or removed), by the
/// consistency proof of `path_len` bytes at `path`. `HC_OK` means it is; every element of the path is
/// checked, and a path of any other length than the sizes call for is refused.
///
/// Errors: `HC_PROOF_MISMATCH`, `HC_PROOF_WRONG_LENGTH`, `HC_BAD_SIZES` (`old_size` 0 or above
/// `new_size`), `HC_INVALID_ARGUMENT` (`path_len` not a multiple of 32), `HC_TOO_LONG` (`path_len` above
/// `HC_MAX_PROOF_BYTES`). `path` may be NULL only with a length of 0.
///
/// # Safety
/// `path` is NULL or points to `path_len` readable bytes; `old_root` and `new_root` are NULL or point to
/// an `hc_hash`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_verify_consistency(
    old_size: u64,
    new_size: u64,
    path: *const u8,
    path_len: usize,
    old_root: *const hc_hash,
    new_root: *const hc_hash,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (path, old_root, new_root) =
            unsafe { (slice(path, path_len, "path")?, value(old_root, "old_root")?, value(new_root, "new_root")?) };
        let proof = ConsistencyProof { old_size, new_size, path: path_from(path)? };
        Ok(proof.verify(&old_root.into(), &new_root.into())?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cross_as_concatenated_hashes() {
        let path = vec![Hash256([1; 32]), Hash256([2; 32])];
        let bytes = path_bytes(&path);
        assert_eq!(bytes.len(), 64);
        assert_eq!(path_from(&bytes).unwrap(), path);
        assert_eq!(path_from(&bytes[..63]).unwrap_err().code, super::super::status::HC_INVALID_ARGUMENT);
        assert_eq!(path_from(&[0; HC_MAX_PROOF_BYTES + 32]).unwrap_err().code, HC_TOO_LONG);
        assert!(path_from(&[]).unwrap().is_empty());
    }
}
