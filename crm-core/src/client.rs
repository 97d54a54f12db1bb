//! Customers as the counter sees them: found by name, e-mail or phone digits, read with
//! their ticket counts, corrected by admins (the e-mail stays unique), each correction kept in
//! the customer's history.

use crate::{
    device::phone_fragment,
    edit::Patch,
    history::FieldChange,
    ids::{ClientId, UserId},
    input::{ClientName, Email, Phone, SearchTerm, ValidationErrors, fold_case},
    page::{Cursor, PageRequest, Positioned},
    ticket::Client,
};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A customer with how many requests they have made and how many are open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientSummary {
    /// The customer.
    pub client: Client,
    /// Every ticket of theirs.
    pub ticket_count: u64,
    /// Their tickets not done yet.
    pub open_ticket_count: u64,
}

impl Positioned for ClientSummary {
    fn position(&self) -> Cursor {
        Cursor {
            key: self.client.created_at.timestamp_micros(),
            id: self.client.id.0,
        }
    }
}

/// What a customer search matches: the folded text against names and e-mails, and the phone
/// digits (see [`phone_fragment`]) against phone numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSearch {
    /// The case-folded text.
    pub text: String,
    /// The digits, when the text reads as part of a phone number.
    pub phone: Option<String>,
}

impl ClientSearch {
    /// Reads a search box; blank is no search.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        Ok(SearchTerm::parse(raw)?.as_ref().map(Self::of))
    }

    /// The customer search a checked search term means.
    pub fn of(term: &SearchTerm) -> Self {
        Self {
            text: term.folded().to_owned(),
            phone: phone_fragment(term.as_str()),
        }
    }

    /// Whether `c` matches.
    pub fn matches(&self, c: &Client) -> bool {
        fold_case(&c.name).contains(&self.text)
            || c.email.to_lowercase().contains(&self.text)
            || self.phone.as_ref().is_some_and(|p| {
                c.phone
                    .as_deref()
                    .is_some_and(|ph| crate::device::phone_digits(ph).contains(p.as_str()))
            })
    }
}

/// A customer list as a store answers it: newest first, cursor paging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientQuery {
    /// The search, if any.
    pub search: Option<ClientSearch>,
    /// Which page.
    pub page: PageRequest,
}

/// A correction of a customer as received: a field left out stays, `null` clears the phone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditClient {
    /// A new name.
    pub name: Option<String>,
    /// A new e-mail; it must stay unique.
    pub email: Option<String>,
    /// The phone: kept, cleared or replaced.
    pub phone: Patch<String>,
}

/// What a store writes for a customer correction: the values after it, compared and set on
/// the values it was planned on, and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientEdit {
    /// The customer.
    pub client_id: ClientId,
    /// The customer as read.
    pub before: Client,
    /// The name after.
    pub name: ClientName,
    /// The e-mail after.
    pub email: Email,
    /// The phone after.
    pub phone: Option<Phone>,
    /// Who.
    pub actor: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// The fields that changed.
    pub changes: Vec<FieldChange>,
}

/// What happened to a customer record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientEventKind {
    /// Their first request created it.
    Created,
    /// Staff corrected it.
    Edited,
}

impl ClientEventKind {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Edited => "edited",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "created" => Some(Self::Created),
            "edited" => Some(Self::Edited),
            _ => None,
        }
    }
}

/// One entry of a customer's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: ClientEventKind,
    /// The staff member (none for a customer's own first request).
    pub actor_id: Option<UserId>,
    /// What an edit changed.
    pub changes: Vec<FieldChange>,
}

/// The values after `edit` applied to `c`, validated like intake, and what changed.
pub fn plan(
    c: &Client,
    edit: EditClient,
) -> Result<(ClientName, Email, Option<Phone>, Vec<FieldChange>), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let name = errs.check(
        "name",
        ClientName::parse(edit.name.as_deref().unwrap_or(&c.name)),
    );
    let email = errs.check(
        "email",
        Email::parse(edit.email.as_deref().unwrap_or(&c.email)),
    );
    let phone = errs.check(
        "phone",
        match edit.phone {
            Patch::Keep => Phone::parse_optional(c.phone.as_deref()),
            Patch::Clear => Ok(None),
            Patch::Set(p) => Phone::parse_optional(Some(&p)),
        },
    );
    let (Some(name), Some(email), Some(phone)) = (name, email, phone) else {
        return Err(errs);
    };
    let mut changes = Vec::new();
    let mut note = |field: &str, from: Option<&str>, to: Option<&str>| {
        if from != to {
            changes.push(FieldChange {
                field: field.into(),
                from: from.into(),
                to: to.into(),
            });
        }
    };
    note("name", Some(&c.name), Some(name.as_str()));
    note("email", Some(&c.email), Some(email.as_str()));
    note(
        "phone",
        c.phone.as_deref(),
        phone.as_ref().map(Phone::as_str),
    );
    Ok((name, email, phone, changes))
}

/// The store's half of customers: lists, reads, corrections and history.
#[async_trait::async_trait]
pub trait ClientStore: Send + Sync + 'static {
    /// A page of customers, newest first, with their ticket counts.
    async fn list_clients(
        &self,
        query: &ClientQuery,
    ) -> Result<crate::page::Page<ClientSummary>, crate::error::StoreError>;

    /// One customer with counts; with `worker`, only when one of that worker's tickets is
    /// theirs (`NotFound` otherwise).
    async fn get_client(
        &self,
        id: ClientId,
        worker: Option<UserId>,
    ) -> Result<ClientSummary, crate::error::StoreError>;

    /// Writes a correction and its history entry atomically, compared and set on the values
    /// it was planned on (`Stale` otherwise); an e-mail another customer has is `EmailTaken`.
    async fn edit_client(&self, edit: ClientEdit) -> Result<Client, crate::error::StoreError>;

    /// A customer's history, oldest first: `created`, then each correction.
    async fn client_history(
        &self,
        id: ClientId,
    ) -> Result<Vec<ClientEvent>, crate::error::StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_name_the_changed_fields() {
        let c = Client {
            id: ClientId(1),
            name: "Anna".into(),
            email: "anna@example.com".into(),
            phone: Some("+49 171".into()),
            created_at: DateTime::<Utc>::from_timestamp(0, 0).unwrap(),
        };
        let (_, email, phone, changes) = plan(
            &c,
            EditClient {
                email: Some(" Anna.K@Example.com ".into()),
                phone: Patch::Clear,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((email.as_str(), phone), ("Anna.K@Example.com", None));
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["email", "phone"]);
        let e = plan(
            &c,
            EditClient {
                name: Some(" ".into()),
                email: Some("nope".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.0.len(), 2);
        let s = ClientSearch::parse("0171 23").unwrap().unwrap();
        assert_eq!(s.phone.as_deref(), Some("17123"));
    }
}
