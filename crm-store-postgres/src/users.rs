//! Staff accounts.

use crate::{
    PgStore,
    error::DbResult,
    record::Events,
    rows::{AccountEventRow, USER_COLUMNS, UserRow},
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    AccountEvent, AccountEventKind, NewEvent, NewUser, Page, PasswordChange, Role, SessionRecord,
    StoreError, TicketId, TicketStatus, User, UserCredentials, UserId, UserQuery, UserRecord,
    UserStore, input::Username,
};
use sqlx::{FromRow, Postgres, QueryBuilder};

/// The account and whether the presented token was signed out, read together.
#[derive(FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    revoked: bool,
}

/// Inserts an account and its `created` event in one statement.
async fn insert_user<'c, E: sqlx::PgExecutor<'c>>(
    exec: E,
    store: &PgStore,
    u: &NewUser,
) -> Result<UserRow, StoreError> {
    let sql = format!(
        "WITH u AS ( \
            INSERT INTO users (username, password_hash, role, created_at, session_key, \
                               must_change_password) \
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING *), \
         e AS (INSERT INTO account_events (user_id, at, kind, actor_id) \
               SELECT id, $4, $7, $8 FROM u) \
         SELECT {USER_COLUMNS} FROM u"
    );
    sqlx::query_as(&sql)
        .bind(u.username.as_str())
        .bind(&u.password_hash)
        .bind(u.role.as_str())
        .bind(u.created_at)
        .bind(u.session_key.0)
        .bind(u.must_change_password)
        .bind(AccountEventKind::Created.as_str())
        .bind(u.created_by.map(UserId::get))
        .fetch_one(exec)
        .await
        .db(store)
}

#[async_trait]
impl UserStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        insert_user(&mut *self.conn().await?, self, &new)
            .await?
            .user()
    }

    #[tracing::instrument(skip_all)]
    async fn seed_users(&self, users: Vec<NewUser>) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        // A self-conflicting lock: replicas starting together take turns, and only the first
        // finds the table empty.
        sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .db(self)?;
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
            .fetch_one(&mut *tx)
            .await
            .db(self)?;
        if any {
            return Ok(false);
        }
        for u in &users {
            insert_user(&mut *tx, self, u).await?;
        }
        tx.commit().await.db(self)?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn find_user(&self, id: UserId) -> Result<UserRecord, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: UserRow = sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?
            .ok_or(StoreError::NotFound)?;
        Ok(UserRecord {
            user: row.user()?,
            active: row.active,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn credentials(
        &self,
        username: &Username,
    ) -> Result<Option<UserCredentials>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE lower(username) = $1 AND active");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(username.key())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?;
        row.map(|r| {
            Ok(UserCredentials {
                user: r.user()?,
                password_hash: r.password_hash,
            })
        })
        .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError> {
        // Staff accounts are few: the page and its count are two small queries on one filter.
        const FILTER: &str = "WHERE active AND ($1::text IS NULL OR role = $1) \
                              AND ($2::text IS NULL OR lower(username) LIKE $2)";
        let role = query.role.map(Role::as_str);
        let search = query.search.as_ref().map(|s| s.like_pattern());
        let cursor = query.page.cursor();
        let page_sql = format!(
            "SELECT {USER_COLUMNS} FROM users {FILTER} \
             AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6)) \
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let count_sql = format!("SELECT count(*) FROM users {FILTER}");
        let rows: Vec<UserRow> = sqlx::query_as(&page_sql)
            .bind(role)
            .bind(&search)
            .bind(i64::from(query.page.fetch_limit()))
            .bind(i64::try_from(query.page.offset()).unwrap_or(i64::MAX))
            .bind(cursor.map(|c| crate::rows::cursor_time(c.key)))
            .bind(cursor.map(|c| c.id))
            .fetch_all(&mut *self.conn().await?)
            .await
            .db(self)?;
        let total: i64 = sqlx::query_scalar(&count_sql)
            .bind(role)
            .bind(&search)
            .fetch_one(&mut *self.conn().await?)
            .await
            .db(self)?;
        let items = rows.iter().map(UserRow::user).collect::<Result<_, _>>()?;
        Ok(query.page.page_of(items, total as u64))
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn find_session(&self, id: UserId, token_id: &str) -> Result<SessionRecord, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, EXISTS ( \
                SELECT 1 FROM revoked_tokens WHERE token_id = $2 AND user_id = $1) AS revoked \
             FROM users WHERE id = $1"
        );
        let row: SessionRow = sqlx::query_as(&sql)
            .bind(id.0)
            .bind(token_id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?
            .ok_or(StoreError::NotFound)?;
        Ok(SessionRecord {
            user: row.user.user()?,
            active: row.user.active,
            revoked: row.revoked,
        })
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn credentials_by_id(&self, id: UserId) -> Result<UserCredentials, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND active");
        let row: UserRow = sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?
            .ok_or(StoreError::NotFound)?;
        Ok(UserCredentials {
            user: row.user()?,
            password_hash: row.password_hash,
        })
    }

    #[tracing::instrument(skip_all, fields(user_id = %change.user))]
    async fn set_password(&self, change: PasswordChange) -> Result<User, StoreError> {
        // Compare-and-set on the session key: the new key, the hash and the event in one
        // statement, only if nothing changed the account's key since the decision.
        let sql = format!(
            "WITH u AS ( \
                UPDATE users SET password_hash = $3, session_key = $4, must_change_password = $5 \
                WHERE id = $1 AND active AND session_key = $2 RETURNING *), \
             e AS (INSERT INTO account_events (user_id, at, kind, actor_id) \
                   SELECT id, $6, $7, $8 FROM u) \
             SELECT {USER_COLUMNS} FROM u"
        );
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(change.user.0)
            .bind(change.expected_key.0)
            .bind(&change.password_hash)
            .bind(change.new_key.0)
            .bind(change.must_change_password)
            .bind(change.at)
            .bind(change.kind.as_str())
            .bind(change.actor.0)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?;
        if let Some(r) = row {
            return r.user();
        }
        let active: Option<bool> = sqlx::query_scalar("SELECT active FROM users WHERE id = $1")
            .bind(change.user.0)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?;
        match active {
            Some(true) => Err(StoreError::Stale),
            _ => Err(StoreError::NotFound),
        }
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn revoke_token(
        &self,
        user: UserId,
        token_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "WITH gone AS (DELETE FROM revoked_tokens WHERE expires_at <= $4) \
             INSERT INTO revoked_tokens (token_id, user_id, expires_at) \
             SELECT $1, $2, $3 WHERE $3 > $4 ON CONFLICT (token_id) DO NOTHING",
        )
        .bind(token_id)
        .bind(user.0)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *self.conn().await?)
        .await
        .db(self)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn account_history(&self, id: UserId) -> Result<Vec<AccountEvent>, StoreError> {
        let rows: Vec<AccountEventRow> = sqlx::query_as(
            "SELECT id, user_id, at, kind, actor_id FROM account_events \
             WHERE user_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(&mut *self.conn().await?)
        .await
        .db(self)?;
        if rows.is_empty() {
            // Every account has its `created` event: no rows means no account.
            return Err(StoreError::NotFound);
        }
        rows.into_iter().map(AccountEvent::try_from).collect()
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn deactivate_user(
        &self,
        id: UserId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        // Roles never change, so reading it unlocked is safe.
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM users WHERE id = $1 AND active")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .db(self)?;
        let Some(role) = role else {
            return Err(StoreError::NotFound);
        };
        if role == Role::Admin.as_str() {
            // Lock every active admin, in id order (so concurrent deletions queue instead of
            // deadlocking), then decide on what the locks protect.
            let admins: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM users WHERE role = $1 AND active ORDER BY id FOR UPDATE",
            )
            .bind(Role::Admin.as_str())
            .fetch_all(&mut *tx)
            .await
            .db(self)?;
            if !admins.contains(&id.0) {
                return Err(StoreError::NotFound);
            }
            if admins.len() <= 1 {
                return Err(StoreError::LastAdmin);
            }
        }
        let done = sqlx::query(
            "UPDATE users SET active = FALSE, deactivated_at = $2 WHERE id = $1 AND active",
        )
        .bind(id.0)
        .bind(at)
        .execute(&mut *tx)
        .await
        .db(self)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO account_events (user_id, at, kind, actor_id) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.0)
        .bind(at)
        .bind(AccountEventKind::Deleted.as_str())
        .bind(actor.0)
        .execute(&mut *tx)
        .await
        .db(self)?;
        let released = self.release_open_tickets(&mut tx, id, actor, at).await?;
        tx.commit().await.db(self)?;
        if released > 0 {
            self.wrote_events();
        }
        Ok(released)
    }
}

impl PgStore {
    /// Puts a deactivated worker's open tickets back to `new` with no worker, each with its
    /// `released` event, inside the deactivation's transaction.
    async fn release_open_tickets(
        &self,
        tx: &mut crate::pool::Tx<'_>,
        worker: UserId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        // Lock them in id order, so a concurrent change waits or is waited for.
        let open: Vec<(i64, String, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT t.id, t.status, t.stage_id, s.name FROM tickets t \
             LEFT JOIN stages s ON s.id = t.stage_id \
             WHERE t.worker_id = $1 AND t.status <> $2 ORDER BY t.id FOR UPDATE OF t",
        )
        .bind(worker.0)
        .bind(TicketStatus::Done.as_str())
        .fetch_all(&mut **tx)
        .await
        .db(self)?;
        if open.is_empty() {
            return Ok(0);
        }
        let mut events = Events::default();
        let mut ids = Vec::with_capacity(open.len());
        for (ticket, from, stage, name) in &open {
            ids.push(*ticket);
            let from = crate::rows::status(from)?;
            events.push(
                Some(TicketId(*ticket)),
                &NewEvent::released(at, actor, worker, from),
            );
            // A stage belongs to a status: back to `new`, the ticket leaves its stage.
            if let (Some(id), Some(name)) = (stage, name) {
                if from != TicketStatus::New {
                    let left = crm_core::StageRef {
                        id: crm_core::StageId(*id),
                        name: name.clone(),
                    };
                    let change = crm_core::stage::change(Some(&left), None);
                    events.push(
                        Some(TicketId(*ticket)),
                        &NewEvent::stage_changed(at, actor, TicketStatus::New, None, change),
                    );
                }
            }
        }
        let mut q = QueryBuilder::<Postgres>::new("WITH t AS (UPDATE tickets SET status = ");
        q.push_bind(TicketStatus::New.as_str())
            .push(", stage_id = CASE WHEN status = ")
            .push_bind(TicketStatus::New.as_str())
            .push(" THEN stage_id END, stage_at = CASE WHEN status = ")
            .push_bind(TicketStatus::New.as_str())
            .push(" THEN stage_at END")
            .push(", worker_id = NULL, assigned_at = NULL, in_progress_at = NULL, updated_at = ")
            .push_bind(at)
            .push(" WHERE id = ANY(")
            .push_bind(ids)
            .push(") RETURNING *)");
        events.push_ctes(&mut q, "t");
        q.push(" SELECT count(*) FROM t");
        let released: i64 = q.build_query_scalar().fetch_one(&mut **tx).await.db(self)?;
        Ok(released as u64)
    }
}
