//! API keys and second factors. The once-only steps are single conditional statements
//! (a code's step only forward, a recovery code's row deleted once); the steps that write
//! several rows lock the account's row first.

use crate::{
    PgStore,
    error::DbResult,
    rows::{USER_COLUMNS, UserRow},
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    AccountEventKind, ApiKey, CredentialStore, KeyRecord, KeyScope, NewApiKey, StoreError,
    TotpDisable, TotpEnable, TotpState, UserId, credential::MAX_KEYS_PER_USER,
};
use sqlx::FromRow;

const KEY_COLUMNS: &str =
    "id AS key_id, user_id, name, scope, created_at AS key_created_at, expires_at, last_used_at";

#[derive(FromRow)]
struct KeyRow {
    key_id: i64,
    user_id: i64,
    name: String,
    scope: String,
    key_created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

impl KeyRow {
    fn key(self) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            id: self.key_id,
            user_id: UserId(self.user_id),
            name: self.name,
            scope: KeyScope::parse(&self.scope).ok_or_else(|| {
                StoreError::Backend(format!("unknown key scope {:?}", self.scope).into())
            })?,
            created_at: self.key_created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
        })
    }
}

#[derive(FromRow)]
struct KeyUserRow {
    #[sqlx(flatten)]
    key: KeyRow,
    #[sqlx(flatten)]
    user: UserRow,
}

async fn account_event<'c, E: sqlx::PgExecutor<'c>>(
    exec: E,
    store: &PgStore,
    user: UserId,
    kind: AccountEventKind,
    actor: UserId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO account_events (user_id, at, kind, actor_id) VALUES ($1, $2, $3, $4)")
        .bind(user.0)
        .bind(at)
        .bind(kind.as_str())
        .bind(actor.0)
        .execute(exec)
        .await
        .db(store)?;
    Ok(())
}

/// Locks an active account's row for a change of several rows; answers whether its second
/// factor is on, or [`StoreError::NotFound`].
async fn lock_account(
    tx: &mut sqlx::PgConnection,
    store: &PgStore,
    user: UserId,
) -> Result<bool, StoreError> {
    sqlx::query_scalar(
        "SELECT totp_secret IS NOT NULL FROM users WHERE id = $1 AND active FOR UPDATE",
    )
    .bind(user.0)
    .fetch_optional(tx)
    .await
    .db(store)?
    .ok_or(StoreError::NotFound)
}

#[async_trait]
impl CredentialStore for PgStore {
    #[tracing::instrument(skip_all, fields(user_id = %new.user))]
    async fn create_api_key(&self, new: NewApiKey) -> Result<ApiKey, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        // The account's row lock orders racing creations, so the count below is current.
        lock_account(&mut tx, self, new.user).await?;
        let sql = format!(
            "INSERT INTO api_keys (user_id, name, scope, key_hash, created_at, expires_at) \
             SELECT $1, $2, $3, $4, $5, $6 \
             WHERE (SELECT count(*) FROM api_keys WHERE user_id = $1) < $7 \
             RETURNING {KEY_COLUMNS}"
        );
        let row: Option<KeyRow> = sqlx::query_as(&sql)
            .bind(new.user.0)
            .bind(&new.name)
            .bind(new.scope.as_str())
            .bind(&new.hash[..])
            .bind(new.created_at)
            .bind(new.expires_at)
            .bind(i64::from(MAX_KEYS_PER_USER))
            .fetch_optional(&mut *tx)
            .await
            .db(self)?;
        let row = row.ok_or(StoreError::LimitReached)?;
        account_event(
            &mut *tx,
            self,
            new.user,
            AccountEventKind::ApiKeyCreated,
            new.actor,
            new.created_at,
        )
        .await?;
        tx.commit().await.db(self)?;
        row.key()
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn list_api_keys(&self, user: UserId) -> Result<Vec<ApiKey>, StoreError> {
        let mut conn = self.conn().await?;
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
            .bind(user.0)
            .fetch_one(&mut *conn)
            .await
            .db(self)?;
        if !exists {
            return Err(StoreError::NotFound);
        }
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY id");
        let rows: Vec<KeyRow> = sqlx::query_as(&sql)
            .bind(user.0)
            .fetch_all(&mut *conn)
            .await
            .db(self)?;
        rows.into_iter().map(KeyRow::key).collect()
    }

    #[tracing::instrument(skip_all, fields(user_id = %user, key_id = id))]
    async fn revoke_api_key(
        &self,
        user: UserId,
        id: i64,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "WITH d AS (DELETE FROM api_keys WHERE id = $1 AND user_id = $2 RETURNING user_id) \
             INSERT INTO account_events (user_id, at, kind, actor_id) \
             SELECT user_id, $3, $4, $5 FROM d",
        )
        .bind(id)
        .bind(user.0)
        .bind(at)
        .bind(AccountEventKind::ApiKeyRevoked.as_str())
        .bind(actor.0)
        .execute(&mut *self.conn().await?)
        .await
        .db(self)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn find_api_key(&self, hash: &[u8; 32]) -> Result<KeyRecord, StoreError> {
        let sql = format!(
            "WITH k AS (SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1) \
             SELECT k.*, {USER_COLUMNS} FROM k JOIN users ON users.id = k.user_id"
        );
        let row: KeyUserRow = sqlx::query_as(&sql)
            .bind(&hash[..])
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?
            .ok_or(StoreError::NotFound)?;
        Ok(KeyRecord {
            active: row.user.active,
            user: row.user.user()?,
            key: row.key.key()?,
        })
    }

    #[tracing::instrument(skip_all, fields(key_id = id))]
    async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
        )
        .bind(id)
        .bind(at)
        .execute(&mut *self.conn().await?)
        .await
        .db(self)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn totp_state(&self, user: UserId) -> Result<TotpState, StoreError> {
        let row: Option<(Option<Vec<u8>>, Option<Vec<u8>>, i64, i64)> = sqlx::query_as(
            "SELECT totp_pending, totp_secret, totp_last_step, \
                    (SELECT count(*) FROM totp_recovery_codes WHERE user_id = $1) \
             FROM users WHERE id = $1",
        )
        .bind(user.0)
        .fetch_optional(&mut *self.conn().await?)
        .await
        .db(self)?;
        let (pending, secret, last_step, left) = row.ok_or(StoreError::NotFound)?;
        Ok(TotpState {
            pending,
            secret,
            last_step,
            recovery_left: u32::try_from(left).unwrap_or(u32::MAX),
        })
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn set_totp_pending(&self, user: UserId, secret: Vec<u8>) -> Result<(), StoreError> {
        let off: Option<bool> = sqlx::query_scalar(
            "UPDATE users SET totp_pending = CASE WHEN totp_secret IS NULL THEN $2 \
                                                  ELSE totp_pending END \
             WHERE id = $1 AND active RETURNING totp_secret IS NULL",
        )
        .bind(user.0)
        .bind(secret)
        .fetch_optional(&mut *self.conn().await?)
        .await
        .db(self)?;
        match off {
            Some(true) => Ok(()),
            Some(false) => Err(StoreError::Stale),
            None => Err(StoreError::NotFound),
        }
    }

    #[tracing::instrument(skip_all, fields(user_id = %enable.user))]
    async fn enable_totp(&self, enable: TotpEnable) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, \
                              totp_last_step = $3 \
             WHERE id = $1 AND active AND totp_secret IS NULL AND totp_pending = $2",
        )
        .bind(enable.user.0)
        .bind(&enable.secret)
        .bind(enable.step)
        .execute(&mut *tx)
        .await
        .db(self)?;
        if done.rows_affected() == 0 {
            drop(tx);
            let active: Option<bool> = sqlx::query_scalar("SELECT active FROM users WHERE id = $1")
                .bind(enable.user.0)
                .fetch_optional(&mut *conn)
                .await
                .db(self)?;
            return Err(match active {
                Some(true) => StoreError::Stale,
                _ => StoreError::NotFound,
            });
        }
        let hashes: Vec<Vec<u8>> = enable.recovery.iter().map(|h| h.to_vec()).collect();
        sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = $1")
            .bind(enable.user.0)
            .execute(&mut *tx)
            .await
            .db(self)?;
        sqlx::query(
            "INSERT INTO totp_recovery_codes (user_id, code_hash) \
             SELECT $1, h FROM unnest($2::bytea[]) AS h ON CONFLICT DO NOTHING",
        )
        .bind(enable.user.0)
        .bind(&hashes)
        .execute(&mut *tx)
        .await
        .db(self)?;
        account_event(
            &mut *tx,
            self,
            enable.user,
            AccountEventKind::TotpEnabled,
            enable.user,
            enable.at,
        )
        .await?;
        tx.commit().await.db(self)
    }

    #[tracing::instrument(skip_all, fields(user_id = %disable.user))]
    async fn disable_totp(&self, disable: TotpDisable) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        let was_on = lock_account(&mut tx, self, disable.user).await?;
        sqlx::query(
            "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = 0 \
             WHERE id = $1",
        )
        .bind(disable.user.0)
        .execute(&mut *tx)
        .await
        .db(self)?;
        sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = $1")
            .bind(disable.user.0)
            .execute(&mut *tx)
            .await
            .db(self)?;
        if was_on {
            account_event(
                &mut *tx,
                self,
                disable.user,
                disable.kind,
                disable.actor,
                disable.at,
            )
            .await?;
        }
        tx.commit().await.db(self)?;
        Ok(was_on)
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $2 \
             WHERE id = $1 AND active AND totp_secret IS NOT NULL AND totp_last_step < $2",
        )
        .bind(user.0)
        .bind(step)
        .execute(&mut *self.conn().await?)
        .await
        .db(self)?;
        Ok(done.rows_affected() == 1)
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn use_recovery_code(&self, user: UserId, hash: &[u8; 32]) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM totp_recovery_codes c USING users u \
             WHERE c.user_id = $1 AND c.code_hash = $2 \
               AND u.id = c.user_id AND u.active AND u.totp_secret IS NOT NULL",
        )
        .bind(user.0)
        .bind(&hash[..])
        .execute(&mut *self.conn().await?)
        .await
        .db(self)?;
        Ok(done.rows_affected() == 1)
    }
}
