//! The live-update hub of one replica: a background task that reads new events from the store
//! whenever a change is signalled (LISTEN/NOTIFY on PostgreSQL, in-process on the memory
//! store), and at least every [`POLL_EVERY`] in case a signal was lost, and hands them to the
//! streams open on this replica. The store's event table is the source of truth; the hub only
//! decides when to read it.
//!
//! Each stream subscribes to a bounded broadcast. A stream that falls behind it is ended (and
//! its client resumes from its last position), so a slow consumer never makes the hub buffer
//! without bound.

use crm_core::{Change, ChangeListener, Crm, Event, Store, TicketId, UserId, Visibility};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio::sync::{broadcast, mpsc, watch};
/// How long the loop waits for another notification before reading...
const GATHER: Duration = Duration::from_millis(5);
/// ...and how long it gathers at most, however busy: under steady writes notifications never
/// pause for [`GATHER`], and every change must still be read within moments.
const GATHER_AT_MOST: Duration = Duration::from_millis(25);

/// The longest a change may wait to be noticed when its notification was lost.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// How many events the hub keeps for streams that are momentarily behind.
pub const BACKLOG: usize = 4096;
/// Events read from the store per query.
pub const BATCH: u32 = 500;
/// Events a follower of one ticket may have waiting before it is ended as too slow.
pub const FOLLOWER_BUFFER: usize = 64;

/// What the hub tells streams.
#[derive(Debug, Clone)]
pub enum Message {
    /// A new event, in order.
    Event(Arc<Event>),
    /// This account's sessions may have ended: streams of it check theirs.
    Account(UserId),
    /// Anything may have changed: every stream checks its session.
    Recheck,
}

/// The fan-out point streams subscribe to.
pub struct Hub {
    sender: broadcast::Sender<Message>,
    /// The position of the last event handed out; changed together with the send, so a
    /// subscriber knows exactly which events it will receive and which it must read itself.
    last: Mutex<i64>,
    closing: watch::Sender<bool>,
    /// Client streams open now ([`Hub::open_stream`]).
    open: AtomicUsize,
    /// The followers of single tickets (public progress streams), by ticket: each event is
    /// handed only to its own ticket's followers, never to every stream.
    followers: Mutex<Followers>,
    next_follower: AtomicU64,
}

/// Each followed ticket's followers: an id each, and where its events go.
type Followers = HashMap<TicketId, Vec<(u64, mpsc::Sender<Arc<Event>>)>>;

/// A follower of one ticket: its events arrive on `events`, until the follower is dropped,
/// falls behind by [`FOLLOWER_BUFFER`] events (then `events` ends), or the hub closes.
pub struct Follower {
    /// The ticket's events, in order.
    pub events: mpsc::Receiver<Arc<Event>>,
    id: u64,
    ticket: TicketId,
    hub: Arc<Hub>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        let mut all = self.hub.lock_followers();
        if let Some(list) = all.get_mut(&self.ticket) {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                all.remove(&self.ticket);
            }
        }
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
            last: Mutex::new(0),
            closing: watch::channel(false).0,
            open: AtomicUsize::new(0),
            followers: Mutex::default(),
            next_follower: AtomicU64::new(0),
        }
    }
}

/// One client stream, counted by [`Hub::streams`] while it lives.
pub struct OpenStream<'a>(&'a Hub);

impl Drop for OpenStream<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hub {
    /// A receiver of everything after the returned position.
    pub fn subscribe(&self) -> (broadcast::Receiver<Message>, i64) {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        (self.sender.subscribe(), *last)
    }

    /// Resolves when the server is shutting down: streams end so connections can close.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Ends every stream (at shutdown).
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }

    /// Counts a client stream until the returned guard drops.
    pub fn open_stream(&self) -> OpenStream<'_> {
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenStream(self)
    }

    /// How many client streams are open on this replica (the server's own subscribers, such
    /// as the delivery worker, are not streams).
    pub fn streams(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Follows one ticket's events from now on.
    pub fn follow(self: &Arc<Self>, ticket: TicketId) -> Follower {
        let (tx, rx) = mpsc::channel(FOLLOWER_BUFFER);
        let id = self.next_follower.fetch_add(1, Ordering::Relaxed);
        self.lock_followers()
            .entry(ticket)
            .or_default()
            .push((id, tx));
        Follower {
            events: rx,
            id,
            ticket,
            hub: self.clone(),
        }
    }

    /// How many tickets have followers now.
    pub fn followed_tickets(&self) -> usize {
        self.lock_followers().len()
    }

    fn lock_followers(&self) -> std::sync::MutexGuard<'_, Followers> {
        self.followers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn start_at(&self, seq: i64) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = seq;
    }

    fn publish(&self, event: Event) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if event.seq <= *last {
            return;
        }
        *last = event.seq;
        let event = Arc::new(event);
        if let Some(list) = self.lock_followers().get_mut(&event.ticket_id) {
            // A follower that cannot take it is dropped from the list: its stream ends and
            // its client reconnects to the current progress.
            list.retain(|(_, tx)| tx.try_send(event.clone()).is_ok());
        }
        let _ = self.sender.send(Message::Event(event));
    }

    fn tell(&self, m: Message) {
        let _ = self.sender.send(m);
    }
}

/// Gives what has committed its position: after this replica's own writes, and at each
/// poll for what a replica that died before doing so left.
async fn sequence<S: Store>(crm: &Crm<S>) {
    if let Err(e) = crm.store().sequence().await {
        // Another replica's hub positions them, or this one's next pass.
        tracing::warn!(error = %e, "live updates: positioning new events failed");
    }
}

/// Reads and hands out every event after the hub's position.
async fn catch_up<S: Store>(crm: &Crm<S>, hub: &Hub) -> bool {
    loop {
        let (_, after) = hub.subscribe();
        match crm
            .store()
            .events_after(after, Visibility::All, BATCH)
            .await
        {
            Ok(batch) => {
                let full = batch.len() == BATCH as usize;
                for e in batch {
                    hub.publish(e);
                }
                if !full {
                    return true;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "live updates: reading new events failed");
                return false;
            }
        }
    }
}

/// What one wait of the hub's loop brought.
enum Step {
    /// Nothing within [`POLL_EVERY`]: look anyway.
    Poll,
    /// New events may have been positioned elsewhere: read them.
    Events,
    /// Events were committed through this replica: position them, then read.
    Written,
    /// The listener lost track: read, and let every stream check its session.
    Unknown,
    /// The listener broke.
    Failed(crm_core::StoreError),
    /// Only account changes, already told.
    Told,
}

/// The hub's loop: runs until the hub closes. Started by the server's builder.
pub async fn run<S: Store>(crm: Crm<S>, hub: Arc<Hub>) {
    let mut closing = hub.closing();
    if !start_at_the_present(&crm, &hub, &mut closing).await {
        return;
    }
    let mut listener: Option<Box<dyn ChangeListener>> = None;
    loop {
        if listener.is_none() {
            match crm.store().listen().await {
                Ok(l) => {
                    listener = Some(l);
                    // Whatever happened while there was no listener.
                    sequence(&crm).await;
                    catch_up(&crm, &hub).await;
                    hub.tell(Message::Recheck);
                }
                Err(e) => tracing::warn!(error = %e, "live updates: cannot listen; polling"),
            }
        }
        let first = {
            let change = async {
                match listener.as_mut() {
                    Some(l) => l.next().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = closing.changed() => return,
                () = tokio::time::sleep(POLL_EVERY) => None,
                got = change => Some(got),
            }
        };
        let step = match (first, listener.as_mut()) {
            (Some(first), Some(l)) => gather(first, l.as_mut(), &hub).await,
            _ => Step::Poll,
        };
        match step {
            // The poll fallback also gives waiting tickets a worker if a pass was missed
            // (automatic assignment runs after each change; this only repairs), and positions
            // what a replica that died before doing so left.
            Step::Poll => {
                sequence(&crm).await;
                catch_up(&crm, &hub).await;
                if let Err(e) = crm.assign_waiting().await {
                    tracing::warn!(error = %e, "automatic assignment: the periodic pass failed");
                }
            }
            Step::Events => {
                catch_up(&crm, &hub).await;
            }
            Step::Written => {
                sequence(&crm).await;
                catch_up(&crm, &hub).await;
            }
            Step::Unknown => {
                sequence(&crm).await;
                catch_up(&crm, &hub).await;
                hub.tell(Message::Recheck);
            }
            Step::Told => {}
            Step::Failed(e) => {
                sequence(&crm).await;
                catch_up(&crm, &hub).await;
                tracing::warn!(error = %e, "live updates: the listener failed; reconnecting");
                listener = None;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Starts the hub at the latest position: streams replay the past from the store
/// themselves. Waits for the store; false when the hub closed meanwhile.
async fn start_at_the_present<S: Store>(
    crm: &Crm<S>,
    hub: &Hub,
    closing: &mut watch::Receiver<bool>,
) -> bool {
    loop {
        match crm.store().last_event_seq().await {
            Ok(seq) => {
                hub.start_at(seq);
                return true;
            }
            Err(e) => {
                tracing::warn!(error = %e, "live updates: waiting for the store");
                tokio::select! {
                    () = tokio::time::sleep(POLL_EVERY) => {}
                    _ = closing.changed() => return false,
                }
            }
        }
    }
}

/// Under load notifications queue up, one per change: takes every one that follows `first`
/// within a moment (for at most [`GATHER_AT_MOST`]), so a burst costs one sequencing and one
/// read of the new events, not one each. Account changes are told to the streams on the way.
async fn gather(
    first: Result<Change, crm_core::StoreError>,
    l: &mut dyn ChangeListener,
    hub: &Hub,
) -> Step {
    let (mut events, mut written, mut unknown) = (false, false, false);
    let until = tokio::time::Instant::now() + GATHER_AT_MOST;
    let mut next = Some(first);
    while let Some(got) = next.take() {
        match got {
            Ok(Change::Events) => events = true,
            Ok(Change::Written) => written = true,
            Ok(Change::Account(user)) => hub.tell(Message::Account(user)),
            Ok(Change::Unknown) => unknown = true,
            Err(e) => return Step::Failed(e),
        }
        let wait = until
            .saturating_duration_since(tokio::time::Instant::now())
            .min(GATHER);
        if wait.is_zero() {
            break;
        }
        next = tokio::time::timeout(wait, l.next()).await.ok();
    }
    match (unknown, written, events) {
        (true, ..) => Step::Unknown,
        (false, true, _) => Step::Written,
        (false, false, true) => Step::Events,
        (false, false, false) => Step::Told,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use crm_core::{EventId, EventKind, TicketStatus};

    fn event(seq: i64, ticket: i64) -> Event {
        Event {
            id: EventId(seq),
            seq,
            ticket_id: TicketId(ticket),
            at: Utc::now(),
            kind: EventKind::Viewed,
            actor_id: None,
            worker_id: None,
            from_status: None,
            to_status: None,
            status: TicketStatus::New,
            ticket_worker: None,
            prev_worker: None,
            changes: Vec::new(),
            visibility: None,
            item_id: None,
        }
    }

    #[tokio::test]
    async fn a_follower_hears_only_its_own_ticket_and_leaves_no_trace() {
        let hub = Arc::new(Hub::default());
        let mut one = hub.follow(TicketId(1));
        let mut two = hub.follow(TicketId(2));
        hub.publish(event(1, 2));
        hub.publish(event(2, 1));
        assert_eq!(one.events.recv().await.unwrap().seq, 2);
        assert!(one.events.try_recv().is_err(), "not another ticket's");
        assert_eq!(two.events.recv().await.unwrap().seq, 1);
        drop(one);
        assert_eq!(hub.followed_tickets(), 1);
        drop(two);
        assert_eq!(hub.followed_tickets(), 0);
    }

    #[tokio::test]
    async fn a_follower_that_falls_behind_is_ended() {
        let hub = Arc::new(Hub::default());
        let mut slow = hub.follow(TicketId(1));
        for seq in 1..=(FOLLOWER_BUFFER as i64 + 1) {
            hub.publish(event(seq, 1));
        }
        let mut got = 0;
        while slow.events.recv().await.is_some() {
            got += 1;
        }
        assert_eq!(got, FOLLOWER_BUFFER, "then the channel ends");
    }
}
