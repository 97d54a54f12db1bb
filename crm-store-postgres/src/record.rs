//! Writing history events and their notifications, in the statement of the change itself.
//!
//! Every statement that changes tickets ends with the common table expressions this module
//! appends: the events crm-core built ([`NewEvent`], every field bound as it is, so both
//! stores write the same trail), inserted for exactly the rows the change touched, and one
//! outbox row per subscribed enabled webhook endpoint and per customer e-mail, as crm-core
//! decided per event ([`NewEvent::topic`], [`NewEvent::mail`]); SQL only joins the
//! subscriptions. Each outbox row keeps the ticket as the statement left it (`snapshot`).
//!
//! Two invariants every caller keeps, because the sequencer relies on them (migration 0008):
//! the change updates (row-locks) each ticket it writes an event for, in the same statement;
//! and it calls [`crate::PgStore::wrote_events`] after its commit, so its events get their
//! positions at once.

use crate::rows::TICKET_COLUMNS;
use chrono::{DateTime, Utc};
use crm_core::{NewEvent, TicketId, UserId};
use sqlx::{Postgres, QueryBuilder};

/// The events one statement writes, in order.
#[derive(Default)]
pub(crate) struct Events {
    ticket: Vec<Option<i64>>,
    at: Vec<DateTime<Utc>>,
    kind: Vec<&'static str>,
    actor: Vec<Option<i64>>,
    worker: Vec<Option<i64>>,
    from: Vec<Option<&'static str>>,
    to: Vec<Option<&'static str>>,
    status: Vec<&'static str>,
    ticket_worker: Vec<Option<i64>>,
    prev_worker: Vec<Option<i64>>,
    topic: Vec<Option<&'static str>>,
    mail: Vec<Option<&'static str>>,
    changes: Vec<Option<serde_json::Value>>,
    visibility: Vec<Option<&'static str>>,
    item: Vec<Option<i64>>,
}

impl Events {
    /// One event, of the ticket `ticket`; `None` for the one row a statement inserts (a new
    /// ticket, whose id the statement draws).
    pub(crate) fn one(ticket: Option<TicketId>, e: &NewEvent) -> Self {
        let mut all = Self::default();
        all.push(ticket, e);
        all
    }

    /// Adds an event of `ticket`.
    pub(crate) fn push(&mut self, ticket: Option<TicketId>, e: &NewEvent) {
        let id = |u: Option<UserId>| u.map(UserId::get);
        self.ticket.push(ticket.map(|t| t.0));
        self.at.push(e.at());
        self.kind.push(e.kind().as_str());
        self.actor.push(id(e.actor_id()));
        self.worker.push(id(e.worker_id()));
        self.from.push(e.from_status().map(|s| s.as_str()));
        self.to.push(e.to_status().map(|s| s.as_str()));
        self.status.push(e.status().as_str());
        self.ticket_worker.push(id(e.ticket_worker()));
        self.prev_worker.push(id(e.prev_worker()));
        self.topic.push(e.topic().map(|t| t.as_str()));
        self.mail.push(e.mail().map(|m| m.as_str()));
        self.changes.push(
            (!e.changes().is_empty())
                .then(|| serde_json::to_value(e.changes()).unwrap_or_default()),
        );
        self.visibility.push(e.visibility().map(|v| v.as_str()));
        self.item.push(e.item_id());
    }

    /// Appends `, v AS (...), e AS (...), o AS (...)` to a `WITH` whose CTE `source` holds the
    /// changed ticket rows (every column of `tickets`): the events of those rows, with ids
    /// drawn in order, and their notifications. An event whose ticket the change did not
    /// touch (a lost compare-and-set) is not written.
    pub(crate) fn push_ctes(self, q: &mut QueryBuilder<'_, Postgres>, source: &str) {
        // Events nobody is told of (first views) need no notification part at all.
        let notifies =
            self.topic.iter().any(Option::is_some) || self.mail.iter().any(Option::is_some);
        q.push(
            ", v AS (SELECT nextval('ticket_events_id_seq') AS id, x.* FROM ( \
               SELECT t.id AS ticket_id, u.at, u.kind, u.actor_id, u.worker_id, u.from_status, \
                      u.to_status, u.status, u.ticket_worker, u.prev_worker, u.topic, u.mail_kind, \
                      u.changes, u.visibility, u.item_id \
               FROM unnest(",
        );
        q.push_bind(self.ticket).push("::bigint[], ");
        q.push_bind(self.at).push("::timestamptz[], ");
        q.push_bind(self.kind).push("::text[], ");
        q.push_bind(self.actor).push("::bigint[], ");
        q.push_bind(self.worker).push("::bigint[], ");
        q.push_bind(self.from).push("::text[], ");
        q.push_bind(self.to).push("::text[], ");
        q.push_bind(self.status).push("::text[], ");
        q.push_bind(self.ticket_worker).push("::bigint[], ");
        q.push_bind(self.prev_worker).push("::bigint[], ");
        q.push_bind(self.topic).push("::text[], ");
        q.push_bind(self.mail).push("::text[], ");
        q.push_bind(self.changes).push("::jsonb[], ");
        q.push_bind(self.visibility).push("::text[], ");
        q.push_bind(self.item).push("::bigint[]");
        q.push(format!(
            ") WITH ORDINALITY AS u(ticket_id, at, kind, actor_id, worker_id, from_status, \
                  to_status, status, ticket_worker, prev_worker, topic, mail_kind, changes, \
                  visibility, item_id, ord) \
               JOIN {source} t ON t.id = coalesce(u.ticket_id, t.id) \
               ORDER BY u.ord OFFSET 0) x), \
             e AS (INSERT INTO ticket_events (id, ticket_id, at, kind, actor_id, worker_id, \
                       from_status, to_status, status, ticket_worker, prev_worker, changes, \
                       visibility, item_id) \
                   SELECT id, ticket_id, at, kind, actor_id, worker_id, from_status, to_status, \
                          status, ticket_worker, prev_worker, changes, visibility, item_id \
                   FROM v ORDER BY id)"
        ));
        if !notifies {
            return;
        }
        q.push(format!(
            ", o AS (INSERT INTO outbox (event_id, ticket_id, endpoint_id, topic, mail_kind, \
                       snapshot, next_attempt_at, created_at, visibility, item_id) \
                   SELECT v.id, v.ticket_id, n.endpoint_id, n.topic, n.mail_kind, \
                          (SELECT to_jsonb(s) FROM (SELECT {TICKET_COLUMNS} FROM {source} t \
                             JOIN clients c ON c.id = t.client_id WHERE t.id = v.ticket_id) s), \
                          v.at, v.at, v.visibility, v.item_id \
                   FROM v CROSS JOIN LATERAL ( \
                       SELECT w.id AS endpoint_id, v.topic, NULL::text AS mail_kind \
                       FROM webhook_endpoints w \
                       WHERE v.topic IS NOT NULL AND w.enabled AND v.topic = ANY (w.topics) \
                       UNION ALL \
                       SELECT NULL::bigint, NULL::text, v.mail_kind \
                       WHERE v.mail_kind IS NOT NULL \
                         AND (SELECT mail_enabled FROM notify_settings)) n \
                   ORDER BY v.id, n.endpoint_id)"
        ));
    }
}
