//! Paging and the list queries every backend answers.

use crate::{
    device::Priority,
    ids::{ClientId, TicketId, UserId},
    input::{SearchTerm, ValidationErrors, fold_case},
    role::{Role, Scope, Visibility},
    status::TicketStatus,
    ticket::{Ticket, TrackingCode},
};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A position in a list's newest-first order: the sort key of the last item a page showed
/// and its id. A page asked for "after" a cursor starts just past that item, found by an
/// index seek, so reaching the ten-thousandth page costs what the first one does, and items
/// added meanwhile (which sort before it) neither repeat nor push others past the walk.
///
/// Clients see it as an opaque string ([`Cursor::encode`]); for tickets and users the key
/// is `created_at` in microseconds, for webhook deliveries the id itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cursor {
    /// The last item's sort key.
    pub key: i64,
    /// The last item's id (the tie-breaker).
    pub id: i64,
}

impl Cursor {
    /// The text form clients pass back as `?cursor=`.
    pub fn encode(self) -> String {
        format!("{:x}.{:x}", self.key as u64, self.id as u64)
    }

    /// Reads [`Cursor::encode`]'s form; anything else is `None`.
    pub fn decode(s: &str) -> Option<Self> {
        let (key, id) = s.split_once('.')?;
        let hex = |p: &str| {
            (!p.is_empty() && p.len() <= 16 && p.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u64::from_str_radix(p, 16).ok())
                .flatten()
        };
        Some(Self {
            key: hex(key)? as i64,
            id: hex(id)? as i64,
        })
    }
}

impl Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.encode())
    }
}

/// Where an item stands in its list's order, so a page can say where the next one starts.
pub trait Positioned {
    /// The cursor just past this item.
    fn position(&self) -> Cursor;
}

/// A validated page request: `page >= 1`, `size` 1-100, and optionally a cursor to start
/// after instead of a page number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    page: u32,
    size: u32,
    after: Option<Cursor>,
}

impl PageRequest {
    /// Page size when none is asked for.
    pub const DEFAULT_SIZE: u32 = 10;
    /// Largest page a caller may ask for, so one request cannot pull the whole table.
    pub const MAX_SIZE: u32 = 100;

    /// The first batch of `size` items, beyond [`Self::MAX_SIZE`]: for walks through a
    /// whole list (an export), which go on with [`Self::after`] and never count.
    pub fn batch(size: u32) -> Self {
        Self {
            page: 1,
            size: size.max(1),
            after: None,
        }
    }

    /// Checks a request; `None` means the default.
    pub fn new(page: Option<i64>, size: Option<i64>) -> Result<Self, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let page = errs.check(
            "page",
            match page.unwrap_or(1) {
                p if (1..=i64::from(u32::MAX)).contains(&p) => Ok(p as u32),
                _ => Err("Page must be 1 or more.".to_owned()),
            },
        );
        let size = errs.check(
            "size",
            match size.unwrap_or(i64::from(Self::DEFAULT_SIZE)) {
                s if (1..=i64::from(Self::MAX_SIZE)).contains(&s) => Ok(s as u32),
                _ => Err(format!("Size must be between 1 and {}.", Self::MAX_SIZE)),
            },
        );
        match (page, size) {
            (Some(page), Some(size)) => Ok(Self {
                page,
                size,
                after: None,
            }),
            _ => Err(errs),
        }
    }

    /// The 1-based page number.
    pub fn page(self) -> u32 {
        self.page
    }

    /// Items per page.
    pub fn size(self) -> u32 {
        self.size
    }

    /// This request, walking on from `cursor` instead of counting pages.
    pub fn after(self, cursor: Cursor) -> Self {
        Self {
            page: 1,
            after: Some(cursor),
            ..self
        }
    }

    /// The cursor the page starts after, if it was asked for by cursor.
    pub fn cursor(self) -> Option<Cursor> {
        self.after
    }

    /// How many items precede this page (by cursor: none are skipped, the seek starts past
    /// them).
    pub fn offset(self) -> u64 {
        match self.after {
            Some(_) => 0,
            None => u64::from(self.page - 1) * u64::from(self.size),
        }
    }

    /// How many items a store fetches for this page: one more than it shows, so the page
    /// knows whether another follows without counting.
    pub fn fetch_limit(self) -> u32 {
        self.size + 1
    }

    /// Wraps one page of results with the counts a pager needs. `items` may hold up to
    /// [`PageRequest::fetch_limit`] items: the one past the page only says that another page
    /// follows, and `next_cursor` then points past the page's last item.
    pub fn page_of<T: Positioned>(self, mut items: Vec<T>, total: u64) -> Page<T> {
        let more = items.len() > self.size as usize;
        items.truncate(self.size as usize);
        let next_cursor = if more {
            items.last().map(Positioned::position)
        } else {
            None
        };
        Page {
            items,
            total,
            page: if self.after.is_some() { 0 } else { self.page },
            size: self.size,
            pages: total.div_ceil(u64::from(self.size)),
            next_cursor,
        }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            size: Self::DEFAULT_SIZE,
            after: None,
        }
    }
}

/// The paging and search every list takes, parsed once for all of them: every bad parameter
/// is reported together, a blank search means no search, and a cursor, when given, decides
/// where the page starts (a `page` beside it is checked but not used).
pub fn parse_list(
    page: Option<i64>,
    size: Option<i64>,
    cursor: Option<&str>,
    search: Option<&str>,
) -> Result<(PageRequest, Option<SearchTerm>), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let cursor = errs.check(
        "cursor",
        match cursor {
            None => Ok(None),
            Some(c) => Cursor::decode(c)
                .map(Some)
                .ok_or_else(|| "Cursor must be a next_cursor from an earlier page.".to_owned()),
        },
    );
    let page = PageRequest::new(page, size)
        .map_err(|e| errs.0.extend(e.0))
        .ok()
        .zip(cursor)
        .map(|(p, c)| c.map_or(p, |c| p.after(c)));
    let search = errs.check("search", SearchTerm::parse(search.unwrap_or("")));
    match (page, search) {
        (Some(page), Some(search)) => Ok((page, search)),
        _ => Err(errs),
    }
}

/// One page of a list; past the end `items` is empty while `total` and `pages` stay true.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// This page's items, newest first.
    pub items: Vec<T>,
    /// Items matching the filters, across all pages.
    pub total: u64,
    /// The page number asked for.
    pub page: u32,
    /// The page size asked for.
    pub size: u32,
    /// Number of pages (`0` when nothing matches).
    pub pages: u64,
    /// Where the next page starts, when there is one: pass it back as `cursor` to walk on at
    /// constant cost however deep the list goes.
    pub next_cursor: Option<Cursor>,
}

/// A ticket list as a caller asks for it (before the facade applies visibility).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// Only this status.
    pub status: Option<TicketStatus>,
    /// Only this worker's tickets.
    pub worker_id: Option<UserId>,
    /// Case-insensitive title substring.
    pub search: Option<SearchTerm>,
    /// Only tickets without a worker.
    pub unassigned: bool,
    /// Only open tickets (`new` or `in_progress`).
    pub open: bool,
    /// Only this priority.
    pub priority: Option<Priority>,
    /// Only this customer's tickets.
    pub client_id: Option<ClientId>,
    /// Only the device with this serial, as [`crate::device::serial_key`] compares it.
    pub serial: Option<String>,
    /// Only open tickets promised for before this time (the request's "now").
    pub overdue_at: Option<DateTime<Utc>>,
    /// The counter search.
    pub q: Option<CounterSearch>,
    /// Only tickets whose customer waits for an answer.
    pub awaiting_reply: bool,
    /// Only tickets in this stage.
    pub stage_id: Option<crate::ids::StageId>,
    /// Only tickets whose quote awaits the customer, or was approved, or declined.
    pub quote: Option<crate::quote::QuoteFilter>,
}

impl TicketFilter {
    /// Whether a ticket in `status` passes the status filters (`status` and `open`).
    pub fn admits_status(&self, status: TicketStatus) -> bool {
        self.status.is_none_or(|s| s == status) && (!self.open || status.is_open())
    }

    /// Whether any filter beyond scope, status and title search is set: the stores answer
    /// those by other paths than their kept orders.
    pub fn has_counter_filters(&self) -> bool {
        self.priority.is_some()
            || self.client_id.is_some()
            || self.serial.is_some()
            || self.overdue_at.is_some()
            || self.q.is_some()
            || self.awaiting_reply
            || self.stage_id.is_some()
            || self.quote.is_some()
    }

    /// Whether `t` passes every filter but scope (which the store applies) and `q` (whose
    /// customer part needs the store's customers): the one reading of the rules both stores
    /// share for the tickets they hold in memory.
    pub fn admits(&self, t: &Ticket) -> bool {
        self.admits_status(t.status)
            && self.worker_id.is_none_or(|w| t.worker_id == Some(w))
            && (!self.unassigned || t.worker_id.is_none())
            && self
                .search
                .as_ref()
                .is_none_or(|s| fold_case(&t.title).contains(s.folded()))
            && self.priority.is_none_or(|p| t.priority == p)
            && self.client_id.is_none_or(|c| t.client.id == c)
            && self.serial.as_ref().is_none_or(|s| {
                t.device
                    .as_ref()
                    .and_then(crate::device::Device::serial_key)
                    .as_ref()
                    == Some(s)
            })
            && self.overdue_at.is_none_or(|now| t.is_overdue(now))
            && (!self.awaiting_reply || t.awaiting_reply)
            && self
                .stage_id
                .is_none_or(|s| t.stage.as_ref().map(|x| x.id) == Some(s))
            && self.quote.is_none_or(|q| q.admits(t.quote.as_ref()))
            && self.q.as_ref().is_none_or(|q| q.matches(t))
    }
}

/// The one search box of the counter, read every way a person at the counter might mean it:
/// a ticket number (`35`, `#35`), a tracking code, a fragment of the customer's name or
/// e-mail, a fragment of their phone number, or a device serial. A ticket matches when any
/// reading does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterSearch {
    /// The ticket number, when the text is one.
    pub number: Option<TicketId>,
    /// The tracking code, when the text is one.
    pub code: Option<TrackingCode>,
    /// The customer part: name and e-mail fragments, phone digits.
    pub client: crate::client::ClientSearch,
    /// The serial key, when the text could be a serial.
    pub serial: Option<String>,
}

impl CounterSearch {
    /// Longest accepted search, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Reads the search box; blank is no search.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        let Some(term) = SearchTerm::parse(raw).map_err(|e| e.replacen("Search", "q", 1))? else {
            return Ok(None);
        };
        let t = term.as_str();
        let number = t
            .strip_prefix('#')
            .unwrap_or(t)
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .map(TicketId);
        let serial = t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | ' '))
            .then(|| crate::device::serial_key(t))
            .filter(|k| !k.is_empty());
        Ok(Some(Self {
            number,
            code: TrackingCode::parse(t),
            client: crate::client::ClientSearch::of(&term),
            serial,
        }))
    }

    /// Whether `t` matches any reading of the search.
    pub fn matches(&self, t: &Ticket) -> bool {
        self.number == Some(t.id)
            || self.code.as_ref() == Some(&t.tracking_code)
            || self.matches_client(&t.client)
            || self.serial.is_some()
                && t.device
                    .as_ref()
                    .and_then(crate::device::Device::serial_key)
                    == self.serial
    }

    /// Whether the customer's name or e-mail holds the text, or their phone the digits.
    pub fn matches_client(&self, c: &crate::ticket::Client) -> bool {
        self.client.matches(c)
    }
}

/// The order of a ticket list. Both break ties on `created_at` by id, the same way round,
/// and cursor paging works for each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TicketSort {
    /// Newest first (`created_at` desc, then `id` desc): the seed's order.
    #[default]
    Newest,
    /// Oldest first (`created_at` asc, then `id` asc): a queue.
    Oldest,
    /// Soonest due first, tickets without a due date last, then newest (`id` desc).
    Due,
}

impl TicketSort {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Oldest => "oldest",
            Self::Due => "due",
        }
    }

    /// The cursor just past `t` in this order: for `due`, the due time in microseconds
    /// ([`DUE_NEVER`] without one) and the id; otherwise the creation time and the id.
    pub fn position(self, t: &Ticket) -> Cursor {
        match self {
            Self::Due => Cursor {
                key: due_key(t.due_at),
                id: t.id.0,
            },
            Self::Newest | Self::Oldest => t.position(),
        }
    }
}

/// The sort key of a ticket without a due date in the `due` order: after every real one.
pub const DUE_NEVER: i64 = i64::MAX;

/// A due time as the `due` order compares it.
pub fn due_key(due: Option<DateTime<Utc>>) -> i64 {
    due.map_or(DUE_NEVER, |d| d.timestamp_micros())
}

/// A ticket list as a store must answer it: the caller's filter ANDed with its visibility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketQuery {
    /// The caller's scope, applied inside the query.
    pub visibility: Visibility,
    /// The caller's filters.
    pub filter: TicketFilter,
    /// The order.
    pub sort: TicketSort,
    /// Which page.
    pub page: PageRequest,
    /// Who asks: each ticket says whether this user has never opened it (`new_to_me`).
    pub viewer: Option<UserId>,
}

impl TicketQuery {
    /// Wraps a page of this query's results, its `next_cursor` in the query's order.
    pub fn page_of(&self, items: Vec<Ticket>, total: u64) -> Page<Ticket> {
        let mut page = self.page.page_of(items, total);
        if page.next_cursor.is_some() {
            page.next_cursor = page.items.last().map(|t| self.sort.position(t));
        }
        page
    }

    /// The tickets this query may return at all: visibility ANDed with the worker filter
    /// and, for `unassigned`, with "no worker" (which a worker's scope never contains).
    pub fn scope(&self) -> Scope {
        match (
            self.visibility.scope(self.filter.worker_id),
            self.filter.unassigned,
        ) {
            (scope, false) => scope,
            (Scope::Everything, true) => Scope::Unassigned,
            (_, true) => Scope::Nothing,
        }
    }
}

/// A user list: active accounts only, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Case-insensitive username substring.
    pub search: Option<SearchTerm>,
    /// Only this role.
    pub role: Option<Role>,
    /// Which page.
    pub page: PageRequest,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_requests() {
        let d = PageRequest::new(None, None).unwrap();
        assert_eq!((d.page(), d.size(), d.offset()), (1, 10, 0));
        let p = PageRequest::new(Some(3), Some(20)).unwrap();
        assert_eq!(p.offset(), 40);
        for (page, size) in [(0, 10), (-1, 10), (1, 0), (1, 101), (1, -5)] {
            assert!(
                PageRequest::new(Some(page), Some(size)).is_err(),
                "{page} {size}"
            );
        }
        let e = PageRequest::new(Some(0), Some(0)).unwrap_err();
        assert_eq!(e.0.len(), 2);
    }

    #[test]
    fn list_parameters_report_every_problem_at_once() {
        let e = parse_list(Some(0), Some(500), None, Some(&"s".repeat(201))).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["page", "size", "search"]);
        let (p, s) = parse_list(None, None, None, Some("  ")).unwrap();
        assert_eq!((p, s), (PageRequest::default(), None));
        let (p, _) = parse_list(Some(2), None, Some("1.2"), None).unwrap();
        assert_eq!(
            (p.cursor(), p.offset()),
            (Some(Cursor { key: 1, id: 2 }), 0),
            "the cursor decides"
        );
        let e = parse_list(Some(0), None, Some("1.2"), None).unwrap_err();
        assert_eq!(e.0[0].field, "page", "a bad page is still reported");
        let e = parse_list(None, None, Some("nonsense"), None).unwrap_err();
        assert_eq!(e.0[0].field, "cursor");
        let c = Cursor {
            key: 1_700_000_000_000_000,
            id: 42,
        };
        let (p, _) = parse_list(None, Some(20), Some(&c.encode()), None).unwrap();
        assert_eq!((p.cursor(), p.offset(), p.size()), (Some(c), 0, 20));
    }

    impl Positioned for i64 {
        fn position(&self) -> Cursor {
            Cursor {
                key: *self,
                id: *self,
            }
        }
    }

    #[test]
    fn pages_count() {
        let p = PageRequest::new(Some(5), Some(10)).unwrap();
        let page = p.page_of(Vec::<i64>::new(), 21);
        assert_eq!((page.pages, page.total, page.page), (3, 21, 5));
        assert_eq!(p.page_of(Vec::<i64>::new(), 0).pages, 0);
        assert_eq!(p.page_of(Vec::<i64>::new(), 30).pages, 3);
    }

    #[test]
    fn the_item_past_the_page_only_says_another_follows() {
        let p = PageRequest::new(Some(1), Some(2)).unwrap();
        let page = p.page_of(vec![9, 8, 7], 3);
        assert_eq!(page.items, [9, 8]);
        assert_eq!(page.next_cursor, Some(Cursor { key: 8, id: 8 }));
        assert_eq!(p.page_of(vec![9, 8], 2).next_cursor, None);
        let by_cursor = p.after(Cursor { key: 8, id: 8 }).page_of(vec![7], 3);
        assert_eq!((by_cursor.page, by_cursor.next_cursor), (0, None));
    }

    #[test]
    fn cursors_read_back_only_their_own_form() {
        for c in [
            Cursor { key: 0, id: 1 },
            Cursor {
                key: -5,
                id: i64::MAX,
            },
            Cursor {
                key: 1_764_000_000_123_456,
                id: 100_000,
            },
        ] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        for bad in [
            "",
            ".",
            "1.",
            ".1",
            "1.2.3",
            "g.1",
            "1 .2",
            "11111111111111111.1",
            "+1.2",
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad:?}");
        }
    }
}
