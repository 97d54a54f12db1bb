//! Photos and files on a ticket. The bytes live in an object store (any `object_store`
//! implementation the embedder hands the facade); the store of record keeps one metadata
//! row per file, written only once the object is complete, so a cut or refused upload
//! leaves nothing a reader can find. Objects without a row (a crash between the two steps,
//! a removal whose object delete failed) are removed by [`crate::Crm::sweep_orphans`].
//!
//! Who sees what follows the conversation's rules ([`Audience`]): internal files never
//! reach a public view, a public stream, a customer e-mail or a customer's download.

pub mod scrub;
pub mod sniff;
pub mod thumb;

pub use sniff::FileKind;

use crate::{
    error::StoreError,
    ids::{TicketId, UserId},
    message::{Audience, Author, CLOSED_AFTER, MessageReader, MessageTarget},
    page::{Cursor, Page, PageRequest, Positioned},
};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

/// How many files a customer may add to one ticket in [`crate::message::CUSTOMER_WINDOW`]:
/// the photos of one fault, not a dump.
pub const CUSTOMER_ATTACHMENTS_PER_DAY: u32 = 5;

/// The default largest file (10 MiB: a phone photo with room to spare).
pub const DEFAULT_MAX_BYTES: u64 = 10 << 20;

/// The default most files on one ticket.
pub const DEFAULT_MAX_PER_TICKET: u32 = 20;

/// How old an object without a row must be before the sweep removes it: far longer than
/// any upload takes between its object and its row.
pub const ORPHAN_AFTER: TimeDelta = TimeDelta::hours(1);

/// The longest stored file name, in characters.
pub const NAME_MAX: usize = 120;

/// Where every attachment object lives inside the object store.
pub const OBJECT_PREFIX: &str = "attachments";

/// One stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Identity; increases with time across all tickets.
    pub id: i64,
    /// The ticket.
    pub ticket_id: TicketId,
    /// The file name as sanitised at upload ([`sanitize_name`]).
    pub name: String,
    /// What the bytes are, decided from them.
    pub kind: FileKind,
    /// Stored bytes (after metadata removal).
    pub size: u64,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: String,
    /// Who may download it.
    pub visibility: Audience,
    /// Who uploaded it.
    pub uploaded_by: Author,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The object's path in the object store.
    pub object: String,
    /// The thumbnail's path, for pictures that could be decoded.
    pub thumbnail: Option<String>,
}

impl Attachment {
    /// Whether it has a thumbnail.
    pub fn has_thumbnail(&self) -> bool {
        self.thumbnail.is_some()
    }
}

/// Attachments are listed oldest first by id.
impl Positioned for Attachment {
    fn position(&self) -> Cursor {
        Cursor {
            key: self.id,
            id: self.id,
        }
    }
}

/// A completed object to record. The store checks, in the same atomic step as the insert,
/// that the ticket is in the uploader's scope, that it holds fewer than `max_per_ticket`
/// files, and for a customer that the ticket was not done more than [`CLOSED_AFTER`] ago and
/// [`CUSTOMER_ATTACHMENTS_PER_DAY`] is not used up; it writes the `attachment_added` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// Where and by whom (a customer's files are always customer-visible).
    pub target: MessageTarget,
    /// Sanitised file name.
    pub name: String,
    /// Decided kind.
    pub kind: FileKind,
    /// Stored bytes.
    pub size: u64,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: String,
    /// The complete object.
    pub object: String,
    /// The complete thumbnail object, if any.
    pub thumbnail: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The most files the ticket may hold (`ATTACHMENT_MAX_PER_TICKET`).
    pub max_per_ticket: u32,
}

/// What a ticket holds already, for the checks of a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    /// The ticket.
    pub ticket: TicketId,
    /// Files on it now.
    pub files: u64,
    /// Files its customer added in the last day.
    pub customer_recent: u64,
    /// When it was done, if it is.
    pub done_at: Option<DateTime<Utc>>,
}

impl NewAttachment {
    /// Who may download it.
    pub fn audience(&self) -> Audience {
        self.target.audience()
    }

    /// The staff uploader, `None` for the customer.
    pub fn author(&self) -> Option<UserId> {
        self.target.author()
    }
}

/// Whether `target` may add one more file to a ticket that holds `room`, at `at`: the rule
/// the facade applies before it streams anything (so a full ticket costs no upload) and
/// each store applies again under its lock (so racing uploads cannot pass it together).
pub fn may_attach(
    target: &MessageTarget,
    room: &Room,
    max_per_ticket: u32,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if room.files >= u64::from(max_per_ticket) {
        return Err(StoreError::TicketFull);
    }
    if matches!(target, MessageTarget::Customer(_)) {
        if room.done_at.is_some_and(|d| d + CLOSED_AFTER <= at) {
            return Err(StoreError::TicketClosed);
        }
        if room.customer_recent >= u64::from(CUSTOMER_ATTACHMENTS_PER_DAY) {
            return Err(StoreError::LimitReached);
        }
    }
    Ok(())
}

/// The name a file is stored and offered under: the last path segment of what the client
/// sent, with control characters, quotes, slashes and other characters that mean something
/// to a shell, a header or a file system replaced by `_`, at most [`NAME_MAX`] characters,
/// never empty or hidden.
pub fn sanitize_name(raw: Option<&str>, kind: FileKind) -> String {
    let base = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')' | '+' | ',') {
                c
            } else {
                '_'
            }
        })
        .collect();
    name = name.trim().trim_start_matches('.').to_owned();
    if name.chars().count() > NAME_MAX {
        name = name
            .chars()
            .rev()
            .take(NAME_MAX)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
    }
    if name.is_empty() {
        name = format!("file.{}", kind.extension());
    }
    name
}

impl FileKind {
    /// The usual file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Heic => "heic",
            Self::Gif => "gif",
            Self::Pdf => "pdf",
            Self::Text => "txt",
        }
    }
}

/// The files on tickets: their metadata, the bytes being in the object store.
#[async_trait]
pub trait AttachmentStore: Send + Sync + 'static {
    /// What the ticket `target` names holds, for the early check of an upload;
    /// [`StoreError::NotFound`] when the ticket is absent or outside the uploader's scope.
    async fn attachment_room(
        &self,
        target: &MessageTarget,
        at: DateTime<Utc>,
    ) -> Result<Room, StoreError>;

    /// Records a complete object with its `attachment_added` event in one atomic step, after
    /// the checks [`NewAttachment`] lists ([`may_attach`]): [`StoreError::NotFound`],
    /// [`StoreError::TicketFull`], [`StoreError::TicketClosed`], [`StoreError::LimitReached`].
    async fn add_attachment(&self, new: NewAttachment) -> Result<Attachment, StoreError>;

    /// One page of a ticket's files the reader may see, oldest first;
    /// [`StoreError::NotFound`] when the ticket is absent or not the reader's.
    async fn list_attachments(
        &self,
        reader: &MessageReader,
        page: PageRequest,
    ) -> Result<Page<Attachment>, StoreError>;

    /// One file of the reader's ticket that the reader may see.
    async fn get_attachment(
        &self,
        reader: &MessageReader,
        id: i64,
    ) -> Result<Attachment, StoreError>;

    /// Removes a file's row with its `attachment_removed` event by `by` (the object is
    /// deleted after, by the caller); [`StoreError::NotFound`] when the ticket has no such
    /// file.
    async fn remove_attachment(
        &self,
        ticket: TicketId,
        id: i64,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<Attachment, StoreError>;

    /// Which of `objects` (object or thumbnail paths) a row still names: the sweep removes
    /// the rest.
    async fn known_objects(&self, objects: &[String]) -> Result<Vec<String>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::TrackingCode;

    #[test]
    fn names_are_sanitised() {
        let k = FileKind::Jpeg;
        assert_eq!(sanitize_name(Some("IMG_0042.JPG"), k), "IMG_0042.JPG");
        assert_eq!(sanitize_name(Some("../../etc/passwd"), k), "passwd");
        assert_eq!(
            sanitize_name(Some("C:\\Users\\me\\photo 1.jpg"), k),
            "photo 1.jpg"
        );
        assert_eq!(
            sanitize_name(Some("a\"b\r\nContent-Type: text;.jpg"), k),
            "a_b__Content-Type_ text_.jpg"
        );
        assert_eq!(sanitize_name(Some(".htaccess"), k), "htaccess");
        assert_eq!(sanitize_name(Some(""), FileKind::Pdf), "file.pdf");
        assert_eq!(sanitize_name(None, FileKind::Text), "file.txt");
        let long = "x".repeat(300) + ".jpg";
        let s = sanitize_name(Some(&long), k);
        assert_eq!(s.chars().count(), NAME_MAX);
        assert!(s.ends_with(".jpg"));
    }

    #[test]
    fn limits_apply_to_whom_they_name() {
        let now = Utc::now();
        let staff = MessageTarget::Staff {
            id: TicketId(1),
            author: UserId(1),
            visibility: crate::role::Visibility::All,
            audience: Audience::Internal,
        };
        let customer = MessageTarget::Customer(TrackingCode::generate());
        let room = |files, recent, done_at| Room {
            ticket: TicketId(1),
            files,
            customer_recent: recent,
            done_at,
        };
        assert!(may_attach(&staff, &room(19, 9, None), 20, now).is_ok());
        assert!(matches!(
            may_attach(&staff, &room(20, 0, None), 20, now),
            Err(StoreError::TicketFull)
        ));
        assert!(may_attach(&customer, &room(3, 4, None), 20, now).is_ok());
        assert!(matches!(
            may_attach(&customer, &room(3, 5, None), 20, now),
            Err(StoreError::LimitReached)
        ));
        let long_done = Some(now - CLOSED_AFTER);
        assert!(matches!(
            may_attach(&customer, &room(0, 0, long_done), 20, now),
            Err(StoreError::TicketClosed)
        ));
        assert!(may_attach(&staff, &room(0, 0, long_done), 20, now).is_ok());
    }
}
