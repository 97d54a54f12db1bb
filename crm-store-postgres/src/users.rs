//! Staff accounts.

use crate::{
    PgStore,
    error::DbResult,
    rows::{USER_COLUMNS, UserRow},
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    EventKind, NewUser, Page, Role, StoreError, TicketStatus, User, UserCredentials, UserId,
    UserQuery, UserRecord, UserStore, input::Username,
};

#[async_trait]
impl UserStore for PgStore {
    #[tracing::instrument(skip_all, err)]
    async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        let sql = format!(
            "INSERT INTO users (username, password_hash, role, created_at, session_key) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {USER_COLUMNS}"
        );
        let row: UserRow = sqlx::query_as(&sql)
            .bind(new.username.as_str())
            .bind(&new.password_hash)
            .bind(new.role.as_str())
            .bind(new.created_at)
            .bind(new.session_key.0)
            .fetch_one(&self.pool)
            .await
            .db(&self.target)?;
        row.user()
    }

    #[tracing::instrument(skip_all, err)]
    async fn seed_users(&self, users: Vec<NewUser>) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.db(&self.target)?;
        // A self-conflicting lock: replicas starting together take turns, and only the first
        // finds the table empty.
        sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .db(&self.target)?;
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
            .fetch_one(&mut *tx)
            .await
            .db(&self.target)?;
        if any {
            return Ok(false);
        }
        for u in users {
            sqlx::query(
                "INSERT INTO users (username, password_hash, role, created_at, session_key) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(u.username.as_str())
            .bind(&u.password_hash)
            .bind(u.role.as_str())
            .bind(u.created_at)
            .bind(u.session_key.0)
            .execute(&mut *tx)
            .await
            .db(&self.target)?;
        }
        tx.commit().await.db(&self.target)?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, err, fields(user_id = %id))]
    async fn find_user(&self, id: UserId) -> Result<UserRecord, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: UserRow = sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .db(&self.target)?
            .ok_or(StoreError::NotFound)?;
        Ok(UserRecord {
            user: row.user()?,
            active: row.active,
        })
    }

    #[tracing::instrument(skip_all, err)]
    async fn credentials(
        &self,
        username: &Username,
    ) -> Result<Option<UserCredentials>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE lower(username) = $1 AND active");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(username.key())
            .fetch_optional(&self.pool)
            .await
            .db(&self.target)?;
        row.map(|r| {
            Ok(UserCredentials {
                user: r.user()?,
                password_hash: r.password_hash,
            })
        })
        .transpose()
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError> {
        // Staff accounts are few: the page and its count are two small queries on one filter.
        const FILTER: &str = "WHERE active AND ($1::text IS NULL OR role = $1) \
                              AND ($2::text IS NULL OR lower(username) LIKE $2)";
        let role = query.role.map(Role::as_str);
        let search = query.search.as_ref().map(|s| s.like_pattern());
        let page_sql = format!(
            "SELECT {USER_COLUMNS} FROM users {FILTER} ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let count_sql = format!("SELECT count(*) FROM users {FILTER}");
        let rows: Vec<UserRow> = sqlx::query_as(&page_sql)
            .bind(role)
            .bind(&search)
            .bind(i64::from(query.page.size()))
            .bind(i64::try_from(query.page.offset()).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .db(&self.target)?;
        let total: i64 = sqlx::query_scalar(&count_sql)
            .bind(role)
            .bind(&search)
            .fetch_one(&self.pool)
            .await
            .db(&self.target)?;
        let items = rows.iter().map(UserRow::user).collect::<Result<_, _>>()?;
        Ok(query.page.page_of(items, total as u64))
    }

    #[tracing::instrument(skip_all, err, fields(user_id = %id))]
    async fn deactivate_user(
        &self,
        id: UserId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.db(&self.target)?;
        // Roles never change, so reading it unlocked is safe.
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM users WHERE id = $1 AND active")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .db(&self.target)?;
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
            .db(&self.target)?;
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
        .db(&self.target)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        // Release its open tickets and record each release, in the same transaction.
        let released: i64 = sqlx::query_scalar(
            "WITH old AS ( \
                SELECT id, status FROM tickets WHERE worker_id = $1 AND status <> $5 \
                ORDER BY id FOR UPDATE), \
             r AS ( \
                UPDATE tickets t SET status = $4, worker_id = NULL, assigned_at = NULL, \
                    in_progress_at = NULL, updated_at = $2 \
                FROM old WHERE t.id = old.id RETURNING t.id, old.status AS from_status), \
             e AS (INSERT INTO ticket_events (ticket_id, at, kind, actor_id, worker_id, from_status, to_status) \
                   SELECT id, $2, $6, $3, $1, from_status, $4 FROM r) \
             SELECT count(*) FROM r",
        )
        .bind(id.0)
        .bind(at)
        .bind(actor.0)
        .bind(TicketStatus::New.as_str())
        .bind(TicketStatus::Done.as_str())
        .bind(EventKind::Released.as_str())
        .fetch_one(&mut *tx)
        .await
        .db(&self.target)?;
        tx.commit().await.db(&self.target)?;
        Ok(released as u64)
    }
}
