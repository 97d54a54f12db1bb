//! Files on a ticket through the facade: an upload streams from the transport through type
//! detection, metadata removal and hashing into the object store, part by part, and only a
//! complete object is given its row. Downloads stream back from the object store.

use super::{Crm, not_found, require};
use crate::{
    attachment::{
        self, Attachment, FileKind, NewAttachment, OBJECT_PREFIX, Room,
        scrub::Scrubber,
        sniff::{SNIFF_BYTES, TextCheck},
    },
    error::{CoreError, StoreError},
    ids::TicketId,
    input::ValidationErrors,
    message::{Audience, MessageReader, MessageTarget},
    page::{Page, parse_list},
    role::{Actor, Permission},
    service::ListMessages,
    store::Store,
    ticket::TrackingCode,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{
    ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart, memory::InMemory, path::Path,
};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Where attachments are kept and how large they may be.
#[derive(Debug, Clone)]
pub struct FileSettings {
    /// The largest file accepted, in bytes (`ATTACHMENT_MAX_BYTES`).
    pub max_bytes: u64,
    /// The most files on one ticket (`ATTACHMENT_MAX_PER_TICKET`).
    pub max_per_ticket: u32,
    /// How many bytes an upload gathers before it writes them as one part: what one
    /// upload holds in memory (twice, with the part in flight). S3 needs at least 5 MiB.
    pub part_bytes: usize,
}

impl Default for FileSettings {
    fn default() -> Self {
        Self {
            max_bytes: attachment::DEFAULT_MAX_BYTES,
            max_per_ticket: attachment::DEFAULT_MAX_PER_TICKET,
            part_bytes: 256 << 10,
        }
    }
}

/// The object store with its settings, shared by clones of the facade.
pub(super) struct Files {
    objects: Arc<dyn ObjectStore>,
    settings: FileSettings,
    /// One picture decoded at a time per process: decoding is what grows with a photo.
    decode: tokio::sync::Semaphore,
}

impl Files {
    pub(super) fn new(objects: Arc<dyn ObjectStore>, settings: FileSettings) -> Self {
        Self {
            objects,
            settings,
            decode: tokio::sync::Semaphore::new(1),
        }
    }

    /// In memory: the embedded default beside the memory store.
    pub(super) fn in_memory() -> Self {
        Self::new(Arc::new(InMemory::new()), FileSettings::default())
    }
}

/// Who is uploading, before anything is read.
#[derive(Debug, Clone)]
pub enum Uploader<'a> {
    /// Staff on a ticket (an admin, or the ticket's worker).
    Staff(&'a Actor, TicketId),
    /// The customer holding this tracking code.
    Customer(&'a str),
}

/// An upload the facade agreed to take: the ticket exists for the uploader and has room.
#[derive(Debug, Clone)]
pub struct UploadSlot {
    target: MessageTarget,
    ticket: TicketId,
}

/// A complete object not yet given its row: hand it to [`Crm::finish_upload`], or to
/// [`Crm::discard_upload`] when the request fails after all.
#[derive(Debug)]
pub struct StoredFile {
    name: String,
    kind: FileKind,
    size: u64,
    sha256: String,
    object: Path,
    thumbnail: Option<Path>,
}

impl StoredFile {
    /// What the bytes are.
    pub fn kind(&self) -> FileKind {
        self.kind
    }
}

/// A download: the file's row and its bytes as they stream from the object store.
pub struct Download {
    /// The file.
    pub attachment: Attachment,
    /// How many bytes follow.
    pub size: u64,
    /// The bytes.
    pub body: BoxStream<'static, Result<Bytes, object_store::Error>>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("attachment", &self.attachment.id)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

fn object_failed(e: object_store::Error) -> CoreError {
    CoreError::Unavailable(StoreError::Unavailable(format!("object store: {e}")))
}

fn refusal(e: StoreError, max_per_ticket: u32, what: &'static str) -> CoreError {
    match e {
        StoreError::TicketFull => CoreError::TooManyAttachments {
            max: max_per_ticket,
        },
        StoreError::TicketClosed => CoreError::ConversationClosed,
        StoreError::LimitReached => CoreError::TooManyUploads,
        e => not_found(what)(e),
    }
}

/// A random object name: nothing about the ticket's content, never guessed, never reused.
fn object_name(ticket: TicketId) -> Path {
    let r: u128 = rand::random();
    Path::from(format!("{OBJECT_PREFIX}/{}/{r:032x}", ticket.0))
}

/// The size and SHA-256 of what is stored, the hash taken beside the upload on another worker
/// (it is over a quarter of an upload's work, and nothing needs it before the end): the pieces
/// go to it in batches of about a part, at most one batch waiting.
struct Hashing {
    batch: Vec<Bytes>,
    size: usize,
    stored: u64,
    every: usize,
    to: tokio::sync::mpsc::Sender<Vec<Bytes>>,
    task: tokio::task::JoinHandle<String>,
}

impl Hashing {
    fn new(every: usize) -> Self {
        let (to, mut from) = tokio::sync::mpsc::channel::<Vec<Bytes>>(1);
        let task = tokio::spawn(async move {
            let mut sha = Sha256::new();
            while let Some(batch) = from.recv().await {
                for piece in batch {
                    sha.update(&piece);
                }
            }
            sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
        });
        Self {
            batch: Vec::new(),
            size: 0,
            stored: 0,
            every,
            to,
            task,
        }
    }

    async fn update(&mut self, piece: Bytes) {
        self.size += piece.len();
        self.stored += piece.len() as u64;
        self.batch.push(piece);
        if self.size >= self.every {
            self.size = 0;
            // The task ends only when `to` is dropped: a send cannot fail.
            let _ = self.to.send(std::mem::take(&mut self.batch)).await;
        }
    }

    /// The stored size and the hash, in hex.
    async fn finish(self) -> Result<(u64, String), CoreError> {
        let Self {
            batch,
            to,
            task,
            stored,
            ..
        } = self;
        if !batch.is_empty() {
            let _ = to.send(batch).await;
        }
        drop(to);
        let hex = task
            .await
            .map_err(|e| CoreError::Internal(StoreError::Backend(Box::new(e))))?;
        Ok((stored, hex))
    }
}

/// The object being written: one `put` when it fits one part, multipart beyond.
enum Sink {
    Buffer(Vec<u8>),
    Multipart(WriteMultipart),
}

impl<S: Store> Crm<S> {
    /// Replaces where files are kept (the memory store's default is in memory): any
    /// `object_store` implementation, a directory, S3 or anything else.
    pub fn with_files(mut self, objects: Arc<dyn ObjectStore>, settings: FileSettings) -> Self {
        self.files = Arc::new(Files::new(objects, settings));
        self
    }

    /// The file settings in force.
    pub fn file_settings(&self) -> &FileSettings {
        &self.files.settings
    }

    /// Agrees to an upload before a byte is read: the ticket exists for the uploader and has
    /// room (the store checks again when the row is written, so racing uploads cannot
    /// overfill it).
    pub async fn begin_upload(&self, who: Uploader<'_>) -> Result<UploadSlot, CoreError> {
        let (target, what) = match who {
            Uploader::Staff(actor, id) => (
                MessageTarget::Staff {
                    id,
                    author: actor.id,
                    visibility: actor.visibility(),
                    // Decided by the form's visibility part, which may follow the file.
                    audience: Audience::Internal,
                },
                "Ticket",
            ),
            Uploader::Customer(code) => (
                MessageTarget::Customer(
                    TrackingCode::parse(code).ok_or(CoreError::NotFound("Request"))?,
                ),
                "Request",
            ),
        };
        let max = self.files.settings.max_per_ticket;
        let now = self.clock.now();
        let room: Room = self
            .store
            .attachment_room(&target, now)
            .await
            .map_err(not_found(what))?;
        attachment::may_attach(&target, &room, max, now).map_err(|e| refusal(e, max, what))?;
        Ok(UploadSlot {
            target,
            ticket: room.ticket,
        })
    }

    /// Streams one file into the object store: the kind decided from its first bytes
    /// (anything not admitted is refused before a byte is stored), photo metadata removed,
    /// the size limit counted on every chunk (over it, the partial object is aborted), the
    /// SHA-256 of what is stored, and a thumbnail for pictures. A cut stream leaves nothing.
    pub async fn store_upload<B, E>(
        &self,
        slot: &UploadSlot,
        name: Option<&str>,
        body: B,
    ) -> Result<StoredFile, CoreError>
    where
        B: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let object = object_name(slot.ticket);
        let mut sink = Sink::Buffer(Vec::with_capacity(self.files.settings.part_bytes));
        let written = self.write_object(&object, &mut sink, body).await;
        let (kind, size, sha256) = match written {
            Ok(w) => w,
            Err(e) => {
                if let Sink::Multipart(w) = sink {
                    let _ = w.abort().await;
                }
                return Err(e);
            }
        };
        match sink {
            Sink::Buffer(mut buf) => {
                // An object store may keep the buffer itself (in memory): only its bytes.
                buf.shrink_to_fit();
                self.files
                    .objects
                    .put(&object, PutPayload::from(buf))
                    .await
                    .map_err(object_failed)?;
            }
            Sink::Multipart(w) => {
                w.finish().await.map_err(object_failed)?;
            }
        }
        let thumbnail = self.make_thumbnail(kind, &object).await;
        Ok(StoredFile {
            name: attachment::sanitize_name(name, kind),
            kind,
            size,
            sha256,
            object,
            thumbnail,
        })
    }

    /// Reads `body` to its end through the checks into `sink`: the kind, stored size and hash.
    async fn write_object<B, E>(
        &self,
        object: &Path,
        sink: &mut Sink,
        mut body: B,
    ) -> Result<(FileKind, u64, String), CoreError>
    where
        B: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let settings = &self.files.settings;
        let mut head = Vec::new();
        let mut state: Option<(FileKind, Scrubber, Option<TextCheck>)> = None;
        let mut received = 0u64;
        let mut out = Vec::new();
        let mut hash = Hashing::new(settings.part_bytes);
        loop {
            let chunk = match body.next().await {
                Some(Ok(c)) => Some(c),
                Some(Err(e)) => {
                    return Err(ValidationErrors::one(
                        "file",
                        format!("The file did not arrive whole ({e}); nothing was kept."),
                    )
                    .into());
                }
                None => None,
            };
            if let Some(c) = &chunk {
                received += c.len() as u64;
                if received > settings.max_bytes {
                    return Err(CoreError::FileTooLarge {
                        max: settings.max_bytes,
                    });
                }
            }
            // Stored as it came: the chunk itself goes on, uncopied.
            if let (Some((_, scrubber, text)), Some(c)) = (state.as_mut(), &chunk)
                && scrubber.passing()
            {
                if let Some(t) = text {
                    t.push(c).map_err(|_| CoreError::UnsupportedFile)?;
                }
                scrubber.passed(c.len());
                hash.update(c.clone()).await;
                self.write_part(object, sink, c.clone()).await?;
                continue;
            }
            let input: Vec<u8>;
            let bytes: &[u8] = match (&state, &chunk) {
                (None, Some(c)) if head.len() + c.len() < SNIFF_BYTES => {
                    head.extend_from_slice(c);
                    continue;
                }
                (None, _) => {
                    if let Some(c) = &chunk {
                        head.extend_from_slice(c);
                    }
                    if head.is_empty() {
                        return Err(ValidationErrors::one("file", "The file is empty.").into());
                    }
                    let kind = FileKind::sniff(&head).ok_or(CoreError::UnsupportedFile)?;
                    let text = (kind == FileKind::Text).then(TextCheck::default);
                    state = Some((kind, Scrubber::new(kind), text));
                    input = std::mem::take(&mut head);
                    &input
                }
                (Some(_), Some(c)) => c,
                (Some(_), None) => &[],
            };
            let (_, scrubber, text) = state.as_mut().expect("decided above");
            if let Some(t) = text {
                t.push(bytes).map_err(|_| CoreError::UnsupportedFile)?;
            }
            scrubber
                .push(bytes, &mut out)
                .map_err(|_| CoreError::UnsupportedFile)?;
            let ended = chunk.is_none();
            if ended {
                scrubber
                    .finish(&mut out)
                    .map_err(|_| CoreError::UnsupportedFile)?;
                if let Some(t) = text {
                    t.finish().map_err(|_| CoreError::UnsupportedFile)?;
                }
            }
            if !out.is_empty() {
                let piece = Bytes::from(std::mem::take(&mut out));
                hash.update(piece.clone()).await;
                self.write_part(object, sink, piece).await?;
            }
            if ended {
                let kind = state.map(|s| s.0).expect("decided above");
                let (stored, hex) = hash.finish().await?;
                return Ok((kind, stored, hex));
            }
        }
    }

    /// Gathers `bytes` into the object: a small file stays one buffer (one `put` at the
    /// end); once a part's worth has gathered, a multipart upload opens, and from then on each
    /// chunk is handed on as it came (the parts are cut without copying), waiting while a
    /// part is still being written: an upload holds at most two parts in memory, and no more
    /// than it has received.
    async fn write_part(
        &self,
        object: &Path,
        sink: &mut Sink,
        bytes: Bytes,
    ) -> Result<(), CoreError> {
        let part = self.files.settings.part_bytes;
        match sink {
            Sink::Buffer(buf) => {
                // Filled to exactly one part, so the buffer never grows past it.
                let room = part - buf.len();
                if bytes.len() < room {
                    buf.extend_from_slice(&bytes);
                    return Ok(());
                }
                buf.extend_from_slice(&bytes[..room]);
                let upload = self
                    .files
                    .objects
                    .put_multipart(object)
                    .await
                    .map_err(object_failed)?;
                let mut w = WriteMultipart::new_with_chunk_size(upload, part);
                w.put(Bytes::from(std::mem::take(buf)));
                if bytes.len() > room {
                    w.put(bytes.slice(room..));
                }
                *sink = Sink::Multipart(w);
            }
            Sink::Multipart(w) => {
                w.wait_for_capacity(1).await.map_err(object_failed)?;
                w.put(bytes);
            }
        }
        Ok(())
    }

    /// Reads the stored picture back and writes its thumbnail beside it, one decode at a
    /// time; `None` when the kind has none or anything fails (the file stands without).
    async fn make_thumbnail(&self, kind: FileKind, object: &Path) -> Option<Path> {
        if !kind.is_image() || kind == FileKind::Heic {
            return None;
        }
        let _permit = self.files.decode.acquire().await.ok()?;
        let bytes = self
            .files
            .objects
            .get(object)
            .await
            .ok()?
            .bytes()
            .await
            .ok()?;
        let thumb = tokio::task::spawn_blocking(move || attachment::thumb::thumbnail(kind, &bytes))
            .await
            .ok()??;
        let path = Path::from(format!("{object}-thumb"));
        self.files
            .objects
            .put(&path, PutPayload::from(thumb))
            .await
            .ok()?;
        Some(path)
    }

    /// Gives a complete object its row (and its `attachment_added` event). `visibility` is
    /// the staff form's `internal` or `customer` (required from staff, ignored for the
    /// customer, whose files are always customer-visible). On refusal the object is removed.
    pub async fn finish_upload(
        &self,
        slot: UploadSlot,
        file: StoredFile,
        visibility: Option<&str>,
    ) -> Result<Attachment, CoreError> {
        let mut target = slot.target;
        let what = match &mut target {
            MessageTarget::Staff { audience, .. } => {
                let parsed = visibility.and_then(Audience::parse);
                let Some(a) = parsed else {
                    self.discard_upload(file).await;
                    return Err(ValidationErrors::one(
                        "visibility",
                        "Visibility must be internal (staff only) or customer (the customer can download it).",
                    )
                    .into());
                };
                *audience = a;
                "Ticket"
            }
            MessageTarget::Customer(_) => "Request",
        };
        let max = self.files.settings.max_per_ticket;
        let new = NewAttachment {
            target,
            name: file.name.clone(),
            kind: file.kind,
            size: file.size,
            sha256: file.sha256.clone(),
            object: file.object.to_string(),
            thumbnail: file.thumbnail.as_ref().map(ToString::to_string),
            at: self.clock.now(),
            max_per_ticket: max,
        };
        match self.store.add_attachment(new).await {
            Ok(a) => Ok(a),
            Err(e) => {
                self.discard_upload(file).await;
                Err(refusal(e, max, what))
            }
        }
    }

    /// Removes a stored object that will get no row (the request failed after it was
    /// written). Best effort: what remains is the sweep's.
    pub async fn discard_upload(&self, file: StoredFile) {
        let _ = self.files.objects.delete(&file.object).await;
        if let Some(t) = &file.thumbnail {
            let _ = self.files.objects.delete(t).await;
        }
    }

    /// A ticket's files, oldest first (staff who may see the ticket: internal ones too).
    pub async fn list_attachments(
        &self,
        actor: &Actor,
        id: TicketId,
        req: ListMessages,
    ) -> Result<Page<Attachment>, CoreError> {
        let (page, _) = parse_list(req.page, req.size, req.cursor.as_deref(), None)?;
        self.store
            .list_attachments(&MessageReader::Staff(id, actor.visibility()), page)
            .await
            .map_err(not_found("Ticket"))
    }

    /// The files the customer holding `code` may download, oldest first.
    pub async fn public_attachments(
        &self,
        code: &str,
        req: ListMessages,
    ) -> Result<Page<Attachment>, CoreError> {
        let code = TrackingCode::parse(code).ok_or(CoreError::NotFound("Request"))?;
        let (page, _) = parse_list(req.page, req.size, req.cursor.as_deref(), None)?;
        self.store
            .list_attachments(&MessageReader::Customer(code), page)
            .await
            .map_err(not_found("Request"))
    }

    /// Streams a file (or its thumbnail) to staff who may see the ticket.
    pub async fn download(
        &self,
        actor: &Actor,
        id: TicketId,
        file: i64,
        thumbnail: bool,
    ) -> Result<Download, CoreError> {
        self.download_as(
            &MessageReader::Staff(id, actor.visibility()),
            file,
            thumbnail,
        )
        .await
    }

    /// Streams a customer-visible file (or its thumbnail) to the holder of `code`.
    pub async fn public_download(
        &self,
        code: &str,
        file: i64,
        thumbnail: bool,
    ) -> Result<Download, CoreError> {
        let code = TrackingCode::parse(code).ok_or(CoreError::NotFound("File"))?;
        self.download_as(&MessageReader::Customer(code), file, thumbnail)
            .await
    }

    async fn download_as(
        &self,
        reader: &MessageReader,
        file: i64,
        thumbnail: bool,
    ) -> Result<Download, CoreError> {
        let a = self
            .store
            .get_attachment(reader, file)
            .await
            .map_err(not_found("File"))?;
        let path = if thumbnail {
            a.thumbnail
                .clone()
                .ok_or(CoreError::NotFound("Thumbnail"))?
        } else {
            a.object.clone()
        };
        let got = match self.files.objects.get(&Path::from(path)).await {
            Ok(g) => g,
            // A row whose object is gone (removed by hand): not there, said plainly.
            Err(object_store::Error::NotFound { .. }) => return Err(CoreError::NotFound("File")),
            Err(e) => return Err(object_failed(e)),
        };
        let size = got.meta.size;
        Ok(Download {
            attachment: a,
            size,
            body: got.into_stream().boxed(),
        })
    }

    /// One file by id on ticket `ticket`, whatever its audience: for the notifications
    /// about it (the delivery worker), never for a person's request.
    pub async fn attachment_for_notification(
        &self,
        ticket: TicketId,
        id: i64,
    ) -> Result<Attachment, CoreError> {
        self.store
            .get_attachment(
                &MessageReader::Staff(ticket, crate::role::Visibility::All),
                id,
            )
            .await
            .map_err(not_found("File"))
    }

    /// Removes a file (admins): the row with its `attachment_removed` event first, then
    /// the objects (one that cannot be deleted now is left to the sweep).
    pub async fn remove_attachment(
        &self,
        actor: &Actor,
        id: TicketId,
        file: i64,
    ) -> Result<(), CoreError> {
        require(actor, Permission::RemoveAttachments)?;
        let a = self
            .store
            .remove_attachment(id, file, actor.id, self.clock.now())
            .await
            .map_err(not_found("File"))?;
        let _ = self.files.objects.delete(&Path::from(a.object)).await;
        if let Some(t) = a.thumbnail {
            let _ = self.files.objects.delete(&Path::from(t)).await;
        }
        Ok(())
    }

    /// Removes objects under the attachment prefix that no row names and that are older
    /// than [`attachment::ORPHAN_AFTER`]: what a crash between object and row, or a failed
    /// delete, left behind. Safe on every replica at once. Returns how many were removed.
    pub async fn sweep_orphans(&self) -> Result<usize, CoreError> {
        let cutoff = self.clock.now() - attachment::ORPHAN_AFTER;
        let prefix = Path::from(OBJECT_PREFIX);
        let mut listed = self.files.objects.list(Some(&prefix));
        let mut removed = 0;
        let mut batch = Vec::new();
        loop {
            let next = listed.try_next().await.map_err(object_failed)?;
            if let Some(meta) = &next {
                if meta.last_modified < cutoff {
                    batch.push(meta.location.to_string());
                }
            }
            if batch.len() >= 500 || (next.is_none() && !batch.is_empty()) {
                let known = self
                    .store
                    .known_objects(&batch)
                    .await
                    .map_err(CoreError::from_store)?;
                for orphan in batch.drain(..).filter(|o| !known.contains(o)) {
                    if self.files.objects.delete(&Path::from(orphan)).await.is_ok() {
                        removed += 1;
                    }
                }
            }
            if next.is_none() {
                return Ok(removed);
            }
        }
    }
}
