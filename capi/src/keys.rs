//! Signing keys (`hc_key`), actor ids, signatures made in-process, and commitments to off-ledger data.

use super::boundary::{FfiResult, Out, Poison, free_handle, into_handle, run, run_free, slice};
use super::values::{hc_actor_id, hc_hash, hc_public_key, hc_secret, hc_signature, value};
use healthchain::ids::ActorId;
use healthchain::keys::SigningKey;

/// An ed25519 signing key, wiped from memory when freed. Immutable: a `const hc_key *` may be used by
/// several threads at once.
pub struct hc_key {
    poison: Poison,
    key: SigningKey,
}

impl hc_key {
    /// Runs `work` with the key (poisoning the handle if it panics).
    fn with<T>(&self, work: impl FnOnce(&SigningKey) -> FfiResult<T>) -> FfiResult<T> {
        self.poison.guard(|| work(&self.key))
    }

    /// The key, unless the handle is poisoned. Ledger work runs outside the key's guard, so a panic there
    /// poisons the ledger but never a key that other threads and ledgers share.
    pub(crate) fn get(&self) -> FfiResult<&SigningKey> {
        self.poison.guard(|| Ok(&self.key))
    }
}

// Handles shared between threads must stay so: a `Cell` or `Rc` slipping in fails the build.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<hc_key>();
    shared::<super::ledger::hc_ledger>();
};

/// Checks an array of key pointers: `(NULL, 0)` is empty; every element must be non-NULL.
///
/// # Safety
/// `keys` is NULL or points to `count` pointers, each NULL or to a live `hc_key`.
pub(crate) unsafe fn key_list<'a>(
    keys: *const *const hc_key,
    count: usize,
    max: usize,
    name: &str,
) -> FfiResult<Vec<&'a SigningKey>> {
    if count > max {
        return Err(super::boundary::Failure::new(
            super::status::HC_TOO_LONG,
            format!("`{name}` holds {count} keys; at most {max}"),
        ));
    }
    // SAFETY: forwarded contract.
    let pointers = unsafe { slice(keys, count, name)? };
    pointers
        .iter()
        // SAFETY: forwarded contract.
        .map(|&ptr| unsafe { super::boundary::arg(ptr, name) }.and_then(hc_key::get))
        .collect()
}

/// Makes a new key from the operating system's random source.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_NO_RANDOMNESS`. Free the key with `hc_key_free`.
///
/// # Safety
/// `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_key_generate(out: *mut *mut hc_key) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let out = unsafe { Out::new(out, "out")? };
        let key = SigningKey::generate()?;
        out.write(into_handle(hc_key { poison: Poison::default(), key }));
        Ok(())
    })
}

/// Makes the key derived from a 32-byte secret seed (RFC 8032 private key), e.g. one read back from the
/// caller's key store. The seed is copied; wipe the caller's copy.
///
/// Errors: `HC_NULL_ARGUMENT`.
///
/// # Safety
/// `seed` is NULL or points to an `hc_secret`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_key_from_seed(seed: *const hc_secret, out: *mut *mut hc_key) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (seed, out) = unsafe { (super::boundary::arg(seed, "seed")?, Out::new(out, "out")?) };
        let key = SigningKey::from_seed(&seed.bytes);
        out.write(into_handle(hc_key { poison: Poison::default(), key }));
        Ok(())
    })
}

/// Writes the key's 32-byte secret seed, for storing the key (encrypt it at rest; wipe `out` after use).
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`.
///
/// # Safety
/// `key` is NULL or a live `hc_key`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_key_seed(key: *const hc_key, out: *mut hc_secret) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (key, out) = unsafe { (super::boundary::arg(key, "key")?, Out::new(out, "out")?) };
        let seed = key.with(|k| Ok(k.to_seed()))?;
        out.write(hc_secret { bytes: *seed });
        Ok(())
    })
}

/// Writes the key's public key.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`.
///
/// # Safety
/// `key` is NULL or a live `hc_key`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_key_public(key: *const hc_key, out: *mut hc_public_key) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (key, out) = unsafe { (super::boundary::arg(key, "key")?, Out::new(out, "out")?) };
        out.write(key.with(|k| Ok(k.public_key().into()))?);
        Ok(())
    })
}

/// Writes the actor id an actor registered with this key (as its first key) has.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_POISONED`.
///
/// # Safety
/// `key` is NULL or a live `hc_key`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_key_actor_id(key: *const hc_key, out: *mut hc_actor_id) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (key, out) = unsafe { (super::boundary::arg(key, "key")?, Out::new(out, "out")?) };
        out.write(key.with(|k| Ok(ActorId::from_key(&k.public_key()).into()))?);
        Ok(())
    })
}

/// Signs `len` bytes at `message` (the in-process stand-in for an HSM in the external-signer path:
/// sign exactly the bytes `hc_tx_signing_bytes` or `hc_proposal_seal_bytes` gave).
///
/// Errors: `HC_NULL_ARGUMENT` (`message` may be NULL only when `len` is 0), `HC_TOO_LONG` (an impossible
/// `len`), `HC_POISONED`.
///
/// # Safety
/// `key` is NULL or a live `hc_key`; `message` is NULL or points to `len` readable bytes; `out` is NULL or
/// valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_key_sign(
    key: *const hc_key,
    message: *const u8,
    len: usize,
    out: *mut hc_signature,
) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (key, message, out) =
            unsafe { (super::boundary::arg(key, "key")?, slice(message, len, "message")?, Out::new(out, "out")?) };
        out.write(key.with(|k| Ok(k.sign(message).into()))?);
        Ok(())
    })
}

/// Frees a key, wiping its secret. NULL is a no-op.
///
/// # Safety
/// `key` is NULL or a live `hc_key` that no other thread uses; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_key_free(key: *mut hc_key) {
    // SAFETY: contract above.
    run_free(|| unsafe { free_handle(key) });
}

/// Writes the actor id that a public key gives (for actors whose key lives in an HSM).
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_INVALID_KEY` (not a point, non-canonical, or of small order).
///
/// # Safety
/// `key` is NULL or points to an `hc_public_key`; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_actor_id_from_public_key(key: *const hc_public_key, out: *mut hc_actor_id) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (key, out) = unsafe { (value(key, "key")?, Out::new(out, "out")?) };
        out.write(ActorId::from_key(&key.key()?).into());
        Ok(())
    })
}

/// Writes 32 random bytes from the operating system: a salt for `hc_commitment`. Keep the salt off the
/// ledger, next to the data; destroying both is what erasure means.
///
/// Errors: `HC_NULL_ARGUMENT`, `HC_NO_RANDOMNESS`.
///
/// # Safety
/// `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_random_salt(out: *mut hc_secret) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let out = unsafe { Out::new(out, "out")? };
        let salt = healthchain::keys::random_salt()?;
        out.write(hc_secret { bytes: *salt });
        Ok(())
    })
}

/// Writes the salted, domain-separated SHA-256 commitment to `len` bytes of off-ledger data (a record
/// version, a break-glass justification). Only the commitment goes on the ledger.
///
/// Errors: `HC_NULL_ARGUMENT` (`data` may be NULL only when `len` is 0), `HC_TOO_LONG` (an impossible `len`).
///
/// # Safety
/// `salt` is NULL or points to an `hc_secret`; `data` is NULL or points to `len` readable bytes; `out` is
/// NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hc_commitment(salt: *const hc_secret, data: *const u8, len: usize, out: *mut hc_hash) -> i32 {
    run(|| {
        // SAFETY: contract above.
        let (salt, data, out) =
            unsafe { (super::boundary::arg(salt, "salt")?, slice(data, len, "data")?, Out::new(out, "out")?) };
        out.write(healthchain::hash::commitment(&salt.bytes, data).into());
        Ok(())
    })
}
