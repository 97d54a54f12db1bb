//! The errors of the library, each mapping to exactly one machine code of the API contract.

use crate::{input::ValidationErrors, status::TicketStatus};

/// What a storage backend can answer besides success. The first variants are outcomes the
/// store settled atomically (a unique index, a compare-and-set); the last two are failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist, or is outside the caller's visibility.
    #[error("not found")]
    NotFound,
    /// An open ticket with the same duplicate key exists.
    #[error("duplicate ticket")]
    DuplicateTicket,
    /// An active user already has this username (case-insensitively).
    #[error("username taken")]
    UsernameTaken,
    /// Another customer already has this e-mail (case-insensitively).
    #[error("e-mail taken")]
    EmailTaken,
    /// The compare-and-set lost: the ticket is no longer in the state the change was decided on.
    #[error("ticket changed concurrently")]
    Stale,
    /// The ticket is done and can no longer be assigned.
    #[error("ticket is done")]
    TicketClosed,
    /// The assignee is not an active user with role worker.
    #[error("no such active worker")]
    WorkerUnavailable,
    /// The user is the last active admin.
    #[error("last active admin")]
    LastAdmin,
    /// A per-ticket allowance is used up (a customer's messages or files in a day).
    #[error("limit reached")]
    LimitReached,
    /// The ticket holds the most files it may.
    #[error("ticket full")]
    TicketFull,
    /// Tickets are in the stage, so it cannot be removed.
    #[error("stage in use")]
    StageInUse,
    /// The stage asked for does not exist (any more).
    #[error("no such stage")]
    UnknownStage,
    /// The quote is decided already.
    #[error("quote decided")]
    QuoteDecided,
    /// The quote is not open for this (a draft to decide, a sent one to edit or send, a
    /// superseded or expired one).
    #[error("quote not open")]
    QuoteNotOpen,
    /// The backend could not be reached or timed out; names where, never credentials.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else that went wrong inside the backend.
    #[error("storage failure")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Everything the facade can refuse or fail with. One variant per API error code; which
/// transport status each gets is the transport's business (the reference server maps them in
/// one exhaustive `match`), so this enum carries no HTTP numbers.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Input broke a rule (422 `validation_error`).
    #[error("{0}")]
    Validation(ValidationErrors),
    /// Wrong username or password (401 `invalid_credentials`); never says which.
    #[error("Incorrect username or password.")]
    InvalidCredentials,
    /// No valid session: the user is gone or deactivated (401 `not_authenticated`).
    #[error("Not authenticated.")]
    Unauthenticated,
    /// The caller's role may not do this (403 `forbidden`).
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such thing, or not visible to the caller (404 `not_found`).
    #[error("{0} not found.")]
    NotFound(&'static str),
    /// A status move the state machine does not allow (409 `invalid_transition`).
    #[error("{}", transition_sentence(*from, *to))]
    InvalidTransition {
        /// The ticket's status.
        from: TicketStatus,
        /// The status asked for.
        to: TicketStatus,
    },
    /// Starting a ticket that has no worker (409 `invalid_transition`, nothing allowed next
    /// until it is assigned).
    #[error("Assign the ticket to a worker before starting it.")]
    NotAssigned,
    /// An open ticket with the same title, description and e-mail exists (409 `duplicate_ticket`).
    #[error("An identical request from this e-mail is already open.")]
    DuplicateTicket,
    /// The username is in use by an active account (409 `username_taken`).
    #[error("This username is already taken.")]
    UsernameTaken,
    /// Another customer has this e-mail (409 `email_taken`): customers are told apart by it.
    #[error("Another customer already has this e-mail address.")]
    EmailTaken,
    /// A done ticket cannot be assigned (409 `ticket_closed`).
    #[error("The ticket is done and can no longer be assigned.")]
    TicketClosed,
    /// The customer writes on a request done more than [`crate::message::CLOSED_AFTER`] ago
    /// (409 `ticket_closed`).
    #[error(
        "This request was finished more than 30 days ago, so it takes no more messages. Please submit a new request or call us."
    )]
    ConversationClosed,
    /// The assignee is not an active worker (422 `invalid_worker`).
    #[error("No active worker with this id.")]
    InvalidWorker,
    /// An admin tried to delete its own account (409 `cannot_delete_self`).
    #[error("You cannot delete your own account.")]
    CannotDeleteSelf,
    /// An admin tried to reset its own password, which is changed, not reset (409
    /// `cannot_reset_self`).
    #[error("Change your own password with POST /auth/password; a reset is for other accounts.")]
    CannotResetSelf,
    /// Deleting the last active admin would lock everyone out (409 `last_admin`).
    #[error("The last active admin cannot be deleted.")]
    LastAdmin,
    /// A manual retry of a delivery that is still queued or in flight (409
    /// `delivery_pending`): it is attempted anyway, and retrying now could send it twice at once.
    #[error("This delivery is still pending; it is attempted on schedule.")]
    DeliveryPending,
    /// Too many failed sign-ins for this username lately (429 `too_many_attempts`); attempts
    /// are refused, right password or not, until the delay passes.
    #[error("Too many failed sign-ins for this account. Try again in {retry_after_secs} s.")]
    TooManyAttempts {
        /// Seconds until the next attempt is considered.
        retry_after_secs: u64,
    },
    /// The customer wrote [`crate::message::CUSTOMER_MESSAGES_PER_DAY`] messages on this
    /// ticket in the last day (429 `rate_limited`).
    #[error(
        "You have sent the most messages a day allows on this request. Please try again tomorrow or call us."
    )]
    TooManyMessages,
    /// The customer added [`crate::attachment::CUSTOMER_ATTACHMENTS_PER_DAY`] files to this
    /// ticket in the last day (429 `rate_limited`).
    #[error(
        "You have added the most files a day allows on this request. Please try again tomorrow or call us."
    )]
    TooManyUploads,
    /// The ticket holds `ATTACHMENT_MAX_PER_TICKET` files already (409 `attachment_limit`).
    #[error("This ticket already holds {max} files, the most it may; remove one first.")]
    TooManyAttachments {
        /// The limit.
        max: u32,
    },
    /// The file is over `ATTACHMENT_MAX_BYTES` (413 `payload_too_large`), noticed while it
    /// streamed; nothing was kept.
    #[error("The file is larger than {} allows.", mib(*max))]
    FileTooLarge {
        /// The limit in bytes.
        max: u64,
    },
    /// The file's bytes are none of the admitted kinds, or not what their start promised
    /// (415 `unsupported_media_type`).
    #[error(
        "The file is not a JPEG, PNG, WebP, HEIC or GIF picture, a PDF or plain text; other kinds are not accepted."
    )]
    UnsupportedFile,
    /// The customer decided this quote already (409 `quote_decided`).
    #[error("This quote was decided already.")]
    QuoteDecided,
    /// The quote cannot take this step now (409 `quote_not_open`): the sentence says why.
    #[error("{0}")]
    QuoteNotOpen(&'static str),
    /// The account signs in with a second factor and none was sent (401 `totp_required`).
    #[error(
        "This account signs in with a code from its authenticator app: send it as totp_code (or a recovery code)."
    )]
    TotpRequired,
    /// The second factor was wrong, expired or used before (401 `totp_invalid`); counted
    /// as a failed sign-in.
    #[error("The sign-in code is not correct, has expired or was used already.")]
    TotpInvalid,
    /// An admin tried to clear its own second factor, which it turns off itself (409
    /// `cannot_reset_self`).
    #[error(
        "Turn your own two-factor sign-in off with POST /auth/totp/disable; a reset is for other accounts."
    )]
    CannotClearOwnTotp,
    /// Two-factor sign-in is on already (409 `totp_enabled`).
    #[error("Two-factor sign-in is on already; turn it off before setting it up again.")]
    TotpAlreadyOn,
    /// No setup to confirm (409 `totp_not_set_up`).
    #[error("Start the setup with POST /auth/totp/setup first, then confirm it with a code.")]
    TotpNotSetUp,
    /// The account holds [`crate::credential::MAX_KEYS_PER_USER`] keys (409 `api_key_limit`).
    #[error(
        "This account holds {} API keys, the most it may; revoke one first.",
        crate::credential::MAX_KEYS_PER_USER
    )]
    TooManyKeys,
    /// Tickets are in the stage; move them first (409 `stage_in_use`).
    #[error("Tickets are in this stage; move them to another stage before removing it.")]
    StageInUse,
    /// The service cannot take this on right now (all password hashers busy, or a change that
    /// kept losing races); retrying shortly works (503 `unavailable`).
    #[error("The service is busy. Try again in a moment.")]
    Busy,
    /// The store is unreachable (503 `unavailable`).
    #[error("The service is temporarily unavailable.")]
    Unavailable(#[source] StoreError),
    /// An unexpected failure (500 `internal_error`); the cause is logged, never shown.
    #[error("Internal error.")]
    Internal(#[source] StoreError),
}

/// A byte limit as people read it: "10 MiB", "512 KiB".
fn mib(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes % (1 << 10) == 0 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

fn transition_sentence(from: TicketStatus, to: TicketStatus) -> String {
    let next = from.next();
    if next.is_empty() {
        format!("Cannot move a ticket from {from} to {to}: {from} is final.")
    } else {
        let allowed: Vec<&str> = next.iter().map(|s| s.as_str()).collect();
        format!(
            "Cannot move a ticket from {from} to {to}; allowed next: {}.",
            allowed.join(", ")
        )
    }
}

impl CoreError {
    /// The machine code of the API error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_error",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Unauthenticated => "not_authenticated",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::InvalidTransition { .. } | Self::NotAssigned => "invalid_transition",
            Self::DuplicateTicket => "duplicate_ticket",
            Self::UsernameTaken => "username_taken",
            Self::EmailTaken => "email_taken",
            Self::TicketClosed | Self::ConversationClosed => "ticket_closed",
            Self::InvalidWorker => "invalid_worker",
            Self::CannotDeleteSelf => "cannot_delete_self",
            Self::CannotResetSelf | Self::CannotClearOwnTotp => "cannot_reset_self",
            Self::TotpRequired => "totp_required",
            Self::TotpInvalid => "totp_invalid",
            Self::TotpAlreadyOn => "totp_enabled",
            Self::TotpNotSetUp => "totp_not_set_up",
            Self::TooManyKeys => "api_key_limit",
            Self::LastAdmin => "last_admin",
            Self::DeliveryPending => "delivery_pending",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::TooManyMessages | Self::TooManyUploads => "rate_limited",
            Self::TooManyAttachments { .. } => "attachment_limit",
            Self::FileTooLarge { .. } => "payload_too_large",
            Self::UnsupportedFile => "unsupported_media_type",
            Self::StageInUse => "stage_in_use",
            Self::QuoteDecided => "quote_decided",
            Self::QuoteNotOpen(_) => "quote_not_open",
            Self::Busy | Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The allowed next statuses, for an invalid transition.
    pub fn allowed_next(&self) -> Option<&'static [TicketStatus]> {
        match self {
            Self::InvalidTransition { from, .. } => Some(from.next()),
            Self::NotAssigned => Some(&[]),
            _ => None,
        }
    }

    /// Turns an unexpected store answer into a failure, keeping the cause for the log.
    pub(crate) fn from_store(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::Unavailable(e),
            other => Self::Internal(other),
        }
    }
}

impl From<ValidationErrors> for CoreError {
    fn from(e: ValidationErrors) -> Self {
        Self::Validation(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_messages_name_the_allowed_next() {
        let e = CoreError::InvalidTransition {
            from: TicketStatus::New,
            to: TicketStatus::Done,
        };
        assert_eq!(
            e.to_string(),
            "Cannot move a ticket from new to done; allowed next: in_progress."
        );
        assert_eq!(e.allowed_next(), Some(&[TicketStatus::InProgress][..]));
        let e = CoreError::InvalidTransition {
            from: TicketStatus::Done,
            to: TicketStatus::New,
        };
        assert!(e.to_string().contains("final"));
        assert_eq!(e.code(), "invalid_transition");
    }
}
