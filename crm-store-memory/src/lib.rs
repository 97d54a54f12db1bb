//! # crm-store-memory
//!
//! A complete in-process backend for `crm-core`: the embedded default of the reference server
//! and the fast backend for tests. Cheap to clone (clones share one store) and safe to use from
//! many tasks at once.
//!
//! Every trait method is one critical section under a single `RwLock`, so each step is atomic
//! exactly as the storage contract demands: duplicate detection, compare-and-set status
//! changes, assignment against a deactivation, and the history event of each change.
//!
//! Lists never copy or sort the data set. The store keeps the indexes a list needs: the
//! newest-first order overall, per status, per worker and per worker and status (`BTreeSet`s,
//! so `total` is their length), hash tables for the duplicate key, e-mails and tracking codes
//! that hold only row numbers, a trigram index over case-folded titles for substring search,
//! and running counters for statistics.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Client, ClientId, DedupKey, Event, EventId, NewEvent, NewTicket, NewUser, Page, StatCounts,
    StoreError, StoreHealth, Ticket, TicketId, TicketProgress, TicketQuery, TicketStatus,
    TicketStore, TrackingCode, Transition, User, UserCredentials, UserId, UserQuery, UserRecord,
    UserStore, Visibility,
    input::{Username, fold_case},
    role::Role,
    store::transition_event,
};
use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use std::{
    collections::BTreeSet,
    hash::BuildHasher,
    sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard},
};

/// The in-memory backend. Clones share the same data.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<RwLock<Inner>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic never leaves a half-applied change: each method validates before it writes.
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// Position in the newest-first order: `(created_at, row)`, iterated in reverse. Row numbers
/// grow with ids, so ties on `created_at` fall back to `id` desc as the contract says.
type OrderKey = (i64, u32);

/// Rows in fixed-size chunks: growing never moves existing rows, so a submission never pays
/// for copying the whole table (a plain `Vec` would, at each doubling).
#[derive(Default)]
struct Rows {
    chunks: Vec<Vec<Row>>,
    len: usize,
}

const CHUNK: usize = 4096;

impl Rows {
    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, i: usize) -> Option<&Row> {
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    fn push(&mut self, row: Row) {
        if self.len % CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks
            .last_mut()
            .expect("a chunk was just ensured")
            .push(row);
        self.len += 1;
    }
}

impl std::ops::Index<usize> for Rows {
    type Output = Row;
    fn index(&self, i: usize) -> &Row {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl std::ops::IndexMut<usize> for Rows {
    fn index_mut(&mut self, i: usize) -> &mut Row {
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }
}

#[derive(Default)]
struct Inner {
    tickets: Rows,
    clients: Vec<ClientRow>,
    hasher: DefaultHashBuilder,
    /// Open tickets by duplicate key (rows only; the key is re-read from the row).
    open_by_key: HashTable<u32>,
    /// Clients by lower-cased e-mail.
    clients_by_email: HashTable<u32>,
    /// Tickets by tracking code.
    by_code: HashTable<u32>,
    all: BTreeSet<OrderKey>,
    by_status: [BTreeSet<OrderKey>; 3],
    by_worker: HashMap<UserId, WorkerIndex>,
    /// Trigram of the case-folded title -> ascending rows containing it.
    trigrams: HashMap<u64, Vec<u32>>,
    stats_all: StatCounts,
    next_event: i64,
    users: Vec<UserRow>,
    /// Active users by lower-cased username.
    active_names: HashMap<String, u32>,
    active_admins: usize,
}

#[derive(Default)]
struct WorkerIndex {
    all: BTreeSet<OrderKey>,
    by_status: [BTreeSet<OrderKey>; 3],
    stats: StatCounts,
}

struct Row {
    title: Box<str>,
    /// The case-folded title when it differs from `title`.
    folded: Option<Box<str>>,
    description: Box<str>,
    status: TicketStatus,
    viewed: bool,
    client: u32,
    worker: Option<UserId>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    assigned_at: Option<DateTime<Utc>>,
    in_progress_at: Option<DateTime<Utc>>,
    done_at: Option<DateTime<Utc>>,
    requester_ip: Option<Box<str>>,
    requester_ua: Option<Box<str>>,
    tracking_code: Box<str>,
    events: Vec<Event>,
}

impl Row {
    fn folded_title(&self) -> &str {
        self.folded.as_deref().unwrap_or(&self.title)
    }

    fn order_key(&self, row: u32) -> OrderKey {
        (self.created_at.timestamp_micros(), row)
    }
}

struct ClientRow {
    client: Client,
    email_key: Box<str>,
}

struct UserRow {
    user: User,
    password_hash: String,
    active: bool,
}

fn status_slot(s: TicketStatus) -> usize {
    match s {
        TicketStatus::New => 0,
        TicketStatus::InProgress => 1,
        TicketStatus::Done => 2,
    }
}

fn row_of(id: i64) -> Option<u32> {
    u32::try_from(id.checked_sub(1)?).ok()
}

fn counts_mut(c: &mut StatCounts, s: TicketStatus) -> &mut u64 {
    match s {
        TicketStatus::New => &mut c.new,
        TicketStatus::InProgress => &mut c.in_progress,
        TicketStatus::Done => &mut c.done,
    }
}

/// The trigrams (three consecutive characters, packed into a `u64`) of a case-folded title.
fn trigram_keys(folded: &str) -> impl Iterator<Item = u64> + '_ {
    let mut window = 0u64;
    folded.chars().enumerate().filter_map(move |(i, c)| {
        window = ((window << 21) | u64::from(u32::from(c))) & ((1 << 63) - 1);
        (i >= 2).then_some(window)
    })
}

impl Inner {
    fn dedup_key(&self, row: u32) -> DedupKey<'_> {
        let r = &self.tickets[row as usize];
        DedupKey {
            title: &r.title,
            description: &r.description,
            email: &self.clients[r.client as usize].email_key,
        }
    }

    fn ticket(&self, row: u32) -> Ticket {
        let r = &self.tickets[row as usize];
        Ticket {
            id: TicketId(i64::from(row) + 1),
            title: r.title.to_string(),
            description: r.description.to_string(),
            status: r.status,
            viewed: r.viewed,
            client: self.clients[r.client as usize].client.clone(),
            worker_id: r.worker,
            created_at: r.created_at,
            updated_at: r.updated_at,
            assigned_at: r.assigned_at,
            in_progress_at: r.in_progress_at,
            done_at: r.done_at,
            requester_ip: r.requester_ip.as_deref().map(str::to_owned),
            requester_ua: r.requester_ua.as_deref().map(str::to_owned),
            tracking_code: TrackingCode::from_stored(r.tracking_code.to_string()),
        }
    }

    /// The row of a ticket inside `visibility`.
    fn visible_row(&self, id: TicketId, visibility: Visibility) -> Result<u32, StoreError> {
        row_of(id.0)
            .filter(|&row| {
                self.tickets
                    .get(row as usize)
                    .is_some_and(|r| visibility.allows(r.worker))
            })
            .ok_or(StoreError::NotFound)
    }

    fn push_event(&mut self, row: u32, event: NewEvent) {
        self.next_event += 1;
        let ev = event.into_event(EventId(self.next_event), TicketId(i64::from(row) + 1));
        self.tickets[row as usize].events.push(ev);
    }

    /// Removes a row from every status/worker index and counter it is in.
    fn unindex(&mut self, row: u32) {
        let r = &self.tickets[row as usize];
        let (key, status, worker) = (r.order_key(row), r.status, r.worker);
        let resolution = resolution_micros(r);
        self.by_status[status_slot(status)].remove(&key);
        *counts_mut(&mut self.stats_all, status) -= 1;
        self.stats_all.resolution_micros_sum -= resolution;
        if let Some(w) = worker {
            if let Some(wi) = self.by_worker.get_mut(&w) {
                wi.all.remove(&key);
                wi.by_status[status_slot(status)].remove(&key);
                *counts_mut(&mut wi.stats, status) -= 1;
                wi.stats.resolution_micros_sum -= resolution;
            }
        }
    }

    /// Adds a row to the status/worker indexes and counters matching its current state.
    fn index(&mut self, row: u32) {
        let r = &self.tickets[row as usize];
        let (key, status, worker) = (r.order_key(row), r.status, r.worker);
        let resolution = resolution_micros(r);
        self.by_status[status_slot(status)].insert(key);
        *counts_mut(&mut self.stats_all, status) += 1;
        self.stats_all.resolution_micros_sum += resolution;
        if let Some(w) = worker {
            let wi = self.by_worker.entry(w).or_default();
            wi.all.insert(key);
            wi.by_status[status_slot(status)].insert(key);
            *counts_mut(&mut wi.stats, status) += 1;
            wi.stats.resolution_micros_sum += resolution;
        }
    }

    fn remove_open_key(&mut self, row: u32) {
        let hash = self.hasher.hash_one(self.dedup_key(row));
        if let Ok(entry) = self.open_by_key.find_entry(hash, |&r| r == row) {
            entry.remove();
        }
    }

    fn user_row(&self, id: UserId) -> Option<&UserRow> {
        row_of(id.0).and_then(|r| self.users.get(r as usize))
    }

    fn insert_user(&mut self, new: NewUser) -> User {
        let id = UserId(self.users.len() as i64 + 1);
        let user = User {
            id,
            username: new.username.as_str().to_owned(),
            role: new.role,
            created_at: new.created_at,
        };
        self.active_names
            .insert(new.username.key(), self.users.len() as u32);
        if new.role == Role::Admin {
            self.active_admins += 1;
        }
        self.users.push(UserRow {
            user: user.clone(),
            password_hash: new.password_hash,
            active: true,
        });
        user
    }
}

/// A forward-only membership test over an ascending posting list: exponential then binary
/// search from the last position, so checking n ascending rows costs O(n log(len/n)).
struct Cursor<'a> {
    list: &'a [u32],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(list: &'a [u32]) -> Self {
        Self { list, pos: 0 }
    }

    /// Whether `row` is in the list; `row` must not decrease between calls.
    fn seek(&mut self, row: u32) -> bool {
        let rest = &self.list[self.pos..];
        let mut step = 1;
        while step < rest.len() && rest[step] < row {
            step *= 2;
        }
        let window = &rest[..rest.len().min(step + 1)];
        match window.binary_search(&row) {
            Ok(i) => {
                self.pos += i;
                true
            }
            Err(i) => {
                self.pos += i;
                false
            }
        }
    }
}

fn resolution_micros(r: &Row) -> i128 {
    match (r.status, r.done_at) {
        (TicketStatus::Done, Some(done)) => {
            i128::from((done - r.created_at).num_microseconds().unwrap_or(0))
        }
        _ => 0,
    }
}

#[async_trait]
impl TicketStore for MemoryStore {
    async fn create_ticket(&self, new: NewTicket) -> Result<Ticket, StoreError> {
        let mut g = self.write();
        let inner = &mut *g;
        let key = new.dedup_key();
        let hash = inner.hasher.hash_one(key);
        if inner
            .open_by_key
            .find(hash, |&row| inner.dedup_key(row) == key)
            .is_some()
        {
            return Err(StoreError::DuplicateTicket);
        }
        let code = new.tracking_code.as_str();
        let code_hash = inner.hasher.hash_one(code);
        if inner
            .by_code
            .find(code_hash, |&row| {
                &*inner.tickets[row as usize].tracking_code == code
            })
            .is_some()
        {
            return Err(StoreError::Backend("tracking code collision".into()));
        }

        let sub = &new.submission;
        let email_key = sub.client_email.key();
        let email_hash = inner.hasher.hash_one(email_key);
        let client = match inner.clients_by_email.find(email_hash, |&c| {
            &*inner.clients[c as usize].email_key == email_key
        }) {
            Some(&c) => c,
            None => {
                let c = inner.clients.len() as u32;
                inner.clients.push(ClientRow {
                    client: Client {
                        id: ClientId(i64::from(c) + 1),
                        name: sub.client_name.as_str().to_owned(),
                        email: sub.client_email.as_str().to_owned(),
                        phone: sub.client_phone.as_ref().map(|p| p.as_str().to_owned()),
                        created_at: new.created_at,
                    },
                    email_key: email_key.into(),
                });
                let hasher = &inner.hasher;
                let clients = &inner.clients;
                inner.clients_by_email.insert_unique(email_hash, c, |&c| {
                    hasher.hash_one(&*clients[c as usize].email_key)
                });
                c
            }
        };

        let row = inner.tickets.len() as u32;
        let title = sub.title.as_str();
        let folded = fold_case(title);
        let folded = (folded != title).then(|| folded.into_boxed_str());
        inner.tickets.push(Row {
            title: title.into(),
            folded,
            description: sub.description.as_str().into(),
            status: TicketStatus::New,
            viewed: false,
            client,
            worker: None,
            created_at: new.created_at,
            updated_at: new.created_at,
            assigned_at: None,
            in_progress_at: None,
            done_at: None,
            requester_ip: sub.requester_ip.as_deref().map(Into::into),
            requester_ua: sub.requester_ua.as_deref().map(Into::into),
            tracking_code: code.into(),
            events: Vec::with_capacity(1),
        });

        {
            let Inner {
                hasher,
                tickets,
                clients,
                open_by_key,
                by_code,
                trigrams,
                ..
            } = &mut *inner;
            open_by_key.insert_unique(hash, row, |&r| {
                let t = &tickets[r as usize];
                hasher.hash_one(DedupKey {
                    title: &t.title,
                    description: &t.description,
                    email: &clients[t.client as usize].email_key,
                })
            });
            by_code.insert_unique(code_hash, row, |&r| {
                hasher.hash_one(&*tickets[r as usize].tracking_code)
            });
            for tri in trigram_keys(tickets[row as usize].folded_title()) {
                let list = trigrams.entry(tri).or_default();
                if list.last() != Some(&row) {
                    list.push(row);
                }
            }
        }
        let key = inner.tickets[row as usize].order_key(row);
        inner.all.insert(key);
        inner.index(row);
        inner.push_event(row, NewEvent::submitted(new.created_at));
        let client = inner.clients[client as usize].client.clone();
        drop(g);
        // The answer is built from the submission's own strings, moved rather than copied.
        let NewTicket {
            submission: s,
            created_at,
            tracking_code,
        } = new;
        Ok(Ticket {
            id: TicketId(i64::from(row) + 1),
            title: s.title.into_inner(),
            description: s.description.into_inner(),
            status: TicketStatus::New,
            viewed: false,
            client,
            worker_id: None,
            created_at,
            updated_at: created_at,
            assigned_at: None,
            in_progress_at: None,
            done_at: None,
            requester_ip: s.requester_ip,
            requester_ua: s.requester_ua,
            tracking_code,
        })
    }

    async fn get_ticket(&self, id: TicketId, visibility: Visibility) -> Result<Ticket, StoreError> {
        let g = self.read();
        let row = g.visible_row(id, visibility)?;
        Ok(g.ticket(row))
    }

    async fn open_ticket(
        &self,
        id: TicketId,
        visibility: Visibility,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<Ticket, StoreError> {
        {
            // Most openings are repeat views: answer them under the shared lock.
            let g = self.read();
            let row = g.visible_row(id, visibility)?;
            if g.tickets[row as usize].viewed {
                return Ok(g.ticket(row));
            }
        }
        let mut g = self.write();
        let row = g.visible_row(id, visibility)?;
        if !g.tickets[row as usize].viewed {
            let r = &mut g.tickets[row as usize];
            r.viewed = true;
            r.updated_at = at;
            g.push_event(row, NewEvent::viewed(at, actor));
        }
        Ok(g.ticket(row))
    }

    async fn transition(&self, change: Transition) -> Result<Ticket, StoreError> {
        let mut g = self.write();
        let row = row_of(change.ticket_id.0)
            .filter(|&r| (r as usize) < g.tickets.len())
            .ok_or(StoreError::NotFound)?;
        let r = &g.tickets[row as usize];
        if r.status != change.expected.status || r.worker != change.expected.worker_id {
            return Err(StoreError::Stale);
        }
        g.unindex(row);
        let r = &mut g.tickets[row as usize];
        r.status = change.next;
        r.updated_at = change.at;
        match change.next {
            TicketStatus::InProgress => r.in_progress_at = Some(change.at),
            TicketStatus::Done => r.done_at = Some(change.at),
            TicketStatus::New => {}
        }
        g.index(row);
        if !change.next.is_open() {
            g.remove_open_key(row);
        }
        g.push_event(row, transition_event(&change));
        Ok(g.ticket(row))
    }

    async fn assign(
        &self,
        id: TicketId,
        worker: UserId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<Ticket, StoreError> {
        let mut g = self.write();
        let row = g.visible_row(id, Visibility::All)?;
        if !g
            .user_row(worker)
            .is_some_and(|u| u.active && u.user.role == Role::Worker)
        {
            return Err(StoreError::WorkerUnavailable);
        }
        let r = &g.tickets[row as usize];
        if !r.status.is_open() {
            return Err(StoreError::TicketClosed);
        }
        if r.worker == Some(worker) {
            return Ok(g.ticket(row));
        }
        g.unindex(row);
        let r = &mut g.tickets[row as usize];
        r.worker = Some(worker);
        r.assigned_at = Some(at);
        r.updated_at = at;
        g.index(row);
        g.push_event(row, NewEvent::assigned(at, actor, worker));
        Ok(g.ticket(row))
    }

    async fn list_tickets(&self, query: &TicketQuery) -> Result<Page<Ticket>, StoreError> {
        let g = self.read();
        let f = &query.filter;
        let worker = match (query.visibility, f.worker_id) {
            (Visibility::AssignedTo(me), Some(w)) if me != w => {
                return Ok(query.page.page_of(Vec::new(), 0));
            }
            (Visibility::AssignedTo(me), _) => Some(me),
            (Visibility::All, w) => w,
        };
        static EMPTY: BTreeSet<OrderKey> = BTreeSet::new();
        let set = match (worker, f.status) {
            (Some(w), s) => match g.by_worker.get(&w) {
                Some(wi) => match s {
                    Some(s) => &wi.by_status[status_slot(s)],
                    None => &wi.all,
                },
                None => &EMPTY,
            },
            (None, Some(s)) => &g.by_status[status_slot(s)],
            (None, None) => &g.all,
        };
        let offset = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
        let size = query.page.size() as usize;

        let Some(search) = &f.search else {
            let items = set
                .iter()
                .rev()
                .skip(offset)
                .take(size)
                .map(|&(_, row)| g.ticket(row))
                .collect();
            return Ok(query.page.page_of(items, set.len() as u64));
        };

        let needle = search.folded();
        let matches = |row: u32| {
            let r = &g.tickets[row as usize];
            worker.is_none_or(|w| r.worker == Some(w))
                && f.status.is_none_or(|s| r.status == s)
                && r.folded_title().contains(needle)
        };
        // Candidates: rows in every posting list of the needle's trigrams, walked from the
        // shortest list and checked against the next two with galloping cursors; or the
        // filtered index when that is smaller (or the needle is too short for trigrams).
        let mut lists: Vec<&[u32]> = trigram_keys(needle)
            .map(|t| g.trigrams.get(&t).map_or(&[][..], Vec::as_slice))
            .collect();
        lists.sort_unstable_by_key(|l| l.len());
        lists.dedup();
        let mut hits: Vec<OrderKey> = match lists.split_first() {
            Some((driver, rest)) if driver.len() <= set.len() => {
                let mut others: Vec<Cursor<'_>> =
                    rest.iter().take(2).map(|l| Cursor::new(l)).collect();
                driver
                    .iter()
                    .copied()
                    .filter(|&row| others.iter_mut().all(|c| c.seek(row)) && matches(row))
                    .map(|row| g.tickets[row as usize].order_key(row))
                    .collect()
            }
            _ => set
                .iter()
                .copied()
                .filter(|&(_, row)| matches(row))
                .collect(),
        };
        let total = hits.len() as u64;
        let end = offset.saturating_add(size).min(hits.len());
        let items = if offset >= hits.len() {
            Vec::new()
        } else {
            // Only the first `end` keys in newest-first order need sorting.
            if end < hits.len() {
                hits.select_nth_unstable_by(end, |a, b| b.cmp(a));
                hits.truncate(end);
            }
            hits.sort_unstable_by(|a, b| b.cmp(a));
            hits[offset..end]
                .iter()
                .map(|&(_, row)| g.ticket(row))
                .collect()
        };
        Ok(query.page.page_of(items, total))
    }

    async fn ticket_stats(&self, worker: Option<UserId>) -> Result<StatCounts, StoreError> {
        let g = self.read();
        Ok(match worker {
            None => g.stats_all,
            Some(w) => g.by_worker.get(&w).map(|wi| wi.stats).unwrap_or_default(),
        })
    }

    async fn track(&self, code: &TrackingCode) -> Result<TicketProgress, StoreError> {
        let g = self.read();
        let code = code.as_str();
        let row = *g
            .by_code
            .find(g.hasher.hash_one(code), |&row| {
                &*g.tickets[row as usize].tracking_code == code
            })
            .ok_or(StoreError::NotFound)?;
        let r = &g.tickets[row as usize];
        Ok(TicketProgress {
            id: TicketId(i64::from(row) + 1),
            status: r.status,
            assigned: r.worker.is_some(),
            created_at: r.created_at,
            in_progress_at: r.in_progress_at,
            done_at: r.done_at,
        })
    }

    async fn history(
        &self,
        id: TicketId,
        visibility: Visibility,
    ) -> Result<Vec<Event>, StoreError> {
        let g = self.read();
        let row = g.visible_row(id, visibility)?;
        Ok(g.tickets[row as usize].events.clone())
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        let mut g = self.write();
        if g.active_names.contains_key(&new.username.key()) {
            return Err(StoreError::UsernameTaken);
        }
        Ok(g.insert_user(new))
    }

    async fn seed_users(&self, users: Vec<NewUser>) -> Result<bool, StoreError> {
        let mut g = self.write();
        if !g.users.is_empty() {
            return Ok(false);
        }
        let mut keys = std::collections::HashSet::new();
        if !users.iter().all(|u| keys.insert(u.username.key())) {
            return Err(StoreError::UsernameTaken);
        }
        for u in users {
            g.insert_user(u);
        }
        Ok(true)
    }

    async fn find_user(&self, id: UserId) -> Result<UserRecord, StoreError> {
        let g = self.read();
        g.user_row(id)
            .map(|u| UserRecord {
                user: u.user.clone(),
                active: u.active,
            })
            .ok_or(StoreError::NotFound)
    }

    async fn credentials(
        &self,
        username: &Username,
    ) -> Result<Option<UserCredentials>, StoreError> {
        let g = self.read();
        Ok(g.active_names.get(&username.key()).map(|&row| {
            let u = &g.users[row as usize];
            UserCredentials {
                user: u.user.clone(),
                password_hash: u.password_hash.clone(),
            }
        }))
    }

    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError> {
        // Staff accounts number in the tens or hundreds: a scan is simpler than an index.
        let g = self.read();
        let needle = query.search.as_ref().map(|s| s.folded());
        let mut hits: Vec<&User> = g
            .users
            .iter()
            .filter(|u| u.active)
            .map(|u| &u.user)
            .filter(|u| query.role.is_none_or(|r| u.role == r))
            .filter(|u| needle.is_none_or(|n| fold_case(&u.username).contains(n)))
            .collect();
        hits.sort_unstable_by_key(|u| std::cmp::Reverse((u.created_at, u.id)));
        let total = hits.len() as u64;
        let items = hits
            .into_iter()
            .skip(usize::try_from(query.page.offset()).unwrap_or(usize::MAX))
            .take(query.page.size() as usize)
            .cloned()
            .collect();
        Ok(query.page.page_of(items, total))
    }

    async fn deactivate_user(
        &self,
        id: UserId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut g = self.write();
        let Some(row) = row_of(id.0).filter(|&r| g.users.get(r as usize).is_some_and(|u| u.active))
        else {
            return Err(StoreError::NotFound);
        };
        let role = g.users[row as usize].user.role;
        if role == Role::Admin && g.active_admins <= 1 {
            return Err(StoreError::LastAdmin);
        }
        let u = &mut g.users[row as usize];
        u.active = false;
        let key = u.user.username.to_ascii_lowercase();
        g.active_names.remove(&key);
        if role == Role::Admin {
            g.active_admins -= 1;
        }
        let open: Vec<u32> = g
            .by_worker
            .get(&id)
            .map(|wi| {
                [TicketStatus::New, TicketStatus::InProgress]
                    .iter()
                    .flat_map(|&s| wi.by_status[status_slot(s)].iter().map(|&(_, r)| r))
                    .collect()
            })
            .unwrap_or_default();
        for &t in &open {
            g.unindex(t);
            let r = &mut g.tickets[t as usize];
            let from = r.status;
            r.status = TicketStatus::New;
            r.worker = None;
            r.assigned_at = None;
            r.in_progress_at = None;
            r.updated_at = at;
            g.index(t);
            g.push_event(t, NewEvent::released(at, actor, id, from));
        }
        Ok(open.len() as u64)
    }
}

#[async_trait]
impl StoreHealth for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
