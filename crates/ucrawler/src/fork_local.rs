//! A value owned by one process: Puma, Sidekiq and Unicorn fork after boot, and a child must
//! never use (or wait on) its parent's threads and sockets.

use std::sync::{Mutex, PoisonError};

/// A value owned by one process. After a `fork` the child builds its own; the parent's copy is
/// forgotten, never dropped: its threads do not exist in the child, and dropping it could wait
/// on them forever.
pub struct ForkLocal<T> {
    slot: Mutex<Option<(u32, T)>>,
}

impl<T> Default for ForkLocal<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> ForkLocal<T> {
    pub const fn new() -> Self {
        Self {
            slot: Mutex::new(None),
        }
    }

    /// Runs `use_it` on this process's value (under a lock), building the value with `init`
    /// first if this process has none yet.
    pub fn with<R, E>(
        &self,
        init: impl FnOnce() -> Result<T, E>,
        use_it: impl FnOnce(&mut T) -> R,
    ) -> Result<R, E> {
        let pid = std::process::id();
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|(owner, _)| *owner != pid) {
            if let Some(inherited) = slot.take() {
                std::mem::forget(inherited);
            }
        }
        if slot.is_none() {
            *slot = Some((pid, init()?));
        }
        match slot.as_mut() {
            Some((_, value)) => Ok(use_it(value)),
            None => unreachable!("the slot was just filled"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fork_local_builds_once_per_process() {
        let local = ForkLocal::new();
        let mut built = 0;
        for _ in 0..3 {
            let value = local.with(
                || {
                    built += 1;
                    Ok::<_, ()>(7)
                },
                |v| *v,
            );
            assert_eq!(value, Ok(7));
        }
        assert_eq!(built, 1);
        assert_eq!(local.with(|| Err("no"), |v: &mut i32| *v), Ok(7));
    }
}
