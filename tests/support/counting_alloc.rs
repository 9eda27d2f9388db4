//! A global allocator that counts the current thread's allocations, for the tests that show
//! bounded work by allocation counts (deterministic, unlike timings). Each test binary that
//! includes this file installs it with `#[global_allocator]`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations made by the current thread, then defers to the system allocator.
/// Thread-local, so tests running in parallel do not disturb each other.
pub struct Counting;

/// Allocations and the bytes they asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: usize,
    pub bytes: usize,
}

impl std::ops::Sub for Tally {
    type Output = Tally;

    fn sub(self, other: Tally) -> Tally {
        Tally {
            count: self.count - other.count,
            bytes: self.bytes - other.bytes,
        }
    }
}

thread_local! {
    // `const` initialisation and no destructor: touching it never allocates or registers
    // anything, so it is safe to use from inside the allocator.
    static ALLOCATED: Cell<Tally> = const { Cell::new(Tally { count: 0, bytes: 0 }) };
}

fn count_one(bytes: usize) {
    let _ = ALLOCATED.try_with(|t| {
        let Tally { count, bytes: b } = t.get();
        t.set(Tally {
            count: count + 1,
            bytes: b + bytes,
        });
    });
}

/// Everything the current thread has allocated so far.
pub fn allocated() -> Tally {
    ALLOCATED.with(Cell::get)
}

/// What the current thread allocates while `f` runs.
#[allow(dead_code)]
pub fn allocations<T>(f: impl FnOnce() -> T) -> (T, Tally) {
    let before = allocated();
    let out = f();
    (out, allocated() - before)
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the only addition is a thread-local tally that never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one(new_size);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
    }
}
