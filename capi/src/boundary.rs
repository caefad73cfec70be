//! What every export shares: the panic boundary, the thread-local last error, handle poisoning, and the
//! checks that turn C pointers into Rust references (never before a NULL check).

use super::status::{
    HC_BUFFER_TOO_SMALL, HC_INVALID_ARGUMENT, HC_INVALID_UTF8, HC_NULL_ARGUMENT, HC_OK, HC_PANIC, HC_POISONED,
    HC_TOO_LONG,
};
use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

/// A refusal handed back to C: a status code and a message (no PHI, no secret bytes).
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(HC_INVALID_ARGUMENT, message)
    }

    fn null(name: &str) -> Self {
        Self::new(HC_NULL_ARGUMENT, format!("argument `{name}` is NULL"))
    }
}

/// The result of an export's body.
pub(crate) type FfiResult<T = ()> = Result<T, Failure>;

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(message: Option<String>) {
    // An interior NUL cannot come from our messages; drop the message rather than fail if it ever did.
    let message = message.and_then(|m| CString::new(m).ok());
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = message;
        }
    });
}

/// The thread's last error message, or an empty string.
pub(crate) fn last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| slot.try_borrow().ok().and_then(|m| m.as_ref().map(|m| m.as_ptr())))
        .ok()
        .flatten()
        .unwrap_or(c"".as_ptr())
}

/// Runs the body of an export returning a status other than OK on success (`HC_ROW`, `HC_DONE`): clears
/// the thread's last error, catches any panic as [`HC_PANIC`], and records the message of a failure.
pub(crate) fn run_status(body: impl FnOnce() -> FfiResult<i32>) -> i32 {
    set_last_error(None);
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code)) => code,
        Ok(Err(failure)) => {
            set_last_error(Some(failure.message));
            failure.code
        }
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            set_last_error(Some(format!(
                "internal panic (a healthchain bug; the handle whose work panicked is poisoned): {detail}"
            )));
            HC_PANIC
        }
    }
}

/// Runs the body of an export that cannot fail and returns a plain value: a panic gives `fallback`.
pub(crate) fn run_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Runs the body of a `_free` or `_close` export: catches any panic and leaves the thread's last error as
/// it was, so that a caller may free handles before reading the message of a failed call.
pub(crate) fn run_free(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// Runs the body of an export that returns [`HC_OK`] on success (see [`run_status`]).
pub(crate) fn run(body: impl FnOnce() -> FfiResult) -> i32 {
    run_status(|| body().map(|()| HC_OK))
}

/// A handle's poison flag: set when a panic unwinds through work on the handle.
#[derive(Debug, Default)]
pub(crate) struct Poison(AtomicBool);

impl Poison {
    /// Runs `work` on the handle unless it is poisoned; a panic inside poisons it and goes on unwinding to
    /// the export's boundary.
    pub fn guard<T>(&self, work: impl FnOnce() -> FfiResult<T>) -> FfiResult<T> {
        if self.0.load(Ordering::Acquire) {
            return Err(Failure::new(HC_POISONED, "handle is poisoned by an earlier panic; free or close it"));
        }
        match catch_unwind(AssertUnwindSafe(work)) {
            Ok(result) => result,
            Err(payload) => {
                self.0.store(true, Ordering::Release);
                resume_unwind(payload)
            }
        }
    }
}

/// A shared reference from a C pointer, refusing NULL and misaligned pointers.
///
/// # Safety
/// `ptr` is NULL or points to a valid `T` that outlives `'a` and is not written meanwhile.
pub(crate) unsafe fn arg<'a, T>(ptr: *const T, name: &str) -> FfiResult<&'a T> {
    if !ptr.is_aligned() {
        return Err(Failure::invalid(format!("argument `{name}` is misaligned")));
    }
    // SAFETY: non-NULL and aligned were checked; validity is the caller's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// An exclusive reference from a C pointer (see [`arg`]).
///
/// # Safety
/// `ptr` is NULL or points to a valid `T` that outlives `'a` and that nothing else uses meanwhile.
pub(crate) unsafe fn arg_mut<'a, T>(ptr: *mut T, name: &str) -> FfiResult<&'a mut T> {
    if !ptr.is_aligned() {
        return Err(Failure::invalid(format!("argument `{name}` is misaligned")));
    }
    // SAFETY: non-NULL and aligned were checked; validity and exclusivity are the caller's contract.
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null(name))
}

/// A checked output location, written only once the export has succeeded.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Checks an output pointer (before any work is done).
    ///
    /// # Safety
    /// `ptr` is NULL or valid for writes of a `T` until [`Out::write`].
    pub unsafe fn new(ptr: *mut T, name: &str) -> FfiResult<Self> {
        if !ptr.is_aligned() {
            return Err(Failure::invalid(format!("argument `{name}` is misaligned")));
        }
        NonNull::new(ptr).map(Self).ok_or_else(|| Failure::null(name))
    }

    /// Writes the output without reading or dropping what was there.
    pub fn write(self, value: T) {
        // SAFETY: `new` checked NULL and alignment; validity for writes is the caller's contract.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// A slice from a C pointer and element count; `(NULL, 0)` is the empty slice.
///
/// # Safety
/// Unless `len` is 0, `ptr` is NULL or points to `len` valid `T`s that outlive `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize, name: &str) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    check_array(ptr, len, name)?;
    // SAFETY: non-NULL, aligned and a size within isize::MAX were checked; validity is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The checks of a C array of `len` (> 0) `T`s: not NULL, aligned, and a size within `isize::MAX`.
fn check_array<T>(ptr: *const T, len: usize, name: &str) -> FfiResult {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    if !ptr.is_aligned() {
        return Err(Failure::invalid(format!("argument `{name}` is misaligned")));
    }
    if len.checked_mul(size_of::<T>().max(1)).is_none_or(|bytes| bytes > isize::MAX as usize) {
        return Err(Failure::new(HC_TOO_LONG, format!("length of `{name}` is impossibly large ({len})")));
    }
    Ok(())
}

/// A NUL-terminated UTF-8 string of at most `max` bytes. At most `max + 1` bytes are read, so an
/// unterminated or oversized string is refused without reading past that bound.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string, or to at least `max + 1` readable bytes.
pub(crate) unsafe fn text<'a>(ptr: *const c_char, max: usize, name: &str) -> FfiResult<&'a str> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    let mut len = 0;
    loop {
        // SAFETY: bytes up to the first NUL, and never beyond `max + 1`, are readable by contract.
        if unsafe { ptr.add(len).read() } == 0 {
            break;
        }
        if len == max {
            return Err(Failure::new(HC_TOO_LONG, format!("argument `{name}` is longer than {max} bytes")));
        }
        len += 1;
    }
    // SAFETY: the `len` bytes before the NUL were just read.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|_| Failure::new(HC_INVALID_UTF8, format!("argument `{name}` is not UTF-8")))
}

/// A caller buffer for a variable-size output: `(buf, len)` plus `out_len`, which receives the full size
/// on success and on [`HC_BUFFER_TOO_SMALL`] (the size query: `buf` NULL and `len` 0).
pub(crate) struct OutBuffer {
    buf: *mut u8,
    len: usize,
    out_len: Out<usize>,
}

impl OutBuffer {
    /// Checks the pointers (before any work is done).
    ///
    /// # Safety
    /// Unless `len` is 0, `buf` is NULL or valid for writes of `len` bytes; `out_len` as for [`Out::new`].
    pub unsafe fn new(buf: *mut u8, len: usize, out_len: *mut usize) -> FfiResult<Self> {
        // SAFETY: forwarded contract.
        let out_len = unsafe { Out::new(out_len, "out_len")? };
        if buf.is_null() && len != 0 {
            return Err(Failure::null("buf"));
        }
        Ok(Self { buf, len, out_len })
    }

    /// How many bytes the caller's buffer holds.
    pub fn capacity(&self) -> usize {
        self.len
    }

    /// Copies `bytes` in, or reports the size needed.
    pub fn fill(self, bytes: &[u8]) -> FfiResult {
        let needed = bytes.len();
        self.out_len.write(needed);
        if needed > self.len {
            return Err(Failure::new(HC_BUFFER_TOO_SMALL, format!("{needed} bytes needed, buffer holds {}", self.len)));
        }
        if needed != 0 {
            // SAFETY: `buf` is non-NULL here (len ≥ needed > 0) and valid for `len` bytes by contract.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.buf, needed) };
        }
        Ok(())
    }

    /// Copies `text` in followed by a NUL (counted in the size), or reports the size needed.
    pub fn fill_text(self, text: &str) -> FfiResult {
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(0);
        self.fill(&bytes)
    }
}

/// A caller array for a variable number of fixed-size outputs: `(ptr, len)` plus `out_len`, which receives
/// the count on success and on [`HC_BUFFER_TOO_SMALL`] (the size query: `ptr` NULL and `len` 0).
pub(crate) struct OutArray<T> {
    ptr: *mut T,
    len: usize,
    out_len: Out<usize>,
}

impl<T> OutArray<T> {
    /// Checks the pointers (before any work is done).
    ///
    /// # Safety
    /// Unless `len` is 0, `ptr` is NULL or valid for writes of `len` `T`s; `out_len` as for [`Out::new`].
    pub unsafe fn new(ptr: *mut T, len: usize, name: &str, out_len: *mut usize, len_name: &str) -> FfiResult<Self> {
        // SAFETY: forwarded contract.
        let out_len = unsafe { Out::new(out_len, len_name)? };
        if len != 0 {
            check_array(ptr.cast_const(), len, name)?;
        }
        Ok(Self { ptr, len, out_len })
    }

    /// Refuses with [`HC_BUFFER_TOO_SMALL`], reporting `needed`, unless the array holds `needed` outputs.
    pub fn room_for(self, needed: usize) -> FfiResult<Self> {
        if needed > self.len {
            self.out_len.write(needed);
            return Err(Failure::new(HC_BUFFER_TOO_SMALL, format!("{needed} needed, the array holds {}", self.len)));
        }
        Ok(self)
    }

    /// Writes `items` in (checking the room first) and their count.
    pub fn fill(self, items: impl ExactSizeIterator<Item = T>) -> FfiResult {
        let this = self.room_for(items.len())?;
        let count = items.len();
        for (index, item) in items.take(count).enumerate() {
            // SAFETY: index < count ≤ len, so `ptr` is non-NULL and valid for this write by contract.
            unsafe { this.ptr.add(index).write(item) };
        }
        this.out_len.write(count);
        Ok(())
    }
}

/// Moves a value into a new handle for C.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Frees a handle made by [`into_handle`]; NULL is a no-op.
///
/// # Safety
/// `ptr` is NULL or came from [`into_handle`] and is not used afterwards.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    // A misaligned pointer never came from a constructor: ignoring it is safer than freeing it.
    if !ptr.is_null() && ptr.is_aligned() {
        // SAFETY: the pointer came from Box::into_raw, by contract.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// Reads a `0`/`1` flag given as an integer (a C `bool` could carry any byte).
pub(crate) fn flag(value: u32, name: &str) -> FfiResult<bool> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Failure::invalid(format!("`{name}` must be 0 or 1, not {other}"))),
    }
}
