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
//! Lists never copy or sort the data set. The store keeps the indexes a list needs
//! ([`index`](crate::index)): the newest-first order overall, per status, per worker and per
//! worker and status, with running counters for statistics; hash tables for the duplicate key,
//! e-mails and tracking codes that hold only row numbers; and a trigram index over case-folded
//! titles for substring search ([`search`](crate::search)).

mod assignment;
mod attachments;
mod clients;
mod credentials;
mod events;
mod index;
mod messages;
mod outbox;
mod quotes;
mod rows;
mod search;
mod stages;
mod throttle;
mod tickets;
mod users;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{AssignmentSettings, Change, StoreError, StoreHealth, ThrottleState, UserId};
use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use index::Indexes;
use rows::{ClientRow, Rows, UserRow};
use search::Trigrams;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The in-memory backend. Clones share the same data.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<RwLock<Inner>>,
    /// Wakes listeners (live streams) in this process; the only process there is.
    changes: tokio::sync::broadcast::Sender<Change>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            changes: tokio::sync::broadcast::channel(1024).0,
        }
    }
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

    /// Tells listeners what changed (nobody listening is fine).
    fn changed(&self, change: Change) {
        let _ = self.changes.send(change);
    }
}

/// Everything the store holds, behind the one lock.
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
    indexes: Indexes,
    trigrams: Trigrams,
    next_event: i64,
    users: Vec<UserRow>,
    /// Active users by lower-cased username.
    active_names: HashMap<String, u32>,
    active_admins: usize,
    /// Sign-in failures by username key.
    throttle: HashMap<String, ThrottleState>,
    /// Signed-out tokens: id -> (account, when the token expires anyway).
    revoked: HashMap<String, (UserId, DateTime<Utc>)>,
    next_account_event: i64,
    /// Every event in the global order: (row, index in the row's events); position `seq` is
    /// entry `seq - 1`. Events are appended under the write lock, so order = commit order.
    log: Vec<(u32, u32)>,
    /// Single-use values already used, with when they expire.
    used: HashMap<String, DateTime<Utc>>,
    assignment: AssignmentSettings,
    /// The worker round robin chose last.
    rr_cursor: Option<UserId>,
    /// Each worker's latest `assigned` event id.
    last_assigned: HashMap<UserId, i64>,
    /// Who has opened which ticket (row): each staff member's "new to me".
    seen: hashbrown::HashSet<(UserId, u32)>,
    /// Notifications waiting for delivery, and the webhook endpoints they go to.
    outbox: outbox::OutboxState,
    /// Every message on every ticket; a message's id is its row plus one.
    messages: Vec<messages::MessageRow>,
    /// Every file ever added; a file's id is its row plus one, a removed one an empty slot.
    files: Vec<Option<attachments::FileRow>>,
    /// The stages and their running figures.
    stages: stages::Stages,
    /// The last quote id given.
    next_quote: i64,
    /// Every API key.
    keys: credentials::Keys,
}

#[async_trait]
impl StoreHealth for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
