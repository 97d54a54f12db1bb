//! Tickets, their clients and their history.

use crate::{
    Inner, MemoryStore,
    index::{Filing, OrderKey},
    rows::{ClientRow, Row, row_of},
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Change, Client, ClientId, Cursor, DedupKey, Event, EventId, NewEvent, NewTicket, Page, Role,
    StatCounts, StoreError, Ticket, TicketId, TicketProgress, TicketQuery, TicketSort,
    TicketStatus, TicketStore, TrackingCode, Transition, UserId, Visibility,
};
use std::{
    hash::BuildHasher,
    ops::{Bound, RangeBounds},
};

impl Inner {
    fn dedup_key(&self, row: u32) -> DedupKey<'_> {
        let r = &self.tickets[row as usize];
        DedupKey {
            title: &r.title,
            description: &r.description,
            email: &self.clients[r.client as usize].email_key,
        }
    }

    /// Files an open ticket's duplicate key (`hash`, of [`Inner::dedup_key`]) in the index
    /// that refuses a second open ticket with it.
    fn file_open_key(&mut self, row: u32, hash: u64) {
        let Inner {
            hasher,
            tickets,
            clients,
            open_by_key,
            ..
        } = self;
        open_by_key.insert_unique(hash, row, |&r| {
            let t = &tickets[r as usize];
            hasher.hash_one(DedupKey {
                title: &t.title,
                description: &t.description,
                email: &clients[t.client as usize].email_key,
            })
        });
    }

    pub(crate) fn ticket(&self, row: u32) -> Ticket {
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
            new_to_me: false,
            device: r.device.as_deref().cloned(),
            priority: r.priority,
            due_at: r.due_at,
            awaiting_reply: r.awaiting_reply,
            stage: r.stage.and_then(|s| self.stages.reference(s)),
            quote: r.quote,
        }
    }

    /// [`Inner::ticket`] as `viewer` reads it: whether it has never opened it.
    fn ticket_for(&self, row: u32, viewer: Option<UserId>) -> Ticket {
        let mut t = self.ticket(row);
        t.new_to_me = viewer.is_some_and(|v| !self.seen.contains(&(v, row)));
        t
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

    /// Appends an event to its ticket and to the global order (its `seq` is its place there).
    pub(crate) fn push_event(&mut self, row: u32, event: NewEvent) {
        self.next_event += 1;
        let seq = self.log.len() as i64 + 1;
        let ev = event.into_event(EventId(self.next_event), seq, TicketId(i64::from(row) + 1));
        if ev.kind == crm_core::EventKind::Assigned {
            if let Some(w) = ev.worker_id {
                self.last_assigned.insert(w, ev.id.0);
            }
        }
        if self.outbox.wanted() {
            // What the notifications tell: the ticket as it is right after the event.
            let snapshot = self.ticket(row);
            self.outbox.record(&ev, snapshot);
        }
        let events = &mut self.tickets[row as usize].events;
        self.log.push((row, events.len() as u32));
        events.push(ev);
    }

    fn filing(&self, row: u32) -> Filing {
        let r = &self.tickets[row as usize];
        Filing {
            key: r.order_key(row),
            status: r.status,
            worker: r.worker,
            resolution_micros: r.resolution_micros(),
        }
    }

    /// Applies `change` to a ticket's row, re-filing it in the indexes around the change, and
    /// drops its duplicate key once it is no longer open.
    pub(crate) fn update_row(&mut self, row: u32, change: impl FnOnce(&mut Row)) {
        let before = self.filing(row);
        let r = &self.tickets[row as usize];
        let (stage_before, stage_at) = (r.stage, r.stage_at);
        self.indexes.unfile(before);
        change(&mut self.tickets[row as usize]);
        let after = self.filing(row);
        self.indexes.file(after);
        let r = &self.tickets[row as usize];
        self.stages.refile(
            (before.worker, stage_before, stage_at),
            (after.worker, r.stage),
            r.updated_at,
        );
        if before.status.is_open() && !after.status.is_open() {
            let hash = self.hasher.hash_one(self.dedup_key(row));
            if let Ok(entry) = self.open_by_key.find_entry(hash, |&r| r == row) {
                entry.remove();
            }
        }
    }

    /// The client with this e-mail key, created from the submission on first contact.
    fn client_for(&mut self, new: &NewTicket) -> u32 {
        let sub = &new.submission;
        let email_key = sub.client_email.key();
        let email_hash = self.hasher.hash_one(email_key);
        if let Some(&c) = self.clients_by_email.find(email_hash, |&c| {
            &*self.clients[c as usize].email_key == email_key
        }) {
            return c;
        }
        let c = self.clients.len() as u32;
        self.clients.push(ClientRow {
            client: Client {
                id: ClientId(i64::from(c) + 1),
                name: sub.client_name.as_str().to_owned(),
                email: sub.client_email.as_str().to_owned(),
                phone: sub.client_phone.as_ref().map(|p| p.as_str().to_owned()),
                created_at: new.created_at,
            },
            email_key: email_key.into(),
            tickets: Vec::new(),
            events: vec![crm_core::ClientEvent {
                at: new.created_at,
                kind: crm_core::ClientEventKind::Created,
                actor_id: sub.taken_in_by,
                changes: Vec::new(),
            }],
        });
        let (hasher, clients) = (&self.hasher, &self.clients);
        self.clients_by_email.insert_unique(email_hash, c, |&c| {
            hasher.hash_one(&*clients[c as usize].email_key)
        });
        c
    }

    /// Stores a new ticket (and its client on first contact) with every index and its
    /// `submitted` event, unless an open ticket has the same duplicate key. Returns its row.
    fn insert_ticket(&mut self, new: &NewTicket) -> Result<u32, StoreError> {
        let sub = &new.submission;
        if let Some(w) = sub.worker {
            if !self
                .user_row(w)
                .is_some_and(|u| u.active && u.user.role == Role::Worker)
            {
                return Err(StoreError::WorkerUnavailable);
            }
        }
        let key = new.dedup_key();
        let hash = self.hasher.hash_one(key);
        if self
            .open_by_key
            .find(hash, |&row| self.dedup_key(row) == key)
            .is_some()
        {
            return Err(StoreError::DuplicateTicket);
        }
        let code = new.tracking_code.as_str();
        let code_hash = self.hasher.hash_one(code);
        if self
            .by_code
            .find(code_hash, |&row| {
                &*self.tickets[row as usize].tracking_code == code
            })
            .is_some()
        {
            return Err(StoreError::Backend("tracking code collision".into()));
        }
        let client = self.client_for(new);
        let row = self.tickets.len() as u32;
        self.tickets.push(Row::new(new, client));
        self.clients[client as usize].tickets.push(row);
        self.file_open_key(row, hash);
        let Inner {
            hasher,
            tickets,
            by_code,
            trigrams,
            ..
        } = self;
        by_code.insert_unique(code_hash, row, |&r| {
            hasher.hash_one(&*tickets[r as usize].tracking_code)
        });
        trigrams.insert(row, tickets[row as usize].folded_title());
        let filing = self.filing(row);
        self.indexes.insert_new(filing);
        self.push_event(row, NewEvent::submitted(new.created_at, sub.taken_in_by));
        if let Some(w) = sub.worker {
            let at = new.created_at;
            self.update_row(row, |r| {
                r.worker = Some(w);
                r.assigned_at = Some(at);
            });
            self.push_event(
                row,
                NewEvent::assigned(at, sub.taken_in_by, w, None, TicketStatus::New),
            );
        }
        Ok(row)
    }

    /// The page of a query with counter filters or in `due` order: every ticket of the
    /// scope's set is checked against the filter (the rules are crm-core's,
    /// [`crm_core::TicketFilter::admits`]) and the matches are ordered by the query's sort.
    /// Linear in the scope's size; the kept orders serve the common lists.
    fn scan_page(&self, query: &TicketQuery) -> Page<Ticket> {
        let f = &query.filter;
        let scope = query.scope();
        let set = self.indexes.set(scope, f.status, f.open);
        // Each sort as one ascending key: newest first is (created, row) descending.
        let key = |row: u32| -> (i64, i64) {
            let r = &self.tickets[row as usize];
            match query.sort {
                TicketSort::Newest => (-r.created_at.timestamp_micros(), -i64::from(row)),
                TicketSort::Oldest => (r.created_at.timestamp_micros(), i64::from(row)),
                TicketSort::Due => (crm_core::page::due_key(r.due_at), -i64::from(row)),
            }
        };
        let after = query.page.cursor().map(|c| match query.sort {
            TicketSort::Newest => (
                c.key.saturating_neg(),
                c.id.saturating_sub(1).saturating_neg(),
            ),
            TicketSort::Oldest => (c.key, c.id.saturating_sub(1)),
            TicketSort::Due => (c.key, c.id.saturating_sub(1).saturating_neg()),
        });
        let mut hits: Vec<((i64, i64), u32)> = set
            .iter()
            .map(|&(_, row)| row)
            .filter(|&row| {
                let r = &self.tickets[row as usize];
                scope.admits(r.worker) && f.admits_status(r.status) && {
                    let t = self.ticket(row);
                    f.admits(&t)
                }
            })
            .map(|row| (key(row), row))
            .collect();
        let total = hits.len() as u64;
        if let Some(a) = after {
            hits.retain(|(k, _)| *k > a);
        }
        hits.sort_unstable();
        let offset = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
        let items = hits
            .iter()
            .skip(offset)
            .take(query.page.fetch_limit() as usize)
            .map(|&(_, row)| self.ticket_for(row, query.viewer))
            .collect();
        query.page_of(items, total)
    }

    /// The page of `query`, filtered by a title search, in the query's order.
    fn search_page(&self, query: &TicketQuery, needle: &str) -> Page<Ticket> {
        let f = &query.filter;
        let scope = query.scope();
        let set = self.indexes.set(scope, f.status, f.open);
        let matches = |row: u32| {
            let r = &self.tickets[row as usize];
            scope.admits(r.worker) && f.admits_status(r.status) && r.folded_title().contains(needle)
        };
        // Candidates from the trigram index when it is smaller than the filtered set;
        // otherwise the filtered set itself.
        let mut hits: Vec<OrderKey> = match self.trigrams.candidates(needle, set.len()) {
            Some(rows) => rows
                .filter(|&row| matches(row))
                .map(|row| self.tickets[row as usize].order_key(row))
                .collect(),
            None => set
                .iter()
                .copied()
                .filter(|&(_, row)| matches(row))
                .collect(),
        };
        let total = hits.len() as u64;
        let range = walk(query.sort, query.page.cursor());
        if range != (Bound::Unbounded, Bound::Unbounded) {
            hits.retain(|k| range.contains(k));
        }
        let offset = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
        let size = query.page.fetch_limit() as usize;
        let end = offset.saturating_add(size).min(hits.len());
        // Newest first is the keys descending; oldest first, ascending.
        let order = |a: &OrderKey, b: &OrderKey| match query.sort {
            TicketSort::Newest => b.cmp(a),
            // `due` lists are answered by `scan_page`.
            TicketSort::Oldest | TicketSort::Due => a.cmp(b),
        };
        let items = if offset >= hits.len() {
            Vec::new()
        } else {
            // Only the first `end` keys in the list's order need sorting.
            if end < hits.len() {
                hits.select_nth_unstable_by(end, order);
                hits.truncate(end);
            }
            hits.sort_unstable_by(order);
            hits[offset..end]
                .iter()
                .map(|&(_, row)| self.ticket_for(row, query.viewer))
                .collect()
        };
        query.page.page_of(items, total)
    }
}

impl Inner {
    /// Applies an edit compared and set on the state it was planned from, re-keying the
    /// duplicate index and the title search.
    fn apply_edit(&mut self, edit: crm_core::TicketEdit) -> Result<u32, StoreError> {
        let row = row_of(edit.ticket_id.0)
            .filter(|&r| (r as usize) < self.tickets.len())
            .ok_or(StoreError::NotFound)?;
        let r = &self.tickets[row as usize];
        if r.updated_at != edit.expected_updated_at
            || r.status != edit.expected.status
            || r.worker != edit.expected.worker_id
        {
            return Err(StoreError::Stale);
        }
        let rekey = r.status.is_open()
            && (*r.title != *edit.title.as_str() || *r.description != *edit.description.as_str());
        if rekey {
            let email = &self.clients[r.client as usize].email_key;
            let key = DedupKey {
                title: edit.title.as_str(),
                description: edit.description.as_str(),
                email,
            };
            let hash = self.hasher.hash_one(key);
            if self
                .open_by_key
                .find(hash, |&other| other != row && self.dedup_key(other) == key)
                .is_some()
            {
                return Err(StoreError::DuplicateTicket);
            }
            let old = self.hasher.hash_one(self.dedup_key(row));
            if let Ok(entry) = self.open_by_key.find_entry(old, |&r| r == row) {
                entry.remove();
            }
        }
        let title_changed = *self.tickets[row as usize].title != *edit.title.as_str();
        {
            let r = &mut self.tickets[row as usize];
            let folded = crm_core::input::fold_case(edit.title.as_str());
            r.folded = (folded != edit.title.as_str()).then(|| folded.into_boxed_str());
            r.title = edit.title.as_str().into();
            r.description = edit.description.as_str().into();
            r.device = edit.device.map(Box::new);
            r.priority = edit.priority;
            r.due_at = edit.due_at;
            r.updated_at = edit.at;
        }
        if rekey {
            let hash = self.hasher.hash_one(self.dedup_key(row));
            self.file_open_key(row, hash);
        }
        if title_changed {
            let Inner {
                tickets, trigrams, ..
            } = self;
            trigrams.insert_sorted(row, tickets[row as usize].folded_title());
        }
        self.push_event(row, edit.event);
        Ok(row)
    }
}

#[async_trait]
impl TicketStore for MemoryStore {
    async fn edit_ticket(&self, edit: crm_core::TicketEdit) -> Result<Ticket, StoreError> {
        let mut g = self.write();
        let row = g.apply_edit(edit)?;
        self.changed(Change::Events);
        Ok(g.ticket(row))
    }

    async fn create_ticket(&self, new: NewTicket) -> Result<Ticket, StoreError> {
        let mut g = self.write();
        let row = g.insert_ticket(&new)?;
        let client = g.clients[g.tickets[row as usize].client as usize]
            .client
            .clone();
        let (worker, assigned_at) = {
            let r = &g.tickets[row as usize];
            (r.worker, r.assigned_at)
        };
        drop(g);
        self.changed(Change::Events);
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
            worker_id: worker,
            created_at,
            updated_at: created_at,
            assigned_at,
            in_progress_at: None,
            done_at: None,
            requester_ip: s.requester_ip,
            requester_ua: s.requester_ua,
            tracking_code,
            new_to_me: false,
            device: s.device,
            priority: s.priority,
            due_at: s.due_at,
            awaiting_reply: false,
            stage: None,
            quote: None,
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
            // Most openings are repeat views by someone who opened it before: answer them
            // under the shared lock.
            let g = self.read();
            let row = g.visible_row(id, visibility)?;
            if g.tickets[row as usize].viewed && g.seen.contains(&(actor, row)) {
                return Ok(g.ticket(row));
            }
        }
        let mut g = self.write();
        let row = g.visible_row(id, visibility)?;
        g.seen.insert((actor, row));
        if !g.tickets[row as usize].viewed {
            let r = &mut g.tickets[row as usize];
            r.viewed = true;
            r.updated_at = at;
            let (status, worker) = (r.status, r.worker);
            g.push_event(row, NewEvent::viewed(at, actor, status, worker));
            self.changed(Change::Events);
        }
        Ok(g.ticket(row))
    }

    async fn transition(&self, change: Transition) -> Result<Ticket, StoreError> {
        let mut g = self.write();
        let row = row_of(change.ticket_id.0)
            .filter(|&r| (r as usize) < g.tickets.len())
            .ok_or(StoreError::NotFound)?;
        let r = &g.tickets[row as usize];
        if r.status != change.expected.status
            || r.worker != change.expected.worker_id
            || r.stage != change.from_stage.as_ref().map(|s| s.id)
        {
            return Err(StoreError::Stale);
        }
        let to = change.to_stage.as_ref().map(|s| s.id);
        if to.is_some_and(|s| !g.stages.exists(s)) {
            return Err(StoreError::UnknownStage);
        }
        let moves = change.moves_stage();
        g.update_row(row, |r| {
            r.status = change.next;
            r.updated_at = change.at;
            match change.next {
                TicketStatus::InProgress => r.in_progress_at = Some(change.at),
                TicketStatus::Done => r.done_at = Some(change.at),
                TicketStatus::New => {}
            }
            if moves {
                r.stage = to;
                r.stage_at = to.map(|_| change.at);
            }
        });
        for e in change.events() {
            g.push_event(row, e);
        }
        self.changed(Change::Events);
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
        let (prev, status) = (r.worker, r.status);
        g.update_row(row, |r| {
            r.worker = Some(worker);
            r.assigned_at = Some(at);
            r.updated_at = at;
        });
        g.push_event(
            row,
            NewEvent::assigned(at, Some(actor), worker, prev, status),
        );
        self.changed(Change::Events);
        Ok(g.ticket(row))
    }

    async fn list_tickets(&self, query: &TicketQuery) -> Result<Page<Ticket>, StoreError> {
        let g = self.read();
        if query.filter.has_counter_filters() || query.sort == TicketSort::Due {
            return Ok(g.scan_page(query));
        }
        if let Some(search) = &query.filter.search {
            return Ok(g.search_page(query, search.folded()));
        }
        let f = &query.filter;
        let set = g.indexes.set(query.scope(), f.status, f.open);
        let range = set.range(walk(query.sort, query.page.cursor()));
        let skip = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
        let take = query.page.fetch_limit() as usize;
        let row = |&(_, row): &OrderKey| g.ticket_for(row, query.viewer);
        let items = match query.sort {
            TicketSort::Newest => range.rev().skip(skip).take(take).map(row).collect(),
            TicketSort::Oldest | TicketSort::Due => range.skip(skip).take(take).map(row).collect(),
        };
        Ok(query.page.page_of(items, set.len() as u64))
    }

    async fn ticket_stats(&self, worker: Option<UserId>) -> Result<StatCounts, StoreError> {
        Ok(self.read().indexes.stats(worker))
    }

    async fn unassigned_count(&self) -> Result<u64, StoreError> {
        Ok(self.read().indexes.unassigned())
    }

    async fn track(&self, code: &TrackingCode) -> Result<TicketProgress, StoreError> {
        let g = self.read();
        let row = g.row_by_code(code)?;
        let r = &g.tickets[row as usize];
        Ok(TicketProgress {
            id: TicketId(i64::from(row) + 1),
            status: r.status,
            assigned: r.worker.is_some(),
            created_at: r.created_at,
            in_progress_at: r.in_progress_at,
            done_at: r.done_at,
            device: r.device.as_deref().and_then(crm_core::Device::public),
            due_at: r.due_at,
            messages: r
                .messages
                .iter()
                .filter(|&&m| g.message_audience(m) == crm_core::Audience::Customer)
                .count() as u64,
            files: g.public_files(row),
            stage: r.stage.and_then(|s| g.stages.reference(s)).map(|s| s.name),
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

/// The keys a list in `sort` order walks after `cursor` (all, without one): for newest
/// first those below the cursor's item (walked downwards), for oldest first those above it.
/// Row `id - 1` stands for the ticket `id`.
fn walk(sort: TicketSort, cursor: Option<Cursor>) -> (Bound<OrderKey>, Bound<OrderKey>) {
    let Some(c) = cursor else {
        return (Bound::Unbounded, Bound::Unbounded);
    };
    // The cursor's own key, and how it compares: no ticket has an id below 1, and a row
    // number is below u32::MAX.
    let at = match u32::try_from(c.id - 1) {
        _ if c.id < 1 => (c.key, None),
        Ok(row) => (c.key, Some(row)),
        Err(_) => (c.key, Some(u32::MAX)),
    };
    match (sort, at) {
        // `due` lists are answered by `scan_page`, which reads cursors itself.
        (TicketSort::Due, _) => (Bound::Unbounded, Bound::Unbounded),
        (TicketSort::Newest, (key, None)) => (Bound::Unbounded, Bound::Excluded((key, 0))),
        (TicketSort::Newest, (key, Some(row))) => (Bound::Unbounded, Bound::Excluded((key, row))),
        (TicketSort::Oldest, (key, None)) => (Bound::Included((key, 0)), Bound::Unbounded),
        (TicketSort::Oldest, (key, Some(row))) => (Bound::Excluded((key, row)), Bound::Unbounded),
    }
}
