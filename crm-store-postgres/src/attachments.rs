//! Files on tickets. Adding one runs in a transaction that first locks its ticket row, like
//! a message: the counts that decide the per-ticket and the customer's daily limit are read
//! after the lock, so two racing uploads cannot both take the last place.

use crate::{PgStore, error::DbResult, messages::push_target, record::Events, rows::audience};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Attachment, AttachmentStore, Author, FileKind, MessageReader, MessageTarget, NewAttachment,
    NewEvent, Page, PageRequest, Room, StoreError, TicketId, UserId, Visibility,
    attachment::may_attach, message::CUSTOMER_WINDOW,
};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};

/// The ticket as a new file is decided on.
#[derive(FromRow)]
struct Before {
    id: i64,
    status: String,
    worker_id: Option<i64>,
    done_at: Option<DateTime<Utc>>,
    files: i64,
    recent: i64,
    author_name: Option<String>,
    client_name: String,
}

#[derive(FromRow)]
struct FileRow {
    id: i64,
    ticket_id: i64,
    name: String,
    content_type: String,
    size: i64,
    sha256: String,
    visibility: String,
    author_id: Option<i64>,
    author_name: String,
    created_at: DateTime<Utc>,
    object_key: String,
    thumbnail_key: Option<String>,
}

impl TryFrom<FileRow> for Attachment {
    type Error = StoreError;
    fn try_from(r: FileRow) -> Result<Self, StoreError> {
        Ok(Attachment {
            id: r.id,
            ticket_id: TicketId(r.ticket_id),
            name: r.name,
            kind: FileKind::from_content_type(&r.content_type).ok_or_else(|| {
                StoreError::Backend(format!("unknown content type {}", r.content_type).into())
            })?,
            size: u64::try_from(r.size).unwrap_or(0),
            sha256: r.sha256,
            visibility: audience(&r.visibility)?,
            uploaded_by: Author {
                user_id: r.author_id.map(UserId),
                name: r.author_name,
            },
            created_at: r.created_at,
            object: r.object_key,
            thumbnail: r.thumbnail_key,
        })
    }
}

/// The columns of a [`FileRow`] over `ticket_attachments a LEFT JOIN users u`, with the
/// ticket's client joined as `c`.
const FILE_COLUMNS: &str = "a.id, a.ticket_id, a.name, a.content_type, a.size, a.sha256, \
    a.visibility, a.author_id, coalesce(u.username, c.name) AS author_name, a.created_at, \
    a.object_key, a.thumbnail_key";

/// Appends the condition that finds the reader's ticket as `t`; whether the reader is the
/// customer.
fn push_reader(q: &mut QueryBuilder<'_, Postgres>, reader: &MessageReader) -> bool {
    match reader {
        MessageReader::Staff(id, visibility) => {
            q.push("t.id = ").push_bind(id.0);
            if let Visibility::AssignedTo(w) = visibility {
                q.push(" AND t.worker_id = ").push_bind(w.0);
            }
            false
        }
        MessageReader::Customer(code) => {
            q.push("t.tracking_code = ")
                .push_bind(code.as_str().to_owned());
            true
        }
    }
}

impl PgStore {
    /// The ticket `target` names with its file counts; with `lock`, the ticket row is
    /// locked first and stays locked until the transaction ends.
    async fn before_file(
        &self,
        conn: &mut PgConnection,
        target: &MessageTarget,
        at: DateTime<Utc>,
        lock: bool,
    ) -> Result<Before, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT t.id, t.status, t.worker_id, t.done_at, c.name AS client_name, \
                    (SELECT count(*) FROM ticket_attachments a WHERE a.ticket_id = t.id) AS files, \
                    (SELECT count(*) FROM ticket_attachments a WHERE a.ticket_id = t.id \
                       AND a.author_id IS NULL AND a.created_at > ",
        );
        q.push_bind(at - CUSTOMER_WINDOW)
            .push(") AS recent, (SELECT username FROM users WHERE id = ")
            .push_bind(target.author().map(UserId::get))
            .push(") AS author_name FROM tickets t JOIN clients c ON c.id = t.client_id WHERE ");
        push_target(&mut q, target);
        if lock {
            // Lock in a statement of its own: the counts must be read by a later statement,
            // whose snapshot sees every upload committed by whoever held the lock before.
            let mut l = QueryBuilder::<Postgres>::new("SELECT t.id FROM tickets t WHERE ");
            push_target(&mut l, target);
            l.push(" FOR UPDATE");
            let locked: Option<(i64,)> = l
                .build_query_as()
                .fetch_optional(&mut *conn)
                .await
                .db(self)?;
            if locked.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        q.build_query_as()
            .fetch_optional(conn)
            .await
            .db(self)?
            .ok_or(StoreError::NotFound)
    }
}

fn room(b: &Before) -> Room {
    Room {
        ticket: TicketId(b.id),
        files: u64::try_from(b.files).unwrap_or(0),
        customer_recent: u64::try_from(b.recent).unwrap_or(0),
        done_at: b.done_at,
    }
}

#[async_trait]
impl AttachmentStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn attachment_room(
        &self,
        target: &MessageTarget,
        at: DateTime<Utc>,
    ) -> Result<Room, StoreError> {
        let mut conn = self.conn().await?;
        Ok(room(&self.before_file(&mut conn, target, at, false).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn add_attachment(&self, new: NewAttachment) -> Result<Attachment, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        // Read under the lock: a statement of its own sees every file committed before it.
        let b = self.before_file(&mut tx, &new.target, new.at, true).await?;
        may_attach(&new.target, &room(&b), new.max_per_ticket, new.at)?;
        let (audience, author) = (new.audience(), new.author());
        let (id,): (i64,) = sqlx::query_as("SELECT nextval('ticket_attachments_id_seq')")
            .fetch_one(&mut *tx)
            .await
            .db(self)?;
        let event = NewEvent::attachment_added(
            new.at,
            author,
            audience,
            id,
            crate::rows::status(&b.status)?,
            b.worker_id.map(UserId),
        );
        let mut q = QueryBuilder::<Postgres>::new("WITH t AS (SELECT * FROM tickets WHERE id = ");
        q.push_bind(b.id)
            .push(
                "), f AS (INSERT INTO ticket_attachments (id, ticket_id, name, content_type, \
                   size, sha256, visibility, author_id, object_key, thumbnail_key, created_at) \
                 SELECT ",
            )
            .push_bind(id)
            .push(", t.id, ")
            .push_bind(new.name.clone())
            .push(", ")
            .push_bind(new.kind.content_type())
            .push(", ")
            .push_bind(i64::try_from(new.size).unwrap_or(i64::MAX))
            .push(", ")
            .push_bind(new.sha256.clone())
            .push(", ")
            .push_bind(audience.as_str())
            .push(", ")
            .push_bind(author.map(UserId::get))
            .push(", ")
            .push_bind(new.object.clone())
            .push(", ")
            .push_bind(new.thumbnail.clone())
            .push(", ")
            .push_bind(new.at)
            .push(" FROM t RETURNING id)");
        Events::one(Some(TicketId(b.id)), &event).push_ctes(&mut q, "t");
        q.push(" SELECT count(*) FROM f");
        let (written,): (i64,) = q.build_query_as().fetch_one(&mut *tx).await.db(self)?;
        if written != 1 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.db(self)?;
        self.wrote_events();
        let name = match author {
            Some(u) => b.author_name.unwrap_or_else(|| format!("user #{}", u.0)),
            None => b.client_name,
        };
        Ok(Attachment {
            id,
            ticket_id: TicketId(b.id),
            name: new.name,
            kind: new.kind,
            size: new.size,
            sha256: new.sha256,
            visibility: audience,
            uploaded_by: Author {
                user_id: author,
                name,
            },
            created_at: new.at,
            object: new.object,
            thumbnail: new.thumbnail,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn list_attachments(
        &self,
        reader: &MessageReader,
        page: PageRequest,
    ) -> Result<Page<Attachment>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(
            "WITH c AS (SELECT t.id AS ticket_id, c.name FROM tickets t \
               JOIN clients c ON c.id = t.client_id WHERE ",
        );
        let only_customer = if push_reader(&mut q, reader) {
            " AND a.visibility = 'customer'"
        } else {
            ""
        };
        q.push(format!(
            ") SELECT (SELECT count(*) FROM ticket_attachments a WHERE a.ticket_id = c.ticket_id \
                 {only_customer}) AS total, x.* FROM c LEFT JOIN LATERAL ( \
               SELECT {FILE_COLUMNS} FROM ticket_attachments a \
               LEFT JOIN users u ON u.id = a.author_id \
               WHERE a.ticket_id = c.ticket_id{only_customer} AND a.id > "
        ));
        q.push_bind(page.cursor().map_or(0, |c| c.id))
            .push(" ORDER BY a.id LIMIT ")
            .push_bind(i64::from(page.fetch_limit()))
            .push(" OFFSET ")
            .push_bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .push(") x ON TRUE");
        #[derive(FromRow)]
        struct Listed {
            total: i64,
            #[sqlx(flatten)]
            file: FileRowOpt,
        }
        let rows: Vec<(i64, Option<FileRowOpt>)> = q
            .build_query_as::<Listed>()
            .fetch_all(&mut *self.conn().await?)
            .await
            .db(self)?
            .into_iter()
            .map(|l| (l.total, Some(l.file)))
            .collect();
        let Some((total, _)) = rows.first() else {
            return Err(StoreError::NotFound);
        };
        let total = u64::try_from(*total).unwrap_or(0);
        let mut items = Vec::with_capacity(rows.len());
        for (_, f) in rows {
            if let Some(f) = f.and_then(FileRowOpt::complete) {
                items.push(Attachment::try_from(f)?);
            }
        }
        Ok(page.page_of(items, total))
    }

    #[tracing::instrument(skip_all)]
    async fn get_attachment(
        &self,
        reader: &MessageReader,
        id: i64,
    ) -> Result<Attachment, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {FILE_COLUMNS} FROM ticket_attachments a \
             JOIN tickets t ON t.id = a.ticket_id JOIN clients c ON c.id = t.client_id \
             LEFT JOIN users u ON u.id = a.author_id WHERE a.id = "
        ));
        q.push_bind(id).push(" AND ");
        if push_reader(&mut q, reader) {
            q.push(" AND a.visibility = 'customer'");
        }
        q.build_query_as::<FileRow>()
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?
            .ok_or(StoreError::NotFound)?
            .try_into()
    }

    #[tracing::instrument(skip_all)]
    async fn remove_attachment(
        &self,
        ticket: TicketId,
        id: i64,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<Attachment, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        #[derive(FromRow)]
        struct Locked {
            status: String,
            worker_id: Option<i64>,
        }
        let t: Locked =
            sqlx::query_as("SELECT status, worker_id FROM tickets WHERE id = $1 FOR UPDATE")
                .bind(ticket.0)
                .fetch_optional(&mut *tx)
                .await
                .db(self)?
                .ok_or(StoreError::NotFound)?;
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM ticket_attachments a \
             JOIN tickets t ON t.id = a.ticket_id JOIN clients c ON c.id = t.client_id \
             LEFT JOIN users u ON u.id = a.author_id WHERE a.id = $1 AND a.ticket_id = $2"
        );
        let a: Attachment = sqlx::query_as::<_, FileRow>(&sql)
            .bind(id)
            .bind(ticket.0)
            .fetch_optional(&mut *tx)
            .await
            .db(self)?
            .ok_or(StoreError::NotFound)?
            .try_into()?;
        let event = NewEvent::attachment_removed(
            at,
            by,
            a.visibility,
            a.id,
            crate::rows::status(&t.status)?,
            t.worker_id.map(UserId),
        );
        let mut q =
            QueryBuilder::<Postgres>::new("WITH d AS (DELETE FROM ticket_attachments WHERE id = ");
        q.push_bind(id).push(
            " RETURNING ticket_id), x AS (SELECT t.* FROM tickets t JOIN d ON t.id = d.ticket_id)",
        );
        Events::one(Some(ticket), &event).push_ctes(&mut q, "x");
        q.push(" SELECT count(*) FROM d");
        let (deleted,): (i64,) = q.build_query_as().fetch_one(&mut *tx).await.db(self)?;
        if deleted != 1 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.db(self)?;
        self.wrote_events();
        Ok(a)
    }

    #[tracing::instrument(skip_all)]
    async fn known_objects(&self, objects: &[String]) -> Result<Vec<String>, StoreError> {
        let known: Vec<(String,)> = sqlx::query_as(
            "SELECT k FROM unnest($1::text[]) k WHERE EXISTS ( \
               SELECT 1 FROM ticket_attachments WHERE object_key = k) \
             OR EXISTS (SELECT 1 FROM ticket_attachments WHERE thumbnail_key = k)",
        )
        .bind(objects)
        .fetch_all(&mut *self.conn().await?)
        .await
        .db(self)?;
        Ok(known.into_iter().map(|(k,)| k).collect())
    }
}

/// A [`FileRow`] from the outer side of a join: every column may be absent.
#[derive(FromRow)]
struct FileRowOpt {
    id: Option<i64>,
    ticket_id: Option<i64>,
    name: Option<String>,
    content_type: Option<String>,
    size: Option<i64>,
    sha256: Option<String>,
    visibility: Option<String>,
    author_id: Option<i64>,
    author_name: Option<String>,
    created_at: Option<DateTime<Utc>>,
    object_key: Option<String>,
    thumbnail_key: Option<String>,
}

impl FileRowOpt {
    fn complete(self) -> Option<FileRow> {
        Some(FileRow {
            id: self.id?,
            ticket_id: self.ticket_id?,
            name: self.name?,
            content_type: self.content_type?,
            size: self.size?,
            sha256: self.sha256?,
            visibility: self.visibility?,
            author_id: self.author_id,
            author_name: self.author_name?,
            created_at: self.created_at?,
            object_key: self.object_key?,
            thumbnail_key: self.thumbnail_key,
        })
    }
}
