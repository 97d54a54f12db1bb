//! Quotes: the price a customer accepts before a repair starts. A quote is written as a
//! draft, sent (which supersedes any earlier sent version), and then decided once by the
//! customer, or it lapses: `valid_days` after sending it is expired, by time alone, so no job
//! has to run for a quote to stop being open. Every version is kept, so staff see what was
//! offered and what was accepted.

use crate::{
    error::StoreError,
    ids::{QuoteId, TicketId, UserId},
    money::{QuoteLine, TaxRate, Totals},
};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Days a sent quote stays open unless the draft says otherwise.
pub const DEFAULT_VALID_DAYS: u32 = 14;
/// The longest a quote may stay open.
pub const MAX_VALID_DAYS: u32 = 90;
/// The longest note on a quote, in characters.
pub const MAX_NOTE: usize = 2000;
/// The longest name a customer types to decide, in characters.
pub const MAX_DECIDER_NAME: usize = 100;
/// The longest comment with a decision, in characters.
pub const MAX_COMMENT: usize = 1000;

/// The customer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The price is accepted: the repair may go ahead.
    Approve,
    /// The price is refused.
    Decline,
}

/// Where a quote stands, as read at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteState {
    /// Being written; staff may still change it; the customer cannot see it.
    Draft,
    /// Sent and open for the customer's decision.
    Sent,
    /// A later version was sent instead.
    Superseded,
    /// Its time ran out before the customer decided.
    Expired,
    /// The customer accepted it.
    Approved,
    /// The customer refused it.
    Declined,
}

/// Who decided a quote and how, as recorded: the typed name stands for a signature, and the
/// address and browser are the evidence a shop keeps for a dispute (never shown publicly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteDecision {
    /// Approve or decline.
    pub decision: Decision,
    /// The name the customer typed.
    pub name: String,
    /// What the customer added, if anything.
    pub comment: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// From which address.
    pub ip: Option<String>,
    /// With which browser.
    pub user_agent: Option<String>,
}

/// What staff write in a quote, as checked: the lines, the tax, how long it stays open and
/// the note for the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteContent {
    /// Its lines, in order (1 to [`crate::money::MAX_LINES`]).
    pub lines: Vec<QuoteLine>,
    /// The tax rate.
    pub tax_rate: TaxRate,
    /// Days it stays open once sent.
    pub valid_days: u32,
    /// What the shop adds for the customer.
    pub note: Option<String>,
}

/// A draft to store as the ticket's next version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQuote {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The shop's currency (ISO 4217) at the time: a later change of `CURRENCY` never
    /// re-reads an old quote's amounts.
    pub currency: String,
    /// What it says.
    pub content: QuoteContent,
    /// Who wrote it.
    pub author: UserId,
    /// When.
    pub at: DateTime<Utc>,
}

/// A customer's decision to record on a sent quote, compared and set on "sent, undecided,
/// not superseded, not expired at `decision.at`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecideQuote {
    /// The ticket (found by its tracking code).
    pub ticket_id: TicketId,
    /// The version decided.
    pub quote_id: QuoteId,
    /// The decision with its evidence.
    pub decision: QuoteDecision,
}

/// The ticket's quote as lists see it: the state of its latest sent version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketQuote {
    /// The version.
    pub id: QuoteId,
    /// Sent (awaiting the customer), approved or declined.
    pub state: QuoteState,
    /// When a sent one stops being open.
    pub expires_at: Option<DateTime<Utc>>,
}

impl TicketQuote {
    /// Whether the customer can still decide it at `now`.
    pub fn awaiting(&self, now: DateTime<Utc>) -> bool {
        self.state == QuoteState::Sent && self.expires_at.is_some_and(|e| now < e)
    }

    /// Its state at `now`: a sent one past its time is expired.
    pub fn state_at(&self, now: DateTime<Utc>) -> QuoteState {
        if self.state == QuoteState::Sent && !self.awaiting(now) {
            QuoteState::Expired
        } else {
            self.state
        }
    }
}

/// The list filter `quote=` as asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteListState {
    /// Sent and still open.
    Awaiting,
    /// Approved.
    Approved,
    /// Declined.
    Declined,
}

impl QuoteListState {
    /// The filter at `now` (awaiting means not expired by then).
    pub fn at(self, now: DateTime<Utc>) -> QuoteFilter {
        match self {
            Self::Awaiting => QuoteFilter::Awaiting(now),
            Self::Approved => QuoteFilter::Approved,
            Self::Declined => QuoteFilter::Declined,
        }
    }
}

/// The list filter `quote=`, with the time "awaiting" is decided at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteFilter {
    /// A sent quote the customer can still decide at this time.
    Awaiting(DateTime<Utc>),
    /// The latest sent quote was approved.
    Approved,
    /// The latest sent quote was declined.
    Declined,
}

impl QuoteFilter {
    /// Whether a ticket whose quote is `q` passes.
    pub fn admits(self, q: Option<&TicketQuote>) -> bool {
        match (self, q) {
            (_, None) => false,
            (Self::Awaiting(now), Some(q)) => q.awaiting(now),
            (Self::Approved, Some(q)) => q.state == QuoteState::Approved,
            (Self::Declined, Some(q)) => q.state == QuoteState::Declined,
        }
    }
}

/// One version of a ticket's quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Its id.
    pub id: QuoteId,
    /// The ticket.
    pub ticket_id: TicketId,
    /// Its place among the ticket's versions, from 1.
    pub version: u32,
    /// The currency its amounts are in.
    pub currency: String,
    /// Who wrote it.
    pub created_by: UserId,
    /// Its lines, in order.
    pub lines: Vec<QuoteLine>,
    /// The tax rate.
    pub tax_rate: TaxRate,
    /// Days it stays open once sent.
    pub valid_days: u32,
    /// What the shop adds for the customer.
    pub note: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it was sent, if it was.
    pub sent_at: Option<DateTime<Utc>>,
    /// When a later version superseded it, if one did.
    pub superseded_at: Option<DateTime<Utc>>,
    /// The customer's decision, if made.
    pub decision: Option<QuoteDecision>,
}

/// Why a customer's decision is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionRefused {
    /// It was decided already (`409 quote_decided`).
    Decided,
    /// It is not open: a draft, superseded or expired (`409 quote_not_open`).
    NotOpen,
}

impl Quote {
    /// The figures of its lines, computed the one way they are computed.
    pub fn totals(&self) -> Totals {
        Totals::of(&self.lines, self.tax_rate)
    }

    /// When it stops being open, once sent.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.sent_at
            .map(|at| at + TimeDelta::days(i64::from(self.valid_days)))
    }

    /// Its state at `now`: a decision stands for good; otherwise a superseded version stays
    /// superseded, and a sent one is expired from `expires_at` on.
    pub fn state(&self, now: DateTime<Utc>) -> QuoteState {
        if let Some(d) = &self.decision {
            return match d.decision {
                Decision::Approve => QuoteState::Approved,
                Decision::Decline => QuoteState::Declined,
            };
        }
        if self.superseded_at.is_some() {
            return QuoteState::Superseded;
        }
        match self.expires_at() {
            None => QuoteState::Draft,
            Some(end) if now >= end => QuoteState::Expired,
            Some(_) => QuoteState::Sent,
        }
    }

    /// Whether the customer may decide it at `now`. The store applies the decision with a
    /// compare-and-set on "sent, undecided, not superseded, not expired", so two racing
    /// decisions settle there; this is the same rule for the answer's wording.
    pub fn may_decide(&self, now: DateTime<Utc>) -> Result<(), DecisionRefused> {
        match self.state(now) {
            QuoteState::Sent => Ok(()),
            QuoteState::Approved | QuoteState::Declined => Err(DecisionRefused::Decided),
            QuoteState::Draft | QuoteState::Superseded | QuoteState::Expired => {
                Err(DecisionRefused::NotOpen)
            }
        }
    }

    /// Whether staff may still change it: only a draft.
    pub fn editable(&self) -> bool {
        self.sent_at.is_none()
    }

    /// The content as written.
    pub fn content(&self) -> QuoteContent {
        QuoteContent {
            lines: self.lines.clone(),
            tax_rate: self.tax_rate,
            valid_days: self.valid_days,
            note: self.note.clone(),
        }
    }

    /// Replaces the content (a draft's edit).
    pub fn set_content(&mut self, c: QuoteContent) {
        self.lines = c.lines;
        self.tax_rate = c.tax_rate;
        self.valid_days = c.valid_days;
        self.note = c.note;
    }

    /// The quote as it stood at `at` (an event's time): a decision or a supersession that
    /// came later is not part of it. A sent quote's lines never change, so nothing else
    /// differs.
    pub fn as_of(&self, at: DateTime<Utc>) -> Self {
        let mut q = self.clone();
        if q.decision.as_ref().is_some_and(|d| d.at > at) {
            q.decision = None;
        }
        if q.superseded_at.is_some_and(|s| s > at) {
            q.superseded_at = None;
        }
        q
    }

    /// What lists keep of it once sent.
    pub fn summary(&self) -> Option<TicketQuote> {
        self.sent_at?;
        Some(TicketQuote {
            id: self.id,
            state: match &self.decision {
                Some(d) if d.decision == Decision::Approve => QuoteState::Approved,
                Some(_) => QuoteState::Declined,
                None => QuoteState::Sent,
            },
            expires_at: self.expires_at(),
        })
    }
}

/// A ticket's quotes. Each step is atomic and settles its races in the store: a send
/// supersedes the earlier sent version in the same step, and a decision is compared and set,
/// so two customers' clicks on two replicas record one decision.
#[async_trait]
pub trait QuoteStore: Send + Sync + 'static {
    /// Stores a draft as the ticket's next version ([`StoreError::NotFound`] for no ticket).
    async fn create_quote(&self, new: NewQuote) -> Result<Quote, StoreError>;

    /// Replaces a draft's content ([`StoreError::QuoteNotOpen`] once it is sent,
    /// [`StoreError::NotFound`] for no such quote of that ticket).
    async fn edit_quote(
        &self,
        ticket: TicketId,
        id: QuoteId,
        content: QuoteContent,
    ) -> Result<Quote, StoreError>;

    /// Every version of the ticket's quote, oldest first.
    async fn list_quotes(&self, ticket: TicketId) -> Result<Vec<Quote>, StoreError>;

    /// One version of the ticket's quote.
    async fn get_quote(&self, ticket: TicketId, id: QuoteId) -> Result<Quote, StoreError>;

    /// The quotes named, in any order, skipping pairs that name none: an export's approved
    /// totals, a batch at a time.
    async fn quotes_of(&self, wanted: &[(TicketId, QuoteId)]) -> Result<Vec<Quote>, StoreError>;

    /// Sends a draft: `sent_at = at`, every earlier sent and undecided version superseded,
    /// the ticket's quote summary set, and the `quote_sent` event by `actor` with the
    /// customer's e-mail, in one step. [`StoreError::QuoteNotOpen`] when it was sent already.
    async fn send_quote(
        &self,
        ticket: TicketId,
        id: QuoteId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<Quote, StoreError>;

    /// Records the customer's decision with its `quote_decided` event (no actor), once:
    /// [`StoreError::QuoteDecided`] when it is decided already, [`StoreError::QuoteNotOpen`]
    /// when it is a draft, superseded or expired at the decision's time.
    async fn decide_quote(&self, decide: DecideQuote) -> Result<Quote, StoreError>;
}

/// Checks `valid_days` (1 to [`MAX_VALID_DAYS`], default [`DEFAULT_VALID_DAYS`]).
pub fn parse_valid_days(raw: Option<i64>) -> Result<u32, String> {
    match raw {
        None => Ok(DEFAULT_VALID_DAYS),
        Some(d) if (1..=i64::from(MAX_VALID_DAYS)).contains(&d) => Ok(d as u32),
        Some(_) => Err(format!(
            "A quote stays open from 1 to {MAX_VALID_DAYS} days."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::LineKind;

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::days(day)
    }

    fn quote() -> Quote {
        Quote {
            id: QuoteId(1),
            ticket_id: TicketId(1),
            version: 1,
            currency: "EUR".into(),
            created_by: UserId(1),
            lines: vec![QuoteLine {
                kind: LineKind::Part,
                description: "Screen".into(),
                quantity: 1,
                unit_price: 8999,
            }],
            tax_rate: TaxRate::parse(1900).unwrap(),
            valid_days: 14,
            note: None,
            created_at: at(0),
            sent_at: None,
            superseded_at: None,
            decision: None,
        }
    }

    fn decided(decision: Decision) -> QuoteDecision {
        QuoteDecision {
            decision,
            name: "Jane Customer".into(),
            comment: None,
            at: at(2),
            ip: None,
            user_agent: None,
        }
    }

    #[test]
    fn a_quote_moves_from_draft_to_sent_to_expired_by_time() {
        let mut q = quote();
        assert_eq!(q.state(at(100)), QuoteState::Draft);
        assert!(q.editable());
        assert_eq!(q.may_decide(at(1)), Err(DecisionRefused::NotOpen));
        q.sent_at = Some(at(1));
        assert!(!q.editable());
        assert_eq!(q.expires_at(), Some(at(15)));
        assert_eq!(q.state(at(14)), QuoteState::Sent);
        assert_eq!(q.may_decide(at(14)), Ok(()));
        assert_eq!(
            q.state(at(15)),
            QuoteState::Expired,
            "expired from the very moment"
        );
        assert_eq!(q.may_decide(at(15)), Err(DecisionRefused::NotOpen));
    }

    #[test]
    fn a_decision_stands_and_is_made_once() {
        let mut q = quote();
        q.sent_at = Some(at(1));
        q.decision = Some(decided(Decision::Approve));
        assert_eq!(q.state(at(2)), QuoteState::Approved);
        assert_eq!(
            q.state(at(100)),
            QuoteState::Approved,
            "an approval never expires"
        );
        assert_eq!(q.may_decide(at(3)), Err(DecisionRefused::Decided));
        q.decision = Some(decided(Decision::Decline));
        assert_eq!(q.state(at(2)), QuoteState::Declined);
    }

    #[test]
    fn a_superseded_version_is_not_open() {
        let mut q = quote();
        q.sent_at = Some(at(1));
        q.superseded_at = Some(at(2));
        assert_eq!(q.state(at(3)), QuoteState::Superseded);
        assert_eq!(q.may_decide(at(3)), Err(DecisionRefused::NotOpen));
    }

    #[test]
    fn totals_come_from_the_money_rules() {
        let t = quote().totals();
        // 89.99 + 19% = 17.0981 -> 17.10.
        assert_eq!((t.subtotal, t.tax, t.total), (8999, 1710, 10709));
    }

    #[test]
    fn lists_see_the_latest_sent_version_and_awaiting_ends_with_expiry() {
        let mut q = quote();
        assert_eq!(q.summary(), None, "a draft is not listed");
        q.sent_at = Some(at(1));
        let s = q.summary().unwrap();
        assert_eq!((s.state, s.expires_at), (QuoteState::Sent, Some(at(15))));
        assert!(QuoteFilter::Awaiting(at(14)).admits(Some(&s)));
        assert!(!QuoteFilter::Awaiting(at(15)).admits(Some(&s)), "expired");
        assert!(!QuoteFilter::Approved.admits(Some(&s)));
        assert!(!QuoteFilter::Awaiting(at(2)).admits(None));
        q.decision = Some(decided(Decision::Decline));
        let s = q.summary().unwrap();
        assert!(QuoteFilter::Declined.admits(Some(&s)));
        assert!(!QuoteFilter::Awaiting(at(2)).admits(Some(&s)));
        assert_eq!(
            QuoteListState::Awaiting.at(at(3)),
            QuoteFilter::Awaiting(at(3))
        );
    }

    #[test]
    fn a_quote_as_an_earlier_event_left_it() {
        let mut q = quote();
        q.sent_at = Some(at(1));
        let sent = q.summary().unwrap();
        assert_eq!(sent.state_at(at(14)), QuoteState::Sent);
        assert_eq!(sent.state_at(at(15)), QuoteState::Expired);
        q.decision = Some(decided(Decision::Approve));
        q.superseded_at = Some(at(3));
        let then = q.as_of(at(1));
        assert_eq!((then.decision, then.superseded_at), (None, None));
        assert_eq!(
            q.as_of(at(2)).decision.map(|d| d.decision),
            Some(Decision::Approve)
        );
        assert_eq!(q.as_of(at(3)).superseded_at, Some(at(3)));
    }

    #[test]
    fn valid_days_default_and_limits() {
        assert_eq!(parse_valid_days(None), Ok(14));
        assert_eq!(parse_valid_days(Some(90)), Ok(90));
        assert!(parse_valid_days(Some(0)).is_err());
        assert!(parse_valid_days(Some(91)).is_err());
    }
}
