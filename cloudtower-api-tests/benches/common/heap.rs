//! A global allocator that counts live heap bytes and their peak while counting is on (off
//! while timing), for the benches and tests that report memory. Included by path, once per
//! binary that wants it (it replaces the binary's allocator).
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn grow(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Relaxed) + bytes;
    PEAK.fetch_max(now, Relaxed);
}

fn shrink(bytes: usize) {
    // Saturating: a block allocated before counting began may be freed while it is on.
    let _ = CURRENT.fetch_update(Relaxed, Relaxed, |now| Some(now.saturating_sub(bytes)));
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            grow(layout.size());
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Relaxed) {
            shrink(layout.size());
        }
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            if new_size > layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        System.realloc(ptr, layout, new_size)
    }
}

/// Starts counting from zero.
pub fn start() {
    CURRENT.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    COUNTING.store(true, Relaxed);
}

/// Live heap bytes now, above what was live at [`start`].
pub fn current() -> usize {
    CURRENT.load(Relaxed)
}

/// Stops counting; returns the peak since [`start`].
pub fn stop() -> usize {
    COUNTING.store(false, Relaxed);
    PEAK.load(Relaxed)
}

/// Heap bytes at the peak of `f` (above what was live before it), and still held by its result.
pub fn heap_usage<T>(f: impl FnOnce() -> T) -> (usize, usize) {
    start();
    let value = f();
    let retained = current();
    drop(value);
    (stop(), retained)
}
