//! The orders a list walks and the counters statistics read, kept in step with every change.

use crm_core::{Scope, StatCounts, TicketStatus, UserId};
use hashbrown::HashMap;
use std::collections::BTreeSet;

/// Position in the newest-first order: `(created_at in µs, row)`, iterated in reverse. Row
/// numbers grow with ids, so ties on `created_at` fall back to `id` desc as the contract says.
pub(crate) type OrderKey = (i64, u32);

/// One set per status, indexed by [`TicketStatus::index`].
type PerStatus = [BTreeSet<OrderKey>; TicketStatus::COUNT];

/// The newest-first orders overall, per status, per worker and per worker and status, and
/// the running counts behind statistics. A page is a walk of `size` entries of one set and
/// its `total` is that set's length.
#[derive(Default)]
pub(crate) struct Indexes {
    all: BTreeSet<OrderKey>,
    by_status: PerStatus,
    /// `new` and `in_progress` together: the open queue.
    open: BTreeSet<OrderKey>,
    by_worker: HashMap<UserId, WorkerIndex>,
    stats_all: StatCounts,
    /// Tickets waiting for a worker: `new` with none, oldest first when walked forward.
    waiting: BTreeSet<OrderKey>,
}

#[derive(Default)]
struct WorkerIndex {
    all: BTreeSet<OrderKey>,
    by_status: PerStatus,
    open: BTreeSet<OrderKey>,
    stats: StatCounts,
}

/// A ticket's place in the indexes: what it is filed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Filing {
    pub(crate) key: OrderKey,
    pub(crate) status: TicketStatus,
    pub(crate) worker: Option<UserId>,
    /// Its contribution to the resolution-time sum.
    pub(crate) resolution_micros: i128,
}

fn count_mut(c: &mut StatCounts, s: TicketStatus) -> &mut u64 {
    match s {
        TicketStatus::New => &mut c.new,
        TicketStatus::InProgress => &mut c.in_progress,
        TicketStatus::Done => &mut c.done,
    }
}

fn add(c: &mut StatCounts, f: &Filing, sign: i8) {
    let n = count_mut(c, f.status);
    if sign > 0 {
        *n += 1;
        c.resolution_micros_sum += f.resolution_micros;
    } else {
        *n -= 1;
        c.resolution_micros_sum -= f.resolution_micros;
    }
}

static EMPTY: BTreeSet<OrderKey> = BTreeSet::new();

impl Indexes {
    /// Files a new ticket in the overall order and under its status and worker.
    pub(crate) fn insert_new(&mut self, f: Filing) {
        self.all.insert(f.key);
        self.file(f);
    }

    /// Files a ticket under its (new) status and worker; the overall order never changes.
    pub(crate) fn file(&mut self, f: Filing) {
        if f.worker.is_none() && f.status == TicketStatus::New {
            self.waiting.insert(f.key);
        }
        self.by_status[f.status.index()].insert(f.key);
        if f.status.is_open() {
            self.open.insert(f.key);
        }
        add(&mut self.stats_all, &f, 1);
        if let Some(w) = f.worker {
            let wi = self.by_worker.entry(w).or_default();
            wi.all.insert(f.key);
            wi.by_status[f.status.index()].insert(f.key);
            if f.status.is_open() {
                wi.open.insert(f.key);
            }
            add(&mut wi.stats, &f, 1);
        }
    }

    /// Takes a ticket out from under its (old) status and worker, before a change.
    pub(crate) fn unfile(&mut self, f: Filing) {
        self.waiting.remove(&f.key);
        self.by_status[f.status.index()].remove(&f.key);
        self.open.remove(&f.key);
        add(&mut self.stats_all, &f, -1);
        if let Some(wi) = f.worker.and_then(|w| self.by_worker.get_mut(&w)) {
            wi.all.remove(&f.key);
            wi.by_status[f.status.index()].remove(&f.key);
            wi.open.remove(&f.key);
            add(&mut wi.stats, &f, -1);
        }
    }

    /// The set a list with this scope and these status filters walks (`status`, and `open`
    /// for `new` or `in_progress`).
    pub(crate) fn set(
        &self,
        scope: Scope,
        status: Option<TicketStatus>,
        open: bool,
    ) -> &BTreeSet<OrderKey> {
        if status.is_some_and(|s| open && !s.is_open()) {
            return &EMPTY;
        }
        match (scope, status) {
            (Scope::Nothing, _) => &EMPTY,
            // Every ticket without a worker is `new`, and `waiting` holds exactly them.
            (Scope::Unassigned, None | Some(TicketStatus::New)) => &self.waiting,
            (Scope::Unassigned, Some(_)) => &EMPTY,
            (Scope::Worker(w), s) => match self.by_worker.get(&w) {
                Some(wi) => match s {
                    Some(s) => &wi.by_status[s.index()],
                    None if open => &wi.open,
                    None => &wi.all,
                },
                None => &EMPTY,
            },
            (Scope::Everything, Some(s)) => &self.by_status[s.index()],
            (Scope::Everything, None) if open => &self.open,
            (Scope::Everything, None) => &self.all,
        }
    }

    /// How many tickets have no worker.
    pub(crate) fn unassigned(&self) -> u64 {
        self.waiting.len() as u64
    }

    /// A worker's open tickets (rows), oldest first within each status.
    pub(crate) fn open_rows(&self, worker: UserId) -> Vec<u32> {
        self.by_worker
            .get(&worker)
            .map(|wi| {
                TicketStatus::ALL
                    .iter()
                    .filter(|s| s.is_open())
                    .flat_map(|s| wi.by_status[s.index()].iter().map(|&(_, r)| r))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Up to `n` waiting tickets (rows), oldest first.
    pub(crate) fn waiting_rows(&self, n: usize) -> Vec<u32> {
        self.waiting.iter().take(n).map(|&(_, r)| r).collect()
    }

    /// The statistics counters of one worker, or of everything.
    pub(crate) fn stats(&self, worker: Option<UserId>) -> StatCounts {
        match worker {
            None => self.stats_all,
            Some(w) => self
                .by_worker
                .get(&w)
                .map(|wi| wi.stats)
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filing(row: u32, status: TicketStatus, worker: Option<i64>) -> Filing {
        Filing {
            key: (i64::from(row), row),
            status,
            worker: worker.map(UserId),
            resolution_micros: if status == TicketStatus::Done { 10 } else { 0 },
        }
    }

    #[test]
    fn filing_and_unfiling_keep_sets_and_counters_in_step() {
        let mut ix = Indexes::default();
        let a = filing(0, TicketStatus::New, None);
        let b = filing(1, TicketStatus::New, Some(7));
        ix.insert_new(a);
        ix.insert_new(b);
        assert_eq!(ix.set(Scope::Everything, None, false).len(), 2);
        assert_eq!(ix.set(Scope::Worker(UserId(7)), None, false).len(), 1);
        assert_eq!(ix.set(Scope::Nothing, None, false).len(), 0);
        ix.unfile(b);
        let done = filing(1, TicketStatus::Done, Some(7));
        ix.file(done);
        assert_eq!(
            ix.set(Scope::Worker(UserId(7)), Some(TicketStatus::Done), false)
                .len(),
            1
        );
        let s = ix.stats(Some(UserId(7)));
        assert_eq!((s.new, s.done, s.resolution_micros_sum), (0, 1, 10));
        assert_eq!(ix.stats(None).new, 1);
        assert!(ix.open_rows(UserId(7)).is_empty());
    }
}
