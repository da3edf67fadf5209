//! Waiting without the GVL, so other Ruby threads (Puma, Sidekiq) run during a crawl. Uses
//! `rb_thread_call_without_gvl2`, which returns (rather than longjmp-ing through Rust frames) when
//! Ruby wants the thread back; the caller then runs `thread_check_ints` with the GVL held.

use std::ffi::c_void;
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
    // SAFETY: both pointers outlive the call; `run` never touches Ruby.
    unsafe {
        rb_sys::rb_thread_call_without_gvl2(
            Some(run::<F, R>),
            &mut call as *mut Call<F, R> as *mut c_void,
            Some(unblock),
            &interrupted as *const AtomicBool as *mut c_void,
        );
    }
    call.result
}
