//! Sign-in throttling state, one row per username key. A reservation is a compare-and-set
//! on the row as read (or an insert that only the first racer wins), so racing attempts on
//! several replicas each apply [`ThrottleState::reserve`] to the state the one before left.

use crate::{PgStore, RACE_ATTEMPTS, error::DbResult, rows::ThrottleRow};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use crm_core::{LoginThrottle, StoreError, ThrottleState, throttle::WINDOW};

#[async_trait]
impl LoginThrottle for PgStore {
    #[tracing::instrument(skip_all)]
    async fn reserve_sign_in(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<ThrottleState, TimeDelta>, StoreError> {
        for _ in 0..RACE_ATTEMPTS * 4 {
            let row: Option<ThrottleRow> = sqlx::query_as(
                "SELECT failures, last_failure, locked_until FROM login_throttle \
                 WHERE username_key = $1",
            )
            .bind(key)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?;
            let prev = row.map(ThrottleState::from);
            let next = match ThrottleState::reserve(prev, now) {
                Ok(next) => next,
                Err(wait) => return Ok(Err(wait)),
            };
            let done = match prev {
                None => {
                    // Now and then, as new usernames start counting.
                    if now.timestamp_subsec_micros() % 64 == 0 {
                        self.sweep_throttle(now).await?;
                    }
                    sqlx::query(
                        "INSERT INTO login_throttle (username_key, failures, last_failure, \
                         locked_until) VALUES ($1, $2, $3, $4) ON CONFLICT (username_key) DO NOTHING",
                    )
                    .bind(key)
                    .bind(next.failures as i32)
                    .bind(next.last_failure)
                    .bind(next.locked_until)
                    .execute(&mut *self.conn().await?)
                    .await
                    .db(self)?
                }
                Some(p) => sqlx::query(
                    "UPDATE login_throttle SET failures = $2, last_failure = $3, locked_until = $4 \
                     WHERE username_key = $1 AND failures = $5 AND last_failure = $6 \
                       AND locked_until IS NOT DISTINCT FROM $7",
                )
                .bind(key)
                .bind(next.failures as i32)
                .bind(next.last_failure)
                .bind(next.locked_until)
                .bind(p.failures as i32)
                .bind(p.last_failure)
                .bind(p.locked_until)
                .execute(&mut *self.conn().await?)
                .await
                .db(self)?,
            };
            if done.rows_affected() == 1 {
                return Ok(Ok(next));
            }
            // Another attempt reserved first: decide again on what it left.
        }
        Err(StoreError::Stale)
    }

    #[tracing::instrument(skip_all)]
    async fn login_succeeded(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_throttle WHERE username_key = $1")
            .bind(key)
            .execute(&mut *self.conn().await?)
            .await
            .db(self)?;
        Ok(())
    }
}

impl PgStore {
    /// Forgets usernames whose failures no longer count, so names an attacker invents do not
    /// pile up; run by about one in 64 reservations of a username without a row.
    async fn sweep_throttle(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM login_throttle WHERE last_failure < $1 \
             AND (locked_until IS NULL OR locked_until < $2)",
        )
        .bind(now - WINDOW)
        .bind(now)
        .execute(&mut *self.conn().await?)
        .await
        .db(self)?;
        Ok(())
    }
}
