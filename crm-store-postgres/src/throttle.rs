//! Sign-in throttling state, one row per username key, changed under a row lock so racing
//! failures on several replicas all count.

use crate::{PgStore, error::DbResult, rows::ThrottleRow};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{LoginThrottle, StoreError, ThrottleState};

#[async_trait]
impl LoginThrottle for PgStore {
    #[tracing::instrument(skip_all, err)]
    async fn login_state(&self, key: &str) -> Result<Option<ThrottleState>, StoreError> {
        let row: Option<ThrottleRow> = sqlx::query_as(
            "SELECT failures, last_failure, locked_until FROM login_throttle WHERE username_key = $1",
        )
        .bind(key)
        .fetch_optional(&mut *self.conn().await?)
        .await
        .db(&self.target)?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(skip_all, err)]
    async fn login_failed(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<ThrottleState, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.db(&self.target)?;
        // Make sure the row exists, then lock it: the rule is applied to the latest state by
        // one failure at a time.
        sqlx::query(
            "INSERT INTO login_throttle (username_key, failures, last_failure) VALUES ($1, 0, $2) \
             ON CONFLICT (username_key) DO NOTHING",
        )
        .bind(key)
        .bind(now)
        .execute(&mut *tx)
        .await
        .db(&self.target)?;
        let row: ThrottleRow = sqlx::query_as(
            "SELECT failures, last_failure, locked_until FROM login_throttle \
             WHERE username_key = $1 FOR UPDATE",
        )
        .bind(key)
        .fetch_one(&mut *tx)
        .await
        .db(&self.target)?;
        let prev = ThrottleState::from(row);
        let next = ThrottleState::after_failure((prev.failures > 0).then_some(prev), now);
        sqlx::query(
            "UPDATE login_throttle SET failures = $2, last_failure = $3, locked_until = $4 \
             WHERE username_key = $1",
        )
        .bind(key)
        .bind(next.failures as i32)
        .bind(next.last_failure)
        .bind(next.locked_until)
        .execute(&mut *tx)
        .await
        .db(&self.target)?;
        if next.failures == 1 {
            // A new window: sweep usernames whose failures no longer count, so names an
            // attacker invents do not pile up.
            sqlx::query(
                "DELETE FROM login_throttle WHERE last_failure < $1 \
                 AND (locked_until IS NULL OR locked_until < $2)",
            )
            .bind(now - crm_core::throttle::WINDOW)
            .bind(now)
            .execute(&mut *tx)
            .await
            .db(&self.target)?;
        }
        tx.commit().await.db(&self.target)?;
        Ok(next)
    }

    #[tracing::instrument(skip_all, err)]
    async fn login_succeeded(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_throttle WHERE username_key = $1")
            .bind(key)
            .execute(&mut *self.conn().await?)
            .await
            .db(&self.target)?;
        Ok(())
    }
}
