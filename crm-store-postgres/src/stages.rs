//! Stages and the moves of tickets between them. The stages themselves change rarely (an
//! admin's settings page), so every change to them takes one advisory lock in its
//! transaction: positions stay a gapless 0..n per status whichever replicas race. Tickets
//! point at a stage with the composite foreign key of migration 0015, which settles the
//! races that matter at the counter: a ticket entering a stage as it is removed, and a stage
//! move racing a status change.

use crate::{PgStore, error::DbResult, record::Events};
use async_trait::async_trait;
use crm_core::{
    NewStage, Stage, StageChange, StageFigures, StageId, StagePatch, StageStore, StoreError,
    Ticket, UserId, stage::StageName,
};
use sqlx::{FromRow, Postgres, QueryBuilder};

/// The lock every change of the stages table takes ("crm_stag").
const STAGES_LOCK: i64 = 0x6372_6d5f_7374_6167;

#[derive(FromRow)]
struct StageRow {
    id: i64,
    status: String,
    name: String,
    notify_customer: bool,
    position: i32,
}

impl TryFrom<StageRow> for Stage {
    type Error = StoreError;
    fn try_from(r: StageRow) -> Result<Self, StoreError> {
        Ok(Stage {
            id: StageId(r.id),
            status: crate::rows::status(&r.status)?,
            name: StageName::parse(&r.name).map_err(|e| StoreError::Backend(e.into()))?,
            notify_customer: r.notify_customer,
            position: u32::try_from(r.position).unwrap_or(0),
        })
    }
}

const STAGE_COLUMNS: &str = "id, status, name, notify_customer, position";

impl PgStore {
    /// Takes the stages' lock inside `tx`.
    async fn lock_stages(&self, tx: &mut crate::pool::Tx<'_>) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(STAGES_LOCK)
            .execute(&mut **tx)
            .await
            .db(self)?;
        Ok(())
    }
}

#[async_trait]
impl StageStore for PgStore {
    async fn list_stages(&self) -> Result<Vec<Stage>, StoreError> {
        let rows: Vec<StageRow> = sqlx::query_as(&format!(
            "SELECT {STAGE_COLUMNS} FROM stages \
             ORDER BY array_position(ARRAY['new', 'in_progress', 'done'], status), position"
        ))
        .fetch_all(&mut *self.conn().await?)
        .await
        .db(self)?;
        rows.into_iter().map(Stage::try_from).collect()
    }

    async fn create_stage(&self, new: NewStage) -> Result<Stage, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        self.lock_stages(&mut tx).await?;
        let row: StageRow = sqlx::query_as(&format!(
            "INSERT INTO stages (status, name, notify_customer, position) \
             SELECT $1, $2, $3, count(*) FROM stages WHERE status = $1 \
             RETURNING {STAGE_COLUMNS}"
        ))
        .bind(new.status.as_str())
        .bind(new.name.as_ref())
        .bind(new.notify_customer)
        .fetch_one(&mut *tx)
        .await
        .db(self)?;
        tx.commit().await.db(self)?;
        row.try_into()
    }

    async fn update_stage(&self, id: StageId, patch: StagePatch) -> Result<Stage, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        self.lock_stages(&mut tx).await?;
        let current: Option<(String, i32, i64)> = sqlx::query_as(
            "SELECT s.status, s.position, \
                    (SELECT count(*) FROM stages o WHERE o.status = s.status) \
             FROM stages s WHERE s.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .db(self)?;
        let Some((status, from, count)) = current else {
            return Err(StoreError::NotFound);
        };
        if let Some(to) = patch.position {
            let last = i32::try_from(count - 1).unwrap_or(0);
            let to = i32::try_from(to).unwrap_or(i32::MAX).min(last);
            sqlx::query(
                "UPDATE stages SET position = CASE \
                    WHEN id = $1 THEN $3 \
                    WHEN $2 < $3 AND position > $2 AND position <= $3 THEN position - 1 \
                    WHEN $3 < $2 AND position >= $3 AND position < $2 THEN position + 1 \
                    ELSE position END \
                 WHERE status = $4",
            )
            .bind(id.0)
            .bind(from)
            .bind(to)
            .bind(&status)
            .execute(&mut *tx)
            .await
            .db(self)?;
        }
        let row: StageRow = sqlx::query_as(&format!(
            "UPDATE stages SET name = coalesce($2, name), \
                    notify_customer = coalesce($3, notify_customer) \
             WHERE id = $1 RETURNING {STAGE_COLUMNS}"
        ))
        .bind(id.0)
        .bind(patch.name.as_ref().map(|n| n.as_ref().to_owned()))
        .bind(patch.notify_customer)
        .fetch_one(&mut *tx)
        .await
        .db(self)?;
        tx.commit().await.db(self)?;
        row.try_into()
    }

    async fn delete_stage(&self, id: StageId) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        self.lock_stages(&mut tx).await?;
        // The foreign key refuses while a ticket is in it, including one entering it now.
        let gone: Option<(String, i32)> =
            sqlx::query_as("DELETE FROM stages WHERE id = $1 RETURNING status, position")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .db(self)
                .map_err(|e| match e {
                    StoreError::UnknownStage => StoreError::StageInUse,
                    other => other,
                })?;
        let Some((status, position)) = gone else {
            return Err(StoreError::NotFound);
        };
        sqlx::query(
            "UPDATE stages SET position = position - 1 WHERE status = $1 AND position > $2",
        )
        .bind(status)
        .bind(position)
        .execute(&mut *tx)
        .await
        .db(self)?;
        tx.commit().await.db(self)
    }

    #[tracing::instrument(skip_all, fields(ticket_id = %change.ticket_id))]
    async fn set_stage(&self, change: StageChange) -> Result<Ticket, StoreError> {
        let to = change.to.as_ref().map(|s| s.id.0);
        let mut q = QueryBuilder::<Postgres>::new("WITH t AS (UPDATE tickets SET stage_id = ");
        q.push_bind(to)
            .push(", stage_at = ")
            .push_bind(to.map(|_| change.at))
            .push(", updated_at = ")
            .push_bind(change.at)
            .push(" WHERE id = ")
            .push_bind(change.ticket_id.0)
            .push(" AND status = ")
            .push_bind(change.expected.status.as_str())
            .push(" AND worker_id IS NOT DISTINCT FROM ")
            .push_bind(change.expected.worker_id.map(UserId::get))
            .push(" AND stage_id IS NOT DISTINCT FROM ")
            .push_bind(change.from.as_ref().map(|s| s.id.0))
            .push(" RETURNING *)");
        Events::one(Some(change.ticket_id), &change.event()).push_ctes(&mut q, "t");
        self.compare_and_set(q, change.ticket_id).await
    }

    async fn stage_figures(&self, worker: Option<UserId>) -> Result<Vec<StageFigures>, StoreError> {
        let rows: Vec<(i64, i64, i64, f64)> = sqlx::query_as(
            "SELECT stage_id, sum(n)::bigint, sum(stage_visits)::bigint, \
                    sum(stage_micros)::float8 \
             FROM ticket_totals WHERE stage_id <> 0 AND ($1::bigint IS NULL OR worker_id = $1) \
             GROUP BY stage_id",
        )
        .bind(worker.map(UserId::get))
        .fetch_all(&mut *self.conn().await?)
        .await
        .db(self)?;
        Ok(rows
            .into_iter()
            .map(|(id, n, visits, micros)| StageFigures {
                stage_id: StageId(id),
                tickets: u64::try_from(n).unwrap_or(0),
                visits: u64::try_from(visits).unwrap_or(0),
                micros_sum: micros as i128,
            })
            .collect())
    }
}
