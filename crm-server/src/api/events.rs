//! Live updates as Server-Sent Events: every event a signed-in user may see, replayed from a
//! position and then live; a single-use ticket for browsers; and a customer's progress.
//!
//! A stream is a task of its own feeding a bounded channel: when the client reads too slowly
//! to keep up, or the hub's backlog overtakes it, the stream ends and the client resumes from
//! its last `id`, so nothing is buffered without bound and nothing is lost.

use super::{
    AppState, Tag,
    dto::{ProgressBody, Status},
};
use crate::{
    auth::{Credential, Session, StaffAuth, StreamAuth},
    error::ApiError,
    limits::StreamSlot,
    live::{Follower, Hub, Message},
};
use chrono::{DateTime, Utc};
use crm_core::{CoreError, Crm, Event, Store, TicketProgress, UserId};
use futures_util::stream::{self, BoxStream, StreamExt};
use poem_openapi::{
    Object, OpenApi,
    param::{Header, Path, Query},
    payload::{EventStream, Json},
};
use std::{sync::Arc, time::Duration};
use tokio::sync::{broadcast, mpsc};

/// How often an idle stream sends a comment line, so proxies keep it open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Messages a stream may have waiting for its client before it is ended as too slow.
pub const STREAM_BUFFER: usize = 256;
/// How often a stream checks that its session is still valid without being told.
const SESSION_CHECK_EVERY: Duration = Duration::from_secs(15);

/// One event as a stream sends it (the SSE `id` is `seq`, the `event` is `kind`).
#[derive(Object, Debug, Clone)]
pub struct StreamEventBody {
    /// Position in the global order; resume after it with `Last-Event-ID` or `?since=`.
    pub seq: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// `submitted`, `assigned`, `released`, `status_changed`, `viewed`, `edited`,
    /// `message_added`, `attachment_added`, `attachment_removed`, `stage_changed`,
    /// `quote_sent` or `quote_decided`.
    pub kind: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who did it (null for a customer's submission or an automatic assignment).
    pub actor_id: Option<i64>,
    /// The worker assigned or released.
    pub worker_id: Option<i64>,
    /// Status before a status change or release.
    pub from_status: Option<Status>,
    /// Status after a status change or release.
    pub to_status: Option<Status>,
    /// The ticket's status after the event.
    pub status: Status,
    /// What an `edited` event changed (null for other kinds).
    pub changes: Option<Vec<super::dto::ChangeBody>>,
    /// For events about a message or a file: `internal` or `customer`.
    pub visibility: Option<super::dto::AudienceBody>,
    /// For `message_added`: the message.
    pub message_id: Option<i64>,
    /// For `attachment_added` and `attachment_removed`: the file.
    pub attachment_id: Option<i64>,
    /// For `quote_sent` and `quote_decided`: the quote version.
    pub quote_id: Option<i64>,
    /// For a stage move: the stage left (null for none).
    pub from_stage: Option<super::dto::StageRefBody>,
    /// For a stage move: the stage entered (null for none).
    pub to_stage: Option<super::dto::StageRefBody>,
}

impl From<&Event> for StreamEventBody {
    fn from(e: &Event) -> Self {
        Self {
            seq: e.seq,
            ticket_id: e.ticket_id.0,
            kind: e.kind.as_str().to_owned(),
            at: e.at,
            actor_id: e.actor_id.map(UserId::get),
            worker_id: e.worker_id.map(UserId::get),
            from_status: e.from_status.map(Into::into),
            to_status: e.to_status.map(Into::into),
            status: e.status.into(),
            changes: super::dto::changes_of(e),
            from_stage: super::dto::stage_side(e, |c| &c.from),
            to_stage: super::dto::stage_side(e, |c| &c.to),
            visibility: e.visibility.map(Into::into),
            message_id: e
                .item_id
                .filter(|_| e.kind == crm_core::EventKind::MessageAdded),
            attachment_id: e.item_id.filter(|_| {
                matches!(
                    e.kind,
                    crm_core::EventKind::AttachmentAdded | crm_core::EventKind::AttachmentRemoved
                )
            }),
            quote_id: e.item_id.filter(|_| {
                matches!(
                    e.kind,
                    crm_core::EventKind::QuoteSent | crm_core::EventKind::QuoteDecided
                )
            }),
        }
    }
}

/// A customer's progress as its stream sends it.
#[derive(Object, Debug)]
pub struct ProgressEventBody {
    /// The position of the latest event of the request.
    pub seq: i64,
    /// The progress after it.
    pub progress: ProgressBody,
}

type Events = EventStream<BoxStream<'static, StreamEventBody>>;
type Progress = EventStream<BoxStream<'static, ProgressEventBody>>;

fn sse<T: Send + 'static>(rx: mpsc::Receiver<T>) -> BoxStream<'static, T> {
    stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) }).boxed()
}

/// Live updates.
pub struct EventsApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Events")]
impl<S: Store> EventsApi<S> {
    /// A stream ticket
    ///
    /// A single-use ticket, valid for 60 s, to open `GET /events?ticket=` from a browser
    /// (an `EventSource` cannot send `Authorization`). It stands for the token it was asked
    /// with: signing that token out ends the stream too. (An API key opens the stream with
    /// `Authorization` itself.)
    #[oai(path = "/events/ticket", method = "post")]
    async fn ticket(&self, auth: StaffAuth) -> Result<Json<StreamTicketBody>, ApiError> {
        Ok(Json(
            self.0.tokens.issue_stream_ticket(auth.0.token()?).into(),
        ))
    }

    /// Live events
    ///
    /// Every event the signed-in user may see, as it happens: admins all, a worker the events
    /// of tickets assigned to it, including the moment one is assigned to it or taken away.
    /// With `Last-Event-ID` or `?since=`, first every later event from that position, then
    /// live, without gap or repeat. A comment line every 15 s keeps it open. It ends when the
    /// token expires, or its user is deleted, changes password or signs out.
    #[oai(path = "/events", method = "get")]
    async fn events(
        &self,
        req: &poem::Request,
        auth: StreamAuth,
        /// Resume after this position (as `Last-Event-ID`).
        since: Query<Option<i64>>,
        /// Resume after this position (sent by `EventSource` on reconnect).
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
    ) -> Result<Events, ApiError> {
        let session = auth.into_session();
        let bad_position = || {
            ApiError::from(CoreError::Validation(
                crm_core::input::ValidationErrors::one(
                    "Last-Event-ID",
                    "A position is a whole number.",
                ),
            ))
        };
        // The raw header decides: one that is present but not a number is refused, never
        // read as absent (poem would take bytes it cannot read as no header).
        let raw = req.headers().get("last-event-id").map(|v| v.to_str());
        let header = match raw {
            None => last_event_id.0,
            Some(Ok(text)) => Some(text.to_owned()),
            Some(Err(_)) => return Err(bad_position()),
        };
        let since = match (header.as_deref().map(str::trim), since.0) {
            (Some(id), _) if !id.is_empty() => Some(id.parse::<i64>().map_err(|_| bad_position())?),
            (_, s) => s,
        };
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let (live, live_from) = self.0.hub.subscribe();
        let mut replay = Replay {
            sent: since.unwrap_or(live_from).max(0),
            upto: live_from,
        };
        // The first page before answering, so a store failure is an answer, not a silent
        // stream; the rest is read page by page inside the stream.
        let first = replay.page(&self.0.crm, &session).await?;
        tokio::spawn(pump(
            self.0.crm.clone(),
            self.0.hub.clone(),
            session,
            live,
            replay,
            first,
            tx,
        ));
        Ok(EventStream::new(sse(rx))
            .keep_alive(KEEP_ALIVE)
            .to_event(|e: StreamEventBody| {
                poem::web::sse::Event::message(
                    serde_json::to_string(&poem_openapi::types::ToJSON::to_json(&e))
                        .unwrap_or_default(),
                )
                .id(e.seq.to_string())
                .event_type(e.kind.clone())
            }))
    }

    /// Follow a request live
    ///
    /// The progress of the request holding this code, now and each time it changes, with no
    /// staff data. The same framing as `GET /events`. One address may hold
    /// `PUBLIC_STREAMS_PER_ADDRESS` of them open at once (429 `rate_limited` beyond).
    #[oai(
        path = "/public/tickets/:tracking_code/events",
        method = "get",
        tag = "Tag::Public"
    )]
    async fn progress(
        &self,
        req: &poem::Request,
        tracking_code: Path<String>,
    ) -> Result<Progress, ApiError> {
        let ip = crate::request_meta::client_ip(req, &self.0.trusted_proxies);
        let slot = self.0.limits.public_streams.open(ip)?;
        let code = tracking_code.0;
        let ticket = self.0.crm.track(&code).await?.id;
        // Follow first, then read: every change after the read arrives, none is missed.
        let follower = self.0.hub.follow(ticket);
        let (_, live_from) = self.0.hub.subscribe();
        let now = self.0.crm.track(&code).await?;
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(pump_progress(
            self.0.hub.clone(),
            now,
            live_from,
            follower,
            slot,
            tx,
        ));
        Ok(EventStream::new(sse(rx))
            .keep_alive(KEEP_ALIVE)
            .to_event(|p: ProgressEventBody| {
                poem::web::sse::Event::message(
                    serde_json::to_string(&poem_openapi::types::ToJSON::to_json(&p))
                        .unwrap_or_default(),
                )
                .id(p.seq.to_string())
                .event_type("progress")
            }))
    }
}

/// A stream ticket and how long it is good for.
#[derive(Object, Debug)]
pub struct StreamTicketBody {
    /// Pass as `GET /events?ticket=`; good once, for `expires_in` seconds.
    pub ticket: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

impl From<crate::auth::IssuedToken> for StreamTicketBody {
    fn from(t: crate::auth::IssuedToken) -> Self {
        Self {
            ticket: t.token,
            expires_in: t.expires_in,
        }
    }
}

/// Where a stream's replay from the store stands: it has sent everything up to `sent`, and
/// reads until `upto`, the hub's position when the stream (re)subscribed; what follows
/// `upto` comes from the hub.
struct Replay {
    sent: i64,
    upto: i64,
}

impl Replay {
    fn done(&self) -> bool {
        self.sent >= self.upto
    }

    /// The next page (at most [`crate::live::BATCH`] events) of what the session may see
    /// after `sent` up to `upto`; when the store has no more of them, the replay is done.
    async fn page<S: Store>(
        &mut self,
        crm: &Crm<S>,
        session: &Session,
    ) -> Result<Vec<StreamEventBody>, ApiError> {
        if self.done() {
            return Ok(Vec::new());
        }
        let batch = crm
            .events_after(&session.actor, self.sent, crate::live::BATCH)
            .await?;
        let full = batch.len() == crate::live::BATCH as usize;
        let page: Vec<StreamEventBody> = batch
            .iter()
            .take_while(|e| e.seq <= self.upto)
            .map(StreamEventBody::from)
            .collect();
        match page.last() {
            Some(last) if full && page.len() == batch.len() => self.sent = last.seq,
            // Fewer than a page, or past `upto`: nothing it may see is left before `upto`.
            _ => self.sent = self.upto,
        }
        Ok(page)
    }
}

/// Feeds one staff stream: the replay, page by page, then live events it may see, until its
/// session ends, the client goes away, or the server shuts down. Memory stays bounded: a
/// page at a time, each waiting for the client to take it. A stream that falls behind the
/// hub's backlog replays again from the store, so it never skips an event.
async fn pump<S: Store>(
    crm: Crm<S>,
    hub: Arc<Hub>,
    session: Session,
    live: broadcast::Receiver<Message>,
    replay: Replay,
    first: Vec<StreamEventBody>,
    tx: mpsc::Sender<StreamEventBody>,
) {
    let _open = hub.open_stream();
    // A key that never expires keeps its stream until revoked (a year stands for never).
    let until_expiry = match session.expires_at() {
        Some(at) => {
            let expires = DateTime::from_timestamp(at, 0).unwrap_or_else(Utc::now);
            (expires - Utc::now()).to_std().unwrap_or_default()
        }
        None => std::time::Duration::from_secs(365 * 24 * 3600),
    };
    let mut s = Stream {
        crm,
        session,
        live,
        replay,
        tx,
        expiry: Box::pin(tokio::time::sleep(until_expiry)),
        closing: hub.closing(),
    };
    let mut page = first;
    loop {
        if !s.send_replay(page).await {
            return;
        }
        if !s.follow_live().await {
            return;
        }
        // Behind the hub's backlog: subscribe again and read what was missed from the store.
        let (again, upto) = hub.subscribe();
        s.live = again;
        s.replay.upto = upto;
        page = Vec::new();
    }
}

/// One staff stream's state while it is fed.
struct Stream<S> {
    crm: Crm<S>,
    session: Session,
    live: broadcast::Receiver<Message>,
    replay: Replay,
    tx: mpsc::Sender<StreamEventBody>,
    expiry: std::pin::Pin<Box<tokio::time::Sleep>>,
    closing: tokio::sync::watch::Receiver<bool>,
}

impl<S: Store> Stream<S> {
    /// Sends `page`, then the rest of the replay a page at a time, each once the client took
    /// the one before. False when the stream is over.
    async fn send_replay(&mut self, mut page: Vec<StreamEventBody>) -> bool {
        loop {
            for e in page.drain(..) {
                tokio::select! {
                    () = &mut self.expiry => return false,
                    _ = self.closing.changed() => return false,
                    sent = self.tx.send(e) => if sent.is_err() { return false },
                }
            }
            if self.replay.done() {
                return true;
            }
            page = match self.replay.page(&self.crm, &self.session).await {
                Ok(p) => p,
                // The store is away: end; the client resumes from its last event.
                Err(_) => return false,
            };
        }
    }

    /// Sends live events the session may see until the stream is over (false) or it fell
    /// behind the hub's backlog (true: replay again).
    async fn follow_live(&mut self) -> bool {
        let mut check = tokio::time::interval(SESSION_CHECK_EVERY);
        check.tick().await;
        let visibility = self.session.actor.visibility();
        loop {
            tokio::select! {
                () = &mut self.expiry => return false,
                _ = self.closing.changed() => return false,
                () = self.tx.closed() => return false,
                _ = check.tick() => {
                    if !still_valid(&self.crm, &self.session).await {
                        return false;
                    }
                }
                msg = self.live.recv() => match msg {
                    Ok(Message::Event(e)) => {
                        if e.seq <= self.replay.sent || !visibility.sees_event(&e) {
                            continue;
                        }
                        self.replay.sent = e.seq;
                        // A client that cannot take what is sent is ended; it resumes from
                        // its last event.
                        if self.tx.try_send(StreamEventBody::from(e.as_ref())).is_err() {
                            return false;
                        }
                    }
                    Ok(Message::Account(user)) if user != self.session.actor.id => {}
                    Ok(Message::Account(_) | Message::Recheck) => {
                        if !still_valid(&self.crm, &self.session).await {
                            return false;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => return true,
                    Err(broadcast::error::RecvError::Closed) => return false,
                },
            }
        }
    }
}

async fn still_valid<S: Store>(crm: &Crm<S>, s: &Session) -> bool {
    let now = match &s.credential {
        Credential::Token(t) => crm
            .session(t.user, t.session_key, &t.token_id)
            .await
            .map(|_| ()),
        Credential::Key { key, .. } => crm.key_session(key.expose()).await.map(|_| ()),
    };
    match now {
        Ok(_) => true,
        Err(CoreError::Unauthenticated) => false,
        // The store is away: keep the stream; the next check decides.
        Err(_) => true,
    }
}

/// Feeds one customer's progress stream: only its own ticket's events reach it.
async fn pump_progress(
    hub: Arc<Hub>,
    now: TicketProgress,
    live_from: i64,
    mut follower: Follower,
    _slot: StreamSlot,
    tx: mpsc::Sender<ProgressEventBody>,
) {
    let _open = hub.open_stream();
    let mut last = now.clone();
    if tx
        .send(ProgressEventBody {
            seq: live_from,
            progress: now.into(),
        })
        .await
        .is_err()
    {
        return;
    }
    let mut closing = hub.closing();
    loop {
        tokio::select! {
            _ = closing.changed() => return,
            () = tx.closed() => return,
            e = follower.events.recv() => match e {
                Some(e) => {
                    let p = last.after(&e);
                    if p == last {
                        continue;
                    }
                    last = p.clone();
                    if tx.try_send(ProgressEventBody { seq: e.seq, progress: p.into() }).is_err() {
                        return;
                    }
                }
                // Too slow for the hub: end; the client reconnects to the current progress.
                None => return,
            },
        }
    }
}
