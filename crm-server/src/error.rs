//! The one place where failures become HTTP responses: `{"detail", "code"}` for every error,
//! whether the facade refused, a request did not parse, a limit was hit, or poem itself
//! answered. Every 401 carries `WWW-Authenticate`, every 429 and 503 `Retry-After`.

use crate::auth::Refusal;
use crm_core::CoreError;
use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{ApiResponse, Object, payload::Json};

/// How long a client should wait before retrying when the store is away or the service busy.
pub const RETRY_AFTER_UNAVAILABLE_SECS: u64 = 2;

/// One field the request got wrong.
#[derive(Object, Debug, Clone)]
pub struct FieldErrorBody {
    /// The field's path, e.g. `client.email`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// The body of every error response.
#[derive(Object, Debug, Clone)]
pub struct ErrorBody {
    /// A sentence for people (the name keeps clients of the original FastAPI service working).
    pub detail: String,
    /// A stable machine code: `validation_error`, `not_authenticated`, `invalid_credentials`,
    /// `forbidden`, `not_found`, `invalid_transition`, `duplicate_ticket`, `username_taken`,
    /// `ticket_closed`, `invalid_worker`, `cannot_delete_self`, `cannot_reset_self`, `last_admin`,
    /// `attachment_limit`, `payload_too_large`, `unsupported_media_type`, `method_not_allowed`, `too_many_attempts`, `rate_limited`,
    /// `unavailable`, `internal_error`.
    pub code: String,
    /// For `validation_error`: every rejected field.
    #[oai(skip_serializing_if_is_none)]
    pub fields: Option<Vec<FieldErrorBody>>,
    /// For `invalid_transition`: the statuses the ticket may move to.
    #[oai(skip_serializing_if_is_none)]
    pub allowed_next: Option<Vec<String>>,
}

impl ErrorBody {
    /// A body with just a sentence and a code.
    pub fn json(detail: impl Into<String>, code: &str) -> Json<Self> {
        Json(Self {
            detail: detail.into(),
            code: code.to_owned(),
            fields: None,
            allowed_next: None,
        })
    }
}

impl From<&CoreError> for ErrorBody {
    fn from(e: &CoreError) -> Self {
        Self {
            detail: e.to_string(),
            code: e.code().to_owned(),
            fields: match e {
                CoreError::Validation(v) => Some(
                    v.0.iter()
                        .map(|f| FieldErrorBody {
                            field: f.field.clone(),
                            message: f.message.clone(),
                        })
                        .collect(),
                ),
                _ => None,
            },
            allowed_next: e
                .allowed_next()
                .map(|n| n.iter().map(|s| s.as_str().to_owned()).collect()),
        }
    }
}

/// Every error an operation can answer. (Which of them each operation really answers is
/// declared per operation in the OpenAPI document, see [`crate::openapi`].)
#[derive(ApiResponse, Debug)]
#[oai(bad_request_handler = "bad_request")]
pub enum ApiError {
    /// Missing, malformed, expired, revoked or forged token, a deleted user's token, or wrong
    /// credentials.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        /// Always `Bearer`.
        #[oai(header = "WWW-Authenticate")]
        String,
    ),
    /// The signed-in user's role may not do this.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such resource, or one the caller may not see.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The request conflicts with the current state (duplicate, transition, taken name, ...).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The request body is over 64 KiB, or an uploaded file over `ATTACHMENT_MAX_BYTES`
    /// (noticed while it streamed; nothing was kept).
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// An uploaded file's bytes are none of the admitted kinds (`unsupported_media_type`).
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// The request is malformed or breaks a validation rule; nothing was stored.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Too many attempts: sign-ins for this username (`too_many_attempts`) or requests from
    /// this address (`rate_limited`). Nothing was done.
    #[oai(status = 429)]
    TooManyRequests(
        Json<ErrorBody>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        String,
    ),
    /// An unexpected failure; the cause is logged, never shown.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The store cannot be reached right now, or the service is saturated; nothing was done.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        String,
    ),
}

impl ApiError {
    /// 401 with the challenge header every 401 carries.
    pub fn unauthorized(detail: &str, code: &str) -> Self {
        Self::Unauthorized(ErrorBody::json(detail, code), "Bearer".into())
    }

    /// 403 `forbidden`.
    pub fn forbidden(detail: &str) -> Self {
        Self::Forbidden(ErrorBody::json(detail, "forbidden"))
    }

    /// 403 `totp_setup_required`: `REQUIRE_TOTP_FOR_ADMINS` is on and this admin has no
    /// second factor yet.
    pub fn totp_setup_required() -> Self {
        Self::Forbidden(ErrorBody::json(
            "Admins must sign in with two factors here: set it up on your account page (POST /auth/totp/setup) first.",
            "totp_setup_required",
        ))
    }

    /// 429 `rate_limited`: this address sent too many requests of this kind.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::TooManyRequests(
            ErrorBody::json(
                format!("Too many requests from your address. Try again in {retry_after_secs} s."),
                "rate_limited",
            ),
            retry_after_secs.max(1).to_string(),
        )
    }

    /// 503 `unavailable` with its `Retry-After`.
    pub fn unavailable(detail: &str) -> Self {
        Self::Unavailable(
            ErrorBody::json(detail, "unavailable"),
            RETRY_AFTER_UNAVAILABLE_SECS.to_string(),
        )
    }

    /// The HTTP status of this answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(..) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(..) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<CoreError> for ApiError {
    /// The one mapping from core refusals to HTTP. Exhaustive on purpose: a new core error
    /// does not compile until it is given its status here.
    fn from(e: CoreError) -> Self {
        if let CoreError::Internal(cause) | CoreError::Unavailable(cause) = &e {
            // The whole chain goes to the log; the client gets a generic sentence.
            let mut chain = cause.to_string();
            let mut src = std::error::Error::source(cause);
            while let Some(s) = src {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                src = s.source();
            }
            tracing::error!(code = e.code(), cause = %chain, "request failed");
        }
        let body = Json(ErrorBody::from(&e));
        let retry = RETRY_AFTER_UNAVAILABLE_SECS.to_string();
        match e {
            CoreError::InvalidCredentials
            | CoreError::Unauthenticated
            | CoreError::TotpRequired
            | CoreError::TotpInvalid => Self::Unauthorized(body, "Bearer".into()),
            CoreError::Forbidden(_) => Self::Forbidden(body),
            CoreError::NotFound(_) => Self::NotFound(body),
            CoreError::InvalidTransition { .. }
            | CoreError::NotAssigned
            | CoreError::DuplicateTicket
            | CoreError::UsernameTaken
            | CoreError::EmailTaken
            | CoreError::TicketClosed
            | CoreError::ConversationClosed
            | CoreError::CannotDeleteSelf
            | CoreError::CannotResetSelf
            | CoreError::CannotClearOwnTotp
            | CoreError::TotpAlreadyOn
            | CoreError::TotpNotSetUp
            | CoreError::TooManyKeys
            | CoreError::LastAdmin
            | CoreError::DeliveryPending
            | CoreError::TooManyAttachments { .. }
            | CoreError::StageInUse
            | CoreError::QuoteDecided
            | CoreError::QuoteNotOpen(_) => Self::Conflict(body),
            CoreError::FileTooLarge { .. } => Self::PayloadTooLarge(body),
            CoreError::UnsupportedFile => Self::UnsupportedMediaType(body),
            CoreError::TooManyUploads => Self::TooManyRequests(body, "3600".into()),
            CoreError::Validation(_) | CoreError::InvalidWorker => Self::Unprocessable(body),
            CoreError::TooManyAttempts { retry_after_secs } => {
                Self::TooManyRequests(body, retry_after_secs.to_string())
            }
            // The day's allowance frees up as the window slides: an hour is an honest wait.
            CoreError::TooManyMessages => Self::TooManyRequests(body, "3600".into()),
            CoreError::Busy | CoreError::Unavailable(_) => Self::Unavailable(body, retry),
            CoreError::Internal(_) => Self::Internal(body),
        }
    }
}

/// Turns what poem-openapi could not extract (token, path, query, body) into our body: the
/// security scheme's own refusal as it is, a path that names nothing as 404, anything else
/// malformed as 422.
pub fn bad_request(err: poem::Error) -> ApiError {
    use poem_openapi::error::{
        AuthorizationError, ContentTypeError, ParsePathError, ParseRequestPayloadError,
    };
    let err = match err.downcast::<Refusal>() {
        Ok(Refusal(api)) => return api,
        Err(err) => err,
    };
    if err.is::<AuthorizationError>() || err.status() == StatusCode::UNAUTHORIZED {
        return ApiError::unauthorized("Not authenticated.", "not_authenticated");
    }
    if err.is::<ParsePathError>() || err.status() == StatusCode::NOT_FOUND {
        return ApiError::NotFound(ErrorBody::json("No such resource.", "not_found"));
    }
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge(ErrorBody::json(
            "The request body is over 64 KiB.",
            "payload_too_large",
        ));
    }
    if !err.status().is_client_error() {
        tracing::error!(error = %err, "unhandled error");
        return ApiError::Internal(ErrorBody::json("Internal error.", "internal_error"));
    }
    let detail = if err.is::<ParseRequestPayloadError>() || err.is::<ContentTypeError>() {
        format!("The request body is not valid: {err}")
    } else {
        format!("The request is not valid: {err}")
    };
    ApiError::Unprocessable(ErrorBody::json(detail, "validation_error"))
}

/// Renders any error that escaped the operations (what an operation could not extract, an
/// unknown path, an oversized body, anything poem raised) in the same body. A 405 is answered
/// by the method check before this.
pub fn render_any(err: poem::Error) -> Response {
    if err.is_from_response() {
        // Already one of ours (an operation's `ApiError`).
        return err.into_response();
    }
    bad_request(err).into_response()
}
