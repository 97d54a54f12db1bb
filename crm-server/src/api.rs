//! The HTTP operations: a thin layer that converts request types into core calls, once, and
//! core results into response types. No business rule lives here.

use crate::{
    auth::{BearerAuth, Tokens},
    error::ApiError,
};
use chrono::{DateTime, Utc};
use crm_core::{
    Actor, Crm, ListTickets, ListUsers, Store, SubmitTicket, Ticket, TicketId, TicketStatus, User,
    UserId,
};
use poem::Request;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
    types::Example,
};
use std::{net::IpAddr, sync::Arc};

/// What every operation shares.
pub struct AppState<S> {
    /// The workflow.
    pub crm: Crm<S>,
    /// Token issuing and checking.
    pub tokens: Tokens,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpAddr>>,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            crm: self.crm.clone(),
            tokens: self.tokens.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }
}

impl<S: Store> AppState<S> {
    /// The signed-in actor: a valid token whose user still exists and is active. Its role is
    /// read from the store now, never taken from the token.
    async fn actor(&self, auth: &BearerAuth) -> Result<Actor, ApiError> {
        Ok(self.signed_in(auth).await?.0)
    }

    /// [`AppState::actor`] together with the user's account.
    async fn signed_in(&self, auth: &BearerAuth) -> Result<(Actor, User), ApiError> {
        let id = self.tokens.verify(&auth.0.token).ok_or_else(|| {
            ApiError::unauthorized("Invalid or expired token.", "not_authenticated")
        })?;
        Ok(self.crm.actor(id).await?)
    }
}

#[derive(Tags)]
enum Tag {
    /// Sign-in.
    Auth,
    /// What customers use, without an account.
    Public,
    /// Repair requests, for staff.
    Tickets,
    /// Staff accounts, for admins.
    Users,
    /// Probes for orchestrators and load balancers.
    Health,
}

// ----- bodies ------------------------------------------------------------------------------

/// Where a ticket stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum Status {
    /// Submitted, not started.
    New,
    /// A worker is on it.
    InProgress,
    /// Finished.
    Done,
}

impl From<Status> for TicketStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::New => Self::New,
            Status::InProgress => Self::InProgress,
            Status::Done => Self::Done,
        }
    }
}

impl From<TicketStatus> for Status {
    fn from(s: TicketStatus) -> Self {
        match s {
            TicketStatus::New => Self::New,
            TicketStatus::InProgress => Self::InProgress,
            TicketStatus::Done => Self::Done,
        }
    }
}

/// A staff role.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum RoleBody {
    /// Sees and manages everything.
    Admin,
    /// Sees and progresses its own tickets.
    Worker,
}

impl From<RoleBody> for crm_core::Role {
    fn from(r: RoleBody) -> Self {
        match r {
            RoleBody::Admin => Self::Admin,
            RoleBody::Worker => Self::Worker,
        }
    }
}

impl From<crm_core::Role> for RoleBody {
    fn from(r: crm_core::Role) -> Self {
        match r {
            crm_core::Role::Admin => Self::Admin,
            crm_core::Role::Worker => Self::Worker,
        }
    }
}

/// Sign-in credentials.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct LoginRequest {
    /// Username (case-insensitive).
    pub username: String,
    /// Password.
    #[oai(write_only)]
    pub password: String,
}

impl Example for LoginRequest {
    fn example() -> Self {
        Self {
            username: "admin".into(),
            password: "admin123".into(),
        }
    }
}

/// An access token.
#[derive(Object, Debug)]
pub struct TokenResponse {
    /// The JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// A staff account.
#[derive(Object, Debug)]
pub struct UserBody {
    /// Identity.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Powers.
    pub role: RoleBody,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserBody {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            username: u.username,
            role: u.role.into(),
            created_at: u.created_at,
        }
    }
}

/// The customer of a request.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct ClientRequest {
    /// Name, 1-100 characters.
    pub name: String,
    /// E-mail: identifies the customer (case-insensitive).
    pub email: String,
    /// Optional phone: 5-32 characters of digits, spaces and `+ - ( ) .`.
    pub phone: Option<String>,
}

impl Example for ClientRequest {
    fn example() -> Self {
        Self {
            name: "John Doe".into(),
            email: "john@example.com".into(),
            phone: Some("+1234567890".into()),
        }
    }
}

/// A customer's repair request.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct SubmitRequest {
    /// What is broken, 1-200 characters.
    pub title: String,
    /// The fault, 1-5000 characters.
    pub description: String,
    /// Who asks.
    pub client: ClientRequest,
}

impl Example for SubmitRequest {
    fn example() -> Self {
        Self {
            title: "Broken laptop screen".into(),
            description: "Screen flickers and has dead pixels".into(),
            client: ClientRequest::example(),
        }
    }
}

/// What a customer gets back: their request, its number and the secret tracking code. Stored
/// client data and requester data are never echoed to an anonymous caller.
#[derive(Object, Debug)]
pub struct SubmittedTicket {
    /// The request number.
    pub id: i64,
    /// What is broken.
    pub title: String,
    /// The fault.
    pub description: String,
    /// Always `new`.
    pub status: Status,
    /// Submission time.
    pub created_at: DateTime<Utc>,
    /// Keep it: `GET /public/tickets/{tracking_code}` shows the progress. Shown only once.
    pub tracking_code: String,
}

/// A request's progress, for whoever holds its tracking code.
#[derive(Object, Debug)]
pub struct ProgressBody {
    /// The request number.
    pub id: i64,
    /// Where it stands.
    pub status: Status,
    /// Whether a worker has been assigned.
    pub assigned: bool,
    /// Submission time.
    pub created_at: DateTime<Utc>,
    /// When work started.
    pub in_progress_at: Option<DateTime<Utc>>,
    /// When work finished.
    pub done_at: Option<DateTime<Utc>>,
}

/// A customer as staff see them.
#[derive(Object, Debug)]
pub struct ClientBody {
    /// Identity.
    pub id: i64,
    /// Name from the first request.
    pub name: String,
    /// E-mail from the first request.
    pub email: String,
    /// Phone from the first request.
    pub phone: Option<String>,
    /// First request time.
    pub created_at: DateTime<Utc>,
}

/// A repair request as staff see it.
#[derive(Object, Debug)]
pub struct TicketBody {
    /// Identity.
    pub id: i64,
    /// What is broken.
    pub title: String,
    /// The fault.
    pub description: String,
    /// Where it stands.
    pub status: Status,
    /// Whether staff have opened it.
    pub viewed: bool,
    /// Who asked.
    pub client: ClientBody,
    /// The client's id (also inside `client`).
    pub client_id: i64,
    /// Who is on it.
    pub worker_id: Option<i64>,
    /// Submission time.
    pub created_at: DateTime<Utc>,
    /// Latest change.
    pub updated_at: DateTime<Utc>,
    /// Latest assignment.
    pub assigned_at: Option<DateTime<Utc>>,
    /// Work started.
    pub in_progress_at: Option<DateTime<Utc>>,
    /// Work finished.
    pub done_at: Option<DateTime<Utc>>,
    /// Address the request came from.
    pub requester_ip: Option<String>,
    /// User-Agent it came with.
    pub requester_ua: Option<String>,
    /// The customer's tracking code.
    pub tracking_code: String,
}

impl From<Ticket> for TicketBody {
    fn from(t: Ticket) -> Self {
        Self {
            id: t.id.0,
            title: t.title,
            description: t.description,
            status: t.status.into(),
            viewed: t.viewed,
            client_id: t.client.id.0,
            client: ClientBody {
                id: t.client.id.0,
                name: t.client.name,
                email: t.client.email,
                phone: t.client.phone,
                created_at: t.client.created_at,
            },
            worker_id: t.worker_id.map(UserId::get),
            created_at: t.created_at,
            updated_at: t.updated_at,
            assigned_at: t.assigned_at,
            in_progress_at: t.in_progress_at,
            done_at: t.done_at,
            requester_ip: t.requester_ip,
            requester_ua: t.requester_ua,
            tracking_code: t.tracking_code.as_str().to_owned(),
        }
    }
}

/// A page of tickets.
#[derive(Object, Debug)]
pub struct TicketPage {
    /// This page, newest first.
    pub items: Vec<TicketBody>,
    /// Matching tickets on all pages.
    pub total: u64,
    /// Page number.
    pub page: u32,
    /// Page size.
    pub size: u32,
    /// Number of pages.
    pub pages: u64,
}

/// A page of users.
#[derive(Object, Debug)]
pub struct UserPage {
    /// This page, newest first.
    pub items: Vec<UserBody>,
    /// Matching users on all pages.
    pub total: u64,
    /// Page number.
    pub page: u32,
    /// Page size.
    pub size: u32,
    /// Number of pages.
    pub pages: u64,
}

/// Assign a ticket.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct AssignRequest {
    /// An active worker's id.
    pub worker_id: i64,
}

impl Example for AssignRequest {
    fn example() -> Self {
        Self { worker_id: 2 }
    }
}

/// Move a ticket.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct StatusRequest {
    /// The status to move to.
    pub new_status: Status,
}

impl Example for StatusRequest {
    fn example() -> Self {
        Self {
            new_status: Status::InProgress,
        }
    }
}

/// Create a staff account.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct CreateUserRequest {
    /// 3-64 characters of `A-Z a-z 0-9 _ . -`, unique among active users (case-insensitive).
    pub username: String,
    /// 8-128 characters; stored only as an argon2id hash.
    #[oai(write_only)]
    pub password: String,
    /// Powers.
    pub role: RoleBody,
}

impl Example for CreateUserRequest {
    fn example() -> Self {
        Self {
            username: "worker1".into(),
            password: "worker123".into(),
            role: RoleBody::Worker,
        }
    }
}

/// One history event.
#[derive(Object, Debug)]
pub struct EventBody {
    /// Identity; increases with time.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// `submitted`, `assigned`, `released`, `status_changed` or `viewed`.
    pub kind: String,
    /// Who did it (null for a customer's submission).
    pub actor_id: Option<i64>,
    /// The worker assigned or released.
    pub worker_id: Option<i64>,
    /// Status before.
    pub from_status: Option<Status>,
    /// Status after.
    pub to_status: Option<Status>,
}

/// A ticket's history, oldest first.
#[derive(Object, Debug)]
pub struct HistoryBody {
    /// The events.
    pub items: Vec<EventBody>,
}

/// Ticket counts and resolution time.
#[derive(Object, Debug)]
pub struct StatsBody {
    /// The worker, or null for all tickets.
    pub worker_id: Option<i64>,
    /// All tickets in scope.
    pub total: u64,
    /// In `new`.
    pub new: u64,
    /// In `in_progress`.
    pub in_progress: u64,
    /// In `done`.
    pub done: u64,
    /// Mean of `done_at - created_at` over done tickets, in seconds; null when none is done.
    pub avg_resolution_seconds: Option<f64>,
}

/// A probe's answer.
#[derive(Object, Debug)]
pub struct HealthBody {
    /// `ok`.
    pub status: String,
}

// ----- responses ---------------------------------------------------------------------------

/// The outcome of a submission.
#[derive(ApiResponse)]
pub enum SubmitResponse {
    /// Stored; keep the tracking code.
    #[oai(status = 201)]
    Created(Json<SubmittedTicket>),
}

/// The outcome of creating an account.
#[derive(ApiResponse)]
pub enum CreateUserResponse {
    /// Created.
    #[oai(status = 201)]
    Created(Json<UserBody>),
}

/// The outcome of deleting an account.
#[derive(ApiResponse)]
pub enum DeleteUserResponse {
    /// Deactivated; its open tickets went back to `new` with no worker.
    #[oai(status = 204)]
    Deleted,
}

/// The outcome of a readiness probe.
#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// The store answers.
    #[oai(status = 200)]
    Ready(Json<HealthBody>),
    /// The store does not answer.
    #[oai(status = 503)]
    NotReady(Json<crate::error::ErrorBody>),
}

// ----- operations --------------------------------------------------------------------------

/// Sign-in and the current user.
pub struct AuthApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Auth")]
impl<S: Store> AuthApi<S> {
    /// Sign in
    ///
    /// Exchanges a username and password for an access token. An unknown user and a wrong
    /// password get the same answer.
    #[oai(path = "/auth/login", method = "post")]
    async fn login(&self, body: Json<LoginRequest>) -> Result<Json<TokenResponse>, ApiError> {
        let user = self
            .0
            .crm
            .authenticate(&body.username, &body.password)
            .await?;
        let (access_token, expires_in) = self.0.tokens.issue(&user);
        Ok(Json(TokenResponse {
            access_token,
            token_type: "bearer".into(),
            expires_in,
        }))
    }

    /// The signed-in user
    #[oai(path = "/auth/me", method = "get")]
    async fn me(&self, auth: BearerAuth) -> Result<Json<UserBody>, ApiError> {
        Ok(Json(self.0.signed_in(&auth).await?.1.into()))
    }
}

/// What customers use.
pub struct PublicApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Public")]
impl<S: Store> PublicApi<S> {
    /// Submit a repair request
    ///
    /// No account needed. An identical request (same title, description and e-mail) while the
    /// earlier one is open is refused with `duplicate_ticket`. The answer carries the tracking
    /// code, shown only this once.
    #[oai(path = "/public/tickets", method = "post")]
    async fn submit(
        &self,
        req: &Request,
        body: Json<SubmitRequest>,
    ) -> Result<SubmitResponse, ApiError> {
        let body = body.0;
        let requester_ip = client_ip(req, &self.0.trusted_proxies);
        let requester_ua = req
            .headers()
            .get(poem::http::header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let t = self
            .0
            .crm
            .submit(SubmitTicket {
                title: body.title,
                description: body.description,
                client_name: body.client.name,
                client_email: body.client.email,
                client_phone: body.client.phone,
                requester_ip,
                requester_ua,
            })
            .await?;
        Ok(SubmitResponse::Created(Json(SubmittedTicket {
            id: t.id.0,
            title: t.title,
            description: t.description,
            status: t.status.into(),
            created_at: t.created_at,
            tracking_code: t.tracking_code.as_str().to_owned(),
        })))
    }

    /// Follow a request
    ///
    /// The progress of the request holding this tracking code: status and times only.
    #[oai(path = "/public/tickets/:tracking_code", method = "get")]
    async fn track(&self, tracking_code: Path<String>) -> Result<Json<ProgressBody>, ApiError> {
        let p = self.0.crm.track(&tracking_code.0).await?;
        Ok(Json(ProgressBody {
            id: p.id.0,
            status: p.status.into(),
            assigned: p.assigned,
            created_at: p.created_at,
            in_progress_at: p.in_progress_at,
            done_at: p.done_at,
        }))
    }
}

/// Repair requests, for staff.
pub struct TicketsApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Tickets")]
impl<S: Store> TicketsApi<S> {
    /// List tickets
    ///
    /// Newest first. Admins see every ticket; a worker sees only its own and may pass only its
    /// own `worker_id`. Filters combine with AND.
    #[oai(path = "/tickets", method = "get")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// Page number, 1 or more (default 1).
        page: Query<Option<i64>>,
        /// Page size, 1-100 (default 10).
        size: Query<Option<i64>>,
        /// Only this status.
        status: Query<Option<Status>>,
        /// Only this worker's tickets.
        worker_id: Query<Option<i64>>,
        /// Case-insensitive substring of the title (at most 200 characters).
        search: Query<Option<String>>,
    ) -> Result<Json<TicketPage>, ApiError> {
        let actor = self.0.actor(&auth).await?;
        let p = self
            .0
            .crm
            .list_tickets(
                &actor,
                ListTickets {
                    page: page.0,
                    size: size.0,
                    status: status.0.map(Into::into),
                    worker_id: worker_id.0.map(UserId),
                    search: search.0,
                },
            )
            .await?;
        Ok(Json(TicketPage {
            total: p.total,
            page: p.page,
            size: p.size,
            pages: p.pages,
            items: p.items.into_iter().map(Into::into).collect(),
        }))
    }

    /// Statistics
    ///
    /// Counts by status and mean resolution time, for one worker (`worker_id`) or for all
    /// tickets. Admins only.
    #[oai(path = "/tickets/stats", method = "get")]
    async fn stats(
        &self,
        auth: BearerAuth,
        /// A worker's id (active or deleted); omit for all tickets.
        worker_id: Query<Option<i64>>,
    ) -> Result<Json<StatsBody>, ApiError> {
        let actor = self.0.actor(&auth).await?;
        let s = self.0.crm.stats(&actor, worker_id.0.map(UserId)).await?;
        Ok(Json(StatsBody {
            worker_id: s.worker_id.map(UserId::get),
            total: s.total,
            new: s.new,
            in_progress: s.in_progress,
            done: s.done,
            avg_resolution_seconds: s.avg_resolution_seconds,
        }))
    }

    /// Open a ticket
    ///
    /// Marks it viewed on its first opening.
    #[oai(path = "/tickets/:id", method = "get")]
    async fn get(&self, auth: BearerAuth, id: Path<i64>) -> Result<Json<TicketBody>, ApiError> {
        let actor = self.0.actor(&auth).await?;
        Ok(Json(
            self.0.crm.get_ticket(&actor, TicketId(id.0)).await?.into(),
        ))
    }

    /// A ticket's history
    ///
    /// Every change, oldest first.
    #[oai(path = "/tickets/:id/history", method = "get")]
    async fn history(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Json<HistoryBody>, ApiError> {
        let actor = self.0.actor(&auth).await?;
        let events = self.0.crm.history(&actor, TicketId(id.0)).await?;
        Ok(Json(HistoryBody {
            items: events
                .into_iter()
                .map(|e| EventBody {
                    id: e.id.0,
                    ticket_id: e.ticket_id.0,
                    at: e.at,
                    kind: e.kind.as_str().to_owned(),
                    actor_id: e.actor_id.map(UserId::get),
                    worker_id: e.worker_id.map(UserId::get),
                    from_status: e.from_status.map(Into::into),
                    to_status: e.to_status.map(Into::into),
                })
                .collect(),
        }))
    }

    /// Assign a ticket
    ///
    /// Admins only. Sets the worker and `assigned_at`; the status does not change. A done
    /// ticket cannot be assigned; the worker must be an active worker.
    #[oai(path = "/tickets/:id/assign", method = "post")]
    async fn assign(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: Json<AssignRequest>,
    ) -> Result<Json<TicketBody>, ApiError> {
        let actor = self.0.actor(&auth).await?;
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
    /// Asking for the current status returns the ticket unchanged.
    #[oai(path = "/tickets/:id/status", method = "post")]
    async fn status(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
        body: Json<StatusRequest>,
    ) -> Result<Json<TicketBody>, ApiError> {
        let actor = self.0.actor(&auth).await?;
        let t = self
            .0
            .crm
            .change_status(&actor, TicketId(id.0), body.new_status.into())
            .await?;
        Ok(Json(t.into()))
    }
}

/// Staff accounts, for admins.
pub struct UsersApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Users")]
impl<S: Store> UsersApi<S> {
    /// List accounts
    ///
    /// Active accounts, newest first.
    #[oai(path = "/users", method = "get")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// Page number, 1 or more (default 1).
        page: Query<Option<i64>>,
        /// Page size, 1-100 (default 10).
        size: Query<Option<i64>>,
        /// Case-insensitive substring of the username.
        search: Query<Option<String>>,
        /// Only this role.
        role: Query<Option<RoleBody>>,
    ) -> Result<Json<UserPage>, ApiError> {
        let actor = self.0.actor(&auth).await?;
        let p = self
            .0
            .crm
            .list_users(
                &actor,
                ListUsers {
                    page: page.0,
                    size: size.0,
                    role: role.0.map(Into::into),
                    search: search.0,
                },
            )
            .await?;
        Ok(Json(UserPage {
            total: p.total,
            page: p.page,
            size: p.size,
            pages: p.pages,
            items: p.items.into_iter().map(Into::into).collect(),
        }))
    }

    /// Create an account
    #[oai(path = "/users", method = "post")]
    async fn create(
        &self,
        auth: BearerAuth,
        body: Json<CreateUserRequest>,
    ) -> Result<CreateUserResponse, ApiError> {
        let actor = self.0.actor(&auth).await?;
        let u = self
            .0
            .crm
            .create_user(&actor, &body.username, &body.password, body.role.into())
            .await?;
        Ok(CreateUserResponse::Created(Json(u.into())))
    }

    /// Delete an account
    ///
    /// Deactivates it: it can no longer sign in, its tokens stop working, its open tickets go
    /// back to `new` with no worker, and its username becomes free. Its done tickets keep it.
    /// An admin cannot delete itself, and the last admin cannot be deleted.
    #[oai(path = "/users/:id", method = "delete")]
    async fn delete(
        &self,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<DeleteUserResponse, ApiError> {
        let actor = self.0.actor(&auth).await?;
        self.0.crm.delete_user(&actor, UserId(id.0)).await?;
        Ok(DeleteUserResponse::Deleted)
    }
}

/// Probes.
pub struct HealthApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Health")]
impl<S: Store> HealthApi<S> {
    /// Liveness: the process is up
    #[oai(path = "/healthz", method = "get")]
    async fn healthz(&self) -> Json<HealthBody> {
        Json(HealthBody {
            status: "ok".into(),
        })
    }

    /// Readiness: the store answers
    #[oai(path = "/readyz", method = "get")]
    async fn readyz(&self) -> ReadyResponse {
        match self.0.crm.ready().await {
            Ok(()) => ReadyResponse::Ready(Json(HealthBody {
                status: "ok".into(),
            })),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                ReadyResponse::NotReady(Json(crate::error::ErrorBody {
                    detail: "The store does not answer.".into(),
                    code: "unavailable".into(),
                    fields: None,
                    allowed_next: None,
                }))
            }
        }
    }
}

/// The requester's address: the peer, or the client named in `X-Forwarded-For` when the peer
/// is a trusted proxy (walking the list from the right, past every trusted proxy).
pub fn client_ip(req: &Request, trusted: &[IpAddr]) -> Option<String> {
    let peer = match req.remote_addr().0 {
        poem::Addr::SocketAddr(a) => Some(a.ip()),
        _ => None,
    };
    requester_ip(peer, req.headers(), trusted)
}

fn requester_ip(
    peer: Option<IpAddr>,
    headers: &poem::http::HeaderMap,
    trusted: &[IpAddr],
) -> Option<String> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer.to_string());
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect();
    let client = forwarded
        .iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer);
    Some(client.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::HeaderMap;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "198.51.100.9, 10.0.0.2".parse().unwrap());
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        // An untrusted peer: its own address, whatever it claims.
        assert_eq!(
            requester_ip(Some(ip("203.0.113.5")), &h, &trusted).as_deref(),
            Some("203.0.113.5")
        );
        // A trusted proxy: the rightmost address that is not a trusted proxy.
        assert_eq!(
            requester_ip(Some(ip("10.0.0.1")), &h, &trusted).as_deref(),
            Some("198.51.100.9")
        );
        // A trusted proxy without the header: the proxy itself.
        assert_eq!(
            requester_ip(Some(ip("10.0.0.1")), &HeaderMap::new(), &trusted).as_deref(),
            Some("10.0.0.1")
        );
        // A spoofed leftmost entry does not win over the address the proxy saw.
        h.insert("x-forwarded-for", "1.2.3.4, 198.51.100.9".parse().unwrap());
        assert_eq!(
            requester_ip(Some(ip("10.0.0.1")), &h, &trusted).as_deref(),
            Some("198.51.100.9")
        );
        assert_eq!(requester_ip(None, &h, &trusted), None);
    }
}
