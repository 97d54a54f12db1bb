//! Quotes: staff write, correct and send versions; the customer holding the tracking code
//! reads the current one and approves or declines it, once.

use super::{
    AppState, Tag,
    dto::{
        CreateQuoteRequest, DecisionRequest, EditQuoteRequest, PublicQuoteBody, QuoteBody,
        QuotesBody,
    },
};
use crate::{auth::StaffAuth, error::ApiError, request_meta};
use chrono::Utc;
use crm_core::{CustomerDecision, QuoteId, Store, TicketId};
use poem::Request;
use poem_openapi::{ApiResponse, OpenApi, param::Path, payload::Json};

/// A draft was stored.
#[derive(ApiResponse)]
pub enum QuoteCreated {
    /// Stored as the ticket's next version, a draft the customer cannot see yet.
    #[oai(status = 201)]
    Created(Json<QuoteBody>),
}

/// Quotes.
pub struct QuotesApi<S>(pub AppState<S>);

#[OpenApi]
impl<S: Store> QuotesApi<S> {
    /// Write a quote
    ///
    /// An admin or the ticket's worker: a draft in the shop's currency (`CURRENCY`), amounts
    /// in minor units. The totals are computed by the server.
    #[oai(path = "/tickets/:id/quotes", method = "post", tag = "Tag::Tickets")]
    async fn create(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
        body: Json<CreateQuoteRequest>,
    ) -> Result<QuoteCreated, ApiError> {
        let q = self
            .0
            .crm
            .create_quote(&auth.0.actor, TicketId(id.0), body.0.into())
            .await?;
        Ok(QuoteCreated::Created(Json(QuoteBody::at(&q, Utc::now()))))
    }

    /// A ticket's quotes
    ///
    /// Every version, oldest first, each with its state now.
    #[oai(path = "/tickets/:id/quotes", method = "get", tag = "Tag::Tickets")]
    async fn list(&self, auth: StaffAuth, id: Path<i64>) -> Result<Json<QuotesBody>, ApiError> {
        let now = Utc::now();
        let items = self
            .0
            .crm
            .quotes(&auth.0.actor, TicketId(id.0))
            .await?
            .iter()
            .map(|q| QuoteBody::at(q, now))
            .collect();
        Ok(Json(QuotesBody {
            items,
            currency: self.0.crm.currency().code().to_owned(),
        }))
    }

    /// Correct a draft
    ///
    /// Only a draft changes (`409 quote_not_open` once sent: write a new version).
    #[oai(
        path = "/tickets/:id/quotes/:quote_id",
        method = "patch",
        tag = "Tag::Tickets"
    )]
    async fn edit(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
        quote_id: Path<i64>,
        body: Json<EditQuoteRequest>,
    ) -> Result<Json<QuoteBody>, ApiError> {
        let q = self
            .0
            .crm
            .edit_quote(
                &auth.0.actor,
                TicketId(id.0),
                QuoteId(quote_id.0),
                body.0.into(),
            )
            .await?;
        Ok(Json(QuoteBody::at(&q, Utc::now())))
    }

    /// Send a quote
    ///
    /// `draft -> sent`: the customer is e-mailed the link to decide, the version sent before
    /// is superseded, and it expires `valid_days` from now.
    #[oai(
        path = "/tickets/:id/quotes/:quote_id/send",
        method = "post",
        tag = "Tag::Tickets"
    )]
    async fn send(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
        quote_id: Path<i64>,
    ) -> Result<Json<QuoteBody>, ApiError> {
        let q = self
            .0
            .crm
            .send_quote(&auth.0.actor, TicketId(id.0), QuoteId(quote_id.0))
            .await?;
        Ok(Json(QuoteBody::at(&q, Utc::now())))
    }

    /// The quote to decide
    ///
    /// For whoever holds the tracking code: the latest sent version with its state (`404`
    /// before one is sent).
    #[oai(
        path = "/public/tickets/:tracking_code/quote",
        method = "get",
        tag = "Tag::Public"
    )]
    async fn public_get(
        &self,
        tracking_code: Path<String>,
    ) -> Result<Json<PublicQuoteBody>, ApiError> {
        let q = self.0.crm.public_quote(&tracking_code.0).await?;
        Ok(Json(PublicQuoteBody::at(&q, Utc::now())))
    }

    /// Approve or decline the quote
    ///
    /// Once: `409 quote_decided` after the first decision, `409 quote_not_open` when it
    /// expired or a later version replaced it. Records the typed name, the time, the address
    /// and the browser. Rate-limited per address like submissions.
    #[oai(
        path = "/public/tickets/:tracking_code/quote/decision",
        method = "post",
        tag = "Tag::Public"
    )]
    async fn decide(
        &self,
        req: &Request,
        tracking_code: Path<String>,
        body: Json<DecisionRequest>,
    ) -> Result<Json<PublicQuoteBody>, ApiError> {
        let ip = request_meta::client_ip(req, &self.0.trusted_proxies);
        self.0.limits.public_decisions.check(ip)?;
        let b = body.0;
        let q = self
            .0
            .crm
            .decide_quote(
                &tracking_code.0,
                CustomerDecision {
                    quote_id: b.quote_id,
                    decision: b.decision.into(),
                    name: b.name.0,
                    comment: b.comment.map(|c| c.0),
                    ip: ip.map(|a| a.to_string()),
                    user_agent: req
                        .headers()
                        .get(poem::http::header::USER_AGENT)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                },
            )
            .await?;
        Ok(Json(PublicQuoteBody::at(&q, Utc::now())))
    }
}
