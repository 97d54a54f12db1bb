//! Repair requests, for staff.

use super::{
    AppState, Tag,
    dto::{
        AssignRequest, EditRequest, HistoryBody, IntakeRequest, PageBody, PriorityBody, SortParam,
        StatsBody, Status, StatusRequest, TicketBody, TicketCountsBody,
    },
};
use crate::{
    auth::{AdminAuth, StaffAuth, StreamAuth},
    error::ApiError,
    request_meta,
};
use crm_core::{ListTickets, Store, TicketId, UserId};
use futures_util::StreamExt as _;
use poem::Request;
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
};

/// Repair requests, for staff.
pub struct TicketsApi<S>(pub AppState<S>);

/// The outcome of an intake.
#[derive(ApiResponse)]
pub enum IntakeResponse {
    /// Stored; the staff view, with the tracking code for the receipt.
    #[oai(status = 201)]
    Created(Json<TicketBody>),
}

/// A page made for printing.
#[derive(ApiResponse)]
pub enum PrintResponse {
    /// The page: no script, styles of its own, every value escaped.
    #[oai(status = 200)]
    Page(
        poem_openapi::payload::Html<String>,
        #[oai(header = "Content-Security-Policy")] String,
    ),
}

/// The tickets as a spreadsheet.
#[derive(ApiResponse)]
pub enum ExportResponse {
    /// One header line, then one line per ticket, streamed as it is read (RFC 4180 CSV,
    /// UTF-8; a cell a spreadsheet would take for a formula starts with `'`).
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(
        poem_openapi::payload::Binary<poem::Body>,
        /// `attachment; filename="tickets-<date>.csv"`.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

/// The policy of the printable pages: nothing loads or runs but their own styles.
const PRINT_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'self'";

impl<S: Store> TicketsApi<S> {
    /// Where the tracking link starts: `PUBLIC_BASE_URL`, else the address the staff member's
    /// browser used.
    fn base_url(&self, req: &Request) -> String {
        if let Some(base) = &self.0.shop.public_base_url {
            return base.clone();
        }
        let host = req
            .headers()
            .get(poem::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .unwrap_or("localhost");
        format!("http://{host}")
    }

    /// A printable page of ticket `id` for whoever may see it, without opening it.
    async fn print(
        &self,
        auth: StreamAuth,
        req: &Request,
        id: i64,
        page: crate::receipt::Page,
    ) -> Result<PrintResponse, ApiError> {
        let session = auth.into_session();
        let t = self.0.crm.read_ticket(&session.actor, TicketId(id)).await?;
        // The price the customer accepted, printed with the receipt once there is one.
        let approved = self
            .0
            .crm
            .quotes(&session.actor, TicketId(id))
            .await?
            .into_iter()
            .rev()
            .find(|q| {
                q.decision
                    .as_ref()
                    .is_some_and(|d| d.decision == crm_core::Decision::Approve)
            });
        let html = page(&self.0.shop, &t, approved.as_ref(), &self.base_url(req));
        Ok(PrintResponse::Page(
            poem_openapi::payload::Html(html),
            PRINT_CSP.into(),
        ))
    }
}

#[OpenApi(tag = "Tag::Tickets")]
impl<S: Store> TicketsApi<S> {
    /// Correct a ticket
    ///
    /// An admin, or the ticket's worker, corrects the title, description, device, priority
    /// or due date, as a JSON merge patch (left out: unchanged; `null`: cleared). Validated
    /// like intake; a done ticket can still be corrected; a change that makes it a duplicate
    /// of another open ticket is `duplicate_ticket`. One `edited` event lists each changed
    /// field with its old and new value; a patch that changes nothing writes nothing.
    #[oai(path = "/tickets/:id", method = "patch")]
    async fn edit(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
        body: Json<EditRequest>,
    ) -> Result<Json<TicketBody>, ApiError> {
        let t = self
            .0
            .crm
            .edit_ticket(&auth.0.actor, TicketId(id.0), body.0.into())
            .await?;
        Ok(Json(t.into()))
    }

    /// Print the intake receipt
    ///
    /// An HTML page for A4 and 80 mm receipt printers: the shop (`SHOP_NAME`,
    /// `SHOP_ADDRESS`, `SHOP_PHONE`), the ticket number and date, the customer, the device
    /// with its condition and accessories, priority and due date, the terms
    /// (`RECEIPT_TERMS`), a signature line, and the tracking link as text and as a QR code.
    /// A browser tab opens it with `?ticket=` from `POST /events/ticket`.
    #[oai(path = "/tickets/:id/receipt", method = "get")]
    async fn receipt(
        &self,
        auth: StreamAuth,
        req: &Request,
        id: Path<i64>,
    ) -> Result<PrintResponse, ApiError> {
        self.print(auth, req, id.0, crate::receipt::receipt_html)
            .await
    }

    /// Print the device label
    ///
    /// An HTML page for a 62 x 29 mm label: ticket number, customer name, device and the QR
    /// code of the tracking link. Opened like the receipt.
    #[oai(path = "/tickets/:id/label", method = "get")]
    async fn label(
        &self,
        auth: StreamAuth,
        req: &Request,
        id: Path<i64>,
    ) -> Result<PrintResponse, ApiError> {
        self.print(auth, req, id.0, crate::receipt::label_html)
            .await
    }

    /// Take a request in at the counter
    ///
    /// Staff record a walk-in customer's request with the device left for repair. Validated
    /// like a public submission (the same duplicate rule and customer e-mail, no per-address
    /// limit); an admin may name any active worker (`invalid_worker` otherwise; without one,
    /// automatic assignment applies), a worker's intake is its own and naming another is
    /// `forbidden`. The `submitted` event names the staff member.
    #[oai(path = "/tickets", method = "post")]
    async fn intake(
        &self,
        auth: StaffAuth,
        req: &Request,
        body: Json<IntakeRequest>,
    ) -> Result<IntakeResponse, ApiError> {
        let ip = request_meta::client_ip(req, &self.0.trusted_proxies);
        let intake = body
            .0
            .into_intake(ip.map(|ip| ip.to_string()), request_meta::user_agent(req));
        let t = self.0.crm.intake(&auth.0.actor, intake).await?;
        Ok(IntakeResponse::Created(Json(t.into())))
    }

    /// List tickets
    ///
    /// Newest first. Admins see every ticket; a worker sees only its own and may pass only its
    /// own `worker_id`. Filters combine with AND.
    #[oai(path = "/tickets", method = "get")]
    // One argument per documented query parameter: poem-openapi reads them by name.
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: StaffAuth,
        /// Page number, 1 or more (default 1).
        page: Query<Option<i64>>,
        /// Page size, 1-100 (default 10).
        size: Query<Option<i64>>,
        /// Walk on from an earlier page's `next_cursor` (instead of `page`): constant cost
        /// however deep.
        cursor: Query<Option<String>>,
        /// Only this status.
        status: Query<Option<Status>>,
        /// Only this worker's tickets.
        worker_id: Query<Option<i64>>,
        /// Case-insensitive substring of the title (at most 200 characters).
        search: Query<Option<String>>,
        /// Only tickets without a worker (`true`); a worker's own list has none.
        unassigned: Query<Option<bool>>,
        /// Only open tickets, `new` or `in_progress` (`true`): a technician's queue.
        open: Query<Option<bool>>,
        /// `newest` first (the default), `oldest` first, or `due`: soonest due first, those
        /// without a due date last, then newest. Cursors walk on in each.
        sort: Query<Option<SortParam>>,
        /// Only this priority.
        priority: Query<Option<PriorityBody>>,
        /// Only this customer's tickets.
        client_id: Query<Option<i64>>,
        /// Only the device with this serial (exact; case and spaces ignored).
        serial: Query<Option<String>>,
        /// Only open tickets whose due date has passed (`true`).
        overdue: Query<Option<bool>>,
        /// The counter search: a ticket number (`35` or `#35`), a tracking code, a fragment
        /// of the customer's name or e-mail, of their phone number (digits; a leading `0`
        /// dropped), or a device serial.
        q: Query<Option<String>>,
        /// Only tickets whose customer waits for an answer (`true`): the newest
        /// customer-visible message is theirs.
        awaiting_reply: Query<Option<bool>>,
        /// Only tickets in this stage.
        stage_id: Query<Option<i64>>,
        /// Only tickets whose latest sent quote `awaiting` the customer (open), `approved` or
        /// `declined`.
        quote: Query<Option<super::dto::QuoteParam>>,
    ) -> Result<Json<PageBody<TicketBody>>, ApiError> {
        let actor = auth.0.actor;
        let req = ListTickets {
            page: page.0,
            size: size.0,
            cursor: cursor.0,
            status: status.0.map(Into::into),
            worker_id: worker_id.0.map(UserId),
            search: search.0,
            unassigned: unassigned.0.unwrap_or(false),
            open: open.0.unwrap_or(false),
            sort: sort.0.map(Into::into),
            priority: priority.0.map(Into::into),
            client_id: client_id.0.map(crm_core::ClientId),
            serial: serial.0,
            overdue: overdue.0.unwrap_or(false),
            q: q.0,
            awaiting_reply: awaiting_reply.0.unwrap_or(false),
            stage_id: stage_id.0.map(crm_core::StageId),
            quote: quote.0.map(Into::into),
        };
        Ok(Json(self.0.crm.list_tickets(&actor, req).await?.into()))
    }

    /// Export tickets as CSV
    ///
    /// Admins only. Every ticket the list's filters match (the same parameters as `GET
    /// /tickets`, checked the same way; no pages), in its order, one row each with its
    /// status, stage, customer, device, priority, due date, worker, times and approved quote
    /// total. Streamed in batches, so a million tickets take no more memory than a thousand.
    /// A failure after the first row ends the download early rather than completing it.
    #[oai(path = "/tickets/export.csv", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn export(
        &self,
        auth: AdminAuth,
        /// Only this status.
        status: Query<Option<Status>>,
        /// Only this worker's tickets.
        worker_id: Query<Option<i64>>,
        /// Case-insensitive substring of the title (at most 200 characters).
        search: Query<Option<String>>,
        /// Only tickets without a worker (`true`).
        unassigned: Query<Option<bool>>,
        /// Only open tickets, `new` or `in_progress` (`true`).
        open: Query<Option<bool>>,
        /// `newest` first (the default), `oldest` first, or `due`.
        sort: Query<Option<SortParam>>,
        /// Only this priority.
        priority: Query<Option<PriorityBody>>,
        /// Only this customer's tickets.
        client_id: Query<Option<i64>>,
        /// Only the device with this serial.
        serial: Query<Option<String>>,
        /// Only open tickets whose due date has passed (`true`).
        overdue: Query<Option<bool>>,
        /// The counter search, as in `GET /tickets`.
        q: Query<Option<String>>,
        /// Only tickets whose customer waits for an answer (`true`).
        awaiting_reply: Query<Option<bool>>,
        /// Only tickets in this stage.
        stage_id: Query<Option<i64>>,
        /// Only tickets whose latest sent quote is `awaiting`, `approved` or `declined`.
        quote: Query<Option<super::dto::QuoteParam>>,
    ) -> Result<ExportResponse, ApiError> {
        let req = ListTickets {
            page: None,
            size: None,
            cursor: None,
            status: status.0.map(Into::into),
            worker_id: worker_id.0.map(UserId),
            search: search.0,
            unassigned: unassigned.0.unwrap_or(false),
            open: open.0.unwrap_or(false),
            sort: sort.0.map(Into::into),
            priority: priority.0.map(Into::into),
            client_id: client_id.0.map(crm_core::ClientId),
            serial: serial.0,
            overdue: overdue.0.unwrap_or(false),
            q: q.0,
            awaiting_reply: awaiting_reply.0.unwrap_or(false),
            stage_id: stage_id.0.map(crm_core::StageId),
            quote: quote.0.map(Into::into),
        };
        let mut export = self.0.crm.export_tickets(&auth.0.actor, req)?;
        // The first batch before the answer: a store that is away is a 503, not an empty file.
        let first = export.next_batch().await?;
        let head = futures_util::stream::iter([Ok::<_, std::io::Error>(crate::export::header())]);
        let first = futures_util::stream::iter(first.map(|b| Ok(crate::export::rows(&b))));
        let rest = futures_util::stream::try_unfold(export, |mut export| async move {
            match export.next_batch().await {
                Ok(Some(batch)) => Ok(Some((crate::export::rows(&batch), export))),
                Ok(None) => Ok(None),
                Err(e) => {
                    tracing::error!(error = %e, "ticket export stopped");
                    Err(std::io::Error::other(e))
                }
            }
        });
        let body = poem::Body::from_bytes_stream(head.chain(first).chain(rest));
        let name = format!(
            "attachment; filename=\"tickets-{}.csv\"",
            chrono::Utc::now().format("%Y-%m-%d")
        );
        Ok(ExportResponse::Csv(
            poem_openapi::payload::Binary(body),
            name,
        ))
    }

    /// Ticket counts
    ///
    /// How many tickets the caller's list holds, by its tabs: every ticket, those without a
    /// worker, by status, and the open ones (`new` or `in_progress`). For a worker, its own.
    #[oai(path = "/tickets/counts", method = "get")]
    async fn counts(&self, auth: StaffAuth) -> Result<Json<TicketCountsBody>, ApiError> {
        let actor = auth.0.actor;
        Ok(Json(self.0.crm.ticket_counts(&actor).await?.into()))
    }

    /// Statistics
    ///
    /// Counts by status and mean resolution time, for one worker (`worker_id`) or for all
    /// tickets. Admins only.
    #[oai(path = "/tickets/stats", method = "get")]
    async fn stats(
        &self,
        auth: AdminAuth,
        /// A worker's id (active or deleted); omit for all tickets.
        worker_id: Query<Option<i64>>,
    ) -> Result<Json<StatsBody>, ApiError> {
        let actor = auth.0.actor;
        let s = self.0.crm.stats(&actor, worker_id.0.map(UserId)).await?;
        Ok(Json(s.into()))
    }

    /// Open a ticket
    ///
    /// Marks it viewed on its first opening.
    #[oai(path = "/tickets/:id", method = "get")]
    async fn get(&self, auth: StaffAuth, id: Path<i64>) -> Result<Json<TicketBody>, ApiError> {
        let actor = auth.0.actor;
        let t = self.0.crm.get_ticket(&actor, TicketId(id.0)).await?;
        Ok(Json(t.into()))
    }

    /// A ticket's history
    ///
    /// Every change, oldest first.
    #[oai(path = "/tickets/:id/history", method = "get")]
    async fn history(&self, auth: StaffAuth, id: Path<i64>) -> Result<Json<HistoryBody>, ApiError> {
        let actor = auth.0.actor;
        let events = self.0.crm.history(&actor, TicketId(id.0)).await?;
        Ok(Json(events.into()))
    }

    /// Assign a ticket
    ///
    /// Admins only. Sets the worker and `assigned_at`; the status does not change. A done
    /// ticket cannot be assigned; the worker must be an active worker.
    #[oai(path = "/tickets/:id/assign", method = "post")]
    async fn assign(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
        body: Json<AssignRequest>,
    ) -> Result<Json<TicketBody>, ApiError> {
        let actor = auth.0.actor;
        let t = self
            .0
            .crm
            .assign(&actor, TicketId(id.0), UserId(body.worker_id))
            .await?;
        Ok(Json(t.into()))
    }

    /// Change a ticket's status
    ///
    /// `new -> in_progress` (the ticket needs a worker) `-> done`, by its worker or an admin.
    /// Asking for the current status returns the ticket unchanged (with a `stage_id`, moves
    /// the stage). `stage_id` names a stage of the new status to enter; without it the ticket
    /// leaves its stage.
    #[oai(path = "/tickets/:id/status", method = "post")]
    async fn status(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
        body: Json<StatusRequest>,
    ) -> Result<Json<TicketBody>, ApiError> {
        let actor = auth.0.actor;
        let t = self
            .0
            .crm
            .change_status_to_stage(
                &actor,
                TicketId(id.0),
                body.new_status.into(),
                body.stage_id.map(crm_core::StageId),
            )
            .await?;
        Ok(Json(t.into()))
    }
}
