//! Files on a ticket: multipart uploads streamed into the object store by the facade,
//! listings, downloads with headers that keep a hostile file inert, and removal.

use super::{
    AppState, Tag,
    dto::{AttachmentBody, PageBody},
    messages::paging,
};
use crate::{
    auth::{AdminAuth, StaffAuth},
    error::{ApiError, ErrorBody},
    request_meta,
};
use bytes::Bytes;
use crm_core::{CoreError, Download, Store, TicketId, Uploader};
use futures_util::TryStreamExt;
use poem::{Body, IntoResponse, Request, RequestBody, Response, http::StatusCode};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::{Json, ParsePayload, Payload},
    registry::{
        MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
    },
};
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

/// Room for the form's boundaries, part headers and the visibility part beside the file.
const FORM_OVERHEAD: u64 = 64 * 1024;

/// The longest text part read (`visibility`).
const TEXT_PART_MAX: usize = 64;

/// A `multipart/form-data` body, kept as a stream: the parts are read one by one as they
/// arrive, the file part straight into the object store.
pub struct UploadForm {
    body: Body,
    boundary: String,
}

impl Payload for UploadForm {
    const CONTENT_TYPE: &'static str = "multipart/form-data";

    fn check_content_type(content_type: &str) -> bool {
        content_type
            .split(';')
            .next()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case(Self::CONTENT_TYPE))
    }

    fn schema_ref() -> MetaSchemaRef {
        let file = MetaSchema {
            description: Some(
                "The file: a JPEG, PNG, WebP, HEIC or GIF picture, a PDF or plain text, decided \
                 from its bytes.",
            ),
            ..MetaSchema::new_with_format("string", "binary")
        };
        let visibility = MetaSchema {
            description: Some(
                "Staff: `internal` (staff only) or `customer` (the customer can download it). \
                 Ignored from the customer, whose files are always customer-visible.",
            ),
            enum_items: vec!["internal".into(), "customer".into()],
            ..MetaSchema::new("string")
        };
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            required: vec!["file"],
            properties: vec![
                ("file", MetaSchemaRef::Inline(Box::new(file))),
                ("visibility", MetaSchemaRef::Inline(Box::new(visibility))),
            ],
            ..MetaSchema::new("object")
        }))
    }
}

impl ParsePayload for UploadForm {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let boundary = request
            .content_type()
            .and_then(|ct| multer::parse_boundary(ct).ok())
            .ok_or_else(|| poem_openapi::error::ParseRequestPayloadError {
                reason: "the multipart/form-data content type names no boundary".into(),
            })?;
        Ok(Self {
            body: body.take()?,
            boundary,
        })
    }
}

/// The form as an operation's request body (what poem-openapi's own payloads do).
impl<'a> poem_openapi::ApiExtractor<'a> for UploadForm {
    const TYPES: &'static [poem_openapi::ApiExtractorType] =
        &[poem_openapi::ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<poem_openapi::registry::MetaRequest> {
        Some(poem_openapi::registry::MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: poem_openapi::ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(ct) if Self::check_content_type(ct) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            Some(ct) => Err(poem_openapi::error::ContentTypeError::NotSupported {
                content_type: ct.to_owned(),
            }
            .into()),
            None => Err(poem_openapi::error::ContentTypeError::ExpectContentType.into()),
        }
    }
}

/// A file was stored.
#[derive(ApiResponse)]
pub enum AttachmentCreated {
    /// Stored, with its `attachment_added` event on the streams.
    #[oai(status = 201)]
    Created(Json<AttachmentBody>),
}

/// A file was removed.
#[derive(ApiResponse)]
pub enum AttachmentRemoved {
    /// Removed, with its `attachment_removed` event.
    #[oai(status = 204)]
    Removed,
}

/// A file's bytes, with the headers that keep them inert in a browser.
pub struct FileDownload {
    content_type: &'static str,
    disposition: String,
    size: u64,
    body: Body,
}

/// What a download may be, as the document lists it.
const DOWNLOAD_TYPES: [&str; 7] = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "image/gif",
    "application/pdf",
    "text/plain",
];

impl FileDownload {
    fn new(d: Download, thumbnail: bool) -> Self {
        let a = &d.attachment;
        let (content_type, inline, name) = if thumbnail {
            ("image/jpeg", true, format!("thumbnail-{}.jpg", a.id))
        } else {
            (a.kind.content_type(), a.kind.is_image(), a.name.clone())
        };
        Self {
            content_type,
            disposition: content_disposition(inline, &name),
            size: d.size,
            body: Body::from_bytes_stream(d.body.map_err(std::io::Error::other)),
        }
    }
}

/// `Content-Disposition` for `name`: pictures shown inline, everything else saved; the name
/// once as plain ASCII (anything else `_`) and once percent-encoded (RFC 6266).
fn content_disposition(inline: bool, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

impl IntoResponse for FileDownload {
    fn into_response(self) -> Response {
        Response::builder()
            .status(StatusCode::OK)
            .content_type(self.content_type)
            .header("Content-Length", self.size)
            .header("Content-Disposition", self.disposition)
            .header("X-Content-Type-Options", "nosniff")
            // Opened directly, even a file that fooled every check runs no script and
            // reaches no cookie: a sandboxed, unique origin.
            .header("Content-Security-Policy", "sandbox")
            .header("Cache-Control", "private, max-age=3600")
            .body(self.body)
    }
}

impl ApiResponse for FileDownload {
    fn meta() -> MetaResponses {
        let header = |name: &str, description: &str| MetaHeader {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            required: true,
            deprecated: false,
            schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
        };
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The file's bytes as stored (photo metadata removed).",
                status: Some(200),
                status_range: None,
                content: DOWNLOAD_TYPES
                    .iter()
                    .map(|t| MetaMediaType {
                        content_type: t,
                        schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format(
                            "string", "binary",
                        ))),
                    })
                    .collect(),
                headers: vec![
                    header(
                        "Content-Disposition",
                        "`inline` for pictures, `attachment` for everything else, with the sanitised name.",
                    ),
                    header("X-Content-Type-Options", "Always `nosniff`."),
                    header("Content-Security-Policy", "Always `sandbox`."),
                ],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}

/// Files.
pub struct AttachmentsApi<S>(pub AppState<S>);

/// The form's parts as a stream of the file's bytes; a multer size error is remembered so
/// it is answered as 413, not as a broken upload.
fn file_stream(
    field: multer::Field<'static>,
    too_large: Arc<AtomicBool>,
) -> impl futures_util::Stream<Item = Result<Bytes, multer::Error>> + Send + Unpin {
    field.inspect_err(move |e| {
        if matches!(
            e,
            multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. }
        ) {
            too_large.store(true, Ordering::Relaxed);
        }
    })
}

/// The request body handed to multer in pieces of at most [`PIECE`], one per poll. multer
/// copies every chunk that is ready into its own buffer before it parses: on a fast
/// connection that is everything the socket holds, in chunks as large as hyper's read
/// buffer (up to 400 KiB), and fifty uploads at once held the server's memory in those
/// buffers and in the copies made from them. Pieces (cut without copying) keep multer's
/// buffer, and every copy after it, at about one piece.
struct Pieces<S> {
    inner: S,
    rest: Bytes,
    yielded: bool,
}

impl<S> Pieces<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            rest: Bytes::new(),
            yielded: false,
        }
    }
}

/// The largest piece of the request body multer is handed at once.
const PIECE: usize = 64 * 1024;

impl<S, E> futures_util::Stream for Pieces<S>
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        if std::mem::take(&mut self.yielded) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.rest.is_empty() {
            match std::pin::Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => self.rest = chunk,
                other => return other,
            }
        }
        let n = self.rest.len().min(PIECE);
        self.yielded = true;
        Poll::Ready(Some(Ok(self.rest.split_to(n))))
    }
}

fn form_error(e: &multer::Error, max: u64) -> ApiError {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            CoreError::FileTooLarge { max }.into()
        }
        e => ApiError::Unprocessable(ErrorBody::json(
            format!("The form is not valid multipart/form-data: {e}."),
            "validation_error",
        )),
    }
}

impl<S: Store> AttachmentsApi<S> {
    /// Reads the form: the file part into the object store, the visibility part as text,
    /// anything else skipped; then gives the file its row.
    async fn receive(
        &self,
        who: Uploader<'_>,
        form: UploadForm,
    ) -> Result<AttachmentCreated, ApiError> {
        let crm = &self.0.crm;
        let slot = crm.begin_upload(who).await?;
        let max = crm.file_settings().max_bytes;
        let limits = multer::SizeLimit::new().whole_stream(max.saturating_add(FORM_OVERHEAD));
        let mut parts = multer::Multipart::with_constraints(
            Pieces::new(form.body.into_bytes_stream()),
            form.boundary,
            multer::Constraints::new().size_limit(limits),
        );
        let too_large = Arc::new(AtomicBool::new(false));
        let mut file = None;
        let mut visibility = None;
        let outcome: Result<(), ApiError> = async {
            while let Some(mut field) = parts.next_field().await.map_err(|e| form_error(&e, max))? {
                match field.name() {
                    Some("file") if file.is_none() => {
                        let name = field.file_name().map(str::to_owned);
                        let stream = file_stream(field, too_large.clone());
                        let stored = crm.store_upload(&slot, name.as_deref(), stream).await;
                        file = Some(stored.map_err(|e| {
                            if too_large.load(Ordering::Relaxed) {
                                CoreError::FileTooLarge { max }
                            } else {
                                e
                            }
                        })?);
                    }
                    Some("visibility") => {
                        let mut text = Vec::new();
                        while let Some(c) = field.chunk().await.map_err(|e| form_error(&e, max))? {
                            text.extend_from_slice(&c);
                            if text.len() > TEXT_PART_MAX {
                                break;
                            }
                        }
                        visibility = Some(String::from_utf8_lossy(&text).trim().to_owned());
                    }
                    _ => {
                        while field
                            .chunk()
                            .await
                            .map_err(|e| form_error(&e, max))?
                            .is_some()
                        {}
                    }
                }
            }
            Ok(())
        }
        .await;
        let Some(file) = file else {
            outcome?;
            return Err(ApiError::Unprocessable(ErrorBody::json(
                "File: attach the file in the form's part named file.",
                "validation_error",
            )));
        };
        if let Err(e) = outcome {
            crm.discard_upload(file).await;
            return Err(e);
        }
        let a = crm.finish_upload(slot, file, visibility.as_deref()).await?;
        Ok(AttachmentCreated::Created(Json(a.into())))
    }
}

#[OpenApi]
impl<S: Store> AttachmentsApi<S> {
    /// Add a file to a ticket
    ///
    /// An admin or the ticket's worker; `multipart/form-data` with a `file` part and a
    /// `visibility` part (`internal` or `customer`). The file streams into the object store:
    /// over `ATTACHMENT_MAX_BYTES` is `413 payload_too_large` as soon as the limit is
    /// passed; a kind other than JPEG, PNG, WebP, HEIC, GIF, PDF or plain text (decided from
    /// the bytes) is `415 unsupported_media_type`; a ticket holding
    /// `ATTACHMENT_MAX_PER_TICKET` files is `409 attachment_limit`. Photos lose their
    /// EXIF/XMP metadata (the orientation aside) before they are stored.
    #[oai(
        path = "/tickets/:id/attachments",
        method = "post",
        tag = "Tag::Tickets"
    )]
    async fn upload(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
        form: UploadForm,
    ) -> Result<AttachmentCreated, ApiError> {
        self.receive(Uploader::Staff(&auth.0.actor, TicketId(id.0)), form)
            .await
    }

    /// A ticket's files
    ///
    /// Every file, internal ones included, oldest first (staff who may see the ticket).
    #[oai(
        path = "/tickets/:id/attachments",
        method = "get",
        tag = "Tag::Tickets"
    )]
    async fn list(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
        /// Page number, 1 or more (default 1).
        page: Query<Option<i64>>,
        /// Page size, 1-100 (default 10).
        size: Query<Option<i64>>,
        /// Walk on from an earlier page's `next_cursor` (instead of `page`).
        cursor: Query<Option<String>>,
    ) -> Result<Json<PageBody<AttachmentBody>>, ApiError> {
        Ok(Json(
            self.0
                .crm
                .list_attachments(&auth.0.actor, TicketId(id.0), paging(page, size, cursor))
                .await?
                .into(),
        ))
    }

    /// Download a file
    ///
    /// Staff who may see the ticket. Pictures are served inline, everything else as a
    /// download; always with `X-Content-Type-Options: nosniff` and
    /// `Content-Security-Policy: sandbox`.
    #[oai(
        path = "/tickets/:id/attachments/:file_id",
        method = "get",
        tag = "Tag::Tickets"
    )]
    async fn download(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
        file_id: Path<i64>,
    ) -> Result<FileDownload, ApiError> {
        let d = self
            .0
            .crm
            .download(&auth.0.actor, TicketId(id.0), file_id.0, false)
            .await?;
        Ok(FileDownload::new(d, false))
    }

    /// A file's thumbnail
    ///
    /// A JPEG at most 320 px on the long side, for pictures that have one
    /// (`has_thumbnail`).
    #[oai(
        path = "/tickets/:id/attachments/:file_id/thumbnail",
        method = "get",
        tag = "Tag::Tickets"
    )]
    async fn thumbnail(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
        file_id: Path<i64>,
    ) -> Result<FileDownload, ApiError> {
        let d = self
            .0
            .crm
            .download(&auth.0.actor, TicketId(id.0), file_id.0, true)
            .await?;
        Ok(FileDownload::new(d, true))
    }

    /// Remove a file
    ///
    /// Admins only: the file is the shop's evidence. The row goes with an
    /// `attachment_removed` event, then the bytes.
    #[oai(
        path = "/tickets/:id/attachments/:file_id",
        method = "delete",
        tag = "Tag::Tickets"
    )]
    async fn remove(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
        file_id: Path<i64>,
    ) -> Result<AttachmentRemoved, ApiError> {
        self.0
            .crm
            .remove_attachment(&auth.0.actor, TicketId(id.0), file_id.0)
            .await?;
        Ok(AttachmentRemoved::Removed)
    }

    /// Add a photo or file to a request
    ///
    /// For whoever holds the tracking code; `multipart/form-data` with a `file` part (always
    /// customer-visible). Rate-limited per address like submissions and at most 5 a day per
    /// request (`429 rate_limited`); the size, kind and per-ticket limits of staff uploads
    /// apply; closed 30 days after the request is done (`409 ticket_closed`).
    #[oai(
        path = "/public/tickets/:tracking_code/attachments",
        method = "post",
        tag = "Tag::Public"
    )]
    async fn public_upload(
        &self,
        req: &Request,
        tracking_code: Path<String>,
        form: UploadForm,
    ) -> Result<AttachmentCreated, ApiError> {
        let ip = request_meta::client_ip(req, &self.0.trusted_proxies);
        self.0.limits.public_uploads.check(ip)?;
        self.receive(Uploader::Customer(&tracking_code.0), form)
            .await
    }

    /// The files of a request
    ///
    /// For whoever holds the tracking code: the customer-visible files only, oldest first.
    #[oai(
        path = "/public/tickets/:tracking_code/attachments",
        method = "get",
        tag = "Tag::Public"
    )]
    async fn public_list(
        &self,
        tracking_code: Path<String>,
        /// Page number, 1 or more (default 1).
        page: Query<Option<i64>>,
        /// Page size, 1-100 (default 10).
        size: Query<Option<i64>>,
        /// Walk on from an earlier page's `next_cursor` (instead of `page`).
        cursor: Query<Option<String>>,
    ) -> Result<Json<PageBody<AttachmentBody>>, ApiError> {
        Ok(Json(
            self.0
                .crm
                .public_attachments(&tracking_code.0, paging(page, size, cursor))
                .await?
                .into(),
        ))
    }

    /// Download a file of a request
    ///
    /// For whoever holds the tracking code: customer-visible files only.
    #[oai(
        path = "/public/tickets/:tracking_code/attachments/:file_id",
        method = "get",
        tag = "Tag::Public"
    )]
    async fn public_download(
        &self,
        tracking_code: Path<String>,
        file_id: Path<i64>,
    ) -> Result<FileDownload, ApiError> {
        let d = self
            .0
            .crm
            .public_download(&tracking_code.0, file_id.0, false)
            .await?;
        Ok(FileDownload::new(d, false))
    }

    /// A thumbnail of a request's file
    ///
    /// For whoever holds the tracking code: customer-visible pictures only.
    #[oai(
        path = "/public/tickets/:tracking_code/attachments/:file_id/thumbnail",
        method = "get",
        tag = "Tag::Public"
    )]
    async fn public_thumbnail(
        &self,
        tracking_code: Path<String>,
        file_id: Path<i64>,
    ) -> Result<FileDownload, ApiError> {
        let d = self
            .0
            .crm
            .public_download(&tracking_code.0, file_id.0, true)
            .await?;
        Ok(FileDownload::new(d, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_quote_nothing_they_should_not() {
        assert_eq!(
            content_disposition(true, "IMG 1.jpg"),
            "inline; filename=\"IMG 1.jpg\"; filename*=UTF-8''IMG%201.jpg"
        );
        assert_eq!(
            content_disposition(false, "r\u{e9}sum\u{e9}.pdf"),
            "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
        );
        assert!(UploadForm::check_content_type(
            "multipart/form-data; boundary=x"
        ));
        assert!(!UploadForm::check_content_type("application/json"));
    }

    #[tokio::test]
    async fn the_body_reaches_multer_in_pieces_one_per_poll() {
        use futures_util::{Stream, StreamExt};
        let big = Bytes::from((0..200_000u32).map(|i| i as u8).collect::<Vec<_>>());
        let chunks = vec![
            Ok::<_, std::io::Error>(big.clone()),
            Ok(Bytes::from_static(b"end")),
        ];
        let mut pieces = Pieces::new(futures_util::stream::iter(chunks));
        // Each piece is followed by a Pending (with a wake-up), so multer's loop stops.
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let first = std::pin::Pin::new(&mut pieces).poll_next(&mut cx);
        assert!(matches!(&first, std::task::Poll::Ready(Some(Ok(p))) if p.len() == PIECE));
        assert!(
            std::pin::Pin::new(&mut pieces)
                .poll_next(&mut cx)
                .is_pending()
        );
        let mut got = match first {
            std::task::Poll::Ready(Some(Ok(p))) => p.to_vec(),
            _ => unreachable!(),
        };
        while let Some(piece) = pieces.next().await {
            let piece = piece.unwrap();
            assert!(piece.len() <= PIECE);
            got.extend_from_slice(&piece);
        }
        let mut want = big.to_vec();
        want.extend_from_slice(b"end");
        assert_eq!(got, want, "every byte, in order");
    }
}
