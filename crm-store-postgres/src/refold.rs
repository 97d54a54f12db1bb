//! Refolding stored titles when the case folding changes: the search columns hold titles
//! folded by the application ([`crm_core::input::fold_case`]), so a new folding rule must be
//! applied to the rows already stored. Runs once per [`FOLD_VERSION`], by whichever replica
//! takes the lock first, in batches so no transaction holds a million rows.

use crate::{PgStore, error::DbResult};
use crm_core::{StoreError, input::fold_case};

/// The folding the stored titles follow. 1: `str::to_lowercase`; 2: simple case folding.
pub const FOLD_VERSION: i64 = 2;
const BATCH: i64 = 5_000;
/// The advisory lock that serialises data migrations across replicas.
const LOCK_KEY: i64 = 0x6372_6d5f_666f_6c64; // "crm_fold"

impl PgStore {
    pub(crate) async fn refold_titles(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.db(self)?;
        // One replica refolds; the others wait here and then find the version current. The
        // lock belongs to this connection's session, so a crash releases it.
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await
            .db(self)?;
        let result = self.refold_locked(&mut conn).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await
            .db(self);
        result.and(unlocked.map(|_| ()))
    }

    async fn refold_locked(&self, conn: &mut sqlx::PgConnection) -> Result<(), StoreError> {
        let done: Option<i64> =
            sqlx::query_scalar("SELECT value FROM store_meta WHERE key = 'fold_version'")
                .fetch_optional(&mut *conn)
                .await
                .db(self)?;
        if done.is_some_and(|v| v >= FOLD_VERSION) {
            return Ok(());
        }
        let mut after = 0i64;
        loop {
            let rows: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, title FROM tickets WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after)
                    .bind(BATCH)
                    .fetch_all(&mut *conn)
                    .await
                    .db(self)?;
            let Some(&(last, _)) = rows.last() else { break };
            after = last;
            let (ids, folded): (Vec<i64>, Vec<String>) =
                rows.iter().map(|(id, t)| (*id, fold_case(t))).unzip();
            sqlx::query(
                "WITH v AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS v(id, folded)), \
                 t AS (UPDATE tickets t SET title_folded = v.folded FROM v \
                       WHERE t.id = v.id AND t.title_folded IS DISTINCT FROM v.folded) \
                 UPDATE ticket_search s SET title = v.folded FROM v \
                 WHERE s.id = v.id AND s.title IS DISTINCT FROM v.folded",
            )
            .bind(&ids)
            .bind(&folded)
            .execute(&mut *conn)
            .await
            .db(self)?;
        }
        sqlx::query(
            "INSERT INTO store_meta (key, value) VALUES ('fold_version', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(FOLD_VERSION)
        .execute(&mut *conn)
        .await
        .db(self)?;
        Ok(())
    }
}
