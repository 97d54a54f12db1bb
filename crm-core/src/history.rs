//! The audit trail: one immutable event per change, written in the same atomic step.

use crate::{
    ids::{EventId, TicketId, UserId},
    message::Audience,
    status::TicketStatus,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A customer submitted it (no acting user), or staff took it in (the actor).
    Submitted,
    /// It was assigned to `worker_id`, by an admin or (no actor) automatically.
    Assigned,
    /// Its worker `worker_id` was deleted and it went back to the queue.
    Released,
    /// Its status moved `from_status -> to_status`.
    StatusChanged,
    /// It was opened by staff for the first time.
    Viewed,
    /// Staff corrected its title, description, device, priority or due date (`changes`).
    Edited,
    /// A message was written on it (`item_id`, `visibility`); by the customer when there is
    /// no actor.
    MessageAdded,
    /// A file was added to it (`item_id`, `visibility`); by the customer when there is no
    /// actor.
    AttachmentAdded,
    /// An admin removed one of its files (`item_id`, `visibility`).
    AttachmentRemoved,
    /// It moved to another stage, or out of one (`changes` holds the one `stage` change,
    /// [`crate::stage::change`]).
    StageChanged,
    /// Staff sent the customer a quote (`item_id`, the version).
    QuoteSent,
    /// The customer approved or declined a quote (`item_id`; no actor: the customer decided).
    QuoteDecided,
}

impl EventKind {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Assigned => "assigned",
            Self::Released => "released",
            Self::StatusChanged => "status_changed",
            Self::Viewed => "viewed",
            Self::Edited => "edited",
            Self::MessageAdded => "message_added",
            Self::AttachmentAdded => "attachment_added",
            Self::AttachmentRemoved => "attachment_removed",
            Self::StageChanged => "stage_changed",
            Self::QuoteSent => "quote_sent",
            Self::QuoteDecided => "quote_decided",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "submitted" => Self::Submitted,
            "assigned" => Self::Assigned,
            "released" => Self::Released,
            "status_changed" => Self::StatusChanged,
            "viewed" => Self::Viewed,
            "edited" => Self::Edited,
            "message_added" => Self::MessageAdded,
            "attachment_added" => Self::AttachmentAdded,
            "attachment_removed" => Self::AttachmentRemoved,
            "stage_changed" => Self::StageChanged,
            "quote_sent" => Self::QuoteSent,
            "quote_decided" => Self::QuoteDecided,
            _ => return None,
        })
    }
}

/// One recorded change. Fields that do not apply to the kind are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Identity; increases with time.
    pub id: EventId,
    /// Position in the global order of all events: positive, never repeated, never going
    /// backwards, so "every event after position n" is complete whatever order the changes
    /// committed in. A backend may give it a moment after the change commits (PostgreSQL
    /// does, see its migration 0008): streams and replays carry only positioned events, and
    /// a ticket's history read in that moment says 0.
    pub seq: i64,
    /// The ticket it happened to.
    pub ticket_id: TicketId,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: EventKind,
    /// The staff member who did it (`None` for a customer's submission; for a release, the
    /// admin who deleted the worker).
    pub actor_id: Option<UserId>,
    /// The worker assigned or released.
    pub worker_id: Option<UserId>,
    /// Status before a status change or a release.
    pub from_status: Option<TicketStatus>,
    /// Status after a status change or a release.
    pub to_status: Option<TicketStatus>,
    /// The ticket's status after the event.
    pub status: TicketStatus,
    /// The ticket's worker after the event.
    pub ticket_worker: Option<UserId>,
    /// The ticket's worker before the event, when the event took the ticket from it.
    pub prev_worker: Option<UserId>,
    /// What an `edited` event changed, field by field (empty for every other kind).
    pub changes: Vec<FieldChange>,
    /// Who may know of the event, for the events about a message or a file: internal ones
    /// reach staff only (never a public stream or a customer e-mail). `None` for the rest.
    pub visibility: Option<Audience>,
    /// The message or file the event is about.
    pub item_id: Option<i64>,
}

impl Event {
    /// Whether the customer may learn of this event (on the public progress stream): every
    /// event but those about internal notes and files.
    pub fn is_public(&self) -> bool {
        self.visibility != Some(Audience::Internal)
    }
}

/// One field an edit changed: its name as the API spells it (`title`, `device`, `priority`,
/// `due_at`, ...) and its value before and after, as JSON (`null` for none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field.
    pub field: String,
    /// Its value before.
    pub from: serde_json::Value,
    /// Its value after.
    pub to: serde_json::Value,
}

/// An event before the store numbers it. Its fields are private and set only by the
/// constructors below, so each kind carries exactly the fields that apply to it, whichever
/// backend writes it; backends read them through the accessors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    at: DateTime<Utc>,
    kind: EventKind,
    actor_id: Option<UserId>,
    worker_id: Option<UserId>,
    from_status: Option<TicketStatus>,
    to_status: Option<TicketStatus>,
    status: TicketStatus,
    ticket_worker: Option<UserId>,
    prev_worker: Option<UserId>,
    changes: Vec<FieldChange>,
    visibility: Option<Audience>,
    item_id: Option<i64>,
}

impl NewEvent {
    fn bare(
        kind: EventKind,
        at: DateTime<Utc>,
        actor: Option<UserId>,
        status: TicketStatus,
        ticket_worker: Option<UserId>,
    ) -> Self {
        Self {
            at,
            kind,
            actor_id: actor,
            worker_id: None,
            from_status: None,
            to_status: None,
            status,
            ticket_worker,
            prev_worker: None,
            changes: Vec::new(),
            visibility: None,
            item_id: None,
        }
    }

    /// A new request: a customer's own (`actor` `None`) or taken in at the counter by the
    /// staff member `actor`.
    pub fn submitted(at: DateTime<Utc>, actor: Option<UserId>) -> Self {
        Self::bare(EventKind::Submitted, at, actor, TicketStatus::New, None)
    }

    /// An assignment to `worker` of a ticket in `status` that `prev` had, by `actor` (`None`:
    /// automatic assignment).
    pub fn assigned(
        at: DateTime<Utc>,
        actor: Option<UserId>,
        worker: UserId,
        prev: Option<UserId>,
        status: TicketStatus,
    ) -> Self {
        Self {
            worker_id: Some(worker),
            prev_worker: prev,
            ..Self::bare(EventKind::Assigned, at, actor, status, Some(worker))
        }
    }

    /// A release because `worker` was deleted by `actor`: the ticket went from `from` back to
    /// `new` with no worker, and the statuses are recorded so time-in-status stays derivable.
    pub fn released(at: DateTime<Utc>, actor: UserId, worker: UserId, from: TicketStatus) -> Self {
        Self {
            worker_id: Some(worker),
            from_status: Some(from),
            to_status: Some(TicketStatus::New),
            prev_worker: Some(worker),
            ..Self::bare(
                EventKind::Released,
                at,
                Some(actor),
                TicketStatus::New,
                None,
            )
        }
    }

    /// A status step by `actor` of a ticket that `worker` has; `stage` records the stage the
    /// step left or entered, when it did (the step's own `stage_changed` event follows it).
    pub fn status_changed(
        at: DateTime<Utc>,
        actor: UserId,
        from: TicketStatus,
        to: TicketStatus,
        worker: Option<UserId>,
        stage: Option<FieldChange>,
    ) -> Self {
        Self {
            from_status: Some(from),
            to_status: Some(to),
            changes: stage.into_iter().collect(),
            ..Self::bare(EventKind::StatusChanged, at, Some(actor), to, worker)
        }
    }

    /// A stage move by `actor` of a ticket in `status` that `worker` has
    /// ([`crate::stage::change`] says what moved).
    pub fn stage_changed(
        at: DateTime<Utc>,
        actor: UserId,
        status: TicketStatus,
        worker: Option<UserId>,
        stage: FieldChange,
    ) -> Self {
        Self {
            changes: vec![stage],
            ..Self::bare(EventKind::StageChanged, at, Some(actor), status, worker)
        }
    }

    /// The first opening by `actor` of a ticket in `status` that `worker` has.
    pub fn viewed(
        at: DateTime<Utc>,
        actor: UserId,
        status: TicketStatus,
        worker: Option<UserId>,
    ) -> Self {
        Self::bare(EventKind::Viewed, at, Some(actor), status, worker)
    }

    /// An edit by `actor` of a ticket in `status` that `worker` has: what changed.
    pub fn edited(
        at: DateTime<Utc>,
        actor: UserId,
        status: TicketStatus,
        worker: Option<UserId>,
        changes: Vec<FieldChange>,
    ) -> Self {
        Self {
            changes,
            ..Self::bare(EventKind::Edited, at, Some(actor), status, worker)
        }
    }

    /// A message `message` for `audience` on a ticket in `status` that `worker` has, by the
    /// staff member `actor` or (`None`) the customer.
    pub fn message_added(
        at: DateTime<Utc>,
        actor: Option<UserId>,
        audience: Audience,
        message: i64,
        status: TicketStatus,
        worker: Option<UserId>,
    ) -> Self {
        Self {
            visibility: Some(audience),
            item_id: Some(message),
            ..Self::bare(EventKind::MessageAdded, at, actor, status, worker)
        }
    }

    /// A file `file` for `audience` added to a ticket in `status` that `worker` has, by the
    /// staff member `actor` or (`None`) the customer.
    pub fn attachment_added(
        at: DateTime<Utc>,
        actor: Option<UserId>,
        audience: Audience,
        file: i64,
        status: TicketStatus,
        worker: Option<UserId>,
    ) -> Self {
        Self {
            visibility: Some(audience),
            item_id: Some(file),
            ..Self::bare(EventKind::AttachmentAdded, at, actor, status, worker)
        }
    }

    /// The removal by `actor` of file `file` (for `audience`) from a ticket in `status`
    /// that `worker` has.
    pub fn attachment_removed(
        at: DateTime<Utc>,
        actor: UserId,
        audience: Audience,
        file: i64,
        status: TicketStatus,
        worker: Option<UserId>,
    ) -> Self {
        Self {
            visibility: Some(audience),
            item_id: Some(file),
            ..Self::bare(
                EventKind::AttachmentRemoved,
                at,
                Some(actor),
                status,
                worker,
            )
        }
    }

    /// Quote `quote` sent by `actor` on a ticket in `status` that `worker` has.
    pub fn quote_sent(
        at: DateTime<Utc>,
        actor: UserId,
        quote: i64,
        status: TicketStatus,
        worker: Option<UserId>,
    ) -> Self {
        Self {
            item_id: Some(quote),
            ..Self::bare(EventKind::QuoteSent, at, Some(actor), status, worker)
        }
    }

    /// Quote `quote` decided by the customer on a ticket in `status` that `worker` has.
    pub fn quote_decided(
        at: DateTime<Utc>,
        quote: i64,
        status: TicketStatus,
        worker: Option<UserId>,
    ) -> Self {
        Self {
            item_id: Some(quote),
            ..Self::bare(EventKind::QuoteDecided, at, None, status, worker)
        }
    }

    /// What an edit changed.
    pub fn changes(&self) -> &[FieldChange] {
        &self.changes
    }

    /// Who may know of it (events about messages and files).
    pub fn visibility(&self) -> Option<Audience> {
        self.visibility
    }

    /// The message or file it is about.
    pub fn item_id(&self) -> Option<i64> {
        self.item_id
    }

    /// When.
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// What.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// Who did it.
    pub fn actor_id(&self) -> Option<UserId> {
        self.actor_id
    }

    /// The worker concerned.
    pub fn worker_id(&self) -> Option<UserId> {
        self.worker_id
    }

    /// Status before.
    pub fn from_status(&self) -> Option<TicketStatus> {
        self.from_status
    }

    /// Status after a status change or release.
    pub fn to_status(&self) -> Option<TicketStatus> {
        self.to_status
    }

    /// The ticket's status after the event.
    pub fn status(&self) -> TicketStatus {
        self.status
    }

    /// The ticket's worker after the event.
    pub fn ticket_worker(&self) -> Option<UserId> {
        self.ticket_worker
    }

    /// The ticket's worker before the event, when the event took the ticket from it.
    pub fn prev_worker(&self) -> Option<UserId> {
        self.prev_worker
    }

    /// Numbers the event for `ticket` at position `seq`.
    pub fn into_event(self, id: EventId, seq: i64, ticket_id: TicketId) -> Event {
        Event {
            id,
            seq,
            ticket_id,
            at: self.at,
            kind: self.kind,
            actor_id: self.actor_id,
            worker_id: self.worker_id,
            from_status: self.from_status,
            to_status: self.to_status,
            status: self.status,
            ticket_worker: self.ticket_worker,
            prev_worker: self.prev_worker,
            changes: self.changes,
            visibility: self.visibility,
            item_id: self.item_id,
        }
    }
}
