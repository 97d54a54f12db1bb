//! File bodies: an attachment's metadata (never its object paths).

use super::{AudienceBody, AuthorBody};
use chrono::{DateTime, Utc};
use crm_core::Attachment;
use poem_openapi::Object;

/// One file on a ticket.
#[derive(Object, Debug)]
pub struct AttachmentBody {
    /// Identity; increases with time.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// The file name, sanitised (show it as text).
    pub name: String,
    /// What the bytes are, decided from them: `image/jpeg`, `image/png`, `image/webp`,
    /// `image/heic`, `image/gif`, `application/pdf` or `text/plain; charset=utf-8`.
    pub content_type: String,
    /// Stored bytes (photo metadata removed).
    pub size: u64,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: String,
    /// `internal` (staff only) or `customer` (the customer can download it).
    pub visibility: AudienceBody,
    /// Who uploaded it.
    pub uploaded_by: AuthorBody,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Whether `.../thumbnail` serves a small JPEG of it.
    pub has_thumbnail: bool,
}

impl From<Attachment> for AttachmentBody {
    fn from(a: Attachment) -> Self {
        Self {
            id: a.id,
            ticket_id: a.ticket_id.0,
            has_thumbnail: a.has_thumbnail(),
            name: a.name,
            content_type: a.kind.content_type().to_owned(),
            size: a.size,
            sha256: a.sha256,
            visibility: a.visibility.into(),
            uploaded_by: a.uploaded_by.into(),
            created_at: a.created_at,
        }
    }
}
