//! Waiting without the GVL, so other Ruby threads (Puma, Sidekiq) run during a crawl. Uses
//! `rb_nogvl` with `RB_NOGVL_INTR_FAIL` (what `rb_thread_call_without_gvl2` does: return, rather
//! than longjmp through Rust frames, when Ruby wants the thread back; the caller then runs
//! `thread_check_ints` with the GVL held) and `RB_NOGVL_UBF_ASYNC_SAFE`: our unblock function only
//! stores an atomic flag, so Ruby may call it from its signal handler. Without that flag, Ruby 3.1
//! starts (and kills) a helper Ruby thread on *every* call when the main thread is the only one,
//! and that thread's start raises a timer interrupt that makes the call return before the body
//! ran: under `GC.stress` (slow thread creation) `next_batch` then returned empty forever.

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

struct Call<F, R> {
    body: Option<F>,
    interrupted: *const AtomicBool,
    result: Option<std::thread::Result<R>>,
}

unsafe extern "C" fn run<F, R>(data: *mut c_void) -> *mut c_void
where
    F: FnOnce(&AtomicBool) -> R,
{
    // SAFETY: `data` points to the `Call` on `without_gvl`'s stack, alive for this whole call.
    let call = unsafe { &mut *(data as *mut Call<F, R>) };
    if let Some(body) = call.body.take() {
        // SAFETY: the flag lives on `without_gvl`'s stack too.
        let interrupted = unsafe { &*call.interrupted };
        call.result = Some(catch_unwind(AssertUnwindSafe(|| body(interrupted))));
    }
    std::ptr::null_mut()
}

/// Async-signal-safe (one atomic store): registered with `RB_NOGVL_UBF_ASYNC_SAFE`.
unsafe extern "C" fn unblock(data: *mut c_void) {
    // SAFETY: points to the AtomicBool on `without_gvl`'s stack; only ever read atomically.
    let interrupted = unsafe { &*(data as *const AtomicBool) };
    interrupted.store(true, Ordering::SeqCst);
}

/// Runs `body` with the GVL released. `body` must poll its flag (every few tens of ms) and
/// return soon after it turns true. Returns `None` if Ruby had an interrupt pending and `body`
/// never ran; `Some(Err(panic))` if it panicked.
pub fn without_gvl<F, R>(body: F) -> Option<std::thread::Result<R>>
where
    F: FnOnce(&AtomicBool) -> R,
{
    let interrupted = AtomicBool::new(false);
    let mut call = Call {
        body: Some(body),
        interrupted: &interrupted,
        result: None,
    };
    let flags = (rb_sys::RB_NOGVL_INTR_FAIL | rb_sys::RB_NOGVL_UBF_ASYNC_SAFE) as c_int;
    // SAFETY: both pointers outlive the call; `run` never touches Ruby; `unblock` is
    // async-signal-safe.
    unsafe {
        rb_sys::rb_nogvl(
            Some(run::<F, R>),
            &mut call as *mut Call<F, R> as *mut c_void,
            Some(unblock),
            &interrupted as *const AtomicBool as *mut c_void,
            flags,
        );
    }
    call.result
}
