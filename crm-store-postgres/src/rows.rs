//! Named row structs for every query's result, and their conversions into core types. A
//! stored value the core cannot read (an unknown status, say) is a [`StoreError::Backend`].

use chrono::{DateTime, Utc};
use crm_core::{
    Client, ClientId, Device, Event, EventId, EventKind, Priority, Role, SessionKey, StoreError,
    Ticket, TicketId, TicketProgress, TicketStatus, TrackingCode, User, UserId,
};
use sqlx::FromRow;

/// The staff view of a ticket joined with its client (`tickets t JOIN clients c`): every
/// ticket query selects exactly these columns into a [`TicketRow`].
pub(crate) const TICKET_COLUMNS: &str = "t.id, t.title, t.description, t.status, t.viewed, \
    t.worker_id, t.created_at, t.updated_at, t.assigned_at, t.in_progress_at, t.done_at, \
    t.requester_ip, t.requester_ua, t.tracking_code, t.device, t.priority, t.due_at, t.awaiting_reply, \
    t.stage_id, (SELECT s.name FROM stages s WHERE s.id = t.stage_id) AS stage_name, \
    t.quote_id, t.quote_state, t.quote_expires_at, \
    c.id AS client_id, c.name AS client_name, c.email AS client_email, c.phone AS client_phone, \
    c.created_at AS client_created_at";

/// The columns of a [`UserRow`].
pub(crate) const USER_COLUMNS: &str = "id, username, role, created_at, active, password_hash, \
    session_key, must_change_password, available, totp_secret IS NOT NULL AS totp_enabled";

/// A cursor's key (microseconds) as a time PostgreSQL accepts: clamped to the years 1-9999,
/// which every stored time is within, so a forged cursor orders the same and never errors.
pub(crate) fn cursor_time(key: i64) -> DateTime<Utc> {
    const FIRST: i64 = -62_135_596_800_000_000; // 0001-01-01T00:00:00Z
    const LAST: i64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999Z
    DateTime::<Utc>::from_timestamp_micros(key.clamp(FIRST, LAST)).unwrap_or_default()
}

pub(crate) fn status(s: &str) -> Result<TicketStatus, StoreError> {
    s.parse().map_err(|e: String| StoreError::Backend(e.into()))
}

fn role(s: &str) -> Result<Role, StoreError> {
    s.parse().map_err(|e: String| StoreError::Backend(e.into()))
}

/// Also the shape of an outbox row's `snapshot` (the same columns as JSON), so a delivery
/// reads the ticket exactly as the event's statement left it.
#[derive(FromRow, serde::Deserialize)]
pub(crate) struct TicketRow {
    id: i64,
    title: String,
    description: String,
    status: String,
    viewed: bool,
    worker_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    assigned_at: Option<DateTime<Utc>>,
    in_progress_at: Option<DateTime<Utc>>,
    done_at: Option<DateTime<Utc>>,
    requester_ip: Option<String>,
    requester_ua: Option<String>,
    tracking_code: String,
    client_id: i64,
    client_name: String,
    client_email: String,
    client_phone: Option<String>,
    client_created_at: DateTime<Utc>,
    /// Selected only by the reads made for someone ([`NEW_TO_ME`]).
    #[sqlx(default)]
    #[serde(default)]
    new_to_me: bool,
    // Snapshots written before the columns existed lack these.
    #[serde(default)]
    device: Option<sqlx::types::Json<Device>>,
    #[serde(default = "normal")]
    priority: String,
    #[serde(default)]
    due_at: Option<DateTime<Utc>>,
    #[serde(default)]
    awaiting_reply: bool,
    #[serde(default)]
    stage_id: Option<i64>,
    #[serde(default)]
    stage_name: Option<String>,
    #[serde(default)]
    quote_id: Option<i64>,
    #[serde(default)]
    quote_state: Option<String>,
    #[serde(default)]
    quote_expires_at: Option<DateTime<Utc>>,
}

fn normal() -> String {
    Priority::Normal.as_str().to_owned()
}

pub(crate) fn priority(s: &str) -> Result<Priority, StoreError> {
    Priority::parse(s).ok_or_else(|| StoreError::Backend(format!("unknown priority {s}").into()))
}

/// The `new_to_me` column of a read for the user bound as `$viewer` (a parameter the caller
/// pushes right after this text): true when that user has never opened the ticket.
pub(crate) const NEW_TO_ME: &str =
    "NOT EXISTS (SELECT 1 FROM ticket_views v WHERE v.ticket_id = t.id AND v.user_id = ";

impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;
    fn try_from(r: TicketRow) -> Result<Self, StoreError> {
        Ok(Ticket {
            id: TicketId(r.id),
            title: r.title,
            description: r.description,
            status: status(&r.status)?,
            viewed: r.viewed,
            client: Client {
                id: ClientId(r.client_id),
                name: r.client_name,
                email: r.client_email,
                phone: r.client_phone,
                created_at: r.client_created_at,
            },
            worker_id: r.worker_id.map(UserId),
            created_at: r.created_at,
            updated_at: r.updated_at,
            assigned_at: r.assigned_at,
            in_progress_at: r.in_progress_at,
            done_at: r.done_at,
            requester_ip: r.requester_ip,
            requester_ua: r.requester_ua,
            tracking_code: TrackingCode::from_stored(r.tracking_code),
            new_to_me: r.new_to_me,
            device: r.device.map(|d| d.0),
            priority: priority(&r.priority)?,
            due_at: r.due_at,
            awaiting_reply: r.awaiting_reply,
            stage: r
                .stage_id
                .zip(r.stage_name)
                .map(|(id, name)| crm_core::StageRef {
                    id: crm_core::StageId(id),
                    name,
                }),
            quote: match (r.quote_id, r.quote_state.as_deref()) {
                (Some(id), Some(state)) => Some(crm_core::TicketQuote {
                    id: crm_core::QuoteId(id),
                    state: crate::quotes::quote_state(state)?,
                    expires_at: r.quote_expires_at,
                }),
                _ => None,
            },
        })
    }
}

/// A client as stored.
#[derive(FromRow)]
pub(crate) struct ClientRow {
    pub(crate) id: i64,
    name: String,
    email: String,
    phone: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<ClientRow> for Client {
    fn from(r: ClientRow) -> Self {
        Client {
            id: ClientId(r.id),
            name: r.name,
            email: r.email,
            phone: r.phone,
            created_at: r.created_at,
        }
    }
}

/// The columns of an [`EventRow`], of `ticket_events e` joined (or left joined) with its
/// position `event_positions p` (0 while it has none).
pub(crate) const EVENT_COLUMNS: &str = "e.id, coalesce(p.seq, 0) AS seq, e.ticket_id, e.at, \
    e.kind, e.actor_id, e.worker_id, e.from_status, e.to_status, e.status, e.ticket_worker, \
    e.prev_worker, e.changes, e.visibility, e.item_id";

#[derive(FromRow)]
pub(crate) struct EventRow {
    id: i64,
    seq: i64,
    ticket_id: i64,
    at: DateTime<Utc>,
    kind: String,
    actor_id: Option<i64>,
    worker_id: Option<i64>,
    from_status: Option<String>,
    to_status: Option<String>,
    status: String,
    ticket_worker: Option<i64>,
    prev_worker: Option<i64>,
    changes: Option<sqlx::types::Json<Vec<crm_core::FieldChange>>>,
    visibility: Option<String>,
    item_id: Option<i64>,
}

/// A stored audience name.
pub(crate) fn audience(s: &str) -> Result<crm_core::Audience, StoreError> {
    crm_core::Audience::parse(s)
        .ok_or_else(|| StoreError::Backend(format!("unknown visibility {s}").into()))
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        Ok(Event {
            id: EventId(r.id),
            seq: r.seq,
            ticket_id: TicketId(r.ticket_id),
            at: r.at,
            kind: EventKind::parse(&r.kind).ok_or_else(|| {
                StoreError::Backend(format!("unknown event kind {}", r.kind).into())
            })?,
            actor_id: r.actor_id.map(UserId),
            worker_id: r.worker_id.map(UserId),
            from_status: r.from_status.as_deref().map(status).transpose()?,
            to_status: r.to_status.as_deref().map(status).transpose()?,
            status: status(&r.status)?,
            ticket_worker: r.ticket_worker.map(UserId),
            prev_worker: r.prev_worker.map(UserId),
            changes: r.changes.map(|c| c.0).unwrap_or_default(),
            visibility: r.visibility.as_deref().map(audience).transpose()?,
            item_id: r.item_id,
        })
    }
}

/// The progress view's columns.
#[derive(FromRow)]
pub(crate) struct ProgressRow {
    id: i64,
    status: String,
    assigned: bool,
    created_at: DateTime<Utc>,
    in_progress_at: Option<DateTime<Utc>>,
    done_at: Option<DateTime<Utc>>,
    device: Option<sqlx::types::Json<Device>>,
    due_at: Option<DateTime<Utc>>,
    messages: i64,
    files: i64,
    stage: Option<String>,
}

impl TryFrom<ProgressRow> for TicketProgress {
    type Error = StoreError;
    fn try_from(r: ProgressRow) -> Result<Self, StoreError> {
        Ok(TicketProgress {
            id: TicketId(r.id),
            status: status(&r.status)?,
            assigned: r.assigned,
            created_at: r.created_at,
            in_progress_at: r.in_progress_at,
            done_at: r.done_at,
            device: r.device.and_then(|d| d.0.public()),
            due_at: r.due_at,
            messages: u64::try_from(r.messages).unwrap_or(0),
            files: u64::try_from(r.files).unwrap_or(0),
            stage: r.stage,
        })
    }
}

/// Counter sums of one status.
#[derive(FromRow)]
pub(crate) struct StatRow {
    pub(crate) status: String,
    pub(crate) n: i64,
    pub(crate) resolution_micros: f64,
}

#[derive(FromRow)]
pub(crate) struct UserRow {
    id: i64,
    username: String,
    role: String,
    created_at: DateTime<Utc>,
    pub(crate) active: bool,
    pub(crate) password_hash: String,
    session_key: i64,
    must_change_password: bool,
    available: bool,
    totp_enabled: bool,
}

impl UserRow {
    pub(crate) fn user(&self) -> Result<User, StoreError> {
        Ok(User {
            id: UserId(self.id),
            username: self.username.clone(),
            role: role(&self.role)?,
            created_at: self.created_at,
            session_key: SessionKey(self.session_key),
            must_change_password: self.must_change_password,
            available: self.available,
            totp_enabled: self.totp_enabled,
        })
    }
}

/// A username's sign-in throttle.
#[derive(FromRow)]
pub(crate) struct ThrottleRow {
    failures: i32,
    last_failure: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
}

impl From<ThrottleRow> for crm_core::ThrottleState {
    fn from(r: ThrottleRow) -> Self {
        Self {
            failures: r.failures.max(0) as u32,
            last_failure: r.last_failure,
            locked_until: r.locked_until,
        }
    }
}

/// One account event.
#[derive(FromRow)]
pub(crate) struct AccountEventRow {
    id: i64,
    user_id: i64,
    at: DateTime<Utc>,
    kind: String,
    actor_id: Option<i64>,
}

impl TryFrom<AccountEventRow> for crm_core::AccountEvent {
    type Error = StoreError;
    fn try_from(r: AccountEventRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            user_id: UserId(r.user_id),
            at: r.at,
            kind: crm_core::AccountEventKind::parse(&r.kind).ok_or_else(|| {
                StoreError::Backend(format!("unknown account event kind {}", r.kind).into())
            })?,
            actor_id: r.actor_id.map(UserId),
        })
    }
}
