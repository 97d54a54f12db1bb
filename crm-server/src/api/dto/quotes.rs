//! Quote bodies: drafts in, the staff view and the customer's view out. Amounts are integers
//! in the currency's minor units (cents); the totals are crm-core's, computed once.

use super::Text;
use chrono::{DateTime, Utc};
use crm_core::{
    Decision, Quote, QuoteDecision, QuoteState, TicketQuote, WriteLine, WriteQuote,
    money::{LineKind, QuoteLine},
};
use poem_openapi::{
    Enum, Object,
    types::{Example, MaybeUndefined},
};

/// What a line charges for.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum LineKindBody {
    /// A part.
    Part,
    /// Work.
    Labour,
    /// A fee (diagnosis, express, disposal).
    Fee,
}

impl From<LineKindBody> for LineKind {
    fn from(k: LineKindBody) -> Self {
        match k {
            LineKindBody::Part => Self::Part,
            LineKindBody::Labour => Self::Labour,
            LineKindBody::Fee => Self::Fee,
        }
    }
}

impl From<LineKind> for LineKindBody {
    fn from(k: LineKind) -> Self {
        match k {
            LineKind::Part => Self::Part,
            LineKind::Labour => Self::Labour,
            LineKind::Fee => Self::Fee,
        }
    }
}

/// One line of a draft.
#[derive(Object, Debug, Clone)]
#[oai(deny_unknown_fields)]
pub struct QuoteLineRequest {
    /// `part`, `labour` or `fee`.
    pub kind: LineKindBody,
    /// 1-200 characters.
    pub description: Text,
    /// 1-1000.
    pub quantity: i64,
    /// The price of one in minor units (cents), 0-100000000.
    pub unit_price: i64,
}

impl From<QuoteLineRequest> for WriteLine {
    fn from(l: QuoteLineRequest) -> Self {
        Self {
            kind: l.kind.into(),
            description: l.description.0,
            quantity: l.quantity,
            unit_price: l.unit_price,
        }
    }
}

/// A new draft.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct CreateQuoteRequest {
    /// 1-50 lines.
    pub lines: Vec<QuoteLineRequest>,
    /// Tax in basis points, 0-10000 (1900 = 19%); default 0.
    pub tax_rate: Option<i64>,
    /// Days the customer has to decide once it is sent, 1-90; default 14.
    pub valid_days: Option<i64>,
    /// A note for the customer, at most 2000 characters.
    pub note: Option<Text>,
}

impl Example for CreateQuoteRequest {
    fn example() -> Self {
        Self {
            lines: vec![
                QuoteLineRequest {
                    kind: LineKindBody::Part,
                    description: "Display assembly".into(),
                    quantity: 1,
                    unit_price: 8999,
                },
                QuoteLineRequest {
                    kind: LineKindBody::Labour,
                    description: "Fitting, 30 minutes".into(),
                    quantity: 1,
                    unit_price: 2500,
                },
            ],
            tax_rate: Some(1900),
            valid_days: Some(14),
            note: Some("Includes a 6-month warranty on the part.".into()),
        }
    }
}

impl From<CreateQuoteRequest> for WriteQuote {
    fn from(r: CreateQuoteRequest) -> Self {
        Self {
            lines: Some(r.lines.into_iter().map(Into::into).collect()),
            tax_rate: r.tax_rate,
            valid_days: r.valid_days,
            note: Some(r.note.map(|n| n.0)),
        }
    }
}

/// A draft's correction: only the fields given change (`note: null` clears it).
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct EditQuoteRequest {
    /// Every line, replacing the draft's (1-50).
    pub lines: Option<Vec<QuoteLineRequest>>,
    /// Tax in basis points, 0-10000.
    pub tax_rate: Option<i64>,
    /// 1-90.
    pub valid_days: Option<i64>,
    /// At most 2000 characters; null clears it.
    pub note: MaybeUndefined<Text>,
}

impl Example for EditQuoteRequest {
    fn example() -> Self {
        Self {
            lines: None,
            tax_rate: Some(700),
            valid_days: None,
            note: MaybeUndefined::Undefined,
        }
    }
}

impl From<EditQuoteRequest> for WriteQuote {
    fn from(r: EditQuoteRequest) -> Self {
        Self {
            lines: r.lines.map(|l| l.into_iter().map(Into::into).collect()),
            tax_rate: r.tax_rate,
            valid_days: r.valid_days,
            note: match r.note {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(n) => Some(Some(n.0)),
            },
        }
    }
}

/// Approve or decline.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum DecisionBody {
    /// The price is accepted.
    Approve,
    /// The price is refused.
    Decline,
}

impl From<DecisionBody> for Decision {
    fn from(d: DecisionBody) -> Self {
        match d {
            DecisionBody::Approve => Self::Approve,
            DecisionBody::Decline => Self::Decline,
        }
    }
}

impl From<Decision> for DecisionBody {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Approve => Self::Approve,
            Decision::Decline => Self::Decline,
        }
    }
}

/// The customer's decision.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct DecisionRequest {
    /// The version decided (the one `GET .../quote` showed).
    pub quote_id: i64,
    /// `approve` or `decline`.
    pub decision: DecisionBody,
    /// The customer's name, typed as a signature: 1-100 characters.
    pub name: Text,
    /// At most 1000 characters.
    pub comment: Option<Text>,
}

impl Example for DecisionRequest {
    fn example() -> Self {
        Self {
            quote_id: 1,
            decision: DecisionBody::Approve,
            name: "Jane Customer".into(),
            comment: None,
        }
    }
}

/// Where a quote stands now.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum QuoteStateBody {
    /// Being written; the customer cannot see it.
    Draft,
    /// Sent, awaiting the customer.
    Sent,
    /// A later version was sent instead.
    Superseded,
    /// The customer did not decide in time.
    Expired,
    /// Approved.
    Approved,
    /// Declined.
    Declined,
}

impl From<QuoteState> for QuoteStateBody {
    fn from(s: QuoteState) -> Self {
        match s {
            QuoteState::Draft => Self::Draft,
            QuoteState::Sent => Self::Sent,
            QuoteState::Superseded => Self::Superseded,
            QuoteState::Expired => Self::Expired,
            QuoteState::Approved => Self::Approved,
            QuoteState::Declined => Self::Declined,
        }
    }
}

/// One line with its total.
#[derive(Object, Debug, Clone)]
pub struct QuoteLineBody {
    /// `part`, `labour` or `fee`.
    pub kind: LineKindBody,
    /// What it charges for.
    pub description: String,
    /// How many.
    pub quantity: u32,
    /// The price of one, in minor units.
    pub unit_price: i64,
    /// Quantity times unit price.
    pub total: i64,
}

impl From<&QuoteLine> for QuoteLineBody {
    fn from(l: &QuoteLine) -> Self {
        Self {
            kind: l.kind.into(),
            description: l.description.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            total: l.total(),
        }
    }
}

/// A decision as staff see it, with its evidence.
#[derive(Object, Debug, Clone)]
pub struct QuoteDecisionBody {
    /// `approve` or `decline`.
    pub decision: DecisionBody,
    /// The name the customer typed.
    pub name: String,
    /// What they added.
    pub comment: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// From which address (staff only).
    pub ip: Option<String>,
    /// With which browser (staff only).
    pub user_agent: Option<String>,
}

impl From<&QuoteDecision> for QuoteDecisionBody {
    fn from(d: &QuoteDecision) -> Self {
        Self {
            decision: d.decision.into(),
            name: d.name.clone(),
            comment: d.comment.clone(),
            at: d.at,
            ip: d.ip.clone(),
            user_agent: d.user_agent.clone(),
        }
    }
}

/// A quote version as staff see it.
#[derive(Object, Debug, Clone)]
pub struct QuoteBody {
    /// Identity.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// 1 for the first version, and so on.
    pub version: u32,
    /// Now: `draft`, `sent`, `superseded`, `expired`, `approved` or `declined`.
    pub state: QuoteStateBody,
    /// ISO 4217; amounts are in its minor units.
    pub currency: String,
    /// The lines.
    pub lines: Vec<QuoteLineBody>,
    /// Basis points.
    pub tax_rate: u32,
    /// The sum of the lines.
    pub subtotal: i64,
    /// The tax, rounded half to even once.
    pub tax: i64,
    /// Subtotal plus tax.
    pub total: i64,
    /// Days it stays open once sent.
    pub valid_days: u32,
    /// The note for the customer.
    pub note: Option<String>,
    /// Who wrote it.
    pub created_by: i64,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// When it stops being open, once sent.
    pub expires_at: Option<DateTime<Utc>>,
    /// When a later version replaced it.
    pub superseded_at: Option<DateTime<Utc>>,
    /// The customer's decision.
    pub decision: Option<QuoteDecisionBody>,
}

impl QuoteBody {
    /// The quote as it stands at `now`.
    pub fn at(q: &Quote, now: DateTime<Utc>) -> Self {
        let t = q.totals();
        Self {
            id: q.id.0,
            ticket_id: q.ticket_id.0,
            version: q.version,
            state: q.state(now).into(),
            currency: q.currency.clone(),
            lines: q.lines.iter().map(Into::into).collect(),
            tax_rate: q.tax_rate.basis_points(),
            subtotal: t.subtotal,
            tax: t.tax,
            total: t.total,
            valid_days: q.valid_days,
            note: q.note.clone(),
            created_by: q.created_by.0,
            created_at: q.created_at,
            sent_at: q.sent_at,
            expires_at: q.expires_at(),
            superseded_at: q.superseded_at,
            decision: q.decision.as_ref().map(Into::into),
        }
    }
}

/// Every version of a ticket's quote, oldest first.
#[derive(Object, Debug)]
pub struct QuotesBody {
    /// The versions.
    pub items: Vec<QuoteBody>,
    /// The shop's currency (`CURRENCY`), which a new draft is written in.
    pub currency: String,
}

/// A decision as the customer sees it.
#[derive(Object, Debug, Clone)]
pub struct PublicDecisionBody {
    /// `approve` or `decline`.
    pub decision: DecisionBody,
    /// The name they typed.
    pub name: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The quote the customer is asked to decide.
#[derive(Object, Debug, Clone)]
pub struct PublicQuoteBody {
    /// Identity: send it back with the decision.
    pub id: i64,
    /// 1 for the first version, and so on.
    pub version: u32,
    /// `sent` (open), `expired`, `approved` or `declined`.
    pub state: QuoteStateBody,
    /// ISO 4217; amounts are in its minor units.
    pub currency: String,
    /// The lines.
    pub lines: Vec<QuoteLineBody>,
    /// Basis points.
    pub tax_rate: u32,
    /// The sum of the lines.
    pub subtotal: i64,
    /// The tax.
    pub tax: i64,
    /// What the customer pays.
    pub total: i64,
    /// The shop's note.
    pub note: Option<String>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// Decide before this.
    pub expires_at: Option<DateTime<Utc>>,
    /// The decision, once made.
    pub decision: Option<PublicDecisionBody>,
}

impl PublicQuoteBody {
    /// The quote as it stands at `now`, without the staff's parts (author, evidence).
    pub fn at(q: &Quote, now: DateTime<Utc>) -> Self {
        let s = QuoteBody::at(q, now);
        Self {
            id: s.id,
            version: s.version,
            state: s.state,
            currency: s.currency,
            lines: s.lines,
            tax_rate: s.tax_rate,
            subtotal: s.subtotal,
            tax: s.tax,
            total: s.total,
            note: s.note,
            sent_at: s.sent_at,
            expires_at: s.expires_at,
            decision: q.decision.as_ref().map(|d| PublicDecisionBody {
                decision: d.decision.into(),
                name: d.name.clone(),
                at: d.at,
            }),
        }
    }
}

/// A ticket's latest sent quote, as lists show it.
#[derive(Object, Debug, Clone)]
pub struct TicketQuoteBody {
    /// The version.
    pub id: i64,
    /// `sent` (awaiting the customer), `expired`, `approved` or `declined`.
    pub state: QuoteStateBody,
    /// When a sent one stops being open.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<TicketQuote> for TicketQuoteBody {
    fn from(q: TicketQuote) -> Self {
        Self {
            id: q.id.0,
            state: q.state_at(Utc::now()).into(),
            expires_at: q.expires_at,
        }
    }
}

/// The `quote` list filter.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum QuoteParam {
    /// Sent and still open.
    Awaiting,
    /// Approved.
    Approved,
    /// Declined.
    Declined,
}

impl From<QuoteParam> for crm_core::QuoteListState {
    fn from(q: QuoteParam) -> Self {
        match q {
            QuoteParam::Awaiting => Self::Awaiting,
            QuoteParam::Approved => Self::Approved,
            QuoteParam::Declined => Self::Declined,
        }
    }
}
