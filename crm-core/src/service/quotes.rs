//! Quotes through the facade: staff write drafts, correct and send them; the customer holding
//! the tracking code reads the current one and approves or declines it, once.

use super::{Crm, not_found};
use crate::{
    error::{CoreError, StoreError},
    ids::{QuoteId, TicketId},
    input::{ValidationErrors, reject_controls},
    money::{LineKind, MAX_LINES, QuoteLine, TaxRate},
    quote::{
        DecideQuote, Decision, MAX_COMMENT, MAX_DECIDER_NAME, MAX_NOTE, NewQuote, Quote,
        QuoteContent, QuoteDecision, parse_valid_days,
    },
    role::Actor,
    store::Store,
    ticket::TrackingCode,
};

/// One line as received.
#[derive(Debug, Clone)]
pub struct WriteLine {
    /// Part, labour or fee.
    pub kind: LineKind,
    /// What it charges for.
    pub description: String,
    /// How many.
    pub quantity: i64,
    /// The price of one, in minor units.
    pub unit_price: i64,
}

/// A draft as received: on a new draft every field left out takes its default (no lines is
/// refused); on an edit a field left out keeps the draft's value (`note: Some(None)` clears
/// the note).
#[derive(Debug, Clone, Default)]
pub struct WriteQuote {
    /// The lines, replacing all of them.
    pub lines: Option<Vec<WriteLine>>,
    /// Basis points (1900 = 19%); 0 when a new draft leaves it out.
    pub tax_rate: Option<i64>,
    /// 1 to 90; 14 when a new draft leaves it out.
    pub valid_days: Option<i64>,
    /// The note for the customer.
    pub note: Option<Option<String>>,
}

/// A customer's decision as received, with the request's address and browser.
#[derive(Debug, Clone)]
pub struct CustomerDecision {
    /// The version decided (the customer decides what they read).
    pub quote_id: i64,
    /// Approve or decline.
    pub decision: Decision,
    /// The name they type, standing for a signature.
    pub name: String,
    /// What they add.
    pub comment: Option<String>,
    /// Where the request came from.
    pub ip: Option<String>,
    /// The User-Agent header.
    pub user_agent: Option<String>,
}

/// Why a sent version is not changed.
const SENT_IS_FINAL: &str =
    "Only a draft can be changed: this quote was sent. Write a new version instead.";

/// The refusal of a quote without lines.
fn no_lines(errs: &mut ValidationErrors) {
    errs.0.push(crate::input::FieldError {
        field: "lines".into(),
        message: "A quote has at least one line.".into(),
    });
}

fn text(
    errs: &mut ValidationErrors,
    field: &str,
    what: &str,
    raw: &str,
    max: usize,
) -> Option<String> {
    let checked = reject_controls(raw, what).and_then(|()| {
        let t = raw.trim();
        if t.chars().count() > max {
            Err(format!("{what} is at most {max} characters."))
        } else {
            Ok(t.to_owned())
        }
    });
    errs.check(field, checked)
}

/// Checks a draft's content, filling what `req` leaves out from `base`.
fn content(req: WriteQuote, base: Option<QuoteContent>) -> Result<QuoteContent, CoreError> {
    let mut errs = ValidationErrors::default();
    let lines = match req.lines {
        Some(lines) if lines.is_empty() => {
            no_lines(&mut errs);
            None
        }
        Some(lines) if lines.len() > MAX_LINES => {
            errs.0.push(crate::input::FieldError {
                field: "lines".into(),
                message: format!("A quote has at most {MAX_LINES} lines."),
            });
            None
        }
        Some(lines) => {
            let mut out = Vec::with_capacity(lines.len());
            for (i, l) in lines.iter().enumerate() {
                if let Err(m) = reject_controls(&l.description, "A line's description") {
                    errs.0.push(crate::input::FieldError {
                        field: format!("lines[{i}].description"),
                        message: m,
                    });
                    continue;
                }
                if let Some(line) = QuoteLine::parse(
                    i,
                    l.kind,
                    &l.description,
                    l.quantity,
                    l.unit_price,
                    &mut errs,
                ) {
                    out.push(line);
                }
            }
            Some(out)
        }
        None => match &base {
            Some(b) => Some(b.lines.clone()),
            None => {
                no_lines(&mut errs);
                None
            }
        },
    };
    let tax_rate = match req.tax_rate {
        Some(bp) => errs.check(
            "tax_rate",
            TaxRate::parse(bp).ok_or_else(|| {
                "The tax rate is in basis points, from 0 to 10000 (1900 is 19%).".to_owned()
            }),
        ),
        None => Some(
            base.as_ref()
                .map_or(TaxRate::parse(0).expect("0 is a rate"), |b| b.tax_rate),
        ),
    };
    let valid_days = match (req.valid_days, &base) {
        (None, Some(b)) => Some(b.valid_days),
        (days, _) => errs.check("valid_days", parse_valid_days(days)),
    };
    let note = match req.note {
        Some(Some(n)) => {
            text(&mut errs, "note", "The note", &n, MAX_NOTE).map(|n| (!n.is_empty()).then_some(n))
        }
        Some(None) => Some(None),
        None => Some(base.and_then(|b| b.note)),
    };
    match (lines, tax_rate, valid_days, note) {
        (Some(lines), Some(tax_rate), Some(valid_days), Some(note)) if errs.is_empty() => {
            Ok(QuoteContent {
                lines,
                tax_rate,
                valid_days,
                note,
            })
        }
        _ => Err(errs.into()),
    }
}

fn refused(e: StoreError) -> CoreError {
    match e {
        StoreError::QuoteDecided => CoreError::QuoteDecided,
        StoreError::QuoteNotOpen => CoreError::QuoteNotOpen(
            "This quote is no longer open: it is a draft, a later version replaced it, or it expired.",
        ),
        other => not_found("Quote")(other),
    }
}

impl<S: Store> Crm<S> {
    /// Writes a draft as the ticket's next version (an admin, or the ticket's worker), in the
    /// shop's currency.
    pub async fn create_quote(
        &self,
        actor: &Actor,
        id: TicketId,
        req: WriteQuote,
    ) -> Result<Quote, CoreError> {
        let content = content(req, None)?;
        self.store
            .get_ticket(id, actor.visibility())
            .await
            .map_err(not_found("Ticket"))?;
        self.store
            .create_quote(NewQuote {
                ticket_id: id,
                currency: self.currency.code().to_owned(),
                content,
                author: actor.id,
                at: self.clock.now(),
            })
            .await
            .map_err(not_found("Ticket"))
    }

    /// Corrects a draft; a sent version is never changed (`quote_not_open`: write a new one).
    pub async fn edit_quote(
        &self,
        actor: &Actor,
        id: TicketId,
        quote: QuoteId,
        req: WriteQuote,
    ) -> Result<Quote, CoreError> {
        self.store
            .get_ticket(id, actor.visibility())
            .await
            .map_err(not_found("Ticket"))?;
        let current = self
            .store
            .get_quote(id, quote)
            .await
            .map_err(not_found("Quote"))?;
        if !current.editable() {
            return Err(CoreError::QuoteNotOpen(SENT_IS_FINAL));
        }
        let content = content(req, Some(current.content()))?;
        self.store
            .edit_quote(id, quote, content)
            .await
            .map_err(|e| match e {
                StoreError::QuoteNotOpen => CoreError::QuoteNotOpen(SENT_IS_FINAL),
                other => not_found("Quote")(other),
            })
    }

    /// Every version of the ticket's quote, oldest first (staff who may see the ticket).
    pub async fn quotes(&self, actor: &Actor, id: TicketId) -> Result<Vec<Quote>, CoreError> {
        self.store
            .get_ticket(id, actor.visibility())
            .await
            .map_err(not_found("Ticket"))?;
        self.store
            .list_quotes(id)
            .await
            .map_err(CoreError::from_store)
    }

    /// Sends a draft to the customer (an admin, or the ticket's worker): it supersedes the
    /// version sent before, and the customer is e-mailed the link to decide.
    pub async fn send_quote(
        &self,
        actor: &Actor,
        id: TicketId,
        quote: QuoteId,
    ) -> Result<Quote, CoreError> {
        self.store
            .get_ticket(id, actor.visibility())
            .await
            .map_err(not_found("Ticket"))?;
        self.store
            .send_quote(id, quote, actor.id, self.clock.now())
            .await
            .map_err(|e| match e {
                StoreError::QuoteNotOpen => CoreError::QuoteNotOpen("This quote was sent already."),
                other => not_found("Quote")(other),
            })
    }

    /// The quote the customer holding `code` is asked to decide: the latest sent version
    /// (decided, expired or open), never a draft.
    pub async fn public_quote(&self, code: &str) -> Result<Quote, CoreError> {
        let id = self.request_of(code).await?;
        self.store
            .list_quotes(id)
            .await
            .map_err(CoreError::from_store)?
            .into_iter()
            .filter(|q| q.sent_at.is_some())
            .max_by_key(|q| (q.sent_at, q.id.0))
            .ok_or(CoreError::NotFound("Quote"))
    }

    /// Records the decision of the customer holding `code`, once: `quote_decided` when it was
    /// decided already, `quote_not_open` when it expired or a later version replaced it.
    pub async fn decide_quote(
        &self,
        code: &str,
        req: CustomerDecision,
    ) -> Result<Quote, CoreError> {
        let mut errs = ValidationErrors::default();
        let name = text(&mut errs, "name", "Your name", &req.name, MAX_DECIDER_NAME);
        if name.as_deref() == Some("") {
            errs.0.push(crate::input::FieldError {
                field: "name".into(),
                message: "Type your name to approve or decline.".into(),
            });
        }
        let comment = match &req.comment {
            Some(c) => text(&mut errs, "comment", "The comment", c, MAX_COMMENT)
                .map(|c| (!c.is_empty()).then_some(c)),
            None => Some(None),
        };
        let (Some(name), Some(comment)) = (name, comment) else {
            return Err(errs.into());
        };
        if !errs.is_empty() {
            return Err(errs.into());
        }
        let id = self.request_of(code).await?;
        self.store
            .decide_quote(DecideQuote {
                ticket_id: id,
                quote_id: QuoteId(req.quote_id),
                decision: QuoteDecision {
                    decision: req.decision,
                    name,
                    comment,
                    at: self.clock.now(),
                    ip: req.ip,
                    user_agent: req
                        .user_agent
                        .map(|u| crate::input::truncate_user_agent(&u)),
                },
            })
            .await
            .map_err(refused)
    }

    /// One quote by id, for the notifications about it (the delivery worker).
    pub async fn quote_for_notification(
        &self,
        id: TicketId,
        quote: QuoteId,
    ) -> Result<Quote, CoreError> {
        self.store
            .get_quote(id, quote)
            .await
            .map_err(not_found("Quote"))
    }

    /// The shop's currency.
    pub fn currency(&self) -> crate::money::Currency {
        self.currency
    }

    async fn request_of(&self, code: &str) -> Result<TicketId, CoreError> {
        let code = TrackingCode::parse(code).ok_or(CoreError::NotFound("Request"))?;
        Ok(self
            .store
            .track(&code)
            .await
            .map_err(not_found("Request"))?
            .id)
    }
}
