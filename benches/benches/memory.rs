//! Criterion benches of the service on the memory store with 1,000,000 tickets loaded, and the
//! store's memory use per ticket beyond the text itself (counted by a wrapping allocator).
//!
//! `cargo bench -p crm-benches --bench memory`; `BENCH_TICKETS` overrides the data-set size.
//!
//! It allocates through mimalloc, as the server binary does. With glibc's allocator, submit
//! measured about 6.6 µs instead of 4.2 µs on the reference machine: at a million tickets the
//! allocator's own bookkeeping is a large part of a submission.

// The counting allocator below is the only unsafe code in the workspace: a `GlobalAlloc` cannot
// be written without it.
#![allow(unsafe_code)]

use criterion::Criterion;
use crm_benches::{bench_service, load, runtime, staff, tickets_from_env};
use crm_core::{Crm, PasswordCost};
use crm_store_memory::MemoryStore;
use std::{
    alloc::{GlobalAlloc, Layout},
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};

/// mimalloc (the allocator the server binary uses), counting live bytes.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates every call to mimalloc unchanged, only counting live bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.realloc(p, l, n) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn main() {
    let n = tickets_from_env();
    let rt = runtime();
    let crm = Crm::new(MemoryStore::new()).with_password_cost(PasswordCost::Fast);
    let (admin, workers) = rt.block_on(staff(&crm));
    let before = LIVE.load(Ordering::Relaxed);
    let started = Instant::now();
    let text = rt.block_on(load(&crm, &admin, &workers, n));
    let took = started.elapsed();
    let used = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "loaded {n} tickets in {:.1} s; heap {:.0} MiB = {:.0} bytes/ticket, of which text {:.0}; \
         beyond text {:.0} bytes/ticket",
        took.as_secs_f64(),
        used as f64 / 1048576.0,
        used as f64 / n as f64,
        text as f64 / n as f64,
        (used as f64 - text as f64) / n as f64,
    );

    let mut c = Criterion::default().configure_from_args();
    bench_service(&mut c, "memory_1m", &rt, &crm, &admin, &workers);
    c.final_summary();
}
