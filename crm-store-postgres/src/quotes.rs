//! Quotes. Creating, sending and deciding lock the ticket row first, in a short transaction:
//! versions are numbered without gaps or repeats, a send supersedes exactly the version sent
//! before it, and of two decisions racing on any replicas one is recorded and the other sees
//! it. The ticket keeps its latest sent version's state for the list filter, written in the
//! same statement as the event (see [`crate::record`]).

use crate::{PgStore, error::DbResult, record::Events};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    DecideQuote, Decision, NewEvent, NewQuote, Quote, QuoteContent, QuoteDecision, QuoteId,
    QuoteState, QuoteStore, StoreError, TicketId, TicketQuote, TicketStatus, UserId,
    money::{QuoteLine, TaxRate},
    quote::DecisionRefused,
};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder, types::Json};

#[derive(FromRow)]
struct QuoteRow {
    id: i64,
    ticket_id: i64,
    version: i32,
    currency: String,
    created_by: i64,
    lines: Json<Vec<QuoteLine>>,
    tax_rate: i32,
    valid_days: i32,
    note: Option<String>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    superseded_at: Option<DateTime<Utc>>,
    decision: Option<String>,
    decided_name: Option<String>,
    decided_comment: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    decided_ip: Option<String>,
    decided_ua: Option<String>,
}

const QUOTE_COLUMNS: &str = "id, ticket_id, version, currency, created_by, lines, tax_rate, \
    valid_days, note, created_at, sent_at, superseded_at, decision, decided_name, \
    decided_comment, decided_at, decided_ip, decided_ua";

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("a stored quote has a bad {what}").into())
}

impl TryFrom<QuoteRow> for Quote {
    type Error = StoreError;
    fn try_from(r: QuoteRow) -> Result<Self, StoreError> {
        let decision = match (r.decision.as_deref(), r.decided_at) {
            (None, _) => None,
            (Some(d), Some(at)) => Some(QuoteDecision {
                decision: match d {
                    "approve" => Decision::Approve,
                    "decline" => Decision::Decline,
                    _ => return Err(corrupt("decision")),
                },
                name: r.decided_name.unwrap_or_default(),
                comment: r.decided_comment,
                at,
                ip: r.decided_ip,
                user_agent: r.decided_ua,
            }),
            (Some(_), None) => return Err(corrupt("decision time")),
        };
        Ok(Quote {
            id: QuoteId(r.id),
            ticket_id: TicketId(r.ticket_id),
            version: u32::try_from(r.version).map_err(|_| corrupt("version"))?,
            currency: r.currency,
            created_by: UserId(r.created_by),
            lines: r.lines.0,
            tax_rate: TaxRate::parse(i64::from(r.tax_rate)).ok_or_else(|| corrupt("tax rate"))?,
            valid_days: u32::try_from(r.valid_days).map_err(|_| corrupt("validity"))?,
            note: r.note,
            created_at: r.created_at,
            sent_at: r.sent_at,
            superseded_at: r.superseded_at,
            decision,
        })
    }
}

/// A ticket's quote summary as the tickets table spells its state.
pub(crate) fn quote_state(s: &str) -> Result<QuoteState, StoreError> {
    match s {
        "sent" => Ok(QuoteState::Sent),
        "approved" => Ok(QuoteState::Approved),
        "declined" => Ok(QuoteState::Declined),
        _ => Err(corrupt("state")),
    }
}

fn state_name(q: &TicketQuote) -> &'static str {
    match q.state {
        QuoteState::Approved => "approved",
        QuoteState::Declined => "declined",
        _ => "sent",
    }
}

impl PgStore {
    /// Locks the ticket row until the transaction ends: its status and worker, or
    /// `NotFound`.
    async fn lock_quoted_ticket(
        &self,
        conn: &mut PgConnection,
        id: TicketId,
    ) -> Result<(TicketStatus, Option<UserId>), StoreError> {
        let row: Option<(String, Option<i64>)> =
            sqlx::query_as("SELECT status, worker_id FROM tickets WHERE id = $1 FOR UPDATE")
                .bind(id.0)
                .fetch_optional(conn)
                .await
                .db(self)?;
        let (status, worker) = row.ok_or(StoreError::NotFound)?;
        Ok((crate::rows::status(&status)?, worker.map(UserId)))
    }

    async fn fetch_quote(
        &self,
        conn: &mut PgConnection,
        ticket: TicketId,
        id: QuoteId,
        lock: bool,
    ) -> Result<Quote, StoreError> {
        let sql = format!(
            "SELECT {QUOTE_COLUMNS} FROM ticket_quotes WHERE id = $1 AND ticket_id = $2{}",
            if lock { " FOR UPDATE" } else { "" }
        );
        sqlx::query_as::<_, QuoteRow>(&sql)
            .bind(id.0)
            .bind(ticket.0)
            .fetch_optional(conn)
            .await
            .db(self)?
            .ok_or(StoreError::NotFound)?
            .try_into()
    }

    /// Sets the ticket's quote summary with the event, in the transaction that holds the
    /// ticket's lock.
    async fn record_quote_event(
        &self,
        conn: &mut PgConnection,
        ticket: TicketId,
        summary: Option<TicketQuote>,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut q = QueryBuilder::<Postgres>::new("WITH t AS (UPDATE tickets SET quote_id = ");
        q.push_bind(summary.map(|s| s.id.0))
            .push(", quote_state = ")
            .push_bind(summary.as_ref().map(state_name))
            .push(", quote_expires_at = ")
            .push_bind(summary.and_then(|s| s.expires_at))
            .push(" WHERE id = ")
            .push_bind(ticket.0)
            .push(" RETURNING *)");
        Events::one(Some(ticket), event).push_ctes(&mut q, "t");
        q.push(" SELECT count(*) FROM t");
        let n: i64 = q.build_query_scalar().fetch_one(conn).await.db(self)?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }
}

#[async_trait]
impl QuoteStore for PgStore {
    async fn create_quote(&self, new: NewQuote) -> Result<Quote, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        self.lock_quoted_ticket(&mut tx, new.ticket_id).await?;
        let c = new.content;
        let row: QuoteRow = sqlx::query_as(&format!(
            "INSERT INTO ticket_quotes (ticket_id, version, currency, created_by, lines, \
                 tax_rate, valid_days, note, created_at) \
             SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8 \
             FROM ticket_quotes WHERE ticket_id = $1 RETURNING {QUOTE_COLUMNS}"
        ))
        .bind(new.ticket_id.0)
        .bind(&new.currency)
        .bind(new.author.0)
        .bind(Json(&c.lines))
        .bind(c.tax_rate.basis_points() as i32)
        .bind(c.valid_days as i32)
        .bind(&c.note)
        .bind(new.at)
        .fetch_one(&mut *tx)
        .await
        .db(self)?;
        tx.commit().await.db(self)?;
        row.try_into()
    }

    async fn edit_quote(
        &self,
        ticket: TicketId,
        id: QuoteId,
        content: QuoteContent,
    ) -> Result<Quote, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<QuoteRow> = sqlx::query_as(&format!(
            "UPDATE ticket_quotes SET lines = $3, tax_rate = $4, valid_days = $5, note = $6 \
             WHERE id = $1 AND ticket_id = $2 AND sent_at IS NULL RETURNING {QUOTE_COLUMNS}"
        ))
        .bind(id.0)
        .bind(ticket.0)
        .bind(Json(&content.lines))
        .bind(content.tax_rate.basis_points() as i32)
        .bind(content.valid_days as i32)
        .bind(&content.note)
        .fetch_optional(&mut *conn)
        .await
        .db(self)?;
        match row {
            Some(r) => r.try_into(),
            // Not a draft (any more), or no such quote.
            None => self
                .fetch_quote(&mut conn, ticket, id, false)
                .await
                .and(Err(StoreError::QuoteNotOpen)),
        }
    }

    async fn list_quotes(&self, ticket: TicketId) -> Result<Vec<Quote>, StoreError> {
        let rows: Vec<QuoteRow> = sqlx::query_as(&format!(
            "SELECT {QUOTE_COLUMNS} FROM ticket_quotes WHERE ticket_id = $1 ORDER BY version"
        ))
        .bind(ticket.0)
        .fetch_all(&mut *self.conn().await?)
        .await
        .db(self)?;
        rows.into_iter().map(Quote::try_from).collect()
    }

    async fn get_quote(&self, ticket: TicketId, id: QuoteId) -> Result<Quote, StoreError> {
        let mut conn = self.conn().await?;
        self.fetch_quote(&mut conn, ticket, id, false).await
    }

    async fn quotes_of(&self, wanted: &[(TicketId, QuoteId)]) -> Result<Vec<Quote>, StoreError> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let (tickets, ids): (Vec<i64>, Vec<i64>) = wanted.iter().map(|(t, q)| (t.0, q.0)).unzip();
        let rows: Vec<QuoteRow> = sqlx::query_as(&format!(
            "SELECT {QUOTE_COLUMNS} FROM ticket_quotes \
             WHERE (ticket_id, id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))"
        ))
        .bind(&tickets)
        .bind(&ids)
        .fetch_all(&mut *self.conn().await?)
        .await
        .db(self)?;
        rows.into_iter().map(Quote::try_from).collect()
    }

    async fn send_quote(
        &self,
        ticket: TicketId,
        id: QuoteId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<Quote, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        let (status, worker) = self.lock_quoted_ticket(&mut tx, ticket).await?;
        let row: Option<QuoteRow> = sqlx::query_as(&format!(
            "UPDATE ticket_quotes SET sent_at = $3 \
             WHERE id = $1 AND ticket_id = $2 AND sent_at IS NULL RETURNING {QUOTE_COLUMNS}"
        ))
        .bind(id.0)
        .bind(ticket.0)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .db(self)?;
        let Some(row) = row else {
            return self
                .fetch_quote(&mut tx, ticket, id, false)
                .await
                .and(Err(StoreError::QuoteNotOpen));
        };
        let sent = Quote::try_from(row)?;
        sqlx::query(
            "UPDATE ticket_quotes SET superseded_at = $3 WHERE ticket_id = $1 AND id <> $2 \
             AND sent_at IS NOT NULL AND decision IS NULL AND superseded_at IS NULL",
        )
        .bind(ticket.0)
        .bind(id.0)
        .bind(at)
        .execute(&mut *tx)
        .await
        .db(self)?;
        let event = NewEvent::quote_sent(at, actor, id.0, status, worker);
        self.record_quote_event(&mut tx, ticket, sent.summary(), &event)
            .await?;
        tx.commit().await.db(self)?;
        self.wrote_events();
        Ok(sent)
    }

    async fn decide_quote(&self, decide: DecideQuote) -> Result<Quote, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        let (status, worker) = self.lock_quoted_ticket(&mut tx, decide.ticket_id).await?;
        // Under the ticket's lock, so the rule is decided on what every earlier decision and
        // send left.
        let mut quote = self
            .fetch_quote(&mut tx, decide.ticket_id, decide.quote_id, true)
            .await?;
        let at = decide.decision.at;
        quote.may_decide(at).map_err(|e| match e {
            DecisionRefused::Decided => StoreError::QuoteDecided,
            DecisionRefused::NotOpen => StoreError::QuoteNotOpen,
        })?;
        let d = &decide.decision;
        sqlx::query(
            "UPDATE ticket_quotes SET decision = $2, decided_name = $3, decided_comment = $4, \
                 decided_at = $5, decided_ip = $6, decided_ua = $7 \
             WHERE id = $1 AND decision IS NULL",
        )
        .bind(decide.quote_id.0)
        .bind(match d.decision {
            Decision::Approve => "approve",
            Decision::Decline => "decline",
        })
        .bind(&d.name)
        .bind(&d.comment)
        .bind(d.at)
        .bind(&d.ip)
        .bind(&d.user_agent)
        .execute(&mut *tx)
        .await
        .db(self)?;
        quote.decision = Some(decide.decision);
        let event = NewEvent::quote_decided(at, decide.quote_id.0, status, worker);
        self.record_quote_event(&mut tx, decide.ticket_id, quote.summary(), &event)
            .await?;
        tx.commit().await.db(self)?;
        self.wrote_events();
        Ok(quote)
    }
}
