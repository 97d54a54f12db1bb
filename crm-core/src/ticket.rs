//! Tickets, clients, the public progress view, and the keys that make them unique.

use crate::{
    device::{Device, Priority, PublicDevice},
    ids::{ClientId, TicketId, UserId},
    input::{ClientName, Description, Email, Phone, Title},
    status::TicketStatus,
};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use std::fmt;

/// A customer, found by e-mail. Created by their first request and never changed by later ones:
/// nothing an anonymous stranger submits may overwrite stored data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Client {
    /// Identity.
    pub id: ClientId,
    /// Name given with the first request.
    pub name: String,
    /// E-mail as first given (trimmed); identity is its lower-cased form.
    pub email: String,
    /// Phone given with the first request, if any.
    pub phone: Option<String>,
    /// When the first request arrived.
    pub created_at: DateTime<Utc>,
}

/// A repair request as staff see it: every field, with the client nested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    /// Identity; customers quote it.
    pub id: TicketId,
    /// What is broken.
    pub title: String,
    /// The customer's account of the fault.
    pub description: String,
    /// Where it stands.
    pub status: TicketStatus,
    /// Whether an admin or its worker has opened it.
    pub viewed: bool,
    /// Who asked.
    pub client: Client,
    /// Who is on it, if anyone.
    pub worker_id: Option<UserId>,
    /// Submission time.
    pub created_at: DateTime<Utc>,
    /// Time of the latest change of any kind.
    pub updated_at: DateTime<Utc>,
    /// Time of the latest assignment.
    pub assigned_at: Option<DateTime<Utc>>,
    /// When work started.
    pub in_progress_at: Option<DateTime<Utc>>,
    /// When work finished.
    pub done_at: Option<DateTime<Utc>>,
    /// Address the request came from (see the server's `TRUSTED_PROXIES`).
    pub requester_ip: Option<String>,
    /// User-Agent the request came with, at most 512 characters.
    pub requester_ua: Option<String>,
    /// The customer's secret handle for following progress.
    pub tracking_code: TrackingCode,
    /// Whether the user who read it has never opened it: each staff member's own "new to
    /// me" (the seed's `viewed` says whether anyone has). False where the read was not for
    /// someone (a change's answer, a notification).
    pub new_to_me: bool,
    /// The device left for repair, when staff (or the customer) said what it is.
    pub device: Option<Device>,
    /// How urgent the job is.
    pub priority: Priority,
    /// When it was promised to the customer.
    pub due_at: Option<DateTime<Utc>>,
    /// Where it stands within its status ("Waiting for parts"), if staff said.
    pub stage: Option<crate::stage::StageRef>,
    /// Its latest sent quote's state, if one was sent.
    pub quote: Option<crate::quote::TicketQuote>,
    /// Whether the newest customer-visible message is the customer's: someone owes them an
    /// answer.
    pub awaiting_reply: bool,
}

impl Ticket {
    /// Whether it was promised for a time already past and is not done yet.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status.is_open() && self.due_at.is_some_and(|d| d < now)
    }
}

/// How many tickets a caller's scope holds, by the tabs of a list: for admins every ticket,
/// for a worker its own (it has no unassigned ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TicketCounts {
    /// Every ticket in the scope.
    pub all: u64,
    /// Without a worker.
    pub unassigned: u64,
    /// `new`.
    pub new: u64,
    /// `in_progress`.
    pub in_progress: u64,
    /// `done`.
    pub done: u64,
    /// `new` or `in_progress`.
    pub open: u64,
}

/// What anyone holding a tracking code may read: progress only, never people or requester data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketProgress {
    /// The number the customer was given.
    pub id: TicketId,
    /// Where it stands.
    pub status: TicketStatus,
    /// Whether a worker has been assigned.
    pub assigned: bool,
    /// Submission time.
    pub created_at: DateTime<Utc>,
    /// When work started.
    pub in_progress_at: Option<DateTime<Utc>>,
    /// When work finished.
    pub done_at: Option<DateTime<Utc>>,
    /// What the device is (kind, brand, model only).
    pub device: Option<PublicDevice>,
    /// When it was promised.
    pub due_at: Option<DateTime<Utc>>,
    /// How many messages the customer and the shop have exchanged (internal notes never
    /// count): a follower sees it grow and reads the conversation.
    pub messages: u64,
    /// How many files the customer may download (internal files never count), so the
    /// tracking page knows when to fetch them again.
    pub files: u64,
    /// The name of its stage, if it has one.
    pub stage: Option<String>,
}

/// A customer's request after validation, before it has an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// What is broken.
    pub title: Title,
    /// The fault.
    pub description: Description,
    /// Who asks.
    pub client_name: ClientName,
    /// Their address and identity.
    pub client_email: Email,
    /// Optional phone.
    pub client_phone: Option<Phone>,
    /// Connection evidence; not validated.
    pub requester_ip: Option<String>,
    /// Already truncated User-Agent.
    pub requester_ua: Option<String>,
    /// The device, when known.
    pub device: Option<Device>,
    /// How urgent (staff intake only; a customer's request is `normal`).
    pub priority: Priority,
    /// When it is promised (staff intake only).
    pub due_at: Option<DateTime<Utc>>,
    /// The staff member who took it in at the counter; `None` for a customer's own request.
    pub taken_in_by: Option<UserId>,
    /// The worker it goes to at once (staff intake only). The store assigns it in the same
    /// step, or refuses the whole intake when that is not an active worker.
    pub worker: Option<UserId>,
}

/// Everything a store needs to insert a ticket atomically: the submission, its time, its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// The validated request.
    pub submission: Submission,
    /// Submission time, from the facade's clock.
    pub created_at: DateTime<Utc>,
    /// Freshly drawn tracking code.
    pub tracking_code: TrackingCode,
}

impl NewTicket {
    /// The key under which this request would be a duplicate of an open ticket.
    pub fn dedup_key(&self) -> DedupKey<'_> {
        DedupKey {
            title: self.submission.title.as_str(),
            description: self.submission.description.as_str(),
            email: self.submission.client_email.key(),
        }
    }
}

/// Two open tickets may never share this key: the same title and description (exact, after
/// trimming) from the same client e-mail (case-insensitive). Stores enforce it atomically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DedupKey<'a> {
    /// Trimmed title.
    pub title: &'a str,
    /// Trimmed description.
    pub description: &'a str,
    /// Lower-cased e-mail.
    pub email: &'a str,
}

/// A customer's secret handle on their request: 80 random bits from the OS-seeded CSPRNG,
/// written in Crockford's base32 (digits and letters without I, L, O and U) in four groups
/// of four, `7K3M-Q9TZ-C4XH-2WRB`, so it can be read out over the phone. Knowing it is the
/// only authorisation the progress view needs, so it must be unguessable rather than merely
/// unique. People type it as they heard it: case, dashes and spaces do not matter, and the
/// look-alikes `I`, `L` (one) and `O` (zero) are read as what they look like.
///
/// Codes issued before (128 bits, URL-safe base64, 22 characters, matched exactly) keep
/// working.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TrackingCode(String);

/// Crockford's base32 alphabet.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl TrackingCode {
    /// Characters of a code without its dashes.
    pub const CHARS: usize = 16;
    /// Length of a code as written, with its three dashes.
    pub const LEN: usize = 19;
    /// Length of a code issued before the readable form.
    pub const LEGACY_LEN: usize = 22;

    /// Draws a new code.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 10];
        rand::rng().fill_bytes(&mut bytes);
        let bits = bytes
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        let chars: Vec<u8> = (0..Self::CHARS)
            .rev()
            .map(|i| CROCKFORD[((bits >> (5 * i)) & 31) as usize])
            .collect();
        Self(group(&chars))
    }

    /// Reads a code as a person typed it: the readable form with any case, dashes or spaces
    /// (`I`/`L` read as one, `O` as zero), or a code of the earlier form exactly. Anything
    /// else is `None`, so lookups of garbage stop early.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.len() == Self::LEGACY_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Some(Self(raw.to_owned()));
        }
        let mut chars = Vec::with_capacity(Self::CHARS);
        for c in raw.chars() {
            let c = match c.to_ascii_uppercase() {
                '-' | ' ' => continue,
                'I' | 'L' => '1',
                'O' => '0',
                c => c,
            };
            if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) || chars.len() == Self::CHARS {
                return None;
            }
            chars.push(c as u8);
        }
        (chars.len() == Self::CHARS).then(|| Self(group(&chars)))
    }

    /// Rebuilds a code read back from storage.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    /// The code text, as shown and stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Sixteen code characters in four dash-separated groups.
fn group(chars: &[u8]) -> String {
    chars
        .chunks(4)
        .map(|g| std::str::from_utf8(g).expect("the alphabet is ASCII"))
        .collect::<Vec<_>>()
        .join("-")
}

impl fmt::Debug for TrackingCode {
    // Codes are credentials for the progress view: keep them out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrackingCode(***)")
    }
}

impl crate::page::Positioned for Ticket {
    fn position(&self) -> crate::page::Cursor {
        crate::page::Cursor {
            key: self.created_at.timestamp_micros(),
            id: self.id.0,
        }
    }
}

impl TicketProgress {
    /// The progress as `event` (one of this ticket's, the next in order) leaves it: events
    /// carry the status and worker after them, so a follower of one ticket needs no read.
    pub fn after(&self, event: &crate::history::Event) -> Self {
        use crate::history::EventKind;
        let mut p = self.clone();
        p.status = event.status;
        p.assigned = event.ticket_worker.is_some();
        match (event.kind, event.to_status) {
            (EventKind::StatusChanged, Some(TicketStatus::InProgress)) => {
                p.in_progress_at = Some(event.at);
            }
            (EventKind::StatusChanged, Some(TicketStatus::Done)) => p.done_at = Some(event.at),
            // A released ticket starts over.
            (EventKind::Released, _) => p.in_progress_at = None,
            (EventKind::StageChanged, _) => {
                p.stage = event
                    .changes
                    .iter()
                    .find(|c| c.field == crate::stage::FIELD)
                    .and_then(|c| c.to.get("name"))
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned);
            }
            (EventKind::MessageAdded, _) if event.is_public() => p.messages += 1,
            (EventKind::AttachmentAdded, _) if event.is_public() => p.files += 1,
            (EventKind::AttachmentRemoved, _) if event.is_public() => {
                p.files = p.files.saturating_sub(1);
            }
            // An edit says what it changed: what the customer sees of it follows.
            (EventKind::Edited, _) => {
                for c in &event.changes {
                    match c.field.as_str() {
                        "due_at" => p.due_at = serde_json::from_value(c.to.clone()).ok().flatten(),
                        "device" => {
                            p.device = serde_json::from_value::<Option<Device>>(c.to.clone())
                                .ok()
                                .flatten()
                                .and_then(|d| d.public());
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tracking_codes_are_random_readable_and_forgiving() {
        let codes: HashSet<String> = (0..1000)
            .map(|_| TrackingCode::generate().as_str().to_owned())
            .collect();
        assert_eq!(codes.len(), 1000);
        for c in &codes {
            assert_eq!(c.len(), TrackingCode::LEN);
            assert!(c.split('-').all(|g| g.len() == 4));
            assert!(!c.contains(['I', 'L', 'O', 'U']), "{c}");
            assert_eq!(TrackingCode::parse(c).unwrap().as_str(), c);
            // As heard over the phone: lower case, no dashes, spaces.
            let typed = c.replace('-', " ").to_lowercase();
            assert_eq!(TrackingCode::parse(&typed).unwrap().as_str(), c);
            assert_eq!(
                TrackingCode::parse(&c.replace('-', "")).unwrap().as_str(),
                c
            );
        }
        // Look-alikes read as what they look like.
        assert_eq!(
            TrackingCode::parse("OOOO-IIII-LLLL-0000").unwrap().as_str(),
            "0000-1111-1111-0000"
        );
        // Codes issued before keep working, exactly as issued.
        let legacy = "aB3_-xY9zQ8wV7uT6sR5qP";
        assert_eq!(legacy.len(), TrackingCode::LEGACY_LEN);
        assert_eq!(TrackingCode::parse(legacy).unwrap().as_str(), legacy);
        for bad in [
            "short",
            "0000-1111-2222-333",
            "0000-1111-2222-33333",
            "0000-1111-2222-333U",
            "aaaaaaaaaaaaaaaaaaaa/=",
        ] {
            assert!(TrackingCode::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            format!("{:?}", TrackingCode::generate()),
            "TrackingCode(***)"
        );
    }

    #[test]
    fn progress_follows_each_event_without_a_read() {
        use crate::{
            history::{Event, EventKind},
            ids::EventId,
        };
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let at = |s: i64| t0 + chrono::TimeDelta::seconds(s);
        let event = |seq: i64, kind, to: Option<TicketStatus>, status, worker: Option<i64>| Event {
            id: EventId(seq),
            seq,
            ticket_id: TicketId(7),
            at: at(seq),
            kind,
            actor_id: None,
            worker_id: worker.map(UserId),
            from_status: None,
            to_status: to,
            status,
            ticket_worker: worker.map(UserId),
            prev_worker: None,
            changes: Vec::new(),
            visibility: None,
            item_id: None,
        };
        let new = TicketProgress {
            id: TicketId(7),
            status: TicketStatus::New,
            assigned: false,
            created_at: t0,
            in_progress_at: None,
            done_at: None,
            device: None,
            due_at: None,
            messages: 0,
            files: 0,
            stage: None,
        };
        let assigned = new.after(&event(
            1,
            EventKind::Assigned,
            None,
            TicketStatus::New,
            Some(3),
        ));
        assert_eq!(
            (assigned.status, assigned.assigned),
            (TicketStatus::New, true)
        );
        let started = assigned.after(&event(
            2,
            EventKind::StatusChanged,
            Some(TicketStatus::InProgress),
            TicketStatus::InProgress,
            Some(3),
        ));
        assert_eq!(started.in_progress_at, Some(at(2)));
        let viewed = started.after(&event(
            3,
            EventKind::Viewed,
            None,
            TicketStatus::InProgress,
            Some(3),
        ));
        assert_eq!(viewed, started, "a view changes nothing a customer sees");
        let released = started.after(&event(
            4,
            EventKind::Released,
            None,
            TicketStatus::New,
            None,
        ));
        assert_eq!(
            (released.status, released.assigned, released.in_progress_at),
            (TicketStatus::New, false, None)
        );
        let done = started.after(&event(
            5,
            EventKind::StatusChanged,
            Some(TicketStatus::Done),
            TicketStatus::Done,
            Some(3),
        ));
        assert_eq!(
            (done.status, done.in_progress_at, done.done_at),
            (TicketStatus::Done, Some(at(2)), Some(at(5)))
        );
    }

    #[test]
    fn only_customer_visible_messages_move_the_public_progress() {
        use crate::{history::NewEvent, message::Audience};
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let p = TicketProgress {
            id: TicketId(3),
            status: TicketStatus::New,
            assigned: false,
            created_at: t0,
            in_progress_at: None,
            done_at: None,
            device: None,
            due_at: None,
            messages: 0,
            files: 0,
            stage: None,
        };
        let message = |audience, actor| {
            NewEvent::message_added(t0, actor, audience, 1, TicketStatus::New, None).into_event(
                crate::ids::EventId(1),
                1,
                TicketId(3),
            )
        };
        let note = message(Audience::Internal, Some(UserId(1)));
        assert!(!note.is_public());
        assert_eq!(
            p.after(&note),
            p,
            "an internal note changes nothing a customer sees"
        );
        let reply = message(Audience::Customer, Some(UserId(1)));
        assert!(reply.is_public());
        assert_eq!(p.after(&reply).messages, 1);
        assert_eq!(p.after(&message(Audience::Customer, None)).messages, 1);
    }
}
