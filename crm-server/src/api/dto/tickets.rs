//! Ticket bodies: submissions, the staff and public views, history and statistics.

use super::{
    Status, Text,
    device::{DeviceBody, DeviceKindBody, DeviceRequest, PriorityBody, PublicDeviceBody},
};
use chrono::{DateTime, Utc};
use crm_core::{Client, Event, Stats, Ticket, TicketProgress, UserId};
use poem_openapi::{
    Enum, Object,
    types::{Example, MaybeUndefined},
};

/// The customer of a request.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct ClientRequest {
    /// Name, 1-100 characters.
    pub name: Text,
    /// E-mail: identifies the customer (case-insensitive).
    pub email: Text,
    /// Optional phone: 5-32 characters of digits, spaces and `+ - ( ) .`.
    pub phone: Option<Text>,
}

impl Example for ClientRequest {
    fn example() -> Self {
        Self {
            name: "John Doe".into(),
            email: "john@example.com".into(),
            phone: Some("+1234567890".into()),
        }
    }
}

/// A customer's repair request.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct SubmitRequest {
    /// What is broken, 1-200 characters.
    pub title: Text,
    /// The fault, 1-5000 characters.
    pub description: Text,
    /// Who asks.
    pub client: ClientRequest,
    /// The device, when the customer says what it is.
    pub device: Option<DeviceRequest>,
}

/// The core's request from what both intake paths share.
fn submission(
    title: Text,
    description: Text,
    client: ClientRequest,
    device: Option<DeviceRequest>,
    requester_ip: Option<String>,
    requester_ua: Option<String>,
) -> crm_core::SubmitTicket {
    crm_core::SubmitTicket {
        title: title.into(),
        description: description.into(),
        client_name: client.name.into(),
        client_email: client.email.into(),
        client_phone: client.phone.map(Into::into),
        requester_ip,
        requester_ua,
        device: device.map(Into::into),
    }
}

impl SubmitRequest {
    /// The core's submission, with what the transport knows of the requester.
    pub fn into_submission(
        self,
        requester_ip: Option<String>,
        requester_ua: Option<String>,
    ) -> crm_core::SubmitTicket {
        submission(
            self.title,
            self.description,
            self.client,
            self.device,
            requester_ip,
            requester_ua,
        )
    }
}

impl Example for SubmitRequest {
    fn example() -> Self {
        Self {
            title: "Broken laptop screen".into(),
            description: "Screen flickers and has dead pixels".into(),
            client: ClientRequest::example(),
            device: Some(DeviceRequest {
                kind: Some(DeviceKindBody::Laptop),
                brand: Some("Lenovo".into()),
                ..Default::default()
            }),
        }
    }
}

/// A request taken in at the counter: a customer's fields, the device, and what only the
/// shop sets.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct IntakeRequest {
    /// What is broken, 1-200 characters.
    pub title: Text,
    /// The fault, 1-5000 characters.
    pub description: Text,
    /// The customer (found by e-mail; a new one is created).
    pub client: ClientRequest,
    /// The device left for repair.
    pub device: Option<DeviceRequest>,
    /// How urgent; `normal` when not given.
    pub priority: Option<PriorityBody>,
    /// When it is promised to the customer (RFC 3339).
    pub due_at: Option<DateTime<Utc>>,
    /// The worker it goes to. An admin may name any active worker (without one, automatic
    /// assignment applies); a worker's intake is its own and may name only itself.
    pub worker_id: Option<i64>,
}

impl IntakeRequest {
    /// The core's intake, with what the transport knows of the staff member's connection.
    pub fn into_intake(
        self,
        requester_ip: Option<String>,
        requester_ua: Option<String>,
    ) -> crm_core::IntakeTicket {
        crm_core::IntakeTicket {
            request: submission(
                self.title,
                self.description,
                self.client,
                self.device,
                requester_ip,
                requester_ua,
            ),
            priority: self.priority.map(Into::into),
            due_at: self.due_at,
            worker_id: self.worker_id.map(UserId),
        }
    }
}

impl Example for IntakeRequest {
    fn example() -> Self {
        Self {
            title: "Cracked screen".into(),
            description: "Dropped it; the touch works in the lower half only".into(),
            client: ClientRequest::example(),
            device: Some(DeviceRequest::example()),
            priority: Some(PriorityBody::High),
            due_at: None,
            worker_id: None,
        }
    }
}

/// The device part of an edit: each field left out stays, `null` clears it, a value
/// replaces it.
#[derive(Object, Debug, Default)]
#[oai(deny_unknown_fields)]
pub struct DevicePatchRequest {
    /// What sort of device.
    pub kind: MaybeUndefined<DeviceKindBody>,
    /// Maker, 1-64 characters.
    pub brand: MaybeUndefined<Text>,
    /// Model, 1-64 characters.
    pub model: MaybeUndefined<Text>,
    /// IMEI or serial number: 1-64 letters, digits, `-`, `/` and spaces.
    pub serial: MaybeUndefined<Text>,
    /// Condition at intake, 1-1000 characters.
    pub condition: MaybeUndefined<Text>,
    /// Accessories left with it, 1-500 characters.
    pub accessories: MaybeUndefined<Text>,
}

fn required(v: MaybeUndefined<Text>) -> Option<String> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(String::new()),
        MaybeUndefined::Value(t) => Some(t.into()),
    }
}

fn patch<T, U>(v: MaybeUndefined<T>, f: impl FnOnce(T) -> U) -> crm_core::Patch<U> {
    match v {
        MaybeUndefined::Undefined => crm_core::Patch::Keep,
        MaybeUndefined::Null => crm_core::Patch::Clear,
        MaybeUndefined::Value(v) => crm_core::Patch::Set(f(v)),
    }
}

/// A correction of a ticket, as a JSON merge patch: a field left out stays, `null` clears an
/// optional one (`device`, `due_at`; `priority` goes back to `normal`), a value replaces it.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct EditRequest {
    /// What is broken, 1-200 characters (it cannot be cleared).
    pub title: MaybeUndefined<Text>,
    /// The fault, 1-5000 characters (it cannot be cleared).
    pub description: MaybeUndefined<Text>,
    /// The device, patched field by field (`null`: no device).
    pub device: MaybeUndefined<DevicePatchRequest>,
    /// How urgent.
    pub priority: MaybeUndefined<PriorityBody>,
    /// When it is promised (RFC 3339; `null`: not promised).
    pub due_at: MaybeUndefined<DateTime<Utc>>,
}

impl Example for EditRequest {
    fn example() -> Self {
        Self {
            title: MaybeUndefined::Undefined,
            description: MaybeUndefined::Undefined,
            device: MaybeUndefined::Value(DevicePatchRequest {
                serial: MaybeUndefined::Value("PF-2X917".into()),
                ..Default::default()
            }),
            priority: MaybeUndefined::Value(PriorityBody::High),
            due_at: MaybeUndefined::Undefined,
        }
    }
}

impl From<EditRequest> for crm_core::EditTicket {
    fn from(r: EditRequest) -> Self {
        Self {
            // `null` would clear a required text: the core refuses it as empty.
            title: required(r.title),
            description: required(r.description),
            device: patch(r.device, |d| crm_core::DevicePatch {
                kind: patch(d.kind, Into::into),
                brand: patch(d.brand, Into::into),
                model: patch(d.model, Into::into),
                serial: patch(d.serial, Into::into),
                condition: patch(d.condition, Into::into),
                accessories: patch(d.accessories, Into::into),
            }),
            priority: patch(r.priority, Into::into),
            due_at: patch(r.due_at, |d| d),
        }
    }
}

/// Assign a ticket.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct AssignRequest {
    /// An active worker's id.
    pub worker_id: i64,
}

impl Example for AssignRequest {
    fn example() -> Self {
        Self { worker_id: 2 }
    }
}

/// Move a ticket.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct StatusRequest {
    /// The status to move to.
    pub new_status: Status,
    /// A stage of the new status to enter with the step; without one the ticket leaves its
    /// stage.
    pub stage_id: Option<i64>,
}

impl Example for StatusRequest {
    fn example() -> Self {
        Self {
            new_status: Status::InProgress,
            stage_id: Some(1),
        }
    }
}

/// What a customer gets back: their request, its number and the secret tracking code. Stored
/// client data and requester data are never echoed to an anonymous caller.
#[derive(Object, Debug)]
pub struct SubmittedTicket {
    /// The request number.
    pub id: i64,
    /// What is broken.
    pub title: String,
    /// The fault.
    pub description: String,
    /// Always `new`.
    pub status: Status,
    /// Submission time.
    pub created_at: DateTime<Utc>,
    /// Keep it: `GET /public/tickets/{tracking_code}` shows the progress. Shown only once.
    pub tracking_code: String,
}

impl From<Ticket> for SubmittedTicket {
    fn from(t: Ticket) -> Self {
        Self {
            id: t.id.0,
            title: t.title,
            description: t.description,
            status: t.status.into(),
            created_at: t.created_at,
            tracking_code: t.tracking_code.as_str().to_owned(),
        }
    }
}

/// A request's progress, for whoever holds its tracking code.
#[derive(Object, Debug)]
pub struct ProgressBody {
    /// The request number.
    pub id: i64,
    /// Where it stands.
    pub status: Status,
    /// Whether a worker has been assigned.
    pub assigned: bool,
    /// Submission time.
    pub created_at: DateTime<Utc>,
    /// When work started.
    pub in_progress_at: Option<DateTime<Utc>>,
    /// When work finished.
    pub done_at: Option<DateTime<Utc>>,
    /// What the device is (never its serial, condition or accessories).
    pub device: Option<PublicDeviceBody>,
    /// When it was promised.
    pub due_at: Option<DateTime<Utc>>,
    /// Messages exchanged with the shop (`GET .../messages` reads them): a stream follower
    /// sees the count grow.
    pub messages: u64,
    /// Files the customer can download (`GET .../attachments` lists them): a stream
    /// follower sees the count change.
    pub files: u64,
    /// The name of the stage it is in ("Waiting for parts"), if any.
    pub stage: Option<String>,
}

impl From<TicketProgress> for ProgressBody {
    fn from(p: TicketProgress) -> Self {
        Self {
            id: p.id.0,
            status: p.status.into(),
            assigned: p.assigned,
            created_at: p.created_at,
            in_progress_at: p.in_progress_at,
            done_at: p.done_at,
            device: p.device.map(Into::into),
            due_at: p.due_at,
            messages: p.messages,
            files: p.files,
            stage: p.stage,
        }
    }
}

/// A customer as staff see them.
#[derive(Object, Debug)]
pub struct ClientBody {
    /// Identity.
    pub id: i64,
    /// Name from the first request.
    pub name: String,
    /// E-mail from the first request.
    pub email: String,
    /// Phone from the first request.
    pub phone: Option<String>,
    /// First request time.
    pub created_at: DateTime<Utc>,
}

impl From<Client> for ClientBody {
    fn from(c: Client) -> Self {
        Self {
            id: c.id.0,
            name: c.name,
            email: c.email,
            phone: c.phone,
            created_at: c.created_at,
        }
    }
}

/// A repair request as staff see it.
#[derive(Object, Debug)]
pub struct TicketBody {
    /// Identity.
    pub id: i64,
    /// What is broken.
    pub title: String,
    /// The fault.
    pub description: String,
    /// Where it stands.
    pub status: Status,
    /// Whether staff have opened it.
    pub viewed: bool,
    /// Who asked.
    pub client: ClientBody,
    /// The client's id (also inside `client`).
    pub client_id: i64,
    /// Who is on it.
    pub worker_id: Option<i64>,
    /// Submission time.
    pub created_at: DateTime<Utc>,
    /// Latest change.
    pub updated_at: DateTime<Utc>,
    /// Latest assignment.
    pub assigned_at: Option<DateTime<Utc>>,
    /// Work started.
    pub in_progress_at: Option<DateTime<Utc>>,
    /// Work finished.
    pub done_at: Option<DateTime<Utc>>,
    /// Address the request came from.
    pub requester_ip: Option<String>,
    /// User-Agent it came with.
    pub requester_ua: Option<String>,
    /// The customer's tracking code.
    pub tracking_code: String,
    /// Whether the signed-in user has never opened it (its own "new to me"; `viewed` says
    /// whether anyone has).
    pub new_to_me: bool,
    /// The device left for repair.
    pub device: Option<DeviceBody>,
    /// How urgent.
    pub priority: PriorityBody,
    /// When it was promised to the customer.
    pub due_at: Option<DateTime<Utc>>,
    /// Whether the newest customer-visible message is the customer's: they wait for an
    /// answer.
    pub awaiting_reply: bool,
    /// Where it stands within its status, if staff said.
    pub stage: Option<super::StageRefBody>,
    /// Its latest sent quote (`state`: `sent`, `expired`, `approved` or `declined`), if one
    /// was sent.
    pub quote: Option<super::TicketQuoteBody>,
}

impl From<Ticket> for TicketBody {
    fn from(t: Ticket) -> Self {
        Self {
            id: t.id.0,
            title: t.title,
            description: t.description,
            status: t.status.into(),
            viewed: t.viewed,
            client_id: t.client.id.0,
            client: t.client.into(),
            worker_id: t.worker_id.map(UserId::get),
            created_at: t.created_at,
            updated_at: t.updated_at,
            assigned_at: t.assigned_at,
            in_progress_at: t.in_progress_at,
            done_at: t.done_at,
            requester_ip: t.requester_ip,
            requester_ua: t.requester_ua,
            tracking_code: t.tracking_code.as_str().to_owned(),
            new_to_me: t.new_to_me,
            device: t.device.map(Into::into),
            priority: t.priority.into(),
            due_at: t.due_at,
            awaiting_reply: t.awaiting_reply,
            stage: t.stage.map(Into::into),
            quote: t.quote.map(Into::into),
        }
    }
}

/// How many tickets the caller's scope holds, by a list's tabs.
#[derive(Object, Debug)]
pub struct TicketCountsBody {
    /// Every ticket (for a worker: its own).
    pub all: u64,
    /// Without a worker (0 for a worker).
    pub unassigned: u64,
    /// `new`.
    pub new: u64,
    /// `in_progress`.
    pub in_progress: u64,
    /// `done`.
    pub done: u64,
    /// `new` or `in_progress`.
    pub open: u64,
}

impl From<crm_core::TicketCounts> for TicketCountsBody {
    fn from(c: crm_core::TicketCounts) -> Self {
        Self {
            all: c.all,
            unassigned: c.unassigned,
            new: c.new,
            in_progress: c.in_progress,
            done: c.done,
            open: c.open,
        }
    }
}

/// The order of a ticket list.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum SortParam {
    /// Newest first (the default).
    Newest,
    /// Oldest first: a queue.
    Oldest,
    /// Soonest due first, those without a due date last, then newest.
    Due,
}

impl From<SortParam> for crm_core::TicketSort {
    fn from(s: SortParam) -> Self {
        match s {
            SortParam::Newest => Self::Newest,
            SortParam::Oldest => Self::Oldest,
            SortParam::Due => Self::Due,
        }
    }
}

/// One history event.
#[derive(Object, Debug)]
pub struct EventBody {
    /// Identity; increases with time.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// `submitted`, `assigned`, `released`, `status_changed`, `viewed`, `edited`,
    /// `message_added`, `attachment_added`, `attachment_removed`, `stage_changed`,
    /// `quote_sent` or `quote_decided`.
    pub kind: String,
    /// Who did it (null for a customer's submission).
    pub actor_id: Option<i64>,
    /// The worker assigned or released.
    pub worker_id: Option<i64>,
    /// Status before.
    pub from_status: Option<Status>,
    /// Status after.
    pub to_status: Option<Status>,
    /// What an `edited` event changed (null for other kinds).
    pub changes: Option<Vec<ChangeBody>>,
    /// For events about a message or a file: `internal` or `customer` (null for other kinds).
    pub visibility: Option<super::AudienceBody>,
    /// For `message_added`: the message.
    pub message_id: Option<i64>,
    /// For `attachment_added` and `attachment_removed`: the file.
    pub attachment_id: Option<i64>,
    /// For `quote_sent` and `quote_decided`: the quote version.
    pub quote_id: Option<i64>,
    /// For `stage_changed` (and a `status_changed` that moved the stage too): the stage
    /// left, null for none; its name as it was then.
    pub from_stage: Option<super::StageRefBody>,
    /// For `stage_changed` (and a `status_changed` that moved the stage too): the stage
    /// entered, null for none.
    pub to_stage: Option<super::StageRefBody>,
}

/// The stage an event's stage change names on one side, as it was then.
pub fn stage_side(
    e: &Event,
    side: fn(&crm_core::FieldChange) -> &serde_json::Value,
) -> Option<super::StageRefBody> {
    let v = side(
        e.changes
            .iter()
            .find(|c| c.field == crm_core::stage::FIELD)?,
    );
    Some(super::StageRefBody {
        id: v.get("id")?.as_i64()?,
        name: v.get("name")?.as_str()?.to_owned(),
    })
}

/// One field an edit changed, with its value before and after (`null` for none).
#[derive(Object, Debug, Clone)]
pub struct ChangeBody {
    /// `title`, `description`, `device`, `priority` or `due_at`.
    pub field: String,
    /// The value before.
    pub from: serde_json::Value,
    /// The value after.
    pub to: serde_json::Value,
}

/// The changes of an event as the API shows them.
pub fn changes_of(e: &Event) -> Option<Vec<ChangeBody>> {
    (e.kind == crm_core::EventKind::Edited).then(|| {
        e.changes
            .iter()
            .map(|c| ChangeBody {
                field: c.field.clone(),
                from: c.from.clone(),
                to: c.to.clone(),
            })
            .collect()
    })
}

impl From<Event> for EventBody {
    fn from(e: Event) -> Self {
        Self {
            id: e.id.0,
            ticket_id: e.ticket_id.0,
            at: e.at,
            kind: e.kind.as_str().to_owned(),
            actor_id: e.actor_id.map(UserId::get),
            worker_id: e.worker_id.map(UserId::get),
            from_status: e.from_status.map(Into::into),
            to_status: e.to_status.map(Into::into),
            changes: changes_of(&e),
            from_stage: stage_side(&e, |c| &c.from),
            to_stage: stage_side(&e, |c| &c.to),
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

/// A ticket's history, oldest first.
#[derive(Object, Debug)]
pub struct HistoryBody {
    /// The events.
    pub items: Vec<EventBody>,
}

impl From<Vec<Event>> for HistoryBody {
    fn from(events: Vec<Event>) -> Self {
        Self {
            items: events.into_iter().map(Into::into).collect(),
        }
    }
}

/// Ticket counts and resolution time.
#[derive(Object, Debug)]
pub struct StatsBody {
    /// The worker, or null for all tickets.
    pub worker_id: Option<i64>,
    /// All tickets in scope.
    pub total: u64,
    /// In `new`.
    pub new: u64,
    /// In `in_progress`.
    pub in_progress: u64,
    /// In `done`.
    pub done: u64,
    /// Mean of `done_at - created_at` over done tickets, in seconds; null when none is done.
    pub avg_resolution_seconds: Option<f64>,
    /// Per stage, in the stages' order: tickets in it now and the mean stay.
    pub stages: Vec<super::StageStatsBody>,
}

impl From<Stats> for StatsBody {
    fn from(s: Stats) -> Self {
        Self {
            worker_id: s.worker_id.map(UserId::get),
            total: s.total,
            new: s.new,
            in_progress: s.in_progress,
            done: s.done,
            avg_resolution_seconds: s.avg_resolution_seconds,
            stages: s.stages.into_iter().map(Into::into).collect(),
        }
    }
}
