//! Automatic assignment as one transaction under the settings row's lock, which every replica
//! takes: racing submissions through any replicas are assigned one pass at a time, each on the
//! counts the previous one left, so no worker goes past the limit.

use crate::{
    PgStore,
    error::DbResult,
    record::Events,
    rows::{TICKET_COLUMNS, TicketRow, USER_COLUMNS, UserRow},
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    AssignmentMode, AssignmentSettings, AssignmentStore, Candidate, EventKind, NewEvent, Role,
    StoreError, Ticket, TicketId, TicketStatus, User, UserId, assignment::plan,
};
use sqlx::{FromRow, Postgres, QueryBuilder};

/// Waiting tickets considered per pass (a pass that fills them all runs again).
const PASS: i64 = 1000;

#[derive(FromRow)]
struct SettingsRow {
    mode: String,
    max_open_per_worker: Option<i32>,
    rr_cursor: Option<i64>,
}

impl SettingsRow {
    fn settings(&self) -> Result<AssignmentSettings, StoreError> {
        Ok(AssignmentSettings {
            mode: AssignmentMode::parse(&self.mode).ok_or_else(|| {
                StoreError::Backend(format!("unknown assignment mode {}", self.mode).into())
            })?,
            max_open_per_worker: self.max_open_per_worker.map(|m| m.max(1) as u32),
        })
    }
}

#[derive(FromRow)]
struct CandidateRow {
    id: i64,
    open: i64,
    last_assigned: Option<i64>,
}

#[async_trait]
impl AssignmentStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn assignment_settings(&self) -> Result<AssignmentSettings, StoreError> {
        let row: SettingsRow =
            sqlx::query_as("SELECT mode, max_open_per_worker, rr_cursor FROM assignment_settings")
                .fetch_one(&mut *self.conn().await?)
                .await
                .db(self)?;
        row.settings()
    }

    #[tracing::instrument(skip_all)]
    async fn set_assignment_settings(&self, s: AssignmentSettings) -> Result<(), StoreError> {
        sqlx::query("UPDATE assignment_settings SET mode = $1, max_open_per_worker = $2")
            .bind(s.mode.as_str())
            .bind(s.max_open_per_worker.map(|m| m.min(i32::MAX as u32) as i32))
            .execute(&mut *self.conn().await?)
            .await
            .db(self)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn set_availability(&self, user: UserId, available: bool) -> Result<User, StoreError> {
        let sql = format!(
            "UPDATE users SET available = $2 WHERE id = $1 AND active RETURNING {USER_COLUMNS}"
        );
        let row: UserRow = sqlx::query_as(&sql)
            .bind(user.0)
            .bind(available)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?
            .ok_or(StoreError::NotFound)?;
        row.user()
    }

    #[tracing::instrument(skip_all)]
    async fn assign_waiting(&self, at: DateTime<Utc>) -> Result<Vec<Ticket>, StoreError> {
        // Most calls find it off: say so without taking the lock.
        if self.assignment_settings().await?.mode == AssignmentMode::Off {
            return Ok(Vec::new());
        }
        let mut assigned = Vec::new();
        loop {
            let (batch, full) = self.assign_pass(at).await?;
            assigned.extend(batch);
            if !full {
                return Ok(assigned);
            }
        }
    }
}

impl PgStore {
    /// Gives the chosen tickets their workers, each with its `assigned` event (no actor),
    /// in plan order; the guard on the ticket's state keeps a manual assignment that won
    /// meanwhile.
    async fn write_choices(
        &self,
        tx: &mut crate::pool::Tx<'_>,
        choices: &[(i64, UserId)],
        at: DateTime<Utc>,
    ) -> Result<Vec<TicketRow>, StoreError> {
        let (tickets, workers): (Vec<i64>, Vec<i64>) =
            choices.iter().map(|(t, w)| (*t, w.0)).unzip();
        let mut events = Events::default();
        for &(t, w) in choices {
            events.push(
                Some(TicketId(t)),
                &NewEvent::assigned(at, None, w, None, TicketStatus::New),
            );
        }
        let mut q = QueryBuilder::<Postgres>::new("WITH p AS (SELECT * FROM unnest(");
        q.push_bind(tickets)
            .push("::bigint[], ")
            .push_bind(workers)
            .push("::bigint[]) AS p(ticket, worker)), ");
        q.push("t AS (UPDATE tickets SET worker_id = p.worker, assigned_at = ")
            .push_bind(at)
            .push(", updated_at = ")
            .push_bind(at)
            .push(" FROM p WHERE tickets.id = p.ticket AND tickets.worker_id IS NULL AND tickets.status = ")
            .push_bind(TicketStatus::New.as_str())
            .push(" RETURNING tickets.*)");
        events.push_ctes(&mut q, "t");
        q.push(format!(
            " SELECT {TICKET_COLUMNS} FROM t JOIN clients c ON c.id = t.client_id ORDER BY t.id"
        ));
        q.build_query_as().fetch_all(&mut **tx).await.db(self)
    }

    /// One pass: lock the settings, read candidates and waiting tickets, plan, write.
    async fn assign_pass(&self, at: DateTime<Utc>) -> Result<(Vec<Ticket>, bool), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        let row: SettingsRow = sqlx::query_as(
            "SELECT mode, max_open_per_worker, rr_cursor FROM assignment_settings FOR UPDATE",
        )
        .fetch_one(&mut *tx)
        .await
        .db(self)?;
        let settings = row.settings()?;
        if settings.mode == AssignmentMode::Off {
            return Ok((Vec::new(), false));
        }
        // Share locks on the candidates: a deactivation waits for this pass to commit (and
        // then releases what it was given), or this pass waits for it and skips the worker.
        let candidates: Vec<CandidateRow> = sqlx::query_as(
            "SELECT u.id, \
                (SELECT coalesce(sum(c.n), 0) FROM ticket_totals c \
                 WHERE c.worker_id = u.id AND c.status <> $2)::bigint AS open, \
                (SELECT max(e.id) FROM ticket_events e \
                 WHERE e.kind = $3 AND e.worker_id = u.id) AS last_assigned \
             FROM users u WHERE u.active AND u.role = $1 AND u.available \
             ORDER BY u.id FOR SHARE OF u",
        )
        .bind(Role::Worker.as_str())
        .bind(TicketStatus::Done.as_str())
        .bind(EventKind::Assigned.as_str())
        .fetch_all(&mut *tx)
        .await
        .db(self)?;
        let mut candidates: Vec<Candidate> = candidates
            .into_iter()
            .map(|c| Candidate {
                id: UserId(c.id),
                open: c.open.max(0) as u64,
                last_assigned: c.last_assigned,
            })
            .collect();
        let waiting: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM tickets WHERE worker_id IS NULL AND status = $1 \
             ORDER BY created_at, id LIMIT $2",
        )
        .bind(TicketStatus::New.as_str())
        .bind(PASS)
        .fetch_all(&mut *tx)
        .await
        .db(self)?;
        let cursor = row.rr_cursor.map(UserId);
        let (choices, cursor) = plan(&settings, &mut candidates, cursor, &waiting);
        if choices.is_empty() {
            return Ok((Vec::new(), false));
        }
        let full = waiting.len() as i64 == PASS && choices.len() == waiting.len();
        // The cursor first: the pass's events are its last statement.
        sqlx::query("UPDATE assignment_settings SET rr_cursor = $1")
            .bind(cursor.map(UserId::get))
            .execute(&mut *tx)
            .await
            .db(self)?;
        let rows = self.write_choices(&mut tx, &choices, at).await?;
        tx.commit().await.db(self)?;
        if !rows.is_empty() {
            self.wrote_events();
        }
        let assigned = rows
            .into_iter()
            .map(Ticket::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((assigned, full))
    }
}
