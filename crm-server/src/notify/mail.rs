//! Customer e-mail through SMTP: what each message says, in plain text and HTML, and sending
//! it. The customer's own words (their name, the request's title) are escaped in the HTML
//! part; the subject carries only the request number, so nothing a customer typed reaches a
//! header other than their own address and name, which `lettre` encodes.

use crm_core::{Message as Note, Ticket, notify::MailKind};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use std::time::Duration;

/// How long one exchange with the mail server may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A message's words before they are put into a format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// The subject line.
    pub subject: String,
    /// The opening line after the greeting.
    pub lead: String,
    /// The tracking link.
    pub link: String,
    /// A staff message the letter passes on, quoted after the lead.
    pub quote: Option<String>,
}

/// What the customer reads about `ticket` for `kind`, linking to `base_url`'s tracking page;
/// `note` is the staff message a [`MailKind::Reply`] passes on, `quote` the version a
/// [`MailKind::Quote`] asks the customer to decide.
pub fn letter(
    kind: MailKind,
    ticket: &Ticket,
    note: Option<&Note>,
    quote: Option<&crm_core::Quote>,
    base_url: &str,
) -> Letter {
    let n = ticket.id.0;
    let title = &ticket.title;
    let (subject, lead) = match kind {
        MailKind::Received => (
            format!("We received your repair request #{n}"),
            format!(
                "We received your repair request #{n} ({title}). We will let you know when work starts."
            ),
        ),
        MailKind::Started => (
            format!("Work has started on your repair request #{n}"),
            format!("Work has started on your repair request #{n} ({title})."),
        ),
        MailKind::Ready => (
            format!("Your repair #{n} is ready for pickup"),
            format!("Your repair request #{n} ({title}) is done: it is ready for pickup."),
        ),
        MailKind::Stage => {
            let stage = ticket.stage.as_ref().map_or("", |s| s.name.as_str());
            (
                format!("Your repair #{n}: {stage}"),
                format!("Your repair request #{n} ({title}) is now at the stage \"{stage}\"."),
            )
        }
        MailKind::Quote => {
            let (total, until) = quote.map_or_else(
                || (String::new(), String::new()),
                |q| {
                    let c = crm_core::money::Currency::parse(&q.currency)
                        .unwrap_or(crm_core::money::Currency::EUR);
                    (
                        c.format(q.totals().total),
                        q.expires_at()
                            .map(|e| format!(" by {}", e.format("%Y-%m-%d")))
                            .unwrap_or_default(),
                    )
                },
            );
            (
                format!("Your quote for repair request #{n}"),
                format!(
                    "Here is our quote for your repair request #{n} ({title}): {total} in total, tax included. Please approve or decline it{until} on the tracking page."
                ),
            )
        }
        MailKind::Reply => (
            format!("A message about your repair request #{n}"),
            format!(
                "{} wrote about your repair request #{n} ({title}). You can answer on the tracking page.",
                note.map_or("We", |m| m.author.name.as_str())
            ),
        ),
    };
    Letter {
        subject,
        lead,
        link: format!(
            "{}/#/track/{}",
            base_url.trim_end_matches('/'),
            ticket.tracking_code.as_str()
        ),
        quote: match kind {
            MailKind::Reply => note.map(|m| m.body.clone()),
            MailKind::Quote => quote.map(quote_lines),
            _ => None,
        },
    }
}

/// A quote's lines and figures as the letter quotes them, one per line.
fn quote_lines(q: &crm_core::Quote) -> String {
    let c = crm_core::money::Currency::parse(&q.currency).unwrap_or(crm_core::money::Currency::EUR);
    let t = q.totals();
    let mut out: Vec<String> = q
        .lines
        .iter()
        .map(|l| {
            format!(
                "{} x {}: {}",
                l.quantity,
                l.description,
                c.format(l.total())
            )
        })
        .collect();
    out.push(format!("Subtotal: {}", c.format(t.subtotal)));
    out.push(format!(
        "Tax ({}.{:02}%): {}",
        q.tax_rate.basis_points() / 100,
        q.tax_rate.basis_points() % 100,
        c.format(t.tax)
    ));
    out.push(format!("Total: {}", c.format(t.total)));
    if let Some(n) = &q.note {
        out.push(String::new());
        out.push(n.clone());
    }
    out.join("\n")
}

/// The plain-text part.
pub fn plain(l: &Letter, ticket: &Ticket) -> String {
    let quote = l.quote.as_deref().map_or_else(String::new, |q| {
        let mut s = String::from("\n\n");
        for line in q.lines() {
            s.push_str("> ");
            s.push_str(line);
            s.push('\n');
        }
        s.truncate(s.trim_end().len());
        s
    });
    format!(
        "Hello {name},\n\n{lead}{quote}\n\nFollow its progress at {link}\nYour tracking code: {code}\n",
        name = ticket.client.name,
        lead = l.lead,
        link = l.link,
        code = ticket.tracking_code.as_str(),
    )
}

/// The HTML part, every value escaped.
pub fn html(l: &Letter, ticket: &Ticket) -> String {
    format!(
        "<!doctype html><html><body>\
         <p>Hello {name},</p><p>{lead}</p>{quote}\
         <p><a href=\"{link}\">Follow its progress</a> (tracking code <code>{code}</code>).</p>\
         </body></html>",
        name = escape(&ticket.client.name),
        lead = escape(&l.lead),
        quote = l.quote.as_deref().map_or_else(String::new, |q| format!(
            "<blockquote style=\"white-space:pre-wrap\">{}</blockquote>",
            escape(q)
        )),
        link = escape(&l.link),
        code = escape(ticket.tracking_code.as_str()),
    )
}

/// Escapes text for HTML element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a failed send is worth retrying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The server refused for good (5xx), or the message cannot be built (a bad address).
    Permanent(String),
    /// The server is away or asked us to come back (4xx, connection failures).
    Transient(String),
}

/// Sends customer mail through one SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    base_url: String,
    /// The domain of message ids.
    domain: String,
}

impl Mailer {
    /// A mailer for `SMTP_URL` (`smtp://host:port` in the clear, `smtps://user:pass@host`
    /// over TLS; `?tls=required` asks for STARTTLS), sending as `from`, linking to `base_url`.
    pub fn new(url: &str, from: &str, base_url: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP_URL is not a usable mail server URL: {e}"))?
            .timeout(Some(TIMEOUT))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("MAIL_FROM is not an e-mail address: {e}"))?;
        let domain = from.email.domain().to_owned();
        Ok(Self {
            transport,
            from,
            base_url: base_url.to_owned(),
            domain,
        })
    }

    /// Sends `kind` about `ticket` as message `id` (the same on every attempt, so a customer's
    /// mail program can recognise a repeat).
    pub async fn send(
        &self,
        id: i64,
        kind: MailKind,
        ticket: &Ticket,
        note: Option<&Note>,
        quote: Option<&crm_core::Quote>,
    ) -> Result<(), SendError> {
        let to = Mailbox::new(
            Some(ticket.client.name.clone()),
            ticket
                .client
                .email
                .parse()
                .map_err(|e| SendError::Permanent(format!("the customer's address: {e}")))?,
        );
        let l = letter(kind, ticket, note, quote, &self.base_url);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(l.subject.clone())
            .message_id(Some(format!("<notification-{id}@{}>", self.domain)))
            .multipart(MultiPart::alternative_plain_html(
                plain(&l, ticket),
                html(&l, ticket),
            ))
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(one_line(&e))),
            Err(e) => Err(SendError::Transient(one_line(&e))),
        }
    }
}

fn one_line(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    if let Some(src) = e.source() {
        s = format!("{s}: {src}");
    }
    s.replace(['\r', '\n'], " ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::Utc;
    use crm_core::{Client, ClientId, TicketId, TicketStatus, TrackingCode};

    /// A ticket whose customer typed markup.
    pub(crate) fn ticket() -> Ticket {
        let now = Utc::now();
        Ticket {
            id: TicketId(42),
            title: "Screen <b>cracked</b> & \"dead\"".into(),
            description: "d".into(),
            status: TicketStatus::New,
            viewed: false,
            client: Client {
                id: ClientId(1),
                name: "Ann <script>alert(1)</script>".into(),
                email: "ann@example.com".into(),
                phone: None,
                created_at: now,
            },
            worker_id: None,
            created_at: now,
            updated_at: now,
            assigned_at: None,
            in_progress_at: None,
            done_at: None,
            requester_ip: None,
            requester_ua: None,
            tracking_code: TrackingCode::generate(),
            new_to_me: false,
            device: None,
            priority: crm_core::Priority::Normal,
            due_at: None,
            awaiting_reply: false,
            stage: None,
            quote: None,
        }
    }

    #[test]
    fn a_stage_letter_names_the_stage() {
        let mut t = ticket();
        t.stage = Some(crm_core::StageRef {
            id: crm_core::StageId(5),
            name: "Ready for pickup".into(),
        });
        let l = letter(MailKind::Stage, &t, None, None, "https://shop.example.com/");
        assert_eq!(l.subject, "Your repair #42: Ready for pickup");
        assert!(l.lead.contains("\"Ready for pickup\""), "{}", l.lead);
        assert!(html(&l, &t).contains("&quot;Ready for pickup&quot;"));
    }

    #[test]
    fn customer_text_is_escaped_and_the_link_is_there() {
        let t = ticket();
        let l = letter(MailKind::Ready, &t, None, None, "https://shop.example.com/");
        assert_eq!(l.subject, "Your repair #42 is ready for pickup");
        let link = format!(
            "https://shop.example.com/#/track/{}",
            t.tracking_code.as_str()
        );
        assert_eq!(l.link, link);
        let h = html(&l, &t);
        assert!(!h.contains("<script>") && !h.contains("<b>"));
        assert!(h.contains("Ann &lt;script&gt;") && h.contains("&amp; &quot;dead&quot;"));
        assert!(h.contains(&link));
        let p = plain(&l, &t);
        assert!(p.contains("ready for pickup") && p.contains(&link));
    }

    #[test]
    fn a_reply_quotes_the_message_escaped() {
        let t = ticket();
        let note = Note {
            id: 7,
            ticket_id: t.id,
            body: "Screen arrives <Tuesday>.\nCall us & ask.".into(),
            visibility: crm_core::Audience::Customer,
            author: crm_core::Author {
                user_id: Some(crm_core::UserId(2)),
                name: "worker".into(),
            },
            created_at: Utc::now(),
        };
        let l = letter(
            MailKind::Reply,
            &t,
            Some(&note),
            None,
            "https://shop.example.com",
        );
        assert_eq!(l.subject, "A message about your repair request #42");
        let h = html(&l, &t);
        assert!(h.contains("Screen arrives &lt;Tuesday&gt;.\nCall us &amp; ask."));
        let p = plain(&l, &t);
        assert!(p.contains("> Screen arrives <Tuesday>.\n> Call us & ask.\n\nFollow"));
        assert!(p.starts_with("Hello Ann") && p.contains("worker wrote"));
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(Mailer::new("http://x", "a@b.c", "http://x").is_err());
        assert!(Mailer::new("smtp://127.0.0.1:2525", "not an address", "http://x").is_err());
        assert!(
            Mailer::new(
                "smtp://127.0.0.1:2525",
                "Shop <shop@example.com>",
                "http://x"
            )
            .is_ok()
        );
    }
}
