//! A libsolv `Queue` (a growable array of ids) owned by Rust and freed on drop.

use super::sys::{self, Id};

/// A libsolv `Queue`, freed on drop.
pub(super) struct Queue(pub(super) sys::Queue);

impl Queue {
    pub(super) fn new() -> Self {
        let mut q = sys::Queue::default();
        // SAFETY: queue_init only initialises the struct we own.
        unsafe { sys::queue_init(&mut q) };
        Queue(q)
    }

    pub(super) fn push(&mut self, id: Id) {
        // Re-implementation of the static inline queue_push.
        if self.0.left == 0 {
            // SAFETY: the queue is initialised; queue_alloc_one grows its buffer.
            unsafe { sys::queue_alloc_one(&mut self.0) };
        }
        // SAFETY: after the check above there is room for one more element.
        unsafe { *self.0.elements.add(self.0.count as usize) = id };
        self.0.count += 1;
        self.0.left -= 1;
    }

    pub(super) fn as_slice(&self) -> &[Id] {
        if self.0.count == 0 {
            return &[];
        }
        // SAFETY: elements points to `count` initialised Ids owned by the queue.
        unsafe { std::slice::from_raw_parts(self.0.elements, self.0.count as usize) }
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: the queue was initialised by queue_init and is freed once.
        unsafe { sys::queue_free(&mut self.0) };
    }
}
